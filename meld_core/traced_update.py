"""The online posterior update as TorchScript graphs with the weights frozen in.

The same maths as ``LatentModel.first_step`` / ``next_step`` followed by
``decode_reward``, at batch 1:

    first step:  f_1 = [enc(x_1), r_1],  z1_1 ~ q(z1_1 | f_1),  z2_1 ~ p(z2_1 | z1_1),  p(r_1 | z_1)
    later steps: f_t = [enc(x_t), r_t],  z1_t ~ q(z1_t | f_t, z2_{t-1}, a_{t-1}),
                 z2_t ~ p(z2_t | z1_t, z2_{t-1}, a_{t-1}),  p(r_t | z_t)

traced once per set of weights and passed through
``torch.jit.optimize_for_inference`` (weights folded in as constants,
convolutions prepacked for oneDNN and fused with their ReLU). One call runs
one graph instead of some twenty Python module calls: on the 2-core CPU the
belief-plus-actor step of the ``cpu`` profile is 1.2-1.5x faster than eager
(median; at the papers' sizes the convolutions dominate and it gains ~1.0-1.1x;
``benchmarks/speed.py --online-only``, ``benchmarks/graph_speed.py --updates
traced eager`` for the node graph). The samples draw from torch's
global generator in the eager order (z1, then z2), so a seed gives the same
rollout; results equal the eager ones to float rounding (the convolutions run
in another library).

The graphs are traced from a copy of the model and keep the weights it had
then: they are for weights that no longer change (the belief node's, per
model version), not for a model in training (trace again after an update).
TorchScript is deprecated in recent torch releases but present in the pinned
one; its deprecation warnings are silenced here only, and ``trace_update``
raises ``TracingUnavailable`` where tracing fails, so the caller can stay
eager.
"""
from __future__ import annotations

import copy
import warnings

import torch
from torch import nn

from meld_core.gaussian import Gaussian
from meld_core.latent_model import LatentModel, LatentState


class TracingUnavailable(RuntimeError):
    """This torch cannot trace or optimize the update graphs."""


def _outputs(model: LatentModel, s: LatentState) -> tuple:
    """A state and p(r_t | z_t) as the flat tuple of tensors a traced graph returns (``_unpack`` inverts it)."""
    r = model.decode_reward(s.latent)
    return s.z1, s.z2, s.z1_dist.mean, s.z1_dist.std, s.z2_dist.mean, s.z2_dist.std, r.mean, r.std


class _First(nn.Module):
    def __init__(self, model: LatentModel):
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor, reward: torch.Tensor):
        return _outputs(self.model, self.model.first_step(self.model.features(image, reward)))


class _Next(nn.Module):
    def __init__(self, model: LatentModel):
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor, reward: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor,
                action: torch.Tensor):
        prev = LatentState(z1, z2, Gaussian(z1, z1), Gaussian(z2, z2))     # next_step reads z2 only
        return _outputs(self.model, self.model.next_step(prev, self.model.features(image, reward), action))


def _unpack(out) -> tuple[LatentState, Gaussian]:
    z1, z2, m1, s1, m2, s2, rm, rs = out
    return LatentState(z1, z2, Gaussian(m1, s1), Gaussian(m2, s2)), Gaussian(rm, rs)


class TracedUpdate:
    """``first(image, reward)`` and ``next(prev, image, reward, action)`` -> (state, p(r_t | z_t)):
    uint8 image (1, H, W, 3), reward (1,), action (1, A)."""

    def __init__(self, first, next_):
        self._first, self._next = first, next_

    def first(self, image: torch.Tensor, reward: torch.Tensor) -> tuple[LatentState, Gaussian]:
        return _unpack(self._first(image, reward))

    def next(self, prev: LatentState, image: torch.Tensor, reward: torch.Tensor,
             action: torch.Tensor) -> tuple[LatentState, Gaussian]:
        return _unpack(self._next(image, reward, prev.z1, prev.z2, action))


def trace_update(model: LatentModel) -> TracedUpdate:
    """Trace ``model``'s batch-1 update as it is now (eval mode); raises TracingUnavailable."""
    if model.autocast:
        raise TracingUnavailable("a bf16-autocast model is not traced (its eager update is the reference)")
    h, w = model.image_shape
    image = torch.zeros(1, h, w, 3, dtype=torch.uint8)
    reward = torch.zeros(1)
    z1 = torch.zeros(1, model.cfg.z1_dim)
    z2 = torch.zeros(1, model.cfg.z2_dim)
    action = torch.zeros(1, model.action_dim)
    model = copy.deepcopy(model).eval()         # the graphs own their weights (freezing would share them)
    rng = torch.get_rng_state()                # tracing runs the graphs once: leave the generator as it was
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore", DeprecationWarning)
            first = torch.jit.optimize_for_inference(
                torch.jit.trace(_First(model), (image, reward), check_trace=False))
            next_ = torch.jit.optimize_for_inference(
                torch.jit.trace(_Next(model), (image, reward, z1, z2, action), check_trace=False))
    except Exception as exc:                   # torch without TorchScript, or an op it cannot freeze
        raise TracingUnavailable(f"cannot trace the belief update: {type(exc).__name__}: {exc}") from exc
    finally:
        torch.set_rng_state(rng)
    return TracedUpdate(first, next_)
