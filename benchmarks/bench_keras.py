"""Step time of GraphOptimizer relative to keras.optimizers.Adam on the surrogate ConvNet.

Measures, side by side in one process, a compiled (``tf.function``) training step of the
ConvNet(base) surrogate (docs/reference.md §8; CIFAR-shaped 32×32×3 inputs, 10 classes) for
keras Adam and for GraphOptimizer running AdamSpace, Opt1 and Opt10. Each optimizer has
its own model and traced step; after warm-up, repetitions are interleaved (A, B, C, D,
A, B, ...) in a shuffled order each time, so that drifts of the machine hit all alike, and the reported ratio is the
median over repetitions of ``time(optimizer) / time(Adam)`` of the same repetition.

A second table times ``optimizer.apply`` alone (fixed gradients, compiled), which isolates
the optimizer's own cost from the network's.

Usage::

    python benchmarks/bench_keras.py                    # base 48, batch 128
    python benchmarks/bench_keras.py --jit --reps 7     # XLA-compiled steps
"""
import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

GENOMES = ("AdamSpace", "Opt1", "Opt10")


def build_convnet(base, input_shape=(32, 32, 3), classes=10):
    """deap_nos.backends.tensorflow.surrogate.convnet when present, else the same model inline."""
    try:
        from deap_nos.backends.tensorflow.surrogate import convnet
        return convnet(base, input_shape, classes)
    except ImportError:
        import keras
        from keras import layers
        inputs = keras.Input(input_shape)
        x = inputs
        for filters, stride in ((base, 1), (2 * base, 2), (4 * base, 2)):
            x = layers.Conv2D(filters, 3, strides=stride, padding="same")(x)
            x = layers.BatchNormalization()(x)
            x = layers.Activation("swish")(x)
        x = layers.GlobalAveragePooling2D()(x)
        x = layers.Dropout(0.2)(x)
        return keras.Model(inputs, layers.Dense(classes, activation="softmax")(x))


def make_optimizer(name, total_steps):
    import keras

    from deap_nos import zoo
    if name == "Adam":
        return keras.optimizers.Adam(1e-3)
    return zoo.optimizer(name, learning_rate=1e-3, total_steps=total_steps)


def make_steps(name, base, jit, total_steps):
    """(train_step, apply_step) compiled for one optimizer on its own ConvNet."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    model = build_convnet(base)
    opt = make_optimizer(name, total_steps)
    variables = model.trainable_variables
    opt.build(variables)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()

    def train(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        opt.apply(tape.gradient(loss, variables), variables)
        return loss

    grads = [tf.constant(np.random.default_rng(1).normal(size=v.shape) * 1e-3, v.dtype)
             for v in variables]

    def apply():
        opt.apply(grads, variables)
        return opt.iterations

    return tf.function(train, jit_compile=jit), tf.function(apply, jit_compile=jit)


def timed(fn, args, steps):
    start = time.perf_counter()
    for _ in range(steps):
        out = fn(*args)
    float(np.asarray(out).ravel()[0])   # wait for the last step
    return (time.perf_counter() - start) / steps


def measure(fns, args, steps, reps, warmup):
    """Interleaved per-repetition mean step times: {name: [seconds, ...]}."""
    for fn in fns.values():
        timed(fn, args, warmup)
    times = {name: [] for name in fns}
    order = list(fns)
    rng = np.random.default_rng(0)
    for _ in range(reps):
        rng.shuffle(order)          # no optimizer always runs first (or after another)
        for name in order:
            times[name].append(timed(fns[name], args, steps))
    return times


def report(title, times):
    ref = np.array(times["Adam"])
    lines = [f"### {title}", "", "| optimizer | median step (ms) | ratio to Adam (median of "
             "paired ratios) | min–max ratio |", "|---|---|---|---|"]
    for name, values in times.items():
        values = np.array(values)
        ratios = values / ref
        lines.append(f"| {name} | {1e3 * np.median(values):.1f} | {np.median(ratios):.3f} | "
                     f"{ratios.min():.3f}–{ratios.max():.3f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=int, default=48)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=5, help="steps per timed repetition")
    parser.add_argument("--reps", type=int, default=5, help="interleaved repetitions")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--apply-steps", type=int, default=50)
    parser.add_argument("--jit", action="store_true", help="jit_compile=True (XLA)")
    parser.add_argument("--no-apply", action="store_true", help="skip the apply-only table")
    args = parser.parse_args()

    import tensorflow as tf

    names = ("Adam",) + GENOMES
    total = 1000
    steps = {n: make_steps(n, args.base, args.jit, total) for n in names}
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(args.batch, 32, 32, 3)), tf.float32)
    y = tf.constant(rng.integers(0, 10, args.batch), tf.int32)

    header = (f"ConvNet(base={args.base}), batch {args.batch}, 32×32×3, "
              f"{'XLA' if args.jit else 'tf.function'}, {args.reps} interleaved reps × "
              f"{args.steps} steps, {os.cpu_count()} CPU cores, "
              f"TF {tf.__version__}, devices: "
              f"{[d.device_type for d in tf.config.list_logical_devices()]}")
    print(header, flush=True)
    train = measure({n: s[0] for n, s in steps.items()}, (x, y), args.steps, args.reps,
                    args.warmup)
    print(report("train step (forward + backward + update)", train), flush=True)
    if not args.no_apply:
        apply = measure({n: s[1] for n, s in steps.items()}, (), args.apply_steps, args.reps,
                        args.warmup)
        print(report("optimizer.apply alone (fixed gradients)", apply), flush=True)


if __name__ == "__main__":
    main()
