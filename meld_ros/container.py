"""Several graph nodes composed into one process: ``python -m meld_ros.container MODULE ... --ros-args ...``.

The control loop's hot path (camera fusion -> belief -> policy, with reward
sensing) runs here as separate ROS nodes (names, parameters, topics, services
and logs unchanged) on one single-threaded executor, and their messages to one
another are delivered inside the process (``meld_ros/runtime/intra_process.py``):
this is ROS 2's composition, which rclpy lacks, for the latency it buys
(README, "Graph speed"). Everyone else (bridge, learner, rviz) still sees
every topic over DDS.

MODULE names the ``meld_ros.<module>`` of each node (its ``NODE`` class), in
the order they are built. Parameters: ROS parameter files with one section per
node name (``--params-file``; ``meld launch`` and the launch files write one
from the graph's overrides), as for any process holding several nodes; a
``-p`` override would apply to every node of the process.
"""
from __future__ import annotations

import importlib
import sys

from meld_ros.runtime.node_runtime import run

#: the nodes that may be composed: built as NODE(topics) and run by the executor alone (the learner trains in
#: its own main thread; the reset rig awaits its driver in a callback group of its own)
COMPOSABLE = ("mujoco_bridge_node", "camera_fusion_node", "reward_node", "belief_node", "policy_node")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    cut = argv.index("--ros-args") if "--ros-args" in argv else len(argv)
    modules, ros_args = argv[:cut], argv[cut:]
    unknown = [m for m in modules if m not in COMPOSABLE]
    if not modules or unknown:
        print(f"usage: python -m meld_ros.container MODULE ... [--ros-args ...]; composable modules: "
              f"{', '.join(COMPOSABLE)}" + (f"; unknown: {', '.join(unknown)}" if unknown else ""), file=sys.stderr)
        return 2
    classes = [importlib.import_module(f"meld_ros.{m}").NODE for m in modules]
    return run(*classes, args=[sys.argv[0], *ros_args])


if __name__ == "__main__":
    raise SystemExit(main())
