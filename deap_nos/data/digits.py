"""scikit-learn's bundled 8×8 handwritten digits (1,797 images): no download, seconds to train."""

import numpy as np

from deap_nos.data.dataset import Dataset, stratified_split
from deap_nos.errors import DataError

__all__ = ["digits"]


def digits(validation_fraction=0.2, test_fraction=0.2, seed=0):
    """scikit-learn's bundled 8×8 handwritten digits, split train/validation/test.

    Parameters
    ----------
    validation_fraction, test_fraction : float
        Shares of the 1,797 images held out for validation and for test (stratified).
    seed : int
        Seed of the fixed split.

    Returns
    -------
    Dataset
        float32 images in [0, 1], shape (N, 8, 8, 1); int32 labels, 10 classes.
    """
    from sklearn.datasets import load_digits

    for name, value in (("validation_fraction", validation_fraction),
                        ("test_fraction", test_fraction)):
        if not 0.0 < float(value) < 1.0:
            raise DataError(f"{name}={value} must lie strictly between 0 and 1")
    bunch = load_digits()
    x = (bunch.images.astype(np.float32) / np.float32(16.0))[..., None]
    y = bunch.target.astype(np.int32)
    train, val, test = stratified_split(y, (validation_fraction, test_fraction), seed)
    return Dataset(x[train], y[train], x[val], y[val], "digits", 10, x[test], y[test])
