"""The smaller ``deap-nos`` commands: compare, show, check, verdict, plot.

Each takes the parsed arguments, prints its result and returns the exit code;
``search``, the main job, has a module of its own (:mod:`deap_nos.cli.search`).
"""
import json
import os
import sys

from ..errors import NOSError
from .common import _check_data, _fmt, _stderr, load_genome, make_evaluator
from .report import _plots, write_csv


# ---------------------------------------------------------------------- compare
def cmd_compare(args):
    """Train several optimizers with repeats and print a mean ± std table."""
    import numpy as np

    _check_data(args)
    if args.preset == "cheap":
        raise NOSError("compare trains Keras optimizers; use --preset quick, paper or authors")
    rows = []
    for spec in args.optimizers:
        factory, subject = _compare_subject(spec)
        result = make_evaluator(args, optimizer_factory=factory)(subject)
        runs = result.info.get("runs") or [result[0]]
        if result.failed:
            rows.append((spec, float("nan"), float("nan"), result.info.get("lr"), result.reason))
        else:
            rows.append((spec, float(np.mean(runs)), float(np.std(runs)),
                         result.info.get("lr"), None))
        if not args.quiet:
            print(f"  {spec}: {rows[-1][1]:.4f} ± {rows[-1][2]:.4f}", file=sys.stderr)
    table = _comparison_table(rows, args)
    print(table)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "comparison.md"), "w", encoding="utf-8") as s:
            s.write(table + "\n")
        write_csv(os.path.join(args.out, "comparison.csv"),
                  ["optimizer", "mean", "std", "lr", "failure"], rows)
    return 0


def _compare_subject(spec):
    """(optimizer factory or None, what the evaluator is given) for one OPTIMIZER."""
    from ..keras.builtin import BuiltinFactory, ScheduleFactory
    if spec.startswith("keras:"):
        return BuiltinFactory(spec.split(":", 1)[1]), spec
    if spec in {f"LR{k}" for k in range(1, 10)}:
        return ScheduleFactory(spec), spec
    if spec == "ADES":
        raise NOSError("ADES has no learning rate to sweep; compare it with its own "
                       "script (nos.zoo.optimizer('ADES'))")
    return None, load_genome(spec)


def _comparison_table(rows, args):
    lines = [f"Validation accuracy, preset {args.preset}, data {args.data or 'of the preset'}, "
             f"{args.repeats} run(s) each (mean ± std)", "",
             "| optimizer | accuracy | best lr |", "|---|---|---|"]
    for name, mean, std, lr, reason in rows:
        value = f"failed: {reason}" if reason else f"{100 * mean:.2f} ± {100 * std:.2f}"
        lines.append(f"| {name} | {value} | {_fmt(lr)} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------- show / check / plot
def _zoo_entry(spec):
    """The zoo entry called ``spec``, or None."""
    from .. import zoo
    return zoo.ENTRIES.get(spec)


def _show_schedule(entry, total_steps=1000):
    """LR1–LR9: the equation and the learning rate over a run (peak 1, 10 % warm-up)."""
    import numpy as np
    from ..backend import NumpyBackend
    from ..keras.schedules import lr_multiplier_values
    from ..keras.optimizer import default_warmup
    from ..schedules import one_cycle
    warmup = default_warmup(total_steps)
    t = np.linspace(0, total_steps - 1, 11).round()
    factor = lr_multiplier_values(entry.name, total_steps)[t.astype(int)]
    base = one_cycle(t, total_steps, warmup, 0, NumpyBackend())
    print(f"{entry.name}: learning-rate schedule for Adam (β₂ = 0.99)")
    print(f"equation:  {entry.equation}")
    print(f"over a run of {total_steps} steps ({warmup} warm-up), peak 1 "
          f"(step 0 runs at first_lr = 1e-7):")
    print(f"  {'step':>6}  {'one_cycle':>10}  {'factor':>10}  {'lr / peak':>10}")
    for step, b, f in zip(t, base, factor):
        print(f"  {int(step):>6}  {b:>10.4g}  {f:>10.4g}  {b * f:>10.4g}")


def cmd_show(args):
    """Print a genome (equation, active graph, decay functions, JSON), or a zoo entry
    that is not a genome: LR1–LR9 (their schedule) and ADES (its equation)."""
    entry = _zoo_entry(args.genome)
    if entry is not None and entry.kind != "genome":
        from .. import zoo
        if entry.kind == "schedule":
            _show_schedule(entry)
        else:
            print(f"{entry.name}: its own Keras optimizer (not a genome of the graph space)")
            print(f"equation:  {entry.equation}")
        rec = zoo.recommended(entry.name)
        if rec is not None:
            print(f"recommended peak learning rate: {rec.learning_rate:g}")
        print(f"source:    {entry.source}")
        return 0
    genome = load_genome(args.genome)
    if entry is not None:
        from .. import zoo
        rec = zoo.recommended(entry.name)
        if rec is not None:
            print(f"recommended peak learning rate: {rec.learning_rate:g}")
    print(f"equation:  {genome}")
    if not hasattr(genome, "active_nodes"):      # a genome of another space
        print(f"space:     {genome.space.name}")
        print("json:", genome.to_json())
        return 0
    print(f"momentum:  {genome.momentum}{'  (sign flipped)' if genome.flip else ''}")
    print("active nodes:")
    for i in genome.active_nodes():
        node = genome.nodes[i]
        name = "out" if i == genome.output else f"h{i}"
        inputs = ", ".join((r if isinstance(r, str) else f"h{r}") +
                           (f" × {d}" if d is not None else "")
                           for r, d in zip(node.inputs, node.decays))
        print(f"  {name} = {node.op}({inputs})")
    decays = genome.decays()
    print("decay functions:" + ("" if decays else " none"))
    for index, position, decay in decays:
        print(f"  node {index} input {position}: {decay}")
    print("json:", genome.to_json())
    if args.plot:
        from .. import plots
        plots.plot_genome(genome, args.plot)
        print(f"graph drawn to {args.plot}")
    return 0


def cmd_check(args):
    """Run the integrity check and print the final loss per learning rate."""
    from ..spaces.nos.integrity import integrity_check
    entry = _zoo_entry(args.genome)
    if entry is not None and entry.kind != "genome":
        raise NOSError(f"{entry.name} is not a genome of the graph space ({entry.kind}); the "
                       f"integrity check runs genomes. See it with: deap-nos show {entry.name}")
    genome = load_genome(args.genome)
    result = integrity_check(genome, semantics=getattr(args, "semantics", "default"))
    verdict = "passes" if result.passed else f"fails ({result.reason})"
    print(f"{genome}: integrity check {verdict}" + (" with the sign flipped" if result.flip else ""))
    for lr, loss in zip(result.lrs, result.losses):
        print(f"  lr {lr:<8g} final loss {loss:.6g}")
    return 0 if result.passed else 1


def cmd_verdict(args):
    """Judge a finished run's best genomes on the held-out test split."""
    from ..verdicts.heldout import verdict_for_run
    result = verdict_for_run(args.run, seeds=args.verdict_seeds, top=args.verdict_top,
                             progress=None if args.quiet else _stderr,
                             backend=args.backend,
                                 baseline_cache=getattr(args, "baseline_cache", None))
    print(result.report())
    return 0


def cmd_plot(args):
    """Redraw a run folder's plots (progress, best genome, its decay functions)."""
    from ..spaces.nos.genome import OptimizerGraph
    from ..search.runlog import read_log
    path = os.path.join(args.run, "hall_of_fame.json")
    log = os.path.join(args.run, "evaluations.log")
    if not os.path.exists(path) and not os.path.exists(log):
        raise NOSError(f"{args.run} is not a run folder (no hall_of_fame.json or "
                       f"evaluations.log); give the folder a search wrote")
    hof = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as stream:
            hof = [OptimizerGraph.from_dict(e["genome"]) for e in json.load(stream)["best"]]
    records = read_log(log) if os.path.exists(log) else []

    print("wrote " + ", ".join(_plots(args.run, hof, records)))
    return 0
