# %% [markdown]
# # Chapter 01: Linear algebra
#
# A neural network is mostly linear algebra. A fully connected layer multiplies its
# input by a weight matrix and adds a bias; a convolution is a matrix product in
# disguise; attention compares vectors with dot products; and the tools we use to
# look inside a trained network (principal components, eigenvalues of a Hessian,
# singular values of a weight matrix) all come from the same toolbox. The
# non-linear activations between the layers are what make a network more than one
# big matrix, but almost all the arithmetic, and almost all the running time, is
# linear algebra. In this chapter you build that toolbox yourself, in PyTorch.
#
# **You will learn**
# - the dot product, the L2 norm and the cosine similarity, written along the last
#   dimension so that they work on whole batches;
# - how shapes and broadcasting work, and why a linear layer stores its weight as
#   `(out_features, in_features)`;
# - eigenvalues and eigenvectors of symmetric matrices, and how power iteration
#   finds the dominant one;
# - the singular value decomposition, the rank and the condition number of a
#   matrix, and the best low-rank approximation (Eckart-Young);
# - principal component analysis, and why the SVD is the accurate way to compute it.
#
# **Graded exercises** (14 points)
#
# | exercise | points | checked against |
# |---|---|---|
# | 1. `dot(x, y)` | 2 | `torch.linalg.vecdot` |
# | 2. `l2_norm(x)` | 1 | `torch.linalg.vector_norm` |
# | 3. `cosine_similarity(x, y)` | 2 | `F.cosine_similarity` |
# | 4. `power_iteration(A, num_iters)` | 3 | `torch.linalg.eigh` |
# | 5. `low_rank_approx(A, k)` | 3 | matrices with a known SVD |
# | 6. `pca(X, k)` | 3 | `torch.linalg.svd` |
#
# **How the exercises work.** Each exercise is a function whose docstring states
# its whole contract: the shape and dtype of every argument and of the result, the
# edge cases, and the built-ins you may not call. Replace
# `raise NotImplementedError()` with your code, run the cell, then run the test
# cell below it. The visible tests show every rule the grader checks (a forbidden
# built-in, `float64`, the device, batches, the edge cases); hidden tests, run
# when your notebook is graded, repeat them on other values, shapes and seeds and
# compare your function with PyTorch's own in `float64`.
#
# **Notation.** Vectors are bold lower case ($\mathbf{x}$), matrices upper case
# ($W$). In shapes, `D` is the length of a vector (the number of features), `N` the
# number of vectors in a batch, and `...` any number of leading batch dimensions
# (possibly none).

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from ipywidgets import FloatSlider
from sklearn.datasets import load_sample_image

from dlcourse import get_device
from dlcourse.checks import (
    COSINE_SIMILARITIES,
    DOT_PRODUCTS,
    EIGENSOLVERS,
    NORMS,
    PCA_ROUTINES,
    assert_close,
    assert_shape,
    expect_raises,
    forbid,
    random_symmetric,
)
from dlcourse.data import load_digits
from dlcourse.widgets import interactive_plot

device = get_device()  # the tests also run your code on this device
torch.set_printoptions(precision=4, sci_mode=False)
print("device:", device)

# %% [markdown]
# ## 1.1 Vectors and tensors
#
# A vector $\mathbf{x} = (x_1, \dots, x_D)$ is a list of $D$ numbers. Geometrically
# it is an arrow from the origin to a point of $\mathbb{R}^D$; in machine learning
# it is usually a description of one example: the 64 pixel intensities of an
# 8x8 image, the 30 measurements of a tumour, the 768 coordinates of a word
# embedding.
#
# In PyTorch a vector is a 1-D tensor, and a batch of $N$ vectors is a 2-D tensor
# of shape `(N, D)`: **one example per row**. Every tensor has a `shape`, a `dtype`
# (`float32` by default, `float64` when precision matters) and a `device` (CPU or
# a GPU). Operations between tensors need matching dtypes and devices.
#
# The two operations that make a set of vectors a *vector space* work elementwise:
# addition $\mathbf{x} + \mathbf{y} = (x_1 + y_1, \dots, x_D + y_D)$ and scaling
# $c\,\mathbf{x} = (c x_1, \dots, c x_D)$.

# %%
x = torch.tensor([1.0, 2.0, 3.0])
y = torch.tensor([4.0, -5.0, 6.0])
print("x + y   =", x + y)
print("2.5 * x =", 2.5 * x)
print("x * y   =", x * y, "(elementwise, not a dot product)")
print("shape", tuple(x.shape), "| dtype", x.dtype, "| device", x.device)
X = torch.stack([x, y, x + y])  # a batch of 3 vectors, one per row
print("batch shape:", tuple(X.shape))

# %% [markdown]
# ## 1.2 The dot product
#
# The dot product (inner product) of two vectors of the same length multiplies
# them coordinate by coordinate and adds everything up:
#
# $$\langle \mathbf{x}, \mathbf{y} \rangle = \mathbf{x} \cdot \mathbf{y}
#   = \sum_{i=1}^{D} x_i\, y_i .$$
#
# It is the single most important operation in deep learning: every output of a
# linear layer is a dot product between the input and a row of weights, and
# attention scores are dot products between queries and keys.
#
# **Geometry.** If $\theta$ is the angle between the two arrows and
# $\lVert\mathbf{x}\rVert$ the length of $\mathbf{x}$ (section 1.3), then
#
# $$\mathbf{x} \cdot \mathbf{y} = \lVert\mathbf{x}\rVert\,\lVert\mathbf{y}\rVert
#   \cos\theta .$$
#
# So the dot product is positive when the vectors point roughly the same way,
# zero when they are perpendicular (*orthogonal*), and negative when they point
# away from each other. When $\mathbf{u}$ has length 1, $\mathbf{x}\cdot\mathbf{u}$
# is the signed length of the shadow of $\mathbf{x}$ on the line through
# $\mathbf{u}$: the *projection* that PCA uses in section 1.9.
#
# **Batches.** We want one function for one pair of vectors and for whole
# batches of pairs, the way PyTorch functions work: the dot product is taken
# along the **last** dimension, and the leading dimensions broadcast (section 1.5
# explains broadcasting). `torch.dot` only accepts two 1-D tensors, which is why
# layers never use it.
#
#
# ### Exercise 1: `dot` (2 points)
# Write `dot(x, y)` with elementwise multiplication and a sum. Every built-in dot
# or matrix product is forbidden: `torch.dot`, `torch.vdot`, `torch.inner`,
# `torch.linalg.vecdot`, `torch.matmul`, `torch.mm`, `torch.mv`, `torch.bmm`,
# `torch.tensordot`, `torch.einsum`, `F.linear`, the `@` operator and their numpy
# twins (the group `DOT_PRODUCTS` of `dlcourse.checks`). The tests make them raise.

# %% grade_id="ch01-dot"
def dot(x, y):
    """Dot product of x and y along their last dimension.

    Args:
        x: float tensor of shape (..., D).
        y: float tensor of shape (..., D), same D, same dtype and device as x.
            The leading dimensions of x and y broadcast against each other, as in
            ``x * y``: shapes (4, 1, D) and (3, D) give a result of shape (4, 3).

    Returns:
        Tensor of shape (...), the broadcast leading shape, with the dtype and
        device of x: ``result[...] = sum over i of x[..., i] * y[..., i]``.
        Two 1-D inputs of shape (D,) give a 0-d tensor (a scalar tensor), like
        ``torch.dot``. D may be 0: the empty sum is 0.

    Do not call a built-in dot or matrix product (dlcourse.checks.DOT_PRODUCTS:
    torch.dot, torch.matmul, torch.einsum, the @ operator, numpy.dot, ...).
    """
    ### BEGIN SOLUTION
    return (x * y).sum(dim=-1)
    ### END SOLUTION


# %% [markdown]
# Try it: the two vectors of section 1.1 and a batch.

# %%
print("dot(x, y) =", dot(x, y), "  torch.dot gives", torch.dot(x, y))
print("dot(X, X) =", dot(X, X), "(each row of X with itself)")

# %% grade_id="ch01-dot-tests" points=2
"""dot: sums of products on vectors and batches, broadcasting, empty vectors,
float64 on the device kept, and no built-in dot or matrix product (DOT_PRODUCTS)."""
x = torch.tensor([1.0, 2.0, 3.0])
y = torch.tensor([4.0, -5.0, 6.0])
X = torch.tensor([[1.0, 0.0], [0.0, 2.0], [3.0, 4.0]])  # 3 pairs of 2-D vectors
Y = torch.tensor([[5.0, 6.0], [7.0, 8.0], [1.0, 1.0]])
x64 = torch.tensor([[0.5, -1.0, 2.0]], dtype=torch.float64, device=device)  # (1, 3)
y64 = torch.tensor([[2.0, 1.0, 0.25], [1.0, 1.0, 1.0]], dtype=torch.float64,
                   device=device)  # (2, 3)
with forbid(*DOT_PRODUCTS):
    got_xy, got_xx, got_batch = dot(x, y), dot(x, x), dot(X, Y)
    got_broadcast = dot(X[:, None, :], Y[:2])  # (3, 1, 2) with (2, 2)
    got_empty = dot(torch.zeros(0), torch.zeros(0))
    got_64 = dot(x64, y64)  # (1, 3) with (2, 3) -> (2,)
assert_close(got_xy, torch.tensor(12.0), name="dot([1, 2, 3], [4, -5, 6])")
assert_close(got_xx, torch.tensor(14.0), name="dot([1, 2, 3], [1, 2, 3])")
assert_close(got_batch, torch.tensor([5.0, 16.0, 7.0]),
             name="dot of a batch of 3 pairs (one dot product per row)")
assert_close(got_broadcast, torch.tensor([[5.0, 7.0], [12.0, 16.0], [39.0, 53.0]]),
             name="dot of shapes (3, 1, 2) and (2, 2) (broadcast to (3, 2))")
assert_close(got_empty, torch.tensor(0.0), name="dot of two empty vectors (D = 0)")
assert got_64.device == x64.device, f"dot: result on {got_64.device}, not {device}"
assert_close(got_64, torch.tensor([0.5, 1.5], dtype=torch.float64, device=device),
             rtol=1e-12, atol=1e-12,
             name="dot of float64 shapes (1, 3) and (2, 3) on the device")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(101)
for _shape_x, _shape_y in [((7,), (7,)), ((1, 5), (1, 5)), ((3, 5), (3, 5)),
                           ((4, 1, 6), (3, 6)), ((2, 3, 9), (9,)), ((1,), (1,)),
                           ((5, 0), (5, 0))]:
    _a = torch.randn(_shape_x, generator=_gen, dtype=torch.float64).to(device)
    _b = torch.randn(_shape_y, generator=_gen, dtype=torch.float64).to(device)
    with forbid(*DOT_PRODUCTS):
        _got = dot(_a, _b)
    assert_close(_got, torch.linalg.vecdot(_a, _b), rtol=1e-10, atol=1e-12,
                 name=f"dot on float64 shapes {_shape_x} and {_shape_y}")
    assert _got.device == _a.device, f"dot: result on {_got.device}, not {device}"
_a = torch.randn(5, 8, generator=_gen).to(device)
_b = torch.randn(5, 8, generator=_gen).to(device)
with forbid(*DOT_PRODUCTS):
    _got = dot(_a, _b)
assert _got.device == _a.device, f"dot: expected device {_a.device}, got {_got.device}"
assert_close(_got, torch.linalg.vecdot(_a.double(), _b.double()).float(), rtol=1e-5,
             atol=1e-5, name="dot on float32 input (dtype must stay float32)")
### END HIDDEN TESTS

# %% [markdown]
# ## 1.3 The length of a vector: norms
#
# The Euclidean length, or **L2 norm**, of a vector comes from Pythagoras and
# from the dot product of the vector with itself:
#
# $$\lVert\mathbf{x}\rVert_2 = \sqrt{\mathbf{x}\cdot\mathbf{x}}
#   = \sqrt{\textstyle\sum_i x_i^2}.$$
#
# The distance between two points is the norm of their difference,
# $\lVert\mathbf{x} - \mathbf{y}\rVert_2$. Dividing a non-zero vector by its norm
# gives a **unit vector** pointing the same way. Other norms appear too: the L1
# norm $\lVert\mathbf{x}\rVert_1 = \sum_i |x_i|$ (lasso regularisation) and the
# max norm $\lVert\mathbf{x}\rVert_\infty = \max_i |x_i|$. Weight decay penalises
# the squared L2 norm of the weights; gradient clipping rescales a gradient whose
# L2 norm is too large.
#
# *A deprecated API.* Older tutorials write `torch.norm(x)`. PyTorch deprecated
# it (its meaning depends on the shape of the input in surprising ways): use
# `torch.linalg.vector_norm(x, ord=2, dim=-1)` for vectors and
# `torch.linalg.matrix_norm` for matrices.
#
# ### Exercise 2: `l2_norm` (1 point)
# Compute the L2 norm along the last dimension with elementary operations. The
# built-in norms and distances are forbidden: `torch.norm`, `Tensor.norm`,
# `torch.linalg.norm`, `torch.linalg.vector_norm`, `torch.dist`, `torch.cdist`,
# `F.normalize`, `numpy.linalg.norm`... (the group `NORMS`).

# %% grade_id="ch01-l2-norm"
def l2_norm(x):
    """Euclidean (L2) norm of x along its last dimension.

    Args:
        x: float tensor of shape (..., D).

    Returns:
        Tensor of shape (...) with the dtype and device of x:
        ``sqrt(sum over i of x[..., i] ** 2)``. A 1-D input gives a 0-d tensor.
        The zero vector has norm 0 (not NaN), and so does an empty vector (D = 0).

    Do not call a built-in norm or distance (dlcourse.checks.NORMS:
    torch.linalg.vector_norm, torch.norm, Tensor.norm, F.normalize, ...).
    """
    ### BEGIN SOLUTION
    return x.square().sum(dim=-1).sqrt()
    ### END SOLUTION


# %%
points = torch.tensor([[3.0, 4.0], [1.0, 1.0], [0.0, 0.0]])  # (3, 2)
print("norms of the rows:", l2_norm(points))
print("distance from the first point to the second:", l2_norm(points[0] - points[1]))
print("unit vector along [3, 4]:", points[0] / l2_norm(points[0]))

# %% grade_id="ch01-l2-norm-tests" points=1
"""l2_norm: Pythagoras, one norm per row, zero and empty vectors give 0, float64 on
the device kept, and no built-in norm (NORMS)."""
batch = torch.tensor([[3.0, 4.0], [0.0, 0.0], [1.0, -1.0]])
x64 = torch.tensor([[[2.0, -3.0, 6.0]], [[1.0, 4.0, 8.0]]], dtype=torch.float64,
                   device=device)  # (2, 1, 3)
with forbid(*NORMS):
    got_one, got_batch = l2_norm(torch.tensor([3.0, 4.0])), l2_norm(batch)
    got_empty, got_64 = l2_norm(torch.zeros(0)), l2_norm(x64)
assert_close(got_one, torch.tensor(5.0), name="l2_norm([3, 4])")
assert_close(got_batch, torch.tensor([5.0, 0.0, 2.0 ** 0.5]),
             name="l2_norm of rows [3, 4], [0, 0] (the zero vector), [1, -1]")
assert_close(got_empty, torch.tensor(0.0), name="l2_norm of an empty vector (D = 0)")
assert got_64.device == x64.device, f"l2_norm: result on {got_64.device}, not {device}"
assert_close(got_64, torch.tensor([[7.0], [9.0]], dtype=torch.float64, device=device),
             rtol=1e-12, atol=1e-12, name="l2_norm of float64 (2, 1, 3) on the device")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(102)
for _shape in [(7,), (1, 5), (3, 5), (2, 3, 9), (1,), (4, 0)]:
    _a = torch.randn(_shape, generator=_gen, dtype=torch.float64).to(device)
    with forbid(*NORMS):
        _got = l2_norm(_a)
    assert_close(_got, torch.linalg.vector_norm(_a, dim=-1), rtol=1e-10, atol=1e-12,
                 name=f"l2_norm on float64 shape {_shape}")
    assert _got.device == _a.device, f"l2_norm: result on {_got.device}, not {device}"
with forbid(*NORMS):
    _got = l2_norm(torch.zeros(4, 3, dtype=torch.float64))
assert_close(_got, torch.zeros(4, dtype=torch.float64), name="l2_norm of zero vectors")
_a = torch.randn(6, 4, generator=_gen).to(device)
with forbid(*NORMS):
    _got = l2_norm(_a)
assert _got.device == _a.device, f"l2_norm: expected {_a.device}, got {_got.device}"
assert_close(_got, torch.linalg.vector_norm(_a.double(), dim=-1).float(), rtol=1e-5,
             atol=1e-6, name="l2_norm on float32 input (dtype must stay float32)")
### END HIDDEN TESTS

# %% [markdown]
# ## 1.4 The angle between two vectors: cosine similarity
#
# Solving the geometric formula of section 1.2 for the angle gives the **cosine
# similarity**
#
# $$\cos\theta = \frac{\mathbf{x}\cdot\mathbf{y}}
#   {\lVert\mathbf{x}\rVert_2\,\lVert\mathbf{y}\rVert_2} \in [-1, 1].$$
#
# It is 1 for vectors pointing the same way, 0 for orthogonal vectors and -1 for
# opposite ones, and it ignores length: $\cos(3\mathbf{x}, \mathbf{y}) =
# \cos(\mathbf{x}, \mathbf{y})$. That makes it the standard way to compare
# embeddings (search engines, CLIP, sentence similarity), where the direction
# carries the meaning and the length mostly does not.
#
# **The zero vector** has no direction, so the formula divides 0 by 0. A NaN
# would spread through every later computation, so we define the result to be
# **0** whenever $\mathbf{x}$ or $\mathbf{y}$ is the zero vector. A simple way to
# get exactly that: divide by $\max(\lVert\mathbf{x}\rVert\,\lVert\mathbf{y}\rVert,
# \varepsilon)$ with a tiny $\varepsilon$ (the numerator is 0 anyway).
# `F.cosine_similarity` does something similar with $\varepsilon = 10^{-8}$.
# Beware of its default `dim=1`: ours always works along the last dimension.
#
# ### Exercise 3: `cosine_similarity` (2 points)
# Build it from your own `dot` and `l2_norm` (or from elementwise operations). As
# in the two exercises above, the built-in products and norms are forbidden here
# (`DOT_PRODUCTS` and `NORMS`, which your `dot` and `l2_norm` do not call), and so
# are `F.cosine_similarity` and `torch.cosine_similarity` (`COSINE_SIMILARITIES`).

# %% grade_id="ch01-cosine"
def cosine_similarity(x, y):
    """Cosine of the angle between x and y, along their last dimension.

    Args:
        x: float tensor of shape (..., D).
        y: float tensor of shape (..., D), same D, dtype and device as x; the
            leading dimensions broadcast as in ``dot``.

    Returns:
        Tensor of shape (...) (the broadcast leading shape) with the dtype and
        device of x, values in [-1, 1] up to rounding:
        ``dot(x, y) / (l2_norm(x) * l2_norm(y))``.
        Where x or y is the zero vector the result is exactly 0, never NaN.
        (Vectors whose norms are tiny but not zero are not tested: dividing by
        ``max(norm_x * norm_y, eps)`` with eps around 1e-8 is fine.)

    Do not call a built-in cosine similarity, dot product or norm
    (dlcourse.checks.COSINE_SIMILARITIES, DOT_PRODUCTS, NORMS); your own dot
    and l2_norm are fine.
    """
    ### BEGIN SOLUTION
    numerator = dot(x, y)
    denominator = l2_norm(x) * l2_norm(y)
    # A zero vector gives 0 / 0; clamping the denominator turns it into 0 / tiny = 0.
    return numerator / denominator.clamp_min(torch.finfo(denominator.dtype).tiny)
    ### END SOLUTION


# %% [markdown]
# Try it on real data. The cell below averages the images of each digit (0 to 9)
# of the handwritten digits dataset into ten 64-pixel vectors and compares every
# class mean with every other. Broadcasting a `(10, 1, 64)` tensor against a
# `(10, 64)` one gives all 100 pairs at once. Which digits look most alike?

# %%
digits_X, digits_y = load_digits()  # (1797, 64) in [0, 1], labels (1797,)
class_means = torch.stack([digits_X[digits_y == c].mean(dim=0) for c in range(10)])
similarity = cosine_similarity(class_means[:, None, :], class_means)  # (10, 10)
fig, ax = plt.subplots(figsize=(4.8, 4))
image = ax.imshow(similarity, cmap="viridis")
ax.set_xticks(range(10))
ax.set_yticks(range(10))
ax.set_title("cosine similarity of the mean digit images")
fig.colorbar(image, ax=ax)
plt.show()

# %% grade_id="ch01-cosine-tests" points=2
"""cosine_similarity: parallel, opposite and orthogonal vectors, a value by hand,
zero vectors give 0 (alone and inside a batch), broadcasting, float64 on the
device kept, and no built-in cosine similarity, dot product or norm."""
_banned = (*COSINE_SIMILARITIES, *DOT_PRODUCTS, *NORMS)
x = torch.tensor([1.0, 2.0, 2.0])
y = torch.tensor([3.0, 0.0, 4.0])
with forbid(*_banned):
    got_same, got_opposite = cosine_similarity(x, 3.0 * x), cosine_similarity(x, -x)
    got_orthogonal = cosine_similarity(x, torch.tensor([2.0, -1.0, 0.0]))
    got_xy, got_zero = cosine_similarity(x, y), cosine_similarity(torch.zeros(3), y)
assert_close(got_same, torch.tensor(1.0), name="cosine of x and 3x (same direction)")
assert_close(got_opposite, torch.tensor(-1.0), name="cosine of x and -x")
assert_close(got_orthogonal, torch.tensor(0.0), atol=1e-7,
             name="cosine of orthogonal vectors")
assert_close(got_xy, torch.tensor(11.0 / 15.0),
             name="cosine([1, 2, 2], [3, 0, 4]) = 11 / (3 * 5)")
assert_close(got_zero, torch.tensor(0.0), name="cosine with the zero vector (0)")
rows = torch.tensor([[1.0, 2.0, 2.0], [0.0, 0.0, 0.0], [0.0, 3.0, 4.0]],
                    dtype=torch.float64, device=device)  # (3, 3); row 1 is zero
others = torch.tensor([[[3.0, 0.0, 4.0]], [[-2.0, -4.0, -4.0]]], dtype=torch.float64,
                      device=device)  # (2, 1, 3)
with forbid(*_banned):
    got_64 = cosine_similarity(rows, others)  # (3, 3) with (2, 1, 3) -> (2, 3)
assert got_64.device == rows.device, f"result on {got_64.device}, not {device}"
assert_close(got_64, torch.tensor([[11 / 15, 0.0, 16 / 25], [-1.0, 0.0, -28 / 30]],
                                  dtype=torch.float64, device=device),
             rtol=1e-12, atol=1e-12,
             name="cosine_similarity of float64 shapes (3, 3) and (2, 1, 3) on the "
                  "device (row 1 is the zero vector)")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(103)
for _shape_x, _shape_y in [((7,), (7,)), ((1, 5), (1, 5)), ((3, 5), (3, 5)),
                           ((4, 1, 6), (3, 6)), ((2, 3, 9), (9,))]:
    _a = torch.randn(_shape_x, generator=_gen, dtype=torch.float64).to(device)
    _b = torch.randn(_shape_y, generator=_gen, dtype=torch.float64).to(device)
    with forbid(*_banned):
        _got = cosine_similarity(_a, _b)
    assert_close(_got, F.cosine_similarity(_a, _b, dim=-1), rtol=1e-9, atol=1e-12,
                 name=f"cosine_similarity on float64 shapes {_shape_x} and {_shape_y}")
    assert _got.device == _a.device, f"result on {_got.device}, not {device}"
_a = torch.randn(4, 5, generator=_gen, dtype=torch.float64)
_b = torch.randn(4, 5, generator=_gen, dtype=torch.float64)
_a[1] = 0.0
_b[2] = 0.0
_expected = F.cosine_similarity(_a, _b, dim=-1)
_expected[1:3] = 0.0
with forbid(*_banned):
    _got = cosine_similarity(_a, _b)
assert_close(_got, _expected, rtol=1e-9, atol=1e-12,
             name="cosine_similarity of a batch whose rows 1 (x) and 2 (y) are zero")
with forbid(*_banned):
    _got = cosine_similarity(torch.zeros(3, dtype=torch.float64),
                             torch.zeros(3, dtype=torch.float64))
assert_close(_got, torch.tensor(0.0, dtype=torch.float64),
             name="cosine_similarity of two zero vectors")
_a = 100.0 * torch.randn(3, 4, generator=_gen, dtype=torch.float64)
with forbid(*_banned):
    _got = cosine_similarity(_a, 0.01 * _a)
assert_close(_got, torch.ones(3, dtype=torch.float64), rtol=1e-9, atol=1e-12,
             name="cosine_similarity(x, 0.01 x) with large x")
_a = torch.randn(6, 4, generator=_gen).to(device)
_b = torch.randn(6, 4, generator=_gen).to(device)
with forbid(*_banned):
    _got = cosine_similarity(_a, _b)
assert _got.device == _a.device, f"result on {_got.device}, not {device}"
assert_close(_got, F.cosine_similarity(_a.double(), _b.double(), dim=-1).float(),
             rtol=1e-5, atol=1e-6,
             name="cosine_similarity on float32 input (dtype must stay float32)")
### END HIDDEN TESTS

# %% [markdown]
# ## 1.5 Matrices, shapes and broadcasting
#
# A matrix $W \in \mathbb{R}^{m \times n}$ has $m$ rows and $n$ columns; in
# PyTorch it is a 2-D tensor of shape `(m, n)`. The product of a matrix with a
# vector, $\mathbf{y} = W\mathbf{x}$ with $\mathbf{x} \in \mathbb{R}^n$, can be
# read in two ways, and both are worth keeping in mind:
#
# * **Row view**: each output is a dot product with one row of $W$,
#   $y_i = \sum_j W_{ij} x_j = W_{i,:} \cdot \mathbf{x}$. Row $i$ of a layer's
#   weights is a *template* that output $i$ matches the input against.
# * **Column view**: the output is a mix of the columns of $W$,
#   $\mathbf{y} = x_1 W_{:,1} + \dots + x_n W_{:,n}$. Every possible output lies
#   in the span of the columns.
#
# The product of two matrices, $(AB)_{ik} = \sum_j A_{ij} B_{jk}$, needs the inner
# sizes to agree: `(m, n) @ (n, p) -> (m, p)`. It is the composition of the two
# maps: applying $B$ and then $A$ is the same as applying $AB$. The transpose
# $W^\top$ swaps rows and columns; in PyTorch `W.T` (2-D) or `W.mT` (the last two
# dimensions of a batch of matrices).

# %%
W = torch.tensor([[1.0, 0.0, 2.0],
                  [0.0, 3.0, -1.0]])  # (2, 3): maps R^3 to R^2
v = torch.tensor([1.0, 2.0, 3.0])
row_view = torch.stack([torch.dot(W[0], v), torch.dot(W[1], v)])
column_view = v[0] * W[:, 0] + v[1] * W[:, 1] + v[2] * W[:, 2]
print("W @ v       =", W @ v)
print("row view    =", row_view)
print("column view =", column_view)

# %% [markdown]
# **Broadcasting** lets PyTorch combine tensors of different shapes without
# copying data. Compare the shapes from the right; two sizes are compatible when
# they are equal or one of them is 1 (a missing dimension counts as 1); the result
# takes the larger size. So `(3, 1) + (4,)` gives `(3, 4)`, and `(N, D) - (D,)`
# subtracts one vector from every row, which is how we will centre data for PCA.
#
# Broadcasting is also the source of one of the nastiest silent bugs in deep
# learning: a prediction of shape `(N,)` compared with targets of shape `(N, 1)`
# broadcasts to an `(N, N)` matrix of every prediction against every target. The
# loss is a number either way, so nothing crashes; the model just learns the
# wrong thing. Print your shapes.

# %%
col = torch.arange(3.0).reshape(3, 1)  # (3, 1)
row = torch.arange(4.0)                # (4,)
print("(3, 1) + (4,) ->", tuple((col + row).shape))

predictions = torch.tensor([1.0, 2.0, 3.0])       # (N,)
targets = torch.tensor([[1.0], [2.0], [3.0]])     # (N, 1): same values
wrong_mse = ((predictions - targets) ** 2).mean()  # (N, N) before the mean
right_mse = ((predictions - targets.squeeze(1)) ** 2).mean()
print(f"mse with shapes (3,) and (3, 1): {wrong_mse:.3f} (should be 0)")
print(f"mse after squeeze(1):           {right_mse:.3f}")

# %% [markdown]
# ## 1.6 A linear layer is a matrix product
#
# A fully connected layer with `in_features` inputs and `out_features` outputs
# computes an affine map
#
# $$\mathbf{y} = W\mathbf{x} + \mathbf{b}, \qquad
#   W \in \mathbb{R}^{\text{out} \times \text{in}},\;
#   \mathbf{b} \in \mathbb{R}^{\text{out}}.$$
#
# PyTorch stores a batch as **rows**: `x` has shape `(N, in)`. Transposing the
# formula for each row gives the batched form used by `nn.Linear` and
# `F.linear`:
#
# $$Y = X W^\top + \mathbf{b}, \qquad
#   \underbrace{(N, \text{out})}_{Y} = \underbrace{(N, \text{in})}_{X}
#   \,\underbrace{(\text{in}, \text{out})}_{W^\top}
#   + \underbrace{(\text{out},)}_{\mathbf{b}\text{, broadcast over rows}}.$$
#
# That is why `nn.Linear(in_features, out_features).weight` has shape
# `(out_features, in_features)`: row $i$ holds the weights of output $i$.
# Writing `W @ x` for a batch, as many first attempts do, is wrong twice: the
# shapes do not fit, and when they happen to (square `W`) it silently mixes the
# examples of the batch instead of their features.
#
# `F.linear(x, W, b)` computes exactly `x @ W.T + b`, and `nn.Linear` stores `W` and
# `b` and calls `F.linear`; chapter 00's `dense_forward` wrote the same formula. The
# cell below checks it against a real `nn.Linear`, on a batch and on one vector.

# %%
torch.manual_seed(0)
layer = torch.nn.Linear(in_features=3, out_features=2)
batch = torch.randn(4, 3)  # N = 4 examples with 3 features each
with torch.no_grad():
    by_hand = batch @ layer.weight.T + layer.bias  # (4, 3) @ (3, 2) + (2,)
    by_layer = layer(batch)
    single = F.linear(batch[0], layer.weight, layer.bias)  # one vector: shape (2,)
print("weight shape:", tuple(layer.weight.shape), "| output shape:",
      tuple(by_hand.shape))
print("max difference from nn.Linear:", (by_hand - by_layer).abs().max().item())
print("a single vector gives shape", tuple(single.shape), "and the first row:",
      torch.allclose(single, by_layer[0]))

# %% [markdown]
# **Why networks need non-linearities.** Two linear layers in a row are still a
# single linear layer: $W_2(W_1\mathbf{x} + \mathbf{b}_1) + \mathbf{b}_2 =
# (W_2 W_1)\mathbf{x} + (W_2\mathbf{b}_1 + \mathbf{b}_2)$. Stacking a hundred of
# them adds parameters but no expressive power. An activation such as ReLU between
# the layers breaks this collapse; the cell below checks both statements.

# %%
torch.manual_seed(1)
W1, b1 = torch.randn(8, 3), torch.randn(8)
W2, b2 = torch.randn(2, 8), torch.randn(2)
inputs = torch.randn(5, 3)
two_layers = (inputs @ W1.T + b1) @ W2.T + b2
one_layer = inputs @ (W2 @ W1).T + (W2 @ b1 + b2)
with_relu = torch.relu(inputs @ W1.T + b1) @ W2.T + b2
print("two linear layers == one:", torch.allclose(two_layers, one_layer, atol=1e-5))
print("with a ReLU between them:", torch.allclose(with_relu, one_layer, atol=1e-5))

# %% [markdown]
# ## 1.7 Eigenvectors and eigenvalues
#
# Most vectors change direction when a matrix acts on them. An **eigenvector**
# of a square matrix $A$ is a non-zero vector that only gets scaled:
#
# $$A\mathbf{v} = \lambda \mathbf{v},$$
#
# and the scale factor $\lambda$ is its **eigenvalue**. Along an eigenvector the
# matrix is as simple as a number: it stretches ($|\lambda| > 1$), shrinks
# ($|\lambda| < 1$) or flips ($\lambda < 0$).
#
# **Symmetric matrices** ($A = A^\top$) are the ones we meet most: covariance
# matrices, Hessians of a loss, $W^\top W$ for a weight matrix. The *spectral
# theorem* says that a symmetric $D \times D$ matrix has $D$ real eigenvalues and
# an orthonormal basis of eigenvectors $\mathbf{q}_1, \dots, \mathbf{q}_D$:
#
# $$A = Q \Lambda Q^\top = \sum_{i=1}^{D} \lambda_i\, \mathbf{q}_i \mathbf{q}_i^\top,
#   \qquad Q = [\mathbf{q}_1 \cdots \mathbf{q}_D],\;
#   Q^\top Q = I,\; \Lambda = \operatorname{diag}(\lambda_1, \dots, \lambda_D).$$
#
# Read from right to left: rotate into the eigenvector coordinates ($Q^\top$),
# scale each axis by its eigenvalue ($\Lambda$), rotate back ($Q$). So a symmetric
# matrix maps the unit circle to an ellipse whose axes are the eigenvectors and
# whose semi-axis lengths are the $|\lambda_i|$.
#
# `torch.linalg.eigh` computes this decomposition for symmetric (Hermitian)
# matrices. Two details trip people up: the eigenvalues come in **ascending**
# order, and the eigenvectors are the **columns** of the returned matrix, not its
# rows. Each eigenvector is only defined up to its sign ($-\mathbf{v}$ is an
# eigenvector too), so different libraries may return different signs.

# %%
A = torch.tensor([[2.0, 1.0],
                  [1.0, 2.0]], dtype=torch.float64)
eigenvalues, Q = torch.linalg.eigh(A)  # ascending; eigenvectors are columns of Q
print("eigenvalues:", eigenvalues)
print("eigenvectors (columns):\n", Q)
print("A q_i == lambda_i q_i:", torch.allclose(A @ Q, Q * eigenvalues))
print("Q diag(lambda) Q^T == A:", torch.allclose(Q @ torch.diag(eigenvalues) @ Q.T, A))

# %% [markdown]
# **Explore.** Move the sliders to change the symmetric matrix
# $A = \begin{pmatrix} a & b \\ b & d \end{pmatrix}$. The grey circle is the set of
# unit vectors, the blue curve its image under $A$, and the arrows are
# $\lambda_i \mathbf{q}_i$: the eigenvectors, scaled by their eigenvalues, lie
# exactly on the axes of the ellipse. The orange dot shows where the point
# $(1, 0)$ goes. Try $b = 0$ (the axes are the coordinate axes), $a = d$ (the
# eigenvectors are the diagonals), a negative eigenvalue (the arrow points the
# other way and the image is mirrored), and $ad = b^2$ (an eigenvalue of 0: the
# circle collapses onto a line, and $A$ cannot be inverted).

# %%
def show_symmetric_map(a=2.0, b=0.8, d=1.0):
    """Draw the unit circle, its image under [[a, b], [b, d]] and the eigenvectors."""
    A = torch.tensor([[a, b], [b, d]], dtype=torch.float64)
    angles = torch.linspace(0.0, 2.0 * torch.pi, 200, dtype=torch.float64)
    circle = torch.stack([angles.cos(), angles.sin()])  # (2, 200): one point per column
    image = A @ circle
    eigenvalues, Q = torch.linalg.eigh(A)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(circle[0], circle[1], color="0.75", label="unit circle")
    ax.plot(image[0], image[1], color="tab:blue", label="image under A")
    for i, color in enumerate(["tab:green", "tab:red"]):
        tip = eigenvalues[i] * Q[:, i]
        ax.annotate("", xy=tuple(tip.tolist()), xytext=(0.0, 0.0),
                    arrowprops={"arrowstyle": "->", "color": color, "lw": 2})
        ax.plot([], [], color=color, label=f"$\\lambda_{i + 1}$ = {eigenvalues[i]:.2f}")
    ax.plot(*A[:, 0].tolist(), "o", color="tab:orange", label="image of (1, 0)")
    limit = max(1.5, 1.15 * eigenvalues.abs().max().item())  # fit the ellipse
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(f"A = [[{a:.1f}, {b:.1f}], [{b:.1f}, {d:.1f}]]")
    plt.show()


slider = {"min": -3.0, "max": 3.0, "step": 0.1}
interactive_plot(show_symmetric_map, a=FloatSlider(value=2.0, **slider),
                 b=FloatSlider(value=0.8, **slider), d=FloatSlider(value=1.0, **slider))

# %% [markdown]
# ## 1.8 Power iteration
#
# How can we find the dominant eigenvector without a library? Multiply a vector
# by $A$ over and over. Write the start vector in the eigenvector basis,
# $\mathbf{v}_0 = \sum_i c_i \mathbf{q}_i$, and order the eigenvalues by absolute
# value, $|\lambda_1| > |\lambda_2| \ge \dots$. Then
#
# $$A^k \mathbf{v}_0 = \sum_i c_i \lambda_i^k \mathbf{q}_i
#   = \lambda_1^k \Big( c_1 \mathbf{q}_1
#     + \sum_{i \ge 2} c_i (\lambda_i / \lambda_1)^k \mathbf{q}_i \Big).$$
#
# Every ratio $|\lambda_i / \lambda_1|$ is below 1, so all directions but
# $\mathbf{q}_1$ fade away, geometrically fast: the error shrinks like
# $|\lambda_2 / \lambda_1|^k$. This is the **power iteration**:
#
# 1. start from a fixed vector $\mathbf{v}$ and divide it by its norm;
# 2. repeat `num_iters` times: $\mathbf{w} = A\mathbf{v}$, then
#    $\mathbf{v} = \mathbf{w} / \lVert\mathbf{w}\rVert_2$. Normalising at every step
#    matters: without it the vector grows like $|\lambda_1|^k$, and with
#    $|\lambda_1| = 10$ it overflows to `inf` after about 300 steps in `float64`
#    (whose largest number is about $1.8 \times 10^{308}$) and after about 40 in
#    `float32` (about $3.4 \times 10^{38}$);
# 3. read off the eigenvalue with the **Rayleigh quotient**
#    $\lambda = \mathbf{v}^\top A \mathbf{v}$ (for a unit vector $\mathbf{v}$).
#    Do not use $\lVert A\mathbf{v}\rVert$: it loses the sign, and the dominant
#    eigenvalue may be negative.
#
# Two warnings. The method fails if $c_1 = 0$, that is, if the start vector is
# orthogonal to $\mathbf{q}_1$. A vector of all ones is a tempting start but is
# orthogonal to $(1, -1)$, the dominant eigenvector of
# $\begin{pmatrix} 1 & -3 \\ -3 & 1 \end{pmatrix}$; a random vector (drawn with a
# fixed seed, so that the function is deterministic) is orthogonal to nothing in
# practice. And when $\lambda_1 < 0$ the vector flips sign at every step; that is
# fine, because $\mathbf{q}_1$ and $-\mathbf{q}_1$ are equally good eigenvectors.
#
# Power iteration (and its relatives) is how PageRank was computed, how
# spectral normalisation of GAN discriminators estimates the largest singular
# value of each weight matrix at every training step, and how the sharpness of a
# loss landscape (the top Hessian eigenvalue) is measured.
#
# ### Exercise 4: `power_iteration` (3 points)
# Every built-in eigen- or singular-value solver is forbidden: `torch.linalg.eigh`,
# `eig`, `eigvals`, `eigvalsh`, `svd`, `svdvals`, `torch.svd`, `torch.lobpcg`, their
# numpy and scipy twins (`numpy.linalg.eigh`...) and the rest of the group
# `EIGENSOLVERS`. Matrix products (`@`) are allowed.

# %% grade_id="ch01-power-iteration"
def power_iteration(A, num_iters):
    """Dominant eigenvalue and eigenvector of a symmetric matrix by power iteration.

    Args:
        A: symmetric float tensor of shape (D, D) (A == A.T), float32 or float64,
            on any device, whose dominant eigenvalue is unique: exactly one
            eigenvalue has the largest absolute value. It may be negative, and
            large: the vector must stay finite for hundreds of iterations.
        num_iters: number of multiplications by A (an int >= 1).

    Returns:
        (eigenvalue, eigenvector), both with the dtype and device of A:
        eigenvalue: 0-d tensor, the eigenvalue of largest absolute value, with
            its sign (the Rayleigh quotient v^T A v of the returned vector).
        eigenvector: tensor of shape (D,) with L2 norm 1. Its sign is arbitrary:
            the tests accept v and -v.

    Start from a fixed vector so that the result is deterministic, for example
    ``v = torch.randn(D, generator=g, dtype=A.dtype).to(A.device)`` with
    ``g = torch.Generator().manual_seed(0)`` (a CPU generator, hence the
    ``.to``). The tests use matrices with |lambda_2 / lambda_1| <= 0.5 and enough
    iterations to converge to about 1e-10 (float64) or 1e-5 (float32) from any
    start vector that is not orthogonal to the dominant eigenvector.

    Do not call a built-in eigen- or singular-value solver
    (dlcourse.checks.EIGENSOLVERS: torch.linalg.eigh, torch.linalg.svd,
    numpy.linalg.eigh, ...).
    """
    ### BEGIN SOLUTION
    gen = torch.Generator().manual_seed(0)
    v = torch.randn(A.shape[0], generator=gen, dtype=A.dtype).to(A.device)
    v = v / v.square().sum().sqrt()
    for _ in range(num_iters):
        w = A @ v
        v = w / w.square().sum().sqrt()  # keep a unit vector: no overflow
    eigenvalue = v @ (A @ v)  # Rayleigh quotient of a unit vector
    return eigenvalue, v
    ### END SOLUTION


# %% [markdown]
# Try it: watch the convergence. Each curve is a $30 \times 30$ symmetric matrix
# with dominant eigenvalue 1 and a different second eigenvalue. We plot
# $1 - |\mathbf{v}\cdot\mathbf{q}_1| = 1 - |\cos\theta| \approx \theta^2/2$, where
# $\theta$ is the angle between the iterate and the true eigenvector. Since
# $\theta$ shrinks like $|\lambda_2/\lambda_1|^k$, the plotted error shrinks like
# $|\lambda_2/\lambda_1|^{2k}$ (dashed lines) until it reaches the rounding
# error of `float64`, about $10^{-16}$. The matrices come from `random_symmetric` of
# `dlcourse.checks`, which builds $Q \Lambda Q^\top$ from a random orthonormal $Q$;
# the tests use it too.

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
steps = list(range(1, 41))
for ratio in (0.9, 0.7, 0.4):
    spectrum = [1.0, ratio] + torch.linspace(ratio - 0.05, 0.0, 28).tolist()
    A, Q = random_symmetric(spectrum, seed=7)  # float64; column 0 of Q is q_1
    errors = []
    for k in steps:
        _, v = power_iteration(A, k)
        errors.append((1.0 - (v @ Q[:, 0]).abs()).clamp_min(1e-16).item())
    line, = ax.semilogy(steps, errors, label=f"$\\lambda_2/\\lambda_1$ = {ratio}")
    ax.semilogy(steps, [errors[0] * ratio ** (2 * (k - 1)) for k in steps], "--",
                color=line.get_color(), alpha=0.5)
ax.set_ylim(1e-17, 3.0)
ax.set_xlabel("iterations k")
ax.set_ylabel(r"$1 - |\mathbf{v} \cdot \mathbf{q}_1|$")
ax.set_title("power iteration: error after k multiplications by A")
ax.legend()
plt.show()

# %% grade_id="ch01-power-iteration-tests" points=3
"""power_iteration: small float32 matrices with known answers (a negative dominant
eigenvalue too); a float64 matrix on the device with large eigenvalues and 300
iterations: no overflow, eigenvalue with its sign, unit eigenvector up to sign,
dtype and device kept; no built-in eigensolver (EIGENSOLVERS)."""
A64, Q64 = random_symmetric([-40.0, 20.0, -15.0, 3.0, 1.0], seed=5, device=device)
with forbid(*EIGENSOLVERS):
    value_diag, vector_diag = power_iteration(torch.tensor([[3.0, 0], [0, 1]]), 50)
    value_pair, vector_pair = power_iteration(torch.tensor([[2.0, 1], [1, 2]]), 50)
    value_neg, vector_neg = power_iteration(torch.tensor([[1.0, 0], [0, -4]]), 50)
    value_64, vector_64 = power_iteration(A64, 300)
assert_close(value_diag, torch.tensor(3.0), rtol=1e-4, name="eigenvalue of diag(3, 1)")
assert_close(vector_diag.abs(), torch.tensor([1.0, 0.0]), atol=1e-4,
             name="eigenvector of diag(3, 1), up to sign")
assert_close(value_pair, torch.tensor(3.0), rtol=1e-4,
             name="eigenvalue of [[2, 1], [1, 2]]")
assert_close(vector_pair * vector_pair.sum().sign(), torch.tensor([0.5, 0.5]).sqrt(),
             atol=1e-4, name="eigenvector of [[2, 1], [1, 2]], up to sign")
assert_close(value_neg, torch.tensor(-4.0), rtol=1e-4,
             name="eigenvalue of diag(1, -4) (the dominant one is negative)")
assert_close(vector_neg.abs(), torch.tensor([0.0, 1.0]), atol=1e-4,
             name="eigenvector of diag(1, -4), up to sign")
label = "float64 5x5 matrix on the device, eigenvalues -40, 20, -15, 3, 1"
assert value_64.device == A64.device and vector_64.device == A64.device, (
    f"{label}: results on {value_64.device} and {vector_64.device}, not {device}")
assert_close(value_64, torch.tensor(-40.0, dtype=torch.float64), rtol=1e-9, atol=1e-9,
             name=f"{label}: eigenvalue after 300 iterations")
assert_close((vector_64 * vector_64).sum(), torch.tensor(1.0, dtype=torch.float64),
             rtol=1e-9, atol=1e-9, name=f"{label}: squared norm of the eigenvector")
sign = 1.0 if (vector_64 * Q64[:, 0]).sum() >= 0 else -1.0
assert_close(sign * vector_64, Q64[:, 0], rtol=0.0, atol=1e-9,
             name=f"{label}: eigenvector (compared up to sign)")
### BEGIN HIDDEN TESTS
def _check_power_iteration(A, num_iters, rtol, atol, label):
    """Compare power_iteration(A) with eigh: eigenvalue, eigenvector up to sign."""
    values, vectors = torch.linalg.eigh(A.double().cpu())
    top = values.abs().argmax()
    with forbid(*EIGENSOLVERS):
        value, vector = power_iteration(A, num_iters)
    assert_shape(vector, (A.shape[0],), name=f"{label}: eigenvector")
    assert vector.device == A.device and value.device == A.device, (
        f"{label}: expected results on {A.device}, got {value.device} and "
        f"{vector.device}")
    assert_close(value, values[top].to(A.dtype), rtol=rtol, atol=atol,
                 name=f"{label}: eigenvalue")
    assert_close(vector.double().square().sum().sqrt().cpu(),
                 torch.tensor(1.0, dtype=torch.float64), rtol=rtol, atol=atol,
                 name=f"{label}: norm of the eigenvector")
    expected = vectors[:, top]
    sign = 1.0 if (vector.double().cpu() @ expected) >= 0 else -1.0
    assert_close(sign * vector, expected.to(A.dtype), rtol=0.0, atol=atol,
                 name=f"{label}: eigenvector (compared up to sign)")


_spectra = {"positive dominant": [4.0, -2.0, 1.5, 1.0, 0.5, -0.25],
            "negative dominant": [-5.0, 2.5, 2.0, -1.0, 0.5, 0.3, 0.2, 0.1, 0.0],
            "large eigenvalues": [40.0, 20.0, -15.0, 3.0, 1.0, 0.5, -0.5]}
for _seed, (_label, _spectrum) in enumerate(_spectra.items(), start=105):
    _A, _ = random_symmetric(_spectrum, seed=_seed, device=device)
    _iters = 500 if _label == "large eigenvalues" else 200
    _check_power_iteration(_A, _iters, rtol=1e-9, atol=1e-9,
                           label=f"{_label} ({len(_spectrum)}x{len(_spectrum)}, "
                                 f"{_iters} iterations)")
_check_power_iteration(torch.tensor([[-3.0]], dtype=torch.float64, device=device), 5,
                       rtol=1e-12, atol=1e-12, label="1x1 matrix [[-3]]")
_A, _ = random_symmetric([6.0, 3.0, -2.0, 1.0, 0.5], seed=110, dtype=torch.float32,
                         device=device)
_check_power_iteration(_A, 150, rtol=1e-4, atol=1e-4,
                       label="float32 5x5 matrix (dtype must stay float32)")
### END HIDDEN TESTS

# %% [markdown]
# ## 1.9 The singular value decomposition, rank and condition number
#
# Eigenvectors need a square matrix, and the spectral theorem a symmetric one. A
# weight matrix of shape `(out, in)` is neither. The **singular value
# decomposition** (SVD) does for every real $M \times N$ matrix what the spectral
# theorem does for symmetric ones:
#
# $$A = U \Sigma V^\top = \sum_{i=1}^{r} \sigma_i\, \mathbf{u}_i \mathbf{v}_i^\top,
#   \qquad r = \min(M, N),$$
#
# where the columns $\mathbf{u}_i$ of $U$ ($M \times r$) and $\mathbf{v}_i$ of $V$
# ($N \times r$) are orthonormal, and the **singular values** $\sigma_1 \ge \sigma_2
# \ge \dots \ge \sigma_r \ge 0$ sit on the diagonal of $\Sigma$. Read from right to
# left: turn the input into the coordinates of the $\mathbf{v}_i$ ($V^\top$),
# stretch coordinate $i$ by $\sigma_i$ ($\Sigma$), and send it along
# $\mathbf{u}_i$ in the output space ($U$). A square invertible $A$ maps the unit
# sphere to an ellipsoid whose semi-axes are the $\sigma_i \mathbf{u}_i$; the widget
# of section 1.7 showed the symmetric case, where the $\sigma_i$ are the
# $|\lambda_i|$. In general $A^\top A = V \Sigma^2 V^\top$: the $\sigma_i^2$ are the
# eigenvalues of $A^\top A$ and the $\mathbf{v}_i$ its eigenvectors.
#
# `U, S, Vh = torch.linalg.svd(A, full_matrices=False)` returns the singular values
# in **descending** order (unlike `eigh`), and `Vh` is $V^\top$: the right singular
# vectors are the **rows** of `Vh`. With the default `full_matrices=True`, `U` is
# $M \times M$ and `Vh` is $N \times N$; the extra vectors multiply nothing.
#
# **Rank.** The rank of $A$ is the number of non-zero singular values: the
# dimension of the space its outputs fill, or the number of independent rows (or
# columns). In floating point nothing is exactly zero, so
# `torch.linalg.matrix_rank` counts the singular values above a tolerance, by
# default $\sigma_1 \cdot \max(M, N) \cdot \varepsilon$ with $\varepsilon$ the
# machine epsilon of the dtype.
#
# **Condition number.** For a square invertible matrix, $\kappa(A) = \sigma_1 /
# \sigma_r$ (it is infinite when $A$ is singular). When you solve $A\mathbf{x} =
# \mathbf{b}$, a small relative error in $\mathbf{b}$ (a rounding error, say) can
# come out up to $\kappa$ times larger in $\mathbf{x}$: expect to lose up to about
# $\log_{10}\kappa$ of the digits your dtype carries (about 16 in `float64`, 7 in
# `float32`). Chapter 04 meets $\kappa$ again: the condition number of a loss's
# Hessian decides how slowly gradient descent crawls along a narrow valley.
#
# The cell below shows a matrix whose third row is the sum of the first two (rank
# 2), and the Hilbert matrix $H_{ij} = 1 / (i + j + 1)$, a classic ill-conditioned
# example: solving $H\mathbf{x} = \mathbf{b}$ for a known $\mathbf{x}$ in `float64`
# loses many of its 16 digits, as $\log_{10}\kappa(H)$ warns.

# %%
dependent = torch.tensor([[1.0, 2.0, 3.0],
                          [0.0, 1.0, 4.0],
                          [1.0, 3.0, 7.0]], dtype=torch.float64)  # row 0 + row 1
print("singular values:", torch.linalg.svdvals(dependent))
print("rank:", torch.linalg.matrix_rank(dependent).item())

size = torch.arange(8, dtype=torch.float64)
hilbert = 1.0 / (size[:, None] + size[None, :] + 1.0)  # (8, 8)
kappa = torch.linalg.cond(hilbert)
x_true = torch.ones(8, dtype=torch.float64)
x_solved = torch.linalg.solve(hilbert, hilbert @ x_true)
error = ((x_solved - x_true).abs().max() / x_true.abs().max()).item()
print(f"Hilbert 8x8: condition number {kappa:.2e}, log10 = {kappa.log10():.1f}")
print(f"relative error of the solution: {error:.1e}, machine epsilon "
      f"{torch.finfo(torch.float64).eps:.1e}")

# %% [markdown]
# **The best low-rank approximation.** Keep the first $k$ terms of the sum:
#
# $$A_k = \sum_{i=1}^{k} \sigma_i\, \mathbf{u}_i \mathbf{v}_i^\top
#   = U_k \Sigma_k V_k^\top,$$
#
# with $U_k$ the first $k$ columns of $U$, $V_k^\top$ the first $k$ rows of
# $V^\top$ and $\Sigma_k$ the $k$ largest singular values. The **Eckart-Young
# theorem** says that no matrix of rank at most $k$ is closer to $A$, in the
# Frobenius norm $\lVert M \rVert_F = \sqrt{\sum_{ij} M_{ij}^2}$ or in the spectral
# norm $\lVert M \rVert_2 = \sigma_1(M)$, and that the errors are exactly what was
# thrown away:
#
# $$\lVert A - A_k \rVert_F = \sqrt{\sigma_{k+1}^2 + \dots + \sigma_r^2},
#   \qquad \lVert A - A_k \rVert_2 = \sigma_{k+1} \quad (0 \text{ when } k = r).$$
#
# Storing $U_k$, $\Sigma_k$ and $V_k$ takes $k(M + N + 1)$ numbers instead of $MN$.
# That is how a trained layer can be compressed (replace $W$ by two thin layers),
# and the idea behind LoRA, which fine-tunes a large model by learning only a
# low-rank update $BA$ of each weight matrix.
#
# ### Exercise 5: `low_rank_approx` (3 points)
# Use `torch.linalg.svd`: the exercise is about using it correctly (its order, its
# shapes, which factor is transposed). The randomised, approximate
# `torch.svd_lowrank` and `torch.pca_lowrank` are forbidden.

# %% grade_id="ch01-low-rank-approx"
def low_rank_approx(A, k):
    """Best approximation of A by a matrix of rank at most k (truncated SVD).

    Args:
        A: float tensor of shape (M, N), one matrix (no batch dimensions);
            M and N are any sizes >= 1 (tall, wide or square).
        k: the rank to keep, an int with 0 <= k <= min(M, N).

    Returns:
        Tensor of shape (M, N) with the dtype and device of A:
        ``sum over i < k of S[i] * outer(U[:, i], Vh[i])`` where
        ``U, S, Vh = torch.linalg.svd(A, full_matrices=False)`` (S descending).
        k = 0 gives a matrix of zeros; k = min(M, N) gives A back (up to
        rounding). A is not modified.

    Raises:
        ValueError: if k < 0 or k > min(M, N).

    You may use torch.linalg.svd (or another exact SVD or eigensolver), not
    torch.svd_lowrank or torch.pca_lowrank. The tests use matrices whose
    singular values are distinct and well separated, so the answer is unique.
    """
    ### BEGIN SOLUTION
    M, N = A.shape
    if not 0 <= k <= min(M, N):
        raise ValueError(f"k must be between 0 and min(M, N) = {min(M, N)}, got {k}")
    U, S, Vh = torch.linalg.svd(A, full_matrices=False)  # (M, r), (r,), (r, N)
    return (U[:, :k] * S[:k]) @ Vh[:k]  # scale the k columns, (M, k) @ (k, N)
    ### END SOLUTION


# %% [markdown]
# Try it on a photograph that ships with scikit-learn, turned to grey and averaged
# over $2 \times 2$ blocks (to keep the SVDs quick): a $213 \times 320$ matrix of
# brightness values. A few dozen singular values already keep the shapes of the
# scene; the titles say what fraction of the $MN$ numbers the rank-$k$ factors
# need. The second figure shows the singular values and the
# relative error $\lVert A - A_k \rVert_F / \lVert A \rVert_F$: the curve is the
# Eckart-Young formula computed from the singular values alone, the dots are the
# errors of your `low_rank_approx`.

# %%
photo = torch.tensor(load_sample_image("china.jpg"), dtype=torch.float32)
photo = photo.mean(dim=-1) / 255.0  # (427, 640) grey levels in [0, 1]
photo = F.avg_pool2d(photo[None], 2)[0]  # (213, 320): means of 2x2 blocks
M, N = photo.shape
singular_values = torch.linalg.svdvals(photo)  # descending
photo_norm = photo.square().sum().sqrt()
ranks = [5, 20, 50]

fig, axes = plt.subplots(1, 4, figsize=(13, 2.8))
axes[0].imshow(photo, cmap="gray", vmin=0.0, vmax=1.0)
axes[0].set_title(f"original ({M} x {N})", fontsize=9)
measured = []
for ax, k in zip(axes[1:], ranks, strict=True):
    approx = low_rank_approx(photo, k)
    measured.append(((photo - approx).square().sum().sqrt() / photo_norm).item())
    ax.imshow(approx.clamp(0.0, 1.0), cmap="gray", vmin=0.0, vmax=1.0)
    ax.set_title(f"rank {k}: {k * (M + N + 1) / (M * N):.1%} of the numbers",
                 fontsize=9)
for ax in axes:
    ax.axis("off")
plt.show()

# error after keeping k values: sqrt of the sum of the squares of the others
tail = singular_values.square().flip(0).cumsum(0).flip(0)  # tail[k] = sum over i >= k
predicted = torch.cat([tail[1:], tail.new_zeros(1)]).sqrt() / photo_norm  # k = 1..r
fig, (ax_values, ax_error) = plt.subplots(1, 2, figsize=(11, 3.5))
ax_values.semilogy(range(1, len(singular_values) + 1), singular_values)
ax_values.set_xlabel("i")
ax_values.set_ylabel(r"$\sigma_i$")
ax_values.set_title("singular values of the photo")
ax_error.plot(range(1, len(predicted) + 1), predicted, label="Eckart-Young formula")
ax_error.plot(ranks, measured, "o", label="low_rank_approx")
ax_error.set_xscale("log")
ax_error.set_xlabel("rank k")
ax_error.set_ylabel("relative Frobenius error")
ax_error.legend()
fig.tight_layout()
plt.show()
print(f"condition number {singular_values[0] / singular_values[-1]:.3g}, numerical "
      f"rank {torch.linalg.matrix_rank(photo).item()} of at most {min(M, N)}")

# %% grade_id="ch01-low-rank-approx-tests" points=3
"""low_rank_approx: a diagonal-like example by hand; a tall float64 matrix with known
singular values on the device for every k (the truncated SVD, rank k, both
Eckart-Young errors, k = 0 gives zeros, k = min(M, N) gives A, A not modified); a
wide float32 matrix; ValueError for k < 0 and k > min(M, N); no torch.svd_lowrank
or torch.pca_lowrank."""
_banned = ("torch.svd_lowrank", "torch.pca_lowrank")


def _with_singular_values(M, N, sigmas, seed, dtype=torch.float64, device="cpu"):
    """(A, U, S, V): A = U diag(S) V^T of shape (M, N), U and V orthonormal columns."""
    gen = torch.Generator().manual_seed(seed)
    U, _ = torch.linalg.qr(torch.randn(M, len(sigmas), generator=gen,
                                       dtype=torch.float64))
    V, _ = torch.linalg.qr(torch.randn(N, len(sigmas), generator=gen,
                                       dtype=torch.float64))
    S = torch.tensor(sigmas, dtype=torch.float64)
    return (U * S @ V.T).to(device, dtype), U, S, V


def _check_low_rank(A, U, S, V, k, rtol, atol, label):
    """low_rank_approx(A, k) against U_k diag(S_k) V_k^T and Eckart-Young."""
    saved = A.clone()
    with forbid(*_banned):
        got = low_rank_approx(A, k)
    assert isinstance(got, torch.Tensor) and got.device == A.device, (
        f"{label}: expected a tensor on {A.device}, got {got!r:.80}")
    assert torch.equal(A, saved), f"{label}: A was modified (it must not be)"
    expected = (U[:, :k] * S[:k]) @ V[:, :k].T
    assert_close(got, expected.to(A.device, A.dtype), rtol=rtol, atol=atol,
                 name=f"{label}: the rank-{k} approximation")
    error = (got.double().cpu() - A.double().cpu())
    assert_close(error.square().sum().sqrt(), S[k:].square().sum().sqrt(), rtol=rtol,
                 atol=atol, name=f"{label}: Frobenius error (the discarded sigmas)")
    top = S[k] if k < len(S) else torch.tensor(0.0, dtype=torch.float64)
    assert_close(torch.linalg.matrix_norm(error, ord=2), top, rtol=rtol, atol=atol,
                 name=f"{label}: spectral error (sigma_{k + 1})")
    # singular values of the result below 1e-3 sigma_1(A) count as rounding zeros
    rank = torch.linalg.matrix_rank(got.double().cpu(), atol=1e-3 * S[0].item(),
                                    rtol=0.0).item()
    assert rank == k, f"{label}: expected a result of rank {k}, got rank {rank}"


corner = torch.tensor([[0.0, 3.0, 0.0, 0.0],
                       [-2.0, 0.0, 0.0, 0.0],
                       [0.0, 0.0, 0.0, 1.0]])  # singular values 3, 2, 1
with forbid(*_banned):
    got_1, got_2 = low_rank_approx(corner, 1), low_rank_approx(corner, 2)
assert_close(got_1, torch.tensor([[0.0, 3.0, 0.0, 0.0], [0.0] * 4, [0.0] * 4]),
             atol=1e-6, name="low_rank_approx(corner, 1) keeps the 3")
assert_close(got_2, torch.tensor([[0.0, 3.0, 0.0, 0.0], [-2.0, 0.0, 0.0, 0.0],
                                  [0.0] * 4]),
             atol=1e-6, name="low_rank_approx(corner, 2) keeps the 3 and the -2")
A, U, S, V = _with_singular_values(7, 5, [8.0, 4.8, 2.9, 1.7, 1.0], seed=0,
                                   device=device)
for k in range(6):  # k = 0 gives zeros, k = 5 = min(M, N) gives A
    _check_low_rank(A, U, S, V, k, rtol=1e-9, atol=1e-9,
                    label=f"float64 A of shape (7, 5) on the device, k = {k}")
B, U, S, V = _with_singular_values(4, 9, [6.0, 3.0, 1.5, 0.75], seed=1,
                                   dtype=torch.float32)
_check_low_rank(B, U, S, V, 2, rtol=1e-4, atol=1e-4,
                label="float32 B of shape (4, 9), k = 2 (dtype must stay float32)")
for matrix, k in ((A, -1), (A, 6), (B, 5)):
    expect_raises(ValueError, low_rank_approx, matrix, k,
                  name=f"low_rank_approx(A of shape {tuple(matrix.shape)}, k={k})")
### BEGIN HIDDEN TESTS
_cases = [((9, 4), [5.0, 2.5, 1.2, 0.6], torch.float64),
          ((4, 9), [7.0, 3.5, 2.0, 1.0], torch.float64),
          ((6, 6), [9.0, 6.0, 4.0, 2.5, 1.5, 0.8], torch.float64),
          ((1, 5), [2.0], torch.float64), ((5, 1), [3.0], torch.float64),
          ((10, 6), [4.0, 2.0, 1.0, 0.5, 0.3, 0.2], torch.float32)]
for _seed, ((_M, _N), _sigmas, _dtype) in enumerate(_cases, start=120):
    _A, _U, _S, _V = _with_singular_values(_M, _N, _sigmas, _seed, dtype=_dtype,
                                           device=device)
    _tol = 1e-9 if _dtype == torch.float64 else 1e-4
    for _k in range(min(_M, _N) + 1):
        _check_low_rank(_A, _U, _S, _V, _k, rtol=_tol, atol=_tol,
                        label=f"{_dtype} A of shape {(_M, _N)}, k = {_k}")
    for _k in (-2, min(_M, _N) + 1):
        expect_raises(ValueError, low_rank_approx, _A, _k,
                      name=f"low_rank_approx(A of shape {(_M, _N)}, k={_k})")
### END HIDDEN TESTS

# %% [markdown]
# ## 1.10 Principal component analysis (PCA)
#
# A dataset of $N$ examples with $D$ features is a cloud of $N$ points in
# $\mathbb{R}^D$. PCA finds the directions along which the cloud is most spread
# out, so we can describe each point with $k \ll D$ numbers and lose as little
# as possible. The recipe:
#
# 1. **Centre** the data: subtract the mean of each feature,
#    $X_c = X - \bar{\mathbf{x}}$ with $\bar{\mathbf{x}} = \frac1N \sum_n
#    \mathbf{x}_n$ (broadcasting a `(D,)` vector over `(N, D)`). Without this step
#    the first "direction of spread" is just the direction of the mean.
# 2. The **covariance matrix** $C = \frac{1}{N-1} X_c^\top X_c$ (shape $D \times
#    D$, symmetric) holds the variance of the data along any unit vector
#    $\mathbf{w}$: the projections $X_c\mathbf{w}$ have variance
#    $\mathbf{w}^\top C \mathbf{w}$.
# 3. By the spectral theorem, $\mathbf{w}^\top C\mathbf{w}$ is largest for the top
#    eigenvector of $C$; among the directions orthogonal to it, the second
#    eigenvector wins; and so on. The eigenvalues $\lambda_1 \ge \lambda_2 \ge
#    \dots \ge 0$ are the variances along these **principal components**.
# 4. Stack the top $k$ eigenvectors as the rows of a $k \times D$ matrix $P_k$
#    and **project**: $Z = X_c P_k^\top$, of shape $N \times k$.
#
# The same components come out of the SVD of the centred data, $X_c = U \Sigma
# V^\top$: since $X_c^\top X_c = V \Sigma^2 V^\top$, the right singular vectors
# (the rows of $V^\top$) are the eigenvectors of $C$, and $\lambda_i = \sigma_i^2 /
# (N-1)$. The SVD is the more accurate route, and it is what scikit-learn uses.
# The reason is the condition number of section 1.9: forming $X_c^\top X_c$
# squares it, $\kappa(X_c^\top X_c) = \kappa(X_c)^2$, so the covariance route loses
# about twice as many digits as the SVD of $X_c$. The cell below builds a
# $500 \times 8$ matrix in `float32` with singular values from 1 down to
# $10^{-4}$ and recovers them both ways. For the well-conditioned data of this
# chapter both routes are fine.

# %%
gen = torch.Generator().manual_seed(0)
left, _ = torch.linalg.qr(torch.randn(500, 8, generator=gen, dtype=torch.float64))
right, _ = torch.linalg.qr(torch.randn(8, 8, generator=gen, dtype=torch.float64))
true_sigmas = torch.logspace(0, -4, 8, dtype=torch.float64)  # 1 down to 1e-4
data = (left * true_sigmas @ right.T).float()  # (500, 8), float32
via_svd = torch.linalg.svdvals(data).double()
via_gram = torch.linalg.eigvalsh(data.T @ data).flip(0).double().clamp_min(0.0).sqrt()
exact = data.double()
print(f"condition number of X: {torch.linalg.cond(exact):.3g}, "
      f"of X^T X: {torch.linalg.cond(exact.T @ exact):.3g}")
print("    sigma   relative error: via SVD   via eigh(X^T X)")
for sigma, by_svd, by_gram in zip(true_sigmas, via_svd, via_gram, strict=True):
    print(f"{sigma:9.1e}   {abs(by_svd - sigma) / sigma:22.1e}   "
          f"{abs(by_gram - sigma) / sigma:15.1e}")

# %% [markdown]
# We store the components as rows, shape `(k, D)`, like scikit-learn's
# `PCA.components_`, so `projected = X_c @ components.T` and the
# approximate reconstruction is `projected @ components + mean`. (The
# reconstruction of $X_c$, $X_c P_k^\top P_k = U_k \Sigma_k V_k^\top$, is its best
# rank-$k$ approximation of section 1.9.) Each component is only defined up to its
# sign; the tests accept either sign as long as the projected coordinates use the
# same one.
#
# ### Exercise 6: `pca` (3 points)
# Use `torch.linalg.svd` (mind that `Vh` holds the components as rows) or
# `torch.linalg.eigh` (mind its ascending order and its columns). Ready-made PCA
# is forbidden: `torch.pca_lowrank` and scikit-learn's `PCA` (the group
# `PCA_ROUTINES`).

# %% grade_id="ch01-pca"
def pca(X, k):
    """Project the rows of X onto their top-k principal components.

    Args:
        X: float tensor of shape (N, D), one example per row, N >= 2.
        k: number of components, an int with 1 <= k <= D.

    Returns:
        (projected, components), both with the dtype and device of X:
        projected: tensor of shape (N, k), ``(X - X.mean(dim=0)) @ components.T``.
        components: tensor of shape (k, D); its rows are orthonormal (unit length,
            pairwise orthogonal) eigenvectors of the covariance matrix of X,
            sorted by decreasing variance (eigenvalue). The sign of each row is
            arbitrary; the tests accept either sign.

    Raises:
        ValueError: if k < 1 or k > D.

    You may use torch.linalg.svd or torch.linalg.eigh, not a ready-made PCA
    (dlcourse.checks.PCA_ROUTINES: torch.pca_lowrank, sklearn's PCA). The tests
    use data whose top k variances are distinct, so that the components are
    unique up to sign.
    """
    ### BEGIN SOLUTION
    N, D = X.shape
    if not 1 <= k <= D:
        raise ValueError(f"k must be between 1 and D = {D}, got {k}")
    centred = X - X.mean(dim=0)  # (N, D)
    _, _, Vh = torch.linalg.svd(centred, full_matrices=False)  # rows: components
    components = Vh[:k]  # (k, D), largest variance first
    return centred @ components.T, components
    ### END SOLUTION


# %% [markdown]
# Try it on the handwritten digits: 1,797 images of 64 pixels, squeezed down to
# 2 numbers each. The scatter plot shows the first two principal components,
# coloured by the true label, which PCA never saw. The bar chart shows how much
# of the total variance each component explains: the eigenvalue divided by the
# sum of all eigenvalues. Your `power_iteration` on the covariance matrix finds
# the first component too.

# %%
projected, components = pca(digits_X, 2)
centred = digits_X - digits_X.mean(dim=0)
variances = projected.var(dim=0)  # variance along each component
total_variance = centred.var(dim=0).sum()

fig, (ax_scatter, ax_bar) = plt.subplots(1, 2, figsize=(11, 4.5),
                                         gridspec_kw={"width_ratios": [3, 2]})
points = ax_scatter.scatter(projected[:, 0], projected[:, 1], c=digits_y,
                            cmap="tab10", s=8, alpha=0.8)
ax_scatter.set_xlabel("first principal component")
ax_scatter.set_ylabel("second principal component")
ax_scatter.set_title("digits projected on 2 principal components")
fig.colorbar(points, ax=ax_scatter, ticks=range(10), label="digit")
projected_20, _ = pca(digits_X, 20)
ratios = projected_20.var(dim=0) / total_variance  # eigenvalue / sum of all
ax_bar.bar(range(1, 21), ratios, label="each component")
ax_bar.plot(range(1, 21), ratios.cumsum(dim=0), "o-", color="tab:orange",
            label="cumulative")
ax_bar.set_xlabel("component")
ax_bar.set_ylabel("fraction of the total variance")
ax_bar.set_xticks(range(1, 21, 2))
ax_bar.legend()
fig.tight_layout()
plt.show()

covariance = centred.T @ centred / (len(centred) - 1)
_, top_vector = power_iteration(covariance.double(), 200)
print(f"2 components keep {(variances.sum() / total_variance):.1%} of the variance")
print("|cosine| of power_iteration's vector and the first component:",
      f"{cosine_similarity(top_vector.float(), components[0]).abs():.6f}")

# %% [markdown]
# The components are themselves 64-pixel images: the directions in pixel space
# along which handwritten digits vary the most. Red pixels are added and blue
# ones removed as you move along a component (or the opposite: the sign is
# arbitrary).

# %%
_, top_components = pca(digits_X, 8)
fig, axes = plt.subplots(1, 8, figsize=(10, 1.6))
for i, ax in enumerate(axes):
    limit = top_components[i].abs().max()
    ax.imshow(top_components[i].reshape(8, 8), cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_title(f"PC {i + 1}", fontsize=9)
    ax.axis("off")
plt.show()

# %% grade_id="ch01-pca-tests" points=3
"""pca: shapes, orthonormal components, a known 2-D direction, centring; float64 data
on the device against an SVD (components up to sign, in order of decreasing
variance, matching projections, dtype and device kept); k = D works; ValueError
for k = 0 and k = D + 1; no ready-made PCA (PCA_ROUTINES)."""
def _check_pca(X, k, rtol, atol, label):
    """Compare pca(X, k) with the SVD of the centred data, up to sign per row."""
    X64 = X.double().cpu()
    centred = X64 - X64.mean(dim=0)
    _, _, Vh = torch.linalg.svd(centred, full_matrices=False)
    expected_components = Vh[:k]  # (k, D), decreasing singular values
    expected_projected = centred @ expected_components.T
    with forbid(*PCA_ROUTINES):
        projected, components = pca(X, k)
    assert_shape(projected, (X.shape[0], k), name=f"{label}: projected")
    assert_shape(components, (k, X.shape[1]), name=f"{label}: components")
    for name, value in (("projected", projected), ("components", components)):
        assert value.dtype == X.dtype, (
            f"{label}: expected {name} of dtype {X.dtype}, got {value.dtype}")
        assert value.device == X.device, (
            f"{label}: expected {name} on {X.device}, got {value.device}")
    # Flip each row of ours to agree with the reference before comparing.
    ours = components.double().cpu()
    signs = torch.where((ours * expected_components).sum(1) >= 0, 1.0, -1.0)
    signs = signs.to(torch.float64)
    assert_close(ours * signs[:, None], expected_components, rtol=rtol, atol=atol,
                 name=f"{label}: components (rows compared up to sign, "
                      f"largest variance first)")
    assert_close(projected.double().cpu() * signs, expected_projected, rtol=rtol,
                 atol=atol, name=f"{label}: projected (columns compared up to sign)")


t = torch.linspace(-2.0, 2.0, 9)
line = torch.stack([t, 2.0 * t], dim=1) + torch.tensor([10.0, 4.0])  # (9, 2)
with forbid(*PCA_ROUTINES):
    projected, components = pca(line, 1)
assert_shape(projected, (9, 1), name="projected for X of shape (9, 2), k = 1")
assert_shape(components, (1, 2), name="components for X of shape (9, 2), k = 1")
sign = 1.0 if components[0, 0] >= 0 else -1.0
assert_close(sign * components[0], torch.tensor([1.0, 2.0]) / 5.0 ** 0.5, atol=1e-5,
             name="first component of points on the line y = 2x (up to sign)")
assert_close(sign * projected[:, 0], 5.0 ** 0.5 * t, atol=1e-4,
             name="projections of points on the line y = 2x (centred first?)")
gen = torch.Generator().manual_seed(0)
cloud = torch.randn(50, 4, generator=gen) * torch.tensor([3.0, 2.0, 1.0, 0.5]) + 7.0
with forbid(*PCA_ROUTINES):
    projected, components = pca(cloud, 3)
assert_shape(components, (3, 4), name="components for X of shape (50, 4), k = 3")
assert_close(components @ components.T, torch.eye(3), atol=1e-5,
             name="components @ components.T (rows must be orthonormal)")
_check_pca(cloud.double().to(device), 2, rtol=1e-8, atol=1e-8,
           label="float64 X of shape (50, 4) on the device, k = 2")
_check_pca(cloud, 4, rtol=1e-4, atol=1e-4, label="X of shape (50, 4), k = D = 4")
for k in (0, 5):
    expect_raises(ValueError, pca, cloud, k, name=f"pca(X of shape (50, 4), k={k})")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(106)
_D = 6
_R, _ = torch.linalg.qr(torch.randn(_D, _D, generator=_gen, dtype=torch.float64))
_scales = torch.tensor([6.0, 4.0, 3.0, 2.0, 1.0, 0.5], dtype=torch.float64)
_X = (torch.randn(40, _D, generator=_gen, dtype=torch.float64) * _scales) @ _R + 5.0
_X = _X.to(device)
for _k in (1, 3, _D):
    _check_pca(_X, _k, rtol=1e-8, atol=1e-8, label=f"X (40, 6) with mean 5, k = {_k}")
_check_pca(_X[:, :5] - 20.0, 2, rtol=1e-8, atol=1e-8, label="X (40, 5), k = 2")
expect_raises(ValueError, pca, _X, 0, name="pca(X of shape (40, 6), k=0)")
expect_raises(ValueError, pca, _X, _D + 1, name="pca(X of shape (40, 6), k=7)")
_check_pca(_X.float(), 3, rtol=1e-4, atol=1e-4,
           label="float32 X (dtype must stay float32)")
### END HIDDEN TESTS

# %% [markdown]
# ## 1.11 Summary
#
# * The **dot product** $\mathbf{x}\cdot\mathbf{y} = \sum_i x_i y_i =
#   \lVert\mathbf{x}\rVert\lVert\mathbf{y}\rVert\cos\theta$ measures alignment; the
#   **L2 norm** $\sqrt{\mathbf{x}\cdot\mathbf{x}}$ measures length; **cosine
#   similarity** measures direction only (define it as 0 for a zero vector).
# * Write vector operations along the **last dimension** so that they work on
#   batches, and let **broadcasting** pair up the leading dimensions. Check shapes:
#   `(N,)` against `(N, 1)` silently becomes `(N, N)`.
# * A **linear layer** computes $Y = XW^\top + \mathbf{b}$ with `W` of shape
#   `(out, in)`. Without non-linearities, stacked linear layers collapse into one.
# * A **symmetric matrix** is a rotation, a scaling along orthogonal
#   **eigenvectors** and a rotation back: $A = Q\Lambda Q^\top$. `torch.linalg.eigh`
#   returns ascending eigenvalues and eigenvectors as columns, each up to sign.
# * **Power iteration** finds the eigenvalue of largest absolute value at the rate
#   $|\lambda_2/\lambda_1|^k$; normalise at every step and use the Rayleigh
#   quotient to keep the sign.
# * Every matrix has an **SVD** $A = U\Sigma V^\top$ (`torch.linalg.svd`: singular
#   values descending, right singular vectors as the rows of `Vh`). The **rank**
#   counts the non-zero singular values, the **condition number** $\sigma_1 /
#   \sigma_r$ says how many digits a computation with $A$ can lose, and keeping the
#   $k$ largest singular values gives the **best rank-$k$ approximation**, with an
#   error made of the discarded ones (Eckart-Young).
# * **PCA** = centre, take the top right singular vectors of the centred data (or
#   the top eigenvectors of the covariance matrix, which squares the condition
#   number), project.
# * Use `torch.linalg.vector_norm` rather than the deprecated `torch.norm`.
#
# **Next.** Chapter 02 (calculus) differentiates functions built from these
# operations: gradients, autograd, and backpropagation by hand through a two-layer
# network made of this chapter's matrix products.
#
# **Going further.** *Linear Algebra Done Right* (Axler) for the theory; the
# *Matrix Cookbook* for identities; Gilbert Strang's MIT 18.06 lectures; chapter 2
# of *Deep Learning* (Goodfellow, Bengio, Courville), which derives PCA from a
# reconstruction loss instead of the variance.
