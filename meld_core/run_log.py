"""What a run writes for people to read: TensorBoard scalars and images, and ``evals.jsonl``.

Every scalar is logged against environment steps; ``train/model_steps`` goes
with each batch of scalars so that the two clocks can be compared. Each
held-out evaluation is one line of ``evals.jsonl`` (success and return per
episode, iteration, environment steps, training time).
"""
from __future__ import annotations

import json
from pathlib import Path

import torch


class RunLog:
    def __init__(self, run_dir: Path):
        from torch.utils.tensorboard import SummaryWriter

        self.run_dir = Path(run_dir)
        self._writer = SummaryWriter(str(self.run_dir / "tb"))

    def scalars(self, stats: dict, env_steps: int, model_steps: int, prefix: str | None = None) -> None:
        for k, v in stats.items():
            self._writer.add_scalar(f"{prefix}/{k}" if prefix else k, v, env_steps)
        self._writer.add_scalar("train/model_steps", model_steps, env_steps)

    def evaluation(self, result: dict) -> None:
        """A held-out evaluation (``evaluation.evaluate``'s result with iteration, env_steps, time_s)."""
        for e, s in enumerate(result["success_per_episode"]):
            self._writer.add_scalar(f"eval/success_episode_{e + 1}", s, result["env_steps"])
            self._writer.add_scalar(f"eval/return_episode_{e + 1}", result["return_per_episode"][e], result["env_steps"])
        with open(self.run_dir / "evals.jsonl", "a") as fh:
            fh.write(json.dumps(result) + "\n")

    def image(self, tag: str, image: torch.Tensor, env_steps: int) -> None:
        self._writer.add_image(tag, image, env_steps)

    def close(self) -> None:
        self._writer.close()
