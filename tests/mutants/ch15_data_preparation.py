"""ch15: planted wrong answers (must lose points) and right answers written
differently (must pass)."""

_DATASET_INIT = '''
class ArrayDataset(Dataset):
    def __init__(self, *tensors, transform=None):
        if not tensors:
            raise ValueError("no tensors")
        if len({t.shape[0] for t in tensors}) != 1:
            raise ValueError("different lengths")
        self.tensors = tensors
        self.transform = transform

    def __len__(self):
        return self.tensors[0].shape[0]
'''

WRONG = {
    "ch15-array-dataset": {
        "transform applied to the labels too": _DATASET_INIT + '''
    def __getitem__(self, index):
        items = tuple(t[index] for t in self.tensors)
        if self.transform is not None:
            items = tuple(self.transform(v) for v in items)
        return items
''',
        "transform applied once in __init__ (a frozen augmentation)": '''
class ArrayDataset(Dataset):
    def __init__(self, *tensors, transform=None):
        if not tensors:
            raise ValueError("no tensors")
        if len({t.shape[0] for t in tensors}) != 1:
            raise ValueError("different lengths")
        first = tensors[0]
        if transform is not None:
            first = torch.stack([transform(x) for x in first])
        self.tensors = (first, *tensors[1:])

    def __len__(self):
        return self.tensors[0].shape[0]

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)
''',
        "len is the number of tensors": _DATASET_INIT.replace(
            "return self.tensors[0].shape[0]", "return len(self.tensors)") + '''
    def __getitem__(self, index):
        x, *rest = (t[index] for t in self.tensors)
        if self.transform is not None:
            x = self.transform(x)
        return (x, *rest)
''',
        "no check of the first dimensions (zip truncates)": '''
class ArrayDataset(Dataset):
    def __init__(self, *tensors, transform=None):
        if not tensors:
            raise ValueError("no tensors")
        self.tensors = tensors
        self.transform = transform

    def __len__(self):
        return min(t.shape[0] for t in self.tensors)

    def __getitem__(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        x, *rest = (t[index] for t in self.tensors)
        if self.transform is not None:
            x = self.transform(x)
        return (x, *rest)
''',
        "negative indices rejected": _DATASET_INIT + '''
    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(index)
        x, *rest = (t[index] for t in self.tensors)
        if self.transform is not None:
            x = self.transform(x)
        return (x, *rest)
''',
        "returns only the input when there is a transform": _DATASET_INIT + '''
    def __getitem__(self, index):
        if self.transform is not None:
            return (self.transform(self.tensors[0][index]),)
        return tuple(t[index] for t in self.tensors)
''',
        "subclasses the forbidden TensorDataset": '''
class ArrayDataset(torch.utils.data.TensorDataset):
    def __init__(self, *tensors, transform=None):
        if not tensors:
            raise ValueError("no tensors")
        super().__init__(*tensors)
        self.transform = transform

    def __getitem__(self, index):
        x, *rest = super().__getitem__(index)
        if self.transform is not None:
            x = self.transform(x)
        return (x, *rest)
''',
    },
    "ch15-pad-collate": {
        "lengths counted from the values (a real 0 is taken for padding)": '''
def pad_collate(batch, padding_value=0):
    if len(batch) == 0:
        raise ValueError("empty")
    features = batch[0].shape[1:]
    if any(s.dim() == 0 or s.shape[1:] != features for s in batch):
        raise ValueError("shapes")
    longest = max(s.shape[0] for s in batch)
    padded = batch[0].new_full((len(batch), longest, *features), padding_value)
    for i, s in enumerate(batch):
        padded[i, :len(s)] = s
    real = (padded != padding_value).reshape(len(batch), longest, -1).any(dim=-1)
    return padded, real.sum(dim=1)
''',
        "padding at the front": '''
def pad_collate(batch, padding_value=0):
    if len(batch) == 0:
        raise ValueError("empty")
    features = batch[0].shape[1:]
    if any(s.dim() == 0 or s.shape[1:] != features for s in batch):
        raise ValueError("shapes")
    longest = max(s.shape[0] for s in batch)
    padded = batch[0].new_full((len(batch), longest, *features), padding_value)
    for i, s in enumerate(batch):
        padded[i, longest - len(s):] = s
    lengths = torch.tensor([len(s) for s in batch], device=batch[0].device)
    return padded, lengths
''',
        "ignores padding_value (always 0)": '''
def pad_collate(batch, padding_value=0):
    if len(batch) == 0:
        raise ValueError("empty")
    features = batch[0].shape[1:]
    if any(s.dim() == 0 or s.shape[1:] != features for s in batch):
        raise ValueError("shapes")
    longest = max(s.shape[0] for s in batch)
    padded = batch[0].new_zeros((len(batch), longest, *features))
    for i, s in enumerate(batch):
        padded[i, :len(s)] = s
    lengths = torch.tensor([len(s) for s in batch], device=batch[0].device)
    return padded, lengths
''',
        "lengths as float32 on the CPU": '''
def pad_collate(batch, padding_value=0):
    if len(batch) == 0:
        raise ValueError("empty")
    features = batch[0].shape[1:]
    if any(s.dim() == 0 or s.shape[1:] != features for s in batch):
        raise ValueError("shapes")
    longest = max(s.shape[0] for s in batch)
    padded = batch[0].new_full((len(batch), longest, *features), padding_value)
    for i, s in enumerate(batch):
        padded[i, :len(s)] = s
    return padded, torch.tensor([float(len(s)) for s in batch])
''',
        "calls the forbidden pad_sequence": '''
def pad_collate(batch, padding_value=0):
    if len(batch) == 0:
        raise ValueError("empty")
    padded = torch.nn.utils.rnn.pad_sequence(list(batch), batch_first=True,
                                             padding_value=padding_value)
    lengths = torch.tensor([len(s) for s in batch], device=batch[0].device)
    return padded, lengths
''',
        "no check of the trailing shapes": '''
def pad_collate(batch, padding_value=0):
    if len(batch) == 0:
        raise ValueError("empty")
    longest = max(s.shape[0] for s in batch)
    padded = batch[0].new_full((len(batch), longest, *batch[0].shape[1:]),
                               padding_value)
    for i, s in enumerate(batch):
        padded[i, :len(s)] = s
    lengths = torch.tensor([len(s) for s in batch], device=batch[0].device)
    return padded, lengths
''',
    },
    "ch15-fit-zscore": {
        "unbiased standard deviation (torch.std's default, divisor N - 1)": '''
def fit_zscore(X):
    if X.dim() != 2 or X.shape[0] == 0:
        raise ValueError("shape")
    std = X.std(dim=0)
    return X.mean(dim=0), torch.where(std == 0, torch.ones_like(std), std)
''',
        "no rule for constant features (scale 0)": '''
def fit_zscore(X):
    if X.dim() != 2 or X.shape[0] == 0:
        raise ValueError("shape")
    return X.mean(dim=0), X.std(dim=0, correction=0)
''',
        "a small epsilon instead of the rule": '''
def fit_zscore(X):
    if X.dim() != 2 or X.shape[0] == 0:
        raise ValueError("shape")
    return X.mean(dim=0), X.std(dim=0, correction=0) + 1e-8
''',
        "statistics over the wrong axis": '''
def fit_zscore(X):
    if X.dim() != 2 or X.shape[0] == 0:
        raise ValueError("shape")
    std = X.std(dim=1, correction=0)
    return X.mean(dim=1), torch.where(std == 0, torch.ones_like(std), std)
''',
        "unbiased std, with a special case for N = 1": '''
def fit_zscore(X):
    if X.dim() != 2 or X.shape[0] == 0:
        raise ValueError("shape")
    if X.shape[0] == 1:
        return X[0].clone(), torch.ones_like(X[0])
    std = X.std(dim=0)
    return X.mean(dim=0), torch.where(std == 0, torch.ones_like(std), std)
''',
        "returns the variance instead of the standard deviation": '''
def fit_zscore(X):
    if X.dim() != 2 or X.shape[0] == 0:
        raise ValueError("shape")
    var = X.var(dim=0, correction=0)
    return X.mean(dim=0), torch.where(var == 0, torch.ones_like(var), var)
''',
    },
    "ch15-apply-zscore": {
        "refits the statistics on its input (the evaluation-time leak)": '''
def apply_zscore(X, mean, scale, inverse=False):
    if X.shape[-1] != mean.shape[0]:
        raise ValueError("features")
    if inverse:
        return X * scale + mean
    rows = X.reshape(-1, X.shape[-1])
    std = rows.std(dim=0, correction=0)
    std = torch.where(std == 0, torch.ones_like(std), std)
    return (X - rows.mean(dim=0)) / std
''',
        "operator precedence: X - mean / scale": '''
def apply_zscore(X, mean, scale, inverse=False):
    if X.shape[-1] != mean.shape[0]:
        raise ValueError("features")
    if inverse:
        return X * scale + mean
    return X - mean / scale
''',
        "inverse adds before multiplying": '''
def apply_zscore(X, mean, scale, inverse=False):
    if X.shape[-1] != mean.shape[0]:
        raise ValueError("features")
    if inverse:
        return (X + mean) * scale
    return (X - mean) / scale
''',
        "ignores inverse": '''
def apply_zscore(X, mean, scale, inverse=False):
    if X.shape[-1] != mean.shape[0]:
        raise ValueError("features")
    return (X - mean) / scale
''',
        "modifies X in place": '''
def apply_zscore(X, mean, scale, inverse=False):
    if X.shape[-1] != mean.shape[0]:
        raise ValueError("features")
    if inverse:
        return X.mul_(scale).add_(mean)
    return X.sub_(mean).div_(scale)
''',
        "no ValueError (broadcasting hides a mismatch)": '''
def apply_zscore(X, mean, scale, inverse=False):
    if inverse:
        return X * scale + mean
    return (X - mean) / scale
''',
    },
    "ch15-minmax-scale": {
        "the epsilon trick: divides by max - min + 1e-8": '''
def minmax_scale(X, reference=None, feature_range=(0.0, 1.0)):
    a, b = feature_range
    if a >= b:
        raise ValueError("range")
    ref = X if reference is None else reference
    if ref.shape[0] == 0 or ref.shape[1] != X.shape[1]:
        raise ValueError("reference")
    low, high = ref.min(dim=0).values, ref.max(dim=0).values
    return a + (b - a) * (X - low) / (high - low + 1e-8)
''',
        "statistics from X, the reference ignored (a leak)": '''
def minmax_scale(X, reference=None, feature_range=(0.0, 1.0)):
    a, b = feature_range
    if a >= b:
        raise ValueError("range")
    ref = X if reference is None else reference
    if ref.shape[0] == 0 or ref.shape[1] != X.shape[1]:
        raise ValueError("reference")
    low, high = X.min(dim=0).values, X.max(dim=0).values
    span = torch.where(high > low, high - low, torch.ones_like(high))
    return a + (b - a) * (X - low) / span
''',
        "ignores feature_range": '''
def minmax_scale(X, reference=None, feature_range=(0.0, 1.0)):
    a, b = feature_range
    if a >= b:
        raise ValueError("range")
    ref = X if reference is None else reference
    if ref.shape[0] == 0 or ref.shape[1] != X.shape[1]:
        raise ValueError("reference")
    low, high = ref.min(dim=0).values, ref.max(dim=0).values
    span = torch.where(high > low, high - low, torch.ones_like(high))
    return (X - low) / span
''',
        "one minimum and maximum over all features": '''
def minmax_scale(X, reference=None, feature_range=(0.0, 1.0)):
    a, b = feature_range
    if a >= b:
        raise ValueError("range")
    ref = X if reference is None else reference
    if ref.shape[0] == 0 or ref.shape[1] != X.shape[1]:
        raise ValueError("reference")
    low, high = ref.min(), ref.max()
    return a + (b - a) * (X - low) / (high - low)
''',
        "clips to feature_range": '''
def minmax_scale(X, reference=None, feature_range=(0.0, 1.0)):
    a, b = feature_range
    if a >= b:
        raise ValueError("range")
    ref = X if reference is None else reference
    if ref.shape[0] == 0 or ref.shape[1] != X.shape[1]:
        raise ValueError("reference")
    low, high = ref.min(dim=0).values, ref.max(dim=0).values
    span = torch.where(high > low, high - low, torch.ones_like(high))
    return (a + (b - a) * (X - low) / span).clamp(a, b)
''',
        "a constant feature maps to a, whatever the value": '''
def minmax_scale(X, reference=None, feature_range=(0.0, 1.0)):
    a, b = feature_range
    if a >= b:
        raise ValueError("range")
    ref = X if reference is None else reference
    if ref.shape[0] == 0 or ref.shape[1] != X.shape[1]:
        raise ValueError("reference")
    low, high = ref.min(dim=0).values, ref.max(dim=0).values
    out = a + (b - a) * (X - low) / (high - low)
    return torch.where(high > low, out, torch.full_like(out, a))
''',
    },
    "ch15-robust-scale": {
        "torch.median: the lower middle value for an even count": '''
def robust_scale(X, reference=None):
    ref = X if reference is None else reference
    if ref.shape[0] == 0 or ref.shape[1] != X.shape[1]:
        raise ValueError("reference")
    median = ref.median(dim=0).values
    iqr = torch.quantile(ref, 0.75, dim=0) - torch.quantile(ref, 0.25, dim=0)
    return (X - median) / torch.where(iqr == 0, torch.ones_like(iqr), iqr)
''',
        "quartiles with 'nearest' instead of linear interpolation": '''
def robust_scale(X, reference=None):
    ref = X if reference is None else reference
    if ref.shape[0] == 0 or ref.shape[1] != X.shape[1]:
        raise ValueError("reference")
    median = torch.quantile(ref, 0.5, dim=0)
    iqr = (torch.quantile(ref, 0.75, dim=0, interpolation="nearest")
           - torch.quantile(ref, 0.25, dim=0, interpolation="nearest"))
    return (X - median) / torch.where(iqr == 0, torch.ones_like(iqr), iqr)
''',
        "the standard deviation instead of the IQR": '''
def robust_scale(X, reference=None):
    ref = X if reference is None else reference
    if ref.shape[0] == 0 or ref.shape[1] != X.shape[1]:
        raise ValueError("reference")
    median = torch.quantile(ref, 0.5, dim=0)
    std = ref.std(dim=0, correction=0)
    return (X - median) / torch.where(std == 0, torch.ones_like(std), std)
''',
        "the epsilon trick: divides by IQR + 1e-8": '''
def robust_scale(X, reference=None):
    ref = X if reference is None else reference
    if ref.shape[0] == 0 or ref.shape[1] != X.shape[1]:
        raise ValueError("reference")
    median = torch.quantile(ref, 0.5, dim=0)
    iqr = torch.quantile(ref, 0.75, dim=0) - torch.quantile(ref, 0.25, dim=0)
    return (X - median) / (iqr + 1e-8)
''',
        "statistics from X, the reference ignored (a leak)": '''
def robust_scale(X, reference=None):
    ref = X
    if ref.shape[0] == 0:
        raise ValueError("reference")
    if reference is not None and reference.shape[1] != X.shape[1]:
        raise ValueError("features")
    median = torch.quantile(ref, 0.5, dim=0)
    iqr = torch.quantile(ref, 0.75, dim=0) - torch.quantile(ref, 0.25, dim=0)
    return (X - median) / torch.where(iqr == 0, torch.ones_like(iqr), iqr)
''',
        "centred on the mean": '''
def robust_scale(X, reference=None):
    ref = X if reference is None else reference
    if ref.shape[0] == 0 or ref.shape[1] != X.shape[1]:
        raise ValueError("reference")
    iqr = torch.quantile(ref, 0.75, dim=0) - torch.quantile(ref, 0.25, dim=0)
    return (X - ref.mean(dim=0)) / torch.where(iqr == 0, torch.ones_like(iqr), iqr)
''',
    },
}

RIGHT = {
    "ch15-array-dataset": {
        "a list of tensors, explicit index normalisation, an identity transform": '''
class ArrayDataset(Dataset):
    def __init__(self, *tensors, transform=None):
        if len(tensors) == 0:
            raise ValueError("give at least one tensor")
        n = len(tensors[0])
        for t in tensors[1:]:
            if len(t) != n:
                raise ValueError(f"length {len(t)} differs from {n}")
        self._data = list(tensors)
        self._n = n
        self._transform = transform if transform is not None else (lambda v: v)

    def __len__(self):
        return int(self._n)

    def __getitem__(self, index):
        if index < 0:
            index += self._n
        if index < 0 or index >= self._n:
            raise IndexError("dataset index out of range")
        values = [t[index] for t in self._data]
        values[0] = self._transform(values[0])
        return tuple(values)
''',
        "relies on tensor indexing for IndexError": '''
class ArrayDataset(Dataset):
    def __init__(self, *tensors, transform=None):
        if not tensors or any(t.size(0) != tensors[0].size(0) for t in tensors):
            raise ValueError("tensors must be given and share their first dimension")
        self.inputs, self.others = tensors[0], tensors[1:]
        self.transform = transform

    def __len__(self):
        return self.inputs.size(0)

    def __getitem__(self, index):
        x = self.inputs[index]
        if self.transform:
            x = self.transform(x)
        return (x,) + tuple(t[index] for t in self.others)
''',
    },
    "ch15-pad-collate": {
        "F.pad each sequence, then torch.stack": '''
def pad_collate(batch, padding_value=0):
    if not len(batch):
        raise ValueError("empty batch")
    if any(s.ndim == 0 for s in batch):
        raise ValueError("0-d tensor")
    if len({tuple(s.shape[1:]) for s in batch}) != 1:
        raise ValueError("trailing shapes differ")
    longest = max(len(s) for s in batch)
    extra = [0, 0] * (batch[0].ndim - 1)
    rows = [F.pad(s, extra + [0, longest - len(s)], value=padding_value)
            for s in batch]
    lengths = torch.as_tensor([len(s) for s in batch], dtype=torch.long,
                              device=batch[0].device)
    return torch.stack(rows), lengths
''',
        "torch.cat with a block of padding per sequence": '''
def pad_collate(batch, padding_value=0):
    if len(batch) < 1:
        raise ValueError("empty batch")
    first = batch[0]
    if first.dim() < 1:
        raise ValueError("0-d tensor")
    for s in batch:
        if s.dim() < 1 or s.shape[1:] != first.shape[1:]:
            raise ValueError("trailing shapes differ")
    L = max(int(s.shape[0]) for s in batch)
    rows = []
    for s in batch:
        pad = torch.full((L - s.shape[0], *s.shape[1:]), padding_value,
                         dtype=s.dtype, device=s.device)
        rows.append(torch.cat([s, pad], dim=0))
    lengths = torch.zeros(len(batch), dtype=torch.int64, device=first.device)
    for i, s in enumerate(batch):
        lengths[i] = s.shape[0]
    return torch.stack(rows, dim=0), lengths
''',
    },
    "ch15-fit-zscore": {
        "sums by hand": '''
def fit_zscore(X):
    if X.ndim != 2:
        raise ValueError("X must be 2-D")
    n = X.shape[0]
    if n == 0:
        raise ValueError("X has no rows")
    mean = X.sum(dim=0) / n
    std = (((X - mean) ** 2).sum(dim=0) / n).sqrt()
    scale = std.clone()
    scale[X.max(dim=0).values == X.min(dim=0).values] = 1
    return mean, scale
''',
        "torch.var_mean with correction=0": '''
def fit_zscore(X):
    if len(X.shape) != 2 or len(X) == 0:
        raise ValueError("need a non-empty (N, D) matrix")
    var, mean = torch.var_mean(X, dim=0, correction=0)
    scale = var.sqrt().masked_fill(var == 0, 1.0)
    return mean, scale
''',
    },
    "ch15-apply-zscore": {
        "multiply by the reciprocal, addcmul for the inverse": '''
def apply_zscore(X, mean, scale, inverse=False):
    if X.size(-1) != mean.numel():
        raise ValueError("wrong number of features")
    if inverse:
        return torch.addcmul(mean, X, scale)
    return (X - mean) * scale.reciprocal()
''',
        "reshape to rows and back": '''
def apply_zscore(X, mean, scale, inverse=False):
    if X.shape[-1] != len(mean):
        raise ValueError("feature count mismatch")
    rows = X.reshape(-1, X.shape[-1])
    if inverse:
        out = rows * scale[None] + mean[None]
    else:
        out = (rows - mean[None]) / scale[None]
    return out.reshape(X.shape)
''',
    },
    "ch15-minmax-scale": {
        "aminmax and an affine map": '''
def minmax_scale(X, reference=None, feature_range=(0.0, 1.0)):
    lo, hi = feature_range
    if lo >= hi:
        raise ValueError("feature_range must be increasing")
    if reference is None:
        reference = X
    if len(reference) == 0:
        raise ValueError("empty reference")
    if reference.shape[-1] != X.shape[-1]:
        raise ValueError("feature counts differ")
    m, M = torch.aminmax(reference, dim=0)
    span = M - m
    span = span.masked_fill(span == 0, 1.0)
    slope = (hi - lo) / span
    return X * slope + (lo - m * slope)
''',
        "sorted columns": '''
def minmax_scale(X, reference=None, feature_range=(0.0, 1.0)):
    a, b = float(feature_range[0]), float(feature_range[1])
    if not b > a:
        raise ValueError("need a < b")
    ref = X if reference is None else reference
    if ref.shape[0] < 1 or ref.shape[1] != X.shape[1]:
        raise ValueError("bad reference")
    s = ref.sort(dim=0).values
    low, high = s[0], s[-1]
    span = high - low
    span = torch.where(span == 0, torch.ones_like(span), span)
    return (X - low) / span * (b - a) + a
''',
    },
    "ch15-robust-scale": {
        "sort and interpolate by hand": '''
def robust_scale(X, reference=None):
    ref = X if reference is None else reference
    if ref.shape[0] == 0:
        raise ValueError("empty reference")
    if ref.shape[1] != X.shape[1]:
        raise ValueError("feature counts differ")
    s = ref.sort(dim=0).values
    n = s.shape[0]

    def q(level):
        h = level * (n - 1)
        lo = int(h)
        hi = min(lo + 1, n - 1)
        return s[lo] + (h - lo) * (s[hi] - s[lo])

    iqr = q(0.75) - q(0.25)
    iqr = torch.where(iqr == 0, torch.ones_like(iqr), iqr)
    return (X - q(0.5)) / iqr
''',
        "nanquantile, one call per level": '''
def robust_scale(X, reference=None):
    if reference is None:
        reference = X
    if len(reference) == 0 or reference.shape[-1] != X.shape[-1]:
        raise ValueError("bad reference")
    med = torch.nanquantile(reference, 0.5, dim=0)
    q1 = torch.nanquantile(reference, 0.25, dim=0)
    q3 = torch.nanquantile(reference, 0.75, dim=0)
    spread = (q3 - q1).masked_fill(q3 == q1, 1.0)
    return (X - med) / spread
''',
    },
}

_FLIP_HEAD = '''
def random_flip(images, p, generator):
    if not 0.0 <= p <= 1.0:
        raise ValueError("p")
'''

WRONG["ch15-random-flip"] = {
    "flips the height (upside down)": _FLIP_HEAD + '''
    coins = torch.rand(images.shape[0], generator=generator) < p
    coins = coins.to(images.device)[:, None, None, None]
    return torch.where(coins, images.flip(-2), images)
''',
    "one coin for the whole batch": _FLIP_HEAD + '''
    if torch.rand((), generator=generator).item() < p:
        return images.flip(-1)
    return images.clone()
''',
    "flips with probability 1 - p": _FLIP_HEAD + '''
    coins = torch.rand(images.shape[0], generator=generator) > p
    coins = coins.to(images.device)[:, None, None, None]
    return torch.where(coins, images.flip(-1), images)
''',
    "the global generator instead of the argument": _FLIP_HEAD + '''
    coins = torch.rand(images.shape[0]) < p
    coins = coins.to(images.device)[:, None, None, None]
    return torch.where(coins, images.flip(-1), images)
''',
    "one coin per channel": _FLIP_HEAD + '''
    coins = torch.rand(images.shape[:2], generator=generator) < p
    coins = coins.to(images.device)[:, :, None, None]
    return torch.where(coins, images.flip(-1), images)
''',
    "flips in place": _FLIP_HEAD + '''
    coins = (torch.rand(images.shape[0], generator=generator) < p).tolist()
    for n, coin in enumerate(coins):
        if coin:
            images[n] = images[n].flip(-1)
    return images
''',
    "no ValueError for p outside [0, 1]": '''
def random_flip(images, p, generator):
    coins = torch.rand(images.shape[0], generator=generator) < p
    coins = coins.to(images.device)[:, None, None, None]
    return torch.where(coins, images.flip(-1), images)
''',
}

RIGHT["ch15-random-flip"] = {
    "torch.bernoulli and a loop over the flipped indices": '''
def random_flip(images, p, generator):
    if p < 0 or p > 1:
        raise ValueError("p must be a probability")
    probs = torch.full((images.shape[0],), float(p), dtype=torch.float64)
    coins = torch.bernoulli(probs, generator=generator).bool()
    out = images.clone()
    for n in torch.nonzero(coins).flatten().tolist():
        out[n] = images[n].flip(dims=(-1,))
    return out
''',
    "index arithmetic on the width": '''
def random_flip(images, p, generator):
    if not (0 <= p <= 1):
        raise ValueError("p outside [0, 1]")
    n, c, h, w = images.shape
    flip = (torch.rand(n, generator=generator) < p).to(images.device)
    cols = torch.arange(w, device=images.device)
    index = torch.where(flip[:, None], w - 1 - cols, cols)  # (N, W)
    index = index[:, None, None, :].expand(n, c, h, w)
    return images.gather(-1, index)
''',
}


# Added in review: more classic wrong answers (each fails a visible test) and
# right answers written differently.
_MORE_WRONG = {
    'ch15-fit-zscore': {
        'two-pass population std, exact test std == 0': '''
def fit_zscore(X):
    if X.dim() != 2 or X.shape[0] == 0:
        raise ValueError("shape")
    mean = X.mean(dim=0)
    std = ((X - mean) ** 2).mean(dim=0).sqrt()
    return mean, torch.where(std == 0, torch.ones_like(std), std)
''',
        'constant detected from the first two rows only': '''
def fit_zscore(X):
    if X.dim() != 2 or X.shape[0] == 0:
        raise ValueError("shape")
    std = X.std(dim=0, correction=0)
    const = (X[0] == X[min(1, len(X) - 1)])
    return X.mean(dim=0), torch.where(const, torch.ones_like(std), std)
''',
        'scale = 1 for constants but mean forced to 0 there': '''
def fit_zscore(X):
    if X.dim() != 2 or X.shape[0] == 0:
        raise ValueError("shape")
    std = X.std(dim=0, correction=0)
    const = (X == X[0]).all(dim=0)
    mean = torch.where(const, torch.zeros_like(std), X.mean(dim=0))
    return mean, torch.where(const, torch.ones_like(std), std)
''',
        'two-pass std with a fixed tolerance 1e-12 (misses float32 constants)': '''
def fit_zscore(X):
    if X.ndim != 2 or X.shape[0] < 1:
        raise ValueError("need (N, D), N >= 1")
    mean = X.mean(0)
    std = torch.sqrt(((X - mean) ** 2).mean(0))
    tiny = 1e-12 * torch.clamp(mean.abs(), min=1.0)
    return mean, torch.where(std <= tiny, torch.ones_like(std), std)
''',
    },
    'ch15-apply-zscore': {
        'inverse divides by the scale': '''
def apply_zscore(X, mean, scale, inverse=False):
    if X.shape[-1] != mean.shape[0]:
        raise ValueError("features")
    if inverse:
        return X / scale + mean
    return (X - mean) / scale
''',
        'statistics broadcast over rows (mean[:, None])': '''
def apply_zscore(X, mean, scale, inverse=False):
    if X.shape[-1] != mean.shape[0]:
        raise ValueError("features")
    if inverse:
        return X * scale + mean
    if X.dim() == 2:
        return (X - mean[:X.shape[0], None]) / scale[:X.shape[0], None]
    return (X - mean) / scale
''',
    },
    'ch15-minmax-scale': {
        'forgets (b - a): a + b * t': '''
def minmax_scale(X, reference=None, feature_range=(0.0, 1.0)):
    a, b = feature_range
    if a >= b:
        raise ValueError("range")
    ref = X if reference is None else reference
    if ref.shape[0] == 0 or ref.shape[1] != X.shape[1]:
        raise ValueError("ref")
    lo, hi = ref.amin(0), ref.amax(0)
    span = torch.where(hi > lo, hi - lo, torch.ones_like(hi))
    return a + b * (X - lo) / span
''',
        'constant feature set to a for every value of X': '''
def minmax_scale(X, reference=None, feature_range=(0.0, 1.0)):
    a, b = feature_range
    if a >= b:
        raise ValueError("range")
    ref = X if reference is None else reference
    if ref.shape[0] == 0 or ref.shape[1] != X.shape[1]:
        raise ValueError("ref")
    lo, hi = ref.amin(0), ref.amax(0)
    span = torch.where(hi > lo, hi - lo, torch.ones_like(hi))
    out = a + (b - a) * (X - lo) / span
    return torch.where(hi > lo, out, torch.full_like(out, a))
''',
        'fitted on X and reference stacked (scaler fitted on all data)': '''
def minmax_scale(X, reference=None, feature_range=(0.0, 1.0)):
    a, b = feature_range
    if a >= b:
        raise ValueError("range")
    ref = X if reference is None else reference
    if ref.shape[0] == 0 or ref.shape[1] != X.shape[1]:
        raise ValueError("ref")
    allrows = torch.cat([ref, X])
    lo, hi = allrows.amin(0), allrows.amax(0)
    span = torch.where(hi > lo, hi - lo, torch.ones_like(hi))
    return a + (b - a) * (X - lo) / span
''',
    },
    'ch15-robust-scale': {
        'fitted on X and reference stacked (scaler fitted on all data)': '''
def robust_scale(X, reference=None):
    ref = X if reference is None else reference
    if ref.shape[0] == 0 or ref.shape[1] != X.shape[1]:
        raise ValueError("ref")
    allrows = torch.cat([ref, X])
    levels = torch.tensor([0.25, 0.5, 0.75], dtype=X.dtype, device=X.device)
    q = torch.quantile(allrows, levels, dim=0)
    iqr = q[2] - q[0]
    return (X - q[1]) / torch.where(iqr == 0, torch.ones_like(iqr), iqr)
''',
        'midpoint interpolation': '''
def robust_scale(X, reference=None):
    ref = X if reference is None else reference
    if ref.shape[0] == 0 or ref.shape[1] != X.shape[1]:
        raise ValueError("ref")
    levels = torch.tensor([0.25, 0.5, 0.75], dtype=X.dtype, device=X.device)
    q = torch.quantile(ref, levels, dim=0, interpolation="midpoint")
    iqr = q[2] - q[0]
    return (X - q[1]) / torch.where(iqr == 0, torch.ones_like(iqr), iqr)
''',
        'IQR from X, median from the reference': '''
def robust_scale(X, reference=None):
    ref = X if reference is None else reference
    if ref.shape[0] == 0 or ref.shape[1] != X.shape[1]:
        raise ValueError("ref")
    med = torch.quantile(ref, 0.5, dim=0)
    iqr = torch.quantile(X, 0.75, dim=0) - torch.quantile(X, 0.25, dim=0)
    return (X - med) / torch.where(iqr == 0, torch.ones_like(iqr), iqr)
''',
    },
    'ch15-pad-collate': {
        'lengths as a Python list': '''
def pad_collate(batch, padding_value=0):
    if len(batch) == 0:
        raise ValueError("empty")
    f = batch[0].shape[1:]
    for s in batch:
        if s.dim() == 0 or s.shape[1:] != f:
            raise ValueError("shape")
    L = max(s.shape[0] for s in batch)
    out = batch[0].new_full((len(batch), L, *f), padding_value)
    for i, s in enumerate(batch):
        out[i, :len(s)] = s
    return out, [len(s) for s in batch]
''',
    },
    'ch15-array-dataset': {
        'IndexError only for i >= N (negative beyond -N wraps)': '''
class ArrayDataset(Dataset):
    def __init__(self, *tensors, transform=None):
        if not tensors:
            raise ValueError("no tensors")
        if len({t.shape[0] for t in tensors}) != 1:
            raise ValueError("different lengths")
        self.tensors, self.transform = tensors, transform
    def __len__(self):
        return self.tensors[0].shape[0]
    def __getitem__(self, i):
        if i >= len(self):
            raise IndexError(i)
        i = i % len(self)
        x, *rest = [t[i] for t in self.tensors]
        return (self.transform(x) if self.transform else x, *rest)
''',
    },
    'ch15-random-flip': {
        'coins drawn with torch.randint(0, 2) (ignores p)': '''
def random_flip(images, p, generator):
    if not 0 <= p <= 1:
        raise ValueError("p")
    coins = torch.randint(0, 2, (images.shape[0],), generator=generator).bool()
    coins = coins.to(images.device)[:, None, None, None]
    return torch.where(coins, images.flip(-1), images)
''',
    },
}

_MORE_RIGHT = {
    'ch15-fit-zscore': {
        'a tolerance scaled by the dtype eps (as scikit-learn)': '''
def fit_zscore(X):
    if X.ndim != 2 or X.shape[0] < 1:
        raise ValueError("need (N, D), N >= 1")
    mean = X.mean(0)
    var = ((X - mean) ** 2).mean(0)
    eps = torch.finfo(X.dtype).eps
    n = X.shape[0]
    constant = var <= n * eps * var + (n * mean * eps) ** 2
    return mean, torch.where(constant, torch.ones_like(var), var.sqrt())
''',
    },
    'ch15-apply-zscore': {
        'torch.sub and torch.div, addcmul for the inverse': '''
def apply_zscore(X, mean, scale, inverse=False):
    D = mean.numel()
    if X.ndim == 0 or X.shape[-1] != D:
        raise ValueError("the last dimension must be D")
    if not inverse:
        return torch.div(torch.sub(X, mean), scale)
    return torch.addcmul(mean.expand_as(X), X, scale)
''',
    },
    'ch15-minmax-scale': {
        'a loop over the columns with sort': '''
def minmax_scale(X, reference=None, feature_range=(0.0, 1.0)):
    low_t, high_t = feature_range
    if not high_t > low_t:
        raise ValueError("bad range")
    R = X if reference is None else reference
    if len(R) == 0 or R.size(1) != X.size(1):
        raise ValueError("bad reference")
    cols = []
    for j in range(X.size(1)):
        s = R[:, j].sort().values
        m, M = s[0], s[-1]
        den = (M - m) if M != m else torch.ones((), dtype=X.dtype, device=X.device)
        cols.append((X[:, j] - m) / den * (high_t - low_t) + low_t)
    return torch.stack(cols, dim=1)
''',
    },
    'ch15-robust-scale': {
        'np.percentile on the CPU and back': '''
def robust_scale(X, reference=None):
    R = X if reference is None else reference
    if R.shape[0] < 1 or R.shape[-1] != X.shape[-1]:
        raise ValueError("bad reference")
    q1, med, q3 = np.percentile(R.detach().cpu().numpy(), [25, 50, 75], axis=0)
    iqr = q3 - q1
    iqr[iqr == 0] = 1.0
    med = torch.as_tensor(med, dtype=X.dtype, device=X.device)
    iqr = torch.as_tensor(iqr, dtype=X.dtype, device=X.device)
    return (X - med) / iqr
''',
    },
    'ch15-pad-collate': {
        'zeros, fill_, then narrow and copy_': '''
def pad_collate(batch, padding_value=0):
    batch = list(batch)
    if not batch:
        raise ValueError("no sequences")
    if any(t.ndim == 0 for t in batch):
        raise ValueError("0-d")
    tails = {tuple(t.shape[1:]) for t in batch}
    if len(tails) > 1:
        raise ValueError("trailing shapes differ")
    lens = torch.tensor([t.shape[0] for t in batch], device=batch[0].device)
    L = int(lens.max())
    first = batch[0]
    out = torch.zeros((len(batch), L) + tuple(first.shape[1:]),
                      dtype=first.dtype, device=first.device)
    out.fill_(padding_value)
    for i, t in enumerate(batch):
        out[i].narrow(0, 0, t.shape[0]).copy_(t)
    return out, lens
''',
    },
    'ch15-array-dataset': {
        'range(len(self))[i] raises the IndexError': '''
class ArrayDataset(Dataset):
    def __init__(self, *tensors, transform=None):
        if len(tensors) == 0 or any(t.size(0) != tensors[0].size(0) for t in tensors):
            raise ValueError("bad tensors")
        self._ts = list(tensors)
        self._tf = transform
    def __len__(self):
        return int(self._ts[0].size(0))
    def __getitem__(self, i):
        i = range(len(self))[i]  # IndexError for free
        out = [t[i] for t in self._ts]
        if self._tf is not None:
            out[0] = self._tf(out[0])
        return tuple(out)
''',
    },
    'ch15-random-flip': {
        'index_select on the flipped indices only': '''
def random_flip(images, p, generator):
    if p < 0 or p > 1:
        raise ValueError("bad p")
    out = images.clone()
    u = torch.rand(len(images), generator=generator)
    idx = torch.nonzero(u < p).flatten().to(images.device)
    if len(idx):
        W = images.shape[-1]
        rev = torch.arange(W - 1, -1, -1, device=images.device)
        out[idx] = images[idx].index_select(-1, rev)
    return out
''',
    },
}

for _aid, _table in _MORE_WRONG.items():
    for _name, _source in _table.items():
        assert _name not in WRONG[_aid], _name
        WRONG[_aid][_name] = _source
for _aid, _table in _MORE_RIGHT.items():
    for _name, _source in _table.items():
        assert _name not in RIGHT[_aid], _name
        RIGHT[_aid][_name] = _source
