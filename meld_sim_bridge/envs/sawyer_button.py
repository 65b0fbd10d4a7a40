"""Sawyer button press: a panel of three identical buttons; its position and which button vary.

Buttons are pressed from above (the hand points down); each is a cap on a
spring-loaded slide joint with ``TRAVEL`` of travel. Task: the panel's centre
(x in [-0.1, 0.1], y in [0.72, 0.8]) and the index of the correct button.
Trials of two episodes: the first to find the button, the second to press it
straight away. d = distance from the end-effector to the correct cap's top
when fully pressed; dense reward -(d^2 + log(d + 1e-5)). Sparse reward and
success: the correct button has been pressed at least ``press_depth`` deep in
this episode (latched until the next reset; pressing another button earns
nothing).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meld_sim_bridge.envs.primitives import add_box
from meld_sim_bridge.envs.sawyer import SawyerEnv, build_sawyer_spec, sawyer_reward
from meld_sim_bridge.rendering import mujoco
from meld_sim_bridge.tasks import split_tasks

N_BUTTONS = 3
SPACING = 0.1
PANEL_HALF, PANEL_HEIGHT = np.array([0.16, 0.05]), 0.05
CAP_RADIUS, CAP_HALF_HEIGHT, TRAVEL = 0.025, 0.01, 0.02
PANEL_LOW, PANEL_HIGH = np.array([-0.1, 0.72]), np.array([0.1, 0.8])


@dataclass(frozen=True)
class ButtonTask:
    panel_xy: tuple[float, float]
    button: int


def _button_x(k: int) -> float:
    return (k - (N_BUTTONS - 1) / 2) * SPACING


class SawyerButtonEnv(SawyerEnv):
    episodes_per_trial = 2

    def __init__(self, press_depth: float = 0.012, image_size: int = 64, n_train: int = 30, n_eval: int = 10,
                 task_seed: int = 0):
        def sample(rng):
            return ButtonTask(tuple(float(v) for v in rng.uniform(PANEL_LOW, PANEL_HIGH)), int(rng.integers(N_BUTTONS)))

        spec = build_sawyer_spec("sawyer_reach_v3.xml")
        spec.delete(spec.body("obj"))
        spec.site("goal").rgba = [0, 0, 0, 0]
        panel = spec.worldbody.add_body(name="panel", pos=[0.0, 0.76, 0.0])
        hx, hy = PANEL_HALF
        add_box(panel, "panel", [-hx, -hy, 0.0], [hx, hy, PANEL_HEIGHT], [0.2, 0.2, 0.22, 1])
        for k in range(N_BUTTONS):
            button = panel.add_body(name=f"button{k}", pos=[_button_x(k), 0.0, PANEL_HEIGHT + CAP_HALF_HEIGHT])
            button.explicitinertial, button.mass, button.inertia = True, 0.02, [1e-5, 1e-5, 1e-5]
            button.add_joint(name=f"button{k}", type=mujoco.mjtJoint.mjJNT_SLIDE, axis=[0, 0, 1],
                             range=[-TRAVEL, 0.0], limited=1, stiffness=40.0, springref=0.01, damping=2.0)
            button.add_geom(name=f"button{k}", type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[CAP_RADIUS, CAP_HALF_HEIGHT, 0],
                            rgba=[0.85, 0.1, 0.1, 1], condim=3)
            spec.add_exclude(bodyname1="panel", bodyname2=f"button{k}")     # the cap slides into the panel
            button.add_site(name=f"button{k}_top", pos=[0, 0, CAP_HALF_HEIGHT], size=[0.004] * 3, rgba=[0, 0, 0, 0])
        super().__init__(spec, split_tasks(sample, n_train, n_eval, task_seed), image_size)
        self.press_depth = press_depth
        self._panel = self.model.body("panel").id
        self._qadr_buttons = [self.model.jnt_qposadr[self.model.joint(f"button{k}").id] for k in range(N_BUTTONS)]
        self._tops = [self.model.site(f"button{k}_top").id for k in range(N_BUTTONS)]
        self._pressed = False

    def _reset_sim(self, rng):
        self.model.body_pos[self._panel] = [*self._task.panel_xy, 0.0]
        self._reset_arm(gripper=1.0)
        self._pressed = False

    def button_depth(self, k: int) -> float:
        return float(-self.data.qpos[self._qadr_buttons[k]])

    def button_top(self, k: int) -> np.ndarray:
        return self.data.site_xpos[self._tops[k]].copy()

    def _rewards(self):
        k = self._task.button
        pressed_top = self.button_top(k) - [0.0, 0.0, TRAVEL - self.button_depth(k)]
        d = float(np.linalg.norm(self.end_effector - pressed_top))
        self._pressed = self._pressed or self.button_depth(k) >= self.press_depth
        return sawyer_reward(d), float(self._pressed), self._pressed
