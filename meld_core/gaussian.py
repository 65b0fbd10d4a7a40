"""Diagonal Gaussians: the distributions of every latent, prior and decoder.

For q = N(mu_q, diag s_q^2) and p = N(mu_p, diag s_p^2) over d dimensions:

    KL(q || p) = sum_i [ log(s_p,i / s_q,i) + (s_q,i^2 + (mu_q,i - mu_p,i)^2) / (2 s_p,i^2) - 1/2 ]
    log N(x; mu, s^2) = sum_i [ -(x_i - mu_i)^2 / (2 s_i^2) - log s_i - log(2 pi) / 2 ]
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from meld_core.mlp import mlp

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@dataclass
class Gaussian:
    """Diagonal Gaussian with tensors ``mean`` and ``std`` of the same shape."""

    mean: torch.Tensor
    std: torch.Tensor

    def rsample(self, noise: torch.Tensor | None = None) -> torch.Tensor:
        """mean + std * e, e ~ N(0, I) from torch's generator, or the given ``noise`` e."""
        return self.mean + self.std * (torch.randn_like(self.std) if noise is None else noise)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Log density summed over the last dimension."""
        return gaussian_log_prob(x, self.mean, self.std).sum(-1)

    def detach(self) -> "Gaussian":
        return Gaussian(self.mean.detach(), self.std.detach())


def gaussian_log_prob(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor | float) -> torch.Tensor:
    """Element-wise log N(x; mean, std^2)."""
    std = torch.as_tensor(std, dtype=mean.dtype, device=mean.device)
    return -0.5 * ((x - mean) / std) ** 2 - torch.log(std) - _HALF_LOG_2PI


def kl_divergence(q: Gaussian, p: Gaussian) -> torch.Tensor:
    """KL(q || p) summed over the last dimension."""
    var_ratio = (q.std / p.std) ** 2
    mahalanobis = ((q.mean - p.mean) / p.std) ** 2
    return 0.5 * (var_ratio + mahalanobis - 1.0 - torch.log(var_ratio)).sum(-1)


def standard_normal_like(x: torch.Tensor, dim: int) -> Gaussian:
    """N(0, I) over ``dim`` dimensions with the batch shape of ``x`` (all but its last dim)."""
    shape = (*x.shape[:-1], dim)
    return Gaussian(x.new_zeros(shape), x.new_ones(shape))


class GaussianMLP(nn.Module):
    """x -> N(mu(x), diag s(x)^2), s = softplus(.) + min_std."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int, min_std: float):
        super().__init__()
        self.net = mlp(in_dim, 2 * out_dim, hidden)
        self.min_std = min_std

    def forward(self, *inputs: torch.Tensor) -> Gaussian:
        out = self.net(torch.cat(inputs, dim=-1) if len(inputs) > 1 else inputs[0])
        mean, raw_std = out.chunk(2, dim=-1)
        return Gaussian(mean, F.softplus(raw_std) + self.min_std)
