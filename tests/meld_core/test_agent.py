import numpy as np
import pytest
import torch

from meld_core.agent import MeldAgent, select_reward
from meld_core.latent_model import LatentModel
from meld_core.sac import SAC


@pytest.fixture
def agent(tiny_cfg):
    torch.manual_seed(0)
    model = LatentModel(tiny_cfg.model, (64, 64), 2)
    return MeldAgent(model, SAC(tiny_cfg.sac, model.latent_dim, 2).actor, "dense")


def test_online_update_and_act(agent):
    img = np.zeros((64, 64, 3), np.uint8)
    b0 = agent.update(img, 0.0)
    a = agent.act()
    b1 = agent.update(img, -0.5, a)
    assert b0.step == 0 and b1.step == 1
    assert b1.mean.shape == (agent.model.latent_dim,) and np.all(b1.std > 0)
    assert a.shape == (2,) and np.all(np.abs(a) <= 1)
    assert agent.reconstruction().shape == (64, 64, 3)
    agent.reset()
    assert agent.update(img, 0.0).step == 0


@pytest.mark.parametrize("image, reward, match", [
    (np.zeros((64, 128, 3), np.uint8), 0.0, "shape"),
    (np.zeros((64, 64, 3), np.float32), 0.0, "uint8"),
    (np.zeros((64, 64), np.uint8), 0.0, "shape"),
    (np.zeros((64, 64, 3), np.uint8), float("nan"), "finite"),
])
def test_bad_inputs_rejected(agent, image, reward, match):
    with pytest.raises(ValueError, match=match):
        agent.update(image, reward)


def test_wrong_previous_action_rejected(agent):
    img = np.zeros((64, 64, 3), np.uint8)
    agent.update(img, 0.0)
    with pytest.raises(ValueError, match="2 finite values"):
        agent.update(img, 0.0, [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="2 finite values"):
        agent.update(img, 0.0, [np.nan, 0.0])


def test_select_reward():
    assert select_reward("dense", -1.0, 1.0) == -1.0
    assert select_reward("sparse", -1.0, 1.0) == 1.0
    assert select_reward("none", -1.0, 1.0) == 0.0
    with pytest.raises(ValueError):
        select_reward("shaped", 0, 0)
