"""A term-mix genome compiled into the Optax-style ``init`` / ``update`` pair.

Same signatures as :class:`deap_nos.program.Program`, written against the array
namespace ``B`` (numpy, Keras, JAX), so the integrity check, the Keras optimizer and the
optax transformation run it. At 0-based step ``t`` (bias corrections use ``t + 1``)::

    m ← β1·m + (1−β1)·g        v ← β2·v + (1−β2)·g²         (only those the terms read)
    m̂, v̂ = m/(1−β1^(t+1)), v/(1−β2^(t+1))   if bias_correction, else m, v
    u = Σ w_i·term_i                                          (genome.py lists the terms)
    s(t) = warm(t)·cos(t)                                     (flags; 1 when off)
    delta = −lr · sign · s(t) · u

``warm(t) = min((t+1)/W, 1)`` over ``W`` warm-up steps (``warmup_steps`` given to
:func:`compile`, else 10 % of ``total_steps``); ``cos(t) = ½(1 + cos(π·τ))`` with τ
running from 0 to 1 over the steps after the warm-up (and ``hold_steps``). The genome's
schedule is part of the optimizer: an evaluator that also schedules the learning rate
outside multiplies the two (the term-mix fitness gives a constant peak rate).
"""

from ...backend import NumpyBackend
from ...errors import NOSError
from ..nos.genes import stable_hash
from ...program import probe

__all__ = ["TermMixProgram", "compile", "probe_updates", "semantic_fingerprint"]

#: nos options that generic callers pass and a term-mix program does not use.
_IGNORED = ("momentum_schedule", "nesterov")


class TermMixProgram:
    """A compiled term-mix genome: ``init(params) → state``, ``update(...) → (delta, state)``."""

    def __init__(self, genome, backend, total_steps, warmup_steps=0, hold_steps=0):
        self.genome = genome
        self.space = genome.space
        self.B = backend
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps) if warmup_steps else max(1, self.total_steps // 10)
        self.hold_steps = int(hold_steps)
        self.terms = genome.terms
        self.moments = genome.reads()

    def state_names(self):
        """Names of the state tensors kept per weight (``m``, ``v`` as the terms read)."""
        return list(self.moments)

    def init(self, params):
        """Zero state for weights ``params``."""
        return {name: self.B.zeros_like(params) for name in self.state_names()}

    def _moments(self, grad, state, step):
        g, B = self.genome, self.B
        new, hats = {}, {}
        for name, beta in (("m", g.beta1), ("v", g.beta2)):
            if name not in self.moments:
                continue
            x = grad if name == "m" else grad * grad
            new[name] = beta * state[name] + (1.0 - beta) * x
            hats[name] = (new[name] / (1.0 - B.power(beta, step + 1.0))
                          if g.bias_correction else new[name])
        return new, hats

    def direction(self, grad, state, params, step):
        """``u`` at 0-based ``step`` (the weighted term sum) and the new state."""
        B, eps = self.B, self.genome.eps
        new, hat = self._moments(grad, state, step)
        denom = B.sqrt(hat["v"]) + eps if "v" in hat else None
        values = {"g": lambda: grad, "m": lambda: hat["m"], "rms": lambda: grad / denom,
                  "adam": lambda: hat["m"] / denom, "sign_g": lambda: B.sign(grad),
                  "sign_m": lambda: B.sign(new["m"])}
        u = None
        for name, weight in self.terms.items():
            term = weight * values[name]()
            u = term if u is None else u + term
        return u, new

    def schedule(self, step):
        """``s(t)``: the genome's warm-up and cosine factors (1.0 when both are off)."""
        g, B = self.genome, self.B
        factor = 1.0
        start = self.hold_steps
        if g.warmup:
            factor = B.minimum((step + 1.0) / float(self.warmup_steps), 1.0)
            start += self.warmup_steps
        if g.cosine:
            rest = max(float(self.total_steps - start), 1.0)
            tau = B.minimum(B.maximum(step - float(start), 0.0) / rest, 1.0)
            factor = factor * (0.5 * (1.0 + B.cos(B.pi * tau)))
        return factor

    def update(self, grad, state, params, step, lr, sign=None):
        """Additive change ``delta`` (``w ← w + delta``) and the new state.

        ``lr`` is the learning rate given from outside (one per trajectory on numpy);
        the genome's flags multiply it by :meth:`schedule`. ``sign`` defaults to +1.
        """
        u, new = self.direction(grad, state, params, step)
        scale = lr * self.schedule(step)
        if sign is not None:
            scale = scale * sign
        return -(scale * u), new


def compile(genome, backend=None, total_steps=1000, warmup_steps=0, hold_steps=0,
            **options):
    """Compile ``genome`` for ``backend`` (default numpy) into a :class:`TermMixProgram`.

    ``momentum_schedule`` and ``nesterov`` (options of the paper's space) are accepted
    and ignored; any other option is an error.
    """
    if getattr(getattr(genome, "space", None), "name", None) != "termmix":
        raise NOSError(f"the termmix space compiles TermMixGenome objects, got "
                       f"{type(genome).__name__}; parse text with "
                       "deap_nos.spaces.get('termmix').parse")
    unknown = sorted(set(options) - set(_IGNORED))
    if unknown:
        raise NOSError(f"unknown option(s) {unknown} for a termmix program; known: "
                       "total_steps, warmup_steps, hold_steps")
    backend = backend if backend is not None else NumpyBackend()
    return TermMixProgram(genome, backend, total_steps, warmup_steps, hold_steps)


# ---------------------------------------------------------------------- fingerprint
PROBE_STEPS = 8
PROBE_SIZE = 6


def probe_updates(genome, steps=PROBE_STEPS, size=PROBE_SIZE, seed=1234):
    """``delta`` at lr 1 on fixed pseudo-random gradients over ``steps`` steps (schedule
    flags included, ``total_steps = steps``, 2 warm-up steps)."""
    program = compile(genome, NumpyBackend(seed=seed), total_steps=steps, warmup_steps=2)
    return probe(program, steps, size, seed, update=True)


def semantic_fingerprint(genome, digits=6):
    """A hash of the probe updates rounded to ``digits`` significant digits."""
    text = ",".join(f"{v:.{digits}g}" for v in probe_updates(genome).ravel())
    return stable_hash(f"termmix|{text}")
