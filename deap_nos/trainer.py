"""K training runs side by side in one compiled step: the population trainer.

Each of the K *slots* holds one run — a genome (as interpreter codes), a peak learning
rate, its weights, batch-norm statistics, optimizer state and step counter — and every
slot trains on the same batch at each step::

    loop n times (one tf.function; the step itself XLA-compiled):
        x, y ← next batch of the shared stream (a seeded permutation per epoch)
        probs ← BatchedConvNet(W[k], stats[k]; x)           for every slot k
        loss ← Σ_k mean_b CE(y, probs[k])                    (runs do not interact)
        δ, state ← interpreter(codes[k], ∇W[k], W[k], state[k], t[k], lr[k])
        W ← W + δ;  t ← t + 1
    → per-step losses and accuracies, [n, K]

A slot is (re)filled with :meth:`PopulationTrainer.assign` — new codes, weights, a
zeroed state, ``t = 0``, another learning rate — which writes into variables: nothing is
retraced or recompiled, whatever the genome. A slot whose loss turns NaN only spoils its
own row; the host reads it and frees the slot.
"""
import numpy as np

from .batched import BatchedConvNet
from .interpreter import Interpreter

__all__ = ["PopulationTrainer"]


class PopulationTrainer:
    """Train K runs of a :class:`BatchedConvNet` at once, each with its own genome.

    Parameters
    ----------
    net : BatchedConvNet
    interpreter : Interpreter
        Built with ``segments=net.segments()`` (``clip_norm`` per weight tensor).
    slots : int
        K, the runs trained side by side.
    x, y : numpy.ndarray
        Training data; batches are drawn in the graph.
    batch_size : int
    seed : int
        Seed of the data order and of dropout.
    jit : bool
        XLA-compile the training step (default).
    """

    def __init__(self, net, interpreter, slots, x, y, batch_size, seed=0, jit=True):
        import tensorflow as tf

        self.net, self.interpreter, self.slots = net, interpreter, int(slots)
        k, p, q = self.slots, net.n_params, net.n_stats
        self.x = tf.constant(np.asarray(x, np.float32))
        self.y = tf.constant(np.asarray(y, np.int32))
        self.n = int(self.x.shape[0])
        self.batch = int(min(batch_size, self.n))
        self.per_epoch = max(1, self.n // self.batch)
        self.seed = int(seed)
        var = lambda value, dtype=tf.float32: tf.Variable(value, dtype=dtype, trainable=False)  # noqa: E731
        self.w, self.stats = var(tf.zeros([k, p])), var(tf.zeros([k, q]))
        self.state = {name: var(tf.zeros(shape))
                      for name, shape in interpreter.state_shapes(k, p).items()}
        self.codes = {name: var(value, tf.as_dtype(value.dtype))
                      for name, value in interpreter.blank(k).items()}
        self.t, self.lr = var(tf.zeros([k])), var(tf.zeros([k]))
        self.position = var(0, tf.int64)
        step = tf.function(self._step, jit_compile=bool(jit), autograph=False)
        self._run = tf.function(lambda n: self._loop(n, step), autograph=False)
        self._predict = tf.function(self._correct, jit_compile=bool(jit), autograph=False)

    # ------------------------------------------------------------------ data
    def batch_indices(self, position):
        """Indices of the training batch at stream ``position`` (for tests and replays)."""
        import tensorflow as tf

        epoch, slot = position // self.per_epoch, position % self.per_epoch
        perm = tf.random.experimental.stateless_shuffle(
            tf.range(self.n, dtype=tf.int32),
            tf.stack([tf.constant(self.seed, tf.int64), tf.cast(epoch, tf.int64)]))
        start = tf.cast(slot, tf.int32) * self.batch
        return perm[start:start + self.batch]

    # ------------------------------------------------------------------ math
    def _step(self, xb, yb, position):
        import keras
        import tensorflow as tf

        w = self.w.read_value()
        with tf.GradientTape() as tape:
            tape.watch(w)
            seed = tf.stack([tf.constant(self.seed + 1, tf.int64), position])
            probs, stats = self.net.forward(w, self.stats.read_value(), xb, True, seed)
            k = tf.shape(probs)[0]
            labels = tf.tile(yb[None], [k, 1])
            per_sample = keras.losses.sparse_categorical_crossentropy(
                tf.reshape(labels, [-1]), tf.reshape(probs, [-1, self.net.classes]))
            losses = tf.reduce_mean(tf.reshape(per_sample, [k, -1]), axis=1)
            total = tf.reduce_sum(losses)
        grads = tape.gradient(total, w)
        state = {name: v.read_value() for name, v in self.state.items()}
        codes = {name: v.read_value() for name, v in self.codes.items()}
        delta, new = self.interpreter.update(codes, grads, w, state, self.t.read_value(),
                                             self.lr.read_value(), seed=seed + 3)
        self.w.assign_add(delta)
        self.stats.assign(stats)
        for name, v in self.state.items():
            v.assign(new[name])
        self.t.assign_add(tf.ones_like(self.t))
        pred = tf.argmax(probs, axis=-1, output_type=tf.int32)
        accs = tf.reduce_mean(tf.cast(tf.equal(pred, labels), tf.float32), axis=1)
        return losses, accs

    def _loop(self, n, step):
        import tensorflow as tf

        losses = tf.TensorArray(tf.float32, size=n)
        accs = tf.TensorArray(tf.float32, size=n)

        def body(i, losses, accs):
            position = self.position.read_value()
            idx = self.batch_indices(position)
            loss, acc = step(tf.gather(self.x, idx), tf.gather(self.y, idx), position)
            self.position.assign_add(1)
            return i + 1, losses.write(i, loss), accs.write(i, acc)

        _, losses, accs = tf.while_loop(lambda i, *_: i < n, body, (0, losses, accs))
        return losses.stack(), accs.stack()

    def _correct(self, x, y):
        import tensorflow as tf

        probs, _ = self.net.forward(self.w.read_value(), self.stats.read_value(), x, False)
        pred = tf.argmax(probs, axis=-1, output_type=tf.int32)
        return tf.reduce_sum(tf.cast(tf.equal(pred, y[None]), tf.int32), axis=1)

    # ------------------------------------------------------------------ host side
    def assign(self, slot, genome_codes, weights, stats, lr):
        """Start a run in ``slot``: its codes, weights and stats, zero state, ``t = 0``."""
        import tensorflow as tf

        for name, v in self.codes.items():
            v[slot].assign(tf.constant(genome_codes[name], v.dtype))
        self.w[slot].assign(tf.constant(weights, tf.float32))
        self.stats[slot].assign(tf.constant(stats, tf.float32))
        for name, v in self.state.items():
            if name == "nodes":
                v[:, slot].assign(tf.zeros(v.shape[2:]))
            else:
                v[slot].assign(tf.zeros(v.shape[1:]))
        self.t[slot].assign(0.0)
        self.lr[slot].assign(float(lr))

    def run(self, n):
        """Train every slot ``n`` steps; per-step losses and accuracies, ``[n, K]`` numpy."""
        import tensorflow as tf

        losses, accs = self._run(tf.constant(int(n)))
        return losses.numpy(), accs.numpy()

    def accuracy(self, val_batches, total):
        """Validation accuracy of every slot (inference mode), ``[K]``."""
        hits = np.zeros(self.slots, np.int64)
        for x, y in val_batches:
            hits += self._predict(x, y).numpy()
        return hits / max(1, total)

    def weights(self, slot):
        """``(weights [P], stats [Q])`` of one slot, numpy."""
        return self.w[slot].numpy(), self.stats[slot].numpy()


def build(base, input_shape, classes, slots, x, y, batch_size, total_steps, warmup_steps,
          hold_steps=0, space=None, seed=0, dropout=0.2, jit=True, **interpreter_options):
    """A :class:`PopulationTrainer` over ConvNet(base), with its interpreter."""
    net = BatchedConvNet(base, input_shape, classes, dropout=dropout)
    interp = Interpreter(space, total_steps=total_steps, warmup_steps=warmup_steps,
                         hold_steps=hold_steps, segments=net.segments(), seed=seed,
                         **interpreter_options)
    return PopulationTrainer(net, interp, slots, x, y, batch_size, seed=seed, jit=jit)
