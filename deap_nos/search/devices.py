"""The GPUs this machine has, without starting TensorFlow or CUDA.

:func:`detect_gpus` reads ``CUDA_VISIBLE_DEVICES`` or asks ``nvidia-smi``, so a parent
process can share GPUs out among its workers (:class:`~deap_nos.search.parallel.ProcessMap`,
:func:`~deap_nos.search.cluster.dask_map`) while leaving the devices themselves untouched.
Both names are importable from :mod:`deap_nos.search.parallel` too.
"""
import os
import shutil
import subprocess

__all__ = ["detect_gpus", "nvidia_smi_gpus"]


def nvidia_smi_gpus():
    """The ``GPU i: NAME (UUID: ...)`` lines of ``nvidia-smi -L``; [] without one."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True,
                             timeout=20, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line for line in out.splitlines() if line.startswith("GPU ")]


def detect_gpus():
    """GPU ids visible to this process: ``CUDA_VISIBLE_DEVICES`` or ``nvidia-smi -L``."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g.strip() for g in env.split(",") if g.strip() and g.strip() != "-1"]
    return [str(i) for i, _ in enumerate(nvidia_smi_gpus())]
