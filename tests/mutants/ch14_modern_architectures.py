"""ch14: planted wrong answers (must lose points) and right answers written
differently (must pass)."""

_VIT_INIT = '''
    def __init__(self, image_size, patch_size, in_channels, num_classes, dim,
                 depth, heads, mlp_dim, norm_first=True, dropout=0.0):
        super().__init__()
        if image_size % patch_size:
            raise ValueError("patch size does not divide the image size")
        self.patch_size = patch_size
        num_patches = (image_size // patch_size) ** 2
        self.patch_embedding = nn.Linear(in_channels * patch_size**2, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embedding = nn.Parameter(0.02 * torch.randn(1, 1 + num_patches, dim))
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(dim, heads, mlp_dim, dropout=dropout,
                                       activation="gelu", batch_first=True,
                                       norm_first=norm_first)
            for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)
'''


_STD_FORWARD = '''
    def forward(self, x):
        tokens = self.patch_embedding(patchify(x, self.patch_size))
        z = torch.cat([self.cls_token.expand(len(x), -1, -1), tokens], dim=1)
        z = z + self.pos_embedding
        for block in self.blocks:
            z = block(z)
        return self.head(self.norm(z[:, 0]))
'''


def _vit(forward, init=_VIT_INIT):
    return "class VisionTransformer(nn.Module):" + init + forward


_INVERTED_INIT = '''
    def __init__(self, in_channels, out_channels, stride, expand_ratio):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError("stride must be 1 or 2")
        hidden = in_channels * expand_ratio
        layers = []
        if expand_ratio != 1:
            layers += [nn.Conv2d(in_channels, hidden, 1, bias=False),
                       nn.BatchNorm2d(hidden), nn.ReLU6()]
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
                   nn.BatchNorm2d(hidden), nn.ReLU6(),
                   nn.Conv2d(hidden, out_channels, 1, bias=False),
                   nn.BatchNorm2d(out_channels)]
        self.layers = nn.Sequential(*layers)
        self.stride, self.c_in, self.c_out = stride, in_channels, out_channels
'''

WRONG = {
    "ch14-patchify": {
        "the seed guide's unfold().view: channels of 3 patches in one token": '''
def patchify(images, patch_size):
    n, c, h, w = images.shape
    if h % patch_size or w % patch_size:
        raise ValueError("patch size does not divide the image")
    p = patch_size
    x = images.unfold(2, p, p).unfold(3, p, p)
    return x.contiguous().view(n, -1, c * p * p)
''',
        "column-major patch order (grid transposed)": '''
def patchify(images, patch_size):
    n, c, h, w = images.shape
    if h % patch_size or w % patch_size:
        raise ValueError("patch size does not divide the image")
    p = patch_size
    x = images.reshape(n, c, h // p, p, w // p, p).permute(0, 4, 2, 1, 3, 5)
    return x.reshape(n, -1, c * p * p)
''',
        "(p, p, C) order inside a patch (channels last)": '''
def patchify(images, patch_size):
    n, c, h, w = images.shape
    if h % patch_size or w % patch_size:
        raise ValueError("patch size does not divide the image")
    p = patch_size
    x = images.reshape(n, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1)
    return x.reshape(n, -1, c * p * p)
''',
        "pixel rows and columns swapped inside a patch": '''
def patchify(images, patch_size):
    n, c, h, w = images.shape
    if h % patch_size or w % patch_size:
        raise ValueError("patch size does not divide the image")
    p = patch_size
    x = images.reshape(n, c, h // p, p, w // p, p).permute(0, 2, 4, 1, 5, 3)
    return x.reshape(n, -1, c * p * p)
''',
        "view merging N and C: fails on a non-contiguous input": '''
def patchify(images, patch_size):
    n, c, h, w = images.shape
    if h % patch_size or w % patch_size:
        raise ValueError("patch size does not divide the image")
    p = patch_size
    x = images.view(n * c, h // p, p, w // p, p).permute(0, 1, 3, 2, 4)
    x = x.reshape(n, c, h // p, w // p, p, p).permute(0, 2, 3, 1, 4, 5)
    return x.reshape(n, -1, c * p * p)
''',
        "no ValueError: unfold drops the pixels that do not fit": '''
def patchify(images, patch_size):
    p = patch_size
    n, c = images.shape[:2]
    x = images.unfold(2, p, p).unfold(3, p, p)  # (N, C, rows, cols, p, p)
    x = x.permute(0, 2, 3, 1, 4, 5)
    return x.reshape(n, -1, c * p * p)
''',
        "only checks that p divides H": '''
def patchify(images, patch_size):
    n, c, h, w = images.shape
    if h % patch_size:
        raise ValueError("patch size does not divide the height")
    p = patch_size
    x = images.unfold(2, p, p).unfold(3, p, p).permute(0, 2, 3, 1, 4, 5)
    return x.reshape(n, -1, c * p * p)
''',
        "computes in float32": '''
def patchify(images, patch_size):
    n, c, h, w = images.shape
    if h % patch_size or w % patch_size:
        raise ValueError("patch size does not divide the image")
    p = patch_size
    x = images.float().reshape(n, c, h // p, p, w // p, p).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(n, -1, c * p * p)
''',
    },
    "ch14-vision-transformer": {
        "mean pooling over all tokens instead of the class token": _vit('''
    def forward(self, x):
        tokens = self.patch_embedding(patchify(x, self.patch_size))
        z = torch.cat([self.cls_token.expand(len(x), -1, -1), tokens], dim=1)
        z = z + self.pos_embedding
        for block in self.blocks:
            z = block(z)
        return self.head(self.norm(z.mean(dim=1)))
'''),
        "reads the last token, not the class token": _vit('''
    def forward(self, x):
        tokens = self.patch_embedding(patchify(x, self.patch_size))
        z = torch.cat([self.cls_token.expand(len(x), -1, -1), tokens], dim=1)
        z = z + self.pos_embedding
        for block in self.blocks:
            z = block(z)
        return self.head(self.norm(z[:, -1]))
'''),
        "position embedding added to the patches only, not to the class token":
        _vit('''
    def forward(self, x):
        tokens = self.patch_embedding(patchify(x, self.patch_size))
        tokens = tokens + self.pos_embedding[:, 1:]
        z = torch.cat([self.cls_token.expand(len(x), -1, -1), tokens], dim=1)
        for block in self.blocks:
            z = block(z)
        return self.head(self.norm(z[:, 0]))
'''),
        "the seed guide's unfold().view patches (channels mixed)": _vit('''
    def forward(self, x):
        n, c = x.shape[:2]
        p = self.patch_size
        patches = x.unfold(2, p, p).unfold(3, p, p).contiguous().view(n, -1, c * p * p)
        tokens = self.patch_embedding(patches)
        z = torch.cat([self.cls_token.expand(n, -1, -1), tokens], dim=1)
        z = z + self.pos_embedding
        for block in self.blocks:
            z = block(z)
        return self.head(self.norm(z[:, 0]))
'''),
        "dropout 0.1 left in the blocks (training differs from evaluation)": _vit('''
    def forward(self, x):
        tokens = self.patch_embedding(patchify(x, self.patch_size))
        z = torch.cat([self.cls_token.expand(len(x), -1, -1), tokens], dim=1)
        z = z + self.pos_embedding
        for block in self.blocks:
            z = block(z)
        return self.head(self.norm(z[:, 0]))
''', _VIT_INIT.replace("depth, heads, mlp_dim, norm_first=True, dropout=0.0",
                       "depth, heads, mlp_dim, norm_first=True, dropout=0.1")),
        "no position embedding used in forward": _vit('''
    def forward(self, x):
        tokens = self.patch_embedding(patchify(x, self.patch_size))
        z = torch.cat([self.cls_token.expand(len(x), -1, -1), tokens], dim=1)
        for block in self.blocks:
            z = block(z)
        return self.head(self.norm(z[:, 0]))
'''),
        "no final LayerNorm (2D parameters short)": _vit('''
    def forward(self, x):
        tokens = self.patch_embedding(patchify(x, self.patch_size))
        z = torch.cat([self.cls_token.expand(len(x), -1, -1), tokens], dim=1)
        z = z + self.pos_embedding
        for block in self.blocks:
            z = block(z)
        return self.head(z[:, 0])
''', _VIT_INIT.replace("        self.norm = nn.LayerNorm(dim)\n", "")),
        "final LayerNorm created but not applied": _vit('''
    def forward(self, x):
        tokens = self.patch_embedding(patchify(x, self.patch_size))
        z = torch.cat([self.cls_token.expand(len(x), -1, -1), tokens], dim=1)
        z = z + self.pos_embedding
        for block in self.blocks:
            z = block(z)
        return self.head(z[:, 0])
'''),
        "position embedding without a row for the class token": _vit('''
    def forward(self, x):
        tokens = self.patch_embedding(patchify(x, self.patch_size))
        tokens = tokens + self.pos_embedding
        z = torch.cat([self.cls_token.expand(len(x), -1, -1), tokens], dim=1)
        for block in self.blocks:
            z = block(z)
        return self.head(self.norm(z[:, 0]))
''', _VIT_INIT.replace("torch.randn(1, 1 + num_patches, dim)",
                       "torch.randn(1, num_patches, dim)")),
        "MLP hidden size 4 * dim instead of mlp_dim": _vit('''
    def forward(self, x):
        tokens = self.patch_embedding(patchify(x, self.patch_size))
        z = torch.cat([self.cls_token.expand(len(x), -1, -1), tokens], dim=1)
        z = z + self.pos_embedding
        for block in self.blocks:
            z = block(z)
        return self.head(self.norm(z[:, 0]))
''', _VIT_INIT.replace("nn.TransformerEncoderLayer(dim, heads, mlp_dim,",
                       "nn.TransformerEncoderLayer(dim, heads, 4 * dim,")),
        "no ValueError when the patch size does not divide the image": _vit('''
    def forward(self, x):
        tokens = self.patch_embedding(patchify(x, self.patch_size))
        z = torch.cat([self.cls_token.expand(len(x), -1, -1), tokens], dim=1)
        z = z + self.pos_embedding
        for block in self.blocks:
            z = block(z)
        return self.head(self.norm(z[:, 0]))
''', _VIT_INIT.replace('''        if image_size % patch_size:
            raise ValueError("patch size does not divide the image size")
''', "")),
        "post-norm blocks (LayerNorm after the residual add)": _vit(_STD_FORWARD,
            _VIT_INIT.replace("norm_first=True, dropout=0.0",
                              "norm_first=False, dropout=0.0")),
        "ReLU instead of GELU in the MLP": _vit(_STD_FORWARD, _VIT_INIT.replace(
            'activation="gelu"', 'activation="relu"')),
        "class token appended after the patches, read from the last position":
        _vit('''
    def forward(self, x):
        tokens = self.patch_embedding(patchify(x, self.patch_size))
        z = torch.cat([tokens, self.cls_token.expand(len(x), -1, -1)], dim=1)
        z = z + self.pos_embedding
        for block in self.blocks:
            z = block(z)
        return self.head(self.norm(z[:, -1]))
'''),
        "pos_embedding[:, :P] added to the patches before the class token is put "
        "in front": _vit('''
    def forward(self, x):
        tokens = self.patch_embedding(patchify(x, self.patch_size))
        tokens = tokens + self.pos_embedding[:, :tokens.shape[1]]
        z = torch.cat([self.cls_token.expand(len(x), -1, -1), tokens], dim=1)
        for block in self.blocks:
            z = block(z)
        return self.head(self.norm(z[:, 0]))
'''),
        "dropout on the embeddings active in every mode": _vit('''
    def forward(self, x):
        tokens = self.patch_embedding(patchify(x, self.patch_size))
        z = torch.cat([self.cls_token.expand(len(x), -1, -1), tokens], dim=1)
        z = F.dropout(z + self.pos_embedding, 0.1, training=True)
        for block in self.blocks:
            z = block(z)
        return self.head(self.norm(z[:, 0]))
'''),
        "own blocks: the MLP reads the stream without LN2": _vit('''
    def forward(self, x):
        tokens = self.patch_embedding(patchify(x, self.patch_size))
        z = torch.cat([self.cls_token.expand(len(x), -1, -1), tokens], dim=1)
        z = z + self.pos_embedding
        for block in self.blocks:
            h = block.norm1(z)
            z = z + block.self_attn(h, h, h, need_weights=False)[0]
            z = z + block.linear2(F.gelu(block.linear1(z)))
        return self.head(self.norm(z[:, 0]))
'''),
        "own blocks: no residual around the attention": _vit('''
    def forward(self, x):
        tokens = self.patch_embedding(patchify(x, self.patch_size))
        z = torch.cat([self.cls_token.expand(len(x), -1, -1), tokens], dim=1)
        z = z + self.pos_embedding
        for block in self.blocks:
            h = block.norm1(z)
            z = block.self_attn(h, h, h, need_weights=False)[0]
            z = z + block.linear2(F.gelu(block.linear1(block.norm2(z))))
        return self.head(self.norm(z[:, 0]))
'''),
        "own blocks: one LayerNorm (norm1) used for both sub-layers": _vit('''
    def forward(self, x):
        tokens = self.patch_embedding(patchify(x, self.patch_size))
        z = torch.cat([self.cls_token.expand(len(x), -1, -1), tokens], dim=1)
        z = z + self.pos_embedding
        for block in self.blocks:
            h = block.norm1(z)
            z = z + block.self_attn(h, h, h, need_weights=False)[0]
            z = z + block.linear2(F.gelu(block.linear1(block.norm1(z))))
        return self.head(self.norm(z[:, 0]))
'''),
        "class token as a buffer of zeros (not learned)": _vit('''
    def forward(self, x):
        tokens = self.patch_embedding(patchify(x, self.patch_size))
        z = torch.cat([self.cls_token.expand(len(x), -1, -1), tokens], dim=1)
        z = z + self.pos_embedding
        for block in self.blocks:
            z = block(z)
        return self.head(self.norm(z[:, 0]))
''', _VIT_INIT.replace("self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))",
                       "self.register_buffer('cls_token', torch.zeros(1, 1, dim))")),
    },
    "ch14-depthwise-separable-params": {
        "the standard convolution's count k^2 C_in C_out": '''
def depthwise_separable_params(k, c_in, c_out, bias=False):
    if min(k, c_in, c_out) < 1:
        raise ValueError("sizes must be >= 1")
    return k * k * c_in * c_out + (c_out if bias else 0)
''',
        "k instead of k^2 in the depthwise part": '''
def depthwise_separable_params(k, c_in, c_out, bias=False):
    if min(k, c_in, c_out) < 1:
        raise ValueError("sizes must be >= 1")
    return k * c_in + c_in * c_out + (c_in + c_out if bias else 0)
''',
        "bias on the pointwise layer only": '''
def depthwise_separable_params(k, c_in, c_out, bias=False):
    if min(k, c_in, c_out) < 1:
        raise ValueError("sizes must be >= 1")
    return k * k * c_in + c_in * c_out + (c_out if bias else 0)
''',
        "ignores bias": '''
def depthwise_separable_params(k, c_in, c_out, bias=False):
    if min(k, c_in, c_out) < 1:
        raise ValueError("sizes must be >= 1")
    return k * k * c_in + c_in * c_out
''',
        "depthwise filters over all channels (k^2 C_in^2)": '''
def depthwise_separable_params(k, c_in, c_out, bias=False):
    if min(k, c_in, c_out) < 1:
        raise ValueError("sizes must be >= 1")
    return k * k * c_in * c_in + c_in * c_out + (c_in + c_out if bias else 0)
''',
        "returns a float": '''
def depthwise_separable_params(k, c_in, c_out, bias=False):
    if min(k, c_in, c_out) < 1:
        raise ValueError("sizes must be >= 1")
    return float(k**2 * c_in + c_in * c_out + (c_in + c_out if bias else 0))
''',
        "no ValueError for a size of 0": '''
def depthwise_separable_params(k, c_in, c_out, bias=False):
    return k * k * c_in + c_in * c_out + (c_in + c_out if bias else 0)
''',
    },
    "ch14-inverted-residual": {
        "ReLU6 after the projection (no linear bottleneck)": '''
class InvertedResidual(nn.Module):''' + _INVERTED_INIT + '''
    def forward(self, x):
        out = F.relu6(self.layers(x))
        if self.stride == 1 and self.c_in == self.c_out:
            out = x + out
        return out
''',
        "ReLU instead of ReLU6": '''
class InvertedResidual(nn.Module):''' + _INVERTED_INIT.replace(
            "nn.ReLU6()", "nn.ReLU()") + '''
    def forward(self, x):
        out = self.layers(x)
        if self.stride == 1 and self.c_in == self.c_out:
            out = x + out
        return out
''',
        "never a shortcut": '''
class InvertedResidual(nn.Module):''' + _INVERTED_INIT + '''
    def forward(self, x):
        return self.layers(x)
''',
        "a shortcut whenever the channels agree, even with stride 2": '''
class InvertedResidual(nn.Module):''' + _INVERTED_INIT + '''
    def forward(self, x):
        out = self.layers(x)
        if self.c_in == self.c_out:
            out = out + x[:, :, ::self.stride, ::self.stride]
        return out
''',
        "the stride on the 1x1 expansion instead of the depthwise convolution": '''
class InvertedResidual(nn.Module):''' + _INVERTED_INIT.replace(
            "nn.Conv2d(in_channels, hidden, 1, bias=False)",
            "nn.Conv2d(in_channels, hidden, 1, stride, bias=False)").replace(
            "nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False)",
            "nn.Conv2d(hidden, hidden, 3, 1 if expand_ratio != 1 else stride, 1, "
            "groups=hidden, bias=False)") + '''
    def forward(self, x):
        out = self.layers(x)
        if self.stride == 1 and self.c_in == self.c_out:
            out = x + out
        return out
''',
        "keeps the expansion layer when expand_ratio is 1": '''
class InvertedResidual(nn.Module):''' + _INVERTED_INIT.replace(
            "if expand_ratio != 1:", "if True:") + '''
    def forward(self, x):
        out = self.layers(x)
        if self.stride == 1 and self.c_in == self.c_out:
            out = x + out
        return out
''',
        "expands the output channels (C_out * t) instead of the input": '''
class InvertedResidual(nn.Module):''' + _INVERTED_INIT.replace(
            "hidden = in_channels * expand_ratio",
            "hidden = out_channels * expand_ratio") + '''
    def forward(self, x):
        out = self.layers(x)
        if self.stride == 1 and self.c_in == self.c_out:
            out = x + out
        return out
''',
        "no ValueError for stride 3": '''
class InvertedResidual(nn.Module):''' + _INVERTED_INIT.replace(
            "if stride not in (1, 2):", "if stride < 1:") + '''
    def forward(self, x):
        out = self.layers(x)
        if self.stride == 1 and self.c_in == self.c_out:
            out = x + out
        return out
''',
    },
    "ch14-compound-scaling": {
        "linear in phi (alpha * phi)": '''
def compound_scaling(phi, alpha, beta, gamma):
    if phi < 0 or min(alpha, beta, gamma) < 1:
        raise ValueError("bad arguments")
    return (1 + (alpha - 1) * phi, 1 + (beta - 1) * phi, 1 + (gamma - 1) * phi)
''',
        "order (width, depth, resolution)": '''
def compound_scaling(phi, alpha, beta, gamma):
    if phi < 0 or min(alpha, beta, gamma) < 1:
        raise ValueError("bad arguments")
    return (float(beta**phi), float(alpha**phi), float(gamma**phi))
''',
        "FLOPs exponents folded in: beta**(2 phi), gamma**(2 phi)": '''
def compound_scaling(phi, alpha, beta, gamma):
    if phi < 0 or min(alpha, beta, gamma) < 1:
        raise ValueError("bad arguments")
    return (float(alpha**phi), float(beta**(2 * phi)), float(gamma**(2 * phi)))
''',
        "returns a list of tensors": '''
def compound_scaling(phi, alpha, beta, gamma):
    if phi < 0 or min(alpha, beta, gamma) < 1:
        raise ValueError("bad arguments")
    bases = torch.tensor([alpha, beta, gamma], dtype=torch.float64)
    return list(bases**phi)
''',
        "no ValueError for a base below 1": '''
def compound_scaling(phi, alpha, beta, gamma):
    if phi < 0:
        raise ValueError("phi must be >= 0")
    return (float(alpha**phi), float(beta**phi), float(gamma**phi))
''',
        "no ValueError for a negative phi": '''
def compound_scaling(phi, alpha, beta, gamma):
    if min(alpha, beta, gamma) < 1:
        raise ValueError("bases must be >= 1")
    return (float(alpha**phi), float(beta**phi), float(gamma**phi))
''',
    },
}

RIGHT = {
    "ch14-patchify": {
        "F.unfold (im2col), then transpose": '''
def patchify(images, patch_size):
    h, w = images.shape[-2:]
    if h % patch_size != 0 or w % patch_size != 0:
        raise ValueError(f"{patch_size} does not divide {h} x {w}")
    columns = F.unfold(images, kernel_size=patch_size, stride=patch_size)
    return columns.transpose(1, 2)  # (N, C p p, P) -> (N, P, C p p)
''',
        "Tensor.unfold with the grid axes moved first": '''
def patchify(images, patch_size):
    n, c, h, w = images.shape
    p = patch_size
    if h % p or w % p:
        raise ValueError("the patch size must divide the image size")
    windows = images.unfold(2, p, p).unfold(3, p, p)  # (N, C, rows, cols, p, p)
    return windows.permute(0, 2, 3, 1, 4, 5).flatten(3).flatten(1, 2)
''',
        "a loop over the grid with slicing": '''
def patchify(images, patch_size):
    n, c, h, w = images.shape
    p = patch_size
    if h % p or w % p:
        raise ValueError("the patch size must divide the image size")
    patches = []
    for row in range(h // p):
        for col in range(w // p):
            block = images[:, :, row * p:(row + 1) * p, col * p:(col + 1) * p]
            patches.append(block.reshape(n, -1))
    return torch.stack(patches, dim=1)
''',
        "an identity convolution (one-hot filters)": '''
def patchify(images, patch_size):
    n, c, h, w = images.shape
    p = patch_size
    if h % p or w % p:
        raise ValueError("the patch size must divide the image size")
    eye = torch.eye(c * p * p, dtype=images.dtype, device=images.device)
    out = F.conv2d(images, eye.reshape(c * p * p, c, p, p), stride=p)
    return out.flatten(2).transpose(1, 2)
''',
    },
    "ch14-vision-transformer": {
        "own pre-norm blocks with nn.MultiheadAttention and a Conv2d embedding": '''
class _Block(nn.Module):
    def __init__(self, dim, heads, mlp_dim):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_dim), nn.GELU(),
                                 nn.Linear(mlp_dim, dim))

    def forward(self, z):
        h = self.ln1(z)
        z = z + self.attn(h, h, h, need_weights=False)[0]
        return z + self.mlp(self.ln2(z))


class VisionTransformer(nn.Module):
    def __init__(self, image_size, patch_size, in_channels, num_classes, dim,
                 depth, heads, mlp_dim):
        super().__init__()
        if image_size % patch_size != 0:
            raise ValueError("image_size must be a multiple of patch_size")
        self.embed = nn.Conv2d(in_channels, dim, patch_size, stride=patch_size)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        grid = image_size // patch_size
        self.pos_embedding = nn.Parameter(torch.randn(1, grid * grid + 1, dim) * 0.02)
        self.layers = nn.Sequential(*[_Block(dim, heads, mlp_dim)
                                      for _ in range(depth)])
        self.final_norm = nn.LayerNorm(dim)
        self.classifier = nn.Linear(dim, num_classes)

    def forward(self, x):
        tokens = self.embed(x).flatten(2).transpose(1, 2)  # (N, P, D)
        cls = self.cls_token.expand(x.shape[0], 1, -1)
        z = torch.cat((cls, tokens), dim=1) + self.pos_embedding
        z = self.layers(z)
        return self.classifier(self.final_norm(z[:, 0, :]))
''',
        "hand-written attention (own q, k, v layers), tanh GELU, loops over heads":
        '''
class _Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v = (nn.Linear(dim, dim) for _ in range(3))
        self.out = nn.Linear(dim, dim)

    def forward(self, z):
        n, t, dim = z.shape
        size = dim // self.heads
        q, k, v = self.q(z), self.k(z), self.v(z)
        outs = []
        for h in range(self.heads):
            part = slice(h * size, (h + 1) * size)
            scores = q[..., part] @ k[..., part].transpose(1, 2) / math.sqrt(size)
            weights = torch.exp(scores - scores.amax(dim=-1, keepdim=True))
            weights = weights / weights.sum(dim=-1, keepdim=True)
            outs.append(weights @ v[..., part])
        return self.out(torch.cat(outs, dim=-1))


class _Block(nn.Module):
    def __init__(self, dim, heads, mlp_dim):
        super().__init__()
        self.norm_a, self.norm_b = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attention = _Attention(dim, heads)
        self.fc1, self.fc2 = nn.Linear(dim, mlp_dim), nn.Linear(mlp_dim, dim)

    def forward(self, z):
        z = z + self.attention(self.norm_a(z))
        hidden = F.gelu(self.fc1(self.norm_b(z)), approximate="tanh")
        return z + self.fc2(hidden)


class VisionTransformer(nn.Module):
    def __init__(self, image_size, patch_size, in_channels, num_classes, dim,
                 depth, heads, mlp_dim):
        super().__init__()
        side, rest = divmod(image_size, patch_size)
        if rest:
            raise ValueError(f"{patch_size} does not divide {image_size}")
        self.p = patch_size
        self.embed = nn.Linear(in_channels * patch_size * patch_size, dim)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim))
        self.pos_embedding = nn.Parameter(torch.randn(1, 1 + side * side, dim))
        self.blocks = nn.ModuleList([_Block(dim, heads, mlp_dim)
                                     for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.fc = nn.Linear(dim, num_classes)

    def forward(self, x):
        n = x.shape[0]
        z = torch.cat([self.cls_token.repeat(n, 1, 1),
                       self.embed(patchify(x, self.p))], dim=1)
        z = z + self.pos_embedding
        for block in self.blocks:
            z = block(z)
        z = self.norm(z)  # every token normalised, then the class token read
        return self.fc(z)[:, 0]
''',
        "nn.TransformerEncoder with the final LayerNorm as its norm": '''
class VisionTransformer(nn.Module):
    def __init__(self, image_size, patch_size, in_channels, num_classes, dim,
                 depth, heads, mlp_dim):
        super().__init__()
        if image_size % patch_size:
            raise ValueError("bad patch size")
        self.p = patch_size
        self.proj = nn.Linear(in_channels * patch_size * patch_size, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        n = (image_size // patch_size) ** 2
        self.pos_embedding = nn.Parameter(torch.zeros(1, n + 1, dim))
        nn.init.trunc_normal_(self.pos_embedding, std=0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, mlp_dim, dropout=0.0,
                                           activation=F.gelu, batch_first=True,
                                           norm_first=True)
        if depth > 0:
            self.encoder = nn.TransformerEncoder(layer, depth,
                                                 norm=nn.LayerNorm(dim),
                                                 enable_nested_tensor=False)
        else:  # TransformerEncoder refuses 0 layers
            self.encoder = nn.Sequential(nn.LayerNorm(dim))
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x):
        z = self.proj(patchify(x, self.p))
        z = torch.cat([self.cls_token.repeat(len(z), 1, 1), z], 1)
        z = self.encoder(z + self.pos_embedding)
        return self.head(z[:, 0])
''',
    },
    "ch14-depthwise-separable-params": {
        "sums the two layers' counts": '''
def depthwise_separable_params(k, c_in, c_out, bias=False):
    if k < 1 or c_in < 1 or c_out < 1:
        raise ValueError("k, c_in and c_out must be positive")
    depthwise = c_in * (k * k + (1 if bias else 0))
    pointwise = c_out * (c_in + (1 if bias else 0))
    return int(depthwise + pointwise)
''',
    },
    "ch14-inverted-residual": {
        "named layers and F.relu6": '''
class InvertedResidual(nn.Module):
    def __init__(self, in_channels, out_channels, stride, expand_ratio):
        super().__init__()
        if stride != 1 and stride != 2:
            raise ValueError(f"stride {stride}")
        e = in_channels * expand_ratio
        self.expand = expand_ratio != 1
        if self.expand:
            self.conv1 = nn.Conv2d(in_channels, e, kernel_size=1, bias=False)
            self.bn1 = nn.BatchNorm2d(e)
        self.dw = nn.Conv2d(e, e, kernel_size=3, stride=stride, padding=1, groups=e,
                            bias=False)
        self.bn2 = nn.BatchNorm2d(e)
        self.pw = nn.Conv2d(e, out_channels, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x):
        h = F.relu6(self.bn1(self.conv1(x))) if self.expand else x
        h = torch.clamp(self.bn2(self.dw(h)), 0, 6)
        h = self.bn3(self.pw(h))
        if self.residual:
            h = h + x
        return h
''',
    },
    "ch14-compound-scaling": {
        "exp and log": '''
def compound_scaling(phi, alpha, beta, gamma):
    if phi < 0:
        raise ValueError("phi < 0")
    for base in (alpha, beta, gamma):
        if base < 1:
            raise ValueError("a base is below 1")
    return tuple(math.exp(phi * math.log(b)) for b in (alpha, beta, gamma))
''',
        "math.pow": '''
def compound_scaling(phi, alpha, beta, gamma):
    if phi < 0 or alpha < 1 or beta < 1 or gamma < 1:
        raise ValueError("need phi >= 0 and bases >= 1")
    d = math.pow(alpha, phi)
    w = math.pow(beta, phi)
    r = math.pow(gamma, phi)
    return d, w, r
''',
    },
}
