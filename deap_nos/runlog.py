"""Per-evaluation log lines and a plain-text progress bar.

Every evaluation of a run is one JSON line of the log (``evaluations.log`` in the run
folder)::

    {"n": 12, "step": 2, "key": "...", "fitness": [0.71], "time": 3.2, "failed": false,
     "stage": "done", "reason": null, "equation": "adam: div(m_hat, sqrt(v_hat))",
     "phase": "eaParticle"}

``phase`` names who asked for the evaluation: ``"eaParticle"``, ``"eaRegularized"``,
``"initial_population"``, or ``"initial_population:screen"`` for a screening
evaluator's result (not a fitness of ``toolbox.evaluate``). ``n`` counts the run's
distinct evaluations of that kind.

The log is append-only and shared by the phases of a run folder; a resumed run
truncates it to the length recorded in the checkpoint, so each evaluation appears
exactly once. :func:`read_log` reads it back.
"""
import json
import math
import os
import sys
import time
import warnings


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


class EvaluationLog:
    """Append-only JSON-lines log; ``truncate`` cuts it back to a checkpointed length."""

    def __init__(self, path, truncate=None):
        self.path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
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


class ProgressBar:
    """``[#####.....] 120/360 evaluations`` on stderr, redrawn at most every 0.2 s."""

    def __init__(self, total, done=0, stream=None, enabled=True, width=30,
                 label="evaluations"):
        self.total, self.done = int(total), int(done)
        self.stream = stream if stream is not None else sys.stderr
        self.enabled, self.width, self.label = enabled, width, label
        self._last = 0.0
        self._shown = False

    def update(self, n=1):
        self.done += n
        self.draw()

    def add_total(self, n):
        self.total += n

    def draw(self, force=False):
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.2 and self.done < self.total:
            return
        self._last = now
        frac = min(1.0, self.done / self.total) if self.total else 1.0
        filled = int(round(frac * self.width))
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r[{bar}] {self.done}/{self.total} {self.label}")
        self.stream.flush()
        self._shown = True

    def clear(self):
        """Erase the bar so another line can be printed."""
        if self.enabled and self._shown:
            self.stream.write("\r" + " " * (self.width + 40) + "\r")
            self.stream.flush()
            self._shown = False

    def close(self):
        if self.enabled and self._shown:
            self.draw(force=True)
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False
