import numpy as np
import pytest

from meld_sim_bridge.envs.cheetah_vel import CheetahVelEnv, CheetahVelTask


def test_reward_is_velocity_error_minus_control_cost():
    env = CheetahVelEnv(n_train=2, n_eval=1)
    env.set_task(CheetahVelTask((1.0,)))
    env.reset(seed=0)
    a = np.full(6, 0.5)
    _, r, _, _, info = env.step(a)
    expected = -abs(env.velocity - 1.0) - 0.01 * float(np.sum(a ** 2))
    assert r == pytest.approx(expected)
    assert info["success"] == (abs(env.velocity - 1.0) < 0.2)


def test_target_changes_within_episode():
    env = CheetahVelEnv(velocity_changes=3, n_train=3, n_eval=1)
    task = env.train_tasks[0]
    assert len(task.target_velocities) == 3
    targets = []
    env.set_task(task)
    env.reset(seed=0)
    for _ in range(env.episode_length):
        env.step(np.zeros(6))
        targets.append(env.target_velocity)
    assert sorted(set(targets)) == sorted(set(task.target_velocities))
    assert targets[0] == task.target_velocities[0] and targets[-1] == task.target_velocities[-1]


def test_velocity_range():
    env = CheetahVelEnv(n_train=30, n_eval=10)
    vs = [t.target_velocities[0] for t in env.train_tasks + env.held_out_tasks]
    assert 0.0 <= min(vs) and max(vs) <= 3.0
