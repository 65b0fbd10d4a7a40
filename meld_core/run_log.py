"""What a run writes for people to read: TensorBoard scalars and images, ``evals.jsonl``, ``scalars.jsonl``
and the PNG report (``meld_core.run_report``).

Every scalar is logged against environment steps; ``train/model_steps`` goes
with each batch of scalars so that the two clocks can be compared; each batch
is also a line of ``scalars.jsonl`` (what the report plots: the same numbers
TensorBoard shows). Each held-out evaluation is one line of ``evals.jsonl``
(success and return per episode, per held-out task, iteration, environment
steps, training time), after which the report is drawn again into
``report/``, as at the end of the run; the latest reconstruction strip is
``report/reconstruction.png``. A report that cannot be drawn is said on
stderr and never stops training.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from meld_core.run_report import EVALS, REPORT, SCALARS, save_strip, write_report


class RunLog:
    def __init__(self, run_dir: Path):
        from torch.utils.tensorboard import SummaryWriter

        self.run_dir = Path(run_dir)
        self._writer = SummaryWriter(str(self.run_dir / "tb"))

    def scalars(self, stats: dict, env_steps: int, model_steps: int, prefix: str | None = None) -> None:
        named = {f"{prefix}/{k}" if prefix else k: float(v) for k, v in stats.items()}
        for k, v in named.items():
            self._writer.add_scalar(k, v, env_steps)
        self._writer.add_scalar("train/model_steps", model_steps, env_steps)
        with open(self.run_dir / SCALARS, "a") as fh:
            fh.write(json.dumps({"env_steps": env_steps, "train/model_steps": model_steps, **named}) + "\n")

    def evaluation(self, result: dict) -> None:
        """A held-out evaluation (``evaluation.evaluate``'s result with iteration, env_steps, time_s)."""
        for e, s in enumerate(result["success_per_episode"]):
            self._writer.add_scalar(f"eval/success_episode_{e + 1}", s, result["env_steps"])
            self._writer.add_scalar(f"eval/return_episode_{e + 1}", result["return_per_episode"][e], result["env_steps"])
        with open(self.run_dir / EVALS, "a") as fh:
            fh.write(json.dumps(result) + "\n")
        self.report()

    def image(self, tag: str, image: torch.Tensor, env_steps: int) -> None:
        self._writer.add_image(tag, image, env_steps)
        if tag == "model/reconstruction":
            save_strip(image.detach().cpu().numpy(), self.run_dir / REPORT / "reconstruction.png")

    def report(self) -> None:
        """The run's plots into ``report/`` (``run_report.write_report``); a failure is said, never raised."""
        try:
            write_report([self.run_dir])
        except Exception as exc:           # a plot must never cost a training run
            print(f"[meld] the run report could not be drawn: {type(exc).__name__}: {exc}", file=sys.stderr)

    def close(self) -> None:
        self._writer.close()
        if (self.run_dir / EVALS).exists() or (self.run_dir / SCALARS).exists():
            self.report()
