"""Watching the processes a test started: poll a condition, tell a live process from a dead one."""
import time
from pathlib import Path


def until(condition, timeout_s: float, poll_s: float = 0.5):
    """Poll ``condition`` every ``poll_s`` until it holds or ``timeout_s`` passed; its last value."""
    deadline = time.monotonic() + timeout_s
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(poll_s)
    return value


def alive(pid: int) -> bool:
    """Whether ``pid`` runs: a zombie (a process orphaned to an init that does not reap it) counts as gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
