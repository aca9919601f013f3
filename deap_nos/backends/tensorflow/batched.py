"""The surrogate ConvNet as one batched network over K independent weight sets.

:func:`deap_nos.backends.tensorflow.surrogate.convnet` is one Keras model; a population of K training runs
would be K models and K programs. :class:`BatchedConvNet` is the same network written
once over a leading run axis: every run's trainable weights are one row of a ``[K, P]``
matrix (the layout of the Keras model's ``trainable_variables``, flattened), its batch
norm statistics one row of ``[K, Q]``. Convolutions are patches × a per-run kernel
(``einsum``, a batched matrix product), batch norm is per run, and every run reads the
same input batch. Layout, padding (``same``), batch norm (momentum 0.99, ε = 10⁻³),
swish, pooling, dropout and the loss are Keras', so a row trains as the Keras model
does (tests hold the two to each other).

Inputs of rank 3 ``(H, W, C)`` give the 2-D network, rank 2 ``(L, C)`` the 1-D one.
"""
import math

import numpy as np

from ...errors import NOSError

__all__ = ["BatchedConvNet"]

_BN_MOMENTUM, _BN_EPS = 0.99, 1e-3


def _glorot(rng, shape, fan_in, fan_out):
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(np.float32)


class BatchedConvNet:
    """ConvNet(base) (docs/reference.md §8) for K runs at once.

    Parameters
    ----------
    base : int
        Width of the first convolution (then 2·base, 4·base).
    input_shape : tuple
        ``(H, W, C)`` images or ``(L, C)`` signals.
    classes : int
    dropout : float
        Rate before the head (paper: 0.2).
    """

    def __init__(self, base, input_shape, classes=10, dropout=0.2):
        if int(base) < 1 or int(classes) < 2 or len(input_shape) not in (2, 3):
            raise NOSError(f"BatchedConvNet needs base >= 1, classes >= 2 and an input "
                           f"shape (H, W, C) or (L, C); got base={base}, classes={classes}, "
                           f"input_shape={input_shape}")
        self.base, self.classes, self.dropout = int(base), int(classes), float(dropout)
        self.input_shape = tuple(int(s) for s in input_shape)
        self.ndim = len(self.input_shape) - 1
        taps = 3 ** self.ndim
        self.trainable, self.stats, c_in = [], [], self.input_shape[-1]
        for i, c_out in enumerate([self.base, 2 * self.base, 4 * self.base]):
            self.trainable += [(f"conv{i + 1}", (3,) * self.ndim + (c_in, c_out),
                                taps * c_in, taps * c_out), (f"bias{i + 1}", (c_out,), 0, 0),
                               (f"gamma{i + 1}", (c_out,), 0, 0), (f"beta{i + 1}", (c_out,), 0, 0)]
            self.stats += [(f"mean{i + 1}", (c_out,)), (f"var{i + 1}", (c_out,))]
            c_in = c_out
        self.trainable += [("dense", (c_in, self.classes), c_in, self.classes),
                           ("dense_bias", (self.classes,), 0, 0)]
        self.sizes = [int(np.prod(s)) for _, s, _, _ in self.trainable]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)])
        self.n_params = int(self.offsets[-1])
        self.n_stats = sum(int(np.prod(s)) for _, s in self.stats)

    def segments(self):
        """For each of the P weights, the index of its tensor (``clip_norm`` per tensor)."""
        return np.repeat(np.arange(len(self.sizes)), self.sizes).astype(np.int32)

    # ------------------------------------------------------------------ weights
    def init(self, seed):
        """One run's initial ``(weights [P], stats [Q])``: Keras' initialisers, seeded."""
        rng = np.random.default_rng(seed)
        parts = []
        for name, shape, fan_in, fan_out in self.trainable:
            if fan_in:
                parts.append(_glorot(rng, shape, fan_in, fan_out).ravel())
            else:
                parts.append(np.full(int(np.prod(shape)), name.startswith("gamma"), np.float32))
        stats = [np.full(s, name.startswith("var"), np.float32) for name, s in self.stats]
        return np.concatenate(parts), np.concatenate(stats)

    def from_keras(self, weights):
        """``(weights [P], stats [Q])`` from a Keras ConvNet's ``get_weights()``."""
        w, s = [], []
        for i in range(3):
            kernel, bias, gamma, beta, mean, var = weights[6 * i:6 * i + 6]
            w += [kernel, bias, gamma, beta]
            s += [mean, var]
        w += weights[18:20]
        return (np.concatenate([np.ravel(a) for a in w]).astype(np.float32),
                np.concatenate([np.ravel(a) for a in s]).astype(np.float32))

    def to_keras(self, w, s):
        """Inverse of :meth:`from_keras`: the list ``set_weights()`` takes."""
        tensors = self.unflatten(np.asarray(w))
        stats, out, at = np.asarray(s), [], 0
        for i in range(3):
            c = self.stats[2 * i][1][0]
            out += tensors[4 * i:4 * i + 4] + [stats[at:at + c], stats[at + c:at + 2 * c]]
            at += 2 * c
        return out + tensors[12:14]

    def unflatten(self, w):
        """The weight tensors of flat ``w`` (``[P]`` numpy, or ``[K, P]`` tensors)."""
        lead = tuple(w.shape[:-1])
        out = []
        for (name, shape, _, _), a, b in zip(self.trainable, self.offsets, self.offsets[1:]):
            piece = w[..., int(a):int(b)]
            out.append(piece.reshape(lead + shape) if isinstance(w, np.ndarray)
                       else _reshape(piece, lead + shape))
        return out

    # ------------------------------------------------------------------ forward
    def forward(self, w, stats, x, training, seed=None):
        """Class probabilities ``[K, B, classes]`` and the new stats ``[K, Q]``.

        ``x`` is one batch shared by every run, ``[B, *input_shape]``, or one batch per
        run, ``[K, B, *input_shape]``; ``seed`` ``[K, 2]`` int64 (each run's seed and
        step) draws the dropout masks (training only), so a run's masks do not depend on
        its slot or its neighbours.
        """
        import tensorflow as tf

        tensors = self.unflatten(w)
        h, new_stats, at = None, [], 0
        for i, stride in enumerate((1, 2, 2)):
            kernel, bias, gamma, beta = tensors[4 * i:4 * i + 4]
            c = int(bias.shape[-1])
            shared = i == 0 and x.shape.rank == self.ndim + 2
            h = self._conv(x if i == 0 else h, kernel, stride, shared=shared) \
                + _expand(bias, self.ndim + 1)
            mean_old, var_old = stats[:, at:at + c], stats[:, at + c:at + 2 * c]
            at += 2 * c
            if training:
                axes = list(range(1, self.ndim + 2))
                mean, var = tf.nn.moments(h, axes)
                new_stats += [mean_old * _BN_MOMENTUM + mean * (1.0 - _BN_MOMENTUM),
                              var_old * _BN_MOMENTUM + var * (1.0 - _BN_MOMENTUM)]
            else:
                mean, var = mean_old, var_old
            e = self.ndim + 1
            h = tf.nn.batch_normalization(h, _expand(mean, e), _expand(var, e),
                                          _expand(beta, e), _expand(gamma, e), _BN_EPS)
            h = silu(h)
        h = tf.reduce_mean(h, axis=list(range(2, self.ndim + 2)))      # [K, B, C]
        if training and self.dropout > 0:
            keep = hash_uniform(seed, tf.shape(h)[1:]) >= self.dropout
            h = tf.where(keep, h / (1.0 - self.dropout), tf.zeros_like(h))
        logits = tf.einsum("kbc,kco->kbo", h, tensors[12]) + tensors[13][:, None, :]
        probs = tf.nn.softmax(logits)
        new = tf.concat(new_stats, axis=1) if training else stats
        return probs, new

    def _conv(self, h, kernel, stride, shared):
        """'same' 3-tap (or 3×3) convolution of each run's input with its own kernel."""
        import tensorflow as tf

        spatial = list(h.shape[(1 if shared else 2):-1])
        pads = [_same_pad(n, stride) for n in spatial]
        lead = 1 if shared else 2
        h = tf.pad(h, [[0, 0]] * lead + [list(p) for p in pads] + [[0, 0]])
        outs = [(n + stride - 1) // stride for n in spatial]
        taps = []
        for offset in np.ndindex(*(3,) * self.ndim):
            index = [slice(None)] * lead + [slice(o, o + stride * (m - 1) + 1, stride)
                                            for o, m in zip(offset, outs)]
            taps.append(h[tuple(index)])
        patches = tf.concat(taps, axis=-1)
        k_flat = tf.reshape(kernel, [tf.shape(kernel)[0], -1, kernel.shape[-1]])
        letters = "xy"[:self.ndim]
        if shared:
            return tf.einsum(f"b{letters}i,kio->kb{letters}o", patches, k_flat)
        return tf.einsum(f"kb{letters}i,kio->kb{letters}o", patches, k_flat)

    def flops(self, batch):
        """Multiply-adds ×2 of one training step of one run (forward + backward ≈ 3×)."""
        spatial, c_in, total = list(self.input_shape[:-1]), self.input_shape[-1], 0
        for c_out, stride in [(self.base, 1), (2 * self.base, 2), (4 * self.base, 2)]:
            spatial = [(n + stride - 1) // stride for n in spatial]
            total += 2 * int(np.prod(spatial)) * (3 ** self.ndim) * c_in * c_out
            c_in = c_out
        total += 2 * c_in * self.classes
        return 3 * total * int(batch)


def silu(x):
    """``x · sigmoid(x)`` (swish), with the sigmoid written as ``(1 + tanh(x/2)) / 2``.

    The same function as ``tf.nn.silu`` (gradients agree to ~1e-6 relative), but XLA's
    CPU backend evaluates ``tanh`` as one rational polynomial where the logistic costs
    an exponential and a division, forward and backward, on every activation: the
    training step of ConvNet(16) at batch 256 takes ≈ 0.8× the time
    (benchmarks/bench_step.py).
    """
    import tensorflow as tf

    return x * (0.5 + 0.5 * tf.tanh(0.5 * x))


def hash_uniform(seed, shape):
    """Uniform [0, 1) numbers ``[K, *shape]`` from each row's ``seed`` ``[K, 2]`` (int64).

    A counter-based hash (murmur3's finaliser over seed, step and element index),
    vectorised over runs: every run draws its own stream in one op, under XLA too.
    """
    import tensorflow as tf

    return tf.cast(hash_bits(seed, shape), tf.float32) / 4294967296.0


def hash_bits(seed, shape):
    """32 random bits (as int64) per element of ``[K, *shape]``; see :func:`hash_uniform`."""
    import tensorflow as tf

    mask = tf.constant(0xFFFFFFFF, tf.int64)
    count = tf.reduce_prod(shape)
    index = tf.reshape(tf.range(tf.cast(count, tf.int64), dtype=tf.int64),
                       tf.concat([[1], shape], 0))
    seed = tf.cast(seed, tf.int64)
    lead = tf.concat([[tf.shape(seed)[0]], tf.ones_like(shape)], 0)
    a = tf.reshape(seed[:, 0], lead) & mask
    b = tf.reshape(seed[:, 1], lead) & mask
    h = (a * 0x9E3779B1 + b * 0x85EBCA77 + index * 0xC2B2AE3D + 0x27D4EB2F) & mask
    for shift, mult in ((16, 0x85EBCA6B), (13, 0xC2B2AE35)):
        h = ((h ^ tf.bitwise.right_shift(h, shift)) * mult) & mask
    return h ^ tf.bitwise.right_shift(h, 16)


def _same_pad(n, stride):
    total = max(((n + stride - 1) // stride - 1) * stride + 3 - n, 0)
    return total // 2, total - total // 2


def _expand(v, dims):
    """``[K, C]`` → ``[K, 1, …, 1, C]`` to broadcast over batch and space."""
    import tensorflow as tf

    return tf.reshape(v, [tf.shape(v)[0]] + [1] * dims + [v.shape[-1]])


def _reshape(t, shape):
    import tensorflow as tf

    return tf.reshape(t, [tf.shape(t)[0]] + list(shape[1:]))
