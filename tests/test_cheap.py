"""Tests of deap_nos.evaluation.cheap: the numpy-only digits evaluator."""
import os
import pickle
import subprocess
import sys
import time

import pytest
from deap import base, creator

import deap_nos as nos
from deap_nos.evaluation.cheap import DigitsEvaluator, SoftmaxEvaluator, genome_seed
from deap_nos.errors import NOSError
from deap_nos.evaluation import FAILED_FITNESS, Evaluation

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADAM = "div(v_hat, sqrt_abs(s_hat))"

if not hasattr(creator, "CheapFitness"):
    creator.create("CheapFitness", base.Fitness, weights=(1.0,))
    creator.create("CheapIndividual", nos.OptimizerGraph, fitness=creator.CheapFitness)


@pytest.fixture(scope="module")
def evaluator():
    return DigitsEvaluator()


@pytest.mark.parametrize("text", [ADAM, "g", "momentum: g"])
def test_good_optimizers_learn(evaluator, text):
    result = evaluator(nos.parse(text))
    assert isinstance(result, Evaluation) and len(result) == 1
    assert result[0] > 0.85                      # chance is 0.1
    info = result.info
    assert not info["failed"] and info["reason"] is None and info["stage"] == "done"
    assert info["lr"] in evaluator.lrs and info["time"] > 0
    assert len(info["curves"]) == len(evaluator.lrs)
    assert info["curves"][0]["step"][-1] == evaluator.steps
    best = max(max(c["val_acc"]) for c, s in zip(info["curves"], info["sweep"])
               if s["finite"])
    assert result[0] == pytest.approx(best)


def test_constant_update_fails_in_sweep(evaluator):
    result = evaluator(nos.parse("one"))
    assert result.failed and result[0] == FAILED_FITNESS
    assert result.info["stage"] == "sweep"
    assert "below 20%" in result.reason


def test_divergence_everywhere_fails_in_train():
    result = DigitsEvaluator(lrs=(1.0, 0.1), steps=20)(nos.parse("exp(exp(recip(g)))"))
    assert result.failed and result.info["stage"] == "train"
    assert "non-finite" in result.reason


def test_exception_is_a_failure(monkeypatch):
    evaluator = DigitsEvaluator(steps=5)

    def broken(*args, **kwargs):
        raise ValueError("boom")
    monkeypatch.setattr("deap_nos.evaluation.cheap.compile_genome", broken)
    result = evaluator(nos.parse("g"))
    assert result.failed and result.info["stage"] == "train" and "boom" in result.reason


def test_mlp_learns():
    result = DigitsEvaluator(hidden=16, steps=150)(nos.parse(ADAM))
    assert result[0] > 0.85


def test_bad_arguments():
    with pytest.raises(NOSError):
        DigitsEvaluator(lrs=())
    with pytest.raises(NOSError):
        DigitsEvaluator(steps=0)
    with pytest.raises(NOSError):
        DigitsEvaluator(lrs=(0.1, -1.0))


def test_deterministic_picklable_and_same_in_another_process(evaluator):
    genome = nos.parse(ADAM)
    first = evaluator(genome)
    clone = pickle.loads(pickle.dumps(evaluator))
    assert tuple(clone(nos.parse(ADAM))) == tuple(first)
    assert SoftmaxEvaluator is DigitsEvaluator
    code = ("import sys; sys.path.insert(0, %r)\n"
            "import deap_nos as nos\nfrom deap_nos.evaluation.cheap import DigitsEvaluator\n"
            "r = DigitsEvaluator()(nos.parse(%r))\n"
            "print(repr(float(r[0])), r.info['seed'])" % (REPO, ADAM))
    env = dict(os.environ, PYTHONHASHSEED="123")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env).stdout.split()
    assert float(out[0]) == first[0] and int(out[1]) == first.info["seed"]
    assert genome_seed(0, genome) != genome_seed(1, genome)


def test_no_tensorflow_and_fast():
    code = ("import sys, time; sys.path.insert(0, %r)\n"
            "import deap_nos as nos\nfrom deap_nos.evaluation.cheap import DigitsEvaluator\n"
            "ev = DigitsEvaluator(); g = nos.parse(%r); ev(g)\n"
            "t = time.perf_counter()\n"
            "for _ in range(3): ev(g)\n"
            "print('tensorflow' in sys.modules, (time.perf_counter() - t) / 3)"
            % (REPO, ADAM))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[0] == "False"
    assert float(out[1]) < 1.0        # ≈ 0.1 s on 2 idle cores; loose for busy CI


def test_in_a_search_with_real_genomes():
    space = nos.SearchSpace.default()
    toolbox = base.Toolbox()
    toolbox.register("individual", nos.initGraph, creator.CheapIndividual, space)
    toolbox.register("mutate", nos.mutGraph, space=space)
    toolbox.register("evaluate", DigitsEvaluator(steps=100))
    import random
    random.seed(3)
    start = time.perf_counter()
    pop = [creator.CheapIndividual.parse(ADAM) for _ in range(2)]
    pop, logbook = nos.eaParticle(pop, toolbox, nsteps=1, nmut=2, verbose=False)
    assert len(pop) == 2 and all(ind.fitness.valid for ind in pop)
    assert sum(logbook.select("nevals")) >= 3
    assert time.perf_counter() - start < 30
