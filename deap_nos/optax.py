"""Any genome as an ``optax.GradientTransformation``: a discovered optimizer for JAX users.

::

    import deap_nos as nos
    tx = nos.optax.transform(nos.zoo.genome("Opt6"), learning_rate=1e-3, total_steps=10_000)
    state = tx.init(params)
    updates, state = tx.update(grads, state, params)   # jit-able; state is a pytree
    params = optax.apply_updates(params, updates)

The genome's program is :func:`deap_nos.compile` over the ``jax.numpy`` namespace
(:class:`deap_nos.backends.jax.namespace.JaxBackend`), applied to each leaf of the
parameters on its own (``clip_norm`` normalises each tensor, as the Keras optimizer
does), with its decay functions over ``total_steps``, its momentum form and flip.
``learning_rate`` is a float (constant) or an optax schedule of the step count;
:func:`one_cycle` is the learning-rate schedule the search trains with.
"""
from typing import Any, NamedTuple

from .errors import NOSError

__all__ = ["transform", "one_cycle", "GenomeState"]


class GenomeState(NamedTuple):
    """The transformation's state: the step count, each leaf's program state, a PRNG key
    (the dropout operations)."""
    count: Any
    leaves: Any
    key: Any


def one_cycle(peak, total_steps, warmup_steps=0, hold_steps=0):
    """The one-cycle learning rate (linear warm-up, hold, cosine to 0) as an optax schedule."""
    import jax.numpy as jnp

    from .backends.jax.namespace import JaxBackend
    from .schedules import one_cycle as factor

    B = JaxBackend()

    def schedule(count):
        t = jnp.asarray(count, jnp.float32)
        return peak * factor(t, int(total_steps), int(warmup_steps), int(hold_steps), B)

    return schedule


def transform(genome, learning_rate=1e-3, total_steps=1000, warmup_steps=0, hold_steps=0,
              space=None, momentum_schedule="cycle", nesterov="default", seed=0):
    """The genome as an ``optax.GradientTransformation`` (``init``, ``update``).

    Parameters
    ----------
    genome : OptimizerGraph
    learning_rate : float or callable
        A constant rate, or an optax schedule ``count -> rate``.
    total_steps, warmup_steps, hold_steps : int
        ``T`` of the decay functions and the momentum cycle (as ``GraphOptimizer``).
    space : SearchSpace, optional
        The genome's space (default: the genome's own, else the paper's).
    momentum_schedule, nesterov
        As :class:`~deap_nos.program.Program`.
    seed : int
        Seed of the dropout operations' keys.
    """
    import jax
    import jax.numpy as jnp
    import optax

    from .backends.jax.namespace import JaxBackend
    from .program import compile as compile_genome

    if int(total_steps) < 1:
        raise NOSError(f"total_steps must be >= 1, got {total_steps}")
    if not (callable(learning_rate) or isinstance(learning_rate, (int, float))):
        raise NOSError(f"learning_rate is a float or an optax schedule, got "
                       f"{type(learning_rate).__name__}")
    space = space or getattr(genome, "space", None)
    B = JaxBackend()
    program = compile_genome(genome, B, space, total_steps=int(total_steps),
                             warmup_steps=int(warmup_steps), hold_steps=int(hold_steps),
                             momentum_schedule=momentum_schedule, nesterov=nesterov)

    def init_fn(params):
        leaves = [program.init(jnp.asarray(p, jnp.float32))
                  for p in jax.tree_util.tree_leaves(params)]
        return GenomeState(jnp.zeros([], jnp.int32), leaves, jax.random.PRNGKey(int(seed)))

    def update_fn(updates, state, params=None):
        if params is None:
            raise NOSError("a genome's update reads the weights: call "
                           "update(grads, state, params)")
        grads, treedef = jax.tree_util.tree_flatten(updates)
        weights = jax.tree_util.tree_leaves(params)
        t = state.count.astype(jnp.float32)
        lr = learning_rate(state.count) if callable(learning_rate) else learning_rate
        out, new_leaves = [], []
        step_key = jax.random.fold_in(state.key, state.count)
        for i, (g, w, s) in enumerate(zip(grads, weights, state.leaves)):
            B.key, B.calls = jax.random.fold_in(step_key, i), 0
            delta, new = program.update(g.astype(jnp.float32), s, w.astype(jnp.float32),
                                        t, lr)
            out.append(jnp.broadcast_to(delta, g.shape).astype(g.dtype))
            new_leaves.append(new)
        return (jax.tree_util.tree_unflatten(treedef, out),
                GenomeState(state.count + 1, new_leaves, state.key))

    return optax.GradientTransformation(init_fn, update_fn)
