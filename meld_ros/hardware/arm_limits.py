"""Joint limits the arm driver does not enforce, and homing between episodes (no ROS here).

Interbotix's ``xs_sdk`` writes group commands straight to the motors, with no
joint-limit check and no time-out (its README says so), and a
``forward_command_controller`` of ros2_control does the same. So the arm
adapter enforces, on every command it passes on:

- ``safe_velocities``: the command has one finite value per joint (else
  CommandError: the adapter sends zero), each clamped to the joint's velocity
  limit, and the component that would drive a joint further past
  ``lower + margin`` or ``upper - margin`` is zero (the others still move:
  the arm can always back away from a limit). Without a recent joint state
  the adapter cannot know where the limits are: every component is zero.
- ``homing_velocities``: a bounded proportional controller in joint space
  towards the home pose, v = clip(gain (q_home - q), +-home_speed) (also
  passed through ``safe_velocities``, with the limits themselves in place of
  the margin: the home pose may lie within it), and ``at_home`` within a tolerance.

``WX250`` holds the limits of the wx250 (Interbotix's URDF): waist +-pi,
shoulder -108..114 deg, elbow -123..92 deg, wrist_angle -100..123 deg,
wrist_rotate +-pi, joint velocity pi rad/s.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from meld_ros.rosfree.safety import CommandError


@dataclass(frozen=True)
class JointLimits:
    names: tuple[str, ...]
    lower: tuple[float, ...]          #: rad
    upper: tuple[float, ...]          #: rad
    velocity: tuple[float, ...]       #: rad/s
    margin: float = 0.05              #: rad before a position limit where motion towards it stops

    def __post_init__(self):
        n = len(self.names)
        if not (len(self.lower) == len(self.upper) == len(self.velocity) == n) or n == 0:
            raise ValueError("joint limits need one lower, upper and velocity limit per joint name")
        if any(lo >= hi for lo, hi in zip(self.lower, self.upper)) or any(v <= 0 for v in self.velocity):
            raise ValueError(f"joint limits must have lower < upper and velocity > 0: {self}")


WX250 = JointLimits(names=("waist", "shoulder", "elbow", "wrist_angle", "wrist_rotate"),
                    lower=(-np.pi, np.deg2rad(-108), np.deg2rad(-123), np.deg2rad(-100), -np.pi),
                    upper=(np.pi, np.deg2rad(114), np.deg2rad(92), np.deg2rad(123), np.pi),
                    velocity=(np.pi,) * 5)


def safe_velocities(command, positions, limits: JointLimits) -> np.ndarray:
    """What the motors may receive for ``command`` (rad/s) at joint ``positions`` (rad; None: unknown)."""
    n = len(limits.names)
    c = np.asarray(command, dtype=np.float64)
    if c.shape != (n,):
        raise CommandError(f"command has {c.size} values, the arm has {n} joints {list(limits.names)}")
    if not np.all(np.isfinite(c)):
        raise CommandError(f"command is not finite: {c.tolist()}")
    if positions is None:
        return np.zeros(n)
    q = np.asarray(positions, dtype=np.float64)
    if q.shape != (n,) or not np.all(np.isfinite(q)):
        return np.zeros(n)
    v = np.clip(c, -np.asarray(limits.velocity), np.asarray(limits.velocity))
    too_high = (q >= np.asarray(limits.upper) - limits.margin) & (v > 0)
    too_low = (q <= np.asarray(limits.lower) + limits.margin) & (v < 0)
    v[too_high | too_low] = 0.0
    return v


def homing_velocities(positions, home, limits: JointLimits, gain: float = 2.0, home_speed: float = 0.5) -> np.ndarray:
    """One step of the bounded joint-space controller towards ``home``."""
    q, h = np.asarray(positions, dtype=np.float64), np.asarray(home, dtype=np.float64)
    # the home pose is checked to lie within the limits; it may lie inside the margin (widowx-cable's elbow
    # does), so homing stops at the limits themselves, not at the margin before them
    return safe_velocities(np.clip(gain * (h - q), -home_speed, home_speed), q, replace(limits, margin=0.0))


def at_home(positions, home, tolerance: float = 0.02) -> bool:
    return bool(np.all(np.abs(np.asarray(positions, dtype=np.float64) - np.asarray(home, dtype=np.float64)) <= tolerance))


def positions_in_order(names, positions, wanted) -> np.ndarray | None:
    """The positions of the joints ``wanted``, in that order, from a JointState's ``name`` and ``position``;
    None if one is missing, a position is not finite, or the two lists differ in length (malformed)."""
    index = {n: i for i, n in enumerate(names)}
    if len(positions) != len(names) or not all(n in index for n in wanted):
        return None
    q = np.array([positions[index[n]] for n in wanted], dtype=np.float64)
    return q if np.all(np.isfinite(q)) else None
