"""Forward kinematics and the rig calibration against the simulation's own poses (real MuJoCo)."""
import numpy as np
import pytest

from meld_ros.hardware.insertion_reward import InsertionReward, RigState
from meld_ros.hardware.plug_pose import (SIMULATED_RIG, CalibrationError, PlugKinematics, RigCalibration,
                                         calibrate_from_seats)
from meld_sim_bridge.envs.widowx_cable import N_PORTS
from meld_sim_bridge.registry import make_env
from meld_sim_bridge.rendering import mujoco

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def env():
    e = make_env("widowx-cable")
    yield e
    e.close()


def test_forward_kinematics_and_port_poses_equal_the_simulation(env):
    fk = PlugKinematics()
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    for _ in range(5):
        env.step(rng.uniform(-1, 1, 5).astype(np.float32))
        mujoco.mj_kinematics(env.model, env.data)      # mj_step leaves poses of the state before its last substep
        p, R = fk.tip_pose(env.joint_positions)
        sim_p, sim_R = env.plug_pose()
        np.testing.assert_allclose(p, sim_p, atol=1e-9)
        np.testing.assert_allclose(R, sim_R, atol=1e-9)
    for rotation, translation, port in ((0.0, 0.0, 0), (-7.5, 0.008, 3), (5.0, -0.01, 1)):
        env.set_rig_state(rotation, translation, port)
        for k in range(N_PORTS):
            p, R = SIMULATED_RIG.port_pose(rotation, translation, k)
            sim_p, sim_R = env.port_pose(k)
            np.testing.assert_allclose(p, sim_p, atol=1e-9)
            np.testing.assert_allclose(R, sim_R, atol=1e-9)
    with pytest.raises(ValueError, match="finite"):
        fk.tip_pose([0.0, np.nan, 0.0, 0.0, 0.0])


def test_calibration_from_two_seated_ports_recovers_the_rig_pose(env, tmp_path):
    env.set_rig_state(0.0, 0.0, 0)
    found = calibrate_from_seats(env.port_pose(0)[0], env.port_pose(N_PORTS - 1)[0])
    np.testing.assert_allclose(found.front_centre_m, SIMULATED_RIG.front_centre_m, atol=1e-9)
    np.testing.assert_allclose(found.rail_axis, SIMULATED_RIG.rail_axis, atol=1e-9)
    assert abs(found.yaw_deg) < 1e-7
    # a rig set down turned and shifted: the seats it gives back calibrate to it
    truth = RigCalibration((0.36, -0.02, 0.09), 12.0, tuple(np.array([-np.sin(np.radians(12)), np.cos(np.radians(12)), 0])))
    found = calibrate_from_seats(truth.port_pose(0, 0, 0)[0], truth.port_pose(0, 0, N_PORTS - 1)[0])
    np.testing.assert_allclose(found.front_centre_m, truth.front_centre_m, atol=1e-9)
    assert abs(found.yaw_deg - 12.0) < 1e-7
    found.save(tmp_path / "rig.yaml")
    assert RigCalibration.load(tmp_path / "rig.yaml") == found
    with pytest.raises(CalibrationError, match="port 0 and port 3"):
        calibrate_from_seats(truth.port_pose(0, 0, 0)[0], truth.port_pose(0, 0, 1)[0])
    (tmp_path / "bad.yaml").write_text("yaw_deg: 3\n")
    with pytest.raises(CalibrationError, match="exactly"):
        RigCalibration.load(tmp_path / "bad.yaml")
    with pytest.raises(CalibrationError, match="meld calibrate-rig"):
        RigCalibration.load(tmp_path / "missing.yaml")


class _Sensor:
    def __init__(self):
        self.up = False

    def inserted(self):
        return self.up


def test_the_hardware_reward_equals_the_simulated_one_step_by_step(env):
    """FK of the joints + the calibrated rig give the simulator's dense reward; the sensor gives success only
    with the plug nearest the target port; steps count from the first frame at or after the start."""
    task = env.train_tasks[2]
    sensor = _Sensor()
    reward = InsertionReward(PlugKinematics(), SIMULATED_RIG, sensor, env.episode_length)
    env.set_task(task)
    env.reset(seed=1)
    assert reward.on_frame(10, env.joint_positions) is None               # no episode yet
    reward.start_episode(RigState(100, task.rotation_deg, task.translation, task.port))
    assert reward.on_frame(90, env.joint_positions) is None               # before its start
    rng = np.random.default_rng(1)
    for k in range(env.episode_length + 1):
        mujoco.mj_kinematics(env.model, env.data)
        r = reward.on_frame(100 + 300 * k, env.joint_positions)
        assert r.step == k
        assert r.dense == pytest.approx(env._rewards()[0], abs=1e-9)
        env.step(rng.uniform(-1, 1, 5).astype(np.float32))
    assert reward.on_frame(100 + 300 * (env.episode_length + 1), env.joint_positions) is None    # over
    # success: the sensor says seated, and the tip is at the target port's seat, not another's
    reward.start_episode(RigState(10_000, task.rotation_deg, task.translation, task.port))
    sensor.up = True
    fk = reward.kinematics
    seat = SIMULATED_RIG.port_pose(task.rotation_deg, task.translation, task.port)[0]
    assert SIMULATED_RIG.nearest_port(seat, task.rotation_deg, task.translation) == task.port
    other = (task.port + 1) % N_PORTS
    assert SIMULATED_RIG.nearest_port(SIMULATED_RIG.port_pose(task.rotation_deg, task.translation, other)[0],
                                      task.rotation_deg, task.translation) == other
    r = reward.on_frame(10_000, env.joint_positions)       # the tip far from every port at the start: nearest is
    near = SIMULATED_RIG.nearest_port(fk.tip_pose(env.joint_positions)[0], task.rotation_deg, task.translation)
    assert r.success == (near == task.port)
