"""The learner's recording of trials from the graph's topics (no ROS here).

Within an episode every frame has a stamp s_k (k = 0 .. E, k = 0 the reset
frame): the observation image and the reward (dense, sparse, success: of the
state at s_k, i.e. of the action a_{k-1}) carry s_k, and the action a_k that
answered the frame carries s_k too. ``EpisodeRecorder`` collects them by
stamp in any arrival order and knows when the episode is complete.
``assemble_trial`` lays episodes out exactly as ``meld_core.rollout.run_trial``
does (see replay.py): the reset frame of episode e > 0 takes the place of
episode e-1's last frame and is paired with the reward of its last action.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from meld_core.replay import Trial
from meld_ros.rosfree.reward_check import reward_is_plausible


class EpisodeUnusable(ValueError):
    """A complete episode whose data cannot be trusted (two different readings for one frame)."""


class EpisodeRecorder:
    """One episode's frames, by stamp. ``start_ns``: the reset frame's stamp; when it is not
    known yet (the reset's answer may come after its first frame), frames later than
    ``after_ns`` are kept and ``begin(start_ns)`` is called once it is known.

    The ``add_*`` methods never raise: a message that cannot belong to the episode (a step
    outside 0..E, a reward that is not finite or beyond ``reward_limit``, an action or image of
    the wrong shape) is dropped and counted in ``dropped`` (reason -> count), and returns the
    reason. Stray messages with stamps of their own are never chosen: the episode's frames are
    the chain s_0 = the earliest stamp at or after the start whose reward says step 0 and that has
    an image (in simulation the reset frame carries the start's stamp; on the robot the start is
    when the rig was ready, and the next camera tick is step 0), s_k = the earliest stamp after
    s_{k-1} whose reward says step k and that has an image (and, for k < E, an action). Two different readings for one stamp (another
    publisher on the same topic) are counted in ``conflicts``; an episode whose chain holds such a
    stamp is complete but unusable (``arrays`` raises EpisodeUnusable, and the trial is retried).
    """

    def __init__(self, episode_length: int, start_ns: int | None = None, after_ns: int = -1, *,
                 reward_limit: float = float("inf"), action_dim: int | None = None,
                 image_shape: tuple[int, ...] | None = None):
        self.E = episode_length
        self.start_ns = after_ns + 1 if start_ns is None else int(start_ns)
        self._known = start_ns is not None
        self.reward_limit, self.action_dim = reward_limit, action_dim
        self.image_shape = None if image_shape is None else tuple(image_shape)
        self.images: dict[int, np.ndarray] = {}
        self.rewards: dict[int, tuple[int, float, float, bool]] = {}
        self.actions: dict[int, np.ndarray] = {}
        self.dropped: Counter[str] = Counter()
        self.conflicts: set[int] = set()

    def begin(self, start_ns: int) -> None:
        """The reset frame's stamp is known: forget anything earlier."""
        self.start_ns, self._known = int(start_ns), True
        for d in (self.images, self.rewards, self.actions):
            for k in [k for k in d if k < self.start_ns]:
                del d[k]

    def _drop(self, reason: str) -> str:
        self.dropped[reason] += 1
        return reason

    def _keep(self, store: dict, ns: int, value, same) -> None:
        if ns not in store:
            store[ns] = value
        elif not same(store[ns], value):
            self.conflicts.add(ns)

    def add_image(self, ns: int, image: np.ndarray) -> str | None:
        if ns < self.start_ns:
            return None
        if self.image_shape is not None and tuple(image.shape) != self.image_shape:
            return self._drop(f"image of shape {tuple(image.shape)}, not {self.image_shape}")
        self._keep(self.images, ns, image, np.array_equal)
        return None

    def add_reward(self, ns: int, step: int, dense: float, sparse: float, success: bool) -> str | None:
        if ns < self.start_ns:
            return None
        if not 0 <= step <= self.E:
            return self._drop(f"reward for step {step}, outside the episode's 0..{self.E}")
        if not reward_is_plausible(dense, sparse, self.reward_limit):
            return self._drop(f"reward not finite or beyond +-{self.reward_limit:g}")
        self._keep(self.rewards, ns, (int(step), float(dense), float(sparse), bool(success)), lambda a, b: a == b)
        return None

    def add_action(self, ns: int, action) -> str | None:
        if ns < self.start_ns:
            return None
        a = np.asarray(action, np.float32)
        if a.ndim != 1 or (self.action_dim is not None and a.size != self.action_dim):
            return self._drop(f"action of {a.size} values, not {self.action_dim}")
        if not np.all(np.abs(a) <= 1.0):
            return self._drop("action not finite or outside [-1, 1]")
        self._keep(self.actions, ns, a, np.array_equal)
        return None

    def _stamps(self) -> list[int] | None:
        """The E+1 frame stamps in order, once every step 0..E has a frame with its data."""
        by_step: dict[int, list[int]] = {}
        for ns, (step, *_rest) in self.rewards.items():
            by_step.setdefault(step, []).append(ns)
        first = sorted(ns for ns in by_step.get(0, ()) if ns in self.images)    # all at or after start_ns
        if not first:
            return None
        stamps = [first[0]]
        for k in range(1, self.E + 1):
            if stamps[-1] not in self.actions:
                return None
            later = sorted(ns for ns in by_step.get(k, ()) if ns > stamps[-1] and ns in self.images)
            if not later:
                return None
            stamps.append(later[0])
        return stamps

    def complete(self) -> bool:
        return self._known and self._stamps() is not None

    def arrays(self) -> dict[str, np.ndarray]:
        stamps = self._stamps() if self._known else None
        if stamps is None:
            raise ValueError(f"episode incomplete: {self.status()}")
        conflicted = sorted(self.conflicts.intersection(stamps))
        if conflicted:
            raise EpisodeUnusable(f"{len(conflicted)} frame(s) of the episode came with two different readings "
                                  f"(another publisher on the graph's topics?), first at stamp {conflicted[0]}")
        r = [self.rewards[s] for s in stamps]
        return {"images": np.stack([self.images[s] for s in stamps]),
                "actions": np.stack([self.actions[s] for s in stamps[:-1]]),
                "dense": np.array([x[1] for x in r], np.float32), "sparse": np.array([x[2] for x in r], np.float32),
                "success": np.array([x[3] for x in r], bool)}

    def status(self) -> str:
        """What arrived, for a report of an episode that did not finish."""
        steps = sorted({step for step, *_ in self.rewards.values()})
        text = (f"{'started' if self._known else 'reset not yet answered'}; rewards for {len(steps)} of the "
                f"{self.E + 1} steps, {len(self.images)} images, {len(self.actions)} actions since the reset")
        if self.dropped:
            text += "; dropped: " + ", ".join(f"{n} x {reason}" for reason, n in self.dropped.items())
        if self.conflicts:
            text += f"; {len(self.conflicts)} stamp(s) with conflicting readings"
        return text


def assemble_trial(task_index: int, episodes: list[dict[str, np.ndarray]]) -> Trial:
    """Episodes' arrays -> one Trial in run_trial's layout."""
    images, actions, dense, sparse, success = [], [], [0.0], [0.0], [False]
    for e, ep in enumerate(episodes):
        images.append(ep["images"][:-1])
        actions.append(ep["actions"])
        dense += ep["dense"][1:].tolist()
        sparse += ep["sparse"][1:].tolist()
        success += ep["success"][1:].tolist()
    images.append(episodes[-1]["images"][-1:])
    # the frame after episode e's last action is episode e+1's reset frame
    images = np.concatenate(images)
    return Trial(task_index, images, np.concatenate(actions).astype(np.float32),
                 np.array(dense, np.float32), np.array(sparse, np.float32), np.array(success, bool))
