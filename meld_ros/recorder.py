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

import numpy as np

from meld_core.replay import Trial


class EpisodeRecorder:
    """One episode's frames, by stamp. ``start_ns``: the reset frame's stamp; when it is not
    known yet (the reset's answer may come after its first frame), frames later than
    ``after_ns`` are kept and ``begin(start_ns)`` is called once it is known."""

    def __init__(self, episode_length: int, start_ns: int | None = None, after_ns: int = -1):
        self.E = episode_length
        self.start_ns = after_ns + 1 if start_ns is None else int(start_ns)
        self._known = start_ns is not None
        self.images: dict[int, np.ndarray] = {}
        self.rewards: dict[int, tuple[int, float, float, bool]] = {}
        self.actions: dict[int, np.ndarray] = {}

    def begin(self, start_ns: int) -> None:
        """The reset frame's stamp is known: forget anything earlier."""
        self.start_ns, self._known = int(start_ns), True
        for d in (self.images, self.rewards, self.actions):
            for k in [k for k in d if k < self.start_ns]:
                del d[k]

    def add_image(self, ns: int, image: np.ndarray) -> None:
        if ns >= self.start_ns:
            self.images.setdefault(ns, image)

    def add_reward(self, ns: int, step: int, dense: float, sparse: float, success: bool) -> None:
        if ns >= self.start_ns:
            self.rewards.setdefault(ns, (int(step), float(dense), float(sparse), bool(success)))

    def add_action(self, ns: int, action) -> None:
        if ns >= self.start_ns:
            self.actions.setdefault(ns, np.asarray(action, np.float32))

    def _stamps(self) -> list[int] | None:
        """The E+1 frame stamps in order, once steps 0..E all have a reward."""
        by_step = {step: ns for ns, (step, *_rest) in self.rewards.items()}
        if any(k not in by_step for k in range(self.E + 1)):
            return None
        stamps = [by_step[k] for k in range(self.E + 1)]
        if stamps[0] != self.start_ns or any(b <= a for a, b in zip(stamps, stamps[1:])):
            raise ValueError(f"episode frames out of order or not starting at the reset: {stamps}")
        return stamps

    def complete(self) -> bool:
        if not self._known:
            return False
        stamps = self._stamps()
        return (stamps is not None and all(s in self.images for s in stamps)
                and all(s in self.actions for s in stamps[:-1]))

    def arrays(self) -> dict[str, np.ndarray]:
        if not self.complete():
            raise ValueError("episode incomplete")
        stamps = self._stamps()
        r = [self.rewards[s] for s in stamps]
        return {"images": np.stack([self.images[s] for s in stamps]),
                "actions": np.stack([self.actions[s] for s in stamps[:-1]]),
                "dense": np.array([x[1] for x in r], np.float32), "sparse": np.array([x[2] for x in r], np.float32),
                "success": np.array([x[3] for x in r], bool)}


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
