"""``meld hardware-check [key:=value ...]``: each device of the real robot in turn, before a long run.

Checks, with the drivers up (``xs_sdk`` or the ros2_control controller, the
camera drivers) and nothing of meld's own holding the rig's port:

- cameras: each camera topic streams at the expected rate (``camera_rate``,
  default ``opencv_camera.framerate``, at least 80% of it) in an encoding
  camera fusion takes;
- arm: joint states arrive on the route's topic, and a small safe step
  (``step_rad`` on the waist at 0.1 rad/s, through the same joint-limit checks
  as the arm adapter, then back) moves the waist by about that much; zero is
  sent at the end, and on any failure;
- reset rig: the rig's bus opens, both motors answer, the rail homes, a test
  task is reached (and the time it took), then the centre again; torque off;
- insertion sensor: the link of ``link_interface`` can be read, or the
  managed switch answers for the rig's ports (``insertion_sensor: snmp``);
- rig calibration: the calibration file the reward node reads is there and valid.

It prints a table of what works and what to fix, and exits 0 only if all
passed. Settings come from params/graph.yaml (the ``arm_adapter``,
``reset_rig``, ``reward_sensing`` and ``opencv_camera`` sections), then
``params_file:=`` (the file given to the launch), then these keys:
``arm_driver``, ``robot_name``, ``cameras`` (comma-separated topics),
``camera_rate``, ``dxl_port``, ``dxl_baudrate``, ``insertion_sensor``,
``link_interface``, ``sysfs_net``, ``snmp_host``, ``snmp_port``,
``calibration_file``, ``step_rad``, ``skip`` (comma-separated: cameras, arm,
rig, sensor, calibration).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import yaml

from meld_core.config import ConfigError, build_dataclass
from meld_ros.graph import CAMERAS, GraphError
from meld_ros.launcher import parse_arguments
from meld_ros.hardware.device_checks import Check, check_calibration, check_insertion_sensor, check_rig, table
from meld_ros.runtime.node_params import ResetRigParams, defaults

DEVICES = ("cameras", "arm", "rig", "sensor", "calibration")
KEYS = {"arm_driver": ("arm_adapter", "driver"), "robot_name": ("arm_adapter", "robot_name"),
        "dxl_port": ("reset_rig", "dxl_port"), "dxl_baudrate": ("reset_rig", "dxl_baudrate"),
        "link_interface": ("reward_sensing", "link_interface"), "sysfs_net": ("reward_sensing", "sysfs_net"),
        "calibration_file": ("reward_sensing", "calibration_file"), "camera_rate": ("opencv_camera", "framerate"),
        "insertion_sensor": ("reward_sensing", "insertion_sensor"), "snmp_host": ("reward_sensing", "snmp_host"),
        "snmp_port": ("reward_sensing", "snmp_port")}
EXTRA = {"cameras": ",".join(CAMERAS), "step_rad": "0.1", "skip": "", "params_file": ""}


def settings(argv: list[str]) -> tuple[dict, dict]:
    """(sections of graph.yaml with params_file and the keys applied, the other keys)."""
    try:
        given = parse_arguments(argv)
    except GraphError as exc:
        raise ConfigError(str(exc)) from None
    unknown = sorted(set(given) - set(KEYS) - set(EXTRA))
    if unknown:
        raise ConfigError(f"hardware-check has no key {unknown[0]!r}; keys: {sorted([*KEYS, *EXTRA])}")
    sections = {s: defaults(s) for s in ("arm_adapter", "reset_rig", "reward_sensing", "opencv_camera")}
    if given.get("params_file"):
        data = yaml.safe_load(Path(given["params_file"]).read_text()) or {}
        for s in sections:
            sections[s].update((data.get(s) or {}).get("ros__parameters") or {})
    for k, (s, name) in KEYS.items():
        if k in given:
            sections[s][name] = yaml.safe_load(given[k]) if name in ("dxl_baudrate", "framerate", "snmp_port") \
                else given[k]
    extra = {k: given.get(k, v) for k, v in EXTRA.items()}
    unknown = set(filter(None, extra["skip"].split(","))) - set(DEVICES)
    if unknown:
        raise ConfigError(f"skip takes {', '.join(DEVICES)}; got {sorted(unknown)}")
    return sections, extra


class Probe:
    """One rclpy node that listens and spins for the ROS checks."""

    def __init__(self):
        import rclpy
        self.rclpy = rclpy
        rclpy.init(args=[])                 # its key:=value arguments are not ROS remappings
        self.node = rclpy.create_node("hardware_check")

    def spin_for(self, seconds: float, until=lambda: False) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not until():
            self.rclpy.spin_once(self.node, timeout_sec=0.01)

    def close(self) -> None:
        self.node.destroy_node()
        self.rclpy.try_shutdown()


def check_cameras(probe: Probe, topics: list[str], expected_hz: float, seconds: float = 3.0) -> list[Check]:
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    from meld_ros.rosfree.images import CHANNELS as ENCODINGS

    seen = {t: [] for t in topics}
    for t in topics:
        probe.node.create_subscription(Image, t, lambda m, t=t: seen[t].append((time.monotonic(), m.encoding,
                                                                                 m.width, m.height)),
                                       qos_profile_sensor_data)
    probe.spin_for(seconds)
    checks = []
    for t, frames in seen.items():
        if len(frames) < 2:
            checks.append(Check(f"camera {t}", False, f"{len(frames)} frame(s) in {seconds:g} s",
                                "is its driver running (camera_driver, the video device, the udev names)?"))
            continue
        rate = (len(frames) - 1) / (frames[-1][0] - frames[0][0])
        encodings = sorted({f[1] for f in frames})
        size = f"{frames[-1][2]}x{frames[-1][3]}"
        bad = [e for e in encodings if e not in ENCODINGS]
        if bad:
            checks.append(Check(f"camera {t}", False, f"encoding {bad} ({size}, {rate:.1f} Hz)",
                                f"set the driver's pixel format to one of {sorted(ENCODINGS)}"))
        elif rate < 0.8 * expected_hz:
            checks.append(Check(f"camera {t}", False, f"{rate:.1f} Hz, expected {expected_hz:g} ({encodings[0]}, {size})",
                                "two webcams on one USB 2 bus: lower image_width/image_height or framerate, or use "
                                "two buses"))
        else:
            checks.append(Check(f"camera {t}", True, f"{rate:.1f} Hz, {encodings[0]}, {size}"))
    return checks


def check_arm(probe: Probe, arm: dict, step_rad: float, speed: float = 0.1) -> Check:
    """Joint states, then the waist +step_rad and back, through the adapter's joint-limit checks."""
    from sensor_msgs.msg import JointState

    from meld_ros.hardware.arm_limits import WX250, positions_in_order, safe_velocities
    from meld_ros.runtime.arm_route import ArmRoute, joint_states_topic
    from meld_ros.runtime.intra_process import DdsTopics
    from meld_ros.runtime.node_runtime import RELIABLE

    route, robot = arm["driver"], arm["robot_name"]
    topic = joint_states_topic(route, robot, arm["joint_states_topic"])
    latest: list = [None]
    probe.node.create_subscription(JointState, topic, lambda m: latest.__setitem__(
        0, (time.monotonic(), positions_in_order(m.name, m.position, WX250.names))), RELIABLE)
    driver = ArmRoute(probe.node, DdsTopics(), route, robot, arm["arm_group"], arm["driver_topic"])
    probe.spin_for(3.0, until=lambda: latest[0] is not None and latest[0][1] is not None)
    if latest[0] is None or latest[0][1] is None:
        return Check("arm", False, f"no joint states with {', '.join(WX250.names)} on {topic}",
                     f"is the arm's driver running ({route}; robot_name {robot})?")
    if route == "xs_sdk" and not _velocity_mode(probe, robot, arm["arm_group"]):
        return Check("arm", False, f"/{robot}/set_operating_modes did not answer", "is xs_sdk running?")
    zero = np.zeros(len(WX250.names))
    start = latest[0][1].copy()
    try:
        for direction in (1.0, -1.0):
            end = time.monotonic() + step_rad / speed
            while time.monotonic() < end:
                stamp, q = latest[0]
                fresh = q if time.monotonic() - stamp < 0.2 else None
                command = np.zeros(len(WX250.names))
                command[0] = direction * speed
                driver.send(safe_velocities(command, fresh, WX250))
                probe.spin_for(0.02)
            driver.send(zero)
            probe.spin_for(0.5)
            if direction > 0:
                moved = latest[0][1][0] - start[0]
    finally:
        for _ in range(3):
            driver.send(zero)
            probe.spin_for(0.02)
    back = latest[0][1][0] - start[0]
    if not 0.5 * step_rad <= moved <= 1.5 * step_rad:
        return Check("arm", False, f"waist moved {moved:+.3f} rad for a {step_rad:g} rad step (back: {back:+.3f})",
                     "is the arm group in velocity mode and its torque on (xs_sdk mode_configs; the controller "
                     "active)? Is the arm free to move?")
    return Check("arm", True, f"joint states on {topic}; waist step {moved:+.3f} rad of {step_rad:g}, "
                              f"back to {back:+.3f}")


def _velocity_mode(probe: Probe, robot: str, group: str) -> bool:
    from interbotix_xs_msgs.srv import OperatingModes

    client = probe.node.create_client(OperatingModes, f"/{robot}/set_operating_modes")
    if not client.wait_for_service(timeout_sec=3.0):
        return False
    future = client.call_async(OperatingModes.Request(cmd_type="group", name=group, mode="velocity",
                                                      profile_type="velocity"))
    probe.spin_for(3.0, until=future.done)
    return future.done()


def run_checks(argv: list[str]) -> list[Check]:
    from meld_ros.reset_rig_node import rig_geometry

    sections, extra = settings(argv)
    skip = set(filter(None, extra["skip"].split(",")))
    checks: list[Check] = []
    if not {"cameras", "arm"} <= skip:
        probe = Probe()
        try:
            if "cameras" not in skip:
                checks += check_cameras(probe, [t for t in extra["cameras"].split(",") if t],
                                        float(sections["opencv_camera"]["framerate"]))
            if "arm" not in skip:
                checks.append(check_arm(probe, sections["arm_adapter"], float(extra["step_rad"])))
        finally:
            probe.close()
    rig = build_dataclass(ResetRigParams, sections["reset_rig"], "reset_rig")
    if "rig" not in skip:
        checks.append(check_rig(rig.dxl_port, rig.dxl_baudrate, rig_geometry(rig), rig.rail_center_mm))
    reward = sections["reward_sensing"]
    if "sensor" not in skip:
        checks.append(check_insertion_sensor(reward))
    if "calibration" not in skip:
        checks.append(check_calibration(reward["calibration_file"]))
    return checks


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    try:
        checks = run_checks(argv)
    except ConfigError as exc:
        print(f"meld hardware-check: {exc}", file=sys.stderr)
        return 2
    print(table(checks), flush=True)
    return 0 if checks and all(c.ok for c in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
