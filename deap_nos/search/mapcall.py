"""Calling ``toolbox.map`` on individuals, for the evaluation engine (:mod:`.engine`).

Every evaluation a search makes goes through here: the evaluator is wrapped to time
each call (:class:`_Timed`), results are checked and NaN fitnesses become recorded
failures (:func:`_sanitize`), and the caller's random streams survive the call
(:func:`_map_evaluate`, or :func:`_stream_evaluate` for a map that streams its results
with ``imap``). :func:`registered` looks through the :func:`functools.partial` that
``toolbox.register`` wraps a map in.
"""
import functools
import math
import time

from . import checkpoint as _ckpt
from ..errors import NOSError
from ..evaluation import Evaluation

__all__ = ["registered"]


def registered(func):
    """What ``toolbox.register(name, func)`` wrapped: DEAP stores a
    :func:`functools.partial`, which hides *func*'s attributes (a pool's ``imap``,
    ``workers``, ``close``); a partial that binds arguments is returned as it is."""
    if isinstance(func, functools.partial) and not func.args and not func.keywords:
        return func.func
    return func


class _Timed:
    """Wraps an evaluator: returns an :class:`Evaluation` with ``info["time"]`` set."""

    def __init__(self, evaluate):
        self.evaluate = evaluate

    def __call__(self, individual):
        start = time.perf_counter()
        result = self.evaluate(individual)
        elapsed = time.perf_counter() - start
        if not isinstance(result, (tuple, list)):
            raise NOSError(f"evaluate must return a tuple of fitness values, got "
                           f"{result!r}; write `return (fitness,)`")
        info = dict(getattr(result, "info", None) or {})
        info.setdefault("time", elapsed)
        return Evaluation(tuple(result), info)


def _is_number(value):
    try:
        return not math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def _sanitize(evaluation, nobj):
    """A NaN fitness becomes a recorded failure (DEAP cannot compare NaNs)."""
    if all(_is_number(v) for v in evaluation):
        return evaluation
    info = dict(getattr(evaluation, "info", None) or {})
    return Evaluation.failure(f"non-numeric fitness {tuple(evaluation)!r}",
                              info.get("stage", "done"), nobj=nobj,
                              **{k: v for k, v in info.items()
                                 if k not in ("failed", "reason", "stage")})


def _map_evaluate(mapper, evaluate, individuals):
    """Evaluate *individuals* in one *mapper* call; the caller's RNG states survive."""
    if not individuals:
        return []
    state = _ckpt.get_rng_state()
    try:
        results = list(mapper(_Timed(evaluate), individuals))
    finally:
        _ckpt.set_rng_state(state)
    _check_count(len(results), len(individuals))
    return [_sanitize(r, len(ind.fitness.weights)) for r, ind in zip(results, individuals)]


def _stream_evaluate(imap, evaluate, individuals, chunk):
    """Evaluate *individuals* with one streaming *imap* call, yielding the results in
    lists of *chunk* (in order) as they come back; the caller's RNG states survive.

    The mapper sees every individual at once, so its workers never wait at the end of
    a chunk for a slow neighbour, while the caller still commits every *chunk*.
    """
    state = _ckpt.get_rng_state()
    stream = imap(_Timed(evaluate), individuals)
    count, batch = 0, []
    try:
        for result, ind in zip(stream, individuals):    # the stream first: it ends
            count += 1
            batch.append(_sanitize(result, len(ind.fitness.weights)))
            if len(batch) == chunk or count == len(individuals):
                yield batch
                batch = []
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()     # stops a pool's workers if we stopped early (Ctrl-C)
        _ckpt.set_rng_state(state)
    _check_count(count, len(individuals))


def _check_count(results, individuals):
    if results != individuals:
        raise NOSError(f"toolbox.map returned {results} results for {individuals} "
                       f"individuals")
