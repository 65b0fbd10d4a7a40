"""Environment names accepted by ``--env`` and the classes behind them.

Each entry names its module and class (imported on first use, so listing the
names loads no physics) and fixed constructor arguments.
"""
from __future__ import annotations

import importlib
from typing import Any

from meld_sim_bridge.envs.base import MeldEnv

#: name -> (module under meld_sim_bridge.envs, class, fixed keyword arguments)
ENVIRONMENTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "point2d": ("point2d", "Point2DEnv", {"variant": "semicircle"}),
    "point2d-2goal": ("point2d", "Point2DEnv", {"variant": "two_goal"}),
    "cheetah-vel": ("cheetah_vel", "CheetahVelEnv", {}),
    "sawyer-reacher": ("sawyer_reacher", "SawyerReacherEnv", {}),
    "sawyer-peg": ("sawyer_peg", "SawyerPegEnv", {}),
    "sawyer-shelf": ("sawyer_shelf", "SawyerShelfEnv", {}),
    "sawyer-button": ("sawyer_button", "SawyerButtonEnv", {}),
    "widowx-cable": ("widowx_cable", "WidowXCableEnv", {}),
}


def make_env(name: str, **kwargs: Any) -> MeldEnv:
    """Build environment ``name`` with keyword overrides of its constructor."""
    try:
        module, cls, fixed = ENVIRONMENTS[name]
    except KeyError:
        raise ValueError(f"unknown environment {name!r}; known: {sorted(ENVIRONMENTS)}") from None
    env_class = getattr(importlib.import_module(f"meld_sim_bridge.envs.{module}"), cls)
    env = env_class(**fixed, **kwargs)
    env.name = name
    return env
