"""Plots are written, and what they draw is the data given."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

import deap_nos as nos  # noqa: E402
from deap_nos import plots  # noqa: E402
from deap_nos.backend import NumpyBackend  # noqa: E402
from deap_nos.schedules import one_cycle  # noqa: E402

OPT6 = "div(decay(qh_v, erfc(erfc(a4))), decay(abs(decay(exp(wd4), dtanh(a4))), dtanh(a8)))"


def test_genome_plot_marks_active_and_inactive_nodes(tmp_path):
    genome = nos.parse(OPT6)
    fig = plots.plot_genome(genome)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "out: div" in texts and "h2: id" in texts            # inactive padding drawn
    assert any("erfc(erfc(a4))" in t for t in texts)          # decay on its edge
    plots.plot_genome(genome, tmp_path / "g.png")
    assert (tmp_path / "g.png").stat().st_size > 5000


def test_decay_plot_draws_each_decay_and_the_base_schedule(tmp_path):
    genome = nos.parse(OPT6)
    fig = plots.plot_decays(genome, total_steps=200, warmup_steps=20)
    lines = fig.axes[0].get_lines()
    assert len(lines) == 1 + 3
    np.testing.assert_allclose(lines[0].get_ydata(),
                               one_cycle(np.arange(200.0), 200, 20, 0, NumpyBackend()))
    labels = [line.get_label() for line in lines[1:]]
    assert any("dtanh(a8)" in label for label in labels)
    plots.plot_decays(genome, 200, path=tmp_path / "d.png")
    assert (tmp_path / "d.png").exists()


def test_schedule_values_vectorised_or_not():
    steps = np.arange(10)
    assert np.allclose(plots.schedule_values(lambda s: 2.0 * s, steps), 2 * steps)
    assert np.allclose(plots.schedule_values(lambda s: float(s) ** 2, steps), steps ** 2)


def test_progress_plot_groups_by_particle_and_tracks_the_best(tmp_path):
    records = [{"fitness": f, "particle": p, "failed": f < 0}
               for f, p in [(0.2, 0), (0.5, 1), (-1.0, 0), (0.4, 1), (0.7, 0)]]
    fig = plots.plot_progress(records, tmp_path / "p.png")
    best = [line for line in fig.axes[0].get_lines() if line.get_label() == "best so far"][0]
    np.testing.assert_allclose(best.get_ydata(), [0.2, 0.5, 0.5, 0.5, 0.7])
    assert {line.get_label() for line in fig.axes[0].get_lines()} >= {"particle 0", "particle 1"}


def test_comparison_plot(tmp_path):
    x = np.arange(1, 6)
    curves = {"particle": (x, x * 0.1, x * 0.01), "regularized": (x, x * 0.12, None)}
    fig = plots.plot_comparison(curves, tmp_path / "c.png")
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["particle", "regularized"]
    assert (tmp_path / "c.png").exists()
