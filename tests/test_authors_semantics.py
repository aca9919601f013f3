"""semantics="authors" (issue 22): the authors' search code's five choices, each against
values computed by hand from their formulas; the default unchanged."""
import numpy as np
import pytest

import deap_nos as nos
from deap_nos import authors
from deap_nos.backend import NumpyBackend
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
    from deap_nos.toolbox import make_toolbox

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


def test_population_interpreter_follows_the_authors_semantics():
    """The batched interpreter with semantics="authors" equals the numpy program with
    the authors' warm-up, over 10 steps of a warm-up and a momentum cycle (with the
    default semantics it does not)."""
    tf = pytest.importorskip("tensorflow")
    from deap_nos.interpreter import Interpreter

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
