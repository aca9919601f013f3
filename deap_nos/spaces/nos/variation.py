"""Random genomes and mutation: ``initGraph`` and ``mutGraph`` (docs/reference.md §5–7).

DEAP contracts: ``initGraph(icls, space)`` returns a new individual of class ``icls``;
``mutGraph(individual, space)`` mutates in place and returns ``(individual,)``. Randomness
comes from Python's :mod:`random` (seed it, as in any DEAP script). Each mutation kind is
also a function of its own (``mut_operation``, ``mut_connection``, ``mut_arity``,
``mut_momentum``, ``mut_decay``) taking and returning ``(nodes, momentum)``.
"""
import random

from ...errors import NOSError
from .genome import HIDDEN, MOMENTUM_FORMS, DecayGraph, DNode, Node, OptimizerGraph
from .integrity import decay_integrity, integrity_check
from .space import default_space, space_of

KINDS = ("operation", "connection", "arity", "momentum", "decay")


# ---------------------------------------------------------------------- decay functions
def random_decay(space=None, others=(), p_hidden_unary=0.75, p_output_unary=0.5,
                 p_read_hidden=0.3, max_tries=1000):
    """A random decay function whose values stay in [0, 1], unlike any in ``others``.

    The hidden node reads schedules; each input of the output node is the hidden node
    with probability ``p_read_hidden``, else a schedule. Drawn until it passes
    :func:`~deap_nos.spaces.nos.integrity.decay_integrity`.
    """
    space = space or default_space()
    for _ in range(max_tries):
        hidden = _decay_node(space, p_hidden_unary, 0.0)
        output = _decay_node(space, p_output_unary, p_read_hidden)
        decay = DecayGraph(output, hidden)
        if decay_integrity(decay, space, others=others):
            return decay
    raise NOSError(f"no valid decay function in {max_tries} draws; check that the space's "
                   f"schedules and decay operations can produce values in [0, 1]")


def _decay_node(space, p_unary, p_read_hidden):
    arity = 1 if random.random() < p_unary else 2
    op = random.choice(space.names("decay_ops", arity))
    return DNode(op, [_decay_input(space, p_read_hidden) for _ in range(arity)])


def _decay_input(space, p_read_hidden):
    return HIDDEN if random.random() < p_read_hidden else random.choice(list(space.schedules))


def mutate_decay(decay, space=None, p_operation=0.4, p_connection=0.3, p_arity=0.1,
                 p_read_hidden=0.3, max_tries=1000):
    """A mutant of ``decay`` (operation, connection or arity change) that differs from it
    and stays in [0, 1]."""
    space = space or default_space()
    weights = (p_operation, p_connection, p_arity)
    for _ in range(max_tries):
        which = "output" if not decay.uses_hidden or random.random() < 0.5 else "hidden"
        node = getattr(decay, which)
        kind = random.choices(("operation", "connection", "arity"), weights)[0]
        reads_hidden = p_read_hidden if which == "output" else 0.0
        node = _mutate_decay_node(node, kind, space, reads_hidden)
        child = DecayGraph(node, decay.hidden) if which == "output" else DecayGraph(decay.output, node)
        if decay_integrity(child, space, others=(decay,)):
            return child
    raise NOSError(f"no valid mutant of decay function {decay} in {max_tries} draws")


def _mutate_decay_node(node, kind, space, p_read_hidden):
    arity = len(node.inputs)
    if kind == "operation":
        ops = [o for o in space.names("decay_ops", arity) if o != node.op] or [node.op]
        return DNode(random.choice(ops), node.inputs)
    if kind == "connection":
        inputs = list(node.inputs)
        inputs[random.randrange(arity)] = _decay_input(space, p_read_hidden)
        return DNode(node.op, inputs)
    if arity == 1:
        inputs = list(node.inputs) + [_decay_input(space, p_read_hidden)]
        random.shuffle(inputs)
        return DNode(random.choice(space.names("decay_ops", 2)), inputs)
    return DNode(random.choice(space.names("decay_ops", 1)), [random.choice(node.inputs)])


# ---------------------------------------------------------------------- update graphs
def _random_input(space, index, n_hidden, p_operand, exclude=None):
    """An operand (probability ``p_operand``) or another hidden node, never ``exclude``."""
    others = [h for h in range(n_hidden) if h != index and h != exclude]
    operands = [name for name in space.operands if name != exclude]
    if not others or random.random() < p_operand:
        return random.choice(operands)
    return random.choice(others)


def _random_unary(space, p_id):
    if random.random() < p_id and "id" in space.ops:
        return "id"
    return random.choice([o for o in space.names("ops", 1) if o != "id"])


def _random_node(space, index, n_hidden, p_unary, p_id, p_operand, p_decay):
    if random.random() < p_unary:
        op, arity = _random_unary(space, p_id), 1
    else:
        op, arity = random.choice(space.names("ops", 2)), 2
    inputs = [_random_input(space, index, n_hidden, p_operand) for _ in range(arity)]
    decays = [random_decay(space) if random.random() < p_decay else None for _ in inputs]
    return Node(op, inputs, decays)


def random_graph(space=None, n_hidden=None, p_hidden_unary=0.75, p_output_unary=0.25,
                 p_id=0.2, p_operand=0.8, p_decay=0.15, momentum_forms=MOMENTUM_FORMS,
                 cls=OptimizerGraph):
    """One random wiring with the paper's probabilities (not yet checked for integrity).

    Hidden nodes are unary with probability ``p_hidden_unary``; the output node with
    ``p_output_unary``; a unary node is ``id`` with probability ``p_id``; an input is an
    operand with probability ``p_operand``, else another hidden node; the output reads at
    least one hidden node; each edge carries a new decay function with probability
    ``p_decay``; the momentum form is uniform over ``momentum_forms``.
    """
    space = space or default_space()
    n_hidden = n_hidden or space.n_hidden
    nodes = [_random_node(space, i, n_hidden, p_hidden_unary, p_id, p_operand, p_decay)
             for i in range(n_hidden)]
    out = _random_node(space, n_hidden, n_hidden, p_output_unary, p_id, p_operand, p_decay)
    if not any(isinstance(r, int) for r in out.inputs):
        inputs = list(out.inputs)
        inputs[random.randrange(len(inputs))] = random.randrange(n_hidden)
        out = Node(out.op, inputs, out.decays)
    genome = cls(nodes + [out], random.choice(momentum_forms), False)
    genome.space = space
    return genome


def initGraph(icls, space=None, n_hidden=None, check=True, max_tries=100000,
              integrity=None, **probabilities):
    """A random valid genome of class ``icls`` (e.g. ``creator.Individual``).

    Draws :func:`random_graph` (``probabilities`` are its ``p_*`` keyword arguments)
    until the wiring is acyclic and, when ``check``, the integrity check passes; the
    check's ``flip`` is stored on the genome. ``integrity`` is a dict of keyword
    arguments for :func:`~deap_nos.spaces.nos.integrity.integrity_check`.
    """
    space = space or default_space()
    for _ in range(max_tries):
        genome = random_graph(space, n_hidden, cls=icls, **probabilities)
        if not genome.is_acyclic():
            continue
        if check:
            result = integrity_check(genome, space, **(integrity or {}))
            if not result.passed:
                continue
            genome.flip = result.flip
        genome.lineage = {genome.fingerprint(space)}
        return genome
    raise NOSError(f"no valid random genome in {max_tries} draws; the space or the "
                   f"integrity settings reject everything")


# ---------------------------------------------------------------------- mutation kinds
def mut_operation(nodes, momentum, index, space, p_id=0.0, **_):
    """Resample the node's operation among the others of the same arity."""
    node = nodes[index]
    arity = len(node.inputs)
    ops = [o for o in space.names("ops", arity) if o != node.op]
    nodes[index] = Node(random.choice(ops), node.inputs, node.decays)
    return nodes, momentum


def mut_connection(nodes, momentum, index, space, p_swap=0.2, p_operand=0.8, **_):
    """Re-wire one input of the node; a binary node swaps its inputs with ``p_swap``."""
    node = nodes[index]
    n_hidden = len(nodes) - 1
    if len(node.inputs) == 2 and random.random() < p_swap:
        nodes[index] = Node(node.op, node.inputs[::-1], node.decays[::-1])
        return nodes, momentum
    k = random.randrange(len(node.inputs))
    inputs = list(node.inputs)
    inputs[k] = _random_input(space, index, n_hidden, p_operand, exclude=inputs[k])
    nodes[index] = Node(node.op, inputs, node.decays)
    return nodes, momentum


def mut_arity(nodes, momentum, index, space, p_operand=0.8, p_id=0.2, **_):
    """Unary → binary (adds a random input) or binary → unary (drops one)."""
    node = nodes[index]
    if len(node.inputs) == 1:
        new = _random_input(space, index, len(nodes) - 1, p_operand)
        pairs = [(node.inputs[0], node.decays[0]), (new, None)]
        random.shuffle(pairs)
        inputs, decays = zip(*pairs)
        nodes[index] = Node(random.choice(space.names("ops", 2)), inputs, decays)
    else:
        k = random.randrange(2)
        nodes[index] = Node(_random_unary(space, p_id), [node.inputs[k]], [node.decays[k]])
    return nodes, momentum


def mut_momentum(nodes, momentum, index, space, **_):
    """Switch to another update form."""
    return nodes, random.choice([m for m in MOMENTUM_FORMS if m != momentum])


def mut_decay(nodes, momentum, index, space, p_decay_delete=0.5, **_):
    """On one input edge: add a decay function, or delete (``p_decay_delete``) or mutate it."""
    node = nodes[index]
    k = random.randrange(len(node.inputs))
    decays = list(node.decays)
    others = [d for j, d in enumerate(decays) if j != k]
    if decays[k] is None:
        decays[k] = random_decay(space, others=others)
    elif random.random() < p_decay_delete:
        decays[k] = None
    else:
        decays[k] = mutate_decay(decays[k], space)
    nodes[index] = Node(node.op, node.inputs, decays)
    return nodes, momentum


MUTATIONS = {"operation": mut_operation, "connection": mut_connection, "arity": mut_arity,
             "momentum": mut_momentum, "decay": mut_decay}


def mutGraph(individual, space=None, p_operation=0.4, p_connection=0.3, p_arity=0.1,
             p_momentum=0.1, p_decay=0.1, kinds=None, check=True, unique=True, seen=None,
             max_tries=1000, integrity=None, **options):
    """Mutate ``individual`` in place; returns ``(individual,)`` (DEAP's contract).

    Picks an active node at random, then a mutation kind with the given probabilities
    (``kinds`` restricts which may fire, e.g. ``("decay",)`` for the learning-rate
    schedule experiment). A child that is cyclic, fails the integrity check (when
    ``check``), computes the same update as its parent, or repeats a genome already
    seen by its lineage (when ``unique``; the lineage is ``individual.lineage``, a set of
    fingerprints, plus ``seen``) is discarded and mutation is tried again.

    ``options`` go to the kinds: ``p_swap``, ``p_operand``, ``p_id``, ``p_decay_delete``.
    """
    space = space_of(individual, space)
    table = {"operation": p_operation, "connection": p_connection, "arity": p_arity,
             "momentum": p_momentum, "decay": p_decay}
    allowed = _allowed_kinds(kinds, table)
    lineage = getattr(individual, "lineage", None)
    if lineage is None:
        lineage = {individual.fingerprint(space)}
    parent_key = individual.key(space)
    for _ in range(max_tries):
        child = _try_mutation(individual, space, allowed, options)
        if child is None or child.key(space) == parent_key:
            continue
        if check:
            result = integrity_check(child, space, **(integrity or {}))
            if not result.passed:
                continue
            child.flip = result.flip
        fp = child.fingerprint(space)
        if unique and (fp in lineage or (seen is not None and fp in seen)):
            continue
        individual.nodes, individual.momentum, individual.flip = child.nodes, child.momentum, child.flip
        individual.space = space
        individual._fingerprint = child._fingerprint
        individual.lineage = lineage | {fp}
        return (individual,)
    raise NOSError(f"no valid new mutant of {individual} in {max_tries} tries (kinds "
                   f"{allowed[0]}); its lineage may have exhausted its neighbourhood: "
                   f"allow more kinds or raise max_tries")


def _allowed_kinds(kinds, table):
    kinds = KINDS if kinds is None else tuple(kinds)
    unknown = [k for k in kinds if k not in MUTATIONS]
    if unknown:
        raise NOSError(f"unknown mutation kind(s) {unknown}; choose from {', '.join(KINDS)}")
    names = [k for k in kinds if table[k] > 0]
    if not names:
        raise NOSError("every allowed mutation kind has probability 0")
    return names, [table[k] for k in names]


def _try_mutation(individual, space, allowed, options):
    names, weights = allowed
    kind = random.choices(names, weights)[0]
    index = random.choice(individual.active_nodes())
    nodes, momentum = MUTATIONS[kind](list(individual.nodes), individual.momentum, index,
                                      space, **options)
    child = OptimizerGraph(nodes, momentum, False, space)
    return child if child.is_acyclic() else None
