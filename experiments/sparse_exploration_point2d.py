"""Exploration data for the sparse scheme's stage 2: stage 1's agent sent to a decoy goal first.

Stage 1's trials (dense reward) go straight to the goal, so stage 2's model
learns "no reward here, so the goal is elsewhere" only from its own agent's
trials. This experiment adds trials in which stage 1's agent, for the first k
frames of episode 1 (k uniform in 1..episode length), is fed the rewards a
decoy training task would give (``MeldEnv.rewards_under``), and the true
rewards after: acting as if the task were the decoy, as posterior sampling
would, it goes to the decoy's goal, meets the true reward there, and turns to
the true goal. The trials record the true task's rewards.

It writes a copy of a stage-1 run directory whose replay holds stage 1's
trials and the decoy trials; stage 2 starts from it as from any run
(``train.init_replay_from``), e.g. with the learning benchmark:

    ./meld shell -c "python experiments/sparse_exploration_point2d.py runs/learning/point2d_2goal/meld-s0 \
        runs/learning/point2d_2goal/meld-explore-s0 --trials 200"
    ./meld shell -c "python benchmarks/learning.py ... --variant \
        sparse-belief-explore=after:meld-explore,model.reward_input=sparse,model.reward_target=dense,sac.critic_reward=dense,sac.policy_input=belief"

Measured (benchmarks/results/point2d_2goal_sparse_explore.json, 3 seeds, 10
minutes of stage 2, with the decoy trials made inside stage 2's budget by an
earlier form of this code, commit 206020f): 75% / 74% held-out success against
81% / 78% without them, returns -7.9 / -8.3 against -7.5 / -7.5: no gain, so
it stays out of the product.
"""
from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from meld_core.agent import select_reward
from meld_core.checkpoint import CHECKPOINT_FILE, load_agent, load_checkpoint, replay_path_of
from meld_core.replay import MultiTaskReplay, Trial
from meld_sim_bridge.registry import make_env


def decoy_trial(env, agent, task_index: int, task, decoy, decoy_frames: int, episodes: int, seed: int) -> Trial:
    """One trial of ``agent`` on ``task`` whose belief sees ``decoy``'s rewards for frames 1..decoy_frames
    and the true ones after; the trial records the true rewards (layout as in meld_core.rollout)."""
    env.set_task(task)
    E = env.episode_length
    L = episodes * E
    obs, _ = env.reset(seed=seed)
    images = np.empty((L + 1, *obs.shape), np.uint8)
    actions = np.empty((L, env.action_space.shape[0]), np.float32)
    dense, sparse = np.zeros(L + 1, np.float32), np.zeros(L + 1, np.float32)
    success = np.zeros(L + 1, bool)
    images[0] = obs
    agent.reset()
    agent.update(obs, 0.0, None)
    for k in range(L):
        a = np.clip(agent.act(False), -1.0, 1.0)
        obs, _, _, _, info = env.step(a)
        if (k + 1) % E == 0 and k + 1 < L:
            obs, _ = env.reset(seed=seed + (k + 1) // E)
        images[k + 1], actions[k] = obs, a
        dense[k + 1], sparse[k + 1], success[k + 1] = info["dense_reward"], info["sparse_reward"], info["success"]
        if k + 1 < L:
            shown = env.rewards_under(decoy)[:2] if k + 1 <= decoy_frames else (dense[k + 1], sparse[k + 1])
            agent.update(obs, select_reward(agent.reward_input, *shown), a)
    return Trial(task_index, images, actions, dense, sparse, success)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("stage1", help="a finished stage-1 run directory")
    p.add_argument("out", help="the copy with the decoy trials added (a new directory)")
    p.add_argument("--trials", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    stage1, out = Path(args.stage1), Path(args.out)
    if out.exists():
        raise SystemExit(f"{out} exists; choose a new directory")
    started = time.monotonic()
    agent, spec, _ = load_agent(stage1)
    replay = MultiTaskReplay.load(replay_path_of(stage1))
    env = make_env(spec.env, **spec.env_kwargs)
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    tasks, E = env.train_tasks, spec.episode_length
    for _ in range(args.trials):
        ti, decoy = (int(i) for i in rng.integers(len(tasks), size=2))
        frames, seed = int(rng.integers(1, E + 1)), int(rng.integers(2**31 - 1))
        replay.add(decoy_trial(env, agent, ti, tasks[ti], tasks[decoy], frames, spec.episodes_per_trial, seed))
    env.close()
    out.mkdir(parents=True)
    shutil.copy(stage1 / CHECKPOINT_FILE, out / CHECKPOINT_FILE)
    stamp = str(load_checkpoint(out / CHECKPOINT_FILE)["stamp"])
    replay.save(replay_path_of(out), stamp)
    print(f"{out}: {replay.num_trials()} trials ({args.trials} decoy trials added in "
          f"{time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
