"""``./meld demo``: meld meta-learning on this machine, shown end to end through the node graph.

1. meta-train (``meld launch sim_meta_train``) on point-2d with two goals, the
   ``cpu`` profile, 10 minutes of training: the task where inferring the task
   from rewards shows within minutes on 2 CPU cores (the semicircle needs far
   longer: README, "Learning");
2. meta-test the checkpoint on the held-out tasks (``sim_meta_test``, 5 trials
   per task), the belief inferring the task from the rewards it sees;
3. meta-test the same policy with every reward hidden from its belief
   (``reward_input:=none``): a task-blind run on the same tasks and trials,
   which is what the policy is worth without inferring the task;

then prints held-out success and return per episode of a trial, side by side.
Extra ``key:=value`` arguments go to the training graph (later ones win:
``./meld demo profile:=tiny`` for a smoke run); ``MELD_DEMO_RUN_DIR`` (default
``runs/demo``) is where the run lives, resumed if it is there. Ctrl-C stops at
once (exit status 130), the run saved where it stopped.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from meld_ros.graph import GraphError
from meld_ros.launcher import parse_arguments

TRAIN = {"env": "point2d-2goal", "profile": "cpu", "overrides": "[train.time_budget_s=600]"}
TEST_TRIALS = 5


_current: list[subprocess.Popen] = []


def _forward(signum, frame) -> None:
    """Ctrl-C and SIGTERM go to the graph being run (a terminal sends Ctrl-C to it as well: it takes
    the signal once); its exit status (130) then ends the demo."""
    for proc in _current:
        if proc.poll() is None:
            proc.send_signal(signum)


def _launch(graph: str, args: dict[str, str]) -> int:
    cmd = [sys.executable, "-m", "meld_ros.launcher", graph, *(f"{k}:={v}" for k, v in args.items())]
    print(f"[meld demo] {' '.join(cmd[2:])}", flush=True)
    proc = subprocess.Popen(cmd)
    _current[:] = [proc]
    return proc.wait()


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        train = {**TRAIN, **parse_arguments(argv)}
    except GraphError as exc:
        print(f"meld demo: {exc}", file=sys.stderr)
        return 2
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _forward)
    run_dir = os.environ.get("MELD_DEMO_RUN_DIR", "runs/demo")
    code = _launch("sim_meta_train", {**train, "run_dir": run_dir})
    if code:
        return code
    stamp = time.strftime("%Y%m%d-%H%M%S")
    results = {}
    for label, extra in (("MELD", {}), ("task-blind", {"reward_input": "none"})):
        out = Path(f"{run_dir}_meta_test") / f"{stamp}-{label}"
        code = _launch("sim_meta_test", {"env": train["env"], "checkpoint": run_dir, "trials": str(TEST_TRIALS),
                                         "results_dir": str(out), **extra})
        if code:
            return code
        results[label] = json.loads((out / "graph_meta_test.json").read_text())
    print(report(train["env"], results), flush=True)
    return 0


def report(env: str, results: dict[str, dict]) -> str:
    """The side-by-side table of held-out success and return per episode."""
    meld, blind = results["MELD"], results["task-blind"]
    lines = [f"\nmeld demo: {env}, held-out tasks, {meld['trials']} trials "
             f"(the same tasks and trials for both rows)",
             f"  {'':50s}" + "".join(f"  episode {e + 1:<12d}" for e in range(len(meld["success_per_episode"])))]
    for name, r in (("MELD: the belief infers the task from rewards", meld),
                    ("task-blind: the same policy, rewards hidden", blind)):
        cells = "".join(f"  {100 * s:5.1f}% ({ret:6.2f})  " for s, ret in zip(r["success_per_episode"],
                                                                            r["return_per_episode"]))
        lines.append(f"  {name:50s}{cells}")
    lines.append("  (success in %, mean dense return in brackets)")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
