"""The central gradebook: ``python -m graders.grade --course DIR`` merges every
graded submission into DIR's nbgrader gradebook (``graders/gradebook.py``).

Real nbgrader on ch00 (the fastest chapter), as in test_grade_cli.py: a class
is graded into a temporary course, then one student sends a new file, then
another a broken one; after each run ``nbgrader export`` in that course must
give the scores of grades.csv. Merges are also called directly: flagged
cells, and two threads (and a second process) merging at once.
"""

import csv
import sqlite3
import subprocess
import sys
import threading

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell, new_notebook
from nbgrader.api import Grade, Gradebook
from nbtools import (
    ROOT,
    read,
    release_path,
    sandbox_flags,
    solution_path,
    tree_hash,
)
from test_autograde import make_submission

from graders import gradebook
from graders.config import write_config
from graders.runenv import nbgrader, tool_env

CH = "ch00_introduction"
FLAGGED = "ch00-relu-tests"
N_GRADES = 5  # grade cells of ch00
REPO_DATA = [ROOT / "graders" / name for name in (
    "gradebook.db", "gradebook.db.lock", "autograded", "feedback")]


@pytest.fixture(scope="module", autouse=True)
def repo_before():
    """The repository's own grading data before this module's tests."""
    return tree_hash(*REPO_DATA)


def _folder(path, files: dict):
    for rel, data in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_bytes(data)
    return path


def _bytes(nb) -> bytes:
    return nbformat.writes(nb).encode("utf-8")


def _grade(source, out, course):
    cmd = [sys.executable, "-m", "graders.grade", str(source), "--out", str(out),
           "--course", str(course), "--workers", "2", *sandbox_flags()]
    done = subprocess.run(cmd, cwd=ROOT, env=tool_env(out.parent / "home"),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _new_course(path):
    path.mkdir(parents=True)
    write_config(path)
    return path


def _export(course, dest) -> dict:
    """``nbgrader export`` in ``course``: {student: (score, max_score)} for CH."""
    done = nbgrader(course, "export", "--to", str(dest), scratch=dest.parent / "home")
    assert done.returncode == 0, done.stderr
    with open(dest, newline="", encoding="utf-8") as handle:
        return {r["student_id"]: (float(r["score"]), float(r["max_score"]))
                for r in csv.DictReader(handle) if r["assignment"] == CH}


def _central(course) -> dict:
    """What the course's gradebook holds for CH, and its autograded folders."""
    with Gradebook(gradebook.db_url(course), course_id="") as gb:
        subs = gb.assignment_submissions(CH)
        return {
            "scores": {s.student.id: float(s.score) for s in subs},
            "grades": gb.db.query(Grade).count(),
            "autograded": {s.student.id: tree_hash(
                course / "graders" / "autograded" / s.student.id / CH)
                for s in subs},
            "feedback": {s.student.id: _text(
                course / "graders" / "feedback" / s.student.id / CH / f"{CH}.html")
                for s in subs}}


def _text(path) -> str | None:
    return path.read_text(encoding="utf-8") if path.exists() else None


def _state(base, out, course, name) -> dict:
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {"csv": rows, "export": _export(course, base / name / "grades.csv"),
            **_central(course)}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Three runs into one course: the class, a regrade, a broken file."""
    base = tmp_path_factory.mktemp("gradebook")
    release, solution = read(release_path(CH)), read(solution_path(CH))
    solved = _bytes(make_submission("solved", release, solution))
    course, out = _new_course(base / "course"), base / "work"
    notes = new_notebook(cells=[new_markdown_cell("# my notes")])
    _grade(_folder(base / "class", {
        f"submitted/solved/{CH}/{CH}.ipynb": solved,
        f"submitted/blank/{CH}/{CH}.ipynb": _bytes(release),
        f"bob/{CH}.ipynb": solved,
        "README.ipynb": _bytes(notes),  # no chapter in its name nor its cells
        f"{CH}.ipynb": _bytes(release),  # whose?
    }), out, course)
    states = {"class": _state(base, out, course, "class")}
    # blank sends the solved notebook: regraded, the others kept
    _grade(_folder(base / "again", {f"blank/{CH}.ipynb": solved}), out, course)
    states["regrade"] = _state(base, out, course, "regrade")
    # bob sends a broken file: 0 points, and his old grade leaves the gradebook
    _grade(_folder(base / "broken", {f"bob/{CH}.ipynb": solved[:300]}), out, course)
    states["broken"] = _state(base, out, course, "broken")
    return {"out": out, "course": course, **states}


def test_export_gives_the_scores_of_grades_csv(graded):
    for name in ("class", "regrade", "broken"):
        state = graded[name]
        rows = {r["student"]: (float(r["score"]), float(r["max_score"]))
                for r in state["csv"] if r["chapter"] == CH and r["student"]}
        assert rows == state["export"], name
        assert set(rows) == {"solved", "blank", "bob"}, name


def test_the_class_is_in_the_central_gradebook(graded):
    state = graded["class"]
    full = state["export"]["solved"][1]
    assert full > 0
    assert state["scores"] == {"solved": full, "blank": 0.0, "bob": full}
    assert state["grades"] == 3 * N_GRADES
    for student in ("solved", "blank", "bob"):
        assert state["autograded"][student] is not None, student
        assert "hidden tests are not shown" in state["feedback"][student], student


def test_a_regrade_replaces_the_submission_and_leaves_the_others(graded):
    before, after = graded["class"], graded["regrade"]
    full = before["export"]["solved"][1]
    assert len(after["scores"]) == len(before["scores"]) == 3
    assert after["grades"] == before["grades"]  # replaced, not duplicated
    assert before["scores"]["blank"] == 0.0 and after["scores"]["blank"] == full
    for student in ("solved", "bob"):
        assert after["scores"][student] == before["scores"][student], student
        assert after["autograded"][student] == before["autograded"][student], student
    assert after["autograded"]["blank"] != before["autograded"]["blank"]


def test_a_file_that_cannot_be_graded_removes_the_old_grade(graded):
    state, course = graded["broken"], graded["course"]
    bob, = [r for r in state["csv"] if r["student"] == "bob"]
    assert (bob["status"], float(bob["score"])) == ("not a valid notebook", 0.0)
    assert set(state["scores"]) == {"solved", "blank"}
    assert state["export"]["bob"][0] == 0.0
    for base in ("autograded", "feedback"):
        assert not (course / "graders" / base / "bob").exists(), base
    assert state["autograded"]["solved"] == graded["regrade"]["autograded"]["solved"]


def test_files_without_student_or_chapter_are_listed_in_grades_csv(graded):
    rows = [r for r in graded["class"]["csv"] if r["chapter"] != CH]
    rows += [r for r in graded["class"]["csv"] if not r["student"]]
    reasons = {r["problems"].split(";")[0]: r["status"] for r in rows}
    assert reasons == {
        "file README.ipynb": "chapter unknown (name it in the file name or use "
                             "--chapter)",
        f"file {CH}.ipynb": "student unknown (name the file or folder after the "
                            "student)"}, rows
    assert all(r["score"] == "" for r in rows)
    # each run lists its own: the later runs had none
    assert all(r["student"] and r["chapter"] for r in graded["regrade"]["csv"])


def test_flagged_cells_need_manual_grading(graded, tmp_path):
    course = _new_course(tmp_path / "course")
    url, run = gradebook.db_url(course), graded["out"] / "runs" / CH / "solved"
    gradebook.merge(run, url, CH, "solved", flagged=[FLAGGED])
    with Gradebook(url, course_id="") as gb:
        submission = gb.find_submission(CH, "solved")
        grades = {g.name: g for g in submission.notebooks[0].grades}
        assert (grades[FLAGGED].auto_score, grades[FLAGGED].needs_manual_grade) == (
            0.0, True)
        others = [g for name, g in grades.items() if name != FLAGGED]
        assert len(others) == N_GRADES - 1
        assert all(g.auto_score == g.max_score > 0 and not g.needs_manual_grade
                   for g in others)
        assert submission.notebooks[0].flagged and submission.needs_manual_grade
        assert submission.score == submission.max_score - grades[FLAGGED].max_score
    assert (course / "graders" / "autograded" / "solved" / CH / f"{CH}.ipynb").exists()
    gradebook.merge(run, url, CH, "solved")  # unflagged again: replaced
    with Gradebook(url, course_id="") as gb:
        submission = gb.find_submission(CH, "solved")
        assert submission.score == submission.max_score
        assert not submission.needs_manual_grade
        assert gb.db.query(Grade).count() == N_GRADES


_MERGE = """import sys
from pathlib import Path
from graders.gradebook import merge
for _ in range(3):
    merge(Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4])
"""


def test_concurrent_merges_leave_a_consistent_gradebook(graded, tmp_path):
    course = _new_course(tmp_path / "course")
    url, runs = gradebook.db_url(course), graded["out"] / "runs" / CH
    start, errors = threading.Barrier(2), []

    def merge_often(student):
        try:
            start.wait()
            for _ in range(3):
                gradebook.merge(runs / student, url, CH, student)
        except BaseException as error:  # noqa: B036 - reported below
            errors.append(error)

    other = subprocess.Popen(  # another grade command on the same course
        [sys.executable, "-c", _MERGE, str(runs / "solved"), url, CH, "solved"],
        cwd=ROOT, env=tool_env(tmp_path / "home"), stderr=subprocess.PIPE, text=True)
    threads = [threading.Thread(target=merge_often, args=(s,))
               for s in ("solved", "blank")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert other.wait(timeout=300) == 0, other.stderr.read()
    other.stderr.close()
    assert errors == []
    db = course / "graders" / "gradebook.db"
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        count = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                 for t in ("assignment", "notebook", "grade_cells", "student",
                           "submitted_assignment", "submitted_notebook", "grade",
                           "comment")}
    assert count == {"assignment": 1, "notebook": 1, "grade_cells": N_GRADES,
                     "student": 2, "submitted_assignment": 2,
                     "submitted_notebook": 2, "grade": 2 * N_GRADES,
                     "comment": 2 * N_GRADES}
    full = graded["class"]["export"]["solved"][1]
    assert _export(course, tmp_path / "export" / "grades.csv") == {
        "solved": (full, full), "blank": (full, full)}  # blank's run: regraded
    assert not list(course.glob("graders/*/*/.*"))  # no staged folder left


def test_the_repository_gradebook_is_untouched(repo_before):
    """Last: no test of this module wrote into the repository's graders/."""
    assert tree_hash(*REPO_DATA) == repo_before
