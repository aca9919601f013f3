"""The JAX population trainer: the whole search on a machine without TensorFlow.

``PopulationEvaluator(..., backend="jax")`` and ``deap-nos search --backend jax`` train
through :class:`~deap_nos.backends.jax.trainer.JaxPopulationTrainer`. Install with
``pip install "deap-nos[jax]"`` (CPU) or ``pip install "jax[cuda12]" optax deap-nos``
on an NVIDIA GPU.
"""
import numpy as np

__all__ = ["build", "to_device", "gpu_count", "out_of_memory"]


def build(*args, **kwargs):
    """A :class:`~deap_nos.backends.jax.trainer.JaxPopulationTrainer`."""
    from .trainer import build as _build

    return _build(*args, **kwargs)


def to_device(x_train, y_train, x_val, y_val, val_batch_size):
    """``(x, y, val_batches, n_val)`` as JAX arrays on the default device."""
    import jax.numpy as jnp

    bs = int(val_batch_size)
    val = [(jnp.asarray(np.asarray(x_val[i:i + bs], np.float32)),
            jnp.asarray(np.asarray(y_val[i:i + bs], np.int32)))
           for i in range(0, len(x_val), bs)]
    return (jnp.asarray(np.asarray(x_train, np.float32)),
            jnp.asarray(np.asarray(y_train, np.int32)), val, len(x_val))


def gpu_count():
    """GPUs JAX sees."""
    import jax

    try:
        return len(jax.devices("gpu"))
    except RuntimeError:
        return 0


def out_of_memory(error):
    """True when *error* is XLA's allocation failure."""
    text = str(error).lower()
    return "out of memory" in text or "resource_exhausted" in text \
        or "resource exhausted" in text
