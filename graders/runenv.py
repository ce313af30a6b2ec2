"""Environment for the Jupyter and nbgrader processes the tools start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

# Every place where Jupyter, IPython or matplotlib would write into $HOME.
HOME_WRITERS = {
    "JUPYTER_CONFIG_DIR": "jupyter-config",
    "JUPYTER_DATA_DIR": "jupyter-data",
    "JUPYTER_RUNTIME_DIR": "jupyter-runtime",
    "IPYTHONDIR": "ipython",
    "MPLCONFIGDIR": "matplotlib",
}


def tool_env(scratch: str | Path | None = None) -> dict[str, str]:
    """A copy of ``os.environ`` for subprocesses.

    The running interpreter's bin folder comes first on PATH (nbgrader calls
    ``alembic`` by name, so it must be found even without an activated venv).
    With ``scratch``, Jupyter/IPython/matplotlib state goes under that folder
    instead of the home directory.
    """
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent),
                                   env.get("PATH", "")])
    if scratch is not None:
        for var, sub in HOME_WRITERS.items():
            path = Path(scratch) / sub
            path.mkdir(parents=True, exist_ok=True)
            env[var] = str(path)
    return env


def nbgrader(cwd: str | Path, *args: str, timeout: float = 1800,
             scratch: str | Path | None = None,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m nbgrader ARGS`` in ``cwd`` (a course root); capture output.

    ``env`` adds to the environment. Past ``timeout`` seconds the whole process
    group is killed and ``subprocess.TimeoutExpired`` raised.
    """
    cmd = [sys.executable, "-m", "nbgrader", *args, "--log-level=WARN"]
    with subprocess.Popen(cmd, cwd=cwd, env={**tool_env(scratch), **(env or {})},
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)
