# %% [markdown]
# # Chapter 08: The multi-layer perceptron
#
# The multi-layer perceptron (MLP) is the oldest deep network and still the
# building block inside almost every modern one: the feed-forward part of a
# transformer, the head of a CNN and the value network of a game-playing agent
# are all MLPs. This chapter builds one from its equations, shows why a hidden
# layer is what lets it learn anything a linear model cannot, watches it
# approximate a function better and better as it gets wider, trains one on
# handwritten digits, and ends with where an MLP is the right tool and where a
# network with more structure wins.
#
# **You will learn**
# - the maths of a layer, $z = Wx + b$ followed by an activation, and of a
#   stack of layers, with every shape written out;
# - why a stack of linear layers without activations is still one linear map,
#   and why XOR is the smallest problem that needs a hidden layer;
# - what the universal approximation theorem says, a proof of it in one
#   dimension, and what it does not promise;
# - how to write a configurable `DeepMLP` with dropout; why a batch norm in
#   every block, a common textbook variant, fails on a batch of one; two
#   classic mistakes: an activation after the output layer (which formulas
#   written with the activation on every layer suggest) and forgetting
#   `model.eval()`;
# - how many parameters an MLP has, and why that number explodes on images;
# - how to train an MLP on digits to over 95% test accuracy in a few seconds,
#   and when to reach for a CNN, an RNN or a transformer instead.
#
# **Graded exercises** (14 points)
#
# | exercise | points |
# |---|---|
# | `mlp_forward(x, weights, biases, activation)` | 3 |
# | `xor_weights(dtype, device)` | 2 |
# | `DeepMLP(input_size, hidden_sizes, output_size, dropout)` | 4 |
# | `count_parameters(model, trainable_only, by_module)` | 3 |
# | `max_width(input_size, depth, output_size, budget)` | 2 |
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

from dlcourse import get_device, progress, set_seed
from dlcourse.checks import assert_close, assert_shape, expect_raises, forbid
from dlcourse.data import load_digits, load_tabular, train_test_split
from dlcourse.plotting import plot_curves
from dlcourse.training import check_bar
from dlcourse.widgets import interactive_plot

device = get_device()  # the tests also run your code on this device
set_seed(0)
print(f"torch {torch.__version__}, device: {device}")

# %% [markdown]
# ## 8.1 From one neuron to a network
#
# A **layer** takes a vector $x \in \mathbb{R}^{D}$ and returns
#
# $$z = W x + b, \qquad a = f(z),$$
#
# where $W \in \mathbb{R}^{H \times D}$ is the weight matrix, $b \in
# \mathbb{R}^{H}$ the bias, $z$ the **pre-activation** and $f$ an
# **activation function** applied to every entry (here the ReLU,
# $f(z) = \max(z, 0)$). Row $j$ of $W$ and entry $j$ of $b$ make one
# **neuron**: a weighted vote of the inputs, shifted and then passed through
# $f$. A layer has $H$ neurons side by side, so its output has $H$ entries: the
# layer's **width**.
#
# An MLP chains $L$ such layers. With $D_0$ the input size, $D_1, \dots,
# D_{L-1}$ the hidden widths and $D_L$ the output size,
#
# $$a_0 = x, \qquad a_\ell = f\big(W_\ell\, a_{\ell - 1} + b_\ell\big)
#   \ \ (\ell = 1, \dots, L - 1), \qquad
#   \hat y = W_L\, a_{L-1} + b_L ,$$
#
# with $W_\ell \in \mathbb{R}^{D_\ell \times D_{\ell-1}}$ and $b_\ell \in
# \mathbb{R}^{D_\ell}$. Note the last line: **the output layer has no
# activation**. For classification its outputs are the **logits**, and
# `nn.CrossEntropyLoss` applies the softmax itself (chapter 3); for regression
# they are the predicted numbers. (Many texts write $a_\ell = f(z_\ell)$ all the
# way to the end; section 8.4 shows what an activation on the output costs.)
#
# In code, a batch of $N$ inputs is a matrix $X$ of shape $(N, D_0)$, one
# example per row, and a layer computes all $N$ outputs at once:
#
# $$A_\ell = f\big(A_{\ell-1} W_\ell^{\top} + b_\ell\big), \qquad
#   A_{\ell-1}: (N, D_{\ell-1}),\ W_\ell^\top: (D_{\ell-1}, D_\ell),\
#   A_\ell: (N, D_\ell),$$
#
# with $b_\ell$ broadcast over the rows. This is exactly `nn.Linear`:
# `nn.Linear(D_in, D_out).weight` has shape `(D_out, D_in)`, one row per
# neuron, and the layer computes `x @ weight.T + bias`.
#
# ### Why the activation matters
#
# Drop $f$ and the network collapses: $W_2(W_1 x + b_1) + b_2 = (W_2 W_1) x +
# (W_2 b_1 + b_2)$ is again one linear map, however many layers you stack. The
# next cell checks it numerically: two `nn.Linear` layers in a row equal one
# layer whose weight is the product of theirs.

# %%
torch.manual_seed(0)
first, second = nn.Linear(4, 16), nn.Linear(16, 3)
merged = nn.Linear(4, 3)
with torch.no_grad():
    merged.weight.copy_(second.weight @ first.weight)  # (3, 16) @ (16, 4)
    merged.bias.copy_(second.weight @ first.bias + second.bias)
    x = torch.randn(5, 4)
    gap = (second(first(x)) - merged(x)).abs().max().item()
    gap_relu = (second(torch.relu(first(x))) - merged(x)).abs().max().item()
print(f"two linear layers vs their product: max difference {gap:.1e}")
print(f"with a ReLU in between:             max difference {gap_relu:.2f}")

# %% [markdown]
# ### Exercise 1: `mlp_forward` (3 points)
#
# Write the forward pass of an MLP from its list of weight matrices and bias
# vectors, with the shapes of `nn.Linear` (one row of $W$ per output neuron).
# The activation goes after every layer **except the last**. Write the affine
# map yourself with `@` (or a sum of products): `torch.nn.functional.linear`,
# which is the whole layer in one call, is forbidden. The tests copy your
# weights into a stack of `nn.Linear` layers and compare.

# %% grade_id="ch08-mlp-forward"
def mlp_forward(x, weights, biases, activation=torch.relu):
    """Forward pass of a multi-layer perceptron given its parameters.

    N is the batch size, L >= 1 the number of layers, D_0 the input size and
    D_l the output size of layer l (so D_L is the size of the output).

    Args:
        x: floating-point tensor of shape (N, D_0), N >= 1.
        weights: a list of L tensors; weights[l - 1] has shape (D_l, D_{l-1})
            (the ``nn.Linear`` convention: output size first).
        biases: a list of L tensors; biases[l - 1] has shape (D_l,).
        activation: an elementwise function from tensor to tensor (default
            ``torch.relu``), applied after every layer except the last one.
            With L = 1 it is not applied at all.

    Returns:
        Tensor of shape (N, D_L) with the dtype and device of ``x`` (the
        parameters share them): the raw output of the last layer. ``x`` is
        not modified.

    Raises:
        ValueError: if ``weights`` is empty or ``len(weights) != len(biases)``.

    Do not call torch.nn.functional.linear (nor an ``nn.Linear`` module).
    """
    ### BEGIN SOLUTION
    if len(weights) == 0 or len(weights) != len(biases):
        raise ValueError(f"need as many biases as weights (at least one), got "
                         f"{len(weights)} weights and {len(biases)} biases")
    h = x
    for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
        h = h @ W.T + b  # (N, D_{l-1}) @ (D_{l-1}, D_l) -> (N, D_l)
        if i < len(weights) - 1:
            h = activation(h)
    return h
    ### END SOLUTION


# %%
# Try it: 2 examples through 3 -> 4 -> 2 layers
torch.manual_seed(0)
demo_weights = [torch.randn(4, 3), torch.randn(2, 4)]
demo_biases = [torch.zeros(4), torch.zeros(2)]
print(mlp_forward(torch.randn(2, 3), demo_weights, demo_biases))

# %% grade_id="ch08-mlp-forward-tests" points=3
"""mlp_forward: a small example by hand; equals Linear -> act -> ... -> Linear
with copied weights (float64 on `device`, batch 1, tanh as the activation, a
single layer without activation); ValueError for empty or mismatched lists; x is
not modified; no torch.nn.functional.linear.

Hidden tests: other depths, widths, seeds and activations, float32 and float64.
"""
banned_linear = ("torch.nn.functional.linear",)


def reference_stack(weights, biases, activation_module):
    """nn.Sequential of Linear layers with the given parameters copied in."""
    layers = []
    for W, b in zip(weights, biases, strict=True):
        layer = nn.Linear(W.shape[1], W.shape[0]).to(W.device, W.dtype)
        with torch.no_grad():
            layer.weight.copy_(W)
            layer.bias.copy_(b)
        layers += [layer, activation_module]
    return nn.Sequential(*layers[:-1])  # no activation after the last layer


def random_parameters(sizes, generator, dtype, device):
    weights = [torch.randn(sizes[i + 1], sizes[i], generator=generator,
                           dtype=dtype).to(device) for i in range(len(sizes) - 1)]
    biases = [torch.randn(sizes[i + 1], generator=generator,
                          dtype=dtype).to(device) for i in range(len(sizes) - 1)]
    return weights, biases


# by hand: hidden = relu([1, -2, 0]) = [1, 0, 0], output = 1 + 0 + 0 + 0.5
x = torch.tensor([[1.0, -2.0]])
W1, b1 = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), torch.tensor([0, 0, 1.0])
W2, b2 = torch.tensor([[1.0, 1.0, 1.0]]), torch.tensor([0.5])
with forbid(*banned_linear):
    out = mlp_forward(x, [W1, W2], [b1, b2])
assert_close(out, torch.tensor([[1.5]]), name="mlp_forward on the example by hand")
gen = torch.Generator().manual_seed(0)
for sizes, n in [([5, 4, 3, 2], 6), ([3, 7, 2], 1)]:
    weights, biases = random_parameters(sizes, gen, torch.float64, device)
    x = torch.randn(n, sizes[0], generator=gen, dtype=torch.float64).to(device)
    x_before = x.clone()
    with forbid(*banned_linear):
        out = mlp_forward(x, weights, biases)
    want = reference_stack(weights, biases, nn.ReLU())(x)
    assert_close(out, want, rtol=1e-10, atol=1e-10,
                 name=f"mlp_forward, layer sizes {sizes}, batch {n}, float64 on device")
    assert out.device == x.device, f"result on {out.device}, expected {x.device}"
    assert torch.equal(x, x_before), "mlp_forward modified its input x"
weights, biases = random_parameters([4, 5, 3], gen, torch.float64, device)
x = torch.randn(3, 4, generator=gen, dtype=torch.float64).to(device)
assert_close(mlp_forward(x, weights, biases, activation=torch.tanh),
             reference_stack(weights, biases, nn.Tanh())(x), rtol=1e-10, atol=1e-10,
             name="mlp_forward with activation=torch.tanh")
weights, biases = random_parameters([4, 3], gen, torch.float64, device)
assert_close(mlp_forward(x, weights, biases), x @ weights[0].T + biases[0],
             rtol=1e-10, atol=1e-10,
             name="mlp_forward with a single layer (no activation at all)")
expect_raises(ValueError, mlp_forward, x, [], [], name="mlp_forward(x, [], [])")
expect_raises(ValueError, mlp_forward, x, weights, biases + biases,
              name="mlp_forward with 1 weight and 2 biases")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(8)
for _sizes, _n, _act, _mod in [([7, 9, 5], 4, torch.relu, nn.ReLU()),
                               ([2, 11, 13, 3, 5], 1, torch.relu, nn.ReLU()),
                               ([6, 3, 4, 2], 9, torch.sigmoid, nn.Sigmoid()),
                               ([9, 1, 7], 3, torch.tanh, nn.Tanh())]:
    for _dtype in (torch.float64, torch.float32):
        _w, _b = random_parameters(_sizes, _gen, _dtype, device)
        _x = torch.randn(_n, _sizes[0], generator=_gen, dtype=_dtype).to(device)
        _x0 = _x.clone()
        with forbid(*banned_linear):
            _got = mlp_forward(_x, _w, _b, activation=_act)
        _tol = 1e-10 if _dtype == torch.float64 else 1e-4
        assert_close(_got, reference_stack(_w, _b, _mod)(_x), rtol=_tol, atol=_tol,
                     name=f"mlp_forward, sizes {_sizes}, batch {_n}, {_dtype}")
        assert torch.equal(_x, _x0), "mlp_forward modified its input x"
_w, _b = random_parameters([5, 2], _gen, torch.float64, device)
_x = torch.randn(4, 5, generator=_gen, dtype=torch.float64).to(device)
assert_close(mlp_forward(_x, _w, _b, activation=torch.sigmoid),
             _x @ _w[0].T + _b[0], rtol=1e-10, atol=1e-10,
             name="a single layer with activation=torch.sigmoid (not applied)")
expect_raises(ValueError, mlp_forward, _x, _w, [], name="1 weight and no bias")
### END HIDDEN TESTS

# %% [markdown]
# ## 8.2 XOR: the smallest problem that needs a hidden layer
#
# A linear classifier predicts class 1 when $w^\top x + b > 0$: its decision
# boundary is a straight line (a hyperplane in more dimensions). The XOR
# function of two bits,
#
# | $x_1$ | $x_2$ | XOR |
# |---|---|---|
# | 0 | 0 | 0 |
# | 0 | 1 | 1 |
# | 1 | 0 | 1 |
# | 1 | 1 | 0 |
#
# cannot be drawn with one line. Suppose it could: the two rows of class 1
# give $w_2 + b > 0$ and $w_1 + b > 0$, the two of class 0 give $b \le 0$ and
# $w_1 + w_2 + b \le 0$. Adding the first two, $w_1 + w_2 + 2b > 0$; adding the
# last two, $w_1 + w_2 + 2b \le 0$. A contradiction: no line separates the
# classes, and the best a linear model can do is three corners out of four.
# Minsky and Papert's 1969 book made this point about single-layer
# perceptrons; the answer, a hidden layer trained by backpropagation, took
# until the 1980s to become practical.
#
# A hidden layer bends the input space. Two ReLU neurons that look at
# $x_1 + x_2$ (one of them shifted by 1) map the four corners to points that a
# line *can* separate. Below, a logistic regression and an MLP with one hidden
# layer of 16 ReLUs are trained on noisy copies of the four corners; the plots
# show their decision regions. (Two hidden neurons are enough in principle, as
# exercise 2 shows, but gradient descent from random weights finds a solution
# far more reliably with a few spare ones: with 8, some seeds get stuck at 75%.)

# %%
def make_xor(n_per_corner, noise, generator):
    """Noisy copies of the four corners of the unit square with XOR labels."""
    corners = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    labels = torch.tensor([0.0, 1.0, 1.0, 0.0])
    X = corners.repeat_interleave(n_per_corner, dim=0)
    X = X + noise * torch.randn(X.shape, generator=generator)
    return X, labels.repeat_interleave(n_per_corner)


def train_binary(model, X, y, num_steps=500, lr=0.05):
    """Full-batch Adam on BCEWithLogitsLoss; returns the training accuracy."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(num_steps):
        loss = F.binary_cross_entropy_with_logits(model(X).squeeze(-1), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return ((model(X).squeeze(-1) > 0).float() == y).float().mean().item()


set_seed(8)
xor_generator = torch.Generator().manual_seed(8)
X_xor, y_xor = make_xor(50, 0.15, xor_generator)
LINEAR, MLP = "linear model: Linear(2, 1)", "MLP: Linear(2, 16), ReLU, Linear(16, 1)"
xor_models = {LINEAR: nn.Linear(2, 1),
              MLP: nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))}
xor_accuracy = {name: train_binary(model, X_xor, y_xor)
                for name, model in xor_models.items()}
for name, acc in xor_accuracy.items():
    print(f"{name:40s} training accuracy {acc:.3f}")
check_bar("XOR training accuracy of the MLP", xor_accuracy[MLP], 0.95)

# %%
grid = torch.linspace(-0.6, 1.6, 200)
gx, gy = torch.meshgrid(grid, grid, indexing="xy")
grid_points = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)  # (200*200, 2)
fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
for ax, (name, model) in zip(axes, xor_models.items(), strict=True):
    with torch.no_grad():
        prob = torch.sigmoid(model(grid_points)).reshape(gx.shape)
    ax.contourf(gx.numpy(), gy.numpy(), prob.numpy(), levels=20, cmap="coolwarm",
                alpha=0.6, vmin=0, vmax=1)
    ax.contour(gx.numpy(), gy.numpy(), prob.numpy(), levels=[0.5], colors="k")
    for label, marker in ((0, "o"), (1, "s")):
        pts = X_xor[y_xor == label]
        ax.scatter(pts[:, 0], pts[:, 1], marker=marker, s=14, edgecolor="k",
                   linewidth=0.4, label=f"class {label}")
    ax.set(xlabel="$x_1$", ylabel="$x_2$",
           title=f"{name}\naccuracy {xor_accuracy[name]:.2f}")
    ax.legend(loc="upper center")
fig.suptitle("XOR: decision regions (colour: predicted probability of class 1, "
             "black line: 0.5)")
fig.tight_layout()
plt.show()

# %% [markdown]
# The linear model's boundary is a line, so at least one corner's cloud ends
# up on the wrong side. The MLP's boundary is made of pieces of lines, one kink
# per hidden ReLU that changes sign nearby, and it cuts the plane into a band
# for class 1 between two regions for class 0.
#
# ### Exercise 2: `xor_weights` (2 points)
#
# Gradient descent found *some* weights. Now find some yourself, by hand: the
# weights of a network `Linear(2, H) -> ReLU -> Linear(H, 1)` whose output is
# **exactly** XOR on the four corners (0 on $(0,0)$ and $(1,1)$, 1 on $(0,1)$
# and $(1,0)$, not just the right sign). Pick the hidden width $H$ yourself; two
# neurons are enough. Hint: look at $s = x_1 + x_2$, which is 0, 1, 1, 2 on the
# four corners, and write XOR as a combination of $\max(s, 0)$ and
# $\max(s - 1, 0)$; there are many other solutions.

# %% grade_id="ch08-xor-weights"
def xor_weights(dtype=torch.float32, device="cpu"):
    """Weights of a one-hidden-layer ReLU network that computes XOR exactly.

    H is the hidden width, chosen by you (H >= 1). The network is

        y = relu(x @ W1.T + b1) @ W2.T + b2

    and for the four inputs x = (0, 0), (0, 1), (1, 0), (1, 1) (the rows of a
    batch, in any order or one at a time) it must output 0, 1, 1, 0: exactly,
    up to rounding (1e-6).

    Args:
        dtype: the floating-point dtype of the returned tensors.
        device: the device of the returned tensors (a str or torch.device).

    Returns:
        A tuple (W1, b1, W2, b2) of tensors with shapes (H, 2), (H,), (1, H)
        and (1,), all with the given dtype and device.
    """
    ### BEGIN SOLUTION
    W1 = torch.tensor([[1.0, 1.0], [1.0, 1.0]], dtype=dtype, device=device)
    b1 = torch.tensor([0.0, -1.0], dtype=dtype, device=device)
    W2 = torch.tensor([[1.0, -2.0]], dtype=dtype, device=device)
    b2 = torch.zeros(1, dtype=dtype, device=device)
    return W1, b1, W2, b2
    ### END SOLUTION


# %%
# Try it: the four corners through your network
corners = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
W1, b1, W2, b2 = xor_weights()
print("hidden layer:\n", torch.relu(corners @ W1.T + b1))
print("output:", (torch.relu(corners @ W1.T + b1) @ W2.T + b2).squeeze(-1))

# %% grade_id="ch08-xor-weights-tests" points=2
"""xor_weights: the shapes (H, 2), (H,), (1, H), (1,) with one H; outputs 0, 1, 1,
0 on the four corners (batched and one at a time); float32 on the CPU by default;
float64 on `device` when asked.

Hidden tests: the corners in another order.
"""


def xor_net(params, x):
    W1, b1, W2, b2 = params
    return (torch.relu(x @ W1.T + b1) @ W2.T + b2).squeeze(-1)


def check_xor_params(params, dtype, device, what):
    assert isinstance(params, tuple) and len(params) == 4, (
        f"{what}: expected a tuple (W1, b1, W2, b2), got {type(params).__name__}")
    W1, b1, W2, b2 = params
    H = W1.shape[0]
    for name, p, shape in [("W1", W1, (H, 2)), ("b1", b1, (H,)), ("W2", W2, (1, H)),
                           ("b2", b2, (1,))]:
        assert_shape(p, shape, name=f"{what}: {name}")
        assert p.dtype == dtype, f"{what}: {name} has dtype {p.dtype}, not {dtype}"
        assert p.device.type == torch.device(device).type, (
            f"{what}: {name} is on {p.device}, expected {device}")


params = xor_weights()
check_xor_params(params, torch.float32, "cpu", "xor_weights()")
corners = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
assert_close(xor_net(params, corners), torch.tensor([0.0, 1.0, 1.0, 0.0]),
             rtol=0, atol=1e-6, name="network output on (0,0), (0,1), (1,0), (1,1)")
for corner, want in zip(corners, [0.0, 1.0, 1.0, 0.0], strict=True):
    assert_close(xor_net(params, corner[None]), torch.tensor([want]), rtol=0,
                 atol=1e-6, name=f"network output on the input {corner.tolist()}")
params = xor_weights(torch.float64, device)
check_xor_params(params, torch.float64, device, "xor_weights(torch.float64, device)")
assert_close(xor_net(params, corners.double().to(device)),
             torch.tensor([0.0, 1.0, 1.0, 0.0], dtype=torch.float64, device=device),
             rtol=0, atol=1e-6, name="float64 network output on the four corners")
### BEGIN HIDDEN TESTS
_order = torch.tensor([3, 1, 0, 2])
for _dtype, _dev in [(torch.float32, device), (torch.float64, "cpu")]:
    _params = xor_weights(_dtype, _dev)
    check_xor_params(_params, _dtype, _dev, f"xor_weights({_dtype}, {_dev})")
    _x = corners[_order].to(_dev, _dtype)
    assert_close(xor_net(_params, _x),
                 torch.tensor([0.0, 1.0, 1.0, 0.0], dtype=_dtype, device=_dev)[_order],
                 rtol=0, atol=1e-6, name="the corners in the order (1,1), (0,1), "
                 "(0,0), (1,0)")
### END HIDDEN TESTS

# %% [markdown]
# ## 8.3 Universal approximation
#
# XOR needed one hidden layer. How far does one hidden layer go? All the way,
# in a precise sense. The **universal approximation theorem** (Cybenko 1989 for
# sigmoids; Hornik 1991; Leshno, Lin, Pinkus and Schocken 1993 for every
# continuous activation that is not a polynomial, ReLU included) says:
#
# > for every continuous function $g$ on a closed bounded set $K \subset
# > \mathbb{R}^D$ and every $\varepsilon > 0$ there is a width $H$ and weights
# > such that the one-hidden-layer network
# > $\hat g(x) = \sum_{j=1}^{H} v_j\, f(w_j^\top x + c_j) + d$ satisfies
# > $|\hat g(x) - g(x)| < \varepsilon$ for all $x \in K$.
#
# In one dimension and with ReLUs the proof fits in a few lines. Pick $H + 1$
# evenly spaced knots $t_0 < t_1 < \dots < t_H$ with spacing $\Delta$, and let
# $s_k = \big(g(t_{k+1}) - g(t_k)\big)/\Delta$ be the slope of the straight
# segment between knots $k$ and $k+1$. The network
#
# $$\hat g(x) = g(t_0) + \sum_{k=0}^{H-1} (s_k - s_{k-1})\, \max(x - t_k, 0),
#   \qquad s_{-1} = 0,$$
#
# has $H$ hidden ReLUs (first-layer weight 1, bias $-t_k$): each one switches on
# at its knot and changes the slope by the right amount, so $\hat g$ is the
# broken line through the points $(t_k, g(t_k))$ on $[t_0, t_H]$. For a
# function with a bounded second derivative, linear interpolation is off by at
# most
#
# $$\max_{x \in [t_0, t_H]} |\hat g(x) - g(x)| \le \frac{\Delta^2}{8}
#   \max |g''| ,$$
#
# so the error falls like $1/H^2$ as the network gets wider: any accuracy is
# reachable.
#
# What the theorem does **not** say matters as much:
# - it promises that good weights *exist*, not that gradient descent finds
#   them (below, narrow networks trained from random weights get stuck);
# - the width it needs can grow exponentially with the input dimension $D$
#   (a grid of knots in $D$ dimensions); depth is what makes real networks
#   efficient, because deep networks reuse features (Telgarsky 2016 gives
#   functions that a deep ReLU network computes with few neurons and a shallow
#   one needs exponentially many for);
# - it is about fitting, not about generalising from finite data.
#
# The helper below builds the interpolating network for $g(x) = \sin x$ on
# $[-2\pi, 2\pi]$ and checks the error bound; here $\max|g''| = 1$.

# %%
SIN_RANGE = (-2 * math.pi, 2 * math.pi)


def interpolating_relu_net(g, a, b, width):
    """Weights (W1, b1, W2, b2) of the broken line through `width + 1` knots of g."""
    knots = torch.linspace(a, b, width + 1, dtype=torch.float64)
    slopes = (g(knots[1:]) - g(knots[:-1])) / (knots[1:] - knots[:-1])  # (H,)
    slope_changes = slopes - torch.cat([slopes.new_zeros(1), slopes[:-1]])
    W1 = torch.ones(width, 1, dtype=torch.float64)
    return W1, -knots[:-1], slope_changes[None, :], g(knots[:1])


def one_hidden_layer(params, x):
    """relu(x @ W1.T + b1) @ W2.T + b2 for x of shape (N, 1); returns (N,)."""
    W1, b1, W2, b2 = params
    return (torch.relu(x @ W1.T + b1) @ W2.T + b2).squeeze(-1)


x_sin = torch.linspace(*SIN_RANGE, 2001, dtype=torch.float64)[:, None]
print(" width | max error | bound 2 pi^2 / H^2")
for width in (2, 4, 8, 16, 32, 64):
    params = interpolating_relu_net(torch.sin, *SIN_RANGE, width)
    error = (one_hidden_layer(params, x_sin) - torch.sin(x_sin[:, 0])).abs().max()
    bound = (4 * math.pi / width) ** 2 / 8
    print(f"{width:6d} | {error.item():9.5f} | {bound:9.5f}")

# %% [markdown]
# ### Does gradient descent find such weights?
#
# Now the same networks, `Linear(1, H) -> ReLU -> Linear(H, 1)`, *trained* by
# Adam on 128 points of $\sin x$, for seven widths $H = 1, 2, 4, \dots, 64$. Two
# practical details:
# - the input is rescaled to $u = x / 2\pi \in [-1, 1]$ (standardising inputs
#   keeps the first layer's weights and biases on the same scale), and each
#   neuron's kink starts at a random point of the interval, so that no ReLU
#   starts switched off over the whole data;
# - all seven networks train **at once**: their parameters are stacked into
#   tensors of shape (7, 64), and a mask switches off the unused neurons of the
#   narrow ones. The loss is the sum of the seven mean squared errors; since
#   the networks share no parameter, each gets exactly the gradient of its own
#   loss, and Adam treats every parameter separately: one training loop instead
#   of seven.
#
# The bar: the widest network reaches a mean squared error below 0.01.

# %%
NUM_STEPS = 1500  # the knob: more steps fit the narrow networks a little better
WIDTHS = [1, 2, 4, 8, 16, 32, 64]


def train_widths(widths, num_steps, seed):
    """Train one Linear(1, H) -> ReLU -> Linear(H, 1) per width on sin; batched."""
    set_seed(seed)
    K, H = len(widths), max(widths)
    u = torch.linspace(-1, 1, 128)  # u = x / (2 pi)
    target = torch.sin(2 * math.pi * u)
    mask = (torch.arange(H) < torch.tensor(widths)[:, None]).float()  # (K, H)
    w1 = torch.randn(K, H)
    b1 = -w1 * (2 * torch.rand(K, H) - 1)  # each kink at a random point of [-1, 1]
    w2 = torch.randn(K, H) / torch.tensor(widths, dtype=torch.float32)[:, None].sqrt()
    b2 = torch.zeros(K, 1)
    params = [p.requires_grad_() for p in (w1, b1, w2, b2)]
    optimizer = torch.optim.Adam(params, lr=0.02)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, num_steps)
    for _ in progress(range(num_steps), desc="fitting sin"):
        hidden = torch.relu(w1[:, :, None] * u + b1[:, :, None]) * mask[:, :, None]
        pred = (w2[:, :, None] * hidden).sum(dim=1) + b2  # (K, N)
        mse = ((pred - target) ** 2).mean(dim=1)  # (K,)
        optimizer.zero_grad()
        mse.sum().backward()
        optimizer.step()
        schedule.step()
    # one (W1, b1, W2, b2) per width, in the shapes of nn.Linear
    fits = [(w1[k, :width, None], b1[k, :width], w2[k, None, :width], b2[k])
            for k, width in enumerate(widths)]
    return [tuple(p.detach().clone() for p in fit) for fit in fits], mse.detach()


sin_fits, sin_mse = train_widths(WIDTHS, NUM_STEPS, seed=8)
for width, mse in zip(WIDTHS, sin_mse, strict=True):
    print(f"width {width:2d}: training MSE {mse.item():.2e}")
check_bar("MSE of the widest network on sin", sin_mse[-1].item(), 0.01,
          higher_is_better=False)

# %% [markdown]
# Move the slider: the red line is the trained network, the dashed one the
# broken line of the proof with the same number of neurons. Narrow trained
# networks often settle on a poor fit (a *local minimum*: a kink in the wrong
# place that gradient descent cannot move without first making the fit worse);
# wide ones fit easily. That is a general lesson: extra width makes training
# easier, not just the best possible fit better. The right panel shows the
# error of both against the width on log scales; the constructed network's
# error follows the slope $-2$ of the $1/H^2$ bound.

# %%
def sin_errors():
    """Max errors of the constructed and trained networks for every width."""
    constructed, trained = [], []
    target = torch.sin(x_sin[:, 0])
    for width, fit in zip(WIDTHS, sin_fits, strict=True):
        params = interpolating_relu_net(torch.sin, *SIN_RANGE, width)
        constructed.append((one_hidden_layer(params, x_sin) - target).abs().max())
        trained_out = one_hidden_layer([p.double() for p in fit],
                                       x_sin / (2 * math.pi))
        trained.append((trained_out - target).abs().max())
    return torch.stack(constructed), torch.stack(trained)


sin_constructed_error, sin_trained_error = sin_errors()


def show_width(width=8):
    k = WIDTHS.index(width)
    params = interpolating_relu_net(torch.sin, *SIN_RANGE, width)
    trained = one_hidden_layer([p.double() for p in sin_fits[k]], x_sin / (2 * math.pi))
    xs = x_sin[:, 0].numpy()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    left.plot(xs, torch.sin(x_sin[:, 0]).numpy(), color="0.6", lw=4, label="sin x")
    left.plot(xs, trained.numpy(), "r", label="trained by Adam")
    left.plot(xs, one_hidden_layer(params, x_sin).numpy(), "k--",
              label="constructed (broken line)")
    left.set(xlabel="x", ylabel="output", ylim=(-1.6, 1.6),
             title=f"one hidden layer of {width} ReLUs")
    left.legend(loc="lower left", fontsize=8)
    right.loglog(WIDTHS, sin_constructed_error.numpy(), "ko--", label="constructed")
    right.loglog(WIDTHS, sin_trained_error.numpy(), "ro-", label="trained")
    right.loglog(WIDTHS, [(4 * math.pi / w) ** 2 / 8 for w in WIDTHS], ":",
                 color="0.4", label="bound $2\\pi^2 / H^2$")
    right.axvline(width, color="0.7")
    right.set(xlabel="hidden width H", ylabel="max |error| on [-2 pi, 2 pi]",
              title="error against width")
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


interactive_plot(show_width, width=widgets.SelectionSlider(
    options=WIDTHS, value=8, description="width", continuous_update=False))

# %% [markdown]
# ## 8.4 A configurable MLP: `DeepMLP`
#
# Real MLPs have several hidden layers and some **regularisation**. The usual
# block for one hidden layer is
#
# $$\text{Linear} \;\to\; \text{ReLU} \;\to\; \text{Dropout}(p).$$
#
# **Dropout** (Srivastava et al. 2014) sets each entry of its input to zero with
# probability $p$ during training and multiplies the survivors by
# $1/(1 - p)$, so that the expected value of every entry is unchanged. Each
# training step thus trains a random thinned network, and no neuron can rely on
# one particular other neuron being there; at test time (`model.eval()`)
# dropout does nothing. Because it multiplies by a mask of zeros and positive
# numbers, dropout commutes with the ReLU: `Dropout` before or after `ReLU`
# computes the same function.
#
# ### A common variant and its pitfalls
#
# A common textbook `DeepMLP` puts `BatchNorm1d` between each `Linear` and its
# ReLU. Batch normalisation (chapter 12) is a fine layer, but in an MLP
# specification it brings two problems:
# 1. In training mode it normalises with the statistics of the batch, and a
#    batch of one example has no variance: PyTorch refuses it (below). A final
#    partial batch of size 1 is enough to crash a training loop.
# 2. Its output depends on the other examples in the batch, so the same input
#    gets different outputs in different batches; combined with dropout, the
#    statistics seen in training and at test time drift apart (the "variance
#    shift" of Li et al. 2019).
#
# Our `DeepMLP` therefore has no normalisation layer: just the blocks above and
# a final `Linear`. The next cell shows problem 1, and two more classic
# mistakes: an activation after the output layer, and forgetting `eval()`.

# %%
batchnorm_mlp = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(),
                            nn.Linear(8, 3))
try:
    batchnorm_mlp(torch.randn(1, 4))  # training mode, batch of one
except ValueError as err:
    print("BatchNorm1d, batch of 1 in training mode:", err)

# A softmax before CrossEntropyLoss: the loss applies log-softmax again, so even a
# perfectly confident, correct prediction cannot bring the loss near zero.
confident = torch.tensor([[1000.0] + [0.0] * 9])  # 10 classes, class 0 predicted
label = torch.tensor([0])
print(f"cross-entropy of the logits:           {F.cross_entropy(confident, label):.4f}")
print(f"cross-entropy of softmax(logits):      "
      f"{F.cross_entropy(torch.softmax(confident, dim=1), label):.4f}"
      f"  (= log(1 + 9/e) = {math.log(1 + 9 / math.e):.4f}, its lowest value)")

# %% [markdown]
# With the softmax inside the model, the loss can never fall below
# $\log(1 + 9/e) \approx 1.46$ for 10 classes, and its gradients shrink as the
# softmax saturates: training slows down and the reported loss is meaningless.
# A ReLU on the output is worse: negative logits become 0, and once all the
# logits of an example are negative the example has zero gradient.
#
# ### Exercise 3: `DeepMLP` (4 points)
#
# Write the module. The layer order and the parameter order are part of the
# contract: the tests copy your parameters, in the order of
# `model.parameters()`, into an `nn.Sequential` reference built from
# `nn.Linear`, `nn.ReLU` and `nn.Dropout`, and compare outputs and gradients in
# evaluation mode. In training mode they check dropout statistically (how many
# entries are zeroed, how the survivors are scaled), so any correct dropout
# passes, `nn.Dropout` or your own.

# %% grade_id="ch08-deep-mlp"
# Fill in both methods: __init__ builds the layers, forward runs them.
class DeepMLP(nn.Module):
    """Multi-layer perceptron returning logits.

    N is the batch size, D = input_size, C = output_size, and
    hidden_sizes = [H_1, ..., H_K] (K >= 0 hidden layers). Layers, in order:

        for each H_k:  Linear(H_{k-1}, H_k) -> ReLU -> Dropout(dropout)
        then:          Linear(H_K, C)

    with H_0 = D. Dropout follows every hidden layer, the last one included;
    the output layer has no activation and no dropout after it (the output is
    logits). With K = 0 the model is a single Linear(D, C). No normalisation
    layers. Every Linear has a bias, and these are the only parameters, so
    ``[p.shape for p in model.parameters()]`` is
    [(H_1, D), (H_1,), (H_2, H_1), (H_2,), ..., (C, H_K), (C,)].

    Args:
        input_size: D, an int >= 1.
        hidden_sizes: list or tuple of K ints >= 1; may be empty.
        output_size: C, an int >= 1.
        dropout: p, a float with 0 <= p < 1 (default 0.0); ValueError otherwise.

    forward(x):
        x: floating-point tensor of shape (N, D), N >= 1, with the dtype and
            device of the parameters (after ``model.to(device, torch.float64)``
            too). Returns the logits, shape (N, C), same dtype and device.
        In training mode (``model.train()``, the default) each dropout zeroes
        each entry independently with probability p and multiplies the others
        by 1 / (1 - p), like nn.Dropout; in evaluation mode (``model.eval()``)
        dropout does nothing and the output is deterministic.
    """

    def __init__(self, input_size, hidden_sizes, output_size, dropout=0.0):
        super().__init__()
        ### BEGIN SOLUTION
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        layers = []
        prev = input_size
        for width in hidden_sizes:
            layers += [nn.Linear(prev, width), nn.ReLU(), nn.Dropout(dropout)]
            prev = width
        layers.append(nn.Linear(prev, output_size))
        self.net = nn.Sequential(*layers)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.net(x)
        ### END SOLUTION


# %%
# Try it: a 100 -> 512 -> 256 -> 128 -> 10 network with dropout 0.3
model = DeepMLP(100, [512, 256, 128], 10, dropout=0.3)
print(model)
print("output shape:", tuple(model(torch.randn(1, 100)).shape))

# %% grade_id="ch08-deep-mlp-tests" points=4
"""DeepMLP: parameter shapes in order; in eval mode, with copied weights, outputs and
gradients equal Linear -> ReLU -> Dropout -> ... -> Linear (also with no hidden
layer, batch 1, a tuple of sizes, float64 on `device`); in training mode a batch of
one works and dropout is active after every hidden layer (zero fraction
1 - (1 - p)^K, no row dropped whole, survivors scaled by 1 / (1 - p)^K, two calls
differ) but not after the output; ValueError for dropout outside [0, 1).

Hidden tests: other sizes, depths, batches and dropout rates.
"""


def reference_mlp(input_size, hidden_sizes, output_size, p):
    layers, prev = [], input_size
    for width in hidden_sizes:
        layers += [nn.Linear(prev, width), nn.ReLU(), nn.Dropout(p)]
        prev = width
    return nn.Sequential(*layers, nn.Linear(prev, output_size))


def check_parameter_shapes(model, input_size, hidden_sizes, output_size, what):
    sizes = [input_size, *hidden_sizes, output_size]
    want = []
    for i in range(len(sizes) - 1):
        want += [(sizes[i + 1], sizes[i]), (sizes[i + 1],)]
    got = [tuple(p.shape) for p in model.parameters()]
    assert got == want, f"{what}: expected parameter shapes {want}, got {got}"


def compare_in_eval_mode(model, args, x, what, tol):
    """Copy the model's parameters into the reference; outputs and gradients."""
    reference = reference_mlp(*args).to(x.device, x.dtype)
    with torch.no_grad():
        for ref_p, p in zip(reference.parameters(), model.parameters(), strict=True):
            ref_p.copy_(p)
    model.eval()
    reference.eval()
    out, want = model(x), reference(x)
    assert_close(out, want, rtol=tol, atol=tol, name=f"{what}: output (eval mode)")
    assert out.device == x.device, f"{what}: output on {out.device}, not {x.device}"
    (out ** 2).sum().backward()
    (want ** 2).sum().backward()
    pairs = zip(reference.parameters(), model.parameters(), strict=True)
    for i, (ref_p, p) in enumerate(pairs):
        assert_close(p.grad, ref_p.grad, rtol=tol, atol=tol,
                     name=f"{what}: gradient of parameter {i}")


def check_dropout(model, width, depth, p, n, what):
    """model = DeepMLP(1, [width] * depth, width, p). Weights: a column of ones,
    then identities; positive inputs. The output is x times the dropout masks."""
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() == 1:
                param.zero_()
            else:
                param.copy_(torch.ones(width, 1) if param.shape[1] == 1
                            else torch.eye(width))
    x = torch.rand(n, 1) + 0.5
    model.train()
    out, again = model(x), model(x)
    kept = (1 - p) ** depth
    zero_fraction = (out == 0).float().mean().item()
    assert abs(zero_fraction - (1 - kept)) < 0.05, (
        f"{what}, training mode: {zero_fraction:.3f} of the outputs are zero, "
        f"expected about 1 - (1 - p)^{depth} = {1 - kept:.3f} (dropout after each of "
        f"the {depth} hidden layers, none after the output layer)")
    all_zero_rows = (out == 0).all(dim=1).float().mean().item()
    assert all_zero_rows < 0.05, (
        f"{what}, training mode: {all_zero_rows:.2f} of the rows are entirely zero: "
        "dropout acts on the input (before the first Linear) instead of after each "
        "hidden layer's ReLU")
    nonzero = out != 0
    survivors = x.expand(n, width)[nonzero] / kept
    assert_close(out[nonzero], survivors, rtol=1e-5, atol=1e-6,
                 name=f"{what}, training mode: surviving entries (x / (1 - p)^{depth})")
    assert not torch.equal(out, again), (
        f"{what}: two calls in training mode gave the same output (dropout inactive?)")
    model.eval()
    assert_close(model(x), x.expand(n, width), rtol=1e-6, atol=1e-6,
                 name=f"{what}, evaluation mode: output (dropout off)")


torch.manual_seed(0)
model = DeepMLP(5, [7, 3], 2, dropout=0.0)
assert isinstance(model, nn.Module), "DeepMLP must subclass nn.Module"
check_parameter_shapes(model, 5, [7, 3], 2, "DeepMLP(5, [7, 3], 2)")
compare_in_eval_mode(model, (5, [7, 3], 2, 0.0), torch.randn(4, 5),
                     "DeepMLP(5, [7, 3], 2)", 1e-5)
model = DeepMLP(5, [], 2, dropout=0.2)
check_parameter_shapes(model, 5, [], 2, "DeepMLP(5, [], 2) (no hidden layer)")
compare_in_eval_mode(model, (5, [], 2, 0.2), torch.randn(3, 5),
                     "DeepMLP(5, [], 2)", 1e-5)
model = DeepMLP(6, (4,), 3, dropout=0.5)
check_parameter_shapes(model, 6, (4,), 3, "DeepMLP(6, (4,), 3) (a tuple of sizes)")
model.train()
assert_shape(model(torch.randn(1, 6)), (1, 3), name="DeepMLP(6, (4,), 3), training "
             "mode, a batch of 1")
compare_in_eval_mode(model, (6, [4], 3, 0.5), torch.randn(1, 6),
                     "DeepMLP(6, (4,), 3), batch of 1", 1e-5)
model = DeepMLP(4, [9, 5], 3, dropout=0.1).to(device, torch.float64)
compare_in_eval_mode(model, (4, [9, 5], 3, 0.1),
                     torch.randn(6, 4, dtype=torch.float64, device=device),
                     "DeepMLP(4, [9, 5], 3) in float64 on device", 1e-10)
torch.manual_seed(1)
check_dropout(DeepMLP(1, [40, 40], 40, dropout=0.3), 40, 2, 0.3, 64,
              "DeepMLP(1, [40, 40], 40, dropout=0.3) with weights 1 and identities")
for bad in (1.0, -0.1):
    expect_raises(ValueError, DeepMLP, 3, [4], 2, dropout=bad,
                  name=f"DeepMLP(3, [4], 2, dropout={bad})")
### BEGIN HIDDEN TESTS
for _args, _n in [((3, [11], 5, 0.0), 1), ((9, [2, 13, 4], 7, 0.25), 5),
                  ((1, [6, 6], 1, 0.0), 8), ((12, [], 3, 0.4), 2)]:
    torch.manual_seed(_n)
    _model = DeepMLP(*_args).to(device, torch.float64)
    _what = f"DeepMLP{_args}"
    check_parameter_shapes(_model, *_args[:3], _what)
    compare_in_eval_mode(_model, _args,
                         torch.randn(_n, _args[0], dtype=torch.float64, device=device),
                         _what + " in float64 on device", 1e-10)
torch.manual_seed(2)
check_dropout(DeepMLP(1, [30], 30, dropout=0.5), 30, 1, 0.5, 80,
              "DeepMLP(1, [30], 30, dropout=0.5) with weights 1 and identities")
check_dropout(DeepMLP(1, [25, 25, 25], 25, dropout=0.2), 25, 3, 0.2, 100,
              "DeepMLP(1, [25, 25, 25], 25, dropout=0.2), weights 1 and identities")
expect_raises(ValueError, DeepMLP, 5, [], 2, dropout=1.5,
              name="DeepMLP(5, [], 2, dropout=1.5)")
### END HIDDEN TESTS

# %% [markdown]
# ## 8.5 Counting parameters
#
# Layer $\ell$ of an MLP has a $D_\ell \times D_{\ell-1}$ weight matrix and
# $D_\ell$ biases, so the whole network has
#
# $$P = \sum_{\ell=1}^{L} (D_{\ell-1} + 1)\, D_\ell$$
#
# parameters. For $K \ge 1$ hidden layers all of width $H$ between an input of
# size $D$ and $C$ outputs,
#
# $$P(H) = (D + 1)H + (K - 1)(H + 1)H + (H + 1)C ,$$
#
# linear in $H$ for one hidden layer and quadratic for more. The first term is
# the one to watch: every input feature is connected to every neuron of the
# first layer. For an 8x8 digit that is cheap; for a photo it is not
# (section 8.7).
#
# Chapter 0 counted the trainable parameters of a model. A parameter count is
# more useful broken down by layer, and it must handle frozen parameters (a
# pretrained part that is not trained, chapter 19) and **tied** ones (one
# tensor used by two modules, such as a language model whose output layer
# reuses the input embedding, chapter 23).
#
# ### Exercise 4: `count_parameters` (3 points)
#
# `model.named_parameters()` lists each parameter once, under the dotted name
# of its first owner (`"net.0.weight"` belongs to the module `"net.0"`), even
# when it is tied; `model.named_modules()` and
# `module.named_parameters(recurse=False)` walk the modules instead. Either way
# works; the docstring says exactly what to count and where.

# %% grade_id="ch08-count-parameters"
def count_parameters(model, trainable_only=True, by_module=False):
    """Count the scalar parameters of a model, in total or per module.

    Args:
        model: an ``nn.Module`` (it may contain submodules).
        trainable_only: if True (the default), count only the parameters with
            ``requires_grad=True``; if False, count the frozen ones too.
        by_module: if False (the default), return the total as a Python int.
            If True, return a dict that maps the qualified name of a module,
            as in ``model.named_modules()`` ("" for ``model`` itself, "net.0"
            for a child's child), to the number of counted scalars of the
            parameters registered directly on that module (not on its
            children). Modules without a counted parameter are left out.

    Returns:
        An int, or a dict from str to int (``sum(d.values())`` is the total).
        Buffers (such as BatchNorm's running statistics) are not parameters and
        are never counted. A parameter shared by several modules (tied
        weights) is counted once, under the module where
        ``model.named_parameters()`` lists it (the first one met in
        ``model.named_modules()`` order). A 0-d parameter counts as 1. A model
        without counted parameters gives 0, or {} when ``by_module``.
    """
    ### BEGIN SOLUTION
    counts = {}
    for name, param in model.named_parameters():
        if trainable_only and not param.requires_grad:
            continue
        owner = name.rpartition(".")[0]  # "net.0.weight" -> "net.0"; "w" -> ""
        counts[owner] = counts.get(owner, 0) + param.numel()
    return counts if by_module else sum(counts.values())
    ### END SOLUTION


# %%
# Try it: a frozen first layer, and the per-module breakdown
net = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
net[0].requires_grad_(False)
print("trainable:", count_parameters(net), "| all:",
      count_parameters(net, trainable_only=False))
print("by module:", count_parameters(net, trainable_only=False, by_module=True))

# %% grade_id="ch08-count-parameters-tests" points=3
"""count_parameters: Python ints; totals and per-module dicts for a small MLP; a
frozen layer left out unless trainable_only=False; BatchNorm buffers not counted;
tied weights counted once, under their first owner; a parameter registered on the
model itself (key ""); nested modules ("0.0"); 0-d parameters; no parameters.

Hidden tests: the same rules on other models.
"""


def check_count(model, expected, what, **kwargs):
    got = count_parameters(model, **kwargs)
    if isinstance(expected, dict):
        assert isinstance(got, dict), (
            f"count_parameters({what}, {kwargs}): expected a dict, got "
            f"{type(got).__name__} {got!r}")
        bad_types = {k: type(v).__name__ for k, v in got.items() if type(v) is not int}
        assert not bad_types, f"count_parameters({what}): non-int counts {bad_types}"
    else:
        assert type(got) is int, (
            f"count_parameters({what}, {kwargs}): expected a Python int, got "
            f"{type(got).__name__} {got!r}")
    assert got == expected, (
        f"count_parameters({what}, {kwargs}): expected {expected!r}, got {got!r}")


mlp = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
check_count(mlp, 44, "Linear(4, 6), ReLU, Linear(6, 2)")
check_count(mlp, {"0": 30, "2": 14}, "the same MLP", by_module=True)
mlp[0].requires_grad_(False)
check_count(mlp, 14, "the MLP with its first layer frozen")
check_count(mlp, {"2": 14}, "the MLP with its first layer frozen", by_module=True)
check_count(mlp, 44, "the MLP with its first layer frozen", trainable_only=False)
check_count(mlp, {"0": 30, "2": 14}, "the MLP with its first layer frozen",
            trainable_only=False, by_module=True)
check_count(nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8)), {"0": 48, "1": 16},
            "Linear(5, 8), BatchNorm1d(8) (running statistics are buffers)",
            by_module=True)
embed, head = nn.Embedding(10, 4), nn.Linear(4, 10, bias=False)
head.weight = embed.weight  # tied: one tensor in two modules
tied = nn.Sequential(embed, head)
check_count(tied, 40, "an Embedding(10, 4) tied to a Linear(4, 10, bias=False)")
check_count(tied, {"0": 40}, "the tied model (the shared weight counts under '0')",
            by_module=True)
nested = nn.Sequential(nn.Sequential(nn.Linear(2, 3)), nn.Linear(3, 1))
nested.scale = nn.Parameter(torch.tensor(2.0))  # 0-d, on the model itself
check_count(nested, {"": 1, "0.0": 9, "1": 4},
            "Sequential(Sequential(Linear(2, 3)), Linear(3, 1)) with a 0-d "
            "parameter of its own", by_module=True)
check_count(nested, 14, "the same nested model")
check_count(nn.ReLU(), 0, "nn.ReLU()")
check_count(nn.ReLU(), {}, "nn.ReLU()", by_module=True)
### BEGIN HIDDEN TESTS
_shared = nn.Linear(6, 6)
_outer = nn.Sequential(nn.Linear(3, 6), nn.Sequential(nn.ReLU(), _shared), _shared,
                       nn.Linear(6, 2, bias=False))
check_count(_outer, {"0": 24, "1.1": 42, "3": 12}, "a Linear(6, 6) used at two depths",
            by_module=True)
check_count(_outer, 78, "a Linear(6, 6) used at two depths")
_outer[3].requires_grad_(False)
check_count(_outer, {"0": 24, "1.1": 42}, "its last layer frozen", by_module=True)
check_count(_outer, {"0": 24, "1.1": 42, "3": 12}, "its last layer frozen",
            by_module=True, trainable_only=False)
_bn = nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4))
_bn[1].requires_grad_(False)
check_count(_bn, 76, "Conv2d(2, 4, 3) and a frozen BatchNorm2d(4)")
check_count(_bn, 84, "Conv2d(2, 4, 3) and a frozen BatchNorm2d(4)",
            trainable_only=False)
_emb, _out = nn.Embedding(7, 3), nn.Linear(3, 7)
_out.weight = _emb.weight
_out.weight.requires_grad_(False)
check_count(nn.Sequential(_emb, _out), {"1": 7}, "a frozen tied weight",
            by_module=True)
check_count(nn.Sequential(_emb, _out), {"0": 21, "1": 7}, "a frozen tied weight",
            by_module=True, trainable_only=False)
_scalars = nn.Module()
_scalars.a = nn.Parameter(torch.tensor(0.5))
_scalars.b = nn.Parameter(torch.tensor(1.5), requires_grad=False)
check_count(_scalars, {"": 1}, "two 0-d parameters, one frozen", by_module=True)
check_count(_scalars, 2, "two 0-d parameters, one frozen", trainable_only=False)
check_count(nn.Sequential(nn.Dropout(0.1), nn.Flatten()), {}, "Dropout, Flatten",
            by_module=True, trainable_only=False)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 5: `max_width` (2 points)
#
# The formula $P(H)$ above answers "how many parameters does this MLP have?".
# The design question usually runs the other way: with a budget of $B$
# parameters (memory, a fair comparison between two models), how wide can the
# hidden layers be? Return the largest $H \ge 1$ with $P(H) \le B$, or 0 when
# even $H = 1$ is over budget. A loop over $H$, a binary search and the
# quadratic formula (careful with rounding) all work; the tests keep $H$ below
# 200,000.

# %% grade_id="ch08-max-width"
def max_width(input_size, depth, output_size, budget):
    """Widest MLP with `depth` equal hidden layers that fits a parameter budget.

    The network is DeepMLP(input_size, [H] * depth, output_size), which has
    P(H) = (D + 1) H + (K - 1)(H + 1) H + (H + 1) C parameters, with
    D = input_size, K = depth and C = output_size.

    Args:
        input_size: D, an int >= 1.
        depth: K, the number of hidden layers, an int >= 1.
        output_size: C, an int >= 1.
        budget: B, an int >= 0.

    Returns:
        A Python int: the largest H >= 1 with P(H) <= B, or 0 if P(1) > B.

    Raises:
        ValueError: if depth < 1.
    """
    ### BEGIN SOLUTION
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")

    def size(h):
        return (input_size + 1) * h + (depth - 1) * (h + 1) * h + (h + 1) * output_size

    low, high = 0, 1  # invariant: size(low) <= budget (or low == 0)
    while size(high) <= budget:
        low, high = high, 2 * high
    while high - low > 1:  # size(high) > budget
        mid = (low + high) // 2
        low, high = (mid, high) if size(mid) <= budget else (low, mid)
    return low
    ### END SOLUTION


# %%
# Try it: a 1-million-parameter MLP on 224 x 224 RGB photos, 1000 classes
print(max_width(224 * 224 * 3, 1, 1000, 1_000_000))

# %% grade_id="ch08-max-width-tests" points=2
"""max_width: small cases by hand at the boundary (P(H) == B and B - 1), one and
several hidden layers, a photo-sized input, a budget too small (0), a Python int,
ValueError for depth 0; results checked against P(H) <= B < P(H + 1).

Hidden tests: other sizes and budgets, exact boundaries, H up to 200,000.
"""


def mlp_size(D, K, H, C):
    return (D + 1) * H + (K - 1) * (H + 1) * H + (H + 1) * C


def check_width(D, K, C, B, expected=None):
    got = max_width(D, K, C, B)
    what = f"max_width({D}, {K}, {C}, {B})"
    assert type(got) is int, f"{what}: expected a Python int, got {type(got).__name__}"
    if expected is not None:
        assert got == expected, f"{what}: expected {expected}, got {got}"
    if got >= 1:
        assert mlp_size(D, K, got, C) <= B, (
            f"{what} = {got}, but that MLP has {mlp_size(D, K, got, C)} parameters")
    assert mlp_size(D, K, got + 1, C) > B, (
        f"{what} = {got}, but width {got + 1} also fits "
        f"({mlp_size(D, K, got + 1, C)} parameters)")


check_width(2, 1, 1, 41, expected=10)  # P(H) = 4H + 1: P(10) = 41
check_width(2, 1, 1, 40, expected=9)
check_width(3, 2, 2, 62, expected=5)  # P(H) = H^2 + 7H + 2: P(5) = 62
check_width(3, 2, 2, 61, expected=4)
check_width(3, 2, 2, 9, expected=0)  # P(1) = 10
check_width(224 * 224 * 3, 1, 1000, 1_000_000, expected=6)
check_width(784, 3, 10, 10**8)
expect_raises(ValueError, max_width, 3, 0, 2, 100, name="max_width(3, 0, 2, 100)")
### BEGIN HIDDEN TESTS
for _D, _K, _C in [(64, 2, 10), (1, 5, 1), (100, 1, 7), (13, 4, 3)]:
    for _H in (1, 2, 37, 1000):
        _B = mlp_size(_D, _K, _H, _C)
        check_width(_D, _K, _C, _B, expected=_H)
        check_width(_D, _K, _C, _B - 1, expected=_H - 1)
        check_width(_D, _K, _C, _B + 1)
check_width(64, 1, 10, 0, expected=0)
check_width(1, 2, 1, mlp_size(1, 2, 199_999, 1), expected=199_999)
check_width(5, 1, 3, 10**6 + 3)
check_width(150528, 2, 1000, 10**9)
expect_raises(ValueError, max_width, 5, -1, 2, 100, name="max_width(5, -1, 2, 100)")
### END HIDDEN TESTS

# %% [markdown]
# ## 8.6 Training an MLP on handwritten digits
#
# Scikit-learn's digits are 1,797 grey-scale images of 8x8 pixels; flattened,
# each is a vector of $D = 64$ numbers in $[0, 1]$ and a label from 0 to 9. A
# quarter is kept aside as the test set. The model is
# `DeepMLP(64, [128, 64], 10, dropout=0.1)`, trained with Adam on mini-batches
# of 64 and the cross-entropy loss on the logits. Each epoch is one pass over
# the training set in a new random order, and the learning rate follows a
# cosine from $3 \cdot 10^{-3}$ down to 0 over the epochs (chapter 16): the
# small steps of the last epochs keep the final accuracy from jumping between
# epochs, as it can with a constant rate.
# Remember the two modes: `train()` while training (dropout on), `eval()` and
# `torch.no_grad()` to evaluate.
#
# The bar: at least 95% accuracy on the test set, with this seed and with
# others.

# %%
X_digits, y_digits = load_digits()  # (1797, 64) in [0, 1], labels (1797,)
X_train, X_test, y_train, y_test = train_test_split(X_digits, y_digits,
                                                    test_fraction=0.25, seed=0)
print(f"train {tuple(X_train.shape)}, test {tuple(X_test.shape)}")


def evaluate(model, X, y):
    """Loss and accuracy on (X, y) in evaluation mode."""
    model.eval()
    with torch.no_grad():
        logits = model(X)
        loss = F.cross_entropy(logits, y).item()
        acc = (logits.argmax(dim=1) == y).float().mean().item()
    return loss, acc


def train_digits(model, data, num_epochs, batch_size=64, lr=3e-3, seed=0):
    """Mini-batch Adam on data = (X_tr, y_tr, X_te, y_te); returns the history."""
    set_seed(seed)  # the batch order
    X_tr, y_tr, X_te, y_te = (t.to(device) for t in data)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, num_epochs)
    history = {"train loss": [], "test loss": [], "test accuracy": []}
    for _ in progress(range(num_epochs), desc="epochs"):
        model.train()
        order = torch.randperm(len(X_tr), device=device)
        total = 0.0
        for start in range(0, len(X_tr), batch_size):
            batch = order[start:start + batch_size]
            loss = F.cross_entropy(model(X_tr[batch]), y_tr[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        schedule.step()  # one step of the cosine per epoch
        test_loss, test_acc = evaluate(model, X_te, y_te)
        history["train loss"].append(total / len(X_tr))
        history["test loss"].append(test_loss)
        history["test accuracy"].append(test_acc)
    return history


# %%
NUM_EPOCHS = 20  # the knob: a GPU, or more patience, allows more
digits_cache = {}  # the trained model, so that later cells reuse it


def trained_digits_model(num_epochs=NUM_EPOCHS):
    """DeepMLP(64, [128, 64], 10) trained on digits (once), and its history."""
    if num_epochs not in digits_cache:
        set_seed(0)  # the weights' initialisation
        model = DeepMLP(64, [128, 64], 10, dropout=0.1).to(device)
        print(f"{count_parameters(model)} trainable parameters")
        data = (X_train, y_train, X_test, y_test)
        digits_cache[num_epochs] = model, train_digits(model, data, num_epochs)
    return digits_cache[num_epochs]


digits_model, digits_history = trained_digits_model()
digits_accuracy = digits_history["test accuracy"][-1]
check_bar("test accuracy on digits", digits_accuracy, 0.95)

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6))
plot_curves({k: digits_history[k] for k in ("train loss", "test loss")},
            xlabel="epoch", ylabel="cross-entropy", logy=True, ax=left)
left.set_title("DeepMLP on digits: loss")
plot_curves({"test accuracy": digits_history["test accuracy"]}, xlabel="epoch",
            ylabel="accuracy", ax=right)
right.axhline(0.95, color="0.5", ls=":", label="bar 0.95")
right.legend()
right.set_title("test accuracy")
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Forgetting `eval()`
#
# Evaluated in training mode, dropout keeps switching neurons off: the
# predictions change from one call to the next, and so does the accuracy. The
# cell below evaluates the trained model twice in each mode.

# %%
digits_model, _ = trained_digits_model()  # the model trained above
X_te, y_te = X_test.to(device), y_test.to(device)
with torch.no_grad():
    digits_model.train()  # the mistake
    pred_a, pred_b = digits_model(X_te).argmax(1), digits_model(X_te).argmax(1)
    digits_model.eval()  # the fix
    pred_c, pred_d = digits_model(X_te).argmax(1), digits_model(X_te).argmax(1)
for mode, (a, b) in (("train", (pred_a, pred_b)), ("eval", (pred_c, pred_d))):
    print(f"{mode:5s} mode: accuracy {(a == y_te).float().mean():.4f} then "
          f"{(b == y_te).float().mean():.4f}; {(a != b).sum().item()} of {len(a)} "
          "predictions changed between the two calls")

# %% [markdown]
# ## 8.7 When an MLP is the right tool, and when it is not
#
# An MLP assumes nothing about its input: it is a function of a vector of
# fixed length, and every input feature gets its own weights in the first
# layer. That is its strength and its weakness.
#
# **Right tool:**
# - **tabular data**: rows of measurements (age, income, blood pressure) whose
#   columns have no order or neighbourhood to exploit. Standardise the
#   features first. Gradient-boosted trees are a strong competitor on such
#   data and often win on medium-sized tables (Grinsztajn, Oyallon and
#   Varoquaux 2022), so try both;
# - **fixed-size feature vectors** from somewhere else: embeddings from a
#   pretrained network, hand-made features;
# - **a baseline**: a small MLP takes minutes to set up, and any fancier
#   model must beat it;
# - **a part of a bigger network**: the head of a CNN, the feed-forward block
#   of every transformer layer (chapter 11), the networks of reinforcement
#   learning agents.
#
# **Wrong tool:**
# - **images**: the MLP does not know which pixels are neighbours, and a
#   pattern it learned in one place means nothing to it one pixel further;
#   and the first layer's parameter count explodes with the resolution;
# - **sequences** (text, audio, time series): the input length varies, and a
#   word at position 3 and the same word at position 7 meet different weights;
#   recurrent networks and transformers share weights across positions
#   (chapters 10 and 11).
#
# The next three cells measure these claims. First, a tabular dataset: the wine
# data (178 wines, 13 chemical measurements, 3 cultivars), standardised with
# the training split's statistics.

# %%
X_wine, y_wine, wine_features = load_tabular("wine")
Xw_train, Xw_test, yw_train, yw_test = train_test_split(X_wine, y_wine,
                                                        test_fraction=0.3, seed=0)
wine_mean, wine_std = Xw_train.mean(dim=0), Xw_train.std(dim=0)
Xw_train, Xw_test = (Xw_train - wine_mean) / wine_std, (Xw_test - wine_mean) / wine_std
set_seed(1)
wine_model = DeepMLP(13, [32], 3, dropout=0.1)
wine_optimizer = torch.optim.Adam(wine_model.parameters(), lr=0.01)
for _ in range(200):  # full batch: the whole training set is 124 rows
    wine_model.train()
    wine_loss = F.cross_entropy(wine_model(Xw_train), yw_train)
    wine_optimizer.zero_grad()
    wine_loss.backward()
    wine_optimizer.step()
wine_accuracy = evaluate(wine_model, Xw_test, yw_test)[1]
print(f"wine, {len(Xw_test)} test wines: accuracy {wine_accuracy:.3f}")
check_bar("test accuracy on wine", wine_accuracy, 0.9)

# %% [markdown]
# Second, images. An MLP sees a digit as a list of 64 numbers. Shift the test
# digits by one or two pixels (an operation that leaves the digit as readable
# as before) and the MLP's accuracy drops, because every pixel now lands on
# weights that were trained for a different place. A CNN (chapter 9) applies
# one small filter at every position, so a shifted pattern meets the same
# weights. And if the pixels of *every* image are shuffled by the same fixed
# permutation, an MLP trained on the shuffled images does about as well as on
# the real ones: it never used the fact that neighbouring pixels belong
# together.

# %%
def shift_images(X, dx, dy):
    """Shift flattened 8x8 images right by dx and down by dy, filling with 0."""
    images = X.reshape(-1, 8, 8)
    shifted = torch.zeros_like(images)
    rows, cols = slice(max(dy, 0), 8 + min(dy, 0)), slice(max(dx, 0), 8 + min(dx, 0))
    src_rows = slice(max(-dy, 0), 8 + min(-dy, 0))
    src_cols = slice(max(-dx, 0), 8 + min(-dx, 0))
    shifted[:, rows, cols] = images[:, src_rows, src_cols]
    return shifted.reshape(len(X), 64)


digits_model, digits_history = trained_digits_model()  # the model trained above
shift_accuracy = {}
for shift in (0, 1, 2):
    accs = [evaluate(digits_model, shift_images(X_test, dx, dy).to(device),
                     y_test.to(device))[1]
            for dx, dy in ((shift, 0), (-shift, 0), (0, shift), (0, -shift))]
    shift_accuracy[shift] = sum(accs) / len(accs)
    print(f"shifted by {shift} pixel(s): mean test accuracy "
          f"{shift_accuracy[shift]:.3f}")

set_seed(2)
permutation = torch.randperm(64)
shuffled_model = DeepMLP(64, [128, 64], 10, dropout=0.1).to(device)
shuffled_data = (X_train[:, permutation], y_train, X_test[:, permutation], y_test)
shuffled_accuracy = train_digits(shuffled_model, shuffled_data, NUM_EPOCHS,
                                 seed=2)["test accuracy"][-1]
print(f"pixels shuffled by one fixed permutation: test accuracy {shuffled_accuracy:.3f}"
      f" (real pixels: {digits_history['test accuracy'][-1]:.3f})")

fig, axes = plt.subplots(1, 4, figsize=(9, 2.6))
sample = X_test[:1]
for ax, (title, img) in zip(axes, [("a test digit", sample),
                                   ("shifted 1 px right", shift_images(sample, 1, 0)),
                                   ("shifted 2 px down", shift_images(sample, 0, 2)),
                                   ("pixels shuffled", sample[:, permutation])],
                           strict=True):
    ax.imshow(img.reshape(8, 8).numpy(), cmap="gray_r")
    ax.set_title(title, fontsize=9)
    ax.axis("off")
fig.suptitle(f"MLP test accuracy: {shift_accuracy[0]:.2f} as is, "
             f"{shift_accuracy[1]:.2f} shifted 1 px, {shift_accuracy[2]:.2f} "
             f"shifted 2 px, {shuffled_accuracy:.2f} trained on shuffled pixels",
             fontsize=9)
fig.tight_layout()
plt.show()

# %% [markdown]
# Third, the parameter count. A first hidden layer of 1,024 neurons on a
# 224x224 RGB photo needs $(224 \cdot 224 \cdot 3 + 1) \cdot 1024$ weights and
# biases, while a convolution with 64 filters of size 3x3 over the same photo
# needs $64 \cdot (3 \cdot 3 \cdot 3 + 1)$, whatever the photo's size. Turned
# around with `max_width`: with a budget of one million parameters, how wide
# can the hidden layer of an MLP for 1,000 classes be? (The big layer is built
# on the `meta` device, which records shapes without allocating memory.)

# %%
photo = 224 * 224 * 3
# the meta device gives tensors shapes but no memory: 154M floats would need 616 MB
big_layer = nn.Linear(photo, 1024, device="meta")
print(f"Linear({photo}, 1024): {count_parameters(big_layer):>12,} parameters")
small_layer = nn.Conv2d(3, 64, 3)
print(f"Conv2d(3, 64, 3):       {count_parameters(small_layer):>12,} parameters")
for side in (8, 28, 64, 224):
    print(f"{side:3d}x{side:<3d} RGB input, 1,000 classes, 1M parameters: hidden width "
          f"at most {max_width(side * side * 3, 1, 1000, 1_000_000)}")

# %% [markdown]
# ## 8.8 Summary
#
# - A layer computes $f(Wx + b)$; an MLP chains layers and leaves the output
#   layer without activation, so that it returns logits (classification) or
#   numbers (regression). Without activations a stack of layers is one linear
#   map.
# - XOR is not linearly separable; one hidden layer of two ReLUs computes it
#   exactly.
# - One hidden layer can approximate any continuous function on a bounded set
#   (universal approximation); in one dimension, $H$ ReLUs draw a broken line
#   whose error falls like $1/H^2$. The theorem promises existence, not that
#   training finds the weights, nor a small width in many dimensions: narrow
#   networks trained on $\sin x$ got stuck where wide ones did not.
# - `DeepMLP` stacks Linear, ReLU and Dropout blocks and ends with a Linear.
#   A BatchNorm in every block fails on a batch of one in training mode; a
#   softmax or ReLU after the output layer cripples the loss; dropout must be
#   switched off with `model.eval()` for evaluation.
# - An MLP has $\sum_\ell (D_{\ell-1} + 1) D_\ell$ parameters; counting them
#   per module, with frozen and tied parameters handled, shows where they are.
# - On digits, an MLP reached the 95% bar in a few seconds of CPU time, and it
#   is the right tool for tabular data and fixed-size features. On images it
#   ignores neighbourhoods (shuffling the pixels did not hurt it, shifting them
#   did) and its parameter count explodes with the resolution.
#
# **Next:** chapter 9 builds convolutional networks, which share one small
# filter across all positions of an image: few parameters, and robustness to
# shifts built in.
