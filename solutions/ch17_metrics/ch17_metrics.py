# %% [markdown]
# # Chapter 17: Metrics and evaluation
#
# A training loss tells the optimiser which way to move; a **metric** tells
# people whether the model is any good. The two are rarely the same number:
# cross-entropy is smooth and differentiable, while "how many tumours did we
# miss?" is a count. This chapter writes the standard metrics of
# classification and regression from their definitions, checks every one of
# them against scikit-learn, and shows where each of them misleads: accuracy
# on imbalanced data, averages that hide a weak class, a threshold picked
# without looking, a test score quoted without its uncertainty.
#
# **You will learn**
# - how to evaluate a model properly: evaluation mode, no gradients, every
#   prediction collected before a metric is computed (and why averaging
#   per-batch metrics gives the wrong number);
# - accuracy and top-$k$ accuracy, the confusion matrix (rows are the true
#   classes, columns the predicted ones), precision, recall and $F_1$, and the
#   four ways to average them over classes: binary, micro, macro, weighted;
# - why accuracy misleads on imbalanced data, and what to report instead;
# - decision thresholds, the ROC and precision-recall curves, and the ROC AUC
#   as a probability, with tied scores handled exactly; calibration;
# - metrics for multi-label problems (Hamming loss, subset accuracy);
# - MSE, MAE, RMSE and $R^2$ for regression, and what each one punishes;
# - how uncertain a test-set score is (standard error and the bootstrap).
#
# **Graded exercises** (14 points)
#
# | exercise | points |
# |---|---|
# | `accuracy(y_true, y_pred, k)` | 2 |
# | `confusion_matrix(y_true, y_pred, num_classes)` | 2 |
# | `precision_recall_f1(y_true, y_pred, average)` | 4 |
# | `roc_auc(y_true, scores)` | 3 |
# | `regression_metrics(y_true, y_pred)` | 3 |
#
# Each exercise is a function whose docstring states its whole contract:
# shapes, dtypes, devices, edge cases and the built-ins you may not call.
# Replace `raise NotImplementedError()` with your code and run the test cell
# below it. The visible tests show every rule the grader checks; hidden tests
# repeat them on other values, shapes and seeds, and compare with
# scikit-learn's `sklearn.metrics` on inputs you have not seen.

# %%
import math
import warnings

import matplotlib.pyplot as plt
import sklearn.metrics
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from dlcourse import get_device, progress, set_seed
from dlcourse.checks import assert_close, assert_shape, expect_raises, forbid
from dlcourse.data import load_digits, load_tabular, train_test_split
from dlcourse.training import check_bar
from dlcourse.widgets import interactive_plot

device = get_device()  # the tests also run your code on this device
set_seed(0)
print(f"torch {torch.__version__}, device: {device}")

# %% [markdown]
# ## 17.1 Loss, metric and the evaluation loop
#
# The loss is chosen for the optimiser: it must be differentiable and give
# useful gradients everywhere. A metric is chosen for the question the model
# has to answer: "what fraction of digits does it read correctly?", "of the
# emails it flags, how many are spam?", "by how many dollars is a predicted
# price off, on average?". Metrics are usually not differentiable (a count of
# correct answers changes in jumps), so we train on a loss and *report*
# metrics.
#
# The running example of the first sections is a classifier of handwritten
# digits: a softmax regression (one linear layer, 64 pixels to 10 logits)
# trained with the cross-entropy loss. It is deliberately small, so that it
# makes mistakes worth measuring. The bar: at least 95% test accuracy, with
# this seed and with others.

# %%
X_digits, y_digits = load_digits()  # (1797, 64) in [0, 1], labels (1797,)
X_train, X_test, y_train, y_test = train_test_split(X_digits, y_digits,
                                                    test_fraction=0.25, seed=0)
print(f"train {tuple(X_train.shape)}, test {tuple(X_test.shape)}")


def train_classifier(model, X, y, num_steps, lr=0.05, loss_fn=F.cross_entropy):
    """Full-batch Adam on (X, y); the whole training set fits in one batch."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    X, y = X.to(device), y.to(device)
    model.train()
    for _ in progress(range(num_steps), desc="steps"):
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model


# %%
NUM_STEPS = 300  # the knob: more steps, or a wider model, for a better classifier
set_seed(0)
digits_model = train_classifier(nn.Linear(64, 10).to(device), X_train, y_train,
                                NUM_STEPS)

# %% [markdown]
# To evaluate, switch the model to evaluation mode (dropout and batch norm
# behave differently in training, chapters 8 and 12), turn gradients off, run it over
# the test set batch by batch and **collect every prediction** before you
# compute a metric. Keep the predictions as tensors and concatenate them once
# at the end: no conversion to Python lists inside the loop. The class a
# classifier predicts is the index of its largest logit, `logits.argmax(dim=1)`.

# %%
def collect_predictions(model, loader):
    """Logits and labels of a whole data set: (N, C) and (N,), on the CPU."""
    model.eval()
    all_logits, all_labels = [], []
    with torch.no_grad():
        for inputs, labels in loader:
            all_logits.append(model(inputs.to(device)).cpu())
            all_labels.append(labels)
    return torch.cat(all_logits), torch.cat(all_labels)


test_loader = DataLoader(TensorDataset(X_test, y_test), batch_size=64)
test_logits, test_labels = collect_predictions(digits_model, test_loader)
test_pred = test_logits.argmax(dim=1)
digits_accuracy = (test_pred == test_labels).double().mean().item()
print(f"logits {tuple(test_logits.shape)}, predictions {tuple(test_pred.shape)}")
check_bar("test accuracy of the softmax regression", digits_accuracy, 0.95)

# %% [markdown]
# ### Exercise 1: `accuracy` (2 points)
#
# **Accuracy** is the fraction of examples whose predicted class is the true
# one,
#
# $$\text{accuracy} = \frac{1}{N} \sum_{i=1}^{N} \mathbb{1}[\hat y_i = y_i].$$
#
# With many classes, or classes that look alike, one also reports **top-$k$
# accuracy**: an example counts as correct when its true class is among the
# $k$ classes with the highest scores (ImageNet results are quoted as top-1
# and top-5). Write `accuracy` so that it accepts either predicted labels, or
# a matrix of scores (logits or probabilities) from which it takes the top
# $k$ classes itself. The result is a plain Python `float`, as scikit-learn
# returns it. The tests compare with `sklearn.metrics.accuracy_score` and
# `sklearn.metrics.top_k_accuracy_score`, which you may not call.

# %% grade_id="ch17-accuracy"
def accuracy(y_true, y_pred, k=1):
    """Fraction of correct predictions, or top-k accuracy from scores.

    N is the number of examples and C the number of classes.

    Args:
        y_true: int64 tensor of shape (N,), the true class of each example.
        y_pred: either an int64 tensor of shape (N,), the predicted class of
            each example, or a floating-point tensor of shape (N, C) of scores
            (logits or probabilities; a larger score means a more likely
            class). Scores without ties (the tests use none).
        k: a Python int. With scores, an example is correct when its true
            class is among its k highest-scoring classes; 1 <= k <= C.
            With predicted labels, k must be 1.

    Returns:
        A Python float in [0, 1]. Works on any device; the inputs are not
        modified.

    Raises:
        ValueError: if N = 0, if y_true is not 1-D, if y_pred does not have
            N rows (or is not 1-D or 2-D), or if k is out of range (k != 1
            with predicted labels, k < 1 or k > C with scores).

    Do not call sklearn.metrics.accuracy_score or
    sklearn.metrics.top_k_accuracy_score.
    """
    ### BEGIN SOLUTION
    if y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError(f"y_true must have shape (N,) with N >= 1, "
                         f"got {tuple(y_true.shape)}")
    if y_pred.ndim == 1 and y_pred.shape == y_true.shape and k == 1:
        correct = y_pred == y_true
    elif y_pred.ndim == 2 and len(y_pred) == len(y_true) and 1 <= k <= y_pred.shape[1]:
        top = y_pred.topk(k, dim=1).indices  # (N, k)
        correct = (top == y_true[:, None]).any(dim=1)
    else:
        raise ValueError(f"y_pred of shape {tuple(y_pred.shape)} and k = {k} do not "
                         f"fit y_true of shape {tuple(y_true.shape)}")
    return correct.sum().item() / len(y_true)
    ### END SOLUTION


# %%
# Try it: the digits classifier, from its labels and from its scores
print(f"accuracy {accuracy(test_labels, test_logits.argmax(dim=1)):.4f}, "
      f"top-2 {accuracy(test_labels, test_logits, k=2):.4f}, "
      f"top-3 {accuracy(test_labels, test_logits, k=3):.4f}")

# %% grade_id="ch17-accuracy-tests" points=2
"""accuracy: small examples by hand (labels and scores, k = 1 and k = 2), a
Python float, the scores left unchanged, float64 scores on `device`, batch of
one, the ValueErrors; equals scikit-learn; no sklearn accuracy functions.

Hidden tests: other sizes, numbers of classes, k and seeds, against
accuracy_score and top_k_accuracy_score.
"""
banned = ("sklearn.metrics.accuracy_score", "sklearn.metrics.top_k_accuracy_score")
y_true = torch.tensor([0, 2, 1, 2, 0])
with forbid(*banned):
    got = accuracy(y_true, torch.tensor([0, 1, 1, 2, 2]))
assert type(got) is float, f"accuracy must return a Python float, got {type(got)}"
assert_close(got, 0.6, rtol=1e-6, atol=1e-9, name="accuracy with 3 of 5 right")
scores = torch.tensor([[0.9, 0.06, 0.04],   # top-1: 0, top-2: {0, 1}
                       [0.1, 0.6, 0.3],     # top-1: 1, top-2: {1, 2}
                       [0.2, 0.3, 0.5],     # top-1: 2, top-2: {2, 1}
                       [0.5, 0.1, 0.4],     # top-1: 0, top-2: {0, 2}
                       [0.1, 0.7, 0.2]])    # top-1: 1, top-2: {1, 2}
scores_before = scores.clone()
with forbid(*banned):
    top1, top2 = accuracy(y_true, scores), accuracy(y_true, scores, k=2)
assert torch.equal(scores, scores_before), "accuracy modified its input y_pred"
assert_close(top1, 0.2, rtol=1e-6, atol=1e-9, name="top-1 accuracy from scores")
assert_close(top2, 0.8, rtol=1e-6, atol=1e-9, name="top-2 accuracy from scores")
gen = torch.Generator().manual_seed(0)
y_true = torch.randint(0, 7, (41,), generator=gen).to(device)
scores = torch.randn(41, 7, generator=gen, dtype=torch.float64).to(device)
for k in (1, 3, 6):
    with forbid(*banned):
        got = accuracy(y_true, scores, k=k)
    want = sklearn.metrics.top_k_accuracy_score(y_true.cpu().numpy(),
                                                scores.cpu().numpy(), k=k,
                                                labels=list(range(7)))
    assert_close(got, want, rtol=1e-6, atol=1e-9,
                 name=f"accuracy(41 labels, float64 scores (41, 7) on device, k={k})")
with forbid(*banned):
    got = accuracy(y_true, scores, k=7)
assert_close(got, 1.0, rtol=1e-6, atol=1e-9,
             name="top-7 accuracy with 7 classes (always right)")
y_pred = scores.argmax(dim=1)
with forbid(*banned):
    got = accuracy(y_true, y_pred)
want = sklearn.metrics.accuracy_score(y_true.cpu().numpy(), y_pred.cpu().numpy())
assert_close(got, want, rtol=1e-6, atol=1e-9, name="accuracy(41 labels on device)")
assert_close(accuracy(torch.tensor([3]), torch.tensor([3])), 1.0, rtol=1e-6,
             atol=1e-9, name="accuracy of a batch of one")
assert_close(accuracy(torch.tensor([3]), torch.tensor([[0.1, 0.2, 0.3, 0.0]])), 0.0,
             rtol=1e-6, atol=1e-9, name="top-1 accuracy of a batch of one from scores")
expect_raises(ValueError, accuracy, torch.tensor([], dtype=torch.int64),
              torch.tensor([], dtype=torch.int64), name="accuracy of empty tensors")
expect_raises(ValueError, accuracy, torch.tensor([0, 1]), torch.tensor([0, 1, 1]),
              name="accuracy with 2 labels and 3 predictions")
expect_raises(ValueError, accuracy, torch.tensor([0, 1]), torch.tensor([0, 1]), k=2,
              name="accuracy(labels, labels, k=2)")
expect_raises(ValueError, accuracy, torch.tensor([0, 1]), torch.rand(2, 3), k=4,
              name="accuracy(labels, scores with 3 classes, k=4)")
expect_raises(ValueError, accuracy, torch.tensor([0, 1]), torch.rand(2, 3), k=0,
              name="accuracy(labels, scores, k=0)")
expect_raises(ValueError, accuracy, torch.tensor([[0, 1]]), torch.tensor([[0, 1]]),
              name="accuracy with y_true of shape (1, 2)")
expect_raises(ValueError, accuracy, torch.tensor([0, 1, 2]), torch.rand(4, 3),
              name="accuracy with 3 labels and scores of 4 rows")
_ = expect_raises(ValueError, accuracy, torch.tensor([0, 1]), torch.rand(2, 3, 1),
                  name="accuracy with 3-D scores")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(17)
for _n, _c in [(1, 3), (13, 3), (57, 10), (200, 5), (9, 11), (6, 2), (1, 1)]:
    for _dtype in (torch.float32, torch.float64):
        _y = torch.randint(0, _c, (_n,), generator=_gen).to(device)
        _s = torch.randn(_n, _c, generator=_gen, dtype=_dtype).to(device)
        _y0, _s0 = _y.clone(), _s.clone()
        # the rank of the true class: how many classes score higher
        _rank = (_s > _s.gather(1, _y[:, None])).sum(dim=1)
        for _k in sorted({1, 2, _c - 1, _c} - {0, _c + 1}):
            with forbid(*banned):
                _got = accuracy(_y, _s, k=_k)
            assert type(_got) is float, f"accuracy returned {type(_got)}"
            _want = (_rank < _k).double().mean().item()
            if 3 <= _c and _k < _c:  # scikit-learn wants 1-D scores for 2 classes
                _want = sklearn.metrics.top_k_accuracy_score(
                    _y.cpu().numpy(), _s.cpu().numpy(), k=_k, labels=list(range(_c)))
            assert_close(_got, float(_want), rtol=1e-6, atol=1e-9,
                         name=f"top-{_k} accuracy, N={_n}, C={_c}, {_dtype}")
        _p = torch.randint(0, _c, (_n,), generator=_gen).to(device)
        with forbid(*banned):
            _got = accuracy(_y, _p)
        assert_close(_got, sklearn.metrics.accuracy_score(_y.cpu().numpy(),
                                                         _p.cpu().numpy()),
                     rtol=1e-6, atol=1e-9, name=f"accuracy of labels, N={_n}")
        assert torch.equal(_y, _y0) and torch.equal(_s, _s0), "inputs were modified"
_ = expect_raises(ValueError, accuracy, torch.tensor([0, 1, 2, 1]), torch.rand(3, 3),
                  name="accuracy with 4 labels and scores of 3 rows")
### END HIDDEN TESTS

# %% [markdown]
# ### Metrics do not average over batches
#
# A tempting shortcut is to compute the metric on every batch and average the
# batch values. With batches of equal size this happens to give the right
# accuracy; with a smaller last batch it does not, because every batch gets the
# same weight whatever its size. The test set above has 449 examples; batches
# of 64 leave a last batch of 1, and the average of the per-batch accuracies
# then weighs that one example as much as any 64 others. Sum the correct
# counts and divide once, or, simpler and valid for every metric, collect all
# predictions first as `collect_predictions` does. (For precision, recall and
# $F_1$ even equal batch sizes do not save the shortcut, as section 17.3 shows.)

# %%
for batch_size in (64, 50, 7):
    loader = DataLoader(TensorDataset(X_test, y_test), batch_size=batch_size)
    per_batch = []
    digits_model.eval()
    with torch.no_grad():
        for inputs, labels in loader:
            pred = digits_model(inputs.to(device)).argmax(dim=1).cpu()
            per_batch.append(accuracy(labels, pred))
    last = len(X_test) % batch_size or batch_size
    print(f"batches of {batch_size:2d} (last one {last}"
          f"): mean of per-batch accuracies {sum(per_batch) / len(per_batch):.4f}, "
          f"accuracy of the whole set {accuracy(test_labels, test_pred):.4f}")

# %% [markdown]
# ## 17.2 The confusion matrix
#
# Accuracy is one number; the **confusion matrix** shows where the errors are.
# For $C$ classes it is the $C \times C$ table of counts
#
# $$M_{ij} = \#\{\, n : y_n = i \text{ and } \hat y_n = j \,\},$$
#
# with **rows for the true classes and columns for the predicted classes**
# (scikit-learn's convention; some books transpose it, so always label the
# axes). The diagonal holds the correct predictions, so accuracy is
# $\operatorname{tr}(M) / \sum_{ij} M_{ij}$; row $i$ sums to the number of
# examples of class $i$ (its **support**), column $j$ to the number of times
# class $j$ was predicted.
#
# For two classes, with class 1 the **positive** class, the four cells have
# names used everywhere:
#
# | | predicted 0 | predicted 1 |
# |---|---|---|
# | **true 0** | true negatives (TN) | false positives (FP) |
# | **true 1** | false negatives (FN) | true positives (TP) |
#
# ### Exercise 2: `confusion_matrix` (2 points)
#
# Count the pairs without a Python loop over the examples: the pair
# $(i, j)$ can be turned into the single index $iC + j$, and
# `torch.bincount` counts indices. The result must equal
# `sklearn.metrics.confusion_matrix(y_true, y_pred, labels=range(C))`, which
# you may not call.

# %% grade_id="ch17-confusion-matrix"
def confusion_matrix(y_true, y_pred, num_classes=None):
    """Confusion matrix: rows are true classes, columns are predicted classes.

    N is the number of examples and C the number of classes.

    Args:
        y_true: int64 tensor of shape (N,) of true classes.
        y_pred: int64 tensor of shape (N,) of predicted classes, on the same
            device.
        num_classes: the number C of classes, or None to use
            C = 1 + the largest label found in y_true or y_pred.

    Returns:
        int64 tensor M of shape (C, C) on the device of y_true, where M[i, j]
        counts the examples of true class i predicted as class j. With N = 0
        and num_classes given, M is all zeros. The inputs are not modified.

    Raises:
        ValueError: if y_true and y_pred are not 1-D tensors of the same shape,
            if a label is negative or >= num_classes, or if N = 0 and
            num_classes is None.

    Do not call sklearn.metrics.confusion_matrix or
    sklearn.metrics.multilabel_confusion_matrix.
    """
    ### BEGIN SOLUTION
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ValueError(f"need two tensors of shape (N,), got {tuple(y_true.shape)} "
                         f"and {tuple(y_pred.shape)}")
    if num_classes is None:
        if len(y_true) == 0:
            raise ValueError("cannot infer the number of classes from no examples")
        num_classes = int(max(y_true.max(), y_pred.max())) + 1
    both = torch.cat([y_true, y_pred])
    if len(both) and (both.min() < 0 or both.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes})")
    counts = torch.bincount(y_true * num_classes + y_pred,
                            minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)
    ### END SOLUTION


# %%
# Try it: three classes, by hand
print(confusion_matrix(torch.tensor([0, 0, 1, 2, 2, 2]),
                       torch.tensor([0, 1, 1, 2, 0, 2])))

# %% grade_id="ch17-confusion-matrix-tests" points=2
"""confusion_matrix: an example by hand (rows true, columns predicted), int64,
num_classes given or inferred from either tensor, N = 1, empty input, on
`device`, the inputs left unchanged, the ValueErrors; equals scikit-learn; no
sklearn confusion matrices.

Hidden tests: other sizes and numbers of classes against scikit-learn.
"""
banned = ("sklearn.metrics.confusion_matrix",
          "sklearn.metrics.multilabel_confusion_matrix")
with forbid(*banned):
    got = confusion_matrix(torch.tensor([0, 0, 1, 2, 2, 2]),
                           torch.tensor([0, 1, 1, 2, 0, 2]))
want = torch.tensor([[1, 1, 0],    # true 0: once right, once taken for a 1
                     [0, 1, 0],    # true 1: right
                     [1, 0, 2]])   # true 2: twice right, once taken for a 0
assert_close(got, want, name="confusion_matrix, rows true and columns predicted")
with forbid(*banned):
    got = confusion_matrix(torch.tensor([0, 1]), torch.tensor([0, 3]))
assert_shape(got, (4, 4), name="confusion_matrix with a 3 predicted (C from y_pred)")
with forbid(*banned):
    got = confusion_matrix(torch.tensor([4, 1]), torch.tensor([0, 1]))
assert_shape(got, (5, 5), name="confusion_matrix with a true 4 (C from y_true)")
with forbid(*banned):
    got = confusion_matrix(torch.tensor([1]), torch.tensor([1]), num_classes=3)
assert_close(got, torch.tensor([[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
             name="confusion_matrix(N = 1, num_classes=3)")
empty = torch.tensor([], dtype=torch.int64)
assert_close(confusion_matrix(empty, empty, num_classes=2),
             torch.zeros(2, 2, dtype=torch.int64), name="confusion_matrix(empty, C=2)")
gen = torch.Generator().manual_seed(1)
y_true = torch.randint(0, 5, (37,), generator=gen).to(device)
y_pred = torch.randint(0, 5, (37,), generator=gen).to(device)
want = sklearn.metrics.confusion_matrix(y_true.cpu().numpy(), y_pred.cpu().numpy(),
                                        labels=list(range(6)))
before = (y_true.clone(), y_pred.clone())
with forbid(*banned):
    got = confusion_matrix(y_true, y_pred, num_classes=6)
assert torch.equal(y_true, before[0]) and torch.equal(y_pred, before[1]), (
    "confusion_matrix modified its inputs")
assert got.device == y_true.device, f"result on {got.device}, expected {y_true.device}"
assert_close(got.cpu(), torch.from_numpy(want).to(torch.int64),
             name="confusion_matrix of 37 labels on device, num_classes=6")
expect_raises(ValueError, confusion_matrix, torch.tensor([0, 5]),
              torch.tensor([0, 1]), num_classes=3, name="a label 5 with num_classes=3")
expect_raises(ValueError, confusion_matrix, torch.tensor([0, -1]),
              torch.tensor([0, 1]), name="a negative label")
expect_raises(ValueError, confusion_matrix, torch.tensor([0, 1]),
              torch.tensor([0, 1, 1]), name="2 labels and 3 predictions")
_ = expect_raises(ValueError, confusion_matrix, empty, empty,
                  name="confusion_matrix(empty, empty) without num_classes")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(117)
for _n, _c, _extra in [(1, 2, 0), (23, 3, 1), (101, 10, 0), (64, 7, 2), (5, 13, 0)]:
    _y = torch.randint(0, _c, (_n,), generator=_gen).to(device)
    _p = torch.randint(0, _c, (_n,), generator=_gen).to(device)
    _y0, _p0 = _y.clone(), _p.clone()
    _labels = list(range(_c + _extra))
    with forbid(*banned):
        _got = confusion_matrix(_y, _p, num_classes=_c + _extra)
    with warnings.catch_warnings():  # scikit-learn warns about a single label
        warnings.simplefilter("ignore")
        _want = sklearn.metrics.confusion_matrix(_y.cpu().numpy(), _p.cpu().numpy(),
                                                 labels=_labels)
    assert _got.device == _y.device, f"result on {_got.device}"
    assert_close(_got.cpu(), torch.from_numpy(_want).to(torch.int64),
                 name=f"confusion_matrix, N={_n}, C={_c + _extra}")
    _c_inferred = int(max(_y.max(), _p.max())) + 1
    with forbid(*banned):
        _got = confusion_matrix(_y, _p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _want = sklearn.metrics.confusion_matrix(_y.cpu().numpy(), _p.cpu().numpy(),
                                                 labels=list(range(_c_inferred)))
    assert_close(_got.cpu(), torch.from_numpy(_want).to(torch.int64),
                 name=f"confusion_matrix, N={_n}, C inferred")
    assert torch.equal(_y, _y0) and torch.equal(_p, _p0), "the inputs were modified"
with forbid(*banned):
    _got = confusion_matrix(torch.tensor([4, 4, 0]), torch.tensor([0, 0, 0]))
assert_shape(_got, (5, 5), name="confusion_matrix with C inferred from y_true")
with forbid(*banned):
    _got = confusion_matrix(torch.tensor([0, 2]), torch.tensor([6, 2]))
assert_shape(_got, (7, 7), name="confusion_matrix with C inferred from y_pred")
### END HIDDEN TESTS

# %% [markdown]
# The confusion matrix of the digits classifier, drawn as a heat map. Reading
# a row from left to right tells you what the model does with the examples of
# one true class; the brightest off-diagonal cells are the pairs of digits it
# confuses most.

# %%
digits_confusion = confusion_matrix(test_labels, test_pred, num_classes=10)
fig, ax = plt.subplots(figsize=(5.2, 4.4))
image = ax.imshow(digits_confusion.numpy(), cmap="Blues")
for i in range(10):
    for j in range(10):
        count = int(digits_confusion[i, j])
        if count:
            ax.text(j, i, count, ha="center", va="center", fontsize=7,
                    color="white" if count > 20 else "black")
ax.set_xticks(range(10))
ax.set_yticks(range(10))
ax.set_xlabel("predicted digit")
ax.set_ylabel("true digit")
ax.set_title("Confusion matrix of the softmax regression (test set)")
fig.colorbar(image, ax=ax, label="number of test digits")
plt.show()
off_diagonal = digits_confusion - torch.diag(torch.diag(digits_confusion))
worst = int(off_diagonal.argmax())
print(f"most frequent mistake: true {worst // 10} predicted as {worst % 10}, "
      f"{int(off_diagonal.max())} times; accuracy from the matrix "
      f"{digits_confusion.trace().item() / digits_confusion.sum().item():.4f}")

# %% [markdown]
# ## 17.3 Precision, recall and $F_1$
#
# Take one class as the positive one. **Precision** asks: of the examples the
# model called positive, how many are? **Recall** (also called sensitivity or
# the true positive rate) asks: of the positive examples, how many did the
# model find?
#
# $$P = \frac{TP}{TP + FP}, \qquad R = \frac{TP}{TP + FN}, \qquad
#   F_1 = \frac{2PR}{P + R} = \frac{2\,TP}{2\,TP + FP + FN}.$$
#
# $F_1$ is the harmonic mean of the two: it is high only when *both* are high
# (a model that calls everything positive has $R = 1$ but a poor $P$; their
# arithmetic mean would still be above one half). The right-hand form shows
# that $F_1$ ignores the true negatives altogether. Its generalisation
# $F_\beta = (1 + \beta^2) PR / (\beta^2 P + R)$ weighs recall $\beta$ times as
# much as precision.
#
# **Zero division.** A class that is never predicted has $TP + FP = 0$ and an
# undefined precision; a class with no examples has an undefined recall.
# scikit-learn's default (`zero_division="warn"`) warns and uses **0** for such
# a value; $F_1$ is 0 when $2TP + FP + FN = 0$. This course follows the same
# rule, silently.
#
# ### Averaging over classes
#
# With $C$ classes, every class $c$ has its own $TP_c$, $FP_c$, $FN_c$ and
# support $n_c = TP_c + FN_c$. There are four common ways to turn them into one
# number:
#
# - **binary**: only the positive class (label 1) counts; for two-class
#   problems.
# - **micro**: add up $TP_c$, $FP_c$ and $FN_c$ over the classes first, then
#   apply the formulas. In single-label classification every wrong prediction
#   is a false positive of one class and a false negative of another, so
#   $\sum_c FP_c = \sum_c FN_c$ and micro precision = micro recall = micro
#   $F_1$ = accuracy.
# - **macro**: compute $P_c$, $R_c$, $F_{1,c}$ per class and take their plain
#   mean. Every class weighs the same, so a rare class that the model ignores
#   pulls the score down: the average to report on imbalanced data. Note that
#   macro $F_1$ is the mean of the per-class $F_1$ values, *not* the harmonic
#   mean of macro precision and macro recall.
# - **weighted**: the mean of the per-class values weighted by the support
#   $n_c / N$ (the number of *true* examples of each class, not of
#   predictions). Frequent classes count more, as in the micro average, yet
#   the result need not lie between micro and macro. Weighted recall always
#   equals accuracy: $\sum_c \frac{n_c}{N} \frac{TP_c}{n_c} = \frac1N \sum_c TP_c$.
#
# Which classes take part? scikit-learn (without a `labels` argument) uses
# every label that occurs in `y_true` **or** in `y_pred`, and nothing else: a
# class that appears in neither does not enter the macro mean. A class that is
# predicted but never true has recall 0/0 = 0 and $F_1$ 0, so it does enter.

# %% [markdown]
# ### Exercise 3: `precision_recall_f1` (4 points)
#
# Return precision, recall and $F_1$ with the four averages above. The tests
# compare with `sklearn.metrics.precision_recall_fscore_support(y_true, y_pred,
# average=...)` on many inputs, including classes that are never predicted,
# labels missing from the range, and the binary case where class 1 never
# appears. You may use your `confusion_matrix`, but you need only the labels
# that occur (`torch.unique`) and three counts per class.

# %% grade_id="ch17-precision-recall-f1"
def precision_recall_f1(y_true, y_pred, average="binary"):
    """Precision, recall and F1 score, averaged as scikit-learn does.

    N is the number of examples. The classes taken into account are the
    labels that occur in y_true or in y_pred (for average="binary": the
    positive class 1 only). A value of the form 0/0 is 0 (scikit-learn's
    default zero-division rule, without the warning).

    Args:
        y_true: int64 tensor of shape (N,) of true classes (non-negative).
        y_pred: int64 tensor of shape (N,) of predicted classes, same device.
        average: one of
            "binary": the scores of class 1; every label must be 0 or 1;
            "micro": TP, FP and FN summed over the classes, then the formulas;
            "macro": the plain mean of the per-class scores;
            "weighted": the mean of the per-class scores weighted by the
                number of true examples of each class.

    Returns:
        A tuple (precision, recall, f1) of three Python floats in [0, 1].
        Macro and weighted F1 average the per-class F1 values. The inputs
        are not modified.

    Raises:
        ValueError: if N = 0, if the tensors are not 1-D of the same shape,
            if average is not one of the four names, or if average="binary"
            and a label other than 0 and 1 occurs.

    Do not call sklearn.metrics.precision_recall_fscore_support,
    precision_score, recall_score, f1_score, fbeta_score,
    classification_report, confusion_matrix or multilabel_confusion_matrix.
    """
    ### BEGIN SOLUTION
    if average not in ("binary", "micro", "macro", "weighted"):
        raise ValueError(f"unknown average {average!r}")
    if y_true.ndim != 1 or y_true.shape != y_pred.shape or len(y_true) == 0:
        raise ValueError(f"need two non-empty tensors of shape (N,), got "
                         f"{tuple(y_true.shape)} and {tuple(y_pred.shape)}")
    both = torch.cat([y_true, y_pred])
    if average == "binary":
        if ((both != 0) & (both != 1)).any():
            raise ValueError("average='binary' needs labels 0 and 1 only")
        classes = y_true.new_ones(1)
    else:
        classes = torch.unique(both)
    is_true = y_true[:, None] == classes  # (N, K)
    is_pred = y_pred[:, None] == classes
    tp = (is_true & is_pred).sum(dim=0).double()  # (K,)
    predicted, support = is_pred.sum(dim=0).double(), is_true.sum(dim=0).double()
    if average == "micro":
        tp, predicted, support = (t.sum(dim=0, keepdim=True)
                                  for t in (tp, predicted, support))

    def ratio(a, b):  # a / b with 0/0 = 0
        return torch.where(b > 0, a / b.clamp(min=1), torch.zeros_like(a))

    scores = (ratio(tp, predicted), ratio(tp, support),
              ratio(2 * tp, predicted + support))
    weights = support / support.sum() if average == "weighted" else None
    if weights is None:
        return tuple(s.mean().item() for s in scores)
    return tuple((s * weights).sum().item() for s in scores)
    ### END SOLUTION


# %%
# Try it: the three multi-class averages of one prediction (three classes)
y_true_demo = torch.tensor([0, 0, 0, 0, 0, 0, 1, 1, 2, 2])
y_pred_demo = torch.tensor([0, 0, 0, 0, 0, 0, 0, 1, 0, 0])
for average in ("micro", "macro", "weighted"):
    p, r, f = precision_recall_f1(y_true_demo, y_pred_demo, average)
    print(f"{average:8s}: precision {p:.3f}, recall {r:.3f}, F1 {f:.3f}")

# %% grade_id="ch17-precision-recall-f1-tests" points=4
"""precision_recall_f1: examples by hand for the four averages (precision and
recall differ, macro differs from micro, a class never predicted, a class only
predicted, class 1 absent in binary mode), Python floats, `device`, N = 1, the
inputs left unchanged, the ValueErrors; equals scikit-learn; no sklearn
precision/recall functions.

Hidden tests: many random predictions, numbers of classes and gaps in the
labels, against sklearn.metrics.precision_recall_fscore_support.
"""
banned = tuple("sklearn.metrics." + name for name in (
    "precision_recall_fscore_support", "precision_score", "recall_score", "f1_score",
    "fbeta_score", "classification_report", "confusion_matrix",
    "multilabel_confusion_matrix"))


def check_prf(y_true, y_pred, average, expected=None):
    """Compare with scikit-learn (and with `expected`, when given)."""
    before = (y_true.clone(), y_pred.clone())
    with forbid(*banned):
        got = precision_recall_f1(y_true, y_pred, average)
    what = f"precision_recall_f1(average={average!r}) on {len(y_true)} examples"
    assert torch.equal(y_true, before[0]) and torch.equal(y_pred, before[1]), (
        f"{what}: the inputs were modified")
    assert isinstance(got, tuple) and len(got) == 3, (
        f"{what}: expected a tuple (precision, recall, f1), got {got!r}")
    for value in got:
        assert type(value) is float, f"{what}: expected Python floats, got {got!r}"
    want = sklearn.metrics.precision_recall_fscore_support(
        y_true.cpu().numpy(), y_pred.cpu().numpy(), average=average,
        zero_division=0.0)[:3]
    if expected is not None:
        assert_close(want, expected, rtol=1e-12, atol=1e-12, name="(the check itself)")
    assert_close(got, tuple(float(v) for v in want), rtol=1e-6, atol=1e-9,
                 name=what + " (precision, recall, f1)")


# binary: TP = 2, FP = 1, FN = 2: P = 2/3, R = 1/2, F1 = 4/7
check_prf(torch.tensor([1, 1, 1, 1, 0, 0]), torch.tensor([1, 1, 0, 0, 1, 0]),
          "binary", expected=(2 / 3, 1 / 2, 4 / 7))
# class 1 never predicted: P = 0/0 = 0, R = 0, F1 = 0
check_prf(torch.tensor([0, 1, 0]), torch.tensor([0, 0, 0]), "binary",
          expected=(0.0, 0.0, 0.0))
# class 1 never occurs at all: everything 0/0 = 0
check_prf(torch.tensor([0, 0]), torch.tensor([0, 0]), "binary",
          expected=(0.0, 0.0, 0.0))
# three classes, class 2 never predicted: macro and micro differ
y_true = torch.tensor([0, 0, 0, 0, 0, 0, 1, 1, 2, 2])
y_pred = torch.tensor([0, 0, 0, 0, 0, 0, 0, 1, 0, 0])
check_prf(y_true, y_pred, "micro", expected=(0.7, 0.7, 0.7))
# per class: P = (6/9, 1, 0), R = (1, 1/2, 0), F1 = (12/15, 2/3, 0)
check_prf(y_true, y_pred, "macro", expected=((6 / 9 + 1 + 0) / 3, (1 + 0.5 + 0) / 3,
                                             (12 / 15 + 2 / 3 + 0) / 3))
check_prf(y_true, y_pred, "weighted")
# labels 0 and 5 true, a 3 only predicted, 1, 2 and 4 nowhere: classes {0, 3, 5}
y_true = torch.tensor([0, 5, 5, 0, 5])
y_pred = torch.tensor([0, 5, 3, 0, 0])
for average in ("micro", "macro", "weighted"):
    check_prf(y_true, y_pred, average)
gen = torch.Generator().manual_seed(2)
y_true = torch.randint(0, 4, (29,), generator=gen).to(device)
y_pred = torch.randint(0, 4, (29,), generator=gen).to(device)
for average in ("micro", "macro", "weighted"):
    check_prf(y_true, y_pred, average)  # on device
check_prf(y_true.clamp(max=1), y_pred.clamp(max=1), "binary")
check_prf(torch.tensor([2]), torch.tensor([2]), "macro", expected=(1.0, 1.0, 1.0))
expect_raises(ValueError, precision_recall_f1, torch.tensor([0, 2]),
              torch.tensor([0, 1]), "binary", name="average='binary' with a true 2")
expect_raises(ValueError, precision_recall_f1, torch.tensor([0, 1]),
              torch.tensor([0, 2]), "binary",
              name="average='binary' with a predicted 2")
expect_raises(ValueError, precision_recall_f1, torch.tensor([0, 1]),
              torch.tensor([0, 1]), "average", name="average='average'")
expect_raises(ValueError, precision_recall_f1, torch.tensor([0, 1]),
              torch.tensor([0, 1, 1]), "macro", name="2 labels and 3 predictions")
empty = torch.tensor([], dtype=torch.int64)
_ = expect_raises(ValueError, precision_recall_f1, empty, empty, "micro",
                  name="precision_recall_f1 of empty tensors")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(217)
for _n, _c in [(1, 2), (7, 3), (31, 5), (100, 10), (250, 4), (12, 9)]:
    for _trial in range(3):
        _y = torch.randint(0, _c, (_n,), generator=_gen)
        _p = torch.where(torch.rand(_n, generator=_gen) < 0.5, _y,
                         torch.randint(0, _c, (_n,), generator=_gen))
        if _trial == 1:  # labels with gaps, as after filtering a data set
            _y, _p = 3 * _y + 1, 3 * _p + 1
        if _trial == 2:  # one class never predicted
            _p = torch.where(_p == 0, torch.full_like(_p, _c - 1), _p)
        _y, _p = _y.to(device), _p.to(device)
        _y0, _p0 = _y.clone(), _p.clone()
        for _average in ("micro", "macro", "weighted"):
            check_prf(_y, _p, _average)
        check_prf(_y % 2, _p % 2, "binary")
        assert torch.equal(_y, _y0) and torch.equal(_p, _p0), "inputs were modified"
check_prf(torch.tensor([1, 1, 1]), torch.tensor([1, 1, 1]), "binary")
check_prf(torch.tensor([0, 0, 1]), torch.tensor([1, 1, 1]), "binary")
check_prf(torch.tensor([3, 3, 3, 3]), torch.tensor([3, 1, 3, 7]), "macro")
check_prf(torch.tensor([3, 3, 3, 3]), torch.tensor([3, 1, 3, 7]), "weighted")
expect_raises(ValueError, precision_recall_f1, torch.tensor([1, 2]),
              torch.tensor([1, 1]), "binary", name="binary with labels 1 and 2")
_ = expect_raises(ValueError, precision_recall_f1, torch.tensor([0, 1]),
                  torch.tensor([0, 1]), "samples", name="average='samples'")
### END HIDDEN TESTS

# %% [markdown]
# The per-class scores of the digits classifier. A single accuracy figure
# hides the weakest class; the table shows it. The last lines print the
# three averages: micro equals the accuracy, as the algebra above promised.

# %%
print("digit  precision  recall     F1  support")
for digit in range(10):
    p, r, f = precision_recall_f1((test_labels == digit).long(),
                                  (test_pred == digit).long(), "binary")
    support = int((test_labels == digit).sum())
    print(f"{digit:5d}  {p:9.3f}  {r:6.3f}  {f:5.3f}  {support:7d}")
for average in ("micro", "macro", "weighted"):
    p, r, f = precision_recall_f1(test_labels, test_pred, average)
    print(f"{average:8s} precision {p:.4f}, recall {r:.4f}, F1 {f:.4f}")
print(f"accuracy {accuracy(test_labels, test_pred):.4f}")

# %% [markdown]
# And the batch shortcut again: averaging the macro $F_1$ of every batch is
# wrong even when all the batches have the same size, because $F_1$ is not an
# average of per-example terms. The cell takes the first 400 test examples in 8
# batches of 50: for them, the mean of the batch accuracies is exact, the mean
# of the batch $F_1$ scores is not.

# %%
labels_400, pred_400 = test_labels[:400], test_pred[:400]
batches = [(labels_400[i:i + 50], pred_400[i:i + 50]) for i in range(0, 400, 50)]
batch_acc = [accuracy(labels, pred) for labels, pred in batches]
batch_f1 = [precision_recall_f1(labels, pred, "macro")[2] for labels, pred in batches]
print(f"accuracy: mean of 8 batches {sum(batch_acc) / 8:.4f}, "
      f"all 400 at once {accuracy(labels_400, pred_400):.4f}")
print(f"macro F1: mean of 8 batches {sum(batch_f1) / 8:.4f}, "
      f"all 400 at once {precision_recall_f1(labels_400, pred_400, 'macro')[2]:.4f}")

# %% [markdown]
# ## 17.4 Why accuracy misleads on imbalanced data
#
# Turn the digits into a detection task: is the digit a 9? About one digit in
# ten is, so a "model" that always answers *no* is right about nine times out
# of ten without looking at a single pixel. Its accuracy looks excellent; its
# recall and $F_1$ are 0, and its confusion matrix shows at once that it never
# predicts the positive class.
#
# Real problems are often far more skewed (fraud, rare diseases, defects on
# a production line: one positive in a thousand), and there the trivial model
# reaches 99.9% accuracy. On imbalanced data, report the confusion matrix,
# precision and recall of the rare class (or the macro average), and the
# curves of section 17.5. Two single numbers that resist imbalance are the
# **balanced accuracy** (the macro-averaged recall) and **Matthews' correlation
# coefficient**, which uses all four cells of the confusion matrix and is 0 for
# any constant prediction.
#
# Below, the "always no" baseline is compared with a logistic regression that
# looks at the pixels (one linear layer with one output, trained with
# `BCEWithLogitsLoss` on the training split). The bar for the trained detector:
# an $F_1$ of at least 0.85 on the test set, with this seed and with others.

# %%
nine_train, nine_test = (y_train == 9).long(), (y_test == 9).long()
print(f"9s in the test set: {int(nine_test.sum())} of {len(nine_test)} "
      f"({nine_test.double().mean():.1%})")


def detector_loss(logits, y):
    return F.binary_cross_entropy_with_logits(logits.squeeze(1), y.float())


NUM_DETECTOR_STEPS = 300  # the knob
set_seed(0)
detector = train_classifier(nn.Linear(64, 1).to(device), X_train, nine_train,
                            NUM_DETECTOR_STEPS, loss_fn=detector_loss)
detector.eval()
with torch.no_grad():
    nine_scores = torch.sigmoid(detector(X_test.to(device))).squeeze(1).cpu()
nine_pred = (nine_scores >= 0.5).long()
always_no = torch.zeros_like(nine_test)


def balanced_accuracy_and_mcc(y_true, y_pred):
    """Balanced accuracy and Matthews' correlation from the 2x2 counts."""
    tn, fp, fn, tp = (float(v) for v in confusion_matrix(y_true, y_pred, 2).flatten())
    balanced = (tp / max(tp + fn, 1) + tn / max(tn + fp, 1)) / 2
    denominator = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return balanced, (tp * tn - fp * fn) / denominator if denominator else 0.0


for name, pred in (("always 'no'", always_no), ("logistic regression", nine_pred)):
    p, r, f = precision_recall_f1(nine_test, pred, "binary")
    balanced, mcc = balanced_accuracy_and_mcc(nine_test, pred)
    print(f"{name:20s} accuracy {accuracy(nine_test, pred):.3f}  precision {p:.3f}  "
          f"recall {r:.3f}  F1 {f:.3f}  balanced acc. {balanced:.3f}  MCC {mcc:.3f}")
    print(f"{'':20s} confusion matrix {confusion_matrix(nine_test, pred, 2).tolist()}")
nine_f1 = precision_recall_f1(nine_test, nine_pred, "binary")[2]
check_bar("F1 of the 9-detector at threshold 0.5", nine_f1, 0.85)

# %% [markdown]
# ## 17.5 Thresholds, ROC and precision-recall curves
#
# The detector does not output a class; it outputs a **score** $s$, here the
# probability $\sigma(\text{logit})$, and we predict positive when
# $s \ge t$ for a **threshold** $t$. The threshold 0.5 is a convention, not a
# law: lowering it finds more positives (recall up) at the price of more false
# alarms (precision down). Which trade-off is right depends on the costs: a
# missed tumour costs more than a second look at a healthy scan.
#
# Two curves show every threshold at once. Sweep $t$ from high to low:
#
# - the **ROC curve** plots the true positive rate $TPR = TP / (TP + FN)$ (the
#   recall) against the false positive rate $FPR = FP / (FP + TN)$. It starts
#   at $(0, 0)$ (nothing predicted positive) and ends at $(1, 1)$ (everything
#   positive); a random scorer follows the diagonal.
# - the **precision-recall curve** plots precision against recall. A random
#   scorer has a flat precision equal to the fraction of positives, so on
#   imbalanced data the PR curve shows differences that the ROC curve squeezes
#   into its top-left corner (the many true negatives keep the FPR small).
#
# ### The area under the ROC curve
#
# The **ROC AUC** summarises the ROC curve in one number, and it has a second
# meaning that is easier to remember and to compute: it is the probability
# that a randomly drawn positive example gets a higher score than a randomly
# drawn negative one, with ties counted as one half,
#
# $$\text{AUC} = \frac{1}{N_1 N_0} \sum_{i:\,y_i = 1} \sum_{j:\,y_j = 0}
#   \Big( \mathbb{1}[s_i > s_j] + \tfrac12\, \mathbb{1}[s_i = s_j] \Big),$$
#
# where $N_1$ and $N_0$ count the positives and the negatives. So 0.5 is
# chance, 1 a perfect ranking, and the AUC does not depend on any threshold,
# nor on any strictly increasing change of the scores (logits and
# probabilities give the same AUC, unless rounding creates ties). The double
# sum costs $N_1 N_0$ comparisons; **ranks** give the same number in
# $O(N \log N)$. Sort all $N$ scores, give the smallest rank 1
# and the largest rank $N$, and give every group of tied scores the *average*
# of the ranks it occupies. With $\rho_i$ the rank of example $i$, the rank of
# a positive is 1 plus the number of scores below it plus half the number of
# other scores tied with it. Summed over the positives, this counts every
# positive-negative pair that the positive wins (ties one half), plus the
# pairs of two positives, which contribute $N_1 (N_1 + 1)/2$ in total
# (including the 1s). Hence the Mann-Whitney formula
#
# $$\text{AUC} = \frac{\sum_{i:\,y_i = 1} \rho_i - N_1 (N_1 + 1)/2}{N_1 N_0}.$$
#
# Ties are the trap. Scores are tied more often than one thinks: rounded
# probabilities, a model that outputs a few distinct values, a saturated
# sigmoid. Ranks taken from `argsort` break ties in whatever order the sort
# happens to leave them, and the AUC then depends on the order of the data.
# The ROC curve handles ties in the same way as averaged ranks: it makes one
# step per *distinct* threshold, a diagonal segment across a group of tied
# scores, and the trapezoid rule counts that segment as one half.

# %% [markdown]
# ### Exercise 4: `roc_auc` (3 points)
#
# Compute the ROC AUC with tied scores handled as above (as
# `sklearn.metrics.roc_auc_score` does). With a single class in `y_true` the
# AUC is undefined: raise a `ValueError`, as scikit-learn does.
# `torch.unique(..., return_inverse=True, return_counts=True)` gives each
# score's group of ties and the group sizes, which is all the averaged ranks
# need; the double sum with broadcasting is fine too (it costs $N_1 N_0$
# memory). The tests compare with `roc_auc_score` on scores with many ties.

# %% grade_id="ch17-roc-auc"
def roc_auc(y_true, scores):
    """Area under the ROC curve: P(score of a positive > score of a negative).

    N is the number of examples. Tied scores count one half (averaged ranks,
    the trapezoid rule on the ROC curve), as sklearn.metrics.roc_auc_score.

    Args:
        y_true: int64 tensor of shape (N,) with values 0 (negative) and
            1 (positive).
        scores: floating-point tensor of shape (N,) on the same device, a
            larger score meaning "more likely positive". Finite values; ties
            allowed.

    Returns:
        A Python float in [0, 1]. The inputs are not modified.

    Raises:
        ValueError: if the tensors are not 1-D of the same shape, if a label
            is not 0 or 1, or if y_true holds only one class (including
            N = 0), where the AUC is undefined.

    Do not call sklearn.metrics.roc_auc_score, sklearn.metrics.roc_curve,
    sklearn.metrics.auc, scipy.stats.mannwhitneyu or scipy.stats.rankdata.
    """
    ### BEGIN SOLUTION
    if y_true.ndim != 1 or y_true.shape != scores.shape:
        raise ValueError(f"need two tensors of shape (N,), got {tuple(y_true.shape)} "
                         f"and {tuple(scores.shape)}")
    if ((y_true != 0) & (y_true != 1)).any():
        raise ValueError("labels must be 0 or 1")
    positive = y_true == 1
    n_pos = int(positive.sum())
    n_neg = len(y_true) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("the ROC AUC needs both classes in y_true")
    _, group, counts = torch.unique(scores, return_inverse=True, return_counts=True)
    last_rank = counts.cumsum(dim=0).double()  # rank of the last member of each group
    average_rank = (last_rank - (counts.double() - 1) / 2)[group]  # (N,)
    u = average_rank[positive].sum().item() - n_pos * (n_pos + 1) / 2
    return u / (n_pos * n_neg)
    ### END SOLUTION


# %%
# Try it: the 9-detector, its logits and a coarsely rounded copy of its scores
with torch.no_grad():
    nine_logits = detector(X_test.to(device)).squeeze(1).cpu()
print(f"AUC from probabilities {roc_auc(nine_test, nine_scores):.4f}, from logits "
      f"{roc_auc(nine_test, nine_logits):.4f}, from scores rounded to one decimal "
      f"{roc_auc(nine_test, nine_scores.round(decimals=1)):.4f}")

# %% grade_id="ch17-roc-auc-tests" points=3
"""roc_auc: examples by hand (a perfect, a reversed and a tied ranking), ties
counted one half and independent of the order of the data, a Python float,
float64 on `device`, the inputs left unchanged, the ValueErrors (one class,
labels other than 0/1, shapes); equals scikit-learn; no sklearn or scipy
shortcuts.

Hidden tests: other sizes, class balances and amounts of ties against
roc_auc_score, float32 and float64.
"""
banned = ("sklearn.metrics.roc_auc_score", "sklearn.metrics.roc_curve",
          "sklearn.metrics.auc", "scipy.stats.mannwhitneyu", "scipy.stats.rankdata")
y_true = torch.tensor([0, 0, 1, 1])
with forbid(*banned):
    got = roc_auc(y_true, torch.tensor([0.1, 0.4, 0.35, 0.8]))
assert type(got) is float, f"roc_auc must return a Python float, got {type(got)}"
assert_close(got, 0.75, rtol=1e-6, atol=1e-9,
             name="roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) (3 of 4 pairs)")
with forbid(*banned):
    assert_close(roc_auc(y_true, torch.tensor([1.0, 2.0, 3.0, 4.0])), 1.0,
                 rtol=1e-6, atol=1e-9, name="roc_auc of a perfect ranking")
    assert_close(roc_auc(y_true, torch.tensor([4.0, 3.0, 2.0, 1.0])), 0.0,
                 rtol=1e-6, atol=1e-9, name="roc_auc of a reversed ranking")
    # pairs: 0.5 > 0.1 (1), 0.5 = 0.5 (1/2), 0.8 > both (2): 3.5 of 4
    assert_close(roc_auc(y_true, torch.tensor([0.1, 0.5, 0.5, 0.8])), 0.875,
                 rtol=1e-6, atol=1e-9, name="roc_auc with one tie between classes")
    assert_close(roc_auc(y_true, torch.full((4,), 0.3)), 0.5, rtol=1e-6, atol=1e-9,
                 name="roc_auc when all scores are equal")
gen = torch.Generator().manual_seed(3)
y_true = (torch.rand(61, generator=gen) < 0.3).long()
scores = (torch.randint(0, 5, (61,), generator=gen) + 2.0 * y_true).double() / 8
want = sklearn.metrics.roc_auc_score(y_true.numpy(), scores.numpy())
for trial in range(3):  # the same data in three orders: the same AUC
    order = torch.randperm(61, generator=gen)
    y_order, s_order = y_true[order].to(device), scores[order].to(device)
    with forbid(*banned):
        got = roc_auc(y_order, s_order)
    assert_close(got, want, rtol=1e-6, atol=1e-9,
                 name=f"roc_auc, 61 float64 scores with ties on device, order {trial}")
    assert torch.equal(y_order, y_true[order].to(device)) and torch.equal(
        s_order, scores[order].to(device)), "roc_auc modified its inputs"
expect_raises(ValueError, roc_auc, torch.tensor([1, 1, 1]), torch.rand(3),
              name="roc_auc with positives only")
expect_raises(ValueError, roc_auc, torch.tensor([0, 0]), torch.rand(2),
              name="roc_auc with negatives only")
expect_raises(ValueError, roc_auc, torch.tensor([0, 2, 1]), torch.rand(3),
              name="roc_auc with a label 2")
expect_raises(ValueError, roc_auc, torch.tensor([0, 1, 1]), torch.rand(4),
              name="roc_auc with 3 labels and 4 scores")
_ = expect_raises(ValueError, roc_auc, torch.tensor([], dtype=torch.int64),
                  torch.tensor([]), name="roc_auc of empty tensors")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(317)
for _n, _p, _levels in [(2, 0.5, 0), (9, 0.4, 3), (57, 0.1, 0), (300, 0.5, 7),
                        (123, 0.8, 2), (1000, 0.03, 20)]:
    for _dtype in (torch.float32, torch.float64):
        _y = (torch.rand(_n, generator=_gen) < _p).long()
        _y[0], _y[-1] = 0, 1  # both classes present
        _s = torch.randn(_n, generator=_gen, dtype=_dtype) + _y.to(_dtype)
        if _levels:  # quantised scores: many ties
            _s = (_s * _levels).round() / _levels
        _want = sklearn.metrics.roc_auc_score(_y.numpy(), _s.numpy())
        _y, _s = _y.to(device), _s.to(device)
        _y0, _s0 = _y.clone(), _s.clone()
        with forbid(*banned):
            _got = roc_auc(_y, _s)
        assert type(_got) is float, f"roc_auc returned {type(_got)}"
        assert_close(_got, float(_want), rtol=1e-6, atol=1e-9,
                     name=f"roc_auc, N={_n}, {_levels} levels, {_dtype}")
        assert torch.equal(_y, _y0) and torch.equal(_s, _s0), "inputs were modified"
with forbid(*banned):
    _got = roc_auc(torch.tensor([1, 0]), torch.tensor([0.2, 0.9]))
assert_close(_got, 0.0, rtol=1e-6, atol=1e-9, name="roc_auc of 2 examples, reversed")
_ = expect_raises(ValueError, roc_auc, torch.tensor([1, 0, 3]), torch.rand(3),
                  name="roc_auc with a label 3")
### END HIDDEN TESTS

# %% [markdown]
# ### Drawing the curves
#
# The helper below sweeps the threshold over the distinct scores, from the
# highest to the lowest, and returns the points of both curves; tied scores
# move the ROC curve diagonally in one step. The trapezoid rule over its
# points gives back the AUC of exercise 4, and the area under the
# precision-recall curve, computed as scikit-learn's **average precision**
# $\text{AP} = \sum_k (R_k - R_{k-1}) P_k$ (a step function, no
# interpolation), summarises the second curve.

# %%
def curve_points(y_true, scores):
    """ROC and precision-recall points, one per distinct threshold.

    Returns (fpr, tpr, precision, thresholds); fpr and tpr start with 0 (a
    threshold above every score), and tpr doubles as the recall.
    """
    thresholds, counts = torch.unique(scores, sorted=True, return_counts=True)
    thresholds, counts = thresholds.flip(0), counts.flip(0)  # high to low
    order = scores.argsort(descending=True)
    hits = y_true[order].double().cumsum(dim=0)  # positives among the top n
    last = counts.cumsum(dim=0) - 1  # the last example above each threshold
    tp = hits[last]
    fp = (last + 1).double() - tp
    n_pos = y_true.sum().double()
    zero = tp.new_zeros(1)
    fpr = torch.cat([zero, fp / (len(y_true) - n_pos)])
    tpr = torch.cat([zero, tp / n_pos])
    return fpr, tpr, tp / (tp + fp), thresholds


fpr, tpr, precision, thresholds = curve_points(nine_test, nine_scores)
trapezoid_auc = torch.trapezoid(tpr, fpr).item()
average_precision = ((tpr[1:] - tpr[:-1]) * precision).sum().item()
print(f"trapezoid area {trapezoid_auc:.6f}, "
      f"roc_auc {roc_auc(nine_test, nine_scores):.6f}")
print(f"average precision {average_precision:.6f}, scikit-learn "
      f"{sklearn.metrics.average_precision_score(nine_test, nine_scores):.6f}")

# %% [markdown]
# ### A threshold widget
#
# Move the threshold and watch the trade-off. The left panel shows the
# scores of the two classes (note the logarithmic count axis: the negatives
# outnumber the positives) and the threshold; the middle and right panels
# show where that threshold sits on the ROC and precision-recall curves. The
# title gives the confusion counts and the metrics at that threshold. Look
# for the threshold with the best $F_1$, and note how little the accuracy
# changes over most of the range while precision and recall swing.

# %%
def show_threshold(threshold=0.5):
    pred = (nine_scores >= threshold).long()
    tn, fp, fn, tp = (int(v) for v in torch.bincount(2 * nine_test + pred,
                                                     minlength=4))
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn)
    f1 = 2 * tp / (2 * tp + fp + fn)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    bins = torch.linspace(0, 1, 41).numpy()
    for label, name, color in ((0, "not a 9", "tab:blue"), (1, "a 9", "tab:orange")):
        axes[0].hist(nine_scores[nine_test == label].numpy(), bins=bins, alpha=0.6,
                     color=color, label=name)
    axes[0].axvline(threshold, color="k", ls="--", label="threshold")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("score (predicted probability of a 9)")
    axes[0].set_ylabel("number of test digits")
    axes[0].set_title("scores of the two classes")
    axes[0].legend()
    fpr_t, tpr_t = fp / (fp + tn), rec
    axes[1].plot(fpr.numpy(), tpr.numpy(), label="ROC curve")
    axes[1].plot([0, 1], [0, 1], color="0.6", ls=":", label="random scorer")
    axes[1].plot([fpr_t], [tpr_t], "ko", label="this threshold")
    axes[1].set_xlabel("false positive rate")
    axes[1].set_ylabel("true positive rate (recall)")
    axes[1].set_title("ROC curve")
    axes[1].legend(loc="lower right")
    axes[2].step(tpr[1:].numpy(), precision.numpy(), where="post",
                 label="precision-recall curve")
    axes[2].axhline(nine_test.double().mean().item(), color="0.6", ls=":",
                    label="random scorer")
    axes[2].plot([rec], [prec], "ko", label="this threshold")
    axes[2].set_xlabel("recall")
    axes[2].set_ylabel("precision")
    axes[2].set_ylim(0, 1.05)
    axes[2].set_title("precision-recall curve")
    axes[2].legend(loc="lower left")
    fig.suptitle(f"threshold {threshold:.2f}: TP {tp}, FP {fp}, FN {fn}, TN {tn} | "
                 f"accuracy {(tp + tn) / len(pred):.3f}, precision {prec:.3f}, "
                 f"recall {rec:.3f}, F1 {f1:.3f}")
    fig.tight_layout()
    return fig


interactive_plot(show_threshold, threshold=(0.01, 0.99, 0.01))

# %% [markdown]
# Picking the threshold is part of training, not of testing: choose it on a
# validation split (or by cross-validation), then report the test metrics at
# that fixed threshold. Choosing it on the test set, as the widget invites you
# to do, makes the test score optimistic. This chapter has no validation
# split, so the next cell lets the *training* split stand in for one: it picks
# the threshold with the best training $F_1$, then reports the test $F_1$ at
# that threshold.

# %%
with torch.no_grad():
    train_scores = torch.sigmoid(detector(X_train.to(device))).squeeze(1).cpu()
candidates = torch.linspace(0.05, 0.95, 19)
train_f1 = [precision_recall_f1(nine_train, (train_scores >= t).long(), "binary")[2]
            for t in candidates]
best = candidates[torch.tensor(train_f1).argmax()].item()
print(f"threshold with the best training F1: {best:.2f} (F1 {max(train_f1):.3f}); "
      f"test F1 at it: "
      f"{precision_recall_f1(nine_test, (nine_scores >= best).long(), 'binary')[2]:.3f}"
      f"; test F1 at 0.5: {nine_f1:.3f}")

# %% [markdown]
# ### Are the scores probabilities? Calibration
#
# The ROC AUC only looks at the *order* of the scores. When a score is used as
# a probability ("a 30% risk"), it must also be **calibrated**: among the
# examples scored about 0.3, about 30% should be positive. A **reliability
# diagram** checks it: group the examples into bins of predicted probability
# and plot, for every bin, the fraction of positives against the mean
# predicted probability; a calibrated model lies on the diagonal. Two
# numbers summarise the probabilities themselves: the **Brier score**
# $\frac1N \sum_i (p_i - y_i)^2$ and the **log loss** (the binary
# cross-entropy $-\frac1N \sum_i [y_i \log p_i + (1 - y_i) \log(1 - p_i)]$);
# both are lower for better probabilities and, unlike accuracy, reward a model
# for being honest about its uncertainty. With few positives, as here, the
# bins at high probability hold only a handful of examples: the printed
# counts say how far to trust each point.

# %%
edges = torch.linspace(0, 1, 6)  # 5 bins of width 0.2
which_bin = torch.bucketize(nine_scores, edges[1:-1], right=True)  # (N,) in 0..4
print("bin          examples  mean score  fraction of 9s")
mean_score, fraction = [], []
for b in range(5):
    members = which_bin == b
    if members.any():
        mean_score.append(nine_scores[members].mean().item())
        fraction.append(nine_test[members].double().mean().item())
        print(f"[{edges[b]:.1f}, {edges[b + 1]:.1f})  {int(members.sum()):8d}  "
              f"{mean_score[-1]:10.3f}  {fraction[-1]:14.3f}")
p = nine_scores.double().clamp(1e-12, 1 - 1e-12)
brier = ((p - nine_test) ** 2).mean().item()
log_loss = F.binary_cross_entropy(p, nine_test.double()).item()
print(f"Brier score {brier:.4f} (scikit-learn "
      f"{sklearn.metrics.brier_score_loss(nine_test, nine_scores):.4f}), log loss "
      f"{log_loss:.4f} (scikit-learn "
      f"{sklearn.metrics.log_loss(nine_test, nine_scores.double()):.4f})")

fig, ax = plt.subplots(figsize=(4.6, 4.2))
ax.plot([0, 1], [0, 1], color="0.6", ls=":", label="perfectly calibrated")
ax.plot(mean_score, fraction, "o-", label="9-detector (test set)")
ax.set_xlabel("mean predicted probability in the bin")
ax.set_ylabel("fraction of 9s in the bin")
ax.set_title("Reliability diagram")
ax.legend()
plt.show()

# %% [markdown]
# ### One-vs-rest AUC for many classes
#
# For $C$ classes, a common summary is the **one-vs-rest** AUC: the AUC of
# "class $c$ against all others", using the predicted probability of class
# $c$ as the score, averaged over the classes (scikit-learn's
# `roc_auc_score(..., multi_class="ovr")`, macro average). It is computed
# below for the digits classifier with the exercise's `roc_auc`.

# %%
digits_probs = test_logits.softmax(dim=1)
per_class_auc = [roc_auc((test_labels == c).long(), digits_probs[:, c])
                 for c in range(10)]
print("one-vs-rest AUC per digit:", " ".join(f"{a:.3f}" for a in per_class_auc))
ovr_auc = sklearn.metrics.roc_auc_score(test_labels, digits_probs, multi_class="ovr")
print(f"macro average {sum(per_class_auc) / 10:.4f}, scikit-learn {ovr_auc:.4f}")

# %% [markdown]
# ## 17.6 Multi-label metrics
#
# In **multi-label** classification an example may carry several labels at
# once (a photo with a cat *and* a dog; a paper about vision *and*
# optimisation). The targets form a 0/1 matrix $Y$ of shape $(N, L)$ for $L$
# labels, the model has one sigmoid output per label (trained with
# `BCEWithLogitsLoss`, one binary problem per column), and the predictions
# $\hat Y$ form a matrix of the same shape. Two metrics look at the whole
# matrix:
#
# $$\text{Hamming loss} = \frac{1}{NL} \sum_{n, l} \mathbb{1}[\hat Y_{nl} \ne
#   Y_{nl}], \qquad \text{subset accuracy} = \frac{1}{N} \sum_{n}
#   \mathbb{1}[\hat Y_{n,:} = Y_{n,:}].$$
#
# The Hamming loss is the fraction of wrong *entries* (lower is better); the
# subset accuracy (also called exact match) the fraction of examples with
# *every* label right, a much stricter score. Per-label precision, recall and
# $F_1$ are the binary scores of each column; they are averaged over labels
# (macro) or computed from the pooled counts of all columns (micro).
#
# The example gives every digit three labels: *even*, *at least 5*, and
# *has a closed loop* (0, 6, 8 and 9). A linear layer with three outputs
# learns them together.

# %%
def digit_properties(y):
    """(N,) digits -> (N, 3) 0/1 labels: even, at least 5, has a closed loop."""
    loop = (y == 0) | (y == 6) | (y == 8) | (y == 9)
    return torch.stack([y % 2 == 0, y >= 5, loop], dim=1).long()


Y_train, Y_test = digit_properties(y_train), digit_properties(y_test)
set_seed(0)
tagger = train_classifier(
    nn.Linear(64, 3).to(device), X_train, Y_train, NUM_STEPS,
    loss_fn=lambda logits, Y: F.binary_cross_entropy_with_logits(logits, Y.float()))
tagger.eval()
with torch.no_grad():
    Y_pred = (tagger(X_test.to(device)) > 0).long().cpu()  # logit > 0 <=> prob > 0.5
hamming = (Y_pred != Y_test).double().mean().item()
subset = (Y_pred == Y_test).all(dim=1).double().mean().item()
print(f"Hamming loss {hamming:.4f} (scikit-learn "
      f"{sklearn.metrics.hamming_loss(Y_test, Y_pred):.4f})")
print(f"subset accuracy {subset:.4f} (scikit-learn "
      f"{sklearn.metrics.accuracy_score(Y_test, Y_pred):.4f})")
per_label = [precision_recall_f1(Y_test[:, j], Y_pred[:, j], "binary")
             for j in range(3)]
for name, (p, r, f) in zip(("even", "at least 5", "closed loop"), per_label,
                           strict=True):
    print(f"{name:12s} precision {p:.3f}, recall {r:.3f}, F1 {f:.3f}")
macro_f1 = sum(f for _, _, f in per_label) / 3
tp = (Y_pred & Y_test).sum().item()
micro_f1 = 2 * tp / (Y_pred.sum().item() + Y_test.sum().item())
print(f"macro F1 over labels {macro_f1:.4f} (scikit-learn "
      f"{sklearn.metrics.f1_score(Y_test, Y_pred, average='macro'):.4f}); micro F1 "
      f"{micro_f1:.4f} (scikit-learn "
      f"{sklearn.metrics.f1_score(Y_test, Y_pred, average='micro'):.4f})")

# %% [markdown]
# ## 17.7 Regression metrics
#
# For a regression with targets $y_i$ and predictions $\hat y_i$,
# $i = 1, \dots, N$, the standard metrics are
#
# $$\text{MSE} = \frac1N \sum_i (\hat y_i - y_i)^2, \qquad
#   \text{RMSE} = \sqrt{\text{MSE}}, \qquad
#   \text{MAE} = \frac1N \sum_i |\hat y_i - y_i|,$$
#
# $$R^2 = 1 - \frac{\sum_i (y_i - \hat y_i)^2}{\sum_i (y_i - \bar y)^2},
#   \qquad \bar y = \frac1N \sum_i y_i .$$
#
# - **MSE** is the usual training loss; its unit is the target's unit
#   squared, and squaring makes one large error count as much as many small
#   ones: it is sensitive to outliers.
# - **RMSE** is in the target's unit, which makes it easier to read ("off by
#   about 50 points").
# - **MAE** is in the target's unit too and grows only linearly with an
#   error, so a few outliers move it much less. (Minimising the MSE predicts
#   the conditional mean, minimising the MAE the conditional median.)
# - **$R^2$**, the coefficient of determination, compares the model with the
#   constant prediction $\bar y$: 1 is perfect, 0 is no better than always
#   predicting the mean, and it is **negative** for a model worse than that.
#   It has no unit, so it compares across data sets. Both sums are plain sums
#   over the same $N$ examples: dividing the numerator by $N$ (the MSE) and the
#   denominator by $N - 1$ (the unbiased variance of `torch.var`) gives a
#   slightly wrong $R^2$. The order of the arguments matters too: $\bar y$ and
#   the denominator come from the **true** values.
#
# When all $y_i$ are equal, the denominator is 0. scikit-learn's `r2_score`
# then returns 1.0 for a perfect prediction and 0.0 otherwise; so does the
# exercise.

# %% [markdown]
# ### Exercise 5: `regression_metrics` (3 points)
#
# Return the four metrics in a dictionary. A classic bug is a model output of
# shape $(N, 1)$ compared with targets of shape $(N,)$: broadcasting silently
# turns the difference into an $(N, N)$ matrix and every metric is wrong. Your
# function refuses such inputs with a `ValueError`. The tests compare with
# scikit-learn's `mean_squared_error`, `mean_absolute_error` and `r2_score`,
# which you may not call, nor PyTorch's `mse_loss` and `l1_loss`.

# %% grade_id="ch17-regression-metrics"
def regression_metrics(y_true, y_pred):
    """MSE, MAE, RMSE and R^2 of a prediction.

    N is the number of examples.

    Args:
        y_true: floating-point tensor of shape (N,), N >= 2, the targets.
        y_pred: floating-point tensor of shape (N,) (exactly the same shape),
            the same dtype and device, the predictions.

    Returns:
        A dict {"mse": float, "mae": float, "rmse": float, "r2": float} of
        Python floats: the mean squared error, the mean absolute error, the
        square root of the MSE and the coefficient of determination
        R^2 = 1 - sum((y_true - y_pred)^2) / sum((y_true - mean(y_true))^2).
        If y_true is constant (the denominator is 0), r2 is 1.0 when y_pred
        equals y_true exactly and 0.0 otherwise. The inputs are not modified.

    Raises:
        ValueError: if y_true is not 1-D, if y_pred does not have exactly
            the shape of y_true (no broadcasting), or if N < 2.

    Do not call sklearn.metrics.mean_squared_error, mean_absolute_error,
    root_mean_squared_error, r2_score or explained_variance_score, nor
    torch.nn.functional.mse_loss or torch.nn.functional.l1_loss.
    """
    ### BEGIN SOLUTION
    if y_true.ndim != 1 or y_pred.shape != y_true.shape or len(y_true) < 2:
        raise ValueError(f"need two tensors of the same shape (N,) with N >= 2, got "
                         f"{tuple(y_true.shape)} and {tuple(y_pred.shape)}")
    error = y_pred - y_true
    ss_res = (error**2).sum().item()
    ss_tot = ((y_true - y_true.mean()) ** 2).sum().item()
    mse = ss_res / len(y_true)
    if ss_tot > 0:
        r2 = 1.0 - ss_res / ss_tot
    else:
        r2 = 1.0 if ss_res == 0 else 0.0
    return {"mse": mse, "mae": error.abs().mean().item(), "rmse": math.sqrt(mse),
            "r2": r2}
    ### END SOLUTION


# %%
# Try it: a prediction that is off by 1 everywhere
print(regression_metrics(torch.tensor([1.0, 2.0, 3.0, 4.0]),
                         torch.tensor([2.0, 3.0, 4.0, 5.0])))

# %% grade_id="ch17-regression-metrics-tests" points=3
"""regression_metrics: an example by hand (R^2 with plain sums over N, the
mean of the true values), a dict of Python floats, float64 on `device`, N = 2,
constant targets, the ValueErrors ((N, 1) against (N,), N < 2); equals
scikit-learn; no sklearn regression metrics, no mse_loss or l1_loss.

Hidden tests: other sizes, scales and seeds, float32 and float64.
"""
banned = tuple("sklearn.metrics." + name for name in (
    "mean_squared_error", "mean_absolute_error", "root_mean_squared_error", "r2_score",
    "explained_variance_score")) + ("torch.nn.functional.mse_loss",
                                    "torch.nn.functional.l1_loss")
keys = ("mse", "mae", "rmse", "r2")


def check_regression(y_true, y_pred, rtol=1e-10, expected=None):
    """Compare with scikit-learn (and with `expected`, when given)."""
    before = (y_true.clone(), y_pred.clone())
    with forbid(*banned):
        got = regression_metrics(y_true, y_pred)
    what = f"regression_metrics of {len(y_true)} {y_true.dtype} values"
    assert torch.equal(y_true, before[0]) and torch.equal(y_pred, before[1]), (
        f"{what}: the inputs were modified")
    assert isinstance(got, dict) and sorted(got) == sorted(keys), (
        f"{what}: expected a dict with keys {keys}, got {got!r}")
    for key in keys:
        assert type(got[key]) is float, f"{what}[{key!r}]: got {type(got[key])}"
    t, p = y_true.cpu().double().numpy(), y_pred.cpu().double().numpy()
    want = {"mse": sklearn.metrics.mean_squared_error(t, p),
            "mae": sklearn.metrics.mean_absolute_error(t, p),
            "rmse": sklearn.metrics.root_mean_squared_error(t, p),
            "r2": sklearn.metrics.r2_score(t, p)}
    # R^2 is a number of order 1 without a unit: in float32 it may be off by a
    # few float32 roundings (1e-7) even where it should be exactly 0
    r2_atol = 1e-12 if y_true.dtype == torch.float64 else 1e-6
    for key in keys:
        if expected is not None:
            assert_close(want[key], expected[key], rtol=1e-12, atol=1e-12,
                         name="(the check itself)")
        assert_close(got[key], float(want[key]), rtol=rtol,
                     atol=r2_atol if key == "r2" else 1e-12, name=f"{what}[{key!r}]")


# errors 1, -1, 2, 0: MSE 6/4, MAE 4/4; mean of y_true 2.5, sum of squares 5
check_regression(torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64),
                 torch.tensor([2.0, 1.0, 5.0, 4.0], dtype=torch.float64),
                 expected={"mse": 1.5, "mae": 1.0, "rmse": math.sqrt(1.5),
                           "r2": 1 - 6 / 5})
# predicting the mean of y_true gives R^2 = 0
check_regression(torch.tensor([1.0, 2.0, 6.0]), torch.full((3,), 3.0),
                 rtol=1e-6, expected={"mse": 14 / 3, "mae": 2.0,
                                      "rmse": math.sqrt(14 / 3), "r2": 0.0})
check_regression(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 0.0]), rtol=1e-6,
                 expected={"mse": 1.0, "mae": 1.0, "rmse": 1.0, "r2": -3.0})
gen = torch.Generator().manual_seed(4)
y_true = torch.randn(47, generator=gen, dtype=torch.float64).to(device) * 3 + 10
y_pred = y_true + torch.randn(47, generator=gen, dtype=torch.float64).to(device)
check_regression(y_true, y_pred)  # float64 on device
check_regression(torch.full((5,), 2.0), torch.full((5,), 2.0), rtol=1e-6,
                 expected={"mse": 0.0, "mae": 0.0, "rmse": 0.0, "r2": 1.0})
check_regression(torch.full((5,), 2.0), torch.tensor([2.0, 2, 2, 2, 3]), rtol=1e-6)
expect_raises(ValueError, regression_metrics, torch.rand(6), torch.rand(6, 1),
              name="regression_metrics(y_true (6,), y_pred (6, 1))")
expect_raises(ValueError, regression_metrics, torch.rand(6, 1), torch.rand(6, 1),
              name="regression_metrics with y_true of shape (6, 1)")
expect_raises(ValueError, regression_metrics, torch.rand(1), torch.rand(1),
              name="regression_metrics with N = 1")
_ = expect_raises(ValueError, regression_metrics, torch.rand(3), torch.rand(4),
                  name="regression_metrics with 3 targets and 4 predictions")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(417)
for _n, _scale in [(2, 1.0), (3, 100.0), (19, 0.01), (250, 5.0), (1001, 1.0)]:
    for _dtype in (torch.float64, torch.float32):
        _t = (torch.randn(_n, generator=_gen, dtype=_dtype) * _scale).to(device)
        _noise = torch.randn(_n, generator=_gen, dtype=_dtype).to(device)
        _p = _t + 0.3 * _scale * _noise  # R^2 near 0.9, far from 0
        check_regression(_t, _p, rtol=1e-10 if _dtype == torch.float64 else 1e-4)
        _bad = (_p * -3).to(device)  # worse than the mean: R^2 < 0
        check_regression(_t, _bad, rtol=1e-10 if _dtype == torch.float64 else 1e-4)
check_regression(torch.full((7,), -1.5, dtype=torch.float64),
                 torch.full((7,), -1.25, dtype=torch.float64))
expect_raises(ValueError, regression_metrics, torch.rand(4, 1), torch.rand(4),
              name="regression_metrics(y_true (4, 1), y_pred (4,))")
_ = expect_raises(ValueError, regression_metrics, torch.rand(5), torch.rand(4),
                  name="regression_metrics with 5 targets and 4 predictions")
### END HIDDEN TESTS

# %% [markdown]
# ### A regression on real data
#
# Scikit-learn's diabetes data: 442 patients, 10 centred and scaled
# measurements (age, sex, body mass index, blood pressure and six blood serum
# values), and a
# measure of disease progression one year later as the target. A linear
# model fitted by least squares (`torch.linalg.lstsq`, with a column of ones
# for the intercept) is compared with the constant prediction "the training
# mean". Then one test prediction is made badly wrong, to see which metric
# notices.

# %%
X_diabetes, y_diabetes, _ = load_tabular("diabetes", dtype=torch.float64)
Xd_train, Xd_test, yd_train, yd_test = train_test_split(X_diabetes, y_diabetes,
                                                        test_fraction=0.25, seed=0)


def with_ones(X):
    return torch.cat([X, torch.ones(len(X), 1, dtype=X.dtype)], dim=1)


coefficients = torch.linalg.lstsq(with_ones(Xd_train), yd_train[:, None]).solution
linear_pred = (with_ones(Xd_test) @ coefficients).squeeze(1)  # (N, 1) -> (N,)
mean_pred = torch.full_like(yd_test, yd_train.mean().item())
outlier_pred = linear_pred.clone()
outlier_pred[0] += 500.0  # one prediction badly off
print(f"{'':28s}{'MSE':>9s}{'RMSE':>8s}{'MAE':>8s}{'R^2':>8s}")
for name, pred in (("linear model", linear_pred), ("training mean", mean_pred),
                   ("linear, one outlier", outlier_pred)):
    m = regression_metrics(yd_test, pred)
    print(f"{name:28s}{m['mse']:9.1f}{m['rmse']:8.1f}{m['mae']:8.1f}{m['r2']:8.3f}")

fig, ax = plt.subplots(figsize=(4.6, 4.2))
ax.scatter(yd_test.numpy(), linear_pred.numpy(), s=12, alpha=0.7,
           label="linear model")
ax.axhline(mean_pred[0].item(), color="tab:red", ls="--", label="training mean")
lims = [yd_test.min().item(), yd_test.max().item()]
ax.plot(lims, lims, color="0.4", ls=":", label="perfect prediction")
ax.set_xlabel("true disease progression")
ax.set_ylabel("predicted disease progression")
ax.set_title("Diabetes test set: predictions against the truth")
ax.legend()
plt.show()

# %% [markdown]
# The training mean scores an $R^2$ near 0 on the test set (not exactly 0: the
# test mean is not the training mean). One outlier raised the MSE far more,
# relative to its size, than the MAE: look at the ratios in the table.

# %% [markdown]
# ## 17.8 How sure is a test score?
#
# A test set is a sample, so a metric computed on it is an estimate with an
# error bar. For accuracy the count of correct answers is binomial: with $n$
# test examples and true accuracy $p$, the **standard error** is
# $\sqrt{p(1-p)/n}$, and an approximate 95% interval is the estimate $\pm 1.96$
# standard errors. For metrics without such a formula ($F_1$, AUC), the
# **bootstrap** works: draw $n$ test examples with replacement, recompute the
# metric, repeat a thousand times, and read the interval off the 2.5% and
# 97.5% quantiles. (The cell draws all resamples at once as a matrix of
# indices, and computes $F_1$ as $2TP / (2TP + FP + FN)$ from the counts.)
# Two models whose intervals overlap widely have not been shown to differ,
# however many decimals the table prints. (To compare two models on the
# *same* test set, bootstrap the difference of their scores on the same
# resamples: the two models tend to fail on the same hard examples, so the
# difference is often less noisy than either score.)

# %%
NUM_RESAMPLES = 1000  # the knob
gen = torch.Generator().manual_seed(0)
n_test = len(test_labels)
# all resamples at once: row r of `samples` lists the test examples of resample r
samples = torch.randint(0, n_test, (NUM_RESAMPLES, n_test), generator=gen)
boot_accuracy = (test_pred[samples] == test_labels[samples]).double().mean(dim=1)
truth, guess = nine_test[samples], nine_pred[samples]  # (R, n) each
tp = (truth & guess).sum(dim=1)
boot_f1 = (2 * tp / (truth.sum(dim=1) + guess.sum(dim=1))).float()  # 2TP/(2TP+FP+FN)
acc = accuracy(test_labels, test_pred)
se = math.sqrt(acc * (1 - acc) / n_test)
low, high = torch.quantile(boot_accuracy, torch.tensor([0.025, 0.975],
                                                       dtype=torch.float64)).tolist()
print(f"digits accuracy {acc:.4f}: standard error {se:.4f}, normal interval "
      f"[{acc - 1.96 * se:.4f}, {acc + 1.96 * se:.4f}], "
      f"bootstrap [{low:.4f}, {high:.4f}]")
f_low, f_high = torch.quantile(boot_f1, torch.tensor([0.025, 0.975])).tolist()
print(f"9-detector F1 {nine_f1:.4f} from only {int(nine_test.sum())} positives: "
      f"bootstrap interval [{f_low:.4f}, {f_high:.4f}]")

fig, ax = plt.subplots(figsize=(6, 3.4))
ax.hist(boot_accuracy.numpy(), bins=30, alpha=0.6, label="digits accuracy")
ax.hist(boot_f1.numpy(), bins=30, alpha=0.6, label="F1 of the 9-detector")
ax.axvline(acc, color="tab:blue", ls="--", label="accuracy on the test set")
ax.axvline(nine_f1, color="tab:orange", ls="--", label="F1 on the test set")
ax.set_xlabel("metric on a bootstrap resample of the test set")
ax.set_ylabel("number of resamples")
ax.set_title(f"{NUM_RESAMPLES} bootstrap resamples of the test set")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## 17.9 Summary
#
# - Train on a loss, report metrics. Evaluate in `eval()` mode under
#   `torch.no_grad()`, collect every prediction, then compute the metric once:
#   averaging per-batch accuracies or $F_1$ scores gives a different number.
# - Accuracy (and top-$k$ accuracy) is one number; the confusion matrix, rows
#   true and columns predicted, shows where the mistakes are.
# - Precision asks how many of the predicted positives are right, recall how
#   many of the positives were found, $F_1$ is their harmonic mean. Micro
#   averaging equals accuracy in single-label problems; macro averaging weighs
#   every class the same and exposes a weak rare class; weighted averaging
#   weighs by support. Undefined ratios count as 0.
# - On imbalanced data accuracy misleads: a constant answer scored high on the
#   9-detection task while its recall and $F_1$ were 0. Report per-class
#   precision and recall, balanced accuracy or MCC, and the curves.
# - A threshold turns scores into decisions; the ROC and precision-recall
#   curves show all thresholds. The ROC AUC is the probability that a positive
#   outranks a negative, ties counting one half; choose thresholds on
#   validation data, never on the test set.
# - When scores are read as probabilities, check their calibration with a
#   reliability diagram, the Brier score or the log loss.
# - Multi-label problems use the Hamming loss, the subset accuracy and
#   per-label scores.
# - MSE punishes large errors, MAE is robust to them, RMSE is in the target's
#   unit, and $R^2$ compares with predicting the mean of the true values (and
#   can be negative).
# - A test score is an estimate: give its standard error or a bootstrap
#   interval.
#
# **Next:** chapter 18 is about what to do when the metrics are bad: debugging
# a network that does not learn, from gradient norms and dead ReLUs to
# overfitting a single batch.
