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
# linear algebra.
#
# In this chapter you will build that toolbox yourself, in PyTorch:
#
# | section | you write | checked against |
# |---|---|---|
# | 1.2 dot product | `dot(x, y)` | `torch.linalg.vecdot` |
# | 1.3 length of a vector | `l2_norm(x)` | `torch.linalg.vector_norm` |
# | 1.4 angle between vectors | `cosine_similarity(x, y)` | `F.cosine_similarity` |
# | 1.6 a linear layer | `linear_forward(x, W, b)` | `F.linear` |
# | 1.8 dominant eigenvector | `power_iteration(A, num_iters)` | `torch.linalg.eigh` |
# | 1.9 principal components | `pca(X, k)` | an SVD |
#
# **How the exercises work.** Each exercise is a function with a docstring that
# states its whole contract: the shape and dtype of every argument and of the
# result, and what happens in the edge cases. Replace `raise NotImplementedError()`
# with your code, run the cell, then run the test cell below it. The visible
# tests catch the obvious mistakes; hidden tests, run when your notebook is
# graded, compare your function with PyTorch's own in `float64` on several shapes,
# check that the dtype and device of the input are kept, and make sure you did not
# simply call the built-in you are asked to rebuild.
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

from dlcourse import get_device
from dlcourse.checks import assert_close, assert_shape, expect_raises, forbid
from dlcourse.data import load_digits
from dlcourse.widgets import interactive_plot

device = get_device()
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
# ### Exercise 1 (2 points): `dot`
# Write `dot(x, y)` with elementwise multiplication and a sum. Do **not** call
# `torch.dot`, `torch.vdot`, `torch.inner`, `torch.linalg.vecdot`, `torch.matmul`,
# `torch.mm`, `torch.mv`, `torch.bmm`, `torch.tensordot`, `torch.einsum` or the
# `@` operator: the hidden tests make them raise.

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
dtype and device kept, and no built-in dot product or matrix product."""
x = torch.tensor([1.0, 2.0, 3.0])
y = torch.tensor([4.0, -5.0, 6.0])
assert_close(dot(x, y), torch.tensor(12.0), name="dot([1, 2, 3], [4, -5, 6])")
assert_close(dot(x, x), torch.tensor(14.0), name="dot([1, 2, 3], [1, 2, 3])")
X = torch.tensor([[1.0, 0.0], [0.0, 2.0], [3.0, 4.0]])  # 3 pairs of 2-D vectors
Y = torch.tensor([[5.0, 6.0], [7.0, 8.0], [1.0, 1.0]])
assert_close(dot(X, Y), torch.tensor([5.0, 16.0, 7.0]),
             name="dot of a batch of 3 pairs (one dot product per row)")
### BEGIN HIDDEN TESTS
builtins = ("torch.dot", "torch.Tensor.dot", "torch.vdot", "torch.Tensor.vdot",
            "torch.inner", "torch.Tensor.inner", "torch.linalg.vecdot",
            "torch.matmul", "torch.Tensor.matmul", "torch.Tensor.__matmul__",
            "torch.Tensor.__rmatmul__", "torch.mm", "torch.Tensor.mm", "torch.mv",
            "torch.Tensor.mv", "torch.bmm", "torch.Tensor.bmm", "torch.tensordot",
            "torch.einsum")
gen = torch.Generator().manual_seed(101)
for shape_x, shape_y in [((7,), (7,)), ((1, 5), (1, 5)), ((3, 5), (3, 5)),
                         ((4, 1, 6), (3, 6)), ((2, 3, 9), (9,)), ((1,), (1,))]:
    a = torch.randn(shape_x, generator=gen, dtype=torch.float64)
    b = torch.randn(shape_y, generator=gen, dtype=torch.float64)
    with forbid(*builtins):
        got = dot(a, b)
    assert_close(got, torch.linalg.vecdot(a, b), rtol=1e-10, atol=1e-12,
                 name=f"dot on shapes {shape_x} and {shape_y}")
empty = torch.zeros(0, dtype=torch.float64)
assert_close(dot(empty, empty), torch.tensor(0.0, dtype=torch.float64),
             name="dot of two empty vectors")
a = torch.randn(5, 8, generator=gen).to(device)
b = torch.randn(5, 8, generator=gen).to(device)
with forbid(*builtins):
    got = dot(a, b)
assert got.device == a.device, f"dot: expected device {a.device}, got {got.device}"
assert_close(got, torch.linalg.vecdot(a.double(), b.double()).float(), rtol=1e-5,
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
# ### Exercise 2 (1 point): `l2_norm`
# Compute the L2 norm along the last dimension with elementary operations. The
# hidden tests forbid `torch.norm`, `Tensor.norm`, `torch.linalg.norm`,
# `torch.linalg.vector_norm` and `torch.dist`.

# %% grade_id="ch01-l2-norm"
def l2_norm(x):
    """Euclidean (L2) norm of x along its last dimension.

    Args:
        x: float tensor of shape (..., D).

    Returns:
        Tensor of shape (...) with the dtype and device of x:
        ``sqrt(sum over i of x[..., i] ** 2)``. A 1-D input gives a 0-d tensor.
        The zero vector has norm 0 (not NaN), and so does an empty vector (D = 0).
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
"""l2_norm: Pythagoras, one norm per row, zero and empty vectors give 0, matches
torch.linalg.vector_norm on several shapes, keeps dtype and device, and does not
call a built-in norm."""
assert_close(l2_norm(torch.tensor([3.0, 4.0])), torch.tensor(5.0),
             name="l2_norm([3, 4])")
batch = torch.tensor([[3.0, 4.0], [0.0, 0.0], [1.0, -1.0]])
assert_close(l2_norm(batch), torch.tensor([5.0, 0.0, 2.0 ** 0.5]),
             name="l2_norm of rows [3, 4], [0, 0], [1, -1]")
### BEGIN HIDDEN TESTS
builtins = ("torch.norm", "torch.Tensor.norm", "torch.linalg.norm",
            "torch.linalg.vector_norm", "torch.dist")
gen = torch.Generator().manual_seed(102)
for shape in [(7,), (1, 5), (3, 5), (2, 3, 9), (1,)]:
    a = torch.randn(shape, generator=gen, dtype=torch.float64)
    with forbid(*builtins):
        got = l2_norm(a)
    assert_close(got, torch.linalg.vector_norm(a, dim=-1), rtol=1e-10, atol=1e-12,
                 name=f"l2_norm on shape {shape}")
assert_close(l2_norm(torch.zeros(4, 3, dtype=torch.float64)),
             torch.zeros(4, dtype=torch.float64), name="l2_norm of zero vectors")
assert_close(l2_norm(torch.zeros(0, dtype=torch.float64)),
             torch.tensor(0.0, dtype=torch.float64), name="l2_norm of an empty vector")
a = torch.randn(6, 4, generator=gen).to(device)
with forbid(*builtins):
    got = l2_norm(a)
assert got.device == a.device, f"l2_norm: expected device {a.device}, got {got.device}"
assert_close(got, torch.linalg.vector_norm(a.double(), dim=-1).float(), rtol=1e-5,
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
# ### Exercise 3 (2 points): `cosine_similarity`
# You may use your `dot` and `l2_norm`. The hidden tests forbid
# `F.cosine_similarity`.

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
"""cosine_similarity: parallel, opposite and orthogonal vectors, scale invariance,
zero vectors give 0, matches F.cosine_similarity(dim=-1) on several shapes with
broadcasting, keeps dtype and device, and does not call the built-in."""
x = torch.tensor([1.0, 2.0, 2.0])
assert_close(cosine_similarity(x, 3.0 * x), torch.tensor(1.0),
             name="cosine of x and 3x (same direction)")
assert_close(cosine_similarity(x, -x), torch.tensor(-1.0), name="cosine of x and -x")
assert_close(cosine_similarity(x, torch.tensor([2.0, -1.0, 0.0])), torch.tensor(0.0),
             atol=1e-7, name="cosine of orthogonal vectors")
y = torch.tensor([3.0, 0.0, 4.0])
assert_close(cosine_similarity(x, y), torch.tensor(11.0 / 15.0),
             name="cosine([1, 2, 2], [3, 0, 4]) = 11 / (3 * 5)")
assert_close(cosine_similarity(torch.zeros(3), y), torch.tensor(0.0),
             name="cosine with the zero vector (defined as 0)")
### BEGIN HIDDEN TESTS
builtins = ("torch.nn.functional.cosine_similarity", "torch.cosine_similarity")
gen = torch.Generator().manual_seed(103)
for shape_x, shape_y in [((7,), (7,)), ((1, 5), (1, 5)), ((3, 5), (3, 5)),
                         ((4, 1, 6), (3, 6)), ((2, 3, 9), (9,))]:
    a = torch.randn(shape_x, generator=gen, dtype=torch.float64)
    b = torch.randn(shape_y, generator=gen, dtype=torch.float64)
    with forbid(*builtins):
        got = cosine_similarity(a, b)
    assert_close(got, F.cosine_similarity(a, b, dim=-1), rtol=1e-9, atol=1e-12,
                 name=f"cosine_similarity on shapes {shape_x} and {shape_y}")
a = torch.randn(4, 5, generator=gen, dtype=torch.float64)
b = torch.randn(4, 5, generator=gen, dtype=torch.float64)
a[1] = 0.0
b[2] = 0.0
expected = F.cosine_similarity(a, b, dim=-1)
expected[1:3] = 0.0
assert_close(cosine_similarity(a, b), expected, rtol=1e-9, atol=1e-12,
             name="cosine_similarity of a batch whose rows 1 (x) and 2 (y) are zero")
assert_close(cosine_similarity(torch.zeros(3, dtype=torch.float64),
                               torch.zeros(3, dtype=torch.float64)),
             torch.tensor(0.0, dtype=torch.float64),
             name="cosine_similarity of two zero vectors")
a = 100.0 * torch.randn(3, 4, generator=gen, dtype=torch.float64)
assert_close(cosine_similarity(a, 0.01 * a), torch.ones(3, dtype=torch.float64),
             rtol=1e-9, name="cosine_similarity(x, 0.01 x) with large x")
a = torch.randn(6, 4, generator=gen).to(device)
b = torch.randn(6, 4, generator=gen).to(device)
with forbid(*builtins):
    got = cosine_similarity(a, b)
assert got.device == a.device, (
    f"cosine_similarity: expected device {a.device}, got {got.device}")
assert_close(got, F.cosine_similarity(a.double(), b.double(), dim=-1).float(),
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
# ### Exercise 4 (2 points): `linear_forward`
# Write the forward pass of a linear layer. Here `@` is allowed (this exercise
# is about shapes), but `F.linear` and `nn.Linear` are not.

# %% grade_id="ch01-linear-forward"
def linear_forward(x, W, b=None):
    """Forward pass of a fully connected layer, exactly like ``F.linear(x, W, b)``.

    Args:
        x: float tensor of shape (..., in): any number of leading batch
            dimensions, including none (a single vector of shape (in,)).
        W: weight matrix of shape (out, in), the layout of ``nn.Linear.weight``.
        b: bias of shape (out,), or None for a layer without bias.

    Returns:
        Tensor of shape (..., out) with the dtype and device of x:
        ``y[..., i] = sum over j of x[..., j] * W[i, j] + b[i]``.
    """
    ### BEGIN SOLUTION
    y = x @ W.T  # (..., in) @ (in, out) -> (..., out)
    if b is not None:
        y = y + b  # (out,) broadcasts over the leading dimensions
    return y
    ### END SOLUTION


# %% [markdown]
# Try it: copy the parameters of a real `nn.Linear` layer and compare.

# %%
torch.manual_seed(0)
layer = torch.nn.Linear(in_features=3, out_features=2)
batch = torch.randn(4, 3)  # N = 4 examples with 3 features each
with torch.no_grad():
    ours = linear_forward(batch, layer.weight, layer.bias)
    theirs = layer(batch)
print("weight shape:", tuple(layer.weight.shape), "| output shape:", tuple(ours.shape))
print("max difference from nn.Linear:", (ours - theirs).abs().max().item())

# %% grade_id="ch01-linear-forward-tests" points=2
"""linear_forward: a hand-computed example, batch shapes, no bias, matches F.linear
on several shapes (distinct in/out sizes), keeps dtype and device, and does not
call F.linear."""
W = torch.tensor([[1.0, 0.0, 2.0],
                  [0.0, 3.0, -1.0]])  # out = 2, in = 3
b = torch.tensor([0.5, -1.0])
x = torch.tensor([1.0, 2.0, 3.0])
assert_close(linear_forward(x, W, b), torch.tensor([7.5, 2.0]),
             name="linear_forward(x, W, b) for a single vector")
batch = torch.stack([x, -x, torch.zeros(3), x])  # (4, 3)
got = linear_forward(batch, W, b)
assert_shape(got, (4, 2), name="linear_forward on a batch of 4 vectors of size 3")
assert_close(got, torch.tensor([[7.5, 2.0], [-6.5, -4.0], [0.5, -1.0], [7.5, 2.0]]),
             name="linear_forward on a batch (one row per example)")
assert_close(linear_forward(batch, W, None), got - b, name="linear_forward, b=None")
### BEGIN HIDDEN TESTS
gen = torch.Generator().manual_seed(104)
for shape_x, n_out in [((7, 5), 3), ((1, 5), 3), ((5,), 4), ((2, 4, 6), 3),
                       ((3, 4), 4)]:
    a = torch.randn(shape_x, generator=gen, dtype=torch.float64)
    weight = torch.randn(n_out, shape_x[-1], generator=gen, dtype=torch.float64)
    bias = torch.randn(n_out, generator=gen, dtype=torch.float64)
    for use_bias in (True, False):
        bb = bias if use_bias else None
        with forbid("torch.nn.functional.linear"):
            got = linear_forward(a, weight, bb)
        assert_close(got, F.linear(a, weight, bb), rtol=1e-10, atol=1e-12,
                     name=f"linear_forward: x {shape_x}, W {tuple(weight.shape)}, "
                          f"bias {'given' if use_bias else 'None'}")
a = torch.randn(6, 5, generator=gen).to(device)
weight = torch.randn(3, 5, generator=gen).to(device)
bias = torch.randn(3, generator=gen).to(device)
with forbid("torch.nn.functional.linear"):
    got = linear_forward(a, weight, bias)
assert got.device == a.device, (
    f"linear_forward: expected device {a.device}, got {got.device}")
assert_close(got, F.linear(a.double(), weight.double(), bias.double()).float(),
             rtol=1e-5, atol=1e-5,
             name="linear_forward on float32 input (dtype must stay float32)")
### END HIDDEN TESTS

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
#    matters: $\lambda_1^k$ overflows to `inf` after a few hundred steps in
#    `float64`, and much sooner in `float32`;
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
# ### Exercise 5 (3 points): `power_iteration`
# The hidden tests forbid `torch.linalg.eigh`, `eig`, `eigvals`, `eigvalsh`,
# `svd`, `svdvals`, `torch.svd` and `torch.lobpcg`.

# %% grade_id="ch01-power-iteration"
def power_iteration(A, num_iters):
    """Dominant eigenvalue and eigenvector of a symmetric matrix by power iteration.

    Args:
        A: symmetric float tensor of shape (D, D) (A == A.T) whose dominant
            eigenvalue is unique: exactly one eigenvalue has the largest absolute
            value. It may be negative.
        num_iters: number of multiplications by A (an int >= 1).

    Returns:
        (eigenvalue, eigenvector), both with the dtype and device of A:
        eigenvalue: 0-d tensor, the eigenvalue of largest absolute value, with
            its sign (the Rayleigh quotient v^T A v of the returned vector).
        eigenvector: tensor of shape (D,) with L2 norm 1. Its sign is arbitrary:
            the tests accept v and -v.

    Start from a fixed vector, e.g. ``torch.randn(D, generator=g)`` with
    ``g = torch.Generator().manual_seed(0)``, so the result is deterministic. The
    tests use matrices with |lambda_2 / lambda_1| <= 0.5 and enough iterations to
    converge to about 1e-10 (float64) or 1e-5 (float32) from any start vector
    that is not orthogonal to the dominant eigenvector.
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
# error of `float64`, about $10^{-16}$.

# %%
def random_symmetric(eigenvalues, seed):
    """A symmetric matrix with the given eigenvalues and random eigenvectors."""
    gen = torch.Generator().manual_seed(seed)
    D = len(eigenvalues)
    Q, _ = torch.linalg.qr(torch.randn(D, D, generator=gen, dtype=torch.float64))
    return Q @ torch.diag(torch.tensor(eigenvalues, dtype=torch.float64)) @ Q.T, Q


fig, ax = plt.subplots(figsize=(6, 3.5))
steps = list(range(1, 41))
for ratio in (0.9, 0.7, 0.4):
    spectrum = [1.0, ratio] + torch.linspace(ratio - 0.05, 0.0, 28).tolist()
    A, Q = random_symmetric(spectrum, seed=7)
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
"""power_iteration: small matrices with known answers (including a negative dominant
eigenvalue), then random symmetric matrices against torch.linalg.eigh: eigenvalue
with its sign, eigenvector up to sign, unit norm, no overflow after many
iterations, dtype and device kept, and no built-in eigensolver."""
value, vector = power_iteration(torch.tensor([[3.0, 0.0], [0.0, 1.0]]), 50)
assert_close(value, torch.tensor(3.0), rtol=1e-4, name="eigenvalue of diag(3, 1)")
assert_close(vector.abs(), torch.tensor([1.0, 0.0]), atol=1e-4,
             name="eigenvector of diag(3, 1), up to sign")
A = torch.tensor([[2.0, 1.0], [1.0, 2.0]])
value, vector = power_iteration(A, 50)
assert_close(value, torch.tensor(3.0), rtol=1e-4, name="eigenvalue of [[2, 1], [1, 2]]")
assert_close(vector * vector.sum().sign(), torch.tensor([0.5, 0.5]).sqrt(), atol=1e-4,
             name="eigenvector of [[2, 1], [1, 2]], up to sign")
value, vector = power_iteration(torch.tensor([[1.0, 0.0], [0.0, -4.0]]), 50)
assert_close(value, torch.tensor(-4.0), rtol=1e-4,
             name="eigenvalue of diag(1, -4) (the dominant one is negative)")
assert_close(vector.abs(), torch.tensor([0.0, 1.0]), atol=1e-4,
             name="eigenvector of diag(1, -4), up to sign")
### BEGIN HIDDEN TESTS
builtins = ("torch.linalg.eigh", "torch.linalg.eig", "torch.linalg.eigvals",
            "torch.linalg.eigvalsh", "torch.linalg.svd", "torch.linalg.svdvals",
            "torch.svd", "torch.lobpcg")


def check_power_iteration(A, num_iters, rtol, atol, label):
    """Compare power_iteration(A) with eigh: eigenvalue, eigenvector up to sign."""
    values, vectors = torch.linalg.eigh(A.double().cpu())
    top = values.abs().argmax()
    with forbid(*builtins):
        value, vector = power_iteration(A, num_iters)
    assert_shape(vector, (A.shape[0],), name=f"{label}: eigenvector")
    assert vector.device == A.device, (
        f"{label}: expected the eigenvector on {A.device}, got {vector.device}")
    assert_close(value, values[top].to(A.dtype), rtol=rtol, atol=atol,
                 name=f"{label}: eigenvalue")
    assert_close(vector.double().square().sum().sqrt().cpu(),
                 torch.tensor(1.0, dtype=torch.float64), rtol=rtol, atol=atol,
                 name=f"{label}: norm of the eigenvector")
    expected = vectors[:, top]
    sign = 1.0 if (vector.double().cpu() @ expected) >= 0 else -1.0
    assert_close(sign * vector, expected.to(A.dtype), rtol=0.0, atol=atol,
                 name=f"{label}: eigenvector (compared up to sign)")


gen = torch.Generator().manual_seed(105)
spectra = {"positive dominant": [4.0, -2.0, 1.5, 1.0, 0.5, -0.25],
           "negative dominant": [-5.0, 2.5, 2.0, -1.0, 0.5, 0.3, 0.2, 0.1, 0.0],
           "large eigenvalues": [40.0, 20.0, -15.0, 3.0, 1.0, 0.5, -0.5]}
for label, spectrum in spectra.items():
    size = len(spectrum)
    basis = torch.randn(size, size, generator=gen, dtype=torch.float64)
    Q, _ = torch.linalg.qr(basis)  # random orthonormal eigenvectors
    A = Q @ torch.diag(torch.tensor(spectrum, dtype=torch.float64)) @ Q.T
    A = (A + A.T) / 2  # exactly symmetric
    num_iters = 500 if label == "large eigenvalues" else 200
    check_power_iteration(A, num_iters, rtol=1e-9, atol=1e-9,
                          label=f"{label} ({size}x{size}, {num_iters} iterations)")
check_power_iteration(torch.tensor([[-3.0]], dtype=torch.float64), 5, rtol=1e-12,
                      atol=1e-12, label="1x1 matrix [[-3]]")
Q, _ = torch.linalg.qr(torch.randn(5, 5, generator=gen, dtype=torch.float64))
A = Q @ torch.diag(torch.tensor([6.0, 3.0, -2.0, 1.0, 0.5], dtype=torch.float64)) @ Q.T
A = ((A + A.T) / 2).float().to(device)
check_power_iteration(A, 150, rtol=1e-4, atol=1e-4,
                      label="float32 5x5 matrix (dtype must stay float32)")
### END HIDDEN TESTS

# %% [markdown]
# ## 1.9 Principal component analysis (PCA)
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
# 4. Stack the top $k$ eigenvectors as the rows of a $k \times D$ matrix $V_k$
#    and **project**: $Z = X_c V_k^\top$, of shape $N \times k$.
#
# The same components come out of the singular value decomposition
# $X_c = U S V^\top$: the rows of $V^\top$ are the eigenvectors of $C$ and
# $\lambda_i = s_i^2 / (N-1)$. The SVD is the more accurate route when $D$ is
# large, and it is what scikit-learn uses; both routes are fine here.
#
# We store the components as rows, shape `(k, D)`, like scikit-learn's
# `PCA.components_`, so `projected = X_c @ components.T` and the
# approximate reconstruction is `projected @ components + mean`. Each component is
# only defined up to its sign; the tests accept either sign as long as the
# projected coordinates use the same one.
#
# ### Exercise 6 (3 points): `pca`
# Use `torch.linalg.eigh` (mind its ascending order and its columns) or
# `torch.linalg.svd`; `torch.pca_lowrank` is forbidden.

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

    The tests use data whose top k variances are distinct, so that the
    components are unique up to sign.
    """
    ### BEGIN SOLUTION
    N, D = X.shape
    if not 1 <= k <= D:
        raise ValueError(f"k must be between 1 and D = {D}, got {k}")
    centred = X - X.mean(dim=0)  # (N, D)
    covariance = centred.T @ centred / (N - 1)  # (D, D), symmetric
    _, eigenvectors = torch.linalg.eigh(covariance)  # ascending, one per column
    components = eigenvectors[:, -k:].flip(-1).T  # (k, D), largest variance first
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
"""pca: shapes, orthonormal components, a known 2-D direction, centring, then random
data against an SVD: components up to sign and in order of decreasing variance,
matching projections, invalid k, dtype and device kept."""
t = torch.linspace(-2.0, 2.0, 9)
line = torch.stack([t, 2.0 * t], dim=1) + torch.tensor([10.0, 4.0])  # (9, 2)
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
projected, components = pca(cloud, 3)
assert_shape(components, (3, 4), name="components for X of shape (50, 4), k = 3")
assert_close(components @ components.T, torch.eye(3), atol=1e-5,
             name="components @ components.T (rows must be orthonormal)")
### BEGIN HIDDEN TESTS
def check_pca(X, k, rtol, atol, label):
    """Compare pca(X, k) with the SVD of the centred data, up to sign per row."""
    X64 = X.double().cpu()
    centred = X64 - X64.mean(dim=0)
    _, _, Vh = torch.linalg.svd(centred, full_matrices=False)
    expected_components = Vh[:k]  # (k, D), decreasing singular values
    expected_projected = centred @ expected_components.T
    with forbid("torch.pca_lowrank"):
        projected, components = pca(X, k)
    assert_shape(projected, (X.shape[0], k), name=f"{label}: projected")
    assert_shape(components, (k, X.shape[1]), name=f"{label}: components")
    for name, value in (("projected", projected), ("components", components)):
        assert value.dtype == X.dtype, (
            f"{label}: expected {name} of dtype {X.dtype}, got {value.dtype}")
        assert value.device == X.device, (
            f"{label}: expected {name} on {X.device}, got {value.device}")
    # Flip each row of ours to agree with the reference before comparing.
    signs = torch.where((components.double().cpu() * expected_components).sum(1) >= 0,
                        1.0, -1.0).to(torch.float64)
    assert_close(components.double().cpu() * signs[:, None], expected_components,
                 rtol=rtol, atol=atol,
                 name=f"{label}: components (rows compared up to sign, "
                      f"largest variance first)")
    assert_close(projected.double().cpu() * signs, expected_projected, rtol=rtol,
                 atol=atol, name=f"{label}: projected (columns compared up to sign)")


gen = torch.Generator().manual_seed(106)
D = 6
R, _ = torch.linalg.qr(torch.randn(D, D, generator=gen, dtype=torch.float64))
scales = torch.tensor([6.0, 4.0, 3.0, 2.0, 1.0, 0.5], dtype=torch.float64)
X = (torch.randn(40, D, generator=gen, dtype=torch.float64) * scales) @ R + 5.0
for k in (1, 3, D):
    check_pca(X, k, rtol=1e-8, atol=1e-8, label=f"X (40, 6) with mean 5, k = {k}")
check_pca(X[:, :5] - 20.0, 2, rtol=1e-8, atol=1e-8, label="X (40, 5), k = 2")
expect_raises(ValueError, pca, X, 0, name="pca(X, k=0)")
expect_raises(ValueError, pca, X, D + 1, name="pca(X, k=D+1)")
check_pca(X.float().to(device), 3, rtol=1e-4, atol=1e-4,
          label="float32 X (dtype must stay float32)")
### END HIDDEN TESTS

# %% [markdown]
# ## Summary
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
# * **PCA** = centre, take the top eigenvectors of the covariance matrix (or the
#   right singular vectors of the centred data), project.
# * Use `torch.linalg.vector_norm` rather than the deprecated `torch.norm`.
#
# **Going further.** *Linear Algebra Done Right* (Axler) for the theory; the
# *Matrix Cookbook* for identities; Gilbert Strang's MIT 18.06 lectures; chapter 2
# of *Deep Learning* (Goodfellow, Bengio, Courville), which derives PCA from a
# reconstruction loss instead of the variance.
