"""Keep TensorFlow's start-up notices out of the output of ``deap-nos``.

When its native libraries load, TensorFlow prints notices straight to file descriptor 2,
once per process and so once per worker process::

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 ... port.cc:153] oneDNN custom operations are on. You may see slightly ...
    I0000 ... cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use ...
    I0000 ... cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will ...
    E0000 ... cuda_dnn.cc] Unable to register cuDNN factory: Attempting to register ...

TensorFlow 2.21 prints several of them before it reads ``TF_CPP_MIN_LOG_LEVEL``, so the
variable alone does not silence them. :func:`quiet_tensorflow` therefore

* sets ``TF_CPP_MIN_LOG_LEVEL=2`` (warnings and errors only) unless the user chose a
  level, which hides the later informational lines (XLA, device creation);
* runs the first import of ``tensorflow`` (or ``keras``, which imports it) in this
  process with descriptor 2 sent to a temporary file, then writes back every captured
  line that is not a known notice: a real error is delayed, never lost;
* where that import reported no CUDA driver (the GPU-capable wheel on a CPU-only
  machine), looks up the GPUs inside the capture too, which drops the
  ``failed call to cuInit`` error the first operation would otherwise print. With no
  driver there is no CUDA state a forked worker could inherit.

Numerics are untouched (oneDNN stays on). The choice is inherited by child processes
through ``DEAP_NOS_QUIET_TF=1`` (:class:`~deap_nos.search.parallel.ProcessMap` workers call
:func:`inherit`); set ``DEAP_NOS_QUIET_TF=0`` to see every line. Importing
:mod:`deap_nos` changes nothing: only the command and its workers call this.
"""
import contextlib
import importlib.abc
import importlib.machinery
import os
import sys
import tempfile

__all__ = ["quiet_tensorflow", "inherit", "is_notice", "captured_stderr"]

#: Environment variable that carries the choice to child processes.
ENV = "DEAP_NOS_QUIET_TF"

#: Substrings of TensorFlow's start-up notices (a captured line holding one is dropped).
NOTICES = (
    "All log messages before absl::InitializeLog()",
    "oneDNN custom operations are on",
    "cpu_feature_guard",
    "This TensorFlow binary is optimized",
    "rebuild TensorFlow with the appropriate compiler flags",
    "Could not find cuda drivers on your machine",
    "Unable to register cuDNN factory",
    "Unable to register cuFFT factory",
    "Unable to register cuBLAS factory",
    "computation placer already registered",
    "TF-TRT Warning: Could not find TensorRT",
)

#: Printed by the device look-up when no CUDA driver exists (dropped only there).
NO_DRIVER = "Could not find cuda drivers on your machine"
CUINIT_FAILED = "failed call to cuInit"

#: The modules whose first import loads TensorFlow's native libraries.
_ROOTS = ("tensorflow", "keras")


def is_notice(line):
    """Whether *line* is one of TensorFlow's start-up notices."""
    return any(notice in line for notice in NOTICES)


@contextlib.contextmanager
def captured_stderr(drop=is_notice):
    """Send descriptor 2 (C and Python writes alike) to a temporary file for the body,
    then write the captured lines that *drop* rejects back to ``sys.stderr``.

    Yields a list that holds all the captured lines once the body has run.
    """
    lines = []
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):   # no descriptor 2 to redirect
        yield lines
        return
    try:
        with tempfile.TemporaryFile() as capture:
            os.dup2(capture.fileno(), 2)
            try:
                yield lines
            finally:
                with contextlib.suppress(OSError, ValueError, AttributeError):
                    sys.stderr.flush()
                os.dup2(saved, 2)
                capture.seek(0)
                text = capture.read().decode("utf-8", errors="replace")
                lines.extend(text.splitlines(keepends=True))
    finally:
        os.close(saved)
        _replay(lines, drop)       # also when the body raised: its lines explain why


def _replay(lines, drop):
    kept = "".join(line for line in lines if not drop(line))
    if kept:
        sys.stderr.write(kept if kept.endswith("\n") else kept + "\n")
        sys.stderr.flush()


def _probe_devices_quietly():
    """Look up the GPUs with descriptor 2 captured, dropping the cuInit failure that
    a machine without a CUDA driver reports on first use."""
    tf = sys.modules.get("tensorflow")
    config = getattr(tf, "config", None)
    if config is None:
        return
    with captured_stderr(lambda line: is_notice(line) or CUINIT_FAILED in line):
        with contextlib.suppress(Exception):
            config.list_physical_devices("GPU")


class _QuietLoader(importlib.abc.Loader):
    """Wraps the real loader of ``tensorflow`` / ``keras``: runs it under capture."""

    def __init__(self, finder, loader):
        self.finder, self.loader = finder, loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        # the module keeps its own loader (importlib.resources and friends use it)
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.finder.active = True
        try:
            with captured_stderr() as lines:
                self.loader.exec_module(module)
        finally:
            self.finder.active = False
        if any(NO_DRIVER in line for line in lines):
            _probe_devices_quietly()


class _QuietImport(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` / ``keras`` like the rest of ``sys.meta_path`` would, with
    a loader that captures what their import prints."""

    def __init__(self):
        self.active = False      # inside a captured import (keras importing tensorflow)

    def find_spec(self, name, path=None, target=None):
        if name not in _ROOTS or self.active:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _QuietLoader(self, spec.loader)
        return spec


def _installed():
    return any(isinstance(finder, _QuietImport) for finder in sys.meta_path)


def quiet_tensorflow():
    """Silence TensorFlow's start-up notices in this process and its children.

    Idempotent and cheap: nothing is imported until the program imports TensorFlow.
    Does nothing when ``DEAP_NOS_QUIET_TF=0``, and cannot act once TensorFlow is loaded.
    """
    if os.environ.get(ENV) == "0":
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ[ENV] = "1"
    if not any(root in sys.modules for root in _ROOTS) and not _installed():
        sys.meta_path.insert(0, _QuietImport())


def inherit():
    """In a child process: :func:`quiet_tensorflow` if the parent asked for it."""
    if os.environ.get(ENV) == "1":
        quiet_tensorflow()
