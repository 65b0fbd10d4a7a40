"""WidowX cable insertion: the rig state is the task; only the correct port succeeds."""
import numpy as np
import pytest

from meld_sim_bridge.envs.widowx_cable import ARM_JOINTS, N_PORTS, TIP_SITE
from meld_sim_bridge.kinematics import solve_ik
from meld_sim_bridge.registry import make_env
from meld_sim_bridge.rendering import mujoco


@pytest.fixture(scope="module")
def env():
    e = make_env("widowx-cable", n_train=6, n_eval=3)
    yield e
    e.close()


def _ik(env, pos, rot):
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, rot.reshape(9))
    scratch = mujoco.MjData(env.model)
    scratch.qpos[:], scratch.mocap_pos[:], scratch.mocap_quat[:] = env.data.qpos, env.data.mocap_pos, env.data.mocap_quat
    q, err = solve_ik(env.model, scratch, TIP_SITE, pos, ARM_JOINTS, quat, iterations=400, orientation_weight=0.02)
    assert err < 2e-3
    return q


def scripted_insert(env, port):
    """Line up 5 cm in front of ``port``, then push in along its axis in 1 cm waypoints,
    with joint-velocity commands (the only interface the environment has)."""
    p, rot = env.port_pose(port)
    info = None
    for depth in (-0.05, -0.03, -0.02, -0.01, 0.0):
        q = _ik(env, p + rot[:, 0] * depth, rot)
        for _ in range(5):
            a = np.clip((q - env.joint_positions) / (env.max_joint_velocity * env.control_period), -1, 1)
            *_, info = env.step(a)
    return info


@pytest.mark.parametrize("task_index", [0, 1, 2])
def test_correct_port_succeeds_wrong_port_does_not(env, task_index):
    task = env.train_tasks[task_index]
    env.set_task(task)
    env.reset(seed=0)
    start = env._rewards()[0]
    info = scripted_insert(env, task.port)
    assert env.tip_in_port(task.port)
    assert info["success"] and info["sparse_reward"] == 1.0 and info["dense_reward"] > start
    wrong = (task.port + 1) % N_PORTS
    env.reset(seed=0)
    info = scripted_insert(env, wrong)
    assert env.tip_in_port(wrong)                       # seated, but in the wrong port
    assert not info["success"] and info["sparse_reward"] == 0.0


def test_set_rig_state_moves_the_switch_now(env):
    env.reset(seed=0)
    before = env.port_pose(0)[0]
    task = env.set_rig_state(rotation_deg=8.0, translation=-0.01, port=2)
    assert env.task == task and task.port == 2
    after, rot = env.port_pose(0)
    assert np.linalg.norm(after - before) > 0.005
    assert np.degrees(np.arctan2(rot[1, 0], rot[0, 0])) == pytest.approx(8.0, abs=1e-6)
    env.reset(seed=0)                                   # and it stays there across resets
    assert np.allclose(env.port_pose(0)[0], after)


@pytest.mark.parametrize("kwargs, match", [
    ({"rotation_deg": 9.0, "translation": 0.0, "port": 0}, "rotation"),
    ({"rotation_deg": 0.0, "translation": 0.02, "port": 0}, "translation"),
    ({"rotation_deg": 0.0, "translation": 0.0, "port": N_PORTS}, "port"),
    ({"rotation_deg": float("nan"), "translation": 0.0, "port": 0}, "rotation"),
])
def test_set_rig_state_rejects_out_of_range(env, kwargs, match):
    with pytest.raises(ValueError, match=match):
        env.set_rig_state(**kwargs)


def test_tasks_cover_the_rig_ranges(env):
    tasks = make_env("widowx-cable").train_tasks
    assert all(abs(t.rotation_deg) <= 8 and abs(t.translation) <= 0.01 for t in tasks)
    assert {t.port for t in tasks} == set(range(N_PORTS))


def test_joint_velocity_commands_are_bounded(env):
    env.reset(seed=0)
    for _ in range(6):
        env.step(np.full(5, 50.0))                     # clipped to [-1, 1] by the environment
        assert np.all(np.abs(env.data.ctrl) <= env.max_joint_velocity + 1e-12)
        lo, hi = env.joint_range[:, 0], env.joint_range[:, 1]
        assert np.all(env.joint_positions >= lo - 0.02) and np.all(env.joint_positions <= hi + 0.02)


def test_every_joint_tracks_a_velocity_command_smoothly(env):
    """Each joint, commanded a small velocity from the home pose, moves at about that velocity without
    chattering (wrist_rotate once swung between +-2x the command and barely moved)."""
    from meld_sim_bridge.rendering import mujoco

    for j in range(5):
        env.reset(seed=0)
        q0 = env.joint_positions[j]
        env.data.ctrl[:] = 0.0
        env.data.ctrl[env._act[j]] = 0.2 * (-1 if j == 2 else 1)          # the elbow's home is near its upper limit
        velocities = []
        for _ in range(60):
            mujoco.mj_step(env.model, env.data)
            velocities.append(env.data.qvel[env._dadr[j]])
        moved = abs(env.joint_positions[j] - q0)
        assert 0.6 * 0.2 * 0.6 < moved < 1.2 * 0.2 * 0.6, (j, moved)
        assert np.ptp(velocities[-20:]) < 0.05, (j, np.round(velocities[-20:], 3))


def test_after_random_motion_every_joint_still_follows_its_command(env):
    """Random actions, then a command towards the home pose: no motor pushes against its command (the
    wrist once stuck, its velocity servo chattering at full force the wrong way)."""
    for seed in range(4):
        env.reset(seed=0)
        rng = np.random.default_rng(seed)
        for _ in range(20):
            env.step(rng.uniform(-1, 1, 5).astype(np.float32))
        for _ in range(20):
            action = np.clip(2.0 * (env.home_qpos - env.joint_positions), -0.5, 0.5) / env.max_joint_velocity
            env.step(action.astype(np.float32))
            against = np.sign(env.data.actuator_force) * np.sign(env.data.ctrl) < 0
            assert not np.any(against & (np.abs(env.data.ctrl) > 0.2)), (seed, env.data.ctrl, env.data.actuator_force)
        assert np.abs(env.joint_positions - env.home_qpos).max() < 0.02, (seed, env.joint_positions)
