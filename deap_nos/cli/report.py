"""What a search leaves in its run folder for people: report, hall of fame, plots.

``hall_of_fame.json`` (the best genomes and the Adam baseline, JSON), ``report.md``
(the ranking as a Markdown table) and ``progress.png`` (with the Adam line and the
failures), ``best_genome.png``, ``best_decays.png`` and ``curves.png`` (training curves of
the best three and Adam). ``deap-nos plot`` redraws the plots from a finished folder, so the
plotting lives here rather than in the search command.
"""
import csv
import json
import numbers
import os

from .common import _fmt


def write_csv(path, header, rows):
    """Write *rows* under *header* with the :mod:`csv` module (RFC 4180 quoting), so a
    comma or a quote in a genome's text or a failure reason stays in its field;
    ``None`` is written as an empty field."""
    with open(path, "w", encoding="utf-8", newline="") as stream:
        out = csv.writer(stream)
        out.writerow(header)
        out.writerows([["" if v is None else v for v in row] for row in rows])


def _entry(ind):
    info = getattr(ind, "info", {}) or {}
    search = info.get("search_fitness")
    return {"equation": str(ind), "fitness": ind.fitness.values[0], "lr": info.get("lr"),
            "search_fitness": search[0] if search else ind.fitness.values[0],
            "runs": info.get("runs"), "curves": _plain(info.get("curves")),
            "genome": ind.to_dict()}


def _plain(value):
    """*value* with numpy numbers turned into floats (JSON), containers kept."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, numbers.Number) and not isinstance(value, (bool, int)):
        return float(value)
    return value


def _resumed(args):
    return bool(getattr(args, "resume", None))


def write_report(run_dir, hof, baseline, logbook, args, elapsed, training=None):
    """Write ``hall_of_fame.json``, plots and ``report.md``; return the report text.

    ``training``: the population evaluator's counters in this process (``slot_steps``,
    ``run_steps``, ``train_seconds``), reported as the share of the wall time spent in
    the compiled training loop — on a GPU, the device's share against the host's."""
    from ..search.runlog import read_log
    entries = [_entry(ind) for ind in hof]
    with open(os.path.join(run_dir, "hall_of_fame.json"), "w", encoding="utf-8") as stream:
        json.dump({"best": entries,
                   "baseline": {"Adam": _entry(baseline)} if baseline is not None else {}},
                  stream, indent=2)
    log_path = os.path.join(run_dir, "evaluations.log")
    records = read_log(log_path) if os.path.exists(log_path) else []
    plotted = _plots(run_dir, hof, records)
    failures = sum(1 for r in records if r.get("failed"))
    space = getattr(args, "space", "nos")
    algorithm = args.algorithm if space == "nos" else f"space {space}"
    lines = [f"# deap-nos search — {algorithm}, preset {args.preset}, "
             f"data {args.data or 'of the preset'}",
             "",
             f"{len(records)} evaluations ({failures} failed) in {elapsed:.0f} s"
             f"{' of this resume (earlier processes not counted)' if _resumed(args) else ''}; "
             f"run folder {run_dir}",
             "",
             "| rank | fitness | search fitness | best lr | equation |",
             "|---|---|---|---|---|"]
    for rank, entry in enumerate(entries, 1):
        lines.append(f"| {rank} | {entry['fitness']:.4f} | {entry['search_fitness']:.4f} | "
                     f"{_fmt(entry['lr'])} | `{entry['equation']}` |")
    base = _entry(baseline) if baseline is not None else None
    if base is not None:
        lines.append(f"| Adam | {base['fitness']:.4f} | {base['search_fitness']:.4f} | "
                     f"{_fmt(base['lr'])} | `{base['equation']}` |")
    lines += ["", f"Fitness: {_fitness_text(space, args.preset)} (failed = -1.0)"
              + _seeds_text(hof)] + _training_text(training, elapsed)
    if plotted:
        lines += ["", f"Plots: {', '.join(plotted)}."]
    lines += ["", f"Produced by {_produced_by(run_dir)}."]
    text = "\n".join(lines)
    with open(os.path.join(run_dir, "report.md"), "w", encoding="utf-8") as stream:
        stream.write(text + "\n")
    return text


def _training_text(counters, elapsed):
    """The population path's use of its slots and of the wall time (none elsewhere, or
    where worker processes trained: their counters stay in them)."""
    if not counters or not counters.get("slot_steps"):
        return []
    run, slot, seconds = (counters["run_steps"], counters["slot_steps"],
                          counters["train_seconds"])
    return ["", f"Training in this process: {run:,} run-steps in {slot:,} slot-steps "
                f"({run / slot:.0%} of the slots busy); {seconds:.0f} s in the compiled "
                f"training loop, {seconds / max(elapsed, 1e-9):.0%} of the wall time (the "
                f"rest: the protocol's events, screening, the engine, the report)."]


#: what the fitness of each space's search is
_FITNESS = {
    "nos": "best validation accuracy on the surrogate",
    "termmix": "the mean over the tasks of the validation accuracy relative to Adam's "
               "(1.0 = Adam)",
    "autolr": "the worst validation accuracy over the training shards (worst-of-k, "
              "stopping at the first shard below the minimum accuracy)",
}


def _fitness_text(space, preset):
    """What the search's fitness is, for the evaluator this run actually used."""
    if space == "nos" and preset == "cheap":
        return ("best validation accuracy of a softmax regression on scikit-learn's 8×8 "
                "digits (the numpy 'cheap' evaluator), over its learning-rate grid")
    return _FITNESS.get(space, _FITNESS["nos"])


def _seeds_text(hof):
    """The noise-aware selection sentence, only for what was re-evaluated: the number
    of seeds is read from the runs each entry carries, not from the settings."""
    counts = sorted({len((getattr(ind, "info", {}) or {}).get("runs") or ())
                     for ind in hof
                     if "search_fitness" in (getattr(ind, "info", {}) or {})})
    counts = [n for n in counts if n > 1]
    if not counts:
        return "."
    seeds = " or ".join(str(n) for n in counts)
    return (f", the mean of {seeds} seeds for the hall of fame (noise-aware selection; "
            f"'search fitness' is the one seed the search saw).")


def _training_steps(run_dir):
    """The evaluator's training length, read from the run's settings (for decay plots)."""
    try:
        with open(os.path.join(run_dir, "settings.json"), encoding="utf-8") as stream:
            return int(json.load(stream)["evaluator"]["steps"])
    except (OSError, KeyError, TypeError, ValueError):
        return 1000


def _saved(run_dir):
    """``(Adam's fitness or None, {label: entry with curves})`` from hall_of_fame.json."""
    try:
        with open(os.path.join(run_dir, "hall_of_fame.json"), encoding="utf-8") as stream:
            saved = json.load(stream)
    except (OSError, ValueError):
        return None, {}
    adam = (saved.get("baseline") or {}).get("Adam")
    curves = {f"#{rank}": entry for rank, entry in enumerate(saved.get("best", [])[:3], 1)}
    if adam:
        curves["Adam"] = adam
    fitness = adam.get("fitness") if adam else None
    return (fitness if fitness is not None and fitness >= 0 else None), curves


def _plots(run_dir, hof, records):
    """Draw the run's plots; return the names of the files written."""
    from .. import plots
    written = []
    adam, curves = _saved(run_dir)
    if records:
        flat = [{"fitness": (r["fitness"] or [float("nan")])[0], "failed": r.get("failed"),
                 "particle": r.get("particle"), "key": r.get("key")} for r in records]
        plots.plot_progress(flat, os.path.join(run_dir, "progress.png"), adam=adam)
        written.append("progress.png")
    if len(hof) and hasattr(hof[0], "active_nodes"):      # graph genomes only
        plots.plot_genome(hof[0], os.path.join(run_dir, "best_genome.png"))
        plots.plot_decays(hof[0], total_steps=_training_steps(run_dir),
                          path=os.path.join(run_dir, "best_decays.png"))
        written += ["best_genome.png", "best_decays.png"]
    if any(entry.get("curves") for entry in curves.values()):
        plots.plot_curves(curves, os.path.join(run_dir, "curves.png"),
                          title="training curves: the hall of fame's best and Adam")
        written.append("curves.png")
    return written


def _produced_by(run_dir):
    """The versions, platform and device recorded in the run's settings.json."""
    from ..search.provenance import describe, environment
    try:
        with open(os.path.join(run_dir, "settings.json"), encoding="utf-8") as stream:
            recorded = json.load(stream).get("environment")
    except (OSError, ValueError):
        recorded = None
    return describe(recorded or environment())
