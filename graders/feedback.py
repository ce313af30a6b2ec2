"""Keep hidden tests out of the feedback students receive.

nbgrader restores hidden tests into autograded notebooks (the gradebook keeps
them) and its feedback HTML then shows them, together with tracebacks that
quote their lines. ``HideHiddenTests`` runs last in ``GenerateFeedback``: it
cuts every hidden region out of the cell source and replaces the traceback of
an error in such a cell by its type and message only, saying whether a visible
or a hidden test failed.
"""

from __future__ import annotations

import re

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

BEGIN = "### BEGIN HIDDEN TESTS"
END = "### END HIDDEN TESTS"
PLACEHOLDER = "# (hidden tests are not shown)"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_CELL_LINE = re.compile(r"Cell In\s*\[\d*\],\s*line (\d+)")


def strip_hidden(source: str) -> tuple[str, int | None]:
    """Return the source without hidden regions and the 1-based line of the first."""
    kept, first, hidden = [], None, False
    for number, line in enumerate(source.split("\n"), start=1):
        if BEGIN in line:
            hidden = True
            first = first or number
            kept.append(line[: line.index(BEGIN)] + PLACEHOLDER)
        elif END in line:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept), first


def failing_line(traceback: list[str]) -> int | None:
    """The line of the notebook cell where the error was raised, if visible."""
    for frame in traceback:
        match = _CELL_LINE.search(_ANSI.sub("", frame))
        if match:
            return int(match.group(1))
    return None


def sanitize_error(output: dict, first_hidden: int) -> dict:
    """Drop the traceback; say whether a visible or a hidden test failed."""
    line = failing_line(output.get("traceback", []))
    hidden = line is None or line >= first_hidden
    where = "a hidden test" if hidden else "a visible test"
    message = str(output.get("evalue", ""))[:500]
    output["traceback"] = [
        f"{output.get('ename', 'Error')}: {message}",
        f"({where} failed; hidden tests are not shown)",
    ]
    return output


class HideHiddenTests(Preprocessor):
    """nbconvert preprocessor: remove hidden tests and their tracebacks."""

    enabled = Bool(True)  # nbconvert preprocessors are off unless enabled

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or BEGIN not in cell.source:
            return cell, resources
        cell.source, first_hidden = strip_hidden(cell.source)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                sanitize_error(output, first_hidden)
        return cell, resources
