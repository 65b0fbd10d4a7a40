"""Meta-testing (Algorithm 2): a trained agent on the held-out tasks, no gradient steps.

Each held-out task gets ``trials_per_task`` trials; within a trial the belief
q(z_t | x_t, r_t, z_{t-1}, a_{t-1}) is updated at every step and carried
across episodes, and the actor acts on it. The result is the success at the
end of each episode of a trial and the dense return of each episode,
averaged over all trials: adaptation shows as episode 2 doing better than
episode 1.

Trial j on task i resets episode e with seed ``seed_offset + 1000 i + j + e``
and torch draws from its own stream seeded ``seed + seed_offset``: an
evaluation changes no generator of training and gives the same result when
run again.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from meld_core.agent import MeldAgent
from meld_core.task_spec import TaskSpec


@dataclass
class EvaluationProgress:
    """Where a running evaluation is, after each trial."""

    done: int                      #: trials finished
    total: int
    elapsed_s: float
    success_so_far: list[float]    #: mean success per episode over the trials finished


def evaluate(source, agent: MeldAgent, spec: TaskSpec, trials_per_task: int, seed: int,
             seed_offset: int = 1_000_000, on_trial=None) -> dict:
    """Meta-test ``agent`` on ``spec``'s held-out tasks through ``source`` (a ``TrialSource``).
    ``on_trial``: called with an ``EvaluationProgress`` after every trial (progress, stop checks).
    Returns ``success_per_episode``, ``return_per_episode`` (dense), ``trials``, and
    ``success_per_task_episode`` (per held-out task, its success per episode: the spread over tasks)."""
    total = trials_per_task * spec.n_held_out_tasks
    E = spec.episode_length
    successes, returns = [], []
    started = time.monotonic()
    was_training = agent.model.training
    agent.model.eval()
    unused_rng = np.random.default_rng(seed + seed_offset)      # agent trials draw no uniform actions
    try:
        with torch.random.fork_rng():
            torch.manual_seed(seed + seed_offset)
            for ti in range(spec.n_held_out_tasks):
                for j in range(trials_per_task):
                    trial = source.run_trial("held_out", ti, seed_offset + 1000 * ti + j, "eval", agent, unused_rng)
                    successes.append(trial.episode_success(E))
                    returns.append([float(trial.dense[1 + e * E:1 + (e + 1) * E].sum())
                                    for e in range(spec.episodes_per_trial)])
                    if on_trial is not None:
                        on_trial(EvaluationProgress(len(successes), total, time.monotonic() - started,
                                                    np.mean(successes, 0).tolist()))
    finally:
        agent.model.train(was_training)
    succ, ret = np.array(successes, float), np.array(returns)
    per_task = succ.reshape(spec.n_held_out_tasks, trials_per_task, -1).mean(1)
    return {"success_per_episode": succ.mean(0).tolist(), "return_per_episode": ret.mean(0).tolist(),
            "trials": len(successes), "success_per_task_episode": per_task.tolist()}


def meta_test_status(env_name: str, p: EvaluationProgress):
    """A meta-test's progress line: its own trials, time and success so far."""
    from meld_core.progress_report import Status

    return Status(job=f"meta-test {env_name}", phase="evaluation", done=p.done, total=p.total, unit="trials",
                  elapsed_s=p.elapsed_s, left_s=p.elapsed_s / p.done * (p.total - p.done) if p.done else None,
                  success=p.success_so_far, success_of="success so far")


def meta_test(agent: MeldAgent, spec: TaskSpec, cfg, trials_per_task: int | None = None,
              seed_offset: int = 2_000_000, source=None, stop=None, on_progress=None) -> dict:
    """Meta-test a trained agent (``checkpoint.load_agent`` gives it with its spec and configuration)
    on the held-out tasks. ``source``: where trials run (default: the spec's simulated environment in
    this process; the graph's learner passes itself); ``stop``: a StopRequest checked after every
    trial; ``on_progress``: called with the meta-test's ``Status`` after every trial."""
    from meld_core.trial_source import SimTrialSource

    own_source = source is None
    if own_source:
        source = SimTrialSource.from_config(cfg.train)

    def on_trial(p: EvaluationProgress) -> None:
        if on_progress is not None:
            on_progress(meta_test_status(spec.env, p))
        if stop is not None:
            stop.check()

    try:
        return evaluate(source, agent, spec, trials_per_task or cfg.train.eval_trials_per_task, cfg.train.seed,
                        seed_offset, on_trial)
    finally:
        if own_source:
            source.close()
