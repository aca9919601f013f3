"""What several ``deap-nos`` commands build from their arguments, and how they print.

A genome named on the command line (:func:`load_genome`: a file, a zoo name, an
expression), the evaluator that ``--preset``/``--data``/``--evaluator`` describe
(:func:`make_evaluator`) and the early check that its data can be found. Kept apart
from the commands so that ``search``, ``compare``, ``show``, ``check`` and the tests
build them one way.
"""
import contextlib
import os
import sys
import warnings

from ..errors import NOSError


# ---------------------------------------------------------------------- genomes
def load_genome(spec, space=None):
    """A genome from a JSON file, a text file, a zoo name or a text expression."""
    from ..spaces.nos.genome import OptimizerGraph, parse
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
    from .. import spaces, zoo
    try:
        return zoo.genome(name)
    except NOSError:
        pass
    for space_name in spaces.names():           # ADES, Sign (autolr), TermMixEvolved ...
        space = spaces.get(space_name)
        text = space.zoo().get(name)
        if text is not None and space_name != "nos":
            return space.parse(text)
    return None


# ---------------------------------------------------------------------- evaluators
def make_evaluator(args, space=None, optimizer_factory=None):
    """The evaluator named by ``--preset`` (plus ``--data``, ``--data-dir``, ``--seed``,
    ``--train-steps``, ``--repeats``).

    ``cheap`` is the numpy softmax-regression evaluator on digits (no TensorFlow, ~0.1 s
    a genome: for smoke tests of a setup); the others are the ConvNet surrogate.
    """
    if getattr(args, "precision", "float32") != "float32" and \
            getattr(args, "backend", "tensorflow") != "jax":
        raise NOSError(f"--precision {args.precision} is an option of the JAX network: "
                       f"add --backend jax, or drop --precision")
    if args.preset == "cheap":
        if args.data not in (None, "digits"):
            raise NOSError("--preset cheap trains on the embedded digits only; "
                           "use --preset default/quick/paper/authors for other data")
        from ..evaluation.cheap import DigitsEvaluator
        steps = {"steps": args.train_steps} if args.train_steps else {}
        return DigitsEvaluator(seed=args.seed, space=space, **steps)
    _check_keras_backend(args)
    from ..evaluation.evaluator import SurrogateEvaluator
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
        from ..evaluation.population import PopulationEvaluator
        options.pop("optimizer_factory")
        evaluator = PopulationEvaluator.preset(args.preset, space=space,
                                               slots=args.slots or 1, **options,
                                               backend=getattr(args, "backend",
                                                               "tensorflow"),
                                               precision=getattr(args, "precision",
                                                                 "float32"))
        return evaluator if args.slots else evaluator.with_slots(default_slots(evaluator))
    return SurrogateEvaluator.preset(args.preset, space=space, **options)


def _check_keras_backend(args):
    """A TensorFlow-trained search under Keras' JAX or PyTorch backend would fail every
    candidate and exit 0: refuse it at the start, naming the backend."""
    keras_backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if getattr(args, "backend", "tensorflow") == "tensorflow" and keras_backend != "tensorflow":
        raise NOSError(f"the ConvNet presets train with Keras on TensorFlow, but "
                       f"KERAS_BACKEND={keras_backend}: unset it, or train in JAX with "
                       f"--backend jax")


def default_slots(evaluator=None):
    """K of the population evaluator. On CPUs 1: ``--workers`` processes each train one
    run at a time on their share of the cores (bench_population.py on 2 cores: 2
    processes x 1 slot x 1 thread train 1.5x the steps per second of 1 process x 4
    slots x 2 threads; more slots only share the same cores). With a GPU, the K where
    *evaluator*'s training throughput saturates on the first GPU, measured in a child
    process (:func:`deap_nos.evaluation.slots.probe_slots`) and printed; 16 without an evaluator."""
    from ..search.parallel import detect_gpus
    from ..evaluation.slots import GPU_CANDIDATES, probe_slots
    gpus = detect_gpus()
    if not gpus:
        return 1
    if evaluator is None:
        return GPU_CANDIDATES[0]
    _stderr(f"deap-nos: measuring how many training runs fill GPU {gpus[0]} ...")
    k, table = probe_slots(evaluator, gpus[0])
    rates = ", ".join(f"K={n}: {'out of memory' if rate is None else f'{rate:,.0f}'}"
                      for n, rate in table)
    _stderr(f"deap-nos: run-steps per second {rates}; using --slots {k}")
    return k


def batched_map(evaluator, workers):
    """The ``toolbox.map`` of a population evaluator with several slots, or None (one
    slot, or another evaluator: ``--workers`` processes evaluate one genome at a time).

    Each call's genomes are trained side by side: in this process with one GPU or none
    and one worker, else shared among one process per GPU, or ``workers`` processes on
    CPUs (each with its share of the cores)."""
    if not hasattr(evaluator, "map_over") or evaluator.slots == 1:
        return None
    from ..search.parallel import detect_gpus
    from ..spaces.nos.toolbox import process_map
    gpus = detect_gpus()
    processes = len(gpus) if gpus else workers
    return evaluator.map_over(process_map(processes)) if processes > 1 else evaluator.map


def _population(args):
    """``--evaluator population`` (the default where it applies: ConvNet presets
    without augmentation); ``single`` keeps one genome per process at a time."""
    choice = getattr(args, "evaluator", None)
    if getattr(args, "backend", "tensorflow") != "tensorflow":
        if choice == "single" or args.preset == "cheap" or _preset_value(args.preset,
                                                                       "augment"):
            raise NOSError(f"--backend {args.backend} trains with the population evaluator "
                           f"only (not --evaluator single, --preset cheap or authors)")
        return True
    if choice == "single" or choice is None and not hasattr(args, "slots"):
        return False
    if args.preset == "cheap" or _preset_value(args.preset, "augment"):
        if choice == "population":
            raise NOSError(f"--evaluator population does not run --preset {args.preset} "
                           f"(cheap is numpy; authors augments): use --evaluator single")
        return False
    return True


#: Default ``--time-limit`` of each preset, in seconds: several times the longest
#: training of one genome there (cheap: ~0.1 s; default/quick: seconds to a minute
#: on CPUs; paper/authors: CIFAR-10 trainings of many minutes).
TIME_LIMITS = {"cheap": 60.0, "default": 900.0, "quick": 900.0, "paper": 7200.0,
               "authors": 7200.0}


def time_limit(args):
    """Seconds an evaluation may run (``--time-limit``, else the preset's), None: none."""
    limit = getattr(args, "time_limit", None)
    if limit is None:
        limit = TIME_LIMITS.get(args.preset)
    return limit or None


def apply_time_limit(mapper, limit):
    """Set the per-evaluation time limit on a toolbox's process pool, if it has one."""
    from ..search.engine import registered
    from ..search.parallel import ProcessMap
    target = registered(mapper)
    if isinstance(target, ProcessMap):
        target.timeout = limit
        return True
    return False


def _preset_value(preset, key):
    from ..evaluation.evaluator import PRESETS
    return PRESETS[preset][key]


def _evaluator_settings(evaluator):
    settings = getattr(evaluator, "settings", None)
    if callable(settings):
        return settings()
    return {"repr": repr(evaluator), "steps": getattr(evaluator, "steps", None)}


def _data_name(args):
    """The data set a command trains on: ``--data``, else its preset's."""
    if args.data:
        return args.data
    return "digits" if args.preset == "cheap" else _preset_value(args.preset, "data")


def check_options(args):
    """Refuse, in one line naming the flag, options that do not fit together — before
    anything starts (TensorFlow) or is written (a run folder).

    ``--data-dir`` is read only for CIFAR-10 (``--data cifar10``, or the paper/authors
    presets): MNIST-1D is generated and digits are embedded, so a folder given with
    them would be silently ignored (or, before, fail deep in the evaluator)."""
    if getattr(args, "data_dir", None) and _data_name(args) != "cifar10":
        raise NOSError(f"--data-dir is read only for CIFAR-10 (--data cifar10, or --preset "
                       f"paper/authors); --preset {args.preset} trains on "
                       f"{_data_name(args)}, which needs no folder: drop --data-dir")
    if args.preset == "cheap" and args.data not in (None, "digits"):
        raise NOSError("--preset cheap trains on the embedded digits only; "
                       "use --preset default/quick/paper/authors for other data")


def _check_data(args):
    """Fail early, in one line, when the data set cannot be found (without loading it:
    the evaluator loads it where it trains)."""
    from .. import data
    check_options(args)
    if _data_name(args) == "cifar10":
        data.find_cifar10(args.data_dir)


# ---------------------------------------------------------------------- output
def _stderr(line):
    print(line, file=sys.stderr, flush=True)


@contextlib.contextmanager
def plain_warnings():
    """Within the block, the package's warnings (a damaged log repaired, a checkpoint
    replaced by its ``.prev``) print as ``deap-nos: warning: ...`` lines, without
    Python's source-line decoration: they are messages to the user of the command."""
    def show(message, category, filename, lineno, file=None, line=None):
        print(f"deap-nos: warning: {message}", file=file or sys.stderr, flush=True)
    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def _fmt(value):
    return "-" if value is None else f"{value:g}"
