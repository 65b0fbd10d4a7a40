"""Weights as data: a weights file split into chunks and put together again, checked (no ROS here).

The learner and the robot's control loop run on different computers that
share no disk, so the learner's ``meld_ros/ModelUpdate`` carries the bytes
of the weights file itself: ``split`` cuts them into chunks of at most
``chunk_bytes``; on the receiving side a ``WeightsAssembler`` collects the
chunks of one (run, version), in any order and with repeats, and hands the
file back only when every chunk is there and its sha256 is the announced one.
A newer version replaces one still incomplete; an older or already finished
version is ignored (a latched topic delivers the newest version again to a
node that restarts, and earlier chunks may linger in a late joiner's history).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


class WeightsTransferError(ValueError):
    """Chunks that do not make the announced file (sizes, counts, or the checksum)."""


def split(data: bytes, chunk_bytes: int) -> list[bytes]:
    """``data`` in order, as chunks of at most ``chunk_bytes`` (at least one chunk, even for no data)."""
    if chunk_bytes < 1:
        raise ValueError(f"chunk_bytes must be >= 1, got {chunk_bytes}")
    return [data[i:i + chunk_bytes] for i in range(0, len(data), chunk_bytes)] or [b""]


@dataclass
class _Partial:
    sha256: str
    size: int
    chunks: int
    parts: dict = field(default_factory=dict)


class WeightsAssembler:
    def __init__(self):
        self._partial: dict[str, tuple[int, _Partial]] = {}      # run id -> (version, what has come)
        self.finished: dict[str, int] = {}                      # run id -> newest version put together

    def add(self, run_id: str, version: int, sha256: str, size: int, chunk: int, chunks: int,
            data: bytes) -> bytes | None:
        """One chunk. Returns the whole file when this chunk completes a checked version, else None;
        raises WeightsTransferError for chunks that cannot make the announced file (that version is
        dropped)."""
        if version <= self.finished.get(run_id, -1):
            return None
        held = self._partial.get(run_id)
        if held is None or version > held[0]:
            held = (version, _Partial(sha256, int(size), int(chunks)))
            self._partial[run_id] = held
        elif version < held[0]:
            return None
        partial = held[1]
        if (sha256, int(size), int(chunks)) != (partial.sha256, partial.size, partial.chunks) or not 0 <= chunk < chunks:
            del self._partial[run_id]
            raise WeightsTransferError(f"version {version} of run {run_id or 'unnamed'}: chunk {chunk} of {chunks} "
                                       f"does not fit the others (size {size}, sha256 {sha256[:12]})")
        partial.parts[int(chunk)] = bytes(data)
        if len(partial.parts) < partial.chunks:
            return None
        del self._partial[run_id]
        whole = b"".join(partial.parts[k] for k in range(partial.chunks))
        if len(whole) != partial.size:
            raise WeightsTransferError(f"version {version}: {len(whole)} bytes arrived, {partial.size} announced")
        if partial.sha256 and hashlib.sha256(whole).hexdigest() != partial.sha256:
            raise WeightsTransferError(f"version {version}: the bytes do not match the announced sha256")
        self.finished[run_id] = version
        return whole
