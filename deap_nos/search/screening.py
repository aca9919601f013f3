"""The phases around a search: screening before it, progressive elimination after it.

:func:`initial_population` draws many random genomes, evaluates them (possibly with a
cheaper screen) and keeps the best, as the paper's particle GA starts; :func:`eliminate`
re-evaluates a search's best with longer or repeated trainings and keeps fewer at every
stage (the paper's elimination protocol). Neither is a generational loop, so they live
apart from :mod:`deap_nos.search.algorithms`; the initial phase still checkpoints, logs and
caches through the algorithms' engine (:mod:`deap_nos.search.engine`) and shares its run
folder with the algorithm that follows. Both are also importable from
:mod:`deap_nos.search.algorithms` (and as ``nos.initial_population``, ``nos.eliminate``).

Importing this module does not import TensorFlow.
"""
from operator import attrgetter

from . import checkpoint as _ckpt
from .engine import (INITIAL, _assign, _check_int, _default_batch_of, _info,
                     _map_evaluate, _Session, genome_key)
from ..errors import NOSError
from ..evaluation import Evaluation

__all__ = ["initial_population", "eliminate"]

_fitness = attrgetter("fitness")


# ------------------------------------------------------------------ initialisation
def initial_population(toolbox, n, factor=10, evaluate=None, map=None, *,
                       checkpoint=None, resume=None, checkpoint_every=None,
                       logfile=None, verbose=False, seed=None):
    """Draw ``factor * n`` distinct random genomes, evaluate them, keep the best *n*.

    :param toolbox: Provides ``individual``, ``evaluate`` and ``map``.
    :param n: Size of the population returned.
    :param factor: Oversampling factor (``>= 1``).
    :param evaluate: A cheaper evaluator to screen with (e.g. the integrity check or
        a short training). The kept individuals then carry its result in
        ``ind.info["screen"]`` and have an *invalid* fitness, so the algorithm
        evaluates them with ``toolbox.evaluate``. Default: ``toolbox.evaluate``, whose
        fitness is kept.
    :param map: The map to evaluate with (default ``toolbox.map``).
    :param checkpoint: Run folder (or checkpoint file) to checkpoint the phase in:
        the random state before drawing, the drawn genomes, and every chunk of
        evaluations (appended to the run's cache and log). Pass the same folder to
        the algorithm that follows: it shares the cache, so a genome evaluated here
        is never evaluated again.
    :param resume: The run folder of a killed run: continue the phase without
        re-evaluating anything, or, if it had finished, return its result at once
        (with the random state it left). A folder where the phase never
        checkpointed starts it.
    :param checkpoint_every: Evaluations per ``map`` call and checkpoint (default:
        ``max(n, toolbox.map.workers)`` when checkpointing, so a kill loses at most
        about ``1/factor`` of the phase; else all in one call).
    :param logfile: Per-evaluation log (default ``evaluations.log`` in the run folder).
    :param verbose: Draw a progress bar on stderr.
    :param seed: Seed ``random``/numpy before drawing (ignored on resume).
    :returns: A list of *n* individuals, best first.

    A two-phase search script survives a kill anywhere by being run again with
    ``resume=`` on both calls, and ends exactly like a straight run::

        pop = initial_population(toolbox, n, checkpoint="runs/a")       # first run
        pop, log = eaParticle(pop, toolbox, k, m, checkpoint="runs/a")
        pop = initial_population(toolbox, n, resume="runs/a")           # after a kill
        pop, log = eaParticle(pop, toolbox, k, m, resume="runs/a")
    """
    _check_int(n, "n", 1)
    _check_int(factor, "factor", 1)
    mapper = map if map is not None else toolbox.map
    if checkpoint_every is None and (checkpoint is not None or resume is not None):
        checkpoint_every = max(n, _default_batch_of(mapper))
    wanted = factor * n
    session = _Session(INITIAL, {"n": n, "factor": factor,
                                 "screen": evaluate is not None}, toolbox, checkpoint,
                       resume, checkpoint_every, logfile, verbose, planned=wanted,
                       evaluate=evaluate, map=mapper,
                       namespace="evaluate" if evaluate is None else "screen")
    snapshot = session.restore()
    if snapshot is not None and snapshot.get("result") is not None:
        session.close()
        return snapshot["result"]
    if snapshot is None or snapshot.get("candidates") is None:
        if snapshot is None:
            if seed is not None:
                _ckpt.seed_everything(seed)
            session.begin_step(0, candidates=None, rng_start=_ckpt.get_rng_state())
            rng_start = _ckpt.get_rng_state()
        else:
            rng_start = snapshot["rng_start"]       # restore() replayed the RNG
        candidates = _draw_distinct(toolbox, wanted)
    else:
        candidates, rng_start = snapshot["candidates"], snapshot["rng_start"]
    session.begin_step(1, candidates=candidates, rng_start=rng_start)
    session.evaluate(candidates)
    best = sorted(candidates, key=_fitness, reverse=True)[:n]
    if evaluate is not None:
        for ind in best:
            screen = tuple(ind.fitness.values)
            del ind.fitness.values
            ind.info = {"screen": screen, "screen_info": _info(ind)}
    session.finish(2, candidates=None, rng_start=rng_start, result=best)
    return best



def _draw_distinct(toolbox, wanted):
    """Up to *wanted* individuals with distinct keys (at most ``3 * wanted`` draws)."""
    candidates, seen, tries = [], set(), 0
    while len(candidates) < wanted and tries < 3 * wanted:
        tries += 1
        ind = toolbox.individual()
        key = genome_key(ind)
        if key not in seen:
            seen.add(key)
            candidates.append(ind)
    return candidates


# ---------------------------------------------------------------------- elimination
def _parse_stage(stage, repeats):
    if not isinstance(stage, (tuple, list)) or len(stage) not in (2, 3):
        raise NOSError(f"a stage is (evaluator, keep) or (evaluator, keep, repeats), "
                       f"got {stage!r}")
    evaluator, keep = stage[0], stage[1]
    reps = stage[2] if len(stage) == 3 else repeats
    if not callable(evaluator):
        raise NOSError(f"the evaluator of stage {stage!r} is not callable")
    return evaluator, _check_int(keep, "keep", 1), _check_int(reps, "repeats", 1)


def _average(results, nobj):
    values = tuple(sum(r[k] for r in results) / len(results) for k in range(nobj))
    failed = [r for r in results if getattr(r, "info", {}).get("failed")]
    info = {"repeats": [tuple(r) for r in results], "failed": bool(failed),
            "reason": failed[0].info.get("reason") if failed else None}
    if len(results) == 1:
        info = {**results[0].info, **info}
    return Evaluation(values, info)


def eliminate(candidates, stages, map=map, repeats=1):
    """The progressive elimination protocol: re-evaluate the survivors with each
    stage's evaluator (longer training, other seeds, other data sets), averaging
    *repeats* evaluations, and keep the best ``keep``.

    :param candidates: Individuals (e.g. a hall of fame's contents).
    :param stages: A sequence of ``(evaluator, keep)`` or ``(evaluator, keep,
        repeats)``; an evaluator may already return a mean.
    :param map: The map to evaluate with (one call per stage).
    :param repeats: Default number of repeats per stage.
    :returns: The survivors of the last stage, best first; each has its last stage's
        mean fitness and ``info["elimination"]``, the fitness of every stage passed.

    The protocol::

        S = candidates
        for (evaluate, keep, r) in stages:
            fitness(s) = mean of r evaluations of s, for s in S
            S = the best `keep` of S
        return S
    """
    survivors = list(candidates)
    parsed = [_parse_stage(stage, repeats) for stage in stages]
    _check_int(repeats, "repeats", 1)
    for evaluator, keep, reps in parsed:
        jobs = [ind for ind in survivors for _ in range(reps)]
        results = _map_evaluate(map, evaluator, jobs)
        for i, ind in enumerate(survivors):
            history = list(_info(ind).get("elimination", ()))
            mean = _average(results[i * reps:(i + 1) * reps], len(ind.fitness.weights))
            _assign(ind, mean)
            ind.info["elimination"] = history + [tuple(mean)]
        survivors = sorted(survivors, key=_fitness, reverse=True)[:keep]
    return survivors
