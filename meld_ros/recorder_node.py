"""Recorder node: the graph's topics into rosbag2-compatible MCAP bags (``meld_ros.recording.bag_writer``).

Records ``topics`` (and the camera topics with ``cameras: true``; they are
large) as they appear: every ``discovery_period_s`` it looks for
publishers of the topics it does not record yet, subscribes with the QoS
they offer (reliable only if every publisher is; transient local, so a
latched topic's last message is not missed, if every publisher is) and takes
each message's CDR bytes (``raw=True``: nothing is deserialized or
re-encoded), stamped with the time the middleware received it, as ``ros2 bag
record`` does. The subscriptions live on a second node that no executor
waits on: every ``drain_period_s`` a timer takes all that has arrived on each
(the messages wait in the middleware's queue, ``QUEUE_DEPTH`` deep). A wake
per message cost the recorder ~1 ms of CPU per control step of a lockstep
graph (a wait set built per message); this takes ~30 us a message. rclpy has
no public call to take a message outside an executor: the timer uses the
subscription handle's ``take_message``, as meld's LeanExecutor does (checked
against ``executor.CHECKED_RCLPY``). Bags go to ``directory`` as ``<name>_0000``, ``_0001``, ...
(a new one after ``split_size_mb`` or ``split_duration_s``); every
``report_period_s`` it logs what it recorded and the disk space left. Below
``min_free_mb`` it stops recording with an error (the bags so far are
complete) and keeps running: the graph goes on.
"""
from __future__ import annotations

import importlib
import time

import rclpy
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from meld_ros.recording.bag_writer import BagWriter, DiskFull, TopicQos
from meld_ros.recording.message_types import TypeNotFound
from meld_ros.runtime.node_params import RecorderParams, declare
from meld_ros.runtime.node_runtime import entry_point

QUEUE_DEPTH = 1000     # messages kept for the recorder when it falls behind (the graph does not wait for it)


def message_class(typename: str):
    """The Python class of ``pkg/msg/Name`` (what a raw subscription still needs for its type support)."""
    package, kind, name = typename.split("/")
    return getattr(importlib.import_module(f"{package}.{kind}"), name)


class RecorderNode(Node):
    def __init__(self, topics=None):
        super().__init__("recorder")
        self.p: RecorderParams = declare(self, RecorderParams)
        self.wanted = list(self.p.topics) + (list(self.p.camera_topics) if self.p.cameras else [])
        self.writer = BagWriter(self.p.bag_directory(), self.p.name or time.strftime("meld_%Y%m%d-%H%M%S"),
                                split_bytes=int(self.p.split_size_mb * 2**20), split_s=self.p.split_duration_s,
                                min_free_bytes=int(self.p.min_free_mb * 2**20))
        self.subscriptions_by_topic: dict = {}
        self.stopped = ""
        self.taps = rclpy.create_node("recorder_taps", context=self.context,
                                      start_parameter_services=False)     # never spun: drained by the timer
        self.create_timer(self.p.discovery_period_s, self._discover)
        self.create_timer(self.p.drain_period_s, self._drain)
        self.create_timer(self.p.report_period_s, self._report)
        self.get_logger().info(f"recording {', '.join(self.wanted)} to {self.writer.directory} "
                               f"({self.writer.free_bytes() / 2**30:.1f} GiB free)")
        self._discover()

    def _discover(self) -> None:
        if self.stopped:
            return
        for topic in self.wanted:
            if topic in self.subscriptions_by_topic:
                continue
            publishers = self.get_publishers_info_by_topic(topic)
            if not publishers:
                continue
            typename = publishers[0].topic_type
            offered = TopicQos(
                reliable=all(p.qos_profile.reliability == ReliabilityPolicy.RELIABLE for p in publishers),
                transient_local=all(p.qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL for p in publishers),
                depth=max(p.qos_profile.depth for p in publishers) or 10)
            try:
                cls = message_class(typename)
                self.writer.add_topic(topic, typename, offered)
            except (ImportError, AttributeError, TypeNotFound) as exc:
                self.get_logger().error(f"{topic} not recorded: type {typename} unknown here ({exc})",
                                        throttle_duration_sec=30.0)
                continue
            qos = QoSProfile(depth=max(offered.depth, QUEUE_DEPTH),
                             reliability=ReliabilityPolicy.RELIABLE if offered.reliable else ReliabilityPolicy.BEST_EFFORT,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL if offered.transient_local
                             else DurabilityPolicy.VOLATILE)
            self.subscriptions_by_topic[topic] = self.taps.create_subscription(cls, topic, lambda data: None, qos,
                                                                               raw=True)

    def _drain(self) -> None:
        """Everything that arrived on each recorded topic since the last drain, in order, into the bag."""
        if self.stopped:
            return
        try:
            for topic, sub in self.subscriptions_by_topic.items():
                with sub.handle:
                    for _ in range(QUEUE_DEPTH):
                        taken = sub.handle.take_message(sub.msg_type, True)
                        if taken is None:
                            break
                        data, info = taken
                        self.writer.write(topic, info.get("received_timestamp") or time.time_ns(), data)
        except DiskFull as exc:
            self._stop(str(exc))

    def _stop(self, why: str) -> None:
        self.stopped = why
        for sub in self.subscriptions_by_topic.values():
            self.taps.destroy_subscription(sub)
        self.writer.close()
        self.get_logger().error(f"RECORDING STOPPED: {why}")

    def _report(self) -> None:
        counts = ", ".join(f"{t} {n}" for t, n in self.writer.counts.items())
        state = f"stopped ({self.stopped})" if self.stopped else f"{len(self.writer.bags)} bag(s)"
        self.get_logger().info(f"recorded: {counts or 'nothing yet'}; {state}; "
                               f"{self.writer.free_bytes() / 2**30:.1f} GiB free")

    def on_shutdown(self) -> None:
        self._drain()                          # what arrived since the last drain
        self.writer.close()
        self.taps.destroy_node()
        total = sum(self.writer.counts.values())
        where = ", ".join(str(b) for b in self.writer.bags) or "no bag (nothing arrived)"
        self.get_logger().info(f"recorded {total} messages: {where}")


NODE = RecorderNode
main = entry_point(NODE)


if __name__ == "__main__":
    raise SystemExit(main())
