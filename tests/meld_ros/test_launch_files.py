"""The launch/ files build the graph of meld_ros/graph.py as launch_ros Nodes of the installed
executables. ``launch`` is not installed here, so it is replaced by recording stand-ins."""
import importlib.util
import sys
import types
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


class _Recorder:
    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


@pytest.fixture
def fake_launch(monkeypatch):
    launch = types.ModuleType("launch")
    launch.LaunchDescription = lambda entities: list(entities)
    actions = types.ModuleType("launch.actions")
    for name in ("DeclareLaunchArgument", "Shutdown"):
        setattr(actions, name, type(name, (_Recorder,), {}))
    actions.OpaqueFunction = type("OpaqueFunction", (_Recorder,), {})
    subs = types.ModuleType("launch.substitutions")

    class LaunchConfiguration:
        def __init__(self, name):
            self.name = name

        def perform(self, context):
            return context[self.name]

    subs.LaunchConfiguration = LaunchConfiguration
    launch_ros = types.ModuleType("launch_ros")
    ros_actions = types.ModuleType("launch_ros.actions")
    ros_actions.Node = type("Node", (_Recorder,), {})
    for name, mod in {"launch": launch, "launch.actions": actions, "launch.substitutions": subs,
                      "launch_ros": launch_ros, "launch_ros.actions": ros_actions}.items():
        monkeypatch.setitem(sys.modules, name, mod)


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem.replace(".", "_"), path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("graph", ["sim_meta_train", "sim_meta_test", "widowx_meta_train", "widowx_meta_test"])
def test_launch_file_builds_the_graph(fake_launch, graph):
    from meld_ros.graph import ARGUMENTS
    desc = _load(ROOT / "launch" / f"{graph}.launch.py").generate_launch_description()
    declared = {a.args[0]: a.kwargs["default_value"] for a in desc if type(a).__name__ == "DeclareLaunchArgument"}
    assert declared == ARGUMENTS[graph]
    opaque = next(a for a in desc if type(a).__name__ == "OpaqueFunction")
    context = {**ARGUMENTS[graph], "use_sim": "true", "params_file": "/tmp/p.yaml", "compose": "false"}
    nodes = opaque.kwargs["function"](context)
    installed = {"mujoco_bridge", "camera_fusion", "reward_sensing", "belief", "policy", "reset_rig", "learner"}
    assert {n.kwargs["executable"] for n in nodes} == installed
    assert all(n.kwargs["package"] == "meld_ros" and n.kwargs["name"] == n.kwargs["executable"] for n in nodes)
    assert all(n.kwargs["parameters"][0] == "/tmp/p.yaml" for n in nodes)
    assert all(type(n.kwargs["on_exit"]).__name__ == "Shutdown" for n in nodes)

    # composed (the default): one control_loop process holds bridge, fusion, reward sensing, belief and policy
    nodes = opaque.kwargs["function"]({**context, "compose": "true"})
    assert {n.kwargs["executable"] for n in nodes} == {"control_loop", "reset_rig", "learner"}
    loop = next(n for n in nodes if n.kwargs["executable"] == "control_loop")
    assert "name" not in loop.kwargs            # a node name would rename every node of the process
    assert loop.kwargs["arguments"] == ["mujoco_bridge_node", "camera_fusion_node", "reward_node", "belief_node",
                                        "policy_node"]
    assert loop.kwargs["parameters"][0] == "/tmp/p.yaml"
    sections = yaml.safe_load(Path(loop.kwargs["parameters"][1]).read_text())
    assert set(sections) == {"mujoco_bridge", "camera_fusion", "reward_sensing", "belief", "policy"}
    assert sections["belief"]["ros__parameters"]["use_sim_time"] is True
    Path(loop.kwargs["parameters"][1]).unlink()


def test_cmake_installs_an_executable_per_node():
    from meld_ros.graph import build_graph
    cmake = (ROOT / "CMakeLists.txt").read_text()
    for spec in build_graph("sim_meta_train"):
        assert f'"{spec.name}:{spec.module}"' in cmake
