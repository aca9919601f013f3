"""The ConvNet path of the term-mix fitness: the surrogate ConvNet on every task.

:class:`ConvNetTermMixEvaluator` runs one :class:`~deap_nos.evaluator.SurrogateEvaluator`
per task (its learning-rate sweep, then training at the best rate; the paired design,
so every genome starts from the same weights) with the genome as a Keras optimizer
built by :func:`termmix_optimizer`, and aggregates relative to Adam
(:class:`~deap_nos.spaces.termmix.fitness.RelativeToAdam`).

:class:`TermMixOptimizer` is :class:`~deap_nos.keras.GraphOptimizer` on a term-mix
genome with ``one_cycle=False``: the peak learning rate is the Keras ``learning_rate``
and the genome's warm-up and cosine flags are its schedule (no one-cycle from outside).
Importing this module imports Keras; :mod:`deap_nos.spaces.termmix` does not import it.
"""
import keras

from ...keras import GraphOptimizer
from .fitness import RelativeToAdam, TaskFailure
from .tasks import DEFAULT_TASKS, load_task

__all__ = ["TermMixOptimizer", "termmix_optimizer", "ConvNetTermMixEvaluator"]


@keras.saving.register_keras_serializable(package="deap_nos")
class TermMixOptimizer(GraphOptimizer):
    """:class:`~deap_nos.keras.GraphOptimizer` of a term-mix genome (text, JSON document
    or genome) with ``one_cycle=False``: ``learning_rate`` is the peak and the genome's
    warm-up and cosine flags are the only schedule (no second one from outside)."""

    def __init__(self, genome, learning_rate=1e-3, total_steps=1000, warmup_steps=0,
                 hold_steps=0, name="termmix_optimizer", **kwargs):
        from ... import spaces
        kwargs.update(one_cycle=False)
        kwargs.setdefault("space", spaces.get("termmix"))
        super().__init__(genome, learning_rate=learning_rate, total_steps=total_steps,
                         warmup_steps=warmup_steps or 0, hold_steps=hold_steps, name=name,
                         **kwargs)


def termmix_optimizer(genome, learning_rate, total_steps, warmup_steps, hold_steps):
    """The ``optimizer_factory`` of :class:`~deap_nos.evaluator.SurrogateEvaluator`."""
    return TermMixOptimizer(genome, learning_rate=learning_rate, total_steps=total_steps,
                            warmup_steps=warmup_steps, hold_steps=hold_steps)


def _data(task, samples):
    """SurrogateEvaluator's ``data``/``data_options`` for a task (names where the
    library's loader knows them, else the Dataset)."""
    if task == "mnist1d":
        return "mnist1d", {"samples": samples} if samples else None
    if task == "mnist1d_small":
        return "mnist1d", {"samples": min(samples or 3000, 3000), "seed": 1}
    if task == "digits":
        return "digits", None
    return load_task(task, samples), None


class ConvNetTermMixEvaluator(RelativeToAdam):
    """Seed 002's fitness on the surrogate ConvNet.

    :param tasks: Task names (:mod:`~deap_nos.spaces.termmix.tasks`).
    :param preset: The :class:`~deap_nos.evaluator.SurrogateEvaluator` preset of every
        task (``"default"``: MNIST-1D-sized; ``"quick"``: a few hundred steps).
    :param samples: Size of the generated tasks (None: each task's default).
    :param overrides: Further SurrogateEvaluator settings (``steps``, ``lr_grid`` ...).
    """

    def __init__(self, tasks=DEFAULT_TASKS, preset="default", samples=None, screen=True,
                 **overrides):
        super().__init__(tasks, screen)
        from ...evaluator import SurrogateEvaluator
        self.preset, self.samples, self.overrides = preset, samples, dict(overrides)
        self._evaluators = {}
        for task in self.tasks:
            data, options = _data(task, samples)
            self._evaluators[task] = SurrogateEvaluator(
                preset, data=data, data_options=options, paired=True,
                optimizer_factory=termmix_optimizer, **overrides)

    def settings(self):
        """The evaluator's settings for the run folder: the SurrogateEvaluator preset,
        overrides and data of the first task (what a verdict retrains with), and the
        fitness under ``"fitness"``."""
        data, options = _data(self.tasks[0], self.samples)
        out = dict(self.overrides, preset=self.preset,
                   data=data if isinstance(data, str) else repr(data))
        if options:
            out["data_options"] = options
        out["fitness"] = {"space": "termmix", "kind": "relative_to_adam", "path": "convnet",
                          "tasks": list(self.tasks), "samples": self.samples}
        return out

    def __repr__(self):
        return f"ConvNetTermMixEvaluator(tasks={self.tasks}, preset={self.preset!r})"

    def accuracy(self, genome, task, with_lr=False):
        """The task's SurrogateEvaluator fitness (validation accuracy) and best rate."""
        result = self._evaluators[task](genome)
        if getattr(result, "failed", False):
            raise TaskFailure(f"task {task!r}: {result.reason}")
        acc, lr = float(result[0]), result.info.get("lr")
        return (acc, lr) if with_lr else acc
