"""Shared command-line options of the example scripts (evaluator choice and sizes)."""
import argparse

import deap_nos as nos
from deap_nos.parallel import close_map


def parser(description):
    """Options every search example accepts."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--evaluator", choices=("default", "quick", "cheap"), default="default",
                   help="default: the 1-D ConvNet surrogate on generated MNIST-1D (seconds "
                   "per genome); quick: the ConvNet on the embedded digits; cheap: numpy "
                   "softmax regression on digits (~0.1 s per genome)")
    p.add_argument("--workers", type=int, default=2, help="evaluation processes")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--run-dir", default=None, help="checkpoint folder (resumable)")
    return p


def particle_options(p):
    """Sizes of a particle-GA run: n particles, k steps, m mutants per step."""
    p.add_argument("--particles", type=int, default=3)
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--mutations", type=int, default=3)
    return p


def evaluator(name, space, seed=0):
    """The evaluator named on the command line. The ConvNet presets use the population
    evaluator with one slot: under ``make_toolbox(..., workers)`` each worker process
    trains one run at a time on its share of the cores, compiled once (on 2 cores 6x
    the evaluations per second of ``SurrogateEvaluator``, benchmarks/RESULTS.md)."""
    if name == "cheap":
        return nos.DigitsEvaluator(seed=seed)
    return nos.PopulationEvaluator.preset(name, space=space, seed=seed, slots=1)


def statistics():
    """Fitness statistics for the logbook."""
    import numpy as np
    from deap import tools
    stats = tools.Statistics(lambda ind: ind.fitness.values[0])
    stats.register("max", np.max)
    stats.register("median", np.median)
    return stats


def start(args):
    """Seed Python's and numpy's generators (what DEAP operators draw from)."""
    import random
    import numpy as np
    random.seed(args.seed)
    np.random.seed(args.seed)


def finish(toolbox, hof, title="Best optimizers found"):
    """Close the worker pool, print the hall of fame and the result line
    ``best fitness F`` (the best validation accuracy found; tests/test_examples.py
    reads it)."""
    close_map(toolbox.map)
    print(f"\n{title}:")
    for ind in hof:
        print(f"  {ind.fitness.values[0]:.4f}  {ind}")
    print(f"best fitness {hof[0].fitness.values[0]:.4f}")
