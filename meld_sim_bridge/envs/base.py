"""The contract every environment of the suite follows (Gymnasium API).

- observation: uint8 image (H, W, 3): the images of the environment's ``cameras``
  side by side, each ``image_size`` square (one camera 64x64, two 64x128);
- action: float vector in [-1, 1]^n, validated (length, finite) and clipped,
  scaled to the robot's units inside the environment;
- reward: the dense (shaped) reward; ``info`` holds ``dense_reward``,
  ``sparse_reward`` (task completion signal) and ``success``;
- an episode is truncated after ``episode_length`` control steps; a *trial*
  is ``episodes_per_trial`` episodes on the same task (run by meld_core);
- the task is set with ``set_task`` from ``train_tasks`` / ``held_out_tasks``,
  two fixed disjoint sets derived from ``task_seed``.
"""
from __future__ import annotations

from typing import Any, Generic, Sequence, TypeVar

import gymnasium as gym
import numpy as np

from meld_sim_bridge.tasks import TaskSplit

TaskT = TypeVar("TaskT")


def check_action(action: Any, dim: int) -> np.ndarray:
    """Return ``action`` as a finite float64 vector of length ``dim`` clipped to [-1, 1].

    Raises ValueError with a clear message for a wrong length or NaN/inf.
    """
    a = np.asarray(action, dtype=np.float64)
    if a.shape != (dim,):
        raise ValueError(f"action must be a vector of length {dim}, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"action contains NaN or inf: {a.tolist()}")
    return np.clip(a, -1.0, 1.0)


class MeldEnv(gym.Env, Generic[TaskT]):
    #: Gymnasium's metadata; each environment sets ``render_fps`` to its control rate, 1 / control_period
    metadata = {"render_modes": ["rgb_array"], "render_fps": None}
    #: the registry name it was made under (set by ``make_env``)
    name: str = ""

    #: the MuJoCo cameras whose images make the observation, left to right (each environment names its own)
    cameras: tuple[str, ...] = ()
    #: control steps per episode, episodes per trial (overridden per environment)
    episode_length: int = 20
    episodes_per_trial: int = 1

    def __init__(self, tasks: TaskSplit[TaskT], image_size: int, action_dim: int):
        if not self.cameras:
            raise TypeError(f"{type(self).__name__} names no cameras")
        self._tasks = tasks
        self.observation_space = gym.spaces.Box(0, 255, (image_size, image_size * len(self.cameras), 3), np.uint8)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (action_dim,), np.float32)
        self._task: TaskT = tasks.train[0]
        self._t = 0
        self.render_mode = "rgb_array"

    # ---- tasks ---------------------------------------------------------------
    @property
    def train_tasks(self) -> Sequence[TaskT]:
        return self._tasks.train

    @property
    def held_out_tasks(self) -> Sequence[TaskT]:
        return self._tasks.held_out

    @property
    def task(self) -> TaskT:
        return self._task

    @property
    def control_period(self) -> float:
        """Seconds of simulated time per control step."""
        return float(self.frame_skip * self.model.opt.timestep)

    @property
    def action_scale(self) -> np.ndarray:
        """Physical units per unit of action (rad/s, m/s, or N m): what a robot command
        of 1.0 in the action's direction means. The graph's velocity commands are
        ``action * action_scale``; the MuJoCo bridge divides them back."""
        return np.ones(self.action_space.shape[0])

    def set_task(self, task: TaskT) -> None:
        """Switch to ``task``; takes effect at the next ``reset``."""
        self._task = task

    def rewards_under(self, task: TaskT) -> tuple[float, float, bool]:
        """(dense reward, sparse reward, success) that ``task`` would give in the current state:
        what another task would have paid for the same step (the state does not depend on the
        task; only the rewards do). The current task is left as it is."""
        current = self._task
        self._task = task
        try:
            return self._rewards()
        finally:
            self._task = current

    # ---- Gymnasium API -------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._t = 0
        self._reset_sim(self.np_random)
        return self._observe(), self._info(*self._rewards())

    def step(self, action):
        a = check_action(action, self.action_space.shape[0])
        self._apply_action(a)
        self._t += 1
        dense, sparse, success = self._rewards()
        truncated = self._t >= self.episode_length
        return self._observe(), dense, False, truncated, self._info(dense, sparse, success)

    def render(self):
        return self._observe()

    def _info(self, dense: float, sparse: float, success: bool) -> dict:
        return {"dense_reward": float(dense), "sparse_reward": float(sparse),
                "success": bool(success), "step": self._t}

    # ---- per environment -----------------------------------------------------------
    def _reset_sim(self, rng: np.random.Generator) -> None:
        raise NotImplementedError

    def _apply_action(self, action: np.ndarray) -> None:
        raise NotImplementedError

    def _rewards(self) -> tuple[float, float, bool]:
        """(dense reward, sparse reward, success) of the current state."""
        raise NotImplementedError

    def _observe(self) -> np.ndarray:
        raise NotImplementedError
