"""Intra-process delivery among composed nodes (meld_ros/runtime/intra_process.py), with real rclpy nodes."""
import time

import pytest
import rclpy
from std_msgs.msg import Float64, String

from meld_ros.runtime.executor import LeanExecutor
from meld_ros.runtime.intra_process import LocalTopics
from meld_ros.runtime.node_runtime import RELIABLE


def _spin_until(executor, predicate, timeout=10.0) -> None:
    end = time.monotonic() + timeout
    while not predicate() and time.monotonic() < end:
        executor.spin_once(timeout_sec=0.05)


def _draining_executor(local, node, publisher):
    """A LeanExecutor over ``node`` that drains ``local``, spun until ``publisher`` has a subscriber."""
    executor = LeanExecutor(after_callback=local.drain)
    executor.add_node(node)
    _spin_until(executor, lambda: publisher.get_subscription_count() > 0)
    return executor


@pytest.fixture
def context():
    rclpy.init()
    yield
    rclpy.shutdown()


def test_local_topics_deliver_in_order_without_nesting(context):
    local = LocalTopics()
    a, b = rclpy.create_node("composed_a"), rclpy.create_node("composed_b")
    log = []
    pub_x = local.publisher(a, String, "/x", RELIABLE)
    pub_y = local.publisher(b, String, "/y", RELIABLE)

    def on_x(msg):                     # b answers every /x with a /y, which a hears
        log.append(("b got", msg.data))
        pub_y.publish(String(data="answer to " + msg.data))
        log.append(("b done", msg.data))

    local.subscribe(b, String, "/x", on_x, RELIABLE)
    local.subscribe(a, String, "/y", lambda m: log.append(("a got", m.data)), RELIABLE)
    local.subscribe(a, Float64, "/from_outside", lambda m: log.append(("dds", m.data)), RELIABLE)
    wiring = local.finalize()
    assert sorted(wiring["local"]) == ["/x", "/y"] and wiring["dds"] == ["/from_outside"]
    assert [s.topic_name for s in a.subscriptions] == ["/from_outside"] and not list(b.subscriptions)
    with pytest.raises(RuntimeError, match="after finalize"):
        local.subscribe(a, String, "/x", print, RELIABLE)

    pub_x.publish(String(data="1"))
    pub_x.publish(String(data="2"))
    assert log == []                                    # queued until the executor drains
    local.drain()
    # run to completion, in publication order: b's answer to 1 is delivered after b's callback returned
    assert log == [("b got", "1"), ("b done", "1"), ("b got", "2"), ("b done", "2"),
                   ("a got", "answer to 1"), ("a got", "answer to 2")]
    assert local.delivered == 4
    a.destroy_node()
    b.destroy_node()


def test_dds_only_for_subscribers_outside_and_types_checked(context):
    local = LocalTopics()
    a = rclpy.create_node("composed_pub")
    pub = local.publisher(a, String, "/meld_test/topic", RELIABLE)
    local.finalize()
    outside_node = rclpy.create_node("outside")        # a plain DDS subscriber: what rviz or the learner is
    got = []
    outside_node.create_subscription(String, "/meld_test/topic", got.append, RELIABLE)
    executor = _draining_executor(local, outside_node, pub)
    assert pub.get_subscription_count() == 1
    pub.publish(String(data="seen outside"))
    _spin_until(executor, lambda: got)
    assert [m.data for m in got] == ["seen outside"]

    with pytest.raises(TypeError, match="published in this process as String"):
        local.publisher(a, Float64, "/meld_test/topic", RELIABLE)
    other = LocalTopics()
    other.publisher(a, String, "/meld_test/typed", RELIABLE)
    other.subscribe(a, Float64, "/meld_test/typed", print, RELIABLE)
    with pytest.raises(TypeError, match="subscribed as Float64"):
        other.finalize()
    executor.shutdown()
    outside_node.destroy_node()
    a.destroy_node()


def test_executor_drains_after_each_callback(context):
    """A DDS callback that publishes locally: the local subscriber runs right after it, in the same spin."""
    local = LocalTopics()
    a = rclpy.create_node("composed_relay")
    relay = local.publisher(a, String, "/meld_test/relayed", RELIABLE)
    got = []
    local.subscribe(a, String, "/meld_test/in", lambda m: relay.publish(String(data=m.data + "!")), RELIABLE)
    local.subscribe(a, String, "/meld_test/relayed", got.append, RELIABLE)
    local.finalize()
    src = rclpy.create_node("source")
    pub = src.create_publisher(String, "/meld_test/in", RELIABLE)
    executor = _draining_executor(local, a, pub)
    pub.publish(String(data="hi"))
    _spin_until(executor, lambda: got)
    assert [m.data for m in got] == ["hi!"]
    executor.shutdown()
    src.destroy_node()
    a.destroy_node()


def test_outside_messages_leave_in_groups_in_order(context, monkeypatch):
    """What a delivery run publishes for outside subscribers goes out when the run ends (and every GROUP_S
    while it lasts), in publication order; a message published outside a run goes out at once."""
    import meld_ros.runtime.intra_process as intra_process
    local = LocalTopics()
    a = rclpy.create_node("composed_chain")
    step = local.publisher(a, String, "/meld_test/step", RELIABLE)      # heard inside and outside
    seen_sent = []

    def on_step(msg):                   # a chain: every step publishes the next, as lockstep does
        seen_sent.append(local.sent_outside)
        n = int(msg.data)
        if n < 5:
            time.sleep(0.004)
            step.publish(String(data=str(n + 1)))

    local.subscribe(a, String, "/meld_test/step", on_step, RELIABLE)
    local.finalize()
    outside = rclpy.create_node("outside_chain")
    got = []
    outside.create_subscription(String, "/meld_test/step", lambda m: got.append(m.data), RELIABLE)
    executor = _draining_executor(local, outside, step)

    def run_chain():
        """One chain from a publish outside any run; (sent_outside seen by each step's callback, before)."""
        seen_sent.clear()
        got.clear()
        before = local.sent_outside
        step.publish(String(data="0"))                   # outside a run: at once
        assert local.sent_outside == before
        _spin_until(executor, lambda: len(got) == 6)
        assert got == ["0", "1", "2", "3", "4", "5"]     # all of them, in order
        return list(seen_sent), before

    seen, before = run_chain()
    assert local.sent_outside == before + 5              # the chain's own five, in groups
    assert seen[0] == before and seen[-1] < before + 5   # nothing sent before the run; the last at its end
    monkeypatch.setattr(intra_process, "GROUP_S", 1.0)   # a run shorter than GROUP_S: one group, at its end
    seen, before = run_chain()
    assert seen == [before] * 6
    monkeypatch.setattr(intra_process, "GROUP_S", 0.0)   # a group after every message
    seen, before = run_chain()
    assert seen == [before + k for k in range(6)]
    executor.shutdown()
    outside.destroy_node()
    a.destroy_node()


def test_wait_for_all_acked_sends_the_group_first(context):
    """A stopping node's last command, published in a callback and waited for, is sent before the wait."""
    local = LocalTopics()
    a = rclpy.create_node("composed_stopper")
    cmd = local.publisher(a, String, "/meld_test/cmd", RELIABLE)
    trigger = local.publisher(a, String, "/meld_test/trigger", RELIABLE)
    acked = []

    def on_trigger(msg):
        cmd.publish(String(data="zero"))
        acked.append(cmd.wait_for_all_acked(rclpy.duration.Duration(seconds=5.0)))

    local.subscribe(a, String, "/meld_test/trigger", on_trigger, RELIABLE)
    local.finalize()
    outside = rclpy.create_node("outside_driver")
    got = []
    outside.create_subscription(String, "/meld_test/cmd", lambda m: got.append(m.data), RELIABLE)
    executor = _draining_executor(local, outside, cmd)
    trigger.publish(String(data="stop"))
    local.drain()
    assert acked == [True] and local.sent_outside == 1
    _spin_until(executor, lambda: got)
    assert got == ["zero"]
    executor.shutdown()
    outside.destroy_node()
    a.destroy_node()
