"""Unit tests of the dlcourse helper package."""

import matplotlib

matplotlib.use("Agg")

import textwrap  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

from dlcourse import environment_report, get_device, progress, set_seed  # noqa: E402
from dlcourse.checks import (  # noqa: E402
    ForbiddenCallError,
    assert_close,
    assert_shape,
    expect_raises,
    forbid,
    random_quadratic,
    random_symmetric,
    reference_path,
)
from dlcourse.data import load_digits, load_tabular, train_test_split  # noqa: E402
from dlcourse.plotting import plot_contour, plot_curves, plot_images  # noqa: E402


def _message(fn, *args, **kwargs) -> str:
    with pytest.raises(AssertionError) as info:
        fn(*args, **kwargs)
    return str(info.value)


# --- checks -----------------------------------------------------------------
def test_assert_close_accepts_close_values():
    assert_close(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0 + 1e-9]))
    assert_close(0.5, 0.5 + 1e-12)
    assert_close(torch.tensor(3.0, dtype=torch.float64), 3.0)
    assert_close((torch.ones(2), 1.0), (torch.ones(2), 1.0))
    assert_close(torch.tensor([float("nan")]), torch.tensor([float("nan")]))
    assert_close(torch.tensor([float("inf")]), torch.tensor([float("inf")]))


def test_assert_close_reports_shape_dtype_and_worst_value():
    msg = _message(assert_close, torch.zeros(4, 3), torch.zeros(3, 4), name="W")
    assert "W" in msg and "(3, 4)" in msg and "(4, 3)" in msg
    msg = _message(assert_close, torch.zeros(2), torch.zeros(2, dtype=torch.float64))
    assert "float64" in msg and "float32" in msg
    got = torch.tensor([[1.0, 2.0], [3.0, 4.5]])
    msg = _message(assert_close, got, torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert "(1, 1)" in msg and "expected 4" in msg and "got 4.5" in msg
    assert "1 of 4" in msg


def test_assert_close_rejects_wrong_types_and_nan():
    assert "tensor" in _message(assert_close, [1.0, 2.0], torch.ones(2))
    assert "tuple of 2" in _message(assert_close, torch.ones(2), (1.0, 2.0))
    _message(assert_close, torch.tensor([float("nan")]), torch.tensor([1.0]))
    _message(assert_close, torch.tensor([1, 2]), torch.tensor([1, 3]))
    _message(assert_close, None, 1.0)


def test_assert_close_shows_enough_digits_to_tell_values_apart():
    msg = _message(assert_close, torch.tensor(-4.000001, dtype=torch.float64),
                   torch.tensor(-4.0, dtype=torch.float64), rtol=1e-9)
    assert "expected -4, got -4.000001" in msg


def test_assert_close_matches_infinities_exactly():
    inf = float("inf")
    assert "expected inf, got 9.2" in _message(assert_close, torch.tensor([9.2]),
                                               torch.tensor([inf]))
    _message(assert_close, torch.tensor([-inf]), torch.tensor([inf]))
    _message(assert_close, torch.tensor([inf]), torch.tensor([1.0]))
    _message(assert_close, 9.2, inf)
    assert_close(torch.tensor([-inf, 1.0]), torch.tensor([-inf, 1.0]))


def test_assert_shape():
    assert_shape(torch.zeros(2, 3), (2, 3))
    assert "(3, 2)" in _message(assert_shape, torch.zeros(2, 3), (3, 2))
    _message(assert_shape, 5, (1,))


def test_expect_raises():
    def bad(x):
        raise ValueError(f"x must be positive, got {x}")

    assert isinstance(expect_raises(ValueError, bad, -1, match="positive"), ValueError)
    assert "does not mention" in _message(expect_raises, ValueError, bad, 1, match="zz")
    assert "returned" in _message(expect_raises, ValueError, abs, -1)
    assert "TypeError" in _message(expect_raises, ValueError, len, 5)

    def unfinished():
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        expect_raises(ValueError, unfinished)


def test_forbid_blocks_functions_methods_and_operators_then_restores():
    x = torch.ones(3)
    original_matmul = torch.Tensor.__matmul__
    with forbid("torch.dot", "torch.Tensor.dot", "torch.Tensor.__matmul__",
                "torch.nn.functional.linear"):
        for call in (lambda: torch.dot(x, x), lambda: x.dot(x), lambda: x @ x,
                     lambda: torch.nn.functional.linear(x, x[None])):
            with pytest.raises(ForbiddenCallError, match="yourself"):
                call()
        assert (x * x).sum() == 3  # everything else still works
    assert torch.dot(x, x) == 3 and x.dot(x) == 3 and (x @ x) == 3
    assert torch.Tensor.__matmul__ is original_matmul
    with pytest.raises(RuntimeError), forbid("torch.dot"):
        raise RuntimeError("an error inside the block")
    assert torch.dot(x, x) == 3
    with pytest.raises(ValueError, match="does not exist"), forbid("torch.no_such"):
        pass


def test_every_named_group_of_builtins_exists_and_can_be_forbidden():
    import numpy as np

    import dlcourse.checks as checks
    from dlcourse.checks import _resolve
    for group in checks.GROUPS:
        paths = getattr(checks, group)
        assert isinstance(paths, tuple) and paths, group
        assert len(set(paths)) == len(paths), f"{group} repeats a path"
        before = {path: getattr(*_resolve(path)) for path in paths}
        with forbid(*paths):  # every path resolves (a typo raises ValueError)
            pass
        # every path is restored, also where two paths name the same object
        # (F.conv1d is torch.conv1d), whichever of the two comes first
        changed = [p for p in paths if getattr(*_resolve(p)) is not before[p]]
        assert not changed, f"{group}: forbid left guards on {changed}"
    # the transposed convolutions are convolutions too
    with forbid(*checks.CONVOLUTIONS):
        for call in (lambda: torch.conv_transpose1d(torch.zeros(1, 1, 3),
                                                    torch.zeros(1, 1, 2)),
                     lambda: torch.conv_transpose3d(torch.zeros(1, 1, 2, 2, 2),
                                                    torch.zeros(1, 1, 2, 2, 2))):
            with pytest.raises(ForbiddenCallError):
                call()
    # numpy and scipy equivalents are blocked too, and restored afterwards
    a = np.diag([3.0, 1.0])
    with forbid(*checks.EIGENSOLVERS):
        with pytest.raises(ForbiddenCallError, match="numpy.linalg.eigh"):
            np.linalg.eigh(a)
        import scipy.linalg
        with pytest.raises(ForbiddenCallError, match="scipy.linalg.eigh"):
            scipy.linalg.eigh(a)
    assert np.linalg.eigh(a)[0].tolist() == [1.0, 3.0]
    with forbid(*checks.CROSS_ENTROPY_LOSSES):
        with pytest.raises(ForbiddenCallError):
            torch.distributions.Categorical(logits=torch.zeros(3)).log_prob(
                torch.tensor(0))
    assert torch.distributions.Categorical(logits=torch.zeros(2)).log_prob(
        torch.tensor(0)).item() == pytest.approx(-0.6931471805599453)


def test_random_symmetric_has_the_requested_spectrum():
    a, q = random_symmetric([5.0, -2.0, 0.5], seed=3)
    assert a.dtype == torch.float64 and torch.equal(a, a.T)
    assert_close(q.T @ q, torch.eye(3, dtype=torch.float64), atol=1e-12)
    assert_close(a @ q[:, 1], -2.0 * q[:, 1], atol=1e-12)
    assert_close(torch.linalg.eigvalsh(a), torch.tensor([-2.0, 0.5, 5.0],
                 dtype=torch.float64), atol=1e-12)
    b, _ = random_symmetric([5.0, -2.0, 0.5], seed=3, dtype=torch.float32)
    assert b.dtype == torch.float32 and torch.equal(b, a.float())
    assert not torch.equal(random_symmetric([1.0, 2.0], seed=4)[0],
                           random_symmetric([1.0, 2.0], seed=5)[0])


def test_random_quadratic_is_a_seeded_spd_quadratic():
    grad_fn, start = random_quadratic((2, 3), seed=4)
    assert start.shape == (2, 3) and start.dtype == torch.float64
    # grad_fn is affine: its Jacobian is A (symmetric positive definite) and
    # grad_fn(0) = -b, so it is the gradient of L(x) = x.A.x / 2 - b.x.
    a = torch.autograd.functional.jacobian(grad_fn, start).reshape(6, 6)
    b = -grad_fn(torch.zeros_like(start)).reshape(-1)
    assert torch.allclose(a, a.T) and torch.linalg.eigvalsh(a).min() > 0.05
    x = torch.randn(2, 3, dtype=torch.float64).requires_grad_()
    flat = x.reshape(-1)
    (flat @ a @ flat / 2 - b @ flat).backward()
    assert torch.allclose(grad_fn(x.detach()), x.grad)
    grad_again, start_again = random_quadratic((2, 3), seed=4)
    assert torch.equal(start, start_again) and torch.equal(grad_fn(x), grad_again(x))
    assert not torch.equal(start, random_quadratic((2, 3), seed=5)[1])
    grad32, start32 = random_quadratic((2, 3), seed=4, dtype=torch.float32)
    assert start32.dtype == torch.float32 and grad32(start32).dtype == torch.float32
    assert torch.allclose(start32.double(), start, atol=1e-6)
    _, scalar_start = random_quadratic((), seed=0)
    assert scalar_start.shape == ()


def test_reference_path_matches_hand_computed_sgd_and_returns_state():
    # L(x) = 2 x^2, gradient 4x: each SGD step with lr = 0.1 multiplies x by 0.6.
    start = torch.tensor(3.0, dtype=torch.float64)
    path, state = reference_path(lambda params: torch.optim.SGD(params, lr=0.1),
                                 lambda x: 4 * x, start, num_steps=3)
    assert path.shape == (3,) and path.dtype == torch.float64
    assert torch.allclose(path, torch.tensor([1.8, 1.08, 0.648], dtype=torch.float64))
    assert start.item() == 3.0 and not start.requires_grad
    grad_fn, start = random_quadratic((4, 3), seed=1)
    before = start.clone()
    path, state = reference_path(lambda params: torch.optim.SGD(
        params, lr=0.05, momentum=0.9), grad_fn, start, num_steps=7)
    assert path.shape == (7, 4, 3) and torch.equal(start, before)
    x, velocity = start, torch.zeros_like(start)
    for k in range(7):
        velocity = 0.9 * velocity + grad_fn(x)
        x = x - 0.05 * velocity
        assert torch.allclose(path[k], x)
    assert torch.allclose(state["momentum_buffer"], velocity)
    _, adam_state = reference_path(lambda params: torch.optim.Adam(params),
                                   grad_fn, start, num_steps=2)
    assert {"exp_avg", "exp_avg_sq"} <= set(adam_state)
    empty, _ = reference_path(lambda params: torch.optim.SGD(params, lr=0.1),
                              grad_fn, start, num_steps=0)
    assert empty.shape == (0, 4, 3)


# --- device, seed, progress ---------------------------------------------------
def test_get_device_prefers_accelerators_and_honours_requests(monkeypatch):
    expected = "cuda" if torch.cuda.is_available() else None
    if expected:
        assert get_device().type == "cuda"
    assert get_device("cpu") == torch.device("cpu")
    monkeypatch.setenv("DLCOURSE_DEVICE", "cpu")
    assert get_device() == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="available"):
            get_device("cuda")


def test_set_seed_makes_torch_reproducible():
    set_seed(3)
    a = torch.randn(5)
    set_seed(3)
    assert torch.equal(a, torch.randn(5))


def test_environment_report_names_versions_and_device():
    report = environment_report()
    assert report["torch"] == torch.__version__
    assert {"python", "numpy", "device"} <= set(report)


def test_progress_is_silenced_while_grading(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert progress(range(3)).disable
    monkeypatch.delenv("NBGRADER_EXECUTION")
    monkeypatch.setenv("DLCOURSE_PROGRESS", "1")
    assert list(progress(range(3), desc="x")) == [0, 1, 2]


# --- data ---------------------------------------------------------------------
def test_load_digits_shapes_and_range():
    X, y = load_digits()
    assert X.shape == (1797, 64) and y.shape == (1797,) and y.dtype == torch.int64
    assert 0 <= X.min() and X.max() <= 1
    images, _ = load_digits(images=True, dtype=torch.float64)
    assert images.shape == (1797, 1, 8, 8) and images.dtype == torch.float64


def test_load_tabular():
    X, y, names = load_tabular("breast_cancer")
    assert X.shape == (569, 30) and len(names) == 30 and y.dtype == torch.int64
    _, y, _ = load_tabular("diabetes")
    assert y.is_floating_point()
    with pytest.raises(ValueError, match="expected one of"):
        load_tabular("mnist")


def test_train_test_split_is_a_seeded_partition():
    X, y = torch.arange(20.0)[:, None], torch.arange(20)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_fraction=0.25, seed=1)
    assert len(X_te) == 5 and len(X_tr) == 15
    assert sorted(torch.cat([y_tr, y_te]).tolist()) == list(range(20))
    assert torch.equal(X_tr[:, 0].long(), y_tr)
    again = train_test_split(X, y, test_fraction=0.25, seed=1)
    assert torch.equal(again[3], y_te)
    with pytest.raises(ValueError):
        train_test_split(X, y[:3])
    with pytest.raises(ValueError):
        train_test_split(X, y, test_fraction=1.0)


# --- plotting -----------------------------------------------------------------
def test_plots_draw_without_a_display():
    images, labels = load_digits(images=True)
    fig = plot_images(images[:10], labels[:10].tolist(), ncols=5)
    assert len(fig.axes) == 10
    ax = plot_curves({"train": [3, 2, 1], "test": [3, 2.5, 2]}, logy=True)
    assert len(ax.lines) == 2
    path = [torch.tensor([1.0, 1.0]), torch.tensor([0.5, 0.2])]
    ax = plot_contour(lambda p: (p ** 2).sum(-1), paths={"gd": path})
    assert len(ax.lines) == 1


# --- widgets ------------------------------------------------------------------
def test_interactive_plot_renders_pngs_and_redraws_on_change():
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from dlcourse.widgets import interactive_plot

    plt.close("all")
    calls = []

    def draw(scale=1.0, kind="line", n=5):
        calls.append((scale, kind, n))
        plt.subplots()[1].plot([scale * i for i in range(n)])
        plt.show()

    box = interactive_plot(draw, scale=(0.5, 3.0), kind=["line", "dots"], n=(2, 9))
    controls, picture, _ = box.children
    assert calls == [(1.0, "line", 5)], "drawn once, with draw's defaults"
    assert bytes(picture.value).startswith(b"\x89PNG")
    first = bytes(picture.value)
    controls.children[2].value = 9
    assert calls[-1] == (1.0, "line", 9) and bytes(picture.value) != first
    assert isinstance(controls.children[1], widgets.Dropdown)
    assert plt.get_fignums() == [], "figures must not pile up under the cell"


def test_interactive_plot_surfaces_errors():
    import matplotlib.pyplot as plt

    from dlcourse.widgets import interactive_plot

    plt.close("all")

    def unfinished(k=1):
        plt.figure()
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        interactive_plot(unfinished, k=(0, 3))
    assert plt.get_fignums() == []

    state = {"fail": False}

    def flaky(k=1):
        plt.figure()
        if state["fail"]:
            raise ValueError("bad k")

    box = interactive_plot(flaky, k=(0, 3))
    state["fail"] = True
    box.children[0].children[0].value = 2
    assert "ValueError: bad k" in box.children[2].value
    with pytest.raises(ValueError, match="no figure"):
        interactive_plot(lambda k=1: None, k=(0, 3))


def test_assert_derivative_close():
    from dlcourse.checks import assert_derivative_close

    x = torch.linspace(-3, 3, 7, dtype=torch.float64)
    assert_derivative_close(lambda t: 1 - torch.tanh(t) ** 2, torch.tanh, x, name="d")
    assert "expected" in _message(assert_derivative_close, lambda t: 1 - torch.tanh(t),
                                  torch.tanh, x, name="d")

    def sneaky(t):
        t.mul_(0)  # modifies its input
        return t + 1

    assert "modified" in _message(assert_derivative_close, sneaky,
                                  lambda t: t, x.clone(), name="d")

    def uses_autograd(t):
        leaf = t.clone().requires_grad_(True)
        return torch.autograd.grad(torch.tanh(leaf).sum(), leaf)[0]

    with pytest.raises(ForbiddenCallError):
        assert_derivative_close(uses_autograd, torch.tanh, x, name="d",
                                forbidden=["torch.autograd.grad"])


def test_forbid_also_blocks_other_names_for_the_same_function():
    # a notebook's globals: names bound before the block by a student's import
    notebook = {}
    exec(textwrap.dedent("""
        import sklearn.metrics
        import torch
        from torch import dot as renamed_dot
        from sklearn.metrics import accuracy_score
        from dlcourse.checks import forbid

        def answer(x):
            return renamed_dot(x, x)

        def calls():
            x, labels = torch.ones(3), ([0, 1, 1], [0, 1, 0])
            return [lambda: answer(x), lambda: accuracy_score(*labels),
                    lambda: sklearn.metrics._classification.accuracy_score(*labels)]

        def inside():
            with forbid("torch.dot", "sklearn.metrics.accuracy_score"):
                return [call for call in calls() if not _raises(call)]
    """), notebook)

    def raises(call):
        try:
            call()
        except ForbiddenCallError:
            return True
        return False

    notebook["_raises"] = raises
    assert notebook["inside"]() == []  # every alias was blocked
    assert notebook["renamed_dot"] is torch.dot
    assert [call() for call in notebook["calls"]()] == [3, 2 / 3, 2 / 3]


def test_forbid_restores_two_paths_for_one_object_in_either_order():
    conv1d = torch.conv1d
    assert torch.nn.functional.conv1d is conv1d
    for order in (("torch.nn.functional.conv1d", "torch.conv1d"),
                  ("torch.conv1d", "torch.nn.functional.conv1d")):
        with forbid(*order):
            with pytest.raises(ForbiddenCallError):
                torch.conv1d(torch.zeros(1, 1, 3), torch.zeros(1, 1, 2))
        assert torch.conv1d is conv1d and torch.nn.functional.conv1d is conv1d, order


def test_python_docs_chars_is_split_in_order_and_decodes_back():
    from dlcourse.data import load_python_docs_chars
    corpus, chars, train_ids, val_ids = load_python_docs_chars(0.9)
    assert chars == sorted(set(corpus))
    assert len(train_ids) == int(0.9 * len(corpus))
    assert len(train_ids) + len(val_ids) == len(corpus)
    decoded = "".join(chars[i] for i in torch.cat([train_ids, val_ids]).tolist())
    assert decoded == corpus  # no shuffle: validation is the end of the text
