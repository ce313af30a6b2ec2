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
        "torch.einsum (a built-in product)": '''
def dot(x, y):
    return torch.einsum("...i,...i->...", x, y)
''',
        "numpy.dot on CPU copies": '''
def dot(x, y):
    import numpy
    out = numpy.dot(x.detach().cpu().numpy(), y.detach().cpu().numpy())
    return torch.as_tensor(out, dtype=x.dtype, device=x.device)
''',
        "always returns float32": '''
def dot(x, y):
    return (x.float() * y.float()).sum(dim=-1)
''',
        "no broadcasting: flattens both to pairs of rows": '''
def dot(x, y):
    return (x.reshape(-1, x.shape[-1]) * y.reshape(-1, y.shape[-1])).sum(-1)
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
        "numpy.linalg.norm": '''
def l2_norm(x):
    import numpy
    out = numpy.linalg.norm(x.detach().cpu().numpy(), axis=-1)
    return torch.as_tensor(out, dtype=x.dtype, device=x.device)
''',
        "NaN for the empty vector (mean instead of sum, times D)": '''
def l2_norm(x):
    return (x.square().mean(dim=-1) * x.shape[-1]).sqrt()
''',
        "keeps the last dimension": '''
def l2_norm(x):
    return x.square().sum(dim=-1, keepdim=True).sqrt()
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
        "F.normalize (a built-in norm)": '''
def cosine_similarity(x, y):
    return (F.normalize(x, dim=-1) * F.normalize(y, dim=-1)).sum(dim=-1)
''',
        "torch.linalg.vecdot and vector_norm (built-ins)": '''
def cosine_similarity(x, y):
    den = torch.linalg.vector_norm(x, dim=-1) * torch.linalg.vector_norm(y, dim=-1)
    return torch.linalg.vecdot(x, y) / den.clamp_min(1e-12)
''',
        "no broadcasting: compares matching rows only": '''
def cosine_similarity(x, y):
    x2, y2 = x.reshape(-1, x.shape[-1]), y.reshape(-1, y.shape[-1])
    num = (x2 * y2).sum(-1)
    den = ((x2 * x2).sum(-1).sqrt() * (y2 * y2).sum(-1).sqrt()).clamp_min(1e-12)
    return (num / den).reshape(x.shape[:-1])
''',
        "NaN where only one vector of a batch is zero": '''
def cosine_similarity(x, y):
    nx, ny = (x * x).sum(-1).sqrt(), (y * y).sum(-1).sqrt()
    cos = (x * y).sum(-1) / (nx * ny)
    if bool((nx == 0).all()) or bool((ny == 0).all()):
        return torch.zeros_like(cos)
    return cos
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
        "follows an older hint: float32 start vector": '''
def power_iteration(A, num_iters):
    g = torch.Generator().manual_seed(0)
    v = torch.randn(A.shape[0], generator=g).to(A.device)
    v = v / v.square().sum().sqrt()
    for _ in range(num_iters):
        w = A @ v
        v = w / w.square().sum().sqrt()
    return v @ (A @ v), v
''',
        "calls numpy.linalg.eigh": '''
def power_iteration(A, num_iters):
    import numpy
    values, vectors = numpy.linalg.eigh(A.detach().cpu().numpy())
    top = abs(values).argmax()
    vector = torch.as_tensor(vectors[:, top], dtype=A.dtype, device=A.device)
    return torch.as_tensor(values[top], dtype=A.dtype, device=A.device), vector
''',
        "eigenvalue as a Python float": '''
def power_iteration(A, num_iters):
    g = torch.Generator().manual_seed(0)
    v = torch.randn(A.shape[0], generator=g, dtype=A.dtype).to(A.device)
    for _ in range(num_iters):
        w = A @ v
        v = w / w.square().sum().sqrt()
    return (v @ (A @ v)).item(), v
''',
    },
    "ch01-low-rank-approx": {
        "keeps the k smallest singular values": '''
def low_rank_approx(A, k):
    M, N = A.shape
    if not 0 <= k <= min(M, N):
        raise ValueError("bad k")
    U, S, Vh = torch.linalg.svd(A, full_matrices=False)
    r = S.shape[0]
    return (U[:, r - k:] * S[r - k:]) @ Vh[r - k:]
''',
        "forgets the singular values (U_k V_k^T)": '''
def low_rank_approx(A, k):
    M, N = A.shape
    if not 0 <= k <= min(M, N):
        raise ValueError("bad k")
    U, S, Vh = torch.linalg.svd(A, full_matrices=False)
    return U[:, :k] @ Vh[:k]
''',
        "torch.svd returns V, used as if it were V^T": '''
def low_rank_approx(A, k):
    M, N = A.shape
    if not 0 <= k <= min(M, N):
        raise ValueError("bad k")
    U, S, V = torch.svd(A)
    return U[:, :k] @ torch.diag(S[:k]) @ V[:k]
''',
        "takes Vh for V (columns of Vh, transposed)": '''
def low_rank_approx(A, k):
    M, N = A.shape
    if not 0 <= k <= min(M, N):
        raise ValueError("bad k")
    U, S, Vh = torch.linalg.svd(A, full_matrices=False)
    return (U[:, :k] * S[:k]) @ Vh[:, :k].T
''',
        "off by one: keeps k + 1 terms": '''
def low_rank_approx(A, k):
    M, N = A.shape
    if not 0 <= k <= min(M, N):
        raise ValueError("bad k")
    U, S, Vh = torch.linalg.svd(A, full_matrices=False)
    return (U[:, :k + 1] * S[:k + 1]) @ Vh[:k + 1]
''',
        "off by one: keeps k - 1 terms": '''
def low_rank_approx(A, k):
    M, N = A.shape
    if not 0 <= k <= min(M, N):
        raise ValueError("bad k")
    U, S, Vh = torch.linalg.svd(A, full_matrices=False)
    j = max(k - 1, 0)
    return (U[:, :j] * S[:j]) @ Vh[:j]
''',
        "drops the last r - k terms with a negative slice (k = r gives zeros)": '''
def low_rank_approx(A, k):
    M, N = A.shape
    if not 0 <= k <= min(M, N):
        raise ValueError("bad k")
    U, S, Vh = torch.linalg.svd(A, full_matrices=False)
    cut = -(S.shape[0] - k)
    return (U[:, :cut] * S[:cut]) @ Vh[:cut]
''',
        "full U and Vh without slicing": '''
def low_rank_approx(A, k):
    M, N = A.shape
    if not 0 <= k <= min(M, N):
        raise ValueError("bad k")
    U, S, Vh = torch.linalg.svd(A)  # full_matrices=True: (M, M), (r,), (N, N)
    kept = torch.where(torch.arange(S.shape[0], device=A.device) < k, S, 0.0)
    return U @ torch.diag(kept) @ Vh
''',
        "uses the eigenvalues of A^T A (sigma squared)": '''
def low_rank_approx(A, k):
    M, N = A.shape
    if not 0 <= k <= min(M, N):
        raise ValueError("bad k")
    U, S, Vh = torch.linalg.svd(A, full_matrices=False)
    return (U[:, :k] * S[:k] ** 2) @ Vh[:k]
''',
        "accepts any k": '''
def low_rank_approx(A, k):
    U, S, Vh = torch.linalg.svd(A, full_matrices=False)
    k = max(k, 0)
    return (U[:, :k] * S[:k]) @ Vh[:k]
''',
        "checks k against N instead of min(M, N)": '''
def low_rank_approx(A, k):
    M, N = A.shape
    if not 0 <= k <= N:
        raise ValueError("bad k")
    U, S, Vh = torch.linalg.svd(A, full_matrices=False)
    return (U[:, :k] * S[:k]) @ Vh[:k]
''',
        "returns float64": '''
def low_rank_approx(A, k):
    M, N = A.shape
    if not 0 <= k <= min(M, N):
        raise ValueError("bad k")
    U, S, Vh = torch.linalg.svd(A.double(), full_matrices=False)
    return (U[:, :k] * S[:k]) @ Vh[:k]
''',
        "subtracts the tail from A in place": '''
def low_rank_approx(A, k):
    M, N = A.shape
    if not 0 <= k <= min(M, N):
        raise ValueError("bad k")
    U, S, Vh = torch.linalg.svd(A, full_matrices=False)
    return A.sub_((U[:, k:] * S[k:]) @ Vh[k:])
''',
        "torch.svd_lowrank": '''
def low_rank_approx(A, k):
    M, N = A.shape
    if not 0 <= k <= min(M, N):
        raise ValueError("bad k")
    if k == 0:
        return torch.zeros_like(A)
    U, S, V = torch.svd_lowrank(A, q=k, niter=6)
    return (U * S) @ V.T
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
        "uses scikit-learn's PCA": '''
def pca(X, k):
    from sklearn.decomposition import PCA
    N, D = X.shape
    if not 1 <= k <= D:
        raise ValueError("bad k")
    model = PCA(n_components=k).fit(X.detach().cpu().numpy())
    components = torch.as_tensor(model.components_, dtype=X.dtype, device=X.device)
    return (X - X.mean(dim=0)) @ components.T, components
''',
        "raises for k = D (k < D instead of k <= D)": '''
def pca(X, k):
    N, D = X.shape
    if not 1 <= k < D:
        raise ValueError("bad k")
    centred = X - X.mean(dim=0)
    _, _, Vh = torch.linalg.svd(centred, full_matrices=False)
    return centred @ Vh[:k].T, Vh[:k]
''',
        "returns float32 components": '''
def pca(X, k):
    N, D = X.shape
    if not 1 <= k <= D:
        raise ValueError("bad k")
    centred = (X - X.mean(dim=0)).float()
    _, _, Vh = torch.linalg.svd(centred, full_matrices=False)
    return centred @ Vh[:k].T, Vh[:k]
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
        "numpy-free broadcast_tensors then sum": '''
def dot(x, y):
    a, b = torch.broadcast_tensors(x, y)
    return (a * b).sum(dim=-1)
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
        "own formula with a single square root and an eps": '''
def cosine_similarity(x, y):
    squares = (x * x).sum(dim=-1) * (y * y).sum(dim=-1)
    return (x * y).sum(dim=-1) / squares.sqrt().clamp_min(1e-8)
''',
        "torch.sum, torch.sqrt and torch.where on the norms": '''
def cosine_similarity(x, y):
    nx = torch.sqrt(torch.sum(x * x, dim=-1))
    ny = torch.sqrt(torch.sum(y * y, dim=-1))
    num = torch.sum(x * y, dim=-1)
    den = nx * ny
    return torch.where(den > 0, num / torch.where(den > 0, den, 1.0), 0.0)
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
        "the docstring's hint, cast with .to(A), Rayleigh quotient over v.v": '''
def power_iteration(A, num_iters):
    g = torch.Generator().manual_seed(0)
    v = torch.randn(A.shape[0], generator=g, dtype=A.dtype).to(A.device)
    for _ in range(num_iters):
        v = A @ v
        v = v / torch.sqrt(torch.sum(v * v))
    return (v @ A @ v) / (v @ v), v
''',
    },
    "ch01-low-rank-approx": {
        "sum of k outer products from the full SVD": '''
def low_rank_approx(A, k):
    M, N = A.shape
    if k < 0 or k > min(M, N):
        raise ValueError(f"k = {k} is not between 0 and {min(M, N)}")
    U, S, Vh = torch.linalg.svd(A)  # full matrices; only the first k are used
    out = torch.zeros_like(A)
    for i in range(k):
        out = out + S[i] * torch.outer(U[:, i], Vh[i])
    return out
''',
        "projection on the top eigenvectors of A^T A": '''
def low_rank_approx(A, k):
    M, N = A.shape
    if not (0 <= k <= min(M, N)):
        raise ValueError("k out of range")
    _, vectors = torch.linalg.eigh(A.T @ A)  # ascending, columns
    top = vectors[:, N - k:]  # (N, k)
    return A @ top @ top.T
''',
        "torch.svd and diag": '''
def low_rank_approx(A, k):
    if k < 0 or k > min(A.shape):
        raise ValueError("bad k")
    U, S, V = torch.svd(A)  # reduced; V, not V^T
    return U[:, :k] @ torch.diag(S[:k]) @ V[:, :k].T
''',
        "masked singular values and diag_embed": '''
def low_rank_approx(A, k):
    r = min(A.shape)
    if not 0 <= k <= r:
        raise ValueError("bad k")
    U, S, Vh = torch.linalg.svd(A, full_matrices=False)
    mask = torch.arange(r, device=A.device) < k
    return U @ torch.diag_embed(S * mask) @ Vh
''',
        "A minus the discarded part": '''
def low_rank_approx(A, k):
    if k < 0 or k > min(A.shape[0], A.shape[1]):
        raise ValueError("bad k")
    U, S, Vh = torch.linalg.svd(A, full_matrices=False)
    return A - U[:, k:] @ torch.diag(S[k:]) @ Vh[k:]
''',
        "numpy's SVD on a CPU copy": '''
def low_rank_approx(A, k):
    import numpy
    M, N = A.shape
    if not 0 <= k <= min(M, N):
        raise ValueError("bad k")
    U, S, Vh = numpy.linalg.svd(A.detach().cpu().numpy(), full_matrices=False)
    out = (U[:, :k] * S[:k]) @ Vh[:k]
    return torch.as_tensor(out, dtype=A.dtype, device=A.device)
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
        "eigh of the covariance, flipped": '''
def pca(X, k):
    N, D = X.shape
    if not 1 <= k <= D:
        raise ValueError(f"k must be between 1 and {D}")
    centred = X - X.mean(dim=0)
    _, vectors = torch.linalg.eigh(centred.T @ centred / (N - 1))
    components = vectors.flip(-1)[:, :k].T
    return centred @ components.T, components
''',
    },
}
