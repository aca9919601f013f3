"""The three systems on one task with equal evaluation budgets, several seeds each.

Runs ``deap-nos search`` for every system and seed in its own run folder (a subprocess,
so each run is exactly what a user gets from the command), then reads the run folders:

- the best-so-far fitness after each evaluation (``evaluations.log``), mean ± std over
  seeds, plotted with error bars per system (each space's own fitness: validation
  accuracy for ``nos`` and ``autolr``'s worst-of-k, the accuracy relative to Adam for
  ``termmix``; the curves compare algorithms within a space, the verdict across them);
- each run's held-out verdict (``verdict.csv``): the best genome retrained with paired
  seeds on train + validation and scored on the test split against Adam, its difference
  in points and Welch's p-value; per system the mean ± std of that difference and how
  many runs beat / lost to / tied with Adam at p < 0.05.

Systems (equal budgets of about ``--budget`` evaluations, the main job's by default):

- ``nos-particle``: the paper's space and particle GA (the main job);
- ``nos-regularized``: the same space, regularized evolution;
- ``termmix``: seed 002's term-mix genome and its generational GA;
- ``autolr``: seed 003's grammar and its structured grammatical evolution.

Usage::

    python benchmarks/compare_spaces.py --seeds 0 1 2 3 4 --out results/spaces
    python benchmarks/compare_spaces.py --report-only --out results/spaces   # re-read

Prints a Markdown table (for benchmarks/RESULTS.md) and writes ``compare_spaces.md``,
``compare_spaces.csv`` and ``compare_spaces.png`` into ``--out``.
"""
import argparse
import csv
import math
import os
import subprocess
import sys
import time

import numpy as np

#: the main job's budget: 4 particles × factor 3 initial, 3 steps × 4 × 3 children
MAIN_JOB_BUDGET = 48


def system_args(system, budget):
    """``deap-nos search`` options giving ``system`` about ``budget`` evaluations."""
    if system == "nos-particle":
        # 4 particles from 12 screened candidates, 3 steps of 4 × 3 children = 48
        steps = max(1, (budget - 12) // 12)
        return ["--space", "nos", "--algorithm", "particle", "--particles", "4",
                "--factor", "3", "--steps", str(steps), "--mutations", "3"]
    if system == "nos-regularized":
        population = 12
        return ["--space", "nos", "--algorithm", "regularized", "--population",
                str(population), "--cycles", str(budget - population), "--sample-size", "3"]
    if system in ("termmix", "autolr"):
        population = 12
        return ["--space", system, "--population", str(population),
                "--generations", str(max(1, budget // population - 1))]
    raise SystemExit(f"unknown system {system!r}")


def run_one(system, seed, args):
    """One search with its verdict, in ``out/system-seed`` (skipped when complete)."""
    run_dir = os.path.join(args.out, f"{system}-{seed}")
    if os.path.exists(os.path.join(run_dir, "verdict.csv")):
        return run_dir, 0.0
    cmd = [sys.executable, "-m", "deap_nos.cli", "search", "--preset", args.preset,
           "--seed", str(seed), "--run-dir", run_dir, "--quiet",
           "--reevaluate", str(args.reevaluate), "--verdict-seeds", str(args.verdict_seeds)]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    if os.path.exists(os.path.join(run_dir, "settings.json")):
        cmd = [sys.executable, "-m", "deap_nos.cli", "search", "--resume", run_dir]
    else:
        cmd += system_args(system, args.budget)
    # every run's verdict trains the same baselines on the same protocol: train them once
    cmd += ["--baseline-cache", os.path.join(args.out, "baselines")]
    started = time.perf_counter()
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return run_dir, time.perf_counter() - started


# ------------------------------------------------------------------------ reading
def search_entries(run_dir):
    """The run's evaluation-log entries of the algorithm itself (screening left out),
    read by the package's own log reader."""
    from deap_nos.search.runlog import read_log

    entries = read_log(os.path.join(run_dir, "evaluations.log"))
    return [e for e in entries if not (e.get("phase") or "").endswith(":screen")]


def best_so_far(run_dir, budget):
    """Best fitness after each of the first ``budget`` evaluations of the search (the
    algorithm's own; screening results and re-evaluations left out)."""
    best, curve = -math.inf, []
    for entry in search_entries(run_dir):
        fitness = entry.get("fitness") or [-1.0]
        value = fitness[0] if isinstance(fitness[0], (int, float)) else -1.0
        best = max(best, value)
        curve.append(best)
    curve = curve[:budget]
    return curve + [curve[-1]] * (budget - len(curve)) if curve else [math.nan] * budget


def evaluations_of(run_dir):
    """``(evaluations, failed)`` the search logged: distinct genomes trained or rejected
    (the cache answers repeats, so a converged population spends fewer than its budget)."""
    entries = search_entries(run_dir)
    return len(entries), sum(bool(e.get("failed")) for e in entries)


def verdict_of(run_dir):
    """``(difference from Adam in points, Welch p, failure)`` of the run's best genome."""
    path = os.path.join(run_dir, "verdict.csv")
    if not os.path.exists(path):
        return math.nan, math.nan, "no verdict"
    with open(path, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    baselines = {"AdamSpace", "keras:adam", "keras:sgd-momentum", "Adam"}
    for row in rows:
        if row["optimizer"] in baselines or row["diff_vs_reference"] in ("", "None"):
            continue
        if row["failure"]:
            return math.nan, math.nan, row["failure"]
        return 100 * float(row["diff_vs_reference"]), float(row["p_welch"]), ""
    return math.nan, math.nan, "no genome judged"


def summarise(systems, seeds, args, times):
    """Rows of the table and the curves, from the run folders."""
    rows, curves = [], {}
    for system in systems:
        runs = [os.path.join(args.out, f"{system}-{s}") for s in seeds]
        runs = [r for r in runs if os.path.exists(os.path.join(r, "evaluations.log"))]
        if not runs:
            continue
        curve = np.array([best_so_far(r, args.budget) for r in runs])
        curves[system] = curve
        verdicts = [verdict_of(r) for r in runs]
        diffs = np.array([d for d, _, f in verdicts if not f])
        wins = sum(1 for d, p, f in verdicts if not f and p < 0.05 and d > 0)
        losses = sum(1 for d, p, f in verdicts if not f and p < 0.05 and d < 0)
        failed = sum(1 for _, _, f in verdicts if f)
        final = curve[:, -1]
        counts = np.array([evaluations_of(r) for r in runs], dtype=float)
        rows.append({
            "system": system, "runs": len(runs),
            "evaluations": f"{counts[:, 0].mean():.0f} ({counts[:, 1].mean():.0f} failed)",
            "best_fitness": f"{np.nanmean(final):.4f} ± {np.nanstd(final):.4f}",
            "diff_vs_adam_points": (f"{diffs.mean():+.2f} ± {diffs.std():.2f}"
                                    if len(diffs) else "-"),
            "beat_adam": wins, "worse_than_adam": losses,
            "no_difference": len(diffs) - wins - losses, "verdict_failed": failed,
            "minutes_per_run": (f"{np.mean(times[system]) / 60:.1f}"
                                if times.get(system) else "-"),
        })
    return rows, curves


def write_outputs(rows, curves, args):
    header = list(rows[0]) if rows else []
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(r[h]) for h in header) + " |" for r in rows]
    table = "\n".join(lines)
    with open(os.path.join(args.out, "compare_spaces.md"), "w", encoding="utf-8") as f:
        f.write(table + "\n")
    with open(os.path.join(args.out, "compare_spaces.csv"), "w", newline="",
              encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    plot(curves, os.path.join(args.out, "compare_spaces.png"))
    return table


def plot(curves, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for system, curve in curves.items():
        ax = axes[1] if system == "termmix" else axes[0]
        x = np.arange(1, curve.shape[1] + 1)
        mean, std = np.nanmean(curve, axis=0), np.nanstd(curve, axis=0)
        ax.errorbar(x, mean, yerr=std, label=f"{system} (n={len(curve)})",
                    capsize=2, errorevery=max(1, len(x) // 12))
    axes[0].set(title="validation accuracy (nos, autolr worst-of-k)",
                xlabel="evaluations", ylabel="best fitness so far")
    axes[1].set(title="accuracy relative to Adam (termmix)", xlabel="evaluations",
                ylabel="best fitness so far")
    for ax in axes:
        ax.legend(loc="lower right")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--systems", nargs="+",
                        default=["nos-particle", "nos-regularized", "termmix", "autolr"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--budget", type=int, default=MAIN_JOB_BUDGET)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--reevaluate", type=int, default=1)
    parser.add_argument("--verdict-seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--out", default="results/compare_spaces")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    times = {}
    if not args.report_only:
        for seed in args.seeds:          # seed-major: every system gets each seed early
            for system in args.systems:
                _, seconds = run_one(system, seed, args)
                if seconds:
                    times.setdefault(system, []).append(seconds)
    rows, curves = summarise(args.systems, args.seeds, args, times)
    print(write_outputs(rows, curves, args))


if __name__ == "__main__":
    main()
