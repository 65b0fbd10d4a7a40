"""Intra-process delivery for nodes composed into one process (``meld_ros/container.py``).

ROS 2 composes latency-critical nodes into one process so that their messages
skip the middleware (rclcpp's intra-process communication); rclpy has no such
path, and on this 2-core CPU each message through Fast DDS costs ~1 ms of CPU
on each side. ``LocalTopics`` gives the graph's hot path that shortcut:

- a node makes every publisher and subscription of its topics through the
  topics object it was built with (``topics.publisher(node, ...)``,
  ``topics.subscribe(node, ...)``) and never asks which kind it has: a node
  in a process of its own gets ``DdsTopics`` (plain ``create_publisher`` /
  ``create_subscription``), the nodes of a container share one ``LocalTopics``
  (``node_runtime.run`` builds them so);
- inside a container, a message published on a topic that another node of the
  same process subscribes to is handed to that subscriber's callback directly
  (the same message object: subscribers must not modify it), and goes out
  over DDS only while a subscriber outside the process is matched (the
  learner, the bridge, rviz, a recorder);
- a subscription to a topic that no node of the process publishes is an
  ordinary DDS subscription, so the composed nodes still hear the bridge,
  the e-stop and the learner. A topic published inside the process is taken
  from inside only: a second publisher on it elsewhere is not heard.

Delivery is run-to-completion: ``publish`` queues the message, and
``drain`` delivers the queue in publication order; the meld executor calls
it after each callback it runs, any other executor from a guard condition
that ``publish`` triggers (``wake_with_guard``) (messages published by the callbacks it runs join
the end of the queue). So no callback ever runs inside another, exactly as
with one single-threaded executor over DDS, just without the middleware. A
subscriber whose callback raises loses that message only (``errors``, as the
executor's own callbacks: ``meld_ros.runtime.callback_errors``); the others still get it.
A latched topic (transient-local durability) always goes over DDS, so that a
subscriber that joins later still gets the last message.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Callable

from meld_ros.runtime.callback_errors import CallbackErrors, describe


@dataclass
class _PendingSubscription:
    node: object
    msg_type: type
    topic: str
    callback: Callable
    qos: object


class LocalPublisher:
    """A publisher whose messages reach the process's own subscribers directly."""

    def __init__(self, topics: "LocalTopics", dds_publisher, topic: str):
        self._topics, self._dds, self.topic = topics, dds_publisher, topic

    def publish(self, msg) -> None:
        if self._dds.get_subscription_count() > 0:       # a subscriber outside this process
            self._dds.publish(msg)
        self._topics._queue.append((self.topic, msg))
        if self._topics._wake is not None:
            self._topics._wake.trigger()

    def get_subscription_count(self) -> int:
        """Subscribers outside this process (those inside are served directly)."""
        return self._dds.get_subscription_count()

    def wait_for_all_acked(self, timeout) -> bool:
        """Until the subscribers outside this process have acknowledged what was sent (reliable QoS)."""
        return self._dds.wait_for_all_acked(timeout)


def _latched(qos) -> bool:
    from rclpy.qos import DurabilityPolicy
    return getattr(qos, "durability", None) == DurabilityPolicy.TRANSIENT_LOCAL


class DdsTopics:
    """Topics over DDS only: what a node in a process of its own is given."""

    def publisher(self, node, msg_type, topic: str, qos):
        return node.create_publisher(msg_type, topic, qos)

    def subscribe(self, node, msg_type, topic: str, callback: Callable, qos) -> None:
        node.create_subscription(msg_type, topic, callback, qos)

    def finalize(self) -> dict[str, list[str]]:
        return {"local": [], "dds": []}


class LocalTopics:
    """Topic routing among the nodes of one process; ``finalize`` once they are all built."""

    def __init__(self, errors: CallbackErrors | None = None, wake_with_guard: bool = False):
        self.errors = errors or CallbackErrors()
        self.wake_with_guard = wake_with_guard
        self._wake = None                             # the guard condition that runs drain (wake_with_guard)
        self._types: dict[str, type] = {}             # topic -> message type of its local publisher
        self._callbacks: dict[str, list[tuple[object, str, Callable]]] = {}   # topic -> (node, name, callback)
        self._pending: list[_PendingSubscription] = []
        self._queue: deque = deque()
        self.finalized = False
        self.delivered = 0

    def publisher(self, node, msg_type, topic: str, qos):
        if _latched(qos):
            return node.create_publisher(msg_type, topic, qos)
        topic = node.resolve_topic_name(topic)
        if self.wake_with_guard and self._wake is None:
            self._wake = node.create_guard_condition(self.drain)
        if self._types.setdefault(topic, msg_type) is not msg_type:
            raise TypeError(f"{topic}: published in this process as {self._types[topic].__name__} "
                            f"and as {msg_type.__name__}")
        return LocalPublisher(self, node.create_publisher(msg_type, topic, qos), topic)

    def subscribe(self, node, msg_type, topic: str, callback: Callable, qos) -> None:
        if self.finalized:
            raise RuntimeError("subscribe after finalize: build every node of the container first")
        self._pending.append(_PendingSubscription(node, msg_type, node.resolve_topic_name(topic), callback, qos))

    def finalize(self) -> dict[str, list[str]]:
        """Wire every subscription: to a local publisher if the process has one, else to DDS.
        Returns {"local": topics served inside, "dds": topics subscribed over DDS}."""
        wiring = {"local": [], "dds": []}
        for s in self._pending:
            local_type = self._types.get(s.topic)
            if local_type is None:
                s.node.create_subscription(s.msg_type, s.topic, s.callback, s.qos)
                wiring["dds"].append(s.topic)
                continue
            if local_type is not s.msg_type:
                raise TypeError(f"{s.topic}: subscribed as {s.msg_type.__name__}, published in this process "
                                f"as {local_type.__name__}")
            self._callbacks.setdefault(s.topic, []).append(
                (s.node, f"{s.topic} callback {describe(s.callback).removeprefix('callback ')}", s.callback))
            wiring["local"].append(s.topic)
        self._pending.clear()
        self.finalized = True
        return wiring

    def drain(self) -> None:
        """Deliver every queued message, in publication order, to the process's subscribers."""
        while self._queue:
            topic, msg = self._queue.popleft()
            for node, what, callback in self._callbacks.get(topic, ()):
                self.delivered += 1
                self.errors.run(node, what, callback, msg)
