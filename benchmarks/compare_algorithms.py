"""Particle GA vs regularized evolution, same evaluation budget, cheap toy problem.

The toy problem is an NK landscape (Kauffman): a genome of N genes with A alleles each
(like a graph's operator choices); each gene's contribution depends on itself and K
other genes through a random table, so the landscape is rugged and epistatic. Genomes
whose first three genes are equal "fail stage 1" (like a degenerate optimizer rejected
by the integrity check), which exercises the particle GA's redo. Fitness in [0, 1].

    python benchmarks/compare_algorithms.py [--seeds 10] [--out benchmarks/compare.png]

Prints best fitness reached vs evaluations, averaged over seeds, and plots it.
"""
import argparse
import os
import random
import sys
import tempfile

import numpy

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from deap import base, creator  # noqa: E402

from deap_nos.algorithms import eaParticle, eaRegularized  # noqa: E402
from deap_nos.evaluation import Evaluation  # noqa: E402
from deap_nos.runlog import read_log  # noqa: E402

N, K, A = 16, 3, 4

if not hasattr(creator, "NKFitness"):
    creator.create("NKFitness", base.Fitness, weights=(1.0,))
    creator.create("NKIndividual", list, fitness=creator.NKFitness)


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


def run_pair(seed, particles=10, nsteps=6, nmut=6, sample_size=3, landscape_seed=None):
    evaluate = NKLandscape(seed=seed if landscape_seed is None else landscape_seed)
    toolbox = make_toolbox(evaluate)
    budget = particles + particles * nsteps * nmut
    curves = {}
    with tempfile.TemporaryDirectory() as tmp:
        random.seed(seed)
        start = [random_genome() for _ in range(particles)]
        random.seed(seed + 1000)
        eaParticle([toolbox.clone(g) for g in start], toolbox, nsteps, nmut,
                   verbose=False, logfile=f"{tmp}/particle.log")
        curves["particle GA"] = best_so_far(f"{tmp}/particle.log", budget)
        random.seed(seed + 1000)
        eaRegularized([toolbox.clone(g) for g in start], toolbox, budget - particles,
                      sample_size, batch_size=1, verbose=False,
                      logfile=f"{tmp}/regularized.log")
        curves["regularized evolution"] = best_so_far(f"{tmp}/regularized.log", budget)
    return curves, budget


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__),
                                                      "compare_algorithms.png"))
    args = parser.parse_args(argv)
    runs = [run_pair(seed) for seed in range(args.seeds)]
    budget = runs[0][1]
    names = list(runs[0][0])
    mean = {n: numpy.mean([r[0][n] for r in runs], axis=0) for n in names}
    std = {n: numpy.std([r[0][n] for r in runs], axis=0) for n in names}
    finals = {n: [r[0][n][-1] for r in runs] for n in names}
    print(f"NK landscape N={N} K={K} A={A}; budget {budget} evaluations; "
          f"{args.seeds} seeds (landscape and start differ per seed)")
    print("evaluations  " + "  ".join(f"{n:>24}" for n in names))
    for e in (10, 50, 100, 150, 200, 250, 300, budget):
        print(f"{e:11d}  " + "  ".join(f"{mean[n][e - 1]:>16.4f} ± {std[n][e - 1]:.3f}"
                                        for n in names))
    wins = sum(a > b for a, b in zip(*finals.values()))
    ties = sum(a == b for a, b in zip(*finals.values()))
    print(f"final best: {names[0]} wins {wins}, ties {ties}, loses "
          f"{args.seeds - wins - ties} of {args.seeds} seeds")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    x = numpy.arange(1, budget + 1)
    for n in names:
        ax.plot(x, mean[n], label=n)
        ax.fill_between(x, mean[n] - std[n], mean[n] + std[n], alpha=0.2)
    ax.set_xlabel("evaluations")
    ax.set_ylabel(f"best fitness (mean ± sd, {args.seeds} seeds)")
    ax.set_title(f"NK landscape N={N}, K={K}: same budget")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f"plot written to {args.out}")


if __name__ == "__main__":
    main()
