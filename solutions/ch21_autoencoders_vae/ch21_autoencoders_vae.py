# %% [markdown]
# # Chapter 21: Autoencoders and variational autoencoders
#
# An autoencoder learns to copy its input through a narrow middle layer. To
# copy well through a bottleneck it must find a short description of the data,
# and that description, the **latent code**, is useful on its own: for
# compression, visualisation, denoising, anomaly detection, and as the space in
# which image generators such as latent diffusion models work. A **variational
# autoencoder** (VAE) turns the same architecture into a probabilistic
# generative model: its codes follow a known distribution, so new data can be
# made by decoding random codes. This chapter builds both from their equations
# and trains them on handwritten digits.
#
# **You will learn**
# - what an encoder, a decoder and a bottleneck are, and why a linear
#   autoencoder can do no better than PCA;
# - why the decoder should return logits and the loss be
#   `binary_cross_entropy_with_logits`, not a sigmoid followed by `BCELoss`;
# - what an autoencoder's latent space looks like, and why decoding a random
#   point of it rarely gives a digit;
# - the VAE as a latent-variable model: the evidence lower bound (ELBO), the
#   closed-form KL divergence between two Gaussians, and the
#   reparameterization trick that lets gradients flow through a random sample;
# - how the reductions of the loss (sum or mean, over pixels or over the batch)
#   change its meaning, and how the weight $\beta$ of the KL term trades sharp
#   reconstructions for a well-organised latent space, up to posterior
#   collapse;
# - how to walk between two codes, and where autoencoders go next.
#
# **Graded exercises** (13 points)
#
# | exercise | points |
# |---|---|
# | `Autoencoder(input_dim, hidden_dims, latent_dim)` | 4 |
# | `reparameterize(mu, logvar, generator)` | 3 |
# | `vae_loss(recon, x, mu, logvar, beta)` | 4 |
# | `interpolate_latents(z0, z1, steps)` | 2 |
#
# Each exercise is a function or a module whose docstring states its whole
# contract: shapes, dtypes, devices, edge cases and the built-ins you may not
# call. Replace `raise NotImplementedError()` with your code and run the test
# cell below it. The visible tests show every rule the grader checks; hidden
# tests repeat them on other values, shapes and seeds.
#
# Letters used for shapes throughout: $N$ is the batch size, $D$ the number of
# input features (64 pixels for an 8x8 digit), $Z$ the size of the latent code
# and $H_1, \dots, H_K$ the widths of the hidden layers.

# %%
import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse import get_device, progress, set_seed
from dlcourse.checks import (
    KL_DIVERGENCES,
    assert_close,
    assert_shape,
    expect_raises,
    forbid,
)
from dlcourse.data import load_digits, train_test_split
from dlcourse.training import check_bar
from dlcourse.widgets import interactive_plot

device = get_device()  # the tests also run your code on this device
set_seed(0)
print(f"torch {torch.__version__}, device: {device}")

# %% [markdown]
# ## 21.1 Compressing by reconstructing
#
# An **autoencoder** is two networks trained together:
#
# - the **encoder** $f_\phi : \mathbb{R}^D \to \mathbb{R}^Z$ maps an input $x$
#   to a **code** (or latent vector) $z = f_\phi(x)$;
# - the **decoder** $g_\theta : \mathbb{R}^Z \to \mathbb{R}^D$ maps the code
#   back to a reconstruction $\hat x = g_\theta(z)$.
#
# Both are trained to make $\hat x$ close to $x$, for example by minimising the
# squared error averaged over the training set,
#
# $$\min_{\phi, \theta} \ \frac{1}{N} \sum_{n=1}^{N}
#   \big\lVert x_n - g_\theta\big(f_\phi(x_n)\big) \big\rVert^2 .$$
#
# Nothing in this loss asks for anything useful: the identity map is a perfect
# autoencoder. What forces the network to learn something is a constraint.
# The classic one is a **bottleneck**, $Z < D$ (an *undercomplete*
# autoencoder): 64 pixels must pass through, say, 2 numbers, so the encoder
# has to keep what matters most about a digit and the decoder has to fill in
# the rest from what it learned about digits in general. Other constraints
# give other families (section 21.8): noise added to the input (denoising
# autoencoders), a penalty that keeps most code entries at zero (sparse
# autoencoders), or a prior distribution on the codes (VAEs).
#
# ### A linear autoencoder is PCA
#
# If $f$ and $g$ are linear (and the data are centred), $\hat x = B A x$ with
# $A \in \mathbb{R}^{Z \times D}$ and $B \in \mathbb{R}^{D \times Z}$, a matrix
# of rank at most $Z$. By the Eckart-Young theorem the best rank-$Z$
# approximation in squared error projects onto the top $Z$ principal
# directions, and Baldi and Hornik (1989) showed that gradient descent on a
# linear autoencoder has no other local minimum: it finds the PCA subspace
# (not necessarily its orthonormal basis). So a linear autoencoder can at best
# match PCA (chapter 7), and the reason to use one is the **nonlinearity**:
# the digits do not lie on a flat plane in $\mathbb{R}^{64}$, and a network
# with hidden ReLU layers can follow a curved surface.
#
# The cell loads scikit-learn's 1,797 digits (8x8 pixels in $[0, 1]$), keeps a
# quarter for testing, and measures how well PCA reconstructs the test digits
# with $Z$ components: the baseline an autoencoder with a $Z$-dimensional code
# has to beat.

# %%
X_digits, y_digits = load_digits()  # (1797, 64) in [0, 1], labels (1797,)
X_train, X_test, y_train, y_test = train_test_split(X_digits, y_digits,
                                                    test_fraction=0.25, seed=0)
print(f"train {tuple(X_train.shape)}, test {tuple(X_test.shape)}")
pixel_mean = X_train.mean(dim=0)  # (64,)
# rows of Vh are the principal directions, largest variance first
_, _, Vh = torch.linalg.svd(X_train - pixel_mean, full_matrices=False)


def pca_reconstruct(X, num_components):
    """Project X (N, 64) onto the top principal directions and back."""
    P = Vh[:num_components]  # (Z, 64), orthonormal rows
    return (X - pixel_mean) @ P.T @ P + pixel_mean


pca_mse = {}
for Z in (1, 2, 4, 8, 16, 32):
    pca_mse[Z] = ((pca_reconstruct(X_test, Z) - X_test) ** 2).mean().item()
    print(f"PCA with {Z:2d} components: test MSE per pixel {pca_mse[Z]:.4f}")

# %% [markdown]
# ### Exercise 1: `Autoencoder` (4 points)
#
# Write a fully connected autoencoder whose decoder mirrors its encoder:
#
# $$\underbrace{D \to H_1 \to \dots \to H_K \to Z}_{\text{encoder}}
#   \qquad \underbrace{Z \to H_K \to \dots \to H_1 \to D}_{\text{decoder}}$$
#
# with a ReLU after every hidden layer and **no activation on the code or on
# the output**. The code is left linear so that it can take any value (a ReLU
# there would kill whole dimensions of it); the output is a vector of
# **logits**, one per pixel, and $\sigma(\text{logit})$ is the predicted
# intensity. Section 21.2 explains why the sigmoid belongs in the loss and not
# in the model.
#
# The layer order and the parameter order are part of the contract: the tests
# copy your parameters, in the order of `model.parameters()`, into two
# `nn.Sequential` stacks of `nn.Linear` and `nn.ReLU`, then compare codes,
# reconstructions and gradients.

# %% grade_id="ch21-autoencoder"
# Fill in the three methods after __init__: encode, decode and forward.
class Autoencoder(nn.Module):
    """A fully connected autoencoder with a mirrored decoder.

    N is the batch size, D = input_dim, Z = latent_dim and
    hidden_dims = [H_1, ..., H_K] (K >= 0 hidden layers). Layers, in order:

        encoder: Linear(D, H_1) -> ReLU -> ... -> Linear(H_{K-1}, H_K) -> ReLU
                 -> Linear(H_K, Z)
        decoder: Linear(Z, H_K) -> ReLU -> ... -> Linear(H_2, H_1) -> ReLU
                 -> Linear(H_1, D)

    With K = 0 the encoder is Linear(D, Z) and the decoder Linear(Z, D). There
    is no activation on the code and none on the output (the output is
    logits). Every Linear has a bias and these are the only parameters, in
    data-flow order, encoder first: ``[p.shape for p in model.parameters()]``
    is [(H_1, D), (H_1,), ..., (Z, H_K), (Z,), (H_K, Z), (H_K,), ...,
    (D, H_1), (D,)].

    Args:
        input_dim: D, an int >= 1.
        hidden_dims: a list or tuple of K ints >= 1; may be empty.
        latent_dim: Z, an int >= 1.

    Raises:
        ValueError: if D, Z or any H_k is smaller than 1.

    encode(x): x of shape (N, D) -> the code z, shape (N, Z).
    decode(z): z of shape (N, Z) -> the logits, shape (N, D).
    forward(x): returns the tuple (logits, z) = (decode(encode(x)), encode(x)).
    Inputs have the dtype and device of the parameters (after
    ``model.to(device, torch.float64)`` too); results keep them. N >= 1.
    """

    def __init__(self, input_dim, hidden_dims, latent_dim):
        super().__init__()
        ### BEGIN SOLUTION
        sizes = [input_dim, *hidden_dims, latent_dim]
        if min(sizes) < 1:
            raise ValueError(f"every size must be at least 1, got {sizes}")

        def stack(dims):
            layers = []
            for d_in, d_out in zip(dims[:-1], dims[1:], strict=True):
                layers += [nn.Linear(d_in, d_out), nn.ReLU()]
            return nn.Sequential(*layers[:-1])  # no ReLU after the last Linear

        self.encoder = stack(sizes)
        self.decoder = stack(sizes[::-1])
        ### END SOLUTION

    def encode(self, x):
        ### BEGIN SOLUTION
        return self.encoder(x)
        ### END SOLUTION

    def decode(self, z):
        ### BEGIN SOLUTION
        return self.decoder(z)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        z = self.encode(x)
        return self.decode(z), z
        ### END SOLUTION


# %%
# Try it: 64 pixels -> 32 -> 16 -> a 2-D code, and back
model = Autoencoder(64, [32, 16], 2)
print(model)
logits, z = model(X_train[:5])
print("code:", tuple(z.shape), " logits:", tuple(logits.shape))

# %% grade_id="ch21-autoencoder-tests" points=4
"""Autoencoder: parameter shapes in order; with copied weights, encode, decode and
forward equal Linear -> ReLU -> ... -> Linear stacks (encoder, then the mirrored
decoder; no activation on the code or the output), and so do the gradients; no
hidden layer; a tuple of sizes; batch 1; float64 on `device`; ValueError for a
size below 1.

Hidden tests: other sizes, depths and batches.
"""


def reference_autoencoder(input_dim, hidden_dims, latent_dim):
    """(encoder, decoder) as nn.Sequential stacks of Linear and ReLU."""
    def stack(dims):
        layers = []
        for d_in, d_out in zip(dims[:-1], dims[1:], strict=True):
            layers += [nn.Linear(d_in, d_out), nn.ReLU()]
        return nn.Sequential(*layers[:-1])
    sizes = [input_dim, *hidden_dims, latent_dim]
    return stack(sizes), stack(sizes[::-1])


def check_autoencoder(args, n, dtype, where, tol):
    """Build Autoencoder(*args), copy its weights into the reference, compare."""
    what = f"Autoencoder{args} ({dtype}, {where}, batch {n})"
    model = Autoencoder(*args)
    assert isinstance(model, nn.Module), "Autoencoder must subclass nn.Module"
    model = model.to(where, dtype)
    sizes = [args[0], *args[1], args[2]]
    sizes = sizes + sizes[-2::-1]  # D, H_1, ..., Z, ..., H_1, D
    want = []
    for d_in, d_out in zip(sizes[:-1], sizes[1:], strict=True):
        want += [(d_out, d_in), (d_out,)]
    got = [tuple(p.shape) for p in model.parameters()]
    assert got == want, f"{what}: expected parameter shapes {want}, got {got}"
    encoder, decoder = (m.to(where, dtype) for m in reference_autoencoder(*args))
    reference = list(encoder.parameters()) + list(decoder.parameters())
    with torch.no_grad():
        for ref_p, p in zip(reference, model.parameters(), strict=True):
            ref_p.copy_(p)
    gen = torch.Generator().manual_seed(n)
    x = torch.rand(n, args[0], generator=gen, dtype=dtype).to(where)
    code = torch.randn(n, args[2], generator=gen, dtype=dtype).to(where)
    assert_close(model.encode(x), encoder(x), rtol=tol, atol=tol,
                 name=f"{what}: encode(x)")
    assert_close(model.decode(code), decoder(code), rtol=tol, atol=tol,
                 name=f"{what}: decode(z)")
    out = model(x)
    assert isinstance(out, tuple) and len(out) == 2, (
        f"{what}: forward should return a tuple (logits, z), got {type(out).__name__}")
    logits, z = out
    assert_shape(logits, (n, args[0]), name=f"{what}: logits")
    assert_shape(z, (n, args[2]), name=f"{what}: z")
    want_z = encoder(x)
    want_logits = decoder(want_z)
    assert_close(z, want_z, rtol=tol, atol=tol, name=f"{what}: forward(x)[1], the code")
    assert_close(logits, want_logits, rtol=tol, atol=tol,
                 name=f"{what}: forward(x)[0], the logits")
    assert logits.device == x.device, f"{what}: logits on {logits.device}"
    # a loss that depends on both outputs, so every parameter gets a gradient
    ((logits ** 2).sum() + z.sin().sum()).backward()
    ((want_logits ** 2).sum() + want_z.sin().sum()).backward()
    for i, (ref_p, p) in enumerate(zip(reference, model.parameters(), strict=True)):
        assert p.grad is not None, f"{what}: parameter {i} got no gradient"
        assert_close(p.grad, ref_p.grad, rtol=tol, atol=tol,
                     name=f"{what}: gradient of parameter {i}")


torch.manual_seed(0)
check_autoencoder((6, [5, 3], 2), 4, torch.float32, "cpu", 1e-5)
check_autoencoder((7, [], 3), 3, torch.float32, "cpu", 1e-5)
check_autoencoder((5, (4,), 2), 1, torch.float32, "cpu", 1e-5)
check_autoencoder((9, [8, 6], 4), 5, torch.float64, device, 1e-10)
for bad in [(0, [4], 2), (5, [4], 0), (5, [4, 0], 2)]:
    expect_raises(ValueError, Autoencoder, *bad, name=f"Autoencoder{bad}")
### BEGIN HIDDEN TESTS
for _args, _n in [((11, [13], 3), 1), ((8, [10, 7, 5], 2), 6),
                  ((3, [], 1), 2), ((12, (9, 4), 5), 9)]:
    torch.manual_seed(_n)
    check_autoencoder(_args, _n, torch.float64, device, 1e-10)
    check_autoencoder(_args, _n, torch.float32, device, 1e-5)
expect_raises(ValueError, Autoencoder, 4, [3], -1, name="Autoencoder(4, [3], -1)")
### END HIDDEN TESTS

# %% [markdown]
# ## 21.2 Training an autoencoder on digits
#
# ### Which reconstruction loss?
#
# The pixels of our digits are intensities in $[0, 1]$. Two losses are common:
#
# - the **squared error** $\lVert x - \hat x \rVert^2$, which is, up to
#   constants, the negative log-likelihood of a Gaussian
#   $x \sim \mathcal N(\hat x, s^2 I)$ with a fixed variance;
# - the **binary cross-entropy** (BCE), the negative log-likelihood of one
#   Bernoulli variable per pixel with probability $p_d = \sigma(\ell_d)$, where
#   $\ell_d$ is the decoder's logit for pixel $d$:
#
# $$\operatorname{BCE}(\ell, x) = -\sum_{d=1}^{D}
#   \Big[x_d \log \sigma(\ell_d) + (1 - x_d) \log\big(1 - \sigma(\ell_d)\big)\Big]
#   = \sum_{d=1}^{D} \Big[\operatorname{softplus}(\ell_d) - x_d\, \ell_d\Big],$$
#
# with $\operatorname{softplus}(\ell) = \log(1 + e^{\ell})$. The second form
# follows from $\log \sigma(\ell) = \ell - \operatorname{softplus}(\ell)$ and
# $\log(1 - \sigma(\ell)) = -\operatorname{softplus}(\ell)$. We use BCE: it
# treats a grey pixel as "ink with probability $x_d$", it punishes confident
# mistakes hard, and it is what the VAE of section 21.4 needs. (With grey
# values BCE cannot reach 0: its minimum, at $\sigma(\ell_d) = x_d$, is the
# entropy of the pixels. Strictly, a Bernoulli likelihood is meant for 0/1
# data; the *continuous Bernoulli* of Loaiza-Ganem and Cunningham, 2019,
# fixes the normalisation for grey values. The usual practice, followed here,
# is plain BCE.)
#
# ### A classic mistake: a sigmoid in the model and `BCELoss`
#
# Many autoencoders end their decoder with `nn.Sigmoid()` and train with
# `nn.BCELoss` (`F.binary_cross_entropy`) on the probabilities. In floating
# point, $\sigma(\ell)$ rounds to exactly 1 once $\ell$ is larger than about 17
# in float32, and then $\log(1 - \sigma(\ell)) = \log 0$. PyTorch clamps the
# logarithm at $-100$, so the loss is wrong and its gradient is zero: a pixel
# that the model gets confidently wrong stops teaching it anything.
# `F.binary_cross_entropy_with_logits` takes the logits and uses the softplus
# form above, computed without overflow. The cell compares both on one pixel
# of value 0 predicted with a large logit.

# %%
for logit in (5.0, 20.0, 200.0):
    ell = torch.tensor([logit], requires_grad=True)
    target = torch.tensor([0.0])
    clamped = F.binary_cross_entropy(torch.sigmoid(ell), target)
    (grad_clamped,) = torch.autograd.grad(clamped, ell)
    exact = F.binary_cross_entropy_with_logits(ell, target)
    (grad_exact,) = torch.autograd.grad(exact, ell)
    print(f"logit {logit:5.0f}: sigmoid + BCELoss = {clamped.item():8.3f} "
          f"(gradient {grad_clamped.item():.3f}); with logits = {exact.item():8.3f} "
          f"(gradient {grad_exact.item():.3f})")

# %% [markdown]
# The exact loss grows with the logit and its gradient stays near 1. Through
# the sigmoid, from a logit of 20 on, the loss is stuck at 100 and the
# gradient is zero.
#
# ### Reductions
#
# We **sum** the BCE over the $D$ pixels of a digit and **average** over the
# $N$ digits of a batch, so the loss is "nats per digit": it does not change
# with the batch size, and it has the scale that the KL term of a VAE will
# need (section 21.5). `F.binary_cross_entropy_with_logits(logits, x,
# reduction="sum") / N` computes it.
#
# ### Training
#
# The model is `Autoencoder(64, [128], 2)`: a 2-D code, so that we can draw it
# in the next section. It trains with Adam (learning rate 0.006) on
# mini-batches of 128 digits. The bar: a mean squared error per pixel on the
# test digits (between $x$ and $\sigma(\ell)$) of at most 0.045, clearly
# better than PCA with two components (printed in section 21.1).

# %%
def fit(model, batch_loss, num_epochs, seed, batch_size=128, lr=6e-3, desc="epochs"):
    """Adam on mini-batches of X_train; batch_loss(model, x) returns a 0-d loss.

    Returns the mean training loss of every epoch."""
    set_seed(seed)  # the batch order (the weights were drawn before the call)
    X = X_train.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    model.train()
    for _ in progress(range(num_epochs), desc=desc):
        order = torch.randperm(len(X), device=device)
        total = 0.0
        for start in range(0, len(X), batch_size):
            batch = X[order[start:start + batch_size]]
            loss = batch_loss(model, batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        history.append(total / len(X))
    model.eval()
    return history


def autoencoder_loss(model, x):
    """BCE with logits, summed over the pixels, averaged over the batch."""
    logits, _ = model(x)
    return F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)


# %%
NUM_EPOCHS = 40  # the knob: more epochs (or a wider model) on a GPU
autoencoder_cache = {}  # the trained model, so that later cells reuse it


def trained_autoencoder(num_epochs=NUM_EPOCHS):
    """Autoencoder(64, [128], 2) trained once; (model, history, codes, recon).

    codes (449, 2) and recon (449, 64) are those of the test digits, on the CPU."""
    if num_epochs not in autoencoder_cache:
        set_seed(0)  # the initial weights
        model = Autoencoder(64, [128], 2).to(device)
        history = fit(model, autoencoder_loss, num_epochs, seed=0,
                      desc="autoencoder")
        with torch.no_grad():
            logits, codes = model(X_test.to(device))
        autoencoder_cache[num_epochs] = (model, history, codes.cpu(),
                                         torch.sigmoid(logits).cpu())
    return autoencoder_cache[num_epochs]


_, ae_history, _, ae_recon = trained_autoencoder()
ae_mse = ((ae_recon - X_test) ** 2).mean().item()
print(f"final training loss {ae_history[-1]:.2f} nats per digit")
print(f"test MSE per pixel: autoencoder {ae_mse:.4f}, PCA with 2 components "
      f"{pca_mse[2]:.4f}")
check_bar("autoencoder test MSE per pixel", ae_mse, 0.045, higher_is_better=False)

# %%
def show_digits(rows, titles, suptitle):
    """Rows of 8x8 digits, one row per entry of `rows` ((M, 64) tensors)."""
    num_cols = len(rows[0])
    fig, axes = plt.subplots(len(rows), num_cols, figsize=(0.9 * num_cols,
                                                           1.0 * len(rows) + 0.4))
    for r, (row, title) in enumerate(zip(rows, titles, strict=True)):
        for c in range(num_cols):
            ax = axes[r, c]
            ax.imshow(row[c].reshape(8, 8).numpy(), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(title, rotation=0, ha="right", va="center",
                              fontsize=9)
    fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


_, _, _, ae_recon = trained_autoencoder()  # the model trained above
show_digits([X_test[:12], ae_recon[:12], pca_reconstruct(X_test[:12], 2).clamp(0, 1)],
            ["test digit", "autoencoder, Z=2", "PCA, 2 components"],
            "Reconstructions through a 2-number bottleneck")
plt.show()

# %% [markdown]
# Two numbers are not much for a digit: both reconstructions are blurry, but
# the autoencoder's are recognisable far more often than PCA's, which can only
# mix the mean digit with two fixed images.
#
# ## 21.3 The latent space of an autoencoder
#
# With $Z = 2$ the code of every test digit is a point in the plane. The left
# panel colours the codes by the true label, which the autoencoder never saw.
# The right panel decodes a regular grid of points spanning the same rectangle:
# each small image is $\sigma(g_\theta(z))$ for the $z$ at that place.

# %%
def decode_grid(decode, z_first, z_second):
    """Decode every pair (z_first[i], z_second[j]) into one picture.

    Each digit gets a 9x9 tile (8x8 and a blank line), so M values of each
    coordinate give an image of shape (9 M, 9 M); the top row is the largest
    z_second."""
    rows = []
    for b in z_second.flip(0):
        codes = torch.stack([z_first, b.expand_as(z_first)], dim=1)  # (M, 2)
        with torch.no_grad():
            images = torch.sigmoid(decode(codes.to(device))).cpu()  # (M, 64)
        tiles = F.pad(images.reshape(-1, 8, 8), (0, 1, 0, 1))  # (M, 9, 9)
        rows.append(torch.cat(list(tiles), dim=1))  # (9, 9 M)
    return torch.cat(rows, dim=0)


def scatter_codes(ax, codes, labels, title):
    """Codes (N, 2) coloured by their digit label."""
    for digit in range(10):
        pts = codes[labels == digit]
        ax.scatter(pts[:, 0], pts[:, 1], s=8, color=plt.cm.tab10(digit),
                   label=str(digit))
    ax.set(xlabel="$z_1$", ylabel="$z_2$", title=title)
    ax.legend(title="digit", fontsize=7, markerscale=2, loc="center left",
              bbox_to_anchor=(1.0, 0.5))  # outside the axes, to the right


def code_box(codes):
    """The smallest rectangle holding the codes: (low corner, high corner)."""
    return codes.min(dim=0).values, codes.max(dim=0).values


autoencoder, _, ae_codes, _ = trained_autoencoder()  # the model trained above
low, high = code_box(ae_codes)
grid_first = torch.linspace(low[0].item(), high[0].item(), 12)
grid_second = torch.linspace(low[1].item(), high[1].item(), 12)
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5.4))
scatter_codes(left, ae_codes, y_test, "autoencoder codes of the test digits")
right.imshow(decode_grid(autoencoder.decode, grid_first, grid_second).numpy(),
             cmap="gray_r", extent=(low[0].item(), high[0].item(), low[1].item(),
                                    high[1].item()),
             aspect=((high[0] - low[0]) / (high[1] - low[1])).item())  # square tiles
right.set(xlabel="$z_1$", ylabel="$z_2$",
          title="decoded grid over the same rectangle")
fig.tight_layout()
plt.show()
print(f"code ranges: z_1 from {low[0]:.1f} to {high[0]:.1f}, "
      f"z_2 from {low[1]:.1f} to {high[1]:.1f}")

# %% [markdown]
# The classes form clusters: the autoencoder discovered much of the label
# structure without labels. But look at what the plot also shows:
#
# - the codes have an **arbitrary scale and position**: nothing in the loss
#   ties them to any range, and another seed puts them elsewhere;
# - the codes fill the rectangle **unevenly**: some classes form dense
#   blobs, others spread thinly, and some regions hold no code at all. The
#   decoder was never trained there, and what it returns for such codes
#   (often a blend of two digits in the grid) is a guess;
# - so the autoencoder is a compressor, **not a generator**: to make a new
#   digit we would need to know where valid codes live, and there is no
#   distribution to sample from.
#
# The variational autoencoder fixes all three by asking the codes to follow a
# known distribution.
#
# ## 21.4 The variational autoencoder
#
# ### A latent-variable model
#
# A VAE (Kingma and Welling 2014; Rezende, Mohamed and Wierstra 2014) is a
# generative model with a hidden variable $z \in \mathbb{R}^Z$:
#
# $$z \sim p(z) = \mathcal{N}(0, I), \qquad
#   x \mid z \sim p_\theta(x \mid z) = \prod_{d=1}^{D}
#   \operatorname{Bernoulli}\big(x_d;\ \sigma(g_\theta(z)_d)\big).$$
#
# To generate, draw $z$ from the standard normal **prior** and decode it. To
# train, we would like to maximise the likelihood of the data,
# $\log p_\theta(x) = \log \int p_\theta(x \mid z)\, p(z)\, dz$, but this
# integral over all codes has no closed form for a neural decoder.
#
# ### The evidence lower bound
#
# Introduce an **encoder** $q_\phi(z \mid x)$, a distribution over codes for
# each input: a Gaussian with a diagonal covariance whose mean and variances
# come from a network,
#
# $$q_\phi(z \mid x) = \mathcal{N}\big(\mu_\phi(x),\
#   \operatorname{diag}(\sigma^2_\phi(x))\big).$$
#
# For any such $q$, writing $p_\theta(x, z) = p_\theta(x \mid z) p(z)$ and
# $p_\theta(z \mid x) = p_\theta(x, z) / p_\theta(x)$,
#
# $$\log p_\theta(x) = \mathbb{E}_{q}\big[\log p_\theta(x)\big]
#   = \mathbb{E}_{q}\left[\log \frac{p_\theta(x, z)}{q_\phi(z \mid x)}\right]
#   + \mathbb{E}_{q}\left[\log \frac{q_\phi(z \mid x)}{p_\theta(z \mid x)}\right]
#   = \operatorname{ELBO}(x) + \operatorname{KL}\big(q_\phi(z \mid x)\,\Vert\,
#   p_\theta(z \mid x)\big).$$
#
# A KL divergence is never negative, so the first term is a lower bound on the
# log-likelihood, the **evidence lower bound**; it is tight when $q$ equals the
# true posterior. Splitting $\log p_\theta(x, z)$ again gives the form we train:
#
# $$\operatorname{ELBO}(x) = \underbrace{\mathbb{E}_{z \sim q_\phi(z \mid x)}
#   \big[\log p_\theta(x \mid z)\big]}_{\text{reconstruction}}
#   - \underbrace{\operatorname{KL}\big(q_\phi(z \mid x)\,\Vert\, p(z)\big)}_{
#   \text{regulariser}} .$$
#
# Maximising it trains the decoder and the encoder together. The first term is
# an autoencoder's reconstruction objective, with a code *sampled* around
# $\mu_\phi(x)$ instead of the point itself: nearby codes must decode to
# similar images, which fills the gaps of section 21.3. The second term pulls
# each $q_\phi(z \mid x)$ towards the prior: the codes stay centred, of unit
# scale, and cover the region that sampling from $p(z)$ will visit.
#
# ### The KL term in closed form
#
# For one coordinate, $q = \mathcal N(\mu, \sigma^2)$ and
# $p = \mathcal N(0, 1)$:
#
# $$\operatorname{KL}(q \Vert p) = \mathbb{E}_q\big[\log q(z) - \log p(z)\big]
#   = \mathbb{E}_q\left[-\tfrac12 \log \sigma^2 - \frac{(z - \mu)^2}{2\sigma^2}
#   + \frac{z^2}{2}\right]
#   = \tfrac12\big(\mu^2 + \sigma^2 - 1 - \log \sigma^2\big),$$
#
# using $\mathbb{E}_q[(z - \mu)^2] = \sigma^2$ and
# $\mathbb{E}_q[z^2] = \mu^2 + \sigma^2$ (the $\log 2\pi$ terms cancel). The
# coordinates of a diagonal Gaussian are independent, so the KL of the whole
# code is the **sum** over its $Z$ coordinates. It is 0 exactly when
# $\mu = 0$ and $\sigma = 1$, and positive otherwise.
#
# ### Why the encoder outputs $\log \sigma^2$
#
# A variance must be positive, but a linear layer outputs any real number. The
# usual fix is to let the encoder output $\log \sigma^2$, the **log-variance**
# `logvar`, and compute $\sigma = \exp(\tfrac12 \text{logvar})$ and
# $\sigma^2 = \exp(\text{logvar})$. Some code outputs $\log \sigma$ instead;
# both work, but mixing the two conventions (computing
# $\sigma = \exp(\text{logvar})$ when the variable holds $\log \sigma^2$) squares
# the standard deviation by mistake, and the KL term then pushes towards the
# wrong width. The cell checks the closed form against
# `torch.distributions.kl_divergence` for a few values.

# %%
mu_demo = torch.tensor([0.0, 1.0, -2.0, 0.5], dtype=torch.float64)
logvar_demo = torch.tensor([0.0, 0.0, math.log(4.0), -3.0], dtype=torch.float64)
closed_form = 0.5 * (mu_demo ** 2 + logvar_demo.exp() - 1 - logvar_demo)
library = torch.distributions.kl_divergence(
    torch.distributions.Normal(mu_demo, torch.exp(0.5 * logvar_demo)),
    torch.distributions.Normal(0.0, 1.0))
for m, lv, a, b in zip(mu_demo, logvar_demo, closed_form, library, strict=True):
    print(f"mu {m:5.2f}, sigma {math.exp(0.5 * lv):5.3f}: closed form {a:.6f}, "
          f"torch.distributions {b:.6f}")

# %% [markdown]
# ### The reparameterization trick
#
# The reconstruction term is an expectation over $z \sim q_\phi(z \mid x)$, and
# we need its gradient with respect to $\phi$, the parameters that define the
# distribution we sample from. A sample is not a differentiable function of
# $\mu$ and $\sigma$ as `torch.normal(mu, sigma)` draws it. The trick is to
# move the randomness into a fixed distribution:
#
# $$\varepsilon \sim \mathcal{N}(0, I), \qquad
#   z = \mu + \sigma \odot \varepsilon, \quad
#   \sigma = \exp\big(\tfrac12 \log \sigma^2\big).$$
#
# Now $z$ has the right distribution, and it is a differentiable function of
# $\mu$ and $\log \sigma^2$ for a fixed $\varepsilon$:
#
# $$\frac{\partial z_j}{\partial \mu_j} = 1, \qquad
#   \frac{\partial z_j}{\partial \log \sigma^2_j} = \tfrac12\, \sigma_j\,
#   \varepsilon_j ,$$
#
# so $\nabla_\phi \mathbb{E}_q[f(z)] =
# \mathbb{E}_\varepsilon[\nabla_\phi f(\mu + \sigma \odot \varepsilon)]$, which a
# single sample estimates without bias. (`torch.distributions.Normal.rsample`
# does exactly this; `sample` does not keep the graph.)
#
# The alternative, the *score-function* or REINFORCE estimator
# $\mathbb{E}_q[f(z) \nabla_\phi \log q_\phi(z)]$, works for any distribution,
# even discrete ones, but is much noisier. The cell estimates
# $\frac{d}{d\mu}\mathbb{E}[z^2] = 2\mu$ for $z \sim \mathcal N(\mu, 1)$ at
# $\mu = 1$ with both estimators, one sample at a time, and prints the spread of
# the single-sample estimates.

# %%
gen = torch.Generator().manual_seed(0)
eps = torch.randn(100_000, generator=gen, dtype=torch.float64)
mu_toy = 1.0
z_toy = mu_toy + eps  # sigma = 1
reparam_estimates = 2 * z_toy  # d/dmu of (mu + eps)^2
score_estimates = z_toy ** 2 * (z_toy - mu_toy)  # f(z) * d/dmu log q(z)
for name, est in (("reparameterization", reparam_estimates),
                  ("score function", score_estimates)):
    print(f"{name:19s}: mean {est.mean():.3f} (exact {2 * mu_toy:.1f}), "
          f"std of one sample {est.std():.2f}")

# %% [markdown]
# Both are unbiased, but one score-function sample is nearly three times as
# noisy here, and such gaps grow with the dimension and with the scale of $f$
# (the score function only sees the value $f(z)$, never its slope): that is
# why VAEs use the reparameterization trick.
#
# ### Exercise 2: `reparameterize` (3 points)
#
# Draw $z = \mu + \exp(\tfrac12 \text{logvar}) \odot \varepsilon$. Take
# $\varepsilon$ from the `generator` argument, not from the global random
# state: a notebook, a test or a data loader worker can then reproduce the
# draw exactly without disturbing anyone else's random numbers. Gradients must
# reach both `mu` and `logvar`.

# %% grade_id="ch21-reparameterize"
def reparameterize(mu, logvar, generator=None):
    """Sample z ~ N(mu, diag(exp(logvar))) differentiably: z = mu + sigma * eps.

    Args:
        mu: floating-point tensor of any shape S (typically (N, Z): N codes of
            size Z), the means.
        logvar: tensor of shape S with the dtype and device of ``mu``: the log
            of the variances, log sigma^2 (not log sigma).
        generator: a ``torch.Generator`` on the device of ``mu``, or None for
            PyTorch's global generator. eps is drawn from it with one call,
            ``torch.randn(mu.shape, generator=generator, dtype=mu.dtype,
            device=mu.device)`` (for a contiguous mu,
            ``torch.randn_like(mu, generator=generator)`` and
            ``torch.empty_like(mu).normal_(generator=generator)`` draw the
            same numbers); no other random number is drawn, and with a
            generator the global random state is left untouched.

    Returns:
        z = mu + exp(logvar / 2) * eps, shape S, dtype and device of ``mu``.
        It is differentiable: dz/dmu = 1 and dz/dlogvar = exp(logvar / 2) *
        eps / 2 elementwise, so gradients flow to both inputs. The inputs are
        not modified.

    Raises:
        ValueError: if ``mu`` and ``logvar`` have different shapes.
    """
    ### BEGIN SOLUTION
    if mu.shape != logvar.shape:
        raise ValueError(f"mu has shape {tuple(mu.shape)} but logvar has shape "
                         f"{tuple(logvar.shape)}")
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
    return mu + torch.exp(0.5 * logvar) * eps
    ### END SOLUTION


# %%
# Try it: the same seed gives the same sample; the mean and spread look right
mu_try = torch.tensor([[0.0, 3.0]])
logvar_try = torch.tensor([[0.0, math.log(0.25)]])  # sigma = 1 and 0.5
print(reparameterize(mu_try, logvar_try, torch.Generator().manual_seed(1)))
print(reparameterize(mu_try, logvar_try, torch.Generator().manual_seed(1)))
many = reparameterize(mu_try.expand(20_000, 2), logvar_try.expand(20_000, 2),
                      torch.Generator().manual_seed(2))
print("sample mean", many.mean(dim=0), "sample std", many.std(dim=0))

# %% grade_id="ch21-reparameterize-tests" points=3
"""reparameterize: z = mu + exp(logvar / 2) * eps with eps = torch.randn(mu.shape,
generator=...) (logvar is log sigma^2); the same seed gives the same z, the next
call on the generator another; the global random state untouched when a generator
is given; generator=None draws from the global generator (== Normal.rsample after
torch.manual_seed); gradients dz/dmu = 1 and dz/dlogvar = sigma * eps / 2; float64
on `device` with a generator on `device`; a 3-D shape; inputs not modified;
ValueError for different shapes.

Hidden tests: other shapes, seeds and values, batch 1, float32.
"""


def reference_eps(shape, seed, dtype, where):
    gen = torch.Generator(device=where).manual_seed(seed)
    return torch.randn(shape, generator=gen, dtype=dtype, device=where)


def check_reparameterize(mu, logvar, seed, what, tol):
    mu = mu.detach().clone().requires_grad_()
    logvar = logvar.detach().clone().requires_grad_()
    saved = mu.detach().clone(), logvar.detach().clone()
    gen = torch.Generator(device=mu.device).manual_seed(seed)
    cpu_state = torch.get_rng_state()
    z = reparameterize(mu, logvar, gen)
    assert torch.equal(torch.get_rng_state(), cpu_state), (
        f"{what}: the global random state changed: draw eps from `generator`")
    eps = reference_eps(mu.shape, seed, mu.dtype, mu.device)
    sigma = torch.exp(0.5 * saved[1])
    assert_close(z, saved[0] + sigma * eps, rtol=tol, atol=tol,
                 name=f"{what}: z (logvar is log sigma^2, eps from the generator)")
    assert z.device == mu.device, f"{what}: z on {z.device}, expected {mu.device}"
    assert torch.equal(mu.detach(), saved[0]) and torch.equal(logvar.detach(),
                                                               saved[1]), (
        f"{what}: an input was modified")
    assert z.requires_grad, (
        f"{what}: z does not require grad, so no gradient can reach mu and logvar "
        "(a sample drawn by torch.normal(mu, sigma) or detached?)")
    weights = torch.linspace(-1, 2, mu.numel(), dtype=mu.dtype,
                             device=mu.device).reshape(mu.shape)
    (z * weights).sum().backward()
    assert mu.grad is not None and logvar.grad is not None, (
        f"{what}: no gradient reached mu or logvar (detached?)")
    assert_close(mu.grad, weights, rtol=tol, atol=tol, name=f"{what}: dz/dmu")
    assert_close(logvar.grad, weights * 0.5 * sigma * eps, rtol=tol, atol=tol,
                 name=f"{what}: dz/dlogvar = sigma * eps / 2")
    again = reparameterize(saved[0], saved[1],
                           torch.Generator(device=mu.device).manual_seed(seed))
    assert torch.equal(again, z.detach()), f"{what}: the same seed gave another z"
    following = reparameterize(saved[0], saved[1], gen)  # the generator has moved on
    assert not torch.equal(following, z.detach()), (
        f"{what}: a second call on the same generator repeated the sample")


# by hand: eps from seed 0; sigma = 1 and 2 (logvar = 0 and log 4)
mu = torch.tensor([[1.0, -2.0]])
logvar = torch.tensor([[0.0, math.log(4.0)]])
eps = reference_eps((1, 2), 0, torch.float32, "cpu")
z = reparameterize(mu, logvar, torch.Generator().manual_seed(0))
assert_close(z, torch.stack([1.0 + eps[:, 0], -2.0 + 2.0 * eps[:, 1]], dim=1),
             rtol=1e-6, atol=1e-6, name="reparameterize, sigma = 1 and 2 by hand")
check_reparameterize(torch.randn(4, 3), torch.randn(4, 3), 7, "shape (4, 3)", 1e-5)
check_reparameterize(torch.randn(2, 3, 5, dtype=torch.float64).to(device),
                     torch.randn(2, 3, 5, dtype=torch.float64).to(device), 3,
                     "shape (2, 3, 5), float64 on device", 1e-12)
# generator=None: the global generator, as torch.distributions' rsample uses it
mu, logvar = torch.randn(3, 2), torch.randn(3, 2)
torch.manual_seed(11)
z = reparameterize(mu, logvar, None)
torch.manual_seed(11)
want = torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).rsample()
assert_close(z, want, rtol=1e-6, atol=1e-6,
             name="reparameterize(mu, logvar, None) vs Normal(...).rsample()")
expect_raises(ValueError, reparameterize, torch.zeros(2, 3), torch.zeros(3, 2),
              torch.Generator().manual_seed(0), name="mu (2, 3) and logvar (3, 2)")
### BEGIN HIDDEN TESTS
for _shape, _seed in [((1, 5), 1), ((7, 2), 2), ((3, 1, 4), 5), ((9,), 8)]:
    _g = torch.Generator().manual_seed(_seed)
    for _dtype, _tol in ((torch.float64, 1e-12), (torch.float32, 1e-5)):
        _mu = (3 * torch.randn(_shape, generator=_g, dtype=torch.float64)).to(
            device, _dtype)
        _lv = (2 * torch.randn(_shape, generator=_g, dtype=torch.float64)).to(
            device, _dtype)
        check_reparameterize(_mu, _lv, _seed + 100, f"shape {_shape}, {_dtype}", _tol)
_mu = torch.randn(5, 3, dtype=torch.float64).to(device)
_lv = torch.randn(5, 3, dtype=torch.float64).to(device)
torch.manual_seed(4)
_z = reparameterize(_mu, _lv, None)
torch.manual_seed(4)
assert_close(_z, torch.distributions.Normal(_mu, torch.exp(0.5 * _lv)).rsample(),
             rtol=1e-12, atol=1e-12, name="generator=None, float64 on device")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3: `vae_loss` (4 points)
#
# The VAE minimises the negative ELBO, estimated with one sample
# $z_n = \mu_n + \sigma_n \odot \varepsilon_n$ per input, plus a weight
# $\beta \ge 0$ on the KL term ($\beta = 1$ is the ELBO; section 21.6 varies
# it). For a batch of $N$ inputs, with logits $\ell_n = g_\theta(z_n)$:
#
# $$\mathcal{L} = \underbrace{\frac1N \sum_{n=1}^{N} \sum_{d=1}^{D}
#   \Big[\operatorname{softplus}(\ell_{nd}) - x_{nd}\,\ell_{nd}\Big]}_{
#   \text{reconstruction}}
#   + \beta\, \underbrace{\frac1N \sum_{n=1}^{N} \sum_{j=1}^{Z}
#   \tfrac12\Big(\mu_{nj}^2 + \sigma_{nj}^2 - 1 - \log \sigma_{nj}^2\Big)}_{
#   \text{KL}} .$$
#
# Both terms are **summed** over their own axis (pixels; latent coordinates)
# and **averaged** over the batch: each is then in nats per input, as the
# ELBO is, and $\beta = 1$ really is the ELBO. Averaging over the pixels
# instead (the default `reduction="mean"` of PyTorch's losses) divides the
# reconstruction by $D$ and so weighs the KL $D$ times more than intended; we
# will see in section 21.6 what that does.
#
# Write the KL term yourself from the closed form: `torch.distributions`'
# `kl_divergence` and `F.kl_div` are forbidden (the tests compare with the
# former). For the reconstruction term,
# `F.binary_cross_entropy_with_logits` is allowed, and so is the softplus
# formula; a sigmoid followed by a logarithm or by `F.binary_cross_entropy` is
# not exact (section 21.2), and a test with large logits will show it.

# %% grade_id="ch21-vae-loss"
def vae_loss(recon, x, mu, logvar, beta=1.0):
    """The beta-weighted negative ELBO of a VAE with a Bernoulli decoder.

    N is the batch size, F the feature shape of one input (for example (D,)
    or (1, 8, 8)) and Z the latent size.

    Args:
        recon: floating-point tensor of shape (N, *F), the decoder's logits
            (before any sigmoid).
        x: tensor of shape (N, *F) with values in [0, 1] (0/1 or grey levels),
            the inputs; the dtype and device of ``recon``.
        mu: tensor of shape (N, Z), the means of q(z | x).
        logvar: tensor of shape (N, Z), the log-variances log sigma^2 of
            q(z | x). mu and logvar have the dtype and device of ``recon``.
        beta: a Python float >= 0, the weight of the KL term (default 1.0).

    Returns:
        A tuple (loss, reconstruction, kl) of 0-d tensors with the dtype and
        device of ``recon``, all differentiable:
        reconstruction = binary cross-entropy with logits, summed over all
            the feature axes and averaged over the N inputs;
        kl = KL(N(mu, diag(sigma^2)) || N(0, I)) in closed form,
            0.5 * (mu^2 + sigma^2 - 1 - log sigma^2) summed over the Z latent
            coordinates and averaged over the N inputs;
        loss = reconstruction + beta * kl.
        The reconstruction must be exact for large logits (|logit| of 30 or
        more in float32). The inputs are not modified.

    Raises:
        ValueError: if recon and x differ in shape, mu and logvar differ in
            shape, their first dimensions are not all N, or beta < 0.

    Do not call torch.distributions.kl_divergence or
    torch.nn.functional.kl_div (the KL_DIVERGENCES group).
    F.binary_cross_entropy_with_logits is allowed.
    """
    ### BEGIN SOLUTION
    if recon.shape != x.shape or mu.shape != logvar.shape:
        raise ValueError(f"shapes differ: recon {tuple(recon.shape)}, x "
                         f"{tuple(x.shape)}, mu {tuple(mu.shape)}, logvar "
                         f"{tuple(logvar.shape)}")
    if recon.shape[0] != mu.shape[0]:
        raise ValueError(f"batch sizes differ: {recon.shape[0]} and {mu.shape[0]}")
    if beta < 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    n = recon.shape[0]
    reconstruction = F.binary_cross_entropy_with_logits(recon, x, reduction="sum") / n
    kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum() / n
    return reconstruction + beta * kl, reconstruction, kl
    ### END SOLUTION


# %%
# Try it: logits of 0 predict 0.5 everywhere (log 2 nats per pixel); mu = 0 and
# logvar = 0 make q the prior (KL = 0)
print(vae_loss(torch.zeros(2, 3), torch.rand(2, 3), torch.zeros(2, 4),
               torch.zeros(2, 4)))
print(3 * math.log(2))

# %% grade_id="ch21-vae-loss-tests" points=4
"""vae_loss: a tuple (loss, reconstruction, kl) of 0-d tensors; values by hand
(log 2 per pixel for logits 0; KL sums over the latent axis and averages over the
batch); equals BCE-with-logits (sum over features / N) + beta * KL from
torch.distributions in float64 on `device`, batch 1 and images of shape (1, 8, 8);
exact for logits of +-30 in float32; beta = 0; gradients to recon, mu and logvar;
inputs not modified; ValueError for mismatched shapes or beta < 0; no
kl_divergence or F.kl_div (KL_DIVERGENCES).

Hidden tests: other shapes, betas and values.
"""


def reference_vae_terms(recon, x, mu, logvar, beta):
    n = recon.shape[0]
    rec = F.binary_cross_entropy_with_logits(recon, x, reduction="sum") / n
    kl = torch.distributions.kl_divergence(
        torch.distributions.Normal(mu, torch.exp(0.5 * logvar)),
        torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu)),
    ).sum() / n
    return rec + beta * kl, rec, kl


def check_vae_loss(recon, x, mu, logvar, beta, what, tol):
    inputs = [t.detach().clone().requires_grad_() for t in (recon, x, mu, logvar)]
    saved = [t.detach().clone() for t in inputs]
    with forbid(*KL_DIVERGENCES):
        out = vae_loss(*inputs, beta)
    assert isinstance(out, tuple) and len(out) == 3, (
        f"{what}: expected a tuple (loss, reconstruction, kl), got "
        f"{type(out).__name__}")
    want = reference_vae_terms(*saved, beta)
    for name, got, ref in zip(("loss", "reconstruction", "kl"), out, want, strict=True):
        assert_shape(got, (), name=f"{what}: {name}")
        assert_close(got, ref, rtol=tol, atol=tol, name=f"{what}: {name}")
        assert got.device == recon.device, f"{what}: {name} on {got.device}"
    for t, s in zip(inputs, saved, strict=True):
        assert torch.equal(t.detach(), s), f"{what}: an input was modified"
    # gradients of the loss with respect to recon, mu and logvar
    grads = torch.autograd.grad(out[0], [inputs[0], inputs[2], inputs[3]])
    leaves = [s.clone().requires_grad_() for s in saved]
    ref_grads = torch.autograd.grad(reference_vae_terms(*leaves, beta)[0],
                                    [leaves[0], leaves[2], leaves[3]])
    for name, g, r in zip(("recon", "mu", "logvar"), grads, ref_grads, strict=True):
        assert_close(g, r, rtol=tol, atol=tol, name=f"{what}: gradient for {name}")


# by hand: logits 0 -> log 2 per pixel, 3 pixels; KL of row 0 is
# 0.5 * 1 + 0.5 * (4 - 1 - log 4), row 1 is 0, averaged over the 2 rows
mu = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
logvar = torch.tensor([[0.0, math.log(4.0)], [0.0, 0.0]])
with forbid(*KL_DIVERGENCES):
    out = vae_loss(torch.zeros(2, 3), torch.rand(2, 3), mu, logvar, 2.0)
assert isinstance(out, tuple) and len(out) == 3, (
    f"expected a tuple (loss, reconstruction, kl), got {type(out).__name__}")
loss, rec, kl = out
want_kl = (0.5 + 0.5 * (3 - math.log(4.0))) / 2
assert_close(rec, torch.tensor(3 * math.log(2.0)), rtol=1e-6, atol=1e-6,
             name="reconstruction for logits 0 (log 2 per pixel, summed, / N)")
assert_close(kl, torch.tensor(want_kl), rtol=1e-6, atol=1e-6,
             name="kl by hand (summed over Z, averaged over N)")
assert_close(loss, torch.tensor(3 * math.log(2.0) + 2.0 * want_kl), rtol=1e-6,
             atol=1e-6, name="loss = reconstruction + beta * kl, beta = 2")
gen = torch.Generator().manual_seed(0)


def random_batch(n, feature_shape, z_dim, dtype, where, scale=2.0):
    """(recon, x, mu, logvar) with grey-level x in [0, 1]."""
    recon = scale * torch.randn(n, *feature_shape, generator=gen, dtype=dtype)
    x = torch.rand(n, *feature_shape, generator=gen, dtype=dtype)
    mu = torch.randn(n, z_dim, generator=gen, dtype=dtype)
    logvar = torch.randn(n, z_dim, generator=gen, dtype=dtype)
    return tuple(t.to(where) for t in (recon, x, mu, logvar))


check_vae_loss(*random_batch(5, (7,), 3, torch.float32, "cpu"), 1.0,
               "N=5, D=7, Z=3, beta=1", 1e-5)
check_vae_loss(*random_batch(4, (6,), 2, torch.float64, device), 0.5,
               "float64 on device, beta=0.5", 1e-10)
check_vae_loss(*random_batch(1, (5,), 4, torch.float64, "cpu"), 1.0,
               "batch 1", 1e-10)
check_vae_loss(*random_batch(3, (1, 8, 8), 2, torch.float64, device), 3.0,
               "images of shape (1, 8, 8), float64 on device", 1e-10)
check_vae_loss(*random_batch(3, (4,), 2, torch.float64, "cpu"), 0.0,
               "beta = 0 (loss = reconstruction)", 1e-10)
# logits of +-30 in float32: sigmoid rounds to exactly 0 or 1 there
big = torch.tensor([[30.0, -30.0, 30.0, -30.0]])
check_vae_loss(big, torch.tensor([[0.0, 1.0, 0.5, 0.25]]), torch.zeros(1, 2),
               torch.zeros(1, 2), 1.0, "logits of +-30 in float32", 1e-5)
zeros = torch.zeros(2, 3)
for args, label in [((zeros, torch.zeros(2, 4), zeros, zeros, 1.0), "recon/x shapes"),
                    ((zeros, zeros, torch.zeros(2, 2), zeros, 1.0), "mu/logvar shapes"),
                    ((zeros, zeros, torch.zeros(3, 3), torch.zeros(3, 3), 1.0),
                     "batch of recon 2, of mu 3"),
                    ((zeros, zeros, zeros, zeros, -0.5), "beta = -0.5")]:
    expect_raises(ValueError, vae_loss, *args, name=f"vae_loss with {label}")
### BEGIN HIDDEN TESTS
for _n, _fs, _z, _beta in [(1, (3,), 1, 1.0), (9, (11,), 5, 4.0),
                           (6, (2, 3, 3), 7, 0.1), (2, (64,), 2, 1.0)]:
    check_vae_loss(*random_batch(_n, _fs, _z, torch.float64, device), _beta,
                   f"N={_n}, features {_fs}, Z={_z}, beta={_beta}", 1e-10)
    check_vae_loss(*random_batch(_n, _fs, _z, torch.float32, device, scale=8.0),
                   _beta, f"float32, large logits, N={_n}, features {_fs}", 1e-5)
_big = torch.tensor([[40.0, -35.0, 50.0], [-45.0, 31.0, 0.3]], device=device)
check_vae_loss(_big, torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.5]], device=device),
               torch.randn(2, 3, device=device), torch.randn(2, 3, device=device),
               2.0, "logits beyond +-30 on device", 1e-5)
expect_raises(ValueError, vae_loss, torch.zeros(4, 5), torch.zeros(4, 5),
              torch.zeros(4, 2), torch.zeros(4, 3), 1.0,
              name="mu (4, 2), logvar (4, 3)")
### END HIDDEN TESTS

# %% [markdown]
# ## 21.5 Training a VAE on digits
#
# The model below is the autoencoder of exercise 1 with two changes: the
# encoder's last layer has $2Z$ outputs, split into $\mu$ and $\log \sigma^2$,
# and the forward pass decodes a sample drawn with `reparameterize` instead of
# the code itself. A `generator` passed to `forward` makes the samples
# reproducible. At test time one usually encodes to $\mu$ alone (the most
# likely code) and decodes that.

# %%
class VAE(nn.Module):
    """MLP VAE: q(z|x) = N(mu, diag(exp(logvar))), Bernoulli decoder (logits)."""

    def __init__(self, input_dim, hidden_dim, latent_dim):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(input_dim, hidden_dim), nn.ReLU(),
                                     nn.Linear(hidden_dim, 2 * latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden_dim), nn.ReLU(),
                                     nn.Linear(hidden_dim, input_dim))

    def encode(self, x):
        mu, logvar = self.encoder(x).chunk(2, dim=-1)  # two (N, Z) halves
        return mu, logvar

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x, generator=None):
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar, generator)
        return self.decode(z), mu, logvar


def evaluate_vae(model, X, beta, seed=0):
    """(loss, reconstruction, kl) on X with one seeded sample per input."""
    generator = torch.Generator(device=device).manual_seed(seed)
    with torch.no_grad():
        recon, mu, logvar = model(X.to(device), generator)
        return tuple(t.item() for t in vae_loss(recon, X.to(device), mu, logvar, beta))


# %% [markdown]
# The training loop is the one of section 21.2; the loss is `vae_loss` with a
# fresh sample for every input at every step, drawn from a generator seeded
# from the global seed (so other seeds give other samples too).
#
# We train one VAE with a 2-D code for each of five values of $\beta$; the
# next section compares them, and this one looks at $\beta = 1$, the true
# ELBO. Three numbers help to read its test loss (nats per digit):
#
# - the **entropy floor**: the BCE of a perfect reconstruction,
#   $\sum_d H(x_d)$, which no model can beat on grey pixels;
# - the **mean-digit baseline**: the BCE of always predicting the average
#   training digit, which is what a VAE that ignores its input achieves (its
#   KL is then 0);
# - the trained VAE's negative ELBO, which must lie between them.
#
# The bar: a test negative ELBO of at most 26.0 nats per digit for
# $\beta = 1$, a clear nat below the mean-digit baseline (about 27 nats), with
# the chapter's seed and with others. With only two latent coordinates the
# VAE cannot get far below it: most of the gap to the entropy floor is detail
# that two numbers cannot hold.

# %%
NUM_EPOCHS = 40  # the knob: more epochs (or Z > 2) on a GPU
BETAS = [0.1, 0.5, 1.0, 2.0, 4.0]


def train_vae(beta, num_epochs, seed):
    """A VAE(64, 128, 2) trained with vae_loss at this beta."""
    set_seed(seed)  # the initial weights and the batch order
    model = VAE(64, 128, 2).to(device)
    generator = torch.Generator(device=device).manual_seed(
        int(torch.randint(2**62, ())))  # seeded from the global seed

    def batch_loss(model, x):
        recon, mu, logvar = model(x, generator)
        return vae_loss(recon, x, mu, logvar, beta)[0]

    fit(model, batch_loss, num_epochs, seed, desc=f"VAE, beta={beta}")
    return model


vae_cache = {}  # the trained models, so that later cells reuse them


def trained_vaes(num_epochs=NUM_EPOCHS):
    """One VAE per beta of BETAS, trained once: (models, scores, means).

    scores[beta] = (negative ELBO, reconstruction, KL) on the test digits, all
    evaluated with beta = 1 (the true ELBO); means[beta] = mu(x) of the test
    digits, (449, 2), on the CPU."""
    if num_epochs not in vae_cache:
        models = {beta: train_vae(beta, num_epochs, seed=0) for beta in BETAS}
        scores = {beta: evaluate_vae(m, X_test, beta=1.0) for beta, m in models.items()}
        with torch.no_grad():
            means = {beta: m.encode(X_test.to(device))[0].cpu()
                     for beta, m in models.items()}
        vae_cache[num_epochs] = models, scores, means
    return vae_cache[num_epochs]


_, vae_scores, _ = trained_vaes()

x_clipped = X_test.double().clamp(1e-12, 1 - 1e-12)
entropy_floor = -(x_clipped * x_clipped.log() +
                  (1 - x_clipped) * (1 - x_clipped).log()).sum(dim=1).mean().item()
mean_logits = torch.logit(X_train.mean(dim=0).clamp(1e-4, 1 - 1e-4))
mean_digit = F.binary_cross_entropy_with_logits(
    mean_logits.expand_as(X_test), X_test, reduction="sum").item() / len(X_test)
vae_elbo, vae_rec, vae_kl = vae_scores[1.0]
print(f"entropy floor (perfect reconstruction): {entropy_floor:6.2f} nats per digit")
print(f"VAE, beta = 1: negative ELBO {vae_elbo:6.2f} = reconstruction {vae_rec:.2f}"
      f" + KL {vae_kl:.2f}")
print(f"mean-digit baseline:                    {mean_digit:6.2f}")
check_bar("VAE test negative ELBO (nats per digit)", vae_elbo, 26.0,
          higher_is_better=False)

# %%
vaes, _, vae_means = trained_vaes()  # the models trained above
vae, vae_mu = vaes[1.0], vae_means[1.0]
autoencoder, _, ae_codes, _ = trained_autoencoder()
low, high = code_box(ae_codes)
uniform = torch.rand(12, 2, generator=torch.Generator().manual_seed(0))
with torch.no_grad():
    vae_recon = torch.sigmoid(vae.decode(vae_mu.to(device))).cpu()  # the means
    prior_codes = torch.randn(12, 2, generator=torch.Generator().manual_seed(0))
    prior_samples = torch.sigmoid(vae.decode(prior_codes.to(device))).cpu()
    ae_random = torch.sigmoid(autoencoder.decode(
        (low + (high - low) * uniform).to(device))).cpu()
show_digits([X_test[:12], vae_recon[:12], prior_samples, ae_random],
            ["test digit", "VAE, decoded mean", "VAE, z ~ N(0, I)",
             "autoencoder, z uniform\nin its code box"],
            "VAE (beta = 1, Z = 2): reconstructions and samples from the prior")
plt.show()

# %% [markdown]
# The VAE's reconstructions are about as blurry as the autoencoder's (the code
# is still only two numbers), and codes drawn from $\mathcal N(0, I)$ decode
# to digit-like images. (We show $\sigma(\ell)$, the mean of the Bernoulli
# pixels; sampling 0/1 pixels from it would only add salt-and-pepper noise.)
# The last row cheats a little for the autoencoder: its random codes are drawn
# uniformly from the rectangle that holds the codes of the test digits, a
# region we could only find by encoding data first. The VAE needs no such
# guess: it was trained so that its codes sit where the prior puts its mass.
#
# How well does each way of sampling hit the region where real codes live?
# The cell draws 2,000 random codes of each kind and measures the distance
# from each to the nearest code of a test digit, in units of the typical gap
# between real codes (the median distance from a test code to its nearest
# other test code). A value near 1 means "among the real codes"; a large value
# means an empty region.

# %%
def distance_to_data(samples, codes):
    """Distance from each sample to its nearest code, over the median NN gap."""
    gaps = torch.cdist(codes, codes).fill_diagonal_(math.inf).min(dim=1).values
    return torch.cdist(samples, codes).min(dim=1).values / gaps.median()


autoencoder, _, ae_codes, _ = trained_autoencoder()  # the models trained above
_, _, vae_means = trained_vaes()
low, high = code_box(ae_codes)
sample_gen = torch.Generator().manual_seed(1)
box_samples = low + (high - low) * torch.rand(2000, 2, generator=sample_gen)
prior_draws = torch.randn(2000, 2, generator=sample_gen)
distances = {"autoencoder, uniform in the box": distance_to_data(box_samples, ae_codes),
             "VAE, from the prior N(0, I)": distance_to_data(prior_draws,
                                                             vae_means[1.0])}
for name, d in distances.items():
    print(f"{name:32s}: median {d.median():.2f}, 90th percentile "
          f"{d.quantile(0.9):.2f}, farther than 3 gaps: {(d > 3).float().mean():.1%}")

# %% [markdown]
# The prior's samples land closer to the real codes than the box's: a smaller
# median distance and a smaller share far from every real code (this held
# for every seed we tried). In two dimensions the difference is moderate,
# because a rectangle fitted around 449 codes is not mostly empty. In $Z$
# dimensions it would be: the corners of a box take almost all of its volume,
# while the codes of an autoencoder, with nothing pulling them into a known
# shape, fill some thin curved region inside it. The KL term of a VAE is that
# pull: it makes the codes of the data cover the prior, so that a code drawn
# from the prior lands where the decoder has been trained.
#
# Since the prior is a standard normal, the whole **learned manifold** can be
# drawn by decoding a grid of codes placed at the quantiles of
# $\mathcal N(0, 1)$ in each coordinate: $z_j = \Phi^{-1}(u)$ for $u$ evenly
# spaced in $(0, 1)$, where $\Phi^{-1}$ is `torch.special.ndtri`. Each region
# of the prior's mass gets the same room in the picture.

# %%
quantiles = torch.special.ndtri(torch.linspace(0.04, 0.96, 12))
vaes, _, vae_means = trained_vaes()  # the models trained above
vae, vae_mu = vaes[1.0], vae_means[1.0]
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5.4))
scatter_codes(left, vae_mu, y_test, "VAE: means mu(x) of the test digits")
circle = torch.linspace(0, 2 * math.pi, 100)
for r in (1.0, 2.0):
    left.plot(r * circle.cos(), r * circle.sin(), "k:", lw=0.8)
left.plot([], [], "k:", lw=0.8, label="prior: 1 and 2 std")
left.legend(title="digit", fontsize=7, markerscale=2, loc="center left",
            bbox_to_anchor=(1.0, 0.5))
right.imshow(decode_grid(vae.decode, quantiles, quantiles).numpy(), cmap="gray_r",
             extent=(0.04, 0.96, 0.04, 0.96))
right.set(xlabel="quantile of $z_1$", ylabel="quantile of $z_2$",
          title="decoded grid at the prior's quantiles")
fig.tight_layout()
plt.show()

# %% [markdown]
# Compared with the autoencoder of section 21.3, the codes are centred at 0
# with a spread of about 1, as the KL term asks, and the clusters touch: there
# is little empty space, and the grid changes smoothly from one digit into the
# next. Several classes overlap near the centre, where the prior is densest:
# the regulariser trades some separation for that regularity, and the next
# section turns its knob.
#
# ## 21.6 The weight $\beta$: reconstruction against regularity
#
# Multiplying the KL term by $\beta$ (Higgins et al. 2017 called this a
# $\beta$-VAE) moves the balance between the two parts of the loss:
#
# - $\beta < 1$: reconstructions get sharper and the code spreads out: the
#   model behaves more like a plain autoencoder, and samples from the prior
#   land more often in empty regions;
# - $\beta > 1$: the codes are pressed harder towards the prior; at large
#   $\beta$ the cheapest solution is to make $q(z \mid x)$ equal to the prior
#   for every $x$ (KL = 0) and let the decoder output the mean digit. This is
#   **posterior collapse**: the code carries no information. (Higgins et al.
#   used $\beta > 1$ with more latent dimensions to encourage each dimension to
#   capture one factor of variation, "disentanglement".)
#
# Information theory gives a reading of both terms: the KL, averaged over the
# data, is an upper bound on the information the code keeps about the input,
# in nats (the **rate**), and the reconstruction term is the **distortion**.
# Varying $\beta$ walks along a rate-distortion curve (Alemi et al. 2018). The
# cell prints both for our five models, all evaluated with $\beta = 1$.

# %%
_, vae_scores, _ = trained_vaes()  # the models trained above
print(" beta | reconstruction |  KL (rate) | negative ELBO")
for beta, (elbo, rec, kl) in vae_scores.items():
    print(f"{beta:5.1f} | {rec:14.2f} | {kl:10.2f} | {elbo:13.2f}")

# %% [markdown]
# Move the slider through the five models. The left panel shows where the
# test digits' means land, the middle one the decoded quantile grid, the right
# one the rate-distortion points with the chosen model marked. Watch the means
# spread out as $\beta$ falls and crowd towards 0 as it rises, and the grid
# lose its variety until, at the top of the range, every code decodes to the
# same blurred average digit.
#
# The reduction of section 21.4 is the same knob in disguise: a loss that
# averages the BCE over the 64 pixels but sums the KL behaves like
# $\beta = 64$, far beyond the collapse seen here.

# %%
vaes, vae_scores, vae_means = trained_vaes()  # the models trained above
# the decoded grids are drawn once; the slider only shows them
vae_grids = {beta: decode_grid(vaes[beta].decode, quantiles, quantiles)
             for beta in BETAS}


def show_beta(beta=1.0):
    mu, grid = vae_means[beta], vae_grids[beta]
    elbo, rec, kl = vae_scores[beta]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    scatter_codes(axes[0], mu, y_test, f"beta = {beta}: means of the test digits")
    axes[0].set(xlim=(-4, 4), ylim=(-4, 4))
    axes[1].imshow(grid.numpy(), cmap="gray_r", extent=(0.04, 0.96, 0.04, 0.96))
    axes[1].set(xlabel="quantile of $z_1$", ylabel="quantile of $z_2$",
                title=f"decoded grid: reconstruction {rec:.1f}, KL {kl:.2f}")
    rates = [vae_scores[b][2] for b in BETAS]
    distortions = [vae_scores[b][1] for b in BETAS]
    axes[2].plot(rates, distortions, "o-", color="0.5", label="the five models")
    axes[2].plot([kl], [rec], "o", color="C3", markersize=10,
                 label=f"beta = {beta}")
    axes[2].axhline(entropy_floor, color="C2", ls=":", label="entropy floor")
    axes[2].set(xlabel="rate: KL (nats per digit)",
                ylabel="distortion: reconstruction (nats)",
                title="rate-distortion, evaluated at beta = 1")
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    return fig


interactive_plot(show_beta, beta=widgets.SelectionSlider(
    options=BETAS, value=1.0, description="beta", continuous_update=False))

# %% [markdown]
# ## 21.7 Walking through the latent space
#
# A smooth latent space lets us **interpolate**: encode two inputs, walk along
# the straight line between their codes, and decode every point on the way.
# In a VAE every point on that line is a plausible code, so the images morph
# from one digit into the other; in a plain autoencoder the line may cross the
# empty regions of section 21.3.
#
# ### Exercise 4: `interpolate_latents` (2 points)
#
# Return `steps` evenly spaced points from $z_0$ to $z_1$, both ends included:
#
# $$z^{(k)} = (1 - t_k)\, z_0 + t_k\, z_1, \qquad
#   t_k = \frac{k}{\text{steps} - 1}, \quad k = 0, \dots, \text{steps} - 1 .$$
#
# With one step there is nothing to walk: return $z_0$ alone. Build all the
# points at once with broadcasting (a column of $t_k$ against the row $z_1 -
# z_0$), not with a Python loop over the steps; `torch.lerp`, which is the
# formula in one call, is forbidden.

# %% grade_id="ch21-interpolate-latents"
def interpolate_latents(z0, z1, steps):
    """Evenly spaced points on the segment from z0 to z1, both ends included.

    Args:
        z0: floating-point tensor of any shape S (typically (Z,), one code).
        z1: tensor of shape S with the dtype and device of ``z0``.
        steps: int >= 1, the number of points.

    Returns:
        Tensor of shape (steps, *S) with the dtype and device of ``z0``: row k
        is (1 - t_k) * z0 + t_k * z1 with t_k = k / (steps - 1), so row 0 is
        z0 and row steps - 1 is z1. With steps == 1 the result is z0 alone,
        shape (1, *S). The inputs are not modified.

    Raises:
        ValueError: if steps < 1 or z0 and z1 differ in shape.

    Do not call torch.lerp or Tensor.lerp.
    """
    ### BEGIN SOLUTION
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    if z0.shape != z1.shape:
        raise ValueError(f"z0 has shape {tuple(z0.shape)}, z1 {tuple(z1.shape)}")
    if steps == 1:
        return z0.unsqueeze(0).clone()
    t = torch.arange(steps, dtype=z0.dtype, device=z0.device) / (steps - 1)
    t = t.reshape(steps, *([1] * z0.dim()))  # (steps, 1, ..., 1) to broadcast
    return (1 - t) * z0 + t * z1
    ### END SOLUTION


# %%
# Try it: 5 points from (0, 0) to (1, 2)
print(interpolate_latents(torch.tensor([0.0, 0.0]), torch.tensor([1.0, 2.0]), 5))

# %% grade_id="ch21-interpolate-latents-tests" points=2
"""interpolate_latents: a small example by hand with both ends included; equals
(1 - t) z0 + t z1 with t = k / (steps - 1) in float64 on `device`; shape (steps, *S)
for a 2-D S; steps = 2 gives the two ends, steps = 1 gives z0 alone; inputs not
modified; ValueError for steps < 1 or different shapes; no torch.lerp.

Hidden tests: other sizes, step counts and values, compared with torch.lerp.
"""
banned_lerp = ("torch.lerp", "torch.Tensor.lerp")


def check_interpolation(z0, z1, steps, what, tol):
    saved = z0.clone(), z1.clone()
    with forbid(*banned_lerp):
        out = interpolate_latents(z0, z1, steps)
    assert_shape(out, (steps, *z0.shape), name=what)
    t = (torch.arange(steps, dtype=torch.float64) / max(steps - 1, 1)).reshape(
        steps, *([1] * z0.dim())).to(z0.device)
    want = ((1 - t) * z0.double() + t * z1.double()).to(z0.dtype)
    assert_close(out, want, rtol=tol, atol=tol, name=what)
    assert out.device == z0.device, f"{what}: result on {out.device}"
    assert_close(out[0], z0, rtol=tol, atol=tol, name=f"{what}: first point (z0)")
    if steps > 1:
        assert_close(out[-1], z1, rtol=tol, atol=tol, name=f"{what}: last point (z1)")
    assert torch.equal(z0, saved[0]) and torch.equal(z1, saved[1]), (
        f"{what}: an input was modified")


with forbid(*banned_lerp):
    out = interpolate_latents(torch.tensor([0.0, 0.0]), torch.tensor([1.0, 2.0]), 3)
assert_close(out, torch.tensor([[0.0, 0.0], [0.5, 1.0], [1.0, 2.0]]),
             name="interpolate_latents([0, 0], [1, 2], 3)")
gen = torch.Generator().manual_seed(0)
z0, z1 = torch.randn(2, 5, generator=gen, dtype=torch.float64).to(device)
check_interpolation(z0, z1, 7, "Z=5, 7 steps, float64 on device", 1e-12)
check_interpolation(torch.randn(2, 3, generator=gen), torch.randn(2, 3, generator=gen),
                    4, "S = (2, 3), 4 steps", 1e-6)
check_interpolation(z0, z1, 2, "steps = 2 (just the two ends)", 1e-12)
check_interpolation(z0, z1, 1, "steps = 1 (z0 alone)", 1e-12)
expect_raises(ValueError, interpolate_latents, z0, z1, 0, name="steps = 0")
expect_raises(ValueError, interpolate_latents, z0, z1[:4], 3,
              name="z0 of shape (5,), z1 of shape (4,)")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(21)
for _shape, _steps in [((3,), 9), ((1,), 5), ((4, 2), 6), ((11,), 1), ((7,), 13)]:
    _a = (4 * torch.randn(_shape, generator=_gen, dtype=torch.float64)).to(device)
    _b = (4 * torch.randn(_shape, generator=_gen, dtype=torch.float64)).to(device)
    check_interpolation(_a, _b, _steps, f"shape {_shape}, {_steps} steps", 1e-12)
    if _steps > 1:
        _t = torch.linspace(0, 1, _steps, dtype=torch.float64, device=device)
        _t = _t.reshape(_steps, *([1] * len(_shape)))
        with forbid(*banned_lerp):
            _got = interpolate_latents(_a, _b, _steps)
        assert_close(_got, torch.lerp(_a, _b, _t), rtol=1e-12, atol=1e-12,
                     name=f"shape {_shape}, {_steps} steps vs torch.lerp")
    check_interpolation(_a.float(), _b.float(), _steps,
                        f"float32, shape {_shape}, {_steps} steps", 1e-5)
expect_raises(ValueError, interpolate_latents, _a, _b, -2, name="steps = -2")
### END HIDDEN TESTS

# %% [markdown]
# Now the walk itself. We take two test digits of different classes, encode
# them with the autoencoder (its code) and with the $\beta = 1$ VAE (its mean),
# interpolate in 10 steps and decode every point. The left panels show the two
# paths in their latent spaces, on top of the test codes.

# %%
start_index = int((y_test == 0).nonzero()[0])
end_index = int((y_test == 7).nonzero()[0])
autoencoder, _, ae_codes, _ = trained_autoencoder()  # the models trained above
vaes, _, vae_means = trained_vaes()
vae, vae_mu = vaes[1.0], vae_means[1.0]
paths = {}
with torch.no_grad():
    for name, codes, decode in (("autoencoder", ae_codes, autoencoder.decode),
                                ("VAE, beta = 1", vae_mu, vae.decode)):
        path = interpolate_latents(codes[start_index], codes[end_index], 10)  # (10, 2)
        paths[name] = path, torch.sigmoid(decode(path.to(device))).cpu()

fig = plt.figure(figsize=(13, 5.2))
for row, (name, (path, images)) in enumerate(paths.items()):
    ax = fig.add_subplot(2, 4, 4 * row + 1)
    codes = ae_codes if row == 0 else vae_mu
    ax.scatter(codes[:, 0], codes[:, 1], s=3, c="0.8", label="test codes")
    ax.plot(path[:, 0], path[:, 1], "o-", color="C3", ms=3, label="path")
    ax.set(xlabel="$z_1$", ylabel="$z_2$", title=name)
    ax.legend(fontsize=7)
    strip = torch.cat([im.reshape(8, 8) for im in images], dim=1)
    ax_img = fig.add_subplot(2, 4, (4 * row + 2, 4 * row + 4))
    ax_img.imshow(strip.numpy(), cmap="gray_r", vmin=0, vmax=1)
    ax_img.set(xticks=[], yticks=[], title=f"{name}: decoded path from a 0 to a 7")
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Straight lines in many dimensions
#
# With a 2-D code the straight line is fine. With a large $Z$ it is not quite:
# a sample of $\mathcal N(0, I_Z)$ almost always has a norm close to
# $\sqrt{Z}$ (the codes live on a thin shell), while the midpoint of two
# independent samples has a norm close to $\sqrt{Z / 2}$: the path dips into
# the middle of the shell, where the prior has almost no samples and the
# decoder was rarely trained. *Spherical* interpolation (slerp), which follows
# the great circle between the two codes, keeps the norm on the shell; it is
# the usual choice for GAN and diffusion latents. The cell measures the norms
# for $Z = 64$.

# %%
gen = torch.Generator().manual_seed(0)
Z_big = 64
a, b = torch.randn(2, 1000, Z_big, generator=gen, dtype=torch.float64)
sample_norms = torch.linalg.vector_norm(a, dim=1)
midpoint_norms = torch.linalg.vector_norm((a + b) / 2, dim=1)
print(f"Z = {Z_big}: sqrt(Z) = {math.sqrt(Z_big):.2f}, sqrt(Z / 2) = "
      f"{math.sqrt(Z_big / 2):.2f}")
print(f"norm of a prior sample: {sample_norms.mean():.2f} +- {sample_norms.std():.2f}")
print(f"norm of the midpoint of two samples: {midpoint_norms.mean():.2f} +- "
      f"{midpoint_norms.std():.2f}")

# %% [markdown]
# ## 21.8 Where autoencoders go next
#
# - **Denoising autoencoders** (Vincent et al. 2008) corrupt the input (noise,
#   masked pixels) and reconstruct the clean version; the bottleneck is then
#   optional, because copying no longer works. Masked autoencoders (He et al.
#   2022) apply the idea to image patches with a transformer and are a strong
#   self-supervised pretraining method.
# - **Sparse autoencoders** use a wide code with a penalty (an L1 norm) that
#   keeps most entries at zero; they are used today to find interpretable
#   features inside large language models.
# - **Convolutional autoencoders** replace the linear layers by convolutions
#   in the encoder and transposed convolutions (chapter 20) in the decoder,
#   which scales to real images.
# - **Anomaly detection**: an autoencoder trained on normal data reconstructs
#   normal inputs well and unusual ones badly, so the reconstruction error is
#   an anomaly score.
# - **Better VAEs**: the one-sample ELBO is a loose bound; the
#   importance-weighted bound (Burda et al. 2016) tightens it with several
#   samples, hierarchical VAEs (NVAE, VDVAE) stack many latent layers, and
#   KL annealing (raising $\beta$ from 0 to 1 during training) or "free bits"
#   avoid posterior collapse with powerful decoders.
# - **VQ-VAE** (van den Oord et al. 2017) replaces the Gaussian code by the
#   nearest of a learned set of vectors, a discrete code that a transformer can
#   then model like text.
# - **Latent diffusion** (Rombach et al. 2022, behind Stable Diffusion) trains
#   an autoencoder with a small KL term to compress images by a factor of about
#   48, then runs the expensive diffusion model in that latent space.
#
# Compared with the GANs of chapter 20, a VAE trains stably on one loss, gives
# every input a code and a likelihood bound, and covers all the data (no mode
# collapse), but its samples are blurrier: the Gaussian or Bernoulli decoder
# averages over what it cannot pin down.
#
# ## 21.9 Summary
#
# - An autoencoder is an encoder and a decoder trained to reconstruct their
#   input through a bottleneck. A linear one can do no better than PCA; with
#   ReLU layers and a 2-D code it beat PCA's reconstruction on digits and
#   separated the classes without seeing a label.
# - The decoder returns logits and the loss is
#   `binary_cross_entropy_with_logits`, summed over pixels and averaged over
#   the batch; a sigmoid followed by `BCELoss` saturates and loses its
#   gradient.
# - An autoencoder's latent space has an arbitrary scale and empty regions, so
#   random codes rarely decode to digits. A VAE models
#   $p(z) = \mathcal N(0, I)$ and $p_\theta(x \mid z)$, trains an encoder
#   $q_\phi(z \mid x)$ by maximising the ELBO, reconstruction minus
#   $\operatorname{KL}(q \Vert p)$, and the KL of a diagonal Gaussian has the
#   closed form $\tfrac12 \sum_j (\mu_j^2 + \sigma_j^2 - 1 - \log \sigma_j^2)$.
# - The reparameterization trick $z = \mu + \sigma \odot \varepsilon$ makes the
#   sample differentiable; it is much less noisy than the score-function
#   estimator. The encoder outputs $\log \sigma^2$, and $\sigma =
#   \exp(\tfrac12 \log \sigma^2)$; drawing $\varepsilon$ from an explicit
#   generator makes it reproducible.
# - $\beta$ trades reconstruction (distortion) for a regular code (rate); a
#   large $\beta$, or a loss that averages over pixels but sums the KL,
#   collapses the posterior to the prior.
# - Interpolating between codes morphs one digit into another in a VAE; in
#   many dimensions spherical interpolation keeps the path on the prior's
#   shell.
#
# **Next:** chapter 22 turns to attention, the mechanism behind transformers,
# from its origins in translation to self-attention and cross-attention.
