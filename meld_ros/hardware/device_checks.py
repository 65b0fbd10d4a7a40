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


def check_insertion_sensor(interface: str, sysfs: str) -> Check:
    from meld_ros.hardware.insertion_sensor import LinkSensor, SensorError

    try:
        up = LinkSensor(interface, sysfs).inserted()
    except SensorError as exc:
        return Check("insertion sensor", False, str(exc), "set reward_sensing.link_interface to the interface the "
                                                          "plug's cable is wired to")
    return Check("insertion sensor", True, f"{interface}: link {'up (plug seated)' if up else 'down (plug out)'}")


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
