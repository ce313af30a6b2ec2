"""Run a command (a Jupyter kernel) in a Linux sandbox: the student's code jail.

    python graders/sandbox.py SPEC.json -- COMMAND ...

Started by Jupyter as the kernel's launcher (see graders/kernels.py). It puts
the command in new mount, PID, network, IPC and UTS namespaces:

- files: a new root file system that holds only what a kernel needs, read-only
  (the system, the Python installation, the virtual environment, the course's
  ``dlcourse`` package and ``assets/``), plus a private copy of the notebook's
  folder, ``/tmp`` and ``/dev/shm`` as small memory file systems, and the one
  folder where the kernel's sockets live. Solutions, tests, gradebooks,
  ``graders/``, ``.git`` and other students' work are not there at all;
- network: none outside (a new network namespace whose only interface is its
  own loopback, brought up so that code in the sandbox can talk to itself, as
  ``torchrun`` and ``gloo`` do; it cannot reach the host's loopback or any
  other machine; Jupyter talks to the kernel over Unix sockets,
  ``KernelManager.transport = "ipc"``);
- user: started as root, an unprivileged user id of its own, no groups, no
  capabilities, ``no_new_privs``. The id is leased machine-wide (``lease_uid``:
  an ``flock`` on ``<uid_locks>/<uid>.lock``, held by this launcher and the
  namespace's init until every process of the sandbox is gone), so that no
  two sandboxes on the machine, of the same grading run or of two, ever share
  it, nor the per-user process limit; started by another
  user, a user namespace builds the same sandbox and the kernel keeps that
  user's id (no capabilities, ``no_new_privs``);
- limits (``setrlimit``): address space, CPU seconds, processes/threads for
  that uid, open files, file size, no core files;
- processes: PID 1 of the namespace is a small init that waits for the kernel;
  when the kernel ends, or this launcher is killed, every process left in the
  namespace is killed with it, so nothing survives the grading run.

This file must import only the standard library: it runs before the sandbox
is set up, from the instructor's checkout, and is not visible inside it.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import resource
import shutil
import signal
import socket
import stat
import struct
import sys
import time

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
CLONE_NEWUSER = 0x10000000
_MS_NOATIME, _MS_NODIRATIME, _MS_RELATIME, _ST_RELATIME = 1024, 2048, 1 << 21, 4096

_libc = ctypes.CDLL(None, use_errno=True)

# Folders every kernel needs, bound read-only at the same path when they exist.
SYSTEM = ["/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/opt"]
DEVICES = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"]

# What a spec may say, with defaults (see graders/grade.py for how they are set).
DEFAULTS = {
    "uid": None,              # the sandbox user (and its group); None: leased
    "uid_pool": [61000, 1000],  # first uid and how many, for a leased one
    "uid_locks": "/run/dlcourse-uids",  # lock files shared by the whole machine
    "chown": [],              # paths given to the sandbox user (socket folder)
    "read_only": [],          # extra paths visible read-only (venv, python, ...)
    "read_write": [],         # paths bound read-write (the kernel's socket folder)
    "copy_cwd": True,         # the kernel works on a private copy of its folder
    "memory_mb": 6144,        # RLIMIT_AS
    "cpu_seconds": 1800,      # RLIMIT_CPU, for the whole kernel
    "processes": 256,         # RLIMIT_NPROC for the sandbox uid (threads count)
    "open_files": 1024,       # RLIMIT_NOFILE
    "file_mb": 64,            # RLIMIT_FSIZE
    "tmp_mb": 256,            # size of /tmp, /dev/shm and the working copy
    "devices": [],            # extra devices, e.g. /dev/nvidia0 for a GPU
    "env": {},                # the kernel's whole environment (nothing inherited)
}


class SandboxError(RuntimeError):
    """The sandbox could not be set up (not root, no namespaces...)."""


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise SandboxError(f"{what}: {os.strerror(err)} (errno {err})")


def _mount(source, target, fstype, flags, data=None) -> None:
    _check(_libc.mount(_b(source), _b(target), _b(fstype), ctypes.c_ulong(flags),
                       _b(data)), f"mount {source} on {target}")


def _b(text):
    return None if text is None else os.fsencode(text)


def load_spec(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        spec = {**DEFAULTS, **json.load(handle)}
    unknown = set(spec) - set(DEFAULTS)
    if unknown:
        raise SandboxError(f"unknown sandbox settings: {sorted(unknown)}")
    return spec


def _bind(root: str, path: str, writable: bool = False) -> None:
    """Make ``path`` visible at the same place under ``root``."""
    if not os.path.lexists(path):
        return
    target = root + os.path.abspath(path)
    if os.path.islink(path) and os.path.dirname(path) == "/":
        os.symlink(os.readlink(path), target)   # /bin -> usr/bin on merged /usr
        return
    if os.path.isdir(path):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    _mount(path, target, None, MS_BIND | MS_REC)
    if not writable:
        # Keep the flags the source is mounted with (a user namespace may not
        # drop them), and add read-only, nosuid, nodev.
        kept = os.statvfs(path).f_flag & (MS_NOEXEC | _MS_NOATIME | _MS_NODIRATIME)
        if os.statvfs(path).f_flag & _ST_RELATIME:
            kept |= _MS_RELATIME
        _mount(None, target, None,
               MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | kept)


def _tmpfs(target: str, size_mb: int, mode: int = 0o1777) -> None:
    os.makedirs(target, exist_ok=True)
    _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={size_mb}m,mode={mode:o}")


def _copy_tree(src: str, dst: str, uid: int, budget: list[int]) -> None:
    """Copy ``src`` into ``dst`` (plain files and folders, within ``budget``)."""
    for entry in os.scandir(src):
        target = os.path.join(dst, entry.name)
        if entry.is_dir(follow_symlinks=False):
            os.mkdir(target)
            os.chown(target, uid, uid)
            _copy_tree(entry.path, target, uid, budget)
        elif entry.is_file(follow_symlinks=False):
            size = entry.stat().st_size
            if size > budget[0]:
                continue
            budget[0] -= size
            shutil.copyfile(entry.path, target)
            os.chown(target, uid, uid)


def build_root(spec: dict, cwd: str) -> str:
    """Mount the sandbox's file system under a new folder; return its path."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    root = "/tmp/.dlcourse-sandbox-root"  # private to this mount namespace
    os.makedirs(root, exist_ok=True)
    _tmpfs(root, 16, 0o755)
    _tmpfs(root + "/tmp", spec["tmp_mb"])  # first: the paths below may be in /tmp
    _tmpfs(root + "/dev/shm", spec["tmp_mb"])
    for path in SYSTEM + list(spec["read_only"]):
        _bind(root, path)
    for path in spec["read_write"]:
        _bind(root, path, writable=True)
    os.makedirs(root + "/dev", exist_ok=True)
    for path in DEVICES + list(spec["devices"]):
        if os.path.exists(path):
            _bind(root, path, writable=True)
    os.makedirs(root + "/proc", exist_ok=True)
    _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    uid = spec["uid"]
    if spec["copy_cwd"]:
        _tmpfs(root + cwd, spec["tmp_mb"], 0o755)
        os.chown(root + cwd, uid, uid)
        _copy_tree(cwd, root + cwd, uid, [spec["tmp_mb"] * 2**20 // 2])
    _mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    return root


def _limits(spec: dict) -> None:
    mb = 2**20
    memory = spec["memory_mb"] * mb or resource.RLIM_INFINITY  # 0: no limit (CUDA)
    for limit, value in [(resource.RLIMIT_AS, memory),
                         (resource.RLIMIT_CPU, spec["cpu_seconds"]),
                         (resource.RLIMIT_NPROC, spec["processes"]),
                         (resource.RLIMIT_NOFILE, spec["open_files"]),
                         (resource.RLIMIT_FSIZE, spec["file_mb"] * mb),
                         (resource.RLIMIT_CORE, 0)]:
        resource.setrlimit(limit, (value, value))


def _drop_privileges(uid: int) -> None:
    if os.getgroups():  # (in a user namespace there are none, and no setgroups)
        os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def _private_connection_file(root: str, command: list[str], uid: int) -> list[str]:
    """Give the kernel its own readable copy of Jupyter's connection file.

    Jupyter writes the file readable by root only; the copy lives in the
    sandbox's ``/tmp``. The sockets it names stay where Jupyter expects them.
    """
    command = list(command)
    for i, arg in enumerate(command[:-1]):
        if arg in ("-f", "--f") and os.path.isfile(command[i + 1]):
            copy = "/tmp/kernel-connection.json"
            shutil.copyfile(command[i + 1], root + copy)
            os.chown(root + copy, uid, uid)
            os.chmod(root + copy, 0o400)
            command[i + 1] = copy
    return command


def _init(child: int) -> int:
    """PID 1 inside: reap every process, forward signals, end with ``child``."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, lambda s, _f: os.kill(child, s))
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            return 1
        except InterruptedError:
            continue
        if pid == child:
            return os.waitstatus_to_exitcode(status) & 0xFF


def _count_processes(uid: int) -> int:
    """How many processes and threads ``uid`` runs now (RLIMIT_NPROC counts them)."""
    count = 0
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{entry}").st_uid == uid:
                count += len(os.listdir(f"/proc/{entry}/task"))
        except OSError:
            continue
    return count


def lease_uid(spec: dict) -> tuple[int, int]:
    """A sandbox user id no other sandbox on this machine holds; (uid, lock fd).

    Each uid has a lock file in ``spec["uid_locks"]``, a folder every grader
    on the machine shares (containers on one node: mount the same host
    folder there). An exclusive ``flock`` on it is the lease: it is held as
    long as the returned descriptor is open in this launcher or its init, and
    the kernel frees it by itself when they die, even by ``SIGKILL``. A uid
    that still has processes (started by something that does not lease) is
    skipped. A fixed ``spec["uid"]`` waits for its lease.
    """
    folder = spec["uid_locks"]
    os.makedirs(folder, mode=0o755, exist_ok=True)
    if spec["uid"] is not None:
        candidates, wait = [spec["uid"]], True
    else:
        first, count = spec["uid_pool"]
        candidates, wait = list(range(first, first + count)), False
    for uid in candidates:
        fd = os.open(os.path.join(folder, f"{uid}.lock"),
                     os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            continue
        if not wait and _count_processes(uid):
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return uid, fd
    raise SandboxError(f"no free sandbox user among {len(candidates)} "
                       f"(leases in {folder})")


def _supervise(pid: int, parent: int) -> int:
    """Wait for the namespace's init; kill it if whoever started us is gone.

    (If the grader is killed, its kernels must not live on: when the init
    dies, the kernel and everything it started die with the namespace.)
    """
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, lambda s, _f: os.kill(pid, s))
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except InterruptedError:
            continue
        if done:
            return os.waitstatus_to_exitcode(status) & 0xFF
        if os.getppid() != parent:
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)


SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def _loopback_up() -> None:
    """Bring up ``lo`` of the new network namespace (it starts down)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def run(spec: dict, command: list[str]) -> int:
    """Run ``command`` in the sandbox; its exit status.

    As root, the command runs as a leased uid (``lease_uid``). Otherwise a
    user namespace gives the rights to build the sandbox, and the command keeps
    the caller's own user id (``spec["uid"]`` must be it or None); its process
    limit then counts the caller's other processes too, so it is raised by
    their number.
    """
    cwd = os.getcwd()
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    if os.geteuid() != 0:
        uid, gid = os.getuid(), os.getgid()
        if spec["uid"] not in (None, uid):
            raise SandboxError(f"not root: the sandbox can only run as you "
                               f"(uid {uid}), not as uid {spec['uid']}")
        spec = {**spec, "uid": uid,
                "processes": spec["processes"] + _count_processes(uid)}
        _check(_libc.unshare(flags | CLONE_NEWUSER), "unshare (user namespace)")
        for name, text in [("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                           ("gid_map", f"{gid} {gid} 1")]:
            with open(f"/proc/self/{name}", "w") as handle:
                handle.write(text)
    else:
        uid, _lease = lease_uid(spec)  # open until this launcher and init end
        spec = {**spec, "uid": uid}
        for path in spec["chown"]:
            os.chown(path, uid, uid)
        _check(_libc.unshare(flags), "unshare")
    parent = os.getppid()
    pid = os.fork()  # the child is PID 1 of the new PID namespace
    if pid:
        return _supervise(pid, parent)
    try:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        socket.sethostname("sandbox")
        _loopback_up()
        root = build_root(spec, cwd)
        command = _private_connection_file(root, command, spec["uid"])
        os.chroot(root)
        os.chdir(cwd)
        kernel = os.fork()
        if kernel == 0:
            _limits(spec)
            _drop_privileges(spec["uid"])
            os.execve(command[0], command, dict(spec["env"]))
        os._exit(_init(kernel))
    except BaseException as exc:  # noqa: BLE001 - report and leave the namespace
        print(f"sandbox: {exc}", file=sys.stderr, flush=True)
        os._exit(70)


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    spec = load_spec(argv[0])
    command = argv[2:]
    if not os.path.isabs(command[0]):
        command[0] = shutil.which(command[0]) or command[0]
    if not stat.S_ISREG(os.stat(command[0]).st_mode):
        raise SandboxError(f"not a program: {command[0]}")
    return run(spec, command)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except SandboxError as error:
        print(f"sandbox: {error}", file=sys.stderr)
        sys.exit(70)
