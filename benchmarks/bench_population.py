"""Evaluations per second: PopulationEvaluator (K slots) against SurrogateEvaluator.

Same preset, same fidelity, same genomes (random genomes of the default space, as a
search draws them: some are rejected in the sweep, some train to the end), side by side
in one run. For each K it reports evaluations/s after the one-off compile, the compile
time, the ratio to the single path, and the achieved FLOP/s of the training step
(useful run-steps × the ConvNet's forward+backward FLOPs ÷ seconds in the compiled
loop) against this machine's measured peak for the same operation (float32 matrix
products in XLA; the convolutions are patch × kernel products).

Usage::

    python benchmarks/bench_population.py [--preset default] [--genomes N]
        [--single 6] [--slots 1 4 16 64] [--steps 600 --sweep-steps 40]
        [--processes 2] [--random-data] [--streaming]

On a GPU without the CIFAR-10 files (the issue's timing of the ``paper`` preset)::

    python benchmarks/bench_population.py --preset paper --random-data --single 2 \
        --genomes 64 --slots 16 64 256

Backends side by side (``--backend jax tensorflow``: every K on each, ratios printed);
``--throughput N`` times N steps of every slot training AdamSpace instead of whole
evaluations and reports seconds per fully trained candidate (the preset's sweep and
training steps ÷ run-steps per second), the stand-alone anchor's measure; ``--single 0``
skips the single path (a machine without TensorFlow)::

    python benchmarks/bench_population.py --preset paper --random-data --backend jax \
        --single 0 --throughput 50 --slots 16 64 256
"""
import argparse
import importlib.util
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def genomes(n, seed=0):
    """``n`` random valid genomes (integrity-checked), reproducible."""
    import deap_nos as nos

    random.seed(seed)
    space = nos.SearchSpace.default()
    return [nos.initGraph(nos.OptimizerGraph, space) for _ in range(n)]


def zoo_genomes(n):
    """``n`` genomes cycled from the zoo: nearly all train to the end (the worst case)."""
    import deap_nos as nos
    from deap_nos.errors import NOSError

    pool = []
    for name in nos.zoo.names():
        try:
            pool.append(nos.zoo.genome(name))
        except NOSError:       # ADES is not a genome of the space
            pass
    return [pool[i % len(pool)] for i in range(n)]


def random_cifar(folder, per_file=10000, seed=0):
    """Write CIFAR-10-shaped data in the CIFAR-10 file format under *folder* and return
    its directory: random images whose labels are a random linear function of the
    pixels (learnable, so genomes train to the end as on real data). Timing only."""
    import pickle

    import numpy as np

    rng = np.random.default_rng(seed)
    projection = rng.normal(size=(3072, 10)).astype(np.float32)
    directory = os.path.join(folder, "cifar-10-batches-py")
    os.makedirs(directory, exist_ok=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        rows = rng.integers(0, 256, size=(per_file, 3072), dtype=np.uint8)
        centred = rows.astype(np.float32) - 127.5
        labels = [int(v) for v in np.argmax(centred @ projection, axis=1)]
        with open(os.path.join(directory, name), "wb") as stream:
            pickle.dump({b"batch_label": name.encode(), b"data": rows, b"labels": labels,
                         b"filenames": [b"random.png"] * per_file}, stream)
    return directory


def stages(results):
    """How evaluations ended: ``{"done": …, "sweep": …, "train": …}``."""
    out = {}
    for r in results:
        out[r.info.get("stage", "?")] = out.get(r.info.get("stage", "?"), 0) + 1
    return out


def peak_flops(seconds=3.0):
    """Measured float32 matmul throughput of this machine under XLA, FLOP/s."""
    import tensorflow as tf

    a = tf.random.normal([1024, 1024])
    mm = tf.function(lambda x: tf.matmul(x, x), jit_compile=True)
    mm(a).numpy()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        mm(a).numpy()
        count += 1
    return count * 2 * 1024 ** 3 / (time.perf_counter() - start)


def time_single(preset, gs, overrides):
    from deap_nos.evaluation.evaluator import SurrogateEvaluator

    ev = SurrogateEvaluator.preset(preset, **overrides)
    ev.dataset()
    start = time.perf_counter()
    results = [ev(g) for g in gs]
    return len(gs) / (time.perf_counter() - start), results


def full_candidate_steps(ev):
    """Training steps of a candidate that passes the sweep and trains to the end."""
    return ev.sweep_steps * len(ev.all_rates) + ev.steps * ev.repeats


def time_throughput(preset, slots, steps, overrides, backend, precision="float32"):
    """``(run-steps/s, compile s, s per fully trained candidate)``: every slot training
    AdamSpace ``steps`` steps (the slot probe's measure)."""
    from deap_nos.evaluation.population import PopulationEvaluator
    from deap_nos.evaluation.slots import run_steps_per_second

    ev = PopulationEvaluator.preset(preset, slots=slots, backend=backend,
                                    precision=precision, **overrides)
    ev.dataset()
    start = time.perf_counter()
    rate = run_steps_per_second(ev, slots, steps)
    total = time.perf_counter() - start
    compile_s = total - slots * steps / rate
    return rate, compile_s, full_candidate_steps(ev) / rate


def time_population(preset, gs, slots, overrides, backend="tensorflow"):
    from deap_nos.backends.tensorflow.batched import BatchedConvNet
    from deap_nos.evaluation.population import PopulationEvaluator

    ev = PopulationEvaluator.preset(preset, slots=slots, backend=backend, **overrides)
    ds = ev.dataset()
    start = time.perf_counter()
    ev.trainer().run(1)                       # trace + XLA compile, once per process
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    results = ev.evaluate_many(gs)
    wall = time.perf_counter() - start
    c = ev.counters()
    flops = BatchedConvNet(ev.base, ds.input_shape, ds.classes).flops(ev.batch_size)
    achieved = c["run_steps"] * flops / max(c["train_seconds"], 1e-9)
    busy = c["run_steps"] / max(c["slot_steps"], 1)
    seconds = c["train_seconds"] / max(c["run_steps"], 1) * full_candidate_steps(ev)
    return len(gs) / wall, compile_s, achieved, busy, results, seconds


def time_chunked_and_streamed(preset, gs, slots, overrides):
    """What a search step does with K slots: the genomes in ``map_batch`` chunks, one
    ``evaluate_many`` call each (before streaming), against one ``evaluate_stream``.
    Returns ``[(label, evals/s, slots busy)]``; one evaluator, compiled once."""
    from deap_nos.evaluation.population import PopulationEvaluator

    ev = PopulationEvaluator.preset(preset, slots=slots, **overrides)
    ev.trainer().run(1)
    rows = []
    for label, run in (
            (f"in chunks of map_batch={ev.map_batch}",
             lambda: [r for i in range(0, len(gs), ev.map_batch)
                      for r in ev.evaluate_many(gs[i:i + ev.map_batch])]),
            ("streamed (evaluate_stream)", lambda: list(ev.evaluate_stream(gs)))):
        before = dict(ev.counters())
        start = time.perf_counter()
        run()
        wall = time.perf_counter() - start
        after = ev.counters()
        busy = (after["run_steps"] - before["run_steps"]) / max(
            after["slot_steps"] - before["slot_steps"], 1)
        rows.append((label, len(gs) / wall, busy))
    return rows


def time_processes(preset, gs, workers, overrides, population):
    """Evaluations/s of ``workers`` processes (ProcessMap, the cores shared out), each
    evaluating one genome at a time: the single path, or a one-slot population
    evaluator (the command's CPU default). Every worker is warmed up first on genomes
    not timed, so the one-off compile per process is left out as for the others."""
    from deap_nos.evaluation.evaluator import SurrogateEvaluator
    from deap_nos.search.parallel import ProcessMap
    from deap_nos.evaluation.population import PopulationEvaluator

    ev = PopulationEvaluator.preset(preset, slots=1, **overrides) if population \
        else SurrogateEvaluator.preset(preset, **overrides)
    # this process has run TensorFlow already: the pool spawns its workers
    with ProcessMap(workers, gpus=None) as mapper:
        mapper(ev, zoo_genomes(2 * workers))
        start = time.perf_counter()
        results = mapper(ev, gs)
        wall = time.perf_counter() - start
    return len(gs) / wall, mapper.threads, results


def _importable(name):
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


def throughput_table(args, overrides):
    """Run-steps per second of each backend at each K, and the ratios between them."""
    print("| backend | K | run-steps/s | compile s | s per fully trained candidate |")
    print("|---|---|---|---|---|")
    rates = {}
    for k in args.slots:
        for backend in args.backend:
            for precision in (args.precision if backend == "jax" else ["float32"]):
                name = backend + ("" if precision == "float32" else f" {precision}")
                try:
                    rate, compile_s, full = time_throughput(
                        args.preset, k, args.throughput, overrides, backend, precision)
                except Exception as exc:     # noqa: BLE001 - out of memory at this K: say so
                    print(f"| {name} | {k} | failed: {type(exc).__name__}: "
                          f"{str(exc).splitlines()[0][:120]} | – | – |", flush=True)
                    continue
                rates[backend, k] = rates.get((backend, k), rate)
                print(f"| {name} | {k} | {rate:,.0f} | {compile_s:.1f} | {full:.2f} |",
                      flush=True)
    print_ratios(rates, args.backend, args.slots, "run-steps/s")


def print_ratios(rates, backends, slots, what):
    """``first backend ÷ each other`` at every K both were timed at."""
    for other in backends[1:]:
        for k in slots:
            if (backends[0], k) in rates and (other, k) in rates:
                print(f"ratio {backends[0]} / {other} at K={k}: "
                      f"{rates[backends[0], k] / rates[other, k]:.2f}x {what}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--genomes", type=int, default=None,
                        help="genomes per population run (default: max(16, 2·K), one map "
                        "call's worth, so the slots stay busy as in a search)")
    parser.add_argument("--single", type=int, default=6, help="genomes timed on the single path")
    parser.add_argument("--slots", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--steps", type=int, help="override the preset's steps")
    parser.add_argument("--sweep-steps", type=int, help="override the preset's sweep steps")
    parser.add_argument("--processes", type=int, default=0,
                        help="also time this many worker processes, single path against "
                        "one-slot population evaluators, on the same genomes as K's first")
    parser.add_argument("--streaming", action="store_true",
                        help="also time each K's genomes in map_batch chunks against one "
                        "stream (what a search step does)")
    parser.add_argument("--random-data", action="store_true",
                        help="CIFAR-10-shaped random images with learnable labels instead of "
                        "the real files (timing only)")
    parser.add_argument("--backend", nargs="+", default=["tensorflow"],
                        choices=("tensorflow", "jax"),
                        help="population trainer backends, each timed at every K")
    parser.add_argument("--precision", nargs="+", default=["float32"],
                        choices=("float32", "bfloat16"),
                        help="the JAX network's activations, each timed (--throughput)")
    parser.add_argument("--throughput", type=int, default=0, metavar="STEPS",
                        help="time STEPS steps of every slot (AdamSpace) instead of whole "
                        "evaluations")
    parser.add_argument("--zoo", action="store_true",
                        help="zoo genomes (all train to the end) instead of random ones")
    args = parser.parse_args(argv)
    overrides = {}
    if args.steps:
        overrides.update(steps=args.steps, eval_every=max(1, args.steps // 6),
                         stop_after=args.steps // 3)
    if args.sweep_steps:
        overrides["sweep_steps"] = args.sweep_steps
    if args.random_data:
        import tempfile
        folder = random_cifar(tempfile.mkdtemp(prefix="bench-cifar-"))
        overrides.update(data="cifar10", data_options={"data_dir": folder})
    most = args.genomes or max(16, 2 * max(args.slots))
    gs = (zoo_genomes if args.zoo else genomes)(max(most, args.single))
    tf_ok = _importable("tensorflow")
    peak = peak_flops() if tf_ok else float("nan")
    if args.single and tf_ok:
        single, results = time_single(args.preset, gs[:args.single], overrides)
        ended = f"single path ended at {stages(results)}"
    else:
        single, ended = float("nan"), "single path not timed"
    print(f"preset {args.preset} {overrides or ''}; {'zoo' if args.zoo else 'random'} "
          f"genomes ({ended}); peak (XLA f32 matmul) {peak / 1e9:.1f} GFLOP/s", flush=True)
    if args.throughput:
        throughput_table(args, overrides)
        return
    print("| evaluator | evals/s | × single | compile s | train GFLOP/s | of peak | busy "
          "| s per full candidate |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| SurrogateEvaluator | {single:.3f} | 1.0 | – | – | – | – | – |")
    rates = {}
    for k in args.slots:
        n = args.genomes or max(16, 2 * k)
        for backend in args.backend:
            rate, compile_s, achieved, busy, results, full = time_population(
                args.preset, gs[:n], k, overrides, backend)
            rates[backend, k] = rate
            print(f"| PopulationEvaluator[{backend}] K={k} ({n} genomes: {stages(results)}) "
                  f"| {rate:.3f} | {rate / single:.1f} | {compile_s:.1f} | "
                  f"{achieved / 1e9:.1f} | {achieved / peak:.1%} | {busy:.0%} | {full:.2f} |",
                  flush=True)
        if args.streaming:
            for label, rate, busy in time_chunked_and_streamed(args.preset, gs[:n], k,
                                                               overrides):
                print(f"| PopulationEvaluator K={k}, {label} | {rate:.3f} | "
                      f"{rate / single:.1f} | – | – | – | {busy:.0%} | – |", flush=True)
    print_ratios(rates, args.backend, args.slots, "evals/s")
    if args.processes:
        n = args.genomes or max(16, 2 * args.slots[0])
        for population in (False, True):
            rate, threads, results = time_processes(args.preset, gs[:n], args.processes,
                                                    overrides, population)
            name = "PopulationEvaluator K=1" if population else "SurrogateEvaluator"
            print(f"| {name} × {args.processes} processes × {threads} threads ({n} genomes: "
                  f"{stages(results)}) | {rate:.3f} | {rate / single:.1f} | – | – | – | – |",
                  flush=True)


if __name__ == "__main__":
    main()
