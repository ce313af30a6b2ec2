# %% [markdown]
# # Chapter 06: Types of machine-learning tasks
#
# The same network body can detect tumours, price houses, group customers or
# steer a robot. What changes from one task to the next is the *head*: what the
# last layer outputs, which loss turns that output into a training signal, and
# which numbers tell you whether the model is any good. This chapter walks
# through the four families of tasks of the seed guide (classification in its
# binary, multi-class and multi-label forms; regression; clustering;
# reinforcement learning) and builds a small, working example of each.
#
# **You will learn**
# - how the output layer and the loss follow from the task: a sigmoid and binary
#   cross-entropy for yes/no, a softmax and cross-entropy for one class out of
#   $C$, one sigmoid per label for several labels at once, no activation and the
#   mean squared error for a number;
# - why `nn.BCEWithLogitsLoss` on logits beats `nn.Sigmoid` followed by
#   `nn.BCELoss` (a mistake of the seed guide);
# - the metrics of each task: accuracy, precision, recall, F1, ROC-AUC; Hamming
#   loss and subset accuracy; MSE, MAE and $R^2$; inertia and silhouette;
#   the return of an episode;
# - k-means with k-means++ initialisation, checked against scikit-learn;
# - Q-learning with $\varepsilon$-greedy exploration on a small grid world.
#
# **Graded exercises** (18 points)
#
# | exercise | points |
# |---|---|
# | `BinaryClassifier(in_features, hidden=32)` | 3 |
# | `multilabel_metrics(y_true, y_pred)` | 2 |
# | `r2_score(y_true, y_pred)` | 2 |
# | `Regressor(in_features, hidden=16)` | 3 |
# | `kmeans(X, k, num_iters, seed)` | 4 |
# | `epsilon_greedy(q_values, epsilon, generator)` | 2 |
# | `q_learning_update(Q, s, a, r, s_next, alpha, gamma, done=False)` | 2 |
#
# Each exercise is a function or a module whose docstring states its whole
# contract: shapes, dtypes, devices, edge cases and the built-ins you may not
# call. Replace `raise NotImplementedError()` with your code and run the test cell
# below it. The visible tests show every rule the grader checks; hidden tests
# repeat them on other values, shapes and seeds.

# %%
import math

import matplotlib.pyplot as plt
import sklearn.cluster
import sklearn.datasets
import sklearn.linear_model
import sklearn.metrics
import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse import get_device, progress, set_seed
from dlcourse.checks import assert_close, assert_shape, expect_raises, forbid
from dlcourse.data import load_digits, load_tabular, train_test_split
from dlcourse.plotting import plot_curves
from dlcourse.widgets import interactive_plot

device = get_device()  # the tests also run your code on this device
set_seed(0)
results = {}  # task -> its metrics on held-out data, filled in section by section
print(f"torch {torch.__version__}, device: {device}")

# %% [markdown]
# ## 6.1 One body, four kinds of heads
#
# | family | the data | the model outputs | for example |
# |---|---|---|---|
# | classification (supervised) | inputs with labels | a score per class | which digit |
# | regression (supervised) | inputs with real targets | a number | a price |
# | clustering (unsupervised) | inputs only | a group per input | customer segments |
# | reinforcement learning | rewards for actions | an action | a game, a robot |
#
# For the supervised tasks the choice of head is not a matter of taste. Pick a
# probability distribution for the target given the input, let the network
# output its parameters, and train by **maximum likelihood**, i.e. minimise the
# negative log-likelihood of the observed targets (chapter 3). Each choice of
# distribution gives one standard pair of output layer and loss:
#
# | target | distribution | network output | loss |
# |---|---|---|---|
# | $y \in \{0, 1\}$ | Bernoulli, $\sigma(z)$ | one logit $z$ | binary cross-entropy |
# | $y \in \{0, \dots, C-1\}$ | categorical, softmax$(z)$ | $C$ logits | cross-entropy |
# | $y \in \{0, 1\}^L$ | $L$ independent Bernoullis | $L$ logits | sum of $L$ BCEs |
# | $y \in \mathbb{R}$ | normal, mean $\hat y$ | one number $\hat y$ | squared error |
#
# Clustering has no labels to be likely about, and reinforcement learning has no
# fixed dataset at all; both get their own objective later in the chapter.
#
# Throughout, $N$ is the number of examples, $D$ the number of input features,
# $C$ the number of classes and $L$ the number of labels.

# %% [markdown]
# ## 6.2 Binary classification
#
# The label is 0 or 1: benign or malignant, ham or spam. The network outputs one
# real number per example, the **logit** $z$, and the model's probability of
# class 1 is
#
# $$p = \sigma(z) = \frac{1}{1 + e^{-z}}, \qquad
#   z = \log\frac{p}{1 - p}\ \text{(the log-odds)}.$$
#
# The Bernoulli negative log-likelihood is the **binary cross-entropy** (BCE):
#
# $$\ell(z, y) = -\big[y \log p + (1 - y)\log(1 - p)\big]
#   = \log\big(1 + e^{z}\big) - y z ,$$
#
# and averaged over the batch it is the loss. The right-hand form follows from
# $\log\sigma(z) = -\log(1 + e^{-z}) = z - \log(1 + e^{z})$ and
# $\log(1 - \sigma(z)) = \log\sigma(-z) = -\log(1 + e^{z})$: substitute them and
# collect the terms in $\log(1 + e^{z})$.
# Its gradient is simply $\partial \ell / \partial z = \sigma(z) - y$: the error of
# the predicted probability.
#
# The prediction is class 1 when $p > 0.5$, that is when $z > 0$; a different
# **threshold** trades one kind of error against the other (below).
#
# ### The pitfall: `Sigmoid` + `BCELoss`
#
# The seed guide ends its binary classifier with `nn.Sigmoid()` and trains it with
# `nn.BCELoss()`. That computes $p = \sigma(z)$ first and then $\log(1 - p)$. In
# float32, $\sigma(z)$ rounds to exactly 1 once $z$ exceeds about 16.6; then
# $\log(1 - p) = \log 0 = -\infty$. PyTorch's `BCELoss` clamps each log at
# $-100$, so the loss of a confidently wrong example stops growing at 100, and its
# gradient, computed through the rounded sigmoid, is exactly 0: the example that
# most needs correcting teaches nothing.
#
# `nn.BCEWithLogitsLoss` takes the logit and evaluates
# $\log(1 + e^{z}) - yz$ directly with a stable formula (the same "max trick" as
# chapter 3's log-softmax). Its loss at $z = 40, y = 0$ is 40 and its gradient is
# 1, as the maths says. **Keep the sigmoid out of the model**; apply it only when
# you need probabilities for display or a threshold.

# %%
for logit in (10.0, 16.0, 17.0, 40.0):
    z = torch.tensor([logit], requires_grad=True)  # float32, like a real model
    target = torch.tensor([0.0])  # the true class is 0: a confident mistake
    naive = nn.BCELoss()(torch.sigmoid(z), target)
    (naive_grad,) = torch.autograd.grad(naive, z)
    stable = nn.BCEWithLogitsLoss()(z, target)
    (stable_grad,) = torch.autograd.grad(stable, z)
    print(f"z = {logit:4.0f}: Sigmoid + BCELoss: loss {naive.item():9.4f}, "
          f"grad {naive_grad.item():.4f} | BCEWithLogitsLoss: loss "
          f"{stable.item():9.4f}, grad {stable_grad.item():.4f}")

zs = torch.linspace(0, 30, 3001)
first_one = zs[torch.sigmoid(zs) == 1.0][0].item()
print(f"in float32, sigmoid(z) == 1.0 exactly from z = {first_one:.2f} on")

fig, ax = plt.subplots(figsize=(6.5, 3.5))
ax.plot(zs.numpy(), F.binary_cross_entropy(torch.sigmoid(zs), torch.zeros_like(zs),
                                           reduction="none").numpy(),
        label="BCELoss(sigmoid(z), 0), float32")
ax.plot(zs.numpy(), F.binary_cross_entropy_with_logits(
    zs, torch.zeros_like(zs), reduction="none").numpy(), "--",
    label="BCEWithLogitsLoss(z, 0) = log(1 + e^z)")
ax.set(xlabel="logit z (true class 0)", ylabel="loss", ylim=(0, 105),
       title="A confident mistake: the loss with and without logits")
ax.legend(loc="upper left")
plt.show()

# %% [markdown]
# ### Exercise 1: `BinaryClassifier` (3 points)
#
# Write a small multi-layer perceptron for binary classification: one hidden layer
# with a ReLU, and one output unit that returns the **logit**, not a probability.
# The architecture is fixed so that the tests can copy weights between your module
# and a reference network built from `nn.Linear` and `nn.ReLU`; they also train it
# for 100 Adam steps on the breast-cancer data and expect at least 93% test
# accuracy (the reference reaches about 97%).

# %% grade_id="ch06-binary-classifier"
# Fill in both methods: def __init__ builds the layers, def forward runs them.
class BinaryClassifier(nn.Module):
    """Binary classifier that returns one raw logit per example.

    D is the number of input features, H the hidden width, N the batch size.
    Architecture, exactly (the tests rely on it):

        Linear(D, H) -> ReLU -> Linear(H, 1)

    Both linear layers have a bias and are created in this order, so that
    ``[p.shape for p in model.parameters()]`` is
    [(H, D), (H,), (1, H), (1,)]: H * (D + 2) + 1 parameters in all. No dropout,
    no normalisation and **no sigmoid**: the output is the logit z, and
    sigmoid(z) is the probability of class 1. Train with nn.BCEWithLogitsLoss.

    Args:
        in_features: D, an int >= 1.
        hidden: H, an int >= 1 (default 32).

    forward(x):
        x: floating-point tensor of shape (N, D), N >= 1, with the dtype and
            device of the module's parameters (after ``.double()`` or
            ``.to(device)`` too).
        Returns the logits, a tensor of shape (N,) (shape (1,) when N = 1,
        never a 0-d tensor), same dtype and device as ``x``.
    """

    def __init__(self, in_features, hidden=32):
        super().__init__()
        ### BEGIN SOLUTION
        self.hidden = nn.Linear(in_features, hidden)
        self.out = nn.Linear(hidden, 1)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.out(torch.relu(self.hidden(x))).squeeze(-1)  # (N,)
        ### END SOLUTION


# %%
# Try it: 3 examples of 30 features give 3 logits (any real numbers)
print(BinaryClassifier(30)(torch.randn(3, 30)))

# %% grade_id="ch06-binary-classifier-tests" points=3
"""BinaryClassifier: parameter shapes in the stated order (default hidden=32);
logits of shape (N,) for N = 1 and N > 1; with copied weights, outputs and
gradients equal Linear -> ReLU -> Linear (no sigmoid: large inputs give logits
outside [0, 1]); float64 on `device`; 100 Adam steps with BCEWithLogitsLoss reach
>= 93% test accuracy on standardised breast_cancer."""


def _reference_mlp(widths):
    """Linear -> ReLU -> ... -> Linear with the given layer widths."""
    layers = []
    for i in range(len(widths) - 1):
        layers += [nn.Linear(widths[i], widths[i + 1]), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def _compare_with_reference(model, widths, x, name):
    """Copy the model's parameters into the reference; compare outputs, grads."""
    reference = _reference_mlp(widths).to(x.device, x.dtype)
    with torch.no_grad():
        for ref_p, p in zip(reference.parameters(), model.parameters(), strict=True):
            ref_p.copy_(p)
    out = model(x)
    want = reference(x).squeeze(-1)
    assert_close(out, want, rtol=1e-6, atol=1e-6, name=f"{name}: output")
    assert out.device == x.device, f"{name}: output on {out.device}, not {x.device}"
    target = (torch.arange(len(x), device=x.device) % 2).to(x.dtype)
    nn.BCEWithLogitsLoss()(out, target).backward()
    nn.BCEWithLogitsLoss()(want, target).backward()
    for i, (ref_p, p) in enumerate(zip(reference.parameters(), model.parameters(),
                                       strict=True)):
        assert_close(p.grad, ref_p.grad, rtol=1e-6, atol=1e-6,
                     name=f"{name}: gradient of parameter {i}")


def _train_and_predict(model, X_tr, y_tr, X_te, num_steps, lr):
    """Full-batch Adam with BCEWithLogitsLoss; returns the test logits."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(num_steps):
        loss = nn.BCEWithLogitsLoss()(model(X_tr), y_tr)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return model(X_te)


torch.manual_seed(0)
model = BinaryClassifier(5)
assert isinstance(model, nn.Module), "BinaryClassifier must subclass nn.Module"
shapes = [tuple(p.shape) for p in model.parameters()]
assert shapes == [(32, 5), (32,), (1, 32), (1,)], (
    f"BinaryClassifier(5): expected parameter shapes [(32, 5), (32,), (1, 32), "
    f"(1,)] (Linear(5, 32), then Linear(32, 1)), got {shapes}")
assert_shape(model(torch.randn(7, 5)), (7,), name="BinaryClassifier(5)(x (7, 5))")
assert_shape(model(torch.randn(1, 5)), (1,), name="BinaryClassifier(5)(x (1, 5))")
x = 10 * torch.randn(6, 5)  # large inputs: a sigmoid would squash the outputs
_compare_with_reference(model, [5, 32, 1], x, "BinaryClassifier(5)")
out = model(x)
assert (out < 0).any() or (out > 1).any(), (
    f"BinaryClassifier outputs {out.tolist()} all lie in [0, 1]: return logits, "
    "not probabilities (no sigmoid in forward)")
model = BinaryClassifier(4, hidden=3).double().to(device)
_compare_with_reference(model, [4, 3, 1],
                        torch.randn(5, 4, dtype=torch.float64, device=device),
                        "BinaryClassifier(4, hidden=3) in float64 on device")
# a short training run on breast_cancer (569 examples, 30 features)
X_bc, y_bc, _names = load_tabular("breast_cancer")
X_tr, X_te, y_tr, y_te = train_test_split(X_bc, y_bc, test_fraction=0.25, seed=0)
mean, std = X_tr.mean(dim=0), X_tr.std(dim=0)  # statistics of the training split
torch.manual_seed(0)
logits = _train_and_predict(BinaryClassifier(30, hidden=16), (X_tr - mean) / std,
                            y_tr.float(), (X_te - mean) / std, num_steps=100, lr=1e-2)
accuracy = ((logits > 0).long() == y_te).float().mean().item()
assert accuracy >= 0.93, (
    f"BinaryClassifier(30, hidden=16) after 100 Adam steps (lr 0.01) with "
    f"BCEWithLogitsLoss: test accuracy {accuracy:.3f}, expected >= 0.93")
### BEGIN HIDDEN TESTS
for _D, _H, _N in [(7, 5, 1), (3, 11, 9), (13, 2, 4)]:
    torch.manual_seed(_D)
    _model = BinaryClassifier(_D, hidden=_H).double().to(device)
    _shapes = [tuple(p.shape) for p in _model.parameters()]
    assert _shapes == [(_H, _D), (_H,), (1, _H), (1,)], (
        f"BinaryClassifier({_D}, hidden={_H}): parameter shapes {_shapes}")
    assert sum(p.numel() for p in _model.parameters()) == _H * (_D + 2) + 1
    _x = 5 * torch.randn(_N, _D, dtype=torch.float64, device=device)
    _compare_with_reference(_model, [_D, _H, 1], _x,
                            f"BinaryClassifier({_D}, hidden={_H}) on x ({_N}, {_D})")
_model = BinaryClassifier(30)
assert [tuple(p.shape) for p in _model.parameters()][0] == (32, 30), (
    "BinaryClassifier(30): the default hidden width is 32")
for _seed, _H in [(1, 8), (2, 32)]:
    torch.manual_seed(_seed)
    _logits = _train_and_predict(BinaryClassifier(30, hidden=_H), (X_tr - mean) / std,
                                 y_tr.float(), (X_te - mean) / std, 100, 1e-2)
    _acc = ((_logits > 0).long() == y_te).float().mean().item()
    assert _acc >= 0.93, f"hidden={_H}, seed {_seed}: test accuracy {_acc:.3f}"
### END HIDDEN TESTS

# %% [markdown]
# ### Training it on the breast-cancer data
#
# The Wisconsin breast-cancer data has 569 tumours described by 30 measurements,
# labelled malignant (0) or benign (1). We keep a quarter of them aside as a test
# set and **standardise** the features with the mean and standard deviation of the
# training part only, so that no information from the test set leaks into training.
# The helper below trains any model with full-batch Adam and records both losses.

# %%
X_bc, y_bc, bc_features = load_tabular("breast_cancer")
X_train, X_test, y_train, y_test = train_test_split(X_bc, y_bc, test_fraction=0.25,
                                                    seed=0)
bc_mean, bc_std = X_train.mean(dim=0), X_train.std(dim=0)
X_train, X_test = (X_train - bc_mean) / bc_std, (X_test - bc_mean) / bc_std
print(f"train {tuple(X_train.shape)}, test {tuple(X_test.shape)}, "
      f"fraction of class 1 in the test set: {y_test.float().mean():.3f}")


def fit(model, loss_fn, data, num_steps, lr, weight_decay=0.0):
    """Full-batch Adam on ``data = (X_tr, y_tr, X_te, y_te)``; the loss curves."""
    X_tr, y_tr, X_te, y_te = data
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    history = {"train loss": [], "test loss": []}
    for _ in range(num_steps):
        loss = loss_fn(model(X_tr), y_tr)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            history["test loss"].append(loss_fn(model(X_te), y_te).item())
        history["train loss"].append(loss.item())
    return history


def train_breast_cancer_classifier(num_steps=100, hidden=32, seed=0):
    """A BinaryClassifier trained on the standardised breast-cancer training set."""
    torch.manual_seed(seed)
    model = BinaryClassifier(X_train.shape[1], hidden=hidden)
    data = (X_train, y_train.float(), X_test, y_test.float())
    return model, fit(model, nn.BCEWithLogitsLoss(), data, num_steps, lr=1e-2)


# %% [markdown]
# A prediction has four possible outcomes: true or false, positive or negative.
# With TP, FP, TN, FN their counts on the test set, the usual metrics are
#
# $$\text{accuracy} = \frac{TP + TN}{N},\quad
#   \text{precision} = \frac{TP}{TP + FP},\quad
#   \text{recall} = \frac{TP}{TP + FN},\quad
#   F_1 = \frac{2\,\text{precision}\cdot\text{recall}}
#              {\text{precision} + \text{recall}} .$$
#
# Accuracy misleads when one class is rare (predicting "healthy" for everyone is
# 99% accurate if 1% are ill); precision asks "when the model says positive, how
# often is it right?", recall "how many of the positives does it find?". The
# **ROC-AUC** ignores the threshold: it is the probability that a random positive
# example gets a higher score than a random negative one (1 is perfect, 0.5 is
# chance). Chapter 17 implements all of them; here we use scikit-learn's.

# %%
bc_model, bc_history = train_breast_cancer_classifier()
with torch.no_grad():
    bc_probs = torch.sigmoid(bc_model(X_test))  # probabilities only for metrics
bc_pred = (bc_probs > 0.5).long()
results["binary classification"] = {
    "accuracy": sklearn.metrics.accuracy_score(y_test, bc_pred),
    "F1": sklearn.metrics.f1_score(y_test, bc_pred),
    "ROC-AUC": sklearn.metrics.roc_auc_score(y_test, bc_probs),
}
print(sklearn.metrics.classification_report(y_test, bc_pred, digits=3,
                                            target_names=["malignant", "benign"]))
print("ROC-AUC:", round(results["binary classification"]["ROC-AUC"], 4))
ax = plot_curves(bc_history, xlabel="Adam step", ylabel="BCE loss")
ax.set_title("BinaryClassifier on breast_cancer")
plt.show()

# %% [markdown]
# ### The decision threshold
#
# The model outputs a score; the threshold turns it into a decision, and it need
# not be 0.5. A screening test that must miss as few malignant tumours as
# possible lowers the bar for "malignant" and accepts more false alarms. Move
# the threshold on the probability of class 0 (malignant, the class we want to
# find) and watch precision and recall pull against each other, while the ROC
# curve, which does not depend on the threshold, only shows where you stand on it.

# %%
def show_threshold(threshold=0.5):
    """Confusion counts, precision and recall for 'malignant' at a threshold."""
    model, _ = train_breast_cancer_classifier()
    with torch.no_grad():
        p_malignant = 1 - torch.sigmoid(model(X_test))
    is_malignant = (y_test == 0).long()
    flagged = (p_malignant >= threshold).long()
    tp = int(((flagged == 1) & (is_malignant == 1)).sum())
    fp = int(((flagged == 1) & (is_malignant == 0)).sum())
    fn = int(((flagged == 0) & (is_malignant == 1)).sum())
    precision = tp / max(tp + fp, 1)
    recall = tp / max(tp + fn, 1)
    fpr, tpr, _ = sklearn.metrics.roc_curve(is_malignant, p_malignant)
    current_fpr = fp / max(int((is_malignant == 0).sum()), 1)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(fpr, tpr, label="ROC curve")
    ax.plot([0, 1], [0, 1], ":", color="gray", label="chance")
    ax.plot([current_fpr], [recall], "o", color="red", label="this threshold")
    ax.set(xlabel="false-positive rate", ylabel="recall (true-positive rate)",
           title=f"threshold {threshold:.2f}: precision {precision:.3f}, "
                 f"recall {recall:.3f}\nTP {tp}, FP {fp}, FN {fn}")
    ax.legend(loc="lower right")
    return fig


interactive_plot(show_threshold, threshold=(0.01, 0.99, 0.01))

# %% [markdown]
# ## 6.3 Multi-class classification
#
# Now each example belongs to exactly one of $C$ classes (a digit 0-9, one of 1,000
# ImageNet categories). The network outputs $C$ logits $z \in \mathbb{R}^C$, the
# softmax turns them into a distribution, and the loss is the cross-entropy of
# chapter 3:
#
# $$\ell(z, y) = -\log \operatorname{softmax}(z)_y
#   = -z_y + \log \sum_{c=0}^{C-1} e^{z_c} .$$
#
# As in the binary case, the model returns logits and the loss applies the
# softmax itself: `nn.CrossEntropyLoss` takes logits of shape $(N, C)$ and class
# indices of shape $(N,)$. (With $C = 2$ this is the same model as a single logit
# $z_1 - z_0$ with BCE: two logits carry one degree of freedom of redundancy.)
#
# Metrics: **accuracy**; per-class precision, recall and F1, combined by a
# **macro** average (every class counts the same, good when small classes matter)
# or a **micro** average (every example counts the same; for single-label
# multi-class data, micro-F1 equals accuracy); and the **confusion matrix**,
# whose entry $(i, j)$ counts examples of class $i$ predicted as $j$.

# %%
X_dig, y_dig = load_digits()  # (1797, 64) pixels in [0, 1], labels 0-9
Xd_train, Xd_test, yd_train, yd_test = train_test_split(X_dig, y_dig,
                                                        test_fraction=0.25, seed=0)
torch.manual_seed(0)
digit_model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
digit_history = fit(digit_model, nn.CrossEntropyLoss(),
                    (Xd_train, yd_train, Xd_test, yd_test), num_steps=150, lr=1e-2)
with torch.no_grad():
    digit_pred = digit_model(Xd_test).argmax(dim=1)  # argmax of logits = of softmax
results["multi-class classification"] = {
    "accuracy": sklearn.metrics.accuracy_score(yd_test, digit_pred),
    "macro F1": sklearn.metrics.f1_score(yd_test, digit_pred, average="macro"),
    "micro F1": sklearn.metrics.f1_score(yd_test, digit_pred, average="micro"),
}
print({k: round(v, 4) for k, v in results["multi-class classification"].items()})

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for name, curve in digit_history.items():
    axes[0].plot(curve, label=name)
axes[0].set(xlabel="Adam step", ylabel="cross-entropy", title="Digits: 10 classes")
axes[0].legend()
confusion = sklearn.metrics.confusion_matrix(yd_test, digit_pred)
image = axes[1].imshow(confusion, cmap="Blues")
axes[1].set(xlabel="predicted digit", ylabel="true digit", xticks=range(10),
            yticks=range(10), title="Confusion matrix (test set)")
fig.colorbar(image, ax=axes[1], label="count")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 6.4 Multi-label classification
#
# A photo can be tagged *dog*, *park* and *sunny* at once: the labels are not
# mutually exclusive, so a softmax, which makes the classes compete for one unit of
# probability, is the wrong head. Instead the network outputs $L$ logits and each
# goes through its **own sigmoid**: $L$ independent yes/no questions sharing one
# body. The target is a 0/1 vector $y \in \{0, 1\}^L$ and the loss is the BCE of
# every label, averaged: `nn.BCEWithLogitsLoss` on logits of shape $(N, L)$ and
# float targets of the same shape.
#
# Two metrics are standard. The **Hamming loss** is the fraction of wrong
# (example, label) pairs, and **subset accuracy** (exact match) the fraction of
# examples whose whole label vector is right:
#
# $$\text{Hamming} = \frac{1}{N L}\sum_{i=1}^{N}\sum_{l=1}^{L}
#   [\hat y_{il} \ne y_{il}], \qquad
#   \text{subset accuracy} = \frac{1}{N}\sum_{i=1}^{N}[\hat y_i = y_i] .$$
#
# Subset accuracy is the harsh one: with 10 labels each right 95% of the time,
# independently, only about $0.95^{10} \approx 60\%$ of the examples are entirely
# right.
#
# ### Exercise 2: `multilabel_metrics` (2 points)
#
# Compute both. They must equal scikit-learn's `hamming_loss` and
# `accuracy_score` on multi-label data, which you may not call.

# %% grade_id="ch06-multilabel-metrics"
def multilabel_metrics(y_true, y_pred):
    """Hamming loss and subset accuracy of multi-label predictions.

    N is the number of examples (N >= 1) and L the number of labels (L >= 1).

    Args:
        y_true: tensor of shape (N, L) holding 0s and 1s: the true labels.
        y_pred: tensor of shape (N, L) holding 0s and 1s: the predictions.
            Either may be int64, bool or floating point (compare the values,
            not the dtypes); both on the same device.

    Returns:
        A tuple ``(hamming, subset_accuracy)`` of two Python floats:
        hamming = fraction of the N * L entries where y_pred != y_true;
        subset_accuracy = fraction of the N rows where every one of the L
        entries agrees. They equal sklearn.metrics.hamming_loss and
        sklearn.metrics.accuracy_score on the same data.

    Raises:
        ValueError if the two shapes differ or are not 2-D.
        Do not call sklearn.metrics.hamming_loss, accuracy_score or
        zero_one_loss.
    """
    ### BEGIN SOLUTION
    if y_true.shape != y_pred.shape or y_true.dim() != 2:
        raise ValueError(f"expected two (N, L) tensors, got shapes "
                         f"{tuple(y_true.shape)} and {tuple(y_pred.shape)}")
    wrong = y_true.to(torch.float64) != y_pred.to(torch.float64)  # (N, L)
    hamming = wrong.double().mean().item()
    subset_accuracy = (~wrong.any(dim=1)).double().mean().item()
    return hamming, subset_accuracy
    ### END SOLUTION


# %%
# Try it: 2 examples, 3 labels; the second example has one label wrong
print(multilabel_metrics(torch.tensor([[1, 0, 1], [0, 1, 1]]),
                         torch.tensor([[1, 0, 1], [0, 0, 1]])))  # (1/6, 1/2)

# %% grade_id="ch06-multilabel-metrics-tests" points=2
"""multilabel_metrics: a hand-made (2, 3) case; int64, bool and float inputs on
`device`; == sklearn's hamming_loss and accuracy_score on random (N, L) data with
N != L; Python floats; ValueError for mismatched or non-2-D shapes; no sklearn
metric inside."""
_banned = ("sklearn.metrics.hamming_loss", "sklearn.metrics.accuracy_score",
           "sklearn.metrics.zero_one_loss")
yt = torch.tensor([[1, 0, 1], [0, 1, 1]])
yp = torch.tensor([[1, 0, 1], [0, 0, 1]])
with forbid(*_banned):
    got = multilabel_metrics(yt, yp)
assert isinstance(got, tuple) and len(got) == 2, f"expected a 2-tuple, got {got!r}"
assert all(isinstance(v, float) for v in got), (
    f"expected two Python floats, got {[type(v).__name__ for v in got]}")
assert_close(got, (1 / 6, 0.5), rtol=1e-12, atol=1e-12,
             name="multilabel_metrics(2 examples, 1 of 6 entries wrong)")
with forbid(*_banned):
    got = multilabel_metrics(yt.bool().to(device), yp.double().to(device))
assert_close(got, (1 / 6, 0.5), rtol=1e-12, atol=1e-12,
             name="multilabel_metrics(bool y_true, float64 y_pred on device)")
gen = torch.Generator().manual_seed(0)
yt = torch.randint(0, 2, (9, 4), generator=gen)
yp = torch.where(torch.rand(9, 4, generator=gen) < 0.2, 1 - yt, yt)  # 20% flipped
with forbid(*_banned):
    got = multilabel_metrics(yt, yp)
assert_close(got, (sklearn.metrics.hamming_loss(yt, yp),
                   sklearn.metrics.accuracy_score(yt, yp)), rtol=1e-12, atol=1e-12,
             name="multilabel_metrics(random (9, 4)) vs sklearn")
expect_raises(ValueError, multilabel_metrics, yt, yp[:, :3],
              name="multilabel_metrics((9, 4), (9, 3))")
expect_raises(ValueError, multilabel_metrics, yt[0], yp[0],
              name="multilabel_metrics of 1-D tensors")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(6)
for _N, _L, _flip in [(1, 5, 0.3), (13, 1, 0.4), (7, 11, 0.05), (20, 3, 0.0),
                      (5, 2, 1.0)]:
    _yt = torch.randint(0, 2, (_N, _L), generator=_gen)
    _yp = torch.where(torch.rand(_N, _L, generator=_gen) < _flip, 1 - _yt, _yt)
    _want = (sklearn.metrics.hamming_loss(_yt, _yp),
             sklearn.metrics.accuracy_score(_yt, _yp))
    with forbid(*_banned):
        _got = multilabel_metrics(_yt.float().to(device), _yp.to(device))
    assert_close(_got, _want, rtol=1e-12, atol=1e-12,
                 name=f"multilabel_metrics(random ({_N}, {_L}), flip {_flip})")
    assert all(isinstance(v, float) for v in _got), "expected Python floats"
### END HIDDEN TESTS

# %% [markdown]
# ### Three questions about each digit
#
# To get multi-label data offline, ask three yes/no questions about each
# handwritten digit: *is it even?*, *is it greater than 4?*, and *does its usual
# printed shape have a closed loop?* (0, 6, 8 and 9; we count 4 as open). A digit
# can be all three (6, 8), none (1, 3) or anything in between. The head has three
# logits and three sigmoids.

# %%
def digit_questions(labels):
    """(N,) digit labels -> (N, 3) float targets: even, greater than 4, loop."""
    loop = torch.tensor([1, 0, 0, 0, 0, 0, 1, 0, 1, 1], dtype=torch.bool)
    return torch.stack([labels % 2 == 0, labels > 4, loop[labels]], dim=1).float()


question_names = ["even", "> 4", "loop"]
Yq_train, Yq_test = digit_questions(yd_train), digit_questions(yd_test)
torch.manual_seed(0)
label_model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))
label_history = fit(label_model, nn.BCEWithLogitsLoss(),
                    (Xd_train, Yq_train, Xd_test, Yq_test), num_steps=150, lr=1e-2)
with torch.no_grad():
    Yq_pred = (label_model(Xd_test) > 0).float()  # logit > 0  <=>  sigmoid > 0.5
hamming, subset = multilabel_metrics(Yq_test, Yq_pred)
results["multi-label classification"] = {"Hamming loss": hamming,
                                         "subset accuracy": subset}
per_label = (Yq_pred == Yq_test).float().mean(dim=0)
print(f"Hamming loss {hamming:.4f}, subset accuracy {subset:.4f}")
print("accuracy per label:", {name: round(acc, 4) for name, acc in
                              zip(question_names, per_label.tolist(), strict=True)})
ax = plot_curves(label_history, xlabel="Adam step", ylabel="mean BCE over labels")
ax.set_title("Digits: three labels at once")
plt.show()

# %% [markdown]
# ## 6.5 Regression
#
# The target is a real number: a price, a temperature, a rating. The last layer
# is linear with **no activation**: a ReLU would forbid negative predictions, a
# sigmoid would cap them at 1. If the target given the input is normal with mean
# $\hat y = f(x)$ and a fixed variance $\sigma^2$, its negative log-likelihood is
# $\frac{(y - \hat y)^2}{2\sigma^2}$ plus a constant, so maximum likelihood is
# least squares: the **mean squared error**
#
# $$\text{MSE} = \frac{1}{N}\sum_{i=1}^{N}(y_i - \hat y_i)^2 .$$
#
# The **mean absolute error** $\frac{1}{N}\sum_i |y_i - \hat y_i|$ corresponds to
# a Laplace distribution; it is less sensitive to outliers, and is often reported
# because it is in the target's unit (so is $\sqrt{\text{MSE}}$, the RMSE).
# MSE alone does not say whether a model is good: an MSE of 3,000 is excellent
# for targets that vary by $10^5$ and useless for targets that vary by 10. The
# **coefficient of determination** compares the model with the best constant
# prediction, the mean $\bar y$:
#
# $$R^2 = 1 - \frac{\sum_i (y_i - \hat y_i)^2}{\sum_i (y_i - \bar y)^2} .$$
#
# $R^2 = 1$ is a perfect fit, $R^2 = 0$ is no better than predicting $\bar y$,
# and $R^2 < 0$ is worse than that (it is not the square of anything, despite
# its name). On a test set, $\bar y$ is the mean of the test targets.
#
# ### Exercise 3: `r2_score` (2 points)
#
# Implement $R^2$. It must match `sklearn.metrics.r2_score(y_true, y_pred)`,
# which you may not call. Mind the order of the arguments: $R^2$ is not symmetric.

# %% grade_id="ch06-r2-score"
def r2_score(y_true, y_pred):
    """Coefficient of determination R^2 = 1 - SS_res / SS_tot.

    SS_res = sum_i (y_true_i - y_pred_i)^2 and
    SS_tot = sum_i (y_true_i - mean(y_true))^2, for N targets.

    Args:
        y_true: floating-point tensor of shape (N,) with N >= 2: the targets.
        y_pred: floating-point tensor of shape (N,): the predictions, with the
            dtype and device of ``y_true``.

    Returns:
        A 0-d tensor with the dtype and device of ``y_true``; equal to
        sklearn.metrics.r2_score(y_true, y_pred). Neither input is modified.

    Raises:
        ValueError if the shapes differ or are not (N,), if N < 2, or if
        y_true is constant (SS_tot = 0: R^2 is undefined).
        Do not call sklearn.metrics.r2_score.
    """
    ### BEGIN SOLUTION
    if y_true.shape != y_pred.shape or y_true.dim() != 1 or len(y_true) < 2:
        raise ValueError(f"expected two (N,) tensors with N >= 2, got shapes "
                         f"{tuple(y_true.shape)} and {tuple(y_pred.shape)}")
    ss_tot = (y_true - y_true.mean()).pow(2).sum()
    if ss_tot == 0:
        raise ValueError("y_true is constant: R^2 is undefined")
    return 1 - (y_true - y_pred).pow(2).sum() / ss_tot
    ### END SOLUTION


# %%
# Try it: the mean itself scores 0, a perfect prediction 1
y_demo = torch.tensor([1.0, 2.0, 4.0, 5.0])
print(r2_score(y_demo, torch.full((4,), 3.0)), r2_score(y_demo, y_demo))

# %% grade_id="ch06-r2-score-tests" points=2
"""r2_score: 0 for the mean, 1 for a perfect fit, a hand-made value; == sklearn's
r2_score (arguments in order y_true, y_pred) on random data; 0-d result with the
dtype and device of y_true (float32 and float64); ValueError for mismatched
shapes, N < 2 and a constant y_true; no sklearn.metrics.r2_score."""
_banned = ("sklearn.metrics.r2_score",)
y_demo = torch.tensor([1.0, 2.0, 4.0, 5.0])
with forbid(*_banned):
    assert_close(r2_score(y_demo, torch.full((4,), 3.0)), torch.tensor(0.0),
                 atol=1e-6, name="r2_score(y, mean of y)")
    assert_close(r2_score(y_demo, y_demo), torch.tensor(1.0), name="r2_score(y, y)")
    # SS_res = 1 + 1 + 0 + 0 = 2, SS_tot = 4 + 1 + 1 + 4 = 10
    assert_close(r2_score(y_demo, torch.tensor([2.0, 1.0, 4.0, 5.0])),
                 torch.tensor(0.8), name="r2_score([1, 2, 4, 5], [2, 1, 4, 5])")
gen = torch.Generator().manual_seed(0)
y_true = torch.randn(11, generator=gen, dtype=torch.float64).to(device)
y_pred = y_true + 0.7 * torch.randn(11, generator=gen, dtype=torch.float64).to(device)
copies = (y_true.clone(), y_pred.clone())
with forbid(*_banned):
    got = r2_score(y_true, y_pred)
assert torch.equal(y_true, copies[0]) and torch.equal(y_pred, copies[1]), (
    "r2_score modified its inputs")
assert_close(got, torch.tensor(sklearn.metrics.r2_score(y_true.cpu(), y_pred.cpu()),
                               dtype=torch.float64), rtol=1e-10, atol=1e-12,
             name="r2_score(float64 (11,) on device) vs sklearn")
assert got.device == y_true.device, f"result on {got.device}, expected {device}"
expect_raises(ValueError, r2_score, y_true, y_pred[:5], name="r2_score((11,), (5,))")
expect_raises(ValueError, r2_score, y_true[:1], y_pred[:1], name="r2_score, N = 1")
expect_raises(ValueError, r2_score, torch.ones(4), y_demo,
              name="r2_score(constant y_true, y_pred)")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(7)
for _N, _noise, _dtype in [(2, 0.5, torch.float64), (5, 3.0, torch.float64),
                           (37, 0.1, torch.float32), (101, 1.0, torch.float64)]:
    _yt = (10 + 4 * torch.randn(_N, generator=_gen, dtype=_dtype)).to(device)
    _yp = _yt + _noise * torch.randn(_N, generator=_gen, dtype=_dtype).to(device)
    _copy = (_yt.clone(), _yp.clone())
    with forbid(*_banned):
        _got = r2_score(_yt, _yp)
    _want = torch.tensor(sklearn.metrics.r2_score(_yt.cpu().double(),
                                                  _yp.cpu().double()), dtype=_dtype)
    _tol = 1e-10 if _dtype == torch.float64 else 1e-4
    assert_close(_got, _want, rtol=_tol, atol=_tol,
                 name=f"r2_score({_dtype} ({_N},), noise {_noise})")
    assert _got.device == _yt.device, f"result on {_got.device}, expected {device}"
    assert torch.equal(_yt, _copy[0]) and torch.equal(_yp, _copy[1]), (
        "r2_score modified its inputs")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 4: `Regressor` (3 points)
#
# A regression network with two hidden layers, as in the seed guide but with the
# widths set by one argument. The last layer has no activation and returns one
# number per example. The tests copy weights into a reference built from
# `nn.Linear` and `nn.ReLU`, and train your module for 200 Adam steps (learning
# rate $10^{-3}$) with `nn.MSELoss` on the diabetes data, where the reference
# reaches a test $R^2$ of about 0.47; the bar is 0.35.

# %% grade_id="ch06-regressor"
# Fill in both methods: def __init__ builds the layers, def forward runs them.
class Regressor(nn.Module):
    """Regression network with two hidden ReLU layers and a linear output.

    D is the number of input features, H the hidden width, N the batch size.
    Architecture, exactly (the tests rely on it):

        Linear(D, H) -> ReLU -> Linear(H, H) -> ReLU -> Linear(H, 1)

    All three linear layers have a bias and are created in this order, so that
    ``[p.shape for p in model.parameters()]`` is
    [(H, D), (H,), (H, H), (H,), (1, H), (1,)]: H * (D + H + 3) + 1 parameters.
    No activation after the last layer (predictions can be any real number),
    no dropout, no normalisation. Train with nn.MSELoss.

    Args:
        in_features: D, an int >= 1.
        hidden: H, an int >= 1 (default 16).

    forward(x):
        x: floating-point tensor of shape (N, D), N >= 1, with the dtype and
            device of the module's parameters.
        Returns the predictions, a tensor of shape (N,) (shape (1,) when
        N = 1), same dtype and device as ``x``.
    """

    def __init__(self, in_features, hidden=16):
        super().__init__()
        ### BEGIN SOLUTION
        self.layers = nn.Sequential(
            nn.Linear(in_features, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, 1),
        )
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.layers(x).squeeze(-1)  # (N, 1) -> (N,)
        ### END SOLUTION


# %%
# Try it
print(Regressor(10)(torch.randn(4, 10)))

# %% grade_id="ch06-regressor-tests" points=3
"""Regressor: parameter shapes in the stated order (default hidden=16); output
(N,) for N = 1 and N > 1; with copied weights, outputs and gradients equal
Linear -> ReLU -> Linear -> ReLU -> Linear (no activation at the end); float64 on
`device`; 200 Adam steps with MSELoss reach test R^2 >= 0.35 on diabetes."""


def _fit_and_predict(model, X_tr, y_tr, X_te, num_steps, lr):
    """Full-batch Adam with MSELoss; returns the test predictions."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(num_steps):
        loss = nn.MSELoss()(model(X_tr), y_tr)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return model(X_te)


def _reference_regressor(D, H):
    return nn.Sequential(nn.Linear(D, H), nn.ReLU(), nn.Linear(H, H), nn.ReLU(),
                         nn.Linear(H, 1))


def _compare_regressor(model, D, H, x, name):
    """Copy the model's parameters into the reference; compare outputs, grads."""
    reference = _reference_regressor(D, H).to(x.device, x.dtype)
    with torch.no_grad():
        for ref_p, p in zip(reference.parameters(), model.parameters(), strict=True):
            ref_p.copy_(p)
    out = model(x)
    want = reference(x).squeeze(-1)
    assert_close(out, want, rtol=1e-6, atol=1e-6, name=f"{name}: output")
    assert out.device == x.device, f"{name}: output on {out.device}, not {x.device}"
    target = torch.linspace(-3, 3, len(x), dtype=x.dtype, device=x.device)
    nn.MSELoss()(out, target).backward()
    nn.MSELoss()(want, target).backward()
    for i, (ref_p, p) in enumerate(zip(reference.parameters(), model.parameters(),
                                       strict=True)):
        assert_close(p.grad, ref_p.grad, rtol=1e-6, atol=1e-6,
                     name=f"{name}: gradient of parameter {i}")


torch.manual_seed(0)
model = Regressor(5)
assert isinstance(model, nn.Module), "Regressor must subclass nn.Module"
shapes = [tuple(p.shape) for p in model.parameters()]
assert shapes == [(16, 5), (16,), (16, 16), (16,), (1, 16), (1,)], (
    f"Regressor(5): expected parameter shapes [(16, 5), (16,), (16, 16), (16,), "
    f"(1, 16), (1,)], got {shapes}")
assert_shape(model(torch.randn(7, 5)), (7,), name="Regressor(5)(x (7, 5))")
assert_shape(model(torch.randn(1, 5)), (1,), name="Regressor(5)(x (1, 5))")
_compare_regressor(model, 5, 16, 10 * torch.randn(6, 5), "Regressor(5)")
model = Regressor(4, hidden=3).double().to(device)
with torch.no_grad():
    list(model.parameters())[-1].fill_(-5.0)  # output bias -5: outputs go negative
x = torch.randn(5, 4, dtype=torch.float64, device=device)
_compare_regressor(model, 4, 3, x, "Regressor(4, hidden=3) in float64 on device")
assert (model(x) < 0).any(), "Regressor: no activation after the last layer"
# a short training run on diabetes (442 patients, 10 features)
X_db, y_db, _names = load_tabular("diabetes")
X_tr, X_te, y_tr, y_te = train_test_split(X_db, y_db, test_fraction=0.25, seed=0)
x_mean, x_std = X_tr.mean(dim=0), X_tr.std(dim=0)
y_mean, y_std = y_tr.mean(), y_tr.std()
torch.manual_seed(0)
pred = _fit_and_predict(Regressor(10, hidden=16), (X_tr - x_mean) / x_std,
                        (y_tr - y_mean) / y_std, (X_te - x_mean) / x_std,
                        num_steps=200, lr=1e-3)
r2 = sklearn.metrics.r2_score(y_te, pred * y_std + y_mean)
assert r2 >= 0.35, (f"Regressor(10, hidden=16) after 200 Adam steps (lr 1e-3) with "
                    f"MSELoss: test R^2 {r2:.3f}, expected >= 0.35")
### BEGIN HIDDEN TESTS
for _D, _H, _N in [(7, 5, 1), (3, 11, 9), (13, 2, 4)]:
    torch.manual_seed(_D)
    _model = Regressor(_D, hidden=_H).double().to(device)
    _shapes = [tuple(p.shape) for p in _model.parameters()]
    assert _shapes == [(_H, _D), (_H,), (_H, _H), (_H,), (1, _H), (1,)], (
        f"Regressor({_D}, hidden={_H}): parameter shapes {_shapes}")
    assert sum(p.numel() for p in _model.parameters()) == _H * (_D + _H + 3) + 1
    _x = 5 * torch.randn(_N, _D, dtype=torch.float64, device=device)
    _compare_regressor(_model, _D, _H, _x,
                       f"Regressor({_D}, hidden={_H}) on x ({_N}, {_D})")
for _seed, _H in [(1, 8), (2, 16)]:
    torch.manual_seed(_seed)
    _pred = _fit_and_predict(Regressor(10, hidden=_H), (X_tr - x_mean) / x_std,
                             (y_tr - y_mean) / y_std, (X_te - x_mean) / x_std, 200,
                             1e-3)
    _r2 = sklearn.metrics.r2_score(y_te, _pred * y_std + y_mean)
    assert _r2 >= 0.35, f"hidden={_H}, seed {_seed}: test R^2 {_r2:.3f}"
### END HIDDEN TESTS

# %% [markdown]
# ### Predicting disease progression
#
# The diabetes data has 442 patients, 10 standardised measurements each, and a
# number that measures the progression of the disease a year later. We
# standardise the target too (training statistics only): the network then starts
# with outputs of the right scale, and one learning rate suits every dataset.
# Predictions are mapped back to the original unit before computing metrics.
#
# The right panel trains a much wider network (hidden width 128) for longer. Its
# training loss keeps falling while its test loss turns up: with 332 training
# patients it **overfits**, memorising noise. The small model stopped early is
# the better predictor. Always compare with a simple baseline: here scikit-learn's
# plain linear regression scores a slightly higher test $R^2$ than the network
# (the cell prints both), since 332 patients with 10 features leave little for a
# non-linear model to find.

# %%
X_db, y_db, db_features = load_tabular("diabetes")
Xr_train, Xr_test, yr_train, yr_test = train_test_split(X_db, y_db,
                                                        test_fraction=0.25, seed=0)
db_mean, db_std = Xr_train.mean(dim=0), Xr_train.std(dim=0)
Xr_train, Xr_test = (Xr_train - db_mean) / db_std, (Xr_test - db_mean) / db_std
t_mean, t_std = yr_train.mean(), yr_train.std()
db_data = (Xr_train, (yr_train - t_mean) / t_std, Xr_test, (yr_test - t_mean) / t_std)

torch.manual_seed(0)
reg_model = Regressor(10)
reg_history = fit(reg_model, nn.MSELoss(), db_data, num_steps=200, lr=1e-3)
with torch.no_grad():
    yr_pred = reg_model(Xr_test) * t_std + t_mean  # back to the original unit
linear = sklearn.linear_model.LinearRegression().fit(Xr_train, yr_train)
results["regression"] = {
    "MSE": F.mse_loss(yr_pred, yr_test).item(),
    "MAE": F.l1_loss(yr_pred, yr_test).item(),
    "R^2": r2_score(yr_test, yr_pred).item(),
}
print({k: round(v, 3) for k, v in results["regression"].items()})
print("linear regression, test R^2:",
      round(sklearn.metrics.r2_score(yr_test, linear.predict(Xr_test)), 3))

torch.manual_seed(0)
wide_history = fit(Regressor(10, hidden=128), nn.MSELoss(), db_data,
                   num_steps=300, lr=3e-3)
print(f"wide network: lowest test loss {min(wide_history['test loss']):.3f} at "
      f"step {1 + wide_history['test loss'].index(min(wide_history['test loss']))}, "
      f"final test loss {wide_history['test loss'][-1]:.3f}")

fig, axes = plt.subplots(1, 3, figsize=(14, 4))
axes[0].scatter(yr_test.numpy(), yr_pred.numpy(), s=12)
lims = [float(yr_test.min()), float(yr_test.max())]
axes[0].plot(lims, lims, "k:", label="perfect prediction")
axes[0].set(xlabel="true progression", ylabel="predicted",
            title="Regressor(10) on the test set")
axes[0].legend()
for ax, history, title in ((axes[1], reg_history, "hidden 16, 200 steps"),
                           (axes[2], wide_history, "hidden 128, 300 steps")):
    for name, curve in history.items():
        ax.plot(curve, label=name)
    ax.set(xlabel="Adam step", ylabel="MSE (standardised target)", title=title,
           ylim=(0, 1.5))
    ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 6.6 Clustering
#
# Without labels, we can still look for structure: groups of inputs that are
# closer to each other than to the rest. **k-means** describes $k$ groups by their
# centres $\mu_1, \dots, \mu_k \in \mathbb{R}^D$ and assigns every point to the
# nearest one. It minimises the **inertia** (within-cluster sum of squares)
#
# $$J = \sum_{i=1}^{N} \min_{j} \lVert x_i - \mu_j \rVert^2 .$$
#
# **Lloyd's algorithm** alternates two steps, each of which can only lower $J$:
#
# 1. *assignment*: $c_i = \arg\min_j \lVert x_i - \mu_j \rVert^2$ (the best
#    labels for fixed centres);
# 2. *update*: $\mu_j = \frac{1}{|S_j|}\sum_{i \in S_j} x_i$ with
#    $S_j = \{i : c_i = j\}$ (the mean is the point that minimises the sum of
#    squared distances to a set, as in chapter 3).
#
# There are finitely many partitions and $J$ never increases, so the algorithm
# stops, when the assignments no longer change, at a **fixed point**: every
# centroid is the mean of its points and every point is at its nearest centroid.
# That is a *local* minimum; which one depends on the starting centres. Two
# details need a rule: a cluster that receives no point (its mean is $0/0$) keeps
# its previous centre here, and ties go to the lowest index.
#
# **k-means++** picks starting centres that are spread out: the first is a data
# point drawn uniformly; every next one is a data point drawn with probability
# proportional to $D(x)^2$, its squared distance to the nearest centre chosen so
# far. Far-away, uncovered regions are then likely to get a centre. Its expected
# inertia is within a factor $O(\log k)$ of the optimum (Arthur and Vassilvitskii,
# 2007), and scikit-learn runs it several times (`n_init`) and keeps the best run.
#
# ### Exercise 5: `kmeans` (4 points)
#
# Implement k-means++ initialisation followed by Lloyd's algorithm. The tests check
# what every correct implementation satisfies, whatever order you draw your random
# numbers in: on well-separated blobs you find the true groups and the same inertia
# as scikit-learn's `KMeans(n_init=10)`; at convergence you return a fixed point;
# the same seed gives the same result. Use broadcasting for the $(N, k)$ matrix of
# squared distances. Do not call scikit-learn's or SciPy's k-means.

# %% grade_id="ch06-kmeans"
def kmeans(X, k, num_iters, seed):
    """k-means clustering: k-means++ initialisation, then Lloyd's algorithm.

    N is the number of points, D their dimension.

    Args:
        X: floating-point tensor of shape (N, D), on any device. Not modified.
        k: int, the number of clusters, 1 <= k <= N.
        num_iters: int >= 1, the largest number of Lloyd iterations (one
            iteration = assign every point, then update every centroid).
        seed: int. All randomness comes from
            ``g = torch.Generator().manual_seed(seed)`` (a CPU generator: make
            the draws on the CPU), so the same seed gives the same result.

    Initialisation (k-means++): the first centroid is a row of X drawn
    uniformly at random with g; each next centroid is a row drawn with
    probability proportional to D(x)^2, the squared distance from the row to
    its nearest centroid chosen so far (e.g. torch.multinomial with g). If
    every D(x)^2 is 0 (X has fewer than k distinct rows), draw the row
    uniformly instead. Any way of drawing with these probabilities from g is
    accepted.

    Lloyd's iterations: assign each point to its nearest centroid in squared
    Euclidean distance (ties go to the lowest index, as torch.argmin does);
    set each centroid to the mean of its points. A cluster with no points
    keeps its previous centroid. You may stop before num_iters as soon as the
    assignments no longer change; the result is then a fixed point (every
    centroid is the mean of its points and every point is assigned to its
    nearest centroid).

    Returns:
        (centroids, labels): centroids of shape (k, D) with the dtype and
        device of X; labels an int64 tensor of shape (N,) on X's device with
        values in [0, k): labels[i] is the cluster of X[i].

    Raises:
        ValueError if X is not 2-D, or if k < 1 or k > N.
        Do not call sklearn.cluster.KMeans, MiniBatchKMeans, BisectingKMeans,
        k_means or kmeans_plusplus, nor scipy.cluster.vq.kmeans or kmeans2.
    """
    ### BEGIN SOLUTION
    if X.dim() != 2 or not 1 <= k <= X.shape[0]:
        raise ValueError(f"need X of shape (N, D) and 1 <= k <= N, got "
                         f"X of shape {tuple(X.shape)} and k = {k}")
    g = torch.Generator().manual_seed(seed)
    N = X.shape[0]
    chosen = [torch.randint(N, (1,), generator=g).item()]
    for _ in range(1, k):
        d2 = (X[:, None, :] - X[chosen][None, :, :]).pow(2).sum(-1).amin(1)  # (N,)
        d2 = d2.double().cpu()
        weights = d2 if d2.sum() > 0 else torch.ones(N, dtype=torch.float64)
        chosen.append(torch.multinomial(weights, 1, generator=g).item())
    centroids = X[chosen].clone()  # (k, D)
    labels = None
    for _ in range(num_iters):
        d2 = (X[:, None, :] - centroids[None, :, :]).pow(2).sum(-1)  # (N, k)
        new_labels = d2.argmin(dim=1)
        if labels is not None and torch.equal(new_labels, labels):
            break
        labels = new_labels
        for j in range(k):
            members = X[labels == j]
            if len(members) > 0:  # an empty cluster keeps its centroid
                centroids[j] = members.mean(dim=0)
    return centroids, labels
    ### END SOLUTION


# %%
# Try it: two obvious groups in the plane
X_demo = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0],
                       [9.0, 9.0], [9.0, 10.0], [10.0, 9.0]])
print(kmeans(X_demo, k=2, num_iters=10, seed=0))

# %% grade_id="ch06-kmeans-tests" points=4
"""kmeans: shapes, dtypes and device; two obvious groups; k = 1 and k = N; on
well-separated blobs, the true partition and scikit-learn's KMeans(n_init=10)
inertia; at convergence a fixed point (centroid = mean of its points, each point at
its nearest centroid); the same seed gives the same result; an empty cluster keeps
its centroid (duplicated points); k-means++ picks starts with probability
proportional to D(x)^2 (frequencies over many seeds); X not modified; ValueError
for k < 1 or k > N; no scikit-learn or SciPy k-means inside."""
_banned = ("sklearn.cluster.KMeans", "sklearn.cluster.MiniBatchKMeans",
           "sklearn.cluster.BisectingKMeans", "sklearn.cluster.k_means",
           "sklearn.cluster.kmeans_plusplus", "scipy.cluster.vq.kmeans",
           "scipy.cluster.vq.kmeans2")


def _same_partition(labels, truth):
    """True when two labelings define the same groups (up to renaming)."""
    pairs = set(zip(labels.tolist(), truth.tolist(), strict=True))
    return len(pairs) == len(set(labels.tolist())) == len(set(truth.tolist()))


def _check_fixed_point(X, centroids, labels, k, name, tol):
    """Every centroid is the mean of its points; every point at its nearest."""
    assert_shape(centroids, (k, X.shape[1]), name=f"{name}: centroids")
    assert_shape(labels, (X.shape[0],), name=f"{name}: labels")
    assert labels.dtype == torch.int64, f"{name}: labels dtype {labels.dtype}"
    assert centroids.dtype == X.dtype, f"{name}: centroids dtype {centroids.dtype}"
    assert centroids.device == X.device and labels.device == X.device, (
        f"{name}: results on {centroids.device} and {labels.device}, not {X.device}")
    assert int(labels.min()) >= 0 and int(labels.max()) < k, (
        f"{name}: labels outside [0, {k}): {labels.unique().tolist()}")
    for j in range(k):
        if (labels == j).any():
            assert_close(centroids[j], X[labels == j].mean(dim=0), rtol=tol, atol=tol,
                         name=f"{name}: centroid {j} vs the mean of its points")
    d2 = (X[:, None, :].double() - centroids[None, :, :].double()).pow(2).sum(-1)
    gap = d2.gather(1, labels[:, None]).squeeze(1) - d2.amin(dim=1)
    assert (gap <= tol * (1 + d2.amin(dim=1))).all(), (
        f"{name}: point {int(gap.argmax())} is not assigned to its nearest centroid "
        f"(its distance^2 exceeds the nearest by {gap.max().item():.3g})")


def _blobs(sizes, D, seed, dtype=torch.float64):
    """Tight blobs (std 0.05) around centres at least 20 apart, with true labels."""
    gen = torch.Generator().manual_seed(seed)
    centres = 30 * torch.randn(len(sizes), D, generator=gen, dtype=torch.float64)
    gaps = (centres[:, None] - centres[None]).pow(2).sum(-1).sqrt()
    assert gaps[~torch.eye(len(sizes), dtype=torch.bool)].min() > 20, "bad test seed"
    truth = torch.cat([torch.full((n,), j) for j, n in enumerate(sizes)])
    points = centres[truth] + 0.05 * torch.randn(len(truth), D, generator=gen,
                                                 dtype=torch.float64)
    order = torch.randperm(len(truth), generator=gen)
    return points[order].to(dtype), truth[order]


def _sklearn_inertia(X, k):
    model = sklearn.cluster.KMeans(n_clusters=k, n_init=10, random_state=0)
    return float(model.fit(X.cpu().double().numpy()).inertia_)


X_demo = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0],
                       [9.0, 9.0], [9.0, 10.0], [10.0, 9.0]])
with forbid(*_banned):
    centroids, labels = kmeans(X_demo, k=2, num_iters=10, seed=0)
assert _same_partition(labels, torch.tensor([0, 0, 0, 1, 1, 1])), (
    f"kmeans(two groups of 3, k=2): labels {labels.tolist()}, expected the first "
    "three points in one cluster and the last three in the other")
_check_fixed_point(X_demo, centroids, labels, 2, "kmeans(two groups)", 1e-5)
X64 = X_demo.double().to(device)
with forbid(*_banned):
    centroids, labels = kmeans(X64, k=1, num_iters=5, seed=3)
assert_close(centroids, X64.mean(dim=0, keepdim=True), rtol=1e-12, atol=1e-12,
             name="kmeans(float64 X on device, k=1): the centroid is the mean")
assert torch.equal(labels, torch.zeros(6, dtype=torch.int64, device=device)), (
    f"kmeans(k=1): labels {labels.tolist()}, expected all 0")
with forbid(*_banned):
    centroids, labels = kmeans(X64, k=6, num_iters=5, seed=3)
assert sorted(labels.tolist()) == list(range(6)), (
    f"kmeans(6 distinct points, k=6): labels {labels.tolist()}, expected each "
    "point in its own cluster")
# five blobs of different sizes in 2-D against scikit-learn
X_blobs, truth = _blobs([40, 25, 60, 30, 45], D=2, seed=6)
with forbid(*_banned):
    centroids, labels = kmeans(X_blobs.to(device), k=5, num_iters=100, seed=0)
assert _same_partition(labels.cpu(), truth), (
    "kmeans(5 well-separated blobs, k=5): the clusters are not the blobs (a poor "
    "start? use k-means++)")
inertia = (X_blobs.to(device) - centroids[labels]).pow(2).sum()
assert_close(inertia.cpu(), torch.tensor(_sklearn_inertia(X_blobs, 5),
                                         dtype=torch.float64),
             rtol=1e-6, atol=1e-9, name="kmeans(5 blobs): inertia vs sklearn's")
# random data: a fixed point at convergence; same seed, same result
gen = torch.Generator().manual_seed(0)
X_rand = torch.randn(60, 3, generator=gen, dtype=torch.float64).to(device)
X_copy = X_rand.clone()
with forbid(*_banned):
    first = kmeans(X_rand, k=4, num_iters=300, seed=5)
    second = kmeans(X_rand, k=4, num_iters=300, seed=5)
assert torch.equal(X_rand, X_copy), "kmeans modified X"
_check_fixed_point(X_rand, *first, 4, "kmeans(random (60, 3), k=4)", 1e-9)
assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1]), (
    "kmeans: two calls with seed=5 gave different results")
# duplicated points: 2 distinct rows, k=3, so one cluster stays empty
X_dup = torch.tensor([[0.0, 0.0]] * 5 + [[1.0, 1.0]] * 4, dtype=torch.float64)
with forbid(*_banned):
    centroids, labels = kmeans(X_dup, k=3, num_iters=10, seed=0)
assert torch.isfinite(centroids).all(), (
    f"kmeans(2 distinct rows, k=3): centroids {centroids.tolist()} are not finite; "
    "an empty cluster keeps its previous centroid")
for j in range(3):
    assert (X_dup - centroids[j]).abs().sum(dim=1).min() < 1e-12, (
        f"kmeans(2 distinct rows, k=3): centroid {j} = {centroids[j].tolist()} is "
        "not one of the points (each centroid starts on a row and an empty "
        "cluster keeps it)")
assert len(set(labels.tolist())) == 2, f"labels {labels.tolist()}: expected 2 groups"
# k-means++ draws the second centre with probability proportional to D(x)^2: on
# the points 0, 1, 4 the start {0, 1} has probability (1/17 + 1/10) / 3 = 0.053
# (with D(x) it would be 0.15, uniformly 0.33), and only that start gives the
# centroids 0 and 2.5 after one iteration
X_three = torch.tensor([[0.0], [1.0], [4.0]], dtype=torch.float64)
num_seeds, p_start = 800, (1 / 17 + 1 / 10) / 3
with forbid(*_banned):
    hits = sum(float(kmeans(X_three, 2, 1, s)[0].max()) < 3 for s in range(num_seeds))
bound = 5 * math.sqrt(p_start * (1 - p_start) / num_seeds)
assert abs(hits / num_seeds - p_start) <= bound, (
    f"kmeans(points 0, 1, 4; k=2, num_iters=1) over seeds 0..{num_seeds - 1}: the "
    f"start {{0, 1}} came {hits / num_seeds:.3f} of the time, expected "
    f"{p_start:.3f} +- {bound:.3f} (draw each next centre with probability "
    "proportional to D(x)^2, the squared distance)")
expect_raises(ValueError, kmeans, X_demo, 0, 10, 0, name="kmeans(k=0)")
expect_raises(ValueError, kmeans, X_demo, 7, 10, 0, name="kmeans(6 points, k=7)")
expect_raises(ValueError, kmeans, torch.zeros(5), 2, 10, 0, name="kmeans(1-D X)")
### BEGIN HIDDEN TESTS
for _sizes, _D, _seed, _dtype in [([30, 31], 1, 6, torch.float64),
                                  ([20, 50, 35, 15], 5, 3, torch.float64),
                                  ([12, 40, 25], 3, 4, torch.float32),
                                  ([25, 25, 25, 25, 25], 2, 5, torch.float64)]:
    _X, _truth = _blobs(_sizes, _D, _seed, dtype=_dtype)
    _X = _X.to(device)
    for _s in (0, 1):
        with forbid(*_banned):
            _c, _l = kmeans(_X, len(_sizes), 100, _s)
        _name = f"kmeans(blobs {_sizes} in {_D}-D, {_dtype}, seed {_s})"
        assert _same_partition(_l.cpu(), _truth), f"{_name}: clusters are not blobs"
        _tol = 1e-9 if _dtype == torch.float64 else 1e-4
        _check_fixed_point(_X, _c, _l, len(_sizes), _name, _tol)
        _inertia = (_X.double() - _c.double()[_l]).pow(2).sum().cpu()
        assert_close(_inertia, torch.tensor(_sklearn_inertia(_X, len(_sizes)),
                                            dtype=torch.float64),
                     rtol=1e-6 if _dtype == torch.float64 else 1e-3, atol=1e-6,
                     name=f"{_name}: inertia vs sklearn's")
_gen = torch.Generator().manual_seed(11)
for _N, _D, _k in [(50, 2, 5), (97, 4, 3), (31, 7, 2), (8, 1, 8)]:
    _X = torch.randn(_N, _D, generator=_gen, dtype=torch.float64).to(device)
    _copy = _X.clone()
    with forbid(*_banned):
        _first = kmeans(_X, _k, 500, 7)
        _second = kmeans(_X, _k, 500, 7)
    assert torch.equal(_X, _copy), "kmeans modified X"
    _check_fixed_point(_X, *_first, _k, f"kmeans(random ({_N}, {_D}), k={_k})", 1e-9)
    assert torch.equal(_first[0], _second[0]) and torch.equal(_first[1], _second[1])
_X = torch.tensor([[2.0, -1.0]] * 3 + [[5.0, 5.0]] * 2 + [[-4.0, 0.0]] * 4,
                  dtype=torch.float64, device=device)
with forbid(*_banned):
    _c, _l = kmeans(_X, 5, 10, 1)
assert torch.isfinite(_c).all(), "kmeans(3 distinct rows, k=5): non-finite centroid"
assert len(set(_l.tolist())) == 3, f"kmeans(3 distinct rows, k=5): labels {_l}"
_check_fixed_point(_X, _c, _l, 5, "kmeans(3 distinct rows, k=5)", 1e-12)
expect_raises(ValueError, kmeans, torch.zeros(3, 2), 4, 10, 0, name="kmeans(k > N)")
### END HIDDEN TESTS

# %% [markdown]
# ### Against scikit-learn, and how to choose $k$
#
# Four blobs of different sizes and spreads. Your `kmeans` and scikit-learn's
# `KMeans` should reach the same inertia and the same partition (an adjusted Rand
# index of 1 means identical groups up to renaming).
#
# k-means needs $k$. Inertia always falls as $k$ grows (with $k = N$ it is 0), so
# look for the **elbow** where it stops falling fast. The **silhouette** of a point
# compares $a$, its mean distance to the other points of its cluster, with $b$, its
# mean distance to the points of the nearest other cluster:
# $s = (b - a) / \max(a, b) \in [-1, 1]$. Near 1 the point sits well inside its
# cluster, near 0 on a border, below 0 probably in the wrong cluster. The mean
# silhouette over all points is highest for a good $k$ (it needs $k \ge 2$).

# %%
X_four, y_four = sklearn.datasets.make_blobs(
    n_samples=[120, 80, 60, 100], centers=[[0, 0], [5, 5], [0, 6], [6, -1]],
    cluster_std=[1.0, 0.8, 0.6, 1.1], random_state=0)
X_four = torch.tensor(X_four, dtype=torch.float32)
ours_c, ours_l = kmeans(X_four, k=4, num_iters=100, seed=0)
theirs = sklearn.cluster.KMeans(n_clusters=4, n_init=10, random_state=0).fit(X_four)
ours_inertia = (X_four - ours_c[ours_l]).pow(2).sum().item()
print(f"inertia: ours {ours_inertia:.2f}, scikit-learn {theirs.inertia_:.2f}")
print("adjusted Rand index, ours vs scikit-learn:",
      sklearn.metrics.adjusted_rand_score(ours_l, theirs.labels_))
results["clustering"] = {
    "inertia": ours_inertia,
    "silhouette": sklearn.metrics.silhouette_score(X_four, ours_l),
}

ks = list(range(1, 9))
inertias, silhouettes = [], []
for k in ks:
    c, labels_k = kmeans(X_four, k=k, num_iters=100, seed=0)
    inertias.append((X_four - c[labels_k]).pow(2).sum().item())
    silhouettes.append(sklearn.metrics.silhouette_score(X_four, labels_k)
                       if k > 1 else float("nan"))
print("best k by silhouette:", ks[max(range(1, len(ks)), key=silhouettes.__getitem__)])

fig, axes = plt.subplots(1, 3, figsize=(14, 4))
axes[0].scatter(X_four[:, 0], X_four[:, 1], c=ours_l, cmap="tab10", s=10)
axes[0].scatter(ours_c[:, 0], ours_c[:, 1], c="black", marker="x", s=100,
                label="centroids")
axes[0].set(xlabel="$x_1$", ylabel="$x_2$", title="kmeans(X, k=4)")
axes[0].legend()
axes[1].plot(ks, inertias, "o-", label="inertia")
axes[1].set(xlabel="k", ylabel="inertia", title="The elbow")
axes[1].legend()
axes[2].plot(ks, silhouettes, "s-", color="C1", label="mean silhouette")
axes[2].set(xlabel="k", ylabel="silhouette", title="Silhouette (higher is better)")
axes[2].legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Lloyd's algorithm step by step
#
# Choose $k$, the seed and the number of iterations, and watch the centroids
# travel from where the first iteration puts them (hollow circles) to where
# Lloyd's algorithm leaves them (crosses).
# With a poor seed and the wrong $k$, two centroids can end up sharing one blob:
# a local minimum.

# %%
def show_lloyd(k=4, num_iters=1, seed=0):
    """Clusters after num_iters Lloyd iterations, and the centroids after one."""
    early, _ = kmeans(X_four, k=k, num_iters=1, seed=seed)
    centroids, labels = kmeans(X_four, k=k, num_iters=num_iters, seed=seed)
    inertia = (X_four - centroids[labels]).pow(2).sum().item()
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.scatter(X_four[:, 0], X_four[:, 1], c=labels, cmap="tab10", s=10)
    ax.scatter(early[:, 0], early[:, 1], facecolors="none", edgecolors="black",
               s=120, label="centroids after 1 iteration")
    ax.scatter(centroids[:, 0], centroids[:, 1], c="black", marker="x", s=100,
               label=f"centroids after {num_iters}")
    ax.set(xlabel="$x_1$", ylabel="$x_2$",
           title=f"k = {k}, {num_iters} iterations: inertia {inertia:.1f}")
    ax.legend(loc="upper right", fontsize=8)
    return fig


interactive_plot(show_lloyd, k=(1, 8), num_iters=(1, 15), seed=(0, 20))

# %% [markdown]
# ### Beyond k-means
#
# k-means finds round clusters of similar spread, because it only looks at the
# distance to a centre. Other algorithms, all in `sklearn.cluster`, make other
# assumptions:
#
# - **DBSCAN** grows clusters from dense regions: a point with at least
#   `min_samples` neighbours within radius `eps` is a core point, clusters are
#   connected core points with their neighbours, and isolated points are noise
#   (label $-1$). It finds clusters of any shape and their number by itself.
# - **Hierarchical (agglomerative) clustering** starts with every point alone and
#   repeatedly merges the two closest clusters; *single linkage* (distance between
#   the closest members) follows chains of points, *Ward* linkage merges where the
#   inertia grows least. Cutting the merge tree at $k$ groups gives a clustering.
#
# Two interleaved half-moons show the difference.

# %%
X_moons, _ = sklearn.datasets.make_moons(n_samples=300, noise=0.06, random_state=0)
X_moons = torch.tensor(X_moons, dtype=torch.float32)
moon_labels = {
    "kmeans, k=2": kmeans(X_moons, k=2, num_iters=100, seed=0)[1],
    "agglomerative, single linkage": sklearn.cluster.AgglomerativeClustering(
        n_clusters=2, linkage="single").fit_predict(X_moons),
    "DBSCAN, eps=0.2": sklearn.cluster.DBSCAN(eps=0.2, min_samples=5)
    .fit_predict(X_moons),
}
fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
for ax, (title, labels_m) in zip(axes, moon_labels.items(), strict=True):
    ax.scatter(X_moons[:, 0], X_moons[:, 1], c=labels_m, cmap="coolwarm", s=10)
    ax.set(xlabel="$x_1$", ylabel="$x_2$", title=title)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 6.7 Reinforcement learning
#
# In reinforcement learning (RL) nobody labels the data. An **agent** acts in an
# **environment**: in state $s_t$ it picks an action $a_t$, the environment answers
# with a reward $r_{t+1}$ and a next state $s_{t+1}$, and so on until the episode
# ends in a **terminal** state. A **policy** $\pi$ decides the actions; the goal is
# the largest expected **return**, the discounted sum of rewards
#
# $$G_t = r_{t+1} + \gamma r_{t+2} + \gamma^2 r_{t+3} + \dots,
#   \qquad 0 \le \gamma < 1 .$$
#
# The discount $\gamma$ makes a reward now worth more than the same reward later
# (and keeps the sum finite). The **action value** $Q^\pi(s, a)$ is the expected
# return after taking $a$ in $s$ and following $\pi$ afterwards. The best
# achievable values $Q^*$ satisfy the **Bellman optimality equation**
#
# $$Q^*(s, a) = \mathbb{E}\big[r + \gamma \max_{a'} Q^*(s', a')\big],$$
#
# where the expectation is over the environment's answer $(r, s')$, and the
# maximum is replaced by 0 when $s'$ is terminal (nothing follows). Knowing $Q^*$,
# acting well is easy: pick $\arg\max_a Q^*(s, a)$, the **greedy** policy.
#
# **Q-learning** (Watkins, 1989) estimates $Q^*$ from experience, one transition
# $(s, a, r, s')$ at a time, by moving $Q(s, a)$ a step $\alpha$ towards the
# Bellman target:
#
# $$Q(s, a) \leftarrow Q(s, a) + \alpha\big[\underbrace{r + \gamma \max_{a'}
#   Q(s', a')}_{\text{target, just } r \text{ if } s' \text{ is terminal}}
#   - Q(s, a)\big] .$$
#
# The bracket is the **temporal-difference (TD) error**. Q-learning is
# *off-policy*: whatever policy generated the transitions, the targets use the
# greedy maximum, so with every state-action pair visited often enough (and a
# suitably decreasing $\alpha$), $Q$ converges to $Q^*$.
#
# Here $Q$ is a table of shape $(S, A)$ for $S$ states and $A$ actions. Deep
# Q-networks (DQN) replace the table with a network that maps a state to $A$
# values, trained on the same target with a squared-error loss; policy-gradient
# and actor-critic methods learn the policy directly. They all need the piece
# below.
#
# ### Exploration: $\varepsilon$-greedy
#
# An agent that always takes its current best action never tries the others and
# may never discover a better path. **$\varepsilon$-greedy** exploration takes a
# uniformly random action with probability $\varepsilon$ and the greedy one
# otherwise. The random action can be the greedy one too, so the greedy action is
# taken with probability $1 - \varepsilon + \varepsilon / A$ and each other action
# with probability $\varepsilon / A$.
#
# ### Exercise 6: `epsilon_greedy` (2 points)

# %% grade_id="ch06-epsilon-greedy"
def epsilon_greedy(q_values, epsilon, generator):
    """Pick an action epsilon-greedily from one state's action values.

    A is the number of actions (A >= 1).

    Args:
        q_values: floating-point tensor of shape (A,), on any device.
        epsilon: float in [0, 1], the probability of exploring.
        generator: a CPU torch.Generator; it is the only source of randomness
            (pass it to torch.rand / torch.randint / torch.multinomial and
            draw on the CPU). Do not use the global RNG or Python's random.

    Returns:
        A Python int in [0, A). With probability epsilon, an action drawn
        uniformly from all A actions (the greedy one included); otherwise the
        greedy action argmax q_values, ties going to the lowest index (as
        torch.argmax does). So epsilon = 0 is always greedy and epsilon = 1 is
        uniform. How many numbers you draw, and in which order, is up to you:
        the tests check the frequencies of the actions over many calls, and
        that the same generator seed gives the same actions.

    Raises:
        ValueError if epsilon is outside [0, 1].
    """
    ### BEGIN SOLUTION
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"epsilon must lie in [0, 1], got {epsilon}")
    if torch.rand((), generator=generator).item() < epsilon:
        return int(torch.randint(len(q_values), (), generator=generator))
    return int(q_values.argmax())
    ### END SOLUTION


# %%
# Try it: action 1 is greedy; with epsilon = 0.3 it is chosen 0.7 + 0.3/3 = 80%
demo_gen = torch.Generator().manual_seed(0)
picks = [epsilon_greedy(torch.tensor([0.0, 2.0, 1.0]), 0.3, demo_gen)
         for _ in range(1000)]
print("frequencies:", [picks.count(a) / len(picks) for a in range(3)])

# %% grade_id="ch06-epsilon-greedy-tests" points=2
"""epsilon_greedy: a Python int; epsilon = 0 is greedy with ties to the lowest
index; frequencies over many draws match 1 - eps + eps/A for the greedy action and
eps/A for the others (eps = 1: uniform) within 5 standard deviations; the same seed
gives the same actions and the global RNG is neither used nor advanced; q_values
in float64 on `device`; ValueError for epsilon outside [0, 1]."""


def _frequencies(q, epsilon, seed, num_draws):
    gen = torch.Generator().manual_seed(seed)
    counts = [0] * len(q)
    for _ in range(num_draws):
        counts[epsilon_greedy(q, epsilon, gen)] += 1
    return [c / num_draws for c in counts]


def _check_frequencies(q, epsilon, seed, num_draws, name):
    greedy = int(q.argmax())
    got = _frequencies(q, epsilon, seed, num_draws)
    for a, freq in enumerate(got):
        p = epsilon / len(q) + (1 - epsilon) * (a == greedy)
        bound = 5 * math.sqrt(p * (1 - p) / num_draws) + 1e-12
        assert abs(freq - p) <= bound, (
            f"{name}: action {a} chosen with frequency {freq:.4f} over {num_draws} "
            f"draws, expected {p:.4f} +- {bound:.4f} (all frequencies: {got})")


gen = torch.Generator().manual_seed(0)
action = epsilon_greedy(torch.tensor([1.0, 3.0, 3.0, 0.0]), 0.0, gen)
assert type(action) is int, f"expected a Python int, got {type(action).__name__}"
assert action == 1, (f"epsilon_greedy([1, 3, 3, 0], epsilon=0): got {action}, "
                     "expected 1 (the greedy action; ties go to the lowest index)")
assert epsilon_greedy(torch.tensor([0.5]), 1.0, gen) == 0, "A = 1: action 0"
q = torch.tensor([0.0, 2.0, 1.0], dtype=torch.float64, device=device)
_check_frequencies(q, 0.3, 0, 4000, "epsilon_greedy(float64 [0, 2, 1] on device, 0.3)")
_check_frequencies(torch.tensor([5.0, -1.0, 2.0, 0.0]), 1.0, 1, 4000,
                   "epsilon_greedy(4 actions, epsilon=1)")
_check_frequencies(torch.tensor([5.0, -1.0, 2.0, 0.0]), 0.0, 2, 200,
                   "epsilon_greedy(4 actions, epsilon=0)")
state = torch.get_rng_state()
torch.manual_seed(123)
first = [epsilon_greedy(q, 0.5, gen_a) for gen_a in [torch.Generator().manual_seed(9)]
         for _ in range(50)]
torch.manual_seed(456)  # another global seed must not change the actions
second = [epsilon_greedy(q, 0.5, gen_b) for gen_b in [torch.Generator().manual_seed(9)]
          for _ in range(50)]
assert first == second, ("epsilon_greedy: the same generator seed gave different "
                         "actions (use only `generator` for randomness)")
torch.manual_seed(7)
before = torch.get_rng_state()
for _ in range(20):
    epsilon_greedy(q, 0.5, gen)
assert torch.equal(before, torch.get_rng_state()), (
    "epsilon_greedy advanced the global RNG: draw with `generator` only")
torch.set_rng_state(state)
expect_raises(ValueError, epsilon_greedy, q, 1.5, gen, name="epsilon_greedy(eps=1.5)")
expect_raises(ValueError, epsilon_greedy, q, -0.1, gen,
              name="epsilon_greedy(eps=-0.1)")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(5)
for _A, _eps, _seed in [(2, 0.1, 3), (5, 0.5, 4), (7, 0.9, 5), (3, 1.0, 6),
                        (6, 0.05, 7)]:
    _q = torch.randn(_A, generator=_gen, dtype=torch.float64).to(device)
    _check_frequencies(_q, _eps, _seed, 4000, f"epsilon_greedy({_A} actions, {_eps})")
_q = torch.tensor([-2.0, -1.0, -1.0, -3.0], device=device)
assert epsilon_greedy(_q, 0.0, _gen) == 1, "ties at epsilon=0: the lowest index"
assert epsilon_greedy(torch.zeros(5), 0.0, _gen) == 0, "all equal: action 0"
_q = torch.tensor([0.0, 0.0, 1.0, 1.0], dtype=torch.float64, device=device)
_check_frequencies(_q, 0.4, 8, 4000, "epsilon_greedy(tied [0, 0, 1, 1], 0.4)")
_state = torch.get_rng_state()
torch.manual_seed(1)
_before = torch.get_rng_state()
for _ in range(50):
    epsilon_greedy(_q, 0.7, _gen)
assert torch.equal(_before, torch.get_rng_state()), "global RNG advanced"
torch.set_rng_state(_state)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 7: `q_learning_update` (2 points)
#
# Apply one Q-learning update to the table, **in place**, and return the TD error.
# A `done` flag says whether $s'$ is terminal; then the target is just $r$, even if
# the row $Q[s']$ holds numbers. (The table's rows of terminal states are never
# updated, so they stay 0 and a forgotten flag can go unnoticed in a small demo;
# the tests put non-zero values there.)

# %% grade_id="ch06-q-learning-update"
def q_learning_update(Q, s, a, r, s_next, alpha, gamma, done=False):
    """One Q-learning step on the table Q, in place.

    S is the number of states and A the number of actions.

    Args:
        Q: floating-point tensor of shape (S, A), on any device; updated in
            place (only the entry Q[s, a] changes).
        s, a: ints, the state and the action taken (0 <= s < S, 0 <= a < A).
        r: float, the reward received.
        s_next: int, the next state (a valid index in [0, S), also when done).
        alpha: float in (0, 1], the step size.
        gamma: float in [0, 1], the discount.
        done: bool, True when s_next is terminal: then the target is r alone
            (no bootstrap from Q[s_next], whatever it holds).

    The update, with every right-hand side read before Q changes:
        target = r + gamma * max_a' Q[s_next, a']   (target = r if done)
        td_error = target - Q[s, a]
        Q[s, a] <- Q[s, a] + alpha * td_error

    Returns:
        td_error as a Python float (computed from the value of Q[s, a] before
        the update).
    """
    ### BEGIN SOLUTION
    target = r if done else r + gamma * Q[s_next].max().item()
    td_error = target - Q[s, a].item()
    Q[s, a] += alpha * td_error
    return td_error
    ### END SOLUTION


# %%
# Try it: the target is 1 + 0.9 * max(Q[2]) = 1 + 0.9 * 4 = 4.6
Q_demo = torch.tensor([[0.0, 0.0], [0.0, 0.0], [4.0, 1.0]])
print(q_learning_update(Q_demo, 0, 1, 1.0, 2, alpha=0.5, gamma=0.9), Q_demo)

# %% grade_id="ch06-q-learning-update-tests" points=2
"""q_learning_update: a hand-made step (target r + gamma max Q[s']), in place,
only Q[s, a] changes, TD error returned as a Python float; done=True does not
bootstrap even when Q[s'] is non-zero; float64 on `device`; on a corridor, 300
episodes of random behaviour and your update give the greedy policy 'go right'
everywhere and values close to gamma^distance."""
Q = torch.tensor([[0.0, 0.0], [0.0, 0.0], [4.0, 1.0]], dtype=torch.float64,
                 device=device)
before = Q.clone()
td = q_learning_update(Q, 0, 1, 1.0, 2, alpha=0.5, gamma=0.9)
assert type(td) is float, f"expected a Python float, got {type(td).__name__}"
assert_close(td, 4.6, rtol=1e-12, atol=1e-12,
             name="TD error (target 1 + 0.9 * max(Q[2]) = 1 + 0.9 * 4, not Q[2, a])")
want = before.clone()
want[0, 1] = 0.5 * 4.6
assert_close(Q, want, rtol=1e-12, atol=1e-12,
             name="Q after one update, in place (only Q[0, 1] changes, to 0.5 * 4.6)")
Q = torch.tensor([[2.0, -1.0], [3.0, 5.0]], dtype=torch.float64, device=device)
td = q_learning_update(Q, 0, 0, 1.5, 1, alpha=0.25, gamma=0.9, done=True)
assert_close(td, -0.5, rtol=1e-12, atol=1e-12,
             name="TD error with done=True (target r = 1.5, Q[0, 0] = 2)")
assert_close(Q, torch.tensor([[1.875, -1.0], [3.0, 5.0]], dtype=torch.float64,
                             device=device), rtol=1e-12, atol=1e-12,
             name="Q after a terminal step (no bootstrap from Q[1])")
# a corridor 0 - 1 - 2 - 3 - 4 (goal, terminal, reward 1); actions 0 left, 1 right
gen = torch.Generator().manual_seed(0)
Q = torch.zeros(5, 2)
Q[4] = 10.0  # rubbish in the terminal row must not leak into the targets
for _ in range(300):
    s = int(torch.randint(4, (), generator=gen))
    while True:
        a = int(torch.randint(2, (), generator=gen))  # uniform random behaviour
        s_next = max(s - 1, 0) if a == 0 else s + 1
        done = s_next == 4
        q_learning_update(Q, s, a, 1.0 if done else 0.0, s_next, 0.5, 0.9, done=done)
        if done:
            break
        s = s_next
assert Q[:4].argmax(dim=1).tolist() == [1, 1, 1, 1], (
    f"corridor: greedy actions {Q[:4].argmax(dim=1).tolist()}, expected all 1 (right)")
assert_close(Q[:4, 1], torch.tensor([0.729, 0.81, 0.9, 1.0]), rtol=1e-3, atol=1e-3,
             name="corridor: Q[s, right] = 0.9 ** (3 - s)")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(13)
for _S, _A, _dtype in [(4, 3, torch.float64), (7, 2, torch.float32),
                       (3, 5, torch.float64)]:
    _Q = torch.randn(_S, _A, generator=_gen, dtype=_dtype).to(device)
    for _s, _a, _s2, _done in [(0, _A - 1, _S - 1, False), (_S - 1, 0, 1, True),
                               (1, 1, 1, False)]:
        _r, _alpha, _gamma = -0.7, 0.3, 0.8
        _old = _Q.clone()
        _target = _r if _done else _r + _gamma * _old[_s2].max().item()
        _td = q_learning_update(_Q, _s, _a, _r, _s2, _alpha, _gamma, done=_done)
        _tol = 1e-12 if _dtype == torch.float64 else 1e-5
        assert_close(_td, _target - _old[_s, _a].item(), rtol=_tol, atol=_tol,
                     name=f"TD error (S={_S}, A={_A}, s={_s}, a={_a}, done={_done})")
        _old[_s, _a] += _alpha * (_target - _old[_s, _a].item())
        assert_close(_Q, _old, rtol=_tol, atol=_tol,
                     name=f"Q after the update (s={_s}, a={_a}, done={_done})")
# a 4 x 5 grid with walls: random behaviour, then greedy from every start
_layout = ["..#..", "..#..", ".....", "#.#.G"]
_W = len(_layout[0])
_free = [r * _W + c for r in range(4) for c in range(_W) if _layout[r][c] == "."]


def _grid_step(s, a):
    r, c = divmod(s, _W)
    dr, dc = [(-1, 0), (0, 1), (1, 0), (0, -1)][a]
    if 0 <= r + dr < 4 and 0 <= c + dc < _W and _layout[r + dr][c + dc] != "#":
        r, c = r + dr, c + dc
    return r * _W + c, _layout[r][c] == "G"


_Q = torch.zeros(4 * _W, 4, dtype=torch.float64, device=device)
_Q[19] = 100.0  # the goal's row holds rubbish: done must cut the bootstrap
for _ in range(400):
    _s = _free[int(torch.randint(len(_free), (), generator=_gen))]
    for _t in range(200):
        _a = int(torch.randint(4, (), generator=_gen))
        _s2, _done = _grid_step(_s, _a)
        q_learning_update(_Q, _s, _a, 10.0 if _done else -1.0, _s2, 0.5, 0.95,
                          done=_done)
        if _done:
            break
        _s = _s2
assert (_Q[_free].max(dim=1).values < 10.0 + 1e-9).all(), (
    "grid: values above the goal reward 10: terminal rows bootstrapped")
for _start in _free:
    _s, _steps = _start, 0
    while _layout[_s // _W][_s % _W] != "G" and _steps < 20:
        _s, _ = _grid_step(_s, int(_Q[_s].argmax()))
        _steps += 1
    assert _steps < 20, f"grid: the greedy policy from state {_start} never reaches G"
### END HIDDEN TESTS

# %% [markdown]
# ### A grid world
#
# The environment below is plain Python: a 5 x 5 grid with walls (`#`), a pit
# (`P`, reward $-10$, the episode ends) and a goal (`G`, reward $+10$, the episode
# ends). Every other move costs $-1$, so shorter paths are better; walking into a
# wall or the border leaves the agent where it was. States are numbered
# row $\times$ 5 + column and the actions are up, right, down, left.
#
# Each episode starts in a random free cell (*exploring starts*), so that every
# state is visited; the agent acts $\varepsilon$-greedily with your
# `epsilon_greedy` and learns with your `q_learning_update`. The table lives on the
# CPU: for a few hundred numbers, a GPU only adds transfer time.

# %%
class GridWorld:
    """A deterministic grid: '.' free, '#' wall, 'P' pit (-10), 'G' goal (+10).

    States are row * width + col; actions 0 up, 1 right, 2 down, 3 left. Every
    other move costs -1; moving into a wall or off the grid leaves the agent in
    place. Entering P or G ends the episode.
    """

    moves = ((-1, 0), (0, 1), (1, 0), (0, -1))
    arrows = ("^", ">", "v", "<")

    def __init__(self, layout):
        self.layout = layout
        self.height, self.width = len(layout), len(layout[0])
        self.num_states, self.num_actions = self.height * self.width, 4

    def cell(self, state):
        return self.layout[state // self.width][state % self.width]

    def free_states(self):
        return [s for s in range(self.num_states) if self.cell(s) == "."]

    def step(self, state, action):
        """Return (next_state, reward, done)."""
        row, col = divmod(state, self.width)
        r, c = row + self.moves[action][0], col + self.moves[action][1]
        if 0 <= r < self.height and 0 <= c < self.width and self.layout[r][c] != "#":
            row, col = r, c
        next_state = row * self.width + col
        kind = self.layout[row][col]
        return next_state, {"G": 10.0, "P": -10.0}.get(kind, -1.0), kind in "GP"


world = GridWorld([".....",
                   ".##..",
                   "...#.",
                   ".#P..",
                   "...#G"])
print(f"{world.num_states} states, {len(world.free_states())} free, "
      f"{world.num_actions} actions")

# %%
def train_q_learning(env, num_episodes, epsilon=0.2, alpha=0.5, gamma=0.95,
                     max_steps=100, seed=0):
    """Tabular Q-learning with exploring starts; returns Q and per-episode returns."""
    generator = torch.Generator().manual_seed(seed)
    Q = torch.zeros(env.num_states, env.num_actions, dtype=torch.float64)
    starts = env.free_states()
    returns = []
    for _ in progress(range(num_episodes), desc="Q-learning"):
        state = starts[int(torch.randint(len(starts), (), generator=generator))]
        total = 0.0
        for _ in range(max_steps):
            action = epsilon_greedy(Q[state], epsilon, generator)
            next_state, reward, done = env.step(state, action)
            q_learning_update(Q, state, action, reward, next_state, alpha, gamma,
                              done=done)
            total += reward
            state = next_state
            if done:
                break
        returns.append(total)
    return Q, returns


def greedy_path(env, Q, start):
    """States visited by the greedy policy from ``start`` (at most S moves)."""
    path, state = [start], start
    for _ in range(env.num_states):
        if env.cell(state) in "GP":
            break
        state, _, _ = env.step(state, int(Q[state].argmax()))
        path.append(state)
    return path


NUM_EPISODES = 500  # the knob: more episodes, more reliable values

# %% [markdown]
# ### The optimal values, for comparison
#
# This grid is small and fully known, so we can also compute $Q^*$ exactly by
# **value iteration**: apply the Bellman optimality equation as an assignment to
# every state-action pair, sweep after sweep, until nothing changes. Q-learning
# will never see this model of the environment, only sampled transitions;
# comparing its greedy returns with the optimal ones from every start shows how
# close it gets.

# %%
def value_iteration(env, gamma=0.95, num_sweeps=200):
    """Q* of a deterministic GridWorld by repeated Bellman backups."""
    Q = torch.zeros(env.num_states, env.num_actions, dtype=torch.float64)
    for _ in range(num_sweeps):
        for s in env.free_states():
            for a in range(env.num_actions):
                s_next, reward, done = env.step(s, a)
                Q[s, a] = reward + (0.0 if done else gamma * Q[s_next].max().item())
    return Q


def greedy_return(env, Q, start, gamma=0.95):
    """Discounted return of the greedy policy from ``start``."""
    total, discount, state = 0.0, 1.0, start
    for _ in range(env.num_states):
        state, reward, done = env.step(state, int(Q[state].argmax()))
        total += discount * reward
        discount *= gamma
        if done:
            break
    return total


Q_star = value_iteration(world)
print("optimal discounted return from the top-left cell:",
      round(greedy_return(world, Q_star, 0), 4))

# %% [markdown]
# ### Training the agent
#
# The next cell trains the agent, checks that its greedy policy reaches the goal
# from every free cell, compares it with the optimal policy, and plots the
# learning curve with the greedy policy (an arrow per cell) and the greedy path
# from the top-left corner.

# %%
Q_grid, episode_returns = train_q_learning(world, NUM_EPISODES)
failures = [s for s in world.free_states()
            if world.cell(greedy_path(world, Q_grid, s)[-1]) != "G"]
assert not failures, f"the greedy policy does not reach G from states {failures}"
print(f"after {NUM_EPISODES} episodes the greedy policy reaches the goal from all "
      f"{len(world.free_states())} free cells")
gaps = [greedy_return(world, Q_star, s) - greedy_return(world, Q_grid, s)
        for s in world.free_states()]
print(f"largest shortfall of the learned policy's return: {max(gaps):.4f} "
      f"(0 means optimal from every start)")
print("value error max|max_a Q - max_a Q*| over free cells:",
      round((Q_grid.max(1).values - Q_star.max(1).values)[world.free_states()]
            .abs().max().item(), 4))

window = 25
smooth = torch.tensor(episode_returns).unfold(0, window, 1).mean(dim=1)
path = greedy_path(world, Q_grid, 0)
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
axes[0].plot(episode_returns, alpha=0.3, label="return of each episode")
axes[0].plot(range(window - 1, len(episode_returns)), smooth.numpy(),
             label=f"moving average over {window}")
axes[0].set(xlabel="episode", ylabel="return (undiscounted)",
            title="Learning curve (random starts, epsilon = 0.2)")
axes[0].legend()
values = Q_grid.max(dim=1).values.reshape(world.height, world.width).clone()
for s in range(world.num_states):
    if world.cell(s) != ".":
        values.view(-1)[s] = float("nan")  # walls and terminals: no value shown
image = axes[1].imshow(values.numpy(), cmap="viridis")
for s in range(world.num_states):
    row, col = divmod(s, world.width)
    kind = world.cell(s)
    text = kind if kind != "." else GridWorld.arrows[int(Q_grid[s].argmax())]
    axes[1].text(col, row, text, ha="center", va="center", fontsize=14,
                 color="white" if kind == "." else "black", fontweight="bold")
rows, cols = zip(*(divmod(s, world.width) for s in path), strict=True)
axes[1].plot(cols, rows, "r-", lw=2, alpha=0.7, label="greedy path from (0, 0)")
axes[1].set(xticks=range(world.width), yticks=range(world.height), xlabel="column",
            ylabel="row", title="Greedy policy and max_a Q(s, a)")
fig.colorbar(image, ax=axes[1], label="max_a Q(s, a)")
axes[1].legend(loc="upper center", bbox_to_anchor=(0.5, -0.12))
fig.tight_layout()
plt.show()
results["reinforcement learning"] = {
    "greedy return from (0, 0)": greedy_return(world, Q_grid, 0),
    "optimal return from (0, 0)": greedy_return(world, Q_star, 0),
}

# %% [markdown]
# ## 6.8 The tasks side by side
#
# | task | output layer | loss | metrics |
# |---|---|---|---|
# | binary | 1 logit | `nn.BCEWithLogitsLoss` | accuracy, precision, recall, F1, AUC |
# | multi-class | $C$ logits | `nn.CrossEntropyLoss` | accuracy, macro/micro F1 |
# | multi-label | $L$ logits | `nn.BCEWithLogitsLoss` | Hamming loss, subset accuracy |
# | regression | 1 unit, no activation | `nn.MSELoss` | MSE, RMSE, MAE, $R^2$ |
# | clustering | $k$ centroids | inertia (k-means) | inertia, silhouette |
# | RL | $A$ values per state | squared TD error | return per episode |
#
# The sigmoid or softmax is applied only to read probabilities; the losses take
# the logits. Regression may also use `nn.L1Loss` (MAE) or `nn.HuberLoss`, which
# is less sensitive to outliers. Q-learning's update is a step along the
# gradient of the squared TD error with the target held fixed, which is exactly
# the loss a deep Q-network minimises.
#
# The values measured in this notebook, on held-out data where there is any:

# %%
print(f"{'task':28s} metrics")
for task in ("binary classification", "multi-class classification",
             "multi-label classification", "regression", "clustering",
             "reinforcement learning"):
    measured = results.get(task)
    if measured is None:
        print(f"{task:28s} (run the cells above: an exercise is not done yet)")
    else:
        print(f"{task:28s} " + ", ".join(f"{k} {v:.3f}" for k, v in measured.items()))

# %% [markdown]
# ## 6.9 Summary
#
# - The task decides the head. Classification outputs logits: one for a binary
#   label, $C$ for one class out of $C$, $L$ independent ones for several labels;
#   regression outputs a number with no activation. Each pairs with the negative
#   log-likelihood of its distribution: BCE, cross-entropy, per-label BCE, MSE.
# - Models return logits; the losses `nn.BCEWithLogitsLoss` and
#   `nn.CrossEntropyLoss` apply the sigmoid or softmax themselves, stably.
#   `Sigmoid` followed by `BCELoss` saturates: at a logit of 40 its loss is
#   clamped to 100 and its gradient is 0.
# - Metrics answer different questions: accuracy, precision, recall, F1 and
#   ROC-AUC for classifiers (a threshold trades precision for recall); Hamming loss
#   and subset accuracy for several labels; MSE, MAE and $R^2$ for regression,
#   where $R^2 \le 0$ means no better than the mean.
# - k-means alternates assignment and update steps down to a fixed point, a local
#   minimum of the inertia; k-means++ starts it well; the elbow and the silhouette
#   help choose $k$; other shapes need DBSCAN or hierarchical clustering.
# - Q-learning learns action values from single transitions with the Bellman
#   target $r + \gamma \max_{a'} Q(s', a')$ (just $r$ at the end of an episode),
#   exploring $\varepsilon$-greedily; its greedy policy solved the grid world.
#
# **Next:** chapter 7 looks at the data itself (images, text, audio, series) and
# the invariances a model for each should respect.
