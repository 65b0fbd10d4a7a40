"""Node parameters: graph.yaml is the one source of defaults, declared on real rclpy nodes and typed."""
import dataclasses

import pytest
import rclpy
from rclpy.parameter import Parameter

from meld_core.config import ConfigError
from meld_ros.runtime import node_params
from meld_ros.runtime.node_params import (ArmAdapterParams, BeliefParams, BridgeParams, CameraParams, FusionParams, LearnerParams,
                                          LiveViewParams, PolicyParams, RecorderParams, ResetRigParams, RewardParams, declare,
                                          defaults)

SECTIONS = {"mujoco_bridge": BridgeParams, "camera_fusion": FusionParams, "reward_sensing": RewardParams,
            "belief": BeliefParams, "policy": PolicyParams, "reset_rig": ResetRigParams, "learner": LearnerParams,
            "opencv_camera": CameraParams, "arm_adapter": ArmAdapterParams, "recorder": RecorderParams, "live_view": LiveViewParams}


@pytest.fixture
def context():
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    yield ctx
    rclpy.shutdown(context=ctx)


def _node(context, name, **overrides):
    return rclpy.create_node(name, context=context,
                             parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()])


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_every_section_of_graph_yaml_is_one_dataclass(section):
    """Each node's section names exactly its dataclass's fields: nothing undocumented, nothing unused."""
    assert set(defaults(section)) == {f.name for f in dataclasses.fields(SECTIONS[section])}


def test_declare_gives_the_defaults_typed_and_overrides_win(context):
    node = _node(context, "policy", watchdog_timeout_s=0.25, velocity_limits=[1.0, 2.0])
    try:
        p = declare(node, PolicyParams)
        yaml = defaults("policy")
        assert p.watchdog_timeout_s == 0.25 and tuple(p.velocity_limits) == (1.0, 2.0)
        assert p.belief_topic == yaml["belief_topic"] and p.seed == yaml["seed"]
        assert node.get_parameter("estop_topic").value == yaml["estop_topic"]     # declared as a ROS parameter
    finally:
        node.destroy_node()


def test_a_value_of_the_wrong_type_or_range_is_a_config_error(context):
    node = _node(context, "policy", watchdog_timeout_s="soon")
    try:
        with pytest.raises(ConfigError, match="watchdog_timeout_s"):
            declare(node, PolicyParams)
    finally:
        node.destroy_node()
    node = _node(context, "belief", clock_jump_frames=0)
    try:
        with pytest.raises(ConfigError, match="clock_jump_frames"):
            declare(node, BeliefParams)
    finally:
        node.destroy_node()


def test_only_dynamic_parameters_may_be_set_at_run_time(context):
    node = _node(context, "policy")
    try:
        declare(node, PolicyParams, dynamic=("deterministic",))
        assert node.set_parameters([Parameter("deterministic", value=True)])[0].successful
        refused = node.set_parameters([Parameter("watchdog_timeout_s", value=9.0)])[0]
        assert not refused.successful and "only at start" in refused.reason
        assert node.get_parameter("watchdog_timeout_s").value == defaults("policy")["watchdog_timeout_s"]
    finally:
        node.destroy_node()


def test_a_missing_section_is_named(tmp_path):
    path = tmp_path / "graph.yaml"
    path.write_text("belief: {ros__parameters: {}}\n")
    with pytest.raises(ConfigError, match="no section policy"):
        defaults("policy", path)
    assert node_params.GRAPH_PARAMS.exists()
