"""Adaptive AutoLR's fitness: the *worst* accuracy over up to k trainings on disjoint
training shards, cut short at the first one below a minimum acceptable accuracy
(seed 003, Algorithm 1)::

    shards ← the training set split into k disjoint parts      # 5 in the paper
    fitness ← +inf
    for i = 1..k:
        acc ← accuracy on the fitness set after training on shard i
        fitness ← min(fitness, acc)
        if acc < min_accuracy: stop                            # 0.8 in the paper
    return fitness

:class:`WorstOfK` is that loop around a *shard trainer* (``train(genome, shard, k,
seed) -> accuracy``): :class:`DigitsShards` (numpy, softmax regression on the
bundled 8×8 digits; milliseconds, for tests and CPU searches) or
:class:`SurrogateShards` (the surrogate ConvNet of
:class:`~deap_nos.evaluator.SurrogateEvaluator` on one shard, the Keras optimizer made
by its ``optimizer_factory``). The candidate is first screened by the space's
shifted-sphere check. The per-shard accuracies go to ``info["shards"]``; a NaN/inf
training or a crash is a failure with its reason, the shards trained so far kept.
"""
import time

import numpy as np

from ...backend import NumpyBackend
from ...errors import NOSError
from ...evaluation import Evaluation, genome_seed
from .program import LEARNING_RATE


class ShardFailure(Exception):
    """A shard's training diverged (raised by a shard trainer with the reason)."""


def shard_indices(n, k, shard, seed=0):
    """The indices of shard ``shard`` of ``k`` disjoint shards of ``range(n)`` (a fixed
    shuffle by ``seed``, then ``k`` nearly equal parts)."""
    order = np.random.RandomState(seed).permutation(n)
    return np.array_split(order, k)[shard]


class WorstOfK:
    """A DEAP evaluator: ``(worst accuracy,)`` over up to ``k`` shard trainings.

    :param trainer: A shard trainer (``train(genome, shard, k, seed) -> accuracy``).
    :param k: Shards (evaluations at most); the paper's 5.
    :param min_accuracy: The minimum acceptable accuracy: the first shard below it
        ends the evaluation (the paper's 0.8 on Fashion-MNIST).
    :param seed: Run seed; a genome's own seed derives from it and its fingerprint.
    :param screen: Run the space's shifted-sphere check first (stage ``"integrity"``).
    """

    def __init__(self, trainer, k=5, min_accuracy=0.8, seed=0, screen=True):
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise NOSError(f"k must be an integer >= 1, got {k!r}")
        if not 0.0 <= float(min_accuracy) <= 1.0:
            raise NOSError(f"min_accuracy is an accuracy in [0, 1], got {min_accuracy!r}")
        self.trainer, self.k = trainer, k
        self.min_accuracy, self.seed, self.screen = float(min_accuracy), int(seed), screen

    def __repr__(self):
        return (f"WorstOfK({self.trainer!r}, k={self.k}, min_accuracy={self.min_accuracy},"
                f" seed={self.seed})")

    def settings(self):
        """The evaluator's settings for the run folder: the shard trainer's training
        settings (its ``settings()``), and the worst-of-k fitness under ``"fitness"``."""
        out = dict(self.trainer.settings()) if hasattr(self.trainer, "settings") \
            else {"preset": None}
        out["fitness"] = dict(out.pop("fitness", {}), space="autolr", kind="worst_of_k",
                              k=self.k, min_accuracy=self.min_accuracy, seed=self.seed,
                              trainer=repr(self.trainer))
        return out

    def __call__(self, genome):
        start = time.perf_counter()
        seed = genome_seed(self.seed, genome)
        info = {"seed": seed, "shards": [], "k": self.k, "min_accuracy": self.min_accuracy,
                "lr": LEARNING_RATE}
        if self.screen:
            check = genome.space.screen(genome)
            if not check:
                return self._done(Evaluation.failure(
                    f"integrity check: {check.reason}", "integrity", **info), start)
        for shard in range(self.k):
            try:
                acc = float(self.trainer.train(genome, shard, self.k, seed))
            except ShardFailure as fail:
                return self._done(Evaluation.failure(
                    f"shard {shard + 1} of {self.k}: {fail}", "train", **info), start)
            except Exception as exc:  # a candidate that crashes: recorded, the search goes on
                return self._done(Evaluation.failure(
                    f"exception while training shard {shard + 1} of {self.k}: "
                    f"{type(exc).__name__}: {exc}"[:2000], "train", **info), start)
            info["shards"].append(acc)
            if acc < self.min_accuracy:
                break
        cut = info["shards"][-1] < self.min_accuracy
        info.update(failed=False, reason=None, stage="cut" if cut else "done", cut=cut)
        return self._done(Evaluation((min(info["shards"]),), info), start)

    @staticmethod
    def _done(result, start):
        result.info["time"] = time.perf_counter() - start
        return result


class DigitsShards:
    """Shard trainer on scikit-learn's 8×8 digits, numpy only (for tests and CPU runs).

    Softmax regression (or a ``hidden``-unit tanh MLP) trained for ``steps`` minibatch
    steps on shard ``i`` of the training split, with the genome at lr = 1 (AutoLR's
    constants carry the step size); the accuracy is measured on the validation split
    (the fitness set). NaN/inf weights raise :class:`ShardFailure`.
    """

    def __init__(self, steps=100, batch_size=32, hidden=0, init_scale=0.05):
        from ...cheap import DigitsEvaluator
        self.model = DigitsEvaluator(lrs=(LEARNING_RATE,), steps=steps, batch_size=batch_size,
                                     hidden=hidden, init_scale=init_scale)
        self.steps, self.batch_size = steps, batch_size
        self.hidden, self.init_scale = hidden, init_scale
        self.trained = 0          # shards trained by this object (tests count them)

    def __repr__(self):
        return f"DigitsShards(steps={self.steps}, batch_size={self.batch_size})"

    def settings(self):
        """``"cheap"`` (numpy; nothing a verdict retrains) and the shard training."""
        return {"preset": "cheap", "fitness": {
            "steps": self.steps, "batch_size": self.batch_size, "hidden": self.hidden}}

    def train(self, genome, shard, k, seed):
        """Accuracy on the fitness set after training on shard ``shard`` of ``k``."""
        from ...cheap import load_digits_split
        self.trained += 1
        x_train, y_train, x_val, y_val = load_digits_split()
        index = shard_indices(len(y_train), k, shard)
        x, y = x_train[index], y_train[index]
        rng = np.random.default_rng([seed, shard])
        params = self.model._init_params(rng, x.shape[1], 10)
        program = genome.space.compile(genome, NumpyBackend(batch_axes=1, seed=seed),
                                       total_steps=self.steps)
        states = [program.init(p) for p in params]
        batch = min(self.batch_size, len(y))
        with np.errstate(all="ignore"):
            for t in range(self.steps):
                rows = rng.choice(len(y), size=batch, replace=False)
                _, grads = self.model._loss_grads(params, x[rows], y[rows])
                for i, (p, g) in enumerate(zip(params, grads)):
                    delta, states[i] = program.update(g, states[i], p, t, LEARNING_RATE)
                    params[i] = p + np.broadcast_to(delta, p.shape)
                if not all(np.isfinite(p).all() for p in params):
                    raise ShardFailure(f"non-finite (NaN/inf) weights at step {t + 1}")
            return float(self.model._accuracy(params, x_val, y_val)[0])


class SurrogateShards:
    """Shard trainer on the surrogate ConvNet (:class:`~deap_nos.evaluator.SurrogateEvaluator`).

    Shard ``i`` of the data set's training split becomes the training split of an
    evaluator with the given ``preset`` and ``overrides``, one learning rate (1.0, no
    sweep) and one run; its fitness (validation accuracy) is the shard's accuracy.
    ``optimizer_factory`` builds the Keras optimizer from the genome (default:
    :func:`~.keras_optimizer.optimizer_factory`, :class:`AutoLROptimizer`).
    """

    def __init__(self, preset="quick", optimizer_factory=None, **overrides):
        self.preset, self.optimizer_factory, self.overrides = preset, optimizer_factory, overrides
        self._evaluators = {}

    def __repr__(self):
        return f"SurrogateShards(preset={self.preset!r})"

    def settings(self):
        """The SurrogateEvaluator preset and overrides each shard trains with."""
        return dict(self.overrides, preset=self.preset)

    def __getstate__(self):
        return {**self.__dict__, "_evaluators": {}}

    def _evaluator(self, shard, k):
        if (shard, k) not in self._evaluators:
            import dataclasses

            from ...evaluator import SurrogateEvaluator
            from .keras_optimizer import optimizer_factory
            factory = self.optimizer_factory or optimizer_factory
            base = SurrogateEvaluator.preset(self.preset, **self.overrides)
            data = base.dataset()
            index = shard_indices(len(data.y_train), k, shard)
            part = dataclasses.replace(data, x_train=data.x_train[index],
                                       y_train=data.y_train[index])
            settings = dict(self.overrides, data=part, lr_grid=(LEARNING_RATE,),
                            quick_rates=(), repeats=1, standardize=False,
                            warmup_steps=0, sweep_min_acc=0.0, sweep_gate_acc=0.0)
            self._evaluators[shard, k] = SurrogateEvaluator.preset(
                self.preset, optimizer_factory=factory, **settings)
        return self._evaluators[shard, k]

    def train(self, genome, shard, k, seed):
        """Validation accuracy after training the ConvNet on shard ``shard`` of ``k``."""
        result = self._evaluator(shard, k)(genome)
        if result.failed:
            raise ShardFailure(result.reason)
        return float(result[0])
