"""The held-out verdict (``nos.verdict``): is a genome really better than Adam?

A search selects on the validation split, so the fitness it reports is optimistic: among
many candidates, some win by the luck of one seed. The verdict answers the question a
researcher asks, on data the search never saw::

    data   ← train + validation (training), test (scored)
    for each optimizer (the genomes, then the baselines):
        one learning-rate sweep (the evaluator's stage 1) → its best peak lr
        `seeds` runs from scratch at that lr; run k starts from the same weights and
        batches for every optimizer (paired seeds); score = final test accuracy
    for each genome: difference of means from the reference (Keras Adam) with
        Welch's t-test and the Mann–Whitney U test (scipy.stats), two-sided

:func:`reevaluate` is the noise-aware selection that comes before: the hall of fame's
candidates are re-evaluated with more seeds on the validation split (the paper averaged
three runs), so one lucky seed does not crown a genome.
"""

import copy
import json
import csv
import dataclasses
import math
import os

import numpy as np

from deap_nos.errors import NOSError

__all__ = ["verdict", "verdict_for_run", "Verdict", "Row", "compare_runs", "reevaluate", "BASELINES",
           "REFERENCE"]

#: The baselines a verdict trains next to the genomes: Adam inside the search space,
#: Keras' own Adam and momentum SGD, each with the same sweep and one-cycle schedule.
BASELINES = ("AdamSpace", "keras:adam", "keras:sgd-momentum")
#: The baseline the genomes are tested against.
REFERENCE = "keras:adam"
#: Significance level of the plain-language conclusion.
ALPHA = 0.05


@dataclasses.dataclass
class Row:
    """One optimizer's verdict: its per-seed test accuracies and the tests against the
    reference (None for the reference and for failed optimizers)."""

    name: str
    equation: str
    scores: list
    lr: float = None
    failure: str = None
    diff: float = None
    p_welch: float = None
    p_mannwhitney: float = None
    curves: list = None     # the evaluation's training curves, one per seed

    @property
    def mean(self):
        return float(np.mean(self.scores)) if self.scores else float("nan")

    @property
    def std(self):
        return float(np.std(self.scores, ddof=1)) if len(self.scores) > 1 else float("nan")


def compare_runs(scores, reference):
    """``(difference of means, Welch p, Mann–Whitney p)`` of two samples, two-sided.

    Welch's t-test does not assume equal variances; Mann–Whitney U assumes no normality
    (seed 003's protocol). Identical constant samples give p = 1 (no evidence either way).
    """
    from scipy import stats

    a, b = np.asarray(scores, float), np.asarray(reference, float)
    if len(a) < 2 or len(b) < 2:
        raise NOSError("a verdict needs at least 2 seeds per optimizer to test a "
                       "difference; pass seeds >= 2")
    diff = float(a.mean() - b.mean())
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        p_t = 1.0 if diff == 0 else 0.0
    else:
        p_t = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    p_u = float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    return diff, p_t, p_u


@dataclasses.dataclass
class Verdict:
    """All rows of a verdict, and how it was obtained (``settings``)."""

    rows: list
    reference: str
    settings: dict

    def row(self, name):
        """The row called ``name``."""
        for row in self.rows:
            if row.name == name:
                return row
        raise NOSError(f"no optimizer {name!r} in this verdict; known: "
                       f"{', '.join(r.name for r in self.rows)}")

    def conclusion(self, name):
        """One sentence: did ``name`` beat the reference on the test split?"""
        row = self.row(name)
        if row.failure:
            return f"{name} failed in the verdict: {row.failure}"
        if row.diff is None:
            return f"{name} is the reference"
        ref = self.reference
        p = row.p_welch
        detail = (f"{100 * row.mean:.2f} % vs {100 * self.row(ref).mean:.2f} %, "
                  f"difference {100 * row.diff:+.2f} points, Welch p = {p:.3g}, "
                  f"Mann–Whitney p = {row.p_mannwhitney:.3g}, "
                  f"{len(row.scores)} seeds")
        if p < ALPHA and row.diff > 0:
            return f"{name} BEAT {ref} on the test split ({detail})"
        if p < ALPHA and row.diff < 0:
            return f"{name} was WORSE than {ref} on the test split ({detail})"
        return (f"{name} did NOT significantly differ from {ref} on the test split "
                f"({detail})")

    def table(self):
        """A Markdown table: test accuracy mean ± std, difference and p-values."""
        lines = ["| optimizer | test accuracy | best lr | vs " + self.reference +
                 " | Welch p | Mann–Whitney p | equation |",
                 "|---|---|---|---|---|---|---|"]
        for r in self.rows:
            if r.failure:
                lines.append(f"| {r.name} | failed: {r.failure} | | | | | `{r.equation}` |")
                continue
            diff = "reference" if r.diff is None else f"{100 * r.diff:+.2f}"
            pt = "" if r.p_welch is None else f"{r.p_welch:.3g}"
            pu = "" if r.p_mannwhitney is None else f"{r.p_mannwhitney:.3g}"
            lines.append(f"| {r.name} | {100 * r.mean:.2f} ± {100 * r.std:.2f} | "
                         f"{_fmt_lr(r.lr)} | {diff} | {pt} | {pu} | `{r.equation}` |")
        return "\n".join(lines)

    def report(self):
        """The Markdown section a run's report.md carries."""
        s = self.settings
        genomes = [r.name for r in self.rows if r.name not in s.get("baselines", ())]
        lines = ["## Verdict on the held-out test split", "",
                 f"Each optimizer retrained from scratch on train + validation with "
                 f"{s.get('seeds')} paired seeds (preset {s.get('preset')}, "
                 f"{s.get('steps')} steps at its own swept learning rate) and scored by "
                 f"its final accuracy on the test split, which the search never read. "
                 f"Accuracies in %, mean ± std over seeds.", ""]
        lines += [f"- **{self.conclusion(name)}**" for name in genomes]
        lines += ["", self.table()]
        return "\n".join(lines)

    def write(self, folder):
        """Write ``verdict.md``, ``verdict.csv`` (one line per seed), ``verdict.png`` and
        ``verdict_curves.png`` (test accuracy and training loss per step)."""
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "verdict.md"), "w", encoding="utf-8") as stream:
            stream.write(self.report() + "\n")
        with open(os.path.join(folder, "verdict.csv"), "w", encoding="utf-8",
                  newline="") as stream:
            out = csv.writer(stream)
            out.writerow(["optimizer", "seed", "test_accuracy", "lr", "diff_vs_reference",
                          "p_welch", "p_mannwhitney", "failure", "equation"])
            for r in self.rows:
                for k, score in enumerate(r.scores or [float("nan")]):
                    out.writerow([r.name, k, score, r.lr, r.diff, r.p_welch,
                                  r.p_mannwhitney, r.failure or "", r.equation])
        self.plot(os.path.join(folder, "verdict.png"))
        if any(r.curves for r in self.rows):
            from deap_nos.plots import plot_curves
            plot_curves({r.name: {"curves": r.curves, "lr": r.lr} for r in self.rows},
                        os.path.join(folder, "verdict_curves.png"),
                        title="verdict runs (train + validation)", acc_label="test accuracy")

    def plot(self, path):
        """One box per optimizer with its seeds as dots (failed optimizers left out)."""
        from deap_nos.plots import plot_verdict

        return plot_verdict([(r.name, r.scores) for r in self.rows if r.scores],
                            self.reference, path)


def _fmt_lr(lr):
    return "-" if lr is None else f"{lr:g}"


# ------------------------------------------------------------------------- training
def _subject(spec, space):
    """``(name, equation, optimizer factory or None, what the evaluator is given)``."""
    if isinstance(spec, str) and spec.startswith("keras:"):
        from deap_nos.keras.builtin import BuiltinFactory

        name = spec.split(":", 1)[1]
        if name == "sgd-momentum":
            return spec, "keras SGD, momentum 0.9", BuiltinFactory("sgd", momentum=0.9), spec
        return spec, f"keras {name}", BuiltinFactory(name), spec
    if isinstance(spec, str):
        from deap_nos import zoo
        from deap_nos.genome import parse

        genome = zoo.genome(spec) if spec in zoo.names() else parse(spec, space)
        return spec, str(genome), None, genome
    return str(spec), str(spec), _space_factory(spec), spec


def _space_factory(genome):
    """The Keras optimizer factory of the genome's space where it brings its own
    (``termmix``, ``autolr``: ``space.keras_factory()``); None for the graph space
    (the evaluator's GraphOptimizer)."""
    space = getattr(genome, "space", None)
    factory = getattr(space, "keras_factory", None)
    return factory() if callable(factory) else None


def _test_evaluator(preset, dataset, seeds, space, factory, overrides, backend="tensorflow"):
    """A paired evaluator training on train+val and validating on test, no early stop
    (with a backend other than TensorFlow: the population evaluator on it)."""
    from deap_nos.evaluator import SurrogateEvaluator

    options = dict(overrides)
    options.update(data=dataset.train_and_val(), repeats=int(seeds), paired=True,
                   min_train_acc=0.0, space=space, optimizer_factory=factory)
    if backend != "tensorflow":
        from deap_nos.population import PopulationEvaluator

        options.pop("optimizer_factory")
        return PopulationEvaluator.preset(preset, slots=int(seeds), backend=backend,
                                          **options)
    return SurrogateEvaluator.preset(preset, **options)


def _raw_dataset(evaluator):
    """The evaluator's data set before standardisation (the verdict standardises with
    train+validation statistics)."""
    from deap_nos import data

    if isinstance(evaluator.data, data.Dataset):
        return evaluator.data
    return data.load(evaluator.data, **dict(evaluator.data_options or {}))


def _run(evaluator, subject):
    """``(final test accuracy per seed, lr, failure reason, curves)`` of one optimizer."""
    result = evaluator(subject)
    curves = result.info.get("curves")
    if result.info.get("failed"):
        return [], result.info.get("lr"), result.info.get("reason"), curves
    finals = [curve["val_acc"][-1] for curve in result.info["curves"]]
    return finals, result.info.get("lr"), None, curves


#: The baselines and reference of a verdict without Keras (``backend="jax"``).
GENOME_BASELINES, GENOME_REFERENCE = ("AdamSpace", "QHM"), "AdamSpace"


def verdict(genomes, baselines=None, seeds=5, preset="default", *, reference=None,
            names=None, space=None, dataset=None, progress=None, backend="tensorflow",
            **overrides):
    """Retrain ``genomes`` and ``baselines`` with ``seeds`` paired seeds; score on test.

    Parameters
    ----------
    genomes : sequence of OptimizerGraph
        The genomes to judge (a run's top few).
    baselines : sequence of str
        Zoo names, expressions, or ``keras:NAME`` (``keras:sgd-momentum`` is SGD with
        momentum 0.9); must include ``reference``.
    seeds : int
        Training runs per optimizer (≥ 2; the paper's tables use 3–5).
    preset : str
        Evaluator preset of the training (its sweep, steps, sizes and data).
    reference : str
        The baseline every genome is tested against.
    names : sequence of str, optional
        Labels of the genomes (default ``#1``, ``#2``, …).
    space : SearchSpace, optional
        The genomes' search space (for researchers' own primitives).
    dataset : Dataset, optional
        The data (default: the preset's); must have a test split.
    progress : callable, optional
        Called with a line of text after each optimizer.
    backend : {"tensorflow", "jax"}
        ``jax``: every optimizer trains on the JAX population trainer; the Keras
        baselines are then out of reach and the defaults are :data:`GENOME_BASELINES`
        against ``AdamSpace``.
    **overrides
        Evaluator settings replacing the preset's (``steps``, ``data_options``, …).

    Returns
    -------
    Verdict
    """
    from deap_nos.evaluator import SurrogateEvaluator

    keras_free = backend != "tensorflow"
    if baselines is None:
        baselines = GENOME_BASELINES if keras_free else BASELINES
    if reference is None:
        reference = GENOME_REFERENCE if keras_free else REFERENCE
    if keras_free and any(str(b).startswith("keras:") for b in baselines):
        raise NOSError(f"backend={backend!r} trains genomes only; drop the keras: "
                       f"baselines from {tuple(baselines)}")
    if int(seeds) < 2:
        raise NOSError(f"seeds={seeds}: a verdict needs at least 2 seeds per optimizer")
    if reference not in baselines:
        raise NOSError(f"the reference {reference!r} must be one of the baselines "
                       f"{tuple(baselines)}")
    if dataset is None:
        dataset = _raw_dataset(SurrogateEvaluator.preset(preset, **overrides))
    names = list(names) if names is not None else [f"#{i + 1}" for i in range(len(genomes))]
    rows = []
    for spec_name, spec in list(zip(names, genomes)) + [(b, b) for b in baselines]:
        label, equation, factory, subject = _subject(spec, space)
        evaluator = _test_evaluator(preset, dataset, seeds, space, factory, overrides,
                                    backend)
        scores, lr, failure, curves = _run(evaluator, subject)
        rows.append(Row(spec_name, equation, scores, lr, failure, curves=curves))
        if progress is not None:
            progress(f"verdict: {spec_name} {100 * rows[-1].mean:.2f} %"
                     + (f" (failed: {failure})" if failure else ""))
    ref = next(r for r in rows if r.name == reference)
    for row in rows:
        if row is ref or row.failure or ref.failure:
            continue
        row.diff, row.p_welch, row.p_mannwhitney = compare_runs(row.scores, ref.scores)
    settings = dict(preset=preset, seeds=int(seeds), baselines=tuple(baselines),
                    steps=evaluator.steps, data=dataset.name, overrides=overrides)
    return Verdict(rows, reference, settings)


# ------------------------------------------------------------------------ selection
def reevaluate(individuals, evaluator, repeats=3, map=map):
    """Noise-aware selection: re-evaluate ``individuals`` with ``repeats`` seeds.

    The evaluator is copied with ``repeats`` training runs (same sweep, more seeds, the
    mean as fitness); every individual gets that fitness and its ``info``, keeps its
    search fitness in ``info["search_fitness"]``, and the list comes back best first.
    Failed re-evaluations keep the failing fitness. Uses the validation split only.
    """
    if int(repeats) < 1:
        raise NOSError(f"repeats={repeats} must be a positive integer")
    more = copy.copy(evaluator)
    if not hasattr(more, "repeats"):
        raise NOSError(f"{type(evaluator).__name__} has no 'repeats' setting; reevaluate "
                       f"needs an evaluator that averages several training runs")
    more.repeats, more.aggregate = int(repeats), "mean"
    results = list(map(more, individuals))
    for ind, result in zip(individuals, results):
        search = tuple(ind.fitness.values) if ind.fitness.valid else None
        ind.fitness.values = tuple(result)
        info = dict(getattr(result, "info", {}) or {})
        info["search_fitness"] = search
        ind.info = info
    return sorted(individuals, key=lambda ind: _sort_key(ind.fitness.values[0]),
                  reverse=True)


def _sort_key(value):
    return -math.inf if value is None or not math.isfinite(value) else value


# ------------------------------------------------------------------------ run folders
#: Evaluator settings a verdict sets itself, never taken from a run's settings.
_OWN_SETTINGS = ("repeats", "aggregate", "paired", "min_train_acc", "preset", "data")


def _run_settings(run_dir):
    path = os.path.join(run_dir, "settings.json")
    try:
        with open(path, encoding="utf-8") as stream:
            return json.load(stream)
    except (OSError, ValueError) as exc:
        raise NOSError(f"{run_dir} has no readable settings.json ({exc}); give a run "
                       f"folder written by deap-nos search") from None


def _run_genomes(run_dir, top):
    """The top ``top`` genomes of a run's hall_of_fame.json, best first, with labels."""
    from deap_nos.spaces import genome_from_dict

    path = os.path.join(run_dir, "hall_of_fame.json")
    try:
        with open(path, encoding="utf-8") as stream:
            best = json.load(stream)["best"]
    except (OSError, ValueError, KeyError) as exc:
        raise NOSError(f"{run_dir} has no readable hall_of_fame.json ({exc}); a verdict "
                       f"needs a finished search (deap-nos search, or --resume it)") from None
    entries = [e for e in best if e.get("fitness", -1.0) >= 0.0][:int(top)]
    if not entries:
        raise NOSError(f"{run_dir}: the hall of fame holds no genome that passed "
                       f"evaluation; nothing to judge")
    return ([genome_from_dict(e["genome"]) for e in entries],
            [f"#{rank}" for rank in range(1, len(entries) + 1)])


def verdict_for_run(run_dir, seeds=5, top=1, progress=None, backend="tensorflow"):
    """The verdict on a search's run folder: its top genomes against the baselines.

    Reads ``settings.json`` (the evaluator's preset and settings) and
    ``hall_of_fame.json``; writes ``verdict.md``, ``verdict.csv``, ``verdict.png`` and
    the verdict section of ``report.md``. Returns the :class:`Verdict`.
    """
    settings = _run_settings(run_dir)
    ev = dict(settings.get("evaluator") or {})
    preset = ev.get("preset") or settings.get("preset")
    if preset in (None, "cheap"):
        raise NOSError(f"{run_dir} was searched with the numpy 'cheap' evaluator; a "
                       f"verdict trains the ConvNet surrogate — search with a ConvNet "
                       f"preset (default, quick, paper, authors)")
    overrides = {k: v for k, v in ev.items() if k not in _OWN_SETTINGS
                 and k != "repr" and not (k == "steps" and v is None)}   # other spaces
    for key in ("lr_grid", "quick_rates"):
        if key in overrides:
            overrides[key] = tuple(overrides[key])
    data = ev.get("data", "default")
    if not isinstance(data, str) or data.startswith(("Dataset(", "<")):
        raise NOSError(f"{run_dir} was searched on an in-memory data set; call "
                       f"deap_nos.verdict(...) with dataset=... instead")
    genomes, names = _run_genomes(run_dir, top)
    result = verdict(genomes, seeds=seeds, preset=preset, names=names, progress=progress,
                     data=data, backend=backend, **overrides)
    result.write(run_dir)
    append_to_report(run_dir, result.report())
    return result


#: The line that starts the verdict section of a report.md.
_SECTION = "## Verdict on the held-out test split"


def append_to_report(run_dir, section):
    """Put ``section`` at the end of ``report.md``, replacing an earlier verdict."""
    path = os.path.join(run_dir, "report.md")
    text = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    text = text.split(_SECTION, 1)[0].rstrip()
    with open(path, "w", encoding="utf-8") as stream:
        stream.write((text + "\n\n" if text else "") + section + "\n")
