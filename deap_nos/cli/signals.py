"""Stopping a command: SIGINT and SIGTERM become ``KeyboardInterrupt``.

A search stopped by Ctrl-C or by a scheduler's SIGTERM must reach the code that
terminates its workers and prints the resume hint, and exit with ``128 + signal``;
:func:`_stop_on_signals` installs the handlers for the duration of :func:`main
<deap_nos.cli.main>` and remembers which signal stopped it.
"""
import signal
import threading


_STOP = {"signal": signal.SIGINT}


def _stop(signum, frame):
    _STOP["signal"] = signum
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _stop_on_signals():
    """Make SIGINT (Ctrl-C) and SIGTERM (a scheduler's stop) raise KeyboardInterrupt,
    also when the command was started with SIGINT ignored (a shell script's
    background job); return the previous handlers."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    _STOP["signal"] = signal.SIGINT
    return {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}


def _restore_signals(previous):
    for signum, handler in previous.items():
        signal.signal(signum, handler)
