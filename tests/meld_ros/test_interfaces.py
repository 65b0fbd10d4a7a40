"""The generated meld_ros interfaces: importable, serialisable, and carried over DDS between processes."""
import os
import subprocess
import sys
import textwrap

import pytest

rclpy = pytest.importorskip("rclpy")
from rclpy.serialization import deserialize_message, serialize_message  # noqa: E402

from meld_ros.msg import Belief  # noqa: E402


def test_belief_round_trip_serialisation():
    b = Belief()
    b.latent_mean = [0.5, -1.0, 2.0]
    b.latent_std = [0.1, 0.2, 0.3]
    b.predicted_reward, b.predicted_reward_std = -0.25, 0.05
    b.step, b.episode, b.trial, b.model_version = 7, 1, 3, 12
    back = deserialize_message(serialize_message(b), Belief)
    assert list(back.latent_mean) == pytest.approx([0.5, -1.0, 2.0])
    assert (back.step, back.episode, back.trial, back.model_version) == (7, 1, 3, 12)
    assert back.predicted_reward == pytest.approx(-0.25)


_PUBLISHER = textwrap.dedent("""
    import sys, time, rclpy
    from meld_ros.msg import Belief
    rclpy.init()
    node = rclpy.create_node("belief_test_pub")
    pub = node.create_publisher(Belief, "belief", 10)
    msg = Belief(); msg.latent_mean = [1.0, 2.0]; msg.model_version = 42
    end = time.time() + 20
    while time.time() < end:
        pub.publish(msg)
        rclpy.spin_once(node, timeout_sec=0.05)
    """)


@pytest.mark.graph
def test_belief_crosses_processes_over_dds():
    env = {**os.environ, "ROS_DOMAIN_ID": str(40 + os.getpid() % 50), "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}
    os.environ.update({k: env[k] for k in ("ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE")})
    proc = subprocess.Popen([sys.executable, "-c", _PUBLISHER], env=env)
    try:
        rclpy.init()
        node = rclpy.create_node("belief_test_sub")
        got = []
        node.create_subscription(Belief, "belief", got.append, 10)
        import time
        end = time.time() + 15
        while not got and time.time() < end:
            rclpy.spin_once(node, timeout_sec=0.1)
        node.destroy_node()
        rclpy.shutdown()
        assert got, "no Belief message arrived from the other process"
        assert got[0].model_version == 42 and list(got[0].latent_mean) == [1.0, 2.0]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
