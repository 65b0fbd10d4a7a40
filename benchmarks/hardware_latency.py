"""Latency of the real robot's arrangement: camera frame -> the command leaving the arm adapter, against
the same figure in simulation (issue 19).

Two arrangements of the widowx-cable graph, one after the other in the same run, each timed over
``--frames`` control ticks, in real time (the robot's 0.3 s control period):

- ``hardware`` (``use_sim:=false``, drivers as separate processes, as on a robot): two OpenCV camera
  nodes play a generated 30 fps MJPEG video (the webcams), the MuJoCo bridge stands in for Interbotix's
  xs_sdk (joint states at 50 Hz, JointGroupCommand in), the arm adapter runs apart, and camera fusion
  (newest-frame sampling at each tick), reward sensing (forward kinematics, the rig calibration, a carrier
  file), belief and policy run composed. This process publishes the rig's TaskState (an episode every
  E + 1 ticks) and records (1) ``tick -> adapter``: from the fusion tick (the observation's stamp) to this
  process's receipt of the adapter's JointGroupCommand carrying the policy's answer, and (2) ``frame ->
  adapter``: from the older of the two camera frames that tick used (the newest of each camera at or
  before it) to that receipt: what a command's age is relative to what the cameras saw.
- ``sim`` (``use_sim:=true sim_mode:=realtime``, composed as launched): the bridge's camera frame ->
  this process's receipt of the policy's command on /arm_controller/commands (no adapter: the simulator
  takes the command itself).

Each command is matched to the tick it answers by its values (the policy's ``meld_ros/Action`` carries the
tick's stamp and the command; the adapter passes it on unchanged unless a joint limit zeroes a component).
Untrained ``cpu``-profile weights (speed does not depend on training). Median and p99, and the hardware
figures over the simulation's.

Usage: ./meld shell -c "python benchmarks/hardware_latency.py [--frames 200]"
"""
from __future__ import annotations

import argparse
import bisect
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import rclpy
from sensor_msgs.msg import Image
from std_msgs.msg import Float64MultiArray

from graph_speed import untrained_weights
from meld_ros.graph import NodeSpec, build_graph
from meld_ros.hardware.plug_pose import SIMULATED_RIG
from meld_ros.launcher import Supervisor
from meld_ros.msg import Action, TaskState
from meld_ros.runtime.executor import LeanExecutor
from meld_ros.runtime.node_runtime import LATCHED, RELIABLE, ns_of, stamp_of, wait_for_publishers
from meld_ros.srv import SetTask
from meld_sim_bridge.envs.widowx_cable import WidowXCableEnv

ENV = "widowx-cable"


class Quiet:
    def write(self, s):
        pass

    def flush(self):
        pass


def _pct(x) -> str:
    x = np.asarray(x) * 1e3
    return f"median {np.median(x):7.2f} ms   p99 {np.percentile(x, 99):7.2f} ms   (n={len(x)})"


def make_video(path: Path, seconds: float = 4.0, fps: int = 30) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (320, 240))
    rng = np.random.default_rng(0)
    for k in range(int(seconds * fps)):
        frame = np.full((240, 320, 3), (k * 3) % 255, np.uint8)
        frame[rng.integers(0, 200):, rng.integers(0, 280):] = 200
        writer.write(frame)
    writer.release()


def _with(spec: NodeSpec, **params) -> NodeSpec:
    members = tuple(_with(m, **params.get(m.name, {})) if isinstance(params.get(m.name), dict) else m
                    for m in spec.members)
    own = {k: v for k, v in params.items() if not isinstance(v, dict)}
    return replace(spec, parameters={**spec.parameters, **own}, members=members)


def hardware_nodes(tmp: Path, weights: Path) -> list[NodeSpec]:
    video = tmp / "webcam.avi"
    make_video(video)
    (tmp / "net" / "emu0").mkdir(parents=True)
    (tmp / "net" / "emu0" / "carrier").write_text("0\n")
    SIMULATED_RIG.save(tmp / "rig.yaml")
    graph = build_graph("widowx_meta_train", {"use_sim": "false", "start_arm_driver": "false",
                                              "camera_driver": "opencv", "run_id": "bench"})
    nets = {"weights": str(weights)}
    reward = {"calibration_file": str(tmp / "rig.yaml"), "link_interface": "emu0", "sysfs_net": str(tmp / "net")}
    specs = [NodeSpec("mujoco_bridge", "mujoco_bridge_node", {
        "env": ENV, "mode": "realtime", "interface": "xs_sdk",
        "camera_topics": ["/sim/camera/scene/image_raw", "/sim/camera/wrist/image_raw"]})]     # the webcams are real
    for spec in graph:
        if spec.name in ("learner", "reset_rig"):
            continue                      # this process publishes the rig's state
        if spec.name.endswith("_camera"):
            spec = _with(spec, video_device=str(video), loop=True, framerate=30.0)
        if spec.name == "control_loop":
            spec = _with(spec, belief=nets, policy=nets, reward_sensing=reward)
        specs.append(spec)
    return specs


def sim_nodes(weights: Path) -> list[NodeSpec]:
    graph = build_graph("widowx_meta_train", {"use_sim": "true", "sim_mode": "realtime", "run_id": "bench"})
    nets = {"weights": str(weights)}
    return [_with(s, belief=nets, policy=nets) for s in graph if s.name not in ("learner", "reset_rig")]


def measure(arrangement: str, specs: list[NodeSpec], frames: int) -> dict:
    g = Supervisor(specs, out=Quiet())
    g.start()
    node = rclpy.create_node("hardware_latency")
    hardware = arrangement == "hardware"
    actions: list = []                                   # (tick ns, command)
    commands: list = []                                  # (receipt ns, command)
    cameras = {t: [] for t in ("/camera/scene/image_raw", "/camera/wrist/image_raw")} if hardware else {}
    node.create_subscription(Action, "/meld/action", lambda m: actions.append(
        (ns_of(m.header.stamp), np.array(m.command))), RELIABLE)
    for t in cameras:
        node.create_subscription(Image, t, lambda m, t=t: cameras[t].append(ns_of(m.header.stamp)), RELIABLE)
    if hardware:
        from interbotix_xs_msgs.msg import JointGroupCommand
        node.create_subscription(JointGroupCommand, "/wx250/commands/joint_group", lambda m: commands.append(
            (time.time_ns(), np.array(m.cmd, dtype=np.float64))), RELIABLE)
        task_pub = node.create_publisher(TaskState, "/meld/task", LATCHED)
    else:
        node.create_subscription(Float64MultiArray, "/arm_controller/commands", lambda m: commands.append(
            (time.time_ns(), np.array(m.data))), RELIABLE)
        set_task = node.create_client(SetTask, "/sim/set_task")
    executor = LeanExecutor()
    executor.add_node(node)
    episode_s = (WidowXCableEnv.episode_length + 1) * WidowXCableEnv.control_period
    nxt = [0.0]

    def keep_episodes_coming():
        if time.monotonic() < nxt[0]:
            return
        nxt[0] = time.monotonic() + episode_s + 0.5
        if hardware:
            state = TaskState(task_id=0, task_set="train", rig_rotation_deg=2.0, rig_translation_m=0.0, port=1,
                              phase="running")
            state.header.stamp = stamp_of(time.time_ns())
            task_pub.publish(state)
        else:
            set_task.call_async(SetTask.Request(task_set="train", task_id=0, seed=int(nxt[0])))

    try:
        missing = wait_for_publishers(node, ["/meld/action"] + list(cameras), 180.0)
        if not hardware:
            set_task.wait_for_service(timeout_sec=60)
        end = time.monotonic() + 180
        while len(actions) < 10 and time.monotonic() < end:              # warm-up
            keep_episodes_coming()
            executor.spin_once(timeout_sec=0.05)
        if len(actions) < 10:
            raise RuntimeError(f"{arrangement}: no answers from the graph (publishers missing: {missing})")
        actions.clear()
        commands.clear()
        end = time.monotonic() + 60 + 0.5 * frames
        while len(actions) < frames and time.monotonic() < end:
            keep_episodes_coming()
            executor.spin_once(timeout_sec=0.05)
        executor.spin_once(timeout_sec=0.5)
    finally:
        executor.shutdown()
        node.destroy_node()
        g.stop()
    return latencies(actions, commands, cameras)


def latencies(actions, commands, cameras) -> dict:
    """Per action: the first command received after its tick that carries it (each joint equal, or zeroed by
    a limit, and not all zero)."""
    out = {"tick": [], "frame": []}
    times = [t for t, _ in commands]
    stamps = {t: sorted(v) for t, v in cameras.items()}
    for tick, c in actions:
        if not np.any(np.abs(c) > 1e-6):
            continue
        for k in range(bisect.bisect_left(times, tick), len(commands)):
            d = commands[k][1]
            if np.all((np.abs(d - c) < 1e-4) | (d == 0.0)) and np.any(d != 0.0):
                out["tick"].append((commands[k][0] - tick) * 1e-9)
                if stamps:
                    used = [s[bisect.bisect_right(s, tick) - 1] for s in stamps.values() if s and s[0] <= tick]
                    if len(used) == len(stamps):
                        out["frame"].append((commands[k][0] - min(used)) * 1e-9)
                break
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--frames", type=int, default=200, help="control ticks timed per arrangement")
    args = p.parse_args()
    os.environ.setdefault("ROS_DOMAIN_ID", str(60 + os.getpid() % 40))
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        _, weights = untrained_weights(ENV, tmp)
        rclpy.init()
        try:
            sim = measure("sim", sim_nodes(weights), args.frames)
            print(f"sim       frame -> command at the simulator:  {_pct(sim['tick'])}", flush=True)
            hw = measure("hardware", hardware_nodes(tmp, weights), args.frames)
            print(f"hardware  tick  -> command from the adapter:  {_pct(hw['tick'])}", flush=True)
            print(f"hardware  frame -> command from the adapter:  {_pct(hw['frame'])}", flush=True)
            for what, key in (("tick", "tick"), ("frame", "frame")):
                print(f"hardware {what} / sim frame: median x{np.median(hw[key]) / np.median(sim['tick']):.2f}, "
                      f"p99 x{np.percentile(hw[key], 99) / np.percentile(sim['tick'], 99):.2f}")
        finally:
            rclpy.shutdown()


if __name__ == "__main__":
    main()
