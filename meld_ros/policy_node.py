"""Policy node: the SAC actor on the belief, publishing bounded joint-velocity commands.

For every ``meld_ros/Belief`` it computes a ~ pi(a | z_t) with the actor of
the same model version, the command clamp(a * action_scale, velocity_limits)
(``meld_ros.rosfree.safety``), and publishes it as ``std_msgs/Float64MultiArray`` on
``command_topic`` plus a stamped record ``meld_ros/Action`` (stamp = the
belief's, ``command_stamp`` = when the command went out) on ``action_topic``.

With ``onnxruntime`` the actor of each weight version runs as an ONNX Runtime
graph (``meld_core.onnx_inference``; eager torch where it cannot be exported).

Safety: a watchdog on a steady clock commands zero while no belief has
arrived for ``watchdog_timeout_s`` (the belief node died or stalled); every
belief is answered with a command, zero where it cannot be answered; a true ``std_msgs/Bool`` on ``estop_topic`` latches zero
commands until the ``/meld/estop_release`` service (std_srvs/Trigger) is
called. A belief that cannot be answered (wrong size, NaNs, no actor for its
model version, any failure of the actor) is logged and answered with zero.
Whenever the node stops (SIGINT, SIGTERM, an exception ending its process, the
graph stopped because another node died), its last command is zero: sent from
``on_shutdown`` and waited for until the subscribers have acknowledged it (a
ros2_control forward controller holds its last command).
"""
from __future__ import annotations

import time
from functools import partial

import numpy as np
import torch
from rclpy.clock import Clock as RosClock, ClockType
from rclpy.duration import Duration
from rclpy.node import Node
from std_msgs.msg import Bool, Float64MultiArray
from std_srvs.srv import Trigger

from meld_core.agent import act_on, actor_input
from meld_core.onnx_inference import OnnxActor, OnnxUnavailable
from meld_core.weights import AgentWeights, load_weights
from meld_ros.msg import Action, Belief, ModelUpdate
from meld_ros.runtime.node_params import PolicyParams, declare
from meld_ros.runtime.node_runtime import (RECORDED, RELIABLE, WEIGHTS, WeightsReceiver, entry_point, ns_of,
                                            serve)
from meld_ros.runtime.intra_process import DdsTopics
from meld_ros.rosfree.stamp_order import LastAnswer
from meld_ros.rosfree.safety import CommandError, EStop, Watchdog, check_limits, clamp_command


#: how long the final zero command waits for its subscribers' acknowledgement
SHUTDOWN_ACK_S = 1.0


class PolicyNode(Node):
    def __init__(self, topics=None):
        super().__init__("policy")
        self.topics = topics or DdsTopics()      # its publishers and subscriptions: given, composed or not
        self.p: PolicyParams = declare(self, PolicyParams, dynamic=("deterministic", "uniform_actions"))
        torch.set_num_threads(self.p.torch_threads)
        self.actors: dict[int, object] = {}
        self.policy_input = "sample"
        self.scale = self.limits = None
        if self.p.weights:
            self._adopt(load_weights(self.p.weights))
        self.cmd_pub = self.topics.publisher(self, Float64MultiArray, self.p.command_topic, RELIABLE)
        self.action_pub = self.topics.publisher(self, Action, self.p.action_topic, RECORDED)
        self.topics.subscribe(self, Belief, self.p.belief_topic, self._on_belief, RELIABLE)
        self.weights_in = WeightsReceiver(self, self.p.run_id)
        self.topics.subscribe(self, ModelUpdate, self.p.model_update_topic, self._on_model_update, WEIGHTS)
        self.topics.subscribe(self, Bool, self.p.estop_topic, self._on_estop, RELIABLE)
        serve(self, Trigger, self.p.estop_release_service, self._on_release)
        self.watchdog = Watchdog(self.p.watchdog_timeout_s)
        self.estop = EStop()
        steady = RosClock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(self.p.watchdog_period_s, self._on_watchdog, clock=steady)
        self.zero_commands = 0
        self.deterministic = self.p.deterministic
        self.uniform_actions = self.p.uniform_actions
        self._uniform = np.random.default_rng(self.p.seed)
        self.add_on_set_parameters_callback(self._on_parameters)
        self._last_action = LastAnswer()

    def _adopt(self, w: AgentWeights) -> None:
        self.actors[w.version] = self._actor(w)
        for old in sorted(self.actors)[:-2]:             # the current and the previous version
            del self.actors[old]
        self.policy_input = w.cfg.sac.policy_input
        self.scale = np.asarray(w.action_scale, float)
        self.limits = check_limits(self.p.velocity_limits or w.action_scale)
        if self.limits.shape != self.scale.shape:
            raise ValueError(f"velocity_limits has {self.limits.size} values, the robot has {self.scale.size} joints")

    def _actor(self, w: AgentWeights):
        """(x, deterministic) -> action: the version's actor in ONNX Runtime, or eager."""
        actor = w.make_agent().actor
        if self.p.onnxruntime:
            try:
                return OnnxActor(actor, self.p.torch_threads)
            except OnnxUnavailable as exc:
                self.get_logger().warning(f"{exc}; the actor stays in eager torch")
        return partial(act_on, actor)

    def _on_parameters(self, params):
        from rcl_interfaces.msg import SetParametersResult
        for prm in params:
            if prm.name == "deterministic":
                self.deterministic = bool(prm.value)     # the learner evaluates with the actor's mean
            elif prm.name == "uniform_actions":
                self.uniform_actions = bool(prm.value)   # the learner pre-trains the model on random actions
        return SetParametersResult(successful=True)

    def _on_model_update(self, msg: ModelUpdate) -> None:
        weights = self.weights_in.receive(msg)
        if weights is None:
            return
        try:
            self._adopt(weights)
        except ValueError as exc:
            self.get_logger().error(f"model update {msg.version} refused: {exc}")

    def _zero(self) -> None:
        if self.scale is not None:
            self.cmd_pub.publish(Float64MultiArray(data=[0.0] * self.scale.size))
            self.zero_commands += 1

    def _on_belief(self, msg: Belief) -> None:
        try:
            self._answer(msg)
        except Exception as exc:                 # whatever failed: the robot gets zero, not the last command
            self.get_logger().error(f"belief answered with zero: {type(exc).__name__}: {exc}", throttle_duration_sec=2.0)
            self._zero()

    def _answer(self, msg: Belief) -> None:
        self.watchdog.feed(time.monotonic_ns())
        if self.estop.engaged:
            self._zero()
            return
        again = self._last_action.repeat_for(ns_of(msg.header.stamp))
        if again is not None:
            self.cmd_pub.publish(Float64MultiArray(data=list(again.command)))
            self.action_pub.publish(again)       # a re-sent belief: the same action, not a new sample
            return
        actor = self.actors.get(msg.model_version)
        if actor is None:
            self.get_logger().warning(f"no actor for model version {msg.model_version}", throttle_duration_sec=2.0)
            self._zero()
            return
        try:
            if self.uniform_actions:
                a = self._uniform.uniform(-1.0, 1.0, self.scale.size).astype(np.float32)
            else:
                a = actor(actor_input(self.policy_input, msg.latent_mean, msg.latent_std, msg.latent_sample),
                          self.deterministic)
            command = clamp_command(a * self.scale, self.limits)
        except (ValueError, RuntimeError, CommandError) as exc:
            self.get_logger().warning(f"belief answered with zero: {exc}", throttle_duration_sec=2.0)
            self._zero()
            return
        self.cmd_pub.publish(Float64MultiArray(data=command.tolist()))
        out = Action(normalized=a.tolist(), command=command.tolist(), model_version=msg.model_version,
                     command_stamp=self.get_clock().now().to_msg())
        out.header.stamp = msg.header.stamp
        self.action_pub.publish(out)
        self._last_action.remember(ns_of(msg.header.stamp), out)

    def _on_watchdog(self) -> None:
        if self.watchdog.expired(time.monotonic_ns()) or self.estop.engaged:
            self._zero()

    def _on_estop(self, msg: Bool) -> None:
        if msg.data and not self.estop.engaged:
            self.estop.trigger()
            self._zero()
            self.get_logger().error("E-STOP: commands latched at zero until /meld/estop_release")

    def on_shutdown(self) -> None:
        """The last command is zero, and the subscribers have it before the node goes."""
        if self.scale is None:
            return                               # no weights yet: never commanded anything
        self._zero()
        acked = self.cmd_pub.wait_for_all_acked(Duration(seconds=SHUTDOWN_ACK_S))
        self.get_logger().info("stopping: zero command sent" + ("" if acked else
                               f" (not acknowledged by every subscriber within {SHUTDOWN_ACK_S} s)"))

    def _on_release(self, request, response):
        self.estop.release()
        response.success, response.message = True, "e-stop released"
        return response


NODE = PolicyNode          # what meld_ros/container.py composes
main = entry_point(NODE)


if __name__ == "__main__":
    raise SystemExit(main())
