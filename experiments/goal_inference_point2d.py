"""How hard is point-2d's goal inference, apart from MELD's objective?

Two figures, both from exact robot positions and dense rewards (no images,
no ELBO), on random trials of temporally persistent actions:

1. The Bayes ceiling: the exact posterior over the goal angle (a grid on
   [0, pi], reward noise ``--noise``), p(theta | r_{1:t}, p_{1:t}) ~
   prod_k N(r_k; -|p_k - g(theta)|, s^2). R^2 of its mean against the true
   goal at steps 3, 8, 14 and 29: how much of the goal the data holds.
2. What a generic recurrent filter learns with *direct supervision*: a GRU
   over (position, reward, previous action) trained with the squared error
   of the goal at every step, scored on held-out goals (R^2 at the same
   steps) as it trains, one thread. This bounds from above how fast the
   latent model, whose only pressure to carry the goal is the KL term, can
   come to hold it (docs/research_log.md, item 9).

Usage: ./meld shell -c "python experiments/goal_inference_point2d.py [--seconds 120] [--train-goals 30]"
"""
from __future__ import annotations

import argparse
import time

import mujoco
import numpy as np
import torch

from meld_sim_bridge.envs.point2d import Point2DEnv

STEPS = (3, 8, 14, 29)


def persistent_trials(env: Point2DEnv, angles: np.ndarray, n: int, rng: np.random.Generator):
    """n trials (2 episodes x 15 steps, the env's physics, no rendering) on goals cycling through
    ``angles``: (n, 31, 5) rows [x, y, dense reward, previous action], the goals (n, 2)."""
    E, L = env.episode_length, env.episodes_per_trial * env.episode_length
    rows, goals = np.zeros((n, L + 1, 5), np.float32), np.zeros((n, 2), np.float32)

    def reset():
        mujoco.mj_resetData(env.model, env.data)
        env.data.qpos[:2] = rng.uniform(-0.05, 0.05, 2)
        mujoco.mj_forward(env.model, env.data)

    for i in range(n):
        goal = env.goal_distance * np.array([np.cos(angles[i % len(angles)]), np.sin(angles[i % len(angles)])])
        goals[i] = goal
        reset()
        rows[i, 0, :2] = env.position
        heading = None
        for k in range(L):
            if k % E == 0:                               # a new direction and speed each episode
                ang = rng.uniform(0, 2 * np.pi)
                heading = np.array([np.cos(ang), np.sin(ang)]) * rng.uniform(0.3, 1.0)
            a = np.clip(heading + 0.3 * rng.normal(size=2), -1, 1)
            env._apply_action(a)
            if (k + 1) % E == 0 and k + 1 < L:
                reset()
            rows[i, k + 1] = [*env.position, -np.linalg.norm(env.position - goal), *a]
    return rows, goals


def r2(pred: np.ndarray, goals: np.ndarray) -> float:
    return float(1 - ((pred - goals) ** 2).sum() / ((goals - goals.mean(0)) ** 2).sum())


def bayes_ceiling(rows: np.ndarray, goals: np.ndarray, noise: float) -> dict[int, float]:
    theta = np.linspace(0, np.pi, 721)
    grid = np.stack([np.cos(theta), np.sin(theta)], 1)                          # (G, 2), radius 1
    dist = np.linalg.norm(rows[:, :, None, :2] - grid[None, None], axis=-1)     # (N, T, G)
    loglik = -0.5 * ((-dist - rows[:, :, None, 2]) / noise) ** 2
    loglik[:, 0] = 0.0                                                          # no reward before the first step
    out = {}
    for k in STEPS:
        lp = loglik[:, : k + 1].sum(1)
        w = np.exp(lp - lp.max(1, keepdims=True))
        w /= w.sum(1, keepdims=True)
        out[k] = r2(w @ grid, goals)
    return out


class GoalFilter(torch.nn.Module):
    """h_t = GRU(relu(W [p_t, r_t, a_{t-1}]), h_{t-1}); goal estimate = linear(h_t)."""

    def __init__(self, hidden: int):
        super().__init__()
        self.inp = torch.nn.Sequential(torch.nn.Linear(5, hidden), torch.nn.ReLU())
        self.cell = torch.nn.GRUCell(hidden, hidden)
        self.head = torch.nn.Linear(hidden, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.new_zeros(x.shape[0], self.cell.hidden_size)
        out = []
        for t in range(x.shape[1]):
            h = self.cell(self.inp(x[:, t]), h)
            out.append(h)
        return self.head(torch.stack(out, 1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=120.0, help="training time of the supervised filter")
    p.add_argument("--train-goals", type=int, default=30, help="distinct training goals (the env has 30)")
    p.add_argument("--train-trials", type=int, default=300)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--noise", type=float, default=0.02, help="reward noise of the Bayes posterior")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    env = Point2DEnv()
    train = persistent_trials(env, rng.uniform(0, np.pi, args.train_goals), args.train_trials, rng)
    test = persistent_trials(env, rng.uniform(0, np.pi, 200), 200, rng)
    ceiling = bayes_ceiling(*test, args.noise)
    print("goal R^2 on 200 held-out goals, at step:      " + "  ".join(f"{k:>5d}" for k in STEPS))
    print("Bayes posterior mean (exact positions)       " + "  ".join(f"{ceiling[k]:5.2f}" for k in STEPS))
    x, g = torch.from_numpy(train[0]), torch.from_numpy(train[1])
    xt = torch.from_numpy(test[0])
    net = GoalFilter(args.hidden)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    t0, step, report = time.monotonic(), 0, 250
    while time.monotonic() - t0 < args.seconds:
        idx = torch.randint(len(x), (8,))
        loss = (net(x[idx]) - g[idx][:, None]).pow(2).sum(-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step == report or time.monotonic() - t0 >= args.seconds:
            with torch.no_grad():
                pred = net(xt).numpy()
            scores = "  ".join(f"{r2(pred[:, k], test[1]):5.2f}" for k in STEPS)
            print(f"supervised GRU, {step:6d} steps ({time.monotonic() - t0:4.0f} s)  {scores}", flush=True)
            report *= 2


if __name__ == "__main__":
    main()
