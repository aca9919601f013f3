"""``deap-nos search --space S`` for every space: a straight run, and one SIGKILLed
mid-search then resumed, leave the same evaluations line by line and the same hall of
fame (the command drives each space's own algorithm on the shared engine)."""
import json
import os
import signal

import pytest

from test_runs import _assert_same_run, _kill, _run, _start, _wait_for_lines

SPACES = ["termmix", "autolr"]


def _flags(space):
    return ["--space", space, "--preset", "cheap", "--seed", "2", "--workers", "2",
            "--population", "6", "--generations", "3", "--no-verdict"]


@pytest.mark.parametrize("space", SPACES)
def test_killed_and_resumed_search_equals_straight(tmp_path, space):
    straight = tmp_path / "straight"
    done = _run(straight, _flags(space))
    assert done.returncode == 0, done.stderr
    with open(straight / "hall_of_fame.json", encoding="utf-8") as stream:
        best = json.load(stream)["best"]
    assert best and all(entry["genome"]["space"] == space for entry in best)
    with open(straight / "report.md", encoding="utf-8") as stream:
        assert f"space {space}" in stream.read()
    run_dir = tmp_path / "killed"
    proc = _start(run_dir, _flags(space))
    _wait_for_lines(proc, run_dir, 9)
    _kill(proc, signal.SIGKILL)
    resumed = _run(run_dir, _flags(space), resume=True)
    assert resumed.returncode == 0, resumed.stderr
    _assert_same_run(run_dir, straight)


def test_unknown_space_is_refused_in_one_line(tmp_path):
    done = _run(tmp_path / "run", ["--space", "nope", "--preset", "cheap"])
    assert done.returncode == 2
    assert "unknown search space 'nope'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("name, space", [("Sign", "nos"),
                                         ("TermMixEvolved", "termmix"), ("Opt10", "nos")])
def test_show_accepts_zoo_names_of_every_space(name, space):
    import subprocess
    import sys

    from test_runs import ROOT, _env
    done = subprocess.run([sys.executable, "-m", "deap_nos.cli", "show", name],
                          capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f'"space": "{space}"' in done.stdout


def test_show_ades_names_its_source():
    """ADES is the zoo's own Keras optimizer and an autolr genome: show describes it."""
    import subprocess
    import sys

    from test_runs import ROOT, _env
    done = subprocess.run([sys.executable, "-m", "deap_nos.cli", "show", "ADES"],
                          capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Adaptive AutoLR" in done.stdout


def _evaluators():
    from deap_nos.spaces.autolr.fitness import SurrogateShards, WorstOfK
    from deap_nos.spaces.termmix.convnet import ConvNetTermMixEvaluator
    return {"termmix": ConvNetTermMixEvaluator(tasks=("digits", "synthetic"),
                                               preset="quick", steps=40, seed=3),
            "autolr": WorstOfK(SurrogateShards("quick", steps=40, data="digits"), k=3,
                               min_accuracy=0.5, seed=3)}


@pytest.mark.parametrize("space", SPACES)
def test_verdict_reads_the_evaluator_settings_uniformly(tmp_path, monkeypatch, space):
    """Each space's evaluator records ``settings()`` as the nos evaluators do; the
    verdict retrains with its preset, data and steps, and nothing of its fitness."""
    pytest.importorskip("keras")
    from deap_nos import heldout, spaces
    settings = _evaluators()[space].settings()
    assert settings["fitness"]["space"] == space
    run = tmp_path / "run"
    run.mkdir()
    (run / "settings.json").write_text(json.dumps({"preset": "quick",
                                                   "evaluator": settings}))
    the = spaces.get(space)
    genome = the.parse(next(iter(the.zoo().values())))
    best = [{"fitness": 0.9, "genome": genome.to_dict()}]
    (run / "hall_of_fame.json").write_text(json.dumps({"best": best}))
    seen = {}

    class Result:
        def write(self, where):
            pass

        def report(self):
            return "## Verdict on the held-out test split\n"

    def fake_verdict(genomes, **kwargs):
        seen.update(kwargs, genomes=genomes)
        return Result()

    monkeypatch.setattr(heldout, "verdict", fake_verdict)
    heldout.verdict_for_run(str(run), seeds=2)
    assert seen["genomes"] == [genome]
    assert (seen["preset"], seen["data"], seen["steps"]) == ("quick", "digits", 40)
    assert not {"fitness", "repr", "tasks", "k"} & set(seen)


@pytest.mark.parametrize("space", SPACES)
def test_cheap_evaluator_settings_are_refused_by_the_verdict(tmp_path, space):
    from deap_nos import heldout
    from deap_nos.errors import NOSError
    from deap_nos.spaces.autolr.algorithm import make_evaluator, preset
    from deap_nos.spaces.termmix.fitness import CheapTermMixEvaluator
    evaluator = (CheapTermMixEvaluator("cheap") if space == "termmix"
                 else make_evaluator(preset("cheap")))
    settings = json.loads(json.dumps(evaluator.settings()))
    assert settings["preset"] == "cheap" and settings["fitness"]["space"] == space
    (tmp_path / "settings.json").write_text(json.dumps({"evaluator": settings}))
    with pytest.raises(NOSError, match="cheap"):
        heldout.verdict_for_run(str(tmp_path))
