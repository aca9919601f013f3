"""The authors' semantics (issue 22): their search code's choices, as an option.

Read against the authors' search code, our integrity check and programs differ in five
places (docs/reference_authors.md says why our default is what it is). With
``semantics="authors"`` (:func:`~deap_nos.integrity_check`, :func:`~deap_nos.compile`,
:class:`~deap_nos.keras.GraphOptimizer`) their choices are used instead:

1. warm-up learning rate ``t / W`` (step 0 has rate 0) — :func:`one_cycle`;
2. ``delta`` stores ``n ← x − n`` (an alternating sum) — :func:`s_delta`;
3. Nesterov ``w ← w + μ − lr·u`` (the program's ``nesterov="authors"``);
4. the momentum cycle as two ``linspace`` pieces, ends included — :func:`momentum_cycle`;
5. the check compares the loss *before* the last update (integrity.py).

Every function here is branch-free against the array namespace ``B``.
"""
from ...errors import NOSError

SEMANTICS = ("default", "authors")


def check_semantics(semantics):
    """``semantics`` itself, or a :class:`NOSError` naming the choices."""
    if semantics not in SEMANTICS:
        raise NOSError(f"semantics is 'default' (ours) or 'authors' (the authors' search "
                       f"code); got {semantics!r}")
    return semantics


def one_cycle(t, total, warmup, hold, B):
    """The authors' learning-rate factor: warm-up ``t / W`` (0 at step 0), hold, then
    ``½(1 + cos(π·τ))`` as ours (:func:`deap_nos.schedules.one_cycle`)."""
    warm = B.minimum(t / max(float(warmup), 1.0), 1.0) if warmup > 0 else 1.0
    rest = max(float(total - warmup - hold), 1.0)
    tau = B.minimum(B.maximum(t - float(warmup + hold), 0.0) / rest, 1.0)
    return warm * 0.5 * (1.0 + B.cos(B.pi * tau))


def momentum_cycle(t, total, warmup, hold, B, low=0.85, high=0.95):
    """``concatenate([linspace(high, low, W), [low]·H, linspace(low, high, T − W − H)])[t]``:
    both pieces include their ends, so step ``W − 1`` is already ``low`` and step
    ``T − 1`` is ``high`` again."""
    # linspace(high, low, 1) is [high]: a one-step warm-up starts at high too
    down = B.minimum(t / max(float(warmup) - 1.0, 1.0), 1.0) if warmup > 0 else 1.0
    rest = max(float(total - warmup - hold) - 1.0, 1.0)
    up = B.minimum(B.maximum(t - float(warmup + hold), 0.0) / rest, 1.0)
    return high - (high - low) * down + (high - low) * up


def s_delta(x, n, t, B):
    """The authors' ``delta``: ``n ← x − n``, output ``n`` (x₀, x₁ − x₀, x₂ − x₁ + x₀, …)."""
    n = x - n
    return n, n
