"""The traced batch-1 update computes what the eager one does, draws the same samples, and owns its weights."""
import numpy as np
import pytest
import torch

from meld_core.agent import MeldAgent
from meld_core.latent_model import LatentModel
from meld_core.sac import SAC
from meld_core.traced_update import TracingUnavailable, trace_update


def _agent(cfg, image_shape):
    torch.manual_seed(0)
    model = LatentModel(cfg.model, image_shape, 3).eval()
    return MeldAgent(model, SAC(cfg.sac, model.latent_dim, 3).actor.eval(), "dense")


def _rollout(agent, images, seed):
    torch.manual_seed(seed)
    agent.reset()
    out, a = [], None
    for t, img in enumerate(images):
        b = agent.update(img, -0.1 * t, a)
        a = agent.act()
        out.append(np.concatenate([b.mean, b.std, b.sample, [b.reward_mean, b.reward_std], a]))
    return np.stack(out)


@pytest.mark.parametrize("image_shape", [(64, 64), (64, 128)])
def test_traced_update_equals_eager(tiny_cfg, image_shape):
    images = np.random.default_rng(1).integers(0, 256, (6, *image_shape, 3), dtype=np.uint8)
    eager = _rollout(_agent(tiny_cfg, image_shape), images, seed=5)
    agent = _agent(tiny_cfg, image_shape).trace()
    assert agent.traced
    traced = _rollout(agent, images, seed=5)
    np.testing.assert_allclose(traced, eager, rtol=1e-4, atol=1e-5)      # same draws, float rounding apart
    assert not np.allclose(_rollout(agent, images, seed=6), traced)      # and the samples are still random


def test_tracing_leaves_the_generator_alone(tiny_cfg):
    agent = _agent(tiny_cfg, (64, 64))
    torch.manual_seed(3)
    agent.trace()
    after_trace = torch.rand(3)
    torch.manual_seed(3)
    assert torch.equal(torch.rand(3), after_trace)


def test_traced_graphs_keep_the_weights_they_were_traced_with(tiny_cfg):
    images = np.zeros((3, 64, 64, 3), np.uint8)
    agent = _agent(tiny_cfg, (64, 64)).trace()
    before = _rollout(agent, images, seed=0)
    with torch.no_grad():
        for p in agent.model.parameters():
            p.add_(1.0)
    np.testing.assert_allclose(_rollout(agent, images, seed=0)[:, :-3], before[:, :-3], rtol=1e-6)


def test_bf16_model_is_not_traced(tiny_cfg):
    model = LatentModel(tiny_cfg.model, (64, 64), 3, precision="bf16")
    with pytest.raises(TracingUnavailable, match="bf16"):
        trace_update(model)


def test_agent_stays_eager_where_tracing_fails(tiny_cfg, monkeypatch):
    import meld_core.agent as agent_module

    def unavailable(model):
        raise TracingUnavailable("no TorchScript here")
    monkeypatch.setattr(agent_module, "trace_update", unavailable)
    agent = _agent(tiny_cfg, (64, 64))
    with pytest.raises(TracingUnavailable):
        agent.trace()
    assert not agent.traced
    assert agent.update(np.zeros((64, 64, 3), np.uint8), 0.0).step == 0
