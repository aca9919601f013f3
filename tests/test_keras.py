"""The Keras side: the ``keras.ops`` namespace, GraphOptimizer, ADES, schedules, lr multipliers."""
import subprocess
import sys

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

import deap_nos as nos  # noqa: E402
from deap_nos import zoo  # noqa: E402
from deap_nos.backend import NumpyBackend  # noqa: E402
from deap_nos.errors import NOSError, ParseError  # noqa: E402
from deap_nos.keras import (FactorSchedule, GraphOptimizer, KerasBackend,  # noqa: E402
                            MomentumCycle, OneCycle, lr_multiplier, lr_multiplier_values,
                            strip_lr_multiplier)
from deap_nos.schedules import momentum_cycle, one_cycle  # noqa: E402

ADAM = "div(v_hat, sqrt_abs(s_hat))"


def test_import_deap_nos_does_not_import_tensorflow():
    code = ("import sys, deap_nos; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------- namespace
def test_keras_namespace_has_every_numpy_name():
    missing = [n for n in dir(NumpyBackend) if not n.startswith("_")
               and not hasattr(KerasBackend(), n)]
    assert missing == []


UNARY = ["abs", "sign", "sqrt", "exp", "log", "tanh", "arctan", "arcsinh", "erf", "erfc",
         "bessel_i1e", "sigmoid", "softplus", "cos", "floor", "square"]


@pytest.mark.parametrize("xla", [False, True])
@pytest.mark.parametrize("name", UNARY)
def test_keras_namespace_matches_numpy(name, xla):
    x = np.concatenate([np.random.default_rng(0).normal(size=40) * 3,
                        np.linspace(-40, 40, 81)])
    if name in ("sqrt", "log"):
        x = np.abs(x) + 0.1
    if name == "exp":
        x = x / 10
    got = np.asarray(getattr(KerasBackend(xla=xla), name)(x.astype("float32")))
    want = getattr(NumpyBackend(), name)(x)
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)


def test_norm_and_dropout():
    B = KerasBackend(seed=3)
    B.make_generator()
    x = np.arange(12, dtype="float32").reshape(3, 4)
    assert float(B.norm(x)) == pytest.approx(np.linalg.norm(x), rel=1e-6)
    out = np.asarray(B.dropout(tf.ones((200, 50)), 0.3))
    assert set(np.unique(out)) <= {0.0, np.float32(1 / 0.7)}
    assert abs((out == 0).mean() - 0.3) < 0.02


# ---------------------------------------------------------------------- state allocation
@pytest.mark.parametrize("text, names", [
    (ADAM, ("s", "v")), ("sign_g", ()), ("nesterov: bessel_i1e(g)", ("mu",)),
    ("momentum: add(ema(qh_l), delta(g))", ("l", "node0", "node1", "mu")),
])
def test_allocates_only_what_the_graph_reads(text, names):
    opt = GraphOptimizer(text, total_steps=10)
    w, b = keras.Variable(np.ones((3, 2), "float32")), keras.Variable(np.zeros(2, "float32"))
    opt.build([w, b])
    assert sorted(opt.state_names) == sorted(names)
    assert len(opt.variables) == 2 + 2 * len(names)   # iterations, learning rate


# ---------------------------------------------------------------------- TF == numpy
CUSTOM = [
    "momentum, flip: add(ema(g), delta(running_max(g2)))",
    "nesterov: clip_norm(mul(agg_v, softplus(l_hat)))",
    "div(pow_abs(qh_l, one), interp(recip(g2), log_abs(agg_s)))",
    "nesterov: sub(decay(soft_inv(wd3), dsigmoid(a7)), decay(min0(relu(sign_v)), div(a5, a9)))",
    "momentum: max(decay(neg(agg_l), add(a3, a12)), min(wd6, sigmoid(erfc(g3))))",
]


def _run_both(text, steps=50, nesterov="default", momentum_schedule="cycle", T=50,
              jit_update=True):
    genome = nos.parse(text)
    rng = np.random.default_rng(1)
    w0 = rng.normal(size=(3, 5))
    grads = [rng.normal(size=w0.shape) for _ in range(steps)]
    program = nos.compile(genome, NumpyBackend(), total_steps=T, warmup_steps=5,
                          hold_steps=3, nesterov=nesterov, momentum_schedule=momentum_schedule)
    var = keras.Variable(w0.astype("float32"))
    opt = GraphOptimizer(genome, learning_rate=0.05, total_steps=T, warmup_steps=5,
                         hold_steps=3, nesterov=nesterov, momentum_schedule=momentum_schedule,
                         jit_update=jit_update)
    opt.build([var])
    step = tf.function(lambda g: opt.apply([g], [var]))
    w, state = w0.copy(), program.init(w0)
    for t, g in enumerate(grads):
        lr = 0.05 * one_cycle(float(t), T, 5, 3, NumpyBackend())
        delta, state = program.update(g, state, w, float(t), lr)
        w = w + delta
        step(tf.constant(g, tf.float32))
        np.testing.assert_allclose(var.numpy(), w, rtol=1e-4, atol=2e-5, err_msg=f"step {t}")
    return w0, w


@pytest.mark.parametrize("jit_update", [True, False])
@pytest.mark.parametrize("text", CUSTOM)
def test_keras_matches_numpy_on_custom_genomes(text, jit_update):
    w0, w = _run_both(text, jit_update=jit_update)
    assert np.abs(w - w0).max() > 1e-3


def test_authors_nesterov_and_constant_momentum():
    _run_both("nesterov: qh_v", nesterov="authors", momentum_schedule=0.9)


# ---------------------------------------------------------------------- Adam
def test_adam_in_the_space_tracks_keras_adam():
    """AdamSpace = v̂/(√ŝ + 1e-7), β₂ = 0.99, against keras Adam(0.9, 0.99) on one schedule.

    Keras adds eps to √s (uncorrected): v̂/(√ŝ + ε') = m̂/(√s + ε'·√(1−β₂^t)), so
    ε = 1e-7·√(1 − 0.99) = 1e-8 matches at step 0 and differs by < 1e-7 after; with
    gradients ~1e-1 that is invisible. Tolerance: weights within 1e-5 over 100 steps of
    a 2-layer regression net.
    """
    T, W = 100, 10
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype("float32")
    y = (x @ rng.normal(size=(6, 1)) + 0.1 * rng.normal(size=(64, 1))).astype("float32")

    def train(opt):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="tanh"),
                                  keras.layers.Dense(1)])
        model.compile(opt, "mse", jit_compile=False)
        model.fit(x, y, batch_size=16, epochs=T // 4, verbose=0, shuffle=False)
        return [w.numpy() for w in model.trainable_variables], model

    ours, _ = train(GraphOptimizer(ADAM, learning_rate=0.01, total_steps=T, warmup_steps=W))
    adam = keras.optimizers.Adam(OneCycle(0.01, T, W), beta_1=0.9, beta_2=0.99, epsilon=1e-8)
    theirs, model = train(adam)
    assert int(adam.iterations) == T
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-4)


# ---------------------------------------------------------------------- Keras integration
def _blobs(n=256, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 4)) + 2.0 * y[:, None]
    return x.astype("float32"), y.astype("int32")


def _model():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"),
                             keras.layers.Dense(2, activation="softmax")])


def test_fit_with_and_without_jit_agree():
    x, y = _blobs()
    weights = []
    for jit in (False, True):
        model = _model()
        opt = zoo.optimizer("Opt10", learning_rate=1.0, total_steps=16)
        model.compile(opt, "sparse_categorical_crossentropy", jit_compile=jit)
        model.fit(x, y, batch_size=32, epochs=2, verbose=0, shuffle=False)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_custom_loop_lr_assignment_and_reset():
    x, y = _blobs()
    model = _model()
    opt = GraphOptimizer("nesterov: mul(decay(g, erfc(a11)), exp(atan(qh_s)))",
                         learning_rate=0.5, total_steps=20)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()

    @tf.function(jit_compile=True)
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
        opt.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
        return loss

    first = float(step(x, y))
    for _ in range(9):
        last = float(step(x, y))
    assert last < first
    traced = step.experimental_get_tracing_count()
    opt.learning_rate = 0.1
    step(x, y)
    assert step.experimental_get_tracing_count() == traced
    assert float(opt.peak_learning_rate) == pytest.approx(0.1)
    opt.reset()
    assert int(opt.iterations) == 0
    assert all(not np.any(v.numpy()) for v in opt.variables if v is not opt._learning_rate)
    assert float(opt.peak_learning_rate) == pytest.approx(0.1)


def test_scheduled_learning_rate_is_peak_times_one_cycle():
    opt = GraphOptimizer("g", learning_rate=2.0, total_steps=40, warmup_steps=4, hold_steps=6)
    var = keras.Variable(np.zeros(3, "float32"))
    opt.build([var])
    B = NumpyBackend()
    for t in range(40):
        before = var.numpy().copy()
        opt.apply([np.ones(3, "float32")], [var])
        want = 2.0 * one_cycle(float(t), 40, 4, 6, B)
        assert before[0] - var.numpy()[0] == pytest.approx(want, rel=1e-4, abs=1e-7)
    assert GraphOptimizer("g", total_steps=1000).warmup_steps == 100


def test_learning_rate_reports_the_applied_rate_and_assigning_sets_the_peak():
    """Issue 22: ``opt.learning_rate`` was the constant peak while the applied rate fell."""
    opt = GraphOptimizer("g", learning_rate=2.0, total_steps=40, warmup_steps=4, hold_steps=6)
    var = keras.Variable(np.zeros(3, "float32"))
    opt.build([var])
    B = NumpyBackend()
    for t in range(30):
        assert float(opt.learning_rate) == pytest.approx(2.0 * one_cycle(float(t), 40, 4, 6, B),
                                                         rel=1e-5)
        opt.apply([np.ones(3, "float32")], [var])
    assert float(opt.learning_rate) < 0.5 * 2.0
    opt.learning_rate = 4.0            # the evaluator's sweep assigns the peak
    assert float(opt.peak_learning_rate) == 4.0
    assert float(opt.learning_rate) == pytest.approx(4.0 * one_cycle(30.0, 40, 4, 6, B), rel=1e-5)


def test_fit_logs_the_falling_rate():
    x, y = _blobs()
    model = _model()
    opt = zoo.optimizer("Opt10", learning_rate=1.0, total_steps=20)
    model.compile(opt, "sparse_categorical_crossentropy")
    seen = []
    callback = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(float(model.optimizer.learning_rate)))
    model.fit(x, y, batch_size=32, epochs=2, verbose=0, shuffle=False, callbacks=[callback])
    steps = int(opt.iterations)
    B = NumpyBackend()
    assert seen[-1] == pytest.approx(one_cycle(float(steps), 20, 2, 0, B), rel=1e-5)
    assert seen[0] > seen[-1]


def test_overrunning_total_steps_holds_zero_and_warns_once():
    opt = GraphOptimizer("g", learning_rate=1.0, total_steps=5, warmup_steps=1)
    var = keras.Variable(np.zeros(2, "float32"))
    opt.build([var])
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(5):
            opt.apply([np.ones(2, "float32")], [var])
        assert not [w for w in caught if "total_steps" in str(w.message)]
        held = var.numpy().copy()
        for _ in range(3):
            opt.apply([np.ones(2, "float32")], [var])
            assert float(opt.learning_rate) == 0.0
        np.testing.assert_array_equal(var.numpy(), held)   # the final rate, 0, is held
    past = [w for w in caught if "past total_steps=5" in str(w.message)]
    assert len(past) == 1 and past[0].category is RuntimeWarning


def test_config_round_trip_and_model_save(tmp_path):
    x, y = _blobs()
    model = _model()
    opt = GraphOptimizer("momentum, flip: neg(tanh(decay(qh_v, a3)))", learning_rate=0.3,
                         total_steps=50, warmup_steps=3, hold_steps=2, momentum_schedule=0.8,
                         nesterov="authors", seed=5, clipnorm=1.0)
    model.compile(opt, "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    config = opt.get_config()
    clone = GraphOptimizer.from_config(config)
    assert clone.genome == opt.genome and clone.genome.flip
    assert clone.get_config() == config
    assert config["genome_text"] == str(opt.genome)
    again = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert isinstance(again, GraphOptimizer) and again.momentum_schedule == 0.8

    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    lopt = loaded.optimizer
    assert isinstance(lopt, GraphOptimizer) and lopt.genome == opt.genome
    assert int(lopt.iterations) == int(opt.iterations) == 4
    for a, b in zip(opt.variables, lopt.variables):
        np.testing.assert_allclose(a.numpy(), b.numpy())
    model.fit(x, y, batch_size=64, epochs=1, verbose=0, shuffle=False)
    loaded.fit(x, y, batch_size=64, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_dropout_genome_runs_traced_and_jitted():
    var = keras.Variable(np.ones((50, 40), "float32"))
    opt = GraphOptimizer("drop50(g)", learning_rate=1.0, total_steps=4, warmup_steps=0,
                         seed=1)
    opt.build([var])
    step = tf.function(lambda g: opt.apply([g], [var]), jit_compile=True)
    step(tf.ones((50, 40)))
    moved = 1.0 - var.numpy()
    assert set(np.round(np.unique(moved), 5)) <= {0.0, 2.0}
    assert 0.4 < (moved == 0).mean() < 0.6


def test_bad_arguments_say_the_fix():
    with pytest.raises(ParseError):
        GraphOptimizer("div(v_hat,", total_steps=10)
    with pytest.raises(NOSError, match="total_steps"):
        GraphOptimizer("g", total_steps=0)
    with pytest.raises(NOSError, match="nesterov"):
        GraphOptimizer("g", nesterov="yes")
    with pytest.raises(NOSError, match="momentum_schedule"):
        GraphOptimizer("g", momentum_schedule="fast")
    with pytest.raises(NOSError, match="genome"):
        GraphOptimizer(42)
    assert GraphOptimizer("g", learning_rate=1).learning_rate.dtype == "float32"


# ---------------------------------------------------------------------- schedules
def test_keras_schedules_match_numpy():
    t = np.arange(30)
    B = NumpyBackend()
    oc = OneCycle(0.1, 30, 5, 2)
    np.testing.assert_allclose(np.asarray(oc(t)), 0.1 * one_cycle(t.astype(float), 30, 5, 2, B),
                               rtol=1e-5)
    mc = MomentumCycle(30, 5, 2)
    np.testing.assert_allclose(np.asarray(mc(t)), momentum_cycle(t.astype(float), 30, 5, 2, B),
                               rtol=1e-6)
    assert float(OneCycle(0.1, 30, 5, first_lr=1e-7)(0)) == pytest.approx(1e-7)
    clone = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(oc))
    assert clone.get_config() == oc.get_config()


def test_lr_multiplier_rule():
    opt4 = zoo.genome("Opt4")
    factors = {(str(f.decay), f.power) for f in lr_multiplier(opt4)}
    assert factors == {("erfc(erfc(a4))", 1.0), ("dtanh(a8)", -1.0)}   # LR1
    np.testing.assert_allclose(lr_multiplier_values(opt4, 200), lr_multiplier_values("LR1", 200),
                               rtol=1e-12)
    np.testing.assert_allclose(lr_multiplier_values(zoo.genome("Opt6"), 200),
                               lr_multiplier_values("LR2", 200), rtol=1e-12)
    # not homogeneous: tanh, add, clip's bound; a node read twice is not factored
    assert lr_multiplier("tanh(decay(g, a1))") == []
    assert lr_multiplier("add(decay(g, a1), g)") == []
    assert lr_multiplier("mul(decay(sqrt_abs(g), a1), decay(sqrt_abs(g), a1))") != []
    shared = nos.parse("mul(abs(decay(g, a1)), abs(decay(g, a1)))")
    assert len(shared.active_nodes()) == 2 and lr_multiplier(shared) == []  # abs read twice
    half = lr_multiplier("neg(sqrt_abs(recip(decay(g, a3))))")
    assert [f.power for f in half] == [-0.5]


@pytest.mark.parametrize("text", [zoo.ENTRIES["Opt4"].text, zoo.ENTRIES["Opt6"].text,
                                  "nesterov: mul(decay(g, erfc(a11)), exp(atan(qh_s)))",
                                  "neg(sqrt_abs(recip(decay(qh_v, max(a6, a3)))))"])
def test_update_is_multiplier_times_stripped_update(text):
    genome = nos.parse(text)
    stripped = strip_lr_multiplier(genome)
    T = 40
    mult = lr_multiplier_values(genome, T)
    rng = np.random.default_rng(0)
    w = rng.normal(size=20)
    p1, p2 = nos.compile(genome, total_steps=T), nos.compile(stripped, total_steps=T)
    s1, s2 = p1.init(w), p2.init(w)
    # Up to eps: gradients away from 0, and not the last steps, where Opt4's a13 → 0 makes
    # its denominator 0 + eps.
    for t in range(1, T - 3):
        g = 3.0 + 0.5 * rng.normal(size=20)
        u1, s1 = p1.direction(g, s1, w, float(t))
        u2, s2 = p2.direction(g, s2, w, float(t))
        np.testing.assert_allclose(u1, mult[t] * u2, rtol=1e-4, atol=1e-6)


def test_factor_schedule_from_a_genome_drives_graph_optimizer():
    sched = FactorSchedule(zoo.ENTRIES["Opt6"].text, 0.01, 100, 10)
    lr2 = FactorSchedule("LR2", 0.01, 100, 10)
    np.testing.assert_allclose(sched.values(), lr2.values(), rtol=1e-5)
    clone = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(sched))
    np.testing.assert_allclose(clone.values(), sched.values())
    # Adam in the space on LR2 equals keras Adam on LR2 (the schedule passed as given)
    opt = GraphOptimizer(ADAM, learning_rate=lr2, total_steps=100, one_cycle=False)
    var = keras.Variable(np.ones(4, "float32"))
    opt.build([var])
    for _ in range(3):
        opt.apply([np.full(4, 0.5, "float32")], [var])
    assert var.numpy()[0] == pytest.approx(1 - sum(lr2.values(3)), rel=1e-4)
