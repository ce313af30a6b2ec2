"""ch00: planted wrong answers (must lose points) and right answers written
differently (must pass)."""
WRONG = {
    "ch00-relu": {
        "keeps negatives (abs)": '''
def relu(x):
    return x.abs()
''',
        "calls the built-in": '''
def relu(x):
    return torch.relu(x)
''',
        "clamps (forbidden built-in)": '''
def relu(x):
    return x.clamp(min=0)
''',
        "modifies x in place": '''
def relu(x):
    x[x < 0] = 0
    return x
''',
        "float zero turns int64 into float32": '''
def relu(x):
    return torch.where(x > 0, x, 0.0)
''',
        "returns the boolean mask": '''
def relu(x):
    return x > 0
''',
        "leaky slope on negatives": '''
def relu(x):
    return torch.where(x > 0, x, 0.01 * x)
''',
        "detours through NumPy (no gradient)": '''
def relu(x):
    import numpy as np
    values = np.maximum(x.detach().cpu().numpy(), 0)
    return torch.as_tensor(values, dtype=x.dtype, device=x.device)
''',
        "calls numpy.clip on a copy, keeps the graph by a trick": '''
def relu(x):
    import numpy as np
    mask = torch.as_tensor(np.clip(x.detach().cpu().numpy(), 0, None) != 0)
    return x * mask.to(x.device)
''',
        "calls F.threshold": '''
def relu(x):
    return F.threshold(x, 0, 0)
''',
        "calls Tensor.clip": '''
def relu(x):
    return x.clip(min=0)
''',
        "float mask turns int64 into float32": '''
def relu(x):
    return x * (x > 0).float()
''',
        "computes on a float32 copy (float64 comes back float32)": '''
def relu(x):
    x32 = x.float()
    return torch.where(x32 > 0, x32, torch.zeros_like(x32))
''',
        "cuts the autograd graph (detach)": '''
def relu(x):
    return torch.where(x > 0, x, torch.zeros_like(x)).detach()
''',
        "loops over the first axis (fails on a 0-d tensor)": '''
def relu(x):
    if x.numel() == 0:
        return x.clone()
    return torch.stack([torch.where(r > 0, r, torch.zeros_like(r)) for r in x])
''',
        "stacks element by element (fails on an empty tensor)": '''
def relu(x):
    values = [v if v > 0 else v * 0 for v in x.reshape(-1)]
    return torch.stack(values).reshape(x.shape)
''',
        "always returns float64 for floating-point inputs": '''
def relu(x):
    y = torch.where(x > 0, x, torch.zeros_like(x))
    return y.double() if x.is_floating_point() else y
''',
    },
    "ch00-dense": {
        "weight not transposed (x @ W)": '''
def dense_forward(x, W, b):
    y = x @ W
    return y if b is None else y + b
''',
        "returns (D_out, N): W @ x.T without the final transpose": '''
def dense_forward(x, W, b):
    y = W @ x.T
    return y if b is None else y + b[:, None]
''',
        "forgets the bias": '''
def dense_forward(x, W, b):
    return x @ W.T
''',
        "crashes when b is None": '''
def dense_forward(x, W, b):
    return x @ W.T + b
''',
        "calls F.linear": '''
def dense_forward(x, W, b):
    return F.linear(x, W, b)
''',
        "bias added twice": '''
def dense_forward(x, W, b):
    y = x @ W.T
    return y if b is None else y + 2 * b
''',
        "stacks one row at a time (fails on an empty batch)": '''
def dense_forward(x, W, b):
    rows = [W @ row if b is None else W @ row + b for row in x]
    return torch.stack(rows)
''',
        "computes in float32 (float64 comes back float32)": '''
def dense_forward(x, W, b):
    y = x.float() @ W.float().T
    return y if b is None else y + b.float()
''',
        "builds an nn.Linear (which calls F.linear)": '''
def dense_forward(x, W, b):
    layer = nn.Linear(W.shape[1], W.shape[0], bias=b is not None)
    layer = layer.to(device=x.device, dtype=x.dtype)
    with torch.no_grad():
        layer.weight.copy_(W)
        if b is not None:
            layer.bias.copy_(b)
    return layer(x)
''',
    },
    "ch00-count-parameters": {
        "counts frozen parameters too": '''
def count_parameters(model):
    return sum(p.numel() for p in model.parameters())
''',
        "counts tensors, not scalars": '''
def count_parameters(model):
    return sum(1 for p in model.parameters() if p.requires_grad)
''',
        "counts the state_dict (buffers and frozen weights)": '''
def count_parameters(model):
    return sum(t.numel() for t in model.state_dict().values())
''',
        "counts tied weights twice": '''
def count_parameters(model):
    return sum(p.numel() for _, p in model.named_parameters(remove_duplicate=False)
               if p.requires_grad)
''',
        "returns a tensor": '''
def count_parameters(model):
    sizes = [p.numel() for p in model.parameters() if p.requires_grad]
    return torch.tensor(sizes).sum()
''',
        "counts only the first dimension": '''
def count_parameters(model):
    return sum(p.shape[0] if p.dim() else 1 for p in model.parameters()
               if p.requires_grad)
''',
        "counts buffers too": '''
def count_parameters(model):
    n = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return n + sum(b.numel() for b in model.buffers())
''',
        "returns a float": '''
def count_parameters(model):
    return float(sum(p.numel() for p in model.parameters() if p.requires_grad))
''',
        "skips 0-d parameters": '''
def count_parameters(model):
    total = 0
    for p in model.parameters():
        if p.requires_grad and p.dim() > 0:
            total += p.numel()
    return total
''',
    },
    "ch00-kaiming-std": {
        "LeCun scale, forgets the ReLU factor 2": '''
def kaiming_normal_std(fan_in):
    if fan_in < 1:
        raise ValueError("fan_in must be positive")
    return math.sqrt(1.0 / fan_in)
''',
        "returns the variance, not the std": '''
def kaiming_normal_std(fan_in):
    if fan_in < 1:
        raise ValueError("fan_in must be positive")
    return 2.0 / fan_in
''',
        "no input check (ZeroDivisionError for 0)": '''
def kaiming_normal_std(fan_in):
    return math.sqrt(2.0 / fan_in)
''',
        "returns a tensor": '''
def kaiming_normal_std(fan_in):
    if fan_in < 1:
        raise ValueError("fan_in must be positive")
    return torch.tensor(2.0 / fan_in).sqrt()
''',
        "Xavier-like, halves the fan": '''
def kaiming_normal_std(fan_in):
    if fan_in < 1:
        raise ValueError("fan_in must be positive")
    return math.sqrt(2.0 / (fan_in + fan_in))
''',
        "float32 precision (through a float32 tensor)": '''
def kaiming_normal_std(fan_in):
    if fan_in < 1:
        raise ValueError("fan_in must be positive")
    return float(torch.tensor(2.0 / fan_in).sqrt())
''',
        "float32 precision (NumPy float32)": '''
def kaiming_normal_std(fan_in):
    import numpy as np
    if fan_in < 1:
        raise ValueError("fan_in must be positive")
    return float(np.sqrt(np.float32(2.0) / np.float32(fan_in)))
''',
        "checks only fan_in == 0 (a negative fan_in gives a complex number)": '''
def kaiming_normal_std(fan_in):
    if fan_in == 0:
        raise ValueError("fan_in must be positive")
    return (2 / fan_in) ** 0.5
''',
    },
    "ch00-xavier-bound": {
        "returns the std, not the uniform bound": '''
def xavier_uniform_bound(fan_in, fan_out, gain=1.0):
    if fan_in < 1 or fan_out < 1:
        raise ValueError("fans must be positive")
    return gain * math.sqrt(2.0 / (fan_in + fan_out))
''',
        "ignores the gain": '''
def xavier_uniform_bound(fan_in, fan_out, gain=1.0):
    if fan_in < 1 or fan_out < 1:
        raise ValueError("fans must be positive")
    return math.sqrt(6.0 / (fan_in + fan_out))
''',
        "gain inside the square root": '''
def xavier_uniform_bound(fan_in, fan_out, gain=1.0):
    if fan_in < 1 or fan_out < 1:
        raise ValueError("fans must be positive")
    return math.sqrt(6.0 * gain / (fan_in + fan_out))
''',
        "uses fan_in only": '''
def xavier_uniform_bound(fan_in, fan_out, gain=1.0):
    if fan_in < 1 or fan_out < 1:
        raise ValueError("fans must be positive")
    return gain * math.sqrt(3.0 / fan_in)
''',
        "no input check": '''
def xavier_uniform_bound(fan_in, fan_out, gain=1.0):
    return gain * math.sqrt(6.0 / (fan_in + fan_out))
''',
        "float32 precision (through a float32 tensor)": '''
def xavier_uniform_bound(fan_in, fan_out, gain=1.0):
    if fan_in < 1 or fan_out < 1:
        raise ValueError("fans must be positive")
    return float(gain * torch.tensor(6.0 / (fan_in + fan_out)).sqrt())
''',
        "checks only fan_in": '''
def xavier_uniform_bound(fan_in, fan_out, gain=1.0):
    if fan_in < 1:
        raise ValueError("fan_in must be positive")
    return gain * math.sqrt(6.0 / (fan_in + fan_out))
''',
        "gain squared": '''
def xavier_uniform_bound(fan_in, fan_out, gain=1.0):
    if fan_in < 1 or fan_out < 1:
        raise ValueError("fans must be positive")
    return gain ** 2 * math.sqrt(6.0 / (fan_in + fan_out))
''',
    },
}
RIGHT = {
    "ch00-relu": {
        "mask multiply": '''
def relu(x):
    return x * (x > 0)
''',
        "maximum with zeros": '''
def relu(x):
    return torch.maximum(x, torch.zeros_like(x))
''',
        "where with a scalar zero": '''
def relu(x):
    return torch.where(x > 0, x, 0)
''',
        "masked_fill": '''
def relu(x):
    return x.masked_fill(x < 0, 0)
''',
        "clone, then zero the negatives": '''
def relu(x):
    y = x.clone()
    y[y < 0] = 0
    return y
''',
        "binary torch.max with zeros": '''
def relu(x):
    return torch.max(x, torch.zeros_like(x))
''',
        "Tensor.where with a zero tensor": '''
def relu(x):
    return x.where(x > 0, x.new_zeros(()))
''',
        "x minus its negative part": '''
def relu(x):
    return x - torch.minimum(x, torch.zeros_like(x))
''',
    },
    "ch00-dense": {
        "einsum": '''
def dense_forward(x, W, b):
    y = torch.einsum("ni,oi->no", x, W)
    if b is not None:
        y = y + b
    return y
''',
        "transpose of W @ x^T": '''
def dense_forward(x, W, b):
    y = (W @ x.T).T
    return y if b is None else y + b.unsqueeze(0)
''',
        "broadcast and sum": '''
def dense_forward(x, W, b):
    y = (x[:, None, :] * W[None, :, :]).sum(dim=-1)
    if b is None:
        b = x.new_zeros(W.shape[0])
    return y + b
''',
        "addmm": '''
def dense_forward(x, W, b):
    if b is None:
        return torch.matmul(x, W.t())
    return torch.addmm(b, x, W.t())
''',
        "tensordot over the input axis": '''
def dense_forward(x, W, b):
    y = torch.tensordot(x, W, dims=([1], [1]))
    return y + (0 if b is None else b)
''',
        "one output neuron at a time": '''
def dense_forward(x, W, b):
    y = x.new_zeros(x.shape[0], W.shape[0])
    for j in range(W.shape[0]):
        y[:, j] = (x * W[j]).sum(dim=1) + (0 if b is None else b[j])
    return y
''',
    },
    "ch00-count-parameters": {
        "loop with math.prod": '''
def count_parameters(model):
    total = 0
    for p in model.parameters():
        if p.requires_grad:
            total += math.prod(p.shape)
    return total
''',
        "deduplicate by identity over every module": '''
def count_parameters(model):
    seen, total = set(), 0
    for module in model.modules():
        for p in module.parameters(recurse=False):
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                total += p.numel()
    return int(total)
''',
        "named_parameters, filtered": '''
def count_parameters(model):
    trainable = [p for _, p in model.named_parameters() if p.requires_grad]
    return sum(math.prod(p.size()) for p in trainable)
''',
    },
    "ch00-kaiming-std": {
        "power one half": '''
def kaiming_normal_std(fan_in):
    if not fan_in >= 1:
        raise ValueError(f"need fan_in >= 1, got {fan_in}")
    return (2 / fan_in) ** 0.5
''',
        "PyTorch's gain": '''
def kaiming_normal_std(fan_in):
    if fan_in <= 0:
        raise ValueError("fan_in must be positive")
    return torch.nn.init.calculate_gain("relu") / math.sqrt(fan_in)
''',
        "NumPy in float64 (np.float64 is a float)": '''
def kaiming_normal_std(fan_in):
    import numpy as np
    if fan_in < 1:
        raise ValueError("fan_in must be at least 1")
    return np.sqrt(2.0 / fan_in)
''',
        "through a float64 tensor": '''
def kaiming_normal_std(fan_in):
    if fan_in < 1:
        raise ValueError("fan_in must be at least 1")
    return torch.tensor(2.0 / fan_in, dtype=torch.float64).sqrt().item()
''',
    },
    "ch00-xavier-bound": {
        "sqrt(3) times the std": '''
def xavier_uniform_bound(fan_in, fan_out, gain=1.0):
    if min(fan_in, fan_out) < 1:
        raise ValueError("both fans must be at least 1")
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return math.sqrt(3.0) * std
''',
        "power one half": '''
def xavier_uniform_bound(fan_in, fan_out, gain=1.0):
    if fan_in <= 0 or fan_out <= 0:
        raise ValueError("both fans must be at least 1")
    return float(gain * (6 / (fan_in + fan_out)) ** 0.5)
''',
        "gain squared inside the root": '''
def xavier_uniform_bound(fan_in, fan_out, gain=1.0):
    if fan_in < 1 or fan_out < 1:
        raise ValueError("both fans must be at least 1")
    return math.sqrt(6.0 * gain * gain / (fan_in + fan_out))
''',
    },
}
