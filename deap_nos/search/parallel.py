"""Parallel ``toolbox.map`` on one machine: a pool of worker processes.

One machine::

    from deap_nos.search.parallel import ProcessMap
    with ProcessMap(workers=4) as pmap:          # one GPU per worker when GPUs exist
        toolbox.register("map", pmap)
        pop, logbook = nos.eaParticle(pop, toolbox, nsteps=6, nmut=6)

:class:`ProcessMap` serialises the function and arguments with ``dill`` (from the
``multiprocess`` package), so closures and lambdas work, keeps its worker processes
between calls, and survives a worker dying (segfault, OOM kill): the pool is rebuilt and
the unfinished items are resubmitted; items that were running when it broke are re-run
one at a time to find the culprit, which is retried ``retries`` times and then given a
failing :class:`~deap_nos.evaluation.Evaluation` (or raises :class:`WorkerLostError`).

Past one machine, the same algorithms run on a Dask cluster (:mod:`deap_nos.search.cluster`,
whose ``dask_map`` and ``DaskMap`` are importable from here too). With worker
*processes*, the classes made by ``creator.create`` must exist in the workers: create
them in an importable module, or in the script run by every worker.

Both maps stream: ``imap`` yields results in order as they come back, and the search
engine uses it to keep every worker busy while still checkpointing every few results.
"""
import hashlib
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

import dill
import multiprocess

from .devices import detect_gpus, nvidia_smi_gpus  # noqa: F401 (public here too)
from ..evaluation import Evaluation
from .poolworker import _THREAD_VARIABLES, _call, _init_worker, worker_index  # noqa: F401

__all__ = ["ProcessMap", "close_map", "dask_map", "DaskMap", "WorkerLostError", "detect_gpus",
           "worker_index", "threads_per_worker", "usable_cpus", "default_workers",
           "available_memory"]


class WorkerLostError(RuntimeError):
    """An item whose worker process died on every retry."""


# -------------------------------------------------------------------- parent side


def usable_cpus():
    """CPU cores this process may run on (its affinity mask; ``os.cpu_count()`` where
    there is none): a container's share, not the host's."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


#: Memory a worker process is given when the default number of workers is chosen:
#: TensorFlow, the data and one compiled training program (≈ 0.9 GB resident at the
#: ``default`` preset), with room to spare.
WORKER_MEMORY = 3 << 29          # 1.5 GiB


def available_memory():
    """Bytes of memory available to new processes (Linux ``MemAvailable``; the free
    pages elsewhere), or None where neither can be read."""
    try:
        with open("/proc/meminfo") as stream:
            for line in stream:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def default_workers(memory_per_worker=WORKER_MEMORY):
    """Worker processes for a search on this machine: one per GPU where there are GPUs;
    else one per usable core (on CPUs one single-threaded process per core trains 1.5x
    the steps per second of one process using both cores, benchmarks/RESULTS.md),
    fewer where the available memory would not hold ``memory_per_worker`` bytes each;
    at least 1."""
    gpus = detect_gpus()
    if gpus:
        return len(gpus)
    workers = usable_cpus()
    memory = available_memory()
    if memory is not None:
        workers = min(workers, int(memory // max(1, int(memory_per_worker))))
    return max(1, workers)


def threads_per_worker(workers, gpus=()):
    """TensorFlow threads for each of ``workers`` processes sharing this machine's cores:
    their even share, at least 1; None (TensorFlow's own choice) for GPU workers."""
    if gpus:
        return None
    return max(1, usable_cpus() // max(1, int(workers)))


def tensorflow_running():
    """True when this process has started TensorFlow's runtime (run an operation), not
    merely imported it: a process forked from it would hang on the runtime's locks."""
    if "tensorflow" not in sys.modules:
        return False
    from ..backends.tensorflow import running
    return running()


def _timeout_result(args, limit, elapsed):
    individual = args[0] if args else None
    weights = getattr(getattr(individual, "fitness", None), "weights", (1.0,))
    return Evaluation.failure(
        f"evaluation exceeded the time limit of {limit:g} s (stopped after {elapsed:.0f} "
        "s; its worker process was replaced)", "timeout", nobj=len(weights))


def _lost_result(args, attempts):
    individual = args[0] if args else None
    weights = getattr(getattr(individual, "fitness", None), "weights", (1.0,))
    return Evaluation.failure(f"worker process died while evaluating "
                              f"({attempts} attempts)", "crash", nobj=len(weights))


class ProcessMap:
    """A ``map`` over a pool of worker processes, for ``toolbox.register("map", ...)``.

    :param workers: Number of processes (default ``os.cpu_count()``).
    :param retries: Re-runs of an item whose worker died, before it is lost.
    :param on_lost: ``"fail"`` gives a lost item a failing ``Evaluation``
        (reason ``"worker process died..."``, stage ``"crash"``); ``"raise"`` raises
        :class:`WorkerLostError`.
    :param start_method: ``"fork"`` (default where available: fast, and the classes
        made by ``creator.create`` are inherited) or ``"spawn"``/``"forkserver"``
        (needed if the parent has already initialised CUDA or TensorFlow: by default
        the pool spawns when this process's TensorFlow runtime is running, as a forked
        child of it would hang at its first operation).
    :param gpus: GPU ids to share out, worker *i* getting ``gpus[i % len(gpus)]`` in
        ``CUDA_VISIBLE_DEVICES``; ``"auto"`` uses :func:`detect_gpus`, ``None`` or
        ``[]`` leaves the environment alone.
    :param threads: TensorFlow threads per worker (``TF_NUM_INTRAOP_THREADS`` and
        ``TF_NUM_INTEROP_THREADS``, set before the worker's runtime starts). ``"auto"``
        (default): the usable cores divided among the workers, so two workers on two
        cores run one thread each instead of four on two (1.5x the training steps per
        second of one two-thread process, benchmarks/RESULTS.md); TensorFlow's own
        choice for GPU workers. ``None`` leaves the environment alone.
    :param initializer, initargs: Called in every worker after the GPU is set.
    :param timeout: Seconds an item may run (from when a worker starts it, not from
        when it was queued), or None. An item past it — a hanging evaluation, which
        would block the search forever — gets a failing
        :class:`~deap_nos.evaluation.Evaluation` (stage ``"timeout"``, with the
        reason); its worker is killed and replaced, and the other items go on (those
        that were running are run again: killing one worker breaks the pool).

    Calls return a list, in order, like ``list(map(func, *iterables))``;
    :meth:`imap` yields the same results one by one as they come back.
    """

    def __init__(self, workers=None, retries=2, on_lost="fail", start_method=None,
                 gpus="auto", threads="auto", initializer=None, initargs=(), timeout=None):
        if on_lost not in ("fail", "raise"):
            from ..errors import NOSError
            raise NOSError(f"on_lost must be 'fail' or 'raise', got {on_lost!r}")
        self.workers = int(workers or os.cpu_count() or 1)
        self.retries, self.on_lost = int(retries), on_lost
        methods = multiprocess.get_all_start_methods()
        self.start_method = start_method or ("fork" if "fork" in methods else "spawn")
        self._fork_by_default = start_method is None
        self.gpus = detect_gpus() if gpus == "auto" else list(gpus or [])
        self.threads = threads_per_worker(self.workers, self.gpus) if threads == "auto" \
            else (int(threads) if threads else None)
        self._initializer = dill.dumps(initializer) if initializer else None
        self._initargs = tuple(initargs)
        self.timeout = float(timeout) if timeout else None
        self._executor = self._slots = self._starts = self._pids = None
        self._expired = {}

    # -- pool management
    def _pool(self):
        if self._executor is None:
            import multiprocessing
            method = self.start_method
            if method == "fork" and self._fork_by_default and tensorflow_running():
                method = "spawn"     # a forked child of a running TensorFlow hangs
            ctx = multiprocessing.get_context(method)
            counter = ctx.Value("i", 0)
            self._slots = ctx.Array("l", [-1] * self.workers, lock=False)
            self._starts = ctx.Array("d", [0.0] * self.workers, lock=False)
            self._pids = ctx.Array("l", [0] * self.workers, lock=False)
            # the kernel's parent-death signal follows the creating *thread*: only
            # from the main thread, which lives as long as the process
            main = threading.current_thread() is threading.main_thread()
            parent = None if method == "forkserver" else os.getpid()
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=ctx, initializer=_init_worker,
                initargs=(counter, self._slots, self.gpus, self.threads,
                          self._initializer, self._initargs, parent,
                          main and method != "forkserver", self._starts, self._pids))
        return self._executor

    def _reset(self):
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        self._executor = self._slots = self._starts = self._pids = None

    def close(self):
        """Stop the worker processes (a later call starts new ones)."""
        self._reset()

    def terminate(self):
        """Kill the worker processes now, dropping their items (an interrupted run:
        the parent is stopping and their results would be lost anyway)."""
        executor, self._executor, self._slots = self._executor, None, None
        self._starts = self._pids = None
        if executor is None:
            return
        # ProcessPoolExecutor has no public way to stop running items
        for process in list((getattr(executor, "_processes", None) or {}).values()):
            if process.is_alive():
                process.terminate()
        executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_executor"] = state["_slots"] = state["_starts"] = state["_pids"] = None
        return state

    # -- map
    def __call__(self, func, *iterables):
        return list(self.imap(func, *iterables))

    def imap(self, func, *iterables):
        """Yield ``func``'s results in order, each as soon as it and those before it are
        back.

        Every item is queued at once, so a worker that finishes takes the next item
        while a slow neighbour is still running: a caller that consumes results as
        they come (the search engine checkpoints every few) never leaves a worker
        idle at a chunk boundary. Closing the generator early (or Ctrl-C) stops the
        workers.
        """
        items = list(zip(*iterables))
        func_bytes = dill.dumps(func)
        job = (hashlib.sha1(func_bytes).hexdigest(), func_bytes,
               [dill.dumps(args) for args in items])
        results, pending = [None] * len(items), set(range(len(items)))
        self._expired = {}
        pool = self._pool()
        futures = [pool.submit(_call, i, job[0], func_bytes, job[2][i])
                   for i in range(len(items))]
        yielded = 0
        try:
            for i, future in enumerate(futures):
                try:
                    results[i] = dill.loads(self._result(future, pending))
                except BrokenProcessPool:
                    break
                pending.discard(i)
                yielded += 1
                yield results[i]
        except BaseException:      # Ctrl-C, or the caller closed the stream early
            if pending:
                self.terminate()   # stop the items no one will read
            raise
        if not pending:
            return
        # a worker died: keep what came back, re-run the rest and isolate the culprit
        for i in sorted(pending):
            if futures[i].done() and futures[i].exception() is None:
                results[i] = dill.loads(futures[i].result())
                pending.discard(i)
        known = self._fail_expired(items, results, pending)
        for item in self._suspects(pending, known):
            self._isolate(item, items, job, results, pending)
        while pending:
            suspects = self._run(sorted(pending), job, results, pending, items)
            for item in suspects:
                self._isolate(item, items, job, results, pending)
        yield from results[yielded:]

    def _run(self, indices, job, results, pending, items):
        """Run *indices*; return the items that were running if the pool broke."""
        digest, func_bytes, args = job
        pool = self._pool()
        futures = {pool.submit(_call, i, digest, func_bytes, args[i]): i
                   for i in indices}
        try:
            running = set(futures)
            while running:
                _, running = wait(running, timeout=self._poll())
                if running:
                    self._kill_expired(pending)
        except BaseException:      # KeyboardInterrupt: stop now, not after the items
            self.terminate()
            raise
        broken = False
        for future, i in futures.items():
            try:
                results[i] = dill.loads(future.result())
                pending.discard(i)
            except BrokenProcessPool:
                broken = True
        if not broken:
            return []
        return self._suspects(pending, self._fail_expired(items, results, pending))

    def _suspects(self, pending, known=False):
        """The pool broke: reset it and name the pending items it was running (or, not
        knowing them, the first ``workers`` pending ones); none when *known* (this map
        stopped a worker past its time limit: the others did nothing wrong)."""
        running = sorted({s for s in (self._slots or []) if s >= 0 and s in pending})
        self._reset()
        if known:
            return []
        return running or sorted(pending)[:self.workers]

    # -- time limit
    def _poll(self):
        """Seconds between time-limit checks while waiting (None: no limit, block)."""
        return None if not self.timeout else min(1.0, max(0.05, self.timeout / 8))

    def _result(self, future, pending):
        """``future.result()``, stopping items past the time limit while it waits."""
        while True:
            try:
                return future.result(timeout=self._poll())
            except TimeoutError:
                self._kill_expired(pending)

    def _kill_expired(self, pending):
        """SIGKILL the workers whose item has run past the time limit (the pool breaks;
        :meth:`_fail_expired` gives those items their failure)."""
        if not self.timeout or self._slots is None:
            return
        now = time.time()
        for worker, item in enumerate(list(self._slots)):
            elapsed = now - self._starts[worker]
            if item < 0 or item not in pending or item in self._expired \
                    or elapsed <= self.timeout:
                continue
            self._expired[item] = elapsed
            try:
                os.kill(self._pids[worker], getattr(signal, "SIGKILL", signal.SIGTERM))
            except (ProcessLookupError, PermissionError):
                pass

    def _fail_expired(self, items, results, pending):
        """Give each pending item stopped at its time limit a failing result; True if
        the pool broke because of them."""
        stopped = [i for i in self._expired if i in pending]
        for i in stopped:
            results[i] = _timeout_result(items[i], self.timeout, self._expired[i])
            pending.discard(i)
        return bool(stopped)

    def _isolate(self, item, items, job, results, pending):
        """Re-run a suspect alone until it succeeds or runs out of retries."""
        attempts = 1  # the run in which the pool broke
        while item in pending:
            if self._run([item], job, results, pending, items):
                attempts += 1
                if attempts > self.retries:
                    if self.on_lost == "raise":
                        raise WorkerLostError(
                            f"item {item} killed its worker process {attempts} times")
                    results[item] = _lost_result(items[item], attempts)
                    pending.discard(item)


def close_map(mapper, now=False):
    """Stop the worker processes behind a toolbox's ``map``, if it has any.

    ``toolbox.register("map", pool)`` stores a :func:`functools.partial` of ``pool``,
    which hides its methods (``toolbox.map.close`` does not exist), so this looks
    through the wrapper. ``now=True`` kills the workers at once (an interrupted run);
    otherwise they finish and exit; a population evaluator's ``map_over(pool)`` stops
    its pool. Any other ``map`` (the built-in, a Dask map) is left alone. Call it at
    the end of a run: a pool left open is shut down by the interpreter's exit hooks
    instead, racing its own thread.
    """
    from .engine import registered

    target = registered(mapper)
    target = getattr(target, "pool", None) or target    # a population evaluator's map
    stop = getattr(target, "terminate" if now else "close", None)
    if isinstance(target, ProcessMap) and callable(stop):
        stop()


# Dask lives in its own module; these names keep working from here.
from .cluster import DaskMap, dask_map  # noqa: E402,F401
