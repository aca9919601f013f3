"""The Keras side of deap_nos: a genome as a drop-in ``keras.optimizers.Optimizer``.

``GraphOptimizer(genome, learning_rate, total_steps, ...)`` runs any genome of the
space; ``ADES`` is seed 003's evolved optimizer; the schedules module holds the one-cycle
and momentum-cycle schedules, LR1–LR9 and a genome's learning-rate multiplier;
``KerasBackend`` is the array namespace ``B`` over ``keras.ops`` that the primitives
run against. Importing this module imports Keras (``import deap_nos`` does not).
"""
from .backend import KerasBackend
from .optimizer import ADES, GraphOptimizer, default_warmup
from .schedules import (LR_FACTORS, FactorSchedule, MomentumCycle, OneCycle, lr_factor,
                        lr_multiplier, lr_multiplier_values, strip_lr_multiplier)


def compile(genome, space=None, total_steps=1000, warmup_steps=0, hold_steps=0, seed=None,
            **options):
    """The lead's :func:`deap_nos.compile` over the Keras namespace: a TensorFlow ``Program``."""
    from ..program import compile as compile_program
    return compile_program(genome, KerasBackend(seed=seed), space, total_steps,
                           warmup_steps, hold_steps, **options)


__all__ = ["ADES", "FactorSchedule", "GraphOptimizer", "KerasBackend", "LR_FACTORS",
           "MomentumCycle", "OneCycle", "compile", "default_warmup", "lr_factor",
           "lr_multiplier", "lr_multiplier_values", "strip_lr_multiplier"]
