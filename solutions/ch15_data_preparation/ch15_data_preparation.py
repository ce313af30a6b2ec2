# %% [markdown]
# # Chapter 15: Data preparation
#
# A model never sees your data; it sees the batches that a data pipeline hands
# it. Most silent failures of deep-learning projects live in that pipeline: a
# label that goes through an image augmentation, a scaler that looked at the
# test set, a shuffle that is not reproducible, padding that a model mistakes
# for data. This chapter builds the pipeline piece by piece with PyTorch's
# `Dataset` and `DataLoader`, prepares features with the three scalers every
# practitioner uses, measures what a leak between training and test data does
# (and honestly, when it does little), and writes image augmentation in plain
# torch as a pipeline of small functions.
#
# **You will learn**
# - the map-style `Dataset` protocol (`__len__`, `__getitem__`) and how a
#   `DataLoader` turns it into batches: sampler, collate function, workers;
# - what `shuffle`, `drop_last`, `num_workers`, `worker_init_fn`, `generator`
#   and `pin_memory` do, which of them cost or save time on your machine, and
#   how to make an epoch's order and its random augmentations reproducible;
# - how to batch sequences of different lengths with padding and lengths, and
#   why the lengths must come from the shapes, never from the values;
# - z-score, min-max and robust (median and interquartile range) scaling, with
#   the details that tools disagree on: the divisor of the standard deviation,
#   constant features, how a median of an even count is taken;
# - why every statistic is fitted on the training split only, what a leak does
#   to a measured score, and where it matters most;
# - image augmentation (crop, flip, normalise) in plain torch, composed into a
#   pipeline, and which augmentations change a label.
#
# **Graded exercises** (18 points)
#
# | exercise | points |
# |---|---|
# | `ArrayDataset(*tensors, transform)` | 3 |
# | `pad_collate(batch, padding_value)` | 3 |
# | `fit_zscore(X)` | 3 |
# | `apply_zscore(X, mean, scale, inverse)` | 2 |
# | `minmax_scale(X, reference, feature_range)` | 2 |
# | `robust_scale(X, reference)` | 3 |
# | `random_flip(images, p, generator)` | 2 |
#
# Each exercise is a function or a class whose docstring states its whole
# contract: shapes, dtypes, devices, edge cases and the built-ins you may not
# call. Replace `raise NotImplementedError()` with your code and run the test
# cell below it. The visible tests show every rule the grader checks; hidden
# tests repeat them on other values, shapes and seeds.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_sample_images
from torch.utils.data import DataLoader, Dataset, get_worker_info

from dlcourse import get_device, set_seed
from dlcourse.checks import assert_close, assert_shape, expect_raises, forbid
from dlcourse.data import load_digits, load_tabular, train_test_split
from dlcourse.plotting import plot_images
from dlcourse.training import check_bar
from dlcourse.widgets import interactive_plot

device = get_device()  # the tests also run your code on this device
set_seed(0)
print(f"torch {torch.__version__}, device: {device}")

# %% [markdown]
# ## 15.1 The path from raw data to a batch
#
# Every training loop in this course ends up doing the same thing: take $B$
# examples, stack them into tensors, move them to the device, run the model.
# PyTorch splits the work that comes before the model into four roles:
#
# | piece | question it answers | in PyTorch |
# |---|---|---|
# | dataset | what is example $i$? | `Dataset.__getitem__(i)`, `__len__()` |
# | sampler | in which order are the indices visited? | `shuffle=True` or `sampler=` |
# | collate function | how do $B$ examples become one batch? | `collate_fn=` |
# | workers | who does the reading, in which process? | `num_workers=` |
#
# The dataset knows nothing about batches, the sampler nothing about the data,
# and the collate function nothing about where the examples came from. Each
# piece can be swapped on its own: a new file format changes only the dataset,
# sequences of different lengths only the collate function, a class-balanced
# order only the sampler.
#
# Preparation has a second half that happens once, before the pipeline runs:
# statistics computed from the training data (a mean and a scale per feature, a
# vocabulary, the mean colour of the images) and then applied, unchanged, to
# every split and to every input the model sees after deployment. Sections 15.4
# and 15.5 are about that half.

# %% [markdown]
# ## 15.2 Datasets
#
# A **map-style dataset** is any object with two methods:
#
# - `__len__()`: the number of examples $N$;
# - `__getitem__(i)`: example $i$ for $0 \le i < N$, usually a tuple such as
#   `(input, label)`.
#
# Subclassing `torch.utils.data.Dataset` documents the intent (and adds `+` to
# concatenate datasets), but the `DataLoader` only calls these two methods.
# (The other kind, an **iterable-style** dataset, only yields examples one after
# another: the right choice for a stream that cannot be indexed, such as lines
# of a file too large to hold or a network feed.)
#
# Two design decisions matter more than they seem:
#
# - **Where the transform runs.** A random augmentation must be drawn again
#   every time an example is read, so it belongs in `__getitem__`. Applying it
#   once in `__init__` gives every epoch the same "random" image: the model
#   sees a fixed, slightly distorted dataset instead of a new variant each time.
# - **What the transform touches.** An augmentation changes the input and never
#   the label: a label run through a "random noise" transform becomes a
#   different class. (For detection or segmentation the target is geometry,
#   boxes or masks, and must move with the image; that needs a transform that
#   takes both and is a different design.)
#
# In memory-resident data the dataset is a thin wrapper around tensors, which is
# what `torch.utils.data.TensorDataset` does. The exercise rebuilds it with a
# `transform` argument, which `TensorDataset` lacks.

# %% [markdown]
# ### Exercise 1: `ArrayDataset` (3 points)
#
# Write a dataset over one or more tensors that share their first dimension
# (inputs, labels, sample weights...). Reading item $i$ returns a tuple with row
# $i$ of every tensor; the optional `transform` is applied to the input (the
# first tensor) each time the item is read, and to nothing else. Negative
# indices count from the end as for a Python list; any other index outside the
# dataset raises `IndexError` (which is also how Python's `for` loop over an
# object with `__getitem__` knows where to stop). `TensorDataset` is forbidden.

# %% grade_id="ch15-array-dataset"
class ArrayDataset(Dataset):
    """A map-style dataset over tensors that share their first dimension.

    N is the number of examples. Each tensor has shape (N, ...) with any
    trailing shape, any dtype and any device (the tensors may differ in all
    three); tensors[0] holds the inputs, the others (labels, weights...) come
    along unchanged.

    Constructor arguments:
        *tensors: one or more tensors with at least one dimension, all with
            the same first dimension N (N may be 0). They are stored as given:
            not copied, not moved to another device.
        transform: None, or a function from a tensor to a tensor, applied to
            the input of an example every time that example is read (so a
            random augmentation is drawn anew at every read), never to the
            other tensors.

    ``len(dataset)`` is N (a Python int). ``dataset[i]``, for a Python int i
    with -N <= i < N (a negative i counts from the end, as for a list), is a
    tuple with one entry per tensor:
    ``(transform(tensors[0][i]), tensors[1][i], ...)``, or ``tensors[0][i]``
    as it is when transform is None. Every entry keeps the dtype and device of
    its tensor.

    Raises:
        ValueError: in the constructor, if no tensor is given or the tensors
            differ in their first dimension.
        IndexError: from ``dataset[i]`` when i < -N or i >= N.

    Do not use torch.utils.data.TensorDataset.
    """

    def __init__(self, *tensors, transform=None):
        ### BEGIN SOLUTION
        if not tensors:
            raise ValueError("ArrayDataset needs at least one tensor")
        sizes = [t.shape[0] for t in tensors]
        if len(set(sizes)) != 1:
            raise ValueError(f"the tensors differ in their first dimension: {sizes}")
        self.tensors = tensors
        self.transform = transform
        ### END SOLUTION

    def __len__(self):
        ### BEGIN SOLUTION
        return self.tensors[0].shape[0]
        ### END SOLUTION

    def __getitem__(self, index):
        ### BEGIN SOLUTION
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} is out of range for {n} examples")
        x, *rest = (t[index] for t in self.tensors)
        if self.transform is not None:
            x = self.transform(x)
        return (x, *rest)
        ### END SOLUTION


# %%
# Try it: ten digits with their labels, the inputs doubled on every read
digit_images, digit_labels = load_digits(images=True)  # (1797, 1, 8, 8), (1797,)
tiny = ArrayDataset(digit_images[:10], digit_labels[:10], transform=lambda x: 2 * x)
image, label = tiny[3]
print(f"{len(tiny)} examples; item 3: image {tuple(image.shape)} with maximum "
      f"{image.max():.1f}, label {label.item()}; the last label: {tiny[-1][1].item()}")

# %% grade_id="ch15-array-dataset-tests" points=3
"""ArrayDataset: a Dataset; len is N; item i is the tuple of rows i (negative i
from the end), with dtype and device kept (float64 and int64 on `device`); the
transform is applied to the input only, again at every read; IndexError outside
[-N, N); ValueError without tensors or for different first dimensions; a
DataLoader batches it like the tensors themselves; N = 1; no TensorDataset."""
banned_dataset = ("torch.utils.data.TensorDataset.__init__",
                  "torch.utils.data.TensorDataset.__getitem__")
gen = torch.Generator().manual_seed(0)
X = torch.randn(5, 2, 3, generator=gen, dtype=torch.float64).to(device)
y = torch.tensor([3, 1, 4, 1, 5], device=device)
w = torch.linspace(0.1, 0.5, 5, dtype=torch.float64)  # stays on the CPU
with forbid(*banned_dataset):
    ds = ArrayDataset(X, y, w)
    assert isinstance(ds, Dataset), "ArrayDataset must subclass Dataset"
    assert len(ds) == 5 and type(len(ds)) is int, f"len(ds) = {len(ds)!r}, expected 5"
    for i in (0, 3, -1, -5):
        item = ds[i]
        assert isinstance(item, tuple) and len(item) == 3, (
            f"ds[{i}]: expected a tuple of 3 entries (x, y, w), got {type(item)}")
        for got, full, what in zip(item, (X, y, w), ("x", "y", "w"), strict=True):
            assert_close(got, full[i], name=f"ds[{i}] entry {what}")
            assert got.device == full.device, (
                f"ds[{i}] entry {what} on {got.device}, expected {full.device}")
    for i in (5, 6, -6):
        expect_raises(IndexError, ds.__getitem__, i, name=f"ds[{i}] with N = 5")
    assert [int(label) for _, label, _ in ds] == [3, 1, 4, 1, 5], (
        "iterating over the dataset should stop after N items (IndexError at N)")

reads = []


def doubling(x):
    reads.append(1)
    return 2 * x


with forbid(*banned_dataset):
    ds = ArrayDataset(X, y, transform=doubling)
    assert not reads, "the transform ran before any item was read"
    x2, y2 = ds[2]
    assert_close(x2, 2 * X[2], name="transform(X[2]) from ds[2]")
    assert_close(y2, y[2], name="the label of ds[2] (never transformed)")
    _ = ds[2]
    assert len(reads) == 2, (
        f"two reads of ds[2] called the transform {len(reads)} time(s), expected 2: "
        "it must run at every read (a random augmentation is drawn anew)")
    expect_raises(ValueError, ArrayDataset, name="ArrayDataset() without tensors")
    expect_raises(ValueError, ArrayDataset, X, y[:4],
                  name="ArrayDataset(X with 5 rows, y with 4)")
    one = ArrayDataset(X[:1], y[:1])
    assert len(one) == 1, f"len of a dataset of one example: {len(one)}"
    batch_x, batch_y = next(iter(DataLoader(ArrayDataset(X, y), batch_size=4)))
assert_close(batch_x, X[:4], name="first DataLoader batch of inputs (batch_size=4)")
assert_close(batch_y, y[:4], name="first DataLoader batch of labels")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(5)
for _shapes in [((7,), (7, 3)), ((1, 4), (1,)), ((9, 2, 5), (9,), (9, 1, 1)),
                ((3, 6),)]:
    _ts = [torch.randn(_s, generator=_gen, dtype=torch.float64).to(device)
           for _s in _shapes]
    _ts[-1] = _ts[-1].to(torch.float32)
    _ref = torch.utils.data.TensorDataset(*_ts)
    _n = len(_ref)
    _wants = {_i: (_ref[_i][0] - 1, *_ref[_i][1:]) for _i in range(-_n, _n)}
    with forbid(*banned_dataset):
        _ds = ArrayDataset(*_ts, transform=lambda _v: _v - 1)
        assert len(_ds) == _n, f"len {len(_ds)}, expected {_n}"
        for _i, _want in _wants.items():
            _item = _ds[_i]
            assert isinstance(_item, tuple), f"ds[{_i}] is not a tuple"
            assert_close(_item, _want, name=f"ds[{_i}] for shapes {_shapes}")
        expect_raises(IndexError, _ds.__getitem__, _n,
                      name=f"ds[{_n}] for shapes {_shapes}")
        expect_raises(IndexError, _ds.__getitem__, -_n - 1,
                      name=f"ds[{-_n - 1}] for shapes {_shapes}")
_count = []
with forbid(*banned_dataset):
    _ds = ArrayDataset(X, y, w, transform=lambda _v: _count.append(1) or _v)
    for _ in range(3):
        _ = _ds[0]
assert len(_count) == 3, f"3 reads, {len(_count)} transform calls"
with forbid(*banned_dataset):
    expect_raises(ValueError, ArrayDataset, X, y, w[:2], name="third tensor too short")
    _loader = DataLoader(ArrayDataset(X, y, transform=lambda _v: _v * 3),
                         batch_size=2)
    _batches = list(_loader)
assert len(_batches) == 3, f"{len(_batches)} batches of 2 from 5 examples, expected 3"
assert_close(_batches[-1][0], 3 * X[4:], name="last batch, transformed inputs")
assert_close(_batches[-1][1], y[4:], name="last batch, labels")
### END HIDDEN TESTS

# %% [markdown]
# ## 15.3 The DataLoader
#
# `DataLoader(dataset, batch_size, ...)` draws indices from a sampler, reads
# the examples, and hands each group of `batch_size` examples to a **collate
# function**. The default one, `default_collate`, stacks tensors along a new
# first dimension (and turns numbers into tensors), recursing into tuples,
# lists and dicts: items `(x_i, y_i)` with `x_i` of shape $(C, H, W)$ become a
# batch `(X, Y)` with `X` of shape $(B, C, H, W)$. Its options, one by one:
#
# | option | what it does |
# |---|---|
# | `batch_size` | examples per batch; the last batch may be smaller |
# | `shuffle=True` | a new random order at every epoch (training only) |
# | `generator=` | the random generator of that order: reproducible epochs |
# | `drop_last=True` | drops the last, incomplete batch |
# | `collate_fn=` | builds a batch from a list of items |
# | `num_workers=k` | $k$ processes read the items in parallel |
# | `worker_init_fn=` | runs in each worker when it starts (set-up, seeding) |
# | `persistent_workers=True` | keeps the workers alive between epochs |
# | `pin_memory=True` | puts batches in page-locked memory, for a CUDA GPU |
#
# ### Shuffling and reproducible epochs
#
# With `shuffle=True` the loader draws a fresh permutation of $\{0, \dots,
# N-1\}$ at the start of every epoch, from the global random generator unless a
# `generator` is given. Pass one seeded generator and the whole sequence of
# epochs replays exactly: epoch 1 differs from epoch 2, but a rerun repeats both.

# %%
numbers = ArrayDataset(torch.arange(10))


def epoch_orders(seed, epochs=2):
    """The index order of each epoch of a shuffled loader with a seeded generator."""
    loader = DataLoader(numbers, batch_size=10, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    return [next(iter(loader))[0].tolist() for _ in range(epochs)]


first_run, second_run = epoch_orders(seed=0), epoch_orders(seed=0)
print("run 1, epochs 1 and 2:", first_run)
print("run 2, epochs 1 and 2:", second_run)
print("the two runs agree:", first_run == second_run,
      "| the two epochs differ:", first_run[0] != first_run[1])

# %% [markdown]
# ### The last batch: `drop_last`
#
# $N$ examples in batches of $B$ make $\lceil N / B \rceil$ batches, and the last
# one has $N - B \lfloor N/B \rfloor$ examples when $B$ does not divide $N$. With
# `drop_last=True` there are $\lfloor N/B \rfloor$ batches and that remainder is
# skipped (a different part of the data each epoch, when shuffling). Drop it in
# training when a small last batch does harm: a batch-norm layer in training mode
# cannot normalise a batch of one (chapter 12), and a one-example batch gives a
# very noisy gradient step. Never drop it in evaluation: the test set must be
# scored whole.

# %%
for drop in (False, True):
    sizes = [len(b[0]) for b in DataLoader(ArrayDataset(torch.arange(1797)),
                                           batch_size=64, drop_last=drop)]
    print(f"drop_last={drop!s:5}: {len(sizes)} batches, the last one of {sizes[-1]}, "
          f"{sum(sizes)} of 1797 examples seen")

# %% [markdown]
# ### Workers: when they help, and what they cost
#
# With `num_workers=0` (the default) the training process reads every example
# itself, between two training steps. With `num_workers=k` the loader starts $k$
# processes, each with its own copy of the dataset, which read whole batches in
# parallel and send them back through shared memory, so that the next batches
# are ready while the model trains on the current one (each worker prepares
# `prefetch_factor` batches ahead, 2 by default).
#
# Workers pay off when reading an example takes real time and is not just
# indexing into a tensor: files on a disk or a network drive, JPEG decoding,
# heavy per-example augmentation. They cost the start of $k$ processes at every
# epoch (unless `persistent_workers=True`), memory for the copies, and every
# batch is pickled across processes. And they share the machine's cores with the
# training process: when the work is computation, $k$ workers cannot go faster
# than the number of free cores allows.
#
# The next cell measures three kinds of examples, 32 of each, in batches of 8.
# "Instant" examples are rows of a tensor: no work at all, so any time with
# workers is their own cost. "Waiting" examples sleep 10 ms, as a read from a
# disk or a network does: waiting uses no core, so two workers can wait side by
# side. "Computing" examples multiply matrices for a similar time: that needs a
# core. The last line times two epochs with `persistent_workers=True`, where
# only the first pays for starting the workers.
#
# The figures depend on your machine (its cores, and what else runs on them),
# so read the ones your run prints rather than any written here. What to look
# for: the instant line shows the start-up of two workers, the price every
# epoch pays; on the waiting line, two workers can at best halve the 0.32 s
# of sleep, and they win only if that saving exceeds their start-up; on the
# computing line they can only win if two cores are free; and with persistent
# workers the second epoch skips the start-up. On a busy 2-core machine, such as
# the one this chapter was written on, workers did not pay for these tiny epochs;
# with free cores and slow reads (thousands of images decoded from disk) they
# help a great deal. Measure before you set `num_workers`.

# %%
class SlowDataset(Dataset):
    """Examples that take time to read: none, waiting (like I/O) or computing."""

    def __init__(self, n, kind):
        self.n, self.kind = n, kind

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if self.kind == "waiting":
            time.sleep(0.01)  # a disk or a network: no CPU used
        elif self.kind == "computing":
            a = torch.full((120, 120), 1.0 / (i + 1))
            for _ in range(12):  # needs a core
                a = a @ a.T / 120
        return torch.full((8,), float(i))


def seconds_per_epoch(loader):
    start = time.perf_counter()
    for _ in loader:
        pass
    return time.perf_counter() - start


print("the waiting examples sleep 32 x 10 ms = 0.32 s per epoch in all")
for kind in ("instant", "waiting", "computing"):
    data = SlowDataset(32, kind)
    times = [seconds_per_epoch(DataLoader(data, batch_size=8, num_workers=k))
             for k in (0, 2)]
    print(f"{kind:9s}: one epoch takes {times[0]:.2f} s with num_workers=0, "
          f"{times[1]:.2f} s with num_workers=2")
persistent = DataLoader(SlowDataset(32, "waiting"), batch_size=8, num_workers=2,
                        persistent_workers=True)
first_epoch, second_epoch = seconds_per_epoch(persistent), seconds_per_epoch(persistent)
print(f"waiting, persistent workers: epoch 1 {first_epoch:.2f} s, "
      f"epoch 2 {second_epoch:.2f} s")
del persistent  # stops its worker processes

# %% [markdown]
# ### Randomness inside workers
#
# Each worker is a copy of the main process, made when the epoch starts, and
# that includes every random generator the dataset holds. PyTorch reseeds
# torch's global generator, Python's `random` and NumPy's global `np.random` in
# each worker with `base_seed + worker_id`, where `base_seed` is drawn from the
# loader's generator at every epoch. A generator object stored in the dataset,
# such as `np.random.default_rng(0)`, is not reseeded: every worker starts from
# the same state and produces the same "random" numbers. The augmentations of
# worker 0's batches then repeat in worker 1's, and in the next epoch as well.
#
# The cell below shows the duplicates, then the fix: a `worker_init_fn` that
# gives each worker's generator the seed PyTorch chose for that worker
# (`get_worker_info().seed`). With a seeded `generator` on the loader, those
# seeds, and so the whole run, reproduce.

# %%
class NoisyDataset(Dataset):
    """Each item draws one random number from a generator owned by the dataset."""

    def __init__(self, n):
        self.n = n
        self.rng = np.random.default_rng(0)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return round(float(self.rng.random()), 4)


def reseed_worker(worker_id):
    """Give the dataset of this worker its own generator, seeded by PyTorch."""
    info = get_worker_info()
    info.dataset.rng = np.random.default_rng(info.seed)


def draws(worker_init_fn=None, seed=0):
    loader = DataLoader(NoisyDataset(8), batch_size=2, num_workers=2,
                        worker_init_fn=worker_init_fn,
                        generator=torch.Generator().manual_seed(seed))
    return [batch.tolist() for batch in loader]


print("one generator copied into both workers:", draws())
print("reseeded in worker_init_fn:            ", draws(reseed_worker))
print("the same again (a rerun reproduces):   ", draws(reseed_worker))

# %% [markdown]
# Batches 1 and 3 come from worker 0 and batches 2 and 4 from worker 1 (workers
# take batches in turn): without the fix, the two workers draw exactly the same
# numbers.
#
# ### Pinned memory and the copy to the GPU
#
# A copy from the CPU to a CUDA GPU goes through page-locked ("pinned") host
# memory, which the GPU can read directly. `pin_memory=True` makes the loader put
# its batches there, and then `batch.to(device, non_blocking=True)` can start the
# copy and return at once, so that the copy overlaps with the computation. On a
# machine without CUDA there is nothing to pin to, so tie the option to the
# device and the same code runs everywhere:
#
# ```python
# loader = DataLoader(train_set, batch_size=64, shuffle=True,
#                     pin_memory=(device.type == "cuda"))
# for X, y in loader:
#     X, y = X.to(device, non_blocking=True), y.to(device, non_blocking=True)
# ```
#
# When the whole dataset fits on the device, as the small datasets of this
# course do, the fastest loader is none at all: move the tensors to the device
# once and index batches there (chapter 8's training loop does this), so that no
# batch crosses the bus during training.

# %% [markdown]
# ## 15.4 Sequences of different lengths
#
# The default collate function stacks, so it fails on sentences, audio clips or
# time series of different lengths: tensors of shapes $(5,)$ and $(3,)$ cannot be
# stacked. The usual answer is **padding**: extend every sequence of the batch
# to the longest length $L = \max_i L_i$ with a padding value, and keep the true
# lengths $L_i$ next to the batch. The lengths then build a mask,
# `torch.arange(L) < lengths[:, None]`, which says which positions are real: an
# average over time must ignore the padding, attention must not attend to it,
# and a loss must not count it (chapter 10's `pack_padded_sequence` and chapter
# 22's padding masks use it).
#
# A classic mistake recovers the lengths from the padded values, with
# `(padded != 0).sum(dim=1)`: the first sequence that contains a real 0 (a
# token id, a silent audio sample, a sensor reading) gets a wrong length, and
# nothing warns you.

# %% [markdown]
# ### Exercise 2: `pad_collate` (3 points)
#
# Write a collate function for sequences: pad a list of $N$ tensors of shapes
# $(L_i, *F)$ to one tensor of shape $(N, L, *F)$, the padding at the end of each
# sequence, and return it with the lengths. The trailing shape $F$ is the
# feature shape of one time step: empty for token ids, $(D,)$ for vectors. Take
# the lengths from the shapes. `torch.nn.utils.rnn.pad_sequence`, which does the
# padding in one call, and its relatives are forbidden; allocating the output
# with `new_full` and copying each sequence into its rows is one way.

# %% grade_id="ch15-pad-collate"
def pad_collate(batch, padding_value=0):
    """Pad a list of sequences to a common length; return the batch and the lengths.

    N is the number of sequences, L_i the length of sequence i, L = max_i L_i
    and F the trailing (feature) shape shared by all sequences (F may be
    empty, e.g. for token ids).

    Args:
        batch: a non-empty list (or tuple) of N tensors; batch[i] has shape
            (L_i, *F) with L_i >= 0. All share F, the dtype and the device.
        padding_value: a Python number written into the padded positions.

    Returns:
        (padded, lengths):
        - padded: tensor of shape (N, L, *F) with the dtype and device of the
          sequences; padded[i, :L_i] equals batch[i] and padded[i, L_i:] is
          filled with padding_value (the padding comes at the end).
        - lengths: int64 tensor of shape (N,) on the same device, lengths[i] =
          L_i, read from the shapes (a real value may equal padding_value).
        The inputs are not modified.

    Raises:
        ValueError: if batch is empty, if a tensor has no dimension, or if the
            tensors differ in their trailing shape F.

    Do not call torch.nn.utils.rnn.pad_sequence, pack_sequence or
    pad_packed_sequence, torch._C._nn.pad_sequence, nor the torch.nested
    constructors (nested_tensor, as_nested_tensor, to_padded_tensor).
    """
    ### BEGIN SOLUTION
    if len(batch) == 0:
        raise ValueError("pad_collate needs at least one sequence")
    features = batch[0].shape[1:]
    for seq in batch:
        if seq.dim() == 0 or seq.shape[1:] != features:
            raise ValueError(f"a sequence of shape {tuple(seq.shape)} does not have "
                             f"the trailing shape {tuple(features)} of the first")
    sizes = [seq.shape[0] for seq in batch]
    padded = batch[0].new_full((len(batch), max(sizes), *features), padding_value)
    for i, seq in enumerate(batch):
        padded[i, :sizes[i]] = seq
    lengths = torch.tensor(sizes, dtype=torch.int64, device=batch[0].device)
    return padded, lengths
    ### END SOLUTION


# %%
# Try it: three "sentences" of token ids; 0 is a real token in the second one
sentences = [torch.tensor([7, 3, 9]), torch.tensor([4, 0]), torch.tensor([5])]
padded, lengths = pad_collate(sentences, padding_value=-1)
print(padded)
print("lengths:", lengths.tolist())
print("mask of real positions:\n", torch.arange(padded.shape[1]) < lengths[:, None])

# %% grade_id="ch15-pad-collate-tests" points=3
"""pad_collate: an example by hand (a real 0 inside a sequence, padding 0 and -1);
padding at the end; int64 lengths from the shapes; feature vectors (L_i, D) in
float64 on `device`; an empty sequence; a batch of 1; inputs not modified; usable
as a DataLoader collate_fn; ValueError for an empty batch, a 0-d tensor or
different trailing shapes; no pad_sequence and relatives."""
banned_padding = ("torch.nn.utils.rnn.pad_sequence", "torch.nn.utils.rnn.pack_sequence",
                  "torch.nn.utils.rnn.pad_packed_sequence", "torch._C._nn.pad_sequence",
                  "torch.nested.nested_tensor", "torch.nested.as_nested_tensor",
                  "torch.nested.to_padded_tensor")
seqs = [torch.tensor([5, 0, 7]), torch.tensor([3]), torch.tensor([0, 2])]
with forbid(*banned_padding):
    padded, lengths = pad_collate(seqs)
assert_close(padded, torch.tensor([[5, 0, 7], [3, 0, 0], [0, 2, 0]]),
             name="pad_collate([[5, 0, 7], [3], [0, 2]]) padded")
assert_close(lengths, torch.tensor([3, 1, 2]),
             name="lengths (from the shapes: real zeros are not padding)")
with forbid(*banned_padding):
    padded, lengths = pad_collate(seqs, padding_value=-1)
assert_close(padded, torch.tensor([[5, 0, 7], [3, -1, -1], [0, 2, -1]]),
             name="pad_collate(..., padding_value=-1) padded")
gen = torch.Generator().manual_seed(1)
seqs = [torch.randn(n, 4, generator=gen, dtype=torch.float64).to(device)
        for n in (2, 5, 0, 3)]
copies = [s.clone() for s in seqs]
with forbid(*banned_padding):
    padded, lengths = pad_collate(seqs, padding_value=0.5)
assert_shape(padded, (4, 5, 4), name="padded for lengths (2, 5, 0, 3), D = 4")
assert padded.dtype == torch.float64, f"padded dtype {padded.dtype}, expected float64"
assert padded.device == seqs[0].device, f"padded on {padded.device}, expected {device}"
assert lengths.dtype == torch.int64, f"lengths dtype {lengths.dtype}, expected int64"
assert lengths.device == seqs[0].device, f"lengths on {lengths.device}, not {device}"
assert lengths.tolist() == [2, 5, 0, 3], f"lengths {lengths.tolist()}, not [2, 5, 0, 3]"
for i, s in enumerate(seqs):
    assert_close(padded[i, :len(s)], s, name=f"padded[{i}, :{len(s)}]")
    assert (padded[i, len(s):] == 0.5).all(), f"padded[{i}, {len(s)}:] is not 0.5"
assert all(torch.equal(a, b) for a, b in zip(seqs, copies, strict=True)), (
    "pad_collate modified a sequence")
with forbid(*banned_padding):
    padded, lengths = pad_collate([seqs[1]])
assert_close(padded, seqs[1][None], name="pad_collate of a batch of 1")
assert lengths.tolist() == [5], f"lengths of a batch of 1: {lengths.tolist()}"
with forbid(*banned_padding):
    loader = DataLoader(seqs, batch_size=4, collate_fn=pad_collate)
    padded, lengths = next(iter(loader))
assert_shape(padded, (4, 5, 4), name="a DataLoader batch with collate_fn=pad_collate")
expect_raises(ValueError, pad_collate, [], name="pad_collate([])")
expect_raises(ValueError, pad_collate, [torch.tensor(1.0)], name="a 0-d tensor")
expect_raises(ValueError, pad_collate, [torch.zeros(2, 3), torch.zeros(2, 4)],
              name="pad_collate with trailing shapes (3,) and (4,)")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(7)
for _lens, _feat, _dtype, _pad in [((7, 1, 4), (), torch.int64, 0),
                                   ((3, 9, 9, 2, 6), (3,), torch.float32, -2.5),
                                   ((1,), (2, 5), torch.float64, 1.0),
                                   ((0, 4, 0), (3,), torch.float64, 0.0),
                                   ((6, 2), (), torch.int64, 99)]:
    if _dtype == torch.int64:
        _seqs = [torch.randint(0, 3, (_n, *_feat), generator=_gen).to(device)
                 for _n in _lens]
    else:
        _seqs = [torch.randn(_n, *_feat, generator=_gen, dtype=_dtype).to(device)
                 for _n in _lens]
    _want = torch.nn.utils.rnn.pad_sequence(_seqs, batch_first=True,
                                            padding_value=_pad)
    with forbid(*banned_padding):
        _got, _glen = pad_collate(_seqs, padding_value=_pad)
    assert_close(_got, _want, rtol=0, atol=0, name=f"padded for lengths {_lens}")
    assert _got.device == _want.device, f"padded on {_got.device}"
    assert_close(_glen, torch.tensor(_lens, device=device),
                 name=f"lengths for {_lens} (padding value {_pad})")
    assert _glen.device == _want.device, f"lengths on {_glen.device}"
expect_raises(ValueError, pad_collate, [torch.zeros(3, 2), torch.zeros(3)],
              name="pad_collate with shapes (3, 2) and (3,)")
### END HIDDEN TESTS

# %% [markdown]
# To batch labelled sequences, a dataset returns `(sequence, label)` pairs and
# a small collate function pads the sequences and stacks the labels:
#
# ```python
# def collate_labelled(items):
#     sequences, labels = zip(*items)
#     padded, lengths = pad_collate(list(sequences))
#     return padded, lengths, torch.stack(labels)
# ```
#
# ### How much of a padded batch is padding?
#
# Padding is wasted work: a recurrent network or a transformer computes on every
# position of the $(N, L)$ batch. In a shuffled batch $L$ is set by the single
# longest sequence, so the waste grows with the spread of the lengths.
# **Bucketing** (sorting by length, cutting the sorted list into batches, and
# shuffling the order of the batches rather than the examples) puts sequences of
# similar length together. The cell below measures both on the lines of a real
# text, the help topics that ship with Python. (It sorts everything, the extreme
# case; a training loader usually shuffles within groups of similar lengths, so
# that batches still vary from epoch to epoch, and keeps a little padding.)

# %%
from pydoc_data.topics import topics  # Python's own help texts, offline

lines = [line for text in topics.values() for line in text.split("\n") if line.strip()]
line_lengths = torch.tensor([len(line) for line in lines])
order = torch.randperm(len(lines), generator=torch.Generator().manual_seed(0))


def padding_fraction(index_order, batch_size=32):
    """Fraction of the padded positions that are padding, over all batches."""
    real = padded_total = 0
    for start in range(0, len(index_order), batch_size):
        chunk = line_lengths[index_order[start:start + batch_size]]
        real += int(chunk.sum())
        padded_total += len(chunk) * int(chunk.max())
    return 1 - real / padded_total


shuffled_waste = padding_fraction(order)
by_length = order[torch.argsort(line_lengths[order], stable=True)]  # line indices
bucketed_waste = padding_fraction(by_length)
print(f"{len(lines)} lines of {int(line_lengths.min())} to {int(line_lengths.max())} "
      "characters")
print(f"padding in batches of 32: shuffled {shuffled_waste:.0%}, "
      f"bucketed by length {bucketed_waste:.0%}")

fig, ax = plt.subplots(figsize=(6, 3))
ax.hist(line_lengths.numpy(), bins=60, color="C0", label="lines of the help topics")
ax.set(xlabel="length (characters)", ylabel="number of lines",
       title="Sequence lengths vary: padding to the longest wastes positions")
ax.legend()
plt.show()

# %% [markdown]
# ## 15.5 Scaling features
#
# ### Why scale at all
#
# A linear model or a network starts from small random weights, so all features
# enter the first layer on the scale they come in. The breast-cancer data has
# 30 features whose values run from 0 to several thousand (a cell's area in
# square pixels next to a smoothness below 1). For the loss
# $\mathcal{L}(w)$ of a linear model the curvature along weight $w_j$ grows with
# $\mathbb{E}[x_j^2]$, so the surface is a long, narrow valley: steep across
# the large features, nearly flat along the small ones. Gradient descent must
# take steps small enough for the steepest direction, and then crawls along
# the flat ones (chapter 4). The ratio of the largest to the smallest
# eigenvalue of $\frac{1}{N} X^\top X$, the **condition number**, measures how
# narrow the valley is.
#
# The cell below trains a logistic regression by full-batch gradient descent for
# 300 steps on the raw features, with the learning rate that gave the lowest
# final loss among $10^{-7}, 10^{-6}, 10^{-5}$ and $10^{-4}$ (larger steps make
# the loss jump around), and on standardised features. The bar for
# the standardised model: at least 95% test accuracy.

# %%
X_cancer, y_cancer, cancer_features = load_tabular("breast_cancer")
Xc_train, Xc_test, yc_train, yc_test = train_test_split(X_cancer, y_cancer,
                                                        test_fraction=0.3, seed=0)
print(f"{len(X_cancer)} rows: train {tuple(Xc_train.shape)}, test "
      f"{tuple(Xc_test.shape)}; feature values from {X_cancer.min():.3g} to "
      f"{X_cancer.max():.4g}")


def condition_number(X):
    """Largest over smallest eigenvalue of X^T X / N, with a column of ones."""
    A = torch.cat([X, torch.ones(len(X), 1, dtype=X.dtype)], dim=1).double()
    eigenvalues = torch.linalg.eigvalsh(A.T @ A / len(A))
    return (eigenvalues.max() / eigenvalues.min()).item()


def train_logistic(X_tr, y_tr, X_te, y_te, lr, num_steps):
    """Full-batch gradient descent on the logistic loss; losses and test accuracy."""
    X_tr, y_tr, X_te, y_te = (t.to(device) for t in (X_tr, y_tr, X_te, y_te))
    w = torch.zeros(X_tr.shape[1], device=device, requires_grad=True)
    b = torch.zeros((), device=device, requires_grad=True)
    optimizer = torch.optim.SGD([w, b], lr=lr)
    losses = []
    for _ in range(num_steps):
        loss = F.binary_cross_entropy_with_logits(X_tr @ w + b, y_tr.float())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        accuracy = ((X_te @ w + b > 0).long() == y_te).float().mean().item()
    return losses, accuracy


# %%
NUM_STEPS = 300  # the knob: more steps help the raw features a little, slowly
set_seed(0)
mean_c, std_c = Xc_train.mean(dim=0), Xc_train.std(dim=0, correction=0)
Zc_train, Zc_test = (Xc_train - mean_c) / std_c, (Xc_test - mean_c) / std_c
raw_losses, raw_accuracy = train_logistic(Xc_train, yc_train, Xc_test, yc_test,
                                          lr=1e-5, num_steps=NUM_STEPS)
std_losses, std_accuracy = train_logistic(Zc_train, yc_train, Zc_test, yc_test,
                                          lr=0.5, num_steps=NUM_STEPS)
print(f"condition number: raw {condition_number(Xc_train):.2g}, "
      f"standardised {condition_number(Zc_train):.2g}")
print(f"test accuracy: raw features {raw_accuracy:.3f}, "
      f"standardised {std_accuracy:.3f}")
check_bar("test accuracy with standardised features", std_accuracy, 0.95)

fig, ax = plt.subplots(figsize=(6, 3.4))
ax.plot(raw_losses, label="raw features, lr = 1e-5")
ax.plot(std_losses, label="standardised features, lr = 0.5")
ax.set(yscale="log", xlabel="gradient-descent step", ylabel="training loss",
       title="The same model, the same steps: scaling decides the speed")
ax.legend()
plt.show()

# %% [markdown]
# The standardised problem still has a large condition number: some of the 30
# features measure nearly the same thing (a radius, a perimeter and an area), and
# no per-feature scaling removes such correlations (whitening with PCA would).
# Scaling fixes the part of the problem that comes from units, which is the part
# that made the raw features hopeless.
#
# Decision trees and their ensembles do not need any of this: a split compares
# one feature with a threshold, and a monotone rescaling moves the threshold
# with the data. Networks, linear models, k-nearest neighbours, SVMs and PCA all
# do.
#
# ### The z-score
#
# **Standardisation** moves every feature $j$ to mean 0 and standard deviation
# 1 on the training data:
#
# $$\mu_j = \frac{1}{N}\sum_{i=1}^{N} x_{ij}, \qquad
#   \sigma_j = \sqrt{\frac{1}{N}\sum_{i=1}^{N} (x_{ij} - \mu_j)^2}, \qquad
#   z_{ij} = \frac{x_{ij} - \mu_j}{\sigma_j}.$$
#
# Two details that tools disagree on, and that the course fixes here:
#
# - **The divisor.** The formula divides by $N$: the standard deviation of the
#   data at hand (`ddof=0`), which is what scikit-learn's `StandardScaler` and
#   NumPy's `np.std` use, and what makes the scaled training data have standard
#   deviation exactly 1. `torch.std` and `pandas.Series.std` divide by $N - 1$
#   by default (the unbiased estimate of chapter 3's sample variance), which
#   gives slightly larger $\sigma_j$; pass `correction=0` to get the formula.
# - **Constant features.** A feature with the same value in every training row
#   has $\sigma_j = 0$. Dividing by it gives NaN or infinity; adding a small
#   $\varepsilon$ to the denominator, a common trick, divides by
#   $10^{-8}$ and turns a test value that differs from the constant by $0.01$
#   into $10^{6}$. The clean rule, scikit-learn's too, is to use a scale of 1
#   for such a feature: it becomes 0 on the training data, and a new value
#   keeps its distance from the constant, in the feature's units.
#
# Fitting and applying are two separate steps: `fit_zscore` computes
# $(\mu, \sigma)$ once, on the training split, and `apply_zscore` uses those
# numbers for everything (training, validation and test data, and every input
# at deployment). They are stored with the model, because a model trained on
# scaled inputs is meaningless without them.

# %% [markdown]
# ### Exercise 3: `fit_zscore` (3 points)
#
# Compute the per-feature mean and scale of a data matrix: the standard
# deviation with divisor $N$, and 1 for a feature whose values are all equal.
# Decide that from the values (for example, the feature's largest value equals
# its smallest), not from the computed deviation: the mean of seven copies of
# 0.1 is not exactly 0.1 in floating point, and a deviation computed from it may
# be $10^{-17}$ rather than 0 in float64, and about $10^{-7}$ in float32. So
# `std == 0` misses such features, and so does a fixed small tolerance such as
# $10^{-12}$ in float32; the visible tests include both cases. Nothing is
# forbidden; the hidden tests compare with scikit-learn's `StandardScaler`.

# %% grade_id="ch15-fit-zscore"
def fit_zscore(X):
    """Per-feature mean and scale of a z-score (standard) scaler.

    N is the number of rows (examples) and D the number of features.

    Args:
        X: floating-point tensor of shape (N, D) with N >= 1.

    Returns:
        (mean, scale), two tensors of shape (D,) with the dtype and device of
        X:
        - mean[j] = (1/N) sum_i X[i, j];
        - scale[j] = sqrt((1/N) sum_i (X[i, j] - mean[j])^2), the standard
          deviation with divisor N (ddof = 0, as scikit-learn's
          StandardScaler; not N - 1), except that scale[j] = 1 when all N
          values of feature j are equal (a constant feature, with N = 1 every
          feature). Test the values themselves (e.g. max == min), not the
          computed deviation: for a constant feature it can come out as 1e-17
          in float64 or 1e-7 in float32 instead of 0.
        X is not modified.

    Raises:
        ValueError: if X is not 2-D or has no rows.
    """
    ### BEGIN SOLUTION
    if X.dim() != 2 or X.shape[0] == 0:
        raise ValueError(f"X must have shape (N, D) with N >= 1, got {tuple(X.shape)}")
    mean = X.mean(dim=0)
    std = X.std(dim=0, correction=0)
    constant = (X == X[0]).all(dim=0)  # (D,)
    scale = torch.where(constant, torch.ones_like(std), std)
    return mean, scale
    ### END SOLUTION


# %%
# Try it: 4 examples, 3 features (the middle one is constant)
X_small = torch.tensor([[1.0, 10.0, 2.0], [3.0, 10.0, 4.0], [5.0, 10.0, 0.0],
                        [7.0, 10.0, 2.0]])
mean_small, scale_small = fit_zscore(X_small)
print("mean:", mean_small.tolist(), " scale:", scale_small.tolist())

# %% grade_id="ch15-fit-zscore-tests" points=3
"""fit_zscore: an example by hand (divisor N, not N - 1; scale 1 for a constant
feature, also a constant 0.1 that is not exactly representable); a feature whose
first rows are equal but not all (not constant); N = 1; float64 on `device`; a
float32 constant feature (a deviation near 1e-7, still scale 1); X not modified;
ValueError for no rows and for a 1-D X."""
X = torch.tensor([[1.0, 10.0, 2.0], [3.0, 10.0, 4.0], [5.0, 10.0, 0.0],
                  [7.0, 10.0, 2.0]])
mean, scale = fit_zscore(X)
assert_close(mean, torch.tensor([4.0, 10.0, 2.0]), name="mean of the example")
assert_close(scale, torch.tensor([5.0**0.5, 1.0, 2.0**0.5]),
             name="scale of the example: sqrt(20 / 4) for column 0 (divisor N, not "
                  "N - 1), 1 for the constant column 1")
gen = torch.Generator().manual_seed(2)
X = torch.randn(7, 4, generator=gen, dtype=torch.float64).to(device) * 3 + 1
X[:, 2] = 0.1  # a constant feature
X[1:3, 3] = X[0, 3]  # rows 0, 1 and 2 agree on feature 3, the others do not
before = X.clone()
mean, scale = fit_zscore(X)
want_mean = X.sum(dim=0) / 7
want_scale = ((X - want_mean) ** 2).sum(dim=0).div(7).sqrt()
want_scale[2] = 1.0
assert_close(mean, want_mean, rtol=1e-10, atol=1e-12, name="mean, float64 (7, 4)")
assert_close(scale, want_scale, rtol=1e-10, atol=1e-12, name="scale, float64 (7, 4)")
assert mean.device == X.device and scale.device == X.device, "results not on X.device"
assert torch.equal(X, before), "fit_zscore modified X"
mean, scale = fit_zscore(X[3:4])
assert_close(mean, X[3], rtol=1e-12, atol=1e-12, name="mean of a single row")
assert_close(scale, torch.ones(4, dtype=torch.float64, device=device),
             name="scale of a single row (every feature constant)")
X32 = torch.randn(200, 3, generator=gen, dtype=torch.float64) * 3 + 1
X32[:, 1] = -3.7  # constant; a deviation computed in float32 may be ~1e-7
X32 = X32.float().to(device)
mean, scale = fit_zscore(X32)
want = X32.double()
want_scale = want.std(dim=0, correction=0).float()
want_scale[1] = 1.0
assert mean.dtype == torch.float32 and scale.dtype == torch.float32, (
    f"dtypes {mean.dtype}, {scale.dtype} for a float32 X, expected float32")
assert_close(mean, want.mean(dim=0).float(), rtol=1e-5, atol=1e-5,
             name="mean, float32 (200, 3)")
assert_close(scale, want_scale, rtol=1e-5, atol=1e-6,
             name="scale, float32 (200, 3), feature 1 constant (-3.7 in every row)")
expect_raises(ValueError, fit_zscore, X[:0], name="fit_zscore(X with 0 rows)")
expect_raises(ValueError, fit_zscore, X[0], name="fit_zscore(1-D X)")
### BEGIN HIDDEN TESTS
from sklearn.preprocessing import StandardScaler as _StandardScaler

_gen = torch.Generator().manual_seed(9)
for _n, _d, _dtype in [(9, 5, torch.float64), (1, 6, torch.float64),
                       (200, 3, torch.float32), (2, 1, torch.float64),
                       (31, 7, torch.float64)]:
    _x = (torch.randn(_n, _d, generator=_gen, dtype=torch.float64)
          * torch.logspace(-2, 3, _d, dtype=torch.float64) + 5)
    if _d > 2:
        _x[:, 1] = -3.7
        _x[: _n // 2 + 1, 2] = 2.5  # equal in most rows, not constant
    _ref = _StandardScaler().fit(_x.numpy())
    _x = _x.to(device, _dtype)
    _m, _s = fit_zscore(_x)
    _tol = 1e-10 if _dtype == torch.float64 else 1e-4
    assert_close(_m, torch.tensor(_ref.mean_, dtype=_dtype, device=device),
                 rtol=_tol, atol=_tol, name=f"mean, {_dtype} ({_n}, {_d})")
    assert_close(_s, torch.tensor(_ref.scale_, dtype=_dtype, device=device),
                 rtol=_tol, atol=_tol, name=f"scale, {_dtype} ({_n}, {_d})")
    assert _m.device == _x.device and _s.device == _x.device, "not on X.device"
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 4: `apply_zscore` (2 points)
#
# Apply fitted statistics: $z = (x - \mu) / \sigma$, or the inverse, $x = z\sigma +
# \mu$. The inverse is what you need when the **target** of a regression was
# standardised for training: the model predicts in scaled units, and the
# predictions go back to the original units (dollars, degrees) through the
# inverse with the target's statistics. The function takes one example of shape
# $(D,)$ as well as a batch, because that is how inputs often arrive after
# deployment, one at a time. It must never compute statistics from its input:
# that is section 15.6's leak, and with a single example it is not even
# possible.

# %% grade_id="ch15-apply-zscore"
def apply_zscore(X, mean, scale, inverse=False):
    """Standardise with given statistics, or undo it.

    D is the number of features; ... are any leading dimensions (none for one
    example of shape (D,), M for a batch of shape (M, D)).

    Args:
        X: floating-point tensor of shape (..., D).
        mean, scale: tensors of shape (D,) (from fit_zscore), with the dtype
            and device of X; every scale[j] > 0.
        inverse: False to standardise, True to undo a standardisation.

    Returns:
        Tensor of the shape, dtype and device of X:
        (X - mean) / scale when inverse is False, X * scale + mean when it is
        True, feature j using mean[j] and scale[j]. Only the statistics given
        are used (nothing is computed from X). X is not modified.

    Raises:
        ValueError: if the last dimension of X is not D = len(mean).
    """
    ### BEGIN SOLUTION
    if X.shape[-1:] != mean.shape:
        raise ValueError(f"X has {X.shape[-1:]} features, the statistics {mean.shape}")
    if inverse:
        return X * scale + mean
    return (X - mean) / scale
    ### END SOLUTION


# %%
# Try it: statistics fitted elsewhere, applied to two new rows and undone
stats = torch.tensor([4.0, 10.0, 2.0]), torch.tensor([2.0, 1.0, 0.5])
scaled = apply_zscore(torch.tensor([[4.0, 10.0, 2.0], [9.0, 11.0, -1.0]]), *stats)
print(scaled)
print(apply_zscore(scaled, *stats, inverse=True))

# %% grade_id="ch15-apply-zscore-tests" points=2
"""apply_zscore: the given statistics, not the input's own (new rows and a single
row); the inverse and a round trip; a batch of shape (2, M, D); float64 on
`device`; X not modified; ValueError when the feature counts differ."""
mean = torch.tensor([4.0, 10.0, 2.0])
scale = torch.tensor([2.0, 1.0, 0.5])
X = torch.tensor([[4.0, 10.0, 2.0], [8.0, 11.0, 1.0]])
assert_close(apply_zscore(X, mean, scale), torch.tensor([[0.0, 0.0, 0.0],
                                                         [2.0, 1.0, -2.0]]),
             name="apply_zscore of two rows (the statistics given, not X's own)")
assert_close(apply_zscore(X[1], mean, scale), torch.tensor([2.0, 1.0, -2.0]),
             name="apply_zscore of a single example of shape (D,)")
assert_close(apply_zscore(torch.tensor([2.0, 1.0, -2.0]), mean, scale, inverse=True),
             X[1], name="apply_zscore(z, mean, scale, inverse=True)")
gen = torch.Generator().manual_seed(3)
X = torch.randn(2, 5, 3, generator=gen, dtype=torch.float64).to(device)
mean = torch.randn(3, generator=gen, dtype=torch.float64).to(device)
scale = torch.rand(3, generator=gen, dtype=torch.float64).to(device) + 0.5
before = X.clone()
Z = apply_zscore(X, mean, scale)
assert_close(Z, (X - mean) / scale, rtol=1e-12, atol=1e-12,
             name="apply_zscore of a float64 (2, 5, 3) batch on device")
assert Z.device == X.device, f"result on {Z.device}, expected {X.device}"
assert torch.equal(X, before), "apply_zscore modified X"
assert_close(apply_zscore(Z, mean, scale, inverse=True), X, rtol=1e-12, atol=1e-12,
             name="inverse of apply_zscore (the round trip)")
expect_raises(ValueError, apply_zscore, X[..., :2], mean, scale,
              name="apply_zscore(X with 2 features, statistics of 3)")
### BEGIN HIDDEN TESTS
from sklearn.preprocessing import StandardScaler as _StandardScaler

_gen = torch.Generator().manual_seed(13)
for _n, _d in [(11, 4), (1, 7), (5, 1), (40, 9)]:
    _tr = torch.randn(3 * _n + 2, _d, generator=_gen, dtype=torch.float64) * 4 - 1
    _te = torch.randn(_n, _d, generator=_gen, dtype=torch.float64) * 2 + 3
    _ref = _StandardScaler().fit(_tr.numpy())
    _m = torch.tensor(_ref.mean_, device=device)
    _s = torch.tensor(_ref.scale_, device=device)
    _x = _te.to(device)
    _want = torch.tensor(_ref.transform(_te.numpy()), device=device)
    _got = apply_zscore(_x, _m, _s)
    assert_close(_got, _want, rtol=1e-10, atol=1e-10, name=f"test rows ({_n}, {_d})")
    assert _got.device == _x.device, "not on X.device"
    _back = torch.tensor(_ref.inverse_transform(_te.numpy()), device=device)
    assert_close(apply_zscore(_x, _m, _s, inverse=True), _back, rtol=1e-10,
                 atol=1e-10, name=f"inverse ({_n}, {_d})")
    assert_close(apply_zscore(_x[0], _m, _s), _want[0], rtol=1e-10, atol=1e-10,
                 name=f"one example of {_d} features")
_x32 = _x.float()
assert_close(apply_zscore(_x32, _m.float(), _s.float()), _want.float(), rtol=1e-4,
             atol=1e-4, name="float32")
expect_raises(ValueError, apply_zscore, _x[:, :1], _m, _s, name="1 feature vs 9")
### END HIDDEN TESTS

# %% [markdown]
# ### Min-max scaling
#
# **Min-max scaling** maps each feature's training range $[m_j, M_j]$ onto a
# target interval $[a, b]$, usually $[0, 1]$:
#
# $$x'_{ij} = a + (b - a)\,\frac{x_{ij} - m_j}{M_j - m_j}.$$
#
# It keeps zeros of sparse data at a fixed place (when $m_j = 0$) and suits
# inputs that must lie in a known interval (pixel intensities, the inputs of a
# sigmoid-output autoencoder). Two properties to know: new data is **not**
# guaranteed to land in $[a, b]$ (a test value above the training maximum maps
# above $b$, and must, since clipping would hide the difference), and one
# outlier sets $M_j$ and squeezes every other value into a sliver of the
# interval. When $M_j = m_j$ the feature is constant on the training data; as
# with the z-score, the denominator is then taken as 1, so that the training
# values map to $a$ and a new value keeps its offset from the constant,
# multiplied by $b - a$ (scikit-learn's `MinMaxScaler` does the same).
#
# The function below takes the data to scale, `X`, and the data to compute the
# statistics from, `reference`: the training split. Called with only `X` it uses
# `X` itself, which is right only when `X` *is* the training split.

# %% [markdown]
# ### Exercise 5: `minmax_scale` (2 points)
#
# Implement the formula with the per-feature minimum and maximum of `reference`,
# the rule for constant features, and the checks on the arguments. Nothing is
# forbidden; the hidden tests compare with scikit-learn's `MinMaxScaler`.

# %% grade_id="ch15-minmax-scale"
def minmax_scale(X, reference=None, feature_range=(0.0, 1.0)):
    """Map each feature's range on the reference data onto feature_range.

    M is the number of rows to scale, N the number of reference rows and D the
    number of features.

    Args:
        X: floating-point tensor of shape (M, D), the data to scale.
        reference: None or a floating-point tensor of shape (N, D), N >= 1,
            with the dtype and device of X: the data the minimum m_j and the
            maximum M_j of each feature are computed from (the training
            split). None means X itself.
        feature_range: a pair (a, b) of Python numbers with a < b.

    Returns:
        Tensor of shape (M, D) with the dtype and device of X:
        out[i, j] = a + (b - a) * (X[i, j] - m_j) / (M_j - m_j), where the
        denominator is taken as 1 when M_j == m_j (a feature constant on the
        reference). Values of X outside [m_j, M_j] map outside [a, b] (no
        clipping). X and reference are not modified.

    Raises:
        ValueError: if a >= b, if reference has no rows, or if X and reference
            differ in their number of features.
    """
    ### BEGIN SOLUTION
    a, b = feature_range
    if not a < b:
        raise ValueError(f"feature_range must have a < b, got {feature_range}")
    ref = X if reference is None else reference
    if ref.shape[0] == 0 or ref.shape[1] != X.shape[1]:
        raise ValueError(f"reference of shape {tuple(ref.shape)} does not fit X of "
                         f"shape {tuple(X.shape)}")
    low, high = ref.amin(dim=0), ref.amax(dim=0)
    span = torch.where(high > low, high - low, torch.ones_like(high))
    return a + (b - a) * (X - low) / span
    ### END SOLUTION


# %%
# Try it: the statistics of the first three rows, applied to a fourth one
X_tr = torch.tensor([[0.0, 5.0], [10.0, 5.0], [5.0, 5.0]])
print(minmax_scale(X_tr))
print(minmax_scale(torch.tensor([[12.0, 6.0]]), reference=X_tr))

# %% grade_id="ch15-minmax-scale-tests" points=2
"""minmax_scale: an example by hand; statistics from the reference, not from X
(values outside the range map outside [a, b]); feature_range (-1, 1); a constant
feature (denominator 1); float64 on `device`; inputs not modified; ValueError for
a >= b, an empty reference and different feature counts."""
X_tr = torch.tensor([[0.0, 5.0, -2.0], [10.0, 5.0, 2.0], [5.0, 5.0, 0.0]])
assert_close(minmax_scale(X_tr), torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 1.0],
                                               [0.5, 0.0, 0.5]]),
             name="minmax_scale of the example (the constant column maps to a = 0)")
X_new = torch.tensor([[12.0, 6.0, -4.0], [2.5, 5.0, 1.0]])
assert_close(minmax_scale(X_new, reference=X_tr),
             torch.tensor([[1.2, 1.0, -0.5], [0.25, 0.0, 0.75]]),
             name="minmax_scale(X_new, reference=X_tr): the reference's statistics")
assert_close(minmax_scale(X_new, reference=X_tr, feature_range=(-1, 1)),
             torch.tensor([[1.4, 1.0, -2.0], [-0.5, -1.0, 0.5]]),
             name="minmax_scale(X_new, reference=X_tr, feature_range=(-1, 1))")
gen = torch.Generator().manual_seed(4)
ref = torch.randn(9, 4, generator=gen, dtype=torch.float64).to(device)
X = torch.randn(5, 4, generator=gen, dtype=torch.float64).to(device)
copies = ref.clone(), X.clone()
out = minmax_scale(X, ref, (2.0, 3.0))
low, high = ref.min(dim=0).values, ref.max(dim=0).values
assert_close(out, 2 + (X - low) / (high - low), rtol=1e-12, atol=1e-12,
             name="minmax_scale of float64 (5, 4) with a (9, 4) reference on device")
assert out.device == X.device, f"result on {out.device}, expected {X.device}"
assert torch.equal(ref, copies[0]) and torch.equal(X, copies[1]), "an input changed"
expect_raises(ValueError, minmax_scale, X, ref, (1.0, 1.0), name="feature_range (1, 1)")
expect_raises(ValueError, minmax_scale, X, ref[:0], name="an empty reference")
expect_raises(ValueError, minmax_scale, X, ref[:, :3], name="4 features vs 3")
### BEGIN HIDDEN TESTS
from sklearn.preprocessing import MinMaxScaler as _MinMaxScaler

_gen = torch.Generator().manual_seed(17)
for _n, _m, _d, _range in [(13, 6, 5, (0.0, 1.0)), (1, 3, 4, (0.0, 1.0)),
                           (40, 1, 7, (-3.0, 0.5)), (2, 9, 1, (5, 8))]:
    _ref = torch.randn(_n, _d, generator=_gen, dtype=torch.float64) * 7 + 2
    if _d > 3:
        _ref[:, 2] = 1.25
    _x = torch.randn(_m, _d, generator=_gen, dtype=torch.float64) * 9
    _want = torch.tensor(_MinMaxScaler(feature_range=_range).fit(_ref.numpy())
                         .transform(_x.numpy()), device=device)
    _got = minmax_scale(_x.to(device), _ref.to(device), _range)
    assert_close(_got, _want, rtol=1e-10, atol=1e-10,
                 name=f"({_m}, {_d}) with a ({_n}, {_d}) reference, range {_range}")
    assert _got.device == _want.device, "not on X.device"
_self = torch.tensor(_MinMaxScaler().fit_transform(_ref.numpy()), device=device)
assert_close(minmax_scale(_ref.to(device)), _self, rtol=1e-10, atol=1e-10,
             name="reference=None")
assert_close(minmax_scale(_x.float().to(device), _ref.float().to(device), _range),
             _want.float(), rtol=1e-4, atol=1e-4, name="float32")
expect_raises(ValueError, minmax_scale, _x, _ref, (1.0, 0.0), name="range (1, 0)")
### END HIDDEN TESTS

# %% [markdown]
# ### Robust scaling
#
# Mean, standard deviation, minimum and maximum all move with a single extreme
# value. **Robust scaling** uses statistics that do not: the median $\tilde
# x_j$ for the centre and the **interquartile range** $\mathrm{IQR}_j = Q_j(0.75) -
# Q_j(0.25)$ for the spread, the width of the middle half of the data:
#
# $$x'_{ij} = \frac{x_{ij} - \tilde x_j}{\mathrm{IQR}_j}.$$
#
# Up to a quarter of the values can move anywhere without changing the IQR.
#
# A quantile of a finite sample needs a definition, and there are several. The
# one used here is the **linear interpolation** that `torch.quantile`,
# `np.percentile` and scikit-learn's `RobustScaler` use by default: sort the
# $N$ values as $v_0 \le \dots \le v_{N-1}$, put the quantile $q$ at position
# $h = q(N - 1)$, and interpolate between the neighbours,
#
# $$Q(q) = v_{\lfloor h \rfloor} + (h - \lfloor h \rfloor)\,
#   (v_{\lfloor h \rfloor + 1} - v_{\lfloor h \rfloor}).$$
#
# The median is $Q(0.5)$: for an even $N$ it is the **mean of the two middle
# values**. Careful: `torch.median` does not compute that; for an even count it
# returns the *lower* of the two middle values (so that the result is one of the
# data), which is not the median of statistics and not what `np.median` returns:

# %%
values = torch.tensor([1.0, 2.0, 3.0, 10.0])
print(f"torch.median: {values.median().item()}, torch.quantile(0.5): "
      f"{torch.quantile(values, 0.5).item()}, np.median: {np.median(values.numpy())}")

# %% [markdown]
# A feature with an IQR of 0 (more than half of its values equal, as in many
# count or indicator features) gets a scale of 1, as in the two scalers before.

# %% [markdown]
# ### Exercise 6: `robust_scale` (3 points)
#
# Centre each feature on the median of the reference data and divide by its
# interquartile range, with linear interpolation for all three quantiles, and 1
# in place of a zero IQR. `torch.quantile` (whose default is the linear rule)
# is allowed; `torch.median` gives the wrong median for even counts. The hidden
# tests compare with scikit-learn's `RobustScaler`.

# %% grade_id="ch15-robust-scale"
def robust_scale(X, reference=None):
    """Centre on the median and divide by the interquartile range, per feature.

    M is the number of rows to scale, N the number of reference rows and D the
    number of features.

    Args:
        X: floating-point tensor of shape (M, D), the data to scale.
        reference: None or a floating-point tensor of shape (N, D), N >= 1,
            with the dtype and device of X, the data the statistics come from
            (the training split). None means X itself.

    Returns:
        Tensor of shape (M, D) with the dtype and device of X:
        out[i, j] = (X[i, j] - Q_j(0.5)) / (Q_j(0.75) - Q_j(0.25)), where
        Q_j(q) is the q-quantile of reference[:, j] with linear interpolation
        (position h = q (N - 1) in the sorted values; the default of
        torch.quantile and np.percentile). So the median of an even count is
        the mean of the two middle values. The denominator is taken as 1 when
        the interquartile range is 0. X and reference are not modified.

    Raises:
        ValueError: if reference has no rows or if X and reference differ in
            their number of features.
    """
    ### BEGIN SOLUTION
    ref = X if reference is None else reference
    if ref.shape[0] == 0 or ref.shape[1] != X.shape[1]:
        raise ValueError(f"reference of shape {tuple(ref.shape)} does not fit X of "
                         f"shape {tuple(X.shape)}")
    levels = torch.tensor([0.25, 0.5, 0.75], dtype=ref.dtype, device=ref.device)
    q25, median, q75 = torch.quantile(ref, levels, dim=0)  # each (D,)
    iqr = q75 - q25
    return (X - median) / torch.where(iqr == 0, torch.ones_like(iqr), iqr)
    ### END SOLUTION


# %%
# Try it: an outlier barely moves the robust statistics
X_tr = torch.tensor([[1.0], [2.0], [3.0], [4.0], [1000.0]])
print("robust:", robust_scale(X_tr).flatten().tolist())
print("min-max:", [round(v, 4) for v in minmax_scale(X_tr).flatten().tolist()])

# %% grade_id="ch15-robust-scale-tests" points=3
"""robust_scale: an example by hand with an even count (median 2.5, not the lower
middle value 2; quartiles by linear interpolation); statistics from the reference;
an IQR of 0 (denominator 1); float64 on `device`; inputs not modified; ValueError
for an empty reference and different feature counts."""
X_tr = torch.tensor([[1.0, 7.0], [2.0, 7.0], [3.0, 7.0], [4.0, 9.0]])
# column 0: median 2.5, Q(0.25) = 1.75, Q(0.75) = 3.25, IQR 1.5
# column 1: median 7, IQR 7.5 - 7 = 0.5
assert_close(robust_scale(X_tr),
             torch.tensor([[-1.0, 0.0], [-1 / 3, 0.0], [1 / 3, 0.0], [1.0, 4.0]]),
             name="robust_scale of the example (median of an even count: the mean "
                  "of the two middle values)")
X_new = torch.tensor([[2.5, 8.0], [10.0, 6.0]])
assert_close(robust_scale(X_new, reference=X_tr),
             torch.tensor([[0.0, 2.0], [5.0, -2.0]]),
             name="robust_scale(X_new, reference=X_tr): the reference's statistics")
X_flat = torch.tensor([[3.0], [3.0], [3.0], [5.0], [0.0]])  # IQR 0
assert_close(robust_scale(torch.tensor([[4.0], [3.0]]), reference=X_flat),
             torch.tensor([[1.0], [0.0]]), name="robust_scale with an IQR of 0")
gen = torch.Generator().manual_seed(5)
ref = torch.randn(9, 3, generator=gen, dtype=torch.float64).to(device)
X = torch.randn(4, 3, generator=gen, dtype=torch.float64).to(device)
copies = ref.clone(), X.clone()
out = robust_scale(X, ref)
s = ref.sort(dim=0).values  # N = 9: the quartiles are the sorted values 2, 4, 6
assert_close(out, (X - s[4]) / (s[6] - s[2]), rtol=1e-12, atol=1e-12,
             name="robust_scale of float64 (4, 3) with a (9, 3) reference on device")
assert out.device == X.device, f"result on {out.device}, expected {X.device}"
assert torch.equal(ref, copies[0]) and torch.equal(X, copies[1]), "an input changed"
expect_raises(ValueError, robust_scale, X, ref[:0], name="an empty reference")
expect_raises(ValueError, robust_scale, X, ref[:, :2], name="3 features vs 2")
### BEGIN HIDDEN TESTS
from sklearn.preprocessing import RobustScaler as _RobustScaler

_gen = torch.Generator().manual_seed(19)
for _n, _m, _d in [(12, 5, 4), (1, 3, 2), (2, 4, 3), (37, 1, 5), (100, 8, 1)]:
    _ref = torch.randn(_n, _d, generator=_gen, dtype=torch.float64) * 3 + 1
    if _d > 2:
        _ref[: (_n + 1) // 2 + 1, 1] = 0.0  # more than half equal: IQR 0
    _x = torch.randn(_m, _d, generator=_gen, dtype=torch.float64) * 5
    _want = torch.tensor(_RobustScaler().fit(_ref.numpy()).transform(_x.numpy()),
                         device=device)
    _got = robust_scale(_x.to(device), _ref.to(device))
    assert_close(_got, _want, rtol=1e-10, atol=1e-10,
                 name=f"({_m}, {_d}) with a ({_n}, {_d}) reference")
    assert _got.device == _want.device, "not on X.device"
_self = torch.tensor(_RobustScaler().fit_transform(_ref.numpy()), device=device)
assert_close(robust_scale(_ref.to(device)), _self, rtol=1e-10, atol=1e-10,
             name="reference=None")
assert_close(robust_scale(_x.float().to(device), _ref.float().to(device)),
             _want.float(), rtol=1e-4, atol=1e-4, name="float32")
### END HIDDEN TESTS

# %% [markdown]
# ### The three scalers and an outlier
#
# Move the outlier in the widget below. The data are 200 values of one feature
# from a normal distribution, plus one outlier at the position you choose; the
# plot shows where the 200 ordinary values land after each scaler (fitted on all
# 201 values). Min-max squeezes them into an ever thinner band near 0 as the
# outlier grows, because the outlier alone sets the maximum; the z-score
# squeezes them more slowly, because the outlier inflates the standard
# deviation; the robust scaler leaves them where they were.

# %%
ordinary = torch.randn(200, 1, generator=torch.Generator().manual_seed(0),
                       dtype=torch.float64)


def show_outlier(outlier=10.0):
    data = torch.cat([ordinary, torch.tensor([[outlier]], dtype=torch.float64)])
    mean_o, scale_o = fit_zscore(data)
    scaled = {"z-score": apply_zscore(data, mean_o, scale_o),
              "min-max": minmax_scale(data),
              "robust": robust_scale(data)}
    fig, ax = plt.subplots(figsize=(7, 3))
    for row, (name, values) in enumerate(scaled.items()):
        v = values[:200, 0].numpy()
        ax.scatter(v, np.full_like(v, row) + 0.15 * np.sin(np.arange(200)),
                   s=6, color=f"C{row}", label=f"{name}: inliers span "
                   f"{v.max() - v.min():.2f}")
        ax.scatter([values[200, 0].item()], [row], marker="x", s=60, color="k")
    ax.set(xlim=(-4, 6), yticks=[0, 1, 2], yticklabels=list(scaled),
           xlabel="scaled value (the outlier, x, may lie off the plot)",
           ylabel="scaler", title=f"200 ordinary values and one outlier at {outlier:g}")
    ax.legend(fontsize=8, loc="upper right")
    return fig


interactive_plot(show_outlier, outlier=(2.0, 500.0, 2.0))

# %% [markdown]
# Which to choose: the z-score is the default for networks and linear models;
# min-max when the model expects a bounded input; robust scaling for features
# with heavy tails or outliers (incomes, counts, durations), often after a
# $\log(1 + x)$ transform that tames a long right tail before any scaling.
# Whatever the choice, images are usually scaled per channel rather than per
# pixel (chapter 7's `channel_stats`), and categorical features are not scaled at
# all but one-hot encoded or embedded (chapter 5).

# %% [markdown]
# ## 15.6 Fit on the training split only: leaks
#
# A **leak** is information from the data a model is evaluated on that reaches
# the model, or its preprocessing, before the evaluation. The score then
# measures something easier than the task the model will face. The rule that
# prevents it: split first; fit every statistic (scaler, vocabulary, imputation
# value, selected features) on the training split only; apply it unchanged to
# the rest. In cross-validation, the fitting happens again inside each fold.
#
# How much does a leak cost? That depends on how much the leaked statistic can
# learn about the labels, and the three experiments below measure three cases,
# from harmless to disastrous.
#
# ### Case 1: a scaler fitted on all the data
#
# A k-nearest-neighbour classifier (k = 5) on the breast-cancer data, whose
# distances depend entirely on the scaling, over 30 random train/test splits:
# once with the z-score fitted on the training split, once fitted on all 569
# rows.

# %%
def knn_predict(X_tr, y_tr, X_te, k=5):
    """Majority label of the k nearest training rows (Euclidean distance)."""
    nearest = torch.cdist(X_te, X_tr).topk(k, largest=False).indices  # (M, k)
    return y_tr[nearest].mode(dim=1).values


scores = {"fitted on train": [], "fitted on all rows (leak)": []}
for split in range(30):
    X_tr, X_te, y_tr, y_te = train_test_split(X_cancer, y_cancer, 0.3, seed=split)
    for name, fit_rows in (("fitted on train", X_tr),
                           ("fitted on all rows (leak)", X_cancer)):
        mean_s, scale_s = fit_zscore(fit_rows)
        pred = knn_predict(apply_zscore(X_tr, mean_s, scale_s), y_tr,
                           apply_zscore(X_te, mean_s, scale_s))
        scores[name].append((pred == y_te).float().mean().item())
gaps = torch.tensor(scores["fitted on all rows (leak)"]) - torch.tensor(
    scores["fitted on train"])
for name, accs in scores.items():
    print(f"{name:26s}: mean test accuracy {np.mean(accs):.4f}")
print(f"largest difference in one split: {gaps.abs().max():.4f}")

# %% [markdown]
# Practically no difference here. The mean and the standard deviation of 569
# rows differ little from those of 398, and they say nothing about which tumour
# is malignant. That is the honest truth about this leak on clean, independent
# data; the rule still stands, for the two reasons the next cases show.
#
# ### Case 2: statistics computed on the data being evaluated
#
# A subtler version of the same mistake fits the scaler on whatever data is at
# hand at evaluation time (`fit_transform` on the test set, or an `apply_zscore`
# that recomputes $\mu$ and $\sigma$ from its input). The output then depends on
# the *composition* of the batch. Below, the test set is split by class, as it
# would be in a clinic that sees a day of mostly benign cases, and each part is
# scaled once with the training statistics and once with its own.

# %%
mean_tr, scale_tr = fit_zscore(Xc_train)
Z_train = apply_zscore(Xc_train, mean_tr, scale_tr)
for label, name in ((0, "malignant"), (1, "benign")):
    part = Xc_test[yc_test == label]
    own_mean, own_scale = fit_zscore(part)  # the mistake
    right = knn_predict(Z_train, yc_train, apply_zscore(part, mean_tr, scale_tr))
    wrong = knn_predict(Z_train, yc_train, apply_zscore(part, own_mean, own_scale))
    right_acc = (right == label).float().mean().item()
    wrong_acc = (wrong == label).float().mean().item()
    print(f"{len(part):3d} {name} test tumours: accuracy {right_acc:.3f} with the "
          f"training statistics, {wrong_acc:.3f} with their own")

# %% [markdown]
# Scaled with their own statistics, the malignant tumours are centred on 0, the
# place where the training data has its average tumour, and a large share of
# them is called benign (the accuracy on them falls from 0.925 to 0.373). The
# benign ones suffer too (0.971 falls to 0.548): being smaller than the
# average tumour, they are moved up by the centring, and their own spread,
# smaller than that of all tumours, stretches them, so that the larger of them
# land among the malignant training rows. A model's preprocessing must be a
# fixed function of one input, fitted once: that is why `apply_zscore` takes
# $\mu$ and $\sigma$ as arguments, and why it must work on a single example.
#
# ### Case 3: a statistic that looks at the labels
#
# The worst leaks come from preparation steps that use the labels: choosing the
# features most correlated with the target, target encoding of categories,
# oversampling a rare class before the split. The experiment below (after
# Hastie, Tibshirani and Friedman's *Elements of Statistical Learning*, section
# 7.10.2) uses pure noise: 60 examples with 2,000 random features and random
# labels, so that no model can beat 50% on new data. The 20 features most
# correlated with the labels are selected, and a nearest-centroid classifier
# is scored by 5-fold cross-validation, once with the selection made on all 60
# rows before the folds (the leak), and once inside each fold, on its training
# rows only. Ten independent noise datasets.

# %%
def top_correlated(X, y, k):
    """Indices of the k features with the largest |correlation| with y."""
    Xc = X - X.mean(dim=0)
    yc = y.double() - y.double().mean()
    return ((Xc * yc[:, None]).sum(dim=0) / Xc.norm(dim=0)).abs().topk(k).indices


def nearest_centroid(X_tr, y_tr, X_te):
    centroids = torch.stack([X_tr[y_tr == c].mean(dim=0) for c in (0, 1)])
    return torch.cdist(X_te, centroids).argmin(dim=1)


def cross_validated_accuracy(X, y, select_inside_folds, k=20, folds=5):
    fold = torch.arange(len(X)) % folds
    chosen_once = top_correlated(X, y, k)  # uses every label: the leak
    accs = []
    for f in range(folds):
        tr, te = fold != f, fold == f
        chosen = top_correlated(X[tr], y[tr], k) if select_inside_folds else chosen_once
        pred = nearest_centroid(X[tr][:, chosen], y[tr], X[te][:, chosen])
        accs.append((pred == y[te]).double().mean().item())
    return float(np.mean(accs))


leaky, honest = [], []
for repeat in range(10):
    noise_gen = torch.Generator().manual_seed(repeat)
    X_noise = torch.randn(60, 2000, generator=noise_gen, dtype=torch.float64)
    y_noise = (torch.arange(60) % 2)[torch.randperm(60, generator=noise_gen)]
    leaky.append(cross_validated_accuracy(X_noise, y_noise, False))
    honest.append(cross_validated_accuracy(X_noise, y_noise, True))
print(f"features chosen on all rows (leak): accuracy {np.mean(leaky):.3f} "
      f"(spread {np.std(leaky):.3f})")
print(f"features chosen inside each fold:   accuracy {np.mean(honest):.3f} "
      f"(spread {np.std(honest):.3f})")

fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(range(10), leaky, "o-", label="selection before the folds (leak)")
ax.plot(range(10), honest, "s-", label="selection inside each fold")
ax.axhline(0.5, color="0.5", ls=":", label="chance (the truth: labels are noise)")
ax.set(ylim=(0, 1), xlabel="noise dataset", ylabel="cross-validated accuracy",
       title="Selecting features with every label reports skill on pure noise")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# On data with nothing to learn, the leaky procedure reports a mean accuracy of
# 0.917 (the first line the cell prints) while the honest one stays at chance,
# 0.457, less than one spread (0.109) below 0.5. With real data the leak is
# smaller but of the same kind, and nothing in the numbers warns you.
#
# Two more leaks of the same family deserve a name. **Time**: for data ordered in
# time (prices, sensor logs, user sessions) the test split must come after the
# training split, and the statistics must come from the past only; a random
# split or a scaler fitted on the whole series lets the future leak in.
# **Groups**: several rows from one patient, one speaker or one photo session
# must all land in the same split, or the model is scored on people it has
# already seen.

# %% [markdown]
# ## 15.7 Image augmentation as a pipeline
#
# Augmentation makes new training examples from old ones with transformations
# that do not change the label: a cat shifted by three pixels or mirrored is
# still a cat. The model then sees a different variant of each image at every
# epoch, which acts as a regulariser and teaches invariances that the data alone
# shows too rarely (chapter 7 measured what random shifts buy on digits).
#
# Libraries such as torchvision provide hundreds of transforms, but each is a
# few lines of tensor code, and writing them makes their contracts clear. The
# ones below draw their randomness from a `torch.Generator`, so that a run can
# be replayed.

# %% [markdown]
# ### Exercise 7: `random_flip` (2 points)
#
# The horizontal flip is the simplest augmentation and the most used one for
# photos: mirror an image left-right (reverse its width axis) with probability
# $p$. Write it for a batch, with one independent coin per image, so that in a
# batch of $N$ about $pN$ images are mirrored; all channels of an image flip
# together, and the height axis is left alone (upside-down photos are rarely
# what a model will meet). All randomness comes from `generator`, so a seeded
# generator replays the same flips, and the global generator is left alone.

# %% grade_id="ch15-random-flip"
def random_flip(images, p, generator):
    """Mirror each image left-right, independently, with probability p.

    N is the batch size, C the number of channels, H the height and W the width.

    Args:
        images: floating-point tensor of shape (N, C, H, W) on any device.
        p: a Python float with 0 <= p <= 1, the probability of a flip.
        generator: a torch.Generator on the CPU; every random number must come
            from it (draw on the CPU, then use the result on images.device).

    Returns:
        Tensor of shape (N, C, H, W) with the dtype and device of images: for
        each n, independently, out[n] = images[n] flipped along the width
        (out[n, c, i, j] = images[n, c, i, W - 1 - j] for every channel c)
        with probability p, and out[n] = images[n] otherwise. p = 0 flips
        nothing and p = 1 flips every image. The same generator state gives
        the same result. images is not modified.

    Raises:
        ValueError: if p < 0 or p > 1.
    """
    ### BEGIN SOLUTION
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must lie in [0, 1], got {p}")
    coins = torch.rand(images.shape[0], generator=generator) < p  # (N,) on the CPU
    coins = coins.to(images.device)[:, None, None, None]
    return torch.where(coins, images.flip(-1), images)
    ### END SOLUTION


# %%
# Try it: a 1 x 2 x 3 "image" eight times; about half of the copies are mirrored
tiles = torch.arange(6.0).reshape(1, 1, 2, 3).repeat(8, 1, 1, 1)
flips = random_flip(tiles, 0.5, torch.Generator().manual_seed(0))
print([row.tolist() for row in flips[:, 0, 0]])

# %% grade_id="ch15-random-flip-tests" points=2
"""random_flip: each output image is its input or its input mirrored along the
width (all channels together, never the height); about p N images flipped, one
coin per image; p = 0 and p = 1; float64 and the device kept; input not modified;
a seeded generator reproduces and the global generator plays no part; ValueError
for p outside [0, 1]."""


def flipped_mask(out, images):
    """(N,) booleans: which outputs are mirrored; fails if one is neither."""
    same = (out == images).flatten(1).all(dim=1)
    mirrored = (out == images.flip(-1)).flatten(1).all(dim=1)
    bad = torch.nonzero(~(same | mirrored)).flatten().tolist()
    assert not bad, (f"outputs {bad[:5]} are neither their input nor their input "
                     "mirrored along the width (all channels together)")
    return mirrored


images = torch.randn(600, 2, 3, 5, dtype=torch.float64,
                     generator=torch.Generator().manual_seed(1)).to(device)
before = images.clone()
out = random_flip(images, 0.3, torch.Generator().manual_seed(0))
assert_shape(out, (600, 2, 3, 5), name="random_flip(images (600, 2, 3, 5), 0.3, g)")
assert out.dtype == torch.float64, f"dtype {out.dtype}, expected torch.float64"
assert out.device == images.device, f"result on {out.device}, expected {images.device}"
assert torch.equal(images, before), "random_flip modified its input"
share = flipped_mask(out, images).double().mean().item()
assert 0.22 <= share <= 0.38, (
    f"with p = 0.3, {share:.3f} of 600 images were flipped; expected about 0.3 "
    "(one independent coin per image, flip when it says so)")
assert not flipped_mask(random_flip(images, 0.0, torch.Generator()), images).any(), (
    "p = 0 flipped an image")
assert flipped_mask(random_flip(images, 1.0, torch.Generator()), images).all(), (
    "p = 1 left an image unflipped")
again = random_flip(images, 0.3, torch.Generator().manual_seed(0))
torch.manual_seed(123)  # the global generator must play no part
assert torch.equal(random_flip(images, 0.3, torch.Generator().manual_seed(0)),
                   again), "the same generator seed gave different results"
assert not torch.equal(random_flip(images, 0.3, torch.Generator().manual_seed(5)),
                       again), "different generator seeds gave the same result"
expect_raises(ValueError, random_flip, images, -0.1, torch.Generator(),
              name="random_flip(images, p=-0.1, g)")
expect_raises(ValueError, random_flip, images, 1.5, torch.Generator(),
              name="random_flip(images, p=1.5, g)")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(21)
for _shape, _p in [((800, 3, 4, 4), 0.5), ((900, 1, 2, 7), 0.8), ((500, 4, 5, 3), 0.1)]:
    _x = torch.randn(_shape, generator=_gen).to(device)  # float32
    _x0 = _x.clone()
    _o = random_flip(_x, _p, torch.Generator().manual_seed(_shape[0]))
    assert_shape(_o, _shape, name=f"random_flip(float32 {_shape}, {_p})")
    assert _o.dtype == torch.float32, f"dtype {_o.dtype}, expected float32"
    assert _o.device == _x.device, f"result on {_o.device}"
    assert torch.equal(_x, _x0), "random_flip modified its float32 input"
    _share = flipped_mask(_o, _x).double().mean().item()
    _sd = (_p * (1 - _p) / _shape[0]) ** 0.5
    assert abs(_share - _p) <= 5 * _sd, (
        f"p = {_p}: {_share:.3f} of {_shape[0]} images flipped")
_x1 = torch.randn(1, 2, 3, 4, generator=_gen, dtype=torch.float64).to(device)
assert flipped_mask(random_flip(_x1, 1.0, torch.Generator()), _x1).all(), (
    "a batch of 1 with p = 1 was not flipped")
assert not flipped_mask(random_flip(_x1, 0.0, torch.Generator()), _x1).any(), (
    "a batch of 1 with p = 0 was flipped")
_seen = {bool(flipped_mask(random_flip(_x1, 0.5, torch.Generator().manual_seed(_s)),
                           _x1)[0]) for _s in range(20)}
assert _seen == {True, False}, "20 seeds with p = 0.5 never changed the outcome"
### END HIDDEN TESTS

# %% [markdown]
# ### A pipeline
#
# A transform for one image of shape $(C, H, W)$ is a function from tensor to
# tensor; the batched `random_flip` serves one image as a batch of one. Below,
# a random crop (a random window of the image framed by `padding` zeros, the
# crop that CIFAR classifiers train with), the per-channel normalisation of
# chapter 7, and `Compose`, which chains transforms, so that the whole pipeline
# is itself one transform that `ArrayDataset` can apply at every read.

# %%
def random_crop(image, size, padding, generator):
    """A random size x size window of the image framed by `padding` zeros."""
    framed = F.pad(image, (padding,) * 4)  # (C, H + 2p, W + 2p)
    top = torch.randint(0, framed.shape[-2] - size + 1, (), generator=generator)
    left = torch.randint(0, framed.shape[-1] - size + 1, (), generator=generator)
    return framed[:, top:top + size, left:left + size]


def normalise(image, mean, std):
    """Per-channel standardisation with statistics of the training images."""
    return (image - mean[:, None, None]) / std[:, None, None]


class Compose:
    """Apply transforms one after another: Compose([f, g])(x) == g(f(x))."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        for transform in self.transforms:
            x = transform(x)
        return x


# %% [markdown]
# On a photo (scikit-learn ships two) the pipeline crops a random 160 x 160
# window from a 200 x 300 thumbnail framed by 16 pixels, mirrors it half of the
# time and normalises it with the photo's own channel statistics (with a real
# dataset, those of the training images). Each read draws a new variant.

# %%
photo = torch.tensor(load_sample_images().images[0]).permute(2, 0, 1).float() / 255
photo = F.interpolate(photo[None], size=(200, 300), mode="area")[0]  # (3, 200, 300)
photo_mean, photo_std = photo.mean(dim=(1, 2)), photo.std(dim=(1, 2), correction=0)
photo_gen = torch.Generator().manual_seed(0)
photo_pipeline = Compose([
    lambda img: random_crop(img, 160, padding=16, generator=photo_gen),
    lambda img: random_flip(img[None], 0.5, photo_gen)[0],
    lambda img: normalise(img, photo_mean, photo_std),
])
photo_set = ArrayDataset(photo[None], torch.tensor([0]), transform=photo_pipeline)
variants = torch.stack([photo_set[0][0] for _ in range(8)])  # (8, 3, 160, 160)
shown = (variants * photo_std[:, None, None] + photo_mean[:, None, None]).clamp(0, 1)
fig, axes = plt.subplots(1, 8, figsize=(12, 1.9))
for k, ax in enumerate(axes):
    ax.imshow(shown[k].permute(1, 2, 0).numpy())
    ax.set_title(f"read {k + 1}", fontsize=8)
    ax.axis("off")
fig.suptitle("Eight reads of one example: crop, flip, normalise (shown denormalised)",
             y=1.05)
plt.show()

# %% [markdown]
# The order matters. Geometry first (crop, flip), normalisation last: the zeros
# of the crop's frame are then black pixels, like the background of a digit, and
# after normalisation they take the same value as the background of every other
# image. Normalised first, the frame would be a value (0) that the real
# background no longer has, a visible border that the model could learn to look
# for.
#
# Which transforms are allowed depends on the labels. A horizontal flip is the
# standard augmentation for photos of objects, and a wrong one for digits and
# text: a mirrored 2, 3 or 7 is no longer that digit. The figure shows the
# pipeline on digits (statistics of the training images only) and what a flip
# would do to them.

# %%
digits_train, digits_test, labels_train, labels_test = train_test_split(
    digit_images, digit_labels, test_fraction=0.25, seed=0)
pixel_mean = digits_train.mean(dim=(0, 2, 3))  # (C,) = (1,): one grey channel
pixel_std = digits_train.std(dim=(0, 2, 3), correction=0)
augment_gen = torch.Generator().manual_seed(0)
train_pipeline = Compose([
    lambda img: random_crop(img, 8, padding=1, generator=augment_gen),
    lambda img: normalise(img, pixel_mean, pixel_std),
])
augmented_set = ArrayDataset(digits_train, labels_train, transform=train_pipeline)
shown = [augmented_set[i % 6][0] for i in range(18)]  # each digit three times
flipped = [digits_train[i].flip(-1) for i in range(6)]
fig = plot_images(torch.stack(shown + [normalise(f, pixel_mean, pixel_std)
                                       for f in flipped]),
                  labels=[int(labels_train[i % 6]) for i in range(18)]
                  + [f"{int(labels_train[i])} flipped" for i in range(6)],
                  ncols=12, size=0.9)
fig.suptitle("Random crops with a 1-pixel frame (each digit three times), "
             "then six flipped digits", y=1.02)
plt.show()

# %% [markdown]
# Only the training set is augmented. The test set goes through the
# deterministic part of the pipeline (here, only `normalise`), so that every
# evaluation sees the same images. A loader over the augmented dataset yields
# normalised, freshly cropped batches at every epoch:

# %%
test_pipeline = Compose([lambda img: normalise(img, pixel_mean, pixel_std)])
augmented_set = ArrayDataset(digits_train, labels_train, transform=train_pipeline)
test_set = ArrayDataset(digits_test, labels_test, transform=test_pipeline)
train_loader = DataLoader(augmented_set, batch_size=64, shuffle=True, drop_last=True,
                          generator=torch.Generator().manual_seed(0),
                          pin_memory=(device.type == "cuda"))
batch_images, batch_labels = next(iter(train_loader))
print(f"{len(train_loader)} training batches of {tuple(batch_images.shape)}; "
      f"batch mean {batch_images.mean():.3f}, std {batch_images.std():.3f}")
print(f"{len(test_set)} test images, first one's mean {test_set[0][0].mean():.3f}")

# %% [markdown]
# Per-example transforms inside a dataset run on the CPU, in the workers. When
# the data already sits on a GPU, augmenting a whole batch at once on the device
# (one random offset per image, applied with tensor indexing, as chapter 7's
# `random_translate` does) is usually faster than any number of workers.

# %% [markdown]
# ## 15.8 Summary
#
# - A `Dataset` answers "what is example $i$?" through `__len__` and
#   `__getitem__`; random transforms belong in `__getitem__` and touch the input,
#   not the label. A `DataLoader` adds the order (`shuffle`, a seeded
#   `generator` for reproducible epochs), the batching (`collate_fn`,
#   `drop_last`) and parallel reading (`num_workers`), which pays off for slow
#   reads and not for computation on a machine with few free cores.
# - Generators stored in a dataset are copied into every worker: reseed them in
#   a `worker_init_fn` from `get_worker_info().seed`. `pin_memory` only helps
#   copies to a CUDA device, so tie it to `device.type == "cuda"`.
# - Sequences of different lengths are padded to the longest in the batch, with
#   the lengths taken from the shapes; bucketing by length cuts the padding.
# - Scaling makes gradient descent fast (a logistic regression reached the 95%
#   bar only with standardised features). The z-score divides by $N$ and uses a
#   scale of 1 for constant features; min-max maps the training range onto an
#   interval and is at the mercy of outliers; robust scaling uses the median and
#   the IQR with linearly interpolated quantiles, and `torch.median` is not the
#   median for even counts.
# - Every statistic is fitted on the training split and applied unchanged. A
#   scaler fitted on all rows barely mattered on clean data, statistics
#   recomputed on the evaluated batch broke the classifier, and a label-aware
#   selection reported an accuracy of 0.917 on pure noise.
# - Augmentation is a composition of small label-preserving transforms (a
#   random crop, a flip with one coin per image, a normalisation): geometry
#   first, normalisation last, only on the training data, and never a
#   transform that changes the label, such as a mirror image of a digit.
#
# **Next:** chapter 16 writes the training loop itself around these loaders:
# evaluation, early stopping that restores the best weights, learning-rate
# schedules and checkpoints.
