# %% [markdown]
# # Chapter 13: Architecture patterns
#
# Chapters 8 to 12 gave us the layers. This chapter is about how to wire them.
# A handful of wiring patterns decide whether a deep network trains at all:
# **residual connections**, which add a block's input to its output,
# **dense connections**, which concatenate every earlier feature map, and
# **attention** inside a CNN, which lets the network reweight its own channels
# and positions. We measure why plain deep networks fail (the gradient that
# reaches the first layer shrinks geometrically with depth), watch a residual
# network of the same depth train where the plain one does not, build a dense
# block and the two attention modules of CBAM, and end with a tour of the
# other patterns you will meet in papers: bottlenecks, highway gates, U-Net
# skips and Inception branches.
#
# **You will learn**
# - why the gradient of a deep plain network vanishes or explodes, written as a
#   product of Jacobians, and what PyTorch's default initialisation does to it;
# - how a residual connection changes that product to one of $I + J$ factors,
#   and why a residual network still needs a small branch at initialisation
#   (zero-initialised last layer, batch norm or scaling);
# - how to measure the gradient at the first layer without disturbing a model
#   (no leftover `.grad`, no changed mode), and the plot that explains ResNet;
# - the original, pre-activation and bottleneck residual blocks and what each
#   costs;
# - DenseNet's dense block: growth rate, channel count, transition layers and
#   the memory cost of concatenation;
# - CBAM's channel and spatial attention, how they differ from
#   squeeze-and-excitation, and what attention maps a trained network shows on
#   the digits;
# - where highway networks, U-Net skips, Inception branches and stochastic
#   depth fit in.
#
# **Graded exercises** (13 points)
#
# | exercise | points |
# |---|---|
# | `first_layer_grad_norm(model, x, y)` | 3 |
# | `DenseBlock(in_channels, growth_rate, num_layers)` | 4 |
# | `ChannelAttention(channels, reduction)` | 3 |
# | `SpatialAttention(kernel_size)` | 3 |
#
# Each exercise is a function or a module whose docstring states its whole
# contract: shapes, dtypes, devices, edge cases and the built-ins you may not
# call. Replace `raise NotImplementedError()` with your code and run the test
# cell below it. The visible tests show every rule the grader checks; hidden
# tests repeat them on other values, shapes and seeds.

# %%
import copy
import math

import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse import get_device, progress, set_seed
from dlcourse.checks import assert_close, assert_shape, expect_raises
from dlcourse.data import load_digits, train_test_split
from dlcourse.plotting import plot_curves
from dlcourse.training import check_bar
from dlcourse.widgets import interactive_plot

device = get_device()  # the tests also run your code on this device
set_seed(0)
print(f"torch {torch.__version__}, device: {device}")

# %% [markdown]
# ## 13.1 Why deep plain networks are hard to train
#
# Write a network of $L$ layers as $h_\ell = f_\ell(h_{\ell-1})$ for
# $\ell = 1, \dots, L$, with $h_0 = x$ the input and a scalar loss
# $\mathcal{L}(h_L)$. The chain rule (chapter 2) gives the gradient that
# reaches the input of the first layer as a product of the layers' Jacobians
# $J_\ell = \partial h_\ell / \partial h_{\ell-1}$:
#
# $$\frac{\partial \mathcal{L}}{\partial h_0}
#   = \frac{\partial \mathcal{L}}{\partial h_L}\, J_L\, J_{L-1} \cdots J_1 .$$
#
# The gradient of the first layer's weights is built from the same product.
# A product of $L$ matrices behaves like a product of $L$ numbers: if each
# factor shrinks a vector by a typical gain $g < 1$, the gradient shrinks like
# $g^L$ (it **vanishes**); if $g > 1$ it grows like $g^L$ (it **explodes**).
# Either way the first layers learn at a very different speed from the last
# ones: with a vanishing gradient and one learning rate for all layers, they
# barely learn at all.
#
# For a layer $h_\ell = W_\ell\, \mathrm{ReLU}(h_{\ell-1})$ with $n$ inputs and
# weights of variance $\sigma^2$, the ReLU passes half of its inputs on, and
# the gain is about $g = \sqrt{n\sigma^2/2}$. Two common choices:
#
# - PyTorch's default for `nn.Linear` and `nn.Conv2d` draws weights uniformly
#   from $[-1/\sqrt{n}, 1/\sqrt{n}]$, of variance $1/(3n)$: the gain is
#   $\sqrt{1/6} \approx 0.41$ per layer, so 16 layers shrink the gradient by
#   roughly $0.41^{16} \approx 6 \cdot 10^{-7}$;
# - **He (Kaiming) initialisation**, $\sigma^2 = 2/n$, gives $g = 1$: the
#   signal keeps its size through any number of ReLU layers, at least at
#   initialisation.
#
# Good initialisation is not the whole story. He et al. (2015) trained plain
# CNNs with He initialisation and batch normalisation, so that nothing
# vanished at the start, and still found that a 56-layer plain network had a
# *higher training error* than a 20-layer one on CIFAR-10. Overfitting cannot
# explain a worse training error: the deeper network is simply harder to
# optimise, since it could copy the shallow one and set its extra layers to the
# identity. This is the **degradation problem**.
#
# ### The residual connection
#
# A **residual block** computes a correction and adds its input back:
#
# $$h_\ell = h_{\ell-1} + F_\ell(h_{\ell-1}), \qquad
#   J_\ell = I + \frac{\partial F_\ell}{\partial h_{\ell-1}} .$$
#
# The identity is now the default (a block with $F_\ell = 0$ does nothing), and
# the product of Jacobians becomes
#
# $$\prod_{\ell=1}^{L} \Big(I + \frac{\partial F_\ell}{\partial h_{\ell-1}}\Big)
#   = I + \sum_{\ell} \frac{\partial F_\ell}{\partial h_{\ell-1}}
#   + \sum_{\ell > m} \frac{\partial F_\ell}{\partial h_{\ell-1}}
#     \frac{\partial F_m}{\partial h_{m-1}} + \cdots$$
#
# Expanded, it is a sum over the $2^L$ paths through the network: each block is
# either skipped or entered. The term $I$ carries the loss gradient to the
# first layer untouched, whatever the depth, and the short paths dominate
# (Veit, Wilber and Belongie 2016 read a ResNet as an ensemble of shallow
# networks).
#
# **The other side.** In the forward pass the same sum makes the signal grow:
# if a branch's output is uncorrelated with its input, $\mathrm{Var}(h_\ell) =
# \mathrm{Var}(h_{\ell-1}) + \mathrm{Var}(F_\ell)$, so with He initialisation,
# where a branch is as large as its input, the variance doubles with every
# block. Residual networks therefore keep their branches small at the start:
# batch normalisation inside the branch, a **zero-initialised last layer** of
# each branch (then every block starts as the identity; Goyal et al. 2017 set
# the last batch norm's scale $\gamma$ to zero), or branches scaled by about
# $1/\sqrt{L}$ (Fixup, Zhang et al. 2019). The widget in this section shows
# both effects.
#
# ### Exercise 1: `first_layer_grad_norm` (3 points)
#
# To see all this we need one number per network: how large is the gradient
# of the loss with respect to the weight of the **first** layer? Write a
# function that measures it without disturbing the model, so that you can call
# it in the middle of training. Two details make that harder than it looks:
#
# - `loss.backward()` **adds** into every parameter's `.grad`. Measuring twice
#   would then report twice the gradient, and an optimiser step after the
#   measurement would apply it. `torch.autograd.grad(loss, [tensor])` returns
#   the gradient without touching any `.grad`. (If you use `backward`, save
#   *copies* of the old gradients first: `backward` writes into the existing
#   `.grad` tensors in place, so a saved reference would change too.)
# - The function must not switch the model to `eval()` or `train()`: the
#   gradient is measured in the mode the model is in, and the model stays in
#   it.

# %% grade_id="ch13-first-layer-grad-norm"
def first_layer_grad_norm(model, x, y):
    """Norm of the loss gradient with respect to the first layer's weight.

    N is the batch size and C the number of classes. ``x`` has the shape the
    model takes, for example (N, D) for an MLP or (N, C_in, H, W) for a CNN.

    The loss is ``F.cross_entropy(model(x), y)`` with its default reduction
    (the mean over the batch). The first layer is the first module in
    ``model.modules()`` order (the order in which modules were registered,
    ``model`` itself first) that is an instance of ``nn.Linear`` or
    ``nn.Conv2d``; the tensor to differentiate is its ``.weight`` (not its
    bias). The result is the Euclidean norm of that gradient, the square root
    of the sum of the squares of all its entries.

    Args:
        model: an ``nn.Module`` mapping x to logits of shape (N, C).
        x: floating-point input tensor with the model's dtype and device.
        y: int64 tensor of shape (N,) with class indices in [0, C).

    Returns:
        A Python float (>= 0).

    The model is left as it was: its parameters keep their values, its mode
    (``model.training``) does not change (the forward pass runs in the current
    mode: do not call ``model.train()`` or ``model.eval()``), and every
    parameter's ``.grad`` is exactly what it was before the call (None stays
    None; an existing gradient is neither changed nor added to). As in any
    forward pass in training mode, batch norm layers update their running
    statistics.

    Raises:
        ValueError: if the model contains no ``nn.Linear`` and no ``nn.Conv2d``.
    """
    ### BEGIN SOLUTION
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not layers:
        raise ValueError("the model has no nn.Linear and no nn.Conv2d layer")
    loss = F.cross_entropy(model(x), y)
    (grad,) = torch.autograd.grad(loss, [layers[0].weight])
    return torch.linalg.vector_norm(grad).item()
    ### END SOLUTION


# %%
# Try it: a 3-layer MLP on random data; .grad stays None
torch.manual_seed(0)
tiny = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(),
                     nn.Linear(8, 3))
x_tiny, y_tiny = torch.randn(5, 6), torch.tensor([0, 2, 1, 1, 0])
print(f"gradient norm at the first layer: "
      f"{first_layer_grad_norm(tiny, x_tiny, y_tiny):.4f}")
print("first layer's .grad after the call:", tiny[0].weight.grad)

# %% grade_id="ch13-first-layer-grad-norm-tests" points=3
"""first_layer_grad_norm: a Python float equal to the norm of the autograd
gradient of F.cross_entropy (mean) with respect to the weight of the first
nn.Linear / nn.Conv2d in model.modules() order (also when a LayerNorm's
parameters come first); an MLP, a CNN in float64 on `device`, a batch of 1;
.grad left as it was (None stays None, an existing gradient unchanged, two calls
agree); parameters unchanged; the mode kept and used (batch norm in training and
in evaluation mode); ValueError without a Linear or Conv2d.

Hidden tests: deep plain and residual MLPs and CNNs, other shapes and seeds.
"""


def reference_grad_norm(model, x, y):
    """The same measurement on a copy of the model, with backward."""
    twin = copy.deepcopy(model)
    for p in twin.parameters():
        p.grad = None
    F.cross_entropy(twin(x), y).backward()
    first = next(m for m in twin.modules() if isinstance(m, (nn.Linear, nn.Conv2d)))
    return first.weight.grad.double().pow(2).sum().sqrt().item()


def check_grad_norm(model, x, y, what, rtol=1e-9):
    want = reference_grad_norm(model, x, y)
    before = [p.detach().clone() for p in model.parameters()]
    grads = [None if p.grad is None else p.grad.clone() for p in model.parameters()]
    mode = [m.training for m in model.modules()]
    got = first_layer_grad_norm(model, x, y)
    assert type(got) is float, (
        f"{what}: expected a Python float, got {type(got).__name__} {got!r}")
    assert_close(got, want, rtol=rtol, atol=1e-30, name=what)
    for i, (p, p0, g0) in enumerate(zip(model.parameters(), before, grads,
                                        strict=True)):
        assert torch.equal(p.detach(), p0), f"{what}: parameter {i} was changed"
        if g0 is None:
            assert p.grad is None, (
                f"{what}: parameter {i} had .grad None before the call and "
                f"{'a tensor' if p.grad is not None else 'None'} after it "
                "(use torch.autograd.grad, or restore .grad)")
        else:
            assert p.grad is not None and torch.equal(p.grad, g0), (
                f"{what}: the existing .grad of parameter {i} was changed")
    assert [m.training for m in model.modules()] == mode, (
        f"{what}: the call changed the train/eval mode of the model")
    return got


gen = torch.Generator().manual_seed(0)
torch.manual_seed(0)
mlp = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3))
x = torch.randn(4, 5, generator=gen)
y = torch.tensor([0, 2, 1, 2])
check_grad_norm(mlp, x, y, "MLP Linear(5, 7) -> ReLU -> Linear(7, 3)", rtol=1e-5)
# by hand: Linear(2, 2) with zero weights and biases, x = [[1, 2]], y = [0]: the
# softmax is [0.5, 0.5], and the weight's gradient is (softmax - one_hot)^T x =
# [[-0.5, -1], [0.5, 1]], of norm sqrt(2.5)
lin = nn.Linear(2, 2)
with torch.no_grad():
    lin.weight.zero_()
    lin.bias.zero_()
got = first_layer_grad_norm(lin, torch.tensor([[1.0, 2.0]]), torch.tensor([0]))
assert_close(got, math.sqrt(2.5), rtol=1e-6, atol=1e-12,
             name="Linear(2, 2) with zero weights, x = [[1, 2]], y = [0] (batch 1)")
# a LayerNorm before the first Linear: its parameters come first in
# model.parameters(), but it is not the first layer
normed = nn.Sequential(nn.LayerNorm(5), nn.Linear(5, 6), nn.Tanh(), nn.Linear(6, 3))
check_grad_norm(normed, x, y, "LayerNorm -> Linear(5, 6) -> ...: Linear(5, 6)'s weight",
                rtol=1e-5)
# a CNN in float64 on the device
cnn = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.Flatten(),
                    nn.Linear(3 * 3 * 2, 4)).to(device, torch.float64)
x_img = torch.randn(3, 2, 5, 4, generator=gen, dtype=torch.float64).to(device)
check_grad_norm(cnn, x_img, torch.tensor([3, 0, 1], device=device),
                "CNN Conv2d(2, 3, 3) -> ... in float64 on device")
# existing gradients: unchanged; two calls agree
for p in mlp.parameters():
    p.grad = torch.randn(p.shape, generator=gen)
first = check_grad_norm(mlp, x, y, "MLP whose .grad already holds tensors", rtol=1e-5)
second = check_grad_norm(mlp, x, y, "the same MLP, called a second time", rtol=1e-5)
assert first == second, f"two calls gave {first} and {second}"
# the mode is kept and used: batch norm with batch statistics or running ones
bn_net = nn.Sequential(nn.Linear(5, 6), nn.BatchNorm1d(6), nn.ReLU(),
                       nn.Linear(6, 3)).to(device, torch.float64)
with torch.no_grad():
    bn_net[1].running_mean.fill_(0.7)
    bn_net[1].running_var.fill_(3.0)
x64, y64 = x.to(device, torch.float64), y.to(device)
train_value = check_grad_norm(bn_net, x64, y64, "batch norm net in training mode")
assert bn_net.training, "the model was in training mode and must stay in it"
bn_net.eval()
eval_value = check_grad_norm(bn_net, x64, y64, "batch norm net in evaluation mode")
assert not bn_net.training, "the model was in evaluation mode and must stay in it"
assert abs(train_value - eval_value) > 1e-3, "the two modes should differ here"
expect_raises(ValueError, first_layer_grad_norm, nn.Flatten(), x, y,
              name="first_layer_grad_norm(nn.Flatten(), ...) (no Linear or Conv2d)")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(13)


class _Deep(nn.Module):
    def __init__(self, depth, width, residual, conv):
        super().__init__()
        make = (lambda: nn.Conv2d(width, width, 3, padding=1)) if conv else (
            lambda: nn.Linear(width, width))
        self.stem = nn.Conv2d(1, width, 3, padding=1) if conv else nn.Linear(9, width)
        self.blocks = nn.ModuleList(make() for _ in range(depth))
        self.head = nn.Linear(width, 5)
        self.residual, self.conv = residual, conv

    def forward(self, x):
        h = self.stem(x)
        for block in self.blocks:
            z = block(F.relu(h))
            h = h + z if self.residual else z
        h = F.relu(h)
        return self.head(h.mean(dim=(2, 3)) if self.conv else h)


for _seed, (_depth, _width, _res, _conv, _n) in enumerate(
        [(6, 7, False, False, 11), (6, 7, True, False, 1), (9, 5, True, True, 3),
         (4, 3, False, True, 2), (12, 4, False, False, 6)]):
    torch.manual_seed(_seed)
    for _dtype in (torch.float64, torch.float32):
        _model = _Deep(_depth, _width, _res, _conv).to(device, _dtype)
        _shape = (_n, 1, 5, 7) if _conv else (_n, 9)
        _x = torch.randn(_shape, generator=_gen, dtype=_dtype).to(device)
        _y = torch.randint(0, 5, (_n,), generator=_gen).to(device)
        check_grad_norm(_model, _x, _y,
                        f"{'residual' if _res else 'plain'} {'CNN' if _conv else 'MLP'}"
                        f", depth {_depth}, batch {_n}, {_dtype}",
                        rtol=1e-9 if _dtype == torch.float64 else 1e-4)
_model = nn.Sequential(nn.LayerNorm(9), nn.Linear(9, 4), nn.ReLU(), nn.Linear(4, 6))
_model.eval()
_ = check_grad_norm(_model, torch.randn(2, 9, generator=_gen), torch.tensor([5, 1]),
                    "LayerNorm first, evaluation mode", rtol=1e-5)
### END HIDDEN TESTS

# %% [markdown]
# ### The plot that explains ResNet
#
# Now the measurement. Two families of networks, each with a first layer, then
# `depth` hidden layers of equal width, then a linear head:
#
# - **plain**: $h_\ell = W_\ell\, \mathrm{ReLU}(h_{\ell-1}) + b_\ell$;
# - **residual**: $h_\ell = h_{\ell-1} + W_\ell\, \mathrm{ReLU}(h_{\ell-1})
#   + b_\ell$.
#
# The two have exactly the same parameters and the same initialisation
# (PyTorch's default): the only difference is the `+ h` of the skip
# connection. Each hidden layer is a `Linear` for the MLPs (width 64, on the
# flattened digits) and a $3 \times 3$ convolution for the CNNs (16 channels,
# on the 8x8 digit images). The measurements use float64: the deepest plain
# networks' gradient entries are near $10^{-27}$, and their squares, which the
# norm adds up, fall below the smallest float32 number (about $10^{-45}$).
#
# The bar: at 16 hidden layers the residual MLP's first layer gets at least
# 1,000 times the gradient of the plain one (the test suite checks this with
# other seeds too).

# %%
class DeepNet(nn.Module):
    """A first layer, `depth` hidden layers (plain or residual) and a linear head.

    MLP: Linear(64, width), hidden Linear(width, width), head Linear(width, 10).
    CNN: Conv2d(1, width, 3), hidden Conv2d(width, width, 3) (padding 1), then a
    global average pool and Linear(width, 10). Hidden layer l computes
    z = layer(ReLU(h)); plain: h = z, residual: h = h + z.
    """

    def __init__(self, depth, width=64, residual=False, conv=False):
        super().__init__()
        if conv:
            self.first = nn.Conv2d(1, width, 3, padding=1)
            self.hidden = nn.ModuleList(nn.Conv2d(width, width, 3, padding=1)
                                        for _ in range(depth))
        else:
            self.first = nn.Linear(64, width)
            self.hidden = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))
        self.head = nn.Linear(width, 10)
        self.residual, self.conv = residual, conv

    def forward(self, x):
        h = self.first(x)
        for layer in self.hidden:
            z = layer(F.relu(h))
            h = h + z if self.residual else z
        h = F.relu(h)
        return self.head(h.mean(dim=(2, 3)) if self.conv else h)


X_flat, y_digits = load_digits()  # (1797, 64) in [0, 1], labels (1797,)
X_img = X_flat.reshape(-1, 1, 8, 8)  # the same digits as images
X_train, X_test, y_train, y_test = train_test_split(X_flat, y_digits,
                                                    test_fraction=0.25, seed=0)
Xi_train, Xi_test = X_train.reshape(-1, 1, 8, 8), X_test.reshape(-1, 1, 8, 8)
probe_x, probe_y = X_train[:256].double().to(device), y_train[:256].to(device)
probe_img = Xi_train[:64].double().to(device)

DEPTHS = [1, 2, 4, 8, 16, 32, 64]
grad_norms = {}
for conv in (False, True):
    for residual in (False, True):
        key = ("residual" if residual else "plain") + (" CNN" if conv else " MLP")
        grad_norms[key] = []
        for depth in DEPTHS:
            set_seed(depth)
            net = DeepNet(depth, 16 if conv else 64, residual, conv)
            net = net.to(device, torch.float64)
            inputs, labels = (probe_img, probe_y[:64]) if conv else (probe_x, probe_y)
            grad_norms[key].append(first_layer_grad_norm(net, inputs, labels))
print("depth:       " + "".join(f"{d:>10d}" for d in DEPTHS))
for key, values in grad_norms.items():
    print(f"{key:13s}" + "".join(f"{v:10.1e}" for v in values))
grad_ratio = (grad_norms["residual MLP"][DEPTHS.index(16)]
              / grad_norms["plain MLP"][DEPTHS.index(16)])
check_bar("first-layer gradient norm, residual / plain MLP, 16 hidden layers",
          grad_ratio, 1e3)

fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
for ax, kind in zip(axes, ("MLP", "CNN"), strict=True):
    for style, family in (("o-", "plain"), ("s-", "residual")):
        values = [max(v, 1e-300) for v in grad_norms[f"{family} {kind}"]]
        ax.plot(DEPTHS, values, style, label=f"{family} {kind}")
    ax.set(xscale="log", yscale="log", xlabel="number of hidden layers",
           title=f"{kind}s, PyTorch's default initialisation")
    ax.legend()
    ax.grid(alpha=0.3)
axes[0].set_ylabel("gradient norm at the first layer")
fig.suptitle("The plot that explains ResNet: the gradient reaching the first layer")
fig.tight_layout()
plt.show()

# %% [markdown]
# The plain networks lose about the same factor with every layer: an
# exponential decay, which on these log-log axes is a curve that bends down
# ever more steeply. At 64 plain layers the first layer receives essentially
# nothing (in float32 its norm comes out exactly zero: the squares underflow). The
# residual networks' gradients never vanish; they *grow* with depth instead,
# slowly up to 16 layers and faster beyond, because the branches add up in the
# forward pass (section 13.1), which the next widget lets you explore.

# %% [markdown]
# ### Every layer's gradient, and the initialisation
#
# The widget computes, for one batch of 256 digits, the gradient norm of
# **every** hidden layer's weight (left) and how much each hidden state
# $h_\ell$ still depends on the input (right: the standard deviation of each
# unit across the batch, averaged over the units), for the plain and the
# residual MLP. Move the depth and switch the initialisation:
#
# - **PyTorch default**: the plain network's gradients fall by a constant
#   factor per layer towards the input, and its hidden states become the same
#   for every input (what is left of them is mostly the biases): the input is
#   forgotten on the way forward and the loss is forgotten on the way back.
#   The residual network keeps both within a small range;
# - **He (Kaiming) normal** (weights of variance $2/n$, zero biases): the
#   plain network is now balanced at initialisation, while the residual
#   network's hidden states *grow* by about $\sqrt 2$ per block, because each
#   branch is as large as its input, and all its gradients grow with the depth
#   too (compare the scale of the left panel at depths 5 and 40);
# - **He, residual branches zeroed**: the last (here: only) layer of each
#   residual branch starts at zero, so every block is the identity and the
#   residual network starts as the shallow network made of its first layer and
#   head. (For the plain network, zero weights would cut the signal, so this
#   option leaves it with He weights.)

# %%
def initialise(net, scheme):
    """PyTorch default (unchanged), He normal, or He with zero residual branches."""
    if scheme == "PyTorch default":
        return net
    for layer in net.hidden:
        nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        nn.init.zeros_(layer.bias)
        if scheme == "He, residual branches zeroed" and net.residual:
            nn.init.zeros_(layer.weight)
    return net


def per_layer_profile(net, x, y):
    """Gradient norm of each hidden weight; spread of each hidden state over x."""
    spreads, h = [], net.first(x)
    for layer in net.hidden:
        z = layer(F.relu(h))
        h = h + z if net.residual else z
        spreads.append(h.std(dim=0).mean().item())  # std over the batch, per unit
    loss = F.cross_entropy(net.head(F.relu(h)), y)
    grads = torch.autograd.grad(loss, [layer.weight for layer in net.hidden])
    return [torch.linalg.vector_norm(g).item() for g in grads], spreads


def show_profile(depth=16, init="PyTorch default"):
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    layers = range(1, depth + 1)
    for residual, style in ((False, "o-"), (True, "s-")):
        set_seed(0)
        net = initialise(DeepNet(depth, residual=residual), init).double()
        grads, spreads = per_layer_profile(net, probe_x.cpu(), probe_y.cpu())
        label = "residual" if residual else "plain"
        left.plot(layers, [max(g, 1e-300) for g in grads], style, ms=3, label=label)
        right.plot(layers, spreads, style, ms=3, label=label)
    left.set(yscale="log", xlabel="hidden layer (1 = nearest the input)",
             ylabel="gradient norm of its weight", title=f"gradients, {init}")
    right.set(yscale="log", xlabel="hidden layer",
              ylabel="std across the batch, mean over units",
              title="how much the hidden state depends on the input")
    for ax in (left, right):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


interactive_plot(show_profile, depth=(1, 40, 1),
                 init=["PyTorch default", "He (Kaiming) normal",
                       "He, residual branches zeroed"])

# %% [markdown]
# ## 13.2 Plain against residual: training on the digits
#
# Gradients at initialisation are a prediction; training is the test. Both
# MLPs get 16 hidden layers of width 64 (about 71,000 parameters), the same
# initialisation, the same data (the 8x8 digits, flattened; a quarter kept for
# testing), and the same optimiser: Adam with a learning rate of $3 \cdot
# 10^{-3}$ following a cosine to 0, mini-batches of 128. A third run trains
# the plain network from He initialisation, to separate what the skip
# connections do from what a better initialisation does.
#
# The bar: the residual network reaches 93% test accuracy.

# %%
def train_classifier(model, data, num_epochs, lr=3e-3, batch_size=128, seed=0,
                     desc="epochs"):
    """Adam with a cosine schedule on data = (X_tr, y_tr, X_te, y_te).

    Returns the history: the training loss and the test accuracy per epoch.
    """
    set_seed(seed)  # the batch order
    X_tr, y_tr, X_te, y_te = (t.to(device) for t in data)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, num_epochs)
    history = {"train loss": [], "test accuracy": []}
    for _ in progress(range(num_epochs), desc=desc):
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
        schedule.step()
        model.eval()
        with torch.no_grad():
            accuracy = (model(X_te).argmax(dim=1) == y_te).float().mean().item()
        history["train loss"].append(total / len(X_tr))
        history["test accuracy"].append(accuracy)
    return history


# %%
NUM_EPOCHS = 12  # the knob: more epochs (a GPU helps) train every network longer
DEPTH = 16
digits_flat = (X_train, y_train, X_test, y_test)
print(f"{sum(p.numel() for p in DeepNet(DEPTH).parameters()):,} parameters in "
      "each network")
runs = {}
for name, residual, init in (("plain", False, "PyTorch default"),
                             ("residual", True, "PyTorch default"),
                             ("plain, He init", False, "He (Kaiming) normal")):
    set_seed(1)  # the same initial weights for the plain and residual networks
    net = initialise(DeepNet(DEPTH, residual=residual), init).to(device)
    start_norm = first_layer_grad_norm(net, X_train[:256].to(device),
                                       y_train[:256].to(device))
    runs[name] = train_classifier(net, digits_flat, NUM_EPOCHS, seed=1, desc=name)
    print(f"{name:15s} first-layer gradient at the start {start_norm:.1e}; final "
          f"training loss {runs[name]['train loss'][-1]:.3f}, test accuracy "
          f"{runs[name]['test accuracy'][-1]:.3f}")
check_bar("test accuracy of the residual MLP, 16 hidden layers",
          runs["residual"]["test accuracy"][-1], 0.93)

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6))
plot_curves({name: run["train loss"] for name, run in runs.items()},
            xlabel="epoch", ylabel="cross-entropy", logy=True, ax=left)
left.set_title(f"training loss, {DEPTH} hidden layers")
plot_curves({name: run["test accuracy"] for name, run in runs.items()},
            xlabel="epoch", ylabel="accuracy", ax=right)
right.axhline(0.93, color="0.5", ls=":", label="bar 0.93")
right.legend()
right.set_title("test accuracy")
fig.tight_layout()
plt.show()

# %% [markdown]
# With the default initialisation the plain network hardly learns: its
# training loss stays near $\log 10 \approx 2.3$, the loss of a uniform guess
# over ten classes, because its first layers receive almost no gradient and
# its last layers receive hidden states that are nearly the same for every
# input (the widget above shows both). The residual network, identical except
# for the skips, trains in a few epochs. He initialisation rescues the plain
# network at this depth: initialisation and architecture are two answers to
# the same problem. Residual connections are the more robust one: they
# trained here with the default initialisation, and in He et al.'s
# experiments they kept working at depths where plain networks, well
# initialised and normalised, degraded. Since 2016 nearly every deep
# architecture has skip connections of some kind (DenseNet, MobileNetV2,
# EfficientNet, every transformer).

# %% [markdown]
# ## 13.3 Residual blocks in practice
#
# The MLP above used the simplest branch, one layer. Real residual blocks
# (chapter 9 built ResNet's basic block) are a little richer.
#
# **Post-activation (ResNet, 2015).** $h_\ell = \mathrm{ReLU}\big(h_{\ell-1} +
# \mathrm{BN}(\mathrm{conv}(\mathrm{ReLU}(\mathrm{BN}(\mathrm{conv}(
# h_{\ell-1}))))))\big)$. The ReLU after the addition means the shortcut is not
# a pure identity: the signal passes a non-linearity at every block.
#
# **Pre-activation (He et al. 2016, "Identity mappings").** Move batch norm and
# ReLU into the branch, before each convolution:
# $h_\ell = h_{\ell-1} + \mathrm{conv}(\mathrm{ReLU}(\mathrm{BN}(\mathrm{conv}(
# \mathrm{ReLU}(\mathrm{BN}(h_{\ell-1})))))).$ Now
# $h_L = h_\ell + \sum_{m=\ell+1}^{L} F_m(h_{m-1})$ exactly, for any
# $\ell < L$: every block's output reaches every later block, and the loss,
# unchanged. This let the authors train a 1001-layer network. Transformers
# use the same shape, with layer norm ("pre-norm", chapter 11).
#
# **Bottleneck (ResNet-50 and deeper).** A $1 \times 1$ convolution reduces the
# channels by 4, a $3 \times 3$ convolution works on the reduced width, and a
# second $1 \times 1$ expands back. Its weights, against two $3 \times 3$
# convolutions at full width (biases left out, as the convolutions before a
# batch norm have none):

# %%
channels = 256
basic = 2 * 3 * 3 * channels * channels
inner = channels // 4
bottleneck = channels * inner + 3 * 3 * inner * inner + inner * channels
print(f"basic block, two 3x3 convs at {channels} channels: {basic:>9,} weights")
print(f"bottleneck 1x1 ({channels}->{inner}), 3x3 ({inner}->{inner}), "
      f"1x1 ({inner}->{channels}): {bottleneck:>9,} weights "
      f"({basic / bottleneck:.0f}x fewer)")

# %% [markdown]
# **Identity at initialisation.** Set the last layer of the branch (or the
# scale $\gamma$ of its last batch norm) to zero and the block computes
# exactly its input at the start of training; the network starts shallow and
# grows deeper as the branches learn. The cell checks it on a pre-activation
# block.

# %%
class PreActBlock(nn.Module):
    """x + conv(ReLU(BN(conv(ReLU(BN(x)))))), the shape of x kept."""

    def __init__(self, channels, zero_init=False):
        super().__init__()
        self.branch = nn.Sequential(
            nn.BatchNorm2d(channels), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False))
        if zero_init:
            nn.init.zeros_(self.branch[-1].weight)

    def forward(self, x):
        return x + self.branch(x)


torch.manual_seed(0)
x_block = torch.randn(2, 8, 6, 6)
for zero_init in (False, True):
    block = PreActBlock(8, zero_init=zero_init)
    gap = (block(x_block) - x_block).abs().max().item()
    print(f"zero_init={zero_init!s:5s}: max |block(x) - x| = {gap:.3g}")

# %% [markdown]
# Three relatives of the residual connection, in brief:
#
# - **Highway networks** (Srivastava, Greff and Schmidhuber 2015), a few months
#   before ResNet: $h_\ell = T(h) \odot F(h) + (1 - T(h)) \odot h$ with a
#   learned gate $T(h) = \sigma(W_T h + b_T)$, like the gates of an LSTM
#   (chapter 10). ResNet is the gate fixed open, and it trained better.
# - **Stochastic depth** (Huang et al. 2016): during training, skip each
#   residual branch at random (keep $h_\ell = h_{\ell-1}$), with a higher
#   probability for deeper blocks; at test time use all of them. Only residual
#   networks allow this, since dropping a block leaves a working network. It
#   regularises, and it shortens training; vision transformers use it as
#   "drop path".
# - **Scaled branches**: $h_\ell = h_{\ell-1} + \alpha F_\ell(h_{\ell-1})$ with a
#   small or learned $\alpha$ (SkipInit, De and Smith 2020; LayerScale in
#   vision transformers) keeps very deep networks stable, with or without
#   normalisation.

# %% [markdown]
# ## 13.4 Dense connections (DenseNet)
#
# Huang, Liu, van der Maaten and Weinberger (2017) pushed the skip connection
# further: inside a **dense block**, every layer receives the feature maps of
# *all* earlier layers, concatenated along the channel axis, and passes its own
# output to all later ones:
#
# $$y_\ell = H_\ell\big([x, y_1, \dots, y_{\ell-1}]\big), \qquad
#   \text{block output} = [x, y_1, \dots, y_L],$$
#
# where $[\cdot]$ is concatenation along the channels and $H_\ell$ is
# batch norm, ReLU and a $3 \times 3$ convolution. Each layer produces the same
# small number $k$ of new channels, the **growth rate** (12 to 48 in the
# paper). With $C_0$ input channels, layer $\ell$ sees $C_0 + (\ell - 1)k$
# channels and the block returns
#
# $$C_{\text{out}} = C_0 + L k$$
#
# channels. Concatenation instead of addition changes three things:
#
# - **feature reuse**: a layer reads the raw features of every earlier layer
#   instead of their sum, so an edge detector computed once serves the whole
#   block, and the layers can be narrow ($k = 32$ against ResNet's 64 to 512
#   channels): DenseNet-121 has 8 million parameters, ResNet-50 25 million, at
#   a similar ImageNet accuracy;
# - **short gradient paths**: the loss reaches every layer through at most one
#   concatenation per block, a deep-supervision effect;
# - **the channel count grows**: a block with $L$ layers ends with $C_0 + Lk$
#   channels. Between blocks, a **transition layer** (batch norm, a
#   $1 \times 1$ convolution that keeps a fraction $\theta$ of the channels,
#   the *compression*, 0.5 in DenseNet-BC, and a $2 \times 2$ average pool)
#   shrinks the channels and halves the resolution. DenseNet-B also puts a
#   $1 \times 1$ bottleneck convolution to $4k$ channels before each
#   $3 \times 3$ one.
#
# **Pitfall: memory.** A naive implementation concatenates a new tensor for
# every layer, and batch norm stores its own normalised copy of it: the
# activations kept for the backward pass grow like $L^2$ in a block. The
# memory-efficient implementation (Pleiss et al. 2017) recomputes the
# concatenations and normalisations in the backward pass instead of storing
# them; in PyTorch, `torch.utils.checkpoint` does this for any function.
#
# ### Exercise 2: `DenseBlock` (4 points)
#
# Build the dense block (without the bottleneck). Use `nn.BatchNorm2d`,
# `nn.ReLU` and `nn.Conv2d` (built-ins are fine here): the exercise is the
# wiring. The tests copy the parameters and buffers of a reference block into
# yours in the order of `block.parameters()` and `block.buffers()`, so create
# the layers in the order the docstring states, then compare outputs and
# gradients in training mode and outputs in evaluation mode.

# %% grade_id="ch13-dense-block"
class DenseBlock(nn.Module):
    """A DenseNet dense block: each layer sees every earlier feature map.

    N is the batch size, C_0 = in_channels, k = growth_rate, L = num_layers,
    H and W the height and width. Layer l (l = 1, ..., L) maps the
    C_l = C_0 + (l - 1) * k channels made so far to k new ones:

        BatchNorm2d(C_l) -> ReLU -> Conv2d(C_l, k, 3, padding=1, bias=False)

    Its input is torch.cat([x, y_1, ..., y_{l-1}], dim=1), where y_m is the
    output of layer m, and the block returns torch.cat([x, y_1, ..., y_L],
    dim=1): the input first, then the layers' outputs in order, so the first
    C_0 channels of the output are x itself.

    Create the layers in order 1, ..., L, each with its BatchNorm2d before its
    Conv2d (for example an nn.ModuleList of nn.Sequential(BatchNorm2d, ReLU,
    Conv2d)), and nothing else with parameters or buffers, so that
    ``[p.shape for p in block.parameters()]`` is
    [(C_1,), (C_1,), (k, C_1, 3, 3), (C_2,), (C_2,), (k, C_2, 3, 3), ...]
    (each batch norm's weight and bias, then the convolution's weight), and
    ``block.buffers()`` lists each batch norm's running_mean, running_var and
    num_batches_tracked in the same layer order.

    Args:
        in_channels: C_0, an int >= 1.
        growth_rate: k, an int >= 1.
        num_layers: L, an int >= 1.

    Raises:
        ValueError: in __init__, if any of the three is smaller than 1.

    forward(x):
        x: floating-point tensor of shape (N, C_0, H, W) with the dtype and
            device of the block's parameters.
        Returns a tensor of shape (N, C_0 + L * k, H, W), same dtype and
        device. The batch norms behave as nn.BatchNorm2d does: batch
        statistics (and running-statistics updates) in training mode, the
        running statistics in evaluation mode.
    """

    def __init__(self, in_channels, growth_rate, num_layers):
        super().__init__()
        ### BEGIN SOLUTION
        if min(in_channels, growth_rate, num_layers) < 1:
            raise ValueError(f"in_channels, growth_rate and num_layers must be >= 1, "
                             f"got {in_channels}, {growth_rate}, {num_layers}")
        self.layers = nn.ModuleList()
        for i in range(num_layers):
            width = in_channels + i * growth_rate
            self.layers.append(nn.Sequential(
                nn.BatchNorm2d(width), nn.ReLU(),
                nn.Conv2d(width, growth_rate, 3, padding=1, bias=False)))
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        features = [x]
        for layer in self.layers:
            features.append(layer(torch.cat(features, dim=1)))
        return torch.cat(features, dim=1)  # (N, C_0 + L k, H, W)
        ### END SOLUTION


# %%
# Try it: 3 layers growing 4 channels by 2 each
dense = DenseBlock(4, 2, 3)
out_dense = dense(torch.randn(1, 4, 5, 5))
print("output:", tuple(out_dense.shape))
print("parameter shapes:", [tuple(p.shape) for p in dense.parameters()])

# %% grade_id="ch13-dense-block-tests" points=4
"""DenseBlock: parameter shapes in the stated order; ValueError for a size < 1;
the output has C_0 + L k channels and its first C_0 channels are x; with the
parameters and buffers of a reference copied in, outputs and gradients equal
concatenation of [x, y_1, ..., y_L] with BN -> ReLU -> conv3x3 layers, in
training mode (and the running statistics are updated alike) and in evaluation
mode; float64 on `device`; a batch of 1.

Hidden tests: other channels, growth rates, depths, sizes and seeds.
"""


def reference_dense_layers(c0, k, num_layers):
    return nn.ModuleList(
        nn.Sequential(nn.BatchNorm2d(c0 + i * k), nn.ReLU(),
                      nn.Conv2d(c0 + i * k, k, 3, padding=1, bias=False))
        for i in range(num_layers))


def reference_dense_forward(layers, x):
    features = [x]
    for layer in layers:
        features.append(layer(torch.cat(features, dim=1)))
    return torch.cat(features, dim=1)


def check_dense(c0, k, num_layers, x_shape, dtype, where, seed):
    name = f"DenseBlock({c0}, {k}, {num_layers}) on x {x_shape}, {dtype}"
    tol = 1e-10 if dtype == torch.float64 else 1e-4
    block = DenseBlock(c0, k, num_layers).to(where, dtype)
    shapes = [tuple(p.shape) for p in block.parameters()]
    want_shapes = []
    for i in range(num_layers):
        width = c0 + i * k
        want_shapes += [(width,), (width,), (k, width, 3, 3)]
    assert shapes == want_shapes, (
        f"{name}: parameter shapes {shapes}, expected {want_shapes}")
    buffer_shapes = [tuple(b.shape) for b in block.buffers()]
    want_buffers = [s for i in range(num_layers)
                    for s in ((c0 + i * k,), (c0 + i * k,), ())]
    assert buffer_shapes == want_buffers, (
        f"{name}: buffer shapes {buffer_shapes}, expected {want_buffers} (the "
        "running mean, running var and num_batches_tracked of each batch norm)")
    gen = torch.Generator().manual_seed(seed)
    reference = reference_dense_layers(c0, k, num_layers).to(where, dtype)
    with torch.no_grad():
        pairs = zip(reference.parameters(), block.parameters(), strict=True)
        for i, (p_ref, p) in enumerate(pairs):
            # per layer: batch norm weight (near 1), its bias, the conv weight
            scale, shift = [(0.5, 1.0), (0.5, 0.0), (0.3, 0.0)][i % 3]
            p_ref.copy_(scale * torch.randn(p.shape, generator=gen, dtype=dtype)
                        + shift)
            p.copy_(p_ref)
        for b_ref, b in zip(reference.buffers(), block.buffers(), strict=True):
            if b.is_floating_point():
                b_ref.copy_(torch.rand(b.shape, generator=gen, dtype=dtype) + 0.5)
            b.copy_(b_ref)
    x = torch.randn(x_shape, generator=gen, dtype=dtype).to(where)
    # training mode: batch statistics; outputs, gradients, running statistics
    block.train()
    reference.train()
    x_mine, x_ref = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    got, want = block(x_mine), reference_dense_forward(reference, x_ref)
    assert_shape(got, (x_shape[0], c0 + num_layers * k, *x_shape[2:]), name=name)
    assert got.dtype == dtype and got.device == x.device, (
        f"{name}: output {got.dtype} on {got.device}, expected {dtype} on {x.device}")
    assert torch.equal(got[:, :c0].detach(), x), (
        f"{name}: the first {c0} output channels should be the input x itself")
    assert_close(got, want, rtol=tol, atol=tol, name=f"{name}, training mode")
    weights = torch.randn(want.shape, generator=gen, dtype=dtype).to(where)
    (got * weights).sum().backward()
    (want * weights).sum().backward()
    assert_close(x_mine.grad, x_ref.grad, rtol=tol, atol=tol,
                 name=f"{name}: gradient with respect to x")
    pairs = zip(block.parameters(), reference.parameters(), strict=True)
    for i, (p, p_ref) in enumerate(pairs):
        assert_close(p.grad, p_ref.grad, rtol=tol, atol=tol,
                     name=f"{name}: gradient of parameter {i} {tuple(p.shape)}")
    pairs = zip(block.buffers(), reference.buffers(), strict=True)
    for i, (b, b_ref) in enumerate(pairs):
        assert_close(b, b_ref, rtol=tol, atol=tol,
                     name=f"{name}: buffer {i} after a training-mode forward pass")
    # evaluation mode: running statistics
    block.eval()
    reference.eval()
    with torch.no_grad():
        got, want = block(x), reference_dense_forward(reference, x)
    assert torch.equal(got[:, :c0], x), (
        f"{name}, evaluation mode: the first {c0} output channels should be x")
    assert_close(got, want, rtol=tol, atol=tol, name=f"{name}, evaluation mode")


block = DenseBlock(3, 2, 4)
assert isinstance(block, nn.Module), "DenseBlock must subclass nn.Module"
assert_shape(block(torch.randn(2, 3, 5, 6)), (2, 3 + 4 * 2, 5, 6),
             name="DenseBlock(3, 2, 4) on x of shape (2, 3, 5, 6)")
check_dense(3, 2, 4, (2, 3, 5, 6), torch.float32, "cpu", seed=0)
check_dense(5, 3, 2, (3, 5, 4, 7), torch.float64, device, seed=1)
check_dense(2, 4, 1, (1, 2, 3, 5), torch.float64, device, seed=2)  # batch of 1
for bad in ((0, 2, 3), (3, 0, 3), (3, 2, 0)):
    expect_raises(ValueError, DenseBlock, *bad, name=f"DenseBlock{bad}")
### BEGIN HIDDEN TESTS
for _seed, _args in enumerate([(1, 5, 3, (2, 1, 7, 5)), (7, 1, 5, (1, 7, 3, 4)),
                               (4, 6, 2, (5, 4, 2, 9)), (6, 3, 6, (2, 6, 5, 5))]):
    check_dense(*_args, torch.float64, device, seed=20 + _seed)
check_dense(2, 3, 3, (3, 2, 4, 6), torch.float32, device, seed=30)
expect_raises(ValueError, DenseBlock, 4, -1, 2, name="DenseBlock(4, -1, 2)")
### END HIDDEN TESTS

# %% [markdown]
# ### How the channels grow: DenseNet-121
#
# DenseNet-121 (DenseNet-BC with $k = 32$ and $\theta = 0.5$) starts with a
# $7 \times 7$ convolution to 64 channels and a max pool, then runs dense
# blocks of 6, 12, 24 and 16 layers with a transition layer between two
# blocks. Each layer of DenseNet-BC is BN, ReLU, a $1 \times 1$ convolution to
# $4k$ channels, BN, ReLU and a $3 \times 3$ convolution to $k$ channels. The
# cell follows the channel count through the network, counts the parameters
# from these rules, and checks the first block's channel count with your
# `DenseBlock` (its layers have no bottleneck, so only the channels compare).

# %%
def densenet_bc_table(init=64, growth=32, blocks=(6, 12, 24, 16), theta=0.5,
                      num_classes=1000):
    """Channels in and out of each dense block and the total parameter count."""
    params = 3 * init * 7 * 7 + 2 * init  # stem conv (no bias) and its batch norm
    channels, rows = init, []
    for index, num_layers in enumerate(blocks):
        start = channels
        for _ in range(num_layers):
            params += 2 * channels + channels * 4 * growth  # BN, 1x1 conv
            params += 2 * 4 * growth + 4 * growth * growth * 9  # BN, 3x3 conv
            channels += growth
        after = channels
        if index < len(blocks) - 1:  # a transition layer: BN, 1x1 conv
            params += 2 * channels + channels * int(channels * theta)
            after = int(channels * theta)
        rows.append((num_layers, start, channels, after))
        channels = after
    params += 2 * channels + (channels + 1) * num_classes  # final BN, classifier
    return rows, params


rows, densenet_params = densenet_bc_table()
print("block | layers | channels in | channels out | after transition")
for index, (num_layers, start, end, after) in enumerate(rows, start=1):
    print(f"{index:5d} | {num_layers:6d} | {start:11d} | {end:12d} | {after:16d}")
print(f"DenseNet-121: {densenet_params:,} parameters")
first_block = DenseBlock(64, 32, 6)
print("your DenseBlock(64, 32, 6) on a (1, 64, 4, 4) input gives",
      tuple(first_block(torch.randn(1, 64, 4, 4)).shape))

# %% [markdown]
# The count, 7,978,856 parameters, is the one torchvision reports for its
# `densenet121`. The last block ends with $512 + 16 \cdot 32 = 1024$ channels
# even though no layer inside a dense block produces more than $4k = 128$
# channels:
# width comes from accumulating narrow layers, not from wide ones.
#
# The widget plots the channel count and the parameters of your `DenseBlock`
# against the layer index for a growth rate and an input width you choose:
# the channels grow linearly and the parameters of layer $\ell$, $9k(C_0 +
# (\ell - 1)k)$ plus $2(C_0 + (\ell - 1)k)$ for its batch norm, grow linearly
# too, so a block's total grows like $L^2$.

# %%
def show_growth(in_channels=16, growth_rate=12, num_layers=12):
    block = DenseBlock(in_channels, growth_rate, num_layers)
    sizes = [p.numel() for p in block.parameters()]
    # three parameters per layer: the batch norm's weight and bias, the conv
    per_layer = [sum(sizes[3 * i:3 * i + 3]) for i in range(num_layers)]
    layers = range(1, num_layers + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6))
    left.step([0, *layers], [in_channels + i * growth_rate
                             for i in range(num_layers + 1)],
              where="post", label="channels after layer l")
    left.set(xlabel="layer l", ylabel="channels",
             title=f"C_0 = {in_channels}, k = {growth_rate}: "
                   f"{in_channels + num_layers * growth_rate} channels out")
    right.bar(layers, per_layer, color="tab:orange", label="parameters of layer l")
    right.set(xlabel="layer l", ylabel="parameters",
              title=f"{sum(per_layer):,} parameters in the block")
    for ax in (left, right):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


interactive_plot(show_growth, in_channels=(1, 64, 1), growth_rate=(1, 48, 1),
                 num_layers=(1, 24, 1))

# %% [markdown]
# ## 13.5 Attention inside a CNN: CBAM
#
# Chapter 9's **squeeze-and-excitation** block computed one weight per channel
# from the channel's spatial *average* and multiplied the channel by it. The
# **Convolutional Block Attention Module** (CBAM; Woo, Park, Lee and Kweon
# 2018) refines it in two ways, then adds attention over positions.
#
# **Channel attention.** Summarise each channel of $x \in \mathbb{R}^{C \times
# H \times W}$ twice, by its average and by its maximum over the positions,
# pass both summaries through the **same** small MLP and add:
#
# $$a_c = \frac{1}{HW}\sum_{i,j} x_{c,i,j}, \qquad
#   m_c = \max_{i,j} x_{c,i,j}, \qquad
#   M_c(x) = \sigma\big(\mathrm{MLP}(a) + \mathrm{MLP}(m)\big) \in (0, 1)^C,$$
#
# with $\mathrm{MLP}(z) = W_2\,\mathrm{ReLU}(W_1 z + b_1) + b_2$, $W_1 \in
# \mathbb{R}^{R \times C}$ and $R = \lfloor C/r \rfloor$ for a reduction $r$.
# The output is $M_c(x)_c \cdot x_{c,i,j}$. The maximum keeps what an average
# washes out: a channel that fires strongly in one small place (the eye of a
# face) has a small mean but a large maximum. The paper measured that using
# both summaries beats either one alone. The sigmoid, not a softmax, lets many
# channels be on at once: attention here is a gate, not a distribution.
#
# **Spatial attention.** Summarise each *position* by the average and the
# maximum over the channels, stack the two maps, and let one convolution
# (kernel $7 \times 7$ in the paper) decide where to look:
#
# $$M_s(x) = \sigma\Big(w * \big[\tfrac{1}{C}\textstyle\sum_c x_{c},\;
#   \max_c x_{c}\big]\Big) \in (0, 1)^{H \times W},$$
#
# where $w$ has shape $(1, 2, k, k)$, $*$ is a convolution with padding
# $\lfloor k/2 \rfloor$ (so an odd $k$ keeps the size) and no bias. The output
# multiplies every channel at position $(i, j)$ by $M_s(x)_{i,j}$.
#
# **CBAM** applies them in sequence, channel first:
# $x' = M_c(x) \odot x$, then $x'' = M_s(x') \odot x'$; the paper found
# channel-then-spatial slightly better than the other order or both in
# parallel. It costs $2CR + R + C$ parameters for the channel part and
# $2k^2$ for the spatial part, next to nothing against a convolution.
#
# Two remarks on versions of these modules often copied from the web. A
# `ChannelAttention` that computes `channels // reduction` with the default
# reduction of 16 gets 0 for fewer than 16 channels: `nn.Linear(8, 0)` builds
# without complaint and every weight is then $\sigma(b_2 + b_2)$, independent
# of the input. Ours raises a `ValueError` instead. Their spatial convolution
# often has a bias; CBAM's formula has none (a bias shifts every position by
# the same amount, which changes the overall scale of the map, not where it
# looks), and ours follows the formula.
#
# Both modules expose their weights through a method `attention(x)`, so that a
# test (or you) can look at them; `forward(x)` returns `x * attention(x)`,
# broadcast over the missing axes. Every built-in is allowed in both exercises
# (`nn.Linear`, `nn.Conv2d`, `torch.sigmoid`, pooling functions): the exercise
# is the wiring. The tests copy values into your parameters in the stated
# order and compare outputs and gradients with the formulas above.
#
# ### Exercise 3: `ChannelAttention` (3 points)

# %% grade_id="ch13-channel-attention"
class ChannelAttention(nn.Module):
    """CBAM's channel attention: one weight in (0, 1) per image and channel.

    N is the batch size, C = channels, H and W the height and width, and
    R = channels // reduction the hidden width of the shared MLP.

        a = mean of x over H and W                              (N, C)
        m = maximum of x over H and W                           (N, C)
        mlp(z) = fc2(ReLU(fc1(z)))                              (N, C)
        weights = sigmoid(mlp(a) + mlp(m))                      (N, C)

    with fc1 = Linear(C, R) and fc2 = Linear(R, C), both with a bias, created
    in this order and used for both a and m (one MLP, shared), so that
    ``[p.shape for p in module.parameters()]`` is [(R, C), (R,), (C, R), (C,)].

    Args:
        channels: C, an int >= 1.
        reduction: r, an int >= 1 (default 16).

    Raises:
        ValueError: in __init__, if R = channels // reduction is 0.

    attention(x):
        x: floating-point tensor of shape (N, C, H, W) with the dtype and device
            of the parameters. Returns the weights reshaped to (N, C, 1, 1),
            same dtype and device, every entry strictly between 0 and 1.

    forward(x):
        Returns x * attention(x): shape (N, C, H, W), same dtype and device.
    """

    def __init__(self, channels, reduction=16):
        super().__init__()
        ### BEGIN SOLUTION
        hidden = channels // reduction
        if hidden < 1:
            raise ValueError(f"channels // reduction = {channels} // {reduction} is 0")
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)
        ### END SOLUTION

    def attention(self, x):
        ### BEGIN SOLUTION
        def mlp(z):
            return self.fc2(F.relu(self.fc1(z)))

        weights = torch.sigmoid(mlp(x.mean(dim=(2, 3))) + mlp(x.amax(dim=(2, 3))))
        return weights[:, :, None, None]  # (N, C, 1, 1)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return x * self.attention(x)
        ### END SOLUTION


# %%
# Try it: the weights of a random module for two images
channel_att = ChannelAttention(8, reduction=2)
x_att = torch.randn(2, 8, 5, 5)
print("attention:", tuple(channel_att.attention(x_att).shape),
      "| output:", tuple(channel_att(x_att).shape))
print("weights of image 0:", channel_att.attention(x_att)[0, :, 0, 0].detach())

# %% grade_id="ch13-channel-attention-tests" points=3
"""ChannelAttention: parameter shapes in the stated order (default reduction 16);
with values copied into its parameters, attention(x) == sigmoid(mlp(mean) +
mlp(max)) of shape (N, C, 1, 1) in (0, 1) and forward(x) == x * attention(x),
outputs and gradients; float64 on `device`; a batch of 1; ValueError when
channels // reduction is 0.

Hidden tests: other channels, reductions, sizes and seeds.
"""


def reference_channel_weights(x, w1, b1, w2, b2):
    def mlp(z):
        return F.linear(F.relu(F.linear(z, w1, b1)), w2, b2)

    pooled_max = x.flatten(2).max(dim=2).values
    return torch.sigmoid(mlp(x.mean(dim=(2, 3))) + mlp(pooled_max))[:, :, None, None]


def check_channel(channels, reduction, x_shape, dtype, where, seed):
    name = f"ChannelAttention({channels}, reduction={reduction}) on x {x_shape}"
    tol = 1e-10 if dtype == torch.float64 else 1e-5
    hidden = channels // reduction
    module = ChannelAttention(channels, reduction=reduction).to(where, dtype)
    shapes = [tuple(p.shape) for p in module.parameters()]
    want_shapes = [(hidden, channels), (hidden,), (channels, hidden), (channels,)]
    assert shapes == want_shapes, (
        f"{name}: parameter shapes {shapes}, expected {want_shapes}")
    gen = torch.Generator().manual_seed(seed)
    values = [0.5 * torch.randn(s, generator=gen, dtype=dtype).to(where)
              for s in shapes]
    with torch.no_grad():
        for p, v in zip(module.parameters(), values, strict=True):
            p.copy_(v)
    leaves = [v.clone().requires_grad_(True) for v in values]
    x = torch.randn(x_shape, generator=gen, dtype=dtype).to(where)
    want = reference_channel_weights(x, *leaves)
    got = module.attention(x)
    assert_shape(got, (x_shape[0], channels, 1, 1), name=f"{name}: attention(x)")
    assert got.dtype == dtype and got.device == x.device, (
        f"{name}: attention {got.dtype} on {got.device}, expected {dtype} on "
        f"{x.device}")
    assert ((got > 0) & (got < 1)).all(), (
        f"{name}: attention weights should lie in (0, 1), got values in "
        f"[{got.min().item():.3g}, {got.max().item():.3g}]")
    assert_close(got, want, rtol=tol, atol=tol, name=f"{name}: attention(x)")
    x_mine, x_ref = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    out, out_ref = module(x_mine), x_ref * reference_channel_weights(x_ref, *leaves)
    assert_close(out, out_ref, rtol=tol, atol=tol, name=f"{name}: forward(x)")
    weights = torch.randn(out.shape, generator=gen, dtype=dtype).to(where)
    (out * weights).sum().backward()
    (out_ref * weights).sum().backward()
    assert_close(x_mine.grad, x_ref.grad, rtol=tol, atol=tol,
                 name=f"{name}: gradient with respect to x")
    for i, (p, leaf) in enumerate(zip(module.parameters(), leaves, strict=True)):
        assert_close(p.grad, leaf.grad, rtol=tol, atol=tol,
                     name=f"{name}: gradient of parameter {i} {tuple(p.shape)}")


module = ChannelAttention(32)
assert isinstance(module, nn.Module), "ChannelAttention must subclass nn.Module"
shapes = [tuple(p.shape) for p in module.parameters()]
assert shapes == [(2, 32), (2,), (32, 2), (32,)], (
    f"ChannelAttention(32): parameter shapes {shapes}, expected [(2, 32), (2,), "
    "(32, 2), (32,)] (default reduction 16: 32 // 16 = 2 hidden units)")
check_channel(6, 2, (2, 6, 4, 5), torch.float32, "cpu", seed=0)
check_channel(8, 4, (3, 8, 5, 3), torch.float64, device, seed=1)
check_channel(5, 1, (1, 5, 3, 7), torch.float64, device, seed=2)  # batch of 1
expect_raises(ValueError, ChannelAttention, 8, 16,
              name="ChannelAttention(8, reduction=16)")
### BEGIN HIDDEN TESTS
for _seed, _args in enumerate([(12, 3, (2, 12, 6, 4)), (7, 2, (3, 7, 2, 9)),
                               (16, 16, (2, 16, 5, 5)), (9, 4, (1, 9, 1, 3))]):
    check_channel(*_args, torch.float64, device, seed=40 + _seed)
check_channel(10, 5, (4, 10, 3, 3), torch.float32, device, seed=50)
expect_raises(ValueError, ChannelAttention, 3, 4, name="ChannelAttention(3, 4)")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 4: `SpatialAttention` (3 points)

# %% grade_id="ch13-spatial-attention"
class SpatialAttention(nn.Module):
    """CBAM's spatial attention: one weight in (0, 1) per image and position.

    N is the batch size, C the number of channels, H and W the height and
    width, and k = kernel_size.

        a = mean of x over the channels                         (N, 1, H, W)
        m = maximum of x over the channels                      (N, 1, H, W)
        weights = sigmoid(conv(torch.cat([a, m], dim=1)))       (N, 1, H, W)

    with conv = Conv2d(2, 1, k, padding=k // 2, bias=False): input channel 0 is
    the mean, channel 1 the maximum. It is the only parameter, so
    ``[p.shape for p in module.parameters()]`` is [(1, 2, k, k)].

    Args:
        kernel_size: k, an odd int >= 1 (default 7), so that the padding
            k // 2 keeps H and W.

    Raises:
        ValueError: in __init__, if kernel_size is even or smaller than 1.

    attention(x):
        x: floating-point tensor of shape (N, C, H, W), C >= 1, with the dtype
            and device of the parameter. Returns the weights, shape
            (N, 1, H, W), same dtype and device, every entry strictly between
            0 and 1.

    forward(x):
        Returns x * attention(x): shape (N, C, H, W), same dtype and device.
    """

    def __init__(self, kernel_size=7):
        super().__init__()
        ### BEGIN SOLUTION
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd and >= 1, got {kernel_size}")
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)
        ### END SOLUTION

    def attention(self, x):
        ### BEGIN SOLUTION
        pooled = torch.cat([x.mean(dim=1, keepdim=True),
                            x.amax(dim=1, keepdim=True)], dim=1)  # (N, 2, H, W)
        return torch.sigmoid(self.conv(pooled))  # (N, 1, H, W)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return x * self.attention(x)
        ### END SOLUTION


# %%
# Try it: a 3x3 spatial attention on two random images
spatial_att = SpatialAttention(3)
print("attention:", tuple(spatial_att.attention(x_att).shape),
      "| output:", tuple(spatial_att(x_att).shape))

# %% grade_id="ch13-spatial-attention-tests" points=3
"""SpatialAttention: one parameter of shape (1, 2, k, k) (default k = 7); with
values copied into it, attention(x) == sigmoid(conv([mean, max] over the
channels)) of shape (N, 1, H, W) in (0, 1) and forward(x) == x * attention(x),
outputs and gradients; H != W, one channel, float64 on `device`, a batch of 1;
ValueError for an even or non-positive kernel size.

Hidden tests: other kernel sizes, shapes and seeds.
"""


def reference_spatial_weights(x, weight):
    pooled = torch.stack([x.mean(dim=1), x.max(dim=1).values], dim=1)
    return torch.sigmoid(F.conv2d(pooled, weight, padding=weight.shape[-1] // 2))


def check_spatial(kernel_size, x_shape, dtype, where, seed):
    name = f"SpatialAttention({kernel_size}) on x {x_shape}, {dtype}"
    tol = 1e-10 if dtype == torch.float64 else 1e-5
    module = SpatialAttention(kernel_size).to(where, dtype)
    shapes = [tuple(p.shape) for p in module.parameters()]
    want_shape = (1, 2, kernel_size, kernel_size)
    assert shapes == [want_shape], (
        f"{name}: parameter shapes {shapes}, expected [{want_shape}] (no bias)")
    gen = torch.Generator().manual_seed(seed)
    value = 0.3 * torch.randn(want_shape, generator=gen, dtype=dtype).to(where)
    with torch.no_grad():
        next(module.parameters()).copy_(value)
    leaf = value.clone().requires_grad_(True)
    x = torch.randn(x_shape, generator=gen, dtype=dtype).to(where)
    want = reference_spatial_weights(x, leaf)
    got = module.attention(x)
    assert_shape(got, (x_shape[0], 1, *x_shape[2:]), name=f"{name}: attention(x)")
    assert got.dtype == dtype and got.device == x.device, (
        f"{name}: attention {got.dtype} on {got.device}, expected {dtype} on "
        f"{x.device}")
    assert ((got > 0) & (got < 1)).all(), (
        f"{name}: attention weights should lie in (0, 1), got values in "
        f"[{got.min().item():.3g}, {got.max().item():.3g}]")
    assert_close(got, want, rtol=tol, atol=tol, name=f"{name}: attention(x)")
    x_mine, x_ref = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    out, out_ref = module(x_mine), x_ref * reference_spatial_weights(x_ref, leaf)
    assert_close(out, out_ref, rtol=tol, atol=tol, name=f"{name}: forward(x)")
    weights = torch.randn(out.shape, generator=gen, dtype=dtype).to(where)
    (out * weights).sum().backward()
    (out_ref * weights).sum().backward()
    assert_close(x_mine.grad, x_ref.grad, rtol=tol, atol=tol,
                 name=f"{name}: gradient with respect to x")
    assert_close(next(module.parameters()).grad, leaf.grad, rtol=tol, atol=tol,
                 name=f"{name}: gradient of the convolution's weight")


module = SpatialAttention()
assert isinstance(module, nn.Module), "SpatialAttention must subclass nn.Module"
shapes = [tuple(p.shape) for p in module.parameters()]
assert shapes == [(1, 2, 7, 7)], (
    f"SpatialAttention(): parameter shapes {shapes}, expected [(1, 2, 7, 7)]")
check_spatial(3, (2, 4, 5, 6), torch.float32, "cpu", seed=0)
check_spatial(7, (3, 5, 9, 8), torch.float64, device, seed=1)
check_spatial(5, (1, 1, 6, 4), torch.float64, device, seed=2)  # batch 1, C = 1
for bad in (4, 0):
    expect_raises(ValueError, SpatialAttention, bad, name=f"SpatialAttention({bad})")
### BEGIN HIDDEN TESTS
for _seed, _args in enumerate([(1, (2, 3, 4, 5)), (3, (1, 6, 7, 3)),
                               (7, (2, 2, 11, 10)), (5, (4, 9, 5, 5))]):
    check_spatial(*_args, torch.float64, device, seed=60 + _seed)
check_spatial(3, (3, 4, 6, 5), torch.float32, device, seed=70)
expect_raises(ValueError, SpatialAttention, 6, name="SpatialAttention(6)")
### END HIDDEN TESTS

# %% [markdown]
# ### What a trained CBAM looks at
#
# Random attention modules show nothing; trained ones do. The CNN below has
# two $3 \times 3$ convolutions (16 and 32 channels) on the 8x8 digits,
# CBAM (your two modules, reduction 4, a $3 \times 3$ spatial kernel: the maps
# are only 8x8), a $2 \times 2$ max pool and a linear classifier. The same
# network without CBAM trains alongside for comparison, from the same seed and
# with the same batches.
#
# The bar: the CBAM network reaches 95% test accuracy.

# %%
class SmallCNN(nn.Module):
    """conv-ReLU-conv-ReLU, optionally CBAM, then 2x2 max pool and a linear head."""

    def __init__(self, cbam=True):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(16, 32, 3, padding=1), nn.ReLU())
        self.channel = ChannelAttention(32, reduction=4) if cbam else None
        self.spatial = SpatialAttention(3) if cbam else None
        self.head = nn.Sequential(nn.MaxPool2d(2), nn.Flatten(),
                                  nn.Linear(32 * 4 * 4, 10))

    def forward(self, x):
        h = self.features(x)
        if self.channel is not None:
            h = self.spatial(self.channel(h))
        return self.head(h)


CNN_EPOCHS = 8  # the knob for both CNNs
cnn_cache = {}  # the trained networks, so that later cells reuse them


def trained_cnns(num_epochs=CNN_EPOCHS):
    """The CNN without and with CBAM, trained on the digit images (once)."""
    if num_epochs not in cnn_cache:
        digits_img = (Xi_train, y_train, Xi_test, y_test)
        models, histories = {}, {}
        for name, cbam in (("CNN", False), ("CNN + CBAM", True)):
            set_seed(2)
            models[name] = SmallCNN(cbam).to(device)
            histories[name] = train_classifier(models[name], digits_img, num_epochs,
                                               lr=1e-2, batch_size=64, seed=2,
                                               desc=name)
        cnn_cache[num_epochs] = models, histories
    return cnn_cache[num_epochs]


cnn_models, cnn_runs = trained_cnns()
for name, run in cnn_runs.items():
    print(f"{name:11s} final test accuracy {run['test accuracy'][-1]:.3f}")
check_bar("test accuracy of the CNN with CBAM",
          cnn_runs["CNN + CBAM"]["test accuracy"][-1], 0.95)

# %% [markdown]
# On a problem this small both networks are close to the ceiling, so compare
# the two accuracies with care: CBAM's gains in the paper (one to two points
# of ImageNet top-1 error on ResNet-50) come from large images with clutter to
# ignore. What it gives us here is a view of what the network weighs. Left:
# test digits and the spatial attention map of each; right: the channel
# weights averaged over the test digits of each class.

# %%
cnn_models, _ = trained_cnns()  # the networks trained above
cbam_net = cnn_models["CNN + CBAM"].eval()
with torch.no_grad():
    test_features = cbam_net.features(Xi_test.to(device))
    channel_weights = cbam_net.channel.attention(test_features)[:, :, 0, 0]
    spatial_maps = cbam_net.spatial.attention(cbam_net.channel(test_features))
channel_weights, spatial_maps = channel_weights.cpu(), spatial_maps.cpu()
class_profile = torch.stack([channel_weights[y_test == c].mean(dim=0)
                             for c in range(10)])  # (10 classes, 32 channels)

fig = plt.figure(figsize=(12, 4.2))
grid = fig.add_gridspec(2, 6, width_ratios=[1, 1, 1, 1, 1, 4.5])
for i in range(5):
    for row, (image, cmap, label) in enumerate(
            ((Xi_test[i, 0], "gray_r", "digit"),
             (spatial_maps[i, 0], "magma", "spatial attention"))):
        ax = fig.add_subplot(grid[row, i])
        ax.imshow(image.numpy(), cmap=cmap)
        ax.set_xticks([])
        ax.set_yticks([])
        if row == 0:
            ax.set_title(f"label {y_test[i].item()}", fontsize=9)
        if i == 0:
            ax.set_ylabel(label, fontsize=9)
ax = fig.add_subplot(grid[:, 5])
shown = ax.imshow(class_profile.numpy(), aspect="auto", cmap="viridis")
ax.set(xlabel="channel", ylabel="digit class", yticks=range(10),
       title="mean channel attention per class")
fig.colorbar(shown, ax=ax, label="weight in (0, 1)")
fig.suptitle("What the trained CBAM weighs (test digits)")
plt.show()
border = torch.ones(8, 8, dtype=torch.bool)
border[1:-1, 1:-1] = False  # the outer ring of the 8x8 map
print(f"spatial attention: mean weight {spatial_maps[:, 0][:, border].mean():.2f} "
      f"on the border, {spatial_maps[:, 0][:, ~border].mean():.2f} inside")
mean_weight = class_profile.mean(dim=0)  # (32,) per channel, over the classes
spread = class_profile.max(dim=0).values - class_profile.min(dim=0).values
print(f"channel attention: {(mean_weight < 0.1).sum().item()} of 32 channels have a "
      f"mean weight below 0.1, {(mean_weight > 0.9).sum().item()} above 0.9; the "
      f"largest change of a channel's mean weight between two classes is "
      f"{spread.max():.2f}")

# %% [markdown]
# Read the printed numbers before the pictures. On the runs we made, the
# trained attention learned mostly *fixed* gates: the spatial maps weigh the
# inside of the 8x8 feature map more than its border (where the features were
# computed from zero padding and the digits have little ink), and the channel
# weights switch a group of channels almost off and others almost fully on for
# every class alike, with only small changes from one class to another. That
# is a useful lesson: attention modules can compute input-dependent weights,
# but they only learn to when the task rewards it. On an 8x8 digit centred in
# its frame, where to look barely changes; on photos with clutter, where the
# object moves, it does, and that is where the paper's gains come from.
#
# ## 13.6 Other patterns in brief
#
# - **residual connection**, $x + F(x)$ (ResNet, every transformer): the
#   gradient flows through the identity, and a block starts near the identity;
# - **highway connection**, $T \odot F + (1 - T) \odot x$ (highway networks): the
#   same with a learned gate, at the price of the gate's parameters;
# - **dense connection**, concatenation along the channels (DenseNet): feature
#   reuse, narrow layers, few parameters;
# - **bottleneck**, $1 \times 1$ reduce, $k \times k$, $1 \times 1$ expand
#   (ResNet-50; MobileNetV2 inverts it, expanding first): the expensive
#   convolution runs on few channels;
# - **parallel branches**, several kernels side by side and concatenated
#   (Inception, chapter 9): several receptive fields in one layer;
# - **encoder-decoder skip**, concatenation across the "U" (U-Net): fine detail
#   restored in the decoder;
# - **attention gate**, multiplication by weights in $(0, 1)$ (SE, CBAM, ECA):
#   the input decides which channels and places count.
#
# **U-Net** (Ronneberger, Fischer and Brox 2015), for segmentation, deserves a
# closer look: an encoder halves the resolution several times while widening
# the channels, a decoder upsamples back to the input's size, and at every
# resolution the encoder's feature map is concatenated to the decoder's. The
# decoder thus gets the encoder's "what" (deep, coarse features) and "where"
# (shallow, sharp ones) at once; without the skips, thin structures such as
# cell borders come out blurred. The sketch below follows the shapes through a
# two-level U-Net on a 32x32 image.

# %%
class TinyUNet(nn.Module):
    """Two down-steps, two up-steps; encoder maps concatenated into the decoder."""

    def __init__(self, c_in=1, width=8, c_out=2):
        super().__init__()

        def double_conv(a, b):
            return nn.Sequential(nn.Conv2d(a, b, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(b, b, 3, padding=1), nn.ReLU())

        self.enc1, self.enc2 = double_conv(c_in, width), double_conv(width, 2 * width)
        self.middle = double_conv(2 * width, 4 * width)
        self.up2 = nn.ConvTranspose2d(4 * width, 2 * width, 2, stride=2)
        self.dec2 = double_conv(4 * width, 2 * width)  # 2w upsampled + 2w skipped
        self.up1 = nn.ConvTranspose2d(2 * width, width, 2, stride=2)
        self.dec1 = double_conv(2 * width, width)
        self.out = nn.Conv2d(width, c_out, 1)

    def forward(self, x, trace=None):
        e1 = self.enc1(x)  # (N, w, H, W)
        e2 = self.enc2(F.max_pool2d(e1, 2))  # (N, 2w, H/2, W/2)
        m = self.middle(F.max_pool2d(e2, 2))  # (N, 4w, H/4, W/4)
        d2 = self.dec2(torch.cat([self.up2(m), e2], dim=1))  # skip at H/2
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))  # skip at H
        if trace is not None:
            trace.update(enc1=e1, enc2=e2, middle=m, dec2=d2, dec1=d1)
        return self.out(d1)  # one score per class and pixel


trace = {}
unet_out = TinyUNet()(torch.randn(1, 1, 32, 32), trace)
for stage, tensor in trace.items():
    print(f"{stage:6s} {tuple(tensor.shape)}")
print(f"output {tuple(unet_out.shape)}: a class score for every pixel")

# %% [markdown]
# ## 13.7 Summary
#
# - The gradient reaching the first layer of a deep network is a product of
#   Jacobians. In plain networks it shrinks (or grows) geometrically with
#   depth; with PyTorch's default initialisation, 16 hidden ReLU layers leave
#   the first one with a gradient many orders of magnitude smaller than a
#   residual network of the same depth gets, and the plain network barely
#   learned the digits while the residual one passed 93%.
# - A residual block $h + F(h)$ turns each Jacobian into $I + J$: the identity
#   path carries the gradient to every layer. Its branches must start small
#   (zero-initialised last layer, batch norm, scaling), or the forward signal
#   grows with depth; He initialisation fixes a plain network at
#   initialisation, but not the degradation of very deep plain networks.
# - `first_layer_grad_norm` measures a gradient without side effects:
#   `torch.autograd.grad` leaves `.grad` alone, and the model keeps its mode.
# - Pre-activation blocks keep the shortcut a pure identity; bottlenecks run
#   the $3 \times 3$ convolution on a quarter of the channels; a zero-initialised
#   branch makes a block the identity at the start.
# - A dense block concatenates $[x, y_1, \dots, y_L]$: $C_0 + Lk$ channels from
#   narrow layers, reused features, and transition layers to compress; it costs
#   memory that grows like $L^2$ unless recomputed.
# - CBAM's channel attention gates channels with $\sigma(\mathrm{MLP}(\text{avg})
#   + \mathrm{MLP}(\text{max}))$, its spatial attention gates positions with a
#   convolution over the channel-wise average and maximum; both are
#   multiplications by weights in $(0, 1)$ that depend on the input.
# - U-Net's skips concatenate encoder features into the decoder; Inception runs
#   kernels in parallel; highway networks gate the shortcut.
#
# **Next:** chapter 14 assembles these patterns into modern architectures:
# vision transformers (residual blocks with attention and layer norm),
# depthwise separable convolutions and EfficientNet's compound scaling.
