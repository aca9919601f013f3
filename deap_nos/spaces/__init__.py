"""Search spaces: one registry, one representation protocol.

A *search space* (a representation) is everything the shared engine, algorithms,
evaluators, verdict, reports, plots, command and checkpoints need from a genome. Three
implement it: ``nos`` (the paper's graph and decays, :class:`deap_nos.SearchSpace`),
``termmix`` (seed 002's term-mix genome) and ``autolr`` (seed 003's grammar). The
protocol is written down in ``docs/spaces.md``, with a worked example of a fourth.

A space object offers (duck-typed, as DEAP's toolbox is)::

    space.name                      # registry name: "nos", "termmix", "autolr", yours
    space.genome_class              # base class for creator.create("Individual", ...)
    space.default_algorithm         # "particle" | "regularized" | "generational" | "grammar"
    space.random(cls=None)          # a valid random genome (DEAP initializer)
    space.mutate(individual)        # in place, returns (individual,)
    space.mate(ind1, ind2)          # in place, returns (ind1, ind2); NotImplementedError
                                    #   for mutation-only spaces
    space.screen(genome)            # the shifted-sphere integrity check -> IntegrityResult
    space.compile(genome, backend=None, total_steps=1000, warmup_steps=0,
                  hold_steps=0, **options)          # -> Program (init/update/direction)
    space.parse(text, cls=None)     # text syntax -> genome
    space.from_dict(data, cls=None) # JSON document -> genome
    space.zoo()                     # {name: text} of the space's known optimizers

and each genome::

    genome.space                    # the space it belongs to (pickled with it)
    str(genome); genome.to_dict()   # text; plain data with "space": space.name
    genome.to_json(); genome.key()  # canonical identity; ==, hash go through key()
    genome.fingerprint()            # stable semantic hash (same in every process)

A ``Program`` is the Optax-style pure pair of :mod:`deap_nos.program`:
``init(params) -> state`` and ``update(grad, state, params, step, lr, sign=None) ->
(delta, state)`` (``w <- w + delta``), written against the array namespace ``B`` of
:mod:`deap_nos.backend`, so the integrity check (numpy), the Keras optimizer
(:class:`deap_nos.keras.GraphOptimizer`) and the optax transformation run any space.
"""
import importlib

from ..errors import NOSError, UnknownNameError

#: name -> "module:attribute" of a zero-argument factory, or a space object
_REGISTRY = {
    "nos": "deap_nos.spaces.nos.space:default_space",
    "termmix": "deap_nos.spaces.termmix:TermMixSpace",
    "autolr": "deap_nos.spaces.autolr:AutoLRSpace",
}
_CACHE = {}


def register(name, space):
    """Register ``space`` (an object or a zero-argument factory) under ``name``.

    Registering is how a researcher's own space (say, the paper's space plus a custom
    operation) is found again by name: in a saved ``.keras`` model, a run folder's JSON
    and ``deap-nos search --space NAME``. Re-registering a name replaces it.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise NOSError(f"a space name must be an identifier, got {name!r}")
    _REGISTRY[name] = space
    _CACHE.pop(name, None)
    if not callable(space) or hasattr(space, "genome_class"):
        try:
            space.name = name
        except AttributeError:
            pass
    return space


def names():
    """The registered space names."""
    return sorted(_REGISTRY)


def _resolve(target):
    module, _, attr = target.partition(":")
    value = importlib.import_module(module)
    for part in attr.split("."):
        value = getattr(value, part)
    return value


def get(name):
    """The space registered as ``name`` (built once per process)."""
    if not isinstance(name, str):
        if hasattr(name, "genome_class"):
            return name
        raise NOSError(f"a space is a name ({', '.join(names())}) or a space object; "
                       f"got {name!r}")
    if name in _CACHE:
        return _CACHE[name]
    try:
        target = _REGISTRY[name]
    except KeyError:
        raise UnknownNameError(f"unknown search space {name!r}; known: "
                               f"{', '.join(names())}. Register yours with "
                               f"deap_nos.spaces.register(name, space).") from None
    if isinstance(target, str):
        target = _resolve(target)
    space = target() if callable(target) and not hasattr(target, "genome_class") else target
    _CACHE[name] = space
    return space


#: name -> module holding the protocol functions of a table-like space class
_IMPLEMENTATIONS = {"nos": "deap_nos.spaces.nos.protocol"}


def implementation(name):
    """The module implementing the protocol for the built-in space ``name``'s class (the
    graph space: :mod:`deap_nos.spaces.nos.protocol`), imported on first use like a registry
    entry, so the primitive tables sit below the genome modules in the import graph."""
    return importlib.import_module(_IMPLEMENTATIONS[name])


def genome_from_dict(data, cls=None):
    """A genome of any registered space from its document (``"space"`` names it;
    documents written before 0.3 have none and are the paper's space)."""
    name = data.get("space", "nos") if isinstance(data, dict) else "nos"
    return get(name).from_dict(data, cls)


__all__ = ["register", "get", "names", "genome_from_dict", "implementation"]
