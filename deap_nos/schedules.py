"""Backend-generic schedules: the one-cycle learning rate and the momentum cycle.

Written branch-free against the array namespace ``B`` so the numpy integrity check and
the Keras optimizer (where ``t`` is a tensor) compute the same numbers.
"""


def one_cycle(t, total, warmup, hold, B):
    """Learning-rate factor at 0-based step ``t``: linear warm-up, hold, cosine decay to 0.

    ``(t + 1) / warmup`` during warm-up (so step 0 already moves), 1 while held, then
    ``½(1 + cos(π·τ))`` with τ running from 0 to 1 over the remaining steps.
    """
    warm = B.minimum((t + 1.0) / max(float(warmup), 1.0), 1.0) if warmup > 0 else 1.0
    rest = max(float(total - warmup - hold), 1.0)
    tau = B.minimum(B.maximum(t - float(warmup + hold), 0.0) / rest, 1.0)
    return warm * 0.5 * (1.0 + B.cos(B.pi * tau))


def momentum_cycle(t, total, warmup, hold, B, low=0.85, high=0.95):
    """Momentum coefficient at step ``t``: high→low over warm-up, low while held, low→high after."""
    down = B.minimum(t / max(float(warmup), 1.0), 1.0) if warmup > 0 else 1.0
    rest = max(float(total - warmup - hold), 1.0)
    up = B.minimum(B.maximum(t - float(warmup + hold), 0.0) / rest, 1.0)
    return high - (high - low) * down + (high - low) * up
