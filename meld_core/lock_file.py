"""A lock file that names its holder (no ROS here).

``hold(path)`` takes an exclusive ``flock`` on ``path`` without waiting and
writes this process's id into it; the lock lasts until the returned file is
closed or the process ends, however it ends (the kernel drops it), so a crash
never leaves a stale lock behind. Held by another process, it raises
``LockHeld`` with that process's id, for a message that names it. Used for a
run directory (one trainer writes it) and a ROS domain (one graph uses it).
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path


class LockHeld(RuntimeError):
    """The lock is held by another process (``holder``: its id as it wrote it, or "?")."""

    def __init__(self, path: Path, holder: str):
        super().__init__(f"{path} is held by process {holder}")
        self.path, self.holder = path, holder


def hold(path: str | Path):
    """The open lock file; LockHeld if another process holds it."""
    path = Path(path)
    fh = open(path, "a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip() or "?"
        fh.close()
        raise LockHeld(path, holder) from None
    fh.seek(0)
    fh.truncate()
    fh.write(str(os.getpid()))
    fh.flush()
    return fh
