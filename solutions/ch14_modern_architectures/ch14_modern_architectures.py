# %% [markdown]
# # Chapter 14: Modern architectures (ViT, MobileNet, EfficientNet)
#
# Chapters 9 and 11 built the two families that modern vision models grow from:
# convolutional networks and transformers. This chapter follows three ideas that
# shaped the architectures in use today. The **Vision Transformer** (ViT) cuts an
# image into square patches and reads them as a sequence of words, with no
# convolution at all. **MobileNet** makes convolutional networks cheap enough for
# a phone by splitting each convolution into a per-channel spatial filter and a
# $1 \times 1$ channel mixer, and by wrapping them into *inverted residual*
# blocks. **EfficientNet** asks how to make a network bigger when more compute is
# available, and answers with one knob that grows depth, width and input
# resolution together. You will build each piece, count its parameters exactly,
# and train a small ViT on the handwritten digits.
#
# **You will learn**
# - how an image becomes a sequence of patch vectors, the exact order of the
#   numbers inside a patch, and why the patch embedding is a strided convolution;
# - a pitfall that silently mixes the colour channels of different patches, and
#   why it stays invisible on grayscale images;
# - the Vision Transformer: class token, learned position embeddings, pre-norm
#   encoder blocks, and how its 86,567,656 parameters (ViT-B/16) add up;
# - what a ViT learns to look at, and why it needs position embeddings at all;
# - depthwise separable convolutions and how much they save, in parameters and
#   in multiply-adds;
# - MobileNetV2's inverted residual block with its linear bottleneck and ReLU6;
# - EfficientNet's compound scaling, $d = \alpha^\phi$, $w = \beta^\phi$,
#   $r = \gamma^\phi$, and why the constraint $\alpha\beta^2\gamma^2 \approx 2$
#   doubles the compute per step of $\phi$.
#
# **Graded exercises** (14 points)
#
# | exercise | points |
# |---|---|
# | `patchify(images, patch_size)` | 3 |
# | `VisionTransformer(image_size, patch_size, in_channels, num_classes, ...)` | 4 |
# | `depthwise_separable_params(k, c_in, c_out, bias=False)` | 2 |
# | `InvertedResidual(in_channels, out_channels, stride, expand_ratio)` | 3 |
# | `compound_scaling(phi, alpha, beta, gamma)` | 2 |
#
# Each exercise is a function or a module whose docstring states its whole
# contract: shapes, dtypes, devices, edge cases and what is raised. Replace
# `raise NotImplementedError()` with your code and run the test cell below it. The
# visible tests show every rule the grader checks; hidden tests repeat them on
# other values, shapes and seeds.
#
# Letters used for shapes: $N$ is the batch size, $C$ the number of image
# channels, $H \times W$ the image size, $p$ the patch size, $P$ the number of
# patches, $D$ the width of a transformer (its token size), $K$ the number of
# classes.

# %%
import math
import time

import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_sample_images

from dlcourse import get_device, progress, set_seed
from dlcourse.checks import assert_close, assert_shape, expect_raises
from dlcourse.data import load_digits, train_test_split
from dlcourse.plotting import plot_curves
from dlcourse.training import check_bar
from dlcourse.widgets import interactive_plot

device = get_device()  # the tests also run your code on this device
set_seed(0)
print(f"torch {torch.__version__}, device: {device}")


def count_params(module):
    """The number of numbers a module learns (its parameters, not its buffers)."""
    return sum(p.numel() for p in module.parameters())


# %% [markdown]
# ## 14.1 From convolutions to transformers for images
#
# A convolution builds two assumptions into a network (chapter 7 called them
# *inductive biases*): **locality**, a pixel is explained by its neighbours, and
# **translation equivariance**, the same filter is used everywhere. They are
# right for images, and they let a CNN learn from few examples. Their price is a
# narrow view: a $3 \times 3$ filter sees 9 pixels, and a pixel in one corner
# influences a pixel in the other only after many layers.
#
# Self-attention (chapter 11) has the opposite trade-off: every token may look at
# every other token in a single layer, and the network learns *where* to look
# instead of being told. Applying it to single pixels is hopeless, though: a
# $224 \times 224$ image has 50,176 pixels, and attention costs the square of the
# sequence length, about $2.5 \cdot 10^9$ scores per head and layer. The Vision
# Transformer (Dosovitskiy et al., 2021, "An image is worth 16x16 words") makes
# the sequence short: it cuts the image into non-overlapping $p \times p$ patches
# and treats each patch as one token. With $p = 16$ a $224 \times 224$ image
# becomes a $14 \times 14$ grid of $P = 196$ patches, each holding
# $3 \cdot 16 \cdot 16 = 768$ numbers.
#
# What the ViT gives up is the convolution's built-in knowledge: nothing tells it
# that neighbouring patches are related. It must learn that from data, and the
# ViT paper found that it beats comparable CNNs only after pre-training on very
# large datasets (14 million images of ImageNet-21k or 300 million of JFT-300M);
# trained on ImageNet's 1.3 million images alone, similar-sized ResNets did
# better. Later recipes (DeiT, 2021) close that gap with heavy data augmentation,
# regularisation and distillation. Our digits are tiny and few, so we will use
# tiny models, but every piece is the real one.
#
# ## 14.2 Cutting an image into patches
#
# Below, a photo shipped with scikit-learn is cropped to $224 \times 224$, the
# input size of ViT-B/16, and cut into its $14 \times 14$ grid. The patches are
# numbered in **row-major order**: left to right along the first row of the grid,
# then the second row, and so on, the order in which `flatten` lists the cells of
# a grid.

# %%
photo = torch.tensor(load_sample_images().images[0])  # (427, 640, 3) uint8, HWC
photo = photo.permute(2, 0, 1).float() / 255  # (3, 427, 640), CHW in [0, 1]
photo = F.interpolate(photo[None, :, :, 106:533], size=(224, 224),
                      mode="bilinear", antialias=True, align_corners=False)[0]
print("photo:", tuple(photo.shape), photo.dtype)


def show_patch_grid(image, patch_size, ax, numbers=True):
    """Draw a CHW image with the lines of its patch grid and the patch numbers."""
    _, height, width = image.shape
    ax.imshow(image.permute(1, 2, 0).clamp(0, 1).numpy())
    for x in range(0, width + 1, patch_size):
        ax.axvline(x - 0.5, color="white", lw=0.8)
    for y in range(0, height + 1, patch_size):
        ax.axhline(y - 0.5, color="white", lw=0.8)
    columns = width // patch_size
    if numbers:
        for index in range((height // patch_size) * columns):
            row, col = divmod(index, columns)
            ax.text((col + 0.5) * patch_size, (row + 0.5) * patch_size, str(index),
                    color="yellow", fontsize=6, ha="center", va="center")
    ax.set(xlabel="x (pixels)", ylabel="y (pixels)")


fig, ax = plt.subplots(figsize=(6, 6))
show_patch_grid(photo, 16, ax)
ax.set_title("ViT-B/16 sees 196 patches of 16 x 16 x 3, numbered row by row")
plt.show()

# %% [markdown]
# ### The order of the numbers inside a patch
#
# Each patch becomes a vector of $C p^2$ numbers. Which number goes where is a
# convention, but it must be *one* convention used consistently, and the one
# worth choosing is the one a convolution uses. The **patch embedding** of a ViT
# maps every patch vector to a token with the same linear layer,
# $t_i = E\,x_i + b$ with $E \in \mathbb{R}^{D \times C p^2}$. A convolution with
# kernel size $p$ and stride $p$, `nn.Conv2d(C, D, p, stride=p)`, computes
# exactly that: its windows are the patches, and each of its $D$ filters is one
# row of $E$. A filter's weight has shape $(C, p, p)$, so if the patch vector is
# flattened in **$(C, p, p)$ order** (all of channel 0 row by row, then channel
# 1, ...) then $E$ is just `conv.weight.reshape(D, -1)`:
#
# $$\operatorname{patchify}(x)\,E^\top + b \;=\;
#   \operatorname{conv}(x)\text{ flattened over the grid and transposed to }
#   (N, P, D).$$
#
# That is how real ViT implementations compute the patch embedding (as a
# convolution), and it is how the tests check your order. The steps, for images
# of shape $(N, C, H, W)$ and a grid of $H/p$ rows and $W/p$ columns:
#
# 1. `reshape` to $(N, C, H/p, p, W/p, p)$: split each spatial axis into (which
#    patch, which pixel inside it). This only relabels memory.
# 2. `permute` to $(N, H/p, W/p, C, p, p)$: bring the two grid axes to the front
#    (their order gives the row-major patch order) and keep $(C, p, p)$ at the
#    back (the order inside a patch).
# 3. `reshape` to $(N, P, C p^2)$ with $P = (H/p)(W/p)$. After a `permute` the
#    memory is no longer in this order, so this step must copy: `reshape` does,
#    `view` refuses.
#
# `Tensor.unfold(dim, size, step)` and `F.unfold` (which computes the input of a
# convolution, "im2col") are other correct routes, if their outputs are
# rearranged with the same care.

# %% [markdown]
# ### Exercise 1: `patchify` (3 points)
#
# Cut a batch of images into flattened patches, in row-major patch order and
# $(C, p, p)$ order inside each patch. Any tensor operation is allowed.

# %% grade_id="ch14-patchify"
def patchify(images, patch_size):
    """Cut images into non-overlapping square patches, each flattened to a vector.

    N is the batch size, C the number of channels, H x W the image size and
    p = patch_size; the grid has H/p rows and W/p columns of patches, and
    P = (H/p) * (W/p).

    Args:
        images: floating-point tensor of shape (N, C, H, W), possibly not
            contiguous in memory (a permuted or sliced view). Not modified.
        patch_size: p, an int >= 1 that divides both H and W.

    Returns:
        Tensor of shape (N, P, C * p * p), same dtype and device as ``images``.
        Patches come in row-major order over the grid: patch r * (W/p) + c is
        the one in grid row r and grid column c, i.e. the pixels
        images[:, :, r*p:(r+1)*p, c*p:(c+1)*p]. Each patch of shape (C, p, p)
        is flattened in (C, p, p) order (channel, then row, then column), the
        order of a Conv2d(C, D, p, stride=p) weight, so that for any such conv:
            patchify(x, p) @ conv.weight.reshape(D, -1).T + conv.bias
            == conv(x).flatten(2).transpose(1, 2).

    Raises:
        ValueError: if p does not divide H or does not divide W.
    """
    ### BEGIN SOLUTION
    n, c, h, w = images.shape
    if h % patch_size or w % patch_size:
        raise ValueError(f"patch size {patch_size} does not divide the image "
                         f"size {h} x {w}")
    rows, cols = h // patch_size, w // patch_size
    grid = images.reshape(n, c, rows, patch_size, cols, patch_size)
    grid = grid.permute(0, 2, 4, 1, 3, 5)  # (N, rows, cols, C, p, p)
    return grid.reshape(n, rows * cols, c * patch_size * patch_size)
    ### END SOLUTION


# %%
# Try it: a 1-channel 4 x 6 image holding 0..23, cut into 2 x 2 patches
example = torch.arange(24.0).reshape(1, 1, 4, 6)
print(example[0, 0])
print(patchify(example, 2)[0])  # 6 patches of 4 numbers, row-major

# %% grade_id="ch14-patchify-tests" points=3
"""patchify: a small example by hand (row-major patches, (C, p, p) inside); shape
(N, P, C p^2); equals a Conv2d(C, D, p, stride=p) patch embedding through
weight.reshape(D, -1); float64 on `device` kept; non-square images, batch 1,
p = 1 and p = H; a non-contiguous input; the input unchanged; ValueError when p
does not divide H or W."""
# two channels of a 2 x 4 image, patches of 2 x 2: the grid is 1 row, 2 columns
x = torch.arange(16.0).reshape(1, 2, 2, 4)
got = patchify(x, 2)
want = torch.tensor([[[0.0, 1, 4, 5, 8, 9, 12, 13],       # patch 0: channel 0,
                      [2.0, 3, 6, 7, 10, 11, 14, 15]]])   # then channel 1
assert_close(got, want, name="patchify(arange(16).reshape(1, 2, 2, 4), 2)")
# row-major grid: a 4 x 4 image with 2 x 2 patches
x = torch.arange(16.0).reshape(1, 1, 4, 4)
want = torch.tensor([[[0.0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13],
                      [10, 11, 14, 15]]])
assert_close(patchify(x, 2), want, name="patchify(arange(16).reshape(1, 1, 4, 4), 2)")


def _check_against_conv(shape, p, dtype, where, seed, noncontiguous=False):
    gen = torch.Generator().manual_seed(seed)
    n, c, h, w = shape
    x = torch.randn(shape, generator=gen, dtype=dtype).to(where)
    if noncontiguous:  # the same values, stored as (N, H, W, C)
        x = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
    before = x.clone()
    name = (f"patchify(x of shape {shape}, {dtype}"
            + (", not contiguous" if noncontiguous else "") + f", p={p})")
    got = patchify(x, p)
    num = (h // p) * (w // p)
    assert_shape(got, (n, num, c * p * p), name=name)
    assert got.dtype == dtype, f"{name}: dtype {got.dtype}, expected {dtype}"
    assert got.device == x.device, f"{name}: on {got.device}, expected {x.device}"
    assert torch.equal(x, before), f"{name}: the input was modified"
    d = 5
    weight = torch.randn(d, c, p, p, generator=gen, dtype=dtype).to(where)
    bias = torch.randn(d, generator=gen, dtype=dtype).to(where)
    want = F.conv2d(x, weight, bias, stride=p).flatten(2).transpose(1, 2)
    tol = 1e-9 if dtype == torch.float64 else 1e-4
    assert_close(got @ weight.reshape(d, -1).T + bias, want, rtol=tol, atol=tol,
                 name=f"{name} @ W.reshape(D, -1).T + b vs Conv2d(stride=p)")


_check_against_conv((2, 3, 6, 8), 2, torch.float64, device, seed=0)
_check_against_conv((1, 3, 4, 4), 4, torch.float64, device, seed=1)   # one patch
_check_against_conv((2, 2, 3, 5), 1, torch.float64, device, seed=2)   # p = 1
_check_against_conv((2, 3, 6, 4), 2, torch.float32, "cpu", seed=3, noncontiguous=True)
for bad in [(2, 3, 6, 8, 4), (2, 3, 8, 6, 4)]:
    expect_raises(ValueError, patchify, torch.zeros(bad[:4]), bad[4],
                  name=f"patchify(x of shape {bad[:4]}, {bad[4]})")
### BEGIN HIDDEN TESTS
for _seed, (_shape, _p) in enumerate([((3, 3, 12, 9), 3), ((1, 1, 10, 15), 5),
                                      ((2, 4, 6, 6), 3), ((1, 3, 7, 7), 7),
                                      ((4, 2, 8, 12), 4), ((2, 5, 2, 6), 2)]):
    _check_against_conv(_shape, _p, torch.float64, device, seed=20 + _seed)
    _check_against_conv(_shape, _p, torch.float64, device, seed=40 + _seed,
                        noncontiguous=True)
_x = torch.randn(2, 3, 9, 6, dtype=torch.float64, device=device)
_got = patchify(_x, 3)
assert_close(_got[:, 3], _x[:, :, 3:6, 3:6].reshape(2, -1), rtol=0, atol=0,
             name="patchify(x (2, 3, 9, 6), 3): patch 3 = rows 3:6, columns 3:6")
assert_close(_got[:, 4], _x[:, :, 6:9, 0:3].reshape(2, -1), rtol=0, atol=0,
             name="patchify(x (2, 3, 9, 6), 3): patch 4 = rows 6:9, columns 0:3")
for _bad in [(1, 1, 9, 6, 2), (2, 2, 4, 10, 4), (1, 3, 5, 5, 3)]:
    expect_raises(ValueError, patchify, torch.zeros(_bad[:4]), _bad[4],
                  name=f"patchify(x of shape {_bad[:4]}, {_bad[4]})")
### END HIDDEN TESTS

# %% [markdown]
# ### A pitfall: `unfold` then `view`
#
# A short version of the patching is often written with `Tensor.unfold`, which
# gives the tensor of shape $(N, C, H/p, W/p, p, p)$, followed straight by
# `.contiguous().view(N, -1, C * p * p)`. The shape comes out right, so nothing
# complains, but the channel axis is still in front of the grid axes: the
# $C p^2$ consecutive numbers that become token $i$ are *one* channel of $C$
# consecutive patches. With $C = 3$, token 0 holds the red channel of patches 0,
# 1 and 2, and no token holds one whole patch. The fix is the `permute` of step
# 2, putting the grid axes first.
#
# The cell below builds both versions, puts every token back where the correct
# order says it belongs (the inverse of `patchify`), and shows the picture the
# transformer would effectively see. With a single channel, like our digits, both
# versions agree exactly, which is how this bug survives testing on grayscale
# data.

# %%
def unpatchify(tokens, channels, height, width, patch_size):
    """The inverse of patchify: (N, P, C p p) tokens back to (N, C, H, W) images."""
    n, p = tokens.shape[0], patch_size
    grid = tokens.reshape(n, height // p, width // p, channels, p, p)
    return grid.permute(0, 3, 1, 4, 2, 5).reshape(n, channels, height, width)


def patchify_unfold_view(images, patch_size):
    """The pitfall: unfold, then view without moving the channel axis."""
    n, c = images.shape[:2]
    p = patch_size
    windows = images.unfold(2, p, p).unfold(3, p, p)  # (N, C, H/p, W/p, p, p)
    return windows.contiguous().view(n, -1, c * p * p)


crop = photo[None, :, 64:160, 64:160]  # (1, 3, 96, 96)
right = patchify(crop, 16)
wrong = patchify_unfold_view(crop, 16)
print("same shape:", tuple(right.shape) == tuple(wrong.shape),
      "| equal values:", torch.equal(right, wrong))
digit = load_digits(images=True)[0][:1]  # (1, 1, 8, 8)
print("one channel, p = 4: equal values:",
      torch.equal(patchify(digit, 4), patchify_unfold_view(digit, 4)))

fig, axes = plt.subplots(1, 3, figsize=(12, 4.2))
show_patch_grid(crop[0], 16, axes[0])
axes[0].set_title("the crop, 36 patches of 16 x 16")
show_patch_grid(unpatchify(right, 3, 96, 96, 16)[0], 16, axes[1])
axes[1].set_title("patchify: each token is one patch")
show_patch_grid(unpatchify(wrong, 3, 96, 96, 16)[0], 16, axes[2])
axes[2].set_title("unfold + view: channels of 3 patches\nin each token")
fig.tight_layout()
plt.show()

# %% [markdown]
# In the right-hand picture, token $i$ carries the red channel of patches $3i$,
# $3i+1$ and $3i+2$ in its red, green and blue slots (for the first third of the
# tokens; the green channel fills the second third, the blue the last). A
# network can still be trained on such tokens, but they are not patches:
# neighbouring tokens share nothing spatially sensible, colours are scrambled,
# and weights pretrained with the correct order are useless.
#
# The widget cuts the photo into patches of other sizes. Smaller patches give a
# finer view but a longer sequence: the attention matrix has $(P + 1)^2$ entries
# per head (the $+1$ is the class token of the next section), so halving $p$
# multiplies the attention cost by about 16.

# %%
def show_patch_size(patch_size=16, patch=0):
    """The photo with a patch grid, and one patch's numbers as the ViT sees them."""
    tokens = patchify(photo[None], patch_size)[0]  # (P, 3 p p)
    num = tokens.shape[0]
    patch = min(patch, num - 1)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6),
                             gridspec_kw={"width_ratios": [1, 1.3]})
    show_patch_grid(photo, patch_size, axes[0], numbers=False)
    row, col = divmod(patch, 224 // patch_size)
    axes[0].add_patch(plt.Rectangle((col * patch_size - 0.5, row * patch_size - 0.5),
                                    patch_size, patch_size, fill=False,
                                    color="red", lw=2, label=f"patch {patch}"))
    axes[0].legend(loc="upper right", fontsize=8)
    axes[0].set_title(f"p = {patch_size}: {num} patches, {(num + 1) ** 2:,} "
                      "attention scores per head")
    size = patch_size * patch_size
    for channel, colour in enumerate(("red", "green", "blue")):
        values = tokens[patch, channel * size:(channel + 1) * size].numpy()
        axes[1].plot(range(channel * size, (channel + 1) * size), values,
                     color=colour, lw=1, label=f"channel {channel}")
    axes[1].set(xlabel=f"position in the patch vector (length {3 * size})",
                ylabel="pixel value",
                title=f"patch {patch} flattened in (C, p, p) order")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    plt.show()


interactive_plot(show_patch_size, patch_size=[8, 14, 16, 28, 32, 56],
                 patch=(0, 63))

# %% [markdown]
# ## 14.3 The Vision Transformer
#
# With the patches $x_1, \dots, x_P \in \mathbb{R}^{C p^2}$ of an image, a ViT
# computes:
#
# 1. **Patch embedding**: $t_i = E\,x_i + b$, one token of size $D$ per patch
#    ($E$ and $b$ shared by all patches; a `Linear(C p^2, D)` on the patches or,
#    equivalently, a `Conv2d(C, D, p, stride=p)` on the image).
# 2. **Class token**: a learned vector $t_{\text{cls}} \in \mathbb{R}^D$ is put in
#    front of the sequence. It belongs to no patch; its job is to collect, through
#    attention, what the whole image says. (BERT does the same with its `[CLS]`
#    token.)
# 3. **Position embedding**: a learned matrix $E_{\text{pos}} \in
#    \mathbb{R}^{(1+P) \times D}$ is added, one row per position (class token
#    included):
#    $z_0 = [t_{\text{cls}};\, t_1;\, \dots;\, t_P] + E_{\text{pos}}$.
#    Attention is blind to order (section 14.4 proves it), so this is the only
#    thing that tells the network where a patch was.
# 4. **$L$ pre-norm encoder blocks** (chapter 11, with the normalisation moved in
#    front of each sub-layer, which trains more stably in deep stacks):
#
#    $$z' = z + \operatorname{MSA}\big(\operatorname{LN}_1(z)\big), \qquad
#      z \leftarrow z' + \operatorname{MLP}\big(\operatorname{LN}_2(z')\big),$$
#
#    where MSA is multi-head self-attention with $h$ heads and MLP is
#    $\operatorname{Linear}(D, M)$, GELU, $\operatorname{Linear}(M, D)$.
# 5. **Head**: a final LayerNorm, then a linear classifier on the class token's
#    output only: $\hat{y} = W_{\text{head}}\operatorname{LN}(z_L^{(0)}) +
#    b_{\text{head}}$.
#
# `nn.TransformerEncoderLayer(D, h, M, dropout=0.0, activation="gelu",
# batch_first=True, norm_first=True)` is exactly one block of step 4, so you may
# stack those, or write the block yourself with `nn.MultiheadAttention`.
#
# **Counting the parameters.** Multi-head attention with biases has $4D^2 + 4D$
# (the query, key, value and output projections), the MLP $2DM + M + D$, each
# LayerNorm $2D$. Altogether,
#
# $$\underbrace{C p^2 D + D}_{\text{patch embedding}} +
#   \underbrace{D}_{\text{class token}} +
#   \underbrace{(1 + P) D}_{\text{positions}} +
#   L\,\underbrace{(4D^2 + 4D + 2DM + M + D + 4D)}_{\text{one block}} +
#   \underbrace{2D}_{\text{final LN}} +
#   \underbrace{DK + K}_{\text{head}} .$$
#
# The published ViT-B/16 (image 224, $p = 16$, $C = 3$, $K = 1000$, $D = 768$,
# $L = 12$, $h = 12$, $M = 3072$) has 86,567,656 parameters, and a module that
# follows the description above must have exactly as many.

# %% [markdown]
# ### Exercise 2: `VisionTransformer` (4 points)
#
# Build the ViT of the description. The tests mostly treat your module as a black
# box and check what the description implies: the output shape, dtype and
# device; the exact parameter count (the formula above, and ViT-B/16 built on the
# `meta` device, which records shapes without allocating memory); the two named
# parameters `cls_token` and `pos_embedding`; that nothing random happens in
# training mode; that with no blocks the output is the head applied to the
# normalised class token whatever the image; and that the model is blind to the
# order of the patches exactly when the position embedding is zero.
#
# Two rules need a look inside, which the tests get through *forward hooks*
# (functions PyTorch calls whenever a module runs): they record what enters
# every `nn.LayerNorm` and what enters and leaves the MLP's two `nn.Linear`
# layers. So build the LayerNorms and the MLP from those modules, as
# `nn.TransformerEncoderLayer` does. The hooks check that the MLP applies GELU,
# and that the blocks are **pre-norm**. For that, the tests multiply `cls_token`
# by $10^6$. In a pre-norm block the stream $z$ itself is never normalised: each
# sub-layer reads $\operatorname{LN}(z)$, whose size does not depend on the size
# of $z$, and only *adds* its output to $z$. So the huge class token comes out
# of the last block almost unchanged, and enters the final LayerNorm within a
# relative $10^{-3}$ of `cls_token + pos_embedding[:, 0]`. The original
# Transformer's post-norm block, $z \leftarrow \operatorname{LN}(z +
# \operatorname{sublayer}(z))$, normalises the stream after each addition and
# shrinks the class token back to the size of a normalised vector: it fails
# this test.

# %% grade_id="ch14-vision-transformer"
class VisionTransformer(nn.Module):
    """A Vision Transformer classifier (ViT) without dropout.

    N is the batch size, C = in_channels, S = image_size (square images S x S),
    p = patch_size, P = (S / p)**2 the number of patches, D = dim, L = depth,
    M = mlp_dim, K = num_classes.

    Architecture, exactly (no dropout anywhere, no other parameters):
        patch embedding: Linear(C * p * p, D) applied to patchify(x, p), or
            equivalently Conv2d(C, D, p, stride=p) flattened to (N, P, D);
        self.cls_token: nn.Parameter of shape (1, 1, D);
        self.pos_embedding: nn.Parameter of shape (1, 1 + P, D);
        z = cat([cls_token, patch tokens], dim=1) + pos_embedding  # (N, 1+P, D)
        L pre-norm encoder blocks, each:
            z = z + MultiheadAttention(D, heads, with biases)(LN1(z))
            z = z + Linear(M, D)(GELU(Linear(D, M)(LN2(z))))
          LN1 and LN2 normalise the input of each sub-layer, never the sum z
          (post-norm, z = LN(z + sublayer(z)) as in the original Transformer,
          is wrong here); they are two distinct nn.LayerNorm(D) modules with
          their defaults. The MLP's two layers are nn.Linear modules; GELU is
          the exact one (nn.GELU(), F.gelu), and its tanh approximation
          (within 5e-4 of it) passes too. The attention may be
          nn.MultiheadAttention or your own code computing the same.
          nn.TransformerEncoderLayer(D, heads, M, dropout=0.0,
          activation="gelu", batch_first=True, norm_first=True) is one block
          and may be used.
        a final nn.LayerNorm(D), then a head Linear(D, K) on the class token:
            logits = head(final_norm(z[:, 0])).
    Each nn.LayerNorm module is applied exactly once per forward (2 L + 1
    calls); the final one is the last nn.LayerNorm that forward calls. The
    tests read the inputs of these modules through forward hooks.
    Parameter count: (C p^2 D + D) + D + (1 + P) D + L (4 D^2 + 2 D M + M + 9 D)
    + 2 D + (D K + K); ViT-B/16 has 86,567,656.
    The initial values are your choice (the tests set what they need).

    Args:
        image_size: S, int >= 1.
        patch_size: p, int >= 1.
        in_channels: C, int >= 1.
        num_classes: K, int >= 1.
        dim: D, int >= 1, divisible by heads.
        depth: L, int >= 0 (with L = 0 there is no block: the logits are
            head(final_norm(cls_token + pos_embedding[:, 0])) for every image;
            nn.TransformerEncoder refuses 0 layers, nn.ModuleList does not).
        heads: int >= 1, the number of attention heads.
        mlp_dim: M, int >= 1, the hidden size of each block's MLP.

    Raises:
        ValueError: in __init__, if patch_size does not divide image_size.

    forward(x):
        x: (N, C, S, S), floating point, with the model's dtype and device.
        Returns logits of shape (N, K), same dtype and device as x; the same
        in training and in evaluation mode.
    """

    def __init__(self, image_size, patch_size, in_channels, num_classes, dim,
                 depth, heads, mlp_dim):
        super().__init__()
        ### BEGIN SOLUTION
        if image_size % patch_size:
            raise ValueError(f"patch size {patch_size} does not divide the image "
                             f"size {image_size}")
        self.patch_size = patch_size
        num_patches = (image_size // patch_size) ** 2
        self.patch_embedding = nn.Linear(in_channels * patch_size**2, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embedding = nn.Parameter(0.02 * torch.randn(1, 1 + num_patches, dim))
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(dim, heads, mlp_dim, dropout=0.0,
                                       activation="gelu", batch_first=True,
                                       norm_first=True)
            for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        tokens = self.patch_embedding(patchify(x, self.patch_size))  # (N, P, D)
        cls = self.cls_token.expand(len(x), -1, -1)  # (N, 1, D)
        z = torch.cat([cls, tokens], dim=1) + self.pos_embedding  # (N, 1 + P, D)
        for block in self.blocks:
            z = block(z)
        return self.head(self.norm(z[:, 0]))
        ### END SOLUTION


# %%
# Try it: a small ViT on two random 3-channel 8 x 8 images
vit = VisionTransformer(8, 4, 3, 10, dim=16, depth=2, heads=4, mlp_dim=32)
print("logits:", tuple(vit(torch.randn(2, 3, 8, 8)).shape), "|",
      count_params(vit), "parameters")
print("cls_token", tuple(vit.cls_token.shape), "pos_embedding",
      tuple(vit.pos_embedding.shape))

# %% grade_id="ch14-vision-transformer-tests" points=4
"""VisionTransformer: logits (N, K) with the input's dtype and device (float64 on
`device`, batch 1); the parameter count of the stated architecture for small
configurations and, built on the meta device, 86,567,656 for ViT-B/16;
cls_token (1, 1, D) and pos_embedding (1, 1 + P, D) parameters; no dropout
(training == evaluation mode); depth 0: logits = head(LN(cls_token +
pos_embedding[:, 0])), the same for every image and unchanged by a constant
added to the class token; with pos_embedding zero the logits ignore the order of
the patches (class token readout), with a random one they do not; ValueError
when patch_size does not divide image_size. Through forward hooks: 2 L + 1 calls
to distinct nn.LayerNorm modules; the MLP's nn.Linear(M, D) gets GELU of what
nn.Linear(D, M) gave; pre-norm: with cls_token times 1e6 the class token enters
the final LayerNorm within 1e-3 (relative) of cls_token + pos_embedding[:, 0]."""


def _vit_count(s, p, c, k, d, depth, m):
    block = 4 * d * d + 4 * d + 2 * d * m + m + d + 4 * d
    return c * p * p * d + d + d + (1 + (s // p) ** 2) * d + depth * block \
        + 2 * d + d * k + k


def _shuffle_patches(x, p, order):
    """Move the p x p patches of x to the row-major places given by ``order``."""
    n, c, h, w = x.shape
    grid = x.reshape(n, c, h // p, p, w // p, p).permute(0, 2, 4, 1, 3, 5)
    grid = grid.reshape(n, -1, c, p, p)[:, order]
    grid = grid.reshape(n, h // p, w // p, c, p, p).permute(0, 3, 1, 4, 2, 5)
    return grid.reshape(n, c, h, w)


def _check_vit(s, p, c, k, d, depth, heads, m, n, dtype, where, seed):
    name = f"VisionTransformer({s}, {p}, {c}, {k}, {d}, {depth}, {heads}, {m})"
    gen = torch.Generator().manual_seed(seed)
    model = VisionTransformer(s, p, c, k, d, depth, heads, m)
    assert isinstance(model, nn.Module), f"{name} is not an nn.Module"
    got_count, want_count = count_params(model), _vit_count(s, p, c, k, d, depth, m)
    assert got_count == want_count, (
        f"{name}: {got_count:,} parameters, expected {want_count:,}")
    num = (s // p) ** 2
    for attr, shape in (("cls_token", (1, 1, d)), ("pos_embedding", (1, 1 + num, d))):
        value = getattr(model, attr, None)
        assert isinstance(value, nn.Parameter), f"{name}.{attr} is not a Parameter"
        assert_shape(value, shape, name=f"{name}.{attr}")
    model = model.to(where, dtype)
    with torch.no_grad():
        for param in model.parameters():  # values where every part matters
            param.copy_(torch.randn(param.shape, generator=gen) / 2)
    x = torch.randn(n, c, s, s, generator=gen, dtype=dtype).to(where)
    model.train()
    got = model(x)
    assert_shape(got, (n, k), name=f"{name} on x {tuple(x.shape)}")
    assert got.dtype == dtype, f"{name}: logits {got.dtype}, expected {dtype}"
    assert got.device == x.device, f"{name}: logits on {got.device}, not {x.device}"
    tol = 1e-9 if dtype == torch.float64 else 1e-4
    assert_close(model(x), got, rtol=tol, atol=tol,
                 name=f"{name}: two calls in training mode (no dropout)")
    model.eval()
    with torch.no_grad():
        assert_close(model(x), got, rtol=tol, atol=tol,
                     name=f"{name}: evaluation mode vs training mode")
        order = torch.randperm(num, generator=gen)
        if torch.equal(order, torch.arange(num)):
            order = order.flip(0)  # a permutation that moves something
        shuffled = _shuffle_patches(x, p, order)
        if depth > 0 and num > 1:
            moved = (model(shuffled) - model(x)).abs().max().item()
            assert moved > 1e-3, (
                f"{name}: shuffling the patches changed the logits by only "
                f"{moved:.2g}, but the position embedding should make them differ")
        model.pos_embedding.zero_()
        assert_close(model(shuffled), model(x), rtol=tol, atol=tol,
                     name=f"{name} with pos_embedding = 0: patches shuffled vs not")
        cls_before = model(x)
        model.cls_token.add_(torch.randn(d, generator=gen, dtype=dtype).to(where))
        changed = (model(x) - cls_before).abs().max().item()
        assert changed > 1e-3, (
            f"{name}: changing cls_token changed the logits by only {changed:.2g}")


def _check_depth_zero(s, p, c, k, d, heads, dtype, where, seed):
    name = f"VisionTransformer({s}, {p}, {c}, {k}, {d}, depth=0, {heads}, 8)"
    gen = torch.Generator().manual_seed(seed)
    model = VisionTransformer(s, p, c, k, d, 0, heads, 8).to(where, dtype).eval()
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn(param.shape, generator=gen))
        x = torch.randn(3, c, s, s, generator=gen, dtype=dtype).to(where)
        got = model(x)
        tol = 1e-9 if dtype == torch.float64 else 1e-5
        assert_close(got[1:], got[:1].expand(2, k), rtol=tol, atol=tol,
                     name=f"{name}: logits of 3 different images (class token only)")
        model.pos_embedding[:, 1:] += 1.0
        assert_close(model(x), got, rtol=tol, atol=tol,
                     name=f"{name}: after changing pos_embedding[:, 1:]")
        model.cls_token += 2.5  # LayerNorm removes a constant shift
        assert_close(model(x), got, rtol=tol, atol=tol,
                     name=f"{name}: after adding 2.5 to every entry of cls_token")
        shift = torch.randn(d, generator=gen, dtype=dtype).to(where)
        model.pos_embedding[0, 0] += shift
        changed = (model(x) - got).abs().max().item()
        assert changed > 1e-3, (
            f"{name}: changing pos_embedding[:, 0] changed the logits by only "
            f"{changed:.2g}: it must be added to the class token")


def _check_pre_norm_gelu(s, p, c, k, d, depth, heads, m, dtype, where, seed):
    """Hooks watch the last nn.LayerNorm call and the MLP's nn.Linear layers."""
    name = f"VisionTransformer({s}, {p}, {c}, {k}, {d}, {depth}, {heads}, {m})"
    gen = torch.Generator().manual_seed(seed)
    model = VisionTransformer(s, p, c, k, d, depth, heads, m).to(where, dtype).train()
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn(param.shape, generator=gen) / 2)
        model.cls_token.mul_(1e6)  # a class token far larger than anything else
    seen = {"norm": [], "up": [], "down": []}
    hooks = []
    for module in model.modules():
        if isinstance(module, nn.LayerNorm):
            hooks.append(module.register_forward_pre_hook(
                lambda mod, args: seen["norm"].append((mod, args[0]))))
        elif isinstance(module, nn.Linear) and module.in_features == d \
                and module.out_features == m:
            hooks.append(module.register_forward_hook(
                lambda mod, args, out: seen["up"].append(out)))
        elif isinstance(module, nn.Linear) and module.in_features == m \
                and module.out_features == d:
            hooks.append(module.register_forward_pre_hook(
                lambda mod, args: seen["down"].append(args[0])))
    x = torch.randn(2, c, s, s, generator=gen, dtype=dtype).to(where)
    try:
        with torch.no_grad():
            model(x)
    finally:
        for hook in hooks:
            hook.remove()
    assert len(seen["up"]) == len(seen["down"]) == depth, (
        f"{name}: one forward called an nn.Linear({d}, {m}) {len(seen['up'])} "
        f"times and an nn.Linear({m}, {d}) {len(seen['down'])} times, expected "
        f"{depth} each (one MLP per block, built from nn.Linear modules)")
    for up, down in zip(seen["up"], seen["down"], strict=True):
        assert_close(down, F.gelu(up), rtol=1e-3, atol=1e-3,
                     name=f"{name}: the MLP's nn.Linear({m}, {d}) input vs GELU of "
                          f"the nn.Linear({d}, {m}) output")
    called = len({id(mod) for mod, _ in seen["norm"]})
    assert len(seen["norm"]) == called == 2 * depth + 1, (
        f"{name}: one forward made {len(seen['norm'])} calls to {called} distinct "
        f"nn.LayerNorm modules, expected {2 * depth + 1} calls to as many modules "
        "(LN1 and LN2 of each block, then the final one)")
    row = seen["norm"][-1][1]  # what enters the final LayerNorm
    row = (row[:, 0] if row.dim() == 3 else row).detach()
    start = (model.cls_token + model.pos_embedding[:, 0]).detach().reshape(1, d)
    drift = ((row - start).norm(dim=-1) / start.norm(dim=-1)).max().item()
    assert drift < 1e-3, (
        f"{name}: with cls_token multiplied by 1e6, the class token entering the "
        f"final LayerNorm is {drift:.2g} (relative) away from cls_token + "
        "pos_embedding[:, 0]. Pre-norm blocks z = z + sublayer(LN(z)) add "
        "amounts that do not grow with z, so it should pass nearly unchanged "
        "(under 1e-3); a LayerNorm after the residual add (post-norm) or a "
        "sub-layer that reads z without its LayerNorm breaks this")


expect_raises(ValueError, VisionTransformer, 10, 4, 3, 10, 16, 1, 2, 32,
              name="VisionTransformer(image_size=10, patch_size=4, ...)")
_check_vit(8, 4, 3, 10, 16, 1, 2, 24, 2, torch.float32, "cpu", seed=0)
_check_vit(8, 2, 3, 5, 12, 2, 3, 20, 1, torch.float64, device, seed=1)
_check_depth_zero(8, 4, 3, 6, 10, 2, torch.float64, device, seed=2)
_check_pre_norm_gelu(8, 4, 3, 10, 16, 2, 2, 24, torch.float64, device, seed=3)
with torch.device("meta"):  # shapes only: no memory, no download
    vit_b16 = VisionTransformer(224, 16, 3, 1000, dim=768, depth=12, heads=12,
                                mlp_dim=3072)
assert count_params(vit_b16) == 86_567_656, (
    f"ViT-B/16 built on the meta device has {count_params(vit_b16):,} parameters, "
    "expected the published 86,567,656")
### BEGIN HIDDEN TESTS
for _seed, _args in enumerate([(9, 3, 3, 7, 12, 1, 4, 10, 2),
                               (12, 4, 2, 3, 8, 3, 2, 16, 1),
                               (6, 2, 3, 4, 6, 1, 3, 5, 3),
                               (10, 5, 1, 2, 9, 2, 3, 7, 2)]):
    _check_vit(*_args, torch.float64, device, seed=30 + _seed)
_check_depth_zero(6, 3, 2, 5, 6, 3, torch.float64, device, seed=50)
for _seed, _args in enumerate([(9, 3, 3, 7, 12, 1, 4, 10), (12, 4, 2, 3, 8, 3, 2, 16),
                               (10, 5, 1, 2, 9, 2, 3, 7)]):
    _check_pre_norm_gelu(*_args, torch.float64, device, seed=60 + _seed)
expect_raises(ValueError, VisionTransformer, 12, 5, 3, 10, 8, 1, 2, 16,
              name="VisionTransformer(image_size=12, patch_size=5, ...)")
for _cfg in [(224, 32, 3, 1000, 768, 12, 12, 3072), (384, 16, 3, 21843, 1024, 24,
                                                      16, 4096)]:
    with torch.device("meta"):
        _big = VisionTransformer(*_cfg)
    _want = _vit_count(*_cfg[:6], _cfg[7])
    assert count_params(_big) == _want, (
        f"VisionTransformer{_cfg} on meta: {count_params(_big):,} parameters, "
        f"expected {_want:,}")
### END HIDDEN TESTS

# %% [markdown]
# ### ViT-B/16, part by part
#
# The published ViT sizes differ only in their numbers. The cell builds ViT-B/16
# on the `meta` device (no memory, no download) from your module and checks that
# it has the published 86,567,656 parameters, then splits the count by the
# formula. Almost all of them (98%) are in the twelve blocks, and two thirds of
# each block are in its MLP.

# %%
with torch.device("meta"):
    vit_b16 = VisionTransformer(224, 16, 3, 1000, dim=768, depth=12, heads=12,
                                mlp_dim=3072)
assert count_params(vit_b16) == 86_567_656, count_params(vit_b16)

D, M, P, L = 768, 3072, 196, 12
parts = {
    "patch embedding (3*16*16 -> 768)": 3 * 16 * 16 * D + D,
    "class token": D,
    "position embedding (197 x 768)": (1 + P) * D,
    "12 x attention (4D^2 + 4D)": L * (4 * D * D + 4 * D),
    "12 x MLP (2DM + M + D)": L * (2 * D * M + M + D),
    "12 x two LayerNorms + final LayerNorm": L * 4 * D + 2 * D,
    "head (768 -> 1000)": D * 1000 + 1000,
}
for part, number in parts.items():
    print(f"{part:40s} {number:12,} {number / 86_567_656:7.1%}")
print(f"{'total (formula)':40s} {sum(parts.values()):12,}")
print(f"{'your VisionTransformer on meta':40s} {count_params(vit_b16):12,}")

# %% [markdown]
# ## 14.4 A Vision Transformer for the digits
#
# The digits are $8 \times 8$ grayscale images. With $p = 4$ each image is a
# $2 \times 2$ grid of patches: a sequence of 4 tokens plus the class token,
# small enough to train in seconds on a CPU. The model has width $D = 64$, 2
# blocks of 4 heads and an MLP of 128. Training uses AdamW (Adam with decoupled
# weight decay, chapter 4) with the one-cycle schedule (chapter 16), mini-batches
# of 64, and a quarter of the digits held out for the test. Pixels are
# standardised with the mean and standard deviation of the training images.
# **The bar: at least 95% test accuracy.**

# %%
digits_X, digits_y = load_digits(images=True)  # (1797, 1, 8, 8) in [0, 1]
X_train, X_test, y_train, y_test = train_test_split(digits_X, digits_y,
                                                    test_fraction=0.25, seed=0)
pixel_mean, pixel_std = X_train.mean(), X_train.std()
X_train = ((X_train - pixel_mean) / pixel_std).to(device)
X_test = ((X_test - pixel_mean) / pixel_std).to(device)
y_train, y_test = y_train.to(device), y_test.to(device)
print(f"train {tuple(X_train.shape)}, test {tuple(X_test.shape)}")


def accuracy(model, X, y):
    model.eval()
    with torch.no_grad():
        return (model(X).argmax(dim=1) == y).float().mean().item()


def train_vit(model, num_epochs, lr=2e-3, batch_size=64):
    """AdamW with a one-cycle schedule; returns (mean loss, test accuracy) per epoch."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
    steps = num_epochs * math.ceil(len(X_train) / batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=steps)
    losses, accuracies = [], []
    for _ in progress(range(num_epochs), desc="ViT epochs"):
        model.train()
        order = torch.randperm(len(X_train), device=device)
        total = 0.0
        for start in range(0, len(X_train), batch_size):
            batch = order[start:start + batch_size]
            loss = F.cross_entropy(model(X_train[batch]), y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(batch)
        losses.append(total / len(X_train))
        accuracies.append(accuracy(model, X_test, y_test))
    return losses, accuracies


# %%
NUM_EPOCHS = 15  # the knob: more epochs (or a wider model) with a GPU
vit_cache = {}  # the trained model, so that later cells reuse it


def make_digit_vit():
    return VisionTransformer(8, 4, 1, 10, dim=64, depth=2, heads=4, mlp_dim=128)


def train_digit_vit(num_epochs=NUM_EPOCHS):
    """The digits ViT trained for num_epochs: (model, losses, accuracies)."""
    if num_epochs not in vit_cache:
        set_seed(0)  # the initial weights and the batch order
        model = make_digit_vit().to(device)
        vit_cache[num_epochs] = (model, *train_vit(model, num_epochs))
    return vit_cache[num_epochs]


start = time.perf_counter()
digit_vit, vit_losses, vit_accuracies = train_digit_vit()
print(f"{count_params(digit_vit):,} parameters, trained in "
      f"{time.perf_counter() - start:.1f} s")
errors = round((1 - vit_accuracies[-1]) * len(y_test))
print(f"{errors} errors out of {len(y_test)} test digits")
check_bar("ViT test accuracy", vit_accuracies[-1], 0.95)

fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
plot_curves({"training loss": vit_losses}, xlabel="epoch", ylabel="cross-entropy",
            logy=True, ax=axes[0])
axes[0].set_title("ViT on the digits: training loss")
plot_curves({"test accuracy": vit_accuracies, "bar (95%)": [0.95] * NUM_EPOCHS},
            xlabel="epoch", ylabel="accuracy", ax=axes[1])
axes[1].set(ylim=(0.5, 1.0), title="ViT on the digits: test accuracy")
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Position embeddings: attention is blind to order
#
# Self-attention treats its input as a *set*: permute the tokens and its outputs
# are permuted the same way (each output is a weighted average whose weights
# depend only on the tokens' contents). LayerNorm and the MLP act on each token
# alone, so the whole encoder is permutation-equivariant, and the class token,
# which never moves, comes out unchanged. Without the position embedding a ViT
# would classify an image and the same image with its patches shuffled
# identically.
#
# The cell checks this on the trained model. A copy with its position embedding
# set to zero gives the same logits for a digit and for the digit with its top
# and bottom rows of patches swapped, up to float32 rounding. The trained model
# itself does see the difference, but how much it matters depends on the data:
# on these $8 \times 8$ digits the content of each $4 \times 4$ quadrant says a
# lot by itself, so the accuracy printed for the swapped digits stays fairly
# high, while the figure shows the predictions that change.

# %%
digit_vit, _, _ = train_digit_vit()  # the model trained above
swap_rows = torch.tensor([2, 3, 0, 1])  # the 2 x 2 grid's top and bottom rows
shuffled = unpatchify(patchify(X_test, 4)[:, swap_rows], 1, 8, 8, 4)
print(f"trained ViT: accuracy {accuracy(digit_vit, X_test, y_test):.3f} on the test "
      f"digits, {accuracy(digit_vit, shuffled, y_test):.3f} with rows of patches "
      "swapped")
blind = make_digit_vit().to(device)
blind.load_state_dict(digit_vit.state_dict())
with torch.no_grad():
    blind.pos_embedding.zero_()
    blind.eval()
    gap = (blind(shuffled) - blind(X_test)).abs().max().item()
print(f"position embedding set to 0: largest change of a logit when the patches "
      f"are shuffled {gap:.1e}")

fig, axes = plt.subplots(2, 6, figsize=(10, 3.8))
for column in range(6):
    for row, (images, label) in enumerate([(X_test, "original"),
                                           (shuffled, "rows swapped")]):
        with torch.no_grad():
            digit_vit.eval()
            guess = digit_vit(images[column:column + 1]).argmax().item()
        axes[row, column].imshow(images[column, 0].cpu().numpy(), cmap="gray_r")
        axes[row, column].set_title(f"{label}: {guess}", fontsize=8)
        axes[row, column].axis("off")
fig.suptitle("The trained ViT's predictions: position embeddings carry the layout")
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Where the class token looks
#
# The class token collects its answer through attention. The cell below records
# the input of every `nn.MultiheadAttention` inside the model (with a forward
# pre-hook, chapter 18) and recomputes its weights, averaged over the heads, to
# show how much attention the class token pays to each of the 4 patches in each
# block (the rest of its attention goes to itself). If your blocks use an
# attention module of your own, the cell has nothing to record and says so.

# %%
def class_token_attention(model, images):
    """Per block, the class token's attention weights over the P patches (N, P)."""
    modules = [m for m in model.modules() if isinstance(m, nn.MultiheadAttention)]
    inputs = []
    hooks = [m.register_forward_pre_hook(lambda mod, args: inputs.append(args[0]))
             for m in modules]
    model.eval()
    try:
        model(images)  # with autograd on, so no fused fast path skips the hooks
    finally:
        for hook in hooks:
            hook.remove()
    maps = []
    with torch.no_grad():
        for module, z in zip(modules, inputs, strict=True):
            _, weights = module(z, z, z, need_weights=True)  # (N, 1 + P, 1 + P)
            maps.append(weights[:, 0, 1:].cpu())
    return maps


digit_vit, _, _ = train_digit_vit()
attention_maps = class_token_attention(digit_vit, X_test[:6])
if not attention_maps:
    print("no nn.MultiheadAttention found in the model: nothing to show")
else:
    fig, axes = plt.subplots(len(attention_maps), 6, figsize=(10, 3.6),
                             squeeze=False)
    for block, weights in enumerate(attention_maps):
        for column in range(6):
            ax = axes[block, column]
            ax.imshow(X_test[column, 0].cpu().numpy(), cmap="gray_r")
            overlay = weights[column].reshape(2, 2).repeat_interleave(4, 0)
            ax.imshow(overlay.repeat_interleave(4, 1).numpy(), cmap="Reds",
                      alpha=0.5, vmin=0, vmax=weights.max().item())
            ax.set_title(f"block {block + 1}: " + " ".join(
                f"{w:.2f}" for w in weights[column].tolist()), fontsize=7)
            ax.axis("off")
    fig.suptitle("Class-token attention over the 4 patches (red = more weight)")
    fig.tight_layout()
    plt.show()

# %% [markdown]
# The small CNN of chapter 9 was held to a higher bar (98%) on the same digits:
# with 1,348 training images a ViT has little data to learn what a convolution
# knows from the start. The patch size is a trade-off too: patches of 2 pixels
# would give 16 tokens and finer detail, but four times the sequence length, 16
# times the attention scores, and more to learn from the same few images. In
# practice ViTs shine when pre-trained on large datasets and fine-tuned (chapter
# 19).
#
# ## 14.5 Depthwise separable convolutions (MobileNet)
#
# Where the ViT spends compute freely, **MobileNet** (Howard et al., 2017) was
# designed to spend as little as possible. A standard $k \times k$ convolution
# from $C_{in}$ to $C_{out}$ channels filters in space and mixes channels at
# once, with $k^2 C_{in} C_{out}$ weights. Chapter 9 split it into
#
# 1. a **depthwise** $k \times k$ convolution, one filter per input channel
#    (`groups=C_in`): $k^2 C_{in}$ weights;
# 2. a **pointwise** $1 \times 1$ convolution that mixes the channels:
#    $C_{in} C_{out}$ weights.
#
# The same factors count the **multiply-adds**: per output pixel, the standard
# convolution does $k^2 C_{in} C_{out}$ of them, the separable pair
# $k^2 C_{in} + C_{in} C_{out}$ (with stride 1, the pointwise layer runs on as
# many pixels as the output has). The ratio is
#
# $$\frac{k^2 C_{in} + C_{in} C_{out}}{k^2 C_{in} C_{out}}
#   = \frac{1}{C_{out}} + \frac{1}{k^2},$$
#
# so with $3 \times 3$ kernels and a few hundred channels a separable layer costs
# about one ninth of a standard one, plus a little. In MobileNets the two
# convolutions have **no bias**: each is followed by batch normalisation, whose
# shift makes a bias redundant (it would be subtracted with the mean). MobileNet
# (v1) also has two global knobs: a *width multiplier* that thins every layer
# and a *resolution multiplier* that shrinks the input, trading accuracy for
# speed.

# %% [markdown]
# ### Exercise 3: `depthwise_separable_params` (2 points)
#
# Count the parameters of a depthwise separable convolution from the formula, as
# a Python `int`, with or without biases. The tests compare with the parameter
# counts of the two `nn.Conv2d` layers it stands for.

# %% grade_id="ch14-depthwise-separable-params"
def depthwise_separable_params(k, c_in, c_out, bias=False):
    """Parameters of a depthwise k x k convolution followed by a 1 x 1 convolution.

    The layers counted are
        nn.Conv2d(c_in, c_in, k, groups=c_in, bias=bias)   # depthwise
        nn.Conv2d(c_in, c_out, 1, bias=bias)               # pointwise
    i.e. k * k * c_in + c_in * c_out weights, plus c_in + c_out biases when
    ``bias`` is true (each layer then has its own bias, as nn.Conv2d's
    default). MobileNets use bias=False (batch norm follows each layer).

    Args:
        k: kernel size, int >= 1 (a square k x k kernel).
        c_in: input channels, int >= 1.
        c_out: output channels, int >= 1.
        bias: bool, whether both convolutions have a bias.

    Returns:
        The number of parameters, a Python int.

    Raises:
        ValueError: if k, c_in or c_out is smaller than 1.
    """
    ### BEGIN SOLUTION
    if min(k, c_in, c_out) < 1:
        raise ValueError(f"k, c_in and c_out must be >= 1, got {k}, {c_in}, {c_out}")
    count = k * k * c_in + c_in * c_out
    return count + c_in + c_out if bias else count
    ### END SOLUTION


# %%
# Try it: the saving for 64 -> 128 channels with 3 x 3 kernels
separable = depthwise_separable_params(3, 64, 128)
standard = count_params(nn.Conv2d(64, 128, 3, bias=False))
print(f"standard {standard:,}, separable {separable:,}: "
      f"{standard / separable:.1f} times fewer")

# %% grade_id="ch14-depthwise-separable-params-tests" points=2
"""depthwise_separable_params: == the parameter count of Conv2d(c_in, c_in, k,
groups=c_in, bias=bias) + Conv2d(c_in, c_out, 1, bias=bias), without and with
biases; a Python int; k = 1 and one channel; ValueError for k, c_in or c_out
< 1."""


def _conv_pair_count(k, c_in, c_out, bias):
    with torch.device("meta"):
        depthwise = nn.Conv2d(c_in, c_in, k, groups=c_in, bias=bias)
        pointwise = nn.Conv2d(c_in, c_out, 1, bias=bias)
    return count_params(depthwise) + count_params(pointwise)


got = depthwise_separable_params(3, 4, 6)
assert isinstance(got, int) and not isinstance(got, bool), (
    f"depthwise_separable_params(3, 4, 6) returned {got!r} of type "
    f"{type(got).__name__}, expected a Python int")
assert got == 9 * 4 + 4 * 6 == 60, f"depthwise_separable_params(3, 4, 6) = {got}, "\
    "expected 9 * 4 + 4 * 6 = 60"
for args in [(3, 32, 64, False), (5, 7, 3, True), (1, 1, 1, True), (3, 16, 16, True),
             (7, 3, 10, False)]:
    got = depthwise_separable_params(*args)
    want = _conv_pair_count(*args)
    assert got == want, (f"depthwise_separable_params{args} = {got!r}, expected "
                         f"{want} (the two nn.Conv2d layers)")
for bad in [(0, 4, 4), (3, 0, 4), (3, 4, 0)]:
    expect_raises(ValueError, depthwise_separable_params, *bad,
                  name=f"depthwise_separable_params{bad}")
### BEGIN HIDDEN TESTS
for _args in [(3, 512, 1024, False), (2, 9, 5, True), (11, 2, 13, True),
              (1, 17, 3, False), (4, 1, 8, False), (3, 960, 160, True)]:
    _got = depthwise_separable_params(*_args)
    assert isinstance(_got, int) and not isinstance(_got, bool), (
        f"depthwise_separable_params{_args} returned a {type(_got).__name__}")
    _want = _conv_pair_count(*_args)
    assert _got == _want, (
        f"depthwise_separable_params{_args} = {_got}, expected {_want}")
assert depthwise_separable_params(5, 3, 8) == depthwise_separable_params(5, 3, 8,
                                                                         False)
for _bad in [(-1, 3, 3), (3, -2, 5), (2, 2, -1, True)]:
    expect_raises(ValueError, depthwise_separable_params, *_bad,
                  name=f"depthwise_separable_params{_bad}")
### END HIDDEN TESTS

# %% [markdown]
# The table compares standard and separable layers at sizes found in real
# MobileNets (no biases). The "saving" column is the measured ratio of the
# counts, the last column the formula $1/C_{out} + 1/k^2$ for the fraction kept.

# %%
print(f"{'k':>2s} {'C_in':>5s} {'C_out':>5s} {'standard':>10s} {'separable':>10s} "
      f"{'saving':>7s} {'1/C_out + 1/k^2':>16s}")
for k, c_in, c_out in [(3, 32, 64), (3, 128, 128), (3, 512, 512), (3, 1024, 1024),
                       (5, 256, 256), (7, 64, 64)]:
    standard = count_params(nn.Conv2d(c_in, c_out, k, bias=False, device="meta"))
    separable = depthwise_separable_params(k, c_in, c_out)
    print(f"{k:2d} {c_in:5d} {c_out:5d} {standard:10,} {separable:10,} "
          f"{standard / separable:6.1f}x {1 / c_out + 1 / k**2:16.4f}")

# %% [markdown]
# ## 14.6 Inverted residuals and linear bottlenecks (MobileNetV2)
#
# MobileNetV2 (Sandler et al., 2018) builds its network from one block, the
# **inverted residual**. A ResNet bottleneck (chapter 9) is wide - narrow - wide:
# it squeezes the channels, filters, and expands back, with the shortcut between
# the wide ends. MobileNetV2 inverts it, narrow - wide - narrow:
#
# 1. **expand**: a $1 \times 1$ convolution from $C_{in}$ to $t\,C_{in}$ channels
#    (the expansion ratio $t$ is usually 6), batch norm, ReLU6;
# 2. **filter**: a $3 \times 3$ depthwise convolution with the block's stride,
#    batch norm, ReLU6;
# 3. **project**: a $1 \times 1$ convolution down to $C_{out}$ channels, batch
#    norm, and **no activation** (the *linear bottleneck*);
# 4. **shortcut**: add the input when the shapes agree, i.e. when the stride is 1
#    and $C_{in} = C_{out}$.
#
# Why this shape? The depthwise convolution is cheap, so it can afford to work in
# the wide space, while the tensors passed between blocks (and kept in memory)
# are the narrow ones. Why no activation at the end? The narrow output is a
# low-dimensional code of the block's information, and a ReLU there would zero
# every negative coordinate and destroy part of it; the paper shows that removing
# it improves accuracy. **ReLU6**, $\min(\max(x, 0), 6)$, caps activations at 6,
# which keeps their range small for low-precision arithmetic on phones. When
# $t = 1$ (the first block of MobileNetV2) there is nothing to expand, and the
# expansion layer is left out.

# %% [markdown]
# ### Exercise 4: `InvertedResidual` (3 points)
#
# Build the block from `nn.Conv2d`, `nn.BatchNorm2d` and `nn.ReLU6` (or
# `F.relu6`). The tests build the same layers, copy their values (random batch
# norm scales, so that activations go above 6) into your parameters and buffers,
# in the order the docstring gives, and compare outputs, running statistics and
# gradients in training and in evaluation mode.

# %% grade_id="ch14-inverted-residual"
class InvertedResidual(nn.Module):
    """MobileNetV2's inverted residual block with a linear bottleneck.

    N is the batch size, C_in = in_channels, C_out = out_channels and
    E = in_channels * expand_ratio the expanded width. Layers, exactly, in
    this order (convolutions without bias, nn.BatchNorm2d with its defaults):

        if expand_ratio != 1:   Conv2d(C_in, E, 1), BatchNorm2d(E), ReLU6
        Conv2d(E, E, 3, stride=stride, padding=1, groups=E), BatchNorm2d(E), ReLU6
        Conv2d(E, C_out, 1), BatchNorm2d(C_out)            # no activation
        out = x + layers(x) if stride == 1 and C_in == C_out else layers(x)

    With expand_ratio == 1 the first line is left out (no expansion layer).
    Create the layers in this order, so that ``list(m.parameters())`` has the
    shapes [(E, C_in, 1, 1), (E,), (E,)] (only when expand_ratio != 1) +
    [(E, 1, 3, 3), (E,), (E,), (C_out, E, 1, 1), (C_out,), (C_out,)] (conv
    weight, then its batch norm's weight and bias), and ``list(m.buffers())``
    holds each batch norm's running_mean, running_var, num_batches_tracked in
    the same order. No other parameters or buffers.

    Args:
        in_channels: C_in, int >= 1.
        out_channels: C_out, int >= 1.
        stride: 1 or 2, the stride of the depthwise convolution.
        expand_ratio: int >= 1.

    Raises:
        ValueError: in __init__, if stride is not 1 or 2.

    forward(x):
        x: (N, C_in, H, W), floating point with the module's dtype and device.
        Returns (N, C_out, H', W') with H' = (H - 1) // stride + 1 (W' alike),
        same dtype and device as x. Training mode uses batch statistics (and
        updates the running ones), evaluation mode the running statistics.
    """

    def __init__(self, in_channels, out_channels, stride, expand_ratio):
        super().__init__()
        ### BEGIN SOLUTION
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, not {stride}")
        hidden = in_channels * expand_ratio
        layers = []
        if expand_ratio != 1:
            layers += [nn.Conv2d(in_channels, hidden, 1, bias=False),
                       nn.BatchNorm2d(hidden), nn.ReLU6()]
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
                   nn.BatchNorm2d(hidden), nn.ReLU6(),
                   nn.Conv2d(hidden, out_channels, 1, bias=False),
                   nn.BatchNorm2d(out_channels)]
        self.layers = nn.Sequential(*layers)
        self.use_shortcut = stride == 1 and in_channels == out_channels
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        out = self.layers(x)
        return x + out if self.use_shortcut else out
        ### END SOLUTION


# %%
# Try it: a block with a shortcut and one that halves the size
for args in [(16, 16, 1, 6), (16, 24, 2, 6), (32, 16, 1, 1)]:
    block = InvertedResidual(*args)
    out = block(torch.randn(2, args[0], 9, 9))
    print(f"InvertedResidual{args}: output {tuple(out.shape)}, "
          f"{count_params(block):,} parameters")

# %% grade_id="ch14-inverted-residual-tests" points=3
"""InvertedResidual: parameter and buffer shapes in the stated order; with the
values of reference layers copied in (batch norm scales large enough that ReLU6
caps activations at 6), outputs, running statistics and gradients == expand -
BN - ReLU6 - depthwise(stride) - BN - ReLU6 - project - BN (+ x only when stride
1 and C_in == C_out), in training and evaluation mode; expand_ratio 1 has no
expansion layer; float64 on `device`; ValueError for stride 3."""


def _reference_block(c_in, c_out, stride, t):
    hidden = c_in * t
    layers = []
    if t != 1:
        layers += [nn.Conv2d(c_in, hidden, 1, bias=False), nn.BatchNorm2d(hidden),
                   nn.ReLU6()]
    layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
               nn.BatchNorm2d(hidden), nn.ReLU6(),
               nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
    return nn.Sequential(*layers)


def _check_inverted(c_in, c_out, stride, t, x_shape, dtype, where, seed):
    name = f"InvertedResidual({c_in}, {c_out}, stride={stride}, expand_ratio={t})"
    gen = torch.Generator().manual_seed(seed)
    ref = _reference_block(c_in, c_out, stride, t)
    mine = InvertedResidual(c_in, c_out, stride, t)
    want_shapes = [tuple(p.shape) for p in ref.parameters()]
    got_shapes = [tuple(p.shape) for p in mine.parameters()]
    assert got_shapes == want_shapes, (
        f"{name}: parameter shapes {got_shapes}, expected {want_shapes}")
    want_buffers = [tuple(b.shape) for b in ref.buffers()]
    got_buffers = [tuple(b.shape) for b in mine.buffers()]
    assert got_buffers == want_buffers, (
        f"{name}: buffer shapes {got_buffers}, expected {want_buffers}")
    with torch.no_grad():
        for module in ref.modules():
            if isinstance(module, nn.Conv2d):
                fan_in = module.weight[0].numel()
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen)
                                    / math.sqrt(fan_in))
            if isinstance(module, nn.BatchNorm2d):  # scales 1..4: ReLU6 caps
                module.weight.copy_(1 + 3 * torch.rand(module.weight.shape,
                                                       generator=gen))
                module.bias.copy_(torch.randn(module.bias.shape, generator=gen))
                module.running_mean.copy_(torch.randn(module.running_mean.shape,
                                                      generator=gen))
                module.running_var.copy_(torch.rand(module.running_var.shape,
                                                    generator=gen) + 0.5)
    ref, mine = ref.to(where, dtype), mine.to(where, dtype)
    with torch.no_grad():
        for a, b in zip(mine.parameters(), ref.parameters(), strict=True):
            a.copy_(b)
        for a, b in zip(mine.buffers(), ref.buffers(), strict=True):
            a.copy_(b)
    x = torch.randn(x_shape, generator=gen, dtype=dtype).to(where)
    shortcut = stride == 1 and c_in == c_out
    tol = 1e-9 if dtype == torch.float64 else 1e-4
    for mode in ("train", "eval"):
        ref.train(mode == "train")
        mine.train(mode == "train")
        x_mine = x.clone().requires_grad_(True)
        x_ref = x.clone().requires_grad_(True)
        got = mine(x_mine)
        want = ref(x_ref) + (x_ref if shortcut else 0)
        label = f"{name} on x {tuple(x.shape)}, {dtype}, {mode} mode"
        assert_close(got, want, rtol=tol, atol=tol, name=label)
        assert got.device == x.device, f"{label}: output on {got.device}"
        for i, (a, b) in enumerate(zip(mine.buffers(), ref.buffers(), strict=True)):
            assert_close(a, b, rtol=tol, atol=tol, name=f"{label}: buffer {i}")
        upstream = torch.randn(want.shape, generator=gen, dtype=dtype).to(where)
        mine.zero_grad()
        ref.zero_grad()
        (got * upstream).sum().backward()
        (want * upstream).sum().backward()
        assert_close(x_mine.grad, x_ref.grad, rtol=tol, atol=tol,
                     name=f"{label}: gradient of x")
        for i, (a, b) in enumerate(zip(mine.parameters(), ref.parameters(),
                                       strict=True)):
            assert_close(a.grad, b.grad, rtol=tol, atol=tol,
                         name=f"{label}: gradient of parameter {i}")


block = InvertedResidual(4, 4, 1, 6)
assert isinstance(block, nn.Module), "InvertedResidual must be an nn.Module"
expect_raises(ValueError, InvertedResidual, 4, 8, 3, 6,
              name="InvertedResidual(4, 8, stride=3, expand_ratio=6)")
_check_inverted(4, 4, 1, 6, (2, 4, 5, 6), torch.float64, device, seed=0)
_check_inverted(3, 5, 2, 1, (2, 3, 7, 6), torch.float32, "cpu", seed=1)
_check_inverted(4, 4, 2, 3, (3, 4, 6, 6), torch.float64, device, seed=2)
_check_inverted(6, 6, 1, 1, (2, 6, 4, 5), torch.float64, device, seed=3)
_check_inverted(2, 3, 1, 2, (1, 2, 5, 5), torch.float64, device, seed=4)
### BEGIN HIDDEN TESTS
for _seed, _args in enumerate([(5, 5, 1, 6, (2, 5, 7, 5)),
                               (3, 7, 2, 4, (1, 3, 9, 8)),
                               (8, 8, 2, 1, (2, 8, 5, 7)),
                               (1, 1, 1, 3, (3, 1, 4, 6)),
                               (6, 2, 1, 2, (2, 6, 3, 3)),
                               (2, 2, 1, 1, (1, 2, 6, 4))]):
    _check_inverted(*_args, torch.float64, device, seed=40 + _seed)
expect_raises(ValueError, InvertedResidual, 8, 8, 0, 6,
              name="InvertedResidual(8, 8, stride=0, expand_ratio=6)")
### END HIDDEN TESTS

# %% [markdown]
# ### A whole MobileNetV2 from your block
#
# MobileNetV2 is a $3 \times 3$ stem convolution with stride 2 and 32 channels,
# then 17 inverted residual blocks grouped in 7 stages, a $1 \times 1$
# convolution to 1280 channels, global average pooling and a linear classifier.
# Each stage is a row $(t, c, n, s)$: $n$ blocks with expansion $t$ and $c$
# output channels, the first of them with stride $s$. The cell builds it from
# your `InvertedResidual` on the `meta` device and counts 3,504,872 parameters,
# the number published for MobileNetV2 (torchvision's `mobilenet_v2`): about 25
# times fewer than ViT-B/16.

# %%
MOBILENET_V2_STAGES = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def mobilenet_v2(num_classes=1000):
    """MobileNetV2 (width 1.0) built from InvertedResidual blocks."""
    layers = [nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6()]
    channels = 32
    for t, c, n, s in MOBILENET_V2_STAGES:
        for i in range(n):
            layers.append(InvertedResidual(channels, c, s if i == 0 else 1, t))
            channels = c
    layers += [nn.Conv2d(channels, 1280, 1, bias=False), nn.BatchNorm2d(1280),
               nn.ReLU6(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2),
               nn.Linear(1280, num_classes)]
    return nn.Sequential(*layers)


with torch.device("meta"):
    mobilenet = mobilenet_v2()
blocks = [m for m in mobilenet if isinstance(m, InvertedResidual)]
print(f"MobileNetV2: {len(blocks)} inverted residual blocks, "
      f"{count_params(mobilenet):,} parameters (published: 3,504,872)")
print(f"ViT-B/16 / MobileNetV2: {86_567_656 / count_params(mobilenet):.1f}")
with torch.no_grad():
    tiny = mobilenet_v2(num_classes=10).eval()  # real weights on the CPU this time
    print("output for a 1 x 3 x 96 x 96 image:", tuple(tiny(torch.randn(1, 3, 96,
                                                                         96)).shape))

# %% [markdown]
# ## 14.7 Compound scaling (EfficientNet)
#
# Given a good small network and more compute, how should it grow? Three knobs
# exist: **depth** (more layers), **width** (more channels) and **resolution**
# (larger input images). Turning one alone saturates quickly: a very deep
# narrow network or a very wide shallow one gains little. EfficientNet (Tan and
# Le, 2019) scales all three together with one coefficient $\phi$:
#
# $$d = \alpha^\phi, \qquad w = \beta^\phi, \qquad r = \gamma^\phi,
#   \qquad \alpha, \beta, \gamma \ge 1,$$
#
# multiplying the number of layers by $d$, the channels by $w$ and the image side
# by $r$.
#
# **Why $\alpha\beta^2\gamma^2 \approx 2$.** The multiply-adds (FLOPs) of a
# convolutional network grow *linearly* with depth (twice the layers, twice the
# work), but *quadratically* with width (a convolution's cost is
# $k^2 C_{in} C_{out}$, and both channel counts grow by $w$) and quadratically
# with resolution (the number of pixels is $H \times W$, both grow by $r$). So
#
# $$\text{FLOPs} \propto d\,w^2 r^2 = \left(\alpha \beta^2 \gamma^2\right)^\phi .$$
#
# Fixing $\alpha\beta^2\gamma^2 \approx 2$ makes each step of $\phi$ roughly
# double the compute, so $\phi$ reads as "$\log_2$ of the compute budget". With
# the constraint in place, the paper's authors searched a small grid at
# $\phi = 1$ on their baseline EfficientNet-B0 (itself found by an architecture
# search, built from inverted residual blocks with squeeze-and-excitation and
# the SiLU activation) and found $\alpha = 1.2$, $\beta = 1.1$, $\gamma = 1.15$:
# $1.2 \cdot 1.1^2 \cdot 1.15^2 \approx 1.92$. Then they kept these and grew
# $\phi$ to obtain B1 to B7.

# %% [markdown]
# ### Exercise 5: `compound_scaling` (2 points)
#
# Return the three multipliers for a given $\phi$ and bases, in the order
# (depth, width, resolution).

# %% grade_id="ch14-compound-scaling"
def compound_scaling(phi, alpha, beta, gamma):
    """EfficientNet's compound scaling multipliers.

    Args:
        phi: the compound coefficient, a real number >= 0 (int or float; need
            not be an integer).
        alpha: the depth base, a float >= 1.
        beta: the width base, a float >= 1.
        gamma: the resolution base, a float >= 1.

    Returns:
        A tuple of three Python floats
        (depth_multiplier, width_multiplier, resolution_multiplier)
        = (alpha ** phi, beta ** phi, gamma ** phi), in this order. The
        compute grows by (alpha * beta**2 * gamma**2) ** phi; it is not
        returned.

    Raises:
        ValueError: if phi < 0, or if alpha, beta or gamma is smaller than 1.
    """
    ### BEGIN SOLUTION
    if phi < 0:
        raise ValueError(f"phi must be >= 0, got {phi}")
    if min(alpha, beta, gamma) < 1:
        raise ValueError(f"alpha, beta and gamma must be >= 1, got "
                         f"{alpha}, {beta}, {gamma}")
    return float(alpha**phi), float(beta**phi), float(gamma**phi)
    ### END SOLUTION


# %%
# Try it: EfficientNet's bases at phi = 1 and phi = 3
for phi in (1, 3):
    depth, width, resolution = compound_scaling(phi, 1.2, 1.1, 1.15)
    flops = depth * width**2 * resolution**2
    print(f"phi = {phi}: depth x{depth:.3f}, width x{width:.3f}, "
          f"resolution x{resolution:.3f}, FLOPs x{flops:.2f}")

# %% grade_id="ch14-compound-scaling-tests" points=2
"""compound_scaling: (alpha**phi, beta**phi, gamma**phi) in the order (depth,
width, resolution), as a tuple of three Python floats; integer and fractional
phi, phi = 0; ValueError for phi < 0 and for a base < 1."""
got = compound_scaling(2, 1.2, 1.1, 1.15)
assert isinstance(got, tuple) and len(got) == 3, (
    f"compound_scaling(2, 1.2, 1.1, 1.15) returned {got!r}, expected a tuple of 3")
assert all(isinstance(v, float) for v in got), (
    f"compound_scaling(2, ...) returned types {[type(v).__name__ for v in got]}, "
    "expected three Python floats")
for name, value, want in zip(("depth", "width", "resolution"), got,
                             (1.44, 1.21, 1.3225), strict=True):
    assert math.isclose(value, want, rel_tol=1e-9), (
        f"compound_scaling(2, 1.2, 1.1, 1.15): {name} multiplier {value}, "
        f"expected {want}")
got = compound_scaling(0.5, 1.44, 1.21, 1.5625)
assert all(math.isclose(v, w, rel_tol=1e-9) for v, w in zip(got, (1.2, 1.1, 1.25),
                                                             strict=True)), (
    f"compound_scaling(0.5, 1.44, 1.21, 1.5625) = {got}, expected (1.2, 1.1, 1.25)")
assert compound_scaling(0, 1.3, 1.2, 1.1) == (1.0, 1.0, 1.0), (
    f"compound_scaling(0, ...) = {compound_scaling(0, 1.3, 1.2, 1.1)}, "
    "expected (1.0, 1.0, 1.0)")
for bad in [(-1, 1.2, 1.1, 1.15), (1, 0.9, 1.1, 1.15), (1, 1.2, 0.95, 1.15),
            (1, 1.2, 1.1, 0.5)]:
    expect_raises(ValueError, compound_scaling, *bad, name=f"compound_scaling{bad}")
### BEGIN HIDDEN TESTS
for _phi, _a, _b, _g in [(1, 1.2, 1.1, 1.15), (7, 1.2, 1.1, 1.15),
                         (2.5, 1.4, 1.05, 1.3), (3, 1.0, 1.0, 1.0),
                         (0.25, 2.0, 1.7, 1.01), (4, 1.1, 1.3, 1.2)]:
    _got = compound_scaling(_phi, _a, _b, _g)
    assert isinstance(_got, tuple) and len(_got) == 3 and all(
        isinstance(_v, float) for _v in _got), (
        f"compound_scaling({_phi}, {_a}, {_b}, {_g}) returned {_got!r}")
    for _name, _v, _w in zip(("depth", "width", "resolution"), _got,
                             (_a**_phi, _b**_phi, _g**_phi), strict=True):
        assert math.isclose(_v, _w, rel_tol=1e-9), (
            f"compound_scaling({_phi}, {_a}, {_b}, {_g}): {_name} multiplier {_v}, "
            f"expected {_w}")
for _bad in [(-0.5, 1.2, 1.1, 1.15), (2, 1.2, 1.1, 0.99), (2, 0.5, 2.0, 2.0)]:
    expect_raises(ValueError, compound_scaling, *_bad, name=f"compound_scaling{_bad}")
### END HIDDEN TESTS

# %% [markdown]
# ### From multipliers to a network
#
# Multipliers must become whole numbers of layers and channels. The reference
# EfficientNet code rounds the repeats of each stage *up*,
# $\lceil d \cdot n \rceil$, and the channels to the nearest multiple of 8
# (hardware likes it), never going more than 10% below $w \cdot c$. The table
# scales B0's stage table (output channels 16, 24, 40, 80, 112, 192, 320 with
# 1, 2, 2, 3, 3, 4, 1 blocks) with $\phi = 0, \dots, 7$ and the paper's bases,
# and shows the input side $224\,\gamma^\phi$ and the FLOPs factor
# $(\alpha\beta^2\gamma^2)^\phi$ next to $2^\phi$. The last columns are the
# coefficients of the released B0 to B7 (width, depth, resolution), which were
# rounded by hand rather than computed exactly from $\phi$: they follow the
# formula in spirit, not to the digit.

# %%
B0_CHANNELS = [16, 24, 40, 80, 112, 192, 320]
B0_REPEATS = [1, 2, 2, 3, 3, 4, 1]
RELEASED = [(1.0, 1.0, 224), (1.0, 1.1, 240), (1.1, 1.2, 260), (1.2, 1.4, 300),
            (1.4, 1.8, 380), (1.6, 2.2, 456), (1.8, 2.6, 528), (2.0, 3.1, 600)]


def round_channels(channels, divisor=8):
    """The nearest multiple of divisor, but at least 90% of channels."""
    rounded = max(divisor, int(channels + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * channels else rounded


print(f"{'phi':>3s} {'depth':>6s} {'width':>6s} {'res':>5s} {'FLOPs':>6s} "
      f"{'2^phi':>6s} {'blocks':>6s} {'last ch':>7s} | released (w, d, res)")
for phi in range(8):
    depth, width, resolution = compound_scaling(phi, 1.2, 1.1, 1.15)
    flops = depth * width**2 * resolution**2
    blocks = sum(math.ceil(depth * n) for n in B0_REPEATS)
    last = round_channels(width * B0_CHANNELS[-1])
    print(f"{phi:3d} {depth:6.2f} {width:6.2f} {round(224 * resolution):5d} "
          f"{flops:6.1f} {2**phi:6d} {blocks:6d} {last:7d} | {RELEASED[phi]}")

# %% [markdown]
# The widget shows what one step of $\phi$ does to each dimension and to the
# compute, for bases of your choice. Move $\phi$, then try to put all the growth
# into one dimension (for example $\alpha = 2$, $\beta = \gamma = 1$) and watch
# the FLOPs factor: the constraint $\alpha\beta^2\gamma^2 = 2$ can be met in many
# ways, and EfficientNet's point is that the balanced one gives the best accuracy
# for the compute.

# %%
def show_scaling(phi=1.0, alpha=1.2, beta=1.1, gamma=1.15):
    """Depth, width and resolution multipliers and the FLOPs factor for phi."""
    phis = torch.linspace(0, 7, 71).tolist()
    curves = [compound_scaling(f, alpha, beta, gamma) for f in phis]
    depth, width, resolution = compound_scaling(phi, alpha, beta, gamma)
    flops = depth * width**2 * resolution**2
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for index, (label, colour) in enumerate([("depth", "C0"), ("width", "C1"),
                                             ("resolution", "C2")]):
        axes[0].plot(phis, [c[index] for c in curves], color=colour, label=label)
    axes[0].plot(phis, [c[0] * c[1] ** 2 * c[2] ** 2 for c in curves], "k",
                 label=r"FLOPs $d w^2 r^2$")
    axes[0].plot(phis, [2**f for f in phis], "k:", label=r"$2^\phi$")
    axes[0].axvline(phi, color="gray", lw=1)
    axes[0].set(yscale="log", xlabel=r"$\phi$", ylabel="multiplier (log scale)",
                title=rf"$\alpha\beta^2\gamma^2$ = {alpha * beta**2 * gamma**2:.3f}")
    axes[0].legend(fontsize=8)
    axes[1].bar(["depth", "width", "resolution", "FLOPs"],
                [depth, width, resolution, flops], color=["C0", "C1", "C2", "k"])
    blocks = sum(math.ceil(depth * n) for n in B0_REPEATS)
    axes[1].set(ylabel="multiplier", title=f"phi = {phi:.1f}: {blocks} blocks, "
                f"{round_channels(width * 320)} channels, "
                f"{round(224 * resolution)} px (from B0: 16, 320, 224)")
    axes[1].title.set_fontsize(9)
    fig.tight_layout()
    plt.show()


interactive_plot(show_scaling, phi=(0.0, 7.0, 0.5), alpha=(1.0, 2.0, 0.05),
                 beta=(1.0, 2.0, 0.05), gamma=(1.0, 2.0, 0.05))

# %% [markdown]
# ## 14.8 Summary
#
# - A ViT cuts an image into $P$ patches of $p \times p$, flattens each in
#   $(C, p, p)$ order and embeds it with one linear map: exactly a convolution of
#   kernel and stride $p$. Flattening with `unfold().view` without moving the
#   channel axis mixes the channels of neighbouring patches, a bug invisible on
#   one-channel images.
# - The ViT prepends a learned class token, adds learned position embeddings,
#   runs pre-norm encoder blocks and classifies the class token after a final
#   LayerNorm. ViT-B/16 has 86,567,656 parameters, most of them in the blocks'
#   MLPs. Without position embeddings it would ignore the layout of the image.
# - ViTs lack the convolution's built-in locality; they need much data (or
#   strong augmentation and distillation) and become strong when pre-trained at
#   scale.
# - A depthwise separable convolution keeps a fraction $1/C_{out} + 1/k^2$ of a
#   standard convolution's weights and multiply-adds.
# - MobileNetV2's inverted residual block expands, filters depthwise and
#   projects linearly, with a shortcut when the shapes agree; 17 of them make a
#   network of 3.5 million parameters.
# - EfficientNet scales depth, width and resolution as $\alpha^\phi, \beta^\phi,
#   \gamma^\phi$ with $\alpha\beta^2\gamma^2 \approx 2$, so that the compute
#   doubles with each step of $\phi$.
#
# **Next:** chapter 15 turns to the data side of training: datasets, batching
# of variable-length inputs and feature scaling, fitted on the training set only.
