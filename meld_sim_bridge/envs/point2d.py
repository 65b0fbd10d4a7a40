"""point-2d navigation: a point robot seen from above in a 64x64 image.

Task: a goal g on the upper semicircle of radius R around the start,
g = R (cos th, sin th), th in [0, pi] (``point2d``), or near one of two fixed
goals at th = pi/4, 3pi/4 with a small per-task jitter (``point2d-2goal``; the
goals alternate, so that the training and the held-out tasks each hold both
equally often: a task-blind policy that commits to one goal succeeds on half
of the held-out tasks, one that hedges between them on none).
The goal is not drawn: it must be inferred from rewards.

Action: 2-D velocity command in [-1, 1]^2, scaled to ``max_speed`` (2 m/s,
0.2 m per 0.1 s control step); MuJoCo velocity actuators track it on two slide
joints for 10 physics steps. Episodes of 15 steps, trials of 2 episodes.
Dense reward  r = -||p - g||;  sparse reward 1[||p - g|| < goal_radius];
success = inside the goal radius.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from meld_sim_bridge.envs.base import MeldEnv
from meld_sim_bridge.rendering import CameraRenderer, mujoco
from meld_sim_bridge.tasks import split_tasks

_XML = """
<mujoco model="point2d">
  <option timestep="0.01" integrator="implicitfast" gravity="0 0 0"/>
  <visual><headlight ambient="0.5 0.5 0.5" diffuse="0.5 0.5 0.5" specular="0 0 0"/></visual>
  <worldbody>
    <geom name="floor" type="plane" size="2 2 0.1" pos="0 0.5 0" rgba="0.85 0.85 0.85 1" contype="0" conaffinity="0"/>
    <geom name="start" type="cylinder" size="0.05 0.001" pos="0 0 0.001" rgba="0.4 0.4 0.4 1" contype="0" conaffinity="0"/>
    <body name="agent" pos="0 0 0.08">
      <joint name="x" type="slide" axis="1 0 0" range="-{lim} {lim}" limited="true" damping="0"/>
      <joint name="y" type="slide" axis="0 1 0" range="-0.6 1.6" limited="true" damping="0"/>
      <geom name="agent" type="sphere" size="0.25" rgba="0.85 0.15 0.1 1" mass="1" contype="0" conaffinity="0"/>
    </body>
    <camera name="top" pos="0 0.5 3" xyaxes="1 0 0 0 1 0" projection="orthographic" fovy="2.9"/>
  </worldbody>
  <actuator>
    <velocity name="vx" joint="x" kv="40" ctrlrange="-{vmax} {vmax}" ctrllimited="true"/>
    <velocity name="vy" joint="y" kv="40" ctrlrange="-{vmax} {vmax}" ctrllimited="true"/>
  </actuator>
</mujoco>
"""


@dataclass(frozen=True)
class Point2DTask:
    goal_angle: float  #: radians, in [0, pi]

    def goal(self, radius: float) -> np.ndarray:
        return radius * np.array([np.cos(self.goal_angle), np.sin(self.goal_angle)])


class Point2DEnv(MeldEnv[Point2DTask]):
    cameras = ("top",)
    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}      # 10 physics steps of 0.01 s
    episodes_per_trial = 2
    frame_skip = 10

    def __init__(self, variant: str = "semicircle", goal_distance: float = 1.0,
                 goal_radius: float = 0.2, max_speed: float = 2.0, image_size: int = 64,
                 episode_length: int = 15, n_train: int = 30, n_eval: int = 10, task_seed: int = 0):
        if variant == "semicircle":
            def sample(rng):
                return Point2DTask(float(rng.uniform(0.0, np.pi)))
        elif variant == "two_goal":
            sides = itertools.cycle((0.25, 0.75))

            def sample(rng):      # the two goals take turns: each set holds both equally often
                return Point2DTask(float(next(sides) * np.pi + rng.uniform(-0.05, 0.05)))
        else:
            raise ValueError(f"unknown point2d variant {variant!r}; use 'semicircle' or 'two_goal'")
        super().__init__(split_tasks(sample, n_train, n_eval, task_seed), image_size, 2)
        self.goal_distance, self.goal_radius, self.max_speed = goal_distance, goal_radius, max_speed
        self.episode_length = episode_length
        self.model = mujoco.MjModel.from_xml_string(_XML.format(lim=1.4, vmax=max_speed))
        self.data = mujoco.MjData(self.model)
        self._renderer = CameraRenderer(self.model, image_size, image_size)
        self._camera = self._renderer.camera_id(self.cameras[0])

    @property
    def action_scale(self) -> np.ndarray:
        return np.full(2, self.max_speed)        # m/s

    @property
    def position(self) -> np.ndarray:
        return self.data.qpos[:2].copy()

    def _reset_sim(self, rng):
        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[:2] = rng.uniform(-0.05, 0.05, size=2)
        mujoco.mj_forward(self.model, self.data)

    def _apply_action(self, action):
        self.data.ctrl[:] = action * self.max_speed
        mujoco.mj_step(self.model, self.data, nstep=self.frame_skip)

    def _rewards(self):
        d = float(np.linalg.norm(self.position - self._task.goal(self.goal_distance)))
        inside = d < self.goal_radius
        return -d, float(inside), inside

    def _observe(self):
        return self._renderer.render(self.data, self._camera)

    def close(self):
        self._renderer.close()
