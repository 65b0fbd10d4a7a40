import numpy as np
import pytest

from meld_sim_bridge.envs.point2d import Point2DEnv


def _drive_to(env, target, steps=20):
    for _ in range(steps):
        delta = target - env.position
        obs, r, _, _, info = env.step(np.clip(delta / (env.max_speed * 0.1), -1, 1))
    return r, info


def test_scripted_controller_reaches_goal_and_is_rewarded():
    env = Point2DEnv(n_train=4, n_eval=2)
    task = env.held_out_tasks[0]
    env.set_task(task)
    env.reset(seed=0)
    r, info = _drive_to(env, task.goal(env.goal_distance))
    assert info["success"] and info["sparse_reward"] == 1.0
    assert r == info["dense_reward"] > -env.goal_radius


def test_wrong_goal_fails():
    env = Point2DEnv(n_train=4, n_eval=2)
    env.set_task(env.train_tasks[0])
    env.reset(seed=0)
    wrong = -env.train_tasks[0].goal(env.goal_distance)
    r, info = _drive_to(env, wrong)
    assert not info["success"] and info["sparse_reward"] == 0.0 and r < -1.5


def test_action_is_clipped_and_speed_bounded():
    env = Point2DEnv(n_train=2, n_eval=1)
    env.reset(seed=0)
    p0 = env.position
    env.step([50.0, 0.0])
    assert np.linalg.norm(env.position - p0) <= env.max_speed * 0.1 * 1.01


def test_goals_on_the_semicircle_and_two_goal_variant():
    semi = Point2DEnv(n_train=30, n_eval=10)
    angles = [t.goal_angle for t in semi.train_tasks + semi.held_out_tasks]
    assert min(angles) >= 0 and max(angles) <= np.pi
    two = Point2DEnv(variant="two_goal", n_train=10, n_eval=4)
    for t in two.train_tasks + two.held_out_tasks:
        assert min(abs(t.goal_angle - np.pi / 4), abs(t.goal_angle - 3 * np.pi / 4)) <= 0.05 + 1e-9
    for tasks in (two.train_tasks, two.held_out_tasks):       # both goals equally often in each set
        assert sum(t.goal_angle > np.pi / 2 for t in tasks) == len(tasks) // 2
    with pytest.raises(ValueError, match="variant"):
        Point2DEnv(variant="spiral")


def test_goal_is_not_drawn():
    """The goal must be inferred from reward: the image does not depend on the task."""
    env = Point2DEnv(n_train=2, n_eval=1)
    env.set_task(env.train_tasks[0]); a, _ = env.reset(seed=1)
    env.set_task(env.train_tasks[1]); b, _ = env.reset(seed=1)
    assert np.array_equal(a, b)


def test_rewards_under_another_task_leave_the_task_alone():
    env = Point2DEnv(variant="two_goal", n_train=2, n_eval=2)
    here, other = env.train_tasks
    env.set_task(here)
    env.reset(seed=0)
    _drive_to(env, other.goal(env.goal_distance))
    dense, sparse, success = env.rewards_under(other)
    assert success and sparse == 1.0 and dense > -env.goal_radius
    _, r, _, _, info = env.step(np.zeros(2))          # still paid by its own task
    assert not info["success"] and r < -1.0
