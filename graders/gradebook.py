"""One central nbgrader gradebook for the whole class, fed by the grading runs.

``graders/grade.py`` grades every submission in its own course copy with its
own sqlite gradebook (``OUT/runs/<chapter>/<student>/``), so that parallel
workers never share a database. ``merge`` then copies one graded submission
from such a run into the course's central gradebook
(``<course>/graders/gradebook.db``, where ``nbgrader_config.py`` puts it), and
its autograded notebook and feedback folders next to it, so that ``nbgrader
formgrader`` and ``nbgrader export`` work on the whole class.

Writes to the central gradebook never interleave: ``grade.py`` merges in its
main thread only, and every merge or removal holds an exclusive ``flock`` on
``<gradebook>.lock`` (plus a lock inside this process, where ``flock`` may not
separate threads, e.g. on NFS) and writes in one sqlite transaction (``BEGIN
IMMEDIATE``, waiting up to ``BUSY_TIMEOUT_S`` for a formgrader's write).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from nbgrader import dbutil
from nbgrader.api import (
    Assignment,
    Base,
    Comment,
    Grade,
    Gradebook,
    GradeCell,
    MissingEntry,
    Notebook,
    SolutionCell,
    SourceCell,
    Student,
    SubmittedAssignment,
    SubmittedNotebook,
    TaskCell,
)
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from graders.config import AUTOGRADED, FEEDBACK, GRADEBOOK

BUSY_TIMEOUT_S = 120  # how long sqlite waits for another writer (formgrader)
_IN_PROCESS = threading.Lock()
_CELL_FIELDS = {GradeCell: ("max_score", "cell_type"), SolutionCell: (),
                TaskCell: ("max_score", "cell_type")}
_SOURCE_FIELDS = ("cell_type", "locked", "source", "checksum")
_GRADE_FIELDS = ("auto_score", "manual_score", "extra_credit", "needs_manual_grade")
_COMMENT_FIELDS = ("auto_comment", "manual_comment")
_STUDENT_FIELDS = ("first_name", "last_name", "email", "lms_user_id")


def db_url(course: Path) -> str:
    """The sqlite URL of ``course``'s gradebook (as ``graders/config.py`` sets it)."""
    return "sqlite:///" + str(Path(course) / GRADEBOOK)


def merge(run_course: Path, central_db_url: str, chapter: str, student: str,
          flagged: Iterable[str] = (), *, central_course: Path | None = None) -> None:
    """Copy ``student``'s graded ``chapter`` from ``run_course`` to the central one.

    The assignment, its notebooks and cells and the student are created in the
    central gradebook when missing (cells are updated to the run's version).
    A previous submission of that student for that chapter is replaced, never
    duplicated; only its extension, an instructor's decision, is kept. Every
    grade and comment is copied, and the timestamp. The grade cells named in
    ``flagged`` (tampering detected) get ``auto_score`` 0 and
    ``needs_manual_grade``, and their notebook is flagged, so that formgrader
    shows them for review. The autograded and feedback folders replace the
    central course's ones (``central_course`` defaults to the folder that
    holds ``graders/gradebook.db``).
    """
    run_course = Path(run_course)
    run_db = run_course / GRADEBOOK
    if not run_db.is_file():
        raise FileNotFoundError(f"no gradebook in the grading run {run_course}")
    snapshot = _snapshot(db_url(run_course), chapter, student)
    course = _central_course(central_db_url, central_course)
    folders = [(run_course / base / student / chapter,
                course / base / student / chapter) for base in (AUTOGRADED, FEEDBACK)]
    with _locked(central_db_url, course):
        staged = [(_stage(source, dest), dest) for source, dest in folders]
        try:
            with _central(central_db_url, snapshot["course_id"]) as gb:
                _write(gb, snapshot, set(flagged))
        except BaseException:
            for stage, _ in staged:
                if stage is not None:
                    shutil.rmtree(stage, ignore_errors=True)
            raise
        for stage, dest in staged:
            _replace(stage, dest)


def remove(central_db_url: str, chapter: str, student: str, *,
           central_course: Path | None = None) -> bool:
    """Delete ``student``'s ``chapter`` submission and folders from the central
    course (its latest file could not be graded); whether there was one."""
    course = _central_course(central_db_url, central_course)
    folders = [course / base / student / chapter for base in (AUTOGRADED, FEEDBACK)]
    if not _exists(central_db_url) and not any(f.exists() for f in folders):
        return False  # nothing to remove: leave no lock file behind either
    with _locked(central_db_url, course):
        found = False
        if _exists(central_db_url):
            with _central(central_db_url, "") as gb:
                old = _find_submission(gb, chapter, student)
                if old is not None:
                    _delete_submission(gb, old)
                    found = True
        for folder in folders:
            if folder.exists():
                shutil.rmtree(folder)
                found = True
                with suppress(OSError):  # the student's folder, if now empty
                    folder.parent.rmdir()
        return found


def has_submission(central_db_url: str, chapter: str, student: str) -> bool:
    """Whether the central gradebook holds ``student``'s ``chapter``."""
    if not _exists(central_db_url):
        return False
    with _reading(central_db_url) as gb:
        return _find_submission(gb, chapter, student) is not None


# -- reading the run's gradebook ---------------------------------------------
def _snapshot(run_url: str, chapter: str, student: str) -> dict:
    """The assignment structure and ``student``'s submission as plain data."""
    with _reading(run_url) as gb:
        assignment = gb.find_assignment(chapter)
        submission = gb.find_submission(chapter, student)
        notebooks = []
        for nb in assignment.notebooks:
            cells = [(type(c), c.name,
                      {f: getattr(c, f) for f in _CELL_FIELDS[type(c)]})
                     for c in _cells(nb)]
            sources = {c.name: {f: getattr(c, f) for f in _SOURCE_FIELDS}
                       for c in nb.source_cells}
            notebooks.append({"name": nb.name, "kernelspec": nb.kernelspec,
                              "cells": cells, "sources": sources})
        submitted = {}
        for snb in submission.notebooks:
            submitted[snb.name] = {
                "late_submission_penalty": snb.late_submission_penalty,
                "flagged": snb.flagged,
                "grades": {(type(g.cell), g.cell.name):
                           {f: getattr(g, f) for f in _GRADE_FIELDS}
                           for g in snb.grades},
                "comments": {(type(c.cell), c.cell.name):
                             {f: getattr(c, f) for f in _COMMENT_FIELDS}
                             for c in snb.comments}}
        person = submission.student
        return {"chapter": chapter, "student": student,
                "course_id": assignment.course_id, "duedate": assignment.duedate,
                "notebooks": notebooks, "timestamp": submission.timestamp,
                "person": {f: getattr(person, f) for f in _STUDENT_FIELDS},
                "submitted": submitted}


# -- writing the central gradebook ---------------------------------------------
def _write(gb: Gradebook, snap: dict, flagged: set[str]) -> None:
    """Structure, student and the replaced submission, in one transaction."""
    session = gb.db
    if _is_sqlite(gb.engine.url):
        session.execute(text("BEGIN IMMEDIATE"))  # the write lock, for the whole merge
    try:
        assignment = _structure(gb, snap)
        person = session.get(Student, snap["student"])
        if person is None:
            person = Student(id=snap["student"], **snap["person"])
            session.add(person)
        old = _find_submission(gb, snap["chapter"], snap["student"])
        extension = old.extension if old is not None else None
        if old is not None:
            _delete_submission(gb, old, commit=False)
        submission = SubmittedAssignment(assignment=assignment, student=person,
                                         timestamp=snap["timestamp"],
                                         extension=extension)
        session.add(submission)
        unmatched = set(flagged)
        for nb in assignment.notebooks:
            data = snap["submitted"].get(nb.name, {})
            snb = SubmittedNotebook(
                notebook=nb, assignment=submission, flagged=bool(data.get("flagged")),
                late_submission_penalty=data.get("late_submission_penalty"))
            session.add(snb)
            for cell in _cells(nb):
                key = (type(cell), cell.name)
                if isinstance(cell, (GradeCell, TaskCell)):
                    grade = Grade(cell=cell, notebook=snb,
                                  **data.get("grades", {}).get(key, {}))
                    session.add(grade)
                    if isinstance(cell, GradeCell) and cell.name in flagged:
                        grade.auto_score, grade.needs_manual_grade = 0.0, True
                        snb.flagged = True
                        unmatched.discard(cell.name)
                if isinstance(cell, (SolutionCell, TaskCell)):
                    session.add(Comment(cell=cell, notebook=snb,
                                        **data.get("comments", {}).get(key, {})))
        if unmatched:  # not a grade cell: still make sure a human looks
            for snb in submission.notebooks:
                snb.flagged = True
        session.commit()
    except BaseException:
        session.rollback()
        raise


def _structure(gb: Gradebook, snap: dict) -> Assignment:
    """The central assignment, with the run's notebooks and cells added/updated."""
    session = gb.db
    try:
        assignment = gb.find_assignment(snap["chapter"])
    except MissingEntry:
        assignment = Assignment(name=snap["chapter"], duedate=snap["duedate"],
                                course_id=snap["course_id"])
        session.add(assignment)
    existing = {nb.name: nb for nb in assignment.notebooks}
    for data in snap["notebooks"]:
        nb = existing.get(data["name"])
        if nb is None:
            nb = Notebook(name=data["name"], assignment=assignment,
                          kernelspec=data["kernelspec"])
            session.add(nb)
        cells = {(type(c), c.name): c for c in _cells(nb)}
        for kind, name, fields in data["cells"]:
            cell = cells.get((kind, name))
            if cell is None:
                session.add(kind(name=name, notebook=nb, **fields))
            else:
                for field, value in fields.items():
                    setattr(cell, field, value)
        sources = {c.name: c for c in nb.source_cells}
        for name, fields in data["sources"].items():
            if name in sources:
                for field, value in fields.items():
                    setattr(sources[name], field, value)
            else:
                session.add(SourceCell(name=name, notebook=nb, **fields))
    session.flush()
    return assignment


def _cells(nb: Notebook) -> list:
    """The notebook's grade, solution and task cells."""
    return [*nb.grade_cells, *nb.solution_cells, *nb.task_cells]


def _find_submission(gb: Gradebook, chapter: str,
                     student: str) -> SubmittedAssignment | None:
    try:
        return gb.find_submission(chapter, student)
    except MissingEntry:
        return None


def _delete_submission(gb: Gradebook, submission: SubmittedAssignment,
                       commit: bool = True) -> None:
    session = gb.db
    for snb in submission.notebooks:
        for item in [*snb.grades, *snb.comments, snb]:
            session.delete(item)
    session.delete(submission)
    session.flush()  # gone before a new one takes its (assignment, student) place
    if commit:
        session.commit()


# -- databases, locks, folders ------------------------------------------------
def _is_sqlite(url) -> bool:
    return make_url(str(url)).get_backend_name() == "sqlite"


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "",
                                                                     ":memory:"):
        return None
    return Path(parsed.database)


def _exists(url: str) -> bool:
    path = _sqlite_path(url)
    return path is None or path.is_file()


def _with_timeout(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and "timeout" not in parsed.query:
        parsed = parsed.update_query_dict({"timeout": str(BUSY_TIMEOUT_S)})
    return parsed.render_as_string(hide_password=False)


@contextmanager
def _reading(url: str) -> Iterator[Gradebook]:
    """An existing gradebook, opened without registering any course in it."""
    gb = Gradebook(_with_timeout(url), course_id="")
    try:
        yield gb
    finally:
        gb.close()


@contextmanager
def _central(url: str, course_id: str) -> Iterator[Gradebook]:
    """The central gradebook (created if missing), with ``course_id`` in it."""
    path = _sqlite_path(url)
    if path is not None and not path.is_file():
        _create(path)
    gb = Gradebook(_with_timeout(url), course_id=course_id)
    try:
        yield gb
    finally:
        gb.close()


def _create(path: Path) -> None:
    """A new, empty gradebook at ``path``, made as ``Gradebook`` makes one (tables
    and alembic stamp) but in-process: nbgrader would run ``alembic`` by name,
    absent from PATH when the venv is not activated. Built aside, then linked
    into place, so that nobody ever sees half a gradebook."""
    config = AlembicConfig()
    config.set_main_option("script_location", dbutil.ALEMBIC_DIR)
    head = ScriptDirectory.from_config(config).get_current_head()
    path.parent.mkdir(parents=True, exist_ok=True)
    new = path.with_name(f".{path.name}.new-{uuid.uuid4().hex[:8]}")
    engine = create_engine(f"sqlite:///{new}")
    try:
        with engine.begin() as connection:
            Base.metadata.create_all(connection)
            connection.execute(text("CREATE TABLE alembic_version "
                                    "(version_num VARCHAR(32) NOT NULL)"))
            connection.execute(text("INSERT INTO alembic_version VALUES (:head)"),
                               {"head": head})
        engine.dispose()
        with suppress(FileExistsError):  # made meanwhile by nbgrader itself
            os.link(new, path)
    finally:
        engine.dispose()
        new.unlink(missing_ok=True)


def _central_course(url: str, course: Path | None) -> Path:
    if course is not None:
        return Path(course)
    path = _sqlite_path(url)
    if path is None:
        raise ValueError(f"say which course the gradebook {url} belongs to")
    return path.resolve().parent.parent  # <course>/graders/gradebook.db


@contextmanager
def _locked(url: str, course: Path) -> Iterator[None]:
    """Exclusive: other threads here, and other processes (``flock``)."""
    path = _sqlite_path(url)
    lock = (Path(str(path) + ".lock") if path is not None
            else course / (GRADEBOOK + ".lock"))
    lock.parent.mkdir(parents=True, exist_ok=True)
    with _IN_PROCESS, open(lock, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _stage(source: Path, dest: Path) -> Path | None:
    """A copy of ``source`` next to ``dest``, ready to replace it (None: none)."""
    if not source.is_dir():
        return None
    stage = dest.with_name(f".{dest.name}.merging-{uuid.uuid4().hex[:8]}")
    stage.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, stage)
    return stage


def _replace(stage: Path | None, dest: Path) -> None:
    """Put ``stage`` in ``dest``'s place (``dest`` only goes when ``stage`` is None)."""
    if dest.exists():
        old = dest.with_name(f".{dest.name}.old-{uuid.uuid4().hex[:8]}")
        dest.rename(old)
        shutil.rmtree(old)
    if stage is not None:
        stage.rename(dest)
