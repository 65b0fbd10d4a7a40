"""The reset rig's motor driver against emulated Dynamixel X-series motors on a pseudo-terminal,
through the real dynamixel-sdk (Protocol 2.0 packets, CRC, the X-series control table)."""
import pytest
from support.dynamixel_emulator import DynamixelBus, EmulatedMotor, crc16, stuff, unstuff

from meld_ros.hardware.rig_motors import RigError, RigGeometry, RigMotors

FAST = RigGeometry(homing_speed=200, stall_s=0.15, move_timeout_s=3.0, profile_velocity=0)


@pytest.fixture
def bus():
    rail_stop = -3000.0                                   # the rail's end stop, somewhere below where it starts
    with DynamixelBus([EmulatedMotor(1, position=500.0, default_speed=8192.0),
                       EmulatedMotor(2, position=0.0, min_stop=rail_stop, default_speed=8192.0)]) as b:
        yield b


def test_the_emulator_speaks_protocol_2():
    """The CRC of the e-manual's example packet (ping of ID 1) and byte stuffing round trips."""
    ping = bytes.fromhex("FFFFFD0001030001")
    assert crc16(ping) == 0x4E19                         # the e-manual's ping example ends 19 4E
    body = bytes.fromhex("03FFFFFD01")
    assert stuff(body) == bytes.fromhex("03FFFFFDFD01") and unstuff(stuff(body)) == body


def test_homes_against_the_end_stop_and_reaches_tasks(bus):
    rig = RigMotors(bus.port, 1_000_000, FAST)
    rig.open()
    try:
        rig.home()
        assert bus.motor(2).position == pytest.approx(-3000.0, abs=2)     # the rail sat on its end stop
        took = rig.move_to(8.0, 20.0)
        g = FAST
        assert abs(bus.motor(1).table[132] - (500 + g.angle_ticks(8.0))) <= g.angle_ticks(g.tolerance_deg)
        assert abs(bus.motor(2).table[132] - (-3000 + g.rail_ticks(20.0))) <= g.rail_ticks(g.tolerance_mm)
        assert 0 < took < g.move_timeout_s
        rig.move_to(-8.0, 0.0)
        assert abs(bus.motor(1).table[132] - (500 + g.angle_ticks(-8.0))) <= g.angle_ticks(g.tolerance_deg)
    finally:
        rig.close()
    assert bus.motor(1).table[64] == 0 and bus.motor(2).table[64] == 0   # torque off on close


def test_refuses_a_task_out_of_range_and_moving_before_homing(bus):
    rig = RigMotors(bus.port, 1_000_000, FAST)
    rig.open()
    try:
        with pytest.raises(RigError, match="not homed"):
            rig.move_to(0.0, 10.0)
        rig.home()
        goal_before = bus.motor(1).table[116]
        with pytest.raises(ValueError, match="outside the rig's range"):
            rig.move_to(9.0, 10.0)
        with pytest.raises(ValueError, match="outside the rig's range"):
            rig.move_to(0.0, 25.0)
        assert bus.motor(1).table[116] == goal_before      # nothing was sent
    finally:
        rig.close()


def test_a_motor_that_stops_answering_is_named(bus):
    rig = RigMotors(bus.port, 1_000_000, FAST)
    rig.open()
    try:
        rig.home()
        bus.silence(2)
        with pytest.raises(RigError, match="motor 2 on .* did not answer"):
            rig.move_to(0.0, 10.0)
    finally:
        rig.close()


def test_a_missing_motor_or_port_is_a_clear_error(bus, tmp_path):
    with pytest.raises(RigError, match="cannot open the rig's port"):
        RigMotors(str(tmp_path / "ttyDXL"), 57600, FAST).open()
    rig = RigMotors(bus.port, 1_000_000, RigGeometry(rail_id=7))
    with pytest.raises(RigError, match="motor 7 .* did not answer \\(ping\\)"):
        rig.open()
    rig.close()
