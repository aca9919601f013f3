"""The JAX backend: its interpreter equals compile() and the TensorFlow interpreter, its
trainer the TensorFlow trainer step for step; the JAX path runs with TensorFlow hidden."""
import os
import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = jax.numpy

import deap_nos as nos  # noqa: E402
from deap_nos.backend import NumpyBackend  # noqa: E402
from deap_nos.backends.jax.interpreter import JaxInterpreter  # noqa: E402
from deap_nos.backends.jax.namespace import JaxBackend  # noqa: E402
from deap_nos.errors import NOSError  # noqa: E402
from deap_nos import authors  # noqa: E402
from deap_nos.schedules import one_cycle  # noqa: E402

STEPS = 40
TOTAL, WARMUP, HOLD = 60, 6, 4
SEGMENTS = (5, 7)
P = sum(SEGMENTS)
SPACE = nos.SearchSpace.default()
_DROPOUT = {"drop50", "drop30", "drop10"}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _inputs(seed):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(STEPS, P)).astype(np.float32) * 0.5,
            rng.normal(size=(STEPS, P)).astype(np.float32))


def _compiled(genome, grads, weights, lr, exact, semantics="default"):
    """compile(genome)'s deltas, tensor by tensor: numpy float64 (``exact``) or JAX float32."""
    B = NumpyBackend() if exact else JaxBackend()
    program = nos.compile(genome, B, SPACE, total_steps=TOTAL, warmup_steps=WARMUP,
                          hold_steps=HOLD, semantics=semantics)
    schedule = authors.one_cycle if semantics == "authors" else one_cycle
    dtype = np.float64 if exact else np.float32
    array = (lambda x: np.asarray(x, dtype)) if exact else jnp.asarray
    bounds = np.cumsum((0,) + SEGMENTS)
    states = [program.init(array(np.zeros(n, dtype))) for n in SEGMENTS]
    out = []
    for step in range(STEPS):
        t = float(step) if exact else jnp.float32(step)
        lr_t = lr * schedule(t, TOTAL, WARMUP, HOLD, B)
        deltas = []
        for j in range(len(SEGMENTS)):
            a, b = bounds[j], bounds[j + 1]
            delta, states[j] = program.update(array(grads[step, a:b]), states[j],
                                              array(weights[step, a:b]), t, lr_t)
            deltas.append(np.broadcast_to(np.asarray(delta, np.float64), (b - a,)))
        out.append(np.concatenate(deltas))
    return np.stack(out)


_INTERP = {}


def _interp(semantics="default"):
    if semantics not in _INTERP:
        segments = np.repeat(np.arange(len(SEGMENTS)), SEGMENTS)
        interp = JaxInterpreter(SPACE, total_steps=TOTAL, warmup_steps=WARMUP,
                                hold_steps=HOLD, segments=segments, semantics=semantics)
        _INTERP[semantics] = interp, jax.jit(interp.update)
    return _INTERP[semantics]


def _interpreted(genomes, grads, weights, lrs, semantics="default"):
    interp, update = _interp(semantics)
    codes = {k: jnp.asarray(v) for k, v in interp.encode_batch(genomes).items()}
    k = len(genomes)
    one = interp.init_one(P)
    state = {n: jnp.zeros((k,) + v.shape) for n, v in one.items()}
    keys = jax.random.split(jax.random.PRNGKey(0), k)
    out = []
    for step in range(STEPS):
        g = jnp.asarray(np.tile(grads[step], (k, 1)))
        w = jnp.asarray(np.tile(weights[step], (k, 1)))
        delta, state = update(codes, g, w, state, jnp.full(k, float(step)),
                              jnp.asarray(lrs, jnp.float32), keys)
        out.append(np.asarray(delta))
    return np.stack(out, axis=1)


def _relative_error(ours, ref):
    finite = np.isfinite(ref) & np.isfinite(ours)
    scale = np.max(np.abs(np.where(finite, ref, 0.0)), axis=1, keepdims=True) + 1e-12
    return float(np.max(np.abs(np.where(finite, ours - ref, 0.0)) / scale))


def _check(genomes, seed=0, semantics="default", compiled_semantics=None):
    """The TensorFlow interpreter's rule: within 2e-4 of each step's size, or twice
    compile()'s own float32 error against float64 where that is larger.
    ``compiled_semantics``: compile()'s, when not the interpreter's (a test that must fail)."""
    grads, weights = _inputs(seed)
    lrs = [10.0 ** -(i % 4) for i in range(len(genomes))]
    ours = _interpreted(genomes, grads, weights, lrs, semantics)
    ref_semantics = compiled_semantics or semantics
    for i, genome in enumerate(genomes):
        with np.errstate(all="ignore"):
            ref = _compiled(genome, grads, weights, lrs[i], False, ref_semantics)
            exact = _compiled(genome, grads, weights, lrs[i], True, ref_semantics)
        np.testing.assert_array_equal(np.isfinite(ours[i]), np.isfinite(ref),
                                      err_msg=f"{genome}: non-finite")
        bound = max(2e-4, 2.0 * _relative_error(ref, exact))
        err = _relative_error(ours[i], ref)
        assert err < bound, f"{genome}: relative error {err:.2e} > {bound:.2e}"
    return ours


def _zoo():
    out = []
    for name in nos.zoo.names():
        try:
            out.append(nos.zoo.genome(name))
        except NOSError:
            continue
    return out


def test_zoo_equals_compile():
    _check(_zoo())


def test_random_genomes_equal_compile():
    random.seed(7)
    genomes = []
    while len(genomes) < 12:
        g = nos.initGraph(nos.OptimizerGraph, SPACE, check=False)
        if not any(g.nodes[i].op in _DROPOUT for i in g.active_nodes()):
            g.flip = random.random() < 0.3
            genomes.append(g)
    _check(genomes, seed=3)


#: Zoo genomes and others whose updates differ between the two semantics: every genome
#: through the warm-up (t/W against (t+1)/W), Opt9/Opt10 through the Nesterov form,
#: AdamSpace/QHM through the momentum cycle, the parsed ones through ``delta``.
_AUTHORS_CASES = ["AdamSpace", "QHM", "Opt9", "Opt10", "Opt1", "nesterov: delta(g)",
                  "momentum: add(delta(g), v_hat)", "none: delta(mul(g, g))"]


def _authors_cases():
    return [nos.zoo.genome(t) if t in nos.zoo.names() else nos.parse(t)
            for t in _AUTHORS_CASES]


def test_authors_semantics_equals_compile():
    """semantics="authors": the JAX interpreter equals compile(..., semantics="authors")
    (issue 21), on genomes whose updates the semantics change."""
    _check(_authors_cases(), seed=2, semantics="authors")


@pytest.mark.parametrize("text", _AUTHORS_CASES)
def test_the_authors_cases_differ_between_the_semantics(text):
    """Each case above tells the semantics apart: with the default semantics the JAX
    interpreter does not match compile(..., semantics="authors")."""
    genome = _authors_cases()[_AUTHORS_CASES.index(text)]
    with pytest.raises(AssertionError, match="relative error|non-finite"):
        _check([genome], seed=2, semantics="default", compiled_semantics="authors")


def test_population_evaluator_hands_the_authors_semantics_to_the_jax_interpreter():
    from deap_nos.evaluation.population import PopulationEvaluator

    ev = PopulationEvaluator.preset("quick", backend="jax", semantics="authors", slots=1,
                                    steps=20)
    interp = ev.trainer().interpreter
    assert interp.semantics == "authors" and interp.nesterov == "authors"
    assert PopulationEvaluator.preset("quick", backend="jax", slots=1,
                                      steps=20).trainer().interpreter.semantics == "default"


def test_the_tolerance_catches_a_wrong_rate():
    """The check fails when one run's learning rate is off by 1 %."""
    grads, weights = _inputs(0)
    genome = nos.zoo.genome("AdamSpace")
    ours = _interpreted([genome], grads, weights, [1.01e-2])[0]
    ref = _compiled(genome, grads, weights, 1e-2, exact=False)
    assert _relative_error(ours, ref) > 2e-3


def test_equals_the_tensorflow_interpreter():
    tf = pytest.importorskip("tensorflow")
    from deap_nos.backends.tensorflow.interpreter import Interpreter

    genomes = _zoo()[:12]
    grads, weights = _inputs(1)
    lrs = [10.0 ** -(i % 4) for i in range(len(genomes))]
    ours = _interpreted(genomes, grads, weights, lrs)
    segments = np.repeat(np.arange(len(SEGMENTS)), SEGMENTS)
    interp = Interpreter(SPACE, total_steps=TOTAL, warmup_steps=WARMUP, hold_steps=HOLD,
                         segments=segments)
    codes = {k: tf.constant(v) for k, v in interp.encode_batch(genomes).items()}
    state, step_fn, k = interp.init(len(genomes), P), interp.compiled(), len(genomes)
    for step in range(STEPS):
        delta, state = step_fn(codes, tf.constant(np.tile(grads[step], (k, 1))),
                               tf.constant(np.tile(weights[step], (k, 1))), state,
                               tf.fill([k], float(step)), tf.constant(lrs, tf.float32))
        for i in range(k):
            ref = delta.numpy()[i]
            scale = np.max(np.abs(ref)) + 1e-12
            assert np.max(np.abs(ours[i, step] - ref)) / scale < 2e-3, (str(genomes[i]), step)


def test_hash_equals_the_tensorflow_hash():
    tf = pytest.importorskip("tensorflow")
    from deap_nos.backends.jax.namespace import hash_bits
    from deap_nos.backends.tensorflow.batched import hash_bits as tf_hash

    seeds = [(5, 0), (2 ** 32 - 3, 17), (123456789, 4000)]
    for a, b in seeds:
        ours = np.asarray(hash_bits(np.uint32(a), np.uint32(b), (6,)))
        ref = tf_hash(tf.constant([[a, b]], tf.int64), tf.constant([6])).numpy()[0]
        np.testing.assert_array_equal(ours.astype(np.int64), ref)


# ------------------------------------------------------------------------ the trainer
def _trainers(steps):
    tf = pytest.importorskip("tensorflow")  # noqa: F841
    from deap_nos.backends import get

    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 24, 1)).astype(np.float32)
    y = (x[:, :8, 0].sum(axis=1) > 0).astype(np.int32) + 2 * (x[:, 8:16, 0].sum(1) > 0)
    out = {}
    for name in ("tensorflow", "jax"):
        t = get(name).build(4, (24, 1), 4, 2, x, y, 32, steps, 5, seed=3)
        for s, genome in enumerate(("AdamSpace", "QHM")):
            codes = t.interpreter.encode(nos.zoo.genome(genome))
            w, st = t.net.init(s + 11)
            t.assign(s, codes, w, st, 1e-2, seed=s + 11)
        out[name] = t
    return out, x, y


def test_one_slot_trains_as_on_tensorflow_step_for_step():
    trainers, _, _ = _trainers(40)
    first = {name: t.run(1)[0] for name, t in trainers.items()}
    (w_jax, s_jax), (w_tf, s_tf) = trainers["jax"].weights(0), trainers["tensorflow"].weights(0)
    np.testing.assert_allclose(s_jax, s_tf, rtol=1e-4, atol=1e-6)      # same batch
    # Adam's first step is ≈ lr·sign(g): the convolution biases before batch norm have a
    # gradient of 0 up to rounding, whose sign is noise; every other weight agrees
    net = trainers["jax"].net
    keep = np.ones(net.n_params, bool)
    for (name, _, _, _), a, b in zip(net.trainable, net.offsets, net.offsets[1:]):
        if name in ("bias1", "bias2", "bias3"):
            keep[a:b] = False
    np.testing.assert_allclose(w_jax[keep], w_tf[keep], atol=1e-6)
    losses = {name: t.run(4)[0] for name, t in trainers.items()}
    np.testing.assert_allclose(first["jax"], first["tensorflow"], rtol=1e-5)
    np.testing.assert_allclose(losses["jax"], losses["tensorflow"], rtol=2e-4, atol=2e-5)


@pytest.mark.slow
def test_final_accuracy_as_on_tensorflow_within_seed_noise():
    trainers, x, y = _trainers(150)
    accs = {}
    for name, t in trainers.items():
        t.run(150)
        if name == "jax":
            val = [(jnp.asarray(x[:128]), jnp.asarray(y[:128]))]
        else:
            import tensorflow as tf
            val = [(tf.constant(x[:128]), tf.constant(y[:128], tf.int32))]
        accs[name] = np.array([t.accuracy_of(s, val, 128) for s in range(2)])
    assert np.all(accs["jax"] > 0.33), accs          # learnt (chance is 0.25)
    assert np.all(np.abs(accs["jax"] - accs["tensorflow"]) < 0.1), accs


def test_snapshot_resumes_step_for_step():
    from deap_nos.backends.jax.trainer import build

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3, 3, 2)).astype(np.float32)    # the 2-D network
    y = rng.integers(0, 3, 64).astype(np.int32)
    t = build(2, (3, 3, 2), 3, 2, x, y, 16, 20, 2, seed=1)
    codes = t.interpreter.encode(nos.zoo.genome("AdamSpace"))
    w, st = t.net.init(5)
    t.assign(0, codes, w, st, 1e-2, seed=5)
    t.assign(1, codes, w, st, 1e-2, seed=5)
    t.run(3)
    snap = t.snapshot(0)
    after, _ = t.run(4)
    t.assign(1, codes, None, None, 1e-2, seed=5, resume=snap)
    again, _ = t.run(4)
    np.testing.assert_allclose(again[:, 1], after[:, 0], rtol=1e-5)


# ------------------------------------------------------------------ without TensorFlow
_BLOCKER = textwrap.dedent('''
    import sys
    class _Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("tensorflow", "keras"):
                raise ImportError(name + " is hidden")
    sys.meta_path.insert(0, _Block())
''')


def test_the_jax_path_runs_with_tensorflow_hidden(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(_BLOCKER)
    script = textwrap.dedent('''
        import sys
        import deap_nos as nos
        from deap_nos.evaluation.population import PopulationEvaluator
        try:
            import tensorflow
            raise SystemExit("tensorflow importable")
        except ImportError:
            pass
        ev = PopulationEvaluator.preset("quick", slots=2, backend="jax", steps=30,
                                        sweep_steps=5, eval_every=10, stop_after=10)
        results = ev.evaluate_many([nos.zoo.genome("AdamSpace"), nos.parse("g")])
        assert all(r.info["stage"] for r in results)
        assert "tensorflow" not in sys.modules and "keras" not in sys.modules
        print("ok", [round(r[0], 3) for r in results])
    ''')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), ROOT]))
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ok" in proc.stdout


def test_unknown_backend_is_a_clear_error():
    from deap_nos.evaluation.population import PopulationEvaluator

    with pytest.raises(NOSError, match="unknown backend 'torch'"):
        PopulationEvaluator.preset("quick", slots=1, backend="torch")


def test_graph_optimizer_refuses_keras_jax_backend_by_name():
    script = textwrap.dedent('''
        import deap_nos as nos
        from deap_nos.errors import NOSError
        from deap_nos.keras import GraphOptimizer
        try:
            GraphOptimizer(nos.zoo.genome("AdamSpace"))
        except NOSError as exc:
            print("refused:", exc)
    ''')
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=300)
    assert "refused:" in proc.stdout, proc.stderr[-2000:]
    assert "'jax'" in proc.stdout and "tensorflow" in proc.stdout


def test_search_under_keras_jax_backend_stops_at_the_start():
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, "-m", "deap_nos.cli", "search", "--preset", "quick",
                           "--no-verdict", "--run-dir", os.devnull + "-never"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "KERAS_BACKEND=jax" in proc.stderr and "--backend jax" in proc.stderr


def test_slot_probe_asks_the_jax_backend_for_gpus(monkeypatch):
    from deap_nos import slots
    from deap_nos.backends import jax as jax_backend
    from deap_nos.evaluation.population import PopulationEvaluator

    ev = PopulationEvaluator.preset("quick", slots=1, backend="jax")
    monkeypatch.setattr(slots, "run_steps_per_second",
                        lambda evaluator, k, steps: {16: 100.0, 32: 150.0, 64: 155.0}[k])
    monkeypatch.setattr(jax_backend, "gpu_count", lambda: 0)
    assert slots.fill_device(ev) == (1, [])
    monkeypatch.setattr(jax_backend, "gpu_count", lambda: 1)
    assert slots.fill_device(ev)[0] == 32
    assert jax_backend.out_of_memory(RuntimeError("RESOURCE_EXHAUSTED: Out of memory"))
