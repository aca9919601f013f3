"""Does a preset tell optimizers apart? Ten optimizers × seeds, side by side per preset.

For every preset named, trains each optimizer once per seed (the evaluator's seed, so
initial weights and batch order change with it) and prints mean ± std of the fitness
(best validation accuracy), the seconds per evaluation and the signal-to-noise ratio::

    SNR = std over optimizers of their mean fitness / mean over optimizers of their
          per-seed standard deviation

An SNR of 1 means the ranking is as large as one seed's noise: a search on that preset
measures noise. Failed evaluations are counted in the table and left out of the SNR.

A preset may carry overrides, to try a variant side by side with the preset itself:
``default+batch_size=128+steps=800``.

Usage::

    python benchmarks/bench_signal.py [--presets default quick] [--seeds 5]
        [--optimizers AdamSpace Sign ...] [--evaluator single|population]
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

#: The ten optimizers of issue 10 (zoo names or expressions).
OPTIMIZERS = ["AdamSpace", "g", "Sign", "QHM", "Opt1", "Opt6", "Opt10", "A1",
              "PowerSign-ld", "momentum: g"]


def genome(spec):
    """A zoo genome by name, else a parsed expression."""
    import deap_nos as nos

    try:
        return nos.zoo.genome(spec)
    except nos.NOSError:
        return nos.parse(spec)


def signal_to_noise(means, stds):
    """std of the optimizers' means ÷ mean of their per-seed stds (NaN rows skipped)."""
    means, stds = np.asarray(means, float), np.asarray(stds, float)
    keep = np.isfinite(means) & np.isfinite(stds)
    noise = stds[keep].mean() if keep.any() else float("nan")
    return float(np.std(means[keep], ddof=1) / noise) if keep.sum() > 1 and noise > 0 \
        else float("nan")


def parse_variant(text):
    """``"default+steps=800+base=8"`` → ``("default", {"steps": 800, "base": 8})``."""
    import ast

    name, *pairs = text.split("+")
    overrides = {}
    for pair in pairs:
        key, value = pair.split("=", 1)
        overrides[key] = ast.literal_eval(value)
    return name, overrides


def evaluators(preset, seeds, kind):
    """One evaluator per seed for ``preset`` (single: SurrogateEvaluator)."""
    if kind == "population":
        from deap_nos.evaluation.population import PopulationEvaluator as cls
    else:
        from deap_nos.evaluation.evaluator import SurrogateEvaluator as cls
    name, overrides = parse_variant(preset)
    return [cls.preset(name, seed=seed, **overrides) for seed in range(seeds)]


def run_preset(preset, names, seeds, kind):
    """Rows (name, mean, std, failures, seconds per evaluation) for one preset."""
    evals = evaluators(preset, seeds, kind)
    evals[0].dataset()  # generate/load the data outside the timings
    rows = []
    for name in names:
        g, fits, failures = genome(name), [], 0
        start = time.perf_counter()
        results = [ev(g) for ev in evals]
        per_eval = (time.perf_counter() - start) / seeds
        for result in results:
            if result.info.get("failed"):
                failures += 1
                print(f"    {name} failed: {result.info.get('reason')}", file=sys.stderr)
            else:
                fits.append(result[0])
        mean = float(np.mean(fits)) if fits else float("nan")
        std = float(np.std(fits, ddof=1)) if len(fits) > 1 else float("nan")
        rows.append((name, mean, std, failures, per_eval))
        print(f"  [{preset}] {name:14s} {mean:.4f} ± {std:.4f}  failed {failures}  "
              f"{per_eval:.2f} s/eval", file=sys.stderr, flush=True)
    return rows


def table(results, seeds):
    """A Markdown table: optimizers down, presets across; SNR and s/eval at the bottom."""
    presets = list(results)
    lines = [f"| optimizer | " + " | ".join(presets) + " |",
             "|---|" + "---|" * len(presets)]
    names = [row[0] for row in results[presets[0]]]
    for i, name in enumerate(names):
        cells = []
        for p in presets:
            _, mean, std, failures, _ = results[p][i]
            cell = f"{mean:.4f} ± {std:.4f}"
            cells.append(cell + (f" ({failures} failed)" if failures else ""))
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    snr = [signal_to_noise([r[1] for r in results[p]], [r[2] for r in results[p]])
           for p in presets]
    secs = [np.mean([r[4] for r in results[p]]) for p in presets]
    spread = [np.std([r[1] for r in results[p]], ddof=1) for p in presets]
    noise = [np.nanmean([r[2] for r in results[p]]) for p in presets]
    lines.append("| spread of means (std) | " + " | ".join(f"{v:.4f}" for v in spread) + " |")
    lines.append("| mean per-seed std | " + " | ".join(f"{v:.4f}" for v in noise) + " |")
    lines.append("| **signal-to-noise** | " + " | ".join(f"**{v:.2f}**" for v in snr) + " |")
    lines.append("| seconds / evaluation | " + " | ".join(f"{v:.2f}" for v in secs) + " |")
    return "\n".join(lines) + f"\n\n{seeds} seeds each; fitness = best validation accuracy."


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["default", "quick"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--optimizers", nargs="+", default=OPTIMIZERS)
    parser.add_argument("--evaluator", choices=["single", "population"], default="single")
    args = parser.parse_args(argv)
    results = {p: run_preset(p, args.optimizers, args.seeds, args.evaluator)
               for p in args.presets}
    print(table(results, args.seeds))


if __name__ == "__main__":
    main()
