# %% [markdown]
# # Chapter 24: Training faster and at scale
#
# A model that trains in a minute on a laptop is a luxury. Real models meet
# three walls: the learning rate has to change during training or the run
# diverges or stalls, the batch that gives stable gradients does not fit in
# memory, and one device is too slow or too small for the model. This chapter
# covers the standard tools for each wall: learning-rate schedules with
# warmup, gradient accumulation, mixed precision with `torch.autocast`, and
# distributed data parallelism (DDP) run as real processes with `torchrun`.
# It ends with the ideas that train the largest models: tensor and pipeline
# parallelism and fully sharded data parallelism (FSDP, also called ZeRO).
#
# **You will learn**
# - the common learning-rate schedules side by side, and the exact formula
#   of linear warmup followed by cosine decay, checked against PyTorch's
#   schedulers;
# - how gradient accumulation reproduces the gradient of one large batch,
#   including the last, smaller group of micro-batches that a naive loop
#   drops or weights wrongly;
# - what float16 and bfloat16 can and cannot represent, why float16 needs
#   loss scaling, and the exact order of calls of a mixed-precision step with
#   `torch.autocast` and `torch.amp.GradScaler` (never the deprecated
#   `torch.cuda.amp`);
# - why averaging the gradients of equal shards gives the gradient of the
#   whole batch, how an all-reduce does it, and how to launch two processes
#   with `torchrun` that use `gloo` on a CPU or `nccl` on GPUs;
# - how tensor, pipeline and fully sharded parallelism split a model that
#   does not fit on one device, and how much memory each sharding stage saves.
#
# **Graded exercises** (17 points)
#
# | exercise | points |
# |---|---|
# | `warmup_cosine(step, warmup_steps, total_steps)` | 3 |
# | `accumulate_gradients(model, loss_fn, micro_batches)` | 4 |
# | `amp_train_step(model, loss_fn, optimizer, scaler, x, y, amp_dtype, max_norm)` | 4 |
# | `average_gradients(model)` | 4 |
# | `zero_memory_per_device(num_params, world_size, stage)` | 2 |
#
# Each exercise is a function whose docstring states its whole contract:
# shapes, dtypes, devices, edge cases and the built-ins you may not call.
# Replace `raise NotImplementedError()` with your code and run the test cell
# below it. The visible tests show every rule the grader checks; hidden tests
# repeat them on other values, shapes and seeds.

# %%
import copy
import inspect
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import matplotlib.pyplot as plt
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from matplotlib.patches import Rectangle
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from dlcourse import get_device, progress, set_seed
from dlcourse.checks import assert_close, expect_raises, forbid
from dlcourse.data import load_digits, train_test_split
from dlcourse.training import check_bar
from dlcourse.widgets import interactive_plot

device = get_device()  # the tests also run your code on this device
set_seed(0)
print(f"torch {torch.__version__}, device: {device}")

# %% [markdown]
# ## 24.1 Learning-rate schedules
#
# Gradient descent moves the weights by $\theta_{t+1} = \theta_t - \eta_t\,
# g_t$. A constant learning rate $\eta$ is a compromise: large enough to make
# progress early, it keeps the weights bouncing around the minimum late in
# training, where the noise of the mini-batch gradient dominates. A
# **schedule** sets $\eta_t = \eta_{\max}\, \lambda(t)$ with a multiplier
# $\lambda(t)$ that changes with the step $t$. PyTorch implements schedules
# as objects of `torch.optim.lr_scheduler` that rewrite the optimizer's
# learning rate each time you call `scheduler.step()`:
#
# | schedule | multiplier $\lambda(t)$ | class |
# |---|---|---|
# | step decay | $\gamma^{\lfloor t / s \rfloor}$ | `StepLR` |
# | exponential | $\gamma^{t}$ | `ExponentialLR` |
# | cosine annealing | $\tfrac12\big(1 + \cos(\pi t / T)\big)$ | `CosineAnnealingLR` |
# | one-cycle | up to $\eta_{\max}$, then far below the start | `OneCycleLR` |
# | on a plateau | times a factor when a metric stalls | `ReduceLROnPlateau` |
# | warmup + cosine | linear from 0, then cosine to 0 | Exercise 1, `LambdaLR` |
#
# `ReduceLROnPlateau` is the odd one: it reacts to a measured metric
# (`scheduler.step(val_loss)`) instead of counting steps. Its old `verbose=`
# argument is deprecated; read the current rate with
# `optimizer.param_groups[0]["lr"]` or `scheduler.get_last_lr()` (the latter
# for the other schedulers).
#
# **Why warm up?** At the start the weights are random, Adam's estimates of
# the gradient's second moment rest on a handful of steps, and in
# transformers the first updates can push the attention logits into
# saturation. A short phase in which the rate grows linearly from zero lets
# the statistics settle before the full rate applies. The original
# transformer (2017) was trained with a warmup, and so are most large models
# since, usually followed by a cosine or a linear decay.
#
# The next cell runs every schedule for 100 steps on a dummy optimizer and
# plots the learning rate it sets (the plateau schedule sees a validation
# loss that stops improving at step 30).

# %%
def lr_curve(make_scheduler, num_steps=100, metric=None):
    """The learning rate a scheduler sets at steps 0..num_steps-1 (lr_max = 1)."""
    param = nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=1.0)
    scheduler = make_scheduler(optimizer)
    rates = []
    for step in range(num_steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()  # (a real loop would compute gradients first)
        if metric is None:
            scheduler.step()
        else:
            scheduler.step(metric(step))
    return rates


schedulers = torch.optim.lr_scheduler
curves = {
    "StepLR(step_size=25, gamma=0.5)":
        lr_curve(lambda o: schedulers.StepLR(o, step_size=25, gamma=0.5)),
    "ExponentialLR(gamma=0.97)":
        lr_curve(lambda o: schedulers.ExponentialLR(o, gamma=0.97)),
    "CosineAnnealingLR(T_max=100)":
        lr_curve(lambda o: schedulers.CosineAnnealingLR(o, T_max=100)),
    "OneCycleLR(max_lr=1, total_steps=100)":
        lr_curve(lambda o: schedulers.OneCycleLR(o, max_lr=1.0, total_steps=100)),
    "ReduceLROnPlateau(factor=0.5, patience=10)":
        lr_curve(lambda o: schedulers.ReduceLROnPlateau(o, factor=0.5, patience=10),
                 metric=lambda step: max(1.0 - step / 30, 0.0)),
}
fig, ax = plt.subplots(figsize=(8, 3.6))
for label, rates in curves.items():
    ax.plot(rates, label=label)
ax.set_xlabel("step t")
ax.set_ylabel(r"learning rate $\eta_t$ / $\eta_{\max}$")
ax.set_title("Learning-rate schedules of torch.optim.lr_scheduler")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ### Exercise 1: `warmup_cosine` (3 points)
#
# Write the multiplier of the schedule most large models use: a linear warmup
# over $W$ steps, then a cosine decay that reaches zero at step $T$, and zero
# afterwards:
#
# $$\lambda(t) = \begin{cases}
#   t / W & 0 \le t < W \quad\text{(warmup, from exactly 0)},\\[2pt]
#   \tfrac12\Big(1 + \cos\big(\pi\, \tfrac{t - W}{T - W}\big)\Big)
#     & W \le t \le T \quad\text{(decay, from 1 down to 0)},\\[2pt]
#   0 & t > T .\end{cases}$$
#
# So $\lambda(0) = 0$ when $W > 0$ (the first update is a step of size zero),
# $\lambda(W) = 1$, $\lambda\big(\tfrac{W + T}{2}\big) = \tfrac12$ and
# $\lambda(T) = 0$. With $W = 0$ there is no warmup and $\lambda(0) = 1$.
# Note that the decay is measured from the **end of the warmup**, not from
# step 0, and that a bare cosine would climb back up after $T$: the
# schedule stays at zero there instead.
#
# Wrapped in `torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t:
# warmup_cosine(t, W, T))`, it sets the learning rate $\eta_{\max}
# \lambda(t)$ before update $t$ (counting from 0). The tests check it
# against PyTorch's own pieces: `LinearLR` for the warmup and
# `CosineAnnealingLR` for the decay, chained with `SequentialLR`.

# %% grade_id="ch24-warmup-cosine"
def warmup_cosine(step, warmup_steps, total_steps):
    """Multiplier of the learning rate: linear warmup, then cosine decay to 0.

    Args:
        step: int t >= 0, the number of optimizer updates done so far.
        warmup_steps: int W >= 0, the length of the linear warmup.
        total_steps: int T > W, the step at which the rate reaches 0.

    Returns:
        A Python float in [0, 1]: t / W for t < W; for W <= t <= T,
        0.5 * (1 + cos(pi * (t - W) / (T - W))); 0.0 for t > T. With W = 0
        there is no warmup (the value at t = 0 is 1.0).

    Raises:
        ValueError: if step < 0, warmup_steps < 0 or total_steps <= warmup_steps.

    Any built-in may be used (math.cos is the natural choice).
    """
    ### BEGIN SOLUTION
    if step < 0 or warmup_steps < 0 or total_steps <= warmup_steps:
        raise ValueError(f"need step >= 0 and 0 <= warmup_steps < total_steps, got "
                         f"step={step}, warmup_steps={warmup_steps}, "
                         f"total_steps={total_steps}")
    if step < warmup_steps:
        return step / warmup_steps
    if step > total_steps:
        return 0.0
    progress_ = (step - warmup_steps) / (total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * progress_))
    ### END SOLUTION


# %%
# Try it: W = 4, T = 12
print([round(warmup_cosine(t, 4, 12), 3) for t in range(15)])

# %% grade_id="ch24-warmup-cosine-tests" points=3
"""warmup_cosine: values by hand (0 at the start, 1 at the end of the warmup,
1/2 halfway through the decay, 0 at T and after it, no warmup when W = 0); a
Python float; equal to SequentialLR(LinearLR, CosineAnnealingLR) at every step;
ValueError for a negative step or warmup and for T <= W.

Hidden tests: other (W, T) pairs, W = 1 and T = W + 1."""


def scheduler_reference(warmup, total, num_steps):
    """The rates (lr_max = 1) of LinearLR then CosineAnnealingLR, in float64."""
    param = nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([param], lr=1.0)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total - warmup)
    if warmup == 0:
        chained = cosine
    else:
        # LinearLR cannot start from exactly 0: 1e-12 is 0 to within the tolerance
        linear = torch.optim.lr_scheduler.LinearLR(
            opt, start_factor=1e-12, end_factor=1.0, total_iters=warmup)
        chained = torch.optim.lr_scheduler.SequentialLR(
            opt, [linear, cosine], milestones=[warmup])
    rates = []
    for step in range(num_steps):
        # CosineAnnealingLR climbs back after T; the schedule stays at 0 there
        rates.append(opt.param_groups[0]["lr"] if step <= total else 0.0)
        opt.step()
        chained.step()
    return rates


by_hand = {(0, 4, 12): 0.0, (2, 4, 12): 0.5, (4, 4, 12): 1.0, (8, 4, 12): 0.5,
           (12, 4, 12): 0.0, (13, 4, 12): 0.0, (40, 4, 12): 0.0,
           (0, 0, 10): 1.0, (5, 0, 10): 0.5, (10, 0, 10): 0.0}
for (t, w, total), want in by_hand.items():
    got = warmup_cosine(t, w, total)
    assert isinstance(got, float), (
        f"warmup_cosine({t}, {w}, {total}) returned {type(got).__name__}, "
        "expected a Python float")
    assert_close(got, want, rtol=1e-9, atol=1e-12,
                 name=f"warmup_cosine({t}, {w}, {total})")
for t, want in enumerate(scheduler_reference(5, 23, 30)):
    assert_close(warmup_cosine(t, 5, 23), want, rtol=1e-9, atol=1e-9,
                 name=f"warmup_cosine({t}, 5, 23) vs SequentialLR")
for bad in [(-1, 2, 10), (0, -1, 10), (0, 10, 10), (0, 12, 10)]:
    expect_raises(ValueError, warmup_cosine, *bad,
                  name=f"warmup_cosine{bad}")
### BEGIN HIDDEN TESTS
for _w, _total in [(1, 2), (3, 17), (0, 7), (10, 11), (7, 40)]:
    for _t, _want in enumerate(scheduler_reference(_w, _total, _total + 4)):
        assert_close(warmup_cosine(_t, _w, _total), _want, rtol=1e-9, atol=1e-9,
                     name=f"warmup_cosine({_t}, {_w}, {_total}) vs SequentialLR")
_ = expect_raises(ValueError, warmup_cosine, 3, 5, 4, name="warmup_cosine(3, 5, 4)")
### END HIDDEN TESTS

# %% [markdown]
# Your function plugs into any optimizer through `LambdaLR`. The next cell
# compares it with the ad hoc warmup-then-cosine a lot of code copies, which
# starts its warmup at $1/W$ instead of 0, and shows the effect of the
# warmup length: the shorter the warmup, the longer the rate stays high.

# %%
fig, ax = plt.subplots(figsize=(8, 3.4))
for warmup in (0, 10, 30):
    rates = lr_curve(lambda o, w=warmup: schedulers.LambdaLR(
        o, lambda t, w=w: warmup_cosine(t, w, 100)), num_steps=110)
    ax.plot(rates, label=f"LambdaLR(warmup_cosine(t, W={warmup}, T=100))")
ax.plot([min((t + 1) / 10, 1.0) for t in range(10)], "k:",
        label="warmup from 1/W instead of 0 (W=10)")
ax.set_xlabel("step t")
ax.set_ylabel(r"$\eta_t / \eta_{\max}$")
ax.set_title("Linear warmup, then cosine decay to zero at T = 100")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## 24.2 Gradient accumulation
#
# Suppose the batch you want, $N$ examples, does not fit in memory, but a
# micro-batch of $n$ does. Most losses are **means** over the batch, so the
# gradient of the big batch is a weighted sum of micro-batch gradients. If
# the $N$ examples are split into micro-batches $B_1, \dots, B_K$ of sizes
# $n_1, \dots, n_K$ (with $\sum_k n_k = N$), and $\bar\ell_k = \frac{1}{n_k}
# \sum_{i \in B_k} \ell_i$ is the mean loss of micro-batch $k$, then
#
# $$\nabla_\theta \frac{1}{N} \sum_{i=1}^{N} \ell_i
#   = \sum_{k=1}^{K} \frac{n_k}{N}\, \nabla_\theta \bar\ell_k .$$
#
# Autograd **adds** each new gradient into `param.grad`, so calling
# `(loss_k * n_k / N).backward()` for every micro-batch and stepping the
# optimizer once at the end gives exactly the gradient of the big batch, with
# the memory of one micro-batch. When every micro-batch has the same size
# the weight $n_k / N$ is $1 / K$, which is where the familiar
# "divide the loss by the number of accumulation steps" comes from.
#
# Two details decide whether accumulation is exact:
#
# - **The last group.** A data set of 1,000 examples in micro-batches of 64
#   makes 15 full micro-batches and one of 40; grouped three at a time for
#   each update, the last group is that single micro-batch of 40. A loop
#   that steps the optimizer only when `(i + 1) % K == 0` silently throws
#   these gradients away at the end of every epoch (and the next epoch then
#   starts with gradients left over from the last one unless they are
#   zeroed), and dividing by $K$ when the sizes differ weights the small
#   micro-batch like the others. The weight $n_k / N$ of the formula above is
#   right in every case.
# - **Layers that look at the batch.** Batch normalization computes its
#   statistics per micro-batch, so accumulating over four micro-batches of 8
#   is *not* the same as one batch of 32 (chapter 12); layer norm and
#   dropout do not have this problem (dropout draws different masks, but it
#   is random anyway).
#
# With DDP (section 24.4) every `backward()` also averages gradients across
# processes; wrapping all but the last micro-batch of a group in
# `with ddp_model.no_sync():` skips those exchanges and only the last one
# communicates.

# %% [markdown]
# ### Exercise 2: `accumulate_gradients` (4 points)
#
# Fill the gradients of a model with the gradient of the **mean loss over
# all examples** of a list of micro-batches, processing one micro-batch at a
# time and never building the big batch: `torch.cat`, `torch.stack` and
# their relatives are forbidden. The micro-batches may have different sizes,
# and the existing content of `.grad` must not leak into the result. The
# tests compare with one backward pass on the whole batch.

# %% grade_id="ch24-accumulate-gradients"
def accumulate_gradients(model, loss_fn, micro_batches):
    """Gradient of the mean loss over all micro-batches, one micro-batch at a time.

    n_k is the number of examples of micro-batch k (its first dimension) and
    N = n_1 + ... + n_K the total.

    Args:
        model: an ``nn.Module``; ``model(x)`` maps a micro-batch of inputs to
            outputs. Its parameters and the data share one dtype and device.
        loss_fn: ``loss_fn(output, y)`` returns the MEAN loss over the n_k
            examples of its micro-batch, a 0-dim tensor (as
            ``nn.CrossEntropyLoss()`` or ``nn.MSELoss()`` do by default).
        micro_batches: a non-empty list of pairs (x_k, y_k); x_k has shape
            (n_k, ...), y_k shape (n_k, ...), n_k >= 1. The sizes may differ
            (the last micro-batch is often smaller).

    Returns:
        A 0-dim tensor, detached, with the dtype and device of the losses: the
        mean loss over all N examples. As a side effect every parameter that
        requires a gradient has ``.grad`` equal to the gradient of that mean
        loss (the gradient of one batch of all N examples). Whatever ``.grad``
        held before is discarded, not added to. Parameters that do not
        require a gradient are left alone. The optimizer is not stepped.

    Raises:
        ValueError: if ``micro_batches`` is empty.

    Do not join the micro-batches: torch.cat, torch.concat, torch.concatenate,
    torch.stack, torch.vstack, torch.hstack, torch.row_stack, torch.dstack and
    torch.column_stack are forbidden.
    """
    ### BEGIN SOLUTION
    if len(micro_batches) == 0:
        raise ValueError("micro_batches is empty")
    total = sum(x.shape[0] for x, _ in micro_batches)
    model.zero_grad(set_to_none=True)
    mean_loss = None
    for x, y in micro_batches:
        loss = loss_fn(model(x), y) * (x.shape[0] / total)  # weight n_k / N
        loss.backward()  # autograd adds into .grad
        mean_loss = loss.detach() if mean_loss is None else mean_loss + loss.detach()
    return mean_loss
    ### END SOLUTION


# %%
# Try it: 10 examples as micro-batches of 4, 4 and 2
torch.manual_seed(0)
demo_model = nn.Linear(3, 2)
demo_x, demo_y = torch.randn(10, 3), torch.randn(10, 2)
demo_loss = accumulate_gradients(
    demo_model, nn.MSELoss(),
    [(demo_x[:4], demo_y[:4]), (demo_x[4:8], demo_y[4:8]), (demo_x[8:], demo_y[8:])])
accumulated = demo_model.weight.grad.clone()
demo_model.zero_grad()
nn.MSELoss()(demo_model(demo_x), demo_y).backward()
print(f"loss {demo_loss.item():.4f}; max |accumulated - one batch| = "
      f"{(accumulated - demo_model.weight.grad).abs().max().item():.1e}")

# %% grade_id="ch24-accumulate-gradients-tests" points=4
"""accumulate_gradients: the gradient of one batch of all the examples, with a
smaller last micro-batch (float64 on `device`, MSE and cross-entropy losses,
a frozen layer, gradients present before the call); the returned mean loss;
a batch of one example; float32; ValueError when empty; no torch.cat & co.

Hidden tests: other models, sizes and seeds."""
joiners = ("torch.cat", "torch.concat", "torch.concatenate", "torch.stack",
           "torch.vstack", "torch.hstack", "torch.row_stack", "torch.dstack",
           "torch.column_stack")


def check_accumulation(sizes, classes, dtype, seed, frozen=False, rtol=1e-10,
                       atol=1e-12):
    """accumulate_gradients on micro-batches of `sizes` vs one big batch."""
    torch.manual_seed(seed)
    width = 5 + seed % 3
    model = nn.Sequential(nn.Linear(width, 7), nn.Tanh(), nn.Linear(7, classes or 3))
    model = model.to(device, dtype)
    if frozen:
        model[0].requires_grad_(False)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(sum(sizes), width, generator=gen, dtype=dtype).to(device)
    if classes:
        y = torch.randint(classes, (sum(sizes),), generator=gen).to(device)
        loss_fn = nn.CrossEntropyLoss()
    else:
        y = torch.randn(sum(sizes), 3, generator=gen, dtype=dtype).to(device)
        loss_fn = nn.MSELoss()
    reference = copy.deepcopy(model)
    want_loss = loss_fn(reference(x), y)
    want_loss.backward()
    for p in model.parameters():  # stale gradients that must not leak in
        if p.requires_grad:
            p.grad = torch.ones_like(p)
    starts = [sum(sizes[:k]) for k in range(len(sizes))]
    micro = [(x[s:s + n], y[s:s + n]) for s, n in zip(starts, sizes, strict=True)]
    label = f"accumulate_gradients(sizes={sizes}, {dtype}, seed={seed})"
    with forbid(*joiners):
        got_loss = accumulate_gradients(model, loss_fn, micro)
    assert_close(got_loss, want_loss.detach(), rtol=rtol, atol=atol,
                 name=f"{label}: returned mean loss")
    assert not got_loss.requires_grad, f"{label}: the returned loss is not detached"
    assert got_loss.device == want_loss.device, (
        f"{label}: the returned loss is on {got_loss.device}, expected "
        f"{want_loss.device}")
    for (name, p), q in zip(model.named_parameters(), reference.parameters(),
                            strict=True):
        if not p.requires_grad:
            assert p.grad is None, f"{label}: frozen {name} got a gradient"
            continue
        assert p.grad is not None, f"{label}: {name}.grad is None"
        assert p.grad.device == p.device, f"{label}: {name}.grad on {p.grad.device}"
        assert_close(p.grad, q.grad, rtol=rtol, atol=atol,
                     name=f"{label}: {name}.grad vs one batch")


check_accumulation([4, 4, 4, 2], classes=None, dtype=torch.float64, seed=0)
check_accumulation([6, 6, 1], classes=4, dtype=torch.float64, seed=1, frozen=True)
check_accumulation([1], classes=None, dtype=torch.float64, seed=2)
check_accumulation([3, 2], classes=3, dtype=torch.float32, seed=3, rtol=1e-4,
                   atol=1e-6)
expect_raises(ValueError, accumulate_gradients, nn.Linear(2, 2), nn.MSELoss(), [],
              name="accumulate_gradients(model, loss_fn, [])")
### BEGIN HIDDEN TESTS
for _sizes, _classes, _seed in [([5, 5, 5, 5, 3], None, 4), ([2, 9], 5, 5),
                                 ([7, 7, 7], None, 6), ([1, 1, 1], 2, 7),
                                 ([8, 3], None, 8)]:
    check_accumulation(_sizes, _classes, torch.float64, _seed, frozen=_seed % 2 == 1)
check_accumulation([9, 9, 4], classes=6, dtype=torch.float32, seed=9, rtol=1e-4,
                   atol=1e-6)
### END HIDDEN TESTS

# %% [markdown]
# ### A training loop with accumulation
#
# Your function handles one group of micro-batches; a training loop calls it
# for every group, **including the last, smaller one**, and steps the
# optimizer after each. The next cell trains the same model twice on
# 300 points of a regression problem: once with batches of 64, once with
# micro-batches of 16 grouped by 4 (the last group of each epoch is smaller).
# Both runs must end with the same weights.

# %%
def batches(x, y, size):
    """Consecutive (x, y) slices of `size` examples (the last may be smaller)."""
    return [(x[i:i + size], y[i:i + size]) for i in range(0, len(x), size)]


def train_regression(micro_size, group, num_epochs=5, seed=0):
    """SGD on a linear-regression problem; returns the final weights."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(300, 6, generator=gen, dtype=torch.float64)
    y = x @ torch.randn(6, 1, generator=gen, dtype=torch.float64) + 0.1
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 1)).double()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(num_epochs):
        micro = batches(x, y, micro_size)
        for start in range(0, len(micro), group):  # the last group may be short
            accumulate_gradients(model, nn.MSELoss(), micro[start:start + group])
            optimizer.step()
    return torch.nn.utils.parameters_to_vector(model.parameters()).detach()


big_batch = train_regression(micro_size=64, group=1)
accumulated = train_regression(micro_size=16, group=4)
print(f"max |weights(batches of 64) - weights(16 x 4 accumulated)| = "
      f"{(big_batch - accumulated).abs().max().item():.1e}")

# %% [markdown]
# ## 24.3 Mixed precision
#
# ### Three floating-point formats
#
# A floating-point number stores a sign, an exponent and a mantissa. The
# exponent bits fix the **range** (the largest number, and the smallest
# normal one, `tiny`); the mantissa bits fix the **precision** (`eps`, the
# gap between 1 and the next number). The next cell prints them for the
# three formats of deep learning.

# %%
print(f"{'dtype':>15} {'bits':>5} {'max':>10} {'tiny (normal)':>14} {'eps':>10}")
for dtype in (torch.float32, torch.float16, torch.bfloat16):
    info = torch.finfo(dtype)
    print(f"{str(dtype):>15} {info.bits:>5} {info.max:>10.3g} {info.tiny:>14.3g} "
          f"{info.eps:>10.3g}")
probe = torch.tensor([1e-8, 3e-5, 70000.0, 1.0 + 1 / 512])
print("values     ", probe.tolist())
print("as float16 ", probe.half().float().tolist())
print("as bfloat16", probe.bfloat16().float().tolist())

# %% [markdown]
# float16 keeps 10 mantissa bits but only 5 exponent bits: its largest
# number is 65,504 and numbers below about $6 \times 10^{-8}$ (its smallest
# subnormal) become 0. bfloat16 ("brain float") keeps the 8 exponent bits of
# float32, so it has float32's range, and pays with precision: 7 mantissa
# bits, about 2 to 3 decimal digits. Both halve the memory of activations and
# run on the tensor cores of modern GPUs at many times the float32 speed.
#
# ### `torch.autocast`
#
# Mixed precision keeps the **weights and the optimizer in float32** and runs
# chosen operations in the low-precision type. Inside `with
# torch.autocast(device_type, dtype):` PyTorch casts on the fly: matrix
# products and convolutions (fast, and tolerant of rounding) run in the low
# type; reductions, softmax, norms and losses (sensitive to rounding and
# overflow) run in float32. Nothing is converted permanently; the gradients
# that reach the float32 weights are float32. Use `device_type="cuda"` with
# `torch.float16` or `torch.bfloat16` on a GPU, `device_type="cpu"` with
# `torch.bfloat16` on a CPU (recent versions of PyTorch also accept
# `torch.float16` there, and the tests use both). The modules
# `torch.cuda.amp.autocast` and `torch.cuda.amp.GradScaler` of older
# tutorials are deprecated: write `torch.autocast` and
# `torch.amp.GradScaler("cuda")`.

# %%
amp_dtype = torch.bfloat16 if device.type == "cpu" else torch.float16
layer = nn.Linear(8, 4).to(device)
inputs = torch.randn(5, 8, device=device)
with torch.autocast(device_type=device.type, dtype=amp_dtype):
    out = layer(inputs)
    loss = F.cross_entropy(out, torch.zeros(5, dtype=torch.long, device=device))
loss.backward()
print(f"weights: {layer.weight.dtype}; output of the matmul under autocast: "
      f"{out.dtype}; loss: {loss.dtype}; gradient: {layer.weight.grad.dtype}")

# %% [markdown]
# ### Loss scaling
#
# The gradients of a deep network are often tiny: many entries fall below
# float16's smallest subnormal, about $6 \times 10^{-8}$, and would be
# flushed to zero in the backward pass. **Loss scaling** multiplies the loss
# by a large factor $S$ before `backward()`. By the chain rule every gradient
# is multiplied by $S$ too, lifting the small ones into float16's range;
# dividing the float32 gradients by $S$ before the update gives back the
# true values. If $S$ is too large, the largest gradients overflow to
# `inf`. `torch.amp.GradScaler` picks $S$ dynamically: it starts at $2^{16}$,
# **skips** any step whose gradients contain `inf` or `nan` and halves $S$;
# after 2,000 steps in a row without overflow it doubles $S$. Because $S$ is
# a power of two, scaling and unscaling are exact.
#
# bfloat16 has float32's range, so it does not need a scaler: construct it
# with `enabled=False` and the same code runs unchanged (`scale` returns the
# loss as is, `step` just calls `optimizer.step()`).
#
# Move the slider: the histogram shows the magnitudes of a synthetic set of
# gradients spread over eleven orders of magnitude, after multiplying by
# $S = 2^k$, and the band that float16 represents. Only by moving $k$ do you
# see the trade-off: too small and a large fraction underflows to zero,
# too large and the top of the distribution overflows.

# %%
grad_gen = torch.Generator().manual_seed(0)
fake_grads = 10 ** (torch.rand(20000, generator=grad_gen) * 11 - 12)  # 1e-12..0.1


def show_loss_scaling(log2_scale=0):
    """Histogram of |gradient| * 2**log2_scale and what float16 makes of it."""
    scaled = fake_grads * 2.0 ** log2_scale
    as_half = scaled.half()
    lost = (as_half == 0).float().mean().item()
    overflow = torch.isinf(as_half).float().mean().item()
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    ax.hist(scaled.log10().numpy(), bins=80, color="tab:blue",
            label="scaled gradients")
    ax.axvspan(math.log10(2.0 ** -24), math.log10(65504.0), color="tab:green",
               alpha=0.15, label="float16 range")
    ax.set_xlim(-13, 12)
    ax.set_xlabel(r"$\log_{10}$ |gradient $\times$ S|")
    ax.set_ylabel("count")
    ax.set_title(f"S = 2^{log2_scale}: {lost:.1%} flushed to 0, "
                 f"{overflow:.1%} overflow to inf")
    ax.legend(loc="upper left")
    return fig


interactive_plot(show_loss_scaling, log2_scale=(0, 40, 1))

# %% [markdown]
# ### Exercise 3: `amp_train_step` (4 points)
#
# Write one mixed-precision training step. The order of the calls is the
# whole point:
#
# 1. clear the gradients (`optimizer.zero_grad()`);
# 2. run the forward pass **and the loss** inside `torch.autocast` on the
#    device type of `x` with `amp_dtype`;
# 3. call `backward()` on `scaler.scale(loss)`, outside the autocast block;
# 4. if you clip, first `scaler.unscale_(optimizer)` so that the threshold
#    compares with the true gradient norm, then
#    `torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)`;
# 5. `scaler.step(optimizer)` (it unscales if you have not, and skips the
#    update when a gradient is not finite), then `scaler.update()`.
#
# Calling `optimizer.step()` yourself would apply gradients still multiplied
# by $S$; clipping before unscaling compares the norm of the *scaled*
# gradients with `max_norm`, so it clips far too hard; forgetting
# `scaler.update()` freezes $S$ for ever. The tests run your step with a
# scaler that is enabled, even with bfloat16, so each of these mistakes
# shows, and with both half-precision types (float16 and bfloat16 on a CPU;
# float16, and bfloat16 where the GPU supports it), so `amp_dtype` must be
# the type autocast uses.

# %% grade_id="ch24-amp-train-step"
def amp_train_step(model, loss_fn, optimizer, scaler, x, y, amp_dtype,
                   max_norm=None):
    """One training step with automatic mixed precision and a gradient scaler.

    Args:
        model: an ``nn.Module`` with float32 parameters on the device of x.
        loss_fn: ``loss_fn(output, y)`` returns a 0-dim loss.
        optimizer: a ``torch.optim`` optimizer over the model's parameters.
        scaler: a ``torch.amp.GradScaler`` for the device type of x, enabled
            or not (a disabled one changes nothing: that is how bfloat16 runs).
        x: input batch of shape (N, ...), N >= 1, on the model's device.
        y: targets for ``loss_fn``, on the same device.
        amp_dtype: ``torch.float16`` or ``torch.bfloat16``, the autocast type.
        max_norm: None (no clipping) or a float > 0: clip the total 2-norm of
            the TRUE (unscaled) gradients of all parameters to ``max_norm``
            with ``torch.nn.utils.clip_grad_norm_``.

    Returns:
        The loss of this batch as a detached float32 0-dim tensor on the device
        of x (computed before the update). x and y are not modified. As side
        effects: the gradients are cleared first; the forward pass and the
        loss run under
        ``torch.autocast(device_type=x.device.type, dtype=amp_dtype)``;
        ``scaler.scale(loss).backward()`` runs outside autocast; the update
        goes through ``scaler.step(optimizer)`` (skipped when a gradient is
        inf or nan) followed by ``scaler.update()``. After the call each
        ``.grad`` holds the unscaled (and clipped) gradient of this batch.
    """
    ### BEGIN SOLUTION
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast(device_type=x.device.type, dtype=amp_dtype):
        loss = loss_fn(model(x), y)
    scaler.scale(loss).backward()
    if max_norm is not None:
        scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    return loss.detach().float()
    ### END SOLUTION


# %%
# Try it: three steps of a tiny classifier (the scaler is enabled only for float16)
torch.manual_seed(0)
demo_model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
demo_opt = torch.optim.SGD(demo_model.parameters(), lr=0.5)
demo_scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
demo_x = torch.randn(16, 4, device=device)
demo_y = torch.randint(3, (16,), device=device)
for _ in range(3):
    print(amp_train_step(demo_model, nn.CrossEntropyLoss(), demo_opt, demo_scaler,
                         demo_x, demo_y, amp_dtype).item())

# %% grade_id="ch24-amp-train-step-tests" points=4
"""amp_train_step: on `device` with an enabled scaler (S = 2**10), the update
is SGD on the true autocast gradient (not the scaled one); the returned loss
is the float32 autocast loss, on `device`; autocast uses the `amp_dtype` it is
given (bfloat16 and float16 on a CPU; float16, and bfloat16 where supported,
on a GPU); with max_norm the gradients are unscaled, then clipped (norm =
max_norm); a step with an infinite loss is skipped and the scale halved
(scaler.update() called); x is not modified.

Hidden tests: other models, seeds and learning rates, with Adam."""
test_amp_dtype = torch.bfloat16 if device.type == "cpu" else torch.float16
# the other half-precision type, to check that amp_dtype is used (None: skipped)
if device.type == "cpu":
    other_amp_dtype = torch.float16
elif device.type == "cuda" and torch.cuda.is_bf16_supported():
    other_amp_dtype = torch.bfloat16
else:
    other_amp_dtype = None


def autocast_grads(model, loss_fn, x, y, amp_dtype, scale):
    """The loss and the true gradients of one autocast forward pass.

    The backward pass runs on loss * scale and the gradients are divided by
    scale afterwards, as a correct step with a GradScaler of that (power of
    two) scale does, so that the two agree to the last bit even in float16.
    """
    twin = copy.deepcopy(model)
    with torch.autocast(device_type=x.device.type, dtype=amp_dtype):
        loss = loss_fn(twin(x), y)
    (loss * scale).backward()
    return loss.detach().float(), [p.grad / scale for p in twin.parameters()]


def check_amp_step(seed, lr, max_norm=None, use_adam=False, amp_dtype=None):
    """One amp_train_step against the update built from the true gradients."""
    amp_dtype = amp_dtype or test_amp_dtype
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 9), nn.GELU(), nn.Linear(9, 4)).to(device)
    for p in model.parameters():  # stale gradients the step must clear first
        p.grad = torch.ones_like(p)
    x = torch.randn(11, 6, device=device) * 3
    y = torch.randint(4, (11,), device=device)
    loss_fn = nn.CrossEntropyLoss()
    want_loss, grads = autocast_grads(model, loss_fn, x, y, amp_dtype, 2.0 ** 10)
    if max_norm is not None:
        norm = torch.linalg.vector_norm(torch.stack(
            [torch.linalg.vector_norm(g) for g in grads]))
        grads = [g * min(1.0, max_norm / (norm.item() + 1e-6)) for g in grads]
    twin = copy.deepcopy(model)
    make = (lambda ps: torch.optim.Adam(ps, lr=lr)) if use_adam else (
        lambda ps: torch.optim.SGD(ps, lr=lr))
    twin_opt = make(twin.parameters())
    for p, g in zip(twin.parameters(), grads, strict=True):
        p.grad = g
    twin_opt.step()
    scaler = torch.amp.GradScaler(device.type, init_scale=2.0 ** 10)
    saved_x = x.clone()
    label = (f"amp_train_step(seed={seed}, lr={lr}, max_norm={max_norm}, "
             f"amp_dtype={amp_dtype})")
    got_loss = amp_train_step(model, loss_fn, make(model.parameters()), scaler, x, y,
                              amp_dtype, max_norm)
    # the same autocast computation: only rounding of the last bits may differ
    assert_close(got_loss, want_loss, rtol=1e-5, atol=1e-6,
                 name=f"{label}: returned loss (float32, autocast)")
    assert got_loss.device == want_loss.device, (
        f"{label}: the returned loss is on {got_loss.device}, expected "
        f"{want_loss.device}")
    assert torch.equal(x, saved_x), f"{label}: x was modified"
    for (name, p), q, g in zip(model.named_parameters(), twin.parameters(), grads,
                               strict=True):
        assert p.grad is not None, f"{label}: {name}.grad is None after the step"
        assert_close(p.grad, g, rtol=1e-4, atol=1e-6,
                     name=f"{label}: {name}.grad after the step (true gradient)")
        assert_close(p.detach(), q.detach(), rtol=1e-4, atol=1e-6,
                     name=f"{label}: {name} after the step")
    assert scaler.get_scale() == 2.0 ** 10, (
        f"{label}: a finite step should keep the scale at 1024, got "
        f"{scaler.get_scale()}")


check_amp_step(seed=0, lr=0.1)
check_amp_step(seed=1, lr=0.2, max_norm=0.05)
if other_amp_dtype is not None:
    check_amp_step(seed=2, lr=0.1, amp_dtype=other_amp_dtype)

# a loss that is infinite: the step is skipped and the scale halved
torch.manual_seed(2)
inf_model = nn.Linear(3, 2).to(device)
before = [p.detach().clone() for p in inf_model.parameters()]
inf_scaler = torch.amp.GradScaler(device.type, init_scale=2.0 ** 10)
amp_train_step(inf_model, lambda out, y: out.sum() * float("inf"),
               torch.optim.SGD(inf_model.parameters(), lr=0.1), inf_scaler,
               torch.randn(4, 3, device=device), None, test_amp_dtype)
for p, b in zip(inf_model.parameters(), before, strict=True):
    assert torch.equal(p.detach(), b), "a step with inf gradients was not skipped"
assert inf_scaler.get_scale() == 2.0 ** 9, (
    f"after an overflow the scale should halve to 512, got {inf_scaler.get_scale()} "
    "(was scaler.update() called?)")
### BEGIN HIDDEN TESTS
for _seed, _lr, _norm, _adam in [(3, 0.05, None, True), (4, 0.3, 0.02, False),
                                 (5, 0.01, 0.1, True), (6, 0.15, None, False)]:
    check_amp_step(_seed, _lr, _norm, _adam)
if other_amp_dtype is not None:
    check_amp_step(7, 0.05, 0.1, True, amp_dtype=other_amp_dtype)
### END HIDDEN TESTS

# %% [markdown]
# ### Training with mixed precision and a schedule
#
# Everything so far in one loop: a classifier of the 8x8 digits trained with
# `amp_train_step` (bfloat16 on a CPU, float16 with an enabled scaler on a
# GPU) and `warmup_cosine` driving a `LambdaLR`. The bar: **at least 95 %
# test accuracy**. `NUM_EPOCHS` is the knob.

# %%
NUM_EPOCHS = 20  # knob: more epochs train longer
BATCH_SIZE = 64

set_seed(0)
X, y = load_digits(images=False)
X_train, X_test, y_train, y_test = train_test_split(X, y, 0.25, seed=0)
X_train, y_train = X_train.to(device), y_train.to(device)
X_test, y_test = X_test.to(device), y_test.to(device)
model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)).to(device)
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
steps_per_epoch = math.ceil(len(X_train) / BATCH_SIZE)
total_steps = NUM_EPOCHS * steps_per_epoch
scheduler = torch.optim.lr_scheduler.LambdaLR(
    optimizer, lambda t: warmup_cosine(t, total_steps // 10, total_steps))
scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
losses, rates = [], []
for _epoch in progress(range(NUM_EPOCHS), desc="epochs"):
    order = torch.randperm(len(X_train), device=device)
    for start in range(0, len(X_train), BATCH_SIZE):
        rows = order[start:start + BATCH_SIZE]
        rates.append(scheduler.get_last_lr()[0])
        losses.append(amp_train_step(model, nn.CrossEntropyLoss(), optimizer, scaler,
                                     X_train[rows], y_train[rows], amp_dtype).item())
        scheduler.step()
with torch.no_grad(), torch.autocast(device_type=device.type, dtype=amp_dtype):
    accuracy = (model(X_test).argmax(dim=1) == y_test).float().mean().item()

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.2))
ax1.plot(losses, label=f"training loss ({amp_dtype})")
ax1.set_xlabel("step")
ax1.set_ylabel("cross-entropy")
ax1.set_title("Mixed-precision training on digits")
ax1.legend()
ax2.plot(rates, color="tab:orange", label="LambdaLR(warmup_cosine)")
ax2.set_xlabel("step")
ax2.set_ylabel("learning rate")
ax2.set_title("The schedule it followed")
ax2.legend()
fig.tight_layout()
plt.show()
check_bar("test accuracy", accuracy, 0.95)

# %% [markdown]
# ## 24.4 Data parallelism with DDP
#
# ### Why averaging gradients is exact
#
# With $P$ processes (one per GPU, or here one per CPU core), **data
# parallelism** gives every process a full copy of the model and a different
# shard of each batch. If the batch of $N = P n$ examples is split into $P$
# shards $S_1, \dots, S_P$ of $n$ examples each and every process $r$
# computes the gradient $g_r$ of the mean loss of its shard, then
#
# $$\nabla_\theta \frac{1}{N}\sum_{i=1}^{N} \ell_i
#   = \frac{1}{P} \sum_{r=1}^{P} \underbrace{\nabla_\theta \frac{1}{n}
#     \sum_{i \in S_r} \ell_i}_{g_r} .$$
#
# So if every process replaces its gradient by the **average** over processes
# and applies the same optimizer step, all copies stay identical and the
# training is that of one process on the whole batch, up to $P$ times
# faster. The shards must be of equal size: with unequal shards the plain
# average gives each example of a small shard more weight than the others,
# the same mistake as dividing by $K$ in section 24.2 (`DistributedSampler`
# below pads the data so that every process gets as many examples).
#
# ### All-reduce
#
# The averaging is one collective operation, the **all-reduce**: every
# process contributes a tensor and every process receives the elementwise
# sum. `torch.distributed.all_reduce(t)` does it in place (the default
# operation is `ReduceOp.SUM`); dividing by the number of processes gives the
# average. The usual algorithm, the **ring all-reduce**, passes chunks of
# $1/P$ of the tensor around a ring of processes, $P - 1$ steps to sum them
# and $P - 1$ steps to share the sums, so each process sends $2 (P - 1)/P$
# times the size of the gradients, almost independent of $P$.
#
# ### DistributedDataParallel
#
# `torch.nn.parallel.DistributedDataParallel` (DDP) wraps a model and does
# the averaging for you: at construction it broadcasts the parameters of
# process 0 so every copy starts equal; during `backward()` it groups the
# gradients into buckets and starts the all-reduce of each bucket as soon as
# its gradients are ready, so communication overlaps with the rest of the
# backward pass. The older `nn.DataParallel` runs one process that copies
# the model to every GPU at every step and gathers the outputs on one GPU;
# PyTorch recommends DDP even on a single machine.
#
# A DDP program is one script that every process runs. Each process needs to
# know who it is and how to reach the others: **torchrun** (the command
# `torchrun`, or `python -m torch.distributed.run`) starts the processes and
# gives each the environment variables `RANK` (0 to $P-1$), `LOCAL_RANK`
# (its index on this machine, used to pick its GPU), `WORLD_SIZE` ($P$) and
# `MASTER_ADDR`/`MASTER_PORT` (where process 0 waits for the others), which
# `dist.init_process_group(backend)` reads. The **backend** carries the
# messages: `nccl` between NVIDIA GPUs (it needs one GPU per process) and
# `gloo` everywhere else, including CPUs. A script that hard-codes `nccl`
# fails on a machine without GPUs; the scripts below choose at run time.
#
# Every process must also see **different data**. `DistributedSampler` gives
# process $r$ the examples $r, r + P, r + 2P, \dots$ of a permutation that
# all processes draw from the same seed; call `sampler.set_epoch(epoch)` at
# the start of each epoch, or every epoch uses the same order.
#
# The data: three interleaved spirals in the plane, 600 points, made from a
# seed so that every process builds exactly the same set.

# %%
def spirals(num_points=600, seed=0):
    """Three noisy spirals: X (num_points, 2) float32, y (num_points,) int64."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(num_points) % 3
    radius = torch.rand(num_points, generator=gen)
    angle = 4.0 * radius + labels * (2 * math.pi / 3)
    angle = angle + 0.25 * torch.randn(num_points, generator=gen)
    points = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], 1)
    return points, labels


spiral_x, spiral_y = spirals()
fig, ax = plt.subplots(figsize=(4, 4))
for label in range(3):
    chosen = spiral_y == label
    ax.scatter(spiral_x[chosen, 0], spiral_x[chosen, 1], s=6, label=f"class {label}")
ax.set_xlabel("$x_1$")
ax.set_ylabel("$x_2$")
ax.set_title("The spirals every DDP process builds")
ax.legend()
plt.show()

# %% [markdown]
# ### A DDP training script
#
# The function below is what each process runs. It picks the backend and
# the device, joins the group, wraps the model in DDP, trains with a
# `DistributedSampler`, and finally checks that the copies of the weights on
# the two processes are identical (an `all_gather` of the flattened weights).
# Only process 0 writes the results. A last `dist.barrier()` lets no process
# tear its connections down while the other may still be using them, and
# `destroy_process_group` then closes them cleanly. The timeout of
# `init_process_group` turns a process that waits for ever (a collective
# that only some processes call) into an error after a minute.

# %%
def ddp_train_worker(out_dir, num_epochs=30):
    """One process of the DDP demo (run by torchrun, never in the notebook)."""
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ["LOCAL_RANK"])
    use_nccl = torch.cuda.is_available() and torch.cuda.device_count() >= world
    run_on = torch.device("cuda", local_rank) if use_nccl else torch.device("cpu")
    if use_nccl:
        torch.cuda.set_device(run_on)
    dist.init_process_group("nccl" if use_nccl else "gloo",
                            timeout=timedelta(seconds=60))
    data = TensorDataset(*spirals())
    sampler = DistributedSampler(data, num_replicas=world, rank=rank, seed=0)
    loader = DataLoader(data, batch_size=32, sampler=sampler)  # 32 per process
    torch.manual_seed(rank)  # different on purpose: DDP broadcasts rank 0's weights
    model = nn.Sequential(nn.Linear(2, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(),
                          nn.Linear(64, 3)).to(run_on)
    ddp_model = DDP(model, device_ids=[local_rank] if use_nccl else None)
    optimizer = torch.optim.Adam(ddp_model.parameters(), lr=0.01)
    losses = []
    for epoch in range(num_epochs):
        sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on all ranks
        total = torch.zeros(2, device=run_on)
        for xb, yb in loader:
            xb, yb = xb.to(run_on), yb.to(run_on)
            loss = F.cross_entropy(ddp_model(xb), yb)
            optimizer.zero_grad()
            loss.backward()  # DDP averages the gradients across processes here
            optimizer.step()
            total += torch.stack([loss.detach() * len(yb), torch.tensor(
                float(len(yb)), device=run_on)])
        dist.all_reduce(total)  # the epoch's mean loss over all processes
        losses.append((total[0] / total[1]).item())
    flat = torch.nn.utils.parameters_to_vector(model.parameters()).detach()
    copies = [torch.empty_like(flat) for _ in range(world)]
    dist.all_gather(copies, flat)
    x_all, y_all = data.tensors
    with torch.no_grad():
        accuracy = (model(x_all.to(run_on)).argmax(1).cpu() == y_all).float().mean()
    if rank == 0:
        torch.save({"backend": dist.get_backend(), "world": world, "losses": losses,
                    "weight_gap": max((c - flat).abs().max().item() for c in copies),
                    "accuracy": accuracy.item()}, Path(out_dir) / "result.pt")
    dist.barrier()  # no process leaves while another still talks to it
    dist.destroy_process_group()


# %% [markdown]
# ### Launching torchrun from the notebook
#
# `launch` writes the source of the functions it is given into a script in a
# temporary folder, with the imports they need, and runs it with
# `python -m torch.distributed.run --standalone --nproc-per-node 2`:
# `--standalone` starts a rendezvous on this machine on a free port, and
# `--local-addr 127.0.0.1` makes the processes meet on the loopback
# interface even where the host name does not resolve. Each process gets
# `OMP_NUM_THREADS=1`, so two processes use two cores instead of fighting
# over them. The output of the processes is shown only when something fails.
#
# A process that dies from a signal, not from an error in the script, is
# bad luck rather than a bug in your code: on a busy machine we have seen a
# gloo process abort (`SIGABRT`) on rare runs. `launch` then prints what
# happened and starts torchrun once more; an error in the script (a Python
# exception) is raised at once. The tests of exercise 4 do the same.

# %%
SCRIPT_HEADER = """\
import math
import os
import sys
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset
"""


def launch(functions, call, nproc=2, timeout=300, attempts=2):
    """Run `call` (a line of Python) in `nproc` processes started by torchrun.

    `functions` are put into the script with their source; the script's first
    argument, `sys.argv[1]`, is a fresh folder whose files are returned as a
    dict {file name: torch.load(file)}. A run whose first failing process was
    killed by a signal (not a Python error) is started again, up to `attempts`
    runs in all.
    """
    for attempt in range(1, attempts + 1):
        with tempfile.TemporaryDirectory() as folder:
            script = Path(folder) / "ddp_script.py"
            parts = [SCRIPT_HEADER] + [inspect.getsource(f) for f in functions]
            parts.append(f'if __name__ == "__main__":\n    {call}\n')
            script.write_text("\n\n".join(parts))
            command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                       "--local-addr", "127.0.0.1", "--nproc-per-node", str(nproc),
                       str(script), folder]
            env = dict(os.environ, OMP_NUM_THREADS="1")
            proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True,
                                    start_new_session=True)
            try:
                output, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # torchrun and its processes
                output, _ = proc.communicate()
                raise RuntimeError(
                    f"torchrun took over {timeout} s:\n{output[-2000:]}") from None
            if proc.returncode == 0:
                return {p.name: torch.load(p) for p in Path(folder).glob("*.pt")}
        if "NotImplementedError" in output:
            raise NotImplementedError("a process raised NotImplementedError")
        # torchrun lists each failed process with its exit code: -N means
        # killed by signal N (SIGTERM, -15, is what torchrun sends the others)
        codes = re.findall(r"exitcode\s*:\s*(-?\d+)", output)
        killed = any(int(code) < 0 and int(code) != -signal.SIGTERM for code in codes)
        if not killed or attempt == attempts:
            raise RuntimeError(f"torchrun failed (run {attempt} of at most "
                               f"{attempts}):\n{output[-3000:]}")
        print(f"run {attempt}: a process was killed by a signal, not by an error "
              f"in the script; starting torchrun again. Its output:\n"
              f"{output[-1500:]}")


ddp_result = launch([spirals, ddp_train_worker], "ddp_train_worker(sys.argv[1])")
print(f"backend {ddp_result['result.pt']['backend']}, "
      f"{ddp_result['result.pt']['world']} processes")
print(f"largest difference between the two copies of the weights: "
      f"{ddp_result['result.pt']['weight_gap']:.1e}")
print(f"accuracy on the spirals: {ddp_result['result.pt']['accuracy']:.3f}")
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(ddp_result["result.pt"]["losses"], label="mean over both processes")
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.set_title("DDP on 2 processes")
ax.legend()
plt.show()

# %% [markdown]
# Each process started with different random weights (`torch.manual_seed(rank)`)
# and saw only half of the data, yet the two copies end identical: DDP
# broadcast the weights of process 0 at the start and averaged every
# gradient. On a machine with two or more GPUs the same script picks `nccl`
# and one GPU per process.

# %% [markdown]
# ### Exercise 4: `average_gradients` (4 points)
#
# Write the averaging that DDP does for you, by hand: after `backward()` on
# its own shard, every process calls `average_gradients(model)`, which
# replaces each gradient by its average over all processes, with
# `dist.all_reduce` and a division by `dist.get_world_size()`. The default
# `ReduceOp.SUM` followed by the division works with every backend;
# `ReduceOp.AVG` does the division for you with `nccl`, but older versions
# of `gloo` reject it (the PyTorch of this course accepts it). When
# `torch.distributed` is not initialized (an ordinary single-process run)
# there is nothing to average and the function returns at once, so the same
# training code runs with one process or many.
#
# The tests run your function in real processes: they write its source into
# a script (so it may use only `torch` and `dist`, `torch.distributed`,
# imported as in this notebook) and check, on each of two processes, that it
# gives the same gradients as DDP and as one process on the whole batch; then
# again in a group of a single process, where the average is the gradient
# itself (so the division must be by the world size, whatever it is). To
# save the few seconds that torchrun's own start costs, the tests start the
# processes themselves, with the environment variables torchrun would
# give them (`RANK`, `WORLD_SIZE`, `MASTER_ADDR`, `MASTER_PORT`...): the
# script cannot tell the difference.

# %% grade_id="ch24-average-gradients"
def average_gradients(model):
    """Average the gradients of ``model`` over all processes, in place.

    P is the number of processes, ``dist.get_world_size()``.

    Args:
        model: an ``nn.Module``, the same architecture in every process, after
            ``backward()`` on this process's shard. Its parameters may be on
            the CPU (backend gloo) or on this process's GPU (nccl), in any
            floating dtype.

    Returns:
        None. Each parameter whose ``.grad`` is not None has its ``.grad``
        replaced by the mean over the P processes of their ``.grad``
        (``dist.all_reduce`` with the default ``ReduceOp.SUM``, then divided
        by P; ``ReduceOp.AVG`` is accepted too, but older versions of gloo
        lack it). Parameters whose ``.grad`` is
        None are skipped (every process skips the same ones). The parameter
        values are not changed. When ``torch.distributed`` is not available
        or not initialized, nothing is changed.

    Uses only ``torch`` and ``dist`` (``torch.distributed``): the tests copy
    the source of this function into a script run by two processes.
    """
    ### BEGIN SOLUTION
    if not dist.is_available() or not dist.is_initialized():
        return
    world = dist.get_world_size()
    for param in model.parameters():
        if param.grad is not None:
            dist.all_reduce(param.grad, op=dist.ReduceOp.SUM)
            param.grad /= world
    ### END SOLUTION


# %% grade_id="ch24-average-gradients-tests" points=4
"""average_gradients: without a process group nothing changes (on `device`). In 2
real processes set up as torchrun does (gloo on the CPU, nccl with 2 GPUs), then
in 1 (P = 1: the mean is the gradient itself), each process's gradients equal
DDP's and those of one process on the whole batch (float64 with a frozen layer;
float32 with one example per process); the parameters are not changed.

Hidden tests: other sizes, seeds and dtypes in the same run."""
torch.manual_seed(0)
solo = nn.Linear(3, 2).to(device, torch.float64)
solo(torch.randn(4, 3, device=device, dtype=torch.float64)).sum().backward()
solo_grads = [p.grad.clone() for p in solo.parameters()]
assert average_gradients(solo) is None, "average_gradients should return None"
for p, g in zip(solo.parameters(), solo_grads, strict=True):
    assert torch.equal(p.grad, g), (
        "without torch.distributed initialized, average_gradients changed a "
        "gradient (it should do nothing)")



def gradient_check_worker(out_dir, cases):
    """Run by each process: one process vs DDP vs average_gradients, per case."""
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    use_nccl = torch.cuda.is_available() and torch.cuda.device_count() >= world
    run_on = (torch.device("cuda", int(os.environ["LOCAL_RANK"])) if use_nccl
              else torch.device("cpu"))
    if use_nccl:
        torch.cuda.set_device(run_on)
    dist.init_process_group("nccl" if use_nccl else "gloo",
                            timeout=timedelta(seconds=60))
    results = []
    for case in cases:
        dtype, per_rank = getattr(torch, case["dtype"]), case["per_rank"]
        n_in, n_hidden, n_out = case["sizes"]
        torch.manual_seed(case["seed"])
        model = nn.Sequential(nn.Linear(n_in, n_hidden), nn.Tanh(),
                              nn.Linear(n_hidden, n_out)).to(run_on, dtype)
        if case["frozen"]:
            model[0].requires_grad_(False)
        gen = torch.Generator().manual_seed(case["seed"] + 1)
        x = torch.randn(world * per_rank, n_in, generator=gen, dtype=dtype)
        y = torch.randn(world * per_rank, n_out, generator=gen, dtype=dtype)
        x, y = x.to(run_on), y.to(run_on)
        mine = slice(rank * per_rank, (rank + 1) * per_rank)  # this process's shard
        whole = copy.deepcopy(model)
        F.mse_loss(whole(x), y).backward()
        ddp_copy = copy.deepcopy(model)
        ddp = DDP(ddp_copy, device_ids=[run_on.index] if use_nccl else None)
        F.mse_loss(ddp(x[mine]), y[mine]).backward()
        manual = copy.deepcopy(model)
        F.mse_loss(manual(x[mine]), y[mine]).backward()
        before = [p.detach().clone() for p in manual.parameters()]
        average_gradients(manual)
        results.append({
            "whole": [None if p.grad is None else p.grad.cpu()
                      for p in whole.parameters()],
            "ddp": [None if p.grad is None else p.grad.cpu()
                    for p in ddp_copy.parameters()],
            "manual": [None if p.grad is None else p.grad.cpu()
                       for p in manual.parameters()],
            "kept": all(torch.equal(b, p.detach())
                        for b, p in zip(before, manual.parameters(), strict=True)),
        })
    torch.save(results, Path(out_dir) / f"rank{rank}.pt")
    dist.barrier()
    dist.destroy_process_group()


def run_processes(functions, call, nproc=2, timeout=300, attempts=2):
    """Run `call` in `nproc` processes, given the environment torchrun would set.

    The script holds the source of `functions`; its argument `sys.argv[1]` is a
    fresh folder whose .pt files are returned as {file name: contents}. A run
    in which a process was killed by a signal, or process 0 found its port
    taken, is started again (on a new port), up to `attempts` runs in all.
    """
    header = ("import copy\nimport os\nimport sys\nfrom datetime import timedelta\n"
              "from pathlib import Path\n\nimport torch\n"
              "import torch.distributed as dist\nimport torch.nn as nn\n"
              "import torch.nn.functional as F\n"
              "from torch.nn.parallel import DistributedDataParallel as DDP\n")
    for attempt in range(1, attempts + 1):
        with tempfile.TemporaryDirectory() as folder:
            script = Path(folder) / "check_script.py"
            parts = [header] + [inspect.getsource(f) for f in functions]
            script.write_text("\n\n".join(
                parts + [f'if __name__ == "__main__":\n    {call}\n']))
            with socket.socket() as probe:  # a free port where process 0 will listen
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            procs = []
            for rank in range(nproc):
                env = dict(os.environ, OMP_NUM_THREADS="1", MASTER_ADDR="127.0.0.1",
                           MASTER_PORT=str(port), RANK=str(rank),
                           LOCAL_RANK=str(rank), WORLD_SIZE=str(nproc),
                           LOCAL_WORLD_SIZE=str(nproc))
                procs.append(subprocess.Popen(
                    [sys.executable, str(script), folder], env=env, text=True,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
            output = ""
            try:
                for proc in procs:
                    output += proc.communicate(timeout=timeout)[0]
            except subprocess.TimeoutExpired:
                for proc in procs:
                    proc.kill()
                    proc.communicate()
                raise AssertionError(
                    "the processes did not finish in time (does every process "
                    "call the same collectives?)") from None
            codes = [proc.returncode for proc in procs]
            if not any(codes):
                return {p.name: torch.load(p) for p in Path(folder).glob("*.pt")}
        if "NotImplementedError" in output:
            raise NotImplementedError("average_gradients is not written yet")
        killed = [f"process {r} by signal {-c}" for r, c in enumerate(codes) if c < 0]
        if attempt == attempts or not (killed or "EADDRINUSE" in output):
            raise AssertionError(f"a process failed (exit codes {codes}, run "
                                 f"{attempt} of at most {attempts}):\n"
                                 f"{output[-3000:]}")
        print(f"run {attempt}: {', '.join(killed) or 'port taken'}, not an error "
              f"in the script; starting the processes again")


cases = [{"seed": 0, "sizes": (5, 7, 3), "per_rank": 6, "dtype": "float64",
          "frozen": True},
         {"seed": 1, "sizes": (4, 6, 2), "per_rank": 1, "dtype": "float32",
          "frozen": False}]
### BEGIN HIDDEN TESTS
cases.extend([{"seed": 2, "sizes": (9, 3, 5), "per_rank": 4, "dtype": "float64",
               "frozen": False},
              {"seed": 3, "sizes": (2, 11, 1), "per_rank": 7, "dtype": "float64",
               "frozen": True},
              {"seed": 4, "sizes": (6, 5, 4), "per_rank": 3, "dtype": "float32",
               "frozen": False}])
### END HIDDEN TESTS
worst = {"ddp": 0.0, "manual": 0.0}
for nproc in (2, 1):  # one process: the mean over P = 1 is the gradient itself
    files = run_processes([average_gradients, gradient_check_worker],
                          f"gradient_check_worker(sys.argv[1], {cases!r})",
                          nproc=nproc)
    for rank, case, found in [(r, c, f) for r in range(nproc) for c, f in
                              zip(cases, files[f"rank{r}.pt"], strict=True)]:
        tol = 1e-10 if case["dtype"] == "float64" else 1e-5
        assert found["kept"], f"process {rank}, {case}: parameter values changed"
        for kind, label in (("manual", "average_gradients"), ("ddp", "DDP")):
            for i, (got, want) in enumerate(zip(found[kind], found["whole"],
                                                strict=True)):
                where = (f"P = {nproc}, process {rank}, case {case}, parameter {i}: "
                         f"{label}")
                if want is None:
                    assert got is None, f"{where}: a gradient appeared"
                    continue
                assert got is not None, f"{where}: the gradient is None"
                assert_close(got, want, rtol=tol, atol=tol,
                             name=f"{where} vs one process on the whole batch")
                worst[kind] = max(worst[kind], (got - want).abs().max().item())
print(f"max |average_gradients - one process| = {worst['manual']:.1e}; "
      f"max |DDP - one process| = {worst['ddp']:.1e}")

# %% [markdown]
# ## 24.5 When the model does not fit: model parallelism and sharding
#
# Data parallelism copies the whole model to every device. A model of
# $\Psi$ parameters trained with Adam in mixed precision holds, per device,
# $2\Psi$ bytes of float16 weights, $2\Psi$ bytes of float16 gradients and
# $12\Psi$ bytes of optimizer state (a float32 master copy of the weights,
# Adam's first and second moments: $K = 12$ bytes per parameter), so
# $16\Psi$ bytes before a single activation is stored. A 7.5-billion-parameter
# model needs 120 GB that way: more than most GPUs have. Four ideas split
# the work differently (the picture below shows each with two or four
# devices):
#
# - **Data parallelism** (DDP): full copies, different data, gradients
#   all-reduced. Simple and efficient while the model fits.
# - **Tensor parallelism**: one layer is split across devices. For $Y = X W$
#   with $W$ split by columns, $W = [W_1\ W_2]$, device $d$ computes $X W_d$,
#   the part $d$ of the output; the next layer split by **rows** then adds
#   partial sums, $Y W' = Y_1 W'_1 + Y_2 W'_2$, with one all-reduce
#   (Megatron-LM splits the two linear layers of a transformer's MLP this
#   way). It needs fast links between devices, since it communicates inside
#   every layer.
# - **Pipeline parallelism**: consecutive layers live on different devices
#   (stages), and a batch is cut into micro-batches that flow through the
#   stages like an assembly line. While the first micro-batch fills the
#   pipeline the later stages wait: with $S$ stages and $M$ micro-batches
#   the idle fraction, the **bubble**, is $(S - 1)/(M + S - 1)$ in the
#   simple GPipe schedule.
# - **Fully sharded data parallelism** (FSDP in PyTorch, ZeRO in DeepSpeed):
#   data parallelism in which each of the $P$ devices keeps only $1/P$ of the
#   optimizer state, the gradients and the weights; the weights of a layer
#   are gathered (all-gather) just before it runs and freed after, and the
#   gradients are summed and scattered (reduce-scatter) so that each device
#   receives only its part.

# %%
def draw_parallelism():
    """Four sketches: data, tensor, pipeline and fully sharded parallelism."""
    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red"]

    def box(ax, x, y, w, h, color, text, alpha=0.35):
        ax.add_patch(Rectangle((x, y), w, h, color=color, alpha=alpha))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=8)

    ax = axes[0, 0]
    for d in range(2):
        box(ax, 0.5 + 5 * d, 5.5, 3.5, 3, colors[d], f"device {d}\nfull model")
        box(ax, 0.5 + 5 * d, 1.5, 3.5, 2, "gray", f"data shard {d}", alpha=0.2)
    ax.annotate("", (8.5, 9.2), (1.5, 9.2),
                arrowprops={"arrowstyle": "<->", "color": "k"})
    ax.text(5, 9.5, "all-reduce of the gradients", ha="center", fontsize=8)
    ax.set_title("Data parallelism (DDP)")

    ax = axes[0, 1]
    box(ax, 0.5, 4, 2, 4, "gray", "X", alpha=0.2)
    for d in range(2):
        box(ax, 3.5 + 1.5 * d, 4, 1.5, 4, colors[d], f"$W_{d + 1}$\ndev {d}")
        box(ax, 7 + 1.2 * d, 4, 1.2, 4, colors[d], f"$XW_{d + 1}$")
    ax.text(5, 2.5, "columns of W on different devices:\n"
            "each computes its part of the output", ha="center", fontsize=8)
    ax.set_title("Tensor parallelism (one layer split)")

    ax = axes[1, 0]
    stages, micro = 4, 6
    for s in range(stages):
        for m in range(micro):
            box(ax, (s + m) * 0.6, 8 - 2 * s, 0.6, 1.6, colors[m % 4], f"F{m + 1}")
            # GPipe: the backward passes start when every forward pass is done
            box(ax, (micro + 2 * stages - 2 - s + m) * 0.6, 8 - 2 * s, 0.6, 1.6,
                colors[m % 4], f"B{m + 1}", alpha=0.6)
        ax.text(-0.3, 8.8 - 2 * s, f"stage {s}", ha="right", va="center", fontsize=8)
    bubble = (stages - 1) / (micro + stages - 1)
    ax.set_title(f"Pipeline parallelism: {stages} stages, {micro} micro-batches, "
                 f"bubble {bubble:.0%}")
    ax.set_xlabel("time (F forward, B backward of micro-batch m; white = idle)")

    ax = axes[1, 1]
    for d in range(4):
        box(ax, 0.5 + 2.4 * d, 5.5, 2, 3, colors[d], f"dev {d}\n1/4 of weights,\n"
            "grads, Adam")
    ax.text(5, 3.8, "before a layer: all-gather its weights\n"
            "after backward: reduce-scatter its gradients", ha="center", fontsize=8)
    ax.set_title("Fully sharded data parallelism (FSDP / ZeRO-3)")
    for ax in axes.flat:
        ax.set_xlim(-2.5 if ax is axes[1, 0] else 0, 11 if ax is axes[1, 0] else 10)
        ax.set_ylim(0, 10.5)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("Four ways to spread training over devices")
    fig.tight_layout()
    plt.show()


draw_parallelism()

# %% [markdown]
# Tensor parallelism is only a matter of how the matrix products are cut.
# The next cell splits the two weight matrices of a small MLP between two
# pretend devices, columns for the first and rows for the second, and checks
# that the sum of the two partial outputs (the all-reduce) is the output of
# the whole MLP.

# %%
torch.manual_seed(0)
x_tp = torch.randn(5, 8, dtype=torch.float64)
W_in = torch.randn(8, 12, dtype=torch.float64)  # split by columns
W_out = torch.randn(12, 3, dtype=torch.float64)  # split by rows
full_out = torch.relu(x_tp @ W_in) @ W_out
partials = [torch.relu(x_tp @ W_in[:, half]) @ W_out[half]  # one per device
            for half in (slice(0, 6), slice(6, 12))]
print(f"max |sum of the two partial outputs - full MLP| = "
      f"{(partials[0] + partials[1] - full_out).abs().max().item():.1e}")

# %% [markdown]
# The ReLU can be applied on each device separately because it acts on each
# column of $X W_{\text{in}}$ alone; a layer that mixes the columns (a layer
# norm) would need the whole row first.
#
# The pipeline's bubble shrinks as the number of micro-batches grows. Move
# both sliders: the bubble fraction $(S - 1)/(M + S - 1)$ and the picture
# of the schedule change together.

# %%
def show_pipeline(stages=4, micro_batches=4):
    """GPipe schedule (forward passes only) and its idle fraction."""
    fig, ax = plt.subplots(figsize=(8, 2.8))
    for s in range(stages):
        for m in range(micro_batches):
            ax.add_patch(Rectangle((s + m, stages - 1 - s), 1, 0.8,
                                   color=plt.cm.tab10(m % 10), alpha=0.6))
    ax.set_xlim(0, stages + micro_batches - 1)
    ax.set_ylim(-0.2, stages)
    ax.set_yticks([stages - 1 - s + 0.4 for s in range(stages)])
    ax.set_yticklabels([f"stage {s}" for s in range(stages)])
    ax.set_xlabel("time step")
    bubble = (stages - 1) / (micro_batches + stages - 1)
    ax.set_title(f"{stages} stages, {micro_batches} micro-batches: "
                 f"{bubble:.0%} of the stage time is idle")
    ax.plot([], [], "s", color=plt.cm.tab10(0), label="one colour per micro-batch")
    ax.legend(loc="upper right", fontsize=8)
    return fig


interactive_plot(show_pipeline, stages=(2, 8, 1), micro_batches=(1, 32, 1))

# %% [markdown]
# ### Exercise 5: `zero_memory_per_device` (2 points)
#
# The ZeRO paper (Rajbhandari et al., 2020) counts the memory of the model
# states per device for mixed-precision Adam, $2\Psi$ (weights) $+\,2\Psi$
# (gradients) $+\,K\Psi$ (optimizer state, $K = 12$), and shards them over
# the $N_d$ data-parallel devices in three stages:
#
# | stage | what is sharded | bytes per device |
# |---|---|---|
# | 0 (plain DDP) | nothing | $(2 + 2 + K)\,\Psi$ |
# | 1 | optimizer state | $(2 + 2)\,\Psi + K\Psi / N_d$ |
# | 2 | + gradients | $2\Psi + (2 + K)\,\Psi / N_d$ |
# | 3 (FSDP's full sharding) | + weights | $(2 + 2 + K)\,\Psi / N_d$ |
#
# For $\Psi = 7.5 \times 10^9$ and $N_d = 64$ that is 120 GB, 31.41 GB,
# 16.64 GB and 1.88 GB (the cell after the exercise prints them).
# Activations, buffers and fragmentation come on top.

# %% grade_id="ch24-zero-memory"
def zero_memory_per_device(num_params, world_size, stage):
    """Bytes of model states per device for mixed-precision Adam under ZeRO.

    Args:
        num_params: the number of parameters Psi, an int or float > 0.
        world_size: N_d, the number of data-parallel devices, an int >= 1.
        stage: 0, 1, 2 or 3 (what is sharded, as in the table above).

    Returns:
        A Python float: the bytes per device, with 2 bytes per parameter for
        the float16 weights, 2 for the float16 gradients and K = 12 for the
        optimizer state (float32 master weights and Adam's two moments).

    Raises:
        ValueError: if stage is not 0, 1, 2 or 3, world_size < 1 or
            num_params <= 0.
    """
    ### BEGIN SOLUTION
    if stage not in (0, 1, 2, 3) or world_size < 1 or num_params <= 0:
        raise ValueError(f"bad arguments: num_params={num_params}, "
                         f"world_size={world_size}, stage={stage}")
    weights, grads, optim = 2.0 * num_params, 2.0 * num_params, 12.0 * num_params
    if stage >= 1:
        optim /= world_size
    if stage >= 2:
        grads /= world_size
    if stage >= 3:
        weights /= world_size
    return weights + grads + optim
    ### END SOLUTION


# %%
# Try it: the example of the ZeRO paper, in GB
print([round(zero_memory_per_device(7.5e9, 64, s) / 1e9, 2) for s in range(4)])

# %% grade_id="ch24-zero-memory-tests" points=2
"""zero_memory_per_device: the four stages for 7.5e9 parameters on 64 devices
(the ZeRO paper's example); one device shards nothing; a Python float;
ValueError for a stage outside 0..3, world_size < 1 or num_params <= 0.

Hidden tests: other sizes and device counts."""
psi = 7.5e9
for stage, want in enumerate([120e9, 30e9 + 12 * psi / 64, 15e9 + 14 * psi / 64,
                              16 * psi / 64]):
    got = zero_memory_per_device(psi, 64, stage)
    assert isinstance(got, float), (
        f"zero_memory_per_device returned {type(got).__name__}, expected a float")
    assert_close(got, want, rtol=1e-12, atol=1e-3,
                 name=f"zero_memory_per_device(7.5e9, 64, stage={stage})")
for stage in range(4):
    assert_close(zero_memory_per_device(1000, 1, stage), 16000.0, rtol=1e-12,
                 atol=1e-9, name=f"zero_memory_per_device(1000, 1, {stage})")
for bad in [(1000, 8, 4), (1000, 8, -1), (1000, 0, 1), (0, 8, 1)]:
    expect_raises(ValueError, zero_memory_per_device, *bad,
                  name=f"zero_memory_per_device{bad}")
### BEGIN HIDDEN TESTS
for _psi, _n in [(1.3e8, 3), (7e10, 1024), (12345, 7)]:
    _want = [16 * _psi, 4 * _psi + 12 * _psi / _n, 2 * _psi + 14 * _psi / _n,
             16 * _psi / _n]
    for _stage in range(4):
        assert_close(zero_memory_per_device(_psi, _n, _stage), _want[_stage],
                     rtol=1e-12, atol=1e-6,
                     name=f"zero_memory_per_device({_psi}, {_n}, {_stage})")
### END HIDDEN TESTS

# %% [markdown]
# The next plot shows how the memory per device falls with the number of
# devices for a 7.5-billion-parameter model: stages 1 and 2 level off at the
# part they do not shard, only stage 3 keeps falling.

# %%
devices = [1, 2, 4, 8, 16, 32, 64, 128, 256]
fig, ax = plt.subplots(figsize=(6.5, 3.4))
for stage in range(4):
    ax.plot(devices, [zero_memory_per_device(7.5e9, n, stage) / 1e9 for n in devices],
            "o-", label=f"stage {stage}")
ax.axhline(80, color="gray", ls=":", label="80 GB (one large GPU)")
ax.set_xscale("log", base=2)
ax.set_yscale("log")
ax.set_xlabel("data-parallel devices $N_d$")
ax.set_ylabel("GB of model states per device")
ax.set_title("ZeRO stages, 7.5e9 parameters, mixed-precision Adam")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# In PyTorch, full sharding is `torch.distributed.fsdp.fully_shard(module)`
# (FSDP2), applied to each transformer block and then to the whole model,
# inside the same `torchrun` script as DDP; its `reshard_after_forward`
# option trades memory for communication, and the older
# `FullyShardedDataParallel` wrapper with `ShardingStrategy.SHARD_GRAD_OP`
# corresponds to stage 2.
#
# ## 24.6 More speed for free (or nearly)
#
# A few switches that are worth knowing before reaching for more devices:
#
# - **Activation checkpointing** (`torch.utils.checkpoint.checkpoint`) keeps
#   only the inputs of chosen blocks in the forward pass and recomputes their
#   activations during the backward pass: about a third more compute for a
#   large cut in activation memory, which lets a bigger micro-batch fit.
# - **`torch.compile(model)`** fuses operations into fewer kernels. The
#   first call compiles, which takes seconds to minutes, so it pays off in
#   long runs of large models, not in the tiny models of a notebook.
# - **TF32** on NVIDIA GPUs from the Ampere generation:
#   `torch.backends.cuda.matmul.allow_tf32 = True` (or
#   `torch.set_float32_matmul_precision("high")`) runs float32 matrix
#   products on tensor cores with a 10-bit mantissa.
# - **The input pipeline**: `DataLoader(num_workers=..., pin_memory=True)`
#   and `tensor.to(device, non_blocking=True)` keep the GPU fed; a GPU that
#   waits for data gains nothing from the tricks above.
# - **Gradient clipping** (`clip_grad_norm_`) does not speed anything up but
#   makes large learning rates and low precision safer; with a scaler it
#   comes after `scaler.unscale_`.
#
# ## 24.7 Summary
#
# - A schedule multiplies the learning rate by $\lambda(t)$; warmup from 0
#   over $W$ steps and cosine decay to 0 at $T$ is the default of large
#   models, and `LambdaLR` turns any such function into a scheduler.
# - Gradient accumulation weights each micro-batch by $n_k / N$, so the sum
#   of its gradients is the gradient of the whole batch, including a last,
#   smaller micro-batch or group; batch normalization is the exception.
# - bfloat16 has float32's range and needs no scaler; float16 needs loss
#   scaling, which `torch.amp.GradScaler` adjusts on the fly; the step is
#   autocast forward and loss, scaled backward, unscale, clip, `scaler.step`,
#   `scaler.update`.
# - Averaging the gradients of equal shards over processes is exactly the
#   gradient of the whole batch: an all-reduce and a division, which DDP
#   performs bucket by bucket during the backward pass; `torchrun` starts the
#   processes, `gloo` serves CPUs and `nccl` GPUs.
# - When the model does not fit, tensor parallelism splits layers, pipeline
#   parallelism splits the depth (and pays a bubble), and FSDP/ZeRO shards
#   the optimizer state, the gradients and the weights over the data-parallel
#   devices.
#
# This is the last chapter of the course: the tools of this one are what
# turn the models of the earlier chapters, from the MLP to the transformer,
# into models trained on real data at real scale.
