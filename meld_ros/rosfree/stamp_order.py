"""Time that moves forward, and a clock that jumps back followed rather than waited out (no ROS here).

Camera fusion and the belief node use each frame at most once and never go
back in time: a frame stamped at or before the last one used is not new. That
rule alone stalls the loop for good after one frame stamped in the future (a
camera restarted with an offset, a stray publisher, a simulator whose time was
reset): every later frame is "old". ``StampOrder`` keeps the rule and adds the
way out: a frame earlier than the last one used is dropped as out of order,
but when ``resync_after`` arrive in a row with no newer one between them, the
source's clock has jumped back; the order restarts from that frame, and the
jump (how far back) is reported. A frame with the last used stamp is a
repeat (the lockstep bridge re-sends an unanswered frame), neither new nor
old; repeats of an old frame count towards the jump, so a lockstep loop stuck
behind a future stamp recovers after ``resync_after`` re-sends.
"""
from __future__ import annotations

from enum import Enum
from typing import Any


def ns_of(stamp) -> int:
    """Integer nanoseconds of a builtin_interfaces/Time, or anything with its ``sec`` and ``nanosec`` (a message
    read back from a bag): exact, since stamps are compared for equality."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


class Verdict(Enum):
    NEW = "new"              #: later than every frame used so far
    REPEAT = "repeat"        #: the stamp of the last frame used
    STALE = "stale"          #: earlier than the last frame used: dropped
    JUMPED = "jumped"        #: earlier, ``resync_after`` times in a row: the clock jumped back; new from here


class StampOrder:
    def __init__(self, resync_after: int = 3):
        if resync_after < 1:
            raise ValueError(f"resync_after must be >= 1 frame, got {resync_after}")
        self.resync_after = resync_after
        self.last_ns: int | None = None      #: stamp of the last frame used
        self.stale = 0                       #: frames dropped as out of order, in all
        self.jumps = 0                       #: clock jumps followed, in all
        self.jumped_back_ns = 0              #: how far back the last jump went
        self.verdict: Verdict | None = None  #: of the last ``check``
        self._run = 0                        #: stale frames in a row

    def check(self, ns: int) -> Verdict:
        """What a frame stamped ``ns`` is; ``use(ns)`` once it is used."""
        if self.last_ns is None or ns > self.last_ns:
            self._run = 0
            self.verdict = Verdict.NEW
        elif ns == self.last_ns:
            self.verdict = Verdict.REPEAT
        else:
            self._run += 1
            if self._run < self.resync_after:
                self.stale += 1
                self.verdict = Verdict.STALE
            else:
                self.jumps += 1
                self.jumped_back_ns = self.last_ns - ns
                self.last_ns, self._run = None, 0
                self.verdict = Verdict.JUMPED
        return self.verdict

    def use(self, ns: int) -> None:
        """The frame stamped ``ns`` was used: only later ones are new from now on."""
        self.last_ns = int(ns)
        self._run = 0

    def is_new(self, ns: int) -> bool:
        """Whether ``ns`` is later than the last frame used (no verdict, no counting)."""
        return self.last_ns is None or ns > self.last_ns


class LastAnswer:
    """The lockstep rule, written once: an input with the stamp of the last one answered is a re-send
    (the bridge re-sends an unanswered frame) and gets the same answer again, not a new one."""

    def __init__(self):
        self._stamp: int | None = None
        self._answer: Any = None

    def repeat_for(self, ns: int):
        """The answer already given to stamp ``ns``, or None if ``ns`` was not the last one answered."""
        return self._answer if self._stamp == ns else None

    def remember(self, ns: int, answer) -> None:
        self._stamp, self._answer = ns, answer
