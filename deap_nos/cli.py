"""The ``deap-nos`` command: search, verdict, compare, show, check, plot.

``deap-nos search`` is the main job: a particle-GA (or regularized-evolution) search on
the generated MNIST-1D data with the ``default`` evaluator, which finishes in minutes on
a laptop CPU and writes a run folder (checkpoint, evaluation log, JSON hall of fame,
plots, report), then re-evaluates its best with more seeds and gives the held-out
verdict against Adam (``deap-nos verdict``). A wrong flag or a missing data directory
gets a one-line error.
"""
import argparse
import json
import os
import random
import signal
import sys
import threading
import time

from .errors import NOSError

ADAM = "div(v_hat, sqrt_abs(s_hat))"


# ---------------------------------------------------------------------- genomes
def load_genome(spec, space=None):
    """A genome from a JSON file, a text file, a zoo name or a text expression."""
    from .genome import OptimizerGraph, parse
    if os.path.isfile(spec):
        with open(spec, encoding="utf-8") as stream:
            text = stream.read().strip()
        if text.startswith("{"):
            return OptimizerGraph.from_json(text, space)
        return parse(text, space)
    try:
        return parse(spec, space)
    except NOSError as error:
        genome = _zoo_genome(spec)
        if genome is None:
            raise error
        return genome


def _zoo_genome(name):
    """The zoo's genome called ``name``, or None (zoo names are not expressions)."""
    if not name.replace("-", "").replace("_", "").isalnum():
        return None
    from . import zoo
    try:
        return zoo.genome(name)
    except NOSError:
        return None


def make_evaluator(args, space=None, optimizer_factory=None):
    """The evaluator named by ``--preset`` (plus ``--data``, ``--data-dir``, ``--seed``,
    ``--train-steps``, ``--repeats``).

    ``cheap`` is the numpy softmax-regression evaluator on digits (no TensorFlow, ~0.1 s
    a genome: for smoke tests of a setup); the others are the ConvNet surrogate.
    """
    if args.preset == "cheap":
        if args.data not in (None, "digits"):
            raise NOSError("--preset cheap trains on the embedded digits only; "
                           "use --preset default/quick/paper/authors for other data")
        from .cheap import DigitsEvaluator
        steps = {"steps": args.train_steps} if args.train_steps else {}
        return DigitsEvaluator(seed=args.seed, space=space, **steps)
    from .evaluator import SurrogateEvaluator
    options = {"seed": args.seed, "optimizer_factory": optimizer_factory}
    if args.data:
        options["data"] = args.data
    if args.data_dir:
        options["data_options"] = {"data_dir": args.data_dir}
    if getattr(args, "repeats", None):
        options["repeats"] = args.repeats
    if args.train_steps:
        options["steps"] = args.train_steps
        options["stop_after"] = min(args.train_steps, _preset_value(args.preset, "stop_after"))
        options["eval_every"] = min(args.train_steps, _preset_value(args.preset, "eval_every"))
    if optimizer_factory is None and _population(args):
        from .population import PopulationEvaluator
        options.pop("optimizer_factory")
        return PopulationEvaluator.preset(args.preset, space=space, slots=args.slots, **options)
    return SurrogateEvaluator.preset(args.preset, space=space, **options)


def _population(args):
    """``--evaluator population`` (the default where it applies: ConvNet presets
    without augmentation); ``single`` keeps one genome per process at a time."""
    choice = getattr(args, "evaluator", None)
    if choice == "single" or choice is None and not hasattr(args, "slots"):
        return False
    if args.preset == "cheap" or _preset_value(args.preset, "augment"):
        if choice == "population":
            raise NOSError(f"--evaluator population does not run --preset {args.preset} "
                           f"(cheap is numpy; authors augments): use --evaluator single")
        return False
    return True


def _preset_value(preset, key):
    from .evaluator import PRESETS
    return PRESETS[preset][key]


def _evaluator_settings(evaluator):
    settings = getattr(evaluator, "settings", None)
    if callable(settings):
        return settings()
    return {"repr": repr(evaluator), "steps": getattr(evaluator, "steps", None)}


def _check_data(args):
    """Fail early, in one line, when the data set cannot be found (without loading it:
    the evaluator loads it where it trains)."""
    from . import data
    name = args.data or (None if args.preset == "cheap" else _preset_value(args.preset, "data"))
    if name == "cifar10":
        data.find_cifar10(args.data_dir)


# ---------------------------------------------------------------------- search
def cmd_search(args):
    """Run a search and write its run folder; Ctrl-C stops it resumably."""
    stored = None
    if args.resume:
        args, stored = _resumed(args)
    run_dir = args.resume or args.run_dir or os.path.join(
        "runs", time.strftime("search-%Y%m%d-%H%M%S"))
    os.makedirs(run_dir, exist_ok=True)
    _check_data(args)
    toolbox = None
    try:
        toolbox, space, evaluator = _search_toolbox(args)
        _write_settings(run_dir, args, evaluator, stored)
        return _run_search(args, run_dir, stored, toolbox, space, evaluator)
    except KeyboardInterrupt:
        _stop_map(toolbox)
        print(f"\ndeap-nos: stopped. {run_dir} holds the run up to its last checkpoint; "
              f"continue it with:\n  deap-nos search --resume {run_dir}", file=sys.stderr)
        raise


def _search_toolbox(args):
    """``(toolbox, space, evaluator)`` of a search, with the run's seed set."""
    import numpy as np

    from .space import SearchSpace
    from .toolbox import make_toolbox
    random.seed(args.seed)
    np.random.seed(args.seed)
    space = SearchSpace.default(n_hidden=args.hidden)
    evaluator = make_evaluator(args, space)
    batched = hasattr(evaluator, "map") and hasattr(evaluator, "slots")
    toolbox = make_toolbox(space, evaluator, 1 if batched else args.workers)
    if batched:     # the population evaluator trains each map call's genomes together
        toolbox.register("map", evaluator.map)
    return toolbox, space, evaluator


def _run_search(args, run_dir, stored, toolbox, space, evaluator):
    from deap import tools

    import numpy as np

    from . import algorithms
    stats = tools.Statistics(lambda ind: ind.fitness.values[0])
    stats.register("max", np.max)
    stats.register("median", np.median)
    hof = tools.HallOfFame(args.top)
    started = time.perf_counter()
    # checkpoint inside a step too, every couple of evaluations per worker: a kill
    # loses at most the trainings in flight
    common = dict(stats=stats, halloffame=hof, verbose=not args.quiet,
                  checkpoint=run_dir, resume=args.resume,
                  checkpoint_every=getattr(evaluator, "map_batch", 2 * args.workers))
    if args.algorithm == "particle":
        population = algorithms.initial_population(
            toolbox, args.particles, factor=args.factor, checkpoint=run_dir,
            resume=args.resume)
        population, logbook = algorithms.eaParticle(
            population, toolbox, args.steps, args.mutations, **common)
    else:
        # the batch is the first run's worker count, so a resume with other --workers
        # produces the same children
        first = stored.get("workers", args.workers) if stored else args.workers
        population = [toolbox.individual() for _ in range(args.population)]
        population, logbook = algorithms.eaRegularized(
            population, toolbox, args.cycles, args.sample_size, batch_size=first,
            **common)
    baseline = _evaluate_baseline(toolbox, space, run_dir)
    best = _reevaluate(hof, evaluator, toolbox, args)
    elapsed = time.perf_counter() - started
    _close_map(toolbox)
    report = write_report(run_dir, best, baseline, logbook, args, elapsed)
    print(report)
    if args.verdict and args.preset != "cheap":
        from .heldout import verdict_for_run
        result = verdict_for_run(run_dir, seeds=args.verdict_seeds, top=args.verdict_top,
                                 progress=None if args.quiet else _stderr)
        print("\n" + result.report())
    return 0


def _stderr(line):
    print(line, file=sys.stderr, flush=True)


def _reevaluate(hof, evaluator, toolbox, args):
    """Noise-aware selection: the hall of fame re-evaluated with more seeds, best first."""
    best = [ind for ind in hof if ind.fitness.values[0] >= 0.0]
    if args.reevaluate <= 1 or not best or not hasattr(evaluator, "repeats"):
        return list(hof)
    from .heldout import reevaluate
    if not args.quiet:
        _stderr(f"re-evaluating the top {len(best)} with {args.reevaluate} seeds each")
    return reevaluate(best, evaluator, repeats=args.reevaluate, map=toolbox.map)


def _evaluate_baseline(toolbox, space, run_dir):
    """Adam-in-the-space on the same evaluator (stored, so a resume does not redo it)."""
    from . import checkpoint
    path = os.path.join(run_dir, "baseline.pkl")
    if os.path.exists(path):
        try:
            return checkpoint.load(path)
        except checkpoint.CheckpointError:
            pass             # damaged by a kill: evaluate it again
    from .genome import parse
    from .toolbox import individual_class
    adam = parse(ADAM, space, cls=individual_class())
    (result,) = list(toolbox.map(toolbox.evaluate, [adam]))
    adam.fitness.values = tuple(result)
    adam.info = getattr(result, "info", {})
    checkpoint.save(path, adam)
    return adam


def _stop_map(toolbox):
    """Kill a process pool's workers at once (an interrupted search)."""
    stop = getattr(getattr(toolbox, "map", None), "terminate", None)
    if callable(stop):
        stop()


def _close_map(toolbox):
    close = getattr(toolbox.map, "close", None)
    if callable(close):
        close()


def _resumed(args):
    """``(args, stored settings)`` of ``--resume DIR``: the run's recorded options,
    after refusing options given on this command line that conflict with them."""
    from . import runfolder
    if not os.path.isdir(args.resume):
        raise NOSError(f"--resume {args.resume}: no such run folder")
    stored = runfolder.read_settings(args.resume)
    options = {k: v for k, v in vars(args).items() if k not in ("func", "given")}
    merged = runfolder.resume_options(options, getattr(args, "given", ()), stored,
                                      args.resume)
    if not merged.get("quiet"):
        print(f"deap-nos: resuming {args.resume} with its settings "
              f"({runfolder.summary(merged)})", file=sys.stderr)
    return argparse.Namespace(func=args.func, **merged), stored


def _write_settings(run_dir, args, evaluator, stored=None):
    """settings.json: the options, the evaluator and the environment of a new run;
    a resume keeps them and adds itself to ``resumes``."""
    from . import runfolder
    options = {k: v for k, v in vars(args).items() if k not in ("func", "given")}
    if stored is not None:
        runfolder.record_resume(run_dir, stored, options)
    else:
        runfolder.write_settings(run_dir, runfolder.new_settings(
            options, _evaluator_settings(evaluator)))


def _entry(ind):
    info = getattr(ind, "info", {}) or {}
    search = info.get("search_fitness")
    return {"equation": str(ind), "fitness": ind.fitness.values[0], "lr": info.get("lr"),
            "search_fitness": search[0] if search else ind.fitness.values[0],
            "runs": info.get("runs"), "genome": ind.to_dict()}


def write_report(run_dir, hof, baseline, logbook, args, elapsed):
    """Write ``hall_of_fame.json``, plots and ``report.md``; return the report text."""
    from .runlog import read_log
    entries = [_entry(ind) for ind in hof]
    with open(os.path.join(run_dir, "hall_of_fame.json"), "w", encoding="utf-8") as stream:
        json.dump({"best": entries, "baseline": {"Adam": _entry(baseline)}}, stream, indent=2)
    log_path = os.path.join(run_dir, "evaluations.log")
    records = read_log(log_path) if os.path.exists(log_path) else []
    _plots(run_dir, hof, records)
    failures = sum(1 for r in records if r.get("failed"))
    lines = [f"# deap-nos search — {args.algorithm}, preset {args.preset}, "
             f"data {args.data or 'of the preset'}",
             "",
             f"{len(records)} evaluations ({failures} failed) in {elapsed:.0f} s; "
             f"run folder {run_dir}",
             "",
             "| rank | fitness | search fitness | best lr | equation |",
             "|---|---|---|---|---|"]
    for rank, entry in enumerate(entries, 1):
        lines.append(f"| {rank} | {entry['fitness']:.4f} | {entry['search_fitness']:.4f} | "
                     f"{_fmt(entry['lr'])} | `{entry['equation']}` |")
    base = _entry(baseline)
    lines.append(f"| Adam | {base['fitness']:.4f} | {base['search_fitness']:.4f} | "
                 f"{_fmt(base['lr'])} | `{base['equation']}` |")
    seeds = getattr(args, "reevaluate", 1)
    lines += ["", "Fitness: best validation accuracy on the surrogate (failed = -1.0)"
              + (f", the mean of {seeds} seeds for the hall of fame (noise-aware selection; "
                 f"'search fitness' is the one seed the search saw)." if seeds > 1 else "."),
              "", "Plots: progress.png, best_genome.png, best_decays.png."]
    text = "\n".join(lines)
    with open(os.path.join(run_dir, "report.md"), "w", encoding="utf-8") as stream:
        stream.write(text + "\n")
    return text


def _fmt(value):
    return "-" if value is None else f"{value:g}"


def _training_steps(run_dir):
    """The evaluator's training length, read from the run's settings (for decay plots)."""
    try:
        with open(os.path.join(run_dir, "settings.json"), encoding="utf-8") as stream:
            return int(json.load(stream)["evaluator"]["steps"])
    except (OSError, KeyError, TypeError, ValueError):
        return 1000


def _plots(run_dir, hof, records):
    from . import plots
    if records:
        flat = [{"fitness": (r["fitness"] or [float("nan")])[0], "failed": r.get("failed"),
                 "particle": r.get("particle")} for r in records]
        plots.plot_progress(flat, os.path.join(run_dir, "progress.png"))
    if len(hof):
        plots.plot_genome(hof[0], os.path.join(run_dir, "best_genome.png"))
        plots.plot_decays(hof[0], total_steps=_training_steps(run_dir),
                          path=os.path.join(run_dir, "best_decays.png"))


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
        with open(os.path.join(args.out, "comparison.csv"), "w", encoding="utf-8") as s:
            s.write("optimizer,mean,std,lr,failure\n")
            for name, mean, std, lr, reason in rows:
                s.write(f"{name},{mean},{std},{lr},{reason or ''}\n")
    return 0


def _compare_subject(spec):
    """(optimizer factory or None, what the evaluator is given) for one OPTIMIZER."""
    from .keras.builtin import BuiltinFactory, ScheduleFactory
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
def cmd_show(args):
    """Print a genome: equation, active graph, decay functions, JSON."""
    genome = load_genome(args.genome)
    print(f"equation:  {genome}")
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
        from . import plots
        plots.plot_genome(genome, args.plot)
        print(f"graph drawn to {args.plot}")
    return 0


def cmd_check(args):
    """Run the integrity check and print the final loss per learning rate."""
    from .integrity import integrity_check
    genome = load_genome(args.genome)
    result = integrity_check(genome)
    verdict = "passes" if result.passed else f"fails ({result.reason})"
    print(f"{genome}: integrity check {verdict}" + (" with the sign flipped" if result.flip else ""))
    for lr, loss in zip(result.lrs, result.losses):
        print(f"  lr {lr:<8g} final loss {loss:.6g}")
    return 0 if result.passed else 1


def cmd_verdict(args):
    """Judge a finished run's best genomes on the held-out test split."""
    from .heldout import verdict_for_run
    result = verdict_for_run(args.run, seeds=args.verdict_seeds, top=args.verdict_top,
                             progress=None if args.quiet else _stderr)
    print(result.report())
    return 0


def cmd_plot(args):
    """Redraw a run folder's plots (progress, best genome, its decay functions)."""
    from .genome import OptimizerGraph
    from .runlog import read_log
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

    _plots(args.run, hof, records)
    print("wrote " + ", ".join(p for p in ("progress.png", "best_genome.png", "best_decays.png")
                               if os.path.exists(os.path.join(args.run, p))))
    return 0


# ---------------------------------------------------------------------- parser
class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage dump) and exit code 2."""

    def error(self, message):
        self.exit(2, f"deap-nos: error: {message} (see --help)\n")


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def build_parser():
    """The argument parser of ``deap-nos``."""
    parser = _Parser(prog="deap-nos", description="Evolve deep-learning optimizers "
                     "(arXiv 2404.06679) with DEAP and Keras.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    search = sub.add_parser("search", help="run a search (the main job)",
                            description="Particle-GA or regularized-evolution search; "
                            "writes a run folder and prints the best optimizers next to Adam.")
    search.add_argument("--algorithm", choices=("particle", "regularized"), default="particle")
    _data_options(search)
    search.add_argument("--particles", type=_positive, default=4,
                        help="particles n (particle GA; default 4)")
    search.add_argument("--steps", type=_positive, default=3,
                        help="time steps k (particle GA; default 3)")
    search.add_argument("--mutations", type=_positive, default=3,
                        help="children m per particle and step (particle GA; default 3)")
    search.add_argument("--factor", type=_positive, default=3,
                        help="initial population = factor × particles random genomes "
                        "(paper: 10; default 3)")
    search.add_argument("--population", type=_positive, default=8,
                        help="population size (regularized evolution; default 8)")
    search.add_argument("--cycles", type=_positive, default=40,
                        help="cycles (regularized evolution; default 40)")
    search.add_argument("--sample-size", type=_positive, default=3,
                        help="tournament sample size (regularized evolution; default 3)")
    search.add_argument("--hidden", type=_positive, default=4,
                        help="hidden nodes of random graphs (paper text 4, authors' code 5)")
    search.add_argument("--workers", type=_positive, default=min(2, os.cpu_count() or 1),
                        help="evaluation processes (default: up to 2)")
    search.add_argument("--evaluator", choices=("population", "single"), default=None,
                        help="population: train many genomes side by side in one compiled "
                        "program (default for the ConvNet presets); single: one genome "
                        "per worker process at a time")
    search.add_argument("--slots", type=_positive, default=16,
                        help="training runs side by side (--evaluator population; default 16)")
    search.add_argument("--top", type=_positive, default=5, help="hall-of-fame size")
    search.add_argument("--reevaluate", type=_positive, default=3, metavar="SEEDS",
                        help="re-evaluate the hall of fame with this many seeds before "
                        "ranking it (noise-aware selection; 1 turns it off; default 3)")
    search.add_argument("--no-verdict", dest="verdict", action="store_false",
                        help="skip the held-out verdict at the end")
    _verdict_options(search)
    search.add_argument("--run-dir", help="run folder (default runs/search-DATE-TIME)")
    search.add_argument("--resume", metavar="RUN", help="continue a killed run from its folder")
    search.set_defaults(func=cmd_search)

    compare = sub.add_parser("compare", help="train optimizers side by side (Table 11 style)",
                             description="Train each optimizer with the evaluator's "
                             "learning-rate test and repeats; print mean ± std.")
    compare.add_argument("optimizers", nargs="+", metavar="OPTIMIZER",
                         help="zoo name (Opt6, A1, AdamSpace…), genome file, expression, "
                         "or keras:NAME for a Keras built-in (keras:adam)")
    _data_options(compare)
    compare.add_argument("--repeats", type=_positive, default=3, help="runs per optimizer")
    compare.add_argument("--out", help="folder for comparison.md and comparison.csv")
    compare.set_defaults(func=cmd_compare)

    show = sub.add_parser("show", help="print a genome's equation, graph, decays, JSON")
    show.add_argument("genome", help="expression, zoo name, or genome file (JSON or text)")
    show.add_argument("--plot", metavar="PNG", help="also draw the graph to this file")
    show.set_defaults(func=cmd_show)

    check = sub.add_parser("check", help="run the integrity check on a genome")
    check.add_argument("genome", help="expression, zoo name, or genome file (JSON or text)")
    check.set_defaults(func=cmd_check)

    verdict = sub.add_parser("verdict", help="judge a run's best genomes against Adam on "
                             "the held-out test split",
                             description="Retrain the run's top genomes and the baselines "
                             "(AdamSpace, Keras Adam, momentum SGD) on train+validation "
                             "with several seeds; score on test; Welch and Mann-Whitney "
                             "p-values against Keras Adam.")
    verdict.add_argument("run", help="run folder written by deap-nos search")
    _verdict_options(verdict)
    verdict.add_argument("--quiet", action="store_true", help="no progress output")
    verdict.set_defaults(func=cmd_verdict)

    plot = sub.add_parser("plot", help="redraw a run folder's plots")
    plot.add_argument("run", help="run folder written by deap-nos search")
    plot.set_defaults(func=cmd_plot)
    return parser


def _verdict_options(parser):
    parser.add_argument("--verdict-seeds", dest="verdict_seeds", type=_positive, default=5,
                        help="training runs per optimizer in the verdict (default 5)")
    parser.add_argument("--verdict-top", dest="verdict_top", type=_positive, default=1,
                        help="how many of the best genomes the verdict judges (default 1)")


def _data_options(parser):
    parser.add_argument("--data", choices=("default", "mnist1d", "digits", "cifar10"),
                        default=None, help="data set (default: the preset's): MNIST-1D "
                        "(generated, the default preset's), the embedded digits, CIFAR-10")
    parser.add_argument("--data-dir", help="folder holding cifar-10-batches-py (for --data cifar10)")
    parser.add_argument("--preset", choices=("default", "quick", "paper", "authors", "cheap"),
                        default="default", help="evaluator settings: default (1-D ConvNet "
                        "on MNIST-1D, seconds a genome), quick (ConvNet on digits), paper, "
                        "authors (CIFAR-10 settings), cheap (numpy softmax regression on "
                        "digits, for smoke tests)")
    parser.add_argument("--train-steps", type=_positive, default=None,
                        help="override the preset's training steps")
    parser.add_argument("--seed", type=int, default=0, help="seed of the whole run")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


_STOP = {"signal": signal.SIGINT}


def _stop(signum, frame):
    _STOP["signal"] = signum
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _stop_on_signals():
    """Make SIGINT (Ctrl-C) and SIGTERM (a scheduler's stop) raise KeyboardInterrupt,
    also when the command was started with SIGINT ignored (a shell script's
    background job); return the previous handlers."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    _STOP["signal"] = signal.SIGINT
    return {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}


def _restore_signals(previous):
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def _given_options(argv):
    """The destinations of the options written in *argv* (not filled in by defaults):
    the same parser, every default suppressed."""
    parser = build_parser()
    for action in parser._actions:   # argparse has no public way to list subparsers
        choices = getattr(action, "choices", None)
        for sub in (choices.values() if isinstance(choices, dict) else ()):
            if isinstance(sub, argparse.ArgumentParser):
                for option in sub._actions:
                    option.default = argparse.SUPPRESS
    given = vars(parser.parse_args(argv))
    return set(given) - {"command", "func"}


def main(argv=None):
    """Entry point of the ``deap-nos`` console command."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.given = _given_options(argv)
    previous = _stop_on_signals()
    try:
        return args.func(args)
    except NOSError as exc:
        print(f"deap-nos: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.command != "search":     # a search says how to resume itself
            print("deap-nos: interrupted", file=sys.stderr)
        return 128 + _STOP["signal"]
    finally:
        _restore_signals(previous)


if __name__ == "__main__":
    sys.exit(main())
