"""Headless MuJoCo rendering on the CPU.

``MUJOCO_GL`` must be chosen before ``mujoco`` is first imported, so every
module of meld_sim_bridge imports mujoco through this one. Shadows and
multisampling are switched off before the renderer is created: on a CPU that
is the difference between ~20 and ~1000 frames per second, and it keeps
renders bit-identical run to run. Haze, reflections and the skybox are off
too (the sky costs ~0.4 ms of a ~2 ms Sawyer frame; the background is black),
and ground planes are drawn with a coarse grid (see ``fast_visual_settings``).
Mesa's llvmpipe rasterises in the calling thread (``LP_NUM_THREADS=0``): for
64x64 frames its thread pool costs more than it saves (WidowX step 2.8 ->
1.6-2.5 ms, point-2d 0.6 -> 0.3-0.5 ms here, same pixels), and it leaves the
other core to the rest of the graph. Set the variable to override.
"""
from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("LP_NUM_THREADS", "0")
if os.environ["MUJOCO_GL"] == "egl":
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import mujoco  # noqa: E402  (after MUJOCO_GL is set)
import numpy as np  # noqa: E402


def fast_visual_settings(model: mujoco.MjModel, height: int, width: int) -> None:
    """No shadows, no multisampling, coarse primitives and ground-plane grids, and an offscreen
    buffer large enough.

    A plane is drawn as a grid of squares of side ``size[2]`` (rendering only; it
    changes no physics): the WidowX table's 1 cm grid was 40,000 squares and
    doubled the cost of a 64x64 frame on the CPU.
    """
    model.vis.quality.shadowsize = 0
    model.vis.quality.offsamples = 0
    # spheres, capsules and cylinders: ~100 instead of ~1000 triangles each (plenty at 64x64)
    model.vis.quality.numslices = min(int(model.vis.quality.numslices), 12)
    model.vis.quality.numstacks = min(int(model.vis.quality.numstacks), 6)
    model.vis.quality.numquads = min(int(model.vis.quality.numquads), 2)
    planes = model.geom_type == mujoco.mjtGeom.mjGEOM_PLANE
    model.geom_size[planes, 2] = np.maximum(model.geom_size[planes, 2], 2.0)
    model.vis.global_.offwidth = max(int(model.vis.global_.offwidth), width)
    model.vis.global_.offheight = max(int(model.vis.global_.offheight), height)


def fast_scene_flags(scene: mujoco.MjvScene) -> None:
    """No haze, reflections or skybox in a scene (each costs a noticeable part of a CPU frame)."""
    for flag in (mujoco.mjtRndFlag.mjRND_HAZE, mujoco.mjtRndFlag.mjRND_REFLECTION, mujoco.mjtRndFlag.mjRND_SKYBOX):
        scene.flags[flag] = 0


def look_at_xyaxes(pos, target, up=(0.0, 0.0, 1.0)) -> list[float]:
    """MuJoCo camera ``xyaxes`` for a camera at ``pos`` looking at ``target``."""
    forward = np.asarray(target, float) - np.asarray(pos, float)
    forward /= np.linalg.norm(forward)
    x = np.cross(forward, up)
    x /= np.linalg.norm(x)
    y = np.cross(x, forward)
    return [*x, *y]


class CameraRenderer:
    """Renders named cameras of one model to uint8 RGB arrays of a fixed size. The OpenGL context is
    made at the first ``render``: an environment built only to read its task set and shapes (the
    learner's ``task_spec.spec_of_env``) never opens one."""

    def __init__(self, model: mujoco.MjModel, height: int, width: int):
        fast_visual_settings(model, height, width)
        self.height, self.width = height, width
        self._renderer: mujoco.Renderer | None = None
        self._model = model

    def camera_id(self, name: str) -> int:
        cam = mujoco.mj_name2id(self._model, mujoco.mjtObj.mjOBJ_CAMERA, name)
        if cam < 0:
            known = [mujoco.mj_id2name(self._model, mujoco.mjtObj.mjOBJ_CAMERA, i)
                     for i in range(self._model.ncam)]
            raise ValueError(f"camera {name!r} not found in the model; cameras: {known}")
        return cam

    def render(self, data: mujoco.MjData, camera: int | str) -> np.ndarray:
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self._model, height=self.height, width=self.width)
            fast_scene_flags(self._renderer.scene)
        cam = self.camera_id(camera) if isinstance(camera, str) else camera
        self._renderer.update_scene(data, camera=cam)
        return self._renderer.render().copy()

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
