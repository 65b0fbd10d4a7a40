"""Sawyer shelf placing: put the held mug on a shelf; the mug's mass and the target vary.

metaworld's shelf scene; the mug (a cup with a handle, from primitives) is held
in the gripper, below the hand pointing down, and is *not* gravity-compensated:
a heavier mug makes the position servos sag more (dynamics vary), while the
target spot on the shelf's middle board varies (reward varies).
Task: mug mass in [0.1, 2.0] kg, target x in [-0.06, 0.06], y in [0.76, 0.81]
(z on the board). d = ||mug centre - target||; dense reward
-(d^2 + log(d + 1e-5)); sparse reward and success: d < 5 cm.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meld_sim_bridge.envs.sawyer import SawyerEnv, build_sawyer_spec, sawyer_reward
from meld_sim_bridge.rendering import mujoco
from meld_sim_bridge.tasks import split_tasks

MASS_RANGE = (0.1, 2.0)
TARGET_LOW, TARGET_HIGH = np.array([-0.06, 0.76]), np.array([0.06, 0.81])
BOARD_TOP = 0.25                      # the middle board of metaworld's shelf at y = 0.8
MUG_RADIUS, MUG_HALF_HEIGHT = 0.03, 0.04


@dataclass(frozen=True)
class ShelfTask:
    mug_mass: float
    target_xy: tuple[float, float]

    @property
    def target(self) -> np.ndarray:
        return np.array([*self.target_xy, BOARD_TOP + MUG_HALF_HEIGHT])


class SawyerShelfEnv(SawyerEnv):
    def __init__(self, success_radius: float = 0.05, image_size: int = 64, n_train: int = 30, n_eval: int = 10,
                 task_seed: int = 0):
        def sample(rng):
            return ShelfTask(float(rng.uniform(*MASS_RANGE)), tuple(float(v) for v in rng.uniform(TARGET_LOW, TARGET_HIGH)))

        spec = build_sawyer_spec("sawyer_shelf_placing.xml")
        spec.delete(spec.body("obj"))
        for site in spec.sites:
            if site.name == "goal":
                site.rgba = [0, 0, 0, 0]
        mug = spec.body("hand").add_body(name="mug", pos=[0.06 + MUG_HALF_HEIGHT, 0, 0])
        # explicit inertia of a 1 kg solid cylinder (scaled by the task's mass at reset)
        mug.explicitinertial = True
        mug.mass = 1.0
        ixx = (3 * MUG_RADIUS**2 + (2 * MUG_HALF_HEIGHT) ** 2) / 12
        mug.inertia = [MUG_RADIUS**2 / 2, ixx, ixx]
        white = [0.92, 0.92, 0.9, 1]
        mug.add_geom(name="mug", type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[MUG_RADIUS, MUG_HALF_HEIGHT, 0],
                     quat=[np.sqrt(0.5), 0, np.sqrt(0.5), 0], rgba=white)
        mug.add_geom(name="mug_handle", type=mujoco.mjtGeom.mjGEOM_CAPSULE, fromto=[-0.02, 0, MUG_RADIUS, 0.02, 0, MUG_RADIUS + 0.015],
                     size=[0.006, 0, 0], rgba=white, contype=0, conaffinity=0)
        mug.add_site(name="mug_centre", size=[0.004] * 3)
        super().__init__(spec, split_tasks(sample, n_train, n_eval, task_seed), image_size)
        self.success_radius = success_radius
        self._mug = self.model.body("mug").id
        self._mug_site = self.model.site("mug_centre").id
        self._unit_inertia = self.model.body_inertia[self._mug] / self.model.body_mass[self._mug]

    def _reset_sim(self, rng):
        self.model.body_mass[self._mug] = self._task.mug_mass
        self.model.body_inertia[self._mug] = self._unit_inertia * self._task.mug_mass
        self._reset_arm(gripper=1.0)

    @property
    def mug_position(self) -> np.ndarray:
        return self.data.site_xpos[self._mug_site].copy()

    def _rewards(self):
        d = float(np.linalg.norm(self.mug_position - self._task.target))
        inside = d < self.success_radius
        return sawyer_reward(d), float(inside), inside
