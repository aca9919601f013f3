"""Particle GA vs regularized evolution, same evaluation budget.

Default mode, ``graphs``: REAL genomes. Individuals are ``nos.OptimizerGraph`` made by
``nos.initGraph`` (random genomes passing the integrity check) and varied by
``nos.mutGraph`` on the paper's search space; fitness is the best validation accuracy
of a softmax classifier of scikit-learn's digits trained with the genome over a small
learning-rate grid (:class:`deap_nos.evaluation.cheap.DigitsEvaluator`, numpy only, ≈ 0.1 s).
Both algorithms start from the same random genomes for a seed; seeds run in parallel
processes.

Mode ``surrogate``: the same real genomes, scored by the ConvNet surrogate on the
``default`` preset (MNIST-1D, 1-D ConvNet, lr sweep, early stops), through
``PopulationEvaluator`` when it is available (``--evaluator single`` forces
``SurrogateEvaluator``): the comparison on the benchmark a search really uses.

Mode ``nk``: a toy NK landscape (Kauffman): a genome of N genes with A alleles each
(like a graph's operator choices); each gene's contribution depends on itself and K
other genes through a random table, so the landscape is rugged and epistatic. Genomes
whose first three genes are equal "fail stage 1" (like a degenerate optimizer rejected
by the integrity check), which exercises the particle GA's redo. Fitness in [0, 1].

    python benchmarks/compare_algorithms.py [--mode graphs|nk] [--seeds 5] [--out F]

Prints best fitness reached vs evaluations, averaged over seeds, and plots it with
``deap_nos.plots.plot_comparison``.
"""
import argparse
import os
import random
import sys
import tempfile
import time

import numpy

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from deap import base, creator  # noqa: E402

import deap_nos as nos  # noqa: E402
from deap_nos.search.algorithms import eaParticle, eaRegularized  # noqa: E402
from deap_nos.evaluation.cheap import DigitsEvaluator  # noqa: E402
from deap_nos.evaluation import Evaluation  # noqa: E402
from deap_nos.search.runlog import read_log  # noqa: E402

N, K, A = 16, 3, 4

if not hasattr(creator, "NKFitness"):
    creator.create("NKFitness", base.Fitness, weights=(1.0,))
    creator.create("NKIndividual", list, fitness=creator.NKFitness)
if not hasattr(creator, "GraphFitness"):
    creator.create("GraphFitness", base.Fitness, weights=(1.0,))
    creator.create("GraphIndividual", nos.OptimizerGraph, fitness=creator.GraphFitness)


class NKLandscape:
    """A picklable deterministic NK-landscape evaluator."""

    def __init__(self, n=N, k=K, alleles=A, seed=0):
        rng = numpy.random.RandomState(seed)
        self.neighbours = [[i] + list(rng.choice([j for j in range(n) if j != i], k,
                                                 replace=False)) for i in range(n)]
        self.tables = rng.rand(n, alleles ** (k + 1))
        self.alleles = alleles

    def __call__(self, genome):
        if genome[0] == genome[1] == genome[2]:
            return Evaluation.failure("degenerate genome", "integrity")
        total = 0.0
        for i, nb in enumerate(self.neighbours):
            index = 0
            for j in nb:
                index = index * self.alleles + genome[j]
            total += self.tables[i, index]
        return Evaluation((total / len(self.neighbours),), {"stage": "done"})


def random_genome():
    return creator.NKIndividual(random.randrange(A) for _ in range(N))


def point_mutation(genome, kinds=None):
    """Change one gene to another allele."""
    i = random.randrange(len(genome))
    genome[i] = (genome[i] + random.randrange(1, A)) % A
    return (genome,)


def make_toolbox(evaluate):
    toolbox = base.Toolbox()
    toolbox.register("individual", random_genome)
    toolbox.register("mutate", point_mutation)
    toolbox.register("evaluate", evaluate)
    return toolbox


def best_so_far(logfile, budget):
    values = [e["fitness"][0] for e in read_log(logfile)][:budget]
    curve = numpy.maximum.accumulate(values)
    if len(curve) < budget:                       # cache hits left budget unused
        curve = numpy.concatenate([curve, numpy.full(budget - len(curve), curve[-1])])
    return curve


def surrogate_evaluator(kind, seed):
    """The default-preset evaluator: the population one unless ``kind == "single"``."""
    if kind != "single":
        try:
            from deap_nos.evaluation.population import PopulationEvaluator
            return PopulationEvaluator.preset("default", seed=seed)
        except ImportError:
            pass
    from deap_nos.evaluation.evaluator import SurrogateEvaluator
    return SurrogateEvaluator.preset("default", seed=seed)


def graph_toolbox(steps, mode="graphs", kind="population", seed=0):
    space = nos.SearchSpace.default()
    toolbox = base.Toolbox()
    toolbox.register("individual", nos.initGraph, creator.GraphIndividual, space)
    toolbox.register("mutate", nos.mutGraph, space=space)
    if mode == "surrogate":
        evaluate = surrogate_evaluator(kind, seed)
        if hasattr(evaluate, "map"):
            toolbox.register("map", evaluate.map)
    else:
        evaluate = DigitsEvaluator(steps=steps)
    toolbox.register("evaluate", evaluate)
    return toolbox


def run_pair(seed, mode="graphs", particles=10, nsteps=6, nmut=6, sample_size=3,
             steps=100, kind="population"):
    """Both algorithms from the same start genomes; their best-so-far curves."""
    if mode == "nk":
        toolbox, draw = make_toolbox(NKLandscape(seed=seed)), random_genome
    else:
        toolbox = graph_toolbox(steps, mode, kind, seed)
        draw = toolbox.individual
    budget = particles + particles * nsteps * nmut
    curves, seconds = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        random.seed(seed)
        numpy.random.seed(seed)
        start = [draw() for _ in range(particles)]
        for name in ("particle GA", "regularized evolution"):
            random.seed(seed + 1000)
            numpy.random.seed(seed + 1000)
            log = f"{tmp}/{name.split()[0]}.log"
            began = time.perf_counter()
            if name == "particle GA":
                eaParticle([toolbox.clone(g) for g in start], toolbox, nsteps, nmut,
                           verbose=False, logfile=log)
            else:
                eaRegularized([toolbox.clone(g) for g in start], toolbox,
                              budget - particles, sample_size, batch_size=1,
                              verbose=False, logfile=log)
            seconds[name] = time.perf_counter() - began
            curves[name] = best_so_far(log, budget)
    return curves, budget, seconds


_SUFFIX = {"graphs": "", "surrogate": "_surrogate", "nk": "_nk"}


def _run_pair_args(args):
    return run_pair(*args)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("graphs", "surrogate", "nk"), default="graphs")
    parser.add_argument("--evaluator", choices=("population", "single"), default="population",
                        help="surrogate mode: PopulationEvaluator (default) or SurrogateEvaluator")
    parser.add_argument("--seeds", type=int, default=None,
                        help="default 6 (graphs) or 10 (nk)")
    parser.add_argument("--particles", type=int, default=None,
                        help="particles = population size (default 6 graphs, 10 nk)")
    parser.add_argument("--nsteps", type=int, default=None)
    parser.add_argument("--nmut", type=int, default=None)
    parser.add_argument("--steps", type=int, default=100,
                        help="training steps per genome (graphs mode)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes running seeds in parallel")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    graphs = args.mode in ("graphs", "surrogate")
    seeds = args.seeds or (6 if graphs else 10)
    particles = args.particles or (6 if graphs else 10)
    nsteps = args.nsteps or (5 if graphs else 6)
    nmut = args.nmut or (5 if graphs else 6)
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                   f"compare_algorithms{_SUFFIX[args.mode]}.png")
    jobs = [(seed, args.mode, particles, nsteps, nmut, 3, args.steps, args.evaluator)
            for seed in range(seeds)]
    began = time.perf_counter()
    if args.workers > 1 and seeds > 1:
        import multiprocess
        with multiprocess.get_context("fork").Pool(min(args.workers, seeds)) as pool:
            runs = pool.map(_run_pair_args, jobs)
    else:
        runs = [run_pair(*job) for job in jobs]
    wall = time.perf_counter() - began
    budget = runs[0][1]
    names = list(runs[0][0])
    mean = {n: numpy.mean([r[0][n] for r in runs], axis=0) for n in names}
    std = {n: numpy.std([r[0][n] for r in runs], axis=0) for n in names}
    finals = {n: [r[0][n][-1] for r in runs] for n in names}
    cpu = {n: sum(r[2][n] for r in runs) for n in names}
    if args.mode == "surrogate":
        print(f"real genomes (paper's space, initGraph/mutGraph), ConvNet surrogate, "
              f"preset default (MNIST-1D), {args.evaluator} evaluator")
    if args.mode == "graphs":
        print(f"real genomes (paper's space, initGraph/mutGraph), DigitsEvaluator "
              f"softmax, {args.steps} steps, lrs {DigitsEvaluator().lrs}")
    if graphs:
        print(f"particle GA n={particles} k={nsteps} m={nmut}; regularized evolution "
              f"P={particles} S=3 batch 1; budget {budget} evaluations; {seeds} seeds "
              f"(start genomes differ per seed, shared by both algorithms)")
    else:
        print(f"NK landscape N={N} K={K} A={A}; budget {budget} evaluations; "
              f"{seeds} seeds (landscape and start differ per seed)")
    print("evaluations  " + "  ".join(f"{n:>24}" for n in names))
    marks = sorted({e for e in (particles, 25, 50, 75, 100, 150, 200, 250, 300, budget)
                    if e <= budget})
    for e in marks:
        print(f"{e:11d}  " + "  ".join(f"{mean[n][e - 1]:>16.4f} ± {std[n][e - 1]:.3f}"
                                        for n in names))
    wins = sum(a > b for a, b in zip(*finals.values()))
    ties = sum(a == b for a, b in zip(*finals.values()))
    print(f"final best: {names[0]} wins {wins}, ties {ties}, loses "
          f"{seeds - wins - ties} of {seeds} seeds")
    print("run time: " + ", ".join(f"{n} {cpu[n]:.0f} s" for n in names)
          + f" (summed over seeds); wall {wall:.0f} s with {args.workers} process(es)")
    from deap_nos.plots import plot_comparison
    x = numpy.arange(1, budget + 1)
    title = {"graphs": "real genomes on digits (softmax)",
             "surrogate": "real genomes, ConvNet surrogate on MNIST-1D",
             "nk": f"NK landscape N={N}, K={K}"}[args.mode] + \
        f": same budget, {seeds} seeds"
    plot_comparison({n: (x, mean[n], std[n]) for n in names}, out, title=title)
    print(f"plot written to {out}")
    return runs


if __name__ == "__main__":
    main()
