"""The ``nos`` space's side of the representation protocol: the paper's update graph.

:class:`~deap_nos.spaces.nos.space.SearchSpace` (the primitive tables a researcher extends) offers
the protocol of :mod:`deap_nos.spaces` by calling these functions, which sit above the
genome modules: random genomes and mutation (:mod:`deap_nos.spaces.nos.variation`), the integrity
check, the compiler, text and JSON, and the zoo's graph entries. The paper's search is
mutation-only, so :func:`mate` refuses.
"""
from ...errors import NOSError
from .genome import OptimizerGraph, parse as parse_graph
from .integrity import integrity_check
from ...program import compile as compile_graph
from .variation import initGraph, mutGraph


def genome_class():
    """:class:`~deap_nos.spaces.nos.genome.OptimizerGraph`."""
    return OptimizerGraph


def random(space, cls=None, **options):
    """A random genome of ``space`` that passes the integrity check."""
    return initGraph(cls or OptimizerGraph, space, **options)


def mutate(space, individual, **options):
    """:func:`~deap_nos.spaces.nos.variation.mutGraph` in ``space``; returns ``(individual,)``."""
    return mutGraph(individual, space, **options)


def mate(space, ind1, ind2):
    """Refuse: the particle GA and regularized evolution are mutation-only."""
    raise NotImplementedError(
        "the nos space has no crossover: the particle GA and regularized evolution are "
        "mutation-only (use space.mutate)")


def screen(space, genome, **options):
    """The shifted-sphere integrity check in ``space``."""
    return integrity_check(genome, space, **options)


def compile(space, genome, backend=None, total_steps=1000, warmup_steps=0, hold_steps=0,
            **options):
    """``genome`` as a :class:`~deap_nos.program.Program` of ``space``."""
    return compile_graph(genome, backend, space, total_steps, warmup_steps, hold_steps,
                         **options)


def parse(space, text, cls=None):
    """A genome of ``space`` from the text syntax."""
    return parse_graph(text, space, cls or OptimizerGraph)


def from_dict(space, data, cls=None):
    """A genome of ``space`` from its JSON document."""
    return (cls or OptimizerGraph).from_dict(data, space)


def zoo():
    """``{name: text}`` of the zoo's graph entries (the paper's optimizers, baselines)."""
    from ... import zoo as zoo_module
    entries = {}
    for name in zoo_module.names():
        try:
            entries[name] = str(zoo_module.genome(name))
        except NOSError:          # schedules (LR1–LR9) and non-graph entries (ADES)
            continue
    return entries
