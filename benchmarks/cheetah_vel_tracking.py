"""Does the belief track a target velocity that changes within the episode? (cheetah-vel, thesis fig. 38)

Trained runs of cheetah-vel with several targets per episode
(``train.env_kwargs: {velocity_changes: 4}``: four targets, three changes at
equal intervals), MELD and the no-reward ablation, are rolled out on the
held-out tasks (the agent's mean action, its belief fed the dense reward as in
training). For every step t it records the target v*_t, the velocity reached
v_t, the dense reward r_t and what the belief expected r_t to be before seeing
it: the reward decoded from the prior's one-step prediction,
E[r_t | z_{t-1}, a_{t-1}] (``LatentModel.predict_step`` on the filtered
trial; it cannot copy r_t, so it is right only if z_{t-1} carries the target).

Tracking error, against the number of steps k since the target last changed
(k = 0: the first reward under the new target, which nothing could foresee):
the belief's |E[r_t | z_{t-1}, a_{t-1}] - r_t| and the velocity's |v_t - v*_t|,
averaged over the changes of all trials; "tracked after" is the first k at
which the belief's error is within 0.2 (the success tolerance, in m/s) and
stays so for the rest of the averaged segment.

Writes benchmarks/results/<name>.json and docs/<name>.png (an example held-out
trial: target, velocities and rewards; the mean tracking error against k).

Usage: ./meld shell -c "python benchmarks/cheetah_vel_tracking.py MELD_RUN ABLATION_RUN"
"""
from __future__ import annotations

import argparse
import json
import platform
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from meld_core.agent import select_reward
from meld_core.checkpoint import load_agent
from meld_core.rollout import run_trial
from meld_core.trial_source import SimTrialSource

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 0.2


def roll_out(run_dir: str, trials_per_task: int) -> dict:
    """Per held-out trial: target, velocity, reward, the prior's expected reward (lists over steps 1..E)."""
    agent, spec, cfg = load_agent(run_dir)
    source = SimTrialSource.from_config(cfg.train)
    env, model = source.env, agent.model
    if len(env.held_out_tasks[0].target_velocities) < 2:
        raise SystemExit(f"{run_dir}: trained with one target per episode; this benchmark needs "
                         f"train.env_kwargs: {{velocity_changes: N}} with N >= 2")
    torch.manual_seed(0)
    trials = []
    for ti, task in enumerate(env.held_out_tasks):
        for j in range(trials_per_task):
            targets, velocities = [], []
            trial = run_trial(env, ti, task, 1, seed=7000 + 100 * ti + j, agent=agent, deterministic=True,
                              on_step=lambda e: (targets.append(e.target_velocity), velocities.append(e.velocity)))
            fed = [select_reward(agent.reward_input, d, s) for d, s in zip(trial.dense, trial.sparse)]
            actions = torch.from_numpy(trial.actions)[None]
            with torch.no_grad():
                # the trial filtered again (the agent keeps its belief to itself), then z_{t-1} -> E[r_t]
                seq = model.posterior(model.features(torch.from_numpy(trial.images)[None],
                                                     torch.tensor(fed, dtype=torch.float32)[None]), actions)
                predicted = model.decode_reward(model.predict_step(seq.z2[0, :-1], actions[0]).latent).mean
            trials.append({"task": ti, "target": targets, "velocity": velocities,
                           "reward": trial.dense[1:].tolist(), "predicted_reward": predicted.tolist()})
    source.close()
    return {"run": run_dir, "episode_length": env.episode_length,
            "changes": len(env.held_out_tasks[0].target_velocities), "trials": trials}


def tracking(rolled: dict) -> dict:
    """Mean belief and velocity errors against steps since the last change, and the step it is tracked by."""
    by_k_belief, by_k_velocity = {}, {}
    for trial in rolled["trials"]:
        target = np.array(trial["target"])
        k = 0
        for t in range(len(target)):
            k = k + 1 if t > 0 and target[t] == target[t - 1] else 0
            if k != t:                                # in a segment after a change (not the trial's first)
                by_k_belief.setdefault(k, []).append(abs(trial["predicted_reward"][t] - trial["reward"][t]))
                by_k_velocity.setdefault(k, []).append(abs(trial["velocity"][t] - target[t]))
    ks = sorted(by_k_belief)
    belief = [float(np.mean(by_k_belief[k])) for k in ks]
    velocity = [float(np.mean(by_k_velocity[k])) for k in ks]
    tracked = next((k for i, k in enumerate(ks) if all(e <= TOLERANCE for e in belief[i:])), None)
    late = [i for i, k in enumerate(ks) if k >= 3]
    return {"steps_since_change": ks, "belief_error": belief, "velocity_error": velocity,
            "tracked_after_steps": tracked,
            "belief_error_from_step_3": float(np.mean([belief[i] for i in late])),
            "velocity_error_from_step_3": float(np.mean([velocity[i] for i in late]))}


def plot(results: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    colours = {"meld": "tab:blue", "ablation": "tab:orange"}
    for name, res in results.items():
        trial = res["rollouts"]["trials"][0]
        steps = np.arange(1, len(trial["target"]) + 1)
        if name == "meld":
            axes[0].step(steps, trial["target"], "k--", where="post", label="target v*")
            axes[1].plot(steps, trial["reward"], "k--", label="reward r_t")
        axes[0].plot(steps, trial["velocity"], color=colours[name], label=f"velocity, {name}")
        axes[1].plot(steps, trial["predicted_reward"], color=colours[name], label=f"E[r_t | z_t-1, a_t-1], {name}")
        tr = res["tracking"]
        axes[2].plot(tr["steps_since_change"], tr["belief_error"], color=colours[name], label=f"belief, {name}")
        axes[2].plot(tr["steps_since_change"], tr["velocity_error"], ":", color=colours[name],
                     label=f"|v - v*|, {name}")
    axes[0].set(title="held-out task, trial 1", xlabel="step", ylabel="m/s")
    axes[1].set(title="reward and the belief's one-step prediction", xlabel="step")
    axes[2].axhline(TOLERANCE, color="grey", lw=0.5)
    axes[2].set(title="mean error after a change", xlabel="steps since the target changed", ylabel="error")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("meld_run")
    p.add_argument("ablation_run")
    p.add_argument("--trials-per-task", type=int, default=2)
    p.add_argument("--name", default="cheetah_vel_tracking")
    args = p.parse_args()
    torch.set_num_threads(1)
    results = {}
    for name, run in (("meld", args.meld_run), ("ablation", args.ablation_run)):
        rolled = roll_out(run, args.trials_per_task)
        results[name] = {"rollouts": rolled, "tracking": tracking(rolled)}
        t = results[name]["tracking"]
        print(f"{name} ({run}): belief error after a change, k = 0..5: "
              f"{' '.join(f'{e:.2f}' for e in t['belief_error'][:6])}; from k = 3 on {t['belief_error_from_step_3']:.2f}; "
              f"tracked (within {TOLERANCE}) after {t['tracked_after_steps']} steps; velocity error from k = 3 on "
              f"{t['velocity_error_from_step_3']:.2f} m/s", flush=True)
    out = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": platform.processor() or platform.machine(),
           "trials_per_task": args.trials_per_task, "tolerance": TOLERANCE, **results}
    (ROOT / "benchmarks" / "results" / f"{args.name}.json").write_text(json.dumps(out, indent=1))
    plot(results, ROOT / "docs" / f"{args.name}.png")
    print(f"wrote benchmarks/results/{args.name}.json and docs/{args.name}.png")


if __name__ == "__main__":
    main()
