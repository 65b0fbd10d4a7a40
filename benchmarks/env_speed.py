"""Environment throughput of the simulated suite on one core, and memory per instance.

For each environment: control steps per second through ``env.step`` with
random actions (physics for one control period, every camera rendered, reward
and success computed, inputs validated), next to the raw MuJoCo rate of the
same scene (``mj_step`` for the same number of substeps plus a bare
``mujoco.Renderer`` render of the same cameras), and their ratio (what the
environment code costs on top of MuJoCo). Memory per instance: MuJoCo's own
buffers (model + data, exact), and the growth of the process's resident memory
per extra instance (renderer and Python objects too; the first instance also
loads the EGL and MuJoCo libraries, so instances 2..6 are measured; the
allocator's reuse of freed memory makes this figure approximate, +-5 MB).

The process is pinned to one core (``os.sched_setaffinity``) and Mesa's
software rasteriser to one thread (``LP_NUM_THREADS=1``, set before import).
Targets (issue 3): point-2d >= 1000/s, Sawyer tasks >= 200/s, WidowX >= 300/s.

Usage: ./meld shell -c "python benchmarks/env_speed.py [--steps 400] [--env NAME ...]"
"""
from __future__ import annotations

import os

os.environ.setdefault("LP_NUM_THREADS", "1")

import argparse  # noqa: E402
import copy  # noqa: E402
import gc  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from meld_sim_bridge.registry import ENVIRONMENTS, make_env  # noqa: E402
from meld_sim_bridge.rendering import fast_scene_flags, fast_visual_settings, mujoco  # noqa: E402

TARGETS = {"point2d": 1000, "point2d-2goal": 1000, "sawyer-reacher": 200, "sawyer-peg": 200,
           "sawyer-shelf": 200, "sawyer-button": 200, "widowx-cable": 300}


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _cameras(env) -> list[int]:
    return list(getattr(env, "_cams", None) or [env._camera])


def env_rate(env, steps: int) -> float:
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    actions = rng.uniform(-1, 1, (steps, env.action_space.shape[0]))
    t0 = time.perf_counter()
    for k in range(steps):
        _, _, _, truncated, _ = env.step(actions[k])
        if truncated:
            env.reset(seed=k)
    return steps / (time.perf_counter() - t0)


def raw_rate(env, steps: int) -> float:
    """mj_step for one control period plus a bare render of each camera: same model, same
    start state (the arm at home, in view of the cameras), controls held."""
    env.reset(seed=0)
    model, data = env.model, copy.copy(env.data)
    h, w = env.observation_space.shape[0], env.observation_space.shape[0]
    fast_visual_settings(model, h, w)
    renderer = mujoco.Renderer(model, height=h, width=w)
    fast_scene_flags(renderer.scene)                   # as CameraRenderer
    cams = _cameras(env)
    t0 = time.perf_counter()
    for _ in range(steps):
        mujoco.mj_step(model, data, nstep=env.frame_skip)
        for c in cams:
            renderer.update_scene(data, camera=c)
            renderer.render()
    rate = steps / (time.perf_counter() - t0)
    renderer.close()
    return rate


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--env", nargs="*", default=[n for n in ENVIRONMENTS if n != "point2d-2goal"])
    args = p.parse_args()
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    print(f"{'environment':15s} {'obs':>9s} {'env steps/s':>12s} {'raw MuJoCo/s':>13s} {'ratio':>6s} "
          f"{'MuJoCo MB':>10s} {'RSS MB/inst':>12s} {'target':>7s}")
    for name in args.env:
        first = make_env(name)
        env_rate(first, 20)                       # warm-up: caches, renderer
        gc.collect()
        base = _rss_mb()
        extra = [make_env(name) for _ in range(5)]
        for e in extra:
            e.reset(seed=0)
        gc.collect()
        per_instance = (_rss_mb() - base) / 5
        for e in extra:
            e.close()
        rate = max(env_rate(first, args.steps) for _ in range(2))
        raw = max(raw_rate(first, args.steps) for _ in range(2))
        target = TARGETS.get(name)
        verdict = "" if target is None else (f">= {target}" if rate >= target else f"< {target}!")
        shape = "x".join(map(str, first.observation_space.shape[:2]))
        mj_mb = (first.model.nbuffer + first.data.nbuffer) / 2**20
        print(f"{name:15s} {shape:>9s} {rate:12.0f} {raw:13.0f} {rate / raw:6.2f} {mj_mb:10.1f} {per_instance:12.1f} {verdict:>7s}",
              flush=True)
        first.close()


if __name__ == "__main__":
    main()
