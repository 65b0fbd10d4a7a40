"""Fully connected networks (the actor, the critics, the latent model's conditionals and decoders)."""
from __future__ import annotations

from torch import nn


def mlp(in_dim: int, out_dim: int, hidden: int, layers: int = 2) -> nn.Sequential:
    """Fully connected net: ``layers`` hidden layers of ``hidden`` ReLU units."""
    mods: list[nn.Module] = []
    d = in_dim
    for _ in range(layers):
        mods += [nn.Linear(d, hidden), nn.ReLU()]
        d = hidden
    mods.append(nn.Linear(d, out_dim))
    return nn.Sequential(*mods)
