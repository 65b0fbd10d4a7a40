"""Write one observation of each environment to docs/envs/<name>.png (4x, nearest neighbour).

The observation is what the model sees: 64x64, or scene and wrist cameras side
by side (64x128). Taken after a few seeded random steps on the first training task.

Usage: ./meld shell -c "python scripts/env_pictures.py"
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from meld_sim_bridge.registry import ENVIRONMENTS, make_env

OUT = Path(__file__).resolve().parent.parent / "docs" / "envs"


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name in ENVIRONMENTS:
        env = make_env(name)
        env.set_task(env.train_tasks[0])
        obs, _ = env.reset(seed=0)
        rng = np.random.default_rng(0)
        for _ in range(3):
            obs, *_ = env.step(0.3 * rng.uniform(-1, 1, env.action_space.shape))
        big = cv2.resize(obs, None, fx=4, fy=4, interpolation=cv2.INTER_NEAREST)
        cv2.imwrite(str(OUT / f"{name}.png"), big[:, :, ::-1])
        env.close()
        print(f"[env pictures] {OUT / name}.png {obs.shape}")


if __name__ == "__main__":
    main()
