"""The ``termmix`` search space: random genomes, DEAP operators, screening, zoo.

:class:`TermMixSpace` implements the representation protocol of
:mod:`deap_nos.spaces`. Its operators follow DEAP's contract (in place, return tuples)
and always return valid genomes:

* :meth:`~TermMixSpace.mutate` — each gene changes with probability ``indpb``: a
  Gaussian step on the reals (``sigma`` × the gene's range; ``eps`` in log10), clipped
  to the range; a bit flip on the flags; a switch of a term on or off. At least one
  gene changes, and at least one term stays on.
* :meth:`~TermMixSpace.mate` — uniform crossover of the terms (on/off and weight move
  together) and the flags, blend crossover (BLX-α) of β1, β2 and log10 ε.
"""
import math
import random

import numpy as np

from ...backend import NumpyBackend
from ..nos.integrity import LEARNING_RATES, SHIFT, X0, IntegrityResult
from ...schedules import one_cycle
from ..keras_export import keras_factory
from . import genome as G
from .program import compile as compile_program

__all__ = ["TermMixSpace", "ZOO"]

#: The space's known optimizers, as text.
ZOO = {
    "Adam": "1*adam | beta1=0.9 beta2=0.999 eps=1e-08 | "
            "bias_correction=on warmup=off cosine=off",
    # Seed 002's evolved optimizer: sign-based and Adam terms, β1 0.86, β2 0.94, no bias
    # correction, warm-up and cosine decay. The seed does not give the term weights; we
    # weight the sign term at half the Adam term (each term has magnitude ≤ ~1).
    "TermMixEvolved": "1*adam + 0.5*sign_g | beta1=0.86 beta2=0.94 eps=1e-08 | "
                      "bias_correction=off warmup=on cosine=on",
    "SGD": "1*g | beta1=0.9 beta2=0.999 eps=1e-08 | bias_correction=on warmup=off cosine=off",
    "RMSprop": "1*rms | beta1=0.9 beta2=0.99 eps=1e-08 | "
               "bias_correction=off warmup=off cosine=off",
    "Signum": "1*sign_m | beta1=0.9 beta2=0.999 eps=1e-08 | "
              "bias_correction=on warmup=off cosine=off",
}

_REALS = ("beta1", "beta2", "eps")


def _log_eps(x):
    return math.log10(x)


class TermMixSpace:
    """Seed 002's term-mix representation (see :mod:`deap_nos.spaces.termmix`).

    :param indpb: Per-gene mutation probability.
    :param sigma: Gaussian step of a real gene, as a fraction of its range.
    :param alpha: BLX-α of the blend crossover.
    :param p_on: Probability that a term is on in a random genome.
    """

    name = "termmix"
    default_algorithm = "generational"

    #: The Keras optimizer factory the verdict trains with: GraphOptimizer without the
    #: outer one-cycle (the genome's own schedule only; :mod:`..keras_export`).
    keras_factory = staticmethod(keras_factory)

    def __init__(self, indpb=0.2, sigma=0.1, alpha=0.5, p_on=0.35):
        # an instance attribute: the registry instantiates a factory without one
        self.genome_class = G.TermMixGenome
        self.indpb, self.sigma, self.alpha, self.p_on = indpb, sigma, alpha, p_on

    def __repr__(self):
        return f"TermMixSpace(indpb={self.indpb}, sigma={self.sigma}, alpha={self.alpha})"

    def __reduce__(self):   # pickled by name: every process shares the registered space
        return (_registered, ())

    # -- protocol: documents
    def parse(self, text, cls=None):
        return G.parse(text, cls)

    def from_dict(self, data, cls=None):
        return G.from_dict(data, cls)

    def zoo(self):
        return dict(ZOO)

    def compile(self, genome, backend=None, total_steps=1000, warmup_steps=0,
                hold_steps=0, **options):
        return compile_program(genome, backend, total_steps, warmup_steps, hold_steps,
                               **options)

    def interpreter(self, total_steps=1000, warmup_steps=0, hold_steps=0, **options):
        """The batched program of the population path (one per process, no retrace per
        genome): :class:`~deap_nos.backends.tensorflow.termmix.TermMixInterpreter`."""
        from ...backends.tensorflow.termmix import TermMixInterpreter
        return TermMixInterpreter(total_steps, warmup_steps, hold_steps, **options)

    # -- protocol: random genomes and operators
    def random_fields(self, rng=random):
        """Uniform genes; each term on with probability ``p_on``, at least one on."""
        low, high = G.RANGES["weight"]
        weights = {n: rng.uniform(low, high) for n in G.TERMS}
        on = [n for n in G.TERMS if rng.random() < self.p_on] or [rng.choice(G.TERMS)]
        elo, ehi = map(_log_eps, G.RANGES["eps"])
        return dict(terms={n: weights[n] for n in on}, weights=weights,
                    beta1=rng.uniform(*G.RANGES["beta1"]),
                    beta2=rng.uniform(*G.RANGES["beta2"]),
                    eps=10.0 ** rng.uniform(elo, ehi),
                    **{f: rng.random() < 0.5 for f in G.FLAGS})

    def random(self, cls=None, screen=True, max_tries=100):
        """A valid random genome (DEAP initializer); with ``screen``, one that passes
        the shifted-sphere integrity check (redrawn up to ``max_tries`` times)."""
        cls = cls or G.TermMixGenome
        for _ in range(max_tries):
            genome = cls(**self.random_fields())
            if not screen or self.screen(genome):
                return genome
        return genome

    def _set(self, ind, fields):
        fresh = G.TermMixGenome(**fields)    # validates
        for name in ("weights", "active", *_REALS, *G.FLAGS):
            setattr(ind, name, getattr(fresh, name))
        return ind

    def mutate(self, individual, indpb=None):
        """Mutate ``individual`` in place; returns ``(individual,)``."""
        indpb = self.indpb if indpb is None else indpb
        before = individual.key()
        for _ in range(50):     # a change the key sees (not only inactive genes)
            self._set(individual, self._mutated(individual.fields(), indpb))
            if individual.key() != before:
                break
            indpb = max(indpb, 0.1)
        return (individual,)

    def _step(self, value, low, high):
        return min(high, max(low, value + random.gauss(0.0, self.sigma * (high - low))))

    def _mutated(self, f, indpb):
        weights, on = dict(f["weights"]), set(f["terms"])
        for n in G.TERMS:
            if random.random() < indpb:
                weights[n] = self._step(weights[n], *G.RANGES["weight"])
            if random.random() < indpb:
                on ^= {n}
        if not on:
            on = {random.choice(G.TERMS)}
        for name in ("beta1", "beta2"):
            if random.random() < indpb:
                f[name] = self._step(f[name], *G.RANGES[name])
        if random.random() < indpb:
            elo, ehi = map(_log_eps, G.RANGES["eps"])
            f["eps"] = min(G.RANGES["eps"][1], max(G.RANGES["eps"][0],
                       10.0 ** self._step(_log_eps(f["eps"]), elo, ehi)))
        for flag in G.FLAGS:
            if random.random() < indpb:
                f[flag] = not f[flag]
        f["weights"], f["terms"] = weights, {n: weights[n] for n in G.TERMS if n in on}
        return f

    def mate(self, ind1, ind2):
        """Uniform + blend crossover in place; returns ``(ind1, ind2)``."""
        a, b = ind1.fields(), ind2.fields()
        wa, wb = dict(a["weights"]), dict(b["weights"])
        on_a, on_b = set(a["terms"]), set(b["terms"])
        for n in G.TERMS:
            if random.random() < 0.5:
                wa[n], wb[n] = wb[n], wa[n]
                if (n in on_a) != (n in on_b):
                    on_a ^= {n}
                    on_b ^= {n}
        for flag in G.FLAGS:
            if random.random() < 0.5:
                a[flag], b[flag] = b[flag], a[flag]
        for name in _REALS:
            a[name], b[name] = self._blend(name, a[name], b[name])
        for f, w, on, other in ((a, wa, on_a, on_b), (b, wb, on_b, on_a)):
            on = on or set(other)
            f["weights"], f["terms"] = w, {n: w[n] for n in G.TERMS if n in on}
        self._set(ind1, a)
        self._set(ind2, b)
        return ind1, ind2

    def _blend(self, name, x, y):
        low, high = G.RANGES[name]
        if name == "eps":
            x, y, low, high = _log_eps(x), _log_eps(y), _log_eps(low), _log_eps(high)
        out = []
        for p, q in ((x, y), (y, x)):
            gamma = (1.0 + 2.0 * self.alpha) * random.random() - self.alpha
            out.append(min(high, max(low, (1.0 - gamma) * p + gamma * q)))
        if name == "eps":
            lo, hi = G.RANGES["eps"]
            out = [min(hi, max(lo, 10.0 ** v)) for v in out]
        return tuple(out)

    # -- protocol: screening
    def screen(self, genome, steps=35, lrs=LEARNING_RATES, warmup=6, threshold=3.5):
        """The shifted-sphere integrity check of :mod:`deap_nos.spaces.nos.integrity` (same start,
        shift, learning rates, steps and threshold), all learning rates at once.

        Every term descends with ``+u`` (non-negative weights), so the flipped sign
        is not tried. Passes if some run ends below ``threshold``; NaN never passes.
        """
        x0, b = np.asarray(X0, dtype=np.float64), np.asarray(SHIFT, dtype=np.float64)
        lr = np.asarray(lrs, dtype=np.float64)[:, None]
        try:
            program = self.compile(genome, NumpyBackend(batch_axes=1), total_steps=steps,
                                   warmup_steps=warmup)
            x = np.tile(x0, (len(lrs), 1))
            state = program.init(x)
            with np.errstate(all="ignore"):
                for t in range(steps):
                    factor = one_cycle(t, steps, warmup, 0, program.B)
                    delta, state = program.update(2.0 * (x - b), state, x, t, lr * factor)
                    x = x + delta
                losses = np.sum((x - b) ** 2, axis=1)
        except (FloatingPointError, OverflowError, ZeroDivisionError, ValueError) as exc:
            return IntegrityResult(False, False, (float("nan"),) * len(lrs), tuple(lrs),
                                   f"numerical error: {exc}")
        good = np.isfinite(losses) & (losses < threshold)
        if good.any():
            return IntegrityResult(True, False, tuple(losses.tolist()), tuple(lrs), None)
        reason = ("non-finite loss at every learning rate" if not np.isfinite(losses).any()
                  else f"no run ended below {threshold} (best {np.nanmin(losses):.4g})")
        return IntegrityResult(False, False, tuple(losses.tolist()), tuple(lrs), reason)


def _registered():
    from ... import spaces
    return spaces.get("termmix")
