"""One contract suite for every search space (as optax's alias_test runs every
optimizer through the same checks): a fourth space is tested by adding its name.

For each space: random genomes are valid and pass the shifted-sphere screen; mutation
and crossover keep them valid; text, JSON and pickle round trips give equal genomes
with equal fingerprints; the documents name the space, so any of them loads through
the registry; zoo entries parse; the compiled program runs on numpy and moves the
weights.
"""
import copy
import json
import os
import pickle
import random
import sys

import numpy as np
import pytest

from deap_nos import spaces
from deap_nos.backend import NumpyBackend

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "examples"))
import fourth_space  # noqa: E402,F401  (registers "lion")

SPACES = ["nos", "termmix", "autolr", "lion"]
DRAWS = 12


@pytest.fixture(params=SPACES)
def space(request):
    return spaces.get(request.param)


def _round_trips(space, genome):
    text = space.parse(str(genome))
    document = json.loads(json.dumps(genome.to_dict()))
    assert document.get("space", "nos") == space.name
    for other in (text, space.from_dict(document), spaces.genome_from_dict(document),
                  pickle.loads(pickle.dumps(genome)), copy.deepcopy(genome)):
        assert other == genome and hash(other) == hash(genome)
        assert other.fingerprint() == genome.fingerprint()


def test_random_genomes_are_valid_and_round_trip(space):
    random.seed(1)
    for _ in range(DRAWS):
        genome = space.random()
        assert space.screen(genome).passed
        _round_trips(space, genome)


def test_variation_keeps_genomes_valid(space):
    random.seed(2)
    for _ in range(DRAWS):
        parent = space.random()
        (child,) = space.mutate(copy.deepcopy(parent))
        assert isinstance(child, type(parent))
        _round_trips(space, child)
        try:
            a, b = space.mate(copy.deepcopy(parent), space.random())
        except NotImplementedError:       # mutation-only (the paper's particle GA)
            continue
        _round_trips(space, a)
        _round_trips(space, b)


def test_zoo_entries_round_trip_and_pass_their_screen(space):
    """Each zoo entry round-trips and passes its space's screen (the shifted-sphere
    descent check every candidate passes before training); its program keeps the
    weights finite over a few steps of a small quadratic."""
    for name, text in space.zoo().items():
        genome = space.parse(text)
        _round_trips(space, genome)
        assert space.screen(genome).passed, name
        program = space.compile(genome, NumpyBackend(), total_steps=20)
        w = np.array([1.0, -2.0, 0.5])
        state = program.init(w)
        for t in range(20):
            delta, state = program.update(0.01 * w, state, w, t, 1e-3)
            w = w + delta
        assert np.all(np.isfinite(w)), name

def test_the_fourth_space_example_searches_with_the_shared_ga_and_fitness():
    """docs/spaces.md's worked example: registered, screened, searched and scored
    relative to Adam by the term-mix GA and fitness, which see only the protocol."""
    population, logbook, best = fourth_space.search(seed=0, population=4, generations=2)
    assert len(population) == 4 and best.fitness.valid
    assert best.fitness.values[0] > 0.5           # accuracy relative to Adam, not a failure
    assert [row["gen"] for row in logbook][-1] == 2
