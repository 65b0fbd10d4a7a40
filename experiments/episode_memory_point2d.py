"""Does the belief remember the goal across the episode boundary? (point-2d, two goals, sparse scheme)

For held-out trials of a trained run (the agent acting with its mean action,
its belief fed the reward it was trained on), the dense reward decoded from
the belief, E[r | z_t] under p(r_t | z_t), is compared with the dense reward
at the robot's position for the true goal and for the other goal, over the
first 5 frames of episode 2 of the trials that reached the goal in episode 1.
A belief that kept "the goal is there" decodes close to the true goal's
reward and far from the other's; one that forgot decodes both alike. The
per-episode dense returns show whether the agent used it (episode 2 straight
to the goal: a higher return than episode 1).

Usage: ./meld shell -c "python experiments/episode_memory_point2d.py RUN_DIR [RUN_DIR ...]"
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from meld_core.agent import select_reward
from meld_core.checkpoint import load_agent
from meld_core.trial_source import SimTrialSource

FRAMES = 5


def probe(run_dir: str, trials_per_task: int) -> str:
    agent, spec, cfg = load_agent(run_dir)
    source = SimTrialSource.from_config(cfg.train)
    env, E = source.env, spec.episode_length
    torch.manual_seed(0)
    rows = []
    for ti, task in enumerate(env.held_out_tasks):
        for j in range(trials_per_task):
            env.set_task(task)
            obs, _ = env.reset(seed=5000 + 100 * ti + j)
            agent.reset()
            decoded, positions, dense = [agent.update(obs, 0.0, None).reward_mean], [env.position], []
            for k in range(2 * E - 1):
                a = agent.act(True)
                obs, _, _, _, info = env.step(a)
                if (k + 1) % E == 0:
                    obs, _ = env.reset(seed=5000 + 100 * ti + j + 1)
                decoded.append(agent.update(obs, select_reward(agent.reward_input, info["dense_reward"],
                                                               info["sparse_reward"]), a).reward_mean)
                positions.append(env.position)
                dense.append(info["dense_reward"])
            goal = task.goal(env.goal_distance)
            other = np.array([-goal[0], goal[1]])                 # the two goals mirror each other
            window = slice(E, E + FRAMES)
            d = np.array(decoded[window])
            near = np.abs(d - [-np.linalg.norm(p - goal) for p in positions[window]]).mean()
            far = np.abs(d - [-np.linalg.norm(p - other) for p in positions[window]]).mean()
            found = any(np.linalg.norm(p - goal) < env.goal_radius for p in positions[1:E])
            rows.append((found, near, far, sum(dense[:E - 1]), sum(dense[E:])))
    source.close()
    r = np.array(rows, float)
    f = r[:, 0] > 0
    return (f"{run_dir}: {len(r)} trials, goal reached in episode 1 in {f.mean():.0%}; on those, the decoded reward "
            f"over episode 2's first {FRAMES} frames is off by {r[f, 1].mean():.2f} from the true goal's and "
            f"{r[f, 2].mean():.2f} from the other goal's; dense return per episode {r[:, 3].mean():.2f} / {r[:, 4].mean():.2f}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+")
    p.add_argument("--trials-per-task", type=int, default=3)
    args = p.parse_args()
    for run in args.runs:
        print(probe(run, args.trials_per_task), flush=True)


if __name__ == "__main__":
    main()
