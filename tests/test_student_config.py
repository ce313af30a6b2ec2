"""Student side: the Assignments tab's nbgrader config (notebooks/) works."""

import subprocess
import sys

from nbtools import ROOT

from graders.runenv import tool_env


def test_nbgrader_list_works_from_the_student_folder(tmp_path):
    """JupyterLab's Assignments tab reads notebooks/nbgrader_config.py."""
    done = subprocess.run([sys.executable, "-m", "nbgrader", "list"],
                          cwd=ROOT / "notebooks", env=tool_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Unwritable" not in done.stderr and "does not exist" not in done.stderr
