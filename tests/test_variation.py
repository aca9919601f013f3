"""Random genomes and mutation: properties over many random draws (hypothesis)."""
import copy
import pickle
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

import deap_nos as nos
from deap_nos.spaces.nos.genome import Node
from deap_nos.spaces.nos.variation import KINDS, mut_arity, mut_connection, mut_operation

SPACE = nos.SearchSpace.default()


def reachable(genome):
    """Nodes with a path to the output, by a plain depth-first walk (not networkx)."""
    seen, stack = set(), [genome.output]
    while stack:
        i = stack.pop()
        if i not in seen:
            seen.add(i)
            stack.extend(r for r in genome.nodes[i].inputs if isinstance(r, int))
    return seen


def assert_sound(genome):
    assert genome.is_acyclic()
    assert set(genome.active_nodes()) == reachable(genome)
    nos.validate(genome, SPACE)
    assert nos.parse(str(genome)) == genome
    again = nos.OptimizerGraph.from_json(genome.to_json())
    assert again == genome and again.nodes == genome.nodes
    assert pickle.loads(pickle.dumps(genome)) == genome
    assert nos.integrity_check(genome).passed


@given(st.integers(0, 2**32 - 1))
def test_random_genomes_are_sound(seed):
    random.seed(seed)
    genome = nos.initGraph(nos.OptimizerGraph, SPACE)
    assert_sound(genome)
    assert any(isinstance(r, int) for r in genome.nodes[-1].inputs)  # output reads a hidden node
    assert genome.flip == nos.integrity_check(genome).flip


@given(st.integers(0, 2**32 - 1), st.integers(1, 4))
def test_mutants_are_sound_and_new_to_their_lineage(seed, generations):
    random.seed(seed)
    genome = nos.initGraph(nos.OptimizerGraph, SPACE)
    fingerprints = [genome.fingerprint()]
    for _ in range(generations):
        parent = copy.deepcopy(genome)
        (genome,) = nos.mutGraph(genome, SPACE)
        assert genome != parent
        assert_sound(genome)
        fingerprints.append(genome.fingerprint())
    assert len(set(fingerprints)) == len(fingerprints)
    assert genome.lineage == set(fingerprints)


@given(st.integers(0, 2**32 - 1))
def test_decay_only_mutation_changes_only_decays(seed):
    random.seed(seed)
    genome = nos.parse("div(v_hat, sqrt_abs(s_hat))")
    before = [(n.op, n.inputs) for n in genome.nodes]
    nos.mutGraph(genome, SPACE, kinds=("decay",))
    assert [(n.op, n.inputs) for n in genome.nodes] == before
    assert genome.momentum == "none"
    assert genome.decays()                       # Adam has none: one was added


def test_momentum_only_mutation(seeded):
    genome = nos.parse("g")
    nos.mutGraph(genome, SPACE, kinds=("momentum",))
    assert genome.momentum in ("momentum", "nesterov") and str(genome).endswith(": g")


def test_random_decays_stay_in_unit_interval(seeded):
    from deap_nos.spaces.nos.integrity import decay_curve
    for _ in range(50):
        values = decay_curve(nos.random_decay(SPACE), SPACE)
        assert values.min() >= 0 and values.max() <= 1


def test_mutate_decay_gives_a_different_function(seeded):
    from deap_nos.spaces.nos.integrity import decay_curve
    import numpy as np
    decay = nos.parse_decay("erfc(erfc(a4))")
    for _ in range(20):
        child = nos.mutate_decay(decay, SPACE)
        assert not np.allclose(decay_curve(child), decay_curve(decay), atol=1e-4)


def test_kinds_on_their_own(seeded):
    nodes = [Node("exp", ["g"]), Node("tanh", ["v_hat"]), Node("add", [0, "g2"])]
    new, _ = mut_operation(list(nodes), "none", 0, SPACE)
    assert new[0].op != "exp" and SPACE.op(new[0].op).arity == 1
    new, _ = mut_arity(list(nodes), "none", 2, SPACE)
    assert len(new[2].inputs) == 1 and new[2].inputs[0] in (0, "g2")
    new, _ = mut_arity(list(nodes), "none", 0, SPACE)
    assert len(new[0].inputs) == 2 and "g" in new[0].inputs
    swaps = 0
    for _ in range(200):
        new, _ = mut_connection(list(nodes), "none", 2, SPACE, p_swap=0.2)
        swaps += new[2].inputs == ("g2", 0)
        assert 2 not in new[2].inputs
    assert 20 < swaps < 60


def test_unknown_kind_is_refused():
    with pytest.raises(nos.NOSError, match="unknown mutation kind"):
        nos.mutGraph(nos.parse("g"), SPACE, kinds=("teleport",))
    assert set(KINDS) == {"operation", "connection", "arity", "momentum", "decay"}


def test_seeded_runs_repeat(seeded):
    def draw():
        random.seed(7)
        g = nos.initGraph(nos.OptimizerGraph, SPACE)
        return [str(nos.mutGraph(g, SPACE)[0]) for _ in range(3)]
    assert draw() == draw()


def test_initgraph_builds_the_given_class():
    from deap import base, creator
    if not hasattr(creator, "FitnessMaxV"):
        creator.create("FitnessMaxV", base.Fitness, weights=(1.0,))
        creator.create("IndividualV", nos.OptimizerGraph, fitness=creator.FitnessMaxV)
    ind = nos.initGraph(creator.IndividualV, SPACE)
    assert isinstance(ind, creator.IndividualV) and not ind.fitness.valid
