"""Every chapter through ``./course grade`` (sandbox and guard on): the solved
notebook gets full marks and no flag, the untouched release 0 and no flag.
The solved run is also the chapter's run with its own seeds: no cell of it
may raise (a training bar missed at seed offset 0 would; tests/test_mutants.py
and tests/test_training_bars.py run offsets 2 and 1).

The tamper guard watches what the course's own cells do too; this is where a
chapter that rebinds a checked name, or an import that rewraps a watched
function, would show up as a false alarm.
"""

import csv
import subprocess
import sys

import nbformat
import pytest
from nbtools import CHAPTERS, ROOT, read, release_path, sandbox_flags, solution_path
from test_autograde import assert_feedback_hides_tests, make_submission

from graders.runenv import tool_env


def _selected(request) -> list[str]:
    """The chapters whose tests this session runs (``-k ch21`` grades ch21 only)."""
    chosen = {item.callspec.params["chapter"] for item in request.session.items
              if item.module is request.module and hasattr(item, "callspec")}
    return [c for c in CHAPTERS if c in chosen] or CHAPTERS


@pytest.fixture(scope="module")
def rows(request, tmp_path_factory):
    base = tmp_path_factory.mktemp("chapters")
    chapters = _selected(request)
    for chapter in chapters:
        release = read(release_path(chapter))
        for student, nb in [("solved", make_submission("solved", release,
                                                       read(solution_path(chapter)))),
                            ("blank", release)]:
            folder = base / "subs" / student
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, folder / f"{chapter}.ipynb")
    done = subprocess.run(
        [sys.executable, "-m", "graders.grade", str(base / "subs"), "--out",
         str(base / "out"), "--course", str(base / "course"), "--workers", "2",
         *sandbox_flags()],
        cwd=ROOT, env=tool_env(base / "scratch"), capture_output=True, text=True,
        timeout=600 + 180 * len(chapters))
    assert done.returncode == 0, done.stderr[-3000:]
    with open(base / "out" / "grades.csv", newline="", encoding="utf-8") as handle:
        found = {(r["student"], r["chapter"]): r for r in csv.DictReader(handle)}
    found["out"] = base / "out"
    return found


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_solved_gets_full_marks_and_no_flag(rows, chapter):
    row = rows[("solved", chapter)]
    assert float(row["score"]) == float(row["max_score"]) > 0, row
    assert (row["status"], row["problems"]) == ("graded", ""), row


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_solved_runs_every_cell_without_error(rows, chapter):
    path = (rows["out"] / "runs" / chapter / "solved" / "graders" / "autograded"
            / "solved" / chapter / f"{chapter}.ipynb")
    errors = [(cell.id, out.get("ename"), out.get("evalue"))
              for cell in read(path).cells if cell.cell_type == "code"
              for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors, f"{chapter}: cells raised when graded: {errors}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_blank_gets_zero_and_no_flag(rows, chapter):
    row = rows[("blank", chapter)]
    assert float(row["score"]) == 0, row
    assert (row["status"], row["problems"]) == ("graded", ""), row


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_feedback_shows_no_hidden_test_code(rows, chapter):
    for student in ("blank", "solved"):
        page = rows["out"] / "feedback" / student / chapter / f"{chapter}.html"
        assert_feedback_hides_tests(page, chapter)
