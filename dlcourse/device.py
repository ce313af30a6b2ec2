"""Device choice, seeding and an environment report (introduced in chapter 00)."""

from __future__ import annotations

import os
import platform
import random

import numpy as np
import torch


def get_device(prefer: str | None = None) -> torch.device:
    """Return the best available device: ``cuda`` > ``mps`` > ``cpu``.

    ``prefer`` (or the environment variable ``DLCOURSE_DEVICE``) forces a
    device, e.g. ``"cpu"`` to compare timings. Asking for a device that is not
    available raises a ``RuntimeError`` that says what is available.
    """
    wanted = prefer or os.environ.get("DLCOURSE_DEVICE")
    available = ["cpu"]
    if torch.cuda.is_available():
        available.insert(0, "cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        available.insert(-1, "mps")
    if wanted is None:
        return torch.device(available[0])
    if torch.device(wanted).type not in available:
        raise RuntimeError(
            f"device {wanted!r} was requested but only {available} are available"
        )
    return torch.device(wanted)


def set_seed(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's (CPU and CUDA) random generators.

    The environment variable ``DLCOURSE_SEED_OFFSET`` (an int, default 0) is
    added to ``seed``: tests/test_training_bars.py runs the chapters with
    other seeds this way, to show that a training bar is not met by luck.
    """
    seed += int(os.environ.get("DLCOURSE_SEED_OFFSET", "0"))
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def environment_report() -> dict[str, str]:
    """Versions and hardware the course runs on, as an ordered dict of strings."""
    device = get_device()
    report = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "device": str(device),
        "cpu threads": str(torch.get_num_threads()),
    }
    if device.type == "cuda":
        report["gpu"] = torch.cuda.get_device_name(device)
        report["cuda"] = str(torch.version.cuda)
    return report
