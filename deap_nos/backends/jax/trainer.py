"""K training runs side by side in JAX: the population trainer of the JAX backend.

The same contract as the TensorFlow :class:`deap_nos.backends.tensorflow.trainer.PopulationTrainer`: each
slot holds one run (codes, peak learning rate, seed, weights, batch-norm statistics,
optimizer state, step); ``run(n)`` trains every slot ``n`` steps in one compiled
program — the step inside a ``lax.fori_loop`` — and a run's batches, dropout masks and
initial weights follow from its own seed and step only (the same counter-based hash as
the TensorFlow trainer, so both draw the same batches). The whole population is one
pytree; ``assign`` writes a slot's row in one compiled call, so nothing is retraced
whatever the genome.
"""

import jax
import jax.numpy as jnp
import numpy as np

from .interpreter import JaxInterpreter
from .namespace import hash_bits
from .net import JaxConvNet

__all__ = ["JaxPopulationTrainer", "build", "CHUNK"]

#: Most steps one call of the compiled training loop takes (longer runs are chunked).
CHUNK = 256
_SEED_MULT = 1000003


def _cross_entropy(probs, labels):
    """Keras' sparse categorical cross-entropy on probabilities (clipped at 1e-7)."""
    p = jnp.take_along_axis(probs, labels[:, None], axis=-1)[:, 0]
    return -jnp.log(jnp.clip(p, 1e-7, 1.0 - 1e-7))


class JaxPopulationTrainer:
    """Train K runs of a :class:`JaxConvNet` at once, each with its own genome.

    Parameters as :class:`deap_nos.backends.tensorflow.trainer.PopulationTrainer` (``x``, ``y``: numpy or
    JAX arrays of the training set, kept on the device).
    """

    def __init__(self, net, interpreter, slots, x, y, batch_size, seed=0, jit=True):
        self.net, self.interpreter, self.slots = net, interpreter, int(slots)
        self.x = jnp.asarray(np.asarray(x, np.float32))
        self.y = jnp.asarray(np.asarray(y, np.int32))
        self.n = int(self.x.shape[0])
        self.batch = int(min(batch_size, self.n))
        self.seed = int(seed)
        k, p, q = self.slots, net.n_params, net.n_stats
        one = interpreter.init_one(p)
        blank = interpreter.blank(k)
        self.pop = {"w": jnp.zeros((k, p)), "stats": jnp.zeros((k, q)),
                    "state": {name: jnp.zeros((k,) + v.shape) for name, v in one.items()},
                    "codes": {name: jnp.asarray(v) for name, v in blank.items()},
                    "t": jnp.zeros(k), "lr": jnp.zeros(k),
                    "seed": jnp.zeros(k, jnp.uint32)}
        wrap = jax.jit if jit else (lambda f, **_: f)
        self._run = wrap(self._loop, donate_argnums=(0,))
        self._assign = wrap(_set_row, donate_argnums=(0,))
        self._row = wrap(_get_row)
        self._correct_one = wrap(self._correct)

    # ------------------------------------------------------------------ data
    def batch_indices(self, seed, t):
        """Training-set indices ``[B]`` of a run's batch at its step ``t`` (uint32 seed)."""
        return (hash_bits(seed, t, (self.batch,)) % jnp.uint32(self.n)).astype(jnp.int32)

    def mixed_seed(self, seed):
        """A run's stream seed: its seed mixed with the trainer's (modulo 2³²)."""
        return np.uint32((int(seed) + self.seed * _SEED_MULT) & 0xFFFFFFFF)

    def run_batch(self, seed, t):
        """The batch ``(x, y)`` that a run seeded ``seed`` trains on at its step ``t``."""
        idx = self.batch_indices(self.mixed_seed(seed), np.uint32(int(t)))
        return np.asarray(self.x[idx]), np.asarray(self.y[idx])

    # ------------------------------------------------------------------ math
    def _loss_one(self, w, stats, seed, t_int, data):
        idx = self.batch_indices(seed, t_int)
        xb, labels = data[0][idx], data[1][idx]
        probs, new_stats = self.net.forward_one(w, stats, xb, True, (seed + 1, t_int))
        loss = jnp.mean(_cross_entropy(probs, labels))
        acc = jnp.mean((jnp.argmax(probs, axis=-1) == labels).astype(jnp.float32))
        return loss, (new_stats, acc)

    def _step_one(self, codes, w, stats, state, t, lr, seed, data):
        t_int = t.astype(jnp.uint32)
        (loss, (new_stats, acc)), grads = jax.value_and_grad(self._loss_one, has_aux=True)(
            w, stats, seed, t_int, data)
        key = jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(0), seed + 3), t_int)
        delta, new = self.interpreter.update_one(codes, grads, w, state, t, lr, key)
        return w + delta, new_stats, new, loss, acc

    def _step(self, pop, data):
        step = jax.vmap(self._step_one, in_axes=(0, 0, 0, 0, 0, 0, 0, None))
        w, stats, state, loss, acc = step(pop["codes"], pop["w"], pop["stats"],
                                          pop["state"], pop["t"], pop["lr"], pop["seed"],
                                          data)
        return dict(pop, w=w, stats=stats, state=state, t=pop["t"] + 1.0), loss, acc

    def _loop(self, pop, n, data):
        """``n`` (≤ :data:`CHUNK`) steps in one program, the loop compiled with its step."""
        def body(i, carry):
            pop, losses, accs = carry
            pop, loss, acc = self._step(pop, data)
            return pop, losses.at[i].set(loss), accs.at[i].set(acc)

        empty = jnp.zeros((CHUNK, self.slots))
        return jax.lax.fori_loop(0, n, body, (pop, empty, empty))

    def _correct(self, w, stats, x, y):
        probs, _ = self.net.forward_one(w, stats, x, False)
        return jnp.sum((jnp.argmax(probs, axis=-1) == y).astype(jnp.int32))

    # ------------------------------------------------------------------ host side
    def assign(self, slot, genome_codes, weights, stats, lr, seed=0, resume=None):
        """Start a run in ``slot`` (codes, weights, stats, seed; zero state, ``t = 0``),
        or with ``resume`` (a :meth:`snapshot`) carry one on where it was taken."""
        if resume is not None:
            weights, stats = resume["w"], resume["stats"]
        one = {name: np.zeros(v.shape[1:], np.float32)
               for name, v in self.pop["state"].items()}
        if resume is not None:
            one = {name: np.asarray(resume["state"][name], np.float32) for name in one}
        row = {"w": np.asarray(weights, np.float32), "stats": np.asarray(stats, np.float32),
               "state": one,
               "codes": {name: np.asarray(genome_codes[name], v.dtype)
                         for name, v in self.pop["codes"].items()},
               "t": np.float32(0.0 if resume is None else resume["t"]),
               "lr": np.float32(lr), "seed": self.mixed_seed(seed)}
        self.pop = self._assign(self.pop, jnp.int32(slot), row)

    def snapshot(self, slot):
        """Everything of the run in ``slot`` that its next steps read, as numpy (one
        compiled gather and one transfer: on a GPU, per-array slicing cost a launch and
        a sync each, and the evaluator snapshots every kept sweep run)."""
        row = jax.device_get(self._row(self.pop, jnp.int32(slot)))
        return {"w": row["w"], "stats": row["stats"], "t": float(row["t"]),
                "state": dict(row["state"])}

    def run(self, n):
        """Train every slot ``n`` steps; per-step losses and accuracies, ``[n, K]`` numpy."""
        out_l, out_a = [np.zeros((0, self.slots), np.float32)], \
            [np.zeros((0, self.slots), np.float32)]
        for start in range(0, int(n), CHUNK):
            m = min(CHUNK, int(n) - start)
            self.pop, losses, accs = self._run(self.pop, jnp.int32(m),
                                                (self.x, self.y))
            out_l.append(np.asarray(losses)[:m])
            out_a.append(np.asarray(accs)[:m])
        return np.concatenate(out_l), np.concatenate(out_a)

    def accuracy_of(self, slot, val_batches, total):
        """Validation accuracy of one slot (inference mode)."""
        w, stats = self.pop["w"][slot], self.pop["stats"][slot]
        hits = sum(int(self._correct_one(w, stats, x, y)) for x, y in val_batches)
        return hits / max(1, total)

    def accuracy(self, val_batches, total):
        """Validation accuracy of every slot, ``[K]``."""
        return np.array([self.accuracy_of(s, val_batches, total) for s in range(self.slots)])

    def weights(self, slot):
        """``(weights [P], stats [Q])`` of one slot, numpy."""
        return np.asarray(self.pop["w"][slot]), np.asarray(self.pop["stats"][slot])


def _get_row(pop, slot):
    """The arrays of one slot's run that a snapshot keeps."""
    return {key: jax.tree_util.tree_map(lambda a: a[slot], pop[key])
            for key in ("w", "stats", "t", "state")}


def _set_row(pop, slot, row):
    return jax.tree_util.tree_map(lambda a, v: a.at[slot].set(v), pop, row)


def build(base, input_shape, classes, slots, x, y, batch_size, total_steps, warmup_steps,
          hold_steps=0, space=None, seed=0, dropout=0.2, jit=True, precision="float32",
          **interpreter_options):
    """A :class:`JaxPopulationTrainer` over ConvNet(base), with its interpreter
    (``precision``: the network's, see :class:`~deap_nos.backends.jax.net.JaxConvNet`)."""
    net = JaxConvNet(base, input_shape, classes, dropout=dropout, precision=precision)
    interp = JaxInterpreter(space, total_steps=total_steps, warmup_steps=warmup_steps,
                            hold_steps=hold_steps, segments=net.segments(), seed=seed,
                            **interpreter_options)
    return JaxPopulationTrainer(net, interp, slots, x, y, batch_size, seed=seed, jit=jit)
