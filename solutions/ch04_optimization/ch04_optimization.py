# %% [markdown]
# # Chapter 4: Optimization
#
# Training a network means finding parameters $\theta$ that make a loss
# $L(\theta)$ small. There is no formula for them, so we walk downhill: start
# somewhere, compute the gradient, take a small step against it, repeat. Every
# optimizer in `torch.optim` is a variation on that loop, and the variations
# matter: the same model can train in minutes, crawl for hours, or blow up to
# `nan`, depending only on the update rule and its learning rate.
#
# In this chapter you will
#
# 1. run **gradient descent** and see what the learning rate does, with the
#    exact answer for quadratic losses;
# 2. meet the landscapes that make it struggle: **ravines**, **local minima**
#    and **saddle points**;
# 3. implement the three update rules behind almost all deep learning,
#    **SGD with momentum**, **Adam** and **AdamW**, and match `torch.optim`
#    to floating-point precision;
# 4. compare them on the Rosenbrock function and on a real classifier.
#
# | exercise | what it computes | checked against |
# |---|---|---|
# | `gradient_descent` | the path of plain gradient descent | `torch.optim.SGD` |
# | `sgd_momentum_step` | one step of SGD with momentum | `torch.optim.SGD` |
# | `adam_step` | one step of Adam (L2 weight decay) | `torch.optim.Adam` |
# | `adamw_step` | one step of AdamW (decoupled decay) | `torch.optim.AdamW` |
#
# **Conventions.** All four exercises are *functional*: they return new
# tensors and never modify their arguments. (`torch.optim` updates parameters
# in place; returning them instead lets us keep whole paths and test them.)
# The hidden tests run your step functions for 50 steps next to `torch.optim`
# in float64, with several shapes and hyperparameters, and expect the paths to
# agree to a relative error of about $10^{-8}$. Results must keep the input's
# dtype and device.

# %%
import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

from dlcourse import get_device, set_seed
from dlcourse.checks import (
    assert_close,
    assert_shape,
    forbid,
    random_quadratic,
    reference_path,
)
from dlcourse.data import load_tabular, train_test_split
from dlcourse.plotting import plot_contour, plot_curves
from dlcourse.widgets import interactive_plot

device = get_device()
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
# gradient is a noisy but unbiased estimate of the full one, and far cheaper.
# `torch.optim.SGD` does not know or care where the gradient came from: the
# "stochastic" lives in your data loader.
#
# ### Exercise 1: `gradient_descent` (2 points)
#
# Implement plain gradient descent that returns the **whole path**: a tensor
# whose row $k$ is $\theta_k$, starting with $\theta_0 = $ `x0`. The loss itself
# is never needed, only its gradient, passed in as a function `grad_fn`.
# Do not modify `x0` (no in-place `-=` on it) and do not use `torch.optim`.

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
        num_steps: the number of updates, an int >= 0.

    Returns:
        A new tensor of shape (num_steps + 1, *S) with the dtype and device of
        ``x0``. Row 0 equals ``x0`` and row k (k >= 1) is the point after k
        updates, ``x_k = x_{k-1} - lr * grad_fn(x_{k-1})``. With
        ``num_steps=0`` the result is just ``x0`` with a leading axis of size 1.
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
"""gradient_descent: path of shape (num_steps + 1, *x0.shape) that starts at x0;
the closed form on small quadratics; torch.optim.SGD on random quadratics of
several shapes (num_steps 0, 1, 37), float32 and float64, on the device; x0 is
never modified; torch.optim is not used."""
path = gradient_descent(lambda x: 4 * x, torch.tensor(3.0, dtype=torch.float64),
                        lr=0.1, num_steps=3)
assert_shape(path, (4,), name="gradient_descent(4x, x0=tensor(3.), lr=0.1, "
             "num_steps=3): num_steps + 1 points, x0 first")
assert_close(path, torch.tensor([3.0, 1.8, 1.08, 0.648], dtype=torch.float64),
             name="path for f(x) = 2x^2 from x0 = 3 (each step multiplies x by 0.6)")
x0 = torch.tensor([1.0, -2.0])
x0_before = x0.clone()
path = gradient_descent(lambda x: x, x0, lr=0.5, num_steps=2)
assert_close(path, torch.tensor([[1.0, -2.0], [0.5, -1.0], [0.25, -0.5]]),
             name="path for f(x) = |x|^2 / 2 from x0 = [1, -2] with lr=0.5")
assert_close(x0, x0_before, rtol=0, atol=0,
             name="x0 after the call (it must not be modified)")
### BEGIN HIDDEN TESTS
def _torch_sgd_path(grad_fn, start, lr, num_steps):
    path, _state = reference_path(lambda params: torch.optim.SGD(params, lr=lr),
                                  grad_fn, start, num_steps)
    return torch.cat([start[None], path])  # row 0 is x0


cases = [((), 0, 0.3, 37), ((5,), 1, 0.2, 37), ((3, 4), 2, 0.1, 1),
         ((2, 3, 5), 3, 0.05, 37), ((7,), 4, 0.1, 0), ((1,), 5, 0.4, 12)]
for shape, seed, lr, num_steps in cases:
    grad_fn, start = random_quadratic(shape, seed)
    start_before = start.clone()
    with forbid("torch.optim.SGD", "torch.optim.sgd.sgd"):
        got = gradient_descent(grad_fn, start, lr, num_steps)
    label = f"path, x0 of shape {shape}, lr={lr}, num_steps={num_steps}"
    assert_close(got, _torch_sgd_path(grad_fn, start, lr, num_steps),
                 rtol=1e-10, atol=1e-12, name=label)
    assert_close(start, start_before, rtol=0, atol=0,
                 name=f"x0 after the call ({label}); it must not be modified")
for dev in ["cpu"] + ([str(device)] if device.type != "cpu" else []):
    grad_fn, start = random_quadratic((4, 3), 7, dtype=torch.float32, device=dev)
    got = gradient_descent(grad_fn, start, 0.1, 20)
    assert got.device == start.device, f"path: expected device {start.device}, " \
        f"got {got.device}"
    assert_close(got, _torch_sgd_path(grad_fn, start, 0.1, 20), rtol=1e-5,
                 atol=1e-6, name=f"float32 path on {dev}")
### END HIDDEN TESTS

# %% [markdown]
# ## 4.2 Choosing the learning rate
#
# Quadratic losses can be solved exactly, and near a minimum every smooth loss
# looks quadratic, so they tell us what the learning rate does. Take
# $L(x) = \tfrac12 x^\top A x$ with $A$ symmetric positive definite, eigenvalues
# $0 < \lambda_{\min} \le \dots \le \lambda_{\max}$. Then $\nabla L(x) = Ax$ and
#
# $$x_{k+1} = x_k - \eta A x_k = (I - \eta A)\, x_k .$$
#
# Along the $i$-th eigenvector of $A$ each step multiplies the coordinate by
# $1 - \eta\lambda_i$. Three consequences:
#
# * **Divergence.** The path converges only if $|1 - \eta\lambda_i| < 1$ for
#   every $i$, that is $0 < \eta < 2/\lambda_{\max}$. Above that, the steepest
#   direction overshoots further at every step and the loss explodes. (In a
#   network $A$ is the Hessian of the loss; a learning rate above this limit
#   is the most common source of `loss = nan`.)
# * **Slowness.** The flattest direction shrinks by only $1 - \eta\lambda_{\min}$
#   per step. The best fixed learning rate, $\eta^\ast = 2/(\lambda_{\min} +
#   \lambda_{\max})$, balances the two ends and shrinks the error by
#   $\frac{\kappa - 1}{\kappa + 1}$ per step, where
#   $\kappa = \lambda_{\max}/\lambda_{\min}$ is the **condition number**.
# * **Oscillation.** For $1/\lambda_i < \eta < 2/\lambda_i$ the factor is
#   negative: that coordinate flips sign at every step while it shrinks.
#
# Our running example is the "ravine" $L(x) = \tfrac12(x_1^2 + 25x_2^2)$, so
# $A = \mathrm{diag}(1, 25)$ and $\kappa = 25$: divergence above
# $\eta = 0.08$, best rate $\eta^\ast = 1/13 \approx 0.077$, and even then
# the error shrinks only by a factor $12/13$ per step.

# %%
ravine_scales = torch.tensor([1.0, 25.0], dtype=torch.float64)  # eigenvalues of A
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
# $v_1 = g_1$, which is the same thing.) Unrolling the recursion,
# $v_k = g_k + \mu g_{k-1} + \mu^2 g_{k-2} + \dots$: a sum of past gradients
# with geometrically fading weights. Two effects follow.
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
# **A common mistake, and the one in this course's source notes.** Many texts
# write momentum as an exponential moving average,
# $u_k = \mu u_{k-1} + (1-\mu) g_k$ with $\theta_k = \theta_{k-1} - \eta' u_k$.
# That is *not* what `torch.optim.SGD` computes. By induction (both start at 0)
# $u_k = (1-\mu) v_k$, so the two forms trace exactly the same path when
# $\eta = (1-\mu)\eta'$: they differ only in what the number called "learning
# rate" means. The trap is in copying hyperparameters: a learning rate tuned
# for the EMA form, used in `torch.optim.SGD(momentum=0.9)`, gives steps ten
# times too large.
#
# **Weight decay.** `torch.optim.SGD(..., weight_decay=lam)` adds
# $\lambda\theta$ to the gradient *before* the momentum update:
# $g_k = \nabla L(\theta_{k-1}) + \lambda\theta_{k-1}$. That is exactly the
# gradient of the penalised loss $L(\theta) + \tfrac{\lambda}{2}\lVert\theta
# \rVert^2$ (an **L2 penalty**).
#
# ### Exercise 2: `sgd_momentum_step` (3 points)
#
# Implement one step of `torch.optim.SGD` with `momentum`, `weight_decay`,
# `dampening=0` and `nesterov=False`. The velocity you return must equal the
# `momentum_buffer` that PyTorch keeps in `optimizer.state[param]`. Do not
# modify any argument and do not use `torch.optim`.

# %% grade_id="ch04-sgd-momentum"
def sgd_momentum_step(param, grad, velocity, lr, momentum, weight_decay=0.0):
    """One step of SGD with momentum, exactly as ``torch.optim.SGD`` does it.

    With ``g = grad + weight_decay * param``::

        new_velocity = momentum * velocity + g    (just g on the first step)
        new_param    = param - lr * new_velocity

    S below is the shape of ``param`` (any shape).

    Args:
        param: the current parameters, a floating-point tensor of shape S.
        grad: the gradient of the loss at ``param``, shape S, same dtype and
            device.
        velocity: ``None`` on the first step (no history yet; a tensor of zeros
            means the same), afterwards the ``new_velocity`` returned by the
            previous call, shape S.
        lr: the learning rate eta, a float > 0.
        momentum: the momentum factor mu, a float in [0, 1); 0 gives plain
            SGD (then new_velocity is just g).
        weight_decay: the L2 penalty factor lambda, a float >= 0, added to the
            gradient as above.

    Returns:
        ``(new_param, new_velocity)``: two new tensors of shape S with the dtype
        and device of ``param``. ``new_velocity`` equals
        ``torch.optim.SGD``'s ``state[param]["momentum_buffer"]``. No argument
        is modified.
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
# could survive. Then a check that the EMA form with learning rate $\eta'$ is
# torch's form with $\eta = (1-\mu)\eta'$.

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

# The EMA form (lr_ema = 0.1) against torch's form (lr = (1 - mu) * 0.1).
mu, lr_ema = 0.9, 0.1
x_ema, u = x_start, torch.zeros_like(x_start)
for _ in range(40):
    u = mu * u + (1 - mu) * ravine_grad(x_ema)
    x_ema = x_ema - lr_ema * u
gap = (x_ema - momentum_path((1 - mu) * lr_ema, mu)[-1]).abs().max().item()
print(f"EMA form vs torch form with lr scaled by (1 - mu): max difference {gap:.1e}")

# %% [markdown]
# ### Using `torch.optim`, and a widget to play with
#
# From here on we also use PyTorch's own optimizers. Every training loop has
# the same three lines: clear the old gradients, backpropagate, step.
# `optimize_2d` below runs that loop on a function of two variables and records
# the path; the widget uses it with `torch.optim.SGD`, so it works even before
# you solve the exercises. Move the sliders: find the learning rate where plain
# gradient descent (momentum 0) diverges, then see how far you can push
# momentum before it starts to circle.

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


def show_sgd(lr=0.03, momentum=0.5):
    """Draw the SGD path on the ravine for one learning rate and momentum."""
    path = optimize_2d(ravine, lambda params: torch.optim.SGD(
        params, lr=lr, momentum=momentum), x_start, num_steps=60)
    fig, ax = plt.subplots(figsize=(5, 4))
    plot_contour(ravine, xlim=(-4.5, 4.5), ylim=(-2.0, 2.0), levels=20, ax=ax,
                 paths={f"lr = {lr:.3g}, momentum = {momentum:.2f}": path})
    ax.set_xlim(-4.5, 4.5)  # a diverging path would otherwise stretch the axes
    ax.set_ylim(-2.0, 2.0)
    ax.set_title(f"loss after 60 steps: {ravine(path[-1]).item():.3g}")


interactive_plot(
    show_sgd,
    lr=widgets.FloatLogSlider(value=0.03, base=10, min=-3, max=-0.5, step=0.05,
                              description="lr"),
    momentum=widgets.FloatSlider(value=0.5, min=0.0, max=0.99, step=0.01,
                                 description="momentum"))

# %% grade_id="ch04-sgd-momentum-tests" points=3
"""sgd_momentum_step: two steps by hand (velocity None then a tensor; the EMA form
with a (1 - momentum) factor fails), weight decay added to the gradient; 50-step
paths and velocities equal to torch.optim.SGD for several shapes, learning rates,
momenta and weight decays, float32 and float64, on the device; zeros as the first
velocity equal None; no argument is modified; torch.optim is not used."""
p = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
g = torch.tensor([0.5, 1.0, -1.0], dtype=torch.float64)
p1, v1 = sgd_momentum_step(p, g, None, lr=0.1, momentum=0.9)
assert_close(v1, g, name="velocity after the first step (velocity=None): torch "
             "sets it to the gradient itself, with no (1 - momentum) factor")
assert_close(p1, torch.tensor([0.95, -2.1, 3.1], dtype=torch.float64),
             name="param after the first step (param - lr * grad)")
p2, v2 = sgd_momentum_step(p1, g, v1, lr=0.1, momentum=0.9)
assert_close(v2, torch.tensor([0.95, 1.9, -1.9], dtype=torch.float64),
             name="velocity after the second step (momentum * velocity + grad)")
assert_close(p2, torch.tensor([0.855, -2.29, 3.29], dtype=torch.float64),
             name="param after the second step (param - lr * new velocity)")
args = (p, g, v1)
saved = [a.clone() for a in args]
p_wd, v_wd = sgd_momentum_step(p, g, v1, lr=0.1, momentum=0.9, weight_decay=0.5)
assert_close(v_wd, torch.tensor([1.45, 0.9, -0.4], dtype=torch.float64),
             name="velocity with weight_decay=0.5 (momentum * velocity + grad "
             "+ weight_decay * param)")
assert_close(p_wd, torch.tensor([0.855, -2.09, 3.04], dtype=torch.float64),
             name="param with weight_decay=0.5")
for arg, before, arg_name in zip(args, saved, ("param", "grad", "velocity"),
                                 strict=True):
    assert_close(arg, before, rtol=0, atol=0,
                 name=f"{arg_name} after the call (it must not be modified)")
### BEGIN HIDDEN TESTS
def _check_against_torch(shape, seed, lr, mu, wd, dtype=torch.float64, dev="cpu",
                         first_velocity=None, num_steps=50):
    grad_fn, start = random_quadratic(shape, seed, dtype, dev)
    ref_path, ref_state = reference_path(lambda params: torch.optim.SGD(
        params, lr=lr, momentum=mu, weight_decay=wd), grad_fn, start, num_steps)
    x, vel, path = start, first_velocity, []
    with forbid("torch.optim.SGD", "torch.optim.sgd.sgd"):
        for _step in range(num_steps):
            x, vel = sgd_momentum_step(x, grad_fn(x), vel, lr, mu, wd)
            path.append(x)
    label = (f"shape {shape}, lr={lr}, momentum={mu}, weight_decay={wd}, "
             f"{dtype}, {dev}")
    assert x.device == start.device and vel.device == start.device, \
        f"results on {x.device} / {vel.device}, expected {start.device} ({label})"
    tol = dict(rtol=1e-8, atol=1e-10) if dtype == torch.float64 else \
        dict(rtol=1e-4, atol=1e-5)
    assert_close(torch.stack(path), ref_path, name=f"param path "
                 f"(row k = after step k + 1) vs torch.optim.SGD, {label}", **tol)
    if mu > 0:
        assert_close(vel, ref_state["momentum_buffer"], name="velocity after "
                     f"{num_steps} steps vs torch's momentum_buffer, {label}", **tol)


configs = [(0.1, 0.9, 0.0), (0.05, 0.5, 0.1), (0.2, 0.0, 0.0), (0.02, 0.99, 0.3),
           (0.1, 0.9, 0.01)]
for seed, shape in enumerate([(5,), (3, 4), (1,), (2, 3, 5)]):
    for lr, mu, wd in configs:
        _check_against_torch(shape, seed, lr, mu, wd)
_check_against_torch((4, 3), 9, 0.05, 0.9, 0.1,
                     first_velocity=torch.zeros(4, 3, dtype=torch.float64))
for dev in ["cpu"] + ([str(device)] if device.type != "cpu" else []):
    _check_against_torch((6, 5), 10, 0.05, 0.9, 0.01, dtype=torch.float32, dev=dev,
                         num_steps=20)
gen = torch.Generator().manual_seed(11)
inputs = [torch.randn(3, 7, generator=gen, dtype=torch.float64) for _ in range(3)]
copies = [x.clone() for x in inputs]
out = sgd_momentum_step(*inputs, lr=0.1, momentum=0.9, weight_decay=0.1)
assert isinstance(out, tuple) and len(out) == 2, \
    f"expected a tuple (new_param, new_velocity), got {type(out).__name__}"
for label, now, before in zip(("param", "grad", "velocity"), inputs, copies,
                              strict=True):
    assert torch.equal(now, before), (f"{label} was changed by the call on "
                                      "random (3, 7) inputs: arguments must "
                                      "not be modified")
### END HIDDEN TESTS

# %% [markdown]
# ## 4.5 Adam
#
# Momentum fixes the *direction* problem, but one learning rate still has to
# suit every parameter, and in a network the gradient scales of different
# weights differ by orders of magnitude. **RMSprop** divides each coordinate's
# step by a running root-mean-square of its own gradients, so every coordinate
# moves at a similar pace. **Adam** (Kingma and Ba, 2015) combines that with
# momentum. For step $t = 1, 2, \dots$ with $m_0 = v_0 = 0$ (all operations
# elementwise):
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
# $g_t = \nabla L(\theta_{t-1}) + \lambda\theta_{t-1}$ before anything else.
# Section 4.6 shows why that is a poor idea for Adam.

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
# ### Exercise 3: `adam_step` (3 points)
#
# Implement one step of `torch.optim.Adam` (with `amsgrad=False`), including
# its L2 `weight_decay`. The caller keeps the state: `m` and `v` start as zeros
# and the step number `t` starts at 1. Return new tensors; do not modify any
# argument and do not use `torch.optim`.

# %% grade_id="ch04-adam"
def adam_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
              weight_decay=0.0):
    """One step of Adam, exactly as ``torch.optim.Adam`` (amsgrad=False) does it.

    With ``g = grad + weight_decay * param`` (L2 penalty) and
    ``beta1, beta2 = betas``::

        new_m = beta1 * m + (1 - beta1) * g
        new_v = beta2 * v + (1 - beta2) * g**2
        m_hat = new_m / (1 - beta1**t)
        v_hat = new_v / (1 - beta2**t)
        new_param = param - lr * m_hat / (sqrt(v_hat) + eps)

    S below is the shape of ``param`` (any shape).

    Args:
        param: the current parameters, a floating-point tensor of shape S.
        grad: the gradient of the loss at ``param``, shape S, same dtype and
            device.
        m: the first-moment estimate, shape S: zeros
            (``torch.zeros_like(param)``) before the first step, afterwards the
            ``new_m`` returned by the previous call.
        v: the second-moment estimate, shape S: zeros before the first step,
            afterwards the ``new_v`` returned by the previous call.
        t: the number of this step, an int counting from 1 (t = 1 on the first
            call; the caller adds 1 after every call).
        lr: the learning rate eta, a float > 0.
        betas: ``(beta1, beta2)``, floats in [0, 1).
        eps: a float > 0 added to ``sqrt(v_hat)``, outside the square root.
        weight_decay: the L2 penalty factor lambda, a float >= 0, added to the
            gradient as above.

    Returns:
        ``(new_param, new_m, new_v)``: three new tensors of shape S with the
        dtype and device of ``param``. ``new_m`` and ``new_v`` equal
        ``torch.optim.Adam``'s ``state[param]["exp_avg"]`` and
        ``state[param]["exp_avg_sq"]``. No argument is modified.
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
"""adam_step: the first step by hand (bias correction, eps outside the square
root), three steps against torch.optim.Adam; hidden: 50-step paths and final
m, v equal to torch.optim.Adam for several shapes, learning rates, betas, eps and
weight decays (L2 in the gradient), float32 and float64, on the device; no
argument is modified; torch.optim is not used."""
p = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
g = torch.tensor([0.5, -4.0, 0.0], dtype=torch.float64)
m0, v0 = torch.zeros_like(p), torch.zeros_like(p)
args = (p, g, m0, v0)
saved = [a.clone() for a in args]
p1, m1, v1 = adam_step(p, g, m0, v0, 1, lr=0.1)
assert_close(m1, torch.tensor([0.05, -0.4, 0.0], dtype=torch.float64),
             name="m after the first step ((1 - beta1) * grad)")
assert_close(v1, torch.tensor([0.00025, 0.016, 0.0], dtype=torch.float64),
             name="v after the first step ((1 - beta2) * grad**2)")
assert_close(p1, torch.tensor([0.9, -1.9, 3.0], dtype=torch.float64),
             name="param after the first step: with bias correction (t = 1) every "
             "coordinate moves by lr * sign(grad), a zero gradient does not move")
for arg, before, arg_name in zip(args, saved, ("param", "grad", "m", "v"),
                                 strict=True):
    assert_close(arg, before, rtol=0, atol=0,
                 name=f"{arg_name} after the call (it must not be modified)")
ref = p.clone().requires_grad_()
opt = torch.optim.Adam([ref], lr=0.1, betas=(0.8, 0.9), eps=0.1)
x, m, v = p, m0, v0
for t in range(1, 4):
    step_grad = x * x - 1  # a gradient that depends on where we are
    x, m, v = adam_step(x, step_grad, m, v, t, lr=0.1, betas=(0.8, 0.9), eps=0.1)
    ref.grad = ref.detach() * ref.detach() - 1
    opt.step()
    assert_close(x, ref.detach(), name=f"param after step t={t} vs "
                 "torch.optim.Adam(lr=0.1, betas=(0.8, 0.9), eps=0.1)")
### BEGIN HIDDEN TESTS
def _check_against_torch(shape, seed, lr, betas, eps, wd, dtype=torch.float64,
                         dev="cpu", num_steps=50):
    grad_fn, start = random_quadratic(shape, seed, dtype, dev)
    ref_path, state = reference_path(lambda params: torch.optim.Adam(
        params, lr=lr, betas=betas, eps=eps, weight_decay=wd), grad_fn, start,
        num_steps)
    x, m, v = start, torch.zeros_like(start), torch.zeros_like(start)
    path = []
    with forbid("torch.optim.Adam", "torch.optim.AdamW", "torch.optim.adam.adam",
                "torch.optim.adamw.adamw"):
        for step_t in range(1, num_steps + 1):
            x, m, v = adam_step(x, grad_fn(x), m, v, step_t, lr=lr, betas=betas,
                                eps=eps, weight_decay=wd)
            path.append(x)
    label = (f"shape {shape}, lr={lr}, betas={betas}, eps={eps}, "
             f"weight_decay={wd}, {dtype}, {dev}")
    assert x.device == start.device, \
        f"new_param on {x.device}, expected {start.device} ({label})"
    tol = dict(rtol=1e-8, atol=1e-10) if dtype == torch.float64 else \
        dict(rtol=1e-4, atol=1e-5)
    assert_close(torch.stack(path), ref_path, name=f"param path "
                 f"(row k = after step t = k + 1) vs torch.optim.Adam, {label}", **tol)
    assert_close((m, v), (state["exp_avg"], state["exp_avg_sq"]),
                 name=f"(m, v) after {num_steps} steps vs torch's (exp_avg, "
                 f"exp_avg_sq), {label}", **tol)


configs = [(0.1, (0.9, 0.999), 1e-8, 0.0), (0.05, (0.5, 0.9), 0.1, 0.3),
           (0.01, (0.0, 0.99), 1e-6, 0.0), (0.2, (0.95, 0.9999), 1e-3, 0.01)]
for seed, shape in enumerate([(5,), (3, 4), (1,), (2, 3, 5)]):
    for lr, betas, eps, wd in configs:
        _check_against_torch(shape, seed, lr, betas, eps, wd)
for dev in ["cpu"] + ([str(device)] if device.type != "cpu" else []):
    _check_against_torch((6, 5), 10, 0.05, (0.9, 0.999), 1e-8, 0.01,
                         dtype=torch.float32, dev=dev, num_steps=20)
gen = torch.Generator().manual_seed(11)
inputs = [torch.randn(3, 7, generator=gen, dtype=torch.float64) for _ in range(4)]
inputs[3] = inputs[3].abs()  # a second moment is never negative
copies = [x.clone() for x in inputs]
out = adam_step(*inputs, 4, lr=0.1, weight_decay=0.1)
assert isinstance(out, tuple) and len(out) == 3, \
    f"expected a tuple (new_param, new_m, new_v), got {type(out).__name__}"
for label, now, before in zip(("param", "grad", "m", "v"), inputs, copies,
                              strict=True):
    assert torch.equal(now, before), (f"{label} was changed by the call on "
                                      "random (3, 7) inputs: arguments must "
                                      "not be modified")
### END HIDDEN TESTS

# %% [markdown]
# ## 4.6 AdamW: decoupled weight decay
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
# ### Exercise 4: `adamw_step` (2 points)
#
# Implement one step of `torch.optim.AdamW` (with `amsgrad=False`). You may call
# your `adam_step`. Return new tensors; do not modify any argument and do not
# use `torch.optim`.

# %% grade_id="ch04-adamw"
def adamw_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
               weight_decay=1e-2):
    """One step of AdamW, exactly as ``torch.optim.AdamW`` (amsgrad=False) does it.

    The weights are decayed first, then an Adam step uses the raw gradient
    (``beta1, beta2 = betas``)::

        decayed   = param * (1 - lr * weight_decay)
        new_m     = beta1 * m + (1 - beta1) * grad
        new_v     = beta2 * v + (1 - beta2) * grad**2
        m_hat     = new_m / (1 - beta1**t)
        v_hat     = new_v / (1 - beta2**t)
        new_param = decayed - lr * m_hat / (sqrt(v_hat) + eps)

    S below is the shape of ``param`` (any shape).

    Args:
        param, grad, m, v, t, lr, betas, eps: as in ``adam_step`` (shape S;
            m and v zeros before the first step; t counts from 1).
        weight_decay: the decoupled decay factor lambda, a float >= 0 (PyTorch's
            default is 0.01). It never enters m or v.

    Returns:
        ``(new_param, new_m, new_v)``: three new tensors of shape S with the
        dtype and device of ``param``, equal to ``torch.optim.AdamW``'s
        parameter, ``state[param]["exp_avg"]`` and
        ``state[param]["exp_avg_sq"]``. No argument is modified.
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
"""adamw_step: the first step by hand (decay applied before the Adam step and
never to m or v; a zero gradient still decays), the torch defaults
(weight_decay=0.01); hidden: 50-step paths and final m, v equal to
torch.optim.AdamW for several shapes, learning rates, betas, eps and weight
decays, float32 and float64, on the device; no argument is modified; torch.optim
is not used."""
p = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
g = torch.tensor([0.5, -4.0, 0.0], dtype=torch.float64)
m0, v0 = torch.zeros_like(p), torch.zeros_like(p)
args = (p, g, m0, v0)
saved = [a.clone() for a in args]
p1, m1, v1 = adamw_step(p, g, m0, v0, 1, lr=0.1, weight_decay=0.5)
assert_close(m1, torch.tensor([0.05, -0.4, 0.0], dtype=torch.float64),
             name="m after the first step (from the raw gradient: no decay term)")
assert_close(v1, torch.tensor([0.00025, 0.016, 0.0], dtype=torch.float64),
             name="v after the first step (from the raw gradient: no decay term)")
assert_close(p1, torch.tensor([0.85, -1.8, 2.85], dtype=torch.float64),
             name="param after the first step: param * (1 - lr * wd) = "
             "[0.95, -1.9, 2.85], then minus lr * sign(grad)")
for arg, before, arg_name in zip(args, saved, ("param", "grad", "m", "v"),
                                 strict=True):
    assert_close(arg, before, rtol=0, atol=0,
                 name=f"{arg_name} after the call (it must not be modified)")
ref = p.clone().requires_grad_()
opt = torch.optim.AdamW([ref])
x, m, v = p, m0, v0
for t in range(1, 4):
    x, m, v = adamw_step(x, g, m, v, t)
    ref.grad = g.clone()
    opt.step()
    assert_close(x, ref.detach(), name=f"param after step t={t} vs "
                 "torch.optim.AdamW with its defaults (weight_decay=0.01)")
### BEGIN HIDDEN TESTS
def _check_against_torch(shape, seed, lr, betas, eps, wd, dtype=torch.float64,
                         dev="cpu", num_steps=50):
    grad_fn, start = random_quadratic(shape, seed, dtype, dev)
    ref_path, state = reference_path(lambda params: torch.optim.AdamW(
        params, lr=lr, betas=betas, eps=eps, weight_decay=wd), grad_fn, start,
        num_steps)
    x, m, v = start, torch.zeros_like(start), torch.zeros_like(start)
    path = []
    with forbid("torch.optim.Adam", "torch.optim.AdamW", "torch.optim.adam.adam",
                "torch.optim.adamw.adamw"):
        for step_t in range(1, num_steps + 1):
            x, m, v = adamw_step(x, grad_fn(x), m, v, step_t, lr=lr, betas=betas,
                                 eps=eps, weight_decay=wd)
            path.append(x)
    label = (f"shape {shape}, lr={lr}, betas={betas}, eps={eps}, "
             f"weight_decay={wd}, {dtype}, {dev}")
    assert x.device == start.device, \
        f"new_param on {x.device}, expected {start.device} ({label})"
    tol = dict(rtol=1e-8, atol=1e-10) if dtype == torch.float64 else \
        dict(rtol=1e-4, atol=1e-5)
    assert_close(torch.stack(path), ref_path, name=f"param path "
                 f"(row k = after step t = k + 1) vs torch.optim.AdamW, {label}",
                 **tol)
    assert_close((m, v), (state["exp_avg"], state["exp_avg_sq"]),
                 name=f"(m, v) after {num_steps} steps vs torch's (exp_avg, "
                 f"exp_avg_sq), {label}", **tol)


configs = [(0.1, (0.9, 0.999), 1e-8, 0.01), (0.05, (0.5, 0.9), 0.1, 0.3),
           (0.01, (0.0, 0.99), 1e-6, 0.0), (0.2, (0.95, 0.9999), 1e-3, 1.0)]
for seed, shape in enumerate([(5,), (3, 4), (1,), (2, 3, 5)]):
    for lr, betas, eps, wd in configs:
        _check_against_torch(shape, seed, lr, betas, eps, wd)
for dev in ["cpu"] + ([str(device)] if device.type != "cpu" else []):
    _check_against_torch((6, 5), 10, 0.05, (0.9, 0.999), 1e-8, 0.1,
                         dtype=torch.float32, dev=dev, num_steps=20)
gen = torch.Generator().manual_seed(11)
inputs = [torch.randn(3, 7, generator=gen, dtype=torch.float64) for _ in range(4)]
inputs[3] = inputs[3].abs()  # a second moment is never negative
copies = [x.clone() for x in inputs]
out = adamw_step(*inputs, 4, lr=0.1, weight_decay=0.1)
assert isinstance(out, tuple) and len(out) == 3, \
    f"expected a tuple (new_param, new_m, new_v), got {type(out).__name__}"
for label, now, before in zip(("param", "grad", "m", "v"), inputs, copies,
                              strict=True):
    assert torch.equal(now, before), (f"{label} was changed by the call on "
                                      "random (3, 7) inputs: arguments must "
                                      "not be modified")
### END HIDDEN TESTS

# %% [markdown]
# ## 4.7 Putting them side by side
#
# ### The Rosenbrock function
#
# $f(x, y) = (1 - x)^2 + 100\,(y - x^2)^2$ is the classic test for optimizers:
# a narrow curved valley whose floor falls gently towards the minimum $f = 0$
# at $(1, 1)$. Its curvature across the valley is about a thousand times the
# curvature along it, a ravine that also bends. We start at the traditional
# $(-1.2, 1)$ and give each optimizer 1000 steps with a roughly tuned learning
# rate (plain gradient descent diverges above about $1.5 \cdot 10^{-3}$).
# The contour plot shows $\log(1 + f)$ so that the valley is visible.

# %%
def rosenbrock(x):
    """(1 - x1)^2 + 100 (x2 - x1^2)^2 for x of shape (..., 2); minimum 0 at (1, 1)."""
    return (1 - x[..., 0]) ** 2 + 100 * (x[..., 1] - x[..., 0] ** 2) ** 2


rosen_start = torch.tensor([-1.2, 1.0], dtype=torch.float64)
optimizers = {
    "SGD lr=1e-3": lambda ps: torch.optim.SGD(ps, lr=1e-3),
    "SGD momentum=0.9 lr=1e-4": lambda ps: torch.optim.SGD(ps, lr=1e-4, momentum=0.9),
    "SGD momentum=0.9 lr=1e-3": lambda ps: torch.optim.SGD(ps, lr=1e-3, momentum=0.9),
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
# the oscillations across it stay in check, and it reaches the minimum. Adam
# rescales each coordinate by its own gradient size and gets there too, with a
# learning rate that would make plain gradient descent explode.
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
# ## 4.8 Summary
#
# * Gradient descent: $\theta \leftarrow \theta - \eta g$. On a quadratic it
#   converges iff $\eta < 2/\lambda_{\max}$, at a speed set by the condition
#   number. Too small is slow, slightly too large diverges.
# * Ravines, local minima and saddle points (plateaus) are what makes plain
#   gradient descent slow or stuck.
# * Momentum (PyTorch form): $v \leftarrow \mu v + g$, $\theta \leftarrow
#   \theta - \eta v$. The moving-average form only rescales the learning rate
#   by $1/(1-\mu)$; never copy learning rates between the two.
# * Adam: per-coordinate steps of about $\eta$ from bias-corrected moving
#   averages of $g$ and $g^2$; $t$ counts from 1; $\varepsilon$ sits outside
#   the square root.
# * AdamW: shrink the weights by $1 - \eta\lambda$, then take an Adam step with
#   the raw gradient. With Adam, an L2 penalty is *not* weight decay.
#
# **Good defaults.** AdamW with $\eta \approx 10^{-3}$ (smaller for large
# transformers) and $\lambda$ between 0.01 and 0.1 is a safe first choice;
# SGD with momentum 0.9 and a tuned $\eta$ remains strong for convolutional
# networks. Whatever you choose, search the learning rate on a log scale
# first. Learning-rate schedules, warm-up and gradient clipping come in
# chapters 16 and 24.
