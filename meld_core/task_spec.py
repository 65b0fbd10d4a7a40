"""The task spec: what meta-training knows of a task distribution, and nothing of who runs it.

A spec names the environment (and its constructor arguments, so that the
same tasks can be rebuilt), counts the training and held-out tasks, and gives
the trial's shape: ``episodes_per_trial`` episodes of ``episode_length``
control steps, observations x_t of ``image_shape`` (H, W) x 3 uint8, actions
a_t in [-1, 1]^``action_dim`` scaled by ``action_scale`` to the robot's units.
It is the contract between ``meld_core`` (the model's input and output
sizes, the replay's trial length), the environments that produce trials in
this process, and the node graph (the learner reads it; the bridge owns the
environment that runs). A checkpoint and a weights file carry the spec their
networks were built for.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TaskSpec:
    env: str                                #: registry name (meld_sim_bridge.registry)
    n_train_tasks: int
    n_held_out_tasks: int
    episode_length: int                     #: control steps per episode
    episodes_per_trial: int
    image_shape: tuple[int, int]            #: (H, W) of an observation (x 3 channels, uint8)
    action_dim: int
    action_scale: tuple[float, ...]         #: physical units per unit of action, per action dimension
    env_kwargs: dict = field(default_factory=dict)

    @property
    def trial_length(self) -> int:
        """Control steps in a trial: episodes_per_trial * episode_length."""
        return self.episodes_per_trial * self.episode_length

    @property
    def reset_frames(self) -> tuple[int, ...]:
        """Frames that begin an episode after the first, paired with the previous episode's last reward."""
        return tuple(e * self.episode_length for e in range(1, self.episodes_per_trial))

    def to_dict(self) -> dict:
        return {"env": self.env, "n_train_tasks": self.n_train_tasks, "n_held_out_tasks": self.n_held_out_tasks,
                "episode_length": self.episode_length, "episodes_per_trial": self.episodes_per_trial,
                "image_shape": list(self.image_shape), "action_dim": self.action_dim,
                "action_scale": [float(v) for v in self.action_scale], "env_kwargs": dict(self.env_kwargs)}

    @classmethod
    def from_dict(cls, data: dict) -> "TaskSpec":
        return cls(env=str(data["env"]), n_train_tasks=int(data["n_train_tasks"]),
                   n_held_out_tasks=int(data["n_held_out_tasks"]), episode_length=int(data["episode_length"]),
                   episodes_per_trial=int(data["episodes_per_trial"]),
                   image_shape=tuple(int(v) for v in data["image_shape"]), action_dim=int(data["action_dim"]),
                   action_scale=tuple(float(v) for v in data["action_scale"]),
                   env_kwargs=dict(data.get("env_kwargs", {})))


def spec_of_env(env, name: str, env_kwargs: dict, episodes_per_trial: int | None = None) -> TaskSpec:
    """The spec of a built environment (any ``meld_sim_bridge`` MeldEnv); ``episodes_per_trial``
    overrides the environment's own (``train.episodes_per_trial``)."""
    return TaskSpec(env=name, n_train_tasks=len(env.train_tasks), n_held_out_tasks=len(env.held_out_tasks),
                    episode_length=int(env.episode_length),
                    episodes_per_trial=int(episodes_per_trial or env.episodes_per_trial),
                    image_shape=tuple(int(v) for v in env.observation_space.shape[:2]),
                    action_dim=int(env.action_space.shape[0]),
                    action_scale=tuple(float(v) for v in env.action_scale), env_kwargs=dict(env_kwargs))


def simulated_task_spec(name: str, env_kwargs: dict, episodes_per_trial: int | None = None) -> TaskSpec:
    """The spec of simulated environment ``name``: built, read and closed at once. The renderer opens
    no OpenGL context until a frame is rendered, so this costs a MuJoCo model compile and no more."""
    from meld_sim_bridge.registry import make_env

    env = make_env(name, **env_kwargs)
    try:
        return spec_of_env(env, name, env_kwargs, episodes_per_trial)
    finally:
        env.close()
