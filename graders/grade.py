"""Grade a folder or .zip of submissions with real nbgrader: one command.

    python -m graders.grade SUBMISSIONS [--chapter chNN_slug ...]
                            [--workers N] [--out DIR] [--force] [--course DIR]

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
``OUT/feedback/<student>/<chapter>/<chapter>.html``. Files that could not be
assigned to a student and chapter are listed there too, with the reason
(``OUT/results/_unassigned.json``, rewritten by each run).

As each result comes back, the main thread merges it into the central
gradebook of ``--course`` (default: this repository; ``graders/gradebook.db``
and the autograded and feedback folders next to it) with
``graders/gradebook.py``, so that ``nbgrader formgrader`` and ``nbgrader
export`` see the whole class; a regrade replaces the student's submission.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from graders import execute, gradebook, intake, kernels, lms, runenv
from graders.build import ROOT, chapter_sources
from graders.config import GRADEBOOK, write_config
from graders.intake import Submission, locate, normalise, unpack

DEFAULT_OUT = ROOT / "graders" / "work"
CSV_FIELDS = ["student", "chapter", "score", "max_score", "status", "problems",
              "name", "platform_id", "late", "submitted"]
# From a learning platform's file names: written to grades.csv and kept for export.
PLATFORM_FIELDS = ("name", "platform_id", "late", "submitted", "prefix", "file_id")
# The roster of the last run given one (``--roster``), for "missing" rows.
ROSTER = Path("results") / "_roster.json"
MISSING = "missing"
# The last run's files that could not be graded (no student or chapter).
UNASSIGNED = Path("results") / "_unassigned.json"
# Results whose run holds an nbgrader gradebook, merged into the central one.
MERGED_STATUSES = ("graded", "flagged for review")
# A notebook that could not be graded for a reason that is not the student's
# (the kernel did not start, the whole notebook timed out, the machine was
# overloaded): the student's earlier grade stays, and the next run retries it.
RETRY = "retry"
# Seconds spent in each phase of each graded notebook, for
# graders/grading_benchmark.py: dicts of phase -> seconds.
PHASES: list[dict[str, float]] = []
_PHASES_LOCK = threading.Lock()


class _Clock:
    """Seconds per phase of one notebook's grading, added to ``PHASES``."""

    def __init__(self):
        self.spent, self.last = {}, time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.spent[phase] = self.spent.get(phase, 0.0) + now - self.last
        self.last = now

    def done(self) -> None:
        with _PHASES_LOCK:
            PHASES.append(self.spent)


def nbgrader(course: Path, *args: str, env: dict | None = None,
             timeout: float = 3600):
    """Run ``nbgrader ARGS`` in ``course``, with Jupyter state kept inside it."""
    return runenv.nbgrader(course, *args, timeout=timeout,
                           scratch=course / ".jupyter", env=env)


# ``nbgrader A... --then B...``: two nbgrader commands in one process (the
# autograde and the feedback of one submission), to pay Python's and
# nbgrader's start once. Exit status 1: A failed; 3: only B failed.
_TWO_COMMANDS = """import sys
from jupyter_core.application import NoStart
from nbgrader.apps.autogradeapp import AutogradeApp
from nbgrader.apps.generatefeedbackapp import GenerateFeedbackApp
from nbgrader.apps.nbgraderapp import NbGraderApp
split = sys.argv.index("--then")
for number, argv in enumerate((sys.argv[1:split], sys.argv[split + 1:])):
    for app_class in (NbGraderApp, AutogradeApp, GenerateFeedbackApp):
        app_class.clear_instance()
    try:
        app = NbGraderApp.instance()
        app.initialize(argv)
        app.start()
    except NoStart:  # (how jupyter_core ends a subcommand that ran)
        pass
    except SystemExit as stop:
        if stop.code:
            sys.exit(1 if number == 0 else 3)
"""


def nbgrader_then(course: Path, first: list[str], then: list[str], env: dict,
                  timeout: float) -> subprocess.CompletedProcess:
    """``nbgrader FIRST`` then ``nbgrader THEN`` in one process in ``course``
    (as ``runenv.nbgrader``: the whole process group is killed past
    ``timeout`` and ``subprocess.TimeoutExpired`` raised)."""
    quiet = ["--log-level=WARN"]
    cmd = [sys.executable, "-c", _TWO_COMMANDS, *first, *quiet, "--then", *then,
           *quiet]
    full_env = {**runenv.tool_env(course / ".jupyter"), **env}
    with subprocess.Popen(cmd, cwd=course, env=full_env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def template(out: Path, chapter: str) -> tuple[Path, float]:
    """The registered template course for ``chapter`` and its maximum score."""
    solution = ROOT / "solutions" / chapter / f"{chapter}.ipynb"
    digest = hashlib.sha256(solution.read_bytes()).hexdigest()
    course = out / "templates" / chapter
    stamp = course / "solution.sha256"
    if not (stamp.exists() and stamp.read_text() == digest):
        # Built aside and renamed into place: graders sharing OUT (shards of a
        # class on several machines) never see half a template.
        build = out / "templates" / f".{chapter}-{os.getpid()}-{uuid.uuid4().hex}"
        (build / "solutions" / chapter).mkdir(parents=True)
        shutil.copy(solution, build / "solutions" / chapter)
        write_config(build)
        done = nbgrader(build, "generate_assignment", chapter, "--force")
        if done.returncode != 0:
            raise SystemExit(f"error: generate_assignment {chapter}:\n{done.stderr}")
        (build / "solution.sha256").write_text(digest)
        if not (stamp.exists() and stamp.read_text() == digest):
            old = out / "templates" / f".old-{uuid.uuid4().hex}"
            with contextlib.suppress(FileNotFoundError):
                course.rename(old)
            with contextlib.suppress(OSError):  # another grader's is as good
                build.rename(course)
            shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(build, ignore_errors=True)
    with Gradebook(_db_url(course)) as gb:
        return course, float(gb.find_assignment(chapter).max_score)


def _db_url(course: Path) -> str:
    return "sqlite:///" + str(course / "graders" / "gradebook.db")


def autograde(out: Path, sub: Submission) -> dict:
    """Grade one normalised submission in its own course copy; its result."""
    clock = _Clock()
    try:
        return _autograde(out, sub, clock)
    finally:
        clock.done()


def _autograde(out: Path, sub: Submission, clock: _Clock) -> dict:
    chapter, student = sub.chapter, sub.student
    course = out / "runs" / chapter / student
    shutil.rmtree(course, ignore_errors=True)
    shutil.copytree(out / "templates" / chapter, course,
                    ignore=shutil.ignore_patterns(".jupyter"))
    settings = kernels.SETTINGS
    write_config(course, grading=settings.config())
    target = course / "graders" / "submitted" / student / chapter
    target.mkdir(parents=True)
    nbformat.write(sub.notebook, target / f"{chapter}.ipynb")
    clock.lap("course copy")
    try:  # (the sandbox leases each kernel's uid machine-wide)
        with kernels.grading_kernel(course, None, settings) as env:
            done = nbgrader_then(
                course, ["autograde", chapter, "--student", student, "--force",
                         kernels.ipc_argument(env)],
                ["generate_feedback", chapter, "--student", student, "--force"],
                env=env, timeout=settings.submission_timeout)
        clock.lap("nbgrader autograde + generate_feedback (one process)")
    except subprocess.TimeoutExpired:
        return {"status": RETRY, "score": 0.0, "notes": [
            f"infrastructure failure: grading took over "
            f"{settings.submission_timeout} s and was stopped"]}
    if done.returncode not in (0, 3):  # (3: only the feedback page failed)
        return {"status": RETRY, "score": 0.0, "log": done.stderr[-2000:],
                "notes": [f"infrastructure failure: nbgrader autograde exited "
                          f"with {done.returncode} ({_last_error(done.stderr)})"]}
    report = _guard_report(course / "graders" / "autograded" / student / chapter)
    page = course / "graders" / "feedback" / student / chapter / f"{chapter}.html"
    if page.exists():
        dest = out / "feedback" / student / chapter
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(page, dest)
    with Gradebook(_db_url(course)) as gb:
        graded = gb.find_submission(chapter, student)
        score = float(graded.score)
    clock.lap("read the run's gradebook")
    status = "flagged for review" if report.get("flagged") else "graded"
    return {"status": status, "score": score, "notes": _describe(report),
            "flagged": report.get("flagged", [])}


def _last_error(log: str) -> str:
    """The most telling line of a failed nbgrader's log."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in reversed(lines):
        if "error" in line.lower() or "died" in line.lower():
            return line[-200:]
    return lines[-1][-200:] if lines else "no output"


def _guard_report(folder: Path) -> dict:
    """What GuardedExecute saw while running the notebook (graders/execute.py)."""
    path = folder / execute.REPORT
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _describe(report: dict) -> list[str]:
    """Short texts for the problems column, from a guard report."""
    notes = []
    if report.get("tampered"):
        notes.append(
            f"tampering detected after cell {report['tampered_after_cell']} ("
            + "; ".join(report["problems"][:3]) + f"): {len(report['flagged'])} "
            "test cell(s) given 0 points and flagged for manual review")
    for key, text in [("killed_cells", "kernel died or hung in cell(s) {}: "
                       "restarted, later cells still graded"),
                      ("timeout_cells", "time limit hit in cell(s) {}: interrupted"),
                      ("memory_cells", "memory limit hit in cell(s) {}"),
                      ("truncated_cells", "output truncated in cell(s) {}"),
                      ("not_run", "cell(s) {} not run: too many kernel restarts")]:
        if report.get(key):
            notes.append(text.format(", ".join(str(i) for i in report[key])))
    return notes


def grade_one(out: Path, sub: Submission, max_score: float,
              force: bool = False) -> dict:
    """The result row for ``sub`` (graded, or 0 points with its reason).

    A submission whose normalised notebook was already graded against the
    same solution keeps its stored grade unless ``force``. One that cannot be
    graded now for an infrastructure reason (status ``RETRY``) keeps the
    student's earlier grade, its course copy and feedback (as ``kept``), and
    is graded again by the next run.
    """
    path = out / "results" / sub.chapter / f"{sub.student}.json"
    key = _key(out, sub)
    old = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    if (not force and old.get("key") == key
            and old.get("status") in MERGED_STATUSES):
        result = {name: old[name] for name in ("status", "score", "notes", "flagged")
                  if name in old}
        result["reused"] = True
    else:  # no feedback nor course copy may outlive the grade they belong to
        earlier = (old if old.get("status") in MERGED_STATUSES
                   else old.get("kept"))
        folders = [out / "feedback" / sub.student / sub.chapter,
                   out / "runs" / sub.chapter / sub.student]
        aside = [f.with_name(f".{f.name}.earlier") for f in folders]
        for folder, spare in zip(folders, aside, strict=True):
            shutil.rmtree(spare, ignore_errors=True)
            if folder.exists():
                folder.rename(spare)
        if sub.fatal:
            result = {"status": sub.fatal, "score": 0.0}
        else:
            try:
                result = autograde(out, sub)
            except Exception as error:  # noqa: BLE001 - disk full, no fork...
                result = {"status": RETRY, "score": 0.0, "notes": [
                    f"infrastructure failure: {error!r}"[:300]]}
        restore = result["status"] == RETRY and earlier
        for folder, spare in zip(folders, aside, strict=True):
            if restore:
                shutil.rmtree(folder, ignore_errors=True)
                if spare.exists():
                    spare.rename(folder)
            else:
                shutil.rmtree(spare, ignore_errors=True)
        if result["status"] == RETRY:
            if earlier:
                result["kept"] = {k: earlier[k] for k in
                                  ("status", "score", "notes", "flagged", "key")
                                  if k in earlier}
                result["score"] = earlier["score"]
            result["notes"] = [*result.get("notes", []), (
                f"earlier grade kept ({earlier['score']:g}, {earlier['status']})"
                if earlier else "no grade yet") + "; run the command again to retry"]
    result.update(student=sub.student, chapter=sub.chapter, max_score=max_score,
                  problems=[*sub.problems, *result.get("notes", [])],
                  file=sub.label, key=key)
    result.update({k: sub.platform[k] for k in PLATFORM_FIELDS if k in sub.platform})
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


def all_rows(out: Path) -> list[dict]:
    """Every stored result, the last run's unassigned files and the roster's
    missing submissions, by student and chapter."""
    rows = [json.loads(p.read_text(encoding="utf-8"))
            for p in sorted((out / "results").glob("*/*.json"))]
    unassigned = out / UNASSIGNED
    if unassigned.exists():
        rows += json.loads(unassigned.read_text(encoding="utf-8"))
    rows += missing_rows(out, rows)
    rows.sort(key=_order)
    return rows


def write_csv(out: Path) -> list[dict]:
    """``OUT/grades.csv`` from every stored result, one row per student/chapter,
    then the files of the last run that could not be graded (no student...);
    returns the rows written."""
    rows = all_rows(out)
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "problems": "; ".join(row["problems"])})
    return rows


def missing_rows(out: Path, rows: list[dict]) -> list[dict]:
    """A "missing" row for each roster student without a result in a chapter
    that has results (the roster of the last run given one; a shard lists
    only its own students)."""
    path = out / ROSTER
    if not path.exists():
        return []
    saved = json.loads(path.read_text(encoding="utf-8"))
    graded = {(r["student"], r["chapter"]) for r in rows}
    maxima = {r["chapter"]: r.get("max_score") for r in rows
              if r.get("chapter") and r.get("max_score") is not None}
    shard = saved.get("shard")
    missing = []
    for person in saved["people"]:
        if shard and _shard_of(person["student"], shard[1]) != shard[0]:
            continue
        for chapter in sorted(maxima):
            if (person["student"], chapter) not in graded:
                missing.append({
                    "student": person["student"], "chapter": chapter, "score": None,
                    "max_score": maxima[chapter], "status": MISSING,
                    "problems": ["no submission"], "name": person["name"],
                    "platform_id": person["platform_id"], "late": "",
                    "submitted": ""})
    return missing


def _order(row: dict) -> tuple:
    """Rows by student and chapter; files without a student last."""
    return (row["student"] is None, row["student"] or "", row["chapter"] or "")


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
    """Submissions to grade, and rows for those that cannot be (no student...).

    Of several files of one student and chapter, the latest attempt a platform
    recorded (time, then attempt number) is graded; otherwise the first found.
    """
    keep, rejected, seen = [], [], {}
    subs = sorted(subs, key=lambda s: s.platform.get("order", ("", 0)), reverse=True)
    for sub in subs:
        reason = None
        if not sub.student:
            reason = "student unknown (name the file or folder after the student)"
        elif not sub.chapter:
            reason = "chapter unknown (name it in the file name or use --chapter)"
        elif (sub.student, sub.chapter) in seen:
            first = seen[(sub.student, sub.chapter)]
            first.problems.append(
                f"earlier attempt ignored: {sub.label}" if sub.platform
                else f"another file ignored: {sub.label}")
            continue
        if reason:
            rejected.append({"student": sub.student, "chapter": sub.chapter,
                             "score": None, "max_score": None, "status": reason,
                             "problems": [f"file {sub.label}", *sub.problems,
                                          *([sub.fatal] if sub.fatal else [])],
                             **{k: sub.platform[k] for k in PLATFORM_FIELDS
                                if k in sub.platform}})
            continue
        seen[(sub.student, sub.chapter)] = sub
        keep.append(sub)
    return keep, rejected


def _shard_of(student: str, count: int) -> int:
    """The shard (0..count-1) a student belongs to, the same on every machine."""
    return int(hashlib.sha256(student.encode()).hexdigest(), 16) % count


def run(source: Path, chapters: list[str], workers: int, out: Path,
        force: bool = False, course: Path = ROOT,
        shard: tuple[int, int] | None = None,
        collector: lms.Collector | None = None,
        roster: lms.Roster | None = None) -> list[dict]:
    """Grade everything in ``source``; return the summary rows.

    With ``collector`` (a platform preset or ``--name-pattern``) students are
    read from the platform's file names; with ``roster`` they become the
    roster's logins, and roster students without a file get "missing" rows.

    Each graded submission is merged into ``course``'s central gradebook as
    its result comes back, in this thread only (``publish``).
    """
    known = [source.stem for source in chapter_sources(ROOT)]
    unknown = [c for c in chapters if c not in known]
    if unknown:
        raise SystemExit(f"error: unknown chapter(s) {unknown}; known: {known}")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix="input-") as scratch:
        folder = unpack(source.resolve(), Path(scratch) / "unzipped")
        subs = locate(folder, known, chapters, collector, roster)
        for sub in subs:
            normalise(sub, known)
            sub.label = sub.label if source.is_dir() else f"{source.name}:{sub.label}"
    subs = [s for s in subs if not chapters or s.chapter in chapters
            or s.chapter is None]
    todo, rows = plan(subs)
    if shard is not None:  # this machine's part of the class, by student name
        index, count = shard
        todo = [s for s in todo if _shard_of(s.student, count) == index]
        rows = rows if index == 0 else []
    (out / UNASSIGNED).parent.mkdir(parents=True, exist_ok=True)
    (out / UNASSIGNED).write_text(json.dumps(rows, indent=1, sort_keys=True),
                                  encoding="utf-8")
    if roster is not None:
        people = [{"student": intake.safe_student(p.login), "name": p.name,
                   "platform_id": p.platform_id, "login": p.login,
                   "section": p.section} for p in roster.people]
        (out / ROSTER).write_text(json.dumps(
            {"kind": roster.kind, "columns": roster.columns, "people": people,
             "shard": shard}, indent=1, sort_keys=True), encoding="utf-8")
    prepare_course(course)
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
            try:
                start = time.perf_counter()
                publish(out, course, row)
                with _PHASES_LOCK:
                    PHASES.append({"merge into the central gradebook":
                                   time.perf_counter() - start})
            except Exception as error:  # the grade stands; the merge can be redone
                print(f"warning: {row['student']} {row['chapter']} not merged into "
                      f"{gradebook.db_url(course)}: {error!r}", file=sys.stderr)
                row["problems"] = [*row["problems"],
                                   f"not in the central gradebook: {error}"]
                row["unpublished"] = True
            rows.append(row)
    rows += [r for r in write_csv(out) if r["status"] == MISSING]
    rows.sort(key=_order)
    return rows


def prepare_course(course: Path) -> None:
    """``course`` ready to receive grades: nbgrader finds its gradebook there."""
    course.mkdir(parents=True, exist_ok=True)
    if not (course / "nbgrader_config.py").exists():
        write_config(course)


def publish(out: Path, course: Path, row: dict) -> None:
    """Bring ``row``'s grade into the central gradebook of ``course``.

    A graded submission is merged (one reused unchanged only if the central
    gradebook lacks it); a file that could not be graded by the student's
    fault removes the student's older grade for that chapter there, as in
    ``grades.csv``; one to retry (an infrastructure failure) leaves it.
    """
    url = gradebook.db_url(course)
    chapter, student = row["chapter"], row["student"]
    run_course = out / "runs" / chapter / student
    if row["status"] == RETRY:
        kept = row.get("kept")
        if (kept and kept["status"] in MERGED_STATUSES and run_course.exists()
                and not gradebook.has_submission(url, chapter, student)):
            gradebook.merge(run_course, url, chapter, student,
                            kept.get("flagged") or (), central_course=course)
    elif row["status"] not in MERGED_STATUSES:
        gradebook.remove(url, chapter, student, central_course=course)
    elif not (row.get("reused") and gradebook.has_submission(url, chapter, student)):
        gradebook.merge(run_course, url, chapter, student,
                        row.get("flagged") or (), central_course=course)


def _shard(text: str) -> tuple[int, int]:
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K/N, got {text!r}") from None
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"need 0 <= K < N, got {text!r}")
    return index, count


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
    parser.add_argument("--course", type=Path, default=ROOT,
                        help="course whose graders/gradebook.db, graders/autograded "
                             "and graders/feedback receive the grades, for "
                             "formgrader and export (default: this repository)")
    parser.add_argument("--shard", type=_shard, metavar="K/N",
                        help="grade only the K-th of N parts of the class (K from "
                             "0), e.g. one Kubernetes Indexed Job pod each; see "
                             "graders/GRADING.md")
    platform = parser.add_argument_group(
        "learning platforms", "archives downloaded from Canvas, Moodle or "
        "Blackboard (see graders/GRADING.md)")
    platform.add_argument("--lms", choices=sorted(lms.PRESETS),
                          help="read student ids, attempts and late markers from "
                               "this platform's file names")
    platform.add_argument("--name-pattern", metavar="REGEX",
                          help="a regular expression for other file names, with "
                               "the named groups student_id and file_id and "
                               "optionally timestamp, name, late, attempt "
                               "(nbgrader's zip_collect convention)")
    platform.add_argument("--roster", type=Path, metavar="CSV",
                          help="the platform's roster or gradebook export: maps "
                               "its ids to names and logins; roster students "
                               "without a submission are listed as missing")
    platform.add_argument("--due", metavar="TIME",
                          help="deadline (e.g. '2026-12-01 23:59 +0100'): later "
                               "submissions are marked late")
    limits = parser.add_argument_group(
        "student code", "limits of the sandboxed kernel each notebook runs in "
        "(see graders/GRADING.md)")
    defaults = kernels.Settings()
    limits.add_argument("--cell-timeout", type=int, default=defaults.cell_timeout,
                        metavar="S", help="seconds per cell before it is "
                        "interrupted (default %(default)s)")
    limits.add_argument("--notebook-timeout", type=int, metavar="S",
                        default=defaults.submission_timeout,
                        help="seconds for a whole notebook (default %(default)s)")
    limits.add_argument("--memory-mb", type=int, default=defaults.memory_mb,
                        help="kernel address space, MiB (default %(default)s)")
    limits.add_argument("--processes", type=int, default=defaults.processes,
                        help="processes and threads per kernel (default "
                             "%(default)s)")
    limits.add_argument("--no-sandbox", action="store_true",
                        help="run student code without the sandbox (only for "
                             "trusted notebooks, or where the sandbox cannot run)")
    limits.add_argument("--no-guard", action="store_true",
                        help="turn the tamper guard off (to see what a flagged "
                             "notebook would have scored without it)")
    args = parser.parse_args(argv)
    if not args.submissions.exists():
        parser.error(f"{args.submissions} does not exist")
    collector = roster = None
    if args.lms and args.name_pattern:
        parser.error("give --lms or --name-pattern, not both")
    due = lms.parse_time(args.due) if args.due else None
    if args.due and due is None:
        parser.error(f"--due: cannot read the time {args.due!r}")
    if args.lms or args.name_pattern:
        try:
            collector = lms.Collector(args.lms or args.name_pattern, due)
        except lms.PatternError as error:
            parser.error(str(error))
    elif args.roster or args.due:
        parser.error("--roster and --due need --lms or --name-pattern")
    if args.roster:
        try:
            roster = lms.read_roster(args.roster)
        except (OSError, ValueError) as error:
            parser.error(f"--roster: {error}")
    kernels.SETTINGS = kernels.Settings(
        sandbox=not args.no_sandbox, cell_timeout=args.cell_timeout,
        submission_timeout=args.notebook_timeout, memory_mb=args.memory_mb,
        processes=args.processes, guard=not args.no_guard)
    if kernels.SETTINGS.sandbox:
        problem = kernels.check_sandbox()
        if problem:
            parser.error(f"the grading sandbox does not work here ({problem}). "
                         "It needs Linux with root or unprivileged user "
                         "namespaces, or the container of graders/GRADING.md; "
                         "--no-sandbox runs student code unconfined (trusted "
                         "notebooks only)")
    else:
        print("warning: --no-sandbox: student code runs with your rights, "
              "network and files", file=sys.stderr)
    out, course = args.out.resolve(), args.course.resolve()
    rows = run(args.submissions, args.chapter, args.workers, out, args.force, course,
               args.shard, collector, roster)
    print_table(rows)
    print(f"\ngrades: {out / 'grades.csv'}   feedback: {out / 'feedback'}"
          f"\ngradebook: {course / GRADEBOOK} (nbgrader formgrader, export)")
    failed = [r for r in rows if r.get("unpublished")]
    if failed:
        print(f"error: {len(failed)} grade(s) not merged into the gradebook; run "
              "the command again to retry (with --force if OUT/runs was removed)",
              file=sys.stderr)
    retry = [r for r in rows if r["status"] == RETRY]
    if retry:
        print(f"error: {len(retry)} notebook(s) could not be graded for an "
              "infrastructure reason (status retry; earlier grades kept): run "
              "the same command again to retry exactly those", file=sys.stderr)
    return 1 if failed or retry else 0


if __name__ == "__main__":
    sys.exit(main())
