"""Which frame the belief takes next: pairing images, rewards and actions by stamp (no ROS here).

The posterior update q(z_t | x_t, r_t, z_{t-1}, a_{t-1}) of stamp t needs the
observation x_t and the reward r_t of that stamp and, after the first frame
of a trial, the action a_{t-1} that answered the previous frame used (stamped
with that frame). They arrive on three topics in any order; ``BeliefInputs``
holds them until a frame is complete and hands frames out in stamp order,
each once:

- ``next(now)`` gives the earliest stamp with both an image and a reward
  (``Ready``), if its previous action is there or not needed; when that
  action has not come within ``action_wait_s`` of the frame becoming ready,
  the frame is given up (``Skipped``) and the next one is tried;
- ``used(ns)`` after the update: the trial has begun, and everything up to
  ``ns`` is forgotten (a frame is never used twice, nor one before it);
- time moves forward (``stamp_order.StampOrder``): an image earlier than the
  last frame used is dropped, ``clock_jump_frames`` of them in a row mean its
  clock jumped back, and the pairing follows it from there;
- at most ``pending`` images, rewards and actions each wait (the oldest go
  first: between episodes cameras keep sending frames that will never get a
  reward), so a flood cannot exhaust memory.

The episode within the trial is counted from the rewards: a reward of step 0
that is not the trial's first frame begins the next episode (the reset frame).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from meld_ros.rosfree.stamp_order import StampOrder, Verdict


@dataclass
class Ready:
    """A complete frame: update the belief with it, then call ``used(ns)``."""

    ns: int
    image: Any
    dense: float
    sparse: float
    prev_action: list | None      #: a_{t-1}; None at a trial's first frame
    trial_start: bool
    episode: int                  #: episode within the trial this frame belongs to


@dataclass
class Skipped:
    """A frame given up: its previous action never came."""

    ns: int


class BeliefInputs:
    def __init__(self, clock_jump_frames: int = 3, action_wait_s: float = 0.5, pending: int = 64):
        self.order = StampOrder(clock_jump_frames)
        self.action_wait_s = action_wait_s
        self.pending = pending
        self._images: dict[int, Any] = {}
        self._rewards: dict[int, tuple[float, float, int]] = {}
        self._actions: dict[int, list] = {}
        self._ready_since: dict[int, float] = {}
        self.last_ns = -1              #: stamp of the last frame used (its action is a_{t-1} of the next)
        self.trial_start = True
        self.episode = 0

    def _bounded(self, waiting: dict) -> None:
        while len(waiting) > self.pending:
            del waiting[min(waiting)]

    # ---- inputs -----------------------------------------------------------------------
    def image_verdict(self, ns: int) -> Verdict:
        """What an observation of stamp ``ns`` is, before it is decoded: NEW (hold it with ``hold_image``),
        REPEAT (the last frame used, sent again: answer it as before), STALE (drop it), JUMPED (the clock
        jumped back: the frames waiting are dropped and the pairing follows the new timeline; hold it)."""
        verdict = self.order.check(ns)
        if verdict is Verdict.JUMPED:
            self._images.clear()
            self._rewards.clear()
        return verdict

    def hold_image(self, ns: int, image) -> None:
        """The decoded observation of a NEW or JUMPED stamp ``ns``."""
        self._images[ns] = image
        self._bounded(self._images)

    def add_reward(self, ns: int, dense: float, sparse: float, step: int) -> bool:
        """The reward of stamp ``ns`` (the first one of a stamp counts); whether it was held."""
        if not self.order.is_new(ns) or ns in self._rewards:
            return False
        self._rewards[ns] = (float(dense), float(sparse), int(step))
        self._bounded(self._rewards)
        return True

    def add_action(self, ns: int, normalized: list) -> None:
        """The action that answered the frame of stamp ``ns``."""
        self._actions.setdefault(ns, list(normalized))
        for old in [k for k in self._actions if k < self.last_ns]:
            del self._actions[old]
        self._bounded(self._actions)

    def reset_trial(self) -> None:
        """The next frame is the first of a trial (the latent is reset there)."""
        self.trial_start = True
        self.episode = 0
        self._images.clear()
        self._rewards.clear()

    # ---- output -----------------------------------------------------------------------
    def next(self, now: float) -> Ready | Skipped | None:
        """The next frame to use, one given up, or None (nothing complete yet, or waiting for an action)."""
        ready = sorted(set(self._images) & set(self._rewards))
        if not ready:
            return None
        ns = ready[0]
        prev = None
        if not self.trial_start:
            prev = self._actions.get(self.last_ns)
            if prev is None:
                since = self._ready_since.setdefault(ns, now)
                if now - since < self.action_wait_s:
                    return None                        # the previous action is still on its way
                self._discard(ns)
                return Skipped(ns)
        self._ready_since.pop(ns, None)
        dense, sparse, step = self._rewards.pop(ns)
        episode = self.episode + (1 if step == 0 and not self.trial_start else 0)
        return Ready(ns, self._images.pop(ns), dense, sparse, prev, self.trial_start, episode)

    def used(self, frame: Ready) -> None:
        """``frame`` updated the belief: the trial has begun and nothing up to its stamp is used again."""
        self.trial_start = False
        self.episode = frame.episode
        self.last_ns = frame.ns
        self.order.use(frame.ns)
        for old in [k for k in (*self._images, *self._rewards) if k <= frame.ns]:
            self._discard(old)

    def _discard(self, ns: int) -> None:
        self._images.pop(ns, None)
        self._rewards.pop(ns, None)
        self._ready_since.pop(ns, None)

