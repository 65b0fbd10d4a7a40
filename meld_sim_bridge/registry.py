"""Environment names accepted by ``--env`` and the classes behind them.

Each entry names its module and class (imported on first use, so listing the
names loads no physics) and fixed constructor arguments.
"""
from __future__ import annotations

import importlib
from functools import partial
from typing import Any

import gymnasium

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


def env_class(name: str) -> type[MeldEnv]:
    """The class behind environment ``name`` (its module imported, nothing built): what an environment
    is, e.g. ``env_class(name).cameras``, without compiling its model."""
    try:
        module, cls, _ = ENVIRONMENTS[name]
    except KeyError:
        raise ValueError(f"unknown environment {name!r}; known: {sorted(ENVIRONMENTS)}") from None
    return getattr(importlib.import_module(f"meld_sim_bridge.envs.{module}"), cls)


def make_env(name: str, **kwargs: Any) -> MeldEnv:
    """Build environment ``name`` with keyword overrides of its constructor."""
    env = env_class(name)(**ENVIRONMENTS[name][2], **kwargs)
    env.name = name
    return env


def gymnasium_id(name: str) -> str:
    """The Gymnasium id of environment ``name``: ``meld/<name>-v0``."""
    return f"meld/{name}-v0"


def register_with_gymnasium() -> None:
    """``gymnasium.make(gymnasium_id(name), **kwargs)`` builds ``make_env(name, **kwargs)`` (idempotent).
    The environments truncate their own episodes, so no TimeLimit wrapper is added."""
    for name in ENVIRONMENTS:
        if gymnasium_id(name) not in gymnasium.registry:
            gymnasium.register(id=gymnasium_id(name), entry_point=partial(make_env, name), max_episode_steps=None)
