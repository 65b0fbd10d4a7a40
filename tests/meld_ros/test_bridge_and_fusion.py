"""MuJoCo bridge and camera fusion as real processes: lockstep stepping, fused observations, bad input."""
import time

import numpy as np
import pytest
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image

from meld_ros.rosfree.images import array_to_image, image_to_array
from meld_ros.msg import Action, Reward
from meld_ros.runtime.node_runtime import RELIABLE, ns_of
from meld_ros.srv import SetTask

pytestmark = pytest.mark.graph


def _answer(node, pub, obs_msg, velocity):
    a = Action()
    a.header.stamp = obs_msg.header.stamp
    a.command = [float(v) for v in velocity]
    pub.publish(a)


@pytest.mark.parametrize("env, width, clock_period", [("point2d", 64, 0.0), ("widowx-cable", 128, 60.0)])
def test_lockstep_bridge_through_fusion(start_node, ros_node, env, width, clock_period):
    bridge = start_node("mujoco_bridge_node", {"env": env, "env_kwargs": "'{n_train: 3, n_eval: 2}'",
                                               "clock_period_s": clock_period})
    fusion = start_node("camera_fusion_node", {"camera_topics": "['/camera/scene/image_raw']" if width == 64 else
                                                "['/camera/scene/image_raw','/camera/wrist/image_raw']"})
    obs, truth, clock = [], [], []
    ros_node.create_subscription(Image, "/meld/observation", obs.append, RELIABLE)
    ros_node.create_subscription(Reward, "/sim/reward", truth.append, RELIABLE)
    ros_node.create_subscription(Clock, "/clock", lambda m: clock.append(ns_of(m.clock)), RELIABLE)
    act = ros_node.create_publisher(Action, "/meld/action", RELIABLE)
    client = ros_node.create_client(SetTask, "/sim/set_task")
    assert client.wait_for_service(timeout_sec=30), bridge.stop()[1]
    assert ros_node.wait_matched(["/meld/observation", "/sim/reward", "/clock"])
    future = client.call_async(SetTask.Request(task_id=1, task_set="train", seed=7))
    assert ros_node.spin_until(future.done) and future.result().success
    reset_ns = ns_of(future.result().state.header.stamp)          # the stamp of the episode's first frame
    assert ros_node.spin_until(lambda: obs and ns_of(obs[-1].header.stamp) == reset_ns), \
        bridge.stop()[1] + fusion.stop()[1]
    n_act = {"point2d": 2, "widowx-cable": 5}[env]
    for k in range(5):                                # answer each observation once: one step each
        seen = len(obs)
        _answer(ros_node, act, obs[-1], [0.1] * n_act)
        assert ros_node.spin_until(lambda: len(obs) > seen), fusion.stop()[1]
    stamps = [ns_of(m.header.stamp) for m in obs[-6:]]
    assert all(b > a for a, b in zip(stamps, stamps[1:]))
    assert image_to_array(obs[-1]).shape == (64, width, 3)
    # a stale answer (to an old frame) does not step the simulation (the heartbeat may re-send
    # the current frame: same stamp)
    latest = ns_of(obs[-1].header.stamp)
    _answer(ros_node, act, obs[-3], [0.1] * n_act)
    ros_node.spin_until(lambda: ns_of(obs[-1].header.stamp) != latest, timeout=2.0)
    assert ns_of(obs[-1].header.stamp) == latest
    assert truth and truth[-1].step >= 5
    # /clock: every step with clock_period_s 0; otherwise at most that often, and always at a new episode
    if clock_period == 0:
        assert {ns_of(m.header.stamp) for m in obs} <= set(clock)
    else:
        assert set(clock) == {reset_ns}
    assert bridge.stop()[0] == 0 and fusion.stop()[0] == 0      # clean exit on SIGINT


def test_bad_set_task_and_bad_images_leave_nodes_alive(start_node, ros_node):
    bridge = start_node("mujoco_bridge_node", {"env": "point2d"})
    fusion = start_node("camera_fusion_node", {"camera_topics": "['/test/cam']"})
    obs = []
    ros_node.create_subscription(Image, "/meld/observation", obs.append, RELIABLE)
    client = ros_node.create_client(SetTask, "/sim/set_task")
    assert client.wait_for_service(timeout_sec=30)
    future = client.call_async(SetTask.Request(task_id=999, task_set="train"))
    assert ros_node.spin_until(future.done)
    assert not future.result().success and "out of range" in future.result().message
    cam = ros_node.create_publisher(Image, "/test/cam", RELIABLE)
    bad = Image(height=64, width=64, encoding="rgb8", step=192, data=bytes(100))      # truncated
    good = array_to_image(np.zeros((32, 48, 3), np.uint8))                            # resized to 64x64
    good.header.stamp.sec = 5
    assert ros_node.spin_until(lambda: ros_node.count_subscribers("/test/cam") > 0)   # discovery
    assert ros_node.wait_matched(["/meld/observation"])
    cam.publish(bad)
    cam.publish(good)
    assert ros_node.spin_until(lambda: obs), fusion.stop()[1]
    assert image_to_array(obs[0]).shape == (64, 64, 3)
    assert bridge.proc.poll() is None and fusion.proc.poll() is None
    code, out = fusion.stop()
    assert code == 0 and "image dropped" in out


def test_realtime_bridge_drops_bad_commands_and_holds_zero(start_node, ros_node):
    """Realtime mode: frames at the control rate; a command of the wrong length or with NaN is
    logged and dropped; with no fresh command the robot gets zero (it stays put)."""
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Float64MultiArray

    bridge = start_node("mujoco_bridge_node", {"env": "point2d", "mode": "realtime", "realtime_factor": 5.0,
                                               "command_timeout_s": 0.2})
    states = []
    ros_node.create_subscription(JointState, "/joint_states", states.append, RELIABLE)
    cmd = ros_node.create_publisher(Float64MultiArray, "/arm_controller/commands", RELIABLE)
    assert ros_node.spin_until(lambda: len(states) > 5, timeout=30), bridge.stop()[1]
    assert ros_node.spin_until(lambda: ros_node.count_subscribers("/arm_controller/commands") > 0)
    still = list(states[-1].position)
    ros_node.spin_until(lambda: False, timeout=0.5)
    assert np.allclose(states[-1].position, still, atol=1e-6)          # no command: zero velocity
    for bad in ([1.0, 1.0, 1.0], [float("nan"), 0.0]):
        cmd.publish(Float64MultiArray(data=bad))
    ros_node.spin_until(lambda: False, timeout=0.5)
    assert np.allclose(states[-1].position, still, atol=1e-6) and bridge.proc.poll() is None
    for _ in range(5):
        cmd.publish(Float64MultiArray(data=[1.0, 0.0]))                  # a valid command moves it
        ros_node.spin_until(lambda: False, timeout=0.05)
    ros_node.spin_until(lambda: False, timeout=0.3)
    assert states[-1].position[0] > still[0] + 0.01
    code, out = bridge.stop()
    assert code == 0 and "command dropped" in out


def test_fusion_samples_unsynchronised_webcams_at_its_tick(start_node, ros_node):
    """sampling:=newest (real webcams): two cameras at different rates, one in yuv422_yuy2 (usb_cam's
    default) with its stamps 0.9 s behind; an observation at every tick from the newest frames; a camera
    that stops means no observation (and a stale diagnostic); when it comes back, observations resume."""
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus

    fusion = start_node("camera_fusion_node", {"camera_topics": "['/web/a', '/web/b']", "sampling": "newest",
                                               "tick_period_s": 0.05, "max_age_s": 0.3,
                                               "diagnostics_period_s": 0.2})
    obs, diags = [], []
    ros_node.create_subscription(Image, "/meld/observation", obs.append, RELIABLE)
    ros_node.create_subscription(DiagnosticArray, "/diagnostics", diags.append, 10)
    cam_a = ros_node.create_publisher(Image, "/web/a", RELIABLE)
    cam_b = ros_node.create_publisher(Image, "/web/b", RELIABLE)
    assert ros_node.spin_until(lambda: ros_node.count_subscribers("/web/a") and ros_node.count_subscribers("/web/b"))
    red = array_to_image(np.tile(np.array([200, 30, 30], np.uint8), (48, 64, 1)))
    yuyv = Image(height=48, width=64, encoding="yuv422_yuy2", step=128,
                 data=bytes([128, 128, 128, 128]) * (48 * 32))                  # mid grey
    clock = ros_node.get_clock()

    def stream(seconds, with_b=True):
        end = time.monotonic() + seconds
        k = 0
        while time.monotonic() < end:
            now = clock.now()
            red.header.stamp = now.to_msg()
            cam_a.publish(red)
            if with_b and k % 2 == 0:                                        # camera b at half the rate,
                yuyv.header.stamp.sec = max(0, now.to_msg().sec - 1)        # stamped about a second behind
                cam_b.publish(yuyv)
            k += 1
            ros_node.spin_until(lambda: False, timeout=0.03)

    stream(1.5)
    assert len(obs) >= 10, fusion.stop()[1]
    fused = image_to_array(obs[-1])
    assert fused.shape == (64, 128, 3)
    assert tuple(fused[10, 10]) == (200, 30, 30) and abs(int(fused[10, 100].mean()) - 130) < 10   # red | grey
    n = len(obs)
    stream(1.0, with_b=False)                                                   # camera b stops
    assert len(obs) - n <= 8                                                    # ticks until it ages out
    n = len(obs)
    ros_node.spin_until(lambda: False, timeout=0.5)
    assert len(obs) == n
    assert any(s.level == DiagnosticStatus.STALE and s.hardware_id == "/web/b" for d in diags[-3:] for s in d.status)
    stream(1.0)                                                                 # it comes back
    assert len(obs) > n + 5
    assert fusion.stop()[0] == 0
