"""What the population evaluator's slots train: runs, and the genomes they belong to.

A :class:`_Run` is one training run in a slot — a sweep run at one learning rate or a
stage-2 run — with the steps it has done, what it has seen and its result; a
:class:`_Job` is one genome: its protocol (a generator of run batches, see
:meth:`~deap_nos.evaluation.population.PopulationEvaluator._protocol`) and its outcome.
"""
import numpy as np

from .stages import StageFailure as _Failure
from ..backends.tensorflow.train_loop import fmt_lr, tail_mean

__all__ = []


class _Run:
    """One training run in a slot: its protocol position and what it has seen."""

    def __init__(self, job, kind, lr, seed, index, length, eval_every, resume=None):
        self.job, self.kind, self.lr, self.seed, self.index = job, kind, lr, seed, index
        self.length, self.eval_every = int(length), int(eval_every)
        self.done, self.losses, self.accs = 0, [], []
        self.interval = ([], [])
        self.best, self.result, self.finished = 0.0, None, False
        self.resume = resume      # a _SweepStart: this run carries on from a sweep run
        if resume is not None:
            self.done = len(resume.losses)
            self.interval = (list(resume.losses), list(resume.accs))

    @property
    def stale(self):
        """Its genome is decided, or has moved on (a fallback) from the batch it was in."""
        return self.job.done or not any(run is self for run in self.job.runs)

    def steps_to_event(self):
        if self.kind == "sweep":
            return self.length - self.done
        return min(self.eval_every - self.done % self.eval_every, self.length - self.done)

    def consume(self, losses, accs):
        """Record a chunk; True when this run now needs a validation pass."""
        bad = np.flatnonzero(~np.isfinite(losses))
        if bad.size:
            losses, accs = losses[:bad[0] + 1], accs[:bad[0] + 1]
        self.done += len(losses)
        if self.kind == "sweep":
            self.losses.extend(losses.tolist())
            self.accs.extend(accs.tolist())
            if bad.size or self.done >= self.length:
                finite = not bad.size
                self._finish({"lr": self.lr, "steps": len(self.losses), "finite": finite,
                              "train_acc": tail_mean(self.accs) if finite else 0.0,
                              "loss": tail_mean(self.losses) if finite else float("nan")})
            return False
        self.interval[0].extend(losses.tolist())
        self.interval[1].extend(accs.tolist())
        if bad.size:
            self._finish(_Failure(f"non-finite (NaN/inf) training loss at step {self.done} "
                                  f"of run {self.index + 1} (lr {fmt_lr(self.lr)})", "train"))
            return False
        return self.done % self.eval_every == 0 or self.done >= self.length

    def validated(self, val, min_train_acc, stop_after):
        """Stage 2 at a validation point: curve, best, early stop, end."""
        curve = self.job.info["curves"][self.index]
        train_acc = float(np.mean(self.interval[1]))
        curve["step"].append(self.done)
        curve["train_loss"].append(float(np.mean(self.interval[0])))
        curve["train_acc"].append(train_acc)
        curve["val_acc"].append(float(val))
        self.interval = ([], [])
        self.best = max(self.best, float(val))
        if self.done >= stop_after and train_acc < min_train_acc:
            self._finish(_Failure(
                f"stopped early at step {self.done} of run {self.index + 1}: training "
                f"accuracy {train_acc:.1%} below {min_train_acc:.0%} (lr {fmt_lr(self.lr)})",
                "train"))
        elif self.done >= self.length:
            self._finish(self.best)

    def _finish(self, result):
        self.result, self.finished = result, True


class _SweepStart:
    """A finished sweep run kept to start its genome's training from: the trainer's
    :meth:`~deap_nos.backends.tensorflow.trainer.PopulationTrainer.snapshot` of its slot and the losses
    and accuracies of its steps."""

    def __init__(self, run, snapshot):
        self.lr, self.snapshot, self.key = run.lr, snapshot, self.rank(run)
        self.losses, self.accs = run.losses, run.accs

    @staticmethod
    def rank(run):
        """The protocol's choice of the best sweep run, as a key to maximise: training
        accuracy, then lower loss, then the earlier run (``max`` keeps the first)."""
        return run.result["train_acc"], -run.result["loss"], -run.order


class _Job:
    """One genome: its protocol (a generator of run batches) and its outcome."""

    def __init__(self, genome, seed, info):
        self.genome, self.seed, self.info = genome, seed, info
        self.codes, self.runs, self.protocol, self.result = None, [], None, None
        self.heads = {}           # lr -> _SweepStart: finished sweep runs that could be chosen

    @property
    def done(self):
        return self.result is not None
