"""Learner node: meta-training (Algorithm 1) with its trials collected through the node graph.

The algorithm is ``meld_core.meta_train.MetaTrainer`` (replay per task,
model and actor-critic training, checkpoints, TensorBoard, periodic
evaluation); this node is the trainer's trial source (``TrialSource``) and
its ``on_new_weights`` hook, both passed in when the trainer is built. The
task spec (task counts, trial shape, image size) comes from
``task_spec.simulated_task_spec``; the bridge owns the environment that runs.
Meta-testing loads the trained agent only (``checkpoint.load_agent``) and
runs ``evaluation.meta_test`` through this node:

- a trial on task i: ``/belief/reset`` (``belief_reset_service``) (the latent is reset at a trial's
  start only), then per episode ``/meld/set_task`` (``set_task_service``) (the reset rig puts the
  task up and homes the arm, from the episode's seed), and the episode runs
  through bridge -> fusion -> belief -> policy by itself; the node records the
  observation, reward and action of every stamp (``meld_ros.rosfree.recorder``) and
  lays the episodes out as ``run_trial`` does;
- after every training phase: ``weights-<version>.pt`` in the run directory
  (written atomically; meta-testing writes its weights and results to a
  directory of its own, ``meta_test_dir``, and leaves the run untouched) and its bytes in latched
  ``meld_ros/ModelUpdate`` chunks (the control loop may run on another computer with no shared disk); the belief
  node switches at its next trial, the policy node keeps the previous
  version's actor for beliefs still in flight;
- evaluation: trials on the held-out tasks through the same graph (the
  policy set to ``train.eval_deterministic`` meanwhile).

Pre-training collection acts with uniform random actions, as the in-process
trainer does: the learner sets the policy node's ``uniform_actions`` for those
trials (and ``deterministic`` for evaluations). The executor spins in a background thread; training runs in the main
thread (the graph is idle between episodes).
"""
from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.parameter_client import AsyncParameterClient
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import Image
from std_srvs.srv import Trigger

from meld_core.config import ConfigError, load_config
from meld_core.interruption import Interrupted, StopRequest, stop_on_signals
from meld_core.progress_report import ProgressReporter
from meld_core.checkpoint import CHECKPOINT_FILE, CheckpointError, load_agent
from meld_core.evaluation import meta_test
from meld_core.meta_train import MetaTrainer
from meld_core.task_spec import simulated_task_spec
from meld_core.weights import save_weights
from meld_ros.rosfree.images import ImageError, image_to_array
from meld_ros.msg import Action, ModelUpdate, Reward
from meld_ros.runtime.node_params import LearnerParams, declare
from meld_ros.runtime.node_runtime import RECORDED, WEIGHTS, model_update_messages, ns_of, wait_for_publishers
from meld_ros.runtime.intra_process import DdsTopics
from meld_ros.runtime.executor import LeanExecutor
from meld_ros.runtime.runner_watch import stop_with_runner
from meld_ros.rosfree.recorder import EpisodeRecorder, EpisodeUnusable, assemble_trial
from meld_ros.srv import SetTask

KEEP_WEIGHT_FILES = 3
RECORDER_WAIT_S = 60.0
TASK_TOPIC = "/meld/task"          # the reset rig's TaskState (recorded: it delimits episodes in a bag)


def meta_test_dir(run_dir: str, results_dir: str = "") -> Path:
    """Where a meta-test of ``run_dir`` writes (the weights it ships, its results): ``results_dir``, or
    by default a new ``<run_dir>_meta_test/<time>`` beside the run. Never the run itself: evaluating
    a run must not change it."""
    if results_dir:
        out = Path(results_dir)
        if out.resolve() == Path(run_dir).resolve():
            raise ConfigError(f"learner.results_dir is the run directory {run_dir}: meta-testing must not change "
                              f"the run; choose another directory")
        return out
    base = Path(str(Path(run_dir)).rstrip("/") + "_meta_test") / time.strftime("%Y%m%d-%H%M%S")
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out


class TrialError(RuntimeError):
    """The graph did not do what a trial needs (a service missing, an episode that never ended)."""


class LearnerNode(Node):
    """``stop``: a StopRequest (main() sets it from SIGINT/SIGTERM); the trainer stops at the next unit
    of work and saves, and the node's own waits (services, episodes, discovery) end at once."""

    def __init__(self, stop: StopRequest | None = None, topics=None):
        super().__init__("learner")
        self.topics = topics or DdsTopics()      # its publishers and subscriptions: given, composed or not
        self.p: LearnerParams = declare(self, LearnerParams)
        self.stop = stop or StopRequest()
        self.report = ProgressReporter(sys.stdout)
        if self.p.mode == "meta_test":
            if not (Path(self.p.run_dir) / CHECKPOINT_FILE).exists():
                raise ConfigError(f"learner.run_dir: no checkpoint in {self.p.run_dir} to meta-test")
            self.agent, self.spec, self.cfg = load_agent(self.p.run_dir)
            self.out_dir = meta_test_dir(self.p.run_dir, self.p.results_dir)
            if self.p.env and self.p.env != self.spec.env:
                raise ConfigError(f"the checkpoint was trained on {self.spec.env}, not {self.p.env}")
            self.trainer = None
        else:
            self.cfg = load_config(self.p.profile, self.p.override_list())
            t = self.cfg.train
            # the trial's shape, task counts and image size: the bridge runs the environment itself
            self.spec = simulated_task_spec(t.env, t.env_kwargs, t.episodes_per_trial)
            self.trainer = MetaTrainer(self.cfg, Path(self.p.run_dir), resume=True, source=self, stop=self.stop,
                                       on_progress=self.report, on_new_weights=self.ship_weights)
            self.trainer.claim_run_dir()             # before it ships weights into it
            self.agent = self.trainer.algo.agent
            self.out_dir = Path(self.p.run_dir)
        # versions only grow, across restarts too: the nodes switch to the newest
        self.version = max((int(q.stem.split("-")[1]) for q in self.out_dir.glob("weights-*.pt")), default=0)
        self._lock = threading.Lock()
        self._episode: EpisodeRecorder | None = None
        self._done = threading.Event()
        self._policy_mode: dict | None = None     # how the policy node was last set to act (_set_policy)
        self._attempts = 0                        # trial attempts run (each names its episodes' TaskStates)
        self._recorder_ready = False
        self.spinner: threading.Thread | None = None      # the executor's thread (main() sets it)
        self.update_pub = self.topics.publisher(self, ModelUpdate, self.p.model_update_topic, WEIGHTS)
        self.topics.subscribe(self, Image, self.p.observation_topic, self._on_image, RECORDED)
        self.topics.subscribe(self, Reward, self.p.reward_topic, self._on_reward, RECORDED)
        self.topics.subscribe(self, Action, self.p.action_topic, self._on_action, RECORDED)
        self.set_task = self.create_client(SetTask, self.p.set_task_service)
        self.belief_reset = self.create_client(Trigger, self.p.belief_reset_service)
        self.policy_params = AsyncParameterClient(self, self.p.policy_node)

    # ---- recording (executor thread) ------------------------------------------------------
    def _record(self, add) -> None:
        with self._lock:
            if self._episode is not None:
                add(self._episode)
                if self._episode.complete():
                    self._done.set()

    def _on_image(self, msg: Image) -> None:
        try:
            image = image_to_array(msg)
        except ImageError:
            return
        self._record(lambda ep: ep.add_image(ns_of(msg.header.stamp), image))

    def _on_reward(self, msg: Reward) -> None:
        self._record(lambda ep: ep.add_reward(ns_of(msg.header.stamp), msg.step, msg.dense, msg.sparse, msg.success))

    def _on_action(self, msg: Action) -> None:
        self._record(lambda ep: ep.add_action(ns_of(msg.header.stamp), list(msg.normalized)))

    # ---- trials (main thread) --------------------------------------------------------------
    def _call(self, client, request, what: str, timeout_s: float = 30.0):
        """A service call from the main thread (the executor spins in its own), ended by a stop request."""
        end = time.monotonic() + timeout_s
        while not client.service_is_ready():
            if self.stop.wait(0.1):
                raise Interrupted(self.stop.reason)
            if time.monotonic() > end:
                raise TrialError(f"{what}: service {client.srv_name} not available")
        future = client.call_async(request)
        result = self._await(future, what, end, cancel=lambda: client.remove_pending_request(future),
                             server=client.srv_name)
        if result is None or not result.success:
            raise TrialError(f"{what} failed: {getattr(result, 'message', 'no answer')}")
        return result

    def _await(self, future, what: str, end: float, cancel, server: str):
        """The result of ``future`` (answered in the executor's thread), waiting until ``end`` at most;
        a stop request or the deadline withdraws the request (``cancel``) and raises."""
        while not future.done():
            if self.stop.wait(0.05):
                cancel()
                raise Interrupted(self.stop.reason)
            if time.monotonic() > end:
                cancel()
                raise TrialError(f"{what}: no answer from {server} within the time allowed")
        return future.result()

    def run_trial(self, task_set: str, task_index: int, seed: int, mode: str = "train", agent=None, rng=None):
        """A trial through the graph (this node is the trainer's ``TrialSource``; ``agent`` and ``rng`` are
        not used: the graph acts with the weights it was shipped, and the policy node draws its own
        uniform actions). ``mode`` "eval" sets the policy to
        ``train.eval_deterministic``; "random" acts uniformly at random. A trial that
        fails (an episode that does not finish, or whose data another publisher spoiled) is run
        again from its start, up to ``trial_retries`` times, each failure logged with its reason."""
        failures = []
        while True:
            try:
                return self._run_trial_once(task_set, task_index, seed, mode)
            except (TrialError, EpisodeUnusable) as exc:
                failures.append(str(exc))
                if len(failures) > self.p.trial_retries:
                    raise TrialError(f"a trial on {task_set} task {task_index} failed {len(failures)} times: "
                                     + " | ".join(failures)) from None
                self.get_logger().warning(f"{exc}; running the trial again ({len(failures)} of "
                                          f"{self.p.trial_retries} retries)")

    def _wait_for_recorder(self) -> None:
        """With ``wait_for_recorder`` (record:=true), the first trial waits until the recorder subscribes to
        the topics a trial is made of: a bag that missed the first trials would not give them back."""
        topics = (self.p.observation_topic, self.p.reward_topic, self.p.action_topic, TASK_TOPIC)
        end = time.monotonic() + RECORDER_WAIT_S
        while not all(any(s.node_name == "recorder" for s in self.get_subscriptions_info_by_topic(t)) for t in topics):
            if self.stop.wait(0.1):
                raise Interrupted(self.stop.reason)
            if time.monotonic() > end:
                raise TrialError(f"record:=true, but the recorder did not subscribe to {', '.join(topics)} within "
                                 f"{RECORDER_WAIT_S:.0f} s (its log says why)")
        self._recorder_ready = True

    def _run_trial_once(self, task_set: str, task_index: int, seed: int, mode: str):
        if self.p.wait_for_recorder and not self._recorder_ready:
            self._wait_for_recorder()
        spec = self.spec
        self._attempts = (self._attempts + 1) % 2**32        # names this attempt's episodes in /meld/task (bags)
        self._set_policy(mode)
        self._call(self.belief_reset, Trigger.Request(), "belief reset")
        episodes = []
        for e in range(spec.episodes_per_trial):
            with self._lock:      # record from now on: the reset frame may arrive before the reset's answer
                self._episode = EpisodeRecorder(spec.episode_length, reward_limit=Reward.MAX_ABS,
                                                action_dim=spec.action_dim, image_shape=(*spec.image_shape, 3))
                self._done.clear()
            try:
                request = SetTask.Request(task_id=task_index, task_set=task_set, seed=seed + e, home_arm=True,
                                          trial=self._attempts, episode=e)
                start_ns = ns_of(self._call(self.set_task, request, "set task").state.header.stamp)
                with self._lock:
                    self._episode.begin(start_ns)
                    if self._episode.complete():
                        self._done.set()
                self._wait_for_episode(f"episode {e} of a trial on {task_set} task {task_index}")
                with self._lock:
                    episodes.append(self._episode.arrays())
            finally:
                with self._lock:
                    self._report_dropped(self._episode)
                    self._episode = None
        return assemble_trial(task_index, episodes)

    def _wait_for_episode(self, what: str) -> None:
        """Until the recorded episode is complete; TrialError with what did arrive after
        ``episode_timeout_s``, or at once if the executor thread that records it has stopped."""
        end = time.monotonic() + self.p.episode_timeout_s
        while not self._done.wait(timeout=0.2):
            if self.stop.requested:
                raise Interrupted(self.stop.reason)
            if self.spinner is not None and not self.spinner.is_alive():
                raise TrialError(f"{what}: the learner's executor thread has stopped; nothing more is recorded")
            if time.monotonic() > end:
                with self._lock:
                    status = self._episode.status()
                raise TrialError(f"{what} did not finish within {self.p.episode_timeout_s:.0f} s ({status})")

    def _report_dropped(self, episode: EpisodeRecorder) -> None:
        if episode.dropped or episode.conflicts:
            self.get_logger().warning(f"messages dropped while recording: {episode.status()}")

    def _set_policy(self, mode: str) -> None:
        """How the policy node acts for a trial of ``mode``: uniformly at random for "random" (the model's
        pre-training data, as the in-process trainer collects it), with the actor's mean for "eval" if
        ``train.eval_deterministic``, else sampling the actor."""
        wanted = {"deterministic": mode == "eval" and self.cfg.train.eval_deterministic,
                  "uniform_actions": mode == "random"}
        if wanted == self._policy_mode:
            return
        if not self.policy_params.wait_for_services(timeout_sec=5.0):
            self.get_logger().warning(f"the parameters of {self.p.policy_node} are not reachable: it acts as it was "
                                      f"set, not {wanted}")
            return
        future = self.policy_params.set_parameters([Parameter(k, value=v) for k, v in wanted.items()])
        answer = self._await(future, "setting how the policy acts", time.monotonic() + 10.0, cancel=future.cancel,
                             server=f"{self.p.policy_node}/set_parameters")
        if answer is None or not all(r.successful for r in answer.results):
            raise TrialError(f"the policy refused how to act for this trial: {answer}")
        self._policy_mode = wanted          # only once it took: an unreachable policy is asked again next trial

    # ---- weights ------------------------------------------------------------------------------
    def ship_weights(self) -> None:
        self.version += 1
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir.resolve() / f"weights-{self.version}.pt"
        sha = save_weights(path, self.version, self.cfg, self.spec, self.agent)
        for msg in model_update_messages(ModelUpdate, self.p.run_id, self.version, path.read_bytes(),
                                         self.get_clock().now().to_msg(), sha256=sha):
            self.update_pub.publish(msg)        # the bytes travel: the control loop may be on another computer
        for old in sorted(self.out_dir.glob("weights-*.pt"), key=lambda q: int(q.stem.split("-")[1]))[:-KEEP_WEIGHT_FILES]:
            old.unlink(missing_ok=True)

    def _wait_for_publishers(self, timeout_s: float = 60.0) -> None:
        """Until the topics it records have publishers (node_runtime.wait_for_publishers)."""
        missing = wait_for_publishers(self, [self.p.observation_topic, self.p.reward_topic, self.p.action_topic],
                                      timeout_s, pause=self.stop.wait)
        self.stop.check()
        if missing:
            raise TrialError(f"no publisher on {missing} after {timeout_s:.0f} s: is the graph running?")

    def main(self) -> dict:
        self._wait_for_publishers()
        self.ship_weights()                              # version 1: the current (maybe untrained) weights
        try:
            if self.p.mode == "meta_test":
                result = meta_test(self.agent, self.spec, self.cfg, self.p.trials, seed_offset=2_000_000, source=self,
                                   stop=self.stop, on_progress=self.report)
                what = (f"meta-test {self.spec.env} on {self.spec.n_held_out_tasks} held-out tasks "
                        f"({result['trials']} trials" + (f"; the belief's reward input: {self.p.reward_input}"
                                                         if self.p.reward_input else "") + ")")
                result["reward_input"] = self.p.reward_input or self.cfg.model.reward_input
            else:
                result = self.trainer.run(log=self.get_logger().info)
                what = "meta-training done: held-out"
        finally:
            self.report.close()
        lines = [what] + [f"  episode {e + 1}: success {100 * s:5.1f}%   mean dense return {r:8.2f}"
                          for e, (s, r) in enumerate(zip(result["success_per_episode"], result["return_per_episode"]))]
        print("\n".join(lines), flush=True)
        (self.out_dir / f"graph_{self.p.mode}.json").write_text(json.dumps(result, indent=1))
        if self.p.mode == "meta_test":
            print(f"results in {self.out_dir}", flush=True)
        return result


def main(args=None) -> int:
    # SIGINT/SIGTERM request a stop (meld_core.interruption): training stops at the next unit of work
    # and saves a checkpoint the run continues from exactly; a second signal stops at once. rclpy's
    # own handlers would shut the context down under the main thread's feet instead.
    rclpy.init(args=args if args is not None else sys.argv, signal_handler_options=SignalHandlerOptions.NO)
    stop = StopRequest()
    stop_on_signals(stop)
    stop_with_runner(stop)          # saves and stops when meld launch is gone, even without its SIGTERM
    node = spinner = None
    executor = LeanExecutor()
    try:
        node = LearnerNode(stop)
        executor.add_node(node)
        spinner = node.spinner = threading.Thread(target=executor.spin, daemon=True)
        spinner.start()
        node.main()
        return 0
    except (ConfigError, CheckpointError) as exc:
        print(f"[learner] {exc}", file=sys.stderr)
        return 2
    except TrialError as exc:
        print(f"[learner] {exc}", file=sys.stderr)
        return 1
    except Interrupted:
        return 130                  # the trainer saved where it stopped (meta-testing has nothing to save)
    except (KeyboardInterrupt, ExternalShutdownException):
        print("[learner] stopped at once: the last checkpoint is as it was", flush=True)
        return 130
    finally:
        executor.shutdown(timeout_sec=1.0)
        if spinner is not None:
            # the spin thread holds the context while it waits: tearing the context down under it left
            # Fast DDS threads to static destructors at exit ("terminate called without an active exception")
            spinner.join(timeout=10.0)
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    raise SystemExit(main())
