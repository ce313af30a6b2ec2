"""ch22: planted wrong answers (must lose points) and right answers written
differently (must pass)."""

_CROSS_INIT = '''
    def __init__(self, embed_dim, num_heads, context_dim):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError("embed_dim must be divisible by num_heads")
        self.num_heads = num_heads
        self.q_proj_weight = nn.Parameter(torch.empty(embed_dim, embed_dim))
        self.k_proj_weight = nn.Parameter(torch.empty(embed_dim, context_dim))
        self.v_proj_weight = nn.Parameter(torch.empty(embed_dim, context_dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim))
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        nn.init.xavier_uniform_(self.q_proj_weight)
        nn.init.xavier_uniform_(self.k_proj_weight)
        nn.init.xavier_uniform_(self.v_proj_weight)
        nn.init.zeros_(self.out_proj.bias)
'''

# the projections and head split that most wrong forwards below share
_CROSS_PROJECT = '''
    def forward(self, x, context, context_padding_mask=None):
        n, length, e = x.shape
        h = self.num_heads
        b_q, b_k, b_v = self.in_proj_bias.chunk(3)
        q = F.linear(x, self.q_proj_weight, b_q).reshape(n, length, h, -1)
        k = F.linear(context, self.k_proj_weight, b_k).reshape(n, -1, h, e // h)
        v = F.linear(context, self.v_proj_weight, b_v).reshape(n, -1, h, e // h)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
'''

WRONG = {
    "ch22-additive-attention": {
        "mask applied after the softmax (not renormalised)": '''
def additive_attention(query, keys, W_q, W_k, v, mask=None):
    scores = torch.tanh(keys @ W_k.T + (query @ W_q.T)[:, None, :]) @ v
    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        weights = weights.masked_fill(mask, 0.0)
    return (weights[:, :, None] * keys).sum(1), weights
''',
        "padding mask ignored": '''
def additive_attention(query, keys, W_q, W_k, v, mask=None):
    scores = torch.tanh(keys @ W_k.T + (query @ W_q.T)[:, None, :]) @ v
    weights = torch.softmax(scores, dim=-1)
    return (weights[:, :, None] * keys).sum(1), weights
''',
        "padding scores set to 0 instead of -inf": '''
def additive_attention(query, keys, W_q, W_k, v, mask=None):
    scores = torch.tanh(keys @ W_k.T + (query @ W_q.T)[:, None, :]) @ v
    if mask is not None:
        scores = scores.masked_fill(mask, 0.0)
    weights = torch.softmax(scores, dim=-1)
    return (weights[:, :, None] * keys).sum(1), weights
''',
        "computed in float32 whatever the input dtype": '''
def additive_attention(query, keys, W_q, W_k, v, mask=None):
    q, k, wq, wk, vv = (t.float() for t in (query, keys, W_q, W_k, v))
    scores = torch.tanh(k @ wk.T + (q @ wq.T)[:, None, :]) @ vv
    if mask is not None:
        scores = scores.masked_fill(mask, -math.inf)
    weights = torch.softmax(scores, dim=-1)
    context = (weights[:, :, None] * k).sum(1)
    return context.to(query.dtype), weights.to(query.dtype)
''',
        "v detached (no gradient reaches v)": '''
def additive_attention(query, keys, W_q, W_k, v, mask=None):
    scores = torch.tanh(keys @ W_k.T + (query @ W_q.T)[:, None, :]) @ v.detach()
    if mask is not None:
        scores = scores.masked_fill(mask, -math.inf)
    weights = torch.softmax(scores, dim=-1)
    return (weights[:, :, None] * keys).sum(1), weights
''',
        "two tanh terms added outside (query term cancels)": '''
def additive_attention(query, keys, W_q, W_k, v, mask=None):
    scores = torch.tanh(keys @ W_k.T) @ v + (torch.tanh(query @ W_q.T) @ v)[:, None]
    if mask is not None:
        scores = scores.masked_fill(mask, -math.inf)
    weights = torch.softmax(scores, dim=-1)
    return (weights[:, :, None] * keys).sum(1), weights
''',
        "W_q and W_k applied untransposed (q @ W)": '''
def additive_attention(query, keys, W_q, W_k, v, mask=None):
    scores = torch.tanh(keys @ W_k + (query @ W_q)[:, None, :]) @ v
    if mask is not None:
        scores = scores.masked_fill(mask, -math.inf)
    weights = torch.softmax(scores, dim=-1)
    return (weights[:, :, None] * keys).sum(1), weights
''',
        "softmax over the batch axis": '''
def additive_attention(query, keys, W_q, W_k, v, mask=None):
    scores = torch.tanh(keys @ W_k.T + (query @ W_q.T)[:, None, :]) @ v
    if mask is not None:
        scores = scores.masked_fill(mask, -math.inf)
    weights = torch.softmax(scores, dim=0)
    return (weights[:, :, None] * keys).sum(1), weights
''',
        "tanh missing": '''
def additive_attention(query, keys, W_q, W_k, v, mask=None):
    scores = (keys @ W_k.T + (query @ W_q.T)[:, None, :]) @ v
    if mask is not None:
        scores = scores.masked_fill(mask, -math.inf)
    weights = torch.softmax(scores, dim=-1)
    return (weights[:, :, None] * keys).sum(1), weights
''',
        "mask inverted (True = keep)": '''
def additive_attention(query, keys, W_q, W_k, v, mask=None):
    scores = torch.tanh(keys @ W_k.T + (query @ W_q.T)[:, None, :]) @ v
    if mask is not None:
        scores = scores.masked_fill(~mask, -math.inf)
    weights = torch.softmax(scores, dim=-1)
    return (weights[:, :, None] * keys).sum(1), weights
''',
        "context averages the projected keys": '''
def additive_attention(query, keys, W_q, W_k, v, mask=None):
    projected = keys @ W_k.T
    scores = torch.tanh(projected + (query @ W_q.T)[:, None, :]) @ v
    if mask is not None:
        scores = scores.masked_fill(mask, -math.inf)
    weights = torch.softmax(scores, dim=-1)
    return (weights[:, :, None] * projected).sum(1), weights
''',
        "returns (weights, context)": '''
def additive_attention(query, keys, W_q, W_k, v, mask=None):
    scores = torch.tanh(keys @ W_k.T + (query @ W_q.T)[:, None, :]) @ v
    if mask is not None:
        scores = scores.masked_fill(mask, -math.inf)
    weights = torch.softmax(scores, dim=-1)
    return weights, (weights[:, :, None] * keys).sum(1)
''',
    },
    "ch22-padding-mask": {
        "width from the longest length, not max_len": '''
def padding_mask(lengths, max_len):
    if ((lengths < 0) | (lengths > max_len)).any():
        raise ValueError("bad length")
    width = int(lengths.max()) if len(lengths) else max_len
    return torch.arange(width, device=lengths.device)[None] >= lengths[:, None]
''',
        "off by one the other way (t >= length - 1)": '''
def padding_mask(lengths, max_len):
    if ((lengths < 0) | (lengths > max_len)).any():
        raise ValueError("bad length")
    positions = torch.arange(max_len, device=lengths.device)[None]
    return positions >= lengths[:, None] - 1
''',
        "negative lengths accepted": '''
def padding_mask(lengths, max_len):
    if (lengths > max_len).any():
        raise ValueError("bad length")
    return torch.arange(max_len, device=lengths.device)[None] >= lengths[:, None]
''',
        "one_hot without a cast (int64 lengths only)": '''
def padding_mask(lengths, max_len):
    if ((lengths < 0) | (lengths > max_len)).any():
        raise ValueError("bad length")
    return F.one_hot(lengths, max_len + 1).cumsum(dim=1)[:, :max_len].bool()
''',
        "inverted (True = real token)": '''
def padding_mask(lengths, max_len):
    if ((lengths < 0) | (lengths > max_len)).any():
        raise ValueError("bad length")
    return torch.arange(max_len, device=lengths.device)[None] < lengths[:, None]
''',
        "off by one (t > length)": '''
def padding_mask(lengths, max_len):
    if ((lengths < 0) | (lengths > max_len)).any():
        raise ValueError("bad length")
    return torch.arange(max_len, device=lengths.device)[None] > lengths[:, None]
''',
        "no ValueError for a length above max_len": '''
def padding_mask(lengths, max_len):
    return torch.arange(max_len, device=lengths.device)[None] >= lengths[:, None]
''',
        "lengths.max() fails on an empty batch": '''
def padding_mask(lengths, max_len):
    if lengths.max() > max_len or lengths.min() < 0:
        raise ValueError("bad length")
    return torch.arange(max_len, device=lengths.device)[None] >= lengths[:, None]
''',
        "returns a float mask": '''
def padding_mask(lengths, max_len):
    if ((lengths < 0) | (lengths > max_len)).any():
        raise ValueError("bad length")
    positions = torch.arange(max_len, device=lengths.device)[None]
    return (positions >= lengths[:, None]).float()
''',
    },
    "ch22-causal-mask": {
        "float mask, -inf above the diagonal": '''
def causal_mask(size, device=None):
    if size < 1:
        raise ValueError("size")
    return torch.full((size, size), -math.inf, device=device).triu(1)
''',
        "triu(2): each token sees the next one": '''
def causal_mask(size, device=None):
    if size < 1:
        raise ValueError("size")
    return torch.ones(size, size, dtype=torch.bool, device=device).triu(2)
''',
        "calls the private _generate_square_subsequent_mask": '''
def causal_mask(size, device=None):
    from torch.nn.modules.transformer import _generate_square_subsequent_mask
    if size < 1:
        raise ValueError("size")
    return _generate_square_subsequent_mask(size, device=device) == -math.inf
''',
        "ValueError for size 1 too": '''
def causal_mask(size, device=None):
    if size <= 1:
        raise ValueError("size")
    return torch.ones(size, size, dtype=torch.bool, device=device).triu(1)
''',
        "diagonal masked too (triu without offset)": '''
def causal_mask(size, device=None):
    if size < 1:
        raise ValueError("size")
    return torch.ones(size, size, dtype=torch.bool, device=device).triu()
''',
        "inverted (True = may attend, tril)": '''
def causal_mask(size, device=None):
    if size < 1:
        raise ValueError("size")
    return torch.ones(size, size, dtype=torch.bool, device=device).tril()
''',
        "transposed (masks the past)": '''
def causal_mask(size, device=None):
    if size < 1:
        raise ValueError("size")
    return torch.ones(size, size, dtype=torch.bool, device=device).tril(-1)
''',
        "calls generate_square_subsequent_mask": '''
def causal_mask(size, device=None):
    if size < 1:
        raise ValueError("size")
    return nn.Transformer.generate_square_subsequent_mask(size, device=device) != 0
''',
        "no ValueError for size 0": '''
def causal_mask(size, device=None):
    return torch.ones(size, size, dtype=torch.bool, device=device).triu(1)
''',
    },
    "ch22-cross-attention": {
        "C == E packs the weights into in_proj_weight, as nn.MultiheadAttention": '''
    def __init__(self, embed_dim, num_heads, context_dim):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError("embed_dim must be divisible by num_heads")
        self.num_heads, self.packed = num_heads, context_dim == embed_dim
        if self.packed:
            self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim))
            nn.init.xavier_uniform_(self.in_proj_weight)
        else:
            self.q_proj_weight = nn.Parameter(torch.empty(embed_dim, embed_dim))
            self.k_proj_weight = nn.Parameter(torch.empty(embed_dim, context_dim))
            self.v_proj_weight = nn.Parameter(torch.empty(embed_dim, context_dim))
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                nn.init.xavier_uniform_(w)
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim))
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, x, context, context_padding_mask=None):
        n, length, e = x.shape
        h = self.num_heads
        if self.packed:
            w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        else:
            w_q, w_k, w_v = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        b_q, b_k, b_v = self.in_proj_bias.chunk(3)
        q = F.linear(x, w_q, b_q).reshape(n, length, h, -1).transpose(1, 2)
        k = F.linear(context, w_k, b_k).reshape(n, -1, h, e // h).transpose(1, 2)
        v = F.linear(context, w_v, b_v).reshape(n, -1, h, e // h).transpose(1, 2)
        scores = q @ k.transpose(-2, -1) / math.sqrt(e // h)
        if context_padding_mask is not None:
            scores = scores.masked_fill(context_padding_mask[:, None, None], -math.inf)
        weights = torch.softmax(scores, dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(n, length, e)
        return self.out_proj(out), weights
''',
        "no 1/sqrt(d) scaling": _CROSS_INIT + _CROSS_PROJECT + '''
        scores = q @ k.transpose(-2, -1)
        if context_padding_mask is not None:
            scores = scores.masked_fill(context_padding_mask[:, None, None], -math.inf)
        weights = torch.softmax(scores, dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(n, length, e)
        return self.out_proj(out), weights
''',
        "keys and values swapped": _CROSS_INIT + _CROSS_PROJECT + '''
        k, v = v, k
        scores = q @ k.transpose(-2, -1) / math.sqrt(e // h)
        if context_padding_mask is not None:
            scores = scores.masked_fill(context_padding_mask[:, None, None], -math.inf)
        weights = torch.softmax(scores, dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(n, length, e)
        return self.out_proj(out), weights
''',
        "K and V projected from x, not from the context": _CROSS_INIT + '''
    def forward(self, x, context, context_padding_mask=None):
        n, length, e = x.shape
        h = self.num_heads
        b_q, b_k, b_v = self.in_proj_bias.chunk(3)
        q = F.linear(x, self.q_proj_weight, b_q).reshape(n, length, h, -1)
        k = F.linear(x, self.k_proj_weight, b_k).reshape(n, length, h, -1)
        v = F.linear(x, self.v_proj_weight, b_v).reshape(n, length, h, -1)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(e // h), dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(n, length, e)
        return self.out_proj(out), weights
''',
        "padding mask inverted (True = keep)": _CROSS_INIT + _CROSS_PROJECT + '''
        scores = q @ k.transpose(-2, -1) / math.sqrt(e // h)
        if context_padding_mask is not None:
            scores = scores.masked_fill(~context_padding_mask[:, None, None],
                                        -math.inf)
        weights = torch.softmax(scores, dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(n, length, e)
        return self.out_proj(out), weights
''',
        "softmax over the queries (dim=-2)": _CROSS_INIT + _CROSS_PROJECT + '''
        scores = q @ k.transpose(-2, -1) / math.sqrt(e // h)
        if context_padding_mask is not None:
            scores = scores.masked_fill(context_padding_mask[:, None, None], -math.inf)
        weights = torch.softmax(scores, dim=-2)
        out = (weights @ v).transpose(1, 2).reshape(n, length, e)
        return self.out_proj(out), weights
''',
        "heads merged without transposing back": _CROSS_INIT + _CROSS_PROJECT + '''
        scores = q @ k.transpose(-2, -1) / math.sqrt(e // h)
        if context_padding_mask is not None:
            scores = scores.masked_fill(context_padding_mask[:, None, None], -math.inf)
        weights = torch.softmax(scores, dim=-1)
        out = (weights @ v).reshape(n, length, e)
        return self.out_proj(out), weights
''',
        "biases of q and k swapped": _CROSS_INIT + '''
    def forward(self, x, context, context_padding_mask=None):
        n, length, e = x.shape
        h = self.num_heads
        b_q, b_k, b_v = self.in_proj_bias.chunk(3)
        q = F.linear(x, self.q_proj_weight, b_k).reshape(n, length, h, -1)
        k = F.linear(context, self.k_proj_weight, b_q).reshape(n, -1, h, e // h)
        v = F.linear(context, self.v_proj_weight, b_v).reshape(n, -1, h, e // h)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        scores = q @ k.transpose(-2, -1) / math.sqrt(e // h)
        if context_padding_mask is not None:
            scores = scores.masked_fill(context_padding_mask[:, None, None], -math.inf)
        weights = torch.softmax(scores, dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(n, length, e)
        return self.out_proj(out), weights
''',
        "q_proj_weight left at nn.Linear's default init": '''
    def __init__(self, embed_dim, num_heads, context_dim):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError("embed_dim must be divisible by num_heads")
        self.num_heads = num_heads
        self.q_proj_weight = nn.Parameter(nn.Linear(embed_dim, embed_dim).weight.data)
        self.k_proj_weight = nn.Parameter(torch.empty(embed_dim, context_dim))
        self.v_proj_weight = nn.Parameter(torch.empty(embed_dim, context_dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim))
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        nn.init.xavier_uniform_(self.k_proj_weight)
        nn.init.xavier_uniform_(self.v_proj_weight)
        nn.init.zeros_(self.out_proj.bias)
''' + _CROSS_PROJECT + '''
        scores = q @ k.transpose(-2, -1) / math.sqrt(e // h)
        if context_padding_mask is not None:
            scores = scores.masked_fill(context_padding_mask[:, None, None], -math.inf)
        weights = torch.softmax(scores, dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(n, length, e)
        return self.out_proj(out), weights
''',
        "reshape without transpose when splitting heads": _CROSS_INIT + '''
    def forward(self, x, context, context_padding_mask=None):
        n, length, e = x.shape
        h = self.num_heads
        b_q, b_k, b_v = self.in_proj_bias.chunk(3)
        q = F.linear(x, self.q_proj_weight, b_q).reshape(n, h, length, -1)
        k = F.linear(context, self.k_proj_weight, b_k).reshape(n, h, -1, e // h)
        v = F.linear(context, self.v_proj_weight, b_v).reshape(n, h, -1, e // h)
        scores = q @ k.transpose(-2, -1) / math.sqrt(e // h)
        if context_padding_mask is not None:
            scores = scores.masked_fill(context_padding_mask[:, None, None], -math.inf)
        weights = torch.softmax(scores, dim=-1)
        out = (weights @ v).reshape(n, length, e)
        return self.out_proj(out), weights
''',
        "scale 1/sqrt(E) instead of 1/sqrt(d)": _CROSS_INIT + _CROSS_PROJECT + '''
        scores = q @ k.transpose(-2, -1) / math.sqrt(e)
        if context_padding_mask is not None:
            scores = scores.masked_fill(context_padding_mask[:, None, None], -math.inf)
        weights = torch.softmax(scores, dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(n, length, e)
        return self.out_proj(out), weights
''',
        "padding mask ignored": _CROSS_INIT + _CROSS_PROJECT + '''
        scores = q @ k.transpose(-2, -1) / math.sqrt(e // h)
        weights = torch.softmax(scores, dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(n, length, e)
        return self.out_proj(out), weights
''',
        "weights averaged over the heads": _CROSS_INIT + _CROSS_PROJECT + '''
        scores = q @ k.transpose(-2, -1) / math.sqrt(e // h)
        if context_padding_mask is not None:
            scores = scores.masked_fill(context_padding_mask[:, None, None], -math.inf)
        weights = torch.softmax(scores, dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(n, length, e)
        return self.out_proj(out), weights.mean(dim=1)
''',
        "keys projected from the queries (self-attention)": _CROSS_INIT + '''
    def forward(self, x, context, context_padding_mask=None):
        n, length, e = x.shape
        h = self.num_heads
        b_q, b_k, b_v = self.in_proj_bias.chunk(3)
        q = F.linear(x, self.q_proj_weight, b_q).reshape(n, length, h, -1)
        k = F.linear(x, self.q_proj_weight, b_k).reshape(n, length, h, -1)
        v = F.linear(context, self.v_proj_weight, b_v).reshape(n, -1, h, e // h)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        scores = q @ k.transpose(-2, -1) / math.sqrt(e // h)
        weights = torch.softmax(scores, dim=-1)
        out = (weights[..., :v.shape[2]] @ v).transpose(1, 2).reshape(n, length, e)
        return self.out_proj(out), weights
''',
        "calls the forbidden nn.MultiheadAttention": _CROSS_INIT + '''
    def forward(self, x, context, context_padding_mask=None):
        mha = nn.MultiheadAttention(x.shape[-1], self.num_heads,
                                    kdim=context.shape[-1], vdim=context.shape[-1],
                                    batch_first=True).to(x.device, x.dtype)
        mha.load_state_dict(self.state_dict())
        return mha(x, context, context, key_padding_mask=context_padding_mask,
                   average_attn_weights=False)
''',
    },
}

RIGHT = {
    "ch22-additive-attention": {
        "a loop over the keys in float64, cast back": '''
def additive_attention(query, keys, W_q, W_k, v, mask=None):
    dtype = query.dtype
    q, k, wq, wk, vv = (t.double() for t in (query, keys, W_q, W_k, v))
    from_query = q @ wq.T  # (B, H)
    scores = torch.stack([torch.tanh(from_query + k[:, t] @ wk.T) @ vv
                          for t in range(k.shape[1])], dim=1)  # (B, T)
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    weights = torch.softmax(scores, dim=1)
    context = sum(weights[:, t, None] * k[:, t] for t in range(k.shape[1]))
    return context.to(dtype), weights.to(dtype)
''',
        "softmax, then zero the padding and renormalise": '''
def additive_attention(query, keys, W_q, W_k, v, mask=None):
    scores = torch.tanh(torch.einsum("hq,bq->bh", W_q, query)[:, None]
                        + torch.einsum("hk,btk->bth", W_k, keys)) @ v
    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        weights = weights * (~mask)
        weights = weights / weights.sum(dim=-1, keepdim=True)
    return torch.einsum("bt,btk->bk", weights, keys), weights
''',
        "einsum and the concatenated weight": '''
def additive_attention(query, keys, W_q, W_k, v, mask=None):
    T = keys.shape[1]
    W = torch.cat([W_q, W_k], dim=1)
    pairs = torch.cat([query[:, None, :].expand(-1, T, -1), keys], dim=-1)
    energy = torch.tanh(torch.einsum("hd,btd->bth", W, pairs))
    scores = torch.einsum("bth,h->bt", energy, v)
    if mask is not None:
        scores = torch.where(mask, torch.finfo(scores.dtype).min, scores)
    scores = scores - scores.max(dim=1, keepdim=True).values
    e = scores.exp()
    if mask is not None:
        e = e.masked_fill(mask, 0.0)
    weights = e / e.sum(dim=1, keepdim=True)
    context = torch.einsum("bt,btd->bd", weights, keys)
    return context, weights
''',
    },
    "ch22-padding-mask": {
        "one_hot of the lengths, cumulative sum": '''
def padding_mask(lengths, max_len):
    if lengths.numel() and (lengths.min() < 0 or lengths.max() > max_len):
        raise ValueError(f"lengths must lie in 0..{max_len}")
    ends = F.one_hot(lengths.long(), max_len + 1)  # (B, max_len + 1)
    return ends.cumsum(dim=1)[:, :max_len].bool()
''',
        "a loop over the rows": '''
def padding_mask(lengths, max_len):
    rows = []
    for length in lengths.tolist():
        if length < 0 or length > max_len:
            raise ValueError(f"length {length} outside 0..{max_len}")
        row = torch.zeros(max_len, dtype=torch.bool, device=lengths.device)
        row[length:] = True
        rows.append(row)
    if not rows:
        return torch.zeros(0, max_len, dtype=torch.bool, device=lengths.device)
    return torch.stack(rows)
''',
    },
    "ch22-causal-mask": {
        "not of the lower triangle": '''
def causal_mask(size, device=None):
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    allowed = torch.ones(size, size, dtype=torch.bool, device=device).tril()
    return ~allowed
''',
        "triu with offset 1": '''
def causal_mask(size, device=None):
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    return torch.ones(size, size, device=device).triu(diagonal=1).bool()
''',
    },
    "ch22-cross-attention": {
        "einsum with a heads axis on the weights, finfo.min mask": _CROSS_INIT + '''
    def forward(self, x, context, context_padding_mask=None):
        h = self.num_heads
        e = x.shape[-1]
        d = e // h
        b_q, b_k, b_v = (b.reshape(h, d) for b in self.in_proj_bias.chunk(3))
        wq = self.q_proj_weight.reshape(h, d, -1)
        wk = self.k_proj_weight.reshape(h, d, -1)
        wv = self.v_proj_weight.reshape(h, d, -1)
        q = torch.einsum("nle,hde->nhld", x, wq) + b_q[None, :, None]
        k = torch.einsum("nsc,hdc->nhsd", context, wk) + b_k[None, :, None]
        v = torch.einsum("nsc,hdc->nhsd", context, wv) + b_v[None, :, None]
        scores = torch.einsum("nhld,nhsd->nhls", q / math.sqrt(d), k)
        if context_padding_mask is not None:
            blocked = context_padding_mask[:, None, None, :]
            scores = torch.where(blocked, torch.finfo(scores.dtype).min, scores)
        weights = torch.softmax(scores, dim=-1)
        heads = torch.einsum("nhls,nhsd->nlhd", weights, v).flatten(2)
        return F.linear(heads, self.out_proj.weight, self.out_proj.bias), weights
''',
        "per-head loop and the masks of this chapter": _CROSS_INIT + '''
    def forward(self, x, context, context_padding_mask=None):
        e = x.shape[-1]
        h = self.num_heads
        d = e // h
        b_q, b_k, b_v = self.in_proj_bias.chunk(3)
        q = x @ self.q_proj_weight.T + b_q
        k = context @ self.k_proj_weight.T + b_k
        v = context @ self.v_proj_weight.T + b_v
        outs, maps = [], []
        for i in range(h):
            part = slice(i * d, (i + 1) * d)
            s = q[..., part] @ k[..., part].transpose(1, 2) * d ** -0.5
            if context_padding_mask is not None:
                s = s.masked_fill(context_padding_mask[:, None, :], float("-inf"))
            a = s.softmax(dim=-1)
            maps.append(a)
            outs.append(a @ v[..., part])
        out = torch.cat(outs, dim=-1) @ self.out_proj.weight.T + self.out_proj.bias
        return out, torch.stack(maps, dim=1)
''',
    },
}


def _as_class(source):
    """Module answers: put the class line before the methods above."""
    return "\nclass CrossAttention(nn.Module):" + source


for _table in (WRONG, RIGHT):
    _table["ch22-cross-attention"] = {
        description: _as_class(source)
        for description, source in _table["ch22-cross-attention"].items()}
