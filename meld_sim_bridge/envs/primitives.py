"""Fixtures built from primitive boxes with MjSpec (the switch, the peg boxes, the button panel).

Each is described by axis-aligned boxes in its body's frame, given as
(lo, hi) corners, which is how a box with a hole or a housing with cavities
is most easily read and checked. ``add_box_fixture`` collides through the
boxes themselves (hidden, group 3) but draws them as one merged mesh: on a
CPU every drawn geom costs ~50 microseconds of a 64x64 frame.
"""
from __future__ import annotations

import numpy as np

from meld_sim_bridge.rendering import mujoco

FRICTION = [0.3, 0.005, 0.0001]
COLLISION_GROUP = 3          # not drawn by default (mjvOption.geomgroup shows 0-2)

# the 8 corners of a unit box and its 12 outward-facing triangles
_CORNERS = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], float)
_FACES = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                   [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])


def _corners(lo, hi) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    if lo.shape != (3,) or hi.shape != (3,) or np.any(hi <= lo):
        raise ValueError(f"a box needs 3-D corners with hi > lo everywhere, got {lo} .. {hi}")
    return lo, hi


def add_box(body: mujoco.MjsBody, name: str, lo, hi, rgba, collide: bool = True,
            group: int = 0) -> mujoco.MjsGeom:
    """A box geom spanning the corners ``lo`` .. ``hi`` of ``body``'s frame."""
    lo, hi = _corners(lo, hi)
    return body.add_geom(name=name, type=mujoco.mjtGeom.mjGEOM_BOX, pos=(lo + hi) / 2, size=(hi - lo) / 2,
                         rgba=rgba, contype=1 if collide else 0, conaffinity=1 if collide else 0,
                         condim=3, friction=FRICTION, group=group)


def box_mesh(boxes: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and triangles of the union of boxes (as separate closed boxes)."""
    verts, faces = [], []
    for i, (lo, hi) in enumerate(boxes):
        lo, hi = _corners(lo, hi)
        verts.append(lo + _CORNERS * (hi - lo))
        faces.append(_FACES + 8 * i)
    return np.concatenate(verts), np.concatenate(faces)


def add_box_fixture(spec: mujoco.MjSpec, body: mujoco.MjsBody, name: str, boxes: list[tuple], rgba) -> None:
    """Collision boxes (hidden) plus one drawn mesh of all of them, on ``body``."""
    for i, (lo, hi) in enumerate(boxes):
        add_box(body, f"{name}_{i}", lo, hi, rgba, group=COLLISION_GROUP)
    vert, face = box_mesh(boxes)
    spec.add_mesh(name=f"{name}_mesh", uservert=vert.reshape(-1).tolist(), userface=face.reshape(-1).tolist(),
                  inertia=mujoco.mjtMeshInertia.mjMESH_INERTIA_SHELL)
    body.add_geom(name=f"{name}_visual", type=mujoco.mjtGeom.mjGEOM_MESH, meshname=f"{name}_mesh", rgba=rgba,
                  contype=0, conaffinity=0, mass=0.0, group=1)
