# %% [markdown]
# # Chapter 18: Debugging and speeding up training
#
# Most bugs in deep learning do not crash. A network with a wrong sign, a
# frozen layer, a double softmax or a learning rate ten times too large still
# runs, prints a loss and produces a model: only a worse one. This chapter is
# about the instruments that make such bugs visible: gradient norms, hooks that
# look inside a model while it runs, the one-batch overfitting test, anomaly
# detection for NaNs, the learning-rate range test, and the profiler. The last
# part measures two ways of trading one resource for another: gradient
# checkpointing (memory for time) and bfloat16 autocast (precision for speed).
#
# **You will learn**
# - a checklist for a network that "trains but does not learn", in the order
#   that finds bugs fastest;
# - how to read per-parameter gradient norms, what vanishing and exploding
#   gradients look like, and what `clip_grad_norm_` really does;
# - how forward hooks look inside a running model, and how to find dead ReLUs
#   with them (and remove every hook afterwards);
# - the first test of every new model: overfit one small batch; it exposes a
#   double softmax in seconds;
# - how to hunt a NaN back to the operation that made it with
#   `torch.autograd.detect_anomaly`;
# - how to choose a learning rate with a range test;
# - how to read a `torch.profiler` table, and why the first iteration lies;
# - how much memory autograd keeps for the backward pass, how gradient
#   checkpointing cuts it, and what bfloat16 autocast on the CPU costs and
#   saves, measured rather than assumed.
#
# **Graded exercises** (17 points)
#
# | exercise | points |
# |---|---|
# | `grad_norms(model)` | 3 |
# | `find_dead_relus(model, x)` | 4 |
# | `overfit_one_batch(model, batch, steps, lr, loss_fn)` | 3 |
# | `lr_range_test(model, batches, lr_min, lr_max, diverge_factor, loss_fn)` | 4 |
# | `saved_tensor_bytes(fn, *args, exclude)` | 3 |
#
# Each exercise is a function whose docstring states its whole contract:
# shapes, dtypes, devices, edge cases and the built-ins you may not call.
# Replace `raise NotImplementedError()` with your code and run the test cell
# below it. The visible tests show every rule the grader checks; hidden tests
# repeat them on other values, shapes and seeds.

# %%
import copy
import math
import time
import warnings

import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile, record_function
from torch.utils.checkpoint import checkpoint, checkpoint_sequential

from dlcourse import get_device, progress, set_seed
from dlcourse.checks import assert_close, expect_raises, forbid
from dlcourse.data import load_digits, train_test_split
from dlcourse.training import check_bar
from dlcourse.widgets import interactive_plot

device = get_device()  # the tests also run your code on this device
set_seed(0)
print(f"torch {torch.__version__}, device: {device}, "
      f"{torch.get_num_threads()} CPU thread(s)")

# %% [markdown]
# ## 18.1 A network that trains but does not learn
#
# When a model does worse than it should, the cause is one of a few kinds:
# the **data** (labels misaligned with inputs, a normalisation fitted on the
# test set, the wrong channel order), the **model** (a missing activation, an
# activation after the last layer, a layer that is never called), the **loss**
# (a softmax before `cross_entropy`, which applies its own), the
# **optimisation** (a learning rate far off, gradients that vanish or explode,
# `zero_grad` forgotten) or the **evaluation** (`model.eval()` forgotten,
# accuracy computed on the training set). Professionals check them in the
# order that costs least:
#
# 1. **Look at the data** and the labels, a few examples by eye, and at the
#    shapes after every step of the pipeline.
# 2. **Check the loss at initialisation.** A classifier with $C$ classes that
#    knows nothing should predict about $1/C$ for every class, so its
#    cross-entropy starts near $\log C$ (2.30 for ten classes). Much more
#    means the logits are too large at initialisation: the model is
#    confidently wrong before it has learned anything. Much less means that
#    the model is not untrained after all (weights loaded or reused by
#    mistake) or that the loss is not the one you think.
# 3. **Overfit one small batch** (section 18.4): any correct model with
#    enough parameters drives the loss on 32 examples to almost zero. If it
#    cannot, the bug is in the model, the loss or the optimiser, not in the
#    data or the amount of training.
# 4. **Watch the gradients** (section 18.2) and the activations (18.3) during
#    the first steps.
# 5. **Find a learning rate** with a range test (18.6) instead of guessing.
# 6. Only then train on everything, tune, and **profile** (18.7) if it is too
#    slow or (18.8) too large for the memory.
#
# The cell below runs step 2 on an MLP for the digits: ten classes, so the
# initial loss should be close to $\log 10$. The same model with its last
# layer's weights multiplied by 20 shows what a too-confident initialisation
# looks like.

# %%
X_digits, y_digits = load_digits()  # (1797, 64) in [0, 1], labels (1797,)
X_train, X_test, y_train, y_test = train_test_split(X_digits, y_digits,
                                                    test_fraction=0.25, seed=0)


def digits_mlp(hidden=64):
    """A small MLP for the flattened 8x8 digits: 64 -> hidden -> hidden -> 10."""
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                         nn.ReLU(), nn.Linear(hidden, 10))


set_seed(0)
fresh = digits_mlp()
with torch.no_grad():
    loss_start = F.cross_entropy(fresh(X_train), y_train).item()
    fresh[-1].weight.mul_(20)
    loss_loud = F.cross_entropy(fresh(X_train), y_train).item()
print(f"log(10) = {math.log(10):.3f}; initial loss {loss_start:.3f}; "
      f"with the last layer's weights x20: {loss_loud:.3f}")

# %% [markdown]
# ## 18.2 Gradient norms
#
# After `loss.backward()` every parameter $\theta_i$ holds its gradient
# $g_i = \partial L / \partial \theta_i$ in `.grad`. Its Euclidean norm
#
# $$\lVert g_i \rVert_2 = \sqrt{\textstyle\sum_j g_{ij}^2}$$
#
# says how strongly the loss pulls on that tensor. Read layer by layer, the
# norms tell three stories:
#
# - **vanishing gradients**: the norms shrink by a roughly constant factor
#   from the last layer to the first. In a deep network the gradient of layer
#   $\ell$ is a product of $L - \ell$ Jacobians; if each shrinks vectors by a
#   factor $a < 1$, the first layers receive $a^{L}$ of the signal and barely
#   learn (chapters 12 and 13 fixed this with normalisation and residual
#   connections);
# - **exploding gradients**: the same with $a > 1$, or single steps where the
#   norm jumps by orders of magnitude (a bad batch, an RNN over a long
#   sequence); the loss spikes or becomes NaN;
# - **a parameter with no gradient** at all (`.grad` is `None`): it is frozen
#   (`requires_grad=False`) or not used in the forward pass, for instance a
#   layer created in `__init__` and never called.
#
# The **global norm** $\lVert g \rVert = \sqrt{\sum_i \lVert g_i \rVert_2^2}$
# of all gradients together is the number that gradient clipping looks at:
# `torch.nn.utils.clip_grad_norm_(params, max_norm)` multiplies every gradient
# by $\min\big(1, \text{max\_norm} / \lVert g \rVert\big)$, so it does nothing
# when the norm is already small. Two habits follow. There is no need to
# test the norm before clipping (`if norm > 5: clip(...)` clips exactly the
# same gradients as calling it every step), and the function **returns** the
# global norm before clipping: log that value, it is free.
#
# ### Exercise 1: `grad_norms` (3 points)
#
# Return the norm of every parameter's gradient, by name, as Python floats.
# Skip parameters whose `.grad` is `None`: a norm of 0 would hide the
# difference between "no gradient reached this tensor" (a bug) and "the
# gradient is exactly zero". Use `torch.linalg.vector_norm` or the formula;
# `torch.norm` and `Tensor.norm` are deprecated and forbidden here.

# %% grade_id="ch18-grad-norms"
def grad_norms(model):
    """The L2 norm of the gradient of every parameter of ``model``.

    Args:
        model: an ``nn.Module``, typically right after ``loss.backward()``.

    Returns:
        A dict mapping each name of ``model.named_parameters()`` whose
        parameter has a gradient (``p.grad is not None``) to the Euclidean norm
        ``sqrt(sum of squares)`` of ``p.grad``, a Python float computed in the
        dtype of the gradient, on its device. The names and their order are
        those of ``model.named_parameters()`` (a parameter shared by two
        modules appears once). Parameters without a gradient (frozen, unused in
        the forward pass, or before any backward pass) are left out; the dict
        is empty if no parameter has one. The gradients are not modified.

    Do not call the deprecated ``torch.norm`` or ``Tensor.norm``
    (``torch.linalg.vector_norm`` is allowed).
    """
    ### BEGIN SOLUTION
    return {name: torch.linalg.vector_norm(p.grad).item()
            for name, p in model.named_parameters() if p.grad is not None}
    ### END SOLUTION


# %%
# Try it: one backward pass of the digits MLP
set_seed(0)
demo_mlp = digits_mlp()
F.cross_entropy(demo_mlp(X_train[:128]), y_train[:128]).backward()
for name, value in grad_norms(demo_mlp).items():
    print(f"{name:10s} {value:.4f}")

# %% grade_id="ch18-grad-norms-tests" points=3
"""grad_norms: a gradient set by hand ([3, 4] has norm 5); an MLP after a backward
pass in float64 on `device` against torch.linalg.vector_norm; Python floats in the
order of named_parameters; frozen and unused parameters left out; a weight shared
by two layers listed once; an empty dict before any backward pass; the gradients
not modified; no torch.norm or Tensor.norm.

Hidden tests: other models (a CNN, shared weights), float32, other seeds, and the
global norm against torch.nn.utils.clip_grad_norm_.
"""
banned_norm = ("torch.norm", "torch.Tensor.norm")


def check_grad_norms(model, what, rtol=1e-10):
    """grad_norms(model) against vector_norm in float64, gradients untouched."""
    grads = {n: p.grad.clone() for n, p in model.named_parameters()
             if p.grad is not None}
    with forbid(*banned_norm):
        got = grad_norms(model)
    assert isinstance(got, dict), f"{what}: expected a dict, got {type(got).__name__}"
    assert list(got) == list(grads), (
        f"{what}: expected the keys {list(grads)} (named_parameters order, only "
        f"parameters with a gradient), got {list(got)}")
    for name, value in got.items():
        assert type(value) is float, (
            f"{what}: {name}: expected a Python float, got {type(value).__name__}")
        want = torch.linalg.vector_norm(grads[name].double()).item()
        assert_close(value, want, rtol=rtol, atol=1e-30, name=f"{what}: {name}")
    for name, p in model.named_parameters():
        if name in grads:
            assert torch.equal(p.grad, grads[name]), f"{what}: {name}.grad was changed"
    return got


# by hand: a gradient [3, 4] has norm 5, [[1, 2], [2, 4]] has norm 5 too
lin = nn.Linear(2, 1)
lin.weight.grad = torch.tensor([[3.0, 4.0]])
lin.bias.grad = torch.tensor([0.0])
got = check_grad_norms(lin, "Linear(2, 1) with gradients set by hand")
assert got == {"weight": 5.0, "bias": 0.0}, f"expected weight 5.0, bias 0.0, got {got}"
assert grad_norms(nn.Linear(3, 2)) == {}, "before any backward: expected {}"
# a real backward pass, float64 on the device
torch.manual_seed(0)
mlp = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3)).to(device,
                                                                      torch.float64)
x = torch.randn(4, 5, dtype=torch.float64, device=device)
F.cross_entropy(mlp(x), torch.tensor([0, 2, 1, 2], device=device)).backward()
check_grad_norms(mlp, "MLP after backward, float64 on device")


class WithUnused(nn.Module):
    """A frozen first layer and a layer that forward never calls."""

    def __init__(self):
        super().__init__()
        self.frozen = nn.Linear(3, 4).requires_grad_(False)
        self.unused = nn.Linear(4, 4)
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(torch.relu(self.frozen(x)))


model = WithUnused()
model(torch.randn(6, 3)).pow(2).sum().backward()
got = check_grad_norms(model, "frozen and unused layers", rtol=1e-5)
assert list(got) == ["head.weight", "head.bias"], (
    f"only the head has gradients: expected ['head.weight', 'head.bias'], got "
    f"{list(got)}")
# a weight shared by two layers is one parameter: named_parameters lists it once
shared = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
shared[1].weight = shared[0].weight
shared(torch.randn(2, 3)).sum().backward()
got = check_grad_norms(shared, "a weight shared by two layers", rtol=1e-5)
assert list(got) == ["0.weight", "0.bias", "1.bias"], (
    f"expected ['0.weight', '0.bias', '1.bias'] (the shared weight once), got "
    f"{list(got)}")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(18)
_cnn = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.Flatten(),
                     nn.Linear(3 * 3 * 5, 4)).to(device, torch.float64)
_x = torch.randn(3, 2, 5, 7, generator=_gen, dtype=torch.float64).to(device)
F.cross_entropy(_cnn(_x), torch.tensor([3, 0, 1], device=device)).backward()
_got = check_grad_norms(_cnn, "hidden: CNN in float64 on device")
# a max_norm this large never scales: the gradients keep their values
_total = torch.nn.utils.clip_grad_norm_(_cnn.parameters(), 1e30).item()
assert_close(math.sqrt(sum(v * v for v in _got.values())), _total, rtol=1e-10,
             atol=1e-30, name="hidden: global norm from grad_norms vs clip_grad_norm_")


class _Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(11, 5)
        self.mid = nn.Linear(5, 5)
        self.out = nn.Linear(5, 11, bias=False)
        self.out.weight = self.embed.weight  # shared: listed once

    def forward(self, tokens):
        return self.out(torch.tanh(self.mid(self.embed(tokens))))


_tied = _Tied().to(device)
_tokens = torch.randint(0, 11, (1, 9), generator=_gen).to(device)
F.cross_entropy(_tied(_tokens)[0], _tokens[0]).backward()
_got = check_grad_norms(_tied, "hidden: tied embedding, float32", rtol=1e-5)
assert "out.weight" not in _got, "a shared parameter must appear once"
_frozen = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
_frozen[1].requires_grad_(False)
_frozen(torch.randn(1, 4, generator=_gen)).sum().backward()
_got = check_grad_norms(_frozen, "hidden: frozen last layer, batch 1", rtol=1e-5)
assert list(_got) == ["0.weight", "0.bias"], f"got {list(_got)}"
### END HIDDEN TESTS

# %% [markdown]
# ### Vanishing and exploding, one slider away
#
# A deep ReLU network initialised with He's rule, $W \sim \mathcal N(0,
# 2/D_{\text{in}})$, keeps the size of the signal constant from layer to layer
# (chapter 12). Scale those weights by a factor $s$ and every layer multiplies
# the backward signal by about $s$ as well: after 20 layers, $s = 0.7$ leaves
# $0.7^{20} \approx 8 \cdot 10^{-4}$ of the gradient for the first layer and
# $s = 1.3$ multiplies it by $1.3^{20} \approx 190$. The widget draws the
# gradient norm of each layer's weight after one backward pass, computed by your
# `grad_norms`. Move the scale below and above 1 and watch the line tilt;
# increase the depth and watch the tilt grow. A plot like this one, made from
# your own model after a few steps, tells you at once whether the first layers
# are learning.

# %%
def layer_grad_norms(depth, scale, width=64, seed=0):
    """Per-layer weight-gradient norms of a deep ReLU MLP with scaled He init."""
    torch.manual_seed(seed)
    layers = []
    for _ in range(depth):
        linear = nn.Linear(width, width)
        nn.init.normal_(linear.weight, std=scale * math.sqrt(2 / width))
        nn.init.zeros_(linear.bias)
        layers += [linear, nn.ReLU()]
    net = nn.Sequential(*layers, nn.Linear(width, 10))
    x = torch.randn(128, width)
    F.cross_entropy(net(x), torch.randint(0, 10, (128,))).backward()
    norms = grad_norms(net)
    return [norms[f"{2 * i}.weight"] for i in range(depth)]


def show_grad_norms(scale=1.0, depth=20):
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for s, style in ((1.0, ":"), (scale, "-")):
        ax.semilogy(range(1, depth + 1), layer_grad_norms(depth, s), style,
                    marker="o" if style == "-" else None, ms=3,
                    label=f"init scale {s:.2f}" + (" (He)" if s == 1.0 else ""))
    ax.set_xlabel("layer (1 = closest to the input)")
    ax.set_ylabel("gradient norm of the weight")
    ax.set_title(f"{depth} ReLU layers, weights scaled by {scale:.2f}")
    ax.legend()
    return fig


interactive_plot(show_grad_norms, scale=(0.5, 1.5, 0.05), depth=(2, 40, 1))

# %% [markdown]
# ## 18.3 Looking inside with hooks: dead ReLUs
#
# A **forward hook** is a function that a module calls after every forward
# pass, with the module, its inputs and its output:
#
# ```python
# handle = module.register_forward_hook(lambda mod, inputs, output: ...)
# ...
# handle.remove()   # a forgotten hook keeps running (and holding memory)
# ```
#
# It sees every intermediate result without changing the model's code. (It
# may even replace the output by returning a new tensor; returning `None`
# leaves it alone.) `register_forward_pre_hook` sees the inputs before the
# forward pass, and `register_full_backward_hook` the gradients flowing
# through a module. Hooks only see **modules**: a `torch.relu(x)` written
# inside `forward` is invisible to them, which is one reason to prefer
# `nn.ReLU()` modules in a model you may need to debug.
#
# A ReLU unit is **dead** when its input is at most zero for every example
# of the data (on a batch, we can only check the batch): it outputs 0
# everywhere, its gradient is 0 everywhere, so its incoming weights never
# change again and it stays dead. One large step (a learning rate too high,
# an outlier batch) can push a bias far below zero and kill many units at
# once. Write $a_{n u}$ for the output of unit $u$ on example $n$; on a
# batch of $N$ examples the dead fraction of a layer with $U$ units is
#
# $$\frac{1}{U}\,\Big|\big\{u : a_{n u} = 0 \text{ for all } n = 1, \dots, N
# \big\}\Big|.$$
#
# ### Exercise 2: `find_dead_relus` (4 points)
#
# Register a forward hook on every `nn.ReLU` module of the model, run the
# model once on `x` (without building a graph), and compute the dead fraction
# of each ReLU that ran. A unit is one position of the output apart from the
# batch dimension: one neuron of an MLP layer, one (channel, row, column) of a
# convolutional feature map. Every hook must be removed before the function
# returns, **also when the forward pass raises**: a `try`/`finally` does it.

# %% grade_id="ch18-find-dead-relus"
def find_dead_relus(model, x):
    """The fraction of dead units of every ``nn.ReLU`` module of ``model`` on ``x``.

    N is the batch size. A ReLU whose output has shape (N, *U) has prod(U)
    units, one per position of U; a unit is dead on ``x`` when its output is
    exactly 0 for all N examples.

    Args:
        model: an ``nn.Module``; each of its ``nn.ReLU`` modules is called at
            most once per forward pass.
        x: the model's input, a tensor with N >= 1 examples on the model's
            device.

    Returns:
        A dict mapping the name (as in ``model.named_modules()``) of every
        ``nn.ReLU`` module that the forward pass called to its dead fraction, a
        Python float in [0, 1]. ReLUs that the forward pass does not call are
        left out. Work by forward hooks: run ``model(x)`` once, under
        ``torch.no_grad()``, in the mode the model is in (do not call
        ``train()`` or ``eval()``); the hooks must not change any output.

    Every hook that the function registers is removed before it returns,
    also when ``model(x)`` raises (the error then propagates unchanged).
    """
    ### BEGIN SOLUTION
    fractions, handles = {}, []

    def make_hook(name):
        def hook(module, inputs, output):
            alive = (output != 0).flatten(1).any(dim=0)  # (prod(U),)
            fractions[name] = (alive.numel() - alive.sum().item()) / alive.numel()
        return hook

    try:
        for name, module in model.named_modules():
            if isinstance(module, nn.ReLU):
                handles.append(module.register_forward_hook(make_hook(name)))
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return fractions
    ### END SOLUTION


# %%
# Try it: a layer whose biases are pushed far below zero is mostly dead
set_seed(0)
demo_mlp = digits_mlp()
with torch.no_grad():
    demo_mlp[2].bias[:48] = -50.0  # 48 of the 64 units of the second layer
print(find_dead_relus(demo_mlp, X_train))

# %% grade_id="ch18-find-dead-relus-tests" points=4
"""find_dead_relus: an MLP with weights set by hand (fractions 2/3 and 1/2); units
of images are (channel, row, column) positions; a CNN in float64 on `device`; a
unit is dead only if zero for every example (batch 1 too); ReLUs never called
are left out; Python floats; no hook left on any module, also after the forward
pass raised; the mode unchanged; the model's output unchanged.

Hidden tests: other MLPs and CNNs with dead units planted at random, other seeds.
"""


def no_hooks_left(model, what):
    for name, module in model.named_modules():
        left = len(module._forward_hooks) + len(module._forward_pre_hooks)
        assert left == 0, (f"{what}: module {name or 'model'!r} still has {left} "
                           "hook(s) after find_dead_relus returned (remove them)")


def check_dead(model, x, expected, what):
    mode = [m.training for m in model.modules()]
    got = find_dead_relus(model, x)
    no_hooks_left(model, what)
    assert isinstance(got, dict), f"{what}: expected a dict, got {type(got).__name__}"
    assert set(got) == set(expected), (
        f"{what}: expected the keys {sorted(expected)}, got {sorted(got)}")
    for name, value in got.items():
        assert type(value) is float, (
            f"{what}: {name}: expected a Python float, got {type(value).__name__}")
        assert_close(value, expected[name], rtol=1e-6, atol=1e-6,
                     name=f"{what}: dead fraction of {name!r}")
    assert [m.training for m in model.modules()] == mode, (
        f"{what}: the call changed the train/eval mode of the model")


# by hand: hidden units h = relu([x1, -x1, -1]) over x = [[1], [2]]: the third is
# dead (always 0), the second is 0 for both examples too -> 2/3; the output layer
# relu([h1 - 10, h1]) has its first unit dead -> 1/2
hand = nn.Sequential(nn.Linear(1, 3), nn.ReLU(), nn.Linear(3, 2), nn.ReLU())
with torch.no_grad():
    hand[0].weight.copy_(torch.tensor([[1.0], [-1.0], [0.0]]))
    hand[0].bias.copy_(torch.tensor([0.0, 0.0, -1.0]))
    hand[2].weight.copy_(torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]))
    hand[2].bias.copy_(torch.tensor([-10.0, 0.0]))
x_hand = torch.tensor([[1.0], [2.0]])
check_dead(hand, x_hand, {"1": 2 / 3, "3": 1 / 2}, "MLP set by hand")
# a unit that is zero for one example but not the other is alive: x = [[1], [-1]]
# makes units 1 and 2 alive, unit 3 stays dead
check_dead(hand, torch.tensor([[1.0], [-1.0]]), {"1": 1 / 3, "3": 1 / 2},
           "MLP set by hand, x = [[1], [-1]] (a unit alive on one example lives)")
check_dead(hand, torch.tensor([[-1.0]]), {"1": 2 / 3, "3": 1.0},
           "batch of one example, x = [[-1]]")
# a unit is a position (channel, row, column), not a whole channel: on one channel
# of 2 x 2 pixels, positions (0, 0) and (1, 0) fire for some example, the others
# never do -> 2 of 4 units dead
only_relu = nn.Sequential(nn.ReLU())
x_pix = torch.tensor([[[[1.0, -1.0], [-1.0, -1.0]]], [[[-1.0, -1.0], [2.0, -1.0]]]])
check_dead(only_relu, x_pix, {"0": 1 / 2}, "one ReLU on images (2, 1, 2, 2)")
# the hooks must not change the output
with torch.no_grad():
    before = hand(x_hand)
find_dead_relus(hand, x_hand)
with torch.no_grad():
    assert torch.equal(hand(x_hand), before), "the model's output changed"


class SmallCNN(nn.Module):
    """conv -> relu -> conv -> relu, and an extra ReLU that forward never calls."""

    def __init__(self):
        super().__init__()
        self.conv1, self.act1 = nn.Conv2d(2, 3, 3, padding=1), nn.ReLU()
        self.conv2, self.act2 = nn.Conv2d(3, 4, 3), nn.ReLU()
        self.spare = nn.ReLU()

    def forward(self, x):
        return self.act2(self.conv2(self.act1(self.conv1(x))))


cnn = SmallCNN().to(device, torch.float64)
with torch.no_grad():  # biases of +-1e6 make units surely alive or surely dead
    cnn.conv1.bias.copy_(torch.tensor([-1e6, 1e6, 1e6]))  # act1: 1 channel of 3
    cnn.conv2.bias.copy_(torch.tensor([1e6, -1e6, -1e6, 1e6]))  # act2: 2 of 4
x_img = torch.randn(3, 2, 5, 6, dtype=torch.float64, device=device)
cnn.eval()
check_dead(cnn, x_img, {"act1": 1 / 3, "act2": 1 / 2},
           "CNN in float64 on device (spare ReLU never called)")
assert not cnn.training, "the model was in evaluation mode and must stay in it"


class Broken(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer, self.act = nn.Linear(3, 4), nn.ReLU()

    def forward(self, x):
        self.act(self.layer(x))
        raise RuntimeError("a bug after the ReLU")


broken = Broken()
expect_raises(RuntimeError, find_dead_relus, broken, torch.randn(2, 3),
              name="find_dead_relus on a model whose forward raises")
no_hooks_left(broken, "after the forward pass raised")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(180)


def _dead_reference(layers, x):
    """Dead fractions of the ReLUs of an nn.Sequential, layer by layer."""
    found = {}
    h = x
    with torch.no_grad():
        for i, layer in enumerate(layers):
            h = layer(h)
            if isinstance(layer, nn.ReLU):
                alive = (h != 0).flatten(1).any(0).double()
                found[str(i)] = 1.0 - alive.mean().item()
    return found


for _sizes, _n in [([7, 9, 5, 11], 4), ([3, 13, 6], 1), ([9, 5, 8, 7, 2], 17)]:
    _layers = []
    for _a, _b in zip(_sizes[:-1], _sizes[1:], strict=True):
        _lin = nn.Linear(_a, _b)
        with torch.no_grad():
            _lin.bias[torch.rand(_b, generator=_gen) < 0.4] = -1e3
        _layers += [_lin, nn.ReLU()]
    _seq = nn.Sequential(*_layers).to(device, torch.float64)
    _x = torch.randn(_n, _sizes[0], generator=_gen, dtype=torch.float64).to(device)
    check_dead(_seq, _x, _dead_reference(_seq, _x), f"hidden: MLP {_sizes}, N={_n}")
_conv = nn.Sequential(nn.Conv2d(1, 5, 3), nn.ReLU(), nn.Conv2d(5, 3, 2, stride=2),
                      nn.ReLU(inplace=True)).to(device)
with torch.no_grad():
    _conv[0].bias[1] = -1e3
_x = torch.randn(2, 1, 9, 7, generator=_gen).to(device)
check_dead(_conv, _x, _dead_reference(_conv, _x), "hidden: CNN with an inplace ReLU")
### END HIDDEN TESTS

# %% [markdown]
# ### How a learning rate too high kills units
#
# The cell trains the digits MLP twice for 3 epochs of plain SGD, once with a
# sensible learning rate and once with one far too high, and measures the dead
# fractions with your `find_dead_relus` on the whole training set. The large
# steps throw many biases and weights to where the unit never fires again;
# those units will not come back however long the training continues. The
# remedies: a smaller learning rate or a warm-up (chapter 24), gradient
# clipping, normalisation layers, or an activation without a flat side
# (Leaky ReLU, GELU; chapter 12).

# %%
def train_sgd(model, lr, num_epochs, batch_size=32, seed=0, cosine=False):
    """Plain mini-batch SGD on the digits training set, optionally with the rate
    decaying along a cosine from lr to 0 (chapter 16); returns the step losses."""
    set_seed(seed)  # the batch order
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    X_tr, y_tr = X_train.to(device), y_train.to(device)
    num_steps = num_epochs * math.ceil(len(X_tr) / batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, num_steps if cosine else 10**9)
    losses = []
    for _ in progress(range(num_epochs), desc="epochs"):
        order = torch.randperm(len(X_tr), device=device)
        for start in range(0, len(X_tr), batch_size):
            batch = order[start:start + batch_size]
            loss = F.cross_entropy(model(X_tr[batch]), y_tr[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
    return losses


def accuracy(model, X, y):
    """Accuracy of model on (X, y) in evaluation mode, without a graph."""
    model.eval()
    with torch.no_grad():
        acc = (model(X.to(device)).argmax(1) == y.to(device)).float().mean().item()
    model.train()
    return acc


for lr in (0.5, 5.0):
    set_seed(0)
    net = digits_mlp().to(device)
    train_sgd(net, lr, num_epochs=3)
    dead = find_dead_relus(net, X_train.to(device))
    print(f"lr {lr:4.1f}: dead fractions "
          + ", ".join(f"ReLU {name}: {value:.2f}" for name, value in dead.items())
          + f"; test accuracy {accuracy(net, X_test, y_test):.3f}")

# %% [markdown]
# ## 18.4 The first test of any model: overfit one batch
#
# Before training on everything, train on **one** small batch and nothing
# else. A model with a few thousand parameters can memorise 32 examples, so
# the training loss must fall to almost zero within a few hundred steps. This
# test takes seconds and answers a precise question: can the model, the loss
# and the optimiser *together* fit anything at all? If they cannot, more data
# or more epochs will not help, and the bug is among a small set of suspects:
# a missing `zero_grad`, an activation or a softmax after the last layer, a
# `detach()` or a `no_grad` that cuts the graph, parameters that never reach
# the optimiser, a loss with the wrong arguments. If they can, the bug (if
# any) is in the data or the generalisation. (A passing test does not prove
# that the labels match the inputs: a network memorises random labels as
# well; see the reading on memorisation by Zhang et al., 2017.)
#
# ### Exercise 3: `overfit_one_batch` (3 points)
#
# Write the loop: Adam with the given learning rate on `model.parameters()`,
# and at every step `zero_grad`, forward, loss, backward, step. Record the
# loss **before** each step as a Python float (`loss.item()`): keeping the
# tensor itself would keep its whole graph in memory. The tests run the same
# loop on a copy of your model and compare the losses and the final weights.

# %% grade_id="ch18-overfit-one-batch"
def overfit_one_batch(model, batch, steps, lr=1e-2, loss_fn=F.cross_entropy):
    """Train ``model`` on a single batch and return the loss at every step.

    N is the batch size.

    Args:
        model: an ``nn.Module`` on the device and dtype of the batch.
        batch: a tuple ``(x, y)``: the model's input with N examples and the
            targets that ``loss_fn`` takes (for the default, class indices of
            shape (N,), int64).
        steps: the number of optimisation steps, an int >= 1.
        lr: Adam's learning rate (its other arguments keep their defaults).
        loss_fn: ``loss_fn(model(x), y)`` returns a scalar loss tensor.

    Returns:
        A list of ``steps`` Python floats: element k is the loss computed just
        before the (k + 1)-th step, so element 0 is the loss of the untrained
        model.

    The function first calls ``model.train()``, then creates one
    ``torch.optim.Adam(model.parameters(), lr=lr)`` and repeats ``steps``
    times: zero the gradients (any gradient present before the call is
    discarded), compute the loss, backward, ``optimizer.step()``. The model is
    trained in place and stays in training mode.

    Raises:
        ValueError: if ``steps < 1``.
    """
    ### BEGIN SOLUTION
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    x, y = batch
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
    ### END SOLUTION


# %%
# Try it: the digits MLP on a batch of 32 images
set_seed(0)
print([round(v, 3) for v in overfit_one_batch(digits_mlp(), (X_train[:32],
                                                             y_train[:32]), 10)])

# %% grade_id="ch18-overfit-one-batch-tests" points=3
"""overfit_one_batch: losses and final weights equal the reference loop (Adam,
zero_grad -> loss -> backward -> step) in float64 on `device`; a list of Python
floats, element 0 the untrained loss; steps = 1; a batch of one example; a
regression with loss_fn=F.mse_loss; gradients present before the call discarded;
the model left in training mode; ValueError for steps = 0.

Hidden tests: other models, batch sizes, learning rates and seeds.
"""


def reference_overfit(model, batch, steps, lr, loss_fn):
    """The documented loop on a copy of the model; returns (losses, copy)."""
    twin = copy.deepcopy(model)
    twin.train()
    optimizer = torch.optim.Adam(twin.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(twin(batch[0]), batch[1])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, twin


def check_overfit(model, batch, steps, what, lr=1e-2, loss_fn=F.cross_entropy):
    want, twin = reference_overfit(model, batch, steps, lr, loss_fn)
    got = overfit_one_batch(model, batch, steps, lr=lr, loss_fn=loss_fn)
    assert isinstance(got, list) and len(got) == steps, (
        f"{what}: expected a list of {steps} losses, got {type(got).__name__} "
        f"of length {len(got) if hasattr(got, '__len__') else '?'}")
    for k, value in enumerate(got):
        assert type(value) is float, (f"{what}: loss {k} is a "
                                      f"{type(value).__name__}, expected a float")
    assert_close(got, want, rtol=1e-8, atol=1e-10, name=f"{what}: losses")
    for (name, p), q in zip(model.named_parameters(), twin.parameters(), strict=True):
        assert_close(p.detach(), q.detach(), rtol=1e-8, atol=1e-10,
                     name=f"{what}: {name} after training")
    assert model.training, f"{what}: the model must be left in training mode"
    return got


gen = torch.Generator().manual_seed(1)
torch.manual_seed(1)
mlp = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3)).to(device,
                                                                        torch.float64)
x = torch.randn(8, 6, generator=gen, dtype=torch.float64).to(device)
y = torch.randint(0, 3, (8,), generator=gen).to(device)
mlp.eval()  # must be switched to training mode
losses = check_overfit(mlp, (x, y), 60, "MLP in float64 on device, 60 steps")
assert losses[-1] < 0.1 * losses[0], (
    f"the loss should fall: {losses[0]} -> {losses[-1]}")
with torch.no_grad():
    untrained = F.cross_entropy(mlp(x), y).item()
one = overfit_one_batch(mlp, (x, y), 1)
assert_close(one, [untrained], rtol=1e-12, atol=1e-12,
             name="steps=1: the loss of the model before the step")
# a regression, batch of one, with stale gradients present before the call
reg = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double()
for p in reg.parameters():
    p.grad = torch.full_like(p, 100.0)
check_overfit(reg, (torch.randn(1, 3, generator=gen, dtype=torch.float64),
                    torch.randn(1, 2, generator=gen, dtype=torch.float64)), 7,
              "regression, batch 1, loss_fn=F.mse_loss, lr=0.05, stale .grad",
              lr=0.05, loss_fn=F.mse_loss)
expect_raises(ValueError, overfit_one_batch, mlp, (x, y), 0,
              name="overfit_one_batch(..., steps=0)")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(81)
for _d, _h, _c, _n, _steps, _lr in [(5, 9, 4, 11, 13, 3e-3), (7, 3, 2, 1, 5, 0.1),
                                    (2, 13, 5, 17, 21, 1e-2)]:
    torch.manual_seed(_d)
    _m = nn.Sequential(nn.Linear(_d, _h), nn.ReLU(), nn.Linear(_h, _c)).to(
        device, torch.float64)
    _x = torch.randn(_n, _d, generator=_gen, dtype=torch.float64).to(device)
    _y = torch.randint(0, _c, (_n,), generator=_gen).to(device)
    check_overfit(_m, (_x, _y), _steps, f"hidden: MLP {(_d, _h, _c)}, N={_n}", lr=_lr)
_cnn = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(),
                     nn.Linear(3 * 3 * 4, 5)).to(device)
_x = torch.randn(6, 1, 5, 6, generator=_gen).to(device)
_y = torch.randint(0, 5, (6,), generator=_gen).to(device)
_want, _ = reference_overfit(_cnn, (_x, _y), 9, 1e-2, F.cross_entropy)
_got = overfit_one_batch(copy.deepcopy(_cnn), (_x, _y), 9)
assert_close(_got, _want, rtol=1e-4, atol=1e-6, name="hidden: float32 CNN losses")
### END HIDDEN TESTS

# %% [markdown]
# ### The test at work: a double softmax
#
# A classic silent bug: a `Softmax` at the end of the model, and then
# `F.cross_entropy`, which applies a log-softmax of its own. The model still
# trains, a little, and reaches a decent accuracy, so nothing looks broken.
# But its "logits" are now probabilities in $[0, 1]$, so the best it can do on
# an example of class $c$ is the logit 1 for $c$ and 0 for the nine others:
#
# $$\min \ell = -\log \frac{e^{1}}{e^{1} + 9 e^{0}} = \log\left(1 +
# \frac{9}{e}\right) \approx 1.461 .$$
#
# The one-batch test shows the floor at once. The bar for the correct model: a
# loss of at most 0.01 after 200 steps on 32 digits, with this seed and with
# others.

# %%
NUM_STEPS = 200  # the knob: more steps drive the correct model's loss lower
BATCH_SIZE = 32
set_seed(0)
one_batch = (X_train[:BATCH_SIZE].to(device), y_train[:BATCH_SIZE].to(device))
runs = {}
for label, softmax_at_end in (("correct model", False),
                              ("with a Softmax after the last layer", True)):
    set_seed(0)
    net = digits_mlp()
    if softmax_at_end:
        net = nn.Sequential(*net, nn.Softmax(dim=1))
    runs[label] = overfit_one_batch(net.to(device), one_batch, NUM_STEPS, lr=1e-2)
    print(f"{label:38s} loss {runs[label][0]:.3f} -> {runs[label][-1]:.4f}")
floor = math.log(1 + 9 / math.e)
check_bar("loss after overfitting one batch", runs["correct model"][-1], 0.01,
          higher_is_better=False)

fig, ax = plt.subplots(figsize=(6, 3.4))
for label, losses in runs.items():
    ax.semilogy(losses, label=label)
ax.axhline(floor, color="0.5", ls=":", label=f"log(1 + 9/e) = {floor:.3f}")
ax.set_xlabel("step")
ax.set_ylabel("cross-entropy on the batch")
ax.set_title(f"Overfitting one batch of {BATCH_SIZE} digits")
ax.legend()
plt.show()

# %% [markdown]
# ## 18.5 Hunting a NaN
#
# A NaN ("not a number") spreads: any arithmetic with a NaN gives a NaN, so
# one bad value in one step turns the loss, then every gradient, then every
# weight into NaN. The usual sources are $0/0$, $\infty - \infty$, $0 \cdot
# \infty$, the logarithm of 0 or of a negative number, the square root of a
# negative number, and overflow to $\infty$ in float16. The forward pass may
# be perfectly finite and the NaN appear only in the backward pass, which
# makes it hard to find by printing.
#
# Here is such a case. The Euclidean distance $d = \sqrt{\sum_j (p_j -
# q_j)^2}$ is fine at $p = q$ (it is 0), but its derivative $\partial d /
# \partial p_j = (p_j - q_j)/d$ is $0/0$ there. Autograd computes it by the
# chain rule: the derivative of the square root, $1/(2\sqrt{s})$, is $\infty$
# at $s = 0$, and the backward pass of the square then multiplies it by
# $2(p_j - q_j) = 0$: $\infty \cdot 0$ is NaN.
#
# `torch.autograd.detect_anomaly()` makes autograd check the result of every
# backward function and raise at the first NaN, naming the function; it also
# records the traceback of the forward operation that created it and issues
# it as a warning. That traceback is long (every frame of Jupyter itself);
# the cell prints only its frame in your own code: the line that created the
# NaN's source.
# Read the name with care: the function
# it names is where the first NaN *appeared*, here `PowBackward0`, the square,
# while the cause is one step earlier, the infinite derivative of the square
# root (an infinity is not an anomaly to it). It slows everything down a lot,
# so switch it on only while you hunt. The fixes: `torch.linalg.vector_norm`,
# whose backward defines the gradient at 0 as 0, or an $\varepsilon$ inside
# the square root.

# %%
p = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
q = torch.tensor([[1.0, 2.0], [0.0, 0.0]])  # the first pair is identical
distance = ((p - q) ** 2).sum(dim=1).sqrt()
print(f"forward: {distance.tolist()} (finite)")
distance.sum().backward()
print(f"backward: p.grad = {p.grad.tolist()}")

p.grad = None
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        with torch.autograd.detect_anomaly():
            ((p - q) ** 2).sum(dim=1).sqrt().sum().backward()
    except RuntimeError as error:
        print(f"detect_anomaly: {str(error).splitlines()[0]}")
for warning in caught:
    lines = str(warning.message).splitlines()
    if "Traceback of forward call" in lines[0]:
        # the last frame in your own code: not in an installed package
        mine = [i for i, line in enumerate(lines) if line.lstrip().startswith("File")
                and "site-packages" not in line and "<frozen" not in line]
        if mine:
            frame = [lines[mine[-1]]]
            frame += [ln for ln in lines[mine[-1] + 1:mine[-1] + 2]
                      if not ln.lstrip().startswith("File")]
            print("the forward call that created it:")
            print("\n".join(frame))

p.grad = None
torch.linalg.vector_norm(p - q, dim=1).sum().backward()
print(f"with vector_norm: p.grad = {p.grad.tolist()}")

# %% [markdown]
# When the NaN already appears in the **forward** pass, a forward hook on
# every module finds the first layer whose output is not finite. The cell
# plants a bug, a logarithm of a ReLU output (which is often exactly 0), in
# the middle of a model, and the hooks name the layer: every hook is removed
# in the `finally` block. (`torch.isfinite` is False for NaN and for
# $\pm\infty$.)

# %%
class Log(nn.Module):
    """A layer that takes the logarithm: -inf at 0, NaN below 0."""

    def forward(self, x):
        return torch.log(x)


def first_non_finite(model, x):
    """Name of the first module (in call order) whose output is not all finite."""
    found = []

    def hook(module, inputs, output):
        if not found and not torch.isfinite(output).all():
            found.append(names[module])

    names = {module: name for name, module in model.named_modules()}
    handles = [m.register_forward_hook(hook) for m in model.modules() if m is not model]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return found[0] if found else None


set_seed(0)
buggy = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), Log(), nn.Linear(32, 10))
print("first module with a non-finite output:", first_non_finite(buggy, X_train[:64]))

# %% [markdown]
# ## 18.6 Finding a learning rate: the range test
#
# The learning rate matters more than any other hyperparameter, and its good
# values span orders of magnitude. The **learning-rate range test** (Smith,
# 2017) finds a good range in one short run: start with a tiny rate, multiply
# it by a constant factor after every mini-batch, and record the loss. With
# $K$ steps from $\eta_{\min}$ to $\eta_{\max}$, step $k = 0, \dots, K - 1$
# uses
#
# $$\eta_k = \eta_{\min} \left(\frac{\eta_{\max}}{\eta_{\min}}\right)^{k/(K-1)},$$
#
# evenly spaced on a log scale. At first the loss barely moves (the steps are
# too small), then it falls faster and faster, then it turns and explodes.
# Stop as soon as the loss exceeds a few times the best loss seen so far: the
# rest of the curve says nothing more. A good learning rate for training lies
# below the rate at the minimum of the curve, commonly between a tenth and a
# third of it, where the loss still falls steeply but far from the cliff.
#
# The test trains the model, so it must **restore** the weights afterwards:
# otherwise the real training starts from a model wrecked by the last, huge
# steps. Note that `model.state_dict()` returns *references* to the live
# tensors: an optimiser step changes them in place, and loading them back
# restores nothing. Copy them (`copy.deepcopy(model.state_dict())`) first.
#
# ### Exercise 4: `lr_range_test` (4 points)

# %% grade_id="ch18-lr-range-test"
def lr_range_test(model, batches, lr_min, lr_max, diverge_factor=4.0,
                  loss_fn=F.cross_entropy):
    """The learning-rate range test with SGD; the model is restored afterwards.

    K is the number of batches.

    Args:
        model: an ``nn.Module`` on the device and dtype of the batches.
        batches: a list of K >= 2 tuples ``(x, y)`` that ``loss_fn(model(x),
            y)`` takes; step k uses ``batches[k]``.
        lr_min, lr_max: floats with 0 < lr_min < lr_max.
        diverge_factor: a float > 1; see the stopping rule below.
        loss_fn: returns a scalar loss tensor.

    Returns:
        ``(lrs, losses)``: two lists of the same length L <= K of Python
        floats. ``lrs[k] = lr_min * (lr_max / lr_min) ** (k / (K - 1))`` and
        ``losses[k]`` is the loss on ``batches[k]`` computed before step k.

    One ``torch.optim.SGD(model.parameters(), lr=lr_min)`` (no momentum) is
    created; at step k its learning rate is set to ``lrs[k]`` (in every
    ``param_group``), the gradients are zeroed, the loss is computed and
    recorded, then backward and ``optimizer.step()``. The test stops without
    stepping right after recording a loss that is not finite or that is larger
    than ``diverge_factor`` times the smallest loss recorded so far (that loss
    is the last one returned). The model runs in the mode it is in. At the
    end, every parameter and buffer of the model holds again exactly the value
    it had before the call.

    Raises:
        ValueError: if K < 2 or not 0 < lr_min < lr_max.
    """
    ### BEGIN SOLUTION
    if len(batches) < 2 or not 0 < lr_min < lr_max:
        raise ValueError(f"need K >= 2 batches and 0 < lr_min < lr_max, got "
                         f"K={len(batches)}, lr_min={lr_min}, lr_max={lr_max}")
    saved = copy.deepcopy(model.state_dict())
    optimizer = torch.optim.SGD(model.parameters(), lr=lr_min)
    K, lrs, losses = len(batches), [], []
    for k, (x, y) in enumerate(batches):
        lr = lr_min * (lr_max / lr_min) ** (k / (K - 1))
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        lrs.append(lr)
        losses.append(loss.item())
        if not math.isfinite(losses[-1]) or losses[-1] > diverge_factor * min(losses):
            break
        loss.backward()
        optimizer.step()
    model.load_state_dict(saved)
    return lrs, losses
    ### END SOLUTION


# %%
# Try it: 20 batches of 64 digits, rates from 1e-3 to 100
set_seed(0)
demo_batches = [(X_train[i * 64:(i + 1) * 64], y_train[i * 64:(i + 1) * 64])
                for i in range(20)]
demo_lrs, demo_losses = lr_range_test(digits_mlp(), demo_batches, 1e-3, 100.0)
print(f"{len(demo_losses)} steps; last lr {demo_lrs[-1]:.3g}, "
      f"last loss {demo_losses[-1]:.3g}")

# %% grade_id="ch18-lr-range-test-tests" points=4
"""lr_range_test: learning rates spaced evenly on a log scale from lr_min to
lr_max; losses and stopping against the documented loop (plain SGD) in float64 on
`device`; the early stop on a loss above diverge_factor x the best so far (not the
first; that loss returned) and on a NaN; Python floats; every parameter and
buffer (batch norm statistics) restored exactly; ValueError for K < 2 and bad
rates.

Hidden tests: other models, batch counts, rate ranges, factors and seeds.
"""


def reference_range(model, batches, lr_min, lr_max, factor, loss_fn):
    """The documented loop on a copy of the model."""
    twin = copy.deepcopy(model)
    optimizer = torch.optim.SGD(twin.parameters(), lr=lr_min)
    K, lrs, losses = len(batches), [], []
    for k, (xb, yb) in enumerate(batches):
        lrs.append(lr_min * (lr_max / lr_min) ** (k / (K - 1)))
        optimizer.param_groups[0]["lr"] = lrs[-1]
        optimizer.zero_grad()
        loss = loss_fn(twin(xb), yb)
        losses.append(loss.item())
        if not math.isfinite(losses[-1]) or losses[-1] > factor * min(losses):
            break
        loss.backward()
        optimizer.step()
    return lrs, losses


def check_range(model, batches, lr_min, lr_max, what, factor=4.0,
                loss_fn=F.cross_entropy, tol=1e-9):
    want_lrs, want_losses = reference_range(model, batches, lr_min, lr_max, factor,
                                            loss_fn)
    state = copy.deepcopy(model.state_dict())
    got = lr_range_test(model, batches, lr_min, lr_max, diverge_factor=factor,
                        loss_fn=loss_fn)
    assert isinstance(got, tuple) and len(got) == 2, (
        f"{what}: expected a tuple (lrs, losses), got {type(got).__name__}")
    lrs, losses = got
    assert isinstance(lrs, list) and isinstance(losses, list), (
        f"{what}: expected two lists, got {type(lrs).__name__}, "
        f"{type(losses).__name__}")
    assert all(type(v) is float for v in lrs + losses), (
        f"{what}: expected Python floats in both lists")
    assert len(lrs) == len(want_lrs) and len(losses) == len(want_losses), (
        f"{what}: expected {len(want_lrs)} steps before stopping, got "
        f"{len(lrs)} rates and {len(losses)} losses")
    assert_close(lrs, want_lrs, rtol=1e-12, atol=0.0, name=f"{what}: learning rates")
    assert_close(losses, want_losses, rtol=tol, atol=tol, name=f"{what}: losses")
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), (
            f"{what}: {key} was not restored to its value before the call")
    return got


gen = torch.Generator().manual_seed(2)
torch.manual_seed(2)
mlp = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3)).to(device,
                                                                        torch.float64)
batches = [(torch.randn(8, 6, generator=gen, dtype=torch.float64).to(device),
            torch.randint(0, 3, (8,), generator=gen).to(device)) for _ in range(12)]
lrs, losses = check_range(mlp, batches, 1e-3, 1e-1,
                          "MLP in float64 on device, 12 batches, no divergence")
assert_close(lrs[0], 1e-3, rtol=1e-12, atol=0.0, name="the first rate is lr_min")
assert_close(lrs[-1], 1e-1, rtol=1e-12, atol=0.0, name="the last rate is lr_max")
assert_close(lrs[6], 1e-3 * 100 ** (6 / 11), rtol=1e-12, atol=0.0,
             name="lrs[6] (a geometric, not a linear, spacing)")
lrs, losses = check_range(mlp, batches, 1e-2, 1e4, "rates up to 1e4 (diverges)")
assert len(losses) < 12 and losses[-1] > 4 * min(losses), (
    f"expected an early stop on a loss above 4 x the best, got losses {losses}")
check_range(mlp, batches, 1e-2, 1e4, "diverge_factor=1.5", factor=1.5)
# the best loss so far, not the first one: with tiny rates the weight w = 0 stays
# (almost) put and the MSE losses are y^2 = 4, 1, 2, 1: 2 > 1.5 x 1 stops the test
# (though 2 < 1.5 x 4)
zero = nn.Linear(1, 1, bias=False).double()
nn.init.zeros_(zero.weight)
targets = [2.0, 1.0, math.sqrt(2.0), 1.0]
steady = [(torch.ones(1, 1, dtype=torch.float64), torch.full((1, 1), t,
                                                             dtype=torch.float64))
          for t in targets]
lrs, losses = check_range(zero, steady, 1e-9, 1e-8, "MSE losses 4, 1, 2, 1, factor 1.5",
                          factor=1.5, loss_fn=F.mse_loss)
assert len(losses) == 3, f"expected a stop at the third loss, got losses {losses}"
# a NaN stops the test: a loss that is NaN for the third batch
nan_batches = [(xb, yb) for xb, yb in batches[:5]]
nan_batches[2] = (torch.full_like(batches[2][0], float("nan")), batches[2][1])
lrs, losses = check_range(mlp, nan_batches, 1e-3, 1e-2, "a NaN loss at step 2")
assert len(losses) == 3 and math.isnan(losses[-1]), f"got losses {losses}"
# buffers too: batch norm running statistics must come back
bn_net = nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.ReLU(),
                       nn.Linear(5, 3)).to(device, torch.float64)
check_range(bn_net, batches[:4], 1e-3, 1e-1, "batch norm net (buffers restored)")
expect_raises(ValueError, lr_range_test, mlp, batches[:1], 1e-3, 1e-1,
              name="lr_range_test with a single batch")
expect_raises(ValueError, lr_range_test, mlp, batches, 1e-1, 1e-3,
              name="lr_range_test with lr_min > lr_max")
expect_raises(ValueError, lr_range_test, mlp, batches, 0.0, 1e-3,
              name="lr_range_test with lr_min = 0")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(28)
for _d, _c, _n, _k, _lo, _hi, _f in [(5, 4, 3, 9, 1e-4, 10.0, 4.0),
                                     (7, 2, 1, 15, 1e-3, 1e3, 2.0),
                                     (3, 5, 13, 2, 1e-2, 1.0, 4.0)]:
    torch.manual_seed(_d)
    _m = nn.Sequential(nn.Linear(_d, 11), nn.Tanh(), nn.Linear(11, _c)).to(
        device, torch.float64)
    _b = [(torch.randn(_n, _d, generator=_gen, dtype=torch.float64).to(device),
           torch.randint(0, _c, (_n,), generator=_gen).to(device)) for _ in range(_k)]
    check_range(_m, _b, _lo, _hi, f"hidden: K={_k}, rates {_lo}..{_hi}", factor=_f)
_reg = nn.Linear(4, 2).double()
_b = [(torch.randn(5, 4, generator=_gen, dtype=torch.float64),
       torch.randn(5, 2, generator=_gen, dtype=torch.float64)) for _ in range(10)]
_ = check_range(_reg, _b, 1e-3, 30.0, "hidden: regression with F.mse_loss",
                loss_fn=F.mse_loss)
### END HIDDEN TESTS

# %% [markdown]
# ### The range test on the digits
#
# The cell runs the test on the digits MLP with 120 mini-batches of 64
# examples and rates from $10^{-3}$ to $10^{2}$, smooths the curve with a
# moving average (single batches are noisy), and finds the rate at the
# smoothed minimum. Since the rate will then decay along a cosine to zero
# (chapter 16), the peak can be closer to the minimum than for a constant
# rate: a third of the rate at the minimum. (With a tenth, the same 12 epochs
# reached only about 0.9 in our runs; more epochs close the gap.) Because
# `lr_range_test` restored the weights, the same model is then trained
# directly with plain SGD. The bar: at least 93% test accuracy, with this
# seed and with others.

# %%
NUM_EPOCHS = 12  # the knob: more epochs, a higher accuracy
RANGE_STEPS = 120
set_seed(0)
range_model = digits_mlp().to(device)
sample = torch.randint(0, len(X_train), (RANGE_STEPS, 64))  # batches, with replacement
range_batches = [(X_train[rows].to(device), y_train[rows].to(device))
                 for rows in sample]
lrs, losses = lr_range_test(range_model, range_batches, 1e-3, 100.0)
window = 7
smooth = torch.tensor(losses).unfold(0, min(window, len(losses)), 1).mean(1)
best = int(smooth.argmin()) + min(window, len(losses)) // 2  # centre of the window
chosen_lr = lrs[best] / 3
print(f"stopped after {len(losses)} of {RANGE_STEPS} steps; smoothed minimum at "
      f"lr {lrs[best]:.3g}; chosen lr {chosen_lr:.3g}")

train_sgd(range_model, chosen_lr, NUM_EPOCHS, cosine=True)
range_accuracy = accuracy(range_model, X_test, y_test)
check_bar("test accuracy with the chosen learning rate", range_accuracy, 0.93)

fig, ax = plt.subplots(figsize=(6, 3.4))
ax.semilogx(lrs, losses, color="0.7", label="loss per batch")
ax.semilogx(lrs[window // 2:window // 2 + len(smooth)], smooth.tolist(),
            label=f"moving average of {window}")
ax.axvline(lrs[best], color="C3", ls=":", label=f"minimum, lr {lrs[best]:.2g}")
ax.axvline(chosen_lr, color="C2", ls="--", label=f"chosen, lr {chosen_lr:.2g}")
ax.set_xlabel("learning rate (log scale)")
ax.set_ylabel("training loss")
ax.set_title("Learning-rate range test, digits MLP, plain SGD")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## 18.7 Where does the time go? The profiler
#
# Guessing which part of a program is slow is usually wrong; measuring takes
# a minute. `torch.profiler.profile` records every operator that PyTorch runs
# (`aten::addmm` is a matrix product plus a bias, `aten::convolution` a
# convolution, and so on), with its time, the number of calls and,
# optionally, the shapes of its inputs and the memory it allocates.
# `record_function("name")` adds a labelled span of your own, so that the
# table can show "forward", "backward" and "optimizer" as wholes.
#
# Three rules make the figures honest:
#
# - **Warm up first.** The first iteration pays one-off costs (memory
#   allocation, kernel selection, lazy initialisation) and is usually slower
#   than the next ones, on a GPU often many times slower. The cell prints the
#   wall time of the first four steps on your machine: see whether the first
#   is the slowest (on a busy machine the others jitter too). Run one or two
#   steps before recording, or use the profiler's `schedule(wait=...,
#   warmup=..., active=...)` argument.
# - **Wait for the device.** A GPU runs its work asynchronously: a Python
#   line returns as soon as the work is queued. Time a GPU step only after
#   `torch.cuda.synchronize()`, as the `synchronize` helper of the cell does
#   (the profiler does it for you).
# - **Ask only for what exists.** `ProfilerActivity.CUDA` (and sorting by
#   device time, `self_device_time_total`; the older `cuda_time_total` names
#   are deprecated) only make sense on a GPU; on a CPU, record
#   `ProfilerActivity.CPU` and sort by CPU time. The cell adds CUDA only when a
#   GPU is there.
# - **Read self time and total time.** "Self" is the time spent in the
#   operator itself; "total" includes the operators it called. Sort by self
#   time to find the hot spots.
#
# `prof.export_chrome_trace("trace.json")` writes a timeline that
# `chrome://tracing` or Perfetto display; `with_stack=True` adds the Python
# line of every operator (at a large cost).

# %%
set_seed(0)
cnn = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
                    nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
                    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10)).to(device)
images = X_train[:256].reshape(-1, 1, 8, 8).to(device)
labels = y_train[:256].to(device)
optimizer = torch.optim.Adam(cnn.parameters(), lr=1e-3)


def synchronize():
    """Wait until the device has finished its queued work (before reading a clock)."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    elif device.type == "mps":
        torch.mps.synchronize()


def train_step():
    with record_function("forward"):
        loss = F.cross_entropy(cnn(images), labels)
    with record_function("backward"):
        optimizer.zero_grad()
        loss.backward()
    with record_function("optimizer"):
        optimizer.step()


step_times = []
for _ in range(4):
    synchronize()
    start = time.perf_counter()
    train_step()
    synchronize()
    step_times.append(time.perf_counter() - start)
print("wall time of the first 4 steps (ms):",
      ", ".join(f"{t * 1e3:.1f}" for t in step_times))

activities = [ProfilerActivity.CPU]
if device.type == "cuda":
    activities.append(ProfilerActivity.CUDA)
with profile(activities=activities) as prof:
    for _ in range(3):
        train_step()
sort_key = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
print(prof.key_averages().table(sort_by=sort_key, row_limit=10))

# %% [markdown]
# Read the table from the top: the rows with the largest self time are where
# an optimisation pays. For a small CNN on the CPU these are usually the
# convolutions and their backward passes; the labelled spans show how the
# step splits into forward, backward and optimiser. When the table is full of
# tiny operators that each take microseconds, the cost is Python and kernel
# launch overhead rather than arithmetic: larger batches, fewer separate
# operations, or `torch.compile` help then (chapter 24; compiling takes many
# seconds, so it pays only on long runs).
#
# ## 18.8 Memory: what autograd keeps, and gradient checkpointing
#
# To compute gradients, the backward pass needs intermediate results of the
# forward pass: a `Linear` layer needs its input to compute its weight's
# gradient, a GELU needs its input, an `exp` its output. Autograd **saves**
# those tensors during the forward pass and frees them during the backward
# pass. For a network of $L$ blocks with activations of $B$ bytes each, that
# is about $L \cdot B$ bytes held at the peak, on top of the weights, and it
# usually dominates the memory of training: it grows with the batch size and
# the depth, while the weights do not.
#
# `torch.autograd.graph.saved_tensors_hooks(pack, unpack)` lets you see every
# tensor that autograd saves: `pack(tensor)` is called when a tensor is saved
# and returns what to store, `unpack(stored)` returns the tensor when the
# backward pass needs it. (The hooks exist to move saved tensors elsewhere,
# for instance to CPU memory or to disk, but they are also a precise,
# deterministic way to measure.)
#
# Counting bytes needs care. Two saved tensors can share memory: `x * x` saves
# `x` twice, a `Linear` saves a transposed **view** of its weight. And a view
# keeps its whole **storage** alive: saving `x[:2]` keeps every element of
# `x`. The memory a saved tensor holds is therefore the size of its storage,
# `t.untyped_storage().nbytes()`, counted once per storage, and parameters,
# which live in memory anyway, should not be counted as activation memory.
#
# ### Exercise 5: `saved_tensor_bytes` (3 points)

# %% grade_id="ch18-saved-tensor-bytes"
def saved_tensor_bytes(fn, *args, exclude=()):
    """Run ``fn(*args)`` and measure the memory autograd saves for backward.

    Args:
        fn: a function of ``args`` that returns a tensor (or anything).
        args: its arguments.
        exclude: an iterable of tensors (for example ``model.parameters()``,
            a generator that can be read only once) whose storages are not
            counted.

    Returns:
        ``(out, nbytes)``: ``out = fn(*args)``, with its autograd graph intact
        (``out.backward(...)`` gives the same gradients as without the
        measurement), and ``nbytes``, a Python int: the sum of
        ``t.untyped_storage().nbytes()`` over the distinct storages of every
        tensor ``t`` that autograd saves while ``fn`` runs, a storage being
        identified by ``t.untyped_storage().data_ptr()`` and counted once
        however many saved tensors use it; storages of the tensors in
        ``exclude`` are not counted. 0 when nothing is saved (for instance
        under ``torch.no_grad()``).

    Use ``torch.autograd.graph.saved_tensors_hooks``; the pack hook returns
    the tensor it receives, so that nothing is copied.
    """
    ### BEGIN SOLUTION
    skip = {t.untyped_storage().data_ptr() for t in exclude}
    sizes = {}  # storage address -> bytes

    def pack(tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in skip:
            sizes[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        out = fn(*args)
    return out, sum(sizes.values())
    ### END SOLUTION


# %%
# Try it: a Linear layer saves its input and (a view of) its weight
demo_layer = nn.Linear(64, 32)
demo_x = torch.randn(100, 64, requires_grad=True)
print("all:", saved_tensor_bytes(demo_layer, demo_x)[1], "bytes;",
      "without the parameters:",
      saved_tensor_bytes(demo_layer, demo_x, exclude=demo_layer.parameters())[1],
      f"bytes (the input: 100 * 64 * 4 = {100 * 64 * 4})")

# %% grade_id="ch18-saved-tensor-bytes-tests" points=3
"""saved_tensor_bytes: exp saves its output (one storage); x * x saves x twice but
it is counted once; a view x[:2] counts its whole storage; a Linear layer with and
without its parameters excluded (exclude given as the generator
model.parameters()); float64 on `device`; 0 under torch.no_grad; a
Python int; the output and its gradients unchanged.

Hidden tests: other functions, shapes and dtypes, a checkpointed block.
"""


def check_saved(fn, args, want, what, exclude=()):
    # exclude is passed as given: model.parameters() is a generator, used up once
    got = saved_tensor_bytes(fn, *args, exclude=exclude)
    assert isinstance(got, tuple) and len(got) == 2, (
        f"{what}: expected a tuple (out, nbytes), got {type(got).__name__}")
    out, nbytes = got
    assert type(nbytes) is int, (
        f"{what}: nbytes must be a Python int, got {type(nbytes).__name__}")
    assert nbytes == want, f"{what}: expected {want} bytes, got {nbytes}"
    return out


x = torch.randn(5, 3, requires_grad=True)  # float32: 60 bytes
check_saved(torch.exp, (x,), 60, "torch.exp(x), x (5, 3) float32")
check_saved(lambda t: t * t, (x,), 60, "x * x (x saved twice, counted once)")
check_saved(lambda t: t[:2] ** 2, (x,), 60, "x[:2] ** 2 (a view keeps all of x)")
check_saved(lambda t: (t * 2).sum(), (x,), 0, "(x * 2).sum() saves nothing")
with torch.no_grad():
    check_saved(torch.exp, (x,), 0, "torch.exp(x) under torch.no_grad()")
layer = nn.Linear(6, 4).to(device, torch.float64)
x64 = torch.randn(7, 6, dtype=torch.float64, device=device, requires_grad=True)
out = check_saved(layer, (x64,), 7 * 6 * 8 + 4 * 6 * 8,
                  "Linear(6, 4) on x (7, 6) float64 on device: x and the weight")
out = check_saved(layer, (x64,), 7 * 6 * 8, "the same, parameters excluded",
                  exclude=layer.parameters())
out.pow(2).sum().backward()
got_grads = [x64.grad.clone(), layer.weight.grad.clone()]
x64.grad, layer.weight.grad = None, None
layer(x64).pow(2).sum().backward()
assert_close(got_grads, [x64.grad, layer.weight.grad], rtol=1e-12, atol=1e-12,
             name="gradients through the measured output")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(8)
_x = torch.randn(9, 11, generator=_gen, dtype=torch.float64).to(device)
_x.requires_grad_(True)
check_saved(torch.sigmoid, (_x,), 9 * 11 * 8, "hidden: sigmoid saves its output")
check_saved(lambda t: t[3:, 2:5] * t[3:, 2:5], (_x,), 9 * 11 * 8,
            "hidden: a product of views of one tensor")
_block = nn.Sequential(nn.Linear(11, 13), nn.GELU(), nn.Linear(13, 3)).to(
    device, torch.float64)
# saved: x (the first Linear's input), its output (GELU's input), the GELU output
check_saved(_block, (_x,), (9 * 11 + 9 * 13 + 9 * 13) * 8,
            "hidden: Linear -> GELU -> Linear, parameters excluded",
            exclude=_block.parameters())
_ = check_saved(lambda t: checkpoint(_block, t, use_reentrant=False), (_x,),
                9 * 11 * 8, "hidden: the same block under checkpoint keeps only x",
                exclude=_block.parameters())
### END HIDDEN TESTS

# %% [markdown]
# ### Gradient checkpointing: memory for time
#
# **Gradient checkpointing** (Chen et al., 2016) saves only the *input* of a
# segment of the network during the forward pass, and runs the segment's
# forward pass a second time during the backward pass to get the tensors it
# needs. `torch.utils.checkpoint.checkpoint(block, x, use_reentrant=False)`
# does it for one block; `checkpoint_sequential(model, segments, x,
# use_reentrant=False)` splits an `nn.Sequential` into segments. (Pass
# `use_reentrant=False` explicitly: it is the recommended implementation, and
# PyTorch warns when the argument is missing.)
#
# With $L$ blocks cut into $s$ segments, the forward pass keeps the $s$ segment
# inputs, and the backward pass recomputes one segment of $L/s$ blocks at a
# time, so the peak is about $s + L/s$ activations instead of $L$; it is
# smallest near $s = \sqrt{L}$. The price is one extra forward pass: in
# arithmetic, roughly a third more for a whole training step (the backward
# pass costs about twice the forward pass). The measured time can differ a
# lot from that third, in both directions: small layers on a CPU also pay a
# fixed cost per call, and a GPU with memory to spare may hide the extra work.
# The cell prints the time of each variant relative to the plain step on your
# machine. (`checkpoint_sequential` runs
# its **last** segment without checkpointing, since its activations are needed
# at once.)
#
# The cell measures a stack of $L = 16$ blocks (Linear and GELU, width 256,
# batch 128) with your `saved_tensor_bytes`: the memory saved for the backward
# pass, without checkpointing, with every block checkpointed, and with
# `checkpoint_sequential` for several numbers of segments. It checks that the
# gradients are the same, and times a training step each way (the best of
# three; the time depends on the machine and its load).

# %%
set_seed(0)
DEPTH, WIDTH, BATCH = 16, 256, 128
blocks = nn.Sequential(*[nn.Sequential(nn.Linear(WIDTH, WIDTH), nn.GELU())
                         for _ in range(DEPTH)]).to(device)
x_deep = torch.randn(BATCH, WIDTH, device=device, requires_grad=True)


def plain(x):
    return blocks(x)


def every_block(x):
    for block in blocks:
        x = checkpoint(block, x, use_reentrant=False)
    return x


def segments(s):
    return lambda x: checkpoint_sequential(blocks, s, x, use_reentrant=False)


def step_gradients(fn):
    """Input and first-weight gradients of sum(fn(x)^2), and the best step time."""
    times = []
    for _ in range(3):
        blocks.zero_grad()
        x_deep.grad = None
        synchronize()
        start = time.perf_counter()
        fn(x_deep).pow(2).mean().backward()
        synchronize()
        times.append(time.perf_counter() - start)
    return [x_deep.grad.clone(), blocks[0][0].weight.grad.clone()], min(times)


variants = {"no checkpointing": plain, "every block": every_block}
variants.update({f"{s} segments": segments(s) for s in (2, 4, 8)})
reference_grads, _ = step_gradients(plain)  # also a warm-up
memory = {}
for name, fn in variants.items():
    _, nbytes = saved_tensor_bytes(fn, x_deep, exclude=blocks.parameters())
    grads, seconds = step_gradients(fn)
    same = all(torch.allclose(g, r, rtol=1e-5, atol=1e-7)
               for g, r in zip(grads, reference_grads, strict=True))
    memory[name] = nbytes / 2**20
    if name == "no checkpointing":
        plain_seconds = seconds
    print(f"{name:18s} saved {memory[name]:6.2f} MiB, step {seconds * 1e3:6.1f} ms "
          f"({seconds / plain_seconds:.2f}x the plain step), same gradients: {same}")

# %% [markdown]
# The figures follow the formula: without checkpointing each block keeps two
# tensors of $128 \cdot 256 \cdot 4$ bytes (0.125 MiB each: the Linear's input
# and the GELU's input), every checkpointed block keeps only its input, and
# `checkpoint_sequential` keeps the segment inputs plus everything of its
# last segment. The widget below draws the same measure for a stack of any
# depth and every number of segments: move the depth and watch the best
# number of segments follow $\sqrt{L}$. (The measurement counts the tensors
# held by the graph after the forward pass; during the backward pass one
# segment at a time is recomputed, which adds $L/s$ blocks' worth at the peak:
# the widget shows that sum too.)

# %%
def segments_of(stack, s):
    return lambda x: checkpoint_sequential(stack, s, x, use_reentrant=False)


def show_checkpoint_memory(depth=16):
    set_seed(0)
    stack = nn.Sequential(*[nn.Sequential(nn.Linear(64, 64), nn.GELU())
                            for _ in range(depth)])
    x = torch.randn(32, 64, requires_grad=True)
    block_mib = saved_tensor_bytes(stack[0], x, exclude=stack.parameters())[1] / 2**20
    counts = list(range(1, depth + 1))
    kept = [saved_tensor_bytes(segments_of(stack, s), x,
                               exclude=stack.parameters())[1] / 2**20 for s in counts]
    peak = [k + block_mib * math.ceil(depth / s)
            for k, s in zip(kept, counts, strict=True)]
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.plot(counts, kept, marker="o", ms=3, label="kept after the forward pass")
    ax.plot(counts, peak, marker="s", ms=3, label="+ one segment recomputed")
    ax.axhline(block_mib * depth, color="0.5", ls=":", label="no checkpointing")
    ax.axvline(math.sqrt(depth), color="C3", ls="--", label=f"sqrt(L) = "
               f"{math.sqrt(depth):.1f}")
    ax.set_xlabel("number of segments s")
    ax.set_ylabel("saved activations (MiB)")
    ax.set_title(f"checkpoint_sequential on {depth} blocks (width 64, batch 32)")
    ax.legend(fontsize=8)
    return fig


interactive_plot(show_checkpoint_memory, depth=(4, 64, 4))

# %% [markdown]
# On a GPU, `torch.cuda.max_memory_allocated()` (after
# `torch.cuda.reset_peak_memory_stats()`) measures the true peak, weights,
# gradients, optimiser state and temporary buffers included. The saved-tensor
# count used here has the advantage of being exact and the same on every
# machine, so it can be tested.
#
# ## 18.9 Mixed precision: bfloat16 autocast on the CPU
#
# A float32 number has 1 sign bit, 8 exponent bits and 23 mantissa bits. Two
# 16-bit formats halve the memory and, on hardware that supports them, speed
# up the matrix products:
#
# | format | exponent bits | mantissa bits | largest value | machine epsilon |
# |---|---|---|---|---|
# | float32 | 8 | 23 | $3.4 \cdot 10^{38}$ | $2^{-23} \approx 1.2 \cdot 10^{-7}$ |
# | float16 | 5 | 10 | $65504$ | $2^{-10} \approx 9.8 \cdot 10^{-4}$ |
# | bfloat16 | 8 | 7 | $3.4 \cdot 10^{38}$ | $2^{-7} \approx 7.8 \cdot 10^{-3}$ |
#
# (The next cell prints the same figures from `torch.finfo`.) bfloat16 keeps
# float32's range, so nothing overflows and no loss scaling is needed, but
# it has only about 2 to 3 significant decimal digits. float16 is more
# precise but overflows above 65504, and small gradients underflow to zero:
# training in float16 needs a **gradient scaler** that multiplies the loss
# before backward and divides the gradients before the step.
#
# **Autocast** runs each operation in the precision that suits it: matrix
# products and convolutions in 16 bits, reductions, softmax, losses and
# normalisations in float32. The weights stay float32, and so do the
# gradients the optimiser sees. The current API is `torch.autocast` (or
# `torch.amp.autocast`) with a `device_type`, and `torch.amp.GradScaler`: the
# older `torch.cuda.amp.autocast` and `torch.cuda.amp.GradScaler` are
# deprecated. On a GPU the usual recipe is
#
# ```python
# scaler = torch.amp.GradScaler("cuda")
# with torch.autocast("cuda", dtype=torch.float16):
#     loss = loss_fn(model(x), y)
# scaler.scale(loss).backward()
# scaler.step(optimizer)      # skips the step if a gradient is inf or NaN
# scaler.update()
# ```
#
# and on a CPU (or a GPU with bfloat16), simply
# `with torch.autocast("cpu", dtype=torch.bfloat16):` around the forward pass
# and the loss, with a plain `loss.backward()` and `optimizer.step()`.
#
# Whether bfloat16 is faster on a CPU depends on the CPU: processors with
# native bfloat16 instructions (AVX-512 BF16, AMX) can run the products
# faster, others may be *slower* than float32 because of the conversions. So
# nothing here is a promise: the cell measures, on the machine it runs on
# (it prints the instruction set PyTorch uses on a CPU), the time of a forward and
# backward pass of an MLP with wide layers in both modes (the best of five
# runs), and the accuracy cost: the relative error of the outputs and of a
# weight's gradient against float32.

# %%
for dtype in (torch.float32, torch.float16, torch.bfloat16):
    info = torch.finfo(dtype)
    print(f"{str(dtype):15s} max {info.max:.3g}, eps {info.eps:.3g}")
if device.type == "cpu":
    print("CPU instruction set used by PyTorch:",
          torch.backends.cpu.get_cpu_capability())

set_seed(0)
wide = nn.Sequential(nn.Linear(512, 1024), nn.GELU(), nn.Linear(1024, 1024),
                     nn.GELU(), nn.Linear(1024, 10)).to(device)
x_wide = torch.randn(256, 512, device=device)
y_wide = torch.randint(0, 10, (256,), device=device)


def forward_backward(use_bf16):
    """Loss, logits and the first weight's gradient, in float32 or under autocast."""
    wide.zero_grad()
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
        logits = wide(x_wide)
        loss = F.cross_entropy(logits, y_wide)
    loss.backward()
    return logits.float(), wide[0].weight.grad.clone()


def best_of(fn, repeats=5):
    times = []
    for _ in range(repeats):
        synchronize()
        start = time.perf_counter()
        fn()
        synchronize()
        times.append(time.perf_counter() - start)
    return min(times)


t_fp32 = best_of(lambda: forward_backward(False))
t_bf16 = best_of(lambda: forward_backward(True))
logits32, grad32 = forward_backward(False)
logits16, grad16 = forward_backward(True)


def relative_error(a, b):
    return (torch.linalg.vector_norm(a - b) / torch.linalg.vector_norm(b)).item()


print(f"forward + backward: float32 {t_fp32 * 1e3:.1f} ms, bfloat16 autocast "
      f"{t_bf16 * 1e3:.1f} ms ({t_fp32 / t_bf16:.2f}x the speed of float32)")
print("relative error under autocast: logits "
      f"{relative_error(logits16, logits32):.2e}, "
      f"first weight's gradient {relative_error(grad16, grad32):.2e}")
with torch.autocast(device.type, dtype=torch.bfloat16):
    print(f"inside autocast: Linear output {wide[0](x_wide[:2]).dtype}, "
          f"cross-entropy {F.cross_entropy(wide(x_wide[:2]), y_wide[:2]).dtype}, "
          f"weights {wide[0].weight.dtype}")

# %% [markdown]
# A relative error of the order of bfloat16's epsilon on the outputs is the
# expected price; what matters is whether *training* still reaches the same
# result. The cell trains the digits MLP twice from the same initial weights
# and in the same batch order, in float32 and under bfloat16 autocast, and
# compares the test accuracies.

# %%
def train_adam(model, num_epochs, use_bf16, batch_size=64, seed=0):
    """Adam on the digits training set, optionally under bfloat16 autocast."""
    set_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    X_tr, y_tr = X_train.to(device), y_train.to(device)
    for _ in range(num_epochs):
        order = torch.randperm(len(X_tr), device=device)
        for start in range(0, len(X_tr), batch_size):
            batch = order[start:start + batch_size]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
                loss = F.cross_entropy(model(X_tr[batch]), y_tr[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model


AMP_EPOCHS = 8  # the knob
set_seed(0)
start_weights = digits_mlp(128).to(device).state_dict()
amp_accuracy = {}
for use_bf16 in (False, True):
    net = digits_mlp(128).to(device)
    net.load_state_dict(start_weights)
    start = time.perf_counter()
    train_adam(net, AMP_EPOCHS, use_bf16)
    label = "bfloat16 autocast" if use_bf16 else "float32"
    amp_accuracy[label] = accuracy(net, X_test, y_test)
    print(f"{label:18s} test accuracy {amp_accuracy[label]:.3f} "
          f"({time.perf_counter() - start:.2f} s)")
check_bar("test accuracy under bfloat16 autocast", amp_accuracy["bfloat16 autocast"],
          0.93)

# %% [markdown]
# Compare the two lines the cell printed. On a model this small the time is
# spent in Python and in small operations, not in matrix products, so
# autocast has little to save and its conversions may cost more than they
# save; the accuracies should be close. On the machine this chapter was
# written on (a server CPU with AMX bfloat16 instructions, one thread, busy
# with other work) the wide MLP above ran between 1.2 and 2.6 times as fast
# under autocast over two runs, and the digits MLP here took longer under
# autocast than in float32 in both. Your figures may differ in either
# direction: trust the ones your machine prints. A real speed-up of 16-bit
# formats needs large matrix products and hardware built for them, such as
# GPUs with tensor cores.
#
# ## 18.10 Summary
#
# - Debug in the order that costs least: look at the data, check the loss at
#   initialisation ($\log C$ for $C$ classes), overfit one batch, watch the
#   gradients and activations, find a learning rate, and only then train,
#   tune and profile.
# - Per-parameter gradient norms show vanishing and exploding gradients and
#   parameters that receive no gradient at all; `clip_grad_norm_` returns the
#   global norm and only scales gradients above the threshold.
# - Forward hooks see inside a running model without changing its code; they
#   found dead ReLUs (a learning rate too high kills many) and the first
#   non-finite output. Remove every hook, in a `finally` block.
# - A model that cannot overfit 32 examples has a bug in the model, the loss or
#   the optimiser: a double softmax cannot go below $\log(1 + 9/e)$ on ten
#   classes.
# - `detect_anomaly` names the backward function that produced the first NaN,
#   here the square after the infinite derivative of a square root at 0;
#   `vector_norm` avoids it.
# - The learning-rate range test sweeps rates geometrically in one short run;
#   a third of the rate at the minimum, decayed along a cosine, trained the
#   digits MLP well with plain SGD. The test must
#   restore the weights with a deep copy of the state dict.
# - The profiler's table, after a warm-up and sorted by self time, shows where
#   a step spends its time; ask for CUDA activity only on a GPU.
# - Autograd's saved tensors dominate training memory; counting them exactly
#   (distinct storages, parameters aside) showed gradient checkpointing
#   trading one extra forward pass for a fraction of the memory, best near
#   $\sqrt{L}$ segments. bfloat16 autocast keeps float32's range and costs a
#   relative error near its epsilon; whether it is faster depends on the
#   hardware and the model, so measure it on yours.
#
# **Next:** chapter 19 starts from a model that someone else trained:
# transfer learning, freezing layers and fine-tuning with several learning
# rates.
