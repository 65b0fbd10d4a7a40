"""The reset rig's two Dynamixel X-series motors (MELD paper, appendix; thesis D.5).

Motor 1 turns the switch housing through a gear (``gear_ratio`` motor turns
per housing turn); motor 2 moves the housing along a linear rail through a
timing pulley (``mm_per_turn`` of travel per motor turn). A task is a housing
angle (degrees, within ``angle_range_deg``: the tasks span 16 degrees) and a
rail position (mm from the home end stop, within ``rail_range_mm``: 2 cm).
Both motors run in extended-position mode (operating mode 4, 4096 ticks per
motor turn), so the gear and the pulley may take several motor turns.

Homing (``home``): the rail motor drives towards its end stop in velocity
mode at ``homing_speed`` until its position has not changed for
``stall_s``; that position is the rail's zero. The housing's zero is where
its motor stands at homing (the housing is set to its zero mark when the rig
is assembled). ``move_to`` checks the task against the ranges (ValueError),
sends both goals and waits until both are within tolerance or
``move_timeout_s`` has passed (RigError naming the motor, its goal and where
it stands). ``close`` turns the torque off. Every failure says which motor,
on which port, and why: a port that does not open, a motor that does not
answer a ping or stops answering, an error in a status packet.

Protocol 2.0 through the real ``dynamixel-sdk`` (PortHandler, PacketHandler);
control-table addresses of the X-series (ROBOTIS e-manual).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from dynamixel_sdk import COMM_SUCCESS, PacketHandler, PortHandler

TICKS_PER_TURN = 4096
ADDR_OPERATING_MODE, ADDR_TORQUE_ENABLE, ADDR_GOAL_VELOCITY = 11, 64, 104
ADDR_PROFILE_VELOCITY, ADDR_GOAL_POSITION, ADDR_PRESENT_POSITION = 112, 116, 132
MODE_VELOCITY, MODE_EXTENDED_POSITION = 1, 4


class RigError(RuntimeError):
    """The rig's motors did not do what was asked; the message says which motor and why."""


@dataclass(frozen=True)
class RigGeometry:
    rotary_id: int = 1
    rail_id: int = 2
    gear_ratio: float = 3.0                       #: motor turns per housing turn
    mm_per_turn: float = 40.0                     #: rail travel per motor turn (timing pulley)
    angle_range_deg: tuple[float, float] = (-8.0, 8.0)
    rail_range_mm: tuple[float, float] = (0.0, 20.0)
    tolerance_deg: float = 0.2
    tolerance_mm: float = 0.2
    homing_speed: int = 30                        #: velocity units (0.229 rpm) towards the rail's end stop
    stall_s: float = 0.3
    homing_timeout_s: float = 20.0
    move_timeout_s: float = 5.0
    profile_velocity: int = 100                   #: velocity units of position moves (0 = the motor's maximum)

    def angle_ticks(self, angle_deg: float) -> int:
        return int(round(angle_deg / 360.0 * self.gear_ratio * TICKS_PER_TURN))

    def rail_ticks(self, rail_mm: float) -> int:
        return int(round(rail_mm / self.mm_per_turn * TICKS_PER_TURN))


class RigMotors:
    def __init__(self, port: str, baudrate: int = 57600, geometry: RigGeometry = RigGeometry()):
        self.port_name, self.baudrate, self.g = port, baudrate, geometry
        self._port = PortHandler(port)
        self._packets = PacketHandler(2.0)
        self._zero = {geometry.rotary_id: 0, geometry.rail_id: 0}
        self.homed = False

    # ---- the bus ------------------------------------------------------------------------
    def open(self) -> None:
        """Open the port and ping both motors."""
        try:
            opened = self._port.openPort()
        except Exception as exc:              # pyserial raises for a missing device
            raise RigError(f"cannot open the rig's port {self.port_name}: {exc}") from None
        if not opened or not self._port.setBaudRate(self.baudrate):
            raise RigError(f"cannot open the rig's port {self.port_name} at {self.baudrate} baud")
        for motor in (self.g.rotary_id, self.g.rail_id):
            _, result, error = self._packets.ping(self._port, motor)
            self._check(motor, "ping", result, error)

    def close(self) -> None:
        """Torque off on both motors (each tried even if the other fails), then close the port."""
        for motor in (self.g.rotary_id, self.g.rail_id):
            try:
                self._write(motor, ADDR_TORQUE_ENABLE, 0, 1)
            except RigError:
                pass
        self._port.closePort()

    def _check(self, motor: int, what: str, result: int, error: int) -> None:
        if result != COMM_SUCCESS:
            raise RigError(f"motor {motor} on {self.port_name} did not answer ({what}): "
                           f"{self._packets.getTxRxResult(result)}")
        if error:
            raise RigError(f"motor {motor} on {self.port_name} refused {what}: {self._packets.getRxPacketError(error)}")

    def _write(self, motor: int, address: int, value: int, size: int) -> None:
        if size == 1:
            result, error = self._packets.write1ByteTxRx(self._port, motor, address, value)
        else:
            result, error = self._packets.write4ByteTxRx(self._port, motor, address, value & 0xFFFFFFFF)
        self._check(motor, f"write of {value} at address {address}", result, error)

    def position(self, motor: int) -> int:
        """Present position in ticks (signed)."""
        value, result, error = self._packets.read4ByteTxRx(self._port, motor, ADDR_PRESENT_POSITION)
        self._check(motor, "read of its position", result, error)
        return value - (1 << 32) if value >= 1 << 31 else value

    def _mode(self, motor: int, mode: int) -> int:
        """Switch ``motor`` to ``mode`` holding still: torque off, the mode, a goal of where it stands (a
        stale goal would start a move the moment the torque comes on), torque on. Returns that position."""
        self._write(motor, ADDR_TORQUE_ENABLE, 0, 1)
        self._write(motor, ADDR_OPERATING_MODE, mode, 1)
        here = self.position(motor)
        if mode == MODE_VELOCITY:
            self._write(motor, ADDR_GOAL_VELOCITY, 0, 4)
        else:
            self._write(motor, ADDR_PROFILE_VELOCITY, self.g.profile_velocity, 4)
            self._write(motor, ADDR_GOAL_POSITION, here, 4)
        self._write(motor, ADDR_TORQUE_ENABLE, 1, 1)
        return here

    # ---- the rig ------------------------------------------------------------------------
    def home(self) -> None:
        """Rail to its end stop (its zero); the housing's zero where it stands; both in position mode."""
        g = self.g
        self._mode(g.rail_id, MODE_VELOCITY)
        self._write(g.rail_id, ADDR_GOAL_VELOCITY, -g.homing_speed, 4)
        end = time.monotonic() + g.homing_timeout_s
        last, still_since = self.position(g.rail_id), time.monotonic()
        while time.monotonic() - still_since < g.stall_s:
            if time.monotonic() > end:
                self._write(g.rail_id, ADDR_GOAL_VELOCITY, 0, 4)
                raise RigError(f"the rail (motor {g.rail_id}) found no end stop within {g.homing_timeout_s:.0f} s")
            time.sleep(0.02)
            now = self.position(g.rail_id)
            if abs(now - last) > 2:
                last, still_since = now, time.monotonic()
        self._write(g.rail_id, ADDR_GOAL_VELOCITY, 0, 4)
        for motor in (g.rotary_id, g.rail_id):
            self._zero[motor] = self._mode(motor, MODE_EXTENDED_POSITION)
        self.homed = True

    def move_to(self, angle_deg: float, rail_mm: float) -> float:
        """Put the rig in the task (housing angle, rail position) and wait until it is there; returns the
        seconds it took."""
        g = self.g
        if not self.homed:
            raise RigError("the rig is not homed: call home() first")
        (a_lo, a_hi), (r_lo, r_hi) = g.angle_range_deg, g.rail_range_mm
        if not (a_lo <= angle_deg <= a_hi and r_lo <= rail_mm <= r_hi):
            raise ValueError(f"task ({angle_deg} deg, {rail_mm} mm) is outside the rig's range "
                             f"[{a_lo}, {a_hi}] deg x [{r_lo}, {r_hi}] mm")
        goals = {g.rotary_id: self._zero[g.rotary_id] + g.angle_ticks(angle_deg),
                 g.rail_id: self._zero[g.rail_id] + g.rail_ticks(rail_mm)}
        tolerance = {g.rotary_id: max(1, g.angle_ticks(g.tolerance_deg)), g.rail_id: max(1, g.rail_ticks(g.tolerance_mm))}
        started = time.monotonic()
        for motor, goal in goals.items():
            self._write(motor, ADDR_GOAL_POSITION, goal, 4)
        while True:
            off = {m: abs(self.position(m) - goal) for m, goal in goals.items()}
            if all(off[m] <= tolerance[m] for m in goals):
                return time.monotonic() - started
            if time.monotonic() - started > g.move_timeout_s:
                far = max(off, key=lambda m: off[m] / tolerance[m])
                raise RigError(f"motor {far} on {self.port_name} did not reach its goal within {g.move_timeout_s:.0f} s "
                               f"({off[far]} ticks off, tolerance {tolerance[far]})")
            time.sleep(0.01)
