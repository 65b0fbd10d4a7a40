"""Shared fixtures (small configs, one torch thread) and the kinds of test.

Every test is one of three kinds, chosen with ``-m``:

- ``unit``: one process, no node graph; seconds in all (``./meld test -m unit``);
- ``graph``: real nodes in processes of their own talking over DDS (and what
  ``ros2 launch`` would start); timing-sensitive, minutes (``-m graph``);
- ``e2e``: the user's commands run as a user runs them (``./meld``,
  ``scripts/setup.sh`` on a fresh clone).

A module (or test) says ``graph`` or ``e2e`` with ``pytestmark``; every other
test is ``unit``.
"""
import os
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))     # tests/support: emulators of real devices

os.environ.setdefault("MUJOCO_GL", "egl")
torch.set_num_threads(1)


@pytest.fixture
def tiny_cfg():
    from meld_core.config import load_config
    return load_config("tiny")


KINDS = {"unit": "one process, no node graph (the default)",
         "graph": "nodes in processes of their own over DDS; timing-sensitive",
         "e2e": "the user's commands (./meld, scripts/setup.sh) run as a user runs them"}


def pytest_configure(config):
    for name, what in KINDS.items():
        config.addinivalue_line("markers", f"{name}: {what}")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if not any(item.get_closest_marker(k) for k in ("graph", "e2e")):
            item.add_marker(pytest.mark.unit)
