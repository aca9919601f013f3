"""Genes: the plain data a genome is made of, and the checks every genome passes.

:class:`Node` (a node of the update graph), :class:`DNode` and :class:`DecayGraph` (decay
functions), the momentum forms, :func:`validate` and the strict readers of the JSON form.
The bottom of the genome layer: :mod:`deap_nos.spaces.nos.syntax` (text), :mod:`deap_nos.program`
(compilation) and :mod:`deap_nos.spaces.nos.genome` (the individual, which uses both) build on it
and it imports none of them, so those modules never import each other in a circle.

Validation bounds a genome's size: at most :data:`MAX_DEPTH` nodes on the longest path to
the output and :data:`MAX_TERMS` operations once shared nodes are written out. Search
spaces use a handful of nodes, so the bounds never bind in a search; they guarantee that
every valid genome renders to text that parses back, and that no input (hostile JSON
included) makes rendering recurse or grow without limit.
"""
import hashlib
from collections import namedtuple

import networkx as nx

from ...errors import ArityError, CyclicGraphError, GenomeError
from .space import default_space, space_of

MOMENTUM_FORMS = ("none", "momentum", "nesterov")
HIDDEN = 0  # the reference a decay graph's output uses for its hidden node

#: Most nodes on any path to the output of a valid genome.
MAX_DEPTH = 100
#: Most operations in a valid genome's active expression, shared nodes written out.
MAX_TERMS = 10_000


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


def is_index(ref):
    """True when a node input ``ref`` is a node index (an ``int``, and not a ``bool``)."""
    return isinstance(ref, int) and not isinstance(ref, bool)


def _reads_hidden(ref):
    """True when a decay input ``ref`` reads the hidden node (the int 0, not False or 0.0)."""
    return is_index(ref) and ref == HIDDEN


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
        return any(_reads_hidden(ref) for ref in self.output.inputs)

    def key(self):
        """Canonical text of the active decay expression."""
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
    def from_dict(cls, d, where="decay function", aliases=None):
        """Inverse of :meth:`to_dict`; raises :class:`GenomeError` naming the bad field.

        ``where`` names the document's position in messages (``nodes[0].decays[1]``).
        Schedule ``aliases`` (alias → name, e.g. ``space.aliases``) are read as their
        canonical names, as the text reader does, so equal decays compare equal. Names
        and references are checked later, by :func:`validate_decay`.
        """
        d = read_object(d, "decay function", where, {"output": True, "hidden": False},
                        '{"output": {"op": name, "inputs": [...]}, "hidden": {...} or null}')
        output = _read_dnode(d["output"], f"{where}.output", aliases or {})
        hidden = d.get("hidden")
        if hidden is not None:
            hidden = _read_dnode(hidden, f"{where}.hidden", aliases or {})
        return cls(output, hidden)


def _read_dnode(d, where, aliases):
    d = read_object(d, "decay node", where, {"op": True, "inputs": True},
                    '{"op": name, "inputs": [schedule names or 0]}')
    inputs = read_list(d, "inputs", "decay node", where)
    return DNode(read_name(d, "op", "decay node", where),
                 [aliases.get(ref, ref) if isinstance(ref, str) else ref for ref in inputs])


def render_decay(decay):
    """A decay function as text, e.g. ``erfc(erfc(a4))`` (``id`` nodes are transparent)."""
    hidden = None
    if decay.uses_hidden:
        if decay.hidden is None or any(_reads_hidden(r) for r in decay.hidden.inputs):
            raise GenomeError("cannot render a decay function whose output reads a missing "
                              "or self-reading hidden node; validate_decay names the problem")
        hidden = _decay_call(decay.hidden, None)
    return _decay_call(decay.output, hidden)


def _decay_call(node, hidden):
    args = [hidden if _reads_hidden(ref) else ref if isinstance(ref, str) else brief(ref)
            for ref in node.inputs]
    if node.op == "id" and len(args) == 1:
        return args[0]
    return f"{node.op}({', '.join(args)})"


# ---------------------------------------------------------------------- wiring
def wiring(nodes):
    """The node-to-node wiring as a networkx DiGraph over node indices (operands left out)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(nodes)))
    graph.add_edges_from((ref, target) for target in range(len(nodes))
                         for ref in _reads(nodes, target))
    return graph


def active_order(nodes):
    """Indices of the nodes with a path to the output (the last node), in evaluation order.

    Raises :class:`CyclicGraphError` when the active part of the wiring has a cycle.
    """
    graph = wiring(nodes)
    output = len(nodes) - 1
    active = graph.subgraph(nx.ancestors(graph, output) | {output})
    if not nx.is_directed_acyclic_graph(active):
        raise CyclicGraphError(f"the graph has a cycle: {_cycle_text(active)}; a node may "
                               f"not read itself through other nodes")
    return list(nx.topological_sort(active))


def reading_order(nodes):
    """Active node indices, each after the nodes it reads: a depth-first walk from the output.

    The cheap twin of :func:`active_order` (no networkx graph is built) for rendering,
    which runs on every hash and comparison. Raises :class:`CyclicGraphError` on a cycle
    and :class:`GenomeError` on a reference to a missing node.
    """
    if not nodes:
        raise GenomeError("a genome needs at least an output node")
    output = len(nodes) - 1
    order, done, path = [], set(), {output}
    stack = [(output, iter(_reads(nodes, output)))]
    while stack:
        index, reads = stack[-1]
        ref = next(reads, None)
        if ref is None:
            stack.pop()
            path.discard(index)
            done.add(index)
            order.append(index)
        elif ref in path:
            raise CyclicGraphError(f"the graph has a cycle through node {ref}; a node may "
                                   f"not read itself through other nodes")
        elif ref not in done:
            path.add(ref)
            stack.append((ref, iter(_reads(nodes, ref))))
    return order


def _reads(nodes, index):
    """The node indices node ``index`` reads (a missing node is a GenomeError)."""
    reads = [ref for ref in nodes[index].inputs if is_index(ref)]
    for ref in reads:
        if not 0 <= ref < len(nodes):
            raise GenomeError(f"node {index} reads node {brief(ref)}, which does not exist "
                              f"(the genome has {len(nodes)} nodes)")
    return reads


def _cycle_text(graph, shown=6):
    cycle = nx.find_cycle(graph)
    return str(cycle[:shown])[:-1] + ", ...]" if len(cycle) > shown else str(cycle)


def check_size(nodes, order):
    """Raise :class:`GenomeError` when the active graph exceeds MAX_DEPTH or MAX_TERMS.

    ``order`` lists the active nodes, each after those it reads. One pass, stopping at
    the first node over a bound, so huge inputs are refused cheaply.
    """
    depth, terms = {}, {}
    for i in order:
        reads = [ref for ref in nodes[i].inputs if is_index(ref)]
        depth[i] = 1 + max((depth[r] for r in reads), default=0)
        terms[i] = 1 + sum(terms[r] for r in reads)
        if depth[i] > MAX_DEPTH:
            raise GenomeError(f"the graph is more than {MAX_DEPTH} nodes deep (node {i}); "
                              f"genomes are at most MAX_DEPTH = {MAX_DEPTH} nodes deep")
        if terms[i] > MAX_TERMS:
            raise GenomeError(f"the active expression has more than {MAX_TERMS} operations "
                              f"once shared nodes are written out (node {i}); genomes are "
                              f"at most MAX_TERMS = {MAX_TERMS} operations")


# ---------------------------------------------------------------------- validation
def validate(genome, space=None):
    """Check every name, arity, reference, the acyclicity and the size of ``genome``.

    Raises a :class:`~deap_nos.errors.NOSError` subclass naming the problem.
    Returns the genome, so it can be used inline.
    """
    space = space_of(genome, space)
    if not isinstance(genome.momentum, str) or genome.momentum not in MOMENTUM_FORMS:
        raise GenomeError(f"unknown momentum form {brief(genome.momentum)}; "
                          f"use one of {', '.join(MOMENTUM_FORMS)}")
    if not genome.nodes:
        raise GenomeError("a genome needs at least an output node")
    for i, node in enumerate(genome.nodes):
        _validate_node(genome.nodes, i, node, space)
    graph = wiring(genome.nodes)
    if not nx.is_directed_acyclic_graph(graph):
        raise CyclicGraphError(f"cyclic wiring {_cycle_text(graph)}: a node may not read "
                               f"itself through other nodes; rewire one input of the cycle")
    check_size(genome.nodes, reading_order(genome.nodes))
    return genome


def _validate_node(nodes, i, node, space):
    if not isinstance(node.op, str):
        raise GenomeError(f"node {i}: the operation must be a name, got {brief(node.op)}")
    prim = space.op(node.op)
    where = f"node {i} ({node.op})"
    if len(node.inputs) != prim.arity:
        raise ArityError(f"{where} takes {prim.arity} input(s), got {len(node.inputs)}")
    if len(node.decays) != len(node.inputs):
        raise GenomeError(f"{where} has {len(node.inputs)} inputs but {len(node.decays)} decays")
    for k, ref in enumerate(node.inputs):
        if isinstance(ref, str):
            space.operand(ref)
        elif not is_index(ref):
            raise GenomeError(f"{where}: input {k} is {brief(ref)}, neither an operand name "
                              f"nor a node index")
        else:
            _check_reference(nodes, i, where, ref)
    for k, decay in enumerate(node.decays):
        if decay is not None:
            validate_decay(decay, space, where=f"{where}, decay on input {k}")


def _check_reference(nodes, i, where, ref):
    output = len(nodes) - 1
    if ref == i:
        raise GenomeError(f"{where}: input {ref} is the node itself; read an operand or "
                          f"another hidden node")
    if 0 <= ref < output:
        return
    if output == 0:
        allowed = "but this genome has no hidden nodes; read an operand name (g, v_hat, ...)"
    elif output == 1:
        allowed = "and the only hidden node is 0"
    else:
        allowed = f"0..{output - 1}"
    raise GenomeError(f"{where}: input {brief(ref)} must be another hidden node, {allowed}")


def validate_decay(decay, space=None, where="decay function"):
    """Check the names, arities and references of a :class:`DecayGraph`.

    ``where`` prefixes the messages (:func:`validate` names the node and input).
    """
    space = space or default_space()
    if not isinstance(decay, DecayGraph):
        raise GenomeError(f"{where}: expected a DecayGraph, got {brief(decay)}")
    for label, node in (("hidden", decay.hidden), ("output", decay.output)):
        if node is None:
            if label == "output" or decay.uses_hidden:
                raise GenomeError(f"{where}: the decay function's {label} node is missing")
            continue
        if not isinstance(node.op, str):
            raise GenomeError(f"{where}: the {label} node's operation must be a name, got "
                              f"{brief(node.op)}")
        prim = space.decay_op(node.op)
        if len(node.inputs) != prim.arity:
            raise ArityError(f"{where}: decay {label} node {node.op} takes {prim.arity} "
                             f"input(s), got {len(node.inputs)}")
        for ref in node.inputs:
            if _reads_hidden(ref):
                if label == "hidden":
                    raise GenomeError(f"{where}: a decay function's hidden node reads "
                                      f"schedules only")
            elif isinstance(ref, str):
                space.schedule_name(ref)
            else:
                raise GenomeError(f"{where}: decay input {brief(ref)} is neither a schedule "
                                  f"nor 0 (hidden)")
    return decay


# ---------------------------------------------------------------------- JSON fields
def brief(value, width=40):
    """A short description of ``value`` for an error message: never a deep or huge repr."""
    if isinstance(value, str):
        return repr(value[:width]) + ("..." if len(value) > width else "")
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        bits = value.bit_length()
        return repr(value) if bits <= 64 else f"an integer of {bits} bits"
    if isinstance(value, dict):
        return f"an object with {len(value)} field(s)"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)} item(s)"
    return f"a {type(value).__name__}"


def _malformed(what, where):
    return f"malformed {what} {where}" if where else f"malformed {what}"


def read_object(value, what, where, fields, shape):
    """``value`` checked as a JSON object with the ``fields`` (name → required) and no others."""
    def fail(problem):
        raise GenomeError(f"{_malformed(what, where)}: {problem}; a {what} is {shape}")
    if not isinstance(value, dict):
        fail(f"expected a JSON object, got {brief(value)}")
    for name in value:
        if name not in fields:
            fail(f"unknown field {brief(name)}")
    for name, required in fields.items():
        if required and name not in value:
            fail(f"missing field {name!r}")
    return value


def read_name(d, field, what, where):
    """The string in ``d[field]``, or a :class:`GenomeError` naming the field."""
    value = d[field]
    if not isinstance(value, str):
        raise GenomeError(f"{_malformed(what, where)}: field {field!r} must be a name (a "
                          f"string), got {brief(value)}")
    return value


def read_list(d, field, what, where, default=None):
    """The list in ``d[field]`` (``default`` when absent), or a :class:`GenomeError`."""
    if field not in d and default is not None:
        return default
    value = d[field]
    if not isinstance(value, (list, tuple)):
        raise GenomeError(f"{_malformed(what, where)}: field {field!r} must be a list, got "
                          f"{brief(value)}")
    return list(value)


def stable_hash(text):
    """A hash of ``text`` that is the same in every process (unlike ``hash``)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


__all__ = ["Node", "DNode", "DecayGraph", "HIDDEN", "MOMENTUM_FORMS", "MAX_DEPTH",
           "MAX_TERMS", "validate", "validate_decay", "render_decay", "wiring",
           "active_order", "reading_order", "check_size", "is_index", "brief", "stable_hash"]
