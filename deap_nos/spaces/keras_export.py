"""The Keras optimizer of a space whose genomes carry their own schedule.

A ``termmix`` genome's warm-up and cosine flags, and an ``autolr`` genome's constants,
are its learning-rate schedule. :class:`~deap_nos.keras.GraphOptimizer` runs a genome of
any space, but by default multiplies the peak rate by the paper's one-cycle schedule:
on such a genome the two schedules would multiply. :func:`schedule_free_optimizer`
builds it with ``one_cycle=False``, so the rate applied at step ``t`` is the peak times
the genome's own factor only; it is the ``keras_factory`` of both spaces (the factory
the verdict and the ConvNet evaluators train with). Importing this module does not
import Keras; calling the factory does.
"""

__all__ = ["schedule_free_optimizer", "keras_factory"]


def schedule_free_optimizer(genome, learning_rate, total_steps=1000, warmup_steps=0,
                            hold_steps=0, **options):
    """``GraphOptimizer(genome, ..., one_cycle=False)``: the evaluator's
    ``optimizer_factory`` signature ``(genome, learning_rate, total_steps,
    warmup_steps, hold_steps)``; ``warmup_steps`` is the genome's warm-up length where
    its space has one (0 or None: the space's default)."""
    from ..keras import GraphOptimizer
    return GraphOptimizer(genome, learning_rate=learning_rate,
                          total_steps=int(total_steps or 1000),
                          warmup_steps=int(warmup_steps or 0),
                          hold_steps=int(hold_steps or 0), one_cycle=False, **options)


def keras_factory():
    """The space protocol's ``keras_factory()``: :func:`schedule_free_optimizer`."""
    return schedule_free_optimizer
