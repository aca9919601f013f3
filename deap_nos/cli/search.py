"""``deap-nos search``: a search, its run folder, its stop and its resume.

The command's job from the parsed arguments to the report: build the toolbox, record
the run's settings (or check a resume against them), run the initial phase and the
algorithm with checkpoints in the run folder, evaluate the Adam baseline, re-evaluate
the hall of fame, write the report (:mod:`deap_nos.cli.report`) and give the held-out
verdict. A Ctrl-C or SIGTERM (:mod:`deap_nos.cli.signals`) stops the workers and
prints how to resume.
"""
import argparse
import os
import random
import sys
import time

from ..search import runlock
from ..search.runlog import active_progress, shared_progress
from ..errors import NOSError
from ..search.parallel import close_map, default_workers
from .common import (_check_data, _evaluator_settings, _stderr, apply_time_limit,
                     batched_map, make_evaluator, plain_warnings, time_limit)
from .report import write_report

ADAM = "div(v_hat, sqrt_abs(s_hat))"


def cmd_search(args):
    """Run a search and write its run folder; Ctrl-C stops it resumably."""
    stored = None
    if args.resume:
        args, stored = _resumed(args)
    _check_data(args)       # one-line errors before anything starts or is written
    from .. import spaces
    spaces.get(getattr(args, "space", "nos"))        # an unknown --space: one line
    run_dir = args.resume or args.run_dir or os.path.join(
        "runs", time.strftime("search-%Y%m%d-%H%M%S"))
    os.makedirs(run_dir, exist_ok=True)
    # one writer per run folder: a second search or resume there is refused at once
    lock = runlock.acquire(run_dir, notify=_stderr)
    toolbox = None
    try:
        toolbox, space, evaluator = _search_toolbox(args)
        _write_settings(run_dir, args, evaluator, stored)
        with plain_warnings():
            return _run_search(args, run_dir, stored, toolbox, space, evaluator)
    except KeyboardInterrupt:
        close_map(getattr(toolbox, "map", None), now=True)   # kill the workers now
        print(f"\ndeap-nos: stopped. {run_dir} holds the run up to its last checkpoint; "
              f"continue it with:\n  deap-nos search --resume {run_dir}", file=sys.stderr)
        raise
    finally:
        lock.release()


def _search_toolbox(args):
    """``(toolbox, space, evaluator)`` of a search, with the run's seed set (and its
    ``--workers`` chosen, when not given, for the settings it records)."""
    import numpy as np

    from .. import spaces as _spaces
    from ..spaces.nos.space import SearchSpace
    from ..spaces.nos.toolbox import make_toolbox
    from . import spaces as generational
    if args.workers is None:
        args.workers = default_workers()
    random.seed(args.seed)
    np.random.seed(args.seed)
    if generational.is_generational(args):
        space = _spaces.get(args.space)
        generational.fill_defaults(args)
        evaluator = generational.make_space_evaluator(args)
        toolbox = generational.space_toolbox(args, space, evaluator)
        args.time_limit = time_limit(args)
        apply_time_limit(toolbox.map, args.time_limit)
        return toolbox, space, evaluator
    space = _nos_space(args, SearchSpace)
    evaluator = make_evaluator(args, space)
    batched = batched_map(evaluator, args.workers)
    semantics = getattr(evaluator, "semantics", "default")   # authors: their check too
    toolbox = make_toolbox(space, evaluator, 1 if batched else args.workers,
                           integrity={"semantics": semantics} if semantics != "default"
                           else None)
    if batched:     # the population evaluator trains each map call's genomes together
        toolbox.register("map", batched)
    else:           # a hanging evaluation fails at the limit; its worker is replaced
        args.time_limit = time_limit(args) or 0.0     # recorded (0: none) for a resume
        apply_time_limit(toolbox.map, args.time_limit or None)
    return toolbox, space, evaluator


def _nos_space(args, SearchSpace):
    """The graph space of ``--space``: the paper's (``nos``) with ``--hidden`` nodes, or
    one registered under that name (a researcher's own operations)."""
    from .. import spaces as _spaces
    if args.space == "nos":
        return SearchSpace.default(n_hidden=args.hidden)
    space = _spaces.get(args.space)
    if not isinstance(space, SearchSpace):
        raise NOSError(f"--space {args.space}: not a graph space; the command searches "
                       f"nos, termmix, autolr and graph spaces registered with "
                       f"deap_nos.spaces.register")
    return space


def _run_search(args, run_dir, stored, toolbox, space, evaluator):
    from deap import tools

    import numpy as np

    stats = tools.Statistics(lambda ind: ind.fitness.values[0])
    stats.register("max", np.max)
    stats.register("median", np.median)
    hof = tools.HallOfFame(args.top)
    started = time.perf_counter()
    # checkpoint inside a step too, every couple of evaluations per worker: a kill
    # loses at most the trainings in flight
    common = dict(stats=stats, halloffame=hof, verbose=not args.quiet,
                  checkpoint=run_dir, resume=args.resume,
                  checkpoint_every=toolbox.map.workers if hasattr(toolbox.map, "evaluator")
                  else 2 * args.workers)   # a population evaluator's map: its batch
    with shared_progress(_progress_bar(args)):
        population, logbook = _run_phases(args, toolbox, stored, run_dir, common)
    baseline = _evaluate_baseline(toolbox, space, run_dir)
    best = _reevaluate(hof, evaluator, toolbox, args)
    elapsed = time.perf_counter() - started
    close_map(toolbox.map)
    counters = getattr(evaluator, "counters", None)
    report = write_report(run_dir, best, baseline, logbook, args, elapsed,
                          training=counters() if callable(counters) else None)
    from ..search import runfolder
    runfolder.record_finish(run_dir)
    print(report)
    if args.verdict and args.preset != "cheap":
        from ..verdicts.heldout import verdict_for_run
        result = verdict_for_run(run_dir, seeds=args.verdict_seeds, top=args.verdict_top,
                                 progress=None if args.quiet else _stderr,
                                 backend=args.backend,
                                 baseline_cache=getattr(args, "baseline_cache", None))
        print("\n" + result.report())
    return 0


def _progress_bar(args):
    """One bar for the whole search, from the initial population's first evaluation:
    its total is the planned evaluations (the algorithm's first step re-uses the
    initial population's, re-drawn mutants add theirs), and it ends at the count of
    evaluations the report gives."""
    from ..search.runlog import ProgressBar
    from . import spaces as generational
    bar = ProgressBar(0, enabled=not args.quiet)
    if generational.is_generational(args):
        bar.reserve(generational.planned_evaluations(args))
    elif args.algorithm == "particle":
        bar.reserve(args.factor * args.particles + args.particles
                    + args.steps * args.particles * args.mutations)
    else:
        bar.reserve(args.population + args.cycles)
    if not args.resume:
        bar.draw()               # at 0, before the first evaluation
    return bar


def _run_phases(args, toolbox, stored, run_dir, common):
    """The initial population and the algorithm: ``(population, logbook)``."""
    from ..search import algorithms
    from . import spaces as generational
    if generational.is_generational(args):
        return generational.run_space(args, toolbox, common)
    if args.algorithm == "particle":
        population = _initial_population(args, toolbox, run_dir)
        return algorithms.eaParticle(population, toolbox, args.steps, args.mutations,
                                     **common)
    # the batch is the first run's worker count, so a resume with other --workers
    # produces the same children
    first = stored.get("workers", args.workers) if stored else args.workers
    population = [toolbox.individual() for _ in range(args.population)]
    return algorithms.eaRegularized(population, toolbox, args.cycles, args.sample_size,
                                    batch_size=first, **common)


def _initial_population(args, toolbox, run_dir):
    """The initial phase's particles; on a resume whose ``initial.pkl`` (and its
    ``.prev``) is lost or unreadable while the algorithm's checkpoint is there, that
    checkpoint holds the particles: placeholders are passed and the algorithm resumes
    (with a warning) instead of refusing the run."""
    import warnings

    from ..search import algorithms, checkpoint
    try:
        return algorithms.initial_population(
            toolbox, args.particles, factor=args.factor, checkpoint=run_dir,
            resume=args.resume)
    except checkpoint.CheckpointError as error:
        files = checkpoint.run_files(run_dir)
        if not args.resume or not any(os.path.exists(files.checkpoint + suffix) for
                                      suffix in ("", checkpoint.PREVIOUS_SUFFIX)):
            raise
        warnings.warn(f"{files.initial} cannot be used ({error}); the algorithm's "
                      f"checkpoint {files.checkpoint} holds the particles: resuming it",
                      RuntimeWarning, stacklevel=2)
    bar = active_progress()
    if bar is not None:        # the bar still counts the initial phase's evaluations
        view = bar.phase(args.factor * args.particles)
        view.done = view.total = _initial_evaluations(files.log)
    return [toolbox.individual() for _ in range(args.particles)]   # the RNG is restored


def _initial_evaluations(log):
    """How many evaluations the initial phase logged (its records in *log*)."""
    import warnings

    from ..search.runlog import read_log
    if not os.path.exists(log):
        return 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # the resume reports the log's damage
        records = read_log(log)
    return sum(str(r.get("phase", "")).startswith("initial_population") for r in records)


def _reevaluate(hof, evaluator, toolbox, args):
    """Noise-aware selection: the hall of fame re-evaluated with more seeds, best first."""
    best = [ind for ind in hof if ind.fitness.values[0] >= 0.0]
    if args.reevaluate <= 1 or not best or not hasattr(evaluator, "repeats"):
        return list(hof)
    from ..verdicts.heldout import reevaluate
    if not args.quiet:
        _stderr(f"re-evaluating the top {len(best)} with {args.reevaluate} seeds each")
    return reevaluate(best, evaluator, repeats=args.reevaluate, map=toolbox.map)


def _evaluate_baseline(toolbox, space, run_dir):
    """Adam-in-the-space on the same evaluator (stored, so a resume does not redo it)."""
    from ..search import checkpoint
    path = os.path.join(run_dir, "baseline.pkl")
    if os.path.exists(path):
        try:
            return checkpoint.load(path)
        except checkpoint.CheckpointError:
            pass             # damaged by a kill: evaluate it again
    from ..spaces.nos.genome import parse
    from ..spaces.nos.toolbox import individual_class
    from . import spaces as generational
    if getattr(space, "name", "nos") in ("termmix", "autolr"):
        adam = generational.adam_of(space, generational.individual_class(space))
        if adam is None:          # a space that cannot write Adam: no baseline line
            return None
    else:
        adam = parse(ADAM, space, cls=individual_class())
    (result,) = list(toolbox.map(toolbox.evaluate, [adam]))
    adam.fitness.values = tuple(result)
    adam.info = getattr(result, "info", {})
    checkpoint.save(path, adam)
    return adam


def _resumed(args):
    """``(args, stored settings)`` of ``--resume DIR``: the run's recorded options,
    after refusing options given on this command line that conflict with them."""
    from ..search import runfolder
    if not os.path.isdir(args.resume):
        raise NOSError(f"--resume {args.resume}: no such run folder")
    stored = runfolder.read_settings(args.resume)
    options = {k: v for k, v in vars(args).items() if k not in ("func", "given", "argv")}
    merged = runfolder.resume_options(options, getattr(args, "given", ()), stored,
                                      args.resume)
    if not merged.get("quiet"):
        print(f"deap-nos: resuming {args.resume} with its settings "
              f"({runfolder.summary(merged)})", file=sys.stderr)
    return argparse.Namespace(func=args.func, argv=getattr(args, "argv", None),
                              **merged), stored


def _write_settings(run_dir, args, evaluator, stored=None):
    """settings.json: the options, the evaluator and the environment of a new run;
    a resume keeps them and adds itself to ``resumes``."""
    from ..search import runfolder
    options = {k: v for k, v in vars(args).items() if k not in ("func", "given", "argv")}
    argv = getattr(args, "argv", None)
    if stored is not None:
        runfolder.record_resume(run_dir, stored, options, argv)
    else:
        runfolder.write_settings(run_dir, runfolder.new_settings(
            options, _evaluator_settings(evaluator), argv))
