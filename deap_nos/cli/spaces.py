"""``deap-nos search --space termmix|autolr``: the generational spaces' evaluator,
toolbox and genetic algorithm, on the same run folder, engine and report as ``nos``.

Each space brings its own algorithm and fitness (seed 002: a generational GA with a
fitness relative to Adam over named tasks; seed 003: grammatical evolution with the
worst accuracy over k training shards), and the command gives both the main job's
size by default: ``--population 12 --generations 3`` (12 + 3 × 12 = 48 evaluations,
the particle GA's default budget). ``--preset cheap`` trains numpy models in seconds
(the tests' fast path); the ConvNet presets train the surrogate through Keras.
"""
from ..errors import NOSError

#: the main job's budget for the generational spaces (12 + 3 × 12 = 48 evaluations)
DEFAULTS = {"population": 12, "generations": 3}


def is_generational(args):
    """True for the spaces with their own GA (``termmix``, ``autolr``)."""
    return getattr(args, "space", "nos") in ("termmix", "autolr")


def fill_defaults(args):
    """The space's population and generations where the command line gives none."""
    given = set(getattr(args, "given", ()) or ())
    if "population" not in given and not getattr(args, "resume", None):
        args.population = DEFAULTS["population"]
    if getattr(args, "generations", None) is None:
        args.generations = DEFAULTS["generations"]
    return args


def make_space_evaluator(args):
    """The fitness of ``--space`` for ``--preset``."""
    if args.space == "termmix":
        return _termmix_evaluator(args)
    if args.space == "autolr":
        return _autolr_evaluator(args)
    raise NOSError(f"--space {args.space}: no generational search for it")


def _tasks(args):
    tasks = getattr(args, "tasks", None)
    if tasks:
        return tuple(tasks)
    return ("mnist1d",) if (args.data in (None, "default", "mnist1d")) else (args.data,)


def _termmix_evaluator(args):
    from ..spaces.termmix.fitness import CheapTermMixEvaluator
    if args.preset == "cheap":
        return CheapTermMixEvaluator("cheap", seed=args.seed)
    from ..spaces.termmix.convnet import ConvNetTermMixEvaluator
    options = {"steps": args.train_steps} if args.train_steps else {}
    return ConvNetTermMixEvaluator(tasks=_tasks(args), preset=args.preset,
                                   seed=args.seed, **options)


def _autolr_evaluator(args):
    from ..spaces.autolr.algorithm import make_evaluator, preset
    if args.preset == "cheap":
        return make_evaluator(preset("cheap"), seed=args.seed)
    from ..spaces.autolr.fitness import SurrogateShards, WorstOfK
    settings = preset("paper")
    options = {"steps": args.train_steps} if args.train_steps else {}
    if args.data:
        options["data"] = args.data
    trainer = SurrogateShards(args.preset, **options)
    return WorstOfK(trainer, k=settings["k"], min_accuracy=settings["min_accuracy"],
                    seed=args.seed)


def space_toolbox(args, space, evaluator):
    """A DEAP toolbox with the space's operators, ``evaluate`` and a process map."""
    from deap import base

    from ..search.parallel import ProcessMap
    cls = individual_class(space)
    toolbox = base.Toolbox()
    toolbox.register("individual", space.random, cls)
    toolbox.register("mate", space.mate)
    toolbox.register("mutate", space.mutate)
    toolbox.register("evaluate", evaluator)
    if args.workers > 1:
        toolbox.register("map", ProcessMap(args.workers, initializer=_classes,
                                           initargs=(space.name,)))
    return toolbox


def individual_class(space):
    """``creator.<Space>Individual``: the space's genome with a maximised fitness."""
    from deap import base, creator
    name = f"{space.name.capitalize()}Individual"
    if not hasattr(creator, name):
        if not hasattr(creator, "FitnessNOS"):
            creator.create("FitnessNOS", base.Fitness, weights=(1.0,))
        creator.create(name, space.genome_class, fitness=creator.FitnessNOS)
    return getattr(creator, name)


def _classes(space_name):
    """Worker initializer: the individual class exists before individuals arrive."""
    from .. import spaces
    individual_class(spaces.get(space_name))


def run_space(args, toolbox, common):
    """The space's own algorithm: ``(population, logbook)``."""
    population = [toolbox.individual() for _ in range(args.population)]
    if args.space == "termmix":
        from ..spaces.termmix.algorithm import eaTermMix, preset
        settings = preset("paper")
        return eaTermMix(population, toolbox, args.generations, settings["cxpb"],
                         settings["mutpb"], tournsize=settings["tournsize"],
                         elite=settings["elite"], **common)
    from ..spaces.autolr.algorithm import eaAutoLR, preset
    settings = preset("paper")
    return eaAutoLR(population, toolbox, args.generations, tournsize=min(
        settings["tournsize"], args.population), cxpb=settings["cxpb"],
        mutpb=settings["mutpb"], elitism=settings["elitism"], **common)


def planned_evaluations(args):
    """The evaluations the progress bar plans for a generational search."""
    return args.population * (args.generations + 1)


def adam_of(space, cls):
    """Adam written in ``space`` (the report's baseline), or None where it has none."""
    text = space.zoo().get("Adam")
    return None if text is None else space.parse(text, cls)
