# %% [markdown]
# # Chapter NN: Title in a few words
#
# Two or three sentences: what the chapter is about and why a deep-learning
# practitioner needs it. (Copy this file to solutions/chNN_slug/chNN_slug.py,
# then `python -m graders.build chNN`. graders/AUTHORING.md has the rules.)
#
# **You will learn**
# - the first idea;
# - the second idea.
#
# **Graded exercises** (3 points)
#
# | exercise | points |
# |---|---|
# | `scale(x, factor)` | 3 |
#
# Each exercise is a function whose docstring states its whole contract:
# shapes, dtypes, devices, edge cases and the built-ins you may not call.
# Replace `raise NotImplementedError()` with your code and run the test cell
# below it. The visible tests show every rule the grader checks; hidden tests
# repeat them on other values, shapes and seeds.

# %%
import matplotlib.pyplot as plt
import torch

from dlcourse import get_device, set_seed
from dlcourse.checks import assert_close, forbid
from dlcourse.widgets import interactive_plot

device = get_device()  # the tests also run your code on this device
set_seed(0)
print(f"torch {torch.__version__}, device: {device}")

# %% [markdown]
# ## N.1 The first idea
#
# Explanation with maths, $y = a x$, and a plot where a picture says more.

# %%
xs = torch.linspace(-2, 2, 50)
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(xs.numpy(), (2 * xs).numpy(), label="y = 2x")
ax.legend()
plt.show()

# %% [markdown]
# ### Exercise 1: `scale` (3 points)
#
# What to write and why; what the result must match. Say what is forbidden
# (here: `torch.mul` and `Tensor.mul`, to show the pattern).

# %% grade_id="chNN-scale"
def scale(x, factor):
    """Multiply every element of ``x`` by ``factor``.

    Args:
        x: floating-point tensor of any shape S.
        factor: a Python float.

    Returns:
        Tensor of shape S with the dtype and device of ``x``. ``x`` is not
        modified. Do not call torch.mul or Tensor.mul.
    """
    ### BEGIN SOLUTION
    return x * factor
    ### END SOLUTION


# %%
# Try it
print(scale(torch.tensor([1.0, -2.0]), 3.0))

# %% grade_id="chNN-scale-tests" points=3
"""scale: a small example by hand; float64 and the device kept; a batch of any
shape; no torch.mul (every clause visible, the hidden tests vary the values)."""
_banned = ("torch.mul", "torch.Tensor.mul")  # or a group of dlcourse.checks
with forbid(*_banned):
    out = scale(torch.tensor([1.0, -2.0, 0.5]), 3.0)
assert_close(out, torch.tensor([3.0, -6.0, 1.5]), name="scale([1, -2, 0.5], 3)")
x = torch.arange(6, dtype=torch.float64, device=device).reshape(2, 3)
with forbid(*_banned):
    out = scale(x, -0.5)
assert_close(out, -0.5 * x, rtol=1e-12, atol=1e-12,
             name="scale(float64 x of shape (2, 3) on device, -0.5)")
assert out.device == x.device, f"result on {out.device}, expected {x.device}"
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(0)
for _shape in [(7,), (1, 5), (3, 4, 2), ()]:
    _x = torch.randn(_shape, generator=_gen, dtype=torch.float64).to(device)
    with forbid(*_banned):
        _got = scale(_x, 1.7)
    assert_close(_got, 1.7 * _x, rtol=1e-12, atol=1e-12,
                 name=f"scale(x of shape {_shape}, 1.7)")
### END HIDDEN TESTS

# %% [markdown]
# ## N.2 A widget
#
# Let the student move a parameter and see what changes.

# %%
def show_line(slope=1.0):
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(xs.numpy(), (slope * xs).numpy())
    ax.set_ylim(-4, 4)
    ax.set_title(f"y = {slope:.1f} x")
    return fig


interactive_plot(show_line, slope=(-2.0, 2.0, 0.1))

# %% [markdown]
# ## N.3 Summary
#
# - What the chapter showed, in a few bullets.
# - What the next chapter builds on it.
