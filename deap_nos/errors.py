"""The package's own exceptions.

Every error a user can cause (an unknown primitive, a malformed expression, a cyclic
wiring, bad JSON, a missing data set, a bad setting) is raised as a subclass of
:class:`NOSError`, with a message that names the problem and, where there is one, the
fix.

:class:`NOSError` derives from :class:`Exception`, not :class:`ValueError`: an evaluator
turns a candidate's crash into a failing fitness, and the ``except ValueError`` of
numerical code (``float(x)``, numpy) must not swallow a configuration error there too.
The errors about a genome's *value* (:class:`ParseError`, :class:`GenomeError`,
:class:`ArityError`, :class:`CyclicGraphError`) stay ValueErrors as well, and
:class:`UnknownNameError` a :class:`KeyError`, so ``except ValueError`` around
``parse`` and ``except KeyError`` around a look-up keep working.
"""


class NOSError(Exception):
    """Base class of every error raised by deap_nos for bad input."""


class ConfigurationError(NOSError):
    """A setting (of an evaluator, algorithm or command) that cannot work: refused when
    it is given, never turned into a failing fitness for every candidate."""


class UnknownNameError(NOSError, KeyError):
    """A name (operand, operation, schedule, preset, zoo entry) that is not known."""

    def __str__(self):  # KeyError would repr() the message; show it as written
        return str(self.args[0]) if self.args else ""


class DuplicateNameError(NOSError):
    """A primitive was added under a name the search space already uses."""


class ArityError(NOSError, ValueError):
    """An operation was given the wrong number of inputs."""


class ParseError(NOSError, ValueError):
    """A text expression could not be read."""


class CyclicGraphError(NOSError, ValueError):
    """An optimizer graph whose wiring contains a cycle."""


class GenomeError(NOSError, ValueError):
    """A genome (graph, JSON document) that is malformed."""


class DataError(NOSError):
    """A data set that cannot be found or read."""
