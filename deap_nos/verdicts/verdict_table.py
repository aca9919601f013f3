"""The verdict's numbers and tables: one optimizer's test scores (:class:`Row`), the
two-sided tests against the reference (:func:`compare_runs`: Welch's t-test and the
Mann–Whitney U test from scipy.stats) and the whole verdict (:class:`Verdict`: its
conclusions, Markdown table, CSV and plots). :mod:`deap_nos.verdicts.heldout` trains the runs.
"""
import csv
import dataclasses
import os

import numpy as np

from deap_nos.errors import NOSError

__all__ = ["ALPHA", "Row", "Verdict", "compare_runs"]

#: Significance level of the plain-language conclusion.
ALPHA = 0.05


@dataclasses.dataclass
class Row:
    """One optimizer's verdict: its per-seed test accuracies and the tests against the
    reference (None for the reference and for failed optimizers)."""

    name: str
    equation: str
    scores: list
    lr: float = None
    failure: str = None
    diff: float = None
    p_welch: float = None
    p_mannwhitney: float = None
    curves: list = None     # the evaluation's training curves, one per seed

    @property
    def mean(self):
        return float(np.mean(self.scores)) if self.scores else float("nan")

    @property
    def std(self):
        return float(np.std(self.scores, ddof=1)) if len(self.scores) > 1 else float("nan")


def compare_runs(scores, reference):
    """``(difference of means, Welch p, Mann–Whitney p)`` of two samples, two-sided.

    Welch's t-test does not assume equal variances; Mann–Whitney U assumes no normality
    (seed 003's protocol). Identical constant samples give p = 1 (no evidence either way).
    """
    from scipy import stats

    a, b = np.asarray(scores, float), np.asarray(reference, float)
    if len(a) < 2 or len(b) < 2:
        raise NOSError("a verdict needs at least 2 seeds per optimizer to test a "
                       "difference; pass seeds >= 2")
    diff = float(a.mean() - b.mean())
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        p_t = 1.0 if diff == 0 else 0.0
    else:
        p_t = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    p_u = float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    return diff, p_t, p_u


@dataclasses.dataclass
class Verdict:
    """All rows of a verdict, and how it was obtained (``settings``)."""

    rows: list
    reference: str
    settings: dict

    def row(self, name):
        """The row called ``name``."""
        for row in self.rows:
            if row.name == name:
                return row
        raise NOSError(f"no optimizer {name!r} in this verdict; known: "
                       f"{', '.join(r.name for r in self.rows)}")

    def conclusion(self, name):
        """One sentence: did ``name`` beat the reference on the test split?"""
        row = self.row(name)
        if row.failure:
            return f"{name} failed in the verdict: {row.failure}"
        if row.diff is None:
            return f"{name} is the reference"
        ref = self.reference
        p = row.p_welch
        detail = (f"{100 * row.mean:.2f} % vs {100 * self.row(ref).mean:.2f} %, "
                  f"difference {100 * row.diff:+.2f} points, Welch p = {p:.3g}, "
                  f"Mann–Whitney p = {row.p_mannwhitney:.3g}, "
                  f"{len(row.scores)} seeds")
        if p < ALPHA and row.diff > 0:
            return f"{name} BEAT {ref} on the test split ({detail})"
        if p < ALPHA and row.diff < 0:
            return f"{name} was WORSE than {ref} on the test split ({detail})"
        return (f"{name} did NOT significantly differ from {ref} on the test split "
                f"({detail})")

    def table(self):
        """A Markdown table: test accuracy mean ± std, difference and p-values."""
        lines = ["| optimizer | test accuracy | best lr | vs " + self.reference +
                 " | Welch p | Mann–Whitney p | equation |",
                 "|---|---|---|---|---|---|---|"]
        for r in self.rows:
            if r.failure:
                lines.append(f"| {r.name} | failed: {r.failure} | | | | | `{r.equation}` |")
                continue
            diff = "reference" if r.diff is None else f"{100 * r.diff:+.2f}"
            pt = "" if r.p_welch is None else f"{r.p_welch:.3g}"
            pu = "" if r.p_mannwhitney is None else f"{r.p_mannwhitney:.3g}"
            lines.append(f"| {r.name} | {100 * r.mean:.2f} ± {100 * r.std:.2f} | "
                         f"{_fmt_lr(r.lr)} | {diff} | {pt} | {pu} | `{r.equation}` |")
        return "\n".join(lines)

    def report(self):
        """The Markdown section a run's report.md carries."""
        s = self.settings
        genomes = [r.name for r in self.rows if r.name not in s.get("baselines", ())]
        lines = ["## Verdict on the held-out test split", "",
                 f"Each optimizer retrained from scratch on train + validation with "
                 f"{s.get('seeds')} paired seeds (preset {s.get('preset')}, "
                 f"{s.get('steps')} steps at its own swept learning rate) and scored by "
                 f"its final accuracy on the test split, which the search never read. "
                 f"Accuracies in %, mean ± std over seeds.", ""]
        lines += [f"- **{self.conclusion(name)}**" for name in genomes]
        lines += ["", self.table()]
        return "\n".join(lines)

    def write(self, folder):
        """Write ``verdict.md``, ``verdict.csv`` (one line per seed), ``verdict.png`` and
        ``verdict_curves.png`` (test accuracy and training loss per step)."""
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "verdict.md"), "w", encoding="utf-8") as stream:
            stream.write(self.report() + "\n")
        with open(os.path.join(folder, "verdict.csv"), "w", encoding="utf-8",
                  newline="") as stream:
            out = csv.writer(stream)
            out.writerow(["optimizer", "seed", "test_accuracy", "lr", "diff_vs_reference",
                          "p_welch", "p_mannwhitney", "failure", "equation"])
            for r in self.rows:
                for k, score in enumerate(r.scores or [float("nan")]):
                    out.writerow([r.name, k, score, r.lr, r.diff, r.p_welch,
                                  r.p_mannwhitney, r.failure or "", r.equation])
        self.plot(os.path.join(folder, "verdict.png"))
        if any(r.curves for r in self.rows):
            from deap_nos.plots import plot_curves
            plot_curves({r.name: {"curves": r.curves, "lr": r.lr} for r in self.rows},
                        os.path.join(folder, "verdict_curves.png"),
                        title="verdict runs (train + validation)", acc_label="test accuracy")

    def plot(self, path):
        """One box per optimizer with its seeds as dots (failed optimizers left out)."""
        from deap_nos.plots import plot_verdict

        return plot_verdict([(r.name, r.scores) for r in self.rows if r.scores],
                            self.reference, path)


def _fmt_lr(lr):
    return "-" if lr is None else f"{lr:g}"


# ------------------------------------------------------------------------- training
