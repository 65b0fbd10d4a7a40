"""foxglove:=true: a WebSocket client speaking the Foxglove WebSocket protocol (the websockets library; messages decoded
with protobuf from the schemas the server advertises, as Foxglove does) receives the run's images and plots,
and they hold what the graph sent (checked against the ROS topics, stamp by stamp)."""
import base64
import json
import os
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from websockets.sync.client import connect

from meld_ros.msg import Belief, Reward
from meld_ros.runtime.node_runtime import RECORDED, ns_of
from sensor_msgs.msg import Image

pytestmark = pytest.mark.graph

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _protobuf_class(channel):
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    files = descriptor_pb2.FileDescriptorSet.FromString(base64.b64decode(channel["schema"]))
    pool = descriptor_pool.DescriptorPool()
    for f in files.file:
        pool.Add(f)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(channel["schemaName"]))


def ns_of_frame(image) -> int:
    """A foxglove RawImage's timestamp in nanoseconds (as ``ns_of`` gives a ROS stamp's)."""
    return image.timestamp.seconds * 10**9 + image.timestamp.nanos


def ns_of_belief(belief: dict) -> int:
    """A live-view belief's JSON timestamp in nanoseconds."""
    return belief["timestamp"]["sec"] * 10**9 + belief["timestamp"]["nsec"]


def test_a_foxglove_client_sees_images_and_the_belief(tmp_path, ros_node):
    port = _free_port()
    graph = subprocess.Popen([sys.executable, "-m", "meld_ros.launcher", "sim_meta_train", "profile:=tiny",
                              f"run_dir:={tmp_path / 'run'}", "foxglove:=true", f"foxglove_port:={port}",
                              "overrides:=[train.iterations=30]"], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env={**os.environ, "MUJOCO_GL": "egl"},
                             start_new_session=True)
    ros = {"obs": {}, "rec": {}, "belief": {}, "reward": {}}
    ros_node.create_subscription(Image, "/meld/observation", lambda m: ros["obs"].__setitem__(
        ns_of(m.header.stamp), bytes(m.data)), RECORDED)
    ros_node.create_subscription(Belief, "/meld/belief", lambda m: ros["belief"].__setitem__(
        ns_of(m.header.stamp), m.predicted_reward), RECORDED)
    ros_node.create_subscription(Reward, "/meld/reward", lambda m: ros["reward"].__setitem__(
        ns_of(m.header.stamp), m.dense), RECORDED)
    try:
        end = time.monotonic() + 90
        ws = None
        while ws is None and time.monotonic() < end:
            try:
                ws = connect(f"ws://127.0.0.1:{port}", subprotocols=["foxglove.sdk.v1", "foxglove.websocket.v1"], open_timeout=2)
            except OSError:
                ros_node.spin_until(lambda: False, timeout=0.5)
        assert ws is not None, "no live view server"
        channels = {}
        while not {"/meld/observation", "/meld/reconstruction", "/meld/live/belief"} <= set(channels):
            msg = json.loads(ws.recv(timeout=30))
            if msg["op"] == "advertise":
                channels.update({c["topic"]: c for c in msg["channels"]})
        wanted = ["/meld/observation", "/meld/reconstruction", "/meld/live/belief"]
        ws.send(json.dumps({"op": "subscribe", "subscriptions": [
            {"id": k, "channelId": channels[t]["id"]} for k, t in enumerate(wanted)]}))
        image_class = _protobuf_class(channels["/meld/observation"])
        got = {t: [] for t in wanted}
        end = time.monotonic() + 120

        def seen_by_both() -> bool:      # the test's own subscriber may be discovered late under load
            return any(ns_of_frame(im) in ros["obs"] for im in got["/meld/observation"]) and any(
                ns_of_belief(b) in ros["belief"] for b in got["/meld/live/belief"])

        while time.monotonic() < end and not (all(len(v) >= 5 for v in got.values()) and seen_by_both()):
            ros_node.spin_until(lambda: False, timeout=0.01)
            try:
                frame = ws.recv(timeout=0.2)
            except TimeoutError:
                continue
            if isinstance(frame, str) or frame[0] != 1:
                continue
            sub, log_time = struct.unpack_from("<IQ", frame, 1)
            payload = frame[13:]
            topic = wanted[sub]
            got[topic].append(json.loads(payload) if topic.endswith("belief") else image_class.FromString(payload))
        ws.close()
        ros_node.spin_until(lambda: False, timeout=1.0)
    finally:
        graph.terminate()
        graph.communicate(timeout=60)
    assert all(len(v) >= 5 for v in got.values()), {t: len(v) for t, v in got.items()}
    for image in got["/meld/observation"] + got["/meld/reconstruction"]:
        assert (image.width, image.height, image.encoding) == (64, 64, "rgb8") and len(image.data) == 64 * 64 * 3
    same = [im for im in got["/meld/observation"] if ns_of_frame(im) in ros["obs"]]
    assert same and all(bytes(im.data) == ros["obs"][ns_of_frame(im)] for im in same)
    beliefs = [b for b in got["/meld/live/belief"] if ns_of_belief(b) in ros["belief"]]
    assert beliefs
    for b in beliefs:
        ns = ns_of_belief(b)
        assert b["predicted_reward"] == pytest.approx(ros["belief"][ns], rel=1e-6)
        if b["reward"] is not None and ns in ros["reward"]:
            assert b["reward"] == pytest.approx(ros["reward"][ns])
    assert any(b["reward"] is not None for b in got["/meld/live/belief"])


def test_the_layout_opens_panels_on_the_live_views_channels():
    layout = json.loads((ROOT / "docs" / "foxglove_layout.json").read_text())
    panels = layout["configById"]

    def leaves(node):
        return [node] if isinstance(node, str) else leaves(node["first"]) + leaves(node["second"])

    assert sorted(leaves(layout["layout"])) == sorted(panels)          # every panel placed, none missing
    topics = {p.get("imageMode", {}).get("imageTopic") or p.get("topicPath") for p in panels.values()}
    topics |= {path["value"].split(".")[0] for p in panels.values() for path in p.get("paths", [])}
    topics.discard(None)
    assert topics == {"/meld/observation", "/meld/reconstruction", "/meld/live/belief", "/meld/live/task",
                      "/meld/live/diagnostics"}


def test_a_port_in_use_is_a_clear_error(start_node):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        node = start_node("live_view_node", {"port": busy.getsockname()[1]})
        node.proc.wait(timeout=60)
        code, log = node.stop()
    assert code == 2 and "choose another foxglove_port" in log
