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


def _yaml(text: str, key: str):
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{key}: not valid YAML ({exc})") from None


@dataclass(frozen=True)
class BridgeParams:
    env: str
    env_kwargs: str
    mode: str
    camera_topics: tuple[str, ...]
    command_topic: str
    joint_states_topic: str
    ground_truth_topic: str
    action_topic: str
    set_task_service: str
    command_timeout_s: float
    realtime_factor: float
    republish_s: float
    clock_period_s: float
    interface: str
    robot_name: str
    rig_state_topic: str
    carrier_file: str
    joint_states_period_s: float

    def __post_init__(self):
        if self.mode not in ("lockstep", "realtime"):
            raise ConfigError(f"mujoco_bridge.mode must be lockstep or realtime, got {self.mode!r}")
        if self.interface not in ("ros2_control", "xs_sdk"):
            raise ConfigError(f"mujoco_bridge.interface must be ros2_control or xs_sdk, got {self.interface!r}")
        if self.interface == "xs_sdk" and self.mode != "realtime":
            raise ConfigError("mujoco_bridge.interface xs_sdk stands in for the robot's driver: it needs mode realtime")
        if not self.clock_period_s >= 0:
            raise ConfigError(f"mujoco_bridge.clock_period_s must be >= 0, got {self.clock_period_s}")

    def kwargs(self) -> dict:
        value = _yaml(self.env_kwargs, "mujoco_bridge.env_kwargs") or {}
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
    clock_jump_frames: int
    sampling: str
    tick_period_s: float

    def __post_init__(self):
        if self.clock_jump_frames < 1:
            raise ConfigError(f"camera_fusion.clock_jump_frames must be >= 1, got {self.clock_jump_frames}")
        if self.sampling not in ("match_stamps", "newest"):
            raise ConfigError(f"camera_fusion.sampling must be match_stamps or newest, got {self.sampling!r}")
        if not self.tick_period_s > 0:
            raise ConfigError(f"camera_fusion.tick_period_s must be > 0, got {self.tick_period_s}")


@dataclass(frozen=True)
class ArmAdapterParams:
    driver: str
    robot_name: str
    arm_group: str
    gripper_pwm: float
    gripper_joint: str
    gripper_closed_m: float
    command_topic: str
    driver_topic: str
    joint_states_topic: str
    estop_topic: str
    homing_topic: str
    period_s: float
    command_timeout_s: float
    joint_state_timeout_s: float
    home_pose: tuple[float, ...]
    home_gain: float
    home_speed: float
    home_tolerance: float
    home_timeout_s: float

    def __post_init__(self):
        if self.driver not in ("ros2_control", "xs_sdk"):
            raise ConfigError(f"arm_adapter.driver must be ros2_control or xs_sdk, got {self.driver!r}")
        for name in ("period_s", "command_timeout_s", "joint_state_timeout_s", "home_gain", "home_speed",
                     "home_tolerance", "home_timeout_s"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"arm_adapter.{name} must be > 0, got {getattr(self, name)}")
        if len(self.home_pose) != 5:
            raise ConfigError(f"arm_adapter.home_pose needs 5 joint angles (rad), got {list(self.home_pose)}")
        from meld_ros.hardware.arm_limits import WX250
        outside = [n for n, q, lo, hi in zip(WX250.names, self.home_pose, WX250.lower, WX250.upper) if not lo < q < hi]
        if outside:
            raise ConfigError(f"arm_adapter.home_pose is outside the joint limits at {outside}: {list(self.home_pose)}")


@dataclass(frozen=True)
class CameraParams:
    video_device: str
    framerate: float
    image_width: int
    image_height: int
    pixel_format: str
    frame_id: str
    reopen_s: float
    loop: bool

    def __post_init__(self):
        if not self.framerate > 0 or self.image_width < 1 or self.image_height < 1 or not self.reopen_s > 0:
            raise ConfigError("opencv_camera: framerate, image_width, image_height and reopen_s must be > 0")
        if self.pixel_format not in ("mjpeg2rgb", "yuyv2rgb"):
            raise ConfigError(f"opencv_camera.pixel_format must be mjpeg2rgb or yuyv2rgb, got {self.pixel_format!r}")


@dataclass(frozen=True)
class RewardParams:
    source: str
    ground_truth_topic: str
    reward_topic: str
    observation_topic: str
    joint_states_topic: str
    task_topic: str
    task_env: str
    calibration_file: str
    insertion_sensor: str
    link_interface: str
    sysfs_net: str
    snmp_host: str
    snmp_port: int
    snmp_community: str
    snmp_if_indexes: tuple[int, ...]
    snmp_period_s: float
    joint_state_timeout_s: float

    def __post_init__(self):
        if self.source not in ("sim", "hardware"):
            raise ConfigError(f"reward_sensing.source must be sim or hardware, got {self.source!r}")
        if self.insertion_sensor not in ("link", "snmp", "none"):
            raise ConfigError(f"reward_sensing.insertion_sensor must be link, snmp or none, got {self.insertion_sensor!r}")
        if self.insertion_sensor == "snmp" and not self.snmp_host:
            raise ConfigError("reward_sensing.insertion_sensor snmp needs snmp_host (the managed switch's address)")
        if not self.snmp_period_s > 0:
            raise ConfigError(f"reward_sensing.snmp_period_s must be > 0, got {self.snmp_period_s}")
        if not self.joint_state_timeout_s > 0:
            raise ConfigError(f"reward_sensing.joint_state_timeout_s must be > 0, got {self.joint_state_timeout_s}")


@dataclass(frozen=True)
class BeliefParams:
    run_id: str
    weights: str
    observation_topic: str
    reward_topic: str
    action_topic: str
    belief_topic: str
    reconstruction_topic: str
    reset_service: str
    publish_reconstruction: bool
    model_update_topic: str
    reward_input: str
    action_wait_s: float
    clock_jump_frames: int
    torch_threads: int
    onnxruntime: bool

    def __post_init__(self):
        if self.clock_jump_frames < 1:
            raise ConfigError(f"belief.clock_jump_frames must be >= 1, got {self.clock_jump_frames}")
        if self.reward_input not in ("", "dense", "sparse", "none"):
            raise ConfigError(f"belief.reward_input must be '', dense, sparse or none, got {self.reward_input!r}")


@dataclass(frozen=True)
class PolicyParams:
    run_id: str
    weights: str
    belief_topic: str
    command_topic: str
    action_topic: str
    model_update_topic: str
    estop_topic: str
    estop_release_service: str
    velocity_limits: tuple[float, ...]
    watchdog_timeout_s: float
    watchdog_period_s: float
    deterministic: bool
    uniform_actions: bool
    seed: int
    torch_threads: int
    onnxruntime: bool

    def __post_init__(self):
        if not self.watchdog_timeout_s > 0 or not self.watchdog_period_s > 0:
            raise ConfigError("policy.watchdog_timeout_s and policy.watchdog_period_s must be > 0")


@dataclass(frozen=True)
class ResetRigParams:
    driver: str
    task_topic: str
    set_task_service: str
    driver_set_task_service: str
    task_env: str
    dxl_port: str
    dxl_baudrate: int
    rotary_id: int
    rail_id: int
    gear_ratio: float
    mm_per_turn: float
    rail_center_mm: float
    move_timeout_s: float
    homing_speed: int
    arm_home_service: str
    arm_homing_topic: str
    arm_home_timeout_s: float

    def __post_init__(self):
        if self.driver not in ("sim", "dynamixel"):
            raise ConfigError(f"reset_rig.driver must be sim or dynamixel, got {self.driver!r}")
        if not (self.gear_ratio > 0 and self.mm_per_turn > 0 and self.move_timeout_s > 0 and self.arm_home_timeout_s > 0):
            raise ConfigError("reset_rig: gear_ratio, mm_per_turn, move_timeout_s and arm_home_timeout_s must be > 0")


@dataclass(frozen=True)
class LearnerParams:
    run_id: str
    mode: str
    env: str
    trials: int
    profile: str
    overrides: str
    run_dir: str
    results_dir: str
    reward_input: str
    observation_topic: str
    reward_topic: str
    action_topic: str
    model_update_topic: str
    set_task_service: str
    belief_reset_service: str
    policy_node: str
    episode_timeout_s: float
    trial_retries: int
    wait_for_recorder: bool

    def __post_init__(self):
        if self.trial_retries < 0:
            raise ConfigError(f"learner.trial_retries must be >= 0, got {self.trial_retries}")
        if self.mode not in ("train", "meta_test"):
            raise ConfigError(f"learner.mode must be train or meta_test, got {self.mode!r}")
        if self.trials < 1:
            raise ConfigError(f"learner.trials must be >= 1, got {self.trials}")

    def override_list(self) -> list[str]:
        value = _yaml(self.overrides, "learner.overrides") or []
        if not isinstance(value, list):
            raise ConfigError(f"learner.overrides must be a YAML list of section.key=value, got {self.overrides!r}")
        return [str(v) for v in value] + ([f"train.env={self.env}"] if self.env else [])


@dataclass(frozen=True)
class RecorderParams:
    directory: str
    name: str
    topics: tuple[str, ...]
    cameras: bool
    camera_topics: tuple[str, ...]
    split_size_mb: float
    split_duration_s: float
    min_free_mb: float
    discovery_period_s: float
    drain_period_s: float
    report_period_s: float

    def __post_init__(self):
        for name in ("discovery_period_s", "drain_period_s", "report_period_s"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"recorder.{name} must be > 0, got {getattr(self, name)}")
        for name in ("split_size_mb", "split_duration_s", "min_free_mb"):
            if getattr(self, name) < 0:
                raise ConfigError(f"recorder.{name} must be >= 0, got {getattr(self, name)}")

    def bag_directory(self) -> Path:
        return Path(self.directory).expanduser()


@dataclass(frozen=True)
class LiveViewParams:
    host: str
    port: int
    sync_period_s: float

    def __post_init__(self):
        if not 1 <= self.port <= 65535:
            raise ConfigError(f"live_view.port must be a port number, got {self.port}")
        if not self.sync_period_s > 0:
            raise ConfigError(f"live_view.sync_period_s must be > 0, got {self.sync_period_s}")


def defaults(node_name: str, path: Path = GRAPH_PARAMS) -> dict:
    data = yaml.safe_load(Path(path).read_text()) or {}
    try:
        return dict(data[node_name]["ros__parameters"])
    except (KeyError, TypeError):
        raise ConfigError(f"{path} has no section {node_name}: ros__parameters") from None


def declare(node, cls, section: str | None = None, dynamic: tuple[str, ...] = ()):
    """Declare ``cls``'s fields on ``node`` with graph.yaml defaults; return the typed values.

    A node reads its parameters once, at start; only those named in ``dynamic`` take effect when set
    later (the node applies them in a callback of its own). Setting any other at run time is refused
    with the reason (``ros2 param set`` prints it), instead of being accepted and silently ignored:
    a velocity limit lowered on a running policy must not look applied when it is not."""
    section = section or node.get_name()
    from rclpy.exceptions import InvalidParameterTypeException
    from rclpy.parameter import Parameter

    values = {}
    for name, default in defaults(section).items():
        try:
            if isinstance(default, (list, tuple)) and not default:       # an empty list has no type of its own
                value = node.declare_parameter(name, Parameter.Type.DOUBLE_ARRAY).value
                values[name] = [] if value is None else list(value)
            else:
                value = node.declare_parameter(name, list(default) if isinstance(default, (list, tuple)) else default).value
                values[name] = list(value) if isinstance(value, (list, tuple)) or hasattr(value, "tolist") else value
        except InvalidParameterTypeException as exc:
            raise ConfigError(f"{section}.{name}: wrong type ({exc})") from None
    typed = build_dataclass(cls, values, section)
    fixed = set(values) - set(dynamic)

    def refuse_fixed(params):
        from rcl_interfaces.msg import SetParametersResult
        late = sorted(p.name for p in params if p.name in fixed)
        if late:
            return SetParametersResult(successful=False, reason=f"{', '.join(late)} of {section} take effect only "
                                       f"at start (set them in a parameter file or launch argument); run time: "
                                       f"{', '.join(dynamic) or 'none'}")
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(refuse_fixed)
    return typed


__all__ = ["ArmAdapterParams", "BeliefParams", "BridgeParams", "CameraParams", "FusionParams", "LearnerParams", "LiveViewParams",
           "PolicyParams", "RecorderParams", "ResetRigParams", "RewardParams", "declare", "defaults"]
