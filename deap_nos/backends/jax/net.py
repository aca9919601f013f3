"""The surrogate ConvNet in JAX, for one run; the trainer maps it over K runs.

The layout, initialisation and Keras conversions are :class:`deap_nos.backends.tensorflow.batched.
BatchedConvNet`'s (weights ``[P]``, batch-norm statistics ``[Q]`` flat, in the Keras
model's order); the arithmetic is the TensorFlow network's, written for one run: the
convolutions are patches × kernel (a matrix product; under ``jax.vmap`` a batched one,
which runs several times faster on a GPU than a vmapped ``lax.conv``), batch norm
(momentum 0.99, ε = 10⁻³), swish, global average pooling, dropout and the softmax head.
Inputs of rank 3 ``(H, W, C)`` give the 2-D network, rank 2 ``(L, C)`` the 1-D one.

``precision="bfloat16"`` (a GPU speed option, off by default) keeps the activations and
the convolution operands in bfloat16 — the step is bound by the memory passes of batch
norm and swish over the activations, not by the products, so halving their bytes is what
pays — while weights, their gradients, the optimizer's state, the batch-norm statistics
(one pass, ``E[h²] − E[h]²`` in float32) and the head stay in float32.
"""
import itertools

import jax.numpy as jnp

from ...errors import NOSError
from .. import PRECISIONS
from ..tensorflow.batched import BatchedConvNet, _same_pad
from .namespace import hash_uniform

__all__ = ["JaxConvNet"]

_BN_MOMENTUM, _BN_EPS = 0.99, 1e-3


def _moments(h, axes, one_pass=False):
    """Batch mean and (biased) variance of ``h`` over *axes*, in float32: two passes
    (Keras' form), or one (``E[h²] − E[h]²``, both sums in one read of ``h``)."""
    h = h.astype(jnp.float32)
    mean = jnp.mean(h, axis=axes)
    if one_pass:
        return mean, jnp.maximum(jnp.mean(jnp.square(h), axis=axes) - jnp.square(mean), 0.0)
    return mean, jnp.mean(jnp.square(h - mean), axis=axes)


def silu(x):
    """Swish as ``x · (1 + tanh(x/2)) / 2`` (the TensorFlow network's form)."""
    return x * (0.5 + 0.5 * jnp.tanh(0.5 * x))


class JaxConvNet(BatchedConvNet):
    """:class:`~deap_nos.backends.tensorflow.batched.BatchedConvNet` with a JAX forward pass of one run.

    ``precision``: ``"float32"`` (the TensorFlow network's arithmetic) or ``"bfloat16"``
    (activations and convolution operands; see the module's docstring).
    """

    def __init__(self, base, input_shape, classes=10, dropout=0.2, precision="float32"):
        if precision not in PRECISIONS:
            raise NOSError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        super().__init__(base, input_shape, classes, dropout)
        self.precision = precision

    def forward_one(self, w, stats, x, training, seed=None):
        """``(probs [B, classes], new stats [Q])`` of one run on the batch ``x``.

        ``seed`` ``(a, b)`` (uint32 scalars: the run's seed + 1 and its step) draws the
        dropout mask, as the TensorFlow network does.
        """
        tensors = self.unflatten_one(w)
        low = self.precision == "bfloat16"
        dtype = jnp.bfloat16 if low else jnp.float32
        h, new_stats, at = x.astype(dtype), [], 0
        axes = tuple(range(self.ndim + 1))
        for i, stride in enumerate((1, 2, 2)):
            kernel, bias, gamma, beta = tensors[4 * i:4 * i + 4]
            c = bias.shape[-1]
            h = self._conv(h, kernel.astype(dtype), stride) + bias.astype(dtype)
            mean_old, var_old = stats[at:at + c], stats[at + c:at + 2 * c]
            at += 2 * c
            if training:
                mean, var = _moments(h, axes, one_pass=low)
                new_stats += [mean_old * _BN_MOMENTUM + mean * (1.0 - _BN_MOMENTUM),
                              var_old * _BN_MOMENTUM + var * (1.0 - _BN_MOMENTUM)]
            else:
                mean, var = mean_old, var_old
            h = (h.astype(jnp.float32) - mean) * (gamma / jnp.sqrt(var + _BN_EPS)) + beta
            h = silu(h).astype(dtype)
        h = jnp.mean(h.astype(jnp.float32), axis=tuple(range(1, self.ndim + 1)))  # [B, C]
        if training and self.dropout > 0:
            keep = hash_uniform(seed[0], seed[1], h.shape) >= self.dropout
            h = jnp.where(keep, h / (1.0 - self.dropout), 0.0)
        logits = h @ tensors[12] + tensors[13]
        probs = jnp.exp(logits - jnp.max(logits, axis=-1, keepdims=True))
        probs = probs / jnp.sum(probs, axis=-1, keepdims=True)
        return probs, (jnp.concatenate(new_stats) if training else stats)

    def unflatten_one(self, w):
        """The weight tensors of one run's flat ``w``."""
        return [w[int(a):int(b)].reshape(shape) for (_, shape, _, _), a, b
                in zip(self.trainable, self.offsets, self.offsets[1:])]

    def _conv(self, h, kernel, stride):
        """'same' 3-tap (3×3) convolution of ``h`` ``[B, *space, C]``: patches × kernel."""
        spatial = h.shape[1:-1]
        pads = [_same_pad(n, stride) for n in spatial]
        h = jnp.pad(h, [(0, 0)] + pads + [(0, 0)])
        outs = [(n + stride - 1) // stride for n in spatial]
        taps = []
        for offset in itertools.product(range(3), repeat=self.ndim):
            index = (slice(None),) + tuple(slice(o, o + stride * (m - 1) + 1, stride)
                                           for o, m in zip(offset, outs))
            taps.append(h[index])
        patches = jnp.concatenate(taps, axis=-1)
        return patches @ kernel.reshape(-1, kernel.shape[-1])
