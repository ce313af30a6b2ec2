# %% [markdown]
# # Chapter 16: Training models
#
# Every model in this course so far was trained by a loop of a dozen lines
# written on the spot. This chapter turns that loop into tools you can trust
# and reuse: one epoch of training, an honest evaluation, gradient clipping, a
# learning-rate schedule, early stopping that gives back the best model it
# saw, checkpoints that let a run stop and resume as if nothing happened, and
# the seeds that make a run repeatable. Each piece is small; each has a
# classic mistake that silently produces a worse model or a wrong number, and
# the tests of this chapter are built to catch them.
#
# **You will learn**
# - the anatomy of a training loop: epochs, mini-batches, the five steps of an
#   update, and why the two modes `train()` and `eval()` exist;
# - how to average a loss over an epoch so that a short last batch does not
#   distort it, and why evaluation runs under `torch.no_grad()`;
# - gradient clipping by the total norm: what it does to the update, and how
#   it differs from clipping each value;
# - learning-rate schedules: the cosine schedule in closed form, step
#   schedules, and `ReduceLROnPlateau` (which takes no `verbose` argument any
#   more: read the learning rate yourself);
# - early stopping with patience, and why the best weights must be *copied*
#   (a `state_dict()` holds references to the live tensors);
# - checkpoints that hold the model, the optimizer, the scheduler and the
#   random state, so that a resumed run equals an uninterrupted one exactly;
# - seeds, `torch.use_deterministic_algorithms` and what "reproducible" can
#   and cannot promise; progress bars and loss/accuracy curves.
#
# **Graded exercises** (18 points)
#
# | exercise | points |
# |---|---|
# | `clip_grad_norm(parameters, max_norm)` | 3 |
# | `train_one_epoch(model, loader, loss_fn, optimizer, device, max_grad_norm)` | 3 |
# | `evaluate(model, loader, loss_fn, device)` | 3 |
# | `cosine_lr(epoch, num_epochs, lr_max, lr_min)` | 2 |
# | `fit(model, train_loader, val_loader, ..., patience, ...)` | 4 |
# | `save_checkpoint(...)` and `load_checkpoint(...)` | 3 |
#
# Each exercise is a function whose docstring states its whole contract:
# shapes, dtypes, devices, edge cases and the built-ins you may not call.
# Replace `raise NotImplementedError()` with your code and run the test cell
# below it. The visible tests show every rule the grader checks; hidden tests
# repeat them on other values, shapes and seeds.

# %%
import copy
import math
import os
import random
import tempfile
import time

import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from dlcourse import get_device, progress, set_seed
from dlcourse.checks import assert_close, expect_raises, forbid
from dlcourse.data import load_digits, train_test_split
from dlcourse.plotting import plot_curves
from dlcourse.training import check_bar
from dlcourse.widgets import interactive_plot

device = get_device()  # the tests also run your code on this device
set_seed(0)
print(f"torch {torch.__version__}, device: {device}")

# %% [markdown]
# ## 16.1 The anatomy of a training loop
#
# Training minimises the average loss over the $N$ training examples,
#
# $$\mathcal{L}(\theta) = \frac{1}{N} \sum_{i=1}^{N} \ell\big(f_\theta(x_i),
#   y_i\big),$$
#
# but computing its gradient over all $N$ examples for every step is slow. A
# **mini-batch** $B$ of a few dozen examples gives an unbiased estimate of it,
#
# $$g = \nabla_\theta \frac{1}{|B|} \sum_{i \in B} \ell\big(f_\theta(x_i),
#   y_i\big), \qquad \mathbb{E}[g] = \nabla_\theta \mathcal{L}(\theta)$$
#
# when $B$ is drawn at random, and the optimizer takes one step per batch. One
# pass over all batches is an **epoch**; the order of the examples is
# reshuffled every epoch so that the batches differ from one epoch to the
# next. Each step has five parts, always in this order:
#
# 1. `optimizer.zero_grad()`: PyTorch *adds* new gradients to `.grad`, so the
#    old ones must go first (chapter 2);
# 2. the forward pass, `outputs = model(inputs)`;
# 3. the loss, `loss = loss_fn(outputs, targets)`: the **mean** over the batch;
# 4. the backward pass, `loss.backward()`, which fills every `.grad`;
# 5. `optimizer.step()`, which moves the parameters.
#
# Gradient clipping (section 16.2) slots in between 4 and 5: it edits the
# gradients before the optimizer reads them.
#
# **Two modes.** Some layers behave differently while training: dropout
# switches neurons off at random, batch normalisation uses the statistics of
# the current batch and updates its running averages. `model.train()` turns
# that behaviour on and `model.eval()` turns it off; forgetting `eval()`
# before measuring a model gives a noisy and pessimistic figure (chapter 8
# showed it). Independently, `torch.no_grad()` stops autograd from recording
# the operations: evaluation needs no gradients, and without recording it
# runs faster and holds less memory. The two are different switches, and
# evaluation needs both.
#
# **Averaging over an epoch.** The loss that `loss_fn` returns is a mean over
# its batch. The mean over the epoch is therefore
#
# $$\bar\ell = \frac{\sum_b |B_b|\, \ell_b}{\sum_b |B_b|},$$
#
# each batch mean weighted by its size. Averaging the batch means with equal
# weights, as many loops do (`total += loss.item()` then divide by
# `len(loader)`), is wrong whenever the last batch is smaller: its few
# examples count as much as a full batch. The same holds for accuracy. The
# next cell shows how far off it can be, on a made-up epoch of 1,000 examples
# in batches of 64 whose last batch of 40 happens to be hard.

# %%
batch_sizes = torch.tensor([64] * 15 + [40], dtype=torch.float64)  # 1,000 examples
batch_means = torch.full((16,), 0.30, dtype=torch.float64)
batch_means[-1] = 1.50  # a hard last batch
per_example = (batch_sizes * batch_means).sum() / batch_sizes.sum()
per_batch = batch_means.mean()
print(f"weighted by batch size (the epoch's mean): {per_example:.4f}")
print(f"mean of the 16 batch means (the mistake):  {per_batch:.4f}")

# %% [markdown]
# With `drop_last=True` every batch has the same size and the two agree, but
# the validation loader must never drop examples, so the weighted mean is the
# habit to keep.
#
# **Where the data lives.** A `DataLoader` returns CPU tensors; the model
# lives on `device`. Each batch is moved with `.to(device)` inside the loop,
# the inputs *and* the targets. (Chapter 15 showed `pin_memory=True`, which
# makes those copies faster on a GPU.)
#
# ## 16.2 Gradient clipping
#
# A single unlucky batch can produce a huge gradient: a spike in the loss, an
# exploding recurrent network (chapter 10), the first steps of a transformer.
# One step along such a gradient can undo hours of training. **Clipping by
# the total norm** caps the length of the whole gradient. Stack every
# parameter's gradient into one long vector $g$ and compute
#
# $$\|g\|_2 = \sqrt{\sum_{p} \sum_{j} g_{p,j}^2}, \qquad
#   g \leftarrow g \cdot \min\!\Big(1, \frac{c}{\|g\|_2 + \varepsilon}\Big),$$
#
# with the threshold $c$ (`max_norm`) and $\varepsilon = 10^{-6}$ against a
# division by zero. A gradient shorter than $c$ is left alone; a longer one is
# shrunk to length (almost exactly) $c$, **keeping its direction**. The step
# still goes downhill; it is just shorter.
#
# Clipping *each value* to $[-c, c]$ (`clip_grad_value_`) changes the
# direction instead: the large coordinates are flattened while the small ones
# stay, so the step no longer points where the gradient did. Clipping *each
# parameter tensor* separately changes it too, by shrinking some layers and
# not others. The total norm is the standard choice (transformers are
# typically trained with $c = 1$); the norm itself, returned by
# `clip_grad_norm_`, is worth logging: its spikes are the first sign of
# trouble (chapter 18).
#
# ### Exercise 1: `clip_grad_norm` (3 points)
#
# Write the total-norm clipping of `torch.nn.utils.clip_grad_norm_`. It must
# change the gradients **in place** (the optimizer reads `p.grad`, not your
# return value) and return the total norm measured *before* clipping. Two
# traps: `parameters` may be a generator such as `model.parameters()`, which
# can be iterated only once, and parameters without a gradient (frozen, or
# unused by the loss) have `p.grad is None` and must be skipped. You may use
# `torch.linalg.vector_norm`, but not the clipping utilities of
# `torch.nn.utils`.

# %% grade_id="ch16-clip-grad-norm"
def clip_grad_norm(parameters, max_norm):
    """Scale the gradients in place so that their total L2 norm is at most max_norm.

    Args:
        parameters: a tensor, or an iterable of tensors (a list, or a
            generator such as ``model.parameters()``, which can be iterated
            only once). Tensors whose ``.grad`` is None are skipped.
        max_norm: a positive float, the threshold c.

    Returns:
        The total norm before clipping, sqrt of the sum of the squares of
        every entry of every gradient: a tensor of shape () with the dtype and
        device of the gradients (all gradients share one dtype and device).
        If no tensor has a gradient, ``torch.tensor(0.0)`` and nothing
        changes.

    Side effect: when total_norm + 1e-6 > max_norm, every gradient is
    multiplied in place by max_norm / (total_norm + 1e-6); otherwise the
    gradients are left as they are (never scaled up). The parameters' values
    are not touched.

    Raises:
        ValueError: if max_norm <= 0.

    Do not call torch.nn.utils.clip_grad_norm_, clip_grad_norm,
    clip_grads_with_norm_, get_total_norm or clip_grad_value_.
    """
    ### BEGIN SOLUTION
    if max_norm <= 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]  # one pass only
    if not grads:
        return torch.tensor(0.0)
    total = torch.sqrt(sum((g.detach() ** 2).sum() for g in grads))
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for g in grads:
            g.mul_(scale)  # in place: p.grad is this very tensor
    return total
    ### END SOLUTION


# %%
# Try it: a gradient of length 5 clipped to length 1, direction kept
demo_param = torch.zeros(2, requires_grad=True)
demo_param.grad = torch.tensor([3.0, 4.0])
print("norm before:", clip_grad_norm([demo_param], 1.0).item(),
      "| gradient after:", demo_param.grad)

# %% grade_id="ch16-clip-grad-norm-tests" points=3
"""clip_grad_norm: equals torch.nn.utils.clip_grad_norm_ (returned norm and
gradients) on a model's parameters given as a generator, in float64 on
`device`; a gradient below the threshold is left unchanged; a single tensor;
parameters without a gradient are skipped; no gradient at all gives 0;
ValueError for max_norm <= 0; the clipping utilities of torch.nn.utils are
forbidden.

Hidden tests: other models, thresholds and seeds, float32.
"""
banned_clip = ("torch.nn.utils.clip_grad_norm_", "torch.nn.utils.clip_grad_norm",
               "torch.nn.utils.clip_grads_with_norm_", "torch.nn.utils.get_total_norm",
               "torch.nn.utils.clip_grad_value_",
               "torch.nn.utils.clip_grad.clip_grad_norm_",
               "torch.nn.utils.clip_grad.clip_grad_norm",
               "torch.nn.utils.clip_grad._clip_grads_with_norm_",
               "torch.nn.utils.clip_grad._get_total_norm",
               "torch.nn.utils.clip_grad.clip_grad_value_")


def model_with_grads(sizes, seed, dtype, scale=1.0):
    """Two copies of an MLP on `device` with the same random gradients."""
    gen = torch.Generator().manual_seed(seed)
    layers = [nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    first = nn.Sequential(*layers).to(device, dtype)
    second = copy.deepcopy(first)  # a deep copy does not copy .grad
    for p, q in zip(first.parameters(), second.parameters(), strict=True):
        p.grad = (scale * torch.randn(p.shape, generator=gen, dtype=dtype)).to(device)
        q.grad = p.grad.clone()
    return first, second


def check_clip(sizes, seed, max_norm, dtype, scale=1.0, tol=1e-10):
    mine, ref = model_with_grads(sizes, seed, dtype, scale)
    with forbid(*banned_clip):
        got = clip_grad_norm(mine.parameters(), max_norm)  # a generator
    want = torch.nn.utils.clip_grad_norm_(ref.parameters(), max_norm)
    what = f"clip_grad_norm(MLP {sizes}, max_norm={max_norm}, {dtype})"
    assert isinstance(got, torch.Tensor), f"{what}: expected a tensor, got {got!r}"
    assert_close(got, want, rtol=tol, atol=tol, name=f"{what}: returned norm")
    assert got.device == want.device, f"{what}: norm on {got.device}, not {device}"
    for (name, p), q in zip(mine.named_parameters(), ref.parameters(), strict=True):
        assert_close(p.grad, q.grad, rtol=tol, atol=tol, name=f"{what}: {name}.grad")
        assert_close(p, q, rtol=0, atol=0, name=f"{what}: parameter {name} itself")
    return got.item()


# by hand: a gradient (3, 4) has length 5; clipped to 1 it becomes (0.6, 0.8)
p = torch.zeros(2, dtype=torch.float64, requires_grad=True)
p.grad = torch.tensor([3.0, 4.0], dtype=torch.float64)
with forbid(*banned_clip):
    norm = clip_grad_norm(p, 1.0)  # a single tensor
assert_close(norm, torch.tensor(5.0, dtype=torch.float64), name="norm of (3, 4)")
assert_close(p.grad, torch.tensor([0.6, 0.8], dtype=torch.float64), rtol=1e-6,
             atol=1e-7, name="(3, 4) clipped to 1, in place in p.grad")
norm = check_clip([5, 3, 2], seed=0, max_norm=1.0, dtype=torch.float64)
assert norm > 1.0, "this test needs a gradient longer than the threshold"
norm = check_clip([4, 6, 3], seed=1, max_norm=100.0, dtype=torch.float64)
assert norm < 100.0, "this test needs a gradient shorter than the threshold"
check_clip([4, 3], seed=3, max_norm=0.5, dtype=torch.float32, tol=1e-5)  # float32
# a frozen layer: its parameters have no gradient
frozen, frozen_ref = model_with_grads([3, 4, 2], 2, torch.float64)
for net in (frozen, frozen_ref):
    net[0].weight.grad = None
with forbid(*banned_clip):
    got = clip_grad_norm(list(frozen.parameters()), 0.5)
want = torch.nn.utils.clip_grad_norm_(list(frozen_ref.parameters()), 0.5)
assert_close(got, want, rtol=1e-10, atol=1e-10, name="norm with a frozen layer")
assert frozen[0].weight.grad is None, "a missing gradient must stay None"
assert_close(frozen[1].weight.grad, frozen_ref[1].weight.grad, rtol=1e-10,
             atol=1e-10, name="gradient next to a frozen layer")
gradless = nn.Linear(3, 2)
assert_close(clip_grad_norm(gradless.parameters(), 1.0), torch.tensor(0.0),
             name="clip_grad_norm with no gradient at all")
expect_raises(ValueError, clip_grad_norm, [p], 0.0, name="clip_grad_norm(max_norm=0)")
expect_raises(ValueError, clip_grad_norm, [p], -1.0,
              name="clip_grad_norm(max_norm=-1)")
### BEGIN HIDDEN TESTS
for _sizes, _seed, _c, _scale in [([7, 5, 3], 10, 0.3, 1.0), ([2, 9], 11, 2.5, 0.01),
                                  ([6, 1, 4, 5], 12, 1.0, 30.0),
                                  ([3, 3], 13, 1e3, 1.0)]:
    check_clip(_sizes, _seed, _c, torch.float64, _scale)
    check_clip(_sizes, _seed, _c, torch.float32, _scale, tol=1e-5)
_p = torch.zeros(3, 2, dtype=torch.float64, device=device, requires_grad=True)
_p.grad = torch.full((3, 2), 2.0, dtype=torch.float64, device=device)
_n = clip_grad_norm((t for t in [_p]), 1e-3)
assert_close(_n, torch.tensor(24.0, dtype=torch.float64).sqrt(), rtol=1e-12,
             atol=1e-12, name="norm of a (3, 2) gradient of 2s")
assert_close(_p.grad.abs().sum() ** 2 / 6, torch.tensor(1e-6, dtype=torch.float64),
             rtol=1e-5, atol=0, name="squared length after clipping to 1e-3")
### END HIDDEN TESTS

# %% [markdown]
# The picture below shows what clipping does to the first steps of training a
# fresh network on digits with plain SGD: the norm measured at every step
# (the value `clip_grad_norm` returns) against a threshold of 0.5. Steps above
# the line were shortened to its length; the others ran as they were. Here
# the norm grows as the network leaves its small initial weights; with a
# threshold far above the usual norms, clipping would only act on rare spikes,
# which is how it is normally tuned.

# %%
X_digits, y_digits = load_digits()  # (1797, 64) in [0, 1], labels (1797,)
set_seed(0)
clip_model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)).to(device)
clip_optimizer = torch.optim.SGD(clip_model.parameters(), lr=0.5)
clip_norms = []
for start in range(0, 640, 32):  # 20 steps on batches of 32
    xb = X_digits[start:start + 32].to(device)
    yb = y_digits[start:start + 32].to(device)
    clip_optimizer.zero_grad()
    F.cross_entropy(clip_model(xb), yb).backward()
    clip_norms.append(clip_grad_norm(clip_model.parameters(), 0.5).item())
    clip_optimizer.step()
fig, ax = plt.subplots(figsize=(6, 3.2))
ax.plot(clip_norms, "o-", label="total gradient norm before clipping")
ax.axhline(0.5, color="tab:red", ls="--", label="max_norm = 0.5")
ax.set_xlabel("step")
ax.set_ylabel("$\\|g\\|_2$")
ax.set_title("Gradient norm per step (SGD, lr 0.5, digits)")
ax.legend()
plt.show()
print(f"{sum(n > 0.5 for n in clip_norms)} of {len(clip_norms)} steps were clipped")

# %% [markdown]
# ## 16.3 One epoch of training, one honest evaluation
#
# The two functions below are the core of every training script. Written once
# and tested, they let the rest of the chapter (and your projects) stop
# worrying about the details.
#
# ### Exercise 2: `train_one_epoch` (3 points)
#
# One pass over `loader` with the five steps of section 16.1 for every batch,
# in training mode, with optional clipping between the backward pass and the
# step. Return the epoch's mean loss weighted by batch size. For the clipping
# you may call `torch.nn.utils.clip_grad_norm_` or your `clip_grad_norm`.

# %% grade_id="ch16-train-one-epoch"
def train_one_epoch(model, loader, loss_fn, optimizer, device, max_grad_norm=None):
    """Train ``model`` for one pass over ``loader``; return the mean training loss.

    B is the size of a batch (the last batch may be smaller).

    Args:
        model: an ``nn.Module`` already on ``device``.
        loader: an iterable of ``(inputs, targets)`` pairs (a DataLoader, or a
            list of pairs), iterated exactly once; inputs have B rows (shape
            (B, ...)), targets have B entries. They may live on the CPU.
        loss_fn: a function ``loss_fn(outputs, targets)`` returning the mean
            loss over the batch as a tensor of shape ().
        optimizer: a ``torch.optim`` optimizer over the model's parameters.
        device: where to move each batch (inputs and targets) with ``.to``.
        max_grad_norm: None, or a positive float: then the total gradient norm
            is clipped to it (as ``torch.nn.utils.clip_grad_norm_`` does) after
            the backward pass and before the step.

    The model is put in training mode. For every batch, in order: move it to
    ``device``, zero the gradients (gradients left over from before must not
    count), forward, loss, backward, clip if asked, one optimizer step.

    Returns:
        A Python float: sum over batches of B * (batch loss) divided by the
        number of examples, the batch losses being those computed before each
        step.

    Raises:
        ValueError: if the loader yields no batch.
    """
    ### BEGIN SOLUTION
    model.train()
    total, count = 0.0, 0
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        total += loss.item() * len(inputs)  # the batch mean, weighted by its size
        count += len(inputs)
    if count == 0:
        raise ValueError("the loader yielded no batch")
    return total / count
    ### END SOLUTION


# %%
# Try it: logistic regression on 10 points in batches of 4, 4 and 2
demo_x = torch.randn(10, 3)
demo_y = (demo_x[:, 0] > 0).long()
demo_model = nn.Linear(3, 2).to(device)
demo_loader = DataLoader(TensorDataset(demo_x, demo_y), batch_size=4)
demo_optimizer = torch.optim.SGD(demo_model.parameters(), lr=0.1)
for epoch in range(3):
    demo_loss = train_one_epoch(demo_model, demo_loader, F.cross_entropy,
                                demo_optimizer, device)
    print(f"epoch {epoch}: mean training loss {demo_loss:.4f}")

# %% grade_id="ch16-train-one-epoch-tests" points=3
"""train_one_epoch: the same parameters and mean loss as a reference loop
(float64 on `device`, SGD and Adam, a short last batch, a DataLoader or a list
of pairs, batch 1); training mode is switched on; gradients left over from
before are not used; max_grad_norm clips like clip_grad_norm_; ValueError on an
empty loader.

Hidden tests: other models, sizes, optimizers, thresholds and seeds.
"""


class ModeProbe(nn.Module):
    """An MLP that records, at each forward call, the mode and autograd state."""

    def __init__(self, d_in, d_hidden, d_out, dropout=0.0):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_in, d_hidden), nn.Tanh(),
                                 nn.Dropout(dropout), nn.Linear(d_hidden, d_out))
        self.calls = []  # (training, grad enabled, input device) per call

    def forward(self, x):
        self.calls.append((self.training, torch.is_grad_enabled(), x.device))
        return self.net(x)


def make_task(n, d_in, n_classes, seed):
    """n random float64 examples on the CPU with integer class targets."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d_in, generator=gen, dtype=torch.float64)
    y = torch.randint(0, n_classes, (n,), generator=gen)
    return x, y


def reference_epoch(model, pairs, loss_fn, optimizer, max_grad_norm=None):
    model.train()
    total, count = 0.0, 0
    for xb, yb in pairs:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        total += loss.item() * len(xb)
        count += len(xb)
    return total / count


def check_epoch(n, sizes, batch, make_opt, seed, max_grad_norm=None, as_list=False,
                tol=1e-10):
    x, y = make_task(n, sizes[0], sizes[2], seed)
    torch.manual_seed(seed)
    mine = ModeProbe(*sizes).to(device, torch.float64)
    ref = copy.deepcopy(mine)
    for net in (mine, ref):  # stale gradients that must not count
        for q in net.parameters():
            q.grad = torch.ones_like(q)
    mine.eval()
    opt_mine, opt_ref = make_opt(mine.parameters()), make_opt(ref.parameters())
    loader = DataLoader(TensorDataset(x, y), batch_size=batch)
    pairs = list(loader)
    what = (f"train_one_epoch({n} examples in batches of {batch}, "
            f"{type(opt_mine).__name__}, max_grad_norm={max_grad_norm})")
    for epoch in range(2):
        got = train_one_epoch(mine, pairs if as_list else loader, F.cross_entropy,
                              opt_mine, device, max_grad_norm)
        want = reference_epoch(ref, pairs, F.cross_entropy, opt_ref, max_grad_norm)
        assert isinstance(got, float), f"{what}: expected a float, got {got!r}"
        assert_close(got, want, rtol=tol, atol=tol,
                     name=f"{what}: mean loss of epoch {epoch + 1}")
        for (name, p), q in zip(mine.named_parameters(), ref.parameters(),
                                strict=True):
            assert_close(p, q, rtol=tol, atol=tol,
                         name=f"{what}: {name} after epoch {epoch + 1}")
    assert mine.calls and all(t for t, _, _ in mine.calls), (
        f"{what}: the model was called in evaluation mode (call model.train())")
    assert all(d == next(mine.parameters()).device for _, _, d in mine.calls), (
        f"{what}: a batch was not moved to the device")


# by hand: one SGD step on w with loss (w x - y)^2, x = 2, y = 1, w = 0:
# loss 1, gradient 2 (w x - y) x = -4, w becomes 0 - 0.1 * (-4) = 0.4
w_model = nn.Linear(1, 1, bias=False).to(device, torch.float64)
nn.init.zeros_(w_model.weight)
w_model.weight.grad = torch.full_like(w_model.weight, 100.0)  # stale
w_optimizer = torch.optim.SGD(w_model.parameters(), lr=0.1)
one_pair = [(torch.tensor([[2.0]], dtype=torch.float64),
             torch.tensor([[1.0]], dtype=torch.float64))]
w_loss = train_one_epoch(w_model, one_pair, F.mse_loss, w_optimizer, device)
assert_close(w_loss, 1.0, name="loss of the one-step example")
assert_close(w_model.weight.item(), 0.4, rtol=1e-12, atol=1e-12,
             name="w after the step (a stale gradient was used?)")
# batches of 4, 4, 2 weighted by size; DataLoader; SGD with momentum
check_epoch(10, (3, 5, 2), 4, lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
            seed=0)
check_epoch(7, (4, 3, 3), 1, lambda ps: torch.optim.Adam(ps, lr=0.01), seed=1,
            as_list=True)  # batch 1, a list of pairs
check_epoch(9, (2, 6, 4), 5, lambda ps: torch.optim.SGD(ps, lr=0.5), seed=2,
            max_grad_norm=0.05)  # clipping active
expect_raises(ValueError, train_one_epoch, w_model, [], F.mse_loss, w_optimizer,
              device, name="train_one_epoch on an empty loader")
### BEGIN HIDDEN TESTS
for _args in [(23, (5, 7, 3), 6, lambda ps: torch.optim.AdamW(ps, lr=0.02), 20),
              (13, (3, 2, 5), 13, lambda ps: torch.optim.SGD(ps, lr=0.3), 21),
              (11, (6, 4, 2), 3, lambda ps: torch.optim.RMSprop(ps, lr=0.01), 22)]:
    check_epoch(*_args)
    check_epoch(*_args, max_grad_norm=0.1, as_list=True)
check_epoch(17, (4, 9, 3), 5, lambda ps: torch.optim.SGD(ps, lr=0.2, momentum=0.5),
            seed=23, max_grad_norm=1e-3)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3: `evaluate` (3 points)
#
# Measure the mean loss and the accuracy of a classifier over `loader`, in
# evaluation mode and without recording gradients. Both figures are
# per-example means (weighted by batch size). The accuracy is the fraction of
# examples whose largest logit sits at the target class:
#
# $$\text{accuracy} = \frac{1}{N} \sum_{i=1}^N \mathbb{1}\big[\arg\max_c\,
#   z_{i,c} = y_i\big].$$

# %% grade_id="ch16-evaluate"
def evaluate(model, loader, loss_fn, device):
    """Mean loss and accuracy of a classifier over ``loader``, in evaluation mode.

    B is the size of a batch (the last may be smaller), C the number of
    classes.

    Args:
        model: an ``nn.Module`` on ``device`` that maps inputs (B, ...) to
            logits of shape (B, C).
        loader: an iterable of ``(inputs, targets)`` pairs, iterated exactly
            once; targets are int64 class indices of shape (B,). They may live
            on the CPU.
        loss_fn: ``loss_fn(outputs, targets)`` -> mean loss over the batch, a
            tensor of shape ().
        device: where to move each batch (inputs and targets).

    The model is put in evaluation mode (and left in it), and the forward
    passes run without recording gradients (under ``torch.no_grad()`` or
    ``torch.inference_mode()``). The parameters and their ``.grad`` are not
    changed.

    Returns:
        ``(mean_loss, accuracy)``, two Python floats: the sum over batches of
        B * (batch loss) divided by the number of examples, and the fraction
        of examples whose argmax over the C logits equals the target.

    Raises:
        ValueError: if the loader yields no batch.
    """
    ### BEGIN SOLUTION
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            outputs = model(inputs)
            total_loss += loss_fn(outputs, targets).item() * len(targets)
            correct += (outputs.argmax(dim=1) == targets).sum().item()
            count += len(targets)
    if count == 0:
        raise ValueError("the loader yielded no batch")
    return total_loss / count, correct / count
    ### END SOLUTION


# %%
# Try it: the little model trained above, on its own training data
print("loss, accuracy:", evaluate(demo_model, demo_loader, F.cross_entropy, device))

# %% grade_id="ch16-evaluate-tests" points=3
"""evaluate: an example by hand; mean loss and accuracy weighted by batch size
equal those over the whole set at once (float64 on `device`, a short last
batch, batch 1, a DataLoader or a list); evaluation mode with dropout (the
result does not change between calls); no gradients recorded; parameters and
their gradients unchanged; ValueError on an empty loader.

Hidden tests: other models, sizes and seeds.
"""


def check_evaluate(n, sizes, batch, seed, dropout=0.5, as_list=False):
    x, y = make_task(n, sizes[0], sizes[2], seed)
    torch.manual_seed(seed)
    model = ModeProbe(*sizes, dropout=dropout).to(device, torch.float64)
    model.train()  # evaluate must switch to eval mode itself
    for q in model.parameters():
        q.grad = torch.full_like(q, 0.5)
    before = copy.deepcopy(model)  # without the .grad (a deep copy drops it)
    grads_before = [q.grad.clone() for q in model.parameters()]
    loader = DataLoader(TensorDataset(x, y), batch_size=batch)
    what = f"evaluate({n} examples in batches of {batch})"
    got = evaluate(model, list(loader) if as_list else loader, F.cross_entropy,
                   device)
    assert isinstance(got, tuple) and len(got) == 2, (
        f"{what}: expected a tuple (mean_loss, accuracy), got {got!r}")
    assert all(isinstance(v, float) for v in got), f"{what}: expected floats: {got}"
    with torch.no_grad():
        logits = before.eval().net(x.to(device))
    want_loss = F.cross_entropy(logits, y.to(device)).item()
    want_acc = (logits.argmax(1) == y.to(device)).double().mean().item()
    assert_close(got[0], want_loss, rtol=1e-10, atol=1e-12, name=f"{what}: mean loss")
    assert_close(got[1], want_acc, rtol=1e-12, atol=1e-12, name=f"{what}: accuracy")
    assert not model.training, f"{what}: the model was left in training mode"
    assert model.calls and not any(t for t, _, _ in model.calls), (
        f"{what}: a forward pass ran in training mode (call model.eval())")
    assert not any(g for _, g, _ in model.calls), (
        f"{what}: a forward pass recorded gradients (use torch.no_grad())")
    for (name, p), q, g in zip(model.named_parameters(), before.parameters(),
                               grads_before, strict=True):
        assert p.grad is not None and torch.equal(p, q) and torch.equal(p.grad, g), (
            f"{what}: parameter {name} or its gradient was changed")
    return got


# by hand: logits for 3 examples, targets 0, 1, 1: the first two are right
hand_logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 1.0]], dtype=torch.float64)
hand_model = nn.Identity()
hand_pairs = [(hand_logits[:2], torch.tensor([0, 1])),
              (hand_logits[2:], torch.tensor([1]))]
hand_loss, hand_acc = evaluate(hand_model, hand_pairs, F.cross_entropy, device)
assert_close(hand_acc, 2 / 3, rtol=1e-12, atol=1e-12,
             name="accuracy of the example by hand (weighted by batch size)")
assert_close(hand_loss, F.cross_entropy(hand_logits, torch.tensor([0, 1, 1])).item(),
             rtol=1e-12, atol=1e-12, name="mean loss of the example by hand")
check_evaluate(10, (3, 8, 4), 4, seed=0)  # batches 4, 4, 2 and dropout 0.5
check_evaluate(5, (2, 3, 3), 1, seed=1, as_list=True)  # batch 1, a list
expect_raises(ValueError, evaluate, hand_model, [], F.cross_entropy, device,
              name="evaluate on an empty loader")
### BEGIN HIDDEN TESTS
for _args in [(29, (5, 7, 3), 8, 30), (13, (3, 4, 6), 13, 31), (11, (7, 2, 2), 3, 32)]:
    check_evaluate(*_args)
    check_evaluate(*_args, dropout=0.9, as_list=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 16.4 Learning-rate schedules
#
# A large learning rate makes fast progress early and then bounces around the
# bottom of the valley; a small one settles but crawls. A **schedule** starts
# large and ends small. Three families cover most practice:
#
# - **step decay**: multiply the rate by $\gamma$ (say 0.1) every $k$ epochs
#   (`StepLR`), or at chosen epochs (`MultiStepLR`): the classic recipe for
#   ResNets;
# - **cosine annealing** (Loshchilov and Hutter 2017): over $T$ epochs, the
#   rate follows half a cosine from $\eta_{\max}$ down to $\eta_{\min}$,
#
#   $$\eta_t = \eta_{\min} + \frac{\eta_{\max} - \eta_{\min}}{2}
#     \Big(1 + \cos\frac{\pi t}{T}\Big), \qquad t = 0, 1, \dots, T,$$
#
#   which stays high for a long time, then falls smoothly: no epoch at which
#   the loss curve jumps, one hyperparameter fewer than step decay. With a
#   short linear **warm-up** in front (chapter 24) it is the default for
#   transformers;
# - **ReduceLROnPlateau**: no fixed plan; divide the rate by a factor when the
#   validation loss has not improved for `patience` epochs. It adapts to the
#   run, at the price of a rate that depends on noisy measurements.
#
# A scheduler wraps an optimizer and changes `param_groups[i]["lr"]` each time
# you call `scheduler.step()`: once per epoch after the epoch's updates for
# the epoch-based schedules above (or once per batch if you build it with the
# number of batches), and `scheduler.step(val_loss)` for `ReduceLROnPlateau`.
#
# ### Exercise 4: `cosine_lr` (2 points)
#
# Write the closed form above. The tests compare it with the rate that
# `torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=num_epochs,
# eta_min=lr_min)` sets after `epoch` calls to `step()`; do not build that
# scheduler (or another) to read the answer off it.

# %% grade_id="ch16-cosine-lr"
def cosine_lr(epoch, num_epochs, lr_max, lr_min=0.0):
    """The cosine-annealed learning rate at ``epoch``.

    Args:
        epoch: an int t with 0 <= t <= num_epochs (t = 0 is the first epoch).
        num_epochs: an int T >= 1, the length of the half cosine.
        lr_max: the rate at t = 0 (a float).
        lr_min: the rate at t = T (a float, default 0).

    Returns:
        A Python float, lr_min + (lr_max - lr_min) * (1 + cos(pi t / T)) / 2.

    Raises:
        ValueError: if num_epochs < 1 or epoch is outside [0, num_epochs].

    Do not build a scheduler of torch.optim.lr_scheduler.
    """
    ### BEGIN SOLUTION
    if num_epochs < 1 or not 0 <= epoch <= num_epochs:
        raise ValueError(f"need 0 <= epoch <= num_epochs and num_epochs >= 1, got "
                         f"epoch={epoch}, num_epochs={num_epochs}")
    return lr_min + (lr_max - lr_min) * (1 + math.cos(math.pi * epoch / num_epochs)) / 2
    ### END SOLUTION


# %%
# Try it
print([round(cosine_lr(t, 4, 1.0), 4) for t in range(5)])

# %% grade_id="ch16-cosine-lr-tests" points=2
"""cosine_lr: values by hand; equals CosineAnnealingLR over a whole schedule
(with and without lr_min); returns a float; ValueError outside [0, T] and for
T < 1; no scheduler may be built.

Hidden tests: other lengths and rates.
"""
banned_schedulers = tuple(
    f"torch.optim.lr_scheduler.{name}"
    for name in ("CosineAnnealingLR", "CosineAnnealingWarmRestarts", "LambdaLR",
                 "OneCycleLR", "SequentialLR", "ChainedScheduler", "LRScheduler",
                 "PolynomialLR", "MultiplicativeLR"))


def torch_cosine_rates(num_epochs, lr_max, lr_min):
    """The rates CosineAnnealingLR sets at t = 0, ..., num_epochs."""
    weight = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([weight], lr=lr_max)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=num_epochs, eta_min=lr_min)
    rates = []
    for _ in range(num_epochs + 1):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    return rates


def check_cosine(num_epochs, lr_max, lr_min=None):
    kwargs = {} if lr_min is None else {"lr_min": lr_min}
    want = torch_cosine_rates(num_epochs, lr_max, lr_min or 0.0)
    for t, rate in enumerate(want):
        with forbid(*banned_schedulers):
            got = cosine_lr(t, num_epochs, lr_max, **kwargs)
        assert isinstance(got, float), f"cosine_lr({t}, ...) returned {got!r}"
        assert_close(got, rate, rtol=1e-9, atol=1e-12,
                     name=f"cosine_lr({t}, {num_epochs}, {lr_max}, {kwargs})")


with forbid(*banned_schedulers):
    assert_close(cosine_lr(0, 10, 0.1), 0.1, name="cosine_lr(0, 10, 0.1)")
    assert_close(cosine_lr(5, 10, 0.1), 0.05, name="cosine_lr(5, 10, 0.1), halfway")
    assert_close(cosine_lr(10, 10, 0.1, 0.02), 0.02, atol=1e-12,
                 name="cosine_lr(10, 10, 0.1, lr_min=0.02), the end")
    assert_close(cosine_lr(1, 3, 1.0), 0.75, name="cosine_lr(1, 3, 1.0)")
check_cosine(7, 0.3)
check_cosine(12, 2e-3, 1e-4)
check_cosine(1, 1.0, 0.5)
for bad in [(-1, 5), (6, 5), (0, 0)]:
    expect_raises(ValueError, cosine_lr, *bad, 0.1, name=f"cosine_lr{bad + (0.1,)}")
### BEGIN HIDDEN TESTS
for _args in [(3, 0.5), (25, 1e-3, 1e-5), (100, 0.07, 0.0), (2, 3.0, 2.5)]:
    check_cosine(*_args)
expect_raises(ValueError, cosine_lr, 4, 3, 0.1, name="cosine_lr(4, 3, 0.1)")
### END HIDDEN TESTS

# %% [markdown]
# The plot compares the three families over 30 epochs with the same starting
# rate. `ReduceLROnPlateau` needs validation losses; here it gets a made-up
# sequence that improves for ten epochs and then stalls, so it halves the
# rate each time the count of epochs without a new best *exceeds*
# `patience = 3`, that is at every fourth stalled epoch. (Early stopping in
# section 16.5 counts the other way round: it stops when the count *reaches*
# its patience. Read the documentation of each tool for this off-by-one.)
#
# `ReduceLROnPlateau` used to take a `verbose=True` argument that printed each
# reduction. It was deprecated in PyTorch 2.2 and has since been removed:
# passing it now raises a `TypeError`. Read the rate yourself, from
# `optimizer.param_groups[0]["lr"]` or `scheduler.get_last_lr()`, and log it
# with everything else, as the cell does.

# %%
def schedule_curve(make_schedule, num_epochs, val_losses=None):
    """The learning rate of each epoch under a scheduler (lr 0.1 at the start)."""
    weight = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([weight], lr=0.1)
    schedule = make_schedule(optimizer)
    rates = []
    for epoch in range(num_epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if val_losses is None:
            schedule.step()
        else:
            schedule.step(val_losses[epoch])
    return rates


plateau_losses = [1.0 / (1 + e) if e < 10 else 0.1 for e in range(30)]
curves = {
    "StepLR(step 10, gamma 0.1)": schedule_curve(
        lambda o: torch.optim.lr_scheduler.StepLR(o, 10, 0.1), 30),
    "CosineAnnealingLR(T 30)": schedule_curve(
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 30), 30),
    "ReduceLROnPlateau(factor 0.5, patience 3)": schedule_curve(
        lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, factor=0.5,
                                                             patience=3),
        30, plateau_losses),
}
fig, ax = plt.subplots(figsize=(6.5, 3.4))
plot_curves(curves, xlabel="epoch", ylabel="learning rate", ax=ax)
ax.set_title("Three learning-rate schedules")
plt.show()
plateau_rates = curves["ReduceLROnPlateau(factor 0.5, patience 3)"]
for epoch in range(1, 30):
    if plateau_rates[epoch] != plateau_rates[epoch - 1]:
        print(f"ReduceLROnPlateau: lr {plateau_rates[epoch - 1]:g} -> "
              f"{plateau_rates[epoch]:g} at epoch {epoch}")
try:
    torch.optim.lr_scheduler.ReduceLROnPlateau(
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1), verbose=True)
except TypeError as err:
    print("ReduceLROnPlateau(verbose=True) ->", type(err).__name__)

# %% [markdown]
# ## 16.5 Early stopping, and keeping the best model
#
# Train long enough and a model starts to learn the noise of its training
# set: the training loss keeps falling while the validation loss turns up.
# **Early stopping** watches the validation loss after every epoch and stops
# when it has not improved for `patience` epochs in a row; then it **restores
# the weights of the best epoch**, not the last ones, which are by definition
# `patience` epochs past the best.
#
# Precisely, with $v_e$ the validation loss after epoch $e$ (counting from 0),
# the best so far is $b_e = \min(v_0, \dots, v_e)$. Epoch $e$ improves when
# $v_e < b_{e-1}$ (strictly: a tie is no improvement, and the earlier epoch
# stays the best). A counter of epochs without improvement goes back to 0 at
# each improvement; training stops at the end of the epoch at which the
# counter reaches `patience`. Patience is a trade-off: too small and a noisy
# bump stops a run that would still improve; too large and epochs are spent
# for nothing (section 16.6 has a widget to see both).
#
# **The reference trap.** `model.state_dict()` returns a dictionary of
# references to the model's live tensors, not a copy. Saving
# `best = model.state_dict()` and reloading it later loads the *current*
# weights: the "best" state has been trained along with the model. Copy it:
# `copy.deepcopy(model.state_dict())`, or `{k: v.detach().clone() for k, v in
# ...}`. (`torch.save` to a file is a copy too, but a slow one.) The cell
# shows the trap.

# %%
trap_model = nn.Linear(2, 1)
reference = trap_model.state_dict()  # the trap
snapshot = copy.deepcopy(trap_model.state_dict())  # the fix
with torch.no_grad():
    trap_model.weight.add_(1.0)  # "training" moves the weights
print("weight now:           ", trap_model.weight.data)
print("'saved' by reference: ", reference["weight"])
print("saved by a deep copy: ", snapshot["weight"])
print("same storage as the live weight:",
      reference["weight"].data_ptr() == trap_model.weight.data_ptr())

# %% [markdown]
# ### Exercise 5: `fit` (4 points)
#
# Put everything together: a loop over epochs that trains, evaluates, records
# a history, steps a scheduler, stops early and restores the best weights. Use
# your `train_one_epoch` and `evaluate`; wrapping the epochs in
# `progress(range(num_epochs))` shows a progress bar (optional). The order
# inside an epoch matters for the tests and is spelled out in the docstring.
#
# The tests run your `fit` with correct versions of `train_one_epoch` and
# `evaluate` put in the place of yours (your function's code, with those two
# names pointing to the test's own), so a mistake in exercise 2 or 3 costs
# points there only, not a second time here. The cells of section 16.6 run
# your `fit` as it is, with your two functions.

# %% grade_id="ch16-fit"
def fit(model, train_loader, val_loader, loss_fn, optimizer, num_epochs, patience,
        device, scheduler=None, max_grad_norm=None):
    """Train with early stopping; restore the best weights; return the history.

    Args:
        model, loss_fn, optimizer, device, max_grad_norm: as for
            ``train_one_epoch`` (``max_grad_norm`` is passed on to it).
        train_loader, val_loader: iterables of ``(inputs, targets)`` batches,
            for ``train_one_epoch`` and ``evaluate`` respectively.
        num_epochs: an int >= 1, the largest number of epochs.
        patience: an int >= 1 (see below).
        scheduler: None, a ``torch.optim.lr_scheduler.ReduceLROnPlateau``, or
            any other learning-rate scheduler of ``optimizer``.

    Each epoch e = 0, 1, ... does, in this order and nothing else:
      1. read the learning rate ``optimizer.param_groups[0]["lr"]``;
      2. one ``train_one_epoch`` over ``train_loader``;
      3. one ``evaluate`` over ``val_loader`` -> (val_loss, val_accuracy);
      4. append the four numbers to the history;
      5. step the scheduler, if any: ``scheduler.step(val_loss)`` for
         ReduceLROnPlateau, ``scheduler.step()`` for the others;
      6. early stopping: if val_loss is strictly lower than every earlier
         val_loss (always true at e = 0), remember e as the best epoch, keep
         a *copy* of ``model.state_dict()`` and reset the counter to 0;
         otherwise add 1 to the counter and stop training if it equals
         ``patience``.
    Training also ends after ``num_epochs`` epochs. At the end (stopped early
    or not) the model's state is set back to the copy of the best epoch.

    Returns:
        history, a dict with keys "train_loss", "val_loss", "val_accuracy" and
        "lr" (lists of Python floats, one entry per epoch run, in order) and
        "best_epoch" (an int, the index of the best epoch in those lists).

    Raises:
        ValueError: if num_epochs < 1 or patience < 1.
    """
    ### BEGIN SOLUTION
    if num_epochs < 1 or patience < 1:
        raise ValueError(f"num_epochs and patience must be >= 1, got {num_epochs} "
                         f"and {patience}")
    history = {"train_loss": [], "val_loss": [], "val_accuracy": [], "lr": []}
    best_loss, best_epoch, best_state, waited = math.inf, 0, None, 0
    for epoch in progress(range(num_epochs), desc="epochs"):
        history["lr"].append(optimizer.param_groups[0]["lr"])
        history["train_loss"].append(train_one_epoch(
            model, train_loader, loss_fn, optimizer, device, max_grad_norm))
        val_loss, val_accuracy = evaluate(model, val_loader, loss_fn, device)
        history["val_loss"].append(val_loss)
        history["val_accuracy"].append(val_accuracy)
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(val_loss)
        elif scheduler is not None:
            scheduler.step()
        if best_state is None or val_loss < best_loss:
            best_loss, best_epoch, waited = val_loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())  # a copy, not references
        else:
            waited += 1
            if waited == patience:
                break
    model.load_state_dict(best_state)
    history["best_epoch"] = best_epoch
    return history
    ### END SOLUTION


# %% grade_id="ch16-fit-tests" points=4
"""fit: with a scripted model whose validation losses are chosen in advance,
stops at the right epoch (ties are no improvement), restores the weights of
the best epoch (a copy, not a reference) and records the history; runs
num_epochs when patience is never exhausted; steps CosineAnnealingLR and
ReduceLROnPlateau as specified (the "lr" list); on a real model in float64 on
`device`, equals a reference loop with Adam, a cosine schedule and clipping;
ValueError for num_epochs < 1 or patience < 1. Your fit runs with the test's
own correct train_one_epoch and evaluate in place of yours (fit_under_test), so
only fit itself is tested here.

Hidden tests: other scripts, patiences and schedulers, another real model.
"""
import types


def fit_train_epoch(model, loader, loss_fn, optimizer, device, max_grad_norm=None):
    """A correct train_one_epoch, for the fit under test."""
    model.train()
    total, count = 0.0, 0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        total += loss.item() * len(xb)
        count += len(xb)
    return total / count


def fit_evaluate(model, loader, loss_fn, device):
    """A correct evaluate, for the fit under test."""
    model.eval()
    total, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            outputs = model(xb)
            total += loss_fn(outputs, yb).item() * len(yb)
            correct += (outputs.argmax(1) == yb).sum().item()
            count += len(yb)
    return total / count, correct / count


def fit_under_test():
    """Your fit's code, with train_one_epoch and evaluate bound to the two above.

    Nothing in the notebook is rebound: the copy gets a namespace of its own.
    """
    if not isinstance(fit, types.FunctionType):
        return fit  # not a plain function: tested as it is
    namespace = dict(fit.__globals__, train_one_epoch=fit_train_epoch,
                     evaluate=fit_evaluate)
    tested = types.FunctionType(fit.__code__, namespace, fit.__name__,
                                fit.__defaults__, fit.__closure__)
    tested.__kwdefaults__ = fit.__kwdefaults__
    return tested


class ScriptedModel(nn.Module):
    """One parameter w; in training the loss is -w, in evaluation it is scripted.

    Trained with SGD at learning rate lr, w grows by exactly lr per batch; the
    k-th evaluation batch (from 0) gets the loss val_losses[k]. Outputs have
    shape (B, 1), so the accuracy against class 0 is 1.
    """

    def __init__(self, val_losses):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1, dtype=torch.float64))
        self.val_losses = list(val_losses)
        self.w_seen = []  # w at each evaluation

    def forward(self, x):
        if self.training:
            return -x * self.w
        self.w_seen.append(self.w.item())
        value = self.val_losses[min(len(self.w_seen), len(self.val_losses)) - 1]
        return torch.full_like(x, value)


def scripted_loss(outputs, targets):
    return outputs.mean()


def run_scripted(val_losses, num_epochs, patience, make_schedule=None, lr=1.0):
    model = ScriptedModel(val_losses).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    schedule = None if make_schedule is None else make_schedule(optimizer)
    ones = torch.ones(3, 1, dtype=torch.float64)
    pairs = [(ones, torch.zeros(3, dtype=torch.int64))]
    history = fit_under_test()(model, pairs, pairs, scripted_loss, optimizer,
                               num_epochs, patience, device, scheduler=schedule)
    return model, history


def check_scripted(val_losses, num_epochs, patience, epochs_run, best_epoch,
                   make_schedule=None, want_lr=None):
    model, history = run_scripted(val_losses, num_epochs, patience, make_schedule)
    what = f"fit(validation losses {val_losses}, patience={patience})"
    assert isinstance(history, dict), f"{what}: expected a dict, got {history!r}"
    keys = {"train_loss", "val_loss", "val_accuracy", "lr", "best_epoch"}
    assert set(history) == keys, f"{what}: history keys {sorted(history)}, " \
                                 f"expected {sorted(keys)}"
    assert len(history["val_loss"]) == epochs_run, (
        f"{what}: expected to run {epochs_run} epochs, ran "
        f"{len(history['val_loss'])}")
    for key in ("train_loss", "val_loss", "val_accuracy", "lr"):
        assert len(history[key]) == epochs_run, f"{what}: {key} has the wrong length"
        assert all(isinstance(v, float) for v in history[key]), (
            f"{what}: {key} holds {history[key]}, not Python floats")
    assert_close(history["val_loss"], val_losses[:epochs_run], name=f"{what} val_loss")
    assert_close(history["val_accuracy"], [1.0] * epochs_run,
                 name=f"{what} val_accuracy")
    assert history["best_epoch"] == best_epoch, (
        f"{what}: expected best_epoch {best_epoch}, got {history['best_epoch']}")
    assert_close(model.w.item(), model.w_seen[best_epoch], rtol=1e-12, atol=1e-12,
                 name=f"{what}: w after fit (must be restored to the best epoch's)")
    assert_close(history["train_loss"], [-v for v in [0.0, *model.w_seen[:-1]]],
                 rtol=1e-12, atol=1e-12, name=f"{what}: train_loss")
    if want_lr is not None:
        assert_close(history["lr"], want_lr[:epochs_run], rtol=1e-12, atol=1e-12,
                     name=f"{what}: lr")


def plateau_rates_for(val_losses, lr, **kwargs):
    """The rates ReduceLROnPlateau sets at the start of each epoch."""
    weight = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([weight], lr=lr)
    schedule = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, **kwargs)
    rates = []
    for v in val_losses:
        rates.append(optimizer.param_groups[0]["lr"])
        schedule.step(v)
    return rates


# best 4.0 at epoch 1, then worse twice: stops after epoch 3 with patience 2
check_scripted([5.0, 4.0, 4.5, 4.2, 1.0], 5, 2, epochs_run=4, best_epoch=1)
# a tie with the best (3.0 at epoch 4) is no improvement
check_scripted([5.0, 4.0, 4.5, 3.0, 3.0, 3.5, 0.5], 7, 2, epochs_run=6, best_epoch=3)
# patience never exhausted: all 6 epochs, the best one is restored
check_scripted([3.0, 2.0, 2.5, 1.5, 1.7, 1.6], 6, 3, epochs_run=6, best_epoch=3)
# patience 1 stops at the first epoch without improvement
check_scripted([2.0, 2.0, 0.1], 3, 1, epochs_run=2, best_epoch=0)
# schedulers: the lr used in each epoch
cos_losses = [4.0, 3.0, 2.0, 2.5, 1.0, 1.2, 1.1, 1.3]
check_scripted(cos_losses, 8, 10, epochs_run=8, best_epoch=4,
               make_schedule=lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 8),
               want_lr=[(1 + math.cos(math.pi * t / 8)) / 2 for t in range(8)])
plateau_losses_test = [3.0, 2.0, 2.5, 2.6, 2.7, 2.8, 1.0, 1.5]
check_scripted(plateau_losses_test, 8, 6, epochs_run=8, best_epoch=6,
               make_schedule=lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(
                   o, factor=0.5, patience=1),
               want_lr=plateau_rates_for(plateau_losses_test, 1.0, factor=0.5,
                                         patience=1))


def reference_fit(model, train_pairs, val_pairs, optimizer, scheduler, num_epochs,
                  patience, max_grad_norm):
    """fit written out with torch's own clipping, for comparison."""
    history = {"train_loss": [], "val_loss": [], "val_accuracy": [], "lr": []}
    best, best_epoch, best_state, waited = math.inf, 0, None, 0
    for epoch in range(num_epochs):
        history["lr"].append(optimizer.param_groups[0]["lr"])
        model.train()
        total = 0.0
        for xb, yb in train_pairs:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            optimizer.step()
            total += loss.item() * len(xb)
        history["train_loss"].append(total / sum(len(xb) for xb, _ in train_pairs))
        model.eval()
        with torch.no_grad():
            x_val = torch.cat([xb for xb, _ in val_pairs]).to(device)
            y_val = torch.cat([yb for _, yb in val_pairs]).to(device)
            logits = model(x_val)
            history["val_loss"].append(F.cross_entropy(logits, y_val).item())
            history["val_accuracy"].append(
                (logits.argmax(1) == y_val).double().mean().item())
        scheduler.step()
        if history["val_loss"][-1] < best:
            best, best_epoch, waited = history["val_loss"][-1], epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
            if waited == patience:
                break
    model.load_state_dict(best_state)
    history["best_epoch"] = best_epoch
    return history


def check_real_fit(n_train, n_val, sizes, batch, seed, num_epochs, patience,
                   max_grad_norm):
    x, y = make_task(n_train + n_val, sizes[0], sizes[2], seed)
    torch.manual_seed(seed)
    mine = ModeProbe(*sizes).to(device, torch.float64)
    ref = copy.deepcopy(mine)
    train_pairs = list(DataLoader(TensorDataset(x[:n_train], y[:n_train]),
                                  batch_size=batch))
    val_pairs = list(DataLoader(TensorDataset(x[n_train:], y[n_train:]),
                                batch_size=batch))
    runs = []
    for net, fn in ((mine, fit_under_test()), (ref, None)):
        optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, num_epochs)
        if fn is None:
            runs.append(reference_fit(net, train_pairs, val_pairs, optimizer,
                                      schedule, num_epochs, patience, max_grad_norm))
        else:
            runs.append(fn(net, train_pairs, val_pairs, F.cross_entropy, optimizer,
                           num_epochs, patience, device, scheduler=schedule,
                           max_grad_norm=max_grad_norm))
    got, want = runs
    what = f"fit on a real model (sizes {sizes}, patience {patience})"
    assert got["best_epoch"] == want["best_epoch"], (
        f"{what}: best_epoch {got['best_epoch']}, expected {want['best_epoch']}")
    for key in ("train_loss", "val_loss", "val_accuracy", "lr"):
        assert_close(got[key], want[key], rtol=1e-9, atol=1e-10,
                     name=f"{what}: history[{key!r}]")
    for (name, p), q in zip(mine.named_parameters(), ref.parameters(), strict=True):
        assert_close(p, q, rtol=1e-9, atol=1e-10, name=f"{what}: restored {name}")
    return got


real = check_real_fit(40, 31, (3, 16, 3), 8, seed=0, num_epochs=30, patience=3,
                      max_grad_norm=0.5)
assert len(real["val_loss"]) < 30, "this test needs a run that stops early"
expect_raises(ValueError, run_scripted, [1.0], 0, 2, name="fit(num_epochs=0)")
expect_raises(ValueError, run_scripted, [1.0], 3, 0, name="fit(patience=0)")
### BEGIN HIDDEN TESTS
check_scripted([9.0, 8.0, 8.0, 8.0, 7.0], 5, 2, epochs_run=4, best_epoch=1)
check_scripted([1.0, 2.0, 3.0, 1.0, 0.1], 5, 3, epochs_run=4, best_epoch=0)
check_scripted([6.0, 5.0, 4.0, 3.0, 2.0, 1.0], 4, 2, epochs_run=4, best_epoch=3)
check_scripted([2.0, 1.0, 1.5, 0.9, 0.95, 0.99, 0.92, 0.7], 8, 3, epochs_run=7,
               best_epoch=3)
check_scripted([5.0], 1, 1, epochs_run=1, best_epoch=0)
_steps = [3.0, 2.0, 1.0, 1.5, 0.5, 0.6, 0.7]
check_scripted(_steps, 7, 2, epochs_run=7, best_epoch=4,
               make_schedule=lambda o: torch.optim.lr_scheduler.StepLR(o, 2, 0.5),
               want_lr=[1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125])
_plat = [4.0, 4.0, 4.0, 3.0, 3.0, 3.0, 3.0]
check_scripted(_plat, 7, 5, epochs_run=7, best_epoch=3,
               make_schedule=lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(
                   o, factor=0.1, patience=0),
               want_lr=plateau_rates_for(_plat, 1.0, factor=0.1, patience=0))
check_real_fit(33, 17, (5, 9, 4), 7, seed=5, num_epochs=25, patience=2,
               max_grad_norm=0.2)
_ = check_real_fit(21, 1, (2, 5, 2), 1, seed=6, num_epochs=6, patience=6,
                   max_grad_norm=10.0)
### END HIDDEN TESTS

# %% [markdown]
# ## 16.6 Training a digit classifier with `fit`
#
# Now the whole toolbox on a real task: scikit-learn's 1,797 handwritten
# digits (8x8 pixels, flattened to 64 numbers). A quarter is set aside as the
# **test set**, touched once at the very end; a fifth of the rest is the
# **validation set**, which early stopping watches. Choosing the epoch by the
# test set would make the test figure optimistic: it would no longer measure
# data the training never influenced.
#
# The model is a small MLP with dropout, trained with AdamW (chapter 4), a
# cosine schedule over `NUM_EPOCHS` epochs, gradient clipping at 1 and a
# patience of 6. The training loader reshuffles every epoch; the validation
# and test loaders keep their order and never drop a batch. The bar: at least
# 95% accuracy on the test set, with the model that early stopping restored.
#
# The cell also draws the curves, the first thing to look at after any run.
# The training loss is measured while the weights move and with dropout on,
# the validation loss after the epoch in evaluation mode, which is why the
# validation loss can sit *below* the training loss early on; what matters is
# the trend of each and the gap between them.

# %%
X_rest, X_test, y_rest, y_test = train_test_split(X_digits, y_digits,
                                                  test_fraction=0.25, seed=0)
X_train, X_val, y_train, y_val = train_test_split(X_rest, y_rest,
                                                  test_fraction=0.2, seed=0)
print(f"train {len(X_train)}, validation {len(X_val)}, test {len(X_test)} digits")
val_loader = DataLoader(TensorDataset(X_val, y_val), batch_size=256)
test_loader = DataLoader(TensorDataset(X_test, y_test), batch_size=256)


def digits_mlp(hidden=128, dropout=0.2):
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Dropout(dropout),
                         nn.Linear(hidden, 10))


# %%
NUM_EPOCHS = 30  # the knob: more epochs (and a larger patience) on a GPU
PATIENCE = 6
set_seed(0)  # weights and the order of the batches
digits_model = digits_mlp().to(device)
train_loader = DataLoader(TensorDataset(X_train, y_train), batch_size=64,
                          shuffle=True)
digits_optimizer = torch.optim.AdamW(digits_model.parameters(), lr=3e-3,
                                     weight_decay=1e-2)
digits_schedule = torch.optim.lr_scheduler.CosineAnnealingLR(digits_optimizer,
                                                             NUM_EPOCHS)
start_time = time.perf_counter()
digits_history = fit(digits_model, train_loader, val_loader, F.cross_entropy,
                     digits_optimizer, NUM_EPOCHS, PATIENCE, device,
                     scheduler=digits_schedule, max_grad_norm=1.0)
elapsed = time.perf_counter() - start_time
best = digits_history["best_epoch"]
print(f"{len(digits_history['val_loss'])} epochs in {elapsed:.1f} s; best epoch {best}"
      f" (validation loss {digits_history['val_loss'][best]:.4f}, accuracy "
      f"{digits_history['val_accuracy'][best]:.4f})")
test_loss, test_accuracy = evaluate(digits_model, test_loader, F.cross_entropy, device)

fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
plot_curves({"train loss": digits_history["train_loss"],
             "validation loss": digits_history["val_loss"]},
            xlabel="epoch", ylabel="cross-entropy", logy=True, ax=axes[0])
axes[0].axvline(best, color="0.5", ls=":", label=f"best epoch ({best})")
axes[0].legend()
axes[0].set_title("Loss")
plot_curves({"validation accuracy": digits_history["val_accuracy"]},
            xlabel="epoch", ylabel="accuracy", ax=axes[1])
axes[1].axhline(0.95, color="tab:red", ls="--", label="bar 0.95")
axes[1].legend()
axes[1].set_title("Validation accuracy")
plot_curves({"learning rate": digits_history["lr"]}, xlabel="epoch",
            ylabel="learning rate", ax=axes[2])
axes[2].set_title("Cosine schedule")
fig.tight_layout()
plt.show()
check_bar("test accuracy of the restored model", test_accuracy, 0.95)

# %% [markdown]
# ### Choosing the patience
#
# Early stopping earns its keep when a model overfits. The next cell makes
# one that does: an MLP without dropout, trained with a constant learning
# rate on only 200 digits, each of which had a 30% chance of getting a random
# label (noisy labels are common in real data; the cell counts the wrong
# ones). The network first learns the true pattern, then
# memorises the wrong labels, and the validation loss climbs. It first runs
# for all 40 epochs (a patience of 40 never runs out), to draw the whole
# validation curve; then the widget reruns
# `fit` with the same seed and the patience you choose. Move the slider: with a
# patience of 1 the run stops at the first noisy bump, before the validation
# loss has reached its minimum; with a larger patience it finds the minimum,
# then trains `patience` more epochs past it, for nothing. The restored model is
# always the best one the run *saw*, which is why the figure to watch is the
# validation loss at the restored epoch compared with the best of the full
# run.

# %%
SMALL_TRAIN = 200  # examples: few enough to overfit
OVERFIT_EPOCHS = 40
noise_generator = torch.Generator().manual_seed(0)
noisy_labels = y_train[:SMALL_TRAIN].clone()
flipped = torch.rand(SMALL_TRAIN, generator=noise_generator) < 0.3
noisy_labels[flipped] = torch.randint(0, 10, (int(flipped.sum()),),
                                      generator=noise_generator)
print(f"{int((noisy_labels != y_train[:SMALL_TRAIN]).sum())} of {SMALL_TRAIN} "
      "training labels are wrong")
small_loader_data = TensorDataset(X_train[:SMALL_TRAIN], noisy_labels)


def overfit_run(patience):
    """fit an MLP without dropout on 200 noisy digits; returns (history, model)."""
    set_seed(1)
    model = digits_mlp(hidden=128, dropout=0.0).to(device)
    loader = DataLoader(small_loader_data, batch_size=16, shuffle=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    history = fit(model, loader, val_loader, F.cross_entropy, optimizer,
                  OVERFIT_EPOCHS, patience, device)
    return history, model


full_history, _ = overfit_run(OVERFIT_EPOCHS)
full_best = full_history["best_epoch"]
print(f"full run: lowest validation loss {full_history['val_loss'][full_best]:.4f}"
      f" at epoch {full_best}, {full_history['val_loss'][-1]:.4f} at the end")


def show_patience(patience=3):
    history, _ = overfit_run(patience)
    run_best, ran = history["best_epoch"], len(history["val_loss"])
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.plot(full_history["val_loss"], color="0.7", label="validation loss, full run")
    ax.plot(full_history["train_loss"], color="0.7", ls="--",
            label="training loss, full run")
    ax.plot(history["val_loss"], color="tab:blue", lw=2,
            label=f"validation loss, patience {patience}")
    ax.axvline(ran - 1, color="tab:red", ls=":", label=f"stopped after epoch {ran - 1}")
    ax.plot([run_best], [history["val_loss"][run_best]], "o", color="tab:green",
            label=f"restored: epoch {run_best}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy")
    ax.set_title(f"patience {patience}: {ran} epochs run, restored validation loss "
                 f"{history['val_loss'][run_best]:.3f} (full run's best "
                 f"{full_history['val_loss'][full_best]:.3f})", fontsize=9)
    ax.legend(fontsize=8)
    return fig


interactive_plot(show_patience, patience=(1, 30))

# %% [markdown]
# ## 16.7 Checkpoints: stop, resume, and get the same result
#
# Long runs get interrupted: a time limit on a shared cluster, a crash, a
# laptop lid. A **checkpoint** is everything needed to continue as if nothing
# had happened:
#
# - the model's `state_dict()` (parameters *and* buffers, such as batch
#   norm's running averages);
# - the optimizer's `state_dict()`: Adam's moving averages $m$ and $v$ and
#   its step count (chapter 4), SGD's momentum buffers. Resuming with a fresh
#   optimizer restarts Adam's bias correction and forgets the momentum: the
#   run continues, but not the same run;
# - the scheduler's `state_dict()`, which holds the epoch count that sets the
#   learning rate;
# - the number of epochs completed;
# - the **random state**: the shuffling of the next epoch and the next
#   dropout masks are drawn from PyTorch's generator (and, on a GPU, from
#   CUDA's). Without it the resumed run draws different batches, and the
#   result differs in every digit. (If your pipeline also draws from Python's
#   `random` or from NumPy, save their states too.)
#
# `torch.save` writes such a dictionary with pickle; `torch.load` reads it.
# Since PyTorch 2.6 `torch.load` defaults to `weights_only=True`, which only
# accepts tensors, numbers, strings and the usual containers: loading a pickle
# from the internet could otherwise run arbitrary code. A checkpoint made of
# state dicts loads fine that way. Load with `map_location="cpu"`: the
# random state must be a CPU tensor, and `load_state_dict` copies the
# weights onto the model's device anyway (the optimizer's too).
#
# ### Exercise 6: `save_checkpoint` (3 points)
#
# Write `save_checkpoint` and `load_checkpoint`, which work as a pair: a
# run trained for a few epochs, saved, loaded into freshly built objects (after
# anything at all has happened to the random generator) and trained on must
# end with exactly the same weights, bit for bit, as a run that was never
# interrupted. The tests check that on the CPU and on `device`, with dropout,
# a shuffling `DataLoader`, Adam and a cosine schedule. (On a GPU some kernels
# may add in a different order from one call to the next, section 16.8, so
# there the tests accept a difference of at most $10^{-6}$ in any weight; a
# forgotten state changes the weights by far more.)

# %% grade_id="ch16-checkpoint"
def save_checkpoint(path, model, optimizer, epoch, scheduler=None):
    """Write everything needed to resume training to the file ``path``.

    Args:
        path: a str or ``os.PathLike``, the file to write (overwritten).
        model: an ``nn.Module``; its ``state_dict()`` is saved.
        optimizer: a ``torch.optim`` optimizer; its ``state_dict()`` is saved.
        epoch: an int, the number of epochs completed.
        scheduler: None or a learning-rate scheduler; its ``state_dict()`` is
            saved when given.

    Also saves PyTorch's random state: ``torch.get_rng_state()`` and, when
    CUDA is available, ``torch.cuda.get_rng_state_all()``. The file must load
    with ``torch.load(path, map_location="cpu")`` (``weights_only=True``,
    the default): save state dicts, tensors, numbers and lists, not objects.
    Returns None.
    """
    ### BEGIN SOLUTION
    checkpoint = {
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    torch.save(checkpoint, path)
    ### END SOLUTION


def load_checkpoint(path, model, optimizer, scheduler=None):
    """Restore what ``save_checkpoint`` wrote; return the saved epoch.

    Args:
        path: the file written by ``save_checkpoint``.
        model, optimizer: freshly built objects of the same kind as those
            saved (the model already on its device); their states are
            replaced by the saved ones.
        scheduler: None, or a scheduler of ``optimizer`` whose state is
            replaced by the saved one (it was saved with a scheduler).

    Also restores PyTorch's random state (CPU, and CUDA when available), so
    that the next random numbers are those that came after the save.

    Returns:
        The saved ``epoch`` (an int).
    """
    ### BEGIN SOLUTION
    checkpoint = torch.load(path, map_location="cpu")
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(checkpoint["scheduler"])
    torch.set_rng_state(checkpoint["torch_rng"])
    if checkpoint["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(checkpoint["cuda_rng"])
    return checkpoint["epoch"]
    ### END SOLUTION


# %% grade_id="ch16-checkpoint-tests" points=3
"""save_checkpoint / load_checkpoint: the random numbers drawn after a load are
those drawn after the save; the saved epoch comes back; the file loads with
weights_only=True; a run of 4 epochs interrupted after 2 (saved, then loaded
into new objects after the random state was disturbed) ends with exactly the
weights of an uninterrupted run (dropout, a shuffling DataLoader, Adam, a
cosine schedule; on the CPU and on `device`), without a scheduler too. On a
GPU the weights may differ by at most 1e-6 (kernels that add in a varying
order); on the CPU they must be equal bit for bit.

Hidden tests: other models, optimizers, schedulers and interruption points.
"""


def resume_experiment(model_device, make_opt, make_sched, total, stop_at, seed):
    """Weights after `total` epochs, uninterrupted and resumed after `stop_at`."""
    x, y = make_task(37, 5, 3, seed)
    data = TensorDataset(x.float(), y)

    def build():
        net = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Dropout(0.3),
                            nn.Linear(16, 3)).to(model_device)
        opt = make_opt(net.parameters())
        return net, opt, (None if make_sched is None else make_sched(opt))

    def epochs(net, opt, sched, count):
        loader = DataLoader(data, batch_size=8, shuffle=True)
        for _ in range(count):
            net.train()
            for xb, yb in loader:
                xb, yb = xb.to(model_device), yb.to(model_device)
                opt.zero_grad()
                F.cross_entropy(net(xb), yb).backward()
                opt.step()
            if sched is not None:
                sched.step()

    torch.manual_seed(seed)
    net, opt, sched = build()
    epochs(net, opt, sched, total)
    straight = copy.deepcopy(net.state_dict())
    torch.manual_seed(seed)
    net, opt, sched = build()
    epochs(net, opt, sched, stop_at)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "run.pt")
        save_checkpoint(path, net, opt, stop_at, sched)
        torch.manual_seed(seed + 1000)  # anything at all happens to the RNG
        torch.rand(17)
        net, opt, sched = build()  # fresh objects, fresh weights
        epoch = load_checkpoint(path, net, opt, sched)
    assert epoch == stop_at, f"load_checkpoint returned {epoch!r}, expected {stop_at}"
    epochs(net, opt, sched, total - stop_at)
    what = (f"resumed after {stop_at} of {total} epochs on {model_device} "
            f"({'no scheduler' if make_sched is None else 'with a scheduler'})")
    # bit for bit on the CPU; on a GPU a kernel may add in a varying order, so
    # there the test allows a difference of 1e-6 (a lost state costs far more)
    tol = 0.0 if torch.device(model_device).type == "cpu" else 1e-6
    for name, value in net.state_dict().items():
        gap = (value - straight[name]).abs().max().item()
        assert gap <= tol, (
            f"{what}: {name} differs from the uninterrupted run by {gap:.3g}, "
            f"expected at most {tol:g} (forgot a state?)")


with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "check.pt")
    net = nn.Linear(3, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    save_checkpoint(path, net, opt, 7)
    after_save = torch.rand(5)
    torch.rand(3)
    assert load_checkpoint(path, nn.Linear(3, 2), opt) == 7, "the saved epoch"
    assert_close(torch.rand(5), after_save,
                 name="random numbers after load_checkpoint (the random state)")
    saved = torch.load(path, map_location="cpu", weights_only=True)
    assert isinstance(saved, dict), "the checkpoint should be a dict"
    copied = nn.Linear(3, 2)
    load_checkpoint(path, copied, torch.optim.SGD(copied.parameters(), lr=0.1))
    assert_close(copied.weight, net.weight, name="weights after load_checkpoint")

adam = lambda ps: torch.optim.Adam(ps, lr=0.01)  # noqa: E731
cosine = lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 4)  # noqa: E731
resume_experiment("cpu", adam, cosine, total=4, stop_at=2, seed=0)
resume_experiment(device, adam, cosine, total=4, stop_at=2, seed=1)
resume_experiment(device, adam, None, total=3, stop_at=1, seed=2)
### BEGIN HIDDEN TESTS
resume_experiment(device, lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9),
                  lambda o: torch.optim.lr_scheduler.StepLR(o, 2, 0.3),
                  total=5, stop_at=3, seed=3)
resume_experiment(device, lambda ps: torch.optim.AdamW(ps, lr=0.02),
                  lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 6, 1e-4),
                  total=6, stop_at=1, seed=4)
_ = resume_experiment("cpu", lambda ps: torch.optim.RMSprop(ps, lr=0.01),
                      None, total=4, stop_at=3, seed=5)
### END HIDDEN TESTS

# %% [markdown]
# The cell below replays that experiment on digits, with a progress bar that
# shows the running loss (`set_postfix`): six epochs straight, then three
# epochs, a checkpoint, new objects, a load and three more. It also resumes
# once *without* the optimizer's state, the most common omission.

# %%
RESUME_EPOCHS = 6  # the knob: the length of the run that gets interrupted


def new_optimizer(net):
    """AdamW and a cosine schedule over RESUME_EPOCHS for net."""
    optimizer = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-2)
    return optimizer, torch.optim.lr_scheduler.CosineAnnealingLR(optimizer,
                                                                 RESUME_EPOCHS)


def digits_run(net, optimizer, schedule, num_epochs):
    """Train on digits for num_epochs, with a bar showing the epoch's loss."""
    bar = progress(range(num_epochs), desc="epochs")
    for _ in bar:
        loss = train_one_epoch(net, train_loader, F.cross_entropy, optimizer, device)
        schedule.step()
        bar.set_postfix(loss=f"{loss:.4f}")


set_seed(3)
straight_net = digits_mlp().to(device)
digits_run(straight_net, *new_optimizer(straight_net), RESUME_EPOCHS)
half = RESUME_EPOCHS // 2
with tempfile.TemporaryDirectory() as folder:
    ckpt = os.path.join(folder, "digits.pt")
    set_seed(3)
    net = digits_mlp().to(device)
    optimizer, schedule = new_optimizer(net)
    digits_run(net, optimizer, schedule, half)
    save_checkpoint(ckpt, net, optimizer, half, schedule)
    print(f"checkpoint after {half} epochs: {os.path.getsize(ckpt) / 1024:.0f} KiB")
    for keep_optimizer in (True, False):
        torch.manual_seed(12345)  # the interruption: anything may happen meanwhile
        net = digits_mlp().to(device)  # fresh objects
        optimizer, schedule = new_optimizer(net)
        epoch = load_checkpoint(ckpt, net, optimizer, schedule)
        if not keep_optimizer:  # only the weights (and the random state) kept
            optimizer, schedule = new_optimizer(net)
        digits_run(net, optimizer, schedule, RESUME_EPOCHS - epoch)
        gap = max((net.state_dict()[k] - v).abs().max().item()
                  for k, v in straight_net.state_dict().items())
        print(f"resumed {'with' if keep_optimizer else 'WITHOUT'} the optimizer and "
              f"scheduler states: largest weight difference from the uninterrupted "
              f"run {gap:.3g}")

# %% [markdown]
# With every state restored the difference is exactly zero on the CPU: not
# "small", zero. (On a GPU it is zero too unless a kernel adds in a varying
# order, section 16.8; then it stays in the last digits.)
# That is the test to run on your own checkpointing code before you trust it
# with a week of GPU time. Without the optimizer's state the weights drift
# away from the uninterrupted run, even though the training itself went on
# without any error.
#
# In a real project, save a checkpoint every epoch (or every few minutes) to a
# file such as `last.pt`, writing to a temporary name and renaming it so that
# a crash during the write cannot destroy the previous one, and keep the best
# model separately (`best.pt`), chosen by the validation loss as early
# stopping does.
#
# ## 16.8 Seeds and determinism
#
# Deep-learning runs are random in several places: the initial weights, the
# order of the batches, dropout masks, data augmentation, the seeds of the
# `DataLoader` workers. Seeding every generator at the start,
# `dlcourse.set_seed(seed)` here (Python's `random`, NumPy and PyTorch on the
# CPU and every GPU), makes two runs on the same machine draw the same
# numbers. The cell runs the same small `fit` twice with one seed and once
# with another.

# %%
def seeded_run(seed):
    """A short fit on digits from a given seed; returns the weights."""
    set_seed(seed)
    net = digits_mlp(hidden=32).to(device)
    loader = DataLoader(TensorDataset(X_train[:300], y_train[:300]), batch_size=32,
                        shuffle=True)
    fit(net, loader, val_loader, F.cross_entropy,
        torch.optim.Adam(net.parameters(), lr=3e-3), 3, 3, device)
    return [p.detach().clone() for p in net.parameters()]


run_a, run_b, run_c = seeded_run(7), seeded_run(7), seeded_run(8)
print("same seed, identical weights:     ",
      all(torch.equal(a, b) for a, b in zip(run_a, run_b, strict=True)))
print("other seed, identical weights:    ",
      all(torch.equal(a, c) for a, c in zip(run_a, run_c, strict=True)))

# %% [markdown]
# A seed fixes the random numbers, but not always the arithmetic. Floating
# point addition is not associative, $(a + b) + c \neq a + (b + c)$ in
# general, and some GPU kernels add in whatever order their threads finish
# (atomic additions in `index_add_`, `scatter_add_`, the backward pass of
# embeddings and of some convolutions). The cell shows the effect on the CPU:
# the same ten thousand numbers summed in two orders.

# %%
values = torch.randn(10_000, dtype=torch.float32) * 1e3
forward_sum = values.sum()
shuffled_sum = values[torch.randperm(len(values))].sum()
print(f"sum in one order: {forward_sum.item():.6f}, in another: "
      f"{shuffled_sum.item():.6f}, difference {abs(forward_sum - shuffled_sum):.2e}")

# %% [markdown]
# A difference in the last digits of one step grows, over thousands of steps,
# into a visibly different model. PyTorch offers a switch:
#
# - `torch.use_deterministic_algorithms(True)` makes every operation either
#   use a deterministic implementation or raise a `RuntimeError` that names
#   it, so nothing is silently non-deterministic. On CUDA it also needs the
#   environment variable `CUBLAS_WORKSPACE_CONFIG=:4096:8` set before the
#   first matrix product;
# - `torch.backends.cudnn.benchmark = False` (the default) stops cuDNN from
#   timing several convolution algorithms and picking the fastest, which can
#   pick a different one on the next run;
# - `DataLoader(..., generator=g)` with its own seeded generator and a
#   `worker_init_fn` that seeds each worker (chapter 15) fix the data side.
#
# Deterministic kernels can be slower, so switch this on to debug or to
# compare two ideas, not by default. And even then, reproducibility is
# promised only for the same hardware, the same library versions and the
# same settings: a different GPU or a new PyTorch may produce different
# (equally good) numbers. Report results as a mean over several seeds, as the
# training bars of this course do, never from one lucky run.

# %%
# On CUDA, cuBLAS also needs CUBLAS_WORKSPACE_CONFIG, set before the process
# starts; without it, warn_only=True turns the errors into warnings.
needs_env = device.type == "cuda" and "CUBLAS_WORKSPACE_CONFIG" not in os.environ
torch.use_deterministic_algorithms(True, warn_only=needs_env)
try:
    print("deterministic mode:", torch.are_deterministic_algorithms_enabled())
    det_a, det_b = seeded_run(7), seeded_run(7)
    print("same seed, deterministic mode, identical weights:",
          all(torch.equal(a, b) for a, b in zip(det_a, det_b, strict=True)))
finally:
    torch.use_deterministic_algorithms(False)  # the default again

# %% [markdown]
# ## 16.9 A checklist for training loops
#
# Many training loops found in tutorials run without an error and are still
# wrong. Each item below is a mistake this chapter's tests catch:
#
# - averaging the batch losses or accuracies with equal weights (a short last
#   batch counts as a full one);
# - forgetting `optimizer.zero_grad()`, or calling it after `backward()`;
# - clipping after `optimizer.step()` (too late to matter), or clipping each
#   tensor separately instead of the total norm;
# - iterating `model.parameters()` twice: the second pass of a generator is
#   empty;
# - evaluating in training mode (dropout on, batch-norm statistics updated)
#   or recording gradients during evaluation;
# - early stopping that saves the best weights and never loads them back, or
#   "saves" them by reference, or counts a tie as an improvement when the
#   contract says it is not;
# - a checkpoint with the model only: the resumed run continues, differently;
# - `ReduceLROnPlateau(..., verbose=True)`: removed, a `TypeError` today;
#   `scheduler.step()` without the validation loss for that scheduler;
# - choosing the epoch or the hyperparameters on the test set.
#
# ## 16.10 Summary
#
# - One epoch is a pass over shuffled mini-batches, each doing zero_grad,
#   forward, loss, backward, (clip), step, in training mode; evaluation runs
#   in evaluation mode under `torch.no_grad()`. Epoch figures are means over
#   examples, each batch weighted by its size.
# - Clipping by the total norm shortens a long gradient to `max_norm` and
#   keeps its direction; the norm before clipping is worth logging.
# - The cosine schedule follows
#   $\eta_{\min} + (\eta_{\max} - \eta_{\min})(1 + \cos(\pi t / T))/2$;
#   `ReduceLROnPlateau` steps with the validation loss and takes no `verbose`.
# - Early stopping counts epochs without a strict improvement, stops at
#   `patience`, and restores a *copy* of the best state; the patience trades
#   stopping on noise against wasted epochs.
# - A checkpoint holds the model, the optimizer, the scheduler, the epoch and
#   the random state; with all of them a resumed run equals an uninterrupted
#   one bit for bit, without the optimizer's state it does not.
# - Seeds make runs repeatable on one machine; deterministic algorithms
#   remove the remaining non-determinism at some cost in speed; results
#   deserve several seeds.
#
# **Next:** chapter 17 looks closer at what `evaluate` measures: accuracy is
# one metric among many, and on imbalanced data a misleading one; precision,
# recall, F1, ROC curves and regression metrics follow.
