"""Benchmark of ``./course grade`` on chapter 03: 1 worker against all of them.

    python -m graders.grading_benchmark [--students N] [--output FILE]

Makes N copies of a solved ch03_probability notebook (N students), grades
them with the real command (sandboxed kernels, guard, feedback, central
gradebook) once with one worker and once with one worker per core, each time
from scratch except the chapter's template course, and writes seconds per
submission and submissions per minute to ``graders/GRADING_BENCHMARK.md``.
Run it alone on the machine; it is not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from graders import grade, kernels
from graders.build import ROOT

CHAPTER = "ch03_probability"


def solved_notebook() -> nbformat.NotebookNode:
    """The student release with every answer cell taken from the solution."""
    release = nbformat.read(ROOT / "notebooks" / CHAPTER / f"{CHAPTER}.ipynb", 4)
    solution = nbformat.read(ROOT / "solutions" / CHAPTER / f"{CHAPTER}.ipynb", 4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solution.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in release.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return release


def measure(base: Path, students: int, workers: int) -> tuple[float, list[dict]]:
    """Seconds to grade ``students`` submissions with ``workers`` workers."""
    subs, out, course = base / "subs", base / f"out{workers}", base / f"course{workers}"
    shutil.copytree(base / "templates", out / "templates")
    quiet = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
        rows = grade.run(subs, [CHAPTER], workers, out, force=True, course=course)
    return time.perf_counter() - start, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--output", type=Path,
                        default=ROOT / "graders" / "GRADING_BENCHMARK.md")
    args = parser.parse_args(argv)
    problem = kernels.check_sandbox()
    if problem:
        raise SystemExit(f"error: the grading sandbox does not work here: {problem}")
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="dlc-bench-") as tmp:
        base = Path(tmp)
        notebook = solved_notebook()
        for n in range(args.students):
            folder = base / "subs" / f"student{n:03d}"
            folder.mkdir(parents=True)
            nbformat.write(notebook, folder / f"{CHAPTER}.ipynb")
        start = time.perf_counter()
        grade.template(base / "prep", CHAPTER)
        template_s = time.perf_counter() - start
        shutil.move(str(base / "prep" / "templates"), base / "templates")
        results = []
        for workers in sorted({1, cores}):
            seconds, rows = measure(base, args.students, workers)
            scores = sorted({r["score"] for r in rows})
            if len(rows) != args.students or scores != [rows[0]["max_score"]]:
                raise SystemExit(f"error: unexpected grades with {workers} "
                                 f"worker(s): {rows}")
            results.append((workers, seconds))
            print(f"{workers} worker(s): {seconds:.1f} s for {args.students} "
                  f"submissions", file=sys.stderr)
    lines = [
        "# Grading benchmark (chapter 03)", "",
        "Written by `python -m graders.grading_benchmark` (not a test): "
        f"{args.students} solved `{CHAPTER}` submissions graded by `./course "
        "grade` (sandboxed kernels, tamper guard, feedback, merge into a central "
        "gradebook), from scratch but for the chapter's template course "
        f"(made once: {template_s:.1f} s).", "",
        f"Machine: {platform.machine()}, {cores} cores, Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()}.", "",
        "| workers | wall time (s) | seconds per submission | submissions per "
        "minute |", "|---:|---:|---:|---:|"]
    for workers, seconds in results:
        lines.append(f"| {workers} | {seconds:.1f} | {seconds / args.students:.1f} "
                     f"| {60 * args.students / seconds:.1f} |")
    lines += ["", "Seconds per submission is wall time divided by the number of "
              "submissions, so with several workers it is the class's cost per "
              "student, not one notebook's run time.", ""]
    args.output.write_text("\n".join(lines), encoding="utf-8")
    print(f"written to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
