"""The ONNX Runtime update and actor compute what the eager ones do, draw the same samples, and own their weights."""
import numpy as np
import pytest
import torch

from meld_core.agent import MeldAgent
from meld_core.latent_model import LatentModel, policy_input_dim
from meld_core.onnx_inference import OnnxActor, OnnxUnavailable, OnnxUpdate
from meld_core.sac import SAC


def _agent(cfg, image_shape, policy_input="sample"):
    torch.manual_seed(0)
    model = LatentModel(cfg.model, image_shape, 3).eval()
    actor = SAC(cfg.sac, policy_input_dim(cfg.model, policy_input), 3).actor.eval()
    return MeldAgent(model, actor, "dense", policy_input)


def _rollout(agent, images, seed, deterministic=False):
    torch.manual_seed(seed)
    agent.reset()
    out, a = [], None
    for t, img in enumerate(images):
        b = agent.update(img, -0.1 * t, a)
        a = agent.act(deterministic)
        out.append(np.concatenate([b.mean, b.std, b.sample, [b.reward_mean, b.reward_std], a]))
    return np.stack(out)


@pytest.mark.parametrize("image_shape,z2_transition", [((64, 64), "stochastic"), ((64, 128), "stochastic"),
                                                       ((64, 64), "deterministic")])
def test_onnxruntime_rollout_equals_eager(tiny_cfg, image_shape, z2_transition):
    from meld_core.config import load_config
    tiny_cfg = load_config("tiny", {"model.z2_transition": z2_transition})
    images = np.random.default_rng(1).integers(0, 256, (6, *image_shape, 3), dtype=np.uint8)
    eager = _rollout(_agent(tiny_cfg, image_shape), images, seed=5)
    agent = _agent(tiny_cfg, image_shape).use_onnxruntime()
    assert agent.engine == "onnxruntime"
    fast = _rollout(agent, images, seed=5)
    np.testing.assert_allclose(fast, eager, rtol=1e-4, atol=1e-5)      # same draws, float rounding apart
    assert not np.allclose(_rollout(agent, images, seed=6), fast)     # and the samples are still random


@pytest.mark.parametrize("policy_input", ["sample", "belief"])
def test_onnx_actor_equals_eager_sampled_and_deterministic(tiny_cfg, policy_input):
    images = np.random.default_rng(2).integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)
    for deterministic in (False, True):
        eager = _rollout(_agent(tiny_cfg, (64, 64), policy_input), images, 7, deterministic)
        fast = _rollout(_agent(tiny_cfg, (64, 64), policy_input).use_onnxruntime(), images, 7, deterministic)
        np.testing.assert_allclose(fast, eager, rtol=1e-4, atol=1e-5)


def test_export_leaves_the_generator_alone(tiny_cfg):
    agent = _agent(tiny_cfg, (64, 64))
    torch.manual_seed(3)
    agent.use_onnxruntime()
    after_export = torch.rand(3)
    torch.manual_seed(3)
    assert torch.equal(torch.rand(3), after_export)


def test_graphs_keep_the_weights_they_were_exported_with(tiny_cfg):
    images = np.zeros((3, 64, 64, 3), np.uint8)
    agent = _agent(tiny_cfg, (64, 64)).use_onnxruntime()
    before = _rollout(agent, images, seed=0)
    with torch.no_grad():
        for p in [*agent.model.parameters(), *agent.actor.parameters()]:
            p.add_(1.0)
    np.testing.assert_allclose(_rollout(agent, images, seed=0), before, rtol=1e-6)


def test_actor_that_cannot_be_exported_says_why(tiny_cfg, monkeypatch):
    def no_exporter(*args, **kwargs):
        raise RuntimeError("no ONNX exporter in this torch")
    monkeypatch.setattr(torch.onnx, "export", no_exporter)
    with pytest.raises(OnnxUnavailable, match="the actor.*no ONNX exporter"):
        OnnxActor(SAC(tiny_cfg.sac, 8, 3).actor)


def test_onnx_actor_rejects_an_input_of_the_wrong_size(tiny_cfg):
    actor = OnnxActor(SAC(tiny_cfg.sac, 8, 3).actor)
    assert actor(torch.zeros(1, 8)).shape == (3,)
    with pytest.raises(ValueError, match=r"\(1, 8\)"):
        actor(torch.zeros(1, 9))


def test_agent_stays_eager_where_export_fails(tiny_cfg, monkeypatch):
    import meld_core.agent as agent_module

    def unavailable(*args):
        raise OnnxUnavailable("no ONNX Runtime here")
    monkeypatch.setattr(agent_module, "OnnxUpdate", unavailable)
    agent = _agent(tiny_cfg, (64, 64))
    with pytest.raises(OnnxUnavailable):
        agent.use_onnxruntime()
    assert agent.engine == "torch"
    assert agent.update(np.zeros((64, 64, 3), np.uint8), 0.0).step == 0
    assert agent.act().shape == (3,)


def test_onnxruntime_sends_no_telemetry(tmp_path):
    """Loading onnxruntime the way meld does leaves no telemetry files: no /tmp/mat-debug-<pid>.log,
    nothing under ~/.cache/Microsoft (the pinned 1.30 writes both unless told not to)."""
    import os
    import subprocess
    import sys
    code = ("import os, torch\n"
            "from meld_core.onnx_inference import OnnxActor\n"
            "from meld_core.sac import Actor\n"
            "OnnxActor(Actor(4, 2, 8), threads=1)\n"
            "print(os.getpid())\n")
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**env, "HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    pid = out.stdout.split()[-1]
    assert not os.path.exists(f"/tmp/mat-debug-{pid}.log")
    assert not (tmp_path / ".cache" / "Microsoft").exists()
