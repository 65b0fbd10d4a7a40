"""``meld calibrate-rig`` as a user runs it: the rig's motors on an emulated Dynamixel bus go to the zero
state, the arm (emulated behind xs_sdk's topics) has its torque turned off, is put with the plug in port 0
and then port 3 (joint angles from inverse kinematics on the simulation's seats), and the calibration
written is the simulated rig's pose."""
import os
import queue
import subprocess
import sys
import threading

import numpy as np
import pytest
from support.dynamixel_emulator import DynamixelBus, EmulatedMotor
from support.emulated_arm import EmulatedArm

from meld_ros.hardware.plug_pose import SIMULATED_RIG, RigCalibration
from meld_sim_bridge.envs.widowx_cable import ARM_JOINTS, TIP_SITE
from meld_sim_bridge.kinematics import solve_ik
from meld_sim_bridge.registry import make_env

pytestmark = pytest.mark.graph

ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]


def seat_angles(port: int) -> np.ndarray:
    env = make_env("widowx-cable")
    env.reset(seed=0)
    target = SIMULATED_RIG.port_pose(0.0, 0.0, port)[0]
    q, err = solve_ik(env.model, env.data, TIP_SITE, target, ARM_JOINTS, np.array([1.0, 0, 0, 0]),
                      orientation_weight=0.01)
    env.close()
    assert err < 1e-4
    return q


def test_two_seated_ports_calibrate_the_rig(tmp_path, ros_node):
    q0, q3 = seat_angles(0), seat_angles(3)
    arm = EmulatedArm(ros_node, q0 * 0.5, route="xs_sdk")
    out = tmp_path / "rig.yaml"
    with DynamixelBus([EmulatedMotor(1, position=0.0, default_speed=8192.0),
                       EmulatedMotor(2, position=300.0, min_stop=-1000.0, default_speed=8192.0)]) as bus:
        proc = subprocess.Popen([sys.executable, "-m", "meld_ros.calibrate_rig", f"dxl_port:={bus.port}",
                                 "dxl_baudrate:=1000000", f"out:={out}"], cwd=ROOT, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env={**os.environ, "MUJOCO_GL": "egl"})
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in iter(proc.stdout.readline, "")], daemon=True).start()
        seen = []

        def wait_for(text, timeout=60):
            def found():
                while not lines.empty():
                    seen.append(lines.get())
                return any(text in line for line in seen)
            assert ros_node.spin_until(found, timeout=timeout), "".join(seen)

        # the prompt has no newline: it shows once the next line (or the end) arrives, so answer on the torque line
        wait_for("torque goes off")
        arm.q[:] = q0                      # the user puts the plug in port 0 ...
        ros_node.spin_until(lambda: False, timeout=0.3)
        proc.stdin.write("\n")
        proc.stdin.flush()
        wait_for("port 0: plug tip")
        arm.q[:] = q3                      # ... then in port 3
        ros_node.spin_until(lambda: False, timeout=0.3)
        proc.stdin.write("\n")
        proc.stdin.flush()
        wait_for("rig calibration written")
        assert proc.wait(timeout=30) == 0, "".join(seen)
        assert bus.motor(1).table[64] == 0                         # the rig's torque off at the end
    assert arm.torque == [("arm", False), ("arm", True)]          # off for the user's hands, then on again
    found = RigCalibration.load(out)
    np.testing.assert_allclose(found.front_centre_m, SIMULATED_RIG.front_centre_m, atol=1e-3)
    assert abs(found.yaw_deg) < 0.2
