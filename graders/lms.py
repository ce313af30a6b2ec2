"""What learning platforms hand out and take back: archives, rosters, gradebooks.

Students upload their notebook to Canvas, Moodle or Blackboard; the instructor
downloads one archive of every submission. The platform names each file after
the student (and its own ids, attempts and late markers); this module reads
those names, the platform's roster, and writes files the platform imports.

File names are read by nbgrader's own ``FileNameCollectorPlugin`` (the
``zip_collect`` convention): a regular expression with the named groups
``student_id`` and ``file_id``, and optionally ``timestamp``, matched against
the file's path inside the archive. The course adds the optional groups
``name`` (shown in ``grades.csv``), ``late`` (non-empty when the platform
marked the file late) and ``attempt`` (a number: the higher, the later).

Presets (research notes in ``graders/GRADING.md``):

- ``canvas``: ``smithjohn_LATE_23456_7890123_ch03_probability-1.ipynb`` -
  sortable name, ``_LATE`` marker, Canvas user id, attachment id (increasing
  with each upload), then the uploaded name with ``-1``, ``-2`` for copies;
- ``moodle``: ``John Smith_123456_assignsubmission_file_/ch03.ipynb`` (the
  default, one folder per student) or the same prefix flat on the file name;
  123456 is the participant id of Moodle's grading worksheet;
- ``blackboard``: ``Chapter 3_jsmith_attempt_2026-11-30-10-15-00_ch03.ipynb``
  (with a ``.txt`` receipt per attempt, ignored) - username and attempt time.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

from nbgrader.plugins.zipcollect import FileNameCollectorPlugin
from nbgrader.utils import parse_utc

_FOLDER = r"(?:[^/]*/)*?"   # any leading folders of the archive
PRESETS = {
    "canvas": _FOLDER + r"(?P<name>[^/_]+?)(?P<late>_LATE)?_(?P<student_id>\d+)"
                        r"_(?P<attempt>\d+)_(?P<file_id>[^/]+)$",
    "moodle": _FOLDER + r"(?P<name>[^/]+?)_(?P<student_id>\d+)"
                        r"_assignsubmission_file_/?(?P<file_id>[^/]+)$",
    "blackboard": _FOLDER + r"(?P<assignment>[^/]+)_(?P<student_id>[^/_]+)_attempt_"
                            r"(?P<timestamp>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)"
                            r"_(?P<file_id>[^/]+)$",
}
_COPY = re.compile(r"-(\d+)$")           # Canvas's "-1" on a re-uploaded name
_BLACKBOARD_TIME = re.compile(r"^(\d{4}-\d\d-\d\d)-(\d\d)-(\d\d)-(\d\d)$")


class PatternError(ValueError):
    """A ``--name-pattern`` that lacks the groups nbgrader's convention needs."""


@dataclass
class Upload:
    """What a platform's file name says about one submitted file."""

    student_id: str
    file_id: str                  # the name the student gave the file
    name: str | None = None       # the student's name as the platform wrote it
    submitted: datetime | None = None   # UTC, naive
    late: bool = False
    attempt: int = 0              # larger is later (ids, copy numbers)
    prefix: str = ""              # the file name before file_id (for feedback)


class Collector:
    """Reads platform file names with nbgrader's ``FileNameCollectorPlugin``."""

    def __init__(self, pattern: str, due: datetime | None = None):
        if pattern in PRESETS:
            self.preset, pattern = pattern, PRESETS[pattern]
        else:
            self.preset = None
        try:
            groups = re.compile(pattern).groupindex
        except re.error as error:
            raise PatternError(f"--name-pattern is not a regular expression: "
                               f"{error}") from None
        missing = {"student_id", "file_id"} - set(groups)
        if missing:
            raise PatternError(
                f"--name-pattern needs the named groups (?P<student_id>...) and "
                f"(?P<file_id>...), as nbgrader's FileNameCollectorPlugin does; "
                f"missing: {', '.join(sorted(missing))}")
        self.pattern = pattern
        self.due = due
        self.plugin = FileNameCollectorPlugin(named_regexp=pattern,
                                              valid_ext=[".ipynb"])

    def read(self, relpath: str) -> Upload | None:
        """The upload named by ``relpath`` (posix, inside the archive), or None."""
        found = self.plugin.collect(relpath)
        if not found or not found.get("student_id") or not found.get("file_id"):
            return None
        file_id = found["file_id"]
        stem = PurePosixPath(file_id).stem
        copy = _COPY.search(stem)
        attempt = int(found["attempt"]) if (found.get("attempt") or "").isdigit() else 0
        upload = Upload(
            student_id=found["student_id"], file_id=file_id,
            name=(found.get("name") or "").strip() or None,
            submitted=parse_time(found.get("timestamp")),
            late=bool(found.get("late")),
            attempt=attempt * 1000 + (int(copy.group(1)) if copy else 0),
            prefix=relpath[: len(relpath) - len(file_id)])
        if self.due and upload.submitted and upload.submitted > self.due:
            upload.late = True
        return upload


def parse_time(text: str | None) -> datetime | None:
    """A platform's time stamp as naive UTC (nbgrader's ``parse_utc``)."""
    if not text:
        return None
    fixed = _BLACKBOARD_TIME.sub(r"\1 \2:\3:\4", text.strip())
    try:
        return parse_utc(fixed)
    except (ValueError, OverflowError):
        return None


# --------------------------------------------------------------------- roster

@dataclass
class Person:
    """One student of the platform's roster."""

    platform_id: str              # the id the platform puts in file names
    name: str
    login: str                    # login or e-mail: the course's student id
    section: str = ""
    extra: dict = field(default_factory=dict)   # the roster row as read
    late: bool | None = None      # what the roster says (Moodle's worksheet)
    submitted: datetime | None = None


@dataclass
class Roster:
    kind: str                     # canvas, moodle, blackboard or generic
    people: list[Person]
    columns: list[str]            # the roster's header, as read

    def by_platform_id(self) -> dict[str, Person]:
        return {p.platform_id: p for p in self.people}


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def read_roster(path) -> Roster:
    """A roster or gradebook CSV exported by Canvas, Moodle or Blackboard.

    Recognised by its header: Canvas's gradebook export (``Student, ID, SIS
    User ID, SIS Login ID, Section``), Moodle's grading worksheet
    (``Identifier, Full name, Email address, Status, ...``), Blackboard's Grade
    Center export (``Last Name, First Name, Username, ...``), or a plain CSV
    with the columns ``id, name, login``.
    """
    text = Path(path).read_bytes().decode("utf-8-sig", errors="replace")
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.DictReader(io.StringIO(text), dialect=dialect))
    columns = list(rows[0].keys()) if rows else next(csv.reader(
        io.StringIO(text), dialect=dialect), [])
    header = {_norm(c): c for c in columns if c is not None}

    def get(row, *names):
        for name in names:
            if _norm(name) in header:
                return (row.get(header[_norm(name)]) or "").strip()
        return ""

    people = []
    if {"student", "id", "sis login id"} <= set(header):
        kind = "canvas"
        for row in rows:
            student, uid = get(row, "Student"), get(row, "ID")
            if not uid.isdigit():   # "Points Possible" and muted rows
                continue
            people.append(Person(uid, student, get(row, "SIS Login ID") or uid,
                                 get(row, "Section"), row))
    elif {"identifier", "full name"} <= set(header):
        kind = "moodle"
        for row in rows:
            number = re.search(r"\d+", get(row, "Identifier"))
            if not number:
                continue
            status = get(row, "Status")
            person = Person(number.group(0), get(row, "Full name"),
                            get(row, "Email address") or number.group(0), "", row)
            if status:
                person.late = "late" in status.lower()
            person.submitted = parse_time(get(row, "Last modified (submission)"))
            people.append(person)
    elif {"last name", "first name", "username"} <= set(header):
        kind = "blackboard"
        for row in rows:
            user = get(row, "Username")
            if user:
                name = f"{get(row, 'First Name')} {get(row, 'Last Name')}".strip()
                people.append(Person(user, name, user, "", row))
    elif {"id", "name", "login"} <= set(header):
        kind = "generic"
        for row in rows:
            if get(row, "id"):
                people.append(Person(get(row, "id"), get(row, "name"),
                                     get(row, "login") or get(row, "id"), "", row))
    else:
        raise ValueError(
            f"{path}: not a roster this course reads. Expected the header of "
            "Canvas's gradebook export (Student, ID, SIS User ID, SIS Login ID, "
            "Section), Moodle's grading worksheet (Identifier, Full name, Email "
            "address, ...), Blackboard's Grade Center export (Last Name, First "
            f"Name, Username, ...) or id,name,login; got {columns}")
    seen = set()
    for person in people:
        if person.platform_id in seen:
            raise ValueError(f"{path}: platform id {person.platform_id!r} appears "
                             "twice")
        seen.add(person.platform_id)
    return Roster(kind, people, [c for c in columns if c is not None])
