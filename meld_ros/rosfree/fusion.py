"""Camera fusion without ROS: time alignment of N cameras, resize, side-by-side concatenation.

``CameraAligner`` keeps the last few frames of each camera. A fused
observation is emitted only when every camera has a frame within ``slop`` of
the newest frame in the set; frames at or before an emitted set are dropped,
so a frame is used at most once and an observation never mixes a fresh frame
with a stale one. Each camera's time is a ``StampOrder``: a camera whose clock
jumps back (restarted with another offset, or after one frame stamped in the
future) is followed after ``resync_after`` earlier frames in a row, its queue
of not-yet-used frames dropped. ``stale_cameras`` names the cameras whose newest frame is
older than ``max_age`` (or that never sent one): the node reports them in
diagnostics and publishes nothing.

``CameraSampler`` is the policy for real webcams, which are not synchronised
and whose stamps can be off by hundreds of milliseconds after a restart: at
each control tick it takes the newest frame of each camera, provided every
one arrived within ``max_age`` of the tick (by the time it was *received*, on
this computer's steady clock, so that a camera's own clock offset does not
matter); otherwise there is no observation at that tick and the cameras too
old are named (``stale_cameras``), for diagnostics.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from meld_ros.rosfree.stamp_order import StampOrder, Verdict


@dataclass(frozen=True)
class Frame:
    stamp_ns: int
    image: np.ndarray


class CameraAligner:
    def __init__(self, n_cameras: int, slop_s: float, max_age_s: float, queue: int = 8, resync_after: int = 3):
        if n_cameras < 1:
            raise ValueError(f"need at least one camera, got {n_cameras}")
        if not slop_s >= 0 or not max_age_s > 0:
            raise ValueError(f"slop must be >= 0 and max_age > 0 (seconds), got {slop_s}, {max_age_s}")
        self.n, self.slop_ns, self.max_age_ns = n_cameras, int(slop_s * 1e9), int(max_age_s * 1e9)
        self._frames = [deque(maxlen=queue) for _ in range(n_cameras)]
        self.order = [StampOrder(resync_after) for _ in range(n_cameras)]     #: per camera, of frames used

    def add(self, camera: int, stamp_ns: int, image: np.ndarray) -> list[Frame] | None:
        """Add a frame; return one aligned frame per camera when a complete set exists."""
        if not 0 <= camera < self.n:
            raise ValueError(f"camera index {camera} out of range 0..{self.n - 1}")
        verdict = self.order[camera].check(int(stamp_ns))
        if verdict in (Verdict.STALE, Verdict.REPEAT):
            return None                         # out of order or already used: never go back in time
        if verdict is Verdict.JUMPED:
            self._frames[camera].clear()        # frames of the timeline it left
        self._frames[camera].append(Frame(int(stamp_ns), image))
        return self._match(int(stamp_ns))

    def _match(self, pivot: int) -> list[Frame] | None:
        chosen = []
        for q in self._frames:
            best = min(q, key=lambda f: abs(f.stamp_ns - pivot), default=None)
            if best is None or abs(best.stamp_ns - pivot) > self.slop_ns:
                return None
            chosen.append(best)
        for k, f in enumerate(chosen):
            self.order[k].use(f.stamp_ns)
            while self._frames[k] and self._frames[k][0].stamp_ns <= f.stamp_ns:
                self._frames[k].popleft()
        return chosen

    def stale_cameras(self, now_ns: int) -> list[int]:
        """Cameras with no frame newer than ``max_age`` before ``now_ns``."""
        out = []
        for k, q in enumerate(self._frames):
            used = self.order[k].last_ns
            newest = max(q[-1].stamp_ns if q else -1, -1 if used is None else used)
            if newest < 0 or now_ns - newest > self.max_age_ns:
                out.append(k)
        return out


@dataclass(frozen=True)
class Received:
    stamp_ns: int                 #: the camera's own stamp
    received_ns: int              #: when it arrived (steady clock)
    image: np.ndarray


class CameraSampler:
    def __init__(self, n_cameras: int, max_age_s: float):
        if n_cameras < 1:
            raise ValueError(f"need at least one camera, got {n_cameras}")
        if not max_age_s > 0:
            raise ValueError(f"max_age must be > 0 (seconds), got {max_age_s}")
        self.n, self.max_age_ns = n_cameras, int(max_age_s * 1e9)
        self._newest: list[Received | None] = [None] * n_cameras

    def add(self, camera: int, stamp_ns: int, image: np.ndarray, received_ns: int) -> None:
        """A frame of ``camera`` as it arrives; it replaces that camera's older one."""
        if not 0 <= camera < self.n:
            raise ValueError(f"camera index {camera} out of range 0..{self.n - 1}")
        self._newest[camera] = Received(int(stamp_ns), int(received_ns), image)

    def sample(self, now_ns: int) -> list[Received] | None:
        """The newest frame of every camera at the tick ``now_ns``, or None if any is missing or too old."""
        return None if self.stale_cameras(now_ns) else list(self._newest)

    def stale_cameras(self, now_ns: int) -> list[int]:
        """Cameras with no frame received within ``max_age`` before ``now_ns``."""
        return [k for k, f in enumerate(self._newest) if f is None or now_ns - f.received_ns > self.max_age_ns]


def fuse(images: list[np.ndarray], size: int = 64) -> np.ndarray:
    """Resize each (H, W, 3) uint8 image to size x size (area averaging) and put them side by side."""
    out = []
    for k, im in enumerate(images):
        if im.dtype != np.uint8 or im.ndim != 3 or im.shape[2] != 3:
            raise ValueError(f"camera {k}: expected (H, W, 3) uint8, got {im.dtype} {im.shape}")
        out.append(im if im.shape[:2] == (size, size) else cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA))
    return np.concatenate(out, axis=1)
