"""The :class:`Dataset` record — train, validation and test splits — and what acts on it.

Every data set has three disjoint splits. A search sees ``train`` (to fit) and ``val``
(its fitness); ``test`` is read only by the verdict (:mod:`deap_nos.verdict`), which
retrains on :meth:`Dataset.train_and_val` and scores there, so the number a report
gives for a genome was never used to select it.
"""

import dataclasses

import numpy as np

from deap_nos.errors import DataError

__all__ = ["Dataset", "standardize", "stratified_split"]


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """Train, validation and test splits of inputs and labels.

    Attributes
    ----------
    x_train, x_val, x_test : numpy.ndarray
        float32 inputs: images ``(N, H, W, C)`` or signals ``(N, L, C)``.
    y_train, y_val, y_test : numpy.ndarray
        int32 class labels, shape ``(N,)``.
    name : str
        Where the data came from (``"mnist1d"``, ``"digits"``, ``"cifar10"``).
    classes : int
        Number of classes.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    name: str
    classes: int
    x_test: np.ndarray = None
    y_test: np.ndarray = None

    @property
    def input_shape(self):
        """Shape of one input: ``(H, W, C)`` for images, ``(L, C)`` for signals."""
        return tuple(self.x_train.shape[1:])

    @property
    def has_test(self):
        """True when the data set carries a test split."""
        return self.x_test is not None and self.y_test is not None

    def train_and_val(self):
        """Train and validation merged into the training split, test as validation.

        What the verdict retrains on: every sample the search could see becomes training
        data, and the held-out test split is what gets scored.
        """
        if not self.has_test:
            raise DataError(f"data set {self.name!r} has no test split; a verdict needs "
                            f"one (build the Dataset with x_test=..., y_test=...)")
        return Dataset(np.concatenate([self.x_train, self.x_val]),
                       np.concatenate([self.y_train, self.y_val]),
                       self.x_test, self.y_test, f"{self.name}:train+val", self.classes)

    def __repr__(self):
        test = self.x_test.shape if self.has_test else None
        return (f"Dataset(name={self.name!r}, classes={self.classes}, "
                f"train={self.x_train.shape}, val={self.x_val.shape}, test={test})")


def stratified_split(y, fractions, seed):
    """Index arrays splitting labels ``y`` stratified by class: one per fraction, and the
    rest first.

    ``stratified_split(y, (0.2, 0.2), seed)`` → ``(train, val, test)`` index arrays, each
    class divided in the same proportions; disjoint, together covering every sample.
    """
    total = sum(float(f) for f in fractions)
    if any(not 0.0 < float(f) < 1.0 for f in fractions) or total >= 1.0:
        raise DataError(f"split fractions {tuple(fractions)} must each lie strictly "
                        f"between 0 and 1 and sum to less than 1")
    rng = np.random.default_rng(seed)
    parts = [[] for _ in range(len(fractions) + 1)]
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        rng.shuffle(idx)
        start = 0
        for k, fraction in enumerate(fractions, 1):
            size = int(round(len(idx) * float(fraction)))
            parts[k].append(idx[start:start + size])
            start += size
        parts[0].append(idx[start:])
    out = [np.sort(np.concatenate(p)) for p in parts]
    out[0] = rng.permutation(out[0])  # training order shuffled once, reproducibly
    return tuple(out)


def standardize(dataset, eps=1e-7):
    """Per-channel standardisation with the training set's mean and standard deviation.

    Statistics come from the training split only (no leak from validation or test); all
    splits are transformed. Returns a new :class:`Dataset`.
    """
    axes = tuple(range(dataset.x_train.ndim - 1))
    mean = dataset.x_train.mean(axis=axes, dtype=np.float64).astype(np.float32)
    std = np.maximum(dataset.x_train.std(axis=axes, dtype=np.float64), eps).astype(np.float32)

    def apply(x):
        return None if x is None else ((x - mean) / std).astype(np.float32)

    return dataclasses.replace(dataset, x_train=apply(dataset.x_train),
                               x_val=apply(dataset.x_val), x_test=apply(dataset.x_test))
