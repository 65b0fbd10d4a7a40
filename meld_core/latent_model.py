"""MELD's latent state model: a SLAC-style sequential VAE over z_t = (z1_t, z2_t)
whose posterior sees the image *and the reward*, so z_t carries state and task.

Generative model (p), with separate first-step networks:
    p(z1_1) = N(0, I)                     p(z2_1 | z1_1)
    p(z1_t | z2_{t-1}, a_{t-1})           p(z2_t | z1_t, z2_{t-1}, a_{t-1})
    p(x_t | z_t) = N(dec(z_t), sigma_x^2 I)   (fixed sigma_x)
    p(r_t | z_t) = N(mu_r(z_t), s_r(z_t)^2)
Inference model (q); z2's conditionals are shared with p, as in SLAC:
    q(z1_1 | f_1)                         q(z2_1 | z1_1) = p(z2_1 | z1_1)
    q(z1_t | f_t, z2_{t-1}, a_{t-1})      q(z2_t | z1_t, z2_{t-1}, a_{t-1}) = p(z2_t | ...)
where f_t = [enc(x_t), r_t repeated ``reward_tile`` times] is the image
feature joined with the reward input (dense, sparse, or zero for the ablation).

Loss: the negative ELBO of a whole trial, averaged over its T steps:
    L = 1/T sum_t [ KL(q(z1_t | .) || p(z1_t | .)) - log p(x_t | z_t) - w_r log p(r~_t | z_t) ]
with r~ the reward *target* (the shaped reward in the two-stage sparse scheme).
With ``decode_fraction`` f < 1 the image term is averaged over a random f of the
frames instead of all of them (an unbiased estimate; the decoder dominates the
cost of a step on a CPU).
Because z2 shares its conditional, the KL over z2 is zero and only z1's KL remains.
Optional (``task_decoder_weight`` w_d > 0, not in the papers; VariBAD's decoder,
Zintgraf et al. 2020, put on MELD's latent): a trial-wide reward decoder
    p_d(r~_t' | z_t, enc(x_t')) = N(mu_d(z_t, enc(x_t')), sigma_d^2)
for every belief time t and every frame t' >= 1 of the trial (past and future)
except a new episode's first frame (its reward is the previous episode's last),
adding -w_d mean_{t,t'} log p_d(r~_t' | .). enc(x_t') is the image feature, which
never sees a reward, so what tells r_t' apart from another frame's reward is the
task, and the belief z_t must carry it from early in the trial. The decoder is
used in training only; its gradients reach the encoder and the filter.
Optional (``z2_transition: deterministic``, not in the papers; the deterministic
recurrent path of PlaNet's RSSM, Hafner et al. 2019): z2 is a memory, not a sample,
    z2_1 = GRU(0, [z1_1, 0])          z2_t = GRU(z2_{t-1}, [z1_t, a_{t-1}])
(its "distribution" a point mass: std 0, so the KL is still z1's alone). Through
the GRU's gates what the rewards told the belief can persist across steps and
an episode's reset frame, where the stochastic z2 re-draws it at every step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from meld_core.config import ModelConfig
from meld_core.conv_nets import Decoder, Encoder, image_to_tensor
from meld_core.gaussian import Gaussian, GaussianMLP, gaussian_log_prob, kl_divergence, standard_normal_like
from meld_core.mlp import mlp


@dataclass
class LatentState:
    """Samples z1, z2 and their distributions q(z1 | .), q(z2 | .): batch shape (B,)
    after one online update, (B, T) over a batch of trials."""

    z1: torch.Tensor
    z2: torch.Tensor
    z1_dist: Gaussian
    z2_dist: Gaussian

    @property
    def latent(self) -> torch.Tensor:
        return torch.cat([self.z1, self.z2], dim=-1)

    @property
    def belief(self) -> torch.Tensor:
        """[mean(z1), mean(z2), std(z1), std(z2)] of the posterior."""
        return torch.cat([self.z1_dist.mean, self.z2_dist.mean, self.z1_dist.std, self.z2_dist.std], dim=-1)


@dataclass
class PosteriorSequence(LatentState):
    """A filtered batch of trials, with the prior p(z1_t | z2_{t-1}, a_{t-1}) at each step."""

    z1_prior: Gaussian | None = None


def policy_input(x: LatentState, kind: str) -> torch.Tensor:
    """What the actor and critics see: a posterior sample z_t (``sample``, as in
    the papers) or the belief itself, the posterior's mean and std (``belief``)."""
    if kind == "sample":
        return x.latent
    if kind == "belief":
        return x.belief
    raise ValueError(f"unknown policy input {kind!r}; use sample or belief")


def policy_input_dim(cfg: ModelConfig, kind: str) -> int:
    return (cfg.z1_dim + cfg.z2_dim) * (2 if kind == "belief" else 1)


class RecurrentZ2(nn.Module):
    """The deterministic z2 path: z2_t = GRU(z2_{t-1}, [z1_t, a_{t-1}]) as a point-mass Gaussian (std 0);
    called as the stochastic conditional is, (z1, z2_{t-1}, a_{t-1}) or, at the first step, (z1,)."""

    def __init__(self, z1_dim: int, z2_dim: int, action_dim: int):
        super().__init__()
        self.z2_dim, self.action_dim = z2_dim, action_dim
        self.cell = nn.GRUCell(z1_dim + action_dim, z2_dim)

    def forward(self, z1: torch.Tensor, prev_z2: torch.Tensor | None = None,
                action: torch.Tensor | None = None) -> Gaussian:
        if prev_z2 is None:                                   # the first step: no memory, no action yet
            prev_z2 = z1.new_zeros(*z1.shape[:-1], self.z2_dim)
            action = z1.new_zeros(*z1.shape[:-1], self.action_dim)
        z2 = self.cell(torch.cat([z1, action], dim=-1), prev_z2)
        return Gaussian(z2, torch.zeros_like(z2))


class LatentModel(nn.Module):
    def __init__(self, cfg: ModelConfig, image_shape: tuple[int, int], action_dim: int):
        super().__init__()
        self.cfg = cfg
        self.image_shape = tuple(image_shape)
        self.action_dim = action_dim
        self.latent_dim = cfg.z1_dim + cfg.z2_dim
        z1, z2, h, a, s = cfg.z1_dim, cfg.z2_dim, cfg.hidden, action_dim, cfg.min_std
        self.encoder = Encoder(cfg.conv_channels, self.image_shape)
        feat = self.encoder.out_dim + cfg.reward_tile
        if cfg.z2_transition == "deterministic":                # z2 = GRU(z2_{t-1}, [z1_t, a_{t-1}])
            self.z2_first = self.z2_next = RecurrentZ2(z1, z2, a)
        else:
            self.z2_first = GaussianMLP(z1, z2, h, s)           # p(z2_1 | z1_1) = q(z2_1 | z1_1)
            self.z2_next = GaussianMLP(z1 + z2 + a, z2, h, s)  # p(z2_t | z1_t, z2_{t-1}, a_{t-1}) = q(...)
        self.z1_prior = GaussianMLP(z2 + a, z1, h, s)           # p(z1_t | z2_{t-1}, a_{t-1})
        self.z1_post_first = GaussianMLP(feat, z1, h, s)        # q(z1_1 | f_1)
        self.z1_post = GaussianMLP(feat + z2 + a, z1, h, s)     # q(z1_t | f_t, z2_{t-1}, a_{t-1})
        self.decoder = Decoder(z1 + z2, cfg.conv_channels, self.image_shape)
        self.reward_decoder = GaussianMLP(z1 + z2, 1, h, s)     # p(r_t | z_t)
        # p_d(r_t' | z_t, enc(x_t')), training only (task_decoder_weight > 0)
        self.task_decoder = mlp(z1 + z2 + self.encoder.out_dim, 1, h) if cfg.task_decoder_weight > 0 else None

    # ---- pieces ------------------------------------------------------------------
    def features(self, images: torch.Tensor, rewards: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        """uint8 images (..., H, W, 3) and reward inputs (...) -> f (..., feat).

        ``x``: the images already scaled by ``image_to_tensor`` (saves a pass).
        """
        lead = images.shape[:-3]
        x = image_to_tensor(images) if x is None else x
        f = self.encoder(x.reshape(-1, *x.shape[-3:])).reshape(*lead, -1)
        r = rewards.unsqueeze(-1).expand(*lead, self.cfg.reward_tile)
        return torch.cat([f, r.to(f.dtype)], dim=-1)

    def decode_image(self, latent: torch.Tensor) -> torch.Tensor:
        """Mean of p(x | z), (..., 3, H, W) in [-0.5, 0.5]."""
        lead = latent.shape[:-1]
        out = self.decoder(latent.reshape(-1, latent.shape[-1]))
        return out.reshape(*lead, *out.shape[1:])

    def decode_reward(self, latent: torch.Tensor) -> Gaussian:
        d = self.reward_decoder(latent)
        return Gaussian(d.mean.squeeze(-1), d.std.squeeze(-1))

    # ---- inference -----------------------------------------------------------------
    def first_step(self, feature: torch.Tensor, noise: tuple[torch.Tensor, torch.Tensor] | None = None) -> LatentState:
        """q(z1_1 | f_1), then z2_1 ~ p(z2_1 | z1_1). ``noise``: the standard normal draws (e1, e2) of the
        two samples (default: drawn from torch's generator, z1's first)."""
        e1, e2 = noise or (None, None)
        q1 = self.z1_post_first(feature)
        z1 = q1.rsample(e1)
        q2 = self.z2_first(z1)
        return LatentState(z1, q2.rsample(e2), q1, q2)

    def next_step(self, prev_z2: torch.Tensor, feature: torch.Tensor, action: torch.Tensor,
                  noise: tuple[torch.Tensor, torch.Tensor] | None = None) -> LatentState:
        """q(z1_t | f_t, z2_{t-1}, a_{t-1}), then z2_t ~ p(z2_t | z1_t, z2_{t-1}, a_{t-1}); ``noise`` as in
        ``first_step``."""
        e1, e2 = noise or (None, None)
        q1 = self.z1_post(feature, prev_z2, action)
        z1 = q1.rsample(e1)
        q2 = self.z2_next(z1, prev_z2, action)
        return LatentState(z1, q2.rsample(e2), q1, q2)

    def predict_step(self, prev_z2: torch.Tensor, action: torch.Tensor) -> LatentState:
        """The prior's one-step prediction, before x_t and r_t are seen: z1_t = E p(z1_t | z2_{t-1}, a_{t-1}),
        z2_t = E p(z2_t | z1_t, z2_{t-1}, a_{t-1}) (means, no sampling). ``decode_reward`` of its latent is what
        the belief expects r_t to be: it knows the task only as far as z_{t-1} carries it (it cannot copy r_t)."""
        q1 = self.z1_prior(prev_z2, action)
        q2 = self.z2_next(q1.mean, prev_z2, action)
        return LatentState(q1.mean, q2.mean, q1, q2)

    def posterior(self, features: torch.Tensor, actions: torch.Tensor) -> PosteriorSequence:
        """Filter a batch of trials. features (B, T, F); actions (B, T-1, A)."""
        T = features.shape[1]
        state = self.first_step(features[:, 0])
        z1s, z2s, post, prior, z2d = [state.z1], [state.z2], [state.z1_dist], [standard_normal_like(state.z1, self.cfg.z1_dim)], [state.z2_dist]
        for t in range(1, T):
            prior.append(self.z1_prior(state.z2, actions[:, t - 1]))
            state = self.next_step(state.z2, features[:, t], actions[:, t - 1])
            z1s.append(state.z1); z2s.append(state.z2); post.append(state.z1_dist); z2d.append(state.z2_dist)

        def stack(ds):
            return Gaussian(torch.stack([d.mean for d in ds], 1), torch.stack([d.std for d in ds], 1))
        return PosteriorSequence(torch.stack(z1s, 1), torch.stack(z2s, 1), stack(post), stack(z2d), stack(prior))

    def _image_log_prob(self, latent: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """log N(x_t; dec(z_t), sigma_x^2 I) summed over pixels, for every frame or, with
        ``decode_fraction`` < 1, for a uniformly drawn subset of the frames (its mean is
        then an unbiased estimate of the mean over all frames, at a fraction of the cost)."""
        latent = latent.reshape(-1, latent.shape[-1])
        target = target.reshape(-1, *target.shape[-3:])
        frac = self.cfg.decode_fraction
        if frac < 1.0:
            keep = torch.randperm(latent.shape[0])[:max(1, round(frac * latent.shape[0]))]
            latent, target = latent[keep], target[keep]
        s = self.cfg.image_std
        sq_err = (self.decode_image(latent) - target).pow_(2).sum((-3, -2, -1))
        return -0.5 / s**2 * sq_err - target[0].numel() * (math.log(s) + 0.5 * math.log(2 * math.pi))

    def _task_reward_log_prob(self, latent: torch.Tensor, image_feats: torch.Tensor,
                              reward_targets: torch.Tensor) -> torch.Tensor:
        """log p_d(r~_t' | z_t, enc(x_t')) for every belief time t and every frame t' >= 1: (B, T, T-1).
        (``elbo_loss`` leaves out the columns of reset frames.)"""
        B, T, D = latent.shape
        z = latent.unsqueeze(2).expand(B, T, T - 1, D)
        f = image_feats[:, 1:].unsqueeze(1).expand(B, T, T - 1, image_feats.shape[-1])
        mean = self.task_decoder(torch.cat([z, f], dim=-1)).squeeze(-1)
        return gaussian_log_prob(reward_targets[:, 1:].unsqueeze(1).expand(B, T, T - 1), mean,
                                 self.cfg.task_decoder_std)

    # ---- training objective ------------------------------------------------------------
    def elbo_loss(self, images: torch.Tensor, reward_inputs: torch.Tensor, reward_targets: torch.Tensor,
                  actions: torch.Tensor, reset_frames: tuple[int, ...] = ()
                  ) -> tuple[torch.Tensor, dict, PosteriorSequence]:
        """Negative ELBO averaged over trials and steps.

        images uint8 (B, T, H, W, 3); reward_inputs, reward_targets (B, T); actions (B, T-1, A).
        ``reset_frames``: indices t' >= 1 whose image is a new episode's first frame while their reward
        is the last step of the episode before (a trial's episode boundaries); the trial-wide reward
        decoder leaves them out, since no image feature of that frame predicts that reward.
        Returns (loss, scalar stats, posterior sequence).
        """
        target = image_to_tensor(images)                                 # (B, T, 3, H, W)
        feats = self.features(images, reward_inputs, x=target)
        seq = self.posterior(feats, actions)
        latent = seq.latent
        image_ll = self._image_log_prob(latent, target)
        reward_dist = self.decode_reward(latent)
        reward_ll = gaussian_log_prob(reward_targets, reward_dist.mean, reward_dist.std)
        kl = kl_divergence(seq.z1_dist, seq.z1_prior)
        loss = kl.mean() - image_ll.mean() - self.cfg.reward_weight * reward_ll.mean()
        stats = {
            "model/loss": loss.item(),
            "model/kl": kl.mean().item(),
            "model/image_nll": -image_ll.mean().item(),
            "model/reward_nll": -reward_ll.mean().item(),
            "model/reward_mae": (reward_dist.mean - reward_targets).abs().mean().item(),
        }
        if self.task_decoder is not None:
            task_ll = self._task_reward_log_prob(latent, feats[..., :self.encoder.out_dim], reward_targets)
            keep = [k for k in range(task_ll.shape[-1]) if k + 1 not in reset_frames]
            task_ll = task_ll[..., keep]
            loss = loss - self.cfg.task_decoder_weight * task_ll.mean()
            stats["model/loss"] = loss.item()
            stats["model/task_reward_nll"] = -task_ll.mean().item()
        return loss, stats, seq
