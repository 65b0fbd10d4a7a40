"""An arm behind a ros2_control velocity forward controller, emulated in a test's rclpy node (test support):
it integrates the velocities it receives on /arm_controller/commands into the joint states it publishes on
/joint_states every 10 ms (while the test spins its node)."""
import time

import numpy as np
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray

from meld_ros.hardware.arm_limits import WX250
from meld_ros.runtime.node_runtime import RELIABLE

NAMES = list(WX250.names)


class EmulatedArm:
    def __init__(self, ros_node, q0):
        self.q = np.array(q0, float)
        self.received = []
        self.pub = ros_node.create_publisher(JointState, "/joint_states", RELIABLE)
        ros_node.create_subscription(Float64MultiArray, "/arm_controller/commands", self._on_command, RELIABLE)
        self.v, self.t = np.zeros(5), time.monotonic()
        ros_node.create_timer(0.01, self._tick)

    def _on_command(self, msg):
        self.received.append((time.monotonic(), np.array(msg.data)))
        self.v = np.array(msg.data)

    def _tick(self):
        now = time.monotonic()
        self.q += self.v * (now - self.t)
        self.t = now
        self.pub.publish(JointState(name=NAMES, position=self.q.tolist()))
