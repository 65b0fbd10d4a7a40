"""Versioned weights the learner ships to the belief and policy nodes.

A weights file holds what acting needs and nothing more: the configuration,
the image shape and action size, the latent model's and the actor's
parameters, and a version number. It is written atomically (temporary file,
fsync, rename) and read with ``torch.load(weights_only=True)`` like a
checkpoint; ``sha256`` lets a reader check it got the file the learner
announced before switching to it.
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from meld_core.agent import MeldAgent
from meld_core.checkpoint import CheckpointError, load_checkpoint, read_checkpoint, save_checkpoint
from meld_core.config import MeldConfig, config_from_dict
from meld_core.latent_model import LatentModel, policy_input_dim
from meld_core.sac import Actor
from meld_core.task_spec import TaskSpec


@dataclass
class AgentWeights:
    version: int
    cfg: MeldConfig
    image_shape: tuple[int, int]
    action_dim: int
    action_scale: list[float]     #: physical units per unit action (the environment's)
    model_state: dict
    actor_state: dict

    def make_agent(self) -> MeldAgent:
        """A MeldAgent (model + actor) with these weights, in eval mode."""
        c = self.cfg
        model = LatentModel(c.model, self.image_shape, self.action_dim)
        actor = Actor(policy_input_dim(c.model, c.sac.policy_input), self.action_dim, c.sac.hidden)
        model.load_state_dict(self.model_state)
        actor.load_state_dict(self.actor_state)
        model.eval()
        actor.eval()
        return MeldAgent(model, actor, c.model.reward_input, c.sac.policy_input)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_weights(path: Path, version: int, cfg: MeldConfig, spec: TaskSpec, agent: MeldAgent) -> str:
    """Write the acting weights of ``agent`` (latent model and actor) for ``spec``'s images and actions,
    atomically; returns the file's sha256."""
    save_checkpoint(Path(path), {"kind": "weights", "version": int(version), "config": cfg.to_dict(),
                                 "image_shape": list(spec.image_shape), "action_dim": spec.action_dim,
                                 "action_scale": [float(v) for v in spec.action_scale],
                                 "model": agent.model.state_dict(), "actor": agent.actor.state_dict()})
    return sha256_of(path)


def load_weights(path: Path, sha256: str | None = None) -> AgentWeights:
    """Read a weights file; CheckpointError if it is damaged, foreign, or not the announced one."""
    path = Path(path)
    if sha256 is not None and path.exists() and sha256_of(path) != sha256:
        raise CheckpointError(f"weights file {path} does not match the announced sha256")
    return _weights(load_checkpoint(path), str(path))


def weights_from_bytes(data: bytes, name: str = "weights") -> AgentWeights:
    """The weights of a file's bytes (as they come over ROS in ``meld_ros/ModelUpdate``); CheckpointError
    if they are damaged or not a meld weights file."""
    return _weights(read_checkpoint(io.BytesIO(data), name), name)


def _weights(payload: dict, path: str) -> AgentWeights:
    if payload.get("kind") != "weights":
        raise CheckpointError(f"{path} is not a meld weights file (kind {payload.get('kind')!r})")
    try:
        return AgentWeights(int(payload["version"]), config_from_dict(payload["config"]),
                            tuple(payload["image_shape"]), int(payload["action_dim"]),
                            list(payload["action_scale"]), payload["model"], payload["actor"])
    except Exception as exc:
        raise CheckpointError(f"weights file {path} is incomplete: {exc}") from None
