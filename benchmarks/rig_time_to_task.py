"""The reset rig's time to reach a new task (issue 19), on the emulated Dynamixel bus at the rig's baud rate.

The rig's two X-series motors are emulated behind a pseudo-terminal (tests/support/dynamixel_emulator.py,
Protocol 2.0 through the real dynamixel-sdk) that takes a real bus's time: every packet's bytes at the
baud rate and the motors' return delay. The rig driver (meld_ros/hardware/rig_motors.py, the geometry
and profile velocity of params/graph.yaml's reset_rig section) homes the rail against its end stop, then
moves between ``--tasks`` consecutive tasks of widowx-cable's training set (rotation within 16 degrees,
rail within 2 cm), each timed from the goals sent to both motors within tolerance. Run at the rig's
``dxl_baudrate`` (57600 by default) and at 1 Mbps in the same run: their difference is the bus's share.

Usage: ./meld shell -c "python benchmarks/rig_time_to_task.py [--tasks 20]"
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.dynamixel_emulator import DynamixelBus, EmulatedMotor  # noqa: E402

from meld_core.config import build_dataclass  # noqa: E402
from meld_ros.hardware.rig_motors import RigMotors  # noqa: E402
from meld_ros.reset_rig_node import rig_geometry  # noqa: E402
from meld_ros.runtime.node_params import ResetRigParams, defaults  # noqa: E402
from meld_sim_bridge.registry import make_env  # noqa: E402


def run(baudrate: int, tasks, params: ResetRigParams) -> tuple[float, list[float]]:
    motors = [EmulatedMotor(params.rotary_id, position=0.0), EmulatedMotor(params.rail_id, position=600.0, min_stop=0.0)]
    with DynamixelBus(motors, baudrate=baudrate) as bus:
        rig = RigMotors(bus.port, baudrate, rig_geometry(params))
        rig.open()
        t0 = time.monotonic()
        rig.home()
        homing = time.monotonic() - t0
        times = [rig.move_to(t.rotation_deg, params.rail_center_mm + 1000.0 * t.translation) for t in tasks]
        rig.close()
    return homing, times


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tasks", type=int, default=20)
    args = p.parse_args()
    params = build_dataclass(ResetRigParams, defaults("reset_rig"), "reset_rig")
    env = make_env("widowx-cable")
    tasks = list(env.train_tasks)[: args.tasks]
    env.close()
    turns = [abs(a.rotation_deg - b.rotation_deg) for a, b in zip(tasks, tasks[1:])]
    slides = [1000.0 * abs(a.translation - b.translation) for a, b in zip(tasks, tasks[1:])]
    print(f"{len(tasks)} tasks of widowx-cable, consecutive ones {np.mean(turns):.1f} deg and {np.mean(slides):.1f} mm "
          f"apart on average; "
          f"profile velocity {rig_geometry(params).profile_velocity} x 0.229 rpm, gear {params.gear_ratio:g}, "
          f"{params.mm_per_turn:g} mm/turn", flush=True)
    results = {}
    for baud in (params.dxl_baudrate, 1_000_000):
        homing, times = run(baud, tasks, params)
        results[baud] = times
        print(f"{baud:>8} baud: homing {homing:.2f} s; time to task median {np.median(times):.2f} s, "
              f"p99 {np.percentile(times, 99):.2f} s, max {max(times):.2f} s (n={len(times)})", flush=True)
    slow, fast = (np.median(results[b]) for b in (params.dxl_baudrate, 1_000_000))
    print(f"the bus at {params.dxl_baudrate} baud adds {1e3 * (slow - fast):.0f} ms per task (median), "
          f"x{slow / fast:.2f} the time at 1 Mbps")


if __name__ == "__main__":
    main()
