"""Writing the graph's messages to rosbag2-compatible MCAP bags (no ROS here).

``rosbags`` writes the bag: a directory with ``metadata.yaml`` (what ``ros2
bag info`` / ``ros2 bag play`` read) and an MCAP file of the ``ros2``
profile, one ``ros2msg`` schema per type (``message_types``), each
channel's offered QoS in its metadata (a latched topic replays latched), and
the messages' CDR bytes as they came off the wire (nothing is re-encoded).

``BagWriter`` adds what a long run needs: topics announced as they appear,
consecutive bags (``<name>_0000``, ``<name>_0001``, ...; each complete on its
own) when one passes ``split_bytes`` or ``split_s``, and the free disk space
checked as it writes: below ``min_free_bytes`` the current bag is closed and
``DiskFull`` raised (the recorder stops; the graph does not).
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime
from rosbags.rosbag2 import StoragePlugin, Writer

from meld_ros.recording.message_types import installed_typestore

CHECK_EVERY_BYTES = 8 << 20          # the disk's free space is looked at after this much written


class DiskFull(RuntimeError):
    """Too little disk space left to go on recording."""


@dataclass(frozen=True)
class TopicQos:
    """The QoS a topic's publisher offers (what ``ros2 bag play`` offers again)."""
    reliable: bool = True
    transient_local: bool = False
    depth: int = 10

    def rosbags(self) -> Qos:
        never = QosTime(0, 0)
        return Qos(QosHistory.KEEP_LAST, self.depth,
                   QosReliability.RELIABLE if self.reliable else QosReliability.BEST_EFFORT,
                   QosDurability.TRANSIENT_LOCAL if self.transient_local else QosDurability.VOLATILE,
                   never, never, QosLiveliness.AUTOMATIC, never, False)


class BagWriter:
    def __init__(self, directory: str | Path, name: str = "meld", split_bytes: int = 0, split_s: float = 0.0,
                 min_free_bytes: int = 1 << 30):
        self.directory, self.name = Path(directory), name
        self.split_bytes, self.split_ns, self.min_free = int(split_bytes), int(split_s * 1e9), int(min_free_bytes)
        self.topics: dict[str, tuple[str, TopicQos]] = {}
        self.counts: dict[str, int] = {}
        self.bags: list[Path] = []
        self._writer: Writer | None = None
        self._connections: dict = {}
        self._store = None
        self._bytes = self._since_check = 0
        self._first_ns: int | None = None

    # ---- topics ---------------------------------------------------------------------------
    def add_topic(self, topic: str, typename: str, qos: TopicQos = TopicQos()) -> None:
        """Record ``topic`` of ``typename`` (``pkg/msg/Name``) from now on."""
        if topic in self.topics:
            return
        self.topics[topic] = (typename, qos)
        self.counts.setdefault(topic, 0)
        self._store = installed_typestore({t for t, _ in self.topics.values()})
        if self._writer is not None:
            self._connect(topic)

    def _connect(self, topic: str) -> None:
        typename, qos = self.topics[topic]
        self._connections[topic] = self._writer.add_connection(topic, typename, typestore=self._store,
                                                               offered_qos_profiles=[qos.rosbags()])

    # ---- writing --------------------------------------------------------------------------
    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{self.name}_{len(self.bags):04d}"
        self._writer = Writer(path, version=9, storage_plugin=StoragePlugin.MCAP)
        self._writer.open()
        self.bags.append(path)
        self._connections, self._bytes, self._first_ns = {}, 0, None
        for topic in self.topics:
            self._connect(topic)

    def write(self, topic: str, stamp_ns: int, cdr: bytes) -> None:
        """One message's CDR bytes, received at ``stamp_ns``."""
        if self._writer is None:
            self._check_disk()
            self._open()
        if self._first_ns is None:
            self._first_ns = stamp_ns
        self._writer.write(self._connections[topic], stamp_ns, cdr)
        self.counts[topic] += 1
        self._bytes += len(cdr)
        self._since_check += len(cdr)
        if self._since_check >= CHECK_EVERY_BYTES:
            self._since_check = 0
            self._check_disk()
        if (self.split_bytes and self._bytes >= self.split_bytes) or \
                (self.split_ns and stamp_ns - self._first_ns >= self.split_ns):
            self.close()                      # the next message opens the next bag

    def _check_disk(self) -> None:
        free = self.free_bytes()
        if free < self.min_free:
            self.close()
            raise DiskFull(f"{free / 2**20:.0f} MiB left on the disk of {self.directory} (the recorder stops below "
                           f"{self.min_free / 2**20:.0f} MiB): recording stopped, the bags so far are complete")

    def free_bytes(self) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        return shutil.disk_usage(self.directory).free

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
