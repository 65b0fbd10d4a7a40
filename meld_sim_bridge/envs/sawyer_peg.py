"""Sawyer peg insertion: four boxes with a hole each; which is the goal and where they stand vary.

The peg is held in the gripper, pointing down. The four boxes look alike (the
goal must be inferred from rewards). Task: the goal box index and the four box
positions (slots along x at y = 0.7 with a per-task jitter of up to 3 cm).
d = distance from the peg tip to the bottom centre of the goal box's hole;
dense reward -(d^2 + log(d + 1e-5)); sparse reward and success: the tip is
inside the goal box's hole, at least ``insert_depth`` below its rim.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meld_sim_bridge.envs.primitives import add_box_fixture
from meld_sim_bridge.envs.sawyer import SawyerEnv, build_sawyer_spec, sawyer_reward
from meld_sim_bridge.rendering import mujoco
from meld_sim_bridge.tasks import split_tasks

N_BOXES = 4
SLOTS_X = np.array([-0.21, -0.07, 0.07, 0.21])
SLOT_Y = 0.7
JITTER = 0.03
BOX_HALF, HOLE_HALF, BOX_HEIGHT, HOLE_DEPTH = 0.045, 0.022, 0.07, 0.05
PEG_HALF_LENGTH, PEG_RADIUS = 0.045, 0.012


@dataclass(frozen=True)
class PegTask:
    goal_box: int
    box_xy: tuple[tuple[float, float], ...]     #: centre of each box on the table


def _add_peg_box(spec: mujoco.MjSpec, k: int) -> None:
    body = spec.worldbody.add_body(name=f"box{k}", pos=[SLOTS_X[k], SLOT_Y, 0.0])
    b, a, h, depth = BOX_HALF, HOLE_HALF, BOX_HEIGHT, HOLE_DEPTH
    walls = [([-b, -b, 0], [b, b, h - depth]),                 # floor of the hole
             ([-b, -b, h - depth], [-a, b, h]), ([a, -b, h - depth], [b, b, h]),
             ([-a, -b, h - depth], [a, -a, h]), ([-a, a, h - depth], [a, b, h])]
    add_box_fixture(spec, body, f"box{k}", walls, [0.55, 0.35, 0.2, 1])
    body.add_site(name=f"hole{k}", pos=[0, 0, h - depth], size=[0.005] * 3, rgba=[0, 0, 0, 0])


class SawyerPegEnv(SawyerEnv):
    def __init__(self, insert_depth: float = 0.03, image_size: int = 64, n_train: int = 30, n_eval: int = 10,
                 task_seed: int = 0):
        def sample(rng):
            xy = [(float(SLOTS_X[k] + rng.uniform(-JITTER, JITTER)), float(SLOT_Y + rng.uniform(-JITTER, JITTER)))
                  for k in range(N_BOXES)]
            return PegTask(int(rng.integers(N_BOXES)), tuple(xy))

        spec = build_sawyer_spec("sawyer_reach_v3.xml")
        spec.delete(spec.body("obj"))
        spec.site("goal").rgba = [0, 0, 0, 0]
        for k in range(N_BOXES):
            _add_peg_box(spec, k)
        hand = spec.body("hand")
        # the peg between the fingers, along the hand's x axis (down at the home pose)
        peg = hand.add_body(name="peg", pos=[0.05 + PEG_HALF_LENGTH, 0, 0])
        peg.add_geom(name="peg", type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[PEG_RADIUS, PEG_HALF_LENGTH, 0],
                     quat=[np.sqrt(0.5), 0, np.sqrt(0.5), 0], rgba=[0.2, 0.5, 0.9, 1], mass=0.05, condim=3)
        peg.add_site(name="peg_tip", pos=[PEG_HALF_LENGTH, 0, 0], size=[0.004] * 3)
        super().__init__(spec, split_tasks(sample, n_train, n_eval, task_seed), image_size)
        self.insert_depth = insert_depth
        self._boxes = [self.model.body(f"box{k}").id for k in range(N_BOXES)]
        self._holes = [self.model.site(f"hole{k}").id for k in range(N_BOXES)]
        self._tip = self.model.site("peg_tip").id

    def _reset_sim(self, rng):
        for k, (x, y) in enumerate(self._task.box_xy):
            self.model.body_pos[self._boxes[k]] = [x, y, 0.0]
        self._reset_arm(gripper=1.0)

    @property
    def peg_tip(self) -> np.ndarray:
        return self.data.site_xpos[self._tip].copy()

    def hole_bottom(self, k: int) -> np.ndarray:
        return self.data.site_xpos[self._holes[k]].copy()

    def tip_in_hole(self, k: int) -> bool:
        rel = self.peg_tip - self.hole_bottom(k)
        below_rim = HOLE_DEPTH - rel[2]
        return bool(np.all(np.abs(rel[:2]) < HOLE_HALF) and below_rim >= self.insert_depth)

    def _rewards(self):
        d = float(np.linalg.norm(self.peg_tip - self.hole_bottom(self._task.goal_box)))
        success = self.tip_in_hole(self._task.goal_box)
        return sawyer_reward(d), float(success), success
