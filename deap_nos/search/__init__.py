"""The search: the engine that drives an algorithm, and everything a run needs around it.

:mod:`.engine` (the loop, cache, checkpoints, logbook), :mod:`.algorithms` (the particle
GA, regularized evolution), :mod:`.screening` (the integrity check before training),
:mod:`.checkpoint`, :mod:`.runfolder`, :mod:`.runlog`, :mod:`.runlock`,
:mod:`.progress`, and the maps that spread evaluations over processes and machines
(:mod:`.parallel`, :mod:`.poolworker`, :mod:`.cluster`, :mod:`.mapcall`,
:mod:`.devices`, :mod:`.provenance`). Kept empty on purpose: importing a submodule
imports nothing else (docs/layout.md).
"""
