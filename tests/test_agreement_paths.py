"""Both evaluation paths, trained for real on a small preset, agree (issue 22).

:class:`~deap_nos.evaluation.evaluator.SurrogateEvaluator` (the single path) and
:class:`~deap_nos.evaluation.population.PopulationEvaluator` (the population path) evaluate the same
zoo and seeded random genomes on the embedded digits (ConvNet(8), a 20-step sweep over
four rates, 100 training steps). They must agree on

* which genomes fail (the sweep's quick check, the early stop, NaN);
* fitness, within the seed noise: the two paths draw different initial weights and
  batches, so a genome's two fitnesses differ as two seeds' do. The fast test takes the
  noise from the validation set's size (the binomial standard error of an accuracy over
  its 359 samples, about 1.4 points at 93 %): the two fitnesses' difference then has a
  standard error √2·se, and 4 of those allow for the training runs' own spread (on this
  preset measured at about 1–1.5 × se). The ``slow`` variant measures the noise over
  three seeds of the population path instead, and runs the zoo nine of
  benchmarks/bench_agreement.py and twelve random genomes;
* the learning rate: each path's chosen rate is what :func:`deap_nos.evaluation.stages.choose_rate`
  gives on that path's own sweep accuracies.
"""
import random

import numpy as np
import pytest

pytest.importorskip("tensorflow")

import deap_nos as nos  # noqa: E402
from deap_nos import stages  # noqa: E402
from deap_nos.evaluation.population import PopulationEvaluator  # noqa: E402

#: The small preset: digits (1,079 training, 359 validation images), a four-rate grid,
#: an early stop at 50 % that a slow learner (the fourth random genome) clearly meets.
SMALL = dict(base=8, batch_size=64, sweep_steps=20, steps=100, eval_every=50,
             stop_after=50, lr_grid=(1.0, 0.1, 0.01, 1e-4), quick_rates=(1.0, 0.01),
             min_train_acc=0.5, sweep_min_acc=0.25, sweep_gate_acc=0.25)
#: Passing zoo genomes (issue 22's PowerSign-ld and ``momentum: g`` tie at lr 1 and 0.1
#: in the sweep here, so the rule's smallest-tied-rate choice is exercised), one the quick
#: check rejects, one that is NaN at every rate.
FAST_NAMES = ["AdamSpace", "PowerSign-ld", "momentum: g", "none: neg(g)",
              "none: exp(recip(sub(g, g)))"]
#: benchmarks/bench_agreement.py's nine (issue 22's).
SLOW_NAMES = ["AdamSpace", "Sign", "QHM", "Opt1", "Opt6", "Opt10", "A1", "PowerSign-ld",
              "momentum: g", "none: neg(g)", "none: exp(recip(sub(g, g)))"]
SIGMAS = 4.0


def _genomes(names, n_random, seed=22):
    out = [nos.zoo.genome(n) if n in nos.zoo.names() else nos.parse(n) for n in names]
    state = random.getstate()
    random.seed(seed)
    space = nos.SearchSpace.default()
    out += [nos.initGraph(nos.OptimizerGraph, space) for _ in range(n_random)]
    random.setstate(state)
    return out


def validation_error(acc, n_val):
    """Binomial standard error of a validation accuracy over ``n_val`` samples."""
    p = min(max(float(acc), 0.0), 1.0)
    return float(np.sqrt(p * (1.0 - p) / n_val))


def _both(genomes, settings, slots):
    single = nos.SurrogateEvaluator.preset("quick", **settings)
    pop = PopulationEvaluator.preset("quick", slots=slots, **settings)
    return single, [single(g) for g in genomes], pop, pop.evaluate_many(genomes)


def disagreements(genomes, a, b, noise_of):
    """What the two paths' results ``a``, ``b`` disagree on, as readable lines:
    failure, fitness beyond ``SIGMAS`` · √2 · ``noise_of(mean accuracy)``."""
    out = []
    for g, x, y in zip(genomes, a, b):
        if x.failed != y.failed:
            out.append(f"{g}: fails on one path: single {x.reason or x[0]}, "
                       f"population {y.reason or y[0]}")
        elif not x.failed:
            tol = SIGMAS * np.sqrt(2.0) * noise_of((x[0] + y[0]) / 2)
            if abs(x[0] - y[0]) > tol:
                out.append(f"{g}: fitness {x[0]:.3f} vs {y[0]:.3f}, beyond {tol:.3f}")
    return out


def rule_breaches(settings_of, genomes, a, b):
    """Genomes passed on a path whose chosen rate is not choose_rate on its own sweep."""
    out = []
    for path, results in (("single", a), ("population", b)):
        settings = settings_of[path]
        for g, r in zip(genomes, results):
            if r.failed:
                continue
            expected = stages.choose_rate(settings, r.info["sweep"], settings.all_rates)
            chosen = r.info.get("fallback", {}).get("from", r.info["lr"])  # before any fallback
            if chosen != expected:
                out.append(f"{g} ({path}): lr {chosen}, the rule gives {expected}")
    return out


def test_both_paths_agree_on_failures_fitness_and_rate():
    genomes = _genomes(FAST_NAMES, 4)
    single, a, pop, b = _both(genomes, SMALL, slots=len(genomes))
    n_val = len(single.dataset().x_val)
    assert n_val == 359
    failed = [r.failed for r in a]
    assert failed[:5] == [False, False, False, True, True], [r.reason for r in a]
    assert any(failed[5:]) and not all(failed[5:])   # the random ones: both kinds
    assert disagreements(genomes, a, b, lambda p: validation_error(p, n_val)) == []
    assert any("stopped early" in (x.reason or "") and "stopped early" in (y.reason or "")
               for x, y in zip(a, b))                  # an early stop on both paths
    assert rule_breaches({"single": single, "population": pop}, genomes, a, b) == []


def test_the_checks_catch_a_disagreement():
    """The helpers above report a failure on one path, a fitness gap and a wrong rate."""
    genomes = ["g1", "g2", "g3"]
    ok = nos.Evaluation((0.9,), {"lr": 1.0, "sweep": [
        {"lr": 1.0, "train_acc": 0.8, "loss": 1.0, "finite": True, "steps": 20},
        {"lr": 0.01, "train_acc": 0.5, "loss": 2.0, "finite": True, "steps": 20}]})
    fail = nos.Evaluation.failure("rejected", "sweep")
    low = nos.Evaluation((0.8,), dict(ok.info, lr=0.01))
    found = disagreements(genomes, [ok, ok, ok], [fail, low, ok], lambda p: 0.01)
    assert len(found) == 2 and "one path" in found[0] and "beyond 0.057" in found[1]
    settings = PopulationEvaluator.preset("quick", slots=1, **SMALL)
    breaches = rule_breaches({"single": settings, "population": settings}, genomes,
                             [ok, ok, ok], [ok, low, ok])
    assert breaches == ["g2 (population): lr 0.01, the rule gives 1.0"]


@pytest.mark.slow
def test_both_paths_agree_on_the_zoo_and_random_genomes_within_measured_noise():
    genomes = _genomes(SLOW_NAMES, 12)
    single, a, pop, b = _both(genomes, SMALL, slots=12)
    runs = [b] + [PopulationEvaluator.preset("quick", slots=12, seed=s, **SMALL)
                  .evaluate_many(genomes) for s in (1, 2)]
    fits = np.array([[np.nan if r.failed else r[0] for r in rs] for rs in runs])
    keep = np.isfinite(fits).all(axis=0)
    noise = float(np.std(fits[:, keep], axis=0, ddof=1).mean())
    n_val = len(single.dataset().x_val)
    floor = lambda p: max(noise, validation_error(p, n_val))  # noqa: E731
    assert disagreements(genomes, a, b, floor) == []
    assert rule_breaches({"single": single, "population": pop}, genomes, a, b) == []
