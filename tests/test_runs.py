"""Stop, kill and resume a real ``deap-nos search`` process (issue 12, findings 1-5, 9).

Each test drives the command as a user would, in its own process group: a straight run
is the reference, and a run that was interrupted (SIGINT, SIGTERM) or killed (SIGKILL),
possibly with a torn log or a damaged checkpoint, must resume to the same evaluations,
line by line, and the same hall of fame.
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The command: the cheap preset's whole search (57 evaluations, ~15 s on 2 cores).
CHEAP = ["--preset", "cheap", "--seed", "3", "--workers", "2", "--no-verdict"]


def _command(run_dir, flags, resume=False):
    where = ["--resume", str(run_dir)] if resume else [*flags, "--run-dir", str(run_dir)]
    return [sys.executable, "-m", "deap_nos.cli", "search", *where]


def _env():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def _run(run_dir, flags, resume=False, timeout=600):
    return subprocess.run(_command(run_dir, flags, resume), capture_output=True, text=True,
                          env=_env(), timeout=timeout, cwd=ROOT)


def _start(run_dir, flags):
    return subprocess.Popen(_command(run_dir, flags), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(), cwd=ROOT,
                            start_new_session=True)


def _log_lines(run_dir):
    path = os.path.join(run_dir, "evaluations.log")
    if not os.path.exists(path):
        return 0
    with open(path, "rb") as stream:
        return stream.read().count(b"\n")


def _wait_for_lines(proc, run_dir, lines, timeout=300):
    """Block until the run has logged ``lines`` evaluations (or fail if it ended first)."""
    deadline = time.monotonic() + timeout
    while _log_lines(run_dir) < lines:
        assert proc.poll() is None, f"the run ended before {lines} evaluations"
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.05)


def _evaluations(run_dir):
    """The log without its timings: what must be equal between runs."""
    with open(os.path.join(run_dir, "evaluations.log"), encoding="utf-8") as stream:
        entries = [json.loads(line) for line in stream if line.strip()]
    for entry in entries:
        entry.pop("time", None)
    return entries


def _hall_of_fame(run_dir):
    with open(os.path.join(run_dir, "hall_of_fame.json"), encoding="utf-8") as stream:
        return json.load(stream)["best"]


def _assert_same_run(run_dir, straight_dir):
    got, want = _evaluations(run_dir), _evaluations(straight_dir)
    for number, (a, b) in enumerate(zip(got, want), 1):
        assert a == b, f"evaluation {number} differs:\n{a}\n{b}"
    assert len(got) == len(want)
    assert _hall_of_fame(run_dir) == _hall_of_fame(straight_dir)


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The reference: the cheap search run from start to end without interruption."""
    run_dir = tmp_path_factory.mktemp("straight") / "run"
    done = _run(run_dir, CHEAP)
    assert done.returncode == 0, done.stderr
    return run_dir


def _kill(proc, sig):
    os.killpg(proc.pid, sig)
    proc.wait(timeout=60)


@pytest.mark.slow
@pytest.mark.parametrize("after", [3, 20, 41])
def test_sigkill_and_resume_equals_straight(tmp_path, straight, after):
    """Finding 2: SIGKILL at any point, then ``--resume``: the same log, line by line."""
    run_dir = tmp_path / "run"
    proc = _start(run_dir, CHEAP)
    _wait_for_lines(proc, run_dir, after)
    _kill(proc, signal.SIGKILL)
    resumed = _run(run_dir, CHEAP, resume=True)
    assert resumed.returncode == 0, resumed.stderr
    _assert_same_run(run_dir, straight)


def _small(preset):
    """A short search on a TensorFlow preset: 4 + 2 x 2 x 2 evaluations of 60 steps."""
    return ["--preset", preset, "--seed", "1", "--particles", "2", "--steps", "2",
            "--mutations", "2", "--factor", "2", "--train-steps", "60", "--workers", "2",
            "--reevaluate", "1", "--no-verdict"]


@pytest.mark.slow
@pytest.mark.parametrize("preset, after, extra", [
    ("quick", 5, ()), ("default", 4, ()), ("default", 4, ("--slots", "3"))])
def test_sigkill_and_resume_on_the_tensorflow_presets(tmp_path, preset, after, extra):
    """Finding 2 for the ConvNet presets: the single path on quick; on default the
    population path as the CPU default runs it (one slot in each of 2 processes) and with
    3 slots (each map call's genomes shared among 2 processes, 3 side by side in each).
    A kill after the first evaluations, then --resume, equals straight."""
    flags = _small(preset) + list(extra)
    straight_dir = tmp_path / "straight"
    done = _run(straight_dir, flags)
    assert done.returncode == 0, done.stderr
    run_dir = tmp_path / "run"
    proc = _start(run_dir, flags)
    _wait_for_lines(proc, run_dir, after)
    _kill(proc, signal.SIGKILL)
    assert _log_lines(run_dir) < len(_evaluations(straight_dir)), "it ran to the end"
    resumed = _run(run_dir, flags, resume=True)
    assert resumed.returncode == 0, resumed.stderr
    _assert_same_run(run_dir, straight_dir)


@pytest.mark.parametrize("sig, status", [
    (signal.SIGINT, 130), pytest.param(signal.SIGTERM, 143, marks=pytest.mark.slow)])
def test_ctrl_c_stops_within_seconds_and_resumes(tmp_path, straight, sig, status):
    """Finding 1: a signal to the process group stops the run, says how to resume."""
    run_dir = tmp_path / "run"
    proc = _start(run_dir, CHEAP)
    _wait_for_lines(proc, run_dir, 6)
    sent = time.monotonic()
    os.killpg(proc.pid, sig)
    _, err = proc.communicate(timeout=60)
    assert time.monotonic() - sent < 15, "the run did not stop within seconds"
    assert proc.returncode == status, err
    assert f"--resume {run_dir}" in err
    assert _log_lines(run_dir) < len(_evaluations(straight)), "it ran to the end"
    resumed = _run(run_dir, CHEAP, resume=True)
    assert resumed.returncode == 0, resumed.stderr
    _assert_same_run(run_dir, straight)


def test_kill_torn_log_and_damaged_checkpoint_resume_equals_straight(tmp_path, straight):
    """Findings 3 and 4 (with 2): SIGKILL mid-step, the log's last line torn, the newest
    checkpoint truncated; the resume names the damage and ends as the straight run."""
    run_dir = tmp_path / "run"
    proc = _start(run_dir, CHEAP)
    _wait_for_lines(proc, run_dir, 30)
    _kill(proc, signal.SIGKILL)
    log = run_dir / "evaluations.log"
    log.write_bytes(log.read_bytes() + b'{"equation": "adam: div(m_h')
    checkpoint = run_dir / "checkpoint.pkl"
    assert (run_dir / "checkpoint.pkl.prev").exists()
    checkpoint.write_bytes(checkpoint.read_bytes()[:100])
    resumed = _run(run_dir, CHEAP, resume=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr
    assert "damaged" in resumed.stderr and "checkpoint.pkl" in resumed.stderr
    _assert_same_run(run_dir, straight)


def test_resume_refuses_conflicting_flags(tmp_path, straight):
    """Finding 5: ``--resume D --preset quick --seed 9`` names the flags it refuses."""
    command = _command(straight, CHEAP, resume=True) + ["--preset", "quick", "--seed", "9"]
    out = subprocess.run(command, capture_output=True, text=True, env=_env(), cwd=ROOT,
                         timeout=120)
    assert out.returncode == 2
    assert "--preset" in out.stderr and "--seed" in out.stderr
    assert "Traceback" not in out.stderr
    settings = json.loads((straight / "settings.json").read_text())
    assert settings["preset"] == "cheap" and settings["seed"] == 3


def test_run_folder_records_what_produced_it(straight):
    """Finding 9: versions, platform and device in settings.json and report.md."""
    from importlib import metadata

    import numpy

    from deap_nos.search.provenance import describe

    environment = json.loads((straight / "settings.json").read_text())["environment"]
    assert environment["numpy"] == numpy.__version__
    assert environment["deap"] == metadata.version("deap")
    for name in ("deap_nos", "tensorflow", "keras", "python", "platform", "device"):
        assert environment[name], name
    report = (straight / "report.md").read_text()
    assert f"Produced by {describe(environment)}." in report
    for label in ("deap-nos", "TensorFlow", "Keras", "numpy", "DEAP", "Python"):
        assert f"{label} " in describe(environment)


# ------------------------------------------------- issue 22: damage between runs
def _killed(tmp_path, after=30):
    """A cheap search SIGKILLed after *after* logged evaluations (mid algorithm)."""
    run_dir = tmp_path / "run"
    proc = _start(run_dir, CHEAP)
    _wait_for_lines(proc, run_dir, after)
    _kill(proc, signal.SIGKILL)
    return run_dir


def _resume_ok(run_dir):
    resumed = _run(run_dir, CHEAP, resume=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr
    return resumed.stderr


def test_nuls_in_the_log_keep_every_readable_record(tmp_path, straight):
    """The last 600 bytes of the log turned to NULs (a crash of the file system): the
    resume keeps every readable record, restores the lost ones, moves the unreadable
    bytes aside and says so; the report counts every evaluation."""
    run_dir = _killed(tmp_path)
    log = run_dir / "evaluations.log"
    data = log.read_bytes()
    log.write_bytes(data[:-600] + b"\0" * 600)
    err = _resume_ok(run_dir)
    _assert_same_run(run_dir, straight)
    aside = (run_dir / "evaluations.log.dropped").read_bytes()
    assert b"\0" * 600 in aside
    assert "kept" in err and "evaluations.log.dropped" in err
    count = len(_evaluations(straight))
    assert f"{count} evaluations" in (run_dir / "report.md").read_text()


def test_a_line_inserted_mid_log_loses_no_record(tmp_path, straight):
    """The log is re-read by records, not cut at a byte offset: a line inserted in the
    middle splits no record; it is moved aside with the bytes it did not belong to."""
    run_dir = _killed(tmp_path)
    log = run_dir / "evaluations.log"
    lines = log.read_bytes().split(b"\n")
    lines.insert(10, b'{"note": "written by hand"}')
    log.write_bytes(b"\n".join(lines))
    err = _resume_ok(run_dir)
    _assert_same_run(run_dir, straight)
    assert b"written by hand" in (run_dir / "evaluations.log.dropped").read_bytes()
    assert "evaluations.log.dropped" in err


def test_a_log_cut_to_nothing_is_rebuilt_from_the_cache(tmp_path, straight):
    run_dir = _killed(tmp_path)
    (run_dir / "evaluations.log").write_bytes(b"")
    err = _resume_ok(run_dir)
    _assert_same_run(run_dir, straight)
    assert "restored" in err and "cache" in err
    count = len(_evaluations(straight))
    assert f"{count} evaluations" in (run_dir / "report.md").read_text()


def test_a_missing_checkpoint_resumes_from_the_previous_one_and_says_so(tmp_path, straight):
    run_dir = _killed(tmp_path)
    assert (run_dir / "checkpoint.pkl.prev").exists()
    (run_dir / "checkpoint.pkl").unlink()
    err = _resume_ok(run_dir)
    assert "checkpoint.pkl.prev" in err and "missing" in err
    _assert_same_run(run_dir, straight)


def test_without_any_checkpoint_the_old_log_is_kept(tmp_path, straight):
    """Every pickle gone: the run starts over (the same seed: the same run), and the
    log of what ran before is moved aside, not discarded."""
    run_dir = _killed(tmp_path)
    old = (run_dir / "evaluations.log").read_bytes()
    for path in run_dir.iterdir():
        if ".pkl" in path.name:
            path.unlink()
    err = _resume_ok(run_dir)
    assert old in (run_dir / "evaluations.log.dropped").read_bytes()
    assert "evaluations.log.dropped" in err
    _assert_same_run(run_dir, straight)


def test_a_lost_initial_phase_checkpoint_resumes_the_algorithm(tmp_path, straight):
    """initial.pkl and its .prev gone, the algorithm's checkpoint there: it holds the
    particles, so the run resumes from it (and says so), ending as the straight run."""
    run_dir = _killed(tmp_path)
    assert (run_dir / "checkpoint.pkl").exists()
    for path in run_dir.glob("initial.pkl*"):
        path.unlink()
    err = _resume_ok(run_dir)
    assert "initial.pkl" in err
    _assert_same_run(run_dir, straight)
    from test_progress import _check_one_bar
    _check_one_bar(err, run_dir)
