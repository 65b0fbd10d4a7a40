"""The real robot's graph (``use_sim:=false``) meta-trains and meta-tests against emulated devices that
speak the real protocols: the arm is the MuJoCo bridge behind Interbotix's xs_sdk topics (as their
xs_sdk_sim), the cameras are its renders on usb_cam's topics, the reset rig's two motors are Dynamixel
X-series emulated on a pseudo-terminal behind the real dynamixel-sdk (the simulated switch follows the
rig's reported state), and the insertion sensor reads a carrier file the simulation writes."""
import os
import subprocess
import sys

import numpy as np
import pytest
import yaml
from support.dynamixel_emulator import DynamixelBus, EmulatedMotor

from meld_core.checkpoint import replay_path_of
from meld_core.replay import MultiTaskReplay
from meld_ros.graph import GraphError, build_graph
from meld_ros.hardware.plug_pose import SIMULATED_RIG

pytestmark = pytest.mark.graph

ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]


def launch(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "meld_ros.launcher", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "MUJOCO_GL": "egl"})


def test_the_hardware_graph_is_the_simulation_graph_with_drivers():
    specs = build_graph("widowx_meta_train", {"start_arm_driver": "false", "camera_driver": "opencv",
                                              "compose": "false", "run_id": "r"})
    names = [s.name for s in specs]
    assert names == ["scene_camera", "wrist_camera", "arm_adapter", "camera_fusion", "reward_sensing", "belief",
                     "policy", "reset_rig", "learner"]
    by = {s.name: s for s in specs}
    assert by["scene_camera"].namespace == "/camera/scene" and by["scene_camera"].executable == "opencv_camera"
    assert by["camera_fusion"].parameters["sampling"] == "newest"
    assert by["camera_fusion"].parameters["tick_period_s"] == pytest.approx(0.3)      # widowx-cable's control period
    assert by["policy"].parameters["command_topic"] == "/meld/arm_command"             # through the adapter only
    assert by["reward_sensing"].parameters["joint_states_topic"] == "/wx250/joint_states"
    assert by["reset_rig"].parameters["driver"] == "dynamixel"
    assert all(s.parameters.get("use_sim_time") is False for s in specs if "use_sim_time" in s.parameters)
    ros2c = build_graph("widowx_meta_train", {"arm_driver": "ros2_control", "start_arm_driver": "false",
                                              "camera_driver": "none", "compose": "false"})
    assert [s for s in ros2c if s.name == "reward_sensing"][0].parameters["joint_states_topic"] == "/joint_states"
    with pytest.raises(GraphError, match="interbotix_xsarm_control"):        # not installed here: said clearly
        build_graph("widowx_meta_train", {"use_sim": "false", "start_arm_driver": "true"})
    auto = build_graph("widowx_meta_train", {"use_sim": "false", "camera_driver": "none", "compose": "false"})
    assert "xs_sdk" not in [s.name for s in auto]          # auto: not installed here, so it runs elsewhere
    with pytest.raises(GraphError, match="arm_driver must be"):
        build_graph("widowx_meta_train", {"arm_driver": "can_bus", "start_arm_driver": "false"})
    with pytest.raises(GraphError, match="camera_driver"):
        build_graph("widowx_meta_train", {"camera_driver": "webcam", "start_arm_driver": "false"})


def test_meta_train_and_meta_test_on_the_emulated_robot(tmp_path, start_node):
    carrier = tmp_path / "net" / "emu0" / "carrier"
    carrier.parent.mkdir(parents=True)
    carrier.write_text("0\n")
    calibration = tmp_path / "rig_calibration.yaml"
    SIMULATED_RIG.save(calibration)
    with DynamixelBus([EmulatedMotor(1, position=100.0, default_speed=8192.0),
                       EmulatedMotor(2, position=500.0, min_stop=-2000.0, default_speed=8192.0)]) as bus:
        params = tmp_path / "robot.yaml"
        params.write_text(yaml.dump({
            "reset_rig": {"ros__parameters": {"dxl_port": bus.port, "dxl_baudrate": 1000000, "homing_speed": 300}},
            "reward_sensing": {"ros__parameters": {"calibration_file": str(calibration), "link_interface": "emu0",
                                                   "sysfs_net": str(tmp_path / "net")}}}))
        robot = start_node("mujoco_bridge_node", {"env": "widowx-cable", "mode": "realtime", "interface": "xs_sdk",
                                                  "rig_state_topic": "/meld/task", "carrier_file": str(carrier)})
        run = tmp_path / "run"
        hardware = ["use_sim:=false", "start_arm_driver:=false", "camera_driver:=none", f"params_file:={params}"]
        out = launch("widowx_meta_train", *hardware, "profile:=tiny", f"run_dir:={run}",
                     "overrides:=[train.iterations=1,train.pretrain_trials=1,'train.env_kwargs={n_train: 2, n_eval: 1}']")
        assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:] + robot.stop()[1][-2000:]
        assert "meta-training done" in out.stdout and "did not finish" not in out.stdout, out.stdout[-3000:]
        # the trials came from the robot's side: rewards from forward kinematics, frames from its cameras
        trials = list(MultiTaskReplay.load(replay_path_of(run)).iter_trials())
        assert len(trials) >= 2
        dense = np.concatenate([t.dense[1:] for t in trials])
        assert np.all(dense < 0) and np.all(dense > -1.0) and np.ptp(dense) > 1e-3     # the plug moved
        assert all(t.images.shape[1:] == (64, 128, 3) and t.images.std() > 1 for t in trials)   # two cameras
        test = launch("widowx_meta_test", *hardware, f"checkpoint:={run}", "trials:=1")
        assert test.returncode == 0 and "meta-test widowx-cable" in test.stdout, test.stdout[-3000:]
        code, log = robot.stop()
        assert code == 0 and "group command ignored" not in log
        rail = bus.motor(2)
        assert rail.table[64] == 0                       # the rig's torque went off when its driver stopped


def test_the_simulator_stands_in_for_xs_sdk(tmp_path):
    """use_sim:=true sim_arm_interface:=xs_sdk: the bridge behind Interbotix's topics and the policy's commands
    through the arm adapter, as on the robot; the graph meta-trains and meta-tests in it."""
    specs = build_graph("widowx_meta_train", {"use_sim": "true", "sim_mode": "realtime",
                                              "sim_arm_interface": "xs_sdk", "compose": "false"})
    by = {s.name: s for s in specs}
    assert by["mujoco_bridge"].parameters["interface"] == "xs_sdk"
    assert by["policy"].parameters["command_topic"] == "/meld/arm_command" and "arm_adapter" in by
    with pytest.raises(GraphError, match="realtime"):
        build_graph("widowx_meta_train", {"use_sim": "true", "sim_arm_interface": "xs_sdk"})
    params = tmp_path / "fast.yaml"
    params.write_text(yaml.dump({"mujoco_bridge": {"ros__parameters": {"realtime_factor": 3.0}}}))
    run = tmp_path / "run"
    common = ["use_sim:=true", "sim_mode:=realtime", "sim_arm_interface:=xs_sdk", f"params_file:={params}"]
    out = launch("widowx_meta_train", *common, "profile:=tiny", f"run_dir:={run}",
                 "overrides:=[train.iterations=1,train.pretrain_trials=1,'train.env_kwargs={n_train: 2, n_eval: 1}']")
    assert out.returncode == 0 and "meta-training done" in out.stdout, out.stdout[-4000:] + out.stderr[-2000:]
    assert "asked wx250's driver for velocity mode" in out.stdout
