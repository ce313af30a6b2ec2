"""Grade a folder or .zip of submissions with real nbgrader: one command.

    python -m graders.grade SUBMISSIONS [--chapter chNN_slug ...]
                            [--workers N] [--out DIR] [--force]

Submissions are found and normalised by ``graders/intake.py`` (originals are
only read). Each chapter is registered once in a template course under
``OUT/templates/<chapter>/`` (``nbgrader generate_assignment`` on the
committed solution notebook, configured by ``graders/config.py``). Each
submission is then graded in its own copy of that template,
``OUT/runs/<chapter>/<student>/``, with its own sqlite gradebook: ``nbgrader
autograde`` and ``nbgrader generate_feedback`` there touch no other student,
so workers run in parallel safely and regrading one student leaves the others
alone. The result of each submission is kept in
``OUT/results/<chapter>/<student>.json``; ``OUT/grades.csv`` is rewritten from
all of them, and the feedback page is copied to
``OUT/feedback/<student>/<chapter>/<chapter>.html``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from graders import runenv
from graders.build import ROOT, chapter_sources
from graders.config import write_config
from graders.intake import Submission, locate, normalise, unpack

DEFAULT_OUT = ROOT / "graders" / "work"
CSV_FIELDS = ["student", "chapter", "score", "max_score", "status", "problems"]
def nbgrader(course: Path, *args: str):
    """Run ``nbgrader ARGS`` in ``course``, with Jupyter state kept inside it."""
    return runenv.nbgrader(course, *args, timeout=3600, scratch=course / ".jupyter")


def template(out: Path, chapter: str) -> tuple[Path, float]:
    """The registered template course for ``chapter`` and its maximum score."""
    solution = ROOT / "solutions" / chapter / f"{chapter}.ipynb"
    digest = hashlib.sha256(solution.read_bytes()).hexdigest()
    course = out / "templates" / chapter
    stamp = course / "solution.sha256"
    if not (stamp.exists() and stamp.read_text() == digest):
        shutil.rmtree(course, ignore_errors=True)
        (course / "solutions" / chapter).mkdir(parents=True)
        shutil.copy(solution, course / "solutions" / chapter)
        write_config(course)
        done = nbgrader(course, "generate_assignment", chapter, "--force")
        if done.returncode != 0:
            raise SystemExit(f"error: generate_assignment {chapter}:\n{done.stderr}")
        stamp.write_text(digest)
    with Gradebook(_db_url(course)) as gb:
        return course, float(gb.find_assignment(chapter).max_score)


def _db_url(course: Path) -> str:
    return "sqlite:///" + str(course / "graders" / "gradebook.db")


def autograde(out: Path, sub: Submission) -> dict:
    """Grade one normalised submission in its own course copy; its result."""
    chapter, student = sub.chapter, sub.student
    course = out / "runs" / chapter / student
    shutil.rmtree(course, ignore_errors=True)
    shutil.copytree(out / "templates" / chapter, course,
                    ignore=shutil.ignore_patterns(".jupyter"))
    write_config(course)
    target = course / "graders" / "submitted" / student / chapter
    target.mkdir(parents=True)
    nbformat.write(sub.notebook, target / f"{chapter}.ipynb")
    done = nbgrader(course, "autograde", chapter, "--student", student, "--force")
    if done.returncode != 0:
        return {"status": "autograde failed", "score": 0.0,
                "log": done.stderr[-2000:]}
    nbgrader(course, "generate_feedback", chapter, "--student", student, "--force")
    page = course / "graders" / "feedback" / student / chapter / f"{chapter}.html"
    if page.exists():
        dest = out / "feedback" / student / chapter
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(page, dest)
    with Gradebook(_db_url(course)) as gb:
        graded = gb.find_submission(chapter, student)
        return {"status": "graded", "score": float(graded.score)}


def grade_one(out: Path, sub: Submission, max_score: float,
              force: bool = False) -> dict:
    """The result row for ``sub`` (graded, or 0 points with its reason).

    A submission whose normalised notebook was already graded against the
    same solution keeps its stored grade unless ``force``.
    """
    path = out / "results" / sub.chapter / f"{sub.student}.json"
    key = _key(out, sub)
    old = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    if not force and old.get("key") == key and old.get("status") == "graded":
        result = {"status": "graded", "score": old["score"], "reused": True}
    else:  # no feedback nor course copy may outlive the grade they belong to
        shutil.rmtree(out / "feedback" / sub.student / sub.chapter,
                      ignore_errors=True)
        shutil.rmtree(out / "runs" / sub.chapter / sub.student, ignore_errors=True)
        result = ({"status": sub.fatal, "score": 0.0} if sub.fatal
                  else autograde(out, sub))
    result.update(student=sub.student, chapter=sub.chapter, max_score=max_score,
                  problems=sub.problems, file=sub.label, key=key)
    path.parent.mkdir(parents=True, exist_ok=True)
    stored = {k: v for k, v in result.items() if k != "reused"}
    path.write_text(json.dumps(stored, indent=1, sort_keys=True), encoding="utf-8")
    return result


def _key(out: Path, sub: Submission) -> str:
    """What a grade depends on: the normalised notebook and the solution."""
    digest = hashlib.sha256()
    stamp = out / "templates" / sub.chapter / "solution.sha256"
    digest.update(stamp.read_bytes() if stamp.exists() else b"")
    if sub.notebook is not None:
        digest.update(nbformat.writes(sub.notebook).encode("utf-8"))
    return digest.hexdigest()


def write_csv(out: Path) -> Path:
    """``OUT/grades.csv`` from every stored result, one row per student/chapter."""
    rows = [json.loads(p.read_text(encoding="utf-8"))
            for p in sorted((out / "results").glob("*/*.json"))]
    rows.sort(key=lambda r: (r["student"], r["chapter"]))
    path = out / "grades.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "problems": "; ".join(row["problems"])})
    return path


def print_table(rows: list[dict], stream=sys.stdout) -> None:
    """A plain-text summary: student, chapter, score, max, status, problems."""
    head = ["student", "chapter", "score", "max", "status / problems"]
    lines = [[r.get("student") or "?", r.get("chapter") or "?",
              f"{r['score']:g}" if r.get("score") is not None else "-",
              f"{r['max_score']:g}" if r.get("max_score") is not None else "-",
              "; ".join([r["status"], *r["problems"]])] for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines, strict=True)]
    for line in [head, *lines]:
        cells = [str(x).ljust(w) for x, w in zip(line[:-1], widths[:-1], strict=True)]
        print("  ".join([*cells, str(line[-1])]).rstrip(), file=stream)


def plan(subs: list[Submission]) -> tuple[list[Submission], list[dict]]:
    """Submissions to grade, and rows for those that cannot be (no student...)."""
    keep, rejected, seen = [], [], {}
    for sub in subs:
        reason = None
        if not sub.student:
            reason = "student unknown (name the file or folder after the student)"
        elif not sub.chapter:
            reason = "chapter unknown (name it in the file name or use --chapter)"
        elif (sub.student, sub.chapter) in seen:
            first = seen[(sub.student, sub.chapter)]
            first.problems.append(f"another file ignored: {sub.label}")
            continue
        if reason:
            rejected.append({"student": sub.student, "chapter": sub.chapter,
                             "score": None, "max_score": None, "status": reason,
                             "problems": [f"file {sub.label}", *sub.problems,
                                          *([sub.fatal] if sub.fatal else [])]})
            continue
        seen[(sub.student, sub.chapter)] = sub
        keep.append(sub)
    return keep, rejected


def run(source: Path, chapters: list[str], workers: int, out: Path,
        force: bool = False) -> list[dict]:
    """Grade everything in ``source``; return the summary rows."""
    known = [source.stem for source in chapter_sources(ROOT)]
    unknown = [c for c in chapters if c not in known]
    if unknown:
        raise SystemExit(f"error: unknown chapter(s) {unknown}; known: {known}")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix="input-") as scratch:
        folder = unpack(source.resolve(), Path(scratch) / "unzipped")
        subs = locate(folder, known, chapters)
        for sub in subs:
            normalise(sub, known)
            sub.label = sub.label if source.is_dir() else f"{source.name}:{sub.label}"
    subs = [s for s in subs if not chapters or s.chapter in chapters
            or s.chapter is None]
    todo, rows = plan(subs)
    maxima = {c: template(out, c)[1] for c in sorted({s.chapter for s in todo})}
    done = 0
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        jobs = [pool.submit(grade_one, out, s, maxima[s.chapter], force) for s in todo]
        for job in as_completed(jobs):
            row = job.result()
            done += 1
            print(f"[{done}/{len(jobs)}] {row['student']} {row['chapter']}: "
                  f"{row['score']:g}/{row['max_score']:g} {row['status']}"
                  + (" (unchanged, grade kept)" if row.get("reused") else ""),
                  file=sys.stderr, flush=True)
            rows.append(row)
    rows.sort(key=lambda r: (r["student"] or "", r["chapter"] or ""))
    write_csv(out)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; exit status 0 even when some files had problems."""
    parser = argparse.ArgumentParser(prog="python -m graders.grade",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("submissions", type=Path, help="a folder or a .zip file")
    parser.add_argument("--chapter", action="append", default=[],
                        help="grade only this chapter (repeatable); also the "
                             "chapter of files whose names do not say it")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--force", action="store_true",
                        help="regrade even unchanged submissions")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="working area (default graders/work/)")
    args = parser.parse_args(argv)
    if not args.submissions.exists():
        parser.error(f"{args.submissions} does not exist")
    out = args.out.resolve()
    rows = run(args.submissions, args.chapter, args.workers, out, args.force)
    print_table(rows)
    print(f"\ngrades: {out / 'grades.csv'}   feedback: {out / 'feedback'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
