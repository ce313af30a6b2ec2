"""Hostile and broken submissions, graded for real by ``./course grade``.

One module-wide run grades the whole corpus of tests/hostile.py (real files,
real nbgrader, real sandboxed kernels, two workers), then each case is
checked: its score, its status, the reason shown, and that nothing escaped:
no file outside the grader's working area changed, no process the run
started is left (only the run's own process tree is looked at: another
grading run on the machine is none of this test's business), the test's own
TCP server was never reached.
"""

from __future__ import annotations

import csv
import hashlib
import os
import socket
import subprocess
import sys
import threading

import pytest
from hostile import CH, FULL, build
from nbtools import ROOT, own_processes

from graders.kernels import check_sandbox
from graders.runenv import tool_env

pytestmark = pytest.mark.skipif(
    check_sandbox() is not None and not os.environ.get("CI"),
    reason=f"grading sandbox unavailable here: {check_sandbox()}")

WATCHED = ["solutions", "notebooks", "graders", "dlcourse", "tests", "assets"]


def _tree(root) -> dict[str, str]:
    """Path -> sha256 of every file under ``root`` (the grader's areas excluded)."""
    digests = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if (path.is_file() and "__pycache__" not in rel
                and not rel.startswith(("graders/work", "tests/artifacts"))):
            digests[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def _repo_state() -> dict[str, str]:
    state = {}
    for top in WATCHED:
        state.update({f"{top}/{k}": v for k, v in _tree(ROOT / top).items()})
    return state


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.5)
    reached = []

    def listen():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            reached.append(conn.getpeername())
            conn.close()

    stop = threading.Event()
    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    corpus, out, course = base / "submissions", base / "out", base / "course"
    cases = build(corpus, {"course": course, "out": out,
                           "port": server.getsockname()[1]})
    before_repo, before_corpus = _repo_state(), _tree(corpus)
    with own_processes() as left:  # the run's process tree, orphans included
        done = subprocess.run(
            [sys.executable, "-m", "graders.grade", str(corpus), "--chapter", CH,
             "--out", str(out), "--course", str(course), "--workers", "2",
             "--cell-timeout", "20"],
            cwd=ROOT, env=tool_env(base / "scratch"), capture_output=True,
            text=True, timeout=1800)
        still = left()
    stop.set()
    thread.join()
    server.close()
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    return {"cases": cases, "rows": rows, "done": done, "base": base,
            "repo": (before_repo, _repo_state()),
            "corpus": (before_corpus, _tree(corpus)), "reached": reached,
            "left": still}


def test_the_command_succeeds_and_grades_every_case(graded):
    done = graded["done"]
    assert done.returncode == 0, done.stderr[-3000:]
    assert set(graded["rows"]) == set(graded["cases"]), done.stdout


_CASE_NAMES = ["solved", "blank", "wrong", "truncated", "bom", "latin1", "nbformat3",
               "cellids", "renamed", "otherchapter", "deletedtests", "editedtests",
               "markdowntests", "gradeids", "points", "fakeoutputs", "infiniteloop",
               "uninterruptible", "printflood", "hugeline", "hugealloc", "exit",
               "segfault", "forkbomb", "leftovers", "network", "reader", "writer",
               "patchallclose", "patchtesting", "patchnumpy", "patchchecks",
               "patchcode", "patchbuiltins", "patchtraceback", "patchatcall",
               "fakeguard",
               "nbgraderenv", "stderr", "warnintests"]


@pytest.mark.parametrize("case", _CASE_NAMES)
def test_case(graded, case):
    expected, row = graded["cases"][case], graded["rows"].get(case)
    assert row is not None, f"no grade row for {case}"
    shown = f"{case}: {row}"
    assert float(row["score"]) == expected.score, shown
    assert row["status"] == expected.status, shown
    if expected.reason:
        assert expected.reason in row["problems"], shown
    assert float(row["score"]) <= FULL
    if case not in ("solved", "bom", "latin1", "nbformat3", "cellids", "renamed",
                    "infiniteloop", "uninterruptible", "printflood", "hugeline",
                    "hugealloc", "exit", "segfault", "forkbomb", "leftovers",
                    "network", "writer", "stderr", "warnintests"):
        assert float(row["score"]) <= float(graded["rows"]["blank"]["score"]), shown


def test_case_list_is_the_corpus(graded):
    assert sorted(_CASE_NAMES) == sorted(graded["cases"])


def test_nothing_outside_the_working_area_changed(graded):
    before, after = graded["repo"]
    changed = sorted(k for k in {*before, *after} if before.get(k) != after.get(k))
    assert not changed, changed
    before, after = graded["corpus"]
    assert before == after, "the original submissions were modified"
    pwned = [*graded["base"].rglob("PWNED"), *ROOT.glob("PWNED"),
             *(p for top in WATCHED for p in (ROOT / top).rglob("PWNED"))]
    assert not pwned, pwned


def test_nothing_is_left_running(graded):
    assert not graded["left"], graded["left"]


def test_the_network_was_never_reached(graded):
    assert not graded["reached"], graded["reached"]


def test_without_sandbox_and_guard_the_same_cheats_would_score(graded, tmp_path):
    """The control: these cases score 0 above only because of the sandbox (reading
    the solutions) and the guard (patched checks). Graded here without both,
    they get points, so the corpus really exercises them."""
    corpus = tmp_path / "submissions"
    for case in ("reader", "patchchecks", "patchatcall"):
        source = graded["base"] / "submissions" / case
        (corpus / case).mkdir(parents=True)
        for path in source.iterdir():
            (corpus / case / path.name).write_bytes(path.read_bytes())
    done = subprocess.run(
        [sys.executable, "-m", "graders.grade", str(corpus), "--chapter", CH,
         "--out", str(tmp_path / "out"), "--course", str(tmp_path / "course"),
         "--workers", "2", "--cell-timeout", "20", "--no-sandbox", "--no-guard"],
        cwd=ROOT, env=tool_env(tmp_path / "scratch"), capture_output=True,
        text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    with open(tmp_path / "out" / "grades.csv", newline="", encoding="utf-8") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert float(rows["reader"]["score"]) == FULL, rows["reader"]
    for case in ("patchchecks", "patchatcall"):
        assert float(rows[case]["score"]) > 0, rows[case]
        assert rows[case]["status"] == "graded", rows[case]
