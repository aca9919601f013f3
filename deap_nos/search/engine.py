"""The evaluation engine the search algorithms share: cache, chunks, log, checkpoints.

:func:`~deap_nos.search.algorithms.eaParticle`, :func:`~deap_nos.search.algorithms.eaRegularized` and
:func:`~deap_nos.search.screening.initial_population` differ only in how they choose the
individuals to evaluate; everything that happens to an individual once chosen lives
here, once, in :class:`_Session` — DEAP copies its evaluation loop into every
algorithm, and this module exists so that the algorithms do not. A session:

* keeps an **evaluation cache** keyed by :func:`genome_key`, so no genome is evaluated
  twice, in a run, across a resume, or across the phases of a run folder
  (:func:`~deap_nos.search.screening.initial_population` then an algorithm);
* evaluates a step's children in **one** ``toolbox.map`` call (or in chunks of
  ``checkpoint_every`` evaluations, checkpointing after each chunk; a map that
  streams, ``map.imap`` as :class:`~deap_nos.search.parallel.ProcessMap` has, still gets them
  all in one call, and the chunks are committed as their results come back);
* protects the parent's random streams: the states of ``random``/numpy are restored
  after every ``toolbox.map`` call, so a serial map, a process pool and a cache hit
  give the same run;
* logs every evaluation as one line (:mod:`deap_nos.search.runlog`) and draws a progress bar;
* writes an atomic **checkpoint** (:mod:`deap_nos.search.checkpoint`, which documents the
  run-folder layout) holding the state at the start of the current step (population,
  particles' lineages, hall of fame, logbook, RNG states) and the committed length of
  the append-only cache file and of the log. ``resume=`` restores that state and
  replays the step: the children regenerate identically and the cached ones are not
  evaluated again, so a run killed at any point and resumed ends exactly like a
  straight run.

:func:`genome_key` is public (``deap_nos.search.algorithms.genome_key``); the underscored
names are the engine's interface to the algorithm modules, not the user's.

Importing this module does not import TensorFlow.
"""
import os
import pickle
from collections import Counter

from . import checkpoint as _ckpt
from ..errors import NOSError
from .mapcall import _map_evaluate, _stream_evaluate, registered
from .progress import ProgressBar, active_progress
from .runlog import EvaluationLog, log_record, restore_log

__all__ = ["genome_key"]


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


def _exists(path):
    """A checkpoint file or the previous version :func:`checkpoint.save` keeps."""
    return os.path.exists(path) or os.path.exists(path + _ckpt.PREVIOUS_SUFFIX)


def _info(individual):
    return getattr(individual, "info", None) or {}


# ------------------------------------------------------------------------ validation
def _check_int(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise NOSError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


# ----------------------------------------------------------------------- evaluation
def _assign(individual, evaluation):
    individual.fitness.values = tuple(evaluation)
    try:
        individual.info = dict(getattr(evaluation, "info", None) or {})
    except AttributeError:  # an individual type that takes no attributes
        pass


def _default_batch_of(mapper):
    """The chunk size *mapper* asks for (``mapper.workers``), else 1."""
    workers = getattr(mapper, "workers", None)
    return workers if isinstance(workers, int) and workers > 0 else 1


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
    rewriting the (small) checkpoint that commits both (see :mod:`deap_nos.search.checkpoint`).

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
        shared = active_progress()    # one bar for the phases of a deap-nos search
        self.progress = shared.phase(planned) if shared is not None else \
            ProgressBar(planned, enabled=bool(verbose))
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
            self.log = self._open_log(logfile, cache_src, cache_offset, log_offset,
                                      inline is None and target is not None, resume)

    @staticmethod
    def _open_log(logfile, cache_src, cache_offset, log_offset, rebuild, resume):
        """The log, holding exactly the committed evaluations' records: rebuilt from
        the records the cache commits (a damaged, cut or edited log loses nothing),
        else (a cache without records: an older run folder) cut at *log_offset*."""
        committed = None
        if rebuild:
            committed = _ckpt.read_log_records(cache_src, cache_offset) \
                if cache_offset else []
        if committed is None:
            return EvaluationLog(logfile, truncate=log_offset)
        context = "resuming" if resume is not None else "starting"
        if not committed and resume is not None:
            context = (f"no readable checkpoint in {resume}: the run starts over "
                       "(the same settings compute the same evaluations)")
        elif not committed:
            context = "starting a new run in this folder"
        restore_log(logfile, committed, context=context)
        return EvaluationLog(logfile)

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
        if _exists(own):        # or its .prev: load() falls back to it, saying so
            return self._load(own), None
        if initial:
            if _exists(source.checkpoint):
                raise _ckpt.CheckpointError(
                    f"{source.folder or source.checkpoint!r} holds an algorithm's "
                    "checkpoint but no initial phase; resume the algorithm instead")
            return None, None  # killed before its first checkpoint: start the phase
        return None, self._inherit(source, required=True)

    def _inherit(self, files, required):
        if not _exists(files.initial):
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
        if snapshot.get("progress_total") is not None:
            self.progress.total = snapshot["progress_total"]
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
        state.update(step=step, rng=_ckpt.get_rng_state(), progress=self.progress.done,
                     progress_total=self.progress.total)
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
        # the bar counts distinct evaluations (the log's records): this step's earlier
        # ones (a resumed replay) are done, cache hits and repeats leave the plan
        self.progress.update(counts["evals"] - len(todo))
        self.progress.add_total(-(len(individuals) - counts["evals"]))
        self._evaluate_missing(todo)
        for ind, key in zip(individuals, keys):
            _assign(ind, self.cache[key])
            counts["failures"] += bool(_info(ind).get("failed"))
        return counts

    def _evaluate_missing(self, todo):
        """Evaluate the ``(key, individual)`` pairs of *todo*, committing each chunk.

        A mapper with ``imap`` (:class:`~deap_nos.search.parallel.ProcessMap`,
        :class:`~deap_nos.search.parallel.DaskMap`) gets all of *todo* in one streaming call;
        any other map gets one call per chunk.
        """
        chunk = self.checkpoint_every or max(1, len(todo))
        imap = getattr(registered(self.mapper), "imap", None)
        if callable(imap) and len(todo) > chunk:
            results = _stream_evaluate(imap, self.evaluator, [ind for _, ind in todo], chunk)
            try:
                for start, batch in zip(range(0, len(todo), chunk), results):
                    self._commit(todo[start:start + chunk], batch)
            finally:
                results.close()
            return
        for start in range(0, len(todo), chunk):
            part = todo[start:start + chunk]
            self._commit(part, _map_evaluate(self.mapper, self.evaluator,
                                             [ind for _, ind in part]))

    def _commit(self, chunk, results):
        """Cache, log and checkpoint the evaluated *chunk* of ``(key, individual)``."""
        records, entries = [], []
        for (key, ind), result in zip(chunk, results):
            self.cache[key] = result
            self.fresh.add(key)
            records.append(log_record(len(self.cache), self.step, key, ind, result,
                                      phase=self.phase))
            entries.append((self.namespace, key, result))
            entries.append((_ckpt.LOG_NAMESPACE, key, records[-1]))   # rebuilds the log
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
