"""Fixtures built from primitive geoms with MjSpec (the switch, the peg boxes, the button panel).

Each is described by axis-aligned boxes in its body's frame, given as
(lo, hi) corners, which is how a box with a hole or a housing with cavities
is most easily read and checked.
"""
from __future__ import annotations

import numpy as np

from meld_sim_bridge.rendering import mujoco

FRICTION = [0.3, 0.005, 0.0001]


def add_box(body: mujoco.MjsBody, name: str, lo, hi, rgba, collide: bool = True) -> mujoco.MjsGeom:
    """A box geom spanning the corners ``lo`` .. ``hi`` of ``body``'s frame."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    if np.any(hi <= lo):
        raise ValueError(f"box {name!r}: every coordinate of hi must exceed lo, got {lo} .. {hi}")
    return body.add_geom(name=name, type=mujoco.mjtGeom.mjGEOM_BOX, pos=(lo + hi) / 2, size=(hi - lo) / 2,
                         rgba=rgba, contype=1 if collide else 0, conaffinity=1 if collide else 0,
                         condim=3, friction=FRICTION)

