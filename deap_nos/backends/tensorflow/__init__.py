"""The TensorFlow population trainer (the default backend): XLA-compiled chunks of
steps over ``tf.Variable`` slots (see :mod:`deap_nos.backends.tensorflow.trainer`)."""
import numpy as np

__all__ = ["build", "to_device", "gpu_count", "out_of_memory", "running", "rng_state",
           "set_rng_state", "seed"]


def build(*args, **kwargs):
    """A TensorFlow :class:`~deap_nos.backends.tensorflow.trainer.PopulationTrainer`."""
    from .train_loop import configure_devices
    from .trainer import build as _build

    configure_devices()
    return _build(*args, **kwargs)


def to_device(x_train, y_train, x_val, y_val, val_batch_size):
    """``(x, y, val_batches, n_val)`` as TensorFlow constants."""
    import tensorflow as tf

    bs = int(val_batch_size)
    val = [(tf.constant(x_val[i:i + bs], tf.float32), tf.constant(y_val[i:i + bs], tf.int32))
           for i in range(0, len(x_val), bs)]
    return (tf.constant(np.asarray(x_train), tf.float32),
            tf.constant(np.asarray(y_train), tf.int32), val, len(x_val))


def gpu_count():
    """GPUs TensorFlow sees."""
    import tensorflow as tf

    from .train_loop import configure_devices

    configure_devices()
    return len(tf.config.list_logical_devices("GPU"))


def out_of_memory(error):
    """True when *error* is TensorFlow's or XLA's allocation failure."""
    import tensorflow as tf

    text = str(error).lower()
    return isinstance(error, tf.errors.ResourceExhaustedError) or "out of memory" in text \
        or "resource_exhausted" in text or "resource exhausted" in text


def running():
    """True when this process has started TensorFlow's runtime (run an operation), not
    merely imported it (:func:`deap_nos.search.parallel.tensorflow_running`)."""
    try:
        from tensorflow.python.eager import context
        ctx = context.context_safe()
        return bool(ctx is not None and ctx._initialized)
    except Exception:     # a TensorFlow without these internals: assume it runs
        return True


def rng_state():
    """TensorFlow's global generator as plain data (for a search's checkpoint), or None."""
    import tensorflow as tf

    try:
        generator = tf.random.get_global_generator()
        return {"state": generator.state.numpy(), "algorithm": generator.algorithm}
    except Exception:  # pragma: no cover - depends on the TF build
        return None


def set_rng_state(state):
    """Restore a state returned by :func:`rng_state`."""
    import tensorflow as tf

    generator = tf.random.Generator.from_state(state["state"], state["algorithm"])
    tf.random.set_global_generator(generator)


def seed(value):
    """Seed TensorFlow's op-level seed and its global generator."""
    import tensorflow as tf

    tf.random.set_seed(value)
    tf.random.set_global_generator(tf.random.Generator.from_seed(value))
