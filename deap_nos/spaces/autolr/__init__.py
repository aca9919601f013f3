"""Adaptive AutoLR (seed 003) as a search space: grammar, genome, program, fitness,
algorithm. ``deap_nos.spaces.get("autolr")`` is :class:`AutoLRSpace`."""
from .genome import AutoLRGenome, parse
from .program import AutoLRProgram
from .space import ZOO, AutoLRSpace

__all__ = ["AutoLRSpace", "AutoLRGenome", "AutoLRProgram", "parse", "ZOO"]
