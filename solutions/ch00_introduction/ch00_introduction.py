# %% [markdown]
# # Chapter 00: Introduction to deep learning
#
# This chapter says what deep learning is, where it is used and which families
# of networks you will meet; it walks through the map of the 24 chapters and
# explains how these notebooks are graded. Then it gets your hands on PyTorch:
# tensors, a neuron, a dense layer, counting parameters, and the question that
# decides whether a deep network can learn at all: **how to initialise its
# weights**. It ends with a real network trained on handwritten digits in a few
# seconds, taken apart into the four components that every training set-up has.
#
# **You will learn**
# - what makes learning "deep", what it is used for, and the milestones of
#   convolutional networks from LeNet to ResNet;
# - how the notebooks are graded, and the tensor basics used in every chapter;
# - to write a ReLU and a dense layer yourself and count a model's parameters;
# - why the scale of the initial weights decides whether a deep network trains,
#   and the Xavier and Kaiming rules that fix it;
# - what the output layer returns (logits), when sigmoid and softmax turn them
#   into probabilities, and why PyTorch's losses take logits;
# - the four components of a training set-up: data, model, loss, optimiser.
#
# **Graded exercises** (8 points)
#
# | exercise | what it does | points |
# |---|---|---|
# | `relu(x)` | the ReLU activation, from elementary operations | 2 |
# | `dense_forward(x, W, b)` | a fully connected layer, as `F.linear` | 2 |
# | `count_parameters(model)` | the number of trainable parameters | 2 |
# | `kaiming_normal_std(fan_in)` | the He/Kaiming initialisation scale | 1 |
# | `xavier_uniform_bound(fan_in, fan_out, gain)` | the Glorot/Xavier bound | 1 |
#
# Each exercise is a function whose docstring states its whole contract:
# shapes, dtypes, devices, edge cases and the built-ins you may not call.
# Section 0.5 explains how the tests work.

# %% [markdown]
# ## 0.1 What deep learning is
#
# In classical programming a person writes the rules. In **machine learning** a
# program *fits* the rules to examples: it has adjustable numbers (parameters)
# and an algorithm that tunes them so that the program's outputs match the
# examples. **Deep learning** is the part of machine learning whose models are
# *neural networks with many layers*: long chains of simple, differentiable
# functions
#
# $$
# f(\mathbf{x}) = f_L\bigl(f_{L-1}(\cdots f_2(f_1(\mathbf{x}))\cdots)\bigr),
# $$
#
# where each layer $f_\ell$ is typically a linear map followed by a fixed
# nonlinearity, and all the layers are trained together, end to end, by
# gradient descent on a loss (the gradients come from backpropagation, which
# is the chain rule applied layer by layer; chapter 02).
#
# Why stack many layers instead of using one very wide one? Each layer can
# reuse what the previous one computed. In an image network the first layers
# end up responding to edges and colour blobs, the middle ones to textures and
# parts (an eye, a wheel), the last ones to whole objects. Nobody programs
# these detectors: they are **learned representations**, and learning them
# from raw data is what sets deep learning apart from methods that need
# hand-designed features.
#
# | | classical machine learning | deep learning |
# |---|---|---|
# | features | mostly designed by people | learned from raw data |
# | data needed | often hundreds of examples | thousands or more (fewer with transfer) |
# | compute | a laptop CPU | GPUs or other accelerators for large models |
# | strong on | small tabular data | images, audio, text, anything with structure |
#
# Artificial "neurons" are loosely inspired by biological ones, but they are
# just weighted sums followed by a simple function; the success of deep
# learning comes from data, compute and a set of engineering ideas (good
# initialisation, normalisation, residual connections, attention...) that this
# course teaches one by one.

# %% [markdown]
# ## 0.2 Where deep learning is used
#
# Most of what people now call "AI" is deep learning. A few places where you
# have probably met it:
#
# | area | what deep networks do there |
# |---|---|
# | vision | label photos, find and outline objects, unlock phones by face |
# | medicine | flag findings in X-rays, scans and microscope slides |
# | language | translate, search, answer questions, write and explain code |
# | speech and audio | transcribe speech, voice assistants, synthesise voices |
# | recommendation | rank what to watch, read or buy next |
# | generation | draw images from a text prompt, compose audio |
# | science | predict protein structures, forecast the weather |
# | control | play board and video games, assist drivers |
#
# The same few ideas run through all of these: a network maps an input (pixels,
# words, sound, a user's history) to an output (a label, a number, the next
# word, an image), and its parameters are fitted to examples by gradient
# descent. What changes from one application to the next is the *shape* of the
# data, which decides the architecture, and the loss, which says what "good"
# means.

# %% [markdown]
# ## 0.3 The families you will meet
#
# **Convolutional networks (CNNs, chapter 09)** are built for data on a grid,
# such as images. A small filter (say $3\times 3$) slides over the image and
# computes a weighted sum at every position, so the same few weights are reused
# everywhere: a pattern is detected wherever it appears. The *stride* is the
# step of the slide (a larger stride gives a smaller output), *padding* adds
# zeros at the border to control the output size, and the *receptive field* of
# a unit is the patch of the input that can influence it; it grows with depth.
# A classic stack is `conv -> ReLU -> pooling -> ... -> dense`. Detectors such
# as YOLO are CNN-based systems for one task (finding objects), not a separate
# family.
#
# CNNs are also where the deep-learning boom began. Five networks mark the
# road, each remembered for one idea that later networks kept:
#
# | year | network | the idea it brought |
# |---|---|---|
# | 1998 | LeNet-5 | convolution and subsampling layers trained end to end |
# | 2012 | AlexNet | a large CNN trained on GPUs, with ReLU and dropout |
# | 2014 | VGG | depth from stacks of small $3\times 3$ filters |
# | 2014 | GoogLeNet | Inception blocks: several filter sizes side by side |
# | 2015 | ResNet | residual connections $\mathbf{y} = \mathbf{x} + F(\mathbf{x})$ |
#
# * **LeNet-5** (LeCun and colleagues) read handwritten digits, including on
#   bank cheques: two convolution-and-subsampling stages, then dense layers,
#   every weight learned by backpropagation instead of designed by hand.
# * **AlexNet** (Krizhevsky, Sutskever, Hinton) won the 2012 ImageNet challenge
#   (over a million labelled photos in 1000 classes) by a wide margin. Its
#   recipe (a much bigger network, ReLU instead of saturating activations,
#   dropout against overfitting, data augmentation, training on GPUs) made
#   the rest of the field switch to deep networks.
# * **VGG** (Simonyan and Zisserman) used only $3\times 3$ filters and went to
#   16 and 19 layers. Two stacked $3\times 3$ convolutions see a $5\times 5$
#   patch with $2 \cdot 9 = 18$ weights per channel pair instead of 25, and
#   put a nonlinearity in between.
# * **GoogLeNet** (Szegedy and colleagues, winner in 2014) is built from
#   *Inception* blocks that run $1\times 1$, $3\times 3$ and $5\times 5$
#   convolutions and a pooling side by side and concatenate the results; $1\times
#   1$ convolutions first shrink the number of channels, so its 22 layers need
#   far fewer parameters than AlexNet or VGG.
# * **ResNet** (He and colleagues, winner in 2015) adds each block's input to its
#   output. Plain networks made much deeper trained *worse*, even on their
#   training data; with these shortcuts, gradients reach the first layers and
#   networks of 152 layers train well. Almost every modern architecture,
#   transformers included, keeps them.
#
# Section 0.10 counts the parameters of LeNet-5, AlexNet and VGG-16, and
# chapters 09, 13 and 14 build these ideas.
#
# **Recurrent networks (RNNs, chapter 10)** read a sequence one step at a time
# and carry a hidden state,
# $\mathbf{h}_t = \tanh(W_x \mathbf{x}_t + W_h \mathbf{h}_{t-1} + \mathbf{b})$.
# Training multiplies by $W_h$ once per step, so gradients over long sequences
# tend to vanish or explode (the same problem as in deep networks, see
# section 0.11). **LSTMs** and **GRUs** add *gates*, learned switches that
# decide what to keep and what to overwrite. A GRU has an *update gate* (how
# much of the old state to carry on) and a *reset gate* (how much of the past
# to use when proposing a new state); it has fewer parameters than an LSTM.
#
# **Transformers (chapters 11, 22, 23)** drop the step-by-step reading: every
# position looks at every other position at once, through **attention**. Each
# position emits a *query* ("what am I looking for?"), a *key* ("what do I
# contain?") and a *value* ("what do I pass on?"); stacking them as rows of
# $Q \in \mathbb{R}^{T_q\times d_k}$, $K \in \mathbb{R}^{T_k\times d_k}$ and
# $V \in \mathbb{R}^{T_k\times d_v}$,
#
# $$
# \operatorname{Attention}(Q, K, V)
#   = \operatorname{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}}\right) V ,
# $$
#
# with the softmax taken over each row, so every output row is a weighted
# average of the values. The $\sqrt{d_k}$ keeps the scores at unit scale: a dot
# product of $d_k$ independent unit-variance terms has variance $d_k$ (the same
# argument as weight initialisation, section 0.11). *Multi-head* attention runs
# several attentions side by side on smaller projections, so different heads
# can track different relations. Because attention by itself ignores order
# ("dog bites man" and "man bites dog" contain the same words), positions are
# injected with *positional encodings*: the sinusoids of the original
# Transformer, learned vectors, or rotary encodings in many recent models.
# BERT (an encoder), GPT (a decoder) and T5 (encoder-decoder) are transformers.
#
# **Generative models (chapters 20, 21)** learn to produce new data.
# A **GAN** trains a *generator* that turns noise into samples against a
# *discriminator* that tries to tell them from real data. A **VAE** learns an
# encoder to a latent space and a decoder back, with a probabilistic twist that
# makes the latent space easy to sample from. **Diffusion models** (behind most
# current image generators) fix a forward process that gradually drowns an
# image $\mathbf{x}_0$ in Gaussian noise,
# $\mathbf{x}_t = \sqrt{\bar\alpha_t}\,\mathbf{x}_0
#   + \sqrt{1-\bar\alpha_t}\,\boldsymbol{\varepsilon}$ with
# $\boldsymbol{\varepsilon} \sim \mathcal{N}(\mathbf{0}, I)$ and $\bar\alpha_t$
# falling from about 1 to about 0, and train a network to predict the noise
# $\boldsymbol{\varepsilon}$ from $\mathbf{x}_t$ and $t$. To generate, they
# start from pure noise and remove it a little at a time, over many steps.
#
# **Transfer learning (chapter 19)**: a network trained on a large dataset has
# learned features that are useful elsewhere, so instead of starting from
# random weights you start from *pretrained* ones and *fine-tune* them (all of
# them, or only a new head with the rest frozen) on your smaller dataset. It
# needs far less data and compute, which is why it is the default for most
# applied work; someone still trains the large base models from scratch.
#
# | family | typical data | key idea | chapters |
# |---|---|---|---|
# | MLP | feature vectors | stacked dense layers | 08 |
# | CNN | images, spectrograms | local filters shared across positions | 09, 13, 14 |
# | RNN / LSTM / GRU | sequences, time series | a state carried through time | 10 |
# | Transformer | text, code, image patches | attention between positions | 11, 22, 23 |
# | GAN / VAE / diffusion | images, audio | learn to generate new samples | 20, 21 |

# %% [markdown]
# ## 0.4 The course map
#
# Four blocks: the mathematics (01-04), data and tasks (05-07), architectures
# (08-14, 20-23) and practice (15-19, 24). Every chapter is one notebook like
# this one, with at least four graded exercises.
#
# | ch | topic | what you build |
# |---|---|---|
# | 00 | Introduction | ReLU, a dense layer, parameter counts, initialisation |
# | 01 | Linear algebra | dot products, norms, a linear layer, power iteration, PCA |
# | 02 | Calculus | numerical derivatives, activation derivatives, backprop by hand |
# | 03 | Probability | entropy, KL divergence, a stable log-softmax, cross-entropy |
# | 04 | Optimization | gradient descent, momentum, Adam and AdamW, step by step |
# | 05 | Data types | one-hot codes, vocabularies, image layouts, spectrograms |
# | 06 | ML tasks | classification, regression, k-means, a first Q-learning update |
# | 07 | Data properties | translation equivariance, word order, noise in audio |
# | 08 | MLP | deep multilayer perceptrons, universal approximation |
# | 09 | CNN | convolution and pooling from scratch, residual and SE blocks |
# | 10 | RNN | RNN, LSTM and GRU cells that match PyTorch's |
# | 11 | Transformers | scaled dot-product and multi-head attention, an encoder block |
# | 12 | Layers | batch and layer norm, activations, dropout, DropBlock |
# | 13 | Architecture patterns | residual vs plain depth, dense blocks, attention |
# | 14 | Modern architectures | a Vision Transformer, compound scaling, model sizes |
# | 15 | Data preparation | datasets, padding collate, scaling fitted on train only |
# | 16 | Training | the training loop, early stopping, clipping, LR schedules |
# | 17 | Metrics | precision, recall, F1, confusion matrix, ROC AUC, regression |
# | 18 | Debugging | gradient norms, dead ReLUs, overfitting one batch, profiling |
# | 19 | Transfer learning | freezing, new heads, per-group learning rates |
# | 20 | GANs | generator, discriminator, the non-saturating loss |
# | 21 | Autoencoders and VAEs | reparameterisation, the VAE loss, latent walks |
# | 22 | Attention | additive attention, padding and causal masks, cross-attention |
# | 23 | Modern transformers | a GPT block, a tiny character GPT, BERT masking |
# | 24 | Optimization and scaling | warm-up, accumulation, mixed precision, DDP |

# %% [markdown]
# ## 0.5 How these notebooks work, and how you are graded
#
# The notebooks are graded automatically with
# [nbgrader](https://nbgrader.readthedocs.io). Each exercise has three parts:
#
# 1. **A markdown cell** that explains the task, the maths, and what your result
#    must match.
# 2. **An answer cell** with a function's signature and docstring, and a body
#    that reads `# YOUR CODE HERE` / `raise NotImplementedError()`. Replace
#    those two lines with your code. Keep the function's name and arguments:
#    the grader calls it by name. **The docstring is the contract**: shapes,
#    dtypes, devices, edge cases, what must be raised, and which built-ins are
#    off limits.
# 3. **A locked test cell**. Run it: if it prints nothing, the visible tests
#    pass; otherwise its error message says what was expected and what came
#    out. The visible tests show every rule that the grader checks: each dtype
#    and device rule, each edge case, and the built-ins you may not call (while
#    a test runs, those are replaced by a function that raises
#    `ForbiddenCallError`). When the notebook is graded, each test cell also
#    contains **hidden tests** that check the same rules on other values,
#    shapes and seeds, so an answer that only fits the visible examples (a
#    hard-coded result, say) still loses points.
#
# Before you submit: **Kernel → Restart Kernel and Run All Cells**, then press
# **Validate** (or run `nbgrader validate ch00_introduction.ipynb` in a
# terminal). The grader runs your notebook from top to bottom in a fresh
# kernel, so a result that only works because of a cell you ran earlier and
# then deleted will not count. Do not delete, copy or reorder the graded cells:
# nbgrader recognises them by their hidden ids. Unfinished exercises simply
# raise `NotImplementedError`, which you will see in cells that use them.

# %% [markdown]
# ## 0.6 Set-up and environment check
#
# Every chapter starts with one imports cell. `dlcourse` is the course's small
# helper package: device choice, seeding, offline datasets, plots and the
# checks that the tests use.

# %%
import math

import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F

import dlcourse
from dlcourse import environment_report, get_device, progress, set_seed
from dlcourse.checks import RELUS, assert_close, assert_shape, expect_raises, forbid
from dlcourse.data import load_digits, train_test_split
from dlcourse.plotting import plot_curves, plot_images
from dlcourse.widgets import interactive_plot

device = get_device()  # the tests also run your code on this device
set_seed(0)

# %% [markdown]
# `get_device()` picks the fastest device available, in the order CUDA GPU,
# Apple GPU (`mps`), CPU. Every notebook runs unchanged on any of them; set the
# environment variable `DLCOURSE_DEVICE=cpu` to force the CPU. If the next
# cell fails, fix your installation first (see the course README).

# %%
print(f"dlcourse {dlcourse.__version__}")
for key, value in environment_report().items():
    print(f"{key:>12}: {value}")

torch_version = tuple(int(part) for part in torch.__version__.split(".")[:2])
assert torch_version >= (2, 3), (
    f"this course needs PyTorch 2.3 or newer, found {torch.__version__}: "
    "reinstall the environment from the course README"
)
print("environment OK, tensors will live on", device)

# %% [markdown]
# ## 0.7 Tensors in five minutes
#
# A **tensor** is PyTorch's n-dimensional array. Three attributes matter all
# the time: its `shape`, its `dtype` (`float32` by default for real numbers,
# `int64` for integers) and its `device` (where it lives and where operations
# on it run).

# %%
a = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])  # (2, 3) float32
b = torch.arange(6).reshape(2, 3)  # (2, 3) int64
gen = torch.Generator().manual_seed(0)  # an explicit, seeded random stream
c = torch.randn(2, 3, generator=gen)  # standard normal samples
print(a.shape, a.dtype, a.device)
print(b.dtype, c.dtype)

# %% [markdown]
# Arithmetic is elementwise; reductions take a `dim`; shapes that differ are
# **broadcast**: dimensions of size 1 (or missing on the left) are stretched to
# match, without copying. `@` is the matrix product.

# %%
print(a + 10)  # the scalar is broadcast to (2, 3)
print(a * torch.tensor([1.0, 0.0, -1.0]))  # (2, 3) * (3,): each row scaled
print(a.sum(dim=0), a.mean(dim=1))  # column sums (3,), row means (2,)
print(a @ a.T)  # (2, 3) @ (3, 2) -> (2, 2)

# %% [markdown]
# Operations need their operands on the same device. Move a tensor with
# `.to(...)`, and create new tensors *like* an existing one (`x.new_zeros`,
# `torch.zeros_like`, or `device=x.device`) so that code written on a laptop
# also runs on a GPU.

# %%
x = a.to(device=device, dtype=torch.float64)
print(x.device, x.dtype)
print(x.new_zeros(3).device, torch.zeros_like(x).dtype)

# %% [markdown]
# Finally, **autograd**: tensors created with `requires_grad=True` record the
# operations applied to them, and `.backward()` computes gradients by the chain
# rule. For $y = (\mathbf{w}^\top\mathbf{x})^2$ we expect
# $\partial y / \partial \mathbf{w} = 2(\mathbf{w}^\top\mathbf{x})\,\mathbf{x}$;
# here $\mathbf{w}^\top\mathbf{x} = 4.5$, so the gradient is $9\,\mathbf{x}$.

# %%
w = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
x = torch.tensor([1.0, 2.0, 3.0])
y = (w * x).sum() ** 2
y.backward()
print(y.item(), w.grad)  # 20.25 and 9 * x = [9, 18, 27]

# %% [markdown]
# ## 0.8 A first neuron and the ReLU
#
# An artificial neuron takes $D$ inputs $\mathbf{x} \in \mathbb{R}^D$, computes
# a weighted sum plus a bias, and passes it through an **activation function**
# $\phi$:
#
# $$
# z = \mathbf{w}^\top\mathbf{x} + b = \sum_{i=1}^{D} w_i x_i + b,
# \qquad a = \phi(z).
# $$
#
# The activation must be nonlinear. Without it, two layers collapse into one:
# $W_2(W_1\mathbf{x} + \mathbf{b}_1) + \mathbf{b}_2
# = (W_2 W_1)\mathbf{x} + (W_2\mathbf{b}_1 + \mathbf{b}_2)$, which is again a
# single linear map, however many layers you stack.
#
# The most used activation in hidden layers is the **rectified linear unit**,
#
# $$
# \operatorname{ReLU}(z) = \max(z, 0) =
# \begin{cases} z & z > 0 \\ 0 & z \le 0 \end{cases},
# \qquad
# \operatorname{ReLU}'(z) = \begin{cases} 1 & z > 0 \\ 0 & z < 0 \end{cases}.
# $$
#
# It is cheap, and its gradient is exactly 1 for every active unit, so it does
# not shrink gradients the way $\tanh$ and the sigmoid do once they saturate.
#
# ### Exercise 1: `relu` (2 points)
#
# Implement ReLU **from elementary operations**: comparisons, `torch.where`,
# `torch.maximum` or multiplying by a mask are all fine. The ready-made
# versions are off limits, and the tests make sure of it: `torch.relu`,
# `F.relu`, `Tensor.relu`, `clamp`, `clamp_min`, `clip`, `F.threshold`, and
# NumPy's `maximum` and `clip` (the group `dlcourse.checks.RELUS`). The result
# must be a new tensor (leave `x` untouched), keep `x`'s dtype (integers stay
# integers) and device, and let gradients flow back through autograd.

# %% grade_id="ch00-relu"
def relu(x):
    """Rectified linear unit, applied elementwise: relu(x) = max(x, 0).

    Args:
        x: a tensor of any shape (0-d scalars and empty tensors included), of a
            floating-point or integer dtype, on any device. Its values are
            finite (NaN and infinities are not tested).

    Returns:
        A new tensor with the same shape, dtype and device as ``x``: each
        element equals ``x`` where ``x > 0`` and 0 elsewhere (so relu(0) = 0).
        ``x`` itself is not modified. The result supports autograd: its
        gradient with respect to ``x`` is 1 where ``x > 0`` and 0 where
        ``x < 0``.

    Not allowed (dlcourse.checks.RELUS): torch.relu, F.relu, Tensor.relu
    (and their in-place ``_`` forms), torch.clamp / clamp_min / clip and
    their Tensor methods, F.threshold, numpy.maximum and numpy.clip.
    """
    ### BEGIN SOLUTION
    return torch.where(x > 0, x, torch.zeros_like(x))
    ### END SOLUTION


# %% [markdown]
# Try it: plot your ReLU and the gradient that autograd computes for it.

# %%
z = torch.linspace(-3.0, 3.0, 121, requires_grad=True)
relu(z).sum().backward()  # d(sum relu(z))/dz_i = relu'(z_i)
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(z.detach(), relu(z).detach(), label="relu(z)")
ax.plot(z.detach(), z.grad, "--", label="gradient from autograd")
ax.set_xlabel("z")
ax.grid(alpha=0.3)
ax.legend()
plt.show()

# %% grade_id="ch00-relu-tests" points=2
"""relu: max(x, 0) on a small example; x left unchanged; float64 on device and
int64 keep their dtype and device; a 0-d and an empty tensor; the gradient through
autograd; no built-in ReLU (dlcourse.checks.RELUS).

Hidden tests: the same rules on random tensors of other shapes and seeds.
"""


def relu_without_builtins(x):
    """Your relu(x), run while the built-ins in RELUS raise if they are called."""
    with forbid(*RELUS):
        return relu(x)


x = torch.tensor([-2.0, -0.5, 0.0, 0.5, 3.0])
out = relu_without_builtins(x)
assert_close(out, torch.tensor([0.0, 0.0, 0.0, 0.5, 3.0]),
             name="relu([-2, -0.5, 0, 0.5, 3])")
assert_close(x, torch.tensor([-2.0, -0.5, 0.0, 0.5, 3.0]),
             name="x after calling relu(x) (x must not change)")
x64 = torch.tensor([[-1.5, 2.25, 0.0], [0.75, -3.0, 7.0]], dtype=torch.float64,
                   device=device)
out = relu_without_builtins(x64)
assert_close(out, torch.tensor([[0.0, 2.25, 0.0], [0.75, 0.0, 7.0]],
                               dtype=torch.float64),
             name="relu(x) for a float64 x of shape (2, 3) on device")
assert out.device == x64.device, (
    f"relu(x): expected the result on {x64.device}, got it on {out.device}")
ints = torch.tensor([-3, 0, 4, -1, 7], device=device)
out = relu_without_builtins(ints)
assert_close(out, torch.tensor([0, 0, 4, 0, 7]),
             name="relu(x) for an int64 x (the dtype must stay int64)")
assert out.device == ints.device, (
    f"relu(x): expected the result on {ints.device}, got it on {out.device}")
assert_close(relu_without_builtins(torch.tensor(-1.25, dtype=torch.float64)),
             torch.tensor(0.0, dtype=torch.float64), name="relu of a 0-d tensor -1.25")
assert_shape(relu_without_builtins(torch.empty(0, 3, device=device)), (0, 3),
             name="relu of an empty tensor of shape (0, 3)")
x_grad = torch.tensor([-1.5, 2.0, 0.7, -0.3], dtype=torch.float64, requires_grad=True)
out = relu_without_builtins(x_grad)
assert out.requires_grad, (
    "relu(x) cut the autograd graph (its result does not require grad): use "
    "tensor operations on x, not NumPy, .detach() or torch.tensor(...)")
out.sum().backward()
assert_close(x_grad.grad, torch.tensor([0.0, 1.0, 1.0, 0.0], dtype=torch.float64),
             name="gradient of relu(x).sum() at x = [-1.5, 2, 0.7, -0.3]")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(0)
for _shape in [(7,), (1, 5), (3, 4, 5), (), (0, 3), (2, 0, 4)]:
    for _dtype in (torch.float64, torch.float32):
        _x = torch.randn(_shape, generator=_gen, dtype=_dtype).to(device)
        _x_before = _x.clone()
        _got = relu_without_builtins(_x)
        assert_close(_got, torch.relu(_x), rtol=0, atol=0,
                     name=f"relu(x) for {_dtype} x of shape {_shape}")
        assert _got.device == _x.device, (
            f"relu(x): expected the result on {_x.device}, got it on {_got.device}")
        assert_close(_x, _x_before,
                     name=f"x of shape {_shape} after relu(x) (x must not change)")
_ints = torch.randint(-50, 50, (4, 6), generator=_gen).to(device)
_got = relu_without_builtins(_ints)
assert_close(_got, torch.relu(_ints), name="relu(x) for an int64 x of shape (4, 6)")
assert _got.device == _ints.device, (
    f"relu(x): expected the result on {_ints.device}, got it on {_got.device}")
_x = torch.randn(3, 7, generator=_gen, dtype=torch.float64).to(device)
_x = (_x + 0.1 * _x.sign()).requires_grad_()  # keep every value away from 0
_out = relu_without_builtins(_x)
assert _out.requires_grad, "relu(x) cut the autograd graph"
_out.sum().backward()
assert_close(_x.grad, (_x > 0).to(torch.float64),
             name="gradient of relu(x).sum() for a random x of shape (3, 7)")
### END HIDDEN TESTS

# %% [markdown]
# ## 0.9 A dense layer
#
# A **dense** (fully connected, linear) layer is $D_\text{out}$ neurons that all
# read the same $D_\text{in}$ inputs. Stack each neuron's weight vector as a
# *row* of a matrix $W \in \mathbb{R}^{D_\text{out} \times D_\text{in}}$ and
# the layer computes $\mathbf{y} = W\mathbf{x} + \mathbf{b}$ for one input.
# Networks process a **batch** of $N$ inputs at once, stored as the rows of
# $X \in \mathbb{R}^{N \times D_\text{in}}$; transposing the one-input formula
# row by row gives
#
# $$
# Y = X W^\top + \mathbf{b},
# \qquad
# Y_{nj} = \sum_{i=1}^{D_\text{in}} X_{ni} W_{ji} + b_j,
# $$
#
# where the bias row $\mathbf{b} \in \mathbb{R}^{D_\text{out}}$ is broadcast
# over the $N$ rows. This is exactly PyTorch's convention: `nn.Linear(D_in,
# D_out).weight` has shape `(D_out, D_in)` (row $j$ belongs to neuron $j$), and
# `F.linear(x, W, b)` computes $X W^\top + \mathbf{b}$. Mixing up the layout
# (writing `x @ W`) is one of the most common bugs; with
# $D_\text{in} \ne D_\text{out}$ it fails loudly, with a square $W$ it silently
# computes the wrong thing.
#
# ### Exercise 2: `dense_forward` (2 points)
#
# Implement the forward pass with matrix operations (`@`, `.T`, `torch.matmul`,
# `torch.einsum`... are all allowed), without `F.linear` or `nn.Linear` (which
# calls `F.linear`). The layer may have no bias: then `b` is `None`. The
# result must match `F.linear(x, W, b)`, in the dtype and on the device of the
# inputs, also for a batch of one input or an empty batch.

# %% grade_id="ch00-dense"
def dense_forward(x, W, b):
    """Forward pass of a dense layer: y = x W^T + b.

    N is the batch size, D_in the number of input features and D_out the
    number of output features (neurons).

    Args:
        x: inputs, shape (N, D_in). N may be 1, or even 0 (an empty batch).
        W: weights in PyTorch's layout, shape (D_out, D_in): row j holds the
            weights of output j (the layout of ``nn.Linear.weight``).
        b: biases, shape (D_out,), or None for a layer without bias.
        x, W and b (when given) share one floating-point dtype and one device.

    Returns:
        y of shape (N, D_out), with y[n, j] = sum_i x[n, i] * W[j, i] + b[j]
        (without the b[j] term when b is None): the same as
        ``F.linear(x, W, b)``, with the dtype and device of x.

    Not allowed: F.linear and nn.Linear.
    """
    ### BEGIN SOLUTION
    y = x @ W.T  # (N, D_in) @ (D_in, D_out) -> (N, D_out)
    if b is not None:
        y = y + b  # (D_out,) broadcast over the N rows
    return y
    ### END SOLUTION


# %% [markdown]
# Try it: your function should agree with PyTorch's own layer.

# %%
layer = nn.Linear(3, 4)  # in_features=3, out_features=4
print("weight shape:", tuple(layer.weight.shape))  # (D_out, D_in) = (4, 3)
x = torch.randn(5, 3)
with torch.no_grad():
    same = torch.allclose(dense_forward(x, layer.weight, layer.bias), layer(x))
print("dense_forward matches nn.Linear:", same)

# %% grade_id="ch00-dense-tests" points=2
"""dense_forward: a hand-computed float32 example with and without bias; float64
on device against F.linear, with a batch of one and an empty batch; no F.linear.

Hidden tests: the same rules on random inputs of other distinct sizes (one input
feature, a square W) and seeds, in float64 and float32.
"""


def dense_without_linear(x, W, b):
    """Your dense_forward(x, W, b), run while F.linear raises if it is called."""
    with forbid("torch.nn.functional.linear"):
        return dense_forward(x, W, b)


x = torch.tensor([[1.0, 2.0, 3.0], [0.0, -1.0, 1.0]])  # (N=2, D_in=3)
W = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0],
                  [0.0, 0.0, 1.0], [1.0, 1.0, 1.0]])  # (D_out=4, D_in=3)
b = torch.tensor([0.5, -0.5, 0.0, 10.0])  # (D_out=4,)
y = dense_without_linear(x, W, b)
assert_shape(y, (2, 4), name="dense_forward(x, W, b) with x (2, 3), W (4, 3)")
assert_close(y, torch.tensor([[1.5, 1.5, 3.0, 16.0], [0.5, -1.5, 1.0, 10.0]]),
             name="dense_forward(x, W, b) (float32 in, float32 out)")
y_no_bias = dense_without_linear(x, W, None)
assert_close(y_no_bias, torch.tensor([[1.0, 2.0, 3.0, 6.0], [0.0, -1.0, 1.0, 0.0]]),
             name="dense_forward(x, W, None)")
rng = torch.Generator().manual_seed(1)
W = torch.randn(3, 5, generator=rng, dtype=torch.float64).to(device)  # (3, 5)
b = torch.randn(3, generator=rng, dtype=torch.float64).to(device)
for n in (4, 1, 0):  # a batch, a batch of one input, an empty batch
    x = torch.randn(n, 5, generator=rng, dtype=torch.float64).to(device)
    y = dense_without_linear(x, W, b)
    assert_close(y, F.linear(x, W, b), rtol=1e-10, atol=1e-12,
                 name=f"dense_forward(x, W, b), float64 x ({n}, 5) on device")
    assert y.device == x.device, (
        f"dense_forward: expected the result on {x.device}, got it on {y.device}")
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(2)


def _draw(*shape, dtype=torch.float64):
    return torch.randn(*shape, generator=_gen, dtype=dtype).to(device)


for _n, _d_in, _d_out in [(5, 3, 4), (1, 7, 2), (6, 1, 3), (0, 4, 5), (3, 6, 6)]:
    _x, _W, _b = _draw(_n, _d_in), _draw(_d_out, _d_in), _draw(_d_out)
    _sizes = f"x {tuple(_x.shape)}, W {tuple(_W.shape)}"
    _got = dense_without_linear(_x, _W, _b)
    assert_close(_got, F.linear(_x, _W, _b), rtol=1e-10, atol=1e-12,
                 name=f"dense_forward(x, W, b) with {_sizes}")
    assert _got.device == _x.device, (
        f"dense_forward: expected the result on {_x.device}, got {_got.device}")
    _got = dense_without_linear(_x, _W, None)
    assert_close(_got, F.linear(_x, _W), rtol=1e-10, atol=1e-12,
                 name=f"dense_forward(x, W, None) with {_sizes}")
_x, _W, _b = (_draw(4, 5, dtype=torch.float32), _draw(3, 5, dtype=torch.float32),
              _draw(3, dtype=torch.float32))
assert_close(dense_without_linear(_x, _W, _b), F.linear(_x, _W, _b),
             rtol=1e-5, atol=1e-6,
             name="dense_forward on float32 inputs (the dtype must stay float32)")
### END HIDDEN TESTS

# %% [markdown]
# ## 0.10 Models and their parameters
#
# In PyTorch a model is an `nn.Module`; layers are modules too, and modules
# nest. Every learnable tensor is an `nn.Parameter`, and
# `model.parameters()` walks through all of them, in every submodule, each
# shared parameter once. A dense layer with $D_\text{in}$ inputs and
# $D_\text{out}$ outputs has $D_\text{in} D_\text{out} + D_\text{out}$
# parameters (weights plus biases).
#
# Two things are *not* trainable parameters, and both will matter later:
#
# * **frozen parameters**, whose `requires_grad` is `False`: the optimiser
#   leaves them alone. Transfer learning (chapter 19) freezes most of a
#   pretrained network.
# * **buffers**, tensors that are saved with the model but not learned, such as
#   the running mean and variance of batch normalisation (chapter 12). They
#   appear in `model.state_dict()` but not in `model.parameters()`.
#
# ### Exercise 3: `count_parameters` (2 points)
#
# Return the number of **trainable** parameters, i.e. scalars that an optimiser
# would update, as a plain Python `int`. This is the number people quote when
# they say a model "has 7B parameters". The docstring lists the cases to get
# right: frozen parameters, buffers, tied weights, 0-d parameters and modules
# without parameters.

# %% grade_id="ch00-count-parameters"
def count_parameters(model):
    """Number of trainable scalar parameters of a PyTorch module.

    Args:
        model: an ``nn.Module`` (it may contain submodules).

    Returns:
        A Python ``int`` (not a tensor): the sum of ``numel()`` over the
        parameters of ``model`` and all its submodules that have
        ``requires_grad=True``. Frozen parameters (``requires_grad=False``) and
        buffers (e.g. BatchNorm's running statistics) are not counted; a
        parameter shared by several submodules (tied weights) is counted once;
        a 0-d parameter counts as 1; a module without parameters gives 0.
    """
    ### BEGIN SOLUTION
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
    ### END SOLUTION


# %% [markdown]
# Try it: the network we will train on digits at the end of the chapter has
# $64 \cdot 64 + 64 = 4160$ parameters in its hidden layer and
# $64 \cdot 10 + 10 = 650$ in its output layer. Freezing the hidden layer
# leaves only the output layer trainable.

# %%
net = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
print("trainable parameters:", count_parameters(net))  # 4810
net[0].requires_grad_(False)  # freeze the hidden layer
print("after freezing the hidden layer:", count_parameters(net))  # 650

# %% grade_id="ch00-count-parameters-tests" points=2
"""count_parameters: a Python int for nn.Linear and a small MLP; a frozen layer
and BatchNorm's buffers are not counted; tied weights count once; a 0-d parameter
counts 1; a module without parameters gives 0.

Hidden tests: the same rules on other modules (no bias, convolution, layer norm,
a frozen output layer, nested modules).
"""


def check_count(model, expected, what):
    got = count_parameters(model)
    assert type(got) is int, (
        f"count_parameters({what}): expected a Python int, got "
        f"{type(got).__name__} {got!r}")
    assert got == expected, f"count_parameters({what}): expected {expected}, got {got}"


check_count(nn.Linear(3, 5), 20, "nn.Linear(3, 5): 3*5 + 5")
mlp = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
check_count(mlp, 44, "Linear(4, 6), ReLU, Linear(6, 2): (4*6 + 6) + (6*2 + 2)")
mlp[0].requires_grad_(False)
check_count(mlp, 14, "the same MLP with its first layer frozen (only 6*2 + 2 train)")
check_count(nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8)), 64,
            "Linear(5, 8) + BatchNorm1d(8): 48 + 16; running stats are buffers")
embed, head = nn.Embedding(10, 4), nn.Linear(4, 10, bias=False)
head.weight = embed.weight  # tied weights: one tensor used by two modules
check_count(nn.Sequential(embed, head), 40,
            "an embedding tied to the output layer (the shared weight counts once)")
scalar = nn.Module()
scalar.temperature = nn.Parameter(torch.tensor(2.0))
check_count(scalar, 1, "a module with a single 0-d parameter")
check_count(nn.ReLU(), 0, "nn.ReLU(), which has no parameters")
### BEGIN HIDDEN TESTS
check_count(nn.Linear(7, 3, bias=False), 21, "nn.Linear(7, 3, bias=False)")
check_count(nn.Conv2d(3, 8, kernel_size=5), 608, "nn.Conv2d(3, 8, 5): 8*3*5*5 + 8")
_model = nn.Sequential(nn.Linear(3, 9), nn.LayerNorm(9), nn.Tanh(), nn.Linear(9, 4))
check_count(_model, 36 + 18 + 40, "Linear(3, 9), LayerNorm(9), Tanh, Linear(9, 4)")
_model[3].requires_grad_(False)
check_count(_model, 36 + 18, "the same model with its output layer frozen")
_model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), nn.Flatten())
check_count(_model, 76 + 8, "Conv2d(2, 4, 3) + BatchNorm2d(4): 4*2*3*3 + 4 + 8")
_inner = nn.Linear(6, 6)
_outer = nn.Sequential(_inner, nn.Sequential(nn.ReLU(), _inner), nn.Linear(6, 1))
check_count(_outer, 42 + 7, "a Linear(6, 6) used twice at two depths, Linear(6, 1)")
_scalars = nn.Module()
_scalars.a = nn.Parameter(torch.tensor(0.5))
_scalars.b = nn.Parameter(torch.tensor(1.5), requires_grad=False)
check_count(_scalars, 1, "two 0-d parameters, one of them frozen")
check_count(nn.Sequential(nn.Dropout(0.1), nn.Flatten()), 0,
            "Dropout and Flatten, which have no parameters")
### END HIDDEN TESTS

# %% [markdown]
# Counting parameters also shows how the CNN milestones of section 0.3 grew.
# The next cell writes LeNet-5, AlexNet and VGG-16 in a few lines each (in the
# common modern form: ReLU and max pooling, AlexNet as in `torchvision`) and
# builds them on PyTorch's `meta` device: a meta tensor has a shape and a
# dtype but no memory, so even VGG-16 costs nothing to build. Your
# `count_parameters` only needs the shapes.

# %%
def conv_stack(in_channels, plan, kernel_size=3, padding=1):
    """Convolutions with ReLU; an "M" in `plan` is a 2x2 max pooling."""
    layers = []
    for item in plan:
        if item == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(in_channels, item, kernel_size, padding=padding),
                       nn.ReLU()]
            in_channels = item
    return layers


def classifier(*sizes):
    """Dense layers with ReLU between them: sizes[0] -> ... -> sizes[-1]."""
    layers = [nn.Flatten()]
    for d_in, d_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(d_in, d_out), nn.ReLU()]
    return layers[:-1]  # no ReLU after the output layer


with torch.device("meta"):  # shapes only, no memory, no initialisation cost
    milestones = {
        "LeNet-5 (1998)": nn.Sequential(  # 1 x 28 x 28 digits
            *conv_stack(1, [6, "M"], kernel_size=5, padding=2),
            *conv_stack(6, [16, "M"], kernel_size=5, padding=0),
            *classifier(16 * 5 * 5, 120, 84, 10)),
        "AlexNet (2012)": nn.Sequential(  # 3 x 224 x 224 photos
            nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            *conv_stack(192, [384, 256, 256]), nn.MaxPool2d(3, 2),
            *classifier(256 * 6 * 6, 4096, 4096, 1000)),
        "VGG-16 (2014)": nn.Sequential(  # 3 x 224 x 224 photos
            *conv_stack(3, [64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
                            512, 512, 512, "M", 512, 512, 512, "M"]),
            *classifier(512 * 7 * 7, 4096, 4096, 1000)),
    }
for name, model in milestones.items():
    print(f"{name:>15}: {count_parameters(model):>11,} trainable parameters")

# %% [markdown]
# ## 0.11 Weight initialisation: why the scale matters
#
# Before training, weights are random. How random is not a detail: in a deep
# network the wrong scale makes the signal **explode or vanish** exponentially
# with depth, and then nothing learns.
#
# Take one dense layer without bias, $z_j = \sum_{i=1}^{n} W_{ji} h_i$, with
# $n = D_\text{in}$ inputs $h_i$ and weights drawn independently with mean 0
# and variance $\sigma^2$. Because the weights are independent of the inputs
# and have mean zero,
#
# $$
# \operatorname{Var}(z_j) = \sum_{i=1}^{n} \operatorname{Var}(W_{ji} h_i)
#   = n\,\sigma^2\,\mathbb{E}[h_i^2].
# $$
#
# * **tanh, near zero**, is close to the identity, so
#   $\mathbb{E}[h^2] \approx \operatorname{Var}(z_\text{previous})$: each layer
#   multiplies the variance by $n\sigma^2$.
# * **ReLU** zeroes the negative half of a symmetric $z$, so
#   $\mathbb{E}[\operatorname{ReLU}(z)^2] = \tfrac12\operatorname{Var}(z)$: each
#   layer multiplies the variance by $\tfrac12 n\sigma^2$.
#
# After $L$ layers the variance is multiplied by that factor $L$ times. With
# $n = 256$ and the "obvious" $\sigma = 1$, a ReLU network multiplies the
# standard deviation by $\sqrt{128} \approx 11$ per layer, i.e. by about
# $10^{31}$ after 30 layers; with $\sigma = 0.01$ it multiplies it by $0.11$,
# and the signal is below $10^{-28}$ after 30 layers. The backward pass has the same
# problem with $D_\text{out}$ in place of $D_\text{in}$: gradients explode or
# vanish too. The fix is to choose $\sigma^2$ so that the factor is 1:
#
# * **Glorot/Xavier** (for tanh and linear layers, 2010) compromises between
#   the forward condition $n_\text{in}\sigma^2 = 1$ and the backward condition
#   $n_\text{out}\sigma^2 = 1$:
#   $$\sigma^2 = \frac{2}{n_\text{in} + n_\text{out}}.$$
#   Drawn from a uniform distribution $\mathcal{U}(-a, a)$, whose variance is
#   $a^2/3$, this gives the bound
#   $a = \sqrt{6 / (n_\text{in} + n_\text{out})}$.
# * **He/Kaiming** (for ReLU, 2015) restores the factor $\tfrac12$ lost to the
#   ReLU: $\sigma^2 = 2 / n_\text{in}$, i.e. a normal distribution with
#   standard deviation $\sigma = \sqrt{2 / n_\text{in}}$.
#
# PyTorch writes both with a **gain** $g$ that depends on the activation
# (`nn.init.calculate_gain`: 1 for linear, $5/3$ for tanh, $\sqrt2$ for ReLU):
# Xavier uses $g\sqrt{2/(n_\text{in} + n_\text{out})}$ as its standard
# deviation and Kaiming uses $g/\sqrt{n_\text{in}}$. Here $n_\text{in}$ and
# $n_\text{out}$ are called the **fan-in** and **fan-out**; for a weight of
# shape `(D_out, D_in)` they are `D_in` and `D_out`.
#
# Let us see it. The cell below pushes a batch of 256 standard-normal vectors
# through 30 dense layers of width 256, initialised with `torch.nn.init`, and
# records the standard deviation of the activations after every layer. It
# computes in float64 on the CPU; the cell after the plot shows why float64.

# %%
INITS = {  # each entry fills a weight of shape (D_out, D_in) in place
    "normal(0, 1)": lambda W, g: nn.init.normal_(W, 0.0, 1.0, generator=g),
    "normal(0, 0.01)": lambda W, g: nn.init.normal_(W, 0.0, 0.01, generator=g),
    "xavier uniform": lambda W, g: nn.init.xavier_uniform_(W, generator=g),
    "kaiming normal": lambda W, g: nn.init.kaiming_normal_(
        W, nonlinearity="relu", generator=g),
}
ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh}


def activation_stds(scheme, activation, depth=30, width=256, batch=256, seed=0,
                    dtype=torch.float64):
    """Std of the activations after each of `depth` random dense layers.

    Returns (stds, h): a list of `depth` floats and the last activations
    (batch, width).
    """
    gen = torch.Generator().manual_seed(seed)
    h = torch.randn(batch, width, generator=gen, dtype=dtype)
    W = torch.empty(width, width, dtype=dtype)
    stds = []
    for _ in range(depth):
        INITS[scheme](W, gen)  # fresh random weights for every layer
        h = ACTIVATIONS[activation](h @ W.T)  # (batch, width)
        stds.append(h.std().item())
    return stds, h


last_layer = {}  # (scheme, activation) -> the activations after layer 30
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
for ax, activation in zip(axes, ACTIVATIONS, strict=True):
    for scheme in INITS:
        stds, last_layer[scheme, activation] = activation_stds(scheme, activation)
        ax.plot(range(1, len(stds) + 1), stds, marker=".", label=scheme)
    ax.set_yscale("log")
    ax.set_title(f"{activation} network, width 256")
    ax.set_xlabel("layer")
    ax.grid(alpha=0.3)
axes[0].set_ylabel("std of the activations")
axes[1].legend()
plt.show()

# %% [markdown]
# Read the plot: with ReLU, $\mathcal{N}(0, 1)$ explodes and
# $\mathcal{N}(0, 0.01^2)$ vanishes as straight lines on the log scale (a
# constant factor per layer), Xavier loses a factor $\sqrt2$ per layer
# (it does not account for the ReLU), and Kaiming stays flat. With tanh the
# small init vanishes just the same, while the large one cannot explode because
# tanh is bounded: instead the units **saturate** at $\pm 1$, where the
# derivative is almost zero, so the gradients vanish.
#
# **Why float64?** After 30 ReLU layers the two normal initialisations leave
# activations around $10^{31}$ and $10^{-29}$ (the next cell prints them). Those
# values fit in float32, whose normal numbers run from about $10^{-38}$ to
# $3 \times 10^{38}$. Their *squares* do not: a variance is a mean of squares,
# and $10^{62}$ overflows to `inf` while $10^{-58}$ underflows to 0. PyTorch's
# `std` copes on the CPU, a variance written by hand as `(h ** 2).mean()`
# does not. And the widget below goes up to 50 layers: there the float32
# activations themselves overflow. float64 reaches about $1.8 \times 10^{308}$,
# so none of this happens in the plots.

# %%
f32 = torch.finfo(torch.float32)
print(f"float32: normal numbers from {f32.tiny:.1e} to {f32.max:.1e}")
for scheme in ("normal(0, 1)", "normal(0, 0.01)"):
    h = last_layer[scheme, "relu"]  # float64, after 30 layers
    h32 = h.float()  # the same values in float32: each one fits
    print(f"{scheme:>15}: largest |h| {h.abs().max():.1e}; in float32 "
          f"std {h32.std():.1e}, mean of squares {(h32 ** 2).mean():.1e}")
stds32, _ = activation_stds("normal(0, 1)", "relu", depth=40, dtype=torch.float32)
bad = [i for i, v in enumerate(stds32, start=1) if not math.isfinite(v)]
print(f"normal(0, 1) computed in float32: std not finite from layer {min(bad)}")

# %% [markdown]
# Use the widget to explore: look at the histogram of the last layer's
# activations for `normal(0, 1)` with tanh.

# %%
def show_activations(scheme="kaiming normal", activation="relu", depth=20,
                     width=256):
    """Plot the std per layer and a histogram of the last layer's activations."""
    stds, h = activation_stds(scheme, activation, depth=depth, width=width)
    _, (ax_std, ax_hist) = plt.subplots(1, 2, figsize=(11, 3.4))
    ax_std.semilogy(range(1, depth + 1), stds, "o-")
    ax_std.set_xlabel("layer")
    ax_std.set_ylabel("std of the activations")
    ax_std.grid(alpha=0.3)
    ax_hist.hist(h.flatten().numpy(), bins=60)
    ax_hist.set_title(f"layer {depth}: std {stds[-1]:.3g}")
    plt.show()


interactive_plot(show_activations, scheme=list(INITS),
                 activation=list(ACTIVATIONS), depth=(1, 50),
                 width=[16, 64, 256, 1024])

# %% [markdown]
# ### Exercise 4: `kaiming_normal_std` (1 point)
#
# Return the standard deviation of He/Kaiming normal initialisation for a ReLU
# layer with `fan_in` inputs per neuron: the $\sigma$ derived above, the one
# `nn.init.kaiming_normal_(W, mode="fan_in", nonlinearity="relu")` samples
# with. A layer must have at least one input: raise a `ValueError` otherwise.
# The result is a Python `float`, exact to double precision: the tests compare
# it with a relative tolerance of $10^{-12}$, so a value that went through a
# float32 tensor (about 8 significant digits) is not precise enough.

# %% grade_id="ch00-kaiming-std"
def kaiming_normal_std(fan_in):
    """Standard deviation of He/Kaiming normal initialisation for ReLU layers.

    Args:
        fan_in: the number of inputs of each neuron (D_in for a dense layer
            whose weight has shape (D_out, D_in)), a Python int.

    Returns:
        A Python float (not a tensor), computed in double precision (float64;
        relative error below 1e-12, so not through a float32 tensor): the
        standard deviation that makes E[h^2] the same before and after a ReLU
        layer, equal to the one that
        ``nn.init.kaiming_normal_(W, mode="fan_in", nonlinearity="relu")``
        uses for a weight with ``fan_in`` columns.

    Raises:
        ValueError: if fan_in < 1.
    """
    ### BEGIN SOLUTION
    if fan_in < 1:
        raise ValueError(f"fan_in must be at least 1, got {fan_in}")
    return math.sqrt(2.0 / fan_in)
    ### END SOLUTION


# %% grade_id="ch00-kaiming-std-tests" points=1
"""kaiming_normal_std: sqrt(2 / fan_in) as a Python float to double precision
(rtol=1e-12, atol=0: a float32 value fails); the std of weights drawn in float64
by nn.init.kaiming_normal_; ValueError for fan_in 0 and -1.

Hidden tests: the same rules for other fan_in.
"""
std = kaiming_normal_std(2)
assert isinstance(std, float), (
    f"kaiming_normal_std(2): expected a Python float, got {type(std).__name__} "
    f"{std!r}")
assert_close(std, 1.0, rtol=1e-12, atol=0, name="kaiming_normal_std(2)")
assert_close(kaiming_normal_std(50), 0.2, rtol=1e-12, atol=0,
             name="kaiming_normal_std(50) (to double precision)")
assert_close(kaiming_normal_std(1), math.sqrt(2.0), rtol=1e-12, atol=0,
             name="kaiming_normal_std(1) = sqrt(2) to double precision (in "
                  "float32 it is off by about 2e-8)")
W_drawn = torch.empty(4000, 10, dtype=torch.float64)
nn.init.kaiming_normal_(W_drawn, mode="fan_in", nonlinearity="relu",
                        generator=torch.Generator().manual_seed(2))
assert_close(kaiming_normal_std(10), W_drawn.std().item(), rtol=0.03,
             name="kaiming_normal_std(10) vs the std of 40,000 weights drawn by "
                  "nn.init.kaiming_normal_")
for fan_in in (0, -1):
    expect_raises(ValueError, kaiming_normal_std, fan_in,
                  name=f"kaiming_normal_std({fan_in})")
### BEGIN HIDDEN TESTS
for _fan_in in (3, 10, 64, 257, 1000, 12345):
    _value = kaiming_normal_std(_fan_in)
    assert isinstance(_value, float), (
        f"kaiming_normal_std({_fan_in}): expected a Python float, got "
        f"{type(_value).__name__}")
    assert_close(_value, nn.init.calculate_gain("relu") / math.sqrt(_fan_in),
                 rtol=1e-12, atol=0, name=f"kaiming_normal_std({_fan_in})")
_gen = torch.Generator().manual_seed(3)
for _fan_in in (3, 100):
    _W = torch.empty(4000, _fan_in, dtype=torch.float64)
    nn.init.kaiming_normal_(_W, mode="fan_in", nonlinearity="relu", generator=_gen)
    assert_close(kaiming_normal_std(_fan_in), _W.std().item(), rtol=0.03,
                 name=f"kaiming_normal_std({_fan_in}) vs the std of weights "
                      f"drawn by nn.init.kaiming_normal_")
expect_raises(ValueError, kaiming_normal_std, -4, name="kaiming_normal_std(-4)")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 5: `xavier_uniform_bound` (1 point)
#
# Return the bound $a$ of Glorot/Xavier *uniform* initialisation: weights are
# drawn from $\mathcal{U}(-a, a)$ with the variance
# $g^2 \cdot 2/(n_\text{in} + n_\text{out})$, where $g$ is the gain. It must
# equal the bound of `nn.init.xavier_uniform_(W, gain=gain)` for a weight `W`
# of shape `(fan_out, fan_in)`. Careful: the bound is not the standard
# deviation. Both fans must be at least 1, otherwise raise a `ValueError`. As
# in exercise 4 the result is a Python `float` exact to double precision.

# %% grade_id="ch00-xavier-bound"
def xavier_uniform_bound(fan_in, fan_out, gain=1.0):
    """Bound a of Glorot/Xavier uniform initialisation, weights ~ U(-a, a).

    Args:
        fan_in: inputs per neuron (D_in), a Python int.
        fan_out: outputs of the layer (D_out), a Python int.
        gain: a positive float that scales the bound for the activation that
            follows (``nn.init.calculate_gain``: 1 for linear, 5/3 for tanh).

    Returns:
        A Python float (not a tensor), computed in double precision (float64;
        relative error below 1e-12, so not through a float32 tensor): the
        bound ``a`` for which U(-a, a) has variance
        ``gain**2 * 2 / (fan_in + fan_out)``, equal to the bound that
        ``nn.init.xavier_uniform_(W, gain=gain)`` uses for W of shape
        (fan_out, fan_in).

    Raises:
        ValueError: if fan_in < 1 or fan_out < 1.
    """
    ### BEGIN SOLUTION
    if fan_in < 1 or fan_out < 1:
        raise ValueError(f"fans must be at least 1, got {fan_in} and {fan_out}")
    return gain * math.sqrt(6.0 / (fan_in + fan_out))
    ### END SOLUTION


# %% grade_id="ch00-xavier-bound-tests" points=1
"""xavier_uniform_bound: gain * sqrt(6 / (fan_in + fan_out)) as a Python float to
double precision (rtol=1e-12, atol=0); the range of weights drawn in float64 by
nn.init.xavier_uniform_; ValueError when either fan is below 1.

Hidden tests: the same rules for other fans and gains.
"""
bound = xavier_uniform_bound(1, 2)
assert isinstance(bound, float), (
    f"xavier_uniform_bound(1, 2): expected a Python float, got "
    f"{type(bound).__name__} {bound!r}")
assert_close(bound, math.sqrt(2.0), rtol=1e-12, atol=0,
             name="xavier_uniform_bound(1, 2) = sqrt(6 / 3) to double precision")
assert_close(xavier_uniform_bound(3, 3), 1.0, rtol=1e-12, atol=0,
             name="xavier_uniform_bound(3, 3) = sqrt(6 / 6)")
assert_close(xavier_uniform_bound(10, 14, gain=2.0), 1.0, rtol=1e-12, atol=0,
             name="xavier_uniform_bound(10, 14, gain=2.0) = 2 * sqrt(6 / 24)")
assert_close(xavier_uniform_bound(256, 256, gain=5.0 / 3.0),
             5.0 / 3.0 * math.sqrt(6.0 / 512), rtol=1e-12, atol=0,
             name="xavier_uniform_bound(256, 256, gain=5/3)")
W_drawn = torch.empty(500, 300, dtype=torch.float64)  # fan_out 500, fan_in 300
nn.init.xavier_uniform_(W_drawn, generator=torch.Generator().manual_seed(3))
bound, largest = xavier_uniform_bound(300, 500), W_drawn.abs().max().item()
assert 0.995 * bound <= largest <= bound * (1 + 1e-9), (
    f"xavier_uniform_bound(300, 500) = {bound:.6g}, but nn.init.xavier_uniform_ "
    f"drew weights up to {largest:.6g} in absolute value")
for fans in [(4, 0), (0, 5), (-1, 3)]:
    expect_raises(ValueError, xavier_uniform_bound, *fans,
                  name=f"xavier_uniform_bound{fans}")
### BEGIN HIDDEN TESTS
for _fan_in, _fan_out, _gain in [(1, 1, 1.0), (7, 2, 1.0), (256, 100, 5.0 / 3.0),
                                 (300, 1000, 0.5), (64, 10, math.sqrt(2.0))]:
    _value = xavier_uniform_bound(_fan_in, _fan_out, _gain)
    assert isinstance(_value, float), (
        f"xavier_uniform_bound({_fan_in}, {_fan_out}, {_gain:.4g}): expected a "
        f"Python float, got {type(_value).__name__}")
    _std = _gain * math.sqrt(2.0 / (_fan_in + _fan_out))  # PyTorch's formula
    assert_close(_value, math.sqrt(3.0) * _std, rtol=1e-12, atol=0,
                 name=f"xavier_uniform_bound({_fan_in}, {_fan_out}, {_gain:.4g})")
_gen = torch.Generator().manual_seed(4)
for _fan_in, _fan_out, _gain in [(300, 100, 1.0), (7, 2000, 5.0 / 3.0)]:
    _W = torch.empty(_fan_out, _fan_in, dtype=torch.float64)
    nn.init.xavier_uniform_(_W, gain=_gain, generator=_gen)
    _value = xavier_uniform_bound(_fan_in, _fan_out, _gain)
    _largest = _W.abs().max().item()
    assert 0.995 * _value <= _largest <= _value * (1 + 1e-9), (
        f"xavier_uniform_bound({_fan_in}, {_fan_out}, {_gain:.4g}) = {_value:.6g}, "
        f"but nn.init.xavier_uniform_ drew weights up to {_largest:.6g}")
expect_raises(ValueError, xavier_uniform_bound, 6, -2,
              name="xavier_uniform_bound(6, -2)")
### END HIDDEN TESTS

# %% [markdown]
# Try it: initialise a 30-layer ReLU stack with your Kaiming standard deviation
# and a 30-layer tanh stack with your Xavier bound (tanh gain $5/3$). The
# activation scale should stay roughly constant, as in the plot above.

# %%
gen = torch.Generator().manual_seed(0)
width = 256
h_relu = torch.randn(512, width, generator=gen, dtype=torch.float64)
h_tanh = h_relu.clone()
std = kaiming_normal_std(width)
bound = xavier_uniform_bound(width, width, gain=5.0 / 3.0)
for layer_index in range(1, 31):
    W = torch.randn(width, width, generator=gen, dtype=torch.float64) * std
    h_relu = torch.relu(h_relu @ W.T)
    U = torch.rand(width, width, generator=gen, dtype=torch.float64)
    h_tanh = torch.tanh(h_tanh @ (2 * bound * U - bound).T)  # U(-a, a)
    if layer_index % 10 == 0:
        print(f"layer {layer_index}: relu std {h_relu.std().item():.3f}, "
              f"tanh std {h_tanh.std().item():.3f}")

# %% [markdown]
# ## 0.12 The output layer: logits, sigmoid and softmax
#
# The last dense layer of a classifier returns one real number per output,
# of any sign and size: the **logits** $z$. How they are read depends on the
# task:
#
# | task | output units | logits to probabilities | loss (in `F`) |
# |---|---|---|---|
# | binary: yes or no | 1 | sigmoid | `binary_cross_entropy_with_logits` |
# | multi-class: one of $K$ | $K$ | softmax | `cross_entropy` |
# | multi-label: $K$ tags | $K$ | a sigmoid each | `binary_cross_entropy_with_logits` |
# | regression: a number | 1 per target | none, the value itself | `mse_loss` |
#
# The **sigmoid** squashes one logit into $(0, 1)$, the probability of the
# positive class; its inverse is the log-odds, $z = \log\frac{p}{1-p}$, which is
# where the word *logit* comes from. The **softmax**
#
# $$
# p_k = \frac{e^{z_k}}{\sum_{j=1}^{K} e^{z_j}}, \qquad k = 1, \dots, K,
# $$
#
# turns $K$ logits into $K$ probabilities that sum to 1 (with $K = 2$ it is a
# sigmoid of the difference of the two logits). Both keep the order of the
# logits, so the predicted class is simply the largest logit: you need the
# probabilities only to report a confidence.
#
# **Why PyTorch's losses take logits.** The loss is the cross-entropy
# $-\log p_y$ of the true class $y$ (chapter 03). Written with logits it is
# $-z_y + \log\sum_j e^{z_j}$, which a library evaluates stably; computing
# probabilities first and then their logarithm loses everything once a
# probability rounds to 0 or 1. In float32, $\sigma(z)$ is exactly 1 for
# $z \ge 17$, so a confident *wrong* answer gets $-\log(1 - 1) = \infty$
# (`F.binary_cross_entropy`, which takes probabilities, clips the logarithm
# at $-100$ and reports 100 whatever the logit). The cell below compares.
# So a classifier ends with a plain `nn.Linear`, the loss receives its logits,
# and sigmoid or softmax are applied only when you want probabilities. A
# softmax layer at the end of the model *and* `F.cross_entropy` apply the
# softmax twice: with 10 classes the loss can then never go below about 1.46,
# however right the model is (the last line of the cell).

# %%
z = torch.tensor([2.0, 17.0, 40.0])  # three confident "class 1" logits (float32)
target = torch.zeros(3)  # ... but each time the true class is 0
p = torch.sigmoid(z)
print("sigmoid(z):                   ", p.tolist())
print("-log(1 - sigmoid(z)):         ", (-torch.log(1 - p)).tolist())
print("F.binary_cross_entropy(p):    ",
      F.binary_cross_entropy(p, target, reduction="none").tolist(), "(clipped)")
print("F.binary_cross_entropy_with_logits(z):",
      F.binary_cross_entropy_with_logits(z, target, reduction="none").tolist())
logits = torch.tensor([[0.0, 200.0, 5.0]])  # sure of class 1, the answer is 0
print("-log softmax(z)[0]:", -torch.log(torch.softmax(logits, dim=1))[0, 0].item(),
      "  F.cross_entropy(z):", F.cross_entropy(logits, torch.tensor([0])).item())
one_hot = torch.eye(10)[:1]  # the most confident output a softmax layer can give
print("F.cross_entropy after a softmax layer, at best:",
      round(F.cross_entropy(one_hot, torch.tensor([0])).item(), 3))

# %% [markdown]
# ## 0.13 A first training run
#
# Time to train. Every training set-up, from this one to a large language
# model, has the same four components:
#
# | component | the question it answers | in this run |
# |---|---|---|
# | **data** | what to learn from | 8x8 digits: a training set, a held-out test set |
# | **model** | which functions can be learned | Linear(64, 64), ReLU, Linear(64, 10) |
# | **loss** | how wrong a prediction is | `F.cross_entropy` on the 10 logits |
# | **optimiser** | how to change the parameters | SGD with momentum, batches of 64 |
#
# Change one of them and you run a different experiment; at the end of this
# section we change only the model (its depth and initialisation).
#
# **1. Data.** The 1,797 handwritten digits that ship with scikit-learn:
# $8 \times 8$ grey images, flattened to 64 features in $[0, 1]$, with labels
# 0-9. They load offline in a blink. We keep 20% aside as a test set that
# training never sees.

# %%
X, y = load_digits()  # X: (1797, 64) float32 in [0, 1]; y: (1797,) int64
X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.2, seed=0)
print("train:", tuple(X_train.shape), " test:", tuple(X_test.shape))
plot_images(X_train[:16].reshape(-1, 8, 8), labels=y_train[:16].tolist())
plt.show()
X_train, X_test = X_train.to(device), X_test.to(device)
y_train, y_test = y_train.to(device), y_test.to(device)

# %% [markdown]
# **2. Model** (4,810 parameters, counted in section 0.10) outputs 10 logits.
# **3. Loss**: `F.cross_entropy`, which takes those logits (section 0.12).
# **4. Optimiser**: SGD with momentum (chapter 04). The training loop below
# ties them together, in the pattern that chapter 16 studies in detail:
# shuffle the data, cut it into mini-batches, and for each batch compute the
# loss, backpropagate, and let the optimiser update the weights. After each
# epoch (one pass over the training set) we measure the accuracy on the test
# set.

# %%
def train_classifier(net, num_epochs, lr, batch_size=64, seed=0):
    """Train `net` (the model) on the digits (the data) with the cross-entropy
    loss and SGD with momentum (the optimiser); returns the history."""
    gen = torch.Generator().manual_seed(seed)
    loss_fn = F.cross_entropy  # 3. loss: takes logits and integer labels
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)  # 4.
    history = {"train loss": [], "test accuracy": []}
    for _ in progress(range(num_epochs), desc="epochs"):
        net.train()
        order = torch.randperm(len(X_train), generator=gen).to(X_train.device)
        total = 0.0
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            logits = net(X_train[batch])  # (batch, 10), no softmax
            loss = loss_fn(logits, y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        net.eval()
        with torch.no_grad():
            y_hat = net(X_test).argmax(dim=1)
        history["train loss"].append(total / len(X_train))
        history["test accuracy"].append((y_hat == y_test).float().mean().item())
    return history


NUM_EPOCHS = 15  # a knob: raise it if you are curious (or have a GPU)
set_seed(0)
# 2. model: ends with a plain Linear layer that outputs 10 logits
net = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)).to(device)
history = train_classifier(net, NUM_EPOCHS, lr=0.05)
print(f"test accuracy after {NUM_EPOCHS} epochs: {history['test accuracy'][-1]:.3f}")
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.4))
plot_curves({"train loss": history["train loss"]}, xlabel="epoch",
            ylabel="cross-entropy", ax=ax_loss)
plot_curves({"test accuracy": history["test accuracy"]}, xlabel="epoch",
            ylabel="accuracy", ax=ax_acc)
plt.show()

# %% [markdown]
# About 97% of unseen digits are classified correctly after a second of
# training. Now the lesson of section 0.11 in a real network: a **deep** plain
# ReLU network (8 hidden layers of width 64) trained the same way, with three
# initialisations. PyTorch's default for `nn.Linear` draws weights from
# $\mathcal{U}(-1/\sqrt{n_\text{in}}, 1/\sqrt{n_\text{in}})$, whose variance
# $1/(3 n_\text{in})$ is six times smaller than He's $2/n_\text{in}$: harmless
# for two layers, but each ReLU layer multiplies the input-dependent part of the
# signal by about $\sqrt{1/6} \approx 0.4$, so after eight layers little of the
# input is left ($0.4^8 \approx 10^{-3}$).

# %%
def deep_mlp(init, depth=8, width=64, seed=0):
    """A plain ReLU MLP 64 -> width (x depth) -> 10, initialised on the CPU."""
    torch.manual_seed(seed)  # PyTorch's default init uses the global generator
    sizes = [64] + [width] * depth
    layers = []
    for d_in, d_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(d_in, d_out), nn.ReLU()]
    net = nn.Sequential(*layers, nn.Linear(width, 10))
    if init != "pytorch default":
        gen = torch.Generator().manual_seed(seed)
        for module in net:
            if isinstance(module, nn.Linear):
                INITS[init](module.weight, gen)
                nn.init.zeros_(module.bias)
    return net.to(device)  # initialise on the CPU, then move


curves = {}
for init in ("pytorch default", "xavier uniform", "kaiming normal"):
    history = train_classifier(deep_mlp(init), num_epochs=10, lr=0.01)
    curves[init] = history["test accuracy"]
    print(f"{init:>16}: test accuracy {history['test accuracy'][-1]:.3f}")
ax = plot_curves(curves, xlabel="epoch", ylabel="test accuracy")
ax.set_title("8 hidden ReLU layers, SGD with momentum")
plt.show()

# %% [markdown]
# Same data, loss, optimiser and architecture, only the initialisation differs:
# with PyTorch's default the deep
# network stays at chance level (about 10%) for all ten epochs, Xavier learns
# but slowly, and Kaiming reaches the accuracy of the shallow network. Better
# optimisers (Adam, chapter 04), normalisation layers (chapter 12) and residual
# connections (chapter 13) make deep networks far less fragile, but the
# principle stays: keep the signal's scale constant from layer to layer.

# %% [markdown]
# ## 0.14 Summary
#
# * Deep learning fits long chains of simple differentiable layers end to end
#   and learns its own features; it runs vision, language, speech,
#   recommendation and generation systems. CNNs, RNNs, transformers and
#   generative models are the families you will build in this course.
# * The CNN milestones each left one idea: learned convolutions (LeNet-5),
#   scale, ReLU and GPUs (AlexNet), small stacked filters (VGG), parallel
#   branches and $1\times 1$ convolutions (GoogLeNet), residual connections
#   (ResNet).
# * A dense layer computes $Y = XW^\top + \mathbf{b}$ with $W$ of shape
#   `(D_out, D_in)`; nonlinear activations such as ReLU keep the layers from
#   collapsing into one.
# * "The number of parameters" means the trainable ones; frozen parameters and
#   buffers are different things.
# * The initial weight scale multiplies the signal by a constant factor per
#   layer. Xavier ($\sigma^2 = 2/(n_\text{in} + n_\text{out})$) and Kaiming
#   ($\sigma^2 = 2/n_\text{in}$, for ReLU) keep that factor near 1. Large
#   and tiny activations are also a floating-point matter: their squares leave
#   float32's range long before the values do.
# * A classifier outputs logits; sigmoid (binary, multi-label) and softmax
#   (multi-class) turn them into probabilities, but losses take the logits
#   themselves, which keeps them finite and accurate.
# * Every training set-up is data, a model, a loss and an optimiser.
#
# Next, chapter 01 revisits the linear algebra behind all of this: dot
# products, norms, matrix products and what a linear layer does to space.
# Before you move on: restart the kernel, run all cells, and validate.
