"""A ready DEAP toolbox for graph genomes (what every example and the CLI register).

Writing it out yourself is four lines of DEAP (see README); this helper keeps the
examples and the ``deap-nos`` command on one definition.
"""
from deap import base, creator

from .genome import OptimizerGraph
from .variation import initGraph, mutGraph


def individual_class():
    """``creator.GraphIndividual`` (an :class:`OptimizerGraph` with a maximising
    ``creator.FitnessNOS``), created once per process."""
    if not hasattr(creator, "GraphIndividual"):
        creator.create("FitnessNOS", base.Fitness, weights=(1.0,))
        creator.create("GraphIndividual", OptimizerGraph, fitness=creator.FitnessNOS)
    return creator.GraphIndividual


def make_toolbox(space, evaluate, workers=1, kinds=None, integrity=None):
    """A toolbox with ``individual`` (initGraph), ``mutate`` (mutGraph, restricted to
    ``kinds`` when given), ``evaluate`` and — for ``workers > 1`` — a process-pool
    ``map`` (:class:`~deap_nos.search.parallel.ProcessMap`; stop it with
    ``deap_nos.search.parallel.close_map(toolbox.map)``). ``integrity``: keyword arguments of
    the integrity check that screens every new genome (e.g. ``{"semantics": "authors"}``).
    """
    toolbox = base.Toolbox()
    toolbox.register("individual", initGraph, individual_class(), space,
                     integrity=integrity)
    toolbox.register("mutate", mutGraph, space=space, kinds=kinds, integrity=integrity)
    toolbox.register("evaluate", evaluate)
    if workers > 1:
        toolbox.register("map", process_map(workers))
    return toolbox


def process_map(workers):
    """A :class:`~deap_nos.search.parallel.ProcessMap` of ``workers`` processes for these
    individuals: every worker makes ``creator.GraphIndividual`` first, so a spawned one
    (TensorFlow already running in this process) can unpickle the individuals it gets."""
    from ...search.parallel import ProcessMap
    return ProcessMap(workers, initializer=individual_class)
