"""The recorded topics' QoS: a recorder that falls a whole episode behind the lockstep graph loses nothing."""
import numpy as np
import pytest
from sensor_msgs.msg import Image

from meld_ros.rosfree.images import array_to_image
from meld_ros.runtime.node_runtime import RECORDED, ns_of, stamp_of

pytestmark = pytest.mark.graph


def test_a_reader_that_falls_an_episode_behind_gets_every_frame(ros_node):
    frames = 2 * 51                                     # two cheetah-vel episodes (50 steps + the reset frame)
    got = []
    ros_node.create_subscription(Image, "/test/recorded", lambda m: got.append(ns_of(m.header.stamp)), RECORDED)
    pub = ros_node.create_publisher(Image, "/test/recorded", RECORDED)
    assert ros_node.spin_until(lambda: pub.get_subscription_count() > 0)
    image = np.zeros((64, 128, 3), np.uint8)
    for k in range(frames):                             # published while the reader takes nothing
        pub.publish(array_to_image(image, stamp_of(k + 1)))
    assert ros_node.spin_until(lambda: len(got) == frames, timeout=30.0), f"{len(got)} of {frames} frames"
    assert got == list(range(1, frames + 1))
