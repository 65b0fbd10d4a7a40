"""The sparse "inserted" signal: the link state of a network interface wired through the switch.

The papers do not say how insertion was sensed. Here the plug is an Ethernet
cable and the switch port it goes into is wired to a network interface of
the robot's computer: when the plug is seated, the link comes up. Linux shows
that as ``/sys/class/net/<interface>/carrier``: "1" with a link, "0"
without; reading it while the interface is administratively down fails with
EINVAL, which means no link. A missing interface is an error that names it
(a typo in the parameter must not read as "never inserted").

A link needs time to come up after the plug is seated (autonegotiation,
typically 1-3 s on copper): ``LinkSensor.inserted`` reports the carrier as it
is now, and the reward node decides how many control steps a change may lag.
The lag is to be measured on the bench (README, "Real robot").
"""
from __future__ import annotations

import errno
from pathlib import Path


class SensorError(RuntimeError):
    """The insertion sensor cannot be read; the message says why."""


class LinkSensor:
    def __init__(self, interface: str, sysfs: str | Path = "/sys/class/net"):
        self.interface = interface
        self.carrier = Path(sysfs) / interface / "carrier"
        if not self.carrier.parent.exists():
            known = sorted(p.name for p in Path(sysfs).iterdir()) if Path(sysfs).exists() else []
            raise SensorError(f"no network interface {interface!r} for the insertion sensor; interfaces: {known}")

    def inserted(self) -> bool:
        """Whether the link is up (the plug is seated in the wired port)."""
        try:
            return self.carrier.read_text().strip() == "1"
        except OSError as exc:
            if exc.errno == errno.EINVAL:          # the interface is down: no carrier to report
                return False
            raise SensorError(f"cannot read {self.carrier}: {exc}") from None
