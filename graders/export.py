"""Grades and feedback back to the learning platform: one command.

    python -m graders.export canvas|moodle [--out DIR] [--chapter chNN_slug ...]

Reads what ``python -m graders.grade`` stored in ``OUT`` (default
``graders/work/``: the results, and the roster of the last run given
``--roster``) and writes ``OUT/export/<platform>/``:

- ``canvas``: ``grades.csv`` in the shape of Canvas's gradebook export
  (``Student, ID, SIS User ID, SIS Login ID, Section``, a "Points Possible"
  row, one column per chapter, named as in the roster's gradebook export so
  that Canvas updates the existing assignment), for Gradebook > Import; and
  ``feedback_<chapter>.zip`` with each student's feedback page named like
  the file Canvas handed out, for the assignment's "Re-Upload Submissions".
- ``moodle``: ``grades.csv`` (``Full name, Email address``, one column per
  chapter) for Grades > Import > CSV file, mapping "Email address" to the
  user's e-mail; ``worksheet_<chapter>.csv``, Moodle's offline grading
  worksheet filled in, for the assignment's "Upload grading worksheet"; and
  ``feedback_<chapter>.zip`` in the folders of Moodle's download, for
  "Upload multiple feedback files in a zip".

Scores are those of ``grades.csv``; a student with no submission ("missing")
gets an empty cell, which both platforms leave unchanged, so that their own
missing-work policy applies. Files that belong to nobody (no student id) are
reported and not exported.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import zipfile
from pathlib import Path, PurePosixPath

from graders.grade import DEFAULT_OUT, MISSING, ROSTER, all_rows

CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_WORKSHEET = ["Identifier", "Full name", "Email address", "Status", "Grade",
                    "Maximum Grade", "Grade can be changed",
                    "Last modified (submission)", "Last modified (grade)",
                    "Feedback comments"]


def _score(row: dict | None) -> str:
    if row is None or row["status"] == MISSING or row.get("score") is None:
        return ""
    return f"{row['score']:g}"


def _column(chapter: str, columns: list[str]) -> str:
    """The roster's gradebook column for ``chapter`` (Canvas appends the
    assignment id: ``ch03_probability (1234)``), or the chapter itself."""
    prefix = chapter.split("_")[0].lower()
    for column in columns:
        words = re.split(r"[^a-z0-9]+", column.lower())
        if column.startswith(chapter) or prefix in words:
            return column
    return chapter


def _feedback_name(row: dict, platform: str) -> str:
    """Where a feedback page goes in the platform's feedback zip."""
    prefix = row.get("prefix") or ""
    folder, _, flat = prefix.rpartition("/")
    if platform == "moodle" and prefix.endswith("/"):   # Moodle's folders
        return f"{PurePosixPath(folder).name}/{row['chapter']}_feedback.html"
    if flat:
        stem = PurePosixPath(row.get("file_id") or row["chapter"]).stem
        return f"{flat}{stem}_feedback.html"
    return f"{row['student']}_{row['chapter']}_feedback.html"


def export(out: Path, platform: str, chapters: list[str] | None = None) -> list[Path]:
    """Write ``OUT/export/<platform>/``; return the files written."""
    stored = all_rows(out)
    rows = [r for r in stored if r.get("student") and r.get("chapter")]
    unassigned = [r for r in stored if not r.get("student")]
    for row in unassigned:
        print(f"warning: not exported (no student): {'; '.join(row['problems'])}",
              file=sys.stderr)
    known = sorted({r["chapter"] for r in rows})
    chapters = chapters or known
    absent = [c for c in chapters if c not in known]
    if absent:
        raise SystemExit(f"error: no grades for {absent} in {out}; graded: {known}")
    roster = (json.loads((out / ROSTER).read_text(encoding="utf-8"))
              if (out / ROSTER).exists() else {"people": [], "columns": []})
    grade = {(r["student"], r["chapter"]): r for r in rows}
    maxima = {r["chapter"]: r["max_score"] for r in rows if r.get("max_score")}
    people = list(roster["people"])
    listed = {p["student"] for p in people}
    for row in rows:    # submissions that match nobody on the roster
        if row["student"] not in listed:
            listed.add(row["student"])
            people.append({"student": row["student"], "name": row.get("name", ""),
                           "platform_id": row.get("platform_id", ""),
                           "login": "", "section": ""})
    folder = out / "export" / platform
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    if platform == "canvas":
        columns = [_column(c, roster["columns"]) for c in chapters]
        path = folder / "grades.csv"
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([*CANVAS_HEADER, *columns])
            writer.writerow(["Points Possible", "", "", "", "",
                             *(f"{maxima[c]:g}" for c in chapters)])
            for p in people:
                writer.writerow([p["name"], p["platform_id"], "", p["login"],
                                 p["section"],
                                 *(_score(grade.get((p["student"], c)))
                                   for c in chapters)])
        written.append(path)
    else:
        path = folder / "grades.csv"
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["Full name", "Email address", *chapters])
            for p in people:
                writer.writerow([p["name"], p["login"],
                                 *(_score(grade.get((p["student"], c)))
                                   for c in chapters)])
        written.append(path)
        for chapter in chapters:
            path = folder / f"worksheet_{chapter}.csv"
            with open(path, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(MOODLE_WORKSHEET)
                for p in people:
                    row = grade.get((p["student"], chapter))
                    status = ("No submission" if row is None
                              or row["status"] == MISSING else row["status"])
                    comment = (f"{_score(row)}/{maxima[chapter]:g}: "
                               f"{'; '.join(row['problems']) or 'see feedback'}"
                               if _score(row) else "")
                    writer.writerow([f"Participant {p['platform_id']}", p["name"],
                                     p["login"], status, _score(row),
                                     f"{maxima[chapter]:g}", "Yes",
                                     (row or {}).get("submitted", ""), "", comment])
            written.append(path)
    for chapter in chapters:
        path = folder / f"feedback_{chapter}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for p in people:
                row = grade.get((p["student"], chapter))
                page = out / "feedback" / p["student"] / chapter / f"{chapter}.html"
                if row is not None and page.exists():
                    archive.write(page, _feedback_name(row, platform))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m graders.export",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("platform", choices=["canvas", "moodle"])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="the grading area of graders.grade (default "
                             "graders/work/)")
    parser.add_argument("--chapter", action="append", default=[],
                        help="export only this chapter (repeatable; default all)")
    args = parser.parse_args(argv)
    if not (args.out / "results").exists():
        parser.error(f"no grades in {args.out}: run ./course grade first")
    for path in export(args.out.resolve(), args.platform, args.chapter):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
