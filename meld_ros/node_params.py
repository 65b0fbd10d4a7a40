"""Typed parameters of the graph's nodes, with their defaults in params/graph.yaml.

Each node has a frozen dataclass; ``declare(node, cls)`` reads the node's
section of params/graph.yaml (the one source of defaults), declares every key
as a ROS parameter with that default (so ``--params-file`` or a launch
argument overrides it), and returns the dataclass built from the final values
with the same type checks as meld_core's configuration.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from meld_core.config import PARAMS_DIR, ConfigError, build_dataclass

GRAPH_PARAMS = PARAMS_DIR / "graph.yaml"


@dataclass(frozen=True)
class BridgeParams:
    env: str
    env_kwargs: str
    mode: str
    camera_topics: tuple[str, ...]
    command_topic: str
    joint_states_topic: str
    ground_truth_topic: str
    command_timeout_s: float
    republish_s: float

    def __post_init__(self):
        if self.mode not in ("lockstep", "realtime"):
            raise ConfigError(f"mujoco_bridge.mode must be lockstep or realtime, got {self.mode!r}")

    def kwargs(self) -> dict:
        value = yaml.safe_load(self.env_kwargs) or {}
        if not isinstance(value, dict):
            raise ConfigError(f"mujoco_bridge.env_kwargs must be a YAML mapping, got {self.env_kwargs!r}")
        return value


@dataclass(frozen=True)
class FusionParams:
    camera_topics: tuple[str, ...]
    observation_topic: str
    image_size: int
    slop_s: float
    max_age_s: float
    diagnostics_period_s: float


def defaults(node_name: str, path: Path = GRAPH_PARAMS) -> dict:
    data = yaml.safe_load(Path(path).read_text()) or {}
    try:
        return dict(data[node_name]["ros__parameters"])
    except (KeyError, TypeError):
        raise ConfigError(f"{path} has no section {node_name}: ros__parameters") from None


def declare(node, cls, section: str | None = None):
    """Declare ``cls``'s fields on ``node`` with graph.yaml defaults; return the typed values."""
    section = section or node.get_name()
    values = {}
    for name, default in defaults(section).items():
        values[name] = node.declare_parameter(name, list(default) if isinstance(default, (list, tuple)) else default).value
    return build_dataclass(cls, values, section)


__all__ = ["BridgeParams", "FusionParams", "declare", "defaults"]
