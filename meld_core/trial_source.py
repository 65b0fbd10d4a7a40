"""Where meta-training's trials come from.

A trial source runs one trial (``spec.episodes_per_trial`` episodes on one
task, the latent carried across them) and returns it as a ``replay.Trial``.
``SimTrialSource`` runs it in this process on a simulated environment; the
ROS learner node is the other source, running each trial through the node
graph (bridge -> fusion -> belief -> policy). The trainer does not know
which one it has.

Modes: "random" (uniform actions in [-1, 1], the model's pre-training data),
"train" (the agent samples a ~ pi(a | z_t)), "eval" (the agent's mean action
if ``eval_deterministic``, else a sample).
"""
from __future__ import annotations

from typing import Protocol

import numpy as np

from meld_core.agent import MeldAgent
from meld_core.replay import Trial
from meld_core.rollout import run_trial
from meld_core.task_spec import TaskSpec, spec_of_env

MODES = ("random", "train", "eval")


class TrialSource(Protocol):
    spec: TaskSpec

    def run_trial(self, task_set: str, task_index: int, seed: int, mode: str, agent: MeldAgent,
                  rng: np.random.Generator) -> Trial:
        """One trial on task ``task_index`` of ``task_set`` ("train" | "held_out"), episode e reset with
        seed ``seed + e``. ``agent``: the agent that acts in this process (a source that acts elsewhere
        acts with the weights it was last shipped); ``rng``: the trainer's generator, for the uniform
        actions of "random" trials in this process."""
        ...


class SimTrialSource:
    """Trials on a simulated environment in this process (``rollout.run_trial``)."""

    def __init__(self, env, name: str, env_kwargs: dict, episodes_per_trial: int | None = None,
                 eval_deterministic: bool = True):
        self.env = env
        self.spec = spec_of_env(env, name, env_kwargs, episodes_per_trial)
        self.eval_deterministic = eval_deterministic

    @classmethod
    def from_config(cls, train_cfg) -> "SimTrialSource":
        """The environment ``train.env`` with ``train.env_kwargs``, trials of ``train.episodes_per_trial``."""
        from meld_sim_bridge.registry import make_env

        return cls(make_env(train_cfg.env, **train_cfg.env_kwargs), train_cfg.env, train_cfg.env_kwargs,
                   train_cfg.episodes_per_trial, train_cfg.eval_deterministic)

    def run_trial(self, task_set: str, task_index: int, seed: int, mode: str, agent: MeldAgent,
                  rng: np.random.Generator) -> Trial:
        if mode not in MODES:
            raise ValueError(f"unknown trial mode {mode!r}; use one of {MODES}")
        tasks = self.env.train_tasks if task_set == "train" else self.env.held_out_tasks
        return run_trial(self.env, task_index, tasks[task_index], self.spec.episodes_per_trial, seed,
                         agent=None if mode == "random" else agent, rng=rng,
                         deterministic=mode == "eval" and self.eval_deterministic)

    def close(self) -> None:
        self.env.close()
