"""Genomes: the update graph (:class:`OptimizerGraph`) and decay functions (:class:`DecayGraph`).

Genomes are plain data — names and wiring, never tensors or callables — so they pickle
cheaply, compare and hash canonically, and round-trip through text (:func:`parse`,
``str(genome)``) and JSON. An :class:`OptimizerGraph` is a usable base class for a DEAP
individual::

    creator.create("Individual", nos.OptimizerGraph, fitness=creator.FitnessMax)

Wiring. ``nodes`` is a list of :class:`Node`; the last one is the output node, the others
are hidden nodes. A node input is either an operand name (``str``) or the index of a hidden
node (``int``). Each input edge may carry a :class:`DecayGraph` that multiplies the value
travelling along it. Only nodes with a path to the output are active; networkx decides
activity, acyclicity and evaluation order.

Layout. The genes (:class:`Node`, :class:`DecayGraph`, :func:`validate`) live in
:mod:`deap_nos.spaces.nos.genes`; text in :mod:`deap_nos.spaces.nos.syntax`; the
semantic fingerprint in :mod:`deap_nos.program`. This module sits on top of the three
and ties them into the individual; none of them imports it. The genes are re-exported here.
"""
import json

import networkx as nx

from ...errors import GenomeError, NOSError
from .genes import (HIDDEN, MAX_DEPTH, MAX_TERMS, MOMENTUM_FORMS, DecayGraph, DNode, Node,
                    active_order, brief, is_index, read_list, read_name, read_object,
                    stable_hash, validate, validate_decay, wiring)
from ...program import semantic_fingerprint
from .space import default_space, space_of
from ..identity import KeyIdentity
from .syntax import canonical_expression, read_genome, render

_GENOME_SHAPE = '{"nodes": [...], "momentum": "none" | "momentum" | "nesterov", "flip": bool}'
_NODE_SHAPE = '{"op": name, "inputs": [...], "decays": [...]}'


class OptimizerGraph(KeyIdentity):
    """An optimizer's update equation: a graph, its momentum form and its sign flip.

    Parameters
    ----------
    nodes : sequence of Node
        Hidden nodes followed by the output node (last).
    momentum : {"none", "momentum", "nesterov"}
        The update form of docs/reference.md §1.
    flip : bool
        Use ``-u`` instead of ``u`` (set by the integrity check when only the reversed
        sign descends).

    Two genomes are equal when they compute the same active graph (same momentum form,
    flip and canonical expression), whatever their inactive nodes.
    """

    def __init__(self, nodes=(), momentum="none", flip=False, space=None):
        self.nodes = [n if isinstance(n, Node) else Node(*n) for n in nodes]
        self.momentum = momentum
        self.flip = bool(flip)
        #: the genome's search space (as DEAP's trees carry their primitive set's
        #: names): a genome built without one belongs to the paper's space
        self.space = space if space is not None else default_space()

    def __setstate__(self, state):
        """Genomes pickled before 0.3 carry no space: they are the paper's."""
        self.__dict__.update(state)
        if self.__dict__.get("space") is None:
            self.space = default_space()

    # ------------------------------------------------------------------ structure
    @property
    def output(self):
        """Index of the output node."""
        return len(self.nodes) - 1

    @property
    def n_hidden(self):
        """Number of hidden nodes (active or not)."""
        return len(self.nodes) - 1

    def edges(self):
        """Yield ``(source, target)`` for every node-to-node edge (sources are node indices)."""
        for target, node in enumerate(self.nodes):
            for ref in node.inputs:
                if is_index(ref):
                    yield ref, target

    def digraph(self):
        """The wiring as a networkx DiGraph over node indices (operands left out)."""
        return wiring(self.nodes)

    def is_acyclic(self):
        """True when the wiring has no cycle."""
        return nx.is_directed_acyclic_graph(self.digraph())

    def active_nodes(self):
        """Indices of the nodes with a path to the output, output included, in evaluation order."""
        return active_order(self.nodes)

    def active_operands(self):
        """Names of the operands read by active nodes."""
        return sorted({ref for i in self.active_nodes() for ref in self.nodes[i].inputs
                       if isinstance(ref, str)})

    def decays(self):
        """Active ``(node index, input position, DecayGraph)`` triples."""
        return [(i, k, d) for i in self.active_nodes()
                for k, d in enumerate(self.nodes[i].decays) if d is not None]

    # ------------------------------------------------------------------ identity
    def key(self, space=None):
        """Canonical text: the momentum form, flip and the active expression.

        Commutative operations have their arguments sorted and ``id`` nodes are
        transparent, so wirings that compute the same graph share one key.
        """
        return f"{self.momentum}|{int(self.flip)}|{canonical_expression(self, space_of(self, space))}"

    def fingerprint(self, space=None):
        """Semantic hash: the update values on fixed probe inputs (see :mod:`deap_nos.program`).

        Genomes that compute the same update however they are wired (``add(g, g)`` and
        ``mul(two, g)``) share a fingerprint. Cached on the genome against its key.
        """
        key = self.key()
        cached = getattr(self, "_fingerprint", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        fp = semantic_fingerprint(self, space_of(self, space))
        self._fingerprint = (key, fp)
        return fp

    def __str__(self):
        return render(self)

    def __repr__(self):
        return f"{type(self).__name__}.parse({str(self)!r})"

    def __len__(self):
        return len(self.active_nodes())

    # ------------------------------------------------------------------ serialisation
    def to_dict(self):
        """Plain data: momentum, flip and every node (inactive ones too)."""
        return {
            "space": getattr(self.space, "name", "nos"),
            "momentum": self.momentum,
            "flip": self.flip,
            "nodes": [{"op": n.op, "inputs": list(n.inputs),
                       "decays": [d.to_dict() if d is not None else None for d in n.decays]}
                      for n in self.nodes],
        }

    def to_json(self, **kwargs):
        """JSON text of :meth:`to_dict`; ``kwargs`` go to :func:`json.dumps`."""
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, data, space=None):
        """Inverse of :meth:`to_dict`, validated against ``space`` (default: the paper's).

        The document is read strictly: ``flip`` is a JSON boolean, ``momentum`` a form
        name, each node an object with exactly ``op``, ``inputs`` and (optionally)
        ``decays``. Anything else raises a :class:`GenomeError` naming the field.
        Schedule aliases are read as their canonical names (``linear_decay`` → ``a1``).
        """
        read_object(data, "genome document", "", {"nodes": True, "momentum": False,
                                                  "flip": False, "space": False},
                    _GENOME_SHAPE)
        if space is None:        # the document names its space; before 0.3: the paper's
            space = _read_space(data)
        nodes = [_read_node(n, f"nodes[{i}]", space.aliases)
                 for i, n in enumerate(read_list(data, "nodes", "genome document", ""))]
        genome = cls(nodes, _read_momentum(data), _read_flip(data))
        genome.space = space
        validate(genome, space)
        return genome

    @classmethod
    def from_json(cls, text, space=None):
        """Read a genome from JSON text (see :meth:`to_json`)."""
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise GenomeError(f"not valid JSON for a genome: {exc}") from None
        except RecursionError:
            raise GenomeError("not valid JSON for a genome: nested too deeply") from None
        return cls.from_dict(data, space)

    @classmethod
    def parse(cls, text, space=None, pad=True):
        """Read a genome of this class from the text syntax (see :func:`parse`)."""
        return parse(text, space, cls, pad)


def _read_node(d, where, aliases):
    d = read_object(d, "node", where, {"op": True, "inputs": True, "decays": False},
                    _NODE_SHAPE)
    inputs = read_list(d, "inputs", "node", where)
    decays = read_list(d, "decays", "node", where, default=[None] * len(inputs))
    return Node(read_name(d, "op", "node", where), inputs,
                [None if decay is None
                 else DecayGraph.from_dict(decay, f"{where}.decays[{k}]", aliases)
                 for k, decay in enumerate(decays)])


def _read_space(data):
    name = data.get("space", "nos")
    if not isinstance(name, str):
        raise GenomeError(f"malformed genome document: field 'space' must be a space "
                          f"name (a string such as \"nos\"); got {brief(name)}")
    if name == "nos":
        return default_space()
    from ... import spaces
    return spaces.get(name)


def _read_momentum(data):
    momentum = data.get("momentum", "none")
    if not isinstance(momentum, str) or momentum not in MOMENTUM_FORMS:
        raise GenomeError(f"malformed genome document: field 'momentum' must be a momentum "
                          f"form, one of {', '.join(MOMENTUM_FORMS)}; got {brief(momentum)}")
    return momentum


def _read_flip(data):
    flip = data.get("flip", False)
    if not isinstance(flip, bool):
        raise GenomeError(f"malformed genome document: field 'flip' must be true or false "
                          f"(a JSON boolean); got {brief(flip)}")
    return flip


def parse(text, space=None, cls=OptimizerGraph, pad=True):
    """Read a genome from text.

    Parameters
    ----------
    text : str
        ``[header:] expr`` (see :mod:`deap_nos.spaces.nos.syntax`).
    space : SearchSpace, optional
        The names allowed (default: the paper's space).
    cls : type
        Class of the result, e.g. a DEAP ``creator.Individual``.
    pad : bool
        Add inactive ``id(g)`` hidden nodes up to ``space.n_hidden``, so that mutation
        has the usual number of nodes to rewire to.

    Raises :class:`~deap_nos.errors.ParseError` for malformed text,
    :class:`~deap_nos.errors.UnknownNameError` for unknown names and another
    :class:`~deap_nos.errors.NOSError` for a genome that does not validate.
    """
    space = space or default_space()
    genome = cls(*read_genome(text, space, pad))
    genome.space = space
    return validate(genome, space)


__all__ = ["Node", "DNode", "DecayGraph", "OptimizerGraph", "parse", "validate",
           "validate_decay", "MOMENTUM_FORMS", "HIDDEN", "MAX_DEPTH", "MAX_TERMS",
           "stable_hash", "NOSError"]
