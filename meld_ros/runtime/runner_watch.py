"""A node's tie to the ``meld launch`` that started it (no rclpy here: the launcher imports it too).

``meld launch`` puts its pid in each node's environment (``RUNNER_ENV``) and
asks the kernel for SIGTERM in the node when it dies (PR_SET_PDEATHSIG). That
is one signal, sent once; ``stop_with_runner`` is the second line: a thread
that sees the runner gone (the node's parent is no longer it) and requests the
node's stop itself.
"""
from __future__ import annotations

import os
import threading

from meld_core.interruption import StopRequest

#: set by ``meld launch`` in each node's environment: the runner's pid (``stop_with_runner``)
RUNNER_ENV = "MELD_RUNNER_PID"


def stop_with_runner(stop: StopRequest, then=None, poll_s: float = 0.5) -> threading.Thread | None:
    """Under ``meld launch`` (``RUNNER_ENV`` names the runner): a daemon thread that requests ``stop`` (and
    calls ``then()``) once this process's parent is no longer the runner, i.e. the runner died. The kernel
    sends SIGTERM at that moment too (PR_SET_PDEATHSIG, ``meld_ros/launcher.py``), but one signal is all it
    sends. None (no thread) outside ``meld launch``: a node a user started by hand outlives its shell."""
    try:
        runner = int(os.environ.get(RUNNER_ENV, ""))
    except ValueError:
        return None

    def watch():
        while not stop.wait(poll_s):
            if os.getppid() != runner:
                stop.request(f"the runner (pid {runner}) is gone")
                if then is not None:
                    then()
                return
    thread = threading.Thread(target=watch, name="stop_with_runner", daemon=True)
    thread.start()
    return thread
