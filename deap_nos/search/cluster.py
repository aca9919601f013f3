"""``toolbox.map`` on a Dask distributed cluster, past one machine.

::

    from dask.distributed import Client, LocalCluster
    client = Client(LocalCluster(n_workers=4, threads_per_worker=1))
    toolbox.register("map", dask_map(client))

On an HPC scheduler use dask-jobqueue, one GPU and one worker process per job::

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=8, processes=1, memory="32GB", walltime="24:00:00",
                           job_extra_directives=["--gres=gpu:1"])
    cluster.scale(jobs=16)
    toolbox.register("map", dask_map(Client(cluster), gpus=None))

:class:`DaskMap` streams too (``imap``): the search engine hands it a whole step and
commits the results as they come back. One machine: :mod:`deap_nos.search.parallel`.
"""
import os
import zlib

from .devices import detect_gpus

__all__ = ["DaskMap", "dask_map"]


#: Runs of an item alone after Dask gave up on it (``KilledWorker``): a task queued on
#: a worker that another task killed is blamed too; alone, an innocent one succeeds.
ISOLATED_RUNS = 2


def _killed_worker_error():
    try:
        from distributed.scheduler import KilledWorker
    except ImportError:          # pragma: no cover - distributed always has it
        return ()
    return KilledWorker


def _lost(args, error):
    from ..evaluation import Evaluation
    individual = args[0] if args else None
    weights = getattr(getattr(individual, "fitness", None), "weights", (1.0,))
    return Evaluation.failure(
        f"worker process died while evaluating (Dask KilledWorker, alone "
        f"{ISOLATED_RUNS} more times: {str(error).split('.')[0]})", "crash",
        nobj=len(weights))


class DaskMap:
    """A ``map`` over a Dask distributed ``Client`` (see :func:`dask_map`).

    An item whose task kills its worker every time (Dask raises ``KilledWorker`` once
    ``distributed.scheduler.allowed-failures`` workers died running it) is run alone
    :data:`ISOLATED_RUNS` more times, then gets a failing
    :class:`~deap_nos.evaluation.Evaluation` (stage ``"crash"``, with the reason);
    every other result is kept, in both maps. Other exceptions of the function are
    raised, as with the built-in ``map``.
    """

    def __init__(self, client, retries=2):
        self.client, self.retries = client, retries

    @property
    def workers(self):
        """Number of workers now connected (the default batch of eaRegularized)."""
        return len(self.client.scheduler_info()["workers"])

    def _result(self, future, func, args):
        """The future's result; an item that killed its worker is run alone again,
        then becomes a failed evaluation."""
        killed = _killed_worker_error()
        try:
            return future.result()
        except killed as error:
            last = error
        for _ in range(ISOLATED_RUNS):
            alone = self.client.submit(func, *args, pure=False, retries=0)
            try:
                return alone.result()
            except killed as error:
                last = error
        return _lost(args, last)

    def __call__(self, func, *iterables):
        return list(self.imap(func, *iterables))

    def imap(self, func, *iterables):
        """Yield the results in order as they come back (see :meth:`ProcessMap.imap`)."""
        items = list(zip(*iterables))
        if not items:
            return
        futures = self.client.map(func, *[list(c) for c in zip(*items)], pure=False,
                                  retries=self.retries)
        try:
            for future, args in zip(futures, items):
                yield self._result(future, func, args)
        finally:
            self.client.cancel(futures)


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
