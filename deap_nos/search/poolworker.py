"""The worker side of :class:`~deap_nos.search.parallel.ProcessMap`: what runs in each pool
process.

A worker sets its GPU and thread counts, makes sure it does not outlive the process
that started it (``prctl(PR_SET_PDEATHSIG)`` on Linux and a thread watching its
parent PID: a parent killed with SIGKILL runs no cleanup), and records in arrays
shared with the parent which item it runs, since when, and its PID, so that the parent
can name the item that killed a worker and stop one past its time limit.
"""
import os
import signal
import sys
import threading
import time

import dill

from ..backends.tensorflow import quiet

#: TensorFlow's thread-pool sizes, and the BLAS/OpenMP ones numpy and oneDNN read.
_THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")


_WORKER = {"index": None, "slots": None, "starts": None, "digest": None, "func": None}


def worker_index():
    """The index (0, 1, ...) of the current :class:`ProcessMap` worker, or None."""
    return _WORKER["index"]


#: Seconds between a worker's checks that its parent is still alive.
PARENT_POLL = 0.5


def _set_parent_death_signal():
    """Linux: have the kernel SIGKILL this process when the thread that created it
    ends (``prctl(PR_SET_PDEATHSIG)``), whatever kills the parent — SIGKILL included."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(1, int(signal.SIGKILL), 0, 0, 0) == 0   # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError, ValueError):
        return False


def _watch_parent(parent):
    """End this process when it is orphaned (its parent PID changes: re-parented to
    PID 1 or a subreaper), for systems without ``PR_SET_PDEATHSIG``."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL)
    os._exit(1)


def _die_with_parent(parent, pdeathsig):
    """Make sure this worker does not outlive *parent* (the process that started it):
    a parent killed with SIGKILL runs no cleanup, and its orphaned workers would train
    on for minutes, holding a GPU and writing nothing."""
    if pdeathsig:
        _set_parent_death_signal()
    if parent is not None and os.getppid() != parent:
        os._exit(1)              # the parent died before the signal was set
    watched = os.getppid()
    threading.Thread(target=_watch_parent, args=(watched,), daemon=True,
                     name="deap_nos-parent-watch").start()


def _init_worker(counter, slots, gpus, threads, initializer, initargs, parent=None,
                 pdeathsig=False, starts=None, pids=None):
    _die_with_parent(parent, pdeathsig)
    # Ctrl-C reaches the whole process group: the parent stops the run and
    # terminates the workers; a worker catching it would only lose its item
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # terminate() (SIGTERM) ends a worker quietly, whatever handler a forked one inherited
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    quiet.inherit()      # a spawned worker keeps the parent's choice (a forked one has it)
    with counter.get_lock():
        index = counter.value
        counter.value += 1
    _WORKER.update(index=index, slots=slots, starts=starts)
    if pids is not None:
        pids[index] = os.getpid()      # the parent stops a worker past its time limit
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
    if _WORKER.get("starts") is not None:
        _WORKER["starts"][index] = time.time()     # before the slot names the item
    slots[index] = item
    result = _WORKER["func"](*dill.loads(args_bytes))
    slots[index] = -1
    return dill.dumps(result)


