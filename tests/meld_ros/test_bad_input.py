"""Bad input against a meta-training graph as launched: stray rewards, absurd values and bad
service requests while it trains. Every node stays up, every request is answered, training ends."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from meld_ros.msg import Reward
from meld_ros.srv import SetTask

pytestmark = pytest.mark.graph

ROOT = Path(__file__).resolve().parents[2]


def _start_graph(tmp_path, *args):
    log = open(tmp_path / "launch.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "meld_ros.launcher", "sim_meta_train", "profile:=tiny", *args],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "MUJOCO_GL": "egl"})
    return proc, tmp_path / "launch.log"


def _finish(proc, log) -> tuple[int, str]:
    """The graph's exit status once it ends by itself (killed if it has not within 300 s) and its output."""
    try:
        code = proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    return code, log.read_text()


def _stray_rewards(stamp_sec: int) -> list[Reward]:
    """Readings the learner did not expect: wrong stamps for a valid step, steps outside any episode,
    absurd and non-finite values."""
    out = []
    for step, dense, sec in ((0, -1.0, stamp_sec), (3, -1.0, stamp_sec + 1), (2, -1.0, 2**31 - 1), (99, -1.0, 0),
                             (1, 1e308, stamp_sec), (1, float("nan"), stamp_sec), (0, -1e300, 0)):
        r = Reward(dense=dense, sparse=0.0, success=False, step=step)
        r.header.stamp.sec = sec
        out.append(r)
    return out


def _call(ros_node, client, request, timeout=30.0):
    assert client.wait_for_service(timeout_sec=timeout), client.srv_name
    future = client.call_async(request)
    assert ros_node.spin_until(future.done, timeout), f"{client.srv_name} gave no answer"
    return future.result()


def test_bad_messages_and_requests_while_training(tmp_path, ros_node):
    run = tmp_path / "run"
    proc, log = _start_graph(tmp_path, f"run_dir:={run}", "compose:=false", "overrides:=[train.iterations=4]")
    try:
        meld_reward = ros_node.create_publisher(Reward, "/meld/reward", 10)
        sim_reward = ros_node.create_publisher(Reward, "/sim/reward", 10)
        rig = ros_node.create_client(SetTask, "/meld/set_task")
        sim = ros_node.create_client(SetTask, "/sim/set_task")
        assert ros_node.spin_until(lambda: meld_reward.get_subscription_count() >= 2       # belief, learner
                                   and sim_reward.get_subscription_count() >= 1, 90)
        # bad service requests: each answered with the reason, nobody dies
        for client in (rig, sim):
            for request, reason in ((SetTask.Request(task_set="train", task_id=0, seed=-5), "seed"),
                                    (SetTask.Request(task_set="train", task_id=10**6, seed=1), "out of range"),
                                    (SetTask.Request(task_set="nonsense", seed=1), "task_set"),
                                    (SetTask.Request(task_set="manual", rig_rotation_deg=float("nan"), seed=1), "")):
                answer = _call(ros_node, client, request)
                assert answer.success is False and reason in answer.message, (client.srv_name, answer.message)
        # stray rewards while the learner records trials
        end = time.monotonic() + 20
        sent = 0
        while proc.poll() is None and time.monotonic() < end:
            for r in _stray_rewards(int(time.time()) % 1000):
                meld_reward.publish(r)
                sim_reward.publish(r)
                sent += 1
            ros_node.spin_until(lambda: False, 0.3)
        assert sent > 50
    finally:
        code, out = _finish(proc, log)
    assert code == 0, out[-5000:]
    assert "meta-training done" in out and "Traceback" not in out, out[-5000:]
    assert "reward dropped: not finite or beyond" in out        # reward sensing said so


def test_frames_stamped_in_the_future_do_not_stall_the_loop(tmp_path, ros_node):
    """One camera frame, and one observation with its reward, stamped far in the future used to stall
    fusion and the belief for good (every later frame was 'old'). They follow the clock back now."""
    import numpy as np
    from sensor_msgs.msg import Image

    from meld_ros.rosfree.images import array_to_image

    run = tmp_path / "run"
    proc, log = _start_graph(tmp_path, f"run_dir:={run}", "compose:=false", "overrides:=[train.iterations=3]")
    try:
        camera = ros_node.create_publisher(Image, "/camera/scene/image_raw", 10)
        observation = ros_node.create_publisher(Image, "/meld/observation", 10)
        reward = ros_node.create_publisher(Reward, "/meld/reward", 10)
        assert ros_node.spin_until(lambda: camera.get_subscription_count() >= 1
                                   and observation.get_subscription_count() >= 2, 90)
        assert ros_node.spin_until(lambda: any(run.glob("weights-*.pt")), 90)       # the graph is running
        future = 10**6 * 10**9                                                       # ~11.6 days of sim time
        frame = array_to_image(np.zeros((64, 64, 3), np.uint8))
        frame.header.stamp.sec = future // 10**9
        camera.publish(frame)
        ros_node.spin_until(lambda: False, 1.0)
        frame.header.stamp.sec += 1
        r = Reward(dense=-1.0, step=3)
        r.header.stamp = frame.header.stamp
        observation.publish(frame)
        reward.publish(r)
    finally:
        code, out = _finish(proc, log)
    assert code == 0, out[-5000:]
    assert "meta-training done" in out
    assert "camera's clock jumped back" in out and "observations' clock jumped back" in out, out[-5000:]
