"""The control loop as real processes: bridge -> fusion -> belief -> policy -> bridge (lockstep),
with reward sensing; then the policy's safety: watchdog and e-stop; bad messages dropped."""
import math

import numpy as np
import pytest
from sensor_msgs.msg import Image
from std_msgs.msg import Bool, Float64MultiArray
from std_srvs.srv import Trigger

from meld_core.config import load_config
from meld_core.meta_train import MetaTrainer
from meld_core.weights import save_weights
from meld_ros.rosfree.images import array_to_image
from meld_ros.msg import Action, Belief, Reward
from meld_ros.runtime.node_runtime import RECORDED, RELIABLE, ns_of
from meld_ros.srv import SetTask

pytestmark = pytest.mark.graph


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    d = tmp_path_factory.mktemp("graph")
    trainer = MetaTrainer(load_config("tiny", {"train.iterations": 1}), d / "run", resume=False)
    trainer.run()
    save_weights(d / "weights.pt", 1, trainer.cfg, trainer.spec, trainer.algo.agent)
    return d / "weights.pt"


def _loop(start_node, weights):
    nodes = {
        "bridge": start_node("mujoco_bridge_node", {"env": "point2d"}),
        "fusion": start_node("camera_fusion_node", {"camera_topics": "['/camera/scene/image_raw']"}),
        "reward": start_node("reward_node"),
        "belief": start_node("belief_node", {"weights": str(weights)}),
        "policy": start_node("policy_node", {"weights": str(weights), "watchdog_timeout_s": 0.3}),
    }
    return nodes


def _call(ros_node, client, request):
    assert client.wait_for_service(timeout_sec=30)
    future = client.call_async(request)
    assert ros_node.spin_until(future.done)
    return future.result()


def test_loop_runs_and_safety_holds(start_node, ros_node, weights):
    nodes = _loop(start_node, weights)
    beliefs, actions, commands, recons = [], [], [], []
    ros_node.create_subscription(Belief, "/meld/belief", beliefs.append, RECORDED)
    ros_node.create_subscription(Image, "/meld/reconstruction", recons.append, RECORDED)
    ros_node.create_subscription(Action, "/meld/action", actions.append, RECORDED)
    ros_node.create_subscription(Float64MultiArray, "/arm_controller/commands", commands.append, RELIABLE)
    reset = ros_node.create_client(Trigger, "/belief/reset")
    set_task = ros_node.create_client(SetTask, "/sim/set_task")
    assert ros_node.wait_matched(["/meld/belief", "/meld/action", "/arm_controller/commands", "/meld/reconstruction"])
    assert _call(ros_node, reset, Trigger.Request()).success
    assert _call(ros_node, set_task, SetTask.Request(task_id=2, task_set="train", seed=3)).success
    # the loop closes by itself: 15 steps to the end of the episode
    ok = ros_node.spin_until(lambda: beliefs and beliefs[-1].step >= 15, timeout=60)
    assert ok, {k: n.stop()[1][-2000:] for k, n in nodes.items()}
    by_stamp = {ns_of(b.header.stamp): b.step for b in beliefs}         # a re-sent frame repeats a belief
    assert sorted(by_stamp.values()) == list(range(16))                 # one update per step, in order
    # every action answers a belief (topics are not ordered with each other: wait for the last ones)
    assert ros_node.spin_until(lambda: len({ns_of(a.header.stamp) for a in actions}) >= 15, timeout=10)
    assert {ns_of(a.header.stamp) for a in actions} <= set(by_stamp)
    assert all(abs(c) <= 2.0 + 1e-9 for a in actions for c in a.command)      # point2d: |v| <= 2 m/s
    assert beliefs[-1].model_version == 1 and len(beliefs[-1].latent_sample) == len(beliefs[-1].latent_mean)
    # the decoded image of p(x_t | z_t), for rviz / rqt, while someone subscribes to it
    assert ros_node.spin_until(lambda: len(recons) >= 15, timeout=10)
    assert {(m.height, m.width, m.encoding) for m in recons} == {(64, 64, "rgb8")}
    # a second episode of the same trial: the belief carries on and says which episode it is in
    assert {b.episode for b in beliefs} == {0}
    assert _call(ros_node, set_task, SetTask.Request(task_id=2, task_set="train", seed=4)).success
    assert ros_node.spin_until(lambda: beliefs[-1].step >= 31, timeout=60)
    episode_of = {b.step: b.episode for b in beliefs}
    assert [episode_of[k] for k in range(32)] == [0] * 16 + [1] * 16
    assert {b.trial for b in beliefs} == {beliefs[0].trial}

    # e-stop: zero commands while engaged, whatever the beliefs say. The new publisher is matched first (a
    # message sent before discovery is lost: volatile QoS). Commands already in flight may still be non-zero
    # (under CPU load more than one: how many is the scheduler's, not the node's), so the bound is on time:
    # a zero command within the watchdog's 0.5 s (measured: ~2 ms), and none but zero from then on
    estop = ros_node.create_publisher(Bool, "/meld/estop", RELIABLE)
    assert ros_node.spin_until(lambda: estop.get_subscription_count() > 0, timeout=10)
    n = len(commands)
    estop.publish(Bool(data=True))

    def first_zero():
        return next((i for i in range(n, len(commands)) if not any(commands[i].data)), None)
    assert ros_node.spin_until(lambda: first_zero() is not None, timeout=0.5), "no zero command within 0.5 s"
    k = first_zero()
    assert ros_node.spin_until(lambda: len(commands) > k + 3, timeout=10)
    assert all(not any(c.data) for c in commands[k:])
    release = ros_node.create_client(Trigger, "/meld/estop_release")
    assert _call(ros_node, release, Trigger.Request()).success

    # bad messages are dropped, nodes stay alive
    obs_pub = ros_node.create_publisher(Image, "/meld/observation", RELIABLE)
    rew_pub = ros_node.create_publisher(Reward, "/meld/reward", RELIABLE)
    truth_pub = ros_node.create_publisher(Reward, "/sim/reward", RELIABLE)
    bad_image = array_to_image(np.zeros((32, 32, 3), np.uint8))
    bad_image.header.stamp.sec = 10_000
    bad_reward = Reward(dense=math.nan)
    bad_reward.header.stamp.sec = 10_000
    ros_node.spin_until(lambda: False, timeout=1.0)
    obs_pub.publish(bad_image)
    rew_pub.publish(bad_reward)
    truth_pub.publish(bad_reward)
    ros_node.spin_until(lambda: False, timeout=1.0)
    assert all(p.proc.poll() is None for p in nodes.values())

    # the belief node dies: the policy commands zero within its watchdog timeout
    nodes["belief"].proc.kill()
    ros_node.spin_until(lambda: False, timeout=1.0)   # take in what was sent before the kill (a sleep would queue it)
    n = len(commands)
    assert ros_node.spin_until(lambda: len(commands) > n + 2, timeout=10)
    assert all(not any(c.data) for c in commands[n:])

    for name, node in nodes.items():
        if name != "belief":
            code, out = node.stop()
            assert code == 0, f"{name} exited {code}:\n{out[-2000:]}"


def test_composed_control_loop(start_node, ros_node, weights, tmp_path):
    """Fusion, reward sensing, belief and policy composed in one process (compose:=true): the loop closes
    through messages delivered inside it, the belief reaches an outside subscriber only once there is one,
    the e-stop still arrives over DDS, and SIGINT stops the process cleanly."""
    import yaml
    params = {"camera_fusion": {"camera_topics": ["/camera/scene/image_raw"]},
              "belief": {"weights": str(weights)}, "policy": {"weights": str(weights)}}
    path = tmp_path / "loop.yaml"
    path.write_text(yaml.safe_dump({k: {"ros__parameters": v} for k, v in params.items()}))
    bridge = start_node("mujoco_bridge_node", {"env": "point2d"})
    loop = start_node("container", ros_args=["--params-file", str(path)],
                      arguments=["camera_fusion_node", "reward_node", "belief_node", "policy_node"])
    actions, beliefs, commands = [], [], []
    ros_node.create_subscription(Action, "/meld/action", actions.append, RECORDED)
    ros_node.create_subscription(Float64MultiArray, "/arm_controller/commands", commands.append, RELIABLE)
    reset = ros_node.create_client(Trigger, "/belief/reset")
    set_task = ros_node.create_client(SetTask, "/sim/set_task")
    assert ros_node.wait_matched(["/meld/action", "/meld/belief"])

    def episode(seed):
        assert _call(ros_node, reset, Trigger.Request()).success
        assert _call(ros_node, set_task, SetTask.Request(task_id=1, task_set="train", seed=seed)).success
        start = len(actions)
        ok = ros_node.spin_until(lambda: len({ns_of(a.header.stamp) for a in actions[start:]}) >= 15, timeout=60)
        assert ok, {"bridge": bridge.stop()[1][-2000:], "loop": loop.stop()[1][-3000:]}
        return {ns_of(a.header.stamp) for a in actions[start:]}

    # nobody outside listens to /meld/belief: the policy still gets every belief (inside the process)
    first = episode(3)
    assert len(first) >= 15
    ros_node.create_subscription(Belief, "/meld/belief", beliefs.append, RECORDED)
    assert ros_node.spin_until(lambda: ros_node.count_subscribers("/meld/belief") >= 1, timeout=10)
    ros_node.spin_until(lambda: False, timeout=1.0)          # the container's publisher matches the new reader
    second = episode(4)
    assert ros_node.spin_until(lambda: {ns_of(b.header.stamp) for b in beliefs} >= second, timeout=10)
    assert beliefs[-1].model_version == 1

    estop = ros_node.create_publisher(Bool, "/meld/estop", RELIABLE)
    ros_node.spin_until(lambda: False, timeout=1.0)
    estop.publish(Bool(data=True))
    n = len(commands)
    assert ros_node.spin_until(lambda: len(commands) > n + 3, timeout=10)
    assert all(not any(c.data) for c in commands[n + 1:])

    code, out = loop.stop()
    assert code == 0, out[-3000:]
    assert "using weights version 1" in out
    bridge.stop()


def test_policy_acts_uniformly_at_random_when_told(start_node, ros_node, weights):
    """uniform_actions (set at run time by the learner for pre-training trials): actions uniform in [-1, 1],
    not the actor's; set back, the deterministic actor answers the same belief with the same action."""
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import SetParameters

    from meld_core.weights import load_weights
    model = load_weights(weights).cfg.model
    policy = start_node("policy_node", {"weights": str(weights), "deterministic": "true", "uniform_actions": "true"})
    actions = []
    ros_node.create_subscription(Action, "/meld/action", actions.append, RECORDED)
    pub = ros_node.create_publisher(Belief, "/meld/belief", RELIABLE)
    assert ros_node.spin_until(lambda: pub.get_subscription_count() > 0, 30)
    n = model.z1_dim + model.z2_dim

    def answers(k0, count=4):
        for k in range(k0, k0 + count):
            b = Belief(latent_mean=[0.1] * n, latent_std=[1.0] * n, latent_sample=[0.1] * n, model_version=1)
            b.header.stamp.sec = k
            pub.publish(b)
        assert ros_node.spin_until(lambda: len({a.header.stamp.sec for a in actions} & set(range(k0, k0 + count)))
                                   == count, 20)
        return [tuple(a.normalized) for a in actions if k0 <= a.header.stamp.sec < k0 + count]

    uniform = answers(1)
    assert len(set(uniform)) == len(uniform) and all(abs(v) <= 1.0 for a in uniform for v in a)
    client = ros_node.create_client(SetParameters, "/policy/set_parameters")
    off = Parameter(name="uniform_actions", value=ParameterValue(type=ParameterType.PARAMETER_BOOL, bool_value=False))
    assert _call(ros_node, client, SetParameters.Request(parameters=[off])).results[0].successful
    assert len(set(answers(10))) == 1                       # the deterministic actor, the same belief
    assert policy.proc.poll() is None
