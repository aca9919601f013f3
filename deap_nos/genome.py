"""Genomes: the update graph (:class:`OptimizerGraph`) and decay functions (:class:`DecayGraph`).

Genomes are plain data — names and wiring, never tensors or callables — so they pickle
cheaply, compare and hash canonically, and round-trip through text (:mod:`deap_nos.syntax`)
and JSON. An :class:`OptimizerGraph` is a usable base class for a DEAP individual::

    creator.create("Individual", nos.OptimizerGraph, fitness=creator.FitnessMax)

Wiring. ``nodes`` is a list of :class:`Node`; the last one is the output node, the others
are hidden nodes. A node input is either an operand name (``str``) or the index of a hidden
node (``int``). Each input edge may carry a :class:`DecayGraph` that multiplies the value
travelling along it. Only nodes with a path to the output are active; networkx decides
activity, acyclicity and evaluation order.
"""
import hashlib
import json
from collections import namedtuple

import networkx as nx

from .errors import ArityError, CyclicGraphError, GenomeError, NOSError

MOMENTUM_FORMS = ("none", "momentum", "nesterov")


class Node(namedtuple("Node", "op inputs decays")):
    """One node of a graph: operation name, input references, one decay (or None) per input."""

    __slots__ = ()

    def __new__(cls, op, inputs, decays=None):
        inputs = tuple(inputs)
        decays = tuple(decays) if decays is not None else (None,) * len(inputs)
        return super().__new__(cls, op, inputs, decays)


class DNode(namedtuple("DNode", "op inputs")):
    """A node of a decay graph: operation name and inputs (schedule names, or 0 = hidden)."""

    __slots__ = ()

    def __new__(cls, op, inputs):
        return super().__new__(cls, op, tuple(inputs))


HIDDEN = 0  # the reference a decay graph's output uses for its hidden node


class DecayGraph:
    """A decay function: one hidden node over schedules, one output node.

    The output reads schedules or the hidden node (``0``); the hidden node is inactive
    when the output does not read it. Equality and hashing are canonical (the rendered
    active expression), so an inactive hidden node never makes two decays differ.
    """

    __slots__ = ("hidden", "output")

    def __init__(self, output, hidden=None):
        self.output = output if isinstance(output, DNode) else DNode(*output)
        self.hidden = hidden if hidden is None or isinstance(hidden, DNode) else DNode(*hidden)

    @property
    def uses_hidden(self):
        """True when the output node reads the hidden node."""
        return HIDDEN in self.output.inputs

    def key(self):
        """Canonical text of the active decay expression."""
        from .syntax import render_decay
        return render_decay(self)

    def __str__(self):
        return self.key()

    def __repr__(self):
        return f"DecayGraph({self.key()!r})"

    def __eq__(self, other):
        return isinstance(other, DecayGraph) and self.key() == other.key()

    def __hash__(self):
        return hash(self.key())

    def __getstate__(self):
        return (self.output, self.hidden)

    def __setstate__(self, state):
        self.output, self.hidden = state

    def to_dict(self):
        """Plain-data form used by JSON."""
        d = {"output": {"op": self.output.op, "inputs": list(self.output.inputs)}}
        if self.hidden is not None:
            d["hidden"] = {"op": self.hidden.op, "inputs": list(self.hidden.inputs)}
        return d

    @classmethod
    def from_dict(cls, d):
        """Inverse of :meth:`to_dict`; raises :class:`GenomeError` on malformed data."""
        try:
            out = DNode(d["output"]["op"], d["output"]["inputs"])
            hid = d.get("hidden")
            hid = DNode(hid["op"], hid["inputs"]) if hid is not None else None
        except (KeyError, TypeError, AttributeError) as exc:
            raise GenomeError(f"malformed decay function {d!r}: expected "
                              f"{{'output': {{'op', 'inputs'}}, 'hidden': ...}} ({exc})") from None
        return cls(out, hid)


class OptimizerGraph:
    """An optimizer's update equation: a graph, its momentum form and its sign flip.

    Parameters
    ----------
    nodes : sequence of Node
        Hidden nodes followed by the output node (last).
    momentum : {"none", "momentum", "nesterov"}
        The update form of SEARCH_SPACE.md §1.
    flip : bool
        Use ``-u`` instead of ``u`` (set by the integrity check when only the reversed
        sign descends).

    Two genomes are equal when they compute the same active graph (same momentum form,
    flip and canonical expression), whatever their inactive nodes.
    """

    def __init__(self, nodes=(), momentum="none", flip=False):
        self.nodes = [n if isinstance(n, Node) else Node(*n) for n in nodes]
        self.momentum = momentum
        self.flip = bool(flip)

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
                if isinstance(ref, int):
                    yield ref, target

    def digraph(self):
        """The wiring as a networkx DiGraph over node indices (operands left out)."""
        graph = nx.DiGraph()
        graph.add_nodes_from(range(len(self.nodes)))
        graph.add_edges_from(self.edges())
        return graph

    def is_acyclic(self):
        """True when the wiring has no cycle."""
        return nx.is_directed_acyclic_graph(self.digraph())

    def active_nodes(self):
        """Indices of the nodes with a path to the output, output included, in evaluation order."""
        graph = self.digraph()
        if not nx.is_directed_acyclic_graph(graph):
            raise CyclicGraphError(f"the graph has a cycle: {nx.find_cycle(graph)}; "
                                   f"a node may not read itself through other nodes")
        active = nx.ancestors(graph, self.output) | {self.output}
        return list(nx.topological_sort(graph.subgraph(active)))

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
        from .syntax import canonical_expression
        return f"{self.momentum}|{int(self.flip)}|{canonical_expression(self, space)}"

    def fingerprint(self, space=None):
        """Semantic hash: the update values on fixed probe inputs (see :mod:`deap_nos.program`).

        Genomes that compute the same update however they are wired (``add(g, g)`` and
        ``mul(two, g)``) share a fingerprint. Cached on the genome against its key.
        """
        key = self.key()
        cached = getattr(self, "_fingerprint", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        from .program import semantic_fingerprint
        fp = semantic_fingerprint(self, space)
        self._fingerprint = (key, fp)
        return fp

    def __eq__(self, other):
        if not isinstance(other, OptimizerGraph):
            return NotImplemented
        return self.key() == other.key()

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self):
        return hash(self.key())

    def __str__(self):
        from .syntax import render
        return render(self)

    def __repr__(self):
        return f"{type(self).__name__}.parse({str(self)!r})"

    def __len__(self):
        return len(self.active_nodes())

    # ------------------------------------------------------------------ serialisation
    def to_dict(self):
        """Plain data: momentum, flip and every node (inactive ones too)."""
        return {
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
        """Inverse of :meth:`to_dict`, validated against ``space`` (default: the paper's)."""
        if not isinstance(data, dict) or "nodes" not in data:
            raise GenomeError(f"a genome document is a JSON object with 'nodes', "
                              f"'momentum' and 'flip'; got {str(data)[:80]!r}")
        try:
            nodes = [Node(n["op"], n["inputs"],
                          [DecayGraph.from_dict(d) if d is not None else None
                           for d in n.get("decays", [None] * len(n["inputs"]))])
                     for n in data["nodes"]]
        except (KeyError, TypeError) as exc:
            raise GenomeError(f"malformed node in genome document: {exc!r}; each node is "
                              f"{{'op': name, 'inputs': [...], 'decays': [...]}}") from None
        genome = cls(nodes, data.get("momentum", "none"), data.get("flip", False))
        validate(genome, space)
        return genome

    @classmethod
    def from_json(cls, text, space=None):
        """Read a genome from JSON text (see :meth:`to_json`)."""
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise GenomeError(f"not valid JSON for a genome: {exc}") from None
        return cls.from_dict(data, space)

    @classmethod
    def parse(cls, text, space=None):
        """Read a genome from the text syntax (see :func:`deap_nos.parse`)."""
        from .syntax import parse
        return parse(text, space, cls=cls)


# ---------------------------------------------------------------------- validation
def validate(genome, space=None):
    """Check every name, arity, reference and the acyclicity of ``genome``.

    Raises a :class:`~deap_nos.errors.NOSError` subclass naming the problem.
    Returns the genome, so it can be used inline.
    """
    from .space import default_space
    space = space or default_space()
    if genome.momentum not in MOMENTUM_FORMS:
        raise GenomeError(f"unknown momentum form {genome.momentum!r}; "
                          f"use one of {', '.join(MOMENTUM_FORMS)}")
    if not genome.nodes:
        raise GenomeError("a genome needs at least an output node")
    for i, node in enumerate(genome.nodes):
        _validate_node(genome, i, node, space)
    if not genome.is_acyclic():
        cycle = nx.find_cycle(genome.digraph())
        raise CyclicGraphError(f"cyclic wiring {cycle}: a node may not read itself "
                               f"through other nodes; rewire one input of the cycle")
    return genome


def _validate_node(genome, i, node, space):
    prim = space.op(node.op)
    where = f"node {i} ({node.op})"
    if len(node.inputs) != prim.arity:
        raise ArityError(f"{where} takes {prim.arity} input(s), got {len(node.inputs)}")
    if len(node.decays) != len(node.inputs):
        raise GenomeError(f"{where} has {len(node.inputs)} inputs but {len(node.decays)} decays")
    for ref in node.inputs:
        if isinstance(ref, bool) or not isinstance(ref, (str, int)):
            raise GenomeError(f"{where}: input {ref!r} is neither an operand name nor a node index")
        if isinstance(ref, str):
            space.operand(ref)
        elif not 0 <= ref < genome.output or ref == i:
            raise GenomeError(f"{where}: input {ref} must be another hidden node, "
                              f"0..{genome.output - 1}")
    for decay in node.decays:
        if decay is not None:
            validate_decay(decay, space)


def validate_decay(decay, space=None):
    """Check the names, arities and references of a :class:`DecayGraph`."""
    from .space import default_space
    space = space or default_space()
    if not isinstance(decay, DecayGraph):
        raise GenomeError(f"expected a DecayGraph, got {decay!r}")
    for label, node in (("hidden", decay.hidden), ("output", decay.output)):
        if node is None:
            if label == "output" or decay.uses_hidden:
                raise GenomeError(f"the decay function's {label} node is missing")
            continue
        prim = space.decay_op(node.op)
        if len(node.inputs) != prim.arity:
            raise ArityError(f"decay {label} node {node.op} takes {prim.arity} input(s), "
                             f"got {len(node.inputs)}")
        for ref in node.inputs:
            if ref == HIDDEN and not isinstance(ref, bool) and isinstance(ref, int):
                if label == "hidden":
                    raise GenomeError("a decay function's hidden node reads schedules only")
            elif isinstance(ref, str):
                space.schedule_name(ref)
            else:
                raise GenomeError(f"decay input {ref!r} is neither a schedule nor 0 (hidden)")
    return decay


def stable_hash(text):
    """A hash of ``text`` that is the same in every process (unlike ``hash``)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


__all__ = ["Node", "DNode", "DecayGraph", "OptimizerGraph", "validate", "validate_decay",
           "MOMENTUM_FORMS", "HIDDEN", "stable_hash", "NOSError"]
