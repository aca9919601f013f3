"""The held-out verdict: statistics against hand computations, the protocol on tiny
settings, the command on a run folder, and noise-aware re-evaluation."""
import json
import math

import numpy as np
import pytest
from scipy import stats

import deap_nos as nos
from deap_nos.cli import main
from deap_nos.verdicts.heldout import Verdict, compare_runs, reevaluate, verdict

A = [0.971, 0.968, 0.974, 0.970, 0.972]
B = [0.962, 0.966, 0.960, 0.965, 0.963]

#: A verdict small enough for a test: digits, 60 steps, a two-rate sweep.
TINY = dict(steps=60, sweep_steps=5, eval_every=30, stop_after=30, lr_grid=(1.0, 0.01),
            quick_rates=(), base=4, sweep_gate_acc=0.0, sweep_min_acc=0.0)


def test_welch_and_mann_whitney_match_hand_computations():
    diff, p_t, p_u = compare_runs(A, B)
    a, b = np.array(A), np.array(B)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    t = (a.mean() - b.mean()) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    assert diff == pytest.approx(a.mean() - b.mean(), abs=1e-15)
    assert p_t == pytest.approx(2 * stats.t.sf(abs(t), df), rel=1e-9)
    # every A above every B: U = 25, the exact two-sided p is 2 / C(10, 5)
    assert p_u == pytest.approx(2 / math.comb(10, 5), rel=1e-9)
    assert p_u == pytest.approx(stats.mannwhitneyu(A, B, alternative="two-sided").pvalue)


def test_identical_samples_are_no_evidence_and_one_seed_is_refused():
    diff, p_t, p_u = compare_runs([0.9, 0.9, 0.9], [0.9, 0.9, 0.9])
    assert diff == 0.0 and p_t == 1.0 and p_u == 1.0
    with pytest.raises(nos.NOSError, match="at least 2 seeds"):
        compare_runs([0.9], [0.8, 0.7])


def _fake_verdict(a, b):
    from deap_nos.verdicts.heldout import Row

    row = Row("#1", "g", list(a), 0.1)
    ref = Row("keras:adam", "keras adam", list(b), 0.01)
    row.diff, row.p_welch, row.p_mannwhitney = compare_runs(a, b)
    return Verdict([row, ref], "keras:adam", {"seeds": len(a), "baselines": ("keras:adam",)})


def test_conclusion_says_beat_worse_or_no_difference():
    assert "BEAT keras:adam" in _fake_verdict(A, B).conclusion("#1")
    assert "WORSE than keras:adam" in _fake_verdict(B, A).conclusion("#1")
    noisy = _fake_verdict([0.97, 0.95, 0.96], [0.96, 0.97, 0.95])
    assert "did NOT significantly differ" in noisy.conclusion("#1")
    assert "Welch p = " in noisy.conclusion("#1")


def test_verdict_trains_paired_seeds_and_scores_on_test(tmp_path):
    result = verdict([nos.zoo.genome("Opt6")], baselines=("AdamSpace", "keras:adam"),
                     seeds=2, preset="quick", names=["Opt6"], **TINY)
    assert [r.name for r in result.rows] == ["Opt6", "AdamSpace", "keras:adam"]
    ref = result.row("keras:adam")
    assert ref.diff is None and len(ref.scores) == 2
    for row in result.rows:
        assert row.failure is None, row.failure
        assert all(0.0 <= s <= 1.0 for s in row.scores)
        # test accuracies are multiples of 1 / |test split|
        n_test = len(nos.data.digits().x_test)
        assert all(abs(s * n_test - round(s * n_test)) < 1e-6 for s in row.scores)
    opt6 = result.row("Opt6")
    assert opt6.p_welch is not None and opt6.diff == pytest.approx(opt6.mean - ref.mean)
    result.write(str(tmp_path))
    text = (tmp_path / "verdict.md").read_text()
    assert "Opt6" in text and "Welch p" in text
    import csv
    with open(tmp_path / "verdict.csv", newline="", encoding="utf-8") as stream:
        lines = list(csv.reader(stream))
    assert len(lines) == 1 + 3 * 2 and all(len(line) == len(lines[0]) for line in lines)
    assert [line[-1] for line in lines[1:3]] == [str(nos.zoo.genome("Opt6"))] * 2
    assert (tmp_path / "verdict.png").stat().st_size > 1000


@pytest.mark.slow
def test_verdict_command_on_a_run_folder(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    settings = {"preset": "quick", "evaluator": dict(TINY, preset="quick", data="digits",
                                                     seed=0, repeats=1)}
    (run / "settings.json").write_text(json.dumps(settings))
    genome = nos.parse("momentum: g")
    best = [{"equation": str(genome), "fitness": 0.9, "genome": genome.to_dict()}]
    (run / "hall_of_fame.json").write_text(json.dumps({"best": best}))
    (run / "report.md").write_text("# a search\n")
    assert main(["verdict", str(run), "--verdict-seeds", "2", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "#1" in out and "keras:adam" in out and "p = " in out
    report = (run / "report.md").read_text()
    assert report.startswith("# a search") and report.count("## Verdict") == 1
    assert main(["verdict", str(run), "--verdict-seeds", "2", "--quiet"]) == 0
    assert (run / "report.md").read_text().count("## Verdict") == 1  # replaced, not added


def test_verdict_command_refuses_a_folder_without_a_run(tmp_path, capsys):
    assert main(["verdict", str(tmp_path)]) == 2
    assert "settings.json" in capsys.readouterr().err


class _Noisy:
    """A stand-in evaluator: fitness = quality + a per-run seed effect, averaged."""

    repeats, aggregate = 1, "mean"

    def __init__(self, luck):
        self.luck = luck

    def __call__(self, ind):
        runs = [ind.quality + (self.luck[ind.name] if r == 0 else 0.0)
                for r in range(self.repeats)]
        return nos.Evaluation((float(np.mean(runs)),), {"runs": runs})


def test_reevaluate_ranks_by_the_mean_of_more_seeds():
    from deap import base, creator

    if not hasattr(creator, "FitnessVerdict"):
        creator.create("FitnessVerdict", base.Fitness, weights=(1.0,))
        creator.create("IndVerdict", list, fitness=creator.FitnessVerdict)
    lucky, solid = creator.IndVerdict(), creator.IndVerdict()
    lucky.name, lucky.quality = "lucky", 0.90
    solid.name, solid.quality = "solid", 0.95
    evaluator = _Noisy({"lucky": 0.10, "solid": 0.0})
    lucky.fitness.values, solid.fitness.values = evaluator(lucky), evaluator(solid)
    assert lucky.fitness.values[0] > solid.fitness.values[0]  # one seed crowns luck
    ranked = reevaluate([lucky, solid], evaluator, repeats=5)
    assert [ind.name for ind in ranked] == ["solid", "lucky"]
    assert ranked[1].fitness.values[0] == pytest.approx(0.92)
    assert ranked[1].info["search_fitness"] == pytest.approx((1.0,))
    assert evaluator.repeats == 1  # the caller's evaluator is untouched


def test_public_names_are_the_functions():
    import deap_nos.verdicts.heldout  # noqa: F401  (importing the module must not shadow them)

    assert nos.verdict is verdict and nos.reevaluate is reevaluate


def test_baseline_cache_trains_each_baseline_once(tmp_path, monkeypatch):
    """Judging many runs on one protocol trains the baselines once: the second verdict
    reads their rows from the folder; other seeds (or data) train them again."""
    import deap_nos.verdicts.heldout as heldout

    trained = []

    def fake_run(evaluator, subject):
        trained.append(str(subject))
        scores = [0.90 + 0.01 * len(trained), 0.91 + 0.01 * len(trained)][:evaluator.repeats]
        return scores, 0.1, None, None

    monkeypatch.setattr(heldout, "_run", fake_run)
    cache = str(tmp_path / "baselines")
    kwargs = dict(baselines=("AdamSpace", "keras:adam"), preset="quick",
                  baseline_cache=cache, **TINY)
    first = verdict([nos.zoo.genome("Opt6")], seeds=2, **kwargs)
    assert len(trained) == 3 and len(list((tmp_path / "baselines").iterdir())) == 2
    second = verdict([nos.zoo.genome("Opt10")], seeds=2, names=["Opt10"], **kwargs)
    assert trained[3:] == [str(nos.zoo.genome("Opt10"))]          # baselines not retrained
    for name in ("AdamSpace", "keras:adam"):
        assert second.row(name).scores == first.row(name).scores
    # the genome is compared against the cached reference exactly as against a fresh one
    opt10, ref = second.row("Opt10"), second.row("keras:adam")
    assert opt10.diff == pytest.approx(opt10.mean - ref.mean)
    verdict([nos.zoo.genome("Opt10")], seeds=3, **kwargs)         # another protocol
    assert len(trained) == 4 + 3
    import dataclasses
    digits = nos.data.digits()
    other = dataclasses.replace(digits, x_train=digits.x_train[1:], y_train=digits.y_train[1:])
    verdict([nos.zoo.genome("Opt10")], seeds=2, dataset=other, **kwargs)   # other data
    assert len(trained) == 7 + 3


def test_a_run_folder_recording_steps_null_keeps_the_presets_steps():
    """Early 0.3 termmix/autolr run folders record ``"steps": null`` (the preset's);
    their verdict must train the preset's steps, not fail on ``int(None)``."""
    from deap_nos.verdicts.heldout import _training_overrides

    recorded = {"repr": "TermMixSurrogate(...)", "steps": None, "lr_grid": [1.0, 0.1],
                "preset": "default", "repeats": 1, "fitness": {"tasks": ["mnist1d"]}}
    assert _training_overrides(recorded) == {"lr_grid": [1.0, 0.1]}


def test_a_run_folder_verdict_follows_the_runs_seed(tmp_path, monkeypatch):
    """Every space's verdict draws its paired seeds from its run's seed (termmix and
    autolr record the seed under their fitness, not as a training setting)."""
    import deap_nos.verdicts.heldout as heldout

    seen = {}

    def fake_verdict(genomes, **kwargs):
        seen.update(kwargs)
        raise RuntimeError("stop here")

    monkeypatch.setattr(heldout, "verdict", fake_verdict)
    monkeypatch.setattr(heldout, "_run_genomes", lambda run_dir, top: ([None], ["#1"]))
    (tmp_path / "settings.json").write_text(json.dumps(
        {"seed": 3, "preset": "default",
         "evaluator": {"preset": "default", "steps": None, "fitness": {"seed": 3}}}))
    with pytest.raises(RuntimeError):
        heldout.verdict_for_run(str(tmp_path))
    assert seen["seed"] == 3
