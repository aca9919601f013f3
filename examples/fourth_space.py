"""Adding a fourth search space: the Lion family, in one file (docs/spaces.md).

A space is a small object the engine, algorithms, evaluators and command read through
one protocol (deap_nos/spaces/__init__.py): ``random``, ``mutate``, ``mate``,
``screen``, ``compile``, ``parse``, ``from_dict``, ``zoo``, and genomes with ``.space``,
text, ``to_dict``, ``key`` and ``fingerprint``. Here a genome is Lion's two
coefficients and a sign exponent (Chen et al., 2023, "Symbolic Discovery of
Optimization Algorithms")::

    c = β1·m + (1 − β1)·g          u = sign(c)·|c|^p       (p = 0: Lion itself)
    m ← β2·m + (1 − β2)·g          w ← w − lr·u

Registered as ``lion``, it is searched by the term-mix GA with the term-mix fitness
(both only use the protocol), screened by the shifted-sphere check, and its genomes
become Keras optimizers like every other space's::

    python examples/fourth_space.py            # a 4 × 3 search in a few seconds

The last line is ``best fitness F``: the best genome's mean accuracy over the cheap
term-mix tasks relative to Adam (1 = Adam's). Measured at the defaults (4 × 3):
1.0645 / 0.9683 / 0.9737 for ``--seed`` 0/1/2 (tests/test_examples.py runs seed 0 and
asks for at least 0.90: a broken search scores -1 or far below Adam).
"""
import random

import numpy as np

from deap_nos import spaces
from deap_nos.backend import NumpyBackend
from deap_nos.errors import GenomeError, ParseError
from deap_nos.spaces.nos.genes import stable_hash

RANGES = {"beta1": (0.0, 0.99), "beta2": (0.5, 0.999), "power": (0.0, 1.0)}


class LionGenome:
    """Lion's coefficients: plain data, canonical text, a semantic fingerprint."""

    def __init__(self, beta1=0.9, beta2=0.99, power=0.0):
        self.beta1, self.beta2, self.power = (float(beta1), float(beta2), float(power))
        for name, (low, high) in RANGES.items():
            if not low <= getattr(self, name) <= high:
                raise GenomeError(f"{name} must lie in [{low}, {high}]; got "
                                  f"{getattr(self, name)}")

    space = property(lambda self: spaces.get("lion"))

    def __str__(self):
        return f"lion beta1={self.beta1!r} beta2={self.beta2!r} power={self.power!r}"

    def key(self):
        return str(self)

    def __eq__(self, other):
        return isinstance(other, LionGenome) and self.key() == other.key()

    def __hash__(self):
        return hash(self.key())

    def to_dict(self):
        return {"space": "lion", "beta1": self.beta1, "beta2": self.beta2,
                "power": self.power}

    def fingerprint(self):
        """A hash of the updates on fixed probe gradients (the engine's cache key)."""
        program = self.space.compile(self, total_steps=8)
        rng = np.random.default_rng(1234)
        w = rng.normal(size=6)
        state, out = program.init(w), []
        for t in range(8):
            u, state = program.direction(rng.normal(size=6), state, w, t)
            out.append(u)
        return stable_hash(",".join(f"{v:.6g}" for v in np.ravel(out)))


class LionProgram:
    """The Optax-style pair, written against the array namespace ``B``."""

    def __init__(self, genome, backend, total_steps):
        self.genome, self.B, self.total_steps = genome, backend, total_steps

    def init(self, params):
        return {"m": self.B.zeros_like(params)}

    def direction(self, grad, state, params, step):
        g, B = self.genome, self.B
        c = g.beta1 * state["m"] + (1.0 - g.beta1) * grad
        u = B.sign(c) * B.power(B.abs(c), g.power)
        return u, {"m": g.beta2 * state["m"] + (1.0 - g.beta2) * grad}

    def update(self, grad, state, params, step, lr, sign=None):
        u, new = self.direction(grad, state, params, step)
        return -lr * (1.0 if sign is None else sign) * u, new


class LionSpace:
    """The protocol: what the engine, algorithms and evaluators call."""

    name = "lion"
    genome_class = LionGenome
    default_algorithm = "generational"

    def random(self, cls=None):
        values = {k: random.uniform(*r) for k, r in RANGES.items()}
        return (cls or LionGenome)(**values)

    def mutate(self, individual, sigma=0.1):
        name = random.choice(sorted(RANGES))
        low, high = RANGES[name]
        value = getattr(individual, name) + random.gauss(0.0, sigma * (high - low))
        setattr(individual, name, min(high, max(low, value)))
        return (individual,)

    def mate(self, ind1, ind2):
        for name in RANGES:
            if random.random() < 0.5:
                a, b = getattr(ind1, name), getattr(ind2, name)
                setattr(ind1, name, b)
                setattr(ind2, name, a)
        return ind1, ind2

    def compile(self, genome, backend=None, total_steps=1000, warmup_steps=0,
                hold_steps=0, **options):
        return LionProgram(genome, backend or NumpyBackend(), total_steps)

    def screen(self, genome):
        from deap_nos.spaces.nos.integrity import integrity_check
        return integrity_check(genome, try_flip=False)

    def parse(self, text, cls=None):
        try:
            head, *pairs = text.split()
            values = dict(pair.split("=") for pair in pairs)
            assert head == "lion" and set(values) == set(RANGES)
            return (cls or LionGenome)(**{k: float(v) for k, v in values.items()})
        except (ValueError, AssertionError):
            raise ParseError(f"a lion genome reads 'lion beta1=B1 beta2=B2 power=P'; "
                             f"got {text!r}") from None

    def from_dict(self, data, cls=None):
        return (cls or LionGenome)(**{k: data[k] for k in RANGES})

    def zoo(self):
        return {"Lion": "lion beta1=0.9 beta2=0.99 power=0"}


spaces.register("lion", LionSpace())


def search(seed=0, population=4, generations=3):
    """The term-mix GA and fitness on the Lion space: ``(population, logbook, best)``."""
    from deap import base, creator, tools

    from deap_nos.spaces.termmix.algorithm import eaTermMix
    from deap_nos.spaces.termmix.fitness import CheapTermMixEvaluator

    space = spaces.get("lion")
    if not hasattr(creator, "LionIndividual"):
        creator.create("LionFitness", base.Fitness, weights=(1.0,))
        creator.create("LionIndividual", LionGenome, fitness=creator.LionFitness)
    toolbox = base.Toolbox()
    toolbox.register("individual", space.random, creator.LionIndividual)
    toolbox.register("mate", space.mate)
    toolbox.register("mutate", space.mutate)
    toolbox.register("evaluate", CheapTermMixEvaluator("cheap", seed=seed))
    random.seed(seed)
    hof = tools.HallOfFame(1)
    pop = [toolbox.individual() for _ in range(population)]
    pop, logbook = eaTermMix(pop, toolbox, generations, 0.7, 0.3, halloffame=hof,
                             verbose=False, tournsize=2, elite=1)
    return pop, logbook, hof[0]


if __name__ == "__main__":
    import argparse
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--population", type=int, default=4)
    p.add_argument("--generations", type=int, default=3)
    args = p.parse_args()
    _, _, best = search(args.seed, args.population, args.generations)
    print(f"best: {best}")
    print(f"best fitness {best.fitness.values[0]:.4f} (mean accuracy relative to Adam)")
