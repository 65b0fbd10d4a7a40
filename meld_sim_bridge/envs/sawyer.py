"""The Sawyer arm of the simulated suite, made joint-actuated from metaworld's assets.

metaworld drives the hand through a mocap weld; the papers control the 7 arm
joints with delta-positions. ``build_sawyer_spec`` loads one of metaworld's
``sawyer_xyz/*.xml`` scenes with ``mujoco.MjSpec`` and

- removes the mocap body and its weld, compensates the arm's gravity and adds
  a position servo on each joint right_j0..right_j6 (the gripper keeps its
  own two servos);
- swaps every mesh for a decimated copy (``assets.light_mesh``), keeps one of
  the three lights and turns off reflections, so that two 64x64 cameras
  render in ~2.5 ms on one CPU core;
- adds the two cameras of the papers: ``meld_scene`` (fixed, over the
  table) and ``meld_wrist`` (on the hand, looking along the gripper).

``SawyerEnv`` is the shared environment: action a in [-1, 1]^7 is a joint
delta-position, q*_{t+1} = clip(q*_t + a * max_delta, joint range), tracked
by the servos for 0.25 s (4 Hz); 40-step episodes; observation [scene | wrist]
as 64x128; the reward of the papers on the distance d between a tracked point
and its goal,

    r = -(d^2 + log(d + 1e-5)).

Each task module supplies the objects, the task distribution, d and success.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from meld_sim_bridge.assets import light_mesh, metaworld_assets
from meld_sim_bridge.envs.base import MeldEnv
from meld_sim_bridge.kinematics import solve_ik
from meld_sim_bridge.rendering import CameraRenderer, look_at_xyaxes, mujoco
from meld_sim_bridge.tasks import TaskSplit

SAWYER_JOINTS = [f"right_j{i}" for i in range(7)]
#: orientation of the hand with the gripper pointing down (metaworld's mocap quaternion)
HAND_DOWN = np.array([1.0, 0.0, 1.0, 0.0]) / np.sqrt(2.0)
#: metaworld's hand start position, above the table centre
HAND_HOME = np.array([0.0, 0.6, 0.2])
END_EFFECTOR_SITE = "endEffector"
MAX_MESH_FACES = 120


def sawyer_reward(distance: float) -> float:
    """The papers' shaped reward -(d^2 + log(d + 1e-5)): large and sharp near the goal."""
    return -(distance**2 + np.log(distance + 1e-5))


def build_sawyer_spec(scene_xml: str, max_mesh_faces: int = MAX_MESH_FACES) -> mujoco.MjSpec:
    """metaworld's ``sawyer_xyz/<scene_xml>`` as a joint-actuated, fast-rendering MjSpec."""
    path = metaworld_assets() / "sawyer_xyz" / scene_xml
    if not path.exists():
        raise FileNotFoundError(f"metaworld scene {scene_xml!r} not found under {path.parent}")
    spec = mujoco.MjSpec.from_file(str(path))
    for eq in list(spec.equalities):
        spec.delete(eq)
    if spec.body("mocap") is not None:
        spec.delete(spec.body("mocap"))
    arm = spec.body("right_arm_base_link")
    for body in [arm, *arm.find_all(mujoco.mjtObj.mjOBJ_BODY)]:
        body.gravcomp = 1.0
    for name in SAWYER_JOINTS:
        joint = spec.joint(name)
        act = spec.add_actuator(name=f"{name}_servo", target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        act.set_to_position(kp=400.0, dampratio=1.0)
        act.ctrllimited = 1
        act.ctrlrange = joint.range
        act.forcelimited = 1
        act.forcerange = [-80.0, 80.0]
        joint.armature = 0.1
    for mat in spec.materials:
        mat.reflectance = 0.0
    for light in list(spec.lights)[1:]:   # one directional light and the headlight: each light costs
        spec.delete(light)                # ~10% of a CPU-rendered frame
    spec.lights[0].diffuse = [0.6, 0.6, 0.6]
    mesh_root = Path(spec.modelfiledir) / spec.meshdir
    for mesh in spec.meshes:
        if mesh.file:
            vert, face = light_mesh(mesh_root / mesh.file, max_mesh_faces)
            mesh.file = ""
            mesh.uservert = vert.reshape(-1).tolist()
            mesh.userface = face.reshape(-1).tolist()
    spec.option.timestep = 0.01           # metaworld: 0.0025; 25 substeps per 0.25 s control step
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST   # stable with the stiff servos at 10 ms
    spec.option.tolerance = 1e-8
    spec.worldbody.add_camera(name="meld_scene", pos=[0.95, 0.95, 0.55],
                              xyaxes=look_at_xyaxes([0.95, 0.95, 0.55], [0.0, 0.6, 0.12]), fovy=50)
    spec.body("hand").add_camera(name="meld_wrist", pos=[-0.06, 0.0, 0.07], xyaxes=[0, -1, 0, 0.5, 0, 1], fovy=75)
    return spec


class SawyerEnv(MeldEnv):
    cameras = ("meld_scene", "meld_wrist")
    """Joint delta-position control of the Sawyer at 4 Hz with scene and wrist cameras."""

    control_period = 0.25         # s (4 Hz)
    metadata = {"render_modes": ["rgb_array"], "render_fps": 1 / control_period}
    episode_length = 40
    episodes_per_trial = 1
    max_delta = 0.08              # rad per control step at |a| = 1

    def __init__(self, spec: mujoco.MjSpec, tasks: TaskSplit, image_size: int = 64):
        super().__init__(tasks, image_size, len(SAWYER_JOINTS))
        self.model = spec.compile()
        self.data = mujoco.MjData(self.model)
        self.frame_skip = max(1, round(self.control_period / self.model.opt.timestep))
        self._qadr = np.array([self.model.jnt_qposadr[self.model.joint(n).id] for n in SAWYER_JOINTS])
        self._dadr = np.array([self.model.jnt_dofadr[self.model.joint(n).id] for n in SAWYER_JOINTS])
        self._act = np.array([self.model.actuator(f"{n}_servo").id for n in SAWYER_JOINTS])
        self._grip = [i for i in range(self.model.nu) if i not in set(self._act.tolist())]
        self.joint_range = np.array([self.model.joint(n).range for n in SAWYER_JOINTS])
        self._site = self.model.site(END_EFFECTOR_SITE).id
        self._renderer = CameraRenderer(self.model, image_size, image_size)
        self._cams = [self._renderer.camera_id(c) for c in self.cameras]
        self.home_qpos = self._solve_home()
        self._target = self.home_qpos.copy()

    # ---- arm -----------------------------------------------------------------------
    def _solve_home(self) -> np.ndarray:
        mujoco.mj_resetData(self.model, self.data)
        q, err = solve_ik(self.model, self.data, END_EFFECTOR_SITE, HAND_HOME, SAWYER_JOINTS, HAND_DOWN)
        if err > 1e-3:
            raise RuntimeError(f"Sawyer home pose not reachable (error {err:.3f} m)")
        return q

    @property
    def action_scale(self) -> np.ndarray:
        return np.full(len(SAWYER_JOINTS), self.max_delta / self.control_period)   # rad/s of target motion

    @property
    def joint_positions(self) -> np.ndarray:
        return self.data.qpos[self._qadr].copy()

    @property
    def end_effector(self) -> np.ndarray:
        return self.data.site_xpos[self._site].copy()

    def _reset_arm(self, gripper: float = -1.0) -> None:
        """Arm at home, at rest; servo targets there; gripper command (-1 open, 1 closed)."""
        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[self._qadr] = self.home_qpos
        self._target = self.home_qpos.copy()
        self.data.ctrl[self._act] = self._target
        for k, i in enumerate(self._grip):
            self.data.ctrl[i] = gripper if k == 0 else -gripper
        mujoco.mj_forward(self.model, self.data)

    def _apply_action(self, action: np.ndarray) -> None:
        self._target = np.clip(self._target + action * self.max_delta, self.joint_range[:, 0], self.joint_range[:, 1])
        self.data.ctrl[self._act] = self._target
        mujoco.mj_step(self.model, self.data, nstep=self.frame_skip)

    def _observe(self) -> np.ndarray:
        return np.concatenate([self._renderer.render(self.data, c) for c in self._cams], axis=1)

    def close(self):
        self._renderer.close()
