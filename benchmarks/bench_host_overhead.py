"""The host's share of a JAX search: the main job's protocol with the device's work free.

On the H200 the default preset's search was bound by the host, not the GPU (GPU busy
26–46 % of the time, benchmarks/RESULTS.md). This runs the same search command with the
JAX trainer's ``run`` and ``accuracy_of`` replaced by instant fakes (every run learns,
passes its gates and trains to the end: the most events per evaluation), so what is
left is what the host pays per evaluation — protocol events, slot assignment, run
snapshots, screening, the engine and the report — measurable on any CPU.

    python benchmarks/bench_host_overhead.py [--particles 20 --steps 2 --slots 256]
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _free_device():
    import numpy as np

    from deap_nos.backends.jax import trainer

    def run(self, n):
        n = int(n)
        return (np.full((n, self.slots), 0.5, np.float32),
                np.full((n, self.slots), 0.9, np.float32))

    rng = np.random.default_rng(0)
    trainer.JaxPopulationTrainer.run = run
    trainer.JaxPopulationTrainer.accuracy_of = \
        lambda self, slot, batches, total: 0.9 + 0.05 * rng.random()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--particles", default="20")
    parser.add_argument("--steps", default="2")
    parser.add_argument("--slots", default="256")
    args = parser.parse_args(argv)
    _free_device()
    from deap_nos.cli import main as cli

    folder = tempfile.mkdtemp(prefix="host-overhead-")
    try:
        start = time.perf_counter()
        code = cli(["search", "--backend", "jax", "--particles", args.particles, "--steps",
                    args.steps, "--mutations", "6", "--slots", args.slots, "--workers", "1",
                    "--no-verdict", "--run-dir", os.path.join(folder, "run"), "--quiet"])
        wall = time.perf_counter() - start
        with open(os.path.join(folder, "run", "evaluations.log")) as log:
            n = sum(1 for _ in log)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"exit {code}: {n} evaluations, {wall:.1f} s, host {wall / n * 1e3:.1f} ms per "
          f"evaluation (device work free)", file=sys.stderr)


if __name__ == "__main__":
    main()
