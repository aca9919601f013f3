"""Population evaluation: many candidates trained side by side in one compiled program.

``PopulationEvaluator`` runs :class:`~deap_nos.evaluation.evaluator.SurrogateEvaluator`'s protocol —
the same stages, thresholds, early stops, failure reasons, repeats, presets and
fitness — but not one genome at a time. Every genome's protocol is a queue of training
runs (genome × learning rate × seed); K *slots* of a
:class:`~deap_nos.backends.tensorflow.trainer.PopulationTrainer` train K runs at once, in one XLA program
compiled once per process, and a run that finishes, fails an early stop or is rejected
by the sweep frees its slot for the next waiting run::

    queue ← the quick-rate sweep runs of every genome of the batch
    while some genome is unfinished:
        fill free slots from the queue (train runs first: they are the longest)
        train every slot until the next slot reaches an event (end of a sweep run,
            a validation point, the end of training)
        at events: record, validate, stop or fail runs; a genome whose runs are all
            back advances its protocol (quick check → rest of the sweep → training)
            and queues its next runs, or ends with its fitness
    (a genome's first training run carries on from its best sweep run, which it
    would repeat step for step: see ``_keep_sweep_run``)

DEAP's contract is kept: ``toolbox.register("evaluate", ev)`` works one genome at a
time, and ``toolbox.register("map", ev.map)`` lets ``eaParticle``, ``eaRegularized``
and ``initial_population`` hand a whole step to the evaluator, which trains it
together (``ev.map.workers`` is the chunk size the algorithms use);
``ev.map_over(ProcessMap(n))`` shares each step among n processes (one per GPU). On
CPUs, ``slots=1`` under ``make_toolbox(space, ev, workers=2)`` is the fastest form: each
process trains one run at a time on its share of the cores (benchmarks/RESULTS.md).

``ev.evaluate_stream(genomes)`` (``ev.map.imap``, which the search engine uses) keeps
the slots full across a whole step: genomes join the queue while fewer than
``map_batch`` are in flight, and results come back in order as they are ready.

Differences from the single path, by design: each run draws its batches in the graph
from its own seed and step (not from a Keras data pipeline), and initial weights are
drawn by numpy with Keras' initialisers from the genome's seed, so a genome's fitness
is a different draw of the same noise, not the same number — but the same number
wherever the run trains (slot, neighbours, process). Augmentation and custom
optimizer factories are the single path's only.
"""
import collections
import copy
import time

import numpy as np

from .batchmap import BatchMap
from ..errors import NOSError
from . import Evaluation, genome_seed
from .evaluator import SurrogateEvaluator
from .stages import StageFailure as _Failure
from .stages import choose_rate, fall_back, quick_check   # the single path's rules
from .stages import TIE_SE, accuracy_error
from .population_runs import _Job, _Run, _SweepStart
from ..rng import kept_random_state, keeping_random_state
from ..backends import PRECISIONS, get
from ..backends.tensorflow.train_loop import sub_seed

__all__ = ["PopulationEvaluator"]


class PopulationEvaluator(SurrogateEvaluator):
    """:class:`~deap_nos.evaluation.evaluator.SurrogateEvaluator`'s protocol, K runs at a time.

    Parameters
    ----------
    preset, **settings
        As :class:`~deap_nos.evaluation.evaluator.SurrogateEvaluator` (``"default"``: MNIST-1D and
        the 1-D ConvNet; ``"quick"``, ``"paper"``, ...). ``augment`` and
        ``optimizer_factory`` are not supported here (use the single path).
    slots : int
        K, training runs side by side. On a GPU many, until throughput stops growing
        (the command measures it). On CPUs 1, with a process per core or two
        (``toolbox.register("map", ProcessMap(workers))``): two one-slot processes on 2
        cores train 1.5x the steps per second of one with 4 slots (benchmarks/RESULTS.md);
        ``deap-nos search`` does this by default.
    map_batch : int, optional
        Genomes per ``map`` call that the algorithms hand over (``map.workers``);
        default 2·slots, so a batch keeps every slot busy past its first genomes' sweeps.
    max_nodes : int, optional
        Active nodes a genome may have (default: the space's hidden nodes + 1).
    backend : {"tensorflow", "jax"}
        The population trainer's framework (:mod:`deap_nos.backends`): TensorFlow (the
        default) or JAX (GPU machines without TensorFlow; ``pip install "deap-nos[jax]"``).
    precision : {"float32", "bfloat16"}
        The JAX network's activations (:class:`~deap_nos.backends.jax.net.JaxConvNet`).
    """

    def __init__(self, preset=None, *, slots=16, map_batch=None, max_nodes=None,
                 backend="tensorflow", precision="float32", **settings):
        if settings.get("optimizer_factory") is not None:
            raise NOSError("PopulationEvaluator trains GraphOptimizer genomes through its "
                           "interpreter; use SurrogateEvaluator for an optimizer_factory")
        super().__init__(preset, **settings)
        if self.augment:
            raise NOSError("augment=True is not supported by PopulationEvaluator; use "
                           "SurrogateEvaluator (--evaluator single) for augmented data")
        if int(slots) < 1:
            raise NOSError(f"slots must be a positive integer, got {slots!r}")
        self.slots = int(slots)
        self.map_batch = int(map_batch) if map_batch else 2 * self.slots
        self.max_nodes = max_nodes
        get(backend)      # an unknown or uninstalled backend: say so now
        self.backend = backend      # both backends' interpreters take ``semantics``
        if precision not in PRECISIONS or precision != PRECISIONS[0] and backend != "jax":
            raise NOSError(f"precision={precision!r}: 'float32', or 'bfloat16' with "
                           f"backend='jax' (got backend={backend!r})")
        self.precision = precision

    def __repr__(self):
        backend = getattr(self, "backend", "tensorflow")
        precision = getattr(self, "precision", "float32")
        return (f"PopulationEvaluator(preset={self.preset_name!r}, slots={self.slots}, "
                + (f"backend={backend!r}, " if backend != "tensorflow" else "")
                + (f"precision={precision!r}, " if precision != "float32" else "") +
                f"data={self.data!r}, base={self.base}, steps={self.steps}, "
                f"sweep_steps={self.sweep_steps}, repeats={self.repeats}, seed={self.seed})")

    def with_slots(self, slots):
        """A copy with K = *slots* (the default ``map_batch`` follows), sharing this
        one's loaded data but not its compiled trainer."""
        twin = copy.copy(self)
        twin.slots = int(slots)
        if self.map_batch == 2 * self.slots:
            twin.map_batch = 2 * twin.slots
        twin._cache = {key: value for key, value in self._cache.items()
                       if key in ("dataset", "tensors")}
        return twin

    @property
    def map(self):
        """A ``map`` for ``toolbox.register("map", ev.map)`` that evaluates in batches."""
        return BatchMap(self)

    def map_over(self, pool):
        """A ``map`` that shares each call's genomes among ``pool``'s processes
        (a :class:`~deap_nos.search.parallel.ProcessMap`; one per GPU where there are several),
        ``map_batch`` genomes at a time, each process training its share side by side."""
        return BatchMap(self, pool)

    # ------------------------------------------------------------------ machinery
    def trainer(self):
        """The process's :class:`~deap_nos.backends.tensorflow.trainer.PopulationTrainer` (built once)."""
        if "trainer" not in self._cache:
            ds = self.dataset()
            self._cache["trainer"] = self._backend().build(
                self.base, ds.input_shape, ds.classes, self.slots, ds.x_train, ds.y_train,
                self.batch_size, int(self.steps), self.warmup, int(self.hold_steps),
                space=self.space, seed=int(self.seed), max_nodes=self.max_nodes,
                **self._build_options())
        return self._cache["trainer"]

    def _build_options(self):
        """The trainer builder's ``semantics`` and ``precision`` where not the default."""
        defaults = {"semantics": "default", "precision": PRECISIONS[0]}
        return {name: getattr(self, name, default) for name, default in defaults.items()
                if getattr(self, name, default) != default}

    def _backend(self):
        return get(getattr(self, "backend", "tensorflow"))

    def _tensors(self):
        """Training data and validation batches in the backend's arrays, cached."""
        if "tensors" not in self._cache:
            ds = self.dataset()
            self._cache["tensors"] = self._backend().to_device(
                ds.x_train, ds.y_train, ds.x_val, ds.y_val, self.val_batch_size)
        return self._cache["tensors"]

    def __call__(self, genome):
        """Evaluate one genome; returns an :class:`Evaluation` (fitness, + ``info``)."""
        return self.evaluate_many([genome])[0]

    def evaluate_many(self, genomes):
        """Evaluate ``genomes`` together; one :class:`Evaluation` each, in order."""
        genomes = list(genomes)
        if not genomes:
            return []
        start = time.perf_counter()
        self._tensors()   # a missing data set is a configuration error: raise it
        with kept_random_state():
            jobs = [self._job(g) for g in genomes]
            self._drive(jobs)
        share = (time.perf_counter() - start) / len(jobs)
        for job in jobs:
            job.result.info["time"] = share
        return [job.result for job in jobs]

    def evaluate_stream(self, genomes):
        """Yield each genome's :class:`Evaluation` in order, as soon as it and those
        before it are done.

        Genomes join the slots' queue while fewer than ``map_batch`` are in flight, so
        the slots stay full from the first genome to the last — no slot idles at the
        end of a batch while its last trainings finish, as between ``evaluate_many``
        calls. Fitnesses equal ``evaluate_many``'s (a genome's runs do not depend on
        its neighbours). ``info["time"]``: the wall time between results, shared.
        """
        genomes = list(genomes)
        if not genomes:
            return
        self._tensors()
        jobs, done = [], 0
        last = time.perf_counter()

        def feed(queue):
            while len(jobs) < len(genomes) and \
                    sum(not job.done for job in jobs[done:]) < self.map_batch:
                job = self._job(genomes[len(jobs)])
                jobs.append(job)
                if not job.done:
                    self._advance(job, None, queue)

        for _ in keeping_random_state(self._training([], feed)):
            ready = done
            while ready < len(jobs) and jobs[ready].done:
                ready += 1
            if ready == done:
                continue
            now = time.perf_counter()
            for job in jobs[done:ready]:
                job.result.info["time"] = (now - last) / (ready - done)
            last, finished, done = now, jobs[done:ready], ready
            for job in finished:
                yield job.result
        for job in jobs[done:]:       # rejected before training (the interpreter's limits)
            job.result.info["time"] = 0.0
            yield job.result

    def _job(self, genome):
        seed = int(self.seed) if getattr(self, "paired", False) else genome_seed(self.seed,
                                                                                 genome)
        info = {"stage": "sweep", "seed": seed, "lr": None, "sweep": [], "curves": [],
                "runs": [], "preset": self.preset_name, "slots": self.slots}
        job = _Job(genome, seed, info)
        if self.space is None and "trainer" not in self._cache:
            # the interpreter is compiled for the genomes' own space (with its custom
            # operations), as the single path compiles each genome in its space
            self.space = getattr(genome, "space", None)
        try:
            job.codes = self.trainer().interpreter.encode(genome)
        except Exception as exc:   # a genome the interpreter cannot hold: its failure
            self._fail(job, _Failure(f"exception while building or sweeping: "
                                     f"{type(exc).__name__}: {exc}"[:2000], "sweep"))
            return job
        job.protocol = self._protocol(job)
        return job

    def _protocol(self, job):
        """The single path's stages as a generator: yields run batches, gets results."""
        info, rates, quick = job.info, self.all_rates, self.quick_rates
        results = info["sweep"]
        if self.sweep_steps == 0:
            results += [{"lr": lr, "train_acc": None, "loss": None, "finite": True}
                        for lr in rates]
            best = rates[0]
        else:
            if quick:
                results += yield [("sweep", lr, 0) for lr in quick]
                quick_check(self, results)        # the single path's rules (stages.py)
            if rates[len(quick):]:
                results += yield [("sweep", lr, 0) for lr in rates[len(quick):]]
            best = choose_rate(self, results, rates)
        info["lr"], info["stage"] = best, "train"
        while True:      # a failed training run comes back alone: fall back or fail
            info["curves"] += [{"step": [], "train_loss": [], "train_acc": [],
                                "val_acc": []} for _ in range(int(self.repeats))]
            fits = yield [("train", best, r) for r in range(int(self.repeats))]
            failures = [fit for fit in fits if isinstance(fit, _Failure)]
            if not failures:
                break
            best = fall_back(self, info, failures[0])     # one rule (stages.py)
        info["runs"] = fits
        return float(np.mean(fits)) if self.aggregate == "mean" else float(np.min(fits))

    def _advance(self, job, results, queue):
        """Send ``results`` to the job's protocol; queue its next runs or close it."""
        try:
            batch = job.protocol.send(results)
        except StopIteration as stop:
            job.info.update(failed=False, reason=None, stage="done")
            job.result = Evaluation((stop.value,), job.info)
            return
        except _Failure as fail:
            self._fail(job, fail)
            return
        job.runs, done = [], len(job.info["sweep"])
        for position, (kind, lr, r) in enumerate(batch):
            length = self.sweep_steps if kind == "sweep" else self.steps
            head = job.heads.get(lr) if kind == "train" and r == 0 else None
            run = _Run(job, kind, lr, sub_seed(job.seed, r), r, length, self.eval_every,
                       resume=head)
            run.order = done + position       # its place in info["sweep"] (sweep runs)
            job.runs.append(run)
            if kind == "train":
                queue.appendleft(run)
            else:
                queue.append(run)
        if batch and batch[0][0] == "train":
            job.heads = {}             # its training runs hold the one they need now

    @staticmethod
    def _fail(job, fail):
        job.heads = {}
        stage = job.info.pop("stage", fail.stage)
        job.result = Evaluation.failure(fail.reason, fail.stage or stage, **job.info)

    def _drive(self, jobs):
        """Train the jobs' runs through the slots until every job has its result."""
        for _ in self._training(jobs):
            pass

    def _training(self, jobs, feed=None):
        """Train the runs of *jobs* through the slots, yielding after every chunk of
        steps; ``feed(queue)`` (streaming) may start more jobs, and is asked before
        the slots are filled and when they run dry."""
        trainer = self.trainer()
        _, _, val_batches, n_val = self._tensors()
        queue, slots = collections.deque(), [None] * self.slots
        for job in jobs:
            if not job.done:
                self._advance(job, None, queue)
        while True:
            if feed is not None:
                feed(queue)
            self._fill(trainer, slots, queue)
            active = [s for s, run in enumerate(slots) if run is not None]
            if not active:
                break
            n = min(slots[s].steps_to_event() for s in active)
            try:
                t0 = time.perf_counter()
                losses, accs = trainer.run(n)
                self._count(n, len(active), time.perf_counter() - t0)
            except Exception as exc:   # the step itself broke: fail the runs it held
                for s in active:
                    if not slots[s].job.done:
                        self._fail(slots[s].job, _Failure(
                            f"exception while training: {type(exc).__name__}: {exc}"[:2000],
                            slots[s].job.info.get("stage", "train")))
                    slots[s] = None
                continue
            need = [s for s in active if slots[s].consume(losses[:, s], accs[:, s])]
            for s in active:
                self._keep_sweep_run(trainer, s, slots[s])
            for s in need:
                val = trainer.accuracy_of(s, val_batches, n_val)
                slots[s].validated(val, self.min_train_acc, int(self.stop_after))
            for s in active:
                if slots[s].finished:
                    self._collect(slots[s], queue)
                    slots[s] = None
            yield

    def _count(self, steps, active, seconds):
        counters = self.counters()
        counters["slot_steps"] += steps * self.slots
        counters["run_steps"] += steps * active
        counters["train_seconds"] += seconds

    def counters(self):
        """Work done in this process: slot-steps, useful run-steps, seconds in training."""
        return self._cache.setdefault("counters", {"slot_steps": 0, "run_steps": 0,
                                                   "train_seconds": 0.0})

    def _fill(self, trainer, slots, queue):
        """Start queued runs in free slots; drop the runs of jobs already decided."""
        for s in range(len(slots)):
            if slots[s] is not None and slots[s].stale:
                slots[s] = None
            while slots[s] is None and queue:
                run = queue.popleft()
                if run.stale:
                    continue
                if run.resume is not None:
                    trainer.assign(s, run.job.codes, None, None, run.lr, seed=run.seed,
                                   resume=run.resume.snapshot)
                    run.resume = None
                else:
                    w, st = trainer.net.init(run.seed)
                    trainer.assign(s, run.job.codes, w, st, run.lr, seed=run.seed)
                slots[s] = run

    def _keep_sweep_run(self, trainer, slot, run):
        """Keep the finished sweep runs of each genome that it may start training from.

        A genome's first training run has the sweep's seed, so the same initial
        weights, batches, dropout masks and schedule: it repeats, step for step, the
        sweep run at the learning rate it was given. Carrying that run on from its
        last sweep step instead saves ``sweep_steps`` of every training (40 of 880 at
        the ``default`` preset) with the same numbers. Only where the sweep ends before
        the first validation point (``sweep_steps < eval_every``), so no validation is
        skipped. Kept: the runs :func:`~deap_nos.evaluation.stages.choose_rate` could still pick —
        those within its tie range of the best so far (usually one or two per genome).
        """
        if run.kind != "sweep" or not run.finished or not run.result["finite"] \
                or run.job.done or not 0 < self.sweep_steps < min(self.eval_every,
                                                                 self.steps):
            return
        heads = run.job.heads
        heads[run.lr] = _SweepStart(run, trainer.snapshot(slot))
        top = max(heads.values(), key=lambda head: head.key)
        floor = top.key[0] - TIE_SE * accuracy_error(top.key[0], len(top.losses),
                                                     self.batch_size)
        for lr in [lr for lr, head in heads.items() if head.key[0] < floor]:
            del heads[lr]      # no longer a rate choose_rate could pick

    def _collect(self, run, queue):
        """A run ended: when its job's whole batch is back, advance the job."""
        job = run.job
        if run.stale:
            return
        if isinstance(run.result, _Failure):   # a failed training run: fall back or fail
            self._advance(job, [run.result], queue)
            return
        if all(r.finished for r in job.runs):
            self._advance(job, [r.result for r in job.runs], queue)
