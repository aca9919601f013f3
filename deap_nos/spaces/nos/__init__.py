"""The ``nos`` space: the paper's update graph (arXiv 2404.06679), one folder.

- :mod:`.genes` (operands, operations, stable_hash), :mod:`.syntax` (the text syntax),
  :mod:`.genome` (OptimizerGraph, DecayGraph), :mod:`.space` (SearchSpace, the primitive
  tables a researcher extends), :mod:`.primitives` (their numpy semantics),
  :mod:`.integrity` (the shifted-sphere check), :mod:`.variation` (random graphs and
  mutation), :mod:`.authors` (the authors' reference semantics), :mod:`.toolbox` (a DEAP
  toolbox);
- :mod:`.protocol`: the space's side of the representation protocol of
  :mod:`deap_nos.spaces` (``random``, ``mutate``, ``mate``, ``screen``, ``compile``,
  ``parse``, ``from_dict``, ``zoo``, ``genome_class``).

This ``__init__`` imports nothing: importing ``deap_nos.spaces.nos.genome`` runs it
first, and the protocol sits *above* the genome modules in the import graph. The
protocol's functions are still offered here (``deap_nos.spaces.nos.parse``, as when
the protocol was the module ``spaces/nos.py``), loaded on first use.
"""
import importlib

_PROTOCOL = ("genome_class", "random", "mutate", "mate", "screen", "compile", "parse",
             "from_dict", "zoo")


def __getattr__(name):
    """A protocol function of :mod:`.protocol`, imported on first use."""
    if name in _PROTOCOL:
        return getattr(importlib.import_module(f"{__name__}.protocol"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_PROTOCOL))
