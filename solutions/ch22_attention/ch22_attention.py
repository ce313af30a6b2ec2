# %% [markdown]
# # Chapter 22: Attention beyond self-attention
#
# Chapter 11 built scaled dot-product attention, multi-head attention and a
# Transformer block. This chapter steps back and forward. Back, to where
# attention came from: recurrent translation models that could not fit a whole
# sentence into one vector, and the *additive* attention of Bahdanau et al. that
# fixed it. Forward, to the pieces every attention model needs around the core
# operation: masks built from sequence lengths and from causality, and
# **cross-attention**, in which one sequence (text tokens, a decoder's outputs)
# asks questions of another (an encoded sentence, the patches of an image) that
# may have a different length and a different width. A small model trained in
# the notebook shows, through its attention heat maps, how cross-attention
# learns an alignment between two sequences.
#
# **You will learn**
# - why attention was invented: the fixed-size bottleneck of encoder-decoder
#   RNNs;
# - additive (Bahdanau) attention and the score functions of Luong (dot, general,
#   concat), and how they relate to the scaled dot product of chapter 11;
# - the history from 2014 to 2017: what self-attention changed and what it costs;
# - how to build padding and causal masks, in the convention of
#   `nn.MultiheadAttention`, and how to translate them to the other conventions
#   of PyTorch;
# - cross-attention between sequences of different widths, laid out exactly as
#   `nn.MultiheadAttention(kdim=..., vdim=...)` stores it;
# - how to read attention heat maps, and how an alignment appears during
#   training.
#
# **Graded exercises** (13 points)
#
# | exercise | points |
# |---|---|
# | `additive_attention(query, keys, W_q, W_k, v, mask=None)` | 4 |
# | `padding_mask(lengths, max_len)` | 2 |
# | `causal_mask(size, device=None)` | 2 |
# | `CrossAttention(embed_dim, num_heads, context_dim)` | 5 |
#
# Each exercise is a function or a module whose docstring states its whole
# contract: shapes, dtypes, devices, edge cases and the built-ins you may not
# call. Replace `raise NotImplementedError()` with your code and run the test cell
# below it. The visible tests show every rule the grader checks; hidden tests
# repeat them on other values, shapes and seeds.
#
# Letters used for shapes: $B$ or $N$ is the batch size, $T$ or $S$ the number of
# keys (the source length), $L$ the number of queries (the target length), $H$
# the hidden size of an additive attention, $E$ the width of the queries, $C$ the
# width of the context sequence, $h$ the number of heads.

# %%
import math
import time

import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse import get_device, progress, set_seed
from dlcourse.checks import (
    ATTENTIONS,
    assert_close,
    assert_shape,
    expect_raises,
    forbid,
)
from dlcourse.training import check_bar
from dlcourse.widgets import interactive_plot

device = get_device()  # the tests also run your code on this device
set_seed(0)
print(f"torch {torch.__version__}, device: {device}")

# %% [markdown]
# ## 22.1 The bottleneck that attention removed
#
# In 2014 the best neural translation systems were **encoder-decoder RNNs**
# (Sutskever et al.; Cho et al.). An encoder RNN reads the source sentence
# $x_1, \dots, x_T$ and keeps only its last state $c = h_T$; a decoder RNN starts
# from $c$ and writes the translation one word at a time:
#
# $$s_i = f(s_{i-1}, y_{i-1}, c), \qquad p(y_i \mid y_{<i}, x) =
#   \operatorname{softmax}(W_o s_i).$$
#
# Everything the decoder knows about the source has to pass through the one
# vector $c$ of fixed size, whether the sentence has 5 words or 50. Cho et al.
# measured that the translation quality of such models falls quickly as
# sentences grow longer. Reading a long sentence once and then writing its
# translation from memory is hard for people too: a human translator looks back
# at the part of the source that the next word depends on.
#
# **Bahdanau, Cho and Bengio (2014)** gave the decoder exactly that: at every
# step $i$ it computes a fresh **context vector** $c_i$ as a weighted average of
# *all* the encoder states $h_1, \dots, h_T$, with weights that depend on what
# the decoder is about to write:
#
# $$e_{ij} = \operatorname{score}(s_{i-1}, h_j), \qquad
#   \alpha_{ij} = \frac{\exp e_{ij}}{\sum_{t=1}^{T} \exp e_{it}}, \qquad
#   c_i = \sum_{j=1}^{T} \alpha_{ij}\, h_j .$$
#
# The weights $\alpha_{ij}$ form a **soft alignment** between target word $i$ and
# source word $j$, learned without any alignment labels, only from the
# translation loss. Plotted as a matrix, they showed for the first time what a
# network "looks at". Their encoder was a bidirectional RNN, so that each $h_j$
# describes word $j$ in the context of the words on both sides.
#
# ## 22.2 Additive attention
#
# Bahdanau's score is a one-hidden-layer network that takes both vectors:
#
# $$e_j = v^\top \tanh\!\big(W_q\, q + W_k\, k_j\big), \qquad
#   q \in \mathbb{R}^{D_q},\ k_j \in \mathbb{R}^{D_k},\ W_q \in \mathbb{R}^{H
#   \times D_q},\ W_k \in \mathbb{R}^{H \times D_k},\ v \in \mathbb{R}^{H}.$$
#
# It is called **additive** because the two projections are *added* inside the
# $\tanh$; the query $q$ is the decoder state $s_{i-1}$ and the keys $k_j$ are
# the encoder states $h_j$. Three things to notice:
#
# - The query and the keys may have **different sizes** $D_q \ne D_k$: each has
#   its own projection to the common hidden size $H$.
# - It is often written with a concatenation, $v^\top \tanh(W [q; k_j])$, with
#   one matrix $W \in \mathbb{R}^{H \times (D_q + D_k)}$. Splitting $W$ into its
#   first $D_q$ and last $D_k$ columns gives exactly $W_q q + W_k k_j$: the same
#   function. The split form is cheaper, because $W_k k_j$ does not depend on the
#   decoder step: it is computed once for the whole source sentence, and each
#   decoder step adds only $W_q q$ (the concatenated form recomputes everything at
#   every step).
# - The score is nonlinear in $q$ and $k_j$ and costs $O(H)$ per pair plus a
#   $\tanh$, against one dot product for the scores of chapter 11.
#
# The context vector is the weighted average of the keys themselves (in
# Bahdanau's model the keys *are* the values, the encoder states):
# $c = \sum_j \alpha_j k_j$.
#
# Sequences in a batch have different lengths, so the keys are padded; padding
# positions must get weight 0. As in `nn.MultiheadAttention`, a boolean mask of
# shape $(B, T)$ marks them with `True`: their score is set to $-\infty$ before
# the softmax.
#
# ### Exercise 1: `additive_attention` (4 points)
#
# Write additive attention for a batch of single queries (one decoder step for
# $B$ sentences at once). Use the broadcasting of chapter 1: the projected keys
# have shape $(B, T, H)$, the projected queries $(B, H)$; insert an axis so that
# they add up. `torch.softmax` is allowed; the attention built-ins of
# `dlcourse.checks.ATTENTIONS` are forbidden (they compute dot-product
# attention anyway). The tests compare with a float64 reference and check the
# gradients too.

# %% grade_id="ch22-additive-attention"
def additive_attention(query, keys, W_q, W_k, v, mask=None):
    """Bahdanau's additive attention of one query per sequence over its keys.

    B is the batch size, T the number of keys, Dq the size of a query, Dk the
    size of a key, H the hidden size of the score network.

        e[b, t] = v . tanh(W_q @ query[b] + W_k @ keys[b, t])
        weights[b] = softmax over t of e[b]
        context[b] = sum over t of weights[b, t] * keys[b, t]

    Args:
        query: floating-point tensor (B, Dq).
        keys: tensor (B, T, Dk), same dtype and device as query.
        W_q: (H, Dq), the projection of the query (stored (out, in), as
            nn.Linear's weight: apply it as W_q @ q).
        W_k: (H, Dk), the projection of the keys.
        v: (H,), the output vector of the score network.
        W_q, W_k and v have the dtype and device of query too.
        mask: None, or bool (B, T) on the same device: True where key t of
            sequence b is padding and must get weight exactly 0 (the
            convention of nn.MultiheadAttention's key_padding_mask, and of
            padding_mask below). Every sequence keeps at least one key.

    Returns:
        (context, weights): context (B, Dk) and weights (B, T), both with the
        dtype and device of query. Each row of weights sums to 1. Gradients
        flow to every input tensor.

    torch.softmax and torch.tanh are allowed. Forbidden: the attention
    built-ins of dlcourse.checks.ATTENTIONS. The inputs are not modified.
    """
    ### BEGIN SOLUTION
    projected = (keys @ W_k.T) + (query @ W_q.T)[:, None, :]  # (B, T, H)
    scores = torch.tanh(projected) @ v  # (B, T)
    if mask is not None:
        scores = scores.masked_fill(mask, -math.inf)
    weights = torch.softmax(scores, dim=-1)
    context = (weights[:, :, None] * keys).sum(dim=1)  # (B, Dk)
    return context, weights
    ### END SOLUTION


# %%
# Try it: one sentence of three keys of size 2, H = 2
try_keys = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]])  # (1, 3, 2)
try_context, try_weights = additive_attention(
    torch.tensor([[0.5]]), try_keys, torch.tensor([[1.0], [0.0]]),
    torch.eye(2), torch.tensor([1.0, -1.0]))
print("weights", try_weights, "\ncontext", try_context)

# %% grade_id="ch22-additive-attention-tests" points=4
"""additive_attention: a hand example; == a float64 reference on `device` with
Dq != Dk != H != T (weights, context and the gradients of all five inputs);
float32 kept; a padding mask (True = padding) gives those keys weight 0 and
matches the reference that leaves them out; inputs not modified; no attention
built-ins (ATTENTIONS)."""


def _reference_additive(query, keys, W_q, W_k, v, mask=None):
    """Additive attention written pair by pair, in the concatenated form."""
    batch, length, _ = keys.shape
    W = torch.cat([W_q, W_k], dim=1)  # (H, Dq + Dk)
    scores = torch.stack([torch.stack([
        v @ torch.tanh(W @ torch.cat([query[b], keys[b, t]]))
        for t in range(length)]) for b in range(batch)])
    if mask is not None:
        scores = scores.masked_fill(mask, -math.inf)
    weights = torch.softmax(scores, dim=1)
    return torch.einsum("bt,btd->bd", weights, keys), weights


def _check_additive(shapes, seed, where, dtype, name, with_mask=False, tol=1e-10):
    batch, length, d_q, d_k, hidden = shapes
    gen = torch.Generator().manual_seed(seed)
    inputs = [torch.randn(size, generator=gen, dtype=dtype).to(where)
              for size in ((batch, d_q), (batch, length, d_k), (hidden, d_q),
                           (hidden, d_k), (hidden,))]
    mask = None
    if with_mask:
        lengths = torch.randint(1, length + 1, (batch,), generator=gen)
        lengths[0] = 1 if batch > 1 else lengths[0]
        mask = (torch.arange(length)[None, :] >= lengths[:, None]).to(where)
    saved = [t.clone() for t in inputs]
    mine = [t.clone().requires_grad_(True) for t in inputs]
    ref = [t.clone().requires_grad_(True) for t in inputs]
    with forbid(*ATTENTIONS):
        got = additive_attention(*mine, mask=mask)
    assert isinstance(got, tuple) and len(got) == 2, (
        f"{name}: expected a tuple (context, weights), got {type(got).__name__}")
    want = _reference_additive(*ref, mask=mask)
    assert_shape(got[0], want[0].shape, name=f"{name}: context")
    assert_shape(got[1], want[1].shape, name=f"{name}: weights")
    assert_close(got[1], want[1], rtol=tol, atol=tol, name=f"{name}: weights")
    assert_close(got[0], want[0], rtol=tol, atol=tol, name=f"{name}: context")
    assert got[0].device == inputs[0].device, f"{name}: result on {got[0].device}"
    if mask is not None:
        assert (got[1][mask] == 0).all(), f"{name}: a padding key has weight != 0"
    gen_up = torch.Generator().manual_seed(seed + 1)
    up = [torch.randn(w.shape, generator=gen_up, dtype=dtype).to(where) for w in want]
    ((got[0] * up[0]).sum() + (got[1] * up[1]).sum()).backward()
    ((want[0] * up[0]).sum() + (want[1] * up[1]).sum()).backward()
    for label, a, b in zip(("query", "keys", "W_q", "W_k", "v"), mine, ref,
                           strict=True):
        assert a.grad is not None, f"{name}: no gradient reached {label}"
        assert_close(a.grad, b.grad, rtol=tol, atol=tol,
                     name=f"{name}: gradient of {label}")
    for before, after in zip(saved, inputs, strict=True):
        assert torch.equal(before, after), f"{name}: an input was modified"


# by hand: W_q q = [0.5, 0], W_k k_t = k_t, v = [1, -1]
# e = [tanh(1.5) - tanh(0), tanh(0.5) - tanh(1), tanh(1.5) - tanh(1)]
with forbid(*ATTENTIONS):
    ctx, w = additive_attention(
        torch.tensor([[0.5]]), torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]]),
        torch.tensor([[1.0], [0.0]]), torch.eye(2), torch.tensor([1.0, -1.0]))
e = torch.tensor([math.tanh(1.5), math.tanh(0.5) - math.tanh(1.0),
                  math.tanh(1.5) - math.tanh(1.0)])
want_w = torch.softmax(e, dim=0)[None]
assert_close(w, want_w, rtol=1e-5, atol=1e-6,
             name="additive_attention weights, hand example (1 query, 3 keys)")
assert_close(ctx, want_w @ torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
             rtol=1e-5, atol=1e-6, name="additive_attention context, hand example")
assert w.dtype == torch.float32, f"float32 inputs: weights have dtype {w.dtype}"
# float64 on your device: B=3, T=5, Dq=4, Dk=6, H=7
_check_additive((3, 5, 4, 6, 7), 0, device, torch.float64,
                "additive_attention(B=3, T=5, Dq=4, Dk=6, H=7)")
_check_additive((4, 6, 3, 2, 5), 1, device, torch.float64,
                "additive_attention(B=4, T=6, Dq=3, Dk=2, H=5, padding mask)",
                with_mask=True)
### BEGIN HIDDEN TESTS
for _seed, _shapes in enumerate([(1, 1, 2, 3, 4), (1, 7, 5, 3, 2), (5, 3, 1, 4, 9),
                                 (2, 9, 6, 1, 3), (6, 4, 3, 5, 1)]):
    for _mask in (False, True):
        _check_additive(_shapes, 10 + _seed, device, torch.float64,
                        f"additive_attention(B, T, Dq, Dk, H = {_shapes}"
                        + (", padding mask)" if _mask else ")"), with_mask=_mask)
    _check_additive(_shapes, 20 + _seed, "cpu", torch.float32,
                    f"additive_attention in float32 {_shapes}", with_mask=True,
                    tol=1e-4)
### END HIDDEN TESTS

# %% [markdown]
# The concatenated form and the split form are the same function, and the split
# form lets a decoder project the keys once. The cell checks both claims with a
# model written the concatenated way, as many tutorials do (one `nn.Linear` on
# $[q; k_j]$), against your function fed with the two halves of its weight.

# %%
class ConcatScore(nn.Module):
    """v . tanh(W [q; k] + b) as in many tutorials, concatenation and all."""

    def __init__(self, query_size, key_size, hidden):
        super().__init__()
        self.W = nn.Linear(query_size + key_size, hidden, bias=False)
        self.v = nn.Linear(hidden, 1, bias=False)

    def forward(self, query, keys):  # (B, Dq), (B, T, Dk)
        repeated = query[:, None, :].expand(-1, keys.shape[1], -1)  # (B, T, Dq)
        scores = self.v(torch.tanh(self.W(torch.cat([repeated, keys], dim=2))))
        weights = torch.softmax(scores[..., 0], dim=1)  # (B, T)
        return (weights[..., None] * keys).sum(dim=1), weights


gen = torch.Generator().manual_seed(0)
concat = ConcatScore(16, 24, 32)
q_demo = torch.randn(8, 16, generator=gen)  # (B, Dq)
k_demo = torch.randn(8, 50, 24, generator=gen)  # (B, T, Dk)
W_q_demo, W_k_demo = concat.W.weight.detach().split([16, 24], dim=1)
_, w_concat = concat(q_demo, k_demo)
_, w_split = additive_attention(q_demo, k_demo, W_q_demo, W_k_demo,
                                concat.v.weight.detach()[0])
print("max |concat - split| weights:", (w_concat - w_split).abs().max().item())

# %% [markdown]
# ## 22.3 Luong's score functions
#
# **Luong, Pham and Manning (2015)** simplified the recipe and compared several
# scores between the decoder state $s$ (their query, taken at the *current* step
# rather than the previous one) and an encoder state $h_j$:
#
# | name | $\operatorname{score}(s, h_j)$ | parameters |
# |---|---|---|
# | dot | $s^\top h_j$ | none (needs $D_q = D_k$) |
# | general (multiplicative) | $s^\top W h_j$ | $W \in \mathbb{R}^{D_q \times D_k}$ |
# | concat (additive, Bahdanau) | $v^\top \tanh(W [s; h_j])$ | $W, v$ |
#
# They found the simple **dot** and **general** scores as good as or better than
# the additive one for translation, and they are far cheaper: for all decoder
# steps at once, the scores are one matrix product $S\, W H^\top$. They also
# described *local* attention, which looks only at a window of source positions
# around a predicted one, an early answer to the cost of attending everywhere.
#
# "General" attention is the scaled dot product of chapter 11 in disguise:
# $s^\top W h_j = (W_Q s)^\top (W_K h_j)$ for any factorisation $W = W_Q^\top
# W_K$, and a Transformer head learns $W_Q$ and $W_K$ directly, with a small
# rank $d$. The additive score is more expressive per pair, but on the widths
# used today the dot product does as well, runs as one matrix product on any
# accelerator, and does not create the $(B, L, T, H)$ tensor that additive
# attention needs for $L$ queries. The cell times the two scores for all pairs of
# 64 queries and 64 keys of width 64.

# %%
def additive_scores(queries, keys, W_q, W_k, v):
    """All additive scores of L queries against T keys: (B, L, T)."""
    return torch.tanh((queries @ W_q.T)[:, :, None, :]
                      + (keys @ W_k.T)[:, None, :, :]) @ v  # (B, L, T, H) @ (H,)


def general_scores(queries, keys, W):
    """All 'general' scores s^T W h: (B, L, T), one matrix product."""
    return queries @ W @ keys.transpose(1, 2)


def best_of(fn, *args, repeats=5):
    times = []
    with torch.no_grad():
        for _ in range(repeats):
            start = time.perf_counter()
            fn(*args)
            times.append(time.perf_counter() - start)
    return min(times)


width = 64
queries = torch.randn(16, 64, width, generator=gen)  # (B, L, D)
keys = torch.randn(16, 64, width, generator=gen)  # (B, T, D)
W_sq = torch.randn(width, width, generator=gen) / math.sqrt(width)
v_vec = torch.randn(width, generator=gen)
t_add = best_of(additive_scores, queries, keys, W_sq, W_sq, v_vec)
t_gen = best_of(general_scores, queries, keys, W_sq)
print(f"additive scores: {t_add * 1e3:.2f} ms (a (16, 64, 64, {width}) tensor), "
      f"general scores: {t_gen * 1e3:.2f} ms; ratio {t_add / t_gen:.0f}x")

# %% [markdown]
# ## 22.4 From attention in RNNs to self-attention
#
# - **2014, Bahdanau et al.**: the query is the decoder RNN's state, the keys
#   and values the encoder RNN's states; additive score.
# - **2015, Luong et al.**: the same setting; dot, general and concat scores,
#   global and local attention.
# - **2015, Xu et al., "Show, attend and tell"**: a captioning RNN attends to
#   the regions of a CNN's feature map: attention from text to an image.
# - **2016-2017**: attention *within* one sentence (decomposable attention,
#   self-attentive sentence embeddings), still next to RNNs or instead of them
#   for classification.
# - **2017, Vaswani et al., the Transformer**: every position queries every
#   position (self-attention), scaled dot product, several heads; the decoder
#   keeps a cross-attention to the encoder.
#
# Until 2017 attention was an *addition* to a recurrent network: the RNN still
# carried information along the sequence step by step, and attention only let
# the decoder look back. The Transformer removed the recurrence and made
# attention the only way positions exchange information (**self-attention**,
# chapter 11). Three consequences:
#
# - **Parallelism**: all positions of a layer are computed at once; training
#   no longer waits for $T$ sequential steps.
# - **Path length**: any two positions are one layer apart, instead of up to $T$
#   recurrent steps, so long-range dependencies are easier to learn.
# - **Cost**: every pair is compared, $O(T^2)$ time and memory per layer
#   (chapter 11 measured it), and order must be added explicitly with positional
#   encodings.
#
# The encoder-decoder *cross*-attention of Bahdanau survived unchanged in
# spirit: the Transformer decoder's second sub-layer takes its queries from the
# target side and its keys and values from the encoder. Sections 22.6 and 22.7
# build it with the modern machinery, and show that it still learns alignments.
#
# ## 22.5 Masks from lengths and from causality
#
# Two masks come up in every attention model, and it is worth having a function
# for each, because off-by-one and inverted masks are among the most common
# silent bugs: a model with a wrong mask still trains, it just cheats (sees the
# future) or attends to padding.
#
# - A **padding mask** of shape $(B, T)$ from the lengths $\ell_b$ of the
#   sequences of a batch: position $t$ of sequence $b$ is padding iff
#   $t \ge \ell_b$ (positions count from 0, so a sequence of length $\ell$
#   occupies $0..\ell-1$).
# - A **causal mask** of shape $(T, T)$: query $i$ may attend to key $j$ only if
#   $j \le i$, so the masked entries are those with $j > i$, strictly above the
#   diagonal. A token always sees itself; the diagonal is *not* masked (masking
#   it leaves the first query with nothing to look at).
#
# Chapter 11 showed that PyTorch uses two opposite conventions for boolean
# masks. In this chapter both functions return `True` **where attention is not
# allowed**, the convention of `nn.MultiheadAttention` (`key_padding_mask`,
# `attn_mask`) and `nn.Transformer`. The translations to the other forms:
#
# - `F.scaled_dot_product_attention(attn_mask=...)` wants True = allowed:
#   pass `~m`;
# - a float additive mask, $-\infty$ where masked and 0 elsewhere:
#   `torch.zeros(m.shape).masked_fill(m, -math.inf)`;
#   `nn.Transformer.generate_square_subsequent_mask(T)` is such a mask, and its
#   $-\infty$ entries are exactly the `True` entries of `causal_mask(T)`;
# - a padding mask $(B, T)$ applied to scores $(B, L, T)$: `m[:, None, :]`
#   (with a heads axis, $(B, h, L, T)$: `m[:, None, None, :]`);
# - padding and causality together (either one forbids):
#   `pad[:, None, :] | causal[None]`, shape $(B, T, T)$.
#
# ### Exercise 2: `padding_mask` (2 points)

# %% grade_id="ch22-padding-mask"
def padding_mask(lengths, max_len):
    """Boolean padding mask from sequence lengths (True = padding).

    B is the batch size.

    Args:
        lengths: 1-D integer tensor (B,), the length of each sequence; B may be
            0 (an empty batch).
        max_len: int, the padded length T; every length must be in 0..max_len.

    Returns:
        bool tensor (B, max_len) on the device of lengths, with
        mask[b, t] = True iff t >= lengths[b]: the positions a sequence does not
        use, which may NOT be attended to (nn.MultiheadAttention's
        key_padding_mask convention). A length of 0 gives a row of True, a
        length of max_len a row of False.

    Raises:
        ValueError: if a length is negative or larger than max_len.
    """
    ### BEGIN SOLUTION
    if ((lengths < 0) | (lengths > max_len)).any():
        raise ValueError(f"lengths must lie in 0..{max_len}, got {lengths.tolist()}")
    positions = torch.arange(max_len, device=lengths.device)  # (T,)
    return positions[None, :] >= lengths[:, None]
    ### END SOLUTION


# %%
# Try it
print(padding_mask(torch.tensor([3, 1, 4]), 4))

# %% grade_id="ch22-padding-mask-tests" points=2
"""padding_mask: a hand example (True = padding, dtype bool); lengths 0 and
max_len; width max_len even when no length reaches it; int32 lengths; an empty
batch; the result on the device of lengths; ValueError for a length above max_len
or below 0; == the positions >= length rule on random lengths; used as
nn.MultiheadAttention's key_padding_mask it removes padding."""
got = padding_mask(torch.tensor([3, 0, 5, 1]), 5)
want = torch.tensor([[False, False, False, True, True],
                     [True, True, True, True, True],
                     [False, False, False, False, False],
                     [False, True, True, True, True]])
assert got.dtype == torch.bool, f"expected a bool mask, got dtype {got.dtype}"
assert_close(got, want, name="padding_mask([3, 0, 5, 1], 5) (True = padding)")
empty = padding_mask(torch.zeros(0, dtype=torch.int64), 3)
assert_shape(empty, (0, 3), name="padding_mask of an empty batch")
on_device = padding_mask(torch.tensor([2, 6, 4], device=device), 6)
assert on_device.device.type == torch.device(device).type, (
    f"result on {on_device.device}, lengths on {device}")
assert_close(on_device.cpu(), torch.arange(6)[None] >= torch.tensor([2, 6, 4])[:, None],
             name="padding_mask([2, 6, 4] on device, 6)")
# no sequence fills max_len; int32 lengths (any integer dtype is allowed)
assert_close(padding_mask(torch.tensor([1, 2], dtype=torch.int32), 4),
             torch.tensor([[False, True, True, True], [False, False, True, True]]),
             name="padding_mask(int32 [1, 2], 4) (T = max_len, not the longest)")
expect_raises(ValueError, padding_mask, torch.tensor([2, 7]), 6,
              name="padding_mask([2, 7], 6) (7 > max_len)")
expect_raises(ValueError, padding_mask, torch.tensor([-1, 2]), 6,
              name="padding_mask([-1, 2], 6) (a negative length)")
# as a key padding mask, padding keys get weight 0 in nn.MultiheadAttention
mha_check = nn.MultiheadAttention(4, 1, batch_first=True).to(device)
x_check = torch.randn(3, 6, 4, generator=torch.Generator().manual_seed(0)).to(device)
_, w_check = mha_check(x_check, x_check, x_check, key_padding_mask=on_device)
assert (w_check.detach().transpose(1, 2)[on_device] == 0).all(), (
    "nn.MultiheadAttention gave weight to a key your mask marks as padding")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(5)
for _b, _t in [(1, 1), (1, 9), (7, 3), (4, 11), (9, 2)]:
    _lengths = torch.randint(0, _t + 1, (_b,), generator=_gen)
    _got = padding_mask(_lengths.to(device), _t)
    _want = torch.arange(_t)[None] >= _lengths[:, None]
    assert _got.dtype == torch.bool, f"padding_mask: dtype {_got.dtype}, not bool"
    assert _got.device.type == torch.device(device).type, "padding_mask: wrong device"
    assert_close(_got.cpu(), _want, name=f"padding_mask({_lengths.tolist()}, {_t})")
    _got32 = padding_mask(_lengths.to(torch.int32), _t)
    assert_close(_got32, _want, name=f"padding_mask(int32 {_lengths.tolist()}, {_t})")
expect_raises(ValueError, padding_mask, torch.tensor([0, 4, 3]), 3,
              name="padding_mask([0, 4, 3], 3)")
_ = expect_raises(ValueError, padding_mask, torch.tensor([-2]), 3,  # no output
                  name="padding_mask([-2], 3)")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3: `causal_mask` (2 points)
#
# Return the causal mask in the same convention: `True` strictly above the
# diagonal. `nn.Transformer.generate_square_subsequent_mask` computes the float
# version; it (and the private function it calls) is forbidden here, and the
# tests compare with it.

# %% grade_id="ch22-causal-mask"
def causal_mask(size, device=None):
    """Boolean causal mask (True = query i may NOT attend to key j).

    Args:
        size: T, int >= 1, the sequence length.
        device: where to create the mask (None: the CPU).

    Returns:
        bool tensor (T, T) on device with mask[i, j] = True iff j > i (the
        future, strictly above the diagonal); the diagonal is False, so that
        every position sees itself. causal_mask(1) is [[False]]. Its True
        entries are exactly the -inf entries of
        nn.Transformer.generate_square_subsequent_mask(T).

    Raises:
        ValueError: if size < 1.

    Forbidden: nn.Transformer.generate_square_subsequent_mask and the private
    torch.nn.modules.transformer._generate_square_subsequent_mask it calls.
    """
    ### BEGIN SOLUTION
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    positions = torch.arange(size, device=device)
    return positions[None, :] > positions[:, None]
    ### END SOLUTION


# %%
# Try it
print(causal_mask(4))

# %% grade_id="ch22-causal-mask-tests" points=2
"""causal_mask: a hand example (True above the diagonal, diagonal False, dtype
bool, on the CPU by default); size 1; == the -inf entries of
nn.Transformer.generate_square_subsequent_mask (forbidden inside, with the private
function it calls); created on `device` when asked; ValueError for size 0."""
_banned = ("torch.nn.Transformer.generate_square_subsequent_mask",
           "torch.nn.modules.transformer._generate_square_subsequent_mask")
with forbid(*_banned):
    got = causal_mask(4)
want = torch.tensor([[False, True, True, True],
                     [False, False, True, True],
                     [False, False, False, True],
                     [False, False, False, False]])
assert got.dtype == torch.bool, f"expected a bool mask, got dtype {got.dtype}"
assert got.device.type == "cpu", f"causal_mask(4) (device=None) is on {got.device}"
assert_close(got, want, name="causal_mask(4) (True strictly above the diagonal)")
with forbid(*_banned):
    assert_close(causal_mask(1), torch.tensor([[False]]), name="causal_mask(1)")
    got = causal_mask(7, device=device)
assert got.device.type == torch.device(device).type, (
    f"causal_mask(7, device={device}) is on {got.device}")
float_mask = nn.Transformer.generate_square_subsequent_mask(7)
assert_close(got.cpu(), float_mask == -math.inf,
             name="causal_mask(7) vs generate_square_subsequent_mask(7) == -inf")
_ = expect_raises(ValueError, causal_mask, 0, name="causal_mask(0)")  # no output
### BEGIN HIDDEN TESTS
for _t in (2, 3, 5, 12):
    with forbid(*_banned):
        _got = causal_mask(_t, device=device)
    assert _got.dtype == torch.bool and _got.device.type == torch.device(device).type
    assert_close(_got.cpu(), nn.Transformer.generate_square_subsequent_mask(_t)
                 == -math.inf, name=f"causal_mask({_t})")
    with forbid(*_banned):
        _got = causal_mask(_t)
    assert _got.device.type == "cpu", f"causal_mask({_t}) is on {_got.device}"
_ = expect_raises(ValueError, causal_mask, -3, name="causal_mask(-3)")  # no output
### END HIDDEN TESTS

# %% [markdown]
# A decoder over a padded batch needs both masks at once. The figure combines
# them for a batch of three sequences of lengths 6, 4 and 2 (padded to 6) and
# runs `nn.MultiheadAttention` with each form of the mask: `attn_mask` for the
# causal part and `key_padding_mask` for the padding. The last panel checks the
# translation to `F.scaled_dot_product_attention`, which wants `True` where
# attention *is* allowed: with the identity matrix as the values, its output is
# the matrix of attention weights itself. A padding *query* (a row below the
# sequence's length) still sees the real keys: whatever it computes is thrown
# away by the loss.

# %%
seq_lengths = torch.tensor([6, 4, 2])
pad = padding_mask(seq_lengths, 6)  # (B, T)
causal = causal_mask(6)  # (T, T)
combined = pad[:, None, :] | causal[None]  # (B, L, T): True = not allowed
x_masks = torch.randn(3, 6, 8, generator=gen)
viewer = nn.MultiheadAttention(8, 1, batch_first=True)
with torch.no_grad():
    _, w_mha = viewer(x_masks, x_masks, x_masks, key_padding_mask=pad,
                      attn_mask=causal)
    # identity values: output row i = the weights of query i, (B, L, T)
    weights_sdpa = F.scaled_dot_product_attention(
        x_masks, x_masks, torch.eye(6).expand(3, 6, 6), attn_mask=~combined)
print("max |MHA weights after combined mask|:",
      w_mha.masked_select(combined).abs().max().item())
fig, axes = plt.subplots(1, 4, figsize=(15, 3.6))
panels = [("padding_mask, lengths 6, 4, 2", pad.float(), "key t", "sequence b"),
          ("causal_mask(6)", causal.float(), "key j", "query i"),
          ("combined, sequence 1 (length 4)", combined[1].float(), "key j",
           "query i"),
          ("F.sdpa weights with ~combined, seq. 1", weights_sdpa[1], "key j",
           "query i")]
for ax, (title, matrix, xlabel, ylabel) in zip(axes, panels, strict=True):
    image = ax.imshow(matrix.numpy(), cmap="viridis", vmin=0, vmax=1)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.title.set_fontsize(9)
fig.colorbar(image, ax=axes, fraction=0.015,
             label="masks: 1 = not allowed; last panel: weight")
fig.suptitle("Masks in the nn.MultiheadAttention convention (True = not allowed)")
plt.show()

# %% [markdown]
# ## 22.6 Cross-attention
#
# In **cross-attention** the queries come from one sequence and the keys and
# values from another, the **context**:
#
# $$\operatorname{CrossAttn}(X, Z) = \operatorname{softmax}\!\left(
#   \frac{(X W_Q^\top)(Z W_K^\top)^\top}{\sqrt{d}}\right) Z W_V^\top,\qquad
#   X \in \mathbb{R}^{L \times E},\ Z \in \mathbb{R}^{S \times C}.$$
#
# (per head, with $d = E/h$; the heads are split and merged as in chapter 11,
# followed by the output projection). The two sequences may differ in length
# ($L \ne S$) and in **width** ($E \ne C$): $W_Q$ maps $E \to E$ while $W_K$
# and $W_V$ map $C \to E$, so that queries and keys meet in the same space. The
# output has one row per *query*: cross-attention writes information from the
# context into the query sequence.
#
# Where it appears:
#
# - **translation** (Bahdanau's setting, the Transformer decoder): target tokens
#   query the encoded source sentence;
# - **image captioning and vision-language models**: text tokens of width $E$
#   query image patches of width $C$ from a vision encoder (Flamingo inserts
#   such layers into a frozen language model);
# - **text-to-image diffusion**: image latents query the tokens of the prompt;
# - **Perceiver** and **DETR**: a small set of learned queries reads a large
#   input, so the cost is $O(L S)$ with a small $L$ instead of $O(S^2)$.
#
# `nn.MultiheadAttention(E, h, kdim=C, vdim=C)` supports different widths. When
# `kdim` or `vdim` differs from $E$ it cannot stack the three projections into
# one `in_proj_weight` (they have different shapes) and stores them separately:
# `q_proj_weight` $(E, E)$, `k_proj_weight` $(E, C)$, `v_proj_weight` $(E, C)$,
# with the three biases still stacked in `in_proj_bias` $(3E,)$ in the order
# $q, k, v$, and `out_proj`, an `nn.Linear(E, E)`.
#
# ### Exercise 4: `CrossAttention` (5 points)
#
# Write the module with exactly these parameters. The tests load the weights of
# `nn.MultiheadAttention(E, h, kdim=C, vdim=C, batch_first=True)` into it and
# compare the outputs, the per-head weights (`average_attn_weights=False`) and
# the gradients of every parameter and input, with and without a padding mask on
# the context. The attention built-ins are forbidden; `torch.softmax`,
# `F.linear` and your masks are allowed. Follow the split of the heads of
# chapter 11: reshape *and* transpose.

# %% grade_id="ch22-cross-attention"
class CrossAttention(nn.Module):
    """Multi-head cross-attention: queries (width E) attend to a context (width C).

    N is the batch size, L the number of queries, S the length of the context,
    E = embed_dim, C = context_dim, h = num_heads, d = E // h.

    Parameters, exactly these (the names and shapes of
    nn.MultiheadAttention(E, h, kdim=C, vdim=C), whose state_dict must load into
    this module; no other parameters or buffers):
        q_proj_weight: (E, E), k_proj_weight: (E, C), v_proj_weight: (E, C),
            each initialised with nn.init.xavier_uniform_;
        in_proj_bias: (3E,), the biases [b_q; b_k; b_v], initialised to 0;
        out_proj: nn.Linear(E, E), its bias initialised to 0.
    These names are used whatever C is (even C == E).

    Args:
        embed_dim: E, int >= 1.
        num_heads: h, int >= 1.
        context_dim: C, int >= 1.

    Raises:
        ValueError: in __init__, if E is not divisible by h.

    forward(x, context, context_padding_mask=None):
        x: queries (N, L, E); context: keys and values (N, S, C); floating point
            with the module's dtype and device (batch first).
        context_padding_mask: None, or bool (N, S), True where context position
            s of sample n is padding and gets weight 0 (the convention of
            padding_mask and of key_padding_mask). Every sample keeps at least
            one context position.
        Returns (output, weights): output (N, L, E), weights (N, h, L, S), the
        attention weights of every head (not averaged; each row sums to 1),
        same dtype and device as x. Per head the scale is 1/sqrt(d); no dropout.
        Equals nn.MultiheadAttention(E, h, kdim=C, vdim=C, batch_first=True)
        called as (x, context, context, key_padding_mask=...,
        average_attn_weights=False) with the same weights.

    Forbidden: the attention built-ins of dlcourse.checks.ATTENTIONS.
    """

    def __init__(self, embed_dim, num_heads, context_dim):
        super().__init__()
        ### BEGIN SOLUTION
        if embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim {embed_dim} is not divisible by num_heads "
                             f"{num_heads}")
        self.num_heads = num_heads
        self.q_proj_weight = nn.Parameter(torch.empty(embed_dim, embed_dim))
        self.k_proj_weight = nn.Parameter(torch.empty(embed_dim, context_dim))
        self.v_proj_weight = nn.Parameter(torch.empty(embed_dim, context_dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim))
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        for weight in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
            nn.init.xavier_uniform_(weight)
        nn.init.zeros_(self.out_proj.bias)
        ### END SOLUTION

    def forward(self, x, context, context_padding_mask=None):
        ### BEGIN SOLUTION
        n, length, e = x.shape
        b_q, b_k, b_v = self.in_proj_bias.chunk(3)

        def split_heads(t, w, b):  # (N, T, width) -> (N, h, T, d)
            t = F.linear(t, w, b)
            return t.reshape(n, t.shape[1], self.num_heads, -1).transpose(1, 2)

        q = split_heads(x, self.q_proj_weight, b_q)
        k = split_heads(context, self.k_proj_weight, b_k)
        v = split_heads(context, self.v_proj_weight, b_v)
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (N, h, L, S)
        if context_padding_mask is not None:
            scores = scores.masked_fill(context_padding_mask[:, None, None, :],
                                        -math.inf)
        weights = torch.softmax(scores, dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(n, length, e)  # merge heads
        return self.out_proj(out), weights
        ### END SOLUTION


# %%
# Try it: 5 text tokens of width 16 attend to 9 image patches of width 12
cross = CrossAttention(16, 4, 12)
out_try, weights_try = cross(torch.randn(2, 5, 16), torch.randn(2, 9, 12))
print("output", tuple(out_try.shape), "weights", tuple(weights_try.shape))
print("parameters:", [(name, tuple(p.shape)) for name, p in cross.named_parameters()])

# %% grade_id="ch22-cross-attention-tests" points=5
"""CrossAttention: parameter names and shapes of nn.MultiheadAttention(E, h,
kdim=C, vdim=C); biases start at 0, xavier-uniform weights; ValueError when
E % h != 0; with its weights loaded (random biases), output, per-head weights and
gradients (parameters, x and context) match nn.MultiheadAttention(..., kdim=C,
vdim=C, batch_first=True, average_attn_weights=False), in float32 and in float64
on `device` with a context padding mask (True = padding), L != S, E != C; the
same parameter names when C == E (compared with nn.MultiheadAttention's packed
in_proj_weight); no attention built-ins (ATTENTIONS)."""


def _check_cross(embed_dim, num_heads, context_dim, n, len_q, len_c, dtype, where,
                 seed, padding=False):
    name = (f"CrossAttention({embed_dim}, {num_heads}, {context_dim}) on x "
            f"({n}, {len_q}, {embed_dim}), context ({n}, {len_c}, {context_dim}), "
            f"{dtype}" + (", padding mask" if padding else ""))
    gen = torch.Generator().manual_seed(seed)
    ref = nn.MultiheadAttention(embed_dim, num_heads, kdim=context_dim,
                                vdim=context_dim, batch_first=True)
    with torch.no_grad():  # random biases too, so that a bias mistake shows
        for p in ref.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(embed_dim))
    ref = ref.to(where, dtype)
    mine = CrossAttention(embed_dim, num_heads, context_dim).to(where, dtype)
    want_keys, got_keys = sorted(ref.state_dict()), sorted(mine.state_dict())
    assert got_keys == want_keys, (
        f"{name}: state_dict keys {got_keys}, expected {want_keys}")
    mine.load_state_dict(ref.state_dict())
    x = torch.randn(n, len_q, embed_dim, generator=gen, dtype=dtype).to(where)
    ctx = torch.randn(n, len_c, context_dim, generator=gen, dtype=dtype).to(where)
    pad = None
    if padding:
        lengths = torch.randint(1, len_c + 1, (n,), generator=gen)
        pad = (torch.arange(len_c)[None] >= lengths[:, None]).to(where)
    x_mine, ctx_mine = x.clone().requires_grad_(True), ctx.clone().requires_grad_(True)
    x_ref, ctx_ref = x.clone().requires_grad_(True), ctx.clone().requires_grad_(True)
    with forbid(*ATTENTIONS):
        got = mine(x_mine, ctx_mine, context_padding_mask=pad)
    want = ref(x_ref, ctx_ref, ctx_ref, key_padding_mask=pad,
               average_attn_weights=False)
    assert isinstance(got, tuple) and len(got) == 2, (
        f"{name}: expected a tuple (output, weights), got {type(got).__name__}")
    tol = 1e-10 if dtype == torch.float64 else 1e-4
    assert_close(got[0], want[0], rtol=tol, atol=tol, name=f"{name}: output")
    assert_close(got[1], want[1], rtol=tol, atol=tol,
                 name=f"{name}: per-head weights (N, h, L, S)")
    assert got[0].device == x.device, f"{name}: output on {got[0].device}"
    upstream = torch.randn(want[0].shape, generator=gen, dtype=dtype).to(where)
    (got[0] * upstream).sum().backward()
    (want[0] * upstream).sum().backward()
    ref_params = dict(ref.named_parameters())
    for key, p in mine.named_parameters():
        assert p.grad is not None, f"{name}: no gradient reached {key}"
        assert_close(p.grad, ref_params[key].grad, rtol=tol, atol=tol,
                     name=f"{name}: gradient of {key}")
    for label, a, b in (("x", x_mine, x_ref), ("context", ctx_mine, ctx_ref)):
        assert_close(a.grad, b.grad, rtol=tol, atol=tol,
                     name=f"{name}: gradient of {label}")


cross = CrossAttention(16, 4, 12)
assert isinstance(cross, nn.Module), "CrossAttention must subclass nn.Module"
shapes = {name: tuple(p.shape) for name, p in cross.named_parameters()}
want_shapes = {"q_proj_weight": (16, 16), "k_proj_weight": (16, 12),
               "v_proj_weight": (16, 12), "in_proj_bias": (48,),
               "out_proj.weight": (16, 16), "out_proj.bias": (16,)}
assert shapes == want_shapes, f"parameters {shapes}, expected {want_shapes}"
assert isinstance(cross.out_proj, nn.Linear), "out_proj must be an nn.Linear(E, E)"
for key in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
    w_init = getattr(cross, key).detach()
    bound = math.sqrt(6 / sum(w_init.shape))  # xavier_uniform_: 6 / (out + in)
    assert w_init.abs().max() <= bound and w_init.std() > 0.4 * bound, (
        f"{key} should be xavier-uniform in [-{bound:.3f}, {bound:.3f}] (std "
        f"{bound / math.sqrt(3):.3f}): got values in [{w_init.min():.3f}, "
        f"{w_init.max():.3f}], std {w_init.std():.3f}")
assert (cross.in_proj_bias == 0).all() and (cross.out_proj.bias == 0).all(), (
    "in_proj_bias and out_proj.bias must start at 0")
expect_raises(ValueError, CrossAttention, 10, 4, 6,
              name="CrossAttention(10, 4, 6) (10 is not divisible by 4)")
_check_cross(12, 3, 7, 2, 5, 4, torch.float32, "cpu", seed=0)
_check_cross(12, 4, 5, 3, 4, 7, torch.float64, device, seed=1, padding=True)
# C == E: the same three weights (nn.MultiheadAttention would pack them into one
# in_proj_weight here, so its output is compared with the three stacked)
square = CrossAttention(8, 2, 8).to(device, torch.float64)
shapes = {name: tuple(p.shape) for name, p in square.named_parameters()}
want_shapes = {"q_proj_weight": (8, 8), "k_proj_weight": (8, 8),
               "v_proj_weight": (8, 8), "in_proj_bias": (24,),
               "out_proj.weight": (8, 8), "out_proj.bias": (8,)}
assert shapes == want_shapes, (
    f"CrossAttention(8, 2, 8), C == E: parameters {shapes}, expected "
    f"{want_shapes} (the same names whatever C is)")
square_ref = nn.MultiheadAttention(8, 2, batch_first=True).to(device, torch.float64)
with torch.no_grad():
    square.in_proj_bias.copy_(torch.linspace(-1, 1, 24))
    square_ref.in_proj_weight.copy_(torch.cat(
        [square.q_proj_weight, square.k_proj_weight, square.v_proj_weight]))
    square_ref.in_proj_bias.copy_(square.in_proj_bias)
    square_ref.out_proj.load_state_dict(square.out_proj.state_dict())
square_x = torch.randn(2, 3, 8, dtype=torch.float64, device=device)
square_ctx = torch.randn(2, 5, 8, dtype=torch.float64, device=device)
with forbid(*ATTENTIONS):
    square_got = square(square_x, square_ctx)
square_want = square_ref(square_x, square_ctx, square_ctx,
                         average_attn_weights=False)
for label, got_part, want_part in zip(("output", "per-head weights"), square_got,
                                      square_want, strict=True):
    assert_close(got_part, want_part, rtol=1e-10, atol=1e-10,
                 name=f"CrossAttention(8, 2, 8), C == E: {label}")
### BEGIN HIDDEN TESTS
for _seed, _args in enumerate([(8, 1, 3, 1, 3, 4), (6, 6, 11, 2, 1, 5),
                               (15, 5, 4, 1, 6, 2), (10, 2, 9, 4, 7, 3),
                               (9, 3, 2, 2, 4, 9)]):
    _check_cross(*_args, torch.float64, device, seed=10 + _seed, padding=True)
    _check_cross(*_args, torch.float64, device, seed=20 + _seed)
expect_raises(ValueError, CrossAttention, 9, 2, 4,
              name="CrossAttention(9, 2, 4) (9 is not divisible by 2)")
_cross = CrossAttention(30, 5, 7)
for _key in ("q_proj_weight", "v_proj_weight"):
    _w = getattr(_cross, _key).detach()
    _bound = math.sqrt(6 / sum(_w.shape))
    assert _w.abs().max() <= _bound and _w.std() > 0.4 * _bound, (
        f"CrossAttention(30, 5, 7): {_key} is not xavier-uniform")
### END HIDDEN TESTS

# %% [markdown]
# ## 22.7 Watching cross-attention learn an alignment
#
# A toy version of Bahdanau's translation problem shows what attention heat maps
# are good for. The "source sentence" is a sequence of 2 to 8 digits, padded to
# 8; the "translation" is the same digits in reverse order. The decoder does not
# generate step by step here: it has one **learned query** per output position
# $i$ and source length $\ell$ (a table of vectors, like the learned queries of
# DETR and the Perceiver, mentioned above). The queries cross-attend to the
# encoded source (a digit embedding plus a learned position embedding, of
# width $C = 24$, while the queries have width $E = 16$) with your
# `CrossAttention` (one head) and a padding mask from your `padding_mask`, and a
# linear layer reads the digit from each output row. The right alignment is
# output $i \leftarrow$ input $\ell - 1 - i$, an anti-diagonal whose place
# depends on the length; nobody tells the model, it has to find it from the
# loss.
#
# The bar: **at least 95% of 500 held-out sequences reversed exactly** (every
# digit right). The cell also stores the attention maps of a few test sequences
# during training, for the widget below.

# %%
PAD, MAX_LEN = 10, 8  # the padding token; the longest sequence


def reversal_data(num, generator):
    """Digit sequences of lengths 2..MAX_LEN, padded with PAD, and their reversals."""
    lengths = torch.randint(2, MAX_LEN + 1, (num,), generator=generator)
    tokens = torch.randint(0, 10, (num, MAX_LEN), generator=generator)
    positions = torch.arange(MAX_LEN)
    mirrored = (lengths[:, None] - 1 - positions).clamp(min=0)  # (num, MAX_LEN)
    pad_positions = positions[None] >= lengths[:, None]
    targets = tokens.gather(1, mirrored).masked_fill(pad_positions, PAD)
    return tokens.masked_fill(pad_positions, PAD), targets, lengths


class Aligner(nn.Module):
    """Learned output queries cross-attend to the encoded source digits."""

    def __init__(self, embed_dim=16, context_dim=24):
        super().__init__()
        self.token = nn.Embedding(PAD + 1, context_dim)
        self.source_position = nn.Embedding(MAX_LEN, context_dim)
        # one learned query per (length, output position) pair
        self.query = nn.Embedding((MAX_LEN + 1) * MAX_LEN, embed_dim)
        self.cross = CrossAttention(embed_dim, 1, context_dim)
        self.readout = nn.Linear(embed_dim, 10)

    def forward(self, tokens, lengths):  # (N, T) int64, (N,) int64
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        context = self.token(tokens) + self.source_position(positions)  # (N, T, C)
        queries = self.query(lengths[:, None] * MAX_LEN + positions)  # (N, L, E)
        out, weights = self.cross(queries, context,
                                  context_padding_mask=padding_mask(lengths, MAX_LEN))
        return self.readout(out), weights[:, 0]  # (N, L, 10), (N, L, S)


def exact_match(model, tokens, targets, lengths):
    """Fraction of sequences whose digits are all predicted right."""
    model.eval()
    with torch.no_grad():
        logits, _ = model(tokens.to(device), lengths.to(device))
    keep = ~padding_mask(lengths, MAX_LEN)
    right = (logits.argmax(-1).cpu() == targets) | ~keep
    return right.all(dim=1).float().mean().item()


test_tokens, test_targets, test_lengths = reversal_data(
    500, torch.Generator().manual_seed(1234))
WATCHED = 12  # the first test sequences, whose maps the widget shows
print("example:", test_tokens[0].tolist(), "->", test_targets[0].tolist())

# %%
NUM_STEPS = 100  # the knob: more steps (and a larger MAX_LEN) on a GPU
SNAPSHOT_STEPS = [0, 5, 10, 15, 20, 30, 50, NUM_STEPS]
aligner_cache = {}  # the trained model, so that later cells reuse it


def train_aligner(num_steps=NUM_STEPS, batch_size=128, lr=2e-2, seed=0):
    """Train an Aligner; returns (model, losses, snapshots of the watched maps)."""
    if num_steps in aligner_cache:
        return aligner_cache[num_steps]
    set_seed(seed)  # the initial weights and the random training sequences
    model = Aligner().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    data_gen = torch.Generator().manual_seed(torch.initial_seed() % 2**31)
    snapshots, losses = {}, []
    for step in progress(range(num_steps + 1), desc="training"):
        if step in SNAPSHOT_STEPS:  # the maps of the watched test sequences
            model.eval()
            with torch.no_grad():
                _, maps = model(test_tokens[:WATCHED].to(device),
                                test_lengths[:WATCHED].to(device))
            snapshots[step] = maps.cpu()
        if step == num_steps:
            break
        model.train()
        tokens, targets, lengths = (t.to(device) for t in
                                    reversal_data(batch_size, data_gen))
        logits, _ = model(tokens, lengths)
        keep = targets != PAD
        loss = F.cross_entropy(logits[keep], targets[keep])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    aligner_cache[num_steps] = model, losses, snapshots
    return aligner_cache[num_steps]


start = time.perf_counter()
aligner, losses, _ = train_aligner()
print(f"trained {NUM_STEPS} steps in {time.perf_counter() - start:.1f} s, "
      f"final loss {losses[-1]:.3g}")
accuracy = exact_match(aligner, test_tokens, test_targets, test_lengths)
check_bar("held-out sequences reversed exactly", accuracy, 0.95)

fig, ax = plt.subplots(figsize=(6, 3.4))
ax.plot(losses, label="training loss")
ax.set(yscale="log", xlabel="step", ylabel="cross-entropy per digit",
       title="cross-attention learning to reverse")
ax.legend()
plt.show()

# %% [markdown]
# The widget shows the attention map of one held-out sequence at several points
# of training. Move the step slider: at step 0 the weights follow the random
# initial embeddings and show no pattern (the padding columns are 0 from the
# start, thanks to the mask); the anti-diagonal appears as the loss falls, some
# rows before others. Move the example slider to see it follow the length of
# the sequence. A row is one output position, labelled with the digit the final
# model predicts there, and a column one input digit.

# %%
def show_alignment(example=0, step=SNAPSHOT_STEPS[-1]):
    """One test sequence's cross-attention map at a training step."""
    model, _, snapshots = train_aligner()  # the model trained above
    step = min(SNAPSHOT_STEPS, key=lambda s: abs(s - step))  # nearest snapshot
    length = int(test_lengths[example])
    weights = snapshots[step][example, :length, :length]
    digits = test_tokens[example, :length].tolist()
    model.eval()
    with torch.no_grad():
        logits, _ = model(test_tokens[example:example + 1].to(device),
                            test_lengths[example:example + 1].to(device))
    predicted = logits.argmax(-1)[0, :length].tolist()
    fig, ax = plt.subplots(figsize=(5.4, 4.6))
    image = ax.imshow(weights.numpy(), cmap="viridis", vmin=0, vmax=1)
    ax.plot(range(length), range(length - 1, -1, -1), "w:", lw=1,
            label=r"ideal alignment $j = \ell - 1 - i$")
    ax.set_xticks(range(length), [str(d) for d in digits])
    ax.set_yticks(range(length), [f"{i}: {p}" for i, p in enumerate(predicted)])
    ax.set(xlabel="key: input digit", ylabel="output position: predicted digit",
           title=f"test sequence {example} (length {length}), step {step}")
    ax.legend(loc="upper left", fontsize=8)  # the ideal cells are top right
    fig.colorbar(image, ax=ax, label="attention weight")
    fig.tight_layout()
    plt.show()


interactive_plot(show_alignment, example=(0, WATCHED - 1),
                 step=(0, SNAPSHOT_STEPS[-1], 5))

# %% [markdown]
# The cell below measures the same thing over all 500 test sequences: the
# average weight that a real output position puts on its mirrored input, at each
# snapshot (for the watched sequences) and for the final model (all of them),
# beside what uniform attention over the $\ell$ real digits, $1/\ell$, would
# give.

# %%
def mirror_weight(maps, lengths):
    """Mean weight of real output positions on their mirrored input position."""
    positions = torch.arange(MAX_LEN)
    mirrored = (lengths[:, None] - 1 - positions).clamp(min=0)  # (N, L)
    on_mirror = maps.gather(2, mirrored[:, :, None])[..., 0]  # (N, L)
    return on_mirror[~padding_mask(lengths, MAX_LEN)].mean().item()


aligner, _, aligner_snapshots = train_aligner()  # the model trained above
for step in SNAPSHOT_STEPS:
    print(f"step {step:4d}: weight on the mirrored input "
          f"{mirror_weight(aligner_snapshots[step], test_lengths[:WATCHED]):.2f}")
aligner.eval()
with torch.no_grad():
    _, final_maps = aligner(test_tokens.to(device), test_lengths.to(device))
uniform = torch.ones(len(test_lengths), MAX_LEN, MAX_LEN) / test_lengths[:, None, None]
print(f"final model, all 500 test sequences: "
      f"{mirror_weight(final_maps.cpu(), test_lengths):.2f}; uniform attention: "
      f"{mirror_weight(uniform, test_lengths):.2f}")

# %% [markdown]
# ### Reading heat maps with care
#
# Attention maps are the most popular window into a Transformer, and they are
# easy to over-read:
#
# - A weight says how much of a value vector was *mixed in*, not how much it
#   mattered to the prediction: a value may be small or be cancelled by later
#   layers. Jain and Wallace (2019) found that very different attention maps
#   can give the same predictions; Wiegreffe and Pinter (2019) answered that
#   this depends on the test. Treat a map as a hint, and confirm it by an
#   intervention (mask the key and watch the output).
# - With several heads and layers, information has already been mixed between
#   positions before the layer you look at: after the first layer, "position
#   $j$" no longer holds only token $j$.
# - Here the map *is* the mechanism, because the model has one attention layer
#   and the values carry only the source digits: masking the mirrored key must
#   break the output. The cell checks it on the test set.

# %%
def digit_accuracy(model, tokens, targets, lengths, hide_mirror=False):
    """Digit accuracy of real output positions, optionally with the mirrored
    input of each output hidden by the padding mask."""
    model.eval()
    tokens, targets, lengths = (t.to(device) for t in (tokens, targets, lengths))
    positions = torch.arange(MAX_LEN, device=device)
    rows = torch.arange(len(lengths), device=device)
    correct, total = 0, 0
    with torch.no_grad():
        context = model.token(tokens) + model.source_position(positions)
        queries = model.query(lengths[:, None] * MAX_LEN + positions)
        for i in range(MAX_LEN):  # one output position at a time
            real = lengths > i  # sequences that have an output at position i
            hide = padding_mask(lengths, MAX_LEN)
            if hide_mirror:
                hide[rows[real], (lengths - 1 - i)[real]] = True
            out, _ = model.cross(queries[real, i:i + 1], context[real],
                                 context_padding_mask=hide[real])
            predicted = model.readout(out)[:, 0].argmax(-1)
            correct += (predicted == targets[real, i]).sum().item()
            total += real.sum().item()
    return correct / total


aligner, _, _ = train_aligner()  # the model trained above
print(f"digit accuracy, all keys visible:         "
      f"{digit_accuracy(aligner, test_tokens, test_targets, test_lengths):.3f}")
print(f"digit accuracy, mirrored key masked out:  "
      f"{digit_accuracy(aligner, test_tokens, test_targets, test_lengths, True):.3f}"
      " (guessing gives 0.1)")

# %% [markdown]
# ## 22.8 Summary
#
# - Attention was invented to remove the fixed-size bottleneck of
#   encoder-decoder RNNs: each decoder step builds its own context vector, a
#   softmax-weighted average of all encoder states (Bahdanau et al., 2014).
# - Additive attention scores a pair with $v^\top \tanh(W_q q + W_k k)$: query and
#   keys may have different sizes, and the keys' projection is computed once.
#   Luong's dot and general scores are cheaper and work as well; the general
#   score is the scaled dot product of a Transformer head with $W = W_Q^\top
#   W_K$.
# - Self-attention (2017) removed the recurrence: all positions in parallel,
#   one step between any two, at a quadratic cost.
# - `padding_mask` and `causal_mask` return `True` where attention is not
#   allowed, as `nn.MultiheadAttention` wants; `~mask` for
#   `F.scaled_dot_product_attention`, `-inf` entries for a float mask, `|` to
#   combine them. The diagonal of a causal mask stays visible.
# - Cross-attention takes queries from one sequence and keys and values from
#   another, of another length and width; `nn.MultiheadAttention(kdim=, vdim=)`
#   then stores separate `q_proj_weight`, `k_proj_weight`, `v_proj_weight`.
# - A one-layer cross-attention model learned a length-dependent alignment from
#   the loss alone; its heat maps show it form during training, and masking the
#   attended key confirmed that the map is the mechanism, a check worth doing
#   before trusting any heat map.
#
# Chapter 23 stacks these pieces into modern Transformers: causal GPT blocks
# (with `causal_mask`), BERT's masked language modelling, and a decoder block
# whose cross-attention is this chapter's.
