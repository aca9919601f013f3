"""The ``autolr`` search space: seed 003's grammar behind the representation protocol of
:mod:`deap_nos.spaces` (random, mutate, mate, screen, compile, parse, from_dict, zoo).

Variation is DEAP's, per tree, with the typed primitive sets of :mod:`.grammar`:

* ``mutate(ind, rate=None)`` — ``gp.mutUniform`` with the grammar's generator on each of
  the four trees with probability ``rate`` (SGE's per-gene mutation rate, 0.15 in the
  paper), or on exactly one random tree when ``rate`` is None (always a change);
* ``mate(a, b)`` — SGE's crossover swaps whole functions under a random mask (the
  grammar keeps each function's genotype apart for this); then ``gp.cxOnePoint`` on one
  randomly chosen pair of trees exchanges subtrees;
* both keep every tree within :data:`~.genome.MAX_HEIGHT` (``gp.staticLimit``).
"""
import copy
import random

import numpy as np
from deap import gp

from ...backend import NumpyBackend
from ...errors import NOSError
from ..nos.integrity import X0, SHIFT, IntegrityResult
from ...schedules import one_cycle
from ..keras_export import keras_factory
from . import genome as _genome
from . import grammar
from .genome import MAX_HEIGHT, AutoLRGenome
from .program import compile as _compile

#: Initial trees: heights 0..INIT_HEIGHT, as the grammar derives them.
INIT_HEIGHT = 4
#: Learning-rate multipliers the shifted-sphere screen tries (lr = 1 is how the
#: optimizer trains; the others tell "wrong step size" from "does not descend").
SCREEN_LRS = (1000.0, 100.0, 10.0, 1.0, 0.1, 0.01)
#: Gradient scales ``c`` of the sphere ``c·Σ(x − b)²`` the screen tries.
SCREEN_SCALES = (1.0, 0.1, 0.01)
SCREEN_STEPS, SCREEN_WARMUP, SCREEN_THRESHOLD = 35, 6, 3.5
MAX_TRIES = 1000

#: The seed's results, written as genomes of this space (constants from the grammar's
#: list: β₁ = 0.08922 and β₂ = 0.0891 both round from 8.92170603e-02, lr = 0.0009 is
#: 9.39055039e-04, the list's nearest value).
ZOO = {
    "ADES": ("x = x; "
             "y = subtract(y, add(add(multiply(8.92170603e-02, square(y)), "
             "multiply(8.92170603e-02, multiply(y, grad))), multiply(8.92170603e-02, grad))); "
             "z = z; update = negative(y)"),
    "Sign": ("x = divide_no_nan(grad, sqrt(square(grad))); y = y; z = z; "
             "update = multiply(9.39055039e-04, x)"),
}


def _height(individual):
    return individual.height


def _limited(operator):
    return gp.staticLimit(key=_height, max_value=MAX_HEIGHT)(operator)


class AutoLRSpace:
    """Adaptive AutoLR's space (seed 003). See :mod:`deap_nos.spaces` for the protocol."""

    name = "autolr"
    default_algorithm = "grammar"

    #: The Keras optimizer factory the verdict trains with: GraphOptimizer without the
    #: outer one-cycle (the genome's own schedule only; :mod:`..keras_export`).
    keras_factory = staticmethod(keras_factory)
    functions = grammar.FUNCTIONS
    constants = grammar.CONSTANTS

    def __init__(self):
        # an instance attribute: the registry instantiates a class without genome_class
        self.genome_class = AutoLRGenome
        self.psets = grammar.psets()
        self._mutate = _limited(self._mutate_trees)
        self._mate = _limited(self._mate_trees)

    # identity: one space object per process, pickled by name
    def __reduce__(self):
        return (default_space, ())

    def __deepcopy__(self, memo):
        return self

    def __repr__(self):
        return "AutoLRSpace()"

    # ------------------------------------------------------------------ genomes
    def random_tree(self, function, min_=0, max_=INIT_HEIGHT):
        """A random tree of ``function`` as the grammar derives it."""
        pset = self.psets[function]
        return gp.PrimitiveTree(grammar.gen_grammar(pset, min_, max_))

    def random(self, cls=None, screen=True, max_tries=MAX_TRIES):
        """A random genome that passes :meth:`screen` (``screen=False``: any derivation)."""
        for _ in range(max_tries):
            genome = _genome.from_trees([self.random_tree(f) for f in self.functions], cls)
            if not screen or self.screen(genome):
                return genome
        raise NOSError(f"no random autolr genome passed the integrity check in {max_tries}"
                       " tries; raise max_tries or pass screen=False")

    def parse(self, text, cls=None):
        """A genome from ``"x = ...; y = ...; z = ...; update = ..."``."""
        return _genome.parse(text, cls)

    def from_dict(self, data, cls=None):
        """A genome from its JSON document (``{"space": "autolr", "x": ..., ...}``)."""
        return _genome.from_dict(data, cls)

    def zoo(self):
        """``{name: text}``: ADES and Sign (seed 003, eqs. 7 and 8) as genomes of this space."""
        return dict(ZOO)

    def compile(self, genome, backend=None, total_steps=1000, warmup_steps=0,
                hold_steps=0, **options):
        """The genome's :class:`~.program.AutoLRProgram` on ``backend`` (default numpy)."""
        return _compile(genome, backend, total_steps, warmup_steps, hold_steps, **options)

    # ---------------------------------------------------------------- variation
    def _mutate_tree(self, individual, index):
        pset = self.psets[self.functions[index]]
        expr = lambda pset, type_: grammar.gen_grammar(pset, 0, 2)  # noqa: E731
        individual[index], = gp.mutUniform(individual[index], expr, pset)

    def _mutate_trees(self, individual, rate=None):
        if rate is None:
            self._mutate_tree(individual, random.randrange(len(self.functions)))
        else:
            for index in range(len(self.functions)):
                if random.random() < rate:
                    self._mutate_tree(individual, index)
        return (individual,)

    def mutate(self, individual, rate=None):
        """Uniform subtree mutation (in place): each tree with probability ``rate``, or
        one random tree when ``rate`` is None; trees stay within the height limit."""
        return self._mutate(individual, rate)

    def _mate_trees(self, ind1, ind2):
        for index in range(len(self.functions)):
            if random.random() < 0.5:
                ind1[index], ind2[index] = ind2[index], ind1[index]
        index = random.randrange(len(self.functions))
        ind1[index], ind2[index] = gp.cxOnePoint(ind1[index], ind2[index])
        return ind1, ind2

    def mate(self, ind1, ind2):
        """SGE crossover (in place): swap whole functions under a random mask, then
        one-point subtree crossover of one random pair of trees."""
        return self._mate(ind1, ind2)

    # ---------------------------------------------------------------- screening
    def sphere_losses(self, genome, lrs=SCREEN_LRS, scales=SCREEN_SCALES,
                      steps=SCREEN_STEPS, warmup=SCREEN_WARMUP):
        """Final loss on the shifted spheres ``c·Σ(x − b)²`` (the integrity check's problem
        of :mod:`deap_nos.spaces.nos.integrity`) for every gradient scale ``c`` × learning-rate
        multiplier, all at once, sign +1: an array (len(scales), len(lrs)) of the
        unscaled loss ``Σ(x − b)²``."""
        b = np.asarray(SHIFT, dtype=np.float64)
        lr = np.tile(np.asarray(lrs, dtype=np.float64), len(scales))[:, None]
        c = np.repeat(np.asarray(scales, dtype=np.float64), len(lrs))[:, None]
        x = np.tile(np.asarray(X0, dtype=np.float64), (len(lr), 1))
        program = self.compile(genome, NumpyBackend(batch_axes=1))
        state = program.init(x)
        with np.errstate(all="ignore"):
            for t in range(steps):
                factor = one_cycle(t, steps, warmup, 0, program.B)
                delta, state = program.update(c * 2.0 * (x - b), state, x, t, lr * factor)
                x = x + delta
            return np.sum((x - b) ** 2, axis=1).reshape(len(scales), len(lrs))

    def screen(self, genome, threshold=SCREEN_THRESHOLD, lrs=SCREEN_LRS):
        """The shifted-sphere integrity check: passes when some gradient scale and
        learning-rate multiplier end below ``threshold`` (never with a NaN/inf loss).

        Why not :func:`deap_nos.spaces.nos.integrity.integrity_check` as it is: an AutoLR optimizer
        carries its step size in its constants and its states react to the gradient's
        magnitude (ADES's ``y²`` diverges on the unit sphere's gradients of ~2, and
        converges on a network's), so the sphere is also tried at gradient scales 0.1
        and 0.01 (:data:`SCREEN_SCALES`) and at step multipliers up to 1000. The sign is
        not flipped: a genome has no flip bit (``negative`` is in the grammar).
        ``losses`` are the best over scales per multiplier."""
        try:
            grid = self.sphere_losses(genome, lrs)
        except (FloatingPointError, OverflowError, ZeroDivisionError, ValueError) as exc:
            return IntegrityResult(False, False, (float("nan"),) * len(lrs), tuple(lrs),
                                   f"numerical error: {exc}")
        finite = np.isfinite(grid)
        losses = np.where(finite, grid, np.inf).min(axis=0)
        losses = np.where(finite.any(axis=0), losses, np.nan)
        good = np.isfinite(losses) & (losses < threshold)
        if good.any():
            return IntegrityResult(True, False, tuple(losses.tolist()), tuple(lrs), None)
        reason = ("non-finite loss at every learning rate" if not np.isfinite(losses).any()
                  else f"no run ended below {threshold} (best {np.nanmin(losses):.4g})")
        return IntegrityResult(False, False, tuple(losses.tolist()), tuple(lrs), reason)


_DEFAULT = []


def default_space():
    """The process's :class:`AutoLRSpace` (the registry's ``autolr``)."""
    if not _DEFAULT:
        from ... import spaces
        space = spaces.get("autolr")
        _DEFAULT.append(space if isinstance(space, AutoLRSpace) else AutoLRSpace())
    return _DEFAULT[0]


def clone(individual):
    """DEAP's ``toolbox.clone`` for AutoLR individuals (the space is shared, not copied)."""
    return copy.deepcopy(individual)
