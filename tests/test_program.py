"""Compiled programs against hand-written numpy equations."""
import numpy as np
import pytest

import deap_nos as nos
from deap_nos.backend import NumpyBackend
from deap_nos.schedules import momentum_cycle, one_cycle


def run(text, steps=6, lr=0.1, total=20, warmup=0, seed=0, **kw):
    genome = nos.parse(text)
    program = nos.compile(genome, total_steps=total, warmup_steps=warmup, **kw)
    rng = np.random.default_rng(seed)
    w = rng.normal(size=4)
    grads = rng.normal(size=(steps, 4))
    state = program.init(w)
    ws = []
    for t in range(steps):
        delta, state = program.update(grads[t], state, w, t, lr)
        w = w + delta
        ws.append(w)
    return np.array(ws), grads, state, program


def test_adam_in_the_space_by_hand():
    ws, grads, _, _ = run("div(v_hat, sqrt_abs(s_hat))")
    w = np.random.default_rng(0).normal(size=4)
    v = s = np.zeros(4)
    for t, g in enumerate(grads):
        v = 0.9 * v + 0.1 * g
        s = 0.99 * s + 0.01 * g * g
        vh, sh = v / (1 - 0.9 ** (t + 1)), s / (1 - 0.99 ** (t + 1))
        w = w - 0.1 * vh / (np.sqrt(sh) + 1e-7)
        np.testing.assert_allclose(ws[t], w, rtol=1e-12)


def test_only_the_state_the_graph_reads_is_allocated():
    assert nos.compile(nos.parse("g")).state_names() == []
    assert nos.compile(nos.parse("div(v_hat, sqrt_abs(s_hat))")).state_names() == ["s", "v"]
    assert nos.compile(nos.parse("qh_l")).state_names() == ["l"]
    assert nos.compile(nos.parse("nesterov: ema(g)")).state_names() == ["node4", "mu"]


def test_inactive_nodes_cost_nothing():
    genome = nos.parse("g")
    genome.nodes[0] = nos.Node("ema", ["l_hat"])   # inactive: the output reads g only
    assert nos.compile(genome).state_names() == []


@pytest.mark.parametrize("form", ["momentum", "nesterov"])
def test_momentum_forms_by_hand(form):
    ws, grads, _, program = run(f"{form}: g", total=10, warmup=3)
    w = np.random.default_rng(0).normal(size=4)
    mu = np.zeros(4)
    B = NumpyBackend()
    for t, g in enumerate(grads):
        m = momentum_cycle(t, 10, 3, 0, B)
        mu = m * mu - 0.1 * g
        w = w + (mu if form == "momentum" else m * mu - 0.1 * g)
        np.testing.assert_allclose(ws[t], w, rtol=1e-12)


def test_authors_nesterov_variant():
    ws, grads, _, _ = run("nesterov: g", momentum_schedule=0.9, nesterov="authors")
    w = np.random.default_rng(0).normal(size=4)
    mu = np.zeros(4)
    for t, g in enumerate(grads):
        mu = 0.9 * mu - 0.1 * g
        w = w + mu - 0.1 * g
        np.testing.assert_allclose(ws[t], w, rtol=1e-12)


def test_flip_reverses_the_update():
    up, grads, _, _ = run("g")
    down, _, _, _ = run("flip: g")
    w0 = np.random.default_rng(0).normal(size=4)
    np.testing.assert_allclose(up - w0, -(down - w0), rtol=1e-12)


def test_state_saving_ops_by_hand():
    genome = nos.parse("add(ema(g), add(delta(g), running_max(g)))")
    program = nos.compile(genome)
    grads = np.random.default_rng(1).normal(size=(5, 3))
    state = program.init(np.zeros(3))
    n = prev = np.zeros(3)
    peak = np.zeros(3)
    for t, g in enumerate(grads):
        u, state = program.direction(g, state, np.zeros(3), t)
        n = 0.95 * n + 0.05 * g
        peak = np.maximum(peak, g)
        np.testing.assert_allclose(u, n / (1 - 0.95 ** (t + 1)) + (g - prev) + peak)
        prev = g


def test_decay_multiplies_the_edge():
    genome = nos.parse("mul(decay(g, erfc(erfc(a4))), two)")
    program = nos.compile(genome, total_steps=50)
    from scipy.special import erfc
    g = np.array([1.0, -2.0])
    for t in (0, 10, 49):
        u, _ = program.direction(g, program.init(g), g, t)
        d = erfc(erfc(0.5 * (1 - np.cos(np.pi * t / 50))))
        np.testing.assert_allclose(u, 2 * d * g)


def test_aggmo_and_qh_operands_by_hand():
    grads = np.random.default_rng(2).normal(size=(3, 2))
    for text, fn in [
        ("agg_v", lambda v, s, g, t: np.mean([b * v - g for b in (0, 0.9, 0.999)], axis=0)),
        ("qh_s", lambda v, s, g, t: 0.05 * g * g + 0.95 * s / (1 - 0.99 ** (t + 1))),
    ]:
        program = nos.compile(nos.parse(text))
        state = program.init(np.zeros(2))
        v = s = np.zeros(2)
        for t, g in enumerate(grads):
            u, state = program.direction(g, state, np.zeros(2), t)
            v, s = 0.9 * v + 0.1 * g, 0.99 * s + 0.01 * g * g
            np.testing.assert_allclose(u, fn(v, s, g, t), err_msg=text)


def test_vectorised_runs_match_single_runs():
    genome = nos.parse("nesterov: clip_norm(div(v_hat, sqrt_abs(s_hat)))")
    batched = nos.compile(genome, NumpyBackend(batch_axes=1), total_steps=10, warmup_steps=2)
    single = nos.compile(genome, NumpyBackend(batch_axes=0), total_steps=10, warmup_steps=2)
    rng = np.random.default_rng(4)
    w = rng.normal(size=(3, 5))
    lr = np.array([[1.0], [0.1], [0.01]])
    sb = batched.init(w)
    ss = [single.init(w[i]) for i in range(3)]
    ws = [w[i].copy() for i in range(3)]
    for t in range(10):
        g = rng.normal(size=(3, 5))
        delta, sb = batched.update(g, sb, w, t, lr)
        w = w + delta
        for i in range(3):
            d, ss[i] = single.update(g[i], ss[i], ws[i], t, lr[i, 0])
            ws[i] = ws[i] + d
    np.testing.assert_allclose(w, np.array(ws), rtol=1e-12)


def test_one_cycle_schedule_shape():
    B = NumpyBackend()
    f = [float(one_cycle(t, 35, 6, 0, B)) for t in range(35)]
    assert f[0] == pytest.approx(1 / 6) and f[5] == pytest.approx(1.0)
    assert f[6] == pytest.approx(1.0) and f[-1] == pytest.approx(0.5 * (1 + np.cos(np.pi * 28 / 29)))
    assert all(a >= b for a, b in zip(f[6:], f[7:]))
    held = [float(one_cycle(t, 20, 2, 5, B)) for t in range(2, 7)]
    assert held == [1.0] * 5
    m = [float(momentum_cycle(t, 35, 6, 0, B)) for t in range(35)]
    assert m[0] == pytest.approx(0.95) and m[6] == pytest.approx(0.85)
    assert m[-1] == pytest.approx(0.85 + 0.1 * 28 / 29)
