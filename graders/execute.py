"""nbgrader's Execute step, hardened for untrusted notebooks.

``GuardedExecute`` replaces ``nbgrader.preprocessors.Execute`` in the grading
runs of ``graders/grade.py`` (``Autograde.autograde_preprocessors``). On top
of nbgrader's behaviour it

- caps each cell's output while it arrives (an endless ``print`` loop cannot
  fill the grader's memory), keeping the first ``max_output_bytes`` and a note;
- survives kernel death (``os._exit``, a segfault, the memory limit) and
  kernels that ignore the timeout's interrupt: the kernel is started again,
  the cells before are replayed silently, the cell that killed it gets an
  error output, and grading goes on with the next cell (at most
  ``max_restarts`` times; cells left after that are marked as not run);
- guards the checking machinery (graders/guard_kernel.py): a first cell takes
  a snapshot before any student code runs and a check after every cell
  compares it and runs canaries. From the first cell after which the check
  fails, every test cell gets 0 points (an error output saying why) and the
  notebook is reported as tampered, for manual review.

What happened is written to ``guard.json`` next to the graded notebook; the
inserted cells are removed again, so feedback shows the student's notebook.
"""

from __future__ import annotations

import ast
import copy
import hmac
import json
import os
import secrets
from pathlib import Path

from IPython.core.inputtransformer2 import TransformerManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbconvert.preprocessors.execute import NotebookClient
from nbformat.v4 import new_code_cell, new_output
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer

GUARD_SOURCE = (Path(__file__).with_name("guard_kernel.py")).read_text("utf-8")
REPORT = "guard.json"
# The first cell: the guard's code runs in a namespace of its own, with a copy
# of the builtins as they are before any student code.
# The key of the guard's signatures is then removed from the kernel's history,
# the notebook's _i variables and linecache.
BOOT = """def _dlc_guard_boot(source, key):
    import builtins, linecache
    space = {{"__builtins__": dict(vars(builtins)), "__name__": "dlcourse_guard"}}
    exec(compile(source, "<dlcourse guard>", "exec"), space)
    guard = space.pop("_dlc_guard_install")(key)
    shell = get_ipython()
    for history in (shell.history_manager.input_hist_parsed,
                    shell.history_manager.input_hist_raw):
        for number, text in enumerate(history):
            if key in text:
                history[number] = ""
    for name, value in list(shell.user_ns.items()):
        if name.startswith("_i") and isinstance(value, str) and key in value:
            shell.user_ns[name] = ""
    for name in ("_i00", "_i", "_ii", "_iii"):  # the next cells' _i, _ii, _iii
        if key in str(getattr(shell.history_manager, name, "")):
            setattr(shell.history_manager, name, "")
    for name, entry in list(linecache.cache.items()):
        if len(entry) > 2 and key in "".join(entry[2]):
            del linecache.cache[name]
    return guard
_dlc_guard = _dlc_guard_boot({source!r}, {key!r})
del _dlc_guard_boot
"""
TIMEOUT_ENAME = "CellTimeoutError"


class KernelUnresponsive(RuntimeError):
    """The kernel did not answer after a timed-out cell was interrupted."""


def is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade"))


def is_course_cell(cell) -> bool:
    """A test cell or a locked cell: its source is the course's, not the student's."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade") or meta.get("locked")) and not meta.get("solution")


def bound_names(cell) -> set[str]:
    """The names a code cell binds at top level (imports, defs, assignments)."""
    try:
        source = TransformerManager().transform_cell(cell.source)
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    names: set[str] = set()

    def visit(statements):
        for node in statements:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
                continue
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update((a.asname or a.name).split(".")[0] for a in node.names)
                continue
            for child in ast.walk(node):
                if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                    names.add(child.id)
            for field in ("body", "orelse", "finalbody", "handlers"):
                visit(getattr(node, field, []) or [])

    visit(tree.body)
    return names


def _warnings_cost_nothing(cell) -> None:
    """Show a passing test cell's stderr text as ordinary output.

    nbgrader scores a test cell 0 when it has any stderr output, not only an
    error (``nbgrader.utils.determine_grade``). A right answer that warns (a
    ``UserWarning``, a C++ library's note, the grader's own truncation note)
    would lose every point of a cell whose checks all passed. A cell that
    raised keeps its outputs as they are, and scores 0 as before.
    """
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if not is_test_cell(cell) or meta.get("solution"):
        return
    outputs = cell.get("outputs", [])
    if any(out.get("output_type") == "error" for out in outputs):
        return
    for out in outputs:
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            out["name"] = "stdout"


def _out_of_memory(cell) -> bool:
    """Whether a cell stopped on the memory limit (MemoryError, torch's OOM)."""
    for out in cell.get("outputs", []):
        if out.get("output_type") != "error":
            continue
        value = str(out.get("evalue", ""))
        if out.get("ename") == "MemoryError" or "can't allocate memory" in value \
                or "out of memory" in value.lower():
            return True
    return False


def _error(ename: str, evalue: str):
    return new_output("error", ename=ename, evalue=evalue,
                      traceback=[f"{ename}: {evalue}"])


def _sizes(msg: dict) -> tuple[int, int]:
    """(text, rich) size of an output message: printed text vs images/HTML."""
    content = msg.get("content", {})
    if "text" in content:
        return len(content["text"]), 0
    data = content.get("data", {})
    text = len(str(data.get("text/plain", "")))
    rich = sum(len(v) if isinstance(v, str) else len(json.dumps(v))
               for key, v in data.items() if key != "text/plain")
    return text + 64, rich


class GuardedExecute(Execute):
    """nbgrader's Execute with output caps, kernel restarts and a tamper guard."""

    max_output_bytes = Integer(200_000, help="output kept per cell").tag(config=True)
    max_restarts = Integer(3, help="kernel restarts per notebook").tag(config=True)
    guard = Bool(True, help="run the tamper guard").tag(config=True)
    unresponsive_wait = Integer(
        15, help="seconds a kernel has to answer after an interrupt").tag(config=True)

    # -- output cap -------------------------------------------------------
    def output(self, outs, msg, display_id, cell_index):
        text, rich = _sizes(msg)
        used_text, used_rich = self._used.get(cell_index, (0, 0))
        used_text, used_rich = used_text + text, used_rich + rich
        self._used[cell_index] = (used_text, used_rich)
        if used_text > self.max_output_bytes or used_rich > 50 * self.max_output_bytes:
            if cell_index not in self._truncated:
                self._truncated.add(cell_index)
                outs.append(new_output(
                    "stream", name="stderr",
                    text=f"\n[grader] output truncated: this cell printed more "
                         f"than {self.max_output_bytes // 1000} kB of text (or 50 "
                         "times that in images)\n"))
            return None
        return super().output(outs, msg, display_id, cell_index)

    # -- the run ----------------------------------------------------------
    def preprocess(self, nb, resources=None, km=None):
        originals = list(nb.cells)
        self._key = secrets.token_hex(16)
        plan = self._plan(originals)
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._used, self._truncated = {}, set()
        self.nb.cells = [cell for cell, _, _ in plan]
        events = {"killed": [], "timeouts": [], "not_run": [], "memory": []}
        position = restarts = 0
        while position < len(plan):
            try:
                with self.setup_kernel():
                    info = self.wait_for_reply(self.kc.kernel_info())
                    self.nb.metadata["language_info"] = \
                        info["content"]["language_info"]
                    if restarts:
                        self._replay(plan, position, events["killed"])
                    while position < len(plan):
                        cell = plan[position][0]
                        self.preprocess_cell(cell, resources, position)
                        if self._timed_out(cell):
                            events["timeouts"].append(plan[position][1])
                            self._ensure_responsive()
                        if _out_of_memory(cell) and plan[position][1] is not None:
                            events["memory"].append(plan[position][1])
                        position += 1
            except (DeadKernelError, KernelUnresponsive, CellTimeoutError) as error:
                died = isinstance(error, DeadKernelError)
                cell = plan[position][0]
                cell.outputs = [o for o in cell.get("outputs", [])
                                if o.get("ename") != TIMEOUT_ENAME]
                cell.outputs.append(_error(
                    "KernelDied" if died else "KernelUnresponsive",
                    "the kernel died while running this cell (os._exit, a crash "
                    "or the memory limit); it was restarted" if died else
                    "the kernel ignored the interrupt after the time limit; it "
                    "was killed and restarted"))
                events["killed"].append(plan[position][1])
                position += 1
                restarts += 1
                self.km = None
                if restarts > self.max_restarts:
                    for cell, index, _ in plan[position:]:
                        if cell.cell_type == "code" and index is not None:
                            cell.outputs = [_error(
                                "NotRun", "not run: the kernel was restarted "
                                f"{self.max_restarts} times")]
                            events["not_run"].append(index)
                    break
        self.set_widgets_metadata()
        report = self._verdict(plan, originals, events)
        self.nb.cells = originals
        for cell in originals:
            _warnings_cost_nothing(cell)
        self._write_report(report)
        return self.nb, self.resources

    def _plan(self, cells):
        """(cell, index of the original cell or None, guard token or None)."""
        plan = []
        if self.guard:
            setup = new_code_cell(BOOT.format(source=GUARD_SOURCE, key=self._key))
            plan.append((setup, None, "setup"))
        for index, cell in enumerate(cells):
            plan.append((cell, index, None))
            if self.guard and cell.cell_type == "code":
                token = secrets.token_hex(8)
                owner = "course" if is_course_cell(cell) else "student"
                check = new_code_cell(
                    f'_dlc_guard("{token}", "{owner}", {sorted(bound_names(cell))!r})')
                plan.append((check, None, token))
        for cell, _, token in plan:
            if token is not None:
                cell["id"] = f"dlc-guard-{secrets.token_hex(6)}"
        return plan

    def _replay(self, plan, position, killed):
        """Run the cells before ``position`` again, keeping their first outputs."""
        saved = [copy.deepcopy(cell) for cell, _, _ in plan[:position]]
        for number, (cell, index, _) in enumerate(plan[:position]):
            if index in killed:
                continue
            self.preprocess_cell(copy.deepcopy(cell), self.resources, number)
            if self._timed_out(self.nb.cells[number]):
                self._ensure_responsive()
        for number, cell in enumerate(saved):
            self.nb.cells[number] = cell
            plan[number] = (cell, plan[number][1], plan[number][2])

    @staticmethod
    def _timed_out(cell) -> bool:
        return any(o.get("ename") == TIMEOUT_ENAME for o in cell.get("outputs", []))

    def _ensure_responsive(self) -> None:
        msg_id = self.kc.kernel_info()
        if self.wait_for_reply(msg_id, timeout=self.unresponsive_wait) is None:
            raise KernelUnresponsive("no answer after the interrupt")

    def wait_for_reply(self, msg_id, cell=None, timeout=None):
        if timeout is None:
            return super().wait_for_reply(msg_id, cell)
        old, self.timeout = self.timeout, timeout
        try:
            return super().wait_for_reply(msg_id, None)
        finally:
            self.timeout = old

    # -- verdict ----------------------------------------------------------
    def _verdict(self, plan, originals, events) -> dict:
        tampered_at, problems = None, []
        last = 0  # the original cell the next check follows
        for cell, index, token in plan:
            if index is not None:
                last = index
            if token is None or tampered_at is not None:
                continue
            verdict = self._read_guard(cell, token, self._key)
            if verdict is not None:
                tampered_at, problems = last, verdict
        flagged = []
        if tampered_at is not None:
            for index, cell in enumerate(originals):
                if index >= tampered_at and is_test_cell(cell):
                    cell.outputs = [_error(
                        "TamperingDetected",
                        "the checking machinery was changed before or during this "
                        "test (" + "; ".join(problems[:3]) + "); 0 points, "
                        "flagged for manual review")]
                    flagged.append(cell.metadata["nbgrader"]["grade_id"])
        return {"tampered": tampered_at is not None,
                "tampered_after_cell": tampered_at, "problems": problems,
                "flagged": flagged, "killed_cells": events["killed"],
                "timeout_cells": events["timeouts"], "not_run": events["not_run"],
                "memory_cells": events["memory"],
                "truncated_cells": sorted(
                    plan[i][1] for i in self._truncated if plan[i][1] is not None)}

    @staticmethod
    def _read_guard(cell, token, key) -> list[str] | None:
        """None if the check answered OK, signed with ``key``; else what went wrong."""
        text = "".join(o.get("text", "") for o in cell.get("outputs", [])
                       if o.get("output_type") == "stream")
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if token == "setup":
            return [f"the guard could not start: {e.get('ename')}: {e.get('evalue')}"
                    for e in errors] or None
        lines = [line for line in text.splitlines()
                 if line.startswith(f"DLCGUARD:{token}:")]
        if errors:
            return [f"the guard check failed: {errors[0].get('ename')}"]
        signature = hmac.new(key.encode(), token.encode(), "sha256").hexdigest()
        if lines != [f"DLCGUARD:{token}:OK:{signature}"]:
            if len(lines) == 1 and lines[0].startswith(f"DLCGUARD:{token}:TAMPERED:"):
                try:
                    return list(json.loads(lines[0].split(":", 3)[3]))
                except ValueError:
                    pass
            return ["the guard check gave no valid answer"]
        return None

    def _write_report(self, report: dict) -> None:
        path = (self.resources or {}).get("metadata", {}).get("path")
        if path:
            with open(os.path.join(path, REPORT), "w", encoding="utf-8") as handle:
                json.dump(report, handle, indent=1)
