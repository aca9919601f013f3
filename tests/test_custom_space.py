"""A researcher's own operations, end to end (issue 20): a space extended with a unary
``cube`` and a commutative binary ``hmean`` works from text to a saved Keras model
without the space being passed again — the genome carries it.

Before 0.3 every step below raised UnknownNameError (fingerprint, the engine's key, the
evaluators), compared two orderings of ``hmean`` unequal, or reported the unknown
operation as a "numerical error" in the integrity check.
"""
import json
import pickle
import random

import numpy as np
import pytest
from deap import tools

import deap_nos as nos
from deap_nos import checkpoint as ckpt
from deap_nos import spaces
from deap_nos.algorithms import eaParticle
from deap_nos.engine import genome_key
from deap_nos.evaluation import genome_seed
from deap_nos.toolbox import individual_class, make_toolbox

TEXT = "nesterov: cube(hmean(g, v_hat))"
SWAPPED = "nesterov: cube(hmean(v_hat, g))"
TINY = dict(base=4, batch_size=64, sweep_steps=10, steps=40, eval_every=20, stop_after=20,
            lr_grid=(1.0, 0.01), quick_rates=(), min_train_acc=0.0,
            sweep_min_acc=0.0, sweep_gate_acc=0.0)


def cube(x, B):
    """A module-level primitive: it pickles (checkpoints) by reference."""
    return x * x * x


def hmean(x, y, B):
    """Harmonic-style mean, symmetric in its arguments."""
    return 2.0 * x * y / (B.abs(x) + B.abs(y) + 1e-8)


def cube_space():
    space = nos.SearchSpace.default()
    space.add_unary("cube", cube).add_binary("hmean", hmean, commutative=True)
    return space


@pytest.fixture(scope="module")
def space():
    space = cube_space()
    spaces.register("cube_test", space)
    return space


@pytest.fixture
def genome(space):
    return nos.parse(TEXT, space)


def cheap(space=None):
    return nos.DigitsEvaluator(lrs=(0.1, 0.01), steps=30, eval_every=15, warmup=3,
                               threshold=0.0, space=space)


# ------------------------------------------------------------------ identity
def test_genome_carries_its_space_and_passes_the_check_without_it(genome, space):
    assert genome.space is space
    result = nos.integrity_check(genome)
    assert result.passed, result.reason
    given = nos.integrity_check(genome, space)
    assert (result.passed, result.flip) == (given.passed, given.flip)
    np.testing.assert_array_equal(result.losses, given.losses)     # NaN where both diverge


def test_commutative_custom_op_is_canonical(genome, space):
    other = nos.parse(SWAPPED, space)
    assert genome.key() == other.key()
    assert genome == other and hash(genome) == hash(other)
    assert genome.fingerprint() == other.fingerprint() == genome_key(genome)
    assert genome_seed(0, genome) == genome_seed(0, other)
    # a non-commutative custom op keeps its argument order
    plain = cube_space()
    plain.add_binary("lhs", lambda x, y, B: x + 0.0 * y)
    assert nos.parse("lhs(g, v_hat)", plain) != nos.parse("lhs(v_hat, g)", plain)


def test_fingerprint_differs_from_the_same_graph_without_cube(genome, space):
    """The fingerprint evaluates cube: replacing it by id changes the hash."""
    assert genome.fingerprint() != nos.parse("nesterov: id(hmean(g, v_hat))", space).fingerprint()


def test_text_json_and_pickle_round_trips(genome, space):
    assert nos.parse(str(genome), space) == genome
    document = json.loads(json.dumps(genome.to_dict()))
    assert document["space"] == "cube_test"
    again = spaces.genome_from_dict(document)
    assert again == genome and again.space is space
    assert nos.OptimizerGraph.from_dict(document) == genome
    copy = pickle.loads(pickle.dumps(genome))
    assert copy == genome and "cube" in copy.space.ops and "hmean" in copy.space.commutative


def test_the_paper_space_pickles_by_name_and_a_custom_one_once(space):
    assert len(pickle.dumps(nos.SearchSpace.default())) < 200
    one = len(pickle.dumps([nos.parse(TEXT, space)]))
    many = len(pickle.dumps([nos.parse(TEXT, space) for _ in range(50)]))
    assert len(pickle.dumps(space)) > 1000          # its tables, not a name
    assert (many - one) / 49 < 300                   # per genome: the nodes, not the space


# ------------------------------------------------------------------ evaluators
def test_digits_evaluator_reads_the_genomes_space(genome, space):
    result = cheap()(genome)
    assert result.info["stage"] == "done", result.info
    assert tuple(result) == tuple(cheap(space)(genome))


def test_particle_search_with_checkpoint_and_resume(space, tmp_path):
    random.seed(3)
    np.random.seed(3)
    toolbox = make_toolbox(space, cheap())
    cls = individual_class()
    first = nos.parse(TEXT, space, cls=cls)
    pop = [first] + [toolbox.individual() for _ in range(2)]
    hof = tools.HallOfFame(2)
    run = tmp_path / "run"
    final, log = eaParticle(pop, toolbox, nsteps=2, nmut=2, halloffame=hof,
                            verbose=False, checkpoint=run)
    assert all(ind.space is space for ind in final)
    assert "cube(hmean(g, v_hat))" in (run / "evaluations.log").read_text()
    snapshot = ckpt.load(run / "checkpoint.pkl")["snapshot"]
    state = pickle.loads(snapshot) if isinstance(snapshot, bytes) else snapshot
    genomes = list(_genomes(state))
    assert len(genomes) >= 3 and all("cube" in g.space.ops for g in genomes)
    assert len({id(g.space) for g in genomes}) == 1          # one space, pickled once
    assert snapshot.count(b"b_pow_abs") == 1                 # its tables once, not per genome
    random.seed(4)
    again, _ = eaParticle(pop, toolbox, nsteps=2, nmut=2, verbose=False,
                          checkpoint=run, resume=run)
    assert [str(g) for g in again] == [str(g) for g in final]


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


@pytest.fixture(scope="module")
def tf():
    return pytest.importorskip("tensorflow")


def test_surrogate_evaluator(tf, space):
    genome = nos.parse(TEXT, space, cls=individual_class())
    single = nos.SurrogateEvaluator.preset("default", **TINY)(genome)
    assert single.info.get("sweep") and single.info.get("stage") == "done", single.info


@pytest.mark.slow
def test_population_evaluator(tf, space):
    from deap_nos.population import PopulationEvaluator

    genome = nos.parse(TEXT, space)
    (batched,) = PopulationEvaluator.preset("default", slots=2, **TINY).evaluate_many(
        [genome])
    assert batched.info.get("sweep") and batched.info.get("stage") == "done", batched.info


@pytest.mark.slow
def test_reevaluate_and_verdict(tf, space):
    from deap_nos.heldout import reevaluate, verdict

    genome = nos.parse(TEXT, space, cls=individual_class())
    single = nos.SurrogateEvaluator.preset("default", **TINY)(genome)
    genome.fitness.values = tuple(single)
    (again,) = reevaluate([genome], nos.SurrogateEvaluator.preset("default", **TINY),
                          repeats=2)
    assert again.info["search_fitness"] == tuple(single)
    result = verdict([genome], baselines=("keras:adam",), seeds=2, preset="quick",
                     names=["cube"], steps=30, sweep_steps=5, eval_every=30,
                     stop_after=30, lr_grid=(0.01,), quick_rates=(), base=4,
                     sweep_gate_acc=0.0, sweep_min_acc=0.0)
    assert result.row("cube").failure is None, result.row("cube").failure


def test_graph_optimizer_fits_saves_and_loads(tf, genome, space, tmp_path):
    import keras

    from deap_nos.keras import GraphOptimizer

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    optimizer = GraphOptimizer(genome, learning_rate=1e-3, total_steps=20)
    model.compile(optimizer, "mse")
    x, y = np.random.default_rng(0).normal(size=(32, 4)), np.ones((32, 2))
    weights = [w.copy() for w in model.get_weights()]
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert not np.allclose(weights[0], model.get_weights()[0])
    assert optimizer.get_config()["space"] == "cube_test"
    path = str(tmp_path / "cube.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.optimizer.genome == genome and loaded.optimizer.genome.space is space
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
