"""Seed 002's search space, "Evolving Deep Learning Optimizers" (Marfinetz).

An optimizer is a weighted sum of primitive update terms (gradient, momentum, RMS
normalisation, Adam's adaptive term, signs) with β1, β2, ε and schedule flags
(:mod:`.genome`), compiled into an ``init``/``update`` program (:mod:`.program`), searched
by a generational GA (:mod:`.algorithm`) with a multi-task fitness relative to Adam
(:mod:`.fitness`). :class:`TermMixSpace` is the representation protocol of
:mod:`deap_nos.spaces`, registered as ``"termmix"``.

Importing this package imports neither TensorFlow nor JAX.
"""
from .genome import TERMS, TermMixGenome, from_dict, parse
from .program import TermMixProgram, compile, semantic_fingerprint
from .space import ZOO, TermMixSpace

__all__ = ["TERMS", "TermMixGenome", "TermMixProgram", "TermMixSpace", "ZOO", "compile",
           "from_dict", "parse", "semantic_fingerprint"]
