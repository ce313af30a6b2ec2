"""``python -m graders.grade``: real nbgrader, real kernels, messy submissions.

A small corpus for ch00 (the fastest chapter) is made in tmp_path from the
committed notebooks, in the three layouts (nbgrader's, per-student folders,
flat files in a .zip), with every kind of damage the command must survive.
"""

import copy
import csv
import json
import subprocess
import sys
import zipfile

import nbformat
import pytest
from nbtools import (
    ROOT,
    read,
    release_path,
    sandbox_flags,
    solution_path,
    tree_hash,
)
from test_autograde import make_submission

from graders.intake import locate, normalise
from graders.runenv import tool_env

CH = "ch00_introduction"
OTHER = "ch01_linear_algebra"


def _bytes(nb) -> bytes:
    return nbformat.writes(nb).encode("utf-8")


def _corpus(base):
    """The submissions folder and .zip, and {student: (score kind, status)}."""
    release, solution = read(release_path(CH)), read(solution_path(CH))
    solved = make_submission("solved", release, solution)
    dup = json.loads(_bytes(solved))
    dup["cells"][1]["id"] = dup["cells"][0]["id"]
    del dup["cells"][2]["id"]
    v3 = nbformat.writes(nbformat.convert(copy.deepcopy(solved), 3))
    folder = base / "submissions"
    files = {  # path inside the folder -> bytes
        f"submitted/solved/{CH}/{CH}.ipynb": _bytes(solved),
        f"submitted/blank/{CH}/{CH}.ipynb": _bytes(release),
        f"truncated/{CH}.ipynb": _bytes(solved)[:500],
        f"bom/{CH}.ipynb": b"\xef\xbb\xbf" + _bytes(solved),
        f"renamed/{CH} (1).ipynb": _bytes(solved),
        f"wrong/{CH}.ipynb": _bytes(read(release_path(OTHER))),
    }
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    archive = base / "flat.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"v3_{CH}.ipynb", v3)
        zf.writestr(f"dupids_{CH}.ipynb", json.dumps(dup))
    expected = {
        "solved": ("full", "graded", ""),
        "blank": ("zero", "graded", ""),
        "truncated": ("zero", "not a valid notebook", ""),
        "bom": ("full", "graded", "byte-order mark removed"),
        "renamed": ("full", "graded", "renamed file"),
        "wrong": ("zero", "wrong chapter", OTHER.split("_")[0]),
        "v3": ("full", "graded", "upgraded from nbformat 3"),
        "dupids": ("full", "graded", "cell id"),
    }
    return folder, archive, expected


def _grade(source, out, *extra):
    # --course: the central gradebook of a temporary course, never the repository's
    cmd = [sys.executable, "-m", "graders.grade", str(source), "--out", str(out),
           "--course", str(out.parent / "course"), "--workers", "2", *extra,
           *sandbox_flags()]
    done = subprocess.run(cmd, cwd=ROOT, env=tool_env(out.parent / "home"),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done


def _rows(out):
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the folder and the .zip twice; (corpus, outputs, csv rows per run)."""
    base = tmp_path_factory.mktemp("grade_cli")
    folder, archive, expected = _corpus(base)
    before = tree_hash(folder, archive)
    out = base / "work"
    runs = []
    for again in (False, True):
        folder_run = _grade(folder, out)  # the second time: unchanged, kept
        # the second time: really regraded by nbgrader
        zip_run = _grade(archive, out, "--chapter", CH, *["--force"] * again)
        runs.append(_rows(out))
    return {"expected": expected, "runs": runs, "out": out, "folder": folder,
            "hashes": (before, tree_hash(folder, archive)),
            "stdout": folder_run.stdout + zip_run.stdout,
            "log": folder_run.stderr + zip_run.stderr}


def test_every_submission_has_the_expected_score_and_reason(graded):
    rows = graded["runs"][0]
    assert set(rows) == set(graded["expected"]), rows.keys()
    full = float(rows["solved"]["max_score"])
    assert full > 0
    for student, (kind, status, note) in graded["expected"].items():
        row = rows[student]
        assert row["chapter"] == CH, row
        assert row["status"] == status, row
        assert float(row["score"]) == (full if kind == "full" else 0.0), row
        assert note in row["problems"], row
        assert float(row["max_score"]) == full, row


def test_csv_has_one_row_per_student_and_chapter(graded):
    with open(graded["out"] / "grades.csv", newline="", encoding="utf-8") as fh:
        pairs = [(r["student"], r["chapter"]) for r in csv.DictReader(fh)]
    assert len(pairs) == len(set(pairs)) == len(graded["expected"])


def test_originals_are_unchanged(graded):
    before, after = graded["hashes"]
    assert before == after


def test_a_second_run_gives_identical_grades(graded):
    first, second = graded["runs"]
    assert first == second


def test_unchanged_submissions_keep_their_grade_and_forced_are_regraded(graded):
    assert graded["log"].count("unchanged, grade kept") == 4, graded["log"]
    dupids = [line for line in graded["log"].splitlines() if "] dupids " in line]
    assert len(dupids) == 1 and "kept" not in dupids[0], dupids


def test_summary_and_feedback(graded):
    assert "not a valid notebook" in graded["stdout"]
    page = graded["out"] / "feedback" / "solved" / CH / f"{CH}.html"
    assert page.exists()
    assert "hidden tests are not shown" in page.read_text(encoding="utf-8")


def test_regrading_one_student_leaves_the_others_alone(graded, tmp_path):
    out = graded["out"]
    before = _rows(out)
    results = {p.name: p.read_bytes() for p in (out / "results" / CH).iterdir()}
    resubmitted = tmp_path / "again" / "blank" / f"{CH}.ipynb"
    resubmitted.parent.mkdir(parents=True)
    resubmitted.write_bytes(
        (graded["folder"] / "submitted" / "solved" / CH / f"{CH}.ipynb").read_bytes())
    _grade(tmp_path / "again", out)
    after = _rows(out)
    assert after.pop("blank")["score"] == before.pop("blank")["max_score"]
    assert after == before
    for path in (out / "results" / CH).iterdir():
        if path.stem != "blank":
            assert path.read_bytes() == results[path.name], path.name


def test_layouts_name_the_student_and_chapter(tmp_path):
    """Fast, no kernels: which student and chapter each layout gives."""
    chapters = [CH, OTHER]
    for rel in ["submitted/ann/ch00_introduction/ch00_introduction.ipynb",
                "bob/ch00_introduction.ipynb", "cid_ch01_linear_algebra.ipynb",
                "dee.ipynb", "eve/ch00_introduction (2).ipynb"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}")
    found = {s.student: s for s in locate(tmp_path, chapters, [CH])}
    assert {k: s.chapter for k, s in found.items()} == {
        "ann": CH, "bob": CH, "cid": OTHER, "dee": CH, "eve": CH}
    assert found["eve"].problems == [f"renamed file '{CH} (2).ipynb' accepted"]
    assert [s.chapter for s in locate(tmp_path, chapters, [])
            if s.student == "dee"] == [None]


def test_normalise_repairs_what_it_can(tmp_path):
    """Fast, no kernels: bytes that are not UTF-8, missing ids, wrong chapter."""
    release = read(release_path(CH))
    raw = json.loads(_bytes(release))
    del raw["cells"][0]["id"]
    text = json.dumps(raw, ensure_ascii=False).replace("ReLU", "ReL\u00fc", 1)
    path = tmp_path / "ann" / f"{CH}.ipynb"
    path.parent.mkdir()
    path.write_bytes(text.encode("latin-1", errors="replace"))
    sub, = locate(tmp_path, [CH, OTHER], [])
    normalise(sub, [CH, OTHER])
    assert sub.fatal is None and sub.notebook is not None
    assert sub.problems == ["non-UTF-8 bytes replaced",
                            "1 missing or duplicate cell id(s) fixed"]
    assert len({c.id for c in sub.notebook.cells}) == len(sub.notebook.cells)
    path.write_bytes(_bytes(read(release_path(OTHER))))
    sub, = locate(tmp_path, [CH, OTHER], [])
    normalise(sub, [CH, OTHER])
    assert sub.fatal == "wrong chapter"
