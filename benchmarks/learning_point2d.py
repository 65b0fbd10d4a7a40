"""Learning on point-2d: MELD (dense reward into the model) vs an ablation
whose model gets no reward input (it cannot infer the goal: near chance).

Both runs use the ``cpu`` profile (its 25-minute time budget; with start-up,
evaluation and the final meta-test each run stays within 30 minutes). By
default the two run at the same time, one core and one torch thread each, on
this 2-core machine (``--sequential``: one after the other with 2 threads).
Afterwards each is meta-tested on the 10 held-out tasks with
``--test-trials`` trials per task; the script prints held-out success per
episode of a trial and writes the learning curve (held-out success against
environment steps, both runs) to ``docs/learning_point2d.png``.

A run directory found under ``--run-root`` is resumed, not restarted (as any
meld run is after a crash): give a new root for a fresh measurement.

Usage: ./meld shell -c "python benchmarks/learning_point2d.py [--budget-s 1500] [--run-root runs/NEW]"
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from meld_core.config import load_config
from meld_core.meta_train import MetaTrainer

VARIANTS = {"MELD (dense reward input)": {}, "ablation: no reward input": {"model.reward_input": "none"}}


def run_variant(key: str, budget_s: float | None, threads: int, run_root: Path, test_trials: int) -> dict:
    name = next(n for n, o in VARIANTS.items() if o.get("model.reward_input", "dense") == key)
    overrides = {**VARIANTS[name], "train.torch_threads": threads}
    if budget_s is not None:
        overrides["train.time_budget_s"] = budget_s
    cfg = load_config("cpu", overrides)
    t0 = time.monotonic()
    trainer = MetaTrainer(cfg, run_root / key, resume=True)
    if trainer.resumed:
        print(f"{name}: resuming the run in {run_root / key} at {trainer.progress.env_steps} env steps (its "
              f"figures continue it; pass a new --run-root for a fresh run)", flush=True)
    trainer.run()
    train_s = time.monotonic() - t0
    final = trainer.evaluate(trials_per_task=test_trials, seed_offset=2_000_000)
    total_s = time.monotonic() - t0
    result = {"name": name, "curve": trainer.progress.evals, "final": final, "train_s": train_s,
              "total_s": total_s, "env_steps": trainer.progress.env_steps,
              "model_steps": trainer.progress.model_steps, "threads": threads}
    (run_root / f"result_{key}.json").write_text(json.dumps(result, indent=1))
    return result


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--budget-s", type=float, default=None, help="override train.time_budget_s")
    p.add_argument("--run-root", default="runs/bench_learning")
    p.add_argument("--test-trials", type=int, default=5)
    p.add_argument("--out", default="docs/learning_point2d.png")
    p.add_argument("--sequential", action="store_true", help="one run after the other, 2 threads each")
    p.add_argument("--only", choices=["dense", "none"], help="run one variant here (used by the parallel mode)")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    root = Path(args.run_root)
    root.mkdir(parents=True, exist_ok=True)
    keys = ["dense", "none"]
    if args.only:
        run_variant(args.only, args.budget_s, args.threads, root, args.test_trials)
        return
    if args.sequential:
        for key in keys:
            run_variant(key, args.budget_s, 2, root, args.test_trials)
    else:
        extra = [] if args.budget_s is None else ["--budget-s", str(args.budget_s)]
        procs = [subprocess.Popen([sys.executable, __file__, "--only", key, "--threads", "1", "--run-root",
                                   str(root), "--test-trials", str(args.test_trials), *extra]) for key in keys]
        if any(proc.wait() != 0 for proc in procs):
            raise SystemExit("a benchmark run failed")
    results = {}
    for key in keys:
        r = json.loads((root / f"result_{key}.json").read_text())
        results[r["name"]] = r
        s = r["final"]["success_per_episode"]
        print(f"{r['name']}: held-out success episode 1 {s[0]:.2f}, episode 2 {s[1]:.2f} "
              f"({r['final']['trials']} trials; {r['env_steps']} env steps, {r['model_steps']} model steps, "
              f"{r['threads']} thread(s), {r['total_s'] / 60:.1f} min wall clock incl. final test)")
    a, b = (results[n]["final"]["success_per_episode"][0] for n in VARIANTS)
    print(f"episode-1 held-out success, MELD minus ablation: {a - b:+.2f}")
    plot(results, Path(args.out))


def plot(results: dict, out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for (name, res), color in zip(results.items(), ["tab:blue", "tab:red"]):
        steps = [e["env_steps"] for e in res["curve"]]
        for ep, style in [(0, "-"), (1, "--")]:
            ax.plot(steps, [e["success_per_episode"][ep] for e in res["curve"]], style, color=color,
                    label=f"{name}, episode {ep + 1}")
    ax.axhline(0.8, color="gray", lw=0.8, ls=":")
    ax.set_xlabel("environment steps (meta-training)")
    ax.set_ylabel("held-out success")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("point-2d, cpu profile, 2 CPU cores")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"learning curve written to {out}")


if __name__ == "__main__":
    main()
