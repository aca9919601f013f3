"""``semantics="authors"``: the authors' search code's choices, against numbers computed
by hand here from their formulas (OUStudent/NeuralOptimizerSearch, NeuralOptimizerSearch.py:
``lr_warmup_cosine_decay``, the ``linspace`` momentum cycle, ``deltaChange``, the Nesterov
branch of ``_resource_apply_dense`` and ``sphere``), never from the code under test.
The default semantics is checked the same way, so both stay pinned.
"""
import numpy as np
import pytest

import deap_nos as nos
from deap_nos.errors import NOSError
from deap_nos.integrity import LEARNING_RATES, SHIFT, X0
from deap_nos.schedules import momentum_cycle, one_cycle
from deap_nos.backend import NumpyBackend

B = NumpyBackend()


# ----------------------------------------------------------------- hand formulas
def authors_lr(peak, T, W):
    """Their lr_warmup_cosine_decay, hold 0: peak·t/W, then cosine over T − W."""
    t = np.arange(T, dtype=np.float64)
    cos = 0.5 * peak * (1 + np.cos(np.pi * (t - W) / float(T - W)))
    return np.where(t < W, peak * t / W, cos)


def authors_momentum(T, W, hold=0):
    """Their momentum table: three linspace pieces, ends included."""
    return np.concatenate((np.linspace(0.95, 0.85, W), np.linspace(0.85, 0.85, hold),
                           np.linspace(0.85, 0.95, T - hold - W)))


def default_lr(peak, T, W):
    t = np.arange(T, dtype=np.float64)
    warm = np.minimum((t + 1) / W, 1.0)
    tau = np.clip((t - W) / (T - W), 0.0, 1.0)
    return peak * warm * 0.5 * (1 + np.cos(np.pi * tau))


def default_momentum(T, W):
    t = np.arange(T, dtype=np.float64)
    return 0.95 - 0.1 * np.minimum(t / W, 1.0) + 0.1 * np.clip((t - W) / (T - W), 0, 1)


def sphere_run(lr, m, authors, u_of=lambda g, n: (g, n), sign=1.0):
    """Nesterov on the shifted sphere with u = u_of(g, node state); returns the loss
    their loop returns (before the last update) or ours (after it)."""
    x, b = np.array(X0), np.array(SHIFT)
    mom = np.zeros(5)
    n = np.zeros(5)
    for i in range(len(lr)):
        before = np.sum((x - b) ** 2)
        g = 2 * (x - b)
        u, n = u_of(g, n)
        mom = m[i] * mom - lr[i] * sign * u
        x = x + (mom if authors else m[i] * mom) - lr[i] * sign * u
    return before if authors else np.sum((x - b) ** 2)


def delta_authors(g, n):      # deltaChange: n <- x - n, output n
    n = g - n
    return n, n


def delta_default(g, n):      # x_t - x_{t-1}
    return g - n, g


# ----------------------------------------------------------------- schedules
@pytest.mark.parametrize("T, W", [(35, 6), (20, 1), (50, 7)])
def test_warmup_and_momentum_cycle(T, W):
    t = np.arange(T, dtype=np.float64)
    ours = one_cycle(t, T, W, 0, B, semantics="authors")
    np.testing.assert_allclose(ours, authors_lr(1.0, T, W), rtol=1e-12, atol=1e-15)
    assert ours[0] == 0.0
    np.testing.assert_allclose(momentum_cycle(t, T, W, 0, B, semantics="authors"),
                               authors_momentum(T, W), rtol=1e-12)
    # the default is unchanged: (t+1)/W, and t/W down
    np.testing.assert_allclose(one_cycle(t, T, W, 0, B), default_lr(1.0, T, W), rtol=1e-12)
    np.testing.assert_allclose(momentum_cycle(t, T, W, 0, B), default_momentum(T, W),
                               rtol=1e-12)


def test_momentum_cycle_with_hold():
    T, W, H = 30, 5, 4
    t = np.arange(T, dtype=np.float64)
    np.testing.assert_allclose(momentum_cycle(t, T, W, H, B, semantics="authors"),
                               authors_momentum(T, W, H), rtol=1e-12)


def test_unknown_semantics_is_refused():
    with pytest.raises(NOSError, match="semantics"):
        one_cycle(0.0, 10, 2, 0, B, semantics="paper")
    with pytest.raises(NOSError, match="semantics"):
        nos.integrity_check(nos.parse("g"), semantics="Authors")


# ----------------------------------------------------------------- program
def test_delta_is_an_alternating_sum():
    rng = np.random.default_rng(0)
    gs = rng.normal(size=(6, 4))
    genome = nos.parse("none: delta(g)")
    for semantics, step in (("authors", delta_authors), ("default", delta_default)):
        program = nos.compile(genome, NumpyBackend(batch_axes=0), total_steps=6,
                              semantics=semantics)
        state, n = program.init(gs[0]), np.zeros(4)
        for t, g in enumerate(gs):
            u, state = program.direction(g, state, gs[0], t)
            want, n = step(g, n)
            np.testing.assert_allclose(u, want, rtol=1e-12, err_msg=semantics)
    # x1 - x0 + ... : the third authors' output is g2 - g1 + g0
    program = nos.compile(genome, NumpyBackend(batch_axes=0), semantics="authors")
    state = program.init(gs[0])
    for t in range(3):
        u, state = program.direction(gs[t], state, gs[0], t)
    np.testing.assert_allclose(u, gs[2] - gs[1] + gs[0], rtol=1e-12)


def test_nesterov_update_by_hand():
    T, W, peak = 12, 3, 0.05
    genome = nos.parse("nesterov: g")
    lr, m = authors_lr(peak, T, W), authors_momentum(T, W)
    program = nos.compile(genome, NumpyBackend(batch_axes=0), total_steps=T, warmup_steps=W,
                          semantics="authors")
    assert program.nesterov == "authors"
    rng = np.random.default_rng(1)
    w = rng.normal(size=3)
    state, mom, w_hand = program.init(w), np.zeros(3), w.copy()
    for t in range(T):
        g = 2 * w
        delta, state = program.update(g, state, w, t, peak * program.lr_factor(t))
        w = w + delta
        mom = m[t] * mom - lr[t] * 2 * w_hand
        w_hand = w_hand + mom - lr[t] * 2 * w_hand
        np.testing.assert_allclose(w, w_hand, rtol=1e-12)


# ----------------------------------------------------------------- integrity check
@pytest.mark.parametrize("text, u_of", [("nesterov: g", lambda g, n: (g, n)),
                                        ("nesterov: delta(g)", None)])
def test_integrity_losses_by_hand(text, u_of):
    genome = nos.parse(text)
    T, W = 35, 6
    for semantics, authors in (("authors", True), ("default", False)):
        step = u_of or (delta_authors if authors else delta_default)
        m = authors_momentum(T, W) if authors else default_momentum(T, W)
        want = [sphere_run((authors_lr if authors else default_lr)(lr, T, W), m, authors,
                           step) for lr in LEARNING_RATES]
        result = nos.integrity_check(genome, semantics=semantics, try_flip=False)
        np.testing.assert_allclose(result.losses, want, rtol=1e-9, err_msg=semantics)


def test_the_semantics_can_decide_the_check():
    """delta(g) with Nesterov descends as the authors ran it and fails as we run it."""
    genome = nos.parse("nesterov: delta(g)")
    assert not nos.integrity_check(genome).passed
    assert nos.integrity_check(genome, semantics="authors").passed


def test_authors_check_on_other_spaces_is_refused_by_name():
    from deap_nos import spaces

    genome = spaces.get("termmix").random(screen=False)
    with pytest.raises(NOSError, match="semantics"):
        nos.integrity_check(genome, semantics="authors")


# ----------------------------------------------------------------- Keras optimizer
keras = pytest.importorskip("keras")


def _train(opt, steps, w0):
    w = keras.Variable(np.asarray(w0, np.float32))
    for _ in range(steps):
        opt.apply_gradients([(2.0 * (w - np.float32(0.5)), w)])
    return np.asarray(w)


def test_graph_optimizer_authors_by_hand():
    from deap_nos.keras import GraphOptimizer

    T, W, peak, steps = 20, 4, 0.05, 10
    w0 = np.array([1.1, 0.9, -0.4], np.float64)
    opt = GraphOptimizer("nesterov: delta(g)", learning_rate=peak, total_steps=T,
                         warmup_steps=W, semantics="authors")
    got = _train(opt, steps, w0)
    lr, m = authors_lr(peak, T, W), authors_momentum(T, W)
    w, mom, n = w0.copy(), np.zeros(3), np.zeros(3)
    for t in range(steps):
        u, n = delta_authors(2 * (w - 0.5), n)
        mom = m[t] * mom - lr[t] * u
        w = w + mom - lr[t] * u
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)
    # the default differs on the same run
    default = _train(GraphOptimizer("nesterov: delta(g)", learning_rate=peak, total_steps=T,
                                    warmup_steps=W), steps, w0)
    assert np.max(np.abs(default - got)) > 1e-3


def test_graph_optimizer_config_round_trip():
    from deap_nos.keras import GraphOptimizer

    opt = GraphOptimizer("nesterov: delta(g)", total_steps=20, semantics="authors")
    config = opt.get_config()
    assert config["semantics"] == "authors"
    again = GraphOptimizer.from_config(config)
    assert again.semantics == "authors" and again.program.semantics == "authors"
    old = dict(config)
    del old["semantics"]                      # a model saved before the option
    assert GraphOptimizer.from_config(old).semantics == "default"
    with pytest.raises(NOSError, match="semantics"):
        GraphOptimizer("g", semantics="paper")


# ----------------------------------------------------------------- presets and paths
def test_authors_preset_trains_with_authors_semantics(monkeypatch):
    from deap_nos import evaluator as ev

    assert ev.SurrogateEvaluator.preset("authors").semantics == "authors"
    assert ev.SurrogateEvaluator.preset("authors").settings()["semantics"] == "authors"
    for name in ("paper", "default", "quick"):
        assert ev.SurrogateEvaluator.preset(name).semantics == "default"
    seen = {}

    def spy(genome, **kwargs):
        seen.update(kwargs)
        raise RuntimeError("stop here")

    monkeypatch.setattr(ev, "graph_optimizer_factory", spy)
    result = ev.SurrogateEvaluator.preset("quick", semantics="authors")(nos.parse("g"))
    assert result.info["failed"] and seen["semantics"] == "authors"
    with pytest.raises(NOSError, match="semantics"):
        ev.SurrogateEvaluator.preset("quick", semantics="paper")


def test_population_path_refuses_authors():
    pytest.importorskip("tensorflow")
    from deap_nos.interpreter import Interpreter
    from deap_nos.population import PopulationEvaluator

    with pytest.raises(NOSError, match="single"):
        Interpreter(semantics="authors")
    with pytest.raises(NOSError, match="single"):
        PopulationEvaluator.preset("authors", augment=False)


def test_search_preset_authors_checks_with_authors_semantics():
    from deap_nos.cli import build_parser
    from deap_nos.cli.search import _search_toolbox

    args = build_parser().parse_args(["search", "--preset", "authors", "--workers", "1"])
    toolbox, _, evaluator = _search_toolbox(args)
    assert evaluator.semantics == "authors"
    assert toolbox.individual.keywords["integrity"] == {"semantics": "authors"}
    assert toolbox.mutate.keywords["integrity"] == {"semantics": "authors"}
    args = build_parser().parse_args(["search", "--preset", "quick", "--workers", "1",
                                      "--evaluator", "single"])
    assert _search_toolbox(args)[0].individual.keywords["integrity"] is None


def test_check_command_semantics(capsys):
    from deap_nos.cli import main

    assert main(["check", "nesterov: delta(g)"]) == 1
    assert main(["check", "nesterov: delta(g)", "--semantics", "authors"]) == 0
    assert "passes" in capsys.readouterr().out
