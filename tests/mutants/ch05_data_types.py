"""ch05: planted wrong answers (must lose points) and right answers written
differently, from the docstrings alone (must pass)."""

WRONG = {
    "ch05-one-hot": {
        "calls the forbidden F.one_hot": '''
def one_hot(indices, num_classes):
    if ((indices < 0) | (indices >= num_classes)).any():
        raise ValueError("out of range")
    return F.one_hot(indices, num_classes).float()
''',
        "rows of torch.eye without a range check (-1 wraps, C is an IndexError)": '''
def one_hot(indices, num_classes):
    return torch.eye(num_classes, device=indices.device)[indices]
''',
        "checks only the upper bound (a negative index picks the last class)": '''
def one_hot(indices, num_classes):
    if (indices >= num_classes).any():
        raise ValueError("out of range")
    return torch.eye(num_classes, device=indices.device)[indices]
''',
        "off by one: accepts index == num_classes": '''
def one_hot(indices, num_classes):
    if ((indices < 0) | (indices > num_classes)).any():
        raise ValueError("out of range")
    out = torch.zeros(*indices.shape, num_classes, device=indices.device)
    return out.scatter_(-1, indices.unsqueeze(-1), 1.0)
''',
        "int64 result, like F.one_hot": '''
def one_hot(indices, num_classes):
    if ((indices < 0) | (indices >= num_classes)).any():
        raise ValueError("out of range")
    return (indices.unsqueeze(-1) == torch.arange(num_classes,
                                                  device=indices.device)).long()
''',
        "flattens the batch to (N, C)": '''
def one_hot(indices, num_classes):
    if ((indices < 0) | (indices >= num_classes)).any():
        raise ValueError("out of range")
    return torch.eye(num_classes, device=indices.device)[indices.reshape(-1)]
''',
        "float64 result": '''
def one_hot(indices, num_classes):
    if ((indices < 0) | (indices >= num_classes)).any():
        raise ValueError("out of range")
    return torch.eye(num_classes, dtype=torch.float64, device=indices.device)[indices]
''',
    },
    "ch05-to-chw": {
        "reshape instead of permute": '''
def to_chw(image_hwc):
    *batch, h, w, c = image_hwc.shape
    out = image_hwc.reshape(*batch, c, h, w)
    return out.float() / 255 if image_hwc.dtype == torch.uint8 else out
''',
        "permute(2, 1, 0): (C, W, H)": '''
def to_chw(image_hwc):
    out = image_hwc.transpose(-1, -3)
    return out.float() / 255 if image_hwc.dtype == torch.uint8 else out
''',
        "forgets to scale uint8 to [0, 1]": '''
def to_chw(image_hwc):
    return image_hwc.movedim(-1, -3).float()
''',
        "divides by 256": '''
def to_chw(image_hwc):
    out = image_hwc.movedim(-1, -3)
    return out.float() / 256 if image_hwc.dtype == torch.uint8 else out
''',
        "scales floating-point input too": '''
def to_chw(image_hwc):
    return image_hwc.movedim(-1, -3) / 255
''',
        "single images only: permute(2, 0, 1)": '''
def to_chw(image_hwc):
    out = image_hwc.permute(2, 0, 1)
    return out.float() / 255 if image_hwc.dtype == torch.uint8 else out
''',
        "converts everything to float32": '''
def to_chw(image_hwc):
    out = image_hwc.movedim(-1, -3).float()
    return out / 255 if image_hwc.dtype == torch.uint8 else out
''',
        "float64 result for uint8": '''
def to_chw(image_hwc):
    out = image_hwc.movedim(-1, -3)
    return out.double() / 255 if image_hwc.dtype == torch.uint8 else out
''',
    },
    "ch05-build-vocab": {
        "ties by first appearance (Counter.most_common)": '''
def build_vocab(texts, min_freq):
    counts = Counter(t for text in texts for t in tokenize(text))
    vocab = {"<pad>": 0, "<unk>": 1}
    for token, n in counts.most_common():
        if n >= min_freq:
            vocab[token] = len(vocab)
    return vocab
''',
        "count > min_freq instead of >=": '''
def build_vocab(texts, min_freq):
    counts = Counter(t for text in texts for t in tokenize(text))
    vocab = {"<pad>": 0, "<unk>": 1}
    for token in sorted(counts, key=lambda t: (-counts[t], t)):
        if counts[token] > min_freq:
            vocab[token] = len(vocab)
    return vocab
''',
        "ties in reverse alphabetical order": '''
def build_vocab(texts, min_freq):
    counts = Counter(t for text in texts for t in tokenize(text))
    vocab = {"<pad>": 0, "<unk>": 1}
    for token in sorted(counts, key=lambda t: (counts[t], t), reverse=True):
        if counts[token] >= min_freq:
            vocab[token] = len(vocab)
    return vocab
''',
        "no lower-casing": '''
def build_vocab(texts, min_freq):
    counts = Counter(t for text in texts for t in re.findall(r"\\w+|[^\\w\\s]", text))
    vocab = {"<pad>": 0, "<unk>": 1}
    for token in sorted(counts, key=lambda t: (-counts[t], t)):
        if counts[token] >= min_freq:
            vocab[token] = len(vocab)
    return vocab
''',
        "whitespace split (punctuation stays attached)": '''
def build_vocab(texts, min_freq):
    counts = Counter(t for text in texts for t in text.lower().split())
    vocab = {"<pad>": 0, "<unk>": 1}
    for token in sorted(counts, key=lambda t: (-counts[t], t)):
        if counts[token] >= min_freq:
            vocab[token] = len(vocab)
    return vocab
''',
        "special tokens after the words": '''
def build_vocab(texts, min_freq):
    counts = Counter(t for text in texts for t in tokenize(text))
    kept = [t for t in sorted(counts, key=lambda t: (-counts[t], t))
            if counts[t] >= min_freq]
    vocab = {t: i for i, t in enumerate(kept)}
    vocab["<pad>"] = len(vocab)
    vocab["<unk>"] = len(vocab)
    return vocab
''',
        "counts documents, not occurrences": '''
def build_vocab(texts, min_freq):
    counts = Counter(t for text in texts for t in set(tokenize(text)))
    vocab = {"<pad>": 0, "<unk>": 1}
    for token in sorted(counts, key=lambda t: (-counts[t], t)):
        if counts[token] >= min_freq:
            vocab[token] = len(vocab)
    return vocab
''',
    },
    "ch05-encode": {
        "returns a list": '''
def encode(text, vocab):
    return [vocab.get(t, vocab["<unk>"]) for t in tokenize(text)]
''',
        "unknown tokens -> 1, hard-coded": '''
def encode(text, vocab):
    return torch.tensor([vocab.get(t, 1) for t in tokenize(text)], dtype=torch.int64)
''',
        "unknown tokens -> <pad>": '''
def encode(text, vocab):
    return torch.tensor([vocab.get(t, vocab["<pad>"]) for t in tokenize(text)],
                        dtype=torch.int64)
''',
        "torch.tensor(ids) without a dtype: float32 when empty": '''
def encode(text, vocab):
    return torch.tensor([vocab.get(t, vocab["<unk>"]) for t in tokenize(text)])
''',
        "no lower-casing": '''
def encode(text, vocab):
    return torch.tensor([vocab.get(t, vocab["<unk>"])
                         for t in re.findall(r"\\w+|[^\\w\\s]", text)],
                        dtype=torch.int64)
''',
        "whitespace split": '''
def encode(text, vocab):
    return torch.tensor([vocab.get(t, vocab["<unk>"]) for t in text.lower().split()],
                        dtype=torch.int64)
''',
        "int32 ids": '''
def encode(text, vocab):
    return torch.tensor([vocab.get(t, vocab["<unk>"]) for t in tokenize(text)],
                        dtype=torch.int32)
''',
    },
    "ch05-spectrogram": {
        "calls the forbidden torch.stft": '''
def spectrogram(waveform, n_fft, hop_length):
    window = torch.hann_window(n_fft, dtype=waveform.dtype, device=waveform.device)
    return torch.stft(waveform, n_fft, hop_length, window=window,
                      return_complex=True).abs()
''',
        "no window (rectangular)": '''
def spectrogram(waveform, n_fft, hop_length):
    pad = n_fft // 2
    x = F.pad(waveform.reshape(-1, 1, waveform.shape[-1]), (pad, pad), mode="reflect")
    out = torch.fft.rfft(x[:, 0].unfold(-1, n_fft, hop_length), dim=-1).abs()
    out = out.transpose(-1, -2)
    return out if waveform.dim() == 2 else out[0]
''',
        "symmetric Hann window (periodic=False)": '''
def spectrogram(waveform, n_fft, hop_length):
    pad = n_fft // 2
    x = F.pad(waveform.reshape(-1, 1, waveform.shape[-1]), (pad, pad), mode="reflect")
    w = torch.hann_window(n_fft, periodic=False, dtype=waveform.dtype,
                          device=waveform.device)
    out = torch.fft.rfft(x[:, 0].unfold(-1, n_fft, hop_length) * w, dim=-1).abs()
    out = out.transpose(-1, -2)
    return out if waveform.dim() == 2 else out[0]
''',
        "no centring (center=False)": '''
def spectrogram(waveform, n_fft, hop_length):
    x = waveform.reshape(-1, waveform.shape[-1])
    w = torch.hann_window(n_fft, dtype=waveform.dtype, device=waveform.device)
    out = torch.fft.rfft(x.unfold(-1, n_fft, hop_length) * w, dim=-1).abs()
    out = out.transpose(-1, -2)
    return out if waveform.dim() == 2 else out[0]
''',
        "zero padding instead of reflection": '''
def spectrogram(waveform, n_fft, hop_length):
    pad = n_fft // 2
    x = F.pad(waveform.reshape(-1, waveform.shape[-1]), (pad, pad))
    w = torch.hann_window(n_fft, dtype=waveform.dtype, device=waveform.device)
    out = torch.fft.rfft(x.unfold(-1, n_fft, hop_length) * w, dim=-1).abs()
    out = out.transpose(-1, -2)
    return out if waveform.dim() == 2 else out[0]
''',
        "power (squared magnitude)": '''
def spectrogram(waveform, n_fft, hop_length):
    pad = n_fft // 2
    x = F.pad(waveform.reshape(-1, 1, waveform.shape[-1]), (pad, pad), mode="reflect")
    w = torch.hann_window(n_fft, dtype=waveform.dtype, device=waveform.device)
    out = torch.fft.rfft(x[:, 0].unfold(-1, n_fft, hop_length) * w, dim=-1).abs() ** 2
    out = out.transpose(-1, -2)
    return out if waveform.dim() == 2 else out[0]
''',
        "transposed: (M, F)": '''
def spectrogram(waveform, n_fft, hop_length):
    pad = n_fft // 2
    x = F.pad(waveform.reshape(-1, 1, waveform.shape[-1]), (pad, pad), mode="reflect")
    w = torch.hann_window(n_fft, dtype=waveform.dtype, device=waveform.device)
    out = torch.fft.rfft(x[:, 0].unfold(-1, n_fft, hop_length) * w, dim=-1).abs()
    return out if waveform.dim() == 2 else out[0]
''',
        "two-sided spectrum (n_fft bins)": '''
def spectrogram(waveform, n_fft, hop_length):
    pad = n_fft // 2
    x = F.pad(waveform.reshape(-1, 1, waveform.shape[-1]), (pad, pad), mode="reflect")
    w = torch.hann_window(n_fft, dtype=waveform.dtype, device=waveform.device)
    out = torch.fft.fft(x[:, 0].unfold(-1, n_fft, hop_length) * w, dim=-1).abs()
    out = out.transpose(-1, -2)
    return out if waveform.dim() == 2 else out[0]
''',
        "M = 1 + T // hop_length frames, also for an odd n_fft": '''
def spectrogram(waveform, n_fft, hop_length):
    pad = n_fft // 2
    x = F.pad(waveform.reshape(-1, 1, waveform.shape[-1]), (pad, pad + 1),
              mode="reflect")
    w = torch.hann_window(n_fft, dtype=waveform.dtype, device=waveform.device)
    count = 1 + waveform.shape[-1] // hop_length
    frames = x[:, 0].unfold(-1, n_fft, hop_length)[:, :count]
    out = torch.fft.rfft(frames * w, dim=-1).abs().transpose(-1, -2)
    return out if waveform.dim() == 2 else out[0]
''',
        "float32 result for float64 input": '''
def spectrogram(waveform, n_fft, hop_length):
    pad = n_fft // 2
    x = F.pad(waveform.reshape(-1, 1, waveform.shape[-1]).float(), (pad, pad),
              mode="reflect")
    w = torch.hann_window(n_fft, device=waveform.device)
    out = torch.fft.rfft(x[:, 0].unfold(-1, n_fft, hop_length) * w, dim=-1).abs()
    out = out.transpose(-1, -2)
    return out if waveform.dim() == 2 else out[0]
''',
        "window scaled by 1 / sqrt(n_fft) (normalized=True)": '''
def spectrogram(waveform, n_fft, hop_length):
    pad = n_fft // 2
    x = F.pad(waveform.reshape(-1, 1, waveform.shape[-1]), (pad, pad), mode="reflect")
    w = torch.hann_window(n_fft, dtype=waveform.dtype, device=waveform.device)
    out = torch.fft.rfft(x[:, 0].unfold(-1, n_fft, hop_length) * w, dim=-1).abs()
    out = out.transpose(-1, -2) / n_fft ** 0.5
    return out if waveform.dim() == 2 else out[0]
''',
    },
    "ch05-sliding-windows": {
        "N = T - W - H: drops the last pair": '''
def sliding_windows(series, window, horizon):
    if window < 1 or horizon < 1:
        raise ValueError("window and horizon must be >= 1")
    n = len(series) - window - horizon
    if n < 1:
        raise ValueError("too short")
    return (torch.stack([series[i:i + window] for i in range(n)]),
            torch.stack([series[i + window:i + window + horizon] for i in range(n)]))
''',
        "targets start one step early (overlap the inputs)": '''
def sliding_windows(series, window, horizon):
    if window < 1 or horizon < 1:
        raise ValueError("window and horizon must be >= 1")
    n = len(series) - window - horizon + 1
    if n < 1:
        raise ValueError("too short")
    return (torch.stack([series[i:i + window] for i in range(n)]),
            torch.stack([series[i + window - 1:i + window - 1 + horizon]
                         for i in range(n)]))
''',
        "unfold on (T, F) without moving the axis: (N, F, W)": '''
def sliding_windows(series, window, horizon):
    if window < 1 or horizon < 1:
        raise ValueError("window and horizon must be >= 1")
    if len(series) - window - horizon + 1 < 1:
        raise ValueError("too short")
    both = series.unfold(0, window + horizon, 1)
    return both[..., :window], both[..., window:]
''',
        "no ValueError when the series is too short (empty result)": '''
def sliding_windows(series, window, horizon):
    if window < 1 or horizon < 1:
        raise ValueError("window and horizon must be >= 1")
    n = max(len(series) - window - horizon + 1, 0)
    inputs = series.new_zeros((n, window, *series.shape[1:]))
    targets = series.new_zeros((n, horizon, *series.shape[1:]))
    for i in range(n):
        inputs[i] = series[i:i + window]
        targets[i] = series[i + window:i + window + horizon]
    return inputs, targets
''',
        "no check of window and horizon": '''
def sliding_windows(series, window, horizon):
    n = len(series) - window - horizon + 1
    if n < 1:
        raise ValueError("too short")
    return (torch.stack([series[i:i + window] for i in range(n)]),
            torch.stack([series[i + window:i + window + horizon] for i in range(n)]))
''',
        "target is only the last step, shape (N,)": '''
def sliding_windows(series, window, horizon):
    if window < 1 or horizon < 1:
        raise ValueError("window and horizon must be >= 1")
    n = len(series) - window - horizon + 1
    if n < 1:
        raise ValueError("too short")
    return (torch.stack([series[i:i + window] for i in range(n)]),
            torch.stack([series[i + window + horizon - 1] for i in range(n)]))
''',
        "windows do not overlap (step = window)": '''
def sliding_windows(series, window, horizon):
    if window < 1 or horizon < 1:
        raise ValueError("window and horizon must be >= 1")
    starts = range(0, len(series) - window - horizon + 1, window)
    if not starts:
        raise ValueError("too short")
    return (torch.stack([series[i:i + window] for i in starts]),
            torch.stack([series[i + window:i + window + horizon] for i in starts]))
''',
    },
}

RIGHT = {
    "ch05-one-hot": {
        "zeros and scatter_": '''
def one_hot(indices, num_classes):
    if indices.numel() and (indices.min() < 0 or indices.max() >= num_classes):
        raise ValueError(f"indices must be in [0, {num_classes})")
    out = torch.zeros(*indices.shape, num_classes, device=indices.device)
    return out.scatter_(-1, indices.unsqueeze(-1), 1.0)
''',
        "rows of torch.eye after a range check": '''
def one_hot(indices, num_classes):
    bad = (indices < 0) | (indices >= num_classes)
    if bool(bad.any()):
        raise ValueError("index out of range")
    table = torch.eye(num_classes, dtype=torch.float32, device=indices.device)
    return table[indices]
''',
        "a loop over classes": '''
def one_hot(indices, num_classes):
    for value in indices.reshape(-1).tolist():
        if not 0 <= value < num_classes:
            raise ValueError(f"index {value} is not in [0, {num_classes})")
    columns = [(indices == c).float() for c in range(num_classes)]
    return torch.stack(columns, dim=-1)
''',
    },
    "ch05-to-chw": {
        "permute with explicit batch axes": '''
def to_chw(image_hwc):
    d = image_hwc.dim()
    out = image_hwc.permute(*range(d - 3), d - 1, d - 3, d - 2)
    if image_hwc.dtype == torch.uint8:
        out = out.to(torch.float32).div(255.0)
    return out
''',
        "two transposes and a copy": '''
def to_chw(image_hwc):
    out = image_hwc.transpose(-1, -3).transpose(-1, -2).contiguous()
    if not image_hwc.is_floating_point():
        out = out.float() / 255
    return out
''',
        "einsum": '''
def to_chw(image_hwc):
    x = image_hwc.float() / 255.0 if image_hwc.dtype == torch.uint8 else image_hwc
    return torch.einsum("...hwc->...chw", x)
''',
    },
    "ch05-build-vocab": {
        "sort alphabetically, then a stable sort by count": '''
def build_vocab(texts, min_freq):
    counts = {}
    for text in texts:
        for token in tokenize(text):
            counts[token] = counts.get(token, 0) + 1
    kept = sorted(t for t, n in counts.items() if n >= min_freq)
    kept.sort(key=lambda t: counts[t], reverse=True)
    vocab = {"<pad>": 0, "<unk>": 1}
    vocab.update({t: i + 2 for i, t in enumerate(kept)})
    return vocab
''',
        "the regex written out, sorted items": '''
def build_vocab(texts, min_freq):
    counts = Counter()
    for text in texts:
        counts.update(re.findall(r"\\w+|[^\\w\\s]", text.lower()))
    items = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    vocab = {"<pad>": 0, "<unk>": 1}
    for token, n in items:
        if n < min_freq:
            break
        vocab[token] = len(vocab)
    return vocab
''',
    },
    "ch05-encode": {
        "torch.as_tensor and the regex written out": '''
def encode(text, vocab):
    tokens = re.findall(r"\\w+|[^\\w\\s]", text.lower())
    ids = [vocab[t] if t in vocab else vocab["<unk>"] for t in tokens]
    return torch.as_tensor(ids, dtype=torch.long).reshape(len(ids))
''',
        "fill an empty tensor": '''
def encode(text, vocab):
    tokens = tokenize(text)
    out = torch.empty(len(tokens), dtype=torch.int64)
    for i, token in enumerate(tokens):
        out[i] = vocab.get(token, vocab["<unk>"])
    return out
''',
    },
    "ch05-spectrogram": {
        "reflection by hand, a loop and torch.fft.fft": '''
def spectrogram(waveform, n_fft, hop_length):
    p = n_fft // 2
    left = waveform[..., 1:p + 1].flip(-1)
    right = waveform[..., -p - 1:-1].flip(-1)
    padded = torch.cat([left, waveform, right], dim=-1)
    window = torch.hann_window(n_fft, dtype=waveform.dtype, device=waveform.device)
    count = 1 + (padded.shape[-1] - n_fft) // hop_length
    columns = []
    for m in range(count):
        frame = padded[..., m * hop_length:m * hop_length + n_fft] * window
        columns.append(torch.fft.fft(frame, dim=-1)[..., :n_fft // 2 + 1].abs())
    return torch.stack(columns, dim=-1)
''',
        "a DFT matrix of cosines and sines, window by its formula": '''
def spectrogram(waveform, n_fft, hop_length):
    p = n_fft // 2
    x = waveform if waveform.dim() == 2 else waveform.unsqueeze(0)
    x = F.pad(x.unsqueeze(1), (p, p), mode="reflect").squeeze(1)
    n = torch.arange(n_fft, dtype=waveform.dtype, device=waveform.device)
    k = torch.arange(n_fft // 2 + 1, dtype=waveform.dtype, device=waveform.device)
    window = 0.5 - 0.5 * torch.cos(2 * math.pi * n / n_fft)
    angle = 2 * math.pi * ((k[:, None] * n[None, :]) % n_fft) / n_fft
    frames = x.unfold(-1, n_fft, hop_length) * window  # (B, M, n_fft)
    real = frames @ torch.cos(angle).T
    imag = frames @ torch.sin(angle).T
    out = torch.sqrt(real ** 2 + imag ** 2).transpose(1, 2)
    return out if waveform.dim() == 2 else out[0]
''',
        "a float32 window for any input (the dtype follows by promotion)": '''
def spectrogram(waveform, n_fft, hop_length):
    p = n_fft // 2
    x = F.pad(waveform.reshape(-1, 1, waveform.shape[-1]), (p, p), mode="reflect")
    window = torch.hann_window(n_fft).to(waveform.device)
    spec = torch.fft.rfft(x.squeeze(1).unfold(1, n_fft, hop_length) * window)
    out = spec.abs().permute(0, 2, 1)
    return out.reshape(*waveform.shape[:-1], *out.shape[1:])
''',
    },
    "ch05-sliding-windows": {
        "unfold, then move the window axis": '''
def sliding_windows(series, window, horizon):
    if window < 1 or horizon < 1 or len(series) < window + horizon:
        raise ValueError("window and horizon must be >= 1 and fit in the series")
    both = series.unfold(0, window + horizon, 1).movedim(-1, 1)  # (N, W + H, ...)
    return both[:, :window], both[:, window:]
''',
        "index arithmetic": '''
def sliding_windows(series, window, horizon):
    if min(window, horizon) < 1:
        raise ValueError("window and horizon must be positive")
    n = series.shape[0] - window - horizon + 1
    if n < 1:
        raise ValueError(f"need at least {window + horizon} steps")
    start = torch.arange(n, device=series.device)[:, None]
    inputs = series[start + torch.arange(window, device=series.device)]
    targets = series[start + window + torch.arange(horizon, device=series.device)]
    return inputs, targets
''',
    },
}
