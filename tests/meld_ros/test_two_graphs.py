"""Two graphs on one machine: each gets a ROS domain of its own, a domain or run directory in use is
refused with a clear message, and weights of another run are ignored."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from meld_core.config import load_config
from meld_core.meta_train import MetaTrainer
from meld_core.weights import save_weights
from meld_ros.msg import ModelUpdate
from meld_ros.runtime.node_runtime import WEIGHTS, model_update_messages

pytestmark = pytest.mark.graph

ROOT = Path(__file__).resolve().parents[2]


def _launch(tmp_path, name, *args, domain=None):
    env = {k: v for k, v in os.environ.items() if k != "ROS_DOMAIN_ID"}
    if domain is not None:
        env["ROS_DOMAIN_ID"] = str(domain)
    log = open(tmp_path / f"{name}.log", "w+")
    return subprocess.Popen([sys.executable, "-m", "meld_ros.launcher", "sim_meta_train", "profile:=tiny", *args],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True,
                            env={**env, "MUJOCO_GL": "egl"}), tmp_path / f"{name}.log"


def _wait(procs, timeout=300):
    try:
        return [p.wait(timeout=timeout) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()


def test_two_graphs_at_once_each_in_a_domain_of_its_own(tmp_path):
    (a, log_a), (b, log_b) = (_launch(tmp_path, n, f"run_dir:={tmp_path / n}", "overrides:=[train.iterations=2]")
                              for n in ("a", "b"))
    codes = _wait([a, b])
    out_a, out_b = log_a.read_text(), log_b.read_text()
    assert codes == [0, 0], out_a[-3000:] + "\n-----\n" + out_b[-3000:]
    domain = [next(line for line in o.splitlines() if "ROS_DOMAIN_ID=" in line).split("ROS_DOMAIN_ID=")[1].split()[0]
              for o in (out_a, out_b)]
    assert domain[0] != domain[1]
    assert "meta-training done" in out_a and "meta-training done" in out_b


def test_a_domain_or_run_directory_in_use_is_refused(tmp_path):
    first, log = _launch(tmp_path, "first", f"run_dir:={tmp_path / 'run'}", "overrides:=[train.iterations=1000]",
                         domain=77)
    try:
        deadline = time.monotonic() + 120
        while not list((tmp_path / "run").glob("weights-*.pt")) and time.monotonic() < deadline:
            time.sleep(0.3)
        same_domain, log2 = _launch(tmp_path, "second", f"run_dir:={tmp_path / 'other'}", domain=77)
        assert same_domain.wait(timeout=60) == 2
        assert "ROS domain 77 (ROS_DOMAIN_ID) is used by another meld graph" in log2.read_text()
        same_run, log3 = _launch(tmp_path, "third", f"run_dir:={tmp_path / 'run'}")       # a free domain, same run
        assert same_run.wait(timeout=120) != 0
        assert "is being written by another meld process" in log3.read_text(), log3.read_text()[-3000:]
        assert first.poll() is None, log.read_text()[-3000:]                                # the first goes on
    finally:
        first.send_signal(signal.SIGINT)             # the runner stops its graph
        first.wait(timeout=90)


def test_weights_of_another_run_are_ignored(tmp_path, start_node, ros_node):
    trainer = MetaTrainer(load_config("tiny"), tmp_path / "t", resume=False)
    ours, theirs = tmp_path / "ours.pt", tmp_path / "theirs.pt"
    save_weights(ours, 1, trainer.cfg, trainer.spec, trainer.algo.agent)
    save_weights(theirs, 7, trainer.cfg, trainer.spec, trainer.algo.agent)
    nodes = [start_node("belief_node", {"run_id": "run-a"}), start_node("policy_node", {"run_id": "run-a"})]
    pub = ros_node.create_publisher(ModelUpdate, "/meld/model_update", WEIGHTS)
    assert ros_node.spin_until(lambda: pub.get_subscription_count() >= 2, 30)
    for msg in model_update_messages(ModelUpdate, "run-b", 7, theirs.read_bytes()):
        pub.publish(msg)
    ros_node.spin_until(lambda: False, 2.0)
    for msg in model_update_messages(ModelUpdate, "run-a", 1, ours.read_bytes()):
        pub.publish(msg)
    ros_node.spin_until(lambda: False, 3.0)
    belief_out, policy_out = (n.stop()[1] for n in nodes)
    assert "ignoring weights of another run (run-b, version 7)" in belief_out, belief_out
    assert "ignoring weights of another run (run-b, version 7)" in policy_out, policy_out
    assert "using weights version 1" in belief_out and "version 7" not in belief_out.split("ignoring")[0]


def test_parameters_read_at_start_cannot_be_set_later(start_node, ros_node):
    """Set on a running node, a parameter it reads only at start is refused with the reason (it used to
    be accepted and ignored: a lowered velocity limit looked applied and was not)."""
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import SetParameters

    policy = start_node("policy_node")
    client = ros_node.create_client(SetParameters, "/policy/set_parameters")
    assert client.wait_for_service(timeout_sec=30)

    def set_one(name, value):
        future = client.call_async(SetParameters.Request(parameters=[Parameter(name=name, value=value)]))
        assert ros_node.spin_until(future.done, 10)
        return future.result().results[0]

    limits = set_one("velocity_limits", ParameterValue(type=ParameterType.PARAMETER_DOUBLE_ARRAY,
                                                       double_array_value=[0.1, 0.1]))
    assert not limits.successful and "only at start" in limits.reason
    assert set_one("deterministic", ParameterValue(type=ParameterType.PARAMETER_BOOL, bool_value=True)).successful
    assert policy.proc.poll() is None
