"""Reward sensing node: the dense reward, the sparse reward and success of every control step.

In simulation (``source: sim``) it reads the simulator's ground truth
(``meld_ros/Reward`` from the MuJoCo bridge) and republishes it on
``reward_topic`` with the same stamp after checking it: a non-finite reward is
logged and dropped (the belief node then never sees a NaN). Hardware sources
(plug pose from forward kinematics and the rig state, an insertion signal)
come with the hardware driver.
"""
from __future__ import annotations

import math

from rclpy.node import Node

from meld_ros.msg import Reward
from meld_ros.node_params import RewardParams, declare
from meld_ros.node_runtime import RECORDED, RELIABLE, entry_point, publisher, subscribe


class RewardNode(Node):
    def __init__(self):
        super().__init__("reward_sensing")
        self.p: RewardParams = declare(self, RewardParams)
        self.pub = publisher(self, Reward, self.p.reward_topic, RECORDED)
        subscribe(self, Reward, self.p.ground_truth_topic, self._on_truth, RELIABLE)
        self.dropped = 0

    def _on_truth(self, msg: Reward) -> None:
        if not (math.isfinite(msg.dense) and math.isfinite(msg.sparse)):
            self.dropped += 1
            self.get_logger().warning(f"reward dropped: not finite (dense {msg.dense}, sparse {msg.sparse})",
                                      throttle_duration_sec=2.0)
            return
        self.pub.publish(msg)


NODE = RewardNode          # what meld_ros/container.py composes
main = entry_point(NODE)


if __name__ == "__main__":
    raise SystemExit(main())
