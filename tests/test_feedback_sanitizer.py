"""graders.feedback.HideHiddenTests on hand-made autograded cells."""

import nbformat

from graders.feedback import HideHiddenTests, failing_line, strip_hidden

SOURCE = '''"""Check f."""
assert f(1) == 2, "visible"
### BEGIN HIDDEN TESTS
assert f(2) == 99, "secret expectation"
### END HIDDEN TESTS
print("done")'''


def _cell(line):
    frame = (f"\x1b[0;31mCell In[7], line {line}\x1b[0m\n"
             f"----> {line} assert secret_code()")
    error = nbformat.v4.new_output("error", ename="AssertionError", evalue="boom",
                                   traceback=["header", frame, "AssertionError: boom"])
    return nbformat.v4.new_code_cell(SOURCE, outputs=[error])


def test_strip_hidden_removes_the_region_and_reports_its_line():
    source, first = strip_hidden(SOURCE)
    assert first == 3
    assert "f(2)" not in source and "BEGIN HIDDEN" not in source
    assert 'print("done")' in source and "visible" in source


def test_failing_line_reads_ipython_tracebacks():
    assert failing_line(["x", "\x1b[0;31mCell In[12], line 4\x1b[0m"]) == 4
    assert failing_line(["File <string>, line 3"]) is None


def test_hidden_failures_lose_their_traceback():
    cell, _ = HideHiddenTests().preprocess_cell(_cell(4), {}, 0)
    text = cell.source + "\n".join(cell.outputs[0].traceback)
    assert "secret" not in text and "f(2)" not in text
    assert "a hidden test failed" in text


def test_visible_failures_say_so_without_quoting_code():
    cell, _ = HideHiddenTests().preprocess_cell(_cell(2), {}, 0)
    text = "\n".join(cell.outputs[0].traceback)
    assert "a visible test failed" in text and "secret_code" not in text


def test_cells_without_hidden_tests_are_untouched():
    cell = nbformat.v4.new_code_cell("x = 1")
    out, _ = HideHiddenTests().preprocess_cell(cell.copy(), {}, 0)
    assert out.source == "x = 1"
