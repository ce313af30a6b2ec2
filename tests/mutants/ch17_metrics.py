"""ch17: planted wrong answers (must lose points) and right answers written
differently (must pass)."""

WRONG = {
    "ch17-accuracy": {
        "argmax over the batch axis (dim=0)": '''
def accuracy(y_true, y_pred, k=1):
    if y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError("y_true")
    if y_pred.ndim == 1 and y_pred.shape == y_true.shape and k == 1:
        return (y_pred == y_true).float().mean().item()
    if y_pred.ndim == 2 and len(y_pred) == len(y_true) and 1 <= k <= y_pred.shape[1]:
        top = y_pred.topk(k, dim=0).indices.T  # wrong axis
        return (top[: len(y_true)] == y_true[:, None]).any(dim=1).float().mean().item()
    raise ValueError("shapes")
''',
        "ignores k (always top-1)": '''
def accuracy(y_true, y_pred, k=1):
    if y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError("y_true")
    if y_pred.ndim == 2:
        if len(y_pred) != len(y_true) or not 1 <= k <= y_pred.shape[1]:
            raise ValueError("k")
        y_pred = y_pred.argmax(dim=1)
    elif y_pred.shape != y_true.shape or k != 1:
        raise ValueError("shapes")
    return (y_pred == y_true).float().mean().item()
''',
        "returns the number of correct predictions": '''
def accuracy(y_true, y_pred, k=1):
    if y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError("y_true")
    if y_pred.ndim == 1 and y_pred.shape == y_true.shape and k == 1:
        return float((y_pred == y_true).sum())
    if y_pred.ndim == 2 and len(y_pred) == len(y_true) and 1 <= k <= y_pred.shape[1]:
        top = y_pred.topk(k, dim=1).indices
        return float((top == y_true[:, None]).any(dim=1).sum())
    raise ValueError("shapes")
''',
        "no check: an empty batch gives nan": '''
def accuracy(y_true, y_pred, k=1):
    if y_pred.ndim == 2:
        if not 1 <= k <= y_pred.shape[1]:
            raise ValueError("k")
        y_pred = y_pred.topk(k, dim=1).indices
        return (y_pred == y_true[:, None]).any(dim=1).float().mean().item()
    if k != 1 or y_pred.shape != y_true.shape:
        raise ValueError("shapes")
    return (y_pred == y_true).float().mean().item()
''',
        "returns a 0-dim tensor instead of a float": '''
def accuracy(y_true, y_pred, k=1):
    if y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError("y_true")
    if y_pred.ndim == 1 and y_pred.shape == y_true.shape and k == 1:
        return (y_pred == y_true).double().mean()
    if y_pred.ndim == 2 and len(y_pred) == len(y_true) and 1 <= k <= y_pred.shape[1]:
        top = y_pred.topk(k, dim=1).indices
        return (top == y_true[:, None]).any(dim=1).double().mean()
    raise ValueError("shapes")
''',
        "calls the forbidden sklearn.metrics.accuracy_score": '''
def accuracy(y_true, y_pred, k=1):
    if y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError("y_true")
    if y_pred.ndim == 2:
        if len(y_pred) != len(y_true) or not 1 <= k <= y_pred.shape[1]:
            raise ValueError("k")
        top = y_pred.topk(k, dim=1).indices
        return (top == y_true[:, None]).any(dim=1).double().mean().item()
    if y_pred.shape != y_true.shape or k != 1:
        raise ValueError("shapes")
    return float(sklearn.metrics.accuracy_score(y_true.cpu(), y_pred.cpu()))
''',
    },
    "ch17-confusion-matrix": {
        "transposed: rows predicted, columns true": '''
def confusion_matrix(y_true, y_pred, num_classes=None):
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ValueError("shapes")
    if num_classes is None:
        if len(y_true) == 0:
            raise ValueError("empty")
        num_classes = int(max(y_true.max(), y_pred.max())) + 1
    both = torch.cat([y_true, y_pred])
    if len(both) and (both.min() < 0 or both.max() >= num_classes):
        raise ValueError("labels")
    counts = torch.bincount(y_pred * num_classes + y_true,
                            minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)
''',
        "number of classes from y_true only": '''
def confusion_matrix(y_true, y_pred, num_classes=None):
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ValueError("shapes")
    if num_classes is None:
        if len(y_true) == 0:
            raise ValueError("empty")
        num_classes = int(y_true.max()) + 1
    M = torch.zeros(num_classes, num_classes, dtype=torch.int64, device=y_true.device)
    if len(y_true) and (y_true.min() < 0 or y_true.max() >= num_classes):
        raise ValueError("labels")
    ok = (y_pred >= 0) & (y_pred < num_classes)  # silently drops the others
    M.index_put_((y_true[ok], y_pred[ok]), torch.ones_like(y_true[ok]), accumulate=True)
    return M
''',
        "float counts (one_hot products in float32)": '''
def confusion_matrix(y_true, y_pred, num_classes=None):
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ValueError("shapes")
    if num_classes is None:
        if len(y_true) == 0:
            raise ValueError("empty")
        num_classes = int(max(y_true.max(), y_pred.max())) + 1
    both = torch.cat([y_true, y_pred])
    if len(both) and (both.min() < 0 or both.max() >= num_classes):
        raise ValueError("labels")
    T = F.one_hot(y_true, num_classes).float()
    P = F.one_hot(y_pred, num_classes).float()
    return T.T @ P
''',
        "no range check (bincount of an out-of-range index grows the matrix)": '''
def confusion_matrix(y_true, y_pred, num_classes=None):
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ValueError("shapes")
    if num_classes is None:
        if len(y_true) == 0:
            raise ValueError("empty")
        num_classes = int(max(y_true.max(), y_pred.max())) + 1
    counts = torch.bincount(y_true * num_classes + y_pred,
                            minlength=num_classes * num_classes)
    return counts[: num_classes * num_classes].reshape(num_classes, num_classes)
''',
    },
    "ch17-precision-recall-f1": {
        "macro F1 as the harmonic mean of macro precision and recall": '''
def precision_recall_f1(y_true, y_pred, average="binary"):
    if average not in ("binary", "micro", "macro", "weighted"):
        raise ValueError(average)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape or len(y_true) == 0:
        raise ValueError("shapes")
    both = torch.cat([y_true, y_pred])
    if average == "binary":
        if ((both != 0) & (both != 1)).any():
            raise ValueError("binary")
        classes = y_true.new_ones(1)
    else:
        classes = torch.unique(both)
    t = y_true[:, None] == classes
    p = y_pred[:, None] == classes
    tp = (t & p).sum(0).double()
    pp, sup = p.sum(0).double(), t.sum(0).double()
    if average == "micro":
        tp, pp, sup = tp.sum(0, True), pp.sum(0, True), sup.sum(0, True)
    prec = torch.where(pp > 0, tp / pp.clamp(min=1), 0.0)
    rec = torch.where(sup > 0, tp / sup.clamp(min=1), 0.0)
    w = sup / sup.sum() if average == "weighted" else torch.full_like(sup, 1 / len(sup))
    P, R = (prec * w).sum().item(), (rec * w).sum().item()
    return P, R, 2 * P * R / (P + R) if P + R else 0.0
''',
        "macro computed as micro (counts summed first)": '''
def precision_recall_f1(y_true, y_pred, average="binary"):
    if average not in ("binary", "micro", "macro", "weighted"):
        raise ValueError(average)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape or len(y_true) == 0:
        raise ValueError("shapes")
    both = torch.cat([y_true, y_pred])
    if average == "binary":
        if ((both != 0) & (both != 1)).any():
            raise ValueError("binary")
        classes = y_true.new_ones(1)
    else:
        classes = torch.unique(both)
    t = y_true[:, None] == classes
    p = y_pred[:, None] == classes
    tp = (t & p).sum(0).double()
    pp, sup = p.sum(0).double(), t.sum(0).double()
    if average in ("micro", "macro"):
        tp, pp, sup = tp.sum(0, True), pp.sum(0, True), sup.sum(0, True)
    div = lambda a, b: torch.where(b > 0, a / b.clamp(min=1), 0.0)  # noqa: E731
    s = (div(tp, pp), div(tp, sup), div(2 * tp, pp + sup))
    if average == "weighted":
        return tuple((x * sup).sum().item() / sup.sum().item() for x in s)
    return tuple(x.mean().item() for x in s)
''',
        "precision and recall swapped (arguments of the counts swapped)": '''
def precision_recall_f1(y_true, y_pred, average="binary"):
    if average not in ("binary", "micro", "macro", "weighted"):
        raise ValueError(average)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape or len(y_true) == 0:
        raise ValueError("shapes")
    y_true, y_pred = y_pred, y_true
    both = torch.cat([y_true, y_pred])
    if average == "binary":
        if ((both != 0) & (both != 1)).any():
            raise ValueError("binary")
        classes = y_true.new_ones(1)
    else:
        classes = torch.unique(both)
    t = y_true[:, None] == classes
    p = y_pred[:, None] == classes
    tp = (t & p).sum(0).double()
    pp, sup = p.sum(0).double(), t.sum(0).double()
    if average == "micro":
        tp, pp, sup = tp.sum(0, True), pp.sum(0, True), sup.sum(0, True)
    div = lambda a, b: torch.where(b > 0, a / b.clamp(min=1), 0.0)  # noqa: E731
    s = (div(tp, pp), div(tp, sup), div(2 * tp, pp + sup))
    if average == "weighted":
        return tuple((x * sup).sum().item() / sup.sum().item() for x in s)
    return tuple(x.mean().item() for x in s)
''',
        "classes 0..max instead of the labels that occur": '''
def precision_recall_f1(y_true, y_pred, average="binary"):
    if average not in ("binary", "micro", "macro", "weighted"):
        raise ValueError(average)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape or len(y_true) == 0:
        raise ValueError("shapes")
    both = torch.cat([y_true, y_pred])
    if average == "binary":
        if ((both != 0) & (both != 1)).any():
            raise ValueError("binary")
        classes = y_true.new_ones(1)
    else:
        classes = torch.arange(int(both.max()) + 1, device=y_true.device)
    t = y_true[:, None] == classes
    p = y_pred[:, None] == classes
    tp = (t & p).sum(0).double()
    pp, sup = p.sum(0).double(), t.sum(0).double()
    if average == "micro":
        tp, pp, sup = tp.sum(0, True), pp.sum(0, True), sup.sum(0, True)
    div = lambda a, b: torch.where(b > 0, a / b.clamp(min=1), 0.0)  # noqa: E731
    s = (div(tp, pp), div(tp, sup), div(2 * tp, pp + sup))
    if average == "weighted":
        return tuple((x * sup).sum().item() / sup.sum().item() for x in s)
    return tuple(x.mean().item() for x in s)
''',
        "weighted by the number of predictions instead of the support": '''
def precision_recall_f1(y_true, y_pred, average="binary"):
    if average not in ("binary", "micro", "macro", "weighted"):
        raise ValueError(average)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape or len(y_true) == 0:
        raise ValueError("shapes")
    both = torch.cat([y_true, y_pred])
    if average == "binary":
        if ((both != 0) & (both != 1)).any():
            raise ValueError("binary")
        classes = y_true.new_ones(1)
    else:
        classes = torch.unique(both)
    t = y_true[:, None] == classes
    p = y_pred[:, None] == classes
    tp = (t & p).sum(0).double()
    pp, sup = p.sum(0).double(), t.sum(0).double()
    if average == "micro":
        tp, pp, sup = tp.sum(0, True), pp.sum(0, True), sup.sum(0, True)
    div = lambda a, b: torch.where(b > 0, a / b.clamp(min=1), 0.0)  # noqa: E731
    s = (div(tp, pp), div(tp, sup), div(2 * tp, pp + sup))
    if average == "weighted":
        return tuple((x * pp).sum().item() / pp.sum().item() for x in s)
    return tuple(x.mean().item() for x in s)
''',
        "0/0 gives nan (no zero-division rule)": '''
def precision_recall_f1(y_true, y_pred, average="binary"):
    if average not in ("binary", "micro", "macro", "weighted"):
        raise ValueError(average)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape or len(y_true) == 0:
        raise ValueError("shapes")
    both = torch.cat([y_true, y_pred])
    if average == "binary":
        if ((both != 0) & (both != 1)).any():
            raise ValueError("binary")
        classes = y_true.new_ones(1)
    else:
        classes = torch.unique(both)
    t = y_true[:, None] == classes
    p = y_pred[:, None] == classes
    tp = (t & p).sum(0).double()
    pp, sup = p.sum(0).double(), t.sum(0).double()
    if average == "micro":
        tp, pp, sup = tp.sum(0, True), pp.sum(0, True), sup.sum(0, True)
    s = (tp / pp, tp / sup, 2 * tp / (pp + sup))
    if average == "weighted":
        return tuple((x * sup).sum().item() / sup.sum().item() for x in s)
    return tuple(x.mean().item() for x in s)
''',
    },
    "ch17-roc-auc": {
        "ties not averaged: only strictly greater scores count": '''
def roc_auc(y_true, scores):
    if y_true.ndim != 1 or y_true.shape != scores.shape:
        raise ValueError("shapes")
    if ((y_true != 0) & (y_true != 1)).any():
        raise ValueError("labels")
    pos, neg = scores[y_true == 1], scores[y_true == 0]
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("one class")
    return (pos[:, None] > neg[None, :]).double().mean().item()
''',
        "ranks from argsort (ties broken by position)": '''
def roc_auc(y_true, scores):
    if y_true.ndim != 1 or y_true.shape != scores.shape:
        raise ValueError("shapes")
    if ((y_true != 0) & (y_true != 1)).any():
        raise ValueError("labels")
    n_pos = int((y_true == 1).sum())
    n_neg = len(y_true) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("one class")
    ranks = torch.empty(len(scores), dtype=torch.float64, device=scores.device)
    ranks[scores.argsort(stable=True)] = torch.arange(
        1, len(scores) + 1, dtype=torch.float64, device=scores.device)
    return ((ranks[y_true == 1].sum() - n_pos * (n_pos + 1) / 2)
            / (n_pos * n_neg)).item()
''',
        "swapped roles: P(negative outranks positive) = 1 - AUC": '''
def roc_auc(y_true, scores):
    if y_true.ndim != 1 or y_true.shape != scores.shape:
        raise ValueError("shapes")
    if ((y_true != 0) & (y_true != 1)).any():
        raise ValueError("labels")
    pos, neg = scores[y_true == 1], scores[y_true == 0]
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("one class")
    d = neg[:, None] - pos[None, :]
    return ((d > 0).double() + 0.5 * (d == 0).double()).mean().item()
''',
        "one class gives nan instead of a ValueError": '''
def roc_auc(y_true, scores):
    if y_true.ndim != 1 or y_true.shape != scores.shape:
        raise ValueError("shapes")
    pos, neg = scores[y_true == 1], scores[y_true == 0]
    d = pos[:, None] - neg[None, :]
    return ((d > 0).double() + 0.5 * (d == 0).double()).mean().item()
''',
    },
    "ch17-regression-metrics": {
        "R^2 with the unbiased variance (torch.var) in the denominator": '''
def regression_metrics(y_true, y_pred):
    if y_true.ndim != 1 or y_pred.shape != y_true.shape or len(y_true) < 2:
        raise ValueError("shapes")
    err = y_pred - y_true
    mse = (err**2).mean().item()
    var = y_true.var().item()  # divides by N - 1
    r2 = 1 - mse / var if var > 0 else (1.0 if mse == 0 else 0.0)
    return {"mse": mse, "mae": err.abs().mean().item(), "rmse": math.sqrt(mse),
            "r2": r2}
''',
        "R^2 with swapped arguments (mean of the predictions)": '''
def regression_metrics(y_true, y_pred):
    if y_true.ndim != 1 or y_pred.shape != y_true.shape or len(y_true) < 2:
        raise ValueError("shapes")
    err = y_pred - y_true
    ss_res = (err**2).sum().item()
    ss_tot = ((y_pred - y_pred.mean()) ** 2).sum().item()
    r2 = 1 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)
    mse = ss_res / len(y_true)
    return {"mse": mse, "mae": err.abs().mean().item(), "rmse": math.sqrt(mse),
            "r2": r2}
''',
        "no shape check: (N, 1) against (N,) broadcasts to (N, N)": '''
def regression_metrics(y_true, y_pred):
    if len(y_true) < 2:
        raise ValueError("N < 2")
    err = y_pred - y_true
    ss_res = (err**2).sum().item() / err.numel() * len(y_true)
    ss_tot = ((y_true - y_true.mean()) ** 2).sum().item()
    r2 = 1 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)
    mse = (err**2).mean().item()
    return {"mse": mse, "mae": err.abs().mean().item(), "rmse": math.sqrt(mse),
            "r2": r2}
''',
        "RMSE as the mean of the absolute errors' square roots": '''
def regression_metrics(y_true, y_pred):
    if y_true.ndim != 1 or y_pred.shape != y_true.shape or len(y_true) < 2:
        raise ValueError("shapes")
    err = y_pred - y_true
    ss_res = (err**2).sum().item()
    ss_tot = ((y_true - y_true.mean()) ** 2).sum().item()
    r2 = 1 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)
    return {"mse": ss_res / len(y_true), "mae": err.abs().mean().item(),
            "rmse": err.abs().sqrt().mean().item(), "r2": r2}
''',
        "constant targets give -inf or nan instead of scikit-learn's 1.0/0.0": '''
def regression_metrics(y_true, y_pred):
    if y_true.ndim != 1 or y_pred.shape != y_true.shape or len(y_true) < 2:
        raise ValueError("shapes")
    err = y_pred - y_true
    ss_res = (err**2).sum()
    ss_tot = ((y_true - y_true.mean()) ** 2).sum()
    mse = (ss_res / len(y_true)).item()
    return {"mse": mse, "mae": err.abs().mean().item(), "rmse": math.sqrt(mse),
            "r2": (1 - ss_res / ss_tot).item()}
''',
        "calls the forbidden torch.nn.functional.mse_loss": '''
def regression_metrics(y_true, y_pred):
    if y_true.ndim != 1 or y_pred.shape != y_true.shape or len(y_true) < 2:
        raise ValueError("shapes")
    mse = F.mse_loss(y_pred, y_true).item()
    ss_tot = ((y_true - y_true.mean()) ** 2).mean().item()
    r2 = 1 - mse / ss_tot if ss_tot > 0 else (1.0 if mse == 0 else 0.0)
    return {"mse": mse, "mae": (y_pred - y_true).abs().mean().item(),
            "rmse": math.sqrt(mse), "r2": r2}
''',
    },
}

RIGHT = {
    "ch17-accuracy": {
        "rank of the true class counted by comparisons": '''
def accuracy(y_true, y_pred, k=1):
    n = y_true.shape[0] if y_true.ndim == 1 else 0
    if n == 0:
        raise ValueError("y_true must be a non-empty vector")
    if y_pred.dim() == 1:
        if k != 1 or y_pred.shape[0] != n:
            raise ValueError("labels need k = 1 and N entries")
        hits = (y_pred == y_true).sum().item()
    elif y_pred.dim() == 2:
        if y_pred.shape[0] != n or k < 1 or k > y_pred.shape[1]:
            raise ValueError("bad scores or k")
        true_score = y_pred.gather(1, y_true.unsqueeze(1))  # (N, 1)
        higher = (y_pred > true_score).sum(dim=1)  # classes ranked above it
        hits = (higher < k).sum().item()
    else:
        raise ValueError("y_pred must be 1-D or 2-D")
    return float(hits) / n
''',
        "sort the scores and look at the first k columns": '''
def accuracy(y_true, y_pred, k=1):
    if y_true.dim() != 1 or y_true.numel() == 0:
        raise ValueError("bad y_true")
    if y_pred.dim() == 2:
        if len(y_pred) != len(y_true) or not (0 < k <= y_pred.size(1)):
            raise ValueError("bad k")
        order = torch.argsort(y_pred, dim=1, descending=True)[:, :k]
        good = (order == y_true.view(-1, 1)).sum(dim=1) > 0
    elif y_pred.dim() == 1 and len(y_pred) == len(y_true) and k == 1:
        good = torch.eq(y_pred, y_true)
    else:
        raise ValueError("bad y_pred")
    return good.to(torch.float64).mean().item()
''',
    },
    "ch17-confusion-matrix": {
        "index_put_ with accumulate": '''
def confusion_matrix(y_true, y_pred, num_classes=None):
    if y_true.dim() != 1 or y_pred.shape != y_true.shape:
        raise ValueError("need two vectors of the same length")
    if num_classes is None:
        if y_true.numel() == 0:
            raise ValueError("no labels to infer the classes from")
        num_classes = 1 + max(int(y_true.max()), int(y_pred.max()))
    for y in (y_true, y_pred):
        if y.numel() and (int(y.min()) < 0 or int(y.max()) >= num_classes):
            raise ValueError("label out of range")
    M = torch.zeros((num_classes, num_classes), dtype=torch.int64,
                    device=y_true.device)
    M.index_put_((y_true, y_pred), torch.ones_like(y_true), accumulate=True)
    return M
''',
        "one_hot product in int64": '''
def confusion_matrix(y_true, y_pred, num_classes=None):
    if len(y_true.shape) != 1 or y_true.shape != y_pred.shape:
        raise ValueError("shapes")
    if num_classes is None:
        if len(y_true) == 0:
            raise ValueError("empty")
        num_classes = int(torch.cat([y_true, y_pred]).max()) + 1
    if ((y_true < 0) | (y_true >= num_classes)
            | (y_pred < 0) | (y_pred >= num_classes)).any():
        raise ValueError("labels")
    T = F.one_hot(y_true, num_classes)  # (N, C) int64
    P = F.one_hot(y_pred, num_classes)
    return (T[:, :, None] * P[:, None, :]).sum(dim=0)
''',
    },
    "ch17-precision-recall-f1": {
        "a Python loop over the classes": '''
def precision_recall_f1(y_true, y_pred, average="binary"):
    if average not in {"binary", "micro", "macro", "weighted"}:
        raise ValueError("average must be binary, micro, macro or weighted")
    if y_true.dim() != 1 or y_true.shape != y_pred.shape or y_true.numel() == 0:
        raise ValueError("need two non-empty vectors of the same length")
    labels = sorted(set(y_true.tolist()) | set(y_pred.tolist()))
    if average == "binary":
        if not set(labels) <= {0, 1}:
            raise ValueError("binary needs 0/1 labels")
        labels = [1]
    rows = []
    for c in labels:
        tp = int(((y_true == c) & (y_pred == c)).sum())
        fp = int(((y_true != c) & (y_pred == c)).sum())
        fn = int(((y_true == c) & (y_pred != c)).sum())
        rows.append((tp, fp, fn))
    def scores(tp, fp, fn):
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
        return p, r, f
    if average == "micro":
        return scores(*(sum(col) for col in zip(*rows)))
    per_class = [scores(*row) for row in rows]
    if average == "weighted":
        weights = [tp + fn for tp, _, fn in rows]
    else:
        weights = [1] * len(rows)
    total = sum(weights)
    return tuple(sum(w * s[i] for w, s in zip(weights, per_class)) / total
                 for i in range(3))
''',
        "from the confusion matrix of the labels that occur": '''
def precision_recall_f1(y_true, y_pred, average="binary"):
    if average not in ("binary", "micro", "macro", "weighted"):
        raise ValueError(average)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape or len(y_true) == 0:
        raise ValueError("shapes")
    labels, inverse = torch.unique(torch.cat([y_true, y_pred]), return_inverse=True)
    if average == "binary" and not all(v in (0, 1) for v in labels.tolist()):
        raise ValueError("binary needs 0/1 labels")
    K, n = len(labels), len(y_true)
    M = torch.zeros(K, K, dtype=torch.float64, device=y_true.device)
    M.index_put_((inverse[:n], inverse[n:]), torch.ones(n, dtype=torch.float64,
                 device=y_true.device), accumulate=True)
    tp, col, row = M.diagonal(), M.sum(dim=0), M.sum(dim=1)
    if average == "binary":
        keep = labels == 1
        tp, col, row = tp[keep], col[keep], row[keep]
        if len(tp) == 0:
            return 0.0, 0.0, 0.0
    if average == "micro":
        tp, col, row = tp.sum().reshape(1), col.sum().reshape(1), row.sum().reshape(1)
    p = torch.nan_to_num(tp / col)
    r = torch.nan_to_num(tp / row)
    f = torch.nan_to_num(2 * tp / (col + row))
    w = row / row.sum() if average == "weighted" else torch.ones_like(row) / len(row)
    return float((p * w).sum()), float((r * w).sum()), float((f * w).sum())
''',
    },
    "ch17-roc-auc": {
        "all pairs with broadcasting": '''
def roc_auc(y_true, scores):
    if y_true.dim() != 1 or scores.shape != y_true.shape:
        raise ValueError("shapes")
    if not bool(((y_true == 0) | (y_true == 1)).all()):
        raise ValueError("labels must be 0 or 1")
    pos = scores[y_true == 1].double()
    neg = scores[y_true == 0].double()
    if pos.numel() == 0 or neg.numel() == 0:
        raise ValueError("need both classes")
    diff = pos.unsqueeze(1) - neg.unsqueeze(0)  # (N1, N0)
    wins = (diff > 0).double().sum() + 0.5 * (diff == 0).double().sum()
    return (wins / (pos.numel() * neg.numel())).item()
''',
        "trapezoids under the ROC curve, one step per distinct threshold": '''
def roc_auc(y_true, scores):
    if y_true.ndim != 1 or y_true.shape != scores.shape:
        raise ValueError("shapes")
    if ((y_true != 0) & (y_true != 1)).any():
        raise ValueError("labels")
    n_pos = int(y_true.sum())
    n_neg = len(y_true) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("one class")
    order = torch.argsort(scores, descending=True)
    s, y = scores[order], y_true[order].double()
    tp, fp = y.cumsum(0), (1 - y).cumsum(0)
    last = torch.ones(len(s), dtype=torch.bool, device=s.device)
    last[:-1] = s[1:] != s[:-1]  # end of each group of ties
    tpr = torch.cat([tp.new_zeros(1), tp[last] / n_pos])
    fpr = torch.cat([fp.new_zeros(1), fp[last] / n_neg])
    return float(((fpr[1:] - fpr[:-1]) * (tpr[1:] + tpr[:-1]) / 2).sum())
''',
    },
    "ch17-regression-metrics": {
        "torch.mean and float64 throughout": '''
def regression_metrics(y_true, y_pred):
    if y_true.dim() != 1 or tuple(y_pred.shape) != tuple(y_true.shape):
        raise ValueError("y_true and y_pred must be vectors of the same shape")
    if y_true.numel() < 2:
        raise ValueError("need at least 2 examples")
    t, p = y_true.double(), y_pred.double()
    mse = torch.mean((t - p) ** 2)
    mae = torch.mean(torch.abs(t - p))
    denominator = torch.mean((t - torch.mean(t)) ** 2)
    if denominator == 0:
        r2 = 1.0 if bool(torch.all(t == p)) else 0.0
    else:
        r2 = float(1 - mse / denominator)
    return {"mse": float(mse), "mae": float(mae), "rmse": float(torch.sqrt(mse)),
            "r2": r2}
''',
        "R^2 from the variances (biased on both sides)": '''
def regression_metrics(y_true, y_pred):
    if y_true.ndim != 1 or y_pred.shape != y_true.shape or y_true.shape[0] < 2:
        raise ValueError("shapes")
    residual = y_true - y_pred
    mse = residual.pow(2).mean().item()
    total = y_true.var(unbiased=False).item()
    out = {"mse": mse, "mae": residual.abs().mean().item(), "rmse": mse ** 0.5}
    if total > 0:
        out["r2"] = 1.0 - mse / total
    else:
        out["r2"] = float(mse == 0)
    return out
''',
    },
}
