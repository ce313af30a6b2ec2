"""ch20: planted wrong answers (must lose points) and right answers written
differently (must pass)."""

_GENERATOR_HEAD = '''
class Generator(nn.Module):
    def __init__(self, latent_dim, hidden_dim, image_shape):
        super().__init__()
        self.image_shape = tuple(image_shape)
'''

_DISCRIMINATOR_HEAD = '''
class Discriminator(nn.Module):
    def __init__(self, image_shape, hidden_dim):
        super().__init__()
'''

_STEP_HEAD = '''
def gan_train_step(generator, discriminator, g_optimizer, d_optimizer, real, z):
'''

WRONG = {
    "ch20-discriminator-loss": {
        "Bernoulli(logits=...).log_prob (forbidden)": '''
def discriminator_loss(real_logits, fake_logits, real_target=1.0):
    if real_logits.numel() == 0 or fake_logits.numel() == 0:
        raise ValueError("empty")
    real = torch.distributions.Bernoulli(logits=real_logits)
    fake = torch.distributions.Bernoulli(logits=fake_logits)
    return (-real.log_prob(torch.full_like(real_logits, real_target)).mean()
            - fake.log_prob(torch.zeros_like(fake_logits)).mean())
''',
        "label smoothing without the (1 - t) term": '''
def discriminator_loss(real_logits, fake_logits, real_target=1.0):
    if real_logits.numel() == 0 or fake_logits.numel() == 0:
        raise ValueError("empty")
    return ((real_target * F.softplus(-real_logits)).mean()
            + F.softplus(fake_logits).mean())
''',
        "sigmoid clamped to [1e-7, 1 - 1e-7], then log": '''
def discriminator_loss(real_logits, fake_logits, real_target=1.0):
    if real_logits.numel() == 0 or fake_logits.numel() == 0:
        raise ValueError("empty")
    p = torch.sigmoid(real_logits).clamp(1e-7, 1 - 1e-7)
    q = torch.sigmoid(fake_logits).clamp(1e-7, 1 - 1e-7)
    t = real_target
    return -(t * p.log() + (1 - t) * (1 - p).log()).mean() - (1 - q).log().mean()
''',
        "both sums divided by N_r": '''
def discriminator_loss(real_logits, fake_logits, real_target=1.0):
    if real_logits.numel() == 0 or fake_logits.numel() == 0:
        raise ValueError("empty")
    t = real_target
    real_term = t * F.softplus(-real_logits) + (1 - t) * F.softplus(real_logits)
    return (real_term.sum() + F.softplus(fake_logits).sum()) / len(real_logits)
''',
        "result cast to float32": '''
def discriminator_loss(real_logits, fake_logits, real_target=1.0):
    if real_logits.numel() == 0 or fake_logits.numel() == 0:
        raise ValueError("empty")
    t = real_target
    real_term = t * F.softplus(-real_logits) + (1 - t) * F.softplus(real_logits)
    return (real_term.mean() + F.softplus(fake_logits).mean()).float()
''',
        "fakes labelled real (softplus(-f) for the fake term)": '''
def discriminator_loss(real_logits, fake_logits, real_target=1.0):
    if real_logits.numel() == 0 or fake_logits.numel() == 0:
        raise ValueError("empty")
    real_term = (real_target * F.softplus(-real_logits)
                 + (1 - real_target) * F.softplus(real_logits)).mean()
    return real_term + F.softplus(-fake_logits).mean()
''',
        "log of the sigmoid (infinite at large logits)": '''
def discriminator_loss(real_logits, fake_logits, real_target=1.0):
    if real_logits.numel() == 0 or fake_logits.numel() == 0:
        raise ValueError("empty")
    p_real, p_fake = torch.sigmoid(real_logits), torch.sigmoid(fake_logits)
    real_term = -(real_target * torch.log(p_real)
                  + (1 - real_target) * torch.log(1 - p_real)).mean()
    return real_term - torch.log(1 - p_fake).mean()
''',
        "the two terms averaged instead of added": '''
def discriminator_loss(real_logits, fake_logits, real_target=1.0):
    if real_logits.numel() == 0 or fake_logits.numel() == 0:
        raise ValueError("empty")
    real_term = (real_target * F.softplus(-real_logits)
                 + (1 - real_target) * F.softplus(real_logits)).mean()
    return (real_term + F.softplus(fake_logits).mean()) / 2
''',
        "real_target ignored (always 1)": '''
def discriminator_loss(real_logits, fake_logits, real_target=1.0):
    if real_logits.numel() == 0 or fake_logits.numel() == 0:
        raise ValueError("empty")
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
''',
        "label smoothing on the fakes too (fake target 1 - t)": '''
def discriminator_loss(real_logits, fake_logits, real_target=1.0):
    if real_logits.numel() == 0 or fake_logits.numel() == 0:
        raise ValueError("empty")
    t = real_target
    real_term = (t * F.softplus(-real_logits) + (1 - t) * F.softplus(real_logits))
    fake_term = ((1 - t) * F.softplus(-fake_logits) + t * F.softplus(fake_logits))
    return real_term.mean() + fake_term.mean()
''',
        "one mean over both batches together": '''
def discriminator_loss(real_logits, fake_logits, real_target=1.0):
    if real_logits.numel() == 0 or fake_logits.numel() == 0:
        raise ValueError("empty")
    real_term = (real_target * F.softplus(-real_logits)
                 + (1 - real_target) * F.softplus(real_logits))
    return 2 * torch.cat([real_term, F.softplus(fake_logits)]).mean()
''',
        "calls the forbidden binary_cross_entropy_with_logits": '''
def discriminator_loss(real_logits, fake_logits, real_target=1.0):
    if real_logits.numel() == 0 or fake_logits.numel() == 0:
        raise ValueError("empty")
    bce = F.binary_cross_entropy_with_logits
    return (bce(real_logits, torch.full_like(real_logits, real_target))
            + bce(fake_logits, torch.zeros_like(fake_logits)))
''',
        "no ValueError for an empty batch (nan)": '''
def discriminator_loss(real_logits, fake_logits, real_target=1.0):
    real_term = (real_target * F.softplus(-real_logits)
                 + (1 - real_target) * F.softplus(real_logits)).mean()
    return real_term + F.softplus(fake_logits).mean()
''',
        "a Python float (no gradient)": '''
def discriminator_loss(real_logits, fake_logits, real_target=1.0):
    if real_logits.numel() == 0 or fake_logits.numel() == 0:
        raise ValueError("empty")
    real_term = (real_target * F.softplus(-real_logits)
                 + (1 - real_target) * F.softplus(real_logits)).mean()
    return torch.tensor((real_term + F.softplus(fake_logits).mean()).item(),
                        dtype=real_logits.dtype, device=real_logits.device)
''',
    },
    "ch20-generator-loss": {
        "Bernoulli(logits=...).log_prob (forbidden)": '''
def generator_loss(fake_logits):
    if fake_logits.numel() == 0:
        raise ValueError("empty")
    d = torch.distributions.Bernoulli(logits=fake_logits)
    return -d.log_prob(torch.ones_like(fake_logits)).mean()
''',
        "log1p(exp(-f)) (inf for rejected fakes)": '''
def generator_loss(fake_logits):
    if fake_logits.numel() == 0:
        raise ValueError("empty")
    return torch.log1p(torch.exp(-fake_logits)).mean()
''',
        "per-example losses, no mean": '''
def generator_loss(fake_logits):
    if fake_logits.numel() == 0:
        raise ValueError("empty")
    return F.softplus(-fake_logits)
''',
        "the saturating loss log(1 - sigmoid)": '''
def generator_loss(fake_logits):
    if fake_logits.numel() == 0:
        raise ValueError("empty")
    return -F.softplus(fake_logits).mean()
''',
        "the discriminator's fake term (minimised by the wrong side)": '''
def generator_loss(fake_logits):
    if fake_logits.numel() == 0:
        raise ValueError("empty")
    return F.softplus(fake_logits).mean()
''',
        "log of the sigmoid (infinite for rejected fakes)": '''
def generator_loss(fake_logits):
    if fake_logits.numel() == 0:
        raise ValueError("empty")
    return -torch.log(torch.sigmoid(fake_logits)).mean()
''',
        "sum instead of mean": '''
def generator_loss(fake_logits):
    if fake_logits.numel() == 0:
        raise ValueError("empty")
    return F.softplus(-fake_logits).sum()
''',
        "calls the forbidden binary_cross_entropy_with_logits": '''
def generator_loss(fake_logits):
    if fake_logits.numel() == 0:
        raise ValueError("empty")
    return F.binary_cross_entropy_with_logits(fake_logits,
                                              torch.ones_like(fake_logits))
''',
        "no ValueError when empty": '''
def generator_loss(fake_logits):
    return F.softplus(-fake_logits).mean()
''',
    },
    "ch20-generator": {
        "LeakyReLU() with its default slope 0.01": _GENERATOR_HEAD + '''
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden_dim), nn.LeakyReLU(),
            nn.Linear(hidden_dim, hidden_dim), nn.LeakyReLU(),
            nn.Linear(hidden_dim, math.prod(self.image_shape)), nn.Tanh())

    def forward(self, z):
        return self.net(z).reshape(len(z), *self.image_shape)
''',
        "ReLU instead of LeakyReLU(0.2)": _GENERATOR_HEAD + '''
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden_dim), nn.ReLU(),
            nn.Linear(hidden_dim, hidden_dim), nn.ReLU(),
            nn.Linear(hidden_dim, math.prod(self.image_shape)), nn.Tanh())

    def forward(self, z):
        return self.net(z).reshape(len(z), *self.image_shape)
''',
        "no tanh at the output": _GENERATOR_HEAD + '''
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden_dim), nn.LeakyReLU(0.2),
            nn.Linear(hidden_dim, hidden_dim), nn.LeakyReLU(0.2),
            nn.Linear(hidden_dim, math.prod(self.image_shape)))

    def forward(self, z):
        return self.net(z).reshape(len(z), *self.image_shape)
''',
        "sigmoid output (pixels in (0, 1))": _GENERATOR_HEAD + '''
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden_dim), nn.LeakyReLU(0.2),
            nn.Linear(hidden_dim, hidden_dim), nn.LeakyReLU(0.2),
            nn.Linear(hidden_dim, math.prod(self.image_shape)), nn.Sigmoid())

    def forward(self, z):
        return self.net(z).reshape(len(z), *self.image_shape)
''',
        "flat output (N, P), not reshaped": _GENERATOR_HEAD + '''
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden_dim), nn.LeakyReLU(0.2),
            nn.Linear(hidden_dim, hidden_dim), nn.LeakyReLU(0.2),
            nn.Linear(hidden_dim, math.prod(self.image_shape)), nn.Tanh())

    def forward(self, z):
        return self.net(z)
''',
        "one hidden layer only": _GENERATOR_HEAD + '''
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden_dim), nn.LeakyReLU(0.2),
            nn.Linear(hidden_dim, math.prod(self.image_shape)), nn.Tanh())

    def forward(self, z):
        return self.net(z).reshape(len(z), *self.image_shape)
''',
        "reshaped as (N, H_i, W_i, C)": _GENERATOR_HEAD + '''
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden_dim), nn.LeakyReLU(0.2),
            nn.Linear(hidden_dim, hidden_dim), nn.LeakyReLU(0.2),
            nn.Linear(hidden_dim, math.prod(self.image_shape)), nn.Tanh())

    def forward(self, z):
        c, h, w = self.image_shape
        return self.net(z).reshape(len(z), h, w, c).permute(0, 3, 1, 2)
''',
    },
    "ch20-discriminator": {
        "LeakyReLU() with its default slope 0.01": _DISCRIMINATOR_HEAD + '''
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(math.prod(image_shape), hidden_dim),
            nn.LeakyReLU(), nn.Linear(hidden_dim, hidden_dim), nn.LeakyReLU(),
            nn.Linear(hidden_dim, 1))

    def forward(self, x):
        return self.net(x)[:, 0]
''',
        "sigmoid at the end (probabilities, not logits)": _DISCRIMINATOR_HEAD + '''
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(math.prod(image_shape), hidden_dim),
            nn.LeakyReLU(0.2), nn.Linear(hidden_dim, hidden_dim), nn.LeakyReLU(0.2),
            nn.Linear(hidden_dim, 1), nn.Sigmoid())

    def forward(self, x):
        return self.net(x)[:, 0]
''',
        "squeeze() drops the batch axis of a batch of one": _DISCRIMINATOR_HEAD + '''
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(math.prod(image_shape), hidden_dim),
            nn.LeakyReLU(0.2), nn.Linear(hidden_dim, hidden_dim), nn.LeakyReLU(0.2),
            nn.Linear(hidden_dim, 1))

    def forward(self, x):
        return self.net(x).squeeze()
''',
        "logits of shape (N, 1)": _DISCRIMINATOR_HEAD + '''
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(math.prod(image_shape), hidden_dim),
            nn.LeakyReLU(0.2), nn.Linear(hidden_dim, hidden_dim), nn.LeakyReLU(0.2),
            nn.Linear(hidden_dim, 1))

    def forward(self, x):
        return self.net(x)
''',
        "ReLU instead of LeakyReLU(0.2)": _DISCRIMINATOR_HEAD + '''
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(math.prod(image_shape), hidden_dim),
            nn.ReLU(), nn.Linear(hidden_dim, hidden_dim), nn.ReLU(),
            nn.Linear(hidden_dim, 1))

    def forward(self, x):
        return self.net(x)[:, 0]
''',
    },
    "ch20-gan-train-step": {
        "fakes detached for the generator step too": _STEP_HEAD + '''
    fake = generator(z).detach()
    d_loss = discriminator_loss(discriminator(real), discriminator(fake))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    g_loss = generator_loss(discriminator(fake))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return d_loss.item(), g_loss.item()
''',
        "zero_grad() between backward() and step()": _STEP_HEAD + '''
    fake = generator(z)
    d_loss = discriminator_loss(discriminator(real), discriminator(fake.detach()))
    d_loss.backward()
    d_optimizer.zero_grad()
    d_optimizer.step()
    g_loss = generator_loss(discriminator(fake))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return d_loss.item(), g_loss.item()
''',
        "g_optimizer.zero_grad() forgotten": _STEP_HEAD + '''
    fake = generator(z)
    d_loss = discriminator_loss(discriminator(real), discriminator(fake.detach()))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    g_loss = generator_loss(discriminator(fake))
    g_loss.backward()
    g_optimizer.step()
    return d_loss.item(), g_loss.item()
''',
        "real and fake logits swapped in the discriminator loss": _STEP_HEAD + '''
    fake = generator(z)
    d_loss = discriminator_loss(discriminator(fake.detach()), discriminator(real))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    g_loss = generator_loss(discriminator(fake))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return d_loss.item(), g_loss.item()
''',
        "real_target 0.9 (the contract says 1)": _STEP_HEAD + '''
    fake = generator(z)
    d_loss = discriminator_loss(discriminator(real), discriminator(fake.detach()), 0.9)
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    g_loss = generator_loss(discriminator(fake))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return d_loss.item(), g_loss.item()
''',
        "no detach; both gradients cleared at the start": _STEP_HEAD + '''
    d_optimizer.zero_grad()
    g_optimizer.zero_grad()
    fake = generator(z)
    d_loss = discriminator_loss(discriminator(real), discriminator(fake))
    d_loss.backward()
    d_optimizer.step()
    fake = generator(z)
    g_loss = generator_loss(discriminator(fake))
    g_loss.backward()
    g_optimizer.step()
    return d_loss.item(), g_loss.item()
''',
        "no detach; fakes made again for the generator step": _STEP_HEAD + '''
    fake = generator(z)
    d_loss = discriminator_loss(discriminator(real), discriminator(fake))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    g_loss = generator_loss(discriminator(generator(z)))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return d_loss.item(), g_loss.item()
''',
        "saturating generator loss": _STEP_HEAD + '''
    fake = generator(z)
    d_loss = discriminator_loss(discriminator(real), discriminator(fake.detach()))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    g_loss = -F.softplus(discriminator(fake)).mean()
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return d_loss.item(), g_loss.item()
''',
        "generator step before the discriminator step": _STEP_HEAD + '''
    fake = generator(z)
    g_loss = generator_loss(discriminator(fake))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    d_loss = discriminator_loss(discriminator(real), discriminator(fake.detach()))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    return d_loss.item(), g_loss.item()
''',
        "d_optimizer.zero_grad() forgotten": _STEP_HEAD + '''
    fake = generator(z)
    d_loss = discriminator_loss(discriminator(real), discriminator(fake.detach()))
    d_loss.backward()
    d_optimizer.step()
    g_loss = generator_loss(discriminator(fake))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return d_loss.item(), g_loss.item()
''',
        "the discriminator also steps after the generator's backward": _STEP_HEAD + '''
    fake = generator(z)
    d_loss = discriminator_loss(discriminator(real), discriminator(fake.detach()))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    g_loss = generator_loss(discriminator(fake))
    g_optimizer.zero_grad()
    d_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    d_optimizer.step()
    return d_loss.item(), g_loss.item()
''',
        "generator step with the discriminator from before its update": _STEP_HEAD + '''
    import copy
    old_discriminator = copy.deepcopy(discriminator)
    fake = generator(z)
    d_loss = discriminator_loss(discriminator(real), discriminator(fake.detach()))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    g_loss = generator_loss(old_discriminator(fake))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return d_loss.item(), g_loss.item()
''',
        "returns the loss tensors": _STEP_HEAD + '''
    fake = generator(z)
    d_loss = discriminator_loss(discriminator(real), discriminator(fake.detach()))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    g_loss = generator_loss(discriminator(fake))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return d_loss.detach(), g_loss.detach()
''',
    },
    "ch20-conv-transpose-output-size": {
        "output_padding must be smaller than stride AND dilation": '''
def conv_transpose_output_size(size, kernel, stride=1, padding=0, output_padding=0,
                               dilation=1):
    if output_padding >= stride or output_padding >= dilation:
        raise ValueError("output_padding too large")
    out = ((size - 1) * stride - 2 * padding + dilation * (kernel - 1)
           + output_padding + 1)
    if out < 1:
        raise ValueError("no output")
    return out
''',
        "output_padding check with > instead of >=": '''
def conv_transpose_output_size(size, kernel, stride=1, padding=0, output_padding=0,
                               dilation=1):
    if output_padding > stride and output_padding > dilation:
        raise ValueError("output_padding too large")
    out = ((size - 1) * stride - 2 * padding + dilation * (kernel - 1)
           + output_padding + 1)
    if out < 1:
        raise ValueError("no output")
    return out
''',
        "padding removed from one side only": '''
def conv_transpose_output_size(size, kernel, stride=1, padding=0, output_padding=0,
                               dilation=1):
    if output_padding >= stride and output_padding >= dilation:
        raise ValueError("output_padding too large")
    out = ((size - 1) * stride - padding + dilation * (kernel - 1)
           + output_padding + 1)
    if out < 1:
        raise ValueError("no output")
    return out
''',
        "runs F.conv_transpose1d and reads the shape (forbidden)": '''
def conv_transpose_output_size(size, kernel, stride=1, padding=0, output_padding=0,
                               dilation=1):
    try:
        out = F.conv_transpose1d(torch.zeros(1, 1, size), torch.zeros(1, 1, kernel),
                                 stride=stride, padding=padding,
                                 output_padding=output_padding, dilation=dilation)
    except RuntimeError as e:
        raise ValueError(str(e))
    return out.shape[-1]
''',
        "runs torch.conv_transpose1d (no F.) and reads the shape (forbidden)": '''
def conv_transpose_output_size(size, kernel, stride=1, padding=0, output_padding=0,
                               dilation=1):
    try:
        out = torch.conv_transpose1d(torch.zeros(1, 1, size), torch.zeros(1, 1, kernel),
                                     stride=stride, padding=padding,
                                     output_padding=output_padding, dilation=dilation)
    except RuntimeError as e:
        raise ValueError(str(e))
    return out.shape[-1]
''',
        "the convolution's formula": '''
def conv_transpose_output_size(size, kernel, stride=1, padding=0, output_padding=0,
                               dilation=1):
    out = (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    if out < 1:
        raise ValueError("no output")
    return out
''',
        "padding added instead of removed": '''
def conv_transpose_output_size(size, kernel, stride=1, padding=0, output_padding=0,
                               dilation=1):
    if output_padding >= stride and output_padding >= dilation:
        raise ValueError("output_padding too large")
    out = ((size - 1) * stride + 2 * padding + dilation * (kernel - 1)
           + output_padding + 1)
    if out < 1:
        raise ValueError("no output")
    return out
''',
        "size * stride instead of (size - 1) * stride": '''
def conv_transpose_output_size(size, kernel, stride=1, padding=0, output_padding=0,
                               dilation=1):
    if output_padding >= stride and output_padding >= dilation:
        raise ValueError("output_padding too large")
    out = size * stride - 2 * padding + dilation * (kernel - 1) + output_padding
    if out < 1:
        raise ValueError("no output")
    return out
''',
        "dilation ignored": '''
def conv_transpose_output_size(size, kernel, stride=1, padding=0, output_padding=0,
                               dilation=1):
    if output_padding >= stride:
        raise ValueError("output_padding too large")
    out = (size - 1) * stride - 2 * padding + kernel - 1 + output_padding + 1
    if out < 1:
        raise ValueError("no output")
    return out
''',
        "output_padding never checked": '''
def conv_transpose_output_size(size, kernel, stride=1, padding=0, output_padding=0,
                               dilation=1):
    out = ((size - 1) * stride - 2 * padding + dilation * (kernel - 1)
           + output_padding + 1)
    if out < 1:
        raise ValueError("no output")
    return out
''',
        "output_padding must be smaller than the stride (dilation forgotten)": '''
def conv_transpose_output_size(size, kernel, stride=1, padding=0, output_padding=0,
                               dilation=1):
    if output_padding >= stride:
        raise ValueError("output_padding too large")
    out = ((size - 1) * stride - 2 * padding + dilation * (kernel - 1)
           + output_padding + 1)
    if out < 1:
        raise ValueError("no output")
    return out
''',
        "no ValueError when nothing is left": '''
def conv_transpose_output_size(size, kernel, stride=1, padding=0, output_padding=0,
                               dilation=1):
    if output_padding >= stride and output_padding >= dilation:
        raise ValueError("output_padding too large")
    return max(0, (size - 1) * stride - 2 * padding + dilation * (kernel - 1)
               + output_padding + 1)
''',
    },
}

RIGHT = {
    "ch20-discriminator-loss": {
        "softplus(l) - t l, sums over sizes": '''
def discriminator_loss(real_logits, fake_logits, real_target=1.0):
    if real_logits.shape[0] == 0 or fake_logits.shape[0] == 0:
        raise ValueError("need both")
    real = F.softplus(real_logits) - real_target * real_logits
    fake = F.softplus(fake_logits)
    return real.sum() / real.shape[0] + fake.sum() / fake.shape[0]
''',
        "with logsigmoid": '''
def discriminator_loss(real_logits, fake_logits, real_target=1.0):
    if len(real_logits) == 0 or len(fake_logits) == 0:
        raise ValueError("both batches must be non-empty")
    t = real_target
    real_part = -(t * F.logsigmoid(real_logits) + (1 - t) * F.logsigmoid(-real_logits))
    return real_part.mean() - F.logsigmoid(-fake_logits).mean()
''',
        "the stable formula written out": '''
def discriminator_loss(real_logits, fake_logits, real_target=1.0):
    if real_logits.numel() == 0 or fake_logits.numel() == 0:
        raise ValueError("empty batch")

    def bce(x, t):
        return x.clamp(min=0) - t * x + torch.log1p(torch.exp(-x.abs()))

    return bce(real_logits, real_target).mean() + bce(fake_logits, 0.0).mean()
''',
    },
    "ch20-generator-loss": {
        "softplus(f) - f": '''
def generator_loss(fake_logits):
    if fake_logits.numel() == 0:
        raise ValueError("empty")
    return (F.softplus(fake_logits) - fake_logits).mean()
''',
        "with logsigmoid": '''
def generator_loss(fake_logits):
    if fake_logits.numel() == 0:
        raise ValueError("no logits")
    return -F.logsigmoid(fake_logits).mean()
''',
        "the stable formula written out": '''
def generator_loss(fake_logits):
    if len(fake_logits) == 0:
        raise ValueError("no logits")
    x = -fake_logits
    return (torch.maximum(x, torch.zeros_like(x)) + torch.log1p(torch.exp(-x.abs()))
            ).sum() / len(fake_logits)
''',
    },
    "ch20-generator": {
        "tanh after nn.Unflatten": '''
class Generator(nn.Module):
    def __init__(self, latent_dim, hidden_dim, image_shape):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(latent_dim, hidden_dim), nn.LeakyReLU(negative_slope=0.2),
            nn.Linear(hidden_dim, hidden_dim), nn.LeakyReLU(negative_slope=0.2),
            nn.Linear(hidden_dim, math.prod(image_shape)))
        self.unflatten = nn.Unflatten(1, tuple(image_shape))

    def forward(self, z):
        return torch.tanh(self.unflatten(self.layers(z)))
''',
        "named layers and F.leaky_relu": '''
class Generator(nn.Module):
    def __init__(self, latent_dim, hidden_dim, image_shape):
        super().__init__()
        self.shape = tuple(image_shape)
        self.fc1 = nn.Linear(latent_dim, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, hidden_dim)
        self.out = nn.Linear(hidden_dim, math.prod(image_shape))

    def forward(self, z):
        h = F.leaky_relu(self.fc1(z), 0.2)
        h = F.leaky_relu(self.fc2(h), 0.2)
        return torch.tanh(self.out(h)).view(-1, *self.shape)
''',
    },
    "ch20-discriminator": {
        "ModuleList, leaky ReLU by torch.where": _DISCRIMINATOR_HEAD + '''
        sizes = [math.prod(image_shape), hidden_dim, hidden_dim, 1]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))

    def forward(self, x):
        h = x.reshape(x.shape[0], -1)
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < len(self.layers) - 1:
                h = torch.where(h > 0, h, 0.2 * h)
        return h.squeeze(1)
''',
        "named layers, flatten(1) and view(-1)": '''
class Discriminator(nn.Module):
    def __init__(self, image_shape, hidden_dim):
        super().__init__()
        c, h, w = image_shape
        self.hidden1 = nn.Linear(c * h * w, hidden_dim)
        self.hidden2 = nn.Linear(hidden_dim, hidden_dim)
        self.logit = nn.Linear(hidden_dim, 1)

    def forward(self, x):
        h = F.leaky_relu(self.hidden1(x.flatten(1)), negative_slope=0.2)
        h = F.leaky_relu(self.hidden2(h), negative_slope=0.2)
        return self.logit(h).view(-1)
''',
    },
    "ch20-gan-train-step": {
        "one discriminator call on real and fakes concatenated": _STEP_HEAD + '''
    fake = generator(z)
    n = real.shape[0]
    logits = discriminator(torch.cat([real, fake.detach()]))
    d_loss = discriminator_loss(logits[:n], logits[n:])
    discriminator.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    generator.zero_grad()
    g_loss = generator_loss(discriminator(fake))
    g_loss.backward()
    g_optimizer.step()
    return float(d_loss.detach()), float(g_loss.detach())
''',
        "fakes made under no_grad for the discriminator, again for the generator": '''
def gan_train_step(generator, discriminator, g_optimizer, d_optimizer, real, z):
    d_optimizer.zero_grad(set_to_none=False)
    with torch.no_grad():
        fake = generator(z)
    d_loss = discriminator_loss(discriminator(real), discriminator(fake))
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad(set_to_none=False)
    g_loss = generator_loss(discriminator(generator(z)))
    g_loss.backward()
    g_optimizer.step()
    return float(d_loss), float(g_loss)
''',
        "discriminator frozen during the generator step": '''
def gan_train_step(generator, discriminator, g_optimizer, d_optimizer, real, z):
    g_optimizer.zero_grad()
    d_optimizer.zero_grad()
    fake = generator(z)
    real_logits = discriminator(real)
    fake_logits = discriminator(fake.detach())
    d_loss = discriminator_loss(real_logits, fake_logits)
    d_loss.backward()
    d_optimizer.step()
    for p in discriminator.parameters():
        p.requires_grad_(False)
    try:
        g_loss = generator_loss(discriminator(fake))
        g_loss.backward()
    finally:
        for p in discriminator.parameters():
            p.requires_grad_(True)
    g_optimizer.step()
    return d_loss.item(), g_loss.item()
''',
    },
    "ch20-conv-transpose-output-size": {
        "effective kernel size, max(stride, dilation)": '''
def conv_transpose_output_size(size, kernel, stride=1, padding=0, output_padding=0,
                               dilation=1):
    if output_padding >= max(stride, dilation):
        raise ValueError("output_padding is too large")
    effective_kernel = dilation * (kernel - 1) + 1
    n = stride * (size - 1) + effective_kernel - 2 * padding + output_padding
    if n <= 0:
        raise ValueError("empty output")
    return n
''',
        "span of the kernel copies minus the cropping": '''
def conv_transpose_output_size(size, kernel, stride=1, padding=0, output_padding=0,
                               dilation=1):
    if not (output_padding < stride or output_padding < dilation):
        raise ValueError("output_padding must be smaller than stride or dilation")
    span = (size - 1) * stride + (kernel - 1) * dilation + 1
    result = span - padding - padding + output_padding
    if result <= 0:
        raise ValueError("the output would be empty")
    return int(result)
''',
    },
}
