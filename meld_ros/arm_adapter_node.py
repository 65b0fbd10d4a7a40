"""Arm adapter node: the policy's joint-velocity commands -> the arm driver, within the joint limits.

The arm drivers check nothing (Interbotix's ``xs_sdk`` writes group commands
straight to the motors with no time-out; a ros2_control forward controller
likewise), so this node stands between the policy and the driver:

- every command from ``command_topic`` (``std_msgs/Float64MultiArray``, rad/s,
  one per joint) is checked against the joint limits at the latest joint
  state (``meld_ros.hardware.arm_limits.safe_velocities``: finite, one per
  joint, clamped to the velocity limit, zero towards a position limit, zero
  without a joint state newer than ``joint_state_timeout_s``);
- a command that passes goes to the driver at once (a bad one: zero at once),
  and a steady timer every ``period_s`` sends the driver the newest checked
  command again, or zero when it is older than ``command_timeout_s`` (a silent
  policy), while the e-stop (``estop_topic``) is engaged, or while a bad
  command was the last one received;
- ``~/home`` (std_srvs/Trigger) starts driving the arm to ``home_pose`` with
  the bounded homing controller, policy commands ignored meanwhile;
  ``homing_topic`` (latched ``std_msgs/String``) says ``homing``, then
  ``at_home`` or ``failed`` (after ``home_timeout_s``). (The service answers at
  once: one that awaited the end of homing would hold the node's mutually
  exclusive callback group, and the timer that drives homing could not run.)
- on shutdown the driver's last command is zero.

Driver routes (``driver``; topics left "" take the route's own):

- ``ros2_control``: ``std_msgs/Float64MultiArray`` on ``driver_topic``
  (``/arm_controller/commands``: a forward_command_controller on the
  velocity interface), joint states on ``/joint_states``;
- ``xs_sdk`` (Interbotix): ``interbotix_xs_msgs/JointGroupCommand`` (group
  ``arm_group``) on ``/<robot_name>/commands/joint_group``, joint states on
  ``/<robot_name>/joint_states``; at start the arm group is put in velocity
  mode (``/<robot_name>/set_operating_modes``), and after homing the gripper
  is told to keep its grip (``JointSingleCommand`` ``gripper``, pwm
  ``-gripper_pwm``: negative closes) and checked: a finger
  (``gripper_joint``) closed to within 2 mm of ``gripper_closed_m`` holds
  nothing (the plug was dropped): homing fails.
"""
from __future__ import annotations

import time

import numpy as np
from rclpy.clock import Clock as RosClock, ClockType
from rclpy.duration import Duration
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool, Float64MultiArray, String
from std_srvs.srv import Trigger

from meld_ros.hardware.arm_limits import WX250, at_home, homing_velocities, positions_in_order, safe_velocities
from meld_ros.rosfree.safety import CommandError, EStop
from meld_ros.runtime.arm_route import ArmRoute, joint_states_topic
from meld_ros.runtime.intra_process import DdsTopics
from meld_ros.runtime.node_params import ArmAdapterParams, declare
from meld_ros.runtime.node_runtime import LATCHED, RELIABLE, entry_point, serve

SHUTDOWN_ACK_S = 1.0
QUIET_DRIVER_S = 2.0          # no joint state for this long: a warning (throttled) that the driver is silent


class ArmAdapterNode(Node):
    def __init__(self, topics=None):
        super().__init__("arm_adapter")
        self.topics = topics or DdsTopics()      # its publishers and subscriptions: given, composed or not
        self.p: ArmAdapterParams = declare(self, ArmAdapterParams)
        self.limits = WX250
        self._gripper: tuple[int, float] | None = None             # (steady ns, finger position), xs_sdk
        self.route = ArmRoute(self, self.topics, self.p.driver, self.p.robot_name, self.p.arm_group, self.p.driver_topic)
        if self.p.driver == "xs_sdk":
            self._open_xs_sdk()
        self.joint_states = joint_states = joint_states_topic(self.p.driver, self.p.robot_name, self.p.joint_states_topic)
        self.topics.subscribe(self, Float64MultiArray, self.p.command_topic, self._on_command, RELIABLE)
        self.topics.subscribe(self, JointState, joint_states, self._on_joint_state, RELIABLE)
        self.topics.subscribe(self, Bool, self.p.estop_topic, self._on_estop, RELIABLE)
        self.homing_pub = self.topics.publisher(self, String, self.p.homing_topic, LATCHED)
        serve(self, Trigger, "~/home", self._on_home)
        self.estop = EStop()
        self._command: tuple[int, np.ndarray] | None = None       # (steady ns, checked command)
        self._positions: tuple[int, np.ndarray] | None = None     # (steady ns, joint positions in limits' order)
        self._homing = False
        self._home_deadline = 0.0
        self._started_ns = time.monotonic_ns()
        self.sent = 0
        self.refused = 0
        self.create_timer(self.p.period_s, self._on_tick, clock=RosClock(clock_type=ClockType.STEADY_TIME))

    def _open_xs_sdk(self) -> None:
        """The gripper's publisher, and velocity mode asked of the driver once it is up."""
        from interbotix_xs_msgs.msg import JointSingleCommand
        from interbotix_xs_msgs.srv import OperatingModes

        robot, group = self.p.robot_name, self.p.arm_group
        self.gripper_pub = self.topics.publisher(self, JointSingleCommand, f"/{robot}/commands/joint_single", RELIABLE)
        self._grip = lambda: self.gripper_pub.publish(JointSingleCommand(name="gripper", cmd=-float(self.p.gripper_pwm)))
        modes = self.create_client(OperatingModes, f"/{robot}/set_operating_modes")

        def ask_velocity_mode():
            if not modes.service_is_ready():
                return                                    # the driver is not up yet: the timer asks again
            self.destroy_timer(self._mode_timer)
            modes.call_async(OperatingModes.Request(cmd_type="group", name=group, mode="velocity",
                                                    profile_type="velocity", profile_velocity=0,
                                                    profile_acceleration=0))
            self.get_logger().info(f"asked {robot}'s driver for velocity mode on group {group}")
        self._mode_timer = self.create_timer(0.5, ask_velocity_mode)

    # ---- inputs ---------------------------------------------------------------------
    def _on_joint_state(self, msg: JointState) -> None:
        q = positions_in_order(msg.name, msg.position, self.limits.names)
        if q is not None:
            self._positions = (time.monotonic_ns(), q)
        finger = positions_in_order(msg.name, msg.position, (self.p.gripper_joint,))
        if finger is not None:
            self._gripper = (time.monotonic_ns(), float(finger[0]))

    def _fresh_positions(self) -> np.ndarray | None:
        if self._positions is None:
            return None
        stamp, q = self._positions
        return q if time.monotonic_ns() - stamp <= self.p.joint_state_timeout_s * 1e9 else None

    def _on_command(self, msg: Float64MultiArray) -> None:
        try:
            safe_velocities(list(msg.data), np.zeros(len(self.limits.names)), self.limits)   # shape and values
        except CommandError as exc:
            self.refused += 1
            self._command = None                      # the arm stops: a bad command is not replaced by an old one
            self._send(self._target())                # zero now, not at the next tick
            self.get_logger().warning(f"command refused, the arm gets zero: {exc}", throttle_duration_sec=2.0)
            return
        self._command = (time.monotonic_ns(), np.asarray(msg.data, dtype=np.float64))
        self._send(self._target())                    # passed on now (the timer would add up to period_s)

    def _on_estop(self, msg: Bool) -> None:
        if msg.data and not self.estop.engaged:
            self.estop.trigger()
            self._send(np.zeros(len(self.limits.names)))
            self.get_logger().error("E-STOP: the arm gets zero until the e-stop is released")
        elif not msg.data:
            self.estop.release()

    # ---- output ---------------------------------------------------------------------
    def _target(self) -> np.ndarray:
        zero = np.zeros(len(self.limits.names))
        q = self._fresh_positions()
        if self.estop.engaged or q is None:
            return zero
        if self._homing:
            return homing_velocities(q, self.p.home_pose, self.limits, self.p.home_gain, self.p.home_speed)
        if self._command is None or time.monotonic_ns() - self._command[0] > self.p.command_timeout_s * 1e9:
            return zero
        return safe_velocities(self._command[1], q, self.limits)

    def _send(self, velocities: np.ndarray) -> None:
        self.route.send(velocities)
        self.sent += 1

    def _on_tick(self) -> None:
        if self._homing:
            self._check_homing()
        last = self._positions[0] if self._positions is not None else self._started_ns
        if time.monotonic_ns() - last > QUIET_DRIVER_S * 1e9:
            self.get_logger().warning(f"no joint states on {self.joint_states} for {QUIET_DRIVER_S:g} s: the arm gets "
                                      f"zero (is its {self.p.driver} driver running?)", throttle_duration_sec=10.0)
        self._send(self._target())

    def _on_home(self, request, response):
        """Start driving to the home pose; ``homing_topic`` says when it is there (or that it failed)."""
        self._command = None
        self._home_deadline = time.monotonic() + self.p.home_timeout_s
        self._homing = True
        self.homing_pub.publish(String(data="homing"))
        response.success, response.message = True, "homing: see " + self.p.homing_topic
        return response

    def _check_homing(self) -> None:
        q = self._fresh_positions()
        if q is not None and at_home(q, self.p.home_pose, self.p.home_tolerance):
            self._homing = False
            empty = self._gripper_empty()
            self.homing_pub.publish(String(data="failed" if empty else "at_home"))
            if empty:
                self.get_logger().error(f"homing failed: the gripper holds nothing ({self.p.gripper_joint} at "
                                        f"{self._gripper[1]:.4f} m, closed is {self.p.gripper_closed_m:g} m): "
                                        f"put the plug back between the fingers")
        elif time.monotonic() > self._home_deadline:
            self._homing = False
            self.homing_pub.publish(String(data="failed"))
            self.get_logger().error(f"homing failed: not at home after {self.p.home_timeout_s:g} s")

    def _gripper_empty(self) -> bool:
        """xs_sdk: keep gripping; True when a recent finger position says the fingers closed on nothing."""
        if self.p.driver != "xs_sdk":
            return False
        self._grip()
        if self._gripper is None or time.monotonic_ns() - self._gripper[0] > self.p.joint_state_timeout_s * 1e9:
            return False                    # no finger in the joint states (a driver without the gripper)
        return self._gripper[1] <= self.p.gripper_closed_m + 0.002

    def on_shutdown(self) -> None:
        """The driver's last command is zero, acknowledged before the node goes."""
        self._send(np.zeros(len(self.limits.names)))
        self.route.publisher.wait_for_all_acked(Duration(seconds=SHUTDOWN_ACK_S))


NODE = ArmAdapterNode
main = entry_point(NODE)


if __name__ == "__main__":
    raise SystemExit(main())
