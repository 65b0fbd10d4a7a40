"""The arm adapter as a real process over DDS, with this test as the arm behind either driver route
(support/emulated_arm.py: a ros2_control forward controller, or Interbotix's xs_sdk topics): it integrates
the velocities the adapter sends into the joint states it publishes."""
import math
import time

import numpy as np
import pytest
from std_msgs.msg import Bool, Float64MultiArray, String
from std_srvs.srv import Trigger
from support.emulated_arm import EmulatedArm

from meld_ros.runtime.node_params import defaults
from meld_ros.runtime.node_runtime import LATCHED, RELIABLE

pytestmark = pytest.mark.graph

@pytest.mark.parametrize("route", ["ros2_control", "xs_sdk"])
def test_bounded_commands_zero_on_every_fault_and_homing(start_node, ros_node, route):
    adapter = start_node("arm_adapter_node", {"driver": route, "command_timeout_s": 0.2, "home_timeout_s": 10.0})
    shoulder_top = math.radians(114)
    arm = EmulatedArm(ros_node, [0.0, shoulder_top - 0.2, 0.0, 0.0, 0.0], route=route)
    cmd = ros_node.create_publisher(Float64MultiArray, "/meld/arm_command", RELIABLE)
    estop = ros_node.create_publisher(Bool, "/meld/estop", RELIABLE)
    assert ros_node.spin_until(lambda: cmd.get_subscription_count() and estop.get_subscription_count()
                               and len(arm.received) > 5, timeout=30), adapter.stop()[1]

    def send_for(seconds, data):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            cmd.publish(Float64MultiArray(data=data))
            ros_node.spin_until(lambda: False, timeout=0.03)

    def since(t0):
        return [v for t, v in arm.received if t >= t0]

    # too fast and into the shoulder's upper limit: clamped to pi rad/s, then zero at the limit
    t0 = time.monotonic()
    send_for(1.0, [0.0, 10.0, 0.0, 0.0, 0.0])
    sent = since(t0)
    assert max(np.abs(v).max() for v in sent) <= math.pi + 1e-9
    assert arm.q[1] <= shoulder_top + 0.05 and sent[-1][1] == 0.0
    # a silent policy: zero within command_timeout_s plus one period
    send_for(0.3, [0.3, 0.0, 0.0, 0.0, 0.0])
    t_silent = time.monotonic()
    ros_node.spin_until(lambda: False, timeout=0.5)
    assert all(not v.any() for t, v in arm.received if t > t_silent + 0.25)
    # NaN and the wrong length: refused, zero at once
    send_for(0.3, [0.3, 0.0, 0.0, 0.0, 0.0])
    t_bad = time.monotonic()
    cmd.publish(Float64MultiArray(data=[math.nan, 0.0, 0.0, 0.0, 0.0]))
    ros_node.spin_until(lambda: False, timeout=0.2)
    assert all(not v.any() for t, v in arm.received if t > t_bad + 0.05)
    cmd.publish(Float64MultiArray(data=[0.1, 0.1]))
    ros_node.spin_until(lambda: False, timeout=0.2)
    # e-stop: zero while engaged, whatever the policy says
    estop.publish(Bool(data=True))
    ros_node.spin_until(lambda: False, timeout=0.1)
    t_stop = time.monotonic()
    send_for(0.4, [0.3, 0.0, 0.0, 0.0, 0.0])
    assert all(not v.any() for t, v in arm.received if t > t_stop + 0.05)
    estop.publish(Bool(data=False))
    # homing: to the home pose at bounded speed; the homing topic says when it is there
    homing = []
    ros_node.create_subscription(String, "/arm_adapter/homing", lambda m: homing.append(m.data), LATCHED)
    home = ros_node.create_client(Trigger, "/arm_adapter/home")
    assert home.wait_for_service(timeout_sec=10)
    t_home = time.monotonic()
    future = home.call_async(Trigger.Request())
    assert ros_node.spin_until(future.done, timeout=5) and future.result().success
    assert ros_node.spin_until(lambda: homing and homing[-1] == "at_home", timeout=15), (homing, arm.q)
    assert np.abs(arm.q - np.array(defaults("arm_adapter")["home_pose"])).max() <= 0.03
    assert max(np.abs(v).max() for v in since(t_home)) <= 0.5 + 1e-9
    if route == "xs_sdk":          # velocity mode asked of the driver; the gripper told to keep its grip
        assert ("arm", "velocity") in arm.modes and arm.gripper[-1][0] == "gripper" and arm.gripper[-1][1] < 0
        arm.finger = 0.0155        # fingers closed on nothing: the plug was dropped, homing fails
        future = home.call_async(Trigger.Request())
        assert ros_node.spin_until(lambda: future.done() and homing[-1] == "failed", timeout=10), homing
    # shutdown: the last command is zero
    code, out = adapter.stop()
    ros_node.spin_until(lambda: False, timeout=0.5)            # take what it sent before it went
    assert code == 0 and not arm.received[-1][1].any()
