# %% [markdown]
# # Chapter 23: Modern Transformers: GPT, BERT and T5
#
# Chapter 11 built the Transformer's parts: attention, multi-head attention and
# the post-norm encoder block. Almost every large model since 2018 is one of
# three arrangements of those parts. **GPT** keeps a stack of *causal* blocks
# and learns to predict the next token; **BERT** keeps a stack of bidirectional
# blocks and learns to fill in hidden tokens; **T5** keeps the whole
# encoder-decoder and casts every task as "text in, text out". This chapter
# builds the pieces that make each of them different, checks each piece against
# PyTorch's own modules, trains a tiny GPT on Python's documentation (the text
# that chapter 10's LSTM read) and shows that the same code, at GPT-2's sizes,
# has exactly GPT-2's 124,439,808 parameters.
#
# **You will learn**
# - the pre-norm block that GPT-2 and its successors use, and why it trains
#   more easily than chapter 11's post-norm block;
# - a classic bug: the fourth positional argument of `nn.MultiheadAttention` is
#   a *padding* mask, not the causal mask;
# - a decoder-only language model (token and position embeddings, causal
#   blocks, a final norm, a head tied to the embedding), trained on characters
#   and compared with the unigram and bigram baselines;
# - how to sample from a language model: temperature, top-$k$ and what to do
#   with ties;
# - BERT's masked-language-model corruption: 15 % of the positions, of which
#   80 % become `[MASK]`, 10 % a random token and 10 % stay unchanged;
# - the decoder block of an encoder-decoder model, with cross-attention;
# - encoder-only, decoder-only and encoder-decoder models compared, and how the
#   parameters of GPT-2 small add up.
#
# **Graded exercises** (17 points)
#
# | exercise | points |
# |---|---|
# | `GPTBlock(d_model, nhead, dim_feedforward)` | 4 |
# | `TinyGPT(vocab_size, context_length, d_model, nhead, num_layers, ...)` | 3 |
# | `sample_next_token(logits, temperature=1.0, top_k=None, generator=None)` | 3 |
# | `mlm_mask(tokens, mask_id, vocab_size, generator=None)` | 3 |
# | `DecoderBlock(d_model, nhead, dim_feedforward)` | 4 |
#
# Each exercise is a function or a module whose docstring states its whole
# contract: shapes, dtypes, devices, edge cases and the built-ins you may not
# call. Replace `raise NotImplementedError()` with your code and run the test cell
# below it. The visible tests show every rule the grader checks; hidden tests
# repeat them on other values, shapes and seeds.
#
# Letters used for shapes: $N$ is the batch size, $T$ the length of a sequence
# (the target, for a decoder), $S$ the length of the encoder's sequence, $D$ the
# model width `d_model`, $F$ the hidden size of the feed-forward part, $V$ the
# vocabulary size and $C$ the context length (the longest sequence a model
# accepts).

# %%
import math
import re
import textwrap

import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse import get_device, progress, set_seed
from dlcourse.assets import asset_path
from dlcourse.checks import assert_close, assert_shape, expect_raises, forbid
from dlcourse.data import load_python_docs_chars
from dlcourse.training import check_bar
from dlcourse.widgets import interactive_plot

device = get_device()  # the tests also run your code on this device
set_seed(0)
print(f"torch {torch.__version__}, device: {device}")

# %% [markdown]
# ## 23.1 Three families from one block
#
# The original Transformer (chapter 11) had an encoder, whose positions all see
# each other, and a decoder, whose positions see only the past and, through
# cross-attention, the encoder's output. Three model families each keep a
# different part:
#
# | family | examples | attention | pretraining task | typical use |
# |---|---|---|---|---|
# | encoder-only | BERT, RoBERTa | bidirectional | fill in hidden tokens | classify |
# | decoder-only | GPT, GPT-2, Llama | causal | predict the next token | generate |
# | encoder-decoder | T5, BART | both, plus cross | rebuild hidden spans | translate |
#
# **BERT** (Devlin et al.) adds three embeddings per input token (the token,
# its position and its *segment*, A or B, for tasks on sentence pairs) and runs
# 12 bidirectional blocks. It learns by **masked language modelling**: some
# tokens are hidden and the model predicts them from both sides (section 23.6).
# Its second task, *next-sentence prediction* (is sentence B the one that
# followed A?), was later found to help little, and RoBERTa dropped it.
#
# **GPT** (Radford et al.) is a stack of causal blocks trained to predict token
# $x_t$ from $x_{<t}$. Nothing in the architecture changed much from GPT-2 (1.5
# billion parameters for the largest, 2019) to GPT-3 (175 billion, 2020): the
# growth came from width, depth, data and compute. Any task can be phrased as a
# continuation ("Translate to French: cheese =>"), which is why one model can
# do many things.
#
# **T5** (Raffel et al.) keeps the encoder-decoder and writes *every* task as
# text to text: the input "summarize: ..." or "translate English to German: ..."
# goes into the encoder, and the decoder writes the answer. Its pretraining
# hides spans of the input and asks the decoder to write them out.
#
# All three use the same block; what differs is the **mask** (which positions a
# position may see) and what the loss is computed on. Sections 23.2 to 23.5
# build the decoder-only model, 23.6 BERT's corruption and 23.7 the decoder block
# of an encoder-decoder model.

# %%
def draw_mask(ax, allowed, title):
    ax.imshow(allowed.float().numpy(), cmap="Greens", vmin=0, vmax=1.3)
    ax.set(title=title, xlabel="key position (attended to)",
           ylabel="query position (attending)")
    size = allowed.shape[0]
    ax.set_xticks(range(size))
    ax.set_yticks(range(size))


T_SHOW = 6
fig, axes = plt.subplots(1, 3, figsize=(12, 4))
full = torch.ones(T_SHOW, T_SHOW, dtype=torch.bool)
draw_mask(axes[0], full, "encoder (BERT): everything")
draw_mask(axes[1], full.tril(), "decoder (GPT): the past and itself")
prefix = full.tril()
prefix[:, :3] = True  # an input of 3 tokens seen in full, then causal
draw_mask(axes[2], prefix, "prefix LM: input in full, output causal")
for ax in axes:
    ax.plot([], [], "s", color="darkgreen", label="may attend")
    ax.plot([], [], "s", color="whitesmoke", label="masked")
    ax.legend(loc="lower left", fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 23.2 The pre-norm GPT block
#
# Chapter 11's block normalises *after* each residual addition (post-norm):
# $x' = \operatorname{LN}(x + \operatorname{MHA}(x))$. GPT-2 moved the layer
# norms to the *input* of each sub-layer (pre-norm):
#
# $$x' = x + \operatorname{MHA}\big(\operatorname{LN}_1(x)\big), \qquad
#   y = x' + \operatorname{FFN}\big(\operatorname{LN}_2(x')\big),$$
#
# with $\operatorname{FFN}(z) = W_2 \operatorname{GELU}(W_1 z + b_1) + b_2$ and
# the attention **causal**: position $t$ attends to positions $0, \dots, t$ only.
#
# Why pre-norm? In post-norm every block's output passes through a layer norm,
# so the path from the loss back to the first block goes through one
# normalisation per block, and deep post-norm stacks need a learning-rate warm-up
# to train at all (Xiong et al., 2020). In pre-norm the residual stream
# $x \to x' \to y$ is a pure sum: the gradient reaches every block unchanged
# through the identity path. The price is that the stream's scale grows with
# depth, so a pre-norm model needs one **final layer norm** before its output
# head. Later models keep the layout and swap the parts: RMSNorm instead of
# LayerNorm (no mean, no bias), a gated SwiGLU feed-forward layer, rotary
# position embeddings (RoPE) inside the attention (Llama, 2023).
#
# The cell below measures the difference. It stacks 24 blocks of each kind
# with PyTorch's `nn.TransformerEncoderLayer` (the only difference being
# `norm_first`) and prints the gradient norm that reaches the first block's
# input for a random input.

# %%
def input_gradient_norm(norm_first, depth=24, width=32, seed=0):
    torch.manual_seed(seed)
    layers = nn.Sequential(*[
        nn.TransformerEncoderLayer(width, 4, 4 * width, dropout=0.0,
                                   activation="gelu", batch_first=True,
                                   norm_first=norm_first)
        for _ in range(depth)])
    x = torch.randn(4, 16, width, requires_grad=True)
    layers(x).pow(2).mean().backward()
    return torch.linalg.vector_norm(x.grad).item()


for norm_first in (False, True):
    name = "pre-norm " if norm_first else "post-norm"
    print(f"{name}, 24 blocks: gradient norm at the input "
          f"{input_gradient_norm(norm_first):.2e}")

# %% [markdown]
# ### A pitfall: the fourth argument of `nn.MultiheadAttention`
#
# A causal block needs the causal mask passed as `attn_mask`. It is tempting to
# write `self.attn(x, x, x, mask)`, but the signature is
# `forward(query, key, value, key_padding_mask=None, need_weights=True,
# attn_mask=None, ...)`: the fourth positional argument is the **padding** mask
# of shape $(N, S)$, one flag per key and per sequence. A $(T, T)$ causal mask
# passed there is rejected when $N \ne T$, and, worse, silently accepted when
# the batch happens to have $N = T$ sequences: row $n$ of the causal mask then
# hides keys of sequence $n$ for *every* query, which is not causal at all. Pass
# masks by keyword.

# %%
torch.manual_seed(0)
attention = nn.MultiheadAttention(8, 2, batch_first=True)
causal = torch.ones(4, 4, dtype=torch.bool).triu(1)  # True = may not attend
x = torch.randn(4, 4, 8)  # N = T = 4: the bug goes unnoticed
right, _ = attention(x, x, x, attn_mask=causal)
wrong, _ = attention(x, x, x, causal)  # passed as key_padding_mask
x_changed = x.clone()
x_changed[:, -1] += 1.0  # change only the last position
right_changed, _ = attention(x_changed, x_changed, x_changed, attn_mask=causal)
wrong_changed, _ = attention(x_changed, x_changed, x_changed, causal)
print("attn_mask=causal: position 0 changes when the future changes? ",
      not torch.allclose(right[:, 0], right_changed[:, 0]))
print("positional mask:  position 0 changes when the future changes? ",
      not torch.allclose(wrong[:, 0], wrong_changed[:, 0]))
try:
    attention(x[:3], x[:3], x[:3], causal)
except (RuntimeError, AssertionError) as error:
    print("with N = 3 != T = 4 the mistake is caught:", str(error)[:70], "...")

# %% [markdown]
# ### Exercise 1: `GPTBlock` (4 points)
#
# Build the pre-norm causal block with the attribute names of
# `nn.TransformerEncoderLayer`, so that its weights load into yours (and so that
# a GPT-2 checkpoint could be mapped onto it). Use
# `nn.MultiheadAttention(d_model, nhead, batch_first=True)`, with the causal
# mask passed by keyword as `attn_mask` (chapter 11's `MultiHeadAttention`
# stores the same parameters but takes no mask), and the exact GELU.
# The block builds its causal mask itself, on the input's device, for whatever
# length $T$ it receives. The tests compare it with
# `nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout=0.0,
# activation="gelu", batch_first=True, norm_first=True)` called with a causal
# mask, outputs and gradients, and check directly that no position is affected
# by a later one. Calling `nn.TransformerEncoderLayer` is forbidden.

# %% grade_id="ch23-gpt-block"
class GPTBlock(nn.Module):
    """A pre-norm, causal Transformer block without dropout (GPT-2's layout).

    N is the batch size, T the sequence length, D = d_model, F = dim_feedforward.

        x = src + self_attn(h, h, h, attn_mask=causal)[0],  h = norm1(src)
        out = x + linear2(gelu(linear1(norm2(x))))

    where position t attends to positions 0..t only.

    Submodules, exactly these names (as nn.TransformerEncoderLayer, no other
    parameters or buffers, so that its state_dict loads into this module):
        self_attn: nn.MultiheadAttention(D, nhead, batch_first=True), or a
            module with the same parameters.
        linear1: nn.Linear(D, F).      linear2: nn.Linear(F, D).
        norm1, norm2: nn.LayerNorm(D) (eps 1e-5, the default).

    Args:
        d_model: D, int >= 1, divisible by nhead.
        nhead: int >= 1, the number of attention heads.
        dim_feedforward: F, int >= 1.

    forward(x):
        x: (N, T, D), floating point with the block's dtype and device; T >= 1.
        Returns (N, T, D), same dtype and device as x; output t depends on
        x[:, :t + 1] only. The activation is the exact GELU (F.gelu with
        approximate="none"). Identical in training and evaluation mode.

    Forbidden: nn.TransformerEncoderLayer and nn.TransformerEncoder (their
    forward) and torch._transformer_encoder_layer_fwd. nn.MultiheadAttention,
    nn.LayerNorm and F.gelu are allowed.
    """

    def __init__(self, d_model, nhead, dim_feedforward):
        super().__init__()
        ### BEGIN SOLUTION
        self.self_attn = nn.MultiheadAttention(d_model, nhead, batch_first=True)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        length = x.shape[1]
        future = torch.ones(length, length, dtype=torch.bool,
                            device=x.device).triu(1)  # True = may not attend
        h = self.norm1(x)
        attended, _ = self.self_attn(h, h, h, attn_mask=future, need_weights=False)
        x = x + attended
        return x + self.linear2(F.gelu(self.linear1(self.norm2(x))))
        ### END SOLUTION


# %%
# Try it: a block of width 16 with 4 heads on 2 sequences of length 5
block = GPTBlock(16, 4, 64)
print("output:", tuple(block(torch.randn(2, 5, 16)).shape))
print("submodules:", [name for name, _ in block.named_children()])

# %% grade_id="ch23-gpt-block-tests" points=4
"""GPTBlock: state_dict keys of nn.TransformerEncoderLayer; with its weights
loaded (random LayerNorm scales and shifts), outputs and gradients ==
nn.TransformerEncoderLayer(dropout=0.0, activation="gelu", batch_first=True,
norm_first=True) with a causal mask, in training and evaluation mode, float32 on
the CPU and float64 on `device`, T = 1 included; changing a later position never
changes an earlier output; no nn.TransformerEncoderLayer."""
_banned = ("torch.nn.TransformerEncoderLayer.forward",
           "torch.nn.TransformerEncoder.forward",
           "torch._transformer_encoder_layer_fwd")


def _reference_layer(d_model, nhead, ff, gen):
    ref = nn.TransformerEncoderLayer(d_model, nhead, ff, dropout=0.0,
                                     activation="gelu", batch_first=True,
                                     norm_first=True)
    with torch.no_grad():  # random norms and biases: swapped norms must show
        for p in ref.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(p.shape[-1]))
    return ref


def _check_gpt_block(d_model, nhead, ff, n, length, dtype, where, seed):
    name = (f"GPTBlock({d_model}, {nhead}, {ff}) on x ({n}, {length}, {d_model}), "
            f"{dtype}")
    gen = torch.Generator().manual_seed(seed)
    ref = _reference_layer(d_model, nhead, ff, gen).to(where, dtype)
    mine = GPTBlock(d_model, nhead, ff).to(where, dtype)
    want_keys, got_keys = sorted(ref.state_dict()), sorted(mine.state_dict())
    assert got_keys == want_keys, (
        f"{name}: state_dict keys {got_keys}, expected {want_keys}")
    mine.load_state_dict(ref.state_dict())
    x = torch.randn(n, length, d_model, generator=gen, dtype=dtype).to(where)
    mask = nn.Transformer.generate_square_subsequent_mask(length, device=where,
                                                          dtype=dtype)
    tol = 1e-10 if dtype == torch.float64 else 1e-4
    for mode in ("train", "eval"):
        mine.train(mode == "train")
        ref.train(mode == "train")
        mine.zero_grad()
        ref.zero_grad()
        x_mine = x.clone().requires_grad_(True)
        x_ref = x.clone().requires_grad_(True)
        with forbid(*_banned):
            got = mine(x_mine)
        want = ref(x_ref, src_mask=mask, is_causal=True)
        assert_shape(got, want.shape, name=name)
        assert_close(got, want, rtol=tol, atol=tol, name=f"{name}, {mode} mode")
        assert got.device == x.device, f"{name}: output on {got.device}"
        assert got.dtype == dtype, f"{name}: output dtype {got.dtype}"
        upstream = torch.randn(want.shape, generator=gen, dtype=dtype).to(where)
        (got * upstream).sum().backward()
        (want * upstream).sum().backward()
        assert_close(x_mine.grad, x_ref.grad, rtol=tol, atol=tol,
                     name=f"{name}, {mode} mode: gradient of x")
        ref_params = dict(ref.named_parameters())
        for key, p in mine.named_parameters():
            assert_close(p.grad, ref_params[key].grad, rtol=tol, atol=tol,
                         name=f"{name}, {mode} mode: gradient of {key}")


def _check_causal(block, x, name):
    with torch.no_grad():
        before = block(x)
        for t in range(x.shape[1] - 1):
            changed = x.clone()
            changed[:, t + 1:] = torch.randn_like(changed[:, t + 1:])
            after = block(changed)
            assert_close(after[:, :t + 1], before[:, :t + 1], rtol=1e-9, atol=1e-9,
                         name=f"{name}: outputs 0..{t} after changing positions "
                              f"{t + 1}.. (must not change: the block is causal)")


block = GPTBlock(8, 2, 12)
assert isinstance(block, nn.Module), "GPTBlock must subclass nn.Module"
_check_gpt_block(8, 2, 12, 2, 5, torch.float32, "cpu", seed=0)
_check_gpt_block(6, 3, 10, 3, 7, torch.float64, device, seed=1)
_check_gpt_block(6, 2, 5, 2, 1, torch.float64, device, seed=2)
torch.manual_seed(3)
_check_causal(GPTBlock(6, 2, 8).to(device, torch.float64),
              torch.randn(2, 5, 6, dtype=torch.float64, device=device),
              "GPTBlock(6, 2, 8)")
### BEGIN HIDDEN TESTS
for _seed, _args in enumerate([(4, 1, 3, 1, 1), (9, 3, 7, 1, 6), (10, 5, 17, 4, 3),
                               (12, 4, 8, 2, 9), (5, 5, 2, 3, 2)]):
    _check_gpt_block(*_args, torch.float64, device, seed=30 + _seed)
torch.manual_seed(40)
_check_causal(GPTBlock(10, 5, 7).to(device, torch.float64),
              torch.randn(3, 7, 10, dtype=torch.float64, device=device),
              "GPTBlock(10, 5, 7)")
### END HIDDEN TESTS

# %% [markdown]
# ## 23.3 A decoder-only language model
#
# A GPT turns token ids into vectors, runs them through the blocks and turns
# each position's final vector into logits over the vocabulary:
#
# $$h^{(0)}_t = E[x_t] + P[t], \qquad h^{(\ell)} =
#   \operatorname{Block}_\ell\big(h^{(\ell-1)}\big), \qquad
#   z_t = \operatorname{LN}_f\big(h^{(L)}_t\big)\, E^\top \in \mathbb{R}^V .$$
#
# - $E \in \mathbb{R}^{V \times D}$ is the token embedding and
#   $P \in \mathbb{R}^{C \times D}$ a *learned* position embedding (GPT-2's
#   choice; chapter 11 used fixed sinusoids). The model cannot read sequences
#   longer than $C$.
# - $\operatorname{LN}_f$ is the final layer norm that pre-norm needs.
# - The output head reuses the embedding matrix: **weight tying** (Press and
#   Wolf, 2017). A token's input vector and its output vector are the same, which
#   saves $VD$ parameters (38.6 million of GPT-2 small's 124 million) and tends
#   to help small models.
#
# Because the blocks are causal, **one forward pass trains $T$ predictions at
# once**: the logits at position $t$ predict $x_{t+1}$ from $x_{0..t}$, and the
# loss is the mean cross-entropy over all positions. Generation, in contrast, is
# sequential: one token per forward pass.
#
# ### Exercise 2: `TinyGPT` (3 points)
#
# Build the model from your `GPTBlock`. The attribute names are fixed so that
# the tests (and section 23.8's count) can load weights into it. Initialise the
# embeddings with a small standard deviation, as GPT-2 does ($0.02$): PyTorch's
# default $\mathcal{N}(0, 1)$, once tied to the head, gives huge initial logits
# (the tests do not check the initialisation, but the training in 23.4 does).

# %% grade_id="ch23-tiny-gpt"
class TinyGPT(nn.Module):
    """A decoder-only Transformer language model with a tied output head.

    N is the batch size, T the sequence length, V = vocab_size,
    C = context_length, D = d_model.

        h = token_embedding(idx) + position_embedding(0..T-1)
        h = blocks[L-1](...blocks[0](h))
        logits = head(norm(h)),   head.weight IS token_embedding.weight

    Submodules, exactly these names (and no other parameters or buffers):
        token_embedding: nn.Embedding(V, D).
        position_embedding: nn.Embedding(C, D).
        blocks: nn.ModuleList of num_layers GPTBlock(D, nhead, dim_feedforward).
        norm: nn.LayerNorm(D).
        head: nn.Linear(D, V, bias=False) whose weight is the same Parameter
            object as token_embedding.weight (tied), so that parameters()
            counts it once.

    Args:
        vocab_size, context_length, d_model, nhead, num_layers, dim_feedforward:
            ints >= 1 (d_model divisible by nhead).

    forward(idx):
        idx: int64 tensor (N, T) of token ids in [0, V), on the model's device.
        Returns the logits (N, T, V), with the model's dtype, on idx's device;
        logits[:, t] depend on idx[:, :t + 1] only.

    Raises:
        ValueError: in forward, if T > C (the position embedding has no row
            for it).
    """

    def __init__(self, vocab_size, context_length, d_model, nhead, num_layers,
                 dim_feedforward):
        super().__init__()
        ### BEGIN SOLUTION
        self.context_length = context_length
        self.token_embedding = nn.Embedding(vocab_size, d_model)
        self.position_embedding = nn.Embedding(context_length, d_model)
        self.blocks = nn.ModuleList(GPTBlock(d_model, nhead, dim_feedforward)
                                    for _ in range(num_layers))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        self.head.weight = self.token_embedding.weight
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.position_embedding.weight, std=0.02)
        ### END SOLUTION

    def forward(self, idx):
        ### BEGIN SOLUTION
        length = idx.shape[1]
        if length > self.context_length:
            raise ValueError(f"sequence of length {length} is longer than the "
                             f"context length {self.context_length}")
        positions = torch.arange(length, device=idx.device)
        h = self.token_embedding(idx) + self.position_embedding(positions)
        for block in self.blocks:
            h = block(h)
        return self.head(self.norm(h))
        ### END SOLUTION


# %%
# Try it: a model over 11 tokens with a context of 8
model = TinyGPT(11, 8, 16, 2, 2, 32)
print("logits:", tuple(model(torch.randint(0, 11, (3, 8))).shape))
print("parameters:", sum(p.numel() for p in model.parameters()))

# %% grade_id="ch23-tiny-gpt-tests" points=3
"""TinyGPT: the named submodules; the head tied to the token embedding (one
Parameter, counted once); with the weights of a reference built from
nn.TransformerEncoderLayer(norm_first=True) loaded, logits and gradients equal
the reference's, float32 on the CPU and float64 on `device`, T = 1 and T = C
included; causal; ValueError for T > C; no nn.TransformerEncoderLayer."""
_banned_gpt = ("torch.nn.TransformerEncoderLayer.forward",
               "torch.nn.TransformerEncoder.forward",
               "torch._transformer_encoder_layer_fwd")


class _ReferenceGPT(nn.Module):
    def __init__(self, vocab, context, d_model, nhead, layers, ff, gen):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, d_model)
        self.position_embedding = nn.Embedding(context, d_model)
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(d_model, nhead, ff, dropout=0.0,
                                       activation="gelu", batch_first=True,
                                       norm_first=True) for _ in range(layers))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab, bias=False)
        self.head.weight = self.token_embedding.weight
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(p.shape[-1]))

    def forward(self, idx):
        length = idx.shape[1]
        mask = nn.Transformer.generate_square_subsequent_mask(
            length, device=idx.device, dtype=self.norm.weight.dtype)
        h = self.token_embedding(idx) + self.position_embedding.weight[:length]
        for block in self.blocks:
            h = block(h, src_mask=mask, is_causal=True)
        return self.head(self.norm(h))


def _check_tiny_gpt(vocab, context, d_model, nhead, layers, ff, n, length, dtype,
                    where, seed):
    name = (f"TinyGPT({vocab}, {context}, {d_model}, {nhead}, {layers}, {ff}) on "
            f"idx ({n}, {length}), {dtype}")
    gen = torch.Generator().manual_seed(seed)
    ref = _ReferenceGPT(vocab, context, d_model, nhead, layers, ff, gen)
    ref = ref.to(where, dtype)
    mine = TinyGPT(vocab, context, d_model, nhead, layers, ff).to(where, dtype)
    assert mine.head.weight is mine.token_embedding.weight, (
        f"{name}: head.weight must be the same Parameter as token_embedding.weight")
    want_keys, got_keys = sorted(ref.state_dict()), sorted(mine.state_dict())
    assert got_keys == want_keys, (
        f"{name}: state_dict keys {got_keys}, expected {want_keys}")
    mine.load_state_dict(ref.state_dict())
    idx = torch.randint(0, vocab, (n, length), generator=gen).to(where)
    with forbid(*_banned_gpt):
        got = mine(idx)
    want = ref(idx)
    tol = 1e-10 if dtype == torch.float64 else 1e-4
    assert_shape(got, (n, length, vocab), name=name)
    assert got.dtype == dtype and got.device == idx.device, (
        f"{name}: logits {got.dtype} on {got.device}, expected {dtype} on "
        f"{idx.device}")
    assert_close(got, want, rtol=tol, atol=tol, name=f"{name}: logits")
    upstream = torch.randn(want.shape, generator=gen, dtype=dtype).to(where)
    (got * upstream).sum().backward()
    (want * upstream).sum().backward()
    ref_params = dict(ref.named_parameters(remove_duplicate=False))
    for key, p in mine.named_parameters():  # the tied weight under either name
        assert_close(p.grad, ref_params[key].grad, rtol=tol, atol=tol,
                     name=f"{name}: gradient of {key}")


model = TinyGPT(11, 8, 16, 2, 2, 32)
_expected_count = (11 * 16 + 8 * 16 + 2 * (4 * 16 * 16 + 4 * 16 + 2 * 16 * 32 + 32
                                           + 16 + 4 * 16) + 2 * 16)
_count = sum(p.numel() for p in model.parameters())
assert _count == _expected_count, (
    f"TinyGPT(11, 8, 16, 2, 2, 32) has {_count} parameters, expected "
    f"{_expected_count} (the head tied to the embedding, counted once)")
_check_tiny_gpt(11, 8, 16, 2, 2, 32, 3, 8, torch.float32, "cpu", seed=0)
_check_tiny_gpt(7, 6, 6, 3, 2, 10, 2, 5, torch.float64, device, seed=1)
_check_tiny_gpt(7, 6, 6, 2, 1, 10, 2, 1, torch.float64, device, seed=2)
expect_raises(ValueError, model, torch.zeros(1, 9, dtype=torch.int64),
              name="TinyGPT with context 8 on a sequence of length 9")
torch.manual_seed(3)
with torch.no_grad():
    _idx = torch.randint(0, 11, (2, 8))
    _before = model(_idx)
    _idx[:, 5:] = (_idx[:, 5:] + 1) % 11
    assert_close(model(_idx)[:, :5], _before[:, :5], rtol=1e-5, atol=1e-5,
                 name="TinyGPT logits 0..4 after changing tokens 5.. (causal)")
### BEGIN HIDDEN TESTS
for _seed, _args in enumerate([(5, 3, 4, 1, 1, 3, 1, 3), (13, 9, 10, 5, 3, 7, 2, 9),
                               (9, 7, 6, 2, 2, 11, 4, 1)]):
    _check_tiny_gpt(*_args, torch.float64, device, seed=30 + _seed)
expect_raises(ValueError, TinyGPT(5, 3, 4, 1, 1, 3).to(device),
              torch.zeros(2, 4, dtype=torch.int64, device=device),
              name="TinyGPT with context 3 on a sequence of length 4")
### END HIDDEN TESTS

# %% [markdown]
# ## 23.4 Training a tiny GPT on Python's documentation
#
# The corpus is chapter 10's: the documentation that ships with Python
# (`pydoc_data.topics`), split 90 / 10 without shuffling into training and
# validation text, one token per character. Its size depends on the Python
# version. The unigram and bigram baselines (add-one smoothing, as in chapter
# 10) say what a model gets for free.

# %%
corpus, chars, train_text, val_text = load_python_docs_chars(0.9)  # 90 % / 10 %
char_to_index = {c: i for i, c in enumerate(chars)}
VOCAB = len(chars)
print(f"{len(corpus):,} characters, {VOCAB} distinct; "
      f"{len(train_text):,} for training, {len(val_text):,} for validation")

unigram = torch.bincount(train_text, minlength=VOCAB).double() + 1
unigram_loss = -(unigram / unigram.sum()).log()[val_text].mean().item()
bigram = torch.ones(VOCAB, VOCAB, dtype=torch.float64)  # add-one smoothing
bigram.index_put_((train_text[:-1], train_text[1:]),
                  torch.ones(len(train_text) - 1, dtype=torch.float64),
                  accumulate=True)
bigram_loss = -(bigram / bigram.sum(1, keepdim=True)).log()[
    val_text[:-1], val_text[1:]].mean().item()
print(f"uniform {math.log(VOCAB):.3f}, unigram {unigram_loss:.3f}, "
      f"bigram {bigram_loss:.3f} nats/char")

# %% [markdown]
# The model: width $D = 64$, 4 heads, 2 blocks, $F = 256$, a context of
# $C = 32$ characters. Each step draws 32 random windows of 33 characters; the
# model reads the first 32 and is trained on all 32 next-character predictions.
# AdamW with a learning rate of $3 \times 10^{-3}$ and gradient clipping at norm
# 1. The validation loss is the mean over non-overlapping windows of the
# validation text (each prediction sees the previous characters of its window
# only, so the first ones see little context).
#
# The bar: **a validation loss of at most 2.1 nats per character**, below the
# bigram baseline. The 400 steps take about 13 seconds on one CPU core.
# `NUM_STEPS` is the knob: on a GPU, try 3000 steps and a wider model.

# %%
NUM_STEPS = 400  # the knob: more steps give a lower loss (try 3000 on a GPU)
CONTEXT, BATCH = 32, 32


def random_windows(text, batch, window):
    """batch random windows of window + 1 characters -> inputs and targets."""
    starts = torch.randint(0, len(text) - window - 1, (batch, 1))
    chunk = text[starts + torch.arange(window + 1)].to(device)
    return chunk[:, :-1], chunk[:, 1:]


@torch.no_grad()
def validation_loss(model, text, window=CONTEXT):
    """Mean next-character loss over the non-overlapping windows of text."""
    model.eval()
    usable = (len(text) - 1) // window * window
    inputs = text[:usable].reshape(-1, window).to(device)
    targets = text[1:usable + 1].reshape(-1, window).to(device)
    total = 0.0
    for start in range(0, len(inputs), 256):
        logits = model(inputs[start:start + 256])
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                 targets[start:start + 256].reshape(-1),
                                 reduction="sum").item()
    model.train()
    return total / targets.numel()


set_seed(0)
gpt = TinyGPT(VOCAB, CONTEXT, 64, 4, 2, 256).to(device)
optimizer = torch.optim.AdamW(gpt.parameters(), lr=3e-3, weight_decay=0.01)
train_losses, val_points = [], []
for step in progress(range(1, NUM_STEPS + 1), desc="training"):
    inputs, targets = random_windows(train_text, BATCH, CONTEXT)
    logits = gpt(inputs)
    loss = F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(gpt.parameters(), max_norm=1.0)
    optimizer.step()
    train_losses.append(loss.item())
    if step % 200 == 0 or step == NUM_STEPS:
        val_points.append((step, validation_loss(gpt, val_text)))

gpt_val_loss = val_points[-1][1]
print(f"unigram {unigram_loss:.3f}, bigram {bigram_loss:.3f}, "
      f"TinyGPT {gpt_val_loss:.3f} nats/char "
      f"(perplexity {math.exp(gpt_val_loss):.1f})")
check_bar("validation loss of TinyGPT (nats/char)", gpt_val_loss, 2.1,
          higher_is_better=False)

fig, ax = plt.subplots(figsize=(7.5, 3.8))
ax.plot(range(1, len(train_losses) + 1), train_losses, lw=0.8, alpha=0.6,
        label="training batch")
ax.plot(*zip(*val_points, strict=True), "o-", label="validation")
ax.axhline(unigram_loss, color="gray", ls="--", label="unigram baseline")
ax.axhline(bigram_loss, color="gray", ls=":", label="bigram baseline")
ax.set(xlabel="training step", ylabel="loss (nats per character)", ylim=(0, 5),
       title="TinyGPT on Python's documentation")
ax.legend()
plt.show()

# %% [markdown]
# ## 23.5 Sampling: temperature and top-$k$
#
# A language model gives a distribution over the next token; how we draw from it
# shapes the text. Three common rules, applied to the logits $z$ of the last
# position:
#
# - **temperature** $\tau$: sample from
#   $\operatorname{softmax}(z / \tau)$. $\tau < 1$ sharpens, $\tau > 1$
#   flattens, and $\tau \to 0$ tends to **greedy** decoding, always the most
#   likely token ($\tau = 0$ is defined as exactly that);
# - **top-$k$**: keep the $k$ largest logits, set the others to $-\infty$, and
#   renormalise. It cuts the long tail of unlikely tokens, each tiny but
#   together often several per cent of the mass, which otherwise lets a single
#   bad draw derail the text;
# - **top-$p$** (nucleus) keeps the smallest set of tokens whose probabilities
#   sum to at least $p$, so the number kept adapts to the model's confidence.
#
# **Ties.** "The $k$ largest" is ambiguous when several logits equal the $k$-th
# largest value. `torch.topk` keeps exactly $k$ and breaks ties in an
# unspecified order; the rule used by most implementations is a *threshold*:
# keep every token whose logit is at least the $k$-th largest value. It is
# deterministic and treats equal logits equally, at the price of keeping more
# than $k$ tokens on a tie. We use the threshold.
#
# ### Exercise 3: `sample_next_token` (3 points)
#
# Draw one token per row with `torch.multinomial` (or any other correct
# sampler) and the given generator. The tests draw thousands of samples from
# rows with known probabilities and compare the frequencies with the expected
# ones, with ties at the $k$-th value, on a batch of different rows, and check
# that the same seeded generator gives the same tokens.

# %% grade_id="ch23-sample-next-token"
def sample_next_token(logits, temperature=1.0, top_k=None, generator=None):
    """Draw one token id per row from temperature-scaled, top-k-filtered logits.

    N is the number of rows (sequences), V the vocabulary size.

    Args:
        logits: floating-point tensor (N, V) of unnormalised log-probabilities.
        temperature: float >= 0. The row is sampled from softmax(logits / T).
            temperature == 0 means greedy: the index of the largest logit
            (the first one on a tie, as torch.argmax), whatever top_k is.
        top_k: None (keep every token) or int >= 1: keep the tokens whose logit
            is >= the k-th largest logit of their row (all tokens tied with
            the k-th value are kept, so more than k may be kept); the others
            get probability 0. top_k >= V keeps every token.
        generator: a torch.Generator on logits' device, or None (the global
            generator). Every random draw uses it, so the same seeded generator
            gives the same result.

    Returns:
        int64 tensor (N,) on logits' device: the sampled token id of each row.
        logits is not modified.

    Raises:
        ValueError: if temperature < 0, or top_k is not None and top_k < 1.
    """
    ### BEGIN SOLUTION
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    if temperature == 0:
        return logits.argmax(dim=-1)
    scaled = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = scaled.topk(top_k, dim=-1).values[:, -1:]
        scaled = scaled.masked_fill(scaled < kth, -math.inf)
    probs = torch.softmax(scaled, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
    ### END SOLUTION


# %%
# Try it: greedy, then 10 draws with top-2 (logits 1.0 tied: 3 tokens kept)
z = torch.tensor([[2.0, 1.0, 1.0, 0.0, -1.0]])
print("greedy:", sample_next_token(z, temperature=0.0).tolist())
gen = torch.Generator().manual_seed(0)
print("top-2: ", [sample_next_token(z, 1.0, 2, gen).item() for _ in range(10)])

# %% grade_id="ch23-sample-next-token-tests" points=3
"""sample_next_token: frequencies over many draws == softmax(logits / T)
restricted to the logits >= the k-th largest (ties at the k-th value all kept),
for several temperatures and k, on a batch of different rows, float32 and
float64 on `device`; temperature 0 is the first argmax; top_k >= V keeps all;
the same seeded generator gives the same tokens; int64 on logits' device;
logits unchanged; ValueError for T < 0 or top_k < 1."""


def _expected_probs(logits, temperature, top_k):
    scaled = logits.double() / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = scaled.sort(dim=-1, descending=True).values[:, top_k - 1:top_k]
        scaled = scaled.masked_fill(scaled < kth, -math.inf)
    return torch.softmax(scaled, dim=-1)


def _check_frequencies(logits, temperature, top_k, draws, seed, name):
    rows, vocab = logits.shape
    gen = torch.Generator(device=logits.device).manual_seed(seed)
    repeated = logits.repeat_interleave(draws, dim=0)
    kept = repeated.clone()
    got = sample_next_token(repeated, temperature, top_k, gen)
    assert_close(repeated, kept, rtol=0, atol=0, name=f"{name}: logits modified")
    assert got.dtype == torch.int64, f"{name}: dtype {got.dtype}, expected int64"
    assert got.device == logits.device, f"{name}: on {got.device}"
    assert_shape(got, (rows * draws,), name=name)
    counts = torch.zeros(rows, vocab, dtype=torch.float64)
    rows_of = torch.arange(rows).repeat_interleave(draws)
    counts.index_put_((rows_of, got.cpu()), torch.ones(rows * draws,
                                                       dtype=torch.float64),
                      accumulate=True)
    freq = counts / draws
    want = _expected_probs(logits.cpu(), temperature, top_k)
    # 5 standard deviations of a frequency, plus a little
    tol = 5 * (want * (1 - want) / draws).sqrt() + 2e-3
    bad = (freq - want).abs() > tol
    assert not bad.any(), (
        f"{name}: sampled frequencies\n{freq}\nexpected probabilities\n{want}")


_z = torch.tensor([[2.0, 1.0, 1.0, 0.0, -1.0]], device=device)
_check_frequencies(_z, 1.0, None, 20000, 0, "T=1, no top-k")
_check_frequencies(_z, 1.0, 2, 20000, 1, "T=1, top_k=2 (1.0 tied: 3 tokens kept)")
_check_frequencies(_z, 0.5, 4, 20000, 2, "T=0.5, top_k=4")
_check_frequencies(_z, 2.0, 9, 20000, 3, "T=2, top_k=9 > V")
_batch = torch.tensor([[0.0, 1.0, 2.0, 3.0], [3.0, 3.0, 0.0, -2.0],
                       [1.0, 0.5, 0.0, 1.0]], dtype=torch.float64, device=device)
_check_frequencies(_batch, 0.7, 2, 10000, 4, "a batch of 3 rows, float64, top_k=2")
_greedy = sample_next_token(torch.tensor([[0.0, 3.0, 3.0], [5.0, 1.0, 5.0]],
                                         device=device), 0.0, 1)
assert _greedy.tolist() == [1, 0], f"temperature 0: got {_greedy.tolist()}, " \
    "expected the first argmax of each row, [1, 0]"
_many = _batch.repeat(20, 1)  # 60 rows: equal by chance is practically impossible
_a = sample_next_token(_many, 1.0, None, torch.Generator(device).manual_seed(5))
_b = sample_next_token(_many, 1.0, None, torch.Generator(device).manual_seed(5))
assert _a.tolist() == _b.tolist(), (
    f"same seeded generator, different tokens: {_a.tolist()} vs {_b.tolist()}")
expect_raises(ValueError, sample_next_token, _z, -0.5, name="temperature -0.5")
expect_raises(ValueError, sample_next_token, _z, 1.0, 0, name="top_k 0")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(50)
for _seed, (_rows, _vocab, _t, _k) in enumerate([(1, 7, 1.3, 3), (3, 11, 0.8, 5),
                                                  (2, 9, 1.0, 1), (4, 5, 1.5, None)]):
    _logits = torch.randn(_rows, _vocab, generator=_gen, dtype=torch.float64)
    _logits = (_logits * 2).round() / 2  # ties are likely
    _check_frequencies(_logits.to(device), _t, _k, 8000, 60 + _seed,
                       f"random rows ({_rows}, {_vocab}), T={_t}, top_k={_k}")
_z2 = torch.tensor([[1.0, 4.0, 4.0, 4.0, 0.0]], dtype=torch.float64, device=device)
_check_frequencies(_z2, 1.0, 1, 12000, 70, "three-way tie at the top, top_k=1")
_g2 = sample_next_token(torch.tensor([[1.0, 2.0, 7.0, 7.0]], device=device), 0.0)
assert _g2.tolist() == [2], f"temperature 0: got {_g2.tolist()}, expected [2]"
### END HIDDEN TESTS

# %% [markdown]
# ### Generating text
#
# Generation feeds a prompt, samples the next character from the last position's
# logits with your `sample_next_token`, appends it and repeats. The model sees
# at most its last $C$ characters. (Each step here recomputes the whole window;
# real implementations keep a **KV cache**, the keys and values of the earlier
# positions, which causal attention never changes, so that each new token costs
# one position's work.)
#
# Your 400-step TinyGPT has learned spelling only in part. To show what more
# training buys, the course ships the weights of a larger model of the same
# kind, trained on the same training text for about 7 minutes of one CPU core by
# `assets/make_ch23_tinygpt.py`: width 128, 4 heads, 3 blocks, $F = 512$, a
# context of 64 characters, 2,000 steps of 32 windows, built from PyTorch's own
# modules (the pre-norm `nn.TransformerEncoderLayer` with a causal mask, which
# the tests compared your blocks with). `asset_path` checks the file's sha256
# before we load it. The file stores its own list of characters, because the
# documentation, and so the set of characters, changes between Python versions.
# The cell prints its loss on our validation text beside the baselines (on
# another Python version the split moves, and the figure may be optimistic).

# %%
class CharTransformer(nn.Module):
    """Token ids (N, T) -> next-token logits (N, T, V), from PyTorch's modules."""

    def __init__(self, vocab_size, context_length, d_model, nhead, num_layers,
                 dim_feedforward):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, d_model)
        self.position_embedding = nn.Embedding(context_length, d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward,
                                           dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers,
                                             enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        self.head.weight = self.token_embedding.weight

    def forward(self, idx):
        length = idx.shape[1]
        causal = nn.Transformer.generate_square_subsequent_mask(
            length, device=idx.device, dtype=self.norm.weight.dtype)
        h = self.token_embedding(idx) + self.position_embedding.weight[:length]
        h = self.encoder(h, mask=causal, is_causal=True)
        return self.head(self.norm(h))


saved = torch.load(asset_path("ch23_tinygpt.pt"), map_location=device,
                   weights_only=True)
pre_chars = saved["chars"]  # the pretrained model's vocabulary: id -> character
pretrained = CharTransformer(len(pre_chars), **saved["config"]).to(device)
pretrained.load_state_dict(saved["state_dict"])  # float16 -> float32
print(f"pretrained: {sum(p.numel() for p in pretrained.parameters()):,} "
      f"parameters, {len(pre_chars)} characters, {saved['num_steps']:,} steps "
      f"of {saved['batch_size']} windows; {saved['config']}")

# the notebook's validation text in the pretrained model's ids, if it can spell it
to_pretrained = torch.tensor([pre_chars.index(c) if c in pre_chars else -1
                              for c in chars])
pre_val_text = to_pretrained[val_text]
if (pre_val_text >= 0).all():
    pre_val_loss = validation_loss(pretrained, pre_val_text)
    pre_val_loss_64 = validation_loss(pretrained, pre_val_text, window=64)
    print(f"validation loss on the same windows of {CONTEXT} characters as "
          f"TinyGPT: {pre_val_loss:.3f}; on windows of 64: {pre_val_loss_64:.3f}")
else:  # another Python version: a character it never saw
    pre_val_loss = saved["val_loss"]
    print("this Python's documentation has characters the pretrained model never "
          f"saw; its own held-out loss (windows of 64): {pre_val_loss:.3f}")
pretrained.eval()
print(f"unigram {unigram_loss:.3f}, bigram {bigram_loss:.3f}, "
      f"pretrained {pre_val_loss:.3f} nats/char")

# %% [markdown]
# The cell below samples 200 characters from both models, with the same prompt
# and seed, under three rules: greedy ($\tau = 0$), $\tau = 0.8$ with top-10,
# and $\tau = 1.3$ without top-$k$. To put a number on "readable", it counts how
# many of the sampled words (runs of two or more letters) occur in the corpus.

# %%
@torch.no_grad()
def generate(model, vocab, prompt, num_chars, temperature=0.8, top_k=None, seed=0):
    """Continue prompt by num_chars characters sampled from model.

    vocab is the model's list of characters (token id -> character)."""
    index = {c: i for i, c in enumerate(vocab)}
    context = model.position_embedding.num_embeddings  # C
    was_training = model.training
    model.eval()
    generator = torch.Generator(device=device).manual_seed(seed)
    ids = torch.tensor([[index[c] for c in prompt]], device=device)
    for _ in range(num_chars):
        logits = model(ids[:, -context:])[:, -1]  # (1, V)
        next_id = sample_next_token(logits, temperature, top_k, generator)
        ids = torch.cat([ids, next_id[:, None]], dim=1)
    model.train(was_training)
    return "".join(vocab[i] for i in ids[0].tolist())


known_words = set(re.findall(r"[A-Za-z]{2,}", corpus))


def known_fraction(text):
    """The fraction of the words (runs of 2 or more letters) that occur in corpus."""
    words = re.findall(r"[A-Za-z]{2,}", text)
    return sum(w in known_words for w in words) / max(len(words), 1)


def show_text(title, text):
    print(f"{title}: {known_fraction(text[4:]):.0%} of its words in the corpus")
    shown = text.replace("\n", "\u21b5")  # line breaks as arrows, long runs
    shown = re.sub(r" {3,}", lambda run: f"[{len(run.group())} spaces]", shown)
    print(textwrap.indent(textwrap.fill(shown, 84), "    "))


rules = [(0.0, None), (0.8, 10), (1.3, None)]  # (temperature, top_k)
pretrained_samples = [generate(pretrained, pre_chars, "The ", 200, t, k)
                      for t, k in rules]
own_samples = [generate(gpt, chars, "The ", 200, t, k) for t, k in rules]
for (t, k), own, pre in zip(rules, own_samples, pretrained_samples, strict=True):
    print(f"=== temperature {t}, top_k {k} ===")
    show_text(f"TinyGPT, {NUM_STEPS} steps", own)
    show_text(f"pretrained, {saved['num_steps']:,} steps", pre)
print(f"\nvalidation loss (nats/char): unigram {unigram_loss:.3f}, bigram "
      f"{bigram_loss:.3f}, TinyGPT {gpt_val_loss:.3f}, pretrained {pre_val_loss:.3f}")

# %% [markdown]
# In our run the pretrained model's loss was 1.318 nats per character on the
# same 32-character windows (1.269 on windows of 64, its own context), against
# 1.827 for the 400-step TinyGPT, and it shows in the text: at $\tau = 0.8$
# with top-10, 88 % of its words occur in the corpus, against 42 % for TinyGPT.
# The rules matter as much as the model. Greedy decoding is safe but loops (the
# small model repeats one phrase, the pretrained one ends in a run of spaces);
# $\tau = 1.3$ without top-$k$ lets the long tail in, and even the better model
# starts to invent words.
#
# Move the temperature and $k$ to see them act on the pretrained model. The bars
# show its distribution of the character after the prompt "The value of " (grey
# bars are cut by top-$k$), and the text a sample of 200 characters with these
# settings.

# %%
def show_sampling(temperature=0.8, top_k=10, seed=0):
    prompt = "The value of "
    with torch.no_grad():
        x = torch.tensor([[pre_chars.index(c) for c in prompt]], device=device)
        logits = pretrained(x)[:, -1].cpu().double()
    t = max(temperature, 1e-3)
    probs = torch.softmax(logits / t, dim=-1)[0]
    kept = logits[0] >= logits[0].sort(descending=True).values[top_k - 1]
    filtered = torch.where(kept, probs, 0.0)
    filtered = filtered / filtered.sum()
    order = probs.argsort(descending=True)[:20]
    labels = [repr(pre_chars[i])[1:-1] for i in order]
    fig, (ax_bar, ax_text) = plt.subplots(2, 1, figsize=(8, 6),
                                          gridspec_kw={"height_ratios": [1, 1.2]})
    ax_bar.bar(labels, probs[order].numpy(), color="lightgray",
               label="softmax(z / T)")
    ax_bar.bar(labels, filtered[order].numpy(), width=0.5, color="tab:blue",
               label=f"after top-{top_k}")
    ax_bar.set(ylim=(0, 1), xlabel="next character", ylabel="probability",
               title=f"After {prompt!r}: T = {temperature:.2f}, k = {top_k}")
    ax_bar.legend()
    text = generate(pretrained, pre_chars, prompt, 200, temperature, top_k, seed)
    wrapped = "\n".join(textwrap.wrap(text.replace("\n", " "), 80))
    ax_text.text(0, 1, wrapped, va="top", family="monospace", fontsize=9)
    ax_text.set_title(f"A sample: {known_fraction(text):.0%} of its words are "
                      "in the corpus")
    ax_text.axis("off")
    fig.tight_layout()
    return fig


interactive_plot(show_sampling, temperature=(0.0, 2.0, 0.1),
                 top_k=(1, len(pre_chars), 1), seed=(0, 9, 1))

# %% [markdown]
# ## 23.6 BERT: masked language modelling
#
# A bidirectional model cannot be trained to predict the next token: every
# position sees the answer. BERT instead corrupts its input and predicts the
# original tokens at the corrupted positions. Each position is **selected**
# independently with probability 15 %; a selected token is
#
# - replaced by the `[MASK]` token with probability 80 %,
# - replaced by a random token (uniform over the vocabulary) with probability
#   10 %,
# - left unchanged with probability 10 %.
#
# The loss is the cross-entropy at the selected positions only. The labels hold
# the original token there and $-100$ elsewhere: `F.cross_entropy` ignores
# targets equal to its `ignore_index`, which is $-100$ by default.
#
# Why not always `[MASK]`? The `[MASK]` token never appears when the model is
# fine-tuned or used, so a model that only learned "predict at `[MASK]`" would
# not need good representations of ordinary tokens. The random 10 % forces it
# to doubt every input token; the unchanged 10 % keeps its representation of the
# true token close to the input. Only 15 % of the positions give a training
# signal, one reason why ELECTRA (2020) replaced the task with detecting
# replaced tokens at every position.
#
# ### Exercise 4: `mlm_mask` (3 points)
#
# Write the corruption. Draw every random number from the given generator, on
# the tokens' device. The tests corrupt a large tensor and compare the
# proportions with 15 % and 80/10/10, within a few standard deviations.

# %% grade_id="ch23-mlm-mask"
def mlm_mask(tokens, mask_id, vocab_size, generator=None):
    """BERT's masked-language-model corruption.

    Args:
        tokens: int64 tensor of any shape (for example (N, T)), with ids in
            [0, vocab_size).
        mask_id: int, the id of the [MASK] token, in [0, vocab_size).
        vocab_size: int V >= 1.
        generator: a torch.Generator on tokens' device, or None (the global
            generator). Every random draw uses it.

    Each position is selected independently with probability 0.15. A selected
    position becomes mask_id with probability 0.8, a random id drawn uniformly
    from [0, V) with probability 0.1 (it may equal the original or mask_id,
    as in BERT), and keeps its original token with probability 0.1. Positions
    not selected keep their token.

    Returns:
        (inputs, labels), two int64 tensors of the shape of tokens on its
        device: inputs is the corrupted sequence; labels holds the original
        token at the selected positions and -100 (F.cross_entropy's default
        ignore_index) elsewhere. tokens is not modified.
    """
    ### BEGIN SOLUTION
    def uniform():
        return torch.rand(tokens.shape, generator=generator, device=tokens.device)

    selected = uniform() < 0.15
    labels = torch.where(selected, tokens, torch.full_like(tokens, -100))
    action = uniform()
    to_mask = selected & (action < 0.8)
    to_random = selected & (action >= 0.8) & (action < 0.9)
    random_ids = torch.randint(0, vocab_size, tokens.shape, generator=generator,
                               device=tokens.device)
    inputs = torch.where(to_mask, torch.full_like(tokens, mask_id), tokens)
    inputs = torch.where(to_random, random_ids, inputs)
    return inputs, labels
    ### END SOLUTION


# %%
# Try it: 2 sequences of 12 tokens, vocabulary of 30, [MASK] = 29
toks = torch.randint(0, 29, (2, 12), generator=torch.Generator().manual_seed(0))
inp, lab = mlm_mask(toks, 29, 30, torch.Generator().manual_seed(1))
print("tokens:", toks.tolist())
print("inputs:", inp.tolist())
print("labels:", lab.tolist())

# %% grade_id="ch23-mlm-mask-tests" points=3
"""mlm_mask: on 300,000 tokens on `device`, about 15 % selected, of which about
80 % [MASK], 10 % a random id and 10 % unchanged (within 5 standard deviations);
labels == the original at selected positions and -100 elsewhere; unselected
positions unchanged; random ids in [0, V), every id occurring when each is
expected more than 20 times; int64 on the tokens' device, same shape (2-D and
3-D tokens); tokens unchanged; the same seeded generator gives the same result."""


def _check_mlm(shape, vocab, mask_id, seed, where, name):
    gen = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, vocab, shape, generator=gen)
    tokens[tokens == mask_id] = (mask_id + 1) % vocab  # no [MASK] in the input
    tokens = tokens.to(where)
    kept = tokens.clone()
    inputs, labels = mlm_mask(tokens, mask_id, vocab,
                              torch.Generator(where).manual_seed(seed))
    assert_close(tokens, kept, rtol=0, atol=0, name=f"{name}: tokens modified")
    for what, got in (("inputs", inputs), ("labels", labels)):
        assert_shape(got, tokens.shape, name=f"{name}: {what}")
        assert got.dtype == torch.int64 and got.device == tokens.device, (
            f"{name}: {what} {got.dtype} on {got.device}, expected int64 on "
            f"{tokens.device}")
    assert ((labels == -100) | ((labels >= 0) & (labels < vocab))).all(), (
        f"{name}: labels must be -100 (ignored position) or a token id in [0, V)")
    selected = labels != -100
    assert (labels[selected] == tokens[selected]).all(), (
        f"{name}: labels at selected positions must be the original tokens")
    assert (inputs[~selected] == tokens[~selected]).all(), (
        f"{name}: positions with label -100 must keep their token")
    assert ((inputs >= 0) & (inputs < vocab)).all(), f"{name}: ids out of [0, V)"
    total, chosen = tokens.numel(), selected.sum().item()
    frac = chosen / total
    assert abs(frac - 0.15) < 5 * math.sqrt(0.15 * 0.85 / total) + 1e-3, (
        f"{name}: {frac:.4f} of the positions selected, expected about 0.15")
    masked = (inputs[selected] == mask_id).double().mean().item()
    same = (inputs[selected] == tokens[selected]).double().mean().item()
    other = 1 - masked - same
    for what, got, want in (("[MASK]", masked, 0.8), ("random", other, 0.1),
                            ("unchanged", same, 0.1)):
        tol = 5 * math.sqrt(want * (1 - want) / chosen) + 2 / vocab
        assert abs(got - want) < tol, (
            f"{name}: {got:.4f} of the selected positions {what}, expected about "
            f"{want} (80 % [MASK], 10 % random, 10 % unchanged)")
    randoms = inputs[selected & (inputs != mask_id) & (inputs != tokens)]
    assert randoms.unique().numel() > 0.5 * vocab, (
        f"{name}: the random ids take only {randoms.unique().numel()} of {vocab} "
        "values; expected them drawn uniformly from [0, V)")
    if 0.1 * chosen / vocab > 20:  # each id expected > 20 times: all must occur
        missing = sorted(set(range(vocab)) - {mask_id} - set(randoms.tolist()))
        assert not missing, (
            f"{name}: the random ids never take the values {missing[:8]}; "
            "expected them drawn uniformly from [0, V), V - 1 included")
    again = mlm_mask(tokens, mask_id, vocab, torch.Generator(where).manual_seed(seed))
    assert (again[0] == inputs).all() and (again[1] == labels).all(), (
        f"{name}: the same seeded generator gave a different result")


_check_mlm((300, 1000), 200, 199, 0, device, "tokens (300, 1000), V=200")
_check_mlm((600, 500), 50, 3, 1, "cpu", "tokens (600, 500), V=50, [MASK]=3")
_check_mlm((4, 3, 20001), 61, 60, 2, device, "tokens (4, 3, 20001), V=61")
### BEGIN HIDDEN TESTS
_check_mlm((1, 250001), 97, 0, 7, device, "tokens (1, 250001), V=97, [MASK]=0")
_check_mlm((2, 7, 21001), 131, 60, 8, device, "tokens (2, 7, 21001), V=131")
_check_mlm((90001,), 301, 300, 9, device, "tokens (90001,), V=301, [MASK]=300")
### END HIDDEN TESTS

# %% [markdown]
# ## 23.7 The encoder-decoder block
#
# In T5 (and the original Transformer) the decoder's blocks have **three**
# sub-layers. In pre-norm form:
#
# $$\begin{aligned}
# x_1 &= x + \operatorname{SelfAttn}\big(\operatorname{LN}_1(x)\big)
#   &&\text{causal, over the target written so far,}\\
# x_2 &= x_1 + \operatorname{CrossAttn}\big(\operatorname{LN}_2(x_1),\,
#   m,\, m\big) &&\text{queries from the decoder, keys and values from the
#   encoder output } m,\\
# y &= x_2 + \operatorname{FFN}\big(\operatorname{LN}_3(x_2)\big).
# \end{aligned}$$
#
# The encoder output $m$ has its own length $S$, which need not equal $T$, and is
# not normalised again by the decoder (the encoder ends with its own final
# norm). Cross-attention has no causal mask: every target position may read
# the whole source. It may need a **padding** mask over the $S$ source
# positions when the sources of a batch have different lengths. (T5 itself uses
# RMSNorm and relative position biases instead of LayerNorm and absolute
# positions; the structure is the same.)
#
# ### Exercise 5: `DecoderBlock` (4 points)
#
# Build it with the attribute names of `nn.TransformerDecoderLayer`. The tests
# compare it with `nn.TransformerDecoderLayer(d_model, nhead, dim_feedforward,
# dropout=0.0, activation="gelu", batch_first=True, norm_first=True)` called with
# a causal target mask and a memory padding mask, outputs and gradients (of the
# target, of the memory and of every parameter). Calling
# `nn.TransformerDecoderLayer` is forbidden.

# %% grade_id="ch23-decoder-block"
class DecoderBlock(nn.Module):
    """A pre-norm Transformer decoder block with cross-attention, no dropout.

    N is the batch size, T the target length, S the source (memory) length,
    D = d_model, F = dim_feedforward.

        x = tgt + self_attn(h, h, h, attn_mask=causal)[0],   h = norm1(tgt)
        x = x + multihead_attn(norm2(x), memory, memory,
                               key_padding_mask=memory_key_padding_mask)[0]
        out = x + linear2(gelu(linear1(norm3(x))))

    Submodules, exactly these names (as nn.TransformerDecoderLayer, no other
    parameters or buffers):
        self_attn, multihead_attn: nn.MultiheadAttention(D, nhead,
            batch_first=True) each.
        linear1: nn.Linear(D, F).      linear2: nn.Linear(F, D).
        norm1, norm2, norm3: nn.LayerNorm(D).

    Args:
        d_model: D, int >= 1, divisible by nhead.
        nhead: int >= 1.
        dim_feedforward: F, int >= 1.

    forward(tgt, memory, memory_key_padding_mask=None):
        tgt: (N, T, D), floating point with the block's dtype and device.
        memory: (N, S, D), the encoder's output, same dtype and device; it is
            not normalised by this block.
        memory_key_padding_mask: None, or bool (N, S) with True at padding
            positions of memory (nn.TransformerDecoderLayer's convention);
            every row has at least one False.
        Returns (N, T, D), same dtype and device as tgt; output t depends on
        tgt[:, :t + 1] and on all of memory. The activation is the exact
        GELU. Identical in training and evaluation mode.

    Forbidden: nn.TransformerDecoderLayer and nn.TransformerDecoder (their
    forward). nn.MultiheadAttention, nn.LayerNorm and F.gelu are allowed.
    """

    def __init__(self, d_model, nhead, dim_feedforward):
        super().__init__()
        ### BEGIN SOLUTION
        self.self_attn = nn.MultiheadAttention(d_model, nhead, batch_first=True)
        self.multihead_attn = nn.MultiheadAttention(d_model, nhead, batch_first=True)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        ### END SOLUTION

    def forward(self, tgt, memory, memory_key_padding_mask=None):
        ### BEGIN SOLUTION
        length = tgt.shape[1]
        future = torch.ones(length, length, dtype=torch.bool,
                            device=tgt.device).triu(1)
        h = self.norm1(tgt)
        x = tgt + self.self_attn(h, h, h, attn_mask=future, need_weights=False)[0]
        x = x + self.multihead_attn(self.norm2(x), memory, memory,
                                    key_padding_mask=memory_key_padding_mask,
                                    need_weights=False)[0]
        return x + self.linear2(F.gelu(self.linear1(self.norm3(x))))
        ### END SOLUTION


# %%
# Try it: 2 targets of length 4 reading sources of length 6
block = DecoderBlock(16, 4, 64)
print("output:", tuple(block(torch.randn(2, 4, 16), torch.randn(2, 6, 16)).shape))

# %% grade_id="ch23-decoder-block-tests" points=4
"""DecoderBlock: state_dict keys of nn.TransformerDecoderLayer; with its
weights loaded, outputs and gradients (tgt, memory, parameters) ==
nn.TransformerDecoderLayer(dropout=0.0, activation="gelu", batch_first=True,
norm_first=True) with a causal tgt_mask, with and without a memory padding mask
(True = padding), S != T, training and evaluation mode, float32 on the CPU and
float64 on `device`, T = 1 included; no nn.TransformerDecoderLayer."""
_banned_decoder = ("torch.nn.TransformerDecoderLayer.forward",
                   "torch.nn.TransformerDecoder.forward")


def _reference_decoder(d_model, nhead, ff, gen):
    ref = nn.TransformerDecoderLayer(d_model, nhead, ff, dropout=0.0,
                                     activation="gelu", batch_first=True,
                                     norm_first=True)
    with torch.no_grad():  # random norms and biases: swapped norms must show
        for p in ref.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(p.shape[-1]))
    return ref


def _check_decoder(d_model, nhead, ff, n, length, source, dtype, where, seed,
                   padding=False):
    name = (f"DecoderBlock({d_model}, {nhead}, {ff}) on tgt ({n}, {length}, "
            f"{d_model}), memory ({n}, {source}, {d_model}), {dtype}"
            + (", memory padding mask" if padding else ""))
    gen = torch.Generator().manual_seed(seed)
    ref = _reference_decoder(d_model, nhead, ff, gen).to(where, dtype)
    mine = DecoderBlock(d_model, nhead, ff).to(where, dtype)
    want_keys, got_keys = sorted(ref.state_dict()), sorted(mine.state_dict())
    assert got_keys == want_keys, (
        f"{name}: state_dict keys {got_keys}, expected {want_keys}")
    mine.load_state_dict(ref.state_dict())
    tgt = torch.randn(n, length, d_model, generator=gen, dtype=dtype).to(where)
    memory = torch.randn(n, source, d_model, generator=gen, dtype=dtype).to(where)
    pad = None
    if padding:
        pad = torch.rand(n, source, generator=gen) < 0.4
        pad[:, 0] = False
        pad = pad.to(where)
    mask = nn.Transformer.generate_square_subsequent_mask(length, device=where,
                                                          dtype=dtype)
    tol = 1e-10 if dtype == torch.float64 else 1e-4
    for mode in ("train", "eval"):
        mine.train(mode == "train")
        ref.train(mode == "train")
        mine.zero_grad()
        ref.zero_grad()
        inputs_mine = [tgt.clone().requires_grad_(True),
                       memory.clone().requires_grad_(True)]
        inputs_ref = [tgt.clone().requires_grad_(True),
                      memory.clone().requires_grad_(True)]
        with forbid(*_banned_decoder):
            got = mine(*inputs_mine, memory_key_padding_mask=pad)
        want = ref(*inputs_ref, tgt_mask=mask, tgt_is_causal=True,
                   memory_key_padding_mask=pad)
        assert_shape(got, want.shape, name=name)
        assert_close(got, want, rtol=tol, atol=tol, name=f"{name}, {mode} mode")
        assert got.device == tgt.device and got.dtype == dtype, (
            f"{name}: output {got.dtype} on {got.device}")
        upstream = torch.randn(want.shape, generator=gen, dtype=dtype).to(where)
        (got * upstream).sum().backward()
        (want * upstream).sum().backward()
        for what, a, b in zip(("tgt", "memory"), inputs_mine, inputs_ref,
                              strict=True):
            assert_close(a.grad, b.grad, rtol=tol, atol=tol,
                         name=f"{name}, {mode} mode: gradient of {what}")
        ref_params = dict(ref.named_parameters())
        for key, p in mine.named_parameters():
            assert_close(p.grad, ref_params[key].grad, rtol=tol, atol=tol,
                         name=f"{name}, {mode} mode: gradient of {key}")


block = DecoderBlock(8, 2, 12)
assert isinstance(block, nn.Module), "DecoderBlock must subclass nn.Module"
_check_decoder(8, 2, 12, 2, 5, 3, torch.float32, "cpu", seed=0)
_check_decoder(6, 3, 10, 3, 4, 7, torch.float64, device, seed=1, padding=True)
_check_decoder(6, 2, 5, 2, 1, 6, torch.float64, device, seed=2)
### BEGIN HIDDEN TESTS
for _seed, _args in enumerate([(4, 1, 3, 1, 1, 1), (9, 3, 7, 1, 6, 5),
                               (10, 5, 17, 4, 3, 8), (12, 4, 8, 2, 9, 2)]):
    _check_decoder(*_args, torch.float64, device, seed=30 + _seed,
                   padding=_args[5] > 1)
### END HIDDEN TESTS

# %% [markdown]
# A T5-like model then needs no new parts: token embeddings shared by both
# stacks, an encoder of bidirectional blocks (chapter 11's `TransformerBlock`,
# or a pre-norm version) with a final norm, a decoder of `DecoderBlock`s with a
# final norm, and a head. The cell wires a small one from your blocks
# (the encoder uses PyTorch's pre-norm encoder layer) and checks the two
# properties that make it an encoder-decoder: changing a *later* target token
# leaves the earlier outputs unchanged, while changing *any* source token
# changes them all.

# %%
class TinySeq2Seq(nn.Module):
    """Source ids (N, S) and target ids (N, T) -> logits (N, T, V)."""

    def __init__(self, vocab_size, context_length, d_model, nhead, num_layers, ff):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d_model)
        self.positions = nn.Embedding(context_length, d_model)
        self.encoder = nn.ModuleList(
            nn.TransformerEncoderLayer(d_model, nhead, ff, dropout=0.0,
                                       activation="gelu", batch_first=True,
                                       norm_first=True)
            for _ in range(num_layers))
        self.decoder = nn.ModuleList(DecoderBlock(d_model, nhead, ff)
                                     for _ in range(num_layers))
        self.encoder_norm = nn.LayerNorm(d_model)
        self.decoder_norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        self.head.weight = self.embedding.weight

    def embed(self, ids):
        return self.embedding(ids) + self.positions.weight[:ids.shape[1]]

    def forward(self, source, target):
        memory = self.embed(source)
        for layer in self.encoder:
            memory = layer(memory)
        memory = self.encoder_norm(memory)
        x = self.embed(target)
        for block in self.decoder:
            x = block(x, memory)
        return self.head(self.decoder_norm(x))


torch.manual_seed(0)
seq2seq = TinySeq2Seq(20, 16, 32, 4, 2, 64).eval()
source = torch.randint(0, 20, (1, 9))
target = torch.randint(0, 20, (1, 6))
with torch.no_grad():
    base = seq2seq(source, target)
    later = target.clone()
    later[0, 4] = (later[0, 4] + 1) % 20
    changed_source = source.clone()
    changed_source[0, -1] = (changed_source[0, -1] + 1) % 20
    by_target = (seq2seq(source, later) - base).abs().amax(-1)[0]
    by_source = (seq2seq(changed_source, target) - base).abs().amax(-1)[0]
print("change target token 4 -> largest change of each output position:",
      [f"{v:.1e}" for v in by_target.tolist()])
print("change the last source token -> largest change of each output position:",
      [f"{v:.1e}" for v in by_source.tolist()])

# %% [markdown]
# ## 23.8 Counting GPT-2's parameters
#
# GPT-2 small has $V = 50257$ tokens (byte-pair encoding), a context of
# $C = 1024$, $D = 768$, 12 heads, 12 blocks and $F = 4D = 3072$. Per block:
#
# - attention: $3D^2 + 3D$ (query, key and value projections with biases) plus
#   $D^2 + D$ (output projection): $4D^2 + 4D$;
# - feed-forward: $DF + F + FD + D$;
# - two layer norms: $4D$.
#
# Plus the embeddings $VD + CD$, the final norm $2D$, and a head that costs
# nothing, because it is tied. Built on the `meta` device, your `TinyGPT` has
# the shapes of GPT-2 without allocating its half a gigabyte of weights.

# %%
def count_parameters(module):
    return sum(p.numel() for p in module.parameters())


V, C, D, H, L, FF = 50257, 1024, 768, 12, 12, 3072
with torch.device("meta"):
    gpt2 = TinyGPT(V, C, D, H, L, FF)
per_block = 4 * D * D + 4 * D + 2 * D * FF + FF + D + 4 * D
formula = V * D + C * D + L * per_block + 2 * D
print(f"TinyGPT at GPT-2 small's sizes: {count_parameters(gpt2):,} parameters")
print(f"formula:                        {formula:,}")
print(f"  embeddings {V * D + C * D:,}, blocks {L * per_block:,} "
      f"({per_block:,} each), final norm {2 * D:,}")
print(f"an untied head would add        {V * D:,}")
assert count_parameters(gpt2) == formula == 124_439_808

# %% [markdown]
# The same formula explains how the sizes grow: the blocks cost about
# $12 L D^2$, so doubling the width quadruples them, and the embedding costs
# $VD$, which dominates small models with large vocabularies. The cell below
# applies the formula to the four GPT-2 sizes (all with $F = 4D$; the heads do
# not change the count) and compares them with the published sizes: 124, 355,
# 774 and 1,558 million.

# %%
sizes = {"small": (768, 12), "medium": (1024, 24), "large": (1280, 36),
         "xl": (1600, 48)}
fig, ax = plt.subplots(figsize=(6.5, 3.8))
for position, (label, (width, depth)) in enumerate(sizes.items()):
    embed = V * width + C * width
    blocks = depth * (12 * width * width + 13 * width)
    print(f"GPT-2 {label:6s}: D={width:4d}, L={depth:2d}: "
          f"{(embed + blocks + 2 * width) / 1e6:7.1f} million parameters")
    ax.bar(position, embed / 1e6, color="tab:orange",
           label="embeddings" if position == 0 else None)
    ax.bar(position, blocks / 1e6, bottom=embed / 1e6, color="tab:blue",
           label="blocks" if position == 0 else None)
ax.set_xticks(range(len(sizes)), list(sizes))
ax.set(xlabel="GPT-2 model", ylabel="parameters (millions)",
       title="Where GPT-2's parameters are")
ax.legend()
plt.show()

# %% [markdown]
# ## 23.9 Summary
#
# - Encoder-only (BERT), decoder-only (GPT) and encoder-decoder (T5) models use
#   the same block; they differ in the attention mask and the training task.
# - GPT-2's **pre-norm** block adds each sub-layer's output to an untouched
#   residual stream and needs a final layer norm; its gradients reach the first
#   block undamaged, unlike a deep post-norm stack.
# - Pass masks to `nn.MultiheadAttention` **by keyword**: the fourth positional
#   argument is the key padding mask, and a causal mask passed there can be
#   silently wrong.
# - A decoder-only model trains on all $T$ next-token predictions of a window in
#   one pass; a 2-block TinyGPT trained for seconds beats the unigram and bigram
#   baselines on Python's documentation, and minutes of training of a slightly
#   larger model turn its half-spelled text into mostly real words.
# - Temperature and top-$k$ trade variety for safety; ties at the $k$-th value
#   need a rule, and a threshold keeps all of them.
# - BERT's corruption selects 15 % of the positions, of which 80 % become
#   `[MASK]`, 10 % a random token and 10 % stay; the loss ignores the others
#   through the label $-100$.
# - The decoder block of an encoder-decoder model adds cross-attention, whose
#   queries come from the target and keys and values from the encoder.
# - GPT-2 small's 124,439,808 parameters are the embeddings, 12 identical blocks
#   and a final norm, with the head tied to the embedding.
#
# **Next:** chapter 24 is about training such models efficiently: learning-rate
# warm-up and cosine schedules, gradient accumulation, mixed precision and
# data-parallel training over several processes.
