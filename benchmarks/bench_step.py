"""Where a population training step goes: the genome interpreter against the ConvNet.

Times, side by side in one run, one ``PopulationTrainer`` step (K slots of AdamSpace)
four ways — the shipped step (its loop compiled with it); the same step launched once
per step from a TensorFlow loop (before); the interpreter's operands and decays
without its node loop; no interpreter beyond the learning rate and momentum — and the
ConvNet's convolution as patches + einsum (the shipped form) against ``tf.nn.conv1d``,
and its swish in the shipped tanh form against ``tf.nn.silu`` (K=1).
Prints milliseconds per step (best of 3 × 100 steps) and ratios to the full step.

Usage::

    python benchmarks/bench_step.py [--slots 1 4]
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def best_ms(run, steps=100, repeats=3):
    run(5)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run(steps)
        best = min(best, (time.perf_counter() - start) / steps)
    return best * 1e3


def _no_loop(interp):
    """The interpreter's operands and decays, summed instead of run through the nodes."""
    import tensorflow as tf

    def direction(codes, g, w, state, t, t_col, B):
        values, new = interp._operands(g, w, state, t_col, B)
        new["nodes"] = state["nodes"]
        return tf.add_n(values) * tf.reduce_sum(interp._decays(codes, t, B)), new
    return direction


def _identity(codes, g, w, state, t, t_col, B):
    new = {name: state[name] for name in state}
    return g, new


def _tf_loop(trainer):
    """The trainer's loop as it was before 2026-12-02 (later): a TensorFlow while loop
    that launches the XLA-compiled step once per step."""
    import tensorflow as tf

    step = tf.function(trainer._step, jit_compile=True, autograph=False)

    @tf.function(autograph=False)
    def loop(n):
        def body(i, losses):
            return i + 1, losses.write(i, step()[0])
        return tf.while_loop(lambda i, _: i < n, body,
                             (0, tf.TensorArray(tf.float32, size=n)))[1].stack()
    return lambda n: loop(tf.constant(int(n))).numpy()


def interpreter_share(k):
    import tensorflow as tf

    import deap_nos as nos
    from deap_nos.evaluation.population import PopulationEvaluator

    ev = PopulationEvaluator.preset("default", slots=k)
    trainer = ev.trainer()
    interp = trainer.interpreter
    codes = interp.encode(nos.zoo.genome("AdamSpace"))

    def fresh():
        t = type(trainer)(trainer.net, interp, k, trainer.x.numpy(), trainer.y.numpy(),
                          ev.batch_size)
        for slot in range(k):
            for name, v in t.codes.items():
                v[slot].assign(tf.constant(codes[name], v.dtype))
            t.lr[slot].assign(1e-3)
        return t

    rows = [("full step (the loop inside XLA, shipped)", best_ms(fresh().run))]
    rows.append(("full step, a TensorFlow loop launching the XLA step", best_ms(
        _tf_loop(fresh()))))
    full = interp._direction
    interp._direction = _no_loop(interp)
    rows.append(("no node loop (operands + decays kept)", best_ms(fresh().run)))
    interp._direction = _identity
    rows.append(("no interpreter (lr and momentum only)", best_ms(fresh().run)))
    interp._direction = full
    return rows


def convolution_forms():
    import numpy as np
    import tensorflow as tf

    from deap_nos import batched
    from deap_nos.backends.tensorflow.batched import BatchedConvNet

    tanh_form = batched.silu
    net = BatchedConvNet(16, (40, 1), 10)
    w0, s0 = net.init(0)
    w = tf.Variable(np.asarray(w0, np.float32)[None])
    stats = tf.constant(np.asarray(s0, np.float32)[None])
    x = tf.random.normal([1, 256, 40, 1])
    y = tf.random.uniform([1, 256], 0, 10, tf.int32)
    seed = tf.zeros([1, 2], tf.int64)

    def step():
        with tf.GradientTape() as tape:
            probs, _ = net.forward(w, stats, x, True, seed)
            loss = tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(y, probs))
        w.assign_sub(1e-3 * tape.gradient(loss, w))

    def timed(jit):
        f = tf.function(step, jit_compile=jit)
        return best_ms(lambda n: [f() for _ in range(n)])

    rows = [("patches + einsum, tanh-form swish, XLA (shipped)", timed(True))]
    batched.silu = tf.nn.silu
    rows.append(("... with tf.nn.silu (logistic) instead", timed(True)))
    batched.silu = tanh_form
    einsum = net._conv
    net._conv = lambda h, kernel, stride, shared: tf.nn.conv1d(
        h if shared else h[0], kernel[0], stride, "SAME")[None]
    rows += [("tf.nn.conv1d, XLA", timed(True)), ("tf.nn.conv1d, no XLA", timed(False))]
    net._conv = einsum
    rows.append(("patches + einsum, no XLA", timed(False)))
    return rows


def table(title, rows):
    print(f"\n{title}\n| variant | ms/step | × first |\n|---|---|---|")
    for name, ms in rows:
        print(f"| {name} | {ms:.2f} | {ms / rows[0][1]:.2f} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args(argv)
    for k in args.slots:
        table(f"PopulationTrainer step, default preset, K={k}", interpreter_share(k))
    table("ConvNet(16) training step, batch 256, one run", convolution_forms())


if __name__ == "__main__":
    main()
