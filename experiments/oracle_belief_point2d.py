"""Where is MELD's bottleneck on point-2d: the belief or the actor-critic?

Runs our SAC (meld_core/sac.py, the ``cpu`` profile's SAC settings and
collection schedule) on point-2d with a hand-made *ideal* belief instead of
the learned model's: the robot's true position plus the exact Bayesian
posterior over the goal angle given the dense rewards seen so far in the
trial (a grid of 181 angles on the semicircle, reward noise 0.02),

    p(th | r_1:t, p_1:t)  ~  prod_k N(r_k; -||p_k - g(th)||, 0.02^2),

summarised by its mean and std of g(th). Two weaker beliefs for comparison:
``reactive``, the current and the previous (position, dense reward) only, a
belief with one step of memory and no inference (enough for hill-climbing
on the reward, not for triangulating the goal); and ``position``, the
position only (it cannot know the goal: near chance). Same environment,
tasks, episode structure and success metric as the learning benchmark; no
images are used.

If the ideal-belief run reaches >= 80% held-out success at the end of episode
1 within a few thousand environment steps, the actor-critic is not what limits
MELD in the 30-minute budget: learning the goal inference in the latent model is.

Usage: ./meld shell -c "python experiments/oracle_belief_point2d.py [--max-env-steps 12000] [--beliefs ideal reactive position]"
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from meld_core.config import load_config
from meld_core.sac import SAC
from meld_sim_bridge.registry import make_env

_GRID = np.linspace(0.0, np.pi, 181)
_REWARD_NOISE = 0.02


class GoalFilter:
    """Exact grid posterior over the goal angle from (position, dense reward) pairs."""

    def __init__(self, goal_distance: float):
        self.goals = goal_distance * np.stack([np.cos(_GRID), np.sin(_GRID)], 1)
        self.log_w = np.zeros(len(_GRID))

    def update(self, position: np.ndarray, reward: float) -> None:
        pred = -np.linalg.norm(position - self.goals, axis=1)
        self.log_w += -0.5 * ((pred - reward) / _REWARD_NOISE) ** 2

    def summary(self) -> np.ndarray:
        w = np.exp(self.log_w - self.log_w.max())
        w /= w.sum()
        mean = w @ self.goals
        std = np.sqrt(np.maximum(w @ self.goals**2 - mean**2, 0.0))
        return np.concatenate([mean, std])


BELIEFS = ("ideal", "reactive", "position")


def run_trial(env, task, seed: int, policy, kind: str, rng: np.random.Generator):
    """One trial; returns the inputs x_0..x_L, actions, rewards r_1..r_L, success at episode ends."""
    env.set_task(task)
    goal_filter = GoalFilter(env.goal_distance)
    xs, actions, rewards, successes = [], [], [], []
    L = env.episode_length
    reward, previous = 0.0, None
    for e in range(env.episodes_per_trial):
        env.reset(seed=seed + e)
        success = False
        for t in range(L + 1):
            if t > 0:   # the filter keeps its posterior across the episode boundary, like the latent
                goal_filter.update(env.position, reward)
            if kind == "reactive":            # (position, reward) now and one step before (the same at t = 0)
                now = np.r_[env.position, reward if t > 0 else 0.0]
                x = np.concatenate([now, previous if t > 0 else now])
                previous = now
            else:
                x = np.concatenate([env.position, goal_filter.summary() if kind == "ideal" else np.zeros(4)])
            if t == L:
                successes.append(success)
                if e == env.episodes_per_trial - 1:
                    xs.append(x)
                break
            xs.append(x)
            if policy is None:
                a = rng.uniform(-1.0, 1.0, 2)
            else:
                with torch.no_grad():
                    a = policy(torch.tensor(x, dtype=torch.float32)[None])[0][0].numpy()
            _, _, _, _, info = env.step(a.astype(np.float32))
            reward, success = info["dense_reward"], info["success"]
            actions.append(a)
            rewards.append(reward)
    return np.array(xs, np.float32), np.array(actions, np.float32), np.array(rewards, np.float32), successes


def train(kind: str, max_env_steps: int, seed: int) -> list[tuple[int, float, float]]:
    cfg = load_config("cpu")
    t = cfg.train
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    env = make_env("point2d")
    sac = SAC(cfg.sac, 6, 2)
    X, A, R, X2 = [], [], [], []

    def add(trial):
        xs, acts, rews, _ = trial
        X.append(xs[:-1]); A.append(acts); R.append(rews); X2.append(xs[1:])

    def task_seed():
        return int(rng.integers(2**31 - 1))

    for _ in range(t.pretrain_trials):
        add(run_trial(env, env.train_tasks[rng.integers(len(env.train_tasks))], task_seed(), None, kind, rng))
    steps_per_trial = env.episode_length * env.episodes_per_trial
    env_steps, curve = t.pretrain_trials * steps_per_trial, []
    while env_steps < max_env_steps:
        for _ in range(t.trials_per_iteration):
            add(run_trial(env, env.train_tasks[rng.integers(len(env.train_tasks))], task_seed(), sac.actor, kind, rng))
        env_steps += t.trials_per_iteration * steps_per_trial
        x, a, r, x2 = (torch.from_numpy(np.concatenate(v)) for v in (X, A, R, X2))
        for _ in range(int(t.ac_steps_per_env_step * t.trials_per_iteration * steps_per_trial)):
            i = torch.randint(0, len(x), (cfg.sac.batch_size,))
            sac.update(x[i], a[i], r[i], x2[i], torch.zeros(len(i)))
        if len(curve) == 0 or env_steps - curve[-1][0] >= 1200 or env_steps >= max_env_steps:
            succ = np.array([run_trial(env, task, 3_000_000 + 10 * k + j, lambda z: sac.actor(z, deterministic=True),
                                       kind, rng)[3] for k, task in enumerate(env.held_out_tasks) for j in range(2)])
            curve.append((env_steps, float(succ[:, 0].mean()), float(succ[:, -1].mean())))
            print(f"  {kind:8s} belief: {env_steps:6d} env steps, "
                  f"held-out success {curve[-1][1]:.0%} / {curve[-1][2]:.0%} (episode 1 / 2)", flush=True)
    return curve


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--max-env-steps", type=int, default=6000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--beliefs", nargs="+", choices=BELIEFS, default=["ideal", "position"])
    args = p.parse_args()
    torch.set_num_threads(1)
    results = {}
    for kind in args.beliefs:
        t0 = time.monotonic()
        results[kind] = (train(kind, args.max_env_steps, args.seed), time.monotonic() - t0)
    for kind, (curve, secs) in results.items():
        first = next((s for s, e1, _ in curve if e1 >= 0.8), None)
        print(f"{kind + ' belief':16s} final {curve[-1][1]:.0%} / {curve[-1][2]:.0%} "
              f"(episode 1 / 2); >= 80% in episode 1 first at {first or 'never'} env steps; {secs:.0f} s")


if __name__ == "__main__":
    main()
