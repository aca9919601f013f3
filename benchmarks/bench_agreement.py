"""Do the two evaluation paths agree? Single vs population, genome by genome.

Evaluates the same genomes with :class:`~deap_nos.evaluation.evaluator.SurrogateEvaluator` (the
single path) and :class:`~deap_nos.evaluation.population.PopulationEvaluator` (the population
path) at one preset and seed, and prints per genome both fitnesses (``FAIL`` for a
failed evaluation), their difference, the learning rates each chose, and the verdict:
``ok`` when both fail, or both pass with ``|diff| ≤ --tolerance · √2 · σ``, ``DIFF``
otherwise (the difference of two independent evaluations has standard deviation √2·σ).
σ, one evaluation's noise, is the larger of the seed noise — the mean per-seed standard
deviation of fitness measured by ``benchmarks/bench_signal.py`` (default preset: 0.0034,
benchmarks/RESULTS.md; ``--noise-seeds N`` measures it here instead, on the population
path over N seeds) — and the binomial standard error of the genome's accuracy over the
validation set, ``√(p(1−p)/n_val)``: bench_signal's noise is measured on strong
optimizers (≈ 98 %), and a genome at 83 % cannot be less noisy than its validation
sample (0.0084 at ``default``'s 2,000 images).

Genomes: the nine optimizers of issue 22 (the zoo list of bench_signal.py less
``g``) and ``--random N`` random genomes of the default search space (seeded).

Usage::

    python benchmarks/bench_agreement.py [--preset default] [--seed 5] [--random 50]
        [--noise 0.0034 | --noise-seeds 3] [--tolerance 3] [--slots 1]
        [--genome-seed 0] [--part START:STOP] [--no-zoo]

A long run can be split: ``--random 50 --part 0:25`` then ``--random 50 --part 25:50
--no-zoo`` evaluate the same 59 genomes as one ``--random 50``.
"""
import argparse
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

#: Issue 22's nine: bench_signal's optimizers without plain SGD ("g").
ZOO = ["AdamSpace", "Sign", "QHM", "Opt1", "Opt6", "Opt10", "A1", "PowerSign-ld",
       "momentum: g"]
#: Per-seed noise of the default preset (bench_signal.py, benchmarks/RESULTS.md).
DEFAULT_NOISE = 0.0034


def genomes(n_random, seed=0, zoo=True, part=None):
    """(label, genome) pairs: the zoo nine, then ``n_random`` random genomes.

    ``part`` (start, stop) keeps only those random genomes (the same ``n_random``
    are drawn, so chunks of one run add up to the whole); ``zoo=False`` drops the nine.
    """
    import deap_nos as nos

    out = []
    for name in ZOO if zoo else ():
        try:
            out.append((name, nos.zoo.genome(name)))
        except nos.NOSError:
            out.append((name, nos.parse(name)))
    state = random.getstate()
    random.seed(seed)
    space = nos.SearchSpace.default()
    for i in range(n_random):
        out.append((f"random{i}", nos.initGraph(nos.OptimizerGraph, space)))
    random.setstate(state)
    if part is not None:
        zoo_n = len(ZOO) if zoo else 0
        out = out[:zoo_n] + out[zoo_n + part[0]:zoo_n + part[1]]
    return out


def fitness(result):
    return float("nan") if result.failed else float(result[0])


def compare(pairs, preset, seed, slots):
    """Rows (label, single, population, lr_single, lr_pop, reasons) for every genome."""
    from deap_nos.evaluation.evaluator import SurrogateEvaluator
    from deap_nos.evaluation.population import PopulationEvaluator

    single = SurrogateEvaluator.preset(preset, seed=seed)
    pop = PopulationEvaluator.preset(preset, seed=seed, slots=slots)
    t = time.perf_counter()
    a = []
    for label, g in pairs:     # progress as it goes: a long run killed keeps its lines
        a.append(single(g))
        print(f"single {label}: {fitness(a[-1]):.4f} lr {a[-1].info.get('lr')}",
              flush=True)
    t_single = time.perf_counter() - t
    t = time.perf_counter()
    b = pop.evaluate_many([g for _, g in pairs])
    t_pop = time.perf_counter() - t
    rows = [(label, fitness(x), fitness(y), x.info.get("lr"), y.info.get("lr"),
             x.reason, y.reason) for (label, _), x, y in zip(pairs, a, b)]
    return rows, t_single, t_pop, len(single.dataset().x_val)


def measure_noise(pairs, preset, seeds, slots):
    """Mean per-genome std of fitness over ``seeds`` seeds (population path)."""
    from deap_nos.evaluation.population import PopulationEvaluator

    fits = np.array([[fitness(r) for r in PopulationEvaluator.preset(
        preset, seed=s, slots=slots).evaluate_many([g for _, g in pairs])]
        for s in range(seeds)])
    keep = np.isfinite(fits).all(axis=0)
    return float(np.std(fits[:, keep], axis=0, ddof=1).mean()) if keep.any() else \
        float("nan")


def sigma(acc, noise, n_val):
    """One evaluation's noise at accuracy ``acc``: the seed noise, or the validation
    set's binomial standard error where larger."""
    p = min(max(float(acc), 0.0), 1.0)
    return max(float(noise), float(np.sqrt(p * (1.0 - p) / n_val)))


def report(rows, noise, tolerance, n_val):
    """Print the table; returns (failure disagreements, fitness disagreements)."""
    fmt = lambda v: "FAIL" if not np.isfinite(v) else f"{v:.4f}"  # noqa: E731
    lr = lambda v: "-" if v is None else f"{v:g}"  # noqa: E731
    print(f"{'genome':<14} {'single':>7} {'popul.':>7} {'diff':>8} {'lr s/p':>12}  verdict")
    fail_diff = fit_diff = 0
    for label, a, b, la, lb, ra, rb in rows:
        both = np.isfinite(a) and np.isfinite(b)
        diff = a - b if both else float("nan")
        if np.isfinite(a) != np.isfinite(b):
            verdict, fail_diff = "DIFF (fails on one path)", fail_diff + 1
        elif both and abs(diff) > tolerance * np.sqrt(2.0) * sigma((a + b) / 2, noise,
                                                                    n_val):
            verdict, fit_diff = "DIFF", fit_diff + 1
        else:
            verdict = "ok"
        print(f"{label:<14} {fmt(a):>7} {fmt(b):>7} {diff:>+8.4f} "
              f"{lr(la) + '/' + lr(lb):>12}  {verdict}")
        if verdict != "ok" and (ra or rb):
            print(f"{'':<14} single: {ra}\n{'':<14} popul.: {rb}")
    return fail_diff, fit_diff


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--random", type=int, default=50)
    parser.add_argument("--noise", type=float, default=DEFAULT_NOISE)
    parser.add_argument("--noise-seeds", type=int, default=0)
    parser.add_argument("--tolerance", type=float, default=3.0)
    parser.add_argument("--slots", type=int, default=1)
    parser.add_argument("--genome-seed", type=int, default=0,
                        help="seed of the random genomes (default 0)")
    parser.add_argument("--part", default=None, metavar="START:STOP",
                        help="evaluate only random genomes START..STOP-1 (chunks)")
    parser.add_argument("--no-zoo", action="store_true", help="random genomes only")
    args = parser.parse_args(argv)
    part = tuple(int(v) for v in args.part.split(":")) if args.part else None
    pairs = genomes(args.random, args.genome_seed, not args.no_zoo, part)
    noise = args.noise
    if args.noise_seeds > 1:
        noise = measure_noise(pairs, args.preset, args.noise_seeds, args.slots)
    rows, t_single, t_pop, n_val = compare(pairs, args.preset, args.seed, args.slots)
    fail_diff, fit_diff = report(rows, noise, args.tolerance, n_val)
    diffs = np.array([a - b for _, a, b, *_ in rows if np.isfinite(a) and np.isfinite(b)])
    n_fail = sum(1 for _, a, b, *_ in rows if not np.isfinite(a) and not np.isfinite(b))
    print(f"\npreset {args.preset}, seed {args.seed}, {len(rows)} genomes "
          f"({len(diffs)} trained on both paths, {n_fail} failed on both)")
    print(f"seed noise {noise:.4f}, floored per genome at the validation se over "
          f"{n_val} samples; tolerance {args.tolerance:g} x sqrt(2) x noise = "
          f"{args.tolerance * np.sqrt(2.0) * noise:.4f} at the seed noise")
    if diffs.size:
        print(f"|single - population|: mean {np.abs(diffs).mean():.4f}, "
              f"max {np.abs(diffs).max():.4f}; mean difference {diffs.mean():+.4f}")
    agree = len(rows) - fail_diff
    print(f"failure agreement: {agree} of {len(rows)} genomes")
    print(f"disagreements: {fail_diff} on failure, {fit_diff} on fitness beyond "
          f"tolerance; time single {t_single:.0f} s, population {t_pop:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
