"""A researcher's own operations, end to end (issue 20): parse → integrity check →
fingerprint / == / hash → both evaluators → search → re-evaluation → verdict →
GraphOptimizer → .keras save and load → text and JSON round trips.

Nothing here passes the space after the genome is parsed: every stage must read it
from the genome (before 0.3 each of these raised UnknownNameError or scored the
unknown operation as a "numerical error").
"""
import copy
import os
import pickle
import random

import numpy as np
import pytest

import deap_nos as nos
from deap_nos import spaces
from deap_nos.search.engine import genome_key
from deap_nos.evaluation import genome_seed


def cube(x, B):
    """A custom unary operation (module level: it pickles into worker processes)."""
    return x * x * x


def mean2(x, y, B):
    """A custom commutative binary operation."""
    return 0.5 * (x + y)


def _space():
    space = nos.SearchSpace.default()
    space.add_unary("cube", cube)
    space.add_binary("mean2", mean2, commutative=True)
    return space


SPACE = _space()
TEXT = "div(mean2(v_hat, cube(g)), sqrt_abs(s_hat))"
SWAPPED = "div(mean2(cube(g), v_hat), sqrt_abs(s_hat))"


@pytest.fixture(scope="module")
def genome():
    return nos.parse(TEXT, SPACE)


def test_identity_of_a_custom_genome(genome):
    other = nos.parse(SWAPPED, SPACE)
    assert genome.space is SPACE and SPACE.name == "custom"
    assert genome == other and hash(genome) == hash(other)          # commutative: canonical
    assert genome.fingerprint() == other.fingerprint()
    assert genome_key(genome) == genome.fingerprint()
    assert genome_seed(7, genome) == genome_seed(7, other)
    assert nos.parse("div(cube(g), sqrt_abs(s_hat))", SPACE) != genome


def test_integrity_check_reads_the_genomes_space(genome):
    result = nos.integrity_check(genome)
    assert result.passed and result.reason is None
    assert np.all(np.isfinite(result.losses))


def test_text_json_pickle_and_clone_keep_the_space(genome):
    assert nos.parse(str(genome), SPACE) == genome
    for copy_ in (pickle.loads(pickle.dumps(genome)), copy.deepcopy(genome)):
        assert copy_ == genome and copy_.fingerprint() == genome.fingerprint()
        assert "cube" in copy_.space.ops
    assert copy.deepcopy(genome).space is SPACE                      # shared, not copied
    with pytest.raises(nos.UnknownNameError, match="register"):
        nos.OptimizerGraph.from_json(genome.to_json())              # unnamed: says how
    spaces.register("cubes", SPACE)
    try:
        loaded = nos.OptimizerGraph.from_json(genome.to_json())
        assert loaded == genome and loaded.space is SPACE
        assert spaces.genome_from_dict(genome.to_dict()) == genome
    finally:
        SPACE.name = "custom"
        spaces._REGISTRY.pop("cubes", None)
        spaces._CACHE.pop("cubes", None)


def test_mutation_and_random_genomes_stay_in_the_space(genome):
    random.seed(3)
    child = copy.deepcopy(genome)
    nos.mutGraph(child)
    assert child.space is SPACE and child != genome
    drawn = [SPACE.random() for _ in range(20)]
    assert all(g.space is SPACE for g in drawn)


def test_numpy_evaluator_scores_it(genome):
    result = nos.DigitsEvaluator(steps=60)(genome)
    assert not result.info.get("failed"), result.info.get("reason")
    assert result[0] > 0.5


TINY = dict(base=4, batch_size=64, sweep_steps=10, steps=60, eval_every=20, stop_after=20,
            lr_grid=(1.0, 0.01), quick_rates=(1.0, 0.01), min_train_acc=0.1,
            sweep_min_acc=0.1, sweep_gate_acc=0.1)


@pytest.mark.slow
def test_both_surrogate_paths_train_it(genome):
    single = nos.SurrogateEvaluator.preset("quick", **TINY)(genome)
    assert not single.info.get("failed"), single.info.get("reason")
    population = nos.PopulationEvaluator.preset("quick", slots=2, **TINY)
    results = population.evaluate_many([genome, nos.parse("div(v_hat, sqrt_abs(s_hat))")])
    assert not results[0].info.get("failed"), results[0].info.get("reason")
    assert population.space is SPACE       # the interpreter holds the custom operations


@pytest.mark.slow
def test_search_reevaluation_and_verdict(genome, tmp_path):
    from deap import tools

    random.seed(0)
    evaluate = nos.DigitsEvaluator(steps=40)
    toolbox = nos.make_toolbox(SPACE, evaluate)
    seeded = toolbox.clone(nos.parse(TEXT, SPACE, cls=nos.individual_class()))
    population = [seeded] + [toolbox.individual() for _ in range(2)]
    hof = tools.HallOfFame(2)
    population, _ = nos.eaParticle(population, toolbox, nsteps=1, nmut=2, halloffame=hof,
                                   checkpoint=str(tmp_path / "run"), verbose=False)
    assert all(ind.space is SPACE for ind in hof)
    best = nos.reevaluate([seeded], nos.SurrogateEvaluator.preset("quick", **TINY),
                          repeats=2)
    assert not best[0].info.get("failed"), best[0].info.get("reason")
    result = nos.verdict([genome], baselines=("keras:adam",), seeds=2, preset="quick",
                         names=["cube"], data="digits", **dict(TINY, steps=60))
    assert result.row("cube").failure is None, result.row("cube").failure


def test_keras_model_saves_and_loads_by_space_name(genome, tmp_path):
    import keras

    from deap_nos.keras import GraphOptimizer
    spaces.register("cubes", SPACE)      # the documented route: name it, then save
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = (x.sum(axis=1) > 0).astype("int32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer=GraphOptimizer(genome, learning_rate=0.05, total_steps=20),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    try:
        loaded = keras.models.load_model(path)
        assert loaded.optimizer.genome == genome
        assert loaded.optimizer.genome.space is SPACE
        loaded.fit(x, y, epochs=1, batch_size=16, verbose=0)           # keeps training
    finally:
        SPACE.name = "custom"
        spaces._REGISTRY.pop("cubes", None)
        spaces._CACHE.pop("cubes", None)


# ------------------------------------------------ checkpoints and the Keras config
def _genomes(obj, seen=None):
    """Every OptimizerGraph inside a checkpoint's state."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, nos.OptimizerGraph):
        yield obj
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from _genomes(value, seen)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from _genomes(value, seen)
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        yield from _genomes(vars(obj), seen)


def test_a_checkpoint_holds_the_custom_space_once_and_resumes(tmp_path):
    """Genomes sharing one space pickle it once (the pickle memo): its tables appear
    once in the snapshot, not per genome; a resumed finished run gives the same."""
    from deap import tools

    from deap_nos import checkpoint as ckpt

    random.seed(3)
    np.random.seed(3)
    space = _space()
    cheap = nos.DigitsEvaluator(lrs=(0.1, 0.01), steps=30, eval_every=15, warmup=3,
                                threshold=0.0)
    toolbox = nos.make_toolbox(space, cheap)
    pop = [nos.parse(TEXT, space, cls=nos.individual_class())]
    pop += [toolbox.individual() for _ in range(2)]
    run = tmp_path / "run"
    final, _ = nos.eaParticle(pop, toolbox, nsteps=2, nmut=2,
                              halloffame=tools.HallOfFame(2), verbose=False,
                              checkpoint=run)
    assert "mean2(" in (run / "evaluations.log").read_text()
    snapshot = ckpt.load(run / "checkpoint.pkl")["snapshot"]
    state = pickle.loads(snapshot) if isinstance(snapshot, bytes) else snapshot
    genomes = list(_genomes(state))
    assert len(genomes) >= 3 and all("cube" in g.space.ops for g in genomes)
    assert len({id(g.space) for g in genomes}) == 1
    assert pickle.dumps(state).count(b"b_pow_abs") == 1      # one table, many genomes
    again, _ = nos.eaParticle(pop, toolbox, nsteps=2, nmut=2, verbose=False,
                              checkpoint=run, resume=run)
    assert [str(g) for g in again] == [str(g) for g in final]


def test_the_keras_config_names_the_space_and_loads_through_the_registry(tmp_path):
    import keras

    from deap_nos.keras import GraphOptimizer

    space = _space()
    spaces.register("cubes_config", space)
    try:
        genome = nos.parse(TEXT, space)
        optimizer = GraphOptimizer(genome, learning_rate=1e-3, total_steps=20)
        config = optimizer.get_config()
        assert config["space"] == "cubes_config"
        again = GraphOptimizer.from_config(config)
        assert again.genome == genome and again.space is space
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        model.compile(optimizer, "mse")
        x = np.random.default_rng(0).normal(size=(32, 4))
        model.fit(x, np.ones((32, 2)), epochs=1, batch_size=8, verbose=0)
        path = str(tmp_path / "cube.keras")
        model.save(path)
        loaded = keras.models.load_model(path)
        np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
        assert loaded.optimizer.get_config()["space"] == "cubes_config"
    finally:
        spaces._REGISTRY.pop("cubes_config", None)
        spaces._CACHE.pop("cubes_config", None)
