"""The package's layout (DESIGN "Seams (0.3)", docs/layout.md): folders show the parts.

Modules stay small enough to read whole; the search (``search/``), the evaluation
(``evaluation/``), the verdict (``verdicts/``) and each backend (``backends/<name>/``) are
folders; the algorithms hold only the algorithms, the evaluation engine lives in
:mod:`deap_nos.search.engine`; the module paths and names users type (and old pickles
name) keep working wherever their code moved, through one alias table
(:mod:`deap_nos._moved`), as the same objects.
"""
import ast
import importlib
import os
import pickle
import struct
import subprocess
import sys

import pytest

import deap_nos as nos

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "deap_nos")
MAX_LINES = 420


def _modules():
    for folder, dirs, files in os.walk(PACKAGE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def _top_level_names(path):
    with open(path, encoding="utf-8") as stream:
        tree = ast.parse(stream.read())
    return {node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))}


@pytest.mark.parametrize("path", list(_modules()),
                         ids=lambda p: os.path.relpath(p, ROOT))
def test_every_module_is_small(path):
    with open(path, encoding="utf-8") as stream:
        lines = sum(1 for _ in stream)
    assert lines <= MAX_LINES, (f"{os.path.relpath(path, ROOT)} has {lines} lines; "
                                f"split it along its topics (at most {MAX_LINES})")


def test_the_algorithms_module_does_not_define_the_engine():
    from deap_nos import algorithms, engine

    defined = _top_level_names(os.path.join(PACKAGE, "search", "algorithms.py"))
    for name in ("_Session", "_Timed", "_map_evaluate", "_sanitize", "_assign",
                 "genome_key", "initial_population", "eliminate"):
        assert name not in defined, f"deap_nos/search/algorithms.py defines {name}"
    assert engine._Session.__module__ == "deap_nos.search.engine"
    assert {"eaParticle", "eaRegularized"} <= defined
    assert algorithms.genome_key is engine.genome_key


def test_public_names_resolve_where_they_did():
    from deap_nos import algorithms, screening

    for name in algorithms.__all__:
        assert hasattr(algorithms, name), name
    assert nos.eaParticle is algorithms.eaParticle
    assert nos.eaRegularized is algorithms.eaRegularized
    assert nos.initial_population is algorithms.initial_population \
        is screening.initial_population
    assert nos.eliminate is algorithms.eliminate is screening.eliminate


def test_the_cli_package_keeps_its_names():
    import deap_nos.cli as cli

    for name in ("main", "build_parser", "load_genome", "make_evaluator", "write_report"):
        assert callable(getattr(cli, name)), name
    assert os.path.isfile(os.path.join(PACKAGE, "cli", "__main__.py"))  # python -m deap_nos.cli


def test_evaluator_keeps_its_names():
    from deap_nos import evaluator, stages

    assert evaluator.SurrogateEvaluator.__module__ == "deap_nos.evaluation.evaluator"
    assert "default" in evaluator.PRESETS
    assert stages.StageFailure.__module__ == "deap_nos.evaluation.stages"


def test_the_split_modules_do_not_import_tensorflow():
    code = ("import sys; import deap_nos.search.algorithms, deap_nos.search.engine, "
            "deap_nos.search.screening, deap_nos.cli, deap_nos.evaluation.stages; "
            "print('tensorflow' in sys.modules or 'keras' in sys.modules)")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env=env, check=True)
    assert out.stdout.strip() == "False"


# -- the folders and the alias table ---------------------------------------------------

#: where each part lives (docs/layout.md)
HOMES = {
    "search": ("engine", "algorithms", "generational", "screening", "checkpoint", "runfolder",
               "runlog", "runlock", "poolworker", "progress", "parallel", "cluster", "mapcall"),
    "evaluation": ("evaluator", "stages", "population", "slots", "cheap", "presets"),
    "verdicts": ("heldout", "verdict_table"),
    "backends/tensorflow": ("trainer", "batched", "interpreter", "train_loop", "surrogate",
                            "augment"),
    "backends/jax": ("trainer", "interpreter", "net"),
    "spaces/nos": ("genes", "genome", "space", "syntax", "integrity", "variation",
                   "toolbox", "authors", "primitives", "protocol"),
    "spaces/termmix": ("genome", "space", "program", "fitness"),
    "spaces/autolr": ("genome", "space", "program", "fitness"),
}

#: the modules left at the package's top: each is shared by several spaces or parts
TOP_LEVEL = {"__init__", "_moved", "errors", "rng", "backend", "program", "schedules",
             "zoo", "plots", "optax"}


@pytest.mark.parametrize("folder", sorted(HOMES))
def test_each_part_is_a_folder(folder):
    for name in HOMES[folder]:
        assert os.path.isfile(os.path.join(PACKAGE, folder, name + ".py")), (folder, name)
    assert os.path.isfile(os.path.join(PACKAGE, folder, "__init__.py"))


def test_only_shared_modules_stay_at_the_top():
    top = {name[:-3] for name in os.listdir(PACKAGE) if name.endswith(".py")}
    assert top == TOP_LEVEL


def test_the_nos_folder_still_offers_the_protocol_functions():
    """``deap_nos.spaces.nos`` was the protocol module; as the folder it gives the same
    functions (loaded from ``protocol.py``), and the registry finds them there."""
    import deap_nos.spaces.nos as folder
    from deap_nos import spaces
    from deap_nos.spaces.nos import parse, protocol, zoo

    assert parse is protocol.parse and zoo is protocol.zoo
    assert spaces.implementation("nos") is protocol
    assert folder.zoo()["Opt10"] == str(nos.zoo.genome("Opt10"))
    genome = folder.parse(spaces.get("nos"), "div(v_hat, sqrt_abs(s_hat))")
    assert genome == nos.parse("div(v_hat, sqrt_abs(s_hat))")
    with pytest.raises(AttributeError):
        folder.no_such_function


def test_no_shim_file_is_left_at_an_old_path():
    from deap_nos._moved import MOVED

    for old in MOVED:
        relative = old.split(".")[1:]
        assert not os.path.exists(os.path.join(PACKAGE, *relative) + ".py"), old
        assert not os.path.isdir(os.path.join(PACKAGE, *relative)), old


def test_old_module_paths_import_the_moved_modules():
    from deap_nos._moved import MOVED

    for old, new in sorted(MOVED.items()):
        moved = importlib.import_module(new)
        assert importlib.import_module(old) is moved, old
        assert sys.modules[old] is moved
        assert moved.__name__ == new and moved.__spec__.name == new    # its own spec
    import deap_nos.evaluator
    from deap_nos.evaluator import SurrogateEvaluator
    from deap_nos.evaluation.evaluator import SurrogateEvaluator as moved_class
    assert SurrogateEvaluator is moved_class and nos.SurrogateEvaluator is moved_class
    assert deap_nos.evaluator is sys.modules["deap_nos.evaluation.evaluator"]
    from deap_nos import heldout, population
    assert heldout.verdict is nos.verdict                   # the function, not the folder
    assert population.PopulationEvaluator is nos.PopulationEvaluator
    assert nos.engine is sys.modules["deap_nos.search.engine"]      # attribute access
    with pytest.raises(ImportError):
        importlib.import_module("deap_nos.no_such_module")


def _global(protocol, module, name):
    """Pickle bytes that load ``module.name`` (GLOBAL for 2, STACK_GLOBAL for 4)."""
    if protocol == 2:
        return b"\x80\x02c" + f"{module}\n{name}\n".encode() + b"."
    text = b"".join(b"\x8c" + struct.pack("<B", len(s)) + s.encode() + b"\x94"
                    for s in (module, name))
    return b"\x80\x04" + text + b"\x93."


@pytest.mark.parametrize("protocol", [2, 4])
def test_pickles_naming_old_module_paths_load(protocol):
    from deap_nos.cheap import DigitsEvaluator
    from deap_nos.evaluation.evaluator import SurrogateEvaluator

    assert pickle.loads(_global(protocol, "deap_nos.evaluator", "SurrogateEvaluator")) \
        is SurrogateEvaluator
    assert pickle.loads(_global(protocol, "deap_nos.genome", "OptimizerGraph")) \
        is nos.OptimizerGraph
    # an instance pickled when DigitsEvaluator lived in deap_nos.cheap
    genome = nos.parse("div(v_hat, sqrt_abs(s_hat))")
    new = pickle.dumps((DigitsEvaluator(steps=7, seed=3), genome), protocol=2)
    old = new.replace(b"deap_nos.evaluation.cheap\n", b"deap_nos.cheap\n")
    assert old != new and b"deap_nos.evaluation.cheap" not in old
    evaluator, loaded = pickle.loads(old)
    assert type(evaluator) is DigitsEvaluator and evaluator.steps == 7
    assert loaded == genome


@pytest.mark.parametrize("protocol", [2, 4])
def test_pickles_of_the_graph_space_before_its_folder_load(protocol):
    """A genome, its space and a DecayGraph pickled when the graph space was flat
    (``deap_nos.genome.OptimizerGraph``, ``deap_nos.space.SearchSpace``) load."""
    from deap_nos.spaces.nos.genome import DecayGraph, OptimizerGraph
    from deap_nos.spaces.nos.space import SearchSpace

    for module, name, cls in (("deap_nos.space", "SearchSpace", SearchSpace),
                              ("deap_nos.genome", "DecayGraph", DecayGraph),
                              ("deap_nos.genome", "OptimizerGraph", OptimizerGraph)):
        assert pickle.loads(_global(protocol, module, name)) is cls
    genome = nos.parse("div(decay(v_hat, erfc(erfc(a4))), sqrt_abs(s_hat))")
    space = nos.spaces.get("nos")
    new = pickle.dumps((genome, space, genome.space), protocol=2)    # GLOBAL: plain text
    old = new
    for module in ("genome", "space", "genes", "syntax"):
        old = old.replace(f"deap_nos.spaces.nos.{module}".encode(),
                          f"deap_nos.{module}".encode())
    assert b"deap_nos.spaces.nos" not in old and b"deap_nos.genome" in old
    assert b"deap_nos.space" in old
    loaded, loaded_space, its_space = pickle.loads(old)
    assert type(loaded) is OptimizerGraph and loaded == genome
    assert type(loaded_space) is SearchSpace and type(its_space) is type(genome.space)
    assert str(loaded) == str(genome)


def test_old_pickles_load_in_a_fresh_process_and_stay_lazy():
    """Unpickling imports ``deap_nos`` first, which installs the alias finder; an old
    name of a TensorFlow-free module stays TensorFlow-free."""
    blob = _global(2, "deap_nos.engine", "genome_key")
    code = ("import pickle, sys; f = pickle.loads(%r); import deap_nos.search.engine as e; "
            "print(f is e.genome_key, 'tensorflow' in sys.modules, 'jax' in sys.modules)"
            % blob)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env=env, check=True)
    assert out.stdout.split() == ["True", "False", "False"]


# -- frameworks stay inside their folders ---------------------------------------------

#: The machine-learning frameworks: their training machinery belongs to a backend.
FRAMEWORKS = {"tensorflow", "jax", "jaxlib", "keras", "optax", "tf_keras"}

#: Where a framework may be imported, and why:
#:
#: * ``backends/`` — each backend's folder holds its framework's population and
#:   single-path training machinery (DESIGN "Seams": nothing else imports it);
#: * ``keras/`` and ``optax.py`` — the export adapters: a discovered optimizer as a Keras
#:   optimizer and as an optax transformation, for users of those libraries;
#: * a space folder's own Keras adapters — the space's Keras optimizer (``autolr``'s
#:   ``keras_optimizer``) and its Keras evaluator (``termmix``'s ``convnet``: Keras
#:   models and ``fit``, no TensorFlow training machinery of its own); the space imports
#:   them only inside the methods that need them (checked below). A space's kernel for
#:   the TensorFlow population trainer lives in the backend
#:   (``backends/tensorflow/termmix.py``).
ALLOWED = ("backends/", "keras/", "optax.py", "spaces/autolr/keras_optimizer.py",
           "spaces/termmix/convnet.py")


def _module_lookup(node):
    """The constant in ``sys.modules.get("x")``, ``sys.modules["x"]`` or
    ``importlib.import_module("x")`` (a framework used without an import statement)."""
    if isinstance(node, ast.Subscript):
        target, key = node.value, node.slice
    elif isinstance(node, ast.Call) and node.args and isinstance(node.func, ast.Attribute):
        target, key = node.func.value, node.args[0]
        if node.func.attr == "import_module":
            return key.value if isinstance(key, ast.Constant) else None
        if node.func.attr != "get":
            return None
    else:
        return None
    if isinstance(target, ast.Attribute) and target.attr == "modules" \
            and isinstance(key, ast.Constant) and isinstance(key.value, str):
        return key.value
    return None


def _framework_imports(path):
    """``(line, module)`` of every framework import in *path*, those inside functions
    included (``ast.walk`` visits every statement, not only the top level), and of every
    framework taken from ``sys.modules`` or ``importlib.import_module``."""
    with open(path, encoding="utf-8") as stream:
        tree = ast.parse(stream.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        elif _module_lookup(node):
            names = [_module_lookup(node)]
        else:
            continue
        for name in names:
            if name.split(".")[0] in FRAMEWORKS:
                yield node.lineno, name


def _allowed(path):
    relative = os.path.relpath(path, PACKAGE).replace(os.sep, "/")
    return relative.startswith(ALLOWED)


def test_the_ast_check_sees_imports_inside_functions(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import os\n\ndef f():\n    from tensorflow.python import x\n"
                     "    import jax.numpy as jnp\n    tf = sys.modules.get('tensorflow')\n"
                     "    k = sys.modules['keras'] if 'jax' in sys.modules else None\n"
                     "    importlib.import_module('optax')\n")
    assert sorted(_framework_imports(str(probe))) == [
        (4, "tensorflow.python"), (5, "jax.numpy"), (6, "tensorflow"), (7, "keras"),
        (8, "optax")]
    assert _allowed(os.path.join(PACKAGE, "backends", "jax", "net.py"))
    assert not _allowed(os.path.join(PACKAGE, "evaluation", "evaluator.py"))


def test_no_module_outside_the_backends_and_adapters_imports_a_framework():
    offenders = [f"{os.path.relpath(path, ROOT)}:{line} imports {name}"
                 for path in _modules() if not _allowed(path)
                 for line, name in _framework_imports(path)]
    assert offenders == [], ("route these through deap_nos.backends (or the keras/ "
                             "adapter):\n" + "\n".join(offenders))


def test_importing_every_other_module_imports_no_framework():
    """The allow-listed adapters are imported lazily: importing every module outside
    the allow-list (the spaces included) loads no framework."""
    names = []
    for path in _modules():
        relative = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
        if not _allowed(path) and not relative.endswith("__main__"):
            names.append(relative[:-len(".__init__")] if relative.endswith("__init__")
                         else relative)
    code = ("import importlib, sys\nfor n in %r: importlib.import_module(n)\n"
            "print(sorted(m for m in %r if m in sys.modules))" % (names, FRAMEWORKS))
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env=env, check=True)
    assert out.stdout.strip() == "[]", out.stdout
