"""Measure the recommended learning rate of every zoo entry with the package's own sweep.

For each zoo name (graph genomes and the schedules LR1–LR9; ADES has no learning rate)
this runs :class:`deap_nos.evaluation.evaluator.SurrogateEvaluator` on a preset (default ``quick``:
the embedded digits, a small ConvNet, a 30-step sweep over the paper's grid
10, 1, 0.1, 0.01, 1e-3, 1e-4, 1e-5, then 300 training steps) and records the peak
learning rate the sweep chose (``info["lr"]``) and the validation accuracy reached.
An entry the quick three-rate check rejects is swept again over the whole grid.
``keras:adam`` on the same preset is the reference. The printed ``RATES`` dict is what
``deap_nos/zoo.py`` carries (``zoo.recommended``); the JSON lines keep the raw results.

Usage (slow: about a minute per entry on two shared cores)::

    nice -n 10 python benchmarks/zoo_rates.py --preset quick --seed 0 --out zoo_rates.jsonl
"""
import argparse
import json
import sys
import time


def measure(name, preset, seed, full_grid=False):
    """(chosen peak lr, validation accuracy, failure reason, steps) for one zoo name.

    ``full_grid``: no quick three-rate rejection check first (``quick_rates=()``), the
    whole grid is swept: for an entry the quick check rejects (AddSign-ld on ``quick``).
    """
    from deap_nos import zoo
    from deap_nos.evaluation.evaluator import SurrogateEvaluator
    from deap_nos.keras.builtin import BuiltinFactory, ScheduleFactory

    factory, subject = None, None
    if name.startswith("keras:"):
        factory, subject = BuiltinFactory(name.split(":", 1)[1]), name
    elif zoo.entry(name).kind == "schedule":
        factory, subject = ScheduleFactory(name), name
    else:
        subject = zoo.genome(name)
    extra = {"quick_rates": ()} if full_grid else {}
    evaluator = SurrogateEvaluator.preset(preset, seed=seed, optimizer_factory=factory,
                                          **extra)
    result = evaluator(subject)
    return (result.info.get("lr"), None if result.failed else float(result[0]),
            result.reason if result.failed else None, evaluator.steps)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="append one JSON line per entry")
    parser.add_argument("names", nargs="*", help="zoo names (default: all but ADES)")
    args = parser.parse_args(argv)
    from deap_nos import zoo
    names = args.names or ["keras:adam"] + [n for n in zoo.names() if n != "ADES"]
    rates = {}
    for name in names:
        start = time.perf_counter()
        lr, acc, reason, steps = measure(name, args.preset, args.seed)
        full = reason is not None and "quick check" in reason
        if full:   # rejected at 10, 0.01, 1e-5 only: sweep the whole grid instead
            lr, acc, reason, steps = measure(name, args.preset, args.seed, full_grid=True)
        row = {"name": name, "lr": lr, "val_acc": acc, "failure": reason, "full_grid": full,
               "preset": args.preset, "seed": args.seed, "steps": steps,
               "seconds": round(time.perf_counter() - start, 1)}
        print(json.dumps(row), flush=True)
        if args.out:
            with open(args.out, "a", encoding="utf-8") as stream:
                stream.write(json.dumps(row) + "\n")
        rates[name] = (lr, acc)
    print("RATES = {", file=sys.stderr)
    for name, (lr, acc) in rates.items():
        print(f"    {name!r}: ({lr!r}, {acc!r}),", file=sys.stderr)
    print("}", file=sys.stderr)


if __name__ == "__main__":
    main()
