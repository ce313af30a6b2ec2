"""ch11: planted wrong answers (must lose points) and right answers written
differently (must pass)."""

_MHA_INIT = '''
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError("embed_dim must be divisible by num_heads")
        self.num_heads = num_heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim))
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)
'''

# the projections and head split that most wrong answers below share
_MHA_PROJECT = '''
        n, length, e = query.shape
        h, d = self.num_heads, e // self.num_heads
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        b_q, b_k, b_v = self.in_proj_bias.chunk(3)
        q = F.linear(query, w_q, b_q).reshape(n, length, h, d).transpose(1, 2)
        k = F.linear(key, w_k, b_k).reshape(n, -1, h, d).transpose(1, 2)
        v = F.linear(value, w_v, b_v).reshape(n, -1, h, d).transpose(1, 2)
'''

_BLOCK_INIT = '''
    def __init__(self, d_model, nhead, dim_feedforward, activation="relu"):
        super().__init__()
        if activation not in ("relu", "gelu"):
            raise ValueError(activation)
        self.act = F.relu if activation == "relu" else F.gelu
        self.self_attn = nn.MultiheadAttention(d_model, nhead, batch_first=True)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
'''

WRONG = {
    "ch11-attention-weights": {
        "calls F.scaled_dot_product_attention with identity values": '''
def attention_weights(q, k, mask=None):
    eye = torch.eye(k.shape[-2], dtype=q.dtype, device=q.device)
    return F.scaled_dot_product_attention(q, k, eye.expand(*k.shape[:-2], -1, -1),
                                          attn_mask=mask)
''',
        "no 1/sqrt(E) scale": '''
def attention_weights(q, k, mask=None):
    scores = q @ k.transpose(-2, -1)
    if mask is not None and mask.dtype == torch.bool:
        scores = scores.masked_fill(~mask, -math.inf)
    elif mask is not None:
        scores = scores + mask
    return torch.softmax(scores, dim=-1).nan_to_num(0.0)
''',
        "divides by E instead of sqrt(E)": '''
def attention_weights(q, k, mask=None):
    scores = q @ k.transpose(-2, -1) / q.shape[-1]
    if mask is not None and mask.dtype == torch.bool:
        scores = scores.masked_fill(~mask, -math.inf)
    elif mask is not None:
        scores = scores + mask
    return torch.softmax(scores, dim=-1).nan_to_num(0.0)
''',
        "softmax over the queries (dim=-2)": '''
def attention_weights(q, k, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None and mask.dtype == torch.bool:
        scores = scores.masked_fill(~mask, -math.inf)
    elif mask is not None:
        scores = scores + mask
    return torch.softmax(scores, dim=-2).nan_to_num(0.0)
''',
        "bool mask inverted (nn.MultiheadAttention's convention)": '''
def attention_weights(q, k, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None and mask.dtype == torch.bool:
        scores = scores.masked_fill(mask, -math.inf)
    elif mask is not None:
        scores = scores + mask
    return torch.softmax(scores, dim=-1).nan_to_num(0.0)
''',
        "-1e9 as minus infinity (overflows float16)": '''
def attention_weights(q, k, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is None:
        return torch.softmax(scores, dim=-1)
    if mask.dtype == torch.bool:
        scores = scores.masked_fill(~mask, -1e9)
        kept = mask.expand(scores.shape).any(dim=-1, keepdim=True)
        return torch.softmax(scores, dim=-1) * kept
    return torch.softmax(scores + mask, dim=-1).nan_to_num(0.0)
''',
        "fully masked rows left as NaN": '''
def attention_weights(q, k, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None and mask.dtype == torch.bool:
        scores = scores.masked_fill(~mask, -math.inf)
    elif mask is not None:
        scores = scores + mask
    return torch.softmax(scores, dim=-1)
''',
        "finfo.min without zeroing fully masked rows (uniform rows)": '''
def attention_weights(q, k, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None and mask.dtype == torch.bool:
        scores = scores.masked_fill(~mask, torch.finfo(q.dtype).min)
    elif mask is not None:
        scores = (scores + mask).clamp(min=torch.finfo(q.dtype).min)
    return torch.softmax(scores, dim=-1)
''',
        "float mask treated like the seed guide's 0/1 mask (mask == 0 masks)": '''
def attention_weights(q, k, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(mask == 0, -math.inf)
    return torch.softmax(scores, dim=-1).nan_to_num(0.0)
''',
        "additive mask multiplied instead of added": '''
def attention_weights(q, k, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None and mask.dtype == torch.bool:
        scores = scores.masked_fill(~mask, -math.inf)
    elif mask is not None:
        scores = scores * mask.nan_to_num(0.0, neginf=0.0) \\
            + torch.where(mask == -math.inf, -math.inf, 0.0).to(q.dtype)
    return torch.softmax(scores, dim=-1).nan_to_num(0.0)
''',
        "always float32": '''
def attention_weights(q, k, mask=None):
    scores = q.float() @ k.float().transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None and mask.dtype == torch.bool:
        scores = scores.masked_fill(~mask, -math.inf)
    elif mask is not None:
        scores = scores + mask.float()
    return torch.softmax(scores, dim=-1).nan_to_num(0.0)
''',
        "modifies q in place (scales it)": '''
def attention_weights(q, k, mask=None):
    q.div_(math.sqrt(q.shape[-1]))
    scores = q @ k.transpose(-2, -1)
    if mask is not None and mask.dtype == torch.bool:
        scores = scores.masked_fill(~mask, -math.inf)
    elif mask is not None:
        scores = scores + mask
    return torch.softmax(scores, dim=-1).nan_to_num(0.0)
''',
    },
    "ch11-scaled-dot-product-attention": {
        "calls F.scaled_dot_product_attention": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
''',
        "returns (output, weights) like the seed guide": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    weights = attention_weights(q, k, mask)
    return weights @ v, weights
''',
        "no 1/sqrt(E) scale": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    return attention_weights(q * math.sqrt(q.shape[-1]), k, mask) @ v
''',
        "scale uses the size of the values Ev": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scale = math.sqrt(q.shape[-1]) / math.sqrt(v.shape[-1])
    return attention_weights(q * scale, k, mask) @ v
''',
        "-1e9 masking (overflows float16)": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None and mask.dtype == torch.bool:
        scores = scores.masked_fill(~mask, -1e9)
        kept = mask.expand(scores.shape).any(dim=-1, keepdim=True)
        return (torch.softmax(scores, dim=-1) * kept) @ v
    if mask is not None:
        scores = scores + mask
    return torch.softmax(scores, dim=-1).nan_to_num(0.0) @ v
''',
        "fully masked rows give NaN": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None and mask.dtype == torch.bool:
        scores = scores.masked_fill(~mask, -math.inf)
    elif mask is not None:
        scores = scores + mask
    return torch.softmax(scores, dim=-1) @ v
''',
        "mask inverted": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    if mask is not None and mask.dtype == torch.bool:
        mask = ~mask
    return attention_weights(q, k, mask) @ v
''',
        "mask ignored": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    return attention_weights(q, k) @ v
''',
        "detaches the weights (no gradient to q and k)": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    return attention_weights(q, k, mask).detach() @ v
''',
    },
    "ch11-multi-head-attention": {
        "calls nn.MultiheadAttention's forward": _MHA_INIT + '''
    def forward(self, query, key, value, key_padding_mask=None, need_weights=True):
        out, weights = F.multi_head_attention_forward(
            query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1),
            query.shape[-1], self.num_heads, self.in_proj_weight, self.in_proj_bias,
            None, None, False, 0.0, self.out_proj.weight, self.out_proj.bias,
            key_padding_mask=key_padding_mask, need_weights=need_weights)
        return out.transpose(0, 1), weights
''',
        "heads split by a reshape to (N, h, L, d) without a transpose": _MHA_INIT + '''
    def forward(self, query, key, value, key_padding_mask=None, need_weights=True):
        n, length, e = query.shape
        h, d = self.num_heads, e // self.num_heads
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        b_q, b_k, b_v = self.in_proj_bias.chunk(3)
        q = F.linear(query, w_q, b_q).reshape(n, h, length, d)
        k = F.linear(key, w_k, b_k).reshape(n, h, -1, d)
        v = F.linear(value, w_v, b_v).reshape(n, h, -1, d)
        keep = None if key_padding_mask is None else ~key_padding_mask[:, None, None]
        weights = attention_weights(q, k, keep)
        out = (weights @ v).reshape(n, length, e)
        return self.out_proj(out), weights.mean(1) if need_weights else None
''',
        "heads merged without transposing back": _MHA_INIT + '''
    def forward(self, query, key, value, key_padding_mask=None, need_weights=True):
''' + _MHA_PROJECT + '''
        keep = None if key_padding_mask is None else ~key_padding_mask[:, None, None]
        weights = attention_weights(q, k, keep)
        out = (weights @ v).reshape(n, length, e)
        return self.out_proj(out), weights.mean(1) if need_weights else None
''',
        "no 1/sqrt(d) scale": _MHA_INIT + '''
    def forward(self, query, key, value, key_padding_mask=None, need_weights=True):
''' + _MHA_PROJECT + '''
        scores = q @ k.transpose(-2, -1)
        if key_padding_mask is not None:
            scores = scores.masked_fill(key_padding_mask[:, None, None], -math.inf)
        weights = torch.softmax(scores, dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(n, length, e)
        return self.out_proj(out), weights.mean(1) if need_weights else None
''',
        "scale 1/sqrt(E) instead of 1/sqrt(d)": _MHA_INIT + '''
    def forward(self, query, key, value, key_padding_mask=None, need_weights=True):
''' + _MHA_PROJECT + '''
        scores = q @ k.transpose(-2, -1) / math.sqrt(e)
        if key_padding_mask is not None:
            scores = scores.masked_fill(key_padding_mask[:, None, None], -math.inf)
        weights = torch.softmax(scores, dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(n, length, e)
        return self.out_proj(out), weights.mean(1) if need_weights else None
''',
        "key padding mask used as a keep mask (inverted)": _MHA_INIT + '''
    def forward(self, query, key, value, key_padding_mask=None, need_weights=True):
''' + _MHA_PROJECT + '''
        keep = None if key_padding_mask is None else key_padding_mask[:, None, None]
        weights = attention_weights(q, k, keep)
        out = (weights @ v).transpose(1, 2).reshape(n, length, e)
        return self.out_proj(out), weights.mean(1) if need_weights else None
''',
        "weights of the first head only, not averaged": _MHA_INIT + '''
    def forward(self, query, key, value, key_padding_mask=None, need_weights=True):
''' + _MHA_PROJECT + '''
        keep = None if key_padding_mask is None else ~key_padding_mask[:, None, None]
        weights = attention_weights(q, k, keep)
        out = (weights @ v).transpose(1, 2).reshape(n, length, e)
        return self.out_proj(out), weights[:, 0] if need_weights else None
''',
        "weights per head (N, h, L, S), not averaged": _MHA_INIT + '''
    def forward(self, query, key, value, key_padding_mask=None, need_weights=True):
''' + _MHA_PROJECT + '''
        keep = None if key_padding_mask is None else ~key_padding_mask[:, None, None]
        weights = attention_weights(q, k, keep)
        out = (weights @ v).transpose(1, 2).reshape(n, length, e)
        return self.out_proj(out), weights if need_weights else None
''',
        "query and key projections swapped": _MHA_INIT + '''
    def forward(self, query, key, value, key_padding_mask=None, need_weights=True):
        n, length, e = query.shape
        h, d = self.num_heads, e // self.num_heads
        w_k, w_q, w_v = self.in_proj_weight.chunk(3)
        b_k, b_q, b_v = self.in_proj_bias.chunk(3)
        q = F.linear(query, w_q, b_q).reshape(n, length, h, d).transpose(1, 2)
        k = F.linear(key, w_k, b_k).reshape(n, -1, h, d).transpose(1, 2)
        v = F.linear(value, w_v, b_v).reshape(n, -1, h, d).transpose(1, 2)
        keep = None if key_padding_mask is None else ~key_padding_mask[:, None, None]
        weights = attention_weights(q, k, keep)
        out = (weights @ v).transpose(1, 2).reshape(n, length, e)
        return self.out_proj(out), weights.mean(1) if need_weights else None
''',
        "in_proj_weight applied transposed": _MHA_INIT + '''
    def forward(self, query, key, value, key_padding_mask=None, need_weights=True):
        n, length, e = query.shape
        h, d = self.num_heads, e // self.num_heads
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        b_q, b_k, b_v = self.in_proj_bias.chunk(3)
        q = (query @ w_q + b_q).reshape(n, length, h, d).transpose(1, 2)
        k = (key @ w_k + b_k).reshape(n, -1, h, d).transpose(1, 2)
        v = (value @ w_v + b_v).reshape(n, -1, h, d).transpose(1, 2)
        keep = None if key_padding_mask is None else ~key_padding_mask[:, None, None]
        weights = attention_weights(q, k, keep)
        out = (weights @ v).transpose(1, 2).reshape(n, length, e)
        return self.out_proj(out), weights.mean(1) if need_weights else None
''',
        "biases of the input projections ignored": _MHA_INIT + '''
    def forward(self, query, key, value, key_padding_mask=None, need_weights=True):
        n, length, e = query.shape
        h, d = self.num_heads, e // self.num_heads
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        q = F.linear(query, w_q).reshape(n, length, h, d).transpose(1, 2)
        k = F.linear(key, w_k).reshape(n, -1, h, d).transpose(1, 2)
        v = F.linear(value, w_v).reshape(n, -1, h, d).transpose(1, 2)
        keep = None if key_padding_mask is None else ~key_padding_mask[:, None, None]
        weights = attention_weights(q, k, keep)
        out = (weights @ v).transpose(1, 2).reshape(n, length, e)
        return self.out_proj(out), weights.mean(1) if need_weights else None
''',
        "output projection forgotten": _MHA_INIT + '''
    def forward(self, query, key, value, key_padding_mask=None, need_weights=True):
''' + _MHA_PROJECT + '''
        keep = None if key_padding_mask is None else ~key_padding_mask[:, None, None]
        weights = attention_weights(q, k, keep)
        out = (weights @ v).transpose(1, 2).reshape(n, length, e)
        return out, weights.mean(1) if need_weights else None
''',
        "need_weights ignored": _MHA_INIT + '''
    def forward(self, query, key, value, key_padding_mask=None, need_weights=True):
''' + _MHA_PROJECT + '''
        keep = None if key_padding_mask is None else ~key_padding_mask[:, None, None]
        weights = attention_weights(q, k, keep)
        out = (weights @ v).transpose(1, 2).reshape(n, length, e)
        return self.out_proj(out), weights.mean(1)
''',
        "three separate nn.Linear projections (other parameter names)": '''
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError("embed_dim must be divisible by num_heads")
        self.num_heads = num_heads
        self.w_q = nn.Linear(embed_dim, embed_dim)
        self.w_k = nn.Linear(embed_dim, embed_dim)
        self.w_v = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True):
        n, length, e = query.shape
        h, d = self.num_heads, e // self.num_heads
        q = self.w_q(query).reshape(n, length, h, d).transpose(1, 2)
        k = self.w_k(key).reshape(n, -1, h, d).transpose(1, 2)
        v = self.w_v(value).reshape(n, -1, h, d).transpose(1, 2)
        keep = None if key_padding_mask is None else ~key_padding_mask[:, None, None]
        weights = attention_weights(q, k, keep)
        out = (weights @ v).transpose(1, 2).reshape(n, length, e)
        return self.out_proj(out), weights.mean(1) if need_weights else None
''',
        "in_proj_weight left uninitialised (torch.empty)": '''
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError("embed_dim must be divisible by num_heads")
        self.num_heads = num_heads
        self.in_proj_weight = nn.Parameter(torch.zeros(3 * embed_dim, embed_dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim))
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True):
''' + _MHA_PROJECT + '''
        keep = None if key_padding_mask is None else ~key_padding_mask[:, None, None]
        weights = attention_weights(q, k, keep)
        out = (weights @ v).transpose(1, 2).reshape(n, length, e)
        return self.out_proj(out), weights.mean(1) if need_weights else None
''',
    },
    "ch11-positional-encoding": {
        "exponent j / d instead of 2 * (j // 2) / d": '''
def positional_encoding(max_len, d_model, dtype=torch.float32, device=None):
    p = torch.arange(max_len, dtype=dtype, device=device)[:, None]
    j = torch.arange(d_model, device=device)
    angle = p / 10000 ** (j.to(dtype) / d_model)
    return torch.where(j % 2 == 0, torch.sin(angle), torch.cos(angle))
''',
        "sine and cosine swapped": '''
def positional_encoding(max_len, d_model, dtype=torch.float32, device=None):
    p = torch.arange(max_len, dtype=dtype, device=device)[:, None]
    j = torch.arange(d_model, device=device)
    angle = p / 10000 ** ((2 * (j // 2)).to(dtype) / d_model)
    return torch.where(j % 2 == 1, torch.sin(angle), torch.cos(angle))
''',
        "sines in the first half, cosines in the second": '''
def positional_encoding(max_len, d_model, dtype=torch.float32, device=None):
    p = torch.arange(max_len, dtype=dtype, device=device)[:, None]
    i = torch.arange((d_model + 1) // 2, device=device)
    angle = p / 10000 ** ((2 * i).to(dtype) / d_model)
    return torch.cat([torch.sin(angle), torch.cos(angle)], dim=1)[:, :d_model]
''',
        "the seed guide's version (fails for an odd d_model)": '''
def positional_encoding(max_len, d_model, dtype=torch.float32, device=None):
    pe = torch.zeros(max_len, d_model, dtype=dtype, device=device)
    position = torch.arange(0, max_len, dtype=dtype, device=device).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d_model, 2, device=device).to(dtype)
                         * -(math.log(10000.0) / d_model))
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe
''',
        "computed in float32, then converted": '''
def positional_encoding(max_len, d_model, dtype=torch.float32, device=None):
    p = torch.arange(max_len, dtype=torch.float32)[:, None]
    j = torch.arange(d_model)
    angle = p / 10000 ** ((2 * (j // 2)).float() / d_model)
    pe = torch.where(j % 2 == 0, torch.sin(angle), torch.cos(angle))
    return pe.to(device=device, dtype=dtype)
''',
        "positions start at 1": '''
def positional_encoding(max_len, d_model, dtype=torch.float32, device=None):
    p = torch.arange(1, max_len + 1, dtype=dtype, device=device)[:, None]
    j = torch.arange(d_model, device=device)
    angle = p / 10000 ** ((2 * (j // 2)).to(dtype) / d_model)
    return torch.where(j % 2 == 0, torch.sin(angle), torch.cos(angle))
''',
        "transposed: (d_model, max_len)": '''
def positional_encoding(max_len, d_model, dtype=torch.float32, device=None):
    p = torch.arange(max_len, dtype=dtype, device=device)[:, None]
    j = torch.arange(d_model, device=device)
    angle = p / 10000 ** ((2 * (j // 2)).to(dtype) / d_model)
    return torch.where(j % 2 == 0, torch.sin(angle), torch.cos(angle)).T
''',
        "dtype ignored (always float32)": '''
def positional_encoding(max_len, d_model, dtype=torch.float32, device=None):
    p = torch.arange(max_len, device=device)[:, None].float()
    j = torch.arange(d_model, device=device)
    angle = p / 10000 ** ((2 * (j // 2)).float() / d_model)
    return torch.where(j % 2 == 0, torch.sin(angle), torch.cos(angle))
''',
    },
    "ch11-transformer-block": {
        "pre-norm instead of post-norm": _BLOCK_INIT + '''
    def forward(self, src, src_key_padding_mask=None):
        y = self.norm1(src)
        x = src + self.self_attn(y, y, y, key_padding_mask=src_key_padding_mask,
                                 need_weights=False)[0]
        return x + self.linear2(self.act(self.linear1(self.norm2(x))))
''',
        "norm1 and norm2 swapped": _BLOCK_INIT + '''
    def forward(self, src, src_key_padding_mask=None):
        a = self.self_attn(src, src, src, key_padding_mask=src_key_padding_mask,
                           need_weights=False)[0]
        x = self.norm2(src + a)
        return self.norm1(x + self.linear2(self.act(self.linear1(x))))
''',
        "no residual around the feed-forward part": _BLOCK_INIT + '''
    def forward(self, src, src_key_padding_mask=None):
        a = self.self_attn(src, src, src, key_padding_mask=src_key_padding_mask,
                           need_weights=False)[0]
        x = self.norm1(src + a)
        return self.norm2(self.linear2(self.act(self.linear1(x))))
''',
        "padding mask ignored": _BLOCK_INIT + '''
    def forward(self, src, src_key_padding_mask=None):
        a = self.self_attn(src, src, src, need_weights=False)[0]
        x = self.norm1(src + a)
        return self.norm2(x + self.linear2(self.act(self.linear1(x))))
''',
        "padding mask inverted": _BLOCK_INIT + '''
    def forward(self, src, src_key_padding_mask=None):
        pad = None if src_key_padding_mask is None else ~src_key_padding_mask
        a = self.self_attn(src, src, src, key_padding_mask=pad, need_weights=False)[0]
        x = self.norm1(src + a)
        return self.norm2(x + self.linear2(self.act(self.linear1(x))))
''',
        "GELU with the tanh approximation": '''
    def __init__(self, d_model, nhead, dim_feedforward, activation="relu"):
        super().__init__()
        if activation not in ("relu", "gelu"):
            raise ValueError(activation)
        self.act = nn.ReLU() if activation == "relu" else nn.GELU(approximate="tanh")
        self.self_attn = nn.MultiheadAttention(d_model, nhead, batch_first=True)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)

    def forward(self, src, src_key_padding_mask=None):
        a = self.self_attn(src, src, src, key_padding_mask=src_key_padding_mask,
                           need_weights=False)[0]
        x = self.norm1(src + a)
        return self.norm2(x + self.linear2(self.act(self.linear1(x))))
''',
        "activation argument ignored (always ReLU)": '''
    def __init__(self, d_model, nhead, dim_feedforward, activation="relu"):
        super().__init__()
        if activation not in ("relu", "gelu"):
            raise ValueError(activation)
        self.self_attn = nn.MultiheadAttention(d_model, nhead, batch_first=True)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)

    def forward(self, src, src_key_padding_mask=None):
        a = self.self_attn(src, src, src, key_padding_mask=src_key_padding_mask,
                           need_weights=False)[0]
        x = self.norm1(src + a)
        return self.norm2(x + self.linear2(F.relu(self.linear1(x))))
''',
        "LayerNorm eps 1e-6": '''
    def __init__(self, d_model, nhead, dim_feedforward, activation="relu"):
        super().__init__()
        if activation not in ("relu", "gelu"):
            raise ValueError(activation)
        self.act = F.relu if activation == "relu" else F.gelu
        self.self_attn = nn.MultiheadAttention(d_model, nhead, batch_first=True)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model, eps=1e-6)
        self.norm2 = nn.LayerNorm(d_model, eps=1e-6)

    def forward(self, src, src_key_padding_mask=None):
        a = self.self_attn(src, src, src, key_padding_mask=src_key_padding_mask,
                           need_weights=False)[0]
        x = self.norm1(src + a)
        return self.norm2(x + self.linear2(self.act(self.linear1(x))))
''',
        "dropout 0.1 kept in training mode": _BLOCK_INIT + '''
    def forward(self, src, src_key_padding_mask=None):
        a = self.self_attn(src, src, src, key_padding_mask=src_key_padding_mask,
                           need_weights=False)[0]
        x = self.norm1(src + F.dropout(a, 0.1, self.training))
        ff = self.linear2(self.act(self.linear1(x)))
        return self.norm2(x + F.dropout(ff, 0.1, self.training))
''',
        "nn.MultiheadAttention without batch_first": '''
    def __init__(self, d_model, nhead, dim_feedforward, activation="relu"):
        super().__init__()
        if activation not in ("relu", "gelu"):
            raise ValueError(activation)
        self.act = F.relu if activation == "relu" else F.gelu
        self.self_attn = nn.MultiheadAttention(d_model, nhead)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)

    def forward(self, src, src_key_padding_mask=None):
        a = self.self_attn(src, src, src, key_padding_mask=src_key_padding_mask,
                           need_weights=False)[0]
        x = self.norm1(src + a)
        return self.norm2(x + self.linear2(self.act(self.linear1(x))))
''',
        "subclasses nn.TransformerEncoderLayer": '''
class TransformerBlock(nn.TransformerEncoderLayer):
    def __init__(self, d_model, nhead, dim_feedforward, activation="relu"):
        if activation not in ("relu", "gelu"):
            raise ValueError(activation)
        super().__init__(d_model, nhead, dim_feedforward, dropout=0.0,
                         activation=activation, batch_first=True)
''',
        "no ValueError for an unknown activation": '''
    def __init__(self, d_model, nhead, dim_feedforward, activation="relu"):
        super().__init__()
        self.act = F.gelu if activation == "gelu" else F.relu
        self.self_attn = nn.MultiheadAttention(d_model, nhead, batch_first=True)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)

    def forward(self, src, src_key_padding_mask=None):
        a = self.self_attn(src, src, src, key_padding_mask=src_key_padding_mask,
                           need_weights=False)[0]
        x = self.norm1(src + a)
        return self.norm2(x + self.linear2(self.act(self.linear1(x))))
''',
    },
}

RIGHT = {
    "ch11-attention-weights": {
        "einsum, a stable softmax by hand and torch.where": '''
def attention_weights(q, k, mask=None):
    scores = torch.einsum("...le,...se->...ls", q, k) * q.shape[-1] ** -0.5
    if mask is not None:
        if mask.dtype == torch.bool:
            scores = torch.where(mask, scores, torch.tensor(-math.inf,
                                                            dtype=q.dtype,
                                                            device=q.device))
        else:
            scores = scores + mask
    top = scores.amax(dim=-1, keepdim=True)
    finite_top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
    e = torch.exp(scores - finite_top)
    total = e.sum(dim=-1, keepdim=True)
    return torch.where(total > 0, e / torch.where(total > 0, total, 1), 0.0)
''',
        "finfo.min, then zero the rows with no kept key": '''
def attention_weights(q, k, mask=None):
    scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(q.size(-1))
    if mask is None:
        return scores.softmax(dim=-1)
    if mask.dtype == torch.bool:
        kept = mask
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    else:
        kept = mask != -math.inf
        scores = (scores + mask).clamp(min=torch.finfo(scores.dtype).min)
    any_kept = kept.expand(scores.shape).any(dim=-1, keepdim=True)
    return scores.softmax(dim=-1) * any_kept
''',
        "computed in float32 for float16 inputs, cast back": '''
def attention_weights(q, k, mask=None):
    work = torch.float32 if q.dtype in (torch.float16, torch.bfloat16) else q.dtype
    scores = (q.to(work) @ k.to(work).mT) / math.sqrt(q.shape[-1])
    if mask is not None and mask.dtype == torch.bool:
        scores = scores.masked_fill(mask.logical_not(), float("-inf"))
    elif mask is not None:
        scores = scores + mask.to(work)
    weights = torch.nan_to_num(torch.exp(torch.log_softmax(scores, dim=-1)), nan=0.0)
    return weights.to(q.dtype)
''',
    },
    "ch11-scaled-dot-product-attention": {
        "calls attention_weights (the hint)": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    return torch.matmul(attention_weights(q, k, mask), v)
''',
        "standalone, with an explicit zero for empty rows": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scale = 1.0 / math.sqrt(q.shape[-1])
    scores = torch.einsum("...le,...se->...ls", q * scale, k)
    if mask is not None and mask.dtype == torch.bool:
        scores = scores.masked_fill(~mask, float("-inf"))
    elif mask is not None:
        scores = scores + mask
    empty = torch.isneginf(scores).all(dim=-1, keepdim=True)
    weights = torch.softmax(scores.masked_fill(empty, 0.0), dim=-1)
    weights = weights.masked_fill(empty, 0.0)
    return torch.einsum("...ls,...sv->...lv", weights, v)
''',
    },
    "ch11-multi-head-attention": {
        "per-head loop with slices of in_proj_weight": _MHA_INIT + '''
    def forward(self, query, key, value, key_padding_mask=None, need_weights=True):
        e = query.shape[-1]
        d = e // self.num_heads
        outs, maps = [], []
        keep = None if key_padding_mask is None else ~key_padding_mask[:, None, :]
        for i in range(self.num_heads):
            rows = slice(i * d, (i + 1) * d)
            q = query @ self.in_proj_weight[:e][rows].T + self.in_proj_bias[:e][rows]
            k = (key @ self.in_proj_weight[e:2 * e][rows].T
                 + self.in_proj_bias[e:2 * e][rows])
            v = (value @ self.in_proj_weight[2 * e:][rows].T
                 + self.in_proj_bias[2 * e:][rows])
            w = attention_weights(q, k, keep)  # (N, L, S)
            outs.append(w @ v)
            maps.append(w)
        out = self.out_proj(torch.cat(outs, dim=-1))
        return out, (sum(maps) / self.num_heads if need_weights else None)
''',
        "packed projection, einsum and scaled_dot_product_attention": _MHA_INIT + '''
    def forward(self, query, key, value, key_padding_mask=None, need_weights=True):
        n, length, e = query.shape
        h = self.num_heads
        w = self.in_proj_weight.view(3, h, e // h, e)
        b = self.in_proj_bias.view(3, h, 1, e // h)
        q = torch.einsum("nle,hde->nhld", query, w[0]) + b[0]
        k = torch.einsum("nse,hde->nhsd", key, w[1]) + b[1]
        v = torch.einsum("nse,hde->nhsd", value, w[2]) + b[2]
        mask = None
        if key_padding_mask is not None:
            mask = torch.zeros(key_padding_mask.shape, dtype=query.dtype,
                               device=query.device)
            mask = mask.masked_fill(key_padding_mask, float("-inf"))[:, None, None]
        out = scaled_dot_product_attention(q, k, v, mask)  # (N, h, L, d)
        out = self.out_proj(out.permute(0, 2, 1, 3).reshape(n, length, e))
        if not need_weights:
            return out, None
        return out, attention_weights(q, k, mask).mean(dim=1)
''',
    },
    "ch11-positional-encoding": {
        "Python's math, then a tensor of the requested dtype": '''
def positional_encoding(max_len, d_model, dtype=torch.float32, device=None):
    rows = []
    for p in range(max_len):
        row = []
        for j in range(d_model):
            angle = p / 10000 ** (2 * (j // 2) / d_model)
            row.append(math.sin(angle) if j % 2 == 0 else math.cos(angle))
        rows.append(row)
    return torch.tensor(rows, dtype=dtype, device=device).reshape(max_len, d_model)
''',
        "the seed's layout, fixed for an odd d_model": '''
def positional_encoding(max_len, d_model, dtype=torch.float32, device=None):
    pe = torch.zeros(max_len, d_model, dtype=dtype, device=device)
    position = torch.arange(max_len, device=device).to(dtype).unsqueeze(1)
    div_term = torch.pow(torch.tensor(10000.0, dtype=dtype, device=device),
                         -torch.arange(0, d_model, 2, device=device).to(dtype)
                         / d_model)
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term[:d_model // 2])
    return pe
''',
    },
    "ch11-transformer-block": {
        "nn.MultiheadAttention and nn.GELU / nn.ReLU modules": '''
    def __init__(self, d_model, nhead, dim_feedforward, activation="relu"):
        super().__init__()
        acts = {"relu": nn.ReLU, "gelu": nn.GELU}
        if activation not in acts:
            raise ValueError(f"unknown activation {activation}")
        self.self_attn = nn.MultiheadAttention(d_model, nhead, batch_first=True)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.act = acts[activation]()
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)

    def forward(self, src, src_key_padding_mask=None):
        attended = self.self_attn(src, src, src,
                                  key_padding_mask=src_key_padding_mask)[0]
        x = self.norm1(attended + src)
        return self.norm2(self.linear2(self.act(self.linear1(x))) + x)
''',
        "your MultiHeadAttention and layer norms written out": '''
    def __init__(self, d_model, nhead, dim_feedforward, activation="relu"):
        super().__init__()
        if activation == "relu":
            self.gelu = False
        elif activation == "gelu":
            self.gelu = True
        else:
            raise ValueError(activation)
        self.self_attn = MultiHeadAttention(d_model, nhead)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)

    @staticmethod
    def _norm(x, ln):
        mean = x.mean(dim=-1, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
        return (x - mean) / torch.sqrt(var + 1e-5) * ln.weight + ln.bias

    def forward(self, src, src_key_padding_mask=None):
        out, _ = self.self_attn(src, src, src, key_padding_mask=src_key_padding_mask)
        x = self._norm(src + out, self.norm1)
        hidden = self.linear1(x)
        if self.gelu:
            hidden = 0.5 * hidden * (1 + torch.erf(hidden / math.sqrt(2)))
        else:
            hidden = hidden.clamp(min=0)
        return self._norm(x + self.linear2(hidden), self.norm2)
''',
    },
}


def _as_class(name, source):
    """Module answers: put the class line before the methods above."""
    if source.lstrip().startswith("class "):
        return source
    return f"\nclass {name}(nn.Module):" + source


for _table in (WRONG, RIGHT):
    for _answer_id, _name in (("ch11-multi-head-attention", "MultiHeadAttention"),
                              ("ch11-transformer-block", "TransformerBlock")):
        _table[_answer_id] = {description: _as_class(_name, source)
                              for description, source in _table[_answer_id].items()}
