"""``PopulationEvaluator.map``: a DEAP ``map`` that hands a whole step to the evaluator.

DEAP's algorithms evaluate through ``toolbox.map(toolbox.evaluate, genomes)``. With::

    toolbox.register("map", ev.map)                          # one process
    toolbox.register("map", ev.map_over(ProcessMap(2)))      # one process per GPU/core

each call's genomes reach :meth:`PopulationEvaluator.evaluate_many` together, which
trains them side by side in its K slots. Over a pool, the genomes are cut into chunks of
``ev.map_batch`` and every worker process trains its chunks with its own copy of the
evaluator (one compiled program per process, kept between calls): with several GPUs,
one process per GPU (``ProcessMap`` sets ``CUDA_VISIBLE_DEVICES``).
"""
import functools
import math

from . import Evaluation

__all__ = ["BatchMap"]


def population_evaluator(func):
    """The population evaluator behind ``func`` (itself, a copy made by ``reevaluate``,
    or a wrapper around one: a ``functools.partial``, the engine's timer), or None."""
    target = func
    for _ in range(8):
        if isinstance(target, functools.partial):
            target = target.func     # DEAP copies attributes onto it, not methods
            continue
        if hasattr(type(target), "evaluate_many") and hasattr(target, "slots"):
            return target
        target = getattr(target, "evaluate", None)
        if target is None:
            return None
    return None


class EvaluateMany:
    """``evaluate_many`` of one evaluator as a picklable function of a list of genomes:
    a worker process unpickles it once per distinct evaluator and keeps its program."""

    def __init__(self, evaluator):
        self.evaluator = evaluator

    def __call__(self, genomes):
        return self.evaluator.evaluate_many(genomes)


class BatchMap:
    """A DEAP ``map`` that trains each call's genomes together.

    Parameters
    ----------
    evaluator : PopulationEvaluator
    pool : ProcessMap, optional
        Worker processes that share each call's genomes, ``evaluator.map_batch`` at a
        time; None trains them in this process.

    ``workers`` (the batch the algorithms hand over) is ``map_batch`` in one process and
    two chunks per worker over a pool, so a worker that finishes early takes more. Any
    function other than a population evaluator is mapped item by item (over the pool if
    there is one).
    """

    def __init__(self, evaluator, pool=None):
        self.evaluator, self.pool = evaluator, pool
        # A plain attribute, not a property: DEAP's toolbox.register copies the
        # instance __dict__ onto its partial, so toolbox.map.workers stays readable.
        self.workers = evaluator.map_batch * (2 * pool.workers if pool is not None else 1)

    def __call__(self, func, iterable):
        items = list(iterable)
        target = population_evaluator(func)
        if target is None:
            return self.pool(func, items) if self.pool is not None else list(map(func, items))
        if self.pool is None:
            return target.evaluate_many(items)
        size = max(1, min(target.map_batch, math.ceil(len(items) / self.pool.workers)))
        chunks = [items[i:i + size] for i in range(0, len(items), size)]
        out = []
        for chunk, results in zip(chunks, self.pool(EvaluateMany(target), chunks)):
            if isinstance(results, Evaluation):     # the worker died on every retry
                results = [Evaluation(tuple(results), dict(results.info)) for _ in chunk]
            out.extend(results)
        return out

    def imap(self, func, iterable):
        """Like calling the map, but yields each result in order as it is ready: in one
        process a population evaluator streams the genomes through its slots
        (:meth:`PopulationEvaluator.evaluate_stream`), so the search engine can hand
        it a whole step and the slots never idle between batches; over a pool, or for
        another function, the results of one call."""
        items = list(iterable)
        target = population_evaluator(func)
        if target is None or self.pool is not None:
            yield from self(func, items)
            return
        yield from target.evaluate_stream(items)

    def close(self):
        """Stop the pool's worker processes (none in one process)."""
        if self.pool is not None:
            self.pool.close()

    def terminate(self):
        """Kill the pool's worker processes now (an interrupted run)."""
        if self.pool is not None:
            self.pool.terminate()
