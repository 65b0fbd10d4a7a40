"""MuJoCo bridge node: the simulator behind the topics the hardware would use.

Publishes, per control step: one ``sensor_msgs/Image`` per camera, the robot's
``sensor_msgs/JointState``, and the simulator's reward as ``meld_ros/Reward``
on ``ground_truth_topic`` (what reward sensing reads in simulation), all
stamped with the frame's time. Takes joint-velocity commands as
``std_msgs/Float64MultiArray`` on ``command_topic`` (ros2_control's forward
controller convention) and the task through the ``/sim/set_task`` service
(``meld_ros/SetTask``: a new episode on a task, from a seed).

Modes (parameter ``mode``):
- ``lockstep``: one control step per command, and only for a command that
  answers the latest frame: the policy's stamped copy on ``/meld/action``
  (``meld_ros/Action``, header stamp = the frame it answers) is what steps
  the simulation; /clock carries the simulated time, so the graph runs
  as fast as it can compute under ``use_sim_time``. Every node under sim
  time wakes for each /clock message, so /clock goes out at most every
  ``clock_period_s`` of wall time (always at a new episode; 0: every step);
  the nodes pair messages by their stamps, not by the clock. Nothing is published
  before the first ``/sim/set_task``; a frame left unanswered is sent again
  (same stamp) every ``republish_s``.
- ``realtime``: what the hardware's timing looks like. A timer at the control
  rate (times ``realtime_factor``) steps with the latest command, or zero if
  none arrived within ``command_timeout_s`` (a robot never runs on a stale
  command), and cameras and joint states are published from the start; stamps
  are ROS time (the graph runs with ``use_sim_time`` false). An episode is
  steps 0..E from a ``/sim/set_task`` (which also forgets the last command: the
  arm was homed); the simulator's reward is published for those frames only,
  so between episodes (no task running) the belief node sees no reward, makes
  no belief, and the policy's watchdog commands zero.

Interface (parameter ``interface``): ``ros2_control`` (the topics above) or
``xs_sdk``: the simulated arm behind Interbotix's driver topics, as their
``xs_sdk_sim`` does, so that the hardware graph (``use_sim:=false``) runs
against it unchanged: group commands ``interbotix_xs_msgs/JointGroupCommand``
(group ``arm``, rad/s in velocity mode) on ``/<robot_name>/commands/joint_group``,
joint states (the fingers holding the plug included) on
``/<robot_name>/joint_states`` every ``joint_states_period_s`` (as the driver's
own rate: far above the control rate), and the services ``set_operating_modes``
(a group command moves the arm in velocity mode only), ``torque_enable``
(torque off: commands are ignored) and ``reboot_motors``. With
``rig_state_topic`` the simulated rig follows a rig driver's ``TaskState``
(the emulated reset rig moves the simulated switch); with ``carrier_file``
the plug's link state is written there, "1" while its tip is seated in a
port (the insertion sensor's carrier file). Needs ``mode: realtime``.

The stepping itself is ``meld_sim_bridge.stepper.SimStepper`` (no ROS).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from rclpy.clock import Clock as RosClock, ClockType
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float64MultiArray

from meld_core.config import ConfigError
from meld_ros.rosfree.images import array_to_image
from meld_ros.msg import Action, Reward, TaskState
from meld_ros.runtime.node_params import BridgeParams, declare
from meld_ros.runtime.node_runtime import LATCHED, RELIABLE, entry_point, ns_of, serve, stamp_of
from meld_ros.runtime.intra_process import DdsTopics
from meld_ros.srv import SetTask
from meld_sim_bridge.registry import make_env
from meld_sim_bridge.stepper import SensorFrame, SimStepper

class MujocoBridgeNode(Node):
    def __init__(self, topics=None):
        super().__init__("mujoco_bridge")
        self.topics = topics or DdsTopics()      # its publishers and subscriptions: given, composed or not
        self.p: BridgeParams = declare(self, BridgeParams)
        self.env = make_env(self.p.env, **self.p.kwargs())
        self.stepper = SimStepper(self.env)
        if len(self.p.camera_topics) < self.stepper.n_cameras:
            raise ValueError(f"{self.p.env} has {self.stepper.n_cameras} cameras; camera_topics lists "
                             f"{len(self.p.camera_topics)}")
        self.image_pubs = [self.topics.publisher(self, Image, t, RELIABLE)
                           for t in self.p.camera_topics[: self.stepper.n_cameras]]
        xs = self.p.interface == "xs_sdk"
        joint_states = f"/{self.p.robot_name}/joint_states" if xs else self.p.joint_states_topic
        self.joint_pub = self.topics.publisher(self, JointState, joint_states, RELIABLE)
        self.truth_pub = self.topics.publisher(self, Reward, self.p.ground_truth_topic, RELIABLE)
        self.clock_pub = self.topics.publisher(self, Clock, "/clock", RELIABLE)
        serve(self, SetTask, self.p.set_task_service, self._on_set_task)
        self._frame: SensorFrame | None = None
        self._frame_ns = -1
        self._frame_in_episode = False     # its reward is published (steps 0..E of an episode)
        self._published_at = 0.0
        self._episode_over = True          # no episode until the first /sim/set_task
        self._last_command: tuple[float, np.ndarray] | None = None     # (monotonic time, command)
        self.steps = 0
        self._clock_at = -float("inf")     # monotonic time of the last /clock
        if self.p.carrier_file and not hasattr(self.env, "seated_port"):
            raise ConfigError(f"mujoco_bridge.carrier_file: {self.p.env} has no plug to seat (widowx-cable has)")
        self.driver = XsDriverState()
        if self.p.rig_state_topic:
            self.topics.subscribe(self, TaskState, self.p.rig_state_topic, self._on_rig_state, LATCHED)
        if self.p.mode == "lockstep":
            self.topics.subscribe(self, Action, self.p.action_topic, self._on_stamped_action, RELIABLE)
            self.create_timer(self.p.republish_s, self._republish, clock=RosClock(clock_type=ClockType.STEADY_TIME))
        else:
            if xs:
                self._serve_xs_sdk()
                # the real driver publishes joint states far more often than the control rate (the arm adapter
                # takes older ones as unknown): the latest simulated state, every joint_states_period_s
                self.create_timer(self.p.joint_states_period_s, lambda: self._frame and self._publish_joints())
            else:
                self.topics.subscribe(self, Float64MultiArray, self.p.command_topic, self._on_command, RELIABLE)
            self.create_timer(self.env.control_period / self.p.realtime_factor, self._on_timer)
            # like hardware: cameras and joints from the start; no task (no reward) until /sim/set_task
            self._publish(self.stepper.reset(self.env.train_tasks[0], seed=0), in_episode=False)
        self.get_logger().info(f"{self.p.env} in {self.p.mode} mode, {self.stepper.n_cameras} camera(s), "
                               f"control period {self.env.control_period:.3f} s")

    # ---- output -----------------------------------------------------------------------
    def _stamp_ns(self, frame: SensorFrame) -> int:
        return frame.sim_time_ns if self.p.mode == "lockstep" else self.get_clock().now().nanoseconds

    def _republish(self) -> None:
        if self._frame is not None and time.monotonic() - self._published_at >= self.p.republish_s:
            self._send()                              # the same frame, the same stamp

    def _publish(self, frame: SensorFrame, new_episode: bool = False, in_episode: bool = True) -> None:
        self._frame = frame
        self._frame_ns = self._stamp_ns(frame)
        self._frame_in_episode = in_episode
        self._send(force_clock=new_episode)

    def _send(self, force_clock: bool = False) -> None:
        self._published_at = time.monotonic()
        frame, stamp = self._frame, stamp_of(self._frame_ns)
        if self.p.mode == "lockstep" and (force_clock or self._published_at - self._clock_at >= self.p.clock_period_s):
            self.clock_pub.publish(Clock(clock=stamp))
            self._clock_at = self._published_at
        for k, (pub, image) in enumerate(zip(self.image_pubs, frame.images)):     # the control path first
            pub.publish(array_to_image(image, stamp, frame_id=f"camera{k}"))
        if self._frame_in_episode:
            truth = Reward(dense=frame.dense, sparse=frame.sparse, success=frame.success, step=frame.step)
            truth.header.stamp = stamp
            self.truth_pub.publish(truth)
        self._publish_joints(stamp)
        if self.p.carrier_file:
            self._write_carrier()

    def _publish_joints(self, stamp=None) -> None:
        frame = self._frame
        js = JointState()
        js.header.stamp = stamp or self.get_clock().now().to_msg()
        names, positions = list(frame.joint_names), frame.joint_positions.tolist()
        velocities = frame.joint_velocities.tolist()
        if self.p.interface == "xs_sdk":            # the fingers, closed on the plug, as the real driver reports them
            names, positions = names + list(FINGERS), positions + list(FINGERS.values())
            velocities = velocities + [0.0] * len(FINGERS)
        js.name, js.position, js.velocity = names, positions, velocities
        self.joint_pub.publish(js)

    def _write_carrier(self) -> None:
        seated = self.env.seated_port() is not None
        path = Path(self.p.carrier_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("1\n" if seated else "0\n")
        tmp.replace(path)                            # a reader never sees a half-written file

    # ---- input -------------------------------------------------------------------------
    def _step(self, command) -> None:
        try:
            frame, over = self.stepper.step(command)
        except ValueError as exc:
            self.get_logger().warning(f"command dropped: {exc}")
            return
        self.steps += 1
        in_episode = not self._episode_over          # the step that ends the episode is its last frame
        self._episode_over = self._episode_over or over
        self._publish(frame, in_episode=in_episode)

    def _on_stamped_action(self, msg: Action) -> None:
        if self._frame is None or ns_of(msg.header.stamp) != self._frame_ns:
            return                                    # answers an older frame: never step twice
        if self._episode_over:
            return                                    # the policy answered the last frame: nothing to step
        self._step(np.asarray(msg.command, dtype=np.float64))

    def _on_command(self, msg: Float64MultiArray) -> None:
        self._last_command = (time.monotonic(), np.asarray(msg.data, dtype=np.float64))

    # ---- the xs_sdk interface ---------------------------------------------------------------
    def _serve_xs_sdk(self) -> None:
        from interbotix_xs_msgs.msg import JointGroupCommand
        from interbotix_xs_msgs.srv import OperatingModes, Reboot, TorqueEnable

        robot = self.p.robot_name
        self.topics.subscribe(self, JointGroupCommand, f"/{robot}/commands/joint_group", self._on_group_command, RELIABLE)
        serve(self, OperatingModes, f"/{robot}/set_operating_modes",
              lambda req, res: (self.driver.set_mode(req.cmd_type, req.name, req.mode), res)[1])
        serve(self, TorqueEnable, f"/{robot}/torque_enable",
              lambda req, res: (self.driver.set_torque(req.enable), res)[1])
        serve(self, Reboot, f"/{robot}/reboot_motors", lambda req, res: (self.driver.set_torque(req.enable), res)[1])

    def _on_group_command(self, msg) -> None:
        why = self.driver.refuses(msg.name)
        if why:
            self.get_logger().warning(f"group command ignored: {why}", throttle_duration_sec=2.0)
            return
        self._last_command = (time.monotonic(), np.asarray(msg.cmd, dtype=np.float64))

    def _on_rig_state(self, msg: TaskState) -> None:
        if msg.phase != "running" or not hasattr(self.env, "set_rig_state"):
            return
        try:
            self.env.set_rig_state(msg.rig_rotation_deg, msg.rig_translation_m, msg.port)
        except ValueError as exc:
            self.get_logger().warning(f"rig state ignored: {exc}")

    def _on_timer(self) -> None:
        n = self.env.action_space.shape[0]
        fresh = self._last_command is not None and time.monotonic() - self._last_command[0] <= self.p.command_timeout_s
        command = self._last_command[1] if fresh else np.zeros(n)
        self._step(command)          # a robot keeps running: episodes are the learner's business

    def _on_set_task(self, request: SetTask.Request, response: SetTask.Response) -> SetTask.Response:
        try:
            task = self._task_of(request)
        except (ValueError, IndexError) as exc:
            response.success, response.message = False, str(exc)
            return response
        self._episode_over = False
        self._last_command = None                       # the arm was homed: no command carries over
        self._publish(self.stepper.reset(task, seed=int(request.seed)), new_episode=True)
        response.success = True
        response.state = TaskState(task_id=request.task_id, task_set=request.task_set, phase="running")
        response.state.header.stamp = stamp_of(self._frame_ns)
        return response

    def _task_of(self, request):
        """The task a request names; ValueError (the caller's answer) for anything the simulator
        would refuse, checked before the simulator is touched."""
        if request.seed < 0:
            raise ValueError(f"seed must be >= 0 (it seeds the episode's reset), got {request.seed}")
        if request.task_set == "manual":
            if not hasattr(self.env, "set_rig_state"):
                raise ValueError(f"{self.p.env} has no rig: task_set 'manual' is for widowx-cable")
            return self.env.set_rig_state(request.rig_rotation_deg, request.rig_translation_m, request.port)
        tasks = {"train": self.env.train_tasks, "held_out": self.env.held_out_tasks}.get(request.task_set)
        if tasks is None:
            raise ValueError(f"task_set must be train, held_out or manual, got {request.task_set!r}")
        if not 0 <= request.task_id < len(tasks):
            raise ValueError(f"task_id {request.task_id} out of range 0..{len(tasks) - 1} of {request.task_set}")
        return tasks[request.task_id]


#: widowx-cable's fingers as the xs_sdk driver reports them, closed on the plug (m; 0.015 is fully closed)
FINGERS = {"left_finger": 0.021, "right_finger": -0.021}


class XsDriverState:
    """What the emulated xs_sdk driver was told: the arm group's operating mode and the torque. A group
    command moves the simulated arm in velocity mode with the torque on only, as the real driver's
    commands would mean something else in another mode."""

    def __init__(self):
        self.mode, self.torque = "velocity", True

    def set_mode(self, cmd_type: str, name: str, mode: str) -> None:
        if name in ("arm", "all"):
            self.mode = mode

    def set_torque(self, enable: bool) -> None:
        self.torque = bool(enable)

    def refuses(self, group: str) -> str:
        if group != "arm":
            return f"unknown group {group!r} (the arm group is 'arm')"
        if not self.torque:
            return "the torque is off"
        if self.mode != "velocity":
            return f"the arm is in {self.mode} mode, not velocity"
        return ""


NODE = MujocoBridgeNode    # what meld_ros/container.py composes (simulation graphs)
main = entry_point(NODE)


if __name__ == "__main__":
    raise SystemExit(main())
