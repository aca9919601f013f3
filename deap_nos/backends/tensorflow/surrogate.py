"""The surrogate ConvNet on which candidate optimizers are trained (paper, Section 3.4).

``ConvNet(base)``::

    Conv(base, 3×3, same) → BN → swish
    → Conv(2·base, 3×3, stride 2, same) → BN → swish
    → Conv(4·base, 3×3, stride 2, same) → BN → swish
    → global average pool → dropout 0.2 → dense softmax

The convolutions keep their biases: that is what gives the paper's count, 212,266
parameters at base 48 on 32×32×3 inputs with 10 classes (BN's moving statistics
included). Signals — an input shape ``(length, channels)`` such as MNIST-1D's — get the
same network in 1-D (kernel 3, the same strides and widths), chosen from the input
shape. Keras is imported when a model is built, not when this module is imported.

Swish is built as ``x · sigmoid(x)`` (two built-in layers, plain autodiff), not as Keras'
``"swish"`` activation: on TensorFlow that one is a ``tf.custom_gradient`` whose every
trace leaves a gradient function in a global registry holding its graph, so a process
that builds a model per evaluation grew without bound.
"""

__all__ = ["convnet", "convnet_params", "PAPER_PARAMS"]

#: Parameter counts the paper gives (CIFAR-10 shapes), keyed by base width.
PAPER_PARAMS = {48: 212_266, 64: 375_000, 96: 839_000, 128: 1_487_000}


def convnet_params(base, input_shape=(32, 32, 3), classes=10):
    """Number of parameters of :func:`convnet` (trainable + BN statistics), without Keras.

    Three biased 3×3 (or, for signals, width-3) convolutions (C→b→2b→4b), three batch
    norms (γ, β, mean, variance) and the dense head; the count does not depend on the
    input's size.
    """
    channels = int(input_shape[-1])
    taps = 3 ** (len(input_shape) - 1)
    widths = [base, 2 * base, 4 * base]
    total, c_in = 0, channels
    for c_out in widths:
        total += taps * c_in * c_out + c_out  # conv kernel + bias
        total += 4 * c_out  # BN gamma, beta, moving mean, moving variance
        c_in = c_out
    return total + c_in * classes + classes


def convnet(base, input_shape=(32, 32, 3), classes=10, dropout=0.2, name=None):
    """Build the surrogate ConvNet(base) as a Keras functional model.

    Parameters
    ----------
    base : int
        Width of the first convolution; the next two have 2·base and 4·base filters.
    input_shape : tuple of int
        Shape of one input: ``(H, W, C)`` (an image: 2-D convolutions) or ``(L, C)``
        (a signal: 1-D convolutions).
    classes : int
        Number of classes of the softmax head.
    dropout : float
        Dropout rate before the head (paper: 0.2).
    name : str, optional
        Model name (default ``"convnet_<base>"``).

    Returns
    -------
    keras.Model
        Outputs class probabilities, shape ``(batch, classes)``.
    """
    import keras
    from keras import layers

    from deap_nos.errors import NOSError

    if int(base) < 1 or int(classes) < 2:
        raise NOSError(f"convnet needs base >= 1 and classes >= 2 (got base={base}, "
                       f"classes={classes})")
    if len(input_shape) not in (2, 3):
        raise NOSError(f"convnet takes an image (H, W, C) or a signal (L, C); got input "
                       f"shape {tuple(input_shape)}")
    conv, pool = ((layers.Conv1D, layers.GlobalAveragePooling1D) if len(input_shape) == 2
                  else (layers.Conv2D, layers.GlobalAveragePooling2D))
    base = int(base)
    inputs = keras.Input(shape=tuple(int(s) for s in input_shape))
    x = inputs
    for i, (filters, stride) in enumerate([(base, 1), (2 * base, 2), (4 * base, 2)]):
        x = conv(filters, 3, strides=stride, padding="same", use_bias=True,
                          name=f"conv{i + 1}")(x)
        x = layers.BatchNormalization(name=f"bn{i + 1}")(x)
        # swish as x·sigmoid(x) from two built-in layers, not Activation("swish"): on
        # TensorFlow that is tf.nn.silu, a tf.custom_gradient, and every trace of one
        # registers a gradient function in TensorFlow's global registry that keeps the
        # whole traced graph alive — ≈ 20 MB per evaluation (issue 22).
        gate = layers.Activation("sigmoid", name=f"sigmoid{i + 1}")(x)
        x = layers.Multiply(name=f"swish{i + 1}")([x, gate])
    x = pool(name="pool")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(int(classes), activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs, name=name or f"convnet_{base}")
