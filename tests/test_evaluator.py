"""Tests of deap_nos.evaluation.evaluator.SurrogateEvaluator with stand-in optimizer factories.

The factories are module-level (the evaluator must pickle). Settings are tiny so the file
runs in well under a minute on two CPU cores.
"""
import pickle

import keras
import numpy as np
import pytest

from deap_nos.errors import NOSError, UnknownNameError
from deap_nos.evaluation import FAILED_FITNESS, Evaluation
from deap_nos.evaluation.evaluator import PRESETS, SurrogateEvaluator, genome_seed
from deap_nos.backends.tensorflow.train_loop import reset_optimizer as _reset_optimizer


# ----------------------------------------------------------------- stand-in optimizers
class ConstantStep(keras.optimizers.Optimizer):
    """Moves every weight by -lr whatever the gradient: cannot learn."""

    def __init__(self, learning_rate=0.01, name="constant_step", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        lr = keras.ops.cast(learning_rate, variable.dtype)
        self.assign_sub(variable, lr * keras.ops.ones_like(variable))


class NaNStep(keras.optimizers.Optimizer):
    """Writes NaN into every weight on the first step."""

    def __init__(self, learning_rate=0.01, name="nan_step", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        self.assign_add(variable, gradient * float("nan"))


def adam_factory(genome, learning_rate, total_steps, warmup_steps, hold_steps):
    return keras.optimizers.Adam(learning_rate)


def constant_factory(genome, learning_rate, total_steps, warmup_steps, hold_steps):
    return ConstantStep(learning_rate)


def nan_factory(genome, learning_rate, total_steps, warmup_steps, hold_steps):
    return NaNStep(learning_rate)


def broken_factory(genome, learning_rate, total_steps, warmup_steps, hold_steps):
    raise RuntimeError("this optimizer cannot be built")


#: Smaller than `quick`: enough for Adam to learn digits, a second or two per genome.
TINY = dict(base=4, batch_size=64, sweep_steps=10, steps=60, eval_every=20, stop_after=20,
            lr_grid=(1.0, 0.01, 1e-4), quick_rates=(1.0, 0.01), min_train_acc=0.3)


def tiny(**overrides):
    return SurrogateEvaluator.preset("quick", **dict(TINY, **overrides))


# ---------------------------------------------------------------------------- presets
def test_presets_and_overrides():
    paper = SurrogateEvaluator.preset("paper")
    assert (paper.sweep_steps, paper.steps, paper.base, paper.batch_size) == (800, 8000, 48, 128)
    assert paper.lr_grid == (10.0, 1.0, 0.1, 0.01, 1e-3, 1e-4, 1e-5)
    assert paper.quick_rates == (10.0, 0.01, 1e-5) and paper.sweep_min_acc == 0.25
    authors = SurrogateEvaluator(preset="authors")
    assert (authors.steps, authors.augment, authors.sweep_gate_acc) == (16000, True, 0.40)
    assert authors.min_train_acc == 0.40 and authors.stop_after == 1000
    quick = SurrogateEvaluator.preset("quick", steps=123)
    assert quick.steps == 123 and quick.data == "digits"
    default = SurrogateEvaluator.preset("default")
    assert (default.data, default.base, default.steps) == ("mnist1d", 16, 600)
    assert quick.warmup == round(0.1 * 123)
    assert SurrogateEvaluator().preset_name == "paper"
    assert set(PRESETS) == {"paper", "authors", "quick", "default"}


def test_bad_settings_are_errors():
    with pytest.raises(UnknownNameError, match="authors.*default.*paper.*quick"):
        SurrogateEvaluator.preset("fast")
    with pytest.raises(UnknownNameError, match="worst"):
        SurrogateEvaluator.preset("quick", aggregate="median")
    with pytest.raises(NOSError, match="steps"):
        SurrogateEvaluator.preset("quick", steps=0)
    with pytest.raises(TypeError):
        SurrogateEvaluator.preset("quick", stepz=10)


def test_genome_seed_is_stable_and_uses_fingerprint():
    class G:
        def fingerprint(self):
            return "abc"

    assert genome_seed(0, "x") == genome_seed(0, "x")
    assert genome_seed(0, "x") != genome_seed(1, "x")
    assert genome_seed(3, G()) == genome_seed(3, "abc")
    assert 0 <= genome_seed(0, "x") < 2 ** 31


def test_reset_optimizer_zeroes_state_but_keeps_lr():
    var = keras.Variable(np.ones(3, np.float32))
    opt = keras.optimizers.Adam(0.5)
    opt.build([var])
    opt.apply([keras.ops.ones(3)], [var])
    assert int(opt.iterations) == 1
    _reset_optimizer(opt)
    assert int(opt.iterations) == 0
    assert all(not np.any(np.asarray(v)) for v in opt.variables if v is not opt._learning_rate)
    assert float(opt.learning_rate) == 0.5


# ------------------------------------------------------------------------ evaluations
def test_adam_beats_a_constant_update_on_quick():
    adam = SurrogateEvaluator.preset("quick", optimizer_factory=adam_factory)("adam")
    assert isinstance(adam, Evaluation) and len(adam) == 1
    assert not adam.failed and adam.info["stage"] == "done"
    assert adam[0] > 0.8, adam.info
    assert adam.info["lr"] in PRESETS["quick"]["lr_grid"]
    assert [s["lr"] for s in adam.info["sweep"]][:3] == [10.0, 0.01, 1e-5]
    assert len(adam.info["sweep"]) == 7
    curve = adam.info["curves"][0]
    assert curve["step"][-1] == 300 and len(curve["val_acc"]) == 6
    assert max(curve["val_acc"]) == adam[0]
    assert adam.info["time"] > 0 and adam.info["timing"]["step_train"] > 0

    const = SurrogateEvaluator.preset("quick", optimizer_factory=constant_factory)("const")
    assert const.failed and const[0] == FAILED_FITNESS
    assert const.info["stage"] == "sweep" and "rejected in the sweep" in const.reason
    assert len(const.info["sweep"]) == 3  # the quick three-rate check rejected it
    assert adam[0] > const[0] + 1.0


def test_nan_optimizer_fails_cleanly():
    result = tiny(optimizer_factory=nan_factory)("nan")
    assert result.failed and result[0] == FAILED_FITNESS
    assert "NaN" in result.reason and result.info["stage"] == "sweep"
    assert not any(s["finite"] for s in result.info["sweep"])


def test_exception_while_building_is_recorded():
    result = tiny(optimizer_factory=broken_factory)("broken")
    assert result.failed and result[0] == FAILED_FITNESS
    assert "RuntimeError" in result.reason and "cannot be built" in result.reason


def test_early_stop_gate_fails_with_reason():
    result = tiny(optimizer_factory=adam_factory, min_train_acc=1.01, repeats=1)("adam")
    assert result.failed and result.info["stage"] == "train"
    assert "stopped early at step 20" in result.reason
    assert result.info["lr"] == 0.01


def test_same_seed_same_fitness_and_pickle_round_trip():
    ev = tiny(optimizer_factory=adam_factory, seed=5)
    first = ev("g")
    assert ev._cache  # data cached in this process ...
    blob = pickle.dumps(ev)
    assert len(blob) < 10_000  # ... but never pickled
    clone = pickle.loads(blob)
    second = clone("g")
    assert tuple(first) == tuple(second)
    assert first.info["curves"] == second.info["curves"]
    assert pickle.loads(pickle.dumps(first)).info == first.info


def test_repeats_mean_and_worst():
    mean = tiny(optimizer_factory=adam_factory, repeats=2, aggregate="mean")("g")
    worst = tiny(optimizer_factory=adam_factory, repeats=2, aggregate="worst")("g")
    assert not mean.failed and not worst.failed
    runs = mean.info["runs"]
    assert len(runs) == 2 and len(mean.info["curves"]) == 2
    assert runs == worst.info["runs"]  # same seed → the same two runs
    assert mean[0] == pytest.approx(np.mean(runs))
    assert worst[0] == pytest.approx(min(runs))
    assert mean.info["curves"][0] != mean.info["curves"][1]  # different init / data order


def test_evaluator_does_not_disturb_global_random_state():
    import random

    random.seed(1)
    np.random.seed(1)
    expected = (random.random(), np.random.rand())
    random.seed(1)
    np.random.seed(1)
    tiny(optimizer_factory=nan_factory)("g")
    assert (random.random(), np.random.rand()) == expected


# ------------------------------------------------------- the real GraphOptimizer
def test_graph_optimizer_adam_like_beats_constant():
    import deap_nos as nos

    space = nos.SearchSpace.default()
    ev = SurrogateEvaluator.preset("quick", space=space)
    good = ev(nos.parse("div(v_hat, sqrt_abs(s_hat))", space))
    assert not good.failed and good[0] > 0.8, good.info
    const = ev(nos.parse("one", space))
    assert const.failed and const[0] == FAILED_FITNESS
    assert "sweep" in const.reason


def test_augmented_training_runs_and_replays():
    ev = tiny(optimizer_factory=adam_factory, augment=True, base=8, steps=60, repeats=1,
              augment_options={"pad": 2, "cutout": 4}, lr_grid=(0.03,), quick_rates=(),
              sweep_gate_acc=0.0, min_train_acc=0.0)
    first = ev("aug")
    assert not first.failed and 0.0 <= first[0] <= 1.0, first.info
    assert first.info["curves"][0]["train_acc"][-1] > 0.25  # it learns despite augmentation
    assert len(first.info["sweep"]) == 1 and first.info["lr"] == 0.03
    assert tuple(ev("aug")) == tuple(first)


@pytest.mark.slow
def test_same_fitness_in_another_process():
    import os
    import subprocess
    import sys

    code = ("import pickle, sys; sys.path.insert(0, 'tests'); import test_evaluator as t; "
            "print(repr(t.tiny(optimizer_factory=t.adam_factory, seed=11)('proc')[0]))")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                         text=True, check=True, env=dict(os.environ, PYTHONPATH=root))
    here = tiny(optimizer_factory=adam_factory, seed=11)("proc")[0]
    assert float(out.stdout.strip().splitlines()[-1]) == here
