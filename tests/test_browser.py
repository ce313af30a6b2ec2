"""End to end in a real browser: JupyterLab as students and instructors use it.

A JupyterLab server runs the course as ``./course lab`` starts it (on a copy of
the repository, on a free loopback port, with a token) and Debian's Chromium,
headless and driven by Playwright, clicks through it:

- student: open a chapter from notebooks/, Run All, stop at the first unfilled
  exercise's NotImplementedError; run a widget demo and move its slider;
  write one exercise, Run All again and see its visible test pass; press
  nbgrader's Validate and read the result;
- instructor: the formgrader lists every chapter.

Screenshots of each step go to tests/artifacts/browser/. Without Chromium or
Playwright the module is skipped with how to enable it, except under CI=true,
where it fails: CI must run it.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from labserver import LabServer, copy_course, descendants, missing_pieces
from nbtools import CHAPTERS, ROOT, grade_cells, read, release_path, solution_path

pytestmark = pytest.mark.browser

_MISSING = missing_pieces()
if _MISSING:
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(f"CI must run the browser tests: {_MISSING}", pytrace=False)
    pytest.skip(f"browser tests skipped: {_MISSING}", allow_module_level=True)

from labserver import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

CHAPTER = "ch03_probability"
EXERCISE = "ch03-sample-variance"  # the one the student writes
WIDGET = "def show_coin("  # its P(heads) slider redraws an entropy plot
ARTIFACTS = ROOT / "tests" / "artifacts" / "browser"
KERNEL_WORK = 180_000  # ms: whole-notebook runs on a busy 2-core machine
UI = 60_000  # ms: anything the page alone does
ERROR = '[data-mime-type="application/vnd.jupyter.stderr"]'


def _snapshot_notebooks() -> tuple[str, dict[str, bytes]]:
    """git status of notebooks/ (ignored files too) and the bytes of its files.

    The server runs on a copy: what the student edits, saves and validates
    there must leave the repository's notebooks/ exactly as it was.
    """
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all",
                             "--ignored", "--", "notebooks"],
                            cwd=ROOT, capture_output=True, text=True).stdout
    files = {str(p): p.read_bytes() for p in (ROOT / "notebooks").rglob("*")
             if p.is_file()}
    return status, files


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """The course's JupyterLab on a copy of the repository; checked shut down."""
    before = _snapshot_notebooks()
    tmp = tmp_path_factory.mktemp("browser")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    server = LabServer(copy_course(tmp / "course"), tmp / "scratch",
                       ARTIFACTS / "jupyter-server.log")
    try:
        yield server.start()
    finally:
        server.stop()
    assert not server.leftovers(), f"still running after stop: {server.leftovers()}"
    assert _snapshot_notebooks() == before, "the browser tests changed notebooks/"


@pytest.fixture(scope="module")
def browser(lab, tmp_path_factory):
    """Debian's Chromium through Playwright; no Chromium process outlives it."""
    home = tmp_path_factory.mktemp("chromium-home")  # its crash reports, dconf
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_CACHE_HOME": str(home / ".cache")}
    before = descendants(os.getpid())
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                      env=env, timeout=UI)
        try:
            yield chromium
        finally:
            chromium.close()
    deadline = time.monotonic() + 10
    # (the server's kernels are the lab fixture's to check)
    while ((left := descendants(os.getpid()) - before - lab.processes())
           and time.monotonic() < deadline):
        time.sleep(0.2)
    assert not left, f"browser processes left running: {sorted(left)}"


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(UI)
    failed = request.session.testsfailed
    yield page
    if request.session.testsfailed > failed:  # the test failed: what did it see?
        page.screenshot(path=ARTIFACTS / f"FAILED-{request.node.name}.png")
    context.close()


def shot(page, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path)
    return path


class Notebook:
    """The open notebook in the page: cells by index, as in the .ipynb file."""

    def __init__(self, page, nb):
        self.page, self.nb = page, nb
        self.panel = page.locator(".jp-NotebookPanel:visible")
        self.cells = self.panel.locator(".jp-Notebook .jp-Cell")

    def index(self, predicate) -> int:
        return next(i for i, c in enumerate(self.nb.cells) if predicate(c))

    def cell(self, i: int):
        return self.cells.nth(i)

    def prompt(self, i: int) -> str:
        return self.cell(i).locator(".jp-InputArea-prompt").text_content().strip()

    def wait_idle(self, timeout: float = KERNEL_WORK) -> None:
        expect(self.page.locator(".jp-StatusBar-Widget")).to_contain_text(
            re.compile(r"\| Idle"), timeout=timeout)
        busy = self.cells.locator(".jp-InputArea-prompt", has_text="[*]")
        expect(busy).to_have_count(0, timeout=timeout)

    def menu(self, menu: str, item: str) -> None:
        self.page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=menu).click()
        self.page.get_by_role("menuitem", name=item, exact=True).click()

    def run_all(self) -> None:
        self.menu("Run", "Run All Cells")

    def run_cell(self, i: int) -> None:
        self.cell(i).locator(".jp-InputPrompt").click()  # select (command mode)
        self.page.keyboard.press("Control+Enter")

    def executed(self, i: int) -> bool:
        return re.fullmatch(r"\[\d+\]:", self.prompt(i)) is not None


def student_answer(chapter: str, grade_id: str) -> str:
    """The release cell with its stub replaced by the solution's lines."""
    stub = grade_cells(read(release_path(chapter)))[0][grade_id].source
    solution = grade_cells(read(solution_path(chapter)))[0][grade_id].source
    body = re.search(r"### BEGIN SOLUTION\n(.*?)\n\s*### END SOLUTION", solution,
                     re.S).group(1)
    answer = re.sub(r"    # YOUR CODE HERE\n    raise NotImplementedError\(\)",
                    lambda _: body, stub)
    assert answer != stub and "NotImplementedError" not in answer
    return answer


def test_student_runs_a_chapter_writes_an_exercise_and_validates(lab, page):
    nb = read(release_path(CHAPTER))
    answers, tests = grade_cells(nb)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    first, second = list(answers)[:2]
    assert first == EXERCISE
    # The first "try it" code cell after each answer calls the student's function.
    try_first = next(i for i in range(ids.index(first) + 1, len(ids))
                     if nb.cells[i].cell_type == "code")
    try_second = next(i for i in range(ids.index(second) + 1, len(ids))
                      if nb.cells[i].cell_type == "code")
    test_first = ids.index(f"{EXERCISE}-tests")

    # 1. Open the chapter from notebooks/ in JupyterLab; the kernel starts.
    page.goto(lab.page(f"/lab/tree/{CHAPTER}/{CHAPTER}.ipynb"))
    book = Notebook(page, nb)
    expect(book.cells).to_have_count(len(nb.cells), timeout=KERNEL_WORK)
    book.wait_idle()
    shot(page, "01-opened")

    # 2. Run All: everything runs up to the first unfilled exercise, which
    # raises NotImplementedError; the kernel stops there.
    book.run_all()
    error = book.cell(try_first).locator(ERROR)
    expect(error).to_contain_text("NotImplementedError", timeout=KERNEL_WORK)
    book.wait_idle()
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    prompts = {i: book.prompt(i) for i in code}
    assert all(book.executed(i) for i in code if i <= try_first), prompts
    assert not any(book.executed(i) for i in code if i > try_first), (
        "Run All went on after the error")
    assert book.cells.locator(ERROR).count() == 1
    error.scroll_into_view_if_needed()
    shot(page, "02-run-all-stops-at-NotImplementedError")

    # 3. A widget: run the P(heads) demo, see the plot, move the slider, see
    # the plot redrawn.
    demo = book.index(lambda c: WIDGET in c.source)
    book.run_cell(demo)
    cell = book.cell(demo)
    slider = cell.locator(".widget-slider", has_text="P(heads)")
    image = cell.locator(".jp-OutputArea-output img")
    expect(slider).to_be_visible(timeout=KERNEL_WORK)
    expect(image).to_have_attribute("src", re.compile("."), timeout=KERNEL_WORK)
    readout = slider.locator(".widget-readout")
    expect(readout).to_have_text("0.50")
    before = image.get_attribute("src")
    cell.scroll_into_view_if_needed()
    shot(page, "03-widget-rendered")
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("0.9")
    page.keyboard.press("Enter")
    expect(readout).to_have_text("0.90")
    expect(image).not_to_have_attribute("src", before, timeout=KERNEL_WORK)
    expect(cell.locator(ERROR)).to_have_count(0)
    expect(cell.locator(".widget-html")).to_have_text("")  # no redraw error
    shot(page, "04-widget-after-slider-moved")

    # 4. Write the first exercise, Run All again: its visible test passes and
    # the run now stops at the next exercise.
    editor = book.cell(ids.index(EXERCISE)).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(student_answer(CHAPTER, EXERCISE))
    expect(editor).to_contain_text("deviations.pow(2).sum(dim=dim) / (n - 1)")
    page.keyboard.press("Escape")
    book.run_all()
    error = book.cell(try_second).locator(ERROR)
    expect(error).to_contain_text("NotImplementedError", timeout=KERNEL_WORK)
    book.wait_idle()
    assert book.executed(test_first), "the visible test cell did not run"
    expect(book.cell(test_first).locator(ERROR)).to_have_count(0)
    expect(book.cell(try_first).locator(ERROR)).to_have_count(0)
    printed = book.cell(try_first).locator(".jp-OutputArea-output").all_text_contents()
    printed = "\n".join(printed)
    yours = re.search(r"yours:\s+(tensor\(.*?\))", printed)
    torch_var = re.search(r"torch\.var:\s*(tensor\(.*?\))", printed)
    assert yours and torch_var and yours.group(1) == torch_var.group(1), printed
    book.cell(test_first).scroll_into_view_if_needed()
    shot(page, "05-exercise-written-visible-test-passes")

    # 5. nbgrader's Validate (saves, then runs the notebook's tests): the
    # written exercise passes; the six unfilled ones are reported.
    page.locator(".validate-button").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator(".validation-failed, .validation-success")).to_have_count(
        1, timeout=KERNEL_WORK)
    text = dialog.inner_text()
    shot(page, "06-validate-result")
    assert dialog.locator(".validation-failed").count() == 1, text
    assert text.count("The following cell failed:") == len(answers) - 1, text
    assert "NotImplementedError" in text, text
    for grade_id in answers:
        fn = re.search(r"def (\w+)\(", answers[grade_id].source).group(1)
        if grade_id == EXERCISE:
            assert f"{fn}(" not in text, f"{fn} reported as failing:\n{text}"
        else:
            assert f"{fn}(" in text, f"{fn} not reported:\n{text}"
    dialog.locator(".jp-Dialog-button").last.click()
    expect(dialog).to_have_count(0)


def test_instructor_formgrader_lists_the_chapters(lab, page):
    page.goto(lab.page("/formgrader"))
    expect(page).to_have_url(re.compile(r"/formgrader/manage_assignments"))
    rows = page.locator("table tbody tr")
    for chapter in CHAPTERS:
        expect(rows.filter(has_text=chapter)).to_have_count(1, timeout=UI)
    shot(page, "07-formgrader-manage-assignments")


def test_the_server_is_started_as_course_lab_starts_it():
    """labserver.py mirrors ./course lab: cwd = course root, notebooks/ served."""
    course = (ROOT / "course").read_text()
    assert '"$VENV/bin/jupyter" lab --ServerApp.root_dir=notebooks' in course
    assert "--allow-root" in course
