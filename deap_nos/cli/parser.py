"""The argument parser of ``deap-nos``: every command, option and help text.

Kept in one place so that ``--help`` and the options a resume compares
(:func:`_given_options`) come from the same definitions. A wrong flag is a one-line
error with exit code 2, not argparse's usage dump.
"""
import argparse

from ..backends import BACKENDS, PRECISIONS
from .commands import cmd_check, cmd_compare, cmd_plot, cmd_show, cmd_verdict
from .search import cmd_search


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage dump) and exit code 2."""

    def error(self, message):
        self.exit(2, f"deap-nos: error: {message} (see --help)\n")


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


#: Seeds numpy accepts: ``numpy.random.seed`` takes 0 .. 2**32 - 1.
SEED_RANGE = (0, 2**32 - 1)


def _seed(text):
    """``--seed``: an integer numpy can seed with, refused by the parser otherwise."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not SEED_RANGE[0] <= value <= SEED_RANGE[1]:
        raise argparse.ArgumentTypeError(
            f"{text} is out of range: a seed is an integer from {SEED_RANGE[0]} to "
            f"{SEED_RANGE[1]} (2**32 - 1)")
    return value


def _seconds(text):
    """A time limit in seconds; 0 turns it off."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected seconds >= 0 (0: no limit), got {text}")
    return value


def _version():
    from .. import __version__
    return f"deap-nos {__version__}"


RESUME_HELP = ("continue a killed run from its folder. A run folder's checkpoints and "
               "cache are pickles, which can run code when loaded: resume only folders "
               "you wrote or trust (share results by their JSON files and "
               "evaluations.log)")


def build_parser():
    """The argument parser of ``deap-nos``."""
    parser = _Parser(prog="deap-nos", description="Evolve deep-learning optimizers "
                     "(arXiv 2404.06679) with DEAP and Keras.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    search = sub.add_parser("search", help="run a search (the main job)",
                            description="Particle-GA or regularized-evolution search; "
                            "writes a run folder and prints the best optimizers next to Adam.")
    search.add_argument("--space", default="nos",
                        help="search space: nos (the paper's graph and decays, particle GA "
                        "or regularized evolution), termmix (seed 002's term mix and its "
                        "GA), autolr (seed 003's grammar and its evolution), or one you "
                        "registered with deap_nos.spaces.register (default nos)")
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
                        help="population size (regularized evolution: default 8; termmix and "
                        "autolr: default 12)")
    search.add_argument("--generations", type=_positive, default=None,
                        help="generations after the first (termmix, autolr; default 3)")
    search.add_argument("--tasks", nargs="+", default=None, metavar="TASK",
                        help="termmix: the named tasks its fitness averages, relative to "
                        "Adam (mnist1d, digits, synthetic, mnist1d_small; default: the "
                        "preset's data)")
    search.add_argument("--cycles", type=_positive, default=40,
                        help="cycles (regularized evolution; default 40)")
    search.add_argument("--sample-size", type=_positive, default=3,
                        help="tournament sample size (regularized evolution; default 3)")
    search.add_argument("--hidden", type=_positive, default=4,
                        help="hidden nodes of random graphs (paper text 4, authors' code 5)")
    search.add_argument("--workers", type=_positive, default=None,
                        help="evaluation processes (default: one per GPU; on CPUs one per "
                        "usable core, fewer where the available memory would not hold "
                        "1.5 GB each)")
    search.add_argument("--evaluator", choices=("population", "single"), default=None,
                        help="population: train many genomes side by side in one compiled "
                        "program (default for the ConvNet presets); single: one genome "
                        "per worker process at a time")
    search.add_argument("--slots", type=_positive, default=None,
                        help="training runs side by side (--evaluator population). Default: "
                        "on a GPU, the K where training throughput stops growing, measured "
                        "at the start (16, 32, 64, ...); 1 on CPUs, where each of --workers "
                        "processes trains one run at a time on its share of the cores")
    _backend_option(search)
    _precision_option(search)
    search.add_argument("--time-limit", dest="time_limit", type=_seconds, default=None,
                        metavar="SECONDS",
                        help="seconds one evaluation may run in a worker process before it "
                        "fails (reason and stage 'timeout') and the worker is replaced, so "
                        "a hanging evaluation cannot block the search; 0: no limit. "
                        "Default per preset: cheap 60, default/quick 900, paper/authors "
                        "7200 (several times their longest training). Needs --workers 2+ "
                        "(one worker evaluates in this process)")
    search.add_argument("--top", type=_positive, default=5, help="hall-of-fame size")
    search.add_argument("--reevaluate", type=_positive, default=3, metavar="SEEDS",
                        help="re-evaluate the hall of fame with this many seeds before "
                        "ranking it (noise-aware selection; 1 turns it off; default 3)")
    search.add_argument("--no-verdict", dest="verdict", action="store_false",
                        help="skip the held-out verdict at the end")
    _verdict_options(search)
    search.add_argument("--run-dir", help="run folder (default runs/search-DATE-TIME)")
    search.add_argument("--resume", metavar="RUN", help=RESUME_HELP)
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
    check.add_argument("--semantics", choices=("default", "authors"), default="default",
                       help="'authors': the check as the authors' search code runs it "
                       "(docs/reference_authors.md)")
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
    _backend_option(verdict)
    verdict.set_defaults(func=cmd_verdict)

    plot = sub.add_parser("plot", help="redraw a run folder's plots")
    plot.add_argument("run", help="run folder written by deap-nos search")
    plot.set_defaults(func=cmd_plot)
    return parser


def _backend_option(parser):
    parser.add_argument("--backend", choices=BACKENDS, default=BACKENDS[0],
                        help="framework of the population trainer (default tensorflow; "
                        "jax: pip install \"deap-nos[jax]\", no TensorFlow needed)")


def _precision_option(parser):
    parser.add_argument("--precision", choices=PRECISIONS, default=PRECISIONS[0],
                        help="activations of the JAX network in the search (bfloat16: a "
                             "GPU speed option; weights and optimizer state stay float32; "
                             "the verdict trains in float32)")


def _verdict_options(parser):
    parser.add_argument("--verdict-seeds", dest="verdict_seeds", type=_positive, default=5,
                        help="training runs per optimizer in the verdict (default 5)")
    parser.add_argument("--verdict-top", dest="verdict_top", type=_positive, default=1,
                        help="how many of the best genomes the verdict judges (default 1)")
    parser.add_argument("--baseline-cache", dest="baseline_cache", default=None,
                        metavar="DIR",
                        help="keep the baselines' verdict rows in DIR and reuse them in "
                             "later verdicts with the same protocol, data and code "
                             "(judging many runs then trains the baselines once)")


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
    parser.add_argument("--seed", type=_seed, default=0,
                        help="seed of the whole run (0 to 2**32 - 1)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


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
