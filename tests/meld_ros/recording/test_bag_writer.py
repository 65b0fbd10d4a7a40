"""The bag writer on its own: consecutive bags by size and by duration, each complete for a reader, and a
full disk that stops the recording with a message and leaves the bags so far readable."""
import pytest
from rclpy.serialization import serialize_message

from meld_ros.msg import Reward, TaskState
from meld_ros.recording.bag_trials import bag_directories
from meld_ros.recording.bag_writer import BagWriter, DiskFull, TopicQos

pytestmark = pytest.mark.unit


def _reward(k):
    r = Reward(dense=-0.01 * k, sparse=0.0, success=False, step=k % 20)
    r.header.stamp.sec = k
    return serialize_message(r)


def _read(bags):
    from rosbags.highlevel import AnyReader
    with AnyReader(bags) as reader:
        return [(c.topic, reader.deserialize(raw, c.msgtype)) for c, _t, raw in reader.messages()]


def test_split_by_size_and_duration_into_complete_bags(tmp_path):
    w = BagWriter(tmp_path / "size", split_bytes=300)
    w.add_topic("/meld/reward", "meld_ros/msg/Reward")
    w.add_topic("/meld/task", "meld_ros/msg/TaskState", TopicQos(transient_local=True, depth=1))
    w.write("/meld/task", 0, serialize_message(TaskState(task_id=2, task_set="train", phase="running")))
    for k in range(30):
        w.write("/meld/reward", (k + 1) * 10**8, _reward(k))
    w.close()
    assert len(w.bags) >= 3 and bag_directories([tmp_path / "size"]) == w.bags
    for bag in w.bags:                                    # each one readable by itself
        assert _read([bag])
    messages = _read(w.bags)
    assert [m.dense for t, m in messages if t == "/meld/reward"] == [-0.01 * k for k in range(30)]
    assert w.counts == {"/meld/reward": 30, "/meld/task": 1}

    w = BagWriter(tmp_path / "time", split_s=1.0)
    w.add_topic("/meld/reward", "meld_ros/msg/Reward")
    for k in range(25):
        w.write("/meld/reward", k * 10**8, _reward(k))    # 2.4 s of messages
    w.close()
    assert len(w.bags) == 3


def test_a_full_disk_stops_the_recording_and_keeps_what_was_written(tmp_path, monkeypatch):
    import meld_ros.recording.bag_writer as bag_writer
    w = BagWriter(tmp_path, min_free_bytes=1 << 20)
    w.add_topic("/meld/reward", "meld_ros/msg/Reward")
    for k in range(5):
        w.write("/meld/reward", k, _reward(k))
    monkeypatch.setattr(bag_writer, "CHECK_EVERY_BYTES", 1)
    free = type("Usage", (), {"free": 1000})
    monkeypatch.setattr(bag_writer.shutil, "disk_usage", lambda path: free)      # the disk fills up
    with pytest.raises(DiskFull, match="MiB left on the disk"):
        w.write("/meld/reward", 5, _reward(5))
    assert len(_read(w.bags)) == 6                       # closed cleanly: everything written is there
