"""ruff keeps the course code, the tests and the chapter sources clean."""

import subprocess
import sys

from nbtools import ROOT


def test_ruff_is_clean():
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--output-format", "concise",
         "dlcourse", "graders", "tests", "solutions", "nbgrader_config.py"],
        cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-1000:]
