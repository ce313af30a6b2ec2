"""Named groups of built-ins that an exercise may not call (see ``forbid``).

Each group is a tuple of dotted paths for ``dlcourse.checks.forbid``: torch's
functions, Tensor methods and operators, and their numpy and scipy
equivalents, so that every chapter forbids the same things for the same kind
of exercise. Tuples (not lists) so that nothing can change them in place;
``tests/test_dlcourse.py`` checks that every path exists. Add a group here when
a second exercise needs it. Import them from ``dlcourse.checks``.
"""

from __future__ import annotations

import importlib.util


def _optional(module: str, *names: str) -> tuple[str, ...]:
    """``module.name`` paths, or nothing when ``module`` is not installed."""
    # find_spec looks the package up without importing it (scipy is slow to load)
    if importlib.util.find_spec(module.split(".")[0]) is None:
        return ()
    return tuple(f"{module}.{name}" for name in names)


def _both(*names: str) -> tuple[str, ...]:
    """``torch.name`` and the method ``torch.Tensor.name`` for each name."""
    return tuple(p for n in names for p in (f"torch.{n}", f"torch.Tensor.{n}"))


# --- named groups of built-ins that exercises may not call ---------------------
# Each group is a tuple of dotted paths for ``forbid``. Tuples (not lists) so
# nothing can change them in place; ``tests/test_dlcourse.py`` checks that every
# path exists. Chapters add a group here when two exercises need the same one.
# Two paths may name the same object (``F.conv1d`` is ``torch.conv1d``):
# ``forbid`` keeps every original before it replaces anything, in any order.
_F = "torch.nn.functional."
#: Dot, matrix and tensor products (chapter 01: dot, cosine similarity).
DOT_PRODUCTS = (
    *_both("dot", "vdot", "inner", "matmul", "mm", "mv", "bmm"),
    "torch.Tensor.__matmul__", "torch.Tensor.__rmatmul__",
    "torch.linalg.vecdot", "torch.linalg.matmul", "torch.tensordot", "torch.einsum",
    "torch.nn.functional.linear", "torch.nn.functional.bilinear",
    "numpy.dot", "numpy.vdot", "numpy.inner", "numpy.matmul", "numpy.einsum",
    "numpy.tensordot",
)
#: Vector norms and distances (chapter 01: l2_norm).
NORMS = (
    *_both("norm"), "torch.linalg.norm", "torch.linalg.vector_norm", "torch.dist",
    "torch.cdist", _F + "normalize", _F + "pairwise_distance", "numpy.linalg.norm",
    *_optional("scipy.linalg", "norm"),
)
#: Cosine similarity (chapter 01).
COSINE_SIMILARITIES = ("torch.cosine_similarity", _F + "cosine_similarity",
                       *_optional("scipy.spatial.distance", "cosine"))
#: Eigen- and singular-value solvers (chapter 01: power_iteration). An exercise
#: that rebuilds a solver forbids all of them: an SVD of a symmetric matrix also
#: gives its eigenvectors.
EIGENSOLVERS = (
    "torch.linalg.eigh", "torch.linalg.eig", "torch.linalg.eigvals",
    "torch.linalg.eigvalsh", "torch.linalg.svd", "torch.linalg.svdvals", "torch.svd",
    "torch.Tensor.svd", "torch.lobpcg", "torch.svd_lowrank", "torch.pca_lowrank",
    "numpy.linalg.eigh", "numpy.linalg.eig", "numpy.linalg.eigvals",
    "numpy.linalg.eigvalsh", "numpy.linalg.svd",
    *_optional("scipy.linalg", "eigh", "eig", "eigvals", "eigvalsh", "svd",
               "svdvals", "eigh_tridiagonal"),
    *_optional("scipy.sparse.linalg", "eigsh", "eigs", "svds", "lobpcg"),
)
#: Ready-made PCA (chapter 01: pca may use an SVD, not a PCA routine).
PCA_ROUTINES = ("torch.pca_lowrank", *_optional("sklearn.decomposition", "PCA"))
#: Autograd, for exercises that derive a gradient by hand (chapter 02).
AUTOGRAD = (
    "torch.autograd.grad", "torch.autograd.backward", "torch.Tensor.backward",
    "torch.autograd.functional.jacobian", "torch.autograd.functional.vjp",
    "torch.autograd.functional.hessian", "torch.func.grad", "torch.func.vjp",
    "torch.func.jvp", "torch.func.jacrev", "torch.func.jacfwd", "torch.func.hessian",
)
#: ReLU and what computes it in one call (chapter 00).
RELUS = (
    *_both("relu", "relu_", "clamp", "clamp_", "clamp_min", "clip"),
    _F + "relu", _F + "relu_", _F + "threshold", "torch.threshold",
    "numpy.maximum", "numpy.clip",
)
#: The logistic sigmoid and its relatives (chapter 02).
SIGMOIDS = (*_both("sigmoid", "sigmoid_"), "torch.special.expit", _F + "sigmoid",
            _F + "logsigmoid", _F + "silu", *_optional("scipy.special", "expit"))
#: Variance and standard deviation (chapter 03: sample_variance).
VARIANCES = (*_both("var", "std", "cov"), "torch.var_mean", "torch.std_mean",
             "numpy.var", "numpy.std", "numpy.cov", "numpy.nanvar")
#: Softmax, log-softmax and log-sum-exp (chapter 03: log_softmax).
SOFTMAXES = (
    *_both("softmax", "log_softmax", "logsumexp"), _F + "softmax", _F + "log_softmax",
    "torch.special.softmax", "torch.special.log_softmax", "torch.special.logsumexp",
    *_optional("scipy.special", "softmax", "log_softmax", "logsumexp"),
)
#: Entropy in one call (chapter 03), including x log y, which is the whole sum's
#: term: an exercise on entropy asks for that term to be written out.
ENTROPIES = (
    "torch.special.entr", *_both("xlogy"), "torch.special.xlogy",
    "torch.distributions.Categorical.entropy",
    "torch.distributions.OneHotCategorical.entropy",
    *_optional("scipy.special", "entr", "xlogy", "rel_entr", "kl_div"),
    *_optional("scipy.stats", "entropy"),
)
#: KL divergence in one call (chapter 03).
KL_DIVERGENCES = ("torch.distributions.kl.kl_divergence",
                  "torch.distributions.kl_divergence", _F + "kl_div",
                  *_optional("scipy.special", "rel_entr", "kl_div"))
#: Cross-entropy losses and log-likelihoods of a categorical (chapter 03).
CROSS_ENTROPY_LOSSES = (
    _F + "cross_entropy", _F + "nll_loss", "torch.distributions.Categorical.log_prob",
    "torch.distributions.OneHotCategorical.log_prob",
)
#: Binary cross-entropy losses, on logits or probabilities (chapter 20: GAN losses).
BCE_LOSSES = (_F + "binary_cross_entropy_with_logits", _F + "binary_cross_entropy",
              "torch.binary_cross_entropy_with_logits",
              "torch.nn.BCEWithLogitsLoss.forward", "torch.nn.BCELoss.forward",
              "torch.distributions.Bernoulli.log_prob")
#: Convolutions and transposed convolutions (chapter 09 and later; chapter 20).
CONVOLUTIONS = (
    "torch.conv1d", "torch.conv2d", "torch.conv3d", "torch.conv_transpose1d",
    "torch.conv_transpose2d", "torch.conv_transpose3d", "torch.convolution",
    _F + "conv1d", _F + "conv2d", _F + "conv3d", _F + "conv_transpose1d",
    _F + "conv_transpose2d", _F + "conv_transpose3d",
    "numpy.convolve", "numpy.correlate",
    *_optional("scipy.signal", "convolve", "convolve2d", "correlate", "correlate2d",
               "fftconvolve", "oaconvolve"),
    *_optional("scipy.ndimage", "convolve", "correlate", "convolve1d", "correlate1d"),
)
#: Pooling (chapter 09 and later).
POOLINGS = (_F + "max_pool2d", _F + "max_pool2d_with_indices", "torch.max_pool2d",
            _F + "avg_pool2d", "torch.nn.functional.adaptive_max_pool2d",
            "torch.nn.functional.adaptive_avg_pool2d")
#: Attention (chapters 11 and 22).
ATTENTIONS = (_F + "scaled_dot_product_attention", _F + "multi_head_attention_forward",
              "torch.nn.MultiheadAttention.forward")
#: Normalisation layers (chapter 12).
NORMALIZATIONS = (_F + "batch_norm", "torch.batch_norm", "torch.native_batch_norm",
                  _F + "layer_norm", "torch.layer_norm", "torch.native_layer_norm",
                  _F + "group_norm", "torch.group_norm", _F + "instance_norm",
                  "torch.instance_norm", _F + "rms_norm")
#: Recurrent cells (chapter 10).
RECURRENT_CELLS = ("torch.rnn_tanh_cell", "torch.rnn_relu_cell", "torch.lstm_cell",
                   "torch.gru_cell", "torch.rnn_tanh", "torch.lstm", "torch.gru",
                   "torch.nn.RNNCell.forward", "torch.nn.LSTMCell.forward",
                   "torch.nn.GRUCell.forward")
#: The group names, for tests and for authors looking for one.
GROUPS = ("DOT_PRODUCTS", "NORMS", "COSINE_SIMILARITIES", "EIGENSOLVERS",
          "PCA_ROUTINES", "AUTOGRAD", "RELUS", "SIGMOIDS", "VARIANCES", "SOFTMAXES",
          "ENTROPIES", "KL_DIVERGENCES", "CROSS_ENTROPY_LOSSES", "BCE_LOSSES",
          "CONVOLUTIONS",
          "POOLINGS", "ATTENTIONS", "NORMALIZATIONS", "RECURRENT_CELLS")
