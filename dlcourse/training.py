"""Training bars: the figure a training cell must reach (introduced in chapter 06).

A chapter that trains a model states the bar it reaches and checks it with
``check_bar`` after training, e.g.::

    check_bar("test accuracy", accuracy, 0.95)

The solution notebooks run with the chapter's seed and, in
tests/test_training_bars.py, with two other seeds (``DLCOURSE_SEED_OFFSET``),
so a bar is never met by luck.
"""

from __future__ import annotations


def check_bar(what: str, value: float, bar: float, *,
              higher_is_better: bool = True) -> None:
    """Print ``value`` beside its ``bar``; raise AssertionError if it misses it.

    ``higher_is_better=False`` for losses and errors (the value must be at
    most ``bar``). Returns None, so that a cell ending with it shows only
    the printed line.
    """
    value = float(value)
    met = value >= bar if higher_is_better else value <= bar
    sign = ">=" if higher_is_better else "<="
    print(f"{what}: {value:.4g} (bar: {sign} {bar:g}) "
          + ("reached" if met else "NOT reached"))
    if not met:
        raise AssertionError(
            f"{what} is {value:.4g}, the bar is {sign} {bar:g}: train longer (the "
            "knob at the top of the training cell), or check the model and the "
            "learning rate")
