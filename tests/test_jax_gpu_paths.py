"""What the JAX backend does differently for a GPU: bfloat16 activations (the same
network within bfloat16's rounding, trains as float32 does, refused where it does not
apply), per-tensor norms without a scatter, and the interpreter's node slots unrolled —
the last two the same numbers as before."""
import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

import deap_nos as nos  # noqa: E402
from deap_nos.errors import NOSError  # noqa: E402


def test_one_pass_moments_equal_two_pass():
    from deap_nos.backends.jax.net import _moments

    h = jnp.asarray(np.random.default_rng(0).normal(3.0, 0.5, size=(64, 12, 5)), jnp.float32)
    one, two = _moments(h, (0, 1), one_pass=True), _moments(h, (0, 1))
    np.testing.assert_allclose(one[0], two[0], rtol=1e-6)
    np.testing.assert_allclose(one[1], two[1], rtol=1e-3)
    np.testing.assert_allclose(two[1], np.var(np.asarray(h), axis=(0, 1)), rtol=1e-4)


def _net_and_batch(precision, ndim=2):
    from deap_nos.backends.jax.net import JaxConvNet

    shape = (8, 8, 3) if ndim == 2 else (24, 2)
    net = JaxConvNet(4, shape, 5, precision=precision)
    x = jnp.asarray(np.random.default_rng(1).normal(size=(16,) + shape), jnp.float32)
    w, stats = net.init(7)
    return net, jnp.asarray(w), jnp.asarray(stats), x


def test_bfloat16_forward_and_gradient_follow_float32(ndim=2):
    outs = {}
    for precision in ("float32", "bfloat16"):
        net, w, stats, x = _net_and_batch(precision, ndim)

        def loss(w):
            probs, new = net.forward_one(w, stats, x, True, (jnp.uint32(1), jnp.uint32(0)))
            return -jnp.mean(jnp.log(probs[:, 0])), (probs, new)

        (value, (probs, new)), grad = jax.jit(jax.value_and_grad(loss, has_aux=True))(w)
        assert grad.dtype == jnp.float32 and new.dtype == jnp.float32 and probs.dtype == \
            jnp.float32                              # weights, statistics, head: float32
        outs[precision] = (np.asarray(probs), np.asarray(new), np.asarray(grad))
    (p32, s32, g32), (p16, s16, g16) = outs["float32"], outs["bfloat16"]
    assert not np.array_equal(p32, p16)              # the option really changes the arithmetic
    np.testing.assert_allclose(p16, p32, atol=0.03)  # bfloat16 keeps 8 bits of mantissa
    np.testing.assert_allclose(s16, s32, rtol=0.05, atol=0.02)
    cosine = g16 @ g32 / (np.linalg.norm(g16) * np.linalg.norm(g32))
    assert cosine > 0.99, cosine


@pytest.mark.slow
def test_bfloat16_trains_as_float32_does():
    from deap_nos.backends.jax.trainer import build

    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 24, 1)).astype(np.float32)
    y = (x[:, :8, 0].sum(axis=1) > 0).astype(np.int32) + 2 * (x[:, 8:16, 0].sum(1) > 0)
    val = [(jnp.asarray(x[:128]), jnp.asarray(y[:128]))]
    losses, accs = {}, {}
    for precision in ("float32", "bfloat16"):
        t = build(4, (24, 1), 4, 2, x, y, 32, 120, 5, seed=3, precision=precision)
        codes = t.interpreter.encode(nos.zoo.genome("AdamSpace"))
        for s in range(2):
            w, st = t.net.init(s + 11)
            t.assign(s, codes, w, st, 1e-2, seed=s + 11)
        losses[precision] = t.run(120)[0]
        accs[precision] = t.accuracy(val, 128)
    assert np.all(accs["bfloat16"] > 0.4), accs           # learnt (chance is 0.25)
    assert np.all(np.abs(accs["bfloat16"] - accs["float32"]) < 0.1), accs
    late = {p: v[-20:].mean(axis=0) for p, v in losses.items()}
    np.testing.assert_allclose(late["bfloat16"], late["float32"], rtol=0.25)


def test_precision_is_refused_where_it_does_not_apply():
    from deap_nos.backends.jax.net import JaxConvNet
    from deap_nos.evaluation.population import PopulationEvaluator

    with pytest.raises(NOSError, match="precision"):
        JaxConvNet(4, (24, 1), 4, precision="float16")
    with pytest.raises(NOSError, match="backend='jax'"):
        PopulationEvaluator("default", slots=2, precision="bfloat16")
    ev = PopulationEvaluator("default", slots=2, backend="jax", precision="bfloat16")
    assert "precision='bfloat16'" in repr(ev) and ev._build_options() == {
        "precision": "bfloat16"}


def test_search_refuses_bfloat16_without_the_jax_backend(tmp_path, capsys):
    from deap_nos.cli import main

    code = main(["search", "--precision", "bfloat16", "--run-dir", str(tmp_path / "r"),
                 "--particles", "2", "--steps", "1"])
    assert code != 0
    assert "--backend jax" in capsys.readouterr().err


def test_per_tensor_norm_by_slices_equals_segment_sum():
    from deap_nos.backends.jax.namespace import JaxBackend

    segments = np.repeat(np.arange(4), [3, 1, 5, 2]).astype(np.int32)
    x = jnp.asarray(np.random.default_rng(2).normal(size=segments.size), jnp.float32)
    B = JaxBackend(segments)
    assert B.ranges == [(0, 3), (3, 4), (4, 9), (9, 11)]
    expected = np.sqrt(np.bincount(segments, np.asarray(x) ** 2))[segments]
    np.testing.assert_allclose(B.norm(x), expected, rtol=1e-6)
    np.testing.assert_allclose(jax.vmap(B.norm)(jnp.stack([x, 2 * x]))[1], 2 * expected,
                               rtol=1e-6)
    shuffled = JaxBackend(segments[::-1].copy())        # not contiguous: segment_sum
    assert shuffled.ranges is None
    np.testing.assert_allclose(shuffled.norm(x), np.sqrt(np.bincount(
        segments[::-1], np.asarray(x) ** 2))[segments[::-1]], rtol=1e-6)


def test_unrolled_node_slots_equal_the_loop():
    from deap_nos.backends.jax.interpreter import JaxInterpreter

    segments = np.repeat(np.arange(3), [4, 2, 6]).astype(np.int32)
    interps = {unroll: JaxInterpreter(total_steps=50, warmup_steps=5, segments=segments)
               for unroll in (False, True)}
    updates = {}
    for unroll, interp in interps.items():
        interp.unroll = unroll
        updates[unroll] = jax.jit(interp.update)        # one program each, every genome
    rng = np.random.default_rng(3)
    g = jnp.asarray(rng.normal(size=(2, 12)), jnp.float32)
    w = jnp.asarray(rng.normal(size=(2, 12)), jnp.float32)
    keys = jax.vmap(jax.random.PRNGKey)(jnp.arange(2))
    for name in ("AdamSpace", "Opt1", "Opt9"):
        codes = {k: np.stack([v, v]) for k, v in interps[False].encode(
            nos.zoo.genome(name)).items()}
        state = {k: jnp.zeros((2,) + v.shape) for k, v in interps[False].init_one(12).items()}
        out = {}
        for unroll, update in updates.items():
            delta, new = update(codes, g, w, state, jnp.full(2, 3.0), jnp.full(2, 1e-2), keys)
            out[unroll] = (np.asarray(delta), np.asarray(new["nodes"]))
        np.testing.assert_allclose(out[True][0], out[False][0], rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(out[True][1], out[False][1], rtol=1e-6, atol=1e-9)
        assert np.any(out[True][0] != 0)
