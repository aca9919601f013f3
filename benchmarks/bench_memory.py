"""Resident memory of one process evaluating many genomes with SurrogateEvaluator.

Evaluates ``--evaluations`` distinct genomes (the zoo's, then seeded random ones of the
default space) one after another in this process, printing every ``--every``
evaluations the resident set size (``/proc/self/statm``), the live TensorFlow
``FuncGraph`` objects and the elapsed time; at the end, the slope of RSS over the
evaluations after ``--warmup`` (MB per evaluation, a least-squares line) and the growth
from the end of the warm-up to the end.

``--before`` reproduces the code before the fix of issue 22 in this process (for a
before/after pair from one checkout): the custom-gradient registrations of each traced
step are kept (``release_gradient_functions`` a no-op) and the optimizer's update is
XLA-compiled per genome (``jit_update=True``); ``--keep-gradients`` / ``--jit-update``
do one of the two.

Settings: the ``quick`` preset with a few steps and one learning rate (``--small``,
default; an evaluation is then mostly its trace, which is what leaked), or the preset as
shipped (``--full``).

Usage::

    python benchmarks/bench_memory.py [--evaluations 200] [--every 10] [--warmup 50]
        [--full] [--before | --keep-gradients | --jit-update]
"""
import argparse
import gc
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

#: A few steps and one learning rate: what tests/test_memory.py uses.
SMALL = dict(base=4, steps=20, sweep_steps=5, eval_every=10, stop_after=1000,
             lr_grid=(0.01,), quick_rates=(), sweep_gate_acc=0.0)


def rss_mb():
    """Resident set size of this process, MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def live_graphs():
    from tensorflow.python.framework.func_graph import FuncGraph

    return sum(isinstance(o, FuncGraph) for o in gc.get_objects())


def genomes(n, seed=0):
    """The zoo's genomes, then seeded random genomes of the default space: ``n`` in all."""
    import deap_nos as nos

    out = [nos.zoo.genome(name) for name in nos.zoo.names("genome")][:n]
    state = random.getstate()
    random.seed(seed)
    space = nos.space.default_space()
    out += [space.random() for _ in range(n - len(out))]
    random.setstate(state)
    return out


def jit_update_factory(genome, learning_rate, total_steps, warmup_steps, hold_steps):
    """GraphOptimizer with its update XLA-compiled per genome (the old default)."""
    from deap_nos.keras import GraphOptimizer

    return GraphOptimizer(genome, learning_rate=learning_rate, total_steps=total_steps,
                          warmup_steps=warmup_steps, hold_steps=hold_steps, jit_update=True)


def slope(xs, ys):
    """MB per evaluation: the least-squares line's slope (nan with < 2 points)."""
    return float(np.polyfit(xs, ys, 1)[0]) if len(xs) >= 2 else float("nan")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--evaluations", type=int, default=200)
    parser.add_argument("--every", type=int, default=10, help="print every N evaluations")
    parser.add_argument("--warmup", type=int, default=50,
                        help="evaluations left out of the slope")
    parser.add_argument("--full", action="store_true", help="the quick preset as shipped")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random genomes")
    parser.add_argument("--before", action="store_true",
                        help="= --keep-gradients --jit-update (the code before the fix)")
    parser.add_argument("--keep-gradients", action="store_true")
    parser.add_argument("--jit-update", action="store_true")
    args = parser.parse_args(argv)

    from deap_nos import train_loop
    from deap_nos.evaluator import SurrogateEvaluator

    if args.before or args.keep_gradients:
        train_loop.release_gradient_functions = lambda graph: 0
    factory = jit_update_factory if (args.before or args.jit_update) else None
    settings = {} if args.full else SMALL
    evaluate = SurrogateEvaluator.preset("quick", optimizer_factory=factory, **settings)
    todo = genomes(args.evaluations, args.seed)
    mode = ("before (keep gradients, jit_update)" if args.before else
            ", ".join(k for k, on in [("keep gradients", args.keep_gradients),
                                      ("jit_update", args.jit_update)] if on) or "as is")
    print(f"# {len(todo)} evaluations, quick preset {'as shipped' if args.full else '(small)'}"
          f", {mode}", flush=True)
    print(f"{'eval':>5} {'RSS MB':>8} {'graphs':>7} {'failed':>7} {'s':>7}", flush=True)
    start, xs, ys, failed = time.perf_counter(), [], [], 0
    for i, genome in enumerate(todo, 1):
        failed += bool(evaluate(genome).info.get("failed"))
        gc.collect()
        xs.append(i)
        ys.append(rss_mb())
        if i % args.every == 0 or i == len(todo):
            print(f"{i:>5} {ys[-1]:>8.0f} {live_graphs():>7} {failed:>7} "
                  f"{time.perf_counter() - start:>7.1f}", flush=True)
    w = min(args.warmup, max(0, len(xs) - 2))
    print(f"slope after warm-up (evaluations {w + 1}..{len(xs)}): "
          f"{slope(xs[w:], ys[w:]):.2f} MB/eval; whole run {slope(xs, ys):.2f} MB/eval")
    print(f"RSS {ys[0]:.0f} MB after the first evaluation, {ys[w - 1] if w else ys[0]:.0f} MB "
          f"after the warm-up, {ys[-1]:.0f} MB at the end; "
          f"{(time.perf_counter() - start) / len(xs):.2f} s per evaluation")


if __name__ == "__main__":
    main()
