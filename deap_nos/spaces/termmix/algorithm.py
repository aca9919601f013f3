"""Seed 002's search: a generational GA with tournament selection and elitism.

:func:`eaTermMix` follows DEAP's contract (``(population, toolbox, ...) ->
(population, logbook)``, with ``toolbox.clone``, ``mate``, ``mutate``, ``evaluate``,
``map``) and uses the shared engine (:class:`deap_nos.search.engine._Session`) for the
evaluation cache, per-evaluation log, progress bar, checkpoints and exact resume, as
:func:`~deap_nos.search.algorithms.eaRegularized` does: a run killed anywhere and resumed with
``resume=`` ends exactly like a straight run.

The seed gives the population and generations (50 × 50); the rates, tournament size
and elitism are not in it and are ours (:data:`PRESETS`).
"""
import random
from operator import attrgetter

from deap import tools

from ...search import checkpoint as _ckpt
from ...search.algorithms import _check_population, _hof_restore, _hof_state, _new_logbook, _record
from ...search.engine import _check_int, _Session
from ...errors import NOSError, UnknownNameError

__all__ = ["eaTermMix", "PRESETS", "preset"]

#: Search presets: population, generations, crossover and mutation rates, tournament
#: size, elites. "paper" is the seed's 50 × 50 (2,500 evaluations at most).
PRESETS = {
    "paper": dict(population=50, generations=50, cxpb=0.7, mutpb=0.3, tournsize=3, elite=2),
    "cpu": dict(population=16, generations=12, cxpb=0.7, mutpb=0.3, tournsize=3, elite=1),
    "cheap": dict(population=6, generations=3, cxpb=0.7, mutpb=0.5, tournsize=2, elite=1),
}

_fitness = attrgetter("fitness")


def preset(name):
    """A copy of the named search preset."""
    try:
        return dict(PRESETS[name])
    except KeyError:
        raise UnknownNameError(f"unknown termmix preset {name!r}; known: "
                               f"{', '.join(sorted(PRESETS))}") from None


def _check_rate(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not 0.0 <= value <= 1.0:
        raise NOSError(f"{name} must be a probability in [0, 1], got {value!r}")


def _offspring(population, toolbox, size, cxpb, mutpb, tournsize):
    """``size`` children: tournament-selected clones, paired crossover, mutation
    (DEAP's ``varAnd``); a changed child loses its fitness."""
    parents = tools.selTournament(population, size, tournsize)
    children = [toolbox.clone(p) for p in parents]
    for i in range(1, len(children), 2):
        if random.random() < cxpb:
            children[i - 1], children[i] = toolbox.mate(children[i - 1], children[i])
            del children[i - 1].fitness.values, children[i].fitness.values
    for i, child in enumerate(children):
        if random.random() < mutpb:
            children[i], = toolbox.mutate(child)
            del children[i].fitness.values
    return children


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
        seed: As in :func:`deap_nos.search.algorithms.eaRegularized`.
    :returns: The final population and a :class:`~deap.tools.Logbook` with a line per
        generation (``gen``, ``evals``, ``cached``, ``failures`` and *stats*).

    The algorithm::

        evaluate P
        for gen = 1..ngen:
            E = the elite best of P
            C = varAnd(selTournament(P, n − elite, tournsize), cxpb, mutpb)
            evaluate the changed children at once             # one toolbox.map
            P = E + C
    """
    population = _check_population(population, minimum=2)
    n = len(population)
    _check_int(ngen, "ngen", 0)
    _check_int(tournsize, "tournsize", 1)
    _check_int(elite, "elite", 0)
    if elite >= n:
        raise NOSError(f"elite={elite} must be below the population size {n}")
    _check_rate(cxpb, "cxpb")
    _check_rate(mutpb, "mutpb")
    params = {"population": n, "cxpb": cxpb, "mutpb": mutpb, "tournsize": tournsize,
              "elite": elite}
    session = _Session("eaTermMix", params, toolbox, checkpoint, resume,
                       checkpoint_every, logfile, verbose, planned=n * (ngen + 1))
    snapshot = session.restore()
    if snapshot is None:
        if seed is not None:
            _ckpt.seed_everything(seed)
        logbook, start = _new_logbook("gen", stats), 0
    else:
        population, logbook, start = (snapshot["population"], snapshot["logbook"],
                                      snapshot["step"])
        _hof_restore(halloffame, snapshot["hof"])
    for gen in range(start, ngen + 1):
        session.begin_step(gen, population=population, logbook=logbook,
                           hof=_hof_state(halloffame))
        if gen == 0:
            children = [ind for ind in population if not ind.fitness.valid]
        else:
            elites = [toolbox.clone(ind) for ind in tools.selBest(population, elite)]
            children = _offspring(population, toolbox, n - elite, cxpb, mutpb, tournsize)
            population = elites + children
            children = [ind for ind in children if not ind.fitness.valid]
        counts = session.evaluate(children)
        _record(session, logbook, population, children, counts, stats, halloffame,
                verbose, gen=gen)
    session.finish(ngen + 1, population=population, logbook=logbook,
                   hof=_hof_state(halloffame))
    return population, logbook
