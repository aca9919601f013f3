"""The text syntax of genomes: ``[header:] expr``.

``header`` is a comma-separated list of ``none`` / ``momentum`` / ``nesterov`` (the update
form, default ``none``) and ``flip`` (use ``-u``). ``expr`` is an operand name, ``op(expr)``,
``op(expr, expr)`` or ``decay(expr, d)``, where ``d`` is a decay function over the
schedules ``a1`` … ``a14`` (or their aliases): ``a4``, ``erfc(a4)``, ``erfc(erfc(a4))``,
``max(a6, a10)``. Identical sub-expressions become one node.

Examples::

    parse("div(v_hat, sqrt_abs(s_hat))")                 # Adam, β₂ = 0.99
    parse("nesterov: mul(decay(g, erfc(a11)), exp(atan(qh_s)))")   # Opt9
"""
import re
from collections import namedtuple

from .errors import ArityError, ParseError
from .genome import HIDDEN, MOMENTUM_FORMS, DecayGraph, DNode, Node, OptimizerGraph, validate

_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|(.))")
Call = namedtuple("Call", "name args pos")


# ---------------------------------------------------------------------- rendering
def render(genome):
    """The genome as text: header (when not plain ``none``) and the active expression."""
    header = [genome.momentum] if genome.momentum != "none" else []
    if genome.flip:
        header.append("flip")
    expr = _expression(genome, genome.output, sort=None)
    return f"{', '.join(header)}: {expr}" if header else expr


def canonical_expression(genome, space=None):
    """The active expression with commutative arguments sorted (used by equality)."""
    from .space import default_space
    space = space or default_space()
    return _expression(genome, genome.output, sort=space.commutative)


def _expression(genome, index, sort, depth=0):
    if depth > len(genome.nodes):
        from .errors import CyclicGraphError
        raise CyclicGraphError("the graph has a cycle through its output; rewire one input")
    node = genome.nodes[index]
    args = [_edge(genome, ref, decay, sort, depth) for ref, decay in zip(node.inputs, node.decays)]
    if node.op == "id" and len(args) == 1:
        return args[0]
    if sort is not None and node.op in sort:
        args.sort()
    return f"{node.op}({', '.join(args)})"


def _edge(genome, ref, decay, sort, depth):
    text = ref if isinstance(ref, str) else _expression(genome, ref, sort, depth + 1)
    return f"decay({text}, {render_decay(decay)})" if decay is not None else text


def render_decay(decay):
    """A decay function as text, e.g. ``erfc(erfc(a4))``."""
    return _decay_node(decay, decay.output)


def _decay_node(decay, node):
    args = [_decay_node(decay, decay.hidden) if ref == HIDDEN and not isinstance(ref, str)
            else ref for ref in node.inputs]
    if node.op == "id" and len(args) == 1:
        return args[0]
    return f"{node.op}({', '.join(args)})"


# ---------------------------------------------------------------------- parsing
def parse(text, space=None, cls=OptimizerGraph, pad=True):
    """Read a genome from text.

    Parameters
    ----------
    text : str
        ``[header:] expr`` (see the module docstring).
    space : SearchSpace, optional
        The names allowed (default: the paper's space).
    cls : type
        Class of the result, e.g. a DEAP ``creator.Individual``.
    pad : bool
        Add inactive ``id(g)`` hidden nodes up to ``space.n_hidden``, so that mutation
        has the usual number of nodes to rewire to.

    Raises :class:`~deap_nos.errors.ParseError` for malformed text and
    :class:`~deap_nos.errors.UnknownNameError` for unknown names.
    """
    from .space import default_space
    space = space or default_space()
    if not isinstance(text, str):
        raise ParseError(f"expected a text expression, got {type(text).__name__}")
    header, body, offset = _split_header(text)
    momentum, flip = _read_header(header, text)
    tree = _Parser(body, text, offset).parse()
    builder = _GraphBuilder(space, text)
    nodes = builder.build(tree)
    hidden, output = nodes[:-1], nodes[-1]
    if pad:
        hidden += [Node("id", ["g"])] * max(0, space.n_hidden - len(hidden))
    genome = cls(hidden + [output], momentum, flip)
    return validate(genome, space)


def parse_decay(text, space=None):
    """Read a :class:`DecayGraph` from text such as ``erfc(erfc(a4))``."""
    from .space import default_space
    space = space or default_space()
    tree = _Parser(text, text, 0).parse()
    return _GraphBuilder(space, text).decay(tree)


def _split_header(text):
    if ":" in text:
        head, body = text.split(":", 1)
        return head, body, len(head) + 1
    return "", text, 0


def _read_header(header, text):
    words = [w.strip() for w in header.split(",")] if header.strip() else []
    momentum, flip = "none", False
    for word in words:
        if word == "flip":
            flip = True
        elif word in MOMENTUM_FORMS:
            momentum = word
        else:
            raise ParseError(f"unknown header word {word!r} in {text!r}; the header is a "
                             f"comma-separated list of {', '.join(MOMENTUM_FORMS)} and flip, "
                             f"followed by ':'")
    return momentum, flip


class _Parser:
    """Recursive descent over NAME, '(', ',', ')'."""

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
        pointer = " " * pos + "^"
        raise ParseError(f"{message} at position {pos}:\n  {self.text}\n  {pointer}")

    def _peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, self.end)

    def _take(self, expected=None):
        tok, pos = self._peek()
        if tok is None:
            self._fail("unexpected end of expression" +
                       (f", expected {expected!r}" if expected else ""), pos)
        if expected is not None and tok != expected:
            self._fail(f"expected {expected!r}, found {tok!r}", pos)
        self.i += 1
        return tok, pos

    def parse(self):
        if not self.tokens:
            self._fail("empty expression", self.end)
        tree = self._expr()
        tok, pos = self._peek()
        if tok is not None:
            self._fail(f"unexpected {tok!r} after a complete expression", pos)
        return tree

    def _expr(self):
        tok, pos = self._take()
        if tok in "(),":
            self._fail(f"expected a name, found {tok!r}", pos)
        if self._peek()[0] != "(":
            return Call(tok, None, pos)
        self._take("(")
        args = [self._expr()]
        while self._peek()[0] == ",":
            self._take(",")
            args.append(self._expr())
        self._take(")")
        return Call(tok, tuple(args), pos)


class _GraphBuilder:
    """Turns a parse tree into nodes (hidden nodes first, output last)."""

    def __init__(self, space, text):
        self.space = space
        self.text = text
        self.nodes = []
        self.index = {}   # rendered node -> hidden index (shared sub-expressions)

    def _fail(self, message, pos):
        raise ParseError(f"{message} at position {pos}:\n  {self.text}\n  {' ' * pos}^")

    def build(self, tree):
        ref, decay = self.edge(tree)
        if isinstance(ref, int) and decay is None and ref == len(self.nodes) - 1:
            output = self.nodes.pop()      # the root call becomes the output node
            self.index = {k: v for k, v in self.index.items() if v != ref}
        else:
            output = Node("id", [ref], [decay])
        return self.nodes + [output]

    def edge(self, tree):
        """(reference, decay) for an expression appearing as a node input."""
        if tree.args is None:
            return self._leaf(tree), None
        if tree.name == "decay":
            if len(tree.args) != 2:
                self._fail(f"decay takes (expression, decay function), got {len(tree.args)} "
                           f"argument(s)", tree.pos)
            ref, inner = self.edge(tree.args[0])
            if inner is not None:     # an edge carries one decay: insert an id node
                ref = self._add(Node("id", [ref], [inner]))
            return ref, self.decay(tree.args[1])
        prim = self._op(tree)
        if len(tree.args) != prim.arity:
            raise ArityError(f"{tree.name} takes {prim.arity} input(s), got {len(tree.args)} "
                             f"at position {tree.pos} of {self.text!r}")
        refs, decays = zip(*(self.edge(a) for a in tree.args))
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
            raise ArityError(f"decay operation {tree.name} takes {prim.arity} input(s), got "
                             f"{len(tree.args)} at position {tree.pos} of {self.text!r}")
        return tree.args

    def _schedule(self, tree):
        if tree.args is not None:
            self._fail("expected a schedule name", tree.pos)
        if tree.name not in self.space.schedules and tree.name not in self.space.aliases:
            if tree.name in self.space.operands:
                self._fail(f"operand {tree.name!r} inside a decay function; decay functions "
                           f"read the schedules a1..a14", tree.pos)
        return self.space.schedule_name(tree.name)
