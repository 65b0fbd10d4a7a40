"""What recording costs the graph (issue 20): lockstep control steps per second with and without the recorder.

The ``sim_meta_train`` graph in lockstep (as launched: the control loop composed with the bridge), with this
process in the learner's place recording every episode as the learner does (``graph_speed.lockstep_rate``),
timed alternately without and with the recorder node (``record:=true``'s default topics: observation,
reward, action, belief, task, joint states, diagnostics; ``--cameras`` adds the camera topics), ``--rounds``
times each, on the same weights. The ratio of the medians is the recorder's cost (target: within 10%).

Usage: ./meld shell -c "python benchmarks/recorder_cost.py [--env point2d] [--episodes 40] [--rounds 3]"
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
import rclpy

from meld_ros.graph import NodeSpec
from graph_speed import lockstep_rate, untrained_weights


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--env", default="point2d")
    p.add_argument("--episodes", type=int, default=40)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--cameras", action="store_true", help="also record the camera topics")
    args = p.parse_args()
    os.environ.setdefault("ROS_DOMAIN_ID", str(60 + os.getpid() % 40))
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    with tempfile.TemporaryDirectory() as d:
        _, weights = untrained_weights(args.env, Path(d))
        rates = {"without": [], "with": []}
        rclpy.init()
        try:
            for r in range(args.rounds):
                rates["without"].append(lockstep_rate(args.env, weights, args.episodes, "sim", True))
                recorder = NodeSpec("recorder", "recorder_node", {"directory": str(Path(d) / f"bags{r}"),
                                                                  "cameras": args.cameras})
                rates["with"].append(lockstep_rate(args.env, weights, args.episodes, "sim", True, (recorder,)))
                print(f"round {r}: {rates['without'][-1]:.1f} steps/s without the recorder, "
                      f"{rates['with'][-1]:.1f} with", flush=True)
        finally:
            rclpy.shutdown()
        bags = sum(f.stat().st_size for f in Path(d).rglob("*.mcap"))
    without, with_ = np.median(rates["without"]), np.median(rates["with"])
    print(f"{args.env}, lockstep, {args.episodes} episodes x {args.rounds} rounds: median {without:.1f} steps/s without "
          f"the recorder, {with_:.1f} with (x{with_ / without:.2f}; {bags / 2**20:.1f} MiB of bags"
          f"{', cameras included' if args.cameras else ''})")


if __name__ == "__main__":
    main()
