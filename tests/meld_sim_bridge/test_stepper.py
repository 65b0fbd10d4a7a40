"""The bridge's stepping logic: commands in physical units, per-camera images, simulated time."""
import numpy as np
import pytest

from meld_sim_bridge.registry import make_env
from meld_sim_bridge.stepper import SimStepper


@pytest.mark.parametrize("name, cameras, period", [("point2d", 1, 0.1), ("widowx-cable", 2, 0.3)])
def test_commands_frames_and_time(name, cameras, period):
    env = make_env(name, n_train=3, n_eval=2)
    stepper = SimStepper(env)
    first = stepper.reset(env.train_tasks[0], seed=5)
    assert len(first.images) == cameras and all(im.shape == (64, 64, 3) for im in first.images)
    assert first.step == 0
    command = 0.5 * env.action_scale                     # half speed on every joint
    frame, over = stepper.step(command)
    assert frame.step == 1 and not over
    assert frame.sim_time_ns - first.sim_time_ns == round(period * 1e9)
    # the same as stepping the environment directly with action = command / scale
    direct = make_env(name, n_train=3, n_eval=2)
    direct.set_task(direct.train_tasks[0])
    obs, _ = direct.reset(seed=5)
    obs, r, *_, info = direct.step(np.full(env.action_space.shape, 0.5))
    assert np.array_equal(np.concatenate(frame.images, axis=1), obs)
    assert frame.dense == info["dense_reward"] and frame.success == info["success"]
    assert np.array_equal(frame.joint_positions, direct.data.qpos)


def test_bad_commands_rejected():
    env = make_env("point2d", n_train=3, n_eval=2)
    stepper = SimStepper(env)
    stepper.reset(env.train_tasks[0], seed=0)
    with pytest.raises(ValueError, match="3 values"):
        stepper.step([0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="not finite"):
        stepper.step([np.nan, 0.0])
