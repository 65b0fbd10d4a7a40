"""Every way the graph stops ends with a zero command on the arm's topic: each node killed in turn
(SIGKILL: it dies without a word; the runner stops the rest), the policy stopped by SIGTERM and
SIGINT, the composed control loop stopped by SIGTERM. A ros2_control forward controller holds its
last command, so anything else would leave the arm moving."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from std_msgs.msg import Float64MultiArray

from meld_ros.runtime.node_runtime import RECORDED

pytestmark = pytest.mark.graph

ROOT = Path(__file__).resolve().parents[2]


def _children(pid: int) -> dict[str, int]:
    """The graph's processes started by the runner ``pid``: executable module -> pid."""
    out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    procs = {}
    for line in out.splitlines():
        child, args = line.strip().split(" ", 1)
        if "meld_ros.container" in args:
            procs["control_loop"] = int(child)
        elif "-m meld_ros." in args:
            procs[args.split("-m meld_ros.")[1].split()[0]] = int(child)
    return procs


CASES = [  # (compose, process to stop, signal)
    ("false", "mujoco_bridge_node", signal.SIGKILL), ("false", "camera_fusion_node", signal.SIGKILL),
    ("false", "reward_node", signal.SIGKILL), ("false", "belief_node", signal.SIGKILL),
    ("false", "reset_rig_node", signal.SIGKILL), ("false", "learner_node", signal.SIGKILL),
    ("false", "policy_node", signal.SIGTERM), ("false", "policy_node", signal.SIGINT),
    ("true", "control_loop", signal.SIGTERM), ("true", "learner_node", signal.SIGKILL),
]


@pytest.mark.parametrize("compose,target,sig", CASES, ids=[f"{c[1]}-{c[2].name}-compose_{c[0]}" for c in CASES])
def test_last_command_is_zero_however_the_graph_stops(tmp_path, ros_node, compose, target, sig):
    commands = []
    ros_node.create_subscription(Float64MultiArray, "/arm_controller/commands",
                                 lambda m: commands.append(list(m.data)), RECORDED)
    log = open(tmp_path / "launch.log", "w+")
    runner = subprocess.Popen([sys.executable, "-m", "meld_ros.launcher", "sim_meta_train", "profile:=tiny",
                               f"run_dir:={tmp_path / 'run'}", f"compose:={compose}",
                               "overrides:=[train.iterations=1000]"],
                              cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True,
                              env={**os.environ, "MUJOCO_GL": "egl"})
    try:
        moving = lambda: sum(any(abs(v) > 1e-6 for v in c) for c in commands) >= 5    # noqa: E731
        assert ros_node.spin_until(moving, 120), (tmp_path / "launch.log").read_text()[-3000:]
        procs = _children(runner.pid)
        assert target in procs, procs
        os.kill(procs[target], sig)
        runner.wait(timeout=90)
        ros_node.spin_until(lambda: False, 1.0)         # anything still in flight
    finally:
        if runner.poll() is None:
            runner.kill()
    out = (tmp_path / "launch.log").read_text()
    assert commands and all(v == 0.0 for v in commands[-1]), (commands[-3:], out[-3000:])
    if target != "learner_node":
        assert "zero command sent" in out or sig == signal.SIGKILL, out[-3000:]
