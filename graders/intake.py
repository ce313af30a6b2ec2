"""Find submissions in any reasonable layout and normalise them for grading.

Used by ``graders/grade.py``. Layouts accepted (in a folder or a .zip):

- nbgrader's ``[submitted/]<student>/<chapter>/<notebook>.ipynb``;
- ``<student>/<notebook>.ipynb``;
- flat files named after the student: ``alice_ch03_probability.ipynb``, or
  ``alice.ipynb`` when a single chapter is given on the command line.

Originals are only read. Every fix made on the way is recorded as a problem
(a short text) so that the instructor sees it next to the grade.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat

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


def locate(root: Path, chapters: list[str], given: list[str]) -> list[Submission]:
    """Every ``.ipynb`` under ``root`` with its student and claimed chapter."""
    found = []
    for path in sorted(root.rglob("*.ipynb")):
        rel = path.relative_to(root)
        if SKIP_DIRS & set(rel.parts) or path.name.startswith("._"):
            continue
        sub = Submission(source=path, label=rel.as_posix())
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


def _plain_name(stem: str, sub: Submission) -> bool:
    """Whether ``stem`` is the chapter's own name, maybe after the student's."""
    return stem in (sub.chapter, f"{sub.student}_{sub.chapter}",
                    f"{sub.student}-{sub.chapter}")


def normalise(sub: Submission, chapters: list[str]) -> None:
    """Read ``sub.source`` into ``sub.notebook``, fixing and noting what it can."""
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
