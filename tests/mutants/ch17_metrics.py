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
        "top-k from the k smallest scores": '''
def accuracy(y_true, y_pred, k=1):
    if y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError("y_true")
    if y_pred.ndim == 1 and y_pred.shape == y_true.shape and k == 1:
        return (y_pred == y_true).double().mean().item()
    if y_pred.ndim == 2 and len(y_pred) == len(y_true) and 1 <= k <= y_pred.shape[1]:
        top = y_pred.topk(k, dim=1, largest=False).indices
        return (top == y_true[:, None]).any(dim=1).double().mean().item()
    raise ValueError("shapes")
''',
        "mean over the (N, k) hits instead of any(): accuracy divided by k": '''
def accuracy(y_true, y_pred, k=1):
    if y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError("y_true")
    if y_pred.ndim == 1 and y_pred.shape == y_true.shape and k == 1:
        return (y_pred == y_true).double().mean().item()
    if y_pred.ndim == 2 and len(y_pred) == len(y_true) and 1 <= k <= y_pred.shape[1]:
        top = y_pred.topk(k, dim=1).indices
        return (top == y_true[:, None]).double().mean().item()
    raise ValueError("shapes")
''',
        "off by one: correct when at most k classes score higher": '''
def accuracy(y_true, y_pred, k=1):
    if y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError("y_true")
    if y_pred.ndim == 1 and y_pred.shape == y_true.shape and k == 1:
        return (y_pred == y_true).double().mean().item()
    if y_pred.ndim == 2 and len(y_pred) == len(y_true) and 1 <= k <= y_pred.shape[1]:
        higher = (y_pred > y_pred.gather(1, y_true[:, None])).sum(dim=1)
        return (higher <= k).double().mean().item()
    raise ValueError("shapes")
''',
        "shifts the scores in place for stability (modifies y_pred)": '''
def accuracy(y_true, y_pred, k=1):
    if y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError("y_true")
    if y_pred.ndim == 1 and y_pred.shape == y_true.shape and k == 1:
        return (y_pred == y_true).double().mean().item()
    if y_pred.ndim == 2 and len(y_pred) == len(y_true) and 1 <= k <= y_pred.shape[1]:
        y_pred -= y_pred.max(dim=1, keepdim=True).values
        top = y_pred.topk(k, dim=1).indices
        return (top == y_true[:, None]).any(dim=1).double().mean().item()
    raise ValueError("shapes")
''',
        "returns the accuracy as a tensor left on the input's device": '''
def accuracy(y_true, y_pred, k=1):
    if y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError("y_true")
    if y_pred.ndim == 1 and y_pred.shape == y_true.shape and k == 1:
        return (y_pred == y_true).sum() / len(y_true)
    if y_pred.ndim == 2 and len(y_pred) == len(y_true) and 1 <= k <= y_pred.shape[1]:
        top = y_pred.topk(k, dim=1).indices
        return (top == y_true[:, None]).any(dim=1).sum() / len(y_true)
    raise ValueError("shapes")
''',
    },
    "ch17-confusion-matrix": {
        "scikit-learn's confusion_matrix imported under another name": '''
from sklearn.metrics import confusion_matrix as sk_confusion


def confusion_matrix(y_true, y_pred, num_classes=None):
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ValueError("y_true and y_pred must be 1-D and of the same shape")
    if num_classes is None:
        num_classes = int(max(y_true.max(), y_pred.max())) + 1 if len(y_true) else 0
    if len(y_true) and (min(y_true.min(), y_pred.min()) < 0
                        or max(y_true.max(), y_pred.max()) >= num_classes):
        raise ValueError("a label is outside 0 .. num_classes - 1")
    if len(y_true) == 0:
        return torch.zeros(num_classes, num_classes, dtype=torch.int64,
                           device=y_true.device)
    counts = sk_confusion(y_true.cpu().numpy(), y_pred.cpu().numpy(),
                          labels=list(range(num_classes)))
    return torch.as_tensor(counts, dtype=torch.int64, device=y_true.device)
''',
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
        "num_classes ignored: C always inferred from the data": '''
def confusion_matrix(y_true, y_pred, num_classes=None):
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ValueError("shapes")
    if len(y_true) == 0:
        if num_classes is None:
            raise ValueError("empty")
        return torch.zeros(num_classes, num_classes, dtype=torch.int64,
                           device=y_true.device)
    if torch.cat([y_true, y_pred]).min() < 0:
        raise ValueError("labels")
    if num_classes is not None and torch.cat([y_true, y_pred]).max() >= num_classes:
        raise ValueError("labels")
    C = int(torch.cat([y_true, y_pred]).max()) + 1
    counts = torch.bincount(y_true * C + y_pred, minlength=C * C)
    return counts.reshape(C, C)
''',
        "C inferred from y_pred only": '''
def confusion_matrix(y_true, y_pred, num_classes=None):
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ValueError("shapes")
    if num_classes is None:
        if len(y_true) == 0:
            raise ValueError("empty")
        num_classes = int(y_pred.max()) + 1
    both = torch.cat([y_true, y_pred])
    if len(both) and (both.min() < 0 or both.max() >= num_classes):
        raise ValueError("labels")
    counts = torch.bincount(y_true * num_classes + y_pred,
                            minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)
''',
        "index built in place in y_true (modifies the input)": '''
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
    index = y_true.mul_(num_classes).add_(y_pred)
    counts = torch.bincount(index, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)
''',
        "range check on an empty input fails (max of no elements)": '''
def confusion_matrix(y_true, y_pred, num_classes=None):
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ValueError("shapes")
    both = torch.cat([y_true, y_pred])
    if num_classes is None:
        num_classes = int(both.max()) + 1
    if both.min() < 0 or both.max() >= num_classes:
        raise ValueError("labels")
    counts = torch.bincount(y_true * num_classes + y_pred,
                            minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)
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
        "classes from y_true only (a class only predicted is left out)": '''
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
        classes = torch.unique(y_true)
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
        "macro skips classes whose score is 0/0 (nanmean)": '''
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
        return tuple(torch.nansum(x * sup).item() / sup.sum().item() for x in s)
    return tuple(torch.nan_to_num(torch.nanmean(x)).item() for x in s)
''',
        "0/0 counted as 1 (zero_division=1)": '''
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
    div = lambda a, b: torch.where(b > 0, a / b.clamp(min=1), 1.0)  # noqa: E731
    s = (div(tp, pp), div(tp, sup), div(2 * tp, pp + sup))
    if average == "weighted":
        return tuple((x * sup).sum().item() / sup.sum().item() for x in s)
    return tuple(x.mean().item() for x in s)
''',
        "binary averages classes 0 and 1 (macro) instead of class 1 only": '''
def precision_recall_f1(y_true, y_pred, average="binary"):
    if average not in ("binary", "micro", "macro", "weighted"):
        raise ValueError(average)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape or len(y_true) == 0:
        raise ValueError("shapes")
    both = torch.cat([y_true, y_pred])
    if average == "binary" and ((both != 0) & (both != 1)).any():
        raise ValueError("binary")
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
        "binary checks the labels of y_true only": '''
def precision_recall_f1(y_true, y_pred, average="binary"):
    if average not in ("binary", "micro", "macro", "weighted"):
        raise ValueError(average)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape or len(y_true) == 0:
        raise ValueError("shapes")
    if average == "binary":
        if ((y_true != 0) & (y_true != 1)).any():
            raise ValueError("binary")
        classes = y_true.new_ones(1)
    else:
        classes = torch.unique(torch.cat([y_true, y_pred]))
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
        "ties counted as wins (>=)": '''
def roc_auc(y_true, scores):
    if y_true.ndim != 1 or y_true.shape != scores.shape:
        raise ValueError("shapes")
    if ((y_true != 0) & (y_true != 1)).any():
        raise ValueError("labels")
    pos, neg = scores[y_true == 1], scores[y_true == 0]
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("one class")
    return (pos[:, None] >= neg[None, :]).double().mean().item()
''',
        "trapezoids on the scores in the data's order (never sorted)": '''
def roc_auc(y_true, scores):
    if y_true.ndim != 1 or y_true.shape != scores.shape:
        raise ValueError("shapes")
    if ((y_true != 0) & (y_true != 1)).any():
        raise ValueError("labels")
    n_pos = int(y_true.sum())
    n_neg = len(y_true) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("one class")
    y = y_true.double()
    zero = y.new_zeros(1)
    tpr = torch.cat([zero, y.cumsum(0) / n_pos])
    fpr = torch.cat([zero, (1 - y).cumsum(0) / n_neg])
    return torch.trapezoid(tpr, fpr).item()
''',
        "0-based ranks in the 1-based Mann-Whitney formula": '''
def roc_auc(y_true, scores):
    if y_true.ndim != 1 or y_true.shape != scores.shape:
        raise ValueError("shapes")
    if ((y_true != 0) & (y_true != 1)).any():
        raise ValueError("labels")
    positive = y_true == 1
    n_pos = int(positive.sum())
    n_neg = len(y_true) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("one class")
    _, group, counts = torch.unique(scores, return_inverse=True, return_counts=True)
    first = (counts.cumsum(0) - counts).double()  # 0-based rank of each group
    rank = (first + (counts.double() - 1) / 2)[group]
    return (rank[positive].sum().item() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
''',
        "AUC of the hard predictions (scores thresholded at 0.5)": '''
def roc_auc(y_true, scores):
    if y_true.ndim != 1 or y_true.shape != scores.shape:
        raise ValueError("shapes")
    if ((y_true != 0) & (y_true != 1)).any():
        raise ValueError("labels")
    hard = (scores >= 0.5).double()
    pos, neg = hard[y_true == 1], hard[y_true == 0]
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("one class")
    d = pos[:, None] - neg[None, :]
    return ((d > 0).double() + 0.5 * (d == 0).double()).mean().item()
''',
        "sorts the scores in place (modifies the input)": '''
def roc_auc(y_true, scores):
    if y_true.ndim != 1 or y_true.shape != scores.shape:
        raise ValueError("shapes")
    if ((y_true != 0) & (y_true != 1)).any():
        raise ValueError("labels")
    n_pos = int(y_true.sum())
    n_neg = len(y_true) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("one class")
    order = scores.argsort()
    scores[:] = scores[order].clone()
    y = y_true[order]
    lo = torch.searchsorted(scores, scores, right=False).double()
    hi = torch.searchsorted(scores, scores, right=True).double()
    rank = (lo + hi + 1) / 2
    return (rank[y == 1].sum().item() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
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
        "RMSE and MSE swapped": '''
def regression_metrics(y_true, y_pred):
    if y_true.ndim != 1 or y_pred.shape != y_true.shape or len(y_true) < 2:
        raise ValueError("shapes")
    err = y_pred - y_true
    ss_res = (err**2).sum().item()
    ss_tot = ((y_true - y_true.mean()) ** 2).sum().item()
    r2 = 1 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)
    mse = ss_res / len(y_true)
    return {"mse": math.sqrt(mse), "mae": err.abs().mean().item(), "rmse": mse,
            "r2": r2}
''',
        "MAE as the mean absolute percentage error": '''
def regression_metrics(y_true, y_pred):
    if y_true.ndim != 1 or y_pred.shape != y_true.shape or len(y_true) < 2:
        raise ValueError("shapes")
    err = y_pred - y_true
    ss_res = (err**2).sum().item()
    ss_tot = ((y_true - y_true.mean()) ** 2).sum().item()
    r2 = 1 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)
    mse = ss_res / len(y_true)
    mape = (err.abs() / y_true.abs().clamp(min=1e-12)).mean().item()
    return {"mse": mse, "mae": mape, "rmse": math.sqrt(mse), "r2": r2}
''',
        "R^2 denominator not centred (sum of y_true squared)": '''
def regression_metrics(y_true, y_pred):
    if y_true.ndim != 1 or y_pred.shape != y_true.shape or len(y_true) < 2:
        raise ValueError("shapes")
    err = y_pred - y_true
    ss_res = (err**2).sum().item()
    ss_tot = (y_true**2).sum().item()
    r2 = 1 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)
    mse = ss_res / len(y_true)
    return {"mse": mse, "mae": err.abs().mean().item(), "rmse": math.sqrt(mse),
            "r2": r2}
''',
        "R^2 as the squared correlation of y_true and y_pred": '''
def regression_metrics(y_true, y_pred):
    if y_true.ndim != 1 or y_pred.shape != y_true.shape or len(y_true) < 2:
        raise ValueError("shapes")
    err = y_pred - y_true
    mse = (err**2).mean().item()
    t, p = y_true - y_true.mean(), y_pred - y_pred.mean()
    denom = ((t**2).sum() * (p**2).sum()).sqrt().item()
    r = (t * p).sum().item() / denom if denom > 0 else 0.0
    r2 = r * r if denom > 0 else (1.0 if mse == 0 else 0.0)
    return {"mse": mse, "mae": err.abs().mean().item(), "rmse": math.sqrt(mse),
            "r2": r2}
''',
        "residuals computed in place in y_pred (modifies the input)": '''
def regression_metrics(y_true, y_pred):
    if y_true.ndim != 1 or y_pred.shape != y_true.shape or len(y_true) < 2:
        raise ValueError("shapes")
    err = y_pred.sub_(y_true)
    ss_res = (err**2).sum().item()
    ss_tot = ((y_true - y_true.mean()) ** 2).sum().item()
    r2 = 1 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)
    mse = ss_res / len(y_true)
    return {"mse": mse, "mae": err.abs().mean().item(), "rmse": math.sqrt(mse),
            "r2": r2}
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
        "a Python loop over the examples, in float64": '''
def accuracy(y_true, y_pred, k=1):
    if len(y_true.shape) != 1 or y_true.shape[0] < 1:
        raise ValueError("y_true must be a non-empty vector")
    n = y_true.shape[0]
    if len(y_pred.shape) == 1:
        if k != 1 or y_pred.shape[0] != n:
            raise ValueError("labels need k = 1 and N of them")
        rows = [[float(c)] for c in y_pred.tolist()]
        as_labels = True
    elif len(y_pred.shape) == 2:
        if y_pred.shape[0] != n or not 1 <= k <= y_pred.shape[1]:
            raise ValueError("bad scores or k")
        rows = y_pred.double().tolist()
        as_labels = False
    else:
        raise ValueError("y_pred must be 1-D or 2-D")
    hits = 0
    for row, label in zip(rows, y_true.tolist()):
        if as_labels:
            hits += int(row[0]) == label
        else:
            hits += sum(s > row[label] for s in row) < k
    return hits / n
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
        "unique pairs with their counts, scattered into a matrix": '''
def confusion_matrix(y_true, y_pred, num_classes=None):
    if y_true.dim() != 1 or y_pred.dim() != 1 or len(y_true) != len(y_pred):
        raise ValueError("need two 1-D tensors of the same length")
    n = len(y_true)
    if num_classes is None:
        if n == 0:
            raise ValueError("cannot infer C")
        num_classes = int(torch.stack([y_true, y_pred]).max().item()) + 1
    if n and (torch.stack([y_true, y_pred]).lt(0).any()
              or torch.stack([y_true, y_pred]).ge(num_classes).any()):
        raise ValueError("label out of range")
    M = y_true.new_zeros((num_classes, num_classes))
    if n:
        pairs, counts = torch.unique(torch.stack([y_true, y_pred], dim=1), dim=0,
                                     return_counts=True)
        M[pairs[:, 0], pairs[:, 1]] = counts
    return M
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
        "numpy on the CPU, counts from np.unique": '''
def precision_recall_f1(y_true, y_pred, average="binary"):
    import numpy as np
    if average not in ("binary", "micro", "macro", "weighted"):
        raise ValueError(f"bad average {average}")
    if y_true.ndim != 1 or y_pred.shape != y_true.shape or y_true.shape[0] == 0:
        raise ValueError("need two non-empty vectors of one shape")
    t, p = y_true.cpu().numpy(), y_pred.cpu().numpy()
    labels = np.union1d(t, p)
    if average == "binary":
        if not np.isin(labels, [0, 1]).all():
            raise ValueError("binary: labels 0 and 1 only")
        labels = np.array([1])
    tp = np.array([np.sum((t == c) & (p == c)) for c in labels], dtype=np.float64)
    n_pred = np.array([np.sum(p == c) for c in labels], dtype=np.float64)
    n_true = np.array([np.sum(t == c) for c in labels], dtype=np.float64)
    if average == "micro":
        tp, n_pred, n_true = tp.sum(keepdims=True), n_pred.sum(keepdims=True), \\
            n_true.sum(keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        prec = np.where(n_pred > 0, tp / n_pred, 0.0)
        rec = np.where(n_true > 0, tp / n_true, 0.0)
        f1 = np.where(n_pred + n_true > 0, 2 * tp / (n_pred + n_true), 0.0)
    w = n_true if average == "weighted" else np.ones_like(n_true)
    if w.sum() == 0:
        return 0.0, 0.0, 0.0
    return tuple(float(np.average(v, weights=w)) for v in (prec, rec, f1))
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
        "averaged ranks from searchsorted on the sorted scores": '''
def roc_auc(y_true, scores):
    if y_true.dim() != 1 or scores.dim() != 1 or len(y_true) != len(scores):
        raise ValueError("need two vectors of the same length")
    if not bool(((y_true == 0) | (y_true == 1)).all()):
        raise ValueError("labels must be 0 or 1")
    n_pos = int((y_true == 1).sum())
    n_neg = int((y_true == 0).sum())
    if n_pos * n_neg == 0:
        raise ValueError("both classes needed")
    ordered = torch.sort(scores.double()).values
    below = torch.searchsorted(ordered, scores.double(), right=False)  # s_j < s_i
    not_above = torch.searchsorted(ordered, scores.double(), right=True)
    rank = (below + not_above + 1).double() / 2  # mean of ranks below+1..not_above
    u = rank[y_true == 1].sum() - n_pos * (n_pos + 1) / 2
    return float(u) / (n_pos * n_neg)
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
        "RMSE from vector_norm, sums in float64, R^2 from the variance identity": '''
def regression_metrics(y_true, y_pred):
    if y_true.dim() != 1:
        raise ValueError("y_true must be 1-D")
    if y_pred.shape != y_true.shape:
        raise ValueError("y_pred must have the shape of y_true")
    n = y_true.shape[0]
    if n < 2:
        raise ValueError("need N >= 2")
    t, p = y_true.to(torch.float64), y_pred.to(torch.float64)
    residual = t - p
    rmse = float(torch.linalg.vector_norm(residual)) / math.sqrt(n)
    mae = float(torch.linalg.vector_norm(residual, ord=1)) / n
    ss_res = float(residual @ residual)
    centred = t - t.sum() / n
    ss_tot = float(centred @ centred)
    if ss_tot == 0:
        r2 = 1.0 if ss_res == 0 else 0.0
    else:
        r2 = 1.0 - ss_res / ss_tot
    return {"r2": r2, "rmse": rmse, "mae": mae, "mse": ss_res / n}
''',
    },
}
