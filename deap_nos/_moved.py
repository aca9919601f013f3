"""Old module paths of 0.2 and early 0.3, kept working after the move into folders.

In 0.3 the flat modules moved into folders that show the architecture (docs/layout.md):
``deap_nos.evaluator`` is now ``deap_nos.evaluation.evaluator``, ``deap_nos.engine`` is
``deap_nos.search.engine``, the paper's graph space is the folder ``deap_nos.spaces.nos``
(``deap_nos.genome`` is ``deap_nos.spaces.nos.genome``), and so on. User code and,
above all, old pickles (a run folder's ``checkpoint.pkl`` and ``cache.pkl`` name
classes by module path, e.g. ``deap_nos.evaluator.SurrogateEvaluator`` or
``deap_nos.genome.OptimizerGraph``) still say the old names.

:data:`MOVED` is the one table of old name -> new name. :class:`AliasFinder`, put on
``sys.meta_path`` by ``import deap_nos``, answers an import of an old name with the
moved module object itself (``import deap_nos.evaluator`` *is*
``deap_nos.evaluation.evaluator``), importing it only then, so ``import deap_nos``
stays light. There are no shim files at the old paths.
"""
import importlib
import importlib.abc
import importlib.util
import sys

__all__ = ["MOVED", "AliasFinder", "install"]


def _table():
    moved = {"deap_nos.data.augment": "deap_nos.backends.tensorflow.augment",
             "deap_nos.spaces.termmix.batched": "deap_nos.backends.tensorflow.termmix"}
    homes = {
        "search": "engine algorithms generational screening checkpoint runfolder runlog "
                  "runlock poolworker progress parallel cluster mapcall devices provenance",
        "evaluation": "evaluator stages population population_runs slots cheap presets "
                      "batchmap",
        "verdicts": "heldout verdict_table",
        "backends.tensorflow": "trainer batched interpreter train_loop surrogate quiet",
        "spaces.nos": "genes genome space syntax integrity variation toolbox authors "
                      "primitives",
    }
    for folder, names in homes.items():
        for name in names.split():
            moved[f"deap_nos.{name}"] = f"deap_nos.{folder}.{name}"
    return moved


#: old dotted module path -> its home since 0.3
MOVED = _table()


class AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolve an old module path in :data:`MOVED` to the moved module object."""

    def __init__(self, table):
        self.table = table

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.table:
            return None
        return importlib.util.spec_from_loader(fullname, self, origin=self.table[fullname])

    def create_module(self, spec):
        module = importlib.import_module(self.table[spec.name])
        spec.loader_state = module.__spec__      # the import system overwrites __spec__
        return module

    def exec_module(self, module):
        """Nothing to run (the moved module ran under its own name); give it back its
        own spec, which the import system replaced with the alias's."""
        state = getattr(module.__spec__, "loader_state", None)
        if state is not None:
            module.__spec__ = state


def install():
    """Put one :class:`AliasFinder` first on ``sys.meta_path`` (idempotent)."""
    if not any(isinstance(f, AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, AliasFinder(MOVED))
