"""The ``deap-nos`` command: search, verdict, compare, show, check, plot.

``deap-nos search`` is the main job: a particle-GA (or regularized-evolution) search on
the generated MNIST-1D data with the ``default`` evaluator, which finishes in minutes on
a laptop CPU and writes a run folder (checkpoint, evaluation log, JSON hall of fame,
plots, report), then re-evaluates its best with more seeds and gives the held-out
verdict against Adam (``deap-nos verdict``). A wrong flag or a missing data directory
gets a one-line error.

The package holds :func:`main` and, one module each, the argument parser
(:mod:`~deap_nos.cli.parser`), the search command (:mod:`~deap_nos.cli.search`) and
the report it writes (:mod:`~deap_nos.cli.report`), the other commands
(:mod:`~deap_nos.cli.commands`), what they share (:mod:`~deap_nos.cli.common`:
genomes and evaluators from arguments) and the signal handling
(:mod:`~deap_nos.cli.signals`). ``python -m deap_nos.cli`` runs :func:`main`.
"""
import os
import sys

from ..errors import NOSError
from .commands import cmd_check, cmd_compare, cmd_plot, cmd_show, cmd_verdict
from .common import load_genome, make_evaluator
from .parser import _given_options, build_parser
from .report import write_report
from .search import ADAM, cmd_search
from .signals import _STOP, _restore_signals, _stop_on_signals

__all__ = ["main", "build_parser", "load_genome", "make_evaluator", "write_report",
           "cmd_search", "cmd_compare", "cmd_show", "cmd_check", "cmd_verdict",
           "cmd_plot", "ADAM"]


def main(argv=None):
    """Entry point of the ``deap-nos`` console command."""
    from ..backends.tensorflow.quiet import quiet_tensorflow
    quiet_tensorflow()          # no TensorFlow start-up notices in the output
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.given = _given_options(argv)
    args.argv = argv            # recorded in a run folder's settings.json
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
