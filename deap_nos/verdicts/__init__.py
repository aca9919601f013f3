"""The verdict: re-evaluating a search's best genomes on held-out data.

:mod:`.heldout` (:func:`~deap_nos.verdicts.heldout.reevaluate`,
:func:`~deap_nos.verdicts.heldout.verdict`) and :mod:`.verdict_table` (the table that
says whether a genome beats its baseline). The folder is ``verdicts`` rather than
``verdict`` because ``deap_nos.verdict`` is the public function. Kept empty on purpose.
"""
