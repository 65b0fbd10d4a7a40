"""Reward sensing node: the dense reward, the sparse reward and success of every control step.

In simulation (``source: sim``) it reads the simulator's ground truth
(``meld_ros/Reward`` from the MuJoCo bridge) and republishes it on
``reward_topic`` with the same stamp after checking it.

On the robot (``source: hardware``) it computes them
(``meld_ros.hardware.insertion_reward``): every fused observation on
``observation_topic`` is one control step, and gets a ``Reward`` with its
stamp, from the newest joint state (``joint_states_topic``; forward
kinematics to the plug tip), the rig state of the latest ``TaskState`` on
``task_topic`` (the rig driver's, whose stamp starts the episode) with the
rig's calibration (``calibration_file``), and the insertion sensor
(``insertion_sensor: link``, the plug's network link on ``link_interface``;
``snmp``, the per-port link status of a managed switch: which port it is in).
Steps 0..E of an episode get a reward, frames outside an episode none. A frame
without a joint state newer than ``joint_state_timeout_s`` gets none either
(logged, counted in ``dropped``).

Either way a reward that is not finite or beyond ``Reward.MAX_ABS`` is logged
and dropped (``meld_ros.rosfree.reward_check``), so the belief node and the
learner never see one.
"""
from __future__ import annotations

import os
import time

from rclpy.node import Node
from sensor_msgs.msg import Image, JointState

from meld_core.config import ConfigError
from meld_ros.hardware.insertion_sensor import LinkSensor, SensorError
from meld_ros.msg import Reward, TaskState
from meld_ros.runtime.node_params import RewardParams, declare
from meld_ros.runtime.node_runtime import LATCHED, RECORDED, RELIABLE, entry_point, ns_of
from meld_ros.runtime.intra_process import DdsTopics
from meld_ros.rosfree.reward_check import reward_is_plausible


class RewardNode(Node):
    def __init__(self, topics=None):
        super().__init__("reward_sensing")
        self.topics = topics or DdsTopics()      # its publishers and subscriptions: given, composed or not
        self.p: RewardParams = declare(self, RewardParams)
        self.pub = self.topics.publisher(self, Reward, self.p.reward_topic, RECORDED)
        self.dropped = 0
        if self.p.source == "sim":
            self.topics.subscribe(self, Reward, self.p.ground_truth_topic, self._on_truth, RELIABLE)
            return
        self.reward = self._hardware_reward()
        self._joints: tuple[int, object] | None = None          # (monotonic ns, positions in FK's order)
        self.topics.subscribe(self, JointState, self.p.joint_states_topic, self._on_joint_state, RELIABLE)
        self.topics.subscribe(self, TaskState, self.p.task_topic, self._on_task, LATCHED)
        self.topics.subscribe(self, Image, self.p.observation_topic, self._on_observation, RELIABLE)

    def _hardware_reward(self):
        from meld_ros.hardware.insertion_reward import InsertionReward
        from meld_ros.hardware.plug_pose import CalibrationError, PlugKinematics, RigCalibration
        from meld_sim_bridge.registry import env_class

        try:
            calibration = RigCalibration.load(os.path.expanduser(self.p.calibration_file))
            if self.p.insertion_sensor == "link":
                sensor = LinkSensor(self.p.link_interface, self.p.sysfs_net)
            elif self.p.insertion_sensor == "snmp":
                from meld_ros.hardware.switch_ports import SwitchPortSensor
                sensor = self._switch = SwitchPortSensor(self.p.snmp_host, self.p.snmp_if_indexes, self.p.snmp_port,
                                                         self.p.snmp_community, self.p.snmp_period_s).start()
            else:
                sensor = _NoSensor()
        except (CalibrationError, SensorError) as exc:
            raise ConfigError(f"reward_sensing: {exc}") from None
        return InsertionReward(PlugKinematics(), calibration, sensor, env_class(self.p.task_env).episode_length)

    # ---- simulation ------------------------------------------------------------------------
    def _on_truth(self, msg: Reward) -> None:
        self._publish(msg)

    def _publish(self, msg: Reward) -> None:
        if not reward_is_plausible(msg.dense, msg.sparse, Reward.MAX_ABS):
            self._drop(f"not finite or beyond +-{Reward.MAX_ABS:g} (dense {msg.dense}, sparse {msg.sparse})")
            return
        self.pub.publish(msg)

    def _drop(self, why: str) -> None:
        self.dropped += 1
        self.get_logger().warning(f"reward dropped: {why}; {self.dropped} dropped so far", throttle_duration_sec=2.0)

    # ---- hardware --------------------------------------------------------------------------
    def _on_joint_state(self, msg: JointState) -> None:
        from meld_ros.hardware.arm_limits import positions_in_order

        q = positions_in_order(msg.name, msg.position, self.reward.kinematics.joint_names)
        if q is not None:
            self._joints = (time.monotonic_ns(), q)

    def _on_task(self, msg: TaskState) -> None:
        from meld_ros.hardware.insertion_reward import RigState

        if msg.phase != "running":
            return
        self.reward.start_episode(RigState(ns_of(msg.header.stamp), msg.rig_rotation_deg, msg.rig_translation_m,
                                           msg.port))

    def _on_observation(self, msg: Image) -> None:
        if not self.reward.running:
            return
        if self._joints is None or time.monotonic_ns() - self._joints[0] > self.p.joint_state_timeout_s * 1e9:
            self._drop(f"no joint state on {self.p.joint_states_topic} within {self.p.joint_state_timeout_s:g} s")
            return
        try:
            reading = self.reward.on_frame(ns_of(msg.header.stamp), self._joints[1])
        except (ValueError, SensorError) as exc:      # a sensor that cannot be read, a joint state FK refuses
            self._drop(str(exc))
            return
        if reading is None:
            return
        out = Reward(dense=reading.dense, sparse=reading.sparse, success=reading.success, step=reading.step)
        out.header = msg.header
        self._publish(out)


    def on_shutdown(self) -> None:
        if getattr(self, "_switch", None) is not None:
            self._switch.stop()


class _NoSensor:
    """``insertion_sensor: none``: no plug is ever reported seated (dense reward only)."""

    def inserted(self) -> bool:
        return False


NODE = RewardNode          # what meld_ros/container.py composes
main = entry_point(NODE)


if __name__ == "__main__":
    raise SystemExit(main())
