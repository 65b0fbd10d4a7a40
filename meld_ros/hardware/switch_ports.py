"""Which port the plug is in: the per-port link status of a managed switch, over SNMP (no ROS here).

The link sensor (``insertion_sensor.LinkSensor``) says that the plug is
seated somewhere; a managed switch says where: IF-MIB's ``ifOperStatus``
(1.3.6.1.2.1.2.2.1.8.<ifIndex>) is 1 (up) for a port with a link and 2
(down) without. ``if_indexes[k]`` is the switch's ifIndex of the rig's port k.

SNMP v2c GET through ``pysnmp`` (v1arch asyncio API), all ports in one
request. A request takes a round trip, so ``SwitchPortSensor`` polls in a
thread of its own every ``period_s`` and the reward reads the latest answer:
``seated_port()`` is the rig's port whose link is up (None: none; the lowest
if several), and raises ``SensorError`` when the switch has not answered for
``stale_s`` (a sensor that cannot be read must not read as "never inserted").
"""
from __future__ import annotations

import asyncio
import threading
import time

from meld_ros.hardware.insertion_sensor import SensorError

IF_OPER_STATUS = "1.3.6.1.2.1.2.2.1.8"
UP = 1


async def _get_statuses(host: str, port: int, community: str, if_indexes, timeout_s: float) -> dict[int, int]:
    from pysnmp.hlapi.v1arch.asyncio import (CommunityData, ObjectIdentity, ObjectType, SnmpDispatcher,
                                             UdpTransportTarget, get_cmd)

    with SnmpDispatcher() as dispatcher:
        target = await UdpTransportTarget.create((host, port), timeout=timeout_s, retries=0)
        error, status, index, binds = await get_cmd(
            dispatcher, CommunityData(community, mpModel=1), target,
            *(ObjectType(ObjectIdentity(f"{IF_OPER_STATUS}.{i}")) for i in if_indexes))
    if error:
        raise SensorError(f"the switch {host}:{port} did not answer ifOperStatus: {error}")
    if status:
        raise SensorError(f"the switch {host}:{port} refused ifOperStatus: {status.prettyPrint()} at "
                          f"{binds[int(index) - 1][0] if index else '?'}")
    return {int(str(oid).rsplit(".", 1)[1]): int(value) for oid, value in binds}


def port_statuses(host: str, port: int, community: str, if_indexes, timeout_s: float = 0.5) -> dict[int, int]:
    """ifIndex -> ifOperStatus, in one SNMP GET (blocking); SensorError if the switch does not answer."""
    try:
        return asyncio.run(_get_statuses(host, port, community, list(if_indexes), timeout_s))
    except SensorError:
        raise
    except Exception as exc:              # pysnmp's own errors: a bad address, a malformed answer
        raise SensorError(f"SNMP to {host}:{port} failed: {exc}") from None


class SwitchPortSensor:
    def __init__(self, host: str, if_indexes, port: int = 161, community: str = "public", period_s: float = 0.1,
                 timeout_s: float = 0.5, stale_s: float = 1.0):
        self.host, self.port, self.community = host, int(port), community
        self.if_indexes = [int(i) for i in if_indexes]
        self.period_s, self.timeout_s, self.stale_s = period_s, timeout_s, stale_s
        self._latest: tuple[float, dict[int, int]] | None = None
        self._error = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "SwitchPortSensor":
        """Poll in a thread of its own; the first answer is awaited (SensorError if none within stale_s)."""
        self._thread = threading.Thread(target=self._poll, name="switch_ports", daemon=True)
        self._thread.start()
        end = time.monotonic() + max(self.stale_s, self.timeout_s) + 0.5
        while self._latest is None and time.monotonic() < end:
            time.sleep(0.01)
        if self._latest is None:
            self.stop()
            raise SensorError(self._error or f"the switch {self.host}:{self.port} did not answer")
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout_s + 1.0)

    def _poll(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self._latest = (time.monotonic(), port_statuses(self.host, self.port, self.community,
                                                                self.if_indexes, self.timeout_s))
            except SensorError as exc:
                self._error = str(exc)
            self._stop.wait(max(0.0, self.period_s - (time.monotonic() - started)))

    def seated_port(self) -> int | None:
        """The rig's port (0..) whose link is up, from the latest answer; SensorError when it is stale."""
        if self._latest is None or time.monotonic() - self._latest[0] > self.stale_s:
            raise SensorError(f"no answer from the switch {self.host}:{self.port} for {self.stale_s:g} s"
                              + (f" ({self._error})" if self._error else ""))
        statuses = self._latest[1]
        return next((k for k, i in enumerate(self.if_indexes) if statuses.get(i) == UP), None)

    def inserted(self) -> bool:
        return self.seated_port() is not None
