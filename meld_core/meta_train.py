"""MELD meta-training (Algorithm 1): the loop over a run directory.

1. Collect ``pretrain_trials`` trials with a random policy on random training
   tasks and pre-train the model for ``pretrain_model_steps`` steps.
2. Repeat: collect ``trials_per_iteration`` trials with the current agent on
   random training tasks (N env steps), then train:
   ``model_steps_per_env_step * N`` model steps on batches of whole trials and
   ``ac_steps_per_env_step * N`` actor-critic steps on the transitions inside
   such batches, using posterior samples with no gradient into the model.
3. Every ``eval_every`` iterations: meta-test on the held-out tasks
   (``evaluation.evaluate``), success per episode of a trial.

Who does what: ``MeldAlgorithm`` owns the networks and the gradient steps, a
``TrialSource`` runs trials (in this process, or through the node graph),
``checkpoint`` writes and reads the run directory, ``RunLog`` writes
TensorBoard and ``evals.jsonl``. The trainer keeps the order of the work,
the replay and the run's progress. Everything random draws from seeded
generators whose states are checkpointed, so an interrupted run resumes
exactly where it stopped.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from meld_core.algorithm import MeldAlgorithm
from meld_core.checkpoint import (CHECKPOINT_FILE, CheckpointError, lock_run_dir, read_run,
                                  replay_path_of, save_run)
from meld_core.config import MeldConfig
from meld_core.evaluation import EvaluationProgress, evaluate
from meld_core.interruption import Interrupted, StopRequest
from meld_core.progress_report import Status
from meld_core.replay import MultiTaskReplay, Trial
from meld_core.run_log import RunLog
from meld_core.trial_source import SimTrialSource, TrialSource

#: config keys a resumed run must share with its checkpoint (() = the whole section)
_FIXED_ON_RESUME = {"model": (), "sac": ("hidden", "policy_input"),
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


class MetaTrainer:
    """Algorithm 1 over a run directory. Collaborators: ``source`` (a ``TrialSource``; default: the
    environment ``train.env`` in this process), ``stop`` (a ``StopRequest``: the run stops at the next
    unit boundary, saves, and raises ``Interrupted``), ``on_progress`` (called with a
    ``progress_report.Status`` after every unit of work), ``on_new_weights`` (called after every
    training phase: the graph's learner ships the weights to its nodes there).

    A run is a sequence of phases (``PHASES``) made of units: a trial collected, a gradient-step unit
    (one model step and the actor-critic steps due with it), an evaluation trial. ``Progress`` records
    the phase and the units done, the checkpoint saved on a stop records them with the random
    generators as they were at that boundary, and a resumed run continues from there: the weights,
    replay and generators it ends with are those of an uninterrupted run, bit for bit (an
    interrupted evaluation is run again from its start: it draws from its own seeded streams).
    """

    def __init__(self, cfg: MeldConfig, run_dir: str | Path, resume: bool = True, *,
                 source: TrialSource | None = None, stop: StopRequest | None = None, on_progress=None,
                 on_new_weights=None, initial_trials=None):
        self.cfg = cfg
        self.stop = stop or StopRequest()
        self.on_progress = on_progress or (lambda status: None)
        self.on_new_weights = on_new_weights or (lambda: None)
        self._clock_start: float | None = None
        self.run_dir = Path(run_dir)
        t = cfg.train
        torch.set_num_threads(t.torch_threads)
        torch.manual_seed(t.seed)
        self.rng = np.random.default_rng(t.seed)
        self.source = source if source is not None else SimTrialSource.from_config(t)
        self.spec = self.source.spec
        self.algo = MeldAlgorithm(cfg, self.spec.image_shape, self.spec.action_dim, self.spec.reset_frames)
        self.replay = MultiTaskReplay(self.spec.n_train_tasks, t.replay_capacity, self.spec.trial_length)
        self.progress = Progress()
        self._log: RunLog | None = None
        self._run_dir_lock = None
        #: whether this trainer continues the run its run directory held (loaded from its checkpoint)
        self.resumed = resume and (self.run_dir / CHECKPOINT_FILE).exists()
        if self.resumed:
            self.load(self.run_dir)
        elif t.init_replay_from:
            self._seed_replay(Path(t.init_replay_from))
        if initial_trials is not None and not self.resumed:
            self._add_initial_trials(initial_trials)

    # ---- data ------------------------------------------------------------------------
    def _seed_replay(self, other_run: Path) -> None:
        """Two-stage sparse scheme: start from another run's trials."""
        path = replay_path_of(other_run)
        if not path.exists():
            raise CheckpointError(f"train.init_replay_from: no replay at {path}")
        other = MultiTaskReplay.load(path)
        if other.trial_length != self.spec.trial_length or len(other.tasks) != len(self.replay.tasks):
            raise CheckpointError(f"replay in {path} has trials of {other.trial_length} steps on "
                                  f"{len(other.tasks)} tasks; this run needs {self.spec.trial_length} on "
                                  f"{len(self.replay.tasks)}")
        for trial in other.iter_trials():
            self.replay.add(trial)

    def _add_initial_trials(self, trials) -> None:
        """A new run's replay seeded with ``trials`` (e.g. read back from a robot's bags); each is checked
        against this run's task count and trial shape (ValueError naming the first that does not fit)."""
        for k, trial in enumerate(trials):
            if trial.actions.shape != (self.spec.trial_length, self.spec.action_dim) or \
                    trial.images.shape[1:3] != tuple(self.spec.image_shape):
                raise ValueError(f"initial trial {k}: {trial.actions.shape[0]} steps of {trial.actions.shape[1]} "
                                 f"actions, images {trial.images.shape[1:]}; this run needs "
                                 f"{self.spec.trial_length} x {self.spec.action_dim}, {self.spec.image_shape}")
            self.replay.add(trial)

    def collect(self, n_trials: int, random_policy: bool, phase: str | None = None) -> list[Trial]:
        """``n_trials`` trials on random training tasks into the replay. With ``phase``, each trial is a
        unit of it: counted in ``progress.phase_done`` and followed by a stop check. A stop taken
        during a trial (the graph's trials wait for the graph) leaves the generator as it was before
        the trial's draws, so the resumed run draws the same task and seed again."""
        trials = []
        self.algo.train_mode(False)
        try:
            for _ in range(n_trials):
                before = self.rng.bit_generator.state
                try:
                    ti = int(self.rng.integers(self.spec.n_train_tasks))
                    seed = int(self.rng.integers(2**31 - 1))
                    trial = self.source.run_trial("train", ti, seed, "random" if random_policy else "train",
                                                  self.algo.agent, self.rng)
                except Interrupted:
                    self.rng.bit_generator.state = before
                    raise
                self.replay.add(trial)
                trials.append(trial)
                self.progress.env_steps += self.spec.trial_length
                if phase is not None:
                    self.progress.phase_done += 1
                    self._unit_done(phase, n_trials + self.progress.phase_done - len(trials), "trials")
        finally:
            self.algo.train_mode(True)
        return trials

    # ---- training ----------------------------------------------------------------------
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
            b = self.algo.tensors(self.replay.sample(self.cfg.train.batch_trials, self.rng))
            if n_model:
                s, latent = self.algo.model_step(b)
                self.progress.model_steps += 1
                record(s)
                for _ in range(n_ac * i // n_model, n_ac * (i + 1) // n_model):
                    record(self.algo.ac_step(b, latent))
                    self.progress.ac_steps += 1
            else:
                record(self.algo.ac_step(b, None))
                self.progress.ac_steps += 1
            if phase is not None:
                self.progress.phase_done = i + 1
                self._unit_done(phase, units, "model steps" if n_model else "actor-critic steps")
        return {k: float(np.mean(v)) for k, v in stats.items()}

    # ---- evaluation (Algorithm 2) ---------------------------------------------------------
    def evaluate(self, trials_per_task: int | None = None, seed_offset: int = 1_000_000,
                 phase: str = "evaluate") -> dict:
        """Meta-test the current agent on the held-out tasks (``evaluation.evaluate``), every trial a
        unit of ``phase``. Changes no generator of training."""
        def on_trial(p: EvaluationProgress) -> None:
            self._unit_done(phase, p.total, "trials", done=p.done)

        return evaluate(self.source, self.algo.agent, self.spec, trials_per_task or self.cfg.train.eval_trials_per_task,
                        self.cfg.train.seed, seed_offset, on_trial)

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
        last = p.evals[-1] if p.evals else None
        estimates = []
        if t.time_budget_s is not None:
            estimates.append(max(0.0, t.time_budget_s - p.train_time_s))
        if p.iteration > 0:
            estimates.append(p.train_time_s / p.iteration * (t.iterations - p.iteration))
        return Status(job=f"meta-train {t.env} ({self.cfg.profile})", phase=PHASE_NAMES.get(phase, phase),
                      done=done, total=total, unit=unit, iteration=p.iteration,
                      iterations=t.iterations if t.time_budget_s is None else None, env_steps=p.env_steps,
                      elapsed_s=p.train_time_s, left_s=min(estimates) if estimates else None,
                      success=last["success_per_episode"] if last else None,
                      success_at=last["iteration"] if last else None)

    def _run(self, log) -> dict:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "config.json").write_text(json.dumps(self.cfg.to_dict(), indent=2))
        self._log = RunLog(self.run_dir)
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
            self._log.close()

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
                self._log.scalars(stats, p.env_steps, p.model_steps, "pretrain")
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
                p.collected += [[float(tr.episode_success(self.spec.episode_length)[-1]), float(tr.dense[1:].sum())]
                                for tr in trials]
                self._enter("train")
            elif p.phase == "train":
                n_env = t.trials_per_iteration * self.spec.trial_length
                stats = self.train_phase(self._steps_for(t.model_steps_per_env_step, n_env),
                                         self._steps_for(t.ac_steps_per_env_step, n_env), phase="train")
                self.on_new_weights()
                stats["train/success_last_episode"] = float(np.mean([c[0] for c in p.collected]))
                stats["train/return"] = float(np.mean([c[1] for c in p.collected]))
                p.iteration += 1
                self._log.scalars(stats, p.env_steps, p.model_steps)
                due = p.iteration % t.eval_every == 0 or p.iteration == t.iterations
                self._enter("evaluate" if due else "bookkeeping")
            elif p.phase == "evaluate":
                self._evaluate_and_log()
                self._enter("bookkeeping")
            elif p.phase == "bookkeeping":
                if p.iteration % t.log_images_every == 0:
                    with torch.random.fork_rng():
                        grid = self.algo.reconstruction_grid(self.replay.sample(1, np.random.default_rng(0)))
                    self._log.image("model/reconstruction", grid, p.env_steps)
                self._enter("collect")
                if p.iteration % t.checkpoint_every == 0:
                    self.save()
            else:
                raise CheckpointError(f"unknown phase {p.phase!r} in the checkpoint")

    def _enter(self, phase: str) -> None:
        self.progress.phase, self.progress.phase_done = phase, 0
        self.progress.train_time_s = self._elapsed()

    def _evaluate_and_log(self) -> dict:
        result = self.evaluate()
        result.update(iteration=self.progress.iteration, env_steps=self.progress.env_steps,
                      time_s=round(self.progress.train_time_s, 1))
        self.progress.evals.append(result)
        self._log.evaluation(result)
        return result

    # ---- checkpoints ------------------------------------------------------------------------
    def save(self, run_dir: Path | None = None) -> None:
        """The run as it is now (``checkpoint.save_run``)."""
        p = self.progress
        stamp = f"{p.iteration:06d}-{p.model_steps}-{p.env_steps}"
        save_run(Path(run_dir or self.run_dir), stamp, {
            "config": self.cfg.to_dict(),
            "spec": self.spec.to_dict(),
            **self.algo.state_dict(),
            "progress": {"iteration": p.iteration, "env_steps": p.env_steps, "model_steps": p.model_steps,
                         "ac_steps": p.ac_steps, "pretrained": p.pretrained, "train_time_s": p.train_time_s,
                         "evals_json": json.dumps(p.evals), "phase": p.phase, "phase_done": p.phase_done,
                         "collected_json": json.dumps(p.collected)},
            "torch_rng": torch.get_rng_state(),
            "numpy_rng_json": json.dumps(self.rng.bit_generator.state),
        }, self.replay)

    def load(self, run_dir: Path) -> None:
        """Restore everything from ``run_dir``; raises CheckpointError and changes nothing on failure."""
        payload, replay = read_run(run_dir, self.cfg.to_dict(), _FIXED_ON_RESUME)
        try:
            self.algo.load_state_dict(payload)
            prog = dict(payload["progress"])
            evals = json.loads(prog.pop("evals_json"))
            prog["collected"] = json.loads(prog.pop("collected_json", "[]"))
            if "phase" not in prog:             # a checkpoint from before phases were recorded (saved between them)
                prog["phase"] = "collect" if prog.get("pretrained") else "pretrain_collect"
            torch.set_rng_state(payload["torch_rng"])
            self.rng.bit_generator.state = json.loads(payload["numpy_rng_json"])
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise CheckpointError(f"checkpoint in {run_dir} does not fit this model ({type(exc).__name__}: {str(exc)[:300]})") from None
        self.replay = replay
        self.progress = Progress(evals=evals, **prog)
