"""An AutoLR genome compiled into the pure ``init`` / ``update`` pair of
:mod:`deap_nos.program` (same signatures), written against the array namespace ``B``.

One step, for gradient ``g``, weights ``w`` and the stored states (zero at first)::

    x ← f_x(x, g);  y ← f_y(x, y, g);  z ← f_z(x, y, z, g)     # in this order
    u ← f_w(x, y, z)
    w ← w − lr · sign · u                                        # delta = −lr·sign·u

AutoLR's optimizers carry their step size in their constants, so they are trained with
``lr = 1`` (:data:`LEARNING_RATE`); ``lr`` and ``sign`` stay for the shared integrity
check and plots, which sweep them.
"""
from ...backend import NumpyBackend
from . import grammar
from .grammar import FUNCTIONS

#: The learning rate an AutoLR optimizer is trained with (its constants set the step).
LEARNING_RATE = 1.0
STATES = ("x", "y", "z")


class AutoLRProgram:
    """A compiled AutoLR genome: ``init(params) → state``, ``update(...) → (delta, state)``.

    Parameters
    ----------
    genome : AutoLRGenome
    backend : namespace
        :class:`~deap_nos.backend.NumpyBackend` or the Keras namespace.
    total_steps, warmup_steps, hold_steps :
        Accepted for the shared ``compile`` signature; an AutoLR optimizer has no
        schedule of its own.
    """

    def __init__(self, genome, backend, total_steps=1000, warmup_steps=0, hold_steps=0):
        self.genome = genome
        self.space = genome.space
        self.B = backend
        self.total_steps, self.warmup_steps, self.hold_steps = (total_steps, warmup_steps,
                                                               hold_steps)
        self.trees = dict(zip(FUNCTIONS, genome))

    def state_names(self):
        """The per-weight states: x, y, z."""
        return list(STATES)

    def init(self, params):
        """Zero x, y, z for weights ``params``."""
        return {name: self.B.zeros_like(params) for name in STATES}

    def direction(self, grad, state, params, step):
        """The weight function's output ``u`` and the new states (each shaped as ``params``;
        a constant expression is broadcast)."""
        B = self.B
        zero = B.zeros_like(params)
        env = {"grad": grad, "x": state["x"], "y": state["y"], "z": state["z"]}
        new = dict(state)
        for name in STATES:
            value = grammar.evaluate(self.trees[name], env, B) + zero
            env[name] = new[name] = value
        u = grammar.evaluate(self.trees["update"], env, B) + zero
        return u, new

    def update(self, grad, state, params, step, lr, sign=None):
        """Additive change ``delta = −lr·sign·u`` (``w ← w + delta``) and the new state."""
        u, new = self.direction(grad, state, params, step)
        sign = 1.0 if sign is None else sign
        return -(lr * sign) * u, new


def compile(genome, backend=None, total_steps=1000, warmup_steps=0, hold_steps=0,
            **options):
    """Compile ``genome`` for ``backend`` (default: numpy) into an :class:`AutoLRProgram`.

    ``options`` of the paper's space (``momentum_schedule``, ``nesterov``) do not apply
    and are ignored, so one call compiles a genome of any space.
    """
    backend = backend if backend is not None else NumpyBackend()
    return AutoLRProgram(genome, backend, total_steps, warmup_steps, hold_steps)
