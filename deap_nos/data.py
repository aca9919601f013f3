"""Data sets for the surrogate evaluation: (train, validation) splits of images and labels.

Two sources, both read locally — nothing here ever downloads:

* :func:`digits` — the embedded default: scikit-learn's bundled handwritten digits
  (1,797 8×8 grayscale images), split train/validation with a fixed seed. It needs no
  files and trains in seconds on a CPU, so searches and tests run anywhere.
* :func:`cifar10` — real CIFAR-10, read from the standard ``cifar-10-batches-py`` pickle
  files (Keras' cache ``~/.keras/datasets/cifar-10-batches-py`` or a directory you give).
  As in the paper: 45,000 training images and the last 5,000 of the training set as
  validation; the test batch is never used for search.

:func:`load` picks one by name. Images are float32 NHWC in [0, 1]; labels int32.

The paper's augmentation (reflect-pad 4, random crop back to size, horizontal flip,
cutout 8×8) is :func:`augment_batch`; per-channel standardisation is :func:`standardize`.
:func:`train_pipeline` builds the seeded, infinite, shuffled, batched ``tf.data`` input
pipeline. TensorFlow is imported inside the functions that need it, so
``import deap_nos`` stays free of it.
"""

import dataclasses
import os
import pickle

import numpy as np

from deap_nos.errors import DataError, UnknownNameError

__all__ = [
    "Dataset",
    "cifar10",
    "digits",
    "find_cifar10",
    "load",
    "names",
    "standardize",
    "augment_batch",
    "train_pipeline",
    "CIFAR_DIRNAME",
]

#: Name of the directory holding the CIFAR-10 python pickle files.
CIFAR_DIRNAME = "cifar-10-batches-py"
_CIFAR_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
_CIFAR_SHAPE = (32, 32, 3)


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """A (train, validation) split of images and labels.

    Attributes
    ----------
    x_train, x_val : numpy.ndarray
        float32 images, shape ``(N, H, W, C)``.
    y_train, y_val : numpy.ndarray
        int32 class labels, shape ``(N,)``.
    name : str
        Where the data came from (``"digits"``, ``"cifar10"``).
    classes : int
        Number of classes.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    name: str
    classes: int

    @property
    def input_shape(self):
        """Shape of one image, ``(H, W, C)``."""
        return tuple(self.x_train.shape[1:])

    def __repr__(self):
        return (f"Dataset(name={self.name!r}, classes={self.classes}, "
                f"train={self.x_train.shape}, val={self.x_val.shape})")


# --------------------------------------------------------------------------- readers
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
    """The first directory holding all five CIFAR-10 training batches, else a DataError
    that says where to put them (a cheap check: nothing is read)."""
    candidates = _cifar_candidates(data_dir)
    for d in candidates:
        if all(os.path.isfile(os.path.join(d, f)) for f in _CIFAR_TRAIN_FILES):
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
    return Dataset(x[:cut], labels[:cut], x[cut:], labels[cut:], "cifar10", 10)


def digits(validation_fraction=0.2, seed=0):
    """The embedded default: scikit-learn's bundled 8×8 handwritten digits, no download.

    Parameters
    ----------
    validation_fraction : float
        Share of the 1,797 images held out for validation (stratified).
    seed : int
        Seed of the fixed train/validation split.

    Returns
    -------
    Dataset
        float32 images in [0, 1], shape (N, 8, 8, 1); int32 labels, 10 classes.
    """
    from sklearn.datasets import load_digits

    if not 0.0 < float(validation_fraction) < 1.0:
        raise DataError(f"validation_fraction={validation_fraction} must lie strictly "
                        f"between 0 and 1")
    bunch = load_digits()
    x = (bunch.images.astype(np.float32) / np.float32(16.0))[..., None]
    y = bunch.target.astype(np.int32)
    rng = np.random.default_rng(seed)
    val_idx = []
    for label in np.unique(y):  # stratified: the same share of every class
        idx = np.flatnonzero(y == label)
        rng.shuffle(idx)
        val_idx.append(idx[: int(round(len(idx) * float(validation_fraction)))])
    val_idx = np.sort(np.concatenate(val_idx))
    train_mask = np.ones(len(y), bool)
    train_mask[val_idx] = False
    train_idx = rng.permutation(np.flatnonzero(train_mask))
    return Dataset(x[train_idx], y[train_idx], x[val_idx], y[val_idx], "digits", 10)


_LOADERS = {"default": digits, "digits": digits, "cifar10": cifar10}


def names():
    """Names :func:`load` knows."""
    return sorted(_LOADERS)


def load(name="default", **kwargs):
    """A data set by name: ``"default"``/``"digits"`` (embedded) or ``"cifar10"``.

    Keyword arguments go to the loader (:func:`digits` or :func:`cifar10`).
    """
    try:
        loader = _LOADERS[str(name).lower()]
    except KeyError:
        raise UnknownNameError(f"unknown data set {name!r}; known: {', '.join(names())}") from None
    return loader(**kwargs)


# --------------------------------------------------------------------- preprocessing
def standardize(dataset, eps=1e-7):
    """Per-channel standardisation with the training set's mean and standard deviation.

    Statistics come from the training split only (no validation leak); both splits are
    transformed. Returns a new :class:`Dataset`.
    """
    axes = tuple(range(dataset.x_train.ndim - 1))
    mean = dataset.x_train.mean(axis=axes, dtype=np.float64)
    std = dataset.x_train.std(axis=axes, dtype=np.float64)
    mean = mean.astype(np.float32)
    std = np.maximum(std, eps).astype(np.float32)
    return dataclasses.replace(
        dataset,
        x_train=((dataset.x_train - mean) / std).astype(np.float32),
        x_val=((dataset.x_val - mean) / std).astype(np.float32),
    )


def augment_batch(images, seed, pad=4, flip=True, cutout=8):
    """The paper's augmentation of a batch: reflect-pad, random crop, flip, cutout.

    Deterministic given ``seed`` (stateless random ops), so a seeded pipeline replays.

    Parameters
    ----------
    images : tf.Tensor or array
        float32 batch, shape (B, H, W, C).
    seed : tf.Tensor or sequence of two ints
        Stateless random seed, shape (2,).
    pad : int
        Reflect-padding on each side before the random crop back to H×W (0: no crop).
    flip : bool
        Random horizontal flip with probability 1/2.
    cutout : int
        Side of the square zeroed at a random centre (clipped at the border; 0: none).

    Returns
    -------
    tf.Tensor
        The augmented batch, same shape and dtype.
    """
    import tensorflow as tf

    x = tf.convert_to_tensor(images, tf.float32)
    seed = tf.cast(tf.convert_to_tensor(seed), tf.int64)
    seeds = tf.random.experimental.stateless_split(seed, 3)
    shape = tf.shape(x)
    b, h, w = shape[0], shape[1], shape[2]
    if pad:
        padded = tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
        offsets = tf.random.stateless_uniform([b, 2], seeds[0], 0, 2 * pad + 1, tf.int32)
        rows = offsets[:, :1] + tf.range(h)[None, :]
        cols = offsets[:, 1:] + tf.range(w)[None, :]
        x = tf.gather(padded, rows, axis=1, batch_dims=1)
        x = tf.gather(x, cols, axis=2, batch_dims=1)
    if flip:
        coin = tf.random.stateless_uniform([b, 1, 1, 1], seeds[1]) < 0.5
        x = tf.where(coin, tf.reverse(x, axis=[2]), x)
    if cutout:
        centre_seeds = tf.random.experimental.stateless_split(seeds[2], 2)
        cy = tf.random.stateless_uniform([b], centre_seeds[0], 0, h, tf.int32)
        cx = tf.random.stateless_uniform([b], centre_seeds[1], 0, w, tf.int32)
        lo_y, lo_x = cy - cutout // 2, cx - cutout // 2
        yy = tf.range(h)[None, :]
        xx = tf.range(w)[None, :]
        in_y = (yy >= lo_y[:, None]) & (yy < lo_y[:, None] + cutout)  # (B, H)
        in_x = (xx >= lo_x[:, None]) & (xx < lo_x[:, None] + cutout)  # (B, W)
        box = in_y[:, :, None] & in_x[:, None, :]
        x = x * tf.cast(~box, x.dtype)[..., None]
    return x


def train_pipeline(x, y, batch_size, seed, augment=False, augment_options=None,
                   prefetch=2):
    """An infinite, shuffled, batched, seeded ``tf.data`` pipeline over (x, y).

    Indices (not images) are shuffled, reshuffled every epoch, and gathered per batch, so
    the shuffle buffer stays small even for CIFAR-10. Same ``seed`` → same batches.

    Parameters
    ----------
    x, y : numpy.ndarray
        Images (N, H, W, C) float32 and int labels (N,).
    batch_size : int
        Batch size; batches may straddle epochs (the stream is infinite).
    seed : int
        Seed of the shuffle and the augmentation.
    augment : bool
        Apply :func:`augment_batch` (the paper's augmentation) to every batch.
    augment_options : dict, optional
        Keyword arguments for :func:`augment_batch` (``pad``, ``flip``, ``cutout``).
    prefetch : int
        Batches prepared ahead of the training step.

    Returns
    -------
    tf.data.Dataset
        Yields ``(images float32 (B, H, W, C), labels int32 (B,))`` forever.
    """
    import tensorflow as tf

    n = len(x)
    if n == 0:
        raise DataError("cannot build an input pipeline over an empty training set")
    if int(batch_size) < 1:
        raise DataError(f"batch_size={batch_size} must be at least 1")
    seed = int(seed) % (2 ** 31 - 1)
    images = tf.constant(np.asarray(x, np.float32))
    labels = tf.constant(np.asarray(y, np.int32))
    indices = tf.data.Dataset.range(n).shuffle(n, seed=seed, reshuffle_each_iteration=True)
    ds = indices.repeat().batch(int(batch_size), drop_remainder=True)
    if augment:
        options = dict(augment_options or {})

        def gather_augment(step, idx):
            batch = augment_batch(tf.gather(images, idx), tf.stack([tf.cast(seed, tf.int64), step]),
                                  **options)
            return batch, tf.gather(labels, idx)

        ds = ds.enumerate().map(gather_augment)
    else:
        def gather(idx):
            return tf.gather(images, idx), tf.gather(labels, idx)

        ds = ds.map(gather)
    return ds.prefetch(prefetch)
