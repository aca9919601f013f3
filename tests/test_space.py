"""The search space: the paper's primitives under their names, and extension."""
import numpy as np
import pytest

import deap_nos as nos
from deap_nos.backend import NumpyBackend


@pytest.fixture
def space():
    return nos.SearchSpace.default()


def test_default_space_has_every_primitive_of_the_paper(space):
    assert len(space.operands) == 20
    assert len(space.names("ops", 1, stateful=False)) == 23
    assert sorted(space.names("ops", 1, stateful=True)) == ["delta", "ema", "running_max"]
    assert len(space.names("ops", 2)) == 10
    assert len(space.schedules) == 14
    assert len(space.names("decay_ops", 1)) == 13
    assert len(space.names("decay_ops", 2)) == 7
    assert space.schedule_name("cosine_increase") == "a4"
    assert space.schedule_name("demon_decay") == "a13"


def test_importing_the_package_does_not_import_tensorflow():
    import subprocess
    import sys
    code = "import sys, deap_nos; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("bad", ["g", "add"])
def test_duplicate_names_are_refused(space, bad):
    with pytest.raises(nos.DuplicateNameError, match=bad):
        space.add_unary(bad, lambda x, B: x)


def test_unknown_names_suggest_the_closest(space):
    with pytest.raises(nos.UnknownNameError, match="Did you mean sqrt_abs"):
        space.op("sqrt_ab")
    with pytest.raises(nos.UnknownNameError):
        space.schedule_name("nope")


def test_operand_requiring_an_unknown_average_is_refused(space):
    with pytest.raises(nos.UnknownNameError, match="moving average"):
        space.add_operand("w_hat", lambda c, B: c.w, requires=("w",))


def test_custom_unary_works_in_parse_compile_and_integrity(space):
    space.add_unary("cube", lambda x, B: x * x * x)
    genome = nos.parse("cube(g)", space)
    program = nos.compile(genome, space=space)
    u, _ = program.direction(np.array([2.0, -1.0]), program.init(np.zeros(2)), np.zeros(2), 0)
    np.testing.assert_allclose(u, [8.0, -1.0])
    assert nos.integrity_check(genome, space).passed


def test_custom_schedule_and_decay_op(space):
    space.add_schedule("half", lambda t, T, B: 0.5 + 0.0 * t, alias="constant_half")
    space.add_decay_unary("cube", lambda x, B: x * x * x)
    decay = nos.parse_decay("cube(constant_half)", space)
    assert str(decay) == "cube(half)"
    assert nos.decay_integrity(decay, space)
    values = nos.integrity.decay_curve(decay, space, total=10)
    np.testing.assert_allclose(values, 0.125)


# Hand-computed schedule values at t = 25, T = 100 (tau = 0.25, rho = 0.5).
SCHEDULE_VALUES = {
    "a1": 0.75, "a2": 0.25, "a3": 0.5 * (1 + np.cos(np.pi / 4)), "a4": 0.5 * (1 - np.cos(np.pi / 4)),
    "a5": 0.5, "a6": 0.5, "a7": 0.5, "a8": 0.5, "a9": 0.5, "a10": 0.5,
    "a11": 0.01 ** 0.25, "a12": 1 - 0.01 ** 0.25,
    "a13": (0.95 * (1 - 26 / 100)) / (0.05 + 0.95 * (1 - 26 / 100)),
    "a14": 0.95 - (0.95 * (1 - 26 / 100)) / (0.05 + 0.95 * (1 - 26 / 100)),
}


@pytest.mark.parametrize("name", sorted(SCHEDULE_VALUES))
def test_schedules_match_hand_computed_values(space, name):
    value = space.schedule(name).fn(25.0, 100.0, NumpyBackend())
    assert value == pytest.approx(SCHEDULE_VALUES[name], abs=1e-12)


def test_restart_schedules_restart_twice(space):
    B = NumpyBackend()
    t = np.arange(100.0)
    a10 = space.schedule("a10").fn(t, 100.0, B)
    assert a10[0] == 0 and a10[50] == 0 and a10[49] == pytest.approx(0.98)


@pytest.mark.parametrize("name", ["sigmoid", "soft_inv", "erf", "erfc", "tanh", "atan",
                                  "bessel_i1e", "square", "sqrt_abs", "softsign", "dtanh",
                                  "dsigmoid", "id"])
def test_decay_unary_ops_are_bounded_by_one_on_the_unit_interval(space, name):
    x = np.linspace(0.0, 1.0, 101)
    y = space.decay_op(name).fn(x, NumpyBackend())
    assert np.all(np.abs(y) <= 1.0 + 1e-12)


def test_unary_values_against_hand_computation(space):
    B = NumpyBackend()
    x = np.array([-2.0, 0.5, 3.0])
    expect = {
        "neg": -x, "log_abs": np.log(np.abs(x) + 1e-7), "sqrt_abs": np.sqrt(np.abs(x)),
        "soft_inv": 1 / (1 + np.abs(x)), "recip": 1 / (x + 1e-7), "relu": [0, 0.5, 3],
        "min0": [-2, 0, 0], "softsign": x / (1 + np.abs(x)),
        "softplus": np.log(1 + np.exp(x)),
        "clip_norm": x / np.sqrt(4 + 0.25 + 9),
    }
    for name, value in expect.items():
        np.testing.assert_allclose(space.op(name).fn(x, B), value, rtol=1e-6, err_msg=name)


def test_binary_values_against_hand_computation(space):
    B = NumpyBackend()
    x, y = np.array([-2.0, 0.5, 3.0]), np.array([1.0, -0.25, 2.0])
    expect = {"div_sqrt1p": x / np.sqrt(1 + y * y), "clip": [-1, 0.25, 2],
              "interp": 0.95 * x + 0.05 * y, "pow_abs": np.abs(x) ** y, "div": x / (y + 1e-7)}
    for name, value in expect.items():
        np.testing.assert_allclose(space.op(name).fn(x, y, B), value, rtol=1e-6, err_msg=name)


def test_dropout_keeps_expectation_and_rate():
    B = NumpyBackend(seed=3)
    x = np.ones(200000)
    y = B.dropout(x, 0.3)
    assert np.mean(y == 0) == pytest.approx(0.3, abs=0.01)
    assert np.mean(y) == pytest.approx(1.0, abs=0.01)
