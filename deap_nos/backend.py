"""The small array namespace every primitive is written against.

A primitive is a plain function such as ``lambda x, B: B.tanh(x)``; ``B`` is a backend
namespace. :class:`NumpyBackend` runs many trajectories at once (the leading axis is the
batch of trajectories: the integrity check's learning rates × signs); the TensorFlow
namespace in :mod:`deap_nos.keras.backend` provides the same names over ``keras.ops``.
A researcher's new operator therefore works in the integrity check, the Keras optimizer
and the plots at once.

Names every backend provides::

    abs sign sqrt exp log tanh arctan arcsinh erf erfc bessel_i1e sigmoid softplus
    cos floor square maximum minimum where clip power norm dropout zeros_like ones_like
    full_like cast pi eps
"""
import numpy as np
from scipy import special

#: The small constant of docs/reference.md (``eps`` in log, recip, div).
EPS = 1e-7


class NumpyBackend:
    """Vectorised numpy namespace.

    Parameters
    ----------
    batch_axes : int
        Number of leading axes that index independent trajectories; ``norm`` reduces
        over the remaining axes only, so ``clip_norm`` normalises each trajectory's
        weight tensor on its own.
    seed : int
        Seed of the generator used by ``dropout`` (fixed, so checks are reproducible).
    """

    name = "numpy"
    pi = np.pi
    eps = EPS

    abs = staticmethod(np.abs)
    sign = staticmethod(np.sign)
    sqrt = staticmethod(np.sqrt)
    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    tanh = staticmethod(np.tanh)
    arctan = staticmethod(np.arctan)
    arcsinh = staticmethod(np.arcsinh)
    cos = staticmethod(np.cos)
    floor = staticmethod(np.floor)
    square = staticmethod(np.square)
    maximum = staticmethod(np.maximum)
    minimum = staticmethod(np.minimum)
    where = staticmethod(np.where)
    clip = staticmethod(np.clip)
    power = staticmethod(np.power)
    zeros_like = staticmethod(np.zeros_like)
    ones_like = staticmethod(np.ones_like)
    full_like = staticmethod(np.full_like)
    erf = staticmethod(special.erf)
    erfc = staticmethod(special.erfc)
    bessel_i1e = staticmethod(special.i1e)
    sigmoid = staticmethod(special.expit)

    def __init__(self, batch_axes=0, seed=0):
        self.batch_axes = batch_axes
        self.rng = np.random.default_rng(seed)

    @staticmethod
    def softplus(x):
        """ln(1 + e^x), computed without overflow."""
        return np.logaddexp(0.0, x)

    @staticmethod
    def cast(x):
        """A float array (float64 in this backend)."""
        return np.asarray(x, dtype=np.float64)

    def norm(self, x):
        """L2 norm over the non-batch axes, kept for broadcasting."""
        axes = tuple(range(self.batch_axes, np.ndim(x)))
        return np.sqrt(np.sum(np.square(x), axis=axes, keepdims=True))

    def dropout(self, x, rate):
        """Inverted dropout: zero entries with probability ``rate``, scale the rest."""
        keep = self.rng.random(np.shape(x)) >= rate
        return np.where(keep, x / (1.0 - rate), 0.0)
