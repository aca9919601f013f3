"""What produced a run: package versions, Python, platform and device.

A run folder's ``settings.json`` holds :func:`environment` under ``"environment"`` and
its ``report.md`` says it in one line (:func:`describe`), so a result can be traced to
the software and hardware that computed it. Nothing here imports TensorFlow: versions
are read from the installed distributions' metadata (or from the module when it is
already imported), and GPUs from ``nvidia-smi`` (:func:`~deap_nos.search.parallel.detect_gpus`
style), so writing a cheap run's settings stays fast.
"""
import os
import platform
import subprocess
import sys
from importlib import metadata

#: Distributions that provide the ``tensorflow`` module, in the order they are tried.
TENSORFLOW_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tensorflow-macos",
                            "tensorflow-intel", "tf-nightly", "tf-nightly-cpu")


def _version(*distributions, module=None):
    """The version of the first installed distribution (the imported module's first)."""
    imported = sys.modules.get(module) if module else None
    if imported is not None and getattr(imported, "__version__", None):
        return str(imported.__version__)
    for name in distributions:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def _tensorflow():
    """``{"version", "distribution"}`` of the installed TensorFlow (None values if none)."""
    for name in TENSORFLOW_DISTRIBUTIONS:
        try:
            return {"version": metadata.version(name), "distribution": name}
        except metadata.PackageNotFoundError:
            continue
    return {"version": _version(module="tensorflow"), "distribution": None}


def gpu_names():
    """The GPUs ``nvidia-smi -L`` lists (``["NVIDIA H200", ...]``), [] without one."""
    from deap_nos.search.parallel import nvidia_smi_gpus

    return [line.split(":", 1)[1].split("(")[0].strip()
            for line in nvidia_smi_gpus() if ":" in line]


def device():
    """The device the evaluations can use: the GPUs visible to this process, else CPU."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    gpus = [] if visible is not None and visible.strip() in ("", "-1") else gpu_names()
    if gpus:
        return f"{len(gpus)} GPU ({', '.join(sorted(set(gpus)))})"
    cpu = platform.processor() or platform.machine()
    return f"CPU ({cpu}, {os.cpu_count()} cores)"


def _git(root, *command):
    try:
        out = subprocess.run(["git", "-C", root, *command], capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_revision():
    """``(commit, dirty)`` of the checkout the package is imported from (an editable
    install, ``PYTHONPATH``), or ``(None, None)`` for an installed copy: the version
    number alone does not name the code of a development install."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))    # search/..
    root = os.path.dirname(package)
    if not os.path.exists(os.path.join(root, ".git")):     # a folder, or a worktree's file
        return None, None
    commit = _git(root, "rev-parse", "HEAD")
    if not commit:
        return None, None
    status = _git(root, "status", "--porcelain", "--untracked-files=no", "--", "deap_nos")
    return commit, None if status is None else bool(status)


def environment():
    """The versions, platform and device of this process, as a JSON-ready dict (with
    the git revision when the package runs from a checkout)."""
    from .. import __version__
    tf = _tensorflow()
    commit, dirty = git_revision()
    return {"deap_nos": __version__, "git_revision": commit, "git_dirty": dirty,
            "tensorflow": tf["version"], "tensorflow_distribution": tf["distribution"],
            "keras": _version("keras", module="keras"),
            "numpy": _version("numpy", module="numpy"),
            "deap": _version("deap"),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "device": device()}


def describe(env):
    """One line naming what produced a run, from an :func:`environment` dict."""
    names = (("deap-nos", "deap_nos"), ("TensorFlow", "tensorflow"), ("Keras", "keras"),
             ("numpy", "numpy"), ("DEAP", "deap"), ("Python", "python"))
    versions = ", ".join(f"{label} {env.get(key) or 'not installed'}"
                         for label, key in names)
    if env.get("git_revision"):
        dirty = " with uncommitted changes" if env.get("git_dirty") else ""
        versions = versions.replace(
            f"deap-nos {env.get('deap_nos')}",
            f"deap-nos {env.get('deap_nos')} (git {env['git_revision'][:12]}{dirty})", 1)
    return f"{versions}; {env.get('platform')}; device {env.get('device')}"
