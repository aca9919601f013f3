"""Register the search space in a DEAP toolbox; print random genomes and their mutants.

    python examples/random_genomes.py
"""
import random

import numpy as np
from deap import base, creator

import deap_nos as nos


def main(seed=0, count=5):
    random.seed(seed)
    space = nos.SearchSpace.default()
    if not hasattr(creator, "Individual"):
        creator.create("FitnessMax", base.Fitness, weights=(1.0,))
        creator.create("Individual", nos.OptimizerGraph, fitness=creator.FitnessMax)
    toolbox = base.Toolbox()
    toolbox.register("individual", nos.initGraph, creator.Individual, space)
    toolbox.register("mutate", nos.mutGraph, space=space)
    toolbox.register("mutate_decays", nos.mutGraph, space=space, kinds=("decay",))

    print("Random genomes (each passed the integrity check):")
    population = [toolbox.individual() for _ in range(count)]
    for ind in population:
        result = nos.integrity_check(ind, space)
        best = int(np.nanargmin(result.losses))
        print(f"  {str(ind):70s} best lr {result.lrs[best]:g}, final loss {result.losses[best]:.3g}")

    print("\nMutants of the first one:")
    parent = population[0]
    for _ in range(count):
        (child,) = toolbox.mutate(toolbox.clone(parent))
        print(f"  {child}")

    adam = nos.parse("div(v_hat, sqrt_abs(s_hat))", space, cls=creator.Individual)
    print("\nAdam with new decay functions (decay genes only):")
    for _ in range(3):
        (child,) = toolbox.mutate_decays(toolbox.clone(adam))
        print(f"  {child}")
    print("\nAs JSON:", adam.to_json())


if __name__ == "__main__":
    main()
