"""K training runs side by side in one compiled step: the population trainer.

Each of the K *slots* holds one run — a genome (as interpreter codes), a peak learning
rate, a seed, its weights, batch-norm statistics, optimizer state and step counter::

    loop n times (one XLA-compiled program, the loop included):
        x[k], y[k] ← batch t[k] of run k's stream             for every slot k
        probs ← BatchedConvNet(W[k], stats[k]; x[k])
        loss ← Σ_k mean_b CE(y, probs[k])                    (runs do not interact)
        δ, state ← interpreter(codes[k], ∇W[k], W[k], state[k], t[k], lr[k])
        W ← W + δ;  t ← t + 1
    → per-step losses and accuracies, [n, K]

A run's batches, dropout masks and initial weights follow from its own seed and step
only (batches: B indices drawn with replacement by a counter-based hash of seed, step
and position), never from its slot or its neighbours: a genome gets the same fitness
whatever else is in the batch, so the cache, checkpoints and resume stay reproducible.
A slot is (re)filled with :meth:`PopulationTrainer.assign` — new codes, weights, a
zeroed state, ``t = 0``, another learning rate and seed — which writes into variables:
nothing is retraced or recompiled, whatever the genome. A slot whose loss turns NaN only
spoils its own row; the host reads it and frees the slot.
"""
import numpy as np

from .batched import BatchedConvNet, hash_bits
from .interpreter import Interpreter

__all__ = ["PopulationTrainer", "CHUNK"]

#: Most steps one call of the compiled training loop takes (longer runs are chunked).
CHUNK = 256


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
        Mixed into every run's seed (an evaluator's seed).
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
        self.run_seed = var(tf.zeros([k], tf.int64), tf.int64)
        self._run = tf.function(self._loop, jit_compile=bool(jit), autograph=False)
        self._predict = tf.function(self._correct, jit_compile=bool(jit), autograph=False)
        self._predict_one = tf.function(self._correct_one, jit_compile=bool(jit),
                                        autograph=False)

    # ------------------------------------------------------------------ data
    def batch_indices(self, seeds, t):
        """Training-set indices ``[K, B]`` of each run's batch at its step ``t``."""
        import tensorflow as tf

        pair = tf.stack([tf.cast(seeds, tf.int64), tf.cast(t, tf.int64)], axis=1)
        return tf.cast(hash_bits(pair, [self.batch]) % self.n, tf.int32)

    def run_batch(self, seed, t):
        """The batch ``(x, y)`` that a run seeded ``seed`` trains on at its step ``t``."""
        import tensorflow as tf

        seeds = tf.constant([int(seed) + self.seed * 1000003], tf.int64)
        idx = self.batch_indices(seeds, tf.constant([int(t)], tf.int64))[0]
        return tf.gather(self.x, idx), tf.gather(self.y, idx)

    # ------------------------------------------------------------------ math
    def _step(self):
        import keras
        import tensorflow as tf

        w = self.w.read_value()
        seeds = self.run_seed.read_value() + self.seed * 1000003
        t_int = tf.cast(self.t.read_value(), tf.int64)
        idx = self.batch_indices(seeds, t_int)
        xb, labels = tf.gather(self.x, idx), tf.gather(self.y, idx)
        seed = tf.stack([seeds + 1, t_int], axis=1)
        with tf.GradientTape() as tape:
            tape.watch(w)
            probs, stats = self.net.forward(w, self.stats.read_value(), xb, True, seed)
            k = tf.shape(probs)[0]
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

    def _loop(self, n):
        """``n`` (≤ :data:`CHUNK`) steps in one program — the loop inside XLA, not a
        TensorFlow loop launching a compiled step: ≈ 0.9× the time per step on one CPU
        core at the default preset (benchmarks/bench_step.py), and one launch per chunk
        instead of per step on a GPU. Per-step losses and accuracies fill the first
        ``n`` rows of ``[CHUNK, K]`` buffers (XLA needs static shapes)."""
        import tensorflow as tf

        def body(i, losses, accs):
            loss, acc = self._step()
            return (i + 1, tf.tensor_scatter_nd_update(losses, [[i]], loss[None]),
                    tf.tensor_scatter_nd_update(accs, [[i]], acc[None]))

        empty = tf.zeros([CHUNK, self.slots])
        _, losses, accs = tf.while_loop(lambda i, *_: i < n, body, (0, empty, empty))
        return losses, accs

    def _correct(self, x, y):
        import tensorflow as tf

        probs, _ = self.net.forward(self.w.read_value(), self.stats.read_value(), x, False)
        pred = tf.argmax(probs, axis=-1, output_type=tf.int32)
        return tf.reduce_sum(tf.cast(tf.equal(pred, y[None]), tf.int32), axis=1)

    def _correct_one(self, slot, x, y):
        import tensorflow as tf

        w = tf.gather(self.w.read_value(), slot[None])
        stats = tf.gather(self.stats.read_value(), slot[None])
        probs, _ = self.net.forward(w, stats, x, False)
        pred = tf.argmax(probs[0], axis=-1, output_type=tf.int32)
        return tf.reduce_sum(tf.cast(tf.equal(pred, y), tf.int32))

    # ------------------------------------------------------------------ host side
    def assign(self, slot, genome_codes, weights, stats, lr, seed=0, resume=None):
        """Start a run in ``slot``: its codes, weights, stats and seed, zero state, ``t = 0``;
        or, with ``resume`` (a :meth:`snapshot`), carry on a run where it was taken."""
        import tensorflow as tf

        for name, v in self.codes.items():
            v[slot].assign(tf.constant(genome_codes[name], v.dtype))
        if resume is not None:
            weights, stats = resume["w"], resume["stats"]
        self.w[slot].assign(tf.constant(weights, tf.float32))
        self.stats[slot].assign(tf.constant(stats, tf.float32))
        for name, v in self.state.items():
            row = v[:, slot] if name == "nodes" else v[slot]
            row.assign(tf.zeros(row.shape) if resume is None
                       else tf.constant(resume["state"][name], tf.float32))
        self.t[slot].assign(0.0 if resume is None else float(resume["t"]))
        self.lr[slot].assign(float(lr))
        self.run_seed[slot].assign(int(seed))

    def snapshot(self, slot):
        """Everything of the run in ``slot`` that its next steps read, as numpy (its
        weights, batch-norm statistics, optimizer state and step; not its genome, rate
        or seed): ``assign(..., resume=snapshot)`` carries the run on, step for step."""
        return {"w": self.w[slot].numpy(), "stats": self.stats[slot].numpy(),
                "t": float(self.t[slot].numpy()),
                "state": {name: (v[:, slot] if name == "nodes" else v[slot]).numpy()
                          for name, v in self.state.items()}}

    def run(self, n):
        """Train every slot ``n`` steps; per-step losses and accuracies, ``[n, K]`` numpy."""
        import tensorflow as tf

        sizes = [min(CHUNK, int(n) - start) for start in range(0, int(n), CHUNK)]
        chunks = [(m, self._run(tf.constant(m))) for m in sizes]
        empty = [np.zeros((0, self.slots), np.float32)]
        return (np.concatenate(empty + [losses.numpy()[:m] for m, (losses, _) in chunks]),
                np.concatenate(empty + [accs.numpy()[:m] for m, (_, accs) in chunks]))

    def accuracy(self, val_batches, total):
        """Validation accuracy of every slot (inference mode), ``[K]``."""
        hits = np.zeros(self.slots, np.int64)
        for x, y in val_batches:
            hits += self._predict(x, y).numpy()
        return hits / max(1, total)

    def accuracy_of(self, slot, val_batches, total):
        """Validation accuracy of one slot: runs reach their validation points at
        different steps, so each pays for its own pass only (not K passes)."""
        import tensorflow as tf

        index = tf.constant(int(slot), tf.int32)
        hits = sum(int(self._predict_one(index, x, y)) for x, y in val_batches)
        return hits / max(1, total)

    def weights(self, slot):
        """``(weights [P], stats [Q])`` of one slot, numpy."""
        return self.w[slot].numpy(), self.stats[slot].numpy()


def build(base, input_shape, classes, slots, x, y, batch_size, total_steps, warmup_steps,
          hold_steps=0, space=None, seed=0, dropout=0.2, jit=True, **interpreter_options):
    """A :class:`PopulationTrainer` over ConvNet(base), with its interpreter."""
    net = BatchedConvNet(base, input_shape, classes, dropout=dropout)
    # a space with its own batched interpreter (termmix) builds it; else the graph one
    make = getattr(space, "interpreter", None)
    make = make if callable(make) else lambda **kw: Interpreter(space, **kw)
    interp = make(total_steps=total_steps, warmup_steps=warmup_steps,
                  hold_steps=hold_steps, segments=net.segments(), seed=seed,
                  **interpreter_options)
    return PopulationTrainer(net, interp, slots, x, y, batch_size, seed=seed, jit=jit)
