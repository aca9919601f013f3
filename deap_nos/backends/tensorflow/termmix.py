"""The term-mix interpreter: one compiled program applies any term-mix genome to K runs.

A term-mix genome is a fixed-shape vector, so the population path needs no graph
interpreter: the genome *is* its codes, a few float tensors per run::

    w      [K, 6]   term weights (0 for a term that is off), in TERMS order
    beta   [K, 2]   β1, β2
    eps    [K]
    flags  [K, 3]   bias_correction, warmup, cosine (0/1)

and :meth:`TermMixInterpreter.update` computes every term for every run and weighs
them, in the order :class:`~deap_nos.spaces.termmix.program.TermMixProgram` does
(tests hold the two equal). It offers what :class:`~deap_nos.backends.tensorflow.trainer.PopulationTrainer`
reads from :class:`~deap_nos.backends.tensorflow.interpreter.Interpreter` (``encode``, ``encode_batch``,
``blank``, ``state_shapes``, ``init``, ``update``), so ``PopulationTrainer(net,
TermMixInterpreter(...), ...)`` trains K term-mix genomes side by side and refills a
slot with another genome without retracing. Importing this module does not import
TensorFlow (its methods do).
"""
import numpy as np

from ...errors import NOSError
from ...spaces.termmix.genome import FLAGS, TERMS, TermMixGenome

__all__ = ["TermMixInterpreter"]


class TermMixInterpreter:
    """Apply any term-mix genome to K runs at once (TensorFlow, XLA-compilable).

    :param total_steps, warmup_steps, hold_steps: As for
        :meth:`TermMixSpace.compile <deap_nos.spaces.termmix.TermMixSpace.compile>`
        (``warmup_steps`` 0: 10 % of ``total_steps``).
    :param options: The nos interpreter's options (``segments``, ``seed``,
        ``max_nodes``, ``one_cycle`` ...) are accepted and unused: no term reads a
        norm or dropout, and the genome's flags are its schedule.
    """

    def __init__(self, total_steps=1000, warmup_steps=0, hold_steps=0, **options):
        if int(total_steps) < 1:
            raise NOSError(f"total_steps must be >= 1, got {total_steps}")
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps) if warmup_steps else max(1, self.total_steps // 10)
        self.hold_steps = int(hold_steps)
        self.options = options

    # ------------------------------------------------------------------ codes
    def encode(self, genome):
        """The genome as a dict of small float32 arrays (one run)."""
        if not isinstance(genome, TermMixGenome):
            raise NOSError(f"TermMixInterpreter encodes TermMixGenome objects, got "
                           f"{type(genome).__name__}")
        return {"w": np.asarray([w if on else 0.0 for w, on in
                                 zip(genome.weights, genome.active)], np.float32),
                "beta": np.asarray([genome.beta1, genome.beta2], np.float32),
                "eps": np.float32(genome.eps),
                "flags": np.asarray([getattr(genome, f) for f in FLAGS], np.float32)}

    def encode_batch(self, genomes):
        codes = [self.encode(g) for g in genomes]
        return {key: np.stack([c[key] for c in codes]) for key in codes[0]}

    def blank(self, k):
        """Codes of ``k`` idle runs (plain gradient descent)."""
        w = np.zeros((k, len(TERMS)), np.float32)
        w[:, 0] = 1.0
        return {"w": w, "beta": np.full((k, 2), 0.9, np.float32),
                "eps": np.full(k, 1e-8, np.float32), "flags": np.zeros((k, 3), np.float32)}

    # ------------------------------------------------------------------ state
    def state_shapes(self, k, p):
        return {"m": (k, p), "v": (k, p)}

    def init(self, k, p):
        import tensorflow as tf
        return {n: tf.zeros(s, tf.float32) for n, s in self.state_shapes(k, p).items()}

    # ------------------------------------------------------------------ math
    def schedule(self, flags, t):
        """``s(t)`` per run: warm-up and cosine factors where the flags are on."""
        import tensorflow as tf
        warm_on, cos_on = flags[:, 1], flags[:, 2]
        warmup = float(self.warmup_steps)
        warm = tf.minimum((t + 1.0) / warmup, 1.0)
        start = self.hold_steps + warm_on * warmup
        rest = tf.maximum(float(self.total_steps) - start, 1.0)
        tau = tf.clip_by_value((t - start) / rest, 0.0, 1.0)
        cos = 0.5 * (1.0 + tf.cos(np.pi * tau))
        return tf.where(warm_on > 0, warm, 1.0) * tf.where(cos_on > 0, cos, 1.0)

    def update(self, codes, g, w, state, t, lr, seed=None):
        """``(delta, new_state)`` for K runs (``g``, ``w`` ``[K, P]``; ``t``, ``lr`` ``[K]``)."""
        import tensorflow as tf
        f32 = lambda x: tf.cast(x, tf.float32)   # noqa: E731
        weights, beta, eps, flags = (f32(codes[k]) for k in ("w", "beta", "eps", "flags"))
        t, lr = f32(t), f32(lr)
        b1, b2 = beta[:, 0:1], beta[:, 1:2]
        m = b1 * state["m"] + (1.0 - b1) * g
        v = b2 * state["v"] + (1.0 - b2) * g * g
        corrected = flags[:, 0:1] > 0
        step = (t + 1.0)[:, None]
        m_hat = tf.where(corrected, m / (1.0 - tf.pow(b1, step)), m)
        v_hat = tf.where(corrected, v / (1.0 - tf.pow(b2, step)), v)
        denom = tf.sqrt(v_hat) + eps[:, None]
        terms = (g, m_hat, g / denom, m_hat / denom, tf.sign(g), tf.sign(m))
        u = tf.zeros_like(g)
        for i, term in enumerate(terms):
            wi = weights[:, i:i + 1]
            u = u + tf.where(wi != 0.0, wi * term, 0.0)
        scale = lr * self.schedule(flags, t)
        return -(scale[:, None] * u), {"m": m, "v": v}
