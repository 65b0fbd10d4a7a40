"""The node graph's speed: camera-frame-to-command latency, and lockstep throughput.

1. Latency (realtime mode): the MuJoCo bridge publishes camera frames stamped
   with the time of publication; fusion, reward sensing, belief and policy run
   composed in one process, with or without the bridge, or as separate
   processes (``--arms``, see ARMS); this process receives every ``meld_ros/Action``
   (stamped with the frame it answers) and records two latencies: ``command``,
   from the frame to the moment the policy node sent the command (the
   Action's ``command_stamp``: the end of fusion -> belief -> policy, where a
   robot driver's transport begins), and ``action``, from the frame to this
   process's receipt of the Action over DDS (one more hop and another
   process's wake-up; with ``--stages``, also for the fused observation and
   the belief). Median and p99 over ``--frames`` frames (target: p99 <= 10 ms). The bridge runs at
   ``--realtime-factor`` times the robot's control rate to collect frames
   quickly; each frame still goes through the whole chain before the next.
   This process starts a new episode (``/sim/set_task``) whenever one ends:
   the realtime bridge senses a reward only within an episode.
2. Throughput (lockstep mode): control steps per second through the graph
   as ``sim_meta_train`` launches it (nodes under ``use_sim_time``, /clock
   from the bridge), with this process in the learner's place: it resets the
   belief, sets tasks through the reset rig and records every episode from
   the observation, reward and action topics as the learner does (bridge
   steps only when the policy's answer arrives). Against the direct loop of
   the in-process trainer on the same environment and weights
   (``MeldAgent.update`` + ``act`` + ``env.step``, i.e. what ``run_trial``
   does), timed just before and just after each graph run so that both see
   the same load on this shared machine: their ratio (target >= 0.5). The
   trainer's loop runs eager torch; the same loop with the agent in ONNX
   Runtime (as the nodes run it) is timed next to it, so that the ratio
   against it shows what the graph itself costs.

This process blocks in its executor between messages: it shares the two
cores with the graph (an earlier version polled every millisecond and took a
third of a core from the nodes it was timing). ``--stages`` also times the
fused observation and the belief, at the cost of one more subscriber on the
path.

``--engines onnxruntime torch`` times the belief and policy nodes with their
networks in ONNX Runtime (as launched) and in eager torch, one after the
other in the same run. ``--executors lean single events`` times the graph's
nodes spun by meld's LeanExecutor (as launched) and by rclpy's stock
SingleThreadedExecutor and EventsExecutor (``MELD_EXECUTOR``,
``meld_ros/runtime/node_runtime.py``), one after the other in the same run.

Weights: an untrained ``cpu``-profile model and actor for the environment
(speed does not depend on training).

Usage: ./meld shell -c "python benchmarks/graph_speed.py [--env widowx-cable] [--frames 300] [--arms sim loop none]
                        [--engines onnxruntime torch] [--executors lean single events]"
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rclpy
from sensor_msgs.msg import Image

from meld_core.agent import MeldAgent
from meld_core.config import load_config
from meld_core.meta_train import MetaTrainer
from meld_core.weights import save_weights
from meld_core.rollout import run_trial
from meld_ros.graph import CONTROL_LOOP, NodeSpec, build_graph, compose
from meld_ros.launcher import Supervisor
from meld_ros.runtime.node_runtime import EXECUTOR_ENV
from meld_ros.msg import Action, Belief, Reward
from meld_ros.runtime.executor import LeanExecutor
from meld_ros.rosfree.images import image_to_array
from meld_ros.rosfree.recorder import EpisodeRecorder
from meld_ros.runtime.node_runtime import RECORDED, RELIABLE, ns_of, wait_for_publishers
from meld_ros.srv import SetTask
from std_srvs.srv import Trigger


#: how the graph's processes are arranged: as launched (compose:=true: bridge and control loop in one
#: process), the control loop composed with the bridge apart (as on hardware, where the cameras and
#: the arm have drivers of their own), and a process per node (compose:=false)
ARMS = {"sim": "compose:=true, as launched: bridge, fusion, reward sensing, belief, policy in one process",
        "loop": "fusion, reward sensing, belief, policy in one process; the bridge apart (as the hardware drivers)",
        "none": "compose:=false: every node its own process"}


def _nodes(env: str, weights: Path, mode: str, factor: float, arm: str, onnx: bool = True) -> list[NodeSpec]:
    """The launched sim_meta_train graph (meld_ros/graph.py) for ``env`` with this process in the learner's place."""
    def adapt(spec: NodeSpec) -> NodeSpec:
        params = dict(spec.parameters)
        if spec.name == "mujoco_bridge":
            params.update(realtime_factor=factor)
        if spec.name in ("belief", "policy"):
            params.update(weights=str(weights), onnxruntime=onnx)
        return NodeSpec(spec.name, spec.module, params, members=tuple(adapt(m) for m in spec.members))

    graph = build_graph("sim_meta_train", {"env": env, "compose": "false", "sim_mode": mode})
    if arm != "none":
        graph = compose(graph, CONTROL_LOOP if arm == "sim" else tuple(n for n in CONTROL_LOOP if n != "mujoco_bridge"))
    return [adapt(spec) for spec in graph if spec.name != "learner"]


def untrained_weights(env: str, directory: Path) -> tuple[MetaTrainer, Path]:
    """An untrained ``cpu``-profile trainer for ``env`` and its weights file in ``directory`` (what the nodes
    load: speed does not depend on training)."""
    trainer = MetaTrainer(load_config("cpu", {"train.env": env}), directory / "run", resume=False)
    weights = directory / "weights.pt"
    save_weights(weights, 1, trainer.cfg, trainer.spec, trainer.algo.agent)
    return trainer, weights


def _discovered(node, topics) -> None:
    """Publishers on every topic this process records, then a moment for them to match its readers."""
    missing = wait_for_publishers(node, topics, 120.0)
    if missing:
        raise RuntimeError(f"no publisher on {missing} after 120 s")
    time.sleep(0.5)


class Quiet:
    def write(self, s):
        pass

    def flush(self):
        pass


def cpu_ticks() -> tuple[int, int]:
    """(busy, stolen) clock ticks of all CPUs so far (/proc/stat; (0, 0) where there is none). Steal is
    time the hypervisor ran someone else while this machine had work: a latency tail nobody here causes."""
    try:
        f = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    user, nice, system, _idle, _iowait, irq, softirq, steal = f[:8]
    return user + nice + system + irq + softirq, steal


def _pct(x) -> str:
    x = np.asarray(x) * 1e3
    return f"median {np.median(x):6.2f} ms   p99 {np.percentile(x, 99):6.2f} ms   (n={len(x)})"


def latency(env: str, weights: Path, frames: int, factor: float, stages: bool, arm: str, onnx: bool) -> dict:
    g = Supervisor(_nodes(env, weights, "realtime", factor, arm, onnx), out=Quiet())
    g.start()
    node = rclpy.create_node("graph_speed_latency")
    lat = {"observation": [], "belief": []} if stages else {}
    lat.update(command=[], action=[])

    def rec(key):
        def cb(msg):
            lat[key].append(time.time() - ns_of(msg.header.stamp) * 1e-9)
        return cb

    def on_action(msg: Action):
        lat["action"].append(time.time() - ns_of(msg.header.stamp) * 1e-9)
        lat["command"].append((ns_of(msg.command_stamp) - ns_of(msg.header.stamp)) * 1e-9)

    if stages:        # observing the intermediate topics costs this process CPU on the same two cores
        node.create_subscription(Image, "/meld/observation", rec("observation"), RELIABLE)
        node.create_subscription(Belief, "/meld/belief", rec("belief"), RELIABLE)
    node.create_subscription(Action, "/meld/action", on_action, RELIABLE)
    executor = LeanExecutor()      # this process shares the two cores with the graph: block, never poll
    executor.add_node(node)
    set_task = node.create_client(SetTask, "/sim/set_task")
    from meld_sim_bridge.registry import make_env
    probe = make_env(env)
    episode_s = (probe.episode_length + 1) * probe.control_period / factor
    episode = {"seed": 0, "next": 0.0}

    def keep_episodes_coming() -> None:
        if time.monotonic() >= episode["next"]:
            episode["seed"] += 1
            set_task.call_async(SetTask.Request(task_set="train", task_id=0, seed=episode["seed"]))
            episode["next"] = time.monotonic() + episode_s

    try:
        set_task.wait_for_service(timeout_sec=120)
        _discovered(node, ["/meld/action"])
        end = time.monotonic() + 120
        while len(lat["action"]) < 20 and time.monotonic() < end:     # warm-up (discovery, first loads)
            keep_episodes_coming()
            executor.spin_once(timeout_sec=0.05)
        for v in lat.values():
            v.clear()
        end = time.monotonic() + 600
        while len(lat["action"]) < frames and time.monotonic() < end:
            keep_episodes_coming()
            executor.spin_once(timeout_sec=0.05)
    finally:
        executor.shutdown()
        node.destroy_node()
        g.stop()
    return lat


def lockstep_rate(env: str, weights: Path, episodes: int, arm: str, onnx: bool, extra: tuple = ()) -> float:
    """Control steps per second through the graph, recorded here as the learner records them; ``extra``: more
    nodes in the graph (the recorder)."""
    g = Supervisor(_nodes(env, weights, "lockstep", 1.0, arm, onnx) + list(extra), out=Quiet())
    g.start()
    node = rclpy.create_node("graph_speed_lockstep")
    from meld_sim_bridge.registry import make_env
    E = make_env(env).episode_length
    rec = {"episode": None}

    def add(fn):
        if rec["episode"] is not None:
            fn(rec["episode"])

    node.create_subscription(Image, "/meld/observation",
                             lambda m: add(lambda ep: ep.add_image(ns_of(m.header.stamp), image_to_array(m))), RECORDED)
    node.create_subscription(Reward, "/meld/reward", lambda m: add(lambda ep: ep.add_reward(
        ns_of(m.header.stamp), m.step, m.dense, m.sparse, m.success)), RECORDED)
    node.create_subscription(Action, "/meld/action",
                             lambda m: add(lambda ep: ep.add_action(ns_of(m.header.stamp), list(m.normalized))), RECORDED)
    executor = LeanExecutor()      # this process shares the two cores with the graph: block, never poll
    executor.add_node(node)
    set_task = node.create_client(SetTask, "/meld/set_task")
    reset = node.create_client(Trigger, "/belief/reset")

    def call(client, req):
        client.wait_for_service(timeout_sec=60)
        f = client.call_async(req)
        executor.spin_until_future_complete(f, timeout_sec=60)
        return f.result()

    last = [-1]

    def episode(e):
        call(reset, Trigger.Request())
        rec["episode"] = ep = EpisodeRecorder(E, after_ns=last[0])
        start = ns_of(call(set_task, SetTask.Request(task_id=e % 3, task_set="train", seed=e)).state.header.stamp)
        ep.begin(start)
        end = time.monotonic() + 60
        while not ep.complete():
            if time.monotonic() > end:
                steps = sorted(step for step, *_ in ep.rewards.values())
                raise RuntimeError(f"lockstep episode {e} did not complete within 60 s: rewards for steps {steps}, "
                                   f"{len(ep.images)} images, {len(ep.actions)} actions")
            executor.spin_once(timeout_sec=0.05)
        last[0] = max(ep.images)
        ep.arrays()

    try:
        _discovered(node, ["/meld/observation", "/meld/reward", "/meld/action"])
        for spec in extra:             # an extra node that records: timed once it has subscribed
            end = time.monotonic() + 60
            while not all(any(i.node_name == spec.name for i in node.get_subscriptions_info_by_topic(t))
                          for t in ("/meld/observation", "/meld/action")) and time.monotonic() < end:
                executor.spin_once(timeout_sec=0.1)
        episode(0)                                        # warm-up
        t0 = time.monotonic()
        for e in range(1, episodes + 1):
            episode(e)
        return episodes * E / (time.monotonic() - t0)
    finally:
        executor.shutdown()
        node.destroy_node()
        g.stop()


def direct_rate(trainer: MetaTrainer, episodes: int, agent: MeldAgent) -> float:
    env = trainer.source.env
    run_trial(env, 0, env.train_tasks[0], 1, 0, agent=agent)          # warm-up
    t0 = time.monotonic()
    for e in range(episodes):
        run_trial(env, e % 3, env.train_tasks[e % 3], 1, e + 1, agent=agent)
    return episodes * env.episode_length / (time.monotonic() - t0)


def report(env: str, key: tuple, result) -> None:
    kind, arm, engine = key
    print(f"graph on {env} (cpu-profile model), 2 cores, belief and actor in {engine}, nodes spun by the "
          f"{kind} executor; {arm}: {ARMS[arm]}")
    if isinstance(result, str):
        print(f"  failed: {result}", flush=True)
        return
    lat, steal, rate, direct = result
    for key in lat:
        print(f"  camera frame -> {key:11s}: {_pct(lat[key])}")
    print(f"  (CPU time stolen by the hypervisor during the latency run: {100 * steal:.0f}% of the busy time)")
    print(f"  lockstep through the graph: {rate:6.1f} steps/s")
    for k, d in direct.items():
        print(f"    direct loop (run_trial), agent in {k:11s}: {d:6.1f} steps/s; graph / direct {rate / d:.2f}"
              + ("  (the trainer's loop)" if k == "torch" else ""))
    sys.stdout.flush()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--env", default="widowx-cable")
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--realtime-factor", type=float, default=2.0)
    p.add_argument("--engines", nargs="+", choices=["onnxruntime", "torch"], default=["onnxruntime"],
                   help="what runs the belief update and the actor (belief.onnxruntime, policy.onnxruntime): "
                        "ONNX Runtime as launched, and/or eager torch (the baseline); each is timed in every "
                        "arrangement")
    p.add_argument("--stages", action="store_true",
                   help="also time the fused observation and the belief (an extra subscriber on the path)")
    p.add_argument("--arms", nargs="+", choices=list(ARMS), default=list(ARMS),
                   help="process arrangements to time, one after the other: " +
                        "; ".join(f"{k}: {v}" for k, v in ARMS.items()))
    p.add_argument("--executors", nargs="+", choices=["lean", "single", "events"], default=["lean"],
                   help="the executor of the graph's nodes: meld's LeanExecutor (as launched), rclpy's "
                        "SingleThreadedExecutor, rclpy's EventsExecutor")
    args = p.parse_args()
    os.environ.setdefault("ROS_DOMAIN_ID", str(60 + os.getpid() % 40))
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    with tempfile.TemporaryDirectory() as d:
        trainer, weights = untrained_weights(args.env, Path(d))
        trainer.algo.model.eval()
        a = trainer.algo.agent
        agents = {"torch": a,                     # the trainer's own loop: eager torch
                  "onnxruntime": MeldAgent(a.model, a.actor, a.reward_input, a.policy_input).use_onnxruntime()}
        results = {}
        rclpy.init()
        try:
            for kind, arm, engine in [(k, a, e) for k in args.executors for a in args.arms for e in args.engines]:
                if kind == "events" and arm != "none":
                    # rclpy's EventsExecutor (7.1) refuses guard conditions, which composed nodes need
                    print(f"events executor, {arm}: not timed (composed nodes need guard conditions, which "
                          f"rclpy's EventsExecutor does not support)", flush=True)
                    continue
                os.environ[EXECUTOR_ENV] = kind          # the graph's processes inherit it
                try:
                    busy0, steal0 = cpu_ticks()
                    lat = latency(args.env, weights, args.frames, args.realtime_factor, args.stages, arm,
                                  engine == "onnxruntime")
                    busy, steal = (a - b for a, b in zip(cpu_ticks(), (busy0, steal0)))
                    rate, direct = float("nan"), {}
                    if args.episodes:      # the direct loops just before and after: the same machine weather
                        before = {k: direct_rate(trainer, args.episodes, ag) for k, ag in agents.items()}
                        rate = lockstep_rate(args.env, weights, args.episodes, arm, engine == "onnxruntime")
                        direct = {k: (before[k] + direct_rate(trainer, args.episodes, ag)) / 2
                                  for k, ag in agents.items()}
                    results[kind, arm, engine] = (lat, steal / max(busy + steal, 1), rate, direct)
                except Exception as exc:         # an executor that cannot run the graph: say so, time the rest
                    results[kind, arm, engine] = f"{type(exc).__name__}: {exc}"
                report(args.env, (kind, arm, engine), results[kind, arm, engine])
        finally:
            rclpy.shutdown()


if __name__ == "__main__":
    main()
