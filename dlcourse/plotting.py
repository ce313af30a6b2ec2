"""Plotting helpers shared by several chapters (introduced in chapter 00)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch


def _numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def plot_images(images, labels: Sequence | None = None, ncols: int = 8,
                cmap: str = "gray", size: float = 1.2):
    """Show a grid of images; ``images`` is (N, H, W), (N, 1, H, W) or (N, 3, H, W).

    Returns the matplotlib Figure.
    """
    arr = _numpy(images)
    if arr.ndim == 4:
        arr = arr.transpose(0, 2, 3, 1)  # (N, C, H, W) -> (N, H, W, C)
        if arr.shape[-1] == 1:
            arr = arr[..., 0]
    n = len(arr)
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(arr[i], cmap=cmap)
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=9)
    fig.tight_layout()
    return fig


def plot_curves(curves: Mapping[str, Sequence[float]], xlabel: str = "step",
                ylabel: str = "value", logy: bool = False, ax=None):
    """Plot named curves (e.g. ``{"train": losses, "test": test_losses}``).

    Returns the Axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for label, values in curves.items():
        ax.plot(_numpy(values), label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def plot_contour(f: Callable[[torch.Tensor], torch.Tensor], xlim=(-2.0, 2.0),
                 ylim=(-2.0, 2.0), paths: Mapping[str, Sequence] | None = None,
                 levels: int = 30, resolution: int = 200, ax=None):
    """Contour plot of a function of two variables, with optional 2-D paths.

    ``f`` takes a tensor of shape (..., 2) and returns values of shape (...).
    ``paths`` maps a label to a sequence of points of shape (2,), for example
    the iterates of gradient descent. Returns the Axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    xs = torch.linspace(*xlim, resolution, dtype=torch.float64)
    ys = torch.linspace(*ylim, resolution, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)
    with torch.no_grad():
        values = f(grid)
    ax.contour(_numpy(xs), _numpy(ys), _numpy(values), levels=levels, cmap="viridis")
    for label, points in (paths or {}).items():
        pts = np.array([_numpy(p) for p in points], dtype=float)
        ax.plot(pts[:, 0], pts[:, 1], "o-", markersize=2.5, label=label)
    if paths:
        ax.legend()
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return ax
