"""The search space: every primitive under its canonical name.

:meth:`SearchSpace.default` is the paper's space (docs/reference.md §2–6). Researchers
extend a space with ``add_operand``, ``add_unary``, ``add_binary``, ``add_stateful``,
``add_schedule``, ``add_decay_unary`` and ``add_decay_binary``; a primitive is written
once against the array namespace ``B`` (:mod:`deap_nos.backend`) and then works in the
integrity check, the Keras optimizer and the plots.
"""
import difflib
from collections import namedtuple

from . import primitives as P
from ...errors import DuplicateNameError, NOSError, UnknownNameError

#: A registered primitive: its function, arity, and (for operands) the averages it reads.
Primitive = namedtuple("Primitive", "name fn arity stateful requires")

_MOMENT_NAMES = tuple(P.MOMENTS)


def _unknown(kind, name, known):
    close = difflib.get_close_matches(str(name), list(known), n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return UnknownNameError(
        f"unknown {kind} {name!r}.{hint} Known {kind}s: {', '.join(sorted(known))}. "
        f"Add your own with SearchSpace.add_* .")


class SearchSpace:
    """Operands, operations, schedules and decay operations, by name.

    Parameters
    ----------
    n_hidden : int
        Hidden nodes of a random update graph (the paper's text: 4; the authors' code: 5).
    """

    #: the representation protocol (deap_nos.spaces): what the engine reads
    default_algorithm = "particle"

    def __init__(self, n_hidden=4):
        if not isinstance(n_hidden, int) or n_hidden < 1:
            raise NOSError(f"n_hidden must be a positive integer, got {n_hidden!r}")
        self.n_hidden = n_hidden
        self.name = "custom"     # deap_nos.spaces.register(name, space) names it
        self._paper = False      # exactly SearchSpace.default(n_hidden): pickles by name
        self.operands = {}
        self.ops = {}            # unary (scalar and state-saving) and binary
        self.schedules = {}
        self.aliases = {}        # schedule alias -> canonical name
        self.decay_ops = {}
        self.commutative = set()

    # ------------------------------------------------------------------ building
    @classmethod
    def default(cls, n_hidden=4):
        """The paper's space: 20 operands, 26 unary, 10 binary, 14 schedules, 20 decay ops."""
        space = cls(n_hidden)
        for name, (fn, requires) in P.OPERANDS.items():
            space.add_operand(name, fn, requires)
        for name, fn in P.UNARY.items():
            space.add_unary(name, fn)
        for name, fn in P.STATEFUL.items():
            space.add_stateful(name, fn)
        for name, fn in P.BINARY.items():
            space.add_binary(name, fn, commutative=name in P.COMMUTATIVE)
        for name, (fn, alias) in P.SCHEDULES.items():
            space.add_schedule(name, fn, alias)
        for name, fn in P.DECAY_UNARY.items():
            space.add_decay_unary(name, fn)
        for name, fn in P.DECAY_BINARY.items():
            space.add_decay_binary(name, fn)
        space.name, space._paper = "nos", True
        return space

    # ------------------------------------------------------------------ identity
    def __reduce__(self):
        """The paper's space pickles as ``SearchSpace.default(n_hidden)`` (a few bytes
        per checkpoint); an extended one pickles its tables (its functions must be
        picklable: module-level functions, or anything dill takes in worker pools)."""
        if self._paper:
            return (SearchSpace.default, (self.n_hidden,))
        return (_rebuild, (self.__dict__,))

    def __deepcopy__(self, memo):
        """Spaces are shared, not copied: cloning an individual keeps its space."""
        return self

    def _check_new(self, name, table, kind):
        if not isinstance(name, str) or not name.isidentifier():
            raise NOSError(f"a {kind} name must be an identifier, got {name!r}")
        if name in ("decay",) + tuple(self._header_words()):
            raise DuplicateNameError(f"{name!r} is reserved by the expression syntax")
        if name in table:
            raise DuplicateNameError(
                f"a {kind} named {name!r} already exists in this space; pick another name")
        if kind == "operand" and name in self.ops or kind == "operation" and name in self.operands:
            raise DuplicateNameError(
                f"{name!r} is already used by an operand or operation; names are shared "
                f"by both in the expression syntax")

    @staticmethod
    def _header_words():
        return ("none", "momentum", "nesterov", "flip")

    def add_operand(self, name, fn, requires=()):
        """Add a leaf ``fn(ctx, B)``; ``requires`` names the moving averages it reads.

        ``ctx`` has ``g``, ``w``, ``t``, ``v``, ``s``, ``l``, ``v_hat``, ``s_hat``,
        ``l_hat``; only the averages listed in ``requires`` are allocated and updated.
        """
        self._extended()
        self._check_new(name, self.operands, "operand")
        requires = tuple(requires)
        bad = [r for r in requires if r not in _MOMENT_NAMES]
        if bad:
            raise UnknownNameError(
                f"operand {name!r} requires unknown moving average(s) {bad}; "
                f"known: {', '.join(_MOMENT_NAMES)}")
        self.operands[name] = Primitive(name, self._callable(fn, name), 0, False, requires)
        return self

    def add_unary(self, name, fn):
        """Add a unary operation ``fn(x, B)``."""
        self._extended()
        self._check_new(name, self.ops, "operation")
        self.ops[name] = Primitive(name, self._callable(fn, name), 1, False, ())
        return self

    def add_stateful(self, name, fn):
        """Add a state-saving unary operation ``fn(x, n, t, B) -> (out, new_n)``."""
        self._extended()
        self._check_new(name, self.ops, "operation")
        self.ops[name] = Primitive(name, self._callable(fn, name), 1, True, ())
        return self

    def add_binary(self, name, fn, commutative=False):
        """Add a binary operation ``fn(x, y, B)``; ``commutative`` helps canonical equality."""
        self._extended()
        self._check_new(name, self.ops, "operation")
        self.ops[name] = Primitive(name, self._callable(fn, name), 2, False, ())
        if commutative:
            self.commutative.add(name)
        return self

    def add_schedule(self, name, fn, alias=None):
        """Add a schedule ``fn(t, T, B)`` (values in [0, 1] keep decays valid)."""
        self._extended()
        self._check_new(name, self.schedules, "schedule")
        if alias is not None:
            self._check_new(alias, self.aliases, "schedule alias")
            if alias in self.schedules:
                raise DuplicateNameError(f"alias {alias!r} is already a schedule name")
            self.aliases[alias] = name
        self.schedules[name] = Primitive(name, self._callable(fn, name), 0, False, ())
        return self

    def add_decay_unary(self, name, fn):
        """Add a unary decay operation ``fn(x, B)``."""
        self._extended()
        self._check_new(name, self.decay_ops, "decay operation")
        self.decay_ops[name] = Primitive(name, self._callable(fn, name), 1, False, ())
        return self

    def add_decay_binary(self, name, fn):
        """Add a binary decay operation ``fn(x, y, B)``."""
        self._extended()
        self._check_new(name, self.decay_ops, "decay operation")
        self.decay_ops[name] = Primitive(name, self._callable(fn, name), 2, False, ())
        return self

    def _extended(self):
        """An added primitive makes this a space of its own (no longer the paper's)."""
        if self._paper:
            self._paper, self.name = False, "custom"

    @staticmethod
    def _callable(fn, name):
        if not callable(fn):
            raise NOSError(f"the function given for {name!r} is not callable: {fn!r}")
        return fn

    # ------------------------------------------------------------------ lookups
    def operand(self, name):
        """The operand primitive named ``name``."""
        try:
            return self.operands[name]
        except (KeyError, TypeError):
            raise _unknown("operand", name, self.operands) from None

    def op(self, name):
        """The (unary, state-saving or binary) operation named ``name``."""
        try:
            return self.ops[name]
        except (KeyError, TypeError):
            raise _unknown("operation", name, self.ops) from None

    def schedule_name(self, name):
        """Canonical schedule name for a name or alias (``cosine_increase`` → ``a4``)."""
        if name in self.schedules:
            return name
        if name in self.aliases:
            return self.aliases[name]
        raise _unknown("schedule", name, list(self.schedules) + list(self.aliases))

    def schedule(self, name):
        """The schedule primitive named ``name`` (or its alias)."""
        return self.schedules[self.schedule_name(name)]

    def decay_op(self, name):
        """The decay operation named ``name``."""
        try:
            return self.decay_ops[name]
        except (KeyError, TypeError):
            raise _unknown("decay operation", name, self.decay_ops) from None

    def names(self, table, arity=None, stateful=None):
        """Names in ``table`` (``"ops"``, ``"decay_ops"``, ...) with the given arity."""
        items = getattr(self, table).values()
        return [p.name for p in items
                if (arity is None or p.arity == arity)
                and (stateful is None or p.stateful == stateful)]

    # ------------------------------------------------------------------ protocol
    # The representation protocol of deap_nos.spaces. Its bodies live in
    # deap_nos.spaces.nos.protocol, above the genome modules, and are found through the
    # registry as every space is, so this table module imports none of them.
    @property
    def genome_class(self):
        """:class:`~deap_nos.spaces.nos.genome.OptimizerGraph` (the DEAP individual's base)."""
        return _graph().genome_class()

    def random(self, cls=None, **options):
        """A random genome that passes the integrity check (:func:`~deap_nos.initGraph`)."""
        return _graph().random(self, cls, **options)

    def mutate(self, individual, **options):
        """:func:`~deap_nos.mutGraph` in this space; returns ``(individual,)``."""
        return _graph().mutate(self, individual, **options)

    def mate(self, ind1, ind2):
        """The paper's search is mutation-only: there is no crossover of graphs."""
        return _graph().mate(self, ind1, ind2)

    def screen(self, genome, **options):
        """The shifted-sphere integrity check (:func:`~deap_nos.integrity_check`)."""
        return _graph().screen(self, genome, **options)

    def compile(self, genome, backend=None, total_steps=1000, warmup_steps=0,
                hold_steps=0, **options):
        """``genome`` as a :class:`~deap_nos.program.Program` on ``backend``."""
        return _graph().compile(self, genome, backend, total_steps, warmup_steps,
                                hold_steps, **options)

    def parse(self, text, cls=None):
        """A genome of this space from the text syntax."""
        return _graph().parse(self, text, cls)

    def from_dict(self, data, cls=None):
        """A genome of this space from its JSON document."""
        return _graph().from_dict(self, data, cls)

    def zoo(self):
        """``{name: text}`` of the zoo's graph optimizers (the paper's and baselines)."""
        return _graph().zoo()

    def __repr__(self):
        return (f"SearchSpace(n_hidden={self.n_hidden}, operands={len(self.operands)}, "
                f"ops={len(self.ops)}, schedules={len(self.schedules)}, "
                f"decay_ops={len(self.decay_ops)})")


def _rebuild(state):
    space = SearchSpace.__new__(SearchSpace)
    space.__dict__.update(state)
    return space


def _graph():
    """The graph space's protocol functions, through the registry (as every space's)."""
    from ... import spaces
    return spaces.implementation("nos")


def space_of(genome, space=None):
    """The space to read ``genome`` with: ``space`` when given, else the genome's own."""
    if space is not None:
        return space
    own = getattr(genome, "space", None)
    if own is None:
        raise NOSError(f"{genome!r} carries no search space: build genomes with parse, "
                       f"from_json or initGraph, or pass space=")
    return own


_DEFAULT = None


def default_space():
    """A shared instance of :meth:`SearchSpace.default` (do not extend it; make your own)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = SearchSpace.default()
    return _DEFAULT


def space_argument(space, owner):
    """*space* as an evaluator's ``space=`` argument: ``None`` (the paper's space), a
    :class:`SearchSpace`, a space object of the representation protocol, or a name
    registered in :mod:`deap_nos.spaces` (resolved here). Anything else raises
    :class:`~deap_nos.errors.ConfigurationError` at construction — before it would fail
    every genome one by one inside the evaluator's crash handler."""
    from ...errors import ConfigurationError
    if space is None or isinstance(space, SearchSpace) or hasattr(space, "genome_class"):
        return space
    if isinstance(space, str):
        from ... import spaces
        try:
            return spaces.get(space)
        except NOSError as error:
            raise ConfigurationError(f"{owner}: space={space!r} is not a search space: "
                                     f"{error}") from None
    raise ConfigurationError(f"{owner}: space must be a SearchSpace (e.g. "
                             f"SearchSpace.default()), a registered space name "
                             f"({', '.join(_space_names())}) or None for the paper's "
                             f"space; got {space!r}")


def _space_names():
    from ... import spaces
    return spaces.names()
