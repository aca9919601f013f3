"""The progress bar of a run (tqdm on stderr), and one bar for a search's phases.

:class:`ProgressBar` counts a run's evaluations; ``deap-nos search`` shows one bar
from the initial population's first evaluation to the algorithm's last
(:func:`shared_progress`: each phase of the engine counts on a :class:`PhaseProgress`
view of it), whose total ends at the count of evaluations the report gives.
"""
import contextlib
import functools
import sys


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
    """Within the block, every search phase (:mod:`deap_nos.search.engine`) counts on *bar*
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
