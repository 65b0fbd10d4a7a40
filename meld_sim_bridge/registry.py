"""Environment names accepted by ``--env`` and the classes behind them."""
from __future__ import annotations

from typing import Any, Callable

from meld_sim_bridge.envs.base import MeldEnv


def _point2d(**kw):
    from meld_sim_bridge.envs.point2d import Point2DEnv
    return Point2DEnv(variant="semicircle", **kw)


def _point2d_2goal(**kw):
    from meld_sim_bridge.envs.point2d import Point2DEnv
    return Point2DEnv(variant="two_goal", **kw)


def _cheetah_vel(**kw):
    from meld_sim_bridge.envs.cheetah_vel import CheetahVelEnv
    return CheetahVelEnv(**kw)


def _sawyer_reacher(**kw):
    from meld_sim_bridge.envs.sawyer_reacher import SawyerReacherEnv
    return SawyerReacherEnv(**kw)


def _sawyer_peg(**kw):
    from meld_sim_bridge.envs.sawyer_peg import SawyerPegEnv
    return SawyerPegEnv(**kw)


def _sawyer_shelf(**kw):
    from meld_sim_bridge.envs.sawyer_shelf import SawyerShelfEnv
    return SawyerShelfEnv(**kw)


def _sawyer_button(**kw):
    from meld_sim_bridge.envs.sawyer_button import SawyerButtonEnv
    return SawyerButtonEnv(**kw)


def _widowx_cable(**kw):
    from meld_sim_bridge.envs.widowx_cable import WidowXCableEnv
    return WidowXCableEnv(**kw)


ENVIRONMENTS: dict[str, Callable[..., MeldEnv]] = {
    "point2d": _point2d,
    "point2d-2goal": _point2d_2goal,
    "cheetah-vel": _cheetah_vel,
    "sawyer-reacher": _sawyer_reacher,
    "sawyer-peg": _sawyer_peg,
    "sawyer-shelf": _sawyer_shelf,
    "sawyer-button": _sawyer_button,
    "widowx-cable": _widowx_cable,
}


def make_env(name: str, **kwargs: Any) -> MeldEnv:
    """Build environment ``name`` with keyword overrides of its constructor."""
    try:
        factory = ENVIRONMENTS[name]
    except KeyError:
        raise ValueError(f"unknown environment {name!r}; known: {sorted(ENVIRONMENTS)}") from None
    env = factory(**kwargs)
    env.name = name
    return env
