"""Learning benchmark: variants x seeds of ``meld train``, meta-tested on held-out tasks, as JSON and a curve.

Each job is one meta-training run (``MetaTrainer``, the ``cpu`` profile unless
``--profile``) with a variant's overrides and a seed (``train.seed``), for
``--budget-s`` seconds of training, one torch thread; then a meta-test of its
final weights on the environment's held-out tasks (``--test-trials`` per
task, seeds apart from training's). Jobs run ``--parallel`` at a time, one
core each (this machine has two). A variant may start from another variant's
run of the same seed (``stage2``: the two-stage sparse scheme of the thesis,
D.3, whose second stage seeds its replay with the first stage's trials); it
then runs after it.

Variants (``--variants``; more with ``--variant NAME=key=value,key=value``):
``meld`` (the profile as it is), ``ablation`` (no reward into the model: a
task-blind policy), ``sparse`` (stage 2 on ``meld``: the model takes the
sparse reward, reconstructs the dense one, the critic uses the dense one),
``sparse-ablation`` (stage 2 on ``meld`` with no reward into the model).

Writes ``benchmarks/results/<name>.json`` (env, profile, variants and their
overrides, per seed: held-out success and dense return per episode, the
learning curve, environment and model steps, wall time; per variant: mean and
spread over seeds; cores, date, the command) and ``docs/<name>.png`` (held-out
success against environment steps, mean over seeds with the min-max band).
A run directory under ``--run-root`` is resumed, not restarted: give a new root
for a fresh measurement.

A measurement too long for one sitting is made in parts, each its own result
file, and merged: ``--merge A.json B.json [--keep VARIANT ...]`` trains
nothing and writes ``<name>.json`` from their runs (each part's command and
date kept under ``merged_from``).

Usage: ./meld shell -c "python benchmarks/learning.py NAME --env point2d-2goal --budget-s 600 --seeds 0 1 2"
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

#: name -> (overrides, the variant whose run (same seed) it continues as stage 2, or None)
VARIANTS: dict[str, tuple[dict, str | None]] = {
    "meld": ({}, None),
    "ablation": ({"model.reward_input": "none"}, None),
    "sparse": ({"model.reward_input": "sparse", "model.reward_target": "dense", "sac.critic_reward": "dense"}, "meld"),
    "sparse-ablation": ({"model.reward_input": "none", "model.reward_target": "dense", "sac.critic_reward": "dense"},
                        "meld"),
}


def parse_value(text: str):
    import yaml
    return yaml.safe_load(text)


def machine() -> str:
    """The CPU's model name (learning per minute depends on it: runs of different sittings may differ)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_job(args, variant: str, seed: int) -> dict:
    """One meta-training run and its meta-test (in this process)."""
    import torch

    from meld_core.config import load_config
    from meld_core.meta_train import MetaTrainer

    overrides, after = VARIANTS[variant]
    root = Path(args.run_root)
    cfg_over = {**overrides, "train.env": args.env, "train.seed": seed, "train.torch_threads": 1,
                "train.time_budget_s": args.budget_s, **{k: parse_value(v) for k, v in args.set}}
    if after is not None:
        cfg_over["train.init_replay_from"] = str(root / f"{after}-s{seed}")
    torch.set_num_threads(1)
    cfg = load_config(args.profile, cfg_over)
    t0 = time.monotonic()
    trainer = MetaTrainer(cfg, root / f"{variant}-s{seed}", resume=True)
    trainer.run(log=lambda m: print(f"[{variant} s{seed}] {m}", flush=True))
    train_s = time.monotonic() - t0
    final = trainer.evaluate(trials_per_task=args.test_trials, seed_offset=2_000_000)
    p = trainer.progress
    result = {"variant": variant, "seed": seed, "overrides": {k: v for k, v in cfg_over.items()},
              "final": final, "curve": p.evals, "env_steps": p.env_steps, "model_steps": p.model_steps,
              "ac_steps": p.ac_steps, "train_time_s": round(p.train_time_s, 1),
              "wall_s": round(time.monotonic() - t0, 1), "resumed": trainer.resumed,
              "test_wall_s": round(time.monotonic() - t0 - train_s, 1)}
    (root / f"{variant}-s{seed}.json").write_text(json.dumps(result, indent=1))
    return result


def _spread(values) -> dict:
    v = np.asarray(values, float)
    return {"mean": float(v.mean()), "min": float(v.min()), "max": float(v.max()), "std": float(v.std())}


def summarize(results: list[dict], variants: list[str]) -> dict:
    out = {}
    for variant in variants:
        rs = [r for r in results if r["variant"] == variant]
        if not rs:
            continue
        episodes = len(rs[0]["final"]["success_per_episode"])
        out[variant] = {
            "seeds": [r["seed"] for r in rs],
            "success_per_episode": [_spread([r["final"]["success_per_episode"][e] for r in rs]) for e in range(episodes)],
            "return_per_episode": [_spread([r["final"]["return_per_episode"][e] for r in rs]) for e in range(episodes)],
            "env_steps": _spread([r["env_steps"] for r in rs]),
            "model_steps": _spread([r["model_steps"] for r in rs]),
            "train_time_s": _spread([r["train_time_s"] for r in rs]),
        }
    return out


def plot(results: list[dict], variants: list[str], title: str, out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = ["tab:blue", "tab:red", "tab:green", "tab:orange", "tab:purple", "tab:brown"]
    episodes = len(results[0]["final"]["success_per_episode"])
    fig, axes = plt.subplots(1, episodes, figsize=(5.2 * episodes, 3.8), sharey=True, squeeze=False)
    for e, ax in enumerate(axes[0]):
        for variant, color in zip(variants, colors):
            rs = [r for r in results if r["variant"] == variant]
            if not rs:
                continue
            n = min(len(r["curve"]) for r in rs)
            if n == 0:
                continue
            steps = np.mean([[c["env_steps"] for c in r["curve"][:n]] for r in rs], axis=0)
            succ = np.array([[c["success_per_episode"][e] for c in r["curve"][:n]] for r in rs])
            ax.plot(steps, succ.mean(0), color=color, label=f"{variant} ({len(rs)} seeds)")
            ax.fill_between(steps, succ.min(0), succ.max(0), color=color, alpha=0.15, lw=0)
        ax.set_title(f"episode {e + 1} of a trial")
        ax.set_xlabel("environment steps (meta-training)")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("held-out success (mean, min-max)")
    axes[0][0].legend(fontsize=8, loc="upper left")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", help="results/<name>.json and docs/<name>.png")
    p.add_argument("--env", default="point2d-2goal")
    p.add_argument("--profile", default="cpu")
    p.add_argument("--budget-s", type=float, default=600.0, help="training time of each run (train.time_budget_s)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--variants", nargs="+", default=["meld", "ablation"])
    p.add_argument("--variant", action="append", default=[], metavar="NAME=k=v,k=v",
                   help="define a variant by its overrides (prefix 'after:OTHER,' to start from OTHER's run)")
    p.add_argument("--set", action="append", default=[], type=lambda s: tuple(s.split("=", 1)), metavar="k=v",
                   help="an override for every variant")
    p.add_argument("--test-trials", type=int, default=5, help="meta-test trials per held-out task")
    p.add_argument("--parallel", type=int, default=2, help="jobs at a time (one core each)")
    p.add_argument("--run-root", default=None, help="default: runs/learning/<name>")
    p.add_argument("--merge", nargs="+", type=Path, metavar="RESULT_JSON",
                   help="train nothing: merge these result files' runs into results/<name>.json")
    p.add_argument("--keep", nargs="+", metavar="VARIANT", help="with --merge: only these variants' runs")
    p.add_argument("--job", nargs=2, metavar=("VARIANT", "SEED"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.merge:
        publish(*merge(args.name, args.merge, args.keep))
        return
    for spec in args.variant:
        name, _, rest = spec.partition("=")
        after = None
        over = {}
        for item in filter(None, rest.split(",")):
            if item.startswith("after:"):
                after = item[len("after:"):]
            else:
                k, v = item.split("=", 1)
                over[k] = parse_value(v)
        VARIANTS[name] = (over, after)
    args.run_root = args.run_root or f"runs/learning/{args.name}"
    Path(args.run_root).mkdir(parents=True, exist_ok=True)
    if args.job:
        run_job(args, args.job[0], int(args.job[1]))
        return

    t0 = time.monotonic()
    jobs = [(v, s) for v in args.variants for s in args.seeds]
    done: set[tuple[str, int]] = set()
    running: dict[tuple[str, int], subprocess.Popen] = {}
    forwarded = [a for a in sys.argv[1:]]
    while len(done) < len(jobs):
        for job, proc in list(running.items()):
            if proc.poll() is not None:
                if proc.returncode != 0:
                    raise SystemExit(f"job {job} failed ({proc.returncode})")
                done.add(job)
                del running[job]
        ready = [j for j in jobs if j not in done and j not in running
                 and (VARIANTS[j[0]][1] is None or (VARIANTS[j[0]][1], j[1]) in done
                      or (VARIANTS[j[0]][1], j[1]) not in jobs)]
        while ready and len(running) < args.parallel:
            job = ready.pop(0)
            print(f"[learning] starting {job[0]} seed {job[1]}", flush=True)
            running[job] = subprocess.Popen([sys.executable, __file__, *forwarded, "--job", job[0], str(job[1])],
                                            env={**os.environ, "OMP_NUM_THREADS": "1"})
        time.sleep(1.0)
    results = [json.loads((Path(args.run_root) / f"{v}-s{s}.json").read_text()) for v, s in jobs]
    record = {
        "name": args.name, "env": args.env, "profile": args.profile, "budget_s": args.budget_s,
        "test_trials_per_task": args.test_trials, "seeds": args.seeds,
        "variants": {v: {"overrides": VARIANTS[v][0], "stage2_of": VARIANTS[v][1]} for v in args.variants},
        "common_overrides": dict(args.set), "runs": results,
        "cores": os.cpu_count(), "parallel_jobs": args.parallel, "threads_per_job": 1,
        "machine": machine(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "wall_s": round(time.monotonic() - t0, 1),
        "command": "python benchmarks/learning.py " + " ".join(sys.argv[1:]),
    }
    publish(record, args.variants)


def merge(name: str, sources: list[Path], keep: list[str] | None = None) -> tuple[dict, list[str]]:
    """One record from the runs of several result files of the same benchmark (env, profile, budget, test trials).

    For a measurement that does not fit one sitting (a 2-hour run per seed on a 2-core machine): each
    sitting writes its own result file; the merged record keeps every run as measured, lists its sources
    (their commands and dates) and recomputes the per-variant summary. A (variant, seed) found twice is an
    error, as is a disagreement on what was measured. ``keep``: only these variants' runs (default all).
    """
    records = [json.loads(Path(s).read_text()) for s in sources]
    same = ("env", "profile", "budget_s", "test_trials_per_task")
    for key in same:
        values = {json.dumps(r[key]) for r in records}
        if len(values) > 1:
            raise SystemExit(f"cannot merge: the sources differ in {key} ({sorted(values)})")
    kept = [[run for run in r["runs"] if keep is None or run["variant"] in keep] for r in records]
    runs, variants, seen = [], [], set()
    for run in (run for part in kept for run in part):
        job = (run["variant"], run["seed"])
        if job in seen:
            raise SystemExit(f"cannot merge: {job[0]} seed {job[1]} is in more than one source")
        seen.add(job)
        runs.append(run)
        if run["variant"] not in variants:
            variants.append(run["variant"])
    first = records[0]
    record = {
        "name": name, **{k: first[k] for k in same},
        "seeds": sorted({run["seed"] for run in runs}),
        "variants": {v: next(r["variants"][v] for r in records if v in r["variants"]) for v in variants},
        "common_overrides": first.get("common_overrides", {}), "runs": runs,
        "cores": first["cores"], "parallel_jobs": first["parallel_jobs"], "threads_per_job": 1,
        "machine": " + ".join(dict.fromkeys(r["machine"] for r in records)),
        "merged_from": [{"file": str(Path(s).name), "date": r["date"], "machine": r["machine"],
                         "command": r["command"],
                         "jobs": [[run["variant"], run["seed"]] for run in part]}
                        for s, r, part in zip(sources, records, kept)],
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": f"python benchmarks/learning.py {name} --merge " + " ".join(str(s) for s in sources)
                   + (" --keep " + " ".join(keep) if keep else ""),
    }
    return record, variants


def publish(record: dict, variants: list[str]) -> None:
    """Write results/<name>.json (with the per-variant summary) and docs/<name>.png; print the summary."""
    summary = summarize(record["runs"], variants)
    record = {**record, "summary": summary}
    name = record["name"]
    out = ROOT / "benchmarks" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1))
    for variant, s in summary.items():
        eps = " / ".join(f"{100 * x['mean']:.0f}% [{100 * x['min']:.0f}-{100 * x['max']:.0f}]"
                         for x in s["success_per_episode"])
        rets = " / ".join(f"{x['mean']:.2f}" for x in s["return_per_episode"])
        print(f"{variant:16s} held-out success per episode {eps}; return {rets}; "
              f"{s['env_steps']['mean']:.0f} env steps, {s['model_steps']['mean']:.0f} model steps "
              f"({len(s['seeds'])} seeds)")
    plot(record["runs"], variants, f"{record['env']}, {record['profile']} profile, {record['budget_s'] / 60:.0f} "
         f"min of training per run, 1 core each", ROOT / "docs" / f"{name}.png")
    print(f"results: {out.relative_to(ROOT)}, curve: docs/{name}.png", flush=True)


if __name__ == "__main__":
    main()
