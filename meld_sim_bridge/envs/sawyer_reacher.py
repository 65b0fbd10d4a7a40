"""Sawyer reacher: move the end-effector to a goal position that varies by task.

The goal is not drawn (it must be inferred from rewards); metaworld's reach
scene without its block. Task: goal g ~ U(box) with the box
x in [-0.2, 0.2], y in [0.6, 0.85], z in [0.05, 0.3] (metres, table frame of
metaworld). d = ||p_ee - g||; dense reward -(d^2 + log(d + 1e-5));
sparse reward and success 1[d < 0.1] (10 cm, as in the papers).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meld_sim_bridge.envs.sawyer import SawyerEnv, build_sawyer_spec, sawyer_reward
from meld_sim_bridge.tasks import split_tasks

GOAL_LOW = np.array([-0.2, 0.6, 0.05])
GOAL_HIGH = np.array([0.2, 0.85, 0.3])


@dataclass(frozen=True)
class ReacherTask:
    goal: tuple[float, float, float]


class SawyerReacherEnv(SawyerEnv):
    def __init__(self, success_radius: float = 0.1, image_size: int = 64, n_train: int = 30,
                 n_eval: int = 10, task_seed: int = 0):
        def sample(rng):
            return ReacherTask(tuple(float(v) for v in rng.uniform(GOAL_LOW, GOAL_HIGH)))

        spec = build_sawyer_spec("sawyer_reach_v3.xml")
        spec.delete(spec.body("obj"))
        spec.site("goal").rgba = [0, 0, 0, 0]
        super().__init__(spec, split_tasks(sample, n_train, n_eval, task_seed), image_size)
        self.success_radius = success_radius

    def _reset_sim(self, rng):
        self._reset_arm()

    def goal_distance(self) -> float:
        return float(np.linalg.norm(self.end_effector - np.asarray(self._task.goal)))

    def _rewards(self):
        d = self.goal_distance()
        inside = d < self.success_radius
        return sawyer_reward(d), float(inside), inside
