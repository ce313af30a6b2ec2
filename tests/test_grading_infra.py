"""``./course grade`` on a shared machine, and regrades that fail for a reason
that is not the student's. Real runs, real nbgrader, real sandboxed kernels;
each test looks only at the processes it started (``nbtools.own_processes``).
"""

from __future__ import annotations

import copy
import csv
import json
import subprocess
import sys
import time

import pytest
from nbformat.v4 import new_code_cell
from nbtools import (
    ROOT,
    descendants,
    own_processes,
    read,
    release_path,
    sandbox_flags,
    solution_path,
)
from test_autograde import make_submission

from graders import gradebook
from graders.kernels import check_sandbox
from graders.runenv import tool_env

CH = "ch00_introduction"


def _solved():
    return make_submission("solved", read(release_path(CH)), read(solution_path(CH)))


def _write(folder, student, nb_or_bytes):
    path = folder / student / f"{CH}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (nb_or_bytes if isinstance(nb_or_bytes, bytes)
            else json.dumps(nb_or_bytes).encode("utf-8"))
    path.write_bytes(data)


def _command(source, out, *extra):
    return [sys.executable, "-m", "graders.grade", str(source), "--chapter", CH,
            "--out", str(out), "--course", str(out.parent / "course"),
            "--workers", "1", *extra]


def _rows(out):
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def _central_score(out, student):
    from nbgrader.api import Gradebook

    url = gradebook.db_url(out.parent / "course")
    if not gradebook.has_submission(url, CH, student):
        return None
    with Gradebook(url) as gb:
        return float(gb.find_submission(CH, student).score)


# Started in the first answer cell of run A: ``sleep`` processes until the
# process limit blocks them, held until the test says so (a file in the
# kernel's socket folder, the one folder both sides see), then ended.
_FLOOD = '''
import os, subprocess, time
_flood = []
try:
    while len(_flood) < 10000:
        _flood.append(subprocess.Popen(["sleep", "600"]))
except OSError as error:
    print("flood blocked after", len(_flood), type(error).__name__)
_release = os.path.join(os.environ["JUPYTER_RUNTIME_DIR"], "release")
_deadline = time.monotonic() + 400
while not os.path.exists(_release) and time.monotonic() < _deadline:
    time.sleep(0.2)
for _p in _flood:
    _p.kill()
    _p.wait()
del _flood
'''


def _sleeps(pid):
    found = 0
    for child in descendants(pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as handle:
                found += handle.read().startswith(b"sleep\0")
        except OSError:
            continue
    return found


@pytest.mark.skipif(check_sandbox() is not None,
                    reason=f"grading sandbox unavailable here: {check_sandbox()}")
def test_two_graders_at_once_one_flooded_with_processes(tmp_path):
    """Run A's student starts processes until blocked and holds them while
    run B, another class on the same machine, grades a plain correct notebook
    with the same process limit: B gets its full grade (its kernel has a uid,
    and so a process count, of its own), and so does A."""
    hostile = copy.deepcopy(_solved())
    first = next(c for c in hostile.cells
                 if c.metadata.get("nbgrader", {}).get("solution"))
    first.source += "\n" + _FLOOD
    _write(tmp_path / "a" / "in", "flooder", hostile)
    _write(tmp_path / "b" / "in", "plain", _solved())
    limit = ["--processes", "64"]
    env_a, env_b = tool_env(tmp_path / "a" / "home"), tool_env(tmp_path / "b" / "home")
    out_a, out_b = tmp_path / "a" / "out", tmp_path / "b" / "out"
    with own_processes() as left:
        run_a = subprocess.Popen(
            _command(tmp_path / "a" / "in", out_a, *limit, "--cell-timeout", "500"),
            cwd=ROOT, env=env_a, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        try:
            deadline = time.monotonic() + 400
            while _sleeps(run_a.pid) < 30 and run_a.poll() is None:
                assert time.monotonic() < deadline, "run A never flooded"
                time.sleep(0.5)
            flood = _sleeps(run_a.pid)
            run_b = subprocess.run(_command(tmp_path / "b" / "in", out_b, *limit),
                                   cwd=ROOT, env=env_b, capture_output=True,
                                   text=True, timeout=600)
            still_flooding = _sleeps(run_a.pid)
            spec = out_a / "runs" / CH / "flooder" / ".jupyter" / "sandbox.json"
            runtime = json.loads(spec.read_text())["read_write"][0]
            with open(f"{runtime}/release", "w"):
                pass
            out_a_text, err_a = run_a.communicate(timeout=600)
        finally:
            if run_a.poll() is None:
                run_a.kill()
                run_a.communicate()
        assert not left(), "processes left by the two runs"
    assert flood >= 30 and still_flooding >= 30, (flood, still_flooding)
    assert run_b.returncode == 0, run_b.stderr[-3000:]
    b = _rows(out_b)["plain"]
    assert (b["status"], b["score"]) == ("graded", b["max_score"]), b
    assert run_a.returncode == 0, err_a[-3000:]
    a = _rows(out_a)["flooder"]
    assert (a["status"], a["score"]) == ("graded", a["max_score"]), a
    graded = (tmp_path / "a" / "course" / "graders" / "autograded" / "flooder"
              / CH / f"{CH}.ipynb")
    assert "flood blocked after" in graded.read_text(encoding="utf-8")


def test_a_failed_regrade_keeps_the_grade_and_the_next_run_retries_it(tmp_path):
    """A regrade stopped for an infrastructure reason (here the whole-notebook
    time limit) is reported as ``retry`` and keeps the earlier grade in the
    central gradebook, unlike a student's fault (a broken file, 0 points).
    Running the command again regrades exactly the ``retry`` notebooks."""
    source, out = tmp_path / "in", tmp_path / "out"
    solved = _solved()
    for student in ("kept", "stable"):
        _write(source, student, solved)
    _write(source, "fault", json.dumps(solved).encode()[:600])
    flags, env = sandbox_flags(), tool_env(tmp_path / "home")

    def grade(*extra):
        with own_processes() as left:
            done = subprocess.run(_command(source, out, *flags, "--workers", "2",
                                           *extra), cwd=ROOT,
                                  env=env, capture_output=True, text=True,
                                  timeout=900)
            assert not left(), "processes left by the run"
        return done

    first = grade()
    assert first.returncode == 0, first.stderr[-3000:]
    full = _rows(out)["kept"]["max_score"]
    assert {s: (r["status"], r["score"]) for s, r in _rows(out).items()} == {
        "kept": ("graded", full), "stable": ("graded", full),
        "fault": ("not a valid notebook", "0.0")}
    changed = copy.deepcopy(solved)
    changed.cells.append(new_code_cell("extra = 1"))
    _write(source, "kept", changed)
    page = out / "feedback" / "kept" / CH / f"{CH}.html"

    failed = grade("--notebook-timeout", "1")
    assert failed.returncode == 1, failed.stderr[-3000:]
    assert "infrastructure reason" in failed.stderr
    rows = _rows(out)
    assert rows["kept"]["status"] == "retry", rows["kept"]
    assert rows["kept"]["score"] == full, rows["kept"]
    assert "infrastructure failure" in rows["kept"]["problems"], rows["kept"]
    assert "earlier grade kept" in rows["kept"]["problems"], rows["kept"]
    assert _central_score(out, "kept") == float(full)
    assert page.exists(), "the earlier feedback was removed"
    assert rows["fault"]["status"] == "not a valid notebook", rows["fault"]
    assert _central_score(out, "fault") is None
    assert _central_score(out, "stable") == float(full)

    again = grade()
    assert again.returncode == 0, again.stderr[-3000:]
    lines = {line.split()[1]: line for line in again.stderr.splitlines()
             if line.startswith("[")}
    assert "unchanged" in lines["stable"], lines
    assert "unchanged" not in lines["kept"], lines
    rows = _rows(out)
    assert (rows["kept"]["status"], rows["kept"]["score"]) == ("graded", full)
    assert rows["fault"]["status"] == "not a valid notebook"
    assert _central_score(out, "kept") == float(full)
