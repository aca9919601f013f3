# A yardstick, not package code: run it beside benchmarks/bench_population.py on the same
# Copied from ../shared/anchors/gpu_population_jax.py (that folder does not travel to the GPU machine): the stand-alone reference, not part of the package.
# machine (the lent GPU) and report the ratio. Do not copy it into the project.
"""What one accelerator can do for the population workload (an anchor, not product code).

The surrogate ConvNet(base) of docs/reference.md §8 (3 convs 3x3 / 3-tap, strides 1-2-2,
widths base-2base-4base, BN, swish, global pool, dropout 0.2, dense) trained for K runs
at once (jax.vmap over weights, one shared input batch), each run with its own
optimizer genome emulated the way deap_nos.backends.tensorflow.interpreter pays for it: every node slot
computes a bank of elementwise operations and keeps the one its code names.

Prints ms per step, runs*steps/s, effective TFLOP/s, and seconds per fully trained
candidate at the paper protocol (7 x 800 sweep steps + 8,000 steps = 13,600 steps).

  python gpu_population_jax.py --preset paper --slots 1 16 64 256
  python gpu_population_jax.py --preset default --slots 1 4
"""
import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

PRESETS = {
    "paper": dict(shape=(32, 32, 3), base=48, batch=128, steps_full=7 * 800 + 8000),
    "default": dict(shape=(40, 1), base=16, batch=256, steps_full=7 * 40 + 600),
}
UNARY = [lambda x: x, jnp.abs, jnp.sign, jnp.tanh, jnp.arctan, lambda x: x * x,
         lambda x: jnp.sqrt(jnp.abs(x)), lambda x: jnp.log(jnp.abs(x) + 1e-8),
         lambda x: jnp.exp(jnp.clip(x, -20, 20)), jax.nn.sigmoid, jnp.sin, jnp.cos,
         lambda x: -x, lambda x: jnp.clip(x, -1, 1), jax.nn.softplus, lambda x: x * 0.5]
BINARY = [jnp.add, jnp.subtract, jnp.multiply,
          lambda a, b: a / (jnp.abs(b) + 1e-8) * jnp.sign(b + 1e-30), jnp.maximum,
          jnp.minimum, lambda a, b: 0.5 * (a + b), lambda a, b: a * jnp.sign(b)]


def init(key, shape, base, classes=10):
    ndim = len(shape) - 1
    params, c_in = {}, shape[-1]
    for i, c in enumerate([base, 2 * base, 4 * base]):
        key, k = jax.random.split(key)
        fan = 3 ** ndim * c_in
        params[f"k{i}"] = jax.random.uniform(k, (3,) * ndim + (c_in, c), minval=-1, maxval=1) \
            * np.sqrt(6 / (fan + 3 ** ndim * c))
        params[f"b{i}"] = jnp.zeros(c)
        params[f"g{i}"] = jnp.ones(c)
        params[f"be{i}"] = jnp.zeros(c)
        c_in = c
    key, k = jax.random.split(key)
    params["dense"] = jax.random.uniform(k, (c_in, classes), minval=-1, maxval=1) \
        * np.sqrt(6 / (c_in + classes))
    params["db"] = jnp.zeros(classes)
    return params


CONV = {"form": "lax"}


def conv_patches(h, k, stride, ndim):
    """'same' 3-tap / 3x3 convolution as patches x kernel (deap_nos.backends.tensorflow.batched's form)."""
    spatial = h.shape[1:-1]
    outs = [(n + stride - 1) // stride for n in spatial]
    pads = []
    for n in spatial:
        total = max(((n + stride - 1) // stride - 1) * stride + 3 - n, 0)
        pads.append((total // 2, total - total // 2))
    h = jnp.pad(h, [(0, 0)] + pads + [(0, 0)])
    taps = []
    for off in np.ndindex(*(3,) * ndim):
        idx = [slice(None)] + [slice(o, o + stride * (m - 1) + 1, stride)
                               for o, m in zip(off, outs)]
        taps.append(h[tuple(idx)])
    patches = jnp.concatenate(taps, -1)
    kf = k.reshape(-1, k.shape[-1])
    if CONV.get("dtype") == "bfloat16":       # bf16 operands, float32 accumulation
        return jnp.matmul(patches.astype(jnp.bfloat16), kf.astype(jnp.bfloat16),
                          preferred_element_type=jnp.float32)
    return patches @ kf


def loss_fn(params, x, y, key):
    ndim = x.ndim - 2
    dn = ("NHWC", "HWIO", "NHWC") if ndim == 2 else ("NWC", "WIO", "NWC")
    h = x
    for i, stride in enumerate((1, 2, 2)):
        if CONV["form"] == "patches":
            h = conv_patches(h, params[f"k{i}"], stride, ndim) + params[f"b{i}"]
        else:
            h = lax.conv_general_dilated(h, params[f"k{i}"], (stride,) * ndim, "SAME",
                                         dimension_numbers=dn) + params[f"b{i}"]
        axes = tuple(range(ndim + 1))
        mean = h.mean(axes)
        var = ((h - mean) ** 2).mean(axes)
        h = (h - mean) * lax.rsqrt(var + 1e-3) * params[f"g{i}"] + params[f"be{i}"]
        h = jax.nn.silu(h)
    h = h.mean(tuple(range(1, ndim + 1)))
    keep = jax.random.bernoulli(key, 0.8, h.shape)
    h = jnp.where(keep, h / 0.8, 0.0)
    logits = h @ params["dense"] + params["db"]
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], 1))


def genome_update(g, state, codes, t, lr, nodes):
    """Emulates the interpreter: moments, then `nodes` slots each computing every op."""
    v, s = state
    v = 0.9 * v + 0.1 * g
    s = 0.999 * s + 0.001 * g * g
    vh, sh = v / (1 - 0.9 ** (t + 1)), s / (1 - 0.999 ** (t + 1))
    table = [g, vh, sh, jnp.sign(g), vh / (jnp.sqrt(sh) + 1e-8)]
    for n in range(nodes):
        a, b = table[-1], table[-2 - (n % 3)]
        u = jnp.stack([f(a) for f in UNARY])
        bb = jnp.stack([f(a, b) for f in BINARY])
        table.append(u[codes[n, 0] % len(UNARY)] + bb[codes[n, 1] % len(BINARY)])
    out = jnp.nan_to_num(table[-1])
    return -lr * out, (v, s)


def make_chunk(preset, K, nodes, chunk):
    shape, batch = preset["shape"], preset["batch"]

    def one_step(params, opt, codes, lr, x, y, key, t):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y, key)
        flat, tree = jax.tree_util.tree_flatten(grads)
        pflat = jax.tree_util.tree_leaves(params)
        new_p, new_o = [], []
        for gi, pi, oi in zip(flat, pflat, opt):
            d, o = genome_update(gi, oi, codes, t, lr, nodes)
            new_p.append(pi + d)
            new_o.append(o)
        return jax.tree_util.tree_unflatten(tree, new_p), new_o, loss

    vstep = jax.vmap(one_step, in_axes=(0, 0, 0, 0, None, None, 0, None))

    @jax.jit
    def run(params, opt, codes, lr, data_x, data_y, keys, t0):
        n = data_x.shape[0] // batch

        def body(i, carry):
            params, opt, acc = carry
            j = (t0 + i) % n
            x = lax.dynamic_slice_in_dim(data_x, j * batch, batch)
            y = lax.dynamic_slice_in_dim(data_y, j * batch, batch)
            ks = jax.vmap(lambda k: jax.random.fold_in(k, t0 + i))(keys)
            params, opt, loss = vstep(params, opt, codes, lr, x, y, ks, t0 + i)
            return params, opt, acc + loss

        return lax.fori_loop(0, chunk, body, (params, opt, jnp.zeros(K)))

    return run


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--preset", default="paper", choices=PRESETS)
    p.add_argument("--slots", type=int, nargs="+", default=[1, 16, 64])
    p.add_argument("--chunk", type=int, default=100)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--nodes", type=int, default=8)
    p.add_argument("--precision", default="default", choices=["default", "high", "highest"])
    p.add_argument("--json", default=None)
    p.add_argument("--conv", default="lax", choices=["lax", "patches"])
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    a = p.parse_args()
    CONV["form"] = a.conv
    CONV["dtype"] = a.dtype
    jax.config.update("jax_default_matmul_precision", a.precision)
    preset = PRESETS[a.preset]
    shape, batch, base = preset["shape"], preset["batch"], preset["base"]
    rng = np.random.default_rng(0)
    n = batch * 20
    data_x = jnp.asarray(rng.normal(size=(n,) + shape).astype(np.float32))
    data_y = jnp.asarray(rng.integers(0, 10, n).astype(np.int32))
    flops_img = 0
    sp, c_in = list(shape[:-1]), shape[-1]
    for c, st in [(base, 1), (2 * base, 2), (4 * base, 2)]:
        sp = [(m + st - 1) // st for m in sp]
        flops_img += 2 * int(np.prod(sp)) * 3 ** (len(shape) - 1) * c_in * c
        c_in = c
    step_flops = 3 * flops_img * batch
    print(f"device {jax.devices()[0]}  preset {a.preset}  step {step_flops / 1e9:.2f} GFLOP/run "
          f"precision {a.precision} conv {a.conv} {a.dtype} nodes {a.nodes}", flush=True)
    rows = []
    for K in a.slots:
        keys = jax.random.split(jax.random.PRNGKey(0), K)
        params = jax.vmap(lambda k: init(k, shape, base))(keys)
        opt = [(jnp.zeros_like(l), jnp.zeros_like(l)) for l in jax.tree_util.tree_leaves(params)]
        codes = jnp.asarray(rng.integers(0, 64, (K, a.nodes, 2)).astype(np.int32))
        lr = jnp.full((K,), 1e-3)
        run = make_chunk(preset, K, a.nodes, a.chunk)
        t0 = time.perf_counter()
        out = run(params, opt, codes, lr, data_x, data_y, keys, 0)
        jax.block_until_ready(out)
        compile_s = time.perf_counter() - t0
        times = []
        for r in range(a.repeats):
            t0 = time.perf_counter()
            out = run(out[0], out[1], codes, lr, data_x, data_y, keys, (r + 1) * a.chunk)
            jax.block_until_ready(out)
            times.append(time.perf_counter() - t0)
        ms = 1000 * min(times) / a.chunk
        run_steps = K / (ms / 1000)
        row = dict(K=K, ms_per_step=round(ms, 3), run_steps_per_s=round(run_steps, 1),
                   tflops=round(step_flops * run_steps / 1e12, 2),
                   s_per_full_candidate=round(preset["steps_full"] / run_steps, 3),
                   compile_s=round(compile_s, 1), finite=bool(jnp.all(jnp.isfinite(out[2]))))
        rows.append(row)
        print(json.dumps(row), flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(preset=a.preset, device=str(jax.devices()[0]), rows=rows), f)


if __name__ == "__main__":
    main()
