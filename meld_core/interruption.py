"""Stopping a long run at a point it can resume from exactly.

A KeyboardInterrupt can land anywhere: inside an optimizer step (half the
weights updated), between a trial's random draws and its recording. So Ctrl-C
(SIGINT) and SIGTERM only *request* a stop (``StopRequest``); the trainer
looks at the request after every unit of work (a trial collected, a gradient
step, an evaluation trial) and raises ``Interrupted`` there, where its state
is whole, and saves a checkpoint from which the run continues as if it had
never stopped. A second signal does not wait: KeyboardInterrupt at once (the
last checkpoint on disk is intact).
"""
from __future__ import annotations

import signal
import threading


class Interrupted(Exception):
    """A requested stop, taken at a unit boundary."""


class StopRequest:
    """Set by a signal (or by code: ``request``); ``check`` raises Interrupted once it is set."""

    def __init__(self):
        self._event = threading.Event()
        self.reason = ""

    def request(self, reason: str = "stop requested") -> None:
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Interrupted(self.reason)

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, waking at once when a stop is requested; whether it was."""
        return self._event.wait(timeout)


def stop_on_signals(stop: StopRequest, signals=(signal.SIGINT, signal.SIGTERM)) -> None:
    """The first of ``signals`` requests ``stop``; the next raises KeyboardInterrupt (main thread)."""
    def handler(signum, frame):
        if stop.requested:
            raise KeyboardInterrupt
        stop.request(f"{signal.Signals(signum).name} received")
    for sig in signals:
        signal.signal(sig, handler)
