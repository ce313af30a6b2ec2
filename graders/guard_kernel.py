"""Kernel side of the tamper guard (see graders/execute.py for the host side).

The grader's first cell of every graded notebook, before any student code
runs, executes this file's source in a namespace of its own whose builtins
are a copy taken then (so that patching ``builtins.any`` later cannot blind
the checks) and binds ``_dlc_guard = _dlc_guard_install()``. After every
cell of the notebook the grader runs ``_dlc_guard("<token>", owner, names)``:
it compares the checking machinery
with the snapshot taken here and runs canaries (comparisons that must fail),
then prints ``DLCGUARD:<token>:OK:<signature>`` or
``DLCGUARD:<token>:TAMPERED:<json>``. The token is fresh for every check; the
signature is an HMAC of it with a key only the grader and this closure hold
(the first cell is scrubbed from the kernel's history after it ran), so a
look-alike ``_dlc_guard`` cannot answer OK. A missing, altered, unsigned or
failing answer counts as tampering.

What is watched (by identity, so a replaced function, a new ``__code__``,
new defaults or closure contents all count): every attribute of builtins,
torch, torch.testing, torch.nn.functional, torch.linalg, torch.Tensor, numpy,
numpy.testing, math, sys (hooks and streams), dlcourse and its checks; the
modules in sys.modules; IPython's shell class and the instance's execution and
traceback methods, its event callbacks and input/AST transformers; trace and
profile hooks; and, in the notebook's namespace, every name bound to a module,
function or class from a package, or by one of the course's own cells (test
or locked): such a name may be bound again only by the course's cell that
binds it (``assert_close = lambda *a, **k: None`` in an answer is caught).

Only the standard library and the modules above may be imported here.
"""


def _dlc_guard_install(secret):  # noqa: C901 - one closure keeps state private
    import builtins
    import hmac
    import json
    import math
    import random
    import sys
    import types

    import numpy
    import numpy.testing
    import torch
    import torch._dynamo  # noqa: F401 - its import rewraps torch.manual_seed & co.
    import torch.nn.functional
    import torch.optim  # noqa: F401
    import torch.testing
    from IPython import get_ipython
    from IPython.core.interactiveshell import InteractiveShell

    import dlcourse
    import dlcourse.checks

    shell = get_ipython()
    user_ns = shell.user_ns
    # Taken now, before any student code: later lookups could be patched.
    Random, MethodType, FunctionType, ModuleType = (
        random.Random, types.MethodType, types.FunctionType, types.ModuleType)
    namespaces = {
        "builtins": builtins, "torch": torch, "torch.testing": torch.testing,
        "torch.nn.functional": torch.nn.functional, "torch.linalg": torch.linalg,
        "numpy": numpy, "numpy.testing": numpy.testing, "math": math,
        "dlcourse": dlcourse, "dlcourse.checks": dlcourse.checks,
        "torch.Tensor": torch.Tensor, "torch._C.TensorBase": torch._C.TensorBase,
        "InteractiveShell": InteractiveShell,
    }
    shell_methods = ["run_cell", "run_cell_async", "run_ast_nodes", "run_code",
                     "showtraceback", "_showtraceback", "showsyntaxerror",
                     "set_custom_exc", "ex", "ev", "safe_execfile", "transform_cell",
                     "should_run_async", "system", "getoutput"]
    sys_hooks = ["excepthook", "displayhook", "breakpointhook", "unraisablehook",
                 "stdout", "stderr", "stdin", "__excepthook__", "__displayhook__",
                 "__stdout__", "__stderr__", "settrace", "setprofile", "exit",
                 "modules", "meta_path", "path_hooks"]
    plain = (types.FunctionType, types.BuiltinFunctionType, types.ModuleType,
             type, types.MethodType, staticmethod, classmethod, property)

    def parts(obj):
        """The object and the mutable pieces that decide what a function does."""
        found, func = [obj], obj
        if isinstance(obj, MethodType):  # a new object at every access
            found, func = [obj.__func__, obj.__self__], obj.__func__
        elif isinstance(obj, (classmethod, staticmethod)):
            func = obj.__func__
        if not isinstance(func, FunctionType):
            return tuple(found)
        found += [func.__code__, func.__defaults__, func.__kwdefaults__,
                  func.__dict__.get("__wrapped__")]
        for cell in func.__closure__ or ():
            try:
                found.append(cell.cell_contents)
            except ValueError:
                found.append(None)
        return tuple(found)

    def notebook_code(obj):
        """Whether ``obj`` was defined in the notebook (not by an installed package)."""
        func = obj.__func__ if isinstance(obj, MethodType) else obj
        module = getattr(func, "__module__", None)
        return module in (None, "__main__", "builtins")

    def foreign(value):
        """A module, or a function or class from an installed package."""
        if isinstance(value, ModuleType):
            return True
        return isinstance(value, plain) and not notebook_code(value)

    def state():
        snap = {}
        for label, space in namespaces.items():
            for name, value in list(vars(space).items()):
                if label == "builtins" and name in ("_", "__", "___"):
                    continue
                snap[f"{label}.{name}"] = parts(value)
        for name in sys_hooks:
            snap[f"sys.{name}"] = parts(getattr(sys, name, None))
        snap["sys.gettrace()"] = (sys.gettrace(),)
        snap["sys.getprofile()"] = (sys.getprofile(),)
        for name in shell_methods:
            snap[f"shell.{name}"] = parts(getattr(shell, name, None))
        snap["shell.custom_exceptions"] = (shell.custom_exceptions,)
        snap["shell.events"] = tuple(
            callback for _, callbacks in sorted(shell.events.callbacks.items())
            for callback in callbacks if notebook_code(callback))
        for name in ("ast_transformers", "input_transformers_post",
                     "input_transformers_cleanup"):
            snap[f"shell.{name}"] = tuple(getattr(shell, name, ()))
        snap["shell.InteractiveTB"] = (shell.InteractiveTB,
                                       type(shell.InteractiveTB).__dict__.get(
                                           "structured_traceback"))
        return snap

    def differ(old, new):
        if len(old) != len(new):
            return True
        return any(a is not b for a, b in zip(old, new, strict=True))

    baseline = state()
    modules = dict(sys.modules)
    names = {}  # protected notebook names -> the object they must stay bound to
    dumps, write = json.dumps, print
    signer = hmac.new(secret.encode(), digestmod="sha256")  # the key stays inside
    del secret

    def sign(text):
        mac = signer.copy()
        mac.update(text.encode())
        return mac.hexdigest()

    def raises(func, *args, **kwargs):
        try:
            func(*args, **kwargs)
        except AssertionError:
            return True
        except Exception:  # noqa: BLE001 - any error means the check still fails
            return True
        return False

    def canaries(seed):
        rng = Random(seed)
        base = [rng.uniform(-5, 5) for _ in range(rng.randint(2, 6))]
        off = list(base)
        off[rng.randrange(len(off))] += rng.choice([-1, 1]) * rng.uniform(0.5, 3)
        a, b = torch.tensor(base), torch.tensor(off)
        failed = []
        checks = {
            "torch.allclose": lambda: torch.allclose(a, b) is False,
            "torch.equal": lambda: torch.equal(a, b) is False,
            "Tensor ==": lambda: bool((a == b).all()) is False,
            "torch.isclose": lambda: bool(torch.isclose(a, b).all()) is False,
            "torch.testing.assert_close": lambda: raises(torch.testing.assert_close,
                                                         a, b),
            "numpy.allclose": lambda: bool(numpy.allclose(a.numpy(), b.numpy()))
            is False,
            "numpy.testing.assert_allclose": lambda: raises(
                numpy.testing.assert_allclose, a.numpy(), b.numpy()),
            "dlcourse.checks.assert_close": lambda: raises(
                dlcourse.checks.assert_close, b, a),
            "math.isclose": lambda: math.isclose(base[0], base[0] + 1.0) is False,
        }
        for name, check in checks.items():
            try:
                if check() is not True:
                    failed.append(f"canary: {name} accepted different values")
            except Exception as error:  # noqa: BLE001
                failed.append(f"canary: {name} raised {type(error).__name__}")
        return failed

    def guard(token, owner="student", binds=()):
        """Check; ``owner`` and ``binds``: who wrote the cell just run (the
        course's locked/test cells, or the student) and the names it binds."""
        problems = []
        now = state()
        for key, old in baseline.items():
            new = now.get(key)
            if new is None or differ(old, new):
                problems.append(f"{key} was changed")
        for key, module in modules.items():
            if sys.modules.get(key) is not module:
                problems.append(f"sys.modules[{key!r}] was replaced")
        for name, value in list(names.items()):
            if user_ns.get(name, value) is not value:
                if owner == "course" and name in binds:
                    names[name] = user_ns[name]  # the course's own cell rebound it
                else:
                    problems.append(f"the notebook's name {name!r} was rebound")
        for name, value in list(user_ns.items()):
            if name in names or name.startswith("_dlc_guard"):
                continue
            if foreign(value) or (owner == "course" and name in binds
                                  and isinstance(value, plain)):
                names[name] = value
        problems += canaries(token)
        if problems:
            write(f"DLCGUARD:{token}:TAMPERED:{dumps(problems[:20])}", flush=True)
        else:
            write(f"DLCGUARD:{token}:OK:{sign(token)}", flush=True)

    return guard
