"""The AutoLR genome: four expression trees (x, y, z, update), a DEAP individual base.

Text syntax (what ``str`` writes and :func:`parse` reads)::

    x = multiply(grad, grad); y = subtract(y, grad); z = z; update = negative(y)

JSON: ``{"space": "autolr", "x": "...", "y": "...", "z": "...", "update": "..."}``.
Identity (``==``, ``hash``, :meth:`AutoLRGenome.key`) is the text with the arguments of
commutative operators sorted; :meth:`AutoLRGenome.fingerprint` is semantic (probe
updates), so two genomes computing the same optimizer share one evaluation.
"""
import json
import re

from deap import gp

from ...backend import NumpyBackend
from ...errors import GenomeError, ParseError
from ..identity import KeyIdentity
from ..nos.genes import stable_hash
from ...program import probe
from . import grammar
from .grammar import COMMUTATIVE, FUNCTIONS

#: Height limit of every tree (``gp.staticLimit`` in the variation operators).
MAX_HEIGHT = 8
#: Deepest tree :func:`parse` reads (the search itself stays within MAX_HEIGHT).
MAX_PARSE_HEIGHT = 64
PROBE_STEPS, PROBE_SIZE, PROBE_SEED = 8, 6, 1234


def _space():
    from ... import spaces          # the registry (no import cycle with .space)
    return spaces.get("autolr")


def _canonical(tree, index=0):
    """``(text, end)`` of the subtree at ``index`` with commutative arguments sorted."""
    node = tree[index]
    if not isinstance(node, gp.Primitive):
        return node.format(), index + 1
    args, pos = [], index + 1
    for _ in range(node.arity):
        text, pos = _canonical(tree, pos)
        args.append(text)
    if node.name in COMMUTATIVE:
        args.sort()
    return f"{node.name}({', '.join(args)})", pos


def _check_trees(trees):
    trees = list(trees)
    if len(trees) != len(FUNCTIONS):
        raise GenomeError(f"an autolr genome has {len(FUNCTIONS)} trees "
                          f"({', '.join(FUNCTIONS)}); got {len(trees)}")
    for name, tree in zip(FUNCTIONS, trees):
        if not isinstance(tree, gp.PrimitiveTree):
            raise GenomeError(f"the {name} function must be a deap.gp.PrimitiveTree, "
                              f"got {type(tree).__name__}; build genomes with "
                              "AutoLRSpace.parse or AutoLRSpace.random")
        allowed = set(grammar.ARGUMENTS[name])
        for node in tree:
            if isinstance(node, gp.Terminal) and not grammar.is_constant(node) \
                    and node.value not in allowed:
                raise GenomeError(f"the {name} function reads {node.value!r}; it may "
                                  f"read only {', '.join(sorted(allowed))} and constants")
    return trees


class AutoLRGenome(KeyIdentity, list):
    """Four :class:`deap.gp.PrimitiveTree` (x, y, z, update): DEAP's individual base for
    the ``autolr`` space (``creator.create("Individual", AutoLRGenome, fitness=...)``).
    """

    def __init__(self, trees=()):
        super().__init__(trees)
        if len(self):
            _check_trees(self)

    @property
    def space(self):
        """The space this genome belongs to (the registered ``autolr`` space)."""
        return _space()

    # -- named access
    def tree(self, name):
        """The tree of function ``name`` ("x", "y", "z" or "update")."""
        return self[FUNCTIONS.index(name)]

    @property
    def height(self):
        """The largest height of the four trees (``gp.staticLimit``'s key)."""
        return max(tree.height for tree in self)

    # -- text, identity
    def __str__(self):
        return "; ".join(f"{name} = {tree}" for name, tree in zip(FUNCTIONS, self))

    def __repr__(self):
        return f"autolr({str(self)!r})"

    def key(self):
        """Canonical text: commutative arguments sorted (``add(grad, x)`` == ``add(x, grad)``)."""
        return "; ".join(f"{name} = {_canonical(tree)[0]}"
                         for name, tree in zip(FUNCTIONS, self))

    # -- documents
    def to_dict(self):
        """Plain data: ``{"space": "autolr", "x": text, "y": ..., "z": ..., "update": ...}``."""
        return {"space": "autolr", **{name: str(tree) for name, tree in zip(FUNCTIONS, self)}}

    def to_json(self, **kwargs):
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), **kwargs)

    # -- semantics
    def probe_updates(self, steps=PROBE_STEPS, size=PROBE_SIZE, seed=PROBE_SEED):
        """The update on fixed pseudo-random gradients over ``steps`` steps (steps, size)."""
        from .program import AutoLRProgram
        return probe(AutoLRProgram(self, NumpyBackend(batch_axes=0, seed=seed)), steps,
                     size, seed)

    def fingerprint(self, digits=6):
        """A stable semantic hash (the probe updates rounded to ``digits``), the same in
        every process."""
        text = ",".join(f"{v:.{digits}g}" for v in self.probe_updates().ravel())
        return "autolr:" + stable_hash(text)


def _parse_tree(name, text):
    pset = grammar.psets()[name]
    text = text.strip()
    if not text:
        raise ParseError(f"the {name} function is empty; write e.g. '{name} = "
                         f"{grammar.ARGUMENTS[name][-1]}'")
    try:
        tree = gp.PrimitiveTree.from_string(text, pset)
    except (TypeError, IndexError, KeyError, SyntaxError, NameError) as exc:
        raise ParseError(f"cannot read the {name} function {text!r}: {exc}. It may use "
                         f"{', '.join(grammar.OPERATORS)}, the terminals "
                         f"{', '.join(grammar.ARGUMENTS[name])} and the grammar's "
                         "constants (AutoLRSpace.constants)") from None
    for node in tree:
        if isinstance(node, gp.Terminal) and node.format() not in pset.mapping:
            raise ParseError(f"{node.format()!r} in the {name} function is not a terminal of "
                             f"the grammar: use {', '.join(grammar.ARGUMENTS[name])} or "
                             "one of its 100 constants (e.g. 8.92170603e-02)")
    open_slots = 1
    for i, node in enumerate(tree):
        if open_slots == 0:
            raise ParseError(f"unexpected text after the {name} function in {text!r}")
        open_slots += node.arity - 1
    if open_slots:
        raise ParseError(f"the {name} function {text!r} is incomplete")
    if re.sub(r"\s", "", text) != re.sub(r"\s", "", str(tree)):
        raise ParseError(f"malformed {name} function {text!r}: write calls as "
                         f"name(arg, ...), e.g. {tree}")
    if tree.height > MAX_PARSE_HEIGHT:
        raise ParseError(f"the {name} function is nested {tree.height} deep; at most "
                         f"{MAX_PARSE_HEIGHT}")
    return tree


def parse(text, cls=None):
    """A genome from ``"x = ...; y = ...; z = ...; update = ..."`` (all four, any order)."""
    if not isinstance(text, str):
        raise ParseError(f"an autolr genome is text, got {type(text).__name__}")
    parts = {}
    for piece in filter(None, (p.strip() for p in text.split(";"))):
        name, eq, expr = piece.partition("=")
        name = name.strip()
        if not eq or name not in FUNCTIONS:
            raise ParseError(f"expected 'NAME = expression' with NAME one of "
                             f"{', '.join(FUNCTIONS)}; got {piece!r}")
        if name in parts:
            raise ParseError(f"the {name} function is given twice in {text!r}")
        parts[name] = expr
    missing = [f for f in FUNCTIONS if f not in parts]
    if missing:
        raise ParseError(f"an autolr genome needs all four functions; missing "
                         f"{', '.join(missing)} (write 'z = z' to keep a state unused, "
                         "'update = x' to step by x)")
    return from_trees([_parse_tree(f, parts[f]) for f in FUNCTIONS], cls)


def from_trees(trees, cls=None):
    """A genome (of ``cls``, default :class:`AutoLRGenome`) from four trees."""
    return (cls or AutoLRGenome)(_check_trees(trees))


def from_dict(data, cls=None):
    """A genome from :meth:`AutoLRGenome.to_dict`'s document."""
    if not isinstance(data, dict):
        raise ParseError(f"an autolr genome document is a dict, got {type(data).__name__}")
    if data.get("space", "autolr") != "autolr":
        raise ParseError(f"this document is a genome of space {data['space']!r}, not "
                         "autolr; read it with deap_nos.spaces.genome_from_dict")
    missing = [f for f in FUNCTIONS if not isinstance(data.get(f), str)]
    if missing:
        raise ParseError(f"an autolr genome document needs the text of {', '.join(FUNCTIONS)};"
                         f" missing or not text: {', '.join(missing)}")
    return from_trees([_parse_tree(f, data[f]) for f in FUNCTIONS], cls)
