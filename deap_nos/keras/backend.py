"""The Keras array namespace ``B``: the names of :class:`deap_nos.backend.NumpyBackend`
over ``keras.ops``.

Every primitive of the search space is written once against ``B`` (``B.erf``,
``B.where``, ...). This module gives those names a Keras meaning, so a compiled
:class:`~deap_nos.program.Program` runs inside ``keras.optimizers.Optimizer.update_step``
(traced by ``tf.function``, and by XLA under ``jit_compile=True``).

What ``keras.ops`` lacks is filled by a small shim dispatching on the Keras backend:
``bessel_i1e`` (TensorFlow: ``tf.math.special.bessel_i1e``; JAX and torch have their own).
Everything else is ``keras.ops``, so the optimizer is not tied to TensorFlow, although
TensorFlow is the tested backend.
"""
import math

import keras
from keras import ops

from ..backend import EPS

__all__ = ["KerasBackend", "bessel_i1e", "bessel_i1e_poly"]

# Abramowitz & Stegun 9.8.3 / 9.8.4: I1(x)/x on |x| <= 3.75 (t = x/3.75, in t²) and
# √x·e^(−x)·I1(x) on x >= 3.75 (in 3.75/x); relative error < 3e-7 against scipy's i1e.
_I1_SMALL = (0.5, 0.87890594, 0.51498869, 0.15084934, 0.02658733, 0.00301532, 0.00032411)
_I1_LARGE = (0.39894228, -0.03988024, -0.00362018, 0.00163801, -0.01031555, 0.02282967,
             -0.02895312, 0.01787654, -0.00420059)


def _horner(coefficients, x):
    acc = coefficients[-1]
    for c in reversed(coefficients[:-1]):
        acc = acc * x + c
    return acc


def bessel_i1e_poly(x):
    """``i1e`` from polynomials in ``keras.ops`` only (Abramowitz & Stegun 9.8.3–9.8.4).

    Inside an XLA cluster this fuses with its neighbours and costs about half of XLA's
    own ``BesselI1e`` (two Chebyshev series, both evaluated); relative error < 3e-7.
    """
    ax = ops.abs(x)
    small = x * _horner(_I1_SMALL, ops.square(x / 3.75)) * ops.exp(-ax)
    big = ops.maximum(ax, 3.75)
    large = ops.sign(x) * _horner(_I1_LARGE, 3.75 / big) / ops.sqrt(big)
    return ops.where(ax < 3.75, small, large)


def bessel_i1e(x):
    """Exponentially scaled modified Bessel function of the first kind, order 1.

    ``keras.ops`` has no Bessel functions; each Keras backend's own is used, and the
    ``keras.ops`` polynomial approximation on any other backend.
    """
    name = keras.backend.backend()
    if name == "tensorflow":
        import tensorflow as tf
        return tf.math.special.bessel_i1e(x)
    if name == "jax":
        import jax.scipy.special as jsp
        return jsp.i1e(x)
    if name == "torch":
        import torch
        return torch.special.i1e(x)
    return bessel_i1e_poly(x)   # any other backend: the keras.ops polynomial


class KerasBackend:
    """Keras namespace with the names every primitive uses (see :mod:`deap_nos.backend`).

    One weight tensor at a time (no trajectory batch axis), so ``norm`` reduces over
    the whole tensor: ``clip_norm`` normalises each weight tensor on its own, as the
    authors' per-variable update did.

    Parameters
    ----------
    dtype : str
        Float dtype of ``cast`` (the variable's dtype; default ``keras.backend.floatx()``).
    xla : bool
        The namespace runs inside an XLA cluster: use forms that fuse well there
        (``bessel_i1e`` as polynomials).
    seed : int or None
        Seed of the generator that the dropout operations (``drop50`` ...) draw from.
        The generator (a Keras ``SeedGenerator``, which holds a variable) is created here,
        outside any traced function, so the namespace must be built in
        ``Optimizer.build``, not in ``update_step``.
    """

    name = "keras"
    pi = math.pi
    eps = EPS

    abs = staticmethod(ops.abs)
    sign = staticmethod(ops.sign)
    sqrt = staticmethod(ops.sqrt)
    exp = staticmethod(ops.exp)
    log = staticmethod(ops.log)
    tanh = staticmethod(ops.tanh)
    arctan = staticmethod(ops.arctan)
    arcsinh = staticmethod(ops.arcsinh)
    cos = staticmethod(ops.cos)
    floor = staticmethod(ops.floor)
    square = staticmethod(ops.square)
    maximum = staticmethod(ops.maximum)
    minimum = staticmethod(ops.minimum)
    where = staticmethod(ops.where)
    clip = staticmethod(ops.clip)
    power = staticmethod(ops.power)
    zeros_like = staticmethod(ops.zeros_like)
    ones_like = staticmethod(ops.ones_like)
    full_like = staticmethod(ops.full_like)
    erf = staticmethod(ops.erf)
    erfc = staticmethod(ops.erfc)
    sigmoid = staticmethod(ops.sigmoid)

    def __init__(self, dtype=None, seed=None, xla=False):
        self.dtype = dtype or keras.backend.floatx()
        self.xla = bool(xla)
        self.batch_axes = 0
        self._seed = seed
        self._generator = None

    def make_generator(self):
        """Create the dropout seed generator now (call outside traced code)."""
        if self._generator is None:
            self._generator = keras.random.SeedGenerator(self._seed)
        return self._generator

    def bessel_i1e(self, x):
        """The backend's own ``i1e``; the fusable polynomial form when compiled by XLA."""
        return bessel_i1e_poly(x) if self.xla else bessel_i1e(x)

    @staticmethod
    def softplus(x):
        """ln(1 + e^x) (``keras.ops.softplus`` is the overflow-safe form)."""
        return ops.softplus(x)

    def cast(self, x):
        """``x`` as a tensor of this namespace's float dtype."""
        return ops.cast(x, self.dtype)

    @staticmethod
    def norm(x):
        """L2 norm of the whole tensor (a scalar, broadcasting against ``x``)."""
        return ops.sqrt(ops.sum(ops.square(x)))

    def dropout(self, x, rate):
        """Inverted dropout: zero entries with probability ``rate``, scale the rest."""
        generator = self.make_generator()
        keep = keras.random.uniform(ops.shape(x), seed=generator, dtype=x.dtype) >= rate
        return ops.where(keep, x / (1.0 - rate), ops.zeros_like(x))
