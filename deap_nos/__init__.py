"""deap_nos — neural optimizer search as a DEAP plugin.

Evolve deep-learning optimizers (update equation, internal decay functions and the
learning-rate schedule together) as computational graphs, after "Neural Optimizer
Equation, Decay Function, and Learning Rate Schedule Joint Evolution" (arXiv 2404.06679).

``import deap_nos`` does not import TensorFlow: genomes, the search space, the integrity
check and the algorithms are numpy and networkx only. The Keras side lives in
:mod:`deap_nos.keras`, :mod:`deap_nos.zoo` and the TensorFlow backend
(:mod:`deap_nos.backends.tensorflow`), loaded on first use (``nos.keras``, ``nos.zoo``,
``nos.SurrogateEvaluator``). The folders are described in docs/layout.md; module paths
of before the move (``deap_nos.evaluator``, ``deap_nos.engine``, ...) still import, as
the same module objects (:mod:`deap_nos._moved`), so old pickles load.
"""
import importlib

from . import _moved
from .errors import (ArityError, ConfigurationError, CyclicGraphError, DataError,
                     DuplicateNameError, GenomeError, NOSError, ParseError,
                     UnknownNameError)
from .evaluation import FAILED_FITNESS, Evaluation
from .spaces.nos.genome import DecayGraph, Node, OptimizerGraph, parse, validate
from .spaces.nos.integrity import decay_integrity, integrity_check
from .program import Program, compile, semantic_fingerprint
from .spaces.nos.space import SearchSpace
from .spaces.nos.syntax import parse_decay
from .spaces.nos.variation import initGraph, mutGraph, mutate_decay, random_decay, random_graph

__version__ = "0.3.0"

_LAZY = {
    "spaces": ("deap_nos.spaces", None),
    "keras": ("deap_nos.keras", None),
    "zoo": ("deap_nos.zoo", None),
    "data": ("deap_nos.data", None),
    "surrogate": ("deap_nos.backends.tensorflow.surrogate", None),
    "algorithms": ("deap_nos.search.algorithms", None),
    "parallel": ("deap_nos.search.parallel", None),
    "plots": ("deap_nos.plots", None),
    "cheap": ("deap_nos.evaluation.cheap", None),
    "SurrogateEvaluator": ("deap_nos.evaluation.evaluator", "SurrogateEvaluator"),
    "PopulationEvaluator": ("deap_nos.evaluation.population", "PopulationEvaluator"),
    "DigitsEvaluator": ("deap_nos.evaluation.cheap", "DigitsEvaluator"),
    "make_toolbox": ("deap_nos.spaces.nos.toolbox", "make_toolbox"),
    "individual_class": ("deap_nos.spaces.nos.toolbox", "individual_class"),
    "eaParticle": ("deap_nos.search.algorithms", "eaParticle"),
    "eaRegularized": ("deap_nos.search.algorithms", "eaRegularized"),
    "initial_population": ("deap_nos.search.algorithms", "initial_population"),
    "eliminate": ("deap_nos.search.algorithms", "eliminate"),
    "verdict": ("deap_nos.verdicts.heldout", "verdict"),
    "reevaluate": ("deap_nos.verdicts.heldout", "reevaluate"),
    "optax": ("deap_nos.optax", None),
}


def _register_keras_classes():
    """Make a saved model with a deap-nos optimizer load after ``import deap_nos``
    alone: where Keras is already imported (so importing it costs nothing), import
    :mod:`deap_nos.keras`, which registers GraphOptimizer and the schedules."""
    import sys
    if "keras" in sys.modules and "deap_nos.keras" not in sys.modules:
        try:
            importlib.import_module("deap_nos.keras")
        except ImportError:            # a Keras without a working backend: load later
            pass


_moved.install()
_register_keras_classes()


def __getattr__(name):
    """Load the heavier modules (Keras, algorithms) on first use; an old module name
    (``nos.evaluator``) gives the moved module."""
    if name in _LAZY:
        module_name, attr = _LAZY[name]
    elif f"{__name__}.{name}" in _moved.MOVED:
        module_name, attr = f"{__name__}.{name}", None
    else:
        raise AttributeError(f"module 'deap_nos' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


__all__ = ["ArityError", "ConfigurationError", "CyclicGraphError", "DataError", "DecayGraph", "DuplicateNameError",
           "Evaluation", "FAILED_FITNESS", "GenomeError", "NOSError", "Node", "OptimizerGraph",
           "ParseError", "Program", "SearchSpace", "UnknownNameError", "compile",
           "decay_integrity", "initGraph", "integrity_check", "mutGraph", "mutate_decay",
           "parse", "parse_decay", "random_decay", "random_graph", "semantic_fingerprint",
           "validate"] + list(_LAZY)
