"""Throughput of eaParticle with a 2-process pool vs serial, and the algorithm's own
overhead per evaluation (mutation, bookkeeping, cache, log, checkpoints).

    python benchmarks/bench_algorithms.py [--sleep 0.2]
"""
import argparse
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from deap import base, creator, tools  # noqa: E402

from deap_nos.search.algorithms import eaParticle, eaRegularized  # noqa: E402
from deap_nos.search.parallel import ProcessMap  # noqa: E402

if not hasattr(creator, "BenchFitness"):
    creator.create("BenchFitness", base.Fitness, weights=(1.0,))
    creator.create("BenchIndividual", list, fitness=creator.BenchFitness)


class Sleeper:
    """An evaluator that takes a fixed time (a stand-in for training)."""

    def __init__(self, seconds):
        self.seconds = seconds

    def __call__(self, genome):
        if self.seconds:
            time.sleep(self.seconds)
        return (sum(v * (i + 1) for i, v in enumerate(genome)) % 101 / 101.0,)


def mutate(genome):
    genome[random.randrange(len(genome))] = random.randrange(1000)
    return (genome,)


def toolbox_for(evaluate, mapper=map):
    toolbox = base.Toolbox()
    toolbox.register("mutate", mutate)
    toolbox.register("evaluate", evaluate)
    toolbox.register("map", mapper)
    return toolbox


def population(n, seed=0):
    random.seed(seed)
    return [creator.BenchIndividual(random.randrange(1000) for _ in range(20))
            for _ in range(n)]


def timed_particle(toolbox, n, nsteps, nmut, **kwargs):
    hof = tools.HallOfFame(3)
    start = time.perf_counter()
    _, log = eaParticle(population(n), toolbox, nsteps, nmut, halloffame=hof,
                        verbose=False, **kwargs)
    return time.perf_counter() - start, sum(log.select("nevals")), str(log)


def throughput(sleep):
    n, nsteps, nmut = 4, 3, 4                    # 4 + 48 = 52 evaluations
    serial, evals, log_s = timed_particle(toolbox_for(Sleeper(sleep)), n, nsteps, nmut)
    with ProcessMap(2, gpus=None) as pmap:
        pmap(abs, [0, 0])                        # start the workers outside the timing
        pooled, _, log_p = timed_particle(toolbox_for(Sleeper(sleep), pmap), n,
                                          nsteps, nmut)
    print(f"eaParticle n={n} nsteps={nsteps} nmut={nmut}: {evals} evaluations of "
          f"{sleep:.2f} s")
    print(f"  serial      {serial:6.2f} s  ({evals / serial:5.2f} evals/s)")
    print(f"  2 processes {pooled:6.2f} s  ({evals / pooled:5.2f} evals/s)")
    print(f"  speed-up    {serial / pooled:6.2f}x  (same run: {log_s == log_p})")
    return serial / pooled


def overhead():
    n, nsteps, nmut = 20, 10, 6                  # 20 + 1200 evaluations
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, kwargs in [
                ("no checkpoint, no log", {}),
                ("log file only", {"logfile": f"{tmp}/a.log"}),
                ("checkpoint every step", {"checkpoint": f"{tmp}/b"}),
                ("checkpoint every 6 evaluations", {"checkpoint": f"{tmp}/c",
                                                    "checkpoint_every": 6})]:
            seconds, evals, _ = timed_particle(toolbox_for(Sleeper(0)), n, nsteps,
                                               nmut, **kwargs)
            rows.append((label, seconds, evals))
        start = time.perf_counter()
        eaRegularized(population(20), toolbox_for(Sleeper(0)), 1200, 5, batch_size=1,
                      verbose=False, checkpoint=f"{tmp}/d")
        rows.append(("eaRegularized, checkpoint per cycle", time.perf_counter() - start,
                     1220))
    print("algorithm overhead per evaluation (instant evaluator, serial):")
    for label, seconds, evals in rows:
        print(f"  {label:38s} {1e3 * seconds / evals:7.3f} ms  ({evals} evaluations)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sleep", type=float, default=0.2)
    args = parser.parse_args(argv)
    ratio = throughput(args.sleep)
    overhead()
    if ratio < 1.8:
        print(f"WARNING: speed-up {ratio:.2f}x is below the 1.8x target")


if __name__ == "__main__":
    main()
