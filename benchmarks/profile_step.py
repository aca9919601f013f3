"""Where the compiled population training step spends its time, operation by operation.

Runs ``PopulationTrainer`` steps (``default`` preset, K slots of AdamSpace) under the
TensorFlow profiler and reads XLA's per-operation trace: every operation of the
compiled loop (a matrix product, a fusion of elementwise operations, a reduction, the
interpreter's node loop) is one event. Prints the self time of each kind of operation
per training step, its share of the step, and the heaviest single operations — the
figures behind benchmarks/RESULTS.md's account of the CPU step (what is arithmetic,
what is batch norm's reductions, what is the genome interpreter).

Usage::

    TF_NUM_INTRAOP_THREADS=1 python benchmarks/profile_step.py [--slots 1] [--steps 200]

The profiler adds its own overhead (≈ 5-10 % here): compare shares, not the absolute
step time with bench_step.py's.
"""
import argparse
import collections
import glob
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

#: Operation kinds, by the name XLA gives the operation (first match wins).
KINDS = [
    ("matrix products (convolutions, dense layer)", r"^dot\b"),
    ("reductions as reduce-window (XLA's tree rewrite)", r"reduce-window"),
    ("reductions in YNNPACK", r"^ynn_fusion"),
    ("inner while loops' control (the interpreter's node loop)", r"^while\b"),
    ("swish (tanh form) fusions", r"tanh"),
    ("patches (concatenate) fusions", r"concatenate"),
    ("copies and transposes", r"^copy|transpose"),
    ("other elementwise fusions", r"fusion"),
]


def self_times(space):
    """``{name: [self seconds, count, total seconds]}`` of every traced event: its self
    time has the events nested in it (on its timeline line) subtracted."""
    totals = collections.defaultdict(lambda: [0.0, 0, 0.0])
    for plane in space.planes:
        names = {k: v.name for k, v in plane.event_metadata.items()}
        for line in plane.lines:
            events = sorted(((e.offset_ps, e.offset_ps + e.duration_ps,
                              names.get(e.metadata_id, "?")) for e in line.events),
                            key=lambda e: (e[0], -e[1]))
            stack = []
            for start, end, name in events:
                while stack and stack[-1][1] <= start:
                    stack.pop()
                if stack:
                    totals[stack[-1][2]][0] -= (end - start) / 1e12
                totals[name][0] += (end - start) / 1e12
                totals[name][1] += 1
                totals[name][2] += (end - start) / 1e12
                stack.append((start, end, name))
    return totals


def trace(slots, steps):
    """Self times of ``steps`` training steps of ``slots`` AdamSpace runs."""
    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    import deap_nos as nos
    from deap_nos.evaluation.population import PopulationEvaluator

    trainer = PopulationEvaluator.preset("default", slots=slots).trainer()
    codes = trainer.interpreter.encode(nos.zoo.genome("AdamSpace"))
    for slot in range(slots):
        for name, v in trainer.codes.items():
            v[slot].assign(tf.constant(codes[name], v.dtype))
        trainer.lr[slot].assign(1e-3)
    trainer.run(10)                      # compile outside the trace
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        trainer.run(steps)
        tf.profiler.experimental.stop()
        space = xplane_pb2.XSpace()
        path = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)[0]
        with open(path, "rb") as stream:
            space.ParseFromString(stream.read())
    return self_times(space)


def kind_of(name):
    for kind, pattern in KINDS:
        if re.search(pattern, name):
            return kind
    return None


def report(times, steps):
    """Print the step's time by kind of operation, then the heaviest operations."""
    step = times["_loop"][2]             # the compiled loop's calls, wall time
    ops = {n: t for n, (t, _, _) in times.items() if kind_of(n)}
    by_kind = collections.Counter()
    for name, seconds in ops.items():
        by_kind[kind_of(name)] += seconds
    rest = max(0.0, step - sum(by_kind.values()))
    print(f"\nstep under the profiler: {1e3 * step / steps:.3f} ms\n")
    print("| kind of operation | ms/step | share |\n|---|---|---|")
    for kind, seconds in by_kind.most_common() + [("the rest: XLA's runtime between "
                                                    "operations, the call", rest)]:
        print(f"| {kind} | {1e3 * seconds / steps:.3f} | {seconds / step:.1%} |")
    print("\n| heaviest operations | ms/step |\n|---|---|")
    for name, seconds in sorted(ops.items(), key=lambda kv: -kv[1])[:10]:
        print(f"| {name} | {1e3 * seconds / steps:.3f} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", type=int, default=1)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args(argv)
    report(trace(args.slots, args.steps), args.steps)


if __name__ == "__main__":
    main()
