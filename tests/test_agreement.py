"""The single and the population evaluation paths decide by one rule and agree.

The sweep's two decisions (:func:`deap_nos.evaluation.stages.quick_check`,
:func:`deap_nos.evaluation.stages.choose_rate`) are checked against hand-computed values, and the
two evaluators against each other on a small preset (issue 22).
"""
import math
from types import SimpleNamespace

import numpy as np
import pytest

from deap_nos import stages
from deap_nos.evaluation.stages import StageFailure, accuracy_error, choose_rate, quick_check


def _settings(**overrides):
    base = dict(quick_rates=(10.0, 0.01, 1e-5), sweep_min_acc=0.20, sweep_gate_acc=0.25,
                sweep_steps=40, batch_size=256)
    return SimpleNamespace(**dict(base, **overrides))


def _run(lr, acc, loss=1.0, finite=True, steps=40):
    return {"lr": lr, "train_acc": acc, "loss": loss, "finite": finite, "steps": steps}


def test_accuracy_error_by_hand():
    # 40 steps: the tail is ceil(4.0) = 4 batches of 256 = 1,024 samples.
    assert accuracy_error(0.19, 40, 256) == pytest.approx(math.sqrt(0.19 * 0.81 / 1024))
    # 30 steps: ceil(3.0) = 3 batches of 64 = 192 samples; 5 steps: 1 batch.
    assert accuracy_error(0.5, 30, 64) == pytest.approx(math.sqrt(0.25 / 192))
    assert accuracy_error(0.5, 5, 64) == pytest.approx(math.sqrt(0.25 / 64))
    assert accuracy_error(0.0, 40, 256) == 0.0 and accuracy_error(1.0, 40, 256) == 0.0


def test_quick_check_rejects_only_clearly_below_the_gate():
    s = _settings()
    # issue 22, PowerSign-ld on the population path: best 19.0 %, se 1.23 points:
    # 19.0 + 2 x 1.23 = 21.5 >= 20: not clearly below, the full sweep decides.
    quick_check(s, [_run(10.0, 0.1904), _run(0.01, 0.1787), _run(1e-5, 0.1104)])
    # 17 % (se 1.17): 17 + 2.35 = 19.35 < 20: rejected, with the quick check's reason.
    with pytest.raises(StageFailure, match=r"\(quick check\).*below 20%.*best 17.0%"):
        quick_check(s, [_run(10.0, 0.17), _run(0.01, 0.12), _run(1e-5, 0.10)])
    # every quick run NaN: rejected (accuracy 0, no error), with the NaN reason.
    with pytest.raises(StageFailure, match="non-finite"):
        quick_check(s, [_run(lr, 0.0, float("nan"), False) for lr in s.quick_rates])
    quick_check(_settings(quick_rates=()), [_run(1.0, 0.0)])   # no quick rates: no check


def test_choose_rate_takes_the_smallest_rate_tied_with_the_best():
    s = _settings()
    # issue 22, momentum: g on the single path: 72.17 % at lr 10, 71.68 % at lr 1;
    # se(72.17 %) = 1.40 points, so lr 1 ties and is chosen (lr 0.1 at 50.7 % does not).
    runs = [_run(10.0, 0.7217, 0.83), _run(0.01, 0.2705), _run(1e-5, 0.1064),
            _run(1.0, 0.7168, 0.80), _run(0.1, 0.5068), _run(1e-3, 0.1406)]
    assert choose_rate(s, runs, [r["lr"] for r in runs]) == 1.0
    # a clear winner is chosen whatever its size
    runs[3]["train_acc"] = 0.69
    assert choose_rate(s, runs, [r["lr"] for r in runs]) == 10.0
    # equal accuracy: the lower loss ranks first, but the smaller tied rate is taken
    runs = [_run(1.0, 0.6, 0.5), _run(0.1, 0.6, 0.9)]
    assert choose_rate(s, runs, [1.0, 0.1]) == 0.1
    # a NaN run never ties; below the gate: the full sweep's rejection
    runs = [_run(1.0, 0.5), _run(0.1, 0.0, float("nan"), False)]
    assert choose_rate(s, runs, [1.0, 0.1]) == 1.0
    with pytest.raises(StageFailure, match=r"\(full sweep\).*below 25%"):
        choose_rate(s, [_run(1.0, 0.24), _run(0.1, 0.2)], [1.0, 0.1])


def test_both_paths_call_the_same_decisions(monkeypatch):
    """No second copy of the rules: the population protocol calls stages' functions."""
    import inspect

    population = pytest.importorskip("deap_nos.evaluation.population")
    source = inspect.getsource(population.PopulationEvaluator._protocol)
    assert "quick_check(" in source and "choose_rate(" in source
    assert "sweep_gate_acc" not in source and "sweep_min_acc" not in source
    assert population.choose_rate is stages.choose_rate
    assert population.quick_check is stages.quick_check
