"""Pairing each belief with the reward sensed at its step, whichever arrives first (the live view).

The belief b_t (the posterior q(z_t | x_{<=t}, r_{<=t}, a_{<t}) and its predicted reward
E[r_t | z_t]) and the sensed reward r_t carry the same stamp t but come on two topics, in either order
(over DDS a later message on one topic may arrive before an earlier one on another). ``BeliefRewards``
hands out (belief, r_t) as soon as both are here, and a belief whose reward has not come within
``wait_s`` (the reward sensor missed that step, or the reward topic is not watched) with r_t = None.
"""
from __future__ import annotations

from collections import OrderedDict


class BeliefRewards:
    def __init__(self, wait_s: float = 0.5, keep: int = 200):
        self.wait_s, self.keep = wait_s, keep
        self._rewards: OrderedDict[int, float] = OrderedDict()        # stamp -> r_t, the last ``keep``
        self._waiting: OrderedDict[int, tuple[object, float]] = OrderedDict()   # stamp -> (belief, arrival)

    def belief(self, stamp_ns: int, belief, now: float) -> list[tuple[object, float | None]]:
        """A belief arrived at ``now`` (seconds): what is ready, (belief, reward) pairs."""
        if stamp_ns in self._rewards:
            return [(belief, self._rewards[stamp_ns])]
        self._waiting[stamp_ns] = (belief, now)
        return self.expired(now)

    def reward(self, stamp_ns: int, reward: float, now: float) -> list[tuple[object, float | None]]:
        """A reward arrived: the belief that waited for it, if any, and those waiting too long."""
        self._rewards[stamp_ns] = reward
        while len(self._rewards) > self.keep:
            self._rewards.popitem(last=False)
        ready = [(self._waiting.pop(stamp_ns)[0], reward)] if stamp_ns in self._waiting else []
        return ready + self.expired(now)

    def expired(self, now: float) -> list[tuple[object, float | None]]:
        """The beliefs that waited ``wait_s`` or more (or beyond ``keep``), without their reward, oldest first."""
        out = []
        while self._waiting:
            stamp, (belief, arrived) = next(iter(self._waiting.items()))
            if now - arrived < self.wait_s and len(self._waiting) <= self.keep:
                break
            self._waiting.popitem(last=False)
            out.append((belief, None))
        return out
