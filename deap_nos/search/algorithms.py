"""Search algorithms: the particle GA and regularized evolution.

Both algorithms follow DEAP's contract — ``(population, toolbox, ..., stats=None,
halloffame=None, verbose=...) -> (population, logbook)``, with ``toolbox.clone``,
``toolbox.mutate`` (in place, returns ``(individual,)``), ``toolbox.evaluate`` (returns
a fitness tuple, possibly an :class:`~deap_nos.evaluation.Evaluation` with ``.info``)
and ``toolbox.map``. This module holds only how each chooses what to evaluate; the
evaluation itself — cache, chunked ``toolbox.map`` calls, per-evaluation log,
progress bar, checkpoints and exact resume — is the engine both share
(:mod:`deap_nos.search.engine`), so it is written once.

The phases around a search, :func:`~deap_nos.search.screening.initial_population` and
:func:`~deap_nos.search.screening.eliminate`, live in :mod:`deap_nos.search.screening` and are
importable from here too, as is :func:`~deap_nos.search.engine.genome_key`.

A search script in two phases survives a kill anywhere when it is run again with
``resume=`` on both calls::

    pop = initial_population(toolbox, n, checkpoint=run)      # resume=run after a kill
    pop, logbook = eaParticle(pop, toolbox, k, m, checkpoint=run)   # resume=run too

An algorithm started (or "resumed") in a run folder whose initial phase finished but
which has no checkpoint of its own yet starts from *population*, with the initial
phase's cache and log.

Importing this module does not import TensorFlow.
"""
import random
from operator import attrgetter

from deap import tools

from . import checkpoint as _ckpt
from .engine import _check_int, _default_batch_of, _info, _Session, genome_key
from ..errors import NOSError
from .screening import eliminate, initial_population

__all__ = ["eaParticle", "eaRegularized", "initial_population", "eliminate",
           "genome_key", "stage1_failed", "any_failure", "STAGE1"]

#: Evaluation stages whose failure makes the particle GA draw a fresh mutation.
STAGE1 = ("integrity", "sweep")

_fitness = attrgetter("fitness")


# ------------------------------------------------------------------ redo policies
def stage1_failed(individual):
    """True if *individual*'s evaluation failed in stage 1 (``"integrity"`` or
    ``"sweep"``, or a failure that names no stage). The default ``redo_if``."""
    info = _info(individual)
    return bool(info.get("failed")) and info.get("stage") in (None,) + STAGE1


def any_failure(individual):
    """True if *individual*'s evaluation failed at any stage (a ``redo_if`` choice)."""
    return bool(_info(individual).get("failed"))


# --------------------------------------------------------------------- helpers
def _check_population(population, name="population", minimum=1):
    population = list(population)
    if len(population) < minimum:
        raise NOSError(f"{name} needs at least {minimum} individual(s), "
                       f"got {len(population)}")
    return population


def _mutant(parent, toolbox, mutate_kwargs, seen=None, max_tries=1):
    """Clone and mutate *parent*; retry (from the parent) while the key is in *seen*."""
    for _ in range(max_tries):
        child = toolbox.clone(parent)
        child, = toolbox.mutate(child, **mutate_kwargs)
        key = genome_key(child)
        if seen is None or key not in seen:
            break
    if seen is not None:
        seen.add(key)
    del child.fitness.values
    return child


def _hof_state(halloffame):
    if halloffame is None:
        return None
    return {"items": list(halloffame.items), "keys": list(halloffame.keys)}


def _hof_restore(halloffame, state):
    if halloffame is not None and state is not None:
        halloffame.items[:] = state["items"]
        halloffame.keys[:] = state["keys"]


def _new_logbook(first, stats, extra=()):
    """A logbook with DEAP's ``gen`` and ``nevals`` first (as in ``eaSimple``), then
    the algorithm's own counter *first* (unless it is ``"gen"``) and *extra* columns,
    ``cached``, ``failures`` and the *stats* fields."""
    logbook = tools.Logbook()
    own = [first] if first != "gen" else []
    logbook.header = ["gen", "nevals", *own, *extra, "cached", "failures"] + (
        stats.fields if stats is not None else [])
    return logbook


def _record(session, logbook, population, children, counts, stats, halloffame,
            verbose, **fields):
    """Update the hall of fame with *children*; record one logbook line."""
    if halloffame is not None and children:
        halloffame.update(children)
    record = stats.compile(population) if stats is not None else {}
    counts = dict(counts)
    nevals = counts.pop("evals")      # DEAP's name: genomes evaluated (not cached)
    logbook.record(**fields, nevals=nevals, **counts, **record)
    if verbose:
        session.print(logbook.stream)


def _evaluate_initial(session, population):
    invalid = [ind for ind in population if not ind.fitness.valid]
    session.progress.add_total(len(invalid) - len(population))   # already evaluated
    return session.evaluate(invalid), population


# -------------------------------------------------------------------- particle GA
def eaParticle(population, toolbox, nsteps, nmut, stats=None, halloffame=None,
               verbose=__debug__, *, redo=4, redo_if=stage1_failed, mutate_kwargs=None,
               max_tries=10, checkpoint=None, resume=None, checkpoint_every=None,
               logfile=None, seed=None):
    """The particle-based genetic algorithm of Morgan et al., "Neural Optimizer
    Search" (arXiv:2404.06679), Algorithm 1: *n* independent particles, each moving
    to the best of its *nmut* mutants at every step, even if that is worse (aging).

    :param population: The initial particles (e.g. ``n`` copies of Adam for the
        Adam-variant runs); those without a valid fitness are evaluated first.
    :param toolbox: Provides ``clone``, ``mutate``, ``evaluate`` and ``map``.
    :param nsteps: Number of time steps *k*.
    :param nmut: Number of children *m* per particle and step (``>= 1``).
    :param stats: A :class:`~deap.tools.Statistics` compiled on the particles.
    :param halloffame: A :class:`~deap.tools.HallOfFame` updated with every child.
    :param verbose: Print the logbook and draw a progress bar on stderr.
    :param redo: Fresh mutations allowed for a child for which ``redo_if`` holds.
    :param redo_if: Predicate on an evaluated child (default :func:`stage1_failed`;
        :func:`any_failure` redoes every failure).
    :param mutate_kwargs: Keyword arguments for ``toolbox.mutate``, e.g.
        ``{"kinds": ("decay",)}`` to let only decay mutations fire.
    :param max_tries: Mutations tried for a child whose genome its particle's lineage
        (or a sibling) has already seen, before a duplicate is accepted.
    :param checkpoint: Checkpoint file or run folder, written at the start of every
        step and after every chunk of evaluations. A folder whose
        :func:`initial_population` finished lends its cache and log to the run.
    :param resume: A checkpoint (file or folder) of a killed run to continue;
        *population* and *seed* are then ignored — unless the folder holds only a
        finished initial phase (killed before this call checkpointed): the run then
        starts from *population*, as with ``checkpoint=``.
    :param checkpoint_every: Evaluate (and checkpoint) in chunks of this many
        evaluations; ``None`` puts all the children of a step in one ``map`` call.
    :param logfile: Per-evaluation log (default ``evaluations.log`` in the run folder).
    :param seed: Seed ``random``/numpy (and TensorFlow if imported) before starting.
    :returns: The final particles and a :class:`~deap.tools.Logbook` with a line per
        step: DEAP's ``gen`` (the step, 0 for the initial particles) and ``nevals``
        (genomes trained), then ``redone`` (fresh mutations of stage-1 failures),
        ``cached`` (children answered from the cache), ``failures`` and *stats*.

    The algorithm::

        evaluate the particles P_1..P_n;  L_i = {P_i}         # lineages
        for t = 1..k:
            for each particle i, for j = 1..m:
                C_ij = mutate(P_i), re-drawn while C_ij is in L_i; add C_ij to L_i
            evaluate all C_ij at once                          # one toolbox.map
            repeat up to `redo` times:
                C_ij = mutate(P_i) for every C_ij failing stage 1; evaluate them
            P_i = best_j C_ij                                  # even if worse
        return P
    """
    population = _check_population(population, minimum=1)
    _check_int(nsteps, "nsteps", 0)
    _check_int(nmut, "nmut", 1)
    _check_int(redo, "redo", 0)
    _check_int(max_tries, "max_tries", 1)
    mutate_kwargs = dict(mutate_kwargs or {})
    n = len(population)
    session = _Session("eaParticle", {"nmut": nmut, "particles": n}, toolbox,
                       checkpoint, resume, checkpoint_every, logfile, verbose,
                       planned=n + nsteps * n * nmut)
    snapshot = session.restore()
    if snapshot is None:
        if seed is not None:
            _ckpt.seed_everything(seed)
        for index, ind in enumerate(population):
            ind.particle = index      # inherited by clones: the log names each child's particle
        lineages = [{genome_key(ind)} for ind in population]
        logbook, start = _new_logbook("gen", stats, ("redone",)), 0
    else:
        population, lineages = snapshot["population"], snapshot["lineages"]
        logbook, start = snapshot["logbook"], snapshot["step"]
        _hof_restore(halloffame, snapshot["hof"])
        session.progress.total = max(session.progress.total, session.progress.done)
    for step in range(start, nsteps + 1):
        session.begin_step(step, population=population, lineages=lineages,
                           logbook=logbook, hof=_hof_state(halloffame))
        if step == 0:
            counts, children = _evaluate_initial(session, population)
            counts["redone"] = 0
        else:
            population, children, counts = _particle_step(
                session, population, lineages, toolbox, nmut, redo, redo_if,
                mutate_kwargs, max_tries)
        _record(session, logbook, population, children, counts, stats, halloffame,
                verbose, gen=step)
    session.finish(nsteps + 1, population=population, lineages=lineages,
                   logbook=logbook, hof=_hof_state(halloffame))
    return population, logbook


def _particle_step(session, particles, lineages, toolbox, nmut, redo, redo_if,
                   mutate_kwargs, max_tries):
    """One step of :func:`eaParticle`: new positions, the step's children, counts."""
    children = [[_mutant(parent, toolbox, mutate_kwargs, seen, max_tries)
                 for _ in range(nmut)] for parent, seen in zip(particles, lineages)]
    counts = session.evaluate([c for group in children for c in group])
    counts["redone"] = 0
    for _ in range(redo):
        slots = [(i, j) for i, group in enumerate(children)
                 for j, child in enumerate(group) if redo_if(child)]
        if not slots:
            break
        for i, j in slots:
            children[i][j] = _mutant(particles[i], toolbox, mutate_kwargs,
                                     lineages[i], max_tries)
        session.progress.add_total(len(slots))
        counts.update(session.evaluate([children[i][j] for i, j in slots]))
        counts["redone"] += len(slots)
    positions = [max(group, key=_fitness) for group in children]
    return positions, [c for group in children for c in group], counts


# ----------------------------------------------------------- regularized evolution
def _default_batch(toolbox):
    return _default_batch_of(toolbox.map)


def eaRegularized(population, toolbox, cycles, sample_size, stats=None,
                  halloffame=None, verbose=__debug__, *, batch_size=None,
                  mutate_kwargs=None, checkpoint=None, resume=None,
                  checkpoint_every=None, logfile=None, seed=None):
    """Regularized (aging) evolution of Real et al., "Regularized Evolution for Image
    Classifier Architecture Search", AAAI 2019, batched for parallel workers.

    :param population: The initial population, oldest first; those without a valid
        fitness are evaluated first. Its size stays constant.
    :param toolbox: Provides ``clone``, ``mutate``, ``evaluate`` and ``map``.
    :param cycles: Number of children to produce (the evaluation budget, cache hits
        included).
    :param sample_size: Tournament size *S* (``1 <= S <= len(population)``).
    :param batch_size: Children produced per ``toolbox.map`` call, all from the same
        population (default: ``toolbox.map.workers`` if it has it, else 1 — the
        sequential algorithm).
    :param stats, halloffame, verbose, mutate_kwargs, checkpoint, resume,
        checkpoint_every, logfile, seed: As in :func:`eaParticle`.
    :returns: The final population and a :class:`~deap.tools.Logbook` with a line per
        batch: DEAP's ``gen`` (the batch, 0 for the initial population) and
        ``nevals`` (genomes trained), then ``cycle`` (children produced so far),
        ``cached``, ``failures`` and *stats*.

    The algorithm::

        evaluate the population P (a queue, oldest first)
        c = 0
        while c < cycles:
            for b = 1..batch_size:
                S = sample_size individuals drawn at random from P
                child_b = mutate(best(S))
            evaluate the children at once                      # one toolbox.map
            append the children to P; remove as many of the oldest
            c += batch_size
        return P
    """
    population = _check_population(population, minimum=1)
    _check_int(cycles, "cycles", 0)
    _check_int(sample_size, "sample_size", 1)
    if sample_size > len(population):
        raise NOSError(f"sample_size={sample_size} exceeds the population size "
                       f"{len(population)}")
    batch_size = _default_batch(toolbox) if batch_size is None else batch_size
    _check_int(batch_size, "batch_size", 1)
    mutate_kwargs = dict(mutate_kwargs or {})
    session = _Session("eaRegularized", {"sample_size": sample_size,
                                         "population": len(population)}, toolbox,
                       checkpoint, resume, checkpoint_every, logfile, verbose,
                       planned=len(population) + cycles)
    snapshot = session.restore()
    if snapshot is None:
        if seed is not None:
            _ckpt.seed_everything(seed)
        logbook, done, step = _new_logbook("cycle", stats), None, 0
    else:
        population, logbook = snapshot["population"], snapshot["logbook"]
        done, step = snapshot["done"], snapshot["step"]
        _hof_restore(halloffame, snapshot["hof"])
    while done is None or done < cycles:
        session.begin_step(step, population=population, logbook=logbook, done=done,
                           hof=_hof_state(halloffame))
        if done is None:
            counts, children = _evaluate_initial(session, population)
            done = 0
        else:
            size = min(batch_size, cycles - done)
            children, counts = _regularized_batch(session, population, toolbox, size,
                                                  sample_size, mutate_kwargs)
            population = population[size:] + children
            done += size
        _record(session, logbook, population, children, counts, stats, halloffame,
                verbose, gen=step, cycle=done)
        step += 1
    session.finish(step, population=population, logbook=logbook, done=done,
                   hof=_hof_state(halloffame))
    return population, logbook


def _regularized_batch(session, population, toolbox, size, sample_size,
                       mutate_kwargs):
    parents = [max(random.sample(population, sample_size), key=_fitness)
               for _ in range(size)]
    children = [_mutant(parent, toolbox, mutate_kwargs) for parent in parents]
    return children, session.evaluate(children)
