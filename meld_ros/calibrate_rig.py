"""``meld calibrate-rig [key:=value ...]``: record the reset rig's pose in the robot's frame.

The reward node computes the dense reward from the plug's pose (forward
kinematics of the joint states) and the target port's pose, which needs to
know where the rig stands relative to the robot (``plug_pose.RigCalibration``).
The procedure:

1. the rig is homed and put at its zero state (rotation 0, the rail at
   ``rail_center_mm``), unless ``move_rig:=false`` (it is there already);
2. on the xs_sdk route the arm's torque goes off (``torque_off:=true``; hold
   the arm!), so that it can be moved by hand; on ros2_control, jog it with
   your own tools;
3. you seat the plug in port 0 (the end port on the robot's right) and press
   Enter: the joint states of the next half second, averaged, give the plug
   tip's position by forward kinematics; then the same for the last port (on
   the robot's left);
4. the torque comes back on, and ``calibrate_from_seats`` turns the two seats
   into the rig's pose, written to ``out`` (default: the reward node's
   ``reward_sensing.calibration_file``).

Settings as ``meld hardware-check`` (params/graph.yaml, ``params_file:=``,
then ``arm_driver``, ``robot_name``, ``dxl_port``, ``dxl_baudrate``), and
``out``, ``move_rig``, ``torque_off``.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from meld_core.config import ConfigError, build_dataclass
from meld_ros.hardware.plug_pose import CalibrationError, PlugKinematics, calibrate_from_seats
from meld_ros.hardware_check import Probe, settings
from meld_ros.runtime.node_params import ResetRigParams
from meld_sim_bridge.envs.widowx_cable import N_PORTS

OPTIONS = {"out": "", "move_rig": "true", "torque_off": "true"}


def _split(argv: list[str]) -> tuple[list[str], dict]:
    """The hardware-check settings, and this command's own options."""
    rest, own = [], dict(OPTIONS)
    for a in argv:
        k = a.split(":=", 1)[0]
        if k in OPTIONS and ":=" in a:
            own[k] = a.split(":=", 1)[1]
        else:
            rest.append(a)
    for k in ("move_rig", "torque_off"):
        if own[k] not in ("true", "false"):
            raise ConfigError(f"{k} must be true or false, got {own[k]!r}")
    return rest, own


class JointReader:
    """The arm's joint positions from its driver's joint states, averaged over a short window."""

    def __init__(self, probe: Probe, topic: str):
        from sensor_msgs.msg import JointState

        from meld_ros.hardware.arm_limits import WX250, positions_in_order
        from meld_ros.runtime.node_runtime import RELIABLE

        self.probe, self.topic, self.samples = probe, topic, []
        probe.node.create_subscription(JointState, topic, lambda m: self.samples.append(
            positions_in_order(m.name, m.position, WX250.names)), RELIABLE)

    def average(self, seconds: float = 0.5, wait_s: float = 0.0) -> np.ndarray:
        """The mean position over ``seconds``; ``wait_s``: first wait this long at most for a joint state to
        come (the subscription has just been made: discovery takes a moment, longer on a loaded machine)."""
        self.samples.clear()
        if wait_s:
            self.probe.spin_for(wait_s, until=lambda: any(q is not None for q in self.samples))
            self.samples.clear()
        self.probe.spin_for(seconds)
        good = [q for q in self.samples if q is not None]
        if not good:
            raise CalibrationError(f"no joint states on {self.topic}: is the arm's driver running?")
        return np.mean(good, axis=0)


def _torque(probe: Probe, robot: str, enable: bool) -> None:
    from interbotix_xs_msgs.srv import TorqueEnable

    client = probe.node.create_client(TorqueEnable, f"/{robot}/torque_enable")
    if not client.wait_for_service(timeout_sec=5.0):
        raise CalibrationError(f"/{robot}/torque_enable did not answer: is xs_sdk running?")
    future = client.call_async(TorqueEnable.Request(cmd_type="group", name="arm", enable=enable))
    probe.spin_for(5.0, until=future.done)


def calibrate(argv: list[str], ask=input, say=print) -> Path:
    from meld_ros.hardware.rig_motors import RigError, RigMotors
    from meld_ros.reset_rig_node import rig_geometry
    from meld_ros.runtime.arm_route import joint_states_topic

    rest, own = _split(argv)
    sections, _ = settings(rest)
    arm, reward = sections["arm_adapter"], sections["reward_sensing"]
    out = Path(os.path.expanduser(own["out"] or reward["calibration_file"]))
    rig = build_dataclass(ResetRigParams, sections["reset_rig"], "reset_rig")
    motors = None
    if own["move_rig"] == "true":
        motors = RigMotors(rig.dxl_port, rig.dxl_baudrate, rig_geometry(rig))
        try:
            motors.open()
            motors.home()
            motors.move_to(0.0, rig.rail_center_mm)
        except (RigError, ValueError) as exc:
            raise CalibrationError(f"the rig could not go to its zero state: {exc}") from None
        say(f"the rig is at its zero state (rotation 0, rail at {rig.rail_center_mm:g} mm)")
    probe = Probe()
    xs = arm["driver"] == "xs_sdk" and own["torque_off"] == "true"
    try:
        reader = JointReader(probe, joint_states_topic(arm["driver"], arm["robot_name"], arm["joint_states_topic"]))
        reader.average(0.5, wait_s=10.0)          # the driver is there before anything else happens
        if xs:
            say("the arm's torque goes off now: hold it")
            _torque(probe, arm["robot_name"], False)
        fk = PlugKinematics()
        seats = []
        for port, where in ((0, "the end port on the robot's right"), (N_PORTS - 1, "the end port on its left")):
            ask(f"seat the plug in port {port} ({where}), let go, then press Enter ")
            seats.append(fk.tip_pose(reader.average(0.5))[0])
            say(f"port {port}: plug tip at ({seats[-1][0]:.4f}, {seats[-1][1]:.4f}, {seats[-1][2]:.4f}) m")
    finally:
        try:
            if xs:
                _torque(probe, arm["robot_name"], True)
        finally:
            probe.close()
            if motors is not None:
                motors.close()
    calibration = calibrate_from_seats(*seats)
    out.parent.mkdir(parents=True, exist_ok=True)
    calibration.save(out)
    x, y, z = calibration.front_centre_m
    say(f"rig calibration written to {out}: switch front at ({x:.4f}, {y:.4f}, {z:.4f}) m, yaw {calibration.yaw_deg:.2f} deg")
    return out


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    try:
        calibrate(argv, say=lambda text: print(text, flush=True))
    except (ConfigError, CalibrationError) as exc:
        print(f"meld calibrate-rig: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, EOFError):
        print("meld calibrate-rig: stopped; nothing written", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
