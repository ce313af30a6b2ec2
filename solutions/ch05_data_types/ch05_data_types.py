# %% [markdown]
# # Chapter 05: Data types: how each kind of data becomes a tensor
#
# A neural network only ever sees tensors of numbers. Before any model can learn
# from a spreadsheet, a photo, a sentence, a recording or a price history, someone
# has to decide how that data becomes a tensor: which numbers, in which order,
# with which shape and dtype. Those decisions are easy to get subtly wrong (a
# category coded as 0, 1, 2; an image whose channels are scrambled by a
# `reshape`; a `uint8` that wraps around; a forecast that peeks at the future),
# and no error message will tell you. This chapter walks through the five kinds
# of data that deep learning meets most often and turns each one into a tensor by
# hand.
#
# **You will learn**
# - tabular data: numeric columns with very different scales, and why a
#   categorical column needs a one-hot code rather than an ordinal one;
# - images: height x width x channels against channels x height x width, `uint8`
#   pixels in 0-255 against floats in 0-1, and the overflow trap of `uint8`;
# - text: characters, words and subwords; a vocabulary with `<pad>` and `<unk>`;
#   a few steps of byte-pair encoding learned on a real corpus;
# - audio: waveforms and sample rates, aliasing, the short-time Fourier
#   transform, spectrograms, the mel scale and MFCCs;
# - time series: trend, seasonality and autocorrelation, and how a series is cut
#   into (input window, target) pairs for supervised learning.
#
# **Graded exercises** (13 points)
#
# | exercise | points |
# |---|---|
# | `one_hot(indices, num_classes)` | 2 |
# | `to_chw(image_hwc)` | 2 |
# | `build_vocab(texts, min_freq)` | 2 |
# | `encode(text, vocab)` | 2 |
# | `spectrogram(waveform, n_fft, hop_length)` | 3 |
# | `sliding_windows(series, window, horizon)` | 2 |
#
# Each exercise is a function whose docstring states its whole contract:
# shapes, dtypes, devices, edge cases and the built-ins you may not call.
# Replace `raise NotImplementedError()` with your code and run the test cell
# below it. The visible tests show every rule the grader checks; hidden tests
# repeat them on other values, shapes and seeds.

# %%
import math
import re
from collections import Counter
from pydoc_data import topics

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib import cbook
from sklearn.datasets import load_sample_images
from torch import nn

from dlcourse import get_device, progress, set_seed
from dlcourse.checks import assert_close, assert_shape, expect_raises, forbid
from dlcourse.data import load_tabular
from dlcourse.widgets import interactive_plot

device = get_device()  # the tests also run your code on this device
set_seed(0)
print(f"torch {torch.__version__}, device: {device}")

# %% [markdown]
# ## 5.1 Everything becomes a tensor
#
# The five kinds of data in this chapter differ in what their axes mean, and
# that decides both the tensor's shape and the architecture that suits it:
#
# | data | one example | a batch | models that fit it |
# |---|---|---|---|
# | tabular | $D$ features $(D,)$ | $(N, D)$ | boosted trees, MLP, SVM |
# | image | $(C, H, W)$ | $(N, C, H, W)$ | CNN (ResNet), ViT |
# | text | $L$ token ids $(L,)$ | $(N, L)$, padded | RNN, LSTM, Transformer |
# | audio | $(T,)$ or spectrogram $(F, M)$ | $(N, T)$, $(N, F, M)$ | 1-D CNN, CNN |
# | time series | $(T, F)$ | windows $(N, W, F)$ | ARIMA, LSTM, temporal CNN |
#
# Here $N$ is always the batch size. Two questions come up for every kind:
#
# 1. **Which axis is which?** Rows of a table are independent examples and the
#    order of its columns means nothing. The two spatial axes of an image and the
#    time axis of audio, text and time series do have an order, and neighbours
#    along them are related. Convolutions and recurrent networks are built to
#    exploit exactly that.
# 2. **What does a number mean?** A price, a pixel intensity and a sound pressure
#    are quantities: adding and scaling them makes sense. A category code or a
#    token id is only a name: token 7 is not "more" than token 6. Names must be
#    turned into vectors before a model can do arithmetic with them.

# %% [markdown]
# ## 5.2 Tabular data
#
# A table has one row per example and one column per **feature**, the way a
# bank might record loan applications:
#
# | age | income | education | decision |
# |---|---|---|---|
# | 25 | 50,000 | university | approved |
# | 45 | 80,000 | secondary | approved |
# | 22 | 30,000 | secondary | rejected |
#
# Age and income are **numeric** columns; education is a **categorical** column
# with a few possible values; the decision is the label. On tables, gradient-
# boosted trees are still very strong; neural networks (MLPs) become competitive
# with many rows and when they are trained with the usual care. Either way, each
# column must be turned into numbers, and for a neural network it also matters
# how large those numbers are.
#
# ### Numeric columns live on different scales
#
# The wine dataset bundled with scikit-learn has 13 numeric measurements of 178
# wines. Their spreads differ by orders of magnitude:

# %%
X_wine, y_wine, wine_features = load_tabular("wine")
spread = X_wine.std(dim=0)
order = spread.argsort()
print(f"X_wine: shape {tuple(X_wine.shape)}, dtype {X_wine.dtype}")
print(f"smallest std: {wine_features[order[0]]} ({spread[order[0]]:.3f}), "
      f"largest: {wine_features[order[-1]]} ({spread[order[-1]]:.1f}), "
      f"ratio {spread.max() / spread.min():.0f}")

fig, ax = plt.subplots(figsize=(7, 4))
ax.barh([wine_features[i] for i in order], spread[order].numpy(),
        label="raw columns")
ax.barh([wine_features[i] for i in order],
        ((X_wine - X_wine.mean(0)) / X_wine.std(0)).std(0)[order].numpy(),
        height=0.3, label="after standardisation")
ax.set_xscale("log")
ax.set(xlabel="standard deviation (log scale)",
       title="Wine: the 13 features before and after standardisation")
ax.legend()
plt.show()

# %% [markdown]
# A linear layer computes $\sum_j w_j x_j$: with raw columns, the proline column
# (hundreds) drowns out the hue column (around 1) unless the weights compensate
# by the same ratio, and gradient descent finds such badly scaled weights very
# slowly (chapter 4 showed why: the loss surface becomes a long ravine). The
# standard fix is **standardisation**, $x_j \leftarrow (x_j - \mu_j) / \sigma_j$
# with the mean and standard deviation of each column *computed on the training
# set only*. Chapter 15 implements it, with min-max and robust scaling.
#
# ### Categorical columns: names, not quantities
#
# A categorical column holds one of $C$ names: a colour, a country, an education
# level. The tempting encoding numbers them, red $\to 0$, green $\to 1$, blue
# $\to 2$ (an **ordinal code**), and feeds that number to the model. For a linear
# model this says two false things: that the categories are ordered, and that
# they are equally spaced. The prediction $w \cdot \text{code} + b$ can only go
# up or only go down along the codes, whatever the data say.
#
# Here is a small regression problem where the target depends on a colour in a
# non-monotone way (green is high, red and blue are low). We fit the best linear
# model on the ordinal code, for two arbitrary orders of the names:

# %%
set_seed(0)
colours = ["red", "green", "blue"]
true_means = torch.tensor([2.0, 5.0, 1.0])  # mean target of each colour
codes = torch.randint(0, 3, (300,))  # the colour of each of 300 examples
y_col = true_means[codes] + 0.3 * torch.randn(300)


def fit_least_squares(X, y):
    """Weights w minimising ||X w - y||^2 (X: (N, D), y: (N,)) -> (D,)."""
    return torch.linalg.lstsq(X, y.unsqueeze(1)).solution.squeeze(1)


ordinal_fits = {}
for name, order_of_names in [("red=0, green=1, blue=2", [0, 1, 2]),
                             ("green=0, blue=1, red=2", [2, 0, 1])]:
    code = torch.tensor(order_of_names, dtype=torch.float32)[codes]
    X_ord = torch.stack([code, torch.ones(300)], dim=1)  # (300, 2): code and bias
    w = fit_least_squares(X_ord, y_col)
    pred = X_ord @ w
    ordinal_fits[name] = [pred[codes == c].mean().item() for c in range(3)]
    print(f"ordinal code {name}: mean squared error "
          f"{(pred - y_col).pow(2).mean():.3f}")

# %% [markdown]
# Both fits are poor, and they disagree with each other: the model's answer
# depends on an arbitrary order of the names that carries no information.
# (An ordinal code is fine for a tree, which can split anywhere, and it can be
# the right choice for a column that really is ordered, such as "small < medium
# < large", although even there it assumes equal steps.)
#
# The **one-hot code** gives each category its own column: category $c$ of $C$
# becomes the vector $e_c \in \{0, 1\}^C$ with a single 1 in position $c$.
# A linear model then has one weight per category, $w \cdot e_c = w_c$, and can
# fit any pattern. With $C$ large (a vocabulary of 50,000 words), the same
# idea becomes an **embedding** (section 5.4).
#
# ### Exercise 1: `one_hot` (2 points)
#
# Write `one_hot(indices, num_classes)`. It works on a tensor of indices of any
# shape and appends a dimension of size `num_classes`. The result is
# **float32**, ready to be multiplied by a weight matrix (the built-in
# `F.one_hot` returns int64 instead, and it is forbidden here). Indices outside
# $[0, C)$ raise a `ValueError`: a negative index would otherwise select a row
# counted from the end without any warning. Comparing with `torch.arange`,
# `scatter_`, or indexing the rows of `torch.eye` are all fine ways to build it.

# %% grade_id="ch05-one-hot"
def one_hot(indices, num_classes):
    """One-hot encode integer labels (category indices).

    Args:
        indices: int64 tensor of any shape S (0-d, (N,), (N, L), ...) holding
            category indices (labels).
        num_classes: int C >= 1, the number of classes.

    Returns:
        float32 tensor of shape (*S, C) on the device of ``indices``, with
        out[..., c] = 1.0 where indices[...] == c and 0.0 elsewhere.
        ``indices`` is not modified.

    Raises:
        ValueError: if any index is negative or >= num_classes.

    Do not call torch.nn.functional.one_hot. Anything else is allowed
    (torch.arange and a comparison, scatter_, rows of torch.eye, ...).
    """
    ### BEGIN SOLUTION
    if ((indices < 0) | (indices >= num_classes)).any():
        raise ValueError(f"indices must lie in [0, {num_classes})")
    classes = torch.arange(num_classes, device=indices.device)
    return (indices.unsqueeze(-1) == classes).to(torch.float32)
    ### END SOLUTION


# %%
# Try it: the colours of the first five examples above
print([colours[c] for c in codes[:5]])
print(one_hot(codes[:5], 3))

# %% grade_id="ch05-one-hot-tests" points=2
"""one_hot: float32 rows with one 1 at each index; any input shape (0-d, 1-D, a
batch) with C appended; the device kept; ValueError for negative or too large
indices; the input unchanged; no F.one_hot."""
_banned = ("torch.nn.functional.one_hot",)
with forbid(*_banned):
    out = one_hot(torch.tensor([2, 0, 1, 2]), 3)
assert_close(out, torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0],
                                [0.0, 0.0, 1.0]]),
             name="one_hot(tensor([2, 0, 1, 2]), 3) (a float32 result)")
with forbid(*_banned):
    out = one_hot(torch.tensor(3), 5)
assert_close(out, torch.tensor([0.0, 0.0, 0.0, 1.0, 0.0]),
             name="one_hot(tensor(3), 5) for a 0-d index")
idx = torch.tensor([[1, 4, 0], [3, 3, 2]], device=device)  # a batch of shape (2, 3)
idx_before = idx.clone()
with forbid(*_banned):
    out = one_hot(idx, 5)
assert_shape(out, (2, 3, 5), name="one_hot(indices of shape (2, 3), 5)")
assert out.device == idx.device, f"result on {out.device}, expected {idx.device}"
assert_close(out.cpu(), torch.eye(5)[idx.cpu()],
             name="one_hot(tensor([[1, 4, 0], [3, 3, 2]]), 5)")
assert torch.equal(idx, idx_before), "one_hot modified its input"
expect_raises(ValueError, one_hot, torch.tensor([0, 3]), 3,
              name="one_hot(tensor([0, 3]), 3) (3 is not in [0, 3))")
expect_raises(ValueError, one_hot, torch.tensor([-1, 2]), 3,
              name="one_hot(tensor([-1, 2]), 3) (negative index)")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(5)
for _shape, _C in [((7,), 4), ((1,), 1), ((3, 5), 6), ((2, 1, 4), 9), ((), 2),
                   ((1, 1), 3)]:
    _idx = torch.randint(0, _C, _shape, generator=_gen).to(device)
    _before = _idx.clone()
    with forbid(*_banned):
        _got = one_hot(_idx, _C)
    assert_close(_got, F.one_hot(_idx, _C).float(),
                 name=f"one_hot(indices of shape {_shape}, {_C})")
    assert _got.device == _idx.device, f"result on {_got.device}, expected {device}"
    assert torch.equal(_idx, _before), "one_hot modified its input"
for _bad, _C in [([0, 1, 5], 5), ([[0], [-3]], 4), ([7], 2), ([-1], 1)]:
    expect_raises(ValueError, one_hot, torch.tensor(_bad), _C,
                  name=f"one_hot(tensor({_bad}), {_C})")
### END HIDDEN TESTS

# %% [markdown]
# Now the colour problem again, with one column per colour. The three columns
# sum to 1 in every row, so they already play the role of the bias column:

# %%
X_hot = one_hot(codes, 3)  # (300, 3)
w_hot = fit_least_squares(X_hot, y_col)
pred_hot = X_hot @ w_hot
print(f"one-hot code: mean squared error {(pred_hot - y_col).pow(2).mean():.3f} "
      f"(the noise variance is 0.3^2 = 0.09); weights {w_hot.numpy().round(2)}")

fig, ax = plt.subplots(figsize=(7, 3.5))
positions = torch.arange(3.0)
ax.bar(positions - 0.3, true_means.numpy(), width=0.2, label="true mean")
for shift, (name, means) in zip((-0.1, 0.1), ordinal_fits.items(), strict=True):
    ax.bar(positions + shift, means, width=0.2, label=f"ordinal: {name}")
ax.bar(positions + 0.3, [pred_hot[codes == c].mean().item() for c in range(3)],
       width=0.2, label="one-hot")
ax.set_xticks(positions.numpy(), colours)
ax.set(xlabel="colour", ylabel="predicted target",
       title="A linear model on an ordinal code cannot fit a non-monotone effect")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ### From one-hot to embeddings
#
# Multiplying a one-hot row by a weight matrix $W$ of shape $(C, K)$ just selects
# row $c$ of $W$: $e_c^\top W = W_{c,:}$. So a linear layer on one-hot inputs is a
# **lookup table**, and `nn.Embedding(C, K)` implements it as exactly that, with
# no $(N, C)$ matrix of zeros ever built. Its rows are learned like any other
# weights. This is how words, users, products or zip codes enter a network:
# the id picks a dense vector of, say, $K = 300$ numbers.

# %%
set_seed(0)
embedding = nn.Embedding(num_embeddings=6, embedding_dim=4)
ids = torch.tensor([5, 0, 2, 2])
by_lookup = embedding(ids)  # (4, 4): rows 5, 0, 2, 2 of the table
by_matmul = one_hot(ids, 6) @ embedding.weight  # (4, 6) @ (6, 4)
print("same result:", torch.allclose(by_lookup, by_matmul))

# %% [markdown]
# ## 5.3 Images
#
# A digital image is a grid of pixels. A grayscale pixel is one intensity; a
# colour pixel has three **channels**, red, green and blue. So a colour image is
# a 3-D array, and there are two conventions for the order of its axes:
#
# - **$H \times W \times C$** (channels last): how image files decode, and what
#   PIL, matplotlib (`imshow`), NumPy and scikit-learn use.
# - **$C \times H \times W$** (channels first): what PyTorch's convolution layers
#   expect, batched as $N \times C \times H \times W$.
#
# A $224 \times 224$ RGB image, the classic input size of ImageNet models, has
# $224 \cdot 224 = 50{,}176$ pixels and $3 \cdot 50{,}176 = 150{,}528$ numbers.
#
# Pixel values come in two conventions too. Files store each channel as an
# unsigned byte, `uint8`, from 0 (dark) to 255 (bright). Networks want floats,
# usually scaled to $[0, 1]$ by dividing by 255, and then often standardised per
# channel.
#
# scikit-learn ships two photos that we can load without a network:

# %%
photos = [torch.tensor(image) for image in load_sample_images().images]  # copies
china = photos[0]  # (H, W, C) uint8
print(f"china: shape {tuple(china.shape)}, dtype {china.dtype}, "
      f"values {china.min().item()}..{china.max().item()}")

fig, axes = plt.subplots(1, 4, figsize=(14, 2.8))
axes[0].imshow(china.numpy())
axes[0].set_title("RGB photo (H, W, C)")
for c, (ax, name) in enumerate(zip(axes[1:], ["red", "green", "blue"], strict=True)):
    im = ax.imshow(china[:, :, c].numpy(), cmap="gray", vmin=0, vmax=255)
    ax.set_title(f"channel {c}: {name}")
for ax in axes:
    ax.set(xlabel="column (W)", ylabel="row (H)")
fig.colorbar(im, ax=axes[3], label="uint8 value")
fig.tight_layout()
plt.show()

# %% [markdown]
# ### `permute` moves axes, `reshape` does not
#
# To go from $(H, W, C)$ to $(C, H, W)$ the axes must be **permuted**:
# `image.permute(2, 0, 1)`. A very common bug is `image.reshape(C, H, W)` (or
# `view`): it has the right shape, but `reshape` keeps the elements in their
# memory order and only cuts that sequence differently. In memory, an
# $(H, W, C)$ image stores R, G, B of the first pixel, then R, G, B of the
# second... so the "red channel" that `reshape` produces holds the first third of
# that interleaved sequence: every channel of the top third of the photo,
# squeezed together.

# %%
H, W, C = china.shape
fig, axes = plt.subplots(1, 2, figsize=(10, 3))
axes[0].imshow(china.permute(2, 0, 1)[0].numpy(), cmap="gray")
axes[0].set_title("permute(2, 0, 1)[0]: the red channel")
axes[1].imshow(china.reshape(C, H, W)[0].numpy(), cmap="gray")
axes[1].set_title("reshape(C, H, W)[0]: not a channel")
for ax in axes:
    ax.set(xlabel="column", ylabel="row")
fig.tight_layout()
plt.show()

chw = china.permute(2, 0, 1)
print("permute returns a view with new strides:", china.stride(), "->", chw.stride(),
      "contiguous:", chw.is_contiguous())

# %% [markdown]
# `permute` copies nothing: it returns a **view** with reordered strides (the step
# in memory along each axis), which is why the result is not contiguous. Most
# operations accept that; `view` does not, and `.contiguous()` makes a copy in
# the new order. (PyTorch can also keep an $N \times C \times H \times W$ tensor
# in a channels-last memory layout, `memory_format=torch.channels_last`, which
# some GPU kernels prefer; the logical shape stays $(N, C, H, W)$.)
#
# ### The `uint8` trap
#
# `uint8` arithmetic wraps around modulo 256, without any warning, in both
# PyTorch and NumPy: $200 + 100 = 300 \equiv 44$. Brightening a photo by adding
# 80 to every byte turns the brightest pixels dark. Convert to float first, then
# clamp:

# %%
print("uint8 200 + 100 =", (torch.tensor([200], dtype=torch.uint8) + 100).item())
wrapped = china + 80  # still uint8: values above 175 wrap around
brighter = (china.float() / 255 + 80 / 255).clamp(0.0, 1.0)
print(f"pixels that wrapped around: {(china > 175).any(dim=2).float().mean():.1%}")

fig, axes = plt.subplots(1, 3, figsize=(14, 3))
for ax, image, title in [(axes[0], china.numpy(), "original"),
                         (axes[1], wrapped.numpy(), "uint8 + 80: wraps around"),
                         (axes[2], brighter.numpy(), "float + 80/255, clamped")]:
    ax.imshow(image)
    ax.set(title=title, xlabel="column", ylabel="row")
fig.tight_layout()
plt.show()

# %% [markdown]
# Other traps of integer pixels: `torch.mean` refuses a `uint8` tensor, and
# `uint8 / 255` is a float in PyTorch but `uint8 // 255` is 0 for every pixel
# but the brightest.
#
# ### Exercise 2: `to_chw` (2 points)
#
# Write `to_chw(image_hwc)`, the conversion that every image pipeline starts
# with (torchvision's `ToTensor` does the same for one image). It moves the
# channel axis in front of the two spatial axes, for one image or for a batch,
# and converts `uint8` pixels to float32 in $[0, 1]$. Floating-point input is already
# converted: it keeps its values and its dtype.

# %% grade_id="ch05-to-chw"
def to_chw(image_hwc):
    """Channels-last image(s) to channels-first, with uint8 scaled to [0, 1].

    H is the height, W the width, C the number of channels (1 grayscale,
    3 RGB, 4 RGBA...) and N the batch size.

    Args:
        image_hwc: tensor of shape (H, W, C) or a batch (N, H, W, C), of dtype
            uint8 (values 0..255) or floating point (float32 or float64).

    Returns:
        Tensor of shape (C, H, W), or (N, C, H, W) for a batch, on the device
        of ``image_hwc``, with out[..., c, h, w] = image_hwc[..., h, w, c]
        (the axes are moved, not reshaped), and
        - for uint8 input: dtype float32, values divided by 255 (so 255 -> 1.0);
        - for floating-point input: the same dtype and the same values.
        The result may be a view of the input or a copy; ``image_hwc`` is not
        modified.
    """
    ### BEGIN SOLUTION
    chw = image_hwc.movedim(-1, -3)  # (..., H, W, C) -> (..., C, H, W)
    if image_hwc.dtype == torch.uint8:
        return chw.to(torch.float32) / 255
    return chw
    ### END SOLUTION


# %%
# Try it: both photos as one batch
batch = torch.stack(photos)  # (2, H, W, C) uint8
x_photos = to_chw(batch)
print(f"{tuple(batch.shape)} {batch.dtype} -> {tuple(x_photos.shape)} "
      f"{x_photos.dtype}, values {x_photos.min():.2f}..{x_photos.max():.2f}")

# %% grade_id="ch05-to-chw-tests" points=2
"""to_chw: (H, W, C) -> (C, H, W) and (N, H, W, C) -> (N, C, H, W) by moving
axes (not reshaping); uint8 -> float32 / 255; float input keeps dtype and values;
device kept; input unchanged."""
img = torch.arange(24, dtype=torch.uint8).reshape(2, 4, 3) * 10  # H=2, W=4, C=3
img[0, 0] = 255
img_before = img.clone()
out = to_chw(img)
want = torch.stack([img[:, :, c] for c in range(3)]).to(torch.float32) / 255
assert_close(out, want, rtol=1e-6, atol=1e-7,
             name="to_chw(uint8 image of shape (2, 4, 3)): float32 (C, H, W) / 255")
assert_close(out[:, 0, 0], torch.ones(3), name="to_chw: pixel value 255 -> 1.0")
assert torch.equal(img, img_before), "to_chw modified its input"
imgs = torch.randn(2, 5, 4, 3, dtype=torch.float64, device=device)  # (N, H, W, C)
imgs_before = imgs.clone()
out = to_chw(imgs)
assert_shape(out, (2, 3, 5, 4), name="to_chw(float64 batch of shape (2, 5, 4, 3))")
assert out.device == imgs.device, f"result on {out.device}, expected {imgs.device}"
want = torch.stack([torch.stack([im[:, :, c] for c in range(3)]) for im in imgs])
assert_close(out, want, name="to_chw(float64 batch): same values and dtype")
assert torch.equal(imgs, imgs_before), "to_chw modified its input"
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(7)
for _shape in [(7, 5, 3), (1, 6, 9, 3), (3, 8, 1), (2, 3, 6, 4), (5, 2, 2)]:
    _x = torch.randint(0, 256, _shape, generator=_gen, dtype=torch.uint8).to(device)
    _before = _x.clone()
    _got = to_chw(_x)
    _want = _x.permute(*range(_x.dim() - 3), -1, -3, -2).to(torch.float32) / 255
    assert_close(_got, _want, rtol=1e-6, atol=1e-7,
                 name=f"to_chw(uint8 of shape {_shape})")
    assert _got.device == _x.device, f"result on {_got.device}, expected {device}"
    assert torch.equal(_x, _before), "to_chw modified its input"
for _shape, _dtype in [((6, 7, 3), torch.float32), ((1, 4, 9, 2), torch.float64),
                       ((3, 2, 5, 3), torch.float32)]:
    _x = torch.rand(_shape, generator=_gen, dtype=_dtype).to(device)
    _got = to_chw(_x)
    assert_close(_got, _x.permute(*range(_x.dim() - 3), -1, -3, -2),
                 name=f"to_chw({_dtype} of shape {_shape})")
### END HIDDEN TESTS

# %% [markdown]
# ### Grayscale and per-channel standardisation
#
# A grayscale version weights the channels by how bright they look to the
# human eye (ITU-R BT.601): $Y = 0.299 R + 0.587 G + 0.114 B$. Pretrained
# networks expect each channel standardised with fixed statistics, for ImageNet
# models mean $(0.485, 0.456, 0.406)$ and standard deviation
# $(0.229, 0.224, 0.225)$; a model of your own uses the statistics of its
# training set. The mean and standard deviation are taken over the batch and both
# spatial axes, one value per channel:

# %%
x_photos = to_chw(torch.stack(photos))  # (2, 3, H, W) float32 in [0, 1]
channel_mean = x_photos.mean(dim=(0, 2, 3))  # (3,)
channel_std = x_photos.std(dim=(0, 2, 3))
standardised = (x_photos - channel_mean[:, None, None]) / channel_std[:, None, None]
gray = (torch.tensor([0.299, 0.587, 0.114])[:, None, None] * x_photos[1]).sum(0)
print("per-channel mean:", channel_mean.numpy().round(3),
      " std:", channel_std.numpy().round(3))
print("after standardisation:", standardised.mean(dim=(0, 2, 3)).numpy().round(3),
      standardised.std(dim=(0, 2, 3)).numpy().round(3))

fig, axes = plt.subplots(1, 3, figsize=(14, 3))
axes[0].imshow(x_photos[1].permute(1, 2, 0).numpy())  # imshow wants (H, W, C)
axes[0].set_title("flower, back to (H, W, C) for imshow")
axes[1].imshow(gray.numpy(), cmap="gray")
axes[1].set_title("grayscale 0.299 R + 0.587 G + 0.114 B")
for c, name in enumerate(["red", "green", "blue"]):
    axes[2].hist(x_photos[:, c, ::2, ::2].reshape(-1).numpy(), bins=64,
                 histtype="step", color=name, label=name)  # every 4th pixel
axes[2].set(title="pixel values of both photos (1 in 4)",
            xlabel="value in [0, 1]", ylabel="pixel count")
axes[2].legend()
for ax in axes[:2]:
    ax.set(xlabel="column", ylabel="row")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 5.4 Text
#
# Text is a sequence of symbols of variable length, where order matters ("dog
# bites man" is not "man bites dog") and meaning depends on context. To become a
# tensor it is cut into **tokens**, each token is given an integer **id** from a
# **vocabulary**, and the model looks the ids up in an embedding table (section
# 5.2). Three choices of token:
#
# - **characters**: a tiny vocabulary and no unknown words, but long sequences,
#   and the model must learn spelling before meaning;
# - **words**: short sequences, but a huge vocabulary with a long tail, and every
#   word missing from the vocabulary (a typo, a name, a new word) becomes an
#   unknown token;
# - **subwords** (byte-pair encoding, WordPiece, unigram): frequent words stay
#   whole, rare words are spelled out of frequent pieces. Every modern language
#   model (BERT, GPT) uses them.
#
# Our corpus ships with Python itself: the reference topics that `help()` shows
# (statements, operators, types; `pydoc_data.topics`), a few hundred thousand
# characters of real English with some code.

# %%
corpus_texts = [topics.topics[key] for key in sorted(topics.topics)]
corpus = "\n".join(corpus_texts)
print(f"{len(corpus_texts)} documents, {len(corpus):,} characters, "
      f"{len(set(corpus))} distinct characters")
print(corpus_texts[0][:300])

# %% [markdown]
# ### Tokenising into words
#
# We use one simple rule throughout this section: lower-case the text, then take
# runs of letters, digits and underscores (`\w+` in a regular expression) as
# words, and each other non-space character as a token of its own, so that
# "mat." gives "mat" and ".". Real tokenisers handle much more (contractions,
# Unicode, numbers), but the principle is the same.

# %%
def tokenize(text):
    """The tokenizer of section 5.4: lower-case ``text`` and return the list of its
    words (maximal runs of letters, digits and underscores, regex ``\\w+``) and
    single punctuation characters (any other non-space character)."""
    return re.findall(r"\w+|[^\w\s]", text.lower())


print(tokenize("The cat sat on the mat. Isn't it 2 o'clock?"))
words = tokenize(corpus)
word_counts = Counter(words)
print(f"{len(words):,} tokens (words and punctuation), {len(word_counts):,} distinct")
print("most common:", word_counts.most_common(12))

# %% [markdown]
# Word frequencies follow **Zipf's law**: the $r$-th most frequent word appears
# roughly $\propto 1/r$ times, a straight line of slope $-1$ on a log-log plot.
# A few words cover most of the text and a long tail of words appears once or
# twice. This tail is why a word vocabulary must stop somewhere, and why the
# words beyond it need a fallback.

# %%
freqs = torch.tensor(sorted(word_counts.values(), reverse=True), dtype=torch.float64)
ranks = torch.arange(1, len(freqs) + 1, dtype=torch.float64)
singletons = (freqs == 1).sum().item()
print(f"{singletons:,} of {len(freqs):,} distinct tokens appear exactly once; "
      f"the 100 most frequent cover {freqs[:100].sum() / freqs.sum():.0%} of the text")

fig, ax = plt.subplots(figsize=(6, 4))
ax.loglog(ranks.numpy(), freqs.numpy(), ".", ms=3, label="pydoc topics")
ax.loglog(ranks.numpy(), (freqs[0] / ranks).numpy(), "k--", label=r"$\propto 1/r$")
ax.set(xlabel="rank r of the word", ylabel="number of occurrences",
       title="Zipf's law in Python's documentation")
ax.legend()
plt.show()

# %% [markdown]
# ### A vocabulary with `<pad>` and `<unk>`
#
# A vocabulary maps each kept token to an id. Two ids are reserved:
#
# - `<pad>` (id 0) fills the end of the shorter sequences of a batch, so that a
#   batch is a rectangular $(N, L)$ tensor. Layers are told to ignore it
#   (`nn.Embedding(..., padding_idx=0)`, attention masks, `ignore_index` in the
#   loss).
# - `<unk>` (id 1) stands for every token that is not in the vocabulary.
#
# The vocabulary keeps the tokens seen at least `min_freq` times in the training
# texts: rarer ones would get an embedding trained on one or two examples, and
# mapping them to `<unk>` also teaches the model what to do with unknown words.
#
# ### Exercise 3: `build_vocab` (2 points)
#
# Count the tokens of all texts (total occurrences, with `tokenize` above), keep
# those with a count of at least `min_freq`, and number them after the two
# special tokens, **most frequent first**. Ties must be broken in a fixed way,
# otherwise two correct programs give different ids: equal counts are ordered
# alphabetically, by Python's string order (what `sorted` gives: character by
# character, by Unicode code point, so "," < "." < "2" < "a" < "b"). Careful:
# `Counter.most_common` orders ties by first appearance, not alphabetically.

# %% grade_id="ch05-build-vocab"
def build_vocab(texts, min_freq):
    """Build a token -> id vocabulary from a list of texts.

    Args:
        texts: list of str (possibly empty). Each text is split with
            ``tokenize(text)`` (lower-case; words ``\\w+`` and single punctuation
            characters).
        min_freq: int >= 1. A token is kept if its total number of occurrences
            over all texts is >= min_freq.

    Returns:
        dict mapping str -> int:
        - "<pad>" -> 0 and "<unk>" -> 1;
        - then the kept tokens with ids 2, 3, 4, ... in order of decreasing
          count, equal counts in increasing alphabetical order (Python's string
          comparison, as in ``sorted``).
        With no kept token (e.g. texts == []) the result is
        {"<pad>": 0, "<unk>": 1}.
    """
    ### BEGIN SOLUTION
    counts = Counter(token for text in texts for token in tokenize(text))
    kept = sorted((-n, token) for token, n in counts.items() if n >= min_freq)
    vocab = {"<pad>": 0, "<unk>": 1}
    for _, token in kept:
        vocab[token] = len(vocab)
    return vocab
    ### END SOLUTION


# %%
# Try it
print(build_vocab(["The cat sat on the mat.", "The dog sat!"], min_freq=2))

# %% grade_id="ch05-build-vocab-tests" points=2
"""build_vocab: <pad> = 0, <unk> = 1, then tokens with count >= min_freq by
decreasing count, ties alphabetical; tokens from tokenize (lower-case,
punctuation separate); counts over all texts; only the special tokens when
nothing is kept or texts is empty."""
texts = ["the cat sat on the mat.", "The dog sat!", "a cat, a dog"]
# counts: the 3; a, cat, dog, sat 2; "!", ",", ".", mat, on 1
got = build_vocab(texts, 2)
want = {"<pad>": 0, "<unk>": 1, "the": 2, "a": 3, "cat": 4, "dog": 5, "sat": 6}
assert got == want, f"build_vocab(texts, 2): expected {want}, got {got}"
got = build_vocab(texts, 1)
want = {"<pad>": 0, "<unk>": 1, "the": 2, "a": 3, "cat": 4, "dog": 5, "sat": 6,
        "!": 7, ",": 8, ".": 9, "mat": 10, "on": 11}
assert got == want, f"build_vocab(texts, 1): expected {want}, got {got}"
got = build_vocab(texts, 4)
assert got == {"<pad>": 0, "<unk>": 1}, f"build_vocab(texts, 4): got {got}"
got = build_vocab([], 1)
assert got == {"<pad>": 0, "<unk>": 1}, f"build_vocab([], 1): got {got}"
### BEGIN HIDDEN TESTS
def _reference_vocab(_texts, _min_freq):
    _counts = Counter(_t for _text in _texts
                      for _t in re.findall(r"\w+|[^\w\s]", _text.lower()))
    _vocab = {"<pad>": 0, "<unk>": 1}
    for _t in sorted(_counts, key=lambda _k: (-_counts[_k], _k)):
        if _counts[_t] >= _min_freq:
            _vocab[_t] = len(_vocab)
    return _vocab


def _first_difference(_got, _want):
    for _k in sorted(set(_got) | set(_want), key=lambda _k: _want.get(_k, 10**9)):
        if _got.get(_k) != _want.get(_k):
            return f"token {_k!r}: expected id {_want.get(_k)}, got {_got.get(_k)}"
    return "none"


_gen = torch.Generator().manual_seed(11)
_pool = ["Zeta", "alpha", "beta", "gamma", "delta", "x1", "b_2", ".", ",", "?",
         "(", "Alpha", "BETA", "pi", "e"]
_cases = []
for _n_texts in (1, 4, 9):
    _texts = [" ".join(_pool[i] for i in torch.randint(
        0, len(_pool), (int(torch.randint(0, 12, (1,), generator=_gen)),),
        generator=_gen).tolist()) for _ in range(_n_texts)]
    _cases += [(_texts, 1), (_texts, 2), (_texts, 3)]
_docs = [topics.topics[_key] for _key in sorted(topics.topics)]
_cases += [(_docs[:40], 5), (_docs[40:47], 2), (["   ", ""], 1),
           (["Hello, World! hello... WORLD?"], 2)]
for _texts, _min_freq in _cases:
    _got = build_vocab(_texts, _min_freq)
    _want = _reference_vocab(_texts, _min_freq)
    assert _got == _want, (
        f"build_vocab({len(_texts)} texts, min_freq={_min_freq}): "
        f"{len(_got)} entries, expected {len(_want)}; first difference: "
        f"{_first_difference(_got, _want)}")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 4: `encode` (2 points)
#
# `encode(text, vocab)` turns a text into its tensor of token ids with the same
# tokenizer. Every token missing from the vocabulary gets the id of `<unk>`
# (read it from the vocabulary, do not assume it is 1). The result is an int64
# tensor (`nn.Embedding` wants integer ids), even for an empty text, where
# `torch.tensor([])` would give a float32 tensor.

# %% grade_id="ch05-encode"
def encode(text, vocab):
    """Token ids of ``text``.

    Args:
        text: str (possibly empty), split with ``tokenize(text)``.
        vocab: dict str -> int that contains "<unk>", e.g. from build_vocab.

    Returns:
        int64 tensor of shape (L,) on the CPU, L = len(tokenize(text)), with
        out[i] = vocab[token_i] if token_i is in vocab, else vocab["<unk>"].
        An empty text (or one with only spaces) gives an int64 tensor of
        shape (0,). No padding is added.
    """
    ### BEGIN SOLUTION
    unk = vocab["<unk>"]
    return torch.tensor([vocab.get(token, unk) for token in tokenize(text)],
                        dtype=torch.int64)
    ### END SOLUTION


# %%
# Try it
toy_vocab = build_vocab(["The cat sat on the mat.", "The dog sat!"], min_freq=1)
print(encode("The dog sat on the cat's mat.", toy_vocab))

# %% grade_id="ch05-encode-tests" points=2
"""encode: int64 ids from tokenize (lower-case, punctuation separate); unknown
tokens -> vocab["<unk>"] (not a fixed number); an empty text gives int64 of
shape (0,)."""
vocab = {"<pad>": 0, "<unk>": 1, "the": 2, "cat": 3, "sat": 4, ".": 5}
assert_close(encode("The cat sat.", vocab), torch.tensor([2, 3, 4, 5]),
             name='encode("The cat sat.", vocab) (int64 ids)')
assert_close(encode("the dog sat", vocab), torch.tensor([2, 1, 4]),
             name='encode("the dog sat", vocab) (dog is unknown)')
vocab2 = {"<pad>": 0, "hi": 1, "there": 2, "<unk>": 3}  # <unk> is not id 1 here
assert_close(encode("Hi you, there", vocab2), torch.tensor([1, 3, 3, 2]),
             name='encode("Hi you, there", vocab2) with vocab2["<unk>"] == 3')
assert_close(encode("", vocab), torch.zeros(0, dtype=torch.int64),
             name='encode("", vocab) (an empty int64 tensor)')
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(13)
_words = ["Alpha", "beta", "gamma", "unknown", "x_1", ".", "!", ",", "BETA", "z9"]
_vocab = {"<pad>": 0, "<unk>": 5, "alpha": 1, "beta": 4, ".": 2, "z9": 3,
          "x_1": 7}
for _length in (1, 6, 17):
    _text = " ".join(_words[i] for i in torch.randint(
        0, len(_words), (_length,), generator=_gen).tolist())
    _tokens = re.findall(r"\w+|[^\w\s]", _text.lower())
    _want = torch.tensor([_vocab.get(_t, 5) for _t in _tokens], dtype=torch.int64)
    assert_close(encode(_text, _vocab), _want, name=f"encode({_text!r}, vocab)")
assert_close(encode("  \n\t ", _vocab), torch.zeros(0, dtype=torch.int64),
             name="encode(a text of only spaces, vocab)")
assert_close(encode("beta.beta,BETA!", _vocab), torch.tensor([4, 2, 4, 5, 4, 5]),
             name='encode("beta.beta,BETA!", vocab)')
### END HIDDEN TESTS

# %% [markdown]
# ### Unknown words and `min_freq`
#
# Build the vocabulary on 80% of the documents and encode the other 20%. The
# larger `min_freq`, the smaller the vocabulary (the embedding table) and the
# more tokens of unseen text become `<unk>`:

# %%
split = int(0.8 * len(corpus_texts))
train_texts, held_out = corpus_texts[:split], "\n".join(corpus_texts[split:])
min_freqs = [1, 2, 3, 5, 10, 20, 50]
vocab_sizes, unk_rates = [], []
for min_freq in min_freqs:
    vocab = build_vocab(train_texts, min_freq)
    ids = encode(held_out, vocab)
    vocab_sizes.append(len(vocab))
    unk_rates.append((ids == vocab["<unk>"]).float().mean().item())
    print(f"min_freq {min_freq:3d}: vocabulary {len(vocab):6,} tokens, "
          f"{unk_rates[-1]:6.1%} of the held-out tokens are <unk>")

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(vocab_sizes, [100 * r for r in unk_rates], "o-", label="held-out text")
for size, rate, min_freq in zip(vocab_sizes, unk_rates, min_freqs, strict=True):
    ax.annotate(f"min_freq={min_freq}", (size, 100 * rate), fontsize=7)
ax.set(xscale="log", xlabel="vocabulary size", ylabel="% of tokens that are <unk>",
       title="Word vocabularies trade size against unknown words")
ax.legend()
plt.show()

# %% [markdown]
# ### Batches: padding to a common length
#
# The sentences of a batch have different lengths. `pad_sequence` stacks them
# into one $(N, L_{\max})$ tensor filled with the `<pad>` id; a boolean mask
# remembers which positions are real:

# %%
sentences = ["Return the value.", "A class is a callable object!", "Yield"]
vocab = build_vocab(train_texts, min_freq=3)
sequences = [encode(s, vocab) for s in sentences]
padded = nn.utils.rnn.pad_sequence(sequences, batch_first=True,
                                   padding_value=vocab["<pad>"])  # (N, L_max)
mask = padded != vocab["<pad>"]
print(padded)
print("lengths:", mask.sum(dim=1).tolist())
vectors = nn.Embedding(len(vocab), 8, padding_idx=vocab["<pad>"])(padded)
print("embedded batch:", tuple(vectors.shape), "(N, L, embedding size)")

# %% [markdown]
# ### Subwords: byte-pair encoding
#
# Byte-pair encoding (BPE) builds a vocabulary between characters and words.
# Start with every word spelled as characters, plus an end-of-word marker `</w>`
# (so that "er" at the end of a word differs from "er" inside one). Then repeat:
# count every pair of adjacent symbols over the corpus (weighted by word
# frequency), **merge the most frequent pair** into a new symbol everywhere, and
# record the merge. Each merge adds one symbol to the vocabulary and shortens the
# text. To tokenise a new word, apply the learned merges in the order they were
# learned. GPT-2's tokenizer is this algorithm on bytes, with 50,000 merges.
#
# The code below learns merges on the words of our corpus. (`NUM_MERGES` is the
# knob: each merge takes a pass over the distinct words.)

# %%
NUM_MERGES = 100  # turn up for longer subwords; each merge costs one pass


def merge_pair(symbols, pair):
    """Replace each adjacent occurrence of ``pair`` in ``symbols`` by one symbol."""
    merged, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            merged.append(symbols[i] + symbols[i + 1])
            i += 2
        else:
            merged.append(symbols[i])
            i += 1
    return tuple(merged)


def learn_bpe(word_counts, num_merges):
    """Learn ``num_merges`` BPE merges from a Counter of words.

    Returns (merges, symbols_per_word): the list of merged pairs in the order
    learned, and after each merge the average number of symbols per word token.
    Ties between pairs go to the pair that comes last in alphabetical order.
    """
    spelled = {word: (*word, "</w>") for word in word_counts}
    total = sum(word_counts.values())
    merges, symbols_per_word = [], []
    for _ in progress(range(num_merges), desc="BPE merges"):
        pairs = Counter()
        for word, symbols in spelled.items():
            for pair in zip(symbols, symbols[1:], strict=False):
                pairs[pair] += word_counts[word]
        if not pairs:
            break
        best = max(pairs, key=lambda pair: (pairs[pair], pair))
        merges.append(best)
        spelled = {w: merge_pair(s, best) if best[0] in s else s
                   for w, s in spelled.items()}
        symbols_per_word.append(
            sum(len(s) * word_counts[w] for w, s in spelled.items()) / total)
    return merges, symbols_per_word


def apply_bpe(word, merges):
    """Split a new ``word`` into subwords with the learned merges, in order."""
    symbols = (*word, "</w>")
    for pair in merges:
        symbols = merge_pair(symbols, pair)
    return symbols


alphabetic = Counter({w: n for w, n in word_counts.items() if w.isalpha()})
merges, symbols_per_word = learn_bpe(alphabetic, NUM_MERGES)
print("first 20 merges:", [a + b for a, b in merges[:20]])
for word in ["the", "function", "iterators", "unhashable", "tokenization"]:
    print(f"{word!r:15} -> {apply_bpe(word, merges)}")

# %% [markdown]
# The first merges glue the most frequent endings and letter pairs ("e" and
# "s" at the end of words, "th"); soon whole frequent words such as "the" are a
# single symbol. A word the corpus never contained still gets a tokenisation from
# known pieces: as long as its letters occur in the corpus, no `<unk>` is needed.
# The first merges shorten the text most, later ones less and less:

# %%
start = sum(len(w) + 1 for w in alphabetic.elements()) / sum(alphabetic.values())
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(range(len(symbols_per_word) + 1), [start, *symbols_per_word],
        label="symbols per word (with </w>)")
ax.set(xlabel="number of merges (= new vocabulary entries)",
       ylabel="average symbols per word",
       title="Byte-pair encoding on Python's documentation")
ax.legend()
plt.show()

# %% [markdown]
# ## 5.5 Audio
#
# Sound is air pressure varying in time. A microphone and an analogue-to-digital
# converter measure it at a fixed **sample rate** $f_s$ (samples per second):
# 8 kHz for telephones, 16 kHz for most speech models, 44.1 kHz for music CDs.
# The recording is the **waveform**, a 1-D tensor $x[n] = x(n / f_s)$; one second
# of 16 kHz audio is 16,000 numbers, usually floats in $[-1, 1]$.
#
# ### Sampling and aliasing
#
# A sampled signal can only represent frequencies below the **Nyquist
# frequency** $f_s / 2$. A tone above it is not lost but disguised: a 7,000 Hz
# cosine sampled at 8,000 Hz gives exactly the same samples as a 1,000 Hz cosine,
# because $\cos(2\pi \cdot 7000\, n / 8000) = \cos(2\pi n - 2\pi \cdot 1000\,
# n/8000)$. This is **aliasing**; recorders filter out high frequencies before
# sampling to prevent it, and resampling code must do the same.

# %%
sr = 8000
t_fine = torch.linspace(0, 0.003, 2000, dtype=torch.float64)  # 3 ms, "continuous"
n = torch.arange(25, dtype=torch.float64)  # sample numbers
t_samples = n / sr
fig, ax = plt.subplots(figsize=(9, 3))
ax.plot(t_fine * 1000, torch.cos(2 * math.pi * 7000 * t_fine), lw=0.8,
        label="7000 Hz tone")
ax.plot(t_fine * 1000, torch.cos(2 * math.pi * 1000 * t_fine), lw=2,
        label="1000 Hz tone")
ax.plot(t_samples * 1000, torch.cos(2 * math.pi * 7000 * t_samples), "ko",
        label=f"samples at {sr} Hz (the same for both)")
ax.set(xlabel="time (ms)", ylabel="amplitude", title="Aliasing")
ax.legend(loc="lower right", fontsize=8)
plt.show()
print("largest difference between the two sets of samples:",
      (torch.cos(2 * math.pi * 7000 * t_samples)
       - torch.cos(2 * math.pi * 1000 * t_samples)).abs().max().item())

# %% [markdown]
# ### Frequencies: the discrete Fourier transform
#
# The **discrete Fourier transform** (DFT) of $N$ samples writes them as a sum of
# sinusoids. Coefficient $k$ measures the frequency $k f_s / N$:
#
# $$X[k] = \sum_{n=0}^{N-1} x[n]\, e^{-2\pi i k n / N}, \qquad
#   k = 0, 1, \dots, N - 1 .$$
#
# For a real signal $X[N - k]$ is the complex conjugate of $X[k]$, so bins
# $0, \dots, \lfloor N/2 \rfloor$ carry all the information: that is what
# `torch.fft.rfft` returns. The magnitude $|X[k]|$ says how much of frequency
# $k f_s / N$ the signal contains. A whole recording has one spectrum, which
# tells which frequencies occur but not *when*. Speech and music change every few
# milliseconds, so we need a spectrum over time.
#
# ### The short-time Fourier transform and the spectrogram
#
# The **short-time Fourier transform** (STFT) cuts the waveform into short
# overlapping frames of $N = $ `n_fft` samples, one every $h = $ `hop_length`
# samples, multiplies each frame by a **window** $w$ that tapers to zero at its
# edges, and takes the DFT of each:
#
# $$S[k, m] = \left| \sum_{n=0}^{N-1} w[n]\, \tilde{x}[m h + n]\,
#   e^{-2\pi i k n / N} \right|, \qquad k = 0, \dots, \lfloor N/2 \rfloor,$$
#
# where $\tilde{x}$ is the waveform padded by $\lfloor N/2 \rfloor$ samples at
# each end, so that frame $m$ is centred on sample $m h$. The magnitude $S$ is
# the **spectrogram**: an image with frequency on one axis and time on the
# other, which CNNs and Transformers then process like a picture. Without a
# window, the abrupt cut at the frame edges would smear every tone over all
# frequencies (**spectral leakage**); the **Hann window**
#
# $$w[n] = \tfrac12 - \tfrac12 \cos\!\left(\frac{2\pi n}{N}\right),
#   \qquad n = 0, \dots, N - 1$$
#
# is the usual choice (this is the *periodic* Hann window, the default of
# `torch.hann_window`). The frame length sets a trade-off: long frames resolve
# frequencies finely ($f_s / N$ Hz per bin) but blur events in time; short frames
# do the opposite.
#
# ### Exercise 5: `spectrogram` (3 points)
#
# Implement the magnitude spectrogram exactly as `torch.stft(waveform, n_fft,
# hop_length, window=torch.hann_window(n_fft), center=True,
# return_complex=True).abs()` computes it, but without `torch.stft`. You may use
# `torch.fft.rfft` (or `torch.fft.fft`) for the DFT of each frame, `F.pad` with
# `mode="reflect"` (it wants at least two dimensions: pad a $(B, T)$ or $(1, T)$
# tensor) or your own reflection, and `Tensor.unfold` or a loop to cut the
# frames. The tests compare your result with `torch.stft` to a relative error of
# $10^{-6}$ of the largest magnitude in float64, and $10^{-3}$ in float32.

# %% grade_id="ch05-spectrogram"
def spectrogram(waveform, n_fft, hop_length):
    """Magnitude spectrogram with a Hann window, equal to torch.stft(...).abs().

    T is the number of samples, B the batch size, F = n_fft // 2 + 1 the number
    of frequency bins and M = 1 + (T + 2 * (n_fft // 2) - n_fft) // hop_length
    the number of frames (that is 1 + T // hop_length for an even n_fft, and
    1 + (T - 1) // hop_length for an odd one).

    The steps, as torch.stft with center=True, pad_mode="reflect",
    onesided=True, win_length=n_fft, normalized=False:
      1. pad the waveform at both ends with n_fft // 2 samples by reflection,
         without repeating the edge sample ([1, 2, 3, 4] padded by 2 is
         [3, 2, 1, 2, 3, 4, 3, 2], as F.pad(..., mode="reflect"));
      2. frame m (m = 0, ..., M - 1) is padded[m * hop_length :
         m * hop_length + n_fft];
      3. multiply each frame by the periodic Hann window
         w[n] = 0.5 - 0.5 * cos(2 * pi * n / n_fft), n = 0, ..., n_fft - 1
         (torch.hann_window(n_fft, periodic=True, dtype=waveform.dtype,
         device=waveform.device));
      4. take the DFT of each windowed frame and keep bins k = 0, ..., n_fft // 2
         (torch.fft.rfft does exactly this);
      5. return the magnitudes (absolute values, not squared).

    Args:
        waveform: float32 or float64 tensor of shape (T,), or (B, T) for a batch
            of B signals, with T > n_fft // 2 (the reflection needs it).
        n_fft: int >= 2, even or odd: the frame length and the DFT size.
        hop_length: int >= 1, the step between the starts of two frames.

    Returns:
        Real tensor of shape (F, M), or (B, F, M) for a batch, with the dtype
        and device of ``waveform``. ``waveform`` is not modified.

    Do not call torch.stft, torch.functional.stft or Tensor.stft (nor
    scipy.signal's stft, spectrogram or ShortTimeFFT). torch.fft.rfft,
    torch.fft.fft, F.pad, Tensor.unfold and torch.hann_window are allowed.
    """
    ### BEGIN SOLUTION
    pad = n_fft // 2
    signals = waveform.reshape(-1, 1, waveform.shape[-1])  # (B, 1, T)
    padded = F.pad(signals, (pad, pad), mode="reflect")[:, 0]  # (B, T + 2 pad)
    frames = padded.unfold(-1, n_fft, hop_length)  # (B, M, n_fft)
    window = torch.hann_window(n_fft, periodic=True, dtype=waveform.dtype,
                               device=waveform.device)
    magnitudes = torch.fft.rfft(frames * window, dim=-1).abs()  # (B, M, F)
    out = magnitudes.transpose(-1, -2)  # (B, F, M)
    return out if waveform.dim() == 2 else out[0]
    ### END SOLUTION


# %%
# Try it: a 1 kHz tone sampled at 8 kHz; its peak is at bin 1000 / (8000 / 64) = 8
tone = torch.sin(2 * math.pi * 1000 * torch.arange(800) / 8000)
S_tone = spectrogram(tone, n_fft=64, hop_length=16)
print("shape (F, M):", tuple(S_tone.shape), " loudest bin:",
      S_tone.mean(dim=1).argmax().item())

# %% grade_id="ch05-spectrogram-tests" points=3
"""spectrogram: == torch.stft(x, n_fft, hop, window=hann, center=True).abs();
a hand example; (T,) and (B, T) inputs; even and odd n_fft; T < n_fft; float32
and float64 kept; device kept; input unchanged; no torch.stft."""
_banned = ("torch.stft", "torch.functional.stft", "torch.Tensor.stft",
           "scipy.signal.stft", "scipy.signal.spectrogram", "scipy.signal.ShortTimeFFT")


def stft_reference(x, n_fft, hop_length):
    """torch.stft magnitude in float64 (the reference), shape (F, M) or (B, F, M)."""
    window = torch.hann_window(n_fft, dtype=torch.float64, device=x.device)
    return torch.stft(x.double(), n_fft, hop_length, window=window, center=True,
                      return_complex=True).abs()


# a constant signal: every frame is the Hann window [0, 0.5, 1, 0.5], whose DFT
# magnitudes are |2|, |-1|, |0| at bins 0, 1, 2
with forbid(*_banned):
    out = spectrogram(torch.ones(8), 4, 2)
assert_close(out, torch.tensor([[2.0] * 5, [1.0] * 5, [0.0] * 5]), atol=1e-5,
             name="spectrogram(torch.ones(8), n_fft=4, hop_length=2)")
x = torch.randn(1000, generator=torch.Generator().manual_seed(0))  # float32 (T,)
x_before = x.clone()
with forbid(*_banned):
    out = spectrogram(x, 64, 16)
want = stft_reference(x, 64, 16)
assert_close(out, want.float(), rtol=1e-3, atol=1e-3 * want.max().item(),
             name="spectrogram(float32 x of shape (1000,), 64, 16) (F, M) = (33, 63)")
assert torch.equal(x, x_before), "spectrogram modified its input"
xb = torch.randn(2, 301, dtype=torch.float64, device=device)  # a batch (B, T)
with forbid(*_banned):
    out = spectrogram(xb, 25, 7)  # odd n_fft: M = 1 + 300 // 7 = 43
want = stft_reference(xb, 25, 7)
assert out.device == xb.device, f"result on {out.device}, expected {xb.device}"
assert_close(out, want, rtol=1e-6, atol=1e-6 * want.max().item(),
             name="spectrogram(float64 x of shape (2, 301), 25, 7) (B, F, M)")
x_short = torch.randn(10, dtype=torch.float64)  # T = 10 < n_fft = 16
with forbid(*_banned):
    out = spectrogram(x_short, 16, 4)
want = stft_reference(x_short, 16, 4)
assert_close(out, want, rtol=1e-6, atol=1e-6 * want.max().item(),
             name="spectrogram(float64 x of shape (10,), 16, 4)")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(23)
for _shape, _n_fft, _hop in [((1000,), 128, 32), ((1, 517), 50, 13), ((3, 64), 16, 1),
                             ((2, 2049), 511, 256), ((300,), 32, 40), ((4, 99), 7, 3),
                             ((33,), 64, 5), ((2, 400), 2, 1)]:
    _x = torch.randn(_shape, generator=_gen, dtype=torch.float64).to(device)
    _before = _x.clone()
    with forbid(*_banned):
        _got = spectrogram(_x, _n_fft, _hop)
    _want = stft_reference(_x, _n_fft, _hop)
    assert_close(_got, _want, rtol=1e-6, atol=1e-6 * _want.max().item(),
                 name=f"spectrogram(float64 x of shape {_shape}, {_n_fft}, {_hop})")
    assert _got.device == _x.device, f"result on {_got.device}, expected {device}"
    assert torch.equal(_x, _before), "spectrogram modified its input"
_t = torch.arange(4000, dtype=torch.float64) / 8000
_chirp = torch.sin(2 * math.pi * (200 * _t + 3000 * _t**2)).to(device)
with forbid(*_banned):
    _got = spectrogram(_chirp, 256, 64)
_want = stft_reference(_chirp, 256, 64)
assert_close(_got, _want, rtol=1e-6, atol=1e-6 * _want.max().item(),
             name="spectrogram(a float64 chirp of 4000 samples, 256, 64)")
for _shape, _n_fft, _hop in [((5, 700), 100, 30), ((513,), 33, 8)]:
    _x = torch.randn(_shape, generator=_gen).to(device)  # float32
    with forbid(*_banned):
        _got = spectrogram(_x, _n_fft, _hop)
    _want = stft_reference(_x, _n_fft, _hop)
    assert_close(_got, _want.float(), rtol=1e-3, atol=1e-3 * _want.max().item(),
                 name=f"spectrogram(float32 x of shape {_shape}, {_n_fft}, {_hop})")
    assert _got.device == _x.device, f"result on {_got.device}, expected {device}"
### END HIDDEN TESTS

# %% [markdown]
# ### Seeing a spectrogram
#
# A **chirp** is a tone whose frequency sweeps in time; a linear chirp from $f_0$
# to $f_1$ over $D$ seconds has phase $2\pi(f_0 t + \frac{f_1 - f_0}{2D} t^2)$, so
# its instantaneous frequency $f_0 + (f_1 - f_0) t / D$ draws a straight line on
# the spectrogram. Loudness is shown in **decibels**, $20 \log_{10}$ of the
# magnitude, because hearing (and a network's input statistics) works on a
# logarithmic scale.
#
# Move the sliders below (this demo uses the built-in `torch.stft`). Things to
# look for: with `f_start == f_end` you get a tone, a horizontal line. Push a
# frequency above the Nyquist frequency of 4,000 Hz: the line does not leave the
# picture but folds back down (aliasing). Change `n_fft`: 64 gives a thick line
# that follows fast changes, 1024 a thin one that smears in time.

# %%
def show_chirp(f_start=500.0, f_end=3000.0, n_fft=256):
    """Waveform and spectrogram of a one-second linear chirp sampled at 8 kHz."""
    rate, duration = 8000, 1.0
    t = torch.arange(int(rate * duration), dtype=torch.float64) / rate
    wave = torch.sin(2 * math.pi * (f_start * t
                                    + (f_end - f_start) / (2 * duration) * t**2))
    window = torch.hann_window(n_fft, dtype=torch.float64)
    mags = torch.stft(wave, n_fft, n_fft // 4, window=window,
                      return_complex=True).abs()
    decibels = 20 * torch.log10(mags / mags.max() + 1e-6)  # (F, M), 0 dB = loudest
    played = f_start + (f_end - f_start) * t / duration
    folded = (played % rate).where(played % rate <= rate / 2, rate - played % rate)

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 3.5),
                                   gridspec_kw={"width_ratios": [1, 2]})
    ax0.plot(1000 * t[:240], wave[:240], lw=1, label="waveform")
    ax0.set(xlabel="time (ms)", ylabel="amplitude", title="the first 30 ms")
    ax0.legend(loc="lower left", fontsize=8)
    image = ax1.imshow(decibels.numpy(), origin="lower", aspect="auto",
                       extent=(0, duration, 0, rate / 2), vmin=-80, vmax=0,
                       cmap="magma")
    ax1.plot(t, played, "c--", lw=1, label="frequency played")
    ax1.plot(t, folded, "w:", lw=1.5, label="where sampling puts it")
    ax1.set(xlabel="time (s)", ylabel="frequency (Hz)", ylim=(0, rate / 2),
            title=f"spectrogram, n_fft={n_fft} ({rate / n_fft:.1f} Hz per bin, "
                  f"{1000 * n_fft / rate:.0f} ms frames)")
    ax1.legend(loc="upper left", fontsize=8)
    fig.colorbar(image, ax=ax1, label="dB")
    fig.tight_layout()
    plt.show()


interactive_plot(show_chirp, f_start=(50.0, 7950.0, 50.0), f_end=(50.0, 7950.0, 50.0),
                 n_fft=[64, 256, 1024])

# %% [markdown]
# ### The mel scale
#
# We hear pitch roughly logarithmically: the step from 100 to 200 Hz sounds as
# large as the step from 1,000 to 2,000 Hz, while a linear spectrogram spends as
# many bins between 7 and 8 kHz as between 0 and 1 kHz. The **mel scale** models
# perceived pitch; a common formula is
#
# $$m(f) = 2595 \log_{10}\!\left(1 + \frac{f}{700}\right),$$
#
# nearly linear below 1 kHz and logarithmic above. A **mel filterbank** is a set
# of triangular filters whose centres are equally spaced in mels (so they get
# wider in Hz as the frequency grows). Multiplying the power spectrogram,
# $S^2$ of shape $(F, M)$, by the filterbank matrix of shape $(n_\text{mels}, F)$
# gives the **mel spectrogram** $(n_\text{mels}, M)$: fewer, perceptually spaced
# bands. Its logarithm is the standard input of speech recognisers (the first
# Whisper models read 80 log-mel bands of 16 kHz audio).

# %%
def hz_to_mel(f):
    return 2595 * torch.log10(1 + f / 700)


def mel_to_hz(m):
    return 700 * (10 ** (m / 2595) - 1)


def mel_filterbank(n_mels, n_fft, rate):
    """Triangular filters, equally spaced in mels from 0 Hz to rate / 2.

    Returns a float64 tensor of shape (n_mels, n_fft // 2 + 1).
    """
    bins = torch.linspace(0, rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    top = hz_to_mel(torch.tensor(rate / 2, dtype=torch.float64))
    edges = mel_to_hz(torch.linspace(0, top, n_mels + 2, dtype=torch.float64))
    low, centre, high = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - low) / (centre - low)
    falling = (high - bins) / (high - centre)
    return torch.minimum(rising, falling).clamp(min=0.0)


rate = 16000
fbank = mel_filterbank(n_mels=40, n_fft=512, rate=rate)  # (40, 257)
hz = torch.linspace(0, rate / 2, 257, dtype=torch.float64)
fig, axes = plt.subplots(1, 2, figsize=(12, 3.5))
axes[0].plot(hz.numpy(), hz_to_mel(hz).numpy(), label="mel(f)")
axes[0].plot(hz.numpy(), hz.numpy(), "k:", label="mel = Hz")
axes[0].set(xlabel="frequency (Hz)", ylabel="mel", title="The mel scale")
axes[0].legend()
for row in fbank[::3]:
    axes[1].plot(hz.numpy(), row.numpy(), lw=1)
axes[1].plot([], [], color="gray", label="every third of 40 filters")
axes[1].set(xlabel="frequency (Hz)", ylabel="weight",
            title="Mel filterbank: narrow at low, wide at high frequencies")
axes[1].legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ### MFCCs: the envelope of the spectrum
#
# A voiced sound (a vowel, a note) has a **pitch**, the fundamental frequency
# $f_0$, and its spectrum is a comb of harmonics at $f_0, 2f_0, 3f_0, \dots$. The
# *vowel* is decided by the shape of the vocal tract, which raises some regions of
# that comb: the smooth **envelope**, with peaks called formants. Speech
# recognition cares about the envelope, not the pitch: "a" is "a" whether a child
# or a bass says it.
#
# **Mel-frequency cepstral coefficients** (MFCCs) separate the two. Take the
# logarithm of the mel band energies $E_0, \dots, E_{n_\text{mels}-1}$ of each
# frame, then a discrete cosine transform (DCT-II) along the bands, and keep the
# first 13 or so coefficients:
#
# $$c_j = \sum_{i=0}^{n_\text{mels}-1} \log E_i \,
#   \cos\!\left(\frac{\pi j (i + \tfrac12)}{n_\text{mels}}\right),
#   \qquad j = 0, 1, \dots, 12 .$$
#
# The logarithm turns the product "harmonics $\times$ envelope" into a sum; the
# low-order cosines describe the slow shape of the log spectrum across bands,
# the envelope, while the fine ripple of individual harmonics would need
# higher-order ones, which are dropped. The DCT also decorrelates the
# coefficients, which mattered for the Gaussian models of classic speech
# recognition. Deep networks often take the log-mel spectrogram directly and
# learn their own transform, but MFCCs remain a compact, classic feature.
#
# Below, two synthetic vowels ("a" with formants near 730 and 1,090 Hz, "i" near
# 270 and 2,290 Hz) are each sung at two pitches, 110 Hz and 220 Hz. Their
# spectra look very different at the two pitches; their MFCCs (average over the
# frames, without $c_0$, which only measures loudness) group by vowel.

# %%
def synthetic_vowel(formants, f0, rate, seconds=0.5):
    """Harmonics of f0 (up to 4 kHz) shaped by resonances at ``formants``."""
    t = torch.arange(int(rate * seconds), dtype=torch.float64) / rate
    wave = torch.zeros_like(t)
    for k in range(1, int(4000 / f0) + 1):
        gain = sum(1 / (1 + ((k * f0 - centre) / width) ** 2)
                   for centre, width in formants)
        wave += gain * torch.sin(2 * math.pi * k * f0 * t + k)  # phase k: no peak
    wave += 1e-3 * torch.randn(len(t), generator=torch.Generator().manual_seed(0),
                               dtype=torch.float64)  # a little background noise
    return wave / wave.abs().max()


def mfcc(wave, rate, n_fft=512, hop_length=160, n_mels=40, n_coeffs=13):
    """MFCCs of shape (n_coeffs, M): log mel energies, then a DCT-II."""
    window = torch.hann_window(n_fft, dtype=wave.dtype)
    power = torch.stft(wave, n_fft, hop_length, window=window,
                       return_complex=True).abs() ** 2  # (F, M)
    log_mel = torch.log(mel_filterbank(n_mels, n_fft, rate) @ power + 1e-10)
    i = torch.arange(n_mels, dtype=wave.dtype)
    j = torch.arange(n_coeffs, dtype=wave.dtype)
    dct = torch.cos(math.pi * j[:, None] * (i[None, :] + 0.5) / n_mels)
    return dct @ log_mel  # (n_coeffs, n_mels) @ (n_mels, M)


vowels = {"a": [(730, 90), (1090, 110), (2440, 170)],
          "i": [(270, 60), (2290, 100), (3010, 170)]}
sounds = {(v, f0): synthetic_vowel(vowels[v], f0, rate) for v in vowels
          for f0 in (110, 220)}
coefficients = {key: mfcc(wave, rate).mean(dim=1) for key, wave in sounds.items()}

fig, axes = plt.subplots(1, 2, figsize=(12, 3.5))
spectrum_hz = torch.fft.rfftfreq(8000, 1 / rate)
for (v, f0), wave in sounds.items():
    level = 20 * torch.log10(torch.fft.rfft(wave).abs() + 1e-6)
    axes[0].plot(spectrum_hz.numpy(), level.numpy(), lw=0.6,
                 label=f'"{v}" at {f0} Hz')
    axes[1].plot(range(1, 13), coefficients[v, f0][1:].numpy(), marker="o",
                 ls="-" if f0 == 110 else "--", label=f'"{v}" at {f0} Hz')
axes[0].set(xlim=(0, 4000), ylim=(-20, 80), xlabel="frequency (Hz)",
            ylabel="magnitude (dB)", title="Spectra: combs of harmonics")
axes[1].set(xlabel="coefficient j", ylabel="mean MFCC $c_j$",
            title="MFCCs group by vowel, not by pitch")
for ax in axes:
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

keys = list(coefficients)
print("distances between MFCC vectors (c_1..c_12):")
for a in keys:
    print(f"{a[0]} {a[1]:3d} Hz:", "  ".join(
        f"{(coefficients[a][1:] - coefficients[b][1:]).norm():5.1f}" for b in keys))

# %% [markdown]
# ## 5.6 Time series
#
# A time series is a sequence of observations at regular times: daily prices,
# hourly temperatures, monthly sales, a patient's heart rate. Unlike the rows of
# a table, the observations are not independent: today's value says a lot about
# tomorrow's. Three properties describe most series:
#
# - **trend**: a slow, long-term rise or fall;
# - **seasonality**: a pattern that repeats with a fixed period (a day, a week,
#   a year);
# - **autocorrelation**: the correlation of the series with a shifted copy of
#   itself. At lag $k$,
#
# $$r_k = \frac{\sum_{t=0}^{T-k-1} (x_t - \bar{x})(x_{t+k} - \bar{x})}
#   {\sum_{t=0}^{T-1} (x_t - \bar{x})^2}, \qquad r_0 = 1 .$$
#
# Matplotlib ships four years of Google's daily share prices (2004-2008):

# %%
goog = cbook.get_sample_data("goog.npz")["price_data"]
close = torch.tensor(goog["close"].copy(), dtype=torch.float64)  # (1047,) dollars
returns = torch.diff(torch.log(close))  # daily log returns, (1046,)


def autocorrelation(x, max_lag):
    """r_0, ..., r_max_lag of a 1-D series (the formula above), shape (max_lag + 1,)."""
    centred = x - x.mean()
    denominator = (centred * centred).sum()
    return torch.stack([(centred[: len(x) - k] * centred[k:]).sum() / denominator
                        for k in range(max_lag + 1)])


days = goog["date"].astype("datetime64[D]").astype(int)  # days since 1970
fig, axes = plt.subplots(1, 3, figsize=(14, 3.2))
axes[0].plot(1970 + days / 365.25, close.numpy(), label="close")
axes[0].set(xlabel="year", ylabel="price ($)", title="GOOG daily close")
axes[1].plot(1970 + days[1:] / 365.25, returns.numpy(), lw=0.5, label="log return")
axes[1].set(xlabel="year", ylabel=r"$\log(p_t / p_{t-1})$", title="daily log returns")
axes[2].plot(autocorrelation(close, 60).numpy(), label="prices")
axes[2].plot(autocorrelation(returns, 60).numpy(), label="returns")
axes[2].set(xlabel="lag k (trading days)", ylabel="$r_k$", title="autocorrelation")
for ax in axes:
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
print(f"r_1 of prices {autocorrelation(close, 1)[1]:.3f}, "
      f"of returns {autocorrelation(returns, 1)[1]:.3f}")

# %% [markdown]
# The prices are dominated by their trend: each day is close to the day before,
# so the autocorrelation stays high for months. Their day-to-day changes (the
# returns) are almost uncorrelated: yesterday's move says little about today's.
# Differencing removes a trend, and a model predicting returns cannot score well
# just by copying the last value.
#
# ### Trend and seasonality
#
# Twelve years of monthly sales, generated with a linear trend, a yearly cycle
# and noise, show the three properties clearly. We estimate the trend by least
# squares on $(t, 1)$, the seasonal pattern as the mean of the detrended values
# of each calendar month, and look at the autocorrelation of the detrended
# series:

# %%
set_seed(0)
months = torch.arange(144, dtype=torch.float64)  # 12 years, one value per month
december = (months % 12 == 11).double()  # a sales peak every December
sales = (20 + 0.08 * months + 3 * torch.sin(2 * math.pi * months / 12)
         + 4 * december + 0.5 * torch.randn(144, dtype=torch.float64))
design = torch.stack([months, torch.ones_like(months)], dim=1)  # (144, 2)
trend = design @ fit_least_squares(design, sales)
seasonal = (sales - trend).reshape(12, 12).mean(dim=0)  # (12,): one per month
acf = autocorrelation(sales - trend, 36)

fig, axes = plt.subplots(1, 3, figsize=(14, 3.2))
axes[0].plot(months.numpy(), sales.numpy(), label="sales")
axes[0].plot(months.numpy(), trend.numpy(), "k--", label="linear trend")
axes[0].set(xlabel="month", ylabel="sales", title="series and trend")
axes[1].plot(range(1, 13), seasonal.numpy(), "o-", label="mean of detrended")
axes[1].set(xlabel="calendar month", ylabel="seasonal effect", title="seasonality")
axes[2].bar(range(37), acf.numpy(), label="detrended sales")
axes[2].set(xlabel="lag k (months)", ylabel="$r_k$", title="autocorrelation")
for ax in axes:
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
print(f"r_6 = {acf[6]:.2f}, r_12 = {acf[12]:.2f}, r_24 = {acf[24]:.2f}")

# %% [markdown]
# The autocorrelation peaks at lags 12, 24 and 36 (a year apart the season is
# the same) and is negative at lag 6 (summer against winter). Models exploit
# exactly this: the value twelve months ago is a strong predictor.
#
# ### From a series to supervised examples
#
# To train a network on a series we cut it into examples: an **input window** of
# the last $W$ values and a **target** of the next $H$ values (the *horizon*).
# Sliding the window one step at a time over a series of length $T$ gives
#
# $$N = T - W - H + 1$$
#
# examples, where example $i$ has input $x_{i}, \dots, x_{i+W-1}$ and target
# $x_{i+W}, \dots, x_{i+W+H-1}$. The last example ends exactly at the last value
# of the series. For a multivariate series of shape $(T, F)$ every step carries
# $F$ values and the windows have shapes $(W, F)$ and $(H, F)$.
#
# ### Exercise 6: `sliding_windows` (2 points)
#
# Write `sliding_windows(series, window, horizon)`. Off-by-one errors are the
# classic mistake here: check the formula for $N$ on the small example of the
# test. Beware also that `Tensor.unfold` on a $(T, F)$ tensor puts the window
# axis last, giving $(N, F, W)$ rather than $(N, W, F)$.

# %% grade_id="ch05-sliding-windows"
def sliding_windows(series, window, horizon):
    """Cut a series into (input window, target) pairs, one step apart.

    T is the length of the series, F the number of variables per step, W =
    window, H = horizon and N = T - W - H + 1 the number of pairs.

    Args:
        series: tensor of shape (T,) or (T, F), any floating dtype.
        window: int W >= 1, the number of input steps.
        horizon: int H >= 1, the number of target steps that follow them.

    Returns:
        (inputs, targets) with inputs of shape (N, W) and targets (N, H) for a
        (T,) series, or (N, W, F) and (N, H, F) for a (T, F) series, where
        inputs[i] = series[i : i + W] and targets[i] = series[i + W : i + W + H]
        for i = 0, ..., N - 1. Both have the dtype and device of ``series``;
        they may be views or copies. ``series`` is not modified.

    Raises:
        ValueError: if window < 1, horizon < 1, or N < 1 (series too short).
    """
    ### BEGIN SOLUTION
    if window < 1 or horizon < 1:
        raise ValueError("window and horizon must be at least 1")
    count = len(series) - window - horizon + 1
    if count < 1:
        raise ValueError(f"a series of length {len(series)} is too short")
    inputs = torch.stack([series[i:i + window] for i in range(count)])
    targets = torch.stack([series[i + window:i + window + horizon]
                           for i in range(count)])
    return inputs, targets
    ### END SOLUTION


# %%
# Try it
inputs, targets = sliding_windows(torch.arange(8.0), window=3, horizon=2)
for x_in, y_out in zip(inputs, targets, strict=True):
    print(x_in.tolist(), "->", y_out.tolist())

# %% grade_id="ch05-sliding-windows-tests" points=2
"""sliding_windows: N = T - W - H + 1 pairs with inputs[i] = series[i:i+W] and
targets[i] = series[i+W:i+W+H]; (T,) and (T, F) series; N = 1 at the limit;
ValueError for N < 1, window < 1, horizon < 1; dtype and device kept; input
unchanged."""
series = torch.arange(7.0)  # 0, 1, ..., 6; N = 7 - 3 - 2 + 1 = 3
series_before = series.clone()
got = sliding_windows(series, 3, 2)
assert_close(got, (torch.tensor([[0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [2.0, 3.0, 4.0]]),
                   torch.tensor([[3.0, 4.0], [4.0, 5.0], [5.0, 6.0]])),
             name="sliding_windows(arange(7.), window=3, horizon=2)")
assert torch.equal(series, series_before), "sliding_windows modified its input"
got = sliding_windows(torch.arange(5.0), 3, 2)  # N = 1: the whole series
assert_close(got, (torch.tensor([[0.0, 1.0, 2.0]]), torch.tensor([[3.0, 4.0]])),
             name="sliding_windows(arange(5.), 3, 2) (N = 1)")
series2 = torch.arange(12, dtype=torch.float64, device=device).reshape(6, 2)  # (T, F)
inputs, targets = sliding_windows(series2, 2, 1)  # N = 6 - 2 - 1 + 1 = 4
assert_shape(inputs, (4, 2, 2), name="inputs for a (6, 2) series, window 2")
assert_shape(targets, (4, 1, 2), name="targets for a (6, 2) series, horizon 1")
assert inputs.device == series2.device, f"inputs on {inputs.device}, not {device}"
assert_close((inputs, targets),
             (torch.stack([series2[i:i + 2] for i in range(4)]),
              torch.stack([series2[i + 2:i + 3] for i in range(4)])),
             name="sliding_windows(float64 (6, 2) series, 2, 1)")
expect_raises(ValueError, sliding_windows, torch.arange(4.0), 3, 2,
              name="sliding_windows(arange(4.), 3, 2) (N = 0)")
expect_raises(ValueError, sliding_windows, torch.arange(5.0), 0, 2,
              name="sliding_windows(arange(5.), window=0, horizon=2)")
expect_raises(ValueError, sliding_windows, torch.arange(5.0), 2, 0,
              name="sliding_windows(arange(5.), window=2, horizon=0)")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(29)
for _shape, _W, _H, _dtype in [((50,), 7, 3, torch.float64),
                               ((37, 3), 5, 4, torch.float32),
                               ((9, 1), 1, 1, torch.float64),
                               ((12,), 11, 1, torch.float32),
                               ((20, 5), 6, 14, torch.float64),
                               ((2,), 1, 1, torch.float64)]:
    _s = torch.randn(_shape, generator=_gen, dtype=_dtype).to(device)
    _before = _s.clone()
    _N = _shape[0] - _W - _H + 1
    _got = sliding_windows(_s, _W, _H)
    _want = (torch.stack([_s[i:i + _W] for i in range(_N)]),
             torch.stack([_s[i + _W:i + _W + _H] for i in range(_N)]))
    assert_close(_got, _want, name=f"sliding_windows(series {_shape}, {_W}, {_H})")
    assert _got[0].device == _s.device and _got[1].device == _s.device, (
        f"results on {_got[0].device} and {_got[1].device}, expected {device}")
    assert torch.equal(_s, _before), "sliding_windows modified its input"
for _T, _W, _H in [(10, 8, 3), (3, 3, 1), (1, 1, 1), (6, -1, 2), (6, 2, -3)]:
    expect_raises(ValueError, sliding_windows, torch.randn(_T, generator=_gen), _W, _H,
                  name=f"sliding_windows(series of length {_T}, {_W}, {_H})")
### END HIDDEN TESTS

# %% [markdown]
# ### A first forecast
#
# With the windows, forecasting becomes ordinary regression. We predict the next
# 12 months of sales from the last 24 with a linear model (one least-squares fit,
# the 12 outputs at once) trained on the first ten years, and compare it on the
# last two years with the **seasonal naive** baseline, "the same as a year ago".
#
# The split is **chronological**. Shuffling the windows before splitting them
# would put windows from the test period, which overlap their neighbours, into
# the training set, and the score would measure memory of the future rather
# than forecasting.

# %%
train_end = 120  # months 0..119 train, 120..143 test
inputs, targets = sliding_windows(sales[:train_end], window=24, horizon=12)
X_train = torch.cat([inputs, torch.ones(len(inputs), 1, dtype=inputs.dtype)], dim=1)
weights = torch.linalg.lstsq(X_train, targets).solution  # (25, 12)

test_inputs, test_targets = sliding_windows(sales[train_end - 24:], window=24,
                                            horizon=12)
X_test = torch.cat([test_inputs, torch.ones(len(test_inputs), 1,
                                            dtype=test_inputs.dtype)], dim=1)
linear_pred = X_test @ weights  # (N_test, 12)
naive_pred = test_inputs[:, -12:]  # the same 12 months one year earlier
print(f"{len(inputs)} training windows, {len(test_inputs)} test windows")
for name, pred in [("linear", linear_pred), ("seasonal naive", naive_pred)]:
    print(f"{name:15s} mean absolute error {(pred - test_targets).abs().mean():.2f}, "
          f"mean error (bias) {(pred - test_targets).mean():+.2f}")
print(f"one year of trend growth: 12 x 0.08 = {12 * 0.08:.2f}")

fig, ax = plt.subplots(figsize=(9, 3.5))
ax.plot(months.numpy(), sales.numpy(), color="gray", label="sales")
future = months[train_end:train_end + 12]
ax.plot(future.numpy(), linear_pred[0].numpy(), "o-", label="linear, from 24 months")
ax.plot(future.numpy(), naive_pred[0].numpy(), "s--", label="seasonal naive")
ax.axvline(train_end, color="k", lw=1, label="end of training data")
ax.set(xlabel="month", ylabel="sales", title="Forecasting the next 12 months")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# The seasonal naive forecast repeats last year, so it is too low by about a
# year of trend growth: compare its mean error with $12 \times 0.08$. The linear
# model learned the trend from the windows and has no such bias, hence the
# smaller error. Chapter 10 replaces the linear model by recurrent networks,
# which read windows of any length.
#
# ## Summary
#
# - Every kind of data becomes a tensor whose axes mean something: rows and
#   features $(N, D)$; images $(N, C, H, W)$; token ids $(N, L)$; waveforms
#   $(N, T)$ or spectrograms $(N, F, M)$; windows of a series $(N, W, F)$.
# - Numbers that are quantities get scaled (standardisation); numbers that are
#   names get one-hot codes or embeddings. An ordinal code makes a linear model
#   assume an order and equal spacing that are not there.
# - Images are $H \times W \times C$ in files and $C \times H \times W$ in
#   PyTorch: `permute`, never `reshape`. Convert `uint8` to float before any
#   arithmetic: `uint8` wraps around silently.
# - Text is tokenised into characters, words or subwords and mapped to ids
#   through a vocabulary with `<pad>` and `<unk>`; Zipf's law explains the
#   unknown words, and byte-pair encoding removes them by spelling rare words
#   with frequent pieces.
# - Audio is sampled below the Nyquist frequency $f_s / 2$ or aliases. The STFT
#   with a Hann window turns a waveform into a spectrogram; mel filterbanks and
#   the log make it perceptual; MFCCs keep the spectral envelope.
# - Time series have trend, seasonality and autocorrelation. Sliding windows
#   turn them into $N = T - W - H + 1$ supervised pairs, and splits must be
#   chronological.
#
# **Next:** chapter 6 looks at the tasks a model can be trained for on these
# tensors: classification, regression, clustering and reinforcement learning.
