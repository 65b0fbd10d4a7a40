"""What stands between the policy and the motors (no ROS here; the policy node applies it).

- ``clamp_command``: a joint-velocity command of the right length, finite, and
  within the configured per-joint limits (|v_i| <= limit_i); anything else is
  an error, never forwarded.
- ``Watchdog``: the command is zero once the belief it was computed from is
  older than ``timeout`` (the belief node died or stalled), and stays zero
  until a fresh belief arrives.
- ``EStop``: once triggered, every command is zero until an explicit release.
"""
from __future__ import annotations

import numpy as np


class CommandError(ValueError):
    """A command that must not reach the robot."""


def clamp_command(command, limits: np.ndarray) -> np.ndarray:
    limits = np.asarray(limits, dtype=np.float64)
    c = np.asarray(command, dtype=np.float64)
    if c.shape != limits.shape:
        raise CommandError(f"command has {c.size} values, the robot has {limits.size} joints")
    if not np.all(np.isfinite(c)):
        raise CommandError(f"command is not finite: {c.tolist()}")
    return np.clip(c, -limits, limits)


def check_limits(limits) -> np.ndarray:
    limits = np.asarray(limits, dtype=np.float64)
    if limits.ndim != 1 or limits.size == 0 or not np.all(np.isfinite(limits)) or np.any(limits <= 0):
        raise ValueError(f"joint velocity limits must be positive finite numbers, got {limits.tolist()}")
    return limits


class Watchdog:
    def __init__(self, timeout_s: float):
        if not timeout_s > 0:
            raise ValueError(f"watchdog timeout must be > 0 s, got {timeout_s}")
        self.timeout_ns = int(timeout_s * 1e9)
        self._last_ns: int | None = None

    def feed(self, now_ns: int) -> None:
        self._last_ns = int(now_ns)

    def expired(self, now_ns: int) -> bool:
        return self._last_ns is None or now_ns - self._last_ns > self.timeout_ns


class EStop:
    def __init__(self):
        self.engaged = False

    def trigger(self) -> None:
        self.engaged = True

    def release(self) -> None:
        self.engaged = False
