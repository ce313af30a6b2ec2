# %% [markdown]
# # Chapter 04: Optimization
#
# Training a network means finding parameters $\theta$ that make a loss
# $L(\theta)$ small. There is no formula for them, so we walk downhill: start
# somewhere, compute the gradient, take a small step against it, repeat. Every
# optimizer in `torch.optim` is a variation on that loop, and the variations
# matter: the same model can train in minutes, crawl for hours, or blow up to
# `nan`, depending only on the update rule and its learning rate.
#
# **You will learn**
# - what the learning rate does to gradient descent, and how to compute the
#   largest stable one from the curvature of the loss;
# - why ravines, local minima and saddle points slow gradient descent down;
# - momentum (heavy ball and Nesterov), the adaptive step sizes of AdaGrad and
#   RMSprop, and Adam and AdamW, which combine the two ideas;
# - to write SGD with momentum, Adam and AdamW yourself, matching `torch.optim`
#   to rounding error;
# - how the batch size sets the noise of a stochastic gradient.
#
# **Graded exercises** (13 points)
#
# | exercise | what it computes | checked against | points |
# |---|---|---|---|
# | `gradient_descent` | the path of gradient descent | `torch.optim.SGD` | 2 |
# | `max_stable_lr` | $2/\lambda_{\max}$ by power iteration | `eigvalsh`, a run | 3 |
# | `sgd_momentum_step` | one step of SGD with momentum | `torch.optim.SGD` | 3 |
# | `adam_step` | one step of Adam (L2 weight decay) | `torch.optim.Adam` | 3 |
# | `adamw_step` | one step of AdamW (decoupled decay) | `torch.optim.AdamW` | 2 |
#
# Each exercise is a function whose docstring states its whole contract:
# shapes, dtypes, devices, edge cases and the built-ins you may not call. The
# update rules themselves are derived in the text above each exercise: turning
# the maths into code is your part. Replace `raise NotImplementedError()` with
# your code and run the test cell below it. The visible tests show every rule
# the grader checks; hidden tests repeat them on other values, shapes and seeds.
#
# **Conventions.** The exercises are *functional*: they return new tensors and
# never modify their arguments. (`torch.optim` updates parameters in place;
# returning them instead lets us keep whole paths and test them.) The step
# functions are compared with `torch.optim` one step at a time: before each
# step the test hands your function the parameter and state that `torch.optim`
# holds at that moment, so a formula written in another but exact way, which
# rounds differently, cannot drift away over many steps. Results keep the
# input's dtype and device.

# %%
import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

from dlcourse import get_device, set_seed
from dlcourse.checks import (
    EIGENSOLVERS,
    assert_close,
    assert_optimizer_steps_match,
    assert_shape,
    forbid,
    random_quadratic,
    random_symmetric,
    reference_path,
)
from dlcourse.data import load_tabular, train_test_split
from dlcourse.plotting import plot_contour, plot_curves
from dlcourse.widgets import interactive_plot

device = get_device()  # the tests also run your code on this device
print("device:", device)

# %% [markdown]
# ## 4.1 Gradient descent
#
# Write $g_k = \nabla L(\theta_k)$ for the gradient at the current point.
# Gradient descent with learning rate (step size) $\eta > 0$ updates
#
# $$\theta_{k+1} = \theta_k - \eta\, g_k .$$
#
# Why this goes downhill: a first-order Taylor expansion gives
#
# $$L(\theta_k - \eta g_k) = L(\theta_k) - \eta \lVert g_k \rVert^2 + O(\eta^2),$$
#
# so for a small enough $\eta$ the loss decreases whenever $g_k \neq 0$. The
# negative gradient is the direction of steepest descent. How small is "small
# enough" is the subject of section 4.2.
#
# A word on names: *stochastic* gradient descent (SGD) is the same update with
# $g_k$ computed on a random mini-batch instead of the whole training set. That
# gradient is a noisy but unbiased estimate of the full one, and far cheaper
# (section 4.9 measures how noisy). `torch.optim.SGD` does not know or care
# where the gradient came from: the "stochastic" lives in your data loader.
#
# ### Exercise 1: `gradient_descent` (2 points)
#
# Implement plain gradient descent that returns the **whole path**: a tensor
# whose row $k$ is $\theta_k$, starting with $\theta_0 = $ `x0`. The loss itself
# is never needed, only its gradient, passed in as a function `grad_fn`. The
# loop runs exactly `num_steps` updates: it does not stop early, even where the
# gradient is zero. Do not modify `x0` (no in-place `-=` on it) and do not use
# `torch.optim`.

# %% grade_id="ch04-gradient-descent"
def gradient_descent(grad_fn, x0, lr, num_steps):
    """Run plain gradient descent from ``x0`` and return the whole path.

    S below is the shape of ``x0`` (any shape, ``()`` for one variable).

    Args:
        grad_fn: a function that takes a tensor of shape S and returns the
            gradient of the loss there, a tensor of shape S (same dtype/device).
        x0: the starting point, a floating-point tensor of shape S. It is not
            modified.
        lr: the learning rate eta, a float > 0.
        num_steps: the number of updates, an int >= 0. Exactly that many are
            made, whatever the gradient (a zero gradient does not stop the loop).

    Returns:
        A new tensor of shape (num_steps + 1, *S) with the dtype and device of
        ``x0``: row 0 equals ``x0`` and row k is the point after k gradient
        descent updates. With ``num_steps=0`` the result is just ``x0`` with a
        leading axis of size 1. Do not use torch.optim.
    """
    ### BEGIN SOLUTION
    path = [x0.clone()]
    for _ in range(num_steps):
        path.append(path[-1] - lr * grad_fn(path[-1]))
    return torch.stack(path)
    ### END SOLUTION


# %% [markdown]
# Try it: for $f(x) = 2x^2$ the gradient is $4x$, so each step multiplies $x$
# by $1 - 4\eta$. With $\eta = 0.1$ that is $0.6$ per step.

# %%
path = gradient_descent(lambda x: 4 * x, torch.tensor(3.0), lr=0.1, num_steps=5)
print("path:    ", [round(v, 4) for v in path.tolist()])
print("expected:", [round(3.0 * 0.6**k, 4) for k in range(6)])

# %% grade_id="ch04-gradient-descent-tests" points=2
"""gradient_descent: the closed form for f(x) = 2x^2 in float64; a vector x0 in
float32 on the device (dtype and device kept, x0 not modified); num_steps=0;
exactly num_steps updates whatever the gradient (zero everywhere, or zero once
the minimum is reached); an x0 of shape (2, 3) against torch.optim.SGD; no
torch.optim. Hidden: random quadratics of other shapes (() to (2, 3, 5)),
learning rates and step counts (0, 1, 12, 37), float32 on the device, a zero
gradient on other shapes."""
_optim = ("torch.optim.SGD", "torch.optim.sgd.sgd")  # the loop is yours to write
with forbid(*_optim):
    path = gradient_descent(lambda x: 4 * x, torch.tensor(3.0, dtype=torch.float64),
                            lr=0.1, num_steps=3)
assert_shape(path, (4,), name="gradient_descent(4x, x0=tensor(3.), lr=0.1, "
             "num_steps=3): num_steps + 1 points, x0 first")
assert_close(path, torch.tensor([3.0, 1.8, 1.08, 0.648], dtype=torch.float64),
             rtol=1e-12, atol=1e-12,
             name="path for f(x) = 2x^2 from x0 = 3 (each step multiplies x by 0.6)")
x0 = torch.tensor([1.0, -2.0], device=device)
x0_before = x0.clone()
with forbid(*_optim):
    path = gradient_descent(lambda x: x, x0, lr=0.5, num_steps=2)
assert path.device == x0.device, f"path on {path.device}, expected {x0.device}"
assert_close(path, torch.tensor([[1.0, -2.0], [0.5, -1.0], [0.25, -0.5]],
                                device=device),
             name="path for f(x) = |x|^2 / 2 from x0 = [1, -2] (float32 on device), "
             "lr=0.5")
assert_close(x0, x0_before, rtol=0, atol=0,
             name="x0 after the call (it must not be modified)")
path = gradient_descent(lambda x: x, x0, lr=0.5, num_steps=0)
assert_close(path, x0[None], rtol=0, atol=0,
             name="num_steps=0: x0 with a leading axis of size 1")
path = gradient_descent(lambda x: torch.zeros_like(x), x0, lr=0.1, num_steps=5)
assert_close(path, x0.expand(6, 2), rtol=0, atol=0,
             name="a zero gradient everywhere, num_steps=5: 6 rows, all equal to x0 "
             "(the loop does not stop early)")
path = gradient_descent(lambda x: x, torch.tensor([2.0, -4.0], dtype=torch.float64),
                        lr=1.0, num_steps=4)
assert_close(path, torch.tensor([[2.0, -4.0]] + [[0.0, 0.0]] * 4, dtype=torch.float64),
             rtol=0, atol=0, name="f(x) = |x|^2 / 2 with lr=1: the minimum after one "
             "update, then 3 more updates (zero gradient) that stay there")
grad_fn, start = random_quadratic((2, 3), seed=0)
reference, _ = reference_path(lambda params: torch.optim.SGD(params, lr=0.2),
                              grad_fn, start, num_steps=10)
with forbid(*_optim):
    path = gradient_descent(grad_fn, start, 0.2, 10)
assert_close(path, torch.cat([start[None], reference]), rtol=1e-10, atol=1e-12,
             name="path on a random quadratic, x0 of shape (2, 3), lr=0.2, 10 steps, "
             "vs torch.optim.SGD")
### BEGIN HIDDEN TESTS
def _torch_sgd_path(grad_fn, start, lr, num_steps):
    path, _state = reference_path(lambda params: torch.optim.SGD(params, lr=lr),
                                  grad_fn, start, num_steps)
    return torch.cat([start[None], path])  # row 0 is x0


for _shape, _seed, _lr, _n in [((), 0, 0.3, 37), ((5,), 1, 0.2, 37),
                               ((3, 4), 2, 0.1, 1), ((2, 3, 5), 3, 0.05, 37),
                               ((7,), 4, 0.1, 0), ((1,), 5, 0.4, 12)]:
    _grad_fn, _start = random_quadratic(_shape, _seed)
    _start_before = _start.clone()
    with forbid(*_optim):
        _got = gradient_descent(_grad_fn, _start, _lr, _n)
    _label = f"path, x0 of shape {_shape}, lr={_lr}, num_steps={_n}"
    assert_close(_got, _torch_sgd_path(_grad_fn, _start, _lr, _n),
                 rtol=1e-10, atol=1e-12, name=_label)
    assert_close(_start, _start_before, rtol=0, atol=0,
                 name=f"x0 after the call ({_label}); it must not be modified")
_gen = torch.Generator().manual_seed(0)
for _shape in [(), (4, 3)]:
    _x0 = torch.randn(_shape, generator=_gen, dtype=torch.float64)
    _got = gradient_descent(lambda x: torch.zeros_like(x), _x0, 0.3, 7)
    assert_close(_got, _x0.expand(8, *_shape), rtol=0, atol=0,
                 name=f"zero gradient, x0 of shape {_shape}, num_steps=7: 8 rows "
                 "equal to x0")
for _dev in ["cpu"] + ([str(device)] if device.type != "cpu" else []):
    _grad_fn, _start = random_quadratic((4, 3), 7, dtype=torch.float32, device=_dev)
    with forbid(*_optim):
        _got = gradient_descent(_grad_fn, _start, 0.1, 20)
    assert _got.device == _start.device, \
        f"path: expected device {_start.device}, got {_got.device}"
    assert_close(_got, _torch_sgd_path(_grad_fn, _start, 0.1, 20), rtol=1e-5,
                 atol=1e-6, name=f"float32 path on {_dev}")
### END HIDDEN TESTS

# %% [markdown]
# ## 4.2 Choosing the learning rate
#
# Quadratic losses can be solved exactly, and near a minimum every smooth loss
# looks quadratic, so they tell us what the learning rate does. Take
# $L(x) = \tfrac12 x^\top H x$ with $H$ symmetric positive definite (the
# Hessian, the matrix of second derivatives), eigenvalues
# $0 < \lambda_{\min} \le \dots \le \lambda_{\max}$. Then $\nabla L(x) = Hx$ and
#
# $$x_{k+1} = x_k - \eta H x_k = (I - \eta H)\, x_k .$$
#
# Along the $i$-th eigenvector of $H$ each step multiplies the coordinate by
# $1 - \eta\lambda_i$. Three consequences:
#
# * **Divergence.** The path converges from every start only if
#   $|1 - \eta\lambda_i| < 1$ for every $i$, that is
#   $0 < \eta < 2/\lambda_{\max}$. Above that, the steepest direction
#   overshoots further at every step and the loss explodes. (In a network $H$
#   is the Hessian of the loss; a learning rate above this limit is a classic
#   cause of `loss = nan`.)
# * **Slowness.** The flattest direction shrinks by only $1 - \eta\lambda_{\min}$
#   per step. The best fixed learning rate, $\eta^\ast = 2/(\lambda_{\min} +
#   \lambda_{\max})$, balances the two ends and shrinks the error by
#   $\frac{\kappa - 1}{\kappa + 1}$ per step, where
#   $\kappa = \lambda_{\max}/\lambda_{\min}$ is the **condition number**.
# * **Oscillation.** For $1/\lambda_i < \eta < 2/\lambda_i$ the factor is
#   negative: that coordinate flips sign at every step while it shrinks.
#
# Our running example is the "ravine" $L(x) = \tfrac12(x_1^2 + 25x_2^2)$, so
# $H = \mathrm{diag}(1, 25)$ and $\kappa = 25$: divergence above
# $\eta = 0.08$, best rate $\eta^\ast = 1/13 \approx 0.077$, and even then
# the error shrinks only by a factor $12/13$ per step.

# %%
ravine_scales = torch.tensor([1.0, 25.0], dtype=torch.float64)  # eigenvalues of H
x_start = torch.tensor([-4.0, 1.5], dtype=torch.float64)


def ravine(x):
    """L(x) = (x1^2 + 25 x2^2) / 2 for x of shape (..., 2); returns shape (...)."""
    return 0.5 * (ravine_scales * x**2).sum(dim=-1)


def ravine_grad(x):
    """Gradient of ``ravine``: shape (2,) -> (2,)."""
    return ravine_scales * x


# %%
learning_rates = {"0.005 (too small)": 0.005, "0.04": 0.04,
                  "0.077 (best fixed rate)": 1 / 13, "0.085 (diverges)": 0.085}
curves = {}
for label, lr in learning_rates.items():
    path = gradient_descent(ravine_grad, x_start, lr, num_steps=50)  # (51, 2)
    curves[f"lr = {label}"] = ravine(path)  # (51,) loss at every step
ax = plot_curves(curves, xlabel="step", ylabel="loss", logy=True)
ax.set_title("Gradient descent on the ravine: the learning rate decides everything")
plt.show()

# %% [markdown]
# Notice how thin the margin is: $0.077$ is the fastest rate and $0.085$
# diverges. On real networks too, a good learning rate often sits within a
# small factor of the largest one that does not blow up, which is why learning
# rates are searched on a logarithmic grid ($10^{-4}, 3\cdot 10^{-4},
# 10^{-3}, \dots$) and why a loss that suddenly jumps up usually means "lower
# the learning rate".
#
# ### Exercise 2: `max_stable_lr` (3 points)
#
# The limit $2/\lambda_{\max}$ needs only the *largest* eigenvalue of the
# Hessian, and chapter 01 taught the method that finds it with nothing but
# products $Hv$: **power iteration**. Start from a vector $v_0$ with a
# component along every eigenvector and repeat
# $v_{k+1} = H v_k / \lVert H v_k \rVert$. Writing $v_0 = \sum_i c_i q_i$ in
# the eigenvectors $q_i$ of $H$, $k$ products give $\sum_i c_i \lambda_i^k q_i$:
# the components shrink relative to the dominant one like
# $(\lambda_i/\lambda_{\max})^k$, so $v_k$ turns towards $q_{\max}$. Because
# $H$ is positive definite, its eigenvalue of largest absolute value is
# $\lambda_{\max}$ itself, and the Rayleigh quotient $v_k^\top H v_k$ of the
# unit vector $v_k$ estimates it (its error shrinks like
# $(\lambda_2/\lambda_{\max})^{2k}$, $\lambda_2$ the second largest
# eigenvalue).
#
# Nobody forms the Hessian of a network with millions of parameters, but a
# product $Hv$ (differentiate the gradient along $v$) costs about as much as a
# couple of gradient evaluations, so this is how the largest curvature of a
# real loss is measured. Write `max_stable_lr(H, num_iters)`:
# `num_iters` products, then $2/\lambda_{\max}$. Eigen- and singular-value
# solvers (the group `EIGENSOLVERS` of `dlcourse.checks`: `torch.linalg.eigh`,
# `eigvalsh`, `svd`, `svdvals`, `torch.lobpcg`, their numpy and scipy
# versions...) and matrix norms (`torch.linalg.matrix_norm`, `torch.linalg.norm`,
# `numpy.linalg.norm`, `scipy.linalg.norm`: the spectral norm of $H$ *is*
# $\lambda_{\max}$) are forbidden. For the length of a vector use
# `torch.linalg.vector_norm`, `Tensor.norm` or a sum of squares.

# %% grade_id="ch04-max-stable-lr"
def max_stable_lr(H, num_iters):
    """The largest stable learning rate 2 / lambda_max of gradient descent on the
    quadratic x^T H x / 2, with lambda_max found by power iteration.

    D below is the number of variables (D >= 1).

    Args:
        H: the Hessian, a symmetric positive definite floating-point tensor of
            shape (D, D). It is not modified.
        num_iters: the number of products with H, an int >= 1.

    Returns:
        A 0-d tensor with the dtype and device of ``H``: 2 / lambda_max, where
        lambda_max is the largest eigenvalue of H. Gradient descent on the
        quadratic converges at any learning rate below it and diverges above.

    Start from a fixed vector with a component along every eigenvector, for
    instance ``torch.randn(D, generator=torch.Generator().manual_seed(0),
    dtype=H.dtype)`` moved to H's device. The tests pick num_iters so that
    (lambda_2 / lambda_max) ** num_iters < 1e-12 (lambda_2 the second largest
    eigenvalue) and expect 2 / lambda_max to a relative 1e-8 in float64 (1e-4
    in float32). Do not call an eigen- or singular-value solver
    (dlcourse.checks.EIGENSOLVERS) or a matrix norm (torch.linalg.matrix_norm,
    torch.linalg.norm, numpy.linalg.norm, scipy.linalg.norm).
    """
    ### BEGIN SOLUTION
    gen = torch.Generator().manual_seed(0)
    v = torch.randn(H.shape[0], generator=gen, dtype=H.dtype).to(H.device)
    v = v / v.square().sum().sqrt()
    for _ in range(num_iters):
        w = H @ v
        v = w / w.square().sum().sqrt()  # a unit vector: no overflow
    return 2 / (v @ (H @ v))  # the Rayleigh quotient of a unit vector
    ### END SOLUTION


# %% [markdown]
# Try it: the ravine's limit is $2/25 = 0.08$. Then a 20-dimensional quadratic
# whose eigenvalues are spread between 0.1 and 10: gradient descent at 0.95
# times your limit converges, at 1.05 times it explodes.

# %%
print("ravine:", max_stable_lr(torch.diag(ravine_scales), 50).item(), "(exact 0.08)")
spectrum = torch.logspace(-1, 1, 20, dtype=torch.float64).tolist()  # 0.1 ... 10
H20, _ = random_symmetric(spectrum, seed=0)  # (20, 20) with those eigenvalues
lr_max = max_stable_lr(H20, 200).item()
print(f"20-d quadratic: max_stable_lr = {lr_max:.10f}, 2 / largest eigenvalue = "
      f"{2 / max(spectrum):.10f}")
x0_20 = torch.randn(20, generator=torch.Generator().manual_seed(1),
                    dtype=torch.float64)
curves = {}
for factor in (0.95, 1.05):
    path = gradient_descent(lambda x: H20 @ x, x0_20, factor * lr_max, 150)
    curves[f"lr = {factor} x max_stable_lr"] = 0.5 * ((path @ H20) * path).sum(-1)
ax = plot_curves(curves, xlabel="step", ylabel="loss", logy=True)
ax.set_title("5% below the limit converges, 5% above diverges")
plt.show()

# %% grade_id="ch04-max-stable-lr-tests" points=3
"""max_stable_lr: 2 / lambda_max for the ravine diag(1, 25) in float64 (a 0-d
tensor) and for a 1 x 1 matrix; a rotated matrix (its largest diagonal entry is
not lambda_max); float32 on the device; H not modified; no eigensolver or matrix
norm; gradient descent on x^T H x / 2 at 0.95 times the result converges and at
1.05 times diverges. Hidden: random symmetric positive definite matrices of other
sizes, scales and eigenvalue gaps, against torch.linalg.eigvalsh and a run."""
_banned = (*EIGENSOLVERS, "torch.linalg.matrix_norm", "torch.linalg.norm",
           "numpy.linalg.norm", "scipy.linalg.norm")


def _growth(H, lr, num_steps=200):
    """|x_n| / |x_0| after num_steps of gradient descent on x^T H x / 2."""
    H = H.detach().double().cpu()
    x0 = torch.randn(H.shape[0], generator=torch.Generator().manual_seed(1),
                     dtype=torch.float64)
    x = x0
    for _ in range(num_steps):
        x = x - lr * (H @ x)
    return (x.square().sum() / x0.square().sum()).sqrt().item()


def _check_run(H, lr_max, label):
    below, above = _growth(H, 0.95 * float(lr_max)), _growth(H, 1.05 * float(lr_max))
    assert below < 1, (f"{label}: gradient descent at 0.95 x max_stable_lr "
                       f"({0.95 * float(lr_max):.4g}) should converge, but |x| grew "
                       f"by {below:.3g} in 200 steps: the result is too large")
    assert above > 1e3, (f"{label}: gradient descent at 1.05 x max_stable_lr "
                         f"({1.05 * float(lr_max):.4g}) should diverge, but |x| "
                         f"changed by {above:.3g} in 200 steps: the result is too "
                         "small")


H = torch.diag(torch.tensor([1.0, 25.0], dtype=torch.float64))
with forbid(*_banned):
    lr_max = max_stable_lr(H, 50)
assert_close(lr_max, torch.tensor(0.08, dtype=torch.float64), rtol=1e-8, atol=1e-15,
             name="max_stable_lr(diag(1, 25), 50): 2 / 25, a 0-d float64 tensor")
_check_run(H, lr_max, "diag(1, 25)")
with forbid(*_banned):
    lr_max = max_stable_lr(torch.tensor([[4.0]], dtype=torch.float64), 1)
assert_close(lr_max, torch.tensor(0.5, dtype=torch.float64), rtol=1e-8, atol=1e-15,
             name="max_stable_lr([[4.]], 1): D = 1, 2 / 4")
H, _ = random_symmetric([3.0, 2.5, 1.0, 0.2], seed=0)
with forbid(*_banned):
    lr_max = max_stable_lr(H, 200)  # (2.5 / 3) ** 200 < 1e-15
assert_close(lr_max, torch.tensor(2 / 3, dtype=torch.float64), rtol=1e-8, atol=1e-15,
             name="max_stable_lr of a rotated 4 x 4 matrix with eigenvalues "
             "(3, 2.5, 1, 0.2): 2 / 3")
_check_run(H, lr_max, "rotated 4 x 4 matrix")
H, _ = random_symmetric([10.0, 4.0, 1.0, 0.5, 0.1], seed=1, dtype=torch.float32,
                        device=device)
H_before = H.clone()
with forbid(*_banned):
    lr_max = max_stable_lr(H, 100)
assert lr_max.device == H.device, f"result on {lr_max.device}, expected {H.device}"
assert_close(lr_max, torch.tensor(0.2, device=device), rtol=1e-4, atol=1e-7,
             name="max_stable_lr of a float32 5 x 5 matrix on device, eigenvalues "
             "(10, 4, 1, 0.5, 0.1): 2 / 10")
assert_close(H, H_before, rtol=0, atol=0, name="H after the call (not modified)")
### BEGIN HIDDEN TESTS
_cases = [([50.0, 45.0, 3.0, 0.1], 0, 400), ([1e3, 1.0, 0.5], 1, 50),
          ([2e-3, 1e-3, 1e-4, 1e-5, 1e-6], 2, 100),
          (torch.logspace(1, -2, 30, dtype=torch.float64).tolist(), 3, 300),
          ([7.0], 4, 3), ([1.0, 0.5], 5, 60), ([1.0, 0.8, 0.8, 0.1, 0.1, 0.05], 6, 200)]
for _spectrum, _seed, _iters in _cases:
    _H, _ = random_symmetric(_spectrum, seed=_seed)
    _H_before = _H.clone()
    _label = f"{len(_spectrum)} x {len(_spectrum)} matrix, eigenvalues {_spectrum[:3]}"
    with forbid(*_banned):
        _got = max_stable_lr(_H, _iters)
    assert_close(_got, 2 / torch.linalg.eigvalsh(_H).max(), rtol=1e-8, atol=1e-15,
                 name=f"max_stable_lr({_label}..., {_iters}) vs 2 / eigvalsh max")
    assert_close(_H, _H_before, rtol=0, atol=0, name=f"H after the call ({_label})")
    _check_run(_H, _got, _label)
for _dev in ["cpu"] + ([str(device)] if device.type != "cpu" else []):
    _H, _ = random_symmetric([5.0, 2.0, 1.0, 0.3], seed=7, dtype=torch.float32,
                             device=_dev)
    with forbid(*_banned):
        _got = max_stable_lr(_H, 80)
    assert _got.device == _H.device, f"result on {_got.device}, expected {_H.device}"
    assert_close(_got, torch.tensor(0.4, device=_dev), rtol=1e-4, atol=1e-7,
                 name=f"float32 4 x 4 matrix on {_dev}: 2 / 5")
### END HIDDEN TESTS

# %% [markdown]
# ## 4.3 Why plain gradient descent struggles
#
# ### Ravines (ill-conditioning)
#
# Here is the path itself at $\eta = 0.07$. The steep direction $x_2$ is
# multiplied by $1 - 0.07 \cdot 25 = -0.75$: it bounces from wall to wall. The
# flat direction $x_1$ is multiplied by $0.93$: it crawls along the floor. A
# larger step would help $x_1$ but make $x_2$ diverge. Deep-learning losses are
# full of such directions with curvatures that differ by orders of magnitude.

# %%
path = gradient_descent(ravine_grad, x_start, lr=0.07, num_steps=40)
ax = plot_contour(ravine, xlim=(-4.5, 4.5), ylim=(-2.0, 2.0), levels=20,
                  paths={"gradient descent, lr = 0.07": path})
ax.set_title("40 steps in a ravine: zig-zag across, crawl along")
plt.show()


# %% [markdown]
# ### Local minima
#
# Gradient descent only sees the slope where it stands, so it stops in
# whichever valley it starts in. $f(x) = x^4 - 3x^2 + x$ has a global minimum
# near $x = -1.30$ and a worse local one near $x = 1.13$:

# %%
def quartic(x):
    return x**4 - 3 * x**2 + x


def quartic_grad(x):
    return 4 * x**3 - 6 * x + 1


xs = torch.linspace(-2.2, 2.2, 200, dtype=torch.float64)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(xs, quartic(xs), color="gray")
for start in (-2.0, 0.3, 2.0):
    path = gradient_descent(quartic_grad, torch.tensor(start, dtype=torch.float64),
                            lr=0.02, num_steps=40)  # (41,)
    ax.plot(path, quartic(path), "o-", markersize=3,
            label=f"start {start:+.1f} -> {path[-1].item():+.2f}")
ax.set_xlabel("$x$")
ax.set_ylabel("$f(x)$")
ax.legend()
ax.set_title("Where you end up depends on where you start")
plt.show()

# %% [markdown]
# ### Saddle points and plateaus
#
# A point with zero gradient need not be a minimum. At a **saddle point** the
# loss curves up in some directions and down in others. Take
# $f(x, y) = x^2 + \tfrac14 y^4 - \tfrac12 y^2$: the origin is a saddle
# (Hessian $\mathrm{diag}(2, -1)$) and the minima are at $(0, \pm 1)$. Start
# almost exactly on the ridge, $y_0 = 10^{-4}$: the $x$ part is solved in a
# few steps, then the gradient nearly vanishes and the loss sits still, looking
# converged, while $y$ grows by a factor $1 + \eta$ per step until it finally
# escapes.
#
# In high dimensions a critical point is a minimum only if the curvature is
# positive in *every* one of millions of directions, so at high loss values
# saddle points are far more common than bad local minima (Dauphin et al.,
# 2014). The practical symptom is a **plateau** in the training curve. The
# noise of mini-batch gradients and momentum (next section) help to leave them.

# %%
def saddle(x):
    return x[..., 0] ** 2 + 0.25 * x[..., 1] ** 4 - 0.5 * x[..., 1] ** 2


def saddle_grad(x):
    return torch.stack([2 * x[..., 0], x[..., 1] ** 3 - x[..., 1]], dim=-1)


path = gradient_descent(saddle_grad, torch.tensor([1.5, 1e-4], dtype=torch.float64),
                        lr=0.1, num_steps=150)  # (151, 2)
grad_norms = torch.linalg.vector_norm(saddle_grad(path), dim=-1)  # (151,)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
plot_curves({"loss": saddle(path)}, ax=axes[0], ylabel="loss")
plot_curves({"gradient norm": grad_norms}, ax=axes[1], ylabel="norm", logy=True)
axes[0].set_title("A plateau is not convergence")
axes[1].set_title("the gradient nearly vanishes near the saddle")
plt.show()

# %% [markdown]
# ## 4.4 Momentum
#
# Picture a heavy ball rolling down the ravine instead of a walker who forgets
# the previous step. The ball keeps a **velocity** $v$ that accumulates
# gradients; the parameters follow the velocity. This is the form
# `torch.optim.SGD(params, lr=eta, momentum=mu)` uses, with $v_0 = 0$:
#
# $$v_k = \mu\, v_{k-1} + g_k, \qquad \theta_k = \theta_{k-1} - \eta\, v_k .$$
#
# (PyTorch stores no velocity before the first step and simply sets
# $v_1 = g_1$, which is the same thing.) With $\mu = 0$ the velocity is just
# the gradient, $v_k = g_k$, and this is plain gradient descent. Unrolling the
# recursion, $v_k = g_k + \mu g_{k-1} + \mu^2 g_{k-2} + \dots$: a sum of past
# gradients with geometrically fading weights. Two effects follow.
#
# * **Consistent directions speed up.** If the gradient stays at $g$, the
#   velocity grows to $g/(1-\mu)$: the effective learning rate becomes
#   $\eta/(1-\mu)$, ten times $\eta$ for the usual $\mu = 0.9$.
# * **Oscillations cancel.** Gradients that flip sign at every step mostly
#   cancel inside the sum. On a quadratic, momentum stays stable up to
#   $\eta\lambda_{\max} < 2(1+\mu)$ instead of $2$, so it can afford a much
#   larger effective step along the flat directions without diverging across
#   the steep ones.
#
# **A common mistake.** Many texts write momentum as an exponential moving
# average, $u_k = \mu u_{k-1} + (1-\mu) g_k$ with
# $\theta_k = \theta_{k-1} - \eta' u_k$. That is *not* what `torch.optim.SGD`
# computes. By induction (both start at 0) $u_k = (1-\mu) v_k$, so the two
# forms trace exactly the same path when $\eta = (1-\mu)\eta'$: they differ only
# in what the number called "learning rate" means. The trap is in copying
# hyperparameters: a learning rate tuned for the moving-average form, used in
# `torch.optim.SGD(momentum=0.9)`, gives steps ten times too large.
#
# **Weight decay.** `torch.optim.SGD(..., weight_decay=lam)` adds
# $\lambda\theta$ to the gradient *before* anything else, momentum included:
# $g_k = \nabla L(\theta_{k-1}) + \lambda\theta_{k-1}$, and this $g_k$ is what
# enters $v_k$ (also when $\mu = 0$). It is exactly the gradient of the
# penalised loss $L(\theta) + \tfrac{\lambda}{2}\lVert\theta\rVert^2$ (an
# **L2 penalty**).
#
# ### Exercise 3: `sgd_momentum_step` (3 points)
#
# Implement one step of `torch.optim.SGD` with `momentum`, `weight_decay`,
# `dampening=0` and `nesterov=False`, from the two equations and the weight
# decay rule above. The velocity you return is the one the next call receives
# and must equal the `momentum_buffer` that PyTorch keeps in
# `optimizer.state[param]`. Return new tensors (never one of the arguments
# itself, not even when the velocity equals the gradient), do not modify any
# argument and do not use `torch.optim`.

# %% grade_id="ch04-sgd-momentum"
def sgd_momentum_step(param, grad, velocity, lr, momentum, weight_decay=0.0):
    """One step of SGD with momentum, exactly as ``torch.optim.SGD`` does it
    (dampening=0, nesterov=False; section 4.4 gives the update rule).

    S below is the shape of ``param`` (any shape).

    Args:
        param: the current parameters theta, a floating-point tensor of shape S.
        grad: the gradient of the loss at ``param``, shape S, same dtype and
            device.
        velocity: ``None`` on the first step (no history yet; a tensor of zeros
            means the same), afterwards the ``new_velocity`` returned by the
            previous call, shape S.
        lr: the learning rate eta, a float > 0.
        momentum: the momentum factor mu, a float in [0, 1); 0 gives plain SGD.
        weight_decay: the L2 penalty factor lambda, a float >= 0, added to the
            gradient before the velocity is updated.

    Returns:
        ``(new_param, new_velocity)``: two new tensors (neither is an argument
        nor shares its memory) of shape S with the dtype and device of
        ``param``. ``new_velocity`` is v_k of section 4.4, which equals
        ``torch.optim.SGD``'s ``state[param]["momentum_buffer"]``; with
        momentum=0 it is the gradient with its weight-decay term. No argument
        is modified. Do not use torch.optim.
    """
    ### BEGIN SOLUTION
    g = grad + weight_decay * param
    new_velocity = g if velocity is None else momentum * velocity + g
    return param - lr * new_velocity, new_velocity
    ### END SOLUTION


# %% [markdown]
# Try it: in the ravine, plain gradient descent at $\eta = 0.07$ (close to its
# limit of 0.08) against momentum 0.7 at $\eta = 0.03$, whose effective step
# along the floor, $\eta/(1-\mu) = 0.1$, is more than plain gradient descent
# could survive. Then a check that the moving-average form with learning rate
# $\eta'$ is torch's form with $\eta = (1-\mu)\eta'$.

# %%
def momentum_path(lr, momentum, num_steps=40):
    """Path of sgd_momentum_step on the ravine: (num_steps + 1, 2)."""
    x, velocity, path = x_start, None, [x_start]
    for _ in range(num_steps):
        x, velocity = sgd_momentum_step(x, ravine_grad(x), velocity, lr, momentum)
        path.append(x)
    return torch.stack(path)


paths = {"gradient descent, lr = 0.07": gradient_descent(ravine_grad, x_start,
                                                         0.07, 40),
         "momentum 0.7, lr = 0.03": momentum_path(0.03, 0.7)}
ax = plot_contour(ravine, xlim=(-4.5, 4.5), ylim=(-2.0, 2.0), levels=20, paths=paths)
ax.set_title("40 steps: momentum swings slower and gets there sooner")
plt.show()
for label, path in paths.items():
    print(f"{label}: loss after 40 steps {ravine(path[-1]).item():.2e}")

# The moving-average form (lr_ema = 0.1) against torch's form, lr = (1 - mu) * 0.1.
mu, lr_ema = 0.9, 0.1
x_ema, u = x_start, torch.zeros_like(x_start)
for _ in range(40):
    u = mu * u + (1 - mu) * ravine_grad(x_ema)
    x_ema = x_ema - lr_ema * u
gap = (x_ema - momentum_path((1 - mu) * lr_ema, mu)[-1]).abs().max().item()
print(f"moving-average form vs torch form with lr scaled by (1 - mu): "
      f"max difference {gap:.1e}")

# %% grade_id="ch04-sgd-momentum-tests" points=3
"""sgd_momentum_step: two steps by hand in float64 (velocity None, then a tensor;
no (1 - momentum) factor); weight decay added to the gradient before the velocity;
momentum=0 with weight decay (the velocity is grad + weight_decay * param, and the
step uses it); new tensors (the first velocity is not the caller's grad); no
argument modified; then 20 steps checked one at a time against torch.optim.SGD
(float64, and float32 on the device with zeros as the first velocity); no
torch.optim. Hidden: the same on other shapes, learning rates, momenta (0 to
0.99) and weight decays."""
_optim = ("torch.optim.SGD", "torch.optim.sgd.sgd")
p = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
g = torch.tensor([0.5, 1.0, -1.0], dtype=torch.float64)
with forbid(*_optim):
    p1, v1 = sgd_momentum_step(p, g, None, lr=0.1, momentum=0.9)
assert_close(v1, g, rtol=1e-12, atol=1e-12,
             name="velocity after the first step (velocity=None): torch sets it to "
             "the gradient itself, with no (1 - momentum) factor")
assert v1.untyped_storage().data_ptr() != g.untyped_storage().data_ptr(), \
    ("the velocity returned by the first step is the caller's grad tensor itself "
     "(or a view of it): return a new tensor, e.g. grad.clone()")
assert_close(p1, torch.tensor([0.95, -2.1, 3.1], dtype=torch.float64), rtol=1e-12,
             atol=1e-12, name="param after the first step (param - lr * grad)")
p2, v2 = sgd_momentum_step(p1, g, v1, lr=0.1, momentum=0.9)
assert_close(v2, torch.tensor([0.95, 1.9, -1.9], dtype=torch.float64), rtol=1e-12,
             atol=1e-12, name="velocity after the second step (momentum * velocity "
             "+ grad)")
assert_close(p2, torch.tensor([0.855, -2.29, 3.29], dtype=torch.float64),
             rtol=1e-12, atol=1e-12,
             name="param after the second step (param - lr * new velocity)")
args = (p, g, v1)
saved = [a.clone() for a in args]
p_wd, v_wd = sgd_momentum_step(p, g, v1, lr=0.1, momentum=0.9, weight_decay=0.5)
assert_close(v_wd, torch.tensor([1.45, 0.9, -0.4], dtype=torch.float64), rtol=1e-12,
             atol=1e-12, name="velocity with weight_decay=0.5 (momentum * velocity "
             "+ grad + weight_decay * param)")
assert_close(p_wd, torch.tensor([0.855, -2.09, 3.04], dtype=torch.float64),
             rtol=1e-12, atol=1e-12, name="param with weight_decay=0.5")
for velocity in (None, v1):
    p_0, v_0 = sgd_momentum_step(p, g, velocity, lr=0.1, momentum=0.0,
                                 weight_decay=0.5)
    given = "None" if velocity is None else "a tensor"
    assert_close(v_0, torch.tensor([1.0, 0.0, 0.5], dtype=torch.float64),
                 rtol=1e-12, atol=1e-12, name=f"velocity with momentum=0, "
                 f"weight_decay=0.5, velocity {given}: grad + weight_decay * param")
    assert_close(p_0, torch.tensor([0.9, -2.0, 2.95], dtype=torch.float64),
                 rtol=1e-12, atol=1e-12, name=f"param with momentum=0, "
                 f"weight_decay=0.5, velocity {given}: plain SGD on the penalised loss")
for arg, before, arg_name in zip(args, saved, ("param", "grad", "velocity"),
                                 strict=True):
    assert_close(arg, before, rtol=0, atol=0,
                 name=f"{arg_name} after the calls (it must not be modified)")
grad_fn, start = random_quadratic((3, 4), seed=0)  # float64 on the CPU
assert_optimizer_steps_match(
    lambda param, grad, state, t: sgd_momentum_step(param, grad, state[0], 0.1, 0.9,
                                                    0.01),
    lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=0.01),
    grad_fn, start, 20, state_keys={"velocity": "momentum_buffer"},
    first_state=lambda param: (None,), forbidden=_optim, rtol=1e-8, atol=1e-10,
    name="sgd_momentum_step(lr=0.1, momentum=0.9, weight_decay=0.01), float64 (3, 4)")
grad_fn, start = random_quadratic((5,), seed=1, dtype=torch.float32, device=device)
assert_optimizer_steps_match(
    lambda param, grad, state, t: sgd_momentum_step(param, grad, state[0], 0.05, 0.5,
                                                    0.1),
    lambda params: torch.optim.SGD(params, lr=0.05, momentum=0.5, weight_decay=0.1),
    grad_fn, start, 20, state_keys={"velocity": "momentum_buffer"},
    first_state=lambda param: (torch.zeros_like(param),), forbidden=_optim,
    rtol=1e-4, atol=1e-5, name="sgd_momentum_step(lr=0.05, momentum=0.5, "
    "weight_decay=0.1), float32 on device, zeros as the first velocity")
### BEGIN HIDDEN TESTS
for _seed, _shape in enumerate([(5,), (3, 4), (1,), (2, 3, 5)]):
    for _lr, _mu, _wd in [(0.1, 0.9, 0.0), (0.05, 0.5, 0.1), (0.02, 0.99, 0.3),
                          (0.1, 0.9, 0.01), (0.2, 0.0, 0.0), (0.1, 0.0, 0.3)]:
        _grad_fn, _start = random_quadratic(_shape, _seed)
        _label = (f"sgd_momentum_step(lr={_lr}, momentum={_mu}, weight_decay={_wd}), "
                  f"float64 {_shape}")
        _hp = dict(lr=_lr, momentum=_mu, weight_decay=_wd)
        if _mu > 0:
            assert_optimizer_steps_match(
                lambda param, grad, state, t, hp=_hp: sgd_momentum_step(
                    param, grad, state[0], **hp),
                lambda params, hp=_hp: torch.optim.SGD(params, **hp),
                _grad_fn, _start, 30, state_keys={"velocity": "momentum_buffer"},
                first_state=lambda param: (None,), forbidden=_optim, rtol=1e-8,
                atol=1e-10, name=_label)
        else:  # torch keeps no buffer: check new_param here, the velocity below
            assert_optimizer_steps_match(
                lambda param, grad, state, t, hp=_hp: sgd_momentum_step(
                    param, grad, None, **hp)[:1],
                lambda params, hp=_hp: torch.optim.SGD(params, **hp),
                _grad_fn, _start, 30, forbidden=_optim, rtol=1e-8, atol=1e-10,
                name=_label)
_gen = torch.Generator().manual_seed(11)
for _wd in (0.0, 0.3):
    _p, _g, _v = (torch.randn(3, 7, generator=_gen, dtype=torch.float64)
                  for _ in range(3))
    for _velocity in (None, _v):
        _new_p, _new_v = sgd_momentum_step(_p, _g, _velocity, 0.1, 0.0, _wd)
        assert_close(_new_v, _g + _wd * _p, rtol=1e-12, atol=1e-12,
                     name=f"velocity with momentum=0, weight_decay={_wd} on random "
                     "(3, 7) inputs: grad + weight_decay * param")
        assert _new_v.untyped_storage().data_ptr() != _g.untyped_storage().data_ptr(), \
            f"momentum=0, weight_decay={_wd}: the velocity returned is grad itself"
for _dev in ["cpu"] + ([str(device)] if device.type != "cpu" else []):
    _grad_fn, _start = random_quadratic((6, 5), 10, dtype=torch.float32, device=_dev)
    assert_optimizer_steps_match(
        lambda param, grad, state, t: sgd_momentum_step(param, grad, state[0], 0.05,
                                                        0.9, 0.01),
        lambda params: torch.optim.SGD(params, lr=0.05, momentum=0.9,
                                       weight_decay=0.01),
        _grad_fn, _start, 20, state_keys={"velocity": "momentum_buffer"},
        first_state=lambda param: (None,), forbidden=_optim, rtol=1e-4, atol=1e-5,
        name=f"sgd_momentum_step, float32 (6, 5) on {_dev}")
### END HIDDEN TESTS

# %% [markdown]
# ### Using `torch.optim`, and a widget to play with
#
# From here on we also use PyTorch's own optimizers. Every training loop has
# the same three lines: clear the old gradients, backpropagate, step.
# `optimize_2d` below runs that loop on a function of two variables and records
# the path; the widget uses it with `torch.optim.SGD`, so it works even before
# you solve the exercises. Move the sliders: find the learning rate where plain
# gradient descent (momentum 0) diverges, then see how far you can push
# momentum before it starts to circle. The box switches to Nesterov momentum,
# the next topic.

# %%
def optimize_2d(f, make_optimizer, x0, num_steps):
    """Minimise f (shape (2,) -> scalar) from x0 with a torch.optim optimizer.

    ``make_optimizer`` maps a list of parameters to an optimizer.
    Returns the path, a tensor of shape (num_steps + 1, 2).
    """
    x = x0.clone().requires_grad_()
    optimizer = make_optimizer([x])
    path = [x0.clone()]
    for _ in range(num_steps):
        optimizer.zero_grad()
        f(x).backward()
        optimizer.step()
        path.append(x.detach().clone())
    return torch.stack(path)


def show_sgd(lr=0.03, momentum=0.5, nesterov=False):
    """Draw the SGD path on the ravine for one learning rate and momentum."""
    nesterov = nesterov and momentum > 0  # torch needs a momentum for Nesterov
    path = optimize_2d(ravine, lambda params: torch.optim.SGD(
        params, lr=lr, momentum=momentum, nesterov=nesterov), x_start, num_steps=60)
    fig, ax = plt.subplots(figsize=(5, 4))
    label = f"lr = {lr:.3g}, momentum = {momentum:.2f}" + (", Nesterov" * nesterov)
    plot_contour(ravine, xlim=(-4.5, 4.5), ylim=(-2.0, 2.0), levels=20, ax=ax,
                 paths={label: path})
    ax.set_xlim(-4.5, 4.5)  # a diverging path would otherwise stretch the axes
    ax.set_ylim(-2.0, 2.0)
    ax.set_title(f"loss after 60 steps: {ravine(path[-1]).item():.3g}")


interactive_plot(
    show_sgd,
    lr=widgets.FloatLogSlider(value=0.03, base=10, min=-3, max=-0.5, step=0.05,
                              description="lr"),
    momentum=widgets.FloatSlider(value=0.5, min=0.0, max=0.99, step=0.01,
                                 description="momentum"),
    nesterov=widgets.Checkbox(value=False, description="Nesterov"))

# %% [markdown]
# ### Nesterov momentum
#
# The heavy ball computes the gradient where it stands, then lets the velocity
# carry it on, even when that velocity is about to take it up the opposite
# wall. **Nesterov's accelerated gradient** (Nesterov, 1983; brought to deep
# learning by Sutskever et al., 2013) looks ahead: it evaluates the gradient at
# the point the velocity is about to reach and corrects the course *before*
# overshooting. `torch.optim.SGD(..., nesterov=True)` writes it with the
# gradient at the current parameters only (a change of variables makes its
# $\theta$ the look-ahead point itself):
#
# $$v_k = \mu\, v_{k-1} + g_k, \qquad
# \theta_k = \theta_{k-1} - \eta\,(g_k + \mu\, v_k).$$
#
# The velocity is the same; the step uses the fresh gradient once more, plus
# the velocity scaled by $\mu$. Below, both on the ravine with $\eta = 0.03$,
# $\mu = 0.9$: the heavy ball swings across the ravine several times, Nesterov
# damps the swings sooner. It is not free: in the widget, the heavy ball with
# $\mu = 0.9$ still converges at $\eta = 0.06$, Nesterov diverges there.

# %%
nesterov_paths = {
    "heavy ball": optimize_2d(ravine, lambda ps: torch.optim.SGD(
        ps, lr=0.03, momentum=0.9), x_start, num_steps=60),
    "Nesterov": optimize_2d(ravine, lambda ps: torch.optim.SGD(
        ps, lr=0.03, momentum=0.9, nesterov=True), x_start, num_steps=60),
}
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
plot_contour(ravine, xlim=(-4.5, 4.5), ylim=(-2.0, 2.0), levels=20, ax=axes[0],
             paths=nesterov_paths)
axes[0].set_title("lr = 0.03, momentum = 0.9, 60 steps")
plot_curves({name: ravine(path) for name, path in nesterov_paths.items()},
            ax=axes[1], ylabel="loss", logy=True)
axes[1].set_title("loss per step")
plt.show()
for name, path in nesterov_paths.items():
    print(f"{name:>10}: loss after 60 steps {ravine(path[-1]).item():.2e}")
for nesterov in (False, True):
    path = optimize_2d(ravine, lambda ps, nesterov=nesterov: torch.optim.SGD(
        ps, lr=0.06, momentum=0.9, nesterov=nesterov), x_start, num_steps=100)
    print(f"lr = 0.06, momentum = 0.9, nesterov={nesterov}: loss after 100 steps "
          f"{ravine(path[-1]).item():.2e}")

# %% [markdown]
# ## 4.5 A step size per coordinate: AdaGrad and RMSprop
#
# Momentum fixes the *direction* problem, but one learning rate still has to
# suit every parameter, and in a network the gradient scales of different
# weights differ by orders of magnitude. The adaptive methods give every
# coordinate its own step size, computed from the history of its own
# gradients (all operations below are elementwise).
#
# **AdaGrad** (Duchi et al., 2011) divides each coordinate's gradient by the
# root of the sum of all its squared gradients so far:
#
# $$s_t = s_{t-1} + g_t^2, \qquad
# \theta_t = \theta_{t-1} - \eta\,\frac{g_t}{\sqrt{s_t} + \varepsilon}.$$
#
# A coordinate with large gradients takes small steps and one with small or
# rare gradients takes large ones; the very first step is $\eta$ times the
# sign of the gradient in every coordinate. Its weakness is that $s_t$ only
# grows, so the steps shrink like $1/\sqrt{t}$ even far from the minimum.
#
# **RMSprop** (Tieleman and Hinton, 2012) replaces the sum by an exponential
# moving average, so old gradients are forgotten and the steps stop shrinking:
#
# $$s_t = \alpha\, s_{t-1} + (1-\alpha)\, g_t^2, \qquad
# \theta_t = \theta_{t-1} - \eta\,\frac{g_t}{\sqrt{s_t} + \varepsilon},$$
#
# with $\alpha = 0.99$ in `torch.optim.RMSprop`. Each coordinate is divided by
# a running root mean square of its gradient, hence the name.
#
# Both rescale the *coordinates*, so they help exactly when the steep and flat
# directions are the coordinate axes. Below, the same ravine twice: as before,
# and rotated by 45 degrees, with the same eigenvalues 1 and 25. Plain gradient
# descent does not care about the rotation; the adaptive methods do.

# %%
cos45 = torch.tensor(0.5, dtype=torch.float64).sqrt()
rotation = torch.stack([torch.stack([cos45, -cos45]), torch.stack([cos45, cos45])])
H_rotated = rotation @ torch.diag(ravine_scales) @ rotation.T  # eigenvalues 1, 25


def rotated_ravine(x):
    """The ravine turned by 45 degrees: x^T H_rotated x / 2, shape (..., 2) -> (...)."""
    return 0.5 * ((x @ H_rotated) * x).sum(dim=-1)


adaptive = {"SGD lr=0.07": lambda ps: torch.optim.SGD(ps, lr=0.07),
            "AdaGrad lr=1": lambda ps: torch.optim.Adagrad(ps, lr=1.0),
            "RMSprop lr=0.1": lambda ps: torch.optim.RMSprop(ps, lr=0.1)}
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for ax, (title, f) in zip(axes, {"axis-aligned ravine": ravine,
                                 "rotated ravine": rotated_ravine}.items(),
                          strict=True):
    paths = {name: optimize_2d(f, make, x_start, num_steps=60)
             for name, make in adaptive.items()}
    plot_contour(f, xlim=(-4.5, 4.5), ylim=(-3.0, 3.0), levels=20, ax=ax,
                 paths=paths)
    ax.set_title(f"{title}, 60 steps")
    for name, path in paths.items():
        print(f"{title:>19}, {name:>14}: loss after 60 steps "
              f"{f(path[-1]).item():.1e}")
plt.show()

# %% [markdown]
# On the aligned ravine both adaptive methods beat gradient descent by orders
# of magnitude: after the first steps every coordinate moves at a similar
# pace. (Their two paths lie almost on top of each other: with these learning
# rates, both first steps are 1 along each axis.) On the rotated one the
# coordinates mix the steep and the flat direction, the per-coordinate scaling
# has nothing to fix, and the adaptive methods end up behind. A network lies
# somewhere between the two: its curvature is not aligned with the weights,
# but whole layers often differ in gradient scale, and that part of the
# problem is exactly what a per-coordinate step size fixes.
#
# ## 4.6 Adam
#
# **Adam** (Kingma and Ba, 2015) is RMSprop with momentum: a moving average of
# the gradients, $m_t$, gives the direction, and a moving average of the
# squared gradients, $v_t$, scales each coordinate. For step $t = 1, 2, \dots$
# with $m_0 = v_0 = 0$ (all operations elementwise):
#
# $$
# \begin{aligned}
# m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t
#   && \text{first moment: a moving average of gradients}\\
# v_t &= \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2
#   && \text{second moment: a moving average of squared gradients}\\
# \hat m_t &= \frac{m_t}{1-\beta_1^t}, \quad
# \hat v_t = \frac{v_t}{1-\beta_2^t}
#   && \text{bias correction}\\
# \theta_t &= \theta_{t-1} - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \varepsilon}
# \end{aligned}
# $$
#
# with defaults $\eta = 10^{-3}$, $(\beta_1, \beta_2) = (0.9, 0.999)$,
# $\varepsilon = 10^{-8}$.
#
# **Why bias correction.** Unrolling, $m_t = (1-\beta_1)\sum_{s=1}^{t}
# \beta_1^{t-s} g_s$, and the weights sum to $1 - \beta_1^t$, not 1. If the
# gradients have a steady mean $\bar g$, then $\mathbb E[m_t] =
# (1-\beta_1^t)\,\bar g$: the average starts biased towards its initial value
# 0. Dividing by $1-\beta_1^t$ removes exactly that factor (same for $v_t$).
# It matters most for $v$: with $\beta_2 = 0.999$ the raw $v_t$ needs thousands
# of steps to warm up, and without correction the first step would be
# $\eta(1-\beta_1)/\sqrt{1-\beta_2} \approx 3.2\,\eta$ instead of $\eta$. Note that
# $t$ counts from **1**: at $t = 0$ the correction would divide by zero.
#
# **Step size.** $\hat m_t / \sqrt{\hat v_t}$ is a ratio of a mean to a root
# mean square, so each coordinate moves by roughly $\eta$ per step, whatever
# the scale of its gradient: multiply the loss by 1000 and Adam's path barely
# changes (SGD's would explode). $\varepsilon$ only guards against division by
# zero. Where it goes matters: PyTorch adds it *outside* the square root.
#
# **Weight decay in `torch.optim.Adam`** is the L2 penalty again:
# $g_t = \nabla L(\theta_{t-1}) + \lambda\theta_{t-1}$ before anything else,
# so this $g_t$ is what enters both moments. Section 4.7 shows why that is a
# poor idea for Adam.

# %%
# The raw moving averages of a constant gradient g = 1, before correction.
steps = torch.arange(1, 3001, dtype=torch.float64)  # t = 1 ... 3000
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.semilogx(steps, 1 - 0.9**steps, label=r"raw $m_t$ ($\beta_1 = 0.9$)")
ax.semilogx(steps, 1 - 0.999**steps, label=r"raw $v_t$ ($\beta_2 = 0.999$)")
ax.semilogx(steps, torch.ones_like(steps), "--", label="after bias correction (both)")
ax.set_xlabel("step $t$")
ax.set_ylabel("estimate of $g = 1$")
ax.grid(alpha=0.3)
ax.legend()
ax.set_title("Moving averages started at 0 are biased low: the correction fixes it")
plt.show()

# %% [markdown]
# ### Exercise 4: `adam_step` (3 points)
#
# Implement one step of `torch.optim.Adam` (with `amsgrad=False`) from the
# equations above, including its L2 `weight_decay`. The caller keeps the
# state: `m` and `v` start as zeros and the step number `t` starts at 1; the
# `m` and `v` you return are $m_t$ and $v_t$ (not the bias-corrected ones),
# which the next call receives. Return new tensors; do not modify any argument
# and do not use `torch.optim`.

# %% grade_id="ch04-adam"
def adam_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
              weight_decay=0.0):
    """One step of Adam, exactly as ``torch.optim.Adam`` (amsgrad=False) does it,
    with weight_decay as an L2 penalty (section 4.6 gives the update rule).

    S below is the shape of ``param`` (any shape).

    Args:
        param: the current parameters theta, a floating-point tensor of shape S.
        grad: the gradient of the loss at ``param``, shape S, same dtype and
            device.
        m: the first moment m_{t-1}, shape S: zeros (``torch.zeros_like(param)``)
            before the first step, afterwards the ``new_m`` returned by the
            previous call.
        v: the second moment v_{t-1}, shape S: zeros before the first step,
            afterwards the ``new_v`` returned by the previous call.
        t: the number of this step, an int counting from 1 (t = 1 on the first
            call; the caller adds 1 after every call).
        lr: the learning rate eta, a float > 0.
        betas: ``(beta1, beta2)``, floats in [0, 1).
        eps: epsilon, a float > 0, added outside the square root.
        weight_decay: the L2 penalty factor lambda, a float >= 0, added to the
            gradient before anything else.

    Returns:
        ``(new_param, new_m, new_v)``: three new tensors of shape S with the
        dtype and device of ``param``: theta_t, m_t and v_t (not bias-corrected),
        equal to ``torch.optim.Adam``'s parameter, ``state[param]["exp_avg"]``
        and ``state[param]["exp_avg_sq"]``. No argument is modified. Do not use
        torch.optim.
    """
    ### BEGIN SOLUTION
    beta1, beta2 = betas
    g = grad + weight_decay * param
    new_m = beta1 * m + (1 - beta1) * g
    new_v = beta2 * v + (1 - beta2) * g * g
    m_hat = new_m / (1 - beta1**t)
    v_hat = new_v / (1 - beta2**t)
    return param - lr * m_hat / (v_hat.sqrt() + eps), new_m, new_v
    ### END SOLUTION


# %% [markdown]
# Try it: Adam's first step moves every coordinate by about $\eta$, whatever
# the size of its gradient (the zero gradient gives a zero step thanks to
# $\varepsilon$).

# %%
param = torch.ones(4, dtype=torch.float64)
zeros = torch.zeros_like(param)
for scale in (1e-3, 1.0, 1e3):
    grad = scale * torch.tensor([1.0, -2.0, 0.5, 0.0], dtype=torch.float64)
    new_param, _, _ = adam_step(param, grad, zeros, zeros, t=1, lr=0.1)
    step = [round(d, 6) for d in (new_param - param).tolist()]
    print(f"gradient scale {scale:>6g}: step = {step}")

# %% grade_id="ch04-adam-tests" points=3
"""adam_step: the first step by hand in float64 (bias correction with t = 1, eps
outside the square root, m and v not bias-corrected); no argument modified; then
20 steps checked one at a time against torch.optim.Adam (float64 with its own
lr, betas, eps and an L2 weight decay; float64 with the defaults; float32 on the
device); new tensors; no torch.optim. Hidden: the same on other shapes, learning
rates, betas, eps and weight decays."""
_optim = ("torch.optim.Adam", "torch.optim.AdamW", "torch.optim.adam.adam",
          "torch.optim.adamw.adamw")
p = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
g = torch.tensor([0.5, -4.0, 0.0], dtype=torch.float64)
m0, v0 = torch.zeros_like(p), torch.zeros_like(p)
args = (p, g, m0, v0)
saved = [a.clone() for a in args]
with forbid(*_optim):
    p1, m1, v1 = adam_step(p, g, m0, v0, 1, lr=0.1)
assert_close(m1, torch.tensor([0.05, -0.4, 0.0], dtype=torch.float64), rtol=1e-12,
             atol=1e-15, name="m after the first step ((1 - beta1) * grad)")
assert_close(v1, torch.tensor([0.00025, 0.016, 0.0], dtype=torch.float64),
             rtol=1e-12, atol=1e-15,
             name="v after the first step ((1 - beta2) * grad**2)")
assert_close(p1, torch.tensor([0.9, -1.9, 3.0], dtype=torch.float64), rtol=1e-7,
             atol=1e-9, name="param after the first step: with bias correction "
             "(t = 1) every coordinate moves by lr * sign(grad) (up to eps), a zero "
             "gradient does not move")
for arg, before, arg_name in zip(args, saved, ("param", "grad", "m", "v"),
                                 strict=True):
    assert_close(arg, before, rtol=0, atol=0,
                 name=f"{arg_name} after the call (it must not be modified)")
grad_fn, start = random_quadratic((3, 4), seed=0)  # float64 on the CPU
assert_optimizer_steps_match(
    lambda param, grad, state, t: adam_step(param, grad, *state, t, lr=0.1,
                                            betas=(0.8, 0.9), eps=0.1,
                                            weight_decay=0.1),
    lambda params: torch.optim.Adam(params, lr=0.1, betas=(0.8, 0.9), eps=0.1,
                                    weight_decay=0.1),
    grad_fn, start, 20, state_keys={"m": "exp_avg", "v": "exp_avg_sq"},
    forbidden=_optim, rtol=1e-8, atol=1e-10,
    name="adam_step(lr=0.1, betas=(0.8, 0.9), eps=0.1, weight_decay=0.1), float64")
grad_fn, start = random_quadratic((5,), seed=1)
assert_optimizer_steps_match(
    lambda param, grad, state, t: adam_step(param, grad, *state, t),
    lambda params: torch.optim.Adam(params), grad_fn, start, 20,
    state_keys={"m": "exp_avg", "v": "exp_avg_sq"}, forbidden=_optim, rtol=1e-8,
    atol=1e-10, name="adam_step with its defaults, float64")
grad_fn, start = random_quadratic((4, 2), seed=2, dtype=torch.float32, device=device)
assert_optimizer_steps_match(
    lambda param, grad, state, t: adam_step(param, grad, *state, t, lr=0.05,
                                            weight_decay=0.1),
    lambda params: torch.optim.Adam(params, lr=0.05, weight_decay=0.1), grad_fn,
    start, 20, state_keys={"m": "exp_avg", "v": "exp_avg_sq"}, forbidden=_optim,
    rtol=1e-4, atol=1e-5, name="adam_step(lr=0.05, weight_decay=0.1), float32 on "
    "device")
### BEGIN HIDDEN TESTS
for _seed, _shape in enumerate([(5,), (3, 4), (1,), (2, 3, 5)]):
    for _lr, _betas, _eps, _wd in [(0.1, (0.9, 0.999), 1e-8, 0.0),
                                   (0.05, (0.5, 0.9), 0.1, 0.3),
                                   (0.01, (0.0, 0.99), 1e-6, 0.0),
                                   (0.2, (0.95, 0.9999), 1e-3, 0.01)]:
        _grad_fn, _start = random_quadratic(_shape, _seed)
        _hp = dict(lr=_lr, betas=_betas, eps=_eps, weight_decay=_wd)
        assert_optimizer_steps_match(
            lambda param, grad, state, t, hp=_hp: adam_step(
                param, grad, *state, t, **hp),
            lambda params, hp=_hp: torch.optim.Adam(params, **hp),
            _grad_fn, _start, 30, state_keys={"m": "exp_avg", "v": "exp_avg_sq"},
            forbidden=_optim, rtol=1e-8, atol=1e-10,
            name=f"adam_step(lr={_lr}, betas={_betas}, eps={_eps}, "
            f"weight_decay={_wd}), float64 {_shape}")
for _dev in ["cpu"] + ([str(device)] if device.type != "cpu" else []):
    _grad_fn, _start = random_quadratic((6, 5), 10, dtype=torch.float32, device=_dev)
    assert_optimizer_steps_match(
        lambda param, grad, state, t: adam_step(param, grad, *state, t, lr=0.05,
                                                weight_decay=0.01),
        lambda params: torch.optim.Adam(params, lr=0.05, weight_decay=0.01),
        _grad_fn, _start, 20, state_keys={"m": "exp_avg", "v": "exp_avg_sq"},
        forbidden=_optim, rtol=1e-4, atol=1e-5,
        name=f"adam_step(lr=0.05, weight_decay=0.01), float32 (6, 5) on {_dev}")
### END HIDDEN TESTS

# %% [markdown]
# ## 4.7 AdamW: decoupled weight decay
#
# **Weight decay** shrinks every weight towards zero a little at each step,
# a simple way to fight overfitting. For plain SGD it makes no difference how
# you write it:
#
# $$\theta - \eta(g + \lambda\theta) = (1 - \eta\lambda)\,\theta - \eta g,$$
#
# so "add $\lambda\theta$ to the gradient" (an L2 penalty) and "multiply the
# weights by $1 - \eta\lambda$" (decay) are the same update. **For Adam they
# are not.** An L2 term added to the gradient goes through the division by
# $\sqrt{\hat v_t}$, like everything else in the gradient. A weight whose loss
# gradients are large has a large $\hat v_t$, so its decay is divided by a
# large number and almost vanishes; a weight with tiny gradients is decayed
# hard. The regularisation ends up depending on gradient statistics that have
# nothing to do with it.
#
# **AdamW** (Loshchilov and Hutter, 2019) *decouples* the decay from the
# gradient: shrink the weights first, then take an ordinary Adam step with the
# raw loss gradient,
#
# $$\theta' = (1 - \eta\lambda)\,\theta_{t-1}, \qquad
# \theta_t = \theta' - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \varepsilon},$$
#
# where $m_t$, $v_t$ are built from $g_t = \nabla L(\theta_{t-1})$ alone. Every
# weight now shrinks by the same factor $1 - \eta\lambda$ per step. Note that
# PyTorch multiplies the decay by the learning rate, as written here (the paper
# scales it only by the learning-rate *schedule*), so changing $\eta$ changes
# the decay too; its default is $\lambda = 0.01$. AdamW is the standard
# optimizer for transformers.
#
# ### Exercise 5: `adamw_step` (2 points)
#
# Implement one step of `torch.optim.AdamW` (with `amsgrad=False`) from the
# two equations above. You may call your `adam_step`. Return new tensors; do
# not modify any argument and do not use `torch.optim`.

# %% grade_id="ch04-adamw"
def adamw_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
               weight_decay=1e-2):
    """One step of AdamW, exactly as ``torch.optim.AdamW`` (amsgrad=False) does it
    (section 4.7 gives the update rule).

    S below is the shape of ``param`` (any shape).

    Args:
        param, grad, m, v, t, lr, betas, eps: as in ``adam_step`` (shape S;
            m and v zeros before the first step; t counts from 1).
        weight_decay: the decoupled decay factor lambda, a float >= 0 (PyTorch's
            default is 0.01). The weights are multiplied by 1 - lr * lambda;
            lambda never enters m or v.

    Returns:
        ``(new_param, new_m, new_v)``: three new tensors of shape S with the
        dtype and device of ``param``, equal to ``torch.optim.AdamW``'s
        parameter, ``state[param]["exp_avg"]`` and
        ``state[param]["exp_avg_sq"]``. No argument is modified. Do not use
        torch.optim.
    """
    ### BEGIN SOLUTION
    decayed = param * (1 - lr * weight_decay)
    return adam_step(decayed, grad, m, v, t, lr=lr, betas=betas, eps=eps)
    ### END SOLUTION


# %% [markdown]
# Try it: the difference in one picture. Three groups of 500 weights start at
# 1. Their loss gradients are pure noise of three sizes, so the loss pulls them
# nowhere on average and only weight decay moves their mean. With Adam's L2
# penalty, the decay term $\lambda\theta$ is divided by roughly the gradients'
# root mean square $\sigma$, so each group decays as if its rate were
# $\lambda/\sigma$:
# far too hard for $\sigma = 0.01$, as intended only for $\sigma = 1$ (by
# luck), and not at all for the weights with large gradients. With AdamW all
# three groups decay alike, along $(1 - \eta\lambda)^t$.

# %%
lr, weight_decay, num_steps = 0.01, 0.1, 1000
noise_stds = [0.01, 1.0, 100.0]
scales = torch.tensor(noise_stds, dtype=torch.float64)[:, None]  # (3, 1)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5), sharey=True)
methods = {"Adam: L2 penalty in the gradient": adam_step,
           "AdamW: decoupled weight decay": adamw_step}
for ax, (title, step_fn) in zip(axes, methods.items(), strict=True):
    gen = torch.Generator().manual_seed(0)
    param = torch.ones(3, 500, dtype=torch.float64)  # 3 groups of 500 weights
    m, v = torch.zeros_like(param), torch.zeros_like(param)
    means = [param.mean(dim=1)]
    for t in range(1, num_steps + 1):
        grad = scales * torch.randn(param.shape, generator=gen, dtype=torch.float64)
        param, m, v = step_fn(param, grad, m, v, t, lr=lr, weight_decay=weight_decay)
        means.append(param.mean(dim=1))
    means = torch.stack(means)  # (num_steps + 1, 3)
    curves = {f"gradient noise std {s:g}": means[:, i]
              for i, s in enumerate(noise_stds)}
    plot_curves(curves, ax=ax, ylabel="mean weight")
    decay = (1 - lr * weight_decay) ** torch.arange(num_steps + 1.0)
    ax.plot(decay, "k:", label=r"$(1 - \eta\lambda)^t$")
    ax.get_legend().remove()
    ax.set_title(f"{title}, lr={lr}, wd={weight_decay}", fontsize=10)
fig.legend(*axes[0].get_legend_handles_labels(), loc="upper center", ncol=4)
fig.tight_layout(rect=(0, 0, 1, 0.9))
plt.show()


# %% grade_id="ch04-adamw-tests" points=2
"""adamw_step: the first step by hand in float64 (decay applied before the Adam
step and never to m or v; a zero gradient still decays); no argument modified;
then 20 steps checked one at a time against torch.optim.AdamW (float64 with its
own lr, betas, eps and weight decay; float64 with the torch defaults,
weight_decay=0.01; float32 on the device); new tensors; no torch.optim. Hidden:
the same on other shapes, learning rates, betas, eps and weight decays."""
_optim = ("torch.optim.Adam", "torch.optim.AdamW", "torch.optim.adam.adam",
          "torch.optim.adamw.adamw")
p = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
g = torch.tensor([0.5, -4.0, 0.0], dtype=torch.float64)
m0, v0 = torch.zeros_like(p), torch.zeros_like(p)
args = (p, g, m0, v0)
saved = [a.clone() for a in args]
with forbid(*_optim):
    p1, m1, v1 = adamw_step(p, g, m0, v0, 1, lr=0.1, weight_decay=0.5)
assert_close(m1, torch.tensor([0.05, -0.4, 0.0], dtype=torch.float64), rtol=1e-12,
             atol=1e-15,
             name="m after the first step (from the raw gradient: no decay term)")
assert_close(v1, torch.tensor([0.00025, 0.016, 0.0], dtype=torch.float64),
             rtol=1e-12, atol=1e-15,
             name="v after the first step (from the raw gradient: no decay term)")
assert_close(p1, torch.tensor([0.85, -1.8, 2.85], dtype=torch.float64), rtol=1e-7,
             atol=1e-9, name="param after the first step: param * (1 - lr * wd) = "
             "[0.95, -1.9, 2.85], then minus lr * sign(grad)")
for arg, before, arg_name in zip(args, saved, ("param", "grad", "m", "v"),
                                 strict=True):
    assert_close(arg, before, rtol=0, atol=0,
                 name=f"{arg_name} after the call (it must not be modified)")
grad_fn, start = random_quadratic((3, 4), seed=0)  # float64 on the CPU
assert_optimizer_steps_match(
    lambda param, grad, state, t: adamw_step(param, grad, *state, t, lr=0.1,
                                             betas=(0.8, 0.9), eps=0.1,
                                             weight_decay=0.3),
    lambda params: torch.optim.AdamW(params, lr=0.1, betas=(0.8, 0.9), eps=0.1,
                                     weight_decay=0.3),
    grad_fn, start, 20, state_keys={"m": "exp_avg", "v": "exp_avg_sq"},
    forbidden=_optim, rtol=1e-8, atol=1e-10,
    name="adamw_step(lr=0.1, betas=(0.8, 0.9), eps=0.1, weight_decay=0.3), float64")
grad_fn, start = random_quadratic((5,), seed=1)
assert_optimizer_steps_match(
    lambda param, grad, state, t: adamw_step(param, grad, *state, t),
    lambda params: torch.optim.AdamW(params), grad_fn, start, 20,
    state_keys={"m": "exp_avg", "v": "exp_avg_sq"}, forbidden=_optim, rtol=1e-8,
    atol=1e-10, name="adamw_step with the torch defaults (weight_decay=0.01), "
    "float64")
grad_fn, start = random_quadratic((4, 2), seed=2, dtype=torch.float32, device=device)
assert_optimizer_steps_match(
    lambda param, grad, state, t: adamw_step(param, grad, *state, t, lr=0.05,
                                             weight_decay=0.1),
    lambda params: torch.optim.AdamW(params, lr=0.05, weight_decay=0.1), grad_fn,
    start, 20, state_keys={"m": "exp_avg", "v": "exp_avg_sq"}, forbidden=_optim,
    rtol=1e-4, atol=1e-5, name="adamw_step(lr=0.05, weight_decay=0.1), float32 on "
    "device")
### BEGIN HIDDEN TESTS
for _seed, _shape in enumerate([(5,), (3, 4), (1,), (2, 3, 5)]):
    for _lr, _betas, _eps, _wd in [(0.1, (0.9, 0.999), 1e-8, 0.01),
                                   (0.05, (0.5, 0.9), 0.1, 0.3),
                                   (0.01, (0.0, 0.99), 1e-6, 0.0),
                                   (0.2, (0.95, 0.9999), 1e-3, 1.0)]:
        _grad_fn, _start = random_quadratic(_shape, _seed)
        _hp = dict(lr=_lr, betas=_betas, eps=_eps, weight_decay=_wd)
        assert_optimizer_steps_match(
            lambda param, grad, state, t, hp=_hp: adamw_step(
                param, grad, *state, t, **hp),
            lambda params, hp=_hp: torch.optim.AdamW(params, **hp),
            _grad_fn, _start, 30, state_keys={"m": "exp_avg", "v": "exp_avg_sq"},
            forbidden=_optim, rtol=1e-8, atol=1e-10,
            name=f"adamw_step(lr={_lr}, betas={_betas}, eps={_eps}, "
            f"weight_decay={_wd}), float64 {_shape}")
for _dev in ["cpu"] + ([str(device)] if device.type != "cpu" else []):
    _grad_fn, _start = random_quadratic((6, 5), 10, dtype=torch.float32, device=_dev)
    assert_optimizer_steps_match(
        lambda param, grad, state, t: adamw_step(param, grad, *state, t, lr=0.05,
                                                 weight_decay=0.1),
        lambda params: torch.optim.AdamW(params, lr=0.05, weight_decay=0.1),
        _grad_fn, _start, 20, state_keys={"m": "exp_avg", "v": "exp_avg_sq"},
        forbidden=_optim, rtol=1e-4, atol=1e-5,
        name=f"adamw_step(lr=0.05, weight_decay=0.1), float32 (6, 5) on {_dev}")
### END HIDDEN TESTS

# %% [markdown]
# ## 4.8 Putting them side by side
#
# ### The Rosenbrock function
#
# $f(x, y) = (1 - x)^2 + 100\,(y - x^2)^2$ is the classic test for optimizers:
# a narrow curved valley whose floor falls gently towards the minimum $f = 0$
# at $(1, 1)$, a ravine that also bends. How narrow? The cell below computes
# the Hessian at the minimum and its eigenvalues: the curvature across the
# valley is about 2,500 times the curvature along it. By section 4.2, gradient
# descent can settle at the minimum only with $\eta < 2/\lambda_{\max}$, about
# $2.0 \cdot 10^{-3}$.

# %%
def rosenbrock(x):
    """(1 - x1)^2 + 100 (x2 - x1^2)^2 for x of shape (..., 2); minimum 0 at (1, 1)."""
    return (1 - x[..., 0]) ** 2 + 100 * (x[..., 1] - x[..., 0] ** 2) ** 2


def rosenbrock_grad(x):
    """Gradient of ``rosenbrock``: shape (..., 2) -> (..., 2)."""
    x1, x2 = x[..., 0], x[..., 1]
    return torch.stack([-2 * (1 - x1) - 400 * x1 * (x2 - x1**2),
                        200 * (x2 - x1**2)], dim=-1)


minimum = torch.tensor([1.0, 1.0], dtype=torch.float64)
H_min = torch.autograd.functional.hessian(rosenbrock, minimum)  # (2, 2)
eigenvalues = torch.linalg.eigvalsh(H_min)  # ascending
print("Hessian at (1, 1):", H_min.tolist())
print(f"eigenvalues {eigenvalues[0].item():.4f} and {eigenvalues[1].item():.1f}, "
      f"ratio {(eigenvalues[1] / eigenvalues[0]).item():.0f}")
print(f"2 / largest eigenvalue = {(2 / eigenvalues[1]).item():.5f}")

# %% [markdown]
# Your `max_stable_lr` should agree:

# %%
print(f"max_stable_lr(H_min, 50) = {max_stable_lr(H_min, 50).item():.5f}")

# %% [markdown]
# What happens above that limit? The cell below runs plain gradient descent
# from the traditional start $(-1.2, 1)$ with nine learning rates at once (one
# row of `x` per rate) for 10,000 steps, and prints where each run ends and the
# length of its last step. Below $2.0 \cdot 10^{-3}$ the runs converge to the
# minimum. From $2.1 \cdot 10^{-3}$ to $6 \cdot 10^{-3}$ they stay finite but
# never arrive: each one ends up bouncing across the valley floor at a fixed
# place, with a last step far from zero. From $6.5 \cdot 10^{-3}$ the path
# blows up to `nan`. Note that only the limit near the minimum is a clean
# number: far from it the curvature is different, so "the learning rate where
# gradient descent diverges" depends on where it starts.

# %%
rosen_start = torch.tensor([-1.2, 1.0], dtype=torch.float64)
rosen_lrs = torch.tensor([1e-3, 1.5e-3, 1.9e-3, 2.1e-3, 2.5e-3, 3e-3, 6e-3, 6.5e-3,
                          8e-3], dtype=torch.float64)
x = rosen_start.repeat(len(rosen_lrs), 1)  # (9, 2): one run per learning rate
for _ in range(10_000):
    previous = x
    x = x - rosen_lrs[:, None] * rosenbrock_grad(x)
last_step = torch.linalg.vector_norm(x - previous, dim=-1)  # (9,)
for lr, point, f_value, step in zip(rosen_lrs, x, rosenbrock(x), last_step,
                                    strict=True):
    print(f"lr = {lr.item():.1e}: ends at ({point[0].item():+.4f}, "
          f"{point[1].item():+.4f}), f = {f_value.item():.1e}, last step "
          f"{step.item():.1e}")

# %% [markdown]
# Where does each stalled run bounce? At the point of the valley where the
# *local* limit, $2/\lambda_{\max}$ of the Hessian there, equals its learning
# rate: further down the valley the curvature grows and the run would diverge,
# so it cannot go on. The cell checks it with your `max_stable_lr`, at the
# midpoint of each stalled run's last two points.

# %%
midpoints = (x + previous) / 2  # (9, 2)
for lr, point in zip(rosen_lrs, midpoints, strict=True):
    stalled = 2e-3 < lr.item() < 6.5e-3
    if stalled:
        H_here = torch.autograd.functional.hessian(rosenbrock, point)
        print(f"lr = {lr.item():.1e}: max_stable_lr of the Hessian where it bounces "
              f"= {max_stable_lr(H_here, 50).item():.2e}")

# %% [markdown]
# Now a comparison of optimizers on the same start, 1000 steps each, with
# roughly tuned learning rates. The contour plot shows $\log(1 + f)$ so that
# the valley is visible.

# %%
optimizers = {
    "SGD lr=1e-3": lambda ps: torch.optim.SGD(ps, lr=1e-3),
    "SGD momentum=0.9 lr=1e-4": lambda ps: torch.optim.SGD(ps, lr=1e-4, momentum=0.9),
    "SGD momentum=0.9 lr=1e-3": lambda ps: torch.optim.SGD(ps, lr=1e-3, momentum=0.9),
    "Nesterov 0.9 lr=1e-3": lambda ps: torch.optim.SGD(ps, lr=1e-3, momentum=0.9,
                                                       nesterov=True),
    "RMSprop lr=0.01": lambda ps: torch.optim.RMSprop(ps, lr=0.01),
    "Adam lr=0.1": lambda ps: torch.optim.Adam(ps, lr=0.1),
}
rosen_paths = {name: optimize_2d(rosenbrock, make, rosen_start, num_steps=1000)
               for name, make in optimizers.items()}
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
plot_contour(lambda x: torch.log1p(rosenbrock(x)), xlim=(-1.6, 1.6), ylim=(-0.6, 1.6),
             levels=25, ax=axes[0],
             paths={name: path[::10] for name, path in rosen_paths.items()})
for line, path in zip(axes[0].get_lines(), rosen_paths.values(), strict=True):
    axes[0].plot(*path[-1].tolist(), "o", color=line.get_color(), markersize=8,
                 markeredgecolor="black")  # where each optimizer ended
axes[0].plot([1.0], [1.0], "k*", markersize=14)
axes[0].get_legend().remove()  # same colours as the loss plot
axes[0].set_title("Paths (every 10th step), end points; star: minimum")
plot_curves({name: rosenbrock(path) for name, path in rosen_paths.items()},
            ax=axes[1], ylabel="f", logy=True)
axes[1].set_title("Loss per step")
plt.show()
for name, path in rosen_paths.items():
    print(f"{name:>26}: f after 1000 steps = {rosenbrock(path[-1]).item():.2e}")

# %% [markdown]
# Three lessons. Momentum 0.9 with $\eta = 10^{-4}$ follows plain gradient
# descent with $\eta = 10^{-3}$ almost exactly: the same effective step
# $\eta/(1-\mu)$, as section 4.4 predicted. Momentum with the *same* $\eta$ as
# gradient descent moves up to ten times faster along the valley floor while
# the oscillations across it stay in check, and it reaches the minimum, with
# or without Nesterov's correction. Adam rescales each coordinate by its own
# gradient size and gets there too, with a learning rate fifty times the
# limit of plain gradient descent near the minimum; RMSprop, without
# momentum, is still on its way after 1000 steps, its loss jumping up now and
# then.
#
# ### A real model: logistic regression on breast-cancer data
#
# Now a real loss: logistic regression on scikit-learn's breast-cancer data,
# 569 tumours described by 30 features. The model is one `nn.Linear` layer
# that outputs a logit, trained with `F.binary_cross_entropy_with_logits`
# (the function behind `nn.BCEWithLogitsLoss`, numerically safer than a
# sigmoid followed by `BCELoss`). The features are standardised with the mean and
# standard deviation of the *training* part only. Each optimizer trains the
# same initial model on the same mini-batches of 64 for 20 epochs.

# %%
X, y, feature_names = load_tabular("breast_cancer")
X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.25, seed=0)
mean, std = X_train.mean(dim=0), X_train.std(dim=0)
X_train = ((X_train - mean) / std).to(device)
X_test = ((X_test - mean) / std).to(device)
y_train, y_test = y_train.float().to(device), y_test.float().to(device)
print("train", tuple(X_train.shape), "test", tuple(X_test.shape))


def fit(make_optimizer, num_epochs=20, batch_size=64):
    """Train logistic regression; return (train loss after each epoch, test acc)."""
    set_seed(0)  # the same initial weights for every optimizer
    model = nn.Linear(X_train.shape[1], 1).to(device)
    optimizer = make_optimizer(model.parameters())
    gen = torch.Generator().manual_seed(0)  # the same mini-batches too
    losses = []
    for _ in range(num_epochs):
        for idx in torch.randperm(len(X_train), generator=gen).split(batch_size):
            idx = idx.to(device)
            logits = model(X_train[idx]).squeeze(-1)  # (B,)
            loss = F.binary_cross_entropy_with_logits(logits, y_train[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            logits = model(X_train).squeeze(-1)
            losses.append(F.binary_cross_entropy_with_logits(logits, y_train).item())
    with torch.no_grad():
        accuracy = ((model(X_test).squeeze(-1) > 0) == (y_test > 0.5)).float().mean()
    return losses, accuracy.item()


# %%
optimizers = {
    "SGD lr=0.1": lambda ps: torch.optim.SGD(ps, lr=0.1),
    "SGD lr=0.01": lambda ps: torch.optim.SGD(ps, lr=0.01),
    "SGD momentum=0.9 lr=0.01": lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9),
    "SGD momentum=0.9 lr=0.1": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
    "Adam lr=0.01": lambda ps: torch.optim.Adam(ps, lr=0.01),
}
curves = {}
for name, make in optimizers.items():
    curves[name], accuracy = fit(make)
    print(f"{name:>26}: final train loss {curves[name][-1]:.4f}, "
          f"test accuracy {accuracy:.3f}")
ax = plot_curves(curves, xlabel="epoch", ylabel="train loss", logy=True)
ax.set_title("Logistic regression, mini-batches of 64")
plt.show()

# %% [markdown]
# Again momentum 0.9 at $\eta = 0.01$ tracks plain SGD at $\eta = 0.1$. With
# the same $\eta = 0.1$, momentum is far ahead. Adam at $\eta = 0.01$, a
# standard value picked without tuning, does as well as the better plain SGD
# run. On a problem this small all of
# them reach similar test accuracy in the end; the differences grow with the
# depth of the network and the spread of its gradient scales.
#
# ### Your AdamW inside a real optimizer
#
# A `torch.optim` optimizer is little more than your step function plus
# bookkeeping: it remembers each parameter's state (`m`, `v`) and the step
# count, and writes the new values into the parameters in place. Here is that
# bookkeeping around your `adamw_step`; trained on the same batches, it should
# give the same losses as `torch.optim.AdamW` up to float32 rounding.

# %%
class MyAdamW:
    """Just enough of the torch.optim interface for fit(), backed by adamw_step."""

    def __init__(self, params, lr=1e-3, weight_decay=1e-2):
        self.params = list(params)
        self.state = [(torch.zeros_like(p), torch.zeros_like(p)) for p in self.params]
        self.lr, self.weight_decay, self.t = lr, weight_decay, 0

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self):
        self.t += 1
        for i, p in enumerate(self.params):
            new_p, m, v = adamw_step(p, p.grad, *self.state[i], self.t,
                                     lr=self.lr, weight_decay=self.weight_decay)
            p.copy_(new_p)  # the model keeps the same tensor objects
            self.state[i] = (m, v)


# %%
mine, accuracy = fit(lambda ps: MyAdamW(ps, lr=0.01, weight_decay=0.01))
theirs, _ = fit(lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.01))
gap = max(abs(a - b) for a, b in zip(mine, theirs, strict=True))
print(f"MyAdamW: final train loss {mine[-1]:.4f}, test accuracy {accuracy:.3f}")
print(f"largest difference from torch.optim.AdamW over 20 epochs: {gap:.1e}")


# %% [markdown]
# ## 4.9 Batch size and gradient noise
#
# A mini-batch gradient is the mean of $B$ per-example gradients $g_i$. If the
# examples of a batch are drawn at random (with replacement) from the $N$
# training examples, it is an unbiased estimate of the full gradient
# $\bar g = \frac1N \sum_i g_i$, and since the variance of a mean of $B$
# independent draws is the variance of one draw divided by $B$,
#
# $$\mathbb E\,\lVert g_B - \bar g\rVert^2 = \frac{\sigma^2}{B}, \qquad
# \sigma^2 = \frac1N \sum_{i=1}^N \lVert g_i - \bar g\rVert^2 .$$
#
# The noise, measured as the root mean square distance from the full
# gradient, falls like $\sigma/\sqrt{B}$: four times the batch for half the
# noise. A data loader that shuffles and splits each epoch draws *without*
# replacement; then the variance carries the extra factor
# $\frac{N-B}{N-1}$ (a batch of all $N$ examples has no noise at all).
#
# Let us measure it on the breast-cancer training set, for the logistic
# regression model at its initial weights. For one example the loss is
# $\ell_i = \mathrm{BCE}(w^\top x_i + b, y_i)$ and its gradient is
# $(p_i - y_i)\,(x_i, 1)$ with $p_i$ the predicted probability (chapter 03),
# so all $N$ per-example gradients come out of one matrix expression. For each
# batch size we draw 2000 batches both ways and compare.

# %%
set_seed(0)
model = nn.Linear(X_train.shape[1], 1).to(device)  # the initial model of fit()
with torch.no_grad():
    probs = torch.sigmoid(model(X_train).squeeze(-1))  # (N,)
    features = torch.cat([X_train, torch.ones_like(X_train[:, :1])], dim=1)  # (N, 31)
    per_example = ((probs - y_train)[:, None] * features).double().cpu()  # (N, 31)
loss = F.binary_cross_entropy_with_logits(model(X_train).squeeze(-1), y_train)
loss.backward()
autograd_grad = torch.cat([model.weight.grad[0], model.bias.grad]).double().cpu()
print("mean of the per-example gradients vs autograd: max difference "
      f"{(per_example.mean(dim=0) - autograd_grad).abs().max().item():.1e}")

N = len(per_example)
full = per_example.mean(dim=0)  # (31,)
sigma = (per_example - full).square().sum(dim=1).mean().sqrt().item()
print(f"N = {N}, sigma = {sigma:.3f}, length of the full gradient "
      f"{full.square().sum().sqrt().item():.3f}")
gen = torch.Generator().manual_seed(0)
batch_sizes = [1, 2, 4, 8, 16, 32, 64, 128, 256]
num_batches = 2000
noise = {"drawn with replacement": [], "shuffled (without replacement)": []}
for B in batch_sizes:
    with_replacement = torch.randint(N, (num_batches, B), generator=gen)
    shuffled = torch.rand(num_batches, N, generator=gen).argsort(dim=1)[:, :B]
    for key, idx in zip(noise, (with_replacement, shuffled), strict=True):
        # row r of counts: how many times each example is in batch r
        counts = torch.zeros(num_batches, N, dtype=torch.float64).scatter_add_(
            1, idx, torch.ones(idx.shape, dtype=torch.float64))
        g_B = counts @ per_example / B  # (num_batches, 31) mini-batch gradients
        noise[key].append((g_B - full).square().sum(dim=1).mean().sqrt().item())
sizes = torch.tensor(batch_sizes, dtype=torch.float64)
fig, ax = plt.subplots(figsize=(6.5, 4))
for (key, values), marker in zip(noise.items(), ("o", "s"), strict=True):
    ax.loglog(batch_sizes, values, marker, label=f"measured, {key}")
ax.loglog(batch_sizes, sigma / sizes.sqrt(), "k-", label=r"$\sigma/\sqrt{B}$")
ax.loglog(batch_sizes, sigma / sizes.sqrt() * ((N - sizes) / (N - 1)).sqrt(), "k--",
          label=r"$\sigma/\sqrt{B}\cdot\sqrt{(N-B)/(N-1)}$")
ax.set_xlabel("batch size $B$")
ax.set_ylabel(r"RMS of $\|g_B - \bar g\|$")
ax.grid(alpha=0.3, which="both")
ax.legend()
ax.set_title("Mini-batch gradient noise, breast-cancer logistic regression")
plt.show()
for B, with_repl, without in zip(batch_sizes, *noise.values(), strict=True):
    print(f"B = {B:>3}: measured {with_repl:.3f} (with replacement), "
          f"{without:.3f} (shuffled); sigma / sqrt(B) = {sigma / B**0.5:.3f}")

# %% [markdown]
# The measurements sit on the predicted lines: with replacement on
# $\sigma/\sqrt{B}$, shuffled batches on the corrected curve, which bends down
# as $B$ approaches $N$. At $B = 1$ the noise is larger than the full gradient
# itself; at $B = 64$, the batch size used above, it is about a fifth of it.
# Two practical consequences. Doubling the batch halves the variance but
# doubles the cost of each step, so beyond some size larger batches buy little
# progress per computation. And the noise in one step is about
# $\eta\,\sigma/\sqrt{B}$: four times the batch allows twice the learning
# rate for the same noise per step, one argument behind the rules that scale
# the learning rate with the batch size.
#
# ## 4.10 Summary
#
# * Gradient descent: $\theta \leftarrow \theta - \eta g$. On a quadratic it
#   converges iff $\eta < 2/\lambda_{\max}$, at a speed set by the condition
#   number. Too small is slow, slightly too large diverges. Power iteration
#   measures $\lambda_{\max}$ with products $Hv$ only; on the Rosenbrock
#   function the same limit decides where gradient descent stalls.
# * Ravines, local minima and saddle points (plateaus) are what makes plain
#   gradient descent slow or stuck.
# * Momentum (PyTorch form): $v \leftarrow \mu v + g$, $\theta \leftarrow
#   \theta - \eta v$. The moving-average form only rescales the learning rate
#   by $1/(1-\mu)$; never copy learning rates between the two. Nesterov's
#   variant steps along $g + \mu v$ and damps oscillations sooner.
# * AdaGrad and RMSprop divide each coordinate by the root of its accumulated
#   or averaged squared gradients: a great help when the gradient scales
#   follow the coordinates, none when the ravine is rotated.
# * Adam: RMSprop plus momentum, with bias-corrected moving averages of $g$
#   and $g^2$; $t$ counts from 1; $\varepsilon$ sits outside the square root.
# * AdamW: shrink the weights by $1 - \eta\lambda$, then take an Adam step with
#   the raw gradient. With Adam, an L2 penalty is *not* weight decay.
# * The noise of a mini-batch gradient falls like $\sigma/\sqrt{B}$.
#
# **Good defaults.** AdamW with $\eta \approx 10^{-3}$ (smaller for large
# transformers) and $\lambda$ between 0.01 and 0.1 is a safe first choice;
# SGD with momentum 0.9 and a tuned $\eta$ remains strong for convolutional
# networks. Whatever you choose, search the learning rate on a log scale
# first. Learning-rate schedules, warm-up and gradient clipping come in
# chapters 16 and 24.
