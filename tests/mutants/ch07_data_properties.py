"""ch07: planted wrong answers (must lose points) and right answers written
differently (must pass)."""

WRONG = {
    "ch07-random-translate": {
        "torch.roll: wraps around instead of filling with zeros": '''
def random_translate(images, max_shift, generator):
    if max_shift < 0:
        raise ValueError("max_shift < 0")
    m = max_shift
    shifts = torch.randint(-m, m + 1, (len(images), 2), generator=generator).tolist()
    return torch.stack([torch.roll(img, shifts=(dy, dx), dims=(-2, -1))
                        for img, (dy, dx) in zip(images, shifts)])
''',
        "one shift for the whole batch": '''
def random_translate(images, max_shift, generator):
    if max_shift < 0:
        raise ValueError("max_shift < 0")
    m = max_shift
    H, W = images.shape[-2:]
    dy, dx = torch.randint(-m, m + 1, (2,), generator=generator).tolist()
    padded = F.pad(images, (m, m, m, m))
    return padded[:, :, m - dy:m - dy + H, m - dx:m - dx + W].clone()
''',
        "torch.randint(-m, m): the upper end +m is never drawn": '''
def random_translate(images, max_shift, generator):
    if max_shift < 0:
        raise ValueError("max_shift < 0")
    m = max_shift
    H, W = images.shape[-2:]
    if m == 0:
        return images.clone()
    shifts = torch.randint(-m, m, (len(images), 2), generator=generator).tolist()
    padded = F.pad(images, (m, m, m, m))
    return torch.stack([padded[n, :, m - dy:m - dy + H, m - dx:m - dx + W]
                        for n, (dy, dx) in enumerate(shifts)])
''',
        "uses the global generator instead of the argument": '''
def random_translate(images, max_shift, generator):
    if max_shift < 0:
        raise ValueError("max_shift < 0")
    m = max_shift
    H, W = images.shape[-2:]
    shifts = torch.randint(-m, m + 1, (len(images), 2)).tolist()
    padded = F.pad(images, (m, m, m, m))
    return torch.stack([padded[n, :, m - dy:m - dy + H, m - dx:m - dx + W]
                        for n, (dy, dx) in enumerate(shifts)])
''',
        "one draw per image used for both dy and dx": '''
def random_translate(images, max_shift, generator):
    if max_shift < 0:
        raise ValueError("max_shift < 0")
    m = max_shift
    H, W = images.shape[-2:]
    shifts = torch.randint(-m, m + 1, (len(images),), generator=generator).tolist()
    padded = F.pad(images, (m, m, m, m))
    return torch.stack([padded[n, :, m - s:m - s + H, m - s:m - s + W]
                        for n, s in enumerate(shifts)])
''',
        "only non-negative shifts (0..m)": '''
def random_translate(images, max_shift, generator):
    if max_shift < 0:
        raise ValueError("max_shift < 0")
    m = max_shift
    H, W = images.shape[-2:]
    shifts = torch.randint(0, m + 1, (len(images), 2), generator=generator).tolist()
    padded = F.pad(images, (m, m, m, m))
    return torch.stack([padded[n, :, m - dy:m - dy + H, m - dx:m - dx + W]
                        for n, (dy, dx) in enumerate(shifts)])
''',
        "shifts the input in place": '''
def random_translate(images, max_shift, generator):
    if max_shift < 0:
        raise ValueError("max_shift < 0")
    m = max_shift
    H, W = images.shape[-2:]
    shifts = torch.randint(-m, m + 1, (len(images), 2), generator=generator).tolist()
    padded = F.pad(images, (m, m, m, m))
    for n, (dy, dx) in enumerate(shifts):
        images[n] = padded[n, :, m - dy:m - dy + H, m - dx:m - dx + W]
    return images
''',
        "no ValueError for a negative max_shift": '''
def random_translate(images, max_shift, generator):
    m = abs(max_shift)
    H, W = images.shape[-2:]
    shifts = torch.randint(-m, m + 1, (len(images), 2), generator=generator).tolist()
    padded = F.pad(images, (m, m, m, m))
    return torch.stack([padded[n, :, m - dy:m - dy + H, m - dx:m - dx + W]
                        for n, (dy, dx) in enumerate(shifts)])
''',
    },
    "ch07-is-translation-equivariant": {
        "checks invariance: layer(T x) against layer(x)": '''
def is_translation_equivariant(layer, x, shift):
    with torch.no_grad():
        a = layer(torch.roll(x, shifts=tuple(shift), dims=(-2, -1)))
        b = layer(x)
    return bool(torch.allclose(a, b, rtol=1e-4, atol=1e-4))
''',
        "zero-filled shift instead of the circular roll": '''
def is_translation_equivariant(layer, x, shift):
    def move(t):
        out = torch.roll(t, shifts=tuple(shift), dims=(-2, -1))
        dy, dx = shift
        if dy > 0:
            out[..., :dy, :] = 0
        elif dy < 0:
            out[..., dy:, :] = 0
        if dx > 0:
            out[..., :, :dx] = 0
        elif dx < 0:
            out[..., :, dx:] = 0
        return out
    with torch.no_grad():
        a, b = layer(move(x)), move(layer(x))
    return bool(torch.allclose(a, b, rtol=1e-4, atol=1e-4))
''',
        "dy and dx swapped (dy along the columns)": '''
def is_translation_equivariant(layer, x, shift):
    dy, dx = shift
    with torch.no_grad():
        a = layer(torch.roll(x, shifts=(dy, dx), dims=(-1, -2)))
        b = torch.roll(layer(x), shifts=(dy, dx), dims=(-1, -2))
    return bool(torch.allclose(a, b, rtol=1e-4, atol=1e-4))
''',
        "returns a tensor instead of a bool": '''
def is_translation_equivariant(layer, x, shift):
    with torch.no_grad():
        a = layer(torch.roll(x, shifts=tuple(shift), dims=(-2, -1)))
        b = torch.roll(layer(x), shifts=tuple(shift), dims=(-2, -1))
    return torch.isclose(a, b, rtol=1e-4, atol=1e-4).all()
''',
        "exact equality instead of the stated tolerance": '''
def is_translation_equivariant(layer, x, shift):
    with torch.no_grad():
        a = layer(torch.roll(x, shifts=tuple(shift), dims=(-2, -1)))
        b = torch.roll(layer(x), shifts=tuple(shift), dims=(-2, -1))
    return torch.equal(a, b)
''',
        "default torch.allclose tolerances": '''
def is_translation_equivariant(layer, x, shift):
    with torch.no_grad():
        a = layer(torch.roll(x, shifts=tuple(shift), dims=(-2, -1)))
        b = torch.roll(layer(x), shifts=tuple(shift), dims=(-2, -1))
    return bool(torch.allclose(a, b))
''',
        "output shifted the opposite way": '''
def is_translation_equivariant(layer, x, shift):
    dy, dx = shift
    with torch.no_grad():
        a = layer(torch.roll(x, shifts=(dy, dx), dims=(-2, -1)))
        b = torch.roll(layer(x), shifts=(-dy, -dx), dims=(-2, -1))
    return bool(torch.allclose(a, b, rtol=1e-4, atol=1e-4))
''',
    },
    "ch07-bag-of-words": {
        "presence (0/1) instead of counts": '''
def bag_of_words(tokens, vocab):
    out = torch.zeros(len(vocab))
    unk = vocab.get("<unk>")
    for t in set(tokens):
        i = vocab.get(t, unk)
        if i is not None:
            out[i] = 1.0
    return out
''',
        "int64 counts from torch.bincount": '''
def bag_of_words(tokens, vocab):
    unk = vocab.get("<unk>")
    idx = [vocab.get(t, unk) for t in tokens]
    idx = [i for i in idx if i is not None]
    return torch.bincount(torch.tensor(idx, dtype=torch.int64), minlength=len(vocab))
''',
        "indexes by the dict's insertion order, not by vocab[token]": '''
def bag_of_words(tokens, vocab):
    position = {t: i for i, t in enumerate(vocab)}
    out = torch.zeros(len(vocab))
    for t in tokens:
        if t in position:
            out[position[t]] += 1
        elif "<unk>" in position:
            out[position["<unk>"]] += 1
    return out
''',
        "ignores unknown tokens even when <unk> exists": '''
def bag_of_words(tokens, vocab):
    out = torch.zeros(len(vocab))
    for t in tokens:
        if t in vocab:
            out[vocab[t]] += 1
    return out
''',
        "lower-cases the tokens": '''
def bag_of_words(tokens, vocab):
    out = torch.zeros(len(vocab))
    unk = vocab.get("<unk>")
    for t in tokens:
        i = vocab.get(t.lower(), unk)
        if i is not None:
            out[i] += 1
    return out
''',
        "unknown tokens counted at index 0": '''
def bag_of_words(tokens, vocab):
    out = torch.zeros(len(vocab))
    for t in tokens:
        out[vocab.get(t, 0)] += 1
    return out
''',
    },
    "ch07-add-gaussian-noise": {
        "noise power right only on average (no rescaling)": '''
def add_gaussian_noise(waveform, snr_db, generator=None):
    noise = torch.randn(waveform.shape, generator=generator, dtype=waveform.dtype)
    p_signal = waveform.pow(2).mean(-1, keepdim=True)
    sigma = (p_signal / 10 ** (snr_db / 10)).sqrt()
    return waveform + sigma * noise.to(waveform.device)
''',
        "20 log10: treats the SNR as an amplitude ratio of powers": '''
def add_gaussian_noise(waveform, snr_db, generator=None):
    noise = torch.randn(waveform.shape, generator=generator, dtype=waveform.dtype)
    noise = noise.to(waveform.device)
    p_noise = waveform.pow(2).mean(-1, keepdim=True) / 10 ** (snr_db / 20)
    return waveform + noise * (p_noise / noise.pow(2).mean(-1, keepdim=True)).sqrt()
''',
        "one power for the whole batch": '''
def add_gaussian_noise(waveform, snr_db, generator=None):
    noise = torch.randn(waveform.shape, generator=generator, dtype=waveform.dtype)
    noise = noise.to(waveform.device)
    p_noise = waveform.pow(2).mean() / 10 ** (snr_db / 10)
    return waveform + noise * (p_noise / noise.pow(2).mean()).sqrt()
''',
        "variance instead of mean square for the signal power": '''
def add_gaussian_noise(waveform, snr_db, generator=None):
    noise = torch.randn(waveform.shape, generator=generator, dtype=waveform.dtype)
    noise = noise.to(waveform.device)
    p_signal = waveform.var(-1, correction=0, keepdim=True)
    p_noise = p_signal / 10 ** (snr_db / 10)
    return waveform + noise * (p_noise / noise.pow(2).mean(-1, keepdim=True)).sqrt()
''',
        "uniform noise (torch.rand) instead of Gaussian": '''
def add_gaussian_noise(waveform, snr_db, generator=None):
    noise = torch.rand(waveform.shape, generator=generator, dtype=waveform.dtype) - 0.5
    noise = noise.to(waveform.device)
    p_noise = waveform.pow(2).mean(-1, keepdim=True) / 10 ** (snr_db / 10)
    return waveform + noise * (p_noise / noise.pow(2).mean(-1, keepdim=True)).sqrt()
''',
        "ignores the generator": '''
def add_gaussian_noise(waveform, snr_db, generator=None):
    noise = torch.randn(waveform.shape, dtype=waveform.dtype).to(waveform.device)
    p_noise = waveform.pow(2).mean(-1, keepdim=True) / 10 ** (snr_db / 10)
    return waveform + noise * (p_noise / noise.pow(2).mean(-1, keepdim=True)).sqrt()
''',
        "computes in float64: float32 waveforms come back as float64": '''
def add_gaussian_noise(waveform, snr_db, generator=None):
    w = waveform.double()
    noise = torch.randn(w.shape, generator=generator, dtype=torch.float64).to(w.device)
    p_noise = w.pow(2).mean(-1, keepdim=True) / 10 ** (snr_db / 10)
    return w + noise * (p_noise / noise.pow(2).mean(-1, keepdim=True)).sqrt()
''',
        "adds the noise in place": '''
def add_gaussian_noise(waveform, snr_db, generator=None):
    noise = torch.randn(waveform.shape, generator=generator, dtype=waveform.dtype)
    noise = noise.to(waveform.device)
    p_noise = waveform.pow(2).mean(-1, keepdim=True) / 10 ** (snr_db / 10)
    return waveform.add_(noise * (p_noise / noise.pow(2).mean(-1, keepdim=True)).sqrt())
''',
        "missing square root: noise amplitude set to the noise power": '''
def add_gaussian_noise(waveform, snr_db, generator=None):
    noise = torch.randn(waveform.shape, generator=generator, dtype=waveform.dtype)
    noise = noise.to(waveform.device)
    p_noise = waveform.pow(2).mean(-1, keepdim=True) / 10 ** (snr_db / 10)
    return waveform + noise / noise.pow(2).mean(-1, keepdim=True).sqrt() * p_noise
''',
    },
    "ch07-channel-stats": {
        "unbiased std (torch.std's default)": '''
def channel_stats(images):
    return images.mean(dim=(0, 2, 3)), images.std(dim=(0, 2, 3))
''',
        "average of the per-image standard deviations": '''
def channel_stats(images):
    per_image = images.std(dim=(2, 3), correction=0)  # (N, C)
    return images.mean(dim=(0, 2, 3)), per_image.mean(dim=0)
''',
        "variance instead of standard deviation": '''
def channel_stats(images):
    mean = images.mean(dim=(0, 2, 3))
    return mean, (images - mean[:, None, None]).pow(2).mean(dim=(0, 2, 3))
''',
        "channels taken from the last axis": '''
def channel_stats(images):
    return images.mean(dim=(0, 1, 2)), images.std(dim=(0, 1, 2), correction=0)
''',
        "returns (std, mean)": '''
def channel_stats(images):
    return images.std(dim=(0, 2, 3), correction=0), images.mean(dim=(0, 2, 3))
''',
    },
    "ch07-normalize-images": {
        "no reshape: the statistics line up with the width": '''
def normalize_images(images, mean, std):
    return (images - mean) / std
''',
        "multiplies by std instead of dividing": '''
def normalize_images(images, mean, std):
    return (images - mean[:, None, None]) * std[:, None, None]
''',
        "computes in float64: float32 images come back as float64": '''
def normalize_images(images, mean, std):
    x = images.double()
    return (x - mean.double()[:, None, None]) / std.double()[:, None, None]
''',
        "normalises the input in place": '''
def normalize_images(images, mean, std):
    return images.sub_(mean[:, None, None]).div_(std[:, None, None])
''',
        "mean.view(1, C, 1, 1): a single image gets a batch dimension": '''
def normalize_images(images, mean, std):
    return (images - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)
''',
        "normalises with the images' own statistics": '''
def normalize_images(images, mean, std):
    dims = tuple(i for i in range(images.dim()) if i != images.dim() - 3)
    m = images.mean(dim=dims, keepdim=True)
    s = images.std(dim=dims, keepdim=True, correction=0)
    return (images - m) / s
''',
    },
}

RIGHT = {
    "ch07-random-translate": {
        "index arithmetic with a mask, all images at once": '''
def random_translate(images, max_shift, generator):
    if max_shift < 0:
        raise ValueError("max_shift must be non-negative")
    N, C, H, W = images.shape
    d = torch.randint(-max_shift, max_shift + 1, (2, N), generator=generator)
    d = d.to(images.device)
    rows = torch.arange(H, device=images.device)[None, :] - d[0][:, None]  # (N, H)
    cols = torch.arange(W, device=images.device)[None, :] - d[1][:, None]  # (N, W)
    ok = ((rows >= 0) & (rows < H))[:, :, None] & ((cols >= 0) & (cols < W))[:, None]
    r = rows.clamp(0, H - 1)[:, None, :, None].expand(N, C, H, W)
    c = cols.clamp(0, W - 1)[:, None, None, :].expand(N, C, H, W)
    gathered = images.gather(2, r).gather(3, c)
    return torch.where(ok[:, None], gathered, torch.zeros_like(gathered))
''',
        "roll each image, then blank the band that wrapped around": '''
def random_translate(images, max_shift, generator):
    if max_shift < 0:
        raise ValueError(f"bad max_shift {max_shift}")
    out = images.clone()
    H, W = images.shape[-2:]
    m = max_shift
    for n in range(images.shape[0]):
        dy = int(torch.randint(0, 2 * m + 1, (1,), generator=generator)) - m
        dx = int(torch.randint(0, 2 * m + 1, (1,), generator=generator)) - m
        if abs(dy) >= H or abs(dx) >= W:
            out[n] = 0
            continue
        img = torch.roll(images[n], shifts=(dy, dx), dims=(-2, -1))
        if dy > 0:
            img[:, :dy] = 0
        elif dy < 0:
            img[:, H + dy:] = 0
        if dx > 0:
            img[:, :, :dx] = 0
        elif dx < 0:
            img[:, :, W + dx:] = 0
        out[n] = img
    return out
''',
    },
    "ch07-is-translation-equivariant": {
        "the allclose formula written out": '''
def is_translation_equivariant(layer, x, shift):
    dy, dx = int(shift[0]), int(shift[1])
    a = layer(x.roll((dy, dx), (-2, -1))).detach()
    b = layer(x).detach().roll((dy, dx), (-2, -1))
    return bool(((a - b).abs() <= 1e-4 + 1e-4 * b.abs()).all().item())
''',
        "rolls by indexing with modular arithmetic": '''
def is_translation_equivariant(layer, x, shift):
    def move(t):
        H, W = t.shape[-2:]
        rows = (torch.arange(H, device=t.device) - shift[0]) % H
        cols = (torch.arange(W, device=t.device) - shift[1]) % W
        return t[..., rows, :][..., cols]
    with torch.no_grad():
        return torch.allclose(layer(move(x)), move(layer(x)), rtol=1e-4, atol=1e-4)
''',
    },
    "ch07-bag-of-words": {
        "bincount of the known indices": '''
def bag_of_words(tokens, vocab):
    unknown = vocab["<unk>"] if "<unk>" in vocab else -1
    idx = [vocab.get(t, unknown) for t in tokens]
    idx = torch.tensor([i for i in idx if i >= 0], dtype=torch.long)
    return torch.bincount(idx, minlength=len(vocab)).to(torch.float32)
''',
        "a Counter, then one entry per vocabulary word": '''
def bag_of_words(tokens, vocab):
    counts = Counter(tokens)
    out = [0.0] * len(vocab)
    for word, index in vocab.items():
        out[index] = float(counts.get(word, 0))
    if "<unk>" in vocab:
        out[vocab["<unk>"]] += sum(c for w, c in counts.items()
                                   if w not in vocab)
    return torch.tensor(out, dtype=torch.float32)
''',
    },
    "ch07-add-gaussian-noise": {
        "unit-RMS noise times sqrt(P_signal) * 10^(-snr/20)": '''
def add_gaussian_noise(waveform, snr_db, generator=None):
    n = torch.randn(waveform.shape, generator=generator, dtype=waveform.dtype)
    n = n.to(waveform.device)
    n = n / n.square().mean(dim=-1, keepdim=True).sqrt()
    rms = waveform.square().mean(dim=-1, keepdim=True).sqrt()
    return waveform + n * rms * 10 ** (-snr_db / 20)
''',
        "the gain computed in decibels": '''
def add_gaussian_noise(waveform, snr_db, generator=None):
    n = torch.normal(0.0, 1.0, size=tuple(waveform.shape), generator=generator,
                     dtype=waveform.dtype).to(waveform.device)
    p_s_db = 10 * torch.log10(torch.mean(waveform * waveform, -1, keepdim=True))
    p_n_db = 10 * torch.log10(torch.mean(n * n, -1, keepdim=True))
    gain = 10 ** ((p_s_db - snr_db - p_n_db) / 20)
    return waveform + gain * n
''',
    },
    "ch07-channel-stats": {
        "channels first, flatten, var_mean without correction": '''
def channel_stats(images):
    flat = images.transpose(0, 1).reshape(images.shape[1], -1)  # (C, N*H*W)
    var, mean = torch.var_mean(flat, dim=1, correction=0)
    return mean, var.sqrt()
''',
        "sums divided by the count": '''
def channel_stats(images):
    count = images.shape[0] * images.shape[2] * images.shape[3]
    mean = images.sum(dim=(0, 2, 3)) / count
    centred = images - mean.view(1, -1, 1, 1)
    std = torch.sqrt((centred * centred).sum(dim=(0, 2, 3)) / count)
    return mean, std
''',
    },
    "ch07-normalize-images": {
        "view(-1, 1, 1), subtract then divide": '''
def normalize_images(images, mean, std):
    centred = images - mean.view(-1, 1, 1)
    return centred / std.view(-1, 1, 1)
''',
        "channels moved last, then plain broadcasting": '''
def normalize_images(images, mean, std):
    last = images.movedim(-3, -1)
    return ((last - mean) / std).movedim(-1, -3)
''',
    },
}
