"""The caller's random streams, kept: evaluating a genome or generating data must not
move Python's or numpy's global random states (a search seeded once stays reproducible
whatever its evaluators do)."""
import contextlib
import random

import numpy as np


@contextlib.contextmanager
def kept_random_state():
    """Restore Python's and numpy's global random states on the way out."""
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)


def keeping_random_state(steps):
    """Run the generator *steps*, restoring the caller's random states around each of
    its turns (the evaluation must not move them between yields either)."""
    while True:
        with kept_random_state():
            if next(steps, StopIteration) is StopIteration:
                return
        yield
