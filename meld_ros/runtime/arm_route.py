"""How joint velocities reach the arm's driver, per driver route (used by the arm adapter and
``meld hardware-check``).

- ``ros2_control``: ``std_msgs/Float64MultiArray`` on ``/arm_controller/commands`` (a
  forward_command_controller on the velocity interface), joint states on ``/joint_states``;
- ``xs_sdk`` (Interbotix): ``interbotix_xs_msgs/JointGroupCommand`` of the arm group on
  ``/<robot>/commands/joint_group``, joint states on ``/<robot>/joint_states``; its ``cmd`` is
  float32, rounded towards zero (``float32_within``) so no command exceeds the limit it was
  clamped to.

``interbotix_xs_msgs`` is imported only on the xs_sdk route: Interbotix's own package where its
workspace is sourced, else the stand-in meld's set-up builds (README, "The real robot").
"""
from __future__ import annotations

import numpy as np
from std_msgs.msg import Float64MultiArray

from meld_core.config import ConfigError
from meld_ros.runtime.node_runtime import RELIABLE

ROUTES = ("xs_sdk", "ros2_control")


def float32_within(values) -> np.ndarray:
    """``values`` as float32, rounded towards zero: plain rounding can land above a limit (float32(pi) > pi)
    and the motors would get more than the limit the adapter enforced."""
    v = np.asarray(values, dtype=np.float64)
    out = v.astype(np.float32)
    over = np.abs(out.astype(np.float64)) > np.abs(v)
    out[over] = np.nextafter(out[over], np.float32(0))
    return out


def joint_states_topic(route: str, robot: str, given: str = "") -> str:
    return given or ("/joint_states" if route == "ros2_control" else f"/{robot}/joint_states")


class ArmRoute:
    """Publishes joint velocities to the driver of ``route``; ``send(v)`` takes rad/s in the arm's joint
    order. ``topics``: the node's publisher factory (meld_ros.runtime.intra_process)."""

    def __init__(self, node, topics, route: str, robot: str, arm_group: str = "arm", driver_topic: str = ""):
        if route not in ROUTES:
            raise ConfigError(f"the arm's driver route must be one of {ROUTES}, got {route!r}")
        self.route, self.robot = route, robot
        if route == "ros2_control":
            self.topic = driver_topic or "/arm_controller/commands"
            self.publisher = topics.publisher(node, Float64MultiArray, self.topic, RELIABLE)
            self.message = lambda v: Float64MultiArray(data=[float(x) for x in v])
            return
        try:
            from interbotix_xs_msgs.msg import JointGroupCommand
        except ImportError:
            raise ConfigError("the xs_sdk route needs the interbotix_xs_msgs package: source the workspace with "
                              "Interbotix's packages (or meld's install, which builds a stand-in)") from None
        self.topic = driver_topic or f"/{robot}/commands/joint_group"
        self.publisher = topics.publisher(node, JointGroupCommand, self.topic, RELIABLE)
        self.message = lambda v: JointGroupCommand(name=arm_group, cmd=float32_within(v).tolist())

    def send(self, velocities) -> None:
        self.publisher.publish(self.message(velocities))
