"""ch03: planted wrong answers (must lose points) and right answers written
differently (must pass)."""

WRONG = {
    "ch03-sample-variance": {
        "biased: divides by n": '''
def sample_variance(x, dim=0):
    return (x - x.mean(dim=dim, keepdim=True)).pow(2).mean(dim=dim)
''',
        "ignores dim (always dim 0)": '''
def sample_variance(x, dim=0):
    n = x.shape[0]
    return (x - x.mean(dim=0, keepdim=True)).pow(2).sum(dim=0) / (n - 1)
''',
        "standard deviation instead of variance": '''
def sample_variance(x, dim=0):
    n = x.shape[dim]
    return ((x - x.mean(dim=dim, keepdim=True)).pow(2).sum(dim=dim) / (n - 1)).sqrt()
''',
        "one-pass formula mean(x^2) - mean(x)^2 (catastrophic cancellation)": '''
def sample_variance(x, dim=0):
    n = x.shape[dim]
    return (x.pow(2).mean(dim=dim) - x.mean(dim=dim).pow(2)) * n / (n - 1)
''',
        "calls the forbidden torch.var": '''
def sample_variance(x, dim=0):
    return torch.var(x, dim=dim)
''',
        "Python division raises ZeroDivisionError for n = 1": '''
def sample_variance(x, dim=0):
    n = x.shape[dim]
    return (x - x.mean(dim=dim, keepdim=True)).pow(2).mean(dim=dim) * (n / (n - 1))
''',
        "calls the forbidden numpy.var": '''
def sample_variance(x, dim=0):
    import numpy as np
    out = np.var(x.detach().cpu().numpy(), axis=dim, ddof=1)
    return torch.as_tensor(out, dtype=x.dtype, device=x.device)
''',
        "computes in float32 (float64 precision lost)": '''
def sample_variance(x, dim=0):
    x32 = x.float()
    n = x.shape[dim]
    out = (x32 - x32.mean(dim=dim, keepdim=True)).pow(2).sum(dim=dim) / (n - 1)
    return out.to(x.dtype)
''',
    },
    "ch03-covariance-matrix": {
        "divides by N (biased)": '''
def covariance_matrix(X):
    centred = X - X.mean(dim=0, keepdim=True)
    return centred.T @ centred / X.shape[0]
''',
        "forgets to centre the columns": '''
def covariance_matrix(X):
    return X.T @ X / (X.shape[0] - 1)
''',
        "X X^T instead of X^T X: (N, N)": '''
def covariance_matrix(X):
    centred = X - X.mean(dim=0, keepdim=True)
    return centred @ centred.T / (X.shape[0] - 1)
''',
        "centres each row instead of each column": '''
def covariance_matrix(X):
    centred = X - X.mean(dim=1, keepdim=True)
    return centred.T @ centred / (X.shape[0] - 1)
''',
        "calls the forbidden torch.cov": '''
def covariance_matrix(X):
    return torch.cov(X.T).reshape(X.shape[1], X.shape[1])
''',
        "calls the forbidden numpy.cov": '''
def covariance_matrix(X):
    import numpy as np
    out = np.cov(X.detach().cpu().numpy(), rowvar=False).reshape(X.shape[1], -1)
    return torch.as_tensor(out, dtype=X.dtype, device=X.device)
''',
        "Python 1 / (N - 1) raises ZeroDivisionError for N = 1": '''
def covariance_matrix(X):
    centred = X - X.mean(dim=0, keepdim=True)
    return centred.T @ centred * (1 / (X.shape[0] - 1))
''',
        "centres X in place (modifies the input)": '''
def covariance_matrix(X):
    X -= X.mean(dim=0, keepdim=True)
    return X.T @ X / (X.shape[0] - 1)
''',
        "squeezes D = 1 to a 0-d tensor like torch.cov": '''
def covariance_matrix(X):
    centred = X - X.mean(dim=0, keepdim=True)
    return (centred.T @ centred / (X.shape[0] - 1)).squeeze()
''',
        "correlation instead of covariance": '''
def covariance_matrix(X):
    centred = X - X.mean(dim=0, keepdim=True)
    cov = centred.T @ centred / (X.shape[0] - 1)
    std = cov.diagonal().sqrt()
    return cov / torch.outer(std, std)
''',
        "returns float64 for float32 input": '''
def covariance_matrix(X):
    centred = X.double() - X.double().mean(dim=0, keepdim=True)
    return centred.T @ centred / (X.shape[0] - 1)
''',
        "one-pass E[xy] - E[x]E[y] in float32 (precision lost)": '''
def covariance_matrix(X):
    X32 = X.float()
    N = X.shape[0]
    exy = X32.T @ X32 / N
    ex = X32.mean(dim=0)
    return ((exy - torch.outer(ex, ex)) * (N / torch.tensor(N - 1.0))).to(X.dtype)
''',
    },
    "ch03-bayes-posterior": {
        "unnormalised posterior (prior * likelihood)": '''
def bayes_posterior(prior, likelihood):
    return prior * likelihood
''',
        "ignores the prior (normalised likelihood)": '''
def bayes_posterior(prior, likelihood):
    return likelihood / likelihood.sum(dim=-1, keepdim=True)
''',
        "normalises over the first dimension": '''
def bayes_posterior(prior, likelihood):
    joint = prior * likelihood
    return joint / joint.sum(dim=0, keepdim=True)
''',
        "divides by the sum of the likelihood instead of the evidence": '''
def bayes_posterior(prior, likelihood):
    return prior * likelihood / likelihood.sum(dim=-1, keepdim=True)
''',
        "normalises by the total over the whole batch": '''
def bayes_posterior(prior, likelihood):
    joint = prior * likelihood
    return joint / joint.sum()
''',
        "returns float32 for float64 input": '''
def bayes_posterior(prior, likelihood):
    joint = prior.float() * likelihood.float()
    return joint / joint.sum(dim=-1, keepdim=True)
''',
        "epsilon added to the likelihood: a zero likelihood gets a posterior": '''
def bayes_posterior(prior, likelihood):
    joint = prior * (likelihood + 1e-3)
    return joint / joint.sum(dim=-1, keepdim=True)
''',
    },
    "ch03-entropy": {
        "log base 2 (bits)": '''
def entropy(p):
    terms = torch.where(p > 0, p * torch.log(p), torch.zeros_like(p))
    return -terms.sum(dim=-1) / math.log(2)
''',
        "missing minus sign": '''
def entropy(p):
    return torch.where(p > 0, p * torch.log(p), torch.zeros_like(p)).sum(dim=-1)
''',
        "naive p * log(p): NaN at zero probabilities": '''
def entropy(p):
    return -(p * torch.log(p)).sum(dim=-1)
''',
        "sums over the first dimension": '''
def entropy(p):
    return -torch.where(p > 0, p * torch.log(p), torch.zeros_like(p)).sum(dim=0)
''',
        "keeps the reduced dimension": '''
def entropy(p):
    terms = torch.where(p > 0, p * torch.log(p), torch.zeros_like(p))
    return -terms.sum(dim=-1, keepdim=True)
''',
        "calls the forbidden torch.special.entr": '''
def entropy(p):
    return torch.special.entr(p).sum(dim=-1)
''',
        "calls the forbidden torch.xlogy": '''
def entropy(p):
    return -torch.xlogy(p, p).sum(dim=-1)
''',
        "calls the forbidden Categorical.entropy": '''
def entropy(p):
    return torch.distributions.Categorical(probs=p).entropy()
''',
        "calls the forbidden scipy.stats.entropy": '''
def entropy(p):
    import scipy.stats
    out = scipy.stats.entropy(p.detach().cpu().numpy(), axis=-1)
    return torch.as_tensor(out, dtype=p.dtype, device=p.device)
''',
        "epsilon inside the log: log(p + 1e-6)": '''
def entropy(p):
    return -(p * torch.log(p + 1e-6)).sum(dim=-1)
''',
        "sums over every dimension (one number for a whole batch)": '''
def entropy(p):
    return -torch.where(p > 0, p * torch.log(p), torch.zeros_like(p)).sum()
''',
    },
    "ch03-cross-entropy": {
        "swapped arguments: H(q, p)": '''
def cross_entropy(p, q):
    return -torch.where(q > 0, q * torch.log(p), torch.zeros_like(q)).sum(dim=-1)
''',
        "missing minus sign": '''
def cross_entropy(p, q):
    return torch.where(p > 0, p * torch.log(q), torch.zeros_like(p)).sum(dim=-1)
''',
        "naive p * log(q): NaN where p = q = 0": '''
def cross_entropy(p, q):
    return -(p * torch.log(q)).sum(dim=-1)
''',
        "epsilon added to q: finite where it must be inf": '''
def cross_entropy(p, q):
    return -(p * torch.log(q + 1e-8)).sum(dim=-1)
''',
        "log base 2": '''
def cross_entropy(p, q):
    terms = torch.where(p > 0, p * torch.log(q), torch.zeros_like(p))
    return -terms.sum(dim=-1) / math.log(2)
''',
        "calls the forbidden torch.special.xlogy": '''
def cross_entropy(p, q):
    return -torch.special.xlogy(p, q).sum(dim=-1)
''',
        "calls the forbidden F.cross_entropy on log q": '''
def cross_entropy(p, q):
    K = p.shape[-1]
    out = F.cross_entropy(q.log().reshape(-1, K), p.reshape(-1, K), reduction="none")
    return out.reshape(p.shape[:-1])
''',
        "sums over every dimension (no batch)": '''
def cross_entropy(p, q):
    return -torch.where(p > 0, p * torch.log(q), torch.zeros_like(p)).sum()
''',
    },
    "ch03-kl-divergence": {
        "swapped arguments: KL(q || p)": '''
def kl_divergence(p, q):
    terms = torch.where(q > 0, q * (torch.log(q) - torch.log(p)), torch.zeros_like(q))
    return terms.sum(dim=-1)
''',
        "log(q / p) instead of log(p / q)": '''
def kl_divergence(p, q):
    terms = torch.where(p > 0, p * (torch.log(q) - torch.log(p)), torch.zeros_like(p))
    return terms.sum(dim=-1)
''',
        "naive p * log(p / q): NaN at zero probabilities": '''
def kl_divergence(p, q):
    return (p * torch.log(p / q)).sum(dim=-1)
''',
        "H(p, q) + H(p) instead of H(p, q) - H(p)": '''
def kl_divergence(p, q):
    terms = torch.where(p > 0, p * (torch.log(q) + torch.log(p)), torch.zeros_like(p))
    return -terms.sum(dim=-1)
''',
        "calls the forbidden torch.distributions.kl_divergence": '''
def kl_divergence(p, q):
    return torch.distributions.kl_divergence(torch.distributions.Categorical(probs=p),
                                             torch.distributions.Categorical(probs=q))
''',
        "calls the forbidden torch.xlogy": '''
def kl_divergence(p, q):
    return (torch.xlogy(p, p) - torch.xlogy(p, q)).sum(dim=-1)
''',
        "calls the forbidden F.kl_div": '''
def kl_divergence(p, q):
    return F.kl_div(q.log(), p, reduction="none").sum(dim=-1)
''',
        "calls the forbidden scipy.special.rel_entr": '''
def kl_divergence(p, q):
    import scipy.special
    out = scipy.special.rel_entr(p.detach().cpu().numpy(), q.detach().cpu().numpy())
    return torch.as_tensor(out.sum(axis=-1), dtype=p.dtype, device=p.device)
''',
        "clamps q: finite where it must be inf": '''
def kl_divergence(p, q):
    terms = torch.where(p > 0, p * (torch.log(p) - torch.log(q.clamp_min(1e-12))),
                        torch.zeros_like(p))
    return terms.sum(dim=-1)
''',
    },
    "ch03-log-softmax": {
        "no max subtraction: overflows at 1e4": '''
def log_softmax(logits, dim=-1):
    return logits - logits.exp().sum(dim=dim, keepdim=True).log()
''',
        "log of a (stable) softmax: -inf where probabilities underflow": '''
def log_softmax(logits, dim=-1):
    e = (logits - logits.amax(dim=dim, keepdim=True)).exp()
    return (e / e.sum(dim=dim, keepdim=True)).log()
''',
        "one global max instead of one per slice": '''
def log_softmax(logits, dim=-1):
    shifted = logits - logits.max()
    return shifted - shifted.exp().sum(dim=dim, keepdim=True).log()
''',
        "ignores dim (always the last)": '''
def log_softmax(logits, dim=-1):
    m = logits.amax(dim=-1, keepdim=True)
    shifted = logits - m
    return shifted - shifted.exp().sum(dim=-1, keepdim=True).log()
''',
        "forgets to add the max back (returns shifted logits minus log-sum)": '''
def log_softmax(logits, dim=-1):
    m = logits.amax(dim=dim, keepdim=True)
    return logits - (logits - m).exp().sum(dim=dim, keepdim=True).log()
''',
        "calls the forbidden torch.log_softmax": '''
def log_softmax(logits, dim=-1):
    return torch.log_softmax(logits, dim=dim)
''',
        "calls the forbidden torch.logsumexp": '''
def log_softmax(logits, dim=-1):
    return logits - torch.logsumexp(logits, dim=dim, keepdim=True)
''',
        "calls the forbidden scipy.special.log_softmax": '''
def log_softmax(logits, dim=-1):
    import scipy.special
    out = scipy.special.log_softmax(logits.detach().cpu().numpy(), axis=dim)
    return torch.as_tensor(out, dtype=logits.dtype, device=logits.device)
''',
        "computes in float32 (float64 precision lost)": '''
def log_softmax(logits, dim=-1):
    z = logits.float()
    z = z - z.amax(dim=dim, keepdim=True)
    return (z - z.exp().sum(dim=dim, keepdim=True).log()).to(logits.dtype)
''',
    },
    "ch03-cross-entropy-loss": {
        "sum instead of mean over the batch": '''
def cross_entropy_loss(logits, targets):
    log_probs = torch.log_softmax(logits, dim=1)
    return -log_probs[torch.arange(len(targets)), targets].sum()
''',
        "missing minus sign": '''
def cross_entropy_loss(logits, targets):
    log_probs = torch.log_softmax(logits, dim=1)
    return log_probs[torch.arange(len(targets)), targets].mean()
''',
        "mean over all N * C entries of one-hot * log-probabilities": '''
def cross_entropy_loss(logits, targets):
    one_hot = F.one_hot(targets, logits.shape[1]).to(logits.dtype)
    return -(one_hot * torch.log_softmax(logits, dim=1)).mean()
''',
        "log of softmax: inf at logits of 1e4": '''
def cross_entropy_loss(logits, targets):
    probs = torch.softmax(logits, dim=1)
    return -probs[torch.arange(len(targets)), targets].log().mean()
''',
        "logits[:, targets] picks an (N, N) block": '''
def cross_entropy_loss(logits, targets):
    return -torch.log_softmax(logits, dim=1)[:, targets].mean()
''',
        "calls the forbidden F.cross_entropy": '''
def cross_entropy_loss(logits, targets):
    return F.cross_entropy(logits, targets)
''',
        "calls the forbidden Categorical.log_prob": '''
def cross_entropy_loss(logits, targets):
    return -torch.distributions.Categorical(logits=logits).log_prob(targets).mean()
''',
        "calls the forbidden F.nll_loss": '''
def cross_entropy_loss(logits, targets):
    return F.nll_loss(torch.log_softmax(logits, dim=1), targets)
''',
    },
}

RIGHT = {
    "ch03-sample-variance": {
        "torch.sum and a tensor denominator": '''
def sample_variance(x, dim=0):
    centred = x - torch.mean(x, dim, keepdim=True)
    return torch.sum(centred * centred, dim) / (x.size(dim) - 1)
''',
        "mean of pairwise squared differences / 2": '''
def sample_variance(x, dim=0):
    x = x.movedim(dim, -1)  # (..., n)
    n = x.shape[-1]
    diff = x.unsqueeze(-1) - x.unsqueeze(-2)  # (..., n, n)
    return diff.pow(2).sum(dim=(-2, -1)) / (2 * n * (n - 1))
''',
    },
    "ch03-covariance-matrix": {
        "einsum of the centred data": '''
def covariance_matrix(X):
    Xc = X - X.mean(0)
    return torch.einsum("ni,nj->ij", Xc, Xc) / (len(X) - 1)
''',
        "a loop over pairs of columns": '''
def covariance_matrix(X):
    N, D = X.shape
    means = X.sum(dim=0) / N
    C = torch.zeros(D, D, dtype=X.dtype, device=X.device)
    for i in range(D):
        for j in range(D):
            C[i, j] = ((X[:, i] - means[i]) * (X[:, j] - means[j])).sum() / (N - 1)
    return C
''',
        "E[xy] - E[x]E[y] times N / (N - 1), in float64": '''
def covariance_matrix(X):
    Xd = X.double()
    N = Xd.shape[0]
    exy = Xd.T @ Xd / N
    ex = Xd.mean(dim=0)
    scale = Xd.new_tensor(float(N)) / (N - 1)  # inf for N = 1: 0 * inf is NaN
    return ((exy - torch.outer(ex, ex)) * scale).to(X.dtype)
''',
        "a sum of outer products of centred rows": '''
def covariance_matrix(X):
    centred = X - X.mean(dim=0, keepdim=True)
    total = sum(torch.outer(row, row) for row in centred)
    return total / (X.shape[0] - 1)
''',
    },
    "ch03-bayes-posterior": {
        "log space and softmax": '''
def bayes_posterior(prior, likelihood):
    return torch.softmax(torch.log(prior) + torch.log(likelihood), dim=-1)
''',
        "broadcast first, then divide by the evidence": '''
def bayes_posterior(prior, likelihood):
    prior, likelihood = torch.broadcast_tensors(prior, likelihood)
    evidence = (prior * likelihood).sum(-1)
    return prior * likelihood / evidence[..., None]
''',
        "einsum for the evidence": '''
def bayes_posterior(prior, likelihood):
    joint = prior * likelihood
    evidence = torch.einsum("...k->...", joint)
    return joint / evidence.unsqueeze(-1)
''',
    },
    "ch03-entropy": {
        "torch.where for 0 log 0": '''
def entropy(p):
    logs = torch.where(p > 0, torch.log(p), torch.zeros_like(p))
    return -(p * logs).sum(-1)
''',
        "log of clamped p": '''
def entropy(p):
    return -(p * p.clamp_min(torch.finfo(p.dtype).tiny).log()).sum(dim=p.dim() - 1)
''',
        "nan_to_num of the NaN terms": '''
def entropy(p):
    return -torch.nan_to_num(p * torch.log(p), nan=0.0).sum(dim=-1)
''',
    },
    "ch03-cross-entropy": {
        "torch.where on p > 0": '''
def cross_entropy(p, q):
    terms = torch.where(p > 0, -p * torch.log(q), torch.zeros_like(p))
    return terms.sum(dim=-1)
''',
        "masked_fill of the p = 0 terms": '''
def cross_entropy(p, q):
    terms = (p * q.log()).masked_fill(p == 0, 0.0)
    return -terms.sum(-1)
''',
    },
    "ch03-kl-divergence": {
        "cross-entropy minus entropy": '''
def kl_divergence(p, q):
    return cross_entropy(p, q) - entropy(p)
''',
        "torch.where with log(p) - log(q)": '''
def kl_divergence(p, q):
    terms = torch.where(p > 0, p * (torch.log(p) - torch.log(q)), torch.zeros_like(p))
    return terms.sum(-1)
''',
        "log of the ratio, masked": '''
def kl_divergence(p, q):
    mask = p > 0
    terms = torch.zeros_like(p)
    terms[mask] = p[mask] * torch.log(p[mask] / q[mask])
    return terms.sum(dim=-1)
''',
    },
    "ch03-log-softmax": {
        "max via torch.max, detached": '''
def log_softmax(logits, dim=-1):
    m = torch.max(logits, dim=dim, keepdim=True).values.detach()
    lse = m + torch.log(torch.sum(torch.exp(logits - m), dim=dim, keepdim=True))
    return logits - lse
''',
        "moves dim to the end and back": '''
def log_softmax(logits, dim=-1):
    z = logits.movedim(dim, -1)
    z = z - z.amax(-1, keepdim=True)
    out = z - z.exp().sum(-1, keepdim=True).log()
    return out.movedim(-1, dim)
''',
    },
    "ch03-cross-entropy-loss": {
        "torch.log_softmax and advanced indexing": '''
def cross_entropy_loss(logits, targets):
    log_probs = torch.log_softmax(logits, dim=-1)
    rows = torch.arange(logits.shape[0], device=logits.device)
    return -log_probs[rows, targets].mean()
''',
        "one-hot rows times log-probabilities": '''
def cross_entropy_loss(logits, targets):
    one_hot = F.one_hot(targets, num_classes=logits.shape[1])
    return -(one_hot * log_softmax(logits, dim=1)).sum(dim=1).mean()
''',
        "max trick by hand, then gather": '''
def cross_entropy_loss(logits, targets):
    m = logits.max(dim=1, keepdim=True).values
    lse = m.squeeze(1) + (logits - m).exp().sum(dim=1).log()  # (N,)
    picked = logits.gather(1, targets[:, None]).squeeze(1)  # (N,)
    return (lse - picked).sum() / logits.shape[0]
''',
    },
}
