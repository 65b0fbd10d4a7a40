"""Which port the plug is in, from a managed switch over SNMP: the real pysnmp client against an emulated
agent speaking SNMP v2c on a UDP port (tests/support/snmp_agent.py)."""
import time

import pytest
from support.snmp_agent import SnmpAgent

from meld_ros.hardware.insertion_reward import InsertionReward, RigState
from meld_ros.hardware.insertion_sensor import SensorError
from meld_ros.hardware.plug_pose import SIMULATED_RIG, PlugKinematics
from meld_ros.hardware.switch_ports import SwitchPortSensor, port_statuses

pytestmark = pytest.mark.unit

PORTS = [5, 6, 7, 8]           # the switch's ifIndex of the rig's ports 0..3


def test_port_statuses_in_one_request_and_the_seated_port():
    with SnmpAgent({5: 2, 6: 2, 7: 1, 8: 2, 1: 1}) as agent:
        assert port_statuses("127.0.0.1", agent.port, "public", PORTS) == {5: 2, 6: 2, 7: 1, 8: 2}
        assert agent.requests == 1
        sensor = SwitchPortSensor("127.0.0.1", PORTS, port=agent.port, period_s=0.02).start()
        try:
            assert sensor.seated_port() == 2 and sensor.inserted()
            agent.statuses[7] = 2                               # the plug comes out
            time.sleep(0.2)
            assert sensor.seated_port() is None and not sensor.inserted()
            agent.silent = True                                 # the switch goes away: an error, not "out"
            time.sleep(1.3)
            with pytest.raises(SensorError, match="no answer from the switch"):
                sensor.seated_port()
        finally:
            sensor.stop()


def test_a_wrong_community_or_no_switch_is_an_error_that_says_so():
    with SnmpAgent({5: 1}) as agent:
        with pytest.raises(SensorError, match="did not answer"):
            port_statuses("127.0.0.1", agent.port, "private", [5], timeout_s=0.2)
        with pytest.raises(SensorError, match="did not answer"):
            SwitchPortSensor("127.0.0.1", [5], port=agent.port, community="private", timeout_s=0.2,
                             stale_s=0.3).start()


def test_success_needs_the_switch_to_see_the_plug_in_the_target_port():
    """With the switch as sensor, which port is seated comes from the switch, not from kinematics."""
    with SnmpAgent({5: 2, 6: 1, 7: 2, 8: 2}) as agent:
        sensor = SwitchPortSensor("127.0.0.1", PORTS, port=agent.port, period_s=0.02).start()
        try:
            reward = InsertionReward(PlugKinematics(), SIMULATED_RIG, sensor, episode_length=3)
            reward.start_episode(RigState(0, 0.0, 0.0, port=1))
            q = [0.0, -0.45, 1.59, -1.14, 0.0]
            assert reward.on_frame(1, q).success                     # port 1 up, the target
            reward.start_episode(RigState(100, 0.0, 0.0, port=2))
            assert not reward.on_frame(101, q).success               # the plug is in port 1, not 2
        finally:
            sensor.stop()


def test_hardware_check_reads_the_switch():
    from meld_ros.hardware.device_checks import check_insertion_sensor
    from meld_ros.runtime.node_params import defaults

    reward = {**defaults("reward_sensing"), "insertion_sensor": "snmp", "snmp_host": "127.0.0.1",
              "snmp_if_indexes": PORTS}
    with SnmpAgent({5: 2, 6: 2, 7: 2, 8: 1}) as agent:
        check = check_insertion_sensor({**reward, "snmp_port": agent.port})
    assert check.ok and "rig ports up [3]" in check.detail
    check = check_insertion_sensor({**reward, "snmp_port": agent.port})          # the agent is gone
    assert not check.ok and "snmp_host" in check.fix
