"""Kernels, nbconvert and nbgrader started the way the tests start them write
nothing into the home directory (Jupyter/IPython/matplotlib go to scratch)."""

import subprocess
import sys

import nbformat

from graders.runenv import tool_env

CELLS = [
    "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3]); plt.show()",
    "import ipywidgets\nipywidgets.interact(lambda k=1: print(k), k=(0, 3))",
    "from dlcourse import progress, get_device\nsum(progress(range(3)))",
    "import torch\ntorch.randn(3) @ torch.randn(3)",
]


def test_tools_write_nothing_in_home(tmp_path):
    home, scratch = tmp_path / "home", tmp_path / "scratch"
    home.mkdir()
    env = tool_env(scratch)
    env["HOME"] = str(home)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = tmp_path / "probe.ipynb"
    nbformat.write(nb, path)
    for cmd in (["-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                 "--output", str(tmp_path / "out.ipynb"), str(path)],
                ["-m", "nbgrader", "validate", str(path)]):
        done = subprocess.run([sys.executable, *cmd], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    left = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    assert not left, f"written into HOME: {left}"
    assert any(scratch.rglob("*")), "the scratch folder was not used"
