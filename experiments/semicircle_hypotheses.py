"""Issue 17's hypotheses on the semicircle, each as a variant measured next to the faithful ``cpu`` profile.

Each hypothesis is a set of parameter overrides (options of meld, off in the
``paper`` profile). ``python experiments/semicircle_hypotheses.py H ...`` runs
``benchmarks/learning.py`` for the hypotheses named, side by side with the
``cpu`` profile as it is (variant ``meld``) and optionally the no-reward
ablation, 3 seeds, one core and one thread per run, on one shared run root: the
``meld`` runs are made once and re-evaluated (same numbers) by every later
invocation, so each JSON holds its baseline from the same measurement.

Hypotheses (issue 17; docs/research_log.md has what each showed):

- ``h1-taskdec``: the trial-wide reward decoder (every reward of the trial decoded from the belief at
  every step: the goal is asked for directly, not only through the KL term);
- ``h2-gru``: z2 as a deterministic recurrent path (PlaNet's RSSM), the belief as the policy's input;
- ``h3-random-trials``: 300 random pre-training trials (the replay keeps them) instead of 16;
- ``h4-belief``: the actor-critic on the belief (mean and std) instead of a posterior sample;
- ``h5-32px``: 32x32 images (half the model step's cost: more model steps in the same time).

Runs that did not share a run root (a measurement over several sittings) are
put side by side with ``benchmarks/learning.py NAME --merge A.json B.json``.

Usage: ./meld shell -c "python experiments/semicircle_hypotheses.py h5-32px --seeds 0 1 2"
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

HYPOTHESES: dict[str, str] = {
    "h1-taskdec": "model.task_decoder_weight=10,model.task_decoder_std=0.1",
    "h2-gru": "model.z2_transition=deterministic,sac.policy_input=belief",
    "h3-random-trials": "train.pretrain_trials=300",
    "h4-belief": "sac.policy_input=belief",
    "h5-32px": "train.env_kwargs={image_size: 32}",
}


def learning_command(hypotheses: list[str], seeds: list[int], budget_s: float, run_root: str, name: str,
                     ablation: bool, parallel: int, meld: bool = True) -> list[str]:
    """The benchmarks/learning.py command line that measures ``hypotheses`` (next to ``meld`` unless not ``meld``)."""
    unknown = [h for h in hypotheses if h not in HYPOTHESES]
    if unknown:
        raise SystemExit(f"unknown hypotheses {unknown}; known: {sorted(HYPOTHESES)}")
    variants = [*(["meld"] if meld else []), *(["ablation"] if ablation else []), *hypotheses]
    cmd = [sys.executable, str(ROOT / "benchmarks" / "learning.py"), name, "--env", "point2d",
           "--budget-s", str(budget_s), "--seeds", *map(str, seeds), "--test-trials", "5",
           "--parallel", str(parallel), "--run-root", run_root, "--variants", *variants]
    for h in hypotheses:
        cmd += ["--variant", f"{h}={HYPOTHESES[h]}"]
    return cmd


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("hypotheses", nargs="*", help=f"any of {sorted(HYPOTHESES)}")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--budget-s", type=float, default=1800.0, help="training time of each run (30 minutes)")
    p.add_argument("--run-root", default="runs/learning/semicircle_30min")
    p.add_argument("--name", default=None, help="default: semicircle_<hypotheses>")
    p.add_argument("--ablation", action="store_true", help="also the no-reward ablation")
    p.add_argument("--parallel", type=int, default=2)
    p.add_argument("--no-meld", action="store_true",
                   help="without the meld runs (measured already elsewhere: merge them in with learning.py --merge)")
    args = p.parse_args()
    name = args.name or "semicircle_" + ("_".join(h.split("-")[0] for h in args.hypotheses) or "faithful")
    cmd = learning_command(args.hypotheses, args.seeds, args.budget_s, args.run_root, name, args.ablation,
                           args.parallel, meld=not args.no_meld)
    print(" ".join(cmd), flush=True)
    raise SystemExit(subprocess.call(cmd, cwd=ROOT))


if __name__ == "__main__":
    main()
