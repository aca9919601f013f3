"""One process evaluating many genomes keeps its memory flat (issue 22).

Each genome traces its own training step. TensorFlow registers the gradient function of
every traced ``tf.custom_gradient`` in a process-wide registry and never drops it; that
function holds the traced graph, so before the fix every evaluation left ≈ 17 graphs
(the k-step loop, its while bodies, the optimizer's per-shape update functions) and
≈ 20 MB behind. The fast tests count live graphs and registry entries (deterministic);
the slow one measures resident memory over 200 evaluations.
"""
import gc
import os
import weakref

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

import deap_nos as nos  # noqa: E402
from deap_nos.evaluator import SurrogateEvaluator  # noqa: E402
from deap_nos.train_loop import release_gradient_functions  # noqa: E402

#: A few steps, one learning rate: an evaluation is mostly its trace (what leaked).
SMALL = dict(base=4, steps=20, sweep_steps=5, eval_every=10, stop_after=1000,
             lr_grid=(0.01,), quick_rates=(), sweep_gate_acc=0.0)
GENOMES = ("AdamSpace", "Opt1", "QHM", "A1", "Sign", "Opt6")


def _registry():
    from tensorflow.python.framework import ops
    return ops._gradient_registry._registry


def _live_graphs():
    from tensorflow.python.framework.func_graph import FuncGraph
    gc.collect()
    return sum(isinstance(o, FuncGraph) for o in gc.get_objects())


def _custom_gradients():
    return sum(name.startswith("CustomGradient-") for name in _registry())


def _traced_with_custom_gradient(factor):
    """A tf.function taking the gradient of a custom-gradient op (as a training step does)."""
    @tf.custom_gradient
    def scale(x):
        return factor * x, lambda dy: factor * dy

    def grad(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = scale(x)
        return tape.gradient(y, x)

    fn = tf.function(grad)
    graph = fn.get_concrete_function(tf.TensorSpec([], tf.float32)).graph
    return fn, graph


def test_release_gradient_functions_frees_the_graph_and_only_its_own():
    kept_fn, kept_graph = _traced_with_custom_gradient(3.0)
    fn, graph = _traced_with_custom_gradient(2.0)
    assert float(fn(tf.constant(1.0))) == 2.0 and float(kept_fn(tf.constant(1.0))) == 3.0
    before = set(_registry())
    assert release_gradient_functions(graph) == 1
    assert len(before - set(_registry())) == 1
    assert release_gradient_functions(graph) == 0          # idempotent
    ref, kept_ref = weakref.ref(graph), weakref.ref(kept_graph)
    del fn, graph, kept_fn, kept_graph
    gc.collect()
    assert ref() is None                # released: the graph goes with its function
    assert kept_ref() is not None       # not released: the registry still holds it


def _xla_functions(factory_options):
    """Functions of the evaluator's traced training step that XLA must compile."""
    from deap_nos.data import digits
    from deap_nos.surrogate import convnet
    from deap_nos.train_loop import TrainLoop, graph_optimizer_factory

    ds = digits()
    model = convnet(4, ds.input_shape, ds.classes)
    opt = graph_optimizer_factory(nos.zoo.genome("Opt1"), learning_rate=0.01, total_steps=20,
                                  warmup_steps=2, hold_steps=0)
    if factory_options:
        opt = nos.keras.GraphOptimizer(opt.genome, learning_rate=0.01, total_steps=20,
                                       **factory_options)
    opt.build(model.trainable_variables)
    loop = TrainLoop(model, opt, tf.constant(ds.x_train[:128]), tf.constant(ds.y_train[:128]),
                     32)
    graph = loop._run.get_concrete_function(tf.TensorSpec([], tf.int32)).graph
    library = graph.as_graph_def().library.function
    return [f.signature.name for f in library
            if "_XlaMustCompile" in f.attr and f.attr["_XlaMustCompile"].b]


def test_the_evaluators_step_compiles_nothing_with_xla():
    """XLA keeps every executable for the life of the process (no eviction): the
    default optimizer of the single path must not ask for a per-genome compile."""
    assert _xla_functions({}) == []
    assert len(_xla_functions({"jit_update": True})) > 0   # what the check would catch


def _adam(genome, learning_rate, total_steps, warmup_steps, hold_steps):
    return keras.optimizers.Adam(learning_rate)


@pytest.mark.parametrize("factory, genomes", [(None, GENOMES), (_adam, GENOMES[:3])],
                         ids=["GraphOptimizer", "keras-Adam"])
def test_evaluations_leave_no_graph_behind(factory, genomes):
    """Live FuncGraphs and custom-gradient registry entries after each evaluation stay at
    their level after the first: before the fix they grew by 17 and 1 per evaluation."""
    evaluate = SurrogateEvaluator.preset("quick", optimizer_factory=factory, **SMALL)
    graphs, entries = [], []
    for name in genomes:
        result = evaluate(nos.zoo.genome(name))
        assert result.info["reason"] is None, result.info["reason"]
        graphs.append(_live_graphs())
        entries.append(_custom_gradients())
    assert graphs == [graphs[0]] * len(genomes), graphs
    assert entries == [entries[0]] * len(genomes), entries


def _rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc (Linux)")
def test_resident_memory_is_flat_over_200_evaluations():
    """200 distinct genomes (the zoo, then random ones) in one process: after a warm-up
    of 50 evaluations, resident memory grows by less than 1 MB per evaluation (a linear
    fit over evaluations 50..200) and by less than 150 MB in all. Before the fix: ≈ 20
    MB per evaluation."""
    import random

    evaluate = SurrogateEvaluator.preset("quick", **SMALL)
    space = nos.space.default_space()
    rng_state = random.getstate()
    random.seed(22)
    genomes = [nos.zoo.genome(name) for name in nos.zoo.names("genome")]
    genomes += [space.random() for _ in range(200 - len(genomes))]
    random.setstate(rng_state)
    rss = []
    for genome in genomes[:200]:
        evaluate(genome)
        gc.collect()
        rss.append(_rss_mb())
    steps = np.arange(50, 200)
    slope = np.polyfit(steps, np.asarray(rss[50:200]), 1)[0]
    growth = max(rss[50:]) - rss[49]
    assert slope < 1.0 and growth < 150, (
        f"RSS {rss[49]:.0f} → {rss[-1]:.0f} MB over evaluations 50..200: "
        f"{slope:.2f} MB per evaluation, {growth:.0f} MB in all")
