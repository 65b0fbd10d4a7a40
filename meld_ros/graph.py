"""The node graphs of meld, described once (no ROS here).

A graph is a list of ``NodeSpec`` (node name, the meld_ros module that runs
it, parameter overrides on top of params/graph.yaml) built from launch
arguments. Two things read it: the real ``launch/*.launch.py`` files (for
``ros2 launch meld_ros ...`` on a ROS 2 Jazzy install) and ``meld launch``
(``meld_ros/launcher.py``), which starts the same nodes as processes where the
``launch`` package is not installed.

Graphs and their arguments (defaults in ``ARGUMENTS``):

- ``sim_meta_train``: MuJoCo bridge (lockstep) -> camera fusion -> reward
  sensing -> belief -> policy, reset rig (sim driver), learner. ``env``,
  ``profile``, ``run_dir``, ``overrides``.
- ``sim_meta_test``: the same without training: the learner node in meta-test
  mode loads ``checkpoint`` (a run directory), ships its weights and runs
  ``trials`` trials per held-out task with the sparse or dense reward the
  checkpoint's model takes, printing success per episode; its weights and
  results go to ``results_dir`` (default: a new ``<checkpoint>_meta_test/<time>``),
  never into the run. ``reward_input:=none`` hides every reward from the belief:
  the same policy, task-blind (what inferring the task is worth).
- ``widowx_meta_train`` / ``widowx_meta_test``: the WidowX cable insertion;
  ``use_sim:=true`` puts the MuJoCo bridge behind the hardware's topics
  (with ``sim_arm_interface:=xs_sdk sim_mode:=realtime``, behind Interbotix's
  driver topics, as their ``xs_sdk_sim``, the policy's commands going through
  the arm adapter as on the robot),
  ``use_sim:=false`` is the real robot (``hardware_nodes``): the camera
  drivers (``camera_driver``: usb_cam, v4l2_camera, or meld's OpenCV node;
  ``auto`` takes the first installed; ``none`` when they run elsewhere),
  devices ``scene_camera`` / ``wrist_camera``, on ``/camera/{scene,wrist}/image_raw``),
  the arm driver of ``arm_driver`` (``xs_sdk``: Interbotix's, with
  params/xs_sdk_modes.yaml; ``ros2_control``: the ``arm_controller``
  velocity controller spawned into a running controller manager) when
  ``start_arm_driver`` is true (``auto``, the default: when its package is
  installed; otherwise it is brought up elsewhere), the arm adapter (joint limits, time-outs,
  homing), the rig's Dynamixel driver, reward sensing from the joint states,
  the rig calibration and the insertion sensor, camera fusion sampling the
  newest frames at the control rate, and the rest of the graph unchanged.

Simulation takes ``sim_mode``: ``lockstep`` (default: the bridge steps once per
answer of the policy and publishes /clock, every node on simulated time, as
fast as the graph computes) or ``realtime`` (the bridge steps at the robot's
control rate on the system clock with whatever command is fresh, zero if none:
the timing of the hardware, with nodes on the system clock). A parameter file
cannot change the bridge's mode: the nodes' clocks must match it.

Every graph takes ``run_id`` (default: a new one per launch, ``new_run_id``):
the learner names its weights messages with it and the belief and policy
nodes ignore any other run's, so two graphs on one ROS domain cannot load each
other's weights (``meld launch`` also gives each graph a domain of its own).

Every graph takes ``record`` (default false: the recorder writes the graph's
topics to rosbag2-compatible MCAP bags in ``<run_dir>/bags``; the camera
topics too with ``record_cameras``) and ``foxglove`` (default false: a
live-view server for Foxglove on ``foxglove_port``, 8766).

Every graph takes ``compose`` (default true): camera fusion, reward sensing,
belief and policy, and in simulation the MuJoCo bridge with them (as
gz_ros2_control runs the controllers inside the simulator), run composed in
one process, ``control_loop`` (``meld_ros/container.py``), passing their
messages to one another inside it; everything still goes out over DDS to
whoever else subscribes (learner, rviz, recorders). ``compose:=false`` runs
every node in a process of its own (isolation: one node can be killed or
debugged alone). Node names, topics and parameters are the same either way.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from meld_sim_bridge.registry import ENVIRONMENTS, env_class

CAMERAS = ["/camera/scene/image_raw", "/camera/wrist/image_raw"]


@dataclass(frozen=True)
class NodeSpec:
    name: str                      #: ROS node name (and its section in params/graph.yaml)
    module: str                    #: meld_ros.<module> runs it; the installed executable is <name>
    parameters: dict = field(default_factory=dict)
    main: bool = False             #: the graph is done when this node exits
    members: tuple = ()            #: a container (module "container"): the NodeSpecs composed in it
    namespace: str = ""            #: its ROS namespace ("" : the root)
    package: str = "meld_ros"      #: another package's node (a driver): its executable ``executable``
    executable: str = ""
    arguments: tuple = ()          #: command-line arguments before --ros-args (another package's node)
    one_shot: bool = False         #: exits when its work is done (a controller spawner): exit 0 is no failure


#: the nodes ``compose:=true`` puts into one process (those present in the graph, in its order)
CONTROL_LOOP = ("mujoco_bridge", "camera_fusion", "reward_sensing", "belief", "policy")


def compose(nodes: list[NodeSpec], names: tuple[str, ...] = CONTROL_LOOP, name: str = "control_loop") -> list[NodeSpec]:
    """``nodes`` with those named in ``names`` replaced by one container spec at the first one's place."""
    members = tuple(n for n in nodes if n.name in names)
    if not members:
        return list(nodes)
    out = [n for n in nodes if n.name not in names]
    out.insert(nodes.index(members[0]), NodeSpec(name, "container", members=members))
    return out


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True                     # rcl's parameter-file parser refuses YAML anchors and aliases


def member_parameters(spec: NodeSpec) -> str:
    """A container's parameter overrides as a ROS 2 parameter file (YAML, one section per node)."""
    return yaml.dump({m.name: {"ros__parameters": dict(m.parameters)} for m in spec.members}, Dumper=_NoAliases)


def write_member_parameters(spec: NodeSpec, directory: str | Path) -> Path:
    """``member_parameters(spec)`` as a file in ``directory``, named by its content: the same
    overrides reuse one file (launches do not pile files up), written atomically (two launches at
    once never read half a file)."""
    text = member_parameters(spec)
    path = Path(directory) / f"meld_{spec.name}_{hashlib.sha256(text.encode()).hexdigest()[:16]}.params.yaml"
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return path


ARGUMENTS = {
    "sim_meta_train": {"env": "point2d", "profile": "cpu", "run_dir": "runs/graph", "overrides": "[]",
                       "params_file": "", "use_sim": "true", "compose": "true",
                       "sim_mode": "lockstep", "run_id": ""},
    "sim_meta_test": {"env": "point2d", "checkpoint": "runs/graph", "trials": "5", "results_dir": "", "reward_input": "",
                      "params_file": "", "use_sim": "true", "compose": "true", "sim_mode": "lockstep", "run_id": ""},
    "widowx_meta_train": {"use_sim": "false", "profile": "cpu", "run_dir": "runs/widowx", "overrides": "[]",
                          "params_file": "", "compose": "true", "sim_mode": "lockstep", "run_id": ""},
    "widowx_meta_test": {"use_sim": "false", "checkpoint": "runs/widowx", "trials": "5", "results_dir": "",
                         "reward_input": "", "params_file": "", "compose": "true", "sim_mode": "lockstep", "run_id": ""},
}
#: the real robot's arguments (widowx graphs; used with use_sim:=false)
HARDWARE_ARGUMENTS = {"arm_driver": "xs_sdk", "start_arm_driver": "auto", "robot_name": "wx250",
                      "sim_arm_interface": "ros2_control",
                      "camera_driver": "auto", "scene_camera": "/dev/video_scene", "wrist_camera": "/dev/video_wrist"}
for _g in ("widowx_meta_train", "widowx_meta_test"):
    ARGUMENTS[_g].update(HARDWARE_ARGUMENTS)
#: every graph's operating arguments: a bag of its topics, the live view
OPERATING_ARGUMENTS = {"record": "false", "record_cameras": "false", "foxglove": "false", "foxglove_port": "8766"}
for _g in ARGUMENTS:
    ARGUMENTS[_g].update(OPERATING_ARGUMENTS)

CAMERA_DRIVERS = ("usb_cam", "v4l2_camera", "opencv")
#: the package whose presence ``start_arm_driver:=auto`` looks for
ARM_DRIVER_PACKAGES = {"xs_sdk": "interbotix_xs_sdk", "ros2_control": "controller_manager"}


def installed(package: str) -> bool:
    """Whether a ROS package is installed in the sourced workspaces (the ament index)."""
    from ament_index_python.packages import PackageNotFoundError, get_package_prefix
    try:
        get_package_prefix(package)
        return True
    except PackageNotFoundError:
        return False


def share_file(package: str, relative: str, why: str) -> str:
    """A file of another package's share directory; GraphError naming ``why`` if the package is absent."""
    from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
    try:
        return str(Path(get_package_share_directory(package)) / relative)
    except PackageNotFoundError:
        raise GraphError(f"{why} needs the ROS package {package}, which is not installed (or its workspace is not "
                         f"sourced)") from None


def new_run_id() -> str:
    """A name for one launch of a graph: its learner's weights messages carry it, and its belief and
    policy nodes take no other run's (two graphs on one ROS domain would load each other's)."""
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


class GraphError(ValueError):
    """An unknown graph or argument, or a combination that cannot run."""


def _truthy(value: str, key: str) -> bool:
    v = str(value).lower()
    if v not in ("true", "false", "1", "0"):
        raise GraphError(f"{key} must be true or false, got {value!r}")
    return v in ("true", "1")


def resolve_arguments(graph: str, given: dict[str, str]) -> dict[str, str]:
    if graph not in ARGUMENTS:
        raise GraphError(f"unknown graph {graph!r}; graphs: {sorted(ARGUMENTS)}")
    unknown = set(given) - set(ARGUMENTS[graph])
    if unknown:
        raise GraphError(f"{graph} has no argument(s) {sorted(unknown)}; arguments: {sorted(ARGUMENTS[graph])}")
    return {**ARGUMENTS[graph], **given}


def build_graph(graph: str, given: dict[str, str] | None = None) -> list[NodeSpec]:
    args = resolve_arguments(graph, given or {})
    use_sim = _truthy(args["use_sim"], "use_sim")
    composed = _truthy(args["compose"], "compose")
    env = "widowx-cable" if graph.startswith("widowx") else args["env"]
    if env not in ENVIRONMENTS:
        raise GraphError(f"unknown env {env!r}; environments: {sorted(ENVIRONMENTS)}")
    cameras = CAMERAS[:len(env_class(env).cameras)]
    if args["sim_mode"] not in ("lockstep", "realtime"):
        raise GraphError(f"sim_mode must be lockstep or realtime, got {args['sim_mode']!r}")
    lockstep = use_sim and args["sim_mode"] == "lockstep"
    sim_time = {"use_sim_time": lockstep}          # realtime simulation runs on the system clock, as hardware
    run = {"run_id": args["run_id"] or new_run_id()}
    if args.get("reward_input", "") not in ("", "dense", "sparse", "none"):
        raise GraphError(f"reward_input must be '', dense, sparse or none, got {args['reward_input']!r}")
    blind = {"reward_input": args["reward_input"]} if args.get("reward_input") else {}
    nodes = []
    if use_sim:
        interface = args.get("sim_arm_interface", "ros2_control")
        if interface not in ("ros2_control", "xs_sdk"):
            raise GraphError(f"sim_arm_interface must be ros2_control or xs_sdk, got {interface!r}")
        xs = interface == "xs_sdk"
        if xs and args["sim_mode"] != "realtime":
            raise GraphError("sim_arm_interface:=xs_sdk puts the simulator behind the robot's driver topics, with the "
                             "robot's timing: it needs sim_mode:=realtime")
        bridge = {"env": env, "mode": args["sim_mode"], "camera_topics": cameras}
        nodes.append(NodeSpec("mujoco_bridge", "mujoco_bridge_node",
                              {**bridge, "interface": "xs_sdk", "robot_name": args["robot_name"]} if xs else bridge))
        if xs:            # as on the robot: the policy's commands reach the arm only through the adapter
            nodes.append(NodeSpec("arm_adapter", "arm_adapter_node", {"driver": "xs_sdk",
                                                                      "robot_name": args["robot_name"], **sim_time}))
        nodes += [
            NodeSpec("camera_fusion", "camera_fusion_node", {"camera_topics": cameras, **sim_time}),
            NodeSpec("reward_sensing", "reward_node", sim_time),
            NodeSpec("belief", "belief_node", {**sim_time, **run, **blind}),
            NodeSpec("policy", "policy_node", {**sim_time, **run, **({"command_topic": "/meld/arm_command"} if xs
                                                                      else {})}),
            NodeSpec("reset_rig", "reset_rig_node", sim_time),
        ]
    elif not graph.startswith("widowx"):
        raise GraphError(f"{graph} is a simulation graph: use_sim must be true")
    else:
        nodes += hardware_nodes(args, env, cameras, run, blind)
    extra = operating_nodes(graph, args, sim_time)
    # with a recorder, the learner's first trial waits for it: a bag then holds every trial
    recorded = {"wait_for_recorder": True} if any(n.name == "recorder" for n in extra) else {}
    if graph.endswith("meta_train"):
        nodes.append(NodeSpec("learner", "learner_node", {
            "profile": args["profile"], "run_dir": args["run_dir"], "overrides": args["overrides"],
            "env": env, "mode": "train", **sim_time, **run, **recorded}, main=True))
    else:
        if not str(args["trials"]).isdigit() or int(args["trials"]) < 1:
            raise GraphError(f"trials must be a whole number >= 1, got {args['trials']!r}")
        nodes.append(NodeSpec("learner", "learner_node", {
            "run_dir": args["checkpoint"], "mode": "meta_test", "trials": int(args["trials"]), "env": env,
            "results_dir": args["results_dir"], **sim_time, **run, **blind, **recorded}, main=True))
    nodes += extra
    return compose(nodes) if composed else nodes


def operating_nodes(graph: str, args: dict, sim_time: dict) -> list[NodeSpec]:
    """``record:=true``: the recorder, its bags in the run directory (meta-test: beside the checkpoint's
    results); ``foxglove:=true``: the live view on ``foxglove_port``."""
    nodes = []
    if _truthy(args["record"], "record"):
        if graph.endswith("meta_train"):
            where = f"{args['run_dir']}/bags"
        else:
            where = f"{args['results_dir']}/bags" if args["results_dir"] else \
                f"{str(args['checkpoint']).rstrip('/')}_meta_test/bags"
        nodes.append(NodeSpec("recorder", "recorder_node", {
            "directory": where, "cameras": _truthy(args["record_cameras"], "record_cameras")}))
    if _truthy(args["foxglove"], "foxglove"):
        port = str(args["foxglove_port"])
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise GraphError(f"foxglove_port must be a port number, got {port!r}")
        nodes.append(NodeSpec("live_view", "live_view_node", {"port": int(port), **sim_time}))
    return nodes


def hardware_nodes(args: dict, env: str, cameras: list[str], run: dict, blind: dict) -> list[NodeSpec]:
    """The real robot's side of a widowx graph (``use_sim:=false``), up to the learner."""
    robot, arm = args["robot_name"], args["arm_driver"]
    if arm not in ("xs_sdk", "ros2_control"):
        raise GraphError(f"arm_driver must be xs_sdk or ros2_control, got {arm!r}")
    if not robot.replace("_", "").isalnum():
        raise GraphError(f"robot_name must be a plain name (letters, digits, _), got {robot!r}")
    nodes = camera_nodes(args["camera_driver"], {"scene": args["scene_camera"], "wrist": args["wrist_camera"]})
    start = args["start_arm_driver"]
    if start == "auto":             # ours to start where its packages are installed; else it runs elsewhere
        start = "true" if installed(ARM_DRIVER_PACKAGES[arm]) else "false"
    if _truthy(start, "start_arm_driver (or auto)"):
        nodes.append(arm_driver_node(arm, robot))
    joint_states = f"/{robot}/joint_states" if arm == "xs_sdk" else "/joint_states"
    control_period = env_class(env).control_period
    clock = {"use_sim_time": False}
    nodes += [
        NodeSpec("arm_adapter", "arm_adapter_node", {"driver": arm, "robot_name": robot, **clock}),
        NodeSpec("camera_fusion", "camera_fusion_node", {"camera_topics": cameras, "sampling": "newest",
                                                         "tick_period_s": control_period, **clock}),
        NodeSpec("reward_sensing", "reward_node", {"source": "hardware", "joint_states_topic": joint_states,
                                                   "task_env": env, **clock}),
        NodeSpec("belief", "belief_node", {**clock, **run, **blind}),
        NodeSpec("policy", "policy_node", {"command_topic": "/meld/arm_command", **clock, **run}),
        NodeSpec("reset_rig", "reset_rig_node", {"driver": "dynamixel", "task_env": env, **clock}),
    ]
    return nodes


def camera_nodes(driver: str, devices: dict[str, str]) -> list[NodeSpec]:
    """One camera driver per camera, each in ``/camera/<name>`` (publishing ``image_raw`` there), with the
    parameters of params/graph.yaml's ``opencv_camera`` section (usb_cam's names) and its device."""
    if driver == "none":
        return []
    if driver == "auto":
        driver = next((d for d in CAMERA_DRIVERS[:2] if installed(d)), "opencv")
    if driver not in CAMERA_DRIVERS:
        raise GraphError(f"camera_driver must be auto, none or one of {CAMERA_DRIVERS}, got {driver!r}")
    from meld_ros.runtime.node_params import defaults      # params/graph.yaml, read only here
    camera = defaults("opencv_camera")
    nodes = []
    for name, device in devices.items():
        ns = f"/camera/{name}"
        if driver == "opencv":
            nodes.append(NodeSpec(f"{name}_camera", "opencv_camera_node", {"video_device": device}, namespace=ns,
                                  executable="opencv_camera"))
        elif driver == "usb_cam":
            nodes.append(NodeSpec(f"{name}_camera", "", {**{k: camera[k] for k in (
                "framerate", "image_width", "image_height", "pixel_format")}, "video_device": device,
                "frame_id": f"{name}_camera", "camera_name": f"{name}_camera"},
                namespace=ns, package="usb_cam", executable="usb_cam_node_exe"))
        else:
            nodes.append(NodeSpec(f"{name}_camera", "", {"video_device": device, "image_size": [
                camera["image_width"], camera["image_height"]], "output_encoding": "rgb8", "camera_frame_id":
                f"{name}_camera"}, namespace=ns, package="v4l2_camera", executable="v4l2_camera_node"))
    return nodes


def arm_driver_node(arm: str, robot: str) -> NodeSpec:
    """Interbotix's xs_sdk with our operating modes, or the ros2_control velocity controller spawned into the
    controller manager of the arm's ros2_control bring-up (ROBOTIS dynamixel_hardware_interface)."""
    from meld_core.config import PARAMS_DIR
    if arm == "xs_sdk":
        motors = share_file("interbotix_xsarm_control", f"config/{robot}.yaml", "arm_driver xs_sdk (its motor "
                            "configs; or start the driver yourself and pass start_arm_driver:=false)")
        return NodeSpec("xs_sdk", "", {"motor_configs": motors, "mode_configs": str(PARAMS_DIR / "xs_sdk_modes.yaml"),
                                       "load_configs": False}, namespace=robot,
                        package="interbotix_xs_sdk", executable="xs_sdk")
    if not installed("controller_manager"):
        raise GraphError("arm_driver ros2_control needs the ROS package controller_manager (its spawner); or spawn "
                         "the controller yourself and pass start_arm_driver:=false")
    return NodeSpec("arm_controller_spawner", "", {}, package="controller_manager", executable="spawner",
                    arguments=("arm_controller", "--param-file", str(PARAMS_DIR / "ros2_control_controllers.yaml")),
                    one_shot=True)
