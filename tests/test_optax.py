"""nos.optax.transform: a genome as an optax transformation equals its compile() program."""
import numpy as np
import pytest

jax = pytest.importorskip("jax")
optax = pytest.importorskip("optax")
jnp = jax.numpy

import deap_nos as nos  # noqa: E402
from deap_nos.backend import NumpyBackend  # noqa: E402
from deap_nos.errors import NOSError  # noqa: E402

STEPS, TOTAL, LR = 100, 120, 3e-3
SHAPES = {"a": (3, 4), "b": (5,)}


def _zoo():
    out = []
    for name in nos.zoo.names():
        try:
            out.append(nos.zoo.genome(name))
        except NOSError:
            continue
    return out


def _grads(seed=0):
    rng = np.random.default_rng(seed)
    return [{k: rng.normal(size=s).astype(np.float32) * 0.5 for k, s in SHAPES.items()}
            for _ in range(STEPS)]


def _reference(genome, grads, params):
    """compile(genome) on numpy (float64), each tensor on its own, a constant rate."""
    program = nos.compile(genome, NumpyBackend(), total_steps=TOTAL)
    w = {k: np.asarray(v, np.float64) for k, v in params.items()}
    state = {k: program.init(v) for k, v in w.items()}
    out = []
    for t, g in enumerate(grads):
        step = {}
        for k in SHAPES:
            delta, state[k] = program.update(np.asarray(g[k], np.float64), state[k], w[k],
                                             float(t), LR)
            step[k] = np.broadcast_to(delta, w[k].shape)
            w[k] = w[k] + step[k]
        out.append(step)
    return out


def test_zoo_updates_equal_compile_over_100_steps():
    grads = _grads()
    params0 = {k: np.random.default_rng(1).normal(size=s).astype(np.float32)
               for k, s in SHAPES.items()}
    checked = 0
    for genome in _zoo():
        tx = nos.optax.transform(genome, learning_rate=LR, total_steps=TOTAL)
        update = jax.jit(tx.update)
        params = {k: jnp.asarray(v) for k, v in params0.items()}
        state = tx.init(params)
        with np.errstate(all="ignore"):
            ref = _reference(genome, grads, params0)
        for t, g in enumerate(grads):
            updates, state = update({k: jnp.asarray(v) for k, v in g.items()}, state, params)
            params = optax.apply_updates(params, updates)
            for k in SHAPES:
                ours, want = np.asarray(updates[k]), ref[t][k]
                scale = np.max(np.abs(want)) + 1e-12
                assert np.max(np.abs(ours - want)) / scale < 2e-3, (str(genome), t, k)
        checked += 1
    assert checked > 20


def test_state_is_a_pytree_and_a_schedule_is_used():
    genome = nos.zoo.genome("AdamSpace")
    schedule = nos.optax.one_cycle(1e-2, total_steps=50, warmup_steps=5)
    tx = nos.optax.transform(genome, learning_rate=schedule, total_steps=50)
    params = {"w": jnp.ones(3)}
    state = tx.init(params)
    assert len(jax.tree_util.tree_leaves(state)) >= 3
    g = {"w": jnp.full(3, 0.5)}
    first, state = jax.jit(tx.update)(g, state, params)
    # Adam's first step is lr · g/|g| (bias-corrected), the rate the schedule's first: 1/5
    np.testing.assert_allclose(np.asarray(first["w"]), -1e-2 / 5, rtol=1e-3)


def test_update_needs_params():
    tx = nos.optax.transform(nos.zoo.genome("AdamSpace"))
    params = {"w": jnp.ones(2)}
    with pytest.raises(NOSError, match="reads the weights"):
        tx.update(params, tx.init(params))
