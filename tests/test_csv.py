"""CSV files are written with the csv module: a comma (or a quote) in a genome's text,
a failure reason or a name survives a round trip through ``csv.reader``."""
import csv

import pytest

from deap_nos.cli import commands, main
from deap_nos.evaluation import Evaluation


class FakeEvaluator:
    """Stands in for a trained evaluation: fixed runs, or a failure with a comma."""

    def __call__(self, subject):
        if "softsign" in str(subject):
            return Evaluation.failure('diverged: loss "nan", step 3', "train")
        return Evaluation((0.9,), {"runs": [0.9, 0.8], "lr": 0.1})


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))


def test_comparison_csv_round_trips_commas_and_quotes(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(commands, "make_evaluator", lambda args, **kw: FakeEvaluator())
    out = tmp_path / "cmp"
    specs = ["div(v_hat, sqrt_abs(s_hat))", "mul(softsign(g), one)"]
    assert main(["compare", *specs, "--preset", "quick", "--quiet", "--out", str(out)]) == 0
    rows = read_rows(out / "comparison.csv")
    assert rows[0] == ["optimizer", "mean", "std", "lr", "failure"]
    assert [r[0] for r in rows[1:]] == specs          # one field each, commas kept
    assert all(len(r) == 5 for r in rows)
    assert float(rows[1][1]) == pytest.approx(0.85) and float(rows[1][3]) == 0.1
    assert rows[2][4] == 'diverged: loss "nan", step 3'


def test_write_csv_writes_what_csv_reader_reads_back(tmp_path):
    from deap_nos.cli.report import write_csv
    path = tmp_path / "x.csv"
    write_csv(path, ["a", "b"], [["x, y", 1.5], ['say "hi"', None]])
    assert read_rows(path) == [["a", "b"], ["x, y", "1.5"], ['say "hi"', ""]]


def test_verdict_csv_and_curves_from_hand_built_rows(tmp_path):
    from deap_nos.verdicts.heldout import Row, Verdict
    curve = {"step": [10, 20], "train_loss": [2.0, 1.0], "train_acc": [0.4, 0.6],
             "val_acc": [0.5, 0.7]}
    rows = [Row("#1", "div(v_hat, sqrt_abs(s_hat))", [0.7, 0.72], 0.1, diff=0.01,
                p_welch=0.5, p_mannwhitney=0.6, curves=[curve, curve]),
            Row("keras:adam", "keras adam", [0.69, 0.71], 0.01, curves=[curve, curve]),
            Row("#2", "mul(g, one)", [], None, failure="diverged, at lr 10")]
    Verdict(rows, "keras:adam", {"seeds": 2, "baselines": ("keras:adam",)}).write(tmp_path)
    table = read_rows(tmp_path / "verdict.csv")
    assert all(len(line) == len(table[0]) == 9 for line in table)
    assert table[1][-1] == "div(v_hat, sqrt_abs(s_hat))" and table[1][3] == "0.1"
    assert table[-1][7] == "diverged, at lr 10" and table[-1][3] == ""
    assert (tmp_path / "verdict_curves.png").stat().st_size > 5000
