"""Per-evaluation log lines and the progress bar of a run.

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
import contextlib
import functools
import json
from collections import Counter
import math
import os
import sys
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
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as stream:
        stream.write(expected)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(tmp, path)
    if restored or dropped:
        parts = [f"kept {len(wanted) - restored} of its {len(wanted)} committed records"]
        if restored:
            parts.append(f"restored {restored} lost one(s) from the evaluation cache")
        if dropped:
            parts.append(f"moved {readable} record(s) past the last checkpoint or not "
                         f"written by this run and {garbage} unreadable byte(s) to "
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


class _Lines:
    """A file for tqdm that turns its in-place redraws (``"\\r" + status``) into plain
    lines: what a log file or a CI page shows well. Erasures write nothing."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        for part in str(text).split("\r"):
            line = part.rstrip()
            if line:
                self.stream.write(line + "\n")

    def flush(self):
        self.stream.flush()


def _is_terminal(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):   # no isatty, or a closed stream
        return False


@functools.lru_cache(maxsize=None)
def _tqdm_class():
    """tqdm without its monitor thread (which only tunes ``miniters``, fixed at 1 here):
    no thread is running when the process pool forks its workers."""
    from tqdm import tqdm

    class Bar(tqdm):
        monitor_interval = 0

    return Bar


class ProgressBar:
    """A tqdm progress bar of a run's evaluations, on stderr, with rate and ETA::

        evaluations:  33%|███▎      | 120/360 [01:10<02:20, 1.71eval/s]

    On a terminal it redraws in place. Elsewhere (a log file, a pipe, CI) it writes a
    plain line at most every *interval* seconds and a last one at :meth:`close`, instead
    of tqdm's carriage-return redraws, which a log shows as one endless line.

    ``done`` and ``total`` are plain counters the engine reads, sets (a resumed run) and
    checkpoints; they are kept when the bar is disabled. The tqdm bar itself starts at
    the first :meth:`update` or :meth:`draw`, so a phase that does nothing shows nothing.
    Lines printed during a run go between :meth:`clear` and ``draw(force=True)``.
    """

    def __init__(self, total, done=0, stream=None, enabled=True, label="evaluations",
                 interval=30.0):
        self._total, self._done = int(total), int(done)
        self.stream = stream if stream is not None else sys.stderr
        self.enabled, self.label, self.interval = enabled, label, interval
        self._bar, self._terminal = None, False

    @property
    def done(self):
        return self._done

    @done.setter
    def done(self, value):
        self._done = int(value)
        if self._bar is not None:
            self._bar.n = self._bar.last_print_n = self._done

    @property
    def total(self):
        return self._total

    @total.setter
    def total(self, value):
        self._total = int(value)
        if self._bar is not None:
            self._bar.total = self._total

    def _start(self):
        terminal = self._terminal = _is_terminal(self.stream)
        options = {} if terminal else {"mininterval": self.interval, "ncols": 80}
        self._bar = _tqdm_class()(
            total=self._total, initial=self._done, desc=self.label, unit="eval",
            file=self.stream if terminal else _Lines(self.stream), miniters=1,
            leave=True, dynamic_ncols=terminal, **options)
        return self._bar

    def update(self, n=1):
        """Count *n* more evaluations done."""
        if self.enabled and self._bar is None:
            self._start()
        self._done += n
        if self._bar is not None:
            self._bar.update(n)

    def add_total(self, n):
        """Plan *n* more evaluations (re-drawn mutants)."""
        self.total = self._total + n

    def draw(self, force=False):
        """Show the bar (started if needed); *force* redraws it now on a terminal (a log
        gets its next line on time)."""
        if not self.enabled:
            return
        if self._bar is None:
            self._start()
        elif force and self._terminal:
            self._bar.refresh()

    def clear(self):
        """Erase the bar so another line can be printed (a log's lines need no erasing)."""
        if self._bar is not None and self._terminal:
            self._bar.clear()

    def close(self):
        """Show the final count and end the bar's line."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    # -- one bar for the phases of a run
    def reserve(self, planned):
        """Set the whole run's planned evaluations as the total, before its phases
        start: each phase then draws its own plan from it (:meth:`phase`)."""
        self._reserved = int(planned)
        self.total = int(planned)

    def phase(self, planned):
        """A view of this bar for one phase of the run that plans *planned*
        evaluations (:class:`PhaseProgress`)."""
        reserved = getattr(self, "_reserved", 0)
        taken = min(reserved, int(planned))
        self._reserved = reserved - taken
        if planned > taken:
            self.add_total(planned - taken)
        return PhaseProgress(self, planned)


class PhaseProgress:
    """One phase's share of a run's :class:`ProgressBar` (``deap-nos search``: the
    initial population then the algorithm, one bar from the first evaluation).

    ``done`` and ``total`` read and set the phase's own counts (what the engine
    checkpoints and restores); changes move the shared bar by the same amounts.
    :meth:`close` leaves the bar to its owner."""

    def __init__(self, bar, planned):
        self.bar, self._base, self._total = bar, bar.done, int(planned)
        self.enabled = bar.enabled

    @property
    def done(self):
        return self.bar.done - self._base

    @done.setter
    def done(self, value):
        self.bar.done = self._base + int(value)

    @property
    def total(self):
        return self._total

    @total.setter
    def total(self, value):
        self.bar.total = self.bar.total + int(value) - self._total
        self._total = int(value)

    def update(self, n=1):
        self.bar.update(n)

    def add_total(self, n):
        self.total = self._total + n

    def draw(self, force=False):
        self.bar.draw(force)

    def clear(self):
        self.bar.clear()

    def close(self):
        """The bar goes on into the next phase: its owner closes it."""


_SHARED = []


@contextlib.contextmanager
def shared_progress(bar):
    """Within the block, every search phase (:mod:`deap_nos.engine`) counts on *bar*
    instead of drawing its own; the bar is closed at the end."""
    _SHARED.append(bar)
    try:
        yield bar
    finally:
        _SHARED.remove(bar)
        bar.close()


def active_progress():
    """The bar of :func:`shared_progress`, or None."""
    return _SHARED[-1] if _SHARED else None
