"""Speed of meld_core on this CPU.

1. One model training step (ELBO forward + backward + Adam) at
   - the paper's sizes, 64x64, 32 trials of 8 steps;
   - the paper's sizes, 64x128 (two cameras), 32 trials of 8 steps;
   - the cpu profile, 64x64, its own batch (8 point-2d trials of 31 frames),
     with every frame decoded (as in the papers) and with the profile's
     ``decode_fraction`` (an unbiased estimate of the image term, so its loss
     is not compared with the full one; its speed-up is over full decoding);
   each in fp32, bf16 autocast, and bf16 autocast + channels_last, with the
   speed-up over fp32 and the loss difference after identical steps (the
   tolerance we accept for a faster setting is 2% relative).
2. One online belief-plus-actor step at batch 1 (posterior update from
   image, reward and previous action, then the actor): median and p99.

Usage: ./meld shell -c "python benchmarks/speed.py [--repeats 10] [--threads 2]"
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

SETTINGS = [("fp32", "fp32", False), ("bf16", "bf16", False), ("bf16+channels_last", "bf16", True)]
TOLERANCE = 0.02
CPU_TRIAL_FRAMES = 31   # a point-2d trial: 2 episodes x 15 steps + the first frame


def batch(B, T, W, A, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(0, 256, (B, T, 64, W, 3), generator=g, dtype=torch.uint8),
            torch.randn(B, T, generator=g), torch.rand(B, T - 1, A, generator=g) * 2 - 1)


def time_model_step(cfg, W, B, T, precision, channels_last, repeats, A=7):
    torch.manual_seed(0)
    model = LatentModel(cfg.model, (64, W), A, precision, channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.model.lr)
    images, rewards, actions = batch(B, T, W, A)
    times, losses = [], []
    for i in range(repeats + 2):
        torch.manual_seed(100 + i)
        t0 = time.perf_counter()
        loss, _, _ = model.elbo_loss(images, rewards, rewards, actions)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= 2:
            times.append(time.perf_counter() - t0)
        losses.append(loss.item())
    return statistics.median(times), losses[-1]


def online_step(cfg, W, A, n):
    torch.manual_seed(0)
    model = LatentModel(cfg.model, (64, W), A)
    agent = MeldAgent(model, SAC(cfg.sac, model.latent_dim, A).actor, "dense")
    img = np.random.default_rng(0).integers(0, 256, (64, W, 3), dtype=np.uint8)
    agent.update(img, 0.0)
    a = agent.act()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        agent.update(img, -0.3, a)
        a = agent.act()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e3, float(np.percentile(times, 99)) * 1e3


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--fp32-only", action="store_true", help="skip the (slow, on this CPU) bf16 settings")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    paper, cpu = load_config("paper"), load_config("cpu")
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
        for label, prec, cl in settings:
            t, loss = time_model_step(cfg, W, B, T, prec, cl, args.repeats)
            if base_t is None:
                base_t, base_loss = t, loss
                fp32_ms[name] = t
            rel = abs(loss - base_loss) / abs(base_loss)
            flag = "" if rel <= TOLERANCE else "  (over tolerance)"
            print(f"{name:50s} {label:20s} {t * 1e3:9.1f} {base_t / t:8.2f}x {rel:15.2e}{flag}")
    frac = cpu.model.decode_fraction
    t, _ = time_model_step(cpu, 64, *cpu_batch, "fp32", False, args.repeats)
    full_t = fp32_ms["cpu profile 64x64, 8 x 31 frames, all decoded"]
    print(f"{f'cpu profile 64x64, 8 x 31 frames, {frac:g} decoded':50s} {'fp32':20s} {t * 1e3:9.1f} "
          f"{full_t / t:8.2f}x {'(estimate)':>15s}")
    for name, cfg, W in [("paper 64x64", paper, 64), ("paper 64x128", paper, 128), ("cpu profile 64x64", cpu, 64)]:
        med, p99 = online_step(cfg, W, 7, 300)
        print(f"online belief+actor step, batch 1, {name:14s}: median {med:6.2f} ms   p99 {p99:6.2f} ms")


if __name__ == "__main__":
    main()
