"""Backend-generic schedules: the one-cycle learning rate and the momentum cycle.

Written branch-free against the array namespace ``B`` so the numpy integrity check and
the Keras optimizer (where ``t`` is a tensor) compute the same numbers.

``semantics="authors"`` gives the authors' search code's variants
(OUStudent/NeuralOptimizerSearch; docs/reference_authors.md): a warm-up of ``t/W`` (step
0 at rate 0) and a momentum cycle built from ``numpy.linspace`` pieces, ends included.
"""
from .errors import NOSError

#: The update semantics a program, check or optimizer may follow.
SEMANTICS = ("default", "authors")


def check_semantics(semantics):
    """``semantics`` itself, or a :class:`~deap_nos.errors.NOSError` naming the choices."""
    if semantics not in SEMANTICS:
        raise NOSError(f"semantics is 'default' (this package's) or 'authors' (the "
                       f"authors' search code, docs/reference_authors.md); got {semantics!r}")
    return semantics


def one_cycle(t, total, warmup, hold, B, semantics="default"):
    """Learning-rate factor at 0-based step ``t``: linear warm-up, hold, cosine decay to 0.

    ``(t + 1) / warmup`` during warm-up (so step 0 already moves; authors: ``t / warmup``,
    so step 0 has rate 0), 1 while held, then ``½(1 + cos(π·τ))`` with τ running from 0 to
    1 over the remaining steps.
    """
    first = 0.0 if check_semantics(semantics) == "authors" else 1.0
    warm = B.minimum((t + first) / max(float(warmup), 1.0), 1.0) if warmup > 0 else 1.0
    rest = max(float(total - warmup - hold), 1.0)
    tau = B.minimum(B.maximum(t - float(warmup + hold), 0.0) / rest, 1.0)
    return warm * 0.5 * (1.0 + B.cos(B.pi * tau))


def momentum_cycle(t, total, warmup, hold, B, low=0.85, high=0.95, semantics="default"):
    """Momentum coefficient at step ``t``: high→low over warm-up, low while held, low→high after.

    Default: ``t/W`` down and ``(t − W − hold)/(T − W − hold)`` up, so ``high`` is reached
    only past the run. Authors: ``concatenate(linspace(high, low, W), linspace(low, low,
    hold), linspace(low, high, T − W − hold))``, each piece with both ends, so step W − 1
    is already ``low`` and step T − 1 is ``high``.
    """
    if check_semantics(semantics) == "authors":
        down = B.minimum(t / max(float(warmup - 1), 1.0), 1.0) if warmup > 0 else 1.0
        rest = max(float(total - warmup - hold - 1), 1.0)
    else:
        down = B.minimum(t / max(float(warmup), 1.0), 1.0) if warmup > 0 else 1.0
        rest = max(float(total - warmup - hold), 1.0)
    up = B.minimum(B.maximum(t - float(warmup + hold), 0.0) / rest, 1.0)
    return high - (high - low) * down + (high - low) * up
