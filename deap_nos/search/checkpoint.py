"""Atomic checkpoints of a run's state, the append-only evaluation cache, and the
random number generators.

A checkpoint is one pickle file, replaced atomically (written to a temporary file in
the same folder, flushed, ``fsync``-ed, then ``os.replace``-d over the old one), so a
run killed at any instant — even with ``SIGKILL`` in the middle of a write — leaves
either the previous checkpoint or the new one, never a torn file.

The random state of the run is the state of Python's :mod:`random` module, numpy's
global generator and, **only if TensorFlow is already imported** (it is never imported
from here), TensorFlow's global generator. :func:`get_rng_state` and
:func:`set_rng_state` capture and restore all three.

Run folder layout
-----------------
``path`` arguments accept a run folder or a checkpoint file (see :func:`run_files`).
A run folder (an existing directory, or a path without a suffix, e.g. ``runs/adam``)
holds one run, possibly in two phases (:func:`~deap_nos.search.algorithms.initial_population`
then :func:`~deap_nos.search.algorithms.eaParticle` or
:func:`~deap_nos.search.algorithms.eaRegularized`)::

    runs/adam/
        initial.pkl       state of the initial phase (initial_population)
        checkpoint.pkl    state of the algorithm (eaParticle / eaRegularized)
        cache.pkl         evaluation cache, append-only, shared by both phases
        evaluations.log   one JSON line per evaluation, both phases (deap_nos.search.runlog)

With a checkpoint *file* ``dir/state.pkl`` instead, the siblings are
``dir/state.initial.pkl`` and ``dir/state.cache.pkl`` and there is no default log.

``initial.pkl`` and ``checkpoint.pkl`` are atomic pickles of a dict::

    {"format": 2,                       # FORMAT
     "algorithm": "eaParticle" | "eaRegularized" | "initial_population",
     "params": {...},                   # must match on resume (nmut, sample_size, n...)
     "step": int,                       # the step the snapshot starts
     "snapshot": bytes,                 # pickle of the step-start state: "rng" (see
                                        # get_rng_state), "progress", and the
                                        # algorithm's own ("population", "lineages",
                                        # "logbook", "hof", "done"; for the initial
                                        # phase "rng_start", "candidates", "result")
     "finished": bool,                  # the phase returned; a resume returns at once
     "namespace": "evaluate" | "screen",  # which cache entries the phase uses
     "fresh": [key, ...],               # keys evaluated in the current step
     "cache_offset": int,               # bytes of cache.pkl committed by this state
     "log_offset": int | None}          # bytes of evaluations.log likewise

``cache.pkl`` (:class:`CacheFile`) is a sequence of pickles appended one per chunk of
evaluations, each a list of ``(namespace, genome_key, Evaluation)``: ``"evaluate"``
entries come from ``toolbox.evaluate`` (shared by both phases), ``"screen"`` entries
from a screening evaluator given to ``initial_population(evaluate=...)``, and one
``("log", genome_key, record)`` per evaluation holds its log line. Writing a chunk
appends to the log, then to the cache (flushed and ``fsync``-ed), then replaces the
checkpoint; a resume truncates the cache back to the offset its checkpoint records and
rewrites the log as the records that cache commits (:func:`read_log_records`,
:func:`deap_nos.search.runlog.restore_log`): the log is re-read record by record, records lost
from it are restored from the cache, and whatever else it held (an uncommitted tail,
unreadable bytes, lines added by hand) is moved to ``evaluations.log.dropped``. Every
evaluation is stored and logged exactly once. :func:`read_cache` reads the cache back.

When ``checkpoint.pkl`` (or ``initial.pkl``) is missing or damaged, its ``.prev`` is
used, with a warning naming it; with no readable checkpoint at all, the run starts
over and the old log is moved aside, not discarded.

Format-1 checkpoints (the cache held inline under ``"cache"``) are still read.
"""
import io
import os
import pickle
import random
import shutil
import sys
import warnings
from collections import namedtuple

import numpy

from ..errors import NOSError

#: File name of the checkpoint inside a run folder.
CHECKPOINT_NAME = "checkpoint.pkl"
#: File name of the per-evaluation log inside a run folder.
LOG_NAME = "evaluations.log"
#: File name of the initial phase's state inside a run folder.
INITIAL_NAME = "initial.pkl"
#: File name of the append-only evaluation cache inside a run folder.
CACHE_NAME = "cache.pkl"
#: Namespace of the cache entries ``("log", key, record)`` that hold each evaluation's
#: log record, so that a damaged or lost ``evaluations.log`` can be rebuilt.
LOG_NAMESPACE = "log"
#: Version of the checkpoint layout; bumped when it changes incompatibly.
FORMAT = 2
#: Checkpoint layouts this version reads.
READABLE_FORMATS = (1, 2)


class CheckpointError(NOSError):
    """A checkpoint that is missing, unreadable or from another algorithm or run."""


def run_paths(path):
    """Return ``(checkpoint_file, run_folder_or_None)`` for a file or folder *path*.

    *path* is a folder when it is an existing directory or has no file suffix
    (``runs/adam``); the checkpoint is then ``path/checkpoint.pkl`` and the folder is
    created. Otherwise *path* is the checkpoint file itself and there is no run folder.
    """
    if path is None:
        return None, None
    path = os.fspath(path)
    if os.path.isdir(path) or not os.path.splitext(os.path.basename(path))[1]:
        os.makedirs(path, exist_ok=True)
        return os.path.join(path, CHECKPOINT_NAME), path
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    return path, None


class RunFiles(namedtuple("RunFiles", "checkpoint initial cache log folder")):
    """The files of one run (see the module docstring); ``log``/``folder`` may be None."""

    __slots__ = ()


def run_files(path):
    """The :class:`RunFiles` of a run folder or checkpoint file *path* (None if None).

    Creates the folder (or the checkpoint file's folder) if needed.
    """
    if path is None:
        return None
    checkpoint, folder = run_paths(path)
    if folder is not None:
        return RunFiles(checkpoint, os.path.join(folder, INITIAL_NAME),
                        os.path.join(folder, CACHE_NAME),
                        os.path.join(folder, LOG_NAME), folder)
    root, ext = os.path.splitext(checkpoint)
    return RunFiles(checkpoint, f"{root}.initial{ext}", f"{root}.cache{ext}", None, None)


#: Suffix of the previous checkpoint kept next to each checkpoint file.
PREVIOUS_SUFFIX = ".prev"
#: Suffix a damaged checkpoint is moved to when a resume falls back to the previous one.
DAMAGED_SUFFIX = ".damaged"


def save(path, obj, fsync=True, keep_previous=False):
    """Pickle *obj* to *path* atomically (temporary file + ``os.replace``).

    :param keep_previous: First make the current file ``path + ".prev"`` (a hard link,
        atomically replaced), so a resume can fall back to it if *path* is ever found
        damaged (a disk that lost the last write, a file cut by hand).
    """
    path = os.fspath(path)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as stream:
        pickle.dump(obj, stream, protocol=pickle.HIGHEST_PROTOCOL)
        stream.flush()
        if fsync:
            os.fsync(stream.fileno())
    if keep_previous and os.path.exists(path):
        _link(path, path + PREVIOUS_SUFFIX)
    os.replace(tmp, path)


def write_atomic(path, data, fsync=True):
    """Write the bytes *data* to *path* atomically: a temporary file beside it, flushed
    (and ``fsync``-ed), then ``os.replace``-d over *path* — a kill leaves the old file or
    the new one, never a mix."""
    path = os.fspath(path)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as stream:
        stream.write(data)
        stream.flush()
        if fsync:
            os.fsync(stream.fileno())
    os.replace(tmp, path)


def _link(source, target):
    """Make *target* the same file as *source*, atomically (a copy where links fail)."""
    tmp = f"{target}.tmp{os.getpid()}"
    if os.path.lexists(tmp):
        os.remove(tmp)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def remove(path):
    """Delete the checkpoint *path* and its previous version (a new run starts)."""
    for name in (os.fspath(path), os.fspath(path) + PREVIOUS_SUFFIX):
        if os.path.exists(name):
            os.remove(name)


def _unpickle(path):
    with open(path, "rb") as stream:
        return pickle.load(stream)


def load(path):
    """Unpickle the checkpoint at *path*; :class:`CheckpointError` if it cannot be read.

    A damaged file (truncated, corrupt) is moved aside to ``path + ".damaged"`` and the
    previous checkpoint ``path + ".prev"`` (see :func:`save`) is loaded instead, with a
    warning; without one the error says the file is damaged.
    """
    path = os.fspath(path)
    try:
        return _unpickle(path)
    except FileNotFoundError:
        if os.path.exists(path + PREVIOUS_SUFFIX):
            return _fall_back(path, "missing")
        raise CheckpointError(f"no checkpoint at {path!r}: check the path, or start the "
                              "run without resume=") from None
    except (AttributeError, ImportError) as error:
        raise CheckpointError(
            f"cannot read the checkpoint {path!r} ({error}); the classes it holds "
            "(creator.create(...)) must be created before resuming") from error
    except Exception as error:  # a torn or corrupt pickle raises many types
        if os.path.exists(path + PREVIOUS_SUFFIX):
            os.replace(path, path + DAMAGED_SUFFIX)
            return _fall_back(path, f"damaged ({type(error).__name__}: {error})")
        raise CheckpointError(
            f"the checkpoint {path!r} is damaged (truncated or corrupt: "
            f"{type(error).__name__}: {error}) and there is no previous checkpoint "
            f"{path + PREVIOUS_SUFFIX!r} to fall back to; start the run again") from error


def _fall_back(path, problem):
    previous = path + PREVIOUS_SUFFIX
    try:
        state = _unpickle(previous)
    except Exception as error:
        raise CheckpointError(
            f"the checkpoint {path!r} is {problem}, and so is the previous one "
            f"{previous!r} ({type(error).__name__}: {error}); start the run again"
        ) from error
    warnings.warn(f"the checkpoint {path!r} is {problem}; resuming from the previous "
                  f"checkpoint {previous!r} (the evaluations since are redone)",
                  RuntimeWarning, stacklevel=3)
    return state


# ------------------------------------------------------------- evaluation cache
class CacheFile:
    """The append-only evaluation cache file (see the module docstring).

    :param path: The file (created if missing).
    :param truncate: Cut the file back to this many bytes first (a checkpoint's
        ``cache_offset``); None keeps it whole.
    :param fsync: ``fsync`` after every append, so a committed checkpoint never
        refers to cache bytes lost in a machine crash.
    """

    def __init__(self, path, truncate=None, fsync=True):
        self.path, self.fsync = os.fspath(path), fsync
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        self._stream = open(self.path, "a+b")
        if truncate is not None:
            self._stream.truncate(truncate)
        self._stream.seek(0, os.SEEK_END)

    def append(self, entries):
        """Append a list of ``(namespace, key, evaluation)`` as one record."""
        if not entries:
            return
        self._stream.write(pickle.dumps(list(entries), protocol=pickle.HIGHEST_PROTOCOL))
        self._stream.flush()
        if self.fsync:
            os.fsync(self._stream.fileno())

    def offset(self):
        """The file's committed length in bytes (stored in checkpoints)."""
        return self._stream.tell()

    def close(self):
        self._stream.close()


def read_cache(path, offset=None, namespace="evaluate"):
    """The ``{genome_key: Evaluation}`` of a cache file's first *offset* bytes.

    :param path: A cache file, or a run folder (its ``cache.pkl`` is read).
    :param offset: Bytes to read (a checkpoint's ``cache_offset``); None reads every
        complete record.
    :param namespace: ``"evaluate"``, ``"screen"``, or None for ``{(namespace, key):
        Evaluation}`` of every entry.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, CACHE_NAME)
    cache = {}
    if not os.path.exists(path):
        if offset:
            raise CheckpointError(f"the evaluation cache {path!r} is missing")
        return cache
    with open(path, "rb") as stream:
        data = stream.read() if offset is None else stream.read(offset)
    if offset is not None and len(data) < offset:
        raise CheckpointError(f"the evaluation cache {path!r} is shorter ({len(data)} "
                              f"bytes) than its checkpoint records ({offset})")
    buffer = io.BytesIO(data)
    while buffer.tell() < len(data):
        try:
            entries = pickle.load(buffer)
        except (AttributeError, ImportError) as error:
            raise CheckpointError(
                f"cannot read the evaluation cache {path!r} ({error}); the classes it "
                "holds (creator.create(...)) must be created before reading it") from error
        except Exception as error:  # a torn record: unpickling raises many types
            if offset is None:      # an uncommitted tail after the last checkpoint
                break
            raise CheckpointError(f"cannot read the evaluation cache {path!r} "
                                  f"({error})") from error
        for space, key, evaluation in entries:
            if space == LOG_NAMESPACE and namespace != LOG_NAMESPACE:
                continue
            if namespace is None:
                cache[(space, key)] = evaluation
            elif space == namespace:
                cache[key] = evaluation
    return cache


def read_log_records(path, offset=None):
    """The log records (dicts, in order) that the first *offset* bytes of a cache file
    commit, from which ``evaluations.log`` is rebuilt; None where the cache holds
    evaluations without their records (written before records were cached)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, CACHE_NAME)
    if not offset and offset is not None:
        return []
    if not os.path.exists(path):
        return None if offset else []
    with open(path, "rb") as stream:
        data = stream.read() if offset is None else stream.read(offset)
    buffer, records, evaluations = io.BytesIO(data), [], 0
    while buffer.tell() < len(data):
        try:
            entries = pickle.load(buffer)
        except Exception:        # a torn tail; read_cache reports real damage
            break
        for space, _, value in entries:
            if space == LOG_NAMESPACE:
                records.append(value)
            else:
                evaluations += 1
    return records if len(records) >= evaluations else None


def copy_prefix(source, target, nbytes):
    """Write the first *nbytes* of *source* to *target* atomically (resume elsewhere)."""
    with open(source, "rb") as stream:
        write_atomic(target, stream.read(nbytes))


# ------------------------------------------------------------------------ RNG
def _tensorflow():
    """The TensorFlow backend, only where TensorFlow is already imported (never import it
    here: a checkpoint of a numpy-only search must not start it)."""
    if "tensorflow" not in sys.modules:
        return None
    from ..backends import tensorflow
    return tensorflow


def _tensorflow_state():
    backend = _tensorflow()
    return None if backend is None else backend.rng_state()


def _set_tensorflow_state(state):
    backend = _tensorflow()
    if backend is not None and state is not None:
        backend.set_rng_state(state)


def get_rng_state():
    """The states of Python's ``random``, numpy's global RNG and (if imported) TF's."""
    return {"random": random.getstate(),
            "numpy": numpy.random.get_state(),
            "tensorflow": _tensorflow_state()}


def set_rng_state(state):
    """Restore a state returned by :func:`get_rng_state`."""
    random.setstate(state["random"])
    numpy.random.set_state(state["numpy"])
    _set_tensorflow_state(state.get("tensorflow"))


def seed_everything(seed):
    """Seed Python's ``random``, numpy and (only if already imported) TensorFlow."""
    random.seed(seed)
    numpy.random.seed(seed % 2**32)
    backend = _tensorflow()
    if backend is not None:
        backend.seed(seed)
