"""Surrogate evaluation of candidate optimizers: a DEAP evaluator (paper, Sections 3.3-3.4).

``toolbox.register("evaluate", nos.SurrogateEvaluator.preset("quick"))`` — then
``toolbox.evaluate(genome)`` returns an :class:`~deap_nos.evaluation.Evaluation`, a
one-element fitness tuple that carries an ``info`` dict.

The protocol, for one genome::

    model  ← ConvNet(base), built once; keep its initial weights w0
    opt    ← optimizer_factory(genome, lr, total_steps=steps, warmup, hold); build it
    step   ← one tf.function running k training steps in a graph loop (traced once)
    Stage 1 — learning-rate sweep (each run: weights ← w0, optimizer state ← 0):
        run sweep_steps at each lr of quick_rates ({10, 0.01, 1e-5})
        if every one stays below sweep_min_acc training accuracy: reject
        run sweep_steps at each remaining lr of lr_grid
        if the best stays below sweep_gate_acc: reject
        (the schedule length is the full run's, so the sweep sees only the warm-up)
    Stage 2 — for each of `repeats` runs (weights ← w0 or a fresh seeded init):
        train `steps` steps at the best lr, validating every `eval_every` steps;
        from `stop_after` steps on, stop (fail) if the interval's training accuracy
        is below min_train_acc
        run fitness = best validation accuracy
    if a run fails (early stop, NaN/inf loss): Stage 2 once more at the next rate
        of the sweep (stages.fall_back; info["fallback"] says which rate failed, why)
    fitness = mean (paper's elimination protocol) or worst of the runs' fitnesses

Any failure — rejection in the sweep, early stop, a NaN/inf loss, an exception raised
while building or training — gives ``Evaluation.failure(reason, stage)`` with fitness
:data:`~deap_nos.evaluation.FAILED_FITNESS`; the search goes on. Missing data is a
configuration error and is raised (:class:`~deap_nos.errors.DataError`).

What each stage does with the compiled training loop, and when it fails, is
:mod:`deap_nos.evaluation.stages`; this module holds the settings, the data and the outline above.

Speed: nothing is rebuilt or retraced between sweep learning rates or repeats. The
optimizer's ``learning_rate`` is a variable (assigned, not retraced); weights are
restored with ``set_weights``; optimizer state is zeroed
(:func:`~deap_nos.backends.tensorflow.train_loop.reset_optimizer`).

Reproducibility: the per-genome seed is a hash (sha256, not Python's salted ``hash``) of
``(seed, genome.fingerprint() or str(genome))``; Python, numpy and TensorFlow are seeded
from it, so one genome gets the same fitness in any process on CPU. The caller's global
``random``/``numpy`` states are restored afterwards, so evaluating does not perturb the
search's own random stream.

The evaluator is picklable (module-level, no lambdas); the data are loaded lazily in the
worker and cached on the instance, never pickled.
"""

import math
import random
import time

import numpy as np

from deap_nos.errors import NOSError, UnknownNameError
from deap_nos.evaluation import Evaluation, genome_seed
from deap_nos.spaces.nos.space import space_argument
from deap_nos.evaluation.presets import PAPER_LR_GRID, PAPER_QUICK_RATES, PRESETS  # noqa: F401
from deap_nos.spaces.nos.authors import check_semantics
from deap_nos.evaluation.stages import StageFailure, fall_back, sweep, train_run
from deap_nos.backends.tensorflow.train_loop import (TrainLoop, configure_devices,
                                                    graph_optimizer_factory,
                                                    seed_everything, sub_seed)

__all__ = ["SurrogateEvaluator", "PRESETS", "genome_seed", "graph_optimizer_factory"]

_AGGREGATES = ("mean", "worst")
#: Where an evaluation's wall time goes (``info["timing"]``, seconds): loading data,
#: building model and optimizer, tracing the compiled functions, restoring weights and
#: optimizer state and restarting the in-graph data stream between runs, the compiled training
#: loops of the sweep and of stage 2, and validation passes.
_TIMING_KEYS = ("data", "build", "trace", "restore", "step_sweep", "step_train", "validate")
_UNSET = object()


# --------------------------------------------------------------------------- evaluator
class SurrogateEvaluator:
    """Evaluate an optimizer genome by training the surrogate ConvNet with it.

    Parameters
    ----------
    preset : {"default", "quick", "paper", "authors"}, optional
        Starting values of every other parameter (default ``"paper"``); any parameter
        given explicitly overrides the preset. See :data:`PRESETS`.
    data : str or Dataset
        ``"default"``/``"mnist1d"`` (generated), ``"digits"`` (embedded), ``"cifar10"``,
        or a :class:`~deap_nos.data.Dataset`. Names are loaded lazily, once per process.
        Only the train and validation splits are read; test is the verdict's.
    data_options : dict, optional
        Keyword arguments of the loader (e.g. ``{"data_dir": ...}`` for CIFAR-10).
    base : int
        ConvNet base width (paper: 48 during search).
    batch_size : int
        Training batch size (paper: 128).
    lr_grid : sequence of float
        Peak learning rates tried in the sweep.
    quick_rates : sequence of float
        Rates tried first; the genome is rejected at once if all stay below
        ``sweep_min_acc``. Empty: no quick check.
    sweep_steps : int
        Steps per sweep run (paper: 800).
    sweep_min_acc, sweep_gate_acc : float
        Training-accuracy thresholds of the quick check and of the whole sweep
        (paper: 25 % both; authors' code: 40 % at the second).
    steps : int
        Stage-2 training steps, also the schedule length of every run (paper: 8,000).
    warmup_steps : int, optional
        One-cycle linear warm-up length; None: 10 % of ``steps``.
    hold_steps : int
        Steps held at the peak after warm-up, before the cosine decay.
    eval_every : int
        Validate every this many stage-2 steps.
    stop_after, min_train_acc : int, float
        From ``stop_after`` steps on, a validation interval whose mean training accuracy
        is below ``min_train_acc`` stops the run as failed (paper: 1,000 and 40 %).
    standardize : bool
        Per-channel standardisation of the images (training-set statistics).
    augment : bool
        The paper's augmentation (pad-4 crop, flip, cutout 8×8) on training batches.
    augment_options : dict, optional
        Options of :func:`deap_nos.data.augment_batch`.
    repeats : int
        Stage-2 runs per genome (different seeded initialisations and data orders).
    aggregate : {"mean", "worst"}
        How the runs' fitnesses combine: the mean (paper's elimination protocol) or the
        worst. Any failed run fails the genome either way (after one fallback rate).
    seed : int
        Run seed; with the genome's fingerprint it fixes every random choice.
    optimizer_factory : callable, optional
        Module-level ``(genome, learning_rate, total_steps, warmup_steps, hold_steps)``
        → Keras optimizer whose ``learning_rate`` is assignable. None: ``GraphOptimizer``.
    space : SearchSpace, optional
        Search space handed to ``GraphOptimizer`` when ``optimizer_factory`` is None.
    jit : bool
        XLA-compile the training step (off in every preset). Each genome's executable
        then stays in TensorFlow's XLA cache, which is never freed: memory grows with
        every evaluation. Off, a process's memory is flat after warm-up (issue 22).
    val_batch_size : int
        Batch size of validation passes.
    paired : bool
        Seed every genome with ``seed`` itself rather than a hash of seed and genome, so
        different optimizers start from the same weights and see the same batches (the
        verdict's paired design); a search keeps the default False.
    semantics : {"default", "authors"}
        Update semantics of ``GraphOptimizer`` (``"authors"`` in the authors preset:
        their code's warm-up, ``delta``, Nesterov form and momentum cycle;
        docs/reference_authors.md). Unused with an ``optimizer_factory``.
    """

    _PARAMS = tuple(PRESETS["paper"])

    def __init__(self, preset=None, *, data=_UNSET, data_options=_UNSET, base=_UNSET,
                 batch_size=_UNSET, lr_grid=_UNSET, quick_rates=_UNSET,
                 sweep_steps=_UNSET, sweep_min_acc=_UNSET, sweep_gate_acc=_UNSET,
                 steps=_UNSET, warmup_steps=_UNSET, hold_steps=_UNSET, eval_every=_UNSET,
                 stop_after=_UNSET, min_train_acc=_UNSET, standardize=_UNSET,
                 augment=_UNSET, augment_options=_UNSET, repeats=_UNSET, aggregate=_UNSET,
                 seed=_UNSET, jit=_UNSET, val_batch_size=_UNSET, paired=_UNSET, semantics=_UNSET,
                 optimizer_factory=None,
                 space=None):
        name = "paper" if preset is None else str(preset).lower()
        if name not in PRESETS:
            raise UnknownNameError(f"unknown evaluator preset {preset!r}; known: "
                                   f"{', '.join(sorted(PRESETS))}")
        given = dict(locals())
        settings = dict(PRESETS[name])
        for key in self._PARAMS:
            if given[key] is not _UNSET:
                settings[key] = given[key]
        self.preset_name = name
        self.optimizer_factory = optimizer_factory
        self.space = space
        for key, value in settings.items():
            setattr(self, key, value)
        self._validate()
        self._cache = {}

    @classmethod
    def preset(cls, name, **overrides):
        """An evaluator with the named preset's settings, ``overrides`` replacing some."""
        return cls(preset=name, **overrides)

    # -- configuration -----------------------------------------------------------------
    def _validate(self):
        """Check the settings once, with messages that name the fix."""
        self.lr_grid = tuple(float(v) for v in self.lr_grid)
        self.quick_rates = tuple(float(v) for v in self.quick_rates)
        if not self.lr_grid and not self.quick_rates:
            raise NOSError("lr_grid is empty: give at least one learning rate to sweep")
        if any(not (v > 0 and math.isfinite(v)) for v in self.lr_grid + self.quick_rates):
            raise NOSError("learning rates must be positive and finite")
        for key in ("base", "batch_size", "steps", "eval_every", "repeats",
                    "val_batch_size"):
            if int(getattr(self, key)) < 1:
                raise NOSError(f"{key}={getattr(self, key)!r} must be a positive integer")
        for key in ("sweep_steps", "hold_steps", "stop_after"):
            if int(getattr(self, key)) < 0:
                raise NOSError(f"{key}={getattr(self, key)!r} must be a non-negative integer")
        if self.sweep_steps == 0 and len(self.all_rates) > 1:
            raise NOSError("sweep_steps=0 cannot choose among several learning rates; "
                           "give sweep_steps > 0 or a single-rate lr_grid")
        if self.aggregate not in _AGGREGATES:
            raise UnknownNameError(f"unknown aggregate {self.aggregate!r}; known: "
                                   f"{', '.join(_AGGREGATES)}")
        check_semantics(self.semantics)
        self.space = space_argument(self.space, type(self).__name__)
        if self.warmup_steps is not None and not 0 <= int(self.warmup_steps) <= self.steps:
            raise NOSError(f"warmup_steps={self.warmup_steps} must lie in 0..steps "
                           f"({self.steps}); None means 10 % of steps")

    @property
    def all_rates(self):
        """Sweep order: the quick rates first, then the rest of the grid."""
        rest = tuple(v for v in self.lr_grid if v not in self.quick_rates)
        return self.quick_rates + rest

    @property
    def warmup(self):
        """Warm-up length in steps (10 % of ``steps`` unless set)."""
        if self.warmup_steps is None:
            return int(round(0.1 * self.steps))
        return int(self.warmup_steps)

    def settings(self):
        """The evaluator's settings as a plain dict (for logs and checkpoints)."""
        out = {key: getattr(self, key) for key in self._PARAMS}
        if not isinstance(out["data"], str):
            out["data"] = repr(out["data"])
        out["preset"] = self.preset_name
        return out

    def __repr__(self):
        return (f"SurrogateEvaluator(preset={self.preset_name!r}, data={self.data!r}, "
                f"base={self.base}, steps={self.steps}, sweep_steps={self.sweep_steps}, "
                f"repeats={self.repeats}, seed={self.seed})")

    # -- pickling: settings travel, caches do not --------------------------------------
    def __getstate__(self):
        state = dict(self.__dict__)
        state["_cache"] = {}
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._cache = {}

    # -- data --------------------------------------------------------------------------
    def dataset(self):
        """The (preprocessed) data set, loaded on first use in this process and cached."""
        if "dataset" not in self._cache:
            from deap_nos import data as nos_data

            if isinstance(self.data, nos_data.Dataset):
                ds = self.data
            else:
                ds = nos_data.load(self.data, **dict(self.data_options or {}))
            if self.standardize:
                ds = nos_data.standardize(ds)
            self._cache["dataset"] = ds
        return self._cache["dataset"]

    def _tensors(self):
        """Training images/labels as tensors and validation batches, cached."""
        if "tensors" not in self._cache:
            from deap_nos.backends import get as backend

            ds = self.dataset()
            self._cache["tensors"] = backend("tensorflow").to_device(
                ds.x_train, ds.y_train, ds.x_val, ds.y_val, self.val_batch_size)
        return self._cache["tensors"]

    # -- evaluation --------------------------------------------------------------------
    def __call__(self, genome):
        """Evaluate ``genome``; returns an :class:`Evaluation` (fitness, + ``info``)."""
        start = time.perf_counter()
        timing = dict.fromkeys(_TIMING_KEYS, 0.0)
        t = time.perf_counter()
        self._tensors()  # a missing data set is a configuration error: raise it
        timing["data"] += time.perf_counter() - t
        configure_devices()
        seed = int(self.seed) if self.paired else genome_seed(self.seed, genome)
        info = {"stage": "sweep", "seed": seed, "lr": None, "sweep": [], "curves": [],
                "runs": [], "timing": timing, "preset": self.preset_name}
        py_state, np_state = random.getstate(), np.random.get_state()
        try:
            fitness = self._evaluate(genome, seed, info)
        except StageFailure as fail:
            info.pop("stage")
            result = Evaluation.failure(fail.reason, fail.stage, **info)
        except Exception as exc:  # any crash of the candidate: record it, go on
            reason = f"exception while {'training' if info['stage'] == 'train' else 'building or sweeping'}: " \
                     f"{type(exc).__name__}: {exc}"
            stage = info.pop("stage")
            result = Evaluation.failure(reason[:2000], stage, **info)
        else:
            info.update(failed=False, reason=None, stage="done")
            result = Evaluation((fitness,), info)
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
        result.info["time"] = time.perf_counter() - start
        return result

    def _evaluate(self, genome, seed, info):
        """The two stages (:mod:`deap_nos.evaluation.stages`); raises
        :class:`~deap_nos.evaluation.stages.StageFailure` for a rejected candidate."""
        from deap_nos.backends.tensorflow.surrogate import convnet

        timing = info["timing"]
        ds = self.dataset()
        _, _, val_batches, n_val = self._tensors()

        t = time.perf_counter()
        seed_everything(seed)
        model = convnet(self.base, ds.input_shape, ds.classes)
        rates = self.all_rates
        factory = self.optimizer_factory
        kwargs = dict(learning_rate=rates[0], total_steps=int(self.steps),
                      warmup_steps=self.warmup, hold_steps=int(self.hold_steps))
        if factory is None:
            opt = graph_optimizer_factory(genome, space=self.space,
                                          semantics=self.semantics, **kwargs)
        else:
            opt = factory(genome, **kwargs)
        opt.build(model.trainable_variables)
        initial = model.get_weights()
        x_train, y_train, _, _ = self._tensors()
        trainer = TrainLoop(model, opt, x_train, y_train, self.batch_size,
                           augment=bool(self.augment), augment_options=self.augment_options,
                           jit=bool(self.jit))
        timing["build"] += time.perf_counter() - t

        t = time.perf_counter()
        trainer.trace(*val_batches[0])
        timing["trace"] += time.perf_counter() - t

        # Stage 1: learning-rate sweep.
        best = sweep(self, trainer, seed, initial, rates, info)
        info["lr"] = best

        # Stage 2: training at the best learning rate, `repeats` times; if it fails,
        # once more at the next rate (stages.fall_back).
        info["stage"] = "train"
        while True:
            try:
                fits = self._train(trainer, initial, best, seed, val_batches, n_val, info)
                break
            except StageFailure as fail:
                best = fall_back(self, info, fail)
        info["runs"] = fits
        return float(np.mean(fits)) if self.aggregate == "mean" else float(np.min(fits))

    def _train(self, trainer, initial, lr, seed, val_batches, n_val, info):
        """Stage 2 at ``lr``: the ``repeats`` runs' fitnesses, or raise the first failure."""
        from deap_nos.backends.tensorflow.surrogate import convnet

        ds, timing, fits = self.dataset(), info["timing"], []
        for r in range(int(self.repeats)):
            rseed = sub_seed(seed, r)
            if r == 0:
                weights = initial
            else:
                t = time.perf_counter()
                seed_everything(rseed)
                weights = convnet(self.base, ds.input_shape, ds.classes).get_weights()
                timing["build"] += time.perf_counter() - t
            fits.append(train_run(self, trainer, weights, lr, rseed, val_batches, n_val,
                                  info, r))
        return fits
