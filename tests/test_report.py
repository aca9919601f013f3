"""report.md states only what was computed: the seeds actually averaged, the evaluator
actually used, and the plots actually written."""
import argparse

import deap_nos as nos
from deap_nos.cli.report import write_report
from deap_nos.spaces.nos.toolbox import individual_class


def individual(text, fitness, info=None):
    ind = nos.parse(text, cls=individual_class()) if _takes_cls() else _convert(text)
    ind.fitness.values = (fitness,)
    ind.info = dict(info or {})
    return ind


def _takes_cls():
    import inspect
    return "cls" in inspect.signature(nos.parse).parameters


def _convert(text):
    genome = nos.parse(text)
    ind = individual_class().from_dict(genome.to_dict())
    return ind


def args(**kw):
    base = dict(algorithm="particle", preset="cheap", data=None, reevaluate=3, space="nos")
    base.update(kw)
    return argparse.Namespace(**base)


ADAM = "div(v_hat, sqrt_abs(s_hat))"


def test_cheap_report_claims_no_seed_mean_and_no_surrogate(tmp_path):
    hof = [individual("clip(v_hat, sqrt_abs(s_hat))", 0.9, {"lr": 0.1})]
    text = write_report(str(tmp_path), hof, individual(ADAM, 0.88), None, args(), 1.0)
    assert "seeds" not in text and "mean" not in text
    assert "surrogate" not in text and "digits" in text
    assert "best_genome.png" in text and "progress.png" not in text   # no log: no plot
    assert not (tmp_path / "progress.png").exists()


def test_report_names_the_seeds_that_were_averaged(tmp_path):
    info = {"runs": [0.9, 0.92], "search_fitness": (0.95,), "lr": 0.1}
    hof = [individual("clip(v_hat, sqrt_abs(s_hat))", 0.91, info)]
    text = write_report(str(tmp_path), hof, individual(ADAM, 0.88), None,
                        args(preset="quick", reevaluate=3), 1.0)
    assert "the mean of 2 seeds" in text and "3 seeds" not in text
    assert "surrogate" in text


def test_report_plots_adam_on_progress_and_the_training_curves(tmp_path, monkeypatch):
    import json

    from deap_nos import plots
    seen = {}
    real = plots.plot_progress

    def spy(records, path=None, ax=None, group="particle", adam=None):
        seen["adam"], seen["failed"] = adam, sum(bool(r["failed"]) for r in records)
        return real(records, path, ax, group, adam)

    monkeypatch.setattr(plots, "plot_progress", spy)
    log = [{"n": k, "step": 0, "key": str(k), "fitness": [f], "failed": f < 0,
            "particle": 0} for k, f in enumerate([0.5, -1.0, 0.7])]
    (tmp_path / "evaluations.log").write_text("".join(json.dumps(r) + "\n" for r in log))
    curve = {"step": [10, 20], "train_loss": [2.0, 1.0], "val_acc": [0.5, 0.7]}
    hof = [individual("clip(v_hat, sqrt_abs(s_hat))", 0.7, {"lr": 0.1, "curves": [curve]})]
    adam = individual(ADAM, 0.65, {"lr": 0.01, "curves": [curve]})
    text = write_report(str(tmp_path), hof, adam, None, args(reevaluate=1), 1.0)
    assert seen == {"adam": 0.65, "failed": 1}
    saved = json.loads((tmp_path / "hall_of_fame.json").read_text())
    assert saved["best"][0]["curves"] == [curve]
    assert "curves.png" in text and (tmp_path / "curves.png").stat().st_size > 5000


def test_a_resumed_runs_report_says_its_time_is_this_resumes(tmp_path):
    """A resume that only redoes the last stage wrote "64 evaluations in 0 s": the time
    is this process's, and the report says so."""
    hof = [individual("clip(v_hat, sqrt_abs(s_hat))", 0.9, {"lr": 0.1})]
    fresh = write_report(str(tmp_path), hof, individual(ADAM, 0.88), None, args(), 12.0)
    assert "in 12 s;" in fresh and "of this resume" not in fresh
    resumed = write_report(str(tmp_path), hof, individual(ADAM, 0.88), None,
                           args(resume=str(tmp_path)), 0.4)
    assert "in 0 s of this resume (earlier processes not counted);" in resumed


def test_report_gives_the_training_loops_share_of_the_wall_time(tmp_path):
    hof = [individual("clip(v_hat, sqrt_abs(s_hat))", 0.9, {"lr": 0.1})]
    counters = {"slot_steps": 4000, "run_steps": 3000, "train_seconds": 30.0}
    text = write_report(str(tmp_path), hof, individual(ADAM, 0.88), None,
                        args(preset="default"), 120.0, training=counters)
    assert "3,000 run-steps in 4,000 slot-steps (75% of the slots busy)" in text
    assert "30 s in the compiled training loop, 25% of the wall time" in text
    plain = write_report(str(tmp_path), hof, individual(ADAM, 0.88), None,
                         args(preset="default"), 120.0,
                         training={"slot_steps": 0, "run_steps": 0, "train_seconds": 0.0})
    assert "slot-steps" not in plain          # workers trained: nothing counted here
