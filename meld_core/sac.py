"""Soft actor-critic on the belief z_t (no gradient flows into the model).

Actor  pi(a | z) = tanh(N(mu(z), s(z)^2));  twin critics Q_1, Q_2 and their
Polyak-averaged targets Qbar_1, Qbar_2 (rate tau); entropy weight alpha tuned
towards the target entropy H* (default -|A|). For a transition (z, a, r, z', d):

    y        = r + gamma (1 - d) [ min_i Qbar_i(z', a') - alpha log pi(a' | z') ],  a' ~ pi(. | z')
    L_critic = 1/2 sum_i (Q_i(z, a) - y)^2
    L_actor  = alpha log pi(a~ | z) - min_i Q_i(z, a~),                                a~ ~ pi(. | z)
    L_alpha  = -log(alpha) (log pi(a~ | z) + H*)
"""
from __future__ import annotations

import copy
import math

import torch
from torch import nn
from torch.nn import functional as F

from meld_core.config import SACConfig
from meld_core.mlp import mlp

_LOG_STD_MIN, _LOG_STD_MAX = -10.0, 2.0


class Actor(nn.Module):
    def __init__(self, latent_dim: int, action_dim: int, hidden: int):
        super().__init__()
        self.net = mlp(latent_dim, 2 * action_dim, hidden)

    def forward(self, z: torch.Tensor, deterministic: bool = False,
                noise: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (action in [-1, 1], log pi(action | z)). ``noise``: the standard normal draw e of
        u = mu + s e (default: from torch's generator); ``deterministic``: u = mu."""
        mean, log_std = self.net(z).chunk(2, dim=-1)
        log_std = log_std.clamp(_LOG_STD_MIN, _LOG_STD_MAX)
        std = log_std.exp()
        u = mean if deterministic else mean + std * (torch.randn_like(mean) if noise is None else noise)
        action = torch.tanh(u)
        # log N(u; mean, std) minus the log-Jacobian of tanh, in a stable form
        log_prob = (-0.5 * ((u - mean) / std) ** 2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
        log_prob = log_prob - (2.0 * (math.log(2.0) - u - F.softplus(-2.0 * u))).sum(-1)
        return action, log_prob


class TwinCritic(nn.Module):
    def __init__(self, latent_dim: int, action_dim: int, hidden: int):
        super().__init__()
        self.q1 = mlp(latent_dim + action_dim, 1, hidden)
        self.q2 = mlp(latent_dim + action_dim, 1, hidden)

    def forward(self, z: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        za = torch.cat([z, a], dim=-1)
        return self.q1(za).squeeze(-1), self.q2(za).squeeze(-1)


class SAC(nn.Module):
    def __init__(self, cfg: SACConfig, latent_dim: int, action_dim: int):
        super().__init__()
        self.cfg = cfg
        self.actor = Actor(latent_dim, action_dim, cfg.hidden)
        self.critic = TwinCritic(latent_dim, action_dim, cfg.hidden)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.log_alpha = nn.Parameter(torch.tensor(math.log(cfg.init_alpha)))
        self.target_entropy = float(-action_dim if cfg.target_entropy is None else cfg.target_entropy)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=cfg.actor_lr)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=cfg.critic_lr)
        self.alpha_opt = torch.optim.Adam([self.log_alpha], lr=cfg.alpha_lr)

    @property
    def alpha(self) -> torch.Tensor:
        return self.log_alpha.exp().detach()

    def td_target(self, reward: torch.Tensor, next_z: torch.Tensor, done: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            next_a, next_logp = self.actor(next_z)
            q1, q2 = self.critic_target(next_z, next_a)
            soft_v = torch.min(q1, q2) - self.alpha * next_logp
            return reward + self.cfg.gamma * (1.0 - done) * soft_v

    def update(self, z: torch.Tensor, action: torch.Tensor, reward: torch.Tensor,
               next_z: torch.Tensor, done: torch.Tensor) -> dict:
        """One gradient step of critic, actor and alpha on a batch of transitions.

        Latents are detached here: the actor-critic never trains the model.
        """
        z, next_z = z.detach(), next_z.detach()
        y = self.td_target(reward, next_z, done)
        q1, q2 = self.critic(z, action)
        critic_loss = 0.5 * ((q1 - y) ** 2 + (q2 - y) ** 2).mean()
        self.critic_opt.zero_grad(set_to_none=True)
        critic_loss.backward()
        self.critic_opt.step()

        new_a, logp = self.actor(z)
        q1_pi, q2_pi = self.critic(z, new_a)
        actor_loss = (self.alpha * logp - torch.min(q1_pi, q2_pi)).mean()
        self.actor_opt.zero_grad(set_to_none=True)
        actor_loss.backward()
        self.actor_opt.step()

        alpha_loss = -(self.log_alpha * (logp.detach() + self.target_entropy)).mean()
        self.alpha_opt.zero_grad(set_to_none=True)
        alpha_loss.backward()
        self.alpha_opt.step()

        with torch.no_grad():
            for p, tp in zip(self.critic.parameters(), self.critic_target.parameters()):
                tp.lerp_(p, self.cfg.tau)
        return {
            "sac/critic_loss": critic_loss.item(),
            "sac/actor_loss": actor_loss.item(),
            "sac/alpha": self.alpha.item(),
            "sac/entropy": -logp.mean().item(),
            "sac/q": q1.mean().item(),
        }
