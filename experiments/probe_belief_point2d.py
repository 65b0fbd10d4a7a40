"""How much of the state and the task a trained point-2d belief holds.

Fits ridge-regularised linear probes from the posterior means (z1, z2) to the
point's position (taken from the red pixels of each frame) and to the goal,
on 3/4 of a sample of replayed trials, and prints R^2 on the other 1/4: the
position over all steps, the goal at several steps of the trial. A belief
that infers the task shows goal R^2 rising with the step; one that forgets it
shows R^2 falling.

Usage: ./meld shell -c "python experiments/probe_belief_point2d.py runs/x [--trials 200]"
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from meld_core.checkpoint import load_checkpoint
from meld_core.config import config_from_dict
from meld_core.meta_train import MetaTrainer


def ridge_r2(x: np.ndarray, y: np.ndarray, reg: float = 1e-2) -> np.ndarray:
    n = len(x)
    train, test = slice(0, n * 3 // 4), slice(n * 3 // 4, n)
    a = np.c_[x, np.ones(n)]
    w = np.linalg.solve(a[train].T @ a[train] + reg * np.eye(a.shape[1]), a[train].T @ y[train])
    err = ((a[test] @ w - y[test]) ** 2).sum(0)
    return 1.0 - err / ((y[test] - y[test].mean(0)) ** 2).sum(0)


def red_centroid(images: np.ndarray) -> np.ndarray:
    """(..., H, W, 3) uint8 -> (..., 2) pixel centroid of the red agent."""
    red = (images[..., 0] > 150) & (images[..., 1] < 100)
    ys, xs = np.meshgrid(np.arange(images.shape[-3]), np.arange(images.shape[-2]), indexing="ij")
    count = np.maximum(red.sum((-1, -2)), 1)
    return np.stack([(red * xs).sum((-1, -2)) / count, (red * ys).sum((-1, -2)) / count], -1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("run_dir")
    p.add_argument("--trials", type=int, default=200)
    args = p.parse_args()
    cfg = config_from_dict(load_checkpoint(f"{args.run_dir}/checkpoint.pt")["config"])
    trainer = MetaTrainer(cfg, args.run_dir, resume=True)      # read only: run() is never called
    if not trainer.cfg.train.env.startswith("point2d"):
        raise SystemExit("this probe reads the point-2d agent's pixels; run it on a point2d run")
    b = trainer.replay.sample(args.trials, np.random.default_rng(0))
    t = trainer.algo.tensors(b)
    with torch.no_grad():
        seq = trainer.algo.model.posterior(trainer.algo.model.features(t["images"], t["reward_in"]), t["actions"])
    x = torch.cat([seq.z1_dist.mean, seq.z2_dist.mean], -1).numpy()
    goals = np.array([trainer.source.env.train_tasks[i].goal(trainer.source.env.goal_distance) for i in b["task_index"]])
    pos = red_centroid(b["images"])
    B, T, D = x.shape
    print(f"{args.run_dir}: {B} trials of {T} frames, belief of {D} dims "
          f"({trainer.progress.env_steps} env steps, {trainer.progress.model_steps} model steps)")
    print("position R^2 (x, y), all steps:", np.round(ridge_r2(x.reshape(-1, D), pos.reshape(-1, 2)), 2))
    for k in sorted({0, 2, 5, T // 4, T // 2 - 1, T // 2, 3 * T // 4, T - 1}):
        print(f"goal R^2 (x, y) at frame {k:3d}:", np.round(ridge_r2(x[:, k], goals), 2))


if __name__ == "__main__":
    main()
