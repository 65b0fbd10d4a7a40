"""Live progress of a long run: one line that a terminal updates in place and a log file keeps.

The trainer reports a ``Status`` after every unit of work (a trial, a gradient
step, an evaluation trial): the job, its phase (pre-training collection and
model steps, collection, training, evaluation, meta-test), units done and to
do, the time spent and left, and the latest held-out success. A
``ProgressReporter`` turns that into text at a pace fit for where it goes:

- a terminal: one line rewritten in place (``StatusBoard``), a few times a second;
- a pipe to ``meld launch`` on a terminal (``MELD_PROGRESS_LIVE=1``, set by
  the launcher): a line each ``LIVE_EVERY_S``, starting with ``PREFIX``, which
  the launcher shows in place on its own status line for that process;
- anything else (a log file, ``ros2 launch``): a line each ``LOG_EVERY_S``, and
  whenever a new held-out success is measured or the phase changes to or from
  evaluation, so that the log keeps the history without a flood.
"""
from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from dataclasses import dataclass

#: progress lines start with this (the launcher renders them in place on a terminal)
PREFIX = "progress: "
LIVE_EVERY_S = 0.5
LOG_EVERY_S = 30.0
TERMINAL_EVERY_S = 0.2
#: set by ``meld launch`` for the processes it runs when its own output is a terminal
LIVE_ENV = "MELD_PROGRESS_LIVE"


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


@dataclass
class Status:
    job: str                              #: e.g. "meta-train point2d (cpu)"
    phase: str                            #: e.g. "training", "evaluation"
    done: int                             #: units of the phase done
    total: int                            #: units of the phase in all
    unit: str                             #: "trials", "model steps"
    iteration: int | None = None
    iterations: int | None = None         #: None when a time budget bounds the run
    env_steps: int | None = None
    elapsed_s: float = 0.0
    left_s: float | None = None           #: estimate; None if unknown
    success: list | None = None           #: latest held-out success per episode of a trial
    success_at: int | None = None         #: the iteration it was measured at
    success_of: str = "held-out success"  #: what ``success`` is ("success so far" in a meta-test)

    def text(self) -> str:
        parts = [self.job]
        if self.iteration is not None:
            parts.append(f"iteration {self.iteration}" + (f"/{self.iterations}" if self.iterations else ""))
        parts.append(f"{self.phase} {self.done}/{self.total} {self.unit}")
        parts.append(f"{_clock(self.elapsed_s)} elapsed, ~{_clock(self.left_s)} left")
        if self.success:
            parts.append(f"{self.success_of} " + " / ".join(f"{100 * s:.0f}%" for s in self.success)
                         + (f" (iteration {self.success_at})" if self.success_at is not None else ""))
        if self.env_steps is not None:
            parts.append(f"{self.env_steps:,} env steps")
        return " | ".join(parts)


class StatusBoard:
    """Status lines kept at the bottom of a terminal, one per source, rewritten in place (joined into one
    line, cut to the terminal's width so that it never wraps); other output scrolls above them."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self._status: dict[str, str] = {}
        self._lock = threading.Lock()

    def _draw(self) -> None:
        width = shutil.get_terminal_size((120, 20)).columns - 1
        text = "  ·  ".join((f"[{k}] " if k else "") + v for k, v in self._status.items())
        self.stream.write("\r\x1b[2K" + text[:width])
        self.stream.flush()

    def status(self, source: str, text: str) -> None:
        with self._lock:
            self._status[source] = text
            self._draw()

    def line(self, text: str) -> None:
        """A line of ordinary output, above the status line."""
        with self._lock:
            self.stream.write(("\r\x1b[2K" if self._status else "") + text.rstrip("\n") + "\n")
            if self._status:
                self._draw()
            else:
                self.stream.flush()

    def close(self) -> None:
        with self._lock:
            if self._status:
                self.stream.write("\n")
                self.stream.flush()
                self._status.clear()


class ProgressReporter:
    """``reporter(status)``: the trainer's progress as text, at the pace of where it goes (module doc).
    ``mode``: "terminal" (in place), "live" (lines for a launcher on a terminal), "log"; default from
    the stream and the environment."""

    def __init__(self, stream=None, mode: str | None = None):
        self.stream = stream or sys.stderr
        if mode is None:
            if hasattr(self.stream, "isatty") and self.stream.isatty():
                mode = "terminal"
            else:
                mode = "live" if os.environ.get(LIVE_ENV) == "1" else "log"
        if mode not in ("terminal", "live", "log"):
            raise ValueError(f"progress mode must be terminal, live or log, got {mode!r}")
        self.mode = mode
        self.every_s = {"terminal": TERMINAL_EVERY_S, "live": LIVE_EVERY_S, "log": LOG_EVERY_S}[mode]
        self._board = StatusBoard(self.stream) if mode == "terminal" else None
        self._last_at = -float("inf")
        self._last: Status | None = None

    def __call__(self, status: Status) -> None:
        now = time.monotonic()
        last, self._last = self._last, status
        milestone = last is not None and (status.success_at != last.success_at
                                          or (status.phase == "evaluation") != (last.phase == "evaluation"))
        if now - self._last_at < self.every_s and not (milestone and self.mode == "log"):
            return
        self._last_at = now
        if self._board is not None:
            self._board.status("", status.text())
        else:
            self.stream.write(PREFIX + status.text() + "\n")
            self.stream.flush()

    def line(self, text: str) -> None:
        """A line of ordinary output (a log message): above the status line on a terminal."""
        if self._board is not None:
            self._board.line(text)
        else:
            self.stream.write(text.rstrip("\n") + "\n")
            self.stream.flush()

    def close(self) -> None:
        """The last status, then leave the line (a terminal's cursor goes below it)."""
        if self._last is not None:
            self._last_at = -float("inf")
            self(self._last)
        if self._board is not None:
            self._board.close()
