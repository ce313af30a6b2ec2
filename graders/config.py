"""The course's nbgrader settings, shared by the real course and the tests.

``nbgrader_config.py`` at the repository root calls ``configure(c, root)``
with the repository as course root; the tests call it on a temporary copy.
"""

from __future__ import annotations

import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import GetGrades

from graders.feedback import HideHiddenTests

# Where instructor-side data lives, relative to the course root (never committed).
SUBMITTED = os.path.join("graders", "submitted")
AUTOGRADED = os.path.join("graders", "autograded")
FEEDBACK = os.path.join("graders", "feedback")
GRADEBOOK = os.path.join("graders", "gradebook.db")
EXCHANGE = os.path.join("graders", "exchange")


def configure(c, root: str) -> None:
    """Fill the traitlets config ``c`` for a course rooted at ``root``."""
    c.CourseDirectory.course_id = "dlcourse"
    c.CourseDirectory.root = root
    c.CourseDirectory.source_directory = "solutions"
    c.CourseDirectory.release_directory = "notebooks"
    c.CourseDirectory.submitted_directory = SUBMITTED
    c.CourseDirectory.autograded_directory = AUTOGRADED
    c.CourseDirectory.feedback_directory = FEEDBACK
    os.makedirs(os.path.join(root, os.path.dirname(GRADEBOOK)), exist_ok=True)
    c.CourseDirectory.db_url = "sqlite:///" + os.path.join(root, GRADEBOOK)
    # The chapter sources (chNN_slug.py, with the solutions) stay out of releases.
    c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__",
                                "feedback", "*.py"]
    # A local exchange, so that the Assignments tab and release/collect work
    # on one machine; a JupyterHub deployment sets its shared exchange instead.
    c.Exchange.root = os.path.join(root, EXCHANGE)
    # Training cells take a while on a small CPU: be generous per cell.
    c.Execute.timeout = 300
    c.ClearSolutions.code_stub = {
        "python": "# YOUR CODE HERE\nraise NotImplementedError()"}
    # Feedback must not show hidden tests, nor tracebacks that quote them.
    c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor,
                                        HideHiddenTests]


def configure_grading(c, cell_timeout: int = 120, max_output_kb: int = 200,
                      guard: bool = True, **_ignored) -> None:
    """Settings of ``./course grade`` runs on top of ``configure``.

    The Execute step becomes ``GuardedExecute`` (output caps, kernel restarts,
    tamper guard) and the kernel is reached over Unix sockets: the sandboxed
    kernel's network namespace has only its own loopback, not the host's.
    """
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        IgnorePattern,
        LimitOutput,
        SaveAutoGrades,
    )

    from graders.execute import GuardedExecute

    c.Autograde.autograde_preprocessors = [
        GuardedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
        SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
    c.GuardedExecute.timeout = cell_timeout
    c.GuardedExecute.unresponsive_wait = min(15, cell_timeout)
    c.GuardedExecute.guard = guard
    c.GuardedExecute.max_output_bytes = max_output_kb * 1000
    c.KernelManager.transport = "ipc"


_COURSE_CONFIG = """import sys
sys.path.insert(0, {repo!r})
from graders.config import configure, configure_grading
configure(get_config(), {root!r})
"""


def write_config(course, grading: dict | None = None) -> None:
    """Write ``course/nbgrader_config.py``: this course's settings, rooted there.

    Used for course copies (grading runs, tests) outside the repository;
    ``grading`` (keyword arguments of ``configure_grading``) for grading runs.
    """
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    text = _COURSE_CONFIG.format(repo=repo, root=str(course))
    if grading is not None:
        text += f"configure_grading(get_config(), **{grading!r})\n"
    with open(os.path.join(course, "nbgrader_config.py"), "w", encoding="utf-8") as f:
        f.write(text)
