"""record:=true foxglove:=true on a meta-training run through the graph: the run draws its report; the bag is read back by independent readers (rosbags;
the mcap library with mcap-ros2-support), its latched topics are marked latched, and its training trials are
the learner's own replay, step for step; ``./meld train --from-bags`` starts a new run's replay with them."""
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml

from meld_core.checkpoint import replay_path_of
from meld_core.replay import MultiTaskReplay
from meld_ros.recording.bag_trials import bag_directories, trials_from_bags

pytestmark = pytest.mark.graph

ROOT = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "MUJOCO_GL": "egl"}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("recorded")
    params = tmp / "record.yaml"        # also the (latched) weights topic, to see it replay as latched
    params.write_text(yaml.dump({"recorder": {"ros__parameters": {
        "topics": ["/meld/observation", "/meld/reward", "/meld/action", "/meld/belief", "/meld/task",
                   "/meld/model_update", "/joint_states"]}}}))
    run = tmp / "run"
    out = subprocess.run([sys.executable, "-m", "meld_ros.launcher", "sim_meta_train", "profile:=tiny",
                          f"run_dir:={run}", "record:=true", "foxglove:=true", f"foxglove_port:={_free_port()}",
                          f"params_file:={params}",
                          "overrides:=[train.iterations=1]"], cwd=ROOT, capture_output=True, text=True,
                         timeout=600, env=ENV)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    return run, out.stdout


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_run_has_its_report_and_its_live_view_came_up(recorded):
    run, log = recorded
    for name in ("success.png", "returns.png", "losses.png", "reconstruction.png"):
        assert (run / "report" / name).stat().st_size > 1000
    assert "live view on ws://127.0.0.1:" in log


def test_independent_readers_accept_the_bag(recorded):
    run, log = recorded
    bags = bag_directories([run / "bags"])
    assert bags and "recording /meld/observation" in log
    from rosbags.highlevel import AnyReader
    counts, values = Counter(), {}
    with AnyReader(bags) as reader:
        types = {c.topic: c.msgtype for c in reader.connections}
        for c, _t, raw in reader.messages():
            msg = reader.deserialize(raw, c.msgtype)
            counts[c.topic] += 1
            if c.topic == "/meld/reward":
                values.setdefault("dense", []).append(msg.dense)
    assert types["/meld/observation"] == "sensor_msgs/msg/Image" and types["/meld/task"] == "meld_ros/msg/TaskState"
    assert types["/meld/belief"] == "meld_ros/msg/Belief" and counts["/meld/model_update"] >= 1
    assert counts["/meld/observation"] > 100 and counts["/meld/reward"] > 100 and counts["/meld/task"] > 4

    # a second, independent reader: the mcap library with the ROS 2 decoder (schemas from the file itself)
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory
    mcap_counts, dense = Counter(), []
    for bag in bags:
        for mcap_file in bag.glob("*.mcap"):
            with open(mcap_file, "rb") as fh:
                reader = make_reader(fh, decoder_factories=[DecoderFactory()])
                assert reader.get_header().profile == "ros2"
                for schema, channel, _m, msg in reader.iter_decoded_messages():
                    assert schema.encoding == "ros2msg" and channel.message_encoding == "cdr"
                    mcap_counts[channel.topic] += 1
                    if channel.topic == "/meld/reward":
                        dense.append(msg.dense)
    assert mcap_counts == counts
    assert dense == values["dense"]

    # latched topics replay latched: the offered QoS in metadata.yaml (what ros2 bag play reads)
    meta = yaml.safe_load((bags[0] / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    qos = {t["topic_metadata"]["name"]: t["topic_metadata"]["offered_qos_profiles"][0]
           for t in meta["topics_with_message_count"]}
    assert qos["/meld/task"]["durability"] == "transient_local"
    assert qos["/meld/model_update"]["durability"] == "transient_local"
    assert qos["/meld/observation"]["durability"] == "volatile" and meta["storage_identifier"] == "mcap"


def test_the_bag_gives_back_the_learners_trials_and_seeds_a_new_run(recorded, tmp_path):
    run, _ = recorded
    learner = MultiTaskReplay.load(replay_path_of(run))
    from meld_core.config import load_config
    from meld_core.task_spec import simulated_task_spec
    t = load_config("tiny").train
    spec = simulated_task_spec(t.env, t.env_kwargs, t.episodes_per_trial)
    from_bag = trials_from_bags([run / "bags"], spec.episode_length, spec.episodes_per_trial, spec.action_dim,
                                (*spec.image_shape, 3))
    mine = list(learner.iter_trials())
    assert len(from_bag) == len(mine) >= 2
    by_task = lambda trials: sorted(((tr.task_index, k) for k, tr in enumerate(trials)))     # noqa: E731
    for (task, i), (task2, j) in zip(by_task(mine), by_task(from_bag)):
        a, b = mine[i], from_bag[j]
        assert task == task2
        for field in ("images", "actions", "dense", "sparse", "success"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)

    new = tmp_path / "from_bags"
    out = subprocess.run([sys.executable, "-m", "meld_ros.recording.train_from_bags", "train", "--profile", "tiny",
                          "--run-dir", str(new), "--from-bags", str(run / "bags"), "--no-progress",
                          "--set", "train.iterations=1", "--set", "train.pretrain_trials=0"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300, env=ENV)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert f"{len(from_bag)} training trial(s) from the bags" in out.stdout
    seeded = list(MultiTaskReplay.load(replay_path_of(new)).iter_trials())
    assert len(seeded) == len(from_bag) + 1                     # the bag's trials, then one trial of its own
