"""The settings of a ``deap-nos search`` run folder, and what a resume may change.

``settings.json`` records the command's options, the evaluator's settings and the
environment that produced the run (:mod:`deap_nos.search.provenance`). ``deap-nos search
--resume DIR`` continues the run *with these settings*: an option given again on the
command line must have its recorded value — a resume with another ``--preset`` or
``--seed`` would train the remaining genomes with another evaluator than the first
ones, and the result would match no straight run — except the options in
:data:`RESUMABLE`, which change how the run is executed, not what it computes.

``settings.json`` also records the command line (``command_line``), when the run
started and last finished (``started``, ``finished``), each resume's time and command
line, and the package's git revision when it runs from a checkout.

A run folder has one writer at a time: ``deap-nos search`` holds ``run.lock``
(:mod:`deap_nos.search.runlock`) while it runs, so a second search or a resume there is
refused, naming the owner's PID. A resume repairs ``evaluations.log`` from the
evaluation cache and moves what it removes to ``evaluations.log.dropped``
(:func:`deap_nos.search.runlog.restore_log`).

A run folder is trusted input: its checkpoints and cache are pickles, which can run
code when loaded. The shareable results are its JSON files (``settings.json``,
``hall_of_fame.json``) and ``evaluations.log``.
"""
import json
import os
import time

from ..errors import NOSError
from .provenance import environment
from .checkpoint import write_atomic

SETTINGS_NAME = "settings.json"

#: Options a resume may change: they do not change what the run computes.
RESUMABLE = ("workers", "quiet", "time_limit", "baseline_cache")

#: Keys of settings.json that are not command-line options.
NOT_OPTIONS = ("evaluator", "environment", "resumes", "command", "resume", "run_dir",
               "command_line", "started", "finished", "argv")


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def command_line(argv):
    """The command as typed: ``["deap-nos", "search", ...]`` (None if unknown)."""
    return None if argv is None else ["deap-nos", *[str(a) for a in argv]]


def settings_path(run_dir):
    return os.path.join(run_dir, SETTINGS_NAME)


def read_settings(run_dir):
    """The settings a search recorded in *run_dir*; NOSError if there are none."""
    path = settings_path(run_dir)
    try:
        with open(path, encoding="utf-8") as stream:
            settings = json.load(stream)
    except FileNotFoundError:
        raise NOSError(f"--resume {run_dir}: no {SETTINGS_NAME}, so not a folder written "
                       "by deap-nos search; start a run there with --run-dir") from None
    except (OSError, ValueError) as error:
        raise NOSError(f"--resume {run_dir}: {path} is damaged ({error}); it records the "
                       "run's options, so the run cannot be resumed exactly") from None
    if not isinstance(settings, dict):
        raise NOSError(f"--resume {run_dir}: {path} does not hold a settings object")
    return settings


def write_settings(run_dir, settings):
    """Write ``settings.json`` atomically (a kill leaves the old file or the new one)."""
    text = json.dumps(settings, indent=2, default=str) + "\n"
    write_atomic(settings_path(run_dir), text.encode("utf-8"), fsync=False)


def new_settings(options, evaluator_settings, argv=None):
    """The settings of a new run: its options, evaluator, environment, command line
    and start time (``finished`` is added by :func:`record_finish`)."""
    settings = {k: v for k, v in options.items() if k != "argv"}
    settings["evaluator"] = evaluator_settings
    settings["environment"] = environment()
    settings["command_line"] = command_line(argv)
    settings["started"] = _now()
    return settings


def record_finish(run_dir):
    """Stamp ``finished`` (the time the run, or its last resume, completed)."""
    settings = read_settings(run_dir)
    settings["finished"] = _now()
    write_settings(run_dir, settings)


def record_resume(run_dir, settings, options, argv=None):
    """Add this resume (time, command line, resumable options, environment) to
    *settings*; write it."""
    entry = {"time": _now(), "command_line": command_line(argv),
             **{name: options.get(name) for name in RESUMABLE},
             "environment": environment()}
    settings = dict(settings)
    settings["resumes"] = list(settings.get("resumes") or []) + [entry]
    write_settings(run_dir, settings)
    return settings


def _same(a, b):
    """Equal as recorded in JSON (tuples are lists there)."""
    return json.loads(json.dumps(a, default=str)) == json.loads(json.dumps(b, default=str))


def resume_options(options, given, stored, run_dir):
    """The options a resume of *run_dir* runs with: the recorded ones.

    :param options: This command's options (a dict, defaults filled in).
    :param given: Names of the options written on this command line.
    :param stored: The run's settings (:func:`read_settings`).
    :raises NOSError: naming every given option whose value differs from the record,
        except :data:`RESUMABLE` ones (which this command's values override).
    """
    conflicts = []
    for name in sorted(given):
        if name in RESUMABLE or name in NOT_OPTIONS or name not in stored:
            continue
        if not _same(options[name], stored[name]):
            conflicts.append(f"--{name.replace('_', '-')} {options[name]} (the run has "
                             f"{stored[name]})")
    given_dir = options.get("run_dir") if "run_dir" in given else None
    if given_dir and os.path.abspath(given_dir) != os.path.abspath(run_dir):
        conflicts.append(f"--run-dir {given_dir} (resuming {run_dir})")
    if conflicts:
        raise NOSError(f"--resume {run_dir} continues the run with its recorded settings; "
                       f"these options conflict with them: {'; '.join(conflicts)}. Drop "
                       f"them (only {', '.join('--' + n for n in RESUMABLE)} may change "
                       "on a resume), or start a new run with --run-dir")
    merged = dict(options)
    for name, value in stored.items():
        if name in merged and name not in NOT_OPTIONS and not (
                name in RESUMABLE and name in given):
            merged[name] = value
    merged["resume"] = run_dir
    return merged


def summary(options, names=("algorithm", "preset", "data", "seed")):
    """``preset cheap, seed 3, ...``: the options a resume continues with, in words."""
    return ", ".join(f"{name} {options.get(name)}" for name in names if name in options)
