"""dlcourse.checks.assert_optimizer_steps_match: it passes correct step
functions (also exact rewrites that round differently) and fails wrong ones
with a message that names the step and the quantity."""

import math

import pytest
import torch

from dlcourse.checks import (
    ForbiddenCallError,
    assert_optimizer_steps_match,
    random_quadratic,
)

_SGD_KEYS = {"velocity": "momentum_buffer"}
_ADAM_KEYS = {"m": "exp_avg", "v": "exp_avg_sq"}


def _sgd(param, grad, velocity, lr, momentum, weight_decay=0.0):
    g = grad + weight_decay * param
    new_velocity = g if velocity is None else momentum * velocity + g
    return param - lr * new_velocity, new_velocity


def _adam_efficient(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    # Kingma and Ba's efficient form: an exact rewrite that rounds differently.
    beta1, beta2 = betas
    new_m = beta1 * m + (1 - beta1) * grad
    new_v = beta2 * v + (1 - beta2) * grad * grad
    step_size = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)
    eps_hat = eps * math.sqrt(1 - beta2**t)
    return param - step_size * new_m / (new_v.sqrt() + eps_hat), new_m, new_v


def _check_sgd(step, *, num_steps=10, forbidden=(), first_state=lambda p: (None,)):
    grad_fn, start = random_quadratic((3, 4), seed=0)
    assert_optimizer_steps_match(
        step, lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9,
                                             weight_decay=0.01),
        grad_fn, start, num_steps, state_keys=_SGD_KEYS, first_state=first_state,
        forbidden=forbidden, rtol=1e-8, atol=1e-10, name="sgd step")


def test_passes_a_correct_momentum_step_from_none_or_zeros():
    _check_sgd(lambda p, g, s, t: _sgd(p, g, s[0], 0.1, 0.9, 0.01))
    _check_sgd(lambda p, g, s, t: _sgd(p, g, s[0], 0.1, 0.9, 0.01),
               first_state=lambda p: (torch.zeros_like(p),))


def test_passes_the_efficient_form_of_adam_over_many_steps():
    grad_fn, start = random_quadratic((2, 3, 5), seed=3)
    hp = dict(lr=0.2, betas=(0.95, 0.9999), eps=1e-3)
    assert_optimizer_steps_match(
        lambda p, g, s, t: _adam_efficient(p, g, *s, t, **hp),
        lambda params: torch.optim.Adam(params, **hp), grad_fn, start, 100,
        state_keys=_ADAM_KEYS, rtol=1e-8, atol=1e-10, name="adam")


def test_passes_float32_with_a_float32_tolerance():
    grad_fn, start = random_quadratic((6,), seed=2, dtype=torch.float32)
    assert_optimizer_steps_match(
        lambda p, g, s, t: _adam_efficient(p, g, *s, t),
        lambda params: torch.optim.Adam(params), grad_fn, start, 20,
        state_keys=_ADAM_KEYS, rtol=1e-4, atol=1e-5, name="adam float32")


def test_fails_a_wrong_rule_naming_the_step_and_the_quantity():
    def ema_momentum(p, g, s, t):  # the moving-average form: wrong for torch
        velocity = torch.zeros_like(p) if s[0] is None else s[0]
        new_velocity = 0.9 * velocity + 0.1 * (g + 0.01 * p)
        return p - 0.1 * new_velocity, new_velocity

    with pytest.raises(AssertionError, match=r"sgd step, step t=1: new_param vs "
                       r"torch.optim's parameter: values differ"):
        _check_sgd(ema_momentum)


def test_fails_a_wrong_state_even_when_the_parameter_is_right():
    def wrong_velocity(p, g, s, t):
        new_p, new_v = _sgd(p, g, s[0], 0.1, 0.9, 0.01)
        return new_p, 2 * new_v

    with pytest.raises(AssertionError, match=r"step t=1: new_velocity vs "
                       r"torch.optim's momentum_buffer"):
        _check_sgd(wrong_velocity)


def test_fails_a_mistake_that_only_shows_after_the_first_step():
    def forgets_the_velocity(p, g, s, t):
        return _sgd(p, g, None, 0.1, 0.9, 0.01)

    with pytest.raises(AssertionError, match=r"step t=2: new_param"):
        _check_sgd(forgets_the_velocity)


def test_fails_when_an_argument_is_modified_in_place():
    def in_place(p, g, s, t):
        new_p, new_v = _sgd(p, g, s[0], 0.1, 0.9, 0.01)
        p.copy_(new_p)
        return p.clone(), new_v

    with pytest.raises(AssertionError, match=r"the argument param was modified"):
        _check_sgd(in_place)


def test_fails_when_a_result_is_an_argument_itself():
    def returns_grad(p, g, s, t):  # right values, but the caller's tensor
        velocity = g if s[0] is None else 0.9 * s[0] + g
        return p - 0.1 * velocity, velocity

    grad_fn, start = random_quadratic((4,), seed=1)
    with pytest.raises(AssertionError, match=r"new_velocity shares memory with the "
                       r"argument grad"):
        assert_optimizer_steps_match(
            returns_grad, lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9),
            grad_fn, start, 3, state_keys=_SGD_KEYS, first_state=lambda p: (None,),
            rtol=1e-8, atol=1e-10, name="sgd step")


def test_fails_a_wrong_number_of_results_and_a_wrong_dtype():
    with pytest.raises(AssertionError, match=r"expected a tuple \(new_param, "
                       r"new_velocity\)"):
        _check_sgd(lambda p, g, s, t: _sgd(p, g, s[0], 0.1, 0.9, 0.01)[0])
    with pytest.raises(AssertionError, match=r"expected dtype torch.float64"):
        _check_sgd(lambda p, g, s, t: tuple(
            x.float() for x in _sgd(p, g, s[0], 0.1, 0.9, 0.01)))


def test_fails_a_call_to_a_forbidden_built_in():
    def uses_torch(p, g, s, t):
        torch.optim.SGD([p.clone().requires_grad_()], lr=0.1)
        return _sgd(p, g, s[0], 0.1, 0.9, 0.01)

    with pytest.raises(ForbiddenCallError, match="torch.optim.SGD"):
        _check_sgd(uses_torch, forbidden=("torch.optim.SGD",))


def test_leaves_start_alone():
    grad_fn, start = random_quadratic((5,), seed=4)
    before = start.clone()
    assert_optimizer_steps_match(
        lambda p, g, s, t: _sgd(p, g, None, 0.1, 0.0)[:1],
        lambda params: torch.optim.SGD(params, lr=0.1), grad_fn, start, 5,
        rtol=1e-8, atol=1e-10, name="plain sgd")
    assert torch.equal(start, before) and not start.requires_grad
