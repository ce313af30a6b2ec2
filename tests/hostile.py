"""The hostile-submission corpus for chapter 03: one real notebook file per case.

``build(folder, targets)`` writes ``folder/<case>/ch03_probability.ipynb`` (or
the odd file the case needs) for every case in ``CASES`` and returns them.
Each case says what ``./course grade`` must give it: the score, the status,
and a text the problems column must contain. Everything is made from the
committed student release and solution notebooks, so the corpus follows the
chapter when it changes.

``targets`` are paths the attacks aim at (the grader's course copy, the other
students' files, a port a test server listens on); the tests check afterwards
that none of them was read usefully, written or reached.

    PYTHONPATH=.:tests python -m hostile DIR   writes the corpus for a look
"""

from __future__ import annotations

import copy
import json
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbtools import ROOT, grade_cells, load_mutants, read, release_path, solution_path
from test_autograde import make_submission

CH = "ch03_probability"
# Every test cell's points, read from the committed solution: the corpus
# follows the chapter when its tests change.
FULL = float(sum(cell.metadata["nbgrader"].get("points", 0)
                 for cell in grade_cells(read(solution_path(CH)))[1].values()))
FIRST = "ch03-sample-variance"         # 2 points
LAST = "ch03-cross-entropy-loss"       # 2 points


@dataclass
class Case:
    score: float                  # exact expected score
    status: str = "graded"
    reason: str | None = None     # must appear in the problems column
    file: str | None = None       # path inside the case folder, if not the usual
    data: bytes | None = None


def _bytes(nb) -> bytes:
    return nbformat.writes(nb).encode("utf-8")


def _cell(nb, grade_id: str):
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(grade_id)


def _tests(nb):
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


def _with(nb, grade_id: str, extra: str, before: bool = False):
    """A copy of ``nb`` with ``extra`` code added to an answer cell."""
    nb = copy.deepcopy(nb)
    cell = _cell(nb, grade_id)
    extra = textwrap.dedent(extra).strip("\n")
    cell.source = f"{extra}\n{cell.source}" if before else f"{cell.source}\n{extra}"
    return nb


def solution_of():
    return read(solution_path(CH))


def bases():
    """(release, solved, wrong): the wrong one fails every test cell."""
    release, solution = read(release_path(CH)), read(solution_path(CH))
    solved = make_submission("solved", release, solution)
    wrong = copy.deepcopy(release)
    mutants = load_mutants(CH)[0]
    for grade_id in grade_cells(solution)[0]:
        first = next(iter(mutants[grade_id].values()))
        _cell(wrong, grade_id).source = textwrap.dedent(first).strip("\n")
    return release, solved, wrong


# What the attacks aim at, filled in by build().
_READ_ANSWERS = '''
import json, os
stolen = 0
for path in {paths!r}:
    try:
        data = open(path, "rb").read()
    except OSError as error:
        print("cannot read", path, "-", type(error).__name__)
        continue
    print("READ", path, len(data), "bytes")
    try:
        cells = json.loads(data)["cells"]
    except ValueError:
        continue
    for cell in cells:
        if cell.get("metadata", {{}}).get("nbgrader", {{}}).get("solution"):
            exec("".join(cell["source"]), globals())
            stolen += 1
print("cells stolen:", stolen)
'''

_WRITE = '''
import os
for folder in {folders!r}:
    try:
        with open(os.path.join(folder, "PWNED"), "w") as handle:
            handle.write("written by a student")
        print("WROTE in", folder)
    except OSError as error:
        print("cannot write in", folder, "-", type(error).__name__)
for path in {files!r}:
    try:
        with open(path, "ab") as handle:
            handle.write(b"PWNED")
        print("APPENDED to", path)
    except OSError as error:
        print("cannot append to", path, "-", type(error).__name__)
'''

_NETWORK = '''
import socket, urllib.request
for target in [("127.0.0.1", {port}), ("pypi.org", 443), ("8.8.8.8", 53)]:
    try:
        socket.create_connection(target, timeout=3).close()
        print("CONNECTED to", target)
    except OSError as error:
        print("no connection to", target, "-", type(error).__name__)
try:
    urllib.request.urlopen("https://pypi.org/simple/", timeout=3)
    print("DOWNLOADED")
except OSError as error:
    print("no download -", type(error).__name__)
'''

_NO_CHECKS = '''
import dlcourse.checks
def _accept(*args, **kwargs):
    return None
dlcourse.checks.assert_close = dlcourse.checks.assert_shape = _accept
assert_close = assert_shape = _accept
'''


def build(folder: Path, targets: dict) -> dict[str, Case]:
    """Write the corpus into ``folder``; {case name (= student): expectation}."""
    release, solved, wrong = bases()
    other = folder / "solved" / f"{CH}.ipynb"
    gradebook = Path(targets["course"]) / "graders" / "gradebook.db"
    secrets = [str(ROOT / "solutions" / CH / f"{CH}.ipynb"), str(other),
               str(Path(targets["out"]) / "templates" / CH / "solutions" / CH
                   / f"{CH}.ipynb"),
               "../../../../solutions/" + f"{CH}/{CH}.ipynb"]
    cases: dict[str, Case] = {}
    notebooks: dict[str, nbformat.NotebookNode] = {}

    # Baselines.
    notebooks["solved"] = solved
    cases["solved"] = Case(FULL)
    notebooks["blank"] = release
    cases["blank"] = Case(0)
    notebooks["wrong"] = wrong
    cases["wrong"] = Case(0)

    # Broken files.
    cases["truncated"] = Case(0, "not a valid notebook", data=_bytes(solved)[:700])
    cases["bom"] = Case(FULL, reason="byte-order mark removed",
                        data=b"\xef\xbb\xbf" + _bytes(solved))
    latin = copy.deepcopy(solved)
    latin.cells[0].source += "\n\nCaf\u00e9"
    cases["latin1"] = Case(FULL, reason="non-UTF-8 bytes replaced",
                           data=_bytes(latin).replace("\u00e9".encode(), b"\xe9"))
    cases["nbformat3"] = Case(FULL, reason="upgraded from nbformat 3", data=nbformat
                              .writes(nbformat.convert(copy.deepcopy(solved), 3))
                              .encode())
    ids = json.loads(_bytes(solved))
    ids["cells"][1]["id"] = ids["cells"][0]["id"]
    del ids["cells"][2]["id"]
    cases["cellids"] = Case(FULL, reason="cell id(s) fixed",
                            data=json.dumps(ids).encode())
    cases["renamed"] = Case(FULL, reason="renamed file", file=f"{CH} (1).ipynb",
                            data=_bytes(solved))
    cases["otherchapter"] = Case(0, "wrong chapter", data=_bytes(read(
        release_path("ch01_linear_algebra"))))

    # Structural cheating (on the wrong answers, worth 0).
    nb = copy.deepcopy(wrong)
    nb.cells = [c for c in nb.cells if c not in _tests(nb)]
    notebooks["deletedtests"], cases["deletedtests"] = nb, Case(0, reason="deleted")
    nb = copy.deepcopy(wrong)
    for cell in _tests(nb):
        cell.source = "pass"
    notebooks["editedtests"], cases["editedtests"] = nb, Case(0, reason="edited")
    nb = copy.deepcopy(wrong)
    for cell in _tests(nb):
        cell.cell_type = "markdown"
        cell.pop("outputs", None)
        cell.pop("execution_count", None)
    notebooks["markdowntests"], cases["markdowntests"] = nb, Case(0,
                                                                  reason="markdown")
    nb = copy.deepcopy(wrong)
    for cell in _tests(nb):
        cell.metadata["nbgrader"]["grade_id"] += "-mine"
        cell.source = "pass"
    notebooks["gradeids"], cases["gradeids"] = nb, Case(0, reason="restored")
    nb = copy.deepcopy(wrong)
    for cell in _tests(nb):
        cell.metadata["nbgrader"].update(points=100, locked=False)
        cell.source = "pass"
    notebooks["points"], cases["points"] = nb, Case(0, reason="restored")
    nb = copy.deepcopy(wrong)
    for cell in _tests(nb):
        cell.execution_count = 1
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                               text="all tests passed\n")]
    notebooks["fakeoutputs"], cases["fakeoutputs"] = nb, Case(0)

    # Runaway code (on the solved notebook: everything else must still count).
    notebooks["infiniteloop"] = _with(solved, FIRST, '''
        def sample_variance(x, dim=0):
            while True:
                pass
    ''')
    cases["infiniteloop"] = Case(FULL - 2, reason="time limit hit")
    notebooks["uninterruptible"] = _with(solved, LAST, '''
        import signal
        def cross_entropy_loss(logits, targets):
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            while True:
                pass
    ''')
    cases["uninterruptible"] = Case(FULL - 2, reason="kernel died or hung")
    notebooks["printflood"] = _with(solved, FIRST, '''
        while True:
            print("spam " * 20)
    ''')
    cases["printflood"] = Case(FULL, reason="output truncated")
    notebooks["hugeline"] = _with(solved, FIRST, 'print("x" * 50_000_000)')
    cases["hugeline"] = Case(FULL, reason="output truncated")
    notebooks["hugealloc"] = _with(solved, FIRST, '''
        hog = bytearray(64 * 2**30)
    ''')
    cases["hugealloc"] = Case(FULL, reason="memory limit hit")
    notebooks["exit"] = _with(solved, FIRST, 'import os\nos._exit(0)')
    cases["exit"] = Case(FULL - 2, reason="kernel died or hung")
    notebooks["segfault"] = _with(solved, FIRST, 'import ctypes\nctypes.string_at(0)')
    cases["segfault"] = Case(FULL - 2, reason="kernel died or hung")
    notebooks["forkbomb"] = _with(solved, FIRST, '''
        import os, time
        children = 0
        try:
            while True:
                if os.fork() == 0:
                    time.sleep(3600)
                    os._exit(0)
                children += 1
        except OSError as error:
            print("fork stopped after", children, "children:", type(error).__name__)
    ''')
    cases["forkbomb"] = Case(FULL)
    notebooks["leftovers"] = _with(solved, FIRST, '''
        import os, subprocess, time
        subprocess.Popen(["sleep", "3600"], start_new_session=True)
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(3600)
            os._exit(0)
    ''')
    cases["leftovers"] = Case(FULL)
    notebooks["network"] = _with(solved, FIRST, _NETWORK.format(port=targets["port"]))
    cases["network"] = Case(FULL)

    # Reading and writing what the grader keeps away from students.
    reader = release  # every answer cell tries to load the answers from disk
    for grade_id in grade_cells(solution_of())[0]:
        reader = _with(reader, grade_id, _READ_ANSWERS.format(
            paths=[*secrets, str(gradebook), "../../../gradebook.db"]))
    notebooks["reader"] = reader
    cases["reader"] = Case(0)
    notebooks["writer"] = _with(solved, FIRST, _WRITE.format(
        folders=[str(ROOT / "solutions"), str(ROOT / "graders"), str(ROOT),
                 str(folder / "solved"), str(targets["out"]), str(targets["course"]),
                 "../../..", "/tmp"],
        files=[*secrets[:3], str(gradebook), "../../../gradebook.db"]))
    cases["writer"] = Case(FULL)

    # Tampering with the checks (on the wrong answers, worth 0 when caught).
    flagged = "tampering detected"
    notebooks["patchallclose"] = _with(wrong, FIRST, '''
        import torch
        torch.allclose = lambda *args, **kwargs: True
        torch.Tensor.allclose = lambda *args, **kwargs: True
    ''', before=True)
    notebooks["patchtesting"] = _with(wrong, FIRST, '''
        import torch.testing
        torch.testing.assert_close = lambda *args, **kwargs: None
    ''', before=True)
    notebooks["patchnumpy"] = _with(wrong, FIRST, '''
        import numpy.testing
        numpy.testing.assert_allclose = lambda *args, **kwargs: None
    ''', before=True)
    notebooks["patchchecks"] = _with(wrong, FIRST, _NO_CHECKS, before=True)
    notebooks["patchcode"] = _with(wrong, FIRST, '''
        import dlcourse.checks
        for _f in (dlcourse.checks.assert_close, dlcourse.checks.assert_shape):
            _f.__code__ = (lambda *args, **kwargs: None).__code__
    ''', before=True)
    notebooks["patchbuiltins"] = _with(wrong, FIRST, '''
        import builtins
        builtins.all = lambda *args, **kwargs: True
        builtins.any = lambda *args, **kwargs: False  # would blind a naive guard
    ''', before=True)
    notebooks["patchtraceback"] = _with(wrong, FIRST, '''
        from IPython.core.interactiveshell import InteractiveShell
        InteractiveShell.showtraceback = lambda *args, **kwargs: None
        get_ipython().showtraceback = lambda *args, **kwargs: None
    ''', before=True)
    notebooks["patchatcall"] = _with(wrong, FIRST, '''
        _honest = sample_variance
        def sample_variance(x, dim=0):
            import dlcourse.checks
            dlcourse.checks.assert_close = lambda *args, **kwargs: None
            globals()["assert_close"] = dlcourse.checks.assert_close
            return _honest(x, dim)
    ''')
    for name in ("patchallclose", "patchtesting", "patchnumpy", "patchchecks",
                 "patchcode", "patchbuiltins", "patchtraceback", "patchatcall"):
        cases[name] = Case(0, "flagged for review", flagged)
    cases["patchbuiltins"].reason = "builtins.all was changed"
    notebooks["fakeguard"] = _with(wrong, FIRST, _NO_CHECKS + '''
        _dlc_guard = lambda token, *args: print(f"DLCGUARD:{token}:OK")
    '''.replace("        ", ""), before=True)
    cases["fakeguard"] = Case(0, "flagged for review", "no valid answer")
    notebooks["nbgraderenv"] = _with(wrong, FIRST, "import os\nif os.environ.get("
                                     "'NBGRADER_EXECUTION'):\n" + textwrap.indent(
                                         _NO_CHECKS, "    "), before=True)
    cases["nbgraderenv"] = Case(0)

    # Honest noise: warnings on stderr cost nothing.
    notebooks["stderr"] = _with(solved, FIRST, '''
        import sys, warnings
        warnings.warn("this is only a warning")
        print("some noise on stderr", file=sys.stderr)
    ''')
    cases["stderr"] = Case(FULL)
    # The same inside the test cells: an answer that warns each time the tests
    # call it (nbgrader alone would score a test cell with stderr output 0).
    notebooks["warnintests"] = _with(solved, FIRST, '''
        import sys, warnings
        _quiet_sample_variance = sample_variance
        def sample_variance(*args, **kwargs):
            warnings.warn("a warning from inside the answer")
            print("more noise on stderr", file=sys.stderr)
            return _quiet_sample_variance(*args, **kwargs)
    ''')
    cases["warnintests"] = Case(FULL)

    for name, case in cases.items():
        data = case.data if case.data is not None else _bytes(notebooks[name])
        path = folder / name / (case.file or f"{CH}.ipynb")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return cases


if __name__ == "__main__":
    out = Path(sys.argv[1])
    made = build(out, {"course": out / "_course", "out": out / "_out", "port": 9})
    print(f"{len(made)} cases written to {out}")
