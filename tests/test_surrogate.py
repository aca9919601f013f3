"""Tests of deap_nos.backends.tensorflow.surrogate: the ConvNet's architecture and parameter counts."""
import numpy as np
import pytest

from deap_nos import surrogate
from deap_nos.errors import NOSError


def test_base48_has_the_papers_212266_parameters():
    model = surrogate.convnet(48, input_shape=(32, 32, 3), classes=10)
    assert model.count_params() == 212_266
    assert surrogate.convnet_params(48) == 212_266


@pytest.mark.parametrize("base", [64, 96, 128])
def test_other_bases_match_the_papers_figures(base):
    # The paper truncates to thousands: 375,178 → 0.375M, 1,487,626 → 1.487M.
    count = surrogate.convnet(base).count_params()
    assert count == surrogate.convnet_params(base)
    assert count // 1000 == surrogate.PAPER_PARAMS[base] // 1000


def test_layout_and_output():
    model = surrogate.convnet(4, input_shape=(8, 8, 1), classes=10)
    convs = [layer for layer in model.layers if layer.__class__.__name__ == "Conv2D"]
    assert [c.filters for c in convs] == [4, 8, 16]
    assert [c.strides for c in convs] == [(1, 1), (2, 2), (2, 2)]
    assert all(c.use_bias and c.padding == "same" for c in convs)
    assert model.count_params() == surrogate.convnet_params(4, (8, 8, 1))
    probs = np.asarray(model(np.zeros((3, 8, 8, 1), np.float32)))
    assert probs.shape == (3, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    dropout = [layer for layer in model.layers if layer.__class__.__name__ == "Dropout"]
    assert len(dropout) == 1 and dropout[0].rate == 0.2


def test_bad_base_is_an_error():
    with pytest.raises(NOSError):
        surrogate.convnet(0)


def test_signals_get_the_one_dimensional_convnet():
    import keras

    from deap_nos.backends.tensorflow.surrogate import convnet, convnet_params

    model = convnet(16, (40, 1), 10)
    kinds = {type(layer).__name__ for layer in model.layers}
    assert "Conv1D" in kinds and "Conv2D" not in kinds
    assert model.count_params() == convnet_params(16, (40, 1), 10)
    # 3 taps instead of 9: conv1 = 3·1·16 + 16 weights
    assert model.get_layer("conv1").count_params() == 3 * 16 + 16
    out = model(keras.ops.zeros((2, 40, 1)))
    assert tuple(out.shape) == (2, 10)
