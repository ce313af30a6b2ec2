"""ch01: planted wrong answers (must lose points) and right answers written
differently (must pass)."""
WRONG = {
    "ch01-dot": {
        "sums x only": '''
def dot(x, y):
    return x.sum(dim=-1)
''',
        "calls the built-in torch.dot": '''
def dot(x, y):
    return torch.dot(x, y)
''',
        "matrix product of a row and a column": '''
def dot(x, y):
    return (x.unsqueeze(-2) @ y.unsqueeze(-1)).squeeze(-1).squeeze(-1)
''',
        "sums over every dimension, not the last one": '''
def dot(x, y):
    return (x * y).sum()
''',
        "sums over the first dimension": '''
def dot(x, y):
    return (x * y).sum(dim=0)
''',
        "returns a Python float": '''
def dot(x, y):
    return float((x * y).sum(dim=-1))
''',
    },
    "ch01-l2-norm": {
        "forgets the square root": '''
def l2_norm(x):
    return (x * x).sum(dim=-1)
''',
        "L1 norm instead of L2": '''
def l2_norm(x):
    return x.abs().sum(dim=-1)
''',
        "calls the deprecated torch.norm": '''
def l2_norm(x):
    return torch.norm(x, dim=-1)
''',
        "calls torch.linalg.vector_norm": '''
def l2_norm(x):
    return torch.linalg.vector_norm(x, dim=-1)
''',
        "norm of the whole batch": '''
def l2_norm(x):
    return (x * x).sum().sqrt()
''',
        "max norm": '''
def l2_norm(x):
    return x.abs().amax(dim=-1)
''',
    },
    "ch01-cosine": {
        "NaN for the zero vector": '''
def cosine_similarity(x, y):
    return (x * y).sum(-1) / ((x * x).sum(-1).sqrt() * (y * y).sum(-1).sqrt())
''',
        "divides by the norm of x only": '''
def cosine_similarity(x, y):
    return (x * y).sum(-1) / (x * x).sum(-1).sqrt().clamp_min(1e-12)
''',
        "divides by squared norms": '''
def cosine_similarity(x, y):
    return (x * y).sum(-1) / ((x * x).sum(-1) * (y * y).sum(-1)).clamp_min(1e-12)
''',
        "calls F.cosine_similarity": '''
def cosine_similarity(x, y):
    return F.cosine_similarity(x, y, dim=-1)
''',
        "works along the first dimension": '''
def cosine_similarity(x, y):
    num = (x * y).sum(0)
    return num / ((x * x).sum(0).sqrt() * (y * y).sum(0).sqrt()).clamp_min(1e-12)
''',
        "returns 1 for the zero vector": '''
def cosine_similarity(x, y):
    nx, ny = (x * x).sum(-1).sqrt(), (y * y).sum(-1).sqrt()
    cos = (x * y).sum(-1) / (nx * ny)
    return torch.where((nx == 0) | (ny == 0), torch.ones_like(cos), cos)
''',
    },
    "ch01-linear-forward": {
        "uses W without transposing it": '''
def linear_forward(x, W, b=None):
    y = x @ W
    return y if b is None else y + b
''',
        "forgets the bias": '''
def linear_forward(x, W, b=None):
    return x @ W.T
''',
        "cannot handle b=None": '''
def linear_forward(x, W, b=None):
    return x @ W.T + b
''',
        "calls F.linear": '''
def linear_forward(x, W, b=None):
    return F.linear(x, W, b)
''',
        "subtracts the bias": '''
def linear_forward(x, W, b=None):
    y = x @ W.T
    return y if b is None else y - b
''',
        "W @ x.T, only right for 1-D and 2-D input": '''
def linear_forward(x, W, b=None):
    if x.dim() == 1:
        y = W @ x
    else:
        y = (W @ x.reshape(-1, x.shape[-1]).T).T.reshape(x.shape[0], -1)
    return y if b is None else y + b
''',
    },
    "ch01-power-iteration": {
        "eigenvalue as a norm (loses the sign)": '''
def power_iteration(A, num_iters):
    gen = torch.Generator().manual_seed(0)
    v = torch.randn(A.shape[0], generator=gen, dtype=A.dtype).to(A.device)
    v = v / v.square().sum().sqrt()
    for _ in range(num_iters):
        w = A @ v
        v = w / w.square().sum().sqrt()
    return (A @ v).square().sum().sqrt(), v
''',
        "normalises only at the end (overflow)": '''
def power_iteration(A, num_iters):
    gen = torch.Generator().manual_seed(0)
    v = torch.randn(A.shape[0], generator=gen, dtype=A.dtype).to(A.device)
    for _ in range(num_iters):
        v = A @ v
    v = v / v.square().sum().sqrt()
    return v @ A @ v, v
''',
        "calls torch.linalg.eigh": '''
def power_iteration(A, num_iters):
    values, vectors = torch.linalg.eigh(A)
    top = values.abs().argmax()
    return values[top], vectors[:, top]
''',
        "largest eigenvalue instead of largest in absolute value": '''
def power_iteration(A, num_iters):
    shift = A.abs().sum() * torch.eye(A.shape[0], dtype=A.dtype, device=A.device)
    B = A + shift  # makes every eigenvalue positive: finds the largest one
    gen = torch.Generator().manual_seed(0)
    v = torch.randn(A.shape[0], generator=gen, dtype=A.dtype).to(A.device)
    for _ in range(num_iters):
        w = B @ v
        v = w / w.square().sum().sqrt()
    return v @ A @ v, v
''',
        "returned vector not of unit norm": '''
def power_iteration(A, num_iters):
    gen = torch.Generator().manual_seed(0)
    v = torch.randn(A.shape[0], generator=gen, dtype=A.dtype).to(A.device)
    for _ in range(num_iters):
        w = A @ v
        v = w / w.abs().max()
    return (v @ A @ v) / (v @ v), v
''',
        "returns A v instead of the normalised v": '''
def power_iteration(A, num_iters):
    gen = torch.Generator().manual_seed(0)
    v = torch.randn(A.shape[0], generator=gen, dtype=A.dtype).to(A.device)
    v = v / v.square().sum().sqrt()
    for _ in range(num_iters):
        w = A @ v
        v = w / w.square().sum().sqrt()
    return v @ A @ v, w
''',
    },
    "ch01-pca": {
        "forgets to centre": '''
def pca(X, k):
    N, D = X.shape
    if not 1 <= k <= D:
        raise ValueError("bad k")
    _, _, Vh = torch.linalg.svd(X, full_matrices=False)
    components = Vh[:k]
    return X @ components.T, components
''',
        "takes eigh's smallest eigenvalues (ascending order)": '''
def pca(X, k):
    N, D = X.shape
    if not 1 <= k <= D:
        raise ValueError("bad k")
    centred = X - X.mean(dim=0)
    _, vectors = torch.linalg.eigh(centred.T @ centred)
    components = vectors[:, :k].T
    return centred @ components.T, components
''',
        "takes rows of eigh's eigenvector matrix instead of columns": '''
def pca(X, k):
    N, D = X.shape
    if not 1 <= k <= D:
        raise ValueError("bad k")
    centred = X - X.mean(dim=0)
    _, vectors = torch.linalg.eigh(centred.T @ centred)
    components = vectors.flip(0)[:k]
    return centred @ components.T, components
''',
        "components as columns, shape (D, k)": '''
def pca(X, k):
    N, D = X.shape
    if not 1 <= k <= D:
        raise ValueError("bad k")
    centred = X - X.mean(dim=0)
    _, _, Vh = torch.linalg.svd(centred, full_matrices=False)
    return centred @ Vh[:k].T, Vh[:k].T
''',
        "projects the uncentred data": '''
def pca(X, k):
    N, D = X.shape
    if not 1 <= k <= D:
        raise ValueError("bad k")
    centred = X - X.mean(dim=0)
    _, _, Vh = torch.linalg.svd(centred, full_matrices=False)
    return X @ Vh[:k].T, Vh[:k]
''',
        "largest-variance components in reverse order": '''
def pca(X, k):
    N, D = X.shape
    if not 1 <= k <= D:
        raise ValueError("bad k")
    centred = X - X.mean(dim=0)
    _, vectors = torch.linalg.eigh(centred.T @ centred)
    components = vectors[:, -k:].T
    return centred @ components.T, components
''',
        "accepts any k": '''
def pca(X, k):
    centred = X - X.mean(dim=0)
    _, _, Vh = torch.linalg.svd(centred, full_matrices=False)
    return centred @ Vh[:k].T, Vh[:k]
''',
        "uses torch.pca_lowrank": '''
def pca(X, k):
    N, D = X.shape
    if not 1 <= k <= D:
        raise ValueError("bad k")
    _, _, V = torch.pca_lowrank(X, q=k, center=True)
    components = V.T
    return (X - X.mean(dim=0)) @ V, components
''',
    },
}
RIGHT = {
    "ch01-dot": {
        "loop over the coordinates": '''
def dot(x, y):
    shape = torch.broadcast_shapes(x.shape[:-1], y.shape[:-1])
    total = torch.zeros(shape, dtype=x.dtype, device=x.device)
    for i in range(x.shape[-1]):
        total = total + x[..., i] * y[..., i]
    return total
''',
        "torch.mul and torch.sum": '''
def dot(x, y):
    return torch.sum(torch.mul(x, y), dim=-1)
''',
    },
    "ch01-l2-norm": {
        "power and sqrt": '''
def l2_norm(x):
    return torch.sqrt(torch.sum(x ** 2, dim=-1))
''',
        "reuses dot": '''
def l2_norm(x):
    return dot(x, x).sqrt()
''',
        "hypot-style rescaling (avoids overflow)": '''
def l2_norm(x):
    if x.shape[-1] == 0:
        return x.new_zeros(x.shape[:-1])
    scale = x.abs().amax(dim=-1, keepdim=True)
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    return (x / safe).pow(2).sum(dim=-1).sqrt() * scale.squeeze(-1)
''',
    },
    "ch01-cosine": {
        "normalise first, then dot": '''
def cosine_similarity(x, y):
    x_unit = x / (x * x).sum(-1, keepdim=True).sqrt().clamp_min(1e-12)
    y_unit = y / (y * y).sum(-1, keepdim=True).sqrt().clamp_min(1e-12)
    return (x_unit * y_unit).sum(-1)
''',
        "torch.where guard": '''
def cosine_similarity(x, y):
    denominator = l2_norm(x) * l2_norm(y)
    zero = denominator == 0
    safe = torch.where(zero, torch.ones_like(denominator), denominator)
    return torch.where(zero, torch.zeros_like(denominator), dot(x, y) / safe)
''',
        "F.normalize": '''
def cosine_similarity(x, y):
    return (F.normalize(x, dim=-1) * F.normalize(y, dim=-1)).sum(dim=-1)
''',
    },
    "ch01-linear-forward": {
        "einsum": '''
def linear_forward(x, W, b=None):
    y = torch.einsum("...i,oi->...o", x, W)
    return y if b is None else y + b
''',
        "broadcast multiply and sum": '''
def linear_forward(x, W, b=None):
    y = (x.unsqueeze(-2) * W).sum(dim=-1)  # (..., 1, in) * (out, in) -> (..., out)
    if b is not None:
        y = y + b
    return y
''',
        "torch.matmul with transpose(0, 1)": '''
def linear_forward(x, W, b=None):
    out = torch.matmul(x, W.transpose(0, 1))
    if b is None:
        return out
    return out + b.expand_as(out)
''',
    },
    "ch01-power-iteration": {
        "max-abs scaling, normalised at the end, all-different start": '''
def power_iteration(A, num_iters):
    D = A.shape[0]
    v = torch.linspace(1.0, 2.0, D, dtype=A.dtype, device=A.device)
    v = v * torch.cos(torch.arange(D, dtype=A.dtype, device=A.device))
    for _ in range(num_iters):
        v = A @ v
        v = v / v.abs().max()
    v = v / (v * v).sum().sqrt()
    return (v * (A @ v)).sum(), v
''',
        "another seed and the user's l2_norm": '''
def power_iteration(A, num_iters):
    g = torch.Generator(device="cpu")
    g.manual_seed(1234)
    v = torch.rand(A.shape[0], generator=g, dtype=torch.float64) - 0.5
    v = v.to(device=A.device, dtype=A.dtype)
    for _ in range(num_iters):
        v = torch.mv(A, v)
        v = v / l2_norm(v)
    return torch.dot(v, torch.mv(A, v)), v
''',
    },
    "ch01-pca": {
        "SVD of the centred data": '''
def pca(X, k):
    if k < 1 or k > X.shape[1]:
        raise ValueError(f"k={k} out of range")
    mean = X.mean(dim=0, keepdim=True)
    U, S, Vh = torch.linalg.svd(X - mean, full_matrices=False)
    components = Vh[:k]
    return (X - mean) @ components.T, components
''',
        "eigh with argsort, biased covariance, fixed signs": '''
def pca(X, k):
    N, D = X.shape
    if not (1 <= k <= D):
        raise ValueError("k must be in 1..D")
    centred = X - X.sum(dim=0) / N
    values, vectors = torch.linalg.eigh(centred.T @ centred / N)
    order = torch.argsort(values, descending=True)[:k]
    components = vectors[:, order].T.contiguous()
    signs = torch.sign(components.sum(dim=1, keepdim=True))
    components = components * torch.where(signs == 0, torch.ones_like(signs), signs)
    return torch.matmul(centred, components.T), components
''',
    },
}
