"""The learner's trial recording equals run_trial's layout (plain functions, shuffled arrival order)."""
import numpy as np
import pytest

from meld_core.rollout import run_trial
from meld_ros.rosfree.recorder import EpisodeRecorder, assemble_trial
from meld_sim_bridge.registry import make_env
from meld_sim_bridge.stepper import SimStepper


def test_recorded_trial_equals_direct_rollout():
    env = make_env("point2d", n_train=3, n_eval=2)
    task, seed = env.train_tasks[1], 11
    direct = run_trial(env, 1, task, 2, seed, rng=np.random.default_rng(0))

    # the same actions through the bridge's stepping, delivered as stamped events in random order
    stepper = SimStepper(make_env("point2d", n_train=3, n_eval=2))
    actions = np.random.default_rng(0).uniform(-1, 1, (2 * env.episode_length, 2)).astype(np.float32)
    shuffle = np.random.default_rng(1)
    episodes = []
    for e in range(2):
        frame = stepper.reset(task, seed + e)
        rec = EpisodeRecorder(env.episode_length, frame.sim_time_ns)
        events = []
        for k in range(env.episode_length + 1):
            ns = frame.sim_time_ns
            events += [("image", ns, np.concatenate(frame.images, 1)),
                       ("reward", ns, (frame.step, frame.dense, frame.sparse, frame.success))]
            if k < env.episode_length:
                a = actions[e * env.episode_length + k]
                events.append(("action", ns, a))
                frame, _ = stepper.step(a * env.action_scale)
        for i in shuffle.permutation(len(events)):
            kind, ns, v = events[i]
            {"image": lambda: rec.add_image(ns, v), "reward": lambda: rec.add_reward(ns, *v),
             "action": lambda: rec.add_action(ns, v)}[kind]()
        assert rec.complete()
        episodes.append(rec.arrays())
    trial = assemble_trial(1, episodes)
    for key in ("images", "actions", "dense", "sparse", "success"):
        assert np.array_equal(getattr(trial, key), getattr(direct, key)), key


def test_incomplete_episode_is_not_complete():
    rec = EpisodeRecorder(2, start_ns=100)
    rec.add_reward(100, 0, 0.0, 0.0, False)
    rec.add_image(100, np.zeros((64, 64, 3), np.uint8))
    rec.add_action(100, [0.0, 0.0])
    rec.add_reward(200, 1, -1.0, 0.0, False)
    assert not rec.complete()
    with pytest.raises(ValueError, match="incomplete"):
        rec.arrays()
    rec.add_reward(50, 0, 0.0, 0.0, False)            # before the reset: ignored
    assert 50 not in rec.rewards


def _frame(rec, ns, step, action=True, dense=-1.0):
    rec.add_image(ns, np.full((64, 64, 3), step, np.uint8))
    rec.add_reward(ns, step, dense, 0.0, False)
    if action:
        rec.add_action(ns, [0.1, -0.1])


def test_stray_messages_are_dropped_and_counted_never_raised():
    """What stopped training: one reward with a stamp or step the learner did not expect made the
    recorder raise inside the learner's callback."""
    rec = EpisodeRecorder(3, reward_limit=1e6, action_dim=2, image_shape=(64, 64, 3))
    rec.add_reward(5, 0, 0.0, 0.0, False)                 # before the reset is known: kept for now
    rec.begin(100)
    assert rec.add_reward(150, 0, -1.0, 0.0, False) is None        # step 0 at another stamp: never chosen
    assert rec.add_reward(10**18, 2, -1.0, 0.0, False) is None      # far in the future: never chosen
    assert "outside" in rec.add_reward(120, 99, -1.0, 0.0, False)
    assert "beyond" in rec.add_reward(130, 1, 1e308, 0.0, False)
    assert "beyond" in rec.add_reward(131, 1, float("nan"), 0.0, False)
    assert "not 2" in rec.add_action(140, [0.0, 0.0, 0.0])
    assert "outside" in rec.add_action(141, [float("inf"), 0.0])
    assert "shape" in rec.add_image(142, np.zeros((32, 32, 3), np.uint8))
    for k, ns in enumerate((100, 200, 300, 400)):
        _frame(rec, ns, k, action=k < 3)
    assert rec.complete()
    arrays = rec.arrays()
    assert arrays["images"][:, 0, 0, 0].tolist() == [0, 1, 2, 3] and arrays["dense"].tolist() == [-1.0] * 4
    assert sum(rec.dropped.values()) == 6 and "dropped" in rec.status()


def test_conflicting_readings_make_the_episode_unusable():
    from meld_ros.rosfree.recorder import EpisodeUnusable
    rec = EpisodeRecorder(1, start_ns=100)
    _frame(rec, 100, 0)
    _frame(rec, 200, 1, action=False)
    _frame(rec, 200, 1, action=False)                     # a re-sent frame: the same reading, fine
    rec.add_reward(200, 1, -5.0, 0.0, False)              # another publisher's reading for the same frame
    assert rec.complete() and rec.conflicts == {200}
    with pytest.raises(EpisodeUnusable, match="two different readings"):
        rec.arrays()


def test_on_the_robot_step_zero_is_the_first_frame_after_the_start():
    """The rig answers when it is ready (start_ns); camera ticks run on their own clock, so the episode's
    reset frame is the first tick at or after it whose reward says step 0."""
    rec = EpisodeRecorder(2, start_ns=1000)
    image = np.zeros((4, 4, 3), np.uint8)
    for ns, step in ((1030, 0), (1330, 1), (1630, 2)):
        rec.add_image(ns, image + step)
        rec.add_reward(ns, step, -0.1 * step, 0.0, False)
    rec.add_image(990, image)                     # a tick before the start: not part of the episode
    rec.add_reward(990, 0, 0.0, 0.0, False)
    assert not rec.complete()                     # no actions yet
    rec.add_action(1030, [0.1, 0.2])
    rec.add_action(1330, [0.3, 0.4])
    assert rec.complete()
    out = rec.arrays()
    assert [int(im[0, 0, 0]) for im in out["images"]] == [0, 1, 2]
    np.testing.assert_allclose(out["dense"], [0.0, -0.1, -0.2])
