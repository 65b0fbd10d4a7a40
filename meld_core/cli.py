"""The ``meld`` command line (no ROS needed).

    meld train --env point2d --profile cpu --run-dir runs/x [--set train.iterations=50 ...] [--from-bags DIR]
    meld meta-test --run-dir runs/x [--trials-per-task 3]

(``./meld demo`` is the node graph's demo, ``meld_ros/demo.py``.)

Training resumes from ``--run-dir`` when it holds a checkpoint (``--fresh``
refuses to touch an existing run instead). Progress (phase, units done and to
do, time left, the latest held-out success) is one line on stderr, updated in
place on a terminal. Ctrl-C stops at the next unit of work and saves a
checkpoint from which the run continues exactly (exit status 130); a second
Ctrl-C stops at once, leaving the last checkpoint as it was.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from meld_core.checkpoint import CHECKPOINT_FILE, CheckpointError
from meld_core.config import ConfigError, load_config
from meld_core.interruption import Interrupted, StopRequest, stop_on_signals
from meld_core.progress_report import ProgressReporter


def _reporter(args):
    return ProgressReporter(sys.stderr, mode="log" if args.no_progress else None)


def _train(args, bag_trials=None) -> dict:
    from meld_core.meta_train import MetaTrainer
    from meld_core.task_spec import simulated_task_spec

    overrides = list(args.set or [])
    if args.env:
        overrides.append(f"train.env={args.env}")
    cfg = load_config(args.profile, overrides)
    run_dir = Path(args.run_dir)
    if args.fresh and (run_dir / CHECKPOINT_FILE).exists():
        raise CheckpointError(f"{run_dir} already holds a run; choose another --run-dir or drop --fresh to resume it")
    stop, report = StopRequest(), _reporter(args)
    stop_on_signals(stop)
    initial = None
    if args.from_bags and not (run_dir / CHECKPOINT_FILE).exists():
        t = cfg.train
        initial = bag_trials(args.from_bags, simulated_task_spec(t.env, t.env_kwargs, t.episodes_per_trial))
        print(f"{len(initial)} training trial(s) from the bags in {', '.join(args.from_bags)} start the replay")
    trainer = MetaTrainer(cfg, run_dir, resume=True, stop=stop, on_progress=None if args.no_progress else report,
                          initial_trials=initial)
    if trainer.resumed:
        print(f"resuming {run_dir} at iteration {trainer.progress.iteration} ({trainer.progress.env_steps} env steps)")
    try:
        result = trainer.run(log=report.line)
    finally:
        report.close()
    _print_result(f"meta-train {cfg.train.env} ({cfg.profile}) held-out", result)
    return result


def _meta_test(args) -> dict:
    from meld_core.checkpoint import load_agent
    from meld_core.evaluation import meta_test

    stop, report = StopRequest(), _reporter(args)
    stop_on_signals(stop)
    agent, spec, cfg = load_agent(args.run_dir)
    try:
        result = meta_test(agent, spec, cfg, args.trials_per_task, args.seed_offset, stop=stop,
                           on_progress=None if args.no_progress else report)
    finally:
        report.close()
    _print_result(f"meta-test {spec.env} on {spec.n_held_out_tasks} held-out tasks", result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return result


def _print_result(title: str, result: dict) -> None:
    print(f"{title}: {result['trials']} trials")
    for e, (s, r) in enumerate(zip(result["success_per_episode"], result["return_per_episode"])):
        print(f"  episode {e + 1}: success {s * 100:5.1f}%   mean dense return {r:8.2f}")


def main(argv=None, bag_trials=None) -> int:
    """``bag_trials(dirs, spec) -> [Trial]``: how ``--from-bags`` reads bags (given by meld_ros, which reads
    them; this module stays free of ROS)."""
    p = argparse.ArgumentParser(prog="meld", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    t = sub.add_parser("train", help="meta-train (Algorithm 1) with periodic held-out evaluation")
    t.add_argument("--env", help="environment (overrides train.env)")
    t.add_argument("--profile", default="cpu", help="parameter profile in params/ (default: cpu)")
    t.add_argument("--run-dir", required=True, help="where checkpoints, TensorBoard logs and evals go")
    t.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override a parameter")
    t.add_argument("--fresh", action="store_true", help="fail instead of resuming an existing run")
    t.add_argument("--no-progress", action="store_true", help="no progress line")
    t.add_argument("--from-bags", action="append", metavar="DIR", help="a new run's replay starts with the training "
                   "trials recorded in these bags (record:=true); read by the ROS side: ./meld train --from-bags")

    m = sub.add_parser("meta-test", help="meta-test a trained run on the held-out tasks (Algorithm 2)")
    m.add_argument("--run-dir", required=True)
    m.add_argument("--trials-per-task", type=int, default=None)
    m.add_argument("--seed-offset", type=int, default=2_000_000, help="seeds of the test trials")
    m.add_argument("--json", help="also write the result to this file")
    m.add_argument("--no-progress", action="store_true", help="no progress line")

    args = p.parse_args(argv)
    try:
        if args.cmd == "train":
            if args.from_bags and bag_trials is None:
                raise ConfigError("--from-bags: bags are read by the ROS side; run it as ./meld train --from-bags ...")
            _train(args, bag_trials)
        else:
            _meta_test(args)
    except (ConfigError, CheckpointError, ValueError) as exc:
        print(f"meld: error: {exc}", file=sys.stderr)
        return 2
    except Interrupted:
        print("meld: interrupted; the run was saved where it stopped and continues from there when run again",
              file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("meld: interrupted at once; the last checkpoint in the run directory is intact", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
