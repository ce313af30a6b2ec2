"""ch02: planted wrong answers (must lose points) and right answers written
differently (must pass)."""

WRONG = {
    "ch02-numerical-derivative": {
        "forward difference": '''
def numerical_derivative(f, x, h=1e-5):
    return (f(x + h) - f(x)) / h
''',
        "missing factor 2": '''
def numerical_derivative(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / h
''',
        "backward difference": '''
def numerical_derivative(f, x, h=1e-5):
    return (f(x) - f(x - h)) / h
''',
        "always returns float64": '''
def numerical_derivative(f, x, h=1e-5):
    x = x.double()
    return (f(x + h) - f(x - h)) / (2 * h)
''',
        "the exact derivative from autograd, not the formula": '''
def numerical_derivative(f, x, h=1e-5):
    leaf = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(f(leaf).sum(), leaf)
    return g
''',
        "shifts x in place with add_ and never restores it": '''
def numerical_derivative(f, x, h=1e-5):
    f_minus = f(x - h)
    return (f(x.add_(h)) - f_minus) / (2 * h)
''',
        ".float() turns float64 into float32": '''
def numerical_derivative(f, x, h=1e-5):
    return ((f(x + h) - f(x - h)) / (2 * h)).float()
''',
    },
    "ch02-sigmoid": {
        "exp(x) / (1 + exp(x)): nan at x = 1000": '''
def sigmoid(x):
    e = torch.exp(x)
    return e / (1 + e)
''',
        "naive 1 / (1 + exp(-x)): nan gradient at x = -1000": '''
def sigmoid(x):
    return 1 / (1 + torch.exp(-x))
''',
        "torch.where over an overflowing branch: nan gradient": '''
def sigmoid(x):
    return torch.where(x >= 0, 1 / (1 + torch.exp(-x)),
                       torch.exp(x) / (1 + torch.exp(x)))
''',
        "(1 + tanh(x / 2)) / 2: cancellation for large negative x": '''
def sigmoid(x):
    return 0.5 * (1 + torch.tanh(0.5 * x))
''',
        "calls the built-in torch.sigmoid": '''
def sigmoid(x):
    return torch.sigmoid(x)
''',
        "sign slip: 1 / (1 + exp(x))": '''
def sigmoid(x):
    z = torch.exp(-x.abs())
    return torch.where(x >= 0, z / (1 + z), 1 / (1 + z))
''',
        "scipy.special.expit through numpy": '''
def sigmoid(x):
    import scipy.special
    return torch.as_tensor(scipy.special.expit(x.detach().cpu().numpy())).to(x)
''',
        "torch.special.expit": '''
def sigmoid(x):
    return torch.special.expit(x)
''',
        "computes in float64 and returns float64": '''
def sigmoid(x):
    x = x.double()
    z = torch.exp(-x.abs())
    return torch.where(x >= 0, 1 / (1 + z), z / (1 + z))
''',
        "abs_() on a detached view overwrites x": '''
def sigmoid(x):
    negative = x < 0
    z = torch.exp(-x.detach().abs_())
    return torch.where(negative, z / (1 + z), 1 / (1 + z))
''',
    },
    "ch02-sigmoid-derivative": {
        "returns sigma instead of sigma * (1 - sigma)": '''
def sigmoid_derivative(x):
    return sigmoid(x)
''',
        "exp(-x) / (1 + exp(-x))**2: nan at x = -1000": '''
def sigmoid_derivative(x):
    e = torch.exp(-x)
    return e / (1 + e) ** 2
''',
        "tanh's rule 1 - sigma**2": '''
def sigmoid_derivative(x):
    return 1 - sigmoid(x) ** 2
''',
        "asks autograd": '''
def sigmoid_derivative(x):
    xr = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(torch.sigmoid(xr).sum(), xr)
    return g
''',
        "torch.func.grad under torch.func.vmap": '''
def sigmoid_derivative(x):
    d = torch.func.grad(torch.sigmoid)
    flat = x.reshape(-1)
    return torch.func.vmap(d)(flat).reshape(x.shape)
''',
        ".float() turns float64 into float32": '''
def sigmoid_derivative(x):
    s = torch.sigmoid(x).float()
    return s * (1 - s)
''',
        "sigmoid written in place over x": '''
def sigmoid_derivative(x):
    s = x.neg_().exp_().add_(1).reciprocal_()
    return s * (1 - s)
''',
    },
    "ch02-relu-derivative": {
        "1 at x = 0 (x >= 0)": '''
def relu_derivative(x):
    return (x >= 0).to(x.dtype)
''',
        ".float() turns float64 into float32": '''
def relu_derivative(x):
    return (x > 0).float()
''',
        "returns a boolean mask": '''
def relu_derivative(x):
    return x > 0
''',
        "1 everywhere": '''
def relu_derivative(x):
    return torch.ones_like(x)
''',
        "asks autograd": '''
def relu_derivative(x):
    leaf = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(torch.relu(leaf).sum(), leaf)
    return g
''',
        "float32 zeros for a float64 x (torch.zeros(x.shape))": '''
def relu_derivative(x):
    out = torch.zeros(x.shape, device=x.device)
    out[x > 0] = 1
    return out
''',
    },
    "ch02-tanh-derivative": {
        "1 - tanh (no square)": '''
def tanh_derivative(x):
    return 1 - torch.tanh(x)
''',
        "1 - x**2 (forgot the tanh)": '''
def tanh_derivative(x):
    return 1 - x**2
''',
        "tanh built from exp: nan at x = 1000": '''
def tanh_derivative(x):
    t = (torch.exp(x) - torch.exp(-x)) / (torch.exp(x) + torch.exp(-x))
    return 1 - t**2
''',
        "asks autograd (backward on a copy)": '''
def tanh_derivative(x):
    leaf = x.detach().clone().requires_grad_(True)
    torch.tanh(leaf).sum().backward()
    return leaf.grad
''',
        "tanh written over x in place": '''
def tanh_derivative(x):
    t = x.tanh_()
    return 1 - t * t
''',
        ".double() turns float32 into float64": '''
def tanh_derivative(x):
    return 1 - torch.tanh(x.double()) ** 2
''',
    },
    "ch02-numerical-gradient": {
        "forward difference": '''
def numerical_gradient(f, x, eps=1e-6):
    flat = x.reshape(-1)
    grad = torch.zeros_like(flat)
    f0 = f(x)
    for i in range(flat.numel()):
        step = torch.zeros_like(flat)
        step[i] = eps
        grad[i] = (f((flat + step).view(x.shape)) - f0) / eps
    return grad.view(x.shape)
''',
        "divides by eps instead of 2 eps": '''
def numerical_gradient(f, x, eps=1e-6):
    flat = x.reshape(-1)
    grad = torch.zeros_like(flat)
    for i in range(flat.numel()):
        step = torch.zeros_like(flat)
        step[i] = eps
        f_plus = f((flat + step).view(x.shape))
        grad[i] = (f_plus - f((flat - step).view(x.shape))) / eps
    return grad.view(x.shape)
''',
        "perturbs every entry at once": '''
def numerical_gradient(f, x, eps=1e-6):
    return torch.full_like(x, ((f(x + eps) - f(x - eps)) / (2 * eps)).item())
''',
        "perturbs x in place and never restores it": '''
def numerical_gradient(f, x, eps=1e-6):
    grad = torch.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        x[idx] += eps
        f_plus = f(x)
        x[idx] -= 2 * eps
        f_minus = f(x)
        grad[idx] = (f_plus - f_minus) / (2 * eps)
    return grad
''',
        "writes into x.reshape(-1), a copy when x is non-contiguous": '''
def numerical_gradient(f, x, eps=1e-6):
    flat = x.reshape(-1)
    grad = torch.zeros_like(flat)
    for i in range(flat.numel()):
        old = flat[i].clone()
        flat[i] = old + eps
        f_plus = f(x)
        flat[i] = old - eps
        f_minus = f(x)
        flat[i] = old
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad.view(x.shape)
''',
        "asks autograd": '''
def numerical_gradient(f, x, eps=1e-6):
    leaf = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(f(leaf), leaf)
    return g
''',
        "view(-1) of zeros_like(x), which keeps a transpose's strides": '''
def numerical_gradient(f, x, eps=1e-6):
    grad = torch.zeros_like(x)
    for i in range(x.numel()):
        e = torch.zeros_like(x)
        e.view(-1)[i] = eps
        grad.view(-1)[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return grad
''',
        "loops over x.shape[0] rows: fails on a 0-d x": '''
def numerical_gradient(f, x, eps=1e-6):
    grad = torch.zeros_like(x)
    for i in range(x.shape[0]):
        for idx in np.ndindex(*x.shape[1:]):
            e = torch.zeros_like(x)
            e[(i, *idx)] = eps
            grad[(i, *idx)] = (f(x + e) - f(x - e)) / (2 * eps)
    return grad
''',
        "computes in float64 and returns float64": '''
def numerical_gradient(f, x, eps=1e-6):
    x64 = x.double()
    grad = torch.zeros_like(x64)
    for idx in np.ndindex(*x.shape):
        e = torch.zeros_like(x64)
        e[idx] = eps
        grad[idx] = (f((x64 + e).to(x.dtype)) - f((x64 - e).to(x.dtype))) / (2 * eps)
    return grad
''',
    },
    "ch02-two-layer-backward": {
        "sum instead of mean in the loss": '''
def two_layer_backward(x, y, W1, b1, W2, b2):
    a = x @ W1.T + b1
    h = torch.relu(a)
    g = 2 * (h @ W2.T + b2 - y)
    g_a = (g @ W2) * (a > 0)
    return {"W1": g_a.T @ x, "b1": g_a.sum(0), "W2": g.T @ h, "b2": g.sum(0)}
''',
        "mean over the batch only (divides by N, not N * K)": '''
def two_layer_backward(x, y, W1, b1, W2, b2):
    a = x @ W1.T + b1
    h = torch.relu(a)
    g = 2 * (h @ W2.T + b2 - y) / x.shape[0]
    g_a = (g @ W2) * (a > 0)
    return {"W1": g_a.T @ x, "b1": g_a.sum(0), "W2": g.T @ h, "b2": g.sum(0)}
''',
        "missing relu mask": '''
def two_layer_backward(x, y, W1, b1, W2, b2):
    a = x @ W1.T + b1
    h = torch.relu(a)
    g = 2 * (h @ W2.T + b2 - y) / y.numel()
    g_a = g @ W2
    return {"W1": g_a.T @ x, "b1": g_a.sum(0), "W2": g.T @ h, "b2": g.sum(0)}
''',
        "transposed weight gradients": '''
def two_layer_backward(x, y, W1, b1, W2, b2):
    a = x @ W1.T + b1
    h = torch.relu(a)
    g = 2 * (h @ W2.T + b2 - y) / y.numel()
    g_a = (g @ W2) * (a > 0)
    return {"W1": x.T @ g_a, "b1": g_a.sum(0), "W2": h.T @ g, "b2": g.sum(0)}
''',
        "relu'(0) = 1 (mask a >= 0)": '''
def two_layer_backward(x, y, W1, b1, W2, b2):
    a = x @ W1.T + b1
    h = torch.relu(a)
    g = 2 * (h @ W2.T + b2 - y) / y.numel()
    g_a = (g @ W2) * (a >= 0)
    return {"W1": g_a.T @ x, "b1": g_a.sum(0), "W2": g.T @ h, "b2": g.sum(0)}
''',
        "missing factor 2 of the square": '''
def two_layer_backward(x, y, W1, b1, W2, b2):
    a = x @ W1.T + b1
    h = torch.relu(a)
    g = (h @ W2.T + b2 - y) / y.numel()
    g_a = (g @ W2) * (a > 0)
    return {"W1": g_a.T @ x, "b1": g_a.sum(0), "W2": g.T @ h, "b2": g.sum(0)}
''',
        "bias gradients averaged over the batch": '''
def two_layer_backward(x, y, W1, b1, W2, b2):
    a = x @ W1.T + b1
    h = torch.relu(a)
    g = 2 * (h @ W2.T + b2 - y) / y.numel()
    g_a = (g @ W2) * (a > 0)
    return {"W1": g_a.T @ x, "b1": g_a.mean(0), "W2": g.T @ h, "b2": g.mean(0)}
''',
        "returns a tuple": '''
def two_layer_backward(x, y, W1, b1, W2, b2):
    a = x @ W1.T + b1
    h = torch.relu(a)
    g = 2 * (h @ W2.T + b2 - y) / y.numel()
    g_a = (g @ W2) * (a > 0)
    return g_a.T @ x, g_a.sum(0), g.T @ h, g.sum(0)
''',
        "asks autograd": '''
def two_layer_backward(x, y, W1, b1, W2, b2):
    leaves = [t.clone().requires_grad_(True) for t in (W1, b1, W2, b2)]
    h = torch.relu(x @ leaves[0].T + leaves[1])
    loss = ((h @ leaves[2].T + leaves[3] - y) ** 2).mean()
    grads = torch.autograd.grad(loss, leaves)
    return dict(zip(["W1", "b1", "W2", "b2"], grads))
''',
        "computes in float64 and returns float64": '''
def two_layer_backward(x, y, W1, b1, W2, b2):
    x, y, W1, b1, W2, b2 = (t.double() for t in (x, y, W1, b1, W2, b2))
    a = x @ W1.T + b1
    h = torch.relu(a)
    g = 2 * (h @ W2.T + b2 - y) / y.numel()
    g_a = (g @ W2) * (a > 0)
    return {"W1": g_a.T @ x, "b1": g_a.sum(0), "W2": g.T @ h, "b2": g.sum(0)}
''',
    },
    "ch02-softmax-cross-entropy-grad": {
        "forgets the 1 / N of the mean (a sum reduction)": '''
def softmax_cross_entropy_grad(logits, targets):
    p = torch.softmax(logits, dim=1)
    return p - torch.nn.functional.one_hot(targets, logits.shape[1]).to(p.dtype)
''',
        "divides by N * C, a mean over every entry": '''
def softmax_cross_entropy_grad(logits, targets):
    p = torch.softmax(logits, dim=1)
    y = torch.nn.functional.one_hot(targets, logits.shape[1]).to(p.dtype)
    return (p - y) / logits.numel()
''',
        "y - p: the sign flipped": '''
def softmax_cross_entropy_grad(logits, targets):
    p = torch.softmax(logits, dim=1)
    y = torch.nn.functional.one_hot(targets, logits.shape[1]).to(p.dtype)
    return (y - p) / logits.shape[0]
''',
        "softmax over the batch (dim=0)": '''
def softmax_cross_entropy_grad(logits, targets):
    p = torch.softmax(logits, dim=0)
    y = torch.nn.functional.one_hot(targets, logits.shape[1]).to(p.dtype)
    return (p - y) / logits.shape[0]
''',
        "one-hot on the wrong axis (Y[targets, n])": '''
def softmax_cross_entropy_grad(logits, targets):
    n = logits.shape[0]
    p = torch.softmax(logits, dim=1)
    y = torch.zeros_like(p)
    y[targets, torch.arange(n, device=logits.device)] = 1
    return (p - y) / n
''',
        "exp without subtracting the max: nan at 1e4": '''
def softmax_cross_entropy_grad(logits, targets):
    e = torch.exp(logits)
    p = e / e.sum(dim=1, keepdim=True)
    y = torch.nn.functional.one_hot(targets, logits.shape[1]).to(p.dtype)
    return (p - y) / logits.shape[0]
''',
        "one_hot without num_classes: too few columns when a class is absent": '''
def softmax_cross_entropy_grad(logits, targets):
    p = torch.softmax(logits, dim=1)
    y = torch.nn.functional.one_hot(targets).to(p.dtype)
    return (p - y) / logits.shape[0]
''',
        "asks autograd": '''
def softmax_cross_entropy_grad(logits, targets):
    leaf = logits.detach().clone().requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(leaf, targets)
    return torch.autograd.grad(loss, leaf)[0]
''',
        "subtracts the row max in place, changing logits": '''
def softmax_cross_entropy_grad(logits, targets):
    logits -= logits.max(dim=1, keepdim=True).values
    e = logits.exp()
    p = e / e.sum(dim=1, keepdim=True)
    y = torch.nn.functional.one_hot(targets, logits.shape[1]).to(p.dtype)
    return (p - y) / logits.shape[0]
''',
        "one-hot in float64 promotes a float32 result": '''
def softmax_cross_entropy_grad(logits, targets):
    p = torch.softmax(logits, dim=1)
    y = torch.nn.functional.one_hot(targets, logits.shape[1]).double()
    return (p - y) / logits.shape[0]
''',
    },
}

RIGHT = {
    "ch02-numerical-derivative": {
        "one call of f on a stacked input, multiplied by 0.5 / h": '''
def numerical_derivative(f, x, h=1e-5):
    f_plus, f_minus = f(torch.stack([x + h, x - h])).unbind(0)
    return (f_plus - f_minus) * (0.5 / h)
''',
        "torch.sub and torch.div": '''
def numerical_derivative(f, x, h=1e-5):
    return torch.div(torch.sub(f(x + h), f(x - h)), 2 * h)
''',
    },
    "ch02-sigmoid": {
        "boolean-mask indexing, one formula per sign": '''
def sigmoid(x):
    out = torch.empty_like(x)
    pos = x >= 0
    out[pos] = 1 / (1 + torch.exp(-x[pos]))
    e = torch.exp(x[~pos])
    out[~pos] = e / (1 + e)
    return out
''',
        "exp(-softplus(-x)) with logaddexp": '''
def sigmoid(x):
    return torch.exp(-torch.logaddexp(torch.zeros_like(x), -x))
''',
    },
    "ch02-sigmoid-derivative": {
        "symmetric exp(-|x|) / (1 + exp(-|x|))**2": '''
def sigmoid_derivative(x):
    z = torch.exp(-x.abs())
    return z / (1 + z) ** 2
''',
        "torch.sigmoid, s - s**2": '''
def sigmoid_derivative(x):
    s = torch.sigmoid(x)
    return s - s * s
''',
    },
    "ch02-relu-derivative": {
        "torch.where with ones and zeros": '''
def relu_derivative(x):
    return torch.where(x > 0, torch.ones_like(x), torch.zeros_like(x))
''',
        "torch.heaviside with value 0 at 0": '''
def relu_derivative(x):
    return torch.heaviside(x, torch.zeros_like(x))
''',
        "sign(x) clamped at 0": '''
def relu_derivative(x):
    return torch.sign(x).clamp(min=0)
''',
    },
    "ch02-tanh-derivative": {
        "1 / cosh(x)**2": '''
def tanh_derivative(x):
    return torch.cosh(x).pow(-2)
''',
        "4 sigma(2x) (1 - sigma(2x))": '''
def tanh_derivative(x):
    s = sigmoid(2 * x)
    return 4 * s * (1 - s)
''',
    },
    "ch02-numerical-gradient": {
        "in place, restoring each entry exactly": '''
def numerical_gradient(f, x, eps=1e-6):
    grad = torch.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        old = x[idx].clone()
        x[idx] = old + eps
        f_plus = f(x)
        x[idx] = old - eps
        f_minus = f(x)
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * eps)
    return grad
''',
        "one-hot basis from torch.eye": '''
def numerical_gradient(f, x, eps=1e-6):
    n = x.numel()
    basis = torch.eye(n, dtype=x.dtype, device=x.device).reshape(n, *x.shape)
    diffs = [f(x + eps * e) - f(x - eps * e) for e in basis]
    return (torch.stack(diffs) / (2 * eps)).reshape(x.shape)
''',
        "two clones per entry, perturbed by index": '''
def numerical_gradient(f, x, eps=1e-6):
    grad = torch.empty_like(x, memory_format=torch.contiguous_format)
    for idx in np.ndindex(*x.shape):
        plus, minus = x.clone(), x.clone()
        plus[idx] += eps
        minus[idx] -= eps
        grad[idx] = (f(plus) - f(minus)) / (2 * eps)
    return grad
''',
    },
    "ch02-two-layer-backward": {
        "einsum and torch.where": '''
def two_layer_backward(x, y, W1, b1, W2, b2):
    a = torch.einsum("nd,hd->nh", x, W1) + b1
    h = torch.where(a > 0, a, torch.zeros_like(a))
    y_hat = torch.einsum("nh,kh->nk", h, W2) + b2
    g_out = (y_hat - y) * (2.0 / (y.shape[0] * y.shape[1]))
    g_a = torch.where(a > 0, torch.einsum("nk,kh->nh", g_out, W2), torch.zeros_like(a))
    return {
        "b2": torch.einsum("nk->k", g_out),
        "W2": torch.einsum("nk,nh->kh", g_out, h),
        "b1": torch.einsum("nh->h", g_a),
        "W1": torch.einsum("nh,nd->hd", g_a, x),
    }
''',
        "a linear-layer backward helper used twice": '''
def two_layer_backward(x, y, W1, b1, W2, b2):
    def linear_backward(g_out, inp, W):
        # returns (grad W, grad b, grad input)
        return g_out.T @ inp, g_out.sum(dim=0), g_out @ W

    a = torch.nn.functional.linear(x, W1, b1)
    h = torch.nn.functional.relu(a)
    y_hat = torch.nn.functional.linear(h, W2, b2)
    g_y_hat = 2 * (y_hat - y) / y.numel()
    gW2, gb2, g_h = linear_backward(g_y_hat, h, W2)
    g_a = g_h.masked_fill(a <= 0, 0.0)
    gW1, gb1, _ = linear_backward(g_a, x, W1)
    return dict(W1=gW1, b1=gb1, W2=gW2, b2=gb2)
''',
    },
    "ch02-softmax-cross-entropy-grad": {
        "exp of log_softmax, one-hot by scatter_": '''
def softmax_cross_entropy_grad(logits, targets):
    p = torch.log_softmax(logits, dim=-1).exp()
    y = torch.zeros_like(p).scatter_(1, targets.unsqueeze(1), 1.0)
    return (p - y) / len(logits)
''',
        "a loop over rows with a hand-made stable softmax": '''
def softmax_cross_entropy_grad(logits, targets):
    n = logits.shape[0]
    rows = []
    for i in range(n):
        z = logits[i] - logits[i].max()
        p = z.exp() / z.exp().sum()
        p[targets[i]] -= 1
        rows.append(p / n)
    return torch.stack(rows)
''',
        "subtract 1 at (n, targets[n]) by advanced indexing": '''
def softmax_cross_entropy_grad(logits, targets):
    g = torch.nn.functional.softmax(logits, dim=1)
    g[torch.arange(g.shape[0], device=g.device), targets] -= 1.0
    return g.div(g.shape[0])
''',
        "rows of an identity matrix as the one-hot targets": '''
def softmax_cross_entropy_grad(logits, targets):
    n, c = logits.shape
    eye = torch.eye(c, dtype=logits.dtype, device=logits.device)
    return (torch.softmax(logits, dim=1) - eye[targets]) / n
''',
    },
}
