"""The committed notebooks: in sync with their sources, clean, and leak-free."""

import re
from collections import Counter

import nbformat
import pytest
from nbclient import NotebookClient
from nbtools import (
    CHAPTERS,
    ROOT,
    cells_checking,
    grade_cells,
    read,
    region_lines,
    release_path,
    solution_path,
)

from graders.build import stale_files
from graders.feedback import BEGIN, END

ABSOLUTE_PATH = re.compile(r"(?<![\w.])(/home/|/root/|/work/|/tmp/|/Users/|[A-Z]:\\)")


def test_course_has_chapters_00_to_04():
    assert CHAPTERS[:5] == ["ch00_introduction", "ch01_linear_algebra", "ch02_calculus",
                            "ch03_probability", "ch04_optimization"], CHAPTERS


def test_notebooks_are_in_sync_with_their_sources():
    problems = stale_files(ROOT)
    assert not problems, "\n\n".join(problems)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_committed_notebooks_have_no_outputs(chapter):
    for path in (solution_path(chapter), release_path(chapter)):
        for cell in read(path).cells:
            if cell.cell_type == "code":
                assert not cell.outputs, f"{path.name} cell {cell.id} has outputs"
                assert cell.execution_count is None, f"{path.name} cell {cell.id}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_release_leaks_no_solution_and_no_hidden_test(chapter):
    solution, release = read(solution_path(chapter)), read(release_path(chapter))
    text = "\n".join(cell.source for cell in release.cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS",
                   "END HIDDEN TESTS"):
        assert marker not in text, f"release of {chapter} contains {marker!r}"
    secret, public = set(), []
    for cell in solution.cells:
        secret.update(region_lines(cell.source, "BEGIN SOLUTION", "END SOLUTION"))
        secret.update(region_lines(cell.source, BEGIN, END))
        public.append(re.sub(r"### BEGIN (SOLUTION|HIDDEN TESTS).*?### END \1", "",
                             cell.source, flags=re.S))
    public_text = "\n".join(public)
    # A secret line may also appear outside the secret regions (e.g. a demo).
    leaked = [line for line in secret
              if len(line) >= 12 and line not in public_text and line in text]
    assert not leaked, f"release of {chapter} contains solution/hidden lines: {leaked}"


def test_grade_ids_are_unique_across_the_course():
    ids = Counter()
    for chapter in CHAPTERS:
        answers, tests = grade_cells(read(solution_path(chapter)))
        ids.update([*answers, *tests])
    assert not [i for i, n in ids.items() if n > 1], ids.most_common(3)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_lint(chapter):
    nb = read(solution_path(chapter))
    prefix = chapter[:4].replace("ch", "ch") + "-"
    answers, tests = grade_cells(nb)
    problems = []
    if nb.metadata.get("kernelspec", {}).get("name") != "python3":
        problems.append("kernelspec is not python3")
    if len(answers) < 4:
        problems.append(f"only {len(answers)} graded exercises (at least 4)")
    for grade_id in [*answers, *tests]:
        if not grade_id.startswith(prefix):
            problems.append(f"grade_id {grade_id!r} does not start with {prefix!r}")
    for answer_id in answers:
        if not cells_checking(answer_id, tests):
            problems.append(f"{answer_id} has no test cell")
    for test_id, cell in tests.items():
        if not any(test_id.startswith(f"{a}-tests") for a in answers):
            problems.append(f"{test_id} belongs to no answer cell")
        visible = cell.source.split(BEGIN)[0]
        code = [ln for ln in visible.split("\n")[1:]
                if ln.strip() and not ln.strip().startswith("#")]
        if not cell.source.lstrip().startswith(('"""', "'''")):
            problems.append(f"{test_id} does not open with a docstring")
        if not code:
            problems.append(f"{test_id} has no visible test")
        if BEGIN not in cell.source or END not in cell.source:
            problems.append(f"{test_id} has no hidden tests")
        if not cell.metadata["nbgrader"].get("points", 0) > 0:
            problems.append(f"{test_id} is worth no points")
    text = "\n".join(cell.source for cell in nb.cells)
    if "interactive_plot(" not in text:
        problems.append("no ipywidgets demo (dlcourse.widgets.interactive_plot)")
    if "interact(" in text.replace("interactive_plot(", ""):
        problems.append("ipywidgets.interact can stall headless runs: use "
                        "dlcourse.widgets.interactive_plot")
    if "plt." not in text and "plot_" not in text:
        problems.append("no matplotlib plot")
    for cell in nb.cells:
        if ABSOLUTE_PATH.search(cell.source):
            problems.append(f"cell {cell.id} has an absolute path")
        if max((len(line) for line in cell.source.split("\n")), default=0) > 88 \
                and cell.cell_type == "code":
            problems.append(f"cell {cell.id} has a line over 88 characters")
    assert not problems, f"{chapter}:\n" + "\n".join(problems)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_student_release_raises_only_not_implemented_error(chapter):
    """The untouched release: every error is NotImplementedError; every test fails."""
    path = release_path(chapter)
    nb = read(path)
    NotebookClient(nb, timeout=300, allow_errors=True, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    _, tests = grade_cells(nb)
    errors = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                errors[cell.id] = f"{output.ename}: {output.evalue}"
    others = {cid: e for cid, e in errors.items()
              if not e.startswith("NotImplementedError")}
    assert not others, f"{chapter}: errors other than NotImplementedError: {others}"
    passing = [tid for tid in tests if tid not in errors]
    assert not passing, f"{chapter}: test cells pass on the blank release: {passing}"
    nbformat.validate(nb)


# --- fair tests and one style (graders/AUTHORING.md, "Fair tests" and "Style") --
_FLOAT64 = re.compile(r"float64|\.double\(\)")
_DEVICE = re.compile(r"(?<![\w.])device(?![\w])")
_EXERCISE = re.compile(r"^### Exercise (\d+): `(\w+)` \((\d+) points?\)$", re.M)


def _hidden_line_numbers(source: str) -> set[int]:
    lines, inside = set(), False
    for number, line in enumerate(source.split("\n"), start=1):
        if BEGIN in line:
            inside = True
        elif END in line:
            inside = False
        elif inside:
            lines.add(number)
    return lines


def _ends_with_a_value(source: str) -> bool:
    """Whether a test cell ends with a call to one of its own functions that
    returns a value (its output would become nbgrader partial credit)."""
    import ast

    body = ast.parse(source).body
    if not body or not isinstance(body[-1], ast.Expr):
        return False
    call = body[-1].value
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
        return False
    for node in body:
        if isinstance(node, ast.FunctionDef) and node.name == call.func.id:
            return any(isinstance(n, ast.Return) and n.value is not None
                       for n in ast.walk(node))
    return False


def _global_names_bound(source: str, lines: set[int]) -> set[str]:
    """Module-level names that the statements on ``lines`` bind (not locals)."""
    import ast

    names = set()

    def visit(node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            return  # their bodies bind locals
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                             ast.GeneratorExp)):
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        for child in ast.iter_child_nodes(node):
            visit(child)

    for statement in ast.parse(source).body:
        if statement.lineno in lines:
            visit(statement)
    return names


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_visible_tests_show_every_clause_the_hidden_tests_check(chapter):
    """What passes Validate earns its points: a kind of check that the hidden
    tests make (a forbidden built-in, float64, the device) is also visible, and
    hidden tests bind only _-prefixed globals so they never overwrite the
    notebook's variables."""
    _, tests = grade_cells(read(solution_path(chapter)))
    problems = []
    for test_id, cell in tests.items():
        visible, _, hidden = cell.source.partition(BEGIN)
        for what, pattern in (("forbid(", re.compile(r"forbid\(")),
                              ("float64", _FLOAT64), ("device", _DEVICE)):
            if pattern.search(hidden) and not pattern.search(visible):
                problems.append(f"{test_id}: the hidden tests use {what} but the "
                                "visible tests never do")
        if _ends_with_a_value(cell.source):
            problems.append(f"{test_id}: the cell ends with a call that returns a "
                            "value: nbgrader would take a number shown there as "
                            "partial credit (assign it: `_ = ...`)")
        bound = _global_names_bound(cell.source, _hidden_line_numbers(cell.source))
        public = sorted(n for n in bound if not n.startswith("_"))
        if public:
            problems.append(f"{test_id}: hidden tests bind notebook globals {public} "
                            "(use _-prefixed names)")
    assert not problems, f"{chapter}:\n" + "\n".join(problems)


def _defined_name(source: str) -> str | None:
    """The name of the first function or class an answer cell defines."""
    import ast

    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            return node.name
    return None


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_follows_the_course_style(chapter):
    """Title, exercise headings, point totals, summary and device variable as in
    graders/AUTHORING.md, so that every chapter reads as one course."""
    nb = read(solution_path(chapter))
    answers, tests = grade_cells(nb)
    number = chapter[2:4]
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    problems = []
    first = nb.cells[0].source.split("\n")[0]
    if not re.fullmatch(rf"# Chapter {number}: \S.*", first):
        problems.append(f"first line {first!r} is not '# Chapter {number}: Title'")
    headings = _EXERCISE.findall(markdown)
    if [int(n) for n, _, _ in headings] != list(range(1, len(headings) + 1)):
        problems.append(f"exercise headings are not numbered 1, 2, ...: {headings}")
    names = [_defined_name(cell.source) for cell in answers.values()]
    points = {}
    for answer_id in answers:
        points[answer_id] = sum(tests[t].metadata["nbgrader"]["points"]
                                for t in cells_checking(answer_id, tests))
    if len(headings) != len(answers):
        problems.append(f"{len(headings)} '### Exercise N: `name` (P points)' "
                        f"headings for {len(answers)} answer cells")
    for (_, name, pts), answer_id, src in zip(headings, answers, names, strict=False):
        if name != src:
            problems.append(f"heading `{name}` stands before answer cell {answer_id}")
        if int(pts) != points[answer_id]:
            problems.append(f"heading `{name}` says {pts} points, its tests give "
                            f"{points[answer_id]}")
    total = sum(points.values())
    if f"**Graded exercises** ({total} points)" not in markdown:
        problems.append(f"the introduction does not say '**Graded exercises** "
                        f"({total} points)'")
    if not re.search(r"^## (\d+\.\d+ )?Summary$", markdown, re.M):
        problems.append("no '## Summary' section")
    if not re.search(r"^device = get_device\(\)", code, re.M):
        problems.append("the imports cell does not define device = get_device()")
    for wrong in ("DEVICE", "test_device", "distributions as D"):
        if wrong in code:
            problems.append(f"uses {wrong!r} (one device variable: device; "
                            "torch.distributions is not D)")
    assert not problems, f"{chapter}:\n" + "\n".join(problems)


def test_readme_chapter_table_lists_every_chapter_and_exercise():
    """README's chapter table names each chapter and every graded exercise."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = {line.split("|")[2].strip(" `"): line for line in readme.split("\n")
            if re.match(r"^\| \d\d \| `ch\d\d_", line)}
    problems = []
    for chapter in CHAPTERS:
        if chapter not in rows:
            problems.append(f"{chapter}: no row in README's chapter table")
            continue
        answers, _ = grade_cells(read(solution_path(chapter)))
        for cell in answers.values():
            name = _defined_name(cell.source)
            if f"`{name}`" not in rows[chapter]:
                problems.append(f"{chapter}: README's row does not name `{name}`")
    assert not problems, "\n".join(problems)
