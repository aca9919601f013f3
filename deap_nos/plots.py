"""Plots saved as PNG (matplotlib, Agg): genomes, decay functions, schedules, search progress.

Each function draws on a new figure (or the ``ax`` given), saves it when ``path`` is
given, and returns the figure, so that it works in scripts, notebooks and the
``deap-nos plot`` command alike.
"""
import numpy as np

from .backend import NumpyBackend
from .spaces.nos.integrity import decay_curve
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


def _layers(genome):
    """Layer of every drawn node: operands ``"op:NAME"`` 0, a hidden node one more than
    its deepest input, the output node alone in the last layer."""
    depth = {}

    def layer_of(i):
        if i not in depth:
            depth[i] = 1 + max((0 if isinstance(r, str) else layer_of(r)
                                for r in genome.nodes[i].inputs), default=0)
        return depth[i]

    for i in range(len(genome.nodes)):
        layer_of(i)
    others = [d for i, d in depth.items() if i != genome.output]
    depth[genome.output] = max([depth[genome.output]] + [d + 1 for d in others])
    for node in genome.nodes:
        for ref in node.inputs:
            if isinstance(ref, str):
                depth[f"op:{ref}"] = 0
    return depth


def _edges(genome):
    """``(source, target)`` of every input edge, operands as ``"op:NAME"``."""
    return [(f"op:{r}" if isinstance(r, str) else r, i)
            for i, node in enumerate(genome.nodes) for r in node.inputs]


def _ordered_layers(genome):
    """Members of each layer (real nodes and the bends of long edges), ordered by the
    barycentre of their predecessors to keep crossings few."""
    layer = _layers(genome)
    members, preds = {}, {}
    for node, d in sorted(layer.items(), key=lambda item: (item[1], str(item[0]))):
        members.setdefault(d, []).append(node)
    for src, dst in dict.fromkeys(_edges(genome)):
        chain = [src] + [("bend", src, dst, d) for d in range(layer[src] + 1, layer[dst])]
        for d, bend in enumerate(chain[1:], layer[src] + 1):
            members[d].append(bend)
        for a, b in zip(chain, chain[1:] + [dst]):
            preds.setdefault(b, []).append(a)
    for _ in range(2):
        for d in sorted(members)[1:]:
            rank = {n: k for k, n in enumerate(members[d - 1])}
            members[d].sort(key=lambda n: np.mean([rank[p] for p in preds.get(n, [])
                                                   if p in rank] or [len(rank)]))
    return members


#: Vertical distance between neighbours in a layer, and the horizontal run of an edge
#: at each end of a hop (the bend between runs stays clear of every node).
_ROW, _RUN = 0.6, 0.3


def _positions(genome):
    pos = {}
    for d, nodes in _ordered_layers(genome).items():
        for k, node in enumerate(nodes):
            pos[node] = (float(d), _ROW * ((len(nodes) - 1) / 2.0 - k))
    return pos


def genome_layout(genome):
    """Layered positions ``{node: (x, y)}``: operands (``"op:NAME"``) in layer 0, each
    hidden node one layer right of its deepest input, the output last."""
    return {n: xy for n, xy in _positions(genome).items() if not isinstance(n, tuple)}


def edge_paths(genome):
    """``{(source, target): [(x, y), ...]}``: each edge as a polyline that leaves and
    enters a node horizontally and bends between layers, through one bend point per
    layer it skips, so that it never passes through another node."""
    pos, layer = _positions(genome), _layers(genome)
    paths = {}
    for src, dst in dict.fromkeys(_edges(genome)):
        stops = ([pos[src]] + [pos[("bend", src, dst, d)]
                               for d in range(layer[src] + 1, layer[dst])] + [pos[dst]])
        path = [stops[0]]
        for (x0, y0), (x1, y1) in zip(stops, stops[1:]):
            path += [(x0 + _RUN, y0), (x1 - _RUN, y1), (x1, y1)]
        paths[(src, dst)] = path
    return paths


def _node_style(genome, node, active):
    if isinstance(node, str):
        return node[3:], "#cde7f0"
    label = ("out: " if node == genome.output else f"h{node}: ") + genome.nodes[node].op
    if node == genome.output:
        return label, "#f4a261"
    return label, "#90be6d" if node in active else "#dddddd"


def plot_genome(genome, path=None, ax=None, title=None):
    """Draw the update graph in layers: operands left, the output right, active nodes
    filled, inactive ones grey, each decay function written on its edge; edges bend
    between layers and never cross a node."""
    layer = _layers(genome)
    fig, ax = _axes(ax, (max(6.0, 2.2 * (max(layer.values()) + 1)), 5))
    active = set(genome.active_nodes())
    pos = genome_layout(genome)
    for (src, dst), points in edge_paths(genome).items():
        live = dst in active and (isinstance(src, str) or src in active)
        xs, ys = zip(*points)
        ax.plot(xs, ys, "-", color="#333333" if live else "#bbbbbb", lw=1, gid="edge",
                zorder=1)
        ax.annotate("", xy=points[-1], xytext=points[-2], zorder=1,
                    arrowprops=dict(arrowstyle="-|>", color="#333333" if live else "#bbbbbb",
                                    shrinkB=22))
        node = genome.nodes[dst]
        for ref, decay in zip(node.inputs, node.decays):
            if decay is not None and (f"op:{ref}" if isinstance(ref, str) else ref) == src:
                (xa, ya), (xb, yb) = points[-3], points[-2]
                ax.text((xa + xb) / 2, (ya + yb) / 2, f"× {decay}", fontsize=7,
                        ha="center", va="bottom", color="#7b2d26", zorder=3)
    for node, (x, y) in pos.items():
        label, colour = _node_style(genome, node, active)
        ax.text(x, y, label, ha="center", va="center", fontsize=8, zorder=2,
                bbox=dict(boxstyle="round,pad=0.3", fc=colour, ec="#555555"))
    ys = [y for _, y in _positions(genome).values()]       # bends included
    ax.set_xlim(-0.6, max(layer.values()) + 0.6)
    ax.set_ylim(min(ys) - 0.5, max(ys) + 0.5)
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


def plot_progress(records, path=None, ax=None, group="particle", adam=None):
    """Fitness against evaluations: one line per ``group`` value, the best so far, the
    failures (as crosses on the lower edge, counted in the legend) and, given its
    fitness as ``adam``, the Adam baseline as a dashed line.

    ``records`` is a list of dicts with at least ``fitness`` and optionally ``failed`` and
    the ``group`` key (one line per particle for the particle GA).
    """
    fig, ax = _axes(ax)
    xs = np.arange(1, len(records) + 1)
    failed = np.array([bool(r.get("failed")) for r in records], bool)
    fitness = np.array([np.nan if f else r["fitness"] for r, f in zip(records, failed)],
                       float)
    groups = {}
    for x, r, f in zip(xs, records, fitness):
        groups.setdefault(r.get(group), []).append((x, f))
    for key, points in groups.items():
        if key is None or len(groups) > 20:
            continue
        px, pf = zip(*points)
        ax.plot(px, pf, ".", ms=5, alpha=0.7, label=f"{group} {key}")
    if len(groups) > 20 or None in groups:
        kept = np.array([r.get(group) is None or len(groups) > 20 for r in records], bool)
        ax.plot(xs[kept & ~failed], fitness[kept & ~failed], ".", ms=4, alpha=0.5,
                color="#555555", label="evaluation")
    best = np.fmax.accumulate(np.where(np.isnan(fitness), -np.inf, fitness))
    ax.plot(xs, best, "k-", lw=2, label="best so far")
    if adam is not None:
        ax.axhline(adam, color="#d62728", ls="--", lw=1.2, label=f"Adam ({adam:.3f})")
    valid = fitness[~np.isnan(fitness)]
    low = min(valid.min() if valid.size else 0.0, adam if adam is not None else 1.0)
    if failed.any():
        bottom = low - 0.05
        ax.plot(xs[failed], np.full(failed.sum(), bottom), "x", color="#d62728", ms=5,
                label=f"failed ({int(failed.sum())})")
    ax.set_xlabel("evaluations")
    ax.set_ylabel("fitness (failures as × at the bottom)" if failed.any() else "fitness")
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
    """Test accuracy per optimizer: a box per optimizer, its seeds as dots, its mean
    as a diamond; the ``reference`` (Adam) is shaded apart, as the legend says.

    ``samples`` is a list of ``(name, scores)``.
    """
    from matplotlib.patches import Patch
    fig, ax = _axes(ax, size=(max(5, 1.1 * len(samples) + 2), 4))
    names = [name for name, _ in samples]
    data = [np.asarray(scores, float) for _, scores in samples]
    boxes = ax.boxplot(data, patch_artist=True, widths=0.5)
    colours = {True: "#f4c7a1", False: "#c6dbef"}
    for name, patch in zip(names, boxes["boxes"]):
        patch.set_facecolor(colours[name == reference])
    rng = np.random.default_rng(0)
    for i, values in enumerate(data, 1):
        ax.plot(i + rng.uniform(-0.12, 0.12, len(values)), values, "k.", ms=5,
                label="one seed" if i == 1 else "_seed")
    ax.plot(range(1, len(data) + 1), [v.mean() for v in data], "D", color="#d62728",
            ms=5, label="mean")
    ax.set_xticks(range(1, len(names) + 1))
    ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("test accuracy")
    ax.set_title("verdict: retrained on train+val, scored on test")
    handles = [Patch(fc=colours[True], ec="k", label=f"reference ({reference})"),
               Patch(fc=colours[False], ec="k", label="compared optimizer")]
    seeds = [line for line in ax.get_lines() if line.get_label() in ("one seed", "mean")]
    ax.legend(handles=handles + seeds, fontsize=7, loc="best")
    return _finish(fig, path)


def _runs_at_chosen_rate(info):
    """The training curves of an evaluation's info at its chosen learning rate (a
    sweep evaluator such as ``cheap`` keeps one curve per rate, marked ``lr``)."""
    curves = [c for c in (info.get("curves") or []) if c.get("step")]
    chosen = [c for c in curves if "lr" in c and c["lr"] == info.get("lr")]
    return chosen or [c for c in curves if "lr" not in c]


def _mean_curve(runs, key):
    """Mean of ``key`` over runs, on the steps every run reached."""
    n = min(len(r["step"]) for r in runs)
    return (np.asarray(runs[0]["step"][:n], float),
            np.mean([np.asarray(r[key][:n], float) for r in runs], axis=0))


def plot_curves(entries, path=None, title="training curves",
                acc_label="validation accuracy"):
    """Validation accuracy and training loss against the training step, one line per
    optimizer (the mean of its runs, at the learning rate its evaluation chose).

    ``entries`` maps a label (``"#1"``, ``"Adam"``) to an evaluation's ``info`` with
    ``"curves"`` (dicts of ``step``, ``train_loss``, ``val_acc``, …) and ``"lr"``.
    Optimizers without curves are left out. ``acc_label`` names what ``val_acc``
    measured (the verdict's runs score the test split).
    """
    plt = _pyplot()
    fig, (acc, loss) = plt.subplots(1, 2, figsize=(11, 4))
    for label, info in entries.items():
        runs = _runs_at_chosen_rate(info or {})
        if not runs:
            continue
        parts = ([f"lr {info['lr']:g}"] if info.get("lr") is not None else []) + (
            [f"mean of {len(runs)}"] if len(runs) > 1 else [])
        name = label + (f" ({', '.join(parts)})" if parts else "")
        for ax, key in ((acc, "val_acc"), (loss, "train_loss")):
            if all(r.get(key) for r in runs):
                ax.plot(*_mean_curve(runs, key), "-", marker=".", label=name)
    acc.set_ylabel(acc_label)
    loss.set_ylabel("training loss")
    for ax in (acc, loss):
        ax.set_xlabel("training step")
        if ax.get_lines():
            ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return _finish(fig, path)
