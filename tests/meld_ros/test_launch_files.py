"""The launch/ files build the graph of meld_ros/graph.py as launch_ros Nodes of the installed
executables. ``launch`` is not installed here, so it is replaced by recording stand-ins."""
import importlib.util
import sys
import types
from pathlib import Path

import pytest

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
    context = {**ARGUMENTS[graph], "use_sim": "true", "params_file": "/tmp/p.yaml"}
    nodes = opaque.kwargs["function"](context)
    installed = {"mujoco_bridge", "camera_fusion", "reward_sensing", "belief", "policy", "reset_rig", "learner"}
    assert {n.kwargs["executable"] for n in nodes} == installed
    assert all(n.kwargs["package"] == "meld_ros" and n.kwargs["name"] == n.kwargs["executable"] for n in nodes)
    assert all(n.kwargs["parameters"][0] == "/tmp/p.yaml" for n in nodes)
    assert all(type(n.kwargs["on_exit"]).__name__ == "Shutdown" for n in nodes)


def test_cmake_installs_an_executable_per_node():
    from meld_ros.graph import build_graph
    cmake = (ROOT / "CMakeLists.txt").read_text()
    for spec in build_graph("sim_meta_train"):
        assert f'"{spec.name}:{spec.module}"' in cmake
