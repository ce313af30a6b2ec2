# %% [markdown]
# # Chapter 11: Transformers
#
# A recurrent network reads a sentence one word at a time and squeezes everything
# it has seen into one state vector. The **Transformer** (Vaswani et al., 2017,
# "Attention is all you need") drops the recurrence: every position looks at
# every other position directly, through **attention**, and all positions are
# processed at once. Attention is a differentiable dictionary lookup: each
# position asks a question (a *query*), compares it with a label on every
# position (a *key*) and takes a weighted average of what those positions
# carry (their *values*). Stacked with small MLPs, residual connections and
# layer normalisation, this one operation became the architecture of language
# models, of vision transformers, of speech and protein models. This chapter
# builds it piece by piece, checks every piece against PyTorch's own, and trains
# a tiny transformer that reverses sequences of digits.
#
# **You will learn**
# - why recurrence is slow and forgetful, and what attention changes;
# - scaled dot-product attention, $\operatorname{softmax}(QK^\top/\sqrt{E})\,V$,
#   and why the $\sqrt{E}$ is there;
# - boolean and additive masks (padding, causal), what happens to a query that
#   may look at nothing, and PyTorch's **two opposite conventions** for boolean
#   masks;
# - why masking with `-1e9` breaks in float16, and what to use instead;
# - multi-head attention, laid out exactly as `nn.MultiheadAttention` stores it;
# - why attention needs positional encodings, and the sinusoidal encoding;
# - the Transformer block (post-norm, as `nn.TransformerEncoderLayer`), and how
#   encoders and decoders are built from it;
# - how a two-layer transformer learns to reverse sequences, seen through its
#   attention maps;
# - the cost of attention: time and memory grow with the square of the sequence
#   length, measured.
#
# **Graded exercises** (15 points)
#
# | exercise | points |
# |---|---|
# | `attention_weights(q, k, mask=None)` | 3 |
# | `scaled_dot_product_attention(q, k, v, mask=None)` | 3 |
# | `MultiHeadAttention(embed_dim, num_heads)` | 4 |
# | `positional_encoding(max_len, d_model, dtype=torch.float32, device=None)` | 2 |
# | `TransformerBlock(d_model, nhead, dim_feedforward, activation="relu")` | 3 |
#
# Each exercise is a function or a module whose docstring states its whole
# contract: shapes, dtypes, devices, edge cases and the built-ins you may not
# call. Replace `raise NotImplementedError()` with your code and run the test cell
# below it. The visible tests show every rule the grader checks; hidden tests
# repeat them on other values, shapes and seeds.
#
# Letters used for shapes throughout: $N$ is the batch size, $L$ the number of
# queries (the target sequence length), $S$ the number of keys and values (the
# source sequence length), $E$ the embedding size of queries and keys, $E_v$ the
# size of the values, $h$ the number of heads.

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
from dlcourse.plotting import plot_curves
from dlcourse.training import check_bar
from dlcourse.widgets import interactive_plot

device = get_device()  # the tests also run your code on this device
set_seed(0)
print(f"torch {torch.__version__}, device: {device}")

# %% [markdown]
# ## 11.1 From recurrence to attention
#
# Chapter 10's recurrent networks compute $h_t = f(h_{t-1}, x_t)$. Three
# problems follow from that one line:
#
# 1. **It is sequential.** $h_t$ needs $h_{t-1}$, so the $L$ steps of a sequence
#    run one after the other, however many cores a GPU has.
# 2. **Long paths.** Information from word 1 reaches word 200 through 199
#    applications of $f$; the gradient travels the same path backwards and
#    vanishes or explodes on the way (LSTMs and GRUs soften this, they do not
#    remove it).
# 3. **One bottleneck.** Everything the network knows about the past must fit
#    into the fixed-size vector $h_t$.
#
# Self-attention connects every position to every other in one step. The table
# compares one layer of each kind on a sequence of length $L$ with $d$ features
# (the comparison of the original paper):
#
# | layer | operations | sequential steps | longest path |
# |---|---|---|---|
# | recurrent | $O(L\, d^2)$ | $O(L)$ | $O(L)$ |
# | convolution, kernel $k$ | $O(k\, L\, d^2)$ | $O(1)$ | $O(L/k)$ |
# | self-attention | $O(L^2\, d)$ | $O(1)$ | $O(1)$ |
#
# (The longest path is the number of layers a signal crosses between two
# positions; dilated convolutions shorten it to $O(\log_k L)$.)
#
# The price is the $L^2$: every pair of positions is compared. Section 11.10
# measures it.

# %% [markdown]
# ## 11.2 Attention: a soft dictionary lookup
#
# A Python dictionary maps keys to values; a lookup compares the query with each
# key and returns the value of the one key that matches exactly. Attention
# relaxes all three parts:
#
# - the queries $q_i$, keys $k_j$ and values $v_j$ are vectors;
# - the match is a similarity score, the dot product
#   $s_{ij} = q_i \cdot k_j / \sqrt{E}$ (the $\sqrt{E}$ is explained in 11.3);
# - instead of picking one value, the lookup returns an average of all values,
#   weighted by a softmax of the scores:
#
# $$a_{ij} = \frac{\exp(s_{ij})}{\sum_{j'=1}^{S} \exp(s_{ij'})}, \qquad
#   o_i = \sum_{j=1}^{S} a_{ij}\, v_j .$$
#
# For all queries at once, with $Q \in \mathbb{R}^{L \times E}$,
# $K \in \mathbb{R}^{S \times E}$ and $V \in \mathbb{R}^{S \times E_v}$ holding
# one query, key or value per row,
#
# $$\operatorname{Attention}(Q, K, V) = \underbrace{\operatorname{softmax}\!\left(
#   \frac{Q K^\top}{\sqrt{E}}\right)}_{A\ \in\ \mathbb{R}^{L \times S}} V
#   \ \in \mathbb{R}^{L \times E_v},$$
#
# with the softmax taken along each row: every row of the **attention weights**
# $A$ is a probability distribution over the $S$ keys, and every output row is a
# convex combination of the values. Everything is differentiable, so the network
# can learn what to ask for and what to offer.
#
# In **self-attention** the three come from the same sequence $X \in
# \mathbb{R}^{L \times d}$ through learned matrices: $Q = X W_Q$, $K = X W_K$,
# $V = X W_V$. In **cross-attention** the queries come from one sequence and the
# keys and values from another (a translation decoder querying the encoded source
# sentence), which is why $L$ and $S$ may differ.
#
# The widget below has five keys, unit vectors at fixed angles in the plane, and
# five scalar values. Turn the query around and change its length (how sharp the
# lookup is): a long query puts nearly all the weight on the best-matching key,
# a hard dictionary lookup; a short one averages everything.

# %%
key_angles = torch.tensor([0.0, 1.3, 2.5, 3.7, 5.0])
toy_keys = torch.stack([key_angles.cos(), key_angles.sin()], dim=1)  # (S=5, E=2)
toy_values = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])  # (S,)


def show_lookup(angle=1.0, length=2.0):
    """Attention weights of one 2-D query over five keys, and the output."""
    query = length * torch.tensor([math.cos(angle), math.sin(angle)])  # (E,)
    weights = torch.softmax(toy_keys @ query / math.sqrt(2), dim=0)  # (S,)
    output = (weights * toy_values).sum()
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.6))
    for j, (x, y) in enumerate(toy_keys.tolist()):
        shade = 0.3 + 0.7 * weights[j].item()
        ax0.arrow(0, 0, x, y, width=0.02, color="C0", alpha=shade)
        ax0.annotate(f"key {j}: value {toy_values[j]:.0f}", (1.1 * x - 0.2, 1.1 * y))
    ax0.arrow(0, 0, 1.3 * math.cos(angle), 1.3 * math.sin(angle), width=0.03,
              color="C3", label=f"query direction (length {length:.1f})")
    ax0.set(xlim=(-1.8, 1.8), ylim=(-1.5, 1.5), aspect="equal", xlabel="x",
            ylabel="y", title="keys (darker = more weight) and the query")
    ax0.legend(loc="lower left")
    ax1.bar(range(5), weights.numpy(), color="C0", label="attention weight")
    ax1.set(xlabel="key j", ylabel="weight $a_j$", ylim=(0, 1),
            title=f"output = sum of a_j v_j = {output:.2f}")
    ax1.legend()
    fig.tight_layout()
    plt.show()


interactive_plot(show_lookup, angle=(0.0, 6.2, 0.1), length=(0.0, 20.0, 0.5))

# %% [markdown]
# ## 11.3 Why divide by $\sqrt{E}$
#
# Suppose the entries of a query and a key are independent with mean 0 and
# variance 1. Their dot product $q \cdot k = \sum_{e=1}^{E} q_e k_e$ is a sum of
# $E$ independent terms of variance 1, so it has variance $E$ and a standard
# deviation of $\sqrt{E}$. With $E = 64$ (a typical head size) raw scores have
# a standard deviation of 8, the softmax puts most of the weight on one key, and
# its gradient, $\partial a_i / \partial s_j = a_i(\delta_{ij} - a_j)$, which
# vanishes when one $a_i$ is 1 and the others 0, gets small: learning slows
# down. Dividing by $\sqrt{E}$ brings the scores
# back to a standard deviation of about 1 whatever the size. The cell measures
# both effects for 16 keys.

# %%
gen = torch.Generator().manual_seed(0)
sizes = [4, 16, 64, 256, 1024]
stats = {"std of q.k": [], "std of q.k / sqrt(E)": [], "max weight, raw": [],
         "max weight, scaled": [], "grad, raw": [], "grad, scaled": []}
for size in sizes:
    q_demo = torch.randn(2000, 1, size, generator=gen)  # 2000 queries
    k_demo = torch.randn(2000, 16, size, generator=gen)  # 16 keys each
    raw = (q_demo @ k_demo.transpose(1, 2)).squeeze(1)  # (2000, 16)
    for label, scores in (("raw", raw), ("scaled", raw / math.sqrt(size))):
        scores = scores.clone().requires_grad_(True)
        weights = torch.softmax(scores, dim=1)
        # size of the gradient of the top weight with respect to all scores
        (grad,) = torch.autograd.grad(weights.max(dim=1).values.sum(), scores)
        stats[f"max weight, {label}"].append(weights.max(dim=1).values.mean().item())
        stats[f"grad, {label}"].append(grad.norm(dim=1).mean().item())
    stats["std of q.k"].append(raw.std().item())
    stats["std of q.k / sqrt(E)"].append((raw / math.sqrt(size)).std().item())
print(f"{'E':>5s}" + "".join(f"{name:>22s}" for name in stats))
for i, size in enumerate(sizes):
    print(f"{size:5d}" + "".join(f"{values[i]:22.3f}" for values in stats.values()))

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 3.6))
for label, marker in (("raw", "o"), ("scaled", "s")):
    ax0.plot(sizes, stats[f"max weight, {label}"], marker=marker, label=label)
    ax1.plot(sizes, stats[f"grad, {label}"], marker=marker, label=label)
ax0.set(xscale="log", xlabel="E (size of queries and keys)", ylabel="mean max weight",
        title="how peaked the softmax is (16 keys)")
ax1.set(xscale="log", yscale="log", xlabel="E", ylabel="gradient norm",
        title="gradient of the top weight w.r.t. the scores")
for ax in (ax0, ax1):
    ax.grid(alpha=0.3)
    ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# Without the scale, the largest weight creeps towards 1 and the gradient keeps
# shrinking as $E$ grows (the table gives the figures); with it, both stay nearly
# constant.
# (Trained queries and keys are not independent unit-variance vectors, but
# initialisation makes them close to it, and that is when learning must start.)
#
# ## 11.4 Masks
#
# Often some keys must not be looked at:
#
# - **Padding.** Sequences of different lengths are padded to the same length to
#   form a batch; the padding positions carry no information and must get zero
#   weight.
# - **Causality.** A model that predicts token $i + 1$ from tokens $1..i$ (a
#   language model, a decoder) must not see the future: query $i$ may look only
#   at keys $j \le i$. This **causal mask** is lower-triangular.
#
# There are two ways to write a mask:
#
# - a **boolean mask** $M$ of shape $(L, S)$ (or broadcastable to the scores):
#   the scores where the key may not be used are replaced by $-\infty$ before the
#   softmax. Since $e^{-\infty} = 0$, those keys get weight exactly 0 and the
#   others share the whole weight;
# - an **additive (float) mask** $B$, added to the scores:
#   $\operatorname{softmax}(QK^\top/\sqrt{E} + B)$. An entry 0 keeps a key,
#   $-\infty$ removes it, and any other number is a learned or fixed bias (T5's
#   relative-position bias and ALiBi are additive masks).
#
# ### A query that may look at nothing
#
# If every key of a row is masked, the softmax computes $0/0$: a plain softmax
# returns NaN, and one NaN in a batch turns the loss and then every weight into
# NaN. Such rows are not exotic: with a mask built from the padding of both the
# queries and the keys, the query rows of padding positions are fully masked. The
# cell below shows what each tool does: `F.scaled_dot_product_attention` defines
# the output of such a row as 0, while `nn.MultiheadAttention` returns NaN for a
# sequence whose keys are all padding. In this chapter a row with nothing to
# look at gets **weights 0 and output 0**, as `F.scaled_dot_product_attention`.

# %%
q_small = torch.randn(1, 3, 4, generator=gen)  # (N=1, L=3, E=4)
k_small = torch.randn(1, 5, 4, generator=gen)  # (N, S=5, E)
v_small = torch.randn(1, 5, 2, generator=gen)  # (N, S, Ev=2)
keep = torch.ones(3, 5, dtype=torch.bool)
keep[1] = False  # query 1 may look at no key
scores = q_small @ k_small.transpose(1, 2) / 2  # sqrt(E) = 2
print("plain softmax, row 1:", torch.softmax(scores.masked_fill(~keep, -math.inf),
                                             dim=-1)[0, 1])
print("F.scaled_dot_product_attention, output of row 1:",
      F.scaled_dot_product_attention(q_small, k_small, v_small, attn_mask=keep)[0, 1])
mha_demo = nn.MultiheadAttention(4, 1, batch_first=True)
all_padding = torch.ones(1, 5, dtype=torch.bool)  # True = padding in nn.MHA
out_demo, _ = mha_demo(q_small, k_small, k_small, key_padding_mask=all_padding)
print("nn.MultiheadAttention, all keys padding, output of row 0:", out_demo[0, 0])

# %% [markdown]
# ### PyTorch's two opposite conventions
#
# The same boolean tensor means opposite things to different PyTorch functions:
#
# | function | boolean mask arguments | `True` means |
# |---|---|---|
# | `F.scaled_dot_product_attention` | `attn_mask` | **takes part** |
# | `nn.MultiheadAttention` | `attn_mask`, `key_padding_mask` | **masked out** |
# | `nn.TransformerEncoderLayer` | `src_mask`, `src_key_padding_mask` | **masked out** |
# | `nn.Transformer` | `*_mask`, `*_key_padding_mask` | **masked out** |
#
# Float masks are added to the scores by all of them, so they mean the same
# everywhere, and `nn.Transformer.generate_square_subsequent_mask(L)` returns a
# causal float mask ($0$ on and below the diagonal, $-\infty$ above). A common
# idiom in tutorials, `scores.masked_fill(mask == 0, ...)`, means 1 keeps and 0
# masks: the `F.scaled_dot_product_attention` convention written with
# integers. When you pass a mask to a function, check which convention it uses;
# an inverted mask raises no error, it only trains a model that looks at the
# wrong positions. This chapter's functions follow `F.scaled_dot_product_attention`
# (`True` = takes part) and its modules follow `nn.MultiheadAttention` (`True` =
# padding), so that each matches the built-in it is tested against. After the
# two exercises below, a figure shows both conventions on the same mask.
#
# ### Which number means "minus infinity"?
#
# Many tutorials fill masked scores with `-1e9`. In float32 that works
# ($e^{-10^9}$ underflows to 0 like $e^{-\infty}$), although a fully masked row
# then gets uniform weights instead of zeros. In **float16**, the type of mixed
# precision training, the most negative finite number is $-65504$, and $-10^9$
# does not exist: `masked_fill` raises an error, `torch.full` raises the same
# error, and arithmetic turns it into $-\infty$ silently (then a fully masked
# row gives NaN again). Use one of:
#
# - `float("-inf")`, and handle fully masked rows yourself;
# - `torch.finfo(scores.dtype).min`, the most negative finite number *of the
#   scores' dtype* ($-65504$ in float16, about $-3.4 \times 10^{38}$ in float32):
#   masked keys get weight 0 unless the whole row is masked, in which case all
#   keys get the same weight $1/S$, which you must still turn into 0.

# %%
for dtype in (torch.float16, torch.bfloat16, torch.float32):
    print(f"{str(dtype):15s} most negative finite number: "
          f"{torch.finfo(dtype).min:.4g}; -1e9 stored as "
          f"{torch.tensor(-1e9).to(dtype).item():.4g}")
scores16 = torch.tensor([[2.0, 1.0, -3.0, 0.5]], dtype=torch.float16)
keep16 = torch.tensor([[True, True, False, False]])
try:
    scores16.masked_fill(~keep16, -1e9)
except RuntimeError as err:
    print("float16 scores.masked_fill(~keep, -1e9) raises:", err)

# %% [markdown]
# ### Exercise 1: `attention_weights` (3 points)
#
# Compute the attention weights $A = \operatorname{softmax}(QK^\top/\sqrt{E} +
# \text{mask})$ for any number of leading batch dimensions, with both kinds of
# mask and the rule for fully masked rows. `torch.softmax` is allowed here
# (chapter 3 built a stable log-softmax from scratch; now we use the built-in).
# The attention built-ins of `dlcourse.checks.ATTENTIONS`
# (`F.scaled_dot_product_attention`, `F.multi_head_attention_forward`,
# `nn.MultiheadAttention.forward`) are forbidden.
#
# How can the tests get the weights out of `F.scaled_dot_product_attention`,
# which returns only $AV$? Pass the identity matrix as the values: $A I = A$.

# %% grade_id="ch11-attention-weights"
def attention_weights(q, k, mask=None):
    """Attention weights softmax(q k^T / sqrt(E) + mask) over the keys.

    B... are any leading batch dimensions (none, one or more), L the number of
    queries, S the number of keys, E their size.

    Args:
        q: queries, floating-point tensor of shape (B..., L, E).
        k: keys, tensor of shape (B..., S, E), same leading dimensions, dtype
            and device as q.
        mask: None, or a mask broadcastable to (B..., L, S) (it never makes the
            result bigger), on q's device, either
            - bool: True where key j takes part in query i's softmax, False where
              it is masked out (the convention of F.scaled_dot_product_attention;
              the opposite of nn.MultiheadAttention's), or
            - floating point with q's dtype: added to the scaled scores (0 keeps
              a key, -inf removes it, other values bias it).

    Returns:
        weights of shape (B..., L, S), same dtype and device as q. Each row is
        softmax over the S keys of q_i . k_j / sqrt(E) (+ mask): it sums to 1,
        and masked keys get weight exactly 0. A row in which no key takes part
        (bool mask all False, or float mask all -inf, along S) is all zeros,
        not NaN and not uniform (as F.scaled_dot_product_attention, whose
        output is 0 there).

    Works in float16 as well: never mask with a finite constant such as -1e9
    (it overflows float16); use float("-inf") or torch.finfo(q.dtype).min.
    torch.softmax is allowed. Forbidden: the attention built-ins of
    dlcourse.checks.ATTENTIONS. q, k and mask are not modified.
    """
    ### BEGIN SOLUTION
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B..., L, S)
    if mask is not None and mask.dtype == torch.bool:
        scores = scores.masked_fill(~mask, -math.inf)
    elif mask is not None:
        scores = scores + mask
    weights = torch.softmax(scores, dim=-1)
    # a row of -inf only: softmax gave NaN, the contract says 0
    nothing_to_see = scores.amax(dim=-1, keepdim=True) == -math.inf
    return weights.masked_fill(nothing_to_see, 0.0)
    ### END SOLUTION


# %%
# Try it: one query, two keys, E = 4 (so sqrt(E) = 2)
print(attention_weights(torch.tensor([[2.0, 0.0, 0.0, 0.0]]),
                        torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])))

# %% grade_id="ch11-attention-weights-tests" points=3
"""attention_weights: a hand example (the 1/sqrt(E) scale, no batch dimension);
== the weights of F.scaled_dot_product_attention (values = identity) in float64 on
`device` for batched heads (N, h, L, E) with no mask, a bool mask (True = takes
part), a float additive mask and a causal mask; fully masked rows (bool and float)
are zeros; float16 with a bool mask (no -1e9); inputs not modified; no attention
built-ins (ATTENTIONS)."""


def _weights_of_sdpa(q, k, mask=None):
    """The weights F.scaled_dot_product_attention uses: A @ I = A."""
    eye = torch.eye(k.shape[-2], dtype=q.dtype, device=q.device)
    return F.scaled_dot_product_attention(q, k, eye.expand(*k.shape[:-2], -1, -1),
                                          attn_mask=mask)


def _check_weights(q, k, mask, name, tol):
    saved = [t.clone() for t in (q, k, mask) if t is not None]
    with forbid(*ATTENTIONS):
        got = attention_weights(q, k, mask)
    assert_close(got, _weights_of_sdpa(q, k, mask), rtol=tol, atol=tol, name=name)
    assert got.device == q.device, f"{name}: result on {got.device}, not {q.device}"
    for before, after in zip(saved, [t for t in (q, k, mask) if t is not None],
                             strict=True):
        assert torch.equal(before, after), f"{name}: an input was modified"
    return got


# by hand: scores [2/2, 0/2] = [1, 0], softmax = [e, 1] / (e + 1)
with forbid(*ATTENTIONS):
    got = attention_weights(torch.tensor([[2.0, 0.0, 0.0, 0.0]]),
                            torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]))
assert_close(got, torch.tensor([[math.e / (math.e + 1), 1 / (math.e + 1)]]),
             rtol=1e-5, atol=1e-5,
             name="attention_weights(q (1, 4), k (2, 4)) (without the 1/sqrt(E) "
                  "scale you would get [0.881, 0.119])")
gen = torch.Generator().manual_seed(0)
# batched heads (N=2, h=3) in float64 on your device: L=5 queries, S=7 keys, E=4
q = torch.randn(2, 3, 5, 4, generator=gen, dtype=torch.float64).to(device)
k = torch.randn(2, 3, 7, 4, generator=gen, dtype=torch.float64).to(device)
_check_weights(q, k, None, "attention_weights(q (2, 3, 5, 4), k (2, 3, 7, 4))", 1e-10)
keep = torch.rand(5, 7, generator=gen) < 0.6
keep[:, 2] = True  # every query keeps at least one key here
_check_weights(q, k, keep.to(device),
               "attention_weights(q, k, bool mask (5, 7), True = takes part)", 1e-10)
bias = torch.randn(5, 7, generator=gen, dtype=torch.float64)
bias[bias < -0.8] = -math.inf  # an additive mask removes keys with -inf
_check_weights(q, k, bias.to(device),
               "attention_weights(q, k, float additive mask (5, 7))", 1e-10)
causal = torch.ones(7, 7, dtype=torch.bool).tril().to(device)  # key j <= query i
k_self = torch.randn(2, 3, 7, 4, generator=gen, dtype=torch.float64).to(device)
got = _check_weights(k_self, k_self, causal,
                     "attention_weights(x, x, causal mask (7, 7))", 1e-10)
assert (got.triu(diagonal=1) == 0).all(), "causal mask: a query looks at the future"
# fully masked rows: weights 0 (bool and float masks)
keep[3] = False
bias[1] = -math.inf
for mask, kind in ((keep, "bool mask, row 3 all False"),
                   (bias, "float mask, row 1 all -inf")):
    with forbid(*ATTENTIONS):
        got = attention_weights(q, k, mask.to(device))
    row = 3 if mask.dtype == torch.bool else 1
    assert_close(got[..., row, :], torch.zeros_like(got[..., row, :]),
                 name=f"attention_weights with a {kind}: that row must be zeros")
    others = torch.cat([got[..., :row, :], got[..., row + 1:, :]], dim=-2)
    assert_close(others.sum(-1), torch.ones_like(others.sum(-1)), rtol=1e-10,
                 atol=1e-10, name=f"attention_weights with a {kind}: row sums")
# float16 on your device: a mask value of -1e9 overflows float16 (section 11.4)
q16 = torch.randn(2, 6, 8, generator=gen).half().to(device)
k16 = torch.randn(2, 9, 8, generator=gen).half().to(device)
keep16 = torch.rand(2, 6, 9, generator=gen) < 0.5
keep16[:, :, 0], keep16[1, 4] = True, False  # one fully masked row
with forbid(*ATTENTIONS):
    got = attention_weights(q16, k16, keep16.to(device))
assert got.dtype == torch.float16, f"float16 inputs: result has dtype {got.dtype}"
want = _weights_of_sdpa(q16.double(), k16.double(), keep16.to(device))
assert_close(got, want.half(), rtol=1e-2, atol=1e-2,
             name="attention_weights(float16 q (2, 6, 8), k (2, 9, 8), bool mask)")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(11)
for _batch, _l, _s, _e in [((), 3, 5, 2), ((1,), 1, 4, 3), ((4,), 6, 1, 5),
                           ((1, 1), 7, 3, 9), ((2, 5), 4, 6, 3), ((3, 2), 2, 8, 7)]:
    _q = torch.randn(*_batch, _l, _e, generator=_gen, dtype=torch.float64)
    _k = torch.randn(*_batch, _s, _e, generator=_gen, dtype=torch.float64) * 2
    _q, _k = _q.to(device), _k.to(device)
    _name = f"attention_weights(q {tuple(_q.shape)}, k {tuple(_k.shape)}"
    _check_weights(_q, _k, None, _name + ")", 1e-10)
    _keep = torch.rand(*_batch, _l, _s, generator=_gen) < 0.5
    _keep[..., _s - 1] = True
    _check_weights(_q, _k, _keep.to(device), _name + ", full bool mask)", 1e-10)
    _check_weights(_q, _k, _keep[(0,) * len(_batch)].to(device),
                   _name + ", (L, S) bool mask)", 1e-10)
    _bias = torch.randn(_l, _s, generator=_gen, dtype=torch.float64)
    _bias[..., 0] = 0.0
    _bias[_bias < -1.0] = -math.inf
    _check_weights(_q, _k, _bias.to(device), _name + ", float mask)", 1e-10)
    # float32 on the CPU (the default dtype), fully masked rows
    _keep[..., 0, :] = False
    with forbid(*ATTENTIONS):
        _got = attention_weights(_q.float().cpu(), _k.float().cpu(), _keep)
    _want = _weights_of_sdpa(_q.cpu(), _k.cpu(), _keep).float()
    assert_close(_got, _want, rtol=1e-4, atol=1e-5,
                 name=_name + " in float32 with a fully masked row 0)")
    assert (_got[..., 0, :] == 0).all(), f"{_name}): a fully masked row is not 0"
    _bias[0] = -math.inf
    with forbid(*ATTENTIONS):
        _got = attention_weights(_q, _k, _bias.to(device))
    assert_close(_got[..., 0, :], torch.zeros_like(_got[..., 0, :]),
                 name=_name + ", float mask with row 0 all -inf)")
    # float16
    _q16, _k16 = _q.half(), _k.half()
    with forbid(*ATTENTIONS):
        _got = attention_weights(_q16, _k16, _keep.to(device))
    _want = _weights_of_sdpa(_q16.double(), _k16.double(), _keep.to(device)).half()
    assert_close(_got, _want, rtol=1e-2, atol=1e-2, name=_name + " in float16)")
# causal float mask as made by nn.Transformer
_x = torch.randn(3, 6, 4, generator=_gen, dtype=torch.float64).to(device)
_causal = nn.Transformer.generate_square_subsequent_mask(6, device=device,
                                                         dtype=torch.float64)
_ = _check_weights(_x, _x, _causal, "attention_weights with a causal float mask",
                   1e-10)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2: `scaled_dot_product_attention` (3 points)
#
# Now the whole operation, $\operatorname{softmax}(QK^\top/\sqrt{E} +
# \text{mask})\,V$, with the arguments and the result of
# `F.scaled_dot_product_attention(q, k, v, attn_mask=mask)`. One line on top of
# Exercise 1 is enough; the tests compare outputs and gradients with the
# built-in, for values of a size $E_v$ different from $E$.

# %% grade_id="ch11-scaled-dot-product-attention"
def scaled_dot_product_attention(q, k, v, mask=None):
    """softmax(q k^T / sqrt(E) + mask) v, as F.scaled_dot_product_attention.

    B... are any leading batch dimensions (none, one or more), L the number of
    queries, S the number of keys and values, E the size of queries and keys,
    Ev the size of the values.

    Args:
        q: queries, floating-point tensor of shape (B..., L, E).
        k: keys, shape (B..., S, E), same leading dimensions, dtype, device as q.
        v: values, shape (B..., S, Ev), same leading dimensions, dtype, device.
        mask: None, a bool mask (True = key takes part) or a float additive mask
            with q's dtype, broadcastable to (B..., L, S): exactly as in
            attention_weights.

    Returns:
        output of shape (B..., L, Ev), same dtype and device as q: row i is the
        average of the values weighted by attention_weights(q, k, mask) row i.
        A query with no key to look at gets output 0 (its weights are 0), as
        F.scaled_dot_product_attention. Only the output is returned, not the
        weights. Gradients flow to q, k and v (and match the built-in's).

    Works in float16 (no -1e9, see attention_weights). You may call your
    attention_weights. Forbidden: the attention built-ins of
    dlcourse.checks.ATTENTIONS.
    """
    ### BEGIN SOLUTION
    return attention_weights(q, k, mask) @ v
    ### END SOLUTION


# %%
# Try it: the example above with values of size Ev = 3
print(scaled_dot_product_attention(
    torch.tensor([[2.0, 0.0, 0.0, 0.0]]),
    torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]),
    torch.tensor([[10.0, 0.0, 1.0], [0.0, 10.0, 1.0]])))

# %% grade_id="ch11-scaled-dot-product-attention-tests" points=3
"""scaled_dot_product_attention: a hand example (no batch dimension, Ev != E);
== F.scaled_dot_product_attention in float64 on `device` for batched heads
(N, h, L, E) with no mask, a bool mask (True = takes part), a float additive mask
and a causal mask, with gradients for q, k and v; a fully masked row gives 0;
float16 with a bool mask (no -1e9); returns a tensor, not a tuple; no attention
built-ins (ATTENTIONS)."""


def _check_sdpa(q, k, v, mask, name, tol, grads=False):
    leaves = [t.detach().clone().requires_grad_(grads) for t in (q, k, v)]
    with forbid(*ATTENTIONS):
        got = scaled_dot_product_attention(*leaves, mask)
    assert isinstance(got, torch.Tensor), (
        f"{name}: expected one tensor (the output), got {type(got).__name__}")
    refs = [t.detach().clone().requires_grad_(grads) for t in (q, k, v)]
    want = F.scaled_dot_product_attention(*refs, attn_mask=mask)
    assert_close(got, want, rtol=tol, atol=tol, name=name)
    assert got.device == q.device, f"{name}: result on {got.device}, not {q.device}"
    if grads:
        upstream = torch.randn(want.shape, dtype=want.dtype).to(want.device)
        (got * upstream).sum().backward()
        (want * upstream).sum().backward()
        for letter, mine, ref in zip("qkv", leaves, refs, strict=True):
            assert mine.grad is not None, f"{name}: no gradient reached {letter}"
            assert_close(mine.grad, ref.grad, rtol=tol, atol=tol,
                         name=f"{name}: gradient of {letter}")
    return got


# by hand: weights [e, 1] / (e + 1) as in Exercise 1, values of size Ev = 3
with forbid(*ATTENTIONS):
    got = scaled_dot_product_attention(
        torch.tensor([[2.0, 0.0, 0.0, 0.0]]),
        torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]),
        torch.tensor([[10.0, 0.0, 1.0], [0.0, 10.0, 1.0]]))
a0 = math.e / (math.e + 1)
assert_close(got, torch.tensor([[10 * a0, 10 * (1 - a0), 1.0]]), rtol=1e-5,
             atol=1e-5, name="scaled_dot_product_attention(q (1, 4), k (2, 4), "
                             "v (2, 3))")
gen = torch.Generator().manual_seed(1)
# batched heads (N=2, h=3) in float64 on your device: L=5, S=7, E=4, Ev=6
q = torch.randn(2, 3, 5, 4, generator=gen, dtype=torch.float64).to(device)
k = torch.randn(2, 3, 7, 4, generator=gen, dtype=torch.float64).to(device)
v = torch.randn(2, 3, 7, 6, generator=gen, dtype=torch.float64).to(device)
_check_sdpa(q, k, v, None, "scaled_dot_product_attention(q (2, 3, 5, 4), "
            "k (2, 3, 7, 4), v (2, 3, 7, 6))", 1e-10, grads=True)
keep = torch.rand(5, 7, generator=gen) < 0.6
keep[:, 4] = True
_check_sdpa(q, k, v, keep.to(device), "scaled_dot_product_attention(q, k, v, "
            "bool mask (5, 7), True = takes part)", 1e-10, grads=True)
bias = torch.randn(5, 7, generator=gen, dtype=torch.float64)
bias[bias < -0.8] = -math.inf
bias[:, 0] = 0.0
_check_sdpa(q, k, v, bias.to(device), "scaled_dot_product_attention(q, k, v, "
            "float additive mask (5, 7))", 1e-10, grads=True)
x = torch.randn(2, 3, 7, 4, generator=gen, dtype=torch.float64).to(device)
causal = torch.ones(7, 7, dtype=torch.bool).tril().to(device)
_check_sdpa(x, x, v, causal, "scaled_dot_product_attention(x, x, v, causal mask)",
            1e-10, grads=True)
# a query that may look at no key: output 0
keep[2] = False
got = _check_sdpa(q, k, v, keep.to(device),
                  "scaled_dot_product_attention(q, k, v, bool mask with row 2 all "
                  "False)", 1e-10)
assert (got[..., 2, :] == 0).all(), "a fully masked query must give output 0"
# float16 on your device: a mask value of -1e9 overflows float16 (section 11.4)
q16 = torch.randn(3, 6, 8, generator=gen).half().to(device)
k16 = torch.randn(3, 9, 8, generator=gen).half().to(device)
v16 = torch.randn(3, 9, 5, generator=gen).half().to(device)
keep16 = torch.rand(6, 9, generator=gen) < 0.5
keep16[:, 0], keep16[4] = True, False
with forbid(*ATTENTIONS):
    got = scaled_dot_product_attention(q16, k16, v16, keep16.to(device))
assert got.dtype == torch.float16, f"float16 inputs: result has dtype {got.dtype}"
want = F.scaled_dot_product_attention(q16.double(), k16.double(), v16.double(),
                                      attn_mask=keep16.to(device))
assert_close(got, want.half(), rtol=1e-2, atol=1e-2,
             name="scaled_dot_product_attention(float16 q (3, 6, 8), k (3, 9, 8), "
                  "v (3, 9, 5), bool mask)")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(12)
for _batch, _l, _s, _e, _ev in [((), 3, 5, 2, 4), ((1,), 1, 4, 3, 1),
                                ((4,), 6, 1, 5, 2), ((1, 1), 7, 3, 9, 5),
                                ((2, 5), 4, 6, 3, 7)]:
    _q = torch.randn(*_batch, _l, _e, generator=_gen, dtype=torch.float64)
    _k = torch.randn(*_batch, _s, _e, generator=_gen, dtype=torch.float64) * 2
    _v = torch.randn(*_batch, _s, _ev, generator=_gen, dtype=torch.float64)
    _q, _k, _v = _q.to(device), _k.to(device), _v.to(device)
    _name = (f"scaled_dot_product_attention(q {tuple(_q.shape)}, k "
             f"{tuple(_k.shape)}, v {tuple(_v.shape)}")
    _check_sdpa(_q, _k, _v, None, _name + ")", 1e-10, grads=True)
    _keep = torch.rand(*_batch, _l, _s, generator=_gen) < 0.5
    _keep[..., 0] = True
    _check_sdpa(_q, _k, _v, _keep.to(device), _name + ", bool mask)", 1e-10,
                grads=True)
    _bias = torch.randn(_l, _s, generator=_gen, dtype=torch.float64)
    _bias[..., _s - 1] = 0.0
    _bias[_bias < -1.0] = -math.inf
    _check_sdpa(_q, _k, _v, _bias.to(device), _name + ", float mask)", 1e-10,
                grads=True)
    _keep[..., _l - 1, :] = False
    _got = _check_sdpa(_q, _k, _v, _keep.to(device),
                       _name + ", bool mask, last row all False)", 1e-10)
    assert (_got[..., _l - 1, :] == 0).all(), f"{_name}): a masked row is not 0"
    _check_sdpa(_q.float().cpu(), _k.float().cpu(), _v.float().cpu(), _keep,
                _name + " in float32)", 1e-4)
    with forbid(*ATTENTIONS):
        _got = scaled_dot_product_attention(_q.half(), _k.half(), _v.half(),
                                            _keep.to(device))
    _want = F.scaled_dot_product_attention(_q.half().double(), _k.half().double(),
                                           _v.half().double(),
                                           attn_mask=_keep.to(device)).half()
    assert_close(_got, _want, rtol=1e-2, atol=2e-2, name=_name + " in float16)")
### END HIDDEN TESTS

# %% [markdown]
# ### The two conventions and the float16 pitfall, on your functions
#
# The first figure passes the same boolean mask, a causal mask with the last two
# keys as padding, to your `attention_weights` and to `nn.MultiheadAttention`.
# Its projections are set to the identity so that both compute the same scores.
# `nn.MultiheadAttention` needs the inverted mask, `~mask`, to give the same
# weights; given `mask` itself, it looks exactly where it should not.

# %%
embed = 4
x_demo = torch.randn(1, 6, embed, generator=gen)  # (N=1, L=S=6, E)
demo_mask = torch.ones(6, 6, dtype=torch.bool).tril()  # True = takes part
demo_mask[:, 4:] = False  # keys 4 and 5 are padding
identity_mha = nn.MultiheadAttention(embed, 1, batch_first=True)
with torch.no_grad():  # Q = K = V = x: the same scores as attention_weights(x, x)
    identity_mha.in_proj_weight.copy_(torch.eye(embed).repeat(3, 1))
    identity_mha.in_proj_bias.zero_()
panels = {
    "mask (True = takes part)": demo_mask.float(),
    "attention_weights(x, x, mask)": attention_weights(x_demo, x_demo,
                                                       demo_mask)[0],
    "nn.MultiheadAttention, attn_mask=~mask": identity_mha(
        x_demo, x_demo, x_demo, attn_mask=~demo_mask)[1][0].detach(),
    "nn.MultiheadAttention, attn_mask=mask": identity_mha(
        x_demo, x_demo, x_demo, attn_mask=demo_mask)[1][0].detach(),
}
fig, axes = plt.subplots(1, 4, figsize=(15, 3.8))
for ax, (title, matrix) in zip(axes, panels.items(), strict=True):
    image = ax.imshow(matrix.numpy(), cmap="viridis", vmin=0, vmax=1)
    ax.set(title=title, xlabel="key j", ylabel="query i")
    ax.title.set_fontsize(9)
fig.colorbar(image, ax=axes, fraction=0.015, label="weight")
fig.suptitle("One boolean mask, two conventions (rows 4 and 5 keep keys 0..3)")
plt.show()
names = list(panels)
print("max |yours - nn.MultiheadAttention(~mask)|:",
      (panels[names[1]] - panels[names[2]]).abs().max().item())

# %% [markdown]
# The second cell runs the same float16 scores through the usual ways of masking:
# the last row is fully masked.

# %%
scores16 = torch.tensor([[2.0, 1.0, -3.0, 0.5], [1.0, 2.0, 3.0, 4.0]],
                        dtype=torch.float16)
keep16 = torch.tensor([[True, True, False, False], [False] * 4])
ways = {
    "masked_fill(-1e9)": lambda s: torch.softmax(s.masked_fill(~keep16, -1e9), -1),
    "s + (~keep) * -1e9": lambda s: torch.softmax(
        s + (~keep16).to(s.dtype) * -1e9, -1),
    "masked_fill(-inf)": lambda s: torch.softmax(
        s.masked_fill(~keep16, -math.inf), -1),
    "masked_fill(finfo.min)": lambda s: torch.softmax(
        s.masked_fill(~keep16, torch.finfo(s.dtype).min), -1),
    # the scores as queries, 2 I as keys: (s @ 2I) / sqrt(4) = s
    "your attention_weights": lambda s: attention_weights(
        s, 2 * torch.eye(4, dtype=s.dtype), keep16),
}
for label, way in ways.items():
    try:
        rows = way(scores16)
        print(f"{label:24s} row 0: {rows[0].tolist()}   fully masked row: "
              f"{rows[1].tolist()}")
    except NotImplementedError:
        raise  # your attention_weights is not written yet
    except RuntimeError as err:
        print(f"{label:24s} RuntimeError: {err}")

# %% [markdown]
# Only the last line is right on both rows. (The `your attention_weights` line
# passes the scores as queries and $2I$ as keys, so that its division by
# $\sqrt{E} = 2$ gives back the scores.)
#
# ## 11.5 Multi-head attention
#
# One softmax gives each query one way of distributing its attention. A word may
# need several at once: its syntactic head, the noun a pronoun refers to, the
# previous word. **Multi-head attention** runs $h$ attentions in parallel, each
# on its own learned projections to a smaller size $d = E / h$, and mixes their
# outputs:
#
# $$\operatorname{head}_i = \operatorname{Attention}(X_q W_Q^{(i)},\;
#   X_k W_K^{(i)},\; X_v W_V^{(i)}), \qquad W^{(i)} \in \mathbb{R}^{E \times d},$$
# $$\operatorname{MultiHead}(X_q, X_k, X_v) = \operatorname{Concat}(
#   \operatorname{head}_1, \dots, \operatorname{head}_h)\, W_O + b_O, \qquad
#   W_O \in \mathbb{R}^{E \times E}.$$
#
# Each head attends with $d$-dimensional queries and keys, so its scale is
# $1/\sqrt{d}$, not $1/\sqrt{E}$. The cost is about that of one head of size
# $E$. In code, the $h$ projections of size $d$ are one projection of size $E$
# whose output is cut into $h$ pieces:
#
# 1. project: $Q = X_q W_Q^\top + b_Q$, shape $(N, L, E)$ (likewise $K$ and $V$,
#    shape $(N, S, E)$), where $W_Q$ of shape $(E, E)$ is stored the PyTorch way,
#    (output, input), and stacks the $h$ matrices $W_Q^{(i)\top}$ row-wise;
# 2. split the heads: reshape to $(N, L, h, d)$, then **transpose** to
#    $(N, h, L, d)$: a batch of $N h$ independent attentions;
# 3. attend: $(N, h, L, d)$ for the output, $(N, h, L, S)$ for the weights;
# 4. merge: transpose back to $(N, L, h, d)$, reshape to $(N, L, E)$, and apply
#    the output projection.
#
# Step 2 is where most bugs live. Reshaping $(N, L, E)$ directly to
# $(N, h, L, d)$ has the right shape and mixes positions into heads: instead of
# features $0..d-1$ of every position, the first "head" receives the first $L d$
# features in memory order, several features of the first position. The cell
# shows it with numbered features.

# %%
numbered = torch.arange(2 * 6).reshape(1, 2, 6)  # (N=1, L=2, E=6): 2 positions
print("features of position 0:", numbered[0, 0].tolist(),
      " position 1:", numbered[0, 1].tolist())
right = numbered.reshape(1, 2, 3, 2).transpose(1, 2)  # (N, h=3, L, d=2)
wrong = numbered.reshape(1, 3, 2, 2)  # (N, h, L, d), no transpose
print("head 0, reshape then transpose:", right[0, 0].tolist(),
      "(features 0-1 of each position)")
print("head 0, reshape only:          ", wrong[0, 0].tolist(),
      "(features 0-3 of position 0 only)")

# %% [markdown]
# `nn.MultiheadAttention` stores $W_Q$, $W_K$ and $W_V$ stacked in one matrix
# `in_proj_weight` of shape $(3E, E)$: rows $0..E-1$ for the queries, $E..2E-1$
# for the keys, $2E..3E-1$ for the values, with `in_proj_bias` of shape $(3E,)$
# in the same order, and $W_O$ in the `nn.Linear` `out_proj`. Its forward returns
# the output and, by default, the attention weights **averaged over the heads**
# (`average_attn_weights=True`), shape $(N, L, S)$. Its `key_padding_mask` of
# shape $(N, S)$ marks padding with `True`.
#
# ### Exercise 3: `MultiHeadAttention` (4 points)
#
# Write the module with exactly these parameters, so that `load_state_dict`
# copies the weights of an `nn.MultiheadAttention(E, h, batch_first=True)` into
# yours; the tests then compare outputs, averaged weights and gradients. Build on
# your `attention_weights` (the attention built-ins are forbidden). Mind the
# mask: your `attention_weights` wants `True` = takes part, `key_padding_mask`
# says `True` = padding.

# %% grade_id="ch11-multi-head-attention"
class MultiHeadAttention(nn.Module):
    """Multi-head attention, as nn.MultiheadAttention(E, h, batch_first=True).

    N is the batch size, L the number of queries, S the number of keys and
    values, E = embed_dim, h = num_heads and d = E // h the size of a head.

    Parameters, exactly these (names and shapes as nn.MultiheadAttention, no
    other parameters or buffers, so that its state_dict loads into this module):
        in_proj_weight: nn.Parameter (3E, E), the rows [W_q; W_k; W_v] in this
            order, initialised with nn.init.xavier_uniform_.
        in_proj_bias: nn.Parameter (3E,), [b_q; b_k; b_v], initialised to 0.
        out_proj: nn.Linear(E, E), its bias initialised to 0.

    Args:
        embed_dim: E, int >= 1.
        num_heads: h, int >= 1.

    Raises:
        ValueError: in __init__, if E is not divisible by h.

    forward(query, key, value, key_padding_mask=None, need_weights=True):
        query: (N, L, E), key: (N, S, E), value: (N, S, E), floating point with
            the module's dtype and device (batch first).
        key_padding_mask: None, or bool (N, S) with True where key j of sequence
            n is padding and must get weight 0 (nn.MultiheadAttention's
            convention, the opposite of attention_weights'). Every sequence keeps
            at least one key (for a sequence of padding only the output is not
            specified; nn.MultiheadAttention gives NaN).
        need_weights: bool.
        Returns (output, weights): output (N, L, E); weights (N, L, S), the
        attention weights averaged over the h heads (each row sums to 1), or
        None if need_weights is False. Same dtype and device as query. Per head
        the scale is 1/sqrt(d). No dropout.

    Forbidden: the attention built-ins of dlcourse.checks.ATTENTIONS (use your
    attention_weights or scaled_dot_product_attention).
    """

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        ### BEGIN SOLUTION
        if embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim {embed_dim} is not divisible by num_heads "
                             f"{num_heads}")
        self.num_heads = num_heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim))
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)
        ### END SOLUTION

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True):
        ### BEGIN SOLUTION
        n, length, e = query.shape
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        b_q, b_k, b_v = self.in_proj_bias.chunk(3)

        def split_heads(x, w, b):  # (N, T, E) -> (N, h, T, d)
            x = F.linear(x, w, b).reshape(n, x.shape[1], self.num_heads, -1)
            return x.transpose(1, 2)

        q = split_heads(query, w_q, b_q)
        k = split_heads(key, w_k, b_k)
        v = split_heads(value, w_v, b_v)
        keep = None if key_padding_mask is None else ~key_padding_mask[:, None, None]
        weights = attention_weights(q, k, keep)  # (N, h, L, S)
        out = (weights @ v).transpose(1, 2).reshape(n, length, e)  # merge the heads
        return self.out_proj(out), weights.mean(dim=1) if need_weights else None
        ### END SOLUTION


# %%
# Try it: self-attention over a batch of 2 sequences of length 5, 4 heads
mha = MultiHeadAttention(16, 4)
x_try = torch.randn(2, 5, 16)
out_try, weights_try = mha(x_try, x_try, x_try)
print("output", tuple(out_try.shape), "weights", tuple(weights_try.shape),
      "row sums", weights_try.sum(-1)[0].tolist())
print("parameters:", [(name, tuple(p.shape)) for name, p in mha.named_parameters()])

# %% grade_id="ch11-multi-head-attention-tests" points=4
"""MultiHeadAttention: parameter names, shapes and initialisation as
nn.MultiheadAttention; ValueError when E % h != 0; with nn.MultiheadAttention(E, h,
batch_first=True)'s weights loaded (random biases), output, averaged weights and
gradients (parameters and inputs) match, for self-attention in float32 and for
cross-attention (L != S) with a key padding mask (True = padding) in float64 on
`device`; need_weights=False returns None; no attention built-ins (ATTENTIONS)."""


def _check_mha(embed_dim, num_heads, n, len_q, len_k, dtype, where, seed, padding=False,
               self_attention=False):
    name = (f"MultiHeadAttention({embed_dim}, {num_heads}) on query "
            f"({n}, {len_q}, {embed_dim}), key/value ({n}, {len_k}, {embed_dim}), "
            f"{dtype}"
            + (", key padding mask" if padding else ""))
    gen = torch.Generator().manual_seed(seed)
    ref = nn.MultiheadAttention(embed_dim, num_heads, batch_first=True)
    with torch.no_grad():  # random biases too, so that a bias mistake shows
        for p in ref.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(embed_dim))
    ref = ref.to(where, dtype)
    mine = MultiHeadAttention(embed_dim, num_heads).to(where, dtype)
    want_keys, got_keys = sorted(ref.state_dict()), sorted(mine.state_dict())
    assert got_keys == want_keys, (
        f"{name}: state_dict keys {got_keys}, expected {want_keys}")
    mine.load_state_dict(ref.state_dict())
    inputs = [torch.randn(n, length, embed_dim, generator=gen, dtype=dtype).to(where)
              for length in (len_q, len_k, len_k)]
    if self_attention:
        inputs = [inputs[0]] * 3
    pad = None
    if padding:
        pad = torch.rand(n, len_k, generator=gen) < 0.4
        pad[:, 0] = False  # every sequence keeps a key
        pad = pad.to(where)
    mine_in = [t.clone().requires_grad_(True) for t in inputs]
    ref_in = [t.clone().requires_grad_(True) for t in inputs]
    with forbid(*ATTENTIONS):
        got = mine(*mine_in, key_padding_mask=pad)
    want = ref(*ref_in, key_padding_mask=pad)
    assert isinstance(got, tuple) and len(got) == 2, (
        f"{name}: expected a tuple (output, weights), got {type(got).__name__}")
    tol = 1e-10 if dtype == torch.float64 else 1e-4
    assert_close(got[0], want[0], rtol=tol, atol=tol, name=f"{name}: output")
    assert_close(got[1], want[1], rtol=tol, atol=tol,
                 name=f"{name}: weights averaged over the heads")
    assert got[0].device == inputs[0].device, f"{name}: output on {got[0].device}"
    upstream = torch.randn(want[0].shape, generator=gen, dtype=dtype).to(where)
    (got[0] * upstream).sum().backward()
    (want[0] * upstream).sum().backward()
    ref_params = dict(ref.named_parameters())
    for key, p in mine.named_parameters():
        assert_close(p.grad, ref_params[key].grad, rtol=tol, atol=tol,
                     name=f"{name}: gradient of {key}")
    for label, a, b in zip(("query", "key", "value"), mine_in, ref_in, strict=True):
        if b.grad is not None:  # the three are one tensor in self-attention
            assert_close(a.grad, b.grad, rtol=tol, atol=tol,
                         name=f"{name}: gradient of the {label}")


mha = MultiHeadAttention(16, 4)
assert isinstance(mha, nn.Module), "MultiHeadAttention must subclass nn.Module"
shapes = {name: tuple(p.shape) for name, p in mha.named_parameters()}
want_shapes = {"in_proj_weight": (48, 16), "in_proj_bias": (48,),
               "out_proj.weight": (16, 16), "out_proj.bias": (16,)}
assert shapes == want_shapes, f"parameters {shapes}, expected {want_shapes}"
assert isinstance(mha.out_proj, nn.Linear), "out_proj must be an nn.Linear(E, E)"
bound = math.sqrt(6 / (16 + 48))  # xavier_uniform_ on a (48, 16) matrix
w_init = mha.in_proj_weight.detach()
assert w_init.abs().max() <= bound and w_init.std() > 0.4 * bound, (
    f"in_proj_weight should be xavier-uniform in [-{bound:.3f}, {bound:.3f}]: got "
    f"values in [{w_init.min():.3f}, {w_init.max():.3f}], std {w_init.std():.3f}")
assert (mha.in_proj_bias == 0).all() and (mha.out_proj.bias == 0).all(), (
    "in_proj_bias and out_proj.bias must start at 0")
expect_raises(ValueError, MultiHeadAttention, 10, 4,
              name="MultiHeadAttention(10, 4) (10 is not divisible by 4)")
_check_mha(12, 3, 2, 5, 5, torch.float32, "cpu", seed=0, self_attention=True)
_check_mha(12, 4, 3, 5, 7, torch.float64, device, seed=1, padding=True)
x_try = torch.randn(2, 5, 16)
with forbid(*ATTENTIONS):
    out_try, weights_try = mha(x_try, x_try, x_try, need_weights=False)
assert_shape(out_try, (2, 5, 16), name="MultiHeadAttention output")
assert weights_try is None, "need_weights=False must return (output, None)"
### BEGIN HIDDEN TESTS
for _seed, _args in enumerate([(8, 1, 1, 3, 4), (6, 6, 2, 1, 5), (15, 5, 1, 6, 2),
                               (10, 2, 4, 7, 3), (9, 3, 2, 4, 9)]):
    _check_mha(*_args, torch.float64, device, seed=10 + _seed, padding=True)
    _check_mha(*_args[:3], _args[3], _args[3], torch.float64, device,
               seed=20 + _seed, self_attention=True)
expect_raises(ValueError, MultiHeadAttention, 9, 2,
              name="MultiHeadAttention(9, 2) (9 is not divisible by 2)")
_mha = MultiHeadAttention(30, 5)
_bound = math.sqrt(6 / (30 + 90))
_w = _mha.in_proj_weight.detach()
assert _w.abs().max() <= _bound and _w.std() > 0.4 * _bound, (
    "MultiHeadAttention(30, 5): in_proj_weight is not xavier-uniform")
assert (_mha.in_proj_bias == 0).all() and (_mha.out_proj.bias == 0).all(), (
    "MultiHeadAttention(30, 5): the biases must start at 0")
### END HIDDEN TESTS

# %% [markdown]
# ## 11.6 Where am I? Positional encoding
#
# Attention compares queries and keys by content only. Shuffle the positions of
# the input and self-attention returns the same outputs, shuffled the same way:
# it is **permutation-equivariant**, and a sentence is a bag of words to it
# (chapter 7 showed what a bag of words loses). Your `MultiHeadAttention` shows it:

# %%
mha = MultiHeadAttention(8, 2)
x_perm = torch.randn(1, 6, 8, generator=gen)
perm = torch.tensor([3, 0, 5, 1, 4, 2])
with torch.no_grad():
    out_then_shuffle = mha(x_perm, x_perm, x_perm)[0][:, perm]
    shuffle_then_out = mha(x_perm[:, perm], x_perm[:, perm], x_perm[:, perm])[0]
print("max |attention(x)[perm] - attention(x[perm])| =",
      (out_then_shuffle - shuffle_then_out).abs().max().item())

# %% [markdown]
# The fix is to add to each token's embedding a vector that depends on its
# position $p$. Three families:
#
# - **learned** absolute embeddings, one trainable vector per position (BERT,
#   GPT-2): simple, but nothing is known about positions beyond the longest
#   training sequence;
# - **sinusoidal** encodings (the original Transformer), fixed and defined for
#   every $p$, below;
# - **relative** schemes inside attention: a bias that depends on $i - j$ added
#   to the scores (T5, ALiBi: an additive mask), or queries and keys rotated by
#   an angle proportional to their position (RoPE, used by most recent language
#   models).
#
# The sinusoidal encoding of position $p$ in $d$ dimensions uses $\lceil d/2
# \rceil$ frequencies $\omega_i = 10000^{-2i/d}$, a sine in the even columns and a
# cosine in the odd ones:
#
# $$\mathrm{PE}[p, 2i] = \sin(p\, \omega_i), \qquad \mathrm{PE}[p, 2i + 1] =
#   \cos(p\, \omega_i), \qquad \omega_i = \frac{1}{10000^{2i/d}}.$$
#
# Column $j$ uses the frequency $\omega_{\lfloor j/2 \rfloor}$; the wavelengths
# $2\pi/\omega_i$ go geometrically from $2\pi$ to almost $10000 \cdot 2\pi$. Like
# the digits of a counter, fast columns tell neighbours apart and slow ones tell
# the rough place in a long text. Two properties make it useful:
#
# - **Offsets are linear maps.** For each frequency, the pair
#   $(\sin p\omega, \cos p\omega)$ moves to position $p + k$ by a rotation of
#   angle $k\omega$ that does not depend on $p$:
#   $\begin{pmatrix}\sin (p+k)\omega \\ \cos (p+k)\omega\end{pmatrix} =
#   \begin{pmatrix}\cos k\omega & \sin k\omega \\ -\sin k\omega & \cos k\omega
#   \end{pmatrix}\begin{pmatrix}\sin p\omega \\ \cos p\omega\end{pmatrix}$,
#   so a linear layer can learn "look $k$ positions back".
# - **Similarity depends on distance only.** $\mathrm{PE}[p] \cdot
#   \mathrm{PE}[q] = \sum_i \cos\big((p - q)\,\omega_i\big)$ (for an even $d$).
#
# With an odd $d$, the last column is a sine. (A common implementation, which
# fills `pe[:, 1::2]` with as many cosines as `pe[:, 0::2]` has sines, fails with
# a shape error for an odd $d$.)
#
# ### Exercise 4: `positional_encoding` (2 points)
#
# Return the whole table for positions $0..\text{max\_len}-1$, computed in the
# requested dtype (float64 must be accurate to float64 precision, so do not
# compute in float32 and convert).

# %% grade_id="ch11-positional-encoding"
def positional_encoding(max_len, d_model, dtype=torch.float32, device=None):
    """The sinusoidal positional encoding of "Attention is all you need".

    PE[p, j] = sin(p * w) if j is even, cos(p * w) if j is odd, with
    w = 10000 ** (-2 * (j // 2) / d_model), for positions p = 0, ..., max_len - 1
    and columns j = 0, ..., d_model - 1. An odd d_model is allowed: the last
    column is then a sine.

    Args:
        max_len: int >= 1, the number of positions.
        d_model: int >= 1, the embedding size.
        dtype: a floating-point dtype (default torch.float32); the table is
            computed in it (a float64 table is accurate to float64 precision).
        device: where to create the table (default None: the CPU).

    Returns:
        Tensor of shape (max_len, d_model) with that dtype, on that device.
    """
    ### BEGIN SOLUTION
    position = torch.arange(max_len, dtype=dtype, device=device)[:, None]  # (P, 1)
    column = torch.arange(d_model, device=device)
    exponent = (2 * (column // 2)).to(dtype) / d_model  # (D,)
    angle = position * torch.exp(-math.log(10000.0) * exponent)  # (P, D)
    return torch.where(column % 2 == 0, torch.sin(angle), torch.cos(angle))
    ### END SOLUTION


# %%
# Try it: 4 positions, 6 dimensions
print(positional_encoding(4, 6))

# %% grade_id="ch11-positional-encoding-tests" points=2
"""positional_encoding: hand values for (3, 4); an odd d_model; the formula in
float64 on `device` for max_len 50 (accurate to float64, not computed in float32);
the default float32 on the CPU."""


def _pe_reference(max_len, d_model):
    p = torch.arange(max_len, dtype=torch.float64)[:, None]
    j = torch.arange(d_model)
    freq = torch.pow(torch.tensor(10000.0, dtype=torch.float64),
                     -(2 * (j // 2)).double() / d_model)
    return torch.where(j % 2 == 0, torch.sin(p * freq), torch.cos(p * freq))


# by hand, d_model = 4: frequencies 1 and 10000 ** (-2/4) = 0.01
got = positional_encoding(3, 4)
want = torch.tensor([[0.0, 1.0, 0.0, 1.0],
                     [math.sin(1), math.cos(1), math.sin(0.01), math.cos(0.01)],
                     [math.sin(2), math.cos(2), math.sin(0.02), math.cos(0.02)]])
assert_close(got, want, rtol=1e-5, atol=1e-5, name="positional_encoding(3, 4)")
assert got.device.type == "cpu", f"default device: got {got.device}, expected cpu"
# odd d_model: 3 sines (columns 0, 2, 4) and 2 cosines
assert_close(positional_encoding(7, 5), _pe_reference(7, 5).float(), rtol=1e-4,
             atol=1e-4, name="positional_encoding(7, 5) (odd d_model)")
pe64 = positional_encoding(50, 16, dtype=torch.float64, device=device)
assert pe64.device.type == torch.device(device).type, (
    f"positional_encoding(..., device={device}): result on {pe64.device}")
assert_close(pe64.cpu(), _pe_reference(50, 16), rtol=1e-10, atol=1e-10,
             name="positional_encoding(50, 16, float64) (computed in float64?)")
### BEGIN HIDDEN TESTS
for _max_len, _d in [(1, 1), (1, 6), (9, 3), (20, 11), (64, 32), (33, 2), (100, 9)]:
    _got = positional_encoding(_max_len, _d, dtype=torch.float64, device=device)
    assert _got.device.type == torch.device(device).type, "wrong device"
    assert_close(_got.cpu(), _pe_reference(_max_len, _d), rtol=1e-10, atol=1e-10,
                 name=f"positional_encoding({_max_len}, {_d}, float64)")
    if _max_len <= 64:  # float32 angles up to 63 rad: errors about 1e-5
        _got = positional_encoding(_max_len, _d)
        assert_close(_got, _pe_reference(_max_len, _d).float(), rtol=2e-4,
                     atol=2e-4, name=f"positional_encoding({_max_len}, {_d})")
### END HIDDEN TESTS

# %% [markdown]
# The first figure shows the table for 64 positions in 64 dimensions: the left
# columns oscillate fast, the right ones hardly move. The second shows the
# similarity of every pair of positions, which depends only on their distance
# (the stripes are parallel to the diagonal), and the third a few columns as
# functions of the position.

# %%
pe_table = positional_encoding(64, 64)
fig, (ax0, ax1, ax2) = plt.subplots(1, 3, figsize=(15, 4))
image = ax0.imshow(pe_table.numpy(), cmap="RdBu_r", aspect="auto", vmin=-1, vmax=1)
ax0.set(title="PE[p, j]", xlabel="column j", ylabel="position p")
fig.colorbar(image, ax=ax0)
image = ax1.imshow((pe_table @ pe_table.T).numpy(), cmap="viridis")
ax1.set(title="PE[p] . PE[q]", xlabel="position q", ylabel="position p")
fig.colorbar(image, ax=ax1)
for column in (0, 1, 10, 30):
    ax2.plot(pe_table[:, column].numpy(), label=f"column {column}")
ax2.set(title="some columns", xlabel="position p", ylabel="PE[p, j]")
ax2.legend(fontsize=8)
fig.tight_layout()
plt.show()

# the two properties, numerically
pe_long = positional_encoding(100, 16, dtype=torch.float64)
offset, i = 5, 3  # position p -> p + 5, frequency index i (columns 6 and 7)
angle = offset * 10000 ** (-2 * i / 16)
rotation = torch.tensor([[math.cos(angle), math.sin(angle)],
                         [-math.sin(angle), math.cos(angle)]], dtype=torch.float64)
pairs = pe_long[:, 2 * i:2 * i + 2]  # (100, 2)
print("max |R(k w) PE[p] - PE[p + k]| over p:",
      (pairs[:-offset] @ rotation.T - pairs[offset:]).abs().max().item())
similarity = pe_long @ pe_long.T
print("PE[10].PE[13] =", round(similarity[10, 13].item(), 6),
      "  PE[50].PE[53] =", round(similarity[50, 53].item(), 6))

# %% [markdown]
# ## 11.7 The Transformer block
#
# A Transformer layer alternates two sub-layers, each wrapped in a residual
# connection and a layer normalisation:
#
# 1. **self-attention** mixes information *between* positions;
# 2. a **position-wise feed-forward network**, the same two-layer MLP applied to
#    every position separately, $\operatorname{FFN}(z) = W_2\,\phi(W_1 z + b_1) +
#    b_2$, with a hidden size $f$ usually $4d$ and $\phi$ a ReLU or a GELU,
#    transforms each position's vector *on its own*.
#
# **Layer normalisation** (chapter 12 builds it) normalises each token's
# $d$-dimensional vector to mean 0 and variance 1 and then scales and shifts it
# with learned $\gamma, \beta$:
# $\operatorname{LN}(z) = \gamma \odot (z - \mu)/\sqrt{\sigma^2 + \varepsilon}
# + \beta$. The **residual connections** (chapter 9) let the signal and the
# gradient pass the sub-layers unchanged. The original Transformer, and PyTorch's
# `nn.TransformerEncoderLayer` by default (`norm_first=False`), normalise
# *after* the addition, **post-norm**:
#
# $$x' = \operatorname{LN}_1\big(x + \operatorname{MHA}(x, x, x)\big), \qquad
#   y = \operatorname{LN}_2\big(x' + \operatorname{FFN}(x')\big).$$
#
# **Pre-norm**, $x' = x + \operatorname{MHA}(\operatorname{LN}_1(x))$ and
# $y = x' + \operatorname{FFN}(\operatorname{LN}_2(x'))$, keeps a clean residual
# path from input to output; deep stacks train more easily with it, and GPT-2
# and most later language models use it (chapter 23). The original also applies
# dropout (0.1) to each sub-layer's output before the addition; we leave it out,
# so that the block is deterministic.
#
# ### Exercise 5: `TransformerBlock` (3 points)
#
# Build the post-norm encoder block with the attribute names of
# `nn.TransformerEncoderLayer`, so that its weights load into yours. The
# attention may be your `MultiHeadAttention` or PyTorch's
# `nn.MultiheadAttention(d_model, nhead, batch_first=True)`: both have the same
# parameters. The tests compare with `nn.TransformerEncoderLayer(d_model, nhead,
# dim_feedforward, dropout=0.0, activation=..., batch_first=True)`, in training
# and evaluation mode, with a padding mask, for both activations. Calling
# `nn.TransformerEncoderLayer` (or `nn.TransformerEncoder`) is forbidden.

# %% grade_id="ch11-transformer-block"
class TransformerBlock(nn.Module):
    """A post-norm Transformer encoder layer without dropout.

    N is the batch size, L the sequence length, D = d_model, F = dim_feedforward.

        x = norm1(src + self_attn(src, src, src, key_padding_mask)[0])
        out = norm2(x + linear2(activation(linear1(x))))

    Submodules, exactly these names (as nn.TransformerEncoderLayer, no other
    parameters or buffers, so that its state_dict loads into this module):
        self_attn: your MultiHeadAttention(D, nhead), or
            nn.MultiheadAttention(D, nhead, batch_first=True).
        linear1: nn.Linear(D, F).      linear2: nn.Linear(F, D).
        norm1, norm2: nn.LayerNorm(D) (eps 1e-5, the default).

    Args:
        d_model: D, int >= 1, divisible by nhead.
        nhead: int >= 1, the number of attention heads.
        dim_feedforward: F, int >= 1, the hidden size of the feed-forward part.
        activation: "relu" (F.relu) or "gelu" (the exact GELU, F.gelu with its
            default approximate="none").

    Raises:
        ValueError: in __init__, if activation is neither "relu" nor "gelu".

    forward(src, src_key_padding_mask=None):
        src: (N, L, D), floating point with the block's dtype and device.
        src_key_padding_mask: None, or bool (N, L) with True at padding
            positions (nn.TransformerEncoderLayer's convention): no position
            attends to them. Every sequence has at least one non-padding
            position. Padding positions still get an output (as in PyTorch).
        Returns a tensor of shape (N, L, D), same dtype and device as src;
        identical in training and evaluation mode (no dropout).

    Forbidden: nn.TransformerEncoderLayer and nn.TransformerEncoder (their
    forward) and torch._transformer_encoder_layer_fwd. nn.MultiheadAttention,
    nn.LayerNorm and F.gelu are allowed.
    """

    def __init__(self, d_model, nhead, dim_feedforward, activation="relu"):
        super().__init__()
        ### BEGIN SOLUTION
        if activation not in ("relu", "gelu"):
            raise ValueError(f"activation must be 'relu' or 'gelu', not {activation!r}")
        self.activation = F.relu if activation == "relu" else F.gelu
        self.self_attn = MultiHeadAttention(d_model, nhead)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        ### END SOLUTION

    def forward(self, src, src_key_padding_mask=None):
        ### BEGIN SOLUTION
        attended, _ = self.self_attn(src, src, src, need_weights=False,
                                     key_padding_mask=src_key_padding_mask)
        x = self.norm1(src + attended)
        return self.norm2(x + self.linear2(self.activation(self.linear1(x))))
        ### END SOLUTION


# %%
# Try it: a block of width 16 with 4 heads on a batch of 2 sequences of length 5
block = TransformerBlock(16, 4, 64, activation="gelu")
print("output:", tuple(block(torch.randn(2, 5, 16)).shape))
print("submodules:", [name for name, _ in block.named_children()])

# %% grade_id="ch11-transformer-block-tests" points=3
"""TransformerBlock: state_dict keys of nn.TransformerEncoderLayer; with its
weights loaded (random LayerNorm scales and shifts), outputs and gradients ==
nn.TransformerEncoderLayer(dropout=0.0, batch_first=True, norm_first=False) in
training and evaluation mode, relu and gelu, with a key padding mask (True =
padding), float64 on `device`; ValueError for another activation; no
nn.TransformerEncoderLayer / nn.TransformerEncoder."""
_banned = ("torch.nn.TransformerEncoderLayer.forward",
           "torch.nn.TransformerEncoder.forward",
           "torch._transformer_encoder_layer_fwd")


def _check_block(d_model, nhead, ff, activation, n, length, dtype, where, seed,
                 padding=False):
    name = (f"TransformerBlock({d_model}, {nhead}, {ff}, {activation!r}) on src "
            f"({n}, {length}, {d_model}), {dtype}"
            + (", key padding mask" if padding else ""))
    gen = torch.Generator().manual_seed(seed)
    ref = nn.TransformerEncoderLayer(d_model, nhead, ff, dropout=0.0,
                                     activation=activation, batch_first=True)
    with torch.no_grad():  # random norms and biases: swapped norms must show
        for p in ref.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(p.shape[-1]))
    ref = ref.to(where, dtype)
    mine = TransformerBlock(d_model, nhead, ff, activation=activation)
    mine = mine.to(where, dtype)
    want_keys, got_keys = sorted(ref.state_dict()), sorted(mine.state_dict())
    assert got_keys == want_keys, (
        f"{name}: state_dict keys {got_keys}, expected {want_keys}")
    mine.load_state_dict(ref.state_dict())
    src = torch.randn(n, length, d_model, generator=gen, dtype=dtype).to(where)
    pad = None
    if padding:
        pad = torch.rand(n, length, generator=gen) < 0.4
        pad[:, 0] = False
        pad = pad.to(where)
    tol = 1e-10 if dtype == torch.float64 else 1e-4
    for mode in ("train", "eval"):
        mine.train(mode == "train")
        ref.train(mode == "train")
        mine.zero_grad()
        ref.zero_grad()
        src_mine = src.clone().requires_grad_(True)
        src_ref = src.clone().requires_grad_(True)
        with forbid(*_banned):
            got = mine(src_mine, src_key_padding_mask=pad)
        want = ref(src_ref, src_key_padding_mask=pad)
        assert_close(got, want, rtol=tol, atol=tol, name=f"{name}, {mode} mode")
        assert got.device == src.device, f"{name}: output on {got.device}"
        upstream = torch.randn(want.shape, generator=gen, dtype=dtype).to(where)
        (got * upstream).sum().backward()
        (want * upstream).sum().backward()
        assert_close(src_mine.grad, src_ref.grad, rtol=tol, atol=tol,
                     name=f"{name}, {mode} mode: gradient of src")
        ref_params = dict(ref.named_parameters())
        for key, p in mine.named_parameters():
            assert_close(p.grad, ref_params[key].grad, rtol=tol, atol=tol,
                         name=f"{name}, {mode} mode: gradient of {key}")


block = TransformerBlock(16, 4, 64)
assert isinstance(block, nn.Module), "TransformerBlock must subclass nn.Module"
expect_raises(ValueError, TransformerBlock, 16, 4, 64, activation="tanh",
              name="TransformerBlock(16, 4, 64, activation='tanh')")
_check_block(8, 2, 12, "relu", 2, 5, torch.float32, "cpu", seed=0)
_check_block(6, 3, 10, "gelu", 3, 7, torch.float64, device, seed=1, padding=True)
_check_block(6, 2, 5, "relu", 2, 4, torch.float64, device, seed=2, padding=True)
### BEGIN HIDDEN TESTS
for _seed, _args in enumerate([(4, 1, 3, "relu", 1, 1), (9, 3, 7, "gelu", 1, 6),
                               (10, 5, 17, "relu", 4, 3), (12, 4, 8, "gelu", 2, 9),
                               (5, 5, 2, "gelu", 3, 2)]):
    _check_block(*_args, torch.float64, device, seed=30 + _seed,
                 padding=_args[5] > 1)
expect_raises(ValueError, TransformerBlock, 8, 2, 16, activation="swish",
              name="TransformerBlock(8, 2, 16, activation='swish')")
### END HIDDEN TESTS

# %% [markdown]
# How many parameters does a block have? The attention has $4d^2 + 4d$ (three
# input projections and the output projection, with biases), the feed-forward
# part $2df + f + d$, the two layer norms $4d$. The cell counts them for your
# block and for PyTorch's, at the size of the tiny model of section 11.9 and at
# the size of the original base Transformer ($d = 512$, $h = 8$, $f = 2048$),
# whose encoder and decoder each stack 6 blocks. The large one is built on the
# `meta` device, which records shapes without allocating memory.

# %%
def count_params(module):
    return sum(p.numel() for p in module.parameters())


for d_model, nhead, ff in [(32, 2, 64), (512, 8, 2048)]:
    ours = count_params(TransformerBlock(d_model, nhead, ff))
    theirs = count_params(nn.TransformerEncoderLayer(d_model, nhead, ff,
                                                     device="meta"))
    formula = 4 * d_model**2 + 4 * d_model + 2 * d_model * ff + ff + 5 * d_model
    print(f"d={d_model:4d}, h={nhead}, f={ff:5d}: yours {ours:10,}, "
          f"nn.TransformerEncoderLayer {theirs:10,}, formula {formula:10,}")

# %% [markdown]
# ## 11.8 Encoders, decoders and the original Transformer
#
# The block above is an **encoder** block: every position sees every other. The
# original Transformer translates with two stacks:
#
# - the **encoder** (6 blocks) reads the source sentence with self-attention;
# - the **decoder** (6 blocks) writes the translation one token at a time. Each
#   of its blocks has three sub-layers: *causal* self-attention over the tokens
#   written so far (the mask of 11.4), **cross-attention** whose queries come
#   from the decoder and whose keys and values are the encoder's outputs ($L
#   \ne S$), and the feed-forward network.
#
# Later models keep one half. **Encoder-only** models (BERT) see the whole input
# and produce one vector per token, for classification and tagging; they are
# pretrained by filling in masked words. **Decoder-only** models (GPT and most
# large language models) are a stack of causal blocks trained to predict the next
# token. **Encoder-decoder** models (T5, BART, Whisper) keep both for tasks that
# turn one sequence into another. `nn.Transformer` has all the pieces; chapters 22
# and 23 build cross-attention, decoders and a small GPT.
#
# Our toy task in the next section has an output exactly as long as its input,
# one output token per input position, so an encoder with a classifier on every
# position is enough.
#
# ## 11.9 A tiny transformer that reverses sequences
#
# The task: read a sequence of 2 to 10 random digits and output it reversed,
# `3 1 4 1 5` becomes `5 1 4 1 3`. Sequences of a batch are padded to length 10
# with a padding token, and the padding mask keeps the model from attending to
# padding. It is a pure *routing* problem: the output at position $i$ must copy
# the input at position $\ell - 1 - i$, where $\ell$ is the sequence's length.
# The model must therefore find out the length (padding is masked, so it cannot
# simply look for it) and then look at the mirrored position. For a recurrent
# network the first output depends on the last input, so the whole sequence must
# wait in its state; for attention every position is one step away.
#
# The model: a token embedding plus your sinusoidal encoding, two of your
# `TransformerBlock`s of width 32 with 2 heads each, and a linear layer that
# predicts a digit at every position. The loss is the cross-entropy at the
# non-padding positions. A sequence counts as correct only if *all* its digits
# are, and the bar is **at least 95% of held-out sequences** reversed exactly.
# The 1,000 test sequences are never used for training: every training batch
# drops the sequences that also occur in the test set.

# %%
PAD = 10  # token of padding; the digits are 0..9
MAX_LEN = 10


def reversal_batch(num_sequences, max_len=MAX_LEN, generator=None):
    """Random digit sequences of lengths 2..max_len, padded, and their reversals.

    Returns tokens (n, max_len), targets (n, max_len), both int64 with PAD after
    the end, and padding (n, max_len), bool, True at padding positions.
    """
    tokens = torch.randint(0, 10, (num_sequences, max_len), generator=generator)
    lengths = torch.randint(2, max_len + 1, (num_sequences,), generator=generator)
    positions = torch.arange(max_len)
    padding = positions >= lengths[:, None]
    mirrored = (lengths[:, None] - 1 - positions).clamp(min=0)  # (n, max_len)
    targets = tokens.gather(1, mirrored).masked_fill(padding, PAD)
    return tokens.masked_fill(padding, PAD), targets, padding


def sequence_ids(tokens):
    """One integer per sequence (its tokens as digits in base 11)."""
    powers = 11 ** torch.arange(tokens.shape[1], dtype=torch.int64)
    return (tokens.cpu() * powers).sum(dim=1)


test_tokens, test_targets, test_padding = reversal_batch(
    1000, generator=torch.Generator().manual_seed(1234))
test_ids = sequence_ids(test_tokens)
for row in range(3):
    length = int((~test_padding[row]).sum())
    print("input", test_tokens[row, :length].tolist(), "-> target",
          test_targets[row, :length].tolist())


class TinyTransformer(nn.Module):
    """Embedding + sinusoidal positions -> TransformerBlocks -> a digit per position."""

    def __init__(self, d_model=32, nhead=2, num_layers=2, max_len=MAX_LEN):
        super().__init__()
        self.embed = nn.Embedding(PAD + 1, d_model)
        self.register_buffer("pe", positional_encoding(max_len, d_model))
        self.blocks = nn.ModuleList(TransformerBlock(d_model, nhead, 2 * d_model)
                                    for _ in range(num_layers))
        self.head = nn.Linear(d_model, PAD + 1)

    def forward(self, tokens, padding):  # (N, L) int64, (N, L) bool
        h = self.embed(tokens) + self.pe[:tokens.shape[1]]  # (N, L, D)
        for block in self.blocks:
            h = block(h, src_key_padding_mask=padding)
        return self.head(h)  # (N, L, PAD + 1) logits


def sequence_accuracy(model, tokens, targets, padding):
    """Fraction of sequences whose digits are all predicted right."""
    model.eval()
    with torch.no_grad():
        predicted = model(tokens.to(device), padding.to(device)).argmax(dim=-1)
    right = (predicted.cpu() == targets) | padding
    return right.all(dim=1).float().mean().item()


# %% [markdown]
# Training uses Adam with a one-cycle learning-rate schedule (warm up, then
# decay; chapter 16) and gradients clipped to a norm of at most 1, a common
# safeguard against the loss spikes of post-norm transformers. Each step draws a
# fresh random batch of 128 sequences: the data is unlimited.

# %%
NUM_STEPS = 500  # the knob: more steps (with a larger MAX_LEN above) on a GPU
reverser_cache = {}  # the trained model, so that later cells reuse it


def train_reverser(num_steps=NUM_STEPS, batch_size=128, lr=3e-3, seed=0):
    """A TinyTransformer trained on reversal; returns (model, losses)."""
    if num_steps in reverser_cache:
        return reverser_cache[num_steps]
    set_seed(seed)  # the initial weights and the random training sequences
    model = TinyTransformer().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr,
                                                   total_steps=num_steps)
    losses = []
    for _ in progress(range(num_steps), desc="training"):
        model.train()
        tokens, targets, padding = reversal_batch(batch_size)
        unseen = ~torch.isin(sequence_ids(tokens), test_ids)  # hold the test out
        tokens, targets, padding = (t[unseen].to(device)
                                    for t in (tokens, targets, padding))
        logits = model(tokens, padding)
        loss = F.cross_entropy(logits[~padding], targets[~padding])
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # tames loss spikes
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    reverser_cache[num_steps] = model, losses
    return model, losses


start = time.perf_counter()
reverser, reverser_losses = train_reverser()
print(f"{count_params(reverser):,} parameters, trained in "
      f"{time.perf_counter() - start:.1f} s")
reversal_accuracy = sequence_accuracy(reverser, test_tokens, test_targets,
                                      test_padding)
check_bar("sequence accuracy on held-out sequences", reversal_accuracy, 0.95)

ax = plot_curves({"training loss": reverser_losses}, xlabel="step",
                 ylabel="cross-entropy per digit", logy=True)
ax.set_title("TinyTransformer learning to reverse digit sequences")
plt.show()

# %% [markdown]
# How does it do it? Each block's attention weights show where every output
# position looks. The module's own forward averages the weights over the heads;
# to see each head, the widget copies the parameters of a block's attention
# layer into an `nn.MultiheadAttention`, which can return one map per head
# (`average_attn_weights=False`). Pick a test sequence, a layer and a head. Look
# at the second layer for the mirrored diagonal ($i \to \ell - 1 - i$) and at how
# it moves with the length $\ell$; look at the first layer for what it gathers
# before that. The cell also prints, for every layer and head, the average weight
# that the non-padding queries put on their mirrored position.

# %%
def per_head_weights(model, tokens, padding, nhead=2):
    """Per-head attention weights of each block, a list of (N, h, L, L) tensors."""
    model.eval()
    maps = []
    with torch.no_grad():
        h = model.embed(tokens) + model.pe[:tokens.shape[1]]
        for block in model.blocks:
            d_model = h.shape[-1]
            viewer = nn.MultiheadAttention(d_model, nhead, batch_first=True)
            viewer = viewer.to(h.device)
            viewer.load_state_dict(block.self_attn.state_dict())
            _, weights = viewer(h, h, h, key_padding_mask=padding,
                                average_attn_weights=False)
            maps.append(weights.cpu())
            h = block(h, src_key_padding_mask=padding)
    return maps


reverser, _ = train_reverser()  # the model trained above
test_maps = per_head_weights(reverser, test_tokens.to(device), test_padding.to(device))
lengths = (~test_padding).sum(dim=1)
positions = torch.arange(MAX_LEN)
mirror = (lengths[:, None] - 1 - positions).clamp(min=0)  # (1000, L)
for layer, maps in enumerate(test_maps):
    for head in range(maps.shape[1]):
        on_mirror = maps[:, head].gather(2, mirror[:, :, None])[..., 0]  # (1000, L)
        share = on_mirror[~test_padding].mean().item()
        print(f"layer {layer + 1}, head {head}: average weight on the mirrored "
              f"position {share:.2f}")


def show_attention(example=0, layer=2, head="0"):
    """The attention map of one block and head for one test sequence."""
    model, _ = train_reverser()
    tokens = test_tokens[example:example + 1]  # (1, MAX_LEN)
    padding = test_padding[example:example + 1]
    maps = per_head_weights(model, tokens.to(device), padding.to(device))
    weights = maps[layer - 1][0]  # (h, L, L)
    weights = weights.mean(dim=0) if head == "mean" else weights[int(head)]
    length = int((~padding).sum())
    model.eval()
    with torch.no_grad():
        predicted = model(tokens.to(device), padding.to(device)).argmax(-1)[0].cpu()
    digits = tokens[0, :length].tolist()
    fig, ax = plt.subplots(figsize=(5.6, 4.8))
    image = ax.imshow(weights[:length, :length].numpy(), cmap="viridis", vmin=0,
                      vmax=1)
    ax.set_xticks(range(length), [f"{d}" for d in digits])
    ax.set_yticks(range(length), [f"{i}: {p}" for i, p in
                                  enumerate(predicted[:length].tolist())])
    ax.set(xlabel="key: input digit", ylabel="query position: predicted digit",
           title=f"layer {layer}, head {head}, length {length}\n"
                 f"input {digits}")
    ax.title.set_fontsize(9)
    fig.colorbar(image, ax=ax, label="attention weight")
    fig.tight_layout()
    plt.show()


interactive_plot(show_attention, example=(0, 49), layer=[1, 2],
                 head=["0", "1", "mean"])

# %% [markdown]
# Every row of a map is one query position (with the digit the model predicts
# there), every column a key (an input digit); padding is cut off. Two things to
# try: find sequences of different lengths and watch the diagonal of layer 2
# move, and compare the two heads of a layer: do they do the same thing or share
# the work? With another seed the heads may split the job differently. Widely
# spread weights in layer 1 are what a length-measuring layer could look like:
# the average of the positional encodings of all real tokens depends on how many
# there are.
#
# ## 11.10 The cost of attention
#
# For one head, the scores $QK^\top$ take $L \cdot S \cdot E$ multiply-adds, the
# weighted sum another $L \cdot S \cdot E_v$, and the weight matrix has $L \cdot
# S$ entries. For self-attention ($S = L$) time and memory grow as $L^2$: twice
# the context, four times the cost. Your `scaled_dot_product_attention` builds
# the whole $L \times L$ matrix and autograd keeps it for the backward pass.
# `F.scaled_dot_product_attention` picks a fused kernel where one exists (on
# GPUs, and on CPUs in recent versions) such as **flash attention** (Dao et al.,
# 2022): it processes the keys block by block with a running softmax and never
# stores the matrix, so its memory grows only linearly with $L$; the work is
# still quadratic.
#
# The cell measures both on one head of size $E = 64$ for growing $L$: the time
# of a forward pass (the best of five, since other programs on the machine slow
# some runs down) and the memory that autograd saves for the backward pass (the
# tensors seen by `torch.autograd.graph.saved_tensors_hooks`).

# %%
def saved_for_backward(attention, q, k, v):
    """Bytes of the tensors that autograd keeps for the backward pass."""
    total = 0

    def pack(tensor):
        nonlocal total
        total += tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        attention(q, k, v)
    return total


def best_time(attention, q, k, v, repeats=5):
    """The best wall time of a few forward passes, in seconds."""
    times = []
    with torch.no_grad():
        for _ in range(repeats):
            if q.device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            attention(q, k, v)
            if q.device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    return min(times)


functions = {"your scaled_dot_product_attention": scaled_dot_product_attention,
             "F.scaled_dot_product_attention": F.scaled_dot_product_attention}
seq_lengths = [128, 256, 512, 1024, 2048]
cost = {name: {"seconds": [], "MiB": []} for name in functions}
for seq_len in progress(seq_lengths, desc="sequence lengths"):
    qkv = [torch.randn(1, 1, seq_len, 64, device=device, requires_grad=True)
           for _ in range(3)]
    for name, attention in functions.items():
        cost[name]["seconds"].append(best_time(attention, *qkv))
        cost[name]["MiB"].append(saved_for_backward(attention, *qkv) / 2**20)

print(f"{'L':>6s}" + "".join(f"{name[:30]:>32s}" for name in functions))
for i, seq_len in enumerate(seq_lengths):
    print(f"{seq_len:6d}" + "".join(
        f"{cost[name]['seconds'][i] * 1e3:14.2f} ms {cost[name]['MiB'][i]:9.2f} MiB"
        for name in functions))
log_lengths = torch.tensor(seq_lengths[-3:], dtype=torch.float64).log()
for name in functions:
    # growth exponent over the three longest sequences: cost ~ L ** slope, the
    # least-squares slope of log(cost) against log(L)
    for what in ("seconds", "MiB"):
        log_cost = torch.tensor(cost[name][what][-3:], dtype=torch.float64).log()
        centred = log_lengths - log_lengths.mean()
        slope = (centred * (log_cost - log_cost.mean())).sum() / (centred**2).sum()
        print(f"{name}: {what} grow like L^{slope:.2f} for L = 512..2048")

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 3.8))
for name in functions:
    ax0.plot(seq_lengths, cost[name]["seconds"], marker="o", label=name)
    ax1.plot(seq_lengths, cost[name]["MiB"], marker="o", label=name)
for ax, what in ((ax0, "seconds"), (ax1, "MiB")):
    top = cost["your scaled_dot_product_attention"][what][-1]
    ax.plot(seq_lengths, [top * (n / seq_lengths[-1]) ** 2 for n in seq_lengths],
            ls=":", color="0.5", label="slope 2 (L^2)")
ax0.set(title="forward time, one head, E = 64", ylabel="seconds")
ax1.set(title="memory saved for the backward pass", ylabel="MiB")
for ax in (ax0, ax1):
    ax.set(xscale="log", yscale="log", xlabel="sequence length L")
    ax.set_xticks(seq_lengths, [str(n) for n in seq_lengths])
    ax.minorticks_off()
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# On a log-log plot a power law is a straight line whose slope is the exponent.
# The memory of your function grows with slope 2, that of the built-in with slope
# 1. The times approach slope 2 once $L$ is large enough for the matrix products
# to dominate the fixed overheads; they are noisier than the memory (a busy
# machine, caches that stop holding the matrix), so read the exponents printed
# above as rough figures, and rerun the cell to see how much they move.
#
# This quadratic cost is why context lengths were long limited to a few thousand
# tokens, and why so much work went into flash attention, sparse and
# sliding-window attention and linear-time approximations.
#
# ## 11.11 Summary
#
# - Attention is a soft dictionary lookup: $\operatorname{softmax}(QK^\top /
#   \sqrt{E})\,V$ averages the values with weights given by how well each key
#   matches each query. It connects any two positions in one step, processes all
#   positions in parallel, and costs $O(L^2)$ in time and memory.
# - The $1/\sqrt{E}$ keeps the scores at unit scale, so the softmax neither
#   saturates nor kills its gradient as $E$ grows.
# - Masks remove keys (padding, the future). A boolean mask means "takes part"
#   to `F.scaled_dot_product_attention` and "masked out" to
#   `nn.MultiheadAttention`: know which one you call. Mask with $-\infty$ or
#   `torch.finfo(dtype).min`, never `-1e9` (it overflows float16), and decide
#   what a query with nothing to look at returns (here, as in
#   `F.scaled_dot_product_attention`, zero).
# - Multi-head attention projects once, splits into $h$ heads with a reshape
#   *and* a transpose, attends per head with scale $1/\sqrt{d}$, merges and
#   projects; `nn.MultiheadAttention` packs $W_Q, W_K, W_V$ into one
#   `in_proj_weight` and averages the returned weights over the heads.
# - Attention ignores order; sinusoidal encodings add positions with fixed
#   frequencies, so that offsets are rotations and similarities depend on
#   distance only.
# - A Transformer block is attention and a position-wise MLP, each with a
#   residual connection and a layer norm (post-norm in the original and in
#   `nn.TransformerEncoderLayer`, pre-norm in most later models).
# - Two such blocks learned to reverse digit sequences of variable length, and
#   their attention maps show how they route each digit to its mirrored place.
#
# Chapter 12 looks closely at the layers that Transformers and CNNs are made of:
# normalisation (batch and layer norm), activations such as GELU, and dropout.
# Chapters 22 and 23 return to attention: cross-attention, decoders and a small
# GPT.
