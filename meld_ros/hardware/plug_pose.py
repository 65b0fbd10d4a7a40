"""Where the plug and the target port are on the real robot: forward kinematics and the rig's calibration.

The dense reward of the cable insertion (``widowx_cable.dense_insertion_reward``)
needs the plug tip's pose (p, R) and the target port's seated pose (p*, R*),
both in the robot's base frame. In simulation MuJoCo knows both; on the robot:

- (p, R) = FK(q): forward kinematics of the arm's joint positions q on the
  same wx250 model the simulation uses (``PlugKinematics``: the URDF expanded
  at set-up, with the plug held between the fingers as in simulation);
- (p*, R*) from the rig state and a calibration of the rig in the base frame
  (``RigCalibration``): the switch's front-face centre c0 at the rig's zero
  state, its yaw psi0 about the vertical, and the rail's direction u (unit,
  horizontal). For rig state (rotation theta, translation t, port k):

      R* = Rz(psi0 + theta),   p* = c0 + t u + R* s_k,

  with s_k the seat of port k in the rig frame (``port_seat_in_rig``). The
  calibration that reproduces the simulated rig is ``SIMULATED_RIG``.

``calibrate_from_seats`` finds the calibration from the plug tip seated by
hand in the first and the last port with the rig at its zero state: the seats
lie on the rig's y axis, symmetric about c0's line, so psi0 is the direction
from the first seat to the last, and c0 their midpoint less the seat depth
along the rig's x axis. No ROS here.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import yaml

from meld_sim_bridge.envs.widowx_cable import (ARM_JOINTS, N_PORTS, RIG_POS, TIP_SITE, build_widowx_spec,
                                               port_seat_in_rig)
from meld_sim_bridge.rendering import mujoco


class CalibrationError(ValueError):
    """A calibration file that is missing, malformed or not physically possible."""


def yaw_matrix(deg: float) -> np.ndarray:
    c, s = np.cos(np.deg2rad(deg)), np.sin(np.deg2rad(deg))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class RigCalibration:
    front_centre_m: tuple[float, float, float]    #: c0: the switch's front-face centre at the rig's zero state
    yaw_deg: float                                  #: psi0: the rig's yaw at its zero state
    rail_axis: tuple[float, float, float]           #: u: the direction of positive rail translation

    def __post_init__(self):
        u = np.asarray(self.rail_axis, float)
        if len(self.front_centre_m) != 3 or u.shape != (3,) or not np.all(np.isfinite(u)) \
                or not np.all(np.isfinite(self.front_centre_m)) or not np.isfinite(self.yaw_deg):
            raise CalibrationError(f"a rig calibration needs a finite 3-vector front_centre_m and rail_axis and a "
                                   f"finite yaw_deg, got {self}")
        if abs(np.linalg.norm(u) - 1.0) > 1e-3:
            raise CalibrationError(f"rail_axis must be a unit vector, got {self.rail_axis} (length {np.linalg.norm(u):.4f})")

    def port_pose(self, rotation_deg: float, translation_m: float, port: int) -> tuple[np.ndarray, np.ndarray]:
        """(p*, R*) of ``port``'s seat in the robot's base frame at rig state (rotation, translation)."""
        if port not in range(N_PORTS):
            raise ValueError(f"port must be 0..{N_PORTS - 1}, got {port}")
        R = yaw_matrix(self.yaw_deg + rotation_deg)
        p = np.asarray(self.front_centre_m) + translation_m * np.asarray(self.rail_axis) + R @ port_seat_in_rig(port)
        return p, R

    def nearest_port(self, tip: np.ndarray, rotation_deg: float, translation_m: float) -> int:
        """The port whose seat is nearest the plug tip (which port a seated plug is in)."""
        return int(np.argmin([np.linalg.norm(tip - self.port_pose(rotation_deg, translation_m, k)[0])
                              for k in range(N_PORTS)]))

    def save(self, path: str | Path) -> None:
        data = {k: (list(map(float, v)) if isinstance(v, tuple) else float(v)) for k, v in asdict(self).items()}
        Path(path).write_text("# the reset rig's pose in the robot's base frame (meld calibrate-rig; "
                              "meld_ros/hardware/plug_pose.py)\n" + yaml.safe_dump(data, sort_keys=False))

    @classmethod
    def load(cls, path: str | Path) -> "RigCalibration":
        try:
            data = yaml.safe_load(Path(path).read_text())
        except FileNotFoundError:
            raise CalibrationError(f"no rig calibration at {path}: run `./meld calibrate-rig` "
                                   f"(README, \"The real robot\")") from None
        except yaml.YAMLError as exc:
            raise CalibrationError(f"{path}: not valid YAML ({exc})") from None
        keys = {"front_centre_m", "yaw_deg", "rail_axis"}
        if not isinstance(data, dict) or set(data) != keys:
            raise CalibrationError(f"{path} must hold exactly {sorted(keys)}, got {data!r}")
        try:
            return cls(tuple(float(v) for v in data["front_centre_m"]), float(data["yaw_deg"]),
                       tuple(float(v) for v in data["rail_axis"]))
        except (TypeError, ValueError) as exc:
            raise CalibrationError(f"{path}: {exc}") from None


#: the rig as the simulation places it (widowx_cable.RIG_POS, no yaw, the rail along y)
SIMULATED_RIG = RigCalibration(tuple(float(v) for v in RIG_POS), 0.0, (0.0, 1.0, 0.0))


def calibrate_from_seats(first_seat: np.ndarray, last_seat: np.ndarray) -> RigCalibration:
    """The calibration from the plug tip seated in port 0 and in port N-1, the rig at its zero state."""
    d = np.asarray(last_seat, float) - np.asarray(first_seat, float)
    spacing = float(np.linalg.norm(port_seat_in_rig(N_PORTS - 1) - port_seat_in_rig(0)))
    if abs(np.linalg.norm(d) - spacing) > 0.01:
        raise CalibrationError(f"the two seats are {100 * np.linalg.norm(d):.1f} cm apart, the first and last "
                               f"ports {100 * spacing:.1f} cm: was the plug in port 0 and port {N_PORTS - 1}?")
    yaw = float(np.degrees(np.arctan2(-d[0], d[1])))       # the rig's y axis, (-sin psi, cos psi), points first -> last
    R = yaw_matrix(yaw)
    centre = (np.asarray(first_seat) + np.asarray(last_seat)) / 2 - R @ np.array([port_seat_in_rig(0)[0], 0.0, 0.0])
    return RigCalibration(tuple(float(v) for v in centre), yaw, tuple(float(v) for v in R @ np.array([0.0, 1.0, 0.0])))


class PlugKinematics:
    """(p, R) = FK(q): the plug tip's pose in the base frame from the arm's joint positions, on the wx250
    model of the simulation (kinematics only: nothing is simulated or rendered)."""

    joint_names = tuple(ARM_JOINTS)

    def __init__(self):
        self.model = build_widowx_spec().compile()
        self.data = mujoco.MjData(self.model)
        ids = [self.model.joint(n).id for n in ARM_JOINTS]
        self._qadr = self.model.jnt_qposadr[ids]
        self._tip = self.model.site(TIP_SITE).id

    def tip_pose(self, q) -> tuple[np.ndarray, np.ndarray]:
        q = np.asarray(q, dtype=np.float64)
        if q.shape != (len(ARM_JOINTS),) or not np.all(np.isfinite(q)):
            raise ValueError(f"joint positions must be {len(ARM_JOINTS)} finite numbers ({', '.join(ARM_JOINTS)}), got {q}")
        self.data.qpos[self._qadr] = q
        mujoco.mj_kinematics(self.model, self.data)
        return self.data.site_xpos[self._tip].copy(), self.data.site_xmat[self._tip].reshape(3, 3).copy()
