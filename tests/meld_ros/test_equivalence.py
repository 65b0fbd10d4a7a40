"""For a fixed action sequence, the trial the learner node records through the graph
(bridge -> fusion -> reward sensing, reset rig, belief reset) equals the direct rollout
step for step: images, actions, dense and sparse rewards, success."""
import threading

import numpy as np
import pytest
import rclpy
from rclpy.executors import MultiThreadedExecutor
from sensor_msgs.msg import Image

from meld_core.config import load_config
from meld_core.meta_train import MetaTrainer
from meld_core.weights import save_weights
from meld_core.rollout import run_trial
from meld_ros.msg import Action, Reward
from meld_ros.runtime.node_runtime import RELIABLE, ns_of, stamp_of
from meld_sim_bridge.registry import make_env

pytestmark = pytest.mark.graph


class ScriptedPolicy:
    """Answers step k of episode e (known from the reward of the frame) with actions[e * E + k]
    once the frame's observation has come through fusion too, as the belief-driven policy
    does (so a frame fusion missed during discovery is re-sent by the bridge, not skipped);
    the last frame of an episode gets no answer."""

    def __init__(self, node, actions, scale, episode_length):
        self.actions, self.scale, self.E = actions, scale, episode_length
        self.episode, self.answered = -1, set()
        self.steps, self.observed = {}, set()
        self.lock = threading.Lock()         # the test spins a multi-threaded executor
        self.pub = node.create_publisher(Action, "/meld/action", RELIABLE)
        node.create_subscription(Reward, "/meld/reward", self._on_reward, RELIABLE)
        node.create_subscription(Image, "/meld/observation", self._on_observation, RELIABLE)

    def _on_reward(self, msg):
        with self.lock:
            self.steps[ns_of(msg.header.stamp)] = msg.step
            self._answer(ns_of(msg.header.stamp))

    def _on_observation(self, msg):
        with self.lock:
            self.observed.add(ns_of(msg.header.stamp))
            self._answer(ns_of(msg.header.stamp))

    def _answer(self, ns):
        if ns in self.answered or ns not in self.observed or ns not in self.steps or self.steps[ns] >= self.E:
            return
        step = self.steps[ns]
        if step == 0:
            self.episode += 1
        self.answered.add(ns)
        a = self.actions[self.episode * self.E + step]
        out = Action(normalized=a.tolist(), command=(a * self.scale).tolist())
        out.header.stamp = stamp_of(ns)
        self.pub.publish(out)


def test_graph_trial_equals_direct_rollout(start_node, tmp_path):
    weights = tmp_path / "w.pt"
    trainer = MetaTrainer(load_config("tiny", {"train.iterations": 1}), tmp_path / "run", resume=False)
    save_weights(weights, 1, trainer.cfg, trainer.spec, trainer.algo.agent)
    nodes = [start_node("mujoco_bridge_node", {"env": "point2d"}),
             start_node("camera_fusion_node", {"camera_topics": "['/camera/scene/image_raw']"}),
             start_node("reward_node"), start_node("reset_rig_node"),
             start_node("belief_node", {"weights": str(weights)})]

    env = make_env("point2d")
    task_index, seed, episodes = 4, 123, env.episodes_per_trial
    direct = run_trial(env, task_index, env.train_tasks[task_index], episodes, seed, rng=np.random.default_rng(0))
    actions = np.random.default_rng(0).uniform(-1, 1, (episodes * env.episode_length, 2)).astype(np.float32)

    from meld_ros.learner_node import LearnerNode
    rclpy.init(args=["--ros-args", "-r", "__node:=learner", "-p", "profile:=tiny", "-p", f"run_dir:={tmp_path / 'g'}"])
    executor, spinner = MultiThreadedExecutor(), None
    try:
        learner = LearnerNode()
        policy_node = rclpy.create_node("scripted_policy")
        ScriptedPolicy(policy_node, actions, env.action_scale, env.episode_length)
        executor.add_node(learner)
        executor.add_node(policy_node)
        spinner = threading.Thread(target=executor.spin, daemon=True)
        spinner.start()
        learner._wait_for_publishers()            # as its main() does: a frame sent before discovery is lost to it
        trial = learner.run_trial("train", task_index, seed)
    finally:
        executor.shutdown(timeout_sec=1.0)
        if spinner is not None:
            spinner.join(timeout=10.0)      # the context goes only once nothing spins on it
        rclpy.try_shutdown()
    for key in ("actions", "dense", "sparse", "success", "images"):
        got, want = getattr(trial, key), getattr(direct, key)
        assert got.shape == want.shape, key
        assert np.array_equal(got, want), f"{key} differs at step {np.argwhere(got != want)[0][0]}"
    for n in nodes:
        assert n.proc.poll() is None
