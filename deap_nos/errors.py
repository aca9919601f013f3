"""The package's own exceptions.

Every error a user can cause (an unknown primitive, a malformed expression, a cyclic
wiring, bad JSON, a missing data set) is raised as a subclass of :class:`NOSError`, with
a message that names the problem and, where there is one, the fix.
"""


class NOSError(ValueError):
    """Base class of every error raised by deap_nos for bad input."""


class UnknownNameError(NOSError, KeyError):
    """A name (operand, operation, schedule, preset, zoo entry) that is not known."""

    def __str__(self):  # KeyError would repr() the message; show it as written
        return str(self.args[0]) if self.args else ""


class DuplicateNameError(NOSError):
    """A primitive was added under a name the search space already uses."""


class ArityError(NOSError):
    """An operation was given the wrong number of inputs."""


class ParseError(NOSError):
    """A text expression could not be read."""


class CyclicGraphError(NOSError):
    """An optimizer graph whose wiring contains a cycle."""


class GenomeError(NOSError):
    """A genome (graph, JSON document) that is malformed."""


class DataError(NOSError):
    """A data set that cannot be found or read."""
