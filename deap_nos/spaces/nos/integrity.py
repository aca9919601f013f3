"""The cheap integrity checks that reject degenerate candidates before any training.

:func:`integrity_check` runs a genome on a shifted sphere (docs/reference.md §6) for every
learning rate and both signs of ``u`` *at once* — one vectorised numpy pass over 12
trajectories — and passes the genome if any run ends below the threshold.
:func:`decay_integrity` checks that a decay function stays in [0, 1].
"""
from collections import namedtuple

import numpy as np

from . import authors
from .authors import check_semantics
from ...backend import NumpyBackend
from ...program import compile, decay_value
from ...schedules import one_cycle

X0 = (1.1, 0.9, 1.1, 0.9, 1.0)
SHIFT = (0.5, 1.5, -0.3, -1.2, 0.75)
LEARNING_RATES = (1.0, 0.1, 0.01, 0.001, 1e-4, 1e-5)


class IntegrityResult(namedtuple("IntegrityResult", "passed flip losses lrs reason")):
    """Outcome of :func:`integrity_check`.

    ``passed``: the genome descends; ``flip``: it descends only with ``-u``; ``losses``:
    the final loss per learning rate for the sign that was kept (``+u`` when neither
    passes); ``lrs``: the learning rates; ``reason``: why it failed, or None.
    """

    __slots__ = ()

    def __bool__(self):
        return bool(self.passed)


def _program(genome, space, backend, semantics="default", **schedule):
    """The genome's program from its own space where the space compiles (every space of
    :mod:`deap_nos.spaces`), else the graph compiler."""
    space = space if space is not None else getattr(genome, "space", None)
    if check_semantics(semantics) != "default":
        schedule["semantics"] = semantics      # only the graph space has the option
    if space is not None and hasattr(space, "compile"):
        return space.compile(genome, backend, **schedule)
    return compile(genome, backend, space, **schedule)


def sphere_losses(genome, space=None, x0=X0, shift=SHIFT, steps=35, lrs=LEARNING_RATES,
                  warmup=6, signs=(1.0, -1.0), semantics="default"):
    """Final shifted-sphere loss for each (sign, lr): an array of shape (len(signs), len(lrs)).

    ``semantics="authors"``: the authors' warm-up and program, and the loss *before*
    the last update (their check's comparison)."""
    x0 = np.asarray(x0, dtype=np.float64)
    b = np.asarray(shift, dtype=np.float64)
    n_runs = len(signs) * len(lrs)
    program = _program(genome, space, NumpyBackend(batch_axes=1), semantics,
                       total_steps=steps, warmup_steps=warmup)
    schedule = authors.one_cycle if semantics == "authors" else one_cycle
    lr = np.tile(np.asarray(lrs, dtype=np.float64), len(signs))[:, None]
    sign = np.repeat(np.asarray(signs, dtype=np.float64), len(lrs))[:, None]
    x = np.tile(x0, (n_runs, 1))
    state = program.init(x)
    B = program.B
    with np.errstate(all="ignore"):
        for t in range(steps):
            grad = 2.0 * (x - b)
            before = np.sum((x - b) ** 2, axis=1)
            delta, state = program.update(grad, state, x, t,
                                          lr * schedule(t, steps, warmup, 0, B), sign)
            x = x + delta
        loss = before if semantics == "authors" else np.sum((x - b) ** 2, axis=1)
    return loss.reshape(len(signs), len(lrs))


def integrity_check(genome, space=None, x0=X0, shift=SHIFT, steps=35, lrs=LEARNING_RATES,
                    warmup=6, threshold=3.5, try_flip=True, semantics="default"):
    """Does ``genome`` minimise the shifted sphere for some learning rate?

    f(x) = Σ (xᵢ − bᵢ)², from ``x0`` (f = 7.1525 by default), ``steps`` steps with the
    warm-up–cosine schedule (``warmup`` steps), momentum cycling and decay functions at
    T = ``steps``, for each lr in ``lrs``. Passes if a run ends with f < ``threshold``;
    otherwise, when ``try_flip``, the same with the sign of ``u`` reversed (then
    ``flip=True``). NaN or ±inf never passes. Every constant is the paper's by default.

    The genome's own ``flip`` is ignored: the check decides it. ``semantics="authors"``
    runs the authors' search code's check instead (:mod:`deap_nos.spaces.nos.authors`: warm-up
    ``t/W``, their ``delta``, Nesterov form and momentum cycle, and the loss before the
    last update compared).
    """
    signs = (1.0, -1.0) if try_flip else (1.0,)
    try:
        losses = sphere_losses(genome, space, x0, shift, steps, lrs, warmup, signs,
                               semantics)
    except (FloatingPointError, OverflowError, ZeroDivisionError, ValueError) as exc:
        return IntegrityResult(False, False, (float("nan"),) * len(lrs), tuple(lrs),
                               f"numerical error: {exc}")
    good = np.isfinite(losses) & (losses < threshold)
    for row, flip in enumerate((False, True)[:len(signs)]):
        if good[row].any():
            return IntegrityResult(True, flip, tuple(losses[row].tolist()), tuple(lrs), None)
    reason = ("non-finite loss at every learning rate" if not np.isfinite(losses).any()
              else f"no run ended below {threshold} (best {np.nanmin(losses):.4g})")
    return IntegrityResult(False, False, tuple(losses[0].tolist()), tuple(lrs), reason)


def decay_curve(decay, space=None, total=100):
    """Values of a decay function for t = 0 … total−1 at T = total."""
    from .space import default_space
    space = space or default_space()
    t = np.arange(total, dtype=np.float64)
    with np.errstate(all="ignore"):
        values = decay_value(decay, t, float(total), space, NumpyBackend())
    return np.broadcast_to(np.asarray(values, dtype=np.float64), t.shape)


def decay_integrity(decay, space=None, total=100, others=(), atol=1e-4):
    """A decay function passes when its values over t = 0…total−1 lie in [0, 1] and are
    finite, and do not equal (within ``atol``) any decay function in ``others``."""
    values = decay_curve(decay, space, total)
    if not np.all(np.isfinite(values)) or values.min() < 0.0 or values.max() > 1.0:
        return False
    return not any(np.allclose(values, decay_curve(o, space, total), atol=atol, rtol=0.0)
                   for o in others if o is not None)
