"""ch12: planted wrong answers (must lose points) and right answers written
differently (must pass)."""

_BN_HEAD = '''
def batch_norm_train(x, gamma, beta, running_mean, running_var, momentum=0.1,
                     eps=1e-5):
    C = x.shape[1]
    M = x.numel() // C
    if M < 2:
        raise ValueError("need more than one value per channel")
    dims = [d for d in range(x.dim()) if d != 1]
    shape = [1, C] + [1] * (x.dim() - 2)
'''

_DROPBLOCK_INIT = '''
class DropBlock2d(nn.Module):
    def __init__(self, drop_prob, block_size):
        super().__init__()
        if not 0 <= drop_prob < 1 or block_size < 1:
            raise ValueError("bad arguments")
        self.drop_prob = drop_prob
        self.block_size = block_size
'''

_DROPBLOCK_CORNERS = '''
    def forward(self, x):
        if not self.training or self.drop_prob == 0:
            return x
        n, c, h, w = x.shape
        k = self.block_size
        if k > h or k > w:
            raise ValueError("block too large")
        gamma = self.drop_prob / k**2 * h * w / ((h - k + 1) * (w - k + 1))
'''

WRONG = {
    "ch12-batch-norm-train": {
        "running variance updated with the biased variance": _BN_HEAD + '''
    mean = x.mean(dim=dims, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
    y = (x - mean) / torch.sqrt(var + eps) * gamma.reshape(shape) + beta.reshape(shape)
    new_mean = (1 - momentum) * running_mean + momentum * mean.reshape(C)
    new_var = (1 - momentum) * running_var + momentum * var.reshape(C)
    return y, new_mean.detach(), new_var.detach()
''',
        "normalises with the unbiased variance": _BN_HEAD + '''
    mean = x.mean(dim=dims, keepdim=True)
    var = ((x - mean) ** 2).sum(dim=dims, keepdim=True) / (M - 1)
    y = (x - mean) / torch.sqrt(var + eps) * gamma.reshape(shape) + beta.reshape(shape)
    new_mean = (1 - momentum) * running_mean + momentum * mean.reshape(C)
    new_var = (1 - momentum) * running_var + momentum * var.reshape(C)
    return y, new_mean.detach(), new_var.detach()
''',
        "eps outside the square root": _BN_HEAD + '''
    mean = x.mean(dim=dims, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
    scale = gamma.reshape(shape) / (torch.sqrt(var) + eps)
    y = (x - mean) * scale + beta.reshape(shape)
    new_mean = (1 - momentum) * running_mean + momentum * mean.reshape(C)
    new_var = (1 - momentum) * running_var + momentum * var.reshape(C) * M / (M - 1)
    return y, new_mean.detach(), new_var.detach()
''',
        "statistics over dim 0 only (ignores the spatial dims)": _BN_HEAD + '''
    mean = x.mean(dim=0, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=0, keepdim=True)
    y = (x - mean) / torch.sqrt(var + eps) * gamma.reshape(shape) + beta.reshape(shape)
    n = x.shape[0]
    bm = mean.reshape(C, -1).mean(dim=1)
    bv = var.reshape(C, -1).mean(dim=1) * n / max(n - 1, 1)
    new_mean = (1 - momentum) * running_mean + momentum * bm
    new_var = (1 - momentum) * running_var + momentum * bv
    return y, new_mean.detach(), new_var.detach()
''',
        "Keras momentum convention (weight m on the old value)": _BN_HEAD + '''
    mean = x.mean(dim=dims, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
    y = (x - mean) / torch.sqrt(var + eps) * gamma.reshape(shape) + beta.reshape(shape)
    new_mean = momentum * running_mean + (1 - momentum) * mean.reshape(C)
    new_var = momentum * running_var + (1 - momentum) * var.reshape(C) * M / (M - 1)
    return y, new_mean.detach(), new_var.detach()
''',
        "Bessel factor N / (N - 1) instead of M / (M - 1)": _BN_HEAD + '''
    mean = x.mean(dim=dims, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
    y = (x - mean) / torch.sqrt(var + eps) * gamma.reshape(shape) + beta.reshape(shape)
    n = x.shape[0]
    factor = n / (n - 1) if n > 1 else M / (M - 1)
    new_mean = (1 - momentum) * running_mean + momentum * mean.reshape(C)
    new_var = (1 - momentum) * running_var + momentum * var.reshape(C) * factor
    return y, new_mean.detach(), new_var.detach()
''',
        "batch statistics detached (wrong gradients)": _BN_HEAD + '''
    mean = x.mean(dim=dims, keepdim=True).detach()
    var = ((x - mean) ** 2).mean(dim=dims, keepdim=True).detach()
    y = (x - mean) / torch.sqrt(var + eps) * gamma.reshape(shape) + beta.reshape(shape)
    new_mean = (1 - momentum) * running_mean + momentum * mean.reshape(C)
    new_var = (1 - momentum) * running_var + momentum * var.reshape(C) * M / (M - 1)
    return y, new_mean, new_var
''',
        "updates the running statistics in place (like F.batch_norm)": _BN_HEAD + '''
    mean = x.mean(dim=dims, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
    y = (x - mean) / torch.sqrt(var + eps) * gamma.reshape(shape) + beta.reshape(shape)
    with torch.no_grad():
        running_mean.mul_(1 - momentum).add_(momentum * mean.reshape(C))
        running_var.mul_(1 - momentum).add_(momentum * var.reshape(C) * M / (M - 1))
    return y, running_mean, running_var
''',
        "calls the forbidden F.batch_norm on copies": '''
def batch_norm_train(x, gamma, beta, running_mean, running_var, momentum=0.1,
                     eps=1e-5):
    rm, rv = running_mean.clone(), running_var.clone()
    y = F.batch_norm(x, rm, rv, gamma, beta, training=True, momentum=momentum,
                     eps=eps)
    return y, rm, rv
''',
        "no ValueError for one value per channel (returns inf/nan)": '''
def batch_norm_train(x, gamma, beta, running_mean, running_var, momentum=0.1,
                     eps=1e-5):
    C = x.shape[1]
    M = x.numel() // C
    dims = [d for d in range(x.dim()) if d != 1]
    shape = [1, C] + [1] * (x.dim() - 2)
    mean = x.mean(dim=dims, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
    y = (x - mean) / torch.sqrt(var + eps) * gamma.reshape(shape) + beta.reshape(shape)
    unbiased = var.reshape(C) * M / torch.tensor(M - 1.0)
    new_mean = (1 - momentum) * running_mean + momentum * mean.reshape(C)
    new_var = (1 - momentum) * running_var + momentum * unbiased
    return y, new_mean.detach(), new_var.detach()
''',
    },
    "ch12-batch-norm-eval": {
        "uses the batch statistics instead of the running ones": '''
def batch_norm_eval(x, gamma, beta, running_mean, running_var, eps=1e-5):
    dims = [d for d in range(x.dim()) if d != 1]
    shape = [1, x.shape[1]] + [1] * (x.dim() - 2)
    mean = x.mean(dim=dims, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
    y = (x - mean) / torch.sqrt(var + eps)
    return y * gamma.reshape(shape) + beta.reshape(shape)
''',
        "eps outside the square root": '''
def batch_norm_eval(x, gamma, beta, running_mean, running_var, eps=1e-5):
    shape = [1, x.shape[1]] + [1] * (x.dim() - 2)
    scale = gamma / (torch.sqrt(running_var) + eps)
    shift = beta.reshape(shape)
    return (x - running_mean.reshape(shape)) * scale.reshape(shape) + shift
''',
        "broadcasts over the last dimension instead of dim 1": '''
def batch_norm_eval(x, gamma, beta, running_mean, running_var, eps=1e-5):
    return (x - running_mean) / torch.sqrt(running_var + eps) * gamma + beta
''',
        "divides by the variance, not the standard deviation": '''
def batch_norm_eval(x, gamma, beta, running_mean, running_var, eps=1e-5):
    shape = [1, x.shape[1]] + [1] * (x.dim() - 2)
    scale = gamma / (running_var + eps)
    shift = beta.reshape(shape)
    return (x - running_mean.reshape(shape)) * scale.reshape(shape) + shift
''',
        "calls the forbidden F.batch_norm": '''
def batch_norm_eval(x, gamma, beta, running_mean, running_var, eps=1e-5):
    return F.batch_norm(x, running_mean.clone(), running_var.clone(), gamma, beta,
                        training=False, eps=eps)
''',
    },
    "ch12-layer-norm": {
        "unbiased variance": '''
def layer_norm(x, gamma, beta, eps=1e-5):
    dims = tuple(range(x.dim() - gamma.dim(), x.dim()))
    mean = x.mean(dim=dims, keepdim=True)
    var = x.var(dim=dims, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * gamma + beta
''',
        "normalises over the last dimension only": '''
def layer_norm(x, gamma, beta, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * gamma + beta
''',
        "eps outside the square root": '''
def layer_norm(x, gamma, beta, eps=1e-5):
    dims = tuple(range(x.dim() - gamma.dim(), x.dim()))
    mean = x.mean(dim=dims, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
    return (x - mean) / (torch.sqrt(var) + eps) * gamma + beta
''',
        "statistics detached (wrong gradients)": '''
def layer_norm(x, gamma, beta, eps=1e-5):
    dims = tuple(range(x.dim() - gamma.dim(), x.dim()))
    mean = x.mean(dim=dims, keepdim=True).detach()
    var = ((x - mean) ** 2).mean(dim=dims, keepdim=True).detach()
    return (x - mean) / torch.sqrt(var + eps) * gamma + beta
''',
        "batch norm over dim 0 instead": '''
def layer_norm(x, gamma, beta, eps=1e-5):
    mean = x.mean(dim=0, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=0, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * gamma + beta
''',
        "calls the forbidden F.layer_norm": '''
def layer_norm(x, gamma, beta, eps=1e-5):
    return F.layer_norm(x, gamma.shape, gamma, beta, eps)
''',
    },
    "ch12-leaky-relu": {
        "max(x, a x): wrong for slopes above 1": '''
def leaky_relu(x, negative_slope=0.01):
    return torch.maximum(x, negative_slope * x)
''',
        "ignores the slope argument": '''
def leaky_relu(x, negative_slope=0.01):
    return torch.where(x > 0, x, 0.01 * x)
''',
        "calls the forbidden F.leaky_relu": '''
def leaky_relu(x, negative_slope=0.01):
    return F.leaky_relu(x, negative_slope)
''',
        "slope applied to the positive side": '''
def leaky_relu(x, negative_slope=0.01):
    return torch.where(x > 0, negative_slope * x, x)
''',
    },
    "ch12-elu": {
        "torch.where with exp(x): nan gradient at large x": '''
def elu(x, alpha=1.0):
    return torch.where(x > 0, x, alpha * (torch.exp(x) - 1))
''',
        "forgets the - 1": '''
def elu(x, alpha=1.0):
    return torch.where(x > 0, x, alpha * torch.exp(x.clamp(max=0)))
''',
        "ignores alpha": '''
def elu(x, alpha=1.0):
    return torch.where(x > 0, x, torch.expm1(x.clamp(max=0)))
''',
        "calls the forbidden F.elu": '''
def elu(x, alpha=1.0):
    return F.elu(x, alpha)
''',
        "CELU instead: alpha * (exp(x / alpha) - 1)": '''
def elu(x, alpha=1.0):
    return torch.where(x > 0, x, alpha * torch.expm1(x.clamp(max=0) / alpha))
''',
    },
    "ch12-gelu": {
        "always the tanh approximation": '''
def gelu(x, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(approximate)
    k = math.sqrt(2 / math.pi)
    return 0.5 * x * (1 + torch.tanh(k * (x + 0.044715 * x ** 3)))
''',
        "erf(x) without dividing by sqrt(2)": '''
def gelu(x, approximate="none"):
    if approximate == "tanh":
        k = math.sqrt(2 / math.pi)
        return 0.5 * x * (1 + torch.tanh(k * (x + 0.044715 * x ** 3)))
    if approximate != "none":
        raise ValueError(approximate)
    return 0.5 * x * (1 + torch.erf(x))
''',
        "sigmoid approximation x * sigmoid(1.702 x)": '''
def gelu(x, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(approximate)
    return x * torch.sigmoid(1.702 * x)
''',
        "no ValueError for an unknown approximate": '''
def gelu(x, approximate="none"):
    if approximate == "tanh":
        k = math.sqrt(2 / math.pi)
        return 0.5 * x * (1 + torch.tanh(k * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
''',
        "calls the forbidden F.gelu": '''
def gelu(x, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(approximate)
    return F.gelu(x, approximate=approximate)
''',
    },
    "ch12-swish": {
        "naive sigmoid 1 / (1 + exp(-x)): nan gradient at -1e4": '''
def swish(x):
    return x / (1 + torch.exp(-x))
''',
        "exp(x) / (1 + exp(x)): nan at +1e4": '''
def swish(x):
    e = torch.exp(x)
    return x * e / (1 + e)
''',
        "calls the forbidden torch.sigmoid": '''
def swish(x):
    return x * torch.sigmoid(x)
''',
        "sigmoid without the x": '''
def swish(x):
    z = torch.exp(-x.abs())
    return torch.where(x >= 0, 1 / (1 + z), z / (1 + z))
''',
    },
    "ch12-inverted-dropout": {
        "no rescaling of the kept values": '''
def inverted_dropout(x, p, generator=None):
    if not 0 <= p <= 1:
        raise ValueError(p)
    keep = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device) >= p
    return x * keep
''',
        "multiplies by (1 - p) instead of dividing": '''
def inverted_dropout(x, p, generator=None):
    if not 0 <= p <= 1:
        raise ValueError(p)
    keep = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device) >= p
    return x * keep * (1 - p)
''',
        "mask inverted: keeps with probability p": '''
def inverted_dropout(x, p, generator=None):
    if not 0 <= p <= 1:
        raise ValueError(p)
    if p == 0:
        return x.clone()
    keep = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device) < p
    return x * keep / p
''',
        "ignores the generator (global random numbers)": '''
def inverted_dropout(x, p, generator=None):
    if not 0 <= p <= 1:
        raise ValueError(p)
    if p == 1:
        return torch.zeros_like(x)
    keep = torch.rand(x.shape, dtype=x.dtype, device=x.device) >= p
    return x * keep / (1 - p)
''',
        "p = 1 divides by zero (nan)": '''
def inverted_dropout(x, p, generator=None):
    if not 0 <= p <= 1:
        raise ValueError(p)
    keep = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device) >= p
    return x * keep / torch.tensor(1 - p, dtype=x.dtype, device=x.device)
''',
        "p = 0 returns x itself": '''
def inverted_dropout(x, p, generator=None):
    if not 0 <= p <= 1:
        raise ValueError(p)
    if p == 0:
        return x
    if p == 1:
        return torch.zeros_like(x)
    keep = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device) >= p
    return x * keep / (1 - p)
''',
        "one mask value per column, shared by all rows": '''
def inverted_dropout(x, p, generator=None):
    if not 0 <= p <= 1:
        raise ValueError(p)
    if p == 1:
        return torch.zeros_like(x)
    keep = torch.rand(x.shape[-1], generator=generator, dtype=x.dtype,
                      device=x.device) >= p
    return x * keep / (1 - p)
''',
        "modifies x in place": '''
def inverted_dropout(x, p, generator=None):
    if not 0 <= p <= 1:
        raise ValueError(p)
    if p == 1:
        return torch.zeros_like(x)
    keep = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device) >= p
    return x.mul_(keep).div_(1 - p)
''',
        "no ValueError for p outside [0, 1]": '''
def inverted_dropout(x, p, generator=None):
    if p >= 1:
        return torch.zeros_like(x)
    keep = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device) >= p
    return x * keep / (1 - p)
''',
        "calls the forbidden F.dropout": '''
def inverted_dropout(x, p, generator=None):
    if not 0 <= p <= 1:
        raise ValueError(p)
    return F.dropout(x, p, training=True)
''',
    },
    "ch12-dropblock2d": {
        "the seed guide's empty forward (returns None in training)":
        _DROPBLOCK_INIT + '''
    def forward(self, x):
        if not self.training:
            return x
''',
        "drops single units (the corners), never grows blocks": _DROPBLOCK_INIT
        + _DROPBLOCK_CORNERS + '''
        mask = (torch.rand(n, c, h, w, device=x.device) >= gamma).to(x.dtype)
        kept = mask.sum()
        if kept == 0:
            return torch.zeros_like(x)
        return x * mask * (mask.numel() / kept)
''',
        "gamma without the area correction (p / k**2)": _DROPBLOCK_INIT + '''
    def forward(self, x):
        if not self.training or self.drop_prob == 0:
            return x
        n, c, h, w = x.shape
        k = self.block_size
        if k > h or k > w:
            raise ValueError("block too large")
        gamma = self.drop_prob / k**2
        corners = (torch.rand(n, c, h - k + 1, w - k + 1, device=x.device) < gamma)
        padded = F.pad(corners.to(x.dtype), (k - 1,) * 4)
        mask = 1 - F.max_pool2d(padded, k, stride=1)
        kept = mask.sum()
        if kept == 0:
            return torch.zeros_like(x)
        return x * mask * (mask.numel() / kept)
''',
        "no rescaling of the kept units": _DROPBLOCK_INIT + _DROPBLOCK_CORNERS + '''
        corners = (torch.rand(n, c, h - k + 1, w - k + 1, device=x.device) < gamma)
        padded = F.pad(corners.to(x.dtype), (k - 1,) * 4)
        mask = 1 - F.max_pool2d(padded, k, stride=1)
        return x * mask
''',
        "rescales by 1 / (1 - p) instead of count / count_ones": _DROPBLOCK_INIT
        + _DROPBLOCK_CORNERS + '''
        corners = (torch.rand(n, c, h - k + 1, w - k + 1, device=x.device) < gamma)
        padded = F.pad(corners.to(x.dtype), (k - 1,) * 4)
        mask = 1 - F.max_pool2d(padded, k, stride=1)
        return x * mask / (1 - self.drop_prob)
''',
        "block centres anywhere: blocks clipped at the border": _DROPBLOCK_INIT
        + _DROPBLOCK_CORNERS + '''
        centres = (torch.rand(n, c, h, w, device=x.device) < gamma).to(x.dtype)
        mask = 1 - F.max_pool2d(centres, k, stride=1, padding=k // 2)[..., :h, :w]
        kept = mask.sum()
        if kept == 0:
            return torch.zeros_like(x)
        return x * mask * (mask.numel() / kept)
''',
        "one mask shared by all channels": _DROPBLOCK_INIT + _DROPBLOCK_CORNERS + '''
        corners = (torch.rand(n, 1, h - k + 1, w - k + 1, device=x.device) < gamma)
        padded = F.pad(corners.to(x.dtype), (k - 1,) * 4)
        mask = (1 - F.max_pool2d(padded, k, stride=1)).expand(n, c, h, w)
        kept = mask.sum()
        if kept == 0:
            return torch.zeros_like(x)
        return x * mask * (mask.numel() / kept)
''',
        "nan when every unit is dropped": _DROPBLOCK_INIT + _DROPBLOCK_CORNERS + '''
        corners = (torch.rand(n, c, h - k + 1, w - k + 1, device=x.device) < gamma)
        padded = F.pad(corners.to(x.dtype), (k - 1,) * 4)
        mask = 1 - F.max_pool2d(padded, k, stride=1)
        return x * mask * (mask.numel() / mask.sum())
''',
        "drops in evaluation mode too": _DROPBLOCK_INIT + '''
    def forward(self, x):
        if self.drop_prob == 0:
            return x
        n, c, h, w = x.shape
        k = self.block_size
        if k > h or k > w:
            raise ValueError("block too large")
        gamma = self.drop_prob / k**2 * h * w / ((h - k + 1) * (w - k + 1))
        corners = (torch.rand(n, c, h - k + 1, w - k + 1, device=x.device) < gamma)
        padded = F.pad(corners.to(x.dtype), (k - 1,) * 4)
        mask = 1 - F.max_pool2d(padded, k, stride=1)
        kept = mask.sum()
        if kept == 0:
            return torch.zeros_like(x)
        return x * mask * (mask.numel() / kept)
''',
    },
    "ch12-layers-without-trainable-parameters": {
        "BatchNorm counted as parameter-free even with affine=True": '''
def layers_without_trainable_parameters(batchnorm_affine=True):
    return {"MaxPooling", "Dropout", "ReLU", "BatchNorm"}
''',
        "forgets Dropout": '''
def layers_without_trainable_parameters(batchnorm_affine=True):
    answer = {"MaxPooling", "ReLU"}
    if not batchnorm_affine:
        answer.add("BatchNorm")
    return answer
''',
        "ignores the argument (BatchNorm never included)": '''
def layers_without_trainable_parameters(batchnorm_affine=True):
    return {"MaxPooling", "Dropout", "ReLU"}
''',
        "a list, with another spelling": '''
def layers_without_trainable_parameters(batchnorm_affine=True):
    answer = ["MaxPool", "Dropout", "ReLU"]
    if not batchnorm_affine:
        answer.append("BatchNorm")
    return answer
''',
        "the argument read the wrong way round": '''
def layers_without_trainable_parameters(batchnorm_affine=True):
    answer = {"MaxPooling", "Dropout", "ReLU"}
    if batchnorm_affine:
        answer.add("BatchNorm")
    return answer
''',
        "the layers that learn, not those that do not": '''
def layers_without_trainable_parameters(batchnorm_affine=True):
    return {"Linear", "Conv"} | ({"BatchNorm"} if batchnorm_affine else set())
''',
        "buffers counted as parameters (BatchNorm never parameter-free)": '''
def layers_without_trainable_parameters(batchnorm_affine=True):
    layers = {"MaxPooling": nn.MaxPool2d(2), "Linear": nn.Linear(2, 2),
              "Dropout": nn.Dropout(), "Conv": nn.Conv2d(1, 1, 3),
              "BatchNorm": nn.BatchNorm2d(2, affine=batchnorm_affine),
              "ReLU": nn.ReLU()}
    return {name for name, layer in layers.items()
            if not list(layer.parameters()) and not list(layer.buffers())}
''',
    },
}

RIGHT = {
    "ch12-batch-norm-train": {
        "channels first, flattened, torch.var with both corrections": '''
def batch_norm_train(x, gamma, beta, running_mean, running_var, momentum=0.1,
                     eps=1e-5):
    C = x.shape[1]
    flat = x.transpose(0, 1).reshape(C, -1)  # (C, M)
    if flat.shape[1] <= 1:
        raise ValueError("Expected more than 1 value per channel when training")
    mean = flat.mean(dim=1)
    biased = torch.var(flat, dim=1, correction=0)
    unbiased = torch.var(flat, dim=1, correction=1)
    view = (1, C) + (1,) * (x.dim() - 2)
    normed = (x - mean.view(view)) * torch.rsqrt(biased.view(view) + eps)
    y = gamma.view(view) * normed + beta.view(view)
    new_mean = running_mean.clone().mul_(1 - momentum).add_(momentum * mean.detach())
    new_var = running_var.clone().mul_(1 - momentum).add_(momentum * unbiased.detach())
    return y, new_mean, new_var
''',
        "movedim and a loop-free sum of squares": '''
def batch_norm_train(x, gamma, beta, running_mean, running_var, momentum=0.1,
                     eps=1e-5):
    z = x.movedim(1, -1)  # (N, *, C)
    C = z.shape[-1]
    z2 = z.reshape(-1, C)
    M = z2.shape[0]
    if M == 1:
        raise ValueError("one value per channel")
    mu = z2.sum(dim=0) / M
    ss = ((z2 - mu) ** 2).sum(dim=0)
    out = (z - mu) / (ss / M + eps).sqrt() * gamma + beta
    new_mean = running_mean + momentum * (mu.detach() - running_mean)
    new_var = running_var + momentum * (ss.detach() / (M - 1) - running_var)
    return out.movedim(-1, 1), new_mean, new_var
''',
    },
    "ch12-batch-norm-eval": {
        "the formula with view and torch.sqrt": '''
def batch_norm_eval(x, gamma, beta, running_mean, running_var, eps=1e-5):
    view = (1, -1) + (1,) * (x.dim() - 2)
    x_hat = (x - running_mean.view(view)) / torch.sqrt(running_var.view(view) + eps)
    return gamma.view(view) * x_hat + beta.view(view)
''',
        "channels last and back": '''
def batch_norm_eval(x, gamma, beta, running_mean, running_var, eps=1e-5):
    z = x.movedim(1, -1)
    z = (z - running_mean) * torch.rsqrt(running_var + eps) * gamma + beta
    return z.movedim(-1, 1)
''',
    },
    "ch12-layer-norm": {
        "flatten the normalised dims, torch.var_mean(correction=0)": '''
def layer_norm(x, gamma, beta, eps=1e-5):
    lead = x.shape[:x.dim() - gamma.dim()]
    flat = x.reshape(*lead, -1)
    var, mean = torch.var_mean(flat, dim=-1, keepdim=True, correction=0)
    normed = ((flat - mean) * torch.rsqrt(var + eps)).reshape(x.shape)
    return normed * gamma + beta
''',
    },
    "ch12-leaky-relu": {
        "positive part plus slope times negative part": '''
def leaky_relu(x, negative_slope=0.01):
    return x.clamp(min=0) + negative_slope * x.clamp(max=0)
''',
        "a float mask": '''
def leaky_relu(x, negative_slope=0.01):
    positive = (x > 0).to(x.dtype)
    return x * (positive + negative_slope * (1 - positive))
''',
    },
    "ch12-elu": {
        "positive part plus alpha * (exp(min(x, 0)) - 1)": '''
def elu(x, alpha=1.0):
    return x.clamp(min=0) + alpha * (torch.exp(x.clamp(max=0)) - 1)
''',
        "torch.where with torch.minimum": '''
def elu(x, alpha=1.0):
    negative = alpha * torch.expm1(torch.minimum(x, torch.zeros_like(x)))
    return torch.where(x > 0, x, negative)
''',
    },
    "ch12-gelu": {
        "torch.special.ndtr for Phi, tanh with x * x * x": '''
def gelu(x, approximate="none"):
    if approximate == "none":
        return x * torch.special.ndtr(x)
    elif approximate == "tanh":
        c = (2 / math.pi) ** 0.5
        return x * (1 + torch.tanh(c * (x + 0.044715 * x * x * x))) / 2
    else:
        raise ValueError("approximate must be 'none' or 'tanh'")
''',
        "erfc form of Phi": '''
def gelu(x, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(approximate)
    if approximate == "tanh":
        inner = math.sqrt(2 / math.pi) * x * (1 + 0.044715 * x ** 2)
        return 0.5 * x * (1 + torch.tanh(inner))
    return 0.5 * x * torch.erfc(-x / math.sqrt(2))
''',
    },
    "ch12-swish": {
        "sigmoid as (1 + tanh(x / 2)) / 2": '''
def swish(x):
    return x * 0.5 * (1 + torch.tanh(x / 2))
''',
        "two branches, each fed safe inputs": '''
def swish(x):
    pos = 1 / (1 + torch.exp(-x.clamp(min=0)))
    e = torch.exp(x.clamp(max=0))
    neg = e / (1 + e)
    return x * torch.where(x >= 0, pos, neg)
''',
    },
    "ch12-inverted-dropout": {
        "torch.bernoulli with the generator": '''
def inverted_dropout(x, p, generator=None):
    if p < 0 or p > 1:
        raise ValueError(f"p must be in [0, 1], got {p}")
    if p == 1:
        return x.new_zeros(x.shape)
    keep = torch.bernoulli(torch.full_like(x, 1 - p), generator=generator)
    return x * keep * (1.0 / (1 - p))
''',
        "uniform_ into a new tensor, keep where u < 1 - p": '''
def inverted_dropout(x, p, generator=None):
    if not (0.0 <= p <= 1.0):
        raise ValueError("p out of range")
    u = torch.empty_like(x).uniform_(0, 1, generator=generator)
    out = torch.where(u < 1 - p, x / max(1 - p, 1e-12), torch.zeros_like(x))
    return out if p < 1 else torch.zeros_like(x)
''',
    },
    "ch12-dropblock2d": {
        "a loop over block corners, renormalised by the mean of the mask": '''
class DropBlock2d(nn.Module):
    def __init__(self, drop_prob, block_size):
        super().__init__()
        if drop_prob < 0 or drop_prob >= 1:
            raise ValueError("drop_prob must be in [0, 1)")
        if block_size < 1:
            raise ValueError("block_size must be >= 1")
        self.drop_prob, self.block_size = drop_prob, block_size

    def forward(self, x):
        if not self.training or self.drop_prob == 0:
            return x
        N, C, H, W = x.shape
        k = self.block_size
        if k > min(H, W):
            raise ValueError("block larger than the map")
        rows, cols = H - k + 1, W - k + 1
        gamma = self.drop_prob * H * W / (k * k * rows * cols)
        chosen = torch.bernoulli(torch.full((N, C, rows, cols), gamma, device=x.device))
        mask = torch.ones_like(x)
        for i in range(rows):
            for j in range(cols):
                hit = chosen[:, :, i, j] > 0
                mask[:, :, i:i + k, j:j + k][hit] = 0
        if mask.sum() == 0:
            return torch.zeros_like(x)
        return x * mask / mask.mean()
''',
        "grow blocks with a transposed convolution of ones": '''
class DropBlock2d(nn.Module):
    def __init__(self, drop_prob, block_size):
        super().__init__()
        if not (0 <= drop_prob < 1) or block_size < 1:
            raise ValueError("bad arguments")
        self.drop_prob = drop_prob
        self.block_size = block_size

    def forward(self, x):
        if not self.training or self.drop_prob == 0:
            return x
        N, C, H, W = x.shape
        k = self.block_size
        if k > H or k > W:
            raise ValueError("block_size larger than the feature map")
        gamma = self.drop_prob / k ** 2 * (H * W) / ((H - k + 1) * (W - k + 1))
        seeds = (torch.rand(N * C, 1, H - k + 1, W - k + 1, device=x.device)
                 < gamma).to(x.dtype)
        ones = torch.ones(1, 1, k, k, dtype=x.dtype, device=x.device)
        covered = F.conv_transpose2d(seeds, ones).reshape(N, C, H, W)
        mask = (covered == 0).to(x.dtype)
        count_ones = mask.sum()
        if count_ones == 0:
            return x * 0
        return x * mask * (mask.numel() / count_ones)
''',
    },
    "ch12-layers-without-trainable-parameters": {
        "computed by counting the parameters of real layers": '''
def layers_without_trainable_parameters(batchnorm_affine=True):
    layers = {"MaxPooling": nn.MaxPool2d(2), "Linear": nn.Linear(2, 2),
              "Dropout": nn.Dropout(), "Conv": nn.Conv2d(1, 1, 3),
              "BatchNorm": nn.BatchNorm2d(2, affine=batchnorm_affine),
              "ReLU": nn.ReLU()}
    return frozenset(name for name, layer in layers.items()
                     if not any(p.requires_grad for p in layer.parameters()))
''',
        "the six minus the learning ones, as a frozenset": '''
def layers_without_trainable_parameters(batchnorm_affine=True):
    learning = {"Linear", "Conv"}
    if batchnorm_affine:
        learning = learning | {"BatchNorm"}
    six = ("MaxPooling", "Linear", "Dropout", "Conv", "BatchNorm", "ReLU")
    return frozenset(six) - learning
''',
    },
}
