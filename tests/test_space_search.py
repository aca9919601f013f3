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
