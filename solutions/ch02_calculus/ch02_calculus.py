# %% [markdown]
# # Chapter 02: Calculus for deep learning
#
# A neural network learns by nudging its parameters so that a loss goes down.
# Which way to nudge each parameter, and how hard, is exactly what a derivative
# says. This chapter builds the calculus that every training loop rests on, and
# checks each formula twice: against a numerical estimate and against PyTorch's
# automatic differentiation (*autograd*).
#
# **You will learn**
#
# - to estimate derivatives with finite differences, and why the step can be
#   neither too large nor too small (2.1-2.2);
# - the derivatives of the classic activations, and how to compute them so that
#   they never overflow (2.3);
# - that the gradient is the direction of steepest ascent (2.4);
# - to use autograd: computational graphs, `requires_grad`, `backward`, gradient
#   accumulation, `no_grad` (2.5);
# - to write a gradient checker, the standard tool to debug gradients (2.6);
# - to backpropagate by hand through a two-layer network and match autograd to
#   machine precision (2.7);
# - why the gradient of softmax followed by cross-entropy is simply $p - y$
#   (2.8).
#
# **Graded exercises** (14 points)
#
# | exercise | points |
# |---|---|
# | `numerical_derivative(f, x, h)` | 2 |
# | `sigmoid(x)` | 2 |
# | `sigmoid_derivative(x)` | 1 |
# | `relu_derivative(x)` | 1 |
# | `tanh_derivative(x)` | 1 |
# | `numerical_gradient(f, x, eps)` | 2 |
# | `two_layer_backward(x, y, W1, b1, W2, b2)` | 3 |
# | `softmax_cross_entropy_grad(logits, targets)` | 2 |
#
# Each exercise is a function whose docstring states its whole contract:
# shapes, dtypes, devices, edge cases and the built-ins you may not call.
# Replace `raise NotImplementedError()` with your code and run the test cell
# below it. The visible tests show every rule the grader checks; hidden tests
# repeat them on other values, shapes and seeds.

# %%
import math
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch

from dlcourse import get_device
from dlcourse.checks import (
    AUTOGRAD,
    SIGMOIDS,
    assert_close,
    assert_derivative_close,
    assert_shape,
    forbid,
)
from dlcourse.plotting import plot_contour, plot_curves
from dlcourse.widgets import interactive_plot

device = get_device()  # the tests also run your code on this device
# The tests forbid autograd (the group AUTOGRAD: backward, torch.autograd.grad,
# torch.func...) inside the exercises that ask you to derive a gradient
# yourself: autograd is what checks your answer, it cannot be the answer.
print(f"torch {torch.__version__}, device: {device}")

# %% [markdown]
# ## 2.1 The derivative: slope, rate of change, and a recipe for learning
#
# The derivative of $f$ at $x$ is the limit of the slope of a *secant* line
# through two nearby points of the graph:
#
# $$f'(x) = \lim_{h \to 0} \frac{f(x + h) - f(x)}{h}.$$
#
# Geometrically it is the slope of the tangent line; physically it is a rate of
# change (metres per second, loss per unit of weight). For learning, the most
# useful reading is the **linear approximation** it gives:
#
# $$f(x + h) \approx f(x) + f'(x)\,h \qquad \text{for small } h.$$
#
# Suppose $f$ is a loss and $x$ a parameter. Moving $x$ by $h = -\eta f'(x)$ with
# a small learning rate $\eta > 0$ changes the loss by about
# $-\eta\, f'(x)^2 \le 0$: the loss goes down whenever $f'(x) \neq 0$. That one
# line is gradient descent, the engine of deep learning (chapter 04). Everything
# else in this chapter is about computing $f'$ accurately and cheaply when $f$
# has millions of inputs.
#
# **Try it.** Move the point $x_0$ and shrink the step $h$. The *forward*
# secant goes through $x_0$ and $x_0 + h$; the *central* secant goes through
# $x_0 - h$ and $x_0 + h$. Both slopes approach the tangent's slope as $h \to 0$,
# but watch which one gets there faster: that is the topic of the next section.

# %%
def demo_f(x):
    return torch.sin(2 * x) + 0.25 * x**2


def demo_df(x):  # by hand: the chain rule gives d/dx sin(2x) = 2 cos(2x)
    return 2 * torch.cos(2 * x) + 0.5 * x


def show_secants(x0=0.5, h=1.0):
    xs = torch.linspace(-3, 3, 400, dtype=torch.float64)
    x0_t = torch.tensor(x0, dtype=torch.float64)
    f0, exact = demo_f(x0_t).item(), demo_df(x0_t).item()
    f_plus, f_minus = demo_f(x0_t + h).item(), demo_f(x0_t - h).item()
    forward = (f_plus - f0) / h
    central = (f_plus - f_minus) / (2 * h)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(xs, demo_f(xs), color="black", lw=2, label="$f(x)$")
    # each line: (x and y of a point on it, slope, style, label)
    for x_a, y_a, slope, style, label in [
        (x0, f0, exact, "-", "tangent"),
        (x0, f0, forward, "--", "forward secant"),
        (x0 - h, f_minus, central, ":", "central secant"),
    ]:
        err = abs(slope - exact)
        ax.plot(xs, y_a + slope * (xs - x_a), style, lw=1.5,
                label=f"{label}: slope {slope:+.4f} (error {err:.1e})")
    ax.plot([x0 - h, x0, x0 + h], [f_minus, f0, f_plus], "ko", ms=5)
    ax.set(xlim=(-3, 3), ylim=(-1.5, 3.5), xlabel="$x$",
           title=f"$x_0$ = {x0:.2f}, $h$ = {h:.3g}")
    ax.legend(loc="upper center", fontsize=8)
    plt.show()


interactive_plot(
    show_secants,
    x0=widgets.FloatSlider(value=0.5, min=-2.5, max=2.5, step=0.05),
    h=widgets.FloatLogSlider(value=1.0, base=10, min=-3, max=0.3, step=0.05),
)

# %% [markdown]
# ## 2.2 Finite differences
#
# A computer cannot take a limit, but it can evaluate the difference quotient
# for a small $h$. How wrong is that? Taylor's theorem answers it:
#
# $$f(x \pm h) = f(x) \pm h f'(x) + \frac{h^2}{2} f''(x)
#   \pm \frac{h^3}{6} f'''(x) + O(h^4).$$
#
# - **Forward difference.** Keep the $+$ expansion and divide by $h$:
#   $$\frac{f(x + h) - f(x)}{h} = f'(x) + \frac{h}{2} f''(x) + O(h^2).$$
#   The error (the *truncation error*) shrinks like $h$: first order.
# - **Central difference.** Subtract the two expansions: the even terms cancel,
#   $$\frac{f(x + h) - f(x - h)}{2h} = f'(x) + \frac{h^2}{6} f'''(x) + O(h^4).$$
#   The error shrinks like $h^2$: second order. Halving $h$ divides it by four.
#
# Two consequences worth remembering (the tests use them): the central
# difference is **exact for any quadratic**, whatever $h$, because
# $f''' = 0$; and for $f(x) = x^3$ it returns exactly $3x^2 + h^2$.
#
# ### Exercise 1: `numerical_derivative` (2 points)
#
# Implement the central difference. It works **elementwise**: `f` acts on each
# entry of a tensor independently (like `torch.sin` or `lambda t: t**3`), so one
# call estimates $f'$ at every entry of `x` at once. Use only tensor arithmetic,
# so that the result lands on the input's device and dtype without any effort.

# %% grade_id="ch02-numerical-derivative"
def numerical_derivative(f, x, h=1e-5):
    """Estimate f'(x) elementwise with the central difference.

    Returns (f(x + h) - f(x - h)) / (2 h).

    Args:
        f: a function from a tensor to a tensor of the same shape that acts
            elementwise: entry i of f(t) depends only on t[i].
        x: floating-point tensor of any shape, 0-d included. It is not modified.
        h: the step, a positive Python float. The default suits float64; in
            float32 a step between 1e-3 and 1e-2 is far more accurate (see the
            plot in 2.2).

    Returns:
        Tensor of the same shape, dtype and device as x: entry i estimates
        f'(x[i]).
    """
    ### BEGIN SOLUTION
    return (f(x + h) - f(x - h)) / (2 * h)
    ### END SOLUTION


# %%
# Try it: the derivative of sin is cos.
x = torch.linspace(0, math.pi, 5, dtype=torch.float64)
print("numerical:", numerical_derivative(torch.sin, x))
print("cos(x):   ", torch.cos(x))

# %% grade_id="ch02-numerical-derivative-tests" points=2
"""numerical_derivative: the central formula (exact for t**2, 3 t^2 + h^2 for t**3),
elementwise on any shape (0-d included), x unchanged, float64 and float32 on the
device kept."""
x = torch.tensor([-1.0, 0.0, 2.5], dtype=torch.float64)
got = numerical_derivative(lambda t: t**2, x, h=0.5)
# A central difference is exact for quadratics even with a large step; a forward
# difference gives 2x + h, a missing factor 2 gives 4x.
assert_close(got, 2 * x, rtol=1e-12, atol=1e-12,
             name="numerical_derivative(t**2, x, h=0.5) (central is exact here)")
# For t**3 the central difference is 3 t^2 + h^2 exactly: the formula, not the
# true derivative 3 t^2 (autograd would give that and fail here).
grid = torch.linspace(-2, 2, 6, dtype=torch.float64).reshape(2, 3)
x_before = grid.clone()
got = numerical_derivative(lambda t: t**3, grid, h=0.1)
assert_shape(got, (2, 3), name="numerical_derivative(t**3, x of shape (2, 3))")
assert_close(got, 3 * grid**2 + 0.01, rtol=1e-10, atol=1e-12,
             name="numerical_derivative(t**3, x, h=0.1) (expected 3 x^2 + h^2)")
assert torch.equal(grid, x_before), "numerical_derivative modified its input x"
x1 = torch.tensor(1.0, dtype=torch.float64)  # 0-d
assert_close(numerical_derivative(torch.sin, x1), torch.cos(x1), rtol=1e-9, atol=0,
             name="numerical_derivative(sin, 1.0) with the default h")
x32 = torch.linspace(-3, 3, 11, device=device)  # float32, on the device in use
got = numerical_derivative(torch.sin, x32, h=1e-2)
assert got.dtype == x32.dtype and got.device == x32.device, (
    f"expected dtype {x32.dtype} on {x32.device}, got {got.dtype} on {got.device}")
assert_close(got, torch.cos(x32), rtol=1e-3, atol=1e-3,
             name="numerical_derivative(sin, float32 x on device, h=1e-2)")
### BEGIN HIDDEN TESTS
_grid = torch.linspace(-3, 2, 7, dtype=torch.float64)
assert_close(numerical_derivative(lambda t: t**3, _grid, h=0.2), 3 * _grid**2 + 0.04,
             rtol=1e-10, atol=1e-12, name="numerical_derivative(t**3, x, h=0.2)")
_gen = torch.Generator().manual_seed(2)
for _shape in [(3, 5), (1,), (2, 3, 4), ()]:
    _t = torch.randn(_shape, generator=_gen, dtype=torch.float64)
    _saved = _t.clone()
    _out = numerical_derivative(torch.exp, _t)
    assert_shape(_out, _shape, name=f"numerical_derivative(exp, x of shape {_shape})")
    assert_close(_out, torch.exp(_t), rtol=1e-8, atol=0,
                 name=f"numerical_derivative(exp, x of shape {_shape})")
    assert torch.equal(_t, _saved), "numerical_derivative modified its input x"
_t = torch.linspace(-2, 4, 9, device=device).reshape(3, 3)  # float32
_out = numerical_derivative(torch.exp, _t, h=3e-3)
assert _out.dtype == _t.dtype and _out.device == _t.device, (
    f"expected dtype {_t.dtype} on {_t.device}, got {_out.dtype} on {_out.device}")
assert_close(_out, torch.exp(_t), rtol=1e-3, atol=1e-3,
             name="numerical_derivative(exp, float32 x, h=3e-3)")
### END HIDDEN TESTS

# %% [markdown]
# ### How small should $h$ be?
#
# Truncation error says "smaller is better", but floats say otherwise. Each
# value $f(x \pm h)$ is stored with a relative error of about the machine
# epsilon $\varepsilon$ ($2.2 \times 10^{-16}$ in float64, $1.2 \times 10^{-7}$
# in float32). Subtracting two nearly equal numbers keeps their absolute error,
# about $\varepsilon |f(x)|$, and dividing by $h$ magnifies it: the **round-off
# error** grows like $\varepsilon / h$. The total error is roughly
#
# $$E(h) \approx C_1 h^p + C_2 \frac{\varepsilon}{h},$$
#
# with $p = 1$ (forward) or $p = 2$ (central). It is smallest at
# $h^\ast \approx \varepsilon^{1/(p+1)}$: about $10^{-8}$ for a forward
# difference and $6 \times 10^{-6}$ for a central one in float64, but
# $5 \times 10^{-3}$ for a central one in float32. The best reachable error is
# about $\varepsilon^{p/(p+1)}$: around $10^{-11}$ for central differences in
# float64, only around $10^{-5}$ in float32. That is why gradient checks
# (section 2.6) run in float64.
#
# The log-log plot below measures this for $f = \exp$ at $x = 1$ (where
# $f'(1) = e$). On log-log axes a power law $h^p$ is a straight line of
# slope $p$: you should see slope 1 and slope 2 on the right, slope $-1$ on the
# left, and a V whose bottom sits near $h^\ast$. The central curve uses your
# `numerical_derivative`.

# %%
hs = np.logspace(-15, 0, 61)
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, dtype in zip(axes, [torch.float64, torch.float32], strict=True):
    x1 = torch.tensor(1.0, dtype=dtype)
    errors = {"forward": [], "central": []}
    for h in hs:
        forward = (torch.exp(x1 + h) - torch.exp(x1)) / h
        central = numerical_derivative(torch.exp, x1, h=float(h))
        errors["forward"].append(abs(forward.item() - math.e))
        errors["central"].append(abs(central.item() - math.e))
    for label, errs in errors.items():
        # an error of exactly 0 (a lucky rounding) cannot be drawn on a log axis
        ax.loglog(hs, np.maximum(errs, 1e-17), "o-", ms=3, label=label)
    eps = torch.finfo(dtype).eps
    ax.loglog(hs, eps / hs, "k:", lw=1, label=r"round-off $\varepsilon / h$")
    for p, color in [(1, "C0"), (2, "C1")]:
        ax.axvline(eps ** (1 / (p + 1)), color=color, ls="--", lw=1)
    ax.set(title=f"{dtype} (dashed: best h predicted)", xlabel="step $h$",
           ylim=(1e-13, 1e2))
    ax.grid(alpha=0.3)
axes[0].set_ylabel("|estimate - e|")
axes[0].legend()
plt.show()

# %% [markdown]
# ## 2.3 Differentiation rules and the derivatives of activations
#
# Every derivative in deep learning is assembled from a handful of rules:
#
# | rule | formula |
# |---|---|
# | linearity | $(a f + b g)' = a f' + b g'$ |
# | product | $(f g)' = f' g + f g'$ |
# | quotient | $(f / g)' = (f' g - f g') / g^2$ |
# | chain | $\big(f(g(x))\big)' = f'\big(g(x)\big)\, g'(x)$ |
#
# The chain rule is the one that matters most: a network is a long composition
# of simple functions, and backpropagation (section 2.7) is the chain rule
# applied systematically. Let us use the rules on the classic activations.
#
# **Sigmoid.** $\sigma(x) = \dfrac{1}{1 + e^{-x}}$ squashes $\mathbb{R}$ into
# $(0, 1)$. By the chain rule,
#
# $$\sigma'(x) = \frac{e^{-x}}{(1 + e^{-x})^2}
#   = \underbrace{\frac{1}{1 + e^{-x}}}_{\sigma(x)}
#     \cdot \underbrace{\frac{e^{-x}}{1 + e^{-x}}}_{1 - \sigma(x)}
#   = \sigma(x)\,\big(1 - \sigma(x)\big).$$
#
# The derivative is cheap once $\sigma(x)$ is known, and it is at most $1/4$
# (at $x = 0$). In a deep network these factors multiply. Take a chain of ten
# scalar sigmoid layers $a_k = \sigma(w_k a_{k-1} + b_k)$; the chain rule gives
#
# $$\frac{\partial a_{10}}{\partial a_0}
#   = \prod_{k=1}^{10} w_k\, \sigma'(w_k a_{k-1} + b_k),
#   \qquad \left|\frac{\partial a_{10}}{\partial a_0}\right|
#   \le \frac{|w_1 w_2 \cdots w_{10}|}{4^{10}}.$$
#
# The sigmoids alone divide the backward signal by at least $4^{10}$; if every
# weight has $|w_k| \le 1$ (or if we look at the sigmoids with the weights
# factored out), the signal is scaled by at most $4^{-10} \approx 9.5 \times
# 10^{-7}$. Large weights could compensate in principle, but they also push the
# pre-activations far from 0, where $\sigma'$ is much smaller than $1/4$
# ($\sigma'(5) \approx 0.0066$). With weight matrices, $|w_k|$ becomes the
# largest singular value of $W_k$. This is the *vanishing gradient* problem that
# made deep sigmoid networks hard to train.
#
# **Tanh.** $\tanh(x) = \dfrac{e^{x} - e^{-x}}{e^{x} + e^{-x}} = 2\sigma(2x) - 1$
# maps into $(-1, 1)$ and is centred at 0. The quotient rule gives
# $\tanh'(x) = 1 - \tanh^2(x)$, at most 1 (at $x = 0$).
#
# **ReLU.** $\operatorname{relu}(x) = \max(0, x)$ has derivative 1 for $x > 0$
# and 0 for $x < 0$. At exactly $x = 0$ it has a kink and no derivative; any
# value in $[0, 1]$ is a valid *subgradient*, and frameworks simply pick one.
# PyTorch picks **0**, and so do we, so that our results match autograd.
#
# ### Numerical stability
#
# Formulas that are equal on paper can differ in floating point. In float64,
# $e^{t}$ overflows to `inf` for $t > 709$ (in float32 for $t > 88$):
#
# - $1 / (1 + e^{-x})$ at $x = -1000$ computes $1 / (1 + \infty) = 0$: the right
#   value, by luck. But its *gradient* through autograd multiplies
#   $0 \times \infty$ = `nan` (you will see it in section 2.5).
# - $e^{x} / (1 + e^{x})$, equal on paper, gives `nan` already at $x = 1000$.
# - $\tfrac12\big(1 + \tanh(x/2)\big)$, equal on paper too, never overflows but
#   at $x = -30$ it subtracts two numbers that agree in 13 digits: the true
#   value $9.4 \times 10^{-14}$ comes out with 3 correct digits instead of 16
#   (*catastrophic cancellation*), and in float32 it is exactly 0.
#
# The cure is to exponentiate only numbers $\le 0$, so that $e^{t} \in (0, 1]$
# can never overflow: use $1 / (1 + e^{-x})$ where $x \ge 0$ and
# $e^{x} / (1 + e^{x})$ where $x < 0$. A trap when you combine the two cases with
# `torch.where(cond, a, b)`: both `a` and `b` are computed everywhere, and a
# `nan` or `inf` in the branch that is *not* selected still poisons the
# gradient. Make both branches finite, for example by feeding each exponential
# only non-positive numbers.
#
# ### Exercise 2: `sigmoid` (2 points)
#
# Implement $\sigma$ from scratch with elementary tensor operations
# (`torch.exp`, `torch.where`, arithmetic). The tests forbid the group
# `SIGMOIDS` of `dlcourse.checks`: `torch.sigmoid`, `Tensor.sigmoid`,
# `torch.special.expit`, `torch.nn.functional.sigmoid`, `logsigmoid` and `silu`,
# and scipy's `expit`. It must be stable: finite values **and finite autograd
# gradients** for every finite input, in float32 and float64.

# %% grade_id="ch02-sigmoid"
def sigmoid(x):
    """The logistic sigmoid 1 / (1 + exp(-x)), elementwise, computed stably.

    Args:
        x: floating-point tensor of any shape, 0-d included. Not modified.

    Returns:
        Tensor of the same shape, dtype and device as x, with values in [0, 1].
        Stable for every finite input, in float32 and float64: no inf or nan,
        e.g. sigmoid(1000.) == 1 and sigmoid(-1000.) == 0. Accurate to full
        relative precision where the result is tiny: sigmoid(-30.) is about
        9.36e-14, not 0 (a formula of the form 1 - something loses it). Built
        from differentiable torch operations, so autograd can differentiate
        it, and the gradient it gets is finite too (0 at +-1000, not nan).

    Do not call torch.sigmoid, Tensor.sigmoid(_), torch.special.expit,
    torch.nn.functional.sigmoid, logsigmoid or silu, or scipy.special.expit
    (the group SIGMOIDS of dlcourse.checks).
    """
    ### BEGIN SOLUTION
    positive = x >= 0
    z = torch.exp(torch.where(positive, -x, x))  # exp(-|x|) in (0, 1]: no overflow
    return torch.where(positive, 1 / (1 + z), z / (1 + z))
    ### END SOLUTION


# %%
# Try it: the extremes must be 0 and 1, not nan.
print(sigmoid(torch.tensor([-1000.0, -2.0, 0.0, 2.0, 1000.0])))

# %% grade_id="ch02-sigmoid-tests" points=2
"""sigmoid: == 1 / (1 + exp(-x)) to full relative precision (sigmoid(-30) too);
finite values and autograd gradients at +-1000 (float64) and +-1e4 (float32 on
the device); any shape, 0-d included; x unchanged; no built-in sigmoid."""
x = torch.tensor([-30.0, -2.0, 0.0, 3.0], dtype=torch.float64)
x_before = x.clone()
with forbid(*SIGMOIDS):
    got = sigmoid(x)
expected = torch.tensor([1 / (1 + math.exp(-v)) for v in x.tolist()],
                        dtype=torch.float64)
# sigmoid(-30) is about 9.4e-14: it must keep its relative precision, not become 0
assert_close(got, expected, rtol=1e-10, atol=0, name="sigmoid([-30, -2, 0, 3])")
assert torch.equal(x, x_before), "sigmoid modified its input x"
with forbid(*SIGMOIDS):
    got = sigmoid(torch.tensor(0.5, dtype=torch.float64))  # 0-d
assert_close(got, torch.tensor(1 / (1 + math.exp(-0.5)), dtype=torch.float64),
             rtol=1e-10, atol=0, name="sigmoid(0-d tensor 0.5)")
big = torch.tensor([-1000.0, 1000.0], dtype=torch.float64, requires_grad=True)
with forbid(*SIGMOIDS):
    got = sigmoid(big)
assert_close(got, torch.tensor([0.0, 1.0], dtype=torch.float64), atol=1e-12,
             name="sigmoid([-1000, 1000]) (an exp overflowed?)")
(grad,) = torch.autograd.grad(got.sum(), big)
assert_close(grad, torch.zeros(2, dtype=torch.float64), atol=1e-12,
             name="autograd gradient of your sigmoid at [-1000, 1000] "
                  "(nan means an intermediate overflowed to inf)")
x32 = torch.tensor([[-1e4, -100.0, -30.0], [0.0, 30.0, 1e4]], device=device,
                   requires_grad=True)  # float32 on the device
with forbid(*SIGMOIDS):
    got = sigmoid(x32)
assert got.dtype == x32.dtype and got.device == x32.device, (
    f"expected dtype {x32.dtype} on {x32.device}, got {got.dtype} on {got.device}")
# atol: float32 values below 1e-38 are subnormal, with few significant bits
assert_close(got, torch.sigmoid(x32), rtol=1e-5, atol=1e-37,
             name="sigmoid(float32 x of shape (2, 3) on device)")
(grad,) = torch.autograd.grad(got.sum(), x32)
assert bool(torch.isfinite(grad).all()), (
    f"autograd gradient of your sigmoid in float32 is not finite: {grad}")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(3)
for _shape in [(7,), (3, 5), (2, 3, 4), ()]:
    _t = 10 * torch.randn(_shape, generator=_gen, dtype=torch.float64)
    _saved = _t.clone()
    with forbid(*SIGMOIDS):
        _out = sigmoid(_t)
    assert_close(_out, torch.sigmoid(_t), rtol=1e-10, atol=0,
                 name=f"sigmoid(x of shape {_shape})")
    assert torch.equal(_t, _saved), "sigmoid modified its input x"
# float64 stays on the CPU: not every accelerator supports it (Apple's MPS does not)
for _dtype, _dev in [(torch.float32, device), (torch.float64, torch.device("cpu"))]:
    _t = torch.tensor([-1e4, -1000.0, -100.0, -30.0, 0.0, 30.0, 100.0, 1000.0, 1e4],
                      dtype=_dtype, device=_dev, requires_grad=True)
    with forbid(*SIGMOIDS):
        _out = sigmoid(_t)
    assert _out.dtype == _dtype and _out.device == _t.device, (
        f"expected dtype {_dtype} on {_t.device}, got {_out.dtype} on {_out.device}")
    assert_close(_out, torch.sigmoid(_t), rtol=1e-5, atol=1e-37,
                 name=f"sigmoid at extreme values ({_dtype})")
    (_g,) = torch.autograd.grad(_out.sum(), _t)
    assert bool(torch.isfinite(_g).all()), (
        f"autograd gradient of your sigmoid is not finite ({_dtype}): {_g}")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3: `sigmoid_derivative` (1 point)
#
# Use $\sigma' = \sigma(1 - \sigma)$. You may call your `sigmoid` (or
# `torch.sigmoid`), but not autograd (the group `AUTOGRAD`: `backward`,
# `torch.autograd.grad`, `torch.func`...): the tests compare your formula *with*
# autograd. Because $\sigma$ is stable, so is this formula; the equal-on-paper
# $e^{-x} / (1 + e^{-x})^2$ is not (`inf / inf` at $x = -1000$).

# %% grade_id="ch02-sigmoid-derivative"
def sigmoid_derivative(x):
    """The derivative of the sigmoid, sigma(x) * (1 - sigma(x)), elementwise.

    Args:
        x: floating-point tensor of any shape, 0-d included. Not modified.

    Returns:
        Tensor of the same shape, dtype and device as x, with values in
        [0, 0.25] (0.25 at x = 0). Finite for every finite input: 0 at +-1000,
        not nan. No autograd (the group AUTOGRAD of dlcourse.checks: backward,
        torch.autograd.grad, torch.func...).
    """
    ### BEGIN SOLUTION
    s = sigmoid(x)
    return s * (1 - s)
    ### END SOLUTION


# %% grade_id="ch02-sigmoid-derivative-tests" points=1
"""sigmoid_derivative: s * (1 - s), equal to autograd's derivative of sigmoid; finite
at +-1000; any shape, 0-d included; x unchanged; float32 on the device kept; no
autograd inside."""
x = torch.tensor([-1000.0, -2.0, 0.0, 1.0, 1000.0], dtype=torch.float64)
with forbid(*AUTOGRAD):
    got = sigmoid_derivative(x)
s = [1 / (1 + math.exp(-v)) if v > -700 else 0.0 for v in x.tolist()]
expected = torch.tensor([v * (1 - v) for v in s], dtype=torch.float64)
assert_close(got, expected, rtol=1e-10, atol=1e-15,
             name="sigmoid_derivative([-1000, -2, 0, 1, 1000]) (expected s * (1 - s))")
# vs autograd, with AUTOGRAD forbidden inside; x must come back unchanged
assert_derivative_close(sigmoid_derivative, torch.sigmoid,
                        torch.linspace(-6, 6, 12, dtype=torch.float64).reshape(3, 4),
                        forbidden=AUTOGRAD, rtol=1e-9, atol=1e-14,
                        name="sigmoid_derivative(x of shape (3, 4)) vs autograd")
assert_derivative_close(sigmoid_derivative, torch.sigmoid,
                        torch.tensor(-0.7, dtype=torch.float64), forbidden=AUTOGRAD,
                        rtol=1e-9, atol=1e-14, name="sigmoid_derivative(0-d -0.7)")
x32 = torch.tensor([-1e4, -100.0, 0.0, 100.0, 1e4], device=device)  # float32
with forbid(*AUTOGRAD):
    got = sigmoid_derivative(x32)
assert got.dtype == x32.dtype and got.device == x32.device, (
    f"expected dtype {x32.dtype} on {x32.device}, got {got.dtype} on {got.device}")
assert_close(got, torch.tensor([0.0, 0.0, 0.25, 0.0, 0.0], device=device),
             rtol=1e-6, atol=1e-7, name="sigmoid_derivative at extreme float32 values")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(4)
for _shape in [(7,), (3, 5), (2, 1, 3), ()]:
    _t = 8 * torch.randn(_shape, generator=_gen, dtype=torch.float64)
    assert_derivative_close(sigmoid_derivative, torch.sigmoid, _t,
                            forbidden=AUTOGRAD, rtol=1e-9, atol=1e-14,
                            name=f"sigmoid_derivative(x of shape {_shape}) vs autograd")
_t = 30 * torch.randn(4, 3, generator=_gen).to(device)  # float32
with forbid(*AUTOGRAD):
    _out = sigmoid_derivative(_t)
assert _out.dtype == _t.dtype and _out.device == _t.device, (
    f"expected dtype {_t.dtype} on {_t.device}, got {_out.dtype} on {_out.device}")
_s = torch.sigmoid(_t.cpu().double())  # a float64 reference, on the CPU
assert_close(_out, (_s * (1 - _s)).float(), rtol=1e-4, atol=1e-5,
             name="sigmoid_derivative(float32 x of shape (4, 3))")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 4: `relu_derivative` (1 point)
#
# Return 1 where $x > 0$ and 0 elsewhere, **including at exactly $x = 0$**
# (PyTorch's choice). Return it in the dtype of `x`: a boolean mask, or a
# `.float()` that silently turns float64 into float32, is a different tensor.
# Autograd is forbidden here too.

# %% grade_id="ch02-relu-derivative"
def relu_derivative(x):
    """The derivative of relu(x) = max(0, x), elementwise, as PyTorch defines it.

    Args:
        x: floating-point tensor of any shape, 0-d included. Not modified.

    Returns:
        Tensor of the same shape, dtype and device as x: 1 where x > 0 and 0
        where x <= 0. At x == 0 (and -0.0) the value is 0, the subgradient
        that PyTorch's autograd uses for relu. No autograd (the group AUTOGRAD
        of dlcourse.checks).
    """
    ### BEGIN SOLUTION
    return (x > 0).to(x.dtype)
    ### END SOLUTION


# %% grade_id="ch02-relu-derivative-tests" points=1
"""relu_derivative: 1 for x > 0, 0 for x <= 0 (0 at 0 and -0.0, like autograd);
dtype (float64, float32) and device kept; any shape, 0-d included; x unchanged; no
autograd inside."""
x = torch.tensor([-2.0, -0.0, 0.0, 3.0], dtype=torch.float64)
with forbid(*AUTOGRAD):
    got = relu_derivative(x)
assert_close(got, torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=torch.float64),
             name="relu_derivative([-2, -0., 0, 3]) (float64 in, float64 out; "
                  "0 at x = 0)")
assert_derivative_close(relu_derivative, torch.relu,
                        torch.tensor([[0.5, 0.0], [-1.5, 2.0], [0.0, -0.5]],
                                     dtype=torch.float64),
                        forbidden=AUTOGRAD, name="relu_derivative(x of shape (3, 2))")
assert_derivative_close(relu_derivative, torch.relu, torch.tensor(0.0),
                        forbidden=AUTOGRAD, name="relu_derivative(0-d 0.0)")
x32 = torch.tensor([-0.0, 0.0, -1e-30, 1e-30], device=device)  # float32
with forbid(*AUTOGRAD):
    got = relu_derivative(x32)
assert got.dtype == x32.dtype and got.device == x32.device, (
    f"expected dtype {x32.dtype} on {x32.device}, got {got.dtype} on {got.device}")
assert_close(got, torch.tensor([0.0, 0.0, 0.0, 1.0], device=device),
             name="relu_derivative([-0., 0., -1e-30, 1e-30]) in float32 on device")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(5)
for _shape, _dtype in [((7,), torch.float64), ((3, 5), torch.float32),
                       ((2, 2, 3), torch.float64), ((), torch.float64)]:
    # rounding to halves puts many exact zeros in the input
    _t = (2 * torch.randn(_shape, generator=_gen)).round().div(2).to(_dtype)
    assert_derivative_close(relu_derivative, torch.relu, _t, forbidden=AUTOGRAD,
                            name=f"relu_derivative(x of shape {_shape}, {_dtype})")
_t = (torch.randn(4, 5, generator=_gen).round()).to(device)  # float32 with zeros
with forbid(*AUTOGRAD):
    _out = relu_derivative(_t)
assert _out.dtype == _t.dtype and _out.device == _t.device, (
    f"expected dtype {_t.dtype} on {_t.device}, got {_out.dtype} on {_out.device}")
assert_close(_out, (_t > 0).to(_t.dtype), name="relu_derivative(float32 x on device)")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 5: `tanh_derivative` (1 point)
#
# Use $\tanh'(x) = 1 - \tanh^2(x)$. Here `torch.tanh` is allowed (it is stable;
# a tanh written with `torch.exp` gives `inf / inf` at $x = 1000$), autograd is
# not.

# %% grade_id="ch02-tanh-derivative"
def tanh_derivative(x):
    """The derivative of tanh, 1 - tanh(x)**2, elementwise.

    Args:
        x: floating-point tensor of any shape, 0-d included. Not modified.

    Returns:
        Tensor of the same shape, dtype and device as x, with values in [0, 1]
        (1 at x = 0). Finite for every finite input: 0 at +-1000, not nan.
        torch.tanh is allowed; autograd (the group AUTOGRAD of dlcourse.checks:
        backward, torch.autograd.grad, torch.func...) is not.
    """
    ### BEGIN SOLUTION
    return 1 - torch.tanh(x) ** 2
    ### END SOLUTION


# %% grade_id="ch02-tanh-derivative-tests" points=1
"""tanh_derivative: 1 - tanh^2, equal to autograd's derivative of tanh; finite at
+-1000; any shape, 0-d included; x unchanged; float32 on the device kept; no
autograd inside."""
x = torch.tensor([-1000.0, -1.5, 0.0, 0.5, 1000.0], dtype=torch.float64)
with forbid(*AUTOGRAD):
    got = tanh_derivative(x)
expected = torch.tensor([1 - math.tanh(v) ** 2 for v in x.tolist()],
                        dtype=torch.float64)
assert_close(got, expected, rtol=1e-10, atol=1e-15,
             name="tanh_derivative([-1000, -1.5, 0, 0.5, 1000]) (expected 1 - tanh^2)")
assert_derivative_close(tanh_derivative, torch.tanh,
                        torch.linspace(-3, 3, 12, dtype=torch.float64).reshape(4, 3),
                        forbidden=AUTOGRAD, rtol=1e-9, atol=1e-14,
                        name="tanh_derivative(x of shape (4, 3)) vs autograd")
assert_derivative_close(tanh_derivative, torch.tanh,
                        torch.tensor(0.3, dtype=torch.float64), forbidden=AUTOGRAD,
                        rtol=1e-9, atol=1e-14, name="tanh_derivative(0-d 0.3)")
x32 = torch.tensor([-1e4, -100.0, 0.0, 100.0, 1e4], device=device)  # float32
with forbid(*AUTOGRAD):
    got = tanh_derivative(x32)
assert got.dtype == x32.dtype and got.device == x32.device, (
    f"expected dtype {x32.dtype} on {x32.device}, got {got.dtype} on {got.device}")
assert_close(got, torch.tensor([0.0, 0.0, 1.0, 0.0, 0.0], device=device),
             rtol=1e-6, atol=1e-7, name="tanh_derivative at extreme float32 values")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(6)
for _shape in [(7,), (3, 5), (2, 1, 3), ()]:
    _t = 3 * torch.randn(_shape, generator=_gen, dtype=torch.float64)
    assert_derivative_close(tanh_derivative, torch.tanh, _t, forbidden=AUTOGRAD,
                            rtol=1e-9, atol=1e-14,
                            name=f"tanh_derivative(x of shape {_shape}) vs autograd")
_t = 2 * torch.randn(4, 3, generator=_gen).to(device)  # float32
with forbid(*AUTOGRAD):
    _out = tanh_derivative(_t)
assert _out.dtype == _t.dtype and _out.device == _t.device, (
    f"expected dtype {_t.dtype} on {_t.device}, got {_out.dtype} on {_out.device}")
_ref = 1 - torch.tanh(_t.cpu().double()) ** 2  # a float64 reference, on the CPU
assert_close(_out, _ref.float(), rtol=1e-4, atol=1e-5,
             name="tanh_derivative(float32 x of shape (4, 3))")
### END HIDDEN TESTS

# %% [markdown]
# Your analytic derivatives (lines) against your central differences (dots).
# Note how flat the sigmoid's derivative is compared with the others: its peak
# is $1/4$. At ReLU's kink the central difference returns $0.5$, the average of
# the two one-sided slopes: a reminder that relu has no derivative at 0, only a
# convention.

# %%
xs = torch.linspace(-4, 4, 401, dtype=torch.float64)
dots = torch.linspace(-3.9, 3.9, 27, dtype=torch.float64)  # includes x = 0
fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), sharey=True)
panels = [("sigmoid", sigmoid, sigmoid_derivative),
          ("tanh", torch.tanh, tanh_derivative),
          ("relu", torch.relu, relu_derivative)]
for ax, (name, fn, dfn) in zip(axes, panels, strict=True):
    ax.plot(xs, fn(xs), color="gray", lw=1, label=name)
    ax.plot(xs, dfn(xs), lw=2, label=f"{name}' (analytic)")
    ax.plot(dots, numerical_derivative(fn, dots), "o", ms=3, label="central difference")
    ax.set(title=name, xlabel="$x$", ylim=(-1.1, 1.6))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
plt.show()

# %% [markdown]
# ## 2.4 Partial derivatives and the gradient
#
# A loss depends on many parameters at once. For $f(x_1, \dots, x_n)$ the
# **partial derivative** $\partial f / \partial x_i$ is the ordinary derivative
# with respect to $x_i$, all other inputs held fixed. Collected in a vector they
# form the **gradient**
#
# $$\nabla f(x) = \left(\frac{\partial f}{\partial x_1}, \dots,
#   \frac{\partial f}{\partial x_n}\right)^{\!\top}, \qquad
#   f(x + \delta) \approx f(x) + \nabla f(x)^\top \delta.$$
#
# Moving a small distance $t$ along a unit direction $u$ changes $f$ at the rate
# $D_u f(x) = \nabla f(x)^\top u$, the *directional derivative*. By the
# Cauchy-Schwarz inequality $\nabla f^\top u \le \lVert \nabla f \rVert$, with
# equality exactly when $u = \nabla f / \lVert \nabla f \rVert$. Hence:
#
# - the gradient points in the direction of **steepest ascent**, and its length
#   is that steepest rate; $-\nabla f$ is the direction of steepest descent;
# - along a level curve $f$ does not change, so $\nabla f^\top u = 0$ there:
#   the gradient is **perpendicular to the level curves**.
#
# Below, $f(x) = x_1^2 + x_1 x_2 + 3 x_2^2 = \tfrac12 x^\top A x$ with
# $A = \begin{pmatrix} 2 & 1 \\ 1 & 6 \end{pmatrix}$, so
# $\nabla f(x) = A x = (2x_1 + x_2,\; x_1 + 6x_2)$. Left: arrows of $\nabla f$
# cross every contour at a right angle, and gradient descent
# $x \leftarrow x - \eta \nabla f(x)$ walks downhill (zig-zagging across the
# narrow valley, a problem chapter 04 fixes). Right: the directional
# derivative at one point, measured numerically in 360 directions, peaks
# exactly at the gradient's direction, at height $\lVert \nabla f \rVert$.

# %%
A = torch.tensor([[2.0, 1.0], [1.0, 6.0]], dtype=torch.float64)


def bowl(p):
    """f(p) = p^T A p / 2 for points p of shape (..., 2); returns shape (...)."""
    return 0.5 * ((p @ A) * p).sum(-1)


def bowl_grad(p):
    return p @ A  # A is symmetric, so (A p)^T = p^T A; shape (..., 2)


path = [torch.tensor([-1.8, 1.2], dtype=torch.float64)]
for _ in range(25):
    path.append(path[-1] - 0.3 * bowl_grad(path[-1]))

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.5))
plot_contour(bowl, xlim=(-2, 2), ylim=(-2, 2), levels=20, ax=ax0,
             paths={"gradient descent, lr = 0.3": path})
ax0.legend(loc="lower right", fontsize=8)
g = torch.linspace(-1.6, 1.6, 7, dtype=torch.float64)
grid = torch.stack(torch.meshgrid(g, g, indexing="xy"), dim=-1).reshape(-1, 2)
arrows = bowl_grad(grid)
ax0.quiver(grid[:, 0], grid[:, 1], arrows[:, 0], arrows[:, 1], color="C3",
           angles="xy", scale_units="xy", scale=12, width=0.004)
ax0.set_aspect("equal")  # right angles only look right with equal axes
ax0.set_title(r"$f$ with arrows of $\nabla f$ (red)")

p0 = torch.tensor([1.0, 0.5], dtype=torch.float64)
angles = torch.linspace(0, 2 * math.pi, 361, dtype=torch.float64)
u = torch.stack([angles.cos(), angles.sin()], dim=-1)  # (361, 2) unit vectors
t = 1e-5
slopes = (bowl(p0 + t * u) - bowl(p0 - t * u)) / (2 * t)  # D_u f(p0), shape (361,)
grad0 = bowl_grad(p0)
ax1.plot(torch.rad2deg(angles), slopes)
grad_angle = math.degrees(math.atan2(grad0[1].item(), grad0[0].item()))
ax1.axvline(grad_angle, color="C3", ls="--", label=r"direction of $\nabla f(p_0)$")
ax1.axhline(torch.linalg.vector_norm(grad0).item(), color="gray", ls=":",
            label=r"$\|\nabla f(p_0)\|$")
ax1.set(xlabel="direction angle (degrees)", ylabel=r"$D_u f(p_0)$",
        title=r"directional derivative at $p_0 = (1, 0.5)$")
ax1.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## 2.5 Automatic differentiation in PyTorch
#
# Deriving gradients by hand does not scale to a network with millions of
# parameters, and finite differences need two evaluations of the loss *per
# parameter*. PyTorch's **autograd** computes exact gradients (up to rounding)
# of any function you build from tensor operations, at the cost of roughly one
# extra pass.
#
# It works by recording. Every operation on a tensor with `requires_grad=True`
# adds a node to a **computational graph**: a directed graph whose nodes are
# the operations and whose edges say which results fed which operation. Calling
# `.backward()` on a scalar walks that graph from the output back to the inputs,
# applying the chain rule at each node, and *adds* the results into the `.grad`
# attribute of every leaf tensor that requires a gradient.
#
# First, a function whose gradient we know:
# $f(x_1, x_2) = x_1^2 + x_2^3$ has $\nabla f = (2x_1, 3x_2^2)$, which is
# $(4, 27)$ at $(2, 3)$.

# %%
x = torch.tensor([2.0, 3.0], requires_grad=True)
y = x[0] ** 2 + x[1] ** 3
y.backward()
print("y =", y.item(), " x.grad =", x.grad)

# %% [markdown]
# Each result remembers the operation that made it in `grad_fn`, and each
# `grad_fn` points to the nodes of its inputs in `next_functions`. Walking those
# links prints the graph that `backward` will traverse. `AccumulateGrad` nodes
# are the leaves `w` and `b`: that is where gradients are deposited into
# `.grad`. The data `x` needs no gradient, so it has no node at all.

# %%
w = torch.tensor(0.5, requires_grad=True)
b = torch.tensor(-1.0, requires_grad=True)
x = torch.tensor(2.0)  # data: no gradient needed
loss = (torch.sigmoid(w * x + b) - 1.0) ** 2


def show_graph(node, depth=0):
    """Print the backward graph recorded by autograd, from the output down."""
    print("    " * depth + type(node).__name__)
    for child, _ in node.next_functions:
        if child is not None:
            show_graph(child, depth + 1)


show_graph(loss.grad_fn)
loss.backward()
print("dloss/dw =", w.grad.item(), " dloss/db =", b.grad.item())

# %% [markdown]
# ### Gradients accumulate
#
# `backward` **adds** into `.grad`; it never overwrites. That is a feature (the
# gradients of several small batches can be accumulated into one large step,
# chapter 24) and the source of a classic bug: forgetting to reset gradients
# between training steps. Reset with `w.grad = None`, which is what
# `optimizer.zero_grad()` does.

# %%
w = torch.tensor(3.0, requires_grad=True)
for step in range(3):
    (w**2).backward()  # d(w^2)/dw = 6 at w = 3, every time
    print(f"after backward #{step + 1}: w.grad = {w.grad.item()}")
w.grad = None  # start the next step from a clean slate

# %% [markdown]
# ### Turning recording off: `no_grad` and `detach`
#
# A parameter update must not become part of the graph, and an in-place change
# of a leaf that requires a gradient is refused. Inside `with torch.no_grad():`
# nothing is recorded: use it for updates and for evaluation (it also saves
# memory). `t.detach()` returns a tensor that shares `t`'s memory but is cut
# off from the graph.

# %%
lr = 0.1
w = torch.tensor(3.0, requires_grad=True)
(w**2).backward()
try:
    w -= lr * w.grad  # recorded in-place change of a leaf: refused
except RuntimeError as err:
    print("RuntimeError:", str(err).split(".")[0])
with torch.no_grad():
    w -= lr * w.grad  # one gradient-descent step: 3 - 0.1 * 6 = 2.4
w.grad = None
with torch.no_grad():
    y = 2 * w
print(f"w = {w.item():.4g} | requires_grad inside no_grad:", y.requires_grad,
      "| after detach:", (2 * w).detach().requires_grad)

# %% [markdown]
# ### Non-scalar outputs and `torch.autograd.grad`
#
# `backward()` needs a scalar. For a vector output $y = g(x)$ you pass a vector
# $v$ of $y$'s shape, and autograd returns the *vector-Jacobian product*
# $v^\top J$, with $J_{ij} = \partial y_i / \partial x_j$; `v = ones` gives the
# gradient of `y.sum()`. `torch.autograd.grad(output, inputs)` returns the
# gradients instead of accumulating them into `.grad`; the tests of this
# chapter use it.
#
# The last cell checks two claims from section 2.3: the naive sigmoid's
# gradient is `nan` at $x = -1000$ while `torch.sigmoid`'s is 0, and ReLU's
# gradient at exactly 0 is 0.

# %%
x = torch.linspace(-1, 1, 5, requires_grad=True)
y = x**2
try:
    y.backward()
except RuntimeError as err:
    print("RuntimeError:", err)
y.backward(gradient=torch.ones_like(y))
print("x.grad = 2x:", x.grad)

x = torch.tensor([-1000.0, 0.0, 1000.0], requires_grad=True)
naive = 1 / (1 + torch.exp(-x))
for name, out in [("naive sigmoid", naive), ("torch.sigmoid", torch.sigmoid(x)),
                  ("torch.relu", torch.relu(x))]:
    (grad,) = torch.autograd.grad(out.sum(), x)
    print(f"{name:14s} value {out.detach()}  gradient {grad}")

# %% [markdown]
# ## 2.6 Gradient checking
#
# Whenever you write a gradient by hand (a custom layer, a new loss), compare it
# with a numerical estimate before trusting it. The numerical gradient needs no
# calculus at all: perturb one input at a time,
#
# $$\frac{\partial f}{\partial x_i}(x) \approx
#   \frac{f(x + \epsilon e_i) - f(x - \epsilon e_i)}{2\epsilon},$$
#
# where $e_i$ is the tensor with a 1 at position $i$ and zeros elsewhere. It
# costs $2n$ evaluations of $f$ for $n$ inputs, far too slow for training but
# fine for checking a small case. Compare with a **relative error**,
# $\max_i |a_i - b_i| / \max(\max_i |a_i| + \max_i |b_i|, \text{tiny})$, so that
# the bar does not depend on the scale of $f$: in float64, around $10^{-7}$ or
# less is correct, $10^{-3}$ or more means a bug.
#
# ### Exercise 6: `numerical_gradient` (2 points)
#
# `f` maps a whole tensor to a scalar (it is *not* elementwise), so perturb one
# entry at a time and call `f` on a tensor of `x`'s shape. Two traps:
#
# - Do not leave `x` changed. Either perturb a copy, or perturb in place and put
#   the original value back.
# - `x` may be non-contiguous, e.g. a transpose. `x.reshape(-1)` is a view of
#   `x` only when `x` is contiguous; otherwise it is a copy, and writing into it
#   does not change `x`. Build the perturbed inputs so that they do not depend
#   on the memory layout.
#
# Autograd (the group `AUTOGRAD`) is forbidden: the point is a checker that does
# not trust it.

# %% grade_id="ch02-numerical-gradient"
def numerical_gradient(f, x, eps=1e-6):
    """Estimate the gradient of a scalar function by central differences.

    Entry i of the result is (f(x + eps e_i) - f(x - eps e_i)) / (2 eps), where
    e_i is 1 at position i (of any number of dimensions) and 0 elsewhere.

    Args:
        f: a function from a tensor of x's shape, dtype and device to a 0-d
            tensor. Not elementwise: it may mix all entries, so always call it
            on a whole tensor of x's shape.
        x: floating-point tensor of any shape (0-d included) and any memory
            layout (it may be non-contiguous, such as a transpose); it does not
            require grad. On return x holds exactly its original values.
        eps: the step, a positive Python float (the default suits float64).

    Returns:
        Tensor of the same shape, dtype and device as x (f is called
        2 * x.numel() times). No autograd (the group AUTOGRAD of
        dlcourse.checks).
    """
    ### BEGIN SOLUTION
    flat = x.detach().reshape(-1)  # row-major order, whatever x's layout
    grad = torch.zeros_like(flat)
    for i in range(flat.numel()):
        step = torch.zeros_like(flat)
        step[i] = eps
        f_plus = f((flat + step).view(x.shape))  # new tensors: x is never touched
        f_minus = f((flat - step).view(x.shape))
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad.view(x.shape)
    ### END SOLUTION


# %%
# Try it: f(x) = sum(x_i^2) has gradient 2x.
x = torch.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=torch.float64)
print(numerical_gradient(lambda t: (t**2).sum(), x))

# %% grade_id="ch02-numerical-gradient-tests" points=2
"""numerical_gradient: the central formula per entry (3 x^2 + eps^2 for sum(x**3));
matches autograd on any shape (0-d included) and layout (a transpose); x unchanged;
float64 and float32 on the device kept; no autograd inside."""
x = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
x_before = x.clone()
with forbid(*AUTOGRAD):
    got = numerical_gradient(lambda t: (t**2).sum(), x)
assert torch.equal(x, x_before), (
    f"numerical_gradient changed x: it was {x_before.tolist()}, now {x.tolist()}")
# central differences are exact for quadratics, up to rounding (about 1e-9 here)
assert_close(got, 2 * x, rtol=1e-8, atol=1e-8, name="numerical_gradient(sum(x**2), x)")
# sum(x**3) with a large eps pins the formula down: 3 x^2 + eps^2 exactly
with forbid(*AUTOGRAD):
    got = numerical_gradient(lambda t: (t**3).sum(), x, eps=0.1)
assert_close(got, 3 * x**2 + 0.01, rtol=1e-10, atol=1e-12,
             name="numerical_gradient(sum(x**3), x, eps=0.1) (expected 3 x^2 + eps^2)")
M = torch.tensor([[1.0, -1.0, 2.0], [0.5, 3.0, -2.0]], dtype=torch.float64)
with forbid(*AUTOGRAD):
    got = numerical_gradient(lambda t: (M * t).sum(), torch.zeros_like(M))
assert_close(got, M, rtol=1e-8, atol=1e-8, name="numerical_gradient(sum(M * x), x)")
# a transpose is non-contiguous: x.reshape(-1) is then a copy, not a view of x
B = torch.tensor([[1.0, 2.0], [-1.0, 0.5], [3.0, -2.0]], dtype=torch.float64)
xt = torch.tensor([[0.5, -1.0, 2.0, 1.5], [1.0, 0.0, -0.5, 2.0],
                   [-2.0, 1.0, 0.5, -1.5]], dtype=torch.float64).t()  # (4, 3)
xt_before = xt.clone()
with forbid(*AUTOGRAD):
    got = numerical_gradient(lambda t: ((t @ B) ** 2).sum(), xt)
assert torch.equal(xt, xt_before), "numerical_gradient changed a transposed x"
assert_close(got, 2 * (xt @ B) @ B.T, rtol=1e-6, atol=1e-7,
             name="numerical_gradient(sum((x @ B)**2), x transposed, shape (4, 3))")
x0 = torch.tensor(0.7, dtype=torch.float64)  # 0-d
with forbid(*AUTOGRAD):
    got = numerical_gradient(lambda t: t**3 + torch.exp(t), x0)
assert_close(got, 3 * x0**2 + torch.exp(x0), rtol=1e-7, atol=1e-8,
             name="numerical_gradient(x**3 + exp(x), 0-d x = 0.7)")
x32 = torch.linspace(-1, 1, 6, device=device).reshape(2, 3)  # float32
with forbid(*AUTOGRAD):
    got = numerical_gradient(lambda t: (t**2).sum(), x32, eps=1e-2)
assert got.dtype == x32.dtype and got.device == x32.device, (
    f"expected dtype {x32.dtype} on {x32.device}, got {got.dtype} on {got.device}")
assert_close(got, 2 * x32, rtol=1e-3, atol=1e-3,
             name="numerical_gradient(sum(x**2), float32 x on device, eps=1e-2)")
### BEGIN HIDDEN TESTS
_grid = torch.tensor([[-1.5, 0.0], [2.0, 0.5]], dtype=torch.float64)
with forbid(*AUTOGRAD):
    _out = numerical_gradient(lambda t: (t**3).sum(), _grid, eps=0.2)
assert_close(_out, 3 * _grid**2 + 0.04, rtol=1e-10, atol=1e-12,
             name="numerical_gradient(sum(x**3), x, eps=0.2)")
_gen = torch.Generator().manual_seed(7)
_B = torch.randn(3, 5, generator=_gen, dtype=torch.float64)
_cases = [  # (function, input): f mixes entries and needs the input's shape
    (lambda t: (torch.sin(t) * t.flip(-1)).sum() + t.prod(),
     torch.randn(3, 5, generator=_gen, dtype=torch.float64)),
    (lambda t: (t @ _B).pow(2).sum(),  # a transpose: non-contiguous, shape (4, 3)
     torch.randn(3, 4, generator=_gen, dtype=torch.float64).t()),
    (lambda t: torch.logsumexp(t, dim=-1).sum(),  # a strided slice
     torch.randn(2, 3, 4, generator=_gen, dtype=torch.float64)[:, :, ::2]),
    (lambda t: torch.sin(t) * t, torch.tensor(-1.3, dtype=torch.float64)),
    (lambda t: (t * t.roll(1)).sum(),  # a single entry
     torch.randn(1, generator=_gen, dtype=torch.float64)),
]
for _f, _t in _cases:
    _saved = _t.clone()
    with forbid(*AUTOGRAD):
        _out = numerical_gradient(_f, _t)
    _leaf = _t.clone().requires_grad_(True)
    (_want,) = torch.autograd.grad(_f(_leaf), _leaf)
    assert_close(_out, _want, rtol=1e-6, atol=1e-7,
                 name=f"numerical_gradient vs autograd, x of shape {tuple(_t.shape)}")
    assert torch.equal(_t, _saved), (
        f"numerical_gradient changed x (shape {tuple(_t.shape)})")
_t = torch.linspace(-1, 1, 12, device=device).reshape(3, 4).t()  # float32, (4, 3)
with forbid(*AUTOGRAD):
    _out = numerical_gradient(lambda t: (t**3).sum(), _t, eps=1e-2)
assert _out.dtype == _t.dtype and _out.device == _t.device, (
    f"expected dtype {_t.dtype} on {_t.device}, got {_out.dtype} on {_out.device}")
assert_close(_out, 3 * _t**2 + 1e-4, rtol=1e-3, atol=1e-3,  # 3 x^2 + eps^2
             name="numerical_gradient(sum(x**3), float32 transposed x on device)")
### END HIDDEN TESTS

# %% [markdown]
# Now use it as a checker. In float64 the numerical gradient agrees with
# autograd to about $10^{-10}$. In float32 with the same tiny $\epsilon$ the
# round-off error $\varepsilon_{32} / \epsilon \approx 0.1$ swamps everything:
# the comparison says nothing. Check gradients in float64.
#
# The second half of the cell shows *why* nobody trains with finite
# differences: for $n$ inputs they cost $2n$ evaluations, while reverse-mode
# autograd gets all $n$ partial derivatives from a single backward pass.

# %%
def rel_error(a, b):
    scale = (a.abs().max() + b.abs().max()).clamp_min(1e-30)
    return ((a - b).abs().max() / scale).item()


def wiggly(t):
    return (torch.tanh(t) * t.flip(0) + 0.1 * t**3).sum()


for dtype in [torch.float64, torch.float32]:
    x = torch.linspace(-2, 2, 9, dtype=dtype)
    numeric = numerical_gradient(wiggly, x)
    xr = x.clone().requires_grad_(True)
    (exact,) = torch.autograd.grad(wiggly(xr), xr)
    print(f"{str(dtype):14s} relative error numerical vs autograd: "
          f"{rel_error(numeric, exact):.1e}")

x = torch.randn(2000, dtype=torch.float64)
start = time.perf_counter()
numerical_gradient(wiggly, x)
t_numeric = time.perf_counter() - start
start = time.perf_counter()
xr = x.clone().requires_grad_(True)
wiggly(xr).backward()
t_autograd = time.perf_counter() - start
print(f"n = {x.numel()}: finite differences {t_numeric * 1e3:.0f} ms, "
      f"autograd {t_autograd * 1e3:.1f} ms")

# %% [markdown]
# ## 2.7 The chain rule and backpropagation
#
# For $y = f(g(x))$ the chain rule says $\dfrac{dy}{dx} = f'(g(x))\, g'(x)$. With
# many variables, if $L$ depends on $x$ through intermediate values
# $z_1, \dots, z_m$, the contributions of all paths add up:
#
# $$\frac{\partial L}{\partial x} = \sum_{j=1}^{m}
#   \frac{\partial L}{\partial z_j}\, \frac{\partial z_j}{\partial x}.$$
#
# **Backpropagation** applies this to the computational graph from the output
# backwards. Each node receives $\partial L / \partial(\text{its output})$, the
# *upstream gradient*, and hands $\partial L / \partial(\text{each input})$ to
# its inputs. Each node only needs its own local derivative, and every
# intermediate gradient is computed once and reused: this is why the backward
# pass costs only a small multiple (typically about twice) of the forward pass,
# however many parameters there are.
#
# Our network has $N$ examples with $D$ features, $H$ hidden units and $K$
# outputs:
#
# ```
# x (N, D) --> a = x W1^T + b1 (N, H) --> h = relu(a) --> y_hat = h W2^T + b2 (N, K)
#                                                               |
#                                y (N, K) --> L = mean((y_hat - y)^2) over all N*K
# ```
#
# Three local rules are all you need. We write $G_Z$ for
# $\partial L / \partial Z$; it always has the shape of $Z$.
#
# 1. **Mean squared error** $L = \frac{1}{NK} \sum_{n,k} (\hat y_{nk} - y_{nk})^2$:
#    $\quad G_{\hat y} = \dfrac{2}{NK} (\hat y - y)$.
# 2. **Linear layer** $Y = X W^\top + b$, i.e.
#    $Y_{nk} = \sum_j X_{nj} W_{kj} + b_k$. Given $G_Y$, the chain rule summed
#    over $n$ gives
#    $$G_W = G_Y^\top X, \qquad G_b = \sum_n G_{Y,n:}, \qquad G_X = G_Y W.$$
#    A useful sanity check: each gradient must have its variable's shape, and
#    there is only one way to multiply the available matrices to get it.
# 3. **ReLU** $h = \operatorname{relu}(a)$:
#    $G_a = G_h \odot \mathbb{1}[a > 0]$ (elementwise; 0 where $a \le 0$).
#
# Apply them from the loss back to the first layer. Note that the mean is over
# all $N K$ entries (as in `torch.nn.functional.mse_loss`), and that the
# biases, shared by every example, collect a sum over the batch.
#
# ### Exercise 7: `two_layer_backward` (3 points)
#
# Matrix products, `torch.relu` and elementwise operations are all allowed;
# autograd (the group `AUTOGRAD`) is not.

# %% grade_id="ch02-two-layer-backward"
def two_layer_backward(x, y, W1, b1, W2, b2):
    """Gradients of a two-layer ReLU network's MSE loss, by hand (no autograd).

    N >= 1 is the batch size, D the number of input features, H the number
    of hidden units and K the number of outputs. The network and loss are

        a     = x @ W1.T + b1             # (N, H)
        h     = relu(a)                   # (N, H)
        y_hat = h @ W2.T + b2             # (N, K)
        loss  = ((y_hat - y) ** 2).mean() # mean over all N * K entries

    which is torch.nn.functional.mse_loss(y_hat, y) with reduction="mean".

    Args:
        x: inputs, shape (N, D).
        y: targets, shape (N, K).
        W1: first-layer weights, shape (H, D); b1: its bias, shape (H,).
        W2: second-layer weights, shape (K, H); b2: its bias, shape (K,).
        All are floating-point tensors of one dtype on one device; none
        requires grad, and none is modified.

    Returns:
        dict with exactly the keys "W1", "b1", "W2", "b2": the gradient of
        loss with respect to that parameter, with the parameter's shape and
        the inputs' dtype and device. relu'(0) is taken as 0, as autograd
        does. No autograd (the group AUTOGRAD of dlcourse.checks: backward,
        torch.autograd.grad, torch.func...).
    """
    ### BEGIN SOLUTION
    a = x @ W1.T + b1  # (N, H)
    h = a.clamp(min=0)  # (N, H)
    y_hat = h @ W2.T + b2  # (N, K)
    g_y_hat = 2 * (y_hat - y) / y.numel()  # (N, K)
    g_h = g_y_hat @ W2  # (N, H)
    g_a = g_h * (a > 0)  # relu mask, 0 where a <= 0
    return {"W1": g_a.T @ x, "b1": g_a.sum(0), "W2": g_y_hat.T @ h,
            "b2": g_y_hat.sum(0)}
    ### END SOLUTION


# %% [markdown]
# Try it: compare with autograd on a small random network. In float64 every
# maximum difference should be $10^{-15}$ or less (often exactly 0).

# %%
gen = torch.Generator().manual_seed(0)
N, D, H, K = 4, 3, 5, 2  # distinct sizes: a transposed gradient cannot fit
x = torch.randn(N, D, generator=gen, dtype=torch.float64)
y = torch.randn(N, K, generator=gen, dtype=torch.float64)
params = {"W1": torch.randn(H, D, generator=gen, dtype=torch.float64),
          "b1": torch.randn(H, generator=gen, dtype=torch.float64),
          "W2": torch.randn(K, H, generator=gen, dtype=torch.float64),
          "b2": torch.randn(K, generator=gen, dtype=torch.float64)}
mine = two_layer_backward(x, y, **params)
leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
y_hat = torch.relu(x @ leaves["W1"].T + leaves["b1"]) @ leaves["W2"].T + leaves["b2"]
torch.nn.functional.mse_loss(y_hat, y).backward()
for k in params:
    diff = (mine[k] - leaves[k].grad).abs().max().item()
    print(f"{k}: shape {tuple(mine[k].shape)}, max |mine - autograd| = {diff:.1e}")

# %% grade_id="ch02-two-layer-backward-tests" points=3
"""two_layer_backward: a dict of the 4 gradients with the parameters' shapes, equal
to autograd's in float64 (distinct sizes, N = 1, exact zeros where relu'(0) = 0
matters) and in float32 on the device; inputs unchanged; no autograd inside."""
def autograd_reference(inputs, targets, weights):
    """The gradients of the same loss, from autograd (outside the exercise)."""
    leaf = {name: w.clone().requires_grad_(True) for name, w in weights.items()}
    hidden = torch.relu(inputs @ leaf["W1"].T + leaf["b1"])
    loss = torch.nn.functional.mse_loss(hidden @ leaf["W2"].T + leaf["b2"], targets)
    return dict(zip(leaf, torch.autograd.grad(loss, list(leaf.values())), strict=True))


def check_backward(inputs, targets, weights, label, rtol=1e-10, atol=1e-12):
    named = {"x": inputs, "y": targets, **weights}
    copies = {name: t.clone() for name, t in named.items()}
    with forbid(*AUTOGRAD):
        out = two_layer_backward(inputs, targets, **weights)
    assert isinstance(out, dict) and set(out) == set(weights), (
        f"{label}: expected a dict with keys W1, b1, W2, b2, got "
        f"{type(out).__name__} {sorted(out) if isinstance(out, dict) else ''}")
    want = autograd_reference(inputs, targets, weights)
    for name, w in weights.items():
        assert_shape(out[name], tuple(w.shape), name=f'{label}: grads["{name}"]')
        assert out[name].dtype == w.dtype and out[name].device == w.device, (
            f'{label}: grads["{name}"] should be {w.dtype} on {w.device}, got '
            f"{out[name].dtype} on {out[name].device}")
        assert_close(out[name], want[name], rtol=rtol, atol=atol,
                     name=f'{label}: grads["{name}"] vs autograd')
    for name, t in named.items():
        assert torch.equal(t, copies[name]), (
            f"{label}: two_layer_backward modified {name}")


def random_network(n, d, hid, k, gen):
    """x (n, d), y (n, k) and the weights, float64 from the generator gen."""
    shapes = {"W1": (hid, d), "b1": (hid,), "W2": (k, hid), "b2": (k,)}
    weights = {name: torch.randn(s, generator=gen, dtype=torch.float64)
               for name, s in shapes.items()}
    return (torch.randn(n, d, generator=gen, dtype=torch.float64),
            torch.randn(n, k, generator=gen, dtype=torch.float64), weights)


gen = torch.Generator().manual_seed(1)
# distinct sizes N, D, H, K: a transposed gradient cannot have the right shape
check_backward(*random_network(4, 3, 5, 2, gen), "N=4, D=3, H=5, K=2 (float64)")
check_backward(*random_network(1, 2, 3, 4, gen), "N=1, D=2, H=3, K=4 (float64)")
# small integers make pre-activations exactly 0, where relu'(0) = 0 matters
ints = torch.Generator().manual_seed(12)


def small_ints(*shape):
    return torch.randint(-2, 3, shape, generator=ints).to(torch.float64)


weights = {"W1": small_ints(6, 3), "b1": small_ints(6), "W2": small_ints(2, 6),
           "b2": small_ints(2)}
check_backward(small_ints(8, 3), small_ints(8, 2), weights,
               "exact zeros in a = x W1^T + b1")
# the same network in float32, on the device in use (cast on the CPU first)
weights = {name: w.float().to(device) for name, w in weights.items()}
check_backward(torch.randn(8, 3, generator=gen).to(device),
               torch.randn(8, 2, generator=gen).to(device),
               weights, f"float32 on {device}", rtol=1e-4, atol=1e-5)
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(11)
for _sizes in [(5, 3, 7, 2), (1, 4, 6, 3), (9, 2, 3, 1), (6, 5, 4, 7)]:
    check_backward(*random_network(*_sizes, _gen), f"N, D, H, K = {_sizes}")
_ints = torch.Generator().manual_seed(13)
_w = {name: torch.randint(-1, 2, s, generator=_ints).to(torch.float64)
      for name, s in {"W1": (5, 4), "b1": (5,), "W2": (3, 5), "b2": (3,)}.items()}
check_backward(torch.randint(-1, 2, (7, 4), generator=_ints).to(torch.float64),
               torch.randint(-1, 2, (7, 3), generator=_ints).to(torch.float64),
               _w, "exact zeros in a (another network)")
_x, _y, _w = random_network(6, 4, 5, 3, _gen)
check_backward(_x.float().to(device), _y.float().to(device),
               {name: w.float().to(device) for name, w in _w.items()},
               f"float32 on {device}, N=6, D=4, H=5, K=3", rtol=1e-4, atol=1e-5)
### END HIDDEN TESTS

# %% [markdown]
# ### Payoff: training with your own backpropagation
#
# Gradients are all a training loop needs. Below, the network learns
# $y = \sin(2x)$ from 64 noisy points with plain gradient descent; every
# gradient comes from your `two_layer_backward`, and the update
# $\theta \leftarrow \theta - \eta\, G_\theta$ is what `optimizer.step()` does
# for SGD. Before training, a gradient check on $W_1$ with your
# `numerical_gradient` (in float64, as section 2.6 recommends) confirms that the
# two exercises agree.

# %%
gen = torch.Generator().manual_seed(0)
N, H = 64, 32
x = torch.linspace(-2, 2, N, dtype=torch.float64).unsqueeze(1)  # (N, 1)
y = torch.sin(2 * x) + 0.1 * torch.randn(N, 1, generator=gen, dtype=torch.float64)
params = {"W1": 1.5 * torch.randn(H, 1, generator=gen, dtype=torch.float64),
          "b1": 2 * torch.rand(H, generator=gen, dtype=torch.float64) - 1,
          "W2": 0.1 * torch.randn(1, H, generator=gen, dtype=torch.float64),
          "b2": torch.zeros(1, dtype=torch.float64)}


def mse(params, x, y):
    h = torch.relu(x @ params["W1"].T + params["b1"])
    return ((h @ params["W2"].T + params["b2"] - y) ** 2).mean()


numeric = numerical_gradient(lambda W1: mse({**params, "W1": W1}, x, y), params["W1"])
mine = two_layer_backward(x, y, **params)["W1"]
print(f"gradient check on W1: relative error {rel_error(mine, numeric):.1e}")

# float32 on the course device for the training itself
# (cast on the CPU first: some accelerators have no float64)
params = {k: v.float().to(device) for k, v in params.items()}
x, y = x.float().to(device), y.float().to(device)
lr, num_steps, losses = 0.02, 2000, []
for _ in range(num_steps):
    losses.append(mse(params, x, y).item())
    grads = two_layer_backward(x, y, **params)
    for k in params:
        params[k] -= lr * grads[k]

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 3.5))
plot_curves({"training loss": losses}, xlabel="step", ylabel="MSE", logy=True, ax=ax0)
ax1.plot(x.cpu(), y.cpu(), "o", ms=3, label="data")
with torch.no_grad():
    fit = torch.relu(x @ params["W1"].T + params["b1"]) @ params["W2"].T + params["b2"]
ax1.plot(x.cpu(), fit.cpu(), lw=2, label="network")
ax1.plot(x.cpu(), torch.sin(2 * x).cpu(), "k--", lw=1, label="sin(2x)")
ax1.legend()
plt.show()
print(f"final training loss {losses[-1]:.4f} (the noise alone gives about 0.01)")

# %% [markdown]
# ## 2.8 Softmax and cross-entropy: the gradient $p - y$
#
# A classifier with $C$ classes ends with a linear layer that outputs one
# *logit* per class, $z \in \mathbb{R}^C$. The softmax turns the logits into
# probabilities and the cross-entropy loss is the negative log-probability of
# the correct class $y$ (chapter 03 explains where this loss comes from; here we
# only need its gradient):
#
# $$p_j = \frac{e^{z_j}}{\sum_{k=1}^{C} e^{z_k}}, \qquad
#   \ell(z) = -\log p_y = -z_y + \log \sum_{k=1}^{C} e^{z_k}.$$
#
# **Directly.** The second form has two terms, and the derivative of the
# log-sum-exp is the softmax itself:
#
# $$\frac{\partial \ell}{\partial z_j} = -\mathbb{1}[j = y]
#   + \frac{e^{z_j}}{\sum_k e^{z_k}} = p_j - \mathbb{1}[j = y],
#   \qquad \nabla_z \ell = p - e_y,$$
#
# where $e_y$ is the *one-hot* vector of the target: 1 at position $y$, 0
# elsewhere.
#
# **Through the chain rule.** The quotient rule gives the softmax's Jacobian,
# $\partial p_i / \partial z_j = p_i\,(\mathbb{1}[i = j] - p_j)$, and
# $\partial \ell / \partial p_i = -\mathbb{1}[i = y] / p_y$. Only $i = y$
# survives the sum over $i$:
#
# $$\frac{\partial \ell}{\partial z_j}
#   = \sum_{i=1}^{C} \frac{\partial \ell}{\partial p_i}
#     \frac{\partial p_i}{\partial z_j}
#   = -\frac{1}{p_y}\, p_y\,(\mathbb{1}[y = j] - p_j)
#   = p_j - \mathbb{1}[j = y].$$
#
# The $1 / p_y$ cancels on paper. In floating point it does not, if you compute
# the two steps separately: when $p_y$ underflows to 0 the loss is `inf` and the
# gradient `nan` (the cell below shows it). That is why PyTorch fuses the two
# steps into one `cross_entropy` (which computes a log-softmax directly), and
# why backpropagation implements the fused gradient $p - e_y$.
#
# **A batch.** With logits $Z$ of shape $(N, C)$, targets $y_1, \dots, y_N$ and
# the mean $L = \frac{1}{N} \sum_n \ell_n$ (what
# `torch.nn.functional.cross_entropy` returns by default), row $n$ of $Z$ only
# enters $\ell_n$, so
#
# $$G_Z = \frac{\partial L}{\partial Z} = \frac{1}{N}\,(P - Y),$$
#
# with $P$ the row-wise softmax of $Z$ and $Y$ the $(N, C)$ matrix of one-hot
# rows. Three things to read off it:
#
# - every row of $G_Z$ sums to 0, because both $p$ and $e_y$ sum to 1;
# - the entry of the correct class is $(p_y - 1) / N \le 0$, every other entry
#   is $p_j / N \ge 0$: a gradient-descent step raises the correct logit and
#   lowers each wrong one in proportion to the probability it took;
# - the entries stay in $[-1/N, 1/N]$ and the gradient is largest when the
#   prediction is worst ($p_y \to 0$): it does not vanish when the softmax
#   saturates on a wrong answer.

# %%
z = torch.tensor([[1e4, 0.0, -1e4]], dtype=torch.float64, requires_grad=True)
target = torch.tensor([2])  # the class with the smallest logit
p = torch.softmax(z, dim=1)
two_step = -torch.log(p[0, 2])
(g_two_step,) = torch.autograd.grad(two_step, z)
fused = torch.nn.functional.cross_entropy(z, target)
(g_fused,) = torch.autograd.grad(fused, z)
one_hot = torch.nn.functional.one_hot(target, 3).to(z.dtype)
print(f"p = {p.tolist()}")
print(f"softmax then -log: loss {two_step.item()}, gradient {g_two_step.tolist()}")
print(f"cross_entropy:     loss {fused.item()}, gradient {g_fused.tolist()}")
print(f"p - one_hot:       {(p - one_hot).tolist()}")

# %% [markdown]
# ### Exercise 8: `softmax_cross_entropy_grad` (2 points)
#
# Compute $G_Z = (P - Y) / N$ without autograd (the group `AUTOGRAD` is
# forbidden). Here the softmax is **allowed**: `torch.softmax`,
# `torch.log_softmax` and `torch.nn.functional.softmax` are stable (they
# subtract the row maximum before exponentiating), and chapter 03 has you write
# a log-softmax yourself. `torch.nn.functional.one_hot` is allowed too: pass it
# `num_classes=C`, because a batch need not contain every class. Mind the axis
# of the softmax (over the classes, for each example) and the $1 / N$ of the
# mean.

# %% grade_id="ch02-softmax-cross-entropy-grad"
def softmax_cross_entropy_grad(logits, targets):
    """The gradient of the mean cross-entropy loss with respect to the logits.

    N >= 1 is the batch size and C the number of classes. The loss is

        p    = softmax(logits, dim=1)                         # (N, C)
        loss = -(1 / N) * (sum over n of log p[n, targets[n]])

    which is torch.nn.functional.cross_entropy(logits, targets) with its
    default reduction "mean". Its gradient is (p - one_hot(targets)) / N.

    Args:
        logits: floating-point tensor of shape (N, C) with finite values, as
            large as 1e4 in absolute value. Not modified.
        targets: int64 tensor of shape (N,) on the device of logits: the class
            of each example, in 0 .. C - 1 (a batch need not contain every
            class). Not modified.

    Returns:
        Tensor of shape (N, C) with the dtype and device of logits, finite for
        every finite input (no nan at logits of 1e4). torch.softmax,
        torch.log_softmax and torch.nn.functional.one_hot are allowed; autograd
        (the group AUTOGRAD of dlcourse.checks) is not.
    """
    ### BEGIN SOLUTION
    num_examples, num_classes = logits.shape
    probs = torch.softmax(logits, dim=1)  # (N, C); stable: subtracts the row max
    one_hot = torch.nn.functional.one_hot(targets, num_classes).to(logits.dtype)
    return (probs - one_hot) / num_examples
    ### END SOLUTION


# %%
# Try it: equal logits give p = 1/3 for every class; rows sum to 0.
grad = softmax_cross_entropy_grad(torch.zeros(2, 3, dtype=torch.float64),
                                  torch.tensor([0, 2]))
print(grad, grad.sum(dim=1))

# %% grade_id="ch02-softmax-cross-entropy-grad-tests" points=2
"""softmax_cross_entropy_grad: (softmax(logits) - one_hot(targets)) / N, equal to
autograd's gradient of F.cross_entropy in float64 (distinct N and C, N = 1, a class
absent from the batch), finite at logits of +-1e4; float32 on the device kept;
inputs unchanged; no autograd inside."""
def cross_entropy_reference(logits, targets):
    """Autograd's gradient of the mean cross-entropy (outside the exercise)."""
    leaf = logits.clone().requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(leaf, targets)
    return torch.autograd.grad(loss, leaf)[0]


def check_ce_grad(logits, targets, label, rtol=1e-10, atol=1e-13):
    saved_logits, saved_targets = logits.clone(), targets.clone()
    with forbid(*AUTOGRAD):
        out = softmax_cross_entropy_grad(logits, targets)
    assert_shape(out, tuple(logits.shape), name=label)
    assert out.dtype == logits.dtype and out.device == logits.device, (
        f"{label}: expected dtype {logits.dtype} on {logits.device}, got "
        f"{out.dtype} on {out.device}")
    assert_close(out, cross_entropy_reference(logits, targets), rtol=rtol,
                 atol=atol, name=f"{label} vs autograd")
    assert torch.equal(logits, saved_logits), f"{label}: logits were modified"
    assert torch.equal(targets, saved_targets), f"{label}: targets were modified"


# by hand: equal logits give p = 1/3 everywhere, and N = 2 halves P - Y
with forbid(*AUTOGRAD):
    got = softmax_cross_entropy_grad(torch.zeros(2, 3, dtype=torch.float64),
                                     torch.tensor([0, 2]))
expected = torch.tensor([[-2.0, 1.0, 1.0], [1.0, 1.0, -2.0]], dtype=torch.float64) / 6
assert_close(got, expected, rtol=1e-12, atol=1e-15,
             name="softmax_cross_entropy_grad(zeros (2, 3), targets [0, 2])")
gen = torch.Generator().manual_seed(8)
check_ce_grad(torch.randn(5, 3, generator=gen, dtype=torch.float64),
              torch.tensor([2, 0, 1, 1, 0]), "N=5, C=3 (float64)")
check_ce_grad(torch.randn(1, 4, generator=gen, dtype=torch.float64),
              torch.tensor([0]), "N=1, C=4, target 0 (classes 1-3 absent)")
check_ce_grad(torch.tensor([[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0]], dtype=torch.float64),
              torch.tensor([2, 1]), "logits of +-1e4 (nan means an exp overflowed)")
check_ce_grad(3 * torch.randn(4, 6, generator=gen).to(device),
              torch.tensor([5, 0, 3, 3], device=device),
              f"N=4, C=6, float32 on {device}", rtol=1e-4, atol=1e-6)
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(9)
for _n, _c, _scale in [(7, 2, 1.0), (3, 10, 5.0), (1, 5, 1.0), (6, 4, 1e3),
                       (2, 9, 1e4)]:
    _logits = _scale * torch.randn(_n, _c, generator=_gen, dtype=torch.float64)
    _targets = torch.randint(0, _c, (_n,), generator=_gen)
    check_ce_grad(_logits, _targets, f"N={_n}, C={_c}, logits of scale {_scale:g}")
_logits = 1e3 * torch.randn(5, 3, generator=_gen)  # float32, large
check_ce_grad(_logits.to(device), torch.tensor([1, 1, 0, 2, 1], device=device),
              f"N=5, C=3, float32 logits of scale 1e3 on {device}", rtol=1e-4,
              atol=1e-6)
### END HIDDEN TESTS

# %% [markdown]
# Why the fused gradient matters for learning: take two classes, logits
# $(m, 0)$ and correct class 0, so that the *margin* $m$ is how far the correct
# logit leads. The plot compares the gradient on the correct logit for
# cross-entropy (your function, times $N$ to get one example's gradient) with the
# gradient of a squared error $\lVert p - e_y \rVert^2$ between the
# probabilities and the one-hot target. When the prediction is badly wrong
# ($m \ll 0$) cross-entropy pushes hardest, close to $-1$, while the squared
# error saturates with the softmax and gives almost nothing to learn from.

# %%
margins = torch.linspace(-10, 10, 201, dtype=torch.float64)
two_logits = torch.stack([margins, torch.zeros_like(margins)], dim=1)  # (201, 2)
labels = torch.zeros(len(margins), dtype=torch.long)  # class 0 is correct
ce_grad = softmax_cross_entropy_grad(two_logits, labels)[:, 0] * len(margins)
leaf = two_logits.clone().requires_grad_(True)
probs = torch.softmax(leaf, dim=1)
sq_error = ((probs - torch.nn.functional.one_hot(labels, 2)) ** 2).sum()
(sq_grad,) = torch.autograd.grad(sq_error, leaf)
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(margins, ce_grad, lw=2, label="cross-entropy: $p_y - 1$")
ax.plot(margins, sq_grad[:, 0], lw=2, label=r"squared error $\|p - e_y\|^2$")
ax.axhline(0, color="gray", lw=0.5)
ax.set(xlabel="margin $m$ of the correct logit",
       ylabel="gradient on the correct logit")
ax.legend()
plt.show()
print(f"at m = -10: cross-entropy {ce_grad[0].item():.4f}, "
      f"squared error {sq_grad[0, 0].item():.1e}")

# %% [markdown]
# ## 2.9 Summary
#
# - The derivative is the slope of the tangent and gives the linear
#   approximation $f(x + h) \approx f(x) + f'(x) h$; stepping against it
#   lowers a loss.
# - Central differences have $O(h^2)$ truncation error, forward ones $O(h)$;
#   round-off adds $O(\varepsilon / h)$, so the best step is around
#   $\varepsilon^{1/3}$ and numerical checks belong in float64.
# - $\sigma' = \sigma(1 - \sigma) \le 1/4$, $\tanh' = 1 - \tanh^2 \le 1$,
#   $\operatorname{relu}'(x) = \mathbb{1}[x > 0]$ (0 at 0 in PyTorch). Compute
#   them so that no intermediate overflows: equal formulas are not equally
#   stable, for values or for gradients.
# - The gradient points in the direction of steepest ascent and is
#   perpendicular to level sets.
# - Autograd records a graph of operations on tensors with
#   `requires_grad=True`; `backward()` applies the chain rule from the output and
#   **adds** into `.grad` (reset it each step); `torch.no_grad()` stops
#   recording.
# - Backpropagation is the chain rule run backwards with three local rules
#   (loss, linear, activation). Check hand-written gradients numerically.
# - Softmax followed by cross-entropy has the gradient $(P - Y) / N$ with
#   respect to the logits: no division by a probability, bounded, and largest
#   when the prediction is worst. Frameworks fuse the two steps for that reason.
#
# Next, chapter 03 builds the probability behind loss functions (cross-entropy,
# a stable log-softmax), and chapter 04 turns gradients into optimizers
# (momentum, Adam).
