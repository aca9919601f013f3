"""Published optimizers and schedules, ready to use: ``nos.zoo``.

- the discovered optimizers Opt1–Opt10 and the ablations Opt41, Opt42, Opt61, Opt71,
  Opt81, Opt91, Opt101, the Adam variants A1–A5 and Adam itself in the space
  (``AdamSpace``) — arXiv 2404.06679, Tables 8–10 (docs/reference.md §9);
- baselines that fit the space: QHM, Sign (seed 003), PowerSign-ld, AddSign-ld;
- ADES (seed 003, eq. 8), its own Keras optimizer;
- the learning-rate schedules LR1–LR9 found for Adam, as Keras schedules.

Genomes are text expressions read with :func:`deap_nos.parse`::

    nos.zoo.names()                       # every name
    nos.zoo.describe("Opt10")             # equation and source
    nos.zoo.genome("Opt10")               # an OptimizerGraph
    nos.zoo.optimizer("Opt10", total_steps=8000)   # a Keras optimizer, recommended peak lr
    nos.zoo.recommended("Opt10")          # that rate, and how it was measured
    nos.zoo.schedule("LR1", 1e-3, total_steps=8000, warmup_steps=800)  # for keras Adam

Operands (§2): ``v̂``, ``ŝ``, ``λ̂`` the bias-corrected averages of g, g², g³ at
0.9/0.99/0.999; ``qh_v = 0.3g + 0.7v̂``; ``qh_s = 0.05g² + 0.95ŝ``; ``qh_l = 0.01g³ + 0.99λ̂``;
``wdK = 10⁻ᴷ·w``; ``erfc2 = erfc∘erfc``; ``div(x, y) = x/(y + 1e-7)``; ``decay(x, d) = x·d(t)``.
"""
from collections import namedtuple

from .errors import NOSError, UnknownNameError

__all__ = ["names", "genome", "optimizer", "schedule", "describe", "entry", "recommended",
           "ENTRIES", "RATES", "MEASURED"]

#: kind: "genome" (a GraphOptimizer), "ades" (its own optimizer), "schedule" (LR1–LR9)
Entry = namedtuple("Entry", "name kind text equation source")

_PAPER = "Neural Optimizer Equation, Decay Function, and Learning Rate Schedule Joint " \
         "Evolution (arXiv 2404.06679)"
_T8 = f"{_PAPER}, Table 8"
_T9 = f"{_PAPER}, Table 9 (ablation: decays removed)"
_T10 = f"{_PAPER}, Table 10 (Adam variants)"
_LR = f"{_PAPER}, learning-rate schedules found for Adam (Section 4)"
_SEED3 = "Adaptive AutoLR (seed 003), Carvalho et al."


def _g(name, text, equation, source):
    return Entry(name, "genome", text, equation, source)


_OPT4 = "div(decay(qh_v, erfc(erfc(a4))), decay(clip(two, decay(exp(v_hat), atan(a13))), dtanh(a8)))"
_OPT5 = "div(decay(qh_v, erfc(erfc(a4))), decay(clip(two, exp(v_hat)), dtanh(a8)))"
_OPT6 = "div(decay(qh_v, erfc(erfc(a4))), decay(abs(decay(exp(wd4), dtanh(a4))), dtanh(a8)))"

_GENOMES = [
    _g("Opt1", "add(qh_v, softsign(clip(wd5, sub(wd5, qh_s))))",
       "w ← w − lr·[qh_v + softsign(clip(1e-5·w, ±|1e-5·w − qh_s|))]", _T8),
    _g("Opt2", "add(qh_v, softsign(div_sqrt1p(wd5, sub(wd5, qh_s))))",
       "w ← w − lr·[qh_v + softsign(1e-5·w / √(1 + (1e-5·w − qh_s)²))]", _T8),
    _g("Opt3", "add(qh_v, softsign(div_sqrt1p(wd5, sub(wd5, qh_l))))",
       "w ← w − lr·[qh_v + softsign(1e-5·w / √(1 + (1e-5·w − qh_l)²))]", _T8),
    _g("Opt4", _OPT4,
       "w ← w − lr·erfc2(a4)·qh_v / (dtanh(a8)·clip(2, ±|atan(a13)·e^v̂|) + eps)", _T8),
    _g("Opt5", _OPT5,
       "w ← w − lr·erfc2(a4)·qh_v / (dtanh(a8)·clip(2, ±|e^v̂|) + eps)", _T8),
    _g("Opt6", _OPT6,
       "w ← w − lr·erfc2(a4)·qh_v / (dtanh(a8)·|dtanh(a4)·e^(1e-4·w)| + eps)", _T8),
    _g("Opt7", "tanh(decay(asinh(qh_v), max(a6, a10)))",
       "w ← w − lr·tanh(max(a6, a10)·asinh(qh_v))", _T8),
    _g("Opt8", "asinh(decay(asinh(qh_v), max(a6, a10)))",
       "w ← w − lr·asinh(max(a6, a10)·asinh(qh_v))", _T8),
    _g("Opt9", "nesterov: mul(decay(g, erfc(a11)), exp(atan(qh_s)))",
       "u = erfc(a11)·g·e^atan(qh_s); μ ← m·μ − lr·u; w ← w + m·μ − lr·u", _T8),
    _g("Opt10", "nesterov: bessel_i1e(bessel_i1e(decay(g, mul(a13, a2))))",
       "u = i1e(i1e(a13·a2·g)); μ ← m·μ − lr·u; w ← w + m·μ − lr·u", _T8),
    _g("Opt41", "div(qh_v, decay(clip(two, exp(v_hat)), dtanh(a8)))",
       "w ← w − lr·qh_v / (dtanh(a8)·clip(2, ±|e^v̂|) + eps)  (Opt4 without the a4 and "
       "atan(a13) decays)", _T9),
    _g("Opt42", "div(qh_v, clip(two, exp(v_hat)))",
       "w ← w − lr·qh_v / (clip(2, ±|e^v̂|) + eps)  (Opt4 without decays)", _T9),
    _g("Opt61", "div(qh_v, abs(exp(wd4)))",
       "w ← w − lr·qh_v / (|e^(1e-4·w)| + eps)  (Opt6 without decays)", _T9),
    _g("Opt71", "tanh(asinh(qh_v))", "w ← w − lr·tanh(asinh(qh_v))  (Opt7 without decays)",
       _T9),
    _g("Opt81", "asinh(asinh(qh_v))", "w ← w − lr·asinh(asinh(qh_v))  (Opt8 without decays)",
       _T9),
    _g("Opt91", "nesterov: mul(g, exp(atan(qh_s)))",
       "u = g·e^atan(qh_s), Nesterov form  (Opt9 without decays)", _T9),
    _g("Opt101", "nesterov: bessel_i1e(bessel_i1e(g))",
       "u = i1e(i1e(g)), Nesterov form  (Opt10 without decays)", _T9),
    _g("A1", "clip(v_hat, sqrt_abs(s_hat))", "w ← w − lr·clip(v̂, ±√ŝ)", _T10),
    _g("A2", "clip(v_hat, log_abs(s_hat))", "w ← w − lr·clip(v̂, ±|ln(|ŝ| + eps)|)", _T10),
    _g("A3", "clip(v_hat, sqrt_abs(log_abs(s_hat)))",
       "w ← w − lr·clip(v̂, ±√|ln(|ŝ| + eps)|)", _T10),
    _g("A4", "clip(v_hat, sigmoid(s_hat))", "w ← w − lr·clip(v̂, ±σ(ŝ))", _T10),
    _g("A5", "clip_norm(clip(v_hat, sqrt_abs(s_hat)))",
       "w ← w − lr·c/max(1, ‖c‖₂), c = clip(v̂, ±√ŝ)", _T10),
    _g("AdamSpace", "div(v_hat, sqrt_abs(s_hat))",
       "w ← w − lr·v̂/(√ŝ + eps)  (Adam with β₁ = 0.9, β₂ = 0.99, eps inside the "
       "bias-corrected denominator)", f"{_PAPER}, Section 4 (Adam in the search space)"),
    _g("QHM", "qh_v", "w ← w − lr·(0.3·g + 0.7·v̂)  (quasi-hyperbolic momentum, ν = 0.7)",
       "Ma & Yarats, Quasi-hyperbolic momentum and Adam for deep learning (ICLR 2019); "
       "as a baseline in " + _PAPER),
    _g("Sign", "sign_g", "w ← w − lr·sign(g)  (eq. 7)", f"{_SEED3}, eq. 7"),
    _g("PowerSign-ld", "mul(exp(decay(mul(sign_g, sign_v), a1)), g)",
       "w ← w − lr·e^((1 − t/T)·sign(g)·sign(v̂))·g  (linear decay)",
       "Bello et al., Neural Optimizer Search with Reinforcement Learning (ICML 2017)"),
    _g("AddSign-ld", "mul(add(one, decay(mul(sign_g, sign_v), a1)), g)",
       "w ← w − lr·(1 + (1 − t/T)·sign(g)·sign(v̂))·g  (linear decay)",
       "Bello et al., Neural Optimizer Search with Reinforcement Learning (ICML 2017)"),
]

_OTHERS = [
    Entry("ADES", "ades", None,
          "y ← y − (β₁·y² + β₂·y·g + β₂·g); w ← w + y  (β₁ = 0.08922, β₂ = 0.0891; no "
          "learning rate: learning_rate is ignored)", f"{_SEED3}, eq. 8"),
    Entry("LR1", "schedule", None, "lr_t = one_cycle(t)·erfc2(a4)/dtanh(a8)  (Opt4's "
          "multiplier)", _LR),
    Entry("LR2", "schedule", None, "lr_t = one_cycle(t)·erfc2(a4)/(dtanh(a8)·dtanh(a4))  "
          "(Opt6's multiplier)", _LR),
    Entry("LR3", "schedule", None, "lr_t = one_cycle(t)·atan(a2)/(dtanh(a10)·√soft_inv(a14))",
          _LR),
    Entry("LR4", "schedule", None, "lr_t = one_cycle(t)·sigmoid(a2)²/sigmoid(2·softsign(a1))",
          _LR),
    Entry("LR5", "schedule", None, "lr_t = one_cycle(t)/√erf(a11)", _LR),
    Entry("LR6", "schedule", None, "lr_t = one_cycle(t)·atan(a2)·erfc(a6)/√soft_inv(a6)",
          _LR),
    Entry("LR7", "schedule", None, "lr_t = one_cycle(t)/√soft_inv(a10)", _LR),
    Entry("LR8", "schedule", None, "lr_t = one_cycle(t)/(√softsign(atan(a12)) + 1e-7)", _LR),
    Entry("LR9", "schedule", None, "lr_t = one_cycle(t)·tanh(max(a10, a6))", _LR),
]

#: name -> Entry, in the order of the paper.
ENTRIES = {e.name: e for e in _GENOMES + _OTHERS}

_KINDS = ("genome", "ades", "schedule")

#: How :data:`RATES` was measured (benchmarks/zoo_rates.py).
MEASURED = ("the peak learning rate chosen by the package's own sweep "
            "(SurrogateEvaluator.preset('quick', seed=0): embedded digits, small ConvNet, a "
            "30-step sweep over the paper's grid 10, 1, 0.1, 0.01, 1e-3, 1e-4, 1e-5, then 300 "
            "steps on the one-cycle schedule; keras Adam on the same run chose 0.1; "
            "AddSign-ld, rejected by the quick three-rate check, swept over the whole grid); "
            "benchmarks/zoo_rates.py --preset quick --seed 0. The ConvNet has batch "
            "normalisation: without it, start a decade lower (Opt6 on a plain MLP: 0.29 "
            "held-out at 10, 0.87 at 1)")

#: name -> recommended PEAK learning rate of the one-cycle schedule (for LR1–LR9: of the
#: Adam they drive), measured as :data:`MEASURED` says, with the validation accuracy the
#: run reached. A decade of the paper's grid: a starting point, not a tuned optimum (10
#: is the grid's top, so for those entries the best rate may lie above it).
RATES = {
    'Opt1': (1.0, 0.9749), 'Opt2': (10.0, 0.9721), 'Opt3': (10.0, 0.9805),
    'Opt4': (10.0, 0.9582), 'Opt5': (10.0, 0.9777), 'Opt6': (10.0, 0.9805),
    'Opt7': (10.0, 0.9666), 'Opt8': (10.0, 0.9889), 'Opt9': (1.0, 0.9694),
    'Opt10': (10.0, 0.9638), 'Opt41': (10.0, 0.9694), 'Opt42': (1.0, 0.9805),
    'Opt61': (1.0, 0.9805), 'Opt71': (10.0, 0.9694), 'Opt81': (10.0, 0.9777),
    'Opt91': (0.1, 0.9833), 'Opt101': (1.0, 0.9749), 'A1': (1.0, 0.9721),
    'A2': (1.0, 0.9721), 'A3': (1.0, 0.9694), 'A4': (1.0, 0.9805),
    'A5': (10.0, 0.9694), 'AdamSpace': (0.1, 0.9721), 'QHM': (1.0, 0.9861),
    'Sign': (0.01, 0.9805), 'PowerSign-ld': (1.0, 0.9749), 'LR1': (1.0, 0.9499),
    'LR2': (0.1, 0.961), 'LR3': (1.0, 0.9666), 'LR4': (0.1, 0.9721),
    'LR5': (0.1, 0.9721), 'LR6': (1.0, 0.9694), 'LR7': (0.1, 0.9749),
    'LR8': (0.01, 0.9805), 'LR9': (0.1, 0.9777),
    'AddSign-ld': (1.0, 0.9749),   # the quick check rejected it: whole grid swept
}

#: Recommended learning rate, total steps of the measured run, validation accuracy, how.
Recommended = namedtuple("Recommended", "learning_rate total_steps val_acc measured")


def names(kind=None):
    """Every zoo name, or those of one ``kind``: ``"genome"``, ``"ades"``, ``"schedule"``."""
    if kind is not None and kind not in _KINDS:
        raise UnknownNameError(f"unknown zoo kind {kind!r}; use one of {', '.join(_KINDS)} "
                               f"or None for all")
    return [n for n, e in ENTRIES.items() if kind is None or e.kind == kind]


def entry(name):
    """The :class:`Entry` (kind, text, equation, source) of ``name``."""
    try:
        return ENTRIES[name]
    except (KeyError, TypeError):
        raise UnknownNameError(f"unknown zoo name {name!r}; known: {', '.join(ENTRIES)}") \
            from None


def recommended(name):
    """The :class:`Recommended` learning rate of ``name`` (None for ADES, which has none).

    ``learning_rate`` is the peak of the one-cycle schedule; ``total_steps`` the length
    of the run it was measured on (set yours to your run's length: epochs × steps per
    epoch); ``measured`` says how (:data:`MEASURED`).
    """
    e = entry(name)
    if name not in RATES:
        return None
    lr, acc = RATES[e.name]
    return Recommended(lr, 300, acc, MEASURED)


def describe(name):
    """``name``: its equation, its genome text (when it has one), its recommended
    learning rate and its source."""
    e = entry(name)
    text = f"\n  genome: {e.text}" if e.text else ""
    rec = recommended(name)
    rate = ("\n  learning rate: none (β₂ is its step size)" if rec is None else
            f"\n  recommended learning rate: {rec.learning_rate:g} (peak of the one-cycle; "
            f"total_steps = your run's length; measured by the quick preset's sweep, "
            f"{rec.total_steps} steps, val. acc. {rec.val_acc:.3f}: see zoo.MEASURED)")
    return f"{e.name}: {e.equation}{text}{rate}\n  source: {e.source}"


def genome(name, space=None):
    """The :class:`~deap_nos.spaces.nos.genome.OptimizerGraph` of ``name`` (read with
    ``nos.parse``)."""
    e = entry(name)
    if e.kind != "genome":
        raise NOSError(f"{name} is not a genome of the search space ({e.kind}); use "
                       f"zoo.optimizer({name!r}, ...)"
                       + (f" or zoo.schedule({name!r}, ...)" if e.kind == "schedule" else ""))
    from .spaces.nos.genome import parse
    return parse(e.text, space)


def schedule(name, base_learning_rate, total_steps, warmup_steps=None, hold_steps=0,
             first_lr=1e-7):
    """``LR1`` … ``LR9`` as a Keras schedule: factor × base one-cycle, step 0 at ``first_lr``.

    Use it with ``keras.optimizers.Adam(learning_rate=zoo.schedule("LR1", 1e-3, 8000))``.
    ``warmup_steps`` defaults to 10 % of ``total_steps``.
    """
    e = entry(name)
    if e.kind != "schedule":
        raise NOSError(f"{name} is not a learning-rate schedule; the schedules are "
                       f"{', '.join(names('schedule'))}")
    from .keras import FactorSchedule, default_warmup
    warmup_steps = default_warmup(total_steps) if warmup_steps is None else warmup_steps
    return FactorSchedule(name, base_learning_rate, total_steps, warmup_steps, hold_steps,
                          first_lr)


def optimizer(name, learning_rate=None, total_steps=1000, warmup_steps=None, hold_steps=0,
              **kwargs):
    """A Keras optimizer for ``name``.

    ``learning_rate`` None: the entry's recommended peak (:func:`recommended`).
    ``total_steps`` must be your run's length (epochs × steps per epoch): past it the
    one-cycle schedule holds its final rate, 0, and a ``RuntimeWarning`` says so.

    - genomes: :class:`~deap_nos.keras.GraphOptimizer` (``learning_rate`` is the peak of
      the one-cycle schedule; ``kwargs`` go to it: ``momentum_schedule``, ``nesterov``,
      ``space``, ``seed``, Keras arguments);
    - ``ADES``: :class:`~deap_nos.keras.ADES` (``beta_1``, ``beta_2`` in ``kwargs``; it
      has no learning rate and no schedule);
    - ``LR1`` … ``LR9``: ``keras.optimizers.Adam(β₂ = 0.99)`` on :func:`schedule` (peak
      ``learning_rate``), as the schedules were found for Adam in the space.
    """
    e = entry(name)
    if e.kind == "ades":
        from .keras import ADES
        return ADES(**kwargs)
    if learning_rate is None:
        learning_rate = recommended(name).learning_rate
    if e.kind == "schedule":
        from .keras.builtin import adam
        lr = schedule(name, learning_rate, total_steps, warmup_steps, hold_steps)
        kwargs = {"beta_1": 0.9, "beta_2": 0.99, "epsilon": 1e-8, **kwargs}
        return adam(lr, **kwargs)
    from .keras import GraphOptimizer
    space = kwargs.pop("space", None)
    kwargs.setdefault("name", _keras_name(name))
    return GraphOptimizer(genome(name, space), learning_rate=learning_rate,
                          total_steps=total_steps, warmup_steps=warmup_steps,
                          hold_steps=hold_steps, space=space, **kwargs)


def _keras_name(name):
    """A Keras-friendly optimizer name (no '-')."""
    return name.lower().replace("-", "_")
