"""The node graph's speed: camera-frame-to-command latency, and lockstep throughput.

1. Latency (realtime mode): the MuJoCo bridge publishes camera frames stamped
   with the time of publication; fusion, reward sensing, belief and policy run
   as separate processes; this process receives every ``meld_ros/Action``
   (stamped with the frame it answers) and records now - stamp, as well as
   the same for the fused observation and the belief on the way. Median and
   p99 over ``--frames`` frames (target: p99 <= 10 ms). The bridge runs at
   ``--realtime-factor`` times the robot's control rate to collect frames
   quickly; each frame still goes through the whole chain before the next.
2. Throughput (lockstep mode): control steps per second through the graph
   (bridge steps only when the policy's answer arrives) over whole episodes,
   against the direct loop of the in-process trainer on the same environment
   and weights (``MeldAgent.update`` + ``act`` + ``env.step``, i.e. what
   ``run_trial`` does): their ratio (target >= 0.5).

Weights: an untrained ``cpu``-profile model and actor for the environment
(speed does not depend on training).

Usage: ./meld shell -c "python benchmarks/graph_speed.py [--env widowx-cable] [--frames 300]"
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import rclpy
from sensor_msgs.msg import Image

from meld_core.config import load_config
from meld_core.meta_train import MetaTrainer
from meld_core.rollout import run_trial
from meld_ros.graph import CAMERAS, TWO_CAMERA_ENVS
from meld_ros.launcher import Graph
from meld_ros.graph import NodeSpec
from meld_ros.msg import Action, Belief, Reward
from meld_ros.node_runtime import RELIABLE, ns_of
from meld_ros.srv import SetTask
from std_srvs.srv import Trigger


def _nodes(env: str, weights: Path, mode: str, factor: float) -> list[NodeSpec]:
    cams = CAMERAS if env in TWO_CAMERA_ENVS else CAMERAS[:1]
    return [NodeSpec("mujoco_bridge", "mujoco_bridge_node", {"env": env, "mode": mode, "camera_topics": cams,
                                                             "realtime_factor": factor}),
            NodeSpec("camera_fusion", "camera_fusion_node", {"camera_topics": cams}),
            NodeSpec("reward_sensing", "reward_node", {}),
            NodeSpec("belief", "belief_node", {"weights": str(weights), "publish_reconstruction": False}),
            NodeSpec("policy", "policy_node", {"weights": str(weights)}),
            NodeSpec("reset_rig", "reset_rig_node", {})]


class Quiet:
    def write(self, s):
        pass

    def flush(self):
        pass


def _pct(x) -> str:
    x = np.asarray(x) * 1e3
    return f"median {np.median(x):6.2f} ms   p99 {np.percentile(x, 99):6.2f} ms   (n={len(x)})"


def latency(env: str, weights: Path, frames: int, factor: float) -> dict:
    g = Graph(_nodes(env, weights, "realtime", factor), out=Quiet())
    g.start()
    node = rclpy.create_node("graph_speed_latency")
    lat = {"observation": [], "belief": [], "action": []}

    def rec(key):
        def cb(msg):
            lat[key].append(time.time() - ns_of(msg.header.stamp) * 1e-9)
        return cb

    node.create_subscription(Image, "/meld/observation", rec("observation"), RELIABLE)
    node.create_subscription(Belief, "/meld/belief", rec("belief"), RELIABLE)
    node.create_subscription(Action, "/meld/action", rec("action"), RELIABLE)
    try:
        end = time.monotonic() + 120
        while len(lat["action"]) < 20 and time.monotonic() < end:     # warm-up (discovery, first loads)
            rclpy.spin_once(node, timeout_sec=0.05)
        for v in lat.values():
            v.clear()
        end = time.monotonic() + 600
        while len(lat["action"]) < frames and time.monotonic() < end:
            rclpy.spin_once(node, timeout_sec=0.05)
    finally:
        node.destroy_node()
        g.stop()
    return lat


def lockstep_rate(env: str, weights: Path, episodes: int) -> float:
    g = Graph(_nodes(env, weights, "lockstep", 1.0), out=Quiet())
    g.start()
    node = rclpy.create_node("graph_speed_lockstep")
    last_frames = []          # stamps of frames that end an episode (reward step == E)
    from meld_sim_bridge.registry import make_env
    E = make_env(env).episode_length
    node.create_subscription(Reward, "/meld/reward",
                             lambda m: last_frames.append(ns_of(m.header.stamp)) if m.step == E else None, RELIABLE)
    set_task = node.create_client(SetTask, "/meld/set_task")
    reset = node.create_client(Trigger, "/belief/reset")

    def call(client, req):
        client.wait_for_service(timeout_sec=60)
        f = client.call_async(req)
        while not f.done():
            rclpy.spin_once(node, timeout_sec=0.01)
        return f.result()

    def episode(e):
        call(reset, Trigger.Request())
        start = ns_of(call(set_task, SetTask.Request(task_id=e % 3, task_set="train", seed=e)).state.header.stamp)
        end = time.monotonic() + 300
        while not any(ns > start for ns in last_frames) and time.monotonic() < end:
            rclpy.spin_once(node, timeout_sec=0.001)

    try:
        episode(0)                                        # warm-up
        t0 = time.monotonic()
        for e in range(1, episodes + 1):
            episode(e)
        return episodes * E / (time.monotonic() - t0)
    finally:
        node.destroy_node()
        g.stop()


def direct_rate(trainer: MetaTrainer, episodes: int) -> float:
    env = trainer.env
    run_trial(env, 0, env.train_tasks[0], 1, 0, agent=trainer.agent)          # warm-up
    t0 = time.monotonic()
    for e in range(episodes):
        run_trial(env, e % 3, env.train_tasks[e % 3], 1, e + 1, agent=trainer.agent)
    return episodes * env.episode_length / (time.monotonic() - t0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--env", default="widowx-cable")
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--realtime-factor", type=float, default=2.0)
    args = p.parse_args()
    os.environ.setdefault("ROS_DOMAIN_ID", str(60 + os.getpid() % 40))
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    with tempfile.TemporaryDirectory() as d:
        trainer = MetaTrainer(load_config("cpu", {"train.env": args.env}), Path(d) / "run", resume=False)
        weights = Path(d) / "weights.pt"
        trainer.export_weights(weights, 1)
        rclpy.init()
        try:
            lat = latency(args.env, weights, args.frames, args.realtime_factor)
            graph = lockstep_rate(args.env, weights, args.episodes)
        finally:
            rclpy.shutdown()
        trainer.model.eval()
        direct = direct_rate(trainer, args.episodes)
    print(f"graph on {args.env} (cpu-profile model), every node its own process, 2 cores")
    for key in ("observation", "belief", "action"):
        print(f"  camera frame -> {key:11s}: {_pct(lat[key])}")
    print(f"  lockstep through the graph: {graph:6.1f} steps/s; direct loop (run_trial): {direct:6.1f} steps/s; "
          f"ratio {graph / direct:.2f}")


if __name__ == "__main__":
    main()
