"""A run trained in a population slot ends where the same run trained alone ends.

"Alone" is the reference path: a Keras ConvNet and ``nos.keras.GraphOptimizer``, fed the
same initial weights and the same batches. Tolerance: 1e-5 absolute on weights of size
~1 after 15 steps — except the convolution biases that feed a batch norm under a
scale-invariant genome (Adam): their true gradient is 0 (batch norm cancels them), so
they move by the sign of float noise in either path (and the batch-norm moving means
with them: 1e-3 there).
"""
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

import deap_nos as nos  # noqa: E402
from deap_nos.backends.tensorflow.surrogate import convnet  # noqa: E402
from deap_nos.backends.tensorflow.trainer import build  # noqa: E402

T, WARMUP, STEPS, BASE = 40, 4, 15, 4
GENOMES = ("AdamSpace", "Opt9", "Opt4")
LRS = (1e-3, 0.05, 1e-2)
PRE_BN_BIASES = (1, 5, 9)   # tensor indices of the conv biases in BatchedConvNet's layout


def _digits():
    from deap_nos.data import digits
    ds = digits()
    return ds.x_train, ds.y_train


def _signals():
    """A 1-D stand-in: 40-long, 1-channel signals whose class is a frequency."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 600).astype(np.int32)
    t = np.linspace(0, 1, 40)
    x = np.sin(2 * np.pi * (1 + y[:, None]) * t) + 0.3 * rng.normal(size=(600, 40))
    return x[..., None].astype(np.float32), y


def _keras_1d(base, input_shape, classes):
    """The paper's ConvNet in 1-D (Conv1D, same rule of strides and widths)."""
    from keras import layers
    inputs = keras.Input(shape=input_shape)
    x = inputs
    for filters, stride in [(base, 1), (2 * base, 2), (4 * base, 2)]:
        x = layers.Conv1D(filters, 3, strides=stride, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("swish")(x)
    x = layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, layers.Dense(classes, activation="softmax")(x))


def _alone(model, genome, lr, trainer, seed):
    """Train ``model`` with GraphOptimizer on the first STEPS batches of run ``seed``."""
    opt = nos.keras.GraphOptimizer(genome, learning_rate=lr, total_steps=T,
                                   warmup_steps=WARMUP)
    for position in range(STEPS):
        xb, yb = trainer.run_batch(seed, position)
        with tf.GradientTape() as tape:
            probs = model(xb, training=True)
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(yb, probs))
        opt.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
    return trainer.net.from_keras(model.get_weights())


@pytest.mark.parametrize("data", ["2d", "1d"])
def test_slot_equals_run_alone(data):
    x, y = _digits() if data == "2d" else _signals()
    trainer = build(BASE, x.shape[1:], 10, len(GENOMES), x, y, 32, T, WARMUP, dropout=0.0)
    keras.utils.set_random_seed(1)
    if data == "2d":
        models = [convnet(BASE, x.shape[1:], 10, dropout=0.0) for _ in GENOMES]
    else:
        models = [_keras_1d(BASE, x.shape[1:], 10) for _ in GENOMES]
    genomes = [nos.zoo.genome(name) for name in GENOMES]
    for slot, (genome, model) in enumerate(zip(genomes, models)):
        w, s = trainer.net.from_keras(model.get_weights())
        trainer.assign(slot, trainer.interpreter.encode(genome), w, s, LRS[slot], seed=slot)
    trainer.run(STEPS)
    noise = np.isin(trainer.net.segments(), PRE_BN_BIASES)
    for slot, (genome, model) in enumerate(zip(genomes, models)):
        ref_w, ref_s = _alone(model, genome, LRS[slot], trainer, slot)
        w, s = trainer.weights(slot)
        invariant = genome.key() == nos.zoo.genome("AdamSpace").key()
        keep = ~noise if invariant else slice(None)
        np.testing.assert_allclose(w[keep], ref_w[keep], atol=1e-5, err_msg=str(genome))
        # The moving means follow those noisy biases too.
        np.testing.assert_allclose(s, ref_s, atol=1e-3 if invariant else 1e-5,
                                   err_msg=str(genome))


def test_refill_does_not_retrace_and_nan_stays_in_its_slot():
    x, y = _digits()
    trainer = build(BASE, x.shape[1:], 10, 2, x, y, 32, T, WARMUP)   # with dropout
    net = trainer.net
    w0, s0 = net.init(3)
    trainer.assign(0, trainer.interpreter.encode(nos.parse("none: recip(sub(g, g))")), w0, s0, 1e38)
    trainer.assign(1, trainer.interpreter.encode(nos.zoo.genome("Opt9")), w0, s0, 0.05,
                   seed=7)
    losses, accs = trainer.run(5)
    assert losses.shape == (5, 2) and accs.shape == (5, 2)
    assert not np.isfinite(losses[:, 0]).all() and np.isfinite(losses[:, 1]).all()
    kept = trainer.weights(1)[0]
    # The same run (same seed) in either slot, next to a healthy neighbour, ends at the
    # same weights: a run depends on its own seed, not on its slot or neighbours.
    for slot in (0, 1):
        trainer.assign(slot, trainer.interpreter.encode(nos.zoo.genome("Opt9")), w0, s0, 0.05,
                       seed=7)
    trainer.run(5)
    np.testing.assert_allclose(trainer.weights(0)[0], kept, atol=1e-6)
    np.testing.assert_allclose(trainer.weights(1)[0], kept, atol=1e-6)
    assert trainer._run.experimental_get_tracing_count() == 1


def test_snapshot_carries_a_run_on_step_for_step():
    """A run snapshotted after 5 steps and resumed in another slot, next to another
    genome, takes the same next 5 steps as the run left alone: weights, batch-norm
    statistics, optimizer state (Opt9 keeps momentum) and step (schedule, batches,
    dropout masks) all travel."""
    x, y = _digits()
    trainer = build(BASE, x.shape[1:], 10, 2, x, y, 32, T, WARMUP)   # with dropout
    codes = trainer.interpreter.encode(nos.zoo.genome("Opt9"))
    other = trainer.interpreter.encode(nos.zoo.genome("AdamSpace"))
    w0, s0 = trainer.net.init(3)
    trainer.assign(0, codes, w0, s0, 0.05, seed=7)
    trainer.assign(1, other, w0, s0, 1e-3, seed=1)
    trainer.run(5)
    taken = trainer.snapshot(0)
    assert taken["t"] == 5.0 and np.abs(taken["state"]["v"]).sum() > 0
    alone = trainer.run(5)[0][:, 0]
    ends = trainer.weights(0)
    trainer.assign(0, other, w0, s0, 1e-3, seed=2)
    trainer.assign(1, codes, None, None, 0.05, seed=7, resume=taken)
    resumed = trainer.run(5)[0][:, 1]
    np.testing.assert_array_equal(resumed, alone)
    for got, want in zip(trainer.weights(1), ends):
        np.testing.assert_array_equal(got, want)
    assert trainer._run.experimental_get_tracing_count() == 1


def test_runs_longer_than_a_chunk_are_chunked_seamlessly(monkeypatch):
    """The compiled loop takes at most CHUNK steps a call; 20 steps in chunks of 7 are
    the 20 steps of one call, losses and weights."""
    import deap_nos.backends.tensorflow.trainer as trainer_module
    x, y = _digits()
    ends = []
    for chunk in (trainer_module.CHUNK, 7):
        monkeypatch.setattr(trainer_module, "CHUNK", chunk)
        trainer = build(BASE, x.shape[1:], 10, 2, x, y, 32, T, WARMUP)
        w0, s0 = trainer.net.init(3)
        for slot, name in enumerate(("Opt9", "AdamSpace")):
            trainer.assign(slot, trainer.interpreter.encode(nos.zoo.genome(name)), w0, s0,
                           0.05, seed=slot)
        losses, accs = trainer.run(20)
        assert losses.shape == accs.shape == (20, 2) and trainer.t.numpy().tolist() == [20, 20]
        ends.append((losses, trainer.weights(0)[0]))
    np.testing.assert_array_equal(ends[0][0], ends[1][0])
    np.testing.assert_array_equal(ends[0][1], ends[1][1])


def test_silu_equals_tensorflows_in_value_and_gradient():
    """The batched net's tanh-form swish is tf.nn.silu to float32 rounding, gradient too,
    from deep saturation to large activations. Absolute 3e-6: below x ≈ -16 the tanh
    form's sigmoid rounds to 0 where the logistic still gives ~1e-7 (|x·σ(x)| ≤ 2e-6)."""
    from deap_nos.backends.tensorflow.batched import silu
    x = tf.constant(np.concatenate([np.linspace(-30, 30, 2001), [-1e4, 1e4, 0.0]]),
                    tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        ours, reference = silu(x), tf.nn.silu(x)
    np.testing.assert_allclose(ours.numpy(), reference.numpy(), rtol=2e-6, atol=3e-6)
    np.testing.assert_allclose(tape.gradient(ours, x).numpy(),
                               tape.gradient(reference, x).numpy(), rtol=2e-6, atol=3e-6)
    jitted = tf.function(silu, jit_compile=True)(x)
    np.testing.assert_allclose(jitted.numpy(), reference.numpy(), rtol=2e-6, atol=3e-6)
