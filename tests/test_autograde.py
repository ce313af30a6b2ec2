"""Real nbgrader, real kernels: release, submit, autograde, feedback.

A temporary course (configured by graders/config.py, like the real one) gets
the solution notebooks as its source, runs ``nbgrader generate_assignment``,
receives submissions from these students for every chapter, runs
``nbgrader autograde`` and ``nbgrader generate_feedback``:

- ``blank``: the untouched student release;
- ``solved``: the release with every answer cell filled with the solution;
- ``deleted``: blank answers, every test cell deleted;
- ``edited``: blank answers, every test cell replaced by ``pass``;
- ``inflated``: blank answers, test cells' points set to 100 and locked off;
- ``solved_inflated``: the solved notebook with test cells' points set to 100.

This is the instructor's plain path (nbgrader's own commands, no sandbox), and
what it checks does not depend on the chapter's content, so it runs on two
chapters: the first and the newest. Every chapter, solved and blank, is graded
through ``./course grade`` (real nbgrader too) in tests/test_grade_chapters.py,
which also checks that its feedback shows no hidden test.
"""

import copy
import html
import re
import shutil

import nbformat
import pytest
from nbgrader.api import Gradebook, MissingEntry
from nbtools import (
    CHAPTERS,
    grade_cells,
    read,
    region_lines,
    release_path,
    solution_path,
)

from graders.config import write_config
from graders.feedback import BEGIN, END
from graders.runenv import nbgrader

# The first chapter and the newest one: a new chapter is always exercised here.
PLAIN_PATH_CHAPTERS = sorted({CHAPTERS[0], CHAPTERS[-1]})
STUDENTS = ["blank", "solved", "deleted", "edited", "inflated", "solved_inflated"]


def make_submission(student, release, solution):
    nb = copy.deepcopy(release)
    answers, _ = grade_cells(solution)
    if student.startswith("solved"):
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in answers:
                cell.source = answers[grade_id].source
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    if student == "deleted":
        nb.cells = [c for c in nb.cells if c not in tests]
    for cell in tests:
        if student == "edited":
            cell.source = "pass"
        if student.endswith("inflated"):
            cell.metadata["nbgrader"]["points"] = 100
            cell.metadata["nbgrader"]["locked"] = False
    return nb


@pytest.fixture(scope="module")
def course_root(tmp_path_factory):
    """A temporary course configured like the real one; chapters added lazily."""
    root = tmp_path_factory.mktemp("course")
    write_config(root)
    return root


@pytest.fixture
def course(course_root, chapter):
    """Release, submit, autograde and give feedback for ``chapter`` (once)."""
    if (course_root / "graders" / "feedback" / "blank" / chapter).exists():
        return course_root
    (course_root / "solutions" / chapter).mkdir(parents=True)
    shutil.copy(solution_path(chapter), course_root / "solutions" / chapter)
    done = nbgrader(course_root, "generate_assignment", chapter, "--force")
    assert done.returncode == 0, done.stderr
    release = read(course_root / "notebooks" / chapter / f"{chapter}.ipynb")
    for student in STUDENTS:
        target = course_root / "graders" / "submitted" / student / chapter
        target.mkdir(parents=True)
        nb = make_submission(student, release, read(solution_path(chapter)))
        nbformat.write(nb, target / f"{chapter}.ipynb")
    nbgrader(course_root, "autograde", chapter, "--force")
    nbgrader(course_root, "generate_feedback", chapter, "--force")
    return course_root


def scores(course, chapter, student):
    """{test cell id: (score, max score)} from the gradebook, or None if ungraded."""
    url = "sqlite:///" + str(course / "graders" / "gradebook.db")
    with Gradebook(url) as gb:
        try:
            sub = gb.find_submission_notebook(chapter, chapter, student)
        except MissingEntry:
            return None
        return {g.name: (g.score, g.max_score) for g in sub.grades}


@pytest.mark.parametrize("chapter", PLAIN_PATH_CHAPTERS)
def test_blank_release_scores_zero_on_every_graded_cell(course, chapter):
    graded = scores(course, chapter, "blank")
    assert graded, f"{chapter}: the blank submission was not graded"
    assert all(score == 0 for score, _ in graded.values()), graded


@pytest.mark.parametrize("chapter", PLAIN_PATH_CHAPTERS)
def test_solutions_submitted_as_a_student_score_full_marks(course, chapter):
    graded = scores(course, chapter, "solved")
    assert graded, f"{chapter}: the solved submission was not graded"
    short = {cell: s for cell, s in graded.items() if s[0] != s[1]}
    assert not short, f"{chapter}: cells below full marks: {short}"


@pytest.mark.parametrize("student", ["deleted", "edited", "inflated"])
@pytest.mark.parametrize("chapter", PLAIN_PATH_CHAPTERS)
def test_tampering_with_test_cells_earns_nothing(course, chapter, student):
    graded = scores(course, chapter, student)
    total = sum(score for score, _ in (graded or {}).values())
    blank = sum(score for score, _ in scores(course, chapter, "blank").values())
    assert total <= blank, f"{chapter}/{student}: {total} points > blank {blank}"


@pytest.mark.parametrize("chapter", PLAIN_PATH_CHAPTERS)
def test_inflated_points_do_not_raise_the_maximum(course, chapter):
    honest = scores(course, chapter, "solved")
    inflated = scores(course, chapter, "solved_inflated")
    assert inflated == honest, f"{chapter}: {inflated} != {honest}"


def hidden_test_lines(chapter: str) -> set[str]:
    """Hidden test lines of ``chapter`` that the student release does not show."""
    hidden = set()
    for cell in read(solution_path(chapter)).cells:
        hidden.update(line for line in region_lines(cell.source, BEGIN, END)
                      if len(line) >= 16)
    # A line that the student release shows anyway (a demo, a visible test)
    # is no leak.
    public = "\n".join(c.source for c in read(release_path(chapter)).cells)
    hidden = {line for line in hidden if line not in public}
    assert hidden, f"{chapter}: no hidden test lines found to look for"
    return hidden


def assert_feedback_hides_tests(page, chapter: str) -> None:
    """The feedback page exists, names no hidden test line, and says so."""
    assert page.exists(), f"no feedback page {page}"
    text = html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))
    shown = [line for line in hidden_test_lines(chapter) if line in text]
    assert not shown, f"feedback {page} shows hidden code: {shown[:3]}"
    assert "hidden tests are not shown" in text


@pytest.mark.parametrize("chapter", PLAIN_PATH_CHAPTERS)
def test_feedback_shows_no_hidden_test_code(course, chapter):
    for student in ("blank", "solved"):
        page = course / "graders" / "feedback" / student / chapter / f"{chapter}.html"
        assert_feedback_hides_tests(page, chapter)
