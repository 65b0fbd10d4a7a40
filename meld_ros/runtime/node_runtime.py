"""Start, spin and stop nodes the same way everywhere.

``run(make_node, ...)`` initialises rclpy, builds the node (or several nodes
composed into one process, ``meld_ros/container.py``), spins them until
SIGINT/SIGTERM or shutdown, and exits cleanly: the exceptions a torn-down
context raises in a callback (ExternalShutdownException, RCLError) end the
spin instead of printing a traceback, and the nodes are destroyed before
rclpy shuts down. A bad parameter (ConfigError) is printed as one line and
exits with status 2.

Last words: however the spin ends (SIGINT, SIGTERM, an exception), each node's
``on_shutdown()`` (if it has one) runs first, while the context still works,
so that the policy can send its final zero command and wait until subscribers
have it. rclpy's own signal handlers would shut the context down at the
signal, before anyone could publish, so SIGINT and SIGTERM are Python's here
(KeyboardInterrupt), and the executor waits at most ``SIGNAL_POLL_S`` at a
time so that the interrupt is taken promptly.

A stop cannot get lost: the signal also sets a ``StopRequest`` that the spin
loop checks (a KeyboardInterrupt that lands in code which swallows it, a
destructor say, still stops the node); under ``meld launch`` the node also
stops when its runner is gone (``stop_with_runner``: the kernel's one SIGTERM
at the runner's death is not all it relies on); and once a stop is requested
the process has ``STOP_DEADLINE_S`` to finish: past it, faulthandler prints
every thread's stack to stderr and ends the process (a node stuck in a DDS
call holds a ROS domain, and its graph's name, for ever otherwise).

Topics: every node class takes the topics object it publishes and subscribes
through (``node_class(topics)``). ``run`` gives a node in a process of its own
``DdsTopics`` and the nodes composed into one process a shared
``LocalTopics``, which delivers their messages to one another inside the
process (``meld_ros/runtime/intra_process.py``); a node cannot tell which.
"""
from __future__ import annotations

import faulthandler
import gc
import hashlib
import os
import signal
import sys
import time
from typing import Callable

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions
from rclpy.time import Time

from meld_core.config import ConfigError
from meld_core.interruption import StopRequest
from meld_ros.rosfree.stamp_order import ns_of  # noqa: F401  (the nodes take it from here)
from meld_ros.rosfree.weights_transfer import WeightsAssembler, WeightsTransferError, split
from meld_ros.runtime.callback_errors import CallbackErrors, answering
from meld_ros.runtime.executor import LeanExecutor
from meld_ros.runtime.intra_process import DdsTopics, LocalTopics
from meld_ros.runtime.runner_watch import stop_with_runner


#: every data topic of the graph: reliable, last 10 (a lost frame would be a lost control step)
RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)


#: the topics a recorder wants complete: what the learner records (observation, reward, action) and
#: what a user records or watches (the belief, its reconstruction). A recorder's reader may fall
#: behind the lockstep graph, which steps on the policy's answer and does not wait for it, by a whole
#: episode; with the 10 of ``RELIABLE`` the writer drops what it has not acknowledged and the episode
#: is never complete. 500 covers the longest episode (cheetah-vel, 50 steps) and its re-sent frames
#: many times over; unread samples cost memory only (a 64x128 image is 24 kB). Readers that want
#: every message use it too.
RECORDED = QoSProfile(depth=500, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)


#: state that a late subscriber must still get (the current task)
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)

#: the latest weights, in chunks (``meld_ros/ModelUpdate``): latched deep enough that a late subscriber gets
#: every chunk of the newest version (32 x 4 MiB: the paper-sized model is a fraction of that)
WEIGHTS = QoSProfile(depth=32, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)


def stamp_of(ns: int):
    """builtin_interfaces/Time from integer nanoseconds."""
    return Time(nanoseconds=int(ns)).to_msg()


def wait_for_publishers(node, topics: list[str], timeout_s: float, pause=None) -> list[str]:
    """Until discovery has found a publisher on every topic (at most ``timeout_s``); the topics still
    without one. A recorder needs this: a lockstep episode runs in a fraction of a second and only
    its current frame is ever re-sent, so a frame sent before discovery is lost to it. ``pause(s)``
    waits between looks (default: sleep); when it returns True, the waiting ends there."""
    end = time.monotonic() + timeout_s
    while True:
        missing = [t for t in topics if node.count_publishers(t) == 0]
        if not missing or time.monotonic() > end:
            return missing
        if pause is None:
            time.sleep(0.1)
        elif pause(0.1):
            return missing


def serve(node, srv_type, name: str, callback):
    """``node.create_service`` whose callback answers a request it fails on (success = False, the
    reason) instead of leaving the caller without an answer (``callback_errors.answering``)."""
    return node.create_service(srv_type, name, answering(node, srv_type, name, callback))


def for_this_run(node, run_id: str, msg) -> bool:
    """Whether a ``meld_ros/ModelUpdate`` belongs to the run of ``node`` (its ``run_id`` parameter; ""
    takes any run's). Two graphs on one ROS domain otherwise load each other's weights. A foreign run
    is logged once per run id."""
    if not run_id or msg.run_id == run_id:
        return True
    seen = node.__dict__.setdefault("_foreign_runs", set())
    if msg.run_id not in seen:
        seen.add(msg.run_id)
        node.get_logger().warning(f"ignoring weights of another run ({msg.run_id or 'unnamed'!s}, version "
                                  f"{msg.version}); this node belongs to run {run_id}")
    return False


def model_update_messages(msg_type, run_id: str, version: int, data: bytes, stamp=None, sha256: str = "") -> list:
    """The ``meld_ros/ModelUpdate`` messages that carry a weights file's bytes, in order; ``sha256``: the
    bytes' checksum when the caller has it already (``save_weights`` returns it), else computed here."""
    sha = sha256 or hashlib.sha256(data).hexdigest()
    parts = split(data, msg_type.CHUNK_BYTES)
    out = []
    for k, part in enumerate(parts):
        msg = msg_type(run_id=run_id, version=int(version), sha256=sha, size=len(data), chunk=k,
                       chunks=len(parts), data=part)
        if stamp is not None:
            msg.header.stamp = stamp
        out.append(msg)
    return out


class WeightsReceiver:
    """What the belief and policy nodes do with ``meld_ros/ModelUpdate`` chunks: those of another run are
    ignored (``for_this_run``), those of this run put together and checked
    (``rosfree.weights_transfer.WeightsAssembler``); ``receive`` returns the weights once a version is
    complete, and logs, rather than raises, what cannot be used."""

    def __init__(self, node, run_id: str):
        self.node, self.run_id = node, run_id
        self.assembler = WeightsAssembler()

    def receive(self, msg):
        from meld_core.checkpoint import CheckpointError
        from meld_core.weights import weights_from_bytes

        if not for_this_run(self.node, self.run_id, msg):
            return None
        try:
            data = self.assembler.add(msg.run_id, msg.version, msg.sha256, msg.size, msg.chunk, msg.chunks,
                                      bytes(msg.data))
            return None if data is None else weights_from_bytes(data, f"model update {msg.version}")
        except (WeightsTransferError, CheckpointError) as exc:
            self.node.get_logger().error(f"model update {msg.version} refused: {exc}")
            return None


def entry_point(node_class: Callable[..., "rclpy.node.Node"]) -> Callable[..., int]:
    """A node module's ``main(args=None)``: the node in a process of its own."""
    def main(args=None) -> int:
        return run(node_class, args=args)
    return main


#: which executor spins the nodes: ``lean`` (meld's LeanExecutor, the default), or rclpy's stock ``single``
#: (SingleThreadedExecutor) or ``events`` (rclpy.experimental.EventsExecutor), for measuring them against it
#: (benchmarks/graph_speed.py --executors); the stock ones let an exception in a callback end the node
EXECUTOR_ENV = "MELD_EXECUTOR"


def executor_kind() -> str:
    kind = os.environ.get(EXECUTOR_ENV, "lean")
    if kind not in ("lean", "single", "events"):
        raise ConfigError(f"{EXECUTOR_ENV}={kind!r}: use lean, single or events")
    return kind


def make_executor(local: LocalTopics | None, errors: CallbackErrors):
    kind = executor_kind()
    if kind == "single":
        return SingleThreadedExecutor()
    if kind == "events":
        from rclpy.experimental import EventsExecutor
        return EventsExecutor()
    return LeanExecutor(after_callback=local.drain if local is not None else None, errors=errors)


#: the longest the executor waits before a pending SIGINT/SIGTERM is taken
SIGNAL_POLL_S = 0.2

#: how long a node started by ``run`` may take to stop once asked (last words, destroying its nodes, rclpy's
#: shutdown); past it the process ends with every thread's stack on stderr (``faulthandler``)
STOP_DEADLINE_S = 10.0


def _end_if_stuck() -> None:
    """From now on the process has ``STOP_DEADLINE_S`` to exit; faulthandler's own thread (it needs no GIL)
    dumps every stack and ends it otherwise."""
    faulthandler.dump_traceback_later(STOP_DEADLINE_S, exit=True)


def _last_words(nodes) -> None:
    """Each node's ``on_shutdown()``, while the context still works; a failing one does not stop the rest."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)                      # a second Ctrl-C does not cut them short
    for node in nodes:
        hook = getattr(node, "on_shutdown", None)
        if hook is None or not rclpy.ok():
            continue
        try:
            hook()
        except Exception as exc:
            print(f"[{node.get_name()}] on_shutdown failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)


def run(*node_classes: Callable[..., "rclpy.node.Node"], args=None) -> int:
    """Build each node as ``node_class(topics)`` and spin them; more than one are composed into this
    process: they share a ``LocalTopics``, one alone gets ``DdsTopics``."""
    rclpy.init(args=args if args is not None else sys.argv, signal_handler_options=SignalHandlerOptions.NO)
    stop = StopRequest()

    def on_signal(signum, frame):
        stop.request(f"{signal.Signals(signum).name} received")
        _end_if_stuck()
        raise KeyboardInterrupt                                 # out of a long callback at once
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    stop_with_runner(stop, then=_end_if_stuck)
    nodes = []
    errors = CallbackErrors()
    try:
        local = LocalTopics(errors, wake_with_guard=executor_kind() != "lean") if len(node_classes) > 1 else None
        topics = local if local is not None else DdsTopics()
        for node_class in node_classes:
            nodes.append(node_class(topics))
        topics.finalize()
        gc.freeze()       # what start-up built (torch, models, messages) is never collected: no long GC pauses in the loop
        executor = make_executor(local, errors)
        for node in nodes:
            executor.add_node(node)
        while rclpy.ok() and not stop.requested:
            executor.spin_once(timeout_sec=SIGNAL_POLL_S)
    except ConfigError as exc:
        print(f"[meld] parameter error: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception as exc:  # an RCLError from a context torn down mid-callback ends the node quietly
        if type(exc).__name__ != "RCLError" or rclpy.ok():
            raise
    finally:
        _last_words(nodes)
        for node in nodes:
            try:
                node.destroy_node()
            except Exception:
                pass
        rclpy.try_shutdown()
    return 0
