"""pyproject.toml selects exactly one TensorFlow distribution, whatever the extras and
platform; it declares every package the code imports, the licence and one version.

Distributions such as ``tensorflow`` and ``tensorflow-cpu`` all write the same
``tensorflow`` package: two of them in one install overwrite each other's files.
"""
import ast
import itertools
import json
import os
import subprocess
import sys

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: Distributions that install the ``tensorflow`` import package.
TENSORFLOW = {canonicalize_name(name) for name in (
    "tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-intel",
    "tensorflow-macos", "tensorflow-aarch64", "tensorflow-cpu-aws", "intel-tensorflow",
    "tf-nightly", "tf-nightly-cpu", "tf-nightly-gpu", "tf-nightly-intel")}

#: Marker environments of the platforms TensorFlow ships wheels for.
PLATFORMS = [
    dict(sys_platform=system, platform_system=name, platform_machine=machine,
         os_name=os_name, python_version=version, python_full_version=version + ".0",
         implementation_name="cpython", platform_python_implementation="CPython")
    for system, name, os_name, machines in (
        ("linux", "Linux", "posix", ("x86_64", "aarch64")),
        ("darwin", "Darwin", "posix", ("arm64", "x86_64")),
        ("win32", "Windows", "nt", ("AMD64", "ARM64")))
    for machine in machines
    for version in ("3.10", "3.11", "3.12", "3.13")]


def project():
    """The ``[project]`` table of pyproject.toml (the single source of the metadata)."""
    tomllib = pytest.importorskip("tomllib")       # Python >= 3.11
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as stream:
        return tomllib.load(stream)


def setup_arguments():
    """The dependencies and the extras' dependencies, as written in pyproject.toml."""
    table = project()["project"]
    return list(table["dependencies"]), dict(table.get("optional-dependencies", {}))


def selected_tensorflow(requirements, environment):
    return {canonicalize_name(r.name) for r in map(Requirement, requirements)
            if canonicalize_name(r.name) in TENSORFLOW
            and (r.marker is None or r.marker.evaluate(dict(environment, extra="")))}


def test_one_tensorflow_distribution_for_every_extra_and_platform():
    base, extras = setup_arguments()
    names = sorted(extras)
    for environment in PLATFORMS:
        for size in range(len(names) + 1):
            for chosen in itertools.combinations(names, size):
                requirements = base + [r for name in chosen for r in extras[name]]
                found = selected_tensorflow(requirements, environment)
                assert len(found) == 1, (f"extras {chosen} on {environment} select "
                                         f"{sorted(found) or 'no TensorFlow'}")


def test_tqdm_is_required():
    base, _ = setup_arguments()
    assert "tqdm" in {canonicalize_name(Requirement(r).name) for r in base}


@pytest.mark.slow
def test_pip_resolves_the_gpu_extra_to_one_tensorflow(tmp_path):
    # what pip would install into an empty environment (needs a package index)
    report = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", f"{ROOT}[gpu]", "--dry-run", "--quiet",
         "--ignore-installed", "--report", str(report)],
        capture_output=True, text=True, timeout=1200, check=False)
    if result.returncode != 0:
        pytest.skip(f"pip could not resolve (no package index?): {result.stderr[-300:]}")
    installs = json.loads(report.read_text())["install"]
    names = {canonicalize_name(item["metadata"]["name"]) for item in installs}
    assert names & TENSORFLOW == {"tensorflow"}
    assert any(name.startswith("nvidia-cudnn") for name in names)


#: import name -> distribution, where they differ
DISTRIBUTIONS = {"sklearn": "scikit-learn", "distributed": "dask", "yaml": "pyyaml"}
#: imports that belong to Keras' other backends (used only when Keras runs on them)
OPTIONAL = {"torch", "jax", "optax"}


def imported_packages(folder):
    """Top-level third-party modules imported anywhere under *folder* (by AST)."""
    import ast as _ast
    found = set()
    for base, _, files in os.walk(os.path.join(ROOT, folder)):
        for name in files:
            if not name.endswith(".py"):
                continue
            with open(os.path.join(base, name), encoding="utf-8") as stream:
                tree = _ast.parse(stream.read())
            for node in _ast.walk(tree):
                if isinstance(node, _ast.Import):
                    found.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, _ast.ImportFrom) and node.level == 0:
                    found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m != "deap_nos"}


def declared(requirements):
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def test_every_imported_package_is_declared():
    base, extras = setup_arguments()
    everything = declared(base) | {n for reqs in extras.values() for n in declared(reqs)}
    missing = {m for m in imported_packages("deap_nos") - OPTIONAL
               if canonicalize_name(DISTRIBUTIONS.get(m, m)) not in everything}
    assert not missing, f"imported but not declared in pyproject.toml: {sorted(missing)}"
    assert "dill" in declared(base)                 # imported at the top of parallel.py
    tests = {m for m in imported_packages("tests") - OPTIONAL - {"test_runs", "_common",
                                                                 "fourth_space"}
             if not m.startswith("test_")}
    test_env = declared(base) | declared(extras["test"])
    missing = {m for m in tests if canonicalize_name(DISTRIBUTIONS.get(m, m)) not in test_env}
    assert not missing, f"tests import packages the test extra lacks: {sorted(missing)}"


def test_licence_file_and_metadata():
    with open(os.path.join(ROOT, "LICENSE"), encoding="utf-8") as stream:
        text = stream.read()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    table = project()["project"]
    assert table["license"] == "Apache-2.0" and table["license-files"] == ["LICENSE"]


def test_version_is_single_sourced():
    import deap_nos
    config = project()
    assert "version" in config["project"]["dynamic"] and "version" not in config["project"]
    assert config["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "deap_nos.__version__"}
    assert deap_nos.__version__ == "0.3.0"
    assert not os.path.exists(os.path.join(ROOT, "setup.py"))      # no second copy


def test_manifest_ships_what_the_tests_read():
    with open(os.path.join(ROOT, "MANIFEST.in"), encoding="utf-8") as stream:
        lines = {line.strip() for line in stream}
    for folder in ("tests", "examples", "benchmarks", "docs"):
        assert f"graft {folder}" in lines
    assert "include LICENSE" in lines and "include tox.ini" in lines


@pytest.mark.slow
def test_sdist_holds_the_tests_and_installs_metadata(tmp_path):
    """Build the sdist (needs the ``build`` package and an index for setuptools)."""
    import tarfile
    result = subprocess.run([sys.executable, "-m", "build", "--sdist", "--outdir",
                             str(tmp_path), ROOT], capture_output=True, text=True,
                            timeout=600, check=False)
    if result.returncode != 0:
        pytest.skip(f"could not build an sdist here: {result.stderr[-300:]}")
    sdist, = tmp_path.glob("deap_nos-*.tar.gz")
    assert sdist.name == "deap_nos-0.3.0.tar.gz"
    with tarfile.open(sdist) as archive:
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    for path in ("LICENSE", "tox.ini", "tests/conftest.py", "tests/test_packaging.py",
                 "examples/_common.py", "docs/reference.md", "deap_nos/__init__.py"):
        assert path in names, path
