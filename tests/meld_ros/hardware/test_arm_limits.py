"""Joint limits and homing for the arm adapter (plain unit tests)."""
import numpy as np
import pytest

from meld_ros.hardware.arm_limits import WX250, JointLimits, at_home, homing_velocities, safe_velocities
from meld_ros.rosfree.safety import CommandError

MID = np.zeros(5)


def test_commands_are_clamped_to_the_velocity_limit():
    v = safe_velocities([10.0, -10.0, 1.0, 0.0, -3.0], MID, WX250)
    np.testing.assert_allclose(v, [np.pi, -np.pi, 1.0, 0.0, -3.0])


def test_motion_towards_a_position_limit_stops_near_it_and_away_from_it_goes_on():
    q = MID.copy()
    q[1] = np.deg2rad(114) - 0.01                        # shoulder at its upper limit
    q[2] = np.deg2rad(-123) + 0.02                       # elbow at its lower limit
    v = safe_velocities([0.5, 0.5, -0.5, 0.5, 0.5], q, WX250)
    assert v[1] == 0.0 and v[2] == 0.0 and v[0] == 0.5 and v[3] == 0.5
    v = safe_velocities([0.0, -0.5, 0.5, 0.0, 0.0], q, WX250)
    assert v[1] == -0.5 and v[2] == 0.5                  # backing away is allowed


@pytest.mark.parametrize("command", [[np.nan] * 5, [0.1] * 4, [0.1] * 6, [np.inf, 0, 0, 0, 0]])
def test_a_malformed_command_never_reaches_the_motors(command):
    with pytest.raises(CommandError):
        safe_velocities(command, MID, WX250)


def test_without_joint_states_the_arm_stands_still():
    assert not safe_velocities([0.3] * 5, None, WX250).any()
    assert not safe_velocities([0.3] * 5, [np.nan] * 5, WX250).any()


def test_homing_reaches_home_at_bounded_speed():
    home = np.array([0.0, -0.3, 0.4, 0.6, 0.0])
    q = np.array([1.0, 0.8, -0.9, -0.5, 2.0])
    dt, steps = 0.05, 0
    while not at_home(q, home) and steps < 400:
        v = homing_velocities(q, home, WX250)
        assert np.all(np.abs(v) <= 0.5 + 1e-12)
        q = q + v * dt
        steps += 1
    assert at_home(q, home) and steps < 400


def test_inconsistent_limits_are_refused():
    with pytest.raises(ValueError):
        JointLimits(names=("a", "b"), lower=(0.0,), upper=(1.0, 1.0), velocity=(1.0, 1.0))
    with pytest.raises(ValueError):
        JointLimits(names=("a",), lower=(1.0,), upper=(0.0,), velocity=(1.0,))


def test_the_adapters_home_pose_is_the_simulations_and_homing_reaches_it_inside_the_margin():
    """widowx-cable starts every episode at its home pose; the robot must start where the policy learnt to.
    Its elbow lies within the limit margin, so homing runs to the limits themselves, never past them."""
    from meld_ros.runtime.node_params import defaults
    from meld_sim_bridge.registry import make_env

    home = np.array(defaults("arm_adapter")["home_pose"])
    env = make_env("widowx-cable")
    np.testing.assert_allclose(home, env.home_qpos, atol=1e-3)
    env.close()
    assert home[2] > WX250.upper[2] - WX250.margin              # within the margin
    q = home - np.array([0.0, 0.0, 0.3, 0.0, 0.0])
    for _ in range(200):                                         # 10 ms steps of the bounded controller
        q = q + 0.01 * homing_velocities(q, home, WX250, gain=2.0, home_speed=0.5)
    assert at_home(q, home, 0.02) and np.all(q <= np.array(WX250.upper))
