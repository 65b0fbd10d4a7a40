"""Sawyer tasks: joint control honours limits; scripted controllers reach success."""
import numpy as np
import pytest

from meld_sim_bridge.envs.sawyer import HAND_DOWN, SAWYER_JOINTS, sawyer_reward
from meld_sim_bridge.kinematics import solve_ik
from meld_sim_bridge.registry import make_env
from meld_sim_bridge.rendering import mujoco


def _module_env(name, **kwargs):
    """A fixture holding one environment for the whole module."""
    @pytest.fixture(scope="module")
    def fixture():
        env = make_env(name, **kwargs)
        yield env
        env.close()
    return fixture


reacher = _module_env("sawyer-reacher", n_train=4, n_eval=2)
peg = _module_env("sawyer-peg", n_train=4, n_eval=2)
shelf = _module_env("sawyer-shelf", n_train=6, n_eval=2)
buttons = _module_env("sawyer-button", n_train=6, n_eval=2)


def scripted_joint_goal(env, site_target, quat=None, site="endEffector"):
    """Joint configuration putting ``site`` at ``site_target`` (IK on a scratch copy)."""
    scratch = mujoco.MjData(env.model)
    scratch.qpos[:] = env.data.qpos
    q, err = solve_ik(env.model, scratch, site, site_target, SAWYER_JOINTS, quat)
    assert err < 1e-3
    return q


def drive_to(env, q_goal, steps):
    """Delta-position actions towards q_goal, one bounded step at a time."""
    info = None
    for _ in range(steps):
        a = np.clip((q_goal - env._target) / env.max_delta, -1, 1)
        *_, info = env.step(a)
    return info


def test_reward_is_the_papers_shape():
    assert sawyer_reward(0.0) == pytest.approx(-np.log(1e-5))
    d = np.linspace(0.01, 1, 50)
    assert np.all(np.diff([sawyer_reward(x) for x in d]) < 0)      # closer is better


def test_home_pose_and_two_cameras(reacher):
    obs, _ = reacher.reset(seed=0)
    assert obs.shape == (64, 128, 3)
    assert np.allclose(reacher.end_effector, [0.0, 0.6, 0.2], atol=0.01)
    scene, wrist = obs[:, :64], obs[:, 64:]
    assert scene.std() > 5 and wrist.std() > 5 and not np.array_equal(scene, wrist)


def test_scripted_reach_succeeds_and_wrong_goal_does_not(reacher):
    task = reacher.train_tasks[0]
    reacher.set_task(task)
    reacher.reset(seed=0)
    start_reward = reacher._rewards()[0]
    info = drive_to(reacher, scripted_joint_goal(reacher, np.array(task.goal)), 25)
    assert info["success"] and info["sparse_reward"] == 1.0 and info["dense_reward"] > start_reward
    # aim at another task's goal: no success on this one
    other = next(t for t in reacher.train_tasks if np.linalg.norm(np.subtract(t.goal, task.goal)) > 0.15)
    reacher.reset(seed=0)
    info = drive_to(reacher, scripted_joint_goal(reacher, np.array(other.goal)), 25)
    assert not info["success"] and info["sparse_reward"] == 0.0


def test_joint_targets_stay_in_limits(reacher):
    reacher.reset(seed=0)
    for k in range(reacher.episode_length):
        reacher.step(np.ones(7) if k % 2 == 0 else np.full(7, 5.0))     # out of range actions are clipped
        lo, hi = reacher.joint_range[:, 0], reacher.joint_range[:, 1]
        assert np.all(reacher._target >= lo) and np.all(reacher._target <= hi)
        assert np.all(reacher.joint_positions >= lo - 0.05) and np.all(reacher.joint_positions <= hi + 0.05)


def descend_into(env, site, point, heights, steps=6):
    """Hand pointing down, ``site`` above ``point``, lowered through ``heights``."""
    info = None
    for dz in heights:
        info = drive_to(env, scripted_joint_goal(env, point + [0, 0, dz], HAND_DOWN, site), steps)
    return info


def test_peg_in_goal_box_succeeds_other_box_does_not(peg):
    task = peg.train_tasks[0]
    peg.set_task(task)
    peg.reset(seed=0)
    for k, (x, y) in enumerate(task.box_xy):             # the layout is the task's
        assert np.allclose(peg.hole_bottom(k)[:2], [x, y])
    info = descend_into(peg, "peg_tip", peg.hole_bottom(task.goal_box), (0.12, 0.07, 0.04, 0.01))
    assert peg.tip_in_hole(task.goal_box) and info["success"] and info["sparse_reward"] == 1.0
    other = (task.goal_box + 1) % 4
    peg.reset(seed=0)
    info = descend_into(peg, "peg_tip", peg.hole_bottom(other), (0.12, 0.07, 0.04, 0.01))
    assert peg.tip_in_hole(other) and not info["success"] and info["sparse_reward"] == 0.0


def _place(env, target):
    """Carry the mug in front of the shelf at the target's height, then slide it in."""
    info = None
    for wp in (target + [0, -0.2, 0.03], target + [0, -0.1, 0.01], target):
        info = drive_to(env, scripted_joint_goal(env, wp, HAND_DOWN, "mug_centre"), 8)
    return info


def test_mug_on_target_succeeds_elsewhere_does_not(shelf):
    task = shelf.train_tasks[0]
    shelf.set_task(task)
    shelf.reset(seed=0)
    info = _place(shelf, task.target)
    assert info["success"] and info["sparse_reward"] == 1.0
    shelf.reset(seed=0)
    info = _place(shelf, task.target + [0.0, -0.12, 0.0])      # short of the shelf
    assert not info["success"] and info["sparse_reward"] == 0.0


def test_mug_mass_changes_the_dynamics(shelf):
    """Same commands, different mug mass: the heavier mug sags further (the servos feel it)."""
    light = min(shelf.train_tasks, key=lambda t: t.mug_mass)
    heavy = max(shelf.train_tasks, key=lambda t: t.mug_mass)
    heights = []
    for task in (light, heavy):
        shelf.set_task(task)
        shelf.reset(seed=0)
        for _ in range(3):
            shelf.step(np.zeros(7))
        heights.append(shelf.mug_position[2])
    assert heavy.mug_mass - light.mug_mass > 0.5
    assert heights[0] - heights[1] > 0.002


def _press(env, k):
    return descend_into(env, "endEffector", env.button_top(k), (0.08, 0.03, -0.03, 0.06), steps=5)


def test_correct_button_succeeds_and_latches_wrong_button_does_not(buttons):
    task = buttons.train_tasks[0]
    buttons.set_task(task)
    buttons.reset(seed=0)
    assert buttons.episodes_per_trial == 2
    assert all(buttons.button_depth(k) < 1e-3 for k in range(3))      # springs hold the caps up
    assert np.allclose(buttons.model.body_pos[buttons.model.body("panel").id][:2], task.panel_xy)
    info = _press(buttons, task.button)                 # ends lifted off: the press is latched
    assert buttons.button_depth(task.button) < 1e-3
    assert info["success"] and info["sparse_reward"] == 1.0
    buttons.reset(seed=0)
    info = buttons.step(np.zeros(7))[-1]
    assert not info["success"]                          # a new episode starts unpressed
    wrong = (task.button + 1) % 3
    buttons.reset(seed=0)
    info = _press(buttons, wrong)
    assert not info["success"] and info["sparse_reward"] == 0.0
