"""Seed 002's fitness: mean accuracy over named tasks relative to Adam.

::

    fitness(genome) = mean over tasks T of  acc(genome, T) / acc(Adam, T)

``acc`` is the best validation accuracy over a learning-rate grid under one protocol;
Adam is the zoo's ``Adam`` genome of this space, run under the same protocol once per
evaluator (per process) and cached. A fitness of 1 is Adam's; the seed reports its
evolved optimizer at 1.026.

Two paths share that aggregation (:class:`RelativeToAdam`):

* :class:`CheapTermMixEvaluator` — numpy only (a softmax regression or a small tanh
  MLP, every learning rate of the grid trained at once as rows, like
  :class:`~deap_nos.evaluation.cheap.DigitsEvaluator`); for tests, examples and CPU searches.
* :class:`~deap_nos.spaces.termmix.convnet.ConvNetTermMixEvaluator` — the surrogate
  ConvNet of :class:`~deap_nos.evaluation.evaluator.SurrogateEvaluator` per task (TensorFlow).

Protocol choices (ours; the seed does not give them): the *paired* design — every
genome starts from the same weights and sees the same batches on a task, so the ratio
to Adam compares optimizers, not draws; a constant peak learning rate from outside
(the genome's warm-up and cosine flags are its schedule); the genome is screened by
the shifted-sphere check first. A genome that fails the check, crashes, or diverges
(NaN/inf) at every learning rate of some task gets a failing fitness with the reason.
"""
import time

import numpy as np

from ...backend import NumpyBackend
from ...evaluation.cheap import DigitsEvaluator
from ...errors import NOSError
from ...evaluation import Evaluation
from ..nos.genes import stable_hash
from .tasks import DEFAULT_TASKS, TASKS, flat

__all__ = ["RelativeToAdam", "CheapTermMixEvaluator", "PRESETS", "TaskFailure"]

#: Cheap-path presets: tasks, generated-set size, steps, learning rates, model.
PRESETS = {
    "cheap": dict(tasks=("mnist1d", "digits", "synthetic"), samples=600, steps=60,
                  batch_size=32, lrs=(0.1, 0.01, 0.001), hidden=0, eval_every=20),
    "cpu": dict(tasks=DEFAULT_TASKS, samples=4000, steps=400, batch_size=64,
                lrs=(0.1, 0.03, 0.01, 0.003, 0.001), hidden=32, eval_every=50),
}


class TaskFailure(Exception):
    """A genome failed on one task (raised inside an evaluation, never to the user)."""


class RelativeToAdam:
    """Base of the term-mix evaluators: ``accuracy(genome, task)`` -> float (or raises
    :class:`TaskFailure`) is the subclass's; this class screens, aggregates relative to
    Adam's cached accuracies and turns failures into failing fitnesses."""

    def __init__(self, tasks=DEFAULT_TASKS, screen=True):
        tasks = tuple(tasks)
        unknown = [t for t in tasks if t not in TASKS]
        if not tasks or unknown:
            raise NOSError(f"tasks must name known tasks ({', '.join(sorted(TASKS))}), "
                           f"got {tasks!r}")
        self.tasks, self.screen = tasks, bool(screen)
        self._adam = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_adam"] = None        # recomputed once in each process
        return state

    @staticmethod
    def adam_genome():
        from ... import spaces
        space = spaces.get("termmix")
        return space.parse(space.zoo()["Adam"])

    def adam_accuracies(self):
        """``{task: acc(Adam)}`` under this evaluator's protocol (computed once)."""
        if self._adam is None:
            adam = self.adam_genome()
            self._adam = {task: self.accuracy(adam, task) for task in self.tasks}
        return dict(self._adam)

    def __call__(self, genome):
        start = time.perf_counter()
        info = {"stage": "integrity", "tasks": {}, "lr": None}
        reference = self.adam_accuracies()
        try:
            if self.screen:
                check = genome.space.screen(genome)
                if not check:
                    return self._failed(f"integrity check: {check.reason}", info, start)
            info["stage"] = "train"
            ratios = []
            for task in self.tasks:
                acc, lr = self.accuracy(genome, task, with_lr=True)
                ratio = acc / reference[task]
                info["tasks"][task] = {"acc": acc, "adam": reference[task], "lr": lr,
                                       "ratio": ratio}
                ratios.append(ratio)
        except TaskFailure as fail:
            return self._failed(str(fail), info, start)
        except Exception as exc:   # a genome that breaks: a recorded failure
            return self._failed(f"exception: {type(exc).__name__}: {exc}"[:2000], info, start)
        info.update(failed=False, reason=None, stage="done", time=time.perf_counter() - start,
                    lr=info["tasks"][self.tasks[0]]["lr"])
        return Evaluation((float(np.mean(ratios)),), info)

    @staticmethod
    def _failed(reason, info, start):
        stage = info.pop("stage")
        result = Evaluation.failure(reason, stage, **info)
        result.info["time"] = time.perf_counter() - start
        return result


class CheapTermMixEvaluator(RelativeToAdam):
    """The numpy path: a small model per task, the whole learning-rate grid at once.

    :param preset: ``"cheap"`` (tests: ≈ 0.1 s a genome) or ``"cpu"``; keywords
        override its settings (``tasks``, ``samples``, ``steps``, ``batch_size``,
        ``lrs``, ``hidden``, ``eval_every``).
    :param seed: Run seed; with the task's name it fixes weights and batches.
    """

    def __init__(self, preset="cheap", seed=0, screen=True, **overrides):
        if preset not in PRESETS:
            raise NOSError(f"unknown termmix evaluator preset {preset!r}; known: "
                           f"{', '.join(sorted(PRESETS))}")
        settings = dict(PRESETS[preset])
        unknown = sorted(set(overrides) - set(settings))
        if unknown:
            raise NOSError(f"unknown setting(s) {unknown}; known: {sorted(settings)}")
        settings.update(overrides)
        super().__init__(settings.pop("tasks"), screen)
        self.preset, self.seed, self.options = preset, int(seed), settings
        self._model = DigitsEvaluator(lrs=settings["lrs"], steps=settings["steps"],
                                      batch_size=settings["batch_size"],
                                      hidden=settings["hidden"],
                                      eval_every=settings["eval_every"], warmup=0)

    def settings(self):
        """The evaluator's settings for the run folder (``settings.json``): the preset
        (``"cheap"``: no ConvNet to retrain) and the fitness under ``"fitness"``."""
        return {"preset": "cheap", "fitness": {
            "space": "termmix", "kind": "relative_to_adam", "path": "numpy",
            "preset": self.preset, "tasks": list(self.tasks), "seed": self.seed,
            **{k: list(v) if isinstance(v, tuple) else v for k, v in self.options.items()}}}

    def __repr__(self):
        return (f"CheapTermMixEvaluator(preset={self.preset!r}, tasks={self.tasks}, "
                f"seed={self.seed})")

    def accuracy(self, genome, task, with_lr=False):
        """Best validation accuracy over the grid (and its learning rate)."""
        with np.errstate(all="ignore"):
            best, finite = self._train(genome, task)
        if not finite.any():
            raise TaskFailure(f"non-finite (NaN/inf) weights on task {task!r} at every "
                              f"learning rate")
        scores = np.where(finite, best, -np.inf)
        row = int(np.argmax(scores))
        acc = float(scores[row])
        return (acc, self._model.lrs[row]) if with_lr else acc

    def _train(self, genome, task):
        m, s = self._model, self.options
        x_train, y_train, x_val, y_val, classes = flat(task, s["samples"])
        seed = int(stable_hash(f"{self.seed}|{task}"), 16) % (2 ** 31 - 1)
        rng = np.random.default_rng(seed)       # paired: the same for every genome
        params = m._init_params(rng, x_train.shape[1], classes)
        program = genome.space.compile(genome, NumpyBackend(batch_axes=1, seed=seed),
                                       total_steps=m.steps)
        rows = len(m.lrs)
        lrs = [np.asarray(m.lrs).reshape((rows,) + (1,) * (p.ndim - 1)) for p in params]
        states = [program.init(p) for p in params]
        finite, best = np.ones(rows, dtype=bool), np.zeros(rows)
        for t, batch in enumerate(m._batches(rng, len(y_train))):
            _, grads = m._loss_grads(params, x_train[batch], y_train[batch])
            for i, (p, g) in enumerate(zip(params, grads)):
                delta, states[i] = program.update(g, states[i], p, t, lrs[i])
                params[i] = p + np.broadcast_to(delta, p.shape)
            finite &= np.all([np.isfinite(p).reshape(rows, -1).all(axis=1)
                              for p in params], axis=0)
            if not finite.any():
                break
            params = [np.where(finite.reshape(lr.shape), p, 0.0)
                      for p, lr in zip(params, lrs)]
            if (t + 1) % m.eval_every == 0 or t + 1 == m.steps:
                acc = np.where(finite, m._accuracy(params, x_val, y_val), 0.0)
                best = np.maximum(best, acc)
        return best, finite
