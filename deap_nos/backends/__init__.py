"""Backends of the population trainer: the operations the population evaluator needs.

:class:`~deap_nos.evaluation.population.PopulationEvaluator` trains K runs side by side through a
*population trainer*. A backend is a subpackage (``deap_nos.backends.tensorflow``,
``deap_nos.backends.jax``) that provides, lazily and without importing its framework
when ``deap_nos`` is imported:

``build(base, input_shape, classes, slots, x, y, batch_size, total_steps,
warmup_steps, hold_steps=0, space=None, seed=0, dropout=0.2, jit=True, **options)``
    A trainer (the interface :class:`PopulationTrainer` below names its methods).
``to_device(x_train, y_train, x_val, y_val, val_batch_size)``
    ``(x, y, val_batches, n_val)``: the data in the backend's arrays.
``gpu_count()`` and ``out_of_memory(error)``
    What the slot probe (:mod:`deap_nos.evaluation.slots`) needs.

Nothing outside a backend's folder imports its framework for population training:
TensorFlow stays the default, and a machine without TensorFlow (the JAX GPU machine)
trains with ``backend="jax"``.
"""
import importlib

from ..errors import NOSError

__all__ = ["BACKENDS", "PRECISIONS", "PopulationTrainer", "get", "available"]

#: The population trainer backends, by name (the first is the default).
BACKENDS = ("tensorflow", "jax")

#: The JAX network's activation precisions (the first is the default; the others are
#: the JAX backend's only: :class:`~deap_nos.backends.jax.net.JaxConvNet`).
PRECISIONS = ("float32", "bfloat16")


class PopulationTrainer:
    """The interface every backend's trainer implements (documentation and a base).

    Attributes: ``net`` (weights layout, ``init(seed)``), ``interpreter``
    (``encode(genome)``), ``slots`` (K).
    """

    def assign(self, slot, genome_codes, weights, stats, lr, seed=0, resume=None):
        """Start a run in ``slot`` (or resume one from a :meth:`snapshot`)."""
        raise NotImplementedError

    def run(self, n):
        """Train every slot ``n`` steps: ``(losses, accs)``, ``[n, K]`` numpy."""
        raise NotImplementedError

    def accuracy_of(self, slot, val_batches, total):
        """Validation accuracy of one slot (inference mode)."""
        raise NotImplementedError

    def accuracy(self, val_batches, total):
        """Validation accuracy of every slot, ``[K]``."""
        raise NotImplementedError

    def snapshot(self, slot):
        """Everything of the run in ``slot`` its next steps read, as numpy."""
        raise NotImplementedError

    def weights(self, slot):
        """``(weights [P], stats [Q])`` of one slot, numpy."""
        raise NotImplementedError


def get(name):
    """The backend module called *name* (``"tensorflow"`` or ``"jax"``)."""
    if name not in BACKENDS:
        raise NOSError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise NOSError(f"the {name} backend needs {exc.name or name}, which is not "
                       f"installed: pip install \"deap-nos[{name}]\"") from exc


def available(name):
    """True where backend *name*'s framework can be imported."""
    import importlib.util

    try:
        return importlib.util.find_spec("jax" if name == "jax" else "tensorflow") is not None
    except ImportError:
        return False
