"""Genome identity shared by every space: equal and hashed by the genome's ``key()``.

DEAP compares and hashes individuals (the hall of fame's ``similar``, the engine's
cache, sets of genomes), so a genome's identity must be its canonical form, not the
object. Each space's genome class says what is canonical in its ``key()`` and takes
``==``, ``!=`` and ``hash`` from :class:`KeyIdentity`. Genomes compare among their own
space only: the first class that lists :class:`KeyIdentity` among its bases is the
space's root, and a DEAP ``creator`` subclass of it compares equal to the root's
instances with the same key.
"""

__all__ = ["KeyIdentity"]


class KeyIdentity:
    """``==``, ``!=`` and ``hash`` by ``self.key()`` within one space's genome classes."""

    _identity_root = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if KeyIdentity in cls.__bases__:
            cls._identity_root = cls

    def __eq__(self, other):
        if not isinstance(other, self._identity_root):
            return NotImplemented
        return self.key() == other.key()

    def __ne__(self, other):
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self):
        return hash(self.key())
