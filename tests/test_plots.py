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


# ---------------------------------------------------------- plots for a paper
def _segment_distance(p, a, b):
    p, a, b = map(np.asarray, (p, a, b))
    ab = b - a
    s = np.clip(np.dot(p - a, ab) / max(np.dot(ab, ab), 1e-12), 0.0, 1.0)
    return float(np.linalg.norm(p - (a + s * ab)))


def test_genome_layout_is_layered_and_no_edge_passes_through_a_node():
    # g and v_hat feed nodes at several depths: long edges must bend around nodes
    for text in (OPT6, "add(g, mul(g, tanh(add(v_hat, sqrt_abs(g)))))",
                 "nesterov: bessel_i1e(bessel_i1e(decay(g, mul(a13, a2))))"):
        genome = nos.parse(text)
        pos, paths = plots.genome_layout(genome), plots.edge_paths(genome)
        for (src, dst), path in paths.items():
            assert path[0] == pos[src] and path[-1] == pos[dst]
            xs = [x for x, _ in path]
            stops = [x for x in xs if float(x).is_integer()]
            assert xs == sorted(xs) and np.allclose(np.diff(stops), 1.0)  # layer by layer
            for node, centre in pos.items():
                if node in (src, dst):
                    continue
                for a, b in zip(path[:-1], path[1:]):
                    assert _segment_distance(centre, a, b) > 0.2, (text, src, dst, node)


def test_genome_plot_draws_the_layered_edges():
    genome = nos.parse("add(g, mul(g, tanh(add(v_hat, sqrt_abs(g)))))")
    fig = plots.plot_genome(genome)
    drawn = {tuple(map(tuple, np.column_stack(line.get_data())))
             for line in fig.axes[0].get_lines() if line.get_gid() == "edge"}
    expected = {tuple(path) for path in plots.edge_paths(genome).values()}
    assert drawn == expected


def test_progress_plot_shows_adam_and_failures():
    records = [{"fitness": f, "particle": p, "failed": f < 0}
               for f, p in [(0.2, 0), (0.5, 1), (-1.0, 0), (0.4, 1), (-1.0, 1)]]
    fig = plots.plot_progress(records, adam=0.45)
    ax = fig.axes[0]
    adam = [line for line in ax.get_lines() if line.get_label().startswith("Adam")][0]
    assert np.allclose(adam.get_ydata(), 0.45) and "0.450" in adam.get_label()
    failed = [line for line in ax.get_lines() if line.get_label().startswith("failed")][0]
    assert list(failed.get_xdata()) == [3, 5] and failed.get_label() == "failed (2)"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "failed (2)" in legend and any(t.startswith("Adam") for t in legend)


def test_verdict_plot_has_a_legend_naming_the_reference():
    fig = plots.plot_verdict([("#1", [0.9, 0.91]), ("keras:adam", [0.89, 0.9])],
                             reference="keras:adam")
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["reference (keras:adam)", "compared optimizer", "one seed", "mean"]
    means = [line for line in ax.get_lines() if line.get_label() == "mean"][0]
    np.testing.assert_allclose(means.get_ydata(), [0.905, 0.895])


def test_training_curves_plot_the_runs_at_the_chosen_rate(tmp_path):
    info = {"lr": 0.1, "curves": [
        {"lr": 1.0, "step": [10, 20], "train_loss": [9.0, 9.0], "val_acc": [0.1, 0.1]},
        {"lr": 0.1, "step": [10, 20], "train_loss": [2.0, 1.0], "val_acc": [0.5, 0.7]}]}
    adam = {"lr": 0.01, "curves": [
        {"step": [10, 20], "train_loss": [2.5, 1.5], "train_acc": [0.3, 0.5],
         "val_acc": [0.4, 0.6]},
        {"step": [10, 20], "train_loss": [2.3, 1.3], "train_acc": [0.3, 0.6],
         "val_acc": [0.4, 0.8]}]}
    fig = plots.plot_curves({"#1": info, "Adam": adam}, tmp_path / "curves.png")
    acc, loss = fig.axes
    assert acc.get_ylabel() == "validation accuracy" and loss.get_ylabel() == "training loss"
    lines = {line.get_label(): line for line in acc.get_lines()}
    np.testing.assert_allclose(lines["#1 (lr 0.1)"].get_ydata(), [0.5, 0.7])
    np.testing.assert_allclose(lines["Adam (lr 0.01, mean of 2)"].get_ydata(), [0.4, 0.7])
    losses = {line.get_label(): line for line in loss.get_lines()}
    np.testing.assert_allclose(losses["Adam (lr 0.01, mean of 2)"].get_ydata(), [2.4, 1.4])
    assert (tmp_path / "curves.png").stat().st_size > 5000
