"""MELD's updates: the latent model's ELBO step and the actor-critic's SAC step.

The algorithm owns the networks and their optimizers and knows how to take a
gradient step on a batch of whole trials; it does not know where trials come
from, when to train, or where a run is saved (``meta_train.MetaTrainer``
does). For a batch of trials (x_{0:L}, r_{0:L}, a_{0:L-1}):

- model step: maximise the ELBO of p(x_t, r~_t | z_t) under the filtering
  posterior q(z_t | x_t, r_t, z_{t-1}, a_{t-1}) against the prior
  p(z_t | z_{t-1}, a_{t-1}) (``LatentModel.elbo_loss``; r the model's reward
  input, r~ its reconstruction target);
- actor-critic step: SAC on transitions (z_t, a_t, r_{t+1}, z_{t+1}) whose
  z are the posterior's samples (or its mean and std) of the same batch,
  detached: no gradient flows from the actor-critic into the model.
"""
from __future__ import annotations

import numpy as np
import torch

from meld_core.agent import MeldAgent
from meld_core.config import MeldConfig
from meld_core.latent_model import LatentModel, policy_input, policy_input_dim
from meld_core.sac import SAC


def build_networks(cfg: MeldConfig, image_shape, action_dim: int) -> tuple[LatentModel, SAC]:
    """The latent model p / q and the actor-critic for images of ``image_shape`` and ``action_dim`` actions."""
    model = LatentModel(cfg.model, image_shape, action_dim)
    sac = SAC(cfg.sac, policy_input_dim(cfg.model, cfg.sac.policy_input), action_dim)
    return model, sac


class MeldAlgorithm:
    """The networks, their optimizers and one gradient step of each kind. ``reset_frames``: frames that
    begin an episode after the first (``TaskSpec.reset_frames``), left out of the trial-wide decoder."""

    def __init__(self, cfg: MeldConfig, image_shape, action_dim: int, reset_frames: tuple[int, ...]):
        self.cfg = cfg
        self.image_shape, self.action_dim = tuple(image_shape), int(action_dim)
        self.reset_frames = tuple(reset_frames)
        self.model, self.sac = build_networks(cfg, image_shape, action_dim)
        self.model_opt = torch.optim.Adam(self.model.parameters(), lr=cfg.model.lr)
        #: the agent acting with these networks (the same modules: it acts with the newest weights)
        self.agent = MeldAgent(self.model, self.sac.actor, cfg.model.reward_input, cfg.sac.policy_input)

    def tensors(self, batch: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        """A replay batch as tensors, with the model's reward input and target and the critic's reward
        picked from the dense and sparse rewards as the configuration says ("none": zeros)."""
        m, s = self.cfg.model, self.cfg.sac
        dense, sparse = torch.from_numpy(batch["dense"]), torch.from_numpy(batch["sparse"])
        pick = {"dense": dense, "sparse": sparse, "none": torch.zeros_like(dense)}
        return {"images": torch.from_numpy(batch["images"]), "actions": torch.from_numpy(batch["actions"]),
                "reward_in": pick[m.reward_input], "reward_target": pick[m.reward_target],
                "critic_reward": pick[s.critic_reward]}

    def model_step(self, b: dict[str, torch.Tensor]) -> tuple[dict, torch.Tensor]:
        """One ELBO step; returns its statistics and the posterior's policy inputs (B, L+1, D), detached."""
        loss, stats, seq = self.model.elbo_loss(b["images"], b["reward_in"], b["reward_target"], b["actions"],
                                                reset_frames=self.reset_frames)
        self.model_opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.model.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.model.grad_clip)
        self.model_opt.step()
        return stats, policy_input(seq, self.cfg.sac.policy_input).detach()

    def ac_step(self, b: dict[str, torch.Tensor], latent: torch.Tensor | None) -> dict:
        """One SAC step on a random minibatch of the transitions of batch ``b``; ``latent``: the policy
        inputs of its trials (B, L+1, D), inferred here without gradients if None."""
        if latent is None:
            with torch.no_grad():
                feats = self.model.features(b["images"], b["reward_in"])
                latent = policy_input(self.model.posterior(feats, b["actions"]), self.cfg.sac.policy_input)
        B, T1, D = latent.shape
        L = T1 - 1
        z, nz = latent[:, :-1].reshape(-1, D), latent[:, 1:].reshape(-1, D)
        a = b["actions"].reshape(B * L, -1)
        r = b["critic_reward"][:, 1:].reshape(-1)
        n = min(self.cfg.sac.batch_size, B * L)
        idx = torch.randperm(B * L)[:n]
        z, a, r, nz = z[idx], a[idx], r[idx], nz[idx]
        # A trial ends by a time limit, not in a terminal state: the critic
        # bootstraps through it. (Marking it terminal makes the target depend
        # on the time left, which the belief does not contain.)
        done = torch.zeros(z.shape[0])
        return self.sac.update(z, a, r, nz, done)

    @torch.no_grad()
    def reconstruction_grid(self, batch: dict[str, np.ndarray]) -> torch.Tensor:
        """Every 4th frame of the batch's first trial above its reconstruction from p(x_t | z_t), as a
        (3, 2H, kW) image in [0, 1]."""
        b = self.tensors(batch)
        feats = self.model.features(b["images"], b["reward_in"])
        latent = self.model.posterior(feats, b["actions"]).latent
        recon = (self.model.decode_image(latent[0, ::4]) + 0.5).clamp(0, 1)
        original = b["images"][0, ::4].permute(0, 3, 1, 2).float() / 255.0
        return torch.cat([torch.cat(list(original), -1), torch.cat(list(recon), -1)], -2)

    def train_mode(self, training: bool) -> None:
        """The model in training mode (gradient steps) or evaluation mode (acting)."""
        self.model.train(training)

    def state_dict(self) -> dict:
        """Networks and optimizers, for a checkpoint."""
        return {"model": self.model.state_dict(), "sac": self.sac.state_dict(),
                "model_opt": self.model_opt.state_dict(), "actor_opt": self.sac.actor_opt.state_dict(),
                "critic_opt": self.sac.critic_opt.state_dict(), "alpha_opt": self.sac.alpha_opt.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.sac.load_state_dict(state["sac"])
        self.model_opt.load_state_dict(state["model_opt"])
        self.sac.actor_opt.load_state_dict(state["actor_opt"])
        self.sac.critic_opt.load_state_dict(state["critic_opt"])
        self.sac.alpha_opt.load_state_dict(state["alpha_opt"])
