"""The recorder node as a process: it records what a publisher sends, and a full disk stops the recording
with an error while the node (and so the graph) goes on."""
import time

import pytest

from meld_ros.msg import Reward
from meld_ros.recording.bag_trials import bag_directories
from meld_ros.runtime.node_runtime import RECORDED

pytestmark = pytest.mark.graph


def _publish(ros_node, n):
    pub = ros_node.create_publisher(Reward, "/meld/reward", RECORDED)
    ros_node.spin_until(lambda: pub.get_subscription_count() > 0, timeout=30)
    for k in range(n):
        pub.publish(Reward(dense=-0.1 * k, step=k))
        ros_node.spin_until(lambda: False, timeout=0.01)
    ros_node.spin_until(lambda: False, timeout=1.0)


def test_records_and_a_full_disk_stops_only_the_recording(start_node, ros_node, tmp_path):
    rec = start_node("recorder_node", {"directory": str(tmp_path / "ok"), "topics": "['/meld/reward']",
                                       "discovery_period_s": 0.2})
    _publish(ros_node, 20)
    code, log = rec.stop()
    assert code == 0, log
    from rosbags.highlevel import AnyReader
    with AnyReader(bag_directories([tmp_path / "ok"])) as reader:
        dense = [reader.deserialize(raw, c.msgtype).dense for c, _t, raw in reader.messages()]
    assert dense == [-0.1 * k for k in range(20)]

    full = start_node("recorder_node", {"directory": str(tmp_path / "full"), "topics": "['/meld/reward']",
                                        "discovery_period_s": 0.2, "min_free_mb": 1e12})
    _publish(ros_node, 5)
    time.sleep(0.5)
    assert full.proc.poll() is None                     # still running: the graph is not taken down
    code, log = full.stop()
    assert code == 0 and "RECORDING STOPPED" in log and "MiB left on the disk" in log
