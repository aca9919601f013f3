"""A Keras 3 optimizer running an AutoLR genome (imports Keras; not imported by the package).

``AutoLROptimizer(genome)`` keeps x, y, z per weight and applies
``w ← w − lr·f_w(x, y, z)`` after updating the states, the compiled
:class:`~deap_nos.spaces.autolr.program.AutoLRProgram` on the Keras namespace; ``lr``
defaults to 1 (an AutoLR genome's constants carry its step size) and has no schedule.
:func:`optimizer_factory` is the ``optimizer_factory`` of
:class:`~deap_nos.evaluation.evaluator.SurrogateEvaluator` (module level, so it pickles).
"""
import keras
from keras import ops

from ...keras.backend import KerasBackend
from . import genome as _genome
from .program import LEARNING_RATE, STATES


class _Held:
    __slots__ = ("genome",)

    def __init__(self, genome):
        self.genome = genome


@keras.saving.register_keras_serializable(package="deap_nos")
class AutoLROptimizer(keras.optimizers.Optimizer):
    """Keras optimizer of an ``autolr`` genome (a genome, its text or its document)."""

    def __init__(self, genome, learning_rate=LEARNING_RATE, name="autolr", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if isinstance(genome, str):
            genome = _genome.parse(genome)
        elif isinstance(genome, dict):
            genome = _genome.from_dict(genome)
        self._held = _Held(genome)      # not a list attribute: Keras would track it
        self.program = genome.space.compile(genome, KerasBackend())

    @property
    def genome(self):
        """The AutoLR genome this optimizer runs."""
        return self._held.genome

    def build(self, var_list):
        """x, y, z (zero) per weight."""
        if self.built:
            return
        super().build(var_list)
        self._slots = [self.add_optimizer_variables(var_list, name) for name in STATES]

    def reset(self):
        """Zero the states and ``iterations``; keep the learning rate."""
        keep = self._learning_rate if isinstance(self._learning_rate, keras.Variable) else None
        for var in self.variables:
            if var is not keep:
                var.assign(ops.zeros(var.shape, dtype=var.dtype))

    def update_step(self, gradient, variable, learning_rate):
        """One AutoLR step: states in order x, y, z, then the weight."""
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        slots = [group[index] for group in self._slots]
        state = {name: ops.convert_to_tensor(slot) for name, slot in zip(STATES, slots)}
        delta, new = self.program.update(ops.cast(gradient, dtype), state,
                                         ops.convert_to_tensor(variable),
                                         ops.cast(self.iterations, dtype),
                                         ops.cast(learning_rate, dtype))
        for name, slot in zip(STATES, slots):
            self.assign(slot, new[name])
        self.assign_add(variable, delta)

    def get_config(self):
        config = super().get_config()
        config["genome"] = self.genome.to_dict()
        return config


def optimizer_factory(genome, learning_rate=LEARNING_RATE, total_steps=None,
                      warmup_steps=None, hold_steps=None):
    """:class:`AutoLROptimizer` for ``genome`` (the evaluator's factory signature; the
    schedule arguments do not apply to AutoLR and are ignored)."""
    return AutoLROptimizer(genome, learning_rate=learning_rate)
