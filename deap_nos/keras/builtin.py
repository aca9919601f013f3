"""Keras built-in optimizers (and the zoo's schedules) inside the surrogate evaluator.

The evaluator sweeps the *peak* learning rate without retracing by assigning a variable.
:class:`PeakSchedule` makes that possible for any Keras optimizer: its learning rate is
``peak × shape(t)``, with ``peak`` a Keras variable and ``shape`` the base one-cycle
schedule (or an LR1–LR9 factor times it). :class:`BuiltinFactory` and
:class:`ScheduleFactory` are the module-level, picklable optimizer factories that
``deap-nos compare`` hands to :class:`~deap_nos.evaluation.evaluator.SurrogateEvaluator`.
"""
import keras

from ..errors import NOSError
from .schedules import FactorSchedule, OneCycle


class PeakSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """``peak × shape(step)`` with an assignable ``peak`` (``peak_variable``)."""

    def __init__(self, shape, peak=1e-3):
        self.shape = shape
        self.peak_variable = keras.Variable(float(peak), dtype="float32", trainable=False,
                                            name="peak_learning_rate")

    def __call__(self, step):
        return self.peak_variable * self.shape(step)

    def get_config(self):
        return {"shape": keras.saving.serialize_keras_object(self.shape),
                "peak": float(keras.ops.convert_to_numpy(self.peak_variable))}


class BuiltinFactory:
    """Build ``keras.optimizers.<name>`` on the base one-cycle schedule (peak swept).

    ``BuiltinFactory("adam")(genome, learning_rate, total_steps, warmup_steps,
    hold_steps)``; the genome argument is ignored. ``options`` go to the optimizer.
    """

    def __init__(self, name, **options):
        self.name = name
        self.options = options
        try:
            keras.optimizers.get(name)
        except ValueError:
            raise NOSError(f"unknown Keras optimizer {name!r}; use a name that "
                           f"keras.optimizers.get accepts (adam, sgd, rmsprop, ...)") from None

    def __call__(self, genome, learning_rate, total_steps, warmup_steps, hold_steps):
        shape = OneCycle(1.0, total_steps, warmup_steps, hold_steps)
        lr = PeakSchedule(shape, learning_rate)
        config = {"class_name": self.name, "config": dict(self.options, learning_rate=lr)}
        return keras.optimizers.get(config)


class ScheduleFactory:
    """Keras Adam (β₂ = 0.99, as the schedules were found for) on a zoo schedule LR1–LR9."""

    def __init__(self, name):
        self.name = name

    def __call__(self, genome, learning_rate, total_steps, warmup_steps, hold_steps):
        shape = FactorSchedule(self.name, 1.0, total_steps, warmup_steps, hold_steps)
        return keras.optimizers.Adam(PeakSchedule(shape, learning_rate), beta_1=0.9,
                                     beta_2=0.99, epsilon=1e-8)


def adam(learning_rate, **kwargs):
    """``keras.optimizers.Adam`` (the zoo's LR1–LR9 entries run Adam on their schedule;
    the zoo itself imports no framework)."""
    return keras.optimizers.Adam(learning_rate=learning_rate, **kwargs)
