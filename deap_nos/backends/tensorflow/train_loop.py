"""One model, one optimizer, one compiled training loop: the single evaluation path.

:class:`TrainLoop` runs k training steps of a Keras model inside one ``tf.function``
(a graph while-loop drawing its own seeded batches) and validates; the helpers reset an
optimizer between runs, set its swept peak learning rate, seed a run and summarise it.
:class:`~deap_nos.evaluation.evaluator.SurrogateEvaluator` builds its protocol on them.
"""

import hashlib
import math

import numpy as np

__all__ = ["TrainLoop", "graph_optimizer_factory", "sub_seed", "reset_optimizer",
           "set_peak_learning_rate", "configure_devices", "seed_everything", "tail_mean",
           "fmt_lr", "release_gradient_functions"]

def sub_seed(seed, index):
    """Seed of repeat ``index`` derived from a genome seed (index 0 is the seed itself)."""
    if index == 0:
        return seed
    digest = hashlib.sha256(f"{seed}\x00repeat{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % (2 ** 31 - 1)


def graph_optimizer_factory(genome, learning_rate, total_steps, warmup_steps, hold_steps,
                            space=None, semantics="default"):
    """The default optimizer factory: ``deap_nos.keras.GraphOptimizer`` (imported lazily).

    Built with ``jit_update=False``: an XLA-compiled update is one compile per weight
    shape and genome, and TensorFlow keeps every XLA executable for the life of the
    process (its compilation cache has no eviction) — ≈ 10 MB per evaluation on the
    quick preset (issue 22). On a CPU the update is ~1 % of a training step, so the
    fusion saves nothing worth that (benchmarks/RESULTS.md, "Keras optimizer").
    """
    from deap_nos.keras import GraphOptimizer

    return GraphOptimizer(genome, learning_rate=learning_rate, total_steps=total_steps,
                          warmup_steps=warmup_steps, hold_steps=hold_steps, space=space,
                          semantics=semantics, jit_update=False)


def reset_optimizer(opt):
    """Zero an optimizer's state and step counter, keeping its (peak) learning rate.

    Calls ``opt.reset()`` when the optimizer has one (``GraphOptimizer``); otherwise
    assigns zeros to every variable in ``opt.variables`` except the learning-rate
    variable (a plain Keras optimizer: Adam's moments, SGD's momentum, ``iterations``).
    """
    reset = getattr(opt, "reset", None)
    if callable(reset):
        reset()
        return
    keep = getattr(opt, "_learning_rate", None)
    for var in opt.variables:
        if var is keep:
            continue
        var.assign(np.zeros(tuple(var.shape), dtype=var.dtype))


def set_peak_learning_rate(opt, lr):
    """Assign the peak lr: a schedule's ``peak_variable`` when it has one, else the lr."""
    peak = getattr(getattr(opt, "_learning_rate", None), "peak_variable", None)
    if peak is not None:
        peak.assign(float(lr))
    else:
        opt.learning_rate = float(lr)


_DEVICES_CONFIGURED = False


def configure_devices():
    """Let TensorFlow grow GPU memory on demand (workers share a GPU); CPU otherwise."""
    global _DEVICES_CONFIGURED
    if _DEVICES_CONFIGURED:
        return
    import tensorflow as tf

    # Each genome traces its own training step: TensorFlow's retracing warning is expected.
    tf.get_logger().setLevel("ERROR")
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except (RuntimeError, ValueError):  # already initialised: keep its setting
            pass
    _DEVICES_CONFIGURED = True


def seed_everything(seed):
    """Seed Python, numpy and TensorFlow/Keras from one integer."""
    import keras

    keras.utils.set_random_seed(int(seed))


def tail_mean(values, fraction=0.1):
    """Mean of the last ``fraction`` of ``values`` (at least one): a run's final level."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return 0.0
    k = max(1, int(math.ceil(values.size * fraction)))
    return float(values[-k:].mean())


def fmt_lr(lr):
    return f"{lr:g}"


def _gradient_override_names(graph):
    """Gradient-override names (``_gradient_op_type``) of the ops of ``graph`` and of
    every function it calls (while-loop bodies, nested ``tf.function`` s)."""
    graph_def = graph.as_graph_def()
    nodes = list(graph_def.node)
    for function in graph_def.library.function:
        nodes.extend(function.node_def)
    return {node.attr["_gradient_op_type"].s.decode() for node in nodes
            if "_gradient_op_type" in node.attr}


def release_gradient_functions(graph):
    """Unregister the custom gradients that tracing ``graph`` registered; returns how many.

    Every trace of a ``tf.custom_gradient`` in graph mode registers its gradient function
    under a fresh name in TensorFlow's process-wide gradient registry and never removes
    it; that function holds the traced graph, and through it the compiled function and
    every function it calls. Keras' TensorFlow optimizers trace one per
    ``apply`` (the single-replica all-reduce of the gradients), so a process that traces
    a training step per genome kept every genome's graphs: ≈ 20 MB per evaluation
    (issue 22). The registry is only read while a gradient is taken, which for our
    steps happens inside the trace; once the trace is done the entries of ``graph`` are
    dead weight. Only names that ``graph``'s own ops carry are removed, so gradients
    other code (another thread) is tracing are left alone.
    """
    from tensorflow.python.framework import ops

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    if not isinstance(registry, dict):   # another TensorFlow layout: nothing to do
        return 0
    names = [name for name in _gradient_override_names(graph)
             if name.startswith("CustomGradient-") and name in registry]
    for name in names:
        registry.pop(name, None)
    return len(names)


class TrainLoop:
    """The compiled pieces for one model and optimizer: a k-step loop and a validator.

    ``run(k)`` executes k training steps inside one ``tf.function`` — a graph while-loop
    that draws its own batches and stops at the first non-finite loss — and returns
    per-step losses and accuracies; ``accuracy`` counts correct predictions in inference
    mode. Both are traced once and reused for every learning rate and repeat.

    Batches are drawn in the graph, not from a ``tf.data`` iterator: every epoch is a
    stateless permutation of the training set seeded by ``(run seed, epoch)``, and the
    augmentation (when on) is seeded by ``(run seed, step)``. A run started with
    :meth:`start` therefore sees the same batches whatever ran before it — each sweep
    learning rate gets identical data — and no iterator is created or torn down per run
    (on two CPU cores that cost ~65 ms a run, see benchmarks/RESULTS.md).
    """

    def __init__(self, model, optimizer, x, y, batch_size, augment=False,
                 augment_options=None, jit=False):
        import keras
        import tensorflow as tf

        from .augment import augment_batch

        self.model = model
        self.optimizer = optimizer
        variables = model.trainable_variables
        n = int(x.shape[0])
        batch = int(min(batch_size, n))
        per_epoch = max(1, n // batch)
        options = dict(augment_options or {})
        self._position = tf.Variable(0, dtype=tf.int64, trainable=False)
        self._seed = tf.Variable(0, dtype=tf.int64, trainable=False)
        self._perm = tf.Variable(tf.range(n, dtype=tf.int32), trainable=False)

        def next_batch():
            position = self._position.read_value()
            epoch, slot = position // per_epoch, position % per_epoch
            if slot == 0:
                self._perm.assign(tf.random.experimental.stateless_shuffle(
                    tf.range(n, dtype=tf.int32), tf.stack([self._seed, epoch])))
            start = tf.cast(slot, tf.int32) * batch
            idx = self._perm[start:start + batch]
            xb, yb = tf.gather(x, idx), tf.gather(y, idx)
            if augment:
                xb = augment_batch(xb, tf.stack([self._seed + 1, position]), **options)
            self._position.assign_add(1)
            return xb, yb

        def step(xb, yb):
            with tf.GradientTape() as tape:
                probs = model(xb, training=True)
                loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(yb, probs))
            grads = tape.gradient(loss, variables)
            optimizer.apply(grads, variables)
            pred = tf.argmax(probs, axis=-1, output_type=tf.int32)
            acc = tf.reduce_mean(tf.cast(tf.equal(pred, yb), tf.float32))
            return tf.cast(loss, tf.float32), acc

        if jit:
            step = tf.function(step, jit_compile=True)

        def run(k):
            losses = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
            accs = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
            for i in tf.range(k):
                xb, yb = next_batch()
                loss, acc = step(xb, yb)
                losses = losses.write(i, loss)
                accs = accs.write(i, acc)
                if not tf.math.is_finite(loss):
                    break
            return losses.stack(), accs.stack()

        def correct(xb, yb):
            probs = model(xb, training=False)
            pred = tf.argmax(probs, axis=-1, output_type=tf.int32)
            return tf.reduce_sum(tf.cast(tf.equal(pred, yb), tf.int32))

        self._run = tf.function(run)
        self._correct = tf.function(correct)

    def start(self, seed):
        """Begin a run's data stream: batches from epoch 0, seeded by ``seed``."""
        self._seed.assign(int(seed))
        self._position.assign(0)

    def trace(self, x_val, y_val):
        """Trace and instantiate both functions without training (zero steps).

        Then drop the custom-gradient functions the training step's trace registered
        (:func:`release_gradient_functions`): with them gone the traced graphs are
        freed with this loop, and memory stays flat over many genomes.
        """
        import tensorflow as tf

        graph = self._run.get_concrete_function(tf.TensorSpec([], tf.int32)).graph
        self._run(tf.constant(0))
        self._correct(x_val, y_val)
        release_gradient_functions(graph)

    def run(self, k):
        """Train k steps; returns (losses, accuracies) as numpy arrays (shorter on NaN)."""
        import tensorflow as tf

        losses, accs = self._run(tf.constant(int(k)))
        return losses.numpy(), accs.numpy()

    def accuracy(self, val_batches, total):
        """Validation accuracy over pre-batched (x, y) tensors."""
        hits = 0
        for x, y in val_batches:
            hits += int(self._correct(x, y))
        return hits / max(1, total)
