"""``meld hardware-check`` against emulated devices (the xs_sdk stand-in with its cameras, the rig's
motors on an emulated Dynamixel bus, a carrier file), then with nothing there: a table of what works and
what to fix."""
import os
import subprocess
import sys

import pytest
from support.dynamixel_emulator import DynamixelBus, EmulatedMotor

from meld_ros.hardware.plug_pose import SIMULATED_RIG

pytestmark = pytest.mark.graph

ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]


def check(*args):
    return subprocess.run([sys.executable, "-m", "meld_ros.hardware_check", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "MUJOCO_GL": "egl"})


def test_every_device_checked_on_the_emulated_robot(tmp_path, start_node):
    (tmp_path / "net" / "emu0").mkdir(parents=True)
    (tmp_path / "net" / "emu0" / "carrier").write_text("0\n")
    SIMULATED_RIG.save(tmp_path / "rig.yaml")
    robot = start_node("mujoco_bridge_node", {"env": "widowx-cable", "mode": "realtime", "interface": "xs_sdk"})
    with DynamixelBus([EmulatedMotor(1, position=0.0, default_speed=8192.0),
                       EmulatedMotor(2, position=300.0, min_stop=-1000.0, default_speed=8192.0)]) as bus:
        out = check(f"dxl_port:={bus.port}", "dxl_baudrate:=1000000", "link_interface:=emu0",
                    f"sysfs_net:={tmp_path / 'net'}", f"calibration_file:={tmp_path / 'rig.yaml'}",
                    "camera_rate:=3")              # the stand-in renders at the control rate, 3.3 Hz
        assert bus.motor(1).table[64] == 0 and bus.motor(2).table[64] == 0            # torque off after
    assert out.returncode == 0, out.stdout + out.stderr + robot.stop()[1][-2000:]
    rows = {line.split("  ")[0].strip(): line for line in out.stdout.splitlines()[2:] if line.strip()}
    assert set(rows) == {"camera /camera/scene/image_raw", "camera /camera/wrist/image_raw", "arm", "reset rig",
                         "insertion sensor", "rig calibration"}, out.stdout
    assert "rgb8, 64x64" in rows["camera /camera/scene/image_raw"]
    assert "waist step +0.1" in rows["arm"] or "waist step +0.0" in rows["arm"], out.stdout
    assert "link down" in rows["insertion sensor"] and "test task" in rows["reset rig"]


def test_with_nothing_there_each_device_fails_with_what_to_fix(tmp_path):
    out = check("dxl_port:=/dev/ttyRIG-absent", "link_interface:=nosuch0", f"calibration_file:={tmp_path / 'none.yaml'}",
                "robot_name:=nobot")
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stdout.count("FAIL") == 6 and "to fix:" in out.stdout
    assert "no joint states" in out.stdout and "/dev/ttyRIG-absent" in out.stdout and "nosuch0" in out.stdout
    assert "./meld calibrate-rig" in out.stdout
    bad = check("wheels:=4")
    assert bad.returncode == 2 and "no key 'wheels'" in bad.stderr
