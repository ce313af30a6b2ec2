# %% [markdown]
# # Chapter 12: Layers and their roles
#
# A deep network is assembled from a small set of layer types, each with one
# job. **Linear** layers (and their cousins, convolutions) mix features with
# learned weights. **Normalisation** layers keep the numbers flowing through a
# deep stack at a healthy scale. **Activation** functions bend the map so that
# the stack is more than one big matrix. **Regularisation** (dropout, DropBlock,
# weight decay) keeps a network that can memorise its training set from doing
# so. This chapter builds each of them from its equations, checks them against
# PyTorch's own, and looks at the details that decide whether a from-scratch
# version is right: which variance, where the $\varepsilon$ goes, what happens
# at $x = 10^4$, how dropout rescales, and what a layer stores besides its
# weights.
#
# **You will learn**
# - what `nn.Linear` computes, how many parameters it has and how PyTorch
#   initialises them; why a bias in front of a batch norm is wasted;
# - batch normalisation in training and in evaluation mode: batch statistics,
#   running statistics, the biased and the unbiased variance, momentum;
# - layer, group and instance normalisation, as the same formula averaged over
#   different axes;
# - the activations of modern networks (leaky ReLU, ELU, GELU, swish), their
#   derivatives, and how to compute them without overflow;
# - inverted dropout, DropBlock for feature maps, and weight decay (and why the
#   common phrase "adds $\lambda\lVert W\rVert^2$" is off by a factor 2);
# - which layers have trainable parameters, which only have buffers, and which
#   have neither.
#
# **Graded exercises** (25 points)
#
# | exercise | points |
# |---|---|
# | `batch_norm_train(x, gamma, beta, running_mean, running_var, momentum, eps)` | 4 |
# | `batch_norm_eval(x, gamma, beta, running_mean, running_var, eps)` | 2 |
# | `layer_norm(x, gamma, beta, eps)` | 3 |
# | `leaky_relu(x, negative_slope)` | 1 |
# | `elu(x, alpha)` | 2 |
# | `gelu(x, approximate)` | 2 |
# | `swish(x)` | 2 |
# | `inverted_dropout(x, p, generator)` | 3 |
# | `DropBlock2d(drop_prob, block_size)` | 4 |
# | `layers_without_trainable_parameters(batchnorm_affine)` | 2 |
#
# Each exercise is a function or a module whose docstring states its whole
# contract: shapes, dtypes, devices, edge cases and the built-ins you may not
# call. Replace `raise NotImplementedError()` with your code and run the test
# cell below it. The visible tests show every rule the grader checks; hidden
# tests repeat them on other values, shapes and seeds.

# %%
import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F
from matplotlib.colors import ListedColormap
from sklearn.datasets import load_sample_image

from dlcourse import get_device, progress, set_seed
from dlcourse.checks import (
    NORMALIZATIONS,
    SIGMOIDS,
    assert_close,
    assert_shape,
    expect_raises,
    forbid,
)
from dlcourse.training import check_bar
from dlcourse.widgets import interactive_plot

device = get_device()  # the tests also run your code on this device
set_seed(0)
print(f"torch {torch.__version__}, device: {device}")

# %% [markdown]
# ## 12.1 Linear layers
#
# A **linear** (dense, fully connected) layer maps each input vector
# $x \in \mathbb{R}^{D_\text{in}}$ to
#
# $$y = W x + b, \qquad W \in \mathbb{R}^{D_\text{out} \times D_\text{in}},
#   \quad b \in \mathbb{R}^{D_\text{out}} .$$
#
# On a batch $X$ of shape $(N, D_\text{in})$, one example per row, this is
# $Y = X W^\top + b$, which is exactly what `nn.Linear(D_in, D_out)` and
# `F.linear(X, W, b)` compute. The layer has
# $D_\text{in} D_\text{out} + D_\text{out} = (D_\text{in} + 1) D_\text{out}$
# parameters. It acts on the **last** dimension only: an input of shape
# $(N, T, D_\text{in})$, say $N$ sentences of $T$ tokens, gives
# $(N, T, D_\text{out})$, the same matrix applied to every token.
#
# Its role is to **mix features**: output $j$ is a learned weighted sum of all
# the inputs. On its own that is not much (a stack of linear layers is still a
# single linear map, chapter 8), so it always comes with an activation after
# it, and it is everywhere: the hidden layers of an MLP, the projections of
# attention (chapter 11), the classifier head of every CNN. A $1 \times 1$
# convolution is a linear layer applied at every pixel.
#
# **Initialisation.** PyTorch draws the weights of `nn.Linear` uniformly from
# $\big[-1/\sqrt{D_\text{in}},\ 1/\sqrt{D_\text{in}}\big]$ (its
# `kaiming_uniform_` with $a = \sqrt 5$ comes out to this bound) and the bias
# from the same interval, so that the output's scale does not grow with the
# width. Chapter 0 explains why the scale of the weights matters.

# %%
torch.manual_seed(0)
layer = nn.Linear(64, 10)
print("weight", tuple(layer.weight.shape), "bias", tuple(layer.bias.shape))
print("parameters:", sum(p.numel() for p in layer.parameters()),
      "= (64 + 1) * 10 =", (64 + 1) * 10)
bound = 1 / math.sqrt(64)
print(f"largest |weight| {layer.weight.abs().max():.4f}, "
      f"largest |bias| {layer.bias.abs().max():.4f}, bound 1/sqrt(64) = {bound}")
tokens = torch.randn(2, 5, 64)  # (N, T, D_in)
print("(N, T, D_in) =", tuple(tokens.shape), "->", tuple(layer(tokens).shape))
manual = tokens @ layer.weight.T + layer.bias
print("max |layer(x) - (x W^T + b)|:", (layer(tokens) - manual).abs().max().item())

# %% [markdown]
# ### A bias in front of a batch norm does nothing
#
# Batch normalisation (next section) subtracts the mean of each feature over
# the batch. A constant added to a feature before it, such as the bias of the
# linear layer in front, is removed again: the output does not depend on that
# bias at all, and its gradient is zero (up to rounding, in the cell below).
# That is why convolutional networks write `nn.Conv2d(..., bias=False)` before
# `nn.BatchNorm2d` (chapter 9), and why a count of parameters is not the whole
# story about what a network can learn.

# %%
torch.manual_seed(0)
linear, norm = nn.Linear(6, 4).double(), nn.BatchNorm1d(4).double()  # float64
batch = torch.randn(8, 6, dtype=torch.float64)
before = norm(linear(batch))
with torch.no_grad():
    linear.bias.add_(torch.randn(4) * 10)  # a very different bias
after = norm(linear(batch))
print("max change of the output after changing the bias:",
      (after - before).abs().max().item())
after.pow(2).sum().backward()
print("gradient of the bias:", linear.bias.grad)

# %% [markdown]
# ## 12.2 Batch normalisation
#
# Deep networks train faster and tolerate larger learning rates when the
# inputs of each layer have a stable scale. **Batch normalisation** (BN, Ioffe
# and Szegedy, 2015) standardises every feature (every channel, for images)
# with statistics of the current mini-batch, then lets the network choose the
# scale and shift it wants with two learned vectors $\gamma$ and $\beta$.
#
# Take an input of shape $(N, C, *)$: $N$ examples, $C$ channels (features)
# and any number of further dimensions (none for an MLP's $(N, C)$, a length
# $L$ for sequences, $H \times W$ for images). For channel $c$, let
# $x_1, \dots, x_M$ be its $M = N \times L$ (or $N H W$) values in the batch.
# In **training mode** BN computes
#
# $$\mu_c = \frac1M \sum_{i=1}^M x_i, \qquad
#   \sigma_c^2 = \frac1M \sum_{i=1}^M (x_i - \mu_c)^2, \qquad
#   y_i = \gamma_c\,\frac{x_i - \mu_c}{\sqrt{\sigma_c^2 + \varepsilon}}
#   + \beta_c .$$
#
# Three details matter, and each is a classic bug:
#
# 1. The variance used to **normalise** is the *biased* one (divide by $M$):
#    it is the variance of the numbers in front of us, and it makes the
#    outputs of a channel have variance exactly
#    $\sigma_c^2 / (\sigma_c^2 + \varepsilon) \approx 1$.
# 2. $\varepsilon$ (default $10^{-5}$) goes **inside** the square root. It keeps
#    a channel with (nearly) constant values from dividing by zero; outside the
#    root, $(x - \mu)/(\sigma + \varepsilon)$, the result differs whenever
#    $\sigma$ is small.
# 3. The gradient flows **through** $\mu_c$ and $\sigma_c^2$: they are functions
#    of the batch, and detaching them gives wrong gradients.
#
# At test time there may be a single example, and a prediction must not depend
# on which other examples share its batch. So BN also keeps **running
# statistics**, buffers updated in every training step by an exponential moving
# average,
#
# $$\hat\mu_c \leftarrow (1 - m)\,\hat\mu_c + m\,\mu_c, \qquad
#   \hat\sigma_c^2 \leftarrow (1 - m)\,\hat\sigma_c^2
#   + m\,\frac{M}{M - 1}\,\sigma_c^2 ,$$
#
# with momentum $m = 0.1$ by default, starting from $\hat\mu = 0$,
# $\hat\sigma^2 = 1$. Note the **unbiased** variance ($\div (M - 1)$,
# chapter 3) in the running estimate: it estimates the variance of the whole
# population, while the normalisation used the batch's own. In **evaluation
# mode** (`model.eval()`) BN uses the running statistics instead of the batch:
#
# $$y = \gamma\,\frac{x - \hat\mu}{\sqrt{\hat\sigma^2 + \varepsilon}} + \beta ,$$
#
# a fixed affine map of each channel, the same for every batch.
#
# Two conventions to keep in mind. PyTorch's `momentum` is the weight of the
# *new* batch statistic; Keras' `momentum=0.99` is the weight of the *old*
# running value, so the two mean the same with $m_\text{PyTorch} = 1 -
# m_\text{Keras}$. And with one value per channel ($M = 1$) the unbiased
# variance is $0/0$: `F.batch_norm` refuses to train on it (chapter 8 met this
# error with a batch of one in an MLP).
#
# The cell below trains nothing: it feeds 200 batches of 16 numbers drawn from
# $\mathcal N(3, 2^2)$ to the same channel and follows the running mean and
# variance for two momenta. A small momentum averages over more batches (about
# $1/m$) and is smoother, but forgets the starting point more slowly.

# %%
set_seed(0)
num_batches = 200
stream = 3 + 2 * torch.randn(num_batches, 16, 1)  # (batches, N, C=1)
history = {}
for momentum in (0.1, 0.01):
    bn = nn.BatchNorm1d(1, momentum=momentum)  # training mode by default
    means, variances = [], []
    for batch in stream:
        bn(batch)  # updates the running statistics in place
        means.append(bn.running_mean.item())
        variances.append(bn.running_var.item())
    history[momentum] = (means, variances)

fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for momentum, (means, variances) in history.items():
    axes[0].plot(means, label=f"momentum {momentum}")
    axes[1].plot(variances, label=f"momentum {momentum}")
axes[0].axhline(3, color="k", lw=1, ls=":", label="true mean 3")
axes[1].axhline(4, color="k", lw=1, ls=":", label="true variance 4")
axes[0].set(xlabel="training step", ylabel="running_mean",
            title="Running mean of one channel")
axes[1].set(xlabel="training step", ylabel="running_var",
            title="Running variance of one channel")
for ax in axes:
    ax.legend()
fig.tight_layout()
plt.show()
for momentum, (means, variances) in history.items():
    print(f"momentum {momentum}: after {num_batches} batches running_mean "
          f"{means[-1]:.3f}, running_var {variances[-1]:.3f}")

# %% [markdown]
# ### Exercise 1: `batch_norm_train` (4 points)
#
# Write batch normalisation in training mode, running statistics included.
# Unlike `F.batch_norm`, which updates the running buffers you pass it *in
# place*, your function returns the new running statistics as new tensors and
# modifies none of its arguments (a pure function is easier to test and to
# reason about; `nn.BatchNorm2d` would then copy them into its buffers).
#
# The result must match `F.batch_norm(x, running_mean, running_var, gamma,
# beta, training=True, momentum=momentum, eps=eps)` (on copies of the running
# statistics) in values and in the gradients with respect to `x`, `gamma` and
# `beta`. The normalisation built-ins (the group `NORMALIZATIONS` of
# `dlcourse.checks`: `F.batch_norm`, `torch.batch_norm`, `F.layer_norm`,
# `F.group_norm`, `F.instance_norm`...) are forbidden; `Tensor.mean`,
# `Tensor.var` and the rest of torch are allowed.

# %% grade_id="ch12-batch-norm-train"
def batch_norm_train(x, gamma, beta, running_mean, running_var, momentum=0.1,
                     eps=1e-5):
    """Batch normalisation in training mode, with the running statistics.

    N is the batch size, C the number of channels (features), and * any number
    (zero or more) of further dimensions: x may be (N, C), (N, C, L),
    (N, C, H, W), ... The statistics of channel c are taken over every
    dimension except dim 1, i.e. over its M = x.numel() // C values.

    Args:
        x: floating-point tensor of shape (N, C, *).
        gamma, beta: tensors of shape (C,): the scale and the shift.
        running_mean, running_var: tensors of shape (C,): the running
            statistics before this step.
        momentum: float m in [0, 1], the weight of the new batch statistic.
        eps: float > 0, added to the variance inside the square root.

    Returns:
        (y, new_running_mean, new_running_var):
        y = gamma_c * (x - mean_c) / sqrt(var_c + eps) + beta_c, shape (N, C, *),
            with mean_c and the BIASED var_c (divide by M) of the batch;
        new_running_mean = (1 - m) * running_mean + m * mean, shape (C,);
        new_running_var = (1 - m) * running_var + m * unbiased_var, shape (C,),
            with the UNBIASED batch variance (divide by M - 1).
        All three have the dtype and device of x and are new tensors: no
        argument is modified (F.batch_norm updates its buffers in place; this
        function does not). The gradients of y with respect to x, gamma and
        beta must equal F.batch_norm's: let autograd flow through the batch
        mean and variance (do not detach them).

    Raises:
        ValueError if M = 1 (e.g. x of shape (1, C) or (1, C, 1)): the unbiased
        variance is undefined, and F.batch_norm refuses too. N = 1 with M > 1,
        e.g. (1, C, L) with L > 1, is fine.

    Do not call the normalisation built-ins (the group NORMALIZATIONS:
    F.batch_norm, torch.batch_norm, F.layer_norm, F.group_norm,
    F.instance_norm, ...).
    """
    ### BEGIN SOLUTION
    channels = x.shape[1]
    count = x.numel() // channels  # M values per channel
    if count < 2:
        raise ValueError(f"batch_norm_train needs more than 1 value per channel, "
                         f"got input of shape {tuple(x.shape)}")
    dims = [d for d in range(x.dim()) if d != 1]
    shape = [1, channels] + [1] * (x.dim() - 2)  # broadcasts (C,) over dim 1
    mean = x.mean(dim=dims, keepdim=True)
    var = (x - mean).pow(2).mean(dim=dims, keepdim=True)  # biased: divide by M
    y = (x - mean) / torch.sqrt(var + eps) * gamma.reshape(shape) + beta.reshape(shape)
    with torch.no_grad():  # the running statistics carry no gradient
        unbiased = var.reshape(channels) * count / (count - 1)
        new_mean = (1 - momentum) * running_mean + momentum * mean.reshape(channels)
        new_var = (1 - momentum) * running_var + momentum * unbiased
    return y, new_mean, new_var
    ### END SOLUTION


# %%
# Try it: 4 examples, 2 features. Channel 0 holds 1, 2, 3, 4: mean 2.5, biased
# variance 1.25, unbiased variance 5/3.
x = torch.tensor([[1.0, 10.0], [2.0, 10.0], [3.0, 12.0], [4.0, 12.0]])
y, new_mean, new_var = batch_norm_train(x, torch.ones(2), torch.zeros(2),
                                        torch.zeros(2), torch.ones(2))
print("y =", y.T)
print("new running mean", new_mean, " new running var", new_var)

# %% grade_id="ch12-batch-norm-train-tests" points=4
"""batch_norm_train: a small example by hand; == F.batch_norm(training=True) with
its running statistics (on copies) and its gradients for x of shape (N, C),
(N, C, L) and (N, C, H, W), other momenta and eps, float64 on `device`; N = 1 with
L > 1 works; M = 1 raises ValueError; no argument modified; no NORMALIZATIONS."""


def check_batch_norm_train(shape, momentum, eps, dtype, where, seed, what):
    """Compare with F.batch_norm in training mode: values, running statistics,
    gradients, dtype, device, arguments unmodified. One channel is nearly
    constant so that the place of eps matters."""
    gen = torch.Generator().manual_seed(seed)
    channels = shape[1]
    x = 2 * torch.randn(shape, generator=gen, dtype=torch.float64) + 1
    x[:, 0] = 0.5 + 1e-3 * x[:, 0]  # a channel of tiny variance
    gamma = torch.randn(channels, generator=gen, dtype=torch.float64)
    beta = torch.randn(channels, generator=gen, dtype=torch.float64)
    r_mean = torch.randn(channels, generator=gen, dtype=torch.float64)
    r_var = torch.rand(channels, generator=gen, dtype=torch.float64) + 0.5
    upstream = torch.randn(shape, generator=gen, dtype=torch.float64)
    x, gamma, beta, r_mean, r_var, upstream = (
        t.to(where, dtype) for t in (x, gamma, beta, r_mean, r_var, upstream))
    saved = [t.clone() for t in (x, gamma, beta, r_mean, r_var)]
    ref_mean, ref_var = r_mean.clone(), r_var.clone()  # F.batch_norm updates them
    leaves = [t.clone().requires_grad_() for t in (x, gamma, beta)]
    with forbid(*NORMALIZATIONS):
        out = batch_norm_train(*leaves, r_mean, r_var, momentum=momentum, eps=eps)
    assert isinstance(out, tuple) and len(out) == 3, (
        f"{what}: expected a tuple (y, new_running_mean, new_running_var), got "
        f"{type(out).__name__}")
    for label, t, s in zip(("x", "gamma", "beta", "running_mean", "running_var"),
                           (x, gamma, beta, r_mean, r_var), saved, strict=True):
        assert torch.equal(t, s), f"{what}: the argument {label} was modified"
    ref_leaves = [t.clone().requires_grad_() for t in (x, gamma, beta)]
    want = F.batch_norm(ref_leaves[0], ref_mean, ref_var, ref_leaves[1],
                        ref_leaves[2], training=True, momentum=momentum, eps=eps)
    tol = 1e-9 if dtype == torch.float64 else 1e-4
    assert_close(out[0], want, rtol=tol, atol=tol, name=f"{what}: y")
    assert_close(out[1], ref_mean, rtol=tol, atol=tol,
                 name=f"{what}: new_running_mean")
    assert_close(out[2], ref_var, rtol=tol, atol=tol,
                 name=f"{what}: new_running_var (the UNBIASED batch variance)")
    for label, t in zip(("y", "new_running_mean", "new_running_var"), out,
                        strict=True):
        assert t.device == x.device, f"{what}: {label} on {t.device}, not {x.device}"
    (out[0] * upstream).sum().backward()
    (want * upstream).sum().backward()
    for label, mine, ref in zip(("x", "gamma", "beta"), leaves, ref_leaves,
                                strict=True):
        assert mine.grad is not None, f"{what}: no gradient reached {label}"
        assert_close(mine.grad, ref.grad, rtol=tol * 10, atol=tol * 10,
                     name=f"{what}: gradient with respect to {label}")


with forbid(*NORMALIZATIONS):
    y, new_mean, new_var = batch_norm_train(
        torch.tensor([[1.0], [2.0], [3.0], [4.0]]), torch.tensor([2.0]),
        torch.tensor([0.5]), torch.tensor([0.0]), torch.tensor([1.0]))
z = torch.tensor([-1.5, -0.5, 0.5, 1.5]) / math.sqrt(1.25 + 1e-5)
assert_close(y, (2 * z + 0.5).reshape(4, 1), rtol=1e-5, atol=1e-6,
             name="y for x = [1, 2, 3, 4], gamma 2, beta 0.5 (biased variance 1.25)")
assert_close(new_mean, torch.tensor([0.25]), rtol=1e-6, atol=1e-7,
             name="new_running_mean = 0.9 * 0 + 0.1 * 2.5")
assert_close(new_var, torch.tensor([0.9 + 0.1 * 5 / 3]), rtol=1e-6, atol=1e-7,
             name="new_running_var = 0.9 * 1 + 0.1 * 5/3 (the unbiased variance)")
check_batch_norm_train((6, 3), 0.1, 1e-5, torch.float32, "cpu", 0,
                       "x of shape (6, 3)")
check_batch_norm_train((5, 4, 7), 0.3, 1e-3, torch.float64, device, 1,
                       "float64 x of shape (5, 4, 7) on device, momentum 0.3, eps 1e-3")
check_batch_norm_train((3, 2, 5, 4), 0.1, 0.5, torch.float64, device, 2,
                       "float64 x of shape (3, 2, 5, 4) on device, eps 0.5")
check_batch_norm_train((1, 3, 6), 1.0, 1e-5, torch.float64, device, 3,
                       "float64 x of shape (1, 3, 6) (N = 1, M = 6), momentum 1")
for bad_shape in [(1, 3), (1, 2, 1)]:
    with forbid(*NORMALIZATIONS):
        expect_raises(ValueError, batch_norm_train, torch.randn(bad_shape),
                      torch.ones(bad_shape[1]), torch.zeros(bad_shape[1]),
                      torch.zeros(bad_shape[1]), torch.ones(bad_shape[1]),
                      name=f"batch_norm_train(x of shape {bad_shape}) (M = 1)")
### BEGIN HIDDEN TESTS
for _i, (_shape, _m, _eps) in enumerate([((2, 5), 0.1, 1e-5), ((9, 1, 3), 0.05, 1e-2),
                                         ((1, 4, 3, 5), 0.2, 1e-5),
                                         ((4, 3, 1, 7), 0.0, 1e-4),
                                         ((2, 3, 2, 3, 2), 0.1, 1e-5)]):
    check_batch_norm_train(_shape, _m, _eps, torch.float64, device, 10 + _i,
                           f"float64 x of shape {_shape}, momentum {_m}, eps {_eps}")
check_batch_norm_train((7, 5, 3, 3), 0.1, 1e-5, torch.float32, device, 20,
                       "float32 x of shape (7, 5, 3, 3) on device")
with forbid(*NORMALIZATIONS):
    expect_raises(ValueError, batch_norm_train, torch.randn(1, 4, 1, 1),
                  torch.ones(4), torch.zeros(4), torch.zeros(4), torch.ones(4),
                  name="batch_norm_train(x of shape (1, 4, 1, 1)) (M = 1)")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2: `batch_norm_eval` (2 points)
#
# In evaluation mode nothing is estimated: the running statistics are used as
# they are, and nothing is updated. The result must match
# `F.batch_norm(x, running_mean, running_var, gamma, beta, training=False,
# eps=eps)`, which works for any batch, a single example included. The same
# built-ins are forbidden.

# %% grade_id="ch12-batch-norm-eval"
def batch_norm_eval(x, gamma, beta, running_mean, running_var, eps=1e-5):
    """Batch normalisation in evaluation mode (with the running statistics).

    N is the batch size (N >= 1), C the number of channels and * any number of
    further dimensions, as in batch_norm_train.

    Args:
        x: floating-point tensor of shape (N, C, *).
        gamma, beta, running_mean, running_var: tensors of shape (C,).
        eps: float > 0, added to running_var inside the square root.

    Returns:
        y = gamma_c * (x - running_mean_c) / sqrt(running_var_c + eps) + beta_c,
        shape (N, C, *), dtype and device of x; channel c is dim 1 of x. No
        argument is modified; gradients with respect to x, gamma and beta
        follow by autograd. Do not call the normalisation built-ins (the group
        NORMALIZATIONS).
    """
    ### BEGIN SOLUTION
    shape = [1, x.shape[1]] + [1] * (x.dim() - 2)
    scale = gamma / torch.sqrt(running_var + eps)  # (C,)
    shift = beta - running_mean * scale
    return x * scale.reshape(shape) + shift.reshape(shape)
    ### END SOLUTION


# %%
# Try it: a single example goes through, unlike in training mode
print(batch_norm_eval(torch.tensor([[1.0, 2.0]]), torch.ones(2), torch.zeros(2),
                      torch.tensor([1.0, 0.0]), torch.tensor([4.0, 1.0])))

# %% grade_id="ch12-batch-norm-eval-tests" points=2
"""batch_norm_eval: a small example by hand; == F.batch_norm(training=False) for
(N, C), (N, C, L), (N, C, H, W), batch 1, eps in the square root, float64 on
`device`; no argument modified; no NORMALIZATIONS."""


def check_batch_norm_eval(shape, eps, dtype, where, seed, what):
    gen = torch.Generator().manual_seed(seed)
    channels = shape[1]
    x = torch.randn(shape, generator=gen, dtype=torch.float64)
    gamma = torch.randn(channels, generator=gen, dtype=torch.float64)
    beta = torch.randn(channels, generator=gen, dtype=torch.float64)
    r_mean = torch.randn(channels, generator=gen, dtype=torch.float64)
    r_var = torch.rand(channels, generator=gen, dtype=torch.float64) * 2 + 1e-3
    args = [t.to(where, dtype) for t in (x, gamma, beta, r_mean, r_var)]
    saved = [t.clone() for t in args]
    with forbid(*NORMALIZATIONS):
        got = batch_norm_eval(*args, eps=eps)
    want = F.batch_norm(args[0], args[3].clone(), args[4].clone(), args[1], args[2],
                        training=False, eps=eps)
    tol = 1e-10 if dtype == torch.float64 else 1e-5
    assert_close(got, want, rtol=tol, atol=tol, name=what)
    assert got.device == args[0].device, f"{what}: on {got.device}, not {x.device}"
    for label, t, s in zip(("x", "gamma", "beta", "running_mean", "running_var"),
                           args, saved, strict=True):
        assert torch.equal(t, s), f"{what}: the argument {label} was modified"


with forbid(*NORMALIZATIONS):
    got = batch_norm_eval(torch.tensor([[1.0, 2.0]]), torch.tensor([1.0, 3.0]),
                          torch.tensor([0.0, 1.0]), torch.tensor([1.0, 0.0]),
                          torch.tensor([4.0, 1.0]), eps=0.0)
assert_close(got, torch.tensor([[0.0, 7.0]]), rtol=1e-6, atol=1e-7,
             name="batch_norm_eval of [[1, 2]] with running mean [1, 0], var [4, 1], "
                  "gamma [1, 3], beta [0, 1], eps 0")
check_batch_norm_eval((4, 3), 1e-5, torch.float32, "cpu", 0, "x of shape (4, 3)")
check_batch_norm_eval((1, 5, 6), 1e-5, torch.float64, device, 1,
                      "float64 x of shape (1, 5, 6) on device (batch 1)")
check_batch_norm_eval((2, 3, 4, 5), 0.5, torch.float64, device, 2,
                      "float64 x of shape (2, 3, 4, 5) on device, eps 0.5")
### BEGIN HIDDEN TESTS
for _i, _shape in enumerate([(7, 2), (1, 3), (3, 1, 5), (2, 4, 3, 1), (1, 2, 3, 2, 2)]):
    check_batch_norm_eval(_shape, 1e-3, torch.float64, device, 10 + _i,
                          f"float64 x of shape {_shape} on device, eps 1e-3")
check_batch_norm_eval((5, 3, 2, 2), 1e-5, torch.float32, device, 20,
                      "float32 x of shape (5, 3, 2, 2) on device")
### END HIDDEN TESTS

# %% [markdown]
# ### Training mode against evaluation mode
#
# A model with BN computes a different function in each mode: forget
# `model.eval()` before testing and every prediction depends on the other
# examples of the batch; forget `model.train()` after and the running
# statistics stop updating. The cell below shows the first effect on one
# `nn.BatchNorm1d` whose running statistics have converged: the same example
# gets a different output depending on its batch-mates in training mode, and
# the same output in evaluation mode.

# %%
set_seed(0)
bn = nn.BatchNorm1d(3)
for _ in range(500):  # let the running statistics converge on N(2, 1)
    bn(2 + torch.randn(32, 3))
bn.momentum = 0.0  # freeze them: the comparison below must not move them
example = torch.tensor([[2.5, 2.5, 2.5]])
for name, mates in [("with typical batch-mates", 2 + torch.randn(7, 3)),
                    ("with batch-mates shifted by +3", 5 + torch.randn(7, 3))]:
    batch = torch.cat([example, mates])
    bn.train()
    in_train = bn(batch)[0]
    bn.eval()
    in_eval = bn(batch)[0]
    print(f"{name:32s} train mode: {in_train.detach().numpy().round(3)}, "
          f"eval mode: {in_eval.detach().numpy().round(3)}")

# %% [markdown]
# ## 12.3 Layer, group and instance normalisation
#
# BN has two weak spots: its statistics are noisy when the batch is small
# (detection and segmentation models often train with 1 or 2 images per device)
# and it needs the running statistics, which make training and evaluation
# differ. In a transformer, where the examples are sequences of different
# lengths, "the statistics of a feature over the batch" is not even a natural
# quantity. The fix is to take the same formula,
#
# $$y = \gamma\,\frac{x - \mu}{\sqrt{\sigma^2 + \varepsilon}} + \beta ,$$
#
# with $\mu$ and $\sigma^2$ (biased) averaged over **other axes**. For an input
# of shape $(N, C, H, W)$:
#
# | layer | statistics over | one $(\mu, \sigma^2)$ per | $\gamma, \beta$ per |
# |---|---|---|---|
# | batch norm | $N, H, W$ | channel | channel |
# | layer norm | $C, H, W$ (the last dims) | example | element of the normalised shape |
# | instance norm | $H, W$ | example and channel | channel (if `affine=True`) |
# | group norm ($G$ groups) | $C/G$ channels, $H, W$ | example and group | channel |
#
# Only batch norm mixes examples, so the others behave identically in training
# and evaluation and need no running statistics (`nn.InstanceNorm2d` can keep
# some with `track_running_stats=True`, off by default). Group norm contains
# the other two as special cases: with one group it normalises over
# $(C, H, W)$ like layer norm, with $G = C$ groups it is instance norm. **Layer
# norm** (Ba, Kiros and Hinton, 2016) is the normalisation of transformers:
# each token's vector of $d$ features is normalised on its own (chapter 11),
# and `nn.LayerNorm(normalized_shape)` normalises over the last
# `len(normalized_shape)` dimensions with $\gamma$ and $\beta$ of that shape.
#
# In the picture below each square is one feature map, the $H \times W$ values
# of one example $n$ in one channel $c$; squares of one colour share a mean and
# a variance.

# %%
num_examples, num_channels, num_groups = 4, 6, 2
rows = torch.arange(num_examples)[:, None].expand(num_examples, num_channels)
cols = torch.arange(num_channels)[None, :].expand(num_examples, num_channels)
who_shares = {
    "batch norm: per channel": cols,
    "layer norm: per example": rows,
    "instance norm: per (example, channel)": rows * num_channels + cols,
    f"group norm, {num_groups} groups: per (example, group)":
        rows * num_groups + cols // (num_channels // num_groups),
}
palette = ListedColormap(plt.cm.tab20.colors + plt.cm.tab20b.colors)
fig, axes = plt.subplots(1, 4, figsize=(14, 3.4))
for ax, (title, labels) in zip(axes, who_shares.items(), strict=True):
    ax.imshow(labels.numpy() % palette.N, cmap=palette, vmin=0, vmax=palette.N - 1)
    ax.set_xticks(range(num_channels))
    ax.set_yticks(range(num_examples))
    ax.set_xticks([i - 0.5 for i in range(1, num_channels)], minor=True)
    ax.set_yticks([i - 0.5 for i in range(1, num_examples)], minor=True)
    ax.grid(which="minor", color="white", lw=2)
    ax.tick_params(which="minor", length=0)
    ax.set(xlabel="channel c", ylabel="example n", title=title)
    ax.title.set_fontsize(9)
fig.suptitle("Which feature maps (each holds H x W values) share statistics")
fig.tight_layout()
plt.show()

# %% [markdown]
# The special cases, checked with PyTorch's functions on an input of shape
# $(4, 6, 5, 5)$ without the affine part: group norm with one group against
# layer norm over $(C, H, W)$, group norm with $C$ groups against instance
# norm, and instance norm against batch norm applied to the input reshaped to
# $(1, N C, H, W)$ (every feature map becomes a channel of a batch of one).

# %%
set_seed(0)
x = 3 + 2 * torch.randn(4, 6, 5, 5, dtype=torch.float64)
N, C = x.shape[:2]
pairs = {
    "group norm (1 group) vs layer norm over (C, H, W)":
        (F.group_norm(x, 1), F.layer_norm(x, x.shape[1:])),
    "group norm (C groups) vs instance norm":
        (F.group_norm(x, C), F.instance_norm(x)),
    "instance norm vs batch norm on (1, N*C, H, W)":
        (F.instance_norm(x),
         F.batch_norm(x.reshape(1, N * C, 5, 5), None, None, training=True)
         .reshape(x.shape)),
}
for name, (a, b) in pairs.items():
    print(f"{name:52s} max difference {(a - b).abs().max().item():.1e}")

# %% [markdown]
# ### Exercise 3: `layer_norm` (3 points)
#
# Write layer normalisation over the last $D$ dimensions of `x`, where $D$ is
# the number of dimensions of `gamma` (so `gamma.shape` plays the role of
# `normalized_shape`). The result must match
# `F.layer_norm(x, gamma.shape, gamma, beta, eps)`, values and gradients; the
# normalisation built-ins are forbidden.

# %% grade_id="ch12-layer-norm"
def layer_norm(x, gamma, beta, eps=1e-5):
    """Layer normalisation over the last D dimensions, D = gamma.dim().

    Args:
        x: floating-point tensor of shape (*, S_1, ..., S_D): any leading
            dimensions (a batch, a sequence...), then the normalised shape
            S = gamma.shape. For a transformer x is (N, T, d) and gamma (d,).
        gamma, beta: tensors of shape S = (S_1, ..., S_D), D >= 1.
        eps: float > 0, added to the variance inside the square root.

    Returns:
        y = gamma * (x - mean) / sqrt(var + eps) + beta, shape of x, dtype and
        device of x, where mean and the BIASED var (divide by S_1 * ... * S_D)
        are taken over the last D dimensions of x, separately for each index of
        the leading dimensions; gamma and beta act elementwise on the last D
        dimensions. No argument is modified. The gradients with respect to x,
        gamma and beta must equal F.layer_norm's (do not detach the mean or
        the variance). Do not call the normalisation built-ins (the group
        NORMALIZATIONS: F.layer_norm, torch.layer_norm, F.group_norm, ...).
    """
    ### BEGIN SOLUTION
    dims = tuple(range(x.dim() - gamma.dim(), x.dim()))
    mean = x.mean(dim=dims, keepdim=True)
    var = (x - mean).pow(2).mean(dim=dims, keepdim=True)  # biased
    return (x - mean) / torch.sqrt(var + eps) * gamma + beta
    ### END SOLUTION


# %%
# Try it: each row (token) normalised on its own
tokens = torch.tensor([[1.0, 2.0, 3.0], [10.0, 10.0, 40.0]])
print(layer_norm(tokens, torch.ones(3), torch.zeros(3)))

# %% grade_id="ch12-layer-norm-tests" points=3
"""layer_norm: a small example by hand; == F.layer_norm(x, gamma.shape, gamma, beta,
eps), values and gradients, for gamma of 1, 2 and 3 dimensions, a batch of 1, eps
inside the square root, float64 on `device`; no argument modified; no
NORMALIZATIONS."""


def check_layer_norm(shape, num_norm_dims, eps, dtype, where, seed, what):
    gen = torch.Generator().manual_seed(seed)
    norm_shape = shape[len(shape) - num_norm_dims:]
    x = 3 * torch.randn(shape, generator=gen, dtype=torch.float64) - 1
    x[0] = 2 + 1e-3 * x[0]  # nearly constant rows: the place of eps matters
    gamma = torch.randn(norm_shape, generator=gen, dtype=torch.float64)
    beta = torch.randn(norm_shape, generator=gen, dtype=torch.float64)
    upstream = torch.randn(shape, generator=gen, dtype=torch.float64)
    x, gamma, beta, upstream = (t.to(where, dtype) for t in (x, gamma, beta, upstream))
    saved = [t.clone() for t in (x, gamma, beta)]
    leaves = [t.clone().requires_grad_() for t in (x, gamma, beta)]
    with forbid(*NORMALIZATIONS):
        got = layer_norm(*leaves, eps=eps)
    refs = [t.clone().requires_grad_() for t in (x, gamma, beta)]
    want = F.layer_norm(refs[0], tuple(norm_shape), refs[1], refs[2], eps)
    tol = 1e-9 if dtype == torch.float64 else 1e-4
    assert_close(got, want, rtol=tol, atol=tol, name=what)
    assert got.device == x.device, f"{what}: result on {got.device}, not {x.device}"
    for label, t, s in zip(("x", "gamma", "beta"), (x, gamma, beta), saved,
                           strict=True):
        assert torch.equal(t, s), f"{what}: the argument {label} was modified"
    (got * upstream).sum().backward()
    (want * upstream).sum().backward()
    for label, mine, ref in zip(("x", "gamma", "beta"), leaves, refs, strict=True):
        assert mine.grad is not None, f"{what}: no gradient reached {label}"
        assert_close(mine.grad, ref.grad, rtol=tol * 10, atol=tol * 10,
                     name=f"{what}: gradient with respect to {label}")


with forbid(*NORMALIZATIONS):
    got = layer_norm(torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 6.0]]),
                     torch.tensor([1.0, 1.0, 2.0]), torch.tensor([0.0, 1.0, 0.0]),
                     eps=0.0)
s = math.sqrt(2 / 3)  # the biased standard deviation of [1, 2, 3]
assert_close(got, torch.tensor([[-1 / s, 1.0, 2 / s],
                                [-1 / math.sqrt(2), 1 - 1 / math.sqrt(2),
                                 2 * math.sqrt(2)]]),
             rtol=1e-5, atol=1e-6, name="layer_norm of [[1, 2, 3], [0, 0, 6]], eps 0")
check_layer_norm((4, 5), 1, 1e-5, torch.float32, "cpu", 0,
                 "x of shape (4, 5), gamma of shape (5,)")
check_layer_norm((2, 3, 6), 1, 0.5, torch.float64, device, 1,
                 "float64 x (2, 3, 6) on device, gamma (6,), eps 0.5")
check_layer_norm((3, 2, 4, 5), 3, 1e-5, torch.float64, device, 2,
                 "float64 x (3, 2, 4, 5) on device, gamma (2, 4, 5)")
check_layer_norm((1, 7), 1, 1e-5, torch.float64, device, 3,
                 "float64 x of shape (1, 7) on device (a batch of 1)")
### BEGIN HIDDEN TESTS
for _i, (_shape, _d) in enumerate([((5, 3), 1), ((2, 5, 3), 2), ((1, 3, 4, 2), 2),
                                   ((3, 1, 2, 3, 2), 1), ((2, 9), 2)]):
    check_layer_norm(_shape, _d, 1e-3, torch.float64, device, 10 + _i,
                     f"float64 x of shape {_shape} on device, {_d} normalised dims")
check_layer_norm((6, 4, 3), 1, 1e-5, torch.float32, device, 20,
                 "float32 x of shape (6, 4, 3) on device")
### END HIDDEN TESTS

# %% [markdown]
# ## 12.4 Activation functions
#
# An activation is applied to every entry of a layer's output. It must be
# nonlinear (chapter 8), cheap, and it must let gradients through: in a deep
# network the gradient reaching the first layer is a product of one factor
# $f'(z)$ per layer, so a derivative that is often close to 0 starves the early
# layers (the **vanishing gradient** of the sigmoid and tanh, whose
# derivatives are at most $1/4$ and $1$ and vanish for large $|z|$).
#
# - **ReLU** $\max(0, x)$ (chapter 0): derivative 1 for $x > 0$, so it does
#   not saturate on the positive side, and it is as cheap as it gets. Its
#   weakness is the flat negative side: a unit whose pre-activation is
#   negative for every input gets zero gradient forever, a **dead ReLU**.
# - **Leaky ReLU** $\;x$ for $x > 0$, $\;a x$ otherwise, with a small slope $a$
#   (0.01 by default): a dead unit still gets a gradient $a$. With $a \le 1$
#   it equals $\max(x, a x)$; PyTorch accepts any slope, and for $a > 1$ that
#   shortcut is wrong. PReLU learns $a$.
# - **ELU** $\;x$ for $x > 0$, $\;\alpha\,(e^x - 1)$ otherwise: smooth for
#   $\alpha = 1$, and it saturates to $-\alpha$ for very negative inputs,
#   which pulls the mean output towards 0 compared with the ReLU.
# - **GELU** $\;x\,\Phi(x)$, where $\Phi(x) = \tfrac12\big(1 +
#   \operatorname{erf}(x/\sqrt2)\big)$ is the standard normal CDF: the input
#   times the probability that a standard normal variable is below it; a
#   smooth ReLU with a small dip below zero (its minimum is about $-0.17$).
#   BERT and GPT-2 popularised the approximation
#   $\tfrac12 x\big(1 + \tanh\big(\sqrt{2/\pi}\,(x + 0.044715\,x^3)\big)\big)$,
#   `F.gelu(x, approximate="tanh")`.
# - **Swish** (SiLU) $\;x\,\sigma(x)$ with the logistic sigmoid $\sigma$:
#   smooth, non-monotonic like the GELU, found by an automated search and used
#   in EfficientNet (chapter 14); `F.silu` in PyTorch.
#
# Derivatives, for the plot below and for the gradient tests:
#
# $$\text{leaky ReLU}' = \begin{cases}1 & x > 0\\ a & x < 0\end{cases},\quad
#   \text{ELU}' = \begin{cases}1 & x > 0\\ \alpha e^x & x < 0\end{cases},\quad
#   \text{GELU}' = \Phi(x) + x\,\varphi(x),\quad
#   \text{swish}' = \sigma(x)\big(1 + x\,(1 - \sigma(x))\big),$$
#
# with $\varphi$ the standard normal density. At $x = 0$ the ReLU family has a
# kink; PyTorch uses the derivative of the left piece there.
#
# We let autograd compute the derivatives: `torch.autograd.grad` of the sum of
# the outputs gives $f'(x_i)$ at every point, because output $i$ depends on
# input $i$ only.

# %%
xs = torch.linspace(-4, 4, 801, dtype=torch.float64)
activations = {
    "ReLU": F.relu,
    "leaky ReLU (a = 0.1)": lambda t: F.leaky_relu(t, 0.1),
    "ELU (alpha = 1)": F.elu,
    "GELU": F.gelu,
    "GELU (tanh)": lambda t: F.gelu(t, approximate="tanh"),
    "swish / SiLU": F.silu,
}
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for name, f in activations.items():
    leaf = xs.clone().requires_grad_()
    (slope,) = torch.autograd.grad(f(leaf).sum(), leaf)
    axes[0].plot(xs.numpy(), f(xs).numpy(), label=name)
    axes[1].plot(xs.numpy(), slope.numpy(), label=name)
axes[0].set(xlabel="x", ylabel="f(x)", title="Activation functions", ylim=(-1.5, 4))
axes[1].set(xlabel="x", ylabel="f'(x)", title="Their derivatives (autograd)",
            ylim=(-0.3, 1.3))
for ax in axes:
    ax.axhline(0, color="gray", lw=0.5)
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
wide = torch.linspace(-10, 10, 200_001, dtype=torch.float64)
gap = (F.gelu(wide) - F.gelu(wide, approximate="tanh")).abs().max().item()
print(f"largest |GELU - GELU(tanh)| on [-10, 10]: {gap:.1e}")
print(f"minimum of the GELU: {F.gelu(wide).min().item():.4f}, of the swish: "
      f"{F.silu(wide).min().item():.4f}")

# %% [markdown]
# The GELU and its tanh approximation differ by less than $5 \times 10^{-4}$:
# invisible in the plot, but a model trained with one and evaluated with the
# other is not exactly the same model.
#
# **Explore.** The widget feeds 200,000 standard normal numbers, the
# typical pre-activations of a well-initialised layer, through an activation
# and shows the distribution of the outputs with their mean and standard
# deviation. Move the parameter (the slope of the leaky ReLU, the $\alpha$ of
# the ELU) and watch how the mean moves towards 0, and how much of the input
# lands on a flat part where the gradient vanishes.

# %%
set_seed(0)
pre_activations = torch.randn(200_000)


def show_activation(activation="ELU", parameter=1.0):
    functions = {
        "ReLU": F.relu,
        "leaky ReLU": lambda t: F.leaky_relu(t, parameter),
        "ELU": lambda t: F.elu(t, parameter),
        "GELU": F.gelu,
        "swish": F.silu,
    }
    f = functions[activation]
    leaf = pre_activations.clone().requires_grad_()
    out = f(leaf)
    (slope,) = torch.autograd.grad(out.sum(), leaf)
    out = out.detach()
    flat = (slope.abs() < 0.01).float().mean().item()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    grid = torch.linspace(-4, 4, 400)
    axes[0].plot(grid.numpy(), f(grid).numpy(), label=f"{activation}(x)")
    axes[0].plot(grid.numpy(), grid.numpy(), ":", color="gray", label="identity")
    axes[0].set(xlabel="x", ylabel="output", ylim=(-3, 4),
                title=f"{activation}, parameter {parameter:.2f}")
    axes[0].legend()
    axes[1].hist(out.numpy(), bins=120, range=(-3, 4), density=True,
                 label=f"mean {out.mean():.3f}, std {out.std():.3f}")
    axes[1].set(xlabel="output", ylabel="density",
                title=f"Outputs for N(0, 1) inputs; |f'| < 0.01 on {flat:.0%}")
    axes[1].legend()
    fig.tight_layout()
    plt.show()


interactive_plot(show_activation,
                 activation=["ReLU", "leaky ReLU", "ELU", "GELU", "swish"],
                 parameter=widgets.FloatSlider(value=1.0, min=0.0, max=3.0,
                                               step=0.05, description="parameter"))

# %% [markdown]
# ### Computing activations safely
#
# A formula that is right on paper can still return `inf` or `nan` in floating
# point. `torch.exp` overflows above about 88 in float32 and 709 in float64,
# and `torch.where(condition, a, b)` computes **both** `a` and `b` everywhere
# before choosing. An ELU written as `torch.where(x > 0, x, alpha * (torch.exp(x)
# - 1))` returns the right *values* at $x = 1000$, because the overflowing branch
# is not chosen, but its *gradient* there is `nan`: the backward pass multiplies
# the zero gradient of the unchosen branch by $e^{1000} = \infty$, and
# $0 \times \infty$ is `nan`. One `nan` in a gradient spreads to every weight at
# the next optimiser step. The cure is to feed each branch only inputs where it
# is finite, here $e^{\min(x, 0)}$. The same happens to a sigmoid written as
# $1/(1 + e^{-x})$ at $x = -1000$ (it is fine at $+1000$).

# %%
big = torch.tensor([1000.0, -1000.0], requires_grad=True)
naive_elu = torch.where(big > 0, big, torch.exp(big) - 1)
(grad,) = torch.autograd.grad(naive_elu.sum(), big)
print("naive ELU at [1000, -1000]:   value", naive_elu.detach().tolist(),
      " gradient", grad.tolist())
naive_swish = big / (1 + torch.exp(-big))
(grad,) = torch.autograd.grad(naive_swish.sum(), big)
print("naive swish at [1000, -1000]: value", naive_swish.detach().tolist(),
      " gradient", grad.tolist())
safe_elu = torch.where(big > 0, big, torch.expm1(big.clamp(max=0)))
(grad,) = torch.autograd.grad(safe_elu.sum(), big)
print("ELU with exp(min(x, 0)):      value", safe_elu.detach().tolist(),
      " gradient", grad.tolist())

# %% [markdown]
# The four exercises below rebuild the activations. Each must match the
# PyTorch built-in in value and in gradient (autograd through your operations,
# compared at points $x \ne 0$), keep the dtype and device, accept any shape,
# leave the input unmodified, and stay finite (no `inf`, no `nan`, in the value
# and in the gradient) for inputs as large as $\pm 10^4$ in float32 and
# float64. Each test cell forbids the built-in that would answer it in one
# call.

# %% [markdown]
# ### Exercise 4: `leaky_relu` (1 point)
#
# Forbidden: `F.leaky_relu`, `F.leaky_relu_`, `F.prelu`, `torch.prelu`,
# `F.rrelu`, `torch.rrelu`. The slope may be any number, including 0 (a
# ReLU), numbers above 1 and negative numbers.

# %% grade_id="ch12-leaky-relu"
def leaky_relu(x, negative_slope=0.01):
    """Leaky ReLU: x where x > 0, negative_slope * x elsewhere.

    Args:
        x: floating-point tensor of any shape.
        negative_slope: any Python float (0, 0.01, 2.0 and -0.5 are all valid).

    Returns:
        Tensor of the shape, dtype and device of x, equal to
        F.leaky_relu(x, negative_slope); its autograd gradient equals the
        built-in's at every x != 0. x is not modified. Do not call
        F.leaky_relu, F.leaky_relu_, F.prelu, torch.prelu, F.rrelu or
        torch.rrelu.
    """
    ### BEGIN SOLUTION
    return torch.where(x > 0, x, negative_slope * x)
    ### END SOLUTION


# %% grade_id="ch12-leaky-relu-tests" points=1
"""leaky_relu: == F.leaky_relu for slopes 0.01 (default), 0.2, 0 and 2.0, values and
gradients, float32 and float64 on `device`, at +-1e4; input unmodified; no built-in
leaky ReLU."""

def check_activation(mine, reference, banned, what, seed=0):
    """Values and gradients (at x != 0) of `mine` against `reference`, finite,
    same device, input unmodified: a grid, random batches in float32 and in
    float64 on `device`, and +-1e4."""
    gen = torch.Generator().manual_seed(seed)
    f64 = torch.float64
    cases = [("a float32 grid", torch.linspace(-6, 6, 97)),
             ("float64 x of shape (3, 4, 5) on device",
              3 * torch.randn(3, 4, 5, generator=gen, dtype=f64).to(device)),
             ("float32 x of shape (2, 7)", 2 * torch.randn(2, 7, generator=gen)),
             ("float32 x = [1e4, -1e4, 100, -100]",
              torch.tensor([1e4, -1e4, 1e2, -1e2])),
             ("float64 x = [1e4, -1e4, 800, -800] on device",
              torch.tensor([1e4, -1e4, 8e2, -8e2], dtype=f64, device=device))]
    for label, x in cases:
        saved = x.clone()
        leaf, ref_leaf = x.clone().requires_grad_(), x.clone().requires_grad_()
        with forbid(*banned):
            got = mine(leaf)
        want = reference(ref_leaf)
        tol = 1e-12 if x.dtype == torch.float64 else 1e-6
        assert_close(got, want, rtol=10 * tol, atol=tol, name=f"{what}, {label}")
        assert got.device == x.device, f"{what}, {label}: result on {got.device}"
        (grad,) = torch.autograd.grad(got.sum(), leaf)
        (ref_grad,) = torch.autograd.grad(want.sum(), ref_leaf)
        assert torch.isfinite(grad).all(), (
            f"{what}, {label}: inf or nan in the gradient at x = "
            f"{x[~torch.isfinite(grad)][:3].tolist()} (an overflowing branch?)")
        away = x != 0  # the derivative at a kink is a convention
        assert_close(grad[away], ref_grad[away], rtol=100 * tol, atol=10 * tol,
                     name=f"{what}, {label}: gradient (autograd)")
        assert torch.equal(x, saved), f"{what}, {label}: the input was modified"

_banned = ("torch.nn.functional.leaky_relu", "torch.nn.functional.leaky_relu_",
           "torch.nn.functional.prelu", "torch.prelu", "torch.nn.functional.rrelu",
           "torch.rrelu")
with forbid(*_banned):
    got = leaky_relu(torch.tensor([-2.0, 0.0, 3.0]))
assert_close(got, torch.tensor([-0.02, 0.0, 3.0]), rtol=1e-6, atol=1e-7,
             name="leaky_relu([-2, 0, 3]) with the default slope 0.01")
check_activation(leaky_relu, F.leaky_relu, _banned, "leaky_relu(x)", 0)
for slope in (0.2, 0.0, 2.0):
    check_activation(lambda t, a=slope: leaky_relu(t, a),
                     lambda t, a=slope: F.leaky_relu(t, a), _banned,
                     f"leaky_relu(x, negative_slope={slope})", 1)
### BEGIN HIDDEN TESTS
for _slope in (0.05, 1.5, -0.5):
    check_activation(lambda t, a=_slope: leaky_relu(t, a),
                     lambda t, a=_slope: F.leaky_relu(t, a), _banned,
                     f"leaky_relu(x, negative_slope={_slope})", 7)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 5: `elu` (2 points)
#
# Forbidden: `F.elu`, `F.elu_`, `F.celu`, `torch.celu`, `F.selu`,
# `torch.selu`. Mind the overflow of the unchosen branch (the tests check the
# gradient at $x = 10^4$). `torch.expm1(t)` computes $e^t - 1$ accurately for
# small $t$; `torch.exp(t) - 1` is accurate enough for the tests.

# %% grade_id="ch12-elu"
def elu(x, alpha=1.0):
    """Exponential linear unit: x where x > 0, alpha * (exp(x) - 1) elsewhere.

    Args:
        x: floating-point tensor of any shape.
        alpha: Python float > 0.

    Returns:
        Tensor of the shape, dtype and device of x, equal to F.elu(x, alpha);
        its autograd gradient equals the built-in's at every x != 0, and the
        value and the gradient are finite for every finite x (x = 1e4
        included: no exp of a large positive number, even in a branch that
        torch.where does not choose). x is not modified. Do not call F.elu,
        F.elu_, F.celu, torch.celu, F.selu or torch.selu.
    """
    ### BEGIN SOLUTION
    return torch.where(x > 0, x, alpha * torch.expm1(x.clamp(max=0)))
    ### END SOLUTION


# %% grade_id="ch12-elu-tests" points=2
"""elu: == F.elu for alpha 1 (default), 0.5 and 2, values and gradients, float32 and
float64 on `device`; finite value and gradient at +-1e4; input unmodified; no
built-in ELU, CELU or SELU."""

def check_activation(mine, reference, banned, what, seed=0):
    """Values and gradients (at x != 0) of `mine` against `reference`, finite,
    same device, input unmodified: a grid, random batches in float32 and in
    float64 on `device`, and +-1e4."""
    gen = torch.Generator().manual_seed(seed)
    f64 = torch.float64
    cases = [("a float32 grid", torch.linspace(-6, 6, 97)),
             ("float64 x of shape (3, 4, 5) on device",
              3 * torch.randn(3, 4, 5, generator=gen, dtype=f64).to(device)),
             ("float32 x of shape (2, 7)", 2 * torch.randn(2, 7, generator=gen)),
             ("float32 x = [1e4, -1e4, 100, -100]",
              torch.tensor([1e4, -1e4, 1e2, -1e2])),
             ("float64 x = [1e4, -1e4, 800, -800] on device",
              torch.tensor([1e4, -1e4, 8e2, -8e2], dtype=f64, device=device))]
    for label, x in cases:
        saved = x.clone()
        leaf, ref_leaf = x.clone().requires_grad_(), x.clone().requires_grad_()
        with forbid(*banned):
            got = mine(leaf)
        want = reference(ref_leaf)
        tol = 1e-12 if x.dtype == torch.float64 else 1e-6
        assert_close(got, want, rtol=10 * tol, atol=tol, name=f"{what}, {label}")
        assert got.device == x.device, f"{what}, {label}: result on {got.device}"
        (grad,) = torch.autograd.grad(got.sum(), leaf)
        (ref_grad,) = torch.autograd.grad(want.sum(), ref_leaf)
        assert torch.isfinite(grad).all(), (
            f"{what}, {label}: inf or nan in the gradient at x = "
            f"{x[~torch.isfinite(grad)][:3].tolist()} (an overflowing branch?)")
        away = x != 0  # the derivative at a kink is a convention
        assert_close(grad[away], ref_grad[away], rtol=100 * tol, atol=10 * tol,
                     name=f"{what}, {label}: gradient (autograd)")
        assert torch.equal(x, saved), f"{what}, {label}: the input was modified"

_banned = ("torch.nn.functional.elu", "torch.nn.functional.elu_",
           "torch.nn.functional.celu", "torch.celu", "torch.nn.functional.selu",
           "torch.selu")
with forbid(*_banned):
    got = elu(torch.tensor([-1.0, 0.0, 2.0]))
assert_close(got, torch.tensor([math.exp(-1) - 1, 0.0, 2.0]), rtol=1e-6, atol=1e-7,
             name="elu([-1, 0, 2]) with the default alpha 1")
check_activation(elu, F.elu, _banned, "elu(x)", 0)
for alpha in (0.5, 2.0):
    check_activation(lambda t, a=alpha: elu(t, a), lambda t, a=alpha: F.elu(t, a),
                     _banned, f"elu(x, alpha={alpha})", 1)
### BEGIN HIDDEN TESTS
for _alpha in (0.1, 1.7):
    check_activation(lambda t, a=_alpha: elu(t, a), lambda t, a=_alpha: F.elu(t, a),
                     _banned, f"elu(x, alpha={_alpha})", 9)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 6: `gelu` (2 points)
#
# Both forms: the exact one with the error function (`torch.erf` is allowed,
# and so is `torch.special.ndtr`, which is $\Phi$ itself) and the tanh
# approximation (`torch.tanh` is allowed). Forbidden: `F.gelu` (which is also
# what `nn.GELU` calls). An unknown `approximate` raises `ValueError`.

# %% grade_id="ch12-gelu"
def gelu(x, approximate="none"):
    """Gaussian error linear unit, exact or with the tanh approximation.

    Args:
        x: floating-point tensor of any shape.
        approximate: "none" for x * Phi(x), Phi(x) = (1 + erf(x / sqrt(2))) / 2
            the standard normal CDF; "tanh" for
            0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3))).

    Returns:
        Tensor of the shape, dtype and device of x, equal to
        F.gelu(x, approximate=approximate); its autograd gradient equals the
        built-in's, and both are finite for |x| up to 1e4. x is not modified.

    Raises:
        ValueError if approximate is neither "none" nor "tanh".

    Do not call F.gelu. torch.erf, torch.special.ndtr and torch.tanh are
    allowed.
    """
    ### BEGIN SOLUTION
    if approximate == "none":
        return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
    if approximate == "tanh":
        inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x.pow(3))
        return 0.5 * x * (1 + torch.tanh(inner))
    raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    ### END SOLUTION


# %% grade_id="ch12-gelu-tests" points=2
"""gelu: == F.gelu, exact (default) and approximate="tanh", values and gradients,
float32 and float64 on `device`, finite at +-1e4; ValueError for another
approximate; input unmodified; no F.gelu."""

def check_activation(mine, reference, banned, what, seed=0):
    """Values and gradients (at x != 0) of `mine` against `reference`, finite,
    same device, input unmodified: a grid, random batches in float32 and in
    float64 on `device`, and +-1e4."""
    gen = torch.Generator().manual_seed(seed)
    f64 = torch.float64
    cases = [("a float32 grid", torch.linspace(-6, 6, 97)),
             ("float64 x of shape (3, 4, 5) on device",
              3 * torch.randn(3, 4, 5, generator=gen, dtype=f64).to(device)),
             ("float32 x of shape (2, 7)", 2 * torch.randn(2, 7, generator=gen)),
             ("float32 x = [1e4, -1e4, 100, -100]",
              torch.tensor([1e4, -1e4, 1e2, -1e2])),
             ("float64 x = [1e4, -1e4, 800, -800] on device",
              torch.tensor([1e4, -1e4, 8e2, -8e2], dtype=f64, device=device))]
    for label, x in cases:
        saved = x.clone()
        leaf, ref_leaf = x.clone().requires_grad_(), x.clone().requires_grad_()
        with forbid(*banned):
            got = mine(leaf)
        want = reference(ref_leaf)
        tol = 1e-12 if x.dtype == torch.float64 else 1e-6
        assert_close(got, want, rtol=10 * tol, atol=tol, name=f"{what}, {label}")
        assert got.device == x.device, f"{what}, {label}: result on {got.device}"
        (grad,) = torch.autograd.grad(got.sum(), leaf)
        (ref_grad,) = torch.autograd.grad(want.sum(), ref_leaf)
        assert torch.isfinite(grad).all(), (
            f"{what}, {label}: inf or nan in the gradient at x = "
            f"{x[~torch.isfinite(grad)][:3].tolist()} (an overflowing branch?)")
        away = x != 0  # the derivative at a kink is a convention
        assert_close(grad[away], ref_grad[away], rtol=100 * tol, atol=10 * tol,
                     name=f"{what}, {label}: gradient (autograd)")
        assert torch.equal(x, saved), f"{what}, {label}: the input was modified"

_banned = ("torch.nn.functional.gelu",)
with forbid(*_banned):
    got = gelu(torch.tensor([-1.0, 0.0, 1.0]))
phi = 0.5 * (1 + math.erf(1 / math.sqrt(2)))  # Phi(1)
assert_close(got, torch.tensor([-(1 - phi), 0.0, phi]), rtol=1e-6, atol=1e-7,
             name="gelu([-1, 0, 1]) (exact: x * Phi(x))")
check_activation(gelu, F.gelu, _banned, "gelu(x)", 0)
check_activation(lambda t: gelu(t, approximate="tanh"),
                 lambda t: F.gelu(t, approximate="tanh"), _banned,
                 'gelu(x, approximate="tanh")', 1)
with forbid(*_banned):
    expect_raises(ValueError, gelu, torch.zeros(3), approximate="erf",
                  name='gelu(x, approximate="erf")')
### BEGIN HIDDEN TESTS
check_activation(lambda t: gelu(t, "none"), lambda t: F.gelu(t), _banned,
                 'gelu(x, "none")', 5)
check_activation(lambda t: gelu(t, "tanh"), lambda t: F.gelu(t, approximate="tanh"),
                 _banned, 'gelu(x, "tanh")', 6)
with forbid(*_banned):
    expect_raises(ValueError, gelu, torch.zeros(2), approximate="sigmoid",
                  name='gelu(x, approximate="sigmoid")')
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 7: `swish` (2 points)
#
# $\operatorname{swish}(x) = x\,\sigma(x)$. Write the sigmoid yourself: the
# group `SIGMOIDS` (`torch.sigmoid`, `Tensor.sigmoid`, `torch.special.expit`,
# `F.sigmoid`, `F.logsigmoid`, `F.silu`, SciPy's `expit`) is forbidden. The
# naive $1/(1 + e^{-x})$ has a `nan` gradient at $x = -10^4$. One stable form
# computes only $z = e^{-|x|} \in (0, 1]$ and uses
# $\sigma(x) = 1/(1 + z)$ for $x \ge 0$ and $z/(1 + z)$ for $x < 0$; another
# is $\sigma(x) = \big(1 + \tanh(x/2)\big)/2$.

# %% grade_id="ch12-swish"
def swish(x):
    """Swish (SiLU): x * sigmoid(x), with sigmoid(x) = 1 / (1 + exp(-x)).

    Args:
        x: floating-point tensor of any shape.

    Returns:
        Tensor of the shape, dtype and device of x, equal to F.silu(x); its
        autograd gradient equals the built-in's, and both are finite for every
        finite x (x = -1e4 and 1e4 included). x is not modified. Do not call
        the group SIGMOIDS: torch.sigmoid, Tensor.sigmoid, torch.special.expit,
        F.sigmoid, F.logsigmoid, F.silu, scipy.special.expit.
    """
    ### BEGIN SOLUTION
    z = torch.exp(-x.abs())  # in (0, 1]: never overflows
    sigma = torch.where(x >= 0, 1 / (1 + z), z / (1 + z))
    return x * sigma
    ### END SOLUTION


# %% grade_id="ch12-swish-tests" points=2
"""swish: == F.silu, values and gradients, float32 and float64 on `device`; finite
value and gradient at +-1e4; input unmodified; no SIGMOIDS."""

def check_activation(mine, reference, banned, what, seed=0):
    """Values and gradients (at x != 0) of `mine` against `reference`, finite,
    same device, input unmodified: a grid, random batches in float32 and in
    float64 on `device`, and +-1e4."""
    gen = torch.Generator().manual_seed(seed)
    f64 = torch.float64
    cases = [("a float32 grid", torch.linspace(-6, 6, 97)),
             ("float64 x of shape (3, 4, 5) on device",
              3 * torch.randn(3, 4, 5, generator=gen, dtype=f64).to(device)),
             ("float32 x of shape (2, 7)", 2 * torch.randn(2, 7, generator=gen)),
             ("float32 x = [1e4, -1e4, 100, -100]",
              torch.tensor([1e4, -1e4, 1e2, -1e2])),
             ("float64 x = [1e4, -1e4, 800, -800] on device",
              torch.tensor([1e4, -1e4, 8e2, -8e2], dtype=f64, device=device))]
    for label, x in cases:
        saved = x.clone()
        leaf, ref_leaf = x.clone().requires_grad_(), x.clone().requires_grad_()
        with forbid(*banned):
            got = mine(leaf)
        want = reference(ref_leaf)
        tol = 1e-12 if x.dtype == torch.float64 else 1e-6
        assert_close(got, want, rtol=10 * tol, atol=tol, name=f"{what}, {label}")
        assert got.device == x.device, f"{what}, {label}: result on {got.device}"
        (grad,) = torch.autograd.grad(got.sum(), leaf)
        (ref_grad,) = torch.autograd.grad(want.sum(), ref_leaf)
        assert torch.isfinite(grad).all(), (
            f"{what}, {label}: inf or nan in the gradient at x = "
            f"{x[~torch.isfinite(grad)][:3].tolist()} (an overflowing branch?)")
        away = x != 0  # the derivative at a kink is a convention
        assert_close(grad[away], ref_grad[away], rtol=100 * tol, atol=10 * tol,
                     name=f"{what}, {label}: gradient (autograd)")
        assert torch.equal(x, saved), f"{what}, {label}: the input was modified"

with forbid(*SIGMOIDS):
    got = swish(torch.tensor([-1.0, 0.0, 2.0]))
assert_close(got, torch.tensor([-1 / (1 + math.e), 0.0, 2 / (1 + math.exp(-2))]),
             rtol=1e-6, atol=1e-7, name="swish([-1, 0, 2])")
check_activation(swish, F.silu, SIGMOIDS, "swish(x)", 0)
### BEGIN HIDDEN TESTS
check_activation(swish, F.silu, SIGMOIDS, "swish(x)", 11)
check_activation(swish, F.silu, SIGMOIDS, "swish(x)", 12)
### END HIDDEN TESTS

# %% [markdown]
# ## 12.5 Dropout
#
# **Dropout** (Srivastava et al., 2014) fights overfitting by making each unit
# unreliable: during training every activation is zeroed independently with
# probability $p$, a fresh random choice at every step. No unit can count on a
# particular partner being present, so the network cannot build fragile
# co-adaptations, and training a dropout network resembles training a huge
# ensemble of thinned networks that share their weights.
#
# At test time we want the average of that ensemble, and its cheap
# approximation is to keep every unit and match the **expected** activation.
# With a keep mask $m_i \sim \text{Bernoulli}(1 - p)$, the *inverted* dropout
# used by every framework scales the kept units up during training,
#
# $$\tilde x_i = \frac{m_i\, x_i}{1 - p}, \qquad
#   \mathbb E[\tilde x_i] = \frac{(1 - p)\, x_i}{1 - p} = x_i ,$$
#
# so that evaluation is simply the identity. (The original paper scaled the
# weights by $1 - p$ at test time instead; the two agree in expectation, and
# inverted dropout keeps the test-time network untouched.) The edge cases
# follow from the formula: $p = 0$ changes nothing, and $p = 1$ drops
# everything, which must give zeros rather than $0/0$.
#
# Dropout only acts in training mode: `nn.Dropout` is the identity after
# `model.eval()`, and it has no parameters at all. Typical rates are 0.1 in
# transformers and 0.2 to 0.5 in the fully connected heads of CNNs. It also
# raises the mean square of each activation by a factor $1/(1 - p)$
# ($\mathbb E[\tilde x_i^2] = x_i^2/(1 - p)$), so the statistics a batch norm
# sees in training differ from those in evaluation: one reason dropout and
# batch norm are rarely placed right next to each other.
#
# ### Exercise 8: `inverted_dropout` (3 points)
#
# Draw the mask from the `generator` you are given (for example
# `torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)`
# compared with $p$, or `torch.bernoulli` with `generator=`), so that a seeded
# generator makes the result reproducible. The tests check the statistics of
# the mask and the scale of the kept values, not a particular sequence of
# random numbers: any correct way of drawing it passes. `F.dropout`,
# `torch.dropout`, `nn.Dropout` and their relatives are forbidden.

# %% grade_id="ch12-inverted-dropout"
def inverted_dropout(x, p, generator=None):
    """Inverted dropout, as applied in training mode.

    Args:
        x: floating-point tensor of any shape.
        p: Python float, the probability of dropping each element, 0 <= p <= 1.
        generator: a torch.Generator on the device of x, used for every random
            number (a seeded generator makes the result reproducible), or None
            to use PyTorch's global random number generator.

    Returns:
        A new tensor of the shape, dtype and device of x (x is not modified):
        each element is, independently of all the others, 0 with probability p
        and x_i / (1 - p) with probability 1 - p, so the expected value of
        every element is x_i.
        p = 0: a new tensor equal to x. p = 1: all zeros (no division by zero,
        no nan).

    Raises:
        ValueError if p < 0 or p > 1.

    Do not call F.dropout, torch.dropout, torch.native_dropout, F.alpha_dropout,
    F.feature_alpha_dropout, F.dropout1d, F.dropout2d or F.dropout3d.
    """
    ### BEGIN SOLUTION
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    if p == 1.0:
        return torch.zeros_like(x)
    noise = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return x * (noise >= p) / (1 - p)
    ### END SOLUTION


# %%
# Try it: a row of ones, p = 0.5: about half zeros, the others 2
print(inverted_dropout(torch.ones(12), 0.5, torch.Generator().manual_seed(0)))

# %% grade_id="ch12-inverted-dropout-tests" points=3
"""inverted_dropout: on a large tensor the fraction kept is 1 - p (within 0.01),
kept values are x / (1 - p), the mean is kept, no row or column dropped whole (the
elements are independent); a seeded generator reproduces, another seed differs;
generator=None works; p = 0 gives a new tensor equal to x, p = 1 zeros; ValueError
outside [0, 1]; float64 on `device`; input unmodified; no built-in dropout."""
_banned = ("torch.nn.functional.dropout", "torch.dropout", "torch.native_dropout",
           "torch.nn.functional.alpha_dropout",
           "torch.nn.functional.feature_alpha_dropout",
           "torch.nn.functional.dropout1d", "torch.nn.functional.dropout2d",
           "torch.nn.functional.dropout3d")


def check_dropout_statistics(shape, p, dtype, where, seed, what):
    """Statistics of one call on a large tensor of values in [0.5, 1.5)."""
    gen = torch.Generator(device=where).manual_seed(seed)
    x = (torch.rand(shape, generator=gen, dtype=dtype, device=where) + 0.5)
    saved = x.clone()
    with forbid(*_banned):
        out = inverted_dropout(x, p, gen)
    assert_shape(out, shape, name=what)
    assert out.dtype == x.dtype and out.device == x.device, (
        f"{what}: got dtype {out.dtype} on {out.device}, expected {x.dtype} on "
        f"{x.device}")
    assert torch.equal(x, saved), f"{what}: the input x was modified"
    kept = out != 0
    fraction = kept.to(torch.float64).mean().item()
    assert abs(fraction - (1 - p)) < 0.01, (
        f"{what}: {fraction:.4f} of the elements kept, expected about 1 - p = "
        f"{1 - p:.4f} (is the mask inverted, keeping with probability p?)")
    tol = 1e-12 if dtype == torch.float64 else 1e-6
    assert_close(out[kept], x[kept] / (1 - p), rtol=tol, atol=tol,
                 name=f"{what}: kept values (x / (1 - p))")
    ratio = (out.sum() / x.sum()).item()
    assert abs(ratio - 1) < 0.03, (
        f"{what}: sum of the output / sum of the input = {ratio:.4f}, expected "
        "about 1 (the expected value of each element is x)")
    flat = kept.reshape(-1, shape[-1])
    assert flat.any(dim=0).all() and flat.any(dim=1).all(), (
        f"{what}: a whole row or column was dropped: the elements must be dropped "
        "independently (one mask value per element, not shared along a dimension)")


check_dropout_statistics((200, 500), 0.3, torch.float32, "cpu", 0,
                         "inverted_dropout(x of shape (200, 500), p=0.3)")
check_dropout_statistics((40, 50, 60), 0.5, torch.float64, device, 1,
                         "inverted_dropout(float64 x (40, 50, 60) on device, p=0.5)")
x = torch.randn(300, 400, generator=torch.Generator().manual_seed(0))
with forbid(*_banned):
    first = inverted_dropout(x, 0.4, torch.Generator().manual_seed(5))
    again = inverted_dropout(x, 0.4, torch.Generator().manual_seed(5))
    other = inverted_dropout(x, 0.4, torch.Generator().manual_seed(6))
assert torch.equal(first, again), (
    "inverted_dropout: two calls with generators seeded alike gave different "
    "results: draw every random number from `generator`")
assert not torch.equal(first, other), (
    "inverted_dropout: generators with different seeds gave the same result")
torch.manual_seed(0)
with forbid(*_banned):
    out = inverted_dropout(torch.ones(1000), 0.2)  # generator=None
assert_shape(out, (1000,), name="inverted_dropout(ones(1000), 0.2) (no generator)")
assert 0.7 < (out != 0).float().mean().item() < 0.9, (
    "inverted_dropout(ones(1000), 0.2) without a generator: about 80% should be kept")
x = torch.randn(5, 6, dtype=torch.float64, device=device)
with forbid(*_banned):
    same = inverted_dropout(x, 0.0, torch.Generator(device=device).manual_seed(0))
    none = inverted_dropout(x, 1.0, torch.Generator(device=device).manual_seed(0))
assert_close(same, x, rtol=0, atol=0, name="inverted_dropout(x, p=0) (equal to x)")
assert same is not x and same.data_ptr() != x.data_ptr(), (
    "inverted_dropout(x, p=0) must return a new tensor, not x itself")
assert_close(none, torch.zeros_like(x), rtol=0, atol=0,
             name="inverted_dropout(x, p=1) (all zeros, no nan)")
for bad in (-0.1, 1.5):
    with forbid(*_banned):
        expect_raises(ValueError, inverted_dropout, x, bad,
                      name=f"inverted_dropout(x, p={bad})")
### BEGIN HIDDEN TESTS
check_dropout_statistics((100, 1001), 0.1, torch.float64, device, 2,
                         "inverted_dropout(float64 x of shape (100, 1001), p=0.1)")
check_dropout_statistics((30, 20, 250), 0.75, torch.float32, device, 3,
                         "inverted_dropout(float32 x of shape (30, 20, 250), p=0.75)")
_x = torch.rand(7, 3, dtype=torch.float64, device=device) + 1
with forbid(*_banned):
    _same = inverted_dropout(_x, 0.0, None)
    _none = inverted_dropout(_x, 1.0, None)
assert_close(_same, _x, rtol=0, atol=0, name="inverted_dropout(x, p=0, None)")
assert _same is not _x, "inverted_dropout(x, p=0) must return a new tensor"
assert_close(_none, torch.zeros_like(_x), rtol=0, atol=0,
             name="inverted_dropout(x, p=1, None)")
with forbid(*_banned):
    expect_raises(ValueError, inverted_dropout, _x, 1.01,
                  name="inverted_dropout(x, p=1.01)")
### END HIDDEN TESTS

# %% [markdown]
# ## 12.6 DropBlock: dropout for feature maps
#
# Dropout works poorly on the feature maps of a convolutional network.
# Neighbouring pixels of a feature map are strongly correlated, so when one
# activation is dropped its neighbours still carry nearly the same information
# and the next convolution, whose kernel covers them, hardly notices.
# **DropBlock** (Ghiasi, Lin and Le, 2018) drops **contiguous square regions**
# instead: a whole $k \times k$ block of a channel vanishes, and the network
# must learn to use evidence from elsewhere in the image (the other eye, the
# tail, the context), much like cutout does to the input image.
#
# The recipe, for a feature map of size $H \times W$ and a block size $k$:
#
# 1. choose block positions: each of the $(H - k + 1)(W - k + 1)$ positions
#    where a $k \times k$ block fits entirely inside the map (we index a block
#    by its top-left corner) is chosen independently with probability
#    $\gamma$, separately for every example and every channel;
# 2. zero every unit covered by a chosen block (blocks may overlap);
# 3. rescale the kept units by $\text{count}/\text{count\_ones}$, the number of
#    units divided by the number kept, so that the total activation is
#    preserved, in the spirit of inverted dropout.
#
# How large should $\gamma$ be for a target drop probability $p$ (the paper's
# `keep_prob` is $1 - p$)? Each chosen block drops $k^2$ units, and there are
# $(H - k + 1)(W - k + 1)$ candidate positions for $H W$ units, so ignoring
# overlaps the dropped fraction is $\gamma k^2 (H-k+1)(W-k+1) / (H W)$; setting
# it to $p$ gives the paper's
#
# $$\gamma = \frac{p}{k^2}\,\frac{H W}{(H - k + 1)(W - k + 1)} .$$
#
# Overlapping blocks make the true dropped fraction somewhat smaller than $p$.
# Exactly, unit $(i, j)$ survives when none of the $n_{ij}$ block positions
# covering it is chosen, with probability $(1 - \gamma)^{n_{ij}}$; the cell
# below computes the expected dropped fraction from this. With $k = 1$ the
# recipe is dropout with $\gamma = p$. DropBlock is the identity in evaluation
# mode, and the paper raises $p$ gradually during training.
#
# A classic bug in home-made versions of `DropBlock2d`: a `forward` that has no
# `return` in training mode, so the layer returns `None` and the next layer
# crashes. The tests of the exercise below check for it.

# %%
def expected_drop_fraction(drop_prob, block_size, height, width):
    """Expected fraction of units DropBlock zeroes, overlaps included."""
    k = block_size
    rows, cols = height - k + 1, width - k + 1  # block positions per axis
    gamma = drop_prob / k**2 * height * width / (rows * cols)
    i, j = torch.arange(height), torch.arange(width)
    # positions covering unit i: top rows from max(0, i - k + 1) to min(i, rows - 1)
    cover_i = (i.clamp(max=rows - 1) - (i - k + 1).clamp(min=0) + 1).double()
    cover_j = (j.clamp(max=cols - 1) - (j - k + 1).clamp(min=0) + 1).double()
    covering = cover_i[:, None] * cover_j[None, :]  # (H, W)
    return 1 - ((1 - gamma) ** covering).mean().item()


for size, k in [(32, 1), (32, 3), (32, 7), (16, 5), (8, 7)]:
    print(f"H = W = {size:2d}, block {k}: target p = 0.1 -> expected dropped "
          f"{expected_drop_fraction(0.1, k, size, size):.3f}; p = 0.3 -> "
          f"{expected_drop_fraction(0.3, k, size, size):.3f}")

# %% [markdown]
# ### Exercise 9: `DropBlock2d` (4 points)
#
# Write the module. Any correct way of sampling and growing the blocks passes:
# a loop, `F.max_pool2d` on the padded block positions (a max over a $k \times
# k$ window tells whether any chosen position covers a unit), or a
# convolution. The tests check properties: in training, every zero of the
# output belongs to a full $k \times k$ square of zeros inside the map, the
# dropped fraction on a large input matches the formula above, the masks of
# different channels and examples differ, and the kept units are rescaled by
# count / count_ones; in evaluation mode, or with `drop_prob = 0`, the input
# comes back unchanged.

# %% grade_id="ch12-dropblock2d"
class DropBlock2d(nn.Module):
    """DropBlock for feature maps of shape (N, C, H, W).

    N is the batch size, C the number of channels, H x W the map size, and
    k = block_size.

    __init__(drop_prob, block_size):
        drop_prob: Python float p, 0 <= p < 1; block_size: int k >= 1.
        ValueError otherwise. Store them as self.drop_prob, self.block_size.
        The module has no parameters.

    forward(x): x is a floating-point tensor of shape (N, C, H, W).
        - Evaluation mode (self.training False) or drop_prob == 0: return x
          unchanged (x itself or an equal tensor).
        - Training mode, p > 0: ValueError if k > H or k > W. Otherwise, for
          every example n and channel c independently, choose each of the
          (H - k + 1) * (W - k + 1) top-left corners (i, j) at which a k x k
          block fits inside the map with probability
              gamma = p / k**2 * H * W / ((H - k + 1) * (W - k + 1)),
          independently (random numbers from PyTorch's global generator, on
          the device of x). mask = 0 on every unit covered by a chosen block
          (rows i..i+k-1, columns j..j+k-1), 1 elsewhere. Return
              x * mask * (mask.numel() / mask.sum()),
          the rescaling counted over the whole tensor (all N, C, H, W); if
          every unit is dropped (mask.sum() == 0) return zeros, never nan.
        The result has the shape, dtype and device of x; x is not modified.
    """

    def __init__(self, drop_prob, block_size):
        super().__init__()
        ### BEGIN SOLUTION
        if not 0.0 <= drop_prob < 1.0:
            raise ValueError(f"drop_prob must be in [0, 1), got {drop_prob}")
        if block_size < 1:
            raise ValueError(f"block_size must be at least 1, got {block_size}")
        self.drop_prob = drop_prob
        self.block_size = block_size
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        if not self.training or self.drop_prob == 0:
            return x
        n, c, height, width = x.shape
        k = self.block_size
        if k > height or k > width:
            raise ValueError(f"block_size {k} does not fit a {height}x{width} map")
        rows, cols = height - k + 1, width - k + 1
        gamma = self.drop_prob / k**2 * height * width / (rows * cols)
        corners = (torch.rand(n, c, rows, cols, device=x.device) < gamma).to(x.dtype)
        # a unit is dropped if a chosen corner lies up to k - 1 rows/cols above-left
        padded = F.pad(corners, (k - 1, k - 1, k - 1, k - 1))
        mask = 1 - F.max_pool2d(padded, kernel_size=k, stride=1)  # (N, C, H, W)
        kept = mask.sum()
        if kept == 0:
            return torch.zeros_like(x)
        return x * mask * (mask.numel() / kept)
        ### END SOLUTION


# %%
# Try it: one 10x10 channel of ones, blocks of 3
torch.manual_seed(1)
print(DropBlock2d(0.3, 3)(torch.ones(1, 1, 10, 10))[0, 0])

# %% grade_id="ch12-dropblock2d-tests" points=4
"""DropBlock2d: an nn.Module without parameters; eval mode and drop_prob = 0 are the
identity; in training every zero lies in a full k x k zero square inside the map,
the dropped fraction on a large input matches the gamma formula (block sizes 1, 3
and 5, even 4), masks differ between channels and examples, kept values are
x * count / count_ones, all dropped gives zeros; float64 on `device`; input
unmodified; ValueError for bad arguments and for k larger than the map."""


def zeros_in_full_blocks(out, k):
    """True where a zero of `out` is covered by a k x k all-zero square."""
    zero = (out == 0).to(torch.float64)
    # windows (top-left corners) whose k x k square is entirely zero
    full = (F.avg_pool2d(zero, k, stride=1) > 1 - 1e-9).to(torch.float64)
    covered = F.max_pool2d(F.pad(full, (k - 1,) * 4), k, stride=1) > 0
    return covered | (zero == 0)


def expected_dropped(p, k, height, width):
    rows, cols = height - k + 1, width - k + 1
    gamma = p / k**2 * height * width / (rows * cols)
    i, j = torch.arange(height), torch.arange(width)
    cover_i = (i.clamp(max=rows - 1) - (i - k + 1).clamp(min=0) + 1).double()
    cover_j = (j.clamp(max=cols - 1) - (j - k + 1).clamp(min=0) + 1).double()
    return 1 - ((1 - gamma) ** (cover_i[:, None] * cover_j[None, :])).mean().item()


def check_dropblock(shape, p, k, dtype, where, seed, what):
    torch.manual_seed(seed)
    layer = DropBlock2d(p, k)
    layer.train()
    x = torch.rand(shape, dtype=dtype, device=where) + 0.5  # no zeros in x
    saved = x.clone()
    out = layer(x)
    assert out is not None, f"{what}: forward returned None in training mode"
    assert_shape(out, shape, name=what)
    assert out.dtype == x.dtype and out.device == x.device, (
        f"{what}: got dtype {out.dtype} on {out.device}, expected {x.dtype} on "
        f"{x.device}")
    assert torch.equal(x, saved), f"{what}: the input x was modified"
    ok = zeros_in_full_blocks(out.cpu(), k)
    assert ok.all(), (
        f"{what}: {int((~ok).sum())} zeros are not part of a full {k}x{k} square of "
        f"zeros inside the map (blocks must fit inside the map), e.g. at "
        f"{tuple((~ok).nonzero()[0].tolist())}")
    kept = out != 0
    dropped = 1 - kept.to(torch.float64).mean().item()
    want = expected_dropped(p, k, shape[2], shape[3])
    assert abs(dropped - want) < 0.03, (
        f"{what}: {dropped:.3f} of the units dropped, the gamma formula gives "
        f"{want:.3f} on average (check gamma and the block growing)")
    scale = kept.numel() / kept.sum().item()
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    assert_close(out[kept], x[kept] * scale, rtol=tol, atol=tol,
                 name=f"{what}: kept values (x * count / count_ones = x * {scale:.4f})")
    channels_alike = all(torch.equal(kept[0, c], kept[0, 0]) for c in range(shape[1]))
    assert not channels_alike and not torch.equal(kept[0], kept[1]), (
        f"{what}: all channels, or two examples, got the same mask: draw the blocks "
        "independently for every (example, channel)")


layer = DropBlock2d(0.2, 3)
assert isinstance(layer, nn.Module), "DropBlock2d must subclass nn.Module"
assert (layer.drop_prob, layer.block_size) == (0.2, 3), (
    f"expected drop_prob 0.2 and block_size 3, got {layer.drop_prob}, "
    f"{layer.block_size}")
assert len(list(layer.parameters())) == 0, "DropBlock2d has no parameters"
x = torch.randn(2, 3, 8, 8, dtype=torch.float64, device=device)
layer.eval()
assert_close(layer(x), x, rtol=0, atol=0, name="DropBlock2d(0.2, 3) in eval mode")
identity = DropBlock2d(0.0, 3)
identity.train()
assert_close(identity(x), x, rtol=0, atol=0,
             name="DropBlock2d(0.0, 3) in training mode")
check_dropblock((32, 16, 16, 16), 0.2, 3, torch.float32, "cpu", 0,
                "DropBlock2d(0.2, 3) on x of shape (32, 16, 16, 16)")
check_dropblock((64, 16, 16, 16), 0.3, 5, torch.float64, device, 1,
                "DropBlock2d(0.3, 5) on float64 x (64, 16, 16, 16) on device")
check_dropblock((16, 16, 20, 24), 0.25, 1, torch.float32, device, 2,
                "DropBlock2d(0.25, 1) on x (16, 16, 20, 24) (block 1: dropout)")
check_dropblock((32, 16, 18, 15), 0.2, 4, torch.float32, device, 3,
                "DropBlock2d(0.2, 4) on x (32, 16, 18, 15) (an even block)")
whole = DropBlock2d(0.99, 4)
whole.train()
torch.manual_seed(0)
outs = [whole(torch.ones(1, 1, 4, 4)) for _ in range(20)]
assert all(torch.isfinite(o).all() for o in outs), (
    "DropBlock2d(0.99, 4) on a 4x4 map: nan when every unit is dropped (return zeros)")
assert any((o == 0).all() for o in outs), (
    "DropBlock2d(0.99, 4) on a 4x4 map: the single block position should be chosen "
    "with probability gamma = 0.99, but no call dropped the map")
for args in [(1.0, 3), (-0.1, 3), (0.1, 0)]:
    expect_raises(ValueError, DropBlock2d, *args, name=f"DropBlock2d{args}")
big_block = DropBlock2d(0.1, 5)
big_block.train()
expect_raises(ValueError, big_block, torch.ones(1, 1, 4, 6),
              name="DropBlock2d(0.1, 5) on a 4x6 map (block larger than the map)")
### BEGIN HIDDEN TESTS
check_dropblock((48, 8, 13, 17), 0.15, 3, torch.float64, device, 10,
                "DropBlock2d(0.15, 3) on float64 x (48, 8, 13, 17)")
check_dropblock((64, 64, 12, 12), 0.4, 7, torch.float32, device, 11,
                "DropBlock2d(0.4, 7) on x (64, 64, 12, 12)")
check_dropblock((20, 10, 9, 30), 0.1, 2, torch.float32, device, 12,
                "DropBlock2d(0.1, 2) on x (20, 10, 9, 30)")
_layer = DropBlock2d(0.5, 2)
_layer.eval()
_x = torch.randn(1, 2, 5, 3, device=device)
assert_close(_layer(_x), _x, rtol=0, atol=0, name="DropBlock2d(0.5, 2) in eval mode")
expect_raises(ValueError, DropBlock2d, 1.2, 2, name="DropBlock2d(1.2, 2)")
### END HIDDEN TESTS

# %% [markdown]
# **Explore.** Dropout against DropBlock on a photo (one grey channel of a
# scikit-learn sample image, downscaled 4 times). At the same drop probability
# dropout sprinkles single pixels and the picture stays readable; DropBlock
# removes whole regions. Move the block size and the drop probability.

# %%
photo = torch.tensor(load_sample_image("china.jpg"), dtype=torch.float32) / 255
grey = F.avg_pool2d(photo.mean(dim=2)[None, None], 4)  # (1, 1, 106, 160)


def show_dropblock(drop_prob=0.2, block_size=9):
    torch.manual_seed(0)
    block = DropBlock2d(drop_prob, block_size)
    block.train()
    pictures = {
        "original": grey,
        f"dropout, p = {drop_prob:.2f}": inverted_dropout(grey, drop_prob),
        f"DropBlock, p = {drop_prob:.2f}, block {block_size}": block(grey),
    }
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    for ax, (title, picture) in zip(axes, pictures.items(), strict=True):
        dropped = (picture == 0).float().mean().item()
        ax.imshow(picture[0, 0].numpy(), cmap="gray", vmin=0, vmax=1.5)
        ax.set_title(f"{title}\n{dropped:.0%} of the pixels zero", fontsize=9)
        ax.set(xlabel="column", ylabel="row")
    fig.tight_layout()
    plt.show()


interactive_plot(show_dropblock, drop_prob=(0.0, 0.6, 0.05), block_size=(1, 25, 2))

# %% [markdown]
# ## 12.7 Weight decay
#
# **Weight decay** shrinks every weight a little towards zero at every step:
#
# $$w \leftarrow w - \eta\,\big(\nabla L(w) + \lambda w\big)
#   = (1 - \eta\lambda)\, w - \eta\,\nabla L(w) .$$
#
# For plain SGD this is exactly gradient descent on the loss plus an **L2
# penalty** $\frac{\lambda}{2}\lVert w\rVert^2$, whose gradient is $\lambda w$.
# Mind the $\tfrac12$: the common phrase "`weight_decay` adds
# $\lambda\lVert W\rVert^2$ to the loss" would double the pull. Small
# weights make a smoother function of the input, one that cannot bend
# sharply to pass through every noisy training point, so weight decay trades
# a little training error for less overfitting.
#
# Two practical points. First, with adaptive optimisers the L2 penalty and
# weight decay are **not** the same: `torch.optim.Adam(weight_decay=...)` adds
# $\lambda w$ to the gradient, which Adam then divides by its running scale, so
# weights with large gradients are barely decayed; `torch.optim.AdamW` decays
# the weights directly, outside the adaptive step, as chapter 4's `adamw_step`
# does. Use AdamW. Second, biases and the $\gamma, \beta$ of normalisation
# layers are usually **not** decayed: they are few, and shrinking a norm
# layer's $\gamma$ only fights the normalisation. Parameter groups do this.
#
# The cell below checks the first claim numerically (one SGD step with
# `weight_decay` equals one step on the loss plus $\frac\lambda2\lVert
# w\rVert^2$, and not on the loss plus $\lambda\lVert w\rVert^2$) and shows
# how to split a model's parameters into a decayed and a non-decayed group.

# %%
set_seed(0)
w0 = torch.randn(5, dtype=torch.float64)
data = torch.randn(8, 5, dtype=torch.float64)
target = torch.randn(8, dtype=torch.float64)
lam, lr = 0.1, 0.05


def sgd_step(penalty, weight_decay):
    w = w0.clone().requires_grad_()
    optimizer = torch.optim.SGD([w], lr=lr, weight_decay=weight_decay)
    loss = (data @ w - target).pow(2).mean() + penalty * w.pow(2).sum()
    loss.backward()
    optimizer.step()
    return w.detach()


decayed = sgd_step(0.0, lam)
print("weight_decay vs loss + lambda/2 |w|^2: max difference",
      (decayed - sgd_step(lam / 2, 0.0)).abs().max().item())
print("weight_decay vs loss + lambda   |w|^2: max difference",
      (decayed - sgd_step(lam, 0.0)).abs().max().item())

model = nn.Sequential(nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(),
                      nn.Linear(32, 10))
decay = [p for p in model.parameters() if p.dim() >= 2]  # weight matrices
no_decay = [p for p in model.parameters() if p.dim() < 2]  # biases, BN gamma/beta
optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                               {"params": no_decay, "weight_decay": 0.0}], lr=1e-3)
print(f"decayed: {len(decay)} tensors, {sum(p.numel() for p in decay)} numbers; "
      f"not decayed: {len(no_decay)} tensors, {sum(p.numel() for p in no_decay)}")

# %% [markdown]
# ### Weight decay against overfitting
#
# A model with more parameters than data points can fit noise. We fit 15 noisy
# samples of $\sin(3x)$ on $[-1, 1]$ with a linear model on 40 Gaussian bumps
# $\phi_j(x) = e^{-(x - c_j)^2 / (2 \cdot 0.15^2)}$ (40 weights for 15 points),
# trained by full-batch SGD with three weight decays at once: one optimiser
# with a parameter group per decay. The learning rate is $1/L$, where $L$ is
# the largest eigenvalue of the Hessian $\tfrac2n \Phi^\top \Phi$ of the mean
# squared error, the largest rate that is safe for every group.
#
# **Bar:** the model with weight decay 0.1 reaches a test error (mean squared
# error against the noiseless $\sin(3x)$ on 200 points) of at most 0.15. The
# cell prints every model's training and test error and weight norm.

# %%
NUM_STEPS = 500  # the knob: more steps fit the training points more closely
set_seed(0)
centres = torch.linspace(-1, 1, 40)


def bumps(x):
    return torch.exp(-(x[:, None] - centres) ** 2 / (2 * 0.15**2))  # (n, 40)


x_train = 2 * torch.rand(15) - 1
y_train = torch.sin(3 * x_train) + 0.3 * torch.randn(15)
x_test = torch.linspace(-1, 1, 200)
y_test = torch.sin(3 * x_test)
phi_train, phi_test = bumps(x_train), bumps(x_test)
hessian = 2 * phi_train.T @ phi_train / len(x_train)
step_size = 1 / torch.linalg.eigvalsh(hessian).max().item()
decays = (0.0, 0.01, 0.1)
weights = [torch.zeros(40, requires_grad=True) for _ in decays]
optimizer = torch.optim.SGD([{"params": [w], "weight_decay": d}
                             for w, d in zip(weights, decays, strict=True)],
                            lr=step_size)
for _ in progress(range(NUM_STEPS), desc="steps"):
    predictions = phi_train @ torch.stack(weights, dim=1)  # (15, 3): one per model
    loss = (predictions - y_train[:, None]).pow(2).mean(dim=0).sum()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

test_errors = {}
with torch.no_grad():
    for w, d in zip(weights, decays, strict=True):
        train_mse = (phi_train @ w - y_train).pow(2).mean().item()
        test_errors[d] = (phi_test @ w - y_test).pow(2).mean().item()
        print(f"weight decay {d:<5}: train MSE {train_mse:.4f}, test MSE "
              f"{test_errors[d]:.4f}, |w| = {w.norm().item():.2f}")
check_bar("test MSE with weight decay 0.1", test_errors[0.1], 0.15,
          higher_is_better=False)

fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(x_test.numpy(), y_test.numpy(), "k:", label="sin(3x) (noiseless)")
ax.scatter(x_train.numpy(), y_train.numpy(), color="k", zorder=3,
           label="15 noisy training points")
with torch.no_grad():
    for w, d in zip(weights, decays, strict=True):
        ax.plot(x_test.numpy(), (phi_test @ w).numpy(), label=f"weight decay {d}")
ax.set(xlabel="x", ylabel="y", title="The same model with three weight decays")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# Weight decay raises the training error a little and lowers the weight norm
# and, here, the test error: the decayed fit bends less to follow the noise of
# individual points. How much decay is right is a hyperparameter, chosen on
# validation data (chapter 16); too much and the model underfits.
#
# ## 12.8 Which layers learn? A quiz
#
# A classic interview-style question: *which of
# these layers are not updated by backpropagation?* MaxPooling, a fully
# connected (Linear) layer, Dropout, a convolution (Conv), BatchNorm, ReLU.
#
# "Updated by backpropagation" means: the layer has **trainable parameters**,
# tensors that receive a gradient and that the optimiser changes. Every layer
# passes gradients *through* itself to the layers before it (max pooling
# routes each gradient to the position of the maximum, ReLU zeroes it where
# the input was negative, dropout applies the same mask as in the forward
# pass); that does not make it learn. BatchNorm is the interesting case: with
# `affine=True`, the default, it has the trainable $\gamma$ and $\beta$; with
# `affine=False` it has none. In both cases it also has **buffers**: the
# running mean and variance (and a counter of batches), which change during
# training, but by the moving average of section 12.2 in the forward pass,
# not by gradients.
#
# ### Exercise 10: `layers_without_trainable_parameters` (2 points)
#
# Answer the quiz before you run anything. Return the set of names, taken from
# the six strings of the docstring, of the layers with no trainable parameters;
# the argument says which BatchNorm the question means. The test is the proof:
# it builds the six layers and counts each one's trainable parameters, the
# parameters with `requires_grad` (`sum(p.numel() for p in layer.parameters() if
# p.requires_grad)`), and its message names any layer you placed wrongly, with
# its count. The hidden test only repeats the count on layers of other sizes.
# The cell after the test also lists each layer's buffers.

# %% grade_id="ch12-layers-without-trainable-parameters"
def layers_without_trainable_parameters(batchnorm_affine=True):
    """The quiz: which of these layers have no trainable parameters?

    The six layers, by name: "MaxPooling" (nn.MaxPool2d), "Linear"
    (nn.Linear), "Dropout" (nn.Dropout), "Conv" (nn.Conv2d), "BatchNorm"
    (nn.BatchNorm2d) and "ReLU" (nn.ReLU), each with PyTorch's default
    arguments, except that BatchNorm is built with affine=batchnorm_affine.

    Args:
        batchnorm_affine: bool, the affine argument of the BatchNorm layer
            (True is PyTorch's default).

    Returns:
        A set of str: the names, among the six above and spelled exactly so,
        of the layers that have no trainable parameters (nothing that
        backpropagation and the optimiser update). Buffers such as running
        statistics are not trainable parameters.
    """
    ### BEGIN SOLUTION
    answer = {"MaxPooling", "Dropout", "ReLU"}
    if not batchnorm_affine:
        answer.add("BatchNorm")
    return answer
    ### END SOLUTION


# %% grade_id="ch12-layers-without-trainable-parameters-tests" points=2
"""layers_without_trainable_parameters: for batchnorm_affine True and False, a set
of names among the six, holding exactly the layers that have no trainable
parameters, counted on the real PyTorch modules built here. Hidden: the same
count on layers of other sizes."""
names = {"MaxPooling", "Linear", "Dropout", "Conv", "BatchNorm", "ReLU"}
for affine in (True, False):
    call = f"layers_without_trainable_parameters(batchnorm_affine={affine})"
    answer = layers_without_trainable_parameters(batchnorm_affine=affine)
    assert isinstance(answer, (set, frozenset)), (
        f"{call}: expected a set of names, got {type(answer).__name__} {answer!r}")
    unknown = set(answer) - names
    assert not unknown, (
        f"{call}: unknown names {sorted(unknown)}; use exactly {sorted(names)}")
    layers = {"MaxPooling": nn.MaxPool2d(2), "Linear": nn.Linear(8, 4),
              "Dropout": nn.Dropout(), "Conv": nn.Conv2d(3, 4, 3),
              "BatchNorm": nn.BatchNorm2d(4, affine=affine), "ReLU": nn.ReLU()}
    for name, layer in layers.items():
        trainable = {n: p.numel() for n, p in layer.named_parameters()
                     if p.requires_grad}
        buffers = sorted(n for n, _ in layer.named_buffers())
        learns = sum(trainable.values()) > 0
        detail = f"{sum(trainable.values())} trainable parameters"
        detail += f" {trainable}" if trainable else ""
        detail += f" and the buffers {buffers}, not trainable" if buffers else ""
        assert (name in answer) != learns, (
            f"{call}: {name} ({type(layer).__name__}) should "
            f"{'not ' if learns else ''}be in the set: it has {detail}")
### BEGIN HIDDEN TESTS
for _affine in (True, False):  # the same count on layers of other sizes
    _answer = set(layers_without_trainable_parameters(batchnorm_affine=_affine))
    _layers = {"MaxPooling": nn.MaxPool2d(3), "Linear": nn.Linear(5, 1),
               "Dropout": nn.Dropout(0.2), "Conv": nn.Conv2d(1, 2, 5),
               "BatchNorm": nn.BatchNorm2d(7, affine=_affine), "ReLU": nn.ReLU()}
    for _name, _layer in _layers.items():
        _count = sum(p.numel() for p in _layer.parameters() if p.requires_grad)
        assert (_name in _answer) == (_count == 0), (
            f"layers_without_trainable_parameters(batchnorm_affine={_affine}): "
            f"{_name} has {_count} trainable parameters, so it should "
            f"{'' if _count == 0 else 'not '}be in the set")
### END HIDDEN TESTS

# %% [markdown]
# The proof: count each layer's trainable parameters and its buffers, then
# train one step and see what changed.

# %%
quiz_layers = {
    "MaxPooling": nn.MaxPool2d(2),
    "Linear": nn.Linear(8, 4),
    "Dropout": nn.Dropout(0.5),
    "Conv": nn.Conv2d(3, 4, kernel_size=3),
    "BatchNorm (affine=True)": nn.BatchNorm2d(4),
    "BatchNorm (affine=False)": nn.BatchNorm2d(4, affine=False),
    "ReLU": nn.ReLU(),
}
for name, module in quiz_layers.items():
    params = {n: p.numel() for n, p in module.named_parameters() if p.requires_grad}
    buffers = {n: b.numel() for n, b in module.named_buffers()}
    print(f"{name:25s} {sum(params.values()):4d} trainable parameters {params}")
    print(f"{'':25s} buffers {buffers}")

# %% [markdown]
# One training step of a batch norm with `affine=True`: $\gamma$ and $\beta$
# change because the optimiser applies their gradients; the running statistics
# change in the forward pass, before any gradient exists, and even under
# `torch.no_grad()`. In evaluation mode a forward pass changes nothing.

# %%
set_seed(0)
bn = nn.BatchNorm2d(2)
optimizer = torch.optim.SGD(bn.parameters(), lr=0.1)
before = {k: v.clone() for k, v in bn.state_dict().items()}
images = 3 + torch.randn(8, 2, 4, 4)
with torch.no_grad():
    bn(images)  # training mode: updates the running statistics, no gradient
after_forward = {k: v.clone() for k, v in bn.state_dict().items()}
loss = bn(images).pow(3).mean()
optimizer.zero_grad()
loss.backward()
optimizer.step()
after_step = bn.state_dict()
for key in before:
    print(f"{key:20s} changed by a no-grad forward: "
          f"{not torch.equal(before[key], after_forward[key])!s:5s}  "
          f"changed by forward + backward + step: "
          f"{not torch.equal(after_forward[key], after_step[key])}")

# %% [markdown]
# ## 12.9 Summary
#
# - A **linear** layer $Y = X W^\top + b$ mixes features with
#   $(D_\text{in} + 1) D_\text{out}$ parameters, acts on the last dimension,
#   and needs an activation after it; a bias before a batch norm is cancelled.
# - **Batch norm** normalises each channel with the batch's mean and *biased*
#   variance, $\varepsilon$ inside the square root, then scales and shifts by
#   $\gamma, \beta$; it tracks running statistics with the *unbiased* variance
#   and uses them in evaluation mode. Train and eval mode really compute
#   different functions.
# - **Layer, group and instance norm** use the same formula over other axes,
#   never mix examples, and need no running statistics; group norm with 1 or
#   $C$ groups is layer or instance norm.
# - **Activations**: leaky ReLU and ELU fix the dead ReLU, GELU and swish are
#   smooth and non-monotonic; `torch.where` evaluates both branches, so feed
#   exponentials only safe inputs or the gradient turns into `nan`.
# - **Inverted dropout** scales kept units by $1/(1-p)$ so that evaluation is
#   the identity; **DropBlock** drops whole $k \times k$ squares, with the
#   paper's $\gamma$ and a count / count_ones rescaling.
# - **Weight decay** is an L2 penalty $\frac\lambda2\lVert w\rVert^2$ for SGD,
#   but not for Adam (use AdamW); biases and norm parameters are usually left
#   undecayed.
# - Pooling, ReLU and dropout have no trainable parameters; BatchNorm has
#   $\gamma, \beta$ unless `affine=False`, and always has buffers.
#
# Chapter 13 combines these layers into the patterns that make deep networks
# trainable: residual and dense connections, and attention over channels and
# positions.
