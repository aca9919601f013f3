"""The ConvNet path of the term-mix fitness: the surrogate ConvNet on every task.

:class:`ConvNetTermMixEvaluator` runs one :class:`~deap_nos.evaluation.evaluator.SurrogateEvaluator`
per task (its learning-rate sweep, then training at the best rate; the paired design,
so every genome starts from the same weights) with the genome as a Keras optimizer
built by :func:`termmix_optimizer`, and aggregates relative to Adam
(:class:`~deap_nos.spaces.termmix.fitness.RelativeToAdam`).

:class:`TermMixOptimizer` is a small ``keras.optimizers.Optimizer`` running a compiled
term-mix program: the peak learning rate is the Keras ``learning_rate`` and the
genome's warm-up and cosine flags are its schedule (no one-cycle from outside).
Importing this module imports Keras; :mod:`deap_nos.spaces.termmix` does not import it.
"""
import keras
from keras import ops

from ...keras.backend import KerasBackend
from .fitness import RelativeToAdam, TaskFailure
from .tasks import DEFAULT_TASKS, load_task

__all__ = ["TermMixOptimizer", "termmix_optimizer", "ConvNetTermMixEvaluator"]


@keras.saving.register_keras_serializable(package="deap_nos")
class TermMixOptimizer(keras.optimizers.Optimizer):
    """A Keras optimizer running a term-mix genome (text, JSON document or genome)."""

    def __init__(self, genome, learning_rate=1e-3, total_steps=1000, warmup_steps=0,
                 hold_steps=0, name="termmix_optimizer", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        from ... import spaces
        space = spaces.get("termmix")
        if isinstance(genome, str):
            genome = space.from_dict(genome) if genome.lstrip().startswith("{") \
                else space.parse(genome)
        self.genome = genome
        self.total_steps, self.warmup_steps = int(total_steps), int(warmup_steps or 0)
        self.hold_steps = int(hold_steps)
        self.program = space.compile(genome, KerasBackend(), total_steps=self.total_steps,
                                     warmup_steps=self.warmup_steps,
                                     hold_steps=self.hold_steps)
        self.state_names = tuple(self.program.state_names())

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._slots = [list(self.add_optimizer_variables(var_list, name))
                       for name in self.state_names]

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        slots = [group[index] for group in self._slots]
        state = {n: ops.convert_to_tensor(s) for n, s in zip(self.state_names, slots)}
        delta, new = self.program.update(ops.cast(gradient, dtype), state,
                                         ops.convert_to_tensor(variable),
                                         ops.cast(self.iterations, dtype),
                                         ops.cast(learning_rate, dtype))
        for name, slot in zip(self.state_names, slots):
            self.assign(slot, new[name])
        self.assign_add(variable, delta)

    def get_config(self):
        config = super().get_config()
        config.update(genome=self.genome.to_json(), total_steps=self.total_steps,
                      warmup_steps=self.warmup_steps, hold_steps=self.hold_steps)
        return config


def termmix_optimizer(genome, learning_rate, total_steps, warmup_steps, hold_steps):
    """The ``optimizer_factory`` of :class:`~deap_nos.evaluation.evaluator.SurrogateEvaluator`."""
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
    :param preset: The :class:`~deap_nos.evaluation.evaluator.SurrogateEvaluator` preset of every
        task (``"default"``: MNIST-1D-sized; ``"quick"``: a few hundred steps).
    :param samples: Size of the generated tasks (None: each task's default).
    :param overrides: Further SurrogateEvaluator settings (``steps``, ``lr_grid`` ...).
    """

    def __init__(self, tasks=DEFAULT_TASKS, preset="default", samples=None, screen=True,
                 **overrides):
        super().__init__(tasks, screen)
        from ...evaluation.evaluator import SurrogateEvaluator
        self.preset, self.samples = preset, samples
        self._evaluators = {}
        for task in self.tasks:
            data, options = _data(task, samples)
            self._evaluators[task] = SurrogateEvaluator(
                preset, data=data, data_options=options, paired=True,
                optimizer_factory=termmix_optimizer, **overrides)

    def __repr__(self):
        return f"ConvNetTermMixEvaluator(tasks={self.tasks}, preset={self.preset!r})"

    def accuracy(self, genome, task, with_lr=False):
        """The task's SurrogateEvaluator fitness (validation accuracy) and best rate."""
        result = self._evaluators[task](genome)
        if getattr(result, "failed", False):
            raise TaskFailure(f"task {task!r}: {result.reason}")
        acc, lr = float(result[0]), result.info.get("lr")
        return (acc, lr) if with_lr else acc
