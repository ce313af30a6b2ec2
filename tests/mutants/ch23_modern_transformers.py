"""ch23: planted wrong answers (must lose points) and right answers written
differently (must pass)."""

_GPT_INIT = '''
class GPTBlock(nn.Module):
    def __init__(self, d_model, nhead, dim_feedforward):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, nhead, batch_first=True)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
'''

_GPT_INIT_BODY = '''
    def __init__(self, vocab_size, context_length, d_model, nhead, num_layers,
                 dim_feedforward):
        super().__init__()
        self.context_length = context_length
        self.token_embedding = nn.Embedding(vocab_size, d_model)
        self.position_embedding = nn.Embedding(context_length, d_model)
        self.blocks = nn.ModuleList(GPTBlock(d_model, nhead, dim_feedforward)
                                    for _ in range(num_layers))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
'''

_DECODER_INIT = '''
class DecoderBlock(nn.Module):
    def __init__(self, d_model, nhead, dim_feedforward):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, nhead, batch_first=True)
        self.multihead_attn = nn.MultiheadAttention(d_model, nhead, batch_first=True)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
'''

_MLM_HEAD = '''
def mlm_mask(tokens, mask_id, vocab_size, generator=None):
    shape, where = tokens.shape, tokens.device
    selected = torch.rand(shape, generator=generator, device=where) < 0.15
    action = torch.rand(shape, generator=generator, device=where)
    random_ids = torch.randint(0, vocab_size, shape, generator=generator,
                               device=where)
'''

WRONG = {
    "ch23-gpt-block": {
        "post-norm (chapter 11's layout, as the seed sketch)": _GPT_INIT + '''
    def forward(self, x):
        t = x.shape[1]
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        x = self.norm1(x + self.self_attn(x, x, x, attn_mask=mask)[0])
        return self.norm2(x + self.linear2(F.gelu(self.linear1(x))))
''',
        "no causal mask": _GPT_INIT + '''
    def forward(self, x):
        h = self.norm1(x)
        x = x + self.self_attn(h, h, h)[0]
        return x + self.linear2(F.gelu(self.linear1(self.norm2(x))))
''',
        "mask passed positionally (as a key padding mask)": _GPT_INIT + '''
    def forward(self, x):
        t = x.shape[1]
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        h = self.norm1(x)
        x = x + self.self_attn(h, h, h, mask[:x.shape[0]] if x.shape[0] <= t
                               else None)[0]
        return x + self.linear2(F.gelu(self.linear1(self.norm2(x))))
''',
        "tril mask in the boolean 'True = masked' convention (sees the future)":
            _GPT_INIT + '''
    def forward(self, x):
        t = x.shape[1]
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).tril(-1)
        h = self.norm1(x)
        x = x + self.self_attn(h, h, h, attn_mask=mask)[0]
        return x + self.linear2(F.gelu(self.linear1(self.norm2(x))))
''',
        "residual taken from the normalised input": _GPT_INIT + '''
    def forward(self, x):
        t = x.shape[1]
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        h = self.norm1(x)
        x = h + self.self_attn(h, h, h, attn_mask=mask)[0]
        h = self.norm2(x)
        return h + self.linear2(F.gelu(self.linear1(h)))
''',
        "tanh-approximated GELU": _GPT_INIT + '''
    def forward(self, x):
        t = x.shape[1]
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        h = self.norm1(x)
        x = x + self.self_attn(h, h, h, attn_mask=mask)[0]
        return x + self.linear2(F.gelu(self.linear1(self.norm2(x)),
                                       approximate="tanh"))
''',
        "dropout left in the attention (differs in training mode)": '''
class GPTBlock(nn.Module):
    def __init__(self, d_model, nhead, dim_feedforward):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, nhead, dropout=0.1,
                                               batch_first=True)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)

    def forward(self, x):
        t = x.shape[1]
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        h = self.norm1(x)
        x = x + self.self_attn(h, h, h, attn_mask=mask)[0]
        return x + self.linear2(F.gelu(self.linear1(self.norm2(x))))
''',
        "0/1 float mask (added to the scores, so not causal)": _GPT_INIT + '''
    def forward(self, x):
        t = x.shape[1]
        mask = torch.ones(t, t, dtype=x.dtype, device=x.device).triu(1)
        h = self.norm1(x)
        x = x + self.self_attn(h, h, h, attn_mask=mask)[0]
        return x + self.linear2(F.gelu(self.linear1(self.norm2(x))))
''',
        "one layer norm for both sub-layers": _GPT_INIT + '''
    def forward(self, x):
        t = x.shape[1]
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        h = self.norm1(x)
        x = x + self.self_attn(h, h, h, attn_mask=mask)[0]
        return x + self.linear2(F.gelu(self.linear1(self.norm1(x))))
''',
        "ReLU instead of GELU": _GPT_INIT + '''
    def forward(self, x):
        t = x.shape[1]
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        h = self.norm1(x)
        x = x + self.self_attn(h, h, h, attn_mask=mask)[0]
        return x + self.linear2(F.relu(self.linear1(self.norm2(x))))
''',
    },
    "ch23-tiny-gpt": {
        "head not tied to the embedding": '''
class TinyGPT(nn.Module):''' + _GPT_INIT_BODY + '''
    def forward(self, idx):
        if idx.shape[1] > self.context_length:
            raise ValueError("too long")
        pos = torch.arange(idx.shape[1], device=idx.device)
        h = self.token_embedding(idx) + self.position_embedding(pos)
        for block in self.blocks:
            h = block(h)
        return self.head(self.norm(h))
''',
        "no final layer norm": '''
class TinyGPT(nn.Module):''' + _GPT_INIT_BODY + '''
        self.head.weight = self.token_embedding.weight

    def forward(self, idx):
        if idx.shape[1] > self.context_length:
            raise ValueError("too long")
        pos = torch.arange(idx.shape[1], device=idx.device)
        h = self.token_embedding(idx) + self.position_embedding(pos)
        for block in self.blocks:
            h = block(h)
        return self.head(h)
''',
        "no position embedding added": '''
class TinyGPT(nn.Module):''' + _GPT_INIT_BODY + '''
        self.head.weight = self.token_embedding.weight

    def forward(self, idx):
        if idx.shape[1] > self.context_length:
            raise ValueError("too long")
        h = self.token_embedding(idx)
        for block in self.blocks:
            h = block(h)
        return self.head(self.norm(h))
''',
        "no check of the context length (IndexError instead of ValueError)": '''
class TinyGPT(nn.Module):''' + _GPT_INIT_BODY + '''
        self.head.weight = self.token_embedding.weight

    def forward(self, idx):
        pos = torch.arange(idx.shape[1], device=idx.device)
        h = self.token_embedding(idx) + self.position_embedding(pos)
        for block in self.blocks:
            h = block(h)
        return self.head(self.norm(h))
''',
        "one block repeated (shared weights)": '''
class TinyGPT(nn.Module):
    def __init__(self, vocab_size, context_length, d_model, nhead, num_layers,
                 dim_feedforward):
        super().__init__()
        self.context_length = context_length
        self.token_embedding = nn.Embedding(vocab_size, d_model)
        self.position_embedding = nn.Embedding(context_length, d_model)
        self.blocks = nn.ModuleList([GPTBlock(d_model, nhead, dim_feedforward)]
                                    * num_layers)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        self.head.weight = self.token_embedding.weight

    def forward(self, idx):
        if idx.shape[1] > self.context_length:
            raise ValueError("too long")
        pos = torch.arange(idx.shape[1], device=idx.device)
        h = self.token_embedding(idx) + self.position_embedding(pos)
        for block in self.blocks:
            h = block(h)
        return self.head(self.norm(h))
''',
        "rejects T == C (off by one)": '''
class TinyGPT(nn.Module):''' + _GPT_INIT_BODY + '''
        self.head.weight = self.token_embedding.weight

    def forward(self, idx):
        if idx.shape[1] >= self.context_length:
            raise ValueError("too long")
        pos = torch.arange(idx.shape[1], device=idx.device)
        h = self.token_embedding(idx) + self.position_embedding(pos)
        for block in self.blocks:
            h = block(h)
        return self.head(self.norm(h))
''',
        "positions counted from 1": '''
class TinyGPT(nn.Module):''' + _GPT_INIT_BODY + '''
        self.head.weight = self.token_embedding.weight

    def forward(self, idx):
        if idx.shape[1] > self.context_length:
            raise ValueError("too long")
        pos = torch.arange(1, idx.shape[1] + 1, device=idx.device)
        pos = pos.clamp(max=self.context_length - 1)
        h = self.token_embedding(idx) + self.position_embedding(pos)
        for block in self.blocks:
            h = block(h)
        return self.head(self.norm(h))
''',
    },
    "ch23-sample-next-token": {
        "top-k keeps exactly k (torch.topk breaks ties)": '''
def sample_next_token(logits, temperature=1.0, top_k=None, generator=None):
    if temperature < 0 or (top_k is not None and top_k < 1):
        raise ValueError("bad arguments")
    if temperature == 0:
        return logits.argmax(dim=-1)
    scaled = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        idx = scaled.topk(top_k, dim=-1).indices
        keep = torch.zeros_like(scaled, dtype=torch.bool).scatter(-1, idx, True)
        scaled = scaled.masked_fill(~keep, -math.inf)
    return torch.multinomial(torch.softmax(scaled, -1), 1,
                             generator=generator).squeeze(-1)
''',
        "multiplies by the temperature": '''
def sample_next_token(logits, temperature=1.0, top_k=None, generator=None):
    if temperature < 0 or (top_k is not None and top_k < 1):
        raise ValueError("bad arguments")
    if temperature == 0:
        return logits.argmax(dim=-1)
    scaled = logits * temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = scaled.topk(top_k, dim=-1).values[:, -1:]
        scaled = scaled.masked_fill(scaled < kth, -math.inf)
    return torch.multinomial(torch.softmax(scaled, -1), 1,
                             generator=generator).squeeze(-1)
''',
        "ignores the generator": '''
def sample_next_token(logits, temperature=1.0, top_k=None, generator=None):
    if temperature < 0 or (top_k is not None and top_k < 1):
        raise ValueError("bad arguments")
    if temperature == 0:
        return logits.argmax(dim=-1)
    scaled = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = scaled.topk(top_k, dim=-1).values[:, -1:]
        scaled = scaled.masked_fill(scaled < kth, -math.inf)
    return torch.multinomial(torch.softmax(scaled, -1), 1).squeeze(-1)
''',
        "top-k keeps the k-1 largest (off by one)": '''
def sample_next_token(logits, temperature=1.0, top_k=None, generator=None):
    if temperature < 0 or (top_k is not None and top_k < 1):
        raise ValueError("bad arguments")
    if temperature == 0:
        return logits.argmax(dim=-1)
    scaled = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = scaled.topk(top_k, dim=-1).values[:, -1:]
        scaled = scaled.masked_fill(scaled <= kth, -math.inf)
        scaled = torch.where(torch.isinf(scaled).all(-1, keepdim=True),
                             logits / temperature, scaled)
    return torch.multinomial(torch.softmax(scaled, -1), 1,
                             generator=generator).squeeze(-1)
''',
        "temperature applied to the probabilities, not the logits": '''
def sample_next_token(logits, temperature=1.0, top_k=None, generator=None):
    if temperature < 0 or (top_k is not None and top_k < 1):
        raise ValueError("bad arguments")
    if temperature == 0:
        return logits.argmax(dim=-1)
    z = logits.clone()
    if top_k is not None and top_k < logits.shape[-1]:
        kth = z.topk(top_k, dim=-1).values[:, -1:]
        z = z.masked_fill(z < kth, -math.inf)
    probs = torch.softmax(z, -1) / temperature
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
''',
        "greedy takes the last of tied maxima": '''
def sample_next_token(logits, temperature=1.0, top_k=None, generator=None):
    if temperature < 0 or (top_k is not None and top_k < 1):
        raise ValueError("bad arguments")
    if temperature == 0:
        v = logits.shape[-1]
        return v - 1 - logits.flip(-1).argmax(dim=-1)
    scaled = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = scaled.topk(top_k, dim=-1).values[:, -1:]
        scaled = scaled.masked_fill(scaled < kth, -math.inf)
    return torch.multinomial(torch.softmax(scaled, -1), 1,
                             generator=generator).squeeze(-1)
''',
        "one top-k threshold for the whole batch": '''
def sample_next_token(logits, temperature=1.0, top_k=None, generator=None):
    if temperature < 0 or (top_k is not None and top_k < 1):
        raise ValueError("bad arguments")
    if temperature == 0:
        return logits.argmax(dim=-1)
    scaled = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = scaled.flatten().topk(top_k).values[-1]
        scaled = scaled.masked_fill(scaled < kth, -math.inf)
    return torch.multinomial(torch.softmax(scaled, -1), 1,
                             generator=generator).squeeze(-1)
''',
        "divides the logits in place": '''
def sample_next_token(logits, temperature=1.0, top_k=None, generator=None):
    if temperature < 0 or (top_k is not None and top_k < 1):
        raise ValueError("bad arguments")
    if temperature == 0:
        return logits.argmax(dim=-1)
    scaled = logits.div_(temperature)
    if top_k is not None and top_k < logits.shape[-1]:
        kth = scaled.topk(top_k, dim=-1).values[:, -1:]
        scaled = scaled.masked_fill(scaled < kth, -math.inf)
    return torch.multinomial(torch.softmax(scaled, -1), 1,
                             generator=generator).squeeze(-1)
''',
    },
    "ch23-mlm-mask": {
        "80/10/10 reversed (10 % [MASK], 80 % random)": _MLM_HEAD + '''
    labels = torch.where(selected, tokens, torch.full_like(tokens, -100))
    inputs = torch.where(selected & (action < 0.1),
                         torch.full_like(tokens, mask_id), tokens)
    inputs = torch.where(selected & (action >= 0.1) & (action < 0.9),
                         random_ids, inputs)
    return inputs, labels
''',
        "labels keep every token (no -100)": _MLM_HEAD + '''
    labels = tokens.clone()
    inputs = torch.where(selected & (action < 0.8),
                         torch.full_like(tokens, mask_id), tokens)
    inputs = torch.where(selected & (action >= 0.8) & (action < 0.9),
                         random_ids, inputs)
    return inputs, labels
''',
        "every selected token becomes [MASK]": _MLM_HEAD + '''
    labels = torch.where(selected, tokens, torch.full_like(tokens, -100))
    inputs = torch.where(selected, torch.full_like(tokens, mask_id), tokens)
    return inputs, labels
''',
        "labels hold the corrupted inputs": _MLM_HEAD + '''
    inputs = torch.where(selected & (action < 0.8),
                         torch.full_like(tokens, mask_id), tokens)
    inputs = torch.where(selected & (action >= 0.8) & (action < 0.9),
                         random_ids, inputs)
    labels = torch.where(selected, inputs, torch.full_like(tokens, -100))
    return inputs, labels
''',
        "modifies tokens in place": _MLM_HEAD + '''
    labels = torch.where(selected, tokens, torch.full_like(tokens, -100))
    tokens[selected & (action < 0.8)] = mask_id
    pick = selected & (action >= 0.8) & (action < 0.9)
    tokens[pick] = random_ids[pick]
    return tokens, labels
''',
        "ignores the generator": '''
def mlm_mask(tokens, mask_id, vocab_size, generator=None):
    shape, where = tokens.shape, tokens.device
    selected = torch.rand(shape, device=where) < 0.15
    action = torch.rand(shape, device=where)
    random_ids = torch.randint(0, vocab_size, shape, device=where)
    labels = torch.where(selected, tokens, torch.full_like(tokens, -100))
    inputs = torch.where(selected & (action < 0.8),
                         torch.full_like(tokens, mask_id), tokens)
    inputs = torch.where(selected & (action >= 0.8) & (action < 0.9),
                         random_ids, inputs)
    return inputs, labels
''',
        "ignored positions labelled -1, not -100": _MLM_HEAD + '''
    labels = torch.where(selected, tokens, torch.full_like(tokens, -1))
    inputs = torch.where(selected & (action < 0.8),
                         torch.full_like(tokens, mask_id), tokens)
    inputs = torch.where(selected & (action >= 0.8) & (action < 0.9),
                         random_ids, inputs)
    return inputs, labels
''',
        "random ids from [0, V - 1) (randint's high taken as inclusive)":
            _MLM_HEAD + '''
    random_ids = torch.randint(0, vocab_size - 1, shape, generator=generator,
                               device=where)
    labels = torch.where(selected, tokens, torch.full_like(tokens, -100))
    inputs = torch.where(selected & (action < 0.8),
                         torch.full_like(tokens, mask_id), tokens)
    inputs = torch.where(selected & (action >= 0.8) & (action < 0.9),
                         random_ids, inputs)
    return inputs, labels
''',
        "assumes 2-D tokens": '''
def mlm_mask(tokens, mask_id, vocab_size, generator=None):
    n, t = tokens.shape
    where = tokens.device
    selected = torch.rand(n, t, generator=generator, device=where) < 0.15
    action = torch.rand(n, t, generator=generator, device=where)
    random_ids = torch.randint(0, vocab_size, (n, t), generator=generator,
                               device=where)
    labels = torch.where(selected, tokens, torch.full_like(tokens, -100))
    inputs = torch.where(selected & (action < 0.8),
                         torch.full_like(tokens, mask_id), tokens)
    inputs = torch.where(selected & (action >= 0.8) & (action < 0.9),
                         random_ids, inputs)
    return inputs, labels
''',
    },
    "ch23-decoder-block": {
        "no causal mask on the self-attention": _DECODER_INIT + '''
    def forward(self, tgt, memory, memory_key_padding_mask=None):
        h = self.norm1(tgt)
        x = tgt + self.self_attn(h, h, h)[0]
        x = x + self.multihead_attn(self.norm2(x), memory, memory,
                                    key_padding_mask=memory_key_padding_mask)[0]
        return x + self.linear2(F.gelu(self.linear1(self.norm3(x))))
''',
        "memory normalised by norm2 as well": _DECODER_INIT + '''
    def forward(self, tgt, memory, memory_key_padding_mask=None):
        t = tgt.shape[1]
        mask = torch.ones(t, t, dtype=torch.bool, device=tgt.device).triu(1)
        h = self.norm1(tgt)
        x = tgt + self.self_attn(h, h, h, attn_mask=mask)[0]
        m = self.norm2(memory)
        x = x + self.multihead_attn(self.norm2(x), m, m,
                                    key_padding_mask=memory_key_padding_mask)[0]
        return x + self.linear2(F.gelu(self.linear1(self.norm3(x))))
''',
        "padding mask ignored": _DECODER_INIT + '''
    def forward(self, tgt, memory, memory_key_padding_mask=None):
        t = tgt.shape[1]
        mask = torch.ones(t, t, dtype=torch.bool, device=tgt.device).triu(1)
        h = self.norm1(tgt)
        x = tgt + self.self_attn(h, h, h, attn_mask=mask)[0]
        x = x + self.multihead_attn(self.norm2(x), memory, memory)[0]
        return x + self.linear2(F.gelu(self.linear1(self.norm3(x))))
''',
        "cross-attention and feed-forward norms swapped": _DECODER_INIT + '''
    def forward(self, tgt, memory, memory_key_padding_mask=None):
        t = tgt.shape[1]
        mask = torch.ones(t, t, dtype=torch.bool, device=tgt.device).triu(1)
        h = self.norm1(tgt)
        x = tgt + self.self_attn(h, h, h, attn_mask=mask)[0]
        x = x + self.multihead_attn(self.norm3(x), memory, memory,
                                    key_padding_mask=memory_key_padding_mask)[0]
        return x + self.linear2(F.gelu(self.linear1(self.norm2(x))))
''',
        "padding mask inverted (True = keep)": _DECODER_INIT + '''
    def forward(self, tgt, memory, memory_key_padding_mask=None):
        t = tgt.shape[1]
        mask = torch.ones(t, t, dtype=torch.bool, device=tgt.device).triu(1)
        h = self.norm1(tgt)
        x = tgt + self.self_attn(h, h, h, attn_mask=mask)[0]
        x = x + self.multihead_attn(self.norm2(x), memory, memory,
                                    key_padding_mask=None
                                    if memory_key_padding_mask is None
                                    else ~memory_key_padding_mask)[0]
        return x + self.linear2(F.gelu(self.linear1(self.norm3(x))))
''',
        "causal mask on the cross-attention too": _DECODER_INIT + '''
    def forward(self, tgt, memory, memory_key_padding_mask=None):
        t = tgt.shape[1]
        mask = torch.ones(t, t, dtype=torch.bool, device=tgt.device).triu(1)
        h = self.norm1(tgt)
        x = tgt + self.self_attn(h, h, h, attn_mask=mask)[0]
        s = memory.shape[1]
        cross = torch.ones(t, s, dtype=torch.bool, device=tgt.device).triu(1)
        x = x + self.multihead_attn(self.norm2(x), memory, memory, attn_mask=cross,
                                    key_padding_mask=memory_key_padding_mask)[0]
        return x + self.linear2(F.gelu(self.linear1(self.norm3(x))))
''',
        "cross-attention reads the target, not the memory": _DECODER_INIT + '''
    def forward(self, tgt, memory, memory_key_padding_mask=None):
        t = tgt.shape[1]
        mask = torch.ones(t, t, dtype=torch.bool, device=tgt.device).triu(1)
        h = self.norm1(tgt)
        x = tgt + self.self_attn(h, h, h, attn_mask=mask)[0]
        h = self.norm2(x)
        x = x + self.multihead_attn(h, h, h)[0]
        return x + self.linear2(F.gelu(self.linear1(self.norm3(x))))
''',
    },
}

RIGHT = {
    "ch23-gpt-block": {
        "additive float mask with -inf, GELU written with erf": _GPT_INIT + '''
    def forward(self, x):
        t = x.shape[1]
        upper = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        mask = torch.zeros(t, t, dtype=x.dtype, device=x.device)
        mask = mask.masked_fill(upper, float("-inf"))
        y = x + self.self_attn(self.norm1(x), self.norm1(x), self.norm1(x),
                               attn_mask=mask, need_weights=False)[0]
        hidden = self.linear1(self.norm2(y))
        hidden = 0.5 * hidden * (1 + torch.erf(hidden / math.sqrt(2)))
        return y + self.linear2(hidden)
''',
        "is_causal with the mask, and a layer norm by hand": _GPT_INIT + '''
    def _ln(self, x, norm):
        mu = x.mean(-1, keepdim=True)
        var = (x - mu).pow(2).mean(-1, keepdim=True)
        return (x - mu) / torch.sqrt(var + norm.eps) * norm.weight + norm.bias

    def forward(self, x):
        t = x.shape[1]
        mask = ~torch.tril(torch.ones(t, t, dtype=torch.bool, device=x.device))
        h = self._ln(x, self.norm1)
        x = x + self.self_attn(h, h, h, attn_mask=mask, is_causal=True)[0]
        return x + self.linear2(F.gelu(self.linear1(self._ln(x, self.norm2))))
''',
        "attention by hand from self_attn's parameters (SDPA, heads split)":
            _GPT_INIT + '''
    def forward(self, x):
        n, t, d = x.shape
        heads = self.self_attn.num_heads
        h = F.layer_norm(x, (d,), self.norm1.weight, self.norm1.bias, 1e-5)
        qkv = F.linear(h, self.self_attn.in_proj_weight, self.self_attn.in_proj_bias)
        q, k, v = (part.reshape(n, t, heads, d // heads).transpose(1, 2)
                   for part in qkv.chunk(3, dim=-1))
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        out = self.self_attn.out_proj(out.transpose(1, 2).reshape(n, t, d))
        x = x + out
        return x + self.linear2(F.gelu(self.linear1(self.norm2(x))))
''',
    },
    "ch23-tiny-gpt": {
        "tie the other way round, index the position table": '''
class TinyGPT(nn.Module):
    def __init__(self, vocab_size, context_length, d_model, nhead, num_layers,
                 dim_feedforward):
        super().__init__()
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        self.token_embedding = nn.Embedding(vocab_size, d_model)
        self.token_embedding.weight = self.head.weight
        self.position_embedding = nn.Embedding(context_length, d_model)
        self.blocks = nn.ModuleList([GPTBlock(d_model, nhead, dim_feedforward)
                                     for _ in range(num_layers)])
        self.norm = nn.LayerNorm(d_model)

    def forward(self, idx):
        n, t = idx.shape
        if t > self.position_embedding.num_embeddings:
            raise ValueError(f"T={t} exceeds the context")
        h = self.token_embedding.weight[idx] + self.position_embedding.weight[:t]
        for block in self.blocks:
            h = block(h)
        return self.norm(h) @ self.token_embedding.weight.T
''',
        "F.embedding and F.linear with the shared weight": '''
class TinyGPT(nn.Module):
    def __init__(self, vocab_size, context_length, d_model, nhead, num_layers,
                 dim_feedforward):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, d_model)
        self.position_embedding = nn.Embedding(context_length, d_model)
        self.blocks = nn.ModuleList()
        for _ in range(num_layers):
            self.blocks.append(GPTBlock(d_model, nhead, dim_feedforward))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        self.head.weight = self.token_embedding.weight

    def forward(self, idx):
        t = idx.size(-1)
        if t > self.position_embedding.weight.shape[0]:
            raise ValueError("longer than the context")
        pos = torch.arange(t, device=idx.device).unsqueeze(0).expand_as(idx)
        h = (F.embedding(idx, self.token_embedding.weight)
             + F.embedding(pos, self.position_embedding.weight))
        for i in range(len(self.blocks)):
            h = self.blocks[i](h)
        return F.linear(self.norm(h), self.token_embedding.weight)
''',
    },
    "ch23-sample-next-token": {
        "sort-based threshold and inverse-CDF sampling": '''
def sample_next_token(logits, temperature=1.0, top_k=None, generator=None):
    if temperature < 0:
        raise ValueError("temperature < 0")
    if top_k is not None and top_k < 1:
        raise ValueError("top_k < 1")
    if temperature == 0:
        return torch.max(logits, dim=-1).indices
    z = logits.double() / temperature
    if top_k is not None:
        k = min(top_k, z.shape[-1])
        threshold = z.sort(dim=-1, descending=True).values[:, k - 1:k]
        z = torch.where(z >= threshold, z, torch.full_like(z, -math.inf))
    p = torch.exp(z - z.amax(-1, keepdim=True))
    cdf = p.cumsum(-1) / p.sum(-1, keepdim=True)
    u = torch.rand(z.shape[0], 1, generator=generator, device=z.device,
                   dtype=z.dtype)
    return (cdf < u).sum(-1).clamp(max=z.shape[-1] - 1).to(torch.int64)
''',
        "Gumbel-max trick": '''
def sample_next_token(logits, temperature=1.0, top_k=None, generator=None):
    if temperature < 0 or (top_k is not None and top_k < 1):
        raise ValueError("bad arguments")
    if temperature == 0:
        return logits.argmax(dim=-1)
    z = logits.double() / temperature
    if top_k is not None and top_k < z.shape[-1]:
        kth = z.kthvalue(z.shape[-1] - top_k + 1, dim=-1, keepdim=True).values
        z = z.masked_fill(z < kth, -math.inf)
    u = torch.rand(z.shape, generator=generator, device=z.device, dtype=z.dtype)
    gumbel = -torch.log(-torch.log(u.clamp(1e-300, 1 - 1e-16)))
    return (z + gumbel).argmax(dim=-1)
''',
        "probabilities raised to 1 / T, a loop over rows": '''
def sample_next_token(logits, temperature=1.0, top_k=None, generator=None):
    if temperature < 0:
        raise ValueError("negative temperature")
    if top_k is not None and top_k < 1:
        raise ValueError("top_k must be >= 1")
    out = torch.empty(logits.shape[0], dtype=torch.int64, device=logits.device)
    for i, row in enumerate(logits):
        if temperature == 0:
            out[i] = int(torch.argmax(row))
            continue
        p = torch.softmax(row.double(), dim=0)
        p = p ** (1.0 / temperature)
        if top_k is not None and top_k < row.numel():
            values = sorted(row.tolist(), reverse=True)
            p = torch.where(row >= values[top_k - 1], p, torch.zeros_like(p))
        out[i] = torch.multinomial(p / p.sum(), 1, generator=generator)[0]
    return out
''',
    },
    "ch23-mlm-mask": {
        "one uniform draw split into bands, index assignment": '''
def mlm_mask(tokens, mask_id, vocab_size, generator=None):
    u = torch.rand(tokens.shape, generator=generator, device=tokens.device)
    random_ids = torch.randint(vocab_size, tokens.shape, generator=generator,
                               device=tokens.device)
    inputs = tokens.clone()
    labels = torch.full_like(tokens, -100)
    selected = u < 0.15
    labels[selected] = tokens[selected]
    inputs[u < 0.12] = mask_id  # 0.8 of 0.15
    band = (u >= 0.12) & (u < 0.135)  # 0.1 of 0.15
    inputs[band] = random_ids[band]
    return inputs, labels
''',
        "BERT's own recipe: Bernoulli draws in sequence": '''
def mlm_mask(tokens, mask_id, vocab_size, generator=None):
    def coin(p, where):
        full = torch.full(tokens.shape, p, dtype=torch.float64,
                          device=tokens.device)
        return torch.bernoulli(full, generator=generator).bool() & where

    everywhere = torch.ones_like(tokens, dtype=torch.bool)
    selected = coin(0.15, everywhere)
    replaced = coin(0.8, selected)
    randomised = coin(0.5, selected & ~replaced)
    labels = tokens.masked_fill(~selected, -100)
    inputs = tokens.masked_fill(replaced, mask_id)
    ids = torch.randint(vocab_size, tokens.shape, generator=generator,
                        device=tokens.device)
    inputs = torch.where(randomised, ids, inputs)
    return inputs, labels
''',
    },
    "ch23-decoder-block": {
        "float -inf mask and tgt_is_causal-like helpers": _DECODER_INIT + '''
    def _attend(self, attn, q, kv, **kwargs):
        return attn(q, kv, kv, need_weights=False, **kwargs)[0]

    def forward(self, tgt, memory, memory_key_padding_mask=None):
        t = tgt.shape[1]
        mask = torch.full((t, t), float("-inf"), dtype=tgt.dtype,
                          device=tgt.device).triu(1)
        x = tgt + self._attend(self.self_attn, self.norm1(tgt), self.norm1(tgt),
                               attn_mask=mask)
        x = x + self._attend(self.multihead_attn, self.norm2(x), memory,
                             key_padding_mask=memory_key_padding_mask)
        ff = self.linear2(F.gelu(self.linear1(self.norm3(x)), approximate="none"))
        return x + ff
''',
        "cross-attention by hand, padding as an additive -inf mask":
            _DECODER_INIT + '''
    def forward(self, tgt, memory, memory_key_padding_mask=None):
        t = tgt.shape[1]
        future = torch.ones(t, t, dtype=torch.bool, device=tgt.device).triu(1)
        h = self.norm1(tgt)
        x = tgt + self.self_attn(h, h, h, attn_mask=future, need_weights=False)[0]
        n, s, d = memory.shape
        heads = self.multihead_attn.num_heads
        w_q, w_k, w_v = self.multihead_attn.in_proj_weight.chunk(3)
        b_q, b_k, b_v = self.multihead_attn.in_proj_bias.chunk(3)

        def split(z):
            return z.reshape(n, z.shape[1], heads, d // heads).transpose(1, 2)

        q = split(F.linear(self.norm2(x), w_q, b_q))
        k, v = split(F.linear(memory, w_k, b_k)), split(F.linear(memory, w_v, b_v))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // heads)
        if memory_key_padding_mask is not None:
            scores = scores.masked_fill(memory_key_padding_mask[:, None, None, :],
                                        float("-inf"))
        mixed = (scores.softmax(-1) @ v).transpose(1, 2).reshape(n, t, d)
        x = x + self.multihead_attn.out_proj(mixed)
        return x + self.linear2(F.gelu(self.linear1(self.norm3(x))))
''',
    },
}
