"""requirements.txt, environment.yml and binder/ name the same pinned versions."""

import re

from nbtools import ROOT

PIN = re.compile(r"^\s*(?:-\s+)?([A-Za-z0-9_.\-\[\]]+)==([^\s#]+)")


def pins(path):
    found = {}
    for line in path.read_text().splitlines():
        match = PIN.match(line)
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def test_requirements_pin_torch_and_every_package_exactly():
    reqs = pins(ROOT / "requirements.txt")
    assert reqs.get("torch") == "2.13.0", reqs
    lines = [ln for ln in (ROOT / "requirements.txt").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert len(lines) == len(reqs), "every requirement must be pinned with =="
    for needed in ("jupyterlab", "nbgrader", "numpy", "matplotlib", "ipywidgets",
                   "nbval", "pytest"):
        assert needed in reqs, f"{needed} is not pinned"
    assert not any(name.startswith("torchvision") for name in reqs)


def test_environment_yml_and_binder_match_requirements():
    reqs = pins(ROOT / "requirements.txt")
    assert pins(ROOT / "environment.yml") == reqs
    assert pins(ROOT / "binder" / "requirements.txt") == reqs
    python = re.search(r"python=(\d+\.\d+)", (ROOT / "environment.yml").read_text())
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    assert python and runtime == f"python-{python.group(1)}", (python, runtime)


def test_binder_opens_notebooks_only_and_enables_extensions():
    start = (ROOT / "binder" / "start").read_text()
    assert "--ServerApp.root_dir=" in start and "notebooks" in start
    post = (ROOT / "binder" / "postBuild").read_text()
    for needed in ("validate_assignment", "assignment_list", "@jupyter/nbgrader",
                   "@jupyter-widgets/jupyterlab-manager", "-e ."):
        assert needed in post, f"binder/postBuild does not mention {needed}"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"```(?:bash|sh)?\n(\./course test)\n```", readme)
    assert command, "README.md must show the test command in its own code block"
    assert command.group(1) in (ROOT / ".ci" / "run").read_text()
