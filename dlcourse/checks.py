"""Checks for exercise tests: failures say what was expected and what came out.

Introduced in chapter 00 and used by every test cell of the course::

    from dlcourse.checks import assert_close, forbid

    assert_close(dot(x, y), torch.dot(x, y), name="dot(x, y)")
    with forbid("torch.dot", "torch.Tensor.__matmul__"):
        dot(x, y)   # fails if the exercise just calls the built-in

Named groups of built-ins (``DOT_PRODUCTS``, ``EIGENSOLVERS``, ...; defined in
``dlcourse/forbidden.py`` and importable from here) list what
an exercise that rebuilds an operation may not call, in torch and in numpy and
scipy, so that every chapter forbids the same things for the same exercise::

    with forbid(*EIGENSOLVERS):
        power_iteration(A, 100)

Optimizer exercises compare their paths with ``torch.optim`` on a seeded
quadratic (``random_quadratic``, ``reference_path``) and step by step from
torch's own state (``assert_optimizer_steps_match``). ``random_symmetric``
makes a symmetric matrix with a chosen spectrum.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import sys
from collections.abc import Callable, Iterator, Sequence

import torch

from dlcourse.forbidden import (  # noqa: F401  (re-exported for test cells)
    ATTENTIONS,
    AUTOGRAD,
    BCE_LOSSES,
    CONVOLUTIONS,
    COSINE_SIMILARITIES,
    CROSS_ENTROPY_LOSSES,
    DOT_PRODUCTS,
    EIGENSOLVERS,
    ENTROPIES,
    GROUPS,
    KL_DIVERGENCES,
    NORMALIZATIONS,
    NORMS,
    PCA_ROUTINES,
    POOLINGS,
    RECURRENT_CELLS,
    RELUS,
    SIGMOIDS,
    SOFTMAXES,
    VARIANCES,
)


class ForbiddenCallError(AssertionError):
    """Raised when an exercise calls a built-in that it is meant to reimplement."""


def _describe(value) -> str:
    if isinstance(value, torch.Tensor):
        return f"tensor of shape {tuple(value.shape)}, dtype {value.dtype}"
    return f"{type(value).__name__} {value!r}"


def _as_tensor(value, name: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (bool, int, float)):
        return torch.tensor(value, dtype=torch.float64)
    raise AssertionError(
        f"{name}: expected a number or a tensor, got {_describe(value)}"
    )


def _fmt_index(flat_index: int, shape: Sequence[int]) -> str:
    if not shape:
        return ""
    index = []
    for size in reversed(shape):
        index.append(flat_index % size)
        flat_index //= size
    return f" at index {tuple(reversed(index))}"


def assert_close(actual, expected, *, rtol: float = 1e-5, atol: float = 1e-8,
                 name: str = "result", check_dtype: bool = True) -> None:
    """Assert that ``actual`` matches ``expected`` within ``atol + rtol * |expected|``.

    ``expected`` may be a tensor, a Python number, or a tuple/list of those
    (checked item by item). When it is a tensor, ``actual`` must be a tensor
    of the same shape and (unless ``check_dtype`` is false) the same dtype.
    Integer and boolean tensors must match exactly; NaNs match NaNs.
    The message names the first problem: type, shape, dtype or the largest
    error with its index and both values.
    """
    if isinstance(expected, (tuple, list)):
        if not isinstance(actual, (tuple, list)) or len(actual) != len(expected):
            raise AssertionError(
                f"{name}: expected a tuple of {len(expected)} items, "
                f"got {_describe(actual)}"
            )
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_close(a, e, rtol=rtol, atol=atol, name=f"{name}[{i}]",
                         check_dtype=check_dtype)
        return
    if isinstance(expected, torch.Tensor):
        if not isinstance(actual, torch.Tensor):
            raise AssertionError(
                f"{name}: expected a tensor of shape {tuple(expected.shape)}, "
                f"got {_describe(actual)}"
            )
        if actual.shape != expected.shape:
            raise AssertionError(
                f"{name}: expected shape {tuple(expected.shape)}, "
                f"got shape {tuple(actual.shape)}"
            )
        if check_dtype and actual.dtype != expected.dtype:
            raise AssertionError(
                f"{name}: expected dtype {expected.dtype}, got dtype {actual.dtype}"
            )
    actual_t = _as_tensor(actual, name).detach().cpu()
    expected_t = _as_tensor(expected, name).detach().cpu()
    if actual_t.shape != expected_t.shape:
        raise AssertionError(
            f"{name}: expected a single number, got {_describe(actual)}"
        )
    exact = not (expected_t.is_floating_point() or expected_t.is_complex())
    a = actual_t.to(torch.float64) if not actual_t.is_complex() else actual_t
    e = expected_t.to(torch.float64) if not expected_t.is_complex() else expected_t
    tol = 0.0 if exact else atol + rtol * e.abs()
    both_nan = torch.isnan(a) & torch.isnan(e)
    same_inf = torch.isinf(e) & (a == e)
    err = (a - e).abs()
    # A non-finite expected value must be matched exactly, never by tolerance
    # (atol + rtol * inf would accept anything).
    bad = ~(((err <= tol) & torch.isfinite(e)) | both_nan | same_inf)
    if bad.any():
        err = torch.where(bad, torch.nan_to_num(err, nan=math.inf),
                          torch.zeros_like(err))
        worst = int(err.reshape(-1).argmax())
        got, want = a.reshape(-1)[worst].item(), e.reshape(-1)[worst].item()
        digits = next((d for d in (6, 10) if f"{want:.{d}g}" != f"{got:.{d}g}"), 17)
        raise AssertionError(
            f"{name}: values differ{_fmt_index(worst, tuple(e.shape))}: "
            f"expected {want:.{digits}g}, got {got:.{digits}g} "
            f"(abs error {abs(got - want):.3g}; {int(bad.sum())} of {bad.numel()} "
            f"elements outside rtol={rtol:g}, atol={atol:g})"
        )


def assert_shape(value, shape: Sequence[int], name: str = "result") -> None:
    """Assert that ``value`` is a tensor of exactly ``shape``."""
    if not isinstance(value, torch.Tensor):
        raise AssertionError(
            f"{name}: expected a tensor of shape {tuple(shape)}, got {_describe(value)}"
        )
    if tuple(value.shape) != tuple(shape):
        raise AssertionError(
            f"{name}: expected shape {tuple(shape)}, got shape {tuple(value.shape)}"
        )


def expect_raises(exc_type: type[BaseException], fn: Callable, *args,
                  match: str | None = None, name: str | None = None, **kwargs):
    """Assert that ``fn(*args, **kwargs)`` raises ``exc_type``; return the error.

    ``match`` (optional) must appear in the error message. A ``NotImplementedError``
    is let through unchanged so that unfinished exercises say so.
    """
    label = name or getattr(fn, "__name__", "call")
    try:
        result = fn(*args, **kwargs)
    except NotImplementedError:
        if exc_type is NotImplementedError:
            return None
        raise
    except exc_type as err:
        if match is not None and match not in str(err):
            raise AssertionError(
                f"{label}: raised {exc_type.__name__} as expected, but its message "
                f"{str(err)!r} does not mention {match!r}"
            ) from err
        return err
    except Exception as err:
        raise AssertionError(
            f"{label}: expected {exc_type.__name__}, got "
            f"{type(err).__name__}: {err}"
        ) from err
    raise AssertionError(
        f"{label}: expected {exc_type.__name__}, but it returned {_describe(result)}"
    )


def _resolve(path: str):
    """Split ``"torch.nn.functional.linear"`` into (owner object, attribute name)."""
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:-1]:
            owner = getattr(owner, attr)
        if not hasattr(owner, parts[-1]):
            raise ValueError(f"forbid: {path!r} does not exist")
        return owner, parts[-1]
    raise ValueError(f"forbid: cannot import a module from {path!r}")


def _aliases(original, owner, attr, spaces) -> list[tuple[object, str]]:
    """Names bound to ``original`` in ``spaces`` (modules or globals dicts),
    other than ``owner.attr`` itself."""
    found = []
    for space in spaces:
        names = space if isinstance(space, dict) else vars(space)
        for name, value in list(names.items()):
            if value is original and not (names is vars(owner) and name == attr):
                found.append((space, name))
    return found


def _set(space, name, value) -> None:
    if isinstance(space, dict):
        space[name] = value
    else:
        setattr(space, name, value)


@contextlib.contextmanager
def forbid(*paths: str) -> Iterator[None]:
    """Make the named built-ins raise ``ForbiddenCallError`` inside the block.

    ``paths`` are dotted names such as ``"torch.dot"``, ``"torch.Tensor.dot"``
    or ``"torch.Tensor.__matmul__"`` (the ``@`` operator). Other names for the
    same function are blocked too: a name the notebook (``__main__``) or the
    calling code bound to it (``from torch import dot as d``), and the module
    that defines it (``sklearn.metrics._classification.accuracy_score``).
    Everything is put back when the block ends, even after an error.
    """
    saved = []
    aliases = []

    def make_guard(path: str):
        def guard(*args, **kwargs):
            raise ForbiddenCallError(
                f"{path} was called, but this exercise asks you to compute it "
                f"yourself without {path}"
            )
        return guard

    caller = sys._getframe(2).f_globals  # forbid's caller (past contextlib)
    spaces = [caller]
    main = sys.modules.get("__main__")
    if main is not None and vars(main) is not caller:
        spaces.append(main)
    # Resolve every path and keep its original before anything is replaced:
    # two paths may name one object (F.conv1d is torch.conv1d), and the
    # second must not save the guard the first one has put there.
    targets = []
    for path in paths:
        owner, attr = _resolve(path)
        targets.append((path, owner, attr, getattr(owner, attr),
                        vars(owner).get(attr), attr in vars(owner)))
    try:
        for path, owner, attr, original, own_value, own in targets:
            saved.append((owner, attr, own_value, own))
            guard = make_guard(path)
            setattr(owner, attr, guard)
            home = sys.modules.get(getattr(original, "__module__", None) or "")
            extra = [home] if home is not None and home is not owner else []
            for space, name in _aliases(original, owner, attr, spaces + extra):
                try:
                    _set(space, name, guard)
                except (AttributeError, TypeError):  # a read-only namespace
                    continue
                aliases.append((space, name, original))
        yield
    finally:
        for space, name, original in reversed(aliases):
            _set(space, name, original)
        for owner, attr, original, own in reversed(saved):
            if own:
                setattr(owner, attr, original)
            else:
                delattr(owner, attr)


def assert_derivative_close(derivative: Callable, f: Callable, x: torch.Tensor, *,
                            name: str, forbidden: Sequence[str] = (),
                            rtol: float = 1e-5, atol: float = 1e-8) -> None:
    """Check an elementwise derivative ``derivative(x)`` against autograd of ``f``.

    ``derivative`` runs inside ``forbid(*forbidden)``; the reference is
    d f(x_i) / d x_i from ``torch.autograd.grad``. ``x`` must come back
    unchanged. Introduced in chapter 02.
    """
    saved = x.clone()
    with forbid(*forbidden):
        got = derivative(x)
    leaf = x.detach().clone().requires_grad_(True)
    (want,) = torch.autograd.grad(f(leaf).sum(), leaf)
    assert_close(got, want, rtol=rtol, atol=atol, name=name)
    if not torch.equal(x, saved):
        raise AssertionError(f"{name}: the input x was modified (it must not be)")


# --- reference paths for optimizer exercises ----------------------------------
def random_quadratic(shape: Sequence[int], seed: int,
                     dtype: torch.dtype = torch.float64,
                     device: str | torch.device = "cpu"):
    """A seeded random quadratic loss and a starting point, for optimizer tests.

    The loss is ``L(x) = x.A.x / 2 - b.x`` over tensors ``x`` of ``shape``
    (flattened to n = prod(shape) entries), with ``A = Q Q^T / n + 0.1 I``
    symmetric positive definite. Q, b and the start are drawn in float64 from
    ``torch.Generator().manual_seed(seed)``, then cast, so a seed gives the same
    problem whatever the dtype and device (and leaves the global RNG alone).

    Returns ``(grad_fn, start)``: ``grad_fn(x) = A x - b``, a tensor shaped like
    ``x``, and ``start`` of ``shape``, both with ``dtype`` on ``device``.
    """
    gen = torch.Generator().manual_seed(seed)
    n = math.prod(shape)
    q = torch.randn(n, n, generator=gen, dtype=torch.float64)
    a = (q @ q.T / n + 0.1 * torch.eye(n, dtype=torch.float64)).to(device, dtype)
    b = torch.randn(n, generator=gen, dtype=torch.float64).to(device, dtype)
    start = torch.randn(tuple(shape), generator=gen, dtype=torch.float64)

    def grad_fn(x: torch.Tensor) -> torch.Tensor:
        return (a @ x.reshape(-1) - b).reshape(x.shape)
    return grad_fn, start.to(device, dtype)


def random_symmetric(eigenvalues: Sequence[float], seed: int,
                     dtype: torch.dtype = torch.float64,
                     device: str | torch.device = "cpu"):
    """A symmetric matrix with the given eigenvalues and random eigenvectors.

    Returns ``(A, Q)``: ``A = Q diag(eigenvalues) Q^T`` of shape (D, D), exactly
    symmetric, and ``Q`` (D, D) orthonormal with column i the eigenvector of
    ``eigenvalues[i]``. Drawn in float64 from
    ``torch.Generator().manual_seed(seed)``, then cast to ``dtype`` on
    ``device``. Introduced in chapter 01 (power iteration).
    """
    gen = torch.Generator().manual_seed(seed)
    size = len(eigenvalues)
    q, _ = torch.linalg.qr(torch.randn(size, size, generator=gen, dtype=torch.float64))
    values = torch.tensor(list(eigenvalues), dtype=torch.float64)
    a = q @ torch.diag(values) @ q.T
    a = (a + a.T) / 2
    return a.to(device, dtype), q.to(device, dtype)


def reference_path(make_optimizer: Callable, grad_fn: Callable, start: torch.Tensor,
                   num_steps: int):
    """Run a ``torch.optim`` optimizer from ``start`` and record where it goes.

    ``make_optimizer`` maps a list of parameters to an optimizer, e.g.
    ``lambda params: torch.optim.Adam(params, lr=0.1)``. Each step sets the
    parameter's ``.grad`` to ``grad_fn(current point)`` and calls ``step()``.
    ``start`` is not modified.

    Returns ``(path, state)``: ``path`` of shape ``(num_steps, *start.shape)``
    with the dtype and device of ``start``, row k the point after step k + 1;
    ``state`` the optimizer's state dict for the parameter (for instance
    ``"momentum_buffer"`` for SGD, ``"exp_avg"`` and ``"exp_avg_sq"`` for Adam).
    """
    param = start.detach().clone().requires_grad_()
    optimizer = make_optimizer([param])
    path = start.new_empty((num_steps, *start.shape))
    for k in range(num_steps):
        param.grad = grad_fn(param.detach())
        optimizer.step()
        path[k] = param.detach()
    return path, dict(optimizer.state[param])


def assert_optimizer_steps_match(step: Callable, make_optimizer: Callable,
                                 grad_fn: Callable, start: torch.Tensor,
                                 num_steps: int, *, state_keys: dict | None = None,
                                 first_state: Callable | None = None,
                                 forbidden: Sequence[str] = (), rtol: float,
                                 atol: float, name: str) -> None:
    """Check an optimizer step function against ``torch.optim``, one step at a time.

    ``step(param, grad, state, t)`` calls the exercise and returns its result,
    ``(new_param, *new_state)``: ``state`` is a tuple with one tensor (or None)
    per entry of ``state_keys``, which maps the exercise's names to the
    optimizer's state keys (``{"m": "exp_avg", "v": "exp_avg_sq"}``), and ``t``
    counts from 1. A reference optimizer, ``make_optimizer([param])``, runs
    ``num_steps`` steps from ``start`` on the gradients ``grad_fn(param)``.
    Before each of its steps, copies of its current parameter, gradient and
    state (on step 1 ``first_state(param)``, zeros by default) are fed to
    ``step``; the outputs are compared with the optimizer's parameter and state
    after the step. Every step starts from the reference's own numbers, so the
    rounding differences of an exact rewrite of the formula cannot compound.

    Checked at every step, with messages naming the step: a tuple of
    ``1 + len(state_keys)`` tensors, each with the dtype (``assert_close``) and
    device of ``start`` and within ``atol + rtol * |expected|``; no argument
    modified; no result sharing memory with an argument (results are new
    tensors); the ``forbidden`` built-ins not called. Introduced in chapter 04.
    """
    def same_memory(a: torch.Tensor, b: torch.Tensor) -> bool:
        return (a.numel() > 0 and b.numel() > 0 and a.device == b.device and
                a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr())

    keys = dict(state_keys or {})
    param = start.detach().clone().requires_grad_()
    optimizer = make_optimizer([param])
    for t in range(1, num_steps + 1):
        where = f"{name}, step t={t}"
        stored = optimizer.state[param]
        if t == 1:
            before = (tuple(first_state(param.detach().clone())) if first_state
                      else tuple(torch.zeros_like(start) for _ in keys))
        else:
            before = tuple(stored[key].detach().clone() for key in keys.values())
        current = param.detach().clone()
        grad = grad_fn(current)
        args = {"param": current, "grad": grad}
        args.update((k, s) for k, s in zip(keys, before, strict=True)
                    if isinstance(s, torch.Tensor))
        saved = {k: a.clone() for k, a in args.items()}
        with forbid(*forbidden):
            out = step(current, grad, before, t)
        labels = ["new_param"] + [f"new_{k}" for k in keys]
        if not isinstance(out, (tuple, list)) or len(out) != len(labels):
            raise AssertionError(f"{where}: expected a tuple ({', '.join(labels)}), "
                                 f"got {_describe(out)}")
        for arg_name, arg in args.items():
            if not torch.equal(arg, saved[arg_name]):
                raise AssertionError(f"{where}: the argument {arg_name} was modified "
                                     "(no argument may change)")
        param.grad = grad.clone()
        optimizer.step()
        stored = optimizer.state[param]
        expected = [param.detach()] + [stored[key] for key in keys.values()]
        for label, got, want, key in zip(labels, out, expected,
                                         ["parameter", *keys.values()], strict=True):
            assert_close(got, want, rtol=rtol, atol=atol,
                         name=f"{where}: {label} vs torch.optim's {key}")
            if got.device != start.device:
                raise AssertionError(f"{where}: {label} on {got.device}, expected "
                                     f"{start.device}")
            for arg_name, arg in args.items():
                if same_memory(got, arg):
                    raise AssertionError(
                        f"{where}: {label} shares memory with the argument "
                        f"{arg_name}; return a new tensor (e.g. {arg_name}.clone())")
