"""Fixed, disjoint train and held-out task sets derived from a seed.

All tasks of an environment are drawn at once from one seeded generator and
split: the first ``n_train`` are the meta-training tasks, the next ``n_eval``
the held-out (meta-test) tasks. Same seed, same sets, on every machine.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

import numpy as np

T = TypeVar("T")


@dataclass(frozen=True)
class TaskSplit(Generic[T]):
    train: tuple[T, ...]
    held_out: tuple[T, ...]


def split_tasks(sample: Callable[[np.random.Generator], T], n_train: int, n_eval: int,
                seed: int) -> TaskSplit[T]:
    """Draw ``n_train + n_eval`` distinct tasks with ``sample(rng)`` and split them."""
    if n_train < 1 or n_eval < 0:
        raise ValueError(f"need n_train >= 1 and n_eval >= 0, got {n_train}, {n_eval}")
    rng = np.random.default_rng(seed)
    tasks: list[T] = []
    while len(tasks) < n_train + n_eval:
        task = sample(rng)
        if task not in tasks:
            tasks.append(task)
    return TaskSplit(tuple(tasks[:n_train]), tuple(tasks[n_train:]))
