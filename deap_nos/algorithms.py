"""Search algorithms: the particle GA, regularized evolution, and their helpers.

Both algorithms follow DEAP's contract — ``(population, toolbox, ..., stats=None,
halloffame=None, verbose=...) -> (population, logbook)``, with ``toolbox.clone``,
``toolbox.mutate`` (in place, returns ``(individual,)``), ``toolbox.evaluate`` (returns
a fitness tuple, possibly an :class:`~deap_nos.evaluation.Evaluation` with ``.info``)
and ``toolbox.map`` — and share one evaluation engine (:class:`_Session`) that:

* keeps an **evaluation cache** keyed by :func:`genome_key`, so no genome is evaluated
  twice, in a run, across a resume, or across the phases of a run folder
  (:func:`initial_population` then an algorithm);
* evaluates a step's children in **one** ``toolbox.map`` call (or in chunks of
  ``checkpoint_every`` evaluations, checkpointing after each chunk);
* protects the parent's random streams: the states of ``random``/numpy are restored
  after every ``toolbox.map`` call, so a serial map, a process pool and a cache hit
  give the same run;
* logs every evaluation as one line (:mod:`deap_nos.runlog`) and draws a progress bar;
* writes an atomic **checkpoint** (:mod:`deap_nos.checkpoint`, which documents the
  run-folder layout) holding the state at the start of the current step (population,
  particles' lineages, hall of fame, logbook, RNG states) and the committed length of
  the append-only cache file and of the log. ``resume=`` restores that state and
  replays the step: the children regenerate identically and the cached ones are not
  evaluated again, so a run killed at any point and resumed ends exactly like a
  straight run.

A search script in two phases survives a kill anywhere when it is run again with
``resume=`` on both calls::

    pop = initial_population(toolbox, n, checkpoint=run)      # resume=run after a kill
    pop, logbook = eaParticle(pop, toolbox, k, m, checkpoint=run)   # resume=run too

An algorithm started (or "resumed") in a run folder whose initial phase finished but
which has no checkpoint of its own yet starts from *population*, with the initial
phase's cache and log.

Importing this module does not import TensorFlow.
"""
import math
import os
import pickle
import random
import time
from collections import Counter
from operator import attrgetter

from deap import tools

from . import checkpoint as _ckpt
from .errors import NOSError
from .evaluation import Evaluation
from .runlog import EvaluationLog, ProgressBar, log_record

__all__ = ["eaParticle", "eaRegularized", "initial_population", "eliminate",
           "genome_key", "stage1_failed", "any_failure", "STAGE1"]

#: Evaluation stages whose failure makes the particle GA draw a fresh mutation.
STAGE1 = ("integrity", "sweep")

_fitness = attrgetter("fitness")


# ----------------------------------------------------------------------------- keys
def genome_key(individual):
    """A hashable key, stable across processes, naming *individual*'s genome.

    ``individual.fingerprint()`` when the individual has it (an
    :class:`OptimizerGraph`'s semantic hash), else ``repr(list(individual))`` for lists
    and ``repr(individual)`` otherwise.
    """
    fingerprint = getattr(individual, "fingerprint", None)
    if callable(fingerprint):
        return fingerprint()
    if isinstance(individual, list):
        return repr(list(individual))
    return repr(individual)


def _info(individual):
    return getattr(individual, "info", None) or {}


def stage1_failed(individual):
    """True if *individual*'s evaluation failed in stage 1 (``"integrity"`` or
    ``"sweep"``, or a failure that names no stage). The default ``redo_if``."""
    info = _info(individual)
    return bool(info.get("failed")) and info.get("stage") in (None,) + STAGE1


def any_failure(individual):
    """True if *individual*'s evaluation failed at any stage (a ``redo_if`` choice)."""
    return bool(_info(individual).get("failed"))


# ------------------------------------------------------------------------ validation
def _check_int(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise NOSError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _check_population(population, name="population", minimum=1):
    population = list(population)
    if len(population) < minimum:
        raise NOSError(f"{name} needs at least {minimum} individual(s), "
                       f"got {len(population)}")
    return population


# ----------------------------------------------------------------------- evaluation
class _Timed:
    """Wraps an evaluator: returns an :class:`Evaluation` with ``info["time"]`` set."""

    def __init__(self, evaluate):
        self.evaluate = evaluate

    def __call__(self, individual):
        start = time.perf_counter()
        result = self.evaluate(individual)
        elapsed = time.perf_counter() - start
        if not isinstance(result, (tuple, list)):
            raise NOSError(f"evaluate must return a tuple of fitness values, got "
                           f"{result!r}; write `return (fitness,)`")
        info = dict(getattr(result, "info", None) or {})
        info.setdefault("time", elapsed)
        return Evaluation(tuple(result), info)


def _is_number(value):
    try:
        return not math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def _sanitize(evaluation, nobj):
    """A NaN fitness becomes a recorded failure (DEAP cannot compare NaNs)."""
    if all(_is_number(v) for v in evaluation):
        return evaluation
    info = dict(getattr(evaluation, "info", None) or {})
    return Evaluation.failure(f"non-numeric fitness {tuple(evaluation)!r}",
                              info.get("stage", "done"), nobj=nobj,
                              **{k: v for k, v in info.items()
                                 if k not in ("failed", "reason", "stage")})


def _map_evaluate(mapper, evaluate, individuals):
    """Evaluate *individuals* in one *mapper* call; the caller's RNG states survive."""
    if not individuals:
        return []
    state = _ckpt.get_rng_state()
    try:
        results = list(mapper(_Timed(evaluate), individuals))
    finally:
        _ckpt.set_rng_state(state)
    if len(results) != len(individuals):
        raise NOSError(f"toolbox.map returned {len(results)} results for "
                       f"{len(individuals)} individuals")
    return [_sanitize(r, len(ind.fitness.weights)) for r, ind in zip(results, individuals)]


def _assign(individual, evaluation):
    individual.fitness.values = tuple(evaluation)
    try:
        individual.info = dict(getattr(evaluation, "info", None) or {})
    except AttributeError:  # an individual type that takes no attributes
        pass


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


# ------------------------------------------------------------------------- session
#: The name the initial phase's checkpoints are written under.
INITIAL = "initial_population"


class _Session:
    """The evaluation engine and checkpoint keeper shared by the algorithms and the
    initial phase.

    A run is a sequence of steps. :meth:`begin_step` snapshots the state at a step's
    start (RNG states included) and writes a checkpoint; :meth:`evaluate` resolves
    individuals through the cache, evaluating the missing ones with *map* in chunks
    and, after each chunk, appending them to the log and to the cache file and
    rewriting the (small) checkpoint that commits both (see :mod:`deap_nos.checkpoint`).

    The cache is shared across the phases of one run folder: an algorithm starting
    in a folder whose initial phase finished inherits that phase's cache and log.
    """

    def __init__(self, algorithm, params, toolbox, checkpoint=None, resume=None,
                 checkpoint_every=None, logfile=None, verbose=False, planned=0,
                 evaluate=None, map=None, namespace="evaluate"):
        if checkpoint_every is not None:
            _check_int(checkpoint_every, "checkpoint_every", 1)
        self.algorithm, self.params, self.toolbox = algorithm, params, toolbox
        self.evaluator = evaluate if evaluate is not None else toolbox.evaluate
        self.mapper = map if map is not None else toolbox.map
        self.namespace = namespace
        self.phase = algorithm if namespace == "evaluate" else f"{algorithm}:{namespace}"
        self.checkpoint_every = checkpoint_every
        self.cache, self.fresh, self.counted = {}, set(), set()
        self.step, self.snapshot, self.log, self.cachefile = 0, None, None, None
        self.finished, self._keep_fresh = False, False
        initial = algorithm == INITIAL
        target = _ckpt.run_files(checkpoint if checkpoint is not None else resume)
        source = _ckpt.run_files(resume) if resume is not None else None
        self.file = None if target is None else (target.initial if initial
                                                 else target.checkpoint)
        state, base = self._open_state(source, target, initial)
        if logfile is None and target is not None:
            logfile = target.log
        self.logfile = logfile
        self.resumed = state
        self.progress = ProgressBar(planned, enabled=bool(verbose))
        if initial and state is not None and state.get("finished"):
            return      # returns its stored result; the files now belong to the next phase
        if initial and state is None and target is not None \
                and os.path.exists(target.checkpoint):
            _ckpt.remove(target.checkpoint)   # a new run starts in this folder
        inline = state.get("cache") if state is not None else None   # format 1
        if state is not None:
            cache_src, cache_offset = source.cache, state.get("cache_offset", 0)
            log_offset = state["log_offset"]
        elif base is not None:
            cache_src, cache_offset, log_offset = base
        else:
            cache_src, cache_offset = None, 0
            log_offset = 0 if target is not None else None
        if inline is not None:
            self.cache = dict(inline)
        elif cache_offset:
            self.cache = _ckpt.read_cache(cache_src, cache_offset, namespace)
        if target is not None:
            if cache_offset and os.path.abspath(cache_src) != os.path.abspath(target.cache):
                _ckpt.copy_prefix(cache_src, target.cache, cache_offset)
            self.cachefile = _ckpt.CacheFile(target.cache, truncate=cache_offset)
            if inline:
                self.cachefile.append([(namespace, k, v) for k, v in inline.items()])
        if logfile is not None:
            self.log = EvaluationLog(logfile, truncate=log_offset)

    # -- checkpoint files
    def _open_state(self, source, target, initial):
        """``(state, base)``: the checkpoint to resume, or the committed cache and
        log prefix ``(cache_file, cache_offset, log_offset)`` of a finished initial
        phase to start from; either may be None."""
        if source is None:
            if target is not None and not initial:
                return None, self._inherit(target, required=False)
            return None, None
        own = source.initial if initial else source.checkpoint
        if os.path.exists(own):
            return self._load(own), None
        if initial:
            if os.path.exists(source.checkpoint):
                raise _ckpt.CheckpointError(
                    f"{source.folder or source.checkpoint!r} holds an algorithm's "
                    "checkpoint but no initial phase; resume the algorithm instead")
            return None, None  # killed before its first checkpoint: start the phase
        return None, self._inherit(source, required=True)

    def _inherit(self, files, required):
        if not os.path.exists(files.initial):
            if required:
                raise _ckpt.CheckpointError(
                    f"no checkpoint at {files.checkpoint!r}: check the path, or start "
                    "the run without resume=")
            return None
        state = self._read(files.initial, INITIAL)
        if state.get("finished"):
            return files.cache, state["cache_offset"], state["log_offset"]
        if required:
            raise _ckpt.CheckpointError(
                f"the initial phase in {files.initial!r} did not finish; resume it "
                "first with initial_population(..., resume=...)")
        _ckpt.remove(files.initial)  # abandoned: its cache is about to be truncated
        return None

    @staticmethod
    def _read(path, algorithm):
        state = _ckpt.load(path)
        if not isinstance(state, dict) or state.get("format") not in \
                _ckpt.READABLE_FORMATS:
            raise _ckpt.CheckpointError(f"{path!r} is not a deap_nos checkpoint")
        if state["algorithm"] != algorithm:
            raise _ckpt.CheckpointError(
                f"{path!r} is a checkpoint of {state['algorithm']}, not of "
                f"{algorithm}; resume it with {state['algorithm']}(...)")
        return state

    def _load(self, path):
        state = self._read(path, self.algorithm)
        for name, value in self.params.items():
            if state["params"].get(name, value) != value:
                raise _ckpt.CheckpointError(
                    f"{path!r} was written with {name}={state['params'][name]!r}, "
                    f"not {value!r}; resume with the same {name}")
        self.fresh = set(state["fresh"])
        self.finished = bool(state.get("finished", False))
        self._keep_fresh = True
        return state

    def restore(self):
        """The step-start snapshot of a resumed run (RNG restored), or None."""
        if self.resumed is None:
            return None
        snapshot = pickle.loads(self.resumed["snapshot"])
        _ckpt.set_rng_state(snapshot["rng"])
        self.progress.done = snapshot.get("progress", 0)
        return snapshot

    def save(self):
        if self.file is None:
            return
        _ckpt.save(self.file, keep_previous=True, obj={
            "format": _ckpt.FORMAT, "algorithm": self.algorithm, "params": self.params,
            "step": self.step, "snapshot": self.snapshot, "finished": self.finished,
            "namespace": self.namespace, "fresh": sorted(self.fresh, key=repr),
            "cache_offset": self.cachefile.offset() if self.cachefile else 0,
            "log_offset": self.log.offset() if self.log else None})

    def begin_step(self, step, **state):
        """Snapshot *state* (and the RNG states) as the start of *step*; checkpoint."""
        self.step = step
        if not self._keep_fresh:
            self.fresh = set()
        self._keep_fresh = False
        self.counted = set()
        if self.file is None:
            return
        state.update(step=step, rng=_ckpt.get_rng_state(), progress=self.progress.done)
        self.snapshot = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
        self.save()

    # -- evaluation
    def evaluate(self, individuals):
        """Give every individual its fitness; return a Counter of evals/cached/failures.

        A genome is *evaluated* (counted in ``evals``) the first time it is requested in
        a step unless an earlier step (or phase) already evaluated it (then
        ``cached``); the count is therefore the same in a straight run and in a
        resumed replay.
        """
        counts = Counter(evals=0, cached=0, failures=0)
        keys = [genome_key(ind) for ind in individuals]
        todo, pending = [], set()
        for ind, key in zip(individuals, keys):
            if key in self.counted:
                counts["cached"] += 1
                continue
            self.counted.add(key)
            if key not in self.cache or key in self.fresh:
                counts["evals"] += 1
            else:
                counts["cached"] += 1
            if key not in self.cache and key not in pending:
                pending.add(key)
                todo.append((key, ind))
        chunk = self.checkpoint_every or max(1, len(todo))
        for start in range(0, len(todo), chunk):
            self._evaluate_chunk(todo[start:start + chunk])
        for ind, key in zip(individuals, keys):
            _assign(ind, self.cache[key])
            counts["failures"] += bool(_info(ind).get("failed"))
        self.progress.update(len(individuals) - len(todo))
        return counts

    def _evaluate_chunk(self, chunk):
        results = _map_evaluate(self.mapper, self.evaluator, [ind for _, ind in chunk])
        records, entries = [], []
        for (key, ind), result in zip(chunk, results):
            self.cache[key] = result
            self.fresh.add(key)
            entries.append((self.namespace, key, result))
            records.append(log_record(len(self.cache), self.step, key, ind, result,
                                      phase=self.phase))
        # log, then cache, then the checkpoint that commits both (a resume truncates
        # the log and the cache back to the offsets of its checkpoint)
        if self.log is not None:
            self.log.write(records)
        if self.cachefile is not None:
            self.cachefile.append(entries)
        self.save()
        self.progress.update(len(chunk))

    def finish(self, step, **state):
        """Checkpoint the final state (a resume of it returns at once)."""
        self.finished = True
        self.begin_step(step, **state)
        self.close()

    def close(self):
        self.progress.close()
        for stream in (self.log, self.cachefile):
            if stream is not None:
                stream.close()
        self.log = self.cachefile = None

    def print(self, text):
        self.progress.clear()
        print(text)
        self.progress.draw(force=True)


def _hof_state(halloffame):
    if halloffame is None:
        return None
    return {"items": list(halloffame.items), "keys": list(halloffame.keys)}


def _hof_restore(halloffame, state):
    if halloffame is not None and state is not None:
        halloffame.items[:] = state["items"]
        halloffame.keys[:] = state["keys"]


def _new_logbook(first, stats, extra=()):
    logbook = tools.Logbook()
    logbook.header = [first, "evals", "cached", "failures", *extra] + (
        stats.fields if stats is not None else [])
    return logbook


def _record(session, logbook, population, children, counts, stats, halloffame,
            verbose, **fields):
    """Update the hall of fame with *children*; record one logbook line."""
    if halloffame is not None and children:
        halloffame.update(children)
    record = stats.compile(population) if stats is not None else {}
    logbook.record(**fields, **counts, **record)
    if verbose:
        session.print(logbook.stream)


def _evaluate_initial(session, population):
    invalid = [ind for ind in population if not ind.fitness.valid]
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
        step (``step``, ``evals``, ``cached``, ``failures``, ``redone`` and *stats*).

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
        logbook, start = _new_logbook("step", stats, ("redone",)), 0
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
                verbose, step=step)
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
        batch (``cycle`` = children produced so far, ``evals``, ``cached``,
        ``failures`` and *stats*).

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
                verbose, cycle=done)
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


def _default_batch_of(mapper):
    workers = getattr(mapper, "workers", None)
    return workers if isinstance(workers, int) and workers > 0 else 1


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
