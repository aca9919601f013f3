"""The array namespace ``B`` over ``jax.numpy``, and a counter-based hash for randomness.

The names of :class:`deap_nos.backend.NumpyBackend` (every primitive of a search space
is written against them) in JAX, so the genome interpreter, :mod:`deap_nos.optax` and a
researcher's own operator run in a JAX program. :func:`hash_bits` is the murmur3
finaliser of :func:`deap_nos.backends.tensorflow.batched.hash_bits` in uint32 arithmetic: the same bits, so
the JAX trainer draws the TensorFlow trainer's batches and dropout masks.
"""
import math

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
import numpy as np

from ...backend import EPS

__all__ = ["JaxBackend", "hash_bits", "hash_uniform"]

_MASK = 0xFFFFFFFF


def hash_bits(a, b, shape):
    """32 random bits (uint32) per element of *shape* from the seed pair ``(a, b)``
    (scalars, taken modulo 2³²): murmur3's finaliser over ``a``, ``b`` and the index."""
    a = jnp.asarray(a).astype(jnp.uint32)
    b = jnp.asarray(b).astype(jnp.uint32)
    count = int(math.prod(shape)) if shape else 1
    index = jnp.arange(count, dtype=jnp.uint32).reshape(shape)
    h = a * jnp.uint32(0x9E3779B1) + b * jnp.uint32(0x85EBCA77) \
        + index * jnp.uint32(0xC2B2AE3D) + jnp.uint32(0x27D4EB2F)
    for shift, mult in ((16, 0x85EBCA6B), (13, 0xC2B2AE35)):
        h = (h ^ (h >> shift)) * jnp.uint32(mult)
    return h ^ (h >> 16)


def hash_uniform(a, b, shape):
    """Uniform [0, 1) float32 numbers of *shape* from the seed pair ``(a, b)``."""
    return hash_bits(a, b, shape).astype(jnp.float32) / 4294967296.0


def _contiguous_ranges(segments):
    """``[(start, stop), ...]`` of each tensor where *segments* lists the tensors in
    order, each weight beside the others of its tensor (a flat weight vector); else None."""
    if segments is None:
        return None
    seg = np.asarray(segments)
    if seg.ndim != 1 or seg.size == 0 or np.any(np.diff(seg) < 0) or \
            not np.array_equal(np.unique(seg), np.arange(int(seg[-1]) + 1)):
        return None
    stops = np.flatnonzero(np.diff(seg)) + 1
    bounds = [0] + stops.tolist() + [int(seg.size)]
    return list(zip(bounds[:-1], bounds[1:]))


class JaxBackend:
    """``jax.numpy`` namespace with the names every primitive uses.

    Parameters
    ----------
    segments : array of int, optional
        For each weight of a flat vector, the tensor it belongs to: ``norm`` of a vector
        of that length is then each tensor's own norm (``clip_norm`` per tensor). None:
        the norm of the whole array.
    key : jax PRNG key, optional
        Where ``dropout`` draws from (each call folds in its own counter).
    """

    name = "jax"
    pi = math.pi
    eps = EPS

    abs = staticmethod(jnp.abs)
    sign = staticmethod(jnp.sign)
    sqrt = staticmethod(jnp.sqrt)
    exp = staticmethod(jnp.exp)
    log = staticmethod(jnp.log)
    tanh = staticmethod(jnp.tanh)
    arctan = staticmethod(jnp.arctan)
    arcsinh = staticmethod(jnp.arcsinh)
    cos = staticmethod(jnp.cos)
    floor = staticmethod(jnp.floor)
    square = staticmethod(jnp.square)
    maximum = staticmethod(jnp.maximum)
    minimum = staticmethod(jnp.minimum)
    where = staticmethod(jnp.where)
    clip = staticmethod(jnp.clip)
    power = staticmethod(jnp.power)
    zeros_like = staticmethod(jnp.zeros_like)
    ones_like = staticmethod(jnp.ones_like)
    full_like = staticmethod(jnp.full_like)
    erf = staticmethod(jsp.erf)
    erfc = staticmethod(jsp.erfc)
    bessel_i1e = staticmethod(jsp.i1e)
    sigmoid = staticmethod(jax.nn.sigmoid)
    softplus = staticmethod(jax.nn.softplus)

    def __init__(self, segments=None, key=None):
        self.batch_axes = 0
        self.segments = None if segments is None else jnp.asarray(segments, jnp.int32)
        self.n_segments = 0 if segments is None else int(max(segments)) + 1
        self.ranges = _contiguous_ranges(segments)
        self.key = jax.random.PRNGKey(0) if key is None else key
        self.calls = 0

    @staticmethod
    def cast(x):
        """``x`` as a float32 array."""
        return jnp.asarray(x, jnp.float32)

    def norm(self, x):
        """L2 norm: of each weight tensor when ``x`` is a flat weight vector, else of ``x``."""
        if self.segments is not None and jnp.ndim(x) == 1 \
                and x.shape[0] == self.segments.shape[0]:
            if self.ranges is not None:   # static slices: no scatter (atomics on a GPU)
                return jnp.concatenate([
                    jnp.broadcast_to(jnp.sqrt(jnp.sum(jnp.square(x[a:b]))), (b - a,))
                    for a, b in self.ranges])
            sums = jax.ops.segment_sum(jnp.square(x), self.segments, self.n_segments)
            return jnp.sqrt(sums)[self.segments]
        return jnp.sqrt(jnp.sum(jnp.square(x)))

    def dropout(self, x, rate):
        """Inverted dropout from ``key`` (a new stream per call)."""
        self.calls += 1
        keep = jax.random.uniform(jax.random.fold_in(self.key, self.calls),
                                  jnp.shape(x)) >= rate
        return jnp.where(keep, x / (1.0 - rate), jnp.zeros_like(x))
