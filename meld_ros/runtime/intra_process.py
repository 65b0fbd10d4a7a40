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

Messages for subscribers outside the process leave in groups: what the
callbacks of a delivery run publish for outside is sent, in publication
order, when the run ends (the queue is empty), and every ``GROUP_S`` while
it lasts (a lockstep episode with the bridge composed is one run: each
command steps the simulation, whose frame carries the chain on). A DDS
write is a long, cache-cold path when it comes alone between inference and
rendering (~80 us of CPU on this machine, against ~15 us for the next ones
sent right after it); grouped, the lockstep graph sends an episode's
observations, rewards and actions to the learner and a recorder's belief
and joint states for a fraction of that (``benchmarks/recorder_cost.py``).
The last message of a chain (the command to an arm driver outside) still
leaves as soon as its run ends. A message published outside a delivery
run (a timer, a node's start, a stopping node's zero command) goes out at
once, as before.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

from meld_ros.runtime.callback_errors import CallbackErrors, describe

#: while a delivery run lasts, what it published for outside subscribers is sent at least this often
GROUP_S = 0.005


@dataclass
class _PendingSubscription:
    node: object
    msg_type: type
    topic: str
    callback: Callable
    qos: object


class LocalPublisher:
    """A publisher whose messages reach the process's own subscribers directly."""

    def __init__(self, topics: "LocalTopics", node, dds_publisher, topic: str):
        self._topics, self._node, self._dds, self.topic = topics, node, dds_publisher, topic

    def publish(self, msg) -> None:
        if self._dds.get_subscription_count() > 0:       # a subscriber outside this process
            if self._topics._delivering:
                self._topics._outside.append((self, msg))   # sent with the run's others (``drain``)
            else:
                self._dds.publish(msg)
        self._topics._queue.append((self.topic, msg))
        if self._topics._wake is not None:
            self._topics._wake.trigger()

    def get_subscription_count(self) -> int:
        """Subscribers outside this process (those inside are served directly)."""
        return self._dds.get_subscription_count()

    def wait_for_all_acked(self, timeout) -> bool:
        """Until the subscribers outside this process have acknowledged what was sent (reliable QoS)."""
        self._topics._send_outside()                 # what waits in the current delivery run's group too
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
        self._delivering = False                      # inside drain: outside messages wait in _outside
        self._outside: list[tuple[LocalPublisher, object]] = []
        self.finalized = False
        self.delivered = 0
        self.sent_outside = 0

    def publisher(self, node, msg_type, topic: str, qos):
        if _latched(qos):
            return node.create_publisher(msg_type, topic, qos)
        topic = node.resolve_topic_name(topic)
        if self.wake_with_guard and self._wake is None:
            self._wake = node.create_guard_condition(self.drain)
        if self._types.setdefault(topic, msg_type) is not msg_type:
            raise TypeError(f"{topic}: published in this process as {self._types[topic].__name__} "
                            f"and as {msg_type.__name__}")
        return LocalPublisher(self, node, node.create_publisher(msg_type, topic, qos), topic)

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
        """Deliver every queued message, in publication order, to the process's subscribers; what the
        callbacks publish for subscribers outside goes out every ``GROUP_S`` and when the queue is empty."""
        if self._delivering:                          # called from a callback of this run: the run goes on
            return
        self._delivering = True
        sent_at = time.monotonic()
        try:
            while self._queue:
                topic, msg = self._queue.popleft()
                for node, what, callback in self._callbacks.get(topic, ()):
                    self.delivered += 1
                    self.errors.run(node, what, callback, msg)
                if self._outside and time.monotonic() - sent_at >= GROUP_S:
                    self._send_outside()
                    sent_at = time.monotonic()
        finally:
            self._delivering = False
            self._send_outside()

    def _send_outside(self) -> None:
        group, self._outside = self._outside, []
        for publisher, msg in group:
            self.sent_outside += 1
            self.errors.run(publisher._node, f"{publisher.topic} publish", publisher._dds.publish, msg)
