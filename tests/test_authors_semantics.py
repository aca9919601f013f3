"""semantics="authors" (issue 22): the authors' search code's five choices, each against
values computed by hand from their formulas; the default unchanged.

The second half checks every choice against numpy loops written here from the authors'
code (OUStudent/NeuralOptimizerSearch, NeuralOptimizerSearch.py: ``lr_warmup_cosine_decay``,
the ``linspace`` momentum table, ``deltaChange``, the Nesterov branch of
``_resource_apply_dense``, ``sphere``), and the paths the option travels: the Keras
optimizer on a run, the ``authors`` preset, the CLI search and check, and the population
path's refusal."""
import numpy as np
import pytest

import deap_nos as nos
from deap_nos import authors
from deap_nos.backend import NumpyBackend
from deap_nos.errors import NOSError
from deap_nos.spaces.nos.integrity import LEARNING_RATES, SHIFT, X0
from deap_nos.schedules import momentum_cycle, one_cycle

B = NumpyBackend()


def test_warmup_rate_is_t_over_w_so_step_zero_is_zero():
    t = np.arange(10.0)
    ours = authors.one_cycle(t, 10, 4, 0, B)
    np.testing.assert_allclose(ours[:4], [0.0, 0.25, 0.5, 0.75])
    tau = np.arange(6.0) / 6.0           # after the warm-up: the same cosine as ours
    np.testing.assert_allclose(ours[4:], 0.5 * (1 + np.cos(np.pi * tau)))
    np.testing.assert_allclose(one_cycle(t, 10, 4, 0, B)[:4], [0.25, 0.5, 0.75, 1.0])


def test_momentum_cycle_is_two_linspaces_with_their_ends():
    t = np.arange(10.0)
    expected = np.concatenate([np.linspace(0.95, 0.85, 4), np.linspace(0.85, 0.95, 6)])
    np.testing.assert_allclose(authors.momentum_cycle(t, 10, 4, 0, B), expected)
    assert not np.allclose(momentum_cycle(t, 10, 4, 0, B), expected)   # ours differs


def _directions(text, grads, **options):
    program = nos.compile(nos.parse(text), total_steps=10, warmup_steps=2, **options)
    state = program.init(np.zeros(1))
    out = []
    for t, g in enumerate(grads):
        u, state = program.direction(np.array([g]), state, np.zeros(1), t)
        out.append(float(u[0]))
    return out


def test_delta_stores_x_minus_n():
    grads = [1.0, 2.0, 5.0, 3.0]
    # n <- x - n: 1, 2-1=1, 5-1=4, 3-4=-1 ; ours: the difference x_t - x_{t-1}
    assert _directions("none: delta(g)", grads, semantics="authors") == [1.0, 1.0, 4.0, -1.0]
    assert _directions("none: delta(g)", grads) == [1.0, 1.0, 3.0, -2.0]


def test_nesterov_form():
    def deltas(semantics):
        program = nos.compile(nos.parse("nesterov: g"), total_steps=10,
                              momentum_schedule=0.5, semantics=semantics)
        state, out = program.init(np.zeros(1)), []
        for t in range(2):
            delta, state = program.update(np.ones(1), state, np.zeros(1), t, 0.1)
            out.append(float(delta[0]))
        return out
    # mu0 = -0.1, mu1 = 0.5*(-0.1) - 0.1 = -0.15
    np.testing.assert_allclose(deltas("authors"), [-0.1 - 0.1, -0.15 - 0.1])     # mu - lr u
    np.testing.assert_allclose(deltas("default"), [0.5 * -0.1 - 0.1, 0.5 * -0.15 - 0.1])


def _sgd_losses(steps, warmup, lr, authors_rule):
    """SGD on the shifted sphere by hand; the authors compare the loss before the last
    update, with the rate t/W during warm-up."""
    x = np.asarray(nos.integrity.X0, dtype=float)
    b = np.asarray(nos.integrity.SHIFT, dtype=float)
    loss = None
    for t in range(steps):
        warm = min((t if authors_rule else t + 1) / warmup, 1.0)
        tau = min(max(t - warmup, 0) / (steps - warmup), 1.0)
        rate = lr * warm * 0.5 * (1 + np.cos(np.pi * tau))
        loss = np.sum((x - b) ** 2)
        x = x - rate * 2 * (x - b)
    return loss if authors_rule else np.sum((x - b) ** 2)


@pytest.mark.parametrize("semantics", ["authors", "default"])
def test_integrity_check_losses_by_hand(semantics):
    result = nos.integrity_check(nos.parse("none: g"), lrs=(0.1, 0.01), try_flip=False,
                                 semantics=semantics)
    expected = [_sgd_losses(35, 6, lr, semantics == "authors") for lr in (0.1, 0.01)]
    np.testing.assert_allclose(result.losses, expected, rtol=1e-12)
    assert result.passed


def test_unknown_semantics_is_a_clear_error():
    with pytest.raises(nos.NOSError, match="authors"):
        nos.integrity_check(nos.parse("none: g"), semantics="theirs")


def test_graph_optimizer_authors_warmup_and_config():
    pytest.importorskip("tensorflow")
    from deap_nos.keras import GraphOptimizer

    opt = GraphOptimizer("nesterov: delta(g)", learning_rate=1.0, total_steps=10,
                         warmup_steps=4, semantics="authors")
    rates = [float(opt.scheduled_learning_rate(step=float(t))) for t in range(4)]
    np.testing.assert_allclose(rates, [0.0, 0.25, 0.5, 0.75], atol=1e-7)
    assert opt.program.nesterov == "authors" and opt.program.semantics == "authors"
    again = GraphOptimizer.from_config(opt.get_config())
    assert again.semantics == "authors"


def test_toolbox_screens_with_the_authors_check(monkeypatch):
    """make_toolbox(integrity=...) reaches the check of initGraph and mutGraph."""
    import random

    from deap_nos import variation
    from deap_nos.spaces.nos.toolbox import make_toolbox

    seen = []
    real = variation.integrity_check

    def spy(genome, space=None, **options):
        seen.append(options.get("semantics"))
        return real(genome, space, **options)

    monkeypatch.setattr(variation, "integrity_check", spy)
    random.seed(1)
    toolbox = make_toolbox(nos.SearchSpace.default(), len, integrity={"semantics": "authors"})
    child, = toolbox.mutate(toolbox.individual())
    assert seen and set(seen) == {"authors"}


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
    ours = authors.one_cycle(t, T, W, 0, B)
    np.testing.assert_allclose(ours, authors_lr(1.0, T, W), rtol=1e-12, atol=1e-15)
    assert ours[0] == 0.0
    np.testing.assert_allclose(authors.momentum_cycle(t, T, W, 0, B),
                               authors_momentum(T, W), rtol=1e-12)
    # the default is unchanged: (t+1)/W, and t/W down
    np.testing.assert_allclose(one_cycle(t, T, W, 0, B), default_lr(1.0, T, W), rtol=1e-12)
    np.testing.assert_allclose(momentum_cycle(t, T, W, 0, B), default_momentum(T, W),
                               rtol=1e-12)


def test_momentum_cycle_with_hold():
    T, W, H = 30, 5, 4
    t = np.arange(T, dtype=np.float64)
    np.testing.assert_allclose(authors.momentum_cycle(t, T, W, H, B),
                               authors_momentum(T, W, H), rtol=1e-12)


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
        delta, state = program.update(g, state, w, t, lr[t])
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
def _train(opt, steps, w0):
    import keras

    w = keras.Variable(np.asarray(w0, np.float32))
    for _ in range(steps):
        opt.apply_gradients([(2.0 * (w - np.float32(0.5)), w)])
    return np.asarray(w)


def test_graph_optimizer_authors_by_hand():
    pytest.importorskip("tensorflow")
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
    pytest.importorskip("tensorflow")
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


def test_population_evaluator_hands_the_semantics_to_its_interpreter():
    from deap_nos.evaluation.population import PopulationEvaluator

    ev = PopulationEvaluator.preset("quick", semantics="authors", slots=1)
    assert ev._build_options() == {"semantics": "authors"}
    assert PopulationEvaluator.preset("quick", slots=1)._build_options() == {}
    with pytest.raises(NOSError, match="augment"):
        PopulationEvaluator.preset("authors")          # it augments: the single path


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


def test_population_interpreter_follows_the_authors_semantics():
    """The batched interpreter with semantics="authors" equals the numpy program with
    the authors' warm-up, over 10 steps of a warm-up and a momentum cycle (with the
    default semantics it does not)."""
    tf = pytest.importorskip("tensorflow")
    from deap_nos.backends.tensorflow.interpreter import Interpreter

    texts = ["nesterov: delta(g)", "momentum: add(delta(g), v_hat)", "none: delta(g)"]
    genomes = [nos.parse(t) for t in texts]
    total, warmup, p = 10, 4, 3
    grads = np.random.default_rng(0).normal(size=(total, p))
    interp = Interpreter(total_steps=total, warmup_steps=warmup, semantics="authors")
    codes = {k: tf.constant(v) for k, v in interp.encode_batch(genomes).items()}
    k, state, deltas = len(genomes), interp.init(len(genomes), p), []
    for t in range(total):
        g = tf.constant(np.tile(grads[t], (k, 1)), tf.float32)
        delta, state = interp.update(codes, g, tf.zeros_like(g), state,
                                     tf.fill([k], float(t)), tf.fill([k], 0.1))
        deltas.append(delta.numpy())
    for i, genome in enumerate(genomes):
        program = nos.compile(genome, total_steps=total, warmup_steps=warmup,
                              semantics="authors")
        genome_state = program.init(np.zeros(p))
        for t in range(total):
            rate = 0.1 * authors.one_cycle(float(t), total, warmup, 0, B)
            expected, genome_state = program.update(grads[t], genome_state, np.zeros(p),
                                                    t, rate)
            np.testing.assert_allclose(deltas[t][i], expected, rtol=1e-4, atol=1e-6,
                                       err_msg=f"{genome} step {t}")
