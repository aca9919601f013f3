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
import math
import os


from deap_nos.errors import NOSError
from deap_nos.verdicts.verdict_table import (ALPHA, Row, Verdict,  # noqa: F401 (public here)
                                            compare_runs)

__all__ = ["verdict", "verdict_for_run", "Verdict", "Row", "compare_runs", "reevaluate", "BASELINES",
           "REFERENCE"]

#: The baselines a verdict trains next to the genomes: Adam inside the search space,
#: Keras' own Adam and momentum SGD, each with the same sweep and one-cycle schedule.
BASELINES = ("AdamSpace", "keras:adam", "keras:sgd-momentum")
#: The baseline the genomes are tested against.
REFERENCE = "keras:adam"
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
        from deap_nos.spaces.nos.genome import parse

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
    from deap_nos.evaluation.evaluator import SurrogateEvaluator

    options = dict(overrides)
    options.update(data=dataset.train_and_val(), repeats=int(seeds), paired=True,
                   min_train_acc=0.0, space=space, optimizer_factory=factory)
    if backend != "tensorflow":
        from deap_nos.evaluation.population import PopulationEvaluator

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


def _baseline_key(spec, preset, seeds, dataset, backend, overrides):
    """A digest of everything a baseline's verdict row depends on: the baseline, the
    protocol, the data's bytes and the code's versions (this package, the framework;
    not the git revision of a checkout: a researcher who edits the training code
    empties the folder)."""
    import hashlib

    import deap_nos
    from deap_nos.search.provenance import environment

    digest = hashlib.sha256()
    for array in (dataset.x_train, dataset.y_train, dataset.x_val, dataset.y_val,
                  dataset.x_test, dataset.y_test):
        digest.update(memoryview(array).cast("B") if array.flags.c_contiguous
                      else array.tobytes())
    text = json.dumps(dict(spec=spec, preset=preset, seeds=int(seeds), backend=backend,
                           overrides=overrides, version=deap_nos.__version__,
                           frameworks=_framework_versions(environment())),
                      sort_keys=True, default=repr)
    digest.update(text.encode())
    return digest.hexdigest()[:24]


def _framework_versions(env):
    return {k: v for k, v in env.items() if k in ("tensorflow", "keras", "jax", "numpy")}


def _cached_baseline(cache, key, train):
    """The baseline row stored under ``key`` in folder ``cache``, else ``train()``'s
    row, stored (baselines are the same for every run judged on one protocol)."""
    import pickle

    from deap_nos.search.checkpoint import save

    if cache is None:
        return train()
    path = os.path.join(cache, f"baseline-{key}.pkl")
    try:
        with open(path, "rb") as stream:
            return pickle.load(stream)
    except (OSError, EOFError, pickle.UnpicklingError):
        pass
    row = train()
    if not row.failure:
        os.makedirs(cache, exist_ok=True)
        save(path, row)
    return row


def verdict(genomes, baselines=None, seeds=5, preset="default", *, reference=None,
            names=None, space=None, dataset=None, progress=None, backend="tensorflow",
            baseline_cache=None, **overrides):
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
    baseline_cache : str, optional
        A folder where the baselines' rows are kept and reused by later verdicts with
        the same protocol, data and code (a digest of all three names each file), so
        judging many runs trains the baselines once.
    **overrides
        Evaluator settings replacing the preset's (``steps``, ``data_options``, …).

    Returns
    -------
    Verdict
    """
    from deap_nos.evaluation.evaluator import SurrogateEvaluator

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
        def train(spec_name=spec_name, spec=spec):
            label, equation, factory, subject = _subject(spec, space)
            evaluator = _test_evaluator(preset, dataset, seeds, space, factory, overrides,
                                        backend)
            scores, lr, failure, curves = _run(evaluator, subject)
            return Row(spec_name, equation, scores, lr, failure, curves=curves)

        if isinstance(spec, str) and spec in baselines and space is None:
            key = _baseline_key(spec, preset, seeds, dataset, backend, overrides)
            rows.append(_cached_baseline(baseline_cache, key, train))
        else:
            rows.append(train())
        if progress is not None:
            progress(f"verdict: {spec_name} {100 * rows[-1].mean:.2f} %"
                     + (f" (failed: {failure})" if failure else ""))
    ref = next(r for r in rows if r.name == reference)
    for row in rows:
        if row is ref or row.failure or ref.failure:
            continue
        row.diff, row.p_welch, row.p_mannwhitney = compare_runs(row.scores, ref.scores)
    steps = _test_evaluator(preset, dataset, seeds, space, None, overrides, backend).steps
    settings = dict(preset=preset, seeds=int(seeds), baselines=tuple(baselines),
                    steps=steps, data=dataset.name, overrides=overrides)
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


def _training_overrides(evaluator_settings):
    """The training settings a verdict takes from a run's evaluator settings: the keys
    of :class:`~deap_nos.evaluation.evaluator.SurrogateEvaluator` (every space's evaluator writes
    them through its ``settings()``; what only its search used, e.g. a space's fitness
    under ``"fitness"``, is not a training setting), less those the verdict sets. A
    ``None`` means the preset's value (run folders of early 0.3 termmix/autolr searches
    record ``"steps": null``), so it overrides nothing."""
    from deap_nos.evaluation.presets import PRESETS

    known = set(PRESETS["paper"]) - set(_OWN_SETTINGS)
    return {k: v for k, v in evaluator_settings.items() if k in known and v is not None}


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


def verdict_for_run(run_dir, seeds=5, top=1, progress=None, backend="tensorflow",
                    baseline_cache=None):
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
    overrides = _training_overrides(ev)
    if "seed" not in overrides and isinstance(settings.get("seed"), int):
        overrides["seed"] = settings["seed"]     # every space's verdict follows its run's seed
    for key in ("lr_grid", "quick_rates"):
        if key in overrides:
            overrides[key] = tuple(overrides[key])
    data = ev.get("data", "default")
    if not isinstance(data, str) or data.startswith(("Dataset(", "<")):
        raise NOSError(f"{run_dir} was searched on an in-memory data set; call "
                       f"deap_nos.verdict(...) with dataset=... instead")
    genomes, names = _run_genomes(run_dir, top)
    result = verdict(genomes, seeds=seeds, preset=preset, names=names, progress=progress,
                     data=data, backend=backend, baseline_cache=baseline_cache, **overrides)
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
