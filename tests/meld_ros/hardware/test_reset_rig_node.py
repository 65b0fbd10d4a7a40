"""The reset rig node with driver:=dynamixel, as a real process: the rig's motors emulated on a
pseudo-terminal (Dynamixel Protocol 2.0, through the real dynamixel-sdk), the arm adapter homing an
emulated arm; one set-task request moves the rig, homes the arm and publishes the task."""
import numpy as np
import pytest
from support.dynamixel_emulator import DynamixelBus, EmulatedMotor
from support.emulated_arm import EmulatedArm

from meld_ros.hardware.rig_motors import RigGeometry
from meld_ros.msg import TaskState
from meld_ros.runtime.node_params import defaults
from meld_ros.runtime.node_runtime import LATCHED
from meld_ros.srv import SetTask

pytestmark = pytest.mark.graph


def _call(ros_node, client, request, timeout=30):
    assert client.wait_for_service(timeout_sec=30)
    future = client.call_async(request)
    assert ros_node.spin_until(future.done, timeout=timeout)
    return future.result()


def test_a_task_request_moves_the_rig_and_homes_the_arm(start_node, ros_node):
    with DynamixelBus([EmulatedMotor(1, position=100.0, default_speed=8192.0),
                       EmulatedMotor(2, position=500.0, min_stop=-2000.0, default_speed=8192.0)]) as bus:
        rig = start_node("reset_rig_node", {"driver": "dynamixel", "dxl_port": bus.port, "dxl_baudrate": 1000000,
                                            "homing_speed": 300, "arm_home_timeout_s": 15.0})
        adapter = start_node("arm_adapter_node", {"driver": "ros2_control", "home_timeout_s": 15.0})
        arm = EmulatedArm(ros_node, [0.5, 0.4, -0.2, 0.1, 0.3])
        states = []
        ros_node.create_subscription(TaskState, "/meld/task", states.append, LATCHED)
        client = ros_node.create_client(SetTask, "/meld/set_task")
        answer = _call(ros_node, client, SetTask.Request(task_set="manual", rig_rotation_deg=4.0,
                                                         rig_translation_m=0.005, port=2, home_arm=True))
        assert answer.success, (answer.message, rig.stop()[1][-2000:], adapter.stop()[1][-2000:])
        g = RigGeometry()
        rotary, rail = bus.motor(1), bus.motor(2)
        assert abs(rotary.table[132] - (100 + g.angle_ticks(4.0))) <= g.angle_ticks(g.tolerance_deg)
        assert abs(rail.table[132] - (-2000 + g.rail_ticks(15.0))) <= g.rail_ticks(g.tolerance_mm)   # centre 10 + 5 mm
        assert np.abs(arm.q - np.array(defaults("arm_adapter")["home_pose"])).max() <= 0.03                    # the home pose
        assert ros_node.spin_until(lambda: states and states[-1].port == 2, timeout=10)
        assert states[-1].rig_rotation_deg == 4.0 and states[-1].task_id == -1
        # a task out of the rig's range is refused with the reason; a task of the training set is taken
        out = _call(ros_node, client, SetTask.Request(task_set="manual", rig_rotation_deg=30.0, rig_translation_m=0.0))
        assert not out.success and "outside the rig's range" in out.message
        assert _call(ros_node, client, SetTask.Request(task_set="train", task_id=3)).success
        code, log = rig.stop()
        assert code == 0 and "rig homed" in log
        assert bus.motor(1).table[64] == 0 and bus.motor(2).table[64] == 0                         # torque off
        adapter.stop()


def test_a_missing_rig_port_stops_the_node_with_the_reason(start_node):
    rig = start_node("reset_rig_node", {"driver": "dynamixel", "dxl_port": "/dev/ttyRIG-missing"})
    rig.proc.wait(timeout=60)                     # it exits by itself
    code, log = rig.stop()
    assert code == 2 and "the reset rig cannot start" in log and "/dev/ttyRIG-missing" in log
