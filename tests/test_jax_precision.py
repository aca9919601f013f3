"""The JAX network's bfloat16 option: same network within bfloat16's rounding, trains as
float32 does, and refused where it does not apply."""
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
