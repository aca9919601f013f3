"""Training-time input: the paper's augmentation and a seeded ``tf.data`` pipeline.

TensorFlow is imported inside the functions, so importing this module stays cheap.
"""

import numpy as np

from deap_nos.errors import DataError

__all__ = ["augment_batch", "train_pipeline"]


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
