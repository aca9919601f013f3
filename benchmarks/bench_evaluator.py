"""Wall time of one ``quick`` surrogate evaluation, and where it goes.

Runs ``SurrogateEvaluator.preset("quick")`` on a handful of genomes and splits each
evaluation's wall time into: data loading, model/optimizer build, tracing the compiled
functions, restoring weights/optimizer state between runs, the compiled training loops
(sweep and stage 2), validation, and the rest (Python bookkeeping). The headline ratio is
the share of the wall time spent *outside* TensorFlow's compiled training step.

Uses the real ``GraphOptimizer`` on a few parsed genomes when ``deap_nos.keras`` provides
it, else a stand-in Adam factory (``--adam`` forces the stand-in).

Usage::

    python benchmarks/bench_evaluator.py [--n 6] [--adam] [--jit] [--preset quick]
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

GENOMES = [
    "div(v_hat, sqrt_abs(s_hat))",  # Adam
    "sign_g",  # Sign
    "none: qh_v",  # QHM
    "g",  # SGD
    "add(qh_v, softsign(clip(wd5, sub(wd5, qh_s))))",  # Opt1
    "nesterov: mul(decay(g, erfc(a11)), exp(atan(qh_s)))",  # Opt9
    "one",  # constant update: rejected in the sweep
    "clip(v_hat, sqrt_abs(s_hat))",  # A1
]


def adam_factory(genome, learning_rate, total_steps, warmup_steps, hold_steps):
    """Stand-in optimizer factory: Adam at the peak rate, ignoring genome and schedule."""
    import keras

    return keras.optimizers.Adam(learning_rate)


def _genomes(n, use_adam):
    """(label, genome, factory) triples: parsed genomes for GraphOptimizer, or strings
    for the stand-in Adam factory (``--adam``)."""
    if use_adam:
        return [(f"adam#{i}", f"adam#{i}", adam_factory) for i in range(n)], "Adam stand-in"
    import deap_nos as nos

    space = nos.SearchSpace.default()
    texts = [GENOMES[i % len(GENOMES)] for i in range(n)]
    return [(text, nos.parse(text, space), None) for text in texts], "GraphOptimizer"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=6, help="evaluations to time")
    parser.add_argument("--adam", action="store_true", help="use the stand-in Adam factory")
    parser.add_argument("--jit", action="store_true", help="XLA-compile the training step")
    parser.add_argument("--preset", default="quick")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    import tensorflow as tf  # noqa: F401  (import cost reported separately)

    from deap_nos.evaluation.evaluator import _TIMING_KEYS, SurrogateEvaluator

    import_s = time.perf_counter() - t0
    genomes, kind = _genomes(args.n, args.adam)
    ev = SurrogateEvaluator.preset(args.preset, jit=args.jit)
    print(f"# {args.preset} preset, {kind}, jit={args.jit}, {os.cpu_count()} CPU cores; "
          f"TF+deap_nos import {import_s:.1f} s")
    print(f"# settings: base={ev.base} batch={ev.batch_size} sweep={len(ev.all_rates)}x"
          f"{ev.sweep_steps} steps={ev.steps} eval_every={ev.eval_every}")
    cols = ("wall",) + _TIMING_KEYS + ("other",)
    print(f"{'genome':32s} {'fitness':>8s} {'stage':>6s} " + " ".join(f"{c:>10s}" for c in cols))
    rows = []
    for label, genome, factory in genomes:
        ev.optimizer_factory = factory
        t = time.perf_counter()
        result = ev(genome)
        wall = time.perf_counter() - t
        timing = dict(result.info["timing"])
        timing["wall"] = wall
        timing["other"] = wall - sum(result.info["timing"].values())
        rows.append(timing)
        print(f"{label[:32]:32s} {result[0]:8.4f} {result.info['stage'][:6]:>6s} "
              + " ".join(f"{timing[c]:10.3f}" for c in cols))
    warm = rows[1:] or rows
    mean = {c: sum(r[c] for r in warm) / len(warm) for c in cols}
    print(f"{'mean (excluding the first)':32s} {'':8s} {'':6s} "
          + " ".join(f"{mean[c]:10.3f}" for c in cols))
    step = mean["step_sweep"] + mean["step_train"]
    print(f"\nfirst evaluation (cold: data load, TF start-up): {rows[0]['wall']:.2f} s")
    print(f"warm evaluation: {mean['wall']:.2f} s; compiled training loops {step:.2f} s "
          f"({step / mean['wall']:.0%}); outside them {mean['wall'] - step:.2f} s "
          f"({1 - step / mean['wall']:.0%}), of which trace {mean['trace']:.2f} s "
          f"({mean['trace'] / mean['wall']:.0%}), build {mean['build']:.2f} s, restore "
          f"{mean['restore']:.2f} s, validate {mean['validate']:.2f} s, other "
          f"{mean['other']:.2f} s")
    return rows


if __name__ == "__main__":
    main()
