"""Offline datasets (introduced in chapter 00).

Every loader works without a network: the data ships inside scikit-learn.
"""

from __future__ import annotations

import torch

_TABULAR = ("breast_cancer", "diabetes", "wine", "iris")


def _sklearn_datasets():
    try:
        from sklearn import datasets
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ImportError(
            "the course's offline datasets come from scikit-learn, which is not "
            "installed: run the set-up command from README.md"
        ) from err
    return datasets


def load_digits(images: bool = False, dtype: torch.dtype = torch.float32):
    """The 1,797 handwritten digits bundled with scikit-learn.

    Returns ``(X, y)``: ``X`` has shape (1797, 64), or (1797, 1, 8, 8) when
    ``images`` is true, with pixel values scaled to [0, 1]; ``y`` is an int64
    tensor of labels 0-9 with shape (1797,).
    """
    bunch = _sklearn_datasets().load_digits()
    X = torch.tensor(bunch.data, dtype=dtype) / 16.0
    if images:
        X = X.reshape(-1, 1, 8, 8)
    return X, torch.tensor(bunch.target, dtype=torch.int64)


def load_tabular(name: str, dtype: torch.dtype = torch.float32):
    """A small tabular dataset bundled with scikit-learn.

    ``name`` is one of ``"breast_cancer"``, ``"diabetes"``, ``"wine"``,
    ``"iris"``. Returns ``(X, y, feature_names)`` with ``X`` of shape (N, D);
    ``y`` is int64 class labels, except for ``diabetes`` (a float regression
    target).
    """
    if name not in _TABULAR:
        raise ValueError(f"unknown dataset {name!r}: expected one of {_TABULAR}")
    bunch = getattr(_sklearn_datasets(), f"load_{name}")()
    X = torch.tensor(bunch.data, dtype=dtype)
    y_dtype = dtype if name == "diabetes" else torch.int64
    return X, torch.tensor(bunch.target, dtype=y_dtype), list(bunch.feature_names)


def train_test_split(X: torch.Tensor, y: torch.Tensor, test_fraction: float = 0.2,
                     seed: int = 0):
    """Shuffle with a fixed seed and split into ``(X_train, X_test, y_train, y_test)``.

    ``test_fraction`` must lie strictly between 0 and 1; the test part gets
    ``round(len(X) * test_fraction)`` rows (at least one).
    """
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(X), generator=generator).to(X.device)
    n_test = max(1, round(len(X) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]


def load_python_docs_chars(train_fraction: float = 0.9):
    """Python's bundled documentation as a character corpus (chapters 10, 23).

    The text is ``pydoc_data.topics`` joined in sorted key order (what
    ``help("assert")`` shows; offline, its size depends on the Python version),
    one token per character, split without shuffling: the first
    ``train_fraction`` for training, the rest for validation.

    Returns ``(corpus, chars, train_ids, val_ids)``: the text, its sorted
    distinct characters (token i is ``chars[i]``) and two int64 tensors of ids.
    """
    from pydoc_data.topics import topics

    corpus = "".join(topics[key] for key in sorted(topics))
    chars = sorted(set(corpus))
    char_to_index = {c: i for i, c in enumerate(chars)}
    encoded = torch.tensor([char_to_index[c] for c in corpus])
    split = int(train_fraction * len(encoded))
    return corpus, chars, encoded[:split], encoded[split:]
