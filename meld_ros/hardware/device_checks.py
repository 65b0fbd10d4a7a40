"""Checks of the devices that need no ROS, for ``meld hardware-check`` (no ROS here).

Each check returns a ``Check``: the device, whether it works, what was
measured, and when it does not work, what to do about it. The ROS devices
(cameras, the arm's driver) are checked in ``meld_ros/hardware_check.py``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    device: str
    ok: bool
    detail: str            #: what was measured (or why it failed)
    fix: str = ""          #: what to do when it failed


def check_rig(port: str, baudrate: int, geometry, centre_mm: float, test_angle_deg: float = 4.0,
              test_offset_mm: float = 5.0) -> Check:
    """Open the rig's bus, home it, move to a test task and back to the centre; torque off at the end."""
    from meld_ros.hardware.rig_motors import RigError, RigMotors

    motors = RigMotors(port, baudrate, geometry)
    try:
        motors.open()
        motors.home()
        there = motors.move_to(test_angle_deg, centre_mm + test_offset_mm)
        back = motors.move_to(0.0, centre_mm)
        return Check("reset rig", True, f"homed on {port}; test task ({test_angle_deg:g} deg, {test_offset_mm:+g} mm) "
                                        f"in {there:.2f} s, back in {back:.2f} s")
    except (RigError, ValueError) as exc:
        return Check("reset rig", False, str(exc),
                     "check reset_rig.dxl_port (the udev rule names it /dev/ttyRIG), dxl_baudrate, the motor ids "
                     "(rotary_id, rail_id) and the motors' power")
    finally:
        try:
            motors.close()
        except Exception:                   # a port that never opened has nothing to close
            pass


def check_insertion_sensor(reward: dict) -> Check:
    """The sensor of params/graph.yaml's reward_sensing section (``insertion_sensor``: link, snmp or none)."""
    from meld_ros.hardware.insertion_sensor import LinkSensor, SensorError

    kind = reward["insertion_sensor"]
    if kind == "none":
        return Check("insertion sensor", True, "none configured (dense reward only: no success is ever sensed)")
    try:
        if kind == "snmp":
            from meld_ros.hardware.switch_ports import port_statuses
            statuses = port_statuses(reward["snmp_host"], int(reward["snmp_port"]), reward["snmp_community"],
                                     reward["snmp_if_indexes"])
            up = [k for k, i in enumerate(reward["snmp_if_indexes"]) if statuses.get(i) == 1]
            return Check("insertion sensor", True, f"switch {reward['snmp_host']}: rig ports up {up or 'none'}")
        up = LinkSensor(reward["link_interface"], reward["sysfs_net"]).inserted()
    except SensorError as exc:
        return Check("insertion sensor", False, str(exc), "set reward_sensing.link_interface (link) or snmp_host, "
                     "snmp_community and snmp_if_indexes (snmp) to your wiring")
    return Check("insertion sensor", True, f"{reward['link_interface']}: link {'up (plug seated)' if up else 'down (plug out)'}")


def check_calibration(path: str) -> Check:
    from meld_ros.hardware.plug_pose import CalibrationError, RigCalibration

    try:
        c = RigCalibration.load(os.path.expanduser(path))
    except CalibrationError as exc:
        return Check("rig calibration", False, str(exc), "run ./meld calibrate-rig (README, \"The real robot\")")
    x, y, z = c.front_centre_m
    return Check("rig calibration", True, f"switch at ({x:.3f}, {y:.3f}, {z:.3f}) m, yaw {c.yaw_deg:.1f} deg")


def table(checks: list[Check]) -> str:
    """The checks as a plain-text table, then the fixes of those that failed."""
    width = max(len(c.device) for c in checks)
    lines = [f"{'device'.ljust(width)}  result  detail", f"{'-' * width}  ------  ------"]
    lines += [f"{c.device.ljust(width)}  {'ok' if c.ok else 'FAIL':6}  {c.detail}" for c in checks]
    fixes = [f"- {c.device}: {c.fix}" for c in checks if not c.ok and c.fix]
    if fixes:
        lines += ["", "to fix:"] + fixes
    return "\n".join(lines)
