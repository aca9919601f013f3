"""setup.py selects exactly one TensorFlow distribution, whatever the extras and platform.

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


def setup_arguments():
    """``install_requires`` and ``extras_require`` as written in setup.py (literals)."""
    with open(os.path.join(ROOT, "setup.py"), encoding="utf-8") as stream:
        tree = ast.parse(stream.read())
    call = next(node for node in ast.walk(tree) if isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "setup")
    keywords = {k.arg: k.value for k in call.keywords}
    return (ast.literal_eval(keywords["install_requires"]),
            ast.literal_eval(keywords.get("extras_require", ast.Dict([], []))))


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
