"""The two stages of the surrogate protocol, run on one compiled training loop.

:class:`~deap_nos.evaluator.SurrogateEvaluator` holds the settings, the data and the
protocol's outline — build the model and optimizer once, sweep the learning rates, then
train ``repeats`` runs at the best one. This module holds what each stage does with a
:class:`~deap_nos.train_loop.TrainLoop` and when it fails:

* :func:`sweep` (stage 1): the quick check at ``quick_rates``, then the rest of the
  grid; returns the best learning rate or raises the sweep's rejection;
* :func:`train_run` (stage 2, one run): train ``steps`` steps, validating every
  ``eval_every``; returns the best validation accuracy or raises the early stop or
  the non-finite loss;
* :class:`StageFailure`, what both raise, and :func:`sweep_rejection`, the sweep's
  rejection reasons, which the population path (:mod:`deap_nos.population`) gives
  word for word.

The functions read the evaluator's settings (``settings.sweep_steps``,
``settings.stop_after``, …) and append what they see to the evaluation's ``info``
(``info["sweep"]``, ``info["curves"]``, ``info["timing"]``).
"""
import time

import numpy as np

from .train_loop import fmt_lr, reset_optimizer, set_peak_learning_rate, tail_mean

__all__ = ["StageFailure", "sweep_rejection", "start_run", "sweep", "train_run"]


class StageFailure(Exception):
    """A candidate failed for a recorded *reason* at a *stage* (``"sweep"``,
    ``"train"``); the evaluator turns it into ``Evaluation.failure(reason, stage)``."""

    def __init__(self, reason, stage):
        super().__init__(reason)
        self.reason = reason
        self.stage = stage


def sweep_rejection(results, tried, threshold, what):
    """The :class:`StageFailure` of a sweep whose runs at the rates *tried* all stayed
    below *threshold* training accuracy (*what*: ``"quick check"``, ``"full sweep"``)."""
    runs = [res for res in results if res["lr"] in tried]
    if runs and not any(res["finite"] for res in runs):
        return StageFailure(
            f"rejected in the sweep: non-finite (NaN/inf) loss at every learning "
            f"rate tried ({', '.join(fmt_lr(v) for v in tried)})", "sweep")
    best_acc = max(res["train_acc"] for res in runs)
    nan = [fmt_lr(res["lr"]) for res in runs if not res["finite"]]
    extra = f"; NaN/inf loss at lr {', '.join(nan)}" if nan else ""
    return StageFailure(
        f"rejected in the sweep ({what}): training accuracy stayed below "
        f"{threshold:.0%} at every learning rate tried "
        f"({', '.join(fmt_lr(v) for v in tried)}); best {best_acc:.1%}{extra}",
        "sweep")


def start_run(trainer, weights, lr, seed):
    """Restore weights, zero the optimizer state, set the peak lr, restart the data."""
    trainer.start(seed)
    trainer.model.set_weights(weights)
    reset_optimizer(trainer.optimizer)
    set_peak_learning_rate(trainer.optimizer, lr)


def sweep(settings, trainer, seed, initial, rates, info):
    """Stage 1: the quick check, then the rest; returns the best learning rate."""
    results = info["sweep"]

    timing = info["timing"]

    def try_rate(lr):
        t = time.perf_counter()
        start_run(trainer, initial, lr, seed)
        if settings.sweep_steps == 0:
            results.append({"lr": lr, "train_acc": None, "loss": None, "finite": True})
            return
        t1 = time.perf_counter()
        timing["restore"] += t1 - t
        losses, accs = trainer.run(settings.sweep_steps)
        timing["step_sweep"] += time.perf_counter() - t1
        finite = bool(len(losses) == settings.sweep_steps and np.isfinite(losses).all())
        results.append({
            "lr": lr,
            "train_acc": tail_mean(accs) if finite else 0.0,
            "loss": tail_mean(losses) if finite else float("nan"),
            "finite": finite,
            "steps": int(len(losses)),
        })

    quick = settings.quick_rates
    if settings.sweep_steps == 0:
        for lr in rates:
            try_rate(lr)
        return rates[0]
    for lr in quick:
        try_rate(lr)
    if quick and all(res["train_acc"] < settings.sweep_min_acc for res in results):
        raise sweep_rejection(results, quick, settings.sweep_min_acc, "quick check")
    for lr in rates[len(quick):]:
        try_rate(lr)
    # Ranking: highest final training accuracy; ties go to the lower loss.
    best = max(results, key=lambda res: (res["train_acc"],
                                         -res["loss"] if res["finite"] else -np.inf))
    if best["train_acc"] < settings.sweep_gate_acc:
        raise sweep_rejection(results, rates, settings.sweep_gate_acc, "full sweep")
    return best["lr"]


def train_run(settings, trainer, weights, lr, seed, val_batches, n_val, info, index):
    """Stage 2, one run: returns its best validation accuracy or raises StageFailure."""
    timing = info["timing"]
    t = time.perf_counter()
    start_run(trainer, weights, lr, seed)
    timing["restore"] += time.perf_counter() - t
    curve = {"step": [], "train_loss": [], "train_acc": [], "val_acc": []}
    info["curves"].append(curve)
    done, best = 0, 0.0
    while done < settings.steps:
        k = min(int(settings.eval_every), int(settings.steps) - done)
        t = time.perf_counter()
        losses, accs = trainer.run(k)
        timing["step_train"] += time.perf_counter() - t
        if len(losses) < k or not np.isfinite(losses).all():
            bad = done + len(losses)
            raise StageFailure(f"non-finite (NaN/inf) training loss at step {bad} of run "
                               f"{index + 1} (lr {fmt_lr(lr)})", "train")
        done += k
        t = time.perf_counter()
        val = trainer.accuracy(val_batches, n_val)
        timing["validate"] += time.perf_counter() - t
        train_acc = float(np.mean(accs))
        curve["step"].append(done)
        curve["train_loss"].append(float(np.mean(losses)))
        curve["train_acc"].append(train_acc)
        curve["val_acc"].append(val)
        best = max(best, val)
        if done >= settings.stop_after and train_acc < settings.min_train_acc:
            raise StageFailure(
                f"stopped early at step {done} of run {index + 1}: training accuracy "
                f"{train_acc:.1%} below {settings.min_train_acc:.0%} (lr {fmt_lr(lr)})",
                "train")
    return best
