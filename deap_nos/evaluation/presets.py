"""Named evaluator settings: the paper's, the authors', and the benchmarks' presets.

``SurrogateEvaluator.preset(name)`` and ``PopulationEvaluator.preset(name)`` start from
one of these dicts; any setting given explicitly replaces the preset's.
"""

__all__ = ["PRESETS", "PAPER_LR_GRID", "PAPER_QUICK_RATES"]

#: The paper's learning-rate grid (Section 3.3).
PAPER_LR_GRID = (10.0, 1.0, 0.1, 0.01, 1e-3, 1e-4, 1e-5)
#: The authors' quick three-rate rejection check, run first.
PAPER_QUICK_RATES = (10.0, 0.01, 1e-5)

_COMMON = dict(
    lr_grid=PAPER_LR_GRID,
    quick_rates=PAPER_QUICK_RATES,
    sweep_min_acc=0.25,
    sweep_gate_acc=0.25,
    min_train_acc=0.40,
    warmup_steps=None,
    hold_steps=0,
    standardize=True,
    augment=False,
    augment_options=None,
    data_options=None,
    repeats=1,
    aggregate="mean",
    seed=0,
    jit=False,
    val_batch_size=1000,
    paired=False,
    semantics="default",
)

#: Named settings. ``default``: MNIST-1D with the 1-D ConvNet, sized by
#: benchmarks/bench_signal.py for signal per second (the main job's). ``quick``: the
#: embedded digits, a small net and a few hundred steps (0.1's default; optimizers tie
#: on it within noise). ``paper``: Section 3.3-3.4 on CIFAR-10. ``authors``: the
#: authors' code (16,000 steps, augmentation, a 40 % second sweep gate, and their update
#: semantics: ``t/W`` warm-up, ``delta`` as ``n ← x − n``, their Nesterov form and
#: momentum cycle; docs/reference_authors.md).
PRESETS = {
    "paper": dict(_COMMON, data="cifar10", base=48, batch_size=128, sweep_steps=800,
                  steps=8000, eval_every=500, stop_after=1000),
    "authors": dict(_COMMON, data="cifar10", base=48, batch_size=128, sweep_steps=800,
                    steps=16000, eval_every=500, stop_after=1000, augment=True,
                    sweep_gate_acc=0.40, semantics="authors"),
    "quick": dict(_COMMON, data="digits", base=8, batch_size=64, sweep_steps=30,
                  steps=300, eval_every=50, stop_after=100),
    "default": dict(_COMMON, data="mnist1d", base=16, batch_size=256, sweep_steps=40,
                    steps=600, eval_every=100, stop_after=200, sweep_min_acc=0.20),
}
