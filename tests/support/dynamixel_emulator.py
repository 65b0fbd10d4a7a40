"""Dynamixel X-series motors behind a pseudo-terminal, speaking Protocol 2.0 (test support).

The real ``dynamixel-sdk`` opens the pseudo-terminal's slave end as it would a
U2D2 (``/dev/ttyUSB0``); this emulator answers on the master end. Packets as
the Protocol 2.0 documentation defines them (ROBOTIS e-manual): header FF FF
FD 00, id, length (2 bytes, little endian: instruction + parameters + CRC),
instruction, parameters, CRC-16 (polynomial 0x8005, initial value 0, over
everything before it); byte stuffing (FD after FF FF FD) in the instruction
and parameter bytes; status packets with instruction 0x55 and an error byte.
Instructions: PING (0x01), READ (0x02), WRITE (0x03). The control-table
addresses are the X-series' (XM430-W350): model number 0, operating mode 11,
homing offset 20, torque enable 64, hardware error status 70, goal velocity
104, profile velocity 112, goal position 116, moving 122, present velocity
128, present position 132.

Each motor moves in simulated time: in velocity mode (1) at its goal velocity
(0.229 rpm per unit), in position modes (3, 4) towards its goal position at
its profile velocity (or ``default_speed``), and never past its end stops
(``min_stop``, ``max_stop`` in ticks, 4096 per turn), where it stalls. A motor
can be made to stop answering (``silence``), as one whose cable came loose.

With ``baudrate`` the bus takes the time a real one does: each answer comes
after the instruction's and the status packet's bytes at that rate (10 bits
a byte) and the motor's return delay (``RETURN_DELAY_S``, the X-series'
default 250 x 2 us); without it, at once.
"""
from __future__ import annotations

import os
import pty
import select
import struct
import time
import tty
from dataclasses import dataclass, field

HEADER = b"\xff\xff\xfd\x00"
PING, READ, WRITE, STATUS = 0x01, 0x02, 0x03, 0x55
ERR_INSTRUCTION, ERR_CRC, ERR_DATA_RANGE, ERR_DATA_LENGTH, ERR_ACCESS = 0x02, 0x03, 0x04, 0x05, 0x07

# X-series control table: address -> (size in bytes, signed)
ADDRESSES = {0: (2, False), 6: (1, False), 7: (1, False), 11: (1, False), 20: (4, True), 64: (1, False),
             70: (1, False), 104: (4, True), 112: (4, False), 116: (4, True), 122: (1, False), 128: (4, True),
             132: (4, True)}
MODEL_XM430_W350 = 1020
RETURN_DELAY_S = 500e-6
RPM_PER_UNIT = 0.229
TICKS_PER_TURN = 4096


def crc16(data: bytes) -> int:
    """CRC-16 with polynomial 0x8005, initial value 0, most significant bit first."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def stuff(body: bytes) -> bytes:
    """Insert FD after every FF FF FD in ``body`` (instruction and parameters)."""
    out = bytearray()
    for b in body:
        out.append(b)
        if len(out) >= 3 and out[-3:] == b"\xff\xff\xfd":
            out.append(0xFD)
    return bytes(out)


def unstuff(body: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(body):
        out.append(body[i])
        if len(out) >= 3 and out[-3:] == b"\xff\xff\xfd" and i + 1 < len(body) and body[i + 1] == 0xFD:
            i += 1                                   # the stuffed FD
        i += 1
    return bytes(out)


def packet(motor_id: int, instruction: int, params: bytes) -> bytes:
    body = stuff(bytes([instruction]) + params)
    head = HEADER + bytes([motor_id]) + struct.pack("<H", len(body) + 2)
    return head + body + struct.pack("<H", crc16(head + body))


@dataclass
class EmulatedMotor:
    motor_id: int
    position: float = 0.0                 #: ticks
    min_stop: float = -1e9                #: end stops (ticks): the motor stalls there
    max_stop: float = 1e9
    default_speed: float = 2048.0         #: ticks per second when no profile velocity is set
    table: dict = field(default_factory=dict)
    silent: bool = False
    last: float = field(default_factory=time.monotonic)

    def __post_init__(self):
        self.table = {0: MODEL_XM430_W350, 6: 46, 7: self.motor_id, 11: 3, 20: 0, 64: 0, 70: 0, 104: 0, 112: 0,
                      116: 0, 122: 0, 128: 0, 132: 0}

    def advance(self, now: float) -> None:
        dt, self.last = now - self.last, now
        velocity = 0.0
        if self.table[64]:                                         # torque on
            mode = self.table[11]
            if mode == 1:
                velocity = self.table[104] * RPM_PER_UNIT / 60.0 * TICKS_PER_TURN
            elif mode in (3, 4):
                speed = (self.table[112] * RPM_PER_UNIT / 60.0 * TICKS_PER_TURN) or self.default_speed
                error = self.table[116] - (self.position + self.table[20])
                step = max(-speed * dt, min(speed * dt, error))
                velocity = step / dt if dt > 0 else 0.0
        new = min(self.max_stop, max(self.min_stop, self.position + velocity * dt))
        moving = abs(new - self.position) > 1e-6
        self.position = new
        self.table[122] = int(moving)
        self.table[128] = int(round((velocity if moving else 0.0) * 60.0 / TICKS_PER_TURN / RPM_PER_UNIT))
        self.table[132] = int(round(self.position + self.table[20]))

    def read(self, address: int, length: int) -> bytes | None:
        out, a = bytearray(), address
        while a < address + length:
            if a not in ADDRESSES:
                return None
            size, signed = ADDRESSES[a]
            out += int(self.table[a]).to_bytes(size, "little", signed=signed)
            a += size
        return bytes(out[:length])

    def write(self, address: int, data: bytes) -> int:
        a, i = address, 0
        while i < len(data):
            if a not in ADDRESSES or a in (0, 6, 122, 128, 132, 70):
                return ERR_ACCESS
            size, signed = ADDRESSES[a]
            if i + size > len(data):
                return ERR_DATA_LENGTH
            value = int.from_bytes(data[i:i + size], "little", signed=signed)
            if a == 11 and (self.table[64] or value not in (0, 1, 3, 4, 5, 16)):
                return ERR_ACCESS if self.table[64] else ERR_DATA_RANGE    # mode changes need torque off
            if a == 20 and self.table[64]:
                return ERR_ACCESS
            self.table[a] = value
            a, i = a + size, i + size
        return 0


class DynamixelBus:
    """Motors on one emulated bus; ``port`` is the device path to give the SDK. Use as a context manager.

    The bus answers from a process of its own, as motors answer from their own hardware: in the test's
    process the SDK's reading loop and the emulator would share one interpreter lock, and under load an
    answer could come later than the SDK waits. ``motor(id)`` returns a snapshot of a motor's state."""

    def __init__(self, motors: list[EmulatedMotor], baudrate: int | None = None):
        import multiprocessing

        # spawned, not forked: a fork of a test process running DDS threads may inherit a held lock
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=({m.motor_id: m for m in motors}, child, baudrate),
                                    daemon=True)
        self.port = ""

    def __enter__(self) -> "DynamixelBus":
        self._process.start()
        if not self._conn.poll(30):
            self._process.kill()
            raise RuntimeError("the emulated Dynamixel bus did not start")
        self.port = self._conn.recv()              # the pseudo-terminal the bus process opened
        return self

    def __exit__(self, *exc) -> None:
        self._conn.send(("stop", None))
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()

    def silence(self, motor_id: int) -> None:
        """The motor stops answering (a loose cable)."""
        self._conn.send(("silence", motor_id))
        self._conn.recv()

    def motor(self, motor_id: int) -> EmulatedMotor:
        """A snapshot of the motor's state now."""
        self._conn.send(("motor", motor_id))
        return self._conn.recv()


def _serve(motors: dict, control, baudrate: int | None = None) -> None:
    """The bus's process: open a pseudo-terminal, tell the test its device path, then answer packets on it
    and the test's requests on ``control``."""
    master, slave = pty.openpty()
    tty.setraw(slave)
    control.send(os.ttyname(slave))
    buf = bytearray()
    now = time.monotonic()
    for m in motors.values():
        m.last = now
    while True:
        ready, _, _ = select.select([master, control], [], [], 0.05)
        if control in ready:
            command, arg = control.recv()
            if command == "stop":
                os.close(master)
                os.close(slave)
                return
            motor = motors[arg]
            motor.advance(time.monotonic())
            if command == "silence":
                motor.silent = True
            control.send(motor)
        if master not in ready:
            continue
        try:
            buf += os.read(master, 4096)
        except OSError:
            return
        while True:
            start = buf.find(HEADER)
            if start < 0 or len(buf) < start + 7:
                break
            length = struct.unpack("<H", buf[start + 5:start + 7])[0]
            end = start + 7 + length
            if len(buf) < end:
                break
            raw = bytes(buf[start:end])
            del buf[:end]
            reply = _answer(motors, raw)
            if reply is not None:
                if baudrate:                                  # the wire: both packets' bits, the return delay
                    time.sleep((len(raw) + len(reply)) * 10.0 / baudrate + RETURN_DELAY_S)
                os.write(master, reply)


def _answer(motors: dict, raw: bytes) -> bytes | None:
    motor_id, body, crc = raw[4], raw[7:-2], struct.unpack("<H", raw[-2:])[0]
    motor = motors.get(motor_id)
    if motor is None or motor.silent:
        return None                                            # nobody there: the SDK times out
    if crc16(raw[:-2]) != crc:
        return packet(motor_id, STATUS, bytes([ERR_CRC]))
    body = unstuff(body)
    instruction, params = body[0], body[1:]
    motor.advance(time.monotonic())
    if instruction == PING:
        reply = bytes([0]) + struct.pack("<HB", motor.table[0], motor.table[6])
    elif instruction == READ and len(params) == 4:
        address, length = struct.unpack("<HH", params)
        data = motor.read(address, length)
        reply = bytes([ERR_ACCESS]) if data is None else bytes([0]) + data
    elif instruction == WRITE and len(params) >= 3:
        reply = bytes([motor.write(struct.unpack("<H", params[:2])[0], params[2:])])
    else:
        reply = bytes([ERR_INSTRUCTION])
    return packet(motor_id, STATUS, reply)
