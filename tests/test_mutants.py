"""Every graded test can fail: blank, wrong and right answers in a real kernel.

For each chapter the solution notebook runs once in a kernel. Then, for each
answer cell, the test cells that belong to it are run again after replacing
the answer by
- the untouched student version (``raise NotImplementedError``): all must fail;
- each planted wrong answer from tests/mutants/<chapter>.py: one must fail;
- each right answer written differently: all must pass.
The original answer is restored after each replacement.

Chapters with training bars run with ``DLCOURSE_SEED_OFFSET=2`` here, so that
this run also checks their bars with other seeds (tests/test_training_bars.py).
"""

import os

import pytest
from nbtools import (
    CHAPTERS,
    Kernel,
    cells_checking,
    error_text,
    grade_cells,
    load_mutants,
    read,
    release_path,
    solution_path,
)
from test_training_bars import BAR_CHAPTERS, MUTANTS_OFFSET


def _run_tests(kernel, tests, test_ids):
    return {tid: kernel.run(tests[tid].source, timeout=120) for tid in test_ids}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_graded_tests_reject_blank_and_wrong_answers_and_accept_right_ones(chapter):
    wrong, right = load_mutants(chapter)
    solution = read(solution_path(chapter))
    answers, tests = grade_cells(solution)
    blank_answers, _ = grade_cells(read(release_path(chapter)))
    for table, name in ((wrong, "WRONG"), (right, "RIGHT")):
        unknown = set(table) - set(answers)
        assert not unknown, f"{chapter}: unknown answer ids in {name}: {unknown}"
    problems = []
    for answer_id in answers:
        if len(wrong.get(answer_id, {})) < 2:
            problems.append(f"{answer_id}: needs at least 2 planted wrong answers")
        if not right.get(answer_id):
            problems.append(f"{answer_id}: needs a right answer written differently")
        if not cells_checking(answer_id, tests):
            problems.append(f"{answer_id}: has no test cell '{answer_id}-tests'")
    assert not problems, "\n".join(problems)

    env, offset = None, 0
    if chapter in BAR_CHAPTERS:
        offset = MUTANTS_OFFSET
        env = {**os.environ, "DLCOURSE_SEED_OFFSET": str(offset)}
    with Kernel(solution_path(chapter).parent, env=env) as kernel:
        for cell in solution.cells:
            if cell.cell_type == "code":
                error = kernel.run(cell.source)
                assert error is None, (f"solution cell {cell.id} (seed offset "
                                       f"{offset}): {error_text(error)}")
        for answer_id, cell in answers.items():
            test_ids = cells_checking(answer_id, tests)
            replacements = [("blank", "the untouched student version",
                             blank_answers[answer_id].source)]
            replacements += [("wrong", d, src) for d, src in wrong[answer_id].items()]
            replacements += [("right", d, src) for d, src in right[answer_id].items()]
            for kind, description, source in replacements:
                error = kernel.run(source)
                assert error is None, (f"{answer_id} {description!r}: "
                                       + error_text(error))
                results = _run_tests(kernel, tests, test_ids)
                failed = {t: error_text(e) for t, e in results.items() if e}
                if kind in ("blank", "wrong") and not failed:
                    problems.append(f"{answer_id}: {kind} answer {description!r} "
                                    f"passed all of {test_ids}")
                if kind == "blank" and len(failed) < len(test_ids):
                    problems.append(f"{answer_id}: the blank answer passed "
                                    f"{sorted(set(test_ids) - set(failed))}")
                if kind == "right" and failed:
                    problems.append(f"{answer_id}: right answer {description!r} was "
                                    f"rejected: {failed}")
                kernel.run(cell.source)  # put the solution back
    assert not problems, "\n".join(problems)
