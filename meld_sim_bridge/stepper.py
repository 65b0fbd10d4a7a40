"""What the MuJoCo bridge node does, without ROS: robot commands in, sensor readings out.

A robot command is a joint-velocity vector in physical units (the graph's
``std_msgs/Float64MultiArray`` convention); the environment's action is
``command / env.action_scale``, checked and clipped by the environment. After
each control step the bridge reports what the hardware would: one image per
camera (the observation split into its 64x64 cameras), the robot's joint
positions and velocities, and the ground truth reward sensing needs in
simulation (the environment's dense/sparse reward and success). Time is the
simulated time: ``step_index * control_period``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meld_sim_bridge.envs.base import MeldEnv


@dataclass
class SensorFrame:
    step: int                       #: control steps since the episode's reset
    sim_time_ns: int                #: simulated time of this frame
    images: list[np.ndarray]        #: one (64, 64, 3) uint8 image per camera
    joint_names: list[str]
    joint_positions: np.ndarray
    joint_velocities: np.ndarray
    dense: float
    sparse: float
    success: bool


class SimStepper:
    def __init__(self, env: MeldEnv):
        self.env = env
        self.period_ns = int(round(env.control_period * 1e9))
        self.n_cameras = len(env.cameras)
        self._clock_ns = 0          # simulated time keeps running across episodes
        self._step = 0
        self.joint_names = [env.model.joint(i).name for i in range(env.model.njnt)]

    def _frame(self, obs: np.ndarray, info: dict) -> SensorFrame:
        w = obs.shape[0]
        images = [np.ascontiguousarray(obs[:, k * w:(k + 1) * w]) for k in range(self.n_cameras)]
        d = self.env.data
        return SensorFrame(self._step, self._clock_ns, images, self.joint_names, d.qpos.copy(), d.qvel.copy(),
                           float(info["dense_reward"]), float(info["sparse_reward"]), bool(info["success"]))

    def reset(self, task, seed: int) -> SensorFrame:
        """Home the robot on ``task`` (a new episode); simulated time moves on by one period."""
        self.env.set_task(task)
        obs, info = self.env.reset(seed=seed)
        self._step = 0
        self._clock_ns += self.period_ns
        return self._frame(obs, info)

    def command_to_action(self, command) -> np.ndarray:
        c = np.asarray(command, dtype=np.float64)
        scale = self.env.action_scale
        if c.shape != scale.shape:
            raise ValueError(f"command has {c.size} values, the robot has {scale.size} joints")
        if not np.all(np.isfinite(c)):
            raise ValueError(f"command is not finite: {c.tolist()}")
        return c / scale

    def step(self, command) -> tuple[SensorFrame, bool]:
        """Apply a joint-velocity command for one control period; returns (frame, episode over)."""
        obs, _, _, truncated, info = self.env.step(self.command_to_action(command))
        self._step += 1
        self._clock_ns += self.period_ns
        return self._frame(obs, info), bool(truncated)
