"""A real JupyterLab server and a headless Chromium, for tests/test_browser.py.

The server runs the course the way ``./course lab`` starts it (cwd = course
root, ``jupyter lab --ServerApp.root_dir=notebooks``), on a free loopback
port with a random token, from a temporary copy of the repository so that
what the student does (edit, save, validate) never touches the working tree.
Chromium is Debian's (``apt-get install chromium``), driven by Playwright,
whose Python wheel brings its own driver; no browser is ever downloaded.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from nbtools import ROOT

from graders.runenv import tool_env

# DLCOURSE_CHROMIUM points at another Chromium binary (or at a missing one, to
# see the tests skip).
CHROMIUM = os.environ.get("DLCOURSE_CHROMIUM", "/usr/bin/chromium")
# Headless, and quiet on a closed network: no sync, updates or field trials.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
ENABLE = ("To run them: install Debian's Chromium (`apt-get install chromium`, or "
          "set DLCOURSE_CHROMIUM to a Chromium binary) and the pinned Playwright "
          "of requirements.txt (`./course setup`); never `playwright install`.")

# Not part of the course as a user gets it (or written while it runs).
_NOT_COPIED = {".git", ".venv", "__pycache__", ".ipynb_checkpoints", ".pytest_cache",
               ".ruff_cache", "artifacts"}
_NOT_COPIED_UNDER_GRADERS = {"gradebook.db", "submitted", "autograded", "feedback"}


def missing_pieces() -> str | None:
    """Why the browser tests cannot run here, or None."""
    problems = []
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        problems.append(f"no Chromium at {CHROMIUM}")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problems.append("the Python package playwright is not installed")
    return "; ".join(problems) + ". " + ENABLE if problems else None


def copy_course(dest: Path) -> Path:
    """A copy of the course (the repository without .git, .venv and caches)."""

    def ignore(folder, names):
        skip = {n for n in names if n in _NOT_COPIED or n.endswith(".egg-info")}
        if Path(folder).resolve() == ROOT / "graders":
            skip |= {n for n in names if n in _NOT_COPIED_UNDER_GRADERS}
        return skip

    shutil.copytree(ROOT, dest, ignore=ignore, symlinks=True)
    return dest


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children() -> dict[int, list[int]]:
    """ppid -> pids, from /proc (Linux)."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def descendants(pid: int) -> set[int]:
    """Every living process below ``pid`` (kernels run in sessions of their own)."""
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found and alive(child):
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "?"


class LabServer:
    """``jupyter lab`` on the course copy at ``root``; a context manager."""

    def __init__(self, root: Path, scratch: Path, log: Path):
        self.root, self.scratch, self.log_path = root, scratch, log
        self.port, self.token = free_port(), secrets.token_hex(24)
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.pids: set[int] = set()

    def _settings(self, env: dict[str, str]) -> None:
        """No news or update pop-ups over the notebook (and no network calls)."""
        folder = (Path(env["JUPYTER_CONFIG_DIR"]) / "lab" / "user-settings"
                  / "@jupyterlab" / "apputils-extension")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}))

    def start(self, timeout: float = 120) -> LabServer:
        env = tool_env(self.scratch)
        env["HOME"] = str(self.scratch / "home")
        Path(env["HOME"]).mkdir(exist_ok=True)
        self._settings(env)
        # As ./course lab: the course root as cwd, notebooks/ as the server root.
        cmd = [sys.executable, "-m", "jupyter", "lab", "--ServerApp.root_dir=notebooks",
               "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}"]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop())
        self._log = log
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited ({self.proc.returncode}):\n"
                                   + self.log_tail())
            try:
                self.api("GET", "/api/status", timeout=5)
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("jupyter lab did not answer in "
                                       f"{timeout:.0f} s:\n{self.log_tail()}") from None
                time.sleep(0.5)

    def api(self, method: str, path: str, timeout: float = 30):
        req = urllib.request.Request(
            self.url + path, method=method, data=b"" if method == "POST" else None,
            headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def page(self, path: str) -> str:
        """A browser URL; the token logs the browser in (as in the printed URL)."""
        sep = "&" if "?" in path else "?"
        return f"{self.url}{path}{sep}token={self.token}"

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text()[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Shut the server and its kernels down; kill whatever is left."""
        if self.proc is None:
            return
        self.pids |= descendants(self.proc.pid)
        if self.proc.poll() is None:
            try:  # a clean shutdown also shuts down the kernels
                self.api("POST", "/api/shutdown", timeout=10)
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in self.pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in self.pids:
            if alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        self._log.close()

    def processes(self) -> set[int]:
        """The server and every process below it, now."""
        if self.proc is None or not alive(self.proc.pid):
            return set()
        return {self.proc.pid} | descendants(self.proc.pid)

    def leftovers(self) -> list[str]:
        """Processes the server started that still run after stop()."""
        return [f"{pid}: {command_line(pid)}" for pid in sorted(self.pids)
                if alive(pid)]

    def __enter__(self) -> LabServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
