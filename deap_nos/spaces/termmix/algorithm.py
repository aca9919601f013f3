"""Seed 002's search: a generational GA with tournament selection and elitism.

:func:`eaTermMix` follows DEAP's contract (``(population, toolbox, ...) ->
(population, logbook)``, with ``toolbox.clone``, ``mate``, ``mutate``, ``evaluate``,
``map``). It is a preset of the one generational strategy
(:class:`deap_nos.generational.Generational`: tournament selection, DEAP's ``varAnd``,
elitism) run on the shared engine by :func:`~deap_nos.generational.eaGenerational`
(evaluation cache, per-evaluation log, progress bar, checkpoints and exact resume: a
run killed anywhere and resumed with ``resume=`` ends exactly like a straight run).

The seed gives the population and generations (50 × 50); the rates, tournament size
and elitism are not in it and are ours (:data:`PRESETS`).
"""
from ...generational import Generational, eaGenerational, preset_from

__all__ = ["eaTermMix", "PRESETS", "preset"]

#: Search presets: population, generations, crossover and mutation rates, tournament
#: size, elites. "paper" is the seed's 50 × 50 (2,500 evaluations at most).
PRESETS = {
    "paper": dict(population=50, generations=50, cxpb=0.7, mutpb=0.3, tournsize=3, elite=2),
    "cpu": dict(population=16, generations=12, cxpb=0.7, mutpb=0.3, tournsize=3, elite=1),
    "cheap": dict(population=6, generations=3, cxpb=0.7, mutpb=0.5, tournsize=2, elite=1),
}


def preset(name):
    """A copy of the named search preset."""
    return preset_from(PRESETS, name, "termmix")


def eaTermMix(population, toolbox, ngen, cxpb=0.7, mutpb=0.3, stats=None,
              halloffame=None, verbose=__debug__, *, tournsize=3, elite=1,
              checkpoint=None, resume=None, checkpoint_every=None, logfile=None,
              seed=None):
    """Generational GA: each generation keeps the ``elite`` best, fills the rest of
    the population with tournament-selected, crossed and mutated children.

    :param population: The initial population (size kept constant).
    :param toolbox: Provides ``clone``, ``mate``, ``mutate``, ``evaluate``, ``map``.
    :param ngen: Generations after the initial one.
    :param cxpb, mutpb: Crossover probability per pair, mutation probability per child.
    :param tournsize: Tournament size of the selection.
    :param elite: Best individuals copied unchanged into the next generation.
    :param stats, halloffame, verbose, checkpoint, resume, checkpoint_every, logfile,
        seed: As in :func:`~deap_nos.generational.eaGenerational` (the loop), which
        runs it and whose ``(population, logbook)`` it returns.

    Children: ``varAnd(selTournament(P, n − elite, tournsize), cxpb, mutpb)``.
    """
    strategy = Generational.varAnd(toolbox, tournsize, cxpb, mutpb, elite)
    params = {"cxpb": cxpb, "mutpb": mutpb, "tournsize": tournsize, "elite": elite}
    return eaGenerational(population, toolbox, ngen, strategy, stats, halloffame, verbose,
                          name="eaTermMix", params=params, checkpoint=checkpoint,
                          resume=resume, checkpoint_every=checkpoint_every,
                          logfile=logfile, seed=seed)
