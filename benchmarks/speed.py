"""Speed of meld_core on this CPU.

1. One model training step (ELBO forward + backward + Adam) at
   - the paper's sizes, 64x64, 32 trials of 8 steps;
   - the paper's sizes, 64x128 (two cameras), 32 trials of 8 steps;
   - the cpu profile, 64x64, its own batch (8 point-2d trials of 31 frames),
     with every frame decoded (as in the papers) and with the profile's
     ``decode_fraction`` (an unbiased estimate of the image term, so its loss
     is not compared with the full one; its speed-up is over full decoding);
   in fp32 and under bf16 autocast (the whole step, applied here: the product
   runs fp32, since this CPU has no bf16 units), with the speed-up over fp32
   and the loss difference after identical steps (the tolerance we accept for
   a faster setting is 2% relative).
2. One online belief-plus-actor step at batch 1 (posterior update from
   image, reward and previous action, then the actor) at one thread, as in
   the nodes: median and p99, in eager torch and in ONNX Runtime
   (``MeldAgent.use_onnxruntime``, what the belief and policy nodes run) in
   alternation, back to back and with ``--gap-ms`` of idle time before every
   step, as between camera frames (the caches are then cold on this shared
   machine, and that is the case the node graph sees). ``--online-only`` skips
   part 1.

Usage: ./meld shell -c "python benchmarks/speed.py [--repeats 10] [--threads 2] [--online-only]"
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from meld_core.agent import MeldAgent
from meld_core.config import load_config
from meld_core.latent_model import LatentModel
from meld_core.sac import SAC

SETTINGS = [("fp32", False), ("bf16 autocast", True)]
TOLERANCE = 0.02
CPU_TRIAL_FRAMES = 31   # a point-2d trial: 2 episodes x 15 steps + the first frame


def batch(B, T, W, A, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(0, 256, (B, T, 64, W, 3), generator=g, dtype=torch.uint8),
            torch.randn(B, T, generator=g), torch.rand(B, T - 1, A, generator=g) * 2 - 1)


def time_model_step(cfg, W, B, T, bf16, repeats, A=7):
    torch.manual_seed(0)
    model = LatentModel(cfg.model, (64, W), A)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.model.lr)
    images, rewards, actions = batch(B, T, W, A)
    times, losses = [], []
    for i in range(repeats + 2):
        torch.manual_seed(100 + i)
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss, _, _ = model.elbo_loss(images, rewards, rewards, actions)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= 2:
            times.append(time.perf_counter() - t0)
        losses.append(loss.item())
    return statistics.median(times), losses[-1]


def online_steps(cfg, W, A, n, gap_s=0.0):
    """(eager, ONNX Runtime) step times in ms, each an (n, 2) array of (update, act), taken in alternation so
    that both see the same machine: step by step with a gap, in blocks of 50 steps without (so that each runs
    back to back on warm caches)."""
    torch.manual_seed(0)
    model = LatentModel(cfg.model, (64, W), A).eval()
    actor = SAC(cfg.sac, model.latent_dim, A).actor.eval()
    agents = [MeldAgent(model, actor, "dense"), MeldAgent(model, actor, "dense").use_onnxruntime()]
    img = np.random.default_rng(0).integers(0, 256, (64, W, 3), dtype=np.uint8)
    actions = []
    for agent in agents:
        agent.update(img, 0.0)
        actions.append(agent.act())
    block = 1 if gap_s else 50
    times = [[], []]
    for _ in range(0, n, block):
        for k, agent in enumerate(agents):
            for _ in range(block):
                if gap_s:
                    time.sleep(gap_s)
                t0 = time.perf_counter()
                agent.update(img, -0.3, actions[k])
                t1 = time.perf_counter()
                actions[k] = agent.act()
                times[k].append((t1 - t0, time.perf_counter() - t1))
    return [np.asarray(t) * 1e3 for t in times]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--fp32-only", action="store_true", help="skip the (slow, on this CPU) bf16 settings")
    p.add_argument("--online-only", action="store_true", help="only the online batch-1 step (part 2)")
    p.add_argument("--gap-ms", type=float, default=50.0, help="idle time before each online step (0: none)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    paper, cpu = load_config("paper"), load_config("cpu")
    if not args.online_only:
        model_steps(args, paper, cpu)
    torch.set_num_threads(1)           # as in the belief and policy nodes (params/graph.yaml)
    print("online belief+actor step at batch 1, one thread (as the nodes), 300 steps; median / p99 in ms")
    print("(update + act; then the medians of the update and of the act alone)")
    print(f"{'model':18s} {'':20s} {'eager torch':>17s} {'onnxruntime':>17s} {'median ratio':>13s}   "
          f"{'update: eager / onnxruntime':>28s}   {'act: eager / onnxruntime':>25s}")
    for name, cfg, W in [("paper 64x64", paper, 64), ("paper 64x128", paper, 128), ("cpu profile 64x64", cpu, 64),
                         ("cpu profile 64x128", cpu, 128)]:
        for gap in sorted({0.0, args.gap_ms}):
            parts = online_steps(cfg, W, 7, 300, gap * 1e-3)
            eager, fast = (p.sum(1) for p in parts)
            (eu, ea), (fu, fa) = (np.median(p, 0) for p in parts)
            label = "back to back" if gap == 0 else f"after {gap:g} ms idle"
            print(f"{name:18s} {label:20s} {np.median(eager):6.2f} / {np.percentile(eager, 99):6.2f}   "
                  f"{np.median(fast):6.2f} / {np.percentile(fast, 99):6.2f}   "
                  f"{np.median(eager) / np.median(fast):6.2f}x   {eu:12.2f} / {fu:6.2f}         {ea:10.2f} / {fa:6.2f}")


def model_steps(args, paper, cpu):
    cpu_full = load_config("cpu", {"model.decode_fraction": 1.0})
    cpu_batch = (cpu.train.batch_trials, CPU_TRIAL_FRAMES)
    settings = SETTINGS[:1] if args.fp32_only else SETTINGS
    print(f"torch {torch.__version__}, {args.threads} threads; model step = ELBO forward + backward + Adam step")
    cases = [("paper 64x64, 32 trials x 8 steps", paper, 64, 32, 8),
             ("paper 64x128, 32 trials x 8 steps", paper, 128, 32, 8),
             ("cpu profile 64x64, 8 x 31 frames, all decoded", cpu_full, 64, *cpu_batch)]
    fp32_ms = {}
    print(f"{'case':50s} {'setting':20s} {'ms/step':>9s} {'speed-up':>9s} {'loss rel. diff':>15s}")
    for name, cfg, W, B, T in cases:
        base_t = base_loss = None
        for label, bf16 in settings:
            t, loss = time_model_step(cfg, W, B, T, bf16, args.repeats)
            if base_t is None:
                base_t, base_loss = t, loss
                fp32_ms[name] = t
            rel = abs(loss - base_loss) / abs(base_loss)
            flag = "" if rel <= TOLERANCE else "  (over tolerance)"
            print(f"{name:50s} {label:20s} {t * 1e3:9.1f} {base_t / t:8.2f}x {rel:15.2e}{flag}")
    frac = cpu.model.decode_fraction
    t, _ = time_model_step(cpu, 64, *cpu_batch, False, args.repeats)
    full_t = fp32_ms["cpu profile 64x64, 8 x 31 frames, all decoded"]
    print(f"{f'cpu profile 64x64, 8 x 31 frames, {frac:g} decoded':50s} {'fp32':20s} {t * 1e3:9.1f} "
          f"{full_t / t:8.2f}x {'(estimate)':>15s}")


if __name__ == "__main__":
    main()
