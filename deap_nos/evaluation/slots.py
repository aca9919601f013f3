"""How many slots fill a device: the K at which population training stops speeding up.

One run of the surrogate leaves most of a GPU idle (the authors' protocol ran it at
about 1 % of an RTX 4090); K runs side by side in one program fill it, until its
arithmetic or memory is the limit and more slots only queue. :func:`saturating_slots`
doubles K while each doubling still buys ``gain`` times the training steps per second,
and stops at the first that does not, or does not fit in memory::

    K = 16, 32, 64, ...     keep doubling while steps/s(2K) >= gain · steps/s(K)

:func:`fill_device` measures that curve for a
:class:`~deap_nos.evaluation.population.PopulationEvaluator` in this process (every slot training
Adam-in-the-space on the evaluator's data and network); :func:`probe_slots` does it in
a child process on one GPU, so the parent never holds GPU memory that its search
workers need. On CPUs the answer is 1 without measuring: a step of K runs costs K steps
of arithmetic there, and the cores are shared out among worker processes instead
(benchmarks/RESULTS.md).
"""
import gc
import time

from ..errors import NOSError

__all__ = ["GPU_CANDIDATES", "DeviceFull", "saturating_slots", "run_steps_per_second",
           "fill_device", "probe_slots"]

#: The K tried on a GPU, smallest first.
GPU_CANDIDATES = (16, 32, 64, 128, 256, 512, 1024)


class DeviceFull(Exception):
    """K runs side by side did not fit in the device's memory."""


def saturating_slots(throughput, candidates=GPU_CANDIDATES, gain=1.1):
    """The K where ``throughput(K)`` (run-steps per second) saturates.

    Tries *candidates* in order and keeps the last K that bought at least *gain* times
    the best rate so far; stops at the first that does not, or that raises
    :class:`DeviceFull`. Returns ``(K, table)``, *table* a list of ``(K, rate)`` for
    every K tried (``rate`` None where it did not fit).
    """
    table, chosen, best = [], None, 0.0
    for k in candidates:
        try:
            rate = float(throughput(k))
        except DeviceFull:
            table.append((k, None))
            break
        table.append((k, rate))
        if chosen is not None and rate < gain * best:
            break
        chosen, best = k, rate
    if chosen is None:
        raise NOSError(f"not even {candidates[0]} training runs side by side fit on this "
                       f"device: pass a smaller slots= (or --slots)")
    return chosen, table


def run_steps_per_second(evaluator, slots, steps=20):
    """Training steps per second, all slots together, of *evaluator*'s population
    trainer with *slots* slots, every slot training AdamSpace (compile excluded), on the
    evaluator's backend (TensorFlow or JAX). Raises :class:`DeviceFull` if the device
    runs out of memory."""
    from .. import zoo

    probe = evaluator.with_slots(slots)
    try:
        trainer = probe.trainer()
        codes = trainer.interpreter.encode(zoo.genome("AdamSpace"))
        for slot in range(slots):
            weights, stats = trainer.net.init(slot)
            trainer.assign(slot, codes, weights, stats, 1e-3, seed=slot)
        trainer.run(2)                                   # compile, warm up
        start = time.perf_counter()
        trainer.run(int(steps))
        return slots * int(steps) / (time.perf_counter() - start)
    except Exception as error:   # noqa: BLE001 - the backend's allocation failures
        if not _backend(evaluator).out_of_memory(error):
            raise
        raise DeviceFull(f"{slots} slots: {str(error).splitlines()[0]}") from None
    finally:
        probe._cache.clear()
        gc.collect()


def _backend(evaluator):
    from ..backends import get

    return get(getattr(evaluator, "backend", "tensorflow"))


def fill_device(evaluator, candidates=None, steps=20, gain=1.1):
    """``(K, table)`` for *evaluator* on this process's device (see the module).

    Without a GPU (as the evaluator's backend sees it) and without *candidates*,
    ``(1, [])``: nothing is measured.
    """
    if candidates is None:
        if not _backend(evaluator).gpu_count():
            return 1, []
        candidates = GPU_CANDIDATES
    return saturating_slots(lambda k: run_steps_per_second(evaluator, k, steps),
                            tuple(candidates), gain)


def probe_slots(evaluator, gpu=None, candidates=None, steps=20, gain=1.1):
    """:func:`fill_device` in a fresh child process (on GPU *gpu* if given), so this
    process keeps its GPUs and TensorFlow runtime free; returns ``(K, table)``."""
    from ..search.parallel import ProcessMap

    with ProcessMap(1, gpus=[gpu] if gpu is not None else None,
                    start_method="spawn") as pool:
        result = pool(fill_device, [evaluator], [candidates], [steps], [gain])[0]
    if not isinstance(result, tuple):          # the child died on every retry
        raise NOSError(f"probing the device's slots failed: {result.info.get('reason')}")
    return result
