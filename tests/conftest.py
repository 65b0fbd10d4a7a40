"""Shared fixtures: small configs and environments, one torch thread."""
import os

import pytest
import torch

os.environ.setdefault("MUJOCO_GL", "egl")
torch.set_num_threads(1)


@pytest.fixture
def tiny_cfg():
    from meld_core.config import load_config
    return load_config("tiny")
