"""One writer per run folder: the lock ``deap-nos search`` holds on its ``--run-dir``.

Two searches in one folder (or a ``--resume`` while the first still runs) would append
each evaluation twice to the log and cache, or truncate the other's log and mix two
seeds. :func:`acquire` creates ``run.lock`` atomically (``O_CREAT | O_EXCL``) holding
the owner's PID, host and process start time; a second writer finds it and is refused
at once, naming the owner's PID. A lock whose process is gone (a SIGKILLed run, a
crashed machine) is *stale*: it is taken over, with a message naming the dead PID. The
start time tells a live owner from an unrelated process that reuses its PID.

A lock written on another host cannot be checked from here: it is refused, and the
message says to delete it once that run is known to have ended.
"""
import json
import os
import socket
import time

from ..errors import NOSError

#: File name of the lock inside a run folder.
LOCK_NAME = "run.lock"


class RunFolderBusy(NOSError):
    """Another live process is writing this run folder."""


def _start_time(pid):
    """The start time of process *pid* in clock ticks since boot (Linux), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stream:
            fields = stream.read().rsplit(")", 1)[1].split()
        return int(fields[19]), fields[0]
    except (OSError, ValueError, IndexError):
        return None


def _alive(owner):
    """Whether the process that wrote *owner* (a lock's contents) still runs."""
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:     # another user's process: it exists
        pass
    stat = _start_time(pid)
    if stat is None:
        return True             # no /proc: the PID exists, assume it is the owner
    start, state = stat
    if state in ("Z", "X"):     # a zombie no one reaped: it has ended
        return False
    return owner.get("start") in (None, start)


def _owner_text(owner):
    when = f", since {owner['time']}" if owner.get("time") else ""
    return f"PID {owner.get('pid')} on {owner.get('host')}{when}"


def _read(path):
    try:
        with open(path, encoding="utf-8") as stream:
            owner = json.load(stream)
        return owner if isinstance(owner, dict) else {}
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}                # torn by a kill while it was written: stale


class RunLock:
    """The lock of one run folder, held by this process until :meth:`release`."""

    def __init__(self, folder, path, previous=None):
        self.folder, self.path, self.previous = folder, path, previous

    def release(self):
        """Remove the lock if it is still ours."""
        owner = _read(self.path)
        if owner is not None and owner.get("pid") == os.getpid():
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def _contents():
    stat = _start_time(os.getpid())
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "start": stat[0] if stat else None,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def _create(path):
    """Create the lock file; False if it exists."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        json.dump(_contents(), stream)
        stream.write("\n")
    return True


def acquire(folder, notify=None):
    """Lock the run folder *folder* for this process.

    :param notify: Called with a one-line message when a stale lock is taken over.
    :returns: A :class:`RunLock` (its ``previous`` is the stale owner taken over, or None).
    :raises RunFolderBusy: another live process holds the lock (the message names its
        PID), or a lock from another host cannot be checked.
    """
    path = os.path.join(os.fspath(folder), LOCK_NAME)
    for _ in range(5):
        if _create(path):
            return RunLock(folder, path)
        owner = _read(path)
        if owner is None:
            continue             # released in between: try again
        if owner.get("pid") == os.getpid() and owner.get("host") == socket.gethostname():
            return RunLock(folder, path)      # this process already holds it
        if owner and owner.get("host") not in (None, socket.gethostname()):
            raise RunFolderBusy(
                f"run folder {folder} is locked by {_owner_text(owner)}, another machine: "
                f"if that run has ended, delete {path} and start again")
        if owner and _alive(owner):
            raise RunFolderBusy(
                f"run folder {folder} is in use by {_owner_text(owner)}: two writers "
                f"would mix their evaluations. Wait for it to end or stop it "
                f"(kill {owner.get('pid')}), or use another --run-dir")
        # stale: the owner is gone. Replace the file atomically, then check we won
        tmp = f"{path}.{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as stream:
            json.dump(_contents(), stream)
            stream.write("\n")
        os.replace(tmp, path)
        mine = _read(path)
        if mine and mine.get("pid") == os.getpid():
            if notify is not None:
                who = f"PID {owner.get('pid')}" if owner else "a process"
                notify(f"deap-nos: run folder {folder} was locked by {who}, which is no "
                       "longer running (a killed run); taking the lock over")
            return RunLock(folder, path, previous=owner)
    raise RunFolderBusy(f"could not lock run folder {folder}: {path} keeps changing; "
                        "is another search starting there?")
