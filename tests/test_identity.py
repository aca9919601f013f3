"""One genome identity for every space (`deap_nos.spaces.identity.KeyIdentity`)."""
from deap import base, creator

import deap_nos as nos
from deap_nos import spaces

AUTOLR, TERMMIX = spaces.get("autolr"), spaces.get("termmix")


def _pairs():
    """Per space: two spellings of one genome, and a different genome."""
    return {
        "nos": (nos.OptimizerGraph.parse("add(g, v_hat)"),
                nos.OptimizerGraph.parse("add(v_hat, g)"),
                nos.OptimizerGraph.parse("sub(g, v_hat)")),
        "autolr": (AUTOLR.parse("x = add(x, grad); y = y; z = z; update = x"),
                   AUTOLR.parse("x = add(grad, x); y = y; z = z; update = x"),
                   AUTOLR.parse("x = grad; y = y; z = z; update = x")),
        "termmix": (TERMMIX.parse("1*g | beta1=0.5 beta2=0.6 | bias_correction=on"),
                    TERMMIX.parse("g | beta1=0.9 beta2=0.99 eps=1e-4 | bias_correction=off"),
                    TERMMIX.parse("1*m | beta1=0.5")),
    }


def test_equal_and_hashed_by_the_canonical_key_in_every_space():
    for name, (a, same, other) in _pairs().items():
        assert a == same and hash(a) == hash(same) and not a != same, name
        assert a != other and not a == other, name
        assert len({a, same, other}) == 2, name


def test_genomes_of_different_spaces_never_compare_equal():
    firsts = [pair[0] for pair in _pairs().values()]
    for i, a in enumerate(firsts):
        for b in firsts[i + 1:]:
            assert a != b and not a == b


def test_a_deap_creator_subclass_compares_with_its_spaces_genomes():
    if not hasattr(creator, "IdentityFitness"):
        creator.create("IdentityFitness", base.Fitness, weights=(1.0,))
        creator.create("IdentityGraph", nos.OptimizerGraph, fitness=creator.IdentityFitness)
    a, same, _ = _pairs()["nos"]
    ind = creator.IdentityGraph.parse(str(same))
    assert isinstance(ind, creator.IdentityGraph)
    assert ind == a and a == ind and hash(ind) == hash(a)
