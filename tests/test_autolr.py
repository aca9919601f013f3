"""The ``autolr`` space (seed 003): grammar, genome, program, variation, fitness, search."""
import json
import pickle
import random
from collections import Counter

import numpy as np
import pytest
from deap import base, creator, gp, tools
from hypothesis import given
from hypothesis import strategies as st

import deap_nos as nos
from deap_nos import spaces
from deap_nos.backend import NumpyBackend
from deap_nos.errors import NOSError, ParseError
from deap_nos.program import compile as compile_nos
from deap_nos.spaces.autolr import AutoLRGenome, grammar
from deap_nos.spaces.autolr.algorithm import eaAutoLR, make_evaluator, preset, toolbox
from deap_nos.spaces.autolr.fitness import DigitsShards, WorstOfK, shard_indices
from deap_nos.spaces.autolr.genome import MAX_HEIGHT

SPACE = spaces.get("autolr")
ADES_C = 8.92170603e-02          # the grammar's constant nearest β₁ = 0.08922, β₂ = 0.0891
SIGN_LR = 9.39055039e-04         # nearest lr = 0.0009
if not hasattr(creator, "AutoLRFitness"):
    creator.create("AutoLRFitness", base.Fitness, weights=(1.0,))
    creator.create("AutoLRIndividual", AutoLRGenome, fitness=creator.AutoLRFitness)


def assert_valid(genome):
    """Grammar-valid: four trees within the height limit, each reading only what its
    function may read; text, JSON and pickle round trips give an equal genome."""
    assert len(genome) == 4 and genome.height <= MAX_HEIGHT
    for name, tree in zip(grammar.FUNCTIONS, genome):
        for node in tree:
            if isinstance(node, gp.Terminal):
                text = node.format()
                assert text in grammar.ARGUMENTS[name] or \
                    float(text) in grammar.CONSTANTS, (name, text)
    assert SPACE.parse(str(genome)) == genome
    assert str(SPACE.parse(str(genome))) == str(genome)
    assert SPACE.from_dict(json.loads(genome.to_json())) == genome
    assert pickle.loads(pickle.dumps(genome)) == genome


# ----------------------------------------------------------------------------- grammar
def test_constants_are_the_grammar_list():
    c = grammar.CONSTANTS
    assert len(c) == 100 and c[0] == 4.53978687e-05 and c[-1] == 9.99954602e-01
    assert 8.92170603e-02 in c and 9.39055039e-04 in c and 5.25231076e-01 in c
    assert grammar.constant_name(c[0]) == "4.53978687e-05"


def test_who_sees_what():
    psets = grammar.psets()
    assert psets["x"].arguments == ["x", "grad"]
    assert psets["y"].arguments == ["x", "y", "grad"]
    assert psets["z"].arguments == ["x", "y", "z", "grad"]
    assert psets["update"].arguments == ["x", "y", "z"]      # no gradient
    with pytest.raises(ParseError):
        SPACE.parse("x = grad; y = y; z = z; update = grad")
    with pytest.raises(ParseError):
        SPACE.parse("x = y; y = y; z = z; update = x")     # x cannot read y


def test_terminals_biased_towards_the_gradient():
    random.seed(0)
    draws = Counter()
    for _ in range(4000):
        node, = grammar.gen_grammar(grammar.psets()["z"], 0, 0)
        text = node.format()
        draws["const" if grammar.is_constant(node) else text] += 1
    # z's terminals: const | x | y | z | grad ×4  ->  grad 1/2, the others 1/8 each
    assert abs(draws["grad"] / 4000 - 0.5) < 0.03
    for name in ("const", "x", "y", "z"):
        assert abs(draws[name] / 4000 - 0.125) < 0.025


def test_protected_division_and_tf_meaning():
    B = NumpyBackend()
    a, b = np.array([1.0, 2.0, -3.0]), np.array([0.0, 4.0, 0.0])
    np.testing.assert_array_equal(grammar.divide_no_nan(a, b, B), [0.0, 0.5, 0.0])
    with np.errstate(all="ignore"):
        assert np.isnan(grammar.sqrt(np.array(-1.0), B))           # as tf.math.sqrt


# ------------------------------------------------------------------------------ genome
def test_protocol_and_identity():
    assert SPACE.name == "autolr" and SPACE.default_algorithm == "grammar"
    assert SPACE.genome_class is AutoLRGenome
    g = SPACE.parse("x = add(x, grad); y = y; z = z; update = multiply(x, 8.92170603e-02)")
    h = SPACE.parse("x = add(grad, x); y = y; z = z; update = multiply(8.92170603e-02, x)")
    assert g == h and hash(g) == hash(h) and g.key() == h.key() and str(g) != str(h)
    assert g != SPACE.parse("x = add(x, grad); y = y; z = z; update = x")
    assert g.space is SPACE and pickle.loads(pickle.dumps(g)).space is SPACE
    assert g.to_dict()["space"] == "autolr"
    assert spaces.genome_from_dict(g.to_dict()) == g
    # the fingerprint is semantic: double negation computes the same optimizer
    same = SPACE.parse("x = add(x, grad); y = y; z = z; "
                       "update = negative(negative(multiply(x, 8.92170603e-02)))")
    assert same != g and same.fingerprint() == g.fingerprint()
    assert SPACE.parse("x = grad; y = y; z = z; update = x").fingerprint() != g.fingerprint()


@pytest.mark.parametrize("doc, match", [
    ([1], "is a dict"), ({"space": "nos"}, "space 'nos'"),
    ({"space": "autolr", "x": "x"}, "missing or not text"),
    ({"space": "autolr", "x": "x", "y": "y", "z": "z", "update": 3}, "update"),
])
def test_from_dict_errors(doc, match):
    with pytest.raises(NOSError, match=match):
        SPACE.from_dict(doc)


@pytest.mark.parametrize("text", [
    "x = grad; y = y; z = z", "x = grad; y = y; z = z; update = x; x = x",
    "w = grad; y = y; z = z; update = x", "x = add(x); y = y; z = z; update = x",
    "x = add(x, grad)); y = y; z = z; update = x", "x = 0.5; y = y; z = z; update = x",
    "x = foo(grad); y = y; z = z; update = x", "x = ; y = y; z = z; update = x",
    "x = " + "negative(" * 500 + "x" + ")" * 500 + "; y = y; z = z; update = x", 7,
])
def test_parse_errors(text):
    with pytest.raises(ParseError):
        SPACE.parse(text)


@given(st.integers(0, 2**32 - 1))
def test_random_genomes_are_valid_and_pass_the_screen(seed):
    random.seed(seed)
    genome = SPACE.random(creator.AutoLRIndividual)
    assert isinstance(genome, creator.AutoLRIndividual)
    assert_valid(genome)
    assert SPACE.screen(genome).passed


@given(st.integers(0, 2**32 - 1), st.sampled_from([None, 0.15, 1.0]))
def test_mutation_and_crossover_keep_genomes_valid(seed, rate):
    random.seed(seed)
    a, b = SPACE.random(screen=False), SPACE.random(screen=False)
    for _ in range(5):
        a, = SPACE.mutate(a, rate)
        a, b = SPACE.mate(a, b)
        assert_valid(a)
        assert_valid(b)


def test_mutation_changes_one_tree_by_default():
    random.seed(1)
    changed = 0
    for _ in range(50):
        g = SPACE.random(screen=False)
        before = [str(t) for t in g]
        SPACE.mutate(g)
        diff = sum(x != str(t) for x, t in zip(before, g))
        assert diff <= 1
        changed += diff
    assert changed > 25


# ----------------------------------------------------------------------------- program
def _steps(program, n=100, size=7, scale=1e-2, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=size)
    state = program.init(w)
    out = []
    for t in range(n):
        g = rng.normal(size=size) * scale
        delta, state = program.update(g, state, w, t, 1.0)
        w = w + delta
        out.append(w)
    return np.array(out)


def test_ades_genome_equals_equation_8():
    program = SPACE.compile(SPACE.parse(SPACE.zoo()["ADES"]))
    got = _steps(program)
    rng = np.random.default_rng(0)
    w = rng.normal(size=7)
    y = np.zeros(7)
    want = []
    for _ in range(100):
        g = rng.normal(size=7) * 1e-2
        y = y - (ADES_C * y * y + ADES_C * y * g + ADES_C * g)     # eq. 8
        w = w + y
        want.append(w)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_sign_genome_equals_the_zoos_sign():
    ours = _steps(SPACE.compile(SPACE.parse(SPACE.zoo()["Sign"])))

    class Scaled:        # the zoo's Sign (a genome of the paper's space) at lr = 0.000939
        program = compile_nos(nos.zoo.genome("Sign"), NumpyBackend())
        init = program.init

        def update(self, g, state, w, t, lr):
            return self.program.update(g, state, w, t, SIGN_LR)

    theirs = _steps(Scaled())
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)
    assert np.abs(np.diff(ours, axis=0)).max() == pytest.approx(SIGN_LR)


def test_ades_genome_equals_the_keras_ades_optimizer():
    keras = pytest.importorskip("keras")
    from keras import ops
    from deap_nos.keras.backend import KerasBackend
    from deap_nos.keras.optimizer import ADES

    rng = np.random.default_rng(3)
    w0 = rng.normal(size=(4, 3)).astype("float32")
    grads = (rng.normal(size=(100, 4, 3)) * 1e-2).astype("float32")
    var = keras.Variable(w0)
    opt = ADES(beta_1=ADES_C, beta_2=ADES_C)
    opt.build([var])
    from deap_nos.spaces.autolr.keras_optimizer import AutoLROptimizer

    ades = SPACE.parse(SPACE.zoo()["ADES"])
    program = SPACE.compile(ades, KerasBackend(dtype="float32"))
    w = ops.convert_to_tensor(w0)
    state = program.init(w)
    ours_var = keras.Variable(w0)
    ours = AutoLROptimizer(ades.to_dict())
    ours.build([ours_var])
    for t in range(100):
        g = ops.convert_to_tensor(grads[t])
        opt.apply_gradients([(g, var)])
        ours.apply_gradients([(g, ours_var)])
        delta, state = program.update(g, state, w, t, 1.0)
        w = w + delta
    np.testing.assert_allclose(ops.convert_to_numpy(w), var.numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours_var.numpy(), var.numpy(), rtol=0, atol=1e-6)
    assert AutoLROptimizer.from_config(ours.get_config()).genome == ades


def test_zoo_genomes_pass_the_screen():
    for name, text in SPACE.zoo().items():
        assert SPACE.screen(SPACE.parse(text)).passed, name


def test_screen_rejects_nan_and_standstill():
    nan = SPACE.parse("x = sqrt(negative(square(grad))); y = y; z = z; update = x")
    assert not SPACE.screen(nan) and "non-finite" in SPACE.screen(nan).reason
    still = SPACE.parse("x = x; y = y; z = z; update = x")
    assert not SPACE.screen(still)


# ----------------------------------------------------------------------------- fitness
class Scripted:
    """A shard trainer returning fixed accuracies, counting the shards trained."""

    def __init__(self, accuracies):
        self.accuracies, self.trained = accuracies, []

    def train(self, genome, shard, k, seed):
        self.trained.append(shard)
        return self.accuracies[shard]


SGD = "x = grad; y = y; z = z; update = multiply(3.30246430e-01, x)"


def test_shards_are_disjoint_and_cover():
    parts = [shard_indices(103, 5, i) for i in range(5)]
    assert sorted(np.concatenate(parts).tolist()) == list(range(103))
    assert {len(p) for p in parts} == {20, 21}


def test_worst_of_k_stops_at_the_first_shard_below_the_cut():
    trainer = Scripted([0.9, 0.85, 0.7, 0.95, 0.99])
    result = WorstOfK(trainer, k=5, min_accuracy=0.8)(SPACE.parse(SGD))
    assert trainer.trained == [0, 1, 2]
    assert tuple(result) == (0.7,) and result.info["shards"] == [0.9, 0.85, 0.7]
    assert result.info["stage"] == "cut" and not result.failed
    trainer = Scripted([0.9, 0.85, 0.81, 0.95, 0.99])
    result = WorstOfK(trainer, k=5, min_accuracy=0.8)(SPACE.parse(SGD))
    assert trainer.trained == [0, 1, 2, 3, 4] and tuple(result) == (0.81,)
    assert result.info["stage"] == "done"


def test_worst_of_k_on_digits_counts_shards():
    trainer = DigitsShards(steps=30)
    sign = WorstOfK(trainer, k=4, min_accuracy=0.6)(SPACE.parse(SPACE.zoo()["Sign"]))
    assert trainer.trained == 1 and len(sign.info["shards"]) == 1 and sign[0] < 0.6
    trainer = DigitsShards(steps=30)
    sgd = WorstOfK(trainer, k=4, min_accuracy=0.6)(SPACE.parse(SGD))
    assert trainer.trained == 4 and sgd[0] == min(sgd.info["shards"]) >= 0.6
    assert len(set(sgd.info["shards"])) > 1                  # different data per shard


def test_worst_of_k_failures_have_reasons():
    nan = SPACE.parse("x = sqrt(negative(square(grad))); y = y; z = z; update = x")
    screened = WorstOfK(DigitsShards(steps=5), k=2)(nan)
    assert screened.failed and screened.info["stage"] == "integrity"
    trained = WorstOfK(DigitsShards(steps=5), k=2, screen=False)(nan)
    assert trained.failed and trained.info["stage"] == "train"
    assert "non-finite" in trained.reason and trained.info["shards"] == []
    with pytest.raises(NOSError):
        WorstOfK(DigitsShards(), k=0)


@pytest.mark.slow
def test_worst_of_k_on_the_surrogate_convnet():
    pytest.importorskip("tensorflow")
    from deap_nos.spaces.autolr.fitness import SurrogateShards
    trainer = SurrogateShards("quick", steps=100, eval_every=50)
    result = WorstOfK(trainer, k=2, min_accuracy=0.3)(SPACE.parse(SGD))
    assert not result.failed and len(result.info["shards"]) == 2
    assert result[0] == min(result.info["shards"]) > 0.3


# ------------------------------------------------------------------------------ search
class Interrupt(Exception):
    pass


class Bomb:
    def __init__(self, evaluate, after):
        self.evaluate, self.after, self.calls = evaluate, after, 0

    def __call__(self, ind):
        self.calls += 1
        if self.calls > self.after:
            raise Interrupt()
        return self.evaluate(ind)


def run_search(evaluate, **kwargs):
    settings = preset("cheap")
    tb = toolbox(evaluate=evaluate, cls=creator.AutoLRIndividual)
    random.seed(7)
    np.random.seed(7)
    pop = tb.population(settings["population"])
    hof = tools.HallOfFame(3)
    stats = tools.Statistics(lambda ind: ind.fitness.values[0])
    stats.register("max", max)
    pop, log = eaAutoLR(pop, tb, ngen=settings["ngen"], tournsize=settings["tournsize"],
                        cxpb=settings["cxpb"], mutpb=settings["mutpb"], stats=stats,
                        halloffame=hof, verbose=False, **kwargs)
    return str(log), [(str(i), i.fitness.values) for i in hof], [str(i) for i in pop]


def test_search_improves_or_keeps_the_elite():
    evaluate = make_evaluator(preset("cheap"))
    log, hof, pop = run_search(evaluate)
    assert len(pop) == preset("cheap")["population"]
    assert hof[0][1][0] > 0.5


@pytest.mark.parametrize("after", [3, 6])
def test_killed_and_resumed_search_equals_a_straight_one(tmp_path, after):
    evaluate = make_evaluator(preset("cheap"))
    straight = run_search(evaluate)
    with pytest.raises(Interrupt):
        run_search(Bomb(evaluate, after), checkpoint=tmp_path / "r", checkpoint_every=2)
    random.seed(12345)
    resumed = run_search(evaluate, resume=tmp_path / "r", checkpoint_every=2)
    assert resumed == straight


def test_presets():
    paper = preset("paper")
    assert (paper["population"], paper["tournsize"], paper["cxpb"], paper["mutpb"],
            paper["k"], paper["min_accuracy"]) == (20, 5, 0.9, 0.15, 5, 0.8)
    with pytest.raises(NOSError, match="unknown autolr preset"):
        preset("nope")
