"""Notebook and kernel helpers for the test suite."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import importlib.util
import os
import re
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager

from graders.build import chapter_sources

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = [source.stem for source in chapter_sources(ROOT)]
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def solution_path(chapter: str) -> Path:
    return ROOT / "solutions" / chapter / f"{chapter}.ipynb"


def release_path(chapter: str) -> Path:
    return ROOT / "notebooks" / chapter / f"{chapter}.ipynb"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def grade_cells(nb) -> tuple[dict, dict]:
    """(answer cells, test cells), each a dict grade_id -> cell, in order."""
    answers, tests = {}, {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            answers[meta["grade_id"]] = cell
        elif meta.get("grade"):
            tests[meta["grade_id"]] = cell
    return answers, tests


def cells_checking(answer_id: str, tests: dict) -> list[str]:
    """The test cells of an answer: ids that start with '<answer id>-tests'."""
    return [tid for tid in tests if tid.startswith(f"{answer_id}-tests")]


def region_lines(source: str, begin: str, end: str) -> list[str]:
    """The stripped lines between marker lines containing ``begin`` and ``end``."""
    inside, lines = False, []
    for line in source.split("\n"):
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            lines.append(line.strip())
    return lines


def load_mutants(chapter: str):
    """The WRONG and RIGHT dicts of tests/mutants/<chapter>.py."""
    path = ROOT / "tests" / "mutants" / f"{chapter}.py"
    spec = importlib.util.spec_from_file_location(f"mutants_{chapter}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.WRONG, module.RIGHT


def error_text(error: dict) -> str:
    return f"{error['ename']}: {_ANSI.sub('', str(error['evalue']))}"


class Kernel:
    """A real IPython kernel that runs code strings and reports their errors."""

    def __init__(self, cwd: Path, env: dict[str, str] | None = None):
        self.manager = KernelManager(kernel_name="python3")
        extra = {"env": env} if env is not None else {}
        self.manager.start_kernel(cwd=str(cwd), **extra)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=120)

    def run(self, code: str, timeout: float = 300) -> dict | None:
        """Execute ``code``; return the error (ename, evalue) or None."""
        errors = []

        def hook(msg):
            if msg["msg_type"] == "error":
                errors.append(msg["content"])

        reply = self.client.execute_interactive(code, timeout=timeout,
                                                output_hook=hook, store_history=False)
        if reply["content"]["status"] == "error":
            return errors[0] if errors else dict(reply["content"])
        return None

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@functools.cache
def sandbox_flags() -> tuple[str, ...]:
    """Extra ``./course grade`` flags for tests that are not about the sandbox.

    Where the grading sandbox cannot run (not root, no namespaces) they grade
    with ``--no-sandbox``; in CI (CI=true) never: there the sandbox must work.
    """
    from graders.kernels import check_sandbox

    if os.environ.get("CI") or check_sandbox() is None:
        return ()
    return ("--no-sandbox",)


def tree_hash(*paths: Path) -> str | None:
    """One digest of the files under ``paths`` and their names (None if none exist)."""
    if not any(path.exists() for path in paths):
        return None
    digest = hashlib.sha256()
    for path in paths:
        items = sorted(path.rglob("*")) if path.is_dir() else [path]
        for item in items:
            if item.is_file():
                digest.update(str(item.relative_to(path.parent)).encode())
                digest.update(item.read_bytes())
    return digest.hexdigest()


def processes(wanted) -> list[str]:
    """``"pid uid=N command"`` of every process for which ``wanted(uid, command)``."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/status") as handle:
                uid = next(int(line.split()[1]) for line in handle
                           if line.startswith("Uid:"))
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmd = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, StopIteration):
            continue
        if wanted(uid, cmd):
            found.append(f"{entry} uid={uid} {cmd[:120]}")
    return found


PR_SET_CHILD_SUBREAPER = 36


def _process_table() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, state, start time) of every process visible."""
    table = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry)] = (int(fields[1]), fields[0], fields[19])
    return table


def descendants(pid: int | None = None) -> dict[int, tuple[str, str]]:
    """pid -> (state, start time) of every process below ``pid`` (default: us)."""
    table, root = _process_table(), pid or os.getpid()
    children: dict[int, list[int]] = {}
    for child, (parent, _state, _start) in table.items():
        children.setdefault(parent, []).append(child)
    found, todo = {}, list(children.get(root, []))
    while todo:
        child = todo.pop()
        found[child] = table[child][1:]
        todo += children.get(child, [])
    return found


def describe(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmd = handle.read().replace(b"\0", b" ").decode(errors="replace")
        uid = os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return f"{pid} (gone)"
    return f"{pid} uid={uid} {cmd[:120]}"


@contextlib.contextmanager
def own_processes():
    """Scope process checks to what the block starts; yields ``left(wait)``.

    This process becomes a child subreaper for the block, so whatever its
    children start stays below it even when orphaned (a daemon, a
    ``setsid``): ``left(wait=5)`` lists those started inside the block that
    are still alive (waiting up to ``wait`` s for them to end), and reaps the
    dead ones. Processes of anything else on the machine (another grading
    run, another test) are never looked at.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    before = descendants()
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

    def left(wait: float = 5) -> list[str]:
        deadline = time.monotonic() + wait
        while True:
            new = {pid: info for pid, info in descendants().items()
                   if before.get(pid) != info}
            for pid, (state, _start) in list(new.items()):
                if state in "ZX" and pid not in before:
                    with contextlib.suppress(ChildProcessError):
                        os.waitpid(pid, os.WNOHANG)
                    del new[pid]
            if not new or time.monotonic() > deadline:
                return [describe(pid) for pid in sorted(new)]
            time.sleep(0.2)

    try:
        yield left
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
