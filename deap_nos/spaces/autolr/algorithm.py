"""Adaptive AutoLR's search (seed 003): a generational GA over the four-tree genomes,
with the rates of structured grammatical evolution, on the shared engine.

:func:`eaAutoLR` is a preset of the one generational strategy
(:meth:`deap_nos.generational.Generational.sge`: tournaments of distinct aspirants,
crossover keeping one child, per-tree mutation, elitism) run by
:func:`~deap_nos.generational.eaGenerational` on the engine: evaluation cache keyed by
the genome's semantic fingerprint, one ``toolbox.map`` per generation (or chunks of
``checkpoint_every``), log, hall of fame, and a checkpoint at every generation's start,
so a search killed anywhere and resumed ends exactly like a straight one.

:data:`PRESETS`: ``"paper"`` (Table 1: 20 individuals, 1,500 generations, tournament 5,
crossover 0.9, mutation 0.15, 5 shards, minimum accuracy 0.8), ``"cpu"`` (the same rates,
fewer generations, the digits fitness) and ``"cheap"`` (tests).
"""
from ...errors import NOSError
from ...generational import Generational, eaGenerational, preset_from, space_toolbox

#: name -> settings of :func:`eaAutoLR` and of its fitness (:mod:`.fitness`).
PRESETS = {
    "paper": dict(population=20, ngen=1500, tournsize=5, cxpb=0.9, mutpb=0.15, elitism=1,
                  k=5, min_accuracy=0.8, fitness="surrogate"),
    "cpu": dict(population=20, ngen=50, tournsize=5, cxpb=0.9, mutpb=0.15, elitism=1,
                k=5, min_accuracy=0.8, fitness="digits", steps=100),
    "cheap": dict(population=8, ngen=3, tournsize=3, cxpb=0.9, mutpb=0.15, elitism=1,
                  k=3, min_accuracy=0.5, fitness="digits", steps=30),
}


def preset(name):
    """The settings of preset ``name`` (a copy)."""
    return preset_from(PRESETS, name, "autolr")


def make_evaluator(settings, seed=0):
    """The worst-of-k evaluator a preset describes (``fitness``: "digits" | "surrogate")."""
    from .fitness import DigitsShards, SurrogateShards, WorstOfK
    if settings["fitness"] == "digits":
        trainer = DigitsShards(steps=settings.get("steps", 100))
    elif settings["fitness"] == "surrogate":
        trainer = SurrogateShards(settings.get("surrogate_preset", "quick"))
    else:
        raise NOSError(f"unknown autolr fitness {settings['fitness']!r}; use 'digits' "
                       "or 'surrogate'")
    return WorstOfK(trainer, k=settings["k"], min_accuracy=settings["min_accuracy"],
                    seed=seed)


def eaAutoLR(population, toolbox, ngen, tournsize=5, cxpb=0.9, mutpb=0.15, elitism=1,
             stats=None, halloffame=None, verbose=__debug__, *, checkpoint=None,
             resume=None, checkpoint_every=None, logfile=None, seed=None):
    """Structured-grammatical-evolution style generational GA of Adaptive AutoLR.

    :param population: The initial population (e.g. ``space.random`` genomes); its
        size stays constant.
    :param toolbox: Provides ``clone``, ``mate``, ``mutate`` (taking ``rate=``: the
        per-tree mutation probability, :meth:`AutoLRSpace.mutate`), ``evaluate`` and
        ``map``.
    :param ngen: Generations after the initial one.
    :param tournsize, cxpb, mutpb: Tournament size, crossover probability, per-tree
        mutation rate (the paper: 5, 0.9, 0.15).
    :param elitism: The best this many survive each generation unchanged (SGE keeps
        elites; the paper does not give the number: 1 by default).
    :param stats, halloffame, verbose, checkpoint, resume, checkpoint_every, logfile,
        seed: As in :func:`~deap_nos.generational.eaGenerational` (the loop), which
        runs it and whose ``(population, logbook)`` it returns.

    Children: ``varOne(selTournamentDistinct(P, n − elitism, tournsize), cxpb, mutpb)``
    (each child: its parent crossed with the next parent with probability ``cxpb``,
    then mutated with per-tree rate ``mutpb``).
    """
    population = list(population)
    if not isinstance(tournsize, bool) and isinstance(tournsize, int) \
            and tournsize > len(population):
        raise NOSError(f"tournsize={tournsize} must not exceed the population size "
                       f"{len(population)} (tournaments of distinct individuals)")
    strategy = Generational.sge(toolbox, tournsize, cxpb, mutpb, elitism)
    params = {"tournsize": tournsize, "cxpb": cxpb, "mutpb": mutpb, "elitism": elitism}
    return eaGenerational(population, toolbox, ngen, strategy, stats, halloffame, verbose,
                          name="eaAutoLR", params=params, checkpoint=checkpoint,
                          resume=resume, checkpoint_every=checkpoint_every,
                          logfile=logfile, seed=seed)


def toolbox(space=None, evaluate=None, cls=None):
    """A DEAP toolbox wired for :func:`eaAutoLR` with ``space``'s operators."""
    from .space import clone, default_space
    return space_toolbox(space or default_space(), evaluate, cls, clone=clone)
