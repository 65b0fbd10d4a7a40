"""Start, spin and stop a node the same way everywhere.

``run(make_node)`` initialises rclpy, spins the node until SIGINT/SIGTERM or
shutdown, and exits cleanly: the exceptions a torn-down context raises in a
callback (ExternalShutdownException, RCLError) end the spin instead of
printing a traceback, and the node is destroyed before rclpy shuts down.
A bad parameter (ConfigError) is printed as one line and exits with status 2.
"""
from __future__ import annotations

import gc
import sys
import time
from typing import Callable

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.time import Time

from meld_core.config import ConfigError
from meld_ros.executor import LeanExecutor


#: every data topic of the graph: reliable, last 10 (a lost frame would be a lost control step)
RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)


#: state that a late subscriber must still get (the current task, the latest weights)
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)


def stamp_of(ns: int):
    """builtin_interfaces/Time from integer nanoseconds."""
    return Time(nanoseconds=int(ns)).to_msg()


def ns_of(stamp) -> int:
    """Integer nanoseconds of a builtin_interfaces/Time (exact: stamps are compared for equality)."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def wait_for_publishers(node, topics: list[str], timeout_s: float) -> list[str]:
    """Until discovery has found a publisher on every topic (at most ``timeout_s``); the topics still
    without one. A recorder needs this: a lockstep episode runs in a fraction of a second and only
    its current frame is ever re-sent, so a frame sent before discovery is lost to it."""
    end = time.monotonic() + timeout_s
    while True:
        missing = [t for t in topics if node.count_publishers(t) == 0]
        if not missing or time.monotonic() > end:
            return missing
        time.sleep(0.1)


def run(make_node: Callable[[], "rclpy.node.Node"], args=None) -> int:
    rclpy.init(args=args if args is not None else sys.argv)     # rclpy handles SIGINT and SIGTERM itself
    node = None
    try:
        node = make_node()
        gc.freeze()       # what start-up built (torch, models, messages) is never collected: no long GC pauses in the loop
        executor = LeanExecutor()
        executor.add_node(node)
        executor.spin()
    except ConfigError as exc:
        print(f"[{getattr(node, 'get_name', lambda: 'meld')()}] parameter error: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception as exc:  # an RCLError from a context torn down mid-callback ends the node quietly
        if type(exc).__name__ != "RCLError" or rclpy.ok():
            raise
    finally:
        if node is not None:
            try:
                node.destroy_node()
            except Exception:
                pass
        rclpy.try_shutdown()
    return 0
