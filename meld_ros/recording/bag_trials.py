"""Training trials read back from recorded bags (no ROS here).

A graph recorded with ``record:=true`` holds, per episode, the rig's
``/meld/task`` (a ``TaskState`` stamped at the episode's reset frame, with
the learner's trial attempt and the episode's index in it) and the frames'
``/meld/observation``, ``/meld/reward`` and ``/meld/action``, each stamped
with its frame. ``trials_from_bags`` lays them out as the learner does, with
the learner's own code (``rosfree.recorder``: an episode is the chain of
frames from its reset, a trial its episodes in order): each training-task
trial whose episodes all completed becomes a ``Trial`` of the replay, so data
recorded on the robot is never lost to a crash or a code change. Messages are
read with ``rosbags`` (its reader and CDR deserializer; no ROS install needed).
Held-out (evaluation, meta-test) trials are not training data and are skipped.
"""
from __future__ import annotations

import bisect
from pathlib import Path

import numpy as np

from meld_core.replay import Trial
from meld_ros.rosfree.images import ImageError, image_to_array
from meld_ros.rosfree.recorder import EpisodeRecorder, EpisodeUnusable, assemble_trial
from meld_ros.rosfree.stamp_order import ns_of

TOPICS = ("/meld/task", "/meld/observation", "/meld/reward", "/meld/action")
REWARD_LIMIT = 1e6                  # meld_ros/Reward's MAX_ABS


def bag_directories(paths) -> list[Path]:
    """Every bag (a directory with metadata.yaml) in or under ``paths``, in order."""
    out = []
    for p in map(Path, paths):
        if (p / "metadata.yaml").exists():
            out.append(p)
        else:
            out += sorted(d.parent for d in p.rglob("metadata.yaml"))
    if not out:
        raise FileNotFoundError(f"no bag (a directory with metadata.yaml) in {[str(p) for p in paths]}")
    return out


def read_messages(paths) -> dict[str, list]:
    """topic -> its messages (deserialized), in the order recorded, from every bag under ``paths``."""
    from rosbags.highlevel import AnyReader
    from rosbags.typesys import Stores, get_typestore

    out = {t: [] for t in TOPICS}
    with AnyReader(bag_directories(paths), default_typestore=get_typestore(Stores.EMPTY)) as reader:
        connections = [c for c in reader.connections if c.topic in TOPICS]
        for connection, _t, raw in reader.messages(connections=connections):
            out[connection.topic].append(reader.deserialize(raw, connection.msgtype))
    return out


def trials_from_bags(paths, episode_length: int, episodes_per_trial: int, action_dim: int,
                     image_shape: tuple[int, int, int]) -> list[Trial]:
    messages = read_messages(paths)
    starts = sorted(((ns_of(m.header.stamp), m) for m in messages["/meld/task"]
                     if m.phase == "running" and m.task_set == "train"), key=lambda x: x[0])
    # each frame topic by stamp, once: an episode takes its slice [its start, the next start)
    frames = {t: sorted(((ns_of(m.header.stamp), m) for m in messages[t]), key=lambda x: x[0]) for t in TOPICS[1:]}
    stamps = {t: [ns for ns, _ in v] for t, v in frames.items()}

    def between(topic, start, end):
        lo = bisect.bisect_left(stamps[topic], start)
        hi = len(stamps[topic]) if end is None else bisect.bisect_left(stamps[topic], end)
        return frames[topic][lo:hi]

    episodes = []                       # (task state, arrays) of every complete episode
    for k, (start, state) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else None
        rec = EpisodeRecorder(episode_length, start, reward_limit=REWARD_LIMIT, action_dim=action_dim,
                              image_shape=image_shape)
        for ns, m in between("/meld/observation", start, end):
            try:
                rec.add_image(ns, image_to_array(m))
            except ImageError:
                continue
        for ns, m in between("/meld/reward", start, end):
            rec.add_reward(ns, m.step, m.dense, m.sparse, m.success)
        for ns, m in between("/meld/action", start, end):
            rec.add_action(ns, np.asarray(m.normalized))
        if rec.complete():
            try:
                episodes.append((state, rec.arrays()))
            except EpisodeUnusable:
                continue
    trials, run = [], []
    for state, arrays in episodes:      # a trial: episodes 0..n-1 of one attempt, in order
        if state.episode == 0 or not run or state.trial != run[-1][0].trial or state.episode != run[-1][0].episode + 1:
            run = []
            if state.episode != 0:
                continue
        run.append((state, arrays))
        if len(run) == episodes_per_trial:
            trials.append(assemble_trial(int(state.task_id), [a for _, a in run]))
            run = []
    return trials
