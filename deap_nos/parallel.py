"""Parallel ``toolbox.map`` implementations: a process pool and Dask distributed.

One machine::

    from deap_nos.parallel import ProcessMap
    with ProcessMap(workers=4) as pmap:          # one GPU per worker when GPUs exist
        toolbox.register("map", pmap)
        pop, logbook = nos.eaParticle(pop, toolbox, nsteps=6, nmut=6)

:class:`ProcessMap` serialises the function and arguments with ``dill`` (from the
``multiprocess`` package), so closures and lambdas work, keeps its worker processes
between calls, and survives a worker dying (segfault, OOM kill): the pool is rebuilt and
the unfinished items are resubmitted; items that were running when it broke are re-run
one at a time to find the culprit, which is retried ``retries`` times and then given a
failing :class:`~deap_nos.evaluation.Evaluation` (or raises :class:`WorkerLostError`).

Past one machine, the same algorithms run on a Dask cluster::

    from dask.distributed import Client, LocalCluster
    client = Client(LocalCluster(n_workers=4, threads_per_worker=1))
    toolbox.register("map", dask_map(client))

On an HPC scheduler use dask-jobqueue, one GPU and one worker process per job::

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=8, processes=1, memory="32GB", walltime="24:00:00",
                           job_extra_directives=["--gres=gpu:1"])
    cluster.scale(jobs=16)
    toolbox.register("map", dask_map(Client(cluster), gpus=None))

(or ``dask.distributed.SSHCluster`` for a few machines). With worker *processes*, the
classes made by ``creator.create`` must exist in the workers: create them in an
importable module, or in the script run by every worker.
"""
import functools
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import zlib
from concurrent.futures import ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

import dill
import multiprocess

from . import quiet
from .evaluation import Evaluation

__all__ = ["ProcessMap", "close_map", "dask_map", "DaskMap", "WorkerLostError", "detect_gpus",
           "worker_index", "threads_per_worker", "usable_cpus"]


class WorkerLostError(RuntimeError):
    """An item whose worker process died on every retry."""


# ------------------------------------------------------------------- worker side
_WORKER = {"index": None, "slots": None, "digest": None, "func": None}


def worker_index():
    """The index (0, 1, ...) of the current :class:`ProcessMap` worker, or None."""
    return _WORKER["index"]


def _init_worker(counter, slots, gpus, threads, initializer, initargs):
    # Ctrl-C reaches the whole process group: the parent stops the run and
    # terminates the workers; a worker catching it would only lose its item
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    quiet.inherit()      # a spawned worker keeps the parent's choice (a forked one has it)
    with counter.get_lock():
        index = counter.value
        counter.value += 1
    _WORKER.update(index=index, slots=slots)
    if gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpus[index % len(gpus)])
    if threads:
        # read when TensorFlow creates its runtime, the worker's first op (XLA's CPU
        # thread pool included): workers share the cores instead of each taking all
        for name in _THREAD_VARIABLES:
            os.environ[name] = str(threads)
    if initializer is not None:
        dill.loads(initializer)(*initargs)


def _call(item, digest, func_bytes, args_bytes):
    if _WORKER["digest"] != digest:
        _WORKER.update(digest=digest, func=dill.loads(func_bytes))
    slots, index = _WORKER["slots"], _WORKER["index"]
    slots[index] = item
    result = _WORKER["func"](*dill.loads(args_bytes))
    slots[index] = -1
    return dill.dumps(result)


# -------------------------------------------------------------------- parent side
#: TensorFlow's thread-pool sizes, and the BLAS/OpenMP ones numpy and oneDNN read.
_THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")


def usable_cpus():
    """CPU cores this process may run on (its affinity mask; ``os.cpu_count()`` where
    there is none): a container's share, not the host's."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def threads_per_worker(workers, gpus=()):
    """TensorFlow threads for each of ``workers`` processes sharing this machine's cores:
    their even share, at least 1; None (TensorFlow's own choice) for GPU workers."""
    if gpus:
        return None
    return max(1, usable_cpus() // max(1, int(workers)))


def nvidia_smi_gpus():
    """The ``GPU i: NAME (UUID: ...)`` lines of ``nvidia-smi -L``; [] without one."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True,
                             timeout=20, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line for line in out.splitlines() if line.startswith("GPU ")]


def tensorflow_running():
    """True when this process has started TensorFlow's runtime (run an operation), not
    merely imported it: a process forked from it would hang on the runtime's locks."""
    if "tensorflow" not in sys.modules:
        return False
    try:
        from tensorflow.python.eager import context
        ctx = context.context_safe()
        return bool(ctx is not None and ctx._initialized)
    except Exception:     # a TensorFlow without these internals: assume it runs
        return True


def detect_gpus():
    """GPU ids visible to this process: ``CUDA_VISIBLE_DEVICES`` or ``nvidia-smi -L``."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g.strip() for g in env.split(",") if g.strip() and g.strip() != "-1"]
    return [str(i) for i, _ in enumerate(nvidia_smi_gpus())]


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

    Calls return a list, in order, like ``list(map(func, *iterables))``.
    """

    def __init__(self, workers=None, retries=2, on_lost="fail", start_method=None,
                 gpus="auto", threads="auto", initializer=None, initargs=()):
        if on_lost not in ("fail", "raise"):
            from .errors import NOSError
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
        self._executor = self._slots = None

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
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=ctx, initializer=_init_worker,
                initargs=(counter, self._slots, self.gpus, self.threads,
                          self._initializer, self._initargs))
        return self._executor

    def _reset(self):
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        self._executor = self._slots = None

    def close(self):
        """Stop the worker processes (a later call starts new ones)."""
        self._reset()

    def terminate(self):
        """Kill the worker processes now, dropping their items (an interrupted run:
        the parent is stopping and their results would be lost anyway)."""
        executor, self._executor, self._slots = self._executor, None, None
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
        state["_executor"] = state["_slots"] = None
        return state

    # -- map
    def __call__(self, func, *iterables):
        items = list(zip(*iterables))
        func_bytes = dill.dumps(func)
        job = (hashlib.sha1(func_bytes).hexdigest(), func_bytes,
               [dill.dumps(args) for args in items])
        results, pending = [None] * len(items), set(range(len(items)))
        while pending:
            suspects = self._run(sorted(pending), job, results, pending)
            for item in suspects:
                self._isolate(item, items, job, results, pending)
        return results

    def _run(self, indices, job, results, pending):
        """Run *indices*; return the items that were running if the pool broke."""
        digest, func_bytes, args = job
        pool = self._pool()
        futures = {pool.submit(_call, i, digest, func_bytes, args[i]): i
                   for i in indices}
        try:
            wait(futures)
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
        running = sorted({s for s in self._slots if s >= 0 and s in pending})
        self._reset()
        return running or sorted(pending)[:self.workers]

    def _isolate(self, item, items, job, results, pending):
        """Re-run a suspect alone until it succeeds or runs out of retries."""
        attempts = 1  # the run in which the pool broke
        while item in pending:
            if self._run([item], job, results, pending):
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
    target = getattr(mapper, "func", mapper) if isinstance(mapper, functools.partial) \
        else mapper
    target = getattr(target, "pool", None) or target    # a population evaluator's map
    stop = getattr(target, "terminate" if now else "close", None)
    if isinstance(target, ProcessMap) and callable(stop):
        stop()


# -------------------------------------------------------------------------- dask
class DaskMap:
    """A ``map`` over a Dask distributed ``Client`` (see :func:`dask_map`)."""

    def __init__(self, client, retries=2):
        self.client, self.retries = client, retries

    @property
    def workers(self):
        """Number of workers now connected (the default batch of eaRegularized)."""
        return len(self.client.scheduler_info()["workers"])

    def __call__(self, func, *iterables):
        futures = self.client.map(func, *iterables, pure=False, retries=self.retries)
        return self.client.gather(futures)


def _gpu_plugin(gpus):
    from distributed.diagnostics.plugin import WorkerPlugin

    class GPUPerWorker(WorkerPlugin):
        """Sets ``CUDA_VISIBLE_DEVICES`` from the worker's name or start order."""
        idempotent = True
        name = "deap_nos-gpu-per-worker"

        def __init__(self, gpus):
            self.gpus = list(gpus)

        def setup(self, worker):
            try:
                index = int(worker.name)
            except (TypeError, ValueError):
                index = zlib.crc32(str(worker.name).encode())
            os.environ["CUDA_VISIBLE_DEVICES"] = str(self.gpus[index % len(self.gpus)])

        def __reduce__(self):
            return (_gpu_plugin, (self.gpus,))

    return GPUPerWorker(gpus)


def dask_map(client, retries=2, gpus="auto"):
    """A ``toolbox.map`` running each item as a task on the Dask ``client``.

    :param client: A ``dask.distributed.Client`` (``LocalCluster``, dask-jobqueue,
        ``SSHCluster``...). Tasks run with ``pure=False``; a task whose worker dies is
        rescheduled by Dask, up to ``retries`` times.
    :param gpus: GPU ids shared out one per worker (by worker name when it is an
        integer, as in ``LocalCluster``); ``"auto"`` uses :func:`detect_gpus` on this
        machine, ``None`` leaves the workers' environment alone (one GPU per job
        under dask-jobqueue). Set before the worker imports TensorFlow.
    """
    gpus = detect_gpus() if gpus == "auto" else list(gpus or [])
    if gpus:
        client.register_plugin(_gpu_plugin(gpus))
    return DaskMap(client, retries)
