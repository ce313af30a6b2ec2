"""Training bars hold with other seeds, not by luck.

Every chapter whose source calls ``check_bar`` (dlcourse.training) runs its
solution notebook cell by cell in a real kernel with ``DLCOURSE_SEED_OFFSET``
set to 1: ``set_seed`` then draws other initial weights and batch orders, and
every ``check_bar`` (and every other cell) must still pass. Offset 2 is the
run of tests/test_mutants.py (one execution serves both), and the chapter's
own seeds (offset 0) the solved notebook graded by
tests/test_grade_chapters.py, where no cell may raise.
"""

import pytest
from nbtools import CHAPTERS, Kernel, error_text, read, solution_path

BAR_CHAPTERS = [c for c in CHAPTERS
                if "check_bar(" in solution_path(c).with_suffix(".py").read_text()]
# The seed offset tests/test_mutants.py runs bar chapters with.
MUTANTS_OFFSET = 2


def test_check_bar_reports_and_fails_below_the_bar(capsys):
    from dlcourse.training import check_bar

    assert check_bar("accuracy", 0.97, 0.95) is None
    assert "accuracy: 0.97 (bar: >= 0.95) reached" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="accuracy is 0.9, the bar is >= 0.95"):
        check_bar("accuracy", 0.9, 0.95)
    check_bar("loss", 1.2, 1.3, higher_is_better=False)
    with pytest.raises(AssertionError, match="<= 1.3"):
        check_bar("loss", 1.4, 1.3, higher_is_better=False)


def test_set_seed_honours_the_offset(monkeypatch):
    import torch

    from dlcourse import set_seed

    set_seed(3)
    plain = torch.rand(2)
    monkeypatch.setenv("DLCOURSE_SEED_OFFSET", "2")
    set_seed(1)
    assert torch.equal(torch.rand(2), plain)


@pytest.mark.parametrize("offset", [1])
@pytest.mark.parametrize("chapter", BAR_CHAPTERS)
def test_training_bars_hold_with_other_seeds(chapter, offset):
    import os

    env = {**os.environ, "DLCOURSE_SEED_OFFSET": str(offset),
           "DLCOURSE_PROGRESS": "0"}
    with Kernel(solution_path(chapter).parent, env=env) as kernel:
        for cell in read(solution_path(chapter)).cells:
            if cell.cell_type == "code":
                error = kernel.run(cell.source)
                assert error is None, (f"{chapter} with seed offset {offset}, cell "
                                       f"{cell.id}: {error_text(error)}")
