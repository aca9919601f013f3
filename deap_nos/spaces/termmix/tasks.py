"""The named tasks of the term-mix fitness: none needs a download.

Seed 002 aggregates fitness over several vision tasks; here:

* ``mnist1d`` — the library's default data set (MNIST-1D signals, generated locally);
* ``digits`` — scikit-learn's bundled 8×8 handwritten digits;
* ``mnist1d_small`` — a second MNIST-1D configuration (another generator seed, a
  quarter of the signals: less data, another draw of the transformations);
* ``synthetic`` — scikit-learn's ``make_classification`` (20 features, 4 classes,
  overlapping clusters), laid out as a 20-sample signal for the ConvNet.

:func:`load_task` returns a :class:`~deap_nos.data.Dataset` (cached per process);
``samples`` shrinks the generated sets for cheap runs.
"""
import numpy as np

from ...data.dataset import Dataset, stratified_split
from ...errors import UnknownNameError

__all__ = ["TASKS", "DEFAULT_TASKS", "load_task", "flat"]

DEFAULT_TASKS = ("mnist1d", "digits", "synthetic")
_DATA = {}


def _mnist1d(samples, seed):
    from ...data.mnist1d import mnist1d
    return mnist1d(samples=samples, seed=seed)


def _digits(samples, seed):
    from ...data.digits import digits
    return digits(seed=seed)


def _synthetic(samples, seed):
    from sklearn.datasets import make_classification
    x, y = make_classification(n_samples=samples, n_features=20, n_informative=8,
                               n_redundant=4, n_classes=4, n_clusters_per_class=2,
                               class_sep=0.8, random_state=seed)
    x = x.astype(np.float32)[..., None]
    y = y.astype(np.int32)
    train, val, test = stratified_split(y, (1 / 6, 1 / 6), seed)
    return Dataset(x[train], y[train], x[val], y[val], "synthetic", 4, x[test], y[test])


#: name -> (loader(samples, seed), default samples, seed)
TASKS = {
    "mnist1d": (_mnist1d, 12000, 0),
    "digits": (_digits, None, 0),
    "mnist1d_small": (_mnist1d, 3000, 1),
    "synthetic": (_synthetic, 3000, 0),
}


def load_task(name, samples=None):
    """The task's :class:`~deap_nos.data.Dataset` (``samples`` overrides the size of a
    generated task; ignored by ``digits``)."""
    try:
        loader, default, seed = TASKS[name]
    except KeyError:
        raise UnknownNameError(f"unknown termmix task {name!r}; known: "
                               f"{', '.join(sorted(TASKS))}") from None
    size = default if samples is None or default is None else min(int(samples), default)
    key = (name, size)
    if key not in _DATA:
        _DATA[key] = loader(size, seed)
    return _DATA[key]


def flat(name, samples=None):
    """``(x_train, y_train, x_val, y_val, classes)`` as float64 feature rows,
    standardised with the training statistics (the cheap models' input)."""
    ds = load_task(name, samples)
    x_train = ds.x_train.reshape(len(ds.x_train), -1).astype(np.float64)
    x_val = ds.x_val.reshape(len(ds.x_val), -1).astype(np.float64)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 1e-7
    return ((x_train - mean) / std, ds.y_train.astype(np.int64), (x_val - mean) / std,
            ds.y_val.astype(np.int64), int(ds.classes))
