"""The kernel that grading runs use: sandboxed, guarded, with limits.

``graders/grade.py`` calls ``grading_kernel(course)`` around each
``nbgrader autograde``: it writes a ``python3`` kernelspec into that run's own
Jupyter data folder whose launcher is ``graders/sandbox.py`` (see there for
what the sandbox does), a sandbox spec, and a short private folder for the
kernel's Unix sockets, and returns the environment for the nbgrader process.
The course copy's nbgrader config (``graders.config.configure_grading``)
switches the Execute step to ``graders.execute.GuardedExecute`` and the kernel
transport to Unix sockets (the kernel has no network at all).
"""

from __future__ import annotations

import contextlib
import functools
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from graders.build import ROOT

SANDBOX = ROOT / "graders" / "sandbox.py"
FIRST_UID = 61000  # sandbox users: 61000, 61001, ... one per running kernel
UID_COUNT = 1000   # how many, leased machine-wide by graders/sandbox.py
# Lock files of the machine-wide uid leases: one folder for every grader on
# the machine (in containers sharing a node, mount the same host folder here).
UID_LOCKS = os.environ.get("DLCOURSE_UID_LOCKS", "/run/dlcourse-uids")


@dataclass
class Settings:
    """What ``./course grade`` options set (see ``python -m graders.grade -h``)."""

    sandbox: bool = True
    guard: bool = True           # the tamper guard (graders/execute.py)
    cell_timeout: int = 120      # seconds per cell before it is interrupted
    memory_mb: int = 4096        # address space of the kernel
    cpu_seconds: int = 1800      # CPU time of the whole kernel
    processes: int = 256         # processes + threads of the sandbox user
    max_output_kb: int = 200     # output kept per cell
    submission_timeout: int = 1800  # seconds for one whole notebook

    def config(self) -> dict:
        return asdict(self)


SETTINGS = Settings()


def _kernel_env(runtime: Path) -> dict[str, str]:
    """The kernel's whole environment inside the sandbox (nothing inherited).

    NBGRADER_EXECUTION is deliberately absent: student code cannot tell a
    grading run from a normal one by it. Progress bars are off.
    """
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin",
                                 "/usr/bin", "/bin"]),
        "HOME": "/tmp", "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8",
        "MPLCONFIGDIR": "/tmp/matplotlib", "IPYTHONDIR": "/tmp/ipython",
        "JUPYTER_CONFIG_DIR": "/tmp/jupyter", "JUPYTER_DATA_DIR": "/tmp/jupyter-data",
        "JUPYTER_RUNTIME_DIR": str(runtime), "PYTHONDONTWRITEBYTECODE": "1",
        "DLCOURSE_PROGRESS": "0",
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    }
    for name in ("DLCOURSE_DEVICE", "CUDA_VISIBLE_DEVICES"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def sandbox_uid(wanted: int | None = None) -> int | None:
    """``wanted`` as root (None: the sandbox leases a free one machine-wide);
    otherwise the sandbox runs kernels as you."""
    return wanted if os.geteuid() == 0 else os.getuid()


def sandbox_spec(uid: int | None, runtime: Path, settings: Settings) -> dict:
    """The settings graders/sandbox.py reads for one grading run."""
    gpu = sorted(glob.glob("/dev/nvidia*"))
    read_only = [os.path.realpath(sys.base_prefix), sys.prefix,
                 str(ROOT / "dlcourse"), str(ROOT / "assets")]
    if gpu:  # CUDA needs the driver's devices and /sys; its address space is huge
        read_only.append("/sys")
    return {
        "uid": uid, "uid_pool": [FIRST_UID, UID_COUNT], "uid_locks": UID_LOCKS,
        "chown": [str(runtime)], "read_only": read_only, "read_write": [str(runtime)],
        "devices": gpu, "memory_mb": 0 if gpu else settings.memory_mb,
        "cpu_seconds": settings.cpu_seconds, "processes": settings.processes,
        "env": _kernel_env(runtime),
    }


@contextlib.contextmanager
def grading_kernel(course: Path, uid: int | None = None,
                   settings: Settings | None = None):
    """Set up the kernel for grading in ``course``; yield the nbgrader env.

    As root each kernel (each restart too) runs as a uid that
    graders/sandbox.py leases machine-wide, unless ``uid`` fixes one.

    Pass ``ipc_argument(env)`` to nbgrader too: the kernel's socket address.
    """
    settings = settings or SETTINGS
    scratch = course / ".jupyter"
    runtime = Path(tempfile.mkdtemp(prefix="dlc-"))  # short: socket paths <108
    try:
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        if settings.sandbox:
            uid = sandbox_uid(uid)
            spec = scratch / "sandbox.json"
            spec.parent.mkdir(parents=True, exist_ok=True)
            spec.write_text(json.dumps(sandbox_spec(uid, runtime, settings), indent=1))
            argv = [sys.executable, str(SANDBOX), str(spec), "--", *argv]
        kernel = scratch / "jupyter-data" / "kernels" / "python3"
        kernel.mkdir(parents=True, exist_ok=True)
        (kernel / "kernel.json").write_text(json.dumps({
            "argv": argv, "language": "python", "interrupt_mode": "message",
            "display_name": "Python 3 (grading sandbox)",
            "env": {} if settings.sandbox else {"DLCOURSE_PROGRESS": "0"},
            "metadata": {"debugger": False}}, indent=1))
        # JUPYTER_PATH comes before the environment's own kernelspecs; the
        # sockets live in the short private folder, named by an absolute path.
        yield {"JUPYTER_RUNTIME_DIR": str(runtime),
               "JUPYTER_PATH": str(kernel.parents[1])}
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


def ipc_argument(env: dict[str, str]) -> str:
    """nbgrader's command-line setting for the kernel's socket address."""
    return f"--KernelManager.ip={env['JUPYTER_RUNTIME_DIR']}/kernel"


@functools.cache
def check_sandbox() -> str | None:
    """None if the sandbox works on this machine, else why not (asked once)."""
    with tempfile.TemporaryDirectory(prefix="dlc-check-") as tmp:
        spec = Path(tmp) / "spec.json"
        spec.write_text(json.dumps(sandbox_spec(sandbox_uid(), Path(tmp),
                                                SETTINGS)))
        try:
            done = subprocess.run([sys.executable, str(SANDBOX), str(spec), "--",
                                   sys.executable, "-c", "import torch, dlcourse"],
                                  cwd=tmp, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as error:
            return str(error)
    if done.returncode != 0:
        return (done.stderr.strip().splitlines() or ["unknown error"])[-1]
    return None
