"""Live view node: the run as it happens, for Foxglove (``foxglove:=true``).

A Foxglove WebSocket server (``foxglove-sdk``) on ``host``:``port``
(localhost and 8766 by default: 8765 is ``foxglove_bridge``'s, which may run
beside it) streams, on these channels:

- ``/meld/observation`` and ``/meld/reconstruction``: ``foxglove.RawImage``,
  what the model sees and what it decodes from its belief p(x_t | z_t);
- ``/meld/live/belief`` (JSON): per control step the belief's predicted
  reward E[r_t | z_t] and its std, the reward that was sensed at that step
  (a belief waits up to 0.5 s for it: the two topics arrive in either order),
  the mean latent std (how sure the belief is), step, episode, trial;
- ``/meld/live/task`` (JSON): the rig's task and what the graph is doing;
- ``/meld/live/diagnostics`` (JSON): camera fusion's status per camera.

Open docs/foxglove_layout.json in Foxglove (app or browser) connected to
``ws://localhost:8766`` for these panels. The node subscribes to a ROS topic
only while a client subscribes to a channel fed by it (checked every
``sync_period_s``): the belief node decodes reconstructions only while
someone watches them, and with no client the view costs nothing.
"""
from __future__ import annotations

import json
import time

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from sensor_msgs.msg import Image

from meld_core.config import ConfigError
from meld_ros.msg import Belief, Reward, TaskState
from meld_ros.rosfree.belief_rewards import BeliefRewards
from meld_ros.runtime.node_params import LiveViewParams, declare
from meld_ros.runtime.node_runtime import LATCHED, RELIABLE, entry_point, ns_of


class LiveViewNode(Node):
    def __init__(self, topics=None):
        super().__init__("live_view")
        import foxglove
        from foxglove.channels import RawImageChannel

        self.p: LiveViewParams = declare(self, LiveViewParams)
        try:
            self.server = foxglove.start_server(name="meld", host=self.p.host, port=self.p.port)
        except Exception as exc:              # the SDK's own error type: a port in use, an address not here
            raise ConfigError(f"live_view: no server on {self.p.host}:{self.p.port} ({exc}); choose another "
                              f"foxglove_port") from None
        self._pairs = BeliefRewards()                    # each belief with the reward sensed at its step
        images = {t: RawImageChannel(t) for t in ("/meld/observation", "/meld/reconstruction")}
        plots = {name: foxglove.Channel(f"/meld/live/{name}", message_encoding="json")
                 for name in ("belief", "task", "diagnostics")}
        #: channel -> the ROS topics that feed it (type, callback, QoS)
        self.feeds = {
            images["/meld/observation"]: [("/meld/observation", Image, self._image(images["/meld/observation"]), RELIABLE)],
            images["/meld/reconstruction"]: [("/meld/reconstruction", Image,
                                              self._image(images["/meld/reconstruction"]), RELIABLE)],
            plots["belief"]: [("/meld/belief", Belief, lambda m: self._belief(plots["belief"], m), RELIABLE),
                              ("/meld/reward", Reward, lambda m: self._reward(plots["belief"], m), RELIABLE)],
            plots["task"]: [("/meld/task", TaskState, lambda m: self._task(plots["task"], m), LATCHED)],
            plots["diagnostics"]: [("/diagnostics", DiagnosticArray, lambda m: self._diagnostics(plots["diagnostics"], m),
                                    RELIABLE)],
        }
        self.belief_channel = plots["belief"]
        self.subscribed: dict[str, object] = {}
        self.create_timer(self.p.sync_period_s, self._sync)
        self.get_logger().info(f"live view on ws://{self.p.host}:{self.p.port} (open docs/foxglove_layout.json in "
                               f"Foxglove)")

    # ---- subscribe only for watched channels ---------------------------------------------------
    def _sync(self) -> None:
        self._log_beliefs(self.belief_channel, self._pairs.expired(time.monotonic()))
        wanted = {topic: (cls, cb, qos) for channel, feeds in self.feeds.items() if channel.has_sinks()
                  for topic, cls, cb, qos in feeds}
        for topic in [t for t in self.subscribed if t not in wanted]:
            self.destroy_subscription(self.subscribed.pop(topic))
        for topic, (cls, cb, qos) in wanted.items():
            if topic not in self.subscribed:
                self.subscribed[topic] = self.create_subscription(cls, topic, cb, qos)

    # ---- messages -> channels -------------------------------------------------------------------
    @staticmethod
    def _image(channel):
        from foxglove.messages import RawImage, Timestamp

        def forward(msg: Image) -> None:
            stamp = Timestamp(msg.header.stamp.sec, msg.header.stamp.nanosec)
            channel.log(RawImage(timestamp=stamp, frame_id=msg.header.frame_id, width=msg.width, height=msg.height,
                                 encoding=msg.encoding, step=msg.step, data=bytes(msg.data)),
                        log_time=ns_of(msg.header.stamp))
        return forward

    def _reward(self, channel, msg: Reward) -> None:
        self._log_beliefs(channel, self._pairs.reward(ns_of(msg.header.stamp), float(msg.dense), time.monotonic()))

    def _belief(self, channel, msg: Belief) -> None:
        """A belief goes out with the reward sensed at its step (``BeliefRewards``: either may come first)."""
        ns = ns_of(msg.header.stamp)
        std = np.asarray(msg.latent_std, dtype=np.float64)
        belief = {
            "timestamp": {"sec": msg.header.stamp.sec, "nsec": msg.header.stamp.nanosec},
            "predicted_reward": float(msg.predicted_reward), "predicted_reward_std": float(msg.predicted_reward_std),
            "reward": None, "latent_std_mean": float(std.mean()) if std.size else None,
            "step": int(msg.step), "episode": int(msg.episode), "trial": int(msg.trial),
            "model_version": int(msg.model_version)}
        self._log_beliefs(channel, self._pairs.belief(ns, (ns, belief), time.monotonic()))

    @staticmethod
    def _log_beliefs(channel, pairs) -> None:
        for (ns, belief), reward in pairs:
            belief["reward"] = reward
            channel.log(json.dumps(belief), log_time=ns)

    @staticmethod
    def _task(channel, msg: TaskState) -> None:
        channel.log(json.dumps({"task_id": int(msg.task_id), "task_set": msg.task_set, "phase": msg.phase,
                                "rig_rotation_deg": float(msg.rig_rotation_deg),
                                "rig_translation_m": float(msg.rig_translation_m), "port": int(msg.port),
                                "trial": int(msg.trial), "episode": int(msg.episode)}))

    @staticmethod
    def _diagnostics(channel, msg: DiagnosticArray) -> None:
        channel.log(json.dumps({"status": [{"name": s.name, "level": int.from_bytes(s.level, "little")
                                            if isinstance(s.level, bytes) else int(s.level), "message": s.message}
                                           for s in msg.status]}))

    def on_shutdown(self) -> None:
        self.server.stop()


NODE = LiveViewNode
main = entry_point(NODE)


if __name__ == "__main__":
    raise SystemExit(main())
