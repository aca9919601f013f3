"""Valid random genomes per second through ``initGraph`` (integrity check included), one core.

The authors' code manages about 0.3 valid genomes per second on a 2-core machine; the
goal here is at least 100. Also reports mutants per second through ``mutGraph`` and the
integrity check's own cost, measured in the same run.

    python benchmarks/bench_init.py [--n 300]
"""
import argparse
import os
import random
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import deap_nos as nos  # noqa: E402


def rate(fn, n):
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="genomes per measurement")
    args = parser.parse_args()
    space = nos.SearchSpace.default()
    random.seed(0)
    draws = [0]

    def counted_graph(*a, **k):
        draws[0] += 1
        return original(*a, **k)

    import deap_nos.spaces.nos.variation as variation
    original = variation.random_graph
    variation.random_graph = counted_graph
    init_rate = rate(lambda: nos.initGraph(nos.OptimizerGraph, space), args.n)
    variation.random_graph = original
    genome = nos.parse("div(v_hat, sqrt_abs(s_hat))", space)
    check_rate = rate(lambda: nos.integrity_check(genome, space), args.n)
    parent = nos.initGraph(nos.OptimizerGraph, space)
    mut_rate = rate(lambda: nos.mutGraph(parent, space, max_tries=10000), args.n // 3)
    print(f"valid genomes per second (initGraph):  {init_rate:8.1f}   goal >= 100, "
          f"authors ~0.3 -> {init_rate / 0.3:.0f}x")
    print(f"draws per valid genome:                 {draws[0] / args.n:8.2f}")
    print(f"integrity checks per second (Adam):     {check_rate:8.1f}")
    print(f"valid mutants per second (mutGraph):    {mut_rate:8.1f}")


if __name__ == "__main__":
    main()
