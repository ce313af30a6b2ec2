"""Interactive plots that also run headless (introduced in chapter 00).

``ipywidgets.interact`` shows its plots through an Output widget, and
executing a notebook headless (nbclient, nbconvert, nbgrader autograde and
Validate) can then stall for a whole cell timeout (jupyter/nbclient#312).
``interactive_plot`` takes the same arguments but renders each redraw to a
PNG ``Image`` widget, so nothing depends on an Output widget.

    def show(lr=0.1, steps=20):          # draws with pyplot, may call plt.show()
        ...

    interactive_plot(show, lr=(0.01, 1.0), steps=(1, 100))   # last line of a cell
"""

from __future__ import annotations

import inspect
import io
from collections.abc import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt


def render_png(draw: Callable[..., object], dpi: int = 80, **values) -> bytes:
    """Call ``draw(**values)``; return its last new figure as PNG bytes.

    ``plt.show()`` inside ``draw`` does nothing, and every figure ``draw``
    opened is closed afterwards, so nothing is also shown under the cell.
    Raises ``ValueError`` if ``draw`` made no figure.
    """
    before = set(plt.get_fignums())
    show = plt.show
    plt.show = lambda *args, **kwargs: None
    try:
        draw(**values)
        new = [n for n in plt.get_fignums() if n not in before]
        if not new:
            raise ValueError(f"{getattr(draw, '__name__', 'draw')} drew no figure")
        buffer = io.BytesIO()
        plt.figure(new[-1]).savefig(buffer, format="png", dpi=dpi,
                                    bbox_inches="tight")
        return buffer.getvalue()
    finally:
        plt.show = show
        for number in set(plt.get_fignums()) - before:
            plt.close(number)


def _control(name: str, abbrev, default) -> widgets.ValueWidget:
    """A widget from an ``interact``-style abbreviation (tuple, list, bool...)."""
    if isinstance(abbrev, widgets.ValueWidget):
        return abbrev
    control = widgets.interactive.widget_from_abbrev(abbrev, default)
    if control is None:
        raise ValueError(f"cannot make a control for {name}={abbrev!r}")
    control.description = name
    if "continuous_update" in control.trait_names():
        control.continuous_update = False  # redraw when the slider is released
    return control


def interactive_plot(draw: Callable[..., object], **controls) -> widgets.VBox:
    """Controls plus a picture that ``draw(**values)`` redraws on every change.

    ``controls`` map ``draw``'s keyword arguments to a widget or to an
    ``interact`` abbreviation: ``(min, max[, step])`` for a slider, a list for
    a dropdown, a bool for a checkbox. The slider starts at ``draw``'s default.
    The first drawing happens now, so an error (e.g. an unfinished exercise)
    surfaces in the cell; later errors are shown under the picture.
    """
    params = inspect.signature(draw).parameters.items()
    defaults = {name: p.default for name, p in params
                if p.default is not inspect.Parameter.empty}
    made = {name: _control(name, abbrev, defaults.get(name, inspect.Parameter.empty))
            for name, abbrev in controls.items()}
    picture = widgets.Image(format="png")
    message = widgets.HTML()

    def redraw(change=None):
        values = {name: control.value for name, control in made.items()}
        try:
            picture.value = render_png(draw, **values)
            message.value = ""
        except Exception as err:
            if change is None:
                raise
            message.value = f"<pre>{type(err).__name__}: {err}</pre>"

    for control in made.values():
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox(list(made.values()),
                                      layout=widgets.Layout(flex_flow="row wrap")),
                         picture, message])
