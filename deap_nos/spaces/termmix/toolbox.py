"""A ready DEAP toolbox and a one-call search for the term-mix space.

::

    from deap_nos.spaces.termmix.toolbox import search
    pop, logbook, hof = search("cheap", seed=0, checkpoint="runs/tm")   # resume="runs/tm"

``evaluate`` defaults to :class:`~deap_nos.spaces.termmix.fitness.CheapTermMixEvaluator`
with the preset of the same name where there is one (``cheap``, ``cpu``); pass
:class:`~deap_nos.spaces.termmix.convnet.ConvNetTermMixEvaluator` (or any evaluator)
for the ConvNet fitness.
"""
from deap import base, creator, tools

from ...generational import space_toolbox
from .algorithm import eaTermMix, preset as search_preset
from .fitness import PRESETS as FITNESS_PRESETS
from .fitness import CheapTermMixEvaluator
from .genome import TermMixGenome

__all__ = ["individual_class", "make_toolbox", "search"]


def individual_class():
    """``creator.TermMixIndividual`` (a :class:`TermMixGenome` with a maximised fitness),
    created once per process."""
    if not hasattr(creator, "TermMixIndividual"):
        if not hasattr(creator, "TermMixFitness"):
            creator.create("TermMixFitness", base.Fitness, weights=(1.0,))
        creator.create("TermMixIndividual", TermMixGenome, fitness=creator.TermMixFitness)
    return creator.TermMixIndividual


def make_toolbox(evaluate, map=map, space=None):
    """A toolbox with ``individual``, ``population``, ``mate``, ``mutate``, ``evaluate``
    and ``map`` for :func:`~deap_nos.spaces.termmix.algorithm.eaTermMix`."""
    from ... import spaces
    return space_toolbox(space or spaces.get("termmix"), evaluate, individual_class(), map)


def search(preset="cheap", evaluate=None, seed=0, checkpoint=None, resume=None,
           verbose=False, hof_size=5, map=map, **overrides):
    """Run the GA with a search preset (``paper``, ``cpu``, ``cheap``; ``overrides``
    replace its settings); returns ``(population, logbook, halloffame)``."""
    import random

    import numpy as np

    settings = search_preset(preset)
    settings.update(overrides)
    if evaluate is None:
        evaluate = CheapTermMixEvaluator(preset if preset in FITNESS_PRESETS else "cheap",
                                         seed=seed)
    toolbox = make_toolbox(evaluate, map)
    random.seed(seed)
    np.random.seed(seed)
    population = toolbox.population(n=settings["population"])
    hof = tools.HallOfFame(hof_size)
    stats = tools.Statistics(lambda ind: ind.fitness.values[0])
    stats.register("max", max)
    stats.register("mean", lambda values: float(np.mean(values)))
    population, logbook = eaTermMix(
        population, toolbox, settings["generations"], settings["cxpb"], settings["mutpb"],
        stats, hof, verbose, tournsize=settings["tournsize"], elite=settings["elite"],
        checkpoint=checkpoint, resume=resume)
    return population, logbook, hof
