"""A genome interpreter: one compiled TensorFlow program applies any genome of a space.

:func:`~deap_nos.program.compile` turns *one* genome into its own program, so every
genome costs a trace (and an XLA compile). The search's fast path instead encodes a
genome into a few small integer tensors and runs them through one program built once
per :class:`~deap_nos.spaces.nos.space.SearchSpace`::

    codes  ← encode(genome)   # op codes, input indices, decay genes, form, sign
    delta, state ← interpreter.update(codes, g, w, state, t, lr)

Everything is batched over a leading axis of K runs (``g``, ``w``: ``[K, P]``, one row
per run; ``t``, ``lr``: ``[K]``), each run with its own genome, step and learning rate.
A genome's active nodes go into ``max_nodes`` slots in topological order, the output in
the last one. Each slot computes *every* operation of the space on its inputs and keeps
the one its code names (``tf.gather``: a NaN of an operation not chosen never leaks);
every operand and every moving average is computed for every run; each decayed edge
evaluates every decay operation on its schedules and keeps its own. This costs more
arithmetic than a lean :class:`~deap_nos.program.Program` but never retraces, so K
different genomes (and the next K) share one XLA program.

The arithmetic is the primitives' own functions (a researcher's ``SearchSpace.add_*``
included), applied with the TensorFlow namespace of :mod:`deap_nos.keras.backend`, in
the order :class:`~deap_nos.program.Program` applies them; tests hold the two equal.
"""
import numpy as np

from ...spaces.nos import authors
from ...errors import NOSError
from ...spaces.nos.genome import HIDDEN, validate
from ...spaces.nos.primitives import MOMENTS, s_delta
from ...schedules import momentum_cycle, one_cycle

__all__ = ["Interpreter", "FORMS"]

#: Momentum form codes.
FORMS = {"none": 0, "momentum": 1, "nesterov": 2}
_MOMENT_ORDER = ("v", "s", "l")


class _Context:
    """What operands see (see :class:`deap_nos.program.Context`), every average present."""

    __slots__ = ("g", "w", "t", "v", "s", "l", "v_hat", "s_hat", "l_hat")

    def __init__(self, g, w, t, moments, B):
        self.g, self.w, self.t = g, w, t
        for name, value in moments.items():
            setattr(self, name, value)
            setattr(self, name + "_hat", value / (1.0 - B.power(MOMENTS[name][0], t + 1.0)))


def _namespace(segments, n_segments, seed):
    """The Keras namespace with a per-run, per-tensor ``norm`` and stateless dropout."""
    import tensorflow as tf

    from ...keras.backend import KerasBackend

    class BatchedBackend(KerasBackend):
        """``norm`` over each weight tensor of each run (``segments`` maps columns)."""

        def __init__(self):
            super().__init__(xla=True)
            self.batch_axes = 1
            self.counter = None    # set per call: a [2] int seed for dropout

        def norm(self, x):
            if x.shape.rank == 1:     # one run's weights: each tensor on its own
                sums = tf.math.unsorted_segment_sum(tf.square(x), segments, n_segments)
                return tf.gather(tf.sqrt(sums), segments)
            if x.shape.rank != 2:
                return tf.sqrt(tf.reduce_sum(tf.square(x)))
            sums = tf.math.unsorted_segment_sum(tf.transpose(tf.square(x)), segments,
                                                n_segments)
            return tf.transpose(tf.gather(tf.sqrt(sums), segments))

        def dropout(self, x, rate):
            self.calls = getattr(self, "calls", 0) + 1
            seed = self.counter + tf.constant([0, 7919], tf.int64) * self.calls
            keep = tf.random.stateless_uniform(tf.shape(x), seed, dtype=x.dtype) >= rate
            return tf.where(keep, x / (1.0 - rate), tf.zeros_like(x))

    return BatchedBackend()


class Interpreter:
    """Apply any genome of ``space`` to K runs at once, in one XLA-compiled function.

    Parameters
    ----------
    space : SearchSpace, optional
        The genomes' space (default: the paper's). Its primitives are read when the
        interpreter is built; extend the space first.
    max_nodes : int, optional
        Active nodes a genome may have (default ``space.n_hidden + 1``).
    total_steps, warmup_steps, hold_steps : int
        ``T`` of decays, the one-cycle learning rate and the momentum cycle, as in
        :class:`~deap_nos.keras.GraphOptimizer`.
    momentum_schedule : "cycle" or float
    nesterov : {"default", "authors"}
    semantics : {"default", "authors"}
        ``"authors"``: the authors' warm-up, ``delta``, Nesterov form and momentum cycle
        (:mod:`deap_nos.spaces.nos.authors`), as ``compile(..., semantics="authors")``.
    segments : sequence of int, optional
        For each of the P columns, the weight tensor it belongs to: ``clip_norm`` (and
        any ``B.norm``) normalises each tensor of each run on its own. None: one tensor.
    one_cycle : bool
        ``lr`` given to :meth:`update` is the peak; the one-cycle factor is applied
        inside (as ``GraphOptimizer`` does). False: ``lr`` is used as given.
    seed : int
        Seed of the dropout operations.
    """

    def __init__(self, space=None, max_nodes=None, total_steps=1000, warmup_steps=0,
                 hold_steps=0, momentum_schedule="cycle", nesterov="default",
                 segments=None, one_cycle=True, seed=0, semantics="default"):
        from ...spaces.nos.space import default_space

        self.space = space or default_space()
        self.semantics = authors.check_semantics(semantics)
        if semantics == "authors":
            nesterov = "authors"
        self.max_nodes = int(max_nodes or self.space.n_hidden + 1)
        if self.max_nodes < 1:
            raise NOSError(f"max_nodes must be >= 1, got {max_nodes}")
        if nesterov not in ("default", "authors"):
            raise NOSError(f"nesterov is 'default' or 'authors'; got {nesterov!r}")
        self.total_steps, self.warmup_steps = int(total_steps), int(warmup_steps)
        self.hold_steps = int(hold_steps)
        if self.total_steps < 1:
            raise NOSError(f"total_steps must be >= 1, got {total_steps}")
        self.momentum_schedule = momentum_schedule
        self.nesterov = nesterov
        self.one_cycle = bool(one_cycle)
        self.seed = int(seed)
        self.operands = list(self.space.operands.values())
        self.ops = [p._replace(fn=authors.s_delta)
                    if semantics == "authors" and p.fn is s_delta else p
                    for p in self.space.ops.values()]
        self.schedules = list(self.space.schedules.values())
        self.decay_ops = list(self.space.decay_ops.values())
        self._operand_index = {p.name: i for i, p in enumerate(self.operands)}
        self._op_index = {p.name: i for i, p in enumerate(self.ops)}
        self._sched_index = {p.name: i for i, p in enumerate(self.schedules)}
        self._decay_index = {p.name: i for i, p in enumerate(self.decay_ops)}
        self.stateful = [i for i, p in enumerate(self.ops) if p.stateful]
        self._segments = None if segments is None else np.asarray(segments, np.int32)
        self._compiled = None

    # ------------------------------------------------------------------ encoding
    def encode(self, genome):
        """The genome as a dict of small numpy arrays (one run; see :meth:`encode_batch`).

        ``op [N]``, ``inputs [N, 2]`` (operand index, or ``n_operands + slot``),
        ``decay [N, 2, 7]`` (on, hidden op, hidden inputs ×2, output op, output
        inputs ×2; an output input equal to the number of schedules reads the hidden
        node), ``form``, ``sign`` (−1 when flipped).
        """
        validate(genome, self.space)
        order = genome.active_nodes()
        n, pad = self.max_nodes, self.max_nodes - len(order)
        if pad < 0:
            raise NOSError(f"the genome has {len(order)} active nodes but this interpreter "
                           f"holds {n}; build it with max_nodes >= {len(order)}")
        slot = {node: pad + k for k, node in enumerate(order)}
        n_operands = len(self.operands)
        op = np.full(n, self._op_index.get("id", 0), np.int32)
        inputs = np.zeros((n, 2), np.int32)
        decay = np.zeros((n, 2, 7), np.int32)
        for node_index in order:
            node, k = genome.nodes[node_index], slot[node_index]
            op[k] = self._op_index[node.op]
            for j, (ref, d) in enumerate(zip(node.inputs, node.decays)):
                inputs[k, j] = (self._operand_index[ref] if isinstance(ref, str)
                                else n_operands + slot[ref])
                if d is not None:
                    decay[k, j] = self._encode_decay(d)
            if len(node.inputs) == 1:
                inputs[k, 1] = inputs[k, 0]
        return {"op": op, "inputs": inputs, "decay": decay,
                "form": np.int32(FORMS[genome.momentum]),
                "sign": np.float32(-1.0 if genome.flip else 1.0)}

    def _encode_decay(self, decay):
        n_sched = len(self.schedules)

        def refs(node, hidden_ok):
            out = [n_sched if (hidden_ok and r == HIDDEN and not isinstance(r, str))
                   else self._sched_index[self.space.schedule_name(r)] for r in node.inputs]
            return (out + out)[:2]

        hidden = decay.hidden if decay.uses_hidden else None
        h_op = self._decay_index[hidden.op] if hidden is not None else 0
        h_in = refs(hidden, False) if hidden is not None else [0, 0]
        return [1, h_op, *h_in, self._decay_index[decay.output.op],
                *refs(decay.output, True)]

    def encode_batch(self, genomes):
        """Stack :meth:`encode` of each genome along a leading run axis."""
        codes = [self.encode(g) for g in genomes]
        return {key: np.stack([c[key] for c in codes]) for key in codes[0]}

    def blank(self, k):
        """Codes of ``k`` idle runs (``none: g`` with every slot an identity)."""
        n = self.max_nodes
        return {"op": np.full((k, n), self._op_index.get("id", 0), np.int32),
                "inputs": np.zeros((k, n, 2), np.int32),
                "decay": np.zeros((k, n, 2, 7), np.int32),
                "form": np.zeros(k, np.int32), "sign": np.ones(k, np.float32)}

    # ------------------------------------------------------------------ state
    def state_shapes(self, k, p):
        """Shapes of the state: the three averages, one tensor per slot, ``μ``."""
        return {"v": (k, p), "s": (k, p), "l": (k, p), "nodes": (self.max_nodes, k, p),
                "mu": (k, p)}

    def init(self, k, p):
        """Zero state for K runs of P weights each (a dict of float32 tensors)."""
        import tensorflow as tf

        return {name: tf.zeros(shape, tf.float32)
                for name, shape in self.state_shapes(k, p).items()}

    # ------------------------------------------------------------------ math
    def update(self, codes, g, w, state, t, lr, seed=None):
        """``(delta, new_state)`` for K runs: ``w ← w + delta``. Traceable, not compiled.

        ``t`` is each run's 0-based step, ``lr`` its peak learning rate (or its rate,
        with ``one_cycle=False``); ``seed`` ``[K, 2]`` int64, each run's dropout seed
        (a run's masks depend on its own seed only, not on its slot).
        """
        import tensorflow as tf

        p = int(g.shape[-1])
        segments = self._segments if self._segments is not None else np.zeros(p, np.int32)
        if len(segments) != p:
            raise NOSError(f"segments has {len(segments)} entries for {p} weights")
        B = _namespace(tf.constant(segments), int(segments.max()) + 1, self.seed)
        runs = tf.shape(g)[0]
        B.counter = (tf.zeros([runs, 2], tf.int64) if seed is None
                     else tf.cast(seed, tf.int64))
        t = tf.cast(t, tf.float32)
        t_col = t[:, None]
        u, new = self._direction(codes, g, w, state, t, t_col, B)
        lr_t = tf.cast(lr, tf.float32)
        schedule, cycle = ((authors.one_cycle, authors.momentum_cycle)
                           if self.semantics == "authors" else (one_cycle, momentum_cycle))
        if self.one_cycle:
            lr_t = lr_t * schedule(t, self.total_steps, self.warmup_steps,
                                    self.hold_steps, B)
        step_u = lr_t[:, None] * tf.cast(codes["sign"], tf.float32)[:, None] * u
        if self.momentum_schedule == "cycle":
            m = cycle(t_col, self.total_steps, self.warmup_steps,
                               self.hold_steps, B)
        else:
            m = tf.fill(tf.shape(t_col), float(self.momentum_schedule))
        mu = m * state["mu"] - step_u
        nesterov = mu - step_u if self.nesterov == "authors" else m * mu - step_u
        form = tf.cast(codes["form"], tf.int32)[:, None]
        delta = tf.where(form == 0, -step_u, tf.where(form == 1, mu, nesterov))
        new["mu"] = tf.where(form == 0, state["mu"], mu)
        return delta, new

    def _direction(self, codes, g, w, state, t, t_col, B):
        """The graph output ``u`` of every run, and the new averages and node states."""
        import tensorflow as tf

        values, new = self._operands(g, w, state, t_col, B)
        decays = self._decays(codes, t, B)                        # [K, N, 2]
        inputs = tf.cast(codes["inputs"], tf.int32)
        op = tf.cast(codes["op"], tf.int32)
        m, n = len(values), self.max_nodes
        table = tf.stack(values + [tf.zeros_like(g)] * n, axis=1)  # [K, M + N, P]
        counter = B.counter
        runs = tf.shape(g)[0]

        def body(i, table, nodes):
            # One (run, slot) per iteration, slots of a run in topological order: only
            # the run's own operation is computed (tf.switch_case, an XLA conditional).
            r, k = i // n, i % n
            B.counter = tf.gather(counter, r) + tf.cast(tf.stack([0, (k + 1) * 104729]),
                                                        tf.int64)
            d = tf.gather_nd(decays, [r, k])
            refs = tf.gather_nd(inputs, [r, k])
            x = tf.gather_nd(table, [r, refs[0]]) * d[0]
            y = tf.gather_nd(table, [r, refs[1]]) * d[1]
            out, n_new = self._apply_op(tf.gather_nd(op, [r, k]), x, y,
                                        tf.gather_nd(nodes, [k, r]), tf.gather(t, r), B)
            table = tf.tensor_scatter_nd_update(table, [[r, m + k]], out[None])
            nodes = tf.tensor_scatter_nd_update(nodes, [[k, r]], n_new[None])
            return i + 1, table, nodes

        _, table, nodes = tf.while_loop(lambda i, *_: i < runs * n, body,
                                        (tf.constant(0), table, state["nodes"]))
        new["nodes"] = nodes
        return table[:, -1], new

    def _operands(self, g, w, state, t_col, B):
        """Every operand of the space for every run (``[K, P]`` each), after updating the
        moment averages; returns ``(values, new)`` with the new averages in ``new``."""
        import tensorflow as tf

        new = {}
        for name in _MOMENT_ORDER:
            beta, power = MOMENTS[name]
            gp = g if power == 1 else g * g if power == 2 else g * g * g
            new[name] = beta * state[name] + (1.0 - beta) * gp
        ctx = _Context(g, w, t_col, {m: new[m] for m in _MOMENT_ORDER}, B)
        return [tf.broadcast_to(p.fn(ctx, B), tf.shape(g)) for p in self.operands], new

    def _apply_op(self, op, x, y, n, t, B):
        """Operation number ``op`` of the space on one run's ``(x, y)``: (out, new node state)."""
        import tensorflow as tf

        def branch(prim):
            def run():
                if prim.stateful:
                    out, n_new = prim.fn(x, n, t, B)
                else:
                    out = prim.fn(x, B) if prim.arity == 1 else prim.fn(x, y, B)
                    n_new = n
                return tf.broadcast_to(out, tf.shape(x)), tf.broadcast_to(n_new, tf.shape(x))
            return run

        return tf.switch_case(op, [branch(prim) for prim in self.ops])

    def _decays(self, codes, t, B):
        """Each edge's decay multiplier at each run's step: ``[K, N, 2]`` (1 if none)."""
        import tensorflow as tf

        d = tf.cast(tf.reshape(codes["decay"], [-1, self.max_nodes * 2, 7]), tf.int32)
        total = self.total_steps
        sched = tf.stack([tf.broadcast_to(p.fn(t, total, B), tf.shape(t))
                          for p in self.schedules], axis=1)        # [K, S]
        e = self.max_nodes * 2
        sched_e = tf.broadcast_to(sched[:, None, :], [tf.shape(t)[0], e, sched.shape[1]])
        hx = tf.gather(sched_e, d[..., 2], batch_dims=2)
        hy = tf.gather(sched_e, d[..., 3], batch_dims=2)
        hidden = self._decay_ops(d[..., 1], hx, hy, B)
        table = tf.concat([sched_e, hidden[..., None]], axis=-1)
        ox = tf.gather(table, d[..., 5], batch_dims=2)
        oy = tf.gather(table, d[..., 6], batch_dims=2)
        value = self._decay_ops(d[..., 4], ox, oy, B)
        value = tf.where(d[..., 0] > 0, value, tf.ones_like(value))
        return tf.reshape(value, [-1, self.max_nodes, 2])

    def _decay_ops(self, op, x, y, B):
        import tensorflow as tf

        outs = [tf.broadcast_to(p.fn(x, B) if p.arity == 1 else p.fn(x, y, B), tf.shape(x))
                for p in self.decay_ops]
        return tf.gather(tf.stack(outs, axis=-1), op, batch_dims=2)

    def compiled(self):
        """:meth:`update` in one ``tf.function(jit_compile=True)``, built once."""
        if self._compiled is None:
            import tensorflow as tf

            self._compiled = tf.function(self.update, jit_compile=True, autograph=False)
        return self._compiled
