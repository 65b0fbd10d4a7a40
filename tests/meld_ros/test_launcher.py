"""The node graphs through ``meld launch``: meta-train a few iterations (tiny profile), meta-test
from its checkpoint, stop cleanly on SIGINT, stop everything when a node dies."""
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from meld_core.weights import load_weights
from meld_ros.graph import GraphError, build_graph, member_parameters
from meld_ros.launcher import node_command
from support.processes import alive, until

pytestmark = pytest.mark.graph

ROOT = Path(__file__).resolve().parents[2]


def launch(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "meld_ros.launcher", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "MUJOCO_GL": "egl"})


def _strays(marker: str) -> list[str]:
    """Node processes of the graph whose command line holds ``marker`` (the run directory), and any
    composed control loop (its parameters are in a file, so its command line names no run directory)."""
    out = subprocess.run(["pgrep", "-af", "meld_ros."], capture_output=True, text=True).stdout
    return [line for line in out.splitlines()
            if "pgrep" not in line and (marker in line or "meld_ros.container" in line)]


def test_graph_descriptions(tmp_path):
    train = build_graph("sim_meta_train", {"env": "sawyer-peg", "profile": "tiny", "compose": "false", "run_id": "r1"})
    names = [n.name for n in train]
    assert names == ["mujoco_bridge", "camera_fusion", "reward_sensing", "belief", "policy", "reset_rig", "learner"]
    assert train[1].parameters["camera_topics"] == ["/camera/scene/image_raw", "/camera/wrist/image_raw"]
    assert {n.name for n in train if n.parameters.get("run_id") == "r1"} == {"belief", "policy", "learner"}
    runs = {build_graph("sim_meta_train")[-1].parameters["run_id"] for _ in range(3)}
    assert len(runs) == 3 and "" not in runs                     # a new run id per launch unless given
    composed = build_graph("sim_meta_train", {"env": "sawyer-peg", "profile": "tiny", "run_id": "r1"})
    assert [n.name for n in composed] == ["control_loop", "reset_rig", "learner"]
    assert composed[0].members == tuple(train[0:5])
    cmd = node_command(composed[0], "p.yaml", tmp_path)
    assert cmd[1:8] == ["-m", "meld_ros.container", "mujoco_bridge_node", "camera_fusion_node", "reward_node",
                        "belief_node", "policy_node"]
    digest = hashlib.sha256(member_parameters(composed[0]).encode()).hexdigest()[:16]
    overrides = tmp_path / f"meld_control_loop_{digest}.params.yaml"          # named by its content
    assert cmd[-4:] == ["--params-file", "p.yaml", "--params-file", str(overrides)]
    sections = yaml.safe_load(overrides.read_text())
    assert sections["camera_fusion"]["ros__parameters"]["camera_topics"] == train[1].parameters["camera_topics"]
    with pytest.raises(GraphError, match="compose must be true or false"):
        build_graph("sim_meta_train", {"compose": "maybe"})
    assert [n.name for n in build_graph("widowx_meta_train", {"use_sim": "true"}) if n.main] == ["learner"]
    with pytest.raises(GraphError, match="no argument"):
        build_graph("sim_meta_train", {"bogus": "1"})
    with pytest.raises(GraphError, match="unknown graph"):
        build_graph("sim_meta_dance", {})
    with pytest.raises(GraphError, match="trials must be a whole number"):
        build_graph("sim_meta_test", {"trials": "abc"})
    cmd = node_command(train[-1], "p.yaml")
    assert cmd[1:3] == ["-m", "meld_ros.learner_node"] and "--params-file" in cmd and "__node:=learner" in cmd


def test_meta_train_then_meta_test_through_the_graph(tmp_path):
    run = tmp_path / "run"
    out = launch("sim_meta_train", "profile:=tiny", f"run_dir:={run}", "overrides:=[train.iterations=2]")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "episode 1: success" in out.stdout and (run / "checkpoint.pt").exists()
    versions = sorted(int(p.stem.split("-")[1]) for p in run.glob("weights-*.pt"))
    assert versions[-1] >= 3                                  # initial, after pre-training, after each iteration
    # the shipped weights changed what the policy does
    first, last = load_weights(run / f"weights-{versions[0]}.pt"), load_weights(run / f"weights-{versions[-1]}.pt")
    x = torch.randn(4, first.make_agent().actor.net[0].in_features)
    with torch.no_grad():
        a1 = first.make_agent().actor(x, deterministic=True)[0]
        a2 = last.make_agent().actor(x, deterministic=True)[0]
    assert not torch.allclose(a1, a2)
    assert "using weights version" in out.stdout
    before = _snapshot(run)
    test = launch("sim_meta_test", f"checkpoint:={run}", "trials:=1", "compose:=false")   # one process per node
    assert test.returncode == 0, test.stdout[-3000:]
    assert "meta-test point2d on 10 held-out tasks (10 trials)" in test.stdout
    assert not _strays(str(run))
    # evaluating a run leaves it as it was: weights and results went to a directory of their own
    assert _snapshot(run) == before
    results = list((tmp_path / "run_meta_test").glob("*/graph_meta_test.json"))
    assert len(results) == 1 and list(results[0].parent.glob("weights-*.pt"))
    assert f"results in {results[0].parent}" in test.stdout


def _snapshot(directory):
    """Every file under ``directory``: its content's hash and modification time."""
    return {str(p.relative_to(directory)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture
def long_run(tmp_path):
    """Starts a meta-training graph that would run for long, its output to a file (not a pipe nobody
    reads); whatever the test leaves of it is killed at the end, so that a failing test does not hold a
    ROS domain (and break the tests after it)."""
    started = []

    def start(run):
        log = open(tmp_path / "launch.log", "w+")
        p = subprocess.Popen([sys.executable, "-m", "meld_ros.launcher", "sim_meta_train", "profile:=tiny",
                              f"run_dir:={run}", "overrides:=[train.iterations=1000]"], cwd=ROOT,
                             stdout=log, stderr=subprocess.STDOUT, text=True)
        started.append(p)
        return p
    yield start
    for p in started:
        nodes = _nodes_of(p)
        p.kill()
        p.wait()
        for pid in nodes:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _nodes_of(runner) -> list[int]:
    """The node processes a running ``meld launch`` started (its children)."""
    out = subprocess.run(["pgrep", "-P", str(runner.pid)], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def test_sigint_stops_the_whole_graph(tmp_path, long_run):
    run = tmp_path / "run"
    p = long_run(run)
    until((run / "checkpoint.pt").exists, 120)
    assert (run / "checkpoint.pt").exists()
    p.send_signal(signal.SIGINT)
    p.wait(timeout=90)
    out = (tmp_path / "launch.log").read_text()
    assert p.returncode == 130, out[-3000:]        # interrupted: a script running the graph stops too
    assert "saved: the run continues from there" in out
    time.sleep(1.0)
    assert not _strays(str(run)), _strays(str(run))


def test_a_killed_runner_leaves_no_node_behind(tmp_path, long_run):
    """SIGKILL of meld launch itself: the kernel sends each node SIGTERM (PR_SET_PDEATHSIG), and each
    node sees its runner gone (``runner_watch``) should that signal be lost."""
    run = tmp_path / "run"
    p = long_run(run)
    until(lambda: list(run.glob("weights-*.pt")), 120)
    nodes = _nodes_of(p)
    assert len(nodes) == 3                       # the control loop, the reset rig, the learner
    p.kill()
    p.wait()
    until(lambda: not any(map(alive, nodes)), 30)
    left = [pid for pid in nodes if alive(pid)]
    assert not left, subprocess.run(["ps", "-o", "pid,stat,args", "-p", ",".join(map(str, left))],
                                    capture_output=True, text=True).stdout


def test_a_dying_node_stops_the_graph(tmp_path, long_run):
    run = tmp_path / "run"
    p = long_run(run)
    until(lambda: list(run.glob("weights-*.pt")), 120)
    commands = {pid: Path(f"/proc/{pid}/cmdline").read_bytes() for pid in _nodes_of(p)}
    bridge = [pid for pid, cmd in commands.items() if b"mujoco_bridge_node" in cmd]   # the control loop
    assert len(bridge) == 1
    os.kill(bridge[0], signal.SIGKILL)
    p.wait(timeout=90)
    out = (tmp_path / "launch.log").read_text()
    assert p.returncode == 1 and "control_loop died" in out, out[-3000:]
    time.sleep(1.0)
    assert not _strays(str(run))


def test_realtime_simulation_meta_trains_and_meta_tests(tmp_path):
    """sim_mode:=realtime: the bridge steps at the control rate on the system clock with whatever
    command is fresh (the hardware's timing), every node on the system clock; the graph meta-trains
    and meta-tests in it. (It was documented but could not be selected, and under use_sim_time every
    node would have waited for a /clock the realtime bridge never publishes.)"""
    params = tmp_path / "fast.yaml"               # 4x the robot's rate, to keep the test short
    params.write_text(yaml.dump({"mujoco_bridge": {"ros__parameters": {"realtime_factor": 4.0}}}))
    run = tmp_path / "run"
    out = launch("sim_meta_train", "profile:=tiny", f"run_dir:={run}", "sim_mode:=realtime", f"params_file:={params}",
                 "overrides:=[train.iterations=1]")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "realtime mode" in out.stdout and "meta-training done" in out.stdout
    assert "did not finish" not in out.stdout and "dropped" not in out.stdout, out.stdout[-3000:]
    test = launch("sim_meta_test", f"checkpoint:={run}", "trials:=1", "sim_mode:=realtime", f"params_file:={params}")
    assert test.returncode == 0 and "meta-test point2d on 10 held-out tasks" in test.stdout, test.stdout[-3000:]
    specs = build_graph("sim_meta_train", {"sim_mode": "realtime", "compose": "false"})
    assert specs[0].parameters["mode"] == "realtime"
    assert all(s.parameters.get("use_sim_time") is False for s in specs[1:] if "use_sim_time" in s.parameters)
    with pytest.raises(GraphError, match="sim_mode"):
        build_graph("sim_meta_train", {"sim_mode": "fast"})


def test_progress_is_shown_live_on_a_terminal(tmp_path):
    """Under a terminal, meld launch keeps one status line per reporting process at the bottom, rewritten
    in place (phase, units done and to do, time left, latest held-out success), the rest scrolling above."""
    import pty
    run = tmp_path / "run"
    controller, terminal = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "meld_ros.launcher", "sim_meta_train", "profile:=tiny",
                          f"run_dir:={run}", "overrides:=[train.iterations=2]"], cwd=ROOT, stdin=subprocess.DEVNULL,
                         stdout=terminal, stderr=terminal, env={**os.environ, "MUJOCO_GL": "egl"})
    os.close(terminal)
    chunks = []
    while True:
        try:
            data = os.read(controller, 65536)
        except OSError:                      # the terminal closed: every writer is gone
            break
        if not data:
            break
        chunks.append(data)
    p.wait(timeout=60)
    os.close(controller)
    out = b"".join(chunks).decode(errors="replace")
    assert p.returncode == 0, out[-3000:]
    assert "\r\x1b[2K[learner] meta-train point2d (tiny) | iteration 0/2 | pre-training data 1/2 trials" in out
    assert "| evaluation " in out and " left" in out
    assert "[learner] progress:" not in out                   # shown in place, not as lines


def test_progress_lines_for_a_log(tmp_path):
    """Without a terminal, the learner's progress comes as lines that a log keeps (here at the launcher's
    live pace, MELD_PROGRESS_LIVE=1, to keep the test short; a log gets one every 30 s)."""
    run = tmp_path / "run"
    out = subprocess.run([sys.executable, "-m", "meld_ros.launcher", "sim_meta_train", "profile:=tiny",
                          f"run_dir:={run}", "overrides:=[train.iterations=2]"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, env={**os.environ, "MUJOCO_GL": "egl", "MELD_PROGRESS_LIVE": "1"})
    assert out.returncode == 0, out.stdout[-3000:]
    lines = [line for line in out.stdout.splitlines() if line.startswith("[learner] progress: ")]
    assert lines and "pre-training" in lines[0] and "elapsed" in lines[0]
    assert any("held-out success" in line for line in lines)


def test_learner_and_control_loop_share_no_files(tmp_path):
    """The learner on one computer, the control loop on another: here, two working directories that share
    no file. The weights travel inside meld_ros/ModelUpdate; the loop's nodes never see the learner's
    paths, and a short meta-training still runs through the graph to its end."""
    learner_dir, robot_dir = tmp_path / "workstation", tmp_path / "robot"
    learner_dir.mkdir()
    robot_dir.mkdir()
    (tmp_path / "scratch").mkdir()              # the composed loop's parameter file (as meld launch writes it)
    specs = build_graph("sim_meta_train", {"profile": "tiny", "run_dir": "runs/g", "compose": "true",
                                           "overrides": "[train.iterations=1]"})
    env = {**os.environ, "MUJOCO_GL": "egl", "ROS_DOMAIN_ID": str(110 + os.getpid() % 20)}
    procs = {}
    try:
        for spec in specs:
            here = learner_dir if spec.name == "learner" else robot_dir
            procs[spec.name] = subprocess.Popen(node_command(spec, "", tmp_path / "scratch"), cwd=here, env=env,
                                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                                start_new_session=True)
        out, _ = procs["learner"].communicate(timeout=400)
        assert procs["learner"].returncode == 0, out[-3000:]
        assert "meta-training done" in out
    finally:
        logs = {}
        for name, p in procs.items():
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
            try:
                logs[name] = p.communicate(timeout=30)[0]
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                logs[name] = p.communicate()[0]
    shipped = sorted(int(p.stem.split("-")[1]) for p in (learner_dir / "runs" / "g").glob("weights-*.pt"))
    assert shipped and (learner_dir / "runs" / "g" / "checkpoint.pt").exists()
    loop = logs["control_loop"]
    assert f"using weights version {shipped[-1]}" in loop, loop[-3000:]          # the newest, by message
    assert str(learner_dir) not in loop
    assert not [p for p in robot_dir.rglob("*") if p.is_file()]           # the loop wrote nothing, read no file
