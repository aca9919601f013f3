"""Adaptive AutoLR's search (seed 003): a generational GA over the four-tree genomes,
with the rates of structured grammatical evolution, on the shared engine.

:func:`eaAutoLR` evaluates through the engine's session (:class:`deap_nos.search.engine._Session`)
exactly as :func:`~deap_nos.search.algorithms.eaRegularized` does: evaluation cache keyed by the
genome's semantic fingerprint, one ``toolbox.map`` per generation (or chunks of
``checkpoint_every``), log, hall of fame, and a checkpoint at every generation's start,
so a search killed anywhere and resumed ends exactly like a straight one.

:data:`PRESETS`: ``"paper"`` (Table 1: 20 individuals, 1,500 generations, tournament 5,
crossover 0.9, mutation 0.15, 5 shards, minimum accuracy 0.8), ``"cpu"`` (the same rates,
fewer generations, the digits fitness) and ``"cheap"`` (tests).
"""
import random
from operator import attrgetter

from ...search import checkpoint as _ckpt
from ...search.algorithms import (_check_population, _evaluate_initial, _hof_restore,
                                  _hof_state, _new_logbook, _record)
from ...search.engine import _check_int, _Session
from ...errors import NOSError, UnknownNameError

_fitness = attrgetter("fitness")

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
    try:
        return dict(PRESETS[name])
    except KeyError:
        raise UnknownNameError(f"unknown autolr preset {name!r}; known: "
                               f"{', '.join(sorted(PRESETS))}") from None


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


def _tournament(population, tournsize):
    return max(random.sample(population, tournsize), key=_fitness)


def _offspring(population, toolbox, size, tournsize, cxpb, mutpb):
    """``size`` children: tournament parents, crossover with probability ``cxpb`` (the
    first child kept, as SGE does), then ``toolbox.mutate(child, rate=mutpb)``."""
    children = []
    while len(children) < size:
        child = toolbox.clone(_tournament(population, tournsize))
        if random.random() < cxpb:
            other = toolbox.clone(_tournament(population, tournsize))
            child, _ = toolbox.mate(child, other)
        child, = toolbox.mutate(child, rate=mutpb)
        del child.fitness.values
        children.append(child)
    return children


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
        seed: As in :func:`deap_nos.search.algorithms.eaRegularized`.
    :returns: The final population and a :class:`~deap.tools.Logbook` with a line per
        generation (``gen``, ``evals``, ``cached``, ``failures`` and *stats*).

    The algorithm::

        evaluate P
        for gen = 1..ngen:
            C = [mutate(mate?(tournament(P), tournament(P))) for each non-elite place]
            evaluate C at once                                 # one toolbox.map
            P = best elitism of P + C
    """
    population = _check_population(population, minimum=2)
    _check_int(ngen, "ngen", 0)
    _check_int(tournsize, "tournsize", 1)
    _check_int(elitism, "elitism", 0)
    if tournsize > len(population) or elitism >= len(population):
        raise NOSError(f"tournsize={tournsize} and elitism={elitism} must be below the "
                       f"population size {len(population)}")
    for name, value in (("cxpb", cxpb), ("mutpb", mutpb)):
        if not 0.0 <= value <= 1.0:
            raise NOSError(f"{name} is a probability in [0, 1], got {value!r}")
    size = len(population)
    session = _Session("eaAutoLR", {"tournsize": tournsize, "population": size,
                                    "cxpb": cxpb, "mutpb": mutpb, "elitism": elitism},
                       toolbox, checkpoint, resume, checkpoint_every, logfile, verbose,
                       planned=size * (ngen + 1))
    snapshot = session.restore()
    if snapshot is None:
        if seed is not None:
            _ckpt.seed_everything(seed)
        logbook, gen, step = _new_logbook("gen", stats), None, 0
    else:
        population, logbook = snapshot["population"], snapshot["logbook"]
        gen, step = snapshot["gen"], snapshot["step"]
        _hof_restore(halloffame, snapshot["hof"])
    while gen is None or gen < ngen:
        session.begin_step(step, population=population, logbook=logbook, gen=gen,
                           hof=_hof_state(halloffame))
        if gen is None:
            counts, children = _evaluate_initial(session, population)
            children, gen = population, 0
        else:
            elites = sorted(population, key=_fitness, reverse=True)[:elitism]
            children = _offspring(population, toolbox, size - elitism, tournsize, cxpb,
                                  mutpb)
            counts = session.evaluate(children)
            population = elites + children
            gen += 1
        _record(session, logbook, population, children, counts, stats, halloffame,
                verbose, gen=gen)
        step += 1
    session.finish(step, population=population, logbook=logbook, gen=gen,
                   hof=_hof_state(halloffame))
    return population, logbook


def toolbox(space=None, evaluate=None, cls=None):
    """A DEAP toolbox wired for :func:`eaAutoLR` with ``space``'s operators."""
    from deap import base
    from .space import clone, default_space
    space = space or default_space()
    tb = base.Toolbox()
    tb.register("clone", clone)
    tb.register("mate", space.mate)
    tb.register("mutate", space.mutate)
    tb.register("individual", space.random, cls)
    tb.register("population", lambda n: [tb.individual() for _ in range(n)])
    if evaluate is not None:
        tb.register("evaluate", evaluate)
    return tb
