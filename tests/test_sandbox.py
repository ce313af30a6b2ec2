"""graders/sandbox.py run directly (no Jupyter): what student code can see and do.

The whole grading path is tested by tests/test_hostile.py; these are the
sandbox's promises one by one, with plain processes, in a few seconds.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell
from nbtools import ROOT, own_processes

from graders import execute, kernels

UID = kernels.FIRST_UID + 200  # not used by any grading run of the suite

pytestmark = pytest.mark.skipif(
    kernels.check_sandbox() is not None and not os.environ.get("CI"),
    reason=f"grading sandbox unavailable here: {kernels.check_sandbox()}")


def _run(tmp_path, code: str, timeout: float = 60, **spec) -> subprocess.Popen:
    (tmp_path / "work").mkdir(exist_ok=True)
    (tmp_path / "work" / "data.txt").write_text("original")
    settings = kernels.sandbox_spec(UID, tmp_path / "work", kernels.Settings())
    settings.update(spec)
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(settings))
    return subprocess.Popen(
        [sys.executable, str(kernels.SANDBOX), str(path), "--", sys.executable,
         "-c", textwrap.dedent(code)], cwd=tmp_path / "work",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _report(tmp_path, code: str, **spec) -> dict:
    proc = _run(tmp_path, code, **spec)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def test_student_code_sees_only_what_a_kernel_needs(tmp_path):
    report = _report(tmp_path, f"""
        import json, os
        root = {str(ROOT)!r}
        def can_read(path):
            try:
                open(path, "rb").read(1)
                return True
            except OSError:
                return False
        def can_write(path):
            try:
                open(path, "a").close()
                return True
            except OSError:
                return False
        print(json.dumps({{
            "uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(),
            "repo": sorted(os.listdir(root)),
            "solution": can_read(root + "/solutions/ch03_probability/"
                                 "ch03_probability.ipynb"),
            "dlcourse": can_read(root + "/dlcourse/checks.py"),
            "write_dlcourse": can_write(root + "/dlcourse/x.py"),
            "write_etc": can_write("/etc/x"),
            "write_cwd": can_write("data.txt"), "write_tmp": can_write("/tmp/x"),
            "env": sorted(os.environ),
        }}))
    """)
    assert (report["uid"], report["gid"], report["groups"]) == (UID, UID, [])
    assert set(report["repo"]) <= {"dlcourse", "assets", ".venv"}, report["repo"]
    assert not report["solution"] and report["dlcourse"]
    assert not report["write_dlcourse"] and not report["write_etc"]
    assert report["write_cwd"] and report["write_tmp"]
    assert "NBGRADER_EXECUTION" not in report["env"]
    assert (tmp_path / "work" / "data.txt").read_text() == "original"  # a copy


def test_no_network_but_its_own_loopback(tmp_path):
    """The host's loopback server cannot be reached; the sandbox's own
    loopback works (torchrun and gloo need it) and is its only interface."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    try:
        report = _report(tmp_path, f"""
            import json, socket
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=3)
                result = "connected"
            except OSError as error:
                result = type(error).__name__
            inside = socket.create_server(("127.0.0.1", 0))
            client = socket.create_connection(inside.getsockname(), timeout=3)
            peer, _ = inside.accept()
            client.sendall(b"ping")
            print(json.dumps({{"result": result, "own": peer.recv(4).decode(),
                              "interfaces": [n for _, n in socket.if_nameindex()]}}))
        """)
    finally:
        server.close()
    assert report["result"] != "connected"
    assert report["own"] == "ping"
    assert report["interfaces"] == ["lo"]


def test_process_and_memory_limits(tmp_path):
    with own_processes() as left:
        report = _report(tmp_path, """
        import json, os, time
        children = 0
        try:
            while children < 1000:
                if os.fork() == 0:
                    time.sleep(60)
                    os._exit(0)
                children += 1
        except OSError:
            pass
        try:
            bytearray(8 * 2**30)
            memory = "allocated"
        except MemoryError:
            memory = "MemoryError"
        print(json.dumps({"children": children, "memory": memory}))
    """, processes=50, memory_mb=1024)
        assert not left(), "forked children outlived the sandbox"
    assert report["children"] < 50
    assert report["memory"] == "MemoryError"


def test_killing_the_launcher_kills_everything_inside(tmp_path):
    with own_processes() as left:  # (daemons stay in this test's process tree)
        proc = _run(tmp_path, """
            import subprocess, time
            subprocess.Popen(["sleep", "600"], start_new_session=True)
            print("started", flush=True)
            time.sleep(600)
        """)
        assert proc.stdout.readline().strip() == "started"
        assert any(f"uid={UID} sleep" in p for p in left(wait=0))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert not left(wait=10), "processes survived their launcher"


def test_bound_names_of_a_cell():
    cell = new_code_cell("%matplotlib inline\nimport torch.nn as nn, numpy\n"
                         "from a import b as c\nx, (y, z) = 1, (2, 3)\n"
                         "for i in range(3):\n    q = i\ndef f():\n    hidden = 1\n"
                         "class K:\n    inner = 2\n")
    assert execute.bound_names(cell) == {"nn", "numpy", "c", "x", "y", "z", "i",
                                         "q", "f", "K"}
    assert execute.bound_names(new_code_cell("def broken(:")) == set()


def test_a_warning_in_a_passing_test_cell_costs_nothing():
    from nbgrader.utils import determine_grade

    def test_cell(*outputs, solution=False):
        cell = new_code_cell("check()")
        cell.metadata["nbgrader"] = {"grade": True, "solution": solution,
                                     "grade_id": "t", "points": 3}
        cell.outputs = [nbformat.from_dict(out) for out in outputs]
        return cell

    warned = {"output_type": "stream", "name": "stderr", "text": "UserWarning: x\n"}
    printed = {"output_type": "stream", "name": "stdout", "text": "fine\n"}
    failed = {"output_type": "error", "ename": "AssertionError", "evalue": "no",
              "traceback": []}
    passing = test_cell(printed, warned)
    assert determine_grade(passing)[0] == 0  # plain nbgrader: the warning costs all
    execute._warnings_cost_nothing(passing)
    assert determine_grade(passing)[0] == 3
    assert passing.outputs[1]["text"] == "UserWarning: x\n"
    raised = test_cell(warned, failed)
    execute._warnings_cost_nothing(raised)
    assert raised.outputs[0]["name"] == "stderr" and determine_grade(raised)[0] == 0
    answer = test_cell(warned, solution=True)
    execute._warnings_cost_nothing(answer)
    assert answer.outputs[0]["name"] == "stderr"


SIGNED = "DLCGUARD:abc:OK:" + hmac.new(b"k3y", b"abc", "sha256").hexdigest()


@pytest.mark.parametrize(("outputs", "verdict"), [
    ([{"output_type": "stream", "name": "stdout", "text": SIGNED + "\n"}], None),
    ([], ["the guard check gave no valid answer"]),
    ([{"output_type": "stream", "name": "stdout", "text": "DLCGUARD:abc:OK\n"}],
     ["the guard check gave no valid answer"]),
    ([{"output_type": "stream", "name": "stdout",
       "text": SIGNED.replace(":abc:", ":xyz:") + "\n"}],
     ["the guard check gave no valid answer"]),
    ([{"output_type": "stream", "name": "stdout",
       "text": 'DLCGUARD:abc:TAMPERED:["torch.allclose was changed"]\n'}],
     ["torch.allclose was changed"]),
    ([{"output_type": "stream", "name": "stdout", "text": SIGNED + "\n"},
      {"output_type": "error", "ename": "NameError", "evalue": "", "traceback": []}],
     ["the guard check failed: NameError"]),
])
def test_guard_answers_are_read_strictly(outputs, verdict):
    cell = new_code_cell("_dlc_guard('abc')")
    cell.outputs = outputs
    assert execute.GuardedExecute._read_guard(cell, "abc", "k3y") == verdict


def test_the_guard_key_leaves_no_trace_and_signs_answers(tmp_path):
    """After the first cell, the key is in no history, _i variable or linecache
    entry that a student cell could read; the guard's answers carry its HMAC."""
    from jupyter_client.manager import KernelManager

    key = secrets.token_hex(16)
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(tmp_path), extra_arguments=[
        "--HistoryManager.hist_file=:memory:"])
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=120)

        def run(code):
            printed = []

            def hook(msg):
                if msg["msg_type"] == "stream":
                    printed.append(msg["content"]["text"])

            reply = client.execute_interactive(code, timeout=120, output_hook=hook,
                                               store_history=True)
            assert reply["content"]["status"] == "ok", reply["content"]
            return "".join(printed)

        run(execute.BOOT.format(source=execute.GUARD_SOURCE, key=key))
        found = run(f"""
import linecache
_key = {key[:16]!r} + {key[16:]!r}
_places = {{"In": In, "history": get_ipython().history_manager.input_hist_raw,
           "linecache": [repr(v) for v in linecache.cache.values()],
           "user_ns": [v for k, v in globals().items() if k.startswith("_i")],
           "hm": [str(getattr(get_ipython().history_manager, a, ""))
                  for a in ("_i00", "_i", "_ii", "_iii")]}}
print(sorted(k for k, v in _places.items() if any(_key in str(x) for x in v)))
""")
        assert found.strip() == "[]", found
        answer = run('_dlc_guard("tok123", "course", [])').strip()
        signature = hmac.new(key.encode(), b"tok123", "sha256").hexdigest()
        assert answer == f"DLCGUARD:tok123:OK:{signature}"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/usr/bin/python3"),
                    reason="needs root to become another user, and /usr/bin/python3")
def test_without_root_a_user_namespace_builds_the_same_sandbox():
    """An instructor without root (a JupyterHub server, say): the launcher
    started as an ordinary user still hides the repository and the network.
    (The course's own Python lives under /root here, so the system Python
    stands in for the kernel.)"""
    user = 65000
    with tempfile.TemporaryDirectory(prefix="dlc-userns-") as tmp:
        _as_user(Path(tmp), user)


def _as_user(tmp_path, user):
    tmp_path.chmod(0o755)  # pytest's own tmp folder is root's only
    work = tmp_path / "work"
    work.mkdir()
    os.chown(work, user, user)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({
        "uid": user, "read_only": [str(ROOT / "dlcourse")], "read_write": [],
        "processes": 40, "env": {"PATH": "/usr/bin:/bin"}}))
    code = textwrap.dedent(f"""
        import json, os, socket
        def attempt(action):
            try:
                action()
                return "allowed"
            except OSError as error:
                return type(error).__name__
        print(json.dumps({{
            "uid": os.getuid(), "repo": sorted(os.listdir({str(ROOT)!r})),
            "write": attempt(lambda: open({str(ROOT / "dlcourse" / "x")!r}, "w")),
            "net": attempt(lambda: socket.create_connection(("127.0.0.1", 9), 2)),
        }}))
    """)
    with own_processes() as left:
        done = subprocess.run(
            ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups",
             "/usr/bin/python3", str(kernels.SANDBOX), str(spec), "--",
             "/usr/bin/python3", "-c", code],
            cwd=work, capture_output=True, text=True, timeout=60)
        still = left()
    if "user namespace" in done.stderr:
        pytest.skip(f"unprivileged user namespaces are off here: {done.stderr}")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["uid"] == user
    assert report["repo"] == ["dlcourse"]
    assert report["write"] != "allowed" and report["net"] != "allowed"
    assert not still, still
