"""Reward sensing node: the dense reward, the sparse reward and success of every control step.

In simulation (``source: sim``) it reads the simulator's ground truth
(``meld_ros/Reward`` from the MuJoCo bridge) and republishes it on
``reward_topic`` with the same stamp after checking it: a reward that is not
finite or beyond ``Reward.MAX_ABS`` is logged and dropped (``meld_ros.rosfree.reward_check``),
so the belief node and the learner never see one. Hardware sources
(plug pose from forward kinematics and the rig state, an insertion signal)
come with the hardware driver.
"""
from __future__ import annotations

from rclpy.node import Node

from meld_ros.msg import Reward
from meld_ros.runtime.node_params import RewardParams, declare
from meld_ros.runtime.node_runtime import RECORDED, RELIABLE, entry_point
from meld_ros.runtime.intra_process import DdsTopics
from meld_ros.rosfree.reward_check import reward_is_plausible


class RewardNode(Node):
    def __init__(self, topics=None):
        super().__init__("reward_sensing")
        self.topics = topics or DdsTopics()      # its publishers and subscriptions: given, composed or not
        self.p: RewardParams = declare(self, RewardParams)
        self.pub = self.topics.publisher(self, Reward, self.p.reward_topic, RECORDED)
        self.topics.subscribe(self, Reward, self.p.ground_truth_topic, self._on_truth, RELIABLE)
        self.dropped = 0

    def _on_truth(self, msg: Reward) -> None:
        if not reward_is_plausible(msg.dense, msg.sparse, Reward.MAX_ABS):
            self.dropped += 1
            self.get_logger().warning(f"reward dropped: not finite or beyond +-{Reward.MAX_ABS:g} (dense {msg.dense}, "
                                      f"sparse {msg.sparse}); {self.dropped} dropped so far", throttle_duration_sec=2.0)
            return
        self.pub.publish(msg)


NODE = RewardNode          # what meld_ros/container.py composes
main = entry_point(NODE)


if __name__ == "__main__":
    raise SystemExit(main())
