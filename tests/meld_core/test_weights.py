"""Weights files: the agent they make acts exactly like the trainer's; damage is refused."""
import numpy as np
import pytest
import torch

from meld_core.checkpoint import CheckpointError
from meld_core.config import load_config
from meld_core.meta_train import MetaTrainer
from meld_core.weights import load_weights, save_weights, sha256_of


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    d = tmp_path_factory.mktemp("w")
    trainer = MetaTrainer(load_config("tiny", {"train.iterations": 1}), d / "run", resume=False)
    trainer.run()
    sha = save_weights(d / "weights.pt", 3, trainer.cfg, trainer.spec, trainer.algo.agent)
    return trainer, d / "weights.pt", sha


def test_weights_make_the_same_agent(exported):
    trainer, path, sha = exported
    w = load_weights(path, sha256=sha)
    assert w.version == 3 and w.action_dim == 2 and w.action_scale == [2.0, 2.0]
    agent = w.make_agent()
    image = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    for a in (agent, trainer.algo.agent):
        a.model.eval()
        a.reset()
    torch.manual_seed(5)
    b1 = agent.update(image, -0.5)
    torch.manual_seed(5)
    b2 = trainer.algo.agent.update(image, -0.5)
    assert np.array_equal(b1.mean, b2.mean) and np.array_equal(b1.sample, b2.sample)
    assert np.array_equal(agent.act(deterministic=True), trainer.algo.agent.act(deterministic=True))


def test_damaged_or_wrong_weights_refused(exported, tmp_path):
    _, path, sha = exported
    with pytest.raises(CheckpointError, match="sha256"):
        load_weights(path, sha256="0" * 64)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="corrupt"):
        load_weights(bad)
    assert sha256_of(path) == sha                         # the original is untouched
