"""ch21: planted wrong answers (must lose points) and right answers written
differently (must pass)."""

_AE_HEAD = '''
class Autoencoder(nn.Module):
    def __init__(self, input_dim, hidden_dims, latent_dim):
        super().__init__()
        sizes = [input_dim, *hidden_dims, latent_dim]
        if min(sizes) < 1:
            raise ValueError("sizes")
'''

_AE_STACK = '''
        def stack(dims):
            layers = []
            for a, b in zip(dims[:-1], dims[1:]):
                layers += [nn.Linear(a, b), nn.ReLU()]
            return nn.Sequential(*layers[:-1])
'''

_AE_METHODS = '''
    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        z = self.encode(x)
        return self.decode(z), z
'''

_CHECKS = '''
    if recon.shape != x.shape or mu.shape != logvar.shape:
        raise ValueError("shapes")
    if recon.shape[0] != mu.shape[0] or beta < 0:
        raise ValueError("batch or beta")
'''

_INTERP_CHECKS = '''
    if steps < 1 or z0.shape != z1.shape:
        raise ValueError("bad arguments")
'''

WRONG = {
    "ch21-autoencoder": {
        "a sigmoid at the end of the decoder (probabilities, not logits)":
            _AE_HEAD + _AE_STACK + '''
        self.encoder = stack(sizes)
        self.decoder = nn.Sequential(*stack(sizes[::-1]), nn.Sigmoid())
''' + _AE_METHODS,
        "a ReLU on the code": _AE_HEAD + _AE_STACK + '''
        self.encoder = nn.Sequential(*stack(sizes), nn.ReLU())
        self.decoder = stack(sizes[::-1])
''' + _AE_METHODS,
        "decoder not mirrored (hidden sizes in the encoder's order)":
            _AE_HEAD + _AE_STACK + '''
        self.encoder = stack(sizes)
        self.decoder = stack([latent_dim, *hidden_dims, input_dim])
''' + _AE_METHODS,
        "no ReLU at all (a linear autoencoder)": _AE_HEAD + '''
        def stack(dims):
            pairs = zip(dims[:-1], dims[1:])
            return nn.Sequential(*[nn.Linear(a, b) for a, b in pairs])
        self.encoder = stack(sizes)
        self.decoder = stack(sizes[::-1])
''' + _AE_METHODS,
        "forward returns (z, logits)": _AE_HEAD + _AE_STACK + '''
        self.encoder = stack(sizes)
        self.decoder = stack(sizes[::-1])

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        z = self.encode(x)
        return z, self.decode(z)
''',
        "decoder built first (parameter order)": _AE_HEAD + _AE_STACK + '''
        self.decoder = stack(sizes[::-1])
        self.encoder = stack(sizes)
''' + _AE_METHODS,
        "no ValueError for a size of 0": '''
class Autoencoder(nn.Module):
    def __init__(self, input_dim, hidden_dims, latent_dim):
        super().__init__()
        sizes = [input_dim, *hidden_dims, latent_dim]
''' + _AE_STACK + '''
        self.encoder = stack(sizes)
        self.decoder = stack(sizes[::-1])
''' + _AE_METHODS,
    },
    "ch21-reparameterize": {
        "logvar treated as log sigma (sigma = exp(logvar))": '''
def reparameterize(mu, logvar, generator=None):
    if mu.shape != logvar.shape:
        raise ValueError("shapes")
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
    return mu + torch.exp(logvar) * eps
''',
        "eps from the global generator (randn_like without the generator)": '''
def reparameterize(mu, logvar, generator=None):
    if mu.shape != logvar.shape:
        raise ValueError("shapes")
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
''',
        "sigma detached: no gradient reaches logvar": '''
def reparameterize(mu, logvar, generator=None):
    if mu.shape != logvar.shape:
        raise ValueError("shapes")
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
    return mu + torch.exp(0.5 * logvar).detach() * eps
''',
        "the variance instead of the standard deviation": '''
def reparameterize(mu, logvar, generator=None):
    if mu.shape != logvar.shape:
        raise ValueError("shapes")
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
    return mu + logvar.exp() * eps
''',
        "torch.normal(mu, sigma): a sample without gradients": '''
def reparameterize(mu, logvar, generator=None):
    if mu.shape != logvar.shape:
        raise ValueError("shapes")
    return torch.normal(mu, torch.exp(0.5 * logvar), generator=generator).detach()
''',
        "shapes broadcast instead of a ValueError": '''
def reparameterize(mu, logvar, generator=None):
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
    return mu + torch.exp(0.5 * logvar) * eps
''',
    },
    "ch21-vae-loss": {
        "KL with the wrong sign": '''
def vae_loss(recon, x, mu, logvar, beta=1.0):
''' + _CHECKS + '''
    n = recon.shape[0]
    rec = F.binary_cross_entropy_with_logits(recon, x, reduction="sum") / n
    kl = -0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum() / n
    return rec + beta * kl, rec, kl
''',
        "mean over every element (the losses' default reduction)": '''
def vae_loss(recon, x, mu, logvar, beta=1.0):
''' + _CHECKS + '''
    rec = F.binary_cross_entropy_with_logits(recon, x)
    kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).mean()
    return rec + beta * kl, rec, kl
''',
        "summed over the batch too (no division by N)": '''
def vae_loss(recon, x, mu, logvar, beta=1.0):
''' + _CHECKS + '''
    rec = F.binary_cross_entropy_with_logits(recon, x, reduction="sum")
    kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum()
    return rec + beta * kl, rec, kl
''',
        "reconstruction averaged over pixels, KL summed": '''
def vae_loss(recon, x, mu, logvar, beta=1.0):
''' + _CHECKS + '''
    n = recon.shape[0]
    rec = F.binary_cross_entropy_with_logits(recon, x)
    kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum() / n
    return rec + beta * kl, rec, kl
''',
        "KL averaged over the latent coordinates": '''
def vae_loss(recon, x, mu, logvar, beta=1.0):
''' + _CHECKS + '''
    n = recon.shape[0]
    rec = F.binary_cross_entropy_with_logits(recon, x, reduction="sum") / n
    kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).mean(dim=1).mean()
    return rec + beta * kl, rec, kl
''',
        "logvar treated as log sigma in the KL": '''
def vae_loss(recon, x, mu, logvar, beta=1.0):
''' + _CHECKS + '''
    n = recon.shape[0]
    rec = F.binary_cross_entropy_with_logits(recon, x, reduction="sum") / n
    kl = 0.5 * (mu ** 2 + torch.exp(2 * logvar) - 1 - 2 * logvar).sum() / n
    return rec + beta * kl, rec, kl
''',
        "sigmoid then F.binary_cross_entropy (clamped at 100)": '''
def vae_loss(recon, x, mu, logvar, beta=1.0):
''' + _CHECKS + '''
    n = recon.shape[0]
    rec = F.binary_cross_entropy(torch.sigmoid(recon), x, reduction="sum") / n
    kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum() / n
    return rec + beta * kl, rec, kl
''',
        "naive log(sigmoid) BCE (inf for large logits)": '''
def vae_loss(recon, x, mu, logvar, beta=1.0):
''' + _CHECKS + '''
    n = recon.shape[0]
    p = torch.sigmoid(recon)
    rec = -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum() / n
    kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum() / n
    return rec + beta * kl, rec, kl
''',
        "beta on the reconstruction instead of the KL": '''
def vae_loss(recon, x, mu, logvar, beta=1.0):
''' + _CHECKS + '''
    n = recon.shape[0]
    rec = F.binary_cross_entropy_with_logits(recon, x, reduction="sum") / n
    kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum() / n
    return beta * rec + kl, rec, kl
''',
        "calls the forbidden torch.distributions.kl_divergence": '''
def vae_loss(recon, x, mu, logvar, beta=1.0):
''' + _CHECKS + '''
    n = recon.shape[0]
    rec = F.binary_cross_entropy_with_logits(recon, x, reduction="sum") / n
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    kl = torch.distributions.kl_divergence(q, p).sum() / n
    return rec + beta * kl, rec, kl
''',
        "returns only the total loss": '''
def vae_loss(recon, x, mu, logvar, beta=1.0):
''' + _CHECKS + '''
    n = recon.shape[0]
    rec = F.binary_cross_entropy_with_logits(recon, x, reduction="sum") / n
    kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum() / n
    return rec + beta * kl
''',
    },
    "ch21-interpolate-latents": {
        "t = k / steps: the last point stops short of z1": '''
def interpolate_latents(z0, z1, steps):
''' + _INTERP_CHECKS + '''
    t = torch.arange(steps, dtype=z0.dtype, device=z0.device) / steps
    t = t.reshape(steps, *([1] * z0.dim()))
    return (1 - t) * z0 + t * z1
''',
        "steps = 1 divides by zero (NaN)": '''
def interpolate_latents(z0, z1, steps):
''' + _INTERP_CHECKS + '''
    t = torch.arange(steps, dtype=z0.dtype, device=z0.device) / (steps - 1)
    t = t.reshape(steps, *([1] * z0.dim()))
    return (1 - t) * z0 + t * z1
''',
        "from z1 to z0 (reversed)": '''
def interpolate_latents(z0, z1, steps):
''' + _INTERP_CHECKS + '''
    t = torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device)
    t = t.reshape(steps, *([1] * z0.dim()))
    return t * z0 + (1 - t) * z1
''',
        "steps along the last axis: shape (*S, steps)": '''
def interpolate_latents(z0, z1, steps):
''' + _INTERP_CHECKS + '''
    t = torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device)
    return (1 - t) * z0[..., None] + t * z1[..., None]
''',
        "calls the forbidden torch.lerp": '''
def interpolate_latents(z0, z1, steps):
''' + _INTERP_CHECKS + '''
    t = torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device)
    return torch.lerp(z0, z1, t.reshape(steps, *([1] * z0.dim())))
''',
        "t in float32 on the CPU (float64 precision lost, wrong device)": '''
def interpolate_latents(z0, z1, steps):
''' + _INTERP_CHECKS + '''
    t = torch.linspace(0, 1, steps).reshape(steps, *([1] * z0.dim()))
    return ((1 - t) * z0.cpu() + t * z1.cpu()).to(z0.dtype)
''',
    },
}

RIGHT = {
    "ch21-autoencoder": {
        "ModuleLists of Linear layers and an explicit loop": '''
class Autoencoder(nn.Module):
    def __init__(self, input_dim, hidden_dims, latent_dim):
        super().__init__()
        dims = [input_dim] + list(hidden_dims) + [latent_dim]
        if any(d < 1 for d in dims):
            raise ValueError(f"bad sizes {dims}")
        self.enc = nn.ModuleList(nn.Linear(dims[i], dims[i + 1])
                                 for i in range(len(dims) - 1))
        back = dims[::-1]
        self.dec = nn.ModuleList(nn.Linear(back[i], back[i + 1])
                                 for i in range(len(back) - 1))

    @staticmethod
    def _run(layers, h):
        for i, layer in enumerate(layers):
            h = layer(h)
            if i + 1 < len(layers):
                h = F.relu(h)
        return h

    def encode(self, x):
        return self._run(self.enc, x)

    def decode(self, z):
        return self._run(self.dec, z)

    def forward(self, x):
        code = self.encode(x)
        return self.decode(code), code
''',
    },
    "ch21-reparameterize": {
        "randn_like with the generator and sqrt(exp(logvar))": '''
def reparameterize(mu, logvar, generator=None):
    if logvar.shape != mu.shape:
        raise ValueError("mu and logvar must have the same shape")
    noise = torch.randn_like(mu, generator=generator)
    return mu + torch.sqrt(torch.exp(logvar)) * noise
''',
        "normal_ on an empty tensor and addcmul": '''
def reparameterize(mu, logvar, generator=None):
    if tuple(mu.shape) != tuple(logvar.shape):
        raise ValueError("shape mismatch")
    eps = mu.new_empty(mu.shape).normal_(generator=generator)
    return torch.addcmul(mu, logvar.mul(0.5).exp(), eps)
''',
    },
    "ch21-vae-loss": {
        "softplus written with logaddexp, KL per row then mean": '''
def vae_loss(recon, x, mu, logvar, beta=1.0):
    if recon.shape != x.shape:
        raise ValueError("recon and x")
    if mu.shape != logvar.shape or mu.shape[0] != x.shape[0]:
        raise ValueError("mu and logvar")
    if beta < 0:
        raise ValueError("beta")
    per_pixel = torch.logaddexp(torch.zeros_like(recon), recon) - x * recon
    reconstruction = per_pixel.flatten(1).sum(dim=1).mean()
    kl = (0.5 * (mu.pow(2) + torch.exp(logvar) - 1.0 - logvar)).sum(dim=1).mean()
    return reconstruction + beta * kl, reconstruction, kl
''',
        "the stable max form of BCE": '''
def vae_loss(recon, x, mu, logvar, beta=1.0):
    if recon.shape != x.shape or mu.shape != logvar.shape:
        raise ValueError("shapes")
    if len(recon) != len(mu) or beta < 0:
        raise ValueError("batch or beta")
    n = len(recon)
    bce = recon.clamp(min=0) - recon * x + torch.log1p(torch.exp(-recon.abs()))
    var = logvar.exp()
    kl = -0.5 * torch.sum(1 + logvar - mu * mu - var) / n
    rec = bce.sum() / n
    return rec + beta * kl, rec, kl
''',
    },
    "ch21-interpolate-latents": {
        "linspace (one point gives [0]) and an outer product": '''
def interpolate_latents(z0, z1, steps):
    if z0.shape != z1.shape:
        raise ValueError("shapes")
    if steps < 1:
        raise ValueError("steps")
    t = torch.linspace(0.0, 1.0, steps, dtype=z0.dtype, device=z0.device)
    flat = (1 - t)[:, None] * z0.reshape(1, -1) + t[:, None] * z1.reshape(1, -1)
    return flat.reshape(steps, *z0.shape)
''',
        "a stack of points, z0 alone for one step": '''
def interpolate_latents(z0, z1, steps):
    if steps < 1 or z0.shape != z1.shape:
        raise ValueError("bad arguments")
    if steps == 1:
        return torch.stack([z0.clone()])
    points = [z0 * (1 - k / (steps - 1)) + z1 * (k / (steps - 1)) for k in range(steps)]
    return torch.stack(points)
''',
    },
}

# second reviewer's wrong and right answers
_MORE_WRONG = {
    "ch21-autoencoder": {
        "a ReLU on the output too (on the logits)": _AE_HEAD + '''
        def stack(dims):
            layers = []
            for a, b in zip(dims[:-1], dims[1:]):
                layers += [nn.Linear(a, b), nn.ReLU()]
            return layers
        self.encoder = nn.Sequential(*stack(sizes)[:-1])
        self.decoder = nn.Sequential(*stack(sizes[::-1]))
''' + _AE_METHODS,
        "list concatenation: fails for a tuple of hidden sizes": '''
class Autoencoder(nn.Module):
    def __init__(self, input_dim, hidden_dims, latent_dim):
        super().__init__()
        sizes = [input_dim] + hidden_dims + [latent_dim]
        if min(sizes) < 1:
            raise ValueError("sizes")
        def stack(dims):
            layers = []
            for a, b in zip(dims[:-1], dims[1:]):
                layers += [nn.Linear(a, b), nn.ReLU()]
            return nn.Sequential(*layers[:-1])
        self.encoder = stack(sizes)
        self.decoder = stack(sizes[::-1])
''' + _AE_METHODS,
        "layers kept in a plain Python list (not registered)": _AE_HEAD + '''
        self.enc = [nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])]
        back = sizes[::-1]
        self.dec = [nn.Linear(a, b) for a, b in zip(back[:-1], back[1:])]

    @staticmethod
    def _run(layers, h):
        for i, layer in enumerate(layers):
            h = layer(h)
            if i + 1 < len(layers):
                h = torch.relu(h)
        return h

    def encode(self, x):
        return self._run(self.enc, x)

    def decode(self, z):
        return self._run(self.dec, z)

    def forward(self, x):
        z = self.encode(x)
        return self.decode(z), z
''',
        "Linear layers without bias": _AE_HEAD + '''
        def stack(dims):
            layers = []
            for a, b in zip(dims[:-1], dims[1:]):
                layers += [nn.Linear(a, b, bias=False), nn.ReLU()]
            return nn.Sequential(*layers[:-1])
        self.encoder = stack(sizes)
        self.decoder = stack(sizes[::-1])
''' + _AE_METHODS,
    },
    "ch21-reparameterize": {
        "sigma = exp(logvar) / 2 (the half outside the exponential)": '''
def reparameterize(mu, logvar, generator=None):
    if mu.shape != logvar.shape:
        raise ValueError("shapes")
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
    return mu + 0.5 * torch.exp(logvar) * eps
''',
        "eps drawn in float32 and cast to mu's dtype": '''
def reparameterize(mu, logvar, generator=None):
    if mu.shape != logvar.shape:
        raise ValueError("shapes")
    eps = torch.randn(mu.shape, generator=generator, device=mu.device).to(mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps
''',
        "one eps for the whole batch (shape (Z,) broadcast)": '''
def reparameterize(mu, logvar, generator=None):
    if mu.shape != logvar.shape:
        raise ValueError("shapes")
    eps = torch.randn(mu.shape[-1], generator=generator, dtype=mu.dtype,
                      device=mu.device)
    return mu + torch.exp(0.5 * logvar) * eps
''',
        "logvar read as the variance: sigma = sqrt(logvar)": '''
def reparameterize(mu, logvar, generator=None):
    if mu.shape != logvar.shape:
        raise ValueError("shapes")
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
    return mu + torch.sqrt(logvar) * eps
''',
    },
    "ch21-vae-loss": {
        "KL without the factor 1/2": '''
def vae_loss(recon, x, mu, logvar, beta=1.0):
''' + _CHECKS + '''
    n = recon.shape[0]
    rec = F.binary_cross_entropy_with_logits(recon, x, reduction="sum") / n
    kl = (mu ** 2 + logvar.exp() - 1 - logvar).sum() / n
    return rec + beta * kl, rec, kl
''',
        "KL with sigma where sigma^2 belongs": '''
def vae_loss(recon, x, mu, logvar, beta=1.0):
''' + _CHECKS + '''
    n = recon.shape[0]
    rec = F.binary_cross_entropy_with_logits(recon, x, reduction="sum") / n
    kl = 0.5 * (mu ** 2 + torch.exp(0.5 * logvar) - 1 - logvar).sum() / n
    return rec + beta * kl, rec, kl
''',
        "BCE summed over the last axis only, then averaged": '''
def vae_loss(recon, x, mu, logvar, beta=1.0):
''' + _CHECKS + '''
    bce = F.binary_cross_entropy_with_logits(recon, x, reduction="none")
    rec = bce.sum(dim=-1).mean()
    kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(dim=-1).mean()
    return rec + beta * kl, rec, kl
''',
        "logits and targets swapped in the BCE": '''
def vae_loss(recon, x, mu, logvar, beta=1.0):
''' + _CHECKS + '''
    n = recon.shape[0]
    rec = F.binary_cross_entropy_with_logits(x, torch.sigmoid(recon),
                                             reduction="sum") / n
    kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum() / n
    return rec + beta * kl, rec, kl
''',
        "KL as a Python number (no gradient to mu and logvar)": '''
def vae_loss(recon, x, mu, logvar, beta=1.0):
''' + _CHECKS + '''
    n = recon.shape[0]
    rec = F.binary_cross_entropy_with_logits(recon, x, reduction="sum") / n
    kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum().item() / n
    kl = torch.tensor(kl, dtype=recon.dtype, device=recon.device)
    return rec + beta * kl, rec, kl
''',
    },
    "ch21-interpolate-latents": {
        "steps = 1 returns z0 without the leading axis": '''
def interpolate_latents(z0, z1, steps):
''' + _INTERP_CHECKS + '''
    if steps == 1:
        return z0.clone()
    t = torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device)
    return (1 - t).reshape(steps, *([1] * z0.dim())) * z0 + t.reshape(
        steps, *([1] * z0.dim())) * z1
''',
        "t as a column (steps, 1): only right for 1-D codes": '''
def interpolate_latents(z0, z1, steps):
''' + _INTERP_CHECKS + '''
    t = torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device)[:, None]
    return (1 - t) * z0 + t * z1
''',
        "z0 + t (z1 - z0) with t = k / steps for steps > 1": '''
def interpolate_latents(z0, z1, steps):
''' + _INTERP_CHECKS + '''
    t = torch.linspace(0, 1, steps + 1, dtype=z0.dtype, device=z0.device)[1:]
    t = t.reshape(steps, *([1] * z0.dim()))
    return z0 + t * (z1 - z0)
''',
    },
}
_MORE_RIGHT = {
    "ch21-autoencoder": {
        "raw weights in a ParameterList and F.linear": '''
class Autoencoder(nn.Module):
    def __init__(self, input_dim, hidden_dims, latent_dim):
        super().__init__()
        dims = [input_dim, *hidden_dims, latent_dim]
        if any(d < 1 for d in dims):
            raise ValueError(f"sizes must be >= 1: {dims}")
        self.n_enc = len(dims) - 1
        dims = dims + dims[-2::-1]
        params = []
        for d_in, d_out in zip(dims, dims[1:]):
            bound = d_in ** -0.5
            weight = torch.empty(d_out, d_in).uniform_(-bound, bound)
            params.append(nn.Parameter(weight))
            params.append(nn.Parameter(torch.empty(d_out).uniform_(-bound, bound)))
        self.params = nn.ParameterList(params)

    def _run(self, h, first, last):
        for i in range(first, last):
            h = F.linear(h, self.params[2 * i], self.params[2 * i + 1])
            if i < last - 1:
                h = h.clamp(min=0)
        return h

    def encode(self, x):
        return self._run(x, 0, self.n_enc)

    def decode(self, z):
        return self._run(z, self.n_enc, 2 * self.n_enc)

    def forward(self, x):
        z = self.encode(x)
        return self.decode(z), z
''',
    },
    "ch21-reparameterize": {
        "torch.normal(0, 1, size=...) and sqrt of the variance": '''
def reparameterize(mu, logvar, generator=None):
    if mu.size() != logvar.size():
        raise ValueError("mu and logvar differ in shape")
    eps = torch.normal(0.0, 1.0, size=mu.shape, generator=generator,
                       dtype=mu.dtype, device=mu.device)
    std = logvar.exp() ** 0.5
    return eps * std + mu
''',
    },
    "ch21-vae-loss": {
        "BCE per element with reduction='none', KL per row": '''
def vae_loss(recon, x, mu, logvar, beta=1.0):
    if recon.shape != x.shape or mu.shape != logvar.shape:
        raise ValueError("shape mismatch")
    n = x.shape[0]
    if mu.shape[0] != n:
        raise ValueError("batch mismatch")
    if beta < 0:
        raise ValueError("beta must be non-negative")
    bce = F.binary_cross_entropy_with_logits(recon, x, reduction="none")
    reconstruction = bce.reshape(n, -1).sum(dim=1).mean()
    z = mu.shape[1]
    kl_rows = 0.5 * (mu.square().sum(1) + logvar.exp().sum(1) - z - logvar.sum(1))
    kl = kl_rows.mean()
    return reconstruction + beta * kl, reconstruction, kl
''',
    },
    "ch21-interpolate-latents": {
        "z0 + t (z1 - z0) with view": '''
def interpolate_latents(z0, z1, steps):
    if not steps >= 1:
        raise ValueError("steps")
    if z0.shape != z1.shape:
        raise ValueError("shapes")
    denom = max(steps - 1, 1)
    t = torch.arange(steps, device=z0.device).to(z0.dtype) / denom
    t = t.view(-1, *([1] * z0.ndim))
    return z0 + t * (z1 - z0)
''',
    },
}

for _table, _more in ((WRONG, _MORE_WRONG), (RIGHT, _MORE_RIGHT)):
    for _answer_id, _cases in _more.items():
        _table[_answer_id].update(_cases)
