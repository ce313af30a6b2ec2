"""Shared helpers for the Deep Learning with PyTorch course.

The package holds what many chapters need (device and seed, data loaders,
plots, progress bars, test checks). It never holds an exercise's answer.
"""

from dlcourse.device import environment_report, get_device, set_seed
from dlcourse.progress import progress

__all__ = ["environment_report", "get_device", "progress", "set_seed"]
__version__ = "0.1.0"
