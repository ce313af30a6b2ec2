"""Benchmark of ``./course grade`` on chapter 03 against its floors.

    python -m graders.grading_benchmark [--students N] [--parallel] [--output FILE]

Makes N copies of a solved ch03_probability notebook (N students) and grades
them three ways, side by side in one run: plain nbclient execution (the
floor), plain ``nbgrader autograde`` of the class, and the real command
(sandboxed kernels, guard, feedback, central gradebook) with one worker
(``--parallel``: also one worker per core), each from scratch except the
chapter's template course. Writes seconds per submission, the ratios and
where ``./course grade``'s seconds went to ``graders/GRADING_BENCHMARK.md``.
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

from graders import grade, kernels, runenv
from graders.build import ROOT
from graders.config import write_config

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


def plain_execution(base: Path, students: int) -> float:
    """Seconds to run every submission with plain nbclient (the floor): a
    fresh ordinary kernel each, no sandbox, no guard, no nbgrader."""
    from nbclient import NotebookClient

    start = time.perf_counter()
    for n in range(students):
        folder = base / "subs" / f"student{n:03d}"
        nb = nbformat.read(folder / f"{CHAPTER}.ipynb", 4)
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(folder)}}).execute()
    return time.perf_counter() - start


def plain_nbgrader(base: Path, students: int) -> float:
    """Seconds for one plain ``nbgrader autograde`` of the whole class (ordinary
    kernels, nbgrader's own Execute step, no feedback, no central merge)."""
    course = base / "plain"
    shutil.copytree(base / "templates" / CHAPTER, course,
                    ignore=shutil.ignore_patterns(".jupyter"))
    write_config(course)
    for n in range(students):
        target = course / "graders" / "submitted" / f"student{n:03d}" / CHAPTER
        target.mkdir(parents=True)
        shutil.copy(base / "subs" / f"student{n:03d}" / f"{CHAPTER}.ipynb", target)
    start = time.perf_counter()
    done = runenv.nbgrader(course, "autograde", CHAPTER, "--force",
                           scratch=course / ".jupyter")
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"error: plain nbgrader autograde failed:\n{done.stderr}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--parallel", action="store_true",
                        help="also grade with one worker per core")
    parser.add_argument("--output", type=Path,
                        default=ROOT / "graders" / "GRADING_BENCHMARK.md")
    args = parser.parse_args(argv)
    problem = kernels.check_sandbox()
    if problem:
        raise SystemExit(f"error: the grading sandbox does not work here: {problem}")
    # The same kernel environment for the three ways (the sandbox sets these).
    os.environ["DLCOURSE_PROGRESS"] = "0"
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    cores = os.cpu_count() or 1
    n = args.students
    with tempfile.TemporaryDirectory(prefix="dlc-bench-") as tmp:
        base = Path(tmp)
        notebook = solved_notebook()
        for i in range(n):
            folder = base / "subs" / f"student{i:03d}"
            folder.mkdir(parents=True)
            nbformat.write(notebook, folder / f"{CHAPTER}.ipynb")
        start = time.perf_counter()
        grade.template(base / "prep", CHAPTER)
        template_s = time.perf_counter() - start
        shutil.move(str(base / "prep" / "templates"), base / "templates")
        ways = []
        for name, work in [
                ("plain nbclient execution (the floor)",
                 lambda: plain_execution(base, n)),
                ("plain `nbgrader autograde` (one process)",
                 lambda: plain_nbgrader(base, n)),
                ("`./course grade --workers 1`", lambda: measure(base, n, 1))]:
            print(f"{name}...", file=sys.stderr, flush=True)
            grade.PHASES.clear()
            result = work()
            seconds, rows = result if isinstance(result, tuple) else (result, None)
            if rows is not None:
                scores = sorted({r["score"] for r in rows})
                if len(rows) != n or scores != [rows[0]["max_score"]]:
                    raise SystemExit(f"error: unexpected grades: {rows}")
            ways.append((name, seconds))
            print(f"  {seconds:.1f} s", file=sys.stderr, flush=True)
        phases: dict[str, float] = {}
        for spent in grade.PHASES:
            for phase, value in spent.items():
                phases[phase] = phases.get(phase, 0.0) + value
        parallel = []
        if args.parallel and cores > 1:
            seconds, _rows = measure(base, n, cores)
            parallel.append((cores, seconds))
    floor, plain = ways[0][1], ways[1][1]
    lines = [
        "# Grading benchmark (chapter 03)", "",
        "Written by `python -m graders.grading_benchmark` (not a test): the "
        f"same {n} solved `{CHAPTER}` submissions graded three ways, side by "
        "side in one run: plain nbclient execution (a fresh ordinary kernel "
        "each; the floor), plain `nbgrader autograde` of the class in one "
        "process (ordinary kernels, no feedback), and `./course grade` with one "
        "worker (sandboxed kernel, tamper guard, a course copy each, feedback, "
        "merge into a central gradebook). The chapter's template course is "
        f"made once beforehand ({template_s:.1f} s).", "",
        f"Machine: {platform.machine()}, {cores} cores, Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()}, "
        f"load average {os.getloadavg()[0]:.1f} at the end.", "",
        "| way | wall time (s) | seconds per submission | × plain execution "
        "| × plain nbgrader |", "|---|---:|---:|---:|---:|"]
    for name, seconds in ways:
        lines.append(f"| {name} | {seconds:.1f} | {seconds / n:.1f} | "
                     f"{seconds / floor:.2f} | {seconds / plain:.2f} |")
    lines += ["", "Where `./course grade`'s seconds went (all submissions):", "",
              "| phase | seconds | per submission |", "|---|---:|---:|"]
    for phase, value in phases.items():
        lines.append(f"| {phase} | {value:.1f} | {value / n:.1f} |")
    if parallel:
        lines += ["", "| workers | wall time (s) | seconds per submission |",
                  "|---:|---:|---:|"]
        for workers, seconds in parallel:
            lines.append(f"| {workers} | {seconds:.1f} | {seconds / n:.1f} |")
        lines += ["", "Seconds per submission is wall time divided by the "
                  "number of submissions: with several workers, the class's cost "
                  "per student, not one notebook's run time."]
    lines.append("")
    args.output.write_text("\n".join(lines), encoding="utf-8")
    print(f"written to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
