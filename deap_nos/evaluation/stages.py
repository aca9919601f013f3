"""The two stages of the surrogate protocol, run on one compiled training loop.

:class:`~deap_nos.evaluation.evaluator.SurrogateEvaluator` holds the settings, the data and the
protocol's outline — build the model and optimizer once, sweep the learning rates, then
train ``repeats`` runs at the best one. This module holds what each stage does with a
:class:`~deap_nos.backends.tensorflow.train_loop.TrainLoop` and when it fails:

* :func:`sweep` (stage 1): the quick check at ``quick_rates``, then the rest of the
  grid; returns the best learning rate or raises the sweep's rejection;
* :func:`train_run` (stage 2, one run): train ``steps`` steps, validating every
  ``eval_every``; returns the best validation accuracy or raises the early stop or
  the non-finite loss;
* :func:`quick_check` and :func:`choose_rate`, the sweep's two decisions — reject at
  the quick rates, pick the best rate or reject at the gate — which the population path
  (:mod:`deap_nos.evaluation.population`) calls too, so both paths decide by one rule;
* :func:`fall_back`, what both paths do when stage 2 fails at the chosen rate;
* :class:`StageFailure`, what both raise, and :func:`sweep_rejection`, the sweep's
  rejection reasons, which the population path gives word for word.

The two decisions allow for the noise of what they read. A sweep run's training
accuracy is the mean over its last 10 % of steps (:func:`~deap_nos.backends.tensorflow.train_loop.tail_mean`),
``n`` samples in all, so it carries a binomial standard error ``se = √(p(1−p)/n)`` (1.4
points at the ``default`` preset's 4 batches of 256). Two evaluations of one genome — two
seeds, or the single and the population path, which draw weights and batches
differently — see different draws of it, and a hard threshold turns that noise into a
different verdict (issue 22: PowerSign-ld passed the quick check at 26 % on one path and
was rejected at 19 % on the other, its good rates 0.1-1 lying between the quick ones;
``momentum: g`` took lr 10 at 72.2 % over lr 1 at 71.7 % on one path and trained badly).
Hence:

* the quick check, a shortcut before the full sweep, rejects only when every quick
  rate stays below ``sweep_min_acc`` by more than :data:`QUICK_CHECK_SE` standard errors;
  a genome near the gate goes on to the full sweep, whose gate (``sweep_gate_acc``, no
  margin) decides;
* the rate chosen is the *smallest* among those within :data:`TIE_SE` standard errors of
  the best (ranked by training accuracy, then lower loss): the sweep sees only the
  warm-up (40 of 60 warm-up steps at ``default``), so of two rates that train equally
  well there, the larger has not yet met its peak and is the riskier.

* when stage 2 fails at the chosen rate (a non-finite loss, or the early stop on
  training accuracy), the genome gets **one** more try before it fails: at the rate
  :func:`choose_rate`'s rule picks among the other sweep runs (finite, reaching
  ``sweep_gate_acc``). The sweep sees only the warm-up, and two rates a few points apart
  in it may be ordered either way by noise (issue 22: ``momentum: asinh(atan(v_hat))``
  put lr 1 ahead of 0.1 on one path, whose training at 1 diverged after the warm-up, and
  0.1 ahead on the other, which trained to 91 %). One try only: it costs a full
  training, and a genome that fails at its two best rates is not one noise misranked.
  A genome that trains at its chosen rate is untouched.

The functions read the evaluator's settings (``settings.sweep_steps``,
``settings.stop_after``, …) and append what they see to the evaluation's ``info``
(``info["sweep"]``, ``info["curves"]``, ``info["timing"]``).
"""
import time

import numpy as np

from ..backends.tensorflow.train_loop import (fmt_lr, reset_optimizer, set_peak_learning_rate,
                                              tail_mean)

__all__ = ["StageFailure", "sweep_rejection", "start_run", "sweep", "train_run",
           "quick_check", "choose_rate", "fallback_rate", "fall_back", "accuracy_error", "QUICK_CHECK_SE", "TIE_SE"]

#: Standard errors by which the quick check's best accuracy must stay below
#: ``sweep_min_acc`` for the genome to be rejected without the full sweep.
QUICK_CHECK_SE = 2.0
#: Standard errors within the best sweep accuracy that count as a tie (the smallest
#: tied rate is chosen).
TIE_SE = 1.0


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


def accuracy_error(acc, steps, batch_size):
    """Binomial standard error of a sweep run's tail accuracy ``acc``: the mean over
    the last 10 % of its ``steps`` batches (as :func:`tail_mean`) of ``batch_size``."""
    n = max(1, int(np.ceil(0.1 * max(int(steps), 1)))) * max(1, int(batch_size))
    p = min(max(float(acc), 0.0), 1.0)
    return float(np.sqrt(p * (1.0 - p) / n))


def _error(res, settings):
    steps = res.get("steps", settings.sweep_steps)
    return accuracy_error(res["train_acc"], steps, settings.batch_size)


def quick_check(settings, results):
    """Raise the quick check's rejection when every quick rate's run stayed below
    ``sweep_min_acc`` by more than :data:`QUICK_CHECK_SE` standard errors."""
    quick = settings.quick_rates
    runs = [res for res in results if res["lr"] in quick]
    if not runs:
        return
    gate = settings.sweep_min_acc
    if all(res["train_acc"] + QUICK_CHECK_SE * _error(res, settings) < gate
           for res in runs):
        raise sweep_rejection(results, quick, gate, "quick check")


def choose_rate(settings, results, rates):
    """The learning rate the sweep picks, or raise the full sweep's rejection.

    The best run ranks highest by training accuracy, then by lower loss; it must reach
    ``sweep_gate_acc``. Among the finite runs within :data:`TIE_SE` standard errors of
    its accuracy, the smallest learning rate is chosen.
    """
    best = max(results, key=lambda res: (res["train_acc"],
                                         -res["loss"] if res["finite"] else -np.inf))
    if best["train_acc"] < settings.sweep_gate_acc:
        raise sweep_rejection(results, rates, settings.sweep_gate_acc, "full sweep")
    floor = best["train_acc"] - TIE_SE * _error(best, settings)
    tied = [res["lr"] for res in results if res["finite"] and res["train_acc"] >= floor]
    return min(tied) if tied else best["lr"]


def fallback_rate(settings, results, failed):
    """The rate to train at when training failed at each rate in *failed*, or None:
    :func:`choose_rate`'s rule on the other finite sweep runs, if one reaches
    ``sweep_gate_acc``."""
    rest = [res for res in results if res["lr"] not in failed and res["finite"]
            and res.get("train_acc") is not None]
    if not rest or max(res["train_acc"] for res in rest) < settings.sweep_gate_acc:
        return None
    return choose_rate(settings, rest, [res["lr"] for res in rest])


def fall_back(settings, info, failure):
    """Stage 2 failed at ``info["lr"]`` with *failure* (a :class:`StageFailure`): return
    the rate to train at instead, or raise.

    The first time, with a :func:`fallback_rate`: record ``info["fallback"] =
    {"from": failed rate, "to": new rate, "reason": why it failed, "curves": its
    curves}``, start ``info["curves"]`` afresh and set ``info["lr"]`` to the new rate.
    Otherwise raise *failure* — after a fallback, naming the first failure too.
    """
    first = info.get("fallback")
    if first is not None:
        raise StageFailure(f"{failure.reason}; fell back from lr {fmt_lr(first['from'])}, "
                           f"which failed first: {first['reason']}", failure.stage)
    lr = fallback_rate(settings, info["sweep"], {info["lr"]})
    if lr is None:
        raise failure
    info["fallback"] = {"from": info["lr"], "to": lr, "reason": failure.reason,
                        "curves": info["curves"]}
    info["curves"] = []
    info["lr"] = lr
    return lr


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
    quick_check(settings, results)
    for lr in rates[len(quick):]:
        try_rate(lr)
    return choose_rate(settings, results, rates)


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
