"""The paper's convolutional image encoder and its transposed decoder.

Encoder: 5 conv layers with ``channels`` filters (paper 32/64/128/256/256),
kernels 5/3/3/3/4, strides 2/2/2/2/1, ReLU: a 64x64 image becomes a 1x1
feature of ``channels[-1]`` values. For two cameras side by side (64x128) the
last kernel is rectangular (4x8), so the feature is again 1x1.
32x32 images (not in the papers; a cheaper cpu-profile option, issue 17's
hypothesis 5) take the same layers with the fourth stride 1, so the feature
is again 1x1 from a 4x4 map.
Decoder: the transpose, from the latent z_t to the mean of p(x_t | z_t).
Images enter as uint8 (.., H, W, 3) and are scaled to [-0.5, 0.5].
"""
from __future__ import annotations

import torch
from torch import nn


def image_to_tensor(images: torch.Tensor) -> torch.Tensor:
    """uint8 (..., H, W, 3) -> float (..., 3, H, W) in [-0.5, 0.5]."""
    d = images.dim()          # dimensions counted from the front: ONNX export rejects negative ones
    return images.permute(*range(d - 3), d - 1, d - 3, d - 2).float().mul_(1.0 / 255.0).sub_(0.5)


def check_image_shape(image_shape: tuple[int, int]) -> int:
    """Return the width/height ratio (1 or 2) of a supported image layout: cameras of 64x64 or 32x32
    pixels, one or two side by side."""
    h, w = image_shape
    if h not in (32, 64) or w not in (h, 2 * h):
        raise ValueError(f"images must be 64x64 or 32x32 per camera, one camera or two side by side "
                         f"(64x64, 64x128, 32x32, 32x64), got {h}x{w}")
    return w // h


def fourth_stride(image_shape: tuple[int, int]) -> int:
    """The stride of the fourth layer: 2 for 64-pixel cameras (the papers), 1 for 32-pixel ones."""
    return 2 if image_shape[0] == 64 else 1


class Encoder(nn.Module):
    def __init__(self, channels: tuple[int, ...], image_shape: tuple[int, int]):
        super().__init__()
        ratio = check_image_shape(image_shape)
        c1, c2, c3, c4, c5 = channels
        self.net = nn.Sequential(
            nn.Conv2d(3, c1, 5, 2, 2), nn.ReLU(),
            nn.Conv2d(c1, c2, 3, 2, 1), nn.ReLU(),
            nn.Conv2d(c2, c3, 3, 2, 1), nn.ReLU(),
            nn.Conv2d(c3, c4, 3, fourth_stride(image_shape), 1), nn.ReLU(),
            nn.Conv2d(c4, c5, (4, 4 * ratio), 1, 0), nn.ReLU(),
        )
        self.out_dim = c5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) float -> (N, out_dim)."""
        return self.net(x).flatten(1)


class Decoder(nn.Module):
    def __init__(self, in_dim: int, channels: tuple[int, ...], image_shape: tuple[int, int]):
        super().__init__()
        ratio = check_image_shape(image_shape)
        c1, c2, c3, c4, _ = channels
        self.net = nn.Sequential(
            nn.ConvTranspose2d(in_dim, c4, (4, 4 * ratio), 1, 0), nn.ReLU(),
            nn.ConvTranspose2d(c4, c3, 3, fourth_stride(image_shape), 1,
                               output_padding=fourth_stride(image_shape) - 1), nn.ReLU(),
            nn.ConvTranspose2d(c3, c2, 3, 2, 1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(c2, c1, 3, 2, 1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(c1, 3, 5, 2, 2, output_padding=1),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(N, in_dim) -> (N, 3, H, W) mean image in [-0.5, 0.5] units."""
        return self.net(z[:, :, None, None])
