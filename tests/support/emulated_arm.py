"""A WidowX arm emulated in a test's rclpy node (test support), behind either driver route:

- ``ros2_control``: a velocity forward controller: velocities on /arm_controller/commands
  (std_msgs/Float64MultiArray), joint states on /joint_states;
- ``xs_sdk``: Interbotix's driver topics: ``interbotix_xs_msgs/JointGroupCommand`` (group "arm") on
  /wx250/commands/joint_group, joint states (with the fingers) on /wx250/joint_states,
  ``JointSingleCommand`` on /wx250/commands/joint_single (the gripper), the
  ``/wx250/set_operating_modes`` and ``/wx250/torque_enable`` services (what was asked is kept in
  ``modes`` and ``torque``).

It integrates the velocities it receives into the joint states it publishes every 10 ms (while the test
spins its node)."""
import time

import numpy as np
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray

from meld_ros.hardware.arm_limits import WX250
from meld_ros.runtime.node_runtime import RELIABLE

NAMES = list(WX250.names)


class EmulatedArm:
    def __init__(self, ros_node, q0, route: str = "ros2_control", finger: float = 0.025):
        self.q = np.array(q0, float)
        self.route, self.finger = route, finger
        self.received, self.gripper, self.modes = [], [], []
        if route == "xs_sdk":
            from interbotix_xs_msgs.msg import JointGroupCommand, JointSingleCommand
            from interbotix_xs_msgs.srv import OperatingModes

            self.pub = ros_node.create_publisher(JointState, "/wx250/joint_states", RELIABLE)
            ros_node.create_subscription(JointGroupCommand, "/wx250/commands/joint_group",
                                         lambda m: self._take(m.cmd) if m.name == "arm" else None, RELIABLE)
            ros_node.create_subscription(JointSingleCommand, "/wx250/commands/joint_single",
                                         lambda m: self.gripper.append((m.name, m.cmd)), RELIABLE)
            from interbotix_xs_msgs.srv import TorqueEnable

            ros_node.create_service(OperatingModes, "/wx250/set_operating_modes",
                                    lambda req, res: self.modes.append((req.name, req.mode)) or res)
            self.torque = []
            ros_node.create_service(TorqueEnable, "/wx250/torque_enable",
                                    lambda req, res: self.torque.append((req.name, req.enable)) or res)
        else:
            self.pub = ros_node.create_publisher(JointState, "/joint_states", RELIABLE)
            ros_node.create_subscription(Float64MultiArray, "/arm_controller/commands",
                                         lambda m: self._take(m.data), RELIABLE)
        self.v, self.t = np.zeros(5), time.monotonic()
        ros_node.create_timer(0.01, self._tick)

    def _take(self, velocities):
        self.received.append((time.monotonic(), np.array(velocities, dtype=np.float64)))
        self.v = np.array(velocities, dtype=np.float64)

    def _tick(self):
        now = time.monotonic()
        self.q += self.v * (now - self.t)
        self.t = now
        if self.route == "xs_sdk":
            self.pub.publish(JointState(name=NAMES + ["gripper", "left_finger", "right_finger"],
                                        position=self.q.tolist() + [0.0, self.finger, -self.finger]))
        else:
            self.pub.publish(JointState(name=NAMES, position=self.q.tolist()))
