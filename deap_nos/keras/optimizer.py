"""Keras 3 optimizers: :class:`GraphOptimizer` (any genome of the space) and :class:`ADES`.

:class:`GraphOptimizer` is a thin adapter over the lead's pure program
(:func:`deap_nos.program.compile`, the Optax idea): ``build`` allocates, per weight, only
the state the active graph reads (``program.state_names()``: the ``v``/``s``/``λ``
averages, one tensor per state-saving node, ``μ`` for the momentum forms), and
``update_step`` is::

    delta, new = program.update(g, state_of(w), w, step=t, lr=lr_t)
    state_of(w) ← new;  w ← w + delta

with ``t`` = ``iterations`` (0-based) and ``lr_t`` = peak · one_cycle(t). The update
forms, the sign flip, the momentum cycle and the decay functions (at ``t`` over
``total_steps``) all live in the program; nothing of the genome is looked at in Python
at run time beyond the traced arithmetic. On TensorFlow the per-weight math runs in one
XLA-compiled function (``jit_update=True``), so its element-wise operations fuse.
"""
import numbers
import warnings

import keras
from keras import ops

from ..spaces.nos.authors import check_semantics
from ..spaces.nos.authors import one_cycle as authors_one_cycle
from ..errors import NOSError
from ..schedules import one_cycle
from .backend import KerasBackend
from .schedules import _as_genome

__all__ = ["GraphOptimizer", "ADES", "default_warmup"]

_DROPOUT_OPS = frozenset({"drop50", "drop30", "drop10"})


def _as_lr(learning_rate):
    """Keras wants a Python float (or a schedule): accept ints and numpy scalars too."""
    if isinstance(learning_rate, numbers.Real) and not isinstance(learning_rate, bool):
        return float(learning_rate)
    return learning_rate


def default_warmup(total_steps):
    """10 % of the run, the default warm-up of :class:`GraphOptimizer`."""
    return int(round(0.1 * int(total_steps)))


def _check_schedule_args(total_steps, warmup_steps, hold_steps, momentum_schedule, nesterov):
    if int(total_steps) < 1:
        raise NOSError(f"total_steps must be >= 1 (the run's length, T of the decay "
                       f"functions); got {total_steps}")
    if int(warmup_steps) < 0 or int(hold_steps) < 0:
        raise NOSError(f"warmup_steps and hold_steps must be >= 0; got {warmup_steps}, "
                       f"{hold_steps}")
    if momentum_schedule != "cycle":
        try:
            float(momentum_schedule)
        except (TypeError, ValueError):
            raise NOSError(f"momentum_schedule is 'cycle' or a number (e.g. 0.9); got "
                           f"{momentum_schedule!r}") from None
    if nesterov not in ("default", "authors"):
        raise NOSError(f"nesterov is 'default' (w ← w + m·μ − lr·u) or 'authors' "
                       f"(w ← w + μ − lr·u); got {nesterov!r}")


class _Held:
    """An untracked reference to the genome (Keras tracks list attributes)."""
    __slots__ = ("genome",)

    def __init__(self, genome):
        self.genome = genome


class _Runtime:
    """Untracked holder of the per-weight math, XLA-compiled on TensorFlow when asked.

    ``fused(g, state, w, t, lr) -> (delta, new_state)`` is the program's pure update in
    one ``tf.function(jit_compile=True)``: XLA fuses the graph's element-wise operations
    into a few kernels instead of one TensorFlow op (and one pass over memory) each.
    """

    def __init__(self, program, names, jit):
        self.fused = None
        if jit and keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            def fused(g, state, w, t, lr):
                delta, new = program.update(g, dict(zip(names, state)), w, step=t, lr=lr)
                return delta, tuple(new[n] for n in names)

            compiled = tf.function(fused, jit_compile=True, autograph=False)

            def call(g, state, w, t, lr):
                as_tensor = tf.convert_to_tensor
                return compiled(as_tensor(g), tuple(as_tensor(s) for s in state),
                                as_tensor(w), as_tensor(t), as_tensor(lr))

            self.fused = call


#: The Keras backends GraphOptimizer runs on (its state updates are TensorFlow's).
SUPPORTED_BACKENDS = ("tensorflow",)


def require_tensorflow_backend(what="GraphOptimizer"):
    """Refuse, naming the backend, where Keras runs on another backend than TensorFlow:
    the optimizer's in-place state updates and its genome interpreter are TensorFlow's,
    and under Keras' JAX or PyTorch backends every step would fail."""
    name = keras.backend.backend()
    if name not in SUPPORTED_BACKENDS:
        raise NOSError(f"{what} runs on Keras' {', '.join(SUPPORTED_BACKENDS)} backend; "
                       f"this Keras runs on {name!r} (KERAS_BACKEND). Set "
                       f"KERAS_BACKEND=tensorflow, or in JAX use nos.optax.transform(genome) "
                       f"and deap-nos search --backend jax")


@keras.saving.register_keras_serializable(package="deap_nos")
class GraphOptimizer(keras.optimizers.Optimizer):
    """A Keras optimizer running an evolved update graph (docs/reference.md §1–5).

    Update (``u`` the graph's output, ``s = −1`` when the genome is flipped, else 1)::

        none:      w ← w − lr_t·s·u
        momentum:  μ ← m_t·μ − lr_t·s·u;  w ← w + μ
        nesterov:  μ ← m_t·μ − lr_t·s·u;  w ← w + m_t·μ − lr_t·s·u   (authors: w + μ − lr_t·s·u)

    ``lr_t = learning_rate · one_cycle(t)`` (linear warm-up over ``warmup_steps``, hold,
    cosine decay to 0 at ``total_steps``), ``m_t`` the momentum cycle 0.95→0.85→0.95 (or
    a constant).

    Parameters
    ----------
    genome : OptimizerGraph or str
        The genome, its text (``"nesterov: mul(g, exp(atan(qh_s)))"``) or its JSON.
    learning_rate : float or LearningRateSchedule
        The PEAK learning rate, held in the usual Keras variable: ``opt.learning_rate = x``
        assigns without retracing. A schedule is used as given (then usually with
        ``one_cycle=False``).
    total_steps : int
        Length of the run: ``T`` of the decay functions, the one-cycle and the momentum cycle.
    warmup_steps : int or None
        Linear warm-up steps (None: 10 % of ``total_steps``).
    hold_steps : int
        Steps held at the peak after the warm-up.
    momentum_schedule : "cycle" or float
        ``m_t``: the cycle, or a constant (the paper's 0.9 when unscheduled).
    nesterov : {"default", "authors"}
        Which Nesterov form (see above).
    space : search space, optional
        The genome's space (default: ``genome.space``; any space of
        :mod:`deap_nos.spaces` — nos, termmix, autolr, yours). Saved by name: a model
        using a space of your own loads after ``deap_nos.spaces.register(name, space)``
        (or with ``custom_objects={"deap_nos_space": space}``).
    seed : int, optional
        Seed of the dropout operations (``drop50`` ...).
    one_cycle : bool
        Apply the one-cycle factor inside (default). False: ``learning_rate`` is the
        learning rate at every step (e.g. a :class:`~deap_nos.keras.FactorSchedule`).
    semantics : {"default", "authors"}
        ``"authors"``: the authors' search code's warm-up (``t/W``, rate 0 at step 0),
        ``delta``, Nesterov form and momentum cycle (:mod:`deap_nos.spaces.nos.authors`).
    jit_update : bool
        On TensorFlow, run each weight's update math in one XLA-compiled function, so the
        graph's element-wise operations fuse (default; about Adam's cost, see
        benchmarks/RESULTS.md). Costs one XLA compile per distinct weight shape at
        the first trace. False: plain TensorFlow ops.
    **kwargs
        Any ``keras.optimizers.Optimizer`` argument (``clipnorm``, ``name``, ...). Weight
        decay, if set, is applied by Keras with the scheduled learning rate ``lr_t``.

    ``opt.learning_rate`` reads the rate applied at the current step (``lr_t``, what Keras
    callbacks log); assigning it sets the peak; :attr:`peak_learning_rate` reads the peak.
    Past ``total_steps`` the schedule holds its final value, 0 (as Keras' ``CosineDecay``
    holds its end value), so the weights stop: a ``RuntimeWarning`` says so once, the
    first time Python sees such a step (an eager step or a callback reading the rate).
    """

    def __init__(self, genome, learning_rate=1e-3, total_steps=1000, warmup_steps=None,
                 hold_steps=0, momentum_schedule="cycle", nesterov="default", space=None,
                 seed=None, one_cycle=True, jit_update=True, name="graph_optimizer",
                 semantics="default", **kwargs):
        require_tensorflow_backend(type(self).__name__)
        super().__init__(learning_rate=_as_lr(learning_rate), name=name, **kwargs)
        warmup_steps = default_warmup(total_steps) if warmup_steps is None else warmup_steps
        _check_schedule_args(total_steps, warmup_steps, hold_steps, momentum_schedule,
                             nesterov)
        self._held = _Held(_as_genome(genome, space))
        self.space = space if space is not None else self.genome.space
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.hold_steps = int(hold_steps)
        self.momentum_schedule = (momentum_schedule if momentum_schedule == "cycle"
                                  else float(momentum_schedule))
        self.nesterov = nesterov
        self.seed = seed
        self.one_cycle = bool(one_cycle)
        self.semantics = check_semantics(semantics)
        extra = {"semantics": semantics} if semantics != "default" else {}
        self.jit_update = bool(jit_update) and keras.backend.backend() == "tensorflow"
        self._ns = KerasBackend(seed=seed, xla=self.jit_update)
        # any space's genome: the program of its own space (deap_nos.spaces protocol)
        self.program = self.space.compile(
            self.genome, self._ns, total_steps=self.total_steps,
            warmup_steps=self.warmup_steps, hold_steps=self.hold_steps,
            momentum_schedule=self.momentum_schedule, nesterov=nesterov, **extra)
        self.state_names = tuple(self.program.state_names())
        self._runtime = _Runtime(self.program, self.state_names, self.jit_update)

    @property
    def genome(self):
        """The genome this optimizer runs (held untracked: Keras would wrap a list
        genome, an ``autolr`` one, in a tracked list)."""
        return self._held.genome

    # ------------------------------------------------------------------ state
    def build(self, var_list):
        """One zero tensor per weight for each name of ``program.state_names()``."""
        if self.built:
            return
        super().build(var_list)
        if self.seed is not None or any(self.genome.nodes[i].op in _DROPOUT_OPS
                                        for i in getattr(self.program, "order", ())):
            self._ns.make_generator()   # variables must be created outside the trace
        names = list(self.state_names)
        self._slots = list(self.add_optimizer_variables(var_list, names)) if names else []

    def reset(self):
        """Zero every state variable and ``iterations``; keep the peak learning rate."""
        keep = self._learning_rate if isinstance(self._learning_rate, keras.Variable) else None
        for var in self.variables:
            if var is not keep:
                var.assign(ops.zeros(var.shape, dtype=var.dtype))

    # ------------------------------------------------------------------ learning rate
    @property
    def learning_rate(self):
        """The rate applied at the current step, ``lr_t = peak · one_cycle(iterations)``.

        What Keras callbacks (TensorBoard, the ``learning_rate`` log) record. Assigning
        (``opt.learning_rate = x``) sets the PEAK, as the evaluator's sweep does; read the
        peak back with :attr:`peak_learning_rate`.
        """
        self._warn_if_past_end()
        return self.scheduled_learning_rate()

    @learning_rate.setter
    def learning_rate(self, value):
        keras.optimizers.Optimizer.learning_rate.fset(self, _as_lr(value))

    @property
    def peak_learning_rate(self):
        """The peak of the one-cycle schedule (the assignable Keras variable)."""
        return self._get_current_learning_rate()

    def scheduled_learning_rate(self, learning_rate=None, step=None):
        """``lr_t``: the peak (or ``learning_rate``) times the one-cycle factor at ``step``
        (default ``iterations``). Past ``total_steps`` the final rate, 0, is held."""
        lr = self._get_current_learning_rate() if learning_rate is None else learning_rate
        if not self.one_cycle:
            return lr
        t = ops.cast(self.iterations, "float32") if step is None else step
        schedule = authors_one_cycle if self.semantics == "authors" else one_cycle
        return lr * schedule(t, self.total_steps, self.warmup_steps, self.hold_steps,
                              self._ns)

    def _warn_if_past_end(self):
        """Warn once, where Python sees the step (eager code, callbacks reading the rate),
        that the run went past ``total_steps``: the rate is 0 and the weights stop."""
        if getattr(self, "_warned_past_end", False) or not self.one_cycle:
            return
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf
            if tf.inside_function():   # traced: the step is symbolic
                return
        try:
            step = int(ops.convert_to_numpy(self.iterations))
        except Exception:  # inside a trace: the step is symbolic
            return
        if step >= self.total_steps:
            self._warned_past_end = True
            warnings.warn(
                f"{self.name}: step {step} is past total_steps={self.total_steps}; the "
                f"one-cycle schedule ended, so the learning rate is held at its final value "
                f"0 and the weights no longer change. Build the optimizer with total_steps "
                f"= epochs × steps per epoch.", RuntimeWarning, stacklevel=3)

    # ------------------------------------------------------------------ math
    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        # Keras passes ``self.learning_rate``: already lr_t. Read the step once per apply,
        # not once per variable: the scalars derived from it (schedules, decays, bias
        # corrections) are then identical subgraphs that grappler / XLA compute once.
        step = ops.cast(self.iterations, "float32")
        self._step = step
        try:
            super()._backend_update_step(grads, trainable_variables, learning_rate)
        finally:
            self._step = None

    def update_step(self, gradient, variable, learning_rate):
        """``delta, new = program.update(g, state, w, t, lr_t)``; assign ``new`` and ``w + delta``."""
        dtype = variable.dtype
        step = getattr(self, "_step", None)
        step = ops.cast(self.iterations if step is None else step, dtype)
        index = self._get_variable_index(variable)
        slots = [group[index] for group in self._slots]
        state = {name: ops.convert_to_tensor(slot)
                 for name, slot in zip(self.state_names, slots)}
        delta, new = self._math(ops.cast(gradient, dtype), state,
                                ops.convert_to_tensor(variable), step,
                                ops.cast(learning_rate, dtype))
        for name, slot in zip(self.state_names, slots):
            self.assign(slot, new[name])
        self.assign_add(variable, delta)

    def _math(self, g, state, w, t, lr):
        runtime = self._runtime
        if runtime.fused is None:
            return self.program.update(g, state, w, step=t, lr=lr)
        delta, new = runtime.fused(g, tuple(state[n] for n in self.state_names), w, t, lr)
        return delta, dict(zip(self.state_names, new))

    # ------------------------------------------------------------------ config
    def get_config(self):
        """Keras config; the genome as JSON (lossless) and as text (readable)."""
        config = super().get_config()
        config.update({
            "genome": self.genome.to_json(), "genome_text": str(self.genome),
            "total_steps": self.total_steps, "warmup_steps": self.warmup_steps,
            "hold_steps": self.hold_steps, "momentum_schedule": self.momentum_schedule,
            "nesterov": self.nesterov, "seed": self.seed, "one_cycle": self.one_cycle,
            "jit_update": self.jit_update, "space": self.space.name,
            "semantics": self.semantics,
        })
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Inverse of :meth:`get_config`. The space is found by its name in
        :mod:`deap_nos.spaces` (``deap_nos.spaces.register(name, space)`` before loading a
        model whose genome uses your own operations), or given as
        ``custom_objects["deap_nos_space"]``."""
        config = dict(config)
        config.pop("genome_text", None)
        name = config.pop("space", None)
        space = (custom_objects or {}).get("deap_nos_space")
        if space is None and isinstance(name, str):
            from deap_nos import spaces
            space = spaces.get(name)
        if space is not None:
            config["space"] = space
        return super().from_config(config, custom_objects)

    def __repr__(self):
        return (f"GraphOptimizer({str(self.genome)!r}, total_steps={self.total_steps}, "
                f"warmup_steps={self.warmup_steps}, hold_steps={self.hold_steps})")


@keras.saving.register_keras_serializable(package="deap_nos")
class ADES(keras.optimizers.Optimizer):
    """ADES, Adaptive Evolutionary Squared (Adaptive AutoLR, seed 003, eq. 8)::

        y ← y − (β₁·y² + β₂·y·g + β₂·g)
        w ← w + y

    ``y`` starts at 0; as evolved, β₁ = 0.08922 and β₂ = 0.0891 (tuned on Fashion-MNIST:
    β₁ = 0.87621, β₂ = 0.76). It does not fit the graph space (its state feeds back
    through ``y²``). Equation 8 has no learning rate — β₂ is its step size — so
    ``learning_rate`` is accepted (Keras needs one) and ignored.
    """

    def __init__(self, beta_1=0.08922, beta_2=0.0891, learning_rate=1.0, name="ades",
                 **kwargs):
        super().__init__(learning_rate=_as_lr(learning_rate), name=name, **kwargs)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)

    def build(self, var_list):
        """One auxiliary ``y`` per weight."""
        if self.built:
            return
        super().build(var_list)
        self._y = self.add_optimizer_variables(var_list, "y")

    def reset(self):
        """Zero ``y`` and ``iterations``."""
        for var in [self._iterations] + [y for y in self._y if y is not None]:
            var.assign(ops.zeros(var.shape, dtype=var.dtype))

    def update_step(self, gradient, variable, learning_rate):
        """Equation 8."""
        g = ops.cast(gradient, variable.dtype)
        y_var = self._y[self._get_variable_index(variable)]
        y = ops.convert_to_tensor(y_var)
        y = y - (self.beta_1 * y * y + self.beta_2 * y * g + self.beta_2 * g)
        self.assign(y_var, y)
        self.assign_add(variable, y)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2})
        return config
