"""ProcessMap (process pool surviving dead workers) and dask_map."""
import os
import signal

import pytest
from deap import tools

from deap_nos.search.algorithms import eaParticle, eaRegularized
from deap_nos.evaluation import Evaluation
from deap_nos.search.parallel import ProcessMap, WorkerLostError, dask_map, worker_index
from test_algorithms import make_stats, make_toolbox, seeded_population, toy_evaluate


@pytest.fixture(scope="module")
def pmap():
    with ProcessMap(2, gpus=None) as mapper:
        yield mapper


def square(x):
    return x * x


def test_order_lambdas_closures(pmap):
    assert pmap(square, range(10)) == [x * x for x in range(10)]
    offset = 3
    assert pmap(lambda x, y: x + y + offset, [1, 2], [10, 20]) == [14, 25]
    assert pmap(square, []) == []


def wait_for_last(args):
    """Item 0 waits (up to 30 s) for the last item to have run; says whether it did."""
    import time
    index, last, flag = args
    if index == last:
        open(flag, "w").close()
    if index:
        return index
    deadline = time.monotonic() + 30
    while not os.path.exists(flag) and time.monotonic() < deadline:
        time.sleep(0.02)
    return os.path.exists(flag)


def test_imap_never_leaves_a_worker_waiting(pmap, tmp_path):
    """All items are queued at once: while item 0 runs, the other worker goes through
    the rest — the last included, which item 0 waits for — and results come in order,
    item 0's first (a map called on chunks of two would hold item 7 back until item
    0 timed out)."""
    flag = str(tmp_path / "last ran")
    stream = pmap.imap(wait_for_last, [(i, 7, flag) for i in range(8)])
    assert next(stream) is True
    assert list(stream) == list(range(1, 8))


def test_closing_a_stream_early_stops_its_workers(tmp_path):
    with ProcessMap(2, gpus=None) as mapper:
        stream = mapper.imap(square, range(50))
        assert next(stream) == 0
        stream.close()
        assert mapper._executor is None                 # terminated, rebuilt on demand
        assert mapper(square, [3]) == [9]


def test_closing_a_stream_after_its_last_result_keeps_the_workers(pmap):
    """A consumer that stops at the last result (zip with a shorter iterable) and then
    closes the stream leaves the pool running for the next call."""
    stream = pmap.imap(square, range(3))
    assert [r for _, r in zip(range(3), stream)] == [0, 1, 4]
    executor = pmap._executor
    stream.close()
    assert pmap._executor is executor is not None


def test_a_worker_death_mid_stream_is_retried(tmp_path):
    with ProcessMap(2, gpus=None) as mapper:
        flag = str(tmp_path / "died")
        assert list(mapper.imap(die_once, [(x, flag) for x in range(8)])) == [
            x * 10 for x in range(8)]
        assert os.path.exists(flag)


def run(name, mapper, checkpoint_every=None):
    hof = tools.HallOfFame(4)
    pop = seeded_population(21, n=4)
    toolbox = make_toolbox(mapper)
    if name == "particle":
        _, log = eaParticle(pop, toolbox, nsteps=3, nmut=3, stats=make_stats(),
                            halloffame=hof, verbose=False, checkpoint_every=checkpoint_every)
    else:
        _, log = eaRegularized(pop, toolbox, 20, 2, batch_size=4, stats=make_stats(),
                               halloffame=hof, verbose=False)
    return str(log), [(list(i), i.fitness.values) for i in hof]


def random_evaluate(ind):
    """An evaluator that consumes the (worker's or parent's) global RNG."""
    import random
    random.random()
    return toy_evaluate(ind)


@pytest.mark.parametrize("name", ["particle", "regularized"])
def test_same_seed_serial_or_pool(pmap, name):
    assert run(name, map) == run(name, pmap)


def test_streamed_in_chunks_same_run(pmap):
    """checkpoint_every=2: the pool streams each step, committed two at a time."""
    assert run("particle", map, 2) == run("particle", pmap, 2) == run("particle", map)


def test_evaluator_rng_use_does_not_change_run(pmap):
    def with_rng(mapper):
        toolbox = make_toolbox(mapper, evaluate=random_evaluate)
        _, log = eaParticle(seeded_population(3), toolbox, 2, 3, verbose=False)
        return str(log)
    assert with_rng(map) == with_rng(pmap)


def die_once(args):
    """SIGKILL its own worker the first time it sees x == 3."""
    x, flag = args
    if x == 3 and not os.path.exists(flag):
        open(flag, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    return x * 10


def always_die(x):
    if x == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return x


def test_worker_death_is_retried(tmp_path):
    with ProcessMap(2, gpus=None) as mapper:
        flag = str(tmp_path / "died")
        assert mapper(die_once, [(x, flag) for x in range(6)]) == [
            x * 10 for x in range(6)]
        assert os.path.exists(flag)
        assert mapper(square, range(4)) == [0, 1, 4, 9]     # pool rebuilt


def test_worker_death_bounded(tmp_path):
    with ProcessMap(2, retries=1, gpus=None) as mapper:
        out = mapper(always_die, range(4))
        assert out[:2] == [0, 1] and out[3] == 3
        assert isinstance(out[2], Evaluation) and out[2].failed
        assert out[2].info["stage"] == "crash"
    with ProcessMap(2, retries=0, on_lost="raise", gpus=None) as mapper:
        with pytest.raises(WorkerLostError):
            mapper(always_die, range(3))


def gpu_env(_):
    import time
    time.sleep(0.1)
    return worker_index(), os.environ.get("CUDA_VISIBLE_DEVICES")


def test_one_gpu_per_worker():
    with ProcessMap(2, gpus=["0", "1"]) as mapper:
        seen = set(mapper(gpu_env, range(6)))
    assert seen == {(0, "0"), (1, "1")}


def set_env(name, value):
    os.environ[name] = value


def get_env(name):
    return os.environ.get(name)


def test_initializer():
    with ProcessMap(1, gpus=None, initializer=set_env,
                    initargs=("DEAP_NOS_TEST", "yes")) as mapper:
        assert mapper(get_env, ["DEAP_NOS_TEST"]) == ["yes"]


def test_workers_share_the_cores(monkeypatch):
    """Two workers on 4 cores get 2 TensorFlow threads each; GPU workers keep
    TensorFlow's choice; ``threads=None`` leaves the environment alone."""
    from deap_nos import parallel

    monkeypatch.setattr(parallel, "usable_cpus", lambda: 4)
    with ProcessMap(2, gpus=None) as mapper:
        assert mapper.threads == 2
        assert set(mapper(get_env, ["TF_NUM_INTRAOP_THREADS"] * 4)) == {"2"}
        assert set(mapper(get_env, ["TF_NUM_INTEROP_THREADS"] * 4)) == {"2"}
    assert ProcessMap(8, gpus=None).threads == 1
    assert ProcessMap(2, gpus=["0"]).threads is None
    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
    with ProcessMap(1, gpus=None, threads=None) as mapper:
        assert mapper(get_env, ["TF_NUM_INTRAOP_THREADS"]) == [None]


def test_default_workers_one_per_core_as_memory_allows(monkeypatch, tmp_path):
    """A search's default: one worker per GPU, else one per usable core, fewer where the
    available memory would not hold WORKER_MEMORY each, never none; MemAvailable is
    read from meminfo."""
    from deap_nos import parallel

    gib = 1 << 30
    monkeypatch.setattr(parallel, "detect_gpus", lambda: [])
    monkeypatch.setattr(parallel, "usable_cpus", lambda: 8)
    monkeypatch.setattr(parallel, "available_memory", lambda: 64 * gib)
    assert parallel.default_workers() == 8
    monkeypatch.setattr(parallel, "available_memory", lambda: 7 * gib)
    assert parallel.default_workers() == 4                  # 7 GiB // 1.5 GiB
    assert parallel.default_workers(memory_per_worker=gib) == 7
    monkeypatch.setattr(parallel, "available_memory", lambda: gib // 2)
    assert parallel.default_workers() == 1
    monkeypatch.setattr(parallel, "available_memory", lambda: None)   # unreadable
    assert parallel.default_workers() == 8
    monkeypatch.setattr(parallel, "detect_gpus", lambda: ["0", "1", "2"])
    assert parallel.default_workers() == 3                  # one per GPU
    monkeypatch.undo()
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24000000 kB\nMemAvailable:    3145728 kB\n")
    real_open = open
    monkeypatch.setattr("builtins.open", lambda path, *a, **k: real_open(
        meminfo if path == "/proc/meminfo" else path, *a, **k))
    assert parallel.available_memory() == 3 * gib


def tensorflow_sum(n):
    import tensorflow as tf
    return float(tf.reduce_sum(tf.range(n, dtype=tf.float32)))


def test_pool_spawns_when_tensorflow_runs_here():
    """A child forked from a running TensorFlow hangs at its first operation: the pool
    spawns its workers instead once this process has run one."""
    tf = pytest.importorskip("tensorflow")
    from deap_nos.search.parallel import tensorflow_running

    float(tf.reduce_sum(tf.ones(3)))
    assert tensorflow_running()
    mapper = ProcessMap(1, gpus=None)
    try:
        assert mapper(tensorflow_sum, [4, 5]) == [6.0, 10.0]
        assert mapper._executor._mp_context.get_start_method() == "spawn"
    finally:
        mapper.terminate()


def test_dask_map_same_run():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        mapper = dask_map(client, gpus=None)
        assert mapper.workers == 2
        assert mapper(square, range(5)) == [0, 1, 4, 9, 16]
        assert run("particle", mapper) == run("particle", map)


def test_close_map_looks_through_the_toolbox_partial():
    """toolbox.register wraps the pool in functools.partial (no .close); close_map
    reaches it, its workers exit and a later call starts new ones."""
    from deap import base

    from deap_nos.search.parallel import close_map

    pool = ProcessMap(workers=2)
    toolbox = base.Toolbox()
    toolbox.register("map", pool)
    assert not hasattr(toolbox.map, "close")
    assert list(toolbox.map(abs, [-1, -2])) == [1, 2]
    processes = list(pool._executor._processes.values())
    close_map(toolbox.map)
    assert pool._executor is None and not any(p.is_alive() for p in processes)
    assert list(toolbox.map(abs, [-3])) == [3]
    close_map(toolbox.map, now=True)
    assert pool._executor is None
    close_map(map)                      # any other map: nothing to do


def test_spawned_workers_read_the_toolbox_individuals():
    """make_toolbox's pool makes creator.GraphIndividual in every worker, so a spawned
    worker (TensorFlow already running here) can unpickle the individuals it is sent."""
    import deap_nos as nos

    space = nos.SearchSpace.default()
    toolbox = nos.make_toolbox(space, len, workers=2)
    pool = toolbox.map.func
    pool.start_method = "spawn"
    try:
        individuals = [toolbox.individual() for _ in range(3)]
        assert toolbox.map(type_name, individuals) == ["GraphIndividual"] * 3
    finally:
        pool.terminate()


def type_name(item):
    return type(item).__name__


# --------------------------------------------- issue 22: a worker that hangs
def hang_on_two(x):
    if x == 2:
        import time
        time.sleep(3600)        # hangs, does not die
    return x * x


def test_a_hanging_item_fails_at_the_time_limit_and_the_map_goes_on():
    """The item fails with its reason once it has run past the limit; its worker is
    replaced; the other items' results are kept, in order, in both maps."""
    import time
    mapper = ProcessMap(2, timeout=2)
    try:
        started = time.monotonic()
        out = mapper(hang_on_two, range(6))
        assert time.monotonic() - started < 30
        assert [out[i] for i in (0, 1, 3, 4, 5)] == [0, 1, 9, 16, 25]
        assert out[2].info["failed"] and out[2].info["stage"] == "timeout"
        assert "time limit of 2 s" in out[2].info["reason"]
        streamed = list(mapper.imap(hang_on_two, [3, 2, 4]))
        assert streamed[0] == 9 and streamed[2] == 16 and streamed[1].info["failed"]
        assert mapper(square, range(4)) == [0, 1, 4, 9]
    finally:
        mapper.terminate()


def test_the_time_limit_counts_from_the_start_of_an_item_not_its_queueing():
    """Six 1.2 s items on one worker take 7 s in all: none is over a 2 s limit."""
    mapper = ProcessMap(1, timeout=2)
    try:
        assert mapper(sleep_then_square, [1.2] * 6) == [1.44] * 6
    finally:
        mapper.terminate()


def sleep_then_square(x):
    import time
    time.sleep(x)
    return x * x


def hang_on_twelve(ind):
    """toy_evaluate, except that genomes whose sum is 12 mod 17 hang (one here)."""
    if sum(ind) % 17 == 12:
        import time
        time.sleep(3600)
    return toy_evaluate(ind)


def test_a_search_with_a_hanging_genome_goes_on_and_logs_why(tmp_path):
    """eaParticle over a pool with a time limit: the hanging genomes fail with the
    reason in the log, every other result is the serial run's."""
    import json
    mapper = ProcessMap(2, gpus=None, timeout=1.5)
    try:
        toolbox = make_toolbox(mapper, evaluate=hang_on_twelve)
        eaParticle(seeded_population(21, n=4), toolbox, nsteps=2, nmut=3,
                   verbose=False, checkpoint=tmp_path / "run")
    finally:
        mapper.terminate()
    with open(tmp_path / "run" / "evaluations.log") as stream:
        records = [json.loads(line) for line in stream]
    hung = [r for r in records if r["stage"] == "timeout"]
    assert hung and all("time limit" in r["reason"] and r["failed"] for r in hung)
    assert len(hung) < len(records)


# --------------------------------------------- issue 22: Dask, a task that kills
@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    import dask
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client


def _dies_on_three():
    def evaluate(x):
        if x == 3:
            os._exit(1)          # the worker process dies: Dask raises KilledWorker
        return x * x
    return evaluate


@pytest.mark.parametrize("stream", [False, True])
def test_dask_item_that_kills_its_worker_fails_alone(dask_client, stream):
    mapper = dask_map(dask_client, retries=0, gpus=None)
    items = range(8)
    out = list(mapper.imap(_dies_on_three(), items)) if stream \
        else mapper(_dies_on_three(), items)
    assert [out[i] for i in items if i != 3] == [i * i for i in items if i != 3]
    assert out[3].info["failed"] and out[3].info["stage"] == "crash"
    assert "KilledWorker" in out[3].info["reason"]


def test_dask_map_takes_iterators(dask_client):
    mapper = dask_map(dask_client, gpus=None)
    assert mapper(square, iter(range(4))) == [0, 1, 4, 9]
    assert mapper(square, []) == []
