"""Run one trial (``episodes`` episodes on one task) and record it as a Trial.

Frame layout (see replay.py): x_0 is the reset frame of episode 0; after the
last action of an episode that is not the trial's last, the next frame is the
reset frame of the next episode, paired with the reward of that last action.
With an agent, the belief is updated on every frame but the final one and
the latent carries over between episodes; without one, actions are uniform
random in [-1, 1] (model pre-training data). ``on_step(env)``, if given, is
called after every step, before an episode's reset: where a diagnostic reads
what the Trial does not keep (a velocity, a position).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from meld_core.agent import MeldAgent, select_reward
from meld_core.replay import Trial
from meld_sim_bridge.envs.base import MeldEnv


def run_trial(env: MeldEnv, task_index: int, task, episodes: int, seed: int,
              agent: MeldAgent | None = None, rng: np.random.Generator | None = None,
              deterministic: bool = False, on_step: Callable[[MeldEnv], None] | None = None) -> Trial:
    if agent is None and rng is None:
        raise ValueError("run_trial needs an agent or a random generator for random actions")
    env.set_task(task)
    E = env.episode_length
    L = episodes * E
    A = env.action_space.shape[0]
    obs, _ = env.reset(seed=seed)
    images = np.empty((L + 1, *obs.shape), np.uint8)
    actions = np.empty((L, A), np.float32)
    dense, sparse = np.zeros(L + 1, np.float32), np.zeros(L + 1, np.float32)
    success = np.zeros(L + 1, bool)
    images[0] = obs
    if agent is not None:
        agent.reset()
        agent.update(obs, 0.0, None)
    for k in range(L):
        if agent is not None:
            a = agent.act(deterministic)
        else:
            a = rng.uniform(-1.0, 1.0, A).astype(np.float32)
        a = np.clip(a, -1.0, 1.0)
        obs, _, _, _, info = env.step(a)
        if on_step is not None:
            on_step(env)
        episode_over = (k + 1) % E == 0
        if episode_over and k + 1 < L:
            obs, _ = env.reset(seed=seed + (k + 1) // E)
        images[k + 1], actions[k] = obs, a
        dense[k + 1], sparse[k + 1], success[k + 1] = info["dense_reward"], info["sparse_reward"], info["success"]
        if agent is not None and k + 1 < L:
            agent.update(obs, select_reward(agent.reward_input, dense[k + 1], sparse[k + 1]), a)
    return Trial(task_index, images, actions, dense, sparse, success)
