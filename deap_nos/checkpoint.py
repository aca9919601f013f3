"""Atomic checkpoints of a run's state and of the random number generators.

A checkpoint is one pickle file, replaced atomically (written to a temporary file in
the same folder, flushed, ``fsync``-ed, then ``os.replace``-d over the old one), so a
run killed at any instant — even with ``SIGKILL`` in the middle of a write — leaves
either the previous checkpoint or the new one, never a torn file.

The random state of the run is the state of Python's :mod:`random` module, numpy's
global generator and, **only if TensorFlow is already imported** (it is never imported
from here), TensorFlow's global generator. :func:`get_rng_state` and
:func:`set_rng_state` capture and restore all three.

``path`` arguments accept a checkpoint file or a run folder: a folder (an existing
directory, or a path without a suffix) holds ``checkpoint.pkl`` and the evaluation
log ``evaluations.log`` (see :func:`run_paths`).
"""
import os
import pickle
import random
import sys

import numpy

from .errors import NOSError

#: File name of the checkpoint inside a run folder.
CHECKPOINT_NAME = "checkpoint.pkl"
#: File name of the per-evaluation log inside a run folder.
LOG_NAME = "evaluations.log"
#: Version of the checkpoint layout; bumped when it changes incompatibly.
FORMAT = 1


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


def save(path, obj, fsync=True):
    """Pickle *obj* to *path* atomically (temporary file + ``os.replace``)."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as stream:
        pickle.dump(obj, stream, protocol=pickle.HIGHEST_PROTOCOL)
        stream.flush()
        if fsync:
            os.fsync(stream.fileno())
    os.replace(tmp, path)


def load(path):
    """Unpickle the checkpoint at *path*; :class:`CheckpointError` if it cannot be read."""
    try:
        with open(path, "rb") as stream:
            return pickle.load(stream)
    except FileNotFoundError:
        raise CheckpointError(f"no checkpoint at {path!r}: check the path, or start the "
                              "run without resume=") from None
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as error:
        raise CheckpointError(
            f"cannot read the checkpoint {path!r} ({error}); the classes it holds "
            "(creator.create(...)) must be created before resuming") from error


def _tensorflow_state():
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return None
    try:
        generator = tf.random.get_global_generator()
        return {"state": generator.state.numpy(), "algorithm": generator.algorithm}
    except Exception:  # pragma: no cover - depends on the TF build
        return None


def _set_tensorflow_state(state):
    tf = sys.modules.get("tensorflow")
    if tf is None or state is None:
        return
    generator = tf.random.Generator.from_state(state["state"], state["algorithm"])
    tf.random.set_global_generator(generator)


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
    tf = sys.modules.get("tensorflow")
    if tf is not None:
        tf.random.set_seed(seed)
        tf.random.set_global_generator(tf.random.Generator.from_seed(seed))
