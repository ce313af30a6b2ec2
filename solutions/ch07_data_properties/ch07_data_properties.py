# %% [markdown]
# # Chapter 07: Data properties: invariance, equivariance and preprocessing
#
# A cat photographed a little to the left is still a cat; "dog bites man" is not
# "man bites dog"; a spoken word means the same a second later or a little
# louder. Each kind of data comes with transformations that change the input but
# not its meaning, and with others that change everything. Good models respect
# the first kind, either because their architecture is built that way or because
# they were shown enough transformed examples. This chapter makes those
# properties precise, measures them on real layers, and then prepares images,
# text and tables the way each of them needs, offline.
#
# **You will learn**
# - what invariance and equivariance mean, and why they save data;
# - why convolution is translation-equivariant, where that breaks (borders,
#   strides, fully connected layers) and how global pooling turns it into
#   invariance;
# - what augmentation buys, measured: translations, rotations and scale changes
#   of handwritten digits;
# - why word order matters, what a bag of words loses, and how far dependencies
#   reach in real text;
# - the time, frequency and phase structure of audio, and noise at a chosen
#   signal-to-noise ratio;
# - preprocessing for each data type: per-channel image statistics from the
#   training set, an offline tokenizer, and scaling fitted on the training split
#   only (with the leak shown when it is not).
#
# **Graded exercises** (14 points)
#
# | exercise | points |
# |---|---|
# | `random_translate(images, max_shift, generator)` | 3 |
# | `is_translation_equivariant(layer, x, shift)` | 3 |
# | `bag_of_words(tokens, vocab)` | 2 |
# | `add_gaussian_noise(waveform, snr_db, generator=None)` | 3 |
# | `channel_stats(images)` | 2 |
# | `normalize_images(images, mean, std)` | 1 |
#
# Each exercise is a function whose docstring states its whole contract:
# shapes, dtypes, devices, edge cases and what is raised. Replace
# `raise NotImplementedError()` with your code and run the test cell below it.
# The visible tests show every rule the grader checks; hidden tests repeat them
# on other values, shapes and seeds.
#
# Nothing in this chapter downloads anything: the digits and the two photos ship
# with scikit-learn, the text is Python's own documentation, and the audio is
# generated.

# %%
import math
import re
from collections import Counter
from pydoc_data.topics import topics

import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_sample_images
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from dlcourse import get_device, progress, set_seed
from dlcourse.checks import assert_close, assert_shape, expect_raises
from dlcourse.data import load_digits, load_tabular, train_test_split
from dlcourse.plotting import plot_images
from dlcourse.widgets import interactive_plot

device = get_device()  # the tests also run your code on this device
set_seed(0)
print(f"torch {torch.__version__}, device: {device}")

# %% [markdown]
# ## 7.1 Symmetries: invariance and equivariance
#
# Let $T$ be a transformation of inputs (shift an image by two pixels, raise the
# volume of a recording) and $f$ a function of the input (a layer, a network).
#
# - $f$ is **invariant** to $T$ if transforming the input does not change the
#   output: $f(T x) = f(x)$. A digit classifier should be invariant to small
#   shifts: the label does not move.
# - $f$ is **equivariant** to $T$ if transforming the input transforms the
#   output in a matching way: $f(T x) = T' f(x)$, often with $T' = T$. A
#   segmentation network should be equivariant to shifts: shift the photo and
#   the predicted mask shifts with it.
#
# Invariance is the special case $T' = \text{identity}$. The transformations of
# interest usually form a **group** (shifts can be composed and undone), and if
# $f$ is equivariant and $g$ is invariant then $g \circ f$ is invariant: this is
# how a convolutional network is assembled, equivariant feature extractors
# followed by a pooling step that forgets *where* and keeps *what*.
#
# Why care? A model that has a symmetry built in does not need to learn it from
# data. A fully connected layer that sees a $28 \times 28$ image must learn
# "a vertical stroke" separately at every one of the 784 positions; a
# convolution learns it once and reuses it everywhere (weight sharing). This
# prior knowledge is called an **inductive bias**. There are two ways to give a
# model a symmetry:
#
# 1. **Architecture**: build it in (convolutions for shifts, pooling for
#    invariance, recurrent and attention layers for sequences).
# 2. **Data augmentation**: train on transformed copies of the examples, so the
#    model learns the symmetry approximately.
#
# Which transformations are symmetries depends on the data *and* the task:
#
# - **photos**: small shifts, changes of scale, small rotations, left-right
#   flips and brightness are usually harmless; a large rotation turns a 6 into
#   a 9, and a flip mirrors any text in the picture;
# - **text**: almost nothing is harmless; reordering words or dropping a "not"
#   changes the meaning;
# - **audio**: a time shift, a gain change and a little noise are harmless;
#   reversing time is not, and a pitch shift changes who seems to speak;
# - **tables**: the order of the rows is irrelevant; the columns each have
#   their own meaning and unit.

# %% [markdown]
# ## 7.2 Images: translation as augmentation
#
# Shifting an image by $(d_y, d_x)$ pixels moves the content $d_y$ rows down and
# $d_x$ columns right. Pixels that leave the frame are lost and the uncovered
# band must be filled with something; here we fill it with zeros (black), which
# suits digits on a black background:
#
# $$\text{out}[c, i, j] = \begin{cases}
#   x[c,\, i - d_y,\, j - d_x] & \text{if } 0 \le i - d_y < H
#   \text{ and } 0 \le j - d_x < W,\\
#   0 & \text{otherwise.}\end{cases}$$
#
# `torch.roll` is *not* this: it wraps the content around, so what leaves on the
# right re-enters on the left. For a digit that makes a stroke appear on the
# wrong side of the picture.
#
# As an augmentation, every image of a mini-batch gets its **own** random shift,
# drawn afresh at every epoch, so the network sees each digit at many positions.
# One shift for the whole batch would teach much less: all 64 images of the
# batch would move together.

# %% [markdown]
# ### Exercise 1: `random_translate` (3 points)
#
# Shift each image of a batch by its own random integer offset, drawn uniformly
# from $\{-m, \dots, m\}$ for the rows and, independently, for the columns, with
# zero fill. All randomness comes from the `generator` argument, so that a seeded
# generator reproduces the same augmentation. Hint: `torch.randint(low, high,
# size, generator=generator)` draws integers in `[low, high)` (note the open
# upper end) on the CPU; padding with `F.pad` and slicing is one way to shift,
# index arithmetic with a mask is another.

# %% grade_id="ch07-random-translate"
def random_translate(images, max_shift, generator):
    """Shift every image by its own random (dy, dx), filling the uncovered band with 0.

    N is the batch size, C the number of channels, H the height and W the width.

    Args:
        images: floating-point tensor of shape (N, C, H, W) on any device.
        max_shift: int m >= 0, the largest shift in pixels.
        generator: a torch.Generator on the CPU; every random number must come
            from it (draw on the CPU, then use the numbers on images.device).

    Returns:
        Tensor of shape (N, C, H, W) with the dtype and device of ``images``.
        For each image n, integers dy_n and dx_n are drawn independently and
        uniformly from {-m, ..., m} (both ends included; a new pair for every
        image), and all channels of that image are shifted by them:

            out[n, c, i, j] = images[n, c, i - dy_n, j - dx_n]
                if 0 <= i - dy_n < H and 0 <= j - dx_n < W, else 0.

        Positive dy moves the content down, positive dx moves it right. Content
        that leaves the frame is lost (no wrap-around as with torch.roll). m may
        exceed H or W: an image shifted that far is all zeros. With m = 0 the
        result equals ``images``. ``images`` is not modified. The same
        generator state gives the same result.

    Raises:
        ValueError: if max_shift < 0.
    """
    ### BEGIN SOLUTION
    if max_shift < 0:
        raise ValueError(f"max_shift must be >= 0, got {max_shift}")
    n_images, _, height, width = images.shape
    m = max_shift
    shifts = torch.randint(-m, m + 1, (n_images, 2), generator=generator).tolist()
    padded = F.pad(images, (m, m, m, m))  # a frame of m zeros around every image
    out = torch.empty_like(images)
    for n, (dy, dx) in enumerate(shifts):
        out[n] = padded[n, :, m - dy:m - dy + height, m - dx:m - dx + width]
    return out
    ### END SOLUTION


# %% [markdown]
# Try it on handwritten digits. scikit-learn's digits are $8 \times 8$ and fill
# their frame, so we first add a border of two black pixels: a shift of up to 2
# then moves the digit without cutting it.

# %%
digits, digit_labels = load_digits(images=True)  # (1797, 1, 8, 8), values in [0, 1]
digits = F.pad(digits, (2, 2, 2, 2))  # (1797, 1, 12, 12): room to move
examples = digits[:8].repeat_interleave(3, dim=0)  # each digit three times
moved = random_translate(examples, 2, torch.Generator().manual_seed(0))
fig = plot_images(moved, labels=digit_labels[:8].repeat_interleave(3).tolist(),
                  ncols=12, size=0.9)
fig.suptitle("Each copy gets its own random shift (max_shift = 2)", y=1.02)
plt.show()

# %% grade_id="ch07-random-translate-tests" points=3
"""random_translate: every output image is its input shifted by some (dy, dx) in
[-m, m] with zero fill (the shift is found by trying them all); each image has its
own shift, all pairs appear about equally often; float64 and the device kept; input
not modified; seeded generator reproduces; m = 0 is a copy; m > H is allowed;
ValueError for m < 0."""


def shifts_found(out, images, m):
    """For each image, the list of (dy, dx) in [-m, m]^2 that explain out[n]."""
    H, W = images.shape[-2:]
    found = [[] for _ in range(len(images))]
    for dy in range(-m, m + 1):
        for dx in range(-m, m + 1):
            rows = torch.arange(H, device=images.device) - dy  # source row of row i
            cols = torch.arange(W, device=images.device) - dx
            inside = ((rows >= 0) & (rows < H))[:, None] & ((cols >= 0) & (cols < W))
            src = images[:, :, rows.clamp(0, H - 1)][:, :, :, cols.clamp(0, W - 1)]
            want = torch.where(inside, src, torch.zeros_like(src))
            same = torch.isclose(out, want, rtol=1e-5, atol=1e-6).flatten(1).all(1)
            for n in torch.nonzero(same).flatten().tolist():
                found[n].append((dy, dx))
    return found


images = 0.5 + torch.rand(450, 2, 5, 7, dtype=torch.float64,
                          generator=torch.Generator().manual_seed(1)).to(device)
before = images.clone()
out = random_translate(images, 1, torch.Generator().manual_seed(0))
assert_shape(out, (450, 2, 5, 7), name="random_translate(images (450, 2, 5, 7), 1, g)")
assert out.dtype == torch.float64, f"dtype {out.dtype}, expected torch.float64"
assert out.device == images.device, f"result on {out.device}, expected {images.device}"
assert torch.equal(images, before), "random_translate modified its input"
found = shifts_found(out, images, 1)
bad = [n for n, f in enumerate(found) if not f]
assert not bad, (
    f"images {bad[:5]}... are not their input shifted by any (dy, dx) in [-1, 1]^2 "
    "with zero fill (torch.roll wraps around instead of filling with 0)")
counts = Counter(f[0] for f in found)
assert len(counts) == 9 and min(counts.values()) >= 15, (
    "with max_shift = 1, each of the 9 pairs (dy, dx) should be drawn for about 1/9 "
    f"of 450 images (one new pair per image, both ends included); got {dict(counts)}")
again = random_translate(images, 1, torch.Generator().manual_seed(0))
torch.manual_seed(123)  # the global generator must play no part
assert torch.equal(random_translate(images, 1, torch.Generator().manual_seed(0)),
                   again), "the same generator seed gave different results"
assert not torch.equal(random_translate(images, 1, torch.Generator().manual_seed(5)),
                       again), "different generator seeds gave the same result"
assert_close(random_translate(images, 0, torch.Generator()), images,
             name="random_translate(images, max_shift=0, g) (a copy)")
small = 1 + torch.rand(40, 1, 2, 3, dtype=torch.float64).to(device)
found = shifts_found(random_translate(small, 4, torch.Generator().manual_seed(2)),
                     small, 4)
assert all(found), "with max_shift = 4 > H, W some outputs match no shift in range"
expect_raises(ValueError, random_translate, images, -1, torch.Generator(),
              name="random_translate(images, max_shift=-1, g)")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(11)
_x = (0.5 + torch.rand(600, 3, 6, 5, generator=_gen)).to(device)  # float32
_before = _x.clone()
_out = random_translate(_x, 2, torch.Generator().manual_seed(3))
assert_shape(_out, (600, 3, 6, 5), name="random_translate(float32 (600, 3, 6, 5), 2)")
assert _out.dtype == torch.float32, f"dtype {_out.dtype}, expected torch.float32"
assert _out.device == _x.device, f"result on {_out.device}, expected {_x.device}"
assert torch.equal(_x, _before), "random_translate modified its float32 input"
_found = shifts_found(_out, _x, 2)
assert all(len(_f) == 1 for _f in _found), (
    "with max_shift = 2 some float32 images are not a zero-filled shift of their "
    "input by a pair in [-2, 2]^2")
_pairs = [_f[0] for _f in _found]
assert len(set(_pairs)) >= 20, f"only {len(set(_pairs))} of 25 pairs drawn in 600"
for _axis in (0, 1):
    _c = Counter(_p[_axis] for _p in _pairs)
    assert all(70 <= _c[_v] <= 170 for _v in range(-2, 3)), (
        f"shift along axis {'yx'[_axis]}: expected each of -2..2 about 120 times in "
        f"600 images, got {dict(_c)}")
_same = sum(_p[0] == _p[1] for _p in _pairs)
assert _same < 250, f"dy == dx in {_same} of 600 images: draw them independently"
_x1 = torch.rand(1, 2, 7, 9, generator=_gen, dtype=torch.float64).to(device) + 1
for _seed in range(5):
    _o = random_translate(_x1, 3, torch.Generator().manual_seed(_seed))
    assert_shape(_o, (1, 2, 7, 9), name="random_translate(batch of 1, 3)")
    assert shifts_found(_o, _x1, 3)[0], "a batch of 1 is not a zero-filled shift"
_o = random_translate(_x, 2, torch.Generator().manual_seed(3))
assert torch.equal(_o, _out), "the same generator seed gave different float32 results"
expect_raises(ValueError, random_translate, _x, -3, torch.Generator(),
              name="random_translate(images, max_shift=-3, g)")
### END HIDDEN TESTS

# %% [markdown]
# ## 7.3 Convolution is translation-equivariant
#
# Write $T_s$ for the shift by $s$ and take a 1-D convolution (a 2-D one works
# the same way along each axis), $(k * x)[i] = \sum_u k[u]\, x[i + u]$. Then
#
# $$\big(k * T_s x\big)[i] = \sum_u k[u]\, x[i - s + u] = (k * x)[i - s]
#   = \big(T_s (k * x)\big)[i]:$$
#
# shifting the input and then convolving gives the same result as convolving and
# then shifting. The same kernel is applied at every position, so a pattern is
# detected wherever it is, and its detection moves with it. Elementwise
# functions (ReLU, adding a bias per channel) are equivariant too, so a stack
# of convolutions and activations is equivariant as a whole.
#
# Three things break the identity in practice:
#
# - **Borders.** The derivation assumes $x$ extends forever. A real image ends,
#   and zero padding invents zeros there; a shifted image brings different
#   content into the border band, so the equality fails near the edges. With
#   **circular padding** (`padding_mode="circular"`) the image lives on a torus,
#   the shift is a `torch.roll`, and the equality is exact everywhere.
# - **Strides and pooling.** A layer with stride 2 keeps every other position.
#   Shift the input by one pixel and a different half of the positions is kept:
#   the output does not shift by "half a pixel", it changes. Max pooling and
#   strided convolutions are equivariant only to shifts by multiples of the
#   stride (and then the output moves by the shift divided by the stride); in
#   between, their outputs jump. This is *aliasing*, and blurring before
#   subsampling reduces it.
# - **Fully connected layers.** $y = W \operatorname{vec}(x)$ has a separate
#   weight for every input position, so nothing ties the response at one
#   position to the response at another.
#
# **Invariance from equivariance.** Average (or max) over all positions of an
# equivariant feature map and the position is forgotten: global pooling of a
# circularly padded convolution gives exactly the same vector for every circular
# shift of the input. Most classification CNNs end this way (conv blocks, global
# average pooling, a linear head).

# %% [markdown]
# ### Exercise 2: `is_translation_equivariant` (3 points)
#
# Check equivariance numerically. Use circular shifts, `torch.roll(t,
# shifts=(dy, dx), dims=(-2, -1))`, on both the input and the output, so that a
# circularly padded convolution passes exactly and no border region needs to be
# cropped. Compare the two orders of "shift" and "layer" with the tolerance that
# the docstring fixes, and return a Python `bool`.

# %% grade_id="ch07-is-translation-equivariant"
def is_translation_equivariant(layer, x, shift):
    """Whether layer(T x) equals T layer(x) for the circular shift T by ``shift``.

    N is the batch size, C and C' numbers of channels, H x W and H' x W' the
    spatial sizes of the input and of the output.

    Args:
        layer: a callable (an nn.Module, a function) mapping a tensor of shape
            (N, C, H, W) to a tensor of shape (N, C', H', W'), deterministic
            (call it as it is: do not change its train/eval mode or its weights).
        x: floating-point tensor of shape (N, C, H, W) on the layer's device and
            in its dtype.
        shift: pair of Python ints (dy, dx): dy shifts along the rows (dim -2),
            dx along the columns (dim -1); any sign, any size.

    Returns:
        A Python bool (``True`` or ``False``, not a tensor):
        ``torch.allclose(a, b, rtol=1e-4, atol=1e-4)`` where

            a = layer(torch.roll(x, shifts=(dy, dx), dims=(-2, -1)))
            b = torch.roll(layer(x), shifts=(dy, dx), dims=(-2, -1))

        i.e. the same (dy, dx) shifts the input and the output (an output of
        spatial size 1 x 1 is unchanged by any roll, so an invariant layer
        returns True). ``x`` is not modified.
    """
    ### BEGIN SOLUTION
    dy, dx = shift
    with torch.no_grad():
        a = layer(torch.roll(x, shifts=(dy, dx), dims=(-2, -1)))
        b = torch.roll(layer(x), shifts=(dy, dx), dims=(-2, -1))
    return bool(torch.allclose(a, b, rtol=1e-4, atol=1e-4))
    ### END SOLUTION


# %% [markdown]
# Try it on the layers discussed above. Each row of the table is one call of
# your function; `ReLU` stands for any elementwise function.

# %%
set_seed(0)
probe = torch.randn(2, 3, 12, 12)
layers = {
    "Conv2d, circular padding": nn.Conv2d(3, 8, 3, padding=1, padding_mode="circular"),
    "Conv2d, zero padding": nn.Conv2d(3, 8, 3, padding=1),
    "ReLU": nn.ReLU(),
    "MaxPool2d(2) (stride 2)": nn.MaxPool2d(2),
    "Conv2d circular + global average pool": nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, padding_mode="circular"),
        nn.AdaptiveAvgPool2d(1)),
    "Flatten + Linear + Unflatten": nn.Sequential(
        nn.Flatten(), nn.Linear(3 * 12 * 12, 3 * 12 * 12),
        nn.Unflatten(1, (3, 12, 12))),
}
print(f"{'layer':40s} {'shift (1, 0)':>13s} {'shift (2, 4)':>13s}")
for name, layer in layers.items():
    answers = [is_translation_equivariant(layer, probe, s) for s in [(1, 0), (2, 4)]]
    print(f"{name:40s} {answers[0]!s:>13s} {answers[1]!s:>13s}")

# %% [markdown]
# The max-pooling row is `False` even for the even shift $(2, 4)$: after
# pooling, the output has moved by $(1, 2)$, half the input shift, and our
# definition asks for the same shift on both sides. Check: rolling the pooled
# output by half the shift matches exactly.

# %%
pool = nn.MaxPool2d(2)
half = torch.roll(pool(probe), shifts=(1, 2), dims=(-2, -1))
print("pool(roll(x, (2, 4))) == roll(pool(x), (1, 2)):",
      torch.equal(pool(torch.roll(probe, shifts=(2, 4), dims=(-2, -1))), half))
print("pool(roll(x, (1, 0))) == roll(pool(x), (s, 0)) for some s:",
      any(torch.equal(pool(torch.roll(probe, shifts=(1, 0), dims=(-2, -1))),
                      torch.roll(pool(probe), shifts=(s, 0), dims=(-2, -1)))
          for s in range(6)))

# %% grade_id="ch07-is-translation-equivariant-tests" points=3
"""is_translation_equivariant: a Python bool; True for a circular conv (also for
large and negative shifts), an elementwise function and conv + global average pool;
False for zero padding, a fully connected layer and stride-2 pooling; dy is along
the rows; the tolerance rtol = atol = 1e-4 (1e-6 of non-equivariance passes, 1e-2
does not); runs on device; x not modified."""


class ColumnScale(nn.Module):
    """Multiplies column j by its own weight: shifts along the rows commute with it,
    shifts along the columns do not."""

    def __init__(self, width, eps=1.0):
        super().__init__()
        self.register_buffer("w", 1 + eps * torch.linspace(0, 1, width))

    def forward(self, x):
        return x * self.w


class NearlyEquivariant(nn.Module):
    """A circular convolution plus eps times a fixed pattern tied to positions."""

    def __init__(self, eps, channels, size):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(channels, 3, 3, padding=1, padding_mode="circular")
        self.register_buffer("pattern", eps * torch.randn(3, *size))

    def forward(self, x):
        return self.conv(x) + self.pattern


torch.manual_seed(0)
x = torch.randn(2, 2, 9, 11, device=device)
before = x.clone()
conv = nn.Conv2d(2, 4, 3, padding=1, padding_mode="circular").to(device)
got = is_translation_equivariant(conv, x, (1, 2))
assert isinstance(got, bool), f"expected a Python bool, got {type(got).__name__}"
assert got is True, "a conv with circular padding is equivariant to (1, 2): got False"
assert torch.equal(x, before), "is_translation_equivariant modified x"
for layer, shift, want, what in [
    (nn.Conv2d(2, 4, 3, padding=1).to(device), (1, 2), False, "zero-padded conv"),
    (nn.ReLU(), (3, -1), True, "ReLU"),
    (nn.MaxPool2d(2), (1, 0), False, "MaxPool2d(2) with a shift of 1"),
    (nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, padding_mode="circular"),
                   nn.AdaptiveAvgPool2d(1)).to(device), (2, 5), True,
     "circular conv + global average pool (invariant)"),
    (nn.Sequential(nn.Flatten(), nn.Linear(2 * 9 * 11, 2 * 9 * 11),
                   nn.Unflatten(1, (2, 9, 11))).to(device), (1, 1), False,
     "Flatten + Linear + Unflatten"),
    (ColumnScale(11).to(device), (2, 0), True, "column weights, shift along rows"),
    (ColumnScale(11).to(device), (0, 2), False, "column weights, shift along columns"),
    (NearlyEquivariant(1e-6, 2, (9, 11)).to(device), (1, 3), True,
     "circular conv + 1e-6 * pattern (within the tolerance)"),
    (NearlyEquivariant(1e-2, 2, (9, 11)).to(device), (1, 3), False,
     "circular conv + 1e-2 * pattern (beyond the tolerance)"),
]:
    got = is_translation_equivariant(layer, x, shift)
    assert isinstance(got, bool), f"{what}: expected a bool, got {type(got).__name__}"
    assert got is want, f"{what}, shift {shift}: expected {want}, got {got}"
### BEGIN HIDDEN TESTS
torch.manual_seed(1)
_x = torch.randn(1, 3, 7, 13, device=device)
_before = _x.clone()
_deep = nn.Sequential(nn.Conv2d(3, 5, 5, padding=2, padding_mode="circular"),
                      nn.ReLU(),
                      nn.Conv2d(5, 4, 3, padding=1, padding_mode="circular")).to(device)
for _shift in [(0, 1), (-2, 3), (8, -14), (7, 13), (0, 0)]:
    _got = is_translation_equivariant(_deep, _x, _shift)
    assert _got is True, f"deep circular conv stack, shift {_shift}: got {_got}"
assert torch.equal(_x, _before), "is_translation_equivariant modified x"
_cases = [
    (nn.Conv2d(3, 4, 3, padding=1).to(device), (-1, 0), False, "zero-padded conv"),
    (nn.Conv2d(3, 4, 3, padding=1, padding_mode="circular", stride=2).to(device),
     (1, 0), False, "circular conv with stride 2"),
    (nn.MaxPool2d(2), (0, -1), False, "MaxPool2d(2), shift (0, -1)"),
    (nn.Sequential(nn.Flatten(), nn.Linear(3 * 7 * 13, 3 * 7 * 13),
                   nn.Unflatten(1, (3, 7, 13))).to(device), (2, -3), False,
     "Flatten + Linear + Unflatten"),
    (nn.Sequential(nn.Conv2d(3, 6, 3, padding=1, padding_mode="circular"), nn.Tanh(),
                   nn.AdaptiveMaxPool2d(1)).to(device), (-3, 4), True,
     "circular conv + tanh + global max pool"),
    (ColumnScale(13, 0.5).to(device), (-3, 0), True, "column weights, rows shift"),
    (ColumnScale(13, 0.5).to(device), (0, -1), False, "column weights, columns shift"),
    (ColumnScale(13, 0.5).to(device), (1, 1), False, "column weights, both shift"),
    (NearlyEquivariant(5e-7, 3, (7, 13)).to(device), (2, 2), True, "conv + 5e-7 * p"),
    (NearlyEquivariant(3e-2, 3, (7, 13)).to(device), (2, 2), False, "conv + 3e-2 * p"),
    (lambda t: t * 2 + 1, (4, -6), True, "a plain function 2x + 1"),
]
_x = torch.randn(2, 3, 7, 13, device=device)
for _layer, _shift, _want, _what in _cases:
    _got = is_translation_equivariant(_layer, _x, _shift)
    assert isinstance(_got, bool), f"{_what}: expected a bool, got {type(_got)}"
    assert _got is _want, f"{_what}, shift {_shift}: expected {_want}, got {_got}"
### END HIDDEN TESTS

# %% [markdown]
# ### Feature maps move with the picture
#
# A picture makes the identity concrete. Below, a Sobel-like kernel that
# responds to horizontal edges is applied with circular padding to a grayscale
# crop of one of scikit-learn's sample photos, and to the same crop shifted by
# $(10, 25)$ pixels. The feature map of the shifted photo is the shifted feature
# map: the difference in the last panel is zero to rounding.

# %%
photos = torch.stack([torch.from_numpy(photo.copy()) for photo in
                      load_sample_images().images])  # (2, 427, 640, 3), uint8
gray = photos[0].double().mean(dim=-1) / 255  # the first photo, (427, 640)
crop = F.interpolate(gray[None, None, 100:292, 200:456], size=(96, 128),
                     mode="bilinear", antialias=True)  # (1, 1, 96, 128)
edge_kernel = torch.tensor([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0],
                            [-1.0, -2.0, -1.0]], dtype=torch.float64)[None, None]


def edges(image):
    """Horizontal-edge response with circular padding, same size as ``image``."""
    return F.conv2d(F.pad(image, (1, 1, 1, 1), mode="circular"), edge_kernel)


shift = (10, 25)
shifted_crop = torch.roll(crop, shifts=shift, dims=(-2, -1))
panels = {
    "photo x": crop,
    "shifted photo T x": shifted_crop,
    "features f(x)": edges(crop),
    "features of the shifted photo f(T x)": edges(shifted_crop),
    "shifted features T f(x)": torch.roll(edges(crop), shifts=shift, dims=(-2, -1)),
    "f(T x) - T f(x)": edges(shifted_crop)
    - torch.roll(edges(crop), shifts=shift, dims=(-2, -1)),
}
fig, axes = plt.subplots(2, 3, figsize=(12, 5.5))
for ax, (title, image) in zip(axes.flat, panels.items(), strict=True):
    is_photo = title.startswith(("photo", "shifted photo"))
    shown = ax.imshow(image[0, 0].numpy(), cmap="gray" if is_photo else "RdBu_r")
    ax.set(title=title, xlabel="column", ylabel="row")
    fig.colorbar(shown, ax=ax, fraction=0.03)
fig.suptitle(f"Convolution commutes with the shift {shift}; largest difference "
             f"{panels['f(T x) - T f(x)'].abs().max().item():.1e}")
fig.tight_layout()
plt.show()

# %% [markdown]
# ### From equivariance to invariance: global pooling
#
# Now shift the crop by $0, 1, \dots, 30$ columns and measure how much each
# representation changes, relative to its size:
# $\lVert f(T_s x) - f(x) \rVert / \lVert f(x) \rVert$.
#
# - the feature map of a convolution changes a lot (it moves, and a moved map is
#   a different tensor), although it is equivariant;
# - its global average over positions does not change at all with circular
#   padding, and only a little with zero padding (the border band differs);
# - a random fully connected layer of the same input and output size changes as
#   much as the feature map, but its output does not move: it is scrambled.

# %%
set_seed(0)
small_crop = F.interpolate(crop, size=(32, 32), mode="bilinear",
                           antialias=True).float()  # (1, 1, 32, 32)
bank_circular = nn.Conv2d(1, 8, 5, padding=2, padding_mode="circular")
bank_zeros = nn.Conv2d(1, 8, 5, padding=2)
bank_zeros.load_state_dict(bank_circular.state_dict())  # the same 8 kernels
dense = nn.Linear(32 * 32, 8 * 32 * 32)
representations = {
    "conv feature map (equivariant)": bank_circular,
    "conv + global average, circular padding": lambda t: bank_circular(t).mean((2, 3)),
    "conv + global average, zero padding": lambda t: bank_zeros(t).mean((2, 3)),
    "fully connected layer": lambda t: dense(t.flatten(1)),
}
shifts = list(range(31))
fig, ax = plt.subplots(figsize=(8, 4))
with torch.no_grad():
    for name, f in representations.items():
        ref = f(small_crop)
        change = [((f(torch.roll(small_crop, s, dims=-1)) - ref).pow(2).sum().sqrt()
                   / ref.pow(2).sum().sqrt()).item() for s in shifts]
        ax.plot(shifts, change, "o-", ms=3, label=name)
ax.set(xlabel="shift to the right (pixels, circular)",
       ylabel="relative change of the output",
       title="Global pooling turns equivariance into invariance")
ax.legend()
plt.show()

# %% [markdown]
# ### Move it yourself
#
# Slide the input: the convolution's output slides with it (same picture, new
# place), while the output of the fully connected layer, shown as an image of the
# same size, turns into a different pattern at every step. The right panel shows
# the output a shifted input *should* give if the layer were equivariant (the
# unshifted output, rolled) minus what it gives.

# %%
set_seed(0)
mlp_map = nn.Sequential(nn.Flatten(), nn.Linear(32 * 32, 32 * 32), nn.Tanh(),
                        nn.Unflatten(1, (1, 32, 32)))
conv_map = nn.Sequential(nn.Conv2d(1, 1, 5, padding=2, padding_mode="circular"),
                         nn.Tanh())


def show_shift(dx=0, dy=0):
    """Input, conv output and dense output for the input rolled by (dy, dx)."""
    moved_input = torch.roll(small_crop, shifts=(dy, dx), dims=(-2, -1))
    fig, axes = plt.subplots(2, 3, figsize=(10, 6.5))
    with torch.no_grad():
        for row, (name, layer) in enumerate([("conv", conv_map), ("dense", mlp_map)]):
            out = layer(moved_input)[0, 0]
            expected = torch.roll(layer(small_crop), (dy, dx), dims=(-2, -1))[0, 0]
            error = (expected - out).abs().max().item()
            axes[row, 0].imshow(moved_input[0, 0].numpy(), cmap="gray")
            axes[row, 0].set_title(f"input rolled by ({dy}, {dx})")
            axes[row, 1].imshow(out.numpy(), cmap="viridis")
            axes[row, 1].set_title(f"{name} output")
            axes[row, 2].imshow((expected - out).numpy(), cmap="RdBu_r", vmin=-1,
                                vmax=1)
            axes[row, 2].set_title(f"{name}: rolled output - output\nmax {error:.2f}")
    for ax in axes.flat:
        ax.set(xlabel="column", ylabel="row")
    fig.tight_layout()
    plt.show()


interactive_plot(show_shift, dx=(-16, 16, 1), dy=(-16, 16, 1))

# %% [markdown]
# ## 7.4 Scale, rotation, and what augmentation buys
#
# Convolutions give translation equivariance for free, but nothing in them
# relates a small "7" to a large one, or an upright "7" to a tilted one: a
# kernel that detects a vertical stroke does not detect the same stroke rotated
# by 30 degrees. Architectures with built-in rotation or scale equivariance exist
# (group-equivariant CNNs, steerable filters), but the everyday tool is
# **augmentation**: train on randomly shifted, scaled, rotated, cropped or
# flipped copies, and the network learns to give them the same label.
#
# What does augmentation buy, and what does the architecture buy? An experiment
# on the padded $12 \times 12$ digits, evaluated on a test set in which every
# digit is shifted by up to 2 pixels:
#
# - an MLP trained on centred digits only;
# - the same MLP trained with `random_translate` at every step;
# - a small CNN (two convolutions, global max pooling, a linear head) trained on
#   centred digits only.
#
# Two rules of augmentation: use only transformations that keep the label (a
# rotated 6 is a 9), and augment the training data only; the test set measures
# the model on data as it comes.

# %%
EPOCHS = 20  # knob: more epochs help the augmented MLP; ~0.1 s per epoch here
X_train, X_test, y_train, y_test = train_test_split(digits, digit_labels,
                                                    test_fraction=0.25, seed=0)


def make_mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(144, 256), nn.ReLU(),
                         nn.Linear(256, 10))


def make_cnn():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(8, 32, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(32, 10))


def train_digits(model, augment, epochs=EPOCHS):
    """Adam on mini-batches of 64 training digits, shifted when ``augment``."""
    model = model.to(device)
    shifter = torch.Generator().manual_seed(2)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in progress(range(epochs), desc="epochs", leave=False):
        order = torch.randperm(len(X_train))
        for start in range(0, len(X_train), 64):
            batch = order[start:start + 64]
            xb = X_train[batch]
            if augment:
                xb = random_translate(xb, 2, shifter)
            loss = F.cross_entropy(model(xb.to(device)), y_train[batch].to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


def accuracy(model, X, y):
    with torch.no_grad():
        return (model(X.to(device)).argmax(1).cpu() == y).float().mean().item()


set_seed(0)
models = {"MLP": train_digits(make_mlp(), augment=False),
          "CNN + global max pool": train_digits(make_cnn(), augment=False)}
models["MLP + shift augmentation"] = train_digits(make_mlp(), augment=True)
X_test_shifted = random_translate(X_test, 2, torch.Generator().manual_seed(1))
scores = {name: (accuracy(m, X_test, y_test), accuracy(m, X_test_shifted, y_test))
          for name, m in models.items()}
for name, (centred, shifted) in scores.items():
    print(f"{name:26s} centred test digits {centred:.3f}   shifted {shifted:.3f}")

fig, ax = plt.subplots(figsize=(7, 3.5))
positions = torch.arange(len(scores)).float()
ax.bar(positions - 0.2, [s[0] for s in scores.values()], width=0.4,
       label="centred test digits")
ax.bar(positions + 0.2, [s[1] for s in scores.values()], width=0.4,
       label="test digits shifted by up to 2 px")
ax.set_xticks(positions.tolist(), list(scores))
ax.set(ylabel="test accuracy", ylim=(0, 1),
       title="Translation invariance: learned from data or built in")
ax.legend(loc="lower right")
plt.show()

# %% [markdown]
# The MLP that never saw a shifted digit fails on shifted ones: to it, a digit
# two pixels to the left is a new pattern of pixels. Augmentation recovers most
# of the accuracy, at the price of a harder training task (more epochs help).
# The CNN needs no augmentation for shifts: its convolutions move their responses
# with the digit and the global max pool forgets where they are (the zero border
# and the small image keep it from being exact).
#
# Shifts are not everything. Rotate or rescale the test digits (with
# `F.affine_grid` and `F.grid_sample`, plain PyTorch) and the same networks,
# trained with upright digits of one size, degrade steadily: neither the
# convolution nor the shift augmentation says anything about rotation or scale.
# The cure is the same as above, rotated and rescaled copies in training, as far
# as the task allows.

# %%
def warp(images, angle_deg=0.0, scale=1.0):
    """Rotate by ``angle_deg`` and zoom by ``scale`` about the centre (bilinear)."""
    a = math.radians(angle_deg)
    theta = torch.tensor([[math.cos(a), -math.sin(a), 0.0],
                          [math.sin(a), math.cos(a), 0.0]]) / scale
    grid = F.affine_grid(theta.expand(len(images), 2, 3), list(images.shape),
                         align_corners=False)
    return F.grid_sample(images, grid, align_corners=False)


angles = list(range(-90, 91, 10))
scales = [0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4]
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 3.8))
for name, model in models.items():
    ax0.plot(angles, [accuracy(model, warp(X_test, angle_deg=a), y_test)
                      for a in angles], "o-", ms=3, label=name)
    ax1.plot(scales, [accuracy(model, warp(X_test, scale=s), y_test)
                      for s in scales], "o-", ms=3, label=name)
ax0.set(xlabel="rotation of the test digits (degrees)", ylabel="test accuracy",
        title="Rotation: no invariance was built in or taught")
ax1.set(xlabel="zoom factor of the test digits", ylabel="test accuracy",
        title="Scale: the same")
ax0.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 7.5 Text: order matters
#
# Text is a sequence of **tokens** (words, pieces of words or characters) taken
# from a **vocabulary** of $V$ entries, each with an index in $\{0, \dots,
# V-1\}$. Unlike pixels, tokens are symbols: index 7 is not "close" to index 8.
# And unlike an image, a sentence has almost no harmless transformations:
# swapping two words usually changes the meaning or destroys it.
#
# The simplest representation throws the order away. A **bag of words** counts
# how often each vocabulary entry occurs:
#
# $$\operatorname{bow}(t_1, \dots, t_L)[v] = \#\{\, i : \operatorname{index}(t_i)
#   = v \,\}, \qquad v = 0, \dots, V-1 .$$
#
# It is invariant to every permutation of the tokens. That is useful for topic
# (a text that mentions "loop", "iterator" and "break" is about control flow,
# whatever the order) and fatal for meaning. Words outside the vocabulary are
# either dropped or counted together in a reserved **unknown** entry, usually
# written `<unk>`.

# %% [markdown]
# ### Exercise 3: `bag_of_words` (2 points)
#
# Count tokens into a vector of length $V$ = `len(vocab)`. A token missing from
# the vocabulary goes to `vocab["<unk>"]` when the vocabulary has that entry,
# and is ignored otherwise.

# %% grade_id="ch07-bag-of-words"
def bag_of_words(tokens, vocab):
    """Count how often each vocabulary entry occurs in ``tokens``.

    V is the vocabulary size, ``len(vocab)``.

    Args:
        tokens: list of str (possibly empty), matched exactly (case-sensitive,
            no stripping).
        vocab: dict mapping each of V distinct str tokens to a distinct index;
            the indices are exactly 0, 1, ..., V - 1 in any order (not
            necessarily the insertion order of the dict).

    Returns:
        float32 tensor of shape (V,) on the CPU: entry vocab[t] is the number
        of times token t occurs in ``tokens``. A token not in ``vocab`` is
        counted at vocab["<unk>"] if the key "<unk>" is in ``vocab``, and is
        ignored otherwise. An empty list gives all zeros. ``tokens`` and
        ``vocab`` are not modified.
    """
    ### BEGIN SOLUTION
    counts = torch.zeros(len(vocab), dtype=torch.float32)
    unknown = vocab.get("<unk>")  # None when there is no <unk> entry
    for token in tokens:
        index = vocab.get(token, unknown)
        if index is not None:
            counts[index] += 1
    return counts
    ### END SOLUTION


# %%
# Try it: two sentences with opposite meanings and the same bag.
vocab = {"bites": 0, "dog": 1, "man": 2}
for sentence in ["dog bites man", "man bites dog"]:
    print(f"{sentence!r:17s} -> {bag_of_words(sentence.split(), vocab).tolist()}")

# %% grade_id="ch07-bag-of-words-tests" points=2
"""bag_of_words: counts at vocab[token] (any index order), float32 (V,) on the CPU;
'dog bites man' and 'man bites dog' give the same bag; unknown tokens go to <unk>
when it exists and are ignored otherwise; case-sensitive; empty list gives zeros;
inputs not modified."""
vocab = {"man": 2, "dog": 0, "bites": 1}  # indices not in insertion order
tokens = ["dog", "bites", "man"]
got = bag_of_words(tokens, vocab)
assert isinstance(got, torch.Tensor), f"expected a tensor, got {type(got).__name__}"
assert got.dtype == torch.float32, f"dtype {got.dtype}, expected torch.float32"
assert got.device.type == "cpu", f"result on {got.device}, expected the CPU"
assert_close(got, torch.tensor([1.0, 1.0, 1.0]), name="bag_of_words('dog bites man')")
assert_close(bag_of_words(["man", "bites", "dog"], vocab), got,
             name="bag_of_words('man bites dog') (the same bag)")
assert tokens == ["dog", "bites", "man"], "bag_of_words modified tokens"
assert vocab == {"man": 2, "dog": 0, "bites": 1}, "bag_of_words modified vocab"
assert_close(bag_of_words(["man", "man", "dog", "man"], vocab),
             torch.tensor([1.0, 0.0, 3.0]),
             name="bag_of_words(['man', 'man', 'dog', 'man']) (counts at vocab[t])")
assert_close(bag_of_words(["cat", "dog", "Dog", "dog "], vocab),
             torch.tensor([1.0, 0.0, 0.0]),
             name="bag_of_words(['cat', 'dog', 'Dog', 'dog ']) without <unk> "
                  "(unknown and differently written tokens are ignored)")
with_unk = {"the": 1, "<unk>": 3, "cat": 0, "sat": 2}
assert_close(bag_of_words("the cat sat on the mat".split(), with_unk),
             torch.tensor([1.0, 2.0, 1.0, 2.0]),
             name="bag_of_words('the cat sat on the mat') with <unk> at index 3")
assert_close(bag_of_words([], with_unk), torch.zeros(4),
             name="bag_of_words([], vocab of 4) (all zeros)")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(4)
_words = [f"w{_i}" for _i in range(11)]
for _with_unk in (False, True):
    _names = _words + (["<unk>"] if _with_unk else [])
    _perm = torch.randperm(len(_names), generator=_gen).tolist()
    _vocab = {_w: _perm[_i] for _i, _w in enumerate(_names)}
    _pool = _words + ["x1", "x2", "W3"]  # three unknown tokens
    _toks = [_pool[_i] for _i in torch.randint(0, len(_pool), (40,),
                                                generator=_gen).tolist()]
    _want = torch.zeros(len(_vocab))
    for _t, _c in Counter(_toks).items():
        if _t in _vocab:
            _want[_vocab[_t]] += _c
        elif _with_unk:
            _want[_vocab["<unk>"]] += _c
    _copy = list(_toks)
    _got = bag_of_words(_toks, _vocab)
    assert_close(_got, _want, name=f"bag_of_words(40 tokens, V={len(_vocab)}, "
                                   f"<unk> {'present' if _with_unk else 'absent'})")
    assert _toks == _copy, "bag_of_words modified tokens"
    assert _got.device.type == "cpu", f"result on {_got.device}, expected the CPU"
assert_close(bag_of_words(["a"], {"a": 0}), torch.tensor([1.0]),
             name="bag_of_words(['a'], {'a': 0})")
assert_close(bag_of_words(["b", "b"], {"a": 0}), torch.tensor([0.0]),
             name="bag_of_words(['b', 'b'], {'a': 0}) (no <unk>: ignored)")
assert_close(bag_of_words(["<unk>", "z"], {"<unk>": 1, "a": 0}),
             torch.tensor([0.0, 2.0]), name="bag_of_words(['<unk>', 'z'], ...)")
### END HIDDEN TESTS

# %% [markdown]
# ### Local context: n-grams
#
# Order lives first in **local context**: the words next to a word. Counting
# pairs of neighbours (**bigrams**) instead of single words already separates
# the two sentences, and a 1-D convolution over token embeddings with kernel size
# $k$ is a learned detector of $k$-grams, equivariant to shifts along the text.
# The price is size: the number of distinct $n$-grams grows quickly with $n$, and
# a growing share of them occurs only once, so their counts say little. The cell
# below measures it on the word tokens of Python's documentation (the `topics`
# corpus that ships with Python; the tokenizer is explained in section 7.7).

# %%
for sentence in ["dog bites man", "man bites dog"]:
    words = sentence.split()
    print(f"{sentence!r:17s} bigrams: {sorted(zip(words, words[1:], strict=False))}")

corpus = "\n".join(topics[key] for key in sorted(topics))
word_tokens = re.findall(r"[a-z]+|\d+|[^\w\s]", corpus.lower())
print(f"\ncorpus: {len(corpus):,} characters, {len(word_tokens):,} word tokens")
for n in (1, 2, 3, 4):
    grams = Counter(zip(*(word_tokens[i:] for i in range(n)), strict=False))
    once = sum(1 for c in grams.values() if c == 1)
    print(f"{n}-grams: {len(grams):>7,} distinct, {once / len(grams):5.1%} seen once")

# %% [markdown]
# ### Long-range dependencies
#
# Local context is not enough. In "the keys that the man on the left bought
# yesterday **are** here", the verb agrees with a noun seven words back, and a
# pronoun can refer to a name paragraphs earlier. How far do dependencies reach
# in real text? A model-free measure is the **mutual information** between the
# character at position $i$ and the one at position $i + d$,
#
# $$I(d) = \sum_{a, b} p_d(a, b) \log_2 \frac{p_d(a, b)}{p(a)\, p(b)} \text{ bits},$$
#
# estimated from the counts of character pairs at distance $d$. If the text were
# a random shuffle of its characters, $I(d)$ would be zero except for estimation
# noise (the dashed line). On Python's documentation it decays with $d$ but stays
# clearly above the noise even a thousand characters apart. A model with a window
# of a few tokens cannot use this information; recurrent networks (chapter 10)
# and attention (chapters 11 and 22) were designed to reach it.

# %%
symbol_index = {c: i for i, c in enumerate(sorted(set(corpus)))}
codes = torch.tensor([symbol_index[c] for c in corpus])  # (number of characters,)
num_symbols = len(symbol_index)


def mutual_information(seq, d):
    """I(seq[i]; seq[i + d]) in bits, from pair counts."""
    pairs = seq[:-d] * num_symbols + seq[d:]
    joint = torch.bincount(pairs, minlength=num_symbols ** 2).double()
    joint = (joint / joint.sum()).reshape(num_symbols, num_symbols)
    independent = joint.sum(1, keepdim=True) * joint.sum(0, keepdim=True)
    seen = joint > 0
    return (joint[seen] * (joint[seen] / independent[seen]).log2()).sum().item()


distances = [1, 2, 3, 5, 8, 13, 20, 35, 60, 100, 200, 400, 1000]
shuffled = codes[torch.randperm(len(codes), generator=torch.Generator().manual_seed(0))]
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.loglog(distances, [mutual_information(codes, d) for d in distances], "o-",
          label="Python documentation")
ax.loglog(distances, [mutual_information(shuffled, d) for d in distances], "--",
          label="same characters, shuffled (estimation noise)")
ax.set(xlabel="distance d (characters)", ylabel="mutual information (bits)",
       title="Characters d apart still inform each other")
ax.legend()
plt.show()

# %% [markdown]
# ## 7.6 Audio: time, frequency and phase
#
# A recording is a **waveform**: air pressure sampled $f_s$ times per second
# (8,000 Hz for telephone speech, 16,000 Hz for speech models, 44,100 Hz for
# music), a 1-D tensor of shape $(T,)$, or $(B, T)$ for a batch. Three kinds of
# structure matter:
#
# - **Time.** Events happen in order and at a rhythm; a sound is the same sound
#   a second later (translation along time, so 1-D convolutions fit), but not
#   when played backwards.
# - **Frequency.** Pitched sounds are sums of sinusoids at a fundamental
#   frequency and its multiples (harmonics). The **short-time Fourier
#   transform** cuts the waveform into overlapping windows and takes the Fourier
#   transform of each; its magnitude, the **spectrogram**, is an image with time
#   on one axis and frequency on the other, which is why image networks work on
#   audio.
# - **Phase.** Each Fourier coefficient is a complex number, a magnitude and a
#   phase. The spectrogram keeps the magnitudes and drops the phases; the phases
#   hold the timing within each window. To turn a spectrogram back into sound,
#   they must be estimated (Griffin-Lim) or predicted (neural vocoders).
#
# Our recording, generated so that nothing needs downloading: three plucked
# notes (A, C sharp, E: an A major chord played one note at a time), each with
# four harmonics, followed by a chirp that sweeps from 200 Hz to 3 kHz.

# %%
sample_rate = 8000
t_note = torch.arange(sample_rate // 4, dtype=torch.float64) / sample_rate  # 0.25 s


def pluck(frequency):
    """A decaying note with four harmonics of falling loudness."""
    envelope = torch.exp(-t_note / 0.08) * (1 - torch.exp(-t_note / 0.005))
    return envelope * sum(0.6 ** k * torch.sin(2 * math.pi * frequency * (k + 1)
                                               * t_note) for k in range(4))


sweep = 0.5 * torch.sin(2 * math.pi * (200 * t_note + 2800 / 0.5 * t_note ** 2))
waveform = torch.cat([pluck(440.0), pluck(554.37), pluck(659.25), sweep])  # (8000,)
spectrogram = torch.stft(waveform, n_fft=256, hop_length=64,
                         window=torch.hann_window(256, dtype=torch.float64),
                         return_complex=True).abs()  # (129 frequencies, 126 frames)

fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(9, 6))
seconds = torch.arange(len(waveform)) / sample_rate
ax0.plot(seconds.numpy(), waveform.numpy(), lw=0.5)
ax0.set(xlabel="time (s)", ylabel="amplitude", title="Waveform: time structure")
shown = ax1.imshow(20 * torch.log10(spectrogram + 1e-6).numpy(), origin="lower",
                   aspect="auto", extent=[0, 1, 0, sample_rate / 2], vmin=-60,
                   cmap="magma")
ax1.set(xlabel="time (s)", ylabel="frequency (Hz)",
        title="Spectrogram (|STFT| in dB): harmonics and a sweep")
fig.colorbar(shown, ax=ax1, label="dB")
fig.tight_layout()
plt.show()

# %% [markdown]
# ### What the phase carries
#
# Play a pluck backwards and it becomes a swelling note that stops dead, a very
# different sound. Yet the magnitude of its Fourier transform over the whole
# clip is *identical*: for a real signal, reversing time conjugates the Fourier
# coefficients, which flips the phases and keeps the magnitudes. All of the
# difference is in the phase. The same holds for a tone whose harmonics start
# in step (a peaky waveform) and the same harmonics with random phases (a flatter
# one): equal magnitudes, a different waveform, and a different peak amplitude,
# which matters for clipping.

# %%
clip = torch.exp(-t_note / 0.03) * torch.sin(2 * math.pi * 440 * t_note)
reversed_clip = clip.flip(0)
spectrum, spectrum_reversed = torch.fft.rfft(clip), torch.fft.rfft(reversed_clip)
print("largest difference of the magnitude spectra:",
      f"{(spectrum.abs() - spectrum_reversed.abs()).abs().max().item():.1e}")
frequencies = torch.fft.rfftfreq(len(clip), d=1 / sample_rate)

phase_gen = torch.Generator().manual_seed(0)
harmonics = [(k, 1.0 / k) for k in range(1, 11)]  # (harmonic number, amplitude)
in_step = sum(a * torch.cos(2 * math.pi * 200 * k * t_note) for k, a in harmonics)
random_phase = sum(a * torch.cos(2 * math.pi * 200 * k * t_note
                                 + 2 * math.pi * torch.rand(1, generator=phase_gen,
                                                            dtype=torch.float64))
                   for k, a in harmonics)

fig, axes = plt.subplots(2, 2, figsize=(11, 6))
axes[0, 0].plot(t_note.numpy(), clip.numpy(), lw=0.6, label="pluck")
axes[0, 0].plot(t_note.numpy(), reversed_clip.numpy(), lw=0.6, alpha=0.7,
                label="pluck reversed")
axes[0, 0].set(xlabel="time (s)", ylabel="amplitude", title="Two waveforms")
axes[0, 1].plot(frequencies.numpy(), spectrum.abs().numpy(), label="pluck")
axes[0, 1].plot(frequencies.numpy(), spectrum_reversed.abs().numpy(), "--",
                label="pluck reversed")
axes[0, 1].set(xlim=(0, 1000), xlabel="frequency (Hz)", ylabel="|FFT|",
               title="One magnitude spectrum")
short = slice(0, 160)  # 20 ms
axes[1, 0].plot(t_note[short].numpy(), in_step[short].numpy(),
                label=f"harmonics in step, peak {in_step.abs().max().item():.2f}")
axes[1, 0].plot(t_note[short].numpy(), random_phase[short].numpy(),
                label=f"random phases, peak {random_phase.abs().max().item():.2f}")
axes[1, 0].set(xlabel="time (s)", ylabel="amplitude",
               title="Ten harmonics of 200 Hz, two sets of phases")
axes[1, 1].plot(frequencies.numpy(), torch.fft.rfft(in_step).abs().numpy(),
                label="in step")
axes[1, 1].plot(frequencies.numpy(), torch.fft.rfft(random_phase).abs().numpy(),
                "--", label="random phases")
axes[1, 1].set(xlim=(0, 2200), xlabel="frequency (Hz)", ylabel="|FFT|",
               title="Again one magnitude spectrum")
for ax in axes.flat:
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Noise at a chosen signal-to-noise ratio
#
# Background noise is the everyday corruption of audio, and adding it is the
# everyday augmentation: a speech model trained on clean recordings only
# breaks in a noisy room. The amount is given as a **signal-to-noise ratio**
# in decibels, from the mean power $P = \frac{1}{T}\sum_t w_t^2$ of each
# signal:
#
# $$\mathrm{SNR}_{\mathrm{dB}} = 10 \log_{10} \frac{P_{\text{signal}}}
#   {P_{\text{noise}}} .$$
#
# 0 dB means equal powers, 20 dB a noise 100 times weaker in power (10 times in
# amplitude), $-10$ dB a noise 10 times stronger. To add white Gaussian noise at
# a given SNR: draw standard normal noise $n$, then scale it so that its power
# is exactly $P_{\text{noise}} = P_{\text{signal}} / 10^{\mathrm{SNR}/10}$:
#
# $$\tilde w = w + n \sqrt{\frac{P_{\text{signal}}\, /\, 10^{\mathrm{SNR}/10}}
#   {\frac{1}{T}\sum_t n_t^2}} .$$
#
# (Scaling by $\sqrt{P_{\text{signal}} / 10^{\mathrm{SNR}/10}}$ alone gives that
# power only on average; dividing by the power the drawn noise actually has makes
# it exact, whatever the length of the signal.) Note the factor 10, not 20: the
# ratio is one of powers. $20 \log_{10}$ is for ratios of amplitudes.

# %% [markdown]
# ### Exercise 4: `add_gaussian_noise` (3 points)
#
# Implement the formula for a single waveform or a batch, one SNR for every
# waveform, each with its own power.

# %% grade_id="ch07-add-gaussian-noise"
def add_gaussian_noise(waveform, snr_db, generator=None):
    """Add white Gaussian noise at exactly ``snr_db`` decibels to each waveform.

    T is the number of samples; ... are any leading (batch) dimensions.

    Args:
        waveform: floating-point tensor of shape (..., T), T >= 2, e.g. (T,) for
            one waveform or (B, T) for a batch of B, on any device.
        snr_db: Python float, the signal-to-noise ratio in dB (any sign).
        generator: optional torch.Generator on the CPU for the noise; None uses
            PyTorch's global generator. Draw the noise on the CPU (e.g.
            torch.randn(waveform.shape, generator=generator,
            dtype=waveform.dtype)) and move it to waveform.device.

    Returns:
        Tensor of shape (..., T) with the dtype and device of ``waveform``:
        waveform + noise, where for every waveform w (every index of the
        leading dimensions) the noise is standard normal noise n rescaled so
        that its mean square over the last dimension is exactly

            P_noise = P_signal / 10 ** (snr_db / 10),

        with P_signal = mean(w ** 2) over the last dimension (the mean square,
        not the variance: a constant offset counts as signal) and P_noise =
        mean(noise ** 2) over the last dimension. Then 10 * log10(P_signal /
        P_noise) == snr_db up to rounding, for every length T. An all-zero
        waveform gets zero noise. ``waveform`` is not modified. The same
        generator state gives the same result.
    """
    ### BEGIN SOLUTION
    noise = torch.randn(waveform.shape, generator=generator, dtype=waveform.dtype)
    noise = noise.to(waveform.device)
    signal_power = waveform.pow(2).mean(dim=-1, keepdim=True)  # (..., 1)
    noise_power = signal_power / 10 ** (snr_db / 10)
    scale = (noise_power / noise.pow(2).mean(dim=-1, keepdim=True)).sqrt()
    return waveform + scale * noise
    ### END SOLUTION


# %%
# Try it: the SNR measured back on the noise that was added.
noisy = add_gaussian_noise(waveform, 10.0, torch.Generator().manual_seed(0))
added = noisy - waveform
snr = 10 * torch.log10(waveform.pow(2).mean() / added.pow(2).mean())
print(f"measured SNR: {snr.item():.4f} dB")

# %% grade_id="ch07-add-gaussian-noise-tests" points=3
"""add_gaussian_noise: SNR measured back (mean squares over the last dim, per
waveform) equals snr_db within 0.01 dB for short and long waveforms, batches of
different loudness, a constant offset and negative SNRs; the noise is Gaussian;
shape, float64, float32 and device kept; input not modified; generator
reproduces; None works; an all-zero waveform is unchanged."""


def measured_snr(clean, noisy):
    """10 log10(P_signal / P_noise) per waveform, mean squares over the last dim."""
    noise = noisy - clean
    return 10 * torch.log10(clean.pow(2).mean(-1) / noise.pow(2).mean(-1))


ts = torch.linspace(0, 1, 50, dtype=torch.float64, device=device)
batch = torch.stack([torch.sin(2 * math.pi * 3 * ts),       # power 1/2
                     5 * torch.sin(2 * math.pi * 7 * ts),   # 25 times louder
                     1 + 0.5 * torch.cos(2 * math.pi * ts)])  # constant offset
before = batch.clone()
noisy = add_gaussian_noise(batch, 10.0, torch.Generator().manual_seed(0))
assert_shape(noisy, (3, 50), name="add_gaussian_noise(batch (3, 50), 10 dB)")
assert noisy.dtype == torch.float64, f"dtype {noisy.dtype}, expected torch.float64"
assert noisy.device == batch.device, f"result on {noisy.device}, expected {device}"
assert torch.equal(batch, before), "add_gaussian_noise modified its input"
assert_close(measured_snr(batch, noisy), torch.full((3,), 10.0, dtype=torch.float64,
                                                    device=device),
             rtol=0, atol=0.01,
             name="SNR in dB measured per waveform (mean squares over the last "
                  "dim; rescale the drawn noise to the exact power)")
assert_close(measured_snr(batch, add_gaussian_noise(batch, -5.0, torch.Generator())),
             torch.full((3,), -5.0, dtype=torch.float64, device=device), rtol=0,
             atol=0.01, name="SNR measured for snr_db = -5")
deep = torch.randn(2, 2, 30, dtype=torch.float64,
                   generator=torch.Generator().manual_seed(1)).to(device)
assert_close(measured_snr(deep, add_gaussian_noise(deep, 3.0)),
             torch.full((2, 2), 3.0, dtype=torch.float64, device=device), rtol=0,
             atol=0.01, name="SNR measured for a batch (2, 2, 30), no generator")
long = torch.sin(torch.linspace(0, 2000, 20_000, dtype=torch.float64, device=device))
noise = add_gaussian_noise(long, 0.0, torch.Generator().manual_seed(3)) - long
z = (noise - noise.mean()) / noise.std()
kurtosis = z.pow(4).mean().item()
assert abs(kurtosis - 3) < 0.3, (
    f"the added noise has kurtosis {kurtosis:.2f}; Gaussian noise has 3 "
    "(uniform noise has 1.8): use torch.randn")
assert_close(measured_snr(long, long + noise), torch.tensor(0.0, dtype=torch.float64,
                                                            device=device),
             rtol=0, atol=0.01, name="SNR measured for one waveform of 20,000 samples")
same = add_gaussian_noise(batch, 10.0, torch.Generator().manual_seed(0))
assert torch.equal(same, noisy), "the same generator seed gave different results"
single = add_gaussian_noise(batch.float(), 10.0, torch.Generator().manual_seed(0))
assert single.dtype == torch.float32, f"dtype {single.dtype}, expected torch.float32"
silent = torch.zeros(2, 40, dtype=torch.float64, device=device)
assert_close(add_gaussian_noise(silent, 20.0), silent,
             name="add_gaussian_noise(all-zero waveforms, 20 dB) (unchanged)")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(21)
for _shape, _snr in [((7,), 25.0), ((1, 33), 0.5), ((4, 101), -12.0),
                     ((2, 3, 41), 6.0)]:
    _w = (torch.randn(_shape, generator=_gen, dtype=torch.float64)
          * torch.rand(_shape[:-1] + (1,), generator=_gen, dtype=torch.float64) * 4
          + 0.3).to(device)
    _before = _w.clone()
    _n = add_gaussian_noise(_w, _snr, torch.Generator().manual_seed(1))
    assert_shape(_n, _shape, name=f"add_gaussian_noise(waveform {_shape}, {_snr})")
    assert _n.device == _w.device, f"result on {_n.device}, expected {_w.device}"
    assert torch.equal(_w, _before), "add_gaussian_noise modified its input"
    assert_close(measured_snr(_w, _n), torch.full(_shape[:-1], _snr,
                                                  dtype=torch.float64, device=device),
                 rtol=0, atol=0.01, name=f"SNR measured, shape {_shape}, {_snr} dB")
_w = (torch.randn(5, 64, generator=_gen) * 0.1).to(device)  # float32
_n = add_gaussian_noise(_w, 15.0, torch.Generator().manual_seed(2))
assert _n.dtype == torch.float32, f"dtype {_n.dtype}, expected torch.float32"
assert_close(measured_snr(_w.double(), _n.double()),
             torch.full((5,), 15.0, dtype=torch.float64, device=device), rtol=0,
             atol=0.01, name="SNR measured on float32 waveforms (5, 64)")
_a = add_gaussian_noise(_w, 15.0, torch.Generator().manual_seed(2))
assert torch.equal(_a, _n), "the same generator seed gave different float32 results"
_long = 2 + torch.sin(torch.linspace(0, 500, 30_000, dtype=torch.float64))
_noise = add_gaussian_noise(_long.to(device), 5.0, torch.Generator().manual_seed(9))
_noise = (_noise.cpu() - _long)
_z = (_noise - _noise.mean()) / _noise.std()
assert abs(_z.pow(4).mean().item() - 3) < 0.3, "the noise is not Gaussian"
assert abs(_z.pow(3).mean().item()) < 0.2, "the noise is not symmetric"
_corr = ((_noise - _noise.mean()) * (_long - _long.mean())).mean() / (
    _noise.std() * _long.std())
assert abs(_corr.item()) < 0.05, f"noise correlated with the signal ({_corr:.3f})"
### END HIDDEN TESTS

# %% [markdown]
# Move the SNR and listen with your eyes. At 30 dB the noise is invisible in the
# waveform but already fills the quiet parts of the spectrum, between and above
# the harmonics. At 0 dB (equal powers) the waveform is ragged, yet the harmonics
# stand far above the noise floor: the noise spreads its power over every
# frequency up to 4,000 Hz, while each harmonic concentrates its power at one
# frequency. At $-10$ dB the waveform is lost in the noise and only the two
# strongest harmonics still show.

# %%
chord_clip = pluck(440.0)  # 0.25 s, 2,000 samples


def show_snr(snr_db=20.0):
    """The clean and the noisy note, in time and in frequency."""
    noisy_clip = add_gaussian_noise(chord_clip, snr_db,
                                    torch.Generator().manual_seed(0))
    freqs = torch.fft.rfftfreq(len(chord_clip), d=1 / sample_rate)
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 3.5))
    window = slice(400, 560)  # 20 ms
    ax0.plot(t_note[window].numpy(), noisy_clip[window].numpy(), label="noisy")
    ax0.plot(t_note[window].numpy(), chord_clip[window].numpy(), label="clean")
    ax0.set(xlabel="time (s)", ylabel="amplitude", ylim=(-3, 3),
            title=f"Waveform at SNR {snr_db:.0f} dB")
    for name, signal in [("noisy", noisy_clip), ("clean", chord_clip)]:
        power_db = 20 * torch.log10(torch.fft.rfft(signal).abs() + 1e-9)
        ax1.plot(freqs.numpy(), power_db.numpy(), lw=0.7, label=name)
    ax1.set(xlabel="frequency (Hz)", ylabel="|FFT| (dB)", ylim=(-60, 60),
            title="Spectrum: the noise raises the floor")
    ax0.legend(loc="upper right")
    ax1.legend(loc="upper right")
    fig.tight_layout()
    plt.show()


interactive_plot(show_snr, snr_db=(-10.0, 40.0, 1.0))

# %% [markdown]
# ## 7.7 Preprocessing, data type by data type
#
# Each data type arrives in its own raw form and needs its own preparation
# before a network sees it. One rule is common to all: **every statistic used
# for preprocessing (a mean, a standard deviation, a vocabulary) is computed on
# the training split only**, saved with the model, and applied unchanged to the
# validation and test splits and to every input at deployment.
#
# ### Images: per-channel statistics
#
# Networks train best on inputs of mean about 0 and spread about 1 (chapter 12
# explains why). For images the usual recipe normalises each colour channel with
# its own mean $\mu_c$ and standard deviation $\sigma_c$, computed over all
# training images and all pixel positions:
#
# $$\mu_c = \frac{1}{NHW}\sum_{n,i,j} x_{n,c,i,j}, \qquad
#   \sigma_c = \sqrt{\frac{1}{NHW}\sum_{n,i,j} (x_{n,c,i,j} - \mu_c)^2}, \qquad
#   \hat{x}_{n,c,i,j} = \frac{x_{n,c,i,j} - \mu_c}{\sigma_c} .$$
#
# The numbers `mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]` seen in
# many tutorials are these statistics for the ImageNet training set (pixels
# scaled to $[0, 1]$, channels in RGB order). Use them when you fine-tune a
# network pretrained on ImageNet, because that network expects inputs scaled
# that way; for a model trained from scratch on your own data, compute your own.
# Two frequent mistakes: averaging the standard deviations of individual images
# (that ignores how much images differ from each other, so it is too small) and
# taking the channel axis from the wrong end (`(N, H, W, C)` arrays from image
# libraries versus `(N, C, H, W)` tensors in PyTorch).

# %% [markdown]
# ### Exercise 5: `channel_stats` (2 points)
#
# Compute $\mu_c$ and $\sigma_c$ over a set of images, dividing by $NHW$ (the
# population standard deviation, as in the formula; `torch.std` divides by
# $NHW - 1$ unless told otherwise).

# %% grade_id="ch07-channel-stats"
def channel_stats(images):
    """Per-channel mean and standard deviation over a set of images.

    N is the number of images, C the number of channels, H x W the image size.

    Args:
        images: floating-point tensor of shape (N, C, H, W), N * H * W >= 1.

    Returns:
        Tuple (mean, std) of tensors of shape (C,), with the dtype and device of
        ``images``: mean[c] is the mean of images[:, c] over all N images and
        all H * W positions, std[c] the square root of the mean of
        (images[:, c] - mean[c]) ** 2 over the same N * H * W values (divide by
        N * H * W, not N * H * W - 1; a single value per channel gives std 0).
        ``images`` is not modified.
    """
    ### BEGIN SOLUTION
    mean = images.mean(dim=(0, 2, 3))
    variance = (images - mean[:, None, None]).pow(2).mean(dim=(0, 2, 3))
    return mean, variance.sqrt()
    ### END SOLUTION


# %% grade_id="ch07-channel-stats-tests" points=2
"""channel_stats: (mean, std) of shape (C,) over N, H and W with the population
std (divide by N*H*W); pooled over images, not an average of per-image stds; one
value per channel gives std 0; float64 and the device kept; input not modified."""
images = torch.tensor([[[[0.0, 2.0]], [[1.0, 1.0]], [[4.0, 0.0]]],
                       [[[4.0, 6.0]], [[3.0, 3.0]], [[2.0, 2.0]]]],
                      dtype=torch.float64, device=device)  # (N=2, C=3, H=1, W=2)
before = images.clone()
got = channel_stats(images)
assert isinstance(got, tuple) and len(got) == 2, "expected a tuple (mean, std)"
mean, std = got
assert_close(mean, torch.tensor([3.0, 2.0, 2.0], dtype=torch.float64, device=device),
             name="mean of images (2, 3, 1, 2) per channel")
# channel 0 holds 0, 2, 4, 6: squared deviations 9, 1, 1, 9, mean 5 (not 20 / 3)
assert_close(std, torch.tensor([5.0, 1.0, 2.0], dtype=torch.float64,
                               device=device).sqrt(),
             name="std per channel (pooled over all images, divided by N*H*W)")
assert std.device == images.device, f"result on {std.device}, expected {device}"
assert torch.equal(images, before), "channel_stats modified its input"
mean, std = channel_stats(torch.tensor([[[[0.5]], [[-2.0]]]], device=device))
assert_close(mean, torch.tensor([0.5, -2.0], device=device),
             name="mean of one 1x1 image with 2 channels (float32)")
assert_close(std, torch.zeros(2, device=device),
             name="std of one value per channel (0, not NaN)")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(8)
for _shape in [(5, 3, 7, 4), (1, 2, 3, 5), (4, 1, 6, 6), (9, 4, 1, 1)]:
    _x = (torch.randn(_shape, generator=_gen, dtype=torch.float64)
          * torch.rand(_shape[0], 1, 1, 1, generator=_gen, dtype=torch.float64) * 3
          + torch.randn(_shape[0], _shape[1], 1, 1, generator=_gen,
                        dtype=torch.float64)).to(device)
    _flat = _x.transpose(0, 1).reshape(_shape[1], -1)
    _m, _s = channel_stats(_x)
    assert_close(_m, _flat.mean(1), rtol=1e-10, atol=1e-12,
                 name=f"channel_stats mean, images {_shape}")
    assert_close(_s, _flat.std(1, correction=0), rtol=1e-10, atol=1e-12,
                 name=f"channel_stats std, images {_shape}")
    assert _s.device == _x.device, f"result on {_s.device}, expected {_x.device}"
_x = torch.rand(6, 3, 5, 7, generator=_gen).to(device)  # float32
_m, _s = channel_stats(_x)
assert _m.dtype == torch.float32 and _s.dtype == torch.float32, "float32 not kept"
_flat = _x.double().transpose(0, 1).reshape(3, -1)
assert_close(_s, _flat.std(1, correction=0).float(), rtol=1e-4, atol=1e-6,
             name="channel_stats std of float32 images (6, 3, 5, 7)")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 6: `normalize_images` (1 point)
#
# Apply $\hat{x} = (x - \mu_c) / \sigma_c$ channel by channel. The statistics
# have shape $(C,)$ and the channels are the third dimension from the end, so
# reshape them to $(C, 1, 1)$ before broadcasting; a plain `images - mean` would
# line them up with the *width* instead (and silently so when $W = C$).

# %% grade_id="ch07-normalize-images"
def normalize_images(images, mean, std):
    """Normalise each channel: (images - mean[c]) / std[c].

    C is the number of channels, H x W the image size; ... are any leading
    dimensions (none for one image (C, H, W), N for a batch (N, C, H, W)).

    Args:
        images: floating-point tensor of shape (..., C, H, W).
        mean, std: tensors of shape (C,) with the dtype and device of
            ``images``; std > 0.

    Returns:
        Tensor of shape (..., C, H, W) with the dtype and device of ``images``:
        out[..., c, i, j] = (images[..., c, i, j] - mean[c]) / std[c].
        ``images``, ``mean`` and ``std`` are not modified.
    """
    ### BEGIN SOLUTION
    return (images - mean[:, None, None]) / std[:, None, None]
    ### END SOLUTION


# %% grade_id="ch07-normalize-images-tests" points=1
"""normalize_images: (x - mean[c]) / std[c] along the channel axis (the third from
the end, also when W == C), for one image (C, H, W) and a batch (N, C, H, W);
float64 and float32 and the device kept; inputs not modified."""
images = torch.arange(2 * 3 * 4 * 3, dtype=torch.float64, device=device).reshape(
    2, 3, 4, 3)  # (N=2, C=3, H=4, W=3): W == C on purpose
mean = torch.tensor([1.0, 20.0, 40.0], dtype=torch.float64, device=device)
std = torch.tensor([2.0, 4.0, 8.0], dtype=torch.float64, device=device)
copies = images.clone(), mean.clone(), std.clone()
got = normalize_images(images, mean, std)
want = torch.stack([(images[:, c] - mean[c]) / std[c] for c in range(3)], dim=1)
assert_close(got, want, name="normalize_images(images (2, 3, 4, 3), mean, std)")
assert got.device == images.device, f"result on {got.device}, expected {device}"
assert all(torch.equal(a, b) for a, b in zip((images, mean, std), copies,
                                             strict=True)), "an input was modified"
assert_close(normalize_images(images[1], mean, std), want[1],
             name="normalize_images(one image (3, 4, 3), mean, std)")
assert_close(normalize_images(images.float(), mean.float(), std.float()),
             want.float(), rtol=1e-5, atol=1e-6,
             name="normalize_images(float32 images) (float32 kept)")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(12)
for _shape in [(5, 2, 3, 7), (1, 4, 2, 2), (3, 6, 5), (2, 2, 3, 4, 5)]:
    _x = torch.randn(_shape, generator=_gen, dtype=torch.float64).to(device)
    _c = _shape[-3]
    _m = torch.randn(_c, generator=_gen, dtype=torch.float64).to(device)
    _s = (torch.rand(_c, generator=_gen, dtype=torch.float64) + 0.5).to(device)
    _want = (_x - _m.reshape(_c, 1, 1)) / _s.reshape(_c, 1, 1)
    assert_close(normalize_images(_x, _m, _s), _want, rtol=1e-12, atol=1e-12,
                 name=f"normalize_images(images {_shape})")
_x = torch.rand(4, 3, 5, 5, generator=_gen).to(device)  # float32
_got = normalize_images(_x, _x.new_tensor([0.4, 0.5, 0.6]),
                        _x.new_tensor([0.2, 0.25, 0.3]))
assert _got.dtype == torch.float32, f"dtype {_got.dtype}, expected torch.float32"
### END HIDDEN TESTS

# %% [markdown]
# Now on real photos. scikit-learn ships two $427 \times 640$ colour photos; we
# cut them into $32 \times 32$ patches, a small dataset of 520 images, split it
# into training and test patches, compute the statistics on the training patches
# only, and normalise both splits with them. The test statistics are close to the
# training ones but not equal, and that is expected: the test set is only ever
# *transformed*, never *measured* for preprocessing.

# %%
patches = (photos.permute(0, 3, 1, 2).double() / 255)  # (2, 3, 427, 640) in [0, 1]
patches = patches.unfold(2, 32, 32).unfold(3, 32, 32)  # (2, 3, 13, 20, 32, 32)
patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, 3, 32, 32)  # (520, 3, 32, 32)
photo_id = torch.arange(2).repeat_interleave(len(patches) // 2)
P_train, P_test, _, _ = train_test_split(patches, photo_id, test_fraction=0.2, seed=0)
train_mean, train_std = channel_stats(P_train)
test_mean, test_std = channel_stats(P_test)
print("training mean", train_mean.numpy().round(3), "std", train_std.numpy().round(3))
print("test mean    ", test_mean.numpy().round(3), "std", test_std.numpy().round(3))
print("ImageNet mean [0.485 0.456 0.406]  std [0.229 0.224 0.225]")
normalized = normalize_images(P_test, train_mean, train_std)
print("normalised test patches, per-channel mean",
      normalized.mean(dim=(0, 2, 3)).numpy().round(3))

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 3.5))
for c, colour in enumerate(["red", "green", "blue"]):
    ax0.hist(P_test[:, c].flatten().numpy(), bins=60, histtype="step", color=colour,
             label=f"{colour} channel")
    ax1.hist(normalized[:, c].flatten().numpy(), bins=60, histtype="step",
             color=colour, label=f"{colour} channel")
ax0.set(xlabel="pixel value", ylabel="count", title="Test patches, raw [0, 1]")
ax1.set(xlabel="normalised value", ylabel="count",
        title="Normalised with the training statistics")
ax0.legend()
ax1.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# **The usual pipeline without torchvision.** Tutorials write
# `transforms.Compose([Resize(224), CenterCrop(224), ToTensor(), Normalize(...)])`.
# Each step is one line of plain PyTorch, and writing them out shows what they
# do: `ToTensor` turns an `(H, W, C)` array of bytes into a `(C, H, W)` float
# tensor in $[0, 1]$; `Resize(224)` scales the *shorter* side to 224 keeping the
# aspect ratio (antialiasing when shrinking); `CenterCrop(224)` cuts the central
# square; `Normalize` is your `normalize_images`. (torchvision's
# `transforms.v2` has all of these, plus the random augmentations, and runs on
# tensors and on the GPU; this course does not depend on it.)

# %%
def to_tensor(image_hwc):
    """uint8 array (H, W, C) -> float tensor (C, H, W) in [0, 1]."""
    return torch.as_tensor(image_hwc).permute(2, 0, 1).float() / 255


def resize_shorter_side(image, size):
    """Scale (C, H, W) so that min(H, W) == size, keeping the aspect ratio."""
    height, width = image.shape[-2:]
    factor = size / min(height, width)
    new_size = (round(height * factor), round(width * factor))
    return F.interpolate(image[None], size=new_size, mode="bilinear",
                         antialias=True, align_corners=False)[0]


def center_crop(image, size):
    """The central size x size square of (C, H, W)."""
    height, width = image.shape[-2:]
    top, left = (height - size) // 2, (width - size) // 2
    return image[:, top:top + size, left:left + size]


imagenet_mean = torch.tensor([0.485, 0.456, 0.406])
imagenet_std = torch.tensor([0.229, 0.224, 0.225])
ready = normalize_images(center_crop(resize_shorter_side(
    to_tensor(photos[1].numpy()), 224), 224), imagenet_mean, imagenet_std)
print("model input:", tuple(ready.shape), ready.dtype,
      f"mean {ready.mean().item():.2f}, std {ready.std().item():.2f}")
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
axes[0].imshow(photos[1].numpy())
axes[0].set(title=f"original {tuple(photos[1].shape)}", xlabel="column",
            ylabel="row")
shown = (ready * imagenet_std[:, None, None] + imagenet_mean[:, None, None])
axes[1].imshow(shown.permute(1, 2, 0).clamp(0, 1).numpy())
axes[1].set(title="resized, cropped to 224 x 224 (shown un-normalised)",
            xlabel="column", ylabel="row")
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Text: an offline tokenizer
#
# Models do not read strings; a **tokenizer** turns text into a list of token
# indices. Tutorials load one with
# `AutoTokenizer.from_pretrained("bert-base-uncased")` from the Hugging Face
# `transformers` library. That line *downloads* the tokenizer's files the first
# time (a vocabulary of about 30,000 subword pieces) and fails without a network
# unless the files were cached before. To work offline with a pretrained
# tokenizer:
#
# - download once, on a machine with a network, then save it next to your code:
#   `tok.save_pretrained("assets/bert-tokenizer")`, and later load it with
#   `AutoTokenizer.from_pretrained("assets/bert-tokenizer")`;
# - or rely on the cache (`~/.cache/huggingface`, moved with the `HF_HOME`
#   environment variable) and set `HF_HUB_OFFLINE=1` so that a missing file
#   fails at once instead of waiting for a network;
# - a pretrained model must be used with *its own* tokenizer: the indices mean
#   nothing to any other model.
#
# When you train a model from scratch, you can build the tokenizer yourself, and
# that is all this course needs. A word-level tokenizer has three parts: split
# the text (a regular expression: runs of letters, runs of digits, single
# punctuation marks, all lower-cased), build a vocabulary from the *training*
# text (words seen at least `min_freq` times, plus the special entries `<pad>`
# for padding and `<unk>` for everything else), and map tokens to indices.

# %%
def tokenize(text):
    """Lower-case words, numbers and single punctuation marks."""
    return re.findall(r"[a-z]+|\d+|[^\w\s]", text.lower())


def build_vocab(token_lists, min_freq):
    """<pad> = 0, <unk> = 1, then tokens seen >= min_freq times, most frequent first."""
    counts = Counter(token for tokens in token_lists for token in tokens)
    frequent = [t for t, c in counts.most_common() if c >= min_freq]
    return {token: index for index, token in enumerate(["<pad>", "<unk>", *frequent])}


def encode(text, vocab):
    """Token indices of ``text``; unknown tokens map to <unk>."""
    return [vocab.get(token, vocab["<unk>"]) for token in tokenize(text)]


topic_names = sorted(topics)
cut = int(0.8 * len(topic_names))  # 80% of the topics for training, by name
train_docs = [tokenize(topics[name]) for name in topic_names[:cut]]
held_out = [token for name in topic_names[cut:] for token in tokenize(topics[name])]
word_vocab = build_vocab(train_docs, min_freq=3)
unknown_rate = sum(token not in word_vocab for token in held_out) / len(held_out)
print(f"vocabulary: {len(word_vocab):,} entries from {cut} training topics")
print("'Hello world, a for-loop!' ->", encode("Hello world, a for-loop!", word_vocab))
print(f"held-out topics: {unknown_rate:.1%} of {len(held_out):,} tokens are <unk>")
index_to_token = {index: token for token, index in word_vocab.items()}
top = bag_of_words(held_out, word_vocab).topk(8).indices.tolist()
print("most frequent in the held-out bag of words:", [index_to_token[i] for i in top])

# %% [markdown]
# "hello" and "world" are rare in Python's reference documentation, so both
# became `<unk>` (index 1). Every held-out word that the training text did not
# contain (often enough) becomes `<unk>`, and its meaning is lost. Subword
# tokenizers (byte-pair encoding, WordPiece, unigram) fix this by splitting rare
# words into frequent pieces, down to single characters or bytes, so that nothing
# is ever unknown; chapter 23 trains a character-level model, the extreme case
# with a vocabulary of about a hundred symbols.
#
# ### Tabular data: fit the scaler on the training split only
#
# Table columns come in unrelated units and ranges (in the breast cancer table:
# a radius, an area, a smoothness score), so they are standardised column by
# column, $\hat{x}_{:,d} = (x_{:,d} - \mu_d) / \sigma_d$. The common one-liner
# `StandardScaler().fit_transform(X)` on the *whole* dataset is the classic
# **leak**: $\mu$ and $\sigma$ then depend on the test rows, so the training
# inputs, hence the trained model, depend on the test set, and the test score is
# no longer a measurement on unseen data. The right pattern is
# `scaler.fit(X_train)`, then `scaler.transform` on every split (and on every
# input at deployment, where there is no "whole dataset" to fit on anyway).
#
# On a clean, randomly split dataset the leak barely moves the score, which is
# why it survives in so much code. The cell below makes it visible on the
# breast cancer table: one test row entered in the wrong units (every value
# times 1,000) enters the statistics, every training row is scaled differently,
# and a model trained *without ever seeing that row as an example* scores
# differently on the clean test set. With the scaler fitted on the training
# split, the bad row changes nothing. A third mistake, refitting the scaler on
# each batch of test inputs, is shown too: with one patient at a time every
# feature becomes 0.

# %%
X_tab, y_tab, feature_names = load_tabular("breast_cancer", dtype=torch.float64)
Xt_train, Xt_test, yt_train, yt_test = (a.numpy() for a in train_test_split(
    X_tab, y_tab, test_fraction=0.3, seed=0))
corrupted_test = Xt_test.copy()
corrupted_test[0] *= 1000  # one row entered in the wrong units


def score_on_clean_test(scaler):
    """Train on the scaled training split, score on the clean test split."""
    model = LogisticRegression(max_iter=5000)
    model.fit(scaler.transform(Xt_train), yt_train)
    return model.score(scaler.transform(Xt_test), yt_test)


def fitted(rows):
    return StandardScaler().fit(rows)


results = {
    "fit on train (right)": score_on_clean_test(fitted(Xt_train)),
    "fit on train + test (leak)": score_on_clean_test(fitted(
        torch.cat([torch.as_tensor(Xt_train), torch.as_tensor(Xt_test)]).numpy())),
    "fit on train + corrupted test (leak)": score_on_clean_test(fitted(
        torch.cat([torch.as_tensor(Xt_train), torch.as_tensor(corrupted_test)])
        .numpy())),
}
model = LogisticRegression(max_iter=5000).fit(fitted(Xt_train).transform(Xt_train),
                                              yt_train)
for batch_size in (20, 5, 1):
    correct = 0
    for start in range(0, len(Xt_test), batch_size):
        rows = Xt_test[start:start + batch_size]
        spread = rows.std(axis=0)
        spread[spread == 0] = 1  # a single row has no spread: avoid 0 / 0
        scaled = (rows - rows.mean(axis=0)) / spread
        correct += (model.predict(scaled) == yt_test[start:start + batch_size]).sum()
    results[f"refit on each test batch of {batch_size}"] = correct / len(Xt_test)
for name, score in results.items():
    print(f"{name:38s} test accuracy {score:.3f}")

fig, ax = plt.subplots(figsize=(8, 3.5))
ax.barh(list(results), list(results.values()), color=["tab:green"] + ["tab:red"] * 5)
ax.set(xlabel="accuracy on the clean test split", xlim=(0, 1),
       title="Where the scaling statistics come from")
ax.invert_yaxis()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 7.8 Summary
#
# - Invariance, $f(Tx) = f(x)$, and equivariance, $f(Tx) = T'f(x)$, say which
#   changes of the input a model ignores or follows. An equivariant feature
#   extractor followed by an invariant pooling gives an invariant model.
# - Convolutions and elementwise functions are translation-equivariant, exactly
#   with circular padding and approximately with zero padding; strides and
#   pooling break it for shifts that are not multiples of the stride; fully
#   connected layers have no such symmetry.
# - Augmentation teaches a symmetry from data: randomly shifted digits rescue an
#   MLP on shifted test digits; rotation and scale must be taught separately,
#   and only transformations that keep the label are allowed.
# - In text, order carries meaning: a bag of words cannot tell "dog bites man"
#   from "man bites dog", n-grams capture local context at a steep cost in
#   vocabulary, and dependencies reach hundreds of characters.
# - Audio has time, frequency and phase structure; spectrograms keep the
#   magnitudes and drop the phases. Noise at a given SNR is scaled by powers
#   (mean squares), $10 \log_{10}$ of their ratio.
# - Preprocessing statistics (per-channel means and standard deviations, the
#   vocabulary, the column scaler) come from the training split only and are
#   applied unchanged everywhere else; pretrained tokenizers and image
#   statistics belong to their pretrained model, and can be cached for offline
#   use.
#
# **Next:** chapter 8 builds deep multilayer perceptrons, the fully connected
# networks whose lack of built-in symmetry this chapter measured.
