"""Adaptive AutoLR's grammar (seed 003, Figure 1) as DEAP typed primitive sets.

An optimizer is four functions, one expression tree each, evaluated in this order::

    x      = f_x(x, grad)                 # x, y, z: auxiliary states, kept per weight,
    y      = f_y(x, y, grad)              #   each seeing those before it and its own
    z      = f_z(x, y, z, grad)           #   previous value (zero at the first step)
    update = f_w(x, y, z)                 # w <- w - update (the gradient is not visible)

The functions are those of the public grammar (``soren5/autolr``,
``grammars/adaptive_autolr_grammar.txt``): negative, subtract, add (listed twice, so
drawn twice as often), multiply, pow, square, divide_no_nan, sqrt and a constant, over
terminals that are biased towards the gradient (``x``'s terminals are const | x | grad |
grad; ``y``'s const | x | y | grad | grad | grad; ``z``'s const | x | y | z | grad ×4)
and the fixed list of 100 constants ``sigmoid(linspace(-10, 10, 100))`` written with
nine significant digits, exactly as the grammar lists them. The weight function's
terminals are const | x | y | z (the paper's Figure 1: the update does not see the
gradient).

Operators keep TensorFlow's meaning, which the grammar names: ``divide_no_nan`` is
protected (0 where the divisor is 0, as ``tf.math.divide_no_nan``); ``sqrt`` of a
negative and ``pow`` of a negative base to a fractional power give NaN, as in
TensorFlow, and such a candidate fails its integrity check or its training with the
reason — the original system kept those operators unprotected too.

Trees are generated the way the grammar derives them (:func:`gen_grammar`): at each
node an expression is a function or a terminal with equal probability (a terminal at
the depth limit), functions and terminals drawn with the grammar's weights.
"""
import math
import random

from deap import gp

#: The four functions, in evaluation order, and the terminals each one reads.
FUNCTIONS = ("x", "y", "z", "update")
ARGUMENTS = {"x": ("x", "grad"), "y": ("x", "y", "grad"), "z": ("x", "y", "z", "grad"),
             "update": ("x", "y", "z")}
#: The grammar's terminal productions (a repeated name is drawn that much more often);
#: "const" stands for one of :data:`CONSTANTS`.
TERMINAL_WEIGHTS = {"x": ("const", "x", "grad", "grad"),
                    "y": ("const", "x", "y", "grad", "grad", "grad"),
                    "z": ("const", "x", "y", "z", "grad", "grad", "grad", "grad"),
                    "update": ("const", "x", "y", "z")}


def _constants():
    values = [1.0 / (1.0 + math.exp(-(-10.0 + 20.0 * i / 99.0))) for i in range(100)]
    return tuple(float(f"{v:.8e}") for v in values)


#: The grammar's constant list: 4.53978687e-05 ... 9.99954602e-01 (100 values).
CONSTANTS = _constants()


def constant_name(value):
    """The text of a grammar constant (``4.53978687e-05``)."""
    return f"{value:.8e}"


# --------------------------------------------------------------------- operators
def negative(a, B):
    return -a


def subtract(a, b, B):
    return a - b


def add(a, b, B):
    return a + b


def multiply(a, b, B):
    return a * b


def power(a, b, B):
    return B.power(a, b)


def square(a, B):
    return B.square(a)


def sqrt(a, B):
    return B.sqrt(a)


def divide_no_nan(a, b, B):
    """``a / b``, and 0 where ``b == 0`` (``tf.math.divide_no_nan``)."""
    zero = b == 0
    return B.where(zero, 0.0 * a, a / B.where(zero, 1.0, b))


#: name -> (arity, fn(*args, B)); names as the grammar writes them (without tf.math.)
OPERATORS = {"negative": (1, negative), "subtract": (2, subtract), "add": (2, add),
             "multiply": (2, multiply), "pow": (2, power), "square": (1, square),
             "divide_no_nan": (2, divide_no_nan), "sqrt": (1, sqrt)}
#: The grammar's function productions; "const" is the constant production.
FUNCTION_WEIGHTS = ("negative", "subtract", "add", "multiply", "pow", "square",
                    "divide_no_nan", "add", "sqrt", "const")
#: Commutative operators (their arguments are sorted in a genome's canonical key).
COMMUTATIVE = frozenset({"add", "multiply"})


class Tensor(float):
    """The one type of the typed primitive sets (every value is a tensor)."""


def make_pset(function):
    """The typed primitive set of one function (``"x"``, ``"y"``, ``"z"``, ``"update"``)."""
    args = ARGUMENTS[function]
    pset = gp.PrimitiveSetTyped(f"autolr_{function}", [Tensor] * len(args), Tensor)
    pset.renameArguments(**{f"ARG{i}": name for i, name in enumerate(args)})
    for name, (arity, _) in OPERATORS.items():
        pset.addPrimitive(_placeholder(name), [Tensor] * arity, Tensor, name=name)
    for value in CONSTANTS:
        pset.addTerminal(value, Tensor, name=constant_name(value))
    pset.function = function
    return pset


def _placeholder(name):
    def primitive(*args):
        raise TypeError(f"autolr primitive {name} runs through Program, not gp.compile")
    primitive.__name__ = name
    return primitive


_PSETS = {}


def psets():
    """``{function: PrimitiveSetTyped}``, built once per process."""
    if not _PSETS:
        _PSETS.update({f: make_pset(f) for f in FUNCTIONS})
    return _PSETS


def _terminal(pset, name):
    if name == "const":
        return pset.mapping[constant_name(random.choice(CONSTANTS))]
    return pset.mapping[name]


def gen_grammar(pset, min_, max_, type_=None):
    """A random expression as the grammar derives it, of height ``min_``..``max_``.

    Below ``min_`` a node is a function; at ``max_`` a terminal; in between a function
    or a terminal with equal probability. Functions and terminals are drawn with the
    grammar's weights (:data:`FUNCTION_WEIGHTS`, :data:`TERMINAL_WEIGHTS`); the
    constant production of ``<func>`` gives a constant leaf. DEAP's ``expr`` contract
    (``mutUniform(expr=...)``, ``initIterate``): returns a list of nodes.
    """
    terminals = TERMINAL_WEIGHTS[pset.function]
    expr, stack = [], [0]
    while stack:
        depth = stack.pop()
        func = depth < min_ or (depth < max_ and random.random() < 0.5)
        choice = random.choice(FUNCTION_WEIGHTS) if func else random.choice(terminals)
        if choice in OPERATORS:
            expr.append(pset.mapping[choice])
            stack.extend([depth + 1] * OPERATORS[choice][0])
        else:
            expr.append(_terminal(pset, choice))
    return expr


def evaluate(tree, env, B):
    """The value of ``tree`` (prefix order) with terminals named in ``env``."""
    stack = []
    for node in reversed(tree):
        if isinstance(node, gp.Primitive):
            args = [stack.pop() for _ in range(node.arity)]
            stack.append(OPERATORS[node.name][1](*args, B))
        elif node.value in env:
            stack.append(env[node.value])
        else:
            stack.append(float(node.value))
    return stack[0]


def is_constant(node):
    """Is the terminal ``node`` a constant (its value is a number or a number's text)?"""
    try:
        float(node.value)
    except (TypeError, ValueError):
        return False
    return True
