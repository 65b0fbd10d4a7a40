"""Per-task replay of whole trials, images stored as uint8.

A trial of L control steps (all episodes on one task) is stored as
    images  (L+1, H, W, 3) uint8   x_0 .. x_L (x at an episode start is the reset frame)
    actions (L, A)         float32 a_0 .. a_{L-1}
    dense, sparse (L+1,)   float32 r_0 .. r_L with r_0 = 0 and r_k the reward of a_{k-1}
    success (L+1,)         bool    success of the state reached by a_{k-1}
The model trains on whole trials; the actor-critic on the transitions
(z_k, a_k, r_{k+1}, z_{k+1}) inside them, so no batch crosses a trial boundary.
Each task keeps at most ``capacity`` transitions (oldest trials dropped first).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class Trial:
    task_index: int
    images: np.ndarray
    actions: np.ndarray
    dense: np.ndarray
    sparse: np.ndarray
    success: np.ndarray

    def validate(self) -> None:
        """Raise ValueError with a clear message if the arrays are inconsistent or not finite."""
        L = self.actions.shape[0]
        if self.images.dtype != np.uint8 or self.images.ndim != 4 or self.images.shape[-1] != 3:
            raise ValueError(f"trial images must be uint8 (L+1, H, W, 3), got {self.images.dtype} {self.images.shape}")
        if self.images.shape[0] != L + 1:
            raise ValueError(f"trial has {L} actions but {self.images.shape[0]} images (need L+1)")
        for name in ("dense", "sparse", "success"):
            if getattr(self, name).shape != (L + 1,):
                raise ValueError(f"trial {name} must have shape ({L + 1},), got {getattr(self, name).shape}")
        for name in ("actions", "dense", "sparse"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise ValueError(f"trial {name} contains NaN or inf")

    def episode_success(self, episode_length: int) -> list[bool]:
        """Success at the last step of each episode of the trial."""
        L = self.actions.shape[0]
        return [bool(self.success[k]) for k in range(episode_length, L + 1, episode_length)]


_ARRAYS = ("images", "actions", "dense", "sparse", "success")


class TrialReplay:
    """Ring buffer of trials of one task."""

    def __init__(self, capacity_trials: int):
        if capacity_trials < 1:
            raise ValueError("replay capacity must hold at least one trial")
        self.capacity = capacity_trials
        self._data: dict[str, np.ndarray] | None = None
        self._next = 0
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, trial: Trial) -> None:
        trial.validate()
        if self._data is None:
            self._data = {k: np.zeros((self.capacity, *getattr(trial, k).shape), getattr(trial, k).dtype)
                          for k in _ARRAYS}
        for k in _ARRAYS:
            buf, value = self._data[k], getattr(trial, k)
            if value.shape != buf.shape[1:]:
                raise ValueError(f"trial {k} shape {value.shape} differs from this replay's {buf.shape[1:]}")
            buf[self._next] = value
        self._next = (self._next + 1) % self.capacity
        self._size = min(self._size + 1, self.capacity)

    def get(self, indices: np.ndarray) -> dict[str, np.ndarray]:
        assert self._data is not None
        return {k: self._data[k][indices] for k in _ARRAYS}

    def stored(self) -> tuple[dict[str, np.ndarray], int]:
        """The filled slots in storage order and the next write position."""
        if self._data is None:
            return {}, 0
        return {k: v[:self._size] for k, v in self._data.items()}, self._next

    def restore(self, arrays: dict[str, np.ndarray], next_slot: int) -> None:
        size = arrays["images"].shape[0]
        if size > self.capacity:
            raise ValueError(f"saved replay holds {size} trials, capacity is {self.capacity}")
        self._data = {k: np.zeros((self.capacity, *v.shape[1:]), v.dtype) for k, v in arrays.items()}
        for k, v in arrays.items():
            self._data[k][:size] = v
        self._size, self._next = size, next_slot % self.capacity


class MultiTaskReplay:
    """One TrialReplay per training task; batches draw a task, then a trial, uniformly."""

    def __init__(self, n_tasks: int, capacity_transitions: int, trial_length: int):
        self.trial_length = trial_length
        self.capacity_trials = max(1, capacity_transitions // trial_length)
        self.tasks = [TrialReplay(self.capacity_trials) for _ in range(n_tasks)]
        self.stamp = ""

    def add(self, trial: Trial) -> None:
        if not 0 <= trial.task_index < len(self.tasks):
            raise ValueError(f"task index {trial.task_index} outside 0..{len(self.tasks) - 1}")
        if trial.actions.shape[0] != self.trial_length:
            raise ValueError(f"trial has {trial.actions.shape[0]} steps, this replay stores {self.trial_length}")
        self.tasks[trial.task_index].add(trial)

    def num_trials(self) -> int:
        return sum(len(t) for t in self.tasks)

    def sample(self, batch_trials: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """A batch of whole trials: arrays with a leading (batch_trials,) dimension."""
        filled = [i for i, t in enumerate(self.tasks) if len(t)]
        if not filled:
            raise RuntimeError("replay is empty: collect trials before sampling")
        task_ids = rng.choice(filled, size=batch_trials)
        parts = []
        for i in task_ids:
            j = rng.integers(len(self.tasks[i]))
            parts.append(self.tasks[i].get(np.array([j])))
        batch = {k: np.concatenate([p[k] for p in parts]) for k in _ARRAYS}
        batch["task_index"] = task_ids
        return batch

    # ---- persistence (numpy .npz, no pickling) ------------------------------------------
    def save(self, path: Path, stamp: str = "") -> None:
        """Write atomically (temporary file, then rename); ``stamp`` ties it to a checkpoint."""
        arrays: dict[str, np.ndarray] = {"stamp": np.array(stamp), "trial_length": np.array(self.trial_length),
                                         "capacity_trials": np.array(self.capacity_trials),
                                         "n_tasks": np.array(len(self.tasks))}
        for i, t in enumerate(self.tasks):
            data, next_slot = t.stored()
            if data:
                arrays[f"task{i}/next"] = np.array(next_slot)
                arrays.update({f"task{i}/{k}": v for k, v in data.items()})
        tmp = Path(str(path) + ".tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "MultiTaskReplay":
        """Read a file written by ``save`` (no unpickling: arrays only)."""
        with np.load(path, allow_pickle=False) as z:
            trial_length, n_tasks = int(z["trial_length"]), int(z["n_tasks"])
            replay = cls(n_tasks, int(z["capacity_trials"]) * trial_length, trial_length)
            replay.stamp = str(z["stamp"])
            for i in range(n_tasks):
                if f"task{i}/images" in z:
                    replay.tasks[i].restore({k: z[f"task{i}/{k}"] for k in _ARRAYS}, int(z[f"task{i}/next"]))
        return replay

    def iter_trials(self):
        """Every stored trial (for seeding another run's replay)."""
        for i, t in enumerate(self.tasks):
            data, _ = t.stored()
            for j in range(len(t)):
                yield Trial(i, **{k: data[k][j] for k in _ARRAYS})
