"""The result of evaluating one genome: a fitness tuple that also carries what was learned.

DEAP evaluators return a tuple of fitness values. :class:`Evaluation` *is* that tuple, so
``ind.fitness.values = toolbox.evaluate(ind)`` works unchanged, and it carries an ``info``
dict (best learning rate, stage reached, curves, wall time, failure reason) that survives
pickling to and from worker processes. Algorithms copy ``info`` onto the individual as
``ind.info``.
"""

import hashlib

#: Fitness given to a failed candidate: below every accuracy in [0, 1].
FAILED_FITNESS = -1.0


def genome_seed(seed, genome):
    """A stable 31-bit seed for ``genome`` under the run seed ``seed``.

    Uses ``genome.fingerprint()`` when the genome has it, else ``str(genome)``, hashed
    with sha256 — the same in every process (Python's ``hash`` is salted per process),
    so an evaluator gives one genome the same fitness in any worker.
    """
    fingerprint = getattr(genome, "fingerprint", None)
    key = fingerprint() if callable(fingerprint) else str(genome)
    digest = hashlib.sha256(f"{int(seed)}\x00{key}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % (2 ** 31 - 1)


class Evaluation(tuple):
    """A fitness tuple with an ``info`` dict attached.

    ``info`` keys used across the package: ``failed`` (bool), ``reason`` (str or None),
    ``stage`` (where evaluation ended: ``"integrity"``, ``"sweep"``, ``"train"``,
    ``"done"``), ``lr`` (best learning rate), ``curves``, ``time`` (seconds).
    """

    def __new__(cls, values, info=None):
        self = super().__new__(cls, tuple(values))
        self.info = dict(info or {})
        return self

    def __reduce__(self):
        return (Evaluation, (tuple(self), self.info))

    @property
    def failed(self):
        """True when the candidate failed (NaN, rejection, crash)."""
        return bool(self.info.get("failed", False))

    @property
    def reason(self):
        """Why the candidate failed, or None."""
        return self.info.get("reason")

    @classmethod
    def failure(cls, reason, stage, nobj=1, value=FAILED_FITNESS, **info):
        """A failing fitness with its reason recorded."""
        info.update(failed=True, reason=str(reason), stage=stage)
        return cls((value,) * nobj, info)

    def __repr__(self):
        return f"Evaluation({tuple(self)!r}, info={self.info!r})"
