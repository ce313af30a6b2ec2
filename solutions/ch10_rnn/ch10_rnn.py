# %% [markdown]
# # Chapter 10: Recurrent networks (RNN, LSTM, GRU)
#
# Text, speech, sensor readings and stock prices arrive one step after another,
# and their meaning depends on the order: "dog bites man" is not "man bites dog".
# A multi-layer perceptron takes a fixed number of inputs and a convolution sees a
# fixed window; neither reads a sequence of any length while keeping a memory of
# what came before. A **recurrent network** does exactly that. It applies the same
# small network (a *cell*) at every time step, and the cell passes a *hidden
# state* from one step to the next: a summary of everything read so far. This
# chapter builds the three classic cells (the plain RNN, the LSTM and the GRU)
# with PyTorch's exact conventions, measures why the plain one forgets, runs cells
# over sequences in both directions, pools their outputs with attention, and ends
# with a character-level language model that writes English-looking text after
# 500 training steps.
#
# **You will learn**
# - the recurrence $h_t = f(x_t, h_{t-1})$, weight sharing over time, and what
#   *unrolling* a network means;
# - PyTorch's tensor layouts for sequences (`batch_first`), and what `nn.RNN`,
#   `nn.LSTM` and `nn.GRU` return;
# - backpropagation through time, and why gradients vanish or explode over long
#   sequences (measured, not just stated);
# - the LSTM: gates, the cell state and why it keeps gradients alive; the GRU and
#   its two conventions;
# - bidirectional networks, padding and packed sequences;
# - attention pooling over the outputs of a recurrent network, with a correct
#   padding mask;
# - how to train, evaluate (in nats per character, against baselines) and sample
#   from a character-level language model;
# - where recurrent networks stand next to transformers today.
#
# **Graded exercises** (16 points)
#
# | exercise | points |
# |---|---|
# | `rnn_cell(x, h, W_ih, W_hh, b_ih=None, b_hh=None)` | 2 |
# | `LSTMCell(input_size, hidden_size)` | 4 |
# | `GRUCell(input_size, hidden_size)` | 3 |
# | `LSTM(input_size, hidden_size, bidirectional=False)` | 4 |
# | `attention_pooling(outputs, scores, lengths=None)` | 3 |
#
# Each exercise is a function or a module whose docstring states its whole
# contract: shapes, dtypes, devices, edge cases and the built-ins you may not
# call. Replace `raise NotImplementedError()` with your code and run the test cell
# below it. The visible tests show every rule the grader checks; hidden tests
# repeat them on other values, shapes and seeds.
#
# Letters used throughout: $N$ is the batch size, $T$ the sequence length, $I$ the
# input size (features per step) and $H$ the hidden size. $\sigma$ is the logistic
# sigmoid and $\odot$ the elementwise product.

# %%
import math
import re
import textwrap

import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse import get_device, progress, set_seed
from dlcourse.checks import (
    RECURRENT_CELLS,
    assert_close,
    assert_shape,
    expect_raises,
    forbid,
)
from dlcourse.data import load_python_docs_chars
from dlcourse.training import check_bar
from dlcourse.widgets import interactive_plot

device = get_device()  # the tests also run your code on this device
set_seed(0)
print(f"torch {torch.__version__}, device: {device}")

# %% [markdown]
# ## 10.1 Sequences and recurrence
#
# A sequence is a list of vectors $x_0, x_1, \dots, x_{T-1}$, each with $I$
# features: the one-hot codes of the characters of a sentence, the 40 frequency
# bands of each 10 ms of speech, the readings of a sensor every second. $T$ varies
# from one example to the next. We want a model that reads such a list and
# either labels it as a whole (sentiment of a review), labels every step (part of
# speech of every word), or predicts what comes next (a language model).
#
# A recurrent network keeps a **hidden state** $h_t \in \mathbb{R}^H$ and updates
# it with the same function at every step:
#
# $$h_t = f_\theta(x_t, h_{t-1}), \qquad h_{-1} = 0, \qquad
#   y_t = g_\theta(h_t).$$
#
# Three ideas are packed into this line.
#
# - **Memory.** $h_t$ depends on $x_t$ and, through $h_{t-1}$, on every earlier
#   input. It is a fixed-size summary of the past, whatever the length.
# - **Weight sharing over time.** The parameters $\theta$ are the same at every
#   step, just as a convolution uses the same filter at every position. The
#   model has the same number of parameters for $T = 5$ and for $T = 5000$, and
#   what it learns at one position applies at all others.
# - **Unrolling.** Written out for a given $T$, the recurrence is an ordinary
#   feed-forward network with $T$ layers that share their weights. Autograd
#   differentiates it like any other network; this is called
#   **backpropagation through time** (BPTT).
#
# The picture shows the same network twice: folded (one cell with a loop), and
# unrolled over four steps.

# %%
def draw_box(ax, xy, text, color):
    """A labelled rounded box centred at xy."""
    ax.text(*xy, text, ha="center", va="center", fontsize=11,
            bbox=dict(boxstyle="round,pad=0.5", fc=color, ec="black"))


def draw_arrow(ax, start, end, **kwargs):
    ax.annotate("", xy=end, xytext=start,
                arrowprops=dict(arrowstyle="->", lw=1.5, **kwargs))


fig, ax = plt.subplots(figsize=(11, 3.4))
# folded: one cell whose state loops back into it
draw_box(ax, (0, 1), "cell", "lightsteelblue")
draw_box(ax, (0, 0), "$x_t$", "white")
draw_box(ax, (0, 2), "$y_t$", "white")
draw_arrow(ax, (0, 0.25), (0, 0.75))
draw_arrow(ax, (0, 1.25), (0, 1.75))
ax.plot([0.32, 0.7, 0.7], [1.08, 1.08, 0.92], color="black", lw=1.5)
draw_arrow(ax, (0.7, 0.92), (0.32, 0.92))
ax.text(0.78, 1, "$h$", va="center", fontsize=11)
ax.text(1.3, 1, "=", fontsize=22, ha="center", va="center")
# unrolled over four steps: the same cell (same weights) four times
for t in range(4):
    x0 = 2.6 + 1.9 * t
    draw_box(ax, (x0, 1), "cell", "lightsteelblue")
    draw_box(ax, (x0, 0), f"$x_{t}$", "white")
    draw_box(ax, (x0, 2), f"$y_{t}$", "white")
    draw_arrow(ax, (x0, 0.25), (x0, 0.75))
    draw_arrow(ax, (x0, 1.25), (x0, 1.75))
    start = x0 - (0.9 if t == 0 else 1.45)
    draw_arrow(ax, (start, 1), (x0 - 0.4, 1))
    ax.text((start + x0 - 0.4) / 2, 1.12, f"$h_{{{t - 1}}}$", ha="center",
            fontsize=10)
draw_arrow(ax, (x0 + 0.4, 1), (x0 + 1.2, 1))
ax.text(x0 + 0.8, 1.12, "$h_3$", ha="center", fontsize=10)
ax.set(xlim=(-0.6, 10.2), ylim=(-0.5, 2.5),
       title="A recurrent network, folded (left) and unrolled over T = 4 steps "
             "(right): one set of weights")
ax.axis("off")
plt.show()

# %% [markdown]
# Compared with the networks of the previous chapters:
#
# | | MLP | CNN | RNN |
# |---|---|---|---|
# | input length | fixed | any | any |
# | what one output sees | the whole input | its receptive field | the whole past |
# | weights shared over | nothing | positions | time steps |
# | parallel over positions | yes | yes | no: step $t$ waits for $t - 1$ |
#
# The last row is the price of recurrence, and the reason transformers
# (chapter 11) replaced RNNs for most large models: a GPU likes to process all
# positions at once. The first rows are the gain: a recurrent model reads one
# step at a time with constant memory, however long the stream.
#
# ## 10.2 The plain RNN cell
#
# The simplest cell, often called the Elman network, is one dense layer applied to
# the input and the previous state, with a $\tanh$:
#
# $$h_t = \tanh\big(W_{ih}\,x_t + b_{ih} + W_{hh}\,h_{t-1} + b_{hh}\big),
# \qquad W_{ih} \in \mathbb{R}^{H \times I},\; W_{hh} \in \mathbb{R}^{H \times H},
# \; b_{ih}, b_{hh} \in \mathbb{R}^H .$$
#
# This is PyTorch's `nn.RNNCell` exactly. Three details of the convention matter
# when you copy weights:
#
# - The weights are stored as (out, in), like `nn.Linear`: `weight_ih` has shape
#   $(H, I)$, and a batch of row vectors $x$ of shape $(N, I)$ is multiplied as
#   $x W_{ih}^\top$.
# - There are **two biases**. Only their sum matters, so one of them is
#   redundant; PyTorch keeps both, as NVIDIA's cuDNN library does.
#   `bias=False` removes both.
# - $\tanh$ keeps the state in $(-1, 1)$, so it cannot blow up in the forward
#   pass. (`nonlinearity="relu"` exists but is rarely used.)
#
# A separate output layer $y_t = W_{hy} h_t + b_y$ (an `nn.Linear`) turns states
# into predictions; the cell itself only updates the state.

# %% [markdown]
# ### Exercise 1: `rnn_cell` (2 points)
#
# Write one step of the plain RNN as a function of explicit weights. Matrix
# products (`@`, `F.linear`) and `torch.tanh` are allowed; the recurrent
# built-ins are not: the tests forbid the group `RECURRENT_CELLS` of
# `dlcourse.checks` (`torch.rnn_tanh_cell`, `torch.lstm_cell`, `torch.gru_cell`,
# ... and the `forward` of `nn.RNNCell`, `nn.LSTMCell` and `nn.GRUCell`) and
# also the `forward` of `nn.RNN`, `nn.LSTM` and `nn.GRU`. The same holds for
# every exercise of this chapter. The result must match `nn.RNNCell` with the
# same weights.

# %% grade_id="ch10-rnn-cell"
def rnn_cell(x, h, W_ih, W_hh, b_ih=None, b_hh=None):
    """One step of a plain RNN with tanh, like nn.RNNCell.

    N is the batch size (N >= 1), I the input size and H the hidden size.

    Args:
        x: input of this step, floating-point tensor of shape (N, I).
        h: hidden state of the previous step, shape (N, H).
        W_ih: input-to-hidden weights, shape (H, I) (nn.RNNCell.weight_ih).
        W_hh: hidden-to-hidden weights, shape (H, H) (nn.RNNCell.weight_hh).
        b_ih, b_hh: biases of shape (H,), or None for no bias (as in
            nn.RNNCell(..., bias=False), where both are absent).
        All tensors have the same dtype and device.

    Returns:
        The new hidden state tanh(x W_ih^T + b_ih + h W_hh^T + b_hh), a tensor of
        shape (N, H) with the dtype and device of x. The inputs are not modified.
        Matrix products and torch.tanh are allowed; do not call the recurrent
        built-ins (torch.rnn_tanh_cell, nn.RNNCell, nn.RNN, ...: the group
        RECURRENT_CELLS).
    """
    ### BEGIN SOLUTION
    pre = x @ W_ih.T + h @ W_hh.T  # (N, H)
    if b_ih is not None:
        pre = pre + b_ih
    if b_hh is not None:
        pre = pre + b_hh
    return torch.tanh(pre)
    ### END SOLUTION


# %%
# Try it: three sequences (N = 3) of 2 features, a state of 4 units
cell = nn.RNNCell(2, 4)
x_step, h_prev = torch.randn(3, 2), torch.zeros(3, 4)
with torch.no_grad():
    mine = rnn_cell(x_step, h_prev, cell.weight_ih, cell.weight_hh, cell.bias_ih,
                    cell.bias_hh)
    print("rnn_cell:", mine[0])
    print("RNNCell: ", cell(x_step, h_prev)[0])

# %% grade_id="ch10-rnn-cell-tests" points=2
"""rnn_cell: == nn.RNNCell with the same weights, with and without biases (None);
shapes (N, I) and (N, H) with I != H so a transposed weight fails; N = 1; float64
on `device` with the dtype kept; inputs unchanged; no recurrent built-in
(RECURRENT_CELLS and the forward of nn.RNN / nn.LSTM / nn.GRU)."""
_banned = (*RECURRENT_CELLS, "torch.nn.RNN.forward", "torch.nn.LSTM.forward",
           "torch.nn.GRU.forward")


def _check_rnn_cell(N, n_in, H, bias, dtype, where, seed):
    """Compare rnn_cell with nn.RNNCell(n_in, H, bias) on seeded weights and inputs."""
    torch.manual_seed(seed)
    ref = nn.RNNCell(n_in, H, bias=bias).to(where, dtype)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(N, n_in, generator=gen, dtype=dtype).to(where)
    h = torch.randn(N, H, generator=gen, dtype=dtype).to(where)
    args = [x, h, ref.weight_ih.detach(), ref.weight_hh.detach()]
    if bias:
        args += [ref.bias_ih.detach(), ref.bias_hh.detach()]
    saved = [a.clone() for a in args]
    with forbid(*_banned):
        got = rnn_cell(*args)
    with torch.no_grad():
        want = ref(x, h)
    tol = 1e-10 if dtype == torch.float64 else 1e-5
    name = f"rnn_cell(x ({N}, {n_in}), h ({N}, {H}), {'with' if bias else 'no'} bias)"
    assert_close(got, want, rtol=tol, atol=tol, name=f"{name}, {dtype}")
    assert got.device == x.device, f"{name}: result on {got.device}, not {x.device}"
    for a, s in zip(args, saved, strict=True):
        assert torch.equal(a, s), f"{name} modified one of its inputs"


# a hand example: W_ih = [[1], [0]], W_hh = I, biases 0.5 and -0.5 (they cancel)
x = torch.tensor([[2.0]])
h = torch.tensor([[0.0, 1.0]])
with forbid(*_banned):
    got = rnn_cell(x, h, torch.tensor([[1.0], [0.0]]), torch.eye(2),
                   torch.tensor([0.5, 0.5]), torch.tensor([-0.5, -0.5]))
assert_close(got, torch.tanh(torch.tensor([[2.0, 1.0]])),
             name="rnn_cell(x [[2]], h [[0, 1]], ...) = tanh([[2, 1]])")
_check_rnn_cell(3, 4, 5, True, torch.float32, "cpu", seed=0)
_check_rnn_cell(4, 3, 2, False, torch.float32, "cpu", seed=1)  # b_ih = b_hh = None
_check_rnn_cell(1, 2, 3, True, torch.float64, device, seed=2)  # N = 1, float64
### BEGIN HIDDEN TESTS
for _seed, (_N, _I, _H, _bias) in enumerate([(5, 7, 3, True), (1, 6, 9, True),
                                              (2, 1, 4, False), (6, 5, 8, True)]):
    _check_rnn_cell(_N, _I, _H, _bias, torch.float64, device, seed=10 + _seed)
# a sequence, one step at a time from the reference's own state
torch.manual_seed(20)
_ref = nn.RNNCell(3, 5).double().to(device)
_xs = torch.randn(6, 2, 3, dtype=torch.float64).to(device)
_h = torch.zeros(2, 5, dtype=torch.float64, device=device)
with torch.no_grad():
    for _t in range(6):
        with forbid(*_banned):
            _got = rnn_cell(_xs[_t], _h, _ref.weight_ih, _ref.weight_hh,
                            _ref.bias_ih, _ref.bias_hh)
        _h = _ref(_xs[_t], _h)
        assert_close(_got, _h, rtol=1e-10, atol=1e-10,
                     name=f"rnn_cell at step {_t} of a sequence")
### END HIDDEN TESTS

# %% [markdown]
# ### From a cell to a sequence: `nn.RNN`
#
# `nn.RNN` runs the cell over a whole sequence in one call (with a fast fused
# kernel). Its defaults trip up everyone once:
#
# - The input is **time first**, $(T, N, I)$, unless you pass
#   `batch_first=True`, which gives $(N, T, I)$. Only the input and the
#   `outputs` follow `batch_first`; the states never do.
# - It returns `(outputs, h_n)`: `outputs` $(N, T, H)$ holds the state after
#   every step (of the last layer), `h_n` $(L, N, H)$ the state after the last
#   step, one per layer ($L$ = `num_layers`). For a one-layer, one-direction
#   RNN, `outputs[:, -1] == h_n[0]`.
# - An initial state can be passed as a second argument, shape $(L, N, H)$;
#   without it the state starts at zero.
# - Its parameters are named `weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`,
#   `bias_hh_l0` (and `..._l1` for a second layer).
#
# The loop below is what `nn.RNN` computes; it uses your `rnn_cell`.

# %%
rnn = nn.RNN(input_size=3, hidden_size=5, batch_first=True)
x_seq = torch.randn(2, 7, 3)  # (N, T, I)
outputs, h_n = rnn(x_seq)
print("outputs", tuple(outputs.shape), " h_n", tuple(h_n.shape))
print("outputs[:, -1] == h_n[0]:", torch.allclose(outputs[:, -1], h_n[0]))

h = torch.zeros(2, 5)
with torch.no_grad():
    for t in range(x_seq.shape[1]):
        h = rnn_cell(x_seq[:, t], h, rnn.weight_ih_l0, rnn.weight_hh_l0,
                     rnn.bias_ih_l0, rnn.bias_hh_l0)
print("a loop over rnn_cell gives h_n:", torch.allclose(h, h_n[0], atol=1e-6))

# %% [markdown]
# ## 10.3 Backpropagation through time and vanishing gradients
#
# Train a plain RNN on a task where the answer depends on something 50 steps
# back, and it will usually fail. The reason is in the chain rule. Write
# $a_t = W_{ih} x_t + W_{hh} h_{t-1} + b$ and $h_t = \tanh(a_t)$. One step back,
#
# $$\frac{\partial h_t}{\partial h_{t-1}}
#   = \operatorname{diag}\big(1 - h_t^2\big)\, W_{hh} ,$$
#
# and a loss $\mathcal{L}$ computed from the last state $h_T$ reaches the state
# $k$ steps earlier through a product of $k$ such Jacobians:
#
# $$\frac{\partial \mathcal{L}}{\partial h_{T-k}}
#   = \frac{\partial \mathcal{L}}{\partial h_T}
#     \prod_{t=T-k+1}^{T} \operatorname{diag}\big(1 - h_t^2\big) W_{hh} .$$
#
# Since $0 < 1 - h_t^2 \le 1$, each factor has a spectral norm at most
# $\|W_{hh}\|_2$ (the largest singular value). If $\|W_{hh}\|_2 < 1$, the
# gradient shrinks at least geometrically, like $\|W_{hh}\|_2^{\,k}$: it
# **vanishes**, and the weights receive no signal about long-range
# dependencies. If $W_{hh}$ is large, the product can instead grow
# geometrically and the gradient **explodes** (Bengio et al., 1994; Pascanu et al.,
# 2013). The gradient of the loss with respect to $W_{hh}$ is a sum of one term
# per time step, and the terms from far away are the vanishing ones: the network
# learns short-range patterns and nothing else.
#
# Exploding gradients have a blunt, effective fix: **gradient clipping**, which
# rescales the whole gradient when its norm exceeds a threshold
# (`torch.nn.utils.clip_grad_norm_`); the language model of section 10.9 uses
# it. Vanishing gradients need a different architecture: the LSTM.
#
# ### Measuring it
#
# The cell below runs a plain RNN and an LSTM (PyTorch's cells, with their
# default initialisation) over 100 steps of random input, computes a loss from
# the last state only, and measures the norm of its gradient with respect to the
# state at every earlier step. For the LSTM the state is the pair $(h_t, c_t)$
# (section 10.4), and we take the norm over both. The vertical axis is
# logarithmic.

# %%
def state_gradient_norms(cell, xs, lstm):
    """||d loss / d state_t|| for every step t; the loss is the sum of h_T.

    xs: (T, N, I) inputs. The state of an LSTM is the pair (h_t, c_t).
    """
    N, H = xs.shape[1], cell.hidden_size
    h = c = xs.new_zeros(N, H)
    states = []
    for x_t in xs:
        if lstm:
            h, c = cell(x_t, (h, c))
            states.append((h, c))
        else:
            h = cell(x_t, h)
            states.append((h,))
    flat = [s for pair in states for s in pair]
    grads = torch.autograd.grad(h.sum(), flat)
    per_step = len(states[0])
    return [torch.cat([g.reshape(-1) for g in grads[i:i + per_step]]).norm().item()
            for i in range(0, len(grads), per_step)]


def lstm_with_forget_bias(n_in, H, forget_bias):
    """An nn.LSTMCell whose forget gate starts at sigmoid(forget_bias)."""
    lstm_cell = nn.LSTMCell(n_in, H)
    with torch.no_grad():
        lstm_cell.bias_ih[H:2 * H] = forget_bias  # rows H:2H are the forget gate
        lstm_cell.bias_hh[H:2 * H] = 0.0
    return lstm_cell


set_seed(0)
T_long, I_demo, H_demo = 100, 8, 64
xs_demo = torch.randn(T_long, 16, I_demo)  # (T, N, I)
plain = nn.RNNCell(I_demo, H_demo)
radius = torch.linalg.eigvals(plain.weight_hh).abs().max().item()
curves = {
    "plain RNN": state_gradient_norms(plain, xs_demo, lstm=False),
    "LSTM, default init": state_gradient_norms(nn.LSTMCell(I_demo, H_demo), xs_demo,
                                               lstm=True),
    "LSTM, forget bias 1": state_gradient_norms(
        lstm_with_forget_bias(I_demo, H_demo, 1.0), xs_demo, lstm=True),
    "LSTM, forget bias 3": state_gradient_norms(
        lstm_with_forget_bias(I_demo, H_demo, 3.0), xs_demo, lstm=True),
}
print(f"spectral radius of the plain RNN's W_hh at PyTorch's init: {radius:.2f}")
steps_back = torch.arange(T_long).flip(0)  # T - 1 - t: how far back step t is
fig, ax = plt.subplots(figsize=(7.5, 4))
for label, norms in curves.items():
    ax.semilogy(steps_back.numpy(), norms, label=label)
    print(f"{label:22s} gradient norm at the last step {norms[-1]:.2e}, "
          f"99 steps back {norms[0]:.2e}")
ax.set(xlabel="steps back from the loss (T - 1 - t)",
       ylabel="norm of d loss / d state at step t",
       title="Gradient reaching earlier states (100 steps, H = 64)")
ax.legend()
plt.show()

# %% [markdown]
# Read the plot from left (the last step) to right (99 steps back). The plain
# RNN's gradient falls by many orders of magnitude: its $W_{hh}$ starts with a
# spectral radius well below 1 (printed above), and every step multiplies by it
# again. An LSTM at PyTorch's default initialisation vanishes too: its forget
# gate starts near $\sigma(0) = 0.5$, and the cell-state path multiplies the
# gradient by that gate at every step (next section). Starting the forget gate
# open, with a bias of 1 or 3, slows the decay or stops it over the whole
# sequence. This is why many implementations initialise the forget bias to 1
# (Gers et al., 2000; Jozefowicz et al., 2015), and why a trained LSTM, which
# *learns* to hold its forget gate near 1 where it needs memory, can bridge
# hundreds of steps where a plain RNN bridges ten or twenty.
#
# Move the sliders: scale the plain RNN's $W_{hh}$ to a chosen spectral radius,
# and set the LSTM's forget bias. The plain RNN has only a narrow window, a
# radius a little above 1, where its gradient neither vanishes nor explodes
# over 100 steps; from about 1.5 on it grows *backwards* in time instead (it
# explodes). The LSTM only needs an open forget gate.

# %%
def show_gradient_flow(rnn_radius=0.6, forget_bias=0.0):
    torch.manual_seed(1)
    rnn_demo = nn.RNNCell(I_demo, H_demo)
    with torch.no_grad():
        rho = torch.linalg.eigvals(rnn_demo.weight_hh).abs().max()
        rnn_demo.weight_hh.mul_(rnn_radius / rho)
    lstm_demo = lstm_with_forget_bias(I_demo, H_demo, forget_bias)
    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.semilogy(steps_back.numpy(),
                state_gradient_norms(rnn_demo, xs_demo, lstm=False),
                label=f"plain RNN, spectral radius {rnn_radius:.1f}")
    ax.semilogy(steps_back.numpy(),
                state_gradient_norms(lstm_demo, xs_demo, lstm=True),
                label=f"LSTM, forget bias {forget_bias:.1f} "
                      f"(f about {torch.sigmoid(torch.tensor(forget_bias)):.2f})")
    ax.set(xlabel="steps back from the loss", ylabel="gradient norm (log)",
           title="Vanishing and exploding gradients over 100 steps")
    ax.legend(loc="lower left")
    return fig


interactive_plot(show_gradient_flow, rnn_radius=(0.2, 3.0, 0.1),
                 forget_bias=(-2.0, 4.0, 0.5))

# %% [markdown]
# ## 10.4 The LSTM
#
# The **long short-term memory** (Hochreiter and Schmidhuber, 1997; the forget
# gate was added by Gers et al., 2000) keeps a second state, the **cell state**
# $c_t$, and changes it only through elementwise, gated updates. Four vectors of
# size $H$ are computed from the input and the previous hidden state, each with
# its own weights:
#
# $$\begin{aligned}
# i_t &= \sigma\big(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}\big)
#   &&\text{input gate: how much of the candidate to write}\\
# f_t &= \sigma\big(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}\big)
#   &&\text{forget gate: how much of the old cell to keep}\\
# g_t &= \tanh\big(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}\big)
#   &&\text{candidate values, in } (-1, 1)\\
# o_t &= \sigma\big(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}\big)
#   &&\text{output gate: how much of the cell to show}\\
# c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
# h_t &= o_t \odot \tanh(c_t)
# \end{aligned}$$
#
# The gates are sigmoids, numbers between 0 and 1 that act as soft switches; the
# candidate $g_t$ is a $\tanh$ because it is a value to store, which may be
# negative. The hidden state $h_t$ is what the rest of the network sees; the cell
# state $c_t$ is private memory.
#
# **Why it keeps gradients alive.** Along the cell state,
#
# $$\frac{\partial c_t}{\partial c_{t-1}} = \operatorname{diag}(f_t)
#   \;+\; (\text{terms through } h_{t-1} \text{ and the gates}),$$
#
# and the first term involves no weight matrix and no squashing derivative. When
# the forget gate is near 1 and the input gate near 0, the cell copies itself
# forward and the gradient flows back unchanged: the "constant error carousel"
# of the original paper. It is the same idea as the residual connection of
# chapter 9, $y = x + \mathcal{F}(x)$, applied over time, with a learned gate on
# the identity path.
#
# **PyTorch's layout.** `nn.LSTMCell(I, H)` stores the four weight matrices
# stacked in one `weight_ih` of shape $(4H, I)$, and likewise `weight_hh`
# $(4H, H)$, `bias_ih` and `bias_hh` $(4H,)$. The rows come in the order
# **i, f, g, o**: rows $[0, H)$ for the input gate, $[H, 2H)$ for the forget
# gate, $[2H, 3H)$ for the candidate and $[3H, 4H)$ for the output gate. One
# matrix product computes all four pre-activations, $(N, 4H)$, which are then
# split. Other frameworks may stack the gates in another order: check it before
# moving weights between them. Every parameter starts uniform in
# $[-1/\sqrt{H}, 1/\sqrt{H}]$.
#
# An LSTM has four times the parameters of a plain RNN of the same size:
# $4\,(H I + H^2 + 2H)$.

# %% [markdown]
# ### Exercise 2: `LSTMCell` (4 points)
#
# Write the LSTM cell as an `nn.Module` whose parameters have exactly the names
# and shapes of `nn.LSTMCell`, so that `state_dict()`s load both ways: the tests
# copy the weights of a real `nn.LSTMCell` into yours (and yours into one) and
# compare the new states and all the gradients. Create the parameters with
# `nn.Parameter(torch.empty(...))` and initialise them with `nn.init.uniform_`.
#
# One trap is worth a word. When no state is given, the cell starts from zeros,
# and `torch.zeros(N, H)` makes them float32 on the CPU whatever the input is.
# That code works in every CPU float32 test and breaks as soon as the model moves
# to a GPU or to float64 (section 10.6 shows the error). Create the zeros from the
# input: `x.new_zeros(N, H)`, or `torch.zeros(N, H, dtype=x.dtype,
# device=x.device)`.
#
# `torch.sigmoid`, `torch.tanh` and matrix products are allowed; the recurrent
# built-ins are forbidden as in exercise 1.

# %% grade_id="ch10-lstm-cell"
class LSTMCell(nn.Module):
    """An LSTM cell with the parameters, gate order and formulas of nn.LSTMCell.

    I = input_size, H = hidden_size, N the batch size (N >= 1).

    Parameters: exactly these four (no other parameters or buffers), named and
    shaped as in nn.LSTMCell so that state_dicts load both ways:
        weight_ih (4H, I), weight_hh (4H, H), bias_ih (4H,), bias_hh (4H,),
    each initialised uniform in [-1/sqrt(H), 1/sqrt(H)], float32 on the CPU
    (``.to(device, dtype)`` moves them). Rows [0, H) belong to the input gate i,
    [H, 2H) to the forget gate f, [2H, 3H) to the candidate g and [3H, 4H) to the
    output gate o (PyTorch's order i, f, g, o).

    forward(x, state=None):
        x: tensor of shape (N, I) with the dtype and device of the parameters.
        state: a tuple (h, c) of two tensors of shape (N, H), the previous hidden
            and cell states; None means zeros, created with x's dtype and on x's
            device (not torch.zeros(N, H), which is float32 on the CPU).
        Returns a tuple (h_new, c_new), two tensors of shape (N, H) with the dtype
        and device of x:
            gates = x W_ih^T + b_ih + h W_hh^T + b_hh, shape (N, 4H), split into
                    i, f, g, o (in this order) of shape (N, H) each
            i, f, o = sigmoid of their parts; g = tanh of its part
            c_new = f * c + i * g
            h_new = o * tanh(c_new)
        x and the state tensors are not modified. Matrix products, torch.sigmoid
        and torch.tanh are allowed; do not call the recurrent built-ins
        (torch.lstm_cell, nn.LSTMCell, nn.LSTM, ...: the group RECURRENT_CELLS).
    """

    def __init__(self, input_size, hidden_size):
        super().__init__()
        ### BEGIN SOLUTION
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(4 * hidden_size))
        self.bias_hh = nn.Parameter(torch.empty(4 * hidden_size))
        bound = 1 / math.sqrt(hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)
        ### END SOLUTION

    def forward(self, x, state=None):
        ### BEGIN SOLUTION
        if state is None:
            zeros = x.new_zeros(x.shape[0], self.hidden_size)
            state = (zeros, zeros)
        h, c = state
        gates = x @ self.weight_ih.T + self.bias_ih + h @ self.weight_hh.T \
            + self.bias_hh  # (N, 4H)
        i, f, g, o = gates.chunk(4, dim=1)  # (N, H) each, PyTorch's order
        c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h_new = torch.sigmoid(o) * torch.tanh(c_new)
        return h_new, c_new
        ### END SOLUTION


# %%
# Try it: same weights as nn.LSTMCell, same states
reference_cell = nn.LSTMCell(3, 4)
my_cell = LSTMCell(3, 4)
my_cell.load_state_dict(reference_cell.state_dict())  # fails if a name differs
x_step = torch.randn(2, 3)
with torch.no_grad():
    print("LSTMCell:   h =", my_cell(x_step)[0][0])
    print("nn.LSTMCell h =", reference_cell(x_step)[0][0])

# %% grade_id="ch10-lstm-cell-tests" points=4
"""LSTMCell: an nn.Module with exactly the parameters weight_ih (4H, I), weight_hh
(4H, H), bias_ih, bias_hh (4H,) and no buffers, initialised in [-1/sqrt(H),
1/sqrt(H)]; state_dicts copied both ways with nn.LSTMCell; == nn.LSTMCell for new
h and c and for the gradients of x, h, c and every parameter; state=None gives
zeros of x's dtype on x's device; N = 1; float64 on `device`; the state is not
modified; no recurrent built-in."""
_banned = (*RECURRENT_CELLS, "torch.nn.RNN.forward", "torch.nn.LSTM.forward",
           "torch.nn.GRU.forward")


def _expected_cell_parameters(n_in, H, gates):
    return {"weight_ih": (gates * H, n_in), "weight_hh": (gates * H, H),
            "bias_ih": (gates * H,), "bias_hh": (gates * H,)}


def _check_lstm_cell(N, n_in, H, dtype, where, seed, with_state=True, into_mine=True):
    """Copy weights between LSTMCell and nn.LSTMCell; compare states and grads.

    into_mine: copy nn.LSTMCell's state_dict into LSTMCell (else the other way).
    """
    name = f"LSTMCell({n_in}, {H}) on x ({N}, {n_in}), {dtype}"
    torch.manual_seed(seed)
    ref, mine = nn.LSTMCell(n_in, H), LSTMCell(n_in, H)
    if into_mine:
        mine.load_state_dict(ref.state_dict())
    else:
        ref.load_state_dict(mine.state_dict())
    ref, mine = ref.to(where, dtype), mine.to(where, dtype)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(N, n_in, generator=gen, dtype=dtype).to(where)
    h0 = torch.randn(N, H, generator=gen, dtype=dtype).to(where)
    c0 = (2 * torch.randn(N, H, generator=gen, dtype=dtype)).to(where)
    w_h, w_c = (torch.randn(N, H, generator=gen, dtype=dtype).to(where)
                for _ in range(2))
    leaves_ref = [t.clone().requires_grad_(True) for t in (x, h0, c0)]
    leaves_mine = [t.clone().requires_grad_(True) for t in (x, h0, c0)]
    if with_state:
        want = ref(leaves_ref[0], (leaves_ref[1], leaves_ref[2]))
        state = (leaves_mine[1], leaves_mine[2])
        saved = [s.detach().clone() for s in state]
        with forbid(*_banned):
            got = mine(leaves_mine[0], state)
        for s, kept in zip(state, saved, strict=True):
            assert torch.equal(s.detach(), kept), f"{name}: the state was modified"
    else:
        name += ", state=None"
        want = ref(leaves_ref[0])
        with forbid(*_banned):
            got = mine(leaves_mine[0])
    tol = 1e-10 if dtype == torch.float64 else 1e-5
    assert isinstance(got, tuple) and len(got) == 2, (
        f"{name}: expected a tuple (h_new, c_new), got {type(got).__name__}")
    assert_close(got, want, rtol=tol, atol=tol, name=f"{name}: (h_new, c_new)")
    assert got[0].device == x.device, f"{name}: h_new on {got[0].device}"
    (want[0] * w_h + want[1] * w_c).sum().backward()
    (got[0] * w_h + got[1] * w_c).sum().backward()
    used = 3 if with_state else 1
    labelled = zip(("x", "h", "c"), leaves_mine, leaves_ref, strict=True)
    for label, a, b in list(labelled)[:used]:
        assert_close(a.grad, b.grad, rtol=tol, atol=tol,
                     name=f"{name}: gradient w.r.t. {label}")
    theirs = dict(ref.named_parameters())
    for pname, p in mine.named_parameters():
        assert_close(p.grad, theirs[pname].grad, rtol=tol, atol=tol,
                     name=f"{name}: gradient of {pname}")


cell = LSTMCell(3, 5)
assert isinstance(cell, nn.Module), "LSTMCell must subclass nn.Module"
shapes = {n: tuple(p.shape) for n, p in cell.named_parameters()}
assert shapes == _expected_cell_parameters(3, 5, 4), (
    f"LSTMCell(3, 5): parameters {shapes}, expected "
    f"{_expected_cell_parameters(3, 5, 4)}")
assert not list(cell.buffers()), "LSTMCell must have no buffers"
for n, p in cell.named_parameters():
    assert p.abs().max() <= 1 / math.sqrt(5) and p.std() > 0, (
        f"LSTMCell(3, 5).{n}: expected values spread in [-1/sqrt(5), 1/sqrt(5)], "
        f"got min {p.min().item():.3f}, max {p.max().item():.3f}")
_check_lstm_cell(3, 4, 5, torch.float32, "cpu", seed=0)
_check_lstm_cell(2, 3, 4, torch.float32, "cpu", seed=1, into_mine=False)
_check_lstm_cell(1, 2, 3, torch.float64, device, seed=2)  # N = 1, float64, device
_check_lstm_cell(2, 5, 3, torch.float64, device, seed=3, with_state=False)
### BEGIN HIDDEN TESTS
for _seed, (_N, _I, _H) in enumerate([(5, 7, 3), (1, 6, 9), (4, 1, 2), (3, 8, 6)]):
    _check_lstm_cell(_N, _I, _H, torch.float64, device, seed=10 + _seed,
                     into_mine=_seed % 2 == 0)
    _check_lstm_cell(_N, _I, _H, torch.float64, device, seed=20 + _seed,
                     with_state=False)
# a sequence, one step at a time from the reference's own state
torch.manual_seed(30)
_ref = nn.LSTMCell(4, 3).double().to(device)
_mine = LSTMCell(4, 3).double().to(device)
_mine.load_state_dict(_ref.state_dict())
_xs = torch.randn(8, 2, 4, dtype=torch.float64).to(device)
_state = None
with torch.no_grad():
    for _t in range(8):
        with forbid(*_banned):
            _got = _mine(_xs[_t], _state)
        _state = _ref(_xs[_t], _state)
        assert_close(_got, _state, rtol=1e-10, atol=1e-10,
                     name=f"LSTMCell at step {_t} of a sequence")
_shapes = {_n: tuple(_p.shape) for _n, _p in LSTMCell(6, 2).named_parameters()}
assert _shapes == _expected_cell_parameters(6, 2, 4), f"LSTMCell(6, 2): {_shapes}"
### END HIDDEN TESTS

# %% [markdown]
# ## 10.5 The GRU
#
# The **gated recurrent unit** (Cho et al., 2014) keeps the gating idea with one
# state instead of two and three blocks of weights instead of four. PyTorch's
# `nn.GRUCell` computes
#
# $$\begin{aligned}
# r_t &= \sigma\big(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}\big)
#   &&\text{reset gate}\\
# z_t &= \sigma\big(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}\big)
#   &&\text{update gate}\\
# n_t &= \tanh\big(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})\big)
#   &&\text{candidate state}\\
# h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}
# \end{aligned}$$
#
# with `weight_ih` $(3H, I)$, `weight_hh` $(3H, H)$ and two biases $(3H,)$, the
# rows in the order **r, z, n**. The update gate interpolates between the old
# state and the candidate; with $z_t \approx 1$ the state is copied forward, the
# same gradient highway as the LSTM's forget gate. The reset gate lets the
# candidate ignore the old state, for example at the start of a new word.
#
# Two conventions coexist, and both matter when you copy weights or read code:
#
# 1. **Which side of the interpolation $z$ is on.** PyTorch (like Cho et al.)
#    keeps the *old* state with weight $z_t$. Many tutorials write
#    $h_t = (1 - z_t) h_{t-1} + z_t n_t$ instead. That is the same
#    family of models with $z$ replaced by $1 - z$ (flip the signs of the update
#    gate's weights and bias), but the weights of one do not work in the other.
# 2. **Where the reset gate acts.** The original paper multiplies the state
#    *before* the weight matrix, $W_{hn}(r_t \odot h_{t-1})$. PyTorch and cuDNN
#    multiply *after* it, including its bias: $r_t \odot (W_{hn} h_{t-1} +
#    b_{hn})$, which lets all three matrix products with $h_{t-1}$ run as one.
#    This is a genuinely different model, not a relabelling; both train well.
#
# LSTM or GRU? Large comparisons (Chung et al., 2014; Greff et al., 2017;
# Jozefowicz et al., 2015) found no clear winner across tasks: the GRU is smaller
# and a little faster, the LSTM (with its forget bias at 1) is rarely worse. Try
# both.

# %%
for name, module in [("RNN", nn.RNN(32, 128)), ("GRU", nn.GRU(32, 128)),
                     ("LSTM", nn.LSTM(32, 128))]:
    count = sum(p.numel() for p in module.parameters())
    print(f"{name:4s} I=32, H=128: {count:6,} parameters "
          f"= {count // (128 * (32 + 128) + 2 * 128)} x (H I + H^2 + 2H)")

# %% [markdown]
# ### Exercise 3: `GRUCell` (3 points)
#
# Write the GRU cell with the parameters, gate order and formulas of
# `nn.GRUCell`, as you did for the LSTM. Watch the candidate: the reset gate
# multiplies $W_{hn} h_{t-1} + b_{hn}$, bias included, and not $b_{in}$.

# %% grade_id="ch10-gru-cell"
class GRUCell(nn.Module):
    """A GRU cell with the parameters, gate order and formulas of nn.GRUCell.

    I = input_size, H = hidden_size, N the batch size (N >= 1).

    Parameters: exactly these four (no other parameters or buffers), named and
    shaped as in nn.GRUCell so that state_dicts load both ways:
        weight_ih (3H, I), weight_hh (3H, H), bias_ih (3H,), bias_hh (3H,),
    each initialised uniform in [-1/sqrt(H), 1/sqrt(H)], float32 on the CPU.
    Rows [0, H) belong to the reset gate r, [H, 2H) to the update gate z and
    [2H, 3H) to the candidate n (PyTorch's order r, z, n).

    forward(x, h=None):
        x: tensor of shape (N, I) with the dtype and device of the parameters.
        h: the previous hidden state, shape (N, H); None means zeros created
            with x's dtype and on x's device.
        Returns h_new of shape (N, H), with the dtype and device of x. Writing
        gi = x W_ih^T + b_ih and gh = h W_hh^T + b_hh (both (N, 3H)) and
        splitting each into its r, z, n parts:
            r = sigmoid(gi_r + gh_r)
            z = sigmoid(gi_z + gh_z)
            n = tanh(gi_n + r * gh_n)      (r multiplies W_hn h + b_hn)
            h_new = (1 - z) * n + z * h
        x and h are not modified. Matrix products, torch.sigmoid and torch.tanh
        are allowed; do not call the recurrent built-ins (torch.gru_cell,
        nn.GRUCell, nn.GRU, ...: the group RECURRENT_CELLS).
    """

    def __init__(self, input_size, hidden_size):
        super().__init__()
        ### BEGIN SOLUTION
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(3 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(3 * hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(3 * hidden_size))
        self.bias_hh = nn.Parameter(torch.empty(3 * hidden_size))
        bound = 1 / math.sqrt(hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)
        ### END SOLUTION

    def forward(self, x, h=None):
        ### BEGIN SOLUTION
        if h is None:
            h = x.new_zeros(x.shape[0], self.hidden_size)
        gi_r, gi_z, gi_n = (x @ self.weight_ih.T + self.bias_ih).chunk(3, dim=1)
        gh_r, gh_z, gh_n = (h @ self.weight_hh.T + self.bias_hh).chunk(3, dim=1)
        r = torch.sigmoid(gi_r + gh_r)
        z = torch.sigmoid(gi_z + gh_z)
        n = torch.tanh(gi_n + r * gh_n)
        return (1 - z) * n + z * h
        ### END SOLUTION


# %%
# Try it
reference_gru = nn.GRUCell(3, 4)
my_gru = GRUCell(3, 4)
my_gru.load_state_dict(reference_gru.state_dict())
x_step = torch.randn(2, 3)
with torch.no_grad():
    print("GRUCell:   ", my_gru(x_step)[0])
    print("nn.GRUCell:", reference_gru(x_step)[0])

# %% grade_id="ch10-gru-cell-tests" points=3
"""GRUCell: an nn.Module with exactly the parameters weight_ih (3H, I), weight_hh
(3H, H), bias_ih, bias_hh (3H,) and no buffers, initialised in [-1/sqrt(H),
1/sqrt(H)]; state_dicts copied both ways with nn.GRUCell; == nn.GRUCell for h_new
and for the gradients of x, h and every parameter; h=None gives zeros of x's
dtype on x's device; N = 1; float64 on `device`; h is not modified; no recurrent
built-in."""
_banned = (*RECURRENT_CELLS, "torch.nn.RNN.forward", "torch.nn.LSTM.forward",
           "torch.nn.GRU.forward")


def _expected_gru_parameters(n_in, H):
    return {"weight_ih": (3 * H, n_in), "weight_hh": (3 * H, H), "bias_ih": (3 * H,),
            "bias_hh": (3 * H,)}


def _check_gru_cell(N, n_in, H, dtype, where, seed, with_state=True, into_mine=True):
    """Copy weights between GRUCell and nn.GRUCell; compare h_new and grads."""
    name = f"GRUCell({n_in}, {H}) on x ({N}, {n_in}), {dtype}"
    torch.manual_seed(seed)
    ref, mine = nn.GRUCell(n_in, H), GRUCell(n_in, H)
    if into_mine:
        mine.load_state_dict(ref.state_dict())
    else:
        ref.load_state_dict(mine.state_dict())
    ref, mine = ref.to(where, dtype), mine.to(where, dtype)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(N, n_in, generator=gen, dtype=dtype).to(where)
    h0 = torch.randn(N, H, generator=gen, dtype=dtype).to(where)
    weights = torch.randn(N, H, generator=gen, dtype=dtype).to(where)
    x_ref, x_mine = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    h_ref, h_mine = h0.clone().requires_grad_(True), h0.clone().requires_grad_(True)
    if with_state:
        want = ref(x_ref, h_ref)
        with forbid(*_banned):
            got = mine(x_mine, h_mine)
        assert torch.equal(h_mine.detach(), h0), f"{name}: h was modified"
    else:
        name += ", h=None"
        want = ref(x_ref)
        with forbid(*_banned):
            got = mine(x_mine)
    tol = 1e-10 if dtype == torch.float64 else 1e-5
    assert_close(got, want, rtol=tol, atol=tol, name=f"{name}: h_new")
    assert got.device == x.device, f"{name}: h_new on {got.device}, not {x.device}"
    (want * weights).sum().backward()
    (got * weights).sum().backward()
    assert_close(x_mine.grad, x_ref.grad, rtol=tol, atol=tol,
                 name=f"{name}: gradient w.r.t. x")
    if with_state:
        assert_close(h_mine.grad, h_ref.grad, rtol=tol, atol=tol,
                     name=f"{name}: gradient w.r.t. h")
    theirs = dict(ref.named_parameters())
    for pname, p in mine.named_parameters():
        assert_close(p.grad, theirs[pname].grad, rtol=tol, atol=tol,
                     name=f"{name}: gradient of {pname}")


cell = GRUCell(3, 5)
assert isinstance(cell, nn.Module), "GRUCell must subclass nn.Module"
shapes = {n: tuple(p.shape) for n, p in cell.named_parameters()}
assert shapes == _expected_gru_parameters(3, 5), (
    f"GRUCell(3, 5): parameters {shapes}, expected {_expected_gru_parameters(3, 5)}")
assert not list(cell.buffers()), "GRUCell must have no buffers"
for n, p in cell.named_parameters():
    assert p.abs().max() <= 1 / math.sqrt(5) and p.std() > 0, (
        f"GRUCell(3, 5).{n}: expected values spread in [-1/sqrt(5), 1/sqrt(5)], "
        f"got min {p.min().item():.3f}, max {p.max().item():.3f}")
_check_gru_cell(3, 4, 5, torch.float32, "cpu", seed=0)
_check_gru_cell(2, 3, 4, torch.float32, "cpu", seed=1, into_mine=False)
_check_gru_cell(1, 2, 3, torch.float64, device, seed=2)  # N = 1, float64, device
_check_gru_cell(2, 5, 3, torch.float64, device, seed=3, with_state=False)
### BEGIN HIDDEN TESTS
for _seed, (_N, _I, _H) in enumerate([(5, 7, 3), (1, 6, 9), (4, 1, 2), (3, 8, 6)]):
    _check_gru_cell(_N, _I, _H, torch.float64, device, seed=10 + _seed,
                    into_mine=_seed % 2 == 1)
    _check_gru_cell(_N, _I, _H, torch.float64, device, seed=20 + _seed,
                    with_state=False)
torch.manual_seed(30)
_ref = nn.GRUCell(4, 3).double().to(device)
_mine = GRUCell(4, 3).double().to(device)
_mine.load_state_dict(_ref.state_dict())
_xs = torch.randn(8, 2, 4, dtype=torch.float64).to(device)
_h = None
with torch.no_grad():
    for _t in range(8):
        with forbid(*_banned):
            _got = _mine(_xs[_t], _h)
        _h = _ref(_xs[_t], _h)
        assert_close(_got, _h, rtol=1e-10, atol=1e-10,
                     name=f"GRUCell at step {_t} of a sequence")
### END HIDDEN TESTS

# %% [markdown]
# ## 10.6 From a cell to a layer: `nn.LSTM`
#
# `nn.LSTM(I, H, batch_first=True)` runs an LSTM cell over a whole sequence and
# returns `(outputs, (h_n, c_n))`:
#
# - `outputs` $(N, T, D \cdot H)$: the hidden state after every step, where
#   $D = 2$ for a bidirectional LSTM and 1 otherwise;
# - `h_n` and `c_n` $(D \cdot L, N, H)$: the final hidden and cell states of each
#   direction of each of the $L$ layers (`num_layers`), never batch first.
#
# Its parameters are those of an `nn.LSTMCell` with a suffix: `weight_ih_l0`,
# `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, and `weight_ih_l0_reverse` (and so
# on) for the backward direction. With `num_layers=2`, the second layer reads the
# outputs of the first (`dropout=p` adds dropout between layers, not after the
# last one). On a GPU, `nn.LSTM` hands the whole sequence to cuDNN's optimised
# kernels: a Python loop over `nn.LSTMCell` computes the same numbers, much more
# slowly.
#
# ### Bidirectional networks
#
# A recurrent state at step $t$ knows only the past $x_0, \dots, x_t$. To label a
# word in a sentence, the words after it help as much as the words before it.
# A **bidirectional** RNN runs two independent networks (Schuster and Paliwal,
# 1997): one forward over $x_0, \dots, x_{T-1}$, one backward over
# $x_{T-1}, \dots, x_0$, and concatenates their states at each position:
#
# $$\overrightarrow{h}_t = f(x_t, \overrightarrow{h}_{t-1}), \qquad
#   \overleftarrow{h}_t = f'(x_t, \overleftarrow{h}_{t+1}), \qquad
#   \text{output}_t = \big[\overrightarrow{h}_t ; \overleftarrow{h}_t\big].$$
#
# The output at position $t$ therefore sees the whole sequence. In `nn.LSTM`'s
# layout, `outputs[:, t, :H]` is the forward state at $t$ and
# `outputs[:, t, H:]` the backward state at $t$, aligned by position (not by
# processing order). The final states are then at opposite ends:
# `h_n[0] == outputs[:, -1, :H]` (the forward pass ends at the last step) and
# `h_n[1] == outputs[:, 0, H:]` (the backward pass ends at the first step). A
# bidirectional model cannot generate text or run on a live stream: it needs the
# whole input before it can emit the first output.

# %%
bi_lstm = nn.LSTM(input_size=3, hidden_size=4, batch_first=True, bidirectional=True)
x_seq = torch.randn(2, 6, 3)  # (N, T, I)
outputs, (h_n, c_n) = bi_lstm(x_seq)
print("outputs", tuple(outputs.shape), " h_n", tuple(h_n.shape),
      " c_n", tuple(c_n.shape))
print("parameters:", [name for name, _ in bi_lstm.named_parameters()])
print("h_n[0] == outputs[:, -1, :H]:", torch.allclose(h_n[0], outputs[:, -1, :4]))
print("h_n[1] == outputs[:, 0, H:]: ", torch.allclose(h_n[1], outputs[:, 0, 4:]))

# %% [markdown]
# ### A pitfall: the initial state on the wrong device
#
# A from-scratch LSTM often creates its initial state like this:
# `h = torch.zeros(x.size(0), hidden_size)`. The zeros
# are float32 and on the CPU, whatever the input and the weights are. Every CPU
# float32 test passes, and the first run on a GPU fails with "Expected all
# tensors to be on the same device". The same mistake shows on a CPU with
# float64, which is how the tests of this chapter catch it:

# %%
class StateOnTheCPU(nn.Module):
    """An LSTM loop with the bug: its initial state ignores x's dtype and device."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.cell = nn.LSTMCell(input_size, hidden_size)

    def forward(self, x):  # x: (N, T, I)
        h = torch.zeros(x.size(0), self.hidden_size)  # the bug: float32, CPU
        c = torch.zeros(x.size(0), self.hidden_size)
        for x_t in x.unbind(1):
            h, c = self.cell(x_t, (h, c))
        return h


buggy = StateOnTheCPU(3, 4)
print("float32 on the CPU:", tuple(buggy(torch.randn(2, 5, 3)).shape), "(works)")
try:
    buggy.double()(torch.randn(2, 5, 3, dtype=torch.float64))
except RuntimeError as err:
    print("float64:", type(err).__name__, "-", str(err).splitlines()[0])

# %% [markdown]
# The fix is to derive the state from the input, `x.new_zeros(N, H)` (same
# dtype and device as `x`), or from a parameter. If a model needs a constant
# tensor of its own, register it with `self.register_buffer(...)` so that
# `model.to(device)` moves it.
#
# ### Exercise 4: `LSTM` (4 points)
#
# Run your `LSTMCell` over a whole sequence, batch first, in one or two
# directions, with `nn.LSTM`'s outputs and states. The module holds a cell
# called `cell` for the forward direction and, when bidirectional, a second one
# called `cell_reverse`; the names make its parameters map one to one onto those
# of `nn.LSTM`, which is how the tests copy weights. Collect the outputs of each
# step in a list and `torch.stack` them; for the reverse direction, walk the
# steps backwards and put each output back at its own position. All sequences
# have the full length $T$ here (section 10.7 deals with padding).

# %% grade_id="ch10-lstm"
class LSTM(nn.Module):
    """A one-layer LSTM over whole sequences, batch first, built on LSTMCell.

    N is the batch size (N >= 1), T the sequence length (T >= 1),
    I = input_size, H = hidden_size, and D = 2 if bidirectional else 1.

    Submodules (their parameters are the module's only parameters):
        cell: LSTMCell(input_size, hidden_size), the forward direction;
        cell_reverse: LSTMCell(input_size, hidden_size), the backward direction,
            only when bidirectional (otherwise set self.cell_reverse = None).
    The state_dict keys are therefore cell.weight_ih, cell.weight_hh,
    cell.bias_ih, cell.bias_hh (and cell_reverse.* when bidirectional); they
    map one to one onto nn.LSTM(I, H, batch_first=True,
    bidirectional=bidirectional)'s weight_ih_l0, weight_hh_l0, bias_ih_l0,
    bias_hh_l0 (and weight_ih_l0_reverse, ...).

    forward(x, state=None):
        x: tensor of shape (N, T, I) (batch first), with the dtype and device
            of the parameters.
        state: a tuple (h0, c0), each of shape (D, N, H) (index 0 the forward
            direction, 1 the backward one), or None for zeros created with x's
            dtype and on x's device.
        Returns (outputs, (h_n, c_n)) exactly like nn.LSTM(batch_first=True):
            outputs: (N, T, D*H). outputs[:, t, :H] is the forward hidden state
                after reading x[:, 0], ..., x[:, t]; when bidirectional,
                outputs[:, t, H:] is the backward hidden state after reading
                x[:, T-1], x[:, T-2], ..., x[:, t] (aligned by position t).
            h_n, c_n: (D, N, H), the final hidden and cell states of each
                direction: the forward one after step T-1, the backward one
                after step 0.
        Same dtype and device as x; x and the state are not modified. Do not
        call nn.LSTM, nn.LSTMCell, torch.lstm or any other recurrent built-in
        (RECURRENT_CELLS, and the forward of nn.RNN / nn.LSTM / nn.GRU); use
        your LSTMCell.
    """

    def __init__(self, input_size, hidden_size, bidirectional=False):
        super().__init__()
        ### BEGIN SOLUTION
        self.hidden_size = hidden_size
        self.cell = LSTMCell(input_size, hidden_size)
        self.cell_reverse = LSTMCell(input_size, hidden_size) if bidirectional \
            else None
        ### END SOLUTION

    def forward(self, x, state=None):
        ### BEGIN SOLUTION
        cells = [self.cell] if self.cell_reverse is None \
            else [self.cell, self.cell_reverse]
        T = x.shape[1]
        outputs, h_n, c_n = [], [], []
        for d, cell in enumerate(cells):
            hc = None if state is None else (state[0][d], state[1][d])
            steps = range(T) if d == 0 else range(T - 1, -1, -1)
            per_step = [None] * T
            for t in steps:
                hc = cell(x[:, t], hc)
                per_step[t] = hc[0]
            outputs.append(torch.stack(per_step, dim=1))  # (N, T, H)
            h_n.append(hc[0])
            c_n.append(hc[1])
        return torch.cat(outputs, dim=2), (torch.stack(h_n), torch.stack(c_n))
        ### END SOLUTION


# %%
# Try it: the weights of nn.LSTM, renamed, give its outputs
my_lstm = LSTM(3, 4, bidirectional=True)
renamed = {("cell_reverse." if k.endswith("_reverse") else "cell.")
           + k.split("_l0")[0]: v for k, v in bi_lstm.state_dict().items()}
my_lstm.load_state_dict(renamed)
with torch.no_grad():
    mine, (h_mine, c_mine) = my_lstm(x_seq)
    theirs, (h_theirs, c_theirs) = bi_lstm(x_seq)
print("state_dict keys:", list(my_lstm.state_dict()))
print("largest difference in outputs:", (mine - theirs).abs().max().item())

# %% grade_id="ch10-lstm-tests" points=4
"""LSTM: state_dict keys cell.* (and cell_reverse.* when bidirectional) loaded
from nn.LSTM(batch_first=True) and back; == nn.LSTM for outputs (N, T, D*H), h_n
and c_n (D, N, H) and the gradients of x, h0, c0 and every parameter, in one and
two directions, with and without an initial state; T = 1 and N = 1; float64 on
`device`; x and the state not modified; no recurrent built-in."""
_banned = (*RECURRENT_CELLS, "torch.nn.RNN.forward", "torch.nn.LSTM.forward",
           "torch.nn.GRU.forward")


def _to_mine(key):
    """nn.LSTM's weight_ih_l0(_reverse) -> LSTM's cell(_reverse).weight_ih."""
    prefix = "cell_reverse." if key.endswith("_reverse") else "cell."
    return prefix + key.split("_l0")[0]


def _check_lstm(N, T, n_in, H, bidirectional, dtype, where, seed, with_state=True,
                into_mine=True):
    """Copy weights between LSTM and nn.LSTM; compare outputs, states, grads."""
    D = 2 if bidirectional else 1
    name = (f"LSTM({n_in}, {H}, bidirectional={bidirectional}) on x "
            f"({N}, {T}, {n_in}), {dtype}" + ("" if with_state else ", state=None"))
    torch.manual_seed(seed)
    ref = nn.LSTM(n_in, H, batch_first=True, bidirectional=bidirectional)
    mine = LSTM(n_in, H, bidirectional=bidirectional)
    keys = sorted(mine.state_dict())
    want_keys = sorted(_to_mine(k) for k in ref.state_dict())
    assert keys == want_keys, f"{name}: state_dict keys {keys}, expected {want_keys}"
    if into_mine:
        mine.load_state_dict({_to_mine(k): v for k, v in ref.state_dict().items()})
    else:
        mine_state = mine.state_dict()
        ref.load_state_dict({k: mine_state[_to_mine(k)] for k in ref.state_dict()})
    ref, mine = ref.to(where, dtype), mine.to(where, dtype)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(N, T, n_in, generator=gen, dtype=dtype).to(where)
    h0 = torch.randn(D, N, H, generator=gen, dtype=dtype).to(where)
    c0 = torch.randn(D, N, H, generator=gen, dtype=dtype).to(where)
    w_out = torch.randn(N, T, D * H, generator=gen, dtype=dtype).to(where)
    w_h, w_c = (torch.randn(D, N, H, generator=gen, dtype=dtype).to(where)
                for _ in range(2))
    leaves_ref = [t.clone().requires_grad_(True) for t in (x, h0, c0)]
    leaves_mine = [t.clone().requires_grad_(True) for t in (x, h0, c0)]
    if with_state:
        want = ref(leaves_ref[0], (leaves_ref[1], leaves_ref[2]))
        with forbid(*_banned):
            got = mine(leaves_mine[0], (leaves_mine[1], leaves_mine[2]))
    else:
        want = ref(leaves_ref[0])
        with forbid(*_banned):
            got = mine(leaves_mine[0])
    for leaf, kept in zip(leaves_mine, (x, h0, c0), strict=True):
        assert torch.equal(leaf.detach(), kept), f"{name}: an input was modified"
    tol = 1e-10 if dtype == torch.float64 else 1e-5
    assert isinstance(got, tuple) and len(got) == 2 and len(got[1]) == 2, (
        f"{name}: expected (outputs, (h_n, c_n)), got {type(got).__name__}")
    assert_close(got[0], want[0], rtol=tol, atol=tol, name=f"{name}: outputs")
    assert_close(got[1], want[1], rtol=tol, atol=tol, name=f"{name}: (h_n, c_n)")
    assert got[0].device == x.device, f"{name}: outputs on {got[0].device}"
    for out in (want, got):
        ((out[0] * w_out).sum() + (out[1][0] * w_h).sum()
         + (out[1][1] * w_c).sum()).backward()
    used = 3 if with_state else 1
    for label, a, b in list(zip(("x", "h0", "c0"), leaves_mine, leaves_ref,
                                 strict=True))[:used]:
        assert_close(a.grad, b.grad, rtol=tol, atol=tol,
                     name=f"{name}: gradient w.r.t. {label}")
    theirs = {_to_mine(k): p for k, p in ref.named_parameters()}
    for pname, p in mine.named_parameters():
        assert_close(p.grad, theirs[pname].grad, rtol=tol, atol=tol,
                     name=f"{name}: gradient of {pname}")


lstm = LSTM(3, 5)
assert isinstance(lstm, nn.Module), "LSTM must subclass nn.Module"
assert isinstance(lstm.cell, LSTMCell), "LSTM(3, 5).cell must be your LSTMCell"
_check_lstm(3, 4, 2, 5, False, torch.float32, "cpu", seed=0)
_check_lstm(2, 5, 3, 4, True, torch.float32, "cpu", seed=1, into_mine=False)
_check_lstm(1, 3, 2, 3, True, torch.float64, device, seed=2)  # N = 1, float64
_check_lstm(2, 4, 3, 2, True, torch.float64, device, seed=3, with_state=False)
_check_lstm(3, 1, 4, 2, False, torch.float64, device, seed=4)  # T = 1
### BEGIN HIDDEN TESTS
for _seed, (_N, _T, _I, _H) in enumerate([(5, 7, 3, 4), (1, 6, 5, 2), (4, 2, 1, 6),
                                          (2, 9, 4, 3)]):
    for _bi in (False, True):
        _check_lstm(_N, _T, _I, _H, _bi, torch.float64, device, seed=10 + _seed,
                    with_state=_seed % 2 == 0, into_mine=_bi)
_check_lstm(3, 1, 2, 5, True, torch.float64, device, seed=20)  # T = 1, both ways
### END HIDDEN TESTS

# %% [markdown]
# ## 10.7 Bidirectional networks at work, and padding
#
# A small experiment shows what the backward direction buys. Each input is a
# sequence of 12 random symbols out of 8, and the target at every position $t$
# is the symbol at position $t + 1$: the *next* one. A forward-only LSTM cannot
# know the future, so it can do no better than guessing (1 in 8); a
# bidirectional one reads it from its backward half. Both models use
# `nn.LSTM` (fast) with 32 units per direction and train for the same 120 steps.
# The bar for the bidirectional model is an accuracy of at least 0.9 on 1,000
# fresh sequences.

# %%
NUM_SYMBOLS, SEQ_LEN = 8, 12


def next_symbol_batch(n, generator=None):
    """n random sequences (n, T) and their targets x[:, 1:] (n, T - 1)."""
    x = torch.randint(0, NUM_SYMBOLS, (n, SEQ_LEN), generator=generator)
    return x, x[:, 1:]


class NextSymbolTagger(nn.Module):
    """One-hot symbols -> LSTM (one or two directions) -> a label per position."""

    def __init__(self, bidirectional, hidden_size=32):
        super().__init__()
        self.lstm = nn.LSTM(NUM_SYMBOLS, hidden_size, batch_first=True,
                            bidirectional=bidirectional)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), NUM_SYMBOLS)

    def forward(self, x):  # x: (N, T) int64
        outputs, _ = self.lstm(F.one_hot(x, NUM_SYMBOLS).float())  # (N, T, D*H)
        return self.head(outputs[:, :-1])  # (N, T - 1, NUM_SYMBOLS)


set_seed(0)
x_test, y_test = next_symbol_batch(1000, torch.Generator().manual_seed(123))
tagger_accuracy = {}
for bidirectional in (False, True):
    model = NextSymbolTagger(bidirectional)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(120):
        x, y = next_symbol_batch(64)
        loss = F.cross_entropy(model(x).reshape(-1, NUM_SYMBOLS), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        accuracy = (model(x_test).argmax(-1) == y_test).float().mean().item()
    tagger_accuracy["bidirectional" if bidirectional else "forward only"] = accuracy
    print(f"{'bidirectional' if bidirectional else 'forward only':13s}: accuracy "
          f"{accuracy:.3f} (chance: {1 / NUM_SYMBOLS:.3f})")
check_bar("bidirectional LSTM, next-symbol accuracy",
          tagger_accuracy["bidirectional"], 0.9)

# %% [markdown]
# ### Padding and packed sequences
#
# Sequences in a batch rarely have the same length. The usual fix is to pad the
# short ones at the end up to the longest (chapter 15 builds `pad_collate`) and
# keep their `lengths`. Padding is harmless for a forward RNN as long as you read
# each sequence's output at its own last step, `outputs[i, lengths[i] - 1]`,
# rather than at $T - 1$. It is *not* harmless for the backward direction of a
# bidirectional RNN: reading from the end, it sees all the padding first, and
# its state at the real last word is already polluted.
#
# PyTorch's answer is a **packed sequence**: `pack_padded_sequence(x, lengths,
# batch_first=True, enforce_sorted=False)` records the lengths, the recurrent
# layer then skips the padded steps in both directions, and
# `pad_packed_sequence` turns the result back into a padded tensor (with zeros
# at the padded positions). `h_n` then holds each sequence's state at its own
# last step. The cell below runs a sequence of length 4, padded to 7, through a
# bidirectional LSTM both ways, and compares with the same sequence alone.

# %%
set_seed(0)
lstm_demo = nn.LSTM(3, 4, batch_first=True, bidirectional=True)
alone = torch.randn(1, 4, 3)  # one sequence of length 4
padded = torch.cat([alone, torch.zeros(1, 3, 3)], dim=1)  # padded to T = 7
with torch.no_grad():
    _, (h_alone, _) = lstm_demo(alone)
    _, (h_padded, _) = lstm_demo(padded)
    packed = nn.utils.rnn.pack_padded_sequence(padded, torch.tensor([4]),
                                               batch_first=True)
    _, (h_packed, _) = lstm_demo(packed)
for label, h_n in [("padded, not packed", h_padded), ("packed", h_packed)]:
    print(f"{label:18s}: forward h_n off by {(h_n[0] - h_alone[0]).abs().max():.2e}"
          f", backward h_n off by {(h_n[1] - h_alone[1]).abs().max():.2e}")

# %% [markdown]
# Without packing, even the forward `h_n` is wrong (it went on through three
# padded steps), and the backward one started on padding. Packed, both match the
# sequence alone.
#
# ## 10.8 Attention pooling
#
# To classify a whole sequence we need one vector out of the $T$ outputs
# $o_0, \dots, o_{T-1}$ (each of size $H$, or $2H$ when bidirectional). The last
# state is a bottleneck: everything must survive to the end. Averaging all
# outputs treats the important steps like the others. **Attention pooling** lets
# the model choose: a small learned layer gives each step a score $s_t$ (for
# example $s_t = w^\top o_t$), a softmax turns the scores into weights, and the
# summary is the weighted mean
#
# $$\alpha_t = \frac{e^{s_t}}{\sum_{u} e^{s_u}}, \qquad
#   \text{pooled} = \sum_{t} \alpha_t\, o_t .$$
#
# The weights are positive and sum to 1, and they can be plotted: they show where
# the model looked. This is the attention of Bahdanau et al. (2015) with one
# learned query vector in place of a decoder state (as in the hierarchical
# attention networks of Yang et al., 2016), and the seed of the transformers of
# chapter 11.
#
# **Padding.** With padded batches, the padded positions must receive exactly
# zero weight, and the weights must still sum to 1 over the real steps. Setting
# the scores of the padded positions to $-\infty$ before the softmax does both:
# $e^{-\infty} = 0$. Three popular shortcuts are wrong:
#
# - multiplying the weights by the mask *after* the softmax leaves weights that
#   no longer sum to 1;
# - setting the padded scores to 0 gives them weight $e^0 / \sum$, not 0;
# - setting them to $-10^9$ works in float32, but `masked_fill` with $-10^9$
#   raises an error in float16, whose largest magnitude is 65,504. Use
#   `float("-inf")` or `torch.finfo(scores.dtype).min`.
#
# A row with no real step at all would give $0/0$; the exercise rules it out.

# %%
scores_half = torch.tensor([[1.0, 2.0, 0.5]], dtype=torch.float16)
pad = torch.tensor([[False, False, True]])
for fill in (float("-inf"), torch.finfo(torch.float16).min, -1e9):
    try:
        weights = torch.softmax(scores_half.masked_fill(pad, fill), dim=1)
        print(f"masked with {fill:g}: weights {weights.tolist()}")
    except RuntimeError as err:
        print(f"masked with {fill:g}: RuntimeError - {err}")

# %% [markdown]
# ### Exercise 5: `attention_pooling` (3 points)
#
# Pool the outputs of a recurrent network with given scores, masking the padding
# of each sequence. `torch.softmax` is allowed. Build the mask from `lengths`
# with a comparison against `torch.arange(T, device=scores.device)` (broadcasting
# $(1, T)$ against $(N, 1)$ gives $(N, T)$; without `device=` the range is on the
# CPU and the comparison fails on a GPU), and do not change the caller's `scores`
# in place (`masked_fill` returns a new tensor; `masked_fill_` would not).

# %% grade_id="ch10-attention-pooling"
def attention_pooling(outputs, scores, lengths=None):
    """Softmax-weighted sum of the steps of each sequence, ignoring padding.

    N is the batch size (N >= 1), T the padded length and H the feature size.

    Args:
        outputs: floating-point tensor of shape (N, T, H), e.g. the outputs of
            an RNN (batch first).
        scores: tensor of shape (N, T) with the dtype and device of outputs:
            one score per step. Scores at padded positions may hold any finite
            value, however large; they are ignored.
        lengths: None (no padding: every step counts), or an int64 tensor of
            shape (N,) on the device of outputs: sequence i occupies steps
            0, ..., lengths[i] - 1 and steps t >= lengths[i] are padding.
            Every length must be in [1, T]; otherwise raise ValueError.

    Returns:
        A tuple (pooled, weights):
            weights: (N, T), the softmax of each row of scores over its real
                steps; exactly 0 at padded steps; each row sums to 1.
            pooled: (N, H), pooled[i] = sum_t weights[i, t] * outputs[i, t].
        Both with the dtype and device of outputs (float16 included: mask with
        -inf or torch.finfo(dtype).min, never with -1e9, which overflows
        float16). outputs, scores and lengths are not modified.
    """
    ### BEGIN SOLUTION
    T = scores.shape[1]
    if lengths is not None:
        if bool(((lengths < 1) | (lengths > T)).any()):
            raise ValueError(f"lengths must be in [1, {T}], got {lengths.tolist()}")
        padding = torch.arange(T, device=scores.device) >= lengths[:, None]  # (N, T)
        scores = scores.masked_fill(padding, float("-inf"))
    weights = torch.softmax(scores, dim=1)  # (N, T)
    pooled = (weights.unsqueeze(-1) * outputs).sum(dim=1)  # (N, H)
    return pooled, weights
    ### END SOLUTION


# %%
# Try it: three steps, the last one padding in the second sequence
outputs_demo = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]],
                             [[2.0, 0.0], [0.0, 2.0], [9.0, 9.0]]])  # (2, 3, 2)
pooled, weights = attention_pooling(outputs_demo, torch.zeros(2, 3),
                                    torch.tensor([3, 2]))
print("weights:", weights)
print("pooled: ", pooled)

# %% grade_id="ch10-attention-pooling-tests" points=3
"""attention_pooling: returns (pooled (N, H), weights (N, T)); weights = softmax of
the scores over the real steps, exactly 0 on padding (huge padded scores
ignored), rows summing to 1; lengths=None uses every step; lengths of 1 and T;
ValueError for a length of 0 or above T; float64 on `device` and float16 (no
-1e9) with the dtype kept; N = 1; inputs not modified."""


def _reference_pooling(outputs, scores, lengths):
    """Softmax over each row's real steps, in float64, padded weights set to 0."""
    N, T = scores.shape
    weights = torch.zeros(N, T, dtype=torch.float64, device=scores.device)
    for i in range(N):
        L = T if lengths is None else int(lengths[i])
        weights[i, :L] = torch.softmax(scores[i, :L].double(), dim=0)
    pooled = (weights[:, :, None] * outputs.double()).sum(dim=1)
    return pooled, weights


def _check_pooling(outputs, scores, lengths, name, tol):
    saved = [t.clone() for t in (outputs, scores) + (() if lengths is None
                                                     else (lengths,))]
    got = attention_pooling(outputs, scores, lengths)
    assert isinstance(got, tuple) and len(got) == 2, (
        f"{name}: expected a tuple (pooled, weights), got {type(got).__name__}")
    want = _reference_pooling(outputs, scores, lengths)
    want = tuple(w.to(outputs.dtype) for w in want)
    assert_close(got[1], want[1], rtol=tol, atol=tol, name=f"{name}: weights")
    assert_close(got[0], want[0], rtol=tol, atol=tol, name=f"{name}: pooled")
    assert got[0].device == outputs.device, f"{name}: pooled on {got[0].device}"
    if lengths is not None:
        padded = torch.arange(scores.shape[1], device=scores.device) >= lengths[:, None]
        assert torch.all(got[1][padded] == 0), (
            f"{name}: weights at padded steps must be exactly 0, got "
            f"{got[1][padded].tolist()}")
    now = (outputs, scores) + (() if lengths is None else (lengths,))
    for before, after in zip(saved, now, strict=True):
        assert torch.equal(before, after), f"{name}: an input was modified"


# by hand: scores [0, log 2, 0] give weights [1/4, 1/2, 1/4]
outputs = torch.tensor([[[4.0, 0.0], [0.0, 4.0], [8.0, 8.0]]])  # (1, 3, 2), N = 1
scores = torch.tensor([[0.0, math.log(2.0), 0.0]])
pooled, weights = attention_pooling(outputs, scores)
assert_close(weights, torch.tensor([[0.25, 0.5, 0.25]]), rtol=1e-6, atol=1e-7,
             name="attention_pooling(scores [[0, log 2, 0]]): weights")
assert_close(pooled, torch.tensor([[3.0, 4.0]]), rtol=1e-6, atol=1e-6,
             name="attention_pooling(scores [[0, log 2, 0]]): pooled")
# padding: the third step of the first row is padding and holds a huge score
pooled, weights = attention_pooling(outputs.expand(2, 3, 2),
                                    torch.tensor([[0.0, 0.0, 1e4], [0.0, 0.0, 0.0]]),
                                    torch.tensor([2, 3]))
assert_close(weights, torch.tensor([[0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]]),
             rtol=1e-6, atol=1e-7,
             name="attention_pooling(lengths [2, 3], padded score 1e4): weights")
gen = torch.Generator().manual_seed(0)
outputs = torch.randn(4, 6, 5, generator=gen, dtype=torch.float64).to(device)
scores = (3 * torch.randn(4, 6, generator=gen, dtype=torch.float64)).to(device)
scores[0, 4:] = 1e4  # padded scores are ignored, however large
lengths = torch.tensor([4, 6, 1, 3], device=device)
_check_pooling(outputs, scores, lengths, "attention_pooling(float64 (4, 6, 5), "
               "lengths [4, 6, 1, 3], on device)", 1e-10)
_check_pooling(outputs, scores, None, "attention_pooling(float64, lengths=None)",
               1e-10)
# float16: a -1e9 mask overflows there
_check_pooling(outputs.half(), scores.half().clamp(-60000, 60000), lengths,
               "attention_pooling(float16 (4, 6, 5), lengths [4, 6, 1, 3])", 1e-2)
for bad in ([4, 0, 1, 3], [4, 7, 1, 3]):
    expect_raises(ValueError, attention_pooling, outputs, scores,
                  torch.tensor(bad, device=device),
                  name=f"attention_pooling(T = 6, lengths {bad})")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(10)
for _N, _T, _H in [(5, 7, 3), (1, 4, 6), (3, 9, 2), (6, 1, 5), (2, 5, 8)]:
    _out = torch.randn(_N, _T, _H, generator=_gen, dtype=torch.float64).to(device)
    _sc = (4 * torch.randn(_N, _T, generator=_gen, dtype=torch.float64)).to(device)
    _len = torch.randint(1, _T + 1, (_N,), generator=_gen)
    _len[0] = _T
    _len[-1] = 1 if _N > 1 else _len[-1]
    _len = _len.to(device)
    _pad = torch.arange(_T, device=device) >= _len[:, None]
    _sc = torch.where(_pad, torch.full_like(_sc, -3e4), _sc)  # very negative pads
    _check_pooling(_out, _sc, _len, f"attention_pooling(float64 ({_N}, {_T}, {_H}))",
                   1e-10)
    _sc = torch.where(_pad, torch.full_like(_sc, 5e3), _sc)  # very positive pads
    _check_pooling(_out, _sc, _len,
                   f"attention_pooling(float64 ({_N}, {_T}, {_H}), big pads)", 1e-10)
    _check_pooling(_out, _sc, None,
                   f"attention_pooling(float64 ({_N}, {_T}, {_H}), no lengths)", 1e-10)
_out = torch.randn(3, 5, 4, generator=_gen).to(device, torch.float16)
_sc = torch.randn(3, 5, generator=_gen).to(device, torch.float16)
_check_pooling(_out, _sc, torch.tensor([2, 5, 1], device=device),
               "attention_pooling(float16 (3, 5, 4), lengths [2, 5, 1])", 1e-2)
expect_raises(ValueError, attention_pooling, _out, _sc,
              torch.tensor([2, 6, 1], device=device),
              name="attention_pooling(T = 5, lengths [2, 6, 1])")
### END HIDDEN TESTS

# %% [markdown]
# ### Where does the model look?
#
# A task that needs attention to one place: each sequence holds 5 to 16 random
# digits, one of which is replaced by a marker symbol; the label is the digit
# right *after* the marker. The model embeds the symbols, runs a bidirectional
# LSTM over the packed batch, scores every step with a linear layer, pools with
# your `attention_pooling` and classifies the pooled vector. Chance is 1 in 10;
# the bar is an accuracy of 0.9 on 1,000 fresh sequences after 120 steps.

# %%
MARKER, PAD, MAX_LEN = 10, 11, 16  # symbols 0-9 are digits


def marker_batch(n, generator=None):
    """Padded digit sequences (n, MAX_LEN), their lengths (n,) and labels (n,)."""
    lengths = torch.randint(5, MAX_LEN + 1, (n,), generator=generator)
    x = torch.randint(0, 10, (n, MAX_LEN), generator=generator)
    where = (torch.rand(n, generator=generator) * (lengths - 1)).long()  # < L - 1
    rows = torch.arange(n)
    x[rows, where] = MARKER
    labels = x[rows, where + 1].clone()
    x[torch.arange(MAX_LEN) >= lengths[:, None]] = PAD
    return x, lengths, labels


class AttentionClassifier(nn.Module):
    """Embedding -> bidirectional LSTM (packed) -> attention pooling -> logits."""

    def __init__(self, hidden_size=32):
        super().__init__()
        self.embed = nn.Embedding(12, 16)
        self.lstm = nn.LSTM(16, hidden_size, batch_first=True, bidirectional=True)
        self.score = nn.Linear(2 * hidden_size, 1)
        self.head = nn.Linear(2 * hidden_size, 10)

    def forward(self, x, lengths):
        packed = nn.utils.rnn.pack_padded_sequence(
            self.embed(x), lengths.cpu(), batch_first=True, enforce_sorted=False)
        outputs, _ = self.lstm(packed)
        outputs, _ = nn.utils.rnn.pad_packed_sequence(
            outputs, batch_first=True, total_length=x.shape[1])  # (N, T, 2H)
        pooled, weights = attention_pooling(outputs, self.score(outputs).squeeze(-1),
                                            lengths)
        return self.head(pooled), weights


set_seed(0)
attention_model = AttentionClassifier()
optimizer = torch.optim.Adam(attention_model.parameters(), lr=1e-2)
for _ in range(120):
    x, lengths, labels = marker_batch(64)
    loss = F.cross_entropy(attention_model(x, lengths)[0], labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
x_test, lengths_test, labels_test = marker_batch(1000,
                                                 torch.Generator().manual_seed(7))
with torch.no_grad():
    logits, attention = attention_model(x_test, lengths_test)
marker_accuracy = (logits.argmax(1) == labels_test).float().mean().item()
check_bar("attention classifier, accuracy on the marker task", marker_accuracy, 0.9)

fig, ax = plt.subplots(figsize=(9, 3.2))
ax.imshow(attention[:6].numpy(), cmap="Blues", vmin=0, vmax=1)
for i in range(6):
    for t in range(MAX_LEN):
        symbol = int(x_test[i, t])
        text = {MARKER: "M", PAD: ""}.get(symbol, str(symbol))
        color = "white" if attention[i, t] > 0.5 else "black"
        ax.text(t, i, text, ha="center", va="center", fontsize=9,
                color="red" if symbol == MARKER else color)
ax.set(xlabel="step t (M: the marker; empty: padding)", ylabel="sequence",
       title="Attention weights of six test sequences (darker: more weight)")
plt.show()

# %% [markdown]
# The weight concentrates on the marker or the digit after it (where exactly is
# up to the training run: the backward LSTM state at the marker already holds
# the next digit), and the padding gets none. This is also a warning: attention
# weights show where the pooling looked, which is not always the step that
# "explains" the decision, because each output $o_t$ of a bidirectional LSTM
# already mixes information from the whole sequence.
#
# ## 10.9 A character-level language model
#
# A **language model** assigns a probability to every possible next symbol given
# the ones before:
#
# $$p(x_0, \dots, x_{T-1}) = \prod_{t} p(x_t \mid x_0, \dots, x_{t-1}).$$
#
# An RNN is a natural fit: its state $h_{t-1}$ summarises $x_0, \dots, x_{t-1}$, and
# a linear layer plus a softmax turns it into the distribution of $x_t$.
# Training minimises the cross-entropy of the true next character (chapter 3),
# measured in **nats per character** (natural log). Its exponential is the
# *perplexity*, the number of equally likely characters the model is as unsure
# as. Training feeds the true previous characters at every step, whatever the
# model would have predicted (*teacher forcing*); generating feeds back the
# model's own samples.
#
# The corpus is the documentation that ships with Python itself
# (`pydoc_data.topics`, what `help("assert")` shows): plain English about Python,
# available offline. Its exact size depends on the Python version.

# %%
corpus, chars, train_text, val_text = load_python_docs_chars(0.9)  # no shuffle: no leak
char_to_index = {c: i for i, c in enumerate(chars)}
VOCAB = len(chars)
print(f"{len(corpus):,} characters, {VOCAB} distinct; "
      f"{len(train_text):,} for training, {len(val_text):,} for validation")
print(textwrap.indent(corpus[:280], "  | ", lambda line: True))

# %% [markdown]
# ### Baselines first
#
# A number like "1.6 nats per character" means little alone. Two baselines,
# estimated on the training text with add-one smoothing (so that a character
# never seen in training still has a small probability) and evaluated on the
# validation text, tell us what a model gets for free:
#
# - the **unigram** model predicts every character by its overall frequency,
#   ignoring context; its loss is the cross-entropy of the validation text under
#   those frequencies;
# - the **bigram** model predicts from the previous character only.
#
# Guessing uniformly among the characters costs $\log V$.

# %%
unigram = torch.bincount(train_text, minlength=VOCAB).double() + 1
unigram_loss = -(unigram / unigram.sum()).log()[val_text].mean().item()
bigram = torch.ones(VOCAB, VOCAB, dtype=torch.float64)  # add-one smoothing
bigram.index_put_((train_text[:-1], train_text[1:]),
                  torch.ones(len(train_text) - 1, dtype=torch.float64),
                  accumulate=True)
bigram_loss = -(bigram / bigram.sum(1, keepdim=True)).log()[
    val_text[:-1], val_text[1:]].mean().item()
print(f"uniform guess: {math.log(VOCAB):.3f} nats/char")
print(f"unigram:       {unigram_loss:.3f} nats/char")
print(f"bigram:        {bigram_loss:.3f} nats/char")

# %% [markdown]
# ### The model and its training
#
# An embedding of each character (32 numbers), an `nn.LSTM` with 128 units and a
# linear layer to the $V$ logits. Training uses **truncated backpropagation
# through time**: each batch holds 32 random windows of 65 characters, the model
# reads the first 64 and predicts characters 1 to 64, and gradients flow back at
# most 64 steps. (A *stateful* variant carries $h$ from one window to the next,
# detached from the graph, to see further back than it backpropagates.) Adam
# with a learning rate of $10^{-2}$ and gradient clipping at norm 1.
#
# The validation loss reads the whole validation text as 64 contiguous streams.
# The bar is **at most 2.0 nats per character**, far below the unigram baseline
# and below the bigram one. With `NUM_STEPS = 500` it takes about ten seconds on
# one CPU core; a GPU, or more patience, can turn the knob up (2,000 steps
# bring it to about 1.3).

# %%
NUM_STEPS = 500  # the knob: more steps give a lower loss (try 3000 on a GPU)
WINDOW, BATCH = 64, 32


class CharLSTM(nn.Module):
    """Characters (N, T) -> logits of the next character (N, T, V), and the state."""

    def __init__(self, vocab_size, embed_size=32, hidden_size=128):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.lstm = nn.LSTM(embed_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, state=None):
        outputs, state = self.lstm(self.embed(x), state)  # (N, T, H)
        return self.head(outputs), state


def random_windows(text, batch, window):
    """batch random windows of window + 1 characters -> inputs and targets."""
    starts = torch.randint(0, len(text) - window - 1, (batch, 1))
    chunk = text[starts + torch.arange(window + 1)].to(device)  # (batch, window + 1)
    return chunk[:, :-1], chunk[:, 1:]


@torch.no_grad()
def validation_loss(model, text, streams=64):
    """Mean next-character loss over text, read as `streams` contiguous rows."""
    model.eval()
    usable = (len(text) - 1) // streams * streams
    inputs = text[:usable].reshape(streams, -1).to(device)
    targets = text[1:usable + 1].reshape(streams, -1).to(device)
    logits, _ = model(inputs)
    model.train()
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                           targets.reshape(-1)).item()


set_seed(0)
char_model = CharLSTM(VOCAB).to(device)
optimizer = torch.optim.Adam(char_model.parameters(), lr=1e-2)
train_losses, val_points = [], []
for step in progress(range(1, NUM_STEPS + 1), desc="training"):
    inputs, targets = random_windows(train_text, BATCH, WINDOW)
    logits, _ = char_model(inputs)
    loss = F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(char_model.parameters(), max_norm=1.0)
    optimizer.step()
    train_losses.append(loss.item())
    if step % 100 == 0 or step == NUM_STEPS:
        val_points.append((step, validation_loss(char_model, val_text)))

final_val_loss = val_points[-1][1]
print(f"unigram baseline {unigram_loss:.3f}, bigram baseline {bigram_loss:.3f} "
      f"nats/char; LSTM {final_val_loss:.3f} nats/char "
      f"(perplexity {math.exp(final_val_loss):.1f})")
check_bar("validation loss of the character LSTM (nats/char)", final_val_loss, 2.0,
          higher_is_better=False)

fig, ax = plt.subplots(figsize=(7.5, 3.8))
ax.plot(range(1, len(train_losses) + 1), train_losses, lw=0.8, alpha=0.6,
        label="training batch")
ax.plot(*zip(*val_points, strict=True), "o-", label="validation")
ax.axhline(unigram_loss, color="gray", ls="--", label="unigram baseline")
ax.axhline(bigram_loss, color="gray", ls=":", label="bigram baseline")
ax.set(xlabel="training step", ylabel="loss (nats per character)", ylim=(0, 5),
       title="Character-level LSTM on Python's documentation")
ax.legend()
plt.show()

# %% [markdown]
# ### Sampling, and the temperature
#
# To generate, feed a prompt, then repeatedly draw the next character from the
# model's distribution and feed it back, carrying the LSTM state so that each
# step costs the same. Dividing the logits by a **temperature** $\tau$ before the
# softmax reshapes the distribution: $\tau < 1$ sharpens it (safer, more
# repetitive text), $\tau > 1$ flattens it (more surprising, more misspelt),
# $\tau \to 0$ always picks the most likely character.
#
# $$p_\tau(x_t = k) = \frac{e^{z_k / \tau}}{\sum_j e^{z_j / \tau}} .$$
#
# To put a number on "recognisable words", the cell also counts how many of the
# sampled words (runs of letters) occur somewhere in the corpus.

# %%
@torch.no_grad()
def sample_text(model, prompt, num_chars, temperature=1.0, seed=0):
    """Continue prompt by num_chars characters sampled from the model."""
    model.eval()
    generator = torch.Generator(device=device).manual_seed(seed)
    x = torch.tensor([[char_to_index[c] for c in prompt]], device=device)
    logits, state = model(x)
    out = []
    for _ in range(num_chars):
        probs = torch.softmax(logits[0, -1] / temperature, dim=0)
        next_index = torch.multinomial(probs, 1, generator=generator)
        out.append(chars[next_index.item()])
        logits, state = model(next_index.view(1, 1), state)
    model.train()
    return prompt + "".join(out)


known_words = set(re.findall(r"[A-Za-z]+", corpus))
sample = sample_text(char_model, "The ", 400, temperature=0.8)
words = re.findall(r"[A-Za-z]+", sample[4:])
print(sample)
print(f"\n{sum(w in known_words for w in words)} of {len(words)} sampled words "
      "occur in the corpus")

# %% [markdown]
# Move the temperature and the seed. The bars show the model's distribution of
# the character after the prompt "The value of ", and the text a sample of 250
# characters at that temperature.

# %%
def show_temperature(temperature=0.8, seed=0):
    prompt = "The value of "
    with torch.no_grad():
        x = torch.tensor([[char_to_index[c] for c in prompt]], device=device)
        probs = torch.softmax(char_model(x)[0][0, -1] / temperature, dim=0).cpu()
    top = probs.topk(12)
    fig, (ax_bar, ax_text) = plt.subplots(2, 1, figsize=(8, 6),
                                          gridspec_kw={"height_ratios": [1, 1.4]})
    ax_bar.bar([repr(chars[i])[1:-1] for i in top.indices], top.values.numpy())
    ax_bar.set(ylim=(0, 1), xlabel="next character", ylabel="probability",
               title=f"After {prompt!r} at temperature {temperature:.2f}")
    text = sample_text(char_model, prompt, 250, temperature, seed)
    wrapped = "\n".join(textwrap.wrap(text.replace("\n", " "), 80))
    ax_text.text(0, 1, wrapped, va="top", family="monospace", fontsize=9)
    ax_text.set_title("A sample")
    ax_text.axis("off")
    fig.tight_layout()
    return fig


interactive_plot(show_temperature, temperature=(0.1, 2.0, 0.1), seed=(0, 9, 1))

# %% [markdown]
# ## 10.10 Recurrent networks in practice, and today
#
# - **Clip gradients** (`clip_grad_norm_`) when training any RNN; exploding
#   gradients show up as sudden spikes in the loss.
# - **Initialise the forget gate open** (bias 1) for an LSTM that must remember
#   far back; PyTorch's default starts it at about 0.5.
# - **Pack padded batches** for bidirectional models, and read each sequence's
#   final state from `h_n` of the packed run (or at its own last step), never
#   at $T - 1$ of the padded tensor.
# - **Mind the layout**: `nn.LSTM` is time first unless `batch_first=True`, and
#   `h_n` is never batch first.
# - **Regularise** with dropout between stacked layers (`dropout=`), on the
#   embeddings and before the output layer; dropout on the recurrent connection
#   itself should use the same mask at every step (variational dropout, Gal and
#   Ghahramani, 2016), or it keeps damaging the memory.
# - **Derive every new tensor from the input** (`x.new_zeros`), so the model
#   runs unchanged on a GPU and in another dtype.
#
# **Where RNNs stand.** Since 2017, transformers (chapter 11) have replaced
# recurrent networks in most of language processing: they train in parallel
# over all positions and relate any two positions in one step, where an RNN must
# carry the information through every step in between. An RNN keeps two
# strengths: generation costs the same for every new token, with a state of
# fixed size, whereas a transformer attends to a growing context; and it can run
# on an endless stream. Recent architectures combine the two: *linear* recurrent
# layers and state-space models (S4, Mamba) and revised LSTMs (xLSTM) train in
# parallel over time like a transformer and generate step by step like an RNN.
#
# ## 10.11 Summary
#
# - A recurrent network applies one cell at every step and carries a hidden
#   state; unrolled, it is a deep network with shared weights, trained by
#   backpropagation through time.
# - The plain RNN multiplies its gradient by
#   $\operatorname{diag}(1 - h_t^2) W_{hh}$ at every step back: it vanishes
#   (or explodes) geometrically, as measured in section 10.3. Clipping fixes
#   explosions; gating fixes vanishing.
# - The LSTM's cell state is updated by $c_t = f_t \odot c_{t-1} + i_t \odot g_t$:
#   an additive, gated path along which gradients survive when $f_t \approx 1$.
#   PyTorch stacks its gates in the order i, f, g, o; the GRU's in r, z, n, with
#   the reset gate applied to $W_{hn} h + b_{hn}$ and $h_t = (1-z) n + z h$.
# - Create states with the input's dtype and device (`x.new_zeros`): the
#   CPU-only version breaks on a GPU.
# - Bidirectional RNNs see both sides of every position; their backward half
#   needs packed sequences when batches are padded.
# - Attention pooling is a learned weighted mean over the steps; mask padding
#   with $-\infty$ (or the dtype's minimum), never with a fixed $-10^9$.
# - A character LSTM trained for seconds beats the unigram and bigram
#   baselines by a wide margin and writes text with many real words;
#   temperature trades variety for accuracy when sampling.
#
# **Next:** chapter 11 drops the recurrence altogether: the transformer relates
# all positions of a sequence at once with attention, the idea that attention
# pooling introduced here.
