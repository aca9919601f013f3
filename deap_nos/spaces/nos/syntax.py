"""The text syntax of genomes: ``[header:] expr``.

``header`` is a comma-separated list of ``none`` / ``momentum`` / ``nesterov`` (the update
form, default ``none``) and ``flip`` (use ``-u``). ``expr`` is an operand name, ``op(expr)``,
``op(expr, expr)`` or ``decay(expr, d)``, where ``d`` is a decay function over the
schedules ``a1`` … ``a14`` (or their aliases): ``a4``, ``erfc(a4)``, ``erfc(erfc(a4))``,
``max(a6, a10)``. Identical sub-expressions become one node.

Examples::

    nos.parse("div(v_hat, sqrt_abs(s_hat))")                 # Adam, β₂ = 0.99
    nos.parse("nesterov: mul(decay(g, erfc(a11)), exp(atan(qh_s)))")   # Opt9

This module turns text into genes (:func:`read_genome`, :func:`parse_decay`) and genes
into text (:func:`render`, :func:`canonical_expression`); :func:`deap_nos.parse` and
``str(genome)`` use it. Nothing here recurses: expressions are read with an explicit
stack, at most :data:`MAX_NESTING` calls deep, and written bottom-up in evaluation order.
"""
import re
from collections import namedtuple

from ...errors import ArityError, ParseError
from .genes import (HIDDEN, MAX_DEPTH, MOMENTUM_FORMS, DecayGraph, DNode, Node,
                    check_size, reading_order, render_decay)
from .space import default_space, space_of

#: Deepest nesting of calls the parser reads. A valid genome (at most MAX_DEPTH nodes
#: deep) renders within it: each node adds a call and perhaps a ``decay(...)`` around
#: its value, and the innermost decay function adds two more.
MAX_NESTING = 2 * MAX_DEPTH + 2

_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|(.))", re.DOTALL)
Call = namedtuple("Call", "name args pos")


# ---------------------------------------------------------------------- rendering
def render(genome):
    """The genome as text: header (when not plain ``none``) and the active expression."""
    header = [genome.momentum] if genome.momentum != "none" else []
    if genome.flip:
        header.append("flip")
    expr = _active_expression(genome.nodes, sort=None)
    return f"{', '.join(header)}: {expr}" if header else expr


def canonical_expression(genome, space=None):
    """The active expression with commutative arguments sorted (used by equality)."""
    space = space_of(genome, space)
    return _active_expression(genome.nodes, sort=space.commutative)


def _active_expression(nodes, sort):
    """The output node's text, written node by node in evaluation order (no recursion)."""
    order = reading_order(nodes)
    check_size(nodes, order)
    text = {}
    for i in order:
        node = nodes[i]
        args = [_edge(ref if isinstance(ref, str) else text[ref], decay)
                for ref, decay in zip(node.inputs, node.decays)]
        if node.op == "id" and len(args) == 1:
            text[i] = args[0]
            continue
        if sort is not None and node.op in sort:
            args.sort()
        text[i] = f"{node.op}({', '.join(args)})"
    return text[len(nodes) - 1]


def _edge(text, decay):
    return f"decay({text}, {render_decay(decay)})" if decay is not None else text


# ---------------------------------------------------------------------- parsing
def read_genome(text, space=None, pad=True):
    """The genes of a genome written as text: ``(nodes, momentum, flip)``.

    ``pad`` adds inactive ``id(g)`` hidden nodes up to ``space.n_hidden``. Use
    :func:`deap_nos.parse`, which builds and validates the genome; this is its reader.
    Raises :class:`~deap_nos.errors.ParseError` for malformed text and
    :class:`~deap_nos.errors.UnknownNameError` for unknown names.
    """
    space = space or default_space()
    if not isinstance(text, str):
        raise ParseError(f"expected a text expression, got {type(text).__name__}")
    header, body, offset = _split_header(text)
    momentum, flip = _read_header(header)
    tree = _Parser(body, text, offset).parse()
    nodes = _GraphBuilder(space, text).build(tree)
    hidden, output = nodes[:-1], nodes[-1]
    if pad:
        hidden += [Node("id", ["g"])] * max(0, space.n_hidden - len(hidden))
    return hidden + [output], momentum, flip


def parse_decay(text, space=None):
    """Read a :class:`~deap_nos.spaces.nos.genes.DecayGraph` from text such as
    ``erfc(erfc(a4))``."""
    space = space or default_space()
    if not isinstance(text, str):
        raise ParseError(f"expected a text decay function, got {type(text).__name__}")
    tree = _Parser(text, text, 0).parse()
    return _GraphBuilder(space, text).decay(tree)


def _split_header(text):
    if ":" in text:
        head, body = text.split(":", 1)
        return head, body, len(head) + 1
    return "", text, 0


def _read_header(header):
    words = [w.strip() for w in header.split(",")] if header.strip() else []
    momentum, flip = "none", False
    for word in words:
        if word == "flip":
            flip = True
        elif word in MOMENTUM_FORMS:
            momentum = word
        else:
            shown = repr(word[:40]) + ("..." if len(word) > 40 else "")
            raise ParseError(f"unknown header word {shown}; the header is a comma-separated "
                             f"list of {', '.join(MOMENTUM_FORMS)} and flip, followed by ':'")
    return momentum, flip


def _pointer(text, pos, width=60):
    """The text around ``pos`` with a caret under it (long texts are cut to a window)."""
    start, end = max(0, pos - width), pos + width
    before = "..." if start else ""
    after = "..." if end < len(text) else ""
    window = re.sub(r"\s", " ", text[start:end])
    return f"  {before}{window}{after}\n  {' ' * (len(before) + pos - start)}^"


def _fail(text, message, pos, error=ParseError):
    raise error(f"{message} at position {pos}:\n{_pointer(text, pos)}")


class _Parser:
    """Shift-reduce over NAME, '(', ',', ')' with an explicit stack of open calls."""

    def __init__(self, body, text, offset):
        self.text = text
        self.tokens = []
        for match in _TOKEN.finditer(body):
            name, char = match.groups()
            if name is None and char is None:
                continue
            if char is not None and char not in "(),":
                self._fail(f"unexpected character {char!r}", offset + match.start(2))
            self.tokens.append((name or char, offset + match.start(1 if name else 2)))
        self.end = len(text)
        self.i = 0

    def _fail(self, message, pos):
        _fail(self.text, message, pos)

    def _peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, self.end)

    def _take(self, expected):
        tok, pos = self._peek()
        if tok is None:
            self._fail(f"unexpected end of expression, expected {expected}", pos)
        self.i += 1
        return tok, pos

    def parse(self):
        """The parse tree of the whole text (a :class:`Call`)."""
        if not self.tokens:
            self._fail("empty expression", self.end)
        tree = self._expression()
        tok, pos = self._peek()
        if tok is not None:
            self._fail(f"unexpected {tok!r} after a complete expression", pos)
        return tree

    def _expression(self):
        open_calls = []            # (name, pos, args so far) of calls awaiting ')'
        while True:
            name, pos = self._take("a name")
            if name in "(),":
                self._fail(f"expected a name, found {name!r}", pos)
            if self._peek()[0] == "(":
                if len(open_calls) == MAX_NESTING:
                    self._fail(f"calls nested more than {MAX_NESTING} deep; a genome is at "
                               f"most {MAX_DEPTH} nodes deep (search spaces use a handful), "
                               f"so this is not a genome: write a shallower expression", pos)
                self.i += 1
                open_calls.append((name, pos, []))
                continue
            tree = Call(name, None, pos)
            while open_calls:      # a value is complete: close the calls it completes
                open_calls[-1][2].append(tree)
                tok, tok_pos = self._take("',' or ')'")
                if tok == ",":
                    break
                if tok != ")":
                    self._fail(f"expected ',' or ')', found {tok!r}", tok_pos)
                name, pos, args = open_calls.pop()
                tree = Call(name, tuple(args), pos)
            else:
                return tree


class _GraphBuilder:
    """Turns a parse tree into nodes (hidden nodes first, output last), bottom-up."""

    def __init__(self, space, text):
        self.space = space
        self.text = text
        self.nodes = []
        self.index = {}   # rendered node -> hidden index (shared sub-expressions)

    def _fail(self, message, pos, error=ParseError):
        _fail(self.text, message, pos, error)

    def build(self, tree):
        """The nodes of the whole expression; its root call becomes the output node."""
        ref, decay = self.edge(tree)
        if isinstance(ref, int) and decay is None and ref == len(self.nodes) - 1:
            output = self.nodes.pop()
            self.index = {k: v for k, v in self.index.items() if v != ref}
        else:
            output = Node("id", [ref], [decay])
        return self.nodes + [output]

    def edge(self, root):
        """(reference, decay) for an expression appearing as a node input.

        A post-order walk with an explicit stack: a call's checks run when it is first
        seen (before its arguments, as a reader expects), its node is added once its
        arguments are done.
        """
        values = []
        todo = [(root, None)]
        while todo:
            tree, inputs = todo.pop()
            if tree.args is None:
                values.append((self._leaf(tree), None))
            elif inputs is None:
                inputs = self._inputs(tree)
                todo.append((tree, inputs))
                todo.extend((arg, None) for arg in reversed(inputs))
            else:
                args = values[len(values) - len(inputs):]
                del values[len(values) - len(inputs):]
                values.append(self._node(tree, args))
        return values[0]

    def _inputs(self, tree):
        """The argument expressions of a call that become node inputs, checked."""
        if tree.name == "decay":
            if len(tree.args) != 2:
                self._fail(f"decay takes (expression, decay function), got {len(tree.args)} "
                           f"argument(s)", tree.pos)
            return tree.args[:1]
        prim = self._op(tree)
        if len(tree.args) != prim.arity:
            self._fail(f"{tree.name} takes {prim.arity} input(s), got {len(tree.args)}",
                       tree.pos, ArityError)
        return tree.args

    def _node(self, tree, args):
        """(reference, decay) of a call whose inputs ``args`` are built."""
        if tree.name == "decay":
            ref, inner = args[0]
            if inner is not None:     # an edge carries one decay: insert an id node
                ref = self._add(Node("id", [ref], [inner]))
            return ref, self.decay(tree.args[1])
        refs, decays = zip(*args)
        return self._add(Node(tree.name, refs, decays)), None

    def _op(self, tree):
        if tree.name in self.space.operands:
            self._fail(f"{tree.name!r} is an operand, not an operation; write it without "
                       f"parentheses", tree.pos)
        if tree.name in self.space.schedules or tree.name in self.space.aliases:
            self._fail(f"schedule {tree.name!r} may only appear inside decay(x, ...)", tree.pos)
        return self.space.op(tree.name)

    def _leaf(self, tree):
        name = tree.name
        if name in self.space.ops:
            self._fail(f"{name!r} is an operation; call it with its input(s), e.g. {name}(g)",
                       tree.pos)
        if name in self.space.schedules or name in self.space.aliases:
            self._fail(f"schedule {name!r} may only appear inside decay(x, ...)", tree.pos)
        self.space.operand(name)
        return name

    def _add(self, node):
        key = repr(node)
        if key not in self.index:
            self.nodes.append(node)
            self.index[key] = len(self.nodes) - 1
        return self.index[key]

    # ------------------------------------------------------------------ decays
    def decay(self, tree):
        """A DecayGraph from a parse tree (one hidden node at most)."""
        if tree.args is None:
            return DecayGraph(DNode("id", [self._schedule(tree)]))
        hidden = []
        inputs = []
        for arg in self._decay_args(tree):
            if arg.args is None:
                inputs.append(self._schedule(arg))
                continue
            node = DNode(arg.name, [self._schedule(a) if a.args is None else
                                    self._fail("decay functions have one hidden node; this "
                                               "is nested too deeply", a.pos)
                                    for a in self._decay_args(arg)])
            if hidden and hidden[0] != node:
                self._fail("decay functions have one hidden node; two different inner "
                           "operations found", arg.pos)
            hidden = [node]
            inputs.append(HIDDEN)
        return DecayGraph(DNode(tree.name, inputs), hidden[0] if hidden else None)

    def _decay_args(self, tree):
        prim = self.space.decay_op(tree.name)
        if len(tree.args) != prim.arity:
            self._fail(f"decay operation {tree.name} takes {prim.arity} input(s), got "
                       f"{len(tree.args)}", tree.pos, ArityError)
        return tree.args

    def _schedule(self, tree):
        if tree.args is not None:
            self._fail("expected a schedule name", tree.pos)
        if tree.name not in self.space.schedules and tree.name not in self.space.aliases:
            if tree.name in self.space.operands:
                self._fail(f"operand {tree.name!r} inside a decay function; decay functions "
                           f"read the schedules a1..a14", tree.pos)
        return self.space.schedule_name(tree.name)


__all__ = ["render", "render_decay", "canonical_expression", "read_genome", "parse_decay",
           "MAX_NESTING"]
