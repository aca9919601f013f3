"""A cheap genome evaluator, numpy only: for tests, examples and algorithm comparisons.

:class:`DigitsEvaluator` trains a small classifier on scikit-learn's bundled 8×8
digits (1,797 images, no download) with the genome compiled on the numpy backend, for
a whole learning-rate grid *at once*: the leading axis of every weight tensor indexes
the learning rate, like the integrity check's trajectories
(``NumpyBackend(batch_axes=1)``, one ``lr`` per row). It is a stand-in for
:class:`~deap_nos.evaluation.evaluator.SurrogateEvaluator` with the same contract and ``info``
keys, about a thousand times cheaper (≈ 0.1 s a genome)::

    from deap_nos.evaluation.cheap import DigitsEvaluator
    toolbox.register("evaluate", DigitsEvaluator())
    toolbox.evaluate(nos.parse("div(v_hat, sqrt_abs(s_hat))"))   # ≈ (0.95,)

The protocol, for one genome::

    seed  ← sha256(seed, genome.fingerprint())          # never Python's salted hash
    W0    ← small random weights from seed, copied to every learning rate
    for t = 0..steps-1:                                  # all learning rates at once
        minibatch of batch_size training images (order drawn from seed)
        delta ← program.update(grad, state, W, t, lr · one_cycle(t))   # per row lr
        W ← W + delta; a row whose weights become NaN/inf is dropped
        every eval_every steps: validation accuracy of every row
    fitness = best validation accuracy of the best learning rate

A genome whose every row diverges fails in stage ``"train"``; one whose best row stays
below ``threshold`` validation accuracy (chance is 0.1) fails in stage ``"sweep"``;
an exception while compiling or running the genome fails in ``"train"``. Failures
return :meth:`Evaluation.failure <deap_nos.evaluation.Evaluation.failure>` with the
reason, so the search goes on.

The evaluator is picklable (plain attributes; the data are loaded lazily per process
and never pickled) and deterministic: the same genome and seed give the same fitness in
any process.
"""
import time

import numpy as np

from ..backend import NumpyBackend
from ..errors import NOSError
from . import Evaluation, genome_seed
from ..program import compile as compile_genome
from ..schedules import one_cycle
from ..spaces.nos.space import space_argument

__all__ = ["DigitsEvaluator", "SoftmaxEvaluator", "load_digits_split", "genome_seed"]

_DATA = {}


def load_digits_split(n_val=597, split_seed=0):
    """``(x_train, y_train, x_val, y_val)``: scikit-learn's digits scaled to [0, 1], a
    fixed shuffled split (cached per process)."""
    key = (n_val, split_seed)
    if key not in _DATA:
        from sklearn.datasets import load_digits
        digits = load_digits()
        x = digits.data.astype(np.float64) / 16.0
        y = digits.target.astype(np.int64)
        order = np.random.RandomState(split_seed).permutation(len(y))
        x, y = x[order], y[order]
        _DATA[key] = (x[n_val:], y[n_val:], x[:n_val], y[:n_val])
    return _DATA[key]



def _fmt(lr):
    return f"{lr:g}"


class DigitsEvaluator:
    """A DEAP evaluator: train on the digits with the genome, return ``(fitness,)``.

    :param lrs: The learning-rate grid, trained at once (one row each).
    :param steps: Minibatch SGD steps (the one-cycle schedule's length).
    :param batch_size: Training images per step.
    :param warmup: Warm-up steps of the one-cycle schedule (and momentum cycle).
    :param hidden: 0 for multinomial logistic regression (softmax); ``h > 0`` for a
        one-hidden-layer tanh MLP with ``h`` units (twice the cost).
    :param eval_every: Steps between validation measurements (and at the end).
    :param threshold: Validation accuracy the best learning rate must reach, else
        the genome fails in stage ``"sweep"``.
    :param seed: Run seed; a genome's own seed derives from it and its fingerprint.
    :param space: The :class:`~deap_nos.spaces.nos.space.SearchSpace` (default: the paper's).
    :param init_scale: Standard deviation of the initial weights.
    """

    def __init__(self, lrs=(1.0, 0.1, 0.01, 0.001), steps=300, batch_size=64,
                 warmup=30, hidden=0, eval_every=25, threshold=0.2, seed=0, space=None,
                 init_scale=0.05):
        lrs = tuple(float(lr) for lr in lrs)
        if not lrs or any(not np.isfinite(lr) or lr <= 0 for lr in lrs):
            raise NOSError(f"lrs must be positive learning rates, got {lrs!r}")
        for name, value, low in (("steps", steps, 1), ("batch_size", batch_size, 1),
                                 ("warmup", warmup, 0), ("hidden", hidden, 0),
                                 ("eval_every", eval_every, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise NOSError(f"{name} must be an integer >= {low}, got {value!r}")
        self.lrs, self.steps, self.batch_size = lrs, steps, batch_size
        self.warmup, self.hidden, self.eval_every = warmup, hidden, eval_every
        self.threshold, self.seed = float(threshold), int(seed)
        self.space = space_argument(space, "DigitsEvaluator")
        self.init_scale = float(init_scale)

    def __repr__(self):
        return (f"DigitsEvaluator(lrs={self.lrs}, steps={self.steps}, "
                f"batch_size={self.batch_size}, hidden={self.hidden}, seed={self.seed})")

    # -- model
    def _init_params(self, rng, n_in, n_out):
        rows = len(self.lrs)
        sizes = [n_in, self.hidden, n_out] if self.hidden else [n_in, n_out]
        params = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            w = rng.normal(0.0, self.init_scale, size=(a, b))
            params += [np.repeat(w[None], rows, axis=0), np.zeros((rows, b))]
        return params

    @staticmethod
    def _shared_input(x, w):
        """``x @ w[r]`` for every row r, as one matrix product: (rows, batch, out)."""
        rows, n_in, n_out = w.shape
        out = x @ w.transpose(1, 0, 2).reshape(n_in, rows * n_out)
        return out.reshape(len(x), rows, n_out).transpose(1, 0, 2)

    @staticmethod
    def _shared_grad(x, d):
        """``x.T @ d[r]`` for every row r, as one matrix product: (rows, in, out)."""
        rows, n, n_out = d.shape
        out = x.T @ d.transpose(1, 0, 2).reshape(n, rows * n_out)
        return out.reshape(x.shape[1], rows, n_out).transpose(1, 0, 2)

    def _forward(self, params, x):
        """Logits (rows, batch, classes) and the hidden activations (or None)."""
        if self.hidden:
            w1, b1, w2, b2 = params
            h = np.tanh(self._shared_input(x, w1) + b1[:, None, :])
            return np.matmul(h, w2) + b2[:, None, :], h
        w, b = params
        return self._shared_input(x, w) + b[:, None, :], None

    def _loss_grads(self, params, x, y):
        logits, h = self._forward(params, x)
        logits = logits - logits.max(axis=2, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=2, keepdims=True)
        n = len(y)
        loss = -np.log(np.maximum(p[:, np.arange(n), y], 1e-300)).mean(axis=1)
        d = p
        d[:, np.arange(n), y] -= 1.0
        d /= n
        if not self.hidden:
            return loss, [self._shared_grad(x, d), d.sum(axis=1)]
        w2 = params[2]
        dh = np.matmul(d, w2.transpose(0, 2, 1)) * (1.0 - h * h)
        return loss, [self._shared_grad(x, dh), dh.sum(axis=1),
                      np.matmul(h.transpose(0, 2, 1), d), d.sum(axis=1)]

    def _accuracy(self, params, x, y):
        logits, _ = self._forward(params, x)
        return (logits.argmax(axis=2) == y[None, :]).mean(axis=1)

    # -- evaluation
    def __call__(self, genome):
        start = time.perf_counter()
        data = load_digits_split()          # a data problem is raised, not a failure
        seed = genome_seed(self.seed, genome)
        info = {"failed": False, "reason": None, "stage": "train", "lr": None,
                "seed": seed, "sweep": [], "curves": []}
        try:
            with np.errstate(all="ignore"):
                acc, curves, finite = self._train(genome, seed, data)
        except Exception as error:  # a genome that breaks: a recorded failure
            result = Evaluation.failure(f"exception while training: "
                                        f"{type(error).__name__}: {error}", "train",
                                        **{k: v for k, v in info.items()
                                           if k not in ("failed", "reason", "stage")})
            result.info["time"] = time.perf_counter() - start
            return result
        info["curves"] = curves
        info["sweep"] = [{"lr": lr, "val_acc": float(a), "finite": bool(f)}
                         for lr, a, f in zip(self.lrs, acc, finite)]
        info["time"] = time.perf_counter() - start
        if not finite.any():
            return Evaluation.failure(
                f"non-finite (NaN/inf) weights at every learning rate "
                f"({', '.join(_fmt(lr) for lr in self.lrs)})", "train",
                **{k: v for k, v in info.items() if k not in ("failed", "reason", "stage")})
        scores = np.where(finite, acc, -np.inf)
        best = int(np.argmax(scores))
        info["lr"] = self.lrs[best]
        if scores[best] < self.threshold:
            nan = [_fmt(lr) for lr, f in zip(self.lrs, finite) if not f]
            extra = f"; NaN/inf at lr {', '.join(nan)}" if nan else ""
            return Evaluation.failure(
                f"rejected in the sweep: validation accuracy stayed below "
                f"{self.threshold:.0%} at every learning rate; best "
                f"{scores[best]:.1%}{extra}", "sweep",
                **{k: v for k, v in info.items() if k not in ("failed", "reason", "stage")})
        info["stage"] = "done"
        return Evaluation((float(scores[best]),), info)

    def _batches(self, rng, n):
        """The training indices of each of the ``steps`` minibatches: a permutation of
        the *n* examples read in order, drawn anew when the next batch would run past
        its end (the term-mix fitness trains its tasks with the same stream)."""
        order, cursor = rng.permutation(n), 0
        for _ in range(self.steps):
            if cursor + self.batch_size > n:
                order, cursor = rng.permutation(n), 0
            yield order[cursor:cursor + self.batch_size]
            cursor += self.batch_size

    def _train(self, genome, seed, data):
        """Best validation accuracy per row, the curves, and which rows stayed finite."""
        x_train, y_train, x_val, y_val = data
        rng = np.random.default_rng(seed)
        params = self._init_params(rng, x_train.shape[1], 10)
        program = compile_genome(genome, NumpyBackend(batch_axes=1, seed=seed),
                                 self.space, total_steps=self.steps,
                                 warmup_steps=self.warmup)
        B = program.B
        rows = len(self.lrs)
        lr_rows = np.asarray(self.lrs)
        lr_shapes = [lr_rows.reshape((rows,) + (1,) * (p.ndim - 1)) for p in params]
        states = [program.init(p) for p in params]
        finite = np.ones(rows, dtype=bool)
        best = np.zeros(rows)
        curves = [{"lr": lr, "step": [], "train_loss": [], "val_acc": []}
                  for lr in self.lrs]
        losses = []
        for t, batch in enumerate(self._batches(rng, len(y_train))):
            loss, grads = self._loss_grads(params, x_train[batch], y_train[batch])
            losses.append(loss)
            factor = one_cycle(t, self.steps, self.warmup, 0, B)
            for i, (p, g) in enumerate(zip(params, grads)):
                delta, states[i] = program.update(g, states[i], p, t, lr_shapes[i] * factor)
                params[i] = p + np.broadcast_to(delta, p.shape)
            ok = np.ones(rows, dtype=bool)
            for p in params:
                ok &= np.isfinite(p).reshape(rows, -1).all(axis=1)
            if not ok.all():
                finite &= ok
                for i, p in enumerate(params):     # park dead rows at zero
                    params[i] = np.where(finite.reshape(lr_shapes[i].shape), p, 0.0)
                if not finite.any():
                    break
            if (t + 1) % self.eval_every == 0 or t + 1 == self.steps:
                acc = np.where(finite, self._accuracy(params, x_val, y_val), 0.0)
                best = np.maximum(best, acc)
                mean_loss = np.mean(losses, axis=0)
                losses = []
                for r, curve in enumerate(curves):
                    curve["step"].append(t + 1)
                    curve["train_loss"].append(float(mean_loss[r]))
                    curve["val_acc"].append(float(acc[r]))
        return best, curves, finite


#: An alias: the default model is multinomial logistic (softmax) regression.
SoftmaxEvaluator = DigitsEvaluator
