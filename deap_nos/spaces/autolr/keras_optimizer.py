"""A Keras 3 optimizer running an AutoLR genome (imports Keras; not imported by the package).

``AutoLROptimizer(genome)`` is :class:`~deap_nos.keras.GraphOptimizer` running the
compiled :class:`~deap_nos.spaces.autolr.program.AutoLRProgram` (x, y, z per weight,
then ``w ← w − lr·f_w(x, y, z)``) with ``one_cycle=False``: ``lr`` defaults to 1 (an
AutoLR genome's constants carry its step size) and has no schedule.
:func:`optimizer_factory` is the ``optimizer_factory`` of
:class:`~deap_nos.evaluator.SurrogateEvaluator` (module level, so it pickles).
"""
import keras

from ...keras import GraphOptimizer
from .program import LEARNING_RATE


@keras.saving.register_keras_serializable(package="deap_nos")
class AutoLROptimizer(GraphOptimizer):
    """Keras optimizer of an ``autolr`` genome (a genome, its text or its document):
    :class:`~deap_nos.keras.GraphOptimizer` with ``one_cycle=False`` and lr 1."""

    def __init__(self, genome, learning_rate=LEARNING_RATE, name="autolr", **kwargs):
        from ... import spaces
        kwargs.update(one_cycle=False)
        kwargs.setdefault("space", spaces.get("autolr"))
        kwargs.setdefault("warmup_steps", 0)
        super().__init__(genome, learning_rate=learning_rate, name=name, **kwargs)


def optimizer_factory(genome, learning_rate=LEARNING_RATE, total_steps=None,
                      warmup_steps=None, hold_steps=None):
    """:class:`AutoLROptimizer` for ``genome`` (the evaluator's factory signature; the
    schedule arguments do not apply to AutoLR and are ignored)."""
    return AutoLROptimizer(genome, learning_rate=learning_rate)
