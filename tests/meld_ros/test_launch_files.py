"""The launch/ files, run the way ``ros2 launch meld_ros <file>`` runs them on a Jazzy install.

``launch`` and ``launch_ros`` are in no registry here, so this test supplies
the few classes the launch files use, and gives ``launch_ros.actions.Node``
the behaviour of the real one where it matters (facts read from launch_ros,
Jazzy): the executable is looked up in ``<prefix>/lib/<package>`` of the
package's ament index prefix and must be an executable file there (what
``ExecutableInPackage`` does with ``which``); the command line is
``<executable> <arguments> --ros-args -r __node:=<name> --params-file <f> ...``
with a dict of parameters written to a parameter file first; a process's exit
triggers its ``on_exit`` action (``Shutdown``). The graph is then started from
the installed executables and must meta-train to the end.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.graph

ROOT = Path(__file__).resolve().parents[2]


class _Action:
    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


class _Context:
    def __init__(self, configurations: dict):
        self.launch_configurations = dict(configurations)


class LaunchFailure(RuntimeError):
    """What the real launch reports as a SubstitutionFailure (the launch does not start)."""


def executable_in_package(executable: str, package: str) -> str:
    """``launch_ros.substitutions.ExecutableInPackage``: an executable file in <prefix>/lib/<package>."""
    from ament_index_python.packages import get_package_prefix
    libexec = os.path.join(get_package_prefix(package), "lib", package)
    if not os.path.exists(libexec):
        raise LaunchFailure(f"package '{package}': libexec directory '{libexec}' does not exist")
    found = shutil.which(executable, path=libexec)          # an existing file with the execute bit
    if found is None:
        raise LaunchFailure(f"executable '{executable}' not found on the libexec directory '{libexec}'")
    return found


class _Node(_Action):
    """launch_ros.actions.Node: what it runs."""

    def command(self) -> list[str]:
        k = self.kwargs
        cmd = [executable_in_package(k["executable"], k["package"]), *k.get("arguments", []), "--ros-args"]
        if k.get("name"):
            cmd += ["-r", f"__node:={k['name']}"]
        if k.get("namespace"):
            cmd += ["-r", f"__ns:={'/' + k['namespace'].lstrip('/')}"]
        for p in k.get("parameters", []):
            if isinstance(p, dict):                       # launch_ros writes a dict to a parameter file
                fd, path = tempfile.mkstemp(prefix="launch_params_")
                with os.fdopen(fd, "w") as fh:
                    yaml.dump({"/**": {"ros__parameters": p}}, fh)
                p = path
            cmd += ["--params-file", str(p)]
        return cmd


@pytest.fixture
def launch_api(monkeypatch):
    launch = types.ModuleType("launch")
    launch.LaunchDescription = lambda entities: list(entities)
    actions = types.ModuleType("launch.actions")
    for name in ("DeclareLaunchArgument", "Shutdown", "OpaqueFunction"):
        setattr(actions, name, type(name, (_Action,), {}))
    subs = types.ModuleType("launch.substitutions")

    class LaunchConfiguration:
        def __init__(self, name):
            self.name = name

        def perform(self, context):
            return context.launch_configurations[self.name]

    subs.LaunchConfiguration = LaunchConfiguration
    launch_ros = types.ModuleType("launch_ros")
    ros_actions = types.ModuleType("launch_ros.actions")
    ros_actions.Node = type("Node", (_Node,), {})
    for name, mod in {"launch": launch, "launch.actions": actions, "launch.substitutions": subs,
                      "launch_ros": launch_ros, "launch_ros.actions": ros_actions}.items():
        monkeypatch.setitem(sys.modules, name, mod)


def _load(path: Path):
    import importlib.util
    spec = importlib.util.spec_from_file_location(path.stem.replace(".", "_"), path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _nodes(graph: str, **given):
    """The launch file's declared arguments and the Nodes it launches with ``given``."""
    desc = _load(ROOT / "launch" / f"{graph}.launch.py").generate_launch_description()
    declared = {a.args[0]: a.kwargs["default_value"] for a in desc if type(a).__name__ == "DeclareLaunchArgument"}
    opaque = next(a for a in desc if type(a).__name__ == "OpaqueFunction")
    return declared, opaque.kwargs["function"](_Context({**declared, **given}))


@pytest.mark.parametrize("graph", ["sim_meta_train", "sim_meta_test", "widowx_meta_train", "widowx_meta_test"])
def test_launch_file_declares_the_graph(launch_api, graph):
    from meld_ros.graph import ARGUMENTS
    declared, nodes = _nodes(graph, use_sim="true", params_file="/tmp/p.yaml", compose="false")
    assert declared == ARGUMENTS[graph]
    installed = {"mujoco_bridge", "camera_fusion", "reward_sensing", "belief", "policy", "reset_rig", "learner"}
    assert {n.kwargs["executable"] for n in nodes} == installed
    assert all(n.kwargs["package"] == "meld_ros" and n.kwargs["name"] == n.kwargs["executable"] for n in nodes)
    assert all(n.kwargs["parameters"][0] == "/tmp/p.yaml" for n in nodes)
    assert all(type(n.kwargs["on_exit"]).__name__ == "Shutdown" for n in nodes)

    # composed (the default): one control_loop process holds bridge, fusion, reward sensing, belief and policy
    _, nodes = _nodes(graph, use_sim="true", params_file="/tmp/p.yaml")
    assert {n.kwargs["executable"] for n in nodes} == {"control_loop", "reset_rig", "learner"}
    loop = next(n for n in nodes if n.kwargs["executable"] == "control_loop")
    assert "name" not in loop.kwargs            # a node name would rename every node of the process
    assert loop.kwargs["arguments"] == ["mujoco_bridge_node", "camera_fusion_node", "reward_node", "belief_node",
                                        "policy_node"]
    sections = yaml.safe_load(Path(loop.kwargs["parameters"][1]).read_text())
    assert set(sections) == {"mujoco_bridge", "camera_fusion", "reward_sensing", "belief", "policy"}
    assert sections["belief"]["ros__parameters"]["use_sim_time"] is True


@pytest.mark.parametrize("graph", ["widowx_meta_train", "widowx_meta_test"])
def test_launch_file_starts_the_real_robots_graph(launch_api, graph):
    """use_sim:=false: camera drivers in their namespaces, the arm adapter, the rig's Dynamixel driver, reward
    sensing from hardware; every meld executable installed; another package's driver by its own name."""
    _, nodes = _nodes(graph, use_sim="false", start_arm_driver="false", camera_driver="opencv", compose="false")
    by = {n.kwargs["name"]: n for n in nodes}
    assert set(by) == {"scene_camera", "wrist_camera", "arm_adapter", "camera_fusion", "reward_sensing", "belief",
                       "policy", "reset_rig", "learner"}
    assert by["scene_camera"].kwargs["executable"] == "opencv_camera"
    assert by["scene_camera"].kwargs["namespace"] == "/camera/scene"
    assert "__ns:=/camera/wrist" in by["wrist_camera"].command()
    for n in nodes:
        assert os.access(n.command()[0], os.X_OK)
    assert by["reset_rig"].kwargs["parameters"][-1]["driver"] == "dynamixel"
    assert by["reward_sensing"].kwargs["parameters"][-1]["source"] == "hardware"
    _, nodes = _nodes(graph, use_sim="false", start_arm_driver="false", camera_driver="usb_cam", compose="true")
    cams = [n for n in nodes if n.kwargs["package"] == "usb_cam"]
    assert [n.kwargs["executable"] for n in cams] == ["usb_cam_node_exe"] * 2
    assert cams[0].kwargs["parameters"][-1]["video_device"] == "/dev/video_scene"
    from ament_index_python.packages import PackageNotFoundError
    with pytest.raises(PackageNotFoundError, match="usb_cam"):    # not installed here: launch says so
        cams[0].command()
    loop = next(n for n in nodes if n.kwargs["executable"] == "control_loop")
    assert loop.kwargs["arguments"] == ["camera_fusion_node", "reward_node", "belief_node", "policy_node"]


def test_every_launched_executable_is_installed_and_executable(launch_api):
    """What failed on the project's own build: the wrappers were installed without the execute bit."""
    for compose in ("true", "false"):
        _, nodes = _nodes("sim_meta_train", compose=compose)
        for n in nodes:
            path = Path(n.command()[0])
            assert path.parent.name == "meld_ros" and path.parent.parent.name == "lib"
            assert os.access(path, os.X_OK), f"{path} is not executable"


def _run_launch(nodes, timeout_s: float) -> tuple[int, str]:
    """Start every Node's command; the first exit shuts the others down (on_exit=Shutdown), as launch does.
    Returns the exit code of the process that exited first and everyone's output."""
    procs = [(n, subprocess.Popen(n.command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  start_new_session=True, env={**os.environ, "MUJOCO_GL": "egl"}))
             for n in nodes]
    first = None
    end = time.monotonic() + timeout_s
    while first is None and time.monotonic() < end:
        first = next(((n, p.returncode) for n, p in procs if p.poll() is not None), None)
        time.sleep(0.2)
    for _, p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGINT)
    out = ""
    for n, p in procs:
        try:
            text, _ = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            text, _ = p.communicate()
        out += f"----- {n.kwargs['executable']} -----\n{text}"
    if first is None:
        return -1, out
    return (first[1] if first[0].kwargs["executable"] == "learner" else -2), out


def test_ros2_launch_meta_trains_through_the_installed_executables(launch_api, tmp_path):
    run = tmp_path / "run"
    _, nodes = _nodes("sim_meta_train", profile="tiny", run_dir=str(run), overrides="[train.iterations=1]")
    code, out = _run_launch(nodes, timeout_s=240)
    assert code == 0, out[-4000:]
    assert "episode 1: success" in out and (run / "checkpoint.pt").exists()
