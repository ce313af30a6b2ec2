"""Find submissions in any reasonable layout and normalise them for grading.

Used by ``graders/grade.py``. Layouts accepted (in a folder or a .zip):

- nbgrader's ``[submitted/]<student>/<chapter>/<notebook>.ipynb``;
- ``<student>/<notebook>.ipynb``;
- flat files named after the student: ``alice_ch03_probability.ipynb``, or
  ``alice.ipynb`` when a single chapter is given on the command line;
- a learning platform's bulk download (``--lms canvas|moodle|blackboard`` or
  ``--name-pattern``, read by ``graders/lms.py``): the student is the
  platform's id, or the login of the roster's student with that id.

Originals are only read. Every fix made on the way is recorded as a problem
(a short text) so that the instructor sees it next to the grade.

Every readable notebook of a known chapter is then rebuilt on the chapter's
student release by ``align``: what is graded is the release with the
student's code put in, so that deleting, editing, retyping or re-labelling
cells, or pre-filling outputs, can never change what is tested.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat

from graders.build import ROOT
from graders.lms import Collector, Roster

_CHAPTER = re.compile(r"(ch\d\d)(?:_[A-Za-z0-9]+)*", re.IGNORECASE)
_GRADE_ID = re.compile(r"^(ch\d\d)-")
_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
SKIP_DIRS = {".ipynb_checkpoints", "__MACOSX", ".git"}


@dataclass
class Submission:
    """One notebook file found in the input, and what is known about it."""

    source: Path                   # the original file (never written)
    label: str                     # its path inside the input, for messages
    student: str | None = None
    chapter: str | None = None     # the chapter it is graded as
    problems: list[str] = field(default_factory=list)
    notebook: nbformat.NotebookNode | None = None  # normalised, if readable
    fatal: str | None = None       # reason for 0 points without grading
    # From a platform's file name and roster: name, platform_id, late,
    # submitted (ISO time), and the attempt order ("order", not written out).
    platform: dict = field(default_factory=dict)


def chapter_of(name: str, chapters: list[str]) -> str | None:
    """The known chapter named in ``name`` (``ch03`` or ``ch03_probability``)."""
    for match in _CHAPTER.finditer(name):
        prefix = match.group(1).lower()
        for chapter in chapters:
            if chapter.split("_")[0] == prefix:
                return chapter
    return None


def safe_student(name: str) -> str:
    """A student id nbgrader can use as a folder name."""
    return _UNSAFE.sub("_", name.strip()).strip("_.-")


def unpack(path: Path, dest: Path) -> Path:
    """A folder to read submissions from: ``path`` itself, or a .zip extracted."""
    if path.is_dir():
        return path
    if not zipfile.is_zipfile(path):
        raise SystemExit(f"error: {path} is neither a folder nor a .zip file")
    dest.mkdir(parents=True)
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            parts = PurePosixPath(info.filename).parts
            if info.is_dir() or info.filename.startswith("/") or ".." in parts:
                continue
            target = dest.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
    return dest


def locate(root: Path, chapters: list[str], given: list[str],
           collector: Collector | None = None,
           roster: Roster | None = None) -> list[Submission]:
    """Every ``.ipynb`` under ``root`` with its student and claimed chapter."""
    found = []
    people = roster.by_platform_id() if roster is not None else None
    for path in sorted(root.rglob("*.ipynb")):
        rel = path.relative_to(root)
        if SKIP_DIRS & set(rel.parts) or path.name.startswith("._"):
            continue
        sub = Submission(source=path, label=rel.as_posix())
        if collector is not None:
            _from_platform(sub, collector, people, chapters, given)
            found.append(sub)
            continue
        from_name = chapter_of(path.stem, chapters)
        dirs = list(rel.parts[:-1])
        folder_chapter = chapter_of(dirs[-1], chapters) if dirs else None
        if folder_chapter and len(dirs) >= 2:       # <student>/<chapter>/<nb>
            sub.student = dirs[-2]
        elif dirs and not folder_chapter:           # <student>/<nb>
            sub.student = dirs[-1]
        else:                                       # flat: alice_ch03_x.ipynb
            match = _CHAPTER.search(path.stem)
            head = path.stem[: match.start()] if match else path.stem
            sub.student = head.strip(" _-.") or None
        sub.chapter = from_name or folder_chapter
        if sub.chapter is None and len(given) == 1:
            sub.chapter = given[0]
        if sub.chapter and from_name and not _plain_name(path.stem, sub):
            sub.problems.append(f"renamed file {path.name!r} accepted")
        if sub.student:
            sub.student = safe_student(sub.student) or None
        found.append(sub)
    return found


def _from_platform(sub: Submission, collector: Collector, people: dict | None,
                   chapters: list[str], given: list[str]) -> None:
    """Student, chapter, time and late flag from a platform's file name."""
    upload = collector.read(sub.label)
    if upload is None:
        what = (f"the {collector.preset} file names" if collector.preset
                else "--name-pattern")
        sub.problems.append(f"file name does not match {what}")
        return
    stem = Path(upload.file_id).stem
    sub.chapter = chapter_of(stem, chapters) or (given[0] if len(given) == 1 else None)
    person = people.get(upload.student_id) if people is not None else None
    if person is not None:
        sub.student = safe_student(person.login) or None
        late = upload.late or bool(person.late)
        submitted = upload.submitted or person.submitted
        name = person.name
    else:
        sub.student = safe_student(upload.student_id) or None
        late, submitted, name = upload.late, upload.submitted, upload.name
        if people is not None:
            sub.problems.append(f"not on the roster (platform id "
                                f"{upload.student_id})")
    sub.platform = {"name": name or "", "platform_id": upload.student_id,
                    "late": "yes" if late else "no",
                    "submitted": submitted.isoformat(sep=" ") if submitted else "",
                    "prefix": upload.prefix, "file_id": upload.file_id,
                    "order": (submitted.isoformat() if submitted else "",
                              upload.attempt)}
    plain = re.sub(r"-\d+$", "", stem)
    if sub.chapter and plain not in (sub.chapter, sub.chapter.split("_")[0]):
        sub.problems.append(f"renamed file {upload.file_id!r} accepted")


def _plain_name(stem: str, sub: Submission) -> bool:
    """Whether ``stem`` is the chapter's own name, maybe after the student's."""
    return stem in (sub.chapter, f"{sub.student}_{sub.chapter}",
                    f"{sub.student}-{sub.chapter}")


def normalise(sub: Submission, chapters: list[str]) -> None:
    """Read ``sub.source`` into ``sub.notebook``, fixing and noting what it can.

    A readable notebook of a known chapter, not fatally wrong, is then
    rebuilt on the chapter's release by ``align``; its notes join the problems.
    """
    data = sub.source.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        sub.problems.append("byte-order mark removed")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        sub.problems.append("non-UTF-8 bytes replaced")
    try:
        raw = json.loads(text)
        if not isinstance(raw, dict) or not ("cells" in raw or "worksheets" in raw):
            raise ValueError("no cells")
        version = int(raw.get("nbformat", 0))
        if version < 4:
            sub.problems.append(f"upgraded from nbformat {version}")
        else:
            _fix_cell_ids(raw, sub.problems)
        nb = nbformat.reads(json.dumps(raw), as_version=4)
    except Exception:  # noqa: BLE001 - any unreadable file gets the same reason
        sub.fatal = "not a valid notebook"
        return
    if version < 4:
        _fix_cell_ids(nb, [])
    sub.notebook = nb
    inside = content_chapter(nb, chapters)
    if sub.chapter is None:
        sub.chapter = inside
    elif inside is not None and inside != sub.chapter:
        sub.fatal = "wrong chapter"
        sub.problems.append(f"the notebook is {inside}, submitted as {sub.chapter}")
    if sub.chapter is not None and sub.fatal is None:
        sub.notebook, notes = align(nb, release_notebook(sub.chapter))
        sub.problems.extend(notes)


def _fix_cell_ids(nb: dict, problems: list[str]) -> None:
    """Give every cell a unique id (nbformat 4.5); note how many were fixed."""
    cells = nb.get("cells", [])
    seen, fixed = {c.get("id") for c in cells}, 0
    kept = set()
    for number, cell in enumerate(cells):
        cid = cell.get("id")
        if not isinstance(cid, str) or not _ID.match(cid) or cid in kept:
            cid = f"fixed-{number}"  # deterministic: the same file, the same ids
            while cid in seen or cid in kept:
                cid += "-x"
            cell["id"] = cid
            fixed += 1
        kept.add(cid)
    nb["nbformat_minor"] = max(5, int(nb.get("nbformat_minor", 0)))
    if fixed:
        problems.append(f"{fixed} missing or duplicate cell id(s) fixed")


def content_chapter(nb, chapters: list[str]) -> str | None:
    """The chapter most of the notebook's nbgrader grade_ids belong to."""
    prefixes = Counter()
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        match = _GRADE_ID.match(str(grade_id))
        if match:
            prefixes[match.group(1)] += 1
    for prefix, _ in prefixes.most_common(1):
        return chapter_of(prefix, chapters)
    return None


# Rebuilding a submission on the student release ----------------------------

ANSWER, TEST, LOCKED, DEMO, TEXT = "answer", "test", "locked", "demo", "text"
_FLAGS = ("editable", "deletable")  # Jupyter's own guards, next to nbgrader's
_MISSING = object()


@functools.cache
def release_notebook(chapter: str) -> nbformat.NotebookNode:
    """The committed student release of ``chapter``, read once (never modify it)."""
    path = ROOT / "notebooks" / chapter / f"{chapter}.ipynb"
    return nbformat.read(path, as_version=4)


def align(nb, release) -> tuple[nbformat.NotebookNode, list[str]]:
    """``nb`` rebuilt on ``release``, and one short note per kind of change undone.

    Neither argument is modified. The result has the release's notebook
    metadata and its cells in the release's order, every output and
    execution count cleared:

    - test cells (nbgrader ``grade``), locked cells and markdown/raw cells are
      the release's, verbatim, whatever the student did to them;
    - answer cells (nbgrader ``solution``) have the student's source and the
      release's id, type and metadata; a missing one is the release stub;
    - other code cells (demos) have the student's source when found with
      their type unchanged, else the release's;
    - cells the student added: code cells are kept as plain code (no
      metadata, ids ``added-N``) right after the release cell that preceded
      them in the student's notebook, after any cell restored there, or at
      the top; empty ones and markdown/raw ones are dropped, silently (text
      is never graded; Jupyter adds an empty cell at the end of a run).

    A student cell stands for the release cell with its grade_id and id,
    else its grade_id, else its id, else (cells still unmatched, in order)
    exactly its source; a code cell with new code never stands for a
    markdown cell. Changes to unlocked markdown cells are not noted (they
    cannot change a grade), nor are edits of demos, nor a normal run's outputs:
    test cells print nothing and fail by raising, so only other outputs on
    them ("outputs of test cells ignored") are noted. The result depends
    on the two notebooks only: the same submission always gives the same
    bytes.
    """
    cells = [c for c in nb.get("cells", []) if isinstance(c, dict)]
    found = _match(cells, release.cells)
    owner = {k: i for i, k in found.items()}
    named = defaultdict(list)     # (role, kind) -> grade_ids, kind as in _notes
    keys = defaultdict(set)       # role -> metadata keys changed
    counted = Counter()           # kind -> number of demo or locked cells
    outputs = False
    built = []
    for k, rel in enumerate(release.cells):
        role, name = _role(rel), _grade_id(rel) or rel.get("id")
        cell = copy.deepcopy(rel)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        built.append(cell)
        mine = cells[owner[k]] if k in owner else None
        graded = role in (TEST, ANSWER)
        if role == TEXT:
            continue
        if mine is None:
            if graded:
                named[role, "deleted"].append(name)
            else:
                counted["deleted"] += 1
            continue
        kind = str(mine.get("cell_type"))[:20]
        if kind != rel.cell_type:
            if graded:
                named[role, f"turned into {kind}"].append(name)
            else:
                counted["retyped"] += 1
        if role == ANSWER or (role == DEMO and kind == rel.cell_type):
            cell.source = _source(mine)
        elif kind == rel.cell_type and _source(mine) != rel.source:
            if role == TEST:
                named[role, "edited"].append(name)
            else:
                counted["edited"] += 1
        changed = _meta_changes(mine, rel)
        if changed and graded:
            named[role, "metadata"].append(name)
            keys[role].update(changed)
        elif changed:
            counted["metadata"] += 1
        if role == TEST and any(map(_claimed, mine.get("outputs") or [])):
            outputs = True

    added, claims, extra = defaultdict(list), [], 0
    anchor, used = -1, {c.get("id") for c in release.cells}
    for i, mine in enumerate(cells):
        if i in found:
            anchor = found[i]
            continue
        if mine.get("cell_type") != "code" or not _source(mine).strip():
            continue
        extra += 1
        cid = f"added-{extra}"
        while cid in used:
            cid += "-x"
        used.add(cid)
        added[anchor].append(nbformat.from_dict({
            "cell_type": "code", "id": cid, "metadata": {},
            "source": _source(mine), "outputs": [], "execution_count": None}))
        if "nbgrader" in _meta(mine):
            claims.append(_grade_id(mine) or "(none)")

    out, pending = [], list(added[-1])
    for k, cell in enumerate(built):
        if k in owner:  # added cells go just before the next cell the student had
            out += pending
            pending = list(added[k])
        out.append(cell)
    out += pending

    code = [found[i] for i in sorted(found)
            if release.cells[found[i]].cell_type == "code"]
    totals = Counter(map(_role, release.cells))
    notes = _notes(named, keys, counted, totals)
    if code != sorted(code):
        notes.append("cells reordered: release order restored")
    if extra:
        notes.append(f"{_n(extra, 'added code cell')} kept")
    if claims:
        what = "cell claiming grade_id" if len(claims) == 1 else \
            "cells claiming grade_ids"
        notes.append(f"added {what} {', '.join(claims)} kept as plain code")
    if outputs:
        notes.append("outputs of test cells ignored")
    result = nbformat.from_dict({
        "nbformat": release.nbformat, "nbformat_minor": release.nbformat_minor,
        "metadata": copy.deepcopy(release.metadata), "cells": out})
    return result, notes


def _notes(named: dict, keys: dict, counted: Counter, totals: Counter) -> list[str]:
    """The notes for changes undone on graded cells (by grade_id) and others."""
    notes = []
    for role in (TEST, ANSWER):
        kinds = sorted(kind for r, kind in named if r == role)
        kinds.sort(key=lambda k: ["deleted", "turned", "edited", "metadata"].index(
            k.split()[0]))
        for kind in kinds:
            ids = named[role, kind]
            cells = f"{role} cell{'s' if len(ids) > 1 else ''} {', '.join(ids)}"
            if len(ids) > 1 and len(ids) == totals[role]:
                cells = f"all {len(ids)} {role} cells"
            was = "were" if len(ids) > 1 else "was"
            if kind == "deleted":
                fix = "release stub restored" if role == ANSWER else "restored"
                notes.append(f"{cells} {was} deleted: {fix}")
            elif kind == "edited":
                notes.append(f"{cells} {was} edited: restored")
            elif kind == "metadata":
                changed = ", ".join(sorted(keys[role]))
                notes.append(f"metadata of {cells} changed ({changed}): restored")
            else:
                fix = "restored as code" if role == ANSWER else "restored"
                notes.append(f"{cells} had been {kind}: {fix}")
    if counted["deleted"]:
        notes.append(f"{_n(counted['deleted'], 'deleted cell')} restored")
    if counted["edited"]:
        notes.append(f"{_n(counted['edited'], 'edited locked cell')} restored")
    if counted["retyped"]:
        notes.append(f"cell type of {_n(counted['retyped'], 'cell')} restored")
    if counted["metadata"]:
        notes.append(f"metadata of {_n(counted['metadata'], 'cell')} restored")
    return notes


def _match(cells: list, release: list) -> dict[int, int]:
    """{student cell index: release cell index} for the cells that correspond."""
    by_gid = {g: k for k, c in enumerate(release) if (g := _grade_id(c))}
    by_id = {c.get("id"): k for k, c in enumerate(release)}
    found, taken = {}, set()

    def pair(i: int, k: int | None) -> None:
        if k is None or k in taken or i in found:
            return
        mine, rel = cells[i], release[k]
        if rel.cell_type != "code" and mine.get("cell_type") == "code" \
                and _source(mine) != rel.source:
            return  # new code typed into a text cell is the student's own code
        found[i] = k
        taken.add(k)

    for i, mine in enumerate(cells):  # the genuine cell: its grade_id and its id
        k = by_gid.get(_grade_id(mine))
        if k is not None and release[k].get("id") == _cell_id(mine):
            pair(i, k)
    for i, mine in enumerate(cells):
        pair(i, by_gid.get(_grade_id(mine)))
    for i, mine in enumerate(cells):
        pair(i, by_id.get(_cell_id(mine)))
    waiting = defaultdict(list)  # source -> unmatched student cells, in order
    for i, mine in enumerate(cells):
        if i not in found:
            waiting[_source(mine)].append(i)
    for k, rel in enumerate(release):
        for i in waiting.get(rel.source, []):
            if k not in taken:
                pair(i, k)
    return found


def _role(cell) -> str:
    meta = _nbgrader(cell)
    if meta.get("solution"):
        return ANSWER
    if meta.get("grade"):
        return TEST
    if meta.get("locked"):
        return LOCKED
    return DEMO if cell.get("cell_type") == "code" else TEXT


def _meta(cell) -> dict:
    meta = cell.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _nbgrader(cell) -> dict:
    meta = _meta(cell).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def _grade_id(cell) -> str | None:
    grade_id = _nbgrader(cell).get("grade_id")
    return grade_id if isinstance(grade_id, str) and grade_id else None


def _cell_id(cell) -> str | None:
    cid = cell.get("id")
    return cid if isinstance(cid, str) else None


def _source(cell) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        return "".join(str(line) for line in source)
    return source if isinstance(source, str) else ""


def _meta_changes(mine, rel) -> list[str]:
    """The grading metadata keys (nbgrader's, Jupyter's guards) that differ."""
    a, b = _meta(mine), _meta(rel)
    changed = []
    ours, theirs = a.get("nbgrader", _MISSING), b.get("nbgrader", _MISSING)
    if ours != theirs:
        if isinstance(ours, dict) and isinstance(theirs, dict):
            changed += sorted(str(k) for k in ours.keys() | theirs.keys()
                              if ours.get(k, _MISSING) != theirs.get(k, _MISSING))
        else:
            changed.append("nbgrader")
    return changed + [f for f in _FLAGS if a.get(f, True) != b.get(f, True)]


def _claimed(output) -> bool:
    """Whether a test cell's output claims anything: a run only raises or warns."""
    if not isinstance(output, dict):
        return True
    kind = output.get("output_type")
    warned = kind == "stream" and output.get("name") == "stderr"
    return not (kind == "error" or warned)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
