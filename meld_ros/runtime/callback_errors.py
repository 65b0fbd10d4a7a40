"""A failing callback costs one message, never the node.

rclpy lets an exception raised in a subscription, timer or service callback
out of the executor's spin: the node stops (composed, with every node of its
process), and a spin thread dies while its process lives on (the learner then
waited a minute for an episode and blamed the graph). Here every callback the
graph's executor runs is contained: the exception is counted per callback,
logged on the node's logger with its traceback the first time and then at
most every ``THROTTLE_S`` with the count, and the executor goes on with the
next message. Service callbacks answer the caller instead (``answering``):
``success = False`` and a message naming the fault, never a hang.

What is not contained: the exceptions that mean the process is stopping
(KeyboardInterrupt, SystemExit, rclpy's ExternalShutdownException, and an
RCLError once the context is shut down), which ``node_runtime.run`` handles.
"""
from __future__ import annotations

import functools
import inspect
import time
import traceback

import rclpy
from rclpy.executors import ExternalShutdownException

THROTTLE_S = 5.0


def is_stopping(exc: BaseException) -> bool:
    """Whether ``exc`` means the process is stopping rather than that a callback failed."""
    if isinstance(exc, (KeyboardInterrupt, SystemExit, ExternalShutdownException)):
        return True
    return type(exc).__name__ == "RCLError" and not rclpy.ok()


class CallbackErrors:
    """Counts and logs the exceptions of contained callbacks, per (node, callback)."""

    def __init__(self, throttle_s: float = THROTTLE_S):
        self.throttle_s = throttle_s
        self.counts: dict[tuple[str, str], int] = {}
        self._logged_at: dict[tuple[str, str], float] = {}

    def run(self, node, what: str, callback, *args) -> None:
        """``callback(*args)``; an exception is reported, not raised (unless the process is stopping)."""
        try:
            callback(*args)
        except BaseException as exc:
            if is_stopping(exc):
                raise
            self.report(node, what, exc)

    def report(self, node, what: str, exc: BaseException) -> None:
        key = (node.get_name() if node is not None else "?", what)
        n = self.counts[key] = self.counts.get(key, 0) + 1
        now = time.monotonic()
        if n > 1 and now - self._logged_at.get(key, -float("inf")) < self.throttle_s:
            return
        self._logged_at[key] = now
        text = f"{what} failed ({type(exc).__name__}: {exc}); the message is dropped and the node goes on"
        if n == 1:
            text += "\n" + "".join(traceback.format_exception(exc)).rstrip()
        else:
            text += f" [{n} failures so far]"
        if node is not None:
            node.get_logger().error(text)
        else:
            print(f"[meld] {text}", flush=True)

    def total(self) -> int:
        return sum(self.counts.values())


def describe(entity) -> str:
    """A callback's name for the log: the topic or service it serves and the function."""
    fn = getattr(entity, "callback", entity)
    name = getattr(fn, "__qualname__", None) or type(fn).__name__
    where = getattr(entity, "topic_name", None) or getattr(entity, "srv_name", None)
    return f"{where} callback {name}" if where else f"callback {name}"


def _failed(node, srv_type, what: str, exc: BaseException):
    node.get_logger().error(f"{what}: request failed ({type(exc).__name__}: {exc})\n"
                            + "".join(traceback.format_exception(exc)).rstrip())
    response = srv_type.Response()
    if hasattr(response, "success"):
        response.success = False
    if hasattr(response, "message"):
        response.message = f"internal error in {node.get_name()}: {type(exc).__name__}: {exc}"
    return response


def answering(node, srv_type, name: str, callback):
    """``callback`` for ``node.create_service(srv_type, name, ...)``, answering a request it fails on
    with success = False and the reason (plain and coroutine callbacks alike)."""
    what = f"service {name}"
    if inspect.iscoroutinefunction(callback):
        @functools.wraps(callback)
        async def guarded_async(request, response):
            try:
                return await callback(request, response)
            except BaseException as exc:
                if is_stopping(exc):
                    raise
                return _failed(node, srv_type, what, exc)
        return guarded_async

    @functools.wraps(callback)
    def guarded(request, response):
        try:
            return callback(request, response)
        except BaseException as exc:
            if is_stopping(exc):
                raise
            return _failed(node, srv_type, what, exc)
    return guarded
