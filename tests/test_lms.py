"""Learning platforms: their download archives in, their gradebook files out.

Realistic Canvas, Moodle and Blackboard archives and rosters are built here
(attempts, late markers, "-1" copies, names with accents and spaces, a
student missing from the roster, one who never submitted). The fast tests
read names, rosters and stored results; one module fixture grades a Canvas
and a Moodle archive of the same class with real nbgrader (ch00) and checks
that both give the same grades under the same students, and that the export
files match grades.csv column by column.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import subprocess
import sys
import zipfile
from datetime import datetime

import nbformat
import pytest
from nbtools import ROOT, grade_cells, read, release_path, sandbox_flags, solution_path
from test_autograde import make_submission

from graders import export, grade, intake, lms
from graders.build import chapter_sources
from graders.runenv import tool_env

CH = "ch00_introduction"
KNOWN = [source.stem for source in chapter_sources(ROOT)]

# The class: (canvas sortable name, canvas id, moodle participant id, full name,
# login). Li Wei never submits; the stranger is on neither roster.
CLASS = [
    ("Smith, John", "23456", "100201", "John Smith", "jsmith@uni.example"),
    ("Müller, Zoë", "34567", "100202", "Zoë Müller", "zmuller@uni.example"),
    ("Doe, Jane Ann", "12345", "100203", "Jane Ann Doe", "jdoe@uni.example"),
    ("Li, Wei", "45678", "100204", "Wei Li", "wli@uni.example"),
]
STUDENT = {login: intake.safe_student(login) for *_, login in CLASS}


def canvas_roster(path):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                         f"{CH} (9001)", "Current Score"])
        writer.writerow(["    Points Possible", "", "", "", "", "14", ""])
        for sortable, cid, _, _, login in CLASS:
            writer.writerow([sortable, cid, "", login, "DL 2026", "", ""])
    return path


def moodle_roster(path):
    with open(path, "w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(export.MOODLE_WORKSHEET)
        statuses = {"100201": ("Submitted for grading - Assignment was submitted "
                               "1 hour 5 mins late", "Tuesday, 1 December 2026, "
                               "1:05 AM"),
                    "100202": ("Submitted for grading", "Monday, 30 November 2026, "
                               "9:00 PM"),
                    "100203": ("Submitted for grading", "Monday, 30 November 2026, "
                               "11:59 PM"),
                    "100204": ("No submission", "-")}
        for _, _, pid, full, login in CLASS:
            status, when = statuses[pid]
            writer.writerow([f"Participant {pid}", full, login, status, "", "14",
                             "Yes", when, "-", ""])
    return path


def notebooks():
    """solved, blank and partial (solved but the first exercise) ch00 notebooks."""
    release, solution = read(release_path(CH)), read(solution_path(CH))
    solved = make_submission("solved", release, solution)
    partial = copy.deepcopy(solved)
    first = next(iter(grade_cells(release)[0]))
    for mine, theirs in zip(partial.cells, release.cells, strict=True):
        if mine.metadata.get("nbgrader", {}).get("grade_id") == first:
            mine.source = theirs.source
    return {kind: nbformat.writes(nb).encode() for kind, nb in
            [("solved", solved), ("blank", release), ("partial", partial)]}


def canvas_archive(path, nbs):
    """John: an earlier blank upload, then a LATE '-1' copy that is partial;
    Zoë: solved; Jane: blank under her own file name; a stranger: solved."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"smithjohn_23456_7001_{CH}.ipynb", nbs["blank"])
        archive.writestr(f"smithjohn_LATE_23456_7002_{CH}-1.ipynb", nbs["partial"])
        archive.writestr(f"müllerzoë_34567_7003_{CH}.ipynb", nbs["solved"])
        archive.writestr("doejaneann_12345_7004_my work.ipynb", nbs["blank"])
        archive.writestr(f"strangerpat_99999_7005_{CH}.ipynb", nbs["solved"])
        archive.writestr("smithjohn_23456_7006_notes.txt", b"not a notebook")
    return path


def moodle_archive(path, nbs):
    """Moodle keeps the latest attempt; per-student folders and one flat file."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"John Smith_100201_assignsubmission_file_/{CH}-1.ipynb",
                         nbs["partial"])
        archive.writestr(f"Zoë Müller_100202_assignsubmission_file_{CH}.ipynb",
                         nbs["solved"])
        archive.writestr("Jane Ann Doe_100203_assignsubmission_file_/my work.ipynb",
                         nbs["blank"])
        archive.writestr(f"Pat Stranger_100299_assignsubmission_file_/{CH}.ipynb",
                         nbs["solved"])
        archive.writestr("John Smith_100201_assignsubmission_onlinetext_/"
                         "onlinetext.html", b"<p>see file</p>")
    return path


def _located(tmp_path, archive, preset, roster=None, due=None):
    folder = intake.unpack(archive, tmp_path / "unzipped")
    collector = lms.Collector(preset, due)
    subs = intake.locate(folder, KNOWN, [], collector,
                         lms.read_roster(roster) if roster else None)
    for sub in subs:
        intake.normalise(sub, KNOWN)
    return grade.plan(subs)


# ------------------------------------------------------------- fast: intake

def test_canvas_names_ids_attempts_copies_and_late_markers(tmp_path):
    nbs = notebooks()
    todo, rejected = _located(tmp_path, canvas_archive(tmp_path / "c.zip", nbs),
                              "canvas", canvas_roster(tmp_path / "roster.csv"))
    got = {s.student: s for s in todo}
    assert set(got) == {STUDENT["jsmith@uni.example"], STUDENT["zmuller@uni.example"],
                        STUDENT["jdoe@uni.example"], "99999"}
    john = got[STUDENT["jsmith@uni.example"]]
    assert john.label == f"smithjohn_LATE_23456_7002_{CH}-1.ipynb"  # latest wins
    assert john.platform["late"] == "yes" and john.platform["name"] == "Smith, John"
    assert any("earlier attempt ignored" in p and "7001" in p for p in john.problems)
    assert got[STUDENT["zmuller@uni.example"]].platform["late"] == "no"
    jane = got[STUDENT["jdoe@uni.example"]]
    assert jane.chapter == CH          # "my work.ipynb": read from the notebook
    stranger = got["99999"]
    assert stranger.problems == ["not on the roster (platform id 99999)"]
    assert stranger.platform["name"] == "strangerpat"
    assert not rejected


def test_moodle_folders_and_flat_names_with_accents_and_spaces(tmp_path):
    nbs = notebooks()
    todo, rejected = _located(tmp_path, moodle_archive(tmp_path / "m.zip", nbs),
                              "moodle", moodle_roster(tmp_path / "roster.csv"))
    got = {s.student: s for s in todo}
    assert set(got) == {STUDENT["jsmith@uni.example"], STUDENT["zmuller@uni.example"],
                        STUDENT["jdoe@uni.example"], "100299"}
    john = got[STUDENT["jsmith@uni.example"]]
    assert john.platform["late"] == "yes"                 # the worksheet's status
    assert john.platform["submitted"] == "2026-12-01 01:05:00"
    assert john.platform["prefix"] == "John Smith_100201_assignsubmission_file_/"
    zoe = got[STUDENT["zmuller@uni.example"]]
    assert zoe.platform["name"] == "Zoë Müller" and zoe.platform["late"] == "no"
    assert got["100299"].platform["name"] == "Pat Stranger"
    assert not rejected


def test_blackboard_attempt_times_decide_and_due_marks_late(tmp_path):
    nbs = notebooks()
    archive = tmp_path / "bb.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for stamp, kind in [("2026-11-30-10-00-00", "blank"),
                            ("2026-12-01-09-30-00", "partial"),
                            ("2026-11-30-22-00-00", "solved")]:
            zf.writestr(f"Chapter 0_jsmith_attempt_{stamp}_{CH}.ipynb", nbs[kind])
            zf.writestr(f"Chapter 0_jsmith_attempt_{stamp}.txt", "Name: John Smith")
        zf.writestr(f"Chapter 0_zoe.m_attempt_2026-11-29-08-00-00_{CH}.ipynb",
                    nbs["solved"])
    due = lms.parse_time("2026-12-01 00:00")
    todo, _ = _located(tmp_path, archive, "blackboard", due=due)
    got = {s.student: s for s in todo}
    assert set(got) == {"jsmith", "zoe.m"}
    assert got["jsmith"].platform["submitted"] == "2026-12-01 09:30:00"
    assert got["jsmith"].platform["late"] == "yes"
    assert got["zoe.m"].platform["late"] == "no"
    assert sum("earlier attempt ignored" in p for p in got["jsmith"].problems) == 2


def test_name_pattern_follows_nbgraders_convention(tmp_path):
    with pytest.raises(lms.PatternError, match="student_id"):
        lms.Collector(r"(?P<file_id>.*)")
    with pytest.raises(lms.PatternError, match="not a regular expression"):
        lms.Collector(r"(?P<student_id>")
    collector = lms.Collector(r"(?P<student_id>[a-z]+)-(?P<timestamp>\d{8}T\d{4})"
                              r"-(?P<file_id>.+)")
    upload = collector.read(f"alice-20261130T2215-{CH}.ipynb")
    assert (upload.student_id, upload.file_id) == ("alice", f"{CH}.ipynb")
    assert upload.submitted == datetime(2026, 11, 30, 22, 15)
    assert collector.read("notes.txt") is None and collector.read("x.ipynb") is None


def test_rosters_of_each_platform_and_a_clear_refusal(tmp_path):
    canvas = lms.read_roster(canvas_roster(tmp_path / "c.csv"))
    assert canvas.kind == "canvas" and len(canvas.people) == 4  # no Points row
    assert canvas.by_platform_id()["34567"].login == "zmuller@uni.example"
    moodle = lms.read_roster(moodle_roster(tmp_path / "m.csv"))
    assert moodle.kind == "moodle"
    assert [p.late for p in moodle.people] == [True, False, False, False]
    bb = tmp_path / "bb.csv"
    bb.write_text('"Last Name","First Name","Username","Student ID"\n'
                  '"Smith","John","jsmith","S1"\n', encoding="utf-8")
    assert lms.read_roster(bb).people[0].name == "John Smith"
    plain = tmp_path / "plain.csv"
    plain.write_text("id;name;login\n7;Ana Lima;alima\n", encoding="utf-8")
    assert lms.read_roster(plain).people[0].login == "alima"
    bad = tmp_path / "bad.csv"
    bad.write_text("who,score\nx,1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="Canvas's gradebook export"):
        lms.read_roster(bad)


# --------------------------------------------------- slow: real grading runs

def _grade(source, out, *extra):
    cmd = [sys.executable, "-m", "graders.grade", str(source), "--out", str(out),
           "--course", str(out.parent / f"course-{out.name}"), "--workers", "2",
           *extra, *sandbox_flags()]
    done = subprocess.run(cmd, cwd=ROOT, env=tool_env(out.parent / "home"),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done


def _csv(path):
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    base = tmp_path_factory.mktemp("lms")
    nbs = notebooks()
    runs = {}
    platforms = [("canvas", canvas_archive, canvas_roster),
                 ("moodle", moodle_archive, moodle_roster)]
    for preset, make_archive, make_roster in platforms:
        out = base / preset
        roster = make_roster(base / f"{preset}_roster.csv")
        done = _grade(make_archive(base / f"{preset}.zip", nbs), out,
                      "--lms", preset, "--roster", str(roster))
        subprocess.run([sys.executable, "-m", "graders.export", preset, "--out",
                        str(out)], cwd=ROOT, env=tool_env(base / "home"), check=True,
                       capture_output=True)
        runs[preset] = {"out": out, "stdout": done.stdout,
                        "rows": {(r["student"], r["chapter"]): r
                                 for r in _csv(out / "grades.csv")}}
    return runs


def _by_student(rows):
    return {s: (r["score"], r["status"], r["late"]) for (s, _), r in rows.items()
            if s in STUDENT.values()}


def test_canvas_and_moodle_archives_give_the_same_grades(both):
    canvas = _by_student(both["canvas"]["rows"])
    moodle = _by_student(both["moodle"]["rows"])
    assert canvas == moodle
    max_score = float(next(iter(both["canvas"]["rows"].values()))["max_score"])
    scores = {s: float(v[0]) if v[0] else None for s, v in canvas.items()}
    assert scores[STUDENT["zmuller@uni.example"]] == max_score           # solved
    assert scores[STUDENT["jdoe@uni.example"]] == 0                      # blank
    assert 0 < scores[STUDENT["jsmith@uni.example"]] < max_score         # partial
    assert canvas[STUDENT["jsmith@uni.example"]][2] == "yes"
    assert canvas[STUDENT["wli@uni.example"]] == ("", "missing", "")


def test_unrostered_submissions_are_graded_and_listed(both):
    for preset, pid in [("canvas", "99999"), ("moodle", "100299")]:
        row = both[preset]["rows"][(pid, CH)]
        assert row["status"] == "graded" and float(row["score"]) > 0
        assert "not on the roster" in row["problems"] and row["platform_id"] == pid
        assert "missing" in both[preset]["stdout"]


def test_canvas_gradebook_csv_matches_grades_csv(both):
    run = both["canvas"]
    rows = _csv(run["out"] / "export" / "canvas" / "grades.csv")
    assert list(rows[0]) == [*export.CANVAS_HEADER, f"{CH} (9001)"]
    assert rows[0]["Student"] == "Points Possible"
    assert float(rows[0][f"{CH} (9001)"]) == float(
        run["rows"][(STUDENT["jdoe@uni.example"], CH)]["max_score"])
    ids = {sortable: cid for sortable, cid, *_ in CLASS}
    body = {r["ID"]: r for r in rows[1:]}
    assert set(body) == {*ids.values(), "99999"}
    for sortable, cid, _, _, login in CLASS:
        graded = run["rows"][(STUDENT[login], CH)]
        assert body[cid]["Student"] == sortable and body[cid]["SIS Login ID"] == login
        assert body[cid][f"{CH} (9001)"] == (
            "" if graded["status"] == "missing" else f"{float(graded['score']):g}")
    with zipfile.ZipFile(run["out"] / "export" / "canvas" / f"feedback_{CH}.zip") as zf:
        names = sorted(zf.namelist())
        page = zf.read(f"smithjohn_LATE_23456_7002_{CH}-1_feedback.html").decode()
    assert names == sorted([f"smithjohn_LATE_23456_7002_{CH}-1_feedback.html",
                            f"müllerzoë_34567_7003_{CH}_feedback.html",
                            "doejaneann_12345_7004_my work_feedback.html",
                            f"strangerpat_99999_7005_{CH}_feedback.html"])
    assert "<html" in page.lower()


def test_moodle_import_and_worksheet_match_grades_csv(both):
    run = both["moodle"]
    folder = run["out"] / "export" / "moodle"
    rows = {r["Email address"]: r for r in _csv(folder / "grades.csv")}
    sheet = {r["Identifier"]: r for r in _csv(folder / f"worksheet_{CH}.csv")}
    assert list(next(iter(sheet.values()))) == export.MOODLE_WORKSHEET
    for _, _, pid, full, login in CLASS:
        graded = run["rows"][(STUDENT[login], CH)]
        expected = ("" if graded["status"] == "missing"
                    else f"{float(graded['score']):g}")
        assert rows[login]["Full name"] == full and rows[login][CH] == expected
        assert sheet[f"Participant {pid}"]["Grade"] == expected
        assert sheet[f"Participant {pid}"]["Full name"] == full
    assert sheet["Participant 100204"]["Status"] == "No submission"
    with zipfile.ZipFile(folder / f"feedback_{CH}.zip") as zf:
        names = sorted(zf.namelist())
    page = f"{CH}_feedback.html"
    assert names == sorted([f"John Smith_100201_assignsubmission_file_/{page}",
                            f"Zoë Müller_100202_assignsubmission_file_{page}",
                            f"Jane Ann Doe_100203_assignsubmission_file_/{page}",
                            f"Pat Stranger_100299_assignsubmission_file_/{page}"])


def test_grades_csv_keeps_every_file_and_flag(both):
    for run in both.values():
        text = (run["out"] / "grades.csv").read_text(encoding="utf-8")
        header = next(csv.reader(io.StringIO(text)))
        assert header == grade.CSV_FIELDS
        assert len(run["rows"]) == 5   # 3 roster students, 1 missing, 1 stranger
        stored = json.loads((run["out"] / grade.ROSTER).read_text(encoding="utf-8"))
        assert len(stored["people"]) == 4
