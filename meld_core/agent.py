"""Online MELD agent (Algorithm 2): one posterior update per control step, then act.

At trial start the latent is reset; the first update is q(z_1 | x_1, r_1),
every later one q(z_t | x_t, r_t, z_{t-1}, a_{t-1}); the latent is *not* reset
between episodes of a trial. The actor pi(a | z_t) acts on the posterior
sample z_t. No gradient steps. ``use_onnxruntime()`` runs the update and the
actor as ONNX Runtime graphs of the current weights (``meld_core.onnx_inference``),
for weights that no longer change. Inputs are checked: a wrong image size or
dtype, a NaN reward or an action of the wrong length raise ValueError.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import torch

from meld_core.latent_model import LatentModel, LatentState, policy_input
from meld_core.sac import Actor
from meld_core.onnx_inference import OnnxActor, OnnxUpdate


def select_reward(kind: str, dense: float, sparse: float) -> float:
    """The reward the model sees or reconstructs: dense, sparse, or none (0)."""
    if kind == "dense":
        return dense
    if kind == "sparse":
        return sparse
    if kind == "none":
        return 0.0
    raise ValueError(f"unknown reward kind {kind!r}")


@dataclass
class Belief:
    """What the belief node publishes after one update."""

    mean: np.ndarray          # posterior mean of (z1, z2)
    std: np.ndarray           # posterior std of (z1, z2)
    sample: np.ndarray        # the posterior sample z_t = (z1_t, z2_t) the actor sees (policy_input "sample")
    reward_mean: float        # p(r_t | z_t) mean
    reward_std: float
    step: int                 # updates since trial start (0 = first)


def actor_input(policy_input: str, mean, std, sample) -> torch.Tensor:
    """What the actor sees, rebuilt from a published belief: the sample, or [mean, std]."""
    if policy_input == "sample":
        x = np.asarray(sample, np.float32)
    elif policy_input == "belief":
        x = np.concatenate([np.asarray(mean, np.float32), np.asarray(std, np.float32)])
    else:
        raise ValueError(f"unknown policy input {policy_input!r}; use sample or belief")
    if not np.all(np.isfinite(x)):
        raise ValueError("belief is not finite")
    return torch.from_numpy(x)[None]


@torch.no_grad()
def act_on(actor: Actor, x: torch.Tensor, deterministic: bool = False) -> np.ndarray:
    """a ~ pi(a | x) (its mean if ``deterministic``) as a float32 vector in [-1, 1]."""
    action, _ = actor(x, deterministic=deterministic)
    return action[0].numpy().astype(np.float32)


class MeldAgent:
    def __init__(self, model: LatentModel, actor: Actor, reward_input: str, policy_input: str = "sample"):
        self.model, self.actor, self.reward_input = model, actor, reward_input
        self.policy_input = policy_input
        self._state: LatentState | None = None
        self._step = 0
        self._update_graphs: OnnxUpdate | None = None       # None: the update runs in eager torch
        self._act = partial(act_on, actor)                     # (x, deterministic) -> action

    def use_onnxruntime(self, threads: int = 1, actor: bool = True) -> "MeldAgent":
        """Run later updates (and, with ``actor``, actions) as ONNX Runtime graphs of the current weights
        (raises ``OnnxUnavailable`` where they cannot be exported or loaded; the agent then stays eager)."""
        update = OnnxUpdate(self.model, threads)
        if actor:
            self._act = OnnxActor(self.actor, threads)
        self._update_graphs = update
        return self

    @property
    def engine(self) -> str:
        """Who runs the belief update: ``onnxruntime`` or ``torch`` (eager); the actor too unless
        ``use_onnxruntime(actor=False)`` kept it eager."""
        return "torch" if self._update_graphs is None else "onnxruntime"

    def reset(self) -> None:
        """Trial start: forget the latent."""
        self._state, self._step = None, 0

    def _check(self, image: np.ndarray, reward: float, prev_action) -> torch.Tensor | None:
        expected = (*self.model.image_shape, 3)
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
            raise ValueError(f"image must be a uint8 numpy array of shape {expected}, got "
                             f"{type(image).__name__} {getattr(image, 'dtype', '')}")
        if image.shape != expected:
            raise ValueError(f"image must have shape {expected}, got {image.shape}")
        if not np.isfinite(reward):
            raise ValueError(f"reward must be finite, got {reward}")
        if self._state is None:
            return None
        if prev_action is None:
            raise ValueError("previous action required after the first step of a trial")
        a = np.asarray(prev_action, dtype=np.float32)
        if a.shape != (self.model.action_dim,) or not np.all(np.isfinite(a)):
            raise ValueError(f"previous action must be {self.model.action_dim} finite values, got {a.tolist()}")
        return torch.from_numpy(a)[None]

    @torch.no_grad()
    def update(self, image: np.ndarray, reward: float, prev_action=None) -> Belief:
        """Posterior update from (x_t, r_t, a_{t-1}); ``prev_action`` is ignored at trial start."""
        action = self._check(image, float(reward), prev_action)
        x, rew = torch.from_numpy(image)[None], torch.tensor([float(reward)])
        if self._update_graphs is not None:
            if self._state is None:
                self._state, r = self._update_graphs.first(x, rew)
            else:
                self._state, r = self._update_graphs.next(self._state.z2, x, rew, action)
        else:
            feat = self.model.features(x, rew)
            if self._state is None:
                self._state = self.model.first_step(feat)
            else:
                self._state = self.model.next_step(self._state.z2, feat, action)
            r = self.model.decode_reward(self._state.latent)
        s = self._state
        mean, std = s.belief[0].numpy().reshape(2, -1)
        belief = Belief(mean=mean, std=std, sample=s.latent[0].numpy().copy(), reward_mean=float(r.mean[0]),
                        reward_std=float(r.std[0]), step=self._step)
        self._step += 1
        return belief

    @torch.no_grad()
    def act(self, deterministic: bool = False) -> np.ndarray:
        """a_t ~ pi(a | z_t) (the mean action if ``deterministic``); z_t a sample or the belief."""
        if self._state is None:
            raise RuntimeError("act() before the first belief update of the trial")
        return self._act(policy_input(self._state, self.policy_input), deterministic)

    @torch.no_grad()
    def reconstruction(self) -> np.ndarray:
        """Decoded mean image of p(x_t | z_t) as uint8 (H, W, 3), for display."""
        if self._state is None:
            raise RuntimeError("no belief yet")
        x = self.model.decode_image(self._state.latent)[0]
        return ((x + 0.5).clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
