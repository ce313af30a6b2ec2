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
    },
    "ch03-entropy": {
        "log base 2 (bits)": '''
def entropy(p):
    return -torch.xlogy(p, p).sum(dim=-1) / math.log(2)
''',
        "missing minus sign": '''
def entropy(p):
    return torch.xlogy(p, p).sum(dim=-1)
''',
        "naive p * log(p): NaN at zero probabilities": '''
def entropy(p):
    return -(p * torch.log(p)).sum(dim=-1)
''',
        "sums over the first dimension": '''
def entropy(p):
    return -torch.xlogy(p, p).sum(dim=0)
''',
        "keeps the reduced dimension": '''
def entropy(p):
    return -torch.xlogy(p, p).sum(dim=-1, keepdim=True)
''',
        "calls the forbidden torch.special.entr": '''
def entropy(p):
    return torch.special.entr(p).sum(dim=-1)
''',
    },
    "ch03-cross-entropy": {
        "swapped arguments: H(q, p)": '''
def cross_entropy(p, q):
    return -torch.xlogy(q, p).sum(dim=-1)
''',
        "missing minus sign": '''
def cross_entropy(p, q):
    return torch.xlogy(p, q).sum(dim=-1)
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
    return -torch.xlogy(p, q).sum(dim=-1) / math.log(2)
''',
    },
    "ch03-kl-divergence": {
        "swapped arguments: KL(q || p)": '''
def kl_divergence(p, q):
    return (torch.xlogy(q, q) - torch.xlogy(q, p)).sum(dim=-1)
''',
        "log(q / p) instead of log(p / q)": '''
def kl_divergence(p, q):
    return (torch.xlogy(p, q) - torch.xlogy(p, p)).sum(dim=-1)
''',
        "naive p * log(p / q): NaN at zero probabilities": '''
def kl_divergence(p, q):
    return (p * torch.log(p / q)).sum(dim=-1)
''',
        "H(p, q) + H(p) instead of H(p, q) - H(p)": '''
def kl_divergence(p, q):
    return -(torch.xlogy(p, q) + torch.xlogy(p, p)).sum(dim=-1)
''',
        "calls the forbidden torch.distributions.kl_divergence": '''
def kl_divergence(p, q):
    return torch.distributions.kl_divergence(torch.distributions.Categorical(probs=p),
                                             torch.distributions.Categorical(probs=q))
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
    },
    "ch03-cross-entropy": {
        "torch.where on p > 0": '''
def cross_entropy(p, q):
    terms = torch.where(p > 0, -p * torch.log(q), torch.zeros_like(p))
    return terms.sum(dim=-1)
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
    },
}
