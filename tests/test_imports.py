"""Import graph: no import cycles between deap_nos modules, lazy imports included.

Every ``import`` / ``from ... import`` statement of every module is read with ``ast``
(those inside functions too, which Python only runs later), so a cycle hidden behind a
lazy import still counts. The package's own ``__init__`` is left out: it imports the
public names of everything by design, and every submodule runs it first.
"""
import ast
import pathlib

import networkx as nx

import deap_nos

PACKAGE = pathlib.Path(deap_nos.__file__).parent


def module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(name, path, node, modules):
    """The deap_nos modules one import statement names."""
    if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
    else:
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        if node.level:
            base = package.split(".")[:len(package.split(".")) - node.level + 1]
            base = ".".join(base + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                   for alias in node.names]
    for target in targets:
        while target not in modules and "." in target:
            target = target.rsplit(".", 1)[0]
        if target in modules:
            yield target


def import_graph():
    """DiGraph: module → the deap_nos modules it imports anywhere in its source."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph.add_edges_from((name, target)
                                     for target in imported(name, path, node, modules)
                                     if target not in (name, "deap_nos"))
    return graph


def test_the_import_graph_sees_lazy_imports():
    graph = import_graph()
    assert graph.has_edge("deap_nos.zoo", "deap_nos.spaces.nos.genome")   # inside zoo.genome()
    assert graph.has_edge("deap_nos.spaces.nos.genome", "deap_nos.spaces.nos.syntax")


def test_genome_syntax_and_program_do_not_import_each_other_in_a_circle():
    graph = import_graph()
    assert not graph.has_edge("deap_nos.spaces.nos.syntax", "deap_nos.spaces.nos.genome")
    assert not graph.has_edge("deap_nos.program", "deap_nos.spaces.nos.genome")
    for name in ("deap_nos.spaces.nos.genes", "deap_nos.spaces.nos.syntax", "deap_nos.program"):
        assert "deap_nos.spaces.nos.genome" not in nx.descendants(graph, name), name


def test_no_module_of_the_package_is_in_an_import_cycle():
    cycles = list(nx.simple_cycles(import_graph()))
    assert cycles == [], f"import cycles: {cycles}"


def test_public_names_still_work():
    import deap_nos as nos
    from deap_nos.spaces.nos.genome import DecayGraph, Node, OptimizerGraph, validate
    assert nos.OptimizerGraph is OptimizerGraph and nos.Node is Node
    assert nos.DecayGraph is DecayGraph and nos.validate is validate
    genome = OptimizerGraph.parse("nesterov: div(v_hat, sqrt_abs(s_hat))")
    assert genome == nos.parse(str(genome)) and repr(genome).startswith("OptimizerGraph.parse(")
    assert genome.fingerprint() == nos.semantic_fingerprint(genome)
    assert str(nos.parse_decay("erfc(erfc(cosine_increase))")) == "erfc(erfc(a4))"
