"""Checkpoint files, RNG states, and kill/resume equivalence (with a real SIGKILL)."""
import os
import pickle
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy
import pytest
from deap import tools

from deap_nos import checkpoint as ckpt
from deap_nos.search.algorithms import eaParticle, eaRegularized
from deap_nos.search.runlog import read_log
from test_algorithms import make_stats, make_toolbox, seeded_population, toy_evaluate

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_save_load_atomic(tmp_path):
    path = tmp_path / "c.pkl"
    ckpt.save(path, {"a": 1})
    ckpt.save(path, {"a": 2})
    assert ckpt.load(path) == {"a": 2}
    assert os.listdir(tmp_path) == ["c.pkl"]          # no temporary file left


def test_run_paths(tmp_path):
    file, folder = ckpt.run_paths(tmp_path / "run")
    assert folder == str(tmp_path / "run") and file.endswith("checkpoint.pkl")
    assert os.path.isdir(folder)
    file, folder = ckpt.run_paths(tmp_path / "x" / "state.pkl")
    assert folder is None and file.endswith("state.pkl")


def test_load_errors(tmp_path):
    with pytest.raises(ckpt.CheckpointError, match="no checkpoint"):
        ckpt.load(tmp_path / "nope.pkl")
    (tmp_path / "bad.pkl").write_bytes(b"\x80\x04garbage")
    with pytest.raises(ckpt.CheckpointError):
        ckpt.load(tmp_path / "bad.pkl")


def test_rng_state_roundtrip():
    state = ckpt.get_rng_state()
    a = (random.random(), numpy.random.rand())
    ckpt.set_rng_state(state)
    assert (random.random(), numpy.random.rand()) == a
    if "tensorflow" not in sys.modules:
        assert state["tensorflow"] is None


def test_import_is_light():
    code = ("import sys, deap_nos.search.algorithms, deap_nos.search.checkpoint, "
            "deap_nos.search.parallel; "
            "print('tensorflow' in sys.modules, 'distributed' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    assert out.split() == ["False", "False"]


# ------------------------------------------------------ in-process interrupt/resume
class Interrupt(Exception):
    pass


class Bomb:
    """toy_evaluate that raises after `after` calls (an interrupted run)."""

    def __init__(self, after):
        self.after, self.calls = after, 0

    def __call__(self, ind):
        self.calls += 1
        if self.calls > self.after:
            raise Interrupt()
        return toy_evaluate(ind)


def run_algorithm(name, toolbox, **kwargs):
    hof = tools.HallOfFame(5)
    pop = seeded_population(11, n=4)
    if name == "particle":
        pop, log = eaParticle(pop, toolbox, nsteps=3, nmut=4, stats=make_stats(),
                              halloffame=hof, verbose=False, **kwargs)
    else:
        pop, log = eaRegularized(pop, toolbox, cycles=30, sample_size=2, batch_size=5,
                                 stats=make_stats(), halloffame=hof, verbose=False,
                                 **kwargs)
    return str(log), [(list(i), i.fitness.values) for i in hof], [list(i) for i in pop]


@pytest.mark.parametrize("name", ["particle", "regularized"])
@pytest.mark.parametrize("after", [3, 17, 26])
def test_interrupt_and_resume_equals_straight(tmp_path, name, after):
    straight = run_algorithm(name, make_toolbox())
    bomb = Bomb(after)
    with pytest.raises(Interrupt):
        run_algorithm(name, make_toolbox(evaluate=bomb), checkpoint=tmp_path / "r",
                      checkpoint_every=2)
    random.seed(12345)        # resume must restore the RNG states itself
    resumed = run_algorithm(name, make_toolbox(), resume=tmp_path / "r",
                            checkpoint_every=2)
    assert resumed == straight
    log = read_log(tmp_path / "r" / "evaluations.log")
    assert len(log) == len({e["key"] for e in log})  # each evaluation logged once


def test_resume_finished_run_returns_it(tmp_path):
    first = run_algorithm("particle", make_toolbox(), checkpoint=tmp_path / "r")
    calls = []
    again = run_algorithm("particle", make_toolbox(evaluate=calls.append),
                          resume=tmp_path / "r")
    assert again == first and calls == []


# ------------------------------------------------------------- real SIGKILL resume
# The toy operators both kill-and-resume scripts use: a mutation drawing from the global
# generators, and a deterministic evaluator that records every call in a marker file.
TOY_OPERATORS = textwrap.dedent("""
    def mutate(ind):
        i = random.randrange(len(ind))
        ind[i] = int(numpy.random.randint(10))
        return (ind,)

    def evaluate(ind):
        with open(marker, "a") as f:
            f.write(genome_key(ind) + "\\n")
        time.sleep(0.01)
        total = sum(ind)
        if total % 7 == 0:
            return Evaluation.failure("degenerate", "integrity")
        return (sum(v * (i + 1) for i, v in enumerate(ind)) % 97 / 97.0,)
""").strip()

SCRIPT = textwrap.dedent("""
    import pickle, random, sys, time
    import numpy
    from deap import base, creator, tools
    sys.path.insert(0, {repo!r})
    from deap_nos.search.algorithms import eaParticle, genome_key
    from deap_nos.evaluation import Evaluation

    creator.create("F", base.Fitness, weights=(1.0,))
    creator.create("I", list, fitness=creator.F)
    mode, marker, out = sys.argv[1], sys.argv[2], sys.argv[3]

    {toy}

    tb = base.Toolbox()
    tb.register("mutate", mutate)
    tb.register("evaluate", evaluate)
    random.seed(4)
    numpy.random.seed(4)
    pop = [creator.I(random.randrange(10) for _ in range(8)) for _ in range(5)]
    hof = tools.HallOfFame(6)
    stats = tools.Statistics(lambda ind: ind.fitness.values[0])
    stats.register("max", max)
    kw = dict(checkpoint=sys.argv[4], checkpoint_every=3) if mode != "straight" else {{}}
    if mode == "resume":
        kw["resume"] = sys.argv[4]
    pop, log = eaParticle(pop, tb, nsteps=4, nmut=5, stats=stats, halloffame=hof,
                          verbose=False, **kw)
    with open(out, "wb") as f:
        pickle.dump((str(log), [(list(i), i.fitness.values) for i in hof],
                     [list(i) for i in pop]), f)
""")


def _lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as stream:
        return stream.read().splitlines()


def test_sigkill_mid_step_and_resume(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT.format(repo=REPO, toy=TOY_OPERATORS))
    run = tmp_path / "run"

    def launch(mode, marker, out, wait=True):
        args = [sys.executable, str(script), mode, str(tmp_path / marker),
                str(tmp_path / out), str(run)]
        if wait:
            return subprocess.run(args, check=True, timeout=120)
        return subprocess.Popen(args)

    launch("straight", "straight.txt", "straight.pkl")
    straight_keys = _lines(tmp_path / "straight.txt")
    total = len(straight_keys)
    assert total == len(set(straight_keys)) > 60

    proc = launch("killed", "killed.txt", "killed.pkl", wait=False)
    deadline = time.time() + 60
    while len(_lines(tmp_path / "killed.txt")) < 40 and time.time() < deadline:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "killed.pkl").exists()      # it did not finish
    state = ckpt.load(run / "checkpoint.pkl")
    cached = set(ckpt.read_cache(run, state["cache_offset"]))
    killed_keys = _lines(tmp_path / "killed.txt")
    assert 0 < len(cached) < total and cached <= set(killed_keys)
    snapshot = pickle.loads(state["snapshot"])
    assert snapshot["step"] >= 1                         # killed inside a step

    launch("resume", "resumed.txt", "resumed.pkl")
    resumed_keys = _lines(tmp_path / "resumed.txt")
    with open(tmp_path / "straight.pkl", "rb") as f:
        expected = pickle.load(f)
    with open(tmp_path / "resumed.pkl", "rb") as f:
        got = pickle.load(f)
    assert got == expected                             # hall of fame, logbook, particles
    # nothing lost, nothing repeated: the resumed run evaluated exactly what the
    # checkpointed cache lacked
    assert len(resumed_keys) == total - len(cached)
    assert set(resumed_keys) | cached == set(straight_keys)
    assert not set(resumed_keys) & cached
    log = read_log(run / "evaluations.log")
    assert sorted(e["key"] for e in log) == sorted(straight_keys)


# ------------------------------------- real SIGKILL of a two-phase search script
TWO_PHASE = textwrap.dedent("""
    import pickle, random, sys, time
    import numpy
    from deap import base, creator, tools
    sys.path.insert(0, {repo!r})
    from deap_nos.search.algorithms import eaParticle, genome_key, initial_population
    from deap_nos.evaluation import Evaluation

    creator.create("F", base.Fitness, weights=(1.0,))
    creator.create("I", list, fitness=creator.F)
    mode, marker, out, run = sys.argv[1:5]

    def individual():
        return creator.I(random.randrange(10) for _ in range(8))

    {toy}

    tb = base.Toolbox()
    tb.register("individual", individual)
    tb.register("mutate", mutate)
    tb.register("evaluate", evaluate)
    kw = {{}} if mode == "straight" else {{"checkpoint": run}}
    if mode == "resume":
        kw = {{"resume": run}}
    pop = initial_population(tb, 5, factor=8, seed=4, checkpoint_every=4, **kw)
    hof = tools.HallOfFame(6)
    stats = tools.Statistics(lambda ind: ind.fitness.values[0])
    stats.register("max", max)
    pop, log = eaParticle(pop, tb, nsteps=3, nmut=4, stats=stats, halloffame=hof,
                          verbose=False, checkpoint_every=3, **kw)
    with open(out, "wb") as f:
        pickle.dump((str(log), [(list(i), i.fitness.values) for i in hof],
                     [list(i) for i in pop], random.random()), f)
""")


def _launch(tmp, mode, wait=True):
    script = tmp / "run.py"
    if not script.exists():
        script.write_text(TWO_PHASE.format(repo=REPO, toy=TOY_OPERATORS))
    args = [sys.executable, str(script), mode, str(tmp / f"{mode}.txt"),
            str(tmp / f"{mode}.pkl"), str(tmp / "run")]
    if wait:
        return subprocess.run(args, check=True, timeout=120)
    return subprocess.Popen(args)


@pytest.fixture(scope="module")
def two_phase_straight(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("straight")
    _launch(tmp, "straight")
    keys = _lines(tmp / "straight.txt")
    assert len(keys) == len(set(keys)) > 60
    with open(tmp / "straight.pkl", "rb") as f:
        return keys, pickle.load(f)


@pytest.mark.parametrize("kill_after", [0, 17, 55])
def test_sigkill_two_phase_and_resume(tmp_path, kill_after, two_phase_straight):
    """Killed before, inside the initial phase or inside eaParticle; the same script
    rerun with resume= on both calls ends like a straight run, re-evaluating only
    what no checkpoint had committed."""
    straight_keys, expected = two_phase_straight
    run = tmp_path / "run"

    def launch(mode, wait=True):
        return _launch(tmp_path, mode, wait)

    proc = launch("killed", wait=False)
    deadline = time.time() + 60
    while len(_lines(tmp_path / "killed.txt")) < kill_after and time.time() < deadline:
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "killed.pkl").exists()
    if (run / "checkpoint.pkl").exists():
        state = ckpt.load(run / "checkpoint.pkl")
    elif (run / "initial.pkl").exists():
        state = ckpt.load(run / "initial.pkl")
    else:
        state = {"cache_offset": 0}            # killed before the first checkpoint
    cached = set(ckpt.read_cache(run, state["cache_offset"]))
    assert cached <= set(_lines(tmp_path / "killed.txt"))
    if kill_after == 17:
        assert state["algorithm"] == "initial_population" and not state["finished"]
        assert 0 < len(cached) < 40
    if kill_after == 55:
        assert state["algorithm"] == "eaParticle" and len(cached) >= 40

    launch("resume")
    with open(tmp_path / "resume.pkl", "rb") as f:
        assert pickle.load(f) == expected     # logbook, hof, particles, RNG after
    resumed_keys = _lines(tmp_path / "resume.txt")
    assert len(resumed_keys) == len(straight_keys) - len(cached)
    assert set(resumed_keys) | cached == set(straight_keys)
    log = read_log(run / "evaluations.log")
    assert sorted(e["key"] for e in log) == sorted(straight_keys)


def test_restore_log_reads_records_not_byte_offsets(tmp_path):
    """Issue 22: the committed records are kept wherever they sit in the file, lost
    ones restored, everything else moved to evaluations.log.dropped (none of it lost)."""
    import json
    import warnings

    from deap_nos.search.runlog import restore_log
    records = [{"n": i, "key": f"k{i}", "fitness": [0.5 + i / 10]} for i in range(1, 5)]
    line = [(json.dumps(r, sort_keys=True) + "\n").encode() for r in records]
    inserted, uncommitted = b'{"note": "by hand"}\n', b'{"n": 5, "key": "k5"}\n'
    path = tmp_path / "evaluations.log"
    path.write_bytes(line[0] + inserted + line[1] + b"\0" * 50 + b"\n" + line[3]
                     + uncommitted + b'{"n": 6, "ke')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = restore_log(path, records)
    assert result == (3, 1, 2, 51 + 12)
    assert path.read_bytes() == b"".join(line)
    dropped = (tmp_path / "evaluations.log.dropped").read_bytes()
    assert dropped == inserted + b"\0" * 50 + b"\n" + uncommitted + b'{"n": 6, "ke'
    assert "kept 3 of its 4" in str(caught[0].message)
    assert "restored 1" in str(caught[0].message)
    assert restore_log(path, records) == (4, 0, 0, 0)     # a clean log: untouched


def test_cache_records_rebuild_the_log_and_old_caches_fall_back(tmp_path):
    ckpt.CacheFile(tmp_path / "a.pkl").append(
        [("evaluate", "k1", (0.5,)), (ckpt.LOG_NAMESPACE, "k1", {"n": 1})])
    assert ckpt.read_log_records(tmp_path / "a.pkl") == [{"n": 1}]
    assert ckpt.read_cache(tmp_path / "a.pkl") == {"k1": (0.5,)}
    assert ckpt.read_cache(tmp_path / "a.pkl", namespace=None) == {("evaluate", "k1"): (0.5,)}
    ckpt.CacheFile(tmp_path / "b.pkl").append([("evaluate", "k1", (0.5,))])
    assert ckpt.read_log_records(tmp_path / "b.pkl") is None     # written before
