# %% [markdown]
# # Chapter 03: Probability and statistics
#
# A classifier does not answer "this is a cat": it answers "cat with probability
# 0.92, dog with probability 0.07, ...". Its loss is a negative log-probability,
# its weights are initialised by drawing random numbers with a chosen variance,
# dropout flips coins, and every dataset is a sample from a distribution we never
# see. This chapter gives you the probability you need to read the rest of the
# course, and has you implement the pieces that deep-learning code uses daily.
#
# **You will learn**
# - random variables, their distributions (Bernoulli, binomial, normal) and how
#   samples relate to a probability mass function or a density;
# - expectation, variance and higher moments; the law of large numbers;
# - why the sample variance divides by $n - 1$;
# - covariance and correlation between features, and the covariance matrix;
# - conditional probability and Bayes' rule;
# - information, entropy, cross-entropy and the Kullback-Leibler divergence;
# - a numerically stable log-softmax and the cross-entropy loss of PyTorch;
# - why both the cross-entropy loss and the mean squared error are negative
#   log-likelihoods (maximum likelihood).
#
# **Graded exercises** (16 points)
#
# | exercise | points |
# |---|---|
# | `sample_variance(x, dim=0)` | 2 |
# | `covariance_matrix(X)` | 2 |
# | `bayes_posterior(prior, likelihood)` | 2 |
# | `entropy(p)` | 2 |
# | `cross_entropy(p, q)` | 1 |
# | `kl_divergence(p, q)` | 2 |
# | `log_softmax(logits, dim=-1)` | 3 |
# | `cross_entropy_loss(logits, targets)` | 2 |
#
# Each exercise is a function with a docstring that states its full contract:
# shapes, dtypes, devices, edge cases and which built-ins you may not call.
# Replace `raise NotImplementedError()` with your code, then run the test cell
# below it. The visible tests show every rule the grader checks (float64 inputs,
# your device, batches, edge cases, forbidden built-ins); hidden tests repeat them
# on other values, shapes and seeds when the notebook is graded.
#
# Throughout, $\log$ is the natural logarithm.

# %%
import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.distributions as dist
import torch.nn.functional as F

from dlcourse import get_device, set_seed
from dlcourse.checks import (
    CROSS_ENTROPY_LOSSES,
    ENTROPIES,
    KL_DIVERGENCES,
    SOFTMAXES,
    VARIANCES,
    assert_close,
    assert_shape,
    forbid,
)
from dlcourse.data import load_tabular
from dlcourse.plotting import plot_curves
from dlcourse.widgets import interactive_plot

device = get_device()  # the tests also run your code on this device
set_seed(0)
print(f"torch {torch.__version__}, device: {device}")

# %% [markdown]
# ## 3.1 Random variables and distributions
#
# A **random variable** $X$ is a quantity whose value is decided by chance: the
# label of the next image, the result of a coin flip, the initial value of a
# weight. Its **distribution** says how likely each value is.
#
# - A *discrete* variable has a **probability mass function** (PMF)
#   $p(x) = P(X = x)$ with $p(x) \ge 0$ and $\sum_x p(x) = 1$.
# - A *continuous* variable has a **probability density function** (PDF) $f(x)$:
#   probabilities are areas, $P(a \le X \le b) = \int_a^b f(x)\,dx$, and
#   $\int f(x)\,dx = 1$. A density is not a probability: it can exceed 1 (a
#   narrow normal distribution does), and $P(X = x) = 0$ for every single $x$.
#
# Three distributions appear everywhere in deep learning:
#
# - **Bernoulli**$(\theta)$: values $\{0, 1\}$, $P(X = 1) = \theta$, i.e.
#   $p(x) = \theta^x (1-\theta)^{1-x}$; mean $\theta$, variance
#   $\theta(1-\theta)$. Binary labels, dropout masks.
# - **Binomial**$(n, \theta)$: the number of successes in $n$ independent
#   Bernoulli$(\theta)$ trials, values $\{0, \dots, n\}$,
#   $p(k) = \binom{n}{k}\theta^k(1-\theta)^{n-k}$; mean $n\theta$, variance
#   $n\theta(1-\theta)$.
# - **Normal** $\mathcal{N}(\mu, \sigma^2)$: values in $\mathbb{R}$, density
#   $f(x) = \frac{1}{\sqrt{2\pi\sigma^2}} e^{-(x-\mu)^2 / (2\sigma^2)}$;
#   mean $\mu$, variance $\sigma^2$. Weight initialisation, noise, VAEs.
#
# `torch.distributions` implements them (and many more). Every distribution can
# `sample`, give the `log_prob` of a value (the log of its PMF or density), and
# knows its `mean` and `variance`. We work with log-probabilities because a product
# of many probabilities underflows to 0, while a sum of their logs does not.

# %%
coin = dist.Bernoulli(probs=torch.tensor(0.7))
trials = dist.Binomial(total_count=10, probs=torch.tensor(0.3))
gauss = dist.Normal(loc=torch.tensor(0.0), scale=torch.tensor(1.0))

for name, law in [("Bernoulli", coin), ("Binomial", trials), ("Normal", gauss)]:
    samples = law.sample((5,))
    print(f"{name:9s} 5 samples: {[round(s, 2) for s in samples.tolist()]}, "
          f"mean {law.mean.item():.2f}, variance {law.variance.item():.2f}")

# log_prob is the log of the PMF (discrete) or of the density (continuous)
print("P(Binomial = 3)  =", trials.log_prob(torch.tensor(3.0)).exp().item())
print("normal density at 0 =", gauss.log_prob(torch.tensor(0.0)).exp().item(),
      "= 1/sqrt(2 pi) =", 1 / math.sqrt(2 * math.pi))

# %% [markdown]
# ### Samples against the distribution
#
# A sample is all we ever see of a distribution. The fraction of samples that take
# a value estimates its probability, and a histogram scaled to have area 1
# (`density=True`) estimates the density. With few samples the estimate is rough;
# with many it hugs the true curve. The bottom row shows the same normal
# distribution with 50 and with 5,000 samples.

# %%
set_seed(0)
fig, axes = plt.subplots(2, 2, figsize=(10, 6))

flips = coin.sample((2000,))
freq = torch.stack([(flips == 0).float().mean(), (flips == 1).float().mean()])
axes[0, 0].bar([-0.15, 0.85], freq.numpy(), width=0.3, label="sample frequency")
axes[0, 0].bar([0.15, 1.15], [0.3, 0.7], width=0.3, label="PMF")
axes[0, 0].set_xticks([0, 1])
axes[0, 0].set_title("Bernoulli(0.7), 2,000 samples")

k = torch.arange(11.0)
counts = trials.sample((2000,))
freq = torch.bincount(counts.long(), minlength=11) / len(counts)
axes[0, 1].bar(k.numpy() - 0.2, freq.numpy(), width=0.4, label="sample frequency")
axes[0, 1].bar(k.numpy() + 0.2, trials.log_prob(k).exp().numpy(), width=0.4,
               label="PMF")
axes[0, 1].set_title("Binomial(10, 0.3), 2,000 samples")

xs = torch.linspace(-4, 4, 200)
for ax, num in zip(axes[1], (50, 5000), strict=True):
    ax.hist(gauss.sample((num,)).numpy(), bins=30, range=(-4, 4), density=True,
            alpha=0.6, label="histogram (density=True)")
    ax.plot(xs.numpy(), gauss.log_prob(xs).exp().numpy(), "k", label="density")
    ax.set_title(f"Normal(0, 1), {num:,} samples")
for ax in axes.flat:
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 3.2 Expectation, variance and moments
#
# The **expectation** (mean) is the probability-weighted average value:
#
# $$\mathbb{E}[X] = \sum_x x\,p(x) \quad\text{or}\quad
#   \mathbb{E}[X] = \int x\,f(x)\,dx, \qquad \mu = \mathbb{E}[X].$$
#
# The **variance** is the expected squared distance from the mean, and the
# **standard deviation** $\sigma$ is its square root (same unit as $X$):
#
# $$\operatorname{Var}[X] = \mathbb{E}\big[(X - \mu)^2\big]
#   = \mathbb{E}[X^2] - \mu^2 = \sigma^2.$$
#
# Useful rules: expectation is linear, $\mathbb{E}[aX + bY] = a\mathbb{E}[X] +
# b\mathbb{E}[Y]$ (always); $\operatorname{Var}[aX + b] = a^2\operatorname{Var}[X]$;
# and variances of *independent* variables add. The last rule is why weight
# initialisation scales with the layer width: a sum of $n$ independent terms of
# variance $v$ has variance $n v$, so weights get variance $\propto 1/n$ to keep
# activations from growing layer after layer.
#
# Higher **standardised moments** describe the shape:
# skewness $\mathbb{E}[((X-\mu)/\sigma)^3]$ (asymmetry; 0 for a normal) and
# kurtosis $\mathbb{E}[((X-\mu)/\sigma)^4]$ (heavy tails; 3 for a normal). Below we
# estimate all four from samples of a normal and of an exponential distribution,
# whose true values are $(0, 1, 0, 3)$ and $(1, 1, 2, 9)$.

# %%
n = 200_000
samples = {
    "Normal(0, 1)": torch.randn(n, dtype=torch.float64),
    "Exponential(1)": dist.Exponential(torch.tensor(1.0).double()).sample((n,)),
}
print(f"{'':15s} {'mean':>7s} {'var':>7s} {'skew':>7s} {'kurt':>7s}")
for name, x in samples.items():
    mu = x.mean()
    z = (x - mu) / (x - mu).pow(2).mean().sqrt()  # standardised samples
    print(f"{name:15s} {mu.item():7.3f} {(x - mu).pow(2).mean().item():7.3f} "
          f"{z.pow(3).mean().item():7.3f} {z.pow(4).mean().item():7.3f}")

# %% [markdown]
# ### The law of large numbers
#
# The average of $n$ independent draws, $\bar{x}_n = \frac{1}{n}\sum_{i=1}^n x_i$,
# converges to $\mathbb{E}[X]$ as $n$ grows. How fast? $\bar{x}_n$ is itself random,
# with variance $\sigma^2 / n$ (independent variances add, then divide by $n^2$),
# so its typical error shrinks like $\sigma / \sqrt{n}$: a hundred times more data
# buys ten times more precision. This is why a mini-batch gradient is a useful
# estimate of the full gradient, and why doubling the batch size does not halve its
# noise. (The central limit theorem adds that, for large $n$, $\bar{x}_n$ is
# approximately normal.)
#
# Five runs of rolling a fair die, whose mean is 3.5 and variance $35/12$:

# %%
set_seed(0)
num_rolls = 10_000
rolls = torch.randint(1, 7, (5, num_rolls)).double()  # 5 independent runs
steps = torch.arange(1, num_rolls + 1, dtype=torch.float64)
running_mean = rolls.cumsum(dim=1) / steps  # (5, num_rolls)
band = 2 * math.sqrt(35 / 12) / steps.sqrt()

fig, ax = plt.subplots(figsize=(7, 3.5))
ax.fill_between(steps.numpy(), (3.5 - band).numpy(), (3.5 + band).numpy(),
                color="gray", alpha=0.25, label=r"$3.5 \pm 2\sigma/\sqrt{n}$")
ax.semilogx(steps.numpy(), running_mean.T.numpy(), lw=1)
ax.axhline(3.5, color="k", lw=1)
ax.set(xlabel="number of rolls n", ylabel="running mean", ylim=(1, 6),
       title="Law of large numbers: a fair die")
ax.legend()
plt.show()

# %% [markdown]
# ## 3.3 Estimating a variance: Bessel's correction
#
# Given a sample $x_1, \dots, x_n$ drawn independently from a distribution with
# variance $\sigma^2$, the natural estimate $\frac{1}{n}\sum_i (x_i - \bar{x})^2$ is
# **biased**: on average it is too small. The reason is that $\bar{x}$ is fitted to
# the same data, and it is the point that *minimises* the sum of squared distances
# to the data, so the data look closer to $\bar{x}$ than to the true mean $\mu$.
# Exactly:
#
# $$\sum_{i=1}^n (x_i - \bar{x})^2 = \sum_{i=1}^n (x_i - \mu)^2 - n(\bar{x} - \mu)^2
# \quad\Rightarrow\quad
# \mathbb{E}\Big[\sum_{i=1}^n (x_i - \bar{x})^2\Big] = n\sigma^2 - n\frac{\sigma^2}{n}
# = (n - 1)\,\sigma^2 .$$
#
# Dividing by $n - 1$ instead of $n$ (**Bessel's correction**) gives the
# **unbiased sample variance**
#
# $$s^2 = \frac{1}{n - 1}\sum_{i=1}^n (x_i - \bar{x})^2 .$$
#
# One sample ($n = 1$) says nothing about the spread: $s^2 = 0/0$ is undefined.
#
# The simulation below draws 20,000 datasets of each size $n$ from
# $\mathcal{N}(0, 4)$ and averages both estimates. Mind the defaults:
# `torch.var` divides by $n - 1$ (`correction=1`), NumPy's `np.var` divides by $n$
# (`ddof=0`). Batch normalisation (chapter 12) normalises with the biased variance
# but tracks the unbiased one in its running statistics.

# %%
set_seed(0)
sigma2 = 4.0
sizes = list(range(2, 13))
biased, unbiased = [], []
for n in sizes:
    data = math.sqrt(sigma2) * torch.randn(20_000, n)  # 20,000 datasets of size n
    biased.append(torch.var(data, dim=1, correction=0).mean().item())
    unbiased.append(torch.var(data, dim=1, correction=1).mean().item())

fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(sizes, unbiased, "o-", label="divide by n - 1 (unbiased)")
ax.plot(sizes, biased, "s-", label="divide by n (biased)")
ax.plot(sizes, [sigma2 * (n - 1) / n for n in sizes], "k:",
        label=r"theory for $1/n$: $\sigma^2 (n-1)/n$")
ax.axhline(sigma2, color="gray", lw=1, label=r"true $\sigma^2 = 4$")
ax.set(xlabel="sample size n", ylabel="average estimate",
       title="Bias of the variance estimate (20,000 datasets per n)")
ax.legend()
plt.show()

# %% [markdown]
# ### A numerical trap
#
# The identity $\operatorname{Var}[X] = \mathbb{E}[X^2] - \mathbb{E}[X]^2$ is exact
# in mathematics and terrible in floating point when the mean is large compared
# with the spread: two huge, nearly equal numbers are subtracted and the digits
# that mattered are lost (*catastrophic cancellation*). Data around $10^4$ with
# standard deviation 1, in float32:

# %%
x = 1e4 + torch.randn(1000, generator=torch.Generator().manual_seed(0))  # float32
n = len(x)
one_pass = (x.pow(2).mean() - x.mean().pow(2)) * n / (n - 1)
print(f"one-pass formula (float32): {one_pass.item():10.4f}")
print(f"torch.var in float64:       {torch.var(x.double()).item():10.4f}")

# %% [markdown]
# ### Exercise 1: `sample_variance` (2 points)
#
# Implement the unbiased sample variance $s^2$ along one dimension of a tensor,
# without `torch.var`, `torch.std`, `torch.var_mean`, `torch.std_mean`,
# `torch.cov`, their `Tensor` methods or NumPy's `var`, `std` and `cov` (the tests
# forbid the group `VARIANCES` of `dlcourse.checks`). Compute the mean first, then
# sum the squared deviations from it (a *two-pass* algorithm), so that data with a
# large mean stay accurate.
# The result must match `torch.var(x, dim=dim)`.

# %% grade_id="ch03-sample-variance"
def sample_variance(x, dim=0):
    """Unbiased sample variance of ``x`` along ``dim`` (Bessel's correction).

    s^2 = sum_i (x_i - mean)^2 / (n - 1), where n = x.shape[dim] is the number
    of samples along ``dim``.

    Args:
        x: floating-point tensor with at least one dimension, e.g. a data matrix
            of shape (N, D) holding N samples of D features.
        dim: int, the dimension that indexes the samples (negative values count
            from the end). The default 0 gives one variance per feature of an
            (N, D) matrix: a tensor of shape (D,).

    Returns:
        Tensor of shape ``x.shape`` with ``dim`` removed (0-d for a 1-D ``x``),
        with the dtype and device of ``x``.

    Edge cases and numerics:
        - n = 1: the estimate is undefined, return NaN there (as ``torch.var``
          does). A tensor divided by 0 gives this; note that a Python number
          such as ``1 / (n - 1)`` raises ZeroDivisionError instead.
        - Subtract the mean before squaring. The one-pass formula
          mean(x**2) - mean(x)**2 fails for float32 data around 1e4 (tested).
        - Do not call torch.var, torch.std, torch.var_mean, torch.std_mean,
          torch.cov, their Tensor methods, or numpy.var, numpy.std, numpy.cov.
    """
    ### BEGIN SOLUTION
    n = x.shape[dim]
    deviations = x - x.mean(dim=dim, keepdim=True)
    return deviations.pow(2).sum(dim=dim) / (n - 1)
    ### END SOLUTION


# %%
# Try it: five students' heights (cm) and weights (kg), one row per student.
X = torch.tensor([[170.0, 65.0], [182.0, 80.0], [165.0, 58.0], [175.0, 72.0],
                  [158.0, 51.0]])
print("yours:    ", sample_variance(X))
print("torch.var:", torch.var(X, dim=0))

# %% grade_id="ch03-sample-variance-tests" points=2
"""sample_variance: n - 1 denominator along `dim` (default 0) == torch.var(x, dim);
stable for data with a large mean; NaN for n = 1; float64 on the device kept;
no torch.var / torch.std / torch.cov (VARIANCES)."""
x = torch.tensor([1.0, 2.0, 3.0, 4.0])
# squared deviations from the mean 2.5: 2.25 + 0.25 + 0.25 + 2.25 = 5; 5 / (4 - 1)
with forbid(*VARIANCES):
    got = sample_variance(x)
assert_close(got, torch.tensor(5.0 / 3.0),
             name="sample_variance([1., 2., 3., 4.]) (1.25 would mean dividing by n)")
X = torch.tensor([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]])  # N=3 samples, D=2
assert_close(sample_variance(X), torch.tensor([4.0, 16.0]),
             name="sample_variance(X) for X of shape (3, 2): one value per column")
assert_close(sample_variance(X, dim=1), torch.tensor([0.5, 4.5, 12.5]),
             name="sample_variance(X, dim=1): one value per row")
big = 1e4 + torch.randn(1000, generator=torch.Generator().manual_seed(0))  # float32
assert_close(sample_variance(big), torch.var(big.double()).float(), rtol=1e-3,
             name="sample_variance(1e4 + noise) in float32 (subtract the mean first)")
# float64 on your device, three dimensions, a negative dim
x64 = torch.arange(24, dtype=torch.float64, device=device).reshape(2, 3, 4) ** 1.5
with forbid(*VARIANCES):
    got = sample_variance(x64, dim=-2)
assert_close(got, torch.var(x64, dim=-2), rtol=1e-10, atol=1e-12,
             name="sample_variance(float64 x of shape (2, 3, 4) on device, dim=-2)")
assert got.device == x64.device, f"result on {got.device}, expected {x64.device}"
# a single sample (n = 1): undefined, NaN like torch.var
one = torch.tensor([[3.0, -1.0]], dtype=torch.float64, device=device)
with forbid(*VARIANCES):
    got = sample_variance(one, dim=0)
assert_shape(got, (2,), name="sample_variance(x of shape (1, 2), dim=0)")
assert torch.isnan(got).all(), (
    f"sample_variance(x of shape (1, 2), dim=0): with a single sample (n = 1) the "
    f"unbiased variance is undefined: expected NaN like torch.var, got {got.tolist()}")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(3)
for _shape, _dim in [((7,), 0), ((5, 3), 0), ((5, 3), 1), ((2, 9, 4), 1),
                     ((2, 9, 4), -1), ((1, 6), 1), ((6, 1), 0)]:
    _x = (3 * torch.randn(_shape, generator=_gen, dtype=torch.float64) + 2).to(device)
    _want = torch.var(_x, dim=_dim)
    with forbid(*VARIANCES):
        _got = sample_variance(_x, dim=_dim)
    assert_close(_got, _want, rtol=1e-10, atol=1e-12,
                 name=f"sample_variance(x of shape {_shape}, dim={_dim})")
    assert _got.device == _x.device, f"result on {_got.device}, expected {_x.device}"
_x = torch.randn(4, 5, generator=_gen).to(device)  # float32
with forbid(*VARIANCES):
    _got = sample_variance(_x, dim=1)
assert_close(_got, torch.var(_x, dim=1), rtol=1e-5, atol=1e-6,
             name="sample_variance(float32 x of shape (4, 5), dim=1)")
_x = 5e3 + torch.randn(3, 500, generator=_gen)  # float32, large mean
with forbid(*VARIANCES):
    _got = sample_variance(_x.to(device), dim=1)
assert_close(_got.cpu(), torch.var(_x.double(), dim=1).float(), rtol=1e-3,
             name="sample_variance(5e3 + noise of shape (3, 500), dim=1) in float32")
_one = torch.tensor([[3.0], [-1.0]], dtype=torch.float64, device=device)  # n = 1
with forbid(*VARIANCES):
    _got = sample_variance(_one, dim=1)
assert_shape(_got, (2,), name="sample_variance(x of shape (2, 1), dim=1)")
assert torch.isnan(_got).all(), (
    f"sample_variance(x of shape (2, 1), dim=1): with a single sample (n = 1) the "
    f"unbiased variance is undefined: expected NaN like torch.var, got {_got.tolist()}")
### END HIDDEN TESTS

# %% [markdown]
# ## 3.4 Covariance and correlation
#
# A variance describes one feature on its own. Real data have many features, and
# they move together: tall people tend to be heavy, wines rich in phenols tend to
# be rich in flavanoids. The **covariance** of two random variables measures this,
#
# $$\operatorname{Cov}[X, Y] = \mathbb{E}\big[(X - \mu_X)(Y - \mu_Y)\big]
#   = \mathbb{E}[XY] - \mathbb{E}[X]\,\mathbb{E}[Y] .$$
#
# It is positive when $X$ and $Y$ tend to lie on the same side of their means,
# negative when they tend to lie on opposite sides, and
# $\operatorname{Cov}[X, X] = \operatorname{Var}[X]$. Independent variables have
# covariance 0, but not the other way round: with $X \sim \mathcal{N}(0, 1)$ and
# $Y = X^2$, $\operatorname{Cov}[X, Y] = \mathbb{E}[X^3] = 0$ although $Y$ is a
# function of $X$. Covariance only sees *linear* dependence. It is also what the
# rule "variances of independent variables add" leaves out in general:
#
# $$\operatorname{Var}[X + Y] = \operatorname{Var}[X] + \operatorname{Var}[Y]
#   + 2\operatorname{Cov}[X, Y] .$$
#
# For a vector of $D$ features the covariances of all pairs form the $D \times D$
# **covariance matrix** $\Sigma_{ij} = \operatorname{Cov}[x_i, x_j]$: symmetric,
# with the variances on its diagonal. From a data matrix $X$ of shape $(N, D)$,
# one sample per row, centre each column, $X_c = X - \bar{\mathbf{x}}$, and apply
# the same Bessel correction as for the variance:
#
# $$C = \frac{1}{N - 1} X_c^\top X_c, \qquad
#   C_{ij} = \frac{1}{N - 1}\sum_{n=1}^{N} (x_{ni} - \bar{x}_i)(x_{nj} - \bar{x}_j).$$
#
# Mind the order: $X_c^\top X_c$ is $D \times D$ (features against features),
# while $X_c X_c^\top$ is $N \times N$ (samples against samples). Chapter 1's PCA
# used exactly this matrix: its eigenvectors are the principal components, and the
# variance of the data along a unit vector $\mathbf{w}$ is
# $\mathbf{w}^\top C \mathbf{w}$. Batch normalisation (chapter 12) uses only the
# diagonal: it rescales every feature by its own standard deviation and leaves the
# correlations between features as they are.
#
# A covariance has the units of both features, so its size says little: a
# feature measured in grams instead of kilograms has 1,000 times larger
# covariances with every other feature. The **correlation** removes the units by
# dividing by both standard deviations,
#
# $$\rho_{ij} = \frac{C_{ij}}{\sqrt{C_{ii}\,C_{jj}}} \in [-1, 1], \qquad
#   R = C \oslash (\mathbf{s}\,\mathbf{s}^\top), \quad s_i = \sqrt{C_{ii}},$$
#
# the covariance of the standardised features. $\rho = \pm 1$ means an exact linear
# relation, $\rho = 0$ no linear relation at all.

# %% [markdown]
# ### Exercise 2: `covariance_matrix` (2 points)
#
# Implement the unbiased covariance matrix of the columns of a data matrix: centre
# each column, then take the products of all pairs of centred columns and divide by
# $N - 1$ (a matrix product, `einsum` or loops all work). The result must match
# `torch.cov(X.T)`: `torch.cov` expects one *variable per row*, hence the
# transpose. As in Exercise 1, the variance built-ins are forbidden (`torch.cov`,
# `torch.var`, `torch.std`, their relatives and NumPy versions: the group
# `VARIANCES`).

# %% grade_id="ch03-covariance-matrix"
def covariance_matrix(X):
    """Unbiased covariance matrix of the D features (columns) of a data matrix.

    C[i, j] = sum_n (X[n, i] - m[i]) * (X[n, j] - m[j]) / (N - 1), where m[i] is
    the mean of column i. N is the number of samples (rows), D the number of
    features (columns).

    Args:
        X: floating-point tensor of shape (N, D), one sample per row, N >= 1.
            X is not modified.

    Returns:
        Tensor of shape (D, D), symmetric, with the variances of the D features
        on its diagonal, with the dtype and device of X. It equals
        torch.cov(X.T), whose rows are the variables; for D = 1 the result has
        shape (1, 1), where torch.cov returns a 0-d tensor.

    Edge cases:
        - N = 1: the covariance is undefined and every entry is NaN (as
          torch.cov gives). A tensor divided by 0 gives this; note that a Python
          number such as ``1 / (N - 1)`` raises ZeroDivisionError instead.
        - Do not call torch.cov, torch.var, torch.std, torch.var_mean,
          torch.std_mean, their Tensor methods, or numpy.cov, numpy.var,
          numpy.std.
    """
    ### BEGIN SOLUTION
    centred = X - X.mean(dim=0, keepdim=True)  # (N, D): column means subtracted
    return centred.T @ centred / (X.shape[0] - 1)  # (D, D)
    ### END SOLUTION


# %%
# Try it: heights (cm) and weights (kg) of five students, one row per student.
students = torch.tensor([[170.0, 65.0], [182.0, 80.0], [165.0, 58.0],
                         [175.0, 72.0], [158.0, 51.0]])
print("yours:\n", covariance_matrix(students))
print("torch.cov(students.T):\n", torch.cov(students.T))

# %% grade_id="ch03-covariance-matrix-tests" points=2
"""covariance_matrix: (D, D) == torch.cov(X.T), n - 1 denominator, columns
centred; float64 on the device kept; D = 1 gives (1, 1); N = 1 gives NaN; X not
modified; no torch.cov / torch.var / torch.std (VARIANCES)."""
X = torch.tensor([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]])  # N=3 samples, D=2
# centred columns [-2, 0, 2] and [-4, 0, 4]: products summed 16, 8, 32; / (3 - 1)
with forbid(*VARIANCES):
    got = covariance_matrix(X)
assert_close(got, torch.tensor([[4.0, 8.0], [8.0, 16.0]]),
             name="covariance_matrix(X of shape (3, 2)) (a factor 2/3 would mean "
                  "dividing by N)")
X = torch.tensor([[2.0, 0.5, -1.0, 7.0], [1.0, 1.5, 0.0, 8.0], [4.0, -0.5, 3.0, 6.0],
                  [0.0, 2.0, 1.0, 9.5], [3.0, 1.0, -2.0, 7.5]],
                 dtype=torch.float64, device=device)  # N=5, D=4, means far from 0
saved = X.clone()
with forbid(*VARIANCES):
    got = covariance_matrix(X)
assert_close(got, torch.cov(X.T), rtol=1e-9, atol=1e-10,
             name="covariance_matrix(float64 X of shape (5, 4) on device)")
assert got.device == X.device, f"result on {got.device}, expected {X.device}"
assert torch.equal(X, saved), "covariance_matrix modified its input X"
with forbid(*VARIANCES):
    got = covariance_matrix(X[:, 1:2])  # one feature: D = 1
assert_close(got, torch.cov(X[:, 1]).reshape(1, 1), rtol=1e-9, atol=1e-10,
             name="covariance_matrix(X of shape (5, 1)): shape (1, 1)")
with forbid(*VARIANCES):
    got = covariance_matrix(X[:1])  # one sample: N = 1
assert_shape(got, (4, 4), name="covariance_matrix(X of shape (1, 4))")
assert torch.isnan(got).all(), (
    "covariance_matrix(X of shape (1, 4)): with a single sample (N = 1) the "
    f"covariance is undefined: expected NaN like torch.cov, got {got.tolist()}")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(23)
for _N, _D in [(7, 3), (3, 7), (20, 5), (2, 4), (6, 1), (11, 2)]:
    _scale = 0.5 + 2.5 * torch.rand(_D, generator=_gen, dtype=torch.float64)
    _shift = 10 * torch.rand(_D, generator=_gen, dtype=torch.float64) - 5
    _z = torch.randn(_N, _D, generator=_gen, dtype=torch.float64)
    _x = (_z @ torch.randn(_D, _D, generator=_gen, dtype=torch.float64) * _scale
          + _shift).to(device)  # correlated columns, distinct means and scales
    _saved = _x.clone()
    with forbid(*VARIANCES):
        _got = covariance_matrix(_x)
    _want = torch.cov(_x.T).reshape(_D, _D)
    assert_close(_got, _want, rtol=1e-9, atol=1e-10,
                 name=f"covariance_matrix(float64 X of shape ({_N}, {_D}))")
    assert _got.device == _x.device, f"result on {_got.device}, expected {_x.device}"
    assert torch.equal(_x, _saved), "covariance_matrix modified its input X"
_x = (torch.randn(9, 4, generator=_gen) + 1).to(device)  # float32
with forbid(*VARIANCES):
    _got = covariance_matrix(_x)
assert_close(_got, torch.cov(_x.T), rtol=1e-5, atol=1e-5,
             name="covariance_matrix(float32 X of shape (9, 4))")
_x = torch.randn(1, 3, generator=_gen, dtype=torch.float64).to(device)  # N = 1
with forbid(*VARIANCES):
    _got = covariance_matrix(_x)
assert_shape(_got, (3, 3), name="covariance_matrix(X of shape (1, 3))")
assert torch.isnan(_got).all(), (
    "covariance_matrix(X of shape (1, 3)): with a single sample (N = 1) expected "
    f"NaN everywhere like torch.cov, got {_got.tolist()}")
### END HIDDEN TESTS

# %% [markdown]
# ### The correlations of a real dataset
#
# scikit-learn's wine dataset describes 178 Italian wines by 13 chemical
# measurements. Their variances span several orders of magnitude (printed below),
# so the raw covariance matrix would be a picture of the largest feature alone; the
# correlation matrix puts every pair on the same $[-1, 1]$ scale. Blocks of
# strongly correlated features are redundant information, the kind that PCA
# compresses into fewer directions.

# %%
wine_X, _, wine_names = load_tabular("wine", dtype=torch.float64)  # (178, 13)
wine_cov = covariance_matrix(wine_X)  # (13, 13)
wine_std = wine_cov.diagonal().sqrt()
wine_corr = wine_cov / torch.outer(wine_std, wine_std)
print("smallest and largest variance:", wine_cov.diagonal().min().item(),
      wine_cov.diagonal().max().item())
print("max |ours - torch.corrcoef|:",
      (wine_corr - torch.corrcoef(wine_X.T)).abs().max().item())
off_diagonal = wine_corr - torch.eye(len(wine_corr), dtype=torch.float64)
for label, flat in (("most positive", off_diagonal.argmax()),
                    ("most negative", off_diagonal.argmin())):
    i, j = divmod(int(flat), len(wine_corr))
    print(f"{label} pair: {wine_names[i]} and {wine_names[j]}, "
          f"rho = {wine_corr[i, j].item():.3f}")

fig, ax = plt.subplots(figsize=(7, 6))
image = ax.imshow(wine_corr.numpy(), cmap="coolwarm", vmin=-1, vmax=1)
ax.set_xticks(range(len(wine_names)), wine_names, rotation=90, fontsize=8)
ax.set_yticks(range(len(wine_names)), wine_names, fontsize=8)
fig.colorbar(image, ax=ax, label="correlation")
ax.set_title("Wine: correlation matrix of 13 features")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 3.5 Conditional probability and Bayes' rule
#
# The **conditional probability** of $A$ given that $B$ happened is
# $P(A \mid B) = P(A \cap B) / P(B)$: we restrict the world to the outcomes where
# $B$ holds and renormalise. Writing the joint probability both ways,
# $P(A \cap B) = P(B \mid A)\,P(A) = P(A \mid B)\,P(B)$, gives **Bayes' rule**.
# For $K$ mutually exclusive hypotheses $H_1, \dots, H_K$ (the classes) and an
# observed evidence $E$:
#
# $$\underbrace{P(H_k \mid E)}_{\text{posterior}}
#   = \frac{\overbrace{P(E \mid H_k)}^{\text{likelihood}}\;
#           \overbrace{P(H_k)}^{\text{prior}}}
#          {\underbrace{\textstyle\sum_{j=1}^{K} P(E \mid H_j)\,P(H_j)}
#                       _{\text{evidence } P(E)}} .$$
#
# The denominator is the *law of total probability*; it only makes the posterior
# sum to 1. Note that the likelihood $P(E \mid H_k)$, read as a function of $k$, is
# **not** a distribution: it need not sum to 1 over $k$.
#
# **A diagnostic test.** A disease affects 1% of people. A test detects it in 95%
# of sick people (sensitivity) and wrongly flags 5% of healthy people (so its
# specificity is 95%). You test positive. How likely are you to be sick?
#
# $$P(\text{sick} \mid +) = \frac{0.95 \times 0.01}
#   {0.95 \times 0.01 + 0.05 \times 0.99} = \frac{0.0095}{0.059} \approx 16\% .$$
#
# Count it out with 10,000 people: 100 are sick and 95 of them test positive;
# 9,900 are healthy and 495 of them test positive. Of the 590 positives, only 95
# are sick. The low prior (the disease is rare) beats the accurate test. In
# machine learning, the softmax output of a classifier is meant to be the
# posterior $P(\text{class} \mid \text{input})$, and the class frequencies in the
# training data act as its prior.
#
# **Independent evidence.** If two tests are independent given the true status, the
# posterior after the first is the prior for the second; equivalently, multiply
# their likelihoods. Assuming that all input features are independent given the
# class is exactly the **naive Bayes** classifier.

# %% [markdown]
# ### Exercise 3: `bayes_posterior` (2 points)
#
# Implement Bayes' rule for $K$ hypotheses. The last dimension indexes the
# hypotheses; any leading dimensions index independent cases (for example $M$
# different observations, each with its own likelihood vector), and `prior` and
# `likelihood` broadcast against each other like any PyTorch elementwise operation.

# %% grade_id="ch03-bayes-posterior"
def bayes_posterior(prior, likelihood):
    """Posterior P(H_k | E) from a prior P(H_k) and a likelihood P(E | H_k).

    K is the number of hypotheses (classes); the last dimension indexes them.

    Args:
        prior: floating-point tensor of shape (K,) or (..., K): P(H_k),
            non-negative, summing to 1 along the last dimension.
        likelihood: floating-point tensor of shape (K,) or (..., K):
            P(E | H_k) for each k, values in [0, 1]. It does NOT sum to 1 over
            k; do not normalise it on its own.
            ``prior`` and ``likelihood`` broadcast against each other: a prior
            of shape (K,) with a likelihood of shape (M, K) gives M posteriors,
            one per observation; a prior of shape (M, K) with a likelihood of
            shape (K,) updates M different priors with the same evidence.

    Returns:
        Tensor of the broadcast shape (..., K): prior * likelihood divided by its
        sum over the last dimension (the evidence P(E)), so that each slice sums
        to 1. Same dtype and device as the inputs.

    The evidence P(E) is assumed positive in every slice (not tested otherwise).
    """
    ### BEGIN SOLUTION
    joint = prior * likelihood  # P(E and H_k), shape (..., K)
    return joint / joint.sum(dim=-1, keepdim=True)
    ### END SOLUTION


# %%
# Try it: the diagnostic test, hypotheses ordered [healthy, sick].
prior = torch.tensor([0.99, 0.01])
positive = torch.tensor([0.05, 0.95])  # P(+ | healthy), P(+ | sick)
after_one = bayes_posterior(prior, positive)
after_two = bayes_posterior(after_one, positive)  # a second, independent test
print(f"P(sick | +)    = {after_one[1].item():.3f}")
print(f"P(sick | +, +) = {after_two[1].item():.3f}")
print(f"same in one step with the product of likelihoods: "
      f"{bayes_posterior(prior, positive * positive)[1].item():.3f}")

# %% [markdown]
# How much a positive result means depends on how rare the disease is. One call
# with a batch of priors (one row per prevalence) computes the whole curve:

# %%
prevalence = torch.logspace(-4, math.log10(0.5), 200)  # P(sick) from 1e-4 to 0.5
priors = torch.stack([1 - prevalence, prevalence], dim=1)  # (200, 2)
fig, ax = plt.subplots(figsize=(7, 3.5))
for specificity in (0.9, 0.99, 0.999):
    likelihood = torch.tensor([1 - specificity, 0.95])  # P(+ | healthy), P(+ | sick)
    posterior = bayes_posterior(priors, likelihood)  # (200, 2)
    ax.semilogx(prevalence.numpy(), posterior[:, 1].numpy(),
                label=f"specificity {specificity}")
ax.set(xlabel="prevalence P(sick)", ylabel="P(sick | positive test)",
       title="Sensitivity 0.95: the prior matters")
ax.legend()
plt.show()

# %% grade_id="ch03-bayes-posterior-tests" points=2
"""bayes_posterior: prior * likelihood normalised over the last dimension;
broadcasts (K,) with (M, K) and (M, K) with (K,); a zero likelihood gives a zero
posterior; float64 on the device kept."""
prior = torch.tensor([0.99, 0.01])       # P(healthy), P(sick)
likelihood = torch.tensor([0.05, 0.95])  # P(+ | healthy), P(+ | sick)
assert_close(bayes_posterior(prior, likelihood),
             torch.tensor([0.0495 / 0.059, 0.0095 / 0.059]),
             name="bayes_posterior for the diagnostic test (P(sick | +) is about 0.16)")
post = bayes_posterior(torch.full((3,), 1 / 3), torch.tensor([0.1, 0.3, 0.1]))
assert_close(post, torch.tensor([0.2, 0.6, 0.2]),
             name="bayes_posterior(uniform prior, likelihood [0.1, 0.3, 0.1])")
# float64 on your device; one prior (3,) and M = 2 observations (2, 3); the
# likelihood 0 rules hypothesis 2 out in the second row
prior = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64, device=device)
likelihoods = torch.tensor([[0.2, 0.5, 0.9], [0.4, 0.4, 0.0]],
                           dtype=torch.float64, device=device)
want = torch.tensor([[0.1 / 0.43, 0.15 / 0.43, 0.18 / 0.43],
                     [0.2 / 0.32, 0.12 / 0.32, 0.0]], dtype=torch.float64)
got = bayes_posterior(prior, likelihoods)
assert_close(got, want.to(device), rtol=1e-10, atol=1e-12,
             name="bayes_posterior(float64 prior (3,) on device, likelihood (2, 3))")
assert got.device == prior.device, f"result on {got.device}, expected {prior.device}"
# M = 2 different priors (2, 3), the same evidence (3,)
priors = torch.tensor([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]], dtype=torch.float64,
                      device=device)
assert_close(bayes_posterior(priors, likelihoods[0]),
             torch.tensor([[0.1 / 0.43, 0.15 / 0.43, 0.18 / 0.43],
                           [0.02 / 0.79, 0.05 / 0.79, 0.72 / 0.79]],
                          dtype=torch.float64, device=device),
             rtol=1e-10, atol=1e-12,
             name="bayes_posterior(priors (2, 3), likelihood (3,))")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(5)
_K, _M = 5, 7
_prior = torch.randn(_K, generator=_gen, dtype=torch.float64).softmax(0).to(device)
_lik = torch.rand(_M, _K, generator=_gen, dtype=torch.float64).to(device)
_got = bayes_posterior(_prior, _lik)
_want = _prior * _lik / (_lik @ _prior)[:, None]
assert_close(_got, _want, rtol=1e-10, atol=1e-12,
             name="bayes_posterior(prior (5,), likelihood (7, 5))")
assert _got.device == _lik.device, f"result on {_got.device}, expected {_lik.device}"
assert_close(bayes_posterior(_prior, _lik[3]), _want[3],
             name="bayes_posterior(prior (5,), likelihood (5,))")
assert_close(bayes_posterior(_prior, 0.1 * _lik), _want,
             name="bayes_posterior(prior, 0.1 * likelihood) (a scaled likelihood "
                  "gives the same posterior)")
_priors = torch.softmax(torch.randn(_M, _K, generator=_gen, dtype=torch.float64),
                        -1).to(device)
assert_close(bayes_posterior(_priors, _lik[0]),
             _priors * _lik[0] / (_priors @ _lik[0])[:, None],
             name="bayes_posterior(priors (7, 5), likelihood (5,))")
assert_close(bayes_posterior(_priors[:1], _lik[:1]),
             _priors[:1] * _lik[:1] / (_priors[:1] * _lik[:1]).sum(),
             name="bayes_posterior(prior (1, 5), likelihood (1, 5))")
_lik0 = _lik[2].clone()
_lik0[1] = 0.0  # evidence impossible under hypothesis 1
_got = bayes_posterior(_prior, _lik0)
assert_close(_got[1], torch.tensor(0.0, dtype=torch.float64, device=device),
             name="posterior of a hypothesis with likelihood 0")
_got = bayes_posterior(_prior.float(), _lik.float())
assert_close(_got, _want.float(), rtol=1e-5, atol=1e-6,
             name="bayes_posterior on float32 inputs")
### END HIDDEN TESTS

# %% [markdown]
# ## 3.6 Information and entropy
#
# How surprised should you be when an outcome of probability $p$ happens? The
# **surprisal** (or information content) $-\log p$ is the answer information theory
# gives: a certain event ($p = 1$) carries no information, rarer events carry more,
# and the information of two independent events adds up, because their
# probabilities multiply.
#
# The **entropy** of a distribution $p$ over $K$ outcomes is the expected surprisal,
#
# $$H(p) = -\sum_{k=1}^{K} p_k \log p_k ,$$
#
# a measure of uncertainty. With the natural log it is measured in **nats**; with
# $\log_2$, in **bits** ($1 \text{ bit} = \log 2 \approx 0.693$ nats). A fair coin
# has 1 bit of entropy: the average number of yes/no questions needed to learn the
# outcome. Always $0 \le H(p) \le \log K$: zero for a certain outcome (one-hot $p$),
# maximal for the uniform distribution.
#
# **Zero probabilities.** Outcomes that never happen contribute nothing, by the
# convention $0 \log 0 = 0$ (the limit of $p \log p$ as $p \to 0$). Floating point
# does not know this convention: `0 * log(0)` is `0 * -inf = nan`. Write the
# convention into your code: `torch.where(p > 0, p * torch.log(p), 0.0)` keeps
# $p \log p$ where $p > 0$ and puts 0 elsewhere (the `nan` computed at the other
# entries is thrown away). PyTorch also has `torch.xlogy(x, y)`, which computes
# $x \log y$ with 0 wherever $x = 0$; it does the whole term in one call, so the
# exercises below forbid it: writing the convention once yourself is the point.
#
# Move the slider to bias the coin and watch its entropy (this demo uses the
# built-in `torch.distributions.Bernoulli(...).entropy()`):

# %%
def show_coin(theta=0.5):
    """Draw the coin's two probabilities and its entropy on the binary-entropy curve."""
    thetas = torch.linspace(0.0, 1.0, 201)
    curve = dist.Bernoulli(probs=thetas).entropy() / math.log(2)  # in bits
    h = dist.Bernoulli(probs=torch.tensor(theta)).entropy().item()  # in nats
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9, 3))
    ax0.bar(["tails", "heads"], [1 - theta, theta], color=["tab:gray", "tab:orange"])
    ax0.set(ylim=(0, 1), title="the coin")
    ax1.plot(thetas.numpy(), curve.numpy())
    ax1.plot([theta], [h / math.log(2)], "o", color="tab:red")
    ax1.set(xlabel="P(heads)", ylabel="entropy (bits)",
            title=f"H = {h:.3f} nats = {h / math.log(2):.3f} bits")
    fig.tight_layout()
    plt.show()


interactive_plot(show_coin, theta=widgets.FloatSlider(
    value=0.5, min=0.0, max=1.0, step=0.01, description="P(heads)"))

# %% [markdown]
# ### Exercise 4: `entropy` (2 points)
#
# Implement $H(p)$ in nats for a batch of distributions stored along the last
# dimension, with $0 \log 0 = 0$ written by you (for example with `torch.where`).
# The built-ins that compute the term or the whole entropy are forbidden:
# `torch.xlogy`, `torch.special.xlogy`, `torch.special.entr`, the `entropy()` of
# `torch.distributions` and SciPy's `entr`, `xlogy`, `rel_entr`, `kl_div` and
# `scipy.stats.entropy` (the group `ENTROPIES`). The result must match
# `torch.distributions.Categorical(probs=p).entropy()`.

# %% grade_id="ch03-entropy"
def entropy(p):
    """Entropy H(p) = -sum_k p_k log p_k in nats, over the last dimension.

    K is the number of outcomes.

    Args:
        p: floating-point tensor of shape (..., K), any number of leading batch
            dimensions (including none). Each slice p[..., :] is a distribution:
            non-negative and summing to 1 (not checked).

    Returns:
        Tensor of shape p.shape[:-1] (0-d for a 1-D ``p``), same dtype and
        device as ``p``. Natural log (nats, not bits). Zero probabilities
        contribute 0 (0 log 0 = 0), so a one-hot p gives 0, never NaN.
        Do not call torch.xlogy, torch.special.xlogy, Tensor.xlogy,
        torch.special.entr, the entropy() method of torch.distributions, or
        scipy.special.entr / xlogy / rel_entr / kl_div, scipy.stats.entropy.
    """
    ### BEGIN SOLUTION
    terms = torch.where(p > 0, p * torch.log(p), torch.zeros_like(p))  # 0 log 0 = 0
    return -terms.sum(dim=-1)
    ### END SOLUTION


# %%
# Try it: the uniform distribution over K outcomes has entropy log K.
for K in (2, 4, 8):
    h = entropy(torch.full((K,), 1.0 / K))
    print(f"uniform over {K}: {h.item():.4f} nats = {h.item() / math.log(2):.1f} bits")
print("one-hot [0, 1, 0] has entropy 0:",
      entropy(torch.tensor([0.0, 1.0, 0.0])).item() == 0.0)

# %% grade_id="ch03-entropy-tests" points=2
"""entropy: nats, over the last dimension, 0 log 0 = 0, shape p.shape[:-1], any
batch shape, == Categorical(probs=p).entropy(); float64 on the device kept; no
xlogy, entr or distributions' entropy (ENTROPIES)."""
with forbid(*ENTROPIES):
    got = entropy(torch.tensor([0.5, 0.5]))
assert_close(got, torch.tensor(math.log(2)),
             name="entropy([0.5, 0.5]) in nats (1.0 would mean log base 2)")
assert_close(entropy(torch.full((4,), 0.25)), torch.tensor(math.log(4)),
             name="entropy of the uniform distribution over 4 outcomes")
with forbid(*ENTROPIES):
    got = entropy(torch.tensor([0.0, 1.0, 0.0]))
assert_close(got, torch.tensor(0.0),
             name="entropy([0, 1, 0]) (0 log 0 must count as 0, not NaN)")
P = torch.tensor([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])  # 2 distributions over 3
assert_close(entropy(P), torch.tensor([math.log(2), 1.0296530140645737]),
             name="entropy of a batch P of shape (2, 3)")
# float64 on your device, batch shape (2, 2), zeros included
P = torch.tensor([[[0.25, 0.25, 0.5, 0.0], [1.0, 0.0, 0.0, 0.0]],
                  [[0.1, 0.2, 0.3, 0.4], [0.0, 0.5, 0.0, 0.5]]],
                 dtype=torch.float64, device=device)
with forbid(*ENTROPIES):
    got = entropy(P)
assert_close(got, dist.Categorical(probs=P).entropy(), rtol=1e-10, atol=1e-12,
             name="entropy(float64 P of shape (2, 2, 4) on device)")
assert got.device == P.device, f"result on {got.device}, expected {P.device}"
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(7)
for _shape in [(5,), (3, 7), (2, 3, 6), (1, 4), (6, 1)]:
    _logits = 2 * torch.randn(_shape, generator=_gen, dtype=torch.float64)
    _logits[torch.rand(_shape, generator=_gen) < 0.3] = -math.inf  # exact zeros
    _logits[..., 0] = 0.0  # at least one outcome possible
    _p = torch.softmax(_logits, dim=-1).to(device)
    _want = dist.Categorical(probs=_p).entropy()
    with forbid(*ENTROPIES):
        _got = entropy(_p)
    assert_close(_got, _want, rtol=1e-10, atol=1e-12,
                 name=f"entropy(p of shape {_shape})")
    assert _got.device == _p.device, f"result on {_got.device}, expected {_p.device}"
_p = torch.softmax(torch.randn(4, 9, generator=_gen), dim=-1).to(device)  # float32
with forbid(*ENTROPIES):
    _got = entropy(_p)
assert_close(_got, dist.Categorical(probs=_p).entropy(), rtol=1e-5, atol=1e-6,
             name="entropy(float32 p of shape (4, 9))")
### END HIDDEN TESTS

# %% [markdown]
# ## 3.7 Cross-entropy and the Kullback-Leibler divergence
#
# Suppose the outcomes follow $p$, but you believe $q$ (your model). Your average
# surprise is the **cross-entropy**
#
# $$H(p, q) = -\sum_{k} p_k \log q_k .$$
#
# It is never smaller than $H(p)$, the surprise you would have with the right
# beliefs. The excess is the **Kullback-Leibler divergence** of $q$ from $p$:
#
# $$D_{\mathrm{KL}}(p \,\|\, q) = \sum_k p_k \log \frac{p_k}{q_k}
#   = H(p, q) - H(p), \qquad\text{so}\qquad
#   H(p, q) = H(p) + D_{\mathrm{KL}}(p \,\|\, q).$$
#
# Properties:
# - $D_{\mathrm{KL}}(p \,\|\, q) \ge 0$, with equality only when $q = p$ (Gibbs'
#   inequality).
# - It is **not symmetric**: $D_{\mathrm{KL}}(p \,\|\, q) \ne D_{\mathrm{KL}}(q \,\|\,
#   p)$ in general, so it is not a distance. The order matters: the first argument
#   is the distribution the expectation is taken under (the "truth").
# - When training, $p$ is the data and fixed, so $H(p)$ is a constant: minimising
#   the cross-entropy over the model $q$ is the same as minimising the KL
#   divergence from the data to the model.
#
# **Zero probabilities.** A term with $p_k = 0$ contributes 0, whatever $q_k$ is
# (that outcome never happens). A term with $p_k > 0$ but $q_k = 0$ is $+\infty$:
# the model declared impossible something that happens. These are the same
# conventions that `torch.distributions.kl_divergence` follows.

# %% [markdown]
# ### Exercise 5: `cross_entropy` (1 point)
#
# Implement $H(p, q)$ in nats along the last dimension, following the zero
# conventions above exactly (no small epsilon added to $q$). As in Exercise 4, write
# the $p_k = 0$ case yourself with `torch.where`: `torch.xlogy` and the other
# one-call answers are forbidden, namely the groups `ENTROPIES` (`xlogy`, `entr`),
# `CROSS_ENTROPY_LOSSES` (`F.cross_entropy`, `F.nll_loss`,
# `Categorical(...).log_prob`) and `KL_DIVERGENCES` (`kl_divergence`, `F.kl_div`).

# %% grade_id="ch03-cross-entropy"
def cross_entropy(p, q):
    """Cross-entropy H(p, q) = -sum_k p_k log q_k in nats, over the last dimension.

    K is the number of outcomes.

    Args:
        p: floating-point tensor of shape (..., K): the true distributions.
        q: tensor of the same shape and dtype: the model's distributions.
            Both are non-negative and sum to 1 along the last dimension.

    Returns:
        Tensor of shape p.shape[:-1] (0-d for 1-D inputs), same dtype and device
        as ``p``. Natural log. Conventions, exactly (do not add an epsilon):
        terms with p_k = 0 contribute 0, even where q_k = 0 (never NaN); if
        p_k > 0 and q_k = 0 the result is +inf.
        Do not call torch.xlogy, torch.special.xlogy, Tensor.xlogy,
        torch.special.entr, F.cross_entropy, F.nll_loss, the log_prob or
        entropy methods of torch.distributions' Categorical,
        torch.distributions.kl_divergence, F.kl_div, or their SciPy versions.
    """
    ### BEGIN SOLUTION
    terms = torch.where(p > 0, p * torch.log(q), torch.zeros_like(p))  # (..., K)
    return -terms.sum(dim=-1)
    ### END SOLUTION


# %% grade_id="ch03-cross-entropy-tests" points=1
"""cross_entropy: -sum p log q over the last dimension, in nats; argument order;
p = 0 terms give 0; p > 0 with q = 0 gives inf; any batch shape; float64 on the
device kept; no xlogy, cross-entropy or KL built-ins (ENTROPIES,
CROSS_ENTROPY_LOSSES, KL_DIVERGENCES)."""
banned = (*ENTROPIES, *CROSS_ENTROPY_LOSSES, *KL_DIVERGENCES)
p, q = torch.tensor([1.0, 0.0]), torch.tensor([0.5, 0.5])
with forbid(*banned):
    got = cross_entropy(p, q)
assert_close(got, torch.tensor(math.log(2)),
             name="cross_entropy(p=[1, 0], q=[0.5, 0.5])")
got = cross_entropy(q, p)
assert_close(got, torch.tensor(math.inf),
             name="cross_entropy(p=[0.5, 0.5], q=[1, 0]) (q = 0 where p > 0)")
assert got.item() == math.inf, (
    f"cross_entropy(p=[0.5, 0.5], q=[1, 0]): expected inf (q = 0 where p > 0; "
    f"do not add an epsilon), got {got.item()}")
p = torch.tensor([0.5, 0.5, 0.0, 0.0])
q = torch.tensor([0.25, 0.25, 0.5, 0.0])
assert_close(cross_entropy(p, q), torch.tensor(math.log(4)),
             name="cross_entropy(p=[0.5, 0.5, 0, 0], q=[0.25, 0.25, 0.5, 0]) "
                  "(p = 0 terms count as 0, not NaN)")
# float64 on your device, a batch of shape (2, 2) of distributions over 3
P = torch.tensor([[[0.2, 0.3, 0.5], [0.0, 1.0, 0.0]],
                  [[0.6, 0.4, 0.0], [1.0, 0.0, 0.0]]],
                 dtype=torch.float64, device=device)
Q = torch.tensor([[[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]],
                  [[0.3, 0.3, 0.4], [0.5, 0.5, 0.0]]],
                 dtype=torch.float64, device=device)
first = -(0.2 * math.log(0.5) + 0.8 * math.log(0.25))  # 0.3 + 0.5 share log 0.25
want = torch.tensor([[first, -math.log(0.8)], [-math.log(0.3), -math.log(0.5)]],
                    dtype=torch.float64)
with forbid(*banned):
    got = cross_entropy(P, Q)
assert_close(got, want.to(device), rtol=1e-10, atol=1e-12,
             name="cross_entropy(float64 P, Q of shape (2, 2, 3) on device)")
assert got.device == P.device, f"result on {got.device}, expected {P.device}"
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(11)
for _shape in [(5,), (3, 7), (2, 3, 6), (1, 4)]:
    _logits = 2 * torch.randn(_shape, generator=_gen, dtype=torch.float64)
    _logits[torch.rand(_shape, generator=_gen) < 0.3] = -math.inf
    _logits[..., 0] = 0.0
    _p = torch.softmax(_logits, dim=-1).to(device)
    _q = torch.softmax(torch.randn(_shape, generator=_gen, dtype=torch.float64),
                       dim=-1).to(device)
    _K = _shape[-1]
    _want = F.cross_entropy(_q.log().reshape(-1, _K), _p.reshape(-1, _K),
                            reduction="none").reshape(_shape[:-1])
    with forbid(*banned):
        _got = cross_entropy(_p, _q)
    assert_close(_got, _want, rtol=1e-10, atol=1e-12,
                 name=f"cross_entropy(p, q of shape {_shape})")
    assert _got.device == _p.device, f"result on {_got.device}, expected {_p.device}"
_p32, _q32 = _p.float(), _q.float()
with forbid(*banned):
    _got = cross_entropy(_p32, _q32)
assert_close(_got, _want.float(), rtol=1e-5, atol=1e-6,
             name="cross_entropy on float32 inputs of shape (1, 4)")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 6: `kl_divergence` (2 points)
#
# Implement $D_{\mathrm{KL}}(p \,\|\, q)$ in nats along the last dimension, with the
# zero conventions above. You may build on your `entropy` and `cross_entropy`, or
# compute it directly. The groups `KL_DIVERGENCES` (`torch.distributions.
# kl_divergence`, `F.kl_div`, SciPy's `rel_entr` and `kl_div`) and `ENTROPIES`
# (`xlogy`, `entr`, the distributions' `entropy()`) are forbidden. The result must
# match
# `torch.distributions.kl_divergence(Categorical(probs=p), Categorical(probs=q))`.

# %% grade_id="ch03-kl-divergence"
def kl_divergence(p, q):
    """KL divergence D_KL(p || q) = sum_k p_k log(p_k / q_k) in nats, last dim.

    K is the number of outcomes. The order matters: ``p`` is the reference
    ("true") distribution that the expectation is taken under.

    Args:
        p: floating-point tensor of shape (..., K).
        q: tensor of the same shape and dtype.
            Both are non-negative and sum to 1 along the last dimension.

    Returns:
        Tensor of shape p.shape[:-1] (0-d for 1-D inputs), same dtype and device
        as ``p``, >= 0 (up to rounding) and 0 when q equals p. Natural log.
        Conventions, exactly (no epsilon): terms with p_k = 0 contribute 0, even
        where q_k = 0 (never NaN); if p_k > 0 and q_k = 0 the result is +inf.
        Do not call torch.distributions.kl_divergence, F.kl_div, torch.xlogy,
        torch.special.xlogy, Tensor.xlogy, torch.special.entr, the entropy()
        method of torch.distributions, or their SciPy versions.
    """
    ### BEGIN SOLUTION
    log_ratio = torch.log(p) - torch.log(q)  # inf where q = 0 < p
    terms = torch.where(p > 0, p * log_ratio, torch.zeros_like(p))  # (..., K)
    return terms.sum(dim=-1)
    ### END SOLUTION


# %% grade_id="ch03-kl-divergence-tests" points=2
"""kl_divergence: sum p log(p / q) over the last dimension in nats, order KL(p||q);
zero conventions; any batch shape; == torch.distributions.kl_divergence; float64
on the device kept; no KL or xlogy built-ins (KL_DIVERGENCES, ENTROPIES)."""
banned = (*KL_DIVERGENCES, *ENTROPIES)
p, q = torch.tensor([0.75, 0.25]), torch.tensor([0.5, 0.5])
with forbid(*banned):
    got = kl_divergence(p, q)
assert_close(got, torch.tensor(0.75 * math.log(1.5) + 0.25 * math.log(0.5)),
             name="kl_divergence(p=[0.75, 0.25], q=[0.5, 0.5]) (order: KL(p || q))")
assert_close(kl_divergence(p, p), torch.tensor(0.0), atol=1e-7,
             name="kl_divergence(p, p)")
one_hot = torch.tensor([1.0, 0.0])
assert_close(kl_divergence(one_hot, q), torch.tensor(math.log(2)),
             name="kl_divergence(p=[1, 0], q=[0.5, 0.5]) (p = 0 terms count as 0)")
got = kl_divergence(q, one_hot)
assert_close(got, torch.tensor(math.inf),
             name="kl_divergence(p=[0.5, 0.5], q=[1, 0]) (q = 0 where p > 0)")
assert got.item() == math.inf, (
    f"kl_divergence(p=[0.5, 0.5], q=[1, 0]): expected inf (q = 0 where p > 0; "
    f"do not add an epsilon), got {got.item()}")
# float64 on your device, a batch of shape (2, 2) of distributions over 3, with
# p = q = 0 entries
P = torch.tensor([[[0.2, 0.3, 0.5], [0.0, 1.0, 0.0]],
                  [[0.6, 0.4, 0.0], [1.0, 0.0, 0.0]]],
                 dtype=torch.float64, device=device)
Q = torch.tensor([[[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]],
                  [[0.3, 0.3, 0.4], [0.5, 0.5, 0.0]]],
                 dtype=torch.float64, device=device)
with forbid(*banned):
    got = kl_divergence(P, Q)
want = dist.kl_divergence(dist.Categorical(probs=P), dist.Categorical(probs=Q))
assert_close(got, want, rtol=1e-10, atol=1e-12,
             name="kl_divergence(float64 P, Q of shape (2, 2, 3) on device)")
assert got.device == P.device, f"result on {got.device}, expected {P.device}"
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(13)
for _shape in [(5,), (3, 7), (2, 3, 6), (1, 4)]:
    _logits = 2 * torch.randn(_shape, generator=_gen, dtype=torch.float64)
    _zero = torch.rand(_shape, generator=_gen) < 0.3
    _zero[..., 0] = False
    _logits[_zero] = -math.inf
    _p = torch.softmax(_logits, dim=-1).to(device)
    _qlogits = torch.randn(_shape, generator=_gen, dtype=torch.float64)
    _qlogits[_zero & (torch.rand(_shape, generator=_gen) < 0.5)] = -math.inf
    _q = torch.softmax(_qlogits, dim=-1).to(device)  # q = 0 only where p = 0
    _want = dist.kl_divergence(dist.Categorical(probs=_p), dist.Categorical(probs=_q))
    with forbid(*banned):
        _got = kl_divergence(_p, _q)
        _back = kl_divergence(_q, _p)
    assert_close(_got, _want, rtol=1e-10, atol=1e-12,
                 name=f"kl_divergence(p, q of shape {_shape})")
    assert _got.device == _p.device, f"result on {_got.device}, expected {_p.device}"
    _want_back = dist.kl_divergence(dist.Categorical(probs=_q),
                                    dist.Categorical(probs=_p))
    assert_close(_back, _want_back, rtol=1e-10, atol=1e-12,
                 name=f"kl_divergence(q, p) for shape {_shape} (may be inf)")
    assert torch.equal(_back == math.inf, _want_back == math.inf), (
        f"kl_divergence(q, p) for shape {_shape}: expected inf in "
        f"{int((_want_back == math.inf).sum())} entries (where q > 0 and p = 0), "
        f"got inf in {int((_back == math.inf).sum())}")
with forbid(*banned):
    _got = kl_divergence(_p.float(), _q.float())
assert_close(_got, _want.float(), rtol=1e-5, atol=1e-6,
             name="kl_divergence on float32 inputs of shape (1, 4)")
### END HIDDEN TESTS

# %% [markdown]
# With all three functions in place, check the identity
# $H(p, q) = H(p) + D_{\mathrm{KL}}(p \,\|\, q)$ and the asymmetry of KL. The plot
# fixes a biased coin $p = (0.7, 0.3)$ and varies the model $q_t = (1 - t, t)$: the
# cross-entropy sits above the entropy by exactly the KL divergence, and both touch
# at $t = 0.3$, where the model is right.

# %%
gen = torch.Generator().manual_seed(0)
p = torch.softmax(torch.randn(4, 6, generator=gen), dim=-1)  # 4 distributions over 6
q = torch.softmax(torch.randn(4, 6, generator=gen), dim=-1)
gap = cross_entropy(p, q) - (entropy(p) + kl_divergence(p, q))
print("max |H(p,q) - H(p) - KL(p||q)| =", gap.abs().max().item())
print("KL(p||q):", kl_divergence(p, q))
print("KL(q||p):", kl_divergence(q, p))

t = torch.linspace(0.01, 0.99, 99, dtype=torch.float64)
Q = torch.stack([1 - t, t], dim=1)  # (99, 2): one model per row
P = torch.tensor([0.7, 0.3], dtype=torch.float64).expand_as(Q)
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(t.numpy(), cross_entropy(P, Q).numpy(), label=r"$H(p, q_t)$")
ax.plot(t.numpy(), entropy(P).numpy(), "--", label=r"$H(p)$")
ax.plot(t.numpy(), kl_divergence(P, Q).numpy(), label=r"$D_{KL}(p \| q_t)$")
ax.plot(t.numpy(), kl_divergence(Q, P).numpy(), ":", label=r"$D_{KL}(q_t \| p)$")
ax.axvline(0.3, color="gray", lw=1)
ax.set(xlabel="t = model's P(heads)", ylabel="nats", ylim=(0, 2.5),
       title="p = (0.7, 0.3): cross-entropy = entropy + KL")
ax.legend()
plt.show()

# %% [markdown]
# ## 3.8 From logits to probabilities: a stable log-softmax
#
# A classifier's last layer outputs $C$ unconstrained real numbers per input, the
# **logits** $z \in \mathbb{R}^C$. The **softmax** turns them into a distribution,
# and its log is what the loss needs:
#
# $$\operatorname{softmax}(z)_k = \frac{e^{z_k}}{\sum_{j} e^{z_j}}, \qquad
#   \log\operatorname{softmax}(z)_k = z_k - \log\sum_{j} e^{z_j} .$$
#
# Computed literally this breaks: $e^{z}$ overflows to `inf` in float32 for
# $z > 88.7$ (and in float64 for $z > 709.8$), and then `inf / inf = nan`. Logits in
# the hundreds or thousands happen (a confident model, a bad learning rate, an
# attention score before scaling), so the formula must survive them.
#
# **The max trick.** Softmax does not change when the same constant is added to
# every logit, so subtract the largest, $m = \max_j z_j$:
#
# $$\log\sum_j e^{z_j} = m + \log\sum_j e^{z_j - m} .$$
#
# Now every exponent is $\le 0$, so nothing overflows; the largest term is exactly
# $e^0 = 1$, so the sum lies in $[1, C]$ and its log is never $\log 0$. Terms that
# underflow to 0 are negligible next to that 1, and harmless.
#
# Why not `torch.softmax(z).log()`? Softmax itself is computed stably, but its small
# probabilities underflow to 0, and $\log 0 = -\infty$ where the true answer is an
# ordinary number such as $-10^4$. Computing the log-softmax directly keeps it.

# %%
z = torch.tensor([1e4, 0.0, -1e4])
print("exp(z):                ", z.exp())
print("naive softmax:         ", z.exp() / z.exp().sum())  # inf / inf = nan
print("float32 exp overflows above", math.log(torch.finfo(torch.float32).max))
print("log of torch.softmax:  ", torch.softmax(z, dim=0).log())
print("torch.log_softmax:     ", torch.log_softmax(z, dim=0))

# %% [markdown]
# ### Exercise 7: `log_softmax` (3 points)
#
# Implement the log-softmax along a dimension `dim` with the max trick. Use only
# elementwise operations and reductions such as `amax`/`max`, `exp`, `log` and
# `sum`: `torch.log_softmax`, `torch.softmax`, `torch.logsumexp`, their
# `torch.nn.functional`, `torch.special`, `Tensor` and SciPy versions are forbidden
# (the group `SOFTMAXES`). The
# result must match `torch.log_softmax(logits, dim)` and stay finite for logits as
# large as $10^4$ in float32.

# %% grade_id="ch03-log-softmax"
def log_softmax(logits, dim=-1):
    """Numerically stable log-softmax of ``logits`` along ``dim``.

    out = logits - log(sum(exp(logits), dim)), computed with the max trick.

    Args:
        logits: floating-point tensor of any shape with at least one dimension,
            for example (N, C) for N examples and C classes.
        dim: int, the dimension to normalise over (default -1, the last;
            negative values count from the end).

    Returns:
        Tensor of the same shape, dtype and device as ``logits``, such that
        out.exp().sum(dim) is 1 and out == torch.log_softmax(logits, dim).
        Stable: finite for finite logits as large as 1e4 in magnitude, even in
        float32. Entries equal to -inf (masked out) give -inf, provided each
        slice along ``dim`` has at least one finite entry.
        Do not call torch.log_softmax, torch.softmax, torch.logsumexp, or their
        torch.nn.functional, torch.special, Tensor-method and SciPy versions.
    """
    ### BEGIN SOLUTION
    m = logits.amax(dim=dim, keepdim=True)  # the max trick: every exponent <= 0
    shifted = logits - m
    return shifted - shifted.exp().sum(dim=dim, keepdim=True).log()
    ### END SOLUTION


# %% grade_id="ch03-log-softmax-tests" points=3
"""log_softmax: == torch.log_softmax along `dim` (default -1); finite at logits of
1e4 in float32; -inf entries stay -inf; float64 on the device kept; no softmax,
log_softmax or logsumexp built-ins (SOFTMAXES)."""
z = torch.tensor([1.0, 2.0, 3.0])
with forbid(*SOFTMAXES):
    got = log_softmax(z)
assert_close(got, torch.tensor([-2.40760596, -1.40760596, -0.40760596]),
             name="log_softmax([1., 2., 3.])")
with forbid(*SOFTMAXES):
    got = log_softmax(torch.tensor([1e4, 0.0, -1e4]))
assert_close(got, torch.tensor([0.0, -1e4, -2e4]), atol=2e-3,
             name="log_softmax([1e4, 0., -1e4]) (NaN or inf means: use the max trick)")
Z = torch.tensor([[1.0, 2.0, 3.0], [1e4, 1e4, 1e4]])  # (2, 3)
# float32 resolves numbers near 1e4 only to about 1e-3, hence atol=2e-3
assert_close(log_softmax(Z, dim=1),
             torch.tensor([[-2.40760596, -1.40760596, -0.40760596],
                           [-math.log(3), -math.log(3), -math.log(3)]]), atol=2e-3,
             name="log_softmax(Z, dim=1) for Z of shape (2, 3)")
assert_close(log_softmax(Z, dim=0),
             torch.tensor([[-9999.0, -9998.0, -9997.0], [0.0, 0.0, 0.0]]), atol=2e-3,
             name="log_softmax(Z, dim=0) for Z of shape (2, 3)")
# float64 on your device, shape (2, 3, 4), along the middle dimension
Z = torch.linspace(-6, 6, 24, dtype=torch.float64, device=device).reshape(2, 3, 4)
Z = Z * torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64, device=device)
with forbid(*SOFTMAXES):
    got = log_softmax(Z, dim=1)
assert_close(got, torch.log_softmax(Z, dim=1), rtol=1e-10, atol=1e-12,
             name="log_softmax(float64 Z of shape (2, 3, 4) on device, dim=1)")
assert got.device == Z.device, f"result on {got.device}, expected {Z.device}"
# masked entries: -inf stays -inf (each row keeps a finite entry)
Z = torch.tensor([[0.0, -math.inf, 1.0], [-math.inf, 2.0, -math.inf]],
                 dtype=torch.float64, device=device)
with forbid(*SOFTMAXES):
    got = log_softmax(Z, dim=1)
want = torch.tensor([[-math.log1p(math.e), -math.inf, 1 - math.log1p(math.e)],
                     [-math.inf, 0.0, -math.inf]], dtype=torch.float64, device=device)
assert_close(got, want, rtol=1e-10, atol=1e-12,
             name="log_softmax(Z with -inf (masked) entries, dim=1)")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(17)
for _shape, _dim in [((5,), 0), ((3, 7), -1), ((3, 7), 0), ((2, 3, 6), 1),
                     ((2, 3, 6), -1), ((1, 4), 1), ((4, 1), 1)]:
    _x = (3 * torch.randn(_shape, generator=_gen, dtype=torch.float64)).to(device)
    _want = torch.log_softmax(_x, dim=_dim)
    with forbid(*SOFTMAXES):
        _got = log_softmax(_x, dim=_dim)
    assert_close(_got, _want, rtol=1e-10, atol=1e-12,
                 name=f"log_softmax(x of shape {_shape}, dim={_dim})")
    assert _got.device == _x.device, f"result on {_got.device}, expected {_x.device}"
_x = (1e4 * torch.randn(6, 9, generator=_gen)).to(device)  # float32, huge logits
with forbid(*SOFTMAXES):
    _got = log_softmax(_x)
assert torch.isfinite(_got).all(), (
    "log_softmax of float32 logits of size about 1e4 (shape (6, 9), dim=-1) has "
    f"{int((~torch.isfinite(_got)).sum())} non-finite entries: subtract the max "
    "of each slice along dim")
assert_close(_got, torch.log_softmax(_x, dim=-1), rtol=1e-5, atol=1e-2,
             name="log_softmax(float32 logits of size about 1e4, shape (6, 9))")
_x = torch.tensor([[-math.inf, 0.5, -math.inf, -1.0], [3.0, -math.inf, 3.0, 3.0]],
                  dtype=torch.float64, device=device)
with forbid(*SOFTMAXES):
    _got = log_softmax(_x.T, dim=0)
_want = torch.log_softmax(_x.T, dim=0)
assert_close(_got, _want, rtol=1e-10, atol=1e-12,
             name="log_softmax with -inf (masked) entries along dim 0")
### END HIDDEN TESTS

# %% [markdown]
# ### Temperature
#
# Dividing the logits by a **temperature** $T > 0$ before the softmax controls how
# peaked the distribution is: $T \to 0$ approaches a one-hot on the largest logit
# (entropy 0), $T \to \infty$ approaches uniform (entropy $\log C$). Language models
# sample with a temperature (chapter 23), and knowledge distillation trains on
# softened teacher outputs. This demo uses the built-in `torch.softmax`.

# %%
demo_logits = torch.tensor([2.0, 1.0, 0.5, 0.0, -1.0])


def show_temperature(temperature=1.0):
    """Bar chart of softmax(demo_logits / temperature) with its entropy."""
    probs = torch.softmax(demo_logits / temperature, dim=0)
    h = dist.Categorical(probs=probs).entropy().item()
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(range(len(probs)), probs.numpy())
    ax.set(ylim=(0, 1), xlabel="class", ylabel="probability",
           title=f"T = {temperature:.2f}: entropy {h:.3f} nats "
                 f"(max log 5 = {math.log(5):.3f})")
    plt.show()


interactive_plot(show_temperature, temperature=widgets.FloatLogSlider(
    value=1.0, base=10, min=-1.5, max=1.5, step=0.05, description="T"))

# %% [markdown]
# ## 3.9 The cross-entropy loss is a negative log-likelihood
#
# A classifier with parameters $\theta$ maps input $x_i$ to logits $z_i$, hence to a
# distribution $q_\theta(\cdot \mid x_i) = \operatorname{softmax}(z_i)$ over $C$
# classes. **Maximum likelihood** picks the parameters that make the observed
# labels $y_1, \dots, y_N$ most probable. The examples are independent, so the
# likelihood is a product, and its log is a sum:
#
# $$\log \prod_{i=1}^N q_\theta(y_i \mid x_i)
#   = \sum_{i=1}^N \log\operatorname{softmax}(z_i)_{y_i}.$$
#
# Maximising it is minimising the mean **negative log-likelihood**
#
# $$\mathcal{L} = -\frac{1}{N}\sum_{i=1}^N \log\operatorname{softmax}(z_i)_{y_i} .$$
#
# This is also a cross-entropy: with $p_i$ the one-hot distribution on $y_i$,
# $H(p_i, q_i) = -\log q_i[y_i]$ (and since $H(p_i) = 0$, it equals the KL
# divergence). So "cross-entropy loss", "negative log-likelihood" and "log loss"
# are the same thing. A model that puts probability 1 on every right label has loss
# 0; a model that guesses uniformly has loss $\log C$, a useful sanity check for
# the first step of any training run.

# %% [markdown]
# ### Exercise 8: `cross_entropy_loss` (2 points)
#
# Implement the mean cross-entropy loss for integer class labels, matching
# `F.cross_entropy(logits, targets)` with its defaults. Use your `log_softmax` (or
# `torch.log_softmax`) and pick each example's target entry, for example with
# advanced indexing or `gather`. Do not call `F.cross_entropy`, `F.nll_loss`,
# `nn.CrossEntropyLoss`, `nn.NLLLoss`, or
# `torch.distributions.Categorical(logits=...).log_prob`, which returns exactly the
# picked log-probabilities (the group `CROSS_ENTROPY_LOSSES`).

# %% grade_id="ch03-cross-entropy-loss"
def cross_entropy_loss(logits, targets):
    """Mean cross-entropy loss, like F.cross_entropy(logits, targets).

    N is the batch size (N >= 1) and C the number of classes.

    Args:
        logits: floating-point tensor of shape (N, C): unnormalised scores
            (not probabilities: do not apply softmax first).
        targets: int64 tensor of shape (N,), on the device of ``logits``: the
            index in [0, C) of the right label of each example (indices, not
            one-hot rows).

    Returns:
        0-d tensor -(1/N) * sum_i log_softmax(logits[i])[targets[i]] (mean
        over the batch), same dtype and device as ``logits``. Stable for logits
        as large as 1e4 in magnitude. No per-label weights, ignore_index or
        label smoothing. Do not call F.cross_entropy, F.nll_loss,
        nn.CrossEntropyLoss, nn.NLLLoss, or the log_prob method of
        torch.distributions' Categorical and OneHotCategorical.
    """
    ### BEGIN SOLUTION
    log_probs = log_softmax(logits, dim=1)  # (N, C)
    picked = log_probs.gather(1, targets.unsqueeze(1)).squeeze(1)  # (N,)
    return -picked.mean()
    ### END SOLUTION


# %% grade_id="ch03-cross-entropy-loss-tests" points=2
"""cross_entropy_loss: == F.cross_entropy(logits, targets) (mean over N) for logits
(N, C) and int64 indices (N,); 0-d result; N = 1; stable at 1e4; float64 on the
device kept; no F.cross_entropy / F.nll_loss / Categorical.log_prob
(CROSS_ENTROPY_LOSSES)."""
logits = torch.tensor([[2.0, 1.0, 0.1], [0.5, 2.5, 1.0], [0.1, 0.2, 3.0]])
targets = torch.tensor([0, 1, 2])  # the right label of each example (not one-hot)
with forbid(*CROSS_ENTROPY_LOSSES):
    got = cross_entropy_loss(logits, targets)
assert_close(got, F.cross_entropy(logits, targets),
             name="cross_entropy_loss(logits (3, 3), targets [0, 1, 2])")
assert_close(cross_entropy_loss(torch.zeros(2, 5), torch.tensor([4, 0])),
             torch.tensor(math.log(5)),
             name="cross_entropy_loss(all-zero logits (2, 5), ...) (uniform: log 5)")
assert_close(cross_entropy_loss(torch.tensor([[1e4, 0.0], [0.0, 1e4]]),
                                torch.tensor([1, 1])),
             torch.tensor(5000.0),
             name="cross_entropy_loss(logits [[1e4, 0], [0, 1e4]], targets [1, 1])")
# float64 on your device, N = 4 examples, C = 5 labels
logits = torch.linspace(-3, 3, 20, dtype=torch.float64, device=device).reshape(4, 5)
logits = logits.cos() * torch.tensor([[1.0], [2.0], [-1.0], [4.0]],
                                     dtype=torch.float64, device=device)
targets = torch.tensor([4, 0, 2, 2], device=device)
with forbid(*CROSS_ENTROPY_LOSSES):
    got = cross_entropy_loss(logits, targets)
assert_close(got, F.cross_entropy(logits, targets), rtol=1e-10, atol=1e-12,
             name="cross_entropy_loss(float64 logits (4, 5) on device, targets (4,))")
assert got.device == logits.device, f"result on {got.device}, expected {logits.device}"
# a single example (N = 1): the loss is -log_softmax(logits[0])[targets[0]]
with forbid(*CROSS_ENTROPY_LOSSES):
    got = cross_entropy_loss(logits[2:3], targets[2:3])
assert_close(got, -torch.log_softmax(logits[2], dim=0)[2], rtol=1e-10, atol=1e-12,
             name="cross_entropy_loss(logits (1, 5), targets [2])")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(19)
for _N, _C in [(7, 5), (1, 3), (4, 11), (13, 2)]:
    _x = (2 * torch.randn(_N, _C, generator=_gen, dtype=torch.float64)).to(device)
    _y = torch.randint(0, _C, (_N,), generator=_gen).to(device)
    _want = F.cross_entropy(_x, _y)
    with forbid(*CROSS_ENTROPY_LOSSES):
        _got = cross_entropy_loss(_x, _y)
    assert_close(_got, _want, rtol=1e-10, atol=1e-12,
                 name=f"cross_entropy_loss(logits ({_N}, {_C}), targets)")
    assert _got.device == _x.device, f"result on {_got.device}, expected {_x.device}"
_x = (1e4 * torch.randn(6, 4, generator=_gen)).to(device)  # float32, huge logits
_y = torch.randint(0, 4, (6,), generator=_gen).to(device)
with forbid(*CROSS_ENTROPY_LOSSES):
    _got = cross_entropy_loss(_x, _y)
assert_close(_got, F.cross_entropy(_x, _y), rtol=1e-5, atol=1e-2,
             name="cross_entropy_loss(float32 logits of size about 1e4, shape (6, 4))")
### END HIDDEN TESTS

# %% [markdown]
# ### The two target forms of `F.cross_entropy`
#
# PyTorch's `F.cross_entropy(logits, target)` (and `nn.CrossEntropyLoss`) takes
# raw logits of shape $(N, C)$ and applies the log-softmax itself. Its `target`
# can have either of two forms, told apart by shape and dtype:
#
# 1. **Class indices**: an int64 tensor of shape $(N,)$ with values in
#    $[0, C)$, such as `tensor([0, 1, 2])`. This is *not* one-hot: each entry is
#    the index of the right class. This is the common, cheaper form.
# 2. **Class probabilities**: a floating-point tensor of shape $(N, C)$ whose rows
#    are distributions. One-hot rows give exactly the same loss as the indices;
#    soft rows express uncertain labels (label smoothing, distillation, mixup),
#    and the loss is then the full cross-entropy $-\sum_k p_k \log q_k$.
#
# A one-hot tensor of integers is neither form and is rejected. Also, pass logits,
# never probabilities: a softmax in front of `F.cross_entropy` is applied twice and
# gives a wrong, too-flat loss.

# %%
logits = torch.tensor([[2.0, 1.0, 0.1], [0.5, 2.5, 1.0], [0.1, 0.2, 3.0]])  # (N, C)
targets = torch.tensor([0, 1, 2])  # class indices, int64, shape (N,)
one_hot = F.one_hot(targets, num_classes=3).float()  # probabilities, shape (N, C)
smooth = 0.9 * one_hot + 0.1 / 3  # label smoothing with epsilon = 0.1

print("indices:                 ", F.cross_entropy(logits, targets).item())
print("one-hot probabilities:   ", F.cross_entropy(logits, one_hot).item())
print("nll_loss(log_softmax):   ", F.nll_loss(F.log_softmax(logits, dim=1),
                                              targets).item())
print("smoothed probabilities:  ", F.cross_entropy(logits, smooth).item())
print("label_smoothing=0.1:     ", F.cross_entropy(logits, targets,
                                                   label_smoothing=0.1).item())
print("softmax applied twice:   ", F.cross_entropy(logits.softmax(dim=1),
                                                   targets).item(), "(wrong)")
try:
    F.cross_entropy(logits, one_hot.long())
except RuntimeError as err:
    print("int64 one-hot rows:       rejected:", str(err).splitlines()[0])

# %% [markdown]
# ### Minimising cross-entropy is maximum likelihood
#
# An experiment ties the chapter together. Roll a loaded die 500 times and fit
# the simplest possible model: one logit per face, shared by every roll. Gradient
# descent on your `cross_entropy_loss` drives the model's probabilities to the
# observed frequencies $\hat{p}$ (the maximum-likelihood estimate), and the loss
# decreases towards its floor $H(\hat{p})$: by $H(\hat{p}, q) = H(\hat{p}) +
# D_{\mathrm{KL}}(\hat{p} \,\|\, q)$, only the KL part can be trained away.

# %%
set_seed(0)
true_probs = torch.tensor([0.1, 0.2, 0.3, 0.4])
rolls = torch.multinomial(true_probs, 500, replacement=True)  # (500,) class indices
observed = torch.bincount(rolls, minlength=4) / len(rolls)

w = torch.zeros(4, requires_grad=True)  # the model's logits, shared by all rolls
optimizer = torch.optim.SGD([w], lr=0.5)
losses = []
for _ in range(100):
    loss = cross_entropy_loss(w.expand(len(rolls), 4), rolls)  # logits (500, 4)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())

floor = entropy(observed).item()
print("observed frequencies:", observed.numpy().round(3))
print("model probabilities: ", torch.softmax(w.detach(), dim=0).numpy().round(3))
print(f"final loss {losses[-1]:.4f}, entropy of the data {floor:.4f}")
ax = plot_curves({"cross-entropy loss": losses,
                  "H(observed), the floor": [floor] * len(losses)},
                 xlabel="gradient step", ylabel="nats")
ax.set_title("Fitting a loaded die by maximum likelihood")
plt.show()

# %% [markdown]
# ### The mean squared error is a Gaussian negative log-likelihood
#
# Regression has its own maximum-likelihood story. Suppose a model $f_\theta$
# predicts a real number, and the target is that prediction plus Gaussian noise of
# fixed standard deviation $\sigma$: $y \mid x \sim \mathcal{N}(f_\theta(x),
# \sigma^2)$. The log of the normal density gives, for one example,
#
# $$-\log \mathcal{N}\big(y; f_\theta(x), \sigma^2\big)
#   = \frac{\big(y - f_\theta(x)\big)^2}{2\sigma^2}
#   + \frac{1}{2}\log\left(2\pi\sigma^2\right),$$
#
# and averaging over $N$ independent examples,
#
# $$\mathcal{L}_{\text{NLL}}(\theta)
#   = \frac{1}{2\sigma^2}\,\underbrace{\frac{1}{N}\sum_{i=1}^N
#     \big(y_i - f_\theta(x_i)\big)^2}_{\operatorname{MSE}(\theta)}
#   + \frac{1}{2}\log\left(2\pi\sigma^2\right).$$
#
# With $\sigma$ fixed, the negative log-likelihood is the mean squared error times
# the positive number $1/(2\sigma^2)$, plus a constant that does not depend on
# $\theta$: both are minimised by the same parameters. Training with
# `nn.MSELoss` *is* maximum likelihood under this noise model, and it inherits its
# assumptions: symmetric noise with the same spread for every input, and rare large
# errors (the normal's tails are thin, so an outlier costs the square of its
# error). Other noise models give other losses: Laplace noise, with density
# $\propto e^{-|y - f|/b}$, gives the mean absolute error.
#
# The cell below checks both claims on noisy data from the line $y = 2x - 1$ with
# $\sigma = 0.5$. For 1,000 random parameter pairs $(a, b)$ of the model
# $f(x) = a x + b$, the NLL (computed by `torch.distributions.Normal(...).log_prob`)
# minus $\operatorname{MSE}/(2\sigma^2)$ is the constant
# $\frac12\log(2\pi\sigma^2)$ up to rounding; and on a grid of slopes both losses
# pick the same best slope, the grid point nearest the least-squares slope.

# %%
set_seed(0)
noise_sd = 0.5
x_reg = torch.linspace(-2, 2, 200, dtype=torch.float64)
y_reg = 2 * x_reg - 1 + noise_sd * torch.randn(200, dtype=torch.float64)


def mse_and_nll(slopes, intercepts):
    """MSE and mean Gaussian NLL of the lines a x + b, one per (slope, intercept)."""
    preds = slopes[:, None] * x_reg + intercepts[:, None]  # (M, 200)
    mse = (y_reg - preds).pow(2).mean(dim=1)
    nll = -dist.Normal(preds, noise_sd).log_prob(y_reg).mean(dim=1)
    return mse, nll


constant = 0.5 * math.log(2 * math.pi * noise_sd**2)
params = 3 * torch.randn(1000, 2, generator=torch.Generator().manual_seed(1),
                         dtype=torch.float64)
mse, nll = mse_and_nll(params[:, 0], params[:, 1])
gap = nll - mse / (2 * noise_sd**2)
print(f"NLL - MSE / (2 sigma^2) over 1,000 random lines: from {gap.min().item():.12f}"
      f" to {gap.max().item():.12f}; log(2 pi sigma^2) / 2 = {constant:.12f}")

design = torch.stack([x_reg, torch.ones_like(x_reg)], dim=1)  # (200, 2)
best_a, best_b = torch.linalg.lstsq(design, y_reg[:, None]).solution.squeeze(1)
slopes = torch.linspace(1.0, 3.0, 401, dtype=torch.float64)
mse, nll = mse_and_nll(slopes, best_b.expand_as(slopes))
print(f"least squares: a = {best_a.item():.3f}, b = {best_b.item():.3f}; best slope "
      f"on the grid: {slopes[mse.argmin()].item():.3f} by MSE, "
      f"{slopes[nll.argmin()].item():.3f} by NLL")

fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(slopes.numpy(), nll.numpy(), label="Gaussian NLL (mean)")
ax.plot(slopes.numpy(), (mse / (2 * noise_sd**2)).numpy(), "--",
        label=r"MSE / $(2\sigma^2)$")
ax.axvline(best_a.item(), color="gray", lw=1, label="least-squares slope")
ax.set(xlabel="slope a (intercept at its least-squares value)", ylabel="loss",
       title=r"Same minimiser, shifted by $\frac{1}{2}\log(2\pi\sigma^2)$")
ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 3.10 Summary
#
# - A distribution is known through samples: frequencies estimate a PMF,
#   normalised histograms a density, and averages converge at rate
#   $\sigma/\sqrt{n}$ (law of large numbers).
# - The unbiased sample variance divides by $n - 1$; subtract the mean before
#   squaring. `torch.var` is unbiased by default, `np.var` is not.
# - The covariance matrix $X_c^\top X_c / (N - 1)$ of centred data holds the
#   variances and the covariances of all pairs of features; dividing by the
#   standard deviations gives the unit-free correlation matrix. PCA diagonalises
#   it.
# - Bayes' rule: posterior $\propto$ likelihood $\times$ prior, normalised. Rare
#   hypotheses stay unlikely after one piece of evidence.
# - Entropy $H(p)$ measures uncertainty; cross-entropy $H(p, q) = H(p) +
#   D_{\mathrm{KL}}(p \,\|\, q)$; KL is non-negative and not symmetric.
#   $0 \log 0 = 0$, and $q = 0$ where $p > 0$ costs $+\infty$.
# - Compute log-probabilities directly with the max trick; never take the log of
#   a softmax, never exponentiate raw logits.
# - The cross-entropy loss is the negative log-likelihood of the labels.
#   `F.cross_entropy` takes logits, and targets as class indices (int64, $(N,)$) or
#   as class probabilities (float, $(N, C)$).
# - The mean squared error is the negative log-likelihood of Gaussian noise with a
#   fixed variance, up to a factor and a constant: same minimiser.
#
# **Next:** chapter 4 minimises such losses with gradient descent and its
# descendants.
