"""One generational genetic algorithm, as a strategy the engine drives.

:class:`Generational` is a strategy with DEAP's ask/tell shape (``generate`` /
``update``, as :func:`deap.algorithms.eaGenerateUpdate` drives CMA-ES): it is told
*how* to select and vary, and keeps the elites between the two calls. It knows nothing
of evaluation; :func:`eaGenerational` is the loop that runs it on the shared engine
(:class:`deap_nos.engine._Session`: evaluation cache, one ``toolbox.map`` per
generation or chunks of ``checkpoint_every``, per-evaluation log, progress bar, hall
of fame, a checkpoint at every generation's start and exact resume).

The space presets are parameter choices of this one algorithm:

* seed 002's GA (:func:`deap_nos.spaces.termmix.algorithm.eaTermMix`): tournament
  selection (aspirants drawn with replacement, :func:`deap.tools.selTournament`) and
  DEAP's :func:`~deap.algorithms.varAnd` (pairwise crossover, then mutation);
* Adaptive AutoLR's structured grammatical evolution
  (:func:`deap_nos.spaces.autolr.algorithm.eaAutoLR`): tournaments of distinct
  aspirants (:func:`selTournamentDistinct`) and :func:`varOne` (each child crossed with
  probability ``cxpb`` with the next selected parent, keeping one child, then always
  mutated with a per-tree rate).

The algorithm::

    evaluate P
    for gen = 1..ngen:
        E = the `elite` best of P                              # generate
        C = vary(select(P, |P| − elite))
        evaluate the children without a fitness at once       # one toolbox.map
        P = E + C                                              # update

Importing this module does not import TensorFlow.
"""
import random
from operator import attrgetter

from deap import tools
from deap.algorithms import varAnd

from . import checkpoint as _ckpt
from .algorithms import (_check_population, _evaluate_initial, _hof_restore, _hof_state,
                         _new_logbook, _record)
from .engine import _check_int, _Session
from .errors import NOSError, UnknownNameError

__all__ = ["Generational", "eaGenerational", "selTournamentDistinct", "varOne",
           "check_probability", "space_toolbox", "preset_from"]

_fitness = attrgetter("fitness")


def check_probability(value, name):
    """*value* if it is a probability in [0, 1], else a :class:`NOSError` naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not 0.0 <= value <= 1.0:
        raise NOSError(f"{name} must be a probability in [0, 1], got {value!r}")
    return value


def preset_from(presets, name, what):
    """A copy of ``presets[name]``; an unknown name is an
    :class:`~deap_nos.errors.UnknownNameError` listing the known ones."""
    try:
        return dict(presets[name])
    except KeyError:
        raise UnknownNameError(f"unknown {what} preset {name!r}; known: "
                               f"{', '.join(sorted(presets))}") from None


def selTournamentDistinct(individuals, k, tournsize):
    """*k* tournament winners, each the best of *tournsize* **distinct** individuals
    (``random.sample``; DEAP's :func:`~deap.tools.selTournament` draws with
    replacement). Structured grammatical evolution's tournament."""
    return [max(random.sample(individuals, tournsize), key=_fitness) for _ in range(k)]


def varOne(parents, toolbox, cxpb, mutpb):
    """One child per parent: a clone of parent *i*, crossed with probability *cxpb*
    with a clone of parent *i* + 1 (cyclically: another independent selection winner;
    the first child of ``toolbox.mate`` is kept, as SGE does), then always mutated by
    ``toolbox.mutate(child, rate=mutpb)`` (*mutpb*: the per-tree mutation rate). Every
    child loses its fitness."""
    children = []
    for i, parent in enumerate(parents):
        child = toolbox.clone(parent)
        if random.random() < cxpb:
            child, _ = toolbox.mate(child, toolbox.clone(parents[(i + 1) % len(parents)]))
        child, = toolbox.mutate(child, rate=mutpb)
        del child.fitness.values
        children.append(child)
    return children


def space_toolbox(space, evaluate=None, cls=None, map=None, clone=None):
    """A DEAP toolbox with *space*'s operators: ``individual`` (``space.random`` with
    the individual class *cls*), ``population(n)``, ``mate``, ``mutate``, and
    ``evaluate``, ``map`` and ``clone`` where given (DEAP's defaults otherwise)."""
    from deap import base
    toolbox = base.Toolbox()
    if clone is not None:
        toolbox.register("clone", clone)
    toolbox.register("individual", space.random, cls)
    toolbox.register("population", tools.initRepeat, list, toolbox.individual)
    toolbox.register("mate", space.mate)
    toolbox.register("mutate", space.mutate)
    if evaluate is not None:
        toolbox.register("evaluate", evaluate)
    if map is not None:
        toolbox.register("map", map)
    return toolbox


class Generational:
    """A generational GA with elitism, in DEAP's ``generate`` / ``update`` shape.

    :param select: ``select(population, k) -> k parents`` (e.g.
        ``functools.partial(tools.selTournament, tournsize=3)``).
    :param vary: ``vary(parents) -> children`` (as many; a changed child has no valid
        fitness), e.g. ``lambda p: varAnd(p, toolbox, cxpb, mutpb)``.
    :param elite: How many of the best survive each generation unchanged (cloned).
    :param clone: Copies the elites (``toolbox.clone``).

    ``generate(population)`` returns the next generation's children and remembers the
    elites; ``update(children)`` returns the next population, elites first.
    """

    def __init__(self, select, vary, elite=1, clone=None):
        self.select, self.vary = select, vary
        self.elite = _check_int(elite, "elite", 0)
        self.clone = clone if clone is not None else (lambda ind: ind)
        self._elites = None

    @classmethod
    def varAnd(cls, toolbox, tournsize=3, cxpb=0.7, mutpb=0.3, elite=1):
        """Tournament selection (with replacement) and DEAP's ``varAnd``."""
        _check_int(tournsize, "tournsize", 1)
        check_probability(cxpb, "cxpb")
        check_probability(mutpb, "mutpb")
        return cls(lambda pop, k: tools.selTournament(pop, k, tournsize),
                   lambda parents: varAnd(parents, toolbox, cxpb, mutpb), elite,
                   toolbox.clone)

    @classmethod
    def sge(cls, toolbox, tournsize=5, cxpb=0.9, mutpb=0.15, elite=1):
        """Structured grammatical evolution's choices: tournaments of distinct
        aspirants and :func:`varOne`."""
        _check_int(tournsize, "tournsize", 1)
        check_probability(cxpb, "cxpb")
        check_probability(mutpb, "mutpb")
        return cls(lambda pop, k: selTournamentDistinct(pop, k, tournsize),
                   lambda parents: varOne(parents, toolbox, cxpb, mutpb), elite,
                   toolbox.clone)

    def generate(self, population):
        """The children of the next generation (``len(population) − elite``)."""
        if self.elite >= len(population):
            raise NOSError(f"elite={self.elite} must be below the population size "
                           f"{len(population)}")
        self._elites = [self.clone(ind) for ind in tools.selBest(population, self.elite)]
        return self.vary(self.select(population, len(population) - self.elite))

    def update(self, children):
        """The next population: the elites of the last :meth:`generate`, then
        *children* (evaluated)."""
        if self._elites is None:
            raise NOSError("Generational.update called before generate")
        population, self._elites = self._elites + list(children), None
        return population


def eaGenerational(population, toolbox, ngen, strategy, stats=None, halloffame=None,
                   verbose=__debug__, *, name="eaGenerational", params=None,
                   checkpoint=None, resume=None, checkpoint_every=None, logfile=None,
                   seed=None):
    """Run the generational *strategy* for *ngen* generations on the engine.

    :param population: The initial population (its size stays constant); those
        without a valid fitness are evaluated first.
    :param toolbox: Provides ``evaluate`` and ``map`` (and what *strategy* uses).
    :param ngen: Generations after the initial one.
    :param strategy: A :class:`Generational` (or any object with its
        ``generate(population)`` / ``update(children)``).
    :param name, params: The algorithm's name and parameters written in the
        checkpoint; a resume must name the same.
    :param stats, halloffame, verbose, checkpoint, resume, checkpoint_every, logfile,
        seed: As in :func:`deap_nos.algorithms.eaRegularized`.
    :returns: The final population and a :class:`~deap.tools.Logbook` with a line per
        generation (``gen``, ``nevals``, ``cached``, ``failures`` and *stats*).
    """
    population = _check_population(population, minimum=2)
    _check_int(ngen, "ngen", 0)
    n = len(population)
    if getattr(strategy, "elite", 0) >= n:
        raise NOSError(f"elite={strategy.elite} must be below the population size {n}")
    session = _Session(name, dict(params or {}, population=n), toolbox, checkpoint,
                       resume, checkpoint_every, logfile, verbose, planned=n * (ngen + 1))
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
            counts, children = _evaluate_initial(session, population)
        else:
            children = strategy.generate(population)
            invalid = [ind for ind in children if not ind.fitness.valid]
            counts = session.evaluate(invalid)
            population, children = strategy.update(children), invalid
        _record(session, logbook, population, children, counts, stats, halloffame,
                verbose, gen=gen)
    session.finish(ngen + 1, population=population, logbook=logbook,
                   hof=_hof_state(halloffame))
    return population, logbook
