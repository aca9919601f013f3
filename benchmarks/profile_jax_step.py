"""Where the JAX population trainer's step goes: its parts timed apart, K runs at once.

The `paper` preset's shapes (ConvNet(48) on 32×32×3, batch 128) on random data, every
slot training AdamSpace. Parts (each compiled on its own, then timed over --repeats
calls; milliseconds per step of all K runs, and what that makes a fully trained `paper`
candidate: 13,600 steps):

- ``net``: the network's loss and gradient (vmapped ``value_and_grad``), no update;
- ``interp``: the interpreter's update alone, as the trainer compiles it;
- ``interp-loop-scatter``: the same with the node slots in a ``lax.fori_loop`` and
  per-tensor norms by ``segment_sum`` (the 0.3 code before the GPU run);
- ``step``, ``step-bf16``: the whole training step (``trainer.run``), float32 and
  bfloat16 activations.

    python benchmarks/profile_jax_step.py --slots 64 [--parts net interp step]
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PAPER_STEPS = 13600
PARTS = ("net", "interp", "interp-loop-scatter", "step", "step-bf16")


def _trainer(slots, base, shape, batch, precision="float32"):
    import numpy as np

    import deap_nos as nos
    from deap_nos.backends.jax.trainer import build

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2048,) + tuple(shape)).astype(np.float32)
    y = rng.integers(0, 10, 2048).astype(np.int32)
    t = build(base, tuple(shape), 10, slots, x, y, batch, PAPER_STEPS, 500, seed=0,
              precision=precision)
    codes = t.interpreter.encode(nos.zoo.genome("AdamSpace"))
    for s in range(slots):
        w, st = t.net.init(s)
        t.assign(s, codes, w, st, 1e-3, seed=s)
    return t


def _timed(fn, repeats):
    """``(compile s, ms per call)`` of a jitted call, the first call excluded."""
    import jax

    start = time.perf_counter()
    jax.block_until_ready(fn())
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(repeats):
        out = fn()
    jax.block_until_ready(out)
    return compile_s, (time.perf_counter() - start) / repeats * 1e3


def part(name, t, repeats):
    """Time one part on trainer *t*; ``(compile s, ms per step)``."""
    import jax
    import jax.numpy as jnp

    pop, data = t.pop, (t.x, t.y)
    if name.startswith("step"):
        t.run(2)
        start = time.perf_counter()
        t.run(repeats)
        jax.block_until_ready(t.pop["w"])
        return float("nan"), (time.perf_counter() - start) / repeats * 1e3
    if name == "net":
        grad = jax.vmap(jax.value_and_grad(t._loss_one, has_aux=True),
                        in_axes=(0, 0, 0, 0, None))
        fn = jax.jit(lambda: grad(pop["w"], pop["stats"], pop["seed"],
                                  pop["t"].astype(jnp.uint32), data))
        return _timed(fn, repeats)
    g = pop["w"] * 1e-3 + 1e-4
    keys = jax.vmap(jax.random.PRNGKey)(jnp.arange(t.slots))
    interp = t.interpreter
    fn = jax.jit(lambda g: interp.update(pop["codes"], g, pop["w"], pop["state"],
                                         pop["t"] + 5.0, pop["lr"], keys))
    return _timed(lambda: fn(g), repeats)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", type=int, default=64)
    parser.add_argument("--base", type=int, default=48)
    parser.add_argument("--shape", type=int, nargs="+", default=[32, 32, 3])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS)
    args = parser.parse_args(argv)
    import jax

    from deap_nos.backends.jax import interpreter, namespace

    print(f"device {jax.devices()[0]}  K {args.slots}  shape {args.shape}  "
          f"batch {args.batch}  base {args.base}", flush=True)
    for name in args.parts:
        precision = "bfloat16" if name.endswith("bf16") else "float32"
        old = name == "interp-loop-scatter"
        keep = namespace._contiguous_ranges
        if old:
            namespace._contiguous_ranges = lambda segments: None
            interpreter.JaxInterpreter.unroll = False
        try:
            t = _trainer(args.slots, args.base, args.shape, args.batch, precision)
            compile_s, ms = part(name, t, args.repeats)
        except Exception as exc:       # noqa: BLE001 - out of memory: say so, go on
            print(json.dumps({"part": name, "failed": f"{type(exc).__name__}: "
                              f"{str(exc).splitlines()[0][:160]}"}), flush=True)
            continue
        finally:
            namespace._contiguous_ranges = keep
            interpreter.JaxInterpreter.unroll = None
        print(json.dumps({"part": name, "K": args.slots, "ms_per_step": round(ms, 2),
                          "compile_s": round(compile_s, 1),
                          "s_per_paper_candidate": round(
                              ms / 1e3 * PAPER_STEPS / args.slots, 2)}), flush=True)


if __name__ == "__main__":
    main()
