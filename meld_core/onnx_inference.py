"""Batch-1 inference of fixed weights in ONNX Runtime: the belief update and the actor.

The same maths as the eager modules, at batch 1, with the standard normal
draws passed in as inputs (e1, e2, e ~ N(0, I)):

    first update:  f_1 = [enc(x_1), r_1],  z1_1 = mu_q + s_q e1 with q(z1_1 | f_1),
                   z2_1 = mu + s e2 with p(z2_1 | z1_1),  then p(r_1 | z_1)
    later updates: z1_t from q(z1_t | f_t, z2_{t-1}, a_{t-1}),
                   z2_t from p(z2_t | z1_t, z2_{t-1}, a_{t-1}),  then p(r_t | z_t)
    actor:         a = tanh(mu(z) + s(z) e)          (e = 0: the mean action)

The draws come from torch's global generator in the eager order (e1, then
e2; the actor's e), so a seed gives the same rollout as eager torch, to float
rounding (the kernels differ).

Why: a belief node answers one camera frame at a time, and between frames
(tens of ms) this shared 2-core machine lets the caches go cold, so each call
pays for every operator it dispatches. ONNX Runtime runs the whole graph in
one call through lean kernels. For the ``cpu`` profile at 64x128, after a
50 ms idle gap (medians, ``MeldAgent`` calls): the update 1.44 ms against
3.55 ms in eager torch, the actor 0.24 against 0.54 ms; 2.3-2.4x for the
whole step at every size after an idle gap, 3.2-3.9x back to back
(``benchmarks/speed.py --online-only``).

Each graph is exported with ``torch.onnx.export``'s TorchScript-based
exporter (the update's two graphs 0.3-0.5 s, the actor 0.03 s; the
torch.export-based exporter took 2-6 s, too long for a node that switches
weights between collection phases) and keeps the weights it had then: for
weights that no longer change (a node's, per model version). Where export
fails (a torch without the exporter, say),
``OnnxUnavailable`` says why, and the caller stays eager.
"""
from __future__ import annotations

import io
import os
import warnings

import numpy as np
import torch
from torch import nn

from meld_core.gaussian import Gaussian
from meld_core.latent_model import LatentModel, LatentState
from meld_core.sac import Actor


class OnnxUnavailable(RuntimeError):
    """The module cannot be exported to ONNX, or ONNX Runtime cannot load it."""


def import_onnxruntime():
    """``onnxruntime``, imported with its telemetry off: the pinned 1.30 starts a telemetry system when
    the library loads (a ``/tmp/mat-debug-<pid>.log`` per process, a device id and an event database
    under ``~/.cache/Microsoft``) unless ``ORT_DISABLE_TELEMETRY`` is set at that moment;
    ``onnxruntime.disable_telemetry_events()`` comes too late for the files. Every import of
    onnxruntime in meld goes through here. A user's own ``ORT_DISABLE_TELEMETRY=0`` is respected."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime
    return onnxruntime


class _Graph:
    """One module exported to ONNX and run by a single ONNX Runtime session."""

    def __init__(self, what: str, module: nn.Module, inputs: dict[str, torch.Tensor], outputs: list[str],
                 threads: int):
        rng = torch.get_rng_state()        # exporting runs the module once: leave the generator as it was
        try:
            ort = import_onnxruntime()
            buf = io.BytesIO()
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")      # the exporter's deprecation and tracer warnings
                torch.onnx.export(module.eval(), tuple(inputs.values()), buf, input_names=list(inputs),
                                  output_names=outputs, dynamo=False)
            opts = ort.SessionOptions()
            opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
            opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")   # never busy-wait the cores
            opts.log_severity_level = 3
            self._session = ort.InferenceSession(buf.getvalue(), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:          # no onnxruntime, an op without ONNX export, a failed load
            raise OnnxUnavailable(f"cannot run {what} in ONNX Runtime: "
                                  f"{type(exc).__name__}: {exc}") from exc
        finally:
            torch.set_rng_state(rng)
        kept = [i.name for i in self._session.get_inputs()]    # the exporter drops inputs the graph ignores
        if set(kept) - set(inputs):
            raise OnnxUnavailable(f"{what}: the exported graph expects inputs {kept}, "
                                  f"not {list(inputs)}")
        self._names = kept

    def __call__(self, **arrays: np.ndarray) -> list[np.ndarray]:
        return self._session.run(None, {n: arrays[n] for n in self._names})


_STATE = ["z1", "z2", "z1_mean", "z1_std", "z2_mean", "z2_std", "reward_mean", "reward_std"]


def _outputs(model: LatentModel, s: LatentState) -> tuple:
    r = model.decode_reward(s.latent)
    return s.z1, s.z2, s.z1_dist.mean, s.z1_dist.std, s.z2_dist.mean, s.z2_dist.std, r.mean, r.std


class _First(nn.Module):
    def __init__(self, model: LatentModel):
        super().__init__()
        self.model = model

    def forward(self, image, reward, e1, e2):
        return _outputs(self.model, self.model.first_step(self.model.features(image, reward), (e1, e2)))


class _Next(nn.Module):
    def __init__(self, model: LatentModel):
        super().__init__()
        self.model = model

    def forward(self, image, reward, prev_z2, action, e1, e2):
        return _outputs(self.model, self.model.next_step(prev_z2, self.model.features(image, reward), action,
                                                         (e1, e2)))


class _Act(nn.Module):
    def __init__(self, actor: Actor):
        super().__init__()
        self.actor = actor

    def forward(self, x, e):
        return self.actor(x, noise=e)[0]


def _state(out: list[np.ndarray]) -> tuple[LatentState, Gaussian]:
    z1, z2, m1, s1, m2, s2, rm, rs = (torch.from_numpy(a) for a in out)
    return LatentState(z1, z2, Gaussian(m1, s1), Gaussian(m2, s2)), Gaussian(rm, rs)


class OnnxUpdate:
    """``first(image, reward)`` and ``next(prev_z2, image, reward, action)`` -> (state, p(r_t | z_t)):
    uint8 image (1, H, W, 3), reward (1,), z2 (1, z2_dim), action (1, A) as torch tensors."""

    def __init__(self, model: LatentModel, threads: int = 1):
        h, w = model.image_shape
        self._d1, self._d2 = model.cfg.z1_dim, model.cfg.z2_dim
        ex = dict(image=torch.zeros(1, h, w, 3, dtype=torch.uint8), reward=torch.zeros(1),
                  prev_z2=torch.zeros(1, self._d2), action=torch.zeros(1, model.action_dim),
                  e1=torch.zeros(1, self._d1), e2=torch.zeros(1, self._d2))
        first_inputs = {k: ex[k] for k in ("image", "reward", "e1", "e2")}
        self._first = _Graph("the belief's first update", _First(model), first_inputs, _STATE, threads)
        self._next = _Graph("the belief update", _Next(model), ex, _STATE, threads)

    def _noise(self) -> dict[str, np.ndarray]:
        e1 = torch.randn(1, self._d1)             # eager order: z1's draw, then z2's
        return dict(e1=e1.numpy(), e2=torch.randn(1, self._d2).numpy())

    def first(self, image: torch.Tensor, reward: torch.Tensor) -> tuple[LatentState, Gaussian]:
        return _state(self._first(image=image.numpy(), reward=reward.numpy(), **self._noise()))

    def next(self, prev_z2: torch.Tensor, image: torch.Tensor, reward: torch.Tensor,
             action: torch.Tensor) -> tuple[LatentState, Gaussian]:
        return _state(self._next(image=image.numpy(), reward=reward.numpy(), prev_z2=prev_z2.numpy(),
                                 action=action.numpy(), **self._noise()))


class OnnxActor:
    """``actor(x, deterministic)`` -> the action as a float32 vector in [-1, 1], as ``agent.act_on``."""

    def __init__(self, actor: Actor, threads: int = 1):
        self._in, self._a = actor.net[0].in_features, actor.net[-1].out_features // 2
        self._graph = _Graph("the actor", _Act(actor), dict(x=torch.zeros(1, self._in), e=torch.zeros(1, self._a)),
                             ["action"], threads)

    def __call__(self, x: torch.Tensor, deterministic: bool = False) -> np.ndarray:
        if tuple(x.shape) != (1, self._in):
            raise ValueError(f"the actor takes (1, {self._in}) inputs, got {tuple(x.shape)}")
        e = np.zeros((1, self._a), np.float32) if deterministic else torch.randn(1, self._a).numpy()
        return self._graph(x=x.numpy(), e=e)[0][0]
