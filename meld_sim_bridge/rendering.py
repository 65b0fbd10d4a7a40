"""Headless MuJoCo rendering on the CPU.

``MUJOCO_GL`` must be chosen before ``mujoco`` is first imported, so every
module of meld_sim_bridge imports mujoco through this one. Shadows and
multisampling are switched off before the renderer is created: on a CPU that
is the difference between ~20 and ~1000 frames per second, and it keeps
renders bit-identical run to run.
"""
from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")
if os.environ["MUJOCO_GL"] == "egl":
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import mujoco  # noqa: E402  (after MUJOCO_GL is set)
import numpy as np  # noqa: E402


def fast_visual_settings(model: mujoco.MjModel, height: int, width: int) -> None:
    """No shadows, no multisampling, and an offscreen buffer large enough."""
    model.vis.quality.shadowsize = 0
    model.vis.quality.offsamples = 0
    model.vis.global_.offwidth = max(int(model.vis.global_.offwidth), width)
    model.vis.global_.offheight = max(int(model.vis.global_.offheight), height)


class CameraRenderer:
    """Renders named cameras of one model to uint8 RGB arrays of a fixed size."""

    def __init__(self, model: mujoco.MjModel, height: int, width: int):
        fast_visual_settings(model, height, width)
        self.height, self.width = height, width
        self._renderer = mujoco.Renderer(model, height=height, width=width)
        self._model = model

    def camera_id(self, name: str) -> int:
        cam = mujoco.mj_name2id(self._model, mujoco.mjtObj.mjOBJ_CAMERA, name)
        if cam < 0:
            known = [mujoco.mj_id2name(self._model, mujoco.mjtObj.mjOBJ_CAMERA, i)
                     for i in range(self._model.ncam)]
            raise ValueError(f"camera {name!r} not found in the model; cameras: {known}")
        return cam

    def render(self, data: mujoco.MjData, camera: int | str) -> np.ndarray:
        cam = self.camera_id(camera) if isinstance(camera, str) else camera
        self._renderer.update_scene(data, camera=cam)
        return self._renderer.render().copy()

    def close(self) -> None:
        self._renderer.close()
