"""Plots of runs a person would rather look at than read: ``meld report RUN_DIR [RUN_DIR ...] [--out DIR]``.

From what a run writes (``run_log.RunLog``): ``evals.jsonl`` (each held-out
evaluation: success and return per episode of a trial, and per held-out
task), ``scalars.jsonl`` (the training scalars TensorBoard also gets, one
line per batch) and ``report/reconstruction.png`` (the latest strip of
observations above their reconstructions from p(x_t | z_t)), it draws:

- ``success.png``: held-out success per episode of a trial against
  environment steps, the mean over the held-out tasks and, shaded, the
  spread over the tasks (the lowest to the highest task's success);
- ``returns.png``: the held-out return per episode, and the training return;
- ``losses.png``: the model's ELBO terms (loss, KL, image and reward NLL)
  and the actor-critic's losses, against environment steps;
- ``reconstruction.png``: copied from the run (several runs: one per run).

Several runs go on the same axes, labelled by directory name (e.g. MELD next
to its no-reward ablation). A run gets its own report in ``<run>/report`` at
every evaluation and at the end (``MetaTrainer``); this command draws one for
any runs, into ``--out`` (default: the first run's ``report/``).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

EVALS, SCALARS, REPORT = "evals.jsonl", "scalars.jsonl", "report"
LOSSES = (("model/loss", "model loss (-ELBO)"), ("model/kl", "KL"), ("model/image_nll", "image NLL"),
          ("model/reward_nll", "reward NLL"), ("sac/critic_loss", "critic loss"), ("sac/actor_loss", "actor loss"))


class ReportError(ValueError):
    """A run directory without anything to plot."""


def _lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:          # a line cut short by a crash: the others still count
            continue
    return out


def read_run(run_dir: Path) -> dict:
    run_dir = Path(run_dir)
    evals, scalars = _lines(run_dir / EVALS), _lines(run_dir / SCALARS)
    if not evals and not scalars:
        raise ReportError(f"{run_dir}: no {EVALS} or {SCALARS} to plot (is it a meld run directory?)")
    return {"name": run_dir.name or str(run_dir), "evals": evals, "scalars": scalars}


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")                     # files only: no display needed
    import matplotlib.pyplot as plt
    return plt


def _save(plt, fig, ax, path: Path) -> None:
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_success(runs: list[dict], path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for run in runs:
        ev = [e for e in run["evals"] if "success_per_episode" in e]
        if not ev:
            continue
        steps = [e["env_steps"] for e in ev]
        for k in range(len(ev[0]["success_per_episode"])):
            mean = [e["success_per_episode"][k] for e in ev]
            line, = ax.plot(steps, mean, marker="o", label=f"{run['name']}: episode {k + 1}")
            per_task = [e.get("success_per_task_episode") for e in ev]
            if all(per_task):
                lo = [min(t[k] for t in pt) for pt in per_task]
                hi = [max(t[k] for t in pt) for pt in per_task]
                ax.fill_between(steps, lo, hi, color=line.get_color(), alpha=0.12)
    ax.set(xlabel="environment steps", ylabel="held-out success", ylim=(-0.03, 1.03),
           title="held-out success per episode of a trial (shaded: lowest to highest task)")
    _save(plt, fig, ax, path)


def plot_returns(runs: list[dict], path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for run in runs:
        ev = [e for e in run["evals"] if "return_per_episode" in e]
        for k in range(len(ev[0]["return_per_episode"]) if ev else 0):
            ax.plot([e["env_steps"] for e in ev], [e["return_per_episode"][k] for e in ev], marker="o",
                    label=f"{run['name']}: held-out, episode {k + 1}")
        train = [s for s in run["scalars"] if "train/return" in s]
        if train:
            ax.plot([s["env_steps"] for s in train], [s["train/return"] for s in train], alpha=0.6,
                    label=f"{run['name']}: training trials")
    ax.set(xlabel="environment steps", ylabel="return (dense reward)", title="returns")
    _save(plt, fig, ax, path)


def plot_losses(runs: list[dict], path: Path) -> None:
    plt = _pyplot()
    fig, axes = plt.subplots(2, 3, figsize=(11, 5.5))
    for ax, (key, title) in zip(axes.flat, LOSSES):
        for run in runs:
            points = [(s["env_steps"], s[key]) for s in run["scalars"] if key in s]
            if points:
                x, y = zip(*points)
                ax.plot(x, y, label=run["name"])
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    axes[1, 0].set_xlabel("environment steps")
    if len(runs) > 1:
        axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_report(run_dirs, out_dir: Path | None = None) -> list[Path]:
    """The plots of ``run_dirs`` into ``out_dir`` (default: the first run's ``report/``); returns the files."""
    run_dirs = [Path(r) for r in run_dirs]
    runs = [read_run(r) for r in run_dirs]
    out = Path(out_dir) if out_dir else run_dirs[0] / REPORT
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, plot in (("success.png", plot_success), ("returns.png", plot_returns), ("losses.png", plot_losses)):
        plot(runs, out / name)
        written.append(out / name)
    for run_dir in run_dirs:
        strip = run_dir / REPORT / "reconstruction.png"
        target = out / ("reconstruction.png" if len(run_dirs) == 1 else f"reconstruction_{run_dir.name}.png")
        if strip.exists() and strip.resolve() != target.resolve():
            shutil.copyfile(strip, target)
        if target.exists():
            written.append(target)
    return written


def save_strip(grid, path: Path) -> None:
    """A (3, H, W) image in [0, 1] (``MeldAlgorithm.reconstruction_grid``) as a PNG."""
    plt = _pyplot()
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.clip(np.asarray(grid).transpose(1, 2, 0), 0.0, 1.0)
    plt.imsave(path, image)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="meld report", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", help="run directories")
    p.add_argument("--out", help="where the plots go (default: the first run's report/)")
    args = p.parse_args(argv)
    try:
        for path in write_report(args.runs, args.out):
            print(path)
    except ReportError as exc:
        print(f"meld report: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
