"""The shifted-sphere integrity check (docs/reference.md §6)."""
import numpy as np
import pytest

import deap_nos as nos
from deap_nos.spaces.nos.integrity import SHIFT, X0, sphere_losses

PASSING = {
    "Adam": "div(v_hat, sqrt_abs(s_hat))", "SGD": "g", "Sign": "sign_g", "QHM": "qh_v",
    "Opt1": "add(qh_v, softsign(clip(wd5, sub(wd5, qh_s))))",
    "Opt2": "add(qh_v, softsign(div_sqrt1p(wd5, sub(wd5, qh_s))))",
    "Opt3": "add(qh_v, softsign(div_sqrt1p(wd5, sub(wd5, qh_l))))",
    "Opt4": "div(decay(qh_v, erfc(erfc(a4))), decay(clip(two, decay(exp(v_hat), atan(a13))), dtanh(a8)))",
    "Opt5": "div(decay(qh_v, erfc(erfc(a4))), decay(clip(two, exp(v_hat)), dtanh(a8)))",
    "Opt6": "div(decay(qh_v, erfc(erfc(a4))), decay(abs(decay(exp(wd4), dtanh(a4))), dtanh(a8)))",
    "Opt7": "tanh(decay(asinh(qh_v), max(a6, a10)))",
    "Opt8": "asinh(decay(asinh(qh_v), max(a6, a10)))",
    "Opt9": "nesterov: mul(decay(g, erfc(a11)), exp(atan(qh_s)))",
    "Opt10": "nesterov: bessel_i1e(bessel_i1e(decay(g, mul(a13, a2))))",
    "A1": "clip(v_hat, sqrt_abs(s_hat))", "A2": "clip(v_hat, log_abs(s_hat))",
    "A3": "clip(v_hat, sqrt_abs(log_abs(s_hat)))", "A4": "clip(v_hat, sigmoid(s_hat))",
    "A5": "clip_norm(clip(v_hat, sqrt_abs(s_hat)))",
    "PowerSign-ld": "mul(exp(decay(mul(sign_g, sign_v), a1)), g)",
    "AddSign-ld": "mul(add(one, decay(mul(sign_g, sign_v), a1)), g)",
}


def test_start_point_loss_is_the_papers():
    assert np.sum((np.array(X0) - np.array(SHIFT)) ** 2) == pytest.approx(7.1525)


@pytest.mark.parametrize("name", sorted(PASSING))
def test_known_optimizers_pass(name):
    result = nos.integrity_check(nos.parse(PASSING[name]))
    assert result.passed and not result.flip, result
    assert min(result.losses) < 3.5


@pytest.mark.parametrize("text", ["one", "two", "wd4", "abs(g)", "nesterov: one"])
def test_degenerate_updates_fail(text):
    result = nos.integrity_check(nos.parse(text))
    assert not result.passed and result.reason


def test_negated_gradient_passes_only_flipped():
    result = nos.integrity_check(nos.parse("neg(g)"))
    assert result.passed and result.flip
    assert not nos.integrity_check(nos.parse("neg(g)"), try_flip=False).passed


def test_sgd_losses_by_hand():
    """Plain gradient descent with the warm-up–cosine schedule, written out."""
    x0, b = np.array(X0), np.array(SHIFT)
    expected = []
    for lr in (1.0, 0.1, 0.01):
        x = x0.copy()
        for t in range(35):
            warm = min((t + 1) / 6, 1.0)
            tau = min(max(t - 6, 0) / 29, 1.0)
            x = x - lr * warm * 0.5 * (1 + np.cos(np.pi * tau)) * 2 * (x - b)
        expected.append(np.sum((x - b) ** 2))
    losses = sphere_losses(nos.parse("g"), lrs=(1.0, 0.1, 0.01), signs=(1.0,))
    np.testing.assert_allclose(losses[0], expected, rtol=1e-12)


def test_nan_never_passes():
    result = nos.integrity_check(nos.parse("log_abs(sub(g, g))"))
    assert not result.passed
    assert not nos.integrity_check(nos.parse("div(one, sub(g, g))")).passed


def test_every_constant_is_a_parameter():
    genome = nos.parse("g")
    assert not nos.integrity_check(genome, threshold=1e-30, lrs=(0.001,)).passed
    assert nos.integrity_check(genome, x0=(0.0,), shift=(0.1,), steps=10, warmup=2,
                               lrs=(0.1,), threshold=0.01).passed


def test_decay_integrity():
    assert nos.decay_integrity(nos.parse_decay("erfc(erfc(a4))"))
    assert nos.decay_integrity(nos.parse_decay("add(a1, a2)"))              # == 1 everywhere
    assert not nos.decay_integrity(nos.parse_decay("div(a1, a2)"))            # > 1
    assert not nos.decay_integrity(nos.parse_decay("sub(a2, a1)"))            # < 0
    same = nos.parse_decay("a1")
    assert not nos.decay_integrity(nos.parse_decay("id(a1)"), others=[same])
    assert nos.decay_integrity(nos.parse_decay("a2"), others=[same])
