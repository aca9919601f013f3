"""Learning-rate schedules as Keras ``LearningRateSchedule`` s, and a genome's lr multiplier.

- :class:`OneCycle` — the paper's base schedule (docs/reference.md §8): linear warm-up to
  the peak, optional hold, cosine decay to 0 (:func:`deap_nos.schedules.one_cycle`).
- :class:`MomentumCycle` — the cycled momentum coefficient of §1 (0.95→0.85→0.95).
- :class:`FactorSchedule` — a factor × the one-cycle schedule: the learning-rate
  schedules LR1–LR9 found for Adam (§9), or the lr multiplier of any genome.

**The lr-multiplier rule** (:func:`lr_multiplier`). A decay function ``d(t)`` on an edge
multiplies the whole update, and so acts as a learning-rate schedule, when the value it
scales reaches the output only through operations that are *positively homogeneous* in
that input: ``f(c·x) = c^k·f(x)`` for every ``c ≥ 0``. Then ``u = d(t)^K · u₀`` with ``K``
the product of the degrees ``k`` along the path and ``u₀`` the update without the decay.
Degrees (:data:`HOMOGENEOUS`): ``id``, ``neg``, ``abs``, ``relu``, ``min0`` → 1;
``sqrt_abs`` → ½; ``recip`` → −1; ``mul`` → 1 in each input; ``div`` → 1 in the numerator,
−1 in the denominator (up to the ``eps`` added to the denominator). The path must be
unique: every node from the decayed edge to the output is read exactly once. ``add``,
``sub``, ``clip``, ``max`` ... are homogeneous only when *both* inputs carry the factor,
which the rule does not chase. This is how Opt4 yields LR1 = erfc2(a4) / dtanh(a8) and
Opt6 yields LR2 = erfc2(a4) / (dtanh(a8)·dtanh(a4)).
"""
from collections import namedtuple

import keras
import numpy as np
from keras import ops

from ..spaces.nos import primitives as P
from ..backend import NumpyBackend
from ..errors import NOSError, UnknownNameError
from ..spaces.nos.genome import Node, OptimizerGraph
from ..program import decay_value
from ..schedules import momentum_cycle, one_cycle
from .backend import KerasBackend

__all__ = ["OneCycle", "MomentumCycle", "FactorSchedule", "LR_FACTORS", "lr_factor",
           "lr_multiplier", "lr_multiplier_values", "strip_lr_multiplier", "HOMOGENEOUS",
           "Factor"]

_B = KerasBackend()


def _step(step):
    """Keras passes ``iterations`` (an int variable); schedules compute in float32."""
    return ops.cast(step, "float32")


def _check_steps(total_steps, warmup_steps, hold_steps):
    if int(total_steps) < 1 or int(warmup_steps) < 0 or int(hold_steps) < 0:
        raise NOSError(f"need total_steps >= 1 and warmup_steps, hold_steps >= 0; got "
                       f"total_steps={total_steps}, warmup_steps={warmup_steps}, "
                       f"hold_steps={hold_steps}")


@keras.saving.register_keras_serializable(package="deap_nos")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """``peak · one_cycle(t)``: linear warm-up, hold, cosine decay to 0.

    ``lr(t) = peak·min((t+1)/W, 1)`` during the ``W`` warm-up steps, ``peak`` for the
    ``H`` held steps, then ``peak·½(1 + cos πτ)`` with τ going 0→1 over the remaining
    ``T − W − H`` steps. ``first_lr`` (e.g. 1e-7, as the authors did) replaces step 0.
    """

    def __init__(self, peak, total_steps, warmup_steps=0, hold_steps=0, first_lr=None):
        _check_steps(total_steps, warmup_steps, hold_steps)
        self.peak = float(peak)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.hold_steps = int(hold_steps)
        self.first_lr = None if first_lr is None else float(first_lr)

    def factor(self, t):
        """The schedule's shape at float step ``t`` (peak 1)."""
        return one_cycle(t, self.total_steps, self.warmup_steps, self.hold_steps, _B)

    def __call__(self, step):
        t = _step(step)
        value = self.peak * self.factor(t)
        if self.first_lr is not None:
            value = ops.where(ops.equal(t, 0.0), self.first_lr, value)
        return value

    def get_config(self):
        return {"peak": self.peak, "total_steps": self.total_steps,
                "warmup_steps": self.warmup_steps, "hold_steps": self.hold_steps,
                "first_lr": self.first_lr}


@keras.saving.register_keras_serializable(package="deap_nos")
class MomentumCycle(keras.optimizers.schedules.LearningRateSchedule):
    """The momentum coefficient ``m_t``: ``high→low`` over warm-up, ``low`` held, ``low→high``.

    Usable wherever Keras accepts a callable of the step (e.g. to plot, or as ``SGD``'s
    momentum through a callback).
    """

    def __init__(self, total_steps, warmup_steps=0, hold_steps=0, low=0.85, high=0.95):
        _check_steps(total_steps, warmup_steps, hold_steps)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.hold_steps = int(hold_steps)
        self.low, self.high = float(low), float(high)

    def __call__(self, step):
        return momentum_cycle(_step(step), self.total_steps, self.warmup_steps,
                              self.hold_steps, _B, low=self.low, high=self.high)

    def get_config(self):
        return {"total_steps": self.total_steps, "warmup_steps": self.warmup_steps,
                "hold_steps": self.hold_steps, "low": self.low, "high": self.high}


# ---------------------------------------------------------------------- LR1–LR9
def _erfc2(x, B): return P.u_erfc(P.u_erfc(x, B), B)
def _dtanh(x, B): return P.u_dtanh(x, B)
def _sqrt_soft_inv(x, B): return B.sqrt(P.u_soft_inv(x, B))


def lr1(t, T, B):
    """LR1 = erfc2(a4) / dtanh(a8)  (Opt4's and Opt5's lr multiplier)."""
    return _erfc2(P.a4(t, T, B), B) / _dtanh(P.a8(t, T, B), B)


def lr2(t, T, B):
    """LR2 = erfc2(a4) / (dtanh(a8)·dtanh(a4))  (Opt6's lr multiplier)."""
    return _erfc2(P.a4(t, T, B), B) / (_dtanh(P.a8(t, T, B), B) * _dtanh(P.a4(t, T, B), B))


def lr3(t, T, B):
    """LR3 = atan(a2) / (dtanh(a10)·√soft_inv(a14))."""
    return B.arctan(P.a2(t, T, B)) / (_dtanh(P.a10(t, T, B), B)
                                      * _sqrt_soft_inv(P.a14(t, T, B), B))


def lr4(t, T, B):
    """LR4 = sigmoid(a2)² / sigmoid(2·softsign(a1))."""
    return B.sigmoid(P.a2(t, T, B)) ** 2 / B.sigmoid(2.0 * P.u_softsign(P.a1(t, T, B), B))


def lr5(t, T, B):
    """LR5 = 1 / √erf(a11)  (exceeds 1: up to ≈ 9.4 at the end of training)."""
    return 1.0 / B.sqrt(B.erf(P.a11(t, T, B)))


def lr6(t, T, B):
    """LR6 = atan(a2)·erfc(a6) / √soft_inv(a6)."""
    a6 = P.a6(t, T, B)
    return B.arctan(P.a2(t, T, B)) * B.erfc(a6) / _sqrt_soft_inv(a6, B)


def lr7(t, T, B):
    """LR7 = 1 / √soft_inv(a10) = √(1 + a10)."""
    return 1.0 / _sqrt_soft_inv(P.a10(t, T, B), B)


def lr8(t, T, B):
    """LR8 = 1 / (√softsign(atan(a12)) + 1e-7)  (huge at t = 0: hence the 1e-7 first step)."""
    return 1.0 / (B.sqrt(P.u_softsign(B.arctan(P.a12(t, T, B)), B)) + 1e-7)


def lr9(t, T, B):
    """LR9 = tanh(max(a10, a6))."""
    return B.tanh(B.maximum(P.a10(t, T, B), P.a6(t, T, B)))


#: name -> factor ``f(t, T, B)`` multiplying the one-cycle schedule (docs/reference.md §9).
LR_FACTORS = {"LR1": lr1, "LR2": lr2, "LR3": lr3, "LR4": lr4, "LR5": lr5, "LR6": lr6,
              "LR7": lr7, "LR8": lr8, "LR9": lr9}


def lr_factor(name):
    """The factor function of ``LR1`` … ``LR9``."""
    try:
        return LR_FACTORS[name]
    except (KeyError, TypeError):
        raise UnknownNameError(f"unknown learning-rate factor {name!r}; known: "
                               f"{', '.join(LR_FACTORS)}, or pass a genome's text to use "
                               f"its lr multiplier") from None


# ---------------------------------------------------------------------- lr multiplier
#: op -> degree of positive homogeneity in each input (None: not homogeneous alone).
HOMOGENEOUS = {"id": (1,), "neg": (1,), "abs": (1,), "relu": (1,), "min0": (1,),
               "sqrt_abs": (0.5,), "recip": (-1,), "mul": (1, 1), "div": (1, -1)}

#: A decay that multiplies the whole update by ``decay(t) ** power``.
Factor = namedtuple("Factor", "node position decay power")


def _consumers(genome, active):
    """node index -> list of (consumer index, input position), among active nodes."""
    readers = {i: [] for i in active}
    for j in active:
        for k, ref in enumerate(genome.nodes[j].inputs):
            if isinstance(ref, int):
                readers[ref].append((j, k))
    return readers


def _path_degree(genome, node, readers, table):
    """Product of the degrees from ``node``'s output to the graph's output, or None."""
    degree = 1.0
    while node != genome.output:
        if len(readers[node]) != 1:
            return None
        node, position = readers[node][0]
        k = table.get(genome.nodes[node].op, (None, None))[position]
        if k is None:
            return None
        degree *= k
    return degree


def lr_multiplier(genome, space=None, table=None):
    """The decay functions of ``genome`` that multiply its whole update (see the module rule).

    Returns a list of :class:`Factor` ``(node, position, decay, power)``: the update is
    ``Π decay(t)**power`` times the update of :func:`strip_lr_multiplier` (up to ``eps``).
    ``table`` overrides :data:`HOMOGENEOUS` (e.g. to declare a researcher's own operation).
    """
    genome = _as_genome(genome, space)
    table = HOMOGENEOUS if table is None else table
    active = genome.active_nodes()
    readers = _consumers(genome, active)
    factors = []
    for i in active:
        node = genome.nodes[i]
        degrees = table.get(node.op, (None,) * len(node.inputs))
        for k, decay in enumerate(node.decays):
            if decay is None or degrees[k] is None:
                continue
            rest = _path_degree(genome, i, readers, table)
            if rest is not None:
                factors.append(Factor(i, k, decay, degrees[k] * rest))
    return factors


def strip_lr_multiplier(genome, space=None, table=None):
    """A copy of ``genome`` without the decays :func:`lr_multiplier` factors out."""
    genome = _as_genome(genome, space)
    drop = {(f.node, f.position) for f in lr_multiplier(genome, space, table)}
    nodes = [Node(n.op, n.inputs, [None if (i, k) in drop else d
                                   for k, d in enumerate(n.decays)])
             for i, n in enumerate(genome.nodes)]
    return type(genome)(nodes, genome.momentum, genome.flip, genome.space)


def multiplier_value(factors, t, total_steps, space, B):
    """``Π decay(t)**power`` over ``factors`` with the namespace ``B`` (1 when empty)."""
    if space is None:
        raise NOSError("multiplier_value needs the genome's space (genome.space)")
    value = 1.0
    for f in factors:
        d = decay_value(f.decay, t, total_steps, space, B)
        value = value * (d if f.power == 1 else B.power(d, float(f.power)))
    return value


def lr_multiplier_values(genome, total_steps, steps=None, space=None):
    """The multiplier over ``t = 0 … steps−1`` (default ``total_steps``), as numpy, to plot.

    ``genome`` may also be ``"LR1"`` … ``"LR9"``.
    """
    t = np.arange(int(total_steps if steps is None else steps), dtype=np.float64)
    B = NumpyBackend()
    if isinstance(genome, str) and genome in LR_FACTORS:
        return np.broadcast_to(LR_FACTORS[genome](t, float(total_steps), B), t.shape).copy()
    genome = _as_genome(genome, space)
    space = space or genome.space
    factors = lr_multiplier(genome, space)
    with np.errstate(divide="ignore"):
        value = multiplier_value(factors, t, float(total_steps), space, B)
    return np.broadcast_to(value, t.shape).copy()


def _as_genome(genome, space=None):
    """A genome from a genome of any space, its text, or its JSON (whose ``"space"``
    names the space when ``space`` is not given)."""
    if isinstance(genome, OptimizerGraph) or (hasattr(genome, "space")
                                              and hasattr(genome, "to_dict")):
        return genome
    if isinstance(genome, str) and genome.lstrip().startswith("{"):
        import json
        try:
            genome = json.loads(genome)
        except ValueError as exc:
            raise NOSError(f"not valid JSON for a genome: {exc}") from None
    if isinstance(genome, dict):
        if space is not None:
            return space.from_dict(genome)
        from ..spaces import genome_from_dict
        return genome_from_dict(genome)
    if isinstance(genome, str):
        if space is not None:
            return space.parse(genome)
        from ..spaces.nos.genome import parse
        return parse(genome)
    raise NOSError(f"expected a genome (OptimizerGraph, its text or JSON), got "
                   f"{type(genome).__name__}; build one with nos.parse('...')")


@keras.saving.register_keras_serializable(package="deap_nos")
class FactorSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """``factor(t) × peak·one_cycle(t)``, with the very first step at ``first_lr``.

    Parameters
    ----------
    factor : str
        ``"LR1"`` … ``"LR9"`` (docs/reference.md §9), or a genome's text / JSON, whose lr
        multiplier (:func:`lr_multiplier`) becomes the factor.
    base_learning_rate : float
        The one-cycle peak.
    total_steps, warmup_steps, hold_steps : int
        The one-cycle shape; the factor is evaluated at ``t`` over ``total_steps``.
    first_lr : float or None
        The learning rate of step 0 (the authors: 1e-7; LR8 is huge at t = 0).
    """

    def __init__(self, factor, base_learning_rate, total_steps, warmup_steps=0,
                 hold_steps=0, first_lr=1e-7):
        self.factor = factor if isinstance(factor, str) else _as_genome(factor).to_json()
        if self.factor in LR_FACTORS:
            self._fn = LR_FACTORS[self.factor]
        else:
            genome = _as_genome(self.factor)
            factors = lr_multiplier(genome)
            self._fn = lambda t, T, B: multiplier_value(factors, t, T, genome.space, B)
        self.base = OneCycle(base_learning_rate, total_steps, warmup_steps, hold_steps,
                             first_lr)

    def __call__(self, step):
        t = _step(step)
        value = self.base.peak * self.base.factor(t) * self._fn(t, float(self.base.total_steps), _B)
        if self.base.first_lr is not None:
            value = ops.where(ops.equal(t, 0.0), self.base.first_lr, value)
        return value

    def values(self, steps=None):
        """The learning rate at ``t = 0 … steps−1`` (default all), as numpy, to plot."""
        steps = self.base.total_steps if steps is None else int(steps)
        return ops.convert_to_numpy(self(np.arange(steps)))

    def get_config(self):
        return {"factor": self.factor, "base_learning_rate": self.base.peak,
                "total_steps": self.base.total_steps,
                "warmup_steps": self.base.warmup_steps, "hold_steps": self.base.hold_steps,
                "first_lr": self.base.first_lr}
