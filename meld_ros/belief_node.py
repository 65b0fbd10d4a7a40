"""Belief inference node: one posterior update per control step, q(z_t | x_t, r_t, z_{t-1}, a_{t-1}).

For every stamp t it waits for the observation image and the reward of that
stamp and, after the first step of a trial, for the action that answered the
previous frame (``meld_ros/Action``, stamped with that frame); then it runs
``MeldAgent.update`` and publishes the belief (``meld_ros/Belief``, stamp t)
and, optionally, the decoded reconstruction image (decoded only while
something subscribes to it: nobody else needs the decoder's work). Frames are processed in
stamp order, each once (a re-sent frame gets the same belief again). The latent is reset only
at a trial's start: the ``~/reset`` service (std_srvs/Trigger) makes the next
frame the first of a trial.

Weights: ``weights`` (a file) at start, then every ``meld_ros/ModelUpdate``:
the file's bytes come in chunks over ROS (the learner may be on another
computer), are put together and checked (sha256, run id:
``node_runtime.WeightsReceiver``) and loaded, and the node switches to them
at the next trial start, so one trial is never split
between two models. The agent for a new version is built (and, with
``onnxruntime``, its update exported to ONNX Runtime: ``meld_core.onnx_inference``)
when the update arrives, while the learner trains and the loop is idle, so the
switch itself costs nothing. Building and exporting take 0.3-0.5 s on the 2-core CPU,
during which a composed control loop runs no other callback: the learner ships
weights only between collection phases, and a robot driver must time out a
command that is not renewed (the bridge's ``command_timeout_s``).

Bad input: malformed images, images of the wrong size, rewards that are not finite or beyond
``Reward.MAX_ABS`` and actions of the wrong size are logged and dropped with the node alive; at
most ``BeliefInputs.pending`` frames wait for their partners (the oldest go first: between episodes of
real-time operation camera frames keep coming with no reward), so a flood cannot exhaust memory.

Time: an observation older than the last one processed is dropped; ``clock_jump_frames`` of them
in a row mean the clock jumped back (a restarted camera or simulator, or one frame stamped in the
future that would otherwise make every later frame "old"): the node logs it and follows the new
timeline, with the latent and the trial carrying on (``meld_ros.rosfree.stamp_order``).
"""
from __future__ import annotations

import array
import time

import numpy as np
import torch
from rclpy.clock import Clock as RosClock, ClockType
from rclpy.node import Node
from sensor_msgs.msg import Image
from std_srvs.srv import Trigger

from meld_core.agent import MeldAgent, select_reward
from meld_core.onnx_inference import OnnxUnavailable
from meld_core.weights import AgentWeights, load_weights
from meld_ros.rosfree.images import ImageError, array_to_image, image_to_array
from meld_ros.msg import Action, Belief, ModelUpdate, Reward
from meld_ros.runtime.node_params import BeliefParams, declare
from meld_ros.rosfree.belief_inputs import BeliefInputs, Ready, Skipped
from meld_ros.rosfree.reward_check import reward_is_plausible
from meld_ros.rosfree.stamp_order import LastAnswer, Verdict
from meld_ros.runtime.node_runtime import (RECORDED, RELIABLE, WEIGHTS, WeightsReceiver, entry_point, ns_of, serve,
                                            stamp_of)
from meld_ros.runtime.intra_process import DdsTopics


class BeliefNode(Node):
    def __init__(self, topics=None):
        super().__init__("belief")
        self.topics = topics or DdsTopics()      # its publishers and subscriptions: given, composed or not
        self.p: BeliefParams = declare(self, BeliefParams)
        torch.set_num_threads(self.p.torch_threads)
        self.agent = None
        self.version = 0
        self._pending: tuple[int, MeldAgent] | None = None
        if self.p.weights:
            self._adopt(*self._make_agent(load_weights(self.p.weights)))
        self.belief_pub = self.topics.publisher(self, Belief, self.p.belief_topic, RECORDED)
        self.recon_pub = self.topics.publisher(self, Image, self.p.reconstruction_topic, RECORDED)
        self.topics.subscribe(self, Image, self.p.observation_topic, self._on_image, RELIABLE)
        self.topics.subscribe(self, Reward, self.p.reward_topic, self._on_reward, RELIABLE)
        self.topics.subscribe(self, Action, self.p.action_topic, self._on_action, RELIABLE)
        self.weights_in = WeightsReceiver(self, self.p.run_id)
        self.topics.subscribe(self, ModelUpdate, self.p.model_update_topic, self._on_model_update, WEIGHTS)
        serve(self, Trigger, self.p.reset_service, self._on_reset)
        self.create_timer(0.1, self._try, clock=RosClock(clock_type=ClockType.STEADY_TIME))   # action_wait_s expiry
        self.inputs = BeliefInputs(self.p.clock_jump_frames, self.p.action_wait_s)
        self._last_belief = LastAnswer()
        self.trial = 0
        self.updates = 0
        self.dropped = 0

    # ---- weights ---------------------------------------------------------------------
    def _make_agent(self, w: AgentWeights) -> tuple[int, MeldAgent]:
        agent = w.make_agent()
        if self.p.reward_input:
            agent.reward_input = self.p.reward_input
        if self.p.onnxruntime:
            try:
                agent.use_onnxruntime(self.p.torch_threads, actor=False)
            except OnnxUnavailable as exc:
                self.get_logger().warning(f"{exc}; the update stays in eager torch")
        return w.version, agent

    def _adopt(self, version: int, agent: MeldAgent) -> None:
        self.agent, self.version = agent, version
        self.get_logger().info(f"using weights version {version} (reward input {agent.reward_input}, "
                               f"update in {agent.engine})")

    def _on_model_update(self, msg: ModelUpdate) -> None:
        weights = self.weights_in.receive(msg)
        if weights is None:
            return
        version_agent = self._make_agent(weights)
        if self.agent is None:
            self._adopt(*version_agent)
        else:
            self._pending = version_agent   # switch at the next trial start

    def _on_reset(self, request, response):
        if self._pending is not None:
            self._adopt(*self._pending)
            self._pending = None
        self.inputs.reset_trial()
        self.trial += 1
        response.success, response.message = True, f"trial {self.trial}: next frame starts it"
        return response

    # ---- inputs (paired by stamp in meld_ros.rosfree.belief_inputs) ------------------------------
    def _on_image(self, msg: Image) -> None:
        ns = ns_of(msg.header.stamp)
        verdict = self.inputs.image_verdict(ns)
        if verdict is Verdict.REPEAT:
            return self._answer_again(ns)
        if verdict is Verdict.STALE:
            self.get_logger().warning(f"observation stamped {ns / 1e9:.3f} s, before the last one processed: dropped "
                                      f"({self.inputs.order.stale} so far)", throttle_duration_sec=2.0)
            return
        if verdict is Verdict.JUMPED:
            self.get_logger().warning(f"the observations' clock jumped back by {self.inputs.order.jumped_back_ns / 1e9:.3f} s "
                                      f"(restarted camera or simulator, or a frame stamped in the future): following "
                                      f"it from {ns / 1e9:.3f} s; the trial goes on")
        try:
            image = image_to_array(msg)
            if self.agent is not None and image.shape != (*self.agent.model.image_shape, 3):
                raise ImageError(f"observation is {image.shape[1]}x{image.shape[0]}, the model takes "
                                 f"{self.agent.model.image_shape[1]}x{self.agent.model.image_shape[0]}")
        except ImageError as exc:
            self.get_logger().warning(f"observation dropped: {exc}", throttle_duration_sec=2.0)
            return
        self.inputs.hold_image(ns, image)
        self._try()

    def _answer_again(self, ns: int) -> None:
        belief = self._last_belief.repeat_for(ns)
        if belief is not None:
            self.belief_pub.publish(belief)      # re-sent frame: the same belief again

    def _drop(self, what: str) -> None:
        self.dropped += 1
        self.get_logger().warning(f"{what}: dropped ({self.dropped} so far)", throttle_duration_sec=2.0)

    def _on_reward(self, msg: Reward) -> None:
        if not reward_is_plausible(msg.dense, msg.sparse, Reward.MAX_ABS):
            return self._drop(f"reward not finite or beyond +-{Reward.MAX_ABS:g} (dense {msg.dense}, sparse {msg.sparse})")
        if self.inputs.add_reward(ns_of(msg.header.stamp), msg.dense, msg.sparse, msg.step):
            self._try()

    def _on_action(self, msg: Action) -> None:
        a = np.asarray(msg.normalized, np.float32)
        if self.agent is not None and (a.shape != (self.agent.model.action_dim,) or not np.all(np.abs(a) <= 1.0)):
            return self._drop(f"action {a.tolist()[:8]} is not {self.agent.model.action_dim} values in [-1, 1]")
        self.inputs.add_action(ns_of(msg.header.stamp), list(msg.normalized))
        self._try()

    # ---- one update ---------------------------------------------------------------------
    def _try(self) -> None:
        while self.agent is not None:
            frame = self.inputs.next(time.monotonic())
            if frame is None:
                return
            if isinstance(frame, Skipped):
                self.get_logger().warning("no action for the previous frame: frame skipped")
                continue
            self._update(frame)

    def _update(self, frame: Ready) -> None:
        if frame.trial_start:
            self.agent.reset()
        r = select_reward(self.agent.reward_input, frame.dense, frame.sparse)
        try:
            b = self.agent.update(frame.image, r, frame.prev_action)
        except ValueError as exc:
            self.get_logger().warning(f"frame dropped: {exc}", throttle_duration_sec=2.0)
            return
        self.inputs.used(frame)
        msg = Belief(latent_mean=float32_array(b.mean), latent_std=float32_array(b.std),
                     latent_sample=float32_array(b.sample), predicted_reward=b.reward_mean,
                     predicted_reward_std=b.reward_std, step=b.step, episode=frame.episode, trial=self.trial,
                     model_version=self.version)
        msg.header.stamp = stamp_of(frame.ns)
        self.belief_pub.publish(msg)
        self._last_belief.remember(frame.ns, msg)
        self.updates += 1
        if self.p.publish_reconstruction and self.recon_pub.get_subscription_count() > 0:
            self.recon_pub.publish(array_to_image(self.agent.reconstruction(), stamp_of(frame.ns), "meld_reconstruction"))


def float32_array(values) -> array.array:
    """A float32[] field's value the message takes as it is: a list is checked element by element on the
    way in and converted again on the way out (39 vs 6 us to build a cpu-profile Belief, 21 vs 7 to serialize)."""
    return array.array("f", np.ascontiguousarray(values, dtype=np.float32).tobytes())


NODE = BeliefNode          # what meld_ros/container.py composes
main = entry_point(NODE)


if __name__ == "__main__":
    raise SystemExit(main())
