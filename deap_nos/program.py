"""Compile a genome into a pure ``init`` / ``update`` program (the Optax idea).

``compile(genome, backend)`` walks only the active nodes, in topological order, and
allocates only the state they read: the moving averages ``v``, ``s``, ``λ`` that active
operands need, one tensor per active state-saving node, and the momentum buffer ``μ``
when the update form uses it. The same program runs on numpy (vectorised over a leading
batch of trajectories, for the integrity check and plots) and on TensorFlow (inside the
Keras optimizer).
"""
import numpy as np

from .backend import NumpyBackend
from .spaces.nos.genes import HIDDEN, is_index, stable_hash, validate
from .spaces.nos.space import space_of
from .spaces.nos import authors
from .spaces.nos.primitives import MOMENTS, s_delta
from .schedules import momentum_cycle


class Context:
    """What operands see at one step: ``g``, ``w``, ``t`` and the (bias-corrected) averages."""

    __slots__ = ("g", "w", "t", "v", "s", "l", "v_hat", "s_hat", "l_hat")

    def __init__(self, g, w, t, moments, B):
        self.g, self.w, self.t = g, w, t
        for name, value in moments.items():
            beta = MOMENTS[name][0]
            setattr(self, name, value)
            setattr(self, name + "_hat", value / (1.0 - B.power(beta, t + 1.0)))


def decay_value(decay, t, total, space, B):
    """Value of a :class:`~deap_nos.spaces.nos.genes.DecayGraph` at step ``t`` of ``total``."""
    hidden = _decay_node_value(decay.hidden, None, t, total, space, B) if decay.uses_hidden \
        else None
    return _decay_node_value(decay.output, hidden, t, total, space, B)


def _decay_node_value(node, hidden, t, total, space, B):
    """One decay node's value; ``hidden`` is the hidden node's value where it reads it."""
    args = [hidden if is_index(ref) and ref == HIDDEN else space.schedule(ref).fn(t, total, B)
            for ref in node.inputs]
    return space.decay_op(node.op).fn(*args, B)


class Program:
    """A compiled genome: ``init(params) → state`` and ``update(...) → (delta, state)``.

    Parameters
    ----------
    genome : OptimizerGraph
    space : SearchSpace
    backend : namespace
        :class:`~deap_nos.backend.NumpyBackend` or the Keras namespace.
    total_steps, warmup_steps, hold_steps : int
        ``T`` for decay functions and the momentum cycle.
    momentum_schedule : "cycle" or float
        The cycled coefficient of docs/reference.md §1, or a constant (0.9 in the paper
        when no schedule is given).
    nesterov : {"default", "authors"}
        ``w ← w + m·μ − lr·u`` (default) or the authors' search code ``w ← w + μ − lr·u``.
    semantics : {"default", "authors"}
        ``"authors"``: their Nesterov form, their momentum cycle and their ``delta``
        (:mod:`deap_nos.spaces.nos.authors`); the learning rate given to :meth:`update` is already
        scheduled, so its warm-up is the caller's.
    """

    def __init__(self, genome, space, backend, total_steps, warmup_steps=0, hold_steps=0,
                 momentum_schedule="cycle", nesterov="default", semantics="default"):
        self.semantics = authors.check_semantics(semantics)
        if semantics == "authors":
            nesterov = "authors"
        self.genome = genome
        self.space = space
        self.B = backend
        self.total_steps = total_steps
        self.warmup_steps = warmup_steps
        self.hold_steps = hold_steps
        self.momentum_schedule = momentum_schedule
        self.nesterov = nesterov
        self.order = genome.active_nodes()
        self.moments = sorted({m for i in self.order for ref in genome.nodes[i].inputs
                               if isinstance(ref, str) for m in space.operand(ref).requires})
        self.stateful = [i for i in self.order if space.op(genome.nodes[i].op).stateful]
        self.uses_mu = genome.momentum != "none"
        self._steps = [self._node_step(i) for i in self.order]

    def _node_step(self, index):
        node = self.genome.nodes[index]
        prim = self.space.op(node.op)
        if self.semantics == "authors" and prim.fn is s_delta:
            prim = prim._replace(fn=authors.s_delta)
        return index, prim, node.inputs, node.decays

    # ------------------------------------------------------------------ state
    def state_names(self):
        """Names of the state tensors this program keeps per weight."""
        return (list(self.moments) + [f"node{i}" for i in self.stateful]
                + (["mu"] if self.uses_mu else []))

    def init(self, params):
        """Zero state for weights ``params`` (only what the active graph reads)."""
        return {name: self.B.zeros_like(params) for name in self.state_names()}

    # ------------------------------------------------------------------ math
    def direction(self, grad, state, params, step):
        """The graph's output ``u`` at 0-based ``step``, and the new state."""
        B = self.B
        new = dict(state)
        for name in self.moments:
            beta, power = MOMENTS[name]
            gp = grad if power == 1 else grad * grad if power == 2 else grad * grad * grad
            new[name] = beta * state[name] + (1.0 - beta) * gp
        ctx = Context(grad, params, step, {m: new[m] for m in self.moments}, B)
        operands = {}
        values = {}
        for index, prim, inputs, decays in self._steps:
            args = []
            for ref, decay in zip(inputs, decays):
                if isinstance(ref, str):
                    if ref not in operands:
                        operands[ref] = self.space.operand(ref).fn(ctx, B)
                    x = operands[ref]
                else:
                    x = values[ref]
                if decay is not None:
                    x = x * decay_value(decay, step, self.total_steps, self.space, B)
                args.append(x)
            if prim.stateful:
                key = f"node{index}"
                values[index], new[key] = prim.fn(args[0], state[key], step, B)
            else:
                values[index] = prim.fn(*args, B)
        return values[self.genome.output], new

    def momentum_coefficient(self, step):
        """``m_t``: the cycled coefficient, or the constant given."""
        if self.momentum_schedule == "cycle":
            cycle = authors.momentum_cycle if self.semantics == "authors" else momentum_cycle
            return cycle(step, self.total_steps, self.warmup_steps,
                                  self.hold_steps, self.B)
        return float(self.momentum_schedule)

    def update(self, grad, state, params, step, lr, sign=None):
        """Additive change ``delta`` for ``params`` (``w ← w + delta``) and the new state.

        ``lr`` is the learning rate at this step (already scheduled); ``sign`` is ±1
        (default: −1 when the genome is flipped) and may be an array, one per trajectory.
        """
        if sign is None:
            sign = -1.0 if self.genome.flip else 1.0
        u, new = self.direction(grad, state, params, step)
        step_u = lr * sign * u
        if not self.uses_mu:
            return -step_u, new
        m = self.momentum_coefficient(step)
        mu = m * state["mu"] - step_u
        new["mu"] = mu
        if self.genome.momentum == "momentum":
            return mu, new
        if self.nesterov == "authors":
            return mu - step_u, new
        return m * mu - step_u, new


def compile(genome, backend=None, space=None, total_steps=1000, warmup_steps=0,
            hold_steps=0, **options):
    """Compile ``genome`` for ``backend`` (default: numpy) into a :class:`Program`."""
    space = space_of(genome, space)
    validate(genome, space)
    backend = backend if backend is not None else NumpyBackend()
    return Program(genome, space, backend, total_steps, warmup_steps, hold_steps, **options)


# ---------------------------------------------------------------------- fingerprint
PROBE_STEPS = 8
PROBE_SIZE = 6


def probe(program, steps=PROBE_STEPS, size=PROBE_SIZE, seed=1234, update=False):
    """A compiled program's output on fixed pseudo-random weights and gradients (the
    gradient grows with ``t``), one row per step: the probe every space's semantic
    fingerprint hashes. ``update``: ``delta`` at lr 1 instead of the raw direction
    (a space whose schedule lives in ``update``)."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=size)
    state = program.init(w)
    out = []
    with np.errstate(all="ignore"):
        for t in range(steps):
            g = rng.normal(size=size) * (1.0 + t)
            if update:
                u, state = program.update(g, state, w, t, 1.0)
            else:
                u, state = program.direction(g, state, w, t)
            out.append(np.broadcast_to(u, (size,)))
    return np.stack(out)


def probe_updates(genome, space=None, steps=PROBE_STEPS, size=PROBE_SIZE, seed=1234):
    """The genome's ``u`` on fixed pseudo-random gradients and weights over ``steps`` steps."""
    program = compile(genome, NumpyBackend(batch_axes=0, seed=seed), space,
                      total_steps=steps, warmup_steps=2)
    return probe(program, steps, size, seed)


def semantic_fingerprint(genome, space=None, digits=6):
    """A hash of the momentum form, flip, and the probe updates rounded to ``digits``."""
    values = probe_updates(genome, space)
    text = ",".join(f"{v:.{digits}g}" for v in values.ravel())
    return stable_hash(f"{genome.momentum}|{int(genome.flip)}|{text}")
