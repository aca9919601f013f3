"""The termmix space (seed 002): genome, program, operators, fitness, GA and resume."""
import json
import math
import pickle
import random
import subprocess
import sys

import numpy as np
import pytest
from deap import base, creator, tools
from hypothesis import given, settings
from hypothesis import strategies as st

from deap_nos import spaces
from deap_nos.errors import GenomeError, NOSError, ParseError
from deap_nos.evaluation import Evaluation
from deap_nos.search.runlog import read_log
from deap_nos.spaces.termmix import TERMS, TermMixGenome
from deap_nos.spaces.termmix.algorithm import PRESETS, eaTermMix
from deap_nos.spaces.termmix.fitness import CheapTermMixEvaluator, RelativeToAdam
from deap_nos.spaces.termmix.genome import RANGES

SPACE = spaces.get("termmix")
ZOO = {name: SPACE.parse(text) for name, text in SPACE.zoo().items()}

if not hasattr(creator, "TermMixFitness"):
    creator.create("TermMixFitness", base.Fitness, weights=(1.0,))
    creator.create("TermMixIndividual", TermMixGenome, fitness=creator.TermMixFitness)


def assert_valid(genome):
    """Every gene within its range, at least one term on, documents round-trip."""
    assert any(genome.active) and len(genome.weights) == len(TERMS)
    low, high = RANGES["weight"]
    assert all(low <= w <= high for w in genome.weights)
    for name in ("beta1", "beta2", "eps"):
        assert RANGES[name][0] <= getattr(genome, name) <= RANGES[name][1]
    assert all(isinstance(getattr(genome, f), bool)
               for f in ("bias_correction", "warmup", "cosine"))
    again = SPACE.from_dict(json.loads(genome.to_json()))
    assert again == genome and again.to_dict() == genome.to_dict()
    assert SPACE.parse(str(genome)) == genome


# ---------------------------------------------------------------- protocol, documents
def test_registry_and_protocol():
    assert SPACE.name == "termmix" and SPACE.default_algorithm == "generational"
    assert SPACE.genome_class is TermMixGenome
    assert {"Adam", "TermMixEvolved"} <= set(SPACE.zoo())
    g = ZOO["TermMixEvolved"]
    assert g.space is SPACE and g.to_dict()["space"] == "termmix"
    assert spaces.genome_from_dict(g.to_dict()) == g
    assert pickle.loads(pickle.dumps(SPACE)) is SPACE


def test_evolved_genome_matches_the_seed():
    g = ZOO["TermMixEvolved"]
    assert set(g.terms) == {"adam", "sign_g"}
    assert (g.beta1, g.beta2) == (0.86, 0.94)
    assert not g.bias_correction and g.warmup and g.cosine


@pytest.mark.parametrize("name", sorted(ZOO))
def test_round_trips(name):
    g = ZOO[name]
    assert SPACE.parse(str(g)) == g and str(SPACE.parse(str(g))) == str(g)
    assert SPACE.from_dict(g.to_json()).to_dict() == g.to_dict()
    back = pickle.loads(pickle.dumps(g))
    assert back == g and hash(back) == hash(g) and back.fingerprint() == g.fingerprint()
    assert SPACE.parse(g.key()) == g        # the canonical key is itself readable


def test_key_ignores_what_cannot_matter():
    a = SPACE.parse("1*g | beta1=0.5 beta2=0.6 | bias_correction=on")
    b = SPACE.parse("g | beta1=0.9 beta2=0.99 eps=1e-4 | bias_correction=off")
    assert a == b and hash(a) == hash(b) and a.fingerprint() == b.fingerprint()
    c = SPACE.parse("1*m | beta1=0.5")
    assert c != SPACE.parse("1*m | beta1=0.6") and c.key() != a.key()
    assert ZOO["Adam"].fingerprint() != ZOO["TermMixEvolved"].fingerprint()


def test_fingerprint_is_the_engine_key_and_stable_across_processes():
    from deap_nos.search.engine import genome_key
    g = ZOO["TermMixEvolved"]
    assert genome_key(g) == g.fingerprint()
    code = ("from deap_nos import spaces; s = spaces.get('termmix'); "
            "print(s.parse(s.zoo()['TermMixEvolved']).fingerprint())")
    for hashseed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env={**__import__("os").environ,
                                              "PYTHONHASHSEED": hashseed}).stdout
        assert out.strip() == g.fingerprint()


@pytest.mark.parametrize("text, match", [
    ("2*foo", "unknown term"),
    ("", "at least one active term"),
    ("g + g", "twice"),
    ("x*g", "cannot read term"),
    ("3*g", "outside"),
    ("g | beta1=1.5", "outside"),
    ("g | beta3=0.5", "cannot read"),
    ("g | | warmup=maybe", "on or off"),
    ("g | | | x", "at most three"),
])
def test_parse_errors(text, match):
    with pytest.raises(ParseError, match=match):
        SPACE.parse(text)


@pytest.mark.parametrize("edit, match", [
    (lambda d: d.pop("beta1"), "missing keys"),
    (lambda d: d.update(extra=1), "unknown keys"),
    (lambda d: d.update(space="nos"), "not 'termmix'"),
    (lambda d: d.update(format=9), "format"),
    (lambda d: d["terms"].pop("g"), "must map each"),
    (lambda d: d["terms"].update(g={"on": 1, "weight": 1.0}), "expected"),
    (lambda d: d.update(beta2="0.9"), "must be a number"),
    (lambda d: d.update(warmup=1), "true or false"),
    (lambda d: d.update(eps=float("nan")), "outside"),
])
def test_from_dict_is_strict(edit, match):
    doc = ZOO["TermMixEvolved"].to_dict()
    edit(doc)
    with pytest.raises(GenomeError, match=match):
        SPACE.from_dict(doc)
    with pytest.raises(GenomeError, match="JSON"):
        SPACE.from_dict("{not json")


_ALPHABET = "0123456789.eE+-*|= _abcdgmnorsuwtfilxyz"


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(ZOO)), st.lists(st.tuples(st.integers(0, 200),
                                                         st.sampled_from(_ALPHABET)),
                                               max_size=4))
def test_hostile_text_raises_package_errors_only(name, edits):
    text = list(str(ZOO[name]))
    for position, char in edits:
        text.insert(position % (len(text) + 1), char)
    try:
        genome = SPACE.parse("".join(text))
    except NOSError:
        return
    assert_valid(genome)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["beta1", "beta2", "eps", "warmup", "format", "terms", "space"]),
       st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5),
                 st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3),
                                                                       st.integers(), max_size=2)))
def test_hostile_documents_raise_genome_errors_only(field, value):
    doc = ZOO["TermMixEvolved"].to_dict()
    doc[field] = value
    try:
        genome = SPACE.from_dict(doc)
    except GenomeError:
        return
    assert_valid(genome)


# ------------------------------------------------------------- operators (properties)
@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2 ** 31))
def test_random_genomes_are_valid_and_screened(seed):
    random.seed(seed)
    g = SPACE.random(screen=False)
    assert_valid(g)
    random.seed(seed)
    screened = SPACE.random()
    assert_valid(screened)
    assert SPACE.screen(screened)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2 ** 31), st.floats(0.0, 1.0))
def test_mutation_keeps_genomes_valid_and_changes_them(seed, indpb):
    random.seed(seed)
    g = SPACE.random(screen=False)
    before = g.key()
    out, = SPACE.mutate(g, indpb=indpb)
    assert out is g
    assert_valid(g)
    assert g.key() != before


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2 ** 31))
def test_crossover_keeps_genomes_valid(seed):
    random.seed(seed)
    a, b = SPACE.random(screen=False), SPACE.random(screen=False)
    genes = {n for g in (a, b) for n in g.terms}
    x, y = SPACE.mate(a, b)
    assert x is a and y is b
    assert_valid(a)
    assert_valid(b)
    assert set(a.terms) | set(b.terms) <= genes   # terms come from the parents


def test_operators_keep_the_deap_class():
    random.seed(3)
    a = SPACE.random(creator.TermMixIndividual, screen=False)
    b = SPACE.random(creator.TermMixIndividual, screen=False)
    SPACE.mate(a, b)
    SPACE.mutate(a)
    assert type(a) is creator.TermMixIndividual and hasattr(a, "fitness")


# -------------------------------------------------------------------- the program
def evolved_by_hand(grads, lr, total, warmup):
    """Seed 002's evolved optimizer written out: adam + 0.5·sign(g), β 0.86/0.94, no bias
    correction, linear warm-up then cosine decay of the learning rate."""
    m = v = np.zeros_like(grads[0])
    deltas = []
    for t, g in enumerate(grads):
        m = 0.86 * m + 0.14 * g
        v = 0.94 * v + 0.06 * g * g
        u = m / (np.sqrt(v) + 1e-8) + 0.5 * np.sign(g)
        warm = min((t + 1) / warmup, 1.0)
        tau = min(max(t - warmup, 0) / (total - warmup), 1.0)
        deltas.append(-lr * warm * 0.5 * (1 + math.cos(math.pi * tau)) * u)
    return deltas


def run_program(genome, grads, lr, total, warmup):
    program = SPACE.compile(genome, total_steps=total, warmup_steps=warmup)
    w = np.zeros_like(grads[0])
    state, deltas = program.init(w), []
    for t, g in enumerate(grads):
        delta, state = program.update(g, state, w, t, lr)
        deltas.append(delta)
    return deltas


def test_evolved_update_equals_its_formula():
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=7) * (1 + t) for t in range(12)]
    got = run_program(ZOO["TermMixEvolved"], grads, 0.01, total=12, warmup=3)
    want = evolved_by_hand(grads, 0.01, total=12, warmup=3)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert abs(got[0]).max() > 0 and abs(got[-1]).max() < abs(got[3]).max()


def test_adam_genome_is_adam():
    rng = np.random.default_rng(1)
    grads = [rng.normal(size=5) for _ in range(10)]
    got = run_program(ZOO["Adam"], grads, 0.1, total=10, warmup=0)
    m = v = np.zeros(5)
    for t, g in enumerate(grads, start=1):
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        want = -0.1 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
        np.testing.assert_allclose(got[t - 1], want, rtol=1e-12)


def test_every_term_and_weights():
    g = np.array([0.5, -2.0, 0.0])
    text = "0.3*g + 0.7*m + 1.1*rms + 0.2*sign_m | beta1=0.5 beta2=0.75 eps=1e-06 | " \
           "bias_correction=on"
    program = SPACE.compile(SPACE.parse(text))
    state = program.init(g)
    assert sorted(state) == ["m", "v"]
    delta, state = program.update(g, state, g, 0, 2.0)
    m, v = 0.5 * g / 0.5, 0.25 * g * g / 0.25          # bias-corrected at step 1
    u = 0.3 * g + 0.7 * m + 1.1 * g / (np.sqrt(v) + 1e-6) + 0.2 * np.sign(0.5 * g)
    np.testing.assert_allclose(delta, -2.0 * u, rtol=1e-12)
    assert SPACE.compile(SPACE.parse("sign_g")).init(g) == {}


def test_compile_rejects_other_genomes_and_options():
    with pytest.raises(NOSError, match="TermMixGenome"):
        SPACE.compile("1*g")
    with pytest.raises(NOSError, match="unknown option"):
        SPACE.compile(ZOO["Adam"], jit=True)
    SPACE.compile(ZOO["Adam"], momentum_schedule="cycle", nesterov="default")


def test_screen_rejects_a_genome_that_cannot_descend(monkeypatch):
    assert all(SPACE.screen(g) for g in ZOO.values())
    tiny = SPACE.parse("0.01*sign_g | | warmup=on cosine=on")
    result = SPACE.screen(tiny, lrs=(1e-5,))
    assert not result and "no run ended below" in result.reason


def test_keras_program_matches_numpy():
    keras = pytest.importorskip("keras")
    from deap_nos.keras.backend import KerasBackend
    rng = np.random.default_rng(2)
    grads = [rng.normal(size=(3, 4)).astype("float32") for _ in range(6)]
    want = run_program(ZOO["TermMixEvolved"], grads, 0.05, total=6, warmup=2)
    program = SPACE.compile(ZOO["TermMixEvolved"], KerasBackend(), total_steps=6,
                            warmup_steps=2)
    w = keras.ops.zeros((3, 4))
    state = program.init(w)
    for t, g in enumerate(grads):
        delta, state = program.update(keras.ops.convert_to_tensor(g), state, w,
                                      keras.ops.cast(t, "float32"), 0.05)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(delta), want[t],
                                   rtol=2e-4, atol=1e-7)


# --------------------------------------------------------------------------- fitness
class Fixed(RelativeToAdam):
    """Accuracies given by hand: Adam 0.8 / 0.5, the genome 0.6 / 0.55."""

    calls = 0

    def accuracy(self, genome, task, with_lr=False):
        if genome == ZOO["Adam"]:
            Fixed.calls += 1
            acc = {"mnist1d": 0.8, "digits": 0.5}[task]
        elif "sign_m" in genome.terms:
            raise RuntimeError("boom")
        else:
            acc = {"mnist1d": 0.6, "digits": 0.55}[task]
        return (acc, 0.1) if with_lr else acc


def test_fitness_relative_to_adam_by_hand():
    Fixed.calls = 0
    ev = Fixed(tasks=("mnist1d", "digits"))
    result = ev(ZOO["TermMixEvolved"])
    assert result == pytest.approx(((0.6 / 0.8 + 0.55 / 0.5) / 2,))
    assert result.info["tasks"]["digits"]["ratio"] == pytest.approx(1.1)
    assert ev(ZOO["Adam"]) == (1.0,)
    assert Fixed.calls == 2 + 2          # Adam's reference measured once per task
    crash = ev(ZOO["Signum"])
    assert crash.failed and "RuntimeError: boom" in crash.reason and crash[0] < 0


def test_cheap_fitness_on_a_tiny_case():
    ev = CheapTermMixEvaluator(steps=20, samples=300, eval_every=10,
                               tasks=("digits", "synthetic"))
    adam = ev(ZOO["Adam"])
    assert adam == (1.0,) and adam.info["stage"] == "done"
    evolved = ev(ZOO["TermMixEvolved"])
    ref = ev.adam_accuracies()
    want = np.mean([evolved.info["tasks"][t]["acc"] / ref[t] for t in ev.tasks])
    assert evolved[0] == pytest.approx(want) and 0.3 < evolved[0] < 2.0
    again = pickle.loads(pickle.dumps(ev))
    assert again(ZOO["TermMixEvolved"]) == evolved      # deterministic, any process
    with pytest.raises(NOSError, match="unknown setting"):
        CheapTermMixEvaluator(stepz=3)
    with pytest.raises(NOSError, match="known tasks"):
        CheapTermMixEvaluator(tasks=("imagenet",))


def test_failing_screen_is_a_failing_fitness():
    ev = CheapTermMixEvaluator(steps=5, samples=300, eval_every=5, tasks=("digits",))
    bad = SPACE.parse("0.01*sign_g | | warmup=on cosine=on")
    original = SPACE.screen
    try:
        SPACE.screen = lambda genome: original(genome, lrs=(1e-5,))
        result = ev(bad)
    finally:
        del SPACE.screen
    assert result.failed and result.info["stage"] == "integrity"
    assert "integrity check" in result.reason


# ------------------------------------------------------------------------------ GA
def toolbox_for(evaluate):
    toolbox = base.Toolbox()
    toolbox.register("individual", SPACE.random, creator.TermMixIndividual)
    toolbox.register("mate", SPACE.mate)
    toolbox.register("mutate", SPACE.mutate)
    toolbox.register("evaluate", evaluate)
    toolbox.register("map", map)
    return toolbox


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


EVALUATE = CheapTermMixEvaluator(steps=15, samples=300, eval_every=15,
                                 tasks=("digits", "synthetic"))


def search(evaluate, **kwargs):
    random.seed(5)
    np.random.seed(5)
    toolbox = toolbox_for(evaluate)
    pop = [toolbox.individual() for _ in range(6)]
    hof = tools.HallOfFame(3)
    stats = tools.Statistics(lambda ind: ind.fitness.values[0])
    stats.register("max", max)
    cheap = dict(PRESETS["cheap"])
    pop, log = eaTermMix(pop, toolbox, ngen=cheap["generations"], cxpb=cheap["cxpb"],
                         mutpb=cheap["mutpb"], tournsize=cheap["tournsize"],
                         elite=cheap["elite"], stats=stats, halloffame=hof,
                         verbose=False, **kwargs)
    return (str(log), [(str(i), i.fitness.values) for i in hof],
            [(str(i), i.fitness.values) for i in pop]), log


def test_search_runs_with_elitism():
    result, log = search(EVALUATE)
    best = log.select("max")
    assert len(best) == PRESETS["cheap"]["generations"] + 1
    assert all(b >= a for a, b in zip(best, best[1:]))       # the elite survives
    assert result == search(EVALUATE)[0]                       # same seed, same run


@pytest.mark.parametrize("after", [2, 9])
def test_killed_and_resumed_search_equals_straight(tmp_path, after):
    straight, _ = search(EVALUATE)
    with pytest.raises(Interrupt):
        search(Bomb(EVALUATE, after), checkpoint=tmp_path / "r", checkpoint_every=2)
    random.seed(999)                 # the resume restores the random states itself
    resumed, _ = search(EVALUATE, resume=tmp_path / "r", checkpoint_every=2)
    assert resumed == straight
    log = read_log(tmp_path / "r" / "evaluations.log")
    assert len(log) == len({e["key"] for e in log})


def test_bad_arguments():
    toolbox = toolbox_for(EVALUATE)
    pop = [SPACE.random(creator.TermMixIndividual, screen=False) for _ in range(3)]
    with pytest.raises(NOSError, match="elite"):
        eaTermMix(pop, toolbox, 1, elite=3, verbose=False)
    with pytest.raises(NOSError, match="cxpb"):
        eaTermMix(pop, toolbox, 1, cxpb=1.5, verbose=False)


def test_import_is_light():
    code = ("import sys, deap_nos.spaces.termmix, deap_nos.spaces.termmix.algorithm, "
            "deap_nos.spaces.termmix.fitness; "
            "print('tensorflow' in sys.modules, 'jax' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["False", "False"]


# ------------------------------------------------------------------ Keras, ConvNet
def test_keras_optimizer_runs_the_program():
    keras = pytest.importorskip("keras")
    from deap_nos.spaces.termmix.convnet import TermMixOptimizer
    rng = np.random.default_rng(4)
    grads = [rng.normal(size=(2, 3)).astype("float32") for _ in range(5)]
    want = np.cumsum(run_program(ZOO["TermMixEvolved"], grads, 0.1, total=5, warmup=2),
                     axis=0)
    var = keras.Variable(np.zeros((2, 3), "float32"))
    opt = TermMixOptimizer(str(ZOO["TermMixEvolved"]), learning_rate=0.1, total_steps=5,
                           warmup_steps=2)
    for g in grads:
        opt.apply([keras.ops.convert_to_tensor(g)], [var])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(var), want[-1], rtol=1e-4,
                               atol=1e-6)
    again = TermMixOptimizer.from_config(opt.get_config())
    assert again.genome == ZOO["TermMixEvolved"] and again.warmup_steps == 2


@pytest.mark.parametrize("factory", ["keras_factory", "termmix_optimizer"])
def test_keras_optimizer_applies_only_the_genome_schedule(factory):
    """No second (one-cycle) schedule on top of the genome's warm-up and cosine: with
    g = 1 and the pure gradient term, the step at t is -lr·s(t), s by hand."""
    pytest.importorskip("keras")
    import keras
    from deap_nos.spaces.termmix.convnet import termmix_optimizer
    make = SPACE.keras_factory() if factory == "keras_factory" else termmix_optimizer
    genome = SPACE.parse("1*g | beta1=0.9 beta2=0.999 eps=1e-08 | "
                         "bias_correction=off warmup=on cosine=on")
    lr, total, warmup = 0.5, 12, 3
    opt = make(genome, learning_rate=lr, total_steps=total, warmup_steps=warmup,
               hold_steps=0)
    var = keras.Variable(np.zeros(2, "float32"))
    steps, rates = [], []
    for _ in range(total):
        before = keras.ops.convert_to_numpy(var).copy()
        rates.append(float(keras.ops.convert_to_numpy(opt.learning_rate)))
        opt.apply([keras.ops.ones(2)], [var])
        steps.append(float(before[0] - keras.ops.convert_to_numpy(var)[0]))

    def s(t):   # program.py: warm(t)·cos(t)
        tau = min(max(t - warmup, 0) / (total - warmup), 1.0)
        return min((t + 1) / warmup, 1.0) * 0.5 * (1 + math.cos(math.pi * tau))

    np.testing.assert_allclose(steps, [lr * s(t) for t in range(total)], rtol=1e-5,
                               atol=1e-7)
    assert rates == [lr] * total          # the Keras rate is the peak: nothing outside


@pytest.mark.slow
def test_convnet_fitness_relative_to_adam():
    pytest.importorskip("tensorflow")
    from deap_nos.spaces.termmix.convnet import ConvNetTermMixEvaluator
    ev = ConvNetTermMixEvaluator(tasks=("digits", "synthetic"), preset="quick", steps=60,
                                 sweep_steps=20, eval_every=30, stop_after=60,
                                 lr_grid=(0.01, 0.001), quick_rates=())
    assert ev(ZOO["Adam"]) == (1.0,)
    evolved = ev(ZOO["TermMixEvolved"])
    ref = ev.adam_accuracies()
    if not evolved.failed:
        want = np.mean([evolved.info["tasks"][t]["acc"] / ref[t] for t in ev.tasks])
        assert evolved[0] == pytest.approx(want)


# ------------------------------------------------------------------ population path
def test_interpreter_equals_the_program_per_run():
    tf = pytest.importorskip("tensorflow")
    from deap_nos.backends.tensorflow.termmix import TermMixInterpreter
    random.seed(8)
    genomes = list(ZOO.values()) + [SPACE.random(screen=False) for _ in range(3)]
    k, p, steps = len(genomes), 5, 7
    interp = TermMixInterpreter(total_steps=steps, warmup_steps=2)
    codes = interp.encode_batch(genomes)
    rng = np.random.default_rng(5)
    grads = [rng.normal(size=(k, p)).astype("float32") for _ in range(steps)]
    lr = np.linspace(0.01, 0.1, k).astype("float32")
    state = interp.init(k, p)
    got = []
    for t, g in enumerate(grads):
        delta, state = interp.update(codes, tf.constant(g), None, state,
                                     tf.fill([k], float(t)), lr)
        got.append(delta.numpy())
    for row, genome in enumerate(genomes):
        want = run_program(genome, [g[row].astype(np.float64) for g in grads], lr[row],
                           total=steps, warmup=2)
        np.testing.assert_allclose([d[row] for d in got], want, rtol=2e-4, atol=1e-6)


def test_population_trainer_runs_termmix_without_retracing():
    pytest.importorskip("tensorflow")
    from deap_nos.backends.tensorflow.batched import BatchedConvNet
    from deap_nos.backends.tensorflow.termmix import TermMixInterpreter
    from deap_nos.backends.tensorflow.trainer import PopulationTrainer
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 12, 1)).astype("float32")
    y = rng.integers(0, 3, size=64).astype("int32")
    net = BatchedConvNet(2, (12, 1), 3)
    interp = TermMixInterpreter(total_steps=10, warmup_steps=2)
    trainer = PopulationTrainer(net, interp, 2, x, y, batch_size=16, jit=False)
    for slot, name in enumerate(("Adam", "TermMixEvolved")):
        w, s = net.init(slot)
        trainer.assign(slot, interp.encode(ZOO[name]), w, s, 0.01, seed=slot)
    losses, _ = trainer.run(3)
    assert losses.shape == (3, 2) and np.isfinite(losses).all()
    traces = trainer._run.experimental_get_tracing_count()
    w, s = net.init(7)
    trainer.assign(0, interp.encode(ZOO["Signum"]), w, s, 0.01, seed=7)
    trainer.run(3)
    assert trainer._run.experimental_get_tracing_count() == traces


@pytest.mark.slow
def test_population_evaluator_trains_termmix_genomes():
    pytest.importorskip("tensorflow")
    from deap_nos.evaluation.population import PopulationEvaluator
    ev = PopulationEvaluator("quick", space=SPACE, slots=2, steps=60, sweep_steps=20,
                             eval_every=30, stop_after=60, lr_grid=(0.01, 0.001),
                             quick_rates=())
    assert isinstance(ev.trainer().interpreter,
                      __import__("deap_nos.backends.tensorflow.termmix",
                                 fromlist=["x"]).TermMixInterpreter)
    results = ev.evaluate_many([ZOO["Adam"], ZOO["TermMixEvolved"], ZOO["RMSprop"]])
    assert all(r.info["stage"] in ("done", "sweep", "train") for r in results)
    assert any(not r.failed and 0.1 < r[0] <= 1.0 for r in results)


def test_one_call_search_with_a_preset(tmp_path):
    from deap_nos.spaces.termmix.toolbox import search as run_search
    pop, log, hof = run_search("cheap", evaluate=EVALUATE, seed=1, population=4,
                               generations=1, checkpoint=tmp_path / "s")
    assert len(pop) == 4 and len(log) == 2 and len(hof) >= 1
    assert hof[0].fitness.values[0] == max(log.select("max"))
    again = run_search("cheap", evaluate=EVALUATE, seed=1, population=4, generations=1,
                       resume=tmp_path / "s")
    assert [str(i) for i in again[0]] == [str(i) for i in pop]
    with pytest.raises(NOSError, match="unknown termmix preset"):
        run_search("huge")


def test_program_runs_on_a_jax_namespace():
    jnp = pytest.importorskip("jax.numpy")

    class JaxNamespace:     # only the names a term-mix program reads
        pi = math.pi
        zeros_like, sqrt, sign = map(staticmethod, (jnp.zeros_like, jnp.sqrt, jnp.sign))
        power, minimum, maximum, cos = map(staticmethod, (jnp.power, jnp.minimum,
                                                          jnp.maximum, jnp.cos))

    rng = np.random.default_rng(6)
    grads = [rng.normal(size=4).astype("float32") for _ in range(6)]
    want = run_program(ZOO["TermMixEvolved"], grads, 0.1, total=6, warmup=2)
    program = SPACE.compile(ZOO["TermMixEvolved"], JaxNamespace(), total_steps=6,
                            warmup_steps=2)
    state = program.init(jnp.zeros(4))
    for t, g in enumerate(grads):
        delta, state = program.update(jnp.asarray(g), state, None, jnp.float32(t), 0.1)
        np.testing.assert_allclose(np.asarray(delta), want[t], rtol=2e-4, atol=1e-7)


def test_keras_model_saves_and_loads_with_the_optimizer(tmp_path):
    keras = pytest.importorskip("keras")
    from deap_nos.spaces.termmix.convnet import TermMixOptimizer
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(TermMixOptimizer(ZOO["TermMixEvolved"], learning_rate=0.01,
                                   total_steps=10, warmup_steps=2), loss="mse")
    x = np.ones((4, 3), "float32")
    model.fit(x, np.zeros((4, 2), "float32"), epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.optimizer, TermMixOptimizer)
    assert loaded.optimizer.genome == ZOO["TermMixEvolved"]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
