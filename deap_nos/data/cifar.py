"""CIFAR-10 read from its standard python pickle files — never downloaded.

Keras' cache (``$KERAS_HOME`` or ``~/.keras/datasets/cifar-10-batches-py``, where
``keras.datasets.cifar10.load_data()`` leaves it) or a directory you give.
"""

import os
import pickle

import numpy as np

from deap_nos.data.dataset import Dataset
from deap_nos.errors import DataError

__all__ = ["cifar10", "find_cifar10", "CIFAR_DIRNAME"]

#: Name of the directory holding the CIFAR-10 python pickle files.
CIFAR_DIRNAME = "cifar-10-batches-py"
_CIFAR_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
_CIFAR_TEST_FILE = "test_batch"
_CIFAR_FILES = _CIFAR_TRAIN_FILES + (_CIFAR_TEST_FILE,)


def _read_cifar_batch(path):
    """Read one CIFAR-10 python pickle file into uint8 NHWC images and int32 labels.

    The file is a pickled dict with ``b"data"`` (uint8, N×3072, each row the red, green
    and blue 32×32 planes in row-major order) and ``b"labels"`` (N ints).
    """
    try:
        with open(path, "rb") as fh:
            batch = pickle.load(fh, encoding="bytes")
    except Exception as exc:  # truncated, not a pickle, wrong protocol ...
        raise DataError(
            f"cannot read the CIFAR-10 batch file {path!r} ({type(exc).__name__}: {exc}); "
            f"the file is corrupt or not a CIFAR-10 python pickle — replace it with a "
            f"fresh copy from https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
        ) from exc
    if not isinstance(batch, dict):
        raise DataError(f"the CIFAR-10 batch file {path!r} does not hold a dict; the file "
                        f"is corrupt — replace it with a fresh copy")
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if data is None or labels is None:
        raise DataError(f"the CIFAR-10 batch file {path!r} lacks the b'data' or b'labels' "
                        f"entry; the file is corrupt — replace it with a fresh copy")
    data = np.asarray(data)
    labels = np.asarray(labels)
    if data.ndim != 2 or data.shape[1] != 3072 or data.shape[0] != labels.shape[0]:
        raise DataError(
            f"the CIFAR-10 batch file {path!r} holds data of shape {data.shape} and "
            f"{labels.shape[0] if labels.ndim else 0} labels; expected N×3072 and N labels — "
            f"the file is corrupt, replace it with a fresh copy")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"the CIFAR-10 batch file {path!r} has labels outside 0..9; the file "
                        f"is corrupt — replace it with a fresh copy")
    images = data.astype(np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, labels.astype(np.int32)


def _cifar_candidates(data_dir):
    """Directories that may hold the CIFAR-10 files, in the order they are tried."""
    dirs = []
    if data_dir is not None:
        data_dir = os.path.expanduser(os.fspath(data_dir))
        dirs += [data_dir, os.path.join(data_dir, CIFAR_DIRNAME)]
    else:
        keras_home = os.environ.get("KERAS_HOME")
        if keras_home:
            dirs.append(os.path.join(keras_home, "datasets", CIFAR_DIRNAME))
        dirs.append(os.path.join(os.path.expanduser("~"), ".keras", "datasets", CIFAR_DIRNAME))
    return dirs


def find_cifar10(data_dir):
    """The first directory holding the five CIFAR-10 training batches and the test batch,
    else a DataError
    that says where to put them (a cheap check: nothing is read)."""
    candidates = _cifar_candidates(data_dir)
    for d in candidates:
        if all(os.path.isfile(os.path.join(d, f)) for f in _CIFAR_FILES):
            return d
    tried = ", ".join(repr(d) for d in candidates)
    raise DataError(
        f"CIFAR-10 not found (looked in {tried}); deap_nos never downloads data. Put the "
        f"python version's files (data_batch_1 … data_batch_5, test_batch) in "
        f"~/.keras/datasets/{CIFAR_DIRNAME}/ — e.g. extract cifar-10-python.tar.gz from "
        f"https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz there, or call "
        f"keras.datasets.cifar10.load_data() once on a machine with internet — or pass "
        f"data_dir= pointing to that directory; or use the embedded 'digits' data set")


def cifar10(data_dir=None, validation_size=5000):
    """CIFAR-10 as in the paper: training set minus its last ``validation_size`` images.

    Train: the first 45,000 training images; validation (the search's fitness): the last
    5,000; test (the verdict only): the ``test_batch`` file's 10,000.

    Parameters
    ----------
    data_dir : str or path-like, optional
        A ``cifar-10-batches-py`` directory or its parent. Default: ``$KERAS_HOME`` then
        ``~/.keras/datasets/cifar-10-batches-py`` (where Keras caches it).
    validation_size : int
        How many of the last training images form the validation set (paper: 5,000,
        leaving 45,000 to train on).

    Returns
    -------
    Dataset
        float32 images in [0, 1], shape (N, 32, 32, 3); int32 labels.

    Raises
    ------
    DataError
        The files are missing (the message says where to put them) or corrupt.
    """
    directory = find_cifar10(data_dir)
    parts = [_read_cifar_batch(os.path.join(directory, f)) for f in _CIFAR_TRAIN_FILES]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    validation_size = int(validation_size)
    if not 0 < validation_size < len(images):
        raise DataError(f"validation_size={validation_size} must be between 1 and "
                        f"{len(images) - 1} (the training set holds {len(images)} images)")
    cut = len(images) - validation_size
    x = images.astype(np.float32) / np.float32(255.0)
    test_images, test_labels = _read_cifar_batch(os.path.join(directory, _CIFAR_TEST_FILE))
    x_test = test_images.astype(np.float32) / np.float32(255.0)
    return Dataset(x[:cut], labels[:cut], x[cut:], labels[cut:], "cifar10", 10,
                   x_test, test_labels)
