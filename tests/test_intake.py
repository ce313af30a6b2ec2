"""``graders.intake.align``: every submission is rebuilt on the student release.

Fast, no kernels. Each case starts from the committed ch03 release and
solution notebooks, damages or games the notebook the way a student could,
and checks that the aligned notebook tests exactly what the release tests:
test cells, locked and markdown cells equal to the release's byte for byte,
the student's answers kept, and one clear note per kind of change.
"""

import copy
import json

import nbformat
import pytest
from nbtools import grade_cells, read, release_path, solution_path
from test_autograde import make_submission

from graders.intake import align, locate, normalise, release_notebook

CH = "ch03_probability"
ANSWER = "ch03-entropy"
TESTS = "ch03-entropy-tests"


def _demo_id() -> str:
    """The id of the "Try it" code cell right after the entropy answer cell."""
    cells = read(release_path(CH)).cells
    at = next(i for i, c in enumerate(cells)
              if c.metadata.get("nbgrader", {}).get("grade_id") == ANSWER)
    demo = cells[at + 1]
    assert demo.cell_type == "code" and "nbgrader" not in demo.metadata, demo
    return demo.id


DEMO = _demo_id()
# The chapter's number of test cells, for the notes that count them.
NUM_TESTS = len(grade_cells(read(release_path(CH)))[1])


@pytest.fixture(scope="module")
def release():
    return read(release_path(CH))


@pytest.fixture(scope="module")
def solved(release):
    return make_submission("solved", release, read(solution_path(CH)))


def _json(cell) -> str:
    return json.dumps(cell, sort_keys=True)


def _index(nb, cell_id: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.get("id") == cell_id)


def _check(aligned, release, answers_from=None, added=0):
    """What must hold whatever the student did; the aligned cells by id."""
    nbformat.validate(aligned)
    assert aligned.metadata == release.metadata
    assert (aligned.nbformat, aligned.nbformat_minor) == (4, 5)
    by_id = {c.id: c for c in aligned.cells}
    assert len(by_id) == len(aligned.cells), "duplicate cell ids"
    assert [c.id for c in aligned.cells if not c.id.startswith("added-")] == [
        c.id for c in release.cells]
    assert len(aligned.cells) == len(release.cells) + added
    for cell in aligned.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.id
    answers, _ = grade_cells(answers_from or release)
    for rel in release.cells:
        got = by_id[rel.id]
        meta = rel.metadata.get("nbgrader", {})
        if meta.get("solution"):
            assert got.cell_type == "code" and got.metadata == rel.metadata
            assert got.source == answers[meta["grade_id"]].source, rel.id
        elif meta.get("grade") or meta.get("locked") or rel.cell_type != "code":
            assert _json(got) == _json(rel), rel.id  # verbatim
        else:
            assert got.metadata == rel.metadata, rel.id
    for cell in aligned.cells:  # no other cell is graded
        if cell.id.startswith("added-"):
            assert cell.cell_type == "code" and cell.metadata == {}
    return by_id


def test_untouched_release_is_the_release_with_no_notes(release):
    aligned, notes = align(copy.deepcopy(release), release)
    assert notes == []
    assert nbformat.writes(aligned) == nbformat.writes(release)


def test_normally_solved_notebook_keeps_its_answers_with_no_notes(release, solved):
    nb = copy.deepcopy(solved)
    count = 0
    for cell in nb.cells:  # what running it in Jupyter leaves behind
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
            cell.metadata["execution"] = {"iopub.status.idle": "2025-01-01"}
            cell.outputs = [nbformat.v4.new_output(
                "stream", name="stderr", text="UserWarning: ...\n")]
    nb.cells[_index(nb, DEMO)].outputs = [nbformat.v4.new_output(
        "execute_result", data={"text/plain": "tensor(1.3863)"}, execution_count=9)]
    nb.cells[_index(nb, DEMO)].source += "\nprint('my experiment')"
    nb.cells[_index(nb, TESTS)].outputs.append(nbformat.v4.new_output(
        "error", ename="AssertionError", evalue="entropy", traceback=[]))
    nb.cells.append(nbformat.v4.new_code_cell(""))  # Shift+Enter on the last cell
    nb.metadata["language_info"]["version"] = "3.11.9"
    aligned, notes = align(nb, release)
    assert notes == []
    by_id = _check(aligned, release, answers_from=solved)
    assert by_id[DEMO].source.endswith("print('my experiment')")


def test_deleted_test_cell_is_restored(release, solved):
    nb = copy.deepcopy(solved)
    del nb.cells[_index(nb, TESTS)]
    aligned, notes = align(nb, release)
    _check(aligned, release, answers_from=solved)
    assert notes == [f"test cell {TESTS} was deleted: restored"]


def test_edited_test_cell_is_restored(release, solved):
    nb = copy.deepcopy(solved)
    nb.cells[_index(nb, TESTS)].source = "pass"
    aligned, notes = align(nb, release)
    _check(aligned, release, answers_from=solved)
    assert notes == [f"test cell {TESTS} was edited: restored"]


def test_every_test_cell_edited_is_one_note(release):
    aligned, notes = align(make_submission("edited", release, release), release)
    _check(aligned, release)
    assert notes == [f"all {NUM_TESTS} test cells were edited: restored"]


def test_test_cell_turned_into_markdown_is_restored(release, solved):
    nb = copy.deepcopy(solved)
    index = _index(nb, TESTS)
    cell = nb.cells[index]
    nb.cells[index] = nbformat.v4.new_markdown_cell(
        cell.source, id=cell.id, metadata=cell.metadata)
    aligned, notes = align(nb, release)
    _check(aligned, release, answers_from=solved)
    assert notes == [f"test cell {TESTS} had been turned into markdown: restored"]


def test_test_cell_with_a_new_grade_id_is_restored(release, solved):
    nb = copy.deepcopy(solved)
    nb.cells[_index(nb, TESTS)].metadata["nbgrader"]["grade_id"] = "mine"
    aligned, notes = align(nb, release)
    _check(aligned, release, answers_from=solved)
    assert notes == [f"metadata of test cell {TESTS} changed (grade_id): restored"]


def test_raised_points_and_removed_locks_are_restored(release, solved):
    nb = copy.deepcopy(solved)
    cell = nb.cells[_index(nb, TESTS)]
    cell.metadata["nbgrader"].update(points=100, locked=False)
    del cell.metadata["editable"]
    aligned, notes = align(nb, release)
    _check(aligned, release, answers_from=solved)
    assert notes == [f"metadata of test cell {TESTS} changed "
                     "(editable, locked, points): restored"]
    aligned, notes = align(make_submission("inflated", release, release), release)
    _check(aligned, release)
    assert notes == [f"metadata of all {NUM_TESTS} test cells changed (locked, "
                     "points): restored"]


def test_added_cell_claiming_a_test_grade_id_is_plain_code(release, solved):
    nb = copy.deepcopy(solved)
    index = _index(nb, TESTS)
    fake = copy.deepcopy(nb.cells[index])
    fake.id, fake.source = "my-copy", "pass"
    fake.metadata["nbgrader"]["points"] = 50
    nb.cells.insert(index + 1, fake)
    aligned, notes = align(nb, release)
    by_id = _check(aligned, release, answers_from=solved, added=1)
    assert aligned.cells[_index(aligned, TESTS) + 1] == by_id["added-1"]
    assert by_id["added-1"].source == "pass"
    assert notes == ["1 added code cell kept",
                     f"added cell claiming grade_id {TESTS} kept as plain code"]


def test_copy_of_a_deleted_test_cell_does_not_become_a_test_cell(release, solved):
    nb = copy.deepcopy(solved)
    cell = nb.cells[_index(nb, TESTS)]
    cell.id, cell.source = "my-copy", "assert True"  # a pasted copy, edited
    aligned, notes = align(nb, release)
    _check(aligned, release, answers_from=solved)
    assert "assert True" not in nbformat.writes(aligned)
    assert notes == [f"test cell {TESTS} was edited: restored"]


def test_reordered_cells_follow_the_release(release, solved):
    nb = copy.deepcopy(solved)
    test = nb.cells.pop(_index(nb, TESTS))
    nb.cells.insert(_index(nb, ANSWER), test)  # the test above its answer
    nb.cells.append(nb.cells.pop(0))           # the title last: not noted alone
    aligned, notes = align(nb, release)
    _check(aligned, release, answers_from=solved)
    assert notes == ["cells reordered: release order restored"]


def test_fake_outputs_are_cleared(release):
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.execution_count = 3
            cell.outputs = [nbformat.v4.new_output(
                "stream", name="stdout", text="All tests passed: 2/2 points\n")]
    nb.cells[_index(nb, DEMO)].outputs = [nbformat.v4.new_output(
        "display_data", data={"text/plain": "fake"})]
    aligned, notes = align(nb, release)
    _check(aligned, release)
    assert "All tests passed" not in nbformat.writes(aligned)
    assert notes == ["outputs of test cells ignored"]


def test_deleted_demo_cell_is_restored(release, solved):
    nb = copy.deepcopy(solved)
    del nb.cells[_index(nb, DEMO)]
    aligned, notes = align(nb, release)
    by_id = _check(aligned, release, answers_from=solved)
    assert by_id[DEMO].source == release.cells[_index(release, DEMO)].source
    assert notes == ["1 deleted cell restored"]


def test_added_helper_cell_is_kept_in_place(release, solved):
    nb = copy.deepcopy(solved)
    helper = nbformat.v4.new_code_cell(
        "def _plogp(p):\n    return torch.special.xlogy(p, p)", id="helper")
    index = _index(nb, ANSWER)
    nb.cells.insert(index, helper)  # between the exercise's text and its answer
    nb.cells[index + 1].source = (
        "def entropy(p):\n    return -_plogp(p).sum(dim=-1)\n")
    aligned, notes = align(nb, release)
    answers = copy.deepcopy(solved)
    answers.cells[_index(answers, ANSWER)].source = nb.cells[index + 1].source
    by_id = _check(aligned, release, answers_from=answers, added=1)
    at = _index(aligned, ANSWER)
    assert aligned.cells[at - 1] == by_id["added-1"]
    assert by_id["added-1"].source == helper.source
    assert aligned.cells[at - 2].id == release.cells[_index(release, ANSWER) - 1].id
    assert notes == ["1 added code cell kept"]


def test_missing_answer_cell_gets_the_release_stub(release, solved):
    nb = copy.deepcopy(solved)
    del nb.cells[_index(nb, ANSWER)]
    aligned, notes = align(nb, release)
    answers = copy.deepcopy(solved)
    answers.cells[_index(answers, ANSWER)].source = release.cells[
        _index(release, ANSWER)].source
    by_id = _check(aligned, release, answers_from=answers)
    assert "NotImplementedError" in by_id[ANSWER].source
    assert notes == [f"answer cell {ANSWER} was deleted: release stub restored"]


def test_answer_written_in_a_new_cell_comes_after_the_restored_stub(release, solved):
    nb = copy.deepcopy(solved)
    index = _index(nb, ANSWER)
    mine = solved.cells[index].source
    nb.cells[index] = nbformat.v4.new_code_cell(mine, id="mine")
    aligned, notes = align(nb, release)
    at = _index(aligned, ANSWER)
    assert aligned.cells[at + 1].id == "added-1"
    assert aligned.cells[at + 1].source == mine
    assert _index(aligned, TESTS) > at + 1
    assert notes == [f"answer cell {ANSWER} was deleted: release stub restored",
                     "1 added code cell kept"]


def test_answer_cell_with_changed_type_or_metadata_keeps_its_source(release, solved):
    nb = copy.deepcopy(solved)
    index = _index(nb, ANSWER)
    cell = nb.cells[index]
    cell.metadata["nbgrader"].update(grade=True, points=10)
    nb.cells[index] = nbformat.v4.new_raw_cell(
        cell.source, id=cell.id, metadata=cell.metadata)
    aligned, notes = align(nb, release)
    _check(aligned, release, answers_from=solved)
    assert notes == [
        f"answer cell {ANSWER} had been turned into raw: restored as code",
        f"metadata of answer cell {ANSWER} changed (grade, points): restored"]


def test_text_cells_are_the_release_and_not_noted(release, solved):
    nb = copy.deepcopy(solved)
    nb.cells[0].source = "# My notes"
    del nb.cells[2]
    nb.cells.insert(5, nbformat.v4.new_markdown_cell("my own text"))
    nb.cells.insert(6, nbformat.v4.new_raw_cell("raw"))
    aligned, notes = align(nb, release)
    _check(aligned, release, answers_from=solved)
    assert notes == []


def test_code_typed_into_a_markdown_cell_is_kept_as_added_code(release, solved):
    nb = copy.deepcopy(solved)
    cell = nb.cells[0]
    nb.cells[0] = nbformat.v4.new_code_cell("import numpy as np", id=cell.id)
    aligned, notes = align(nb, release)
    by_id = _check(aligned, release, answers_from=solved, added=1)
    assert by_id["added-1"].source == "import numpy as np"
    # at the top, after the cell restored there
    assert [c.id for c in aligned.cells[:3]] == ["cell-000", "added-1", "cell-001"]
    assert notes == ["1 added code cell kept"]


def test_the_same_submission_gives_the_same_bytes(release, solved, tmp_path):
    nb = copy.deepcopy(solved)
    nb.cells.insert(3, nbformat.v4.new_code_cell("x = 1"))  # a random id
    del nb.cells[_index(nb, TESTS)]
    first, notes = align(nb, release)
    again, notes_again = align(copy.deepcopy(nb), release)
    assert nbformat.writes(first) == nbformat.writes(again)
    assert notes == notes_again
    # nbformat 3 files get random cell ids when upgraded: the result does not
    v3 = nbformat.writes(nbformat.convert(copy.deepcopy(nb), 3))
    path = tmp_path / "ann" / f"{CH}.ipynb"
    path.parent.mkdir()
    path.write_text(v3, encoding="utf-8")
    written = []
    for _ in range(2):
        sub, = locate(tmp_path, [CH], [])
        normalise(sub, [CH])
        written.append(nbformat.writes(sub.notebook))
        assert sub.problems == ["upgraded from nbformat 3", *notes]
    assert written[0] == written[1] == nbformat.writes(first)


def test_normalise_aligns_only_readable_notebooks_of_a_known_chapter(
        release, solved, tmp_path):
    assert release_notebook(CH) is release_notebook(CH)  # read once
    nb = copy.deepcopy(solved)
    nb.cells[_index(nb, TESTS)].source = "pass"
    path = tmp_path / "bob" / f"{CH}.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    sub, = locate(tmp_path, [CH], [])
    normalise(sub, [CH])
    assert sub.fatal is None
    assert sub.problems == [f"test cell {TESTS} was edited: restored"]
    _check(sub.notebook, release, answers_from=solved)
    assert path.read_bytes() == nbformat.writes(nb).encode("utf-8") + b"\n"
    other = read(release_path("ch01_linear_algebra"))
    nbformat.write(other, path)
    sub, = locate(tmp_path, [CH, "ch01_linear_algebra"], [])
    normalise(sub, [CH, "ch01_linear_algebra"])
    assert sub.fatal == "wrong chapter"
    assert nbformat.writes(sub.notebook) == nbformat.writes(other)
