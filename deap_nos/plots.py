"""Plots saved as PNG (matplotlib, Agg): genomes, decay functions, schedules, search progress.

Each function draws on a new figure (or the ``ax`` given), saves it when ``path`` is
given, and returns the figure, so that it works in scripts, notebooks and the
``deap-nos plot`` command alike.
"""
import numpy as np

from .backend import NumpyBackend
from .integrity import decay_curve
from .schedules import one_cycle


def _pyplot():
    import matplotlib
    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _finish(fig, path):
    if path is not None:
        fig.savefig(path, dpi=110, bbox_inches="tight")
        _pyplot().close(fig)
    return fig


def _axes(ax, size=(7, 4)):
    plt = _pyplot()
    if ax is not None:
        return ax.figure, ax
    return plt.subplots(figsize=size)


def genome_layout(genome):
    """Positions for operands (left), hidden nodes by depth, and the output (right)."""
    import networkx as nx
    graph = genome.digraph()
    depth = {}
    for node in nx.topological_sort(graph):
        preds = list(graph.predecessors(node))
        depth[node] = 1 + max((depth[p] for p in preds), default=0)
    depth[genome.output] = max(depth.values()) + 1
    operands = sorted({r for n in genome.nodes for r in n.inputs if isinstance(r, str)})
    pos = {f"op:{name}": (0.0, -k) for k, name in enumerate(operands)}
    columns = {}
    for node, d in sorted(depth.items()):
        columns.setdefault(d, []).append(node)
    for d, members in columns.items():
        for k, node in enumerate(members):
            pos[node] = (float(d), -k - 0.5 * (len(operands) - len(members)) / 2)
    return pos


def plot_genome(genome, path=None, ax=None, title=None):
    """Draw the update graph: active nodes filled, inactive ones grey, decays on edges."""
    import networkx as nx
    fig, ax = _axes(ax, (9, 5))
    graph = nx.DiGraph()
    active = set(genome.active_nodes())
    pos = genome_layout(genome)
    labels, colors, edge_labels = {}, [], {}
    for i, node in enumerate(genome.nodes):
        graph.add_node(i)
        labels[i] = ("out: " if i == genome.output else f"h{i}: ") + node.op
        for ref, decay in zip(node.inputs, node.decays):
            src = f"op:{ref}" if isinstance(ref, str) else ref
            if isinstance(ref, str):
                graph.add_node(src)
                labels[src] = ref
            graph.add_edge(src, i)
            if decay is not None:
                edge_labels[(src, i)] = f"× {decay}"
    for n in graph.nodes:
        if isinstance(n, str):
            colors.append("#cde7f0")
        elif n == genome.output:
            colors.append("#f4a261")
        else:
            colors.append("#90be6d" if n in active else "#dddddd")
    edge_colors = ["#333333" if (isinstance(v, int) and v in active and
                                 (isinstance(u, str) or u in active)) else "#bbbbbb"
                   for u, v in graph.edges]
    nx.draw_networkx(graph, pos, ax=ax, labels=labels, node_color=colors, node_size=1600,
                     font_size=8, edge_color=edge_colors, arrows=True)
    if edge_labels:
        nx.draw_networkx_edge_labels(graph, pos, edge_labels=edge_labels, ax=ax, font_size=7)
    ax.set_title(title or str(genome), fontsize=9)
    ax.axis("off")
    return _finish(fig, path)


def plot_decays(genome, total_steps=8000, warmup_steps=None, path=None, ax=None, space=None):
    """Every active decay function over training, with the base one-cycle schedule.

    As in the paper's Figures 3–6: the x-axis is the training step, the dashed line the
    base learning-rate schedule.
    """
    fig, ax = _axes(ax)
    warmup = int(0.1 * total_steps) if warmup_steps is None else warmup_steps
    t = np.arange(total_steps, dtype=np.float64)
    ax.plot(t, one_cycle(t, total_steps, warmup, 0, NumpyBackend()), "k--", lw=1,
            label="base one-cycle schedule")
    for index, position, decay in genome.decays():
        values = decay_curve(decay, space, total=total_steps)
        ax.plot(t, values, label=f"node {index} input {position}: {decay}")
    ax.set_xlabel("training step")
    ax.set_ylabel("multiplier")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=7)
    ax.set_title(f"decay functions of {genome}", fontsize=8)
    return _finish(fig, path)


def plot_schedules(schedules, total_steps, path=None, ax=None, base=None):
    """Learning-rate schedules over training.

    ``schedules`` maps a label to a callable of the step (a Keras
    ``LearningRateSchedule`` works); ``base`` is an optional reference callable.
    """
    fig, ax = _axes(ax)
    steps = np.arange(total_steps)
    if base is not None:
        ax.plot(steps, schedule_values(base, steps), "k--", lw=1, label="base")
    for label, schedule in schedules.items():
        ax.plot(steps, schedule_values(schedule, steps), label=label)
    ax.set_xlabel("training step")
    ax.set_ylabel("learning rate")
    ax.legend(fontsize=7)
    return _finish(fig, path)


def schedule_values(schedule, steps):
    """``schedule`` at every step: one vectorised call when it accepts an array (Keras
    schedules do), else one call per step."""
    try:
        values = np.asarray(schedule(np.asarray(steps)), dtype=np.float64)
        if values.shape == np.shape(steps):
            return values
    except (TypeError, ValueError):
        pass
    return np.array([float(schedule(s)) for s in steps])


def plot_progress(records, path=None, ax=None, group="particle"):
    """Fitness against evaluations: one line per ``group`` value, plus the best so far.

    ``records`` is a list of dicts with at least ``fitness`` and optionally ``failed`` and
    the ``group`` key (one line per particle for the particle GA).
    """
    fig, ax = _axes(ax)
    xs = np.arange(1, len(records) + 1)
    fitness = np.array([np.nan if r.get("failed") else r["fitness"] for r in records], float)
    groups = {}
    for x, r, f in zip(xs, records, fitness):
        groups.setdefault(r.get(group), []).append((x, f))
    for key, points in groups.items():
        if key is None or len(groups) > 20:
            continue
        px, pf = zip(*points)
        ax.plot(px, pf, ".", ms=5, alpha=0.7, label=f"{group} {key}")
    best = np.fmax.accumulate(np.where(np.isnan(fitness), -np.inf, fitness))
    ax.plot(xs, best, "k-", lw=2, label="best so far")
    ax.set_xlabel("evaluations")
    ax.set_ylabel("fitness (failures not shown)")
    ax.legend(fontsize=7)
    return _finish(fig, path)


def plot_comparison(curves, path=None, ax=None, title="best fitness against evaluations"):
    """Best-so-far curves, e.g. particle GA vs regularized evolution.

    ``curves`` maps a label to ``(evaluations, mean, std)`` arrays (std may be None).
    """
    fig, ax = _axes(ax)
    for label, (x, mean, std) in curves.items():
        ax.plot(x, mean, label=label)
        if std is not None:
            ax.fill_between(x, np.asarray(mean) - std, np.asarray(mean) + std, alpha=0.2)
    ax.set_xlabel("evaluations")
    ax.set_ylabel("best fitness")
    ax.set_title(title)
    ax.legend()
    return _finish(fig, path)


def plot_verdict(samples, reference=None, path=None, ax=None):
    """Test accuracy per optimizer: a box per optimizer, its seeds as dots.

    ``samples`` is a list of ``(name, scores)``; the ``reference`` (Adam) is shaded.
    """
    fig, ax = _axes(ax, size=(max(5, 1.1 * len(samples) + 2), 4))
    names = [name for name, _ in samples]
    data = [np.asarray(scores, float) for _, scores in samples]
    boxes = ax.boxplot(data, patch_artist=True, widths=0.5)
    for name, patch in zip(names, boxes["boxes"]):
        patch.set_facecolor("#f4c7a1" if name == reference else "#c6dbef")
    rng = np.random.default_rng(0)
    for i, values in enumerate(data, 1):
        ax.plot(i + rng.uniform(-0.12, 0.12, len(values)), values, "k.", ms=5)
    ax.set_xticks(range(1, len(names) + 1))
    ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("test accuracy")
    ax.set_title("verdict: retrained on train+val, scored on test")
    return _finish(fig, path)
