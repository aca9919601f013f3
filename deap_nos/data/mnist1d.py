"""MNIST-1D: the default benchmark, generated on this machine — nothing is downloaded.

The ``mnist1d`` package (Greydanus & Steinbach, Apache-2.0) draws each sample from one of
ten 1-D digit templates, then pads, translates, scales, shears and adds correlated and
i.i.d. noise, down to a 40-sample signal. Small enough to train a ConvNet in seconds on
a CPU, hard enough that optimizers differ (see benchmarks/bench_signal.py).

Generation takes seconds, so the samples are cached once per setting as ``.npz`` under
the user's cache folder (``$DEAP_NOS_CACHE``, else ``$XDG_CACHE_HOME/deap-nos``, else
``~/.cache/deap-nos``). An unreadable cache file is regenerated with a warning. The
generator seeds Python's and numpy's global random states; :func:`mnist1d` restores the
caller's states afterwards, so loading data never perturbs a search's random stream.
"""

import hashlib
import json
import os
import tempfile
import warnings

import numpy as np

from deap_nos.data.dataset import Dataset, stratified_split
from deap_nos.errors import DataError
from deap_nos.rng import kept_random_state

__all__ = ["mnist1d", "cache_dir", "generate_mnist1d"]

#: Length of one signal (the package's ``final_seq_length``).
SIGNAL_LENGTH = 40


def cache_dir():
    """The folder generated data sets are cached in (created on demand)."""
    base = os.environ.get("DEAP_NOS_CACHE")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "deap-nos")
    return base


def generate_mnist1d(samples, seed):
    """``(x, y)``: ``samples`` MNIST-1D signals ``(N, 40)`` float32 and labels int32.

    Calls ``mnist1d.data.make_dataset`` with the package's default transformation
    settings; the caller's ``random`` and ``numpy.random`` states are restored.
    """
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as exc:
        raise DataError("the default data set needs the 'mnist1d' package: "
                        "pip install mnist1d (deap-nos installs it)") from exc
    args = get_dataset_args()
    args.num_samples, args.seed, args.train_split = int(samples), int(seed), 1.0
    with kept_random_state():
        raw = make_dataset(args)
    return np.asarray(raw["x"], np.float32), np.asarray(raw["y"], np.int32)


def _cache_path(samples, seed, directory):
    key = json.dumps({"samples": int(samples), "seed": int(seed), "length": SIGNAL_LENGTH,
                      "format": 1}, sort_keys=True)
    tag = hashlib.sha256(key.encode()).hexdigest()[:12]
    return os.path.join(directory or cache_dir(), f"mnist1d-{samples}-{seed}-{tag}.npz")


def _read_cache(path, samples):
    """The cached ``(x, y)``, or None when the file is missing or unreadable (warned)."""
    if not os.path.exists(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            x, y = stored["x"], stored["y"]
        if x.shape != (samples, SIGNAL_LENGTH) or y.shape != (samples,):
            raise ValueError(f"shapes {x.shape}, {y.shape}")
        return x.astype(np.float32), y.astype(np.int32)
    except Exception as exc:  # truncated, not an npz, wrong content: regenerate
        warnings.warn(f"the MNIST-1D cache file {path} is unreadable ({type(exc).__name__}: "
                      f"{exc}); regenerating it", RuntimeWarning, stacklevel=3)
        return None


def _write_cache(path, x, y):
    """Write atomically (temporary file, then rename): a kill never leaves half a file."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".npz.tmp")
        with os.fdopen(fd, "wb") as stream:
            np.savez(stream, x=x, y=y)
        os.replace(tmp, path)
    except OSError as exc:  # a read-only home still gets its data, just not cached
        warnings.warn(f"cannot cache MNIST-1D at {path} ({exc}); it will be regenerated "
                      f"next time", RuntimeWarning, stacklevel=3)


def mnist1d(samples=12000, validation_fraction=1 / 6, test_fraction=1 / 6, seed=0,
            cache=None):
    """MNIST-1D signals split train/validation/test (stratified, disjoint).

    Parameters
    ----------
    samples : int
        How many signals to generate (all ten classes equally often).
    validation_fraction, test_fraction : float
        Shares held out for validation (the search's fitness) and test (the verdict).
    seed : int
        Seed of the generator and of the split.
    cache : str, optional
        Cache folder (default :func:`cache_dir`).

    Returns
    -------
    Dataset
        float32 signals, shape (N, 40, 1); int32 labels, 10 classes.
    """
    samples = int(samples)
    if samples < 100:
        raise DataError(f"samples={samples}: MNIST-1D needs at least 100 signals")
    path = _cache_path(samples, seed, cache)
    stored = _read_cache(path, samples)
    if stored is None:
        stored = generate_mnist1d(samples, seed)
        _write_cache(path, *stored)
    x, y = stored
    train, val, test = stratified_split(y, (validation_fraction, test_fraction), seed)
    x = x[..., None]
    return Dataset(x[train], y[train], x[val], y[val], "mnist1d", 10, x[test], y[test])
