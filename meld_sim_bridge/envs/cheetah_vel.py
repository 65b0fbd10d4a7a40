"""cheetah-vel: gymnasium's half-cheetah asset; each task is a target velocity.

Task: target forward velocity v* ~ U[0, 3] m/s (the authors' range), or a
sequence of targets that switch at equal intervals within an episode
(``velocity_changes`` > 1), so the belief must track a task that changes.

Action: 6 joint torques in [-1, 1] (the asset's ctrlrange); 10 physics steps
of 0.01 s per control step (10 Hz); 50-step episodes; observation: the
asset's ``track`` camera (follows the centre of mass), 64x64.
Dense reward  r = -|v_x - v*| - c ||a||^2  (c = 0.01);
sparse reward and success: 1[|v_x - v*| < 0.2].
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import gymnasium
import numpy as np

from meld_sim_bridge.envs.base import MeldEnv
from meld_sim_bridge.rendering import CameraRenderer, mujoco
from meld_sim_bridge.tasks import split_tasks

ASSET = Path(gymnasium.__file__).parent / "envs" / "mujoco" / "assets" / "half_cheetah.xml"


def load_half_cheetah() -> "mujoco.MjModel":
    """The asset compiled without its deprecated ``<compiler settotalmass=...>`` (MuJoCo warns that it
    goes away): the attribute is taken out of the XML and the masses are scaled to the same total
    on the compiled model (``mj_setTotalmass``, then ``mj_setConst``), which gives the same masses,
    inertias and constants as the attribute did."""
    text = ASSET.read_text()
    found = re.search(r'\s+settotalmass="([^"]+)"', text)
    model = mujoco.MjModel.from_xml_string(text.replace(found.group(0), "") if found else text)
    if found:
        mujoco.mj_setTotalmass(model, float(found.group(1)))
        mujoco.mj_setConst(model, mujoco.MjData(model))
    return model


@dataclass(frozen=True)
class CheetahVelTask:
    target_velocities: tuple[float, ...]  #: one per segment of the episode

    def target_at(self, step: int, episode_length: int) -> float:
        n = len(self.target_velocities)
        return self.target_velocities[min(step * n // episode_length, n - 1)]


class CheetahVelEnv(MeldEnv[CheetahVelTask]):
    cameras = ("track",)
    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}      # 10 physics steps of 0.01 s
    episode_length = 50
    episodes_per_trial = 1
    frame_skip = 10

    def __init__(self, velocity_range: tuple[float, float] = (0.0, 3.0), velocity_changes: int = 1,
                 success_tolerance: float = 0.2, ctrl_cost: float = 0.01, image_size: int = 64,
                 n_train: int = 30, n_eval: int = 10, task_seed: int = 0):
        if velocity_changes < 1:
            raise ValueError(f"velocity_changes must be >= 1, got {velocity_changes}")
        lo, hi = velocity_range

        def sample(rng):
            return CheetahVelTask(tuple(float(v) for v in rng.uniform(lo, hi, velocity_changes)))

        super().__init__(split_tasks(sample, n_train, n_eval, task_seed), image_size, 6)
        if not ASSET.exists():
            raise FileNotFoundError(f"half_cheetah.xml not found at {ASSET} (is gymnasium installed?)")
        self.model = load_half_cheetah()
        self.data = mujoco.MjData(self.model)
        self.success_tolerance, self.ctrl_cost = success_tolerance, ctrl_cost
        self._renderer = CameraRenderer(self.model, image_size, image_size)
        self._camera = self._renderer.camera_id(self.cameras[0])
        self._velocity = 0.0
        self._last_action = np.zeros(6)

    @property
    def target_velocity(self) -> float:
        return self._task.target_at(max(self._t - 1, 0), self.episode_length)

    @property
    def velocity(self) -> float:
        return self._velocity

    def _reset_sim(self, rng):
        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[:] += rng.uniform(-0.1, 0.1, self.model.nq)
        self.data.qvel[:] += 0.1 * rng.standard_normal(self.model.nv)
        mujoco.mj_forward(self.model, self.data)
        self._velocity = 0.0
        self._last_action = np.zeros(6)

    def _apply_action(self, action):
        x0 = float(self.data.qpos[0])
        self.data.ctrl[:] = action
        mujoco.mj_step(self.model, self.data, nstep=self.frame_skip)
        self._velocity = (float(self.data.qpos[0]) - x0) / (self.frame_skip * self.model.opt.timestep)
        self._last_action = action

    def _rewards(self):
        err = abs(self._velocity - self.target_velocity)
        success = self._t > 0 and err < self.success_tolerance
        dense = -err - self.ctrl_cost * float(np.sum(self._last_action ** 2))
        return dense, float(success), success

    def _observe(self):
        return self._renderer.render(self.data, self._camera)

    def close(self):
        self._renderer.close()
