"""Configuration errors are refused where they are made, never swallowed as candidate
failures; NOSError is no ValueError (only the errors about a genome's value are)."""
import pytest

import deap_nos as nos
from deap_nos.errors import (ArityError, ConfigurationError, CyclicGraphError, DataError,
                             GenomeError, NOSError, ParseError, UnknownNameError)


def test_nos_error_is_not_a_value_error():
    assert not issubclass(NOSError, ValueError)
    assert not issubclass(ConfigurationError, ValueError)
    assert not issubclass(DataError, ValueError)
    assert issubclass(ConfigurationError, NOSError)


def test_errors_about_a_genomes_value_stay_value_errors():
    for cls in (ArityError, ParseError, CyclicGraphError, GenomeError):
        assert issubclass(cls, NOSError) and issubclass(cls, ValueError)
    assert issubclass(UnknownNameError, KeyError)
    with pytest.raises(ValueError):
        nos.parse("div(v_hat")


@pytest.mark.parametrize("space", ["paper", 3, object()])
def test_digits_evaluator_refuses_a_non_space_at_construction(space):
    from deap_nos.evaluation.cheap import DigitsEvaluator
    with pytest.raises(NOSError, match="space"):
        DigitsEvaluator(space=space)


def test_digits_evaluator_accepts_a_space_and_its_registered_name():
    from deap_nos.evaluation.cheap import DigitsEvaluator
    from deap_nos.spaces.nos.space import SearchSpace
    genome = nos.parse("div(v_hat, sqrt_abs(s_hat))")
    by_name = DigitsEvaluator(space="nos", steps=40, eval_every=20)
    by_object = DigitsEvaluator(space=SearchSpace.default(), steps=40, eval_every=20)
    assert by_name(genome)[0] == by_object(genome)[0] > 0.2
    assert not by_name(genome).failed


@pytest.mark.parametrize("space", ["paper", 3])
def test_surrogate_evaluator_refuses_a_non_space_at_construction(space):
    from deap_nos.evaluation.evaluator import SurrogateEvaluator
    with pytest.raises(ConfigurationError, match="space"):
        SurrogateEvaluator.preset("quick", space=space)
