"""Per-evaluation log lines of a run (the progress bar: :mod:`deap_nos.search.progress`).

Every evaluation of a run is one JSON line of the log (``evaluations.log`` in the run
folder)::

    {"n": 12, "step": 2, "key": "...", "fitness": [0.71], "time": 3.2, "failed": false,
     "stage": "done", "reason": null, "equation": "adam: div(m_hat, sqrt(v_hat))",
     "phase": "eaParticle"}

``phase`` names who asked for the evaluation: ``"eaParticle"``, ``"eaRegularized"``,
``"initial_population"``, or ``"initial_population:screen"`` for a screening
evaluator's result (not a fitness of ``toolbox.evaluate``). ``n`` counts the run's
distinct evaluations of that kind.

The log is append-only and shared by the phases of a run folder. A resumed run
rewrites it as the records its checkpoint commits (:func:`restore_log`: the records
are also in the evaluation cache), so each evaluation appears exactly once, whatever
happened to the file. :func:`read_log` reads it back.
"""
import json
from collections import Counter
import math
import os
import warnings

from .checkpoint import write_atomic


def _jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def log_record(n, step, key, individual, evaluation, phase=None):
    """The log entry of one evaluation (a dict of JSON-friendly values)."""
    info = getattr(evaluation, "info", None) or {}
    return {"n": n, "step": step, "key": str(key),
            "fitness": _jsonable(tuple(evaluation)),
            "time": _jsonable(info.get("time")),
            "failed": bool(info.get("failed", False)),
            "stage": info.get("stage"), "reason": info.get("reason"),
            "equation": str(individual), "phase": phase,
            "particle": getattr(individual, "particle", None)}


#: Suffix of the file that receives what a resume removes from the log.
DROPPED_SUFFIX = ".dropped"


def _line(record):
    return (json.dumps(record, sort_keys=True) + "\n").encode("utf-8")


def _pieces(data):
    """The log's lines (with their newline) and, last, any unterminated tail."""
    pieces = data.split(b"\n")
    return [p + b"\n" for p in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])


def _readable(piece):
    try:
        return isinstance(json.loads(piece.decode("utf-8")), dict)
    except ValueError:
        return False


def restore_log(path, committed, context="resuming"):
    """Make the log at *path* hold exactly the *committed* records, in order.

    The file is re-read record by record (never cut at a byte offset, which a line
    added or lost before it would shift): each committed record found is kept, each
    one missing (bytes lost to NULs, a truncated file) is restored from *committed*
    (the evaluation cache's copy), and everything else — records past the last
    checkpoint, which the resume evaluates again, unreadable bytes, lines written by
    hand — is appended to ``path + ".dropped"``, never discarded. A warning says what
    was kept, restored and moved. Returns ``(kept, restored, dropped_records,
    dropped_bytes)``.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except FileNotFoundError:
        data = b""
    wanted = [_line(r) for r in committed]
    expected = b"".join(wanted)
    if data == expected:
        return len(wanted), 0, 0, 0
    available = Counter(wanted)
    found, dropped = Counter(), []
    for piece in _pieces(data):
        if available[piece] > found[piece]:
            found[piece] += 1
        elif piece.strip(b"\n"):
            dropped.append(piece)
    restored = len(wanted) - sum(found.values())
    readable = sum(_readable(p) for p in dropped)
    garbage = sum(len(p) for p in dropped if not _readable(p))
    if dropped:
        with open(path + DROPPED_SUFFIX, "ab") as stream:
            stream.write(b"".join(dropped))
            stream.flush()
            os.fsync(stream.fileno())
    write_atomic(path, expected)
    if restored or dropped:
        parts = [f"kept {len(wanted) - restored} of its {len(wanted)} committed records"]
        if restored:
            parts.append(f"restored {restored} lost one(s) from the evaluation cache")
        moved = ([f"{readable} record(s) past the last checkpoint (evaluated again "
                  "now) or not written by this run"] if readable else []) + \
            ([f"{garbage} unreadable byte(s)"] if garbage else [])
        if moved:
            parts.append(f"moved {' and '.join(moved)} to "
                         f"{os.path.basename(path)}{DROPPED_SUFFIX}")
        warnings.warn(f"{context}: {path}: {'; '.join(parts)}", RuntimeWarning,
                      stacklevel=2)
    return len(wanted) - restored, restored, readable, garbage


class EvaluationLog:
    """Append-only JSON-lines log.

    :param committed: Records the log must hold before appending (a resume):
        :func:`restore_log` rewrites the file as them.
    :param truncate: Cut the file back to this many bytes instead (run folders whose
        cache holds no log records, written by earlier versions).
    """

    def __init__(self, path, truncate=None, committed=None):
        self.path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        if committed is not None:
            restore_log(self.path, committed)
            truncate = None
        self._stream = open(self.path, "a+b")
        if truncate is not None:
            self._stream.truncate(self._complete_length(truncate))
        self._stream.seek(0, os.SEEK_END)

    def _complete_length(self, wanted):
        """*wanted*, or, when the file is shorter (cut by a kill or a full disk), the
        length of its complete lines: never pad it with zeros, never keep half a line."""
        size = self._stream.seek(0, os.SEEK_END)
        if size >= wanted:
            return wanted
        self._stream.seek(0)
        data = self._stream.read(size)
        length = data.rfind(b"\n") + 1
        warnings.warn(f"{self.path} is shorter ({size} bytes) than its checkpoint "
                      f"records ({wanted}): the lines of the last evaluations are lost "
                      "from the log (their results are still in the cache)",
                      RuntimeWarning, stacklevel=3)
        return length

    def write(self, records):
        """Append *records* (dicts) and flush them to the operating system."""
        data = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)
        self._stream.write(data.encode("utf-8"))
        self._stream.flush()

    def offset(self):
        """The log's length in bytes (stored in checkpoints)."""
        return self._stream.tell()

    def close(self):
        self._stream.close()


def read_log(path):
    """The entries of an evaluation log, in order.

    A last line cut short (what a kill in the middle of a write leaves) is dropped;
    other unreadable lines are skipped with a warning naming them.
    """
    with open(path, "rb") as stream:
        lines = stream.read().split(b"\n")
    entries, bad = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line.decode("utf-8")))
        except ValueError:
            if number < len(lines):       # not the unterminated last line
                bad.append(number)
    if bad:
        warnings.warn(f"{path}: skipped unreadable line(s) {bad[:10]}"
                      f"{' ...' if len(bad) > 10 else ''}", RuntimeWarning, stacklevel=2)
    return entries


# the progress bar lived here; these names keep working
from .progress import (PhaseProgress, ProgressBar, active_progress,  # noqa: E402,F401
                       shared_progress)
