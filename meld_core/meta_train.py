"""MELD meta-training (Algorithm 1) and held-out evaluation (Algorithm 2).

1. Collect ``pretrain_trials`` trials with a random policy on random training
   tasks and pre-train the model for ``pretrain_model_steps`` steps.
2. Repeat: collect ``trials_per_iteration`` trials with the current agent on
   random training tasks (N env steps), then train:
   ``model_steps_per_env_step * N`` model steps on batches of whole trials and
   ``ac_steps_per_env_step * N`` actor-critic steps on the transitions inside
   such batches, using posterior samples with no gradient into the model.
3. Every ``eval_every`` iterations: meta-test on the held-out tasks (belief
   updated every step, no gradient steps), success per episode of a trial.

Everything random draws from seeded generators whose states are checkpointed,
so an interrupted run resumes exactly where it stopped.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from meld_core.agent import MeldAgent, select_reward
from meld_core.checkpoint import (CHECKPOINT_FILE, CheckpointError, compare_configs, load_checkpoint, lock_run_dir,
                                  remove_stale_replays, replay_file_name, replay_path_of, save_checkpoint)
from meld_core.config import MeldConfig, complete_saved, config_from_dict
from meld_core.interruption import Interrupted, StopRequest
from meld_core.latent_model import LatentModel, policy_input, policy_input_dim
from meld_core.progress_report import Status
from meld_core.replay import MultiTaskReplay, TransitionCache, Trial
from meld_core.rollout import run_trial
from meld_core.sac import SAC
from meld_sim_bridge.registry import make_env

#: config keys a resumed run must share with its checkpoint (() = the whole section)
_FIXED_ON_RESUME = {"model": (), "sac": ("hidden", "policy_input", "cache_transitions"),
                    "train": ("env", "env_kwargs", "episodes_per_trial", "replay_capacity", "seed")}


#: the phases of a run, in order within an iteration (``Progress.phase``): pre-training collection and
#: model steps once, then per iteration collection, training, evaluation (when due), bookkeeping
PHASES = ("pretrain_collect", "pretrain_train", "collect", "train", "evaluate", "bookkeeping")
PHASE_NAMES = {"pretrain_collect": "pre-training data", "pretrain_train": "pre-training",
               "collect": "collection", "train": "training", "evaluate": "evaluation", "bookkeeping": "saving"}


@dataclass
class Progress:
    iteration: int = 0
    env_steps: int = 0
    model_steps: int = 0
    ac_steps: int = 0
    pretrained: bool = False
    train_time_s: float = 0.0
    evals: list = field(default_factory=list)
    phase: str = "pretrain_collect"     #: where the run is (PHASES): a resumed run continues there
    phase_done: int = 0                 #: units of the phase done (trials, or gradient-step units)
    collected: list = field(default_factory=list)   #: [success of the last episode, return] of this iteration's trials


def build_networks(cfg: MeldConfig, image_shape, action_dim) -> tuple[LatentModel, SAC]:
    model = LatentModel(cfg.model, image_shape, action_dim, cfg.train.precision, cfg.train.channels_last)
    sac = SAC(cfg.sac, policy_input_dim(cfg.model, cfg.sac.policy_input), action_dim)
    return model, sac


class MetaTrainer:
    """Algorithm 1 over a run directory. Collaborators: ``stop`` (a ``StopRequest``: the run stops at
    the next unit boundary, saves, and raises ``Interrupted``), ``on_progress`` (called with a
    ``progress_report.Status`` after every unit of work).

    A run is a sequence of phases (``PHASES``) made of units: a trial collected, a gradient-step unit
    (one model step and the actor-critic steps due with it), an evaluation trial. ``Progress`` records
    the phase and the units done, the checkpoint saved on a stop records them with the random
    generators as they were at that boundary, and a resumed run continues from there: the weights,
    replay and generators it ends with are those of an uninterrupted run, bit for bit (an
    interrupted evaluation is run again from its start: it draws from its own seeded streams).
    """

    def __init__(self, cfg: MeldConfig, run_dir: str | Path, resume: bool = True, *,
                 stop: StopRequest | None = None, on_progress=None):
        self.cfg = cfg
        self.stop = stop or StopRequest()
        self.on_progress = on_progress or (lambda status: None)
        self._clock_start: float | None = None
        self._meta_test_so_far: tuple[float, list] = (0.0, [])   # a meta-test on its own: time, success
        self.run_dir = Path(run_dir)
        t = cfg.train
        torch.set_num_threads(t.torch_threads)
        torch.manual_seed(t.seed)
        self.rng = np.random.default_rng(t.seed)
        self.env = make_env(t.env, **t.env_kwargs)
        self.episodes = t.episodes_per_trial or self.env.episodes_per_trial
        self.trial_length = self.episodes * self.env.episode_length
        #: frames that begin an episode after the first, paired with the previous episode's last reward
        self.reset_frames = tuple(e * self.env.episode_length for e in range(1, self.episodes))
        image_shape = self.env.observation_space.shape[:2]
        self.action_dim = self.env.action_space.shape[0]
        self.model, self.sac = build_networks(cfg, image_shape, self.action_dim)
        self.model_opt = torch.optim.Adam(self.model.parameters(), lr=cfg.model.lr)
        self.replay = MultiTaskReplay(len(self.env.train_tasks), t.replay_capacity, self.trial_length)
        self.progress = Progress()
        self.cache = TransitionCache(cfg.sac.cache_transitions) if cfg.sac.cache_transitions else None
        self.agent = MeldAgent(self.model, self.sac.actor, cfg.model.reward_input, cfg.sac.policy_input)
        # How one trial is run and where new weights go: the environment in this process by
        # default; the ROS learner node runs trials through the node graph instead.
        self.trial_runner = self.run_trial_here     # (task_set, task_index, seed, mode) -> Trial
        self.on_new_weights = lambda: None          # called after every training phase
        self._writer = None
        self._run_dir_lock = None
        #: whether this trainer continues the run its run directory held (loaded from its checkpoint)
        self.resumed = resume and (self.run_dir / CHECKPOINT_FILE).exists()
        if self.resumed:
            self.load(self.run_dir)
        elif t.init_replay_from:
            started = time.monotonic()
            self._seed_replay(Path(t.init_replay_from))
            if t.init_explore_trials:
                self._collect_exploration(Path(t.init_replay_from), t.init_explore_trials)
            self.progress.train_time_s = time.monotonic() - started    # counted in the time budget

    # ---- data ------------------------------------------------------------------------
    def _seed_replay(self, other_run: Path) -> None:
        """Two-stage sparse scheme: start from another run's trials."""
        path = replay_path_of(other_run)
        if not path.exists():
            raise CheckpointError(f"train.init_replay_from: no replay at {path}")
        other = MultiTaskReplay.load(path)
        if other.trial_length != self.trial_length or len(other.tasks) != len(self.replay.tasks):
            raise CheckpointError(f"replay in {path} has trials of {other.trial_length} steps on "
                                  f"{len(other.tasks)} tasks; this run needs {self.trial_length} on {len(self.replay.tasks)}")
        for trial in other.iter_trials():
            self.replay.add(trial)

    def _collect_exploration(self, other_run: Path, n_trials: int) -> None:
        """Exploration data from another run's agent (``train.init_explore_trials``): ``n_trials``
        trials on random training tasks in which that agent's belief is fed, for the first k frames
        of episode 1 (k uniform in 1..episode length), the rewards of a decoy training task drawn at
        random, and the true rewards after. Acting as if the task were the decoy, as posterior
        sampling would, it goes to the decoy's goal, meets the true reward there, and turns to the
        true goal; the trials record the true task's rewards. Stage 1's own trials go straight to
        the goal, so without these the sparse model learns "no reward here, so the goal is
        elsewhere" only from its own agent's trials. Runs in this process (the graph is not up yet)."""
        agent, _ = load_agent(other_run, self.env.observation_space.shape[:2], self.action_dim)
        tasks, E = self.env.train_tasks, self.env.episode_length
        with torch.random.fork_rng():
            torch.manual_seed(self.cfg.train.seed + 2_000_000)
            for _ in range(n_trials):
                ti, decoy = (int(i) for i in self.rng.integers(len(tasks), size=2))
                steps, seed = int(self.rng.integers(1, E + 1)), int(self.rng.integers(2**31 - 1))
                self.replay.add(run_trial(self.env, ti, tasks[ti], self.episodes, seed, agent=agent,
                                          decoy=(tasks[decoy], steps)))

    def run_trial_here(self, task_set: str, task_index: int, seed: int, mode: str) -> Trial:
        """One trial on ``task_set`` ("train" | "held_out") task ``task_index`` in this process's
        environment; ``mode``: "random" (uniform actions), "train" (the agent samples), "eval"
        (the agent, deterministic if ``train.eval_deterministic``)."""
        task = (self.env.train_tasks if task_set == "train" else self.env.held_out_tasks)[task_index]
        return run_trial(self.env, task_index, task, self.episodes, seed,
                         agent=None if mode == "random" else self.agent, rng=self.rng,
                         deterministic=mode == "eval" and self.cfg.train.eval_deterministic)

    def collect(self, n_trials: int, random_policy: bool, phase: str | None = None) -> list[Trial]:
        """``n_trials`` trials on random training tasks into the replay. With ``phase``, each trial is a
        unit of it: counted in ``progress.phase_done`` and followed by a stop check. A stop taken
        during a trial (the graph's trials wait for the graph) leaves the generator as it was before
        the trial's draws, so the resumed run draws the same task and seed again."""
        trials = []
        self.model.eval()
        try:
            for _ in range(n_trials):
                before = self.rng.bit_generator.state
                try:
                    ti = int(self.rng.integers(len(self.env.train_tasks)))
                    seed = int(self.rng.integers(2**31 - 1))
                    trial = self.trial_runner("train", ti, seed, "random" if random_policy else "train")
                except Interrupted:
                    self.rng.bit_generator.state = before
                    raise
                self.replay.add(trial)
                trials.append(trial)
                self.progress.env_steps += self.trial_length
                if phase is not None:
                    self.progress.phase_done += 1
                    self._unit_done(phase, n_trials + self.progress.phase_done - len(trials), "trials")
        finally:
            self.model.train()
        return trials

    def _tensors(self, batch: dict) -> dict[str, torch.Tensor]:
        m, s = self.cfg.model, self.cfg.sac
        dense, sparse = torch.from_numpy(batch["dense"]), torch.from_numpy(batch["sparse"])
        pick = {"dense": dense, "sparse": sparse, "none": torch.zeros_like(dense)}
        return {"images": torch.from_numpy(batch["images"]), "actions": torch.from_numpy(batch["actions"]),
                "reward_in": pick[m.reward_input], "reward_target": pick[m.reward_target],
                "critic_reward": pick[s.critic_reward]}

    # ---- training ----------------------------------------------------------------------
    def model_step(self, b: dict[str, torch.Tensor]) -> tuple[dict, torch.Tensor]:
        loss, stats, seq = self.model.elbo_loss(b["images"], b["reward_in"], b["reward_target"], b["actions"],
                                                reset_frames=self.reset_frames)
        self.model_opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.model.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.model.grad_clip)
        self.model_opt.step()
        self.progress.model_steps += 1
        return stats, policy_input(seq, self.cfg.sac.policy_input).detach()

    def ac_step(self, b: dict[str, torch.Tensor], latent: torch.Tensor | None, fresh: bool = True) -> dict:
        """One SAC step on the transitions of batch ``b``; ``latent``: the policy
        inputs of its trials (B, L+1, D), inferred here without gradients if None.
        With a transition cache, ``fresh`` batches are added to it and the step
        draws its minibatch from the cache."""
        if latent is None:
            with torch.no_grad():
                feats = self.model.features(b["images"], b["reward_in"])
                latent = policy_input(self.model.posterior(feats, b["actions"]), self.cfg.sac.policy_input)
        B, T1, D = latent.shape
        L = T1 - 1
        z, nz = latent[:, :-1].reshape(-1, D), latent[:, 1:].reshape(-1, D)
        a = b["actions"].reshape(B * L, -1)
        r = b["critic_reward"][:, 1:].reshape(-1)
        n = min(self.cfg.sac.batch_size, B * L)
        if self.cache is not None:
            if fresh:
                self.cache.add(z, a, r, nz)
            mb = self.cache.sample(self.cfg.sac.batch_size)
            z, a, r, nz = mb["x"], mb["action"], mb["reward"], mb["next_x"]
        else:
            idx = torch.randperm(B * L)[:n]
            z, a, r, nz = z[idx], a[idx], r[idx], nz[idx]
        # A trial ends by a time limit, not in a terminal state: the critic
        # bootstraps through it. (Marking it terminal makes the target depend
        # on the time left, which the belief does not contain.)
        done = torch.zeros(z.shape[0])
        stats = self.sac.update(z, a, r, nz, done)
        self.progress.ac_steps += 1
        return stats

    def train_phase(self, n_model: int, n_ac: int, phase: str | None = None) -> dict:
        """``n_model`` model steps and ``n_ac`` actor-critic steps, interleaved, in units: unit i is
        model step i and the actor-critic steps due by its end (spread evenly), or, with no model
        steps, one actor-critic step. Each model step's posterior samples (detached) feed the
        actor-critic steps of its unit, each on a fresh random subset of the batch's transitions;
        with no model steps, every actor-critic step infers its own posterior without gradients.
        With ``phase``, the phase resumes at unit ``progress.phase_done`` and every unit is counted
        there and followed by a stop check. Returns the mean of each statistic over the units run."""
        stats: dict[str, list] = {}

        def record(s: dict) -> None:
            for k, v in s.items():
                stats.setdefault(k, []).append(v)

        units = n_model if n_model else n_ac
        start = self.progress.phase_done if phase is not None else 0
        for i in range(start, units):
            b = self._tensors(self.replay.sample(self.cfg.train.batch_trials, self.rng))
            if n_model:
                s, latent = self.model_step(b)
                record(s)
                for j in range(n_ac * i // n_model, n_ac * (i + 1) // n_model):
                    record(self.ac_step(b, latent, fresh=j == n_ac * i // n_model))
            else:
                record(self.ac_step(b, None))
            if phase is not None:
                self.progress.phase_done = i + 1
                self._unit_done(phase, units, "model steps" if n_model else "actor-critic steps")
        return {k: float(np.mean(v)) for k, v in stats.items()}

    # ---- evaluation (Algorithm 2) ---------------------------------------------------------
    def evaluate(self, trials_per_task: int | None = None, seed_offset: int = 1_000_000,
                 phase: str = "evaluate") -> dict:
        """Meta-test: success per episode of a trial, averaged over held-out tasks.

        Runs under its own RNG streams, so evaluating does not change training (and an interrupted
        evaluation gives the same result when run again). Reports every trial as a unit of ``phase``.
        """
        n = trials_per_task or self.cfg.train.eval_trials_per_task
        total = n * len(self.env.held_out_tasks)
        successes, returns = [], []
        started = time.monotonic()
        self.model.eval()
        try:
            with torch.random.fork_rng():
                torch.manual_seed(self.cfg.train.seed + seed_offset)
                for ti in range(len(self.env.held_out_tasks)):
                    for j in range(n):
                        trial = self.trial_runner("held_out", ti, seed_offset + 1000 * ti + j, "eval")
                        successes.append(trial.episode_success(self.env.episode_length))
                        E = self.env.episode_length
                        returns.append([float(trial.dense[1 + e * E:1 + (e + 1) * E].sum())
                                        for e in range(self.episodes)])
                        self._meta_test_so_far = (time.monotonic() - started, np.mean(successes, 0).tolist())
                        self._unit_done(phase, total, "trials", done=len(successes))
        finally:
            self.model.train()
        succ, ret = np.array(successes, float), np.array(returns)
        return {"success_per_episode": succ.mean(0).tolist(), "return_per_episode": ret.mean(0).tolist(),
                "trials": len(successes)}

    # ---- the loop ---------------------------------------------------------------------------
    def _steps_for(self, ratio: float, env_steps: int) -> int:
        return int(round(ratio * env_steps))

    def claim_run_dir(self) -> None:
        """Hold the run directory for writing (``checkpoint.lock_run_dir``) until ``run`` returns."""
        if self._run_dir_lock is None:
            self._run_dir_lock = lock_run_dir(self.run_dir)

    def run(self, log=print) -> dict:
        """Meta-train to the end (iterations or time budget) and return the last held-out evaluation.
        A requested stop saves the run where it is and raises ``Interrupted``."""
        self.claim_run_dir()
        try:
            return self._run(log)
        finally:
            self._run_dir_lock.close()
            self._run_dir_lock = None

    def _elapsed(self) -> float:
        return time.monotonic() - self._clock_start

    def _unit_done(self, phase: str, total: int, unit: str, done: int | None = None) -> None:
        """After every unit of work: the time spent, the progress report, the stop check."""
        if self._clock_start is not None:
            self.progress.train_time_s = self._elapsed()
        self.on_progress(self.status(phase, self.progress.phase_done if done is None else done, total, unit))
        self.stop.check()

    def status(self, phase: str, done: int, total: int, unit: str) -> Status:
        """Where the run is, for a progress line (``progress_report``)."""
        t, p = self.cfg.train, self.progress
        elapsed = p.train_time_s
        last = p.evals[-1] if p.evals else None
        success, success_at, success_of = ((last["success_per_episode"], last["iteration"], "held-out success")
                                           if last else (None, None, ""))
        if phase == "evaluate" and self._clock_start is None:          # a meta-test on its own: its own figures
            elapsed, success = self._meta_test_so_far
            success_at, success_of = None, "success so far"
            left = elapsed / done * (total - done) if done else None
        else:
            estimates = []
            if t.time_budget_s is not None:
                estimates.append(max(0.0, t.time_budget_s - elapsed))
            if p.iteration > 0:
                estimates.append(elapsed / p.iteration * (t.iterations - p.iteration))
            left = min(estimates) if estimates else None
        job = (f"meta-train {t.env} ({self.cfg.profile})" if self._clock_start is not None
               else f"meta-test {t.env}")
        return Status(job=job, phase=PHASE_NAMES.get(phase, phase), done=done, total=total, unit=unit,
                      iteration=p.iteration if self._clock_start is not None else None,
                      iterations=t.iterations if t.time_budget_s is None and self._clock_start is not None else None,
                      env_steps=p.env_steps if self._clock_start is not None else None, elapsed_s=elapsed,
                      left_s=left, success=success, success_at=success_at, success_of=success_of)

    def _run(self, log) -> dict:
        from torch.utils.tensorboard import SummaryWriter

        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "config.json").write_text(json.dumps(self.cfg.to_dict(), indent=2))
        self._writer = SummaryWriter(str(self.run_dir / "tb"))
        self._clock_start = time.monotonic() - self.progress.train_time_s
        try:
            self._advance(log)
            result = self.progress.evals[-1] if self.progress.evals else None
            if not self.progress.evals or self.progress.evals[-1]["iteration"] != self.progress.iteration:
                result = self._evaluate_and_log()          # the run's final held-out evaluation
            self.progress.train_time_s = self._elapsed()
            self.save()
            return result
        except Interrupted:
            self.progress.train_time_s = self._elapsed()
            self.save()
            log(f"stopped ({self.stop.reason}) in {PHASE_NAMES[self.progress.phase]} after "
                f"{self.progress.phase_done} units of it; saved: the run continues from there")
            raise
        finally:
            self._writer.close()

    def _advance(self, log) -> None:
        """Run the phases from where ``progress`` says the run is, to the end of the run."""
        t, p = self.cfg.train, self.progress
        while True:
            if p.phase == "pretrain_collect":
                self.collect(max(0, t.pretrain_trials - self.replay.num_trials()), random_policy=True,
                             phase="pretrain_collect")
                self._enter("pretrain_train")
            elif p.phase == "pretrain_train":
                stats = self.train_phase(t.pretrain_model_steps, 0, phase="pretrain_train")
                self.on_new_weights()
                p.pretrained = True
                self._log_scalars(stats, "pretrain")
                self._enter("collect")
                self.save()
            elif p.phase == "collect":
                if p.iteration >= t.iterations:
                    return
                if t.time_budget_s is not None and self._elapsed() >= t.time_budget_s:
                    log(f"time budget of {t.time_budget_s:.0f} s reached")
                    return
                if p.phase_done == 0:
                    p.collected = []
                trials = self.collect(t.trials_per_iteration - p.phase_done, random_policy=False, phase="collect")
                p.collected += [[float(tr.episode_success(self.env.episode_length)[-1]), float(tr.dense[1:].sum())]
                                for tr in trials]
                self._enter("train")
            elif p.phase == "train":
                n_env = t.trials_per_iteration * self.trial_length
                stats = self.train_phase(self._steps_for(t.model_steps_per_env_step, n_env),
                                         self._steps_for(t.ac_steps_per_env_step, n_env), phase="train")
                self.on_new_weights()
                stats["train/success_last_episode"] = float(np.mean([c[0] for c in p.collected]))
                stats["train/return"] = float(np.mean([c[1] for c in p.collected]))
                p.iteration += 1
                self._log_scalars(stats)
                due = p.iteration % t.eval_every == 0 or p.iteration == t.iterations
                self._enter("evaluate" if due else "bookkeeping")
            elif p.phase == "evaluate":
                self._evaluate_and_log()
                self._enter("bookkeeping")
            elif p.phase == "bookkeeping":
                if p.iteration % t.log_images_every == 0:
                    self._log_reconstruction()
                self._enter("collect")
                if p.iteration % t.checkpoint_every == 0:
                    self.save()
            else:
                raise CheckpointError(f"unknown phase {p.phase!r} in the checkpoint")

    def _enter(self, phase: str) -> None:
        self.progress.phase, self.progress.phase_done = phase, 0
        self.progress.train_time_s = self._elapsed()

    def _log_scalars(self, stats: dict, prefix: str | None = None) -> None:
        step = self.progress.env_steps
        for k, v in stats.items():
            self._writer.add_scalar(f"{prefix}/{k}" if prefix else k, v, step)
        self._writer.add_scalar("train/model_steps", self.progress.model_steps, step)

    def _evaluate_and_log(self) -> dict:
        result = self.evaluate()
        result.update(iteration=self.progress.iteration, env_steps=self.progress.env_steps,
                      time_s=round(self.progress.train_time_s, 1))
        self.progress.evals.append(result)
        for e, s in enumerate(result["success_per_episode"]):
            self._writer.add_scalar(f"eval/success_episode_{e + 1}", s, self.progress.env_steps)
            self._writer.add_scalar(f"eval/return_episode_{e + 1}", result["return_per_episode"][e], self.progress.env_steps)
        with open(self.run_dir / "evals.jsonl", "a") as fh:
            fh.write(json.dumps(result) + "\n")
        return result

    @torch.no_grad()
    def _log_reconstruction(self) -> None:
        with torch.random.fork_rng():
            b = self._tensors(self.replay.sample(1, np.random.default_rng(0)))
            feats = self.model.features(b["images"], b["reward_in"])
            latent = self.model.posterior(feats, b["actions"]).latent
            recon = (self.model.decode_image(latent[0, ::4]) + 0.5).clamp(0, 1)
        original = b["images"][0, ::4].permute(0, 3, 1, 2).float() / 255.0
        grid = torch.cat([torch.cat(list(original), -1), torch.cat(list(recon), -1)], -2)
        self._writer.add_image("model/reconstruction", grid, self.progress.env_steps)

    # ---- checkpoints ------------------------------------------------------------------------
    def export_weights(self, path: Path, version: int) -> str:
        """Write the acting weights (model + actor) for the belief and policy nodes; returns the sha256."""
        from meld_core.weights import save_weights
        return save_weights(path, version, self.cfg, self.env.observation_space.shape[:2], self.env.action_scale,
                            self.model, self.sac.actor)

    def save(self, run_dir: Path | None = None) -> None:
        run_dir = Path(run_dir or self.run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        stamp = f"{self.progress.iteration:06d}-{self.progress.model_steps}-{self.progress.env_steps}"
        self.replay.save(run_dir / replay_file_name(stamp), stamp)
        p = self.progress
        save_checkpoint(run_dir / CHECKPOINT_FILE, {
            "stamp": stamp,
            "config": self.cfg.to_dict(),
            "model": self.model.state_dict(),
            "sac": self.sac.state_dict(),
            "model_opt": self.model_opt.state_dict(),
            "actor_opt": self.sac.actor_opt.state_dict(),
            "critic_opt": self.sac.critic_opt.state_dict(),
            "alpha_opt": self.sac.alpha_opt.state_dict(),
            "progress": {"iteration": p.iteration, "env_steps": p.env_steps, "model_steps": p.model_steps,
                         "ac_steps": p.ac_steps, "pretrained": p.pretrained, "train_time_s": p.train_time_s,
                         "evals_json": json.dumps(p.evals), "phase": p.phase, "phase_done": p.phase_done,
                         "collected_json": json.dumps(p.collected)},
            "cache": self.cache.state_dict() if self.cache is not None else {},
            "torch_rng": torch.get_rng_state(),
            "numpy_rng_json": json.dumps(self.rng.bit_generator.state),
        })
        remove_stale_replays(run_dir, keep=replay_file_name(stamp))

    def load(self, run_dir: Path) -> None:
        """Restore everything from ``run_dir``; raises CheckpointError and changes nothing on failure."""
        payload = load_checkpoint(run_dir / CHECKPOINT_FILE)
        diffs = compare_configs(complete_saved(payload.get("config", {})), self.cfg.to_dict(), _FIXED_ON_RESUME)
        if diffs:
            raise CheckpointError(f"checkpoint in {run_dir} was made with a different configuration: " + "; ".join(diffs))
        replay_file = run_dir / replay_file_name(str(payload.get("stamp")))
        try:
            replay = MultiTaskReplay.load(replay_file)
            replay_stamp = replay.stamp
        except Exception as exc:
            raise CheckpointError(f"replay {replay_file} is missing or corrupt ({type(exc).__name__}: {exc})") from None
        if replay_stamp != payload.get("stamp"):
            raise CheckpointError(f"replay and checkpoint in {run_dir} are from different moments "
                                  f"({replay_stamp} vs {payload.get('stamp')}); the run was interrupted while saving")
        try:
            self.model.load_state_dict(payload["model"])
            self.sac.load_state_dict(payload["sac"])
            self.model_opt.load_state_dict(payload["model_opt"])
            self.sac.actor_opt.load_state_dict(payload["actor_opt"])
            self.sac.critic_opt.load_state_dict(payload["critic_opt"])
            self.sac.alpha_opt.load_state_dict(payload["alpha_opt"])
            prog = dict(payload["progress"])
            evals = json.loads(prog.pop("evals_json"))
            prog["collected"] = json.loads(prog.pop("collected_json", "[]"))
            if "phase" not in prog:             # a checkpoint from before phases were recorded (saved between them)
                prog["phase"] = "collect" if prog.get("pretrained") else "pretrain_collect"
            if self.cache is not None:
                self.cache.load_state_dict(payload["cache"])
            torch.set_rng_state(payload["torch_rng"])
            self.rng.bit_generator.state = json.loads(payload["numpy_rng_json"])
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise CheckpointError(f"checkpoint in {run_dir} does not fit this model ({type(exc).__name__}: {str(exc)[:300]})") from None
        self.replay = replay
        self.progress = Progress(evals=evals, **prog)


def load_agent(run_dir: str | Path, image_shape, action_dim: int) -> tuple[MeldAgent, MeldConfig]:
    """The acting agent (latent model and actor, as last saved, in eval mode) of the run in
    ``run_dir``, for images of ``image_shape`` and actions of ``action_dim``, and the configuration
    it was trained with; nothing else of the run is loaded."""
    payload = load_checkpoint(Path(run_dir) / CHECKPOINT_FILE)
    try:
        cfg = config_from_dict(payload["config"])
        model, sac = build_networks(cfg, image_shape, action_dim)
        model.load_state_dict(payload["model"])
        sac.load_state_dict(payload["sac"])
    except Exception as exc:
        raise CheckpointError(f"checkpoint in {run_dir} does not give an agent for images {tuple(image_shape)} "
                              f"and {action_dim} actions ({type(exc).__name__}: {str(exc)[:300]})") from None
    model.eval()
    sac.actor.eval()
    return MeldAgent(model, sac.actor, cfg.model.reward_input, cfg.sac.policy_input), cfg


def load_trained_agent(run_dir: str | Path, **collaborators) -> tuple[MetaTrainer, dict]:
    """A trainer restored from ``run_dir`` with its saved configuration (for meta-testing);
    ``collaborators``: MetaTrainer's ``stop`` and ``on_progress``."""
    payload = load_checkpoint(Path(run_dir) / CHECKPOINT_FILE)
    try:
        cfg = config_from_dict(payload["config"])
    except Exception as exc:
        raise CheckpointError(f"checkpoint in {run_dir} holds an unreadable configuration: {exc}") from None
    return MetaTrainer(cfg, run_dir, resume=True, **collaborators), payload
