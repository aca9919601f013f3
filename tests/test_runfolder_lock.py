"""A run folder has one writer, and a search's workers do not outlive it (issue 22).

Real ``deap-nos search`` processes on the cheap preset: a second search, or a resume,
started in a folder whose run is still going is refused at once with the owner's PID;
the lock of a run that was killed is taken over with a message; the worker processes
of a search end within seconds when the search itself is SIGKILLed.
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from test_runs import CHEAP, ROOT, _command, _env, _wait_for_lines

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads /proc to find the worker processes")

# ~150 evaluations: long enough (10-20 s on 2 cores) for a second command to meet it
LONG = ["--preset", "cheap", "--seed", "3", "--workers", "2", "--no-verdict",
        "--steps", "10", "--reevaluate", "1"]


def _start(run_dir, flags=LONG, resume=False):
    return subprocess.Popen(_command(run_dir, flags, resume), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(), cwd=ROOT,
                            start_new_session=True)


def _run(run_dir, flags=LONG, resume=False, timeout=300):
    return subprocess.run(_command(run_dir, flags, resume), capture_output=True, text=True,
                          env=_env(), cwd=ROOT, timeout=timeout)


def _stop(proc):
    """Kill what is left of a started search (its whole process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate(timeout=60)


def _alive(pid):
    """A process that exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stream:
            state = stream.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def _children(pid):
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as stream:
                    fields = stream.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(name))
    return found


def _records(run_dir):
    with open(os.path.join(run_dir, "evaluations.log"), encoding="utf-8") as stream:
        return [json.loads(line) for line in stream if line.strip()]


def test_a_second_writer_is_refused_with_the_owners_pid(tmp_path):
    """A second search and a resume, started while the first search runs, exit 2 at
    once naming its PID; the first one's log holds each evaluation once."""
    run_dir = tmp_path / "run"
    first = _start(run_dir)
    try:
        _wait_for_lines(first, run_dir, 3)
        started = time.monotonic()
        others = [subprocess.Popen(_command(run_dir, LONG, resume), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=_env(), cwd=ROOT)
                  for resume in (False, True)]
        for other in others:
            _, err = other.communicate(timeout=120)
            assert other.returncode == 2, err
            assert f"PID {first.pid}" in err and "Traceback" not in err, err
        assert time.monotonic() - started < 60, "refused, but not at once"
        assert first.poll() is None, "the first run ended before the check"
    finally:
        _stop(first)
    records = _records(run_dir)
    keys = [(r["phase"], r["key"]) for r in records]
    assert len(keys) == len(set(keys)), "an evaluation was logged twice"
    settings = json.loads((run_dir / "settings.json").read_text())
    assert not settings.get("resumes"), "the refused resume wrote to the run folder"


def test_the_lock_of_a_killed_run_is_taken_over_with_a_message(tmp_path):
    run_dir = tmp_path / "run"
    first = _start(run_dir, CHEAP)
    try:
        _wait_for_lines(first, run_dir, 3)
        os.killpg(first.pid, signal.SIGKILL)
        first.communicate(timeout=60)
    finally:
        _stop(first)
    resumed = _run(run_dir, CHEAP, resume=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"PID {first.pid}" in resumed.stderr and "no longer running" in resumed.stderr
    assert not (run_dir / "run.lock").exists(), "the lock outlived its run"


def test_workers_end_within_seconds_of_their_parents_sigkill(tmp_path):
    run_dir = tmp_path / "run"
    proc = _start(run_dir, CHEAP)
    workers = []
    try:
        _wait_for_lines(proc, run_dir, 3)
        workers = [pid for pid in _children(proc.pid) if _alive(pid)]
        assert len(workers) >= 2, workers
        os.kill(proc.pid, signal.SIGKILL)        # the parent alone, not its group
        proc.wait(timeout=60)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in workers if _alive(pid)], "workers outlived the parent"
    finally:
        for pid in workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _stop(proc)
