"""The package's layout (DESIGN: flat topical modules, the evaluation loop written once).

Modules stay small enough to read whole; the algorithms hold only the algorithms, the
evaluation engine lives in :mod:`deap_nos.search.engine`; the names users type keep working
wherever their code moved.
"""
import ast
import os
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

    defined = _top_level_names(os.path.join(PACKAGE, "algorithms.py"))
    for name in ("_Session", "_Timed", "_map_evaluate", "_sanitize", "_assign",
                 "genome_key", "initial_population", "eliminate"):
        assert name not in defined, f"deap_nos/algorithms.py defines {name}"
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
    code = ("import sys; import deap_nos.search.algorithms, deap_nos.search.engine, deap_nos.search.screening, "
            "deap_nos.cli, deap_nos.evaluation.stages; "
            "print('tensorflow' in sys.modules or 'keras' in sys.modules)")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env=env, check=True)
    assert out.stdout.strip() == "False"
