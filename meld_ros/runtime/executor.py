"""A single-threaded executor with a short path for the graph's hot callbacks.

Every control step moves a handful of messages through each node (camera
frames, observation, reward, belief, action). rclpy's ``SingleThreadedExecutor``
costs ~0.4 ms of CPU per message on this CPU over a bare wait-set loop: each
callback becomes a ``Task`` around a coroutine, and the guard condition it
triggers on the way in and out makes the executor rebuild and re-wait its
whole wait set twice more. On two cores shared by seven processes every
message counts (a two-process echo: 0.9 ms of CPU per message with it, 0.7
with this one, 0.5 with a bare loop).

``LeanExecutor`` waits on the same entities, but runs a ready subscription or
timer whose callback is a plain function directly (take, call), exactly once per
message, in arrival order per entity as the base executor does. Everything else
(services, clients, guard conditions, waitables such as QoS events, coroutine
callbacks, tasks in progress) is handed to the base executor's machinery
unchanged, so futures, ``call_async`` and async service callbacks behave as
documented by rclpy.

``after_callback`` (optional) runs after every callback the executor runs: a
container of composed nodes delivers its intra-process messages there
(``meld_ros/runtime/intra_process.py``).

It reaches into rclpy's private members (the base executor's ``_tasks``,
``_tasks_lock``, ``_guard``, ``_sigint_gc``, ``_context``, ``_is_shutdown``,
a subscription's ``_callback_type`` and the C implementation's ``WaitSet``),
which hold for the rclpy it was checked against (``CHECKED_RCLPY``); a test
fails on any other rclpy until they are checked again. It is kept because it
measured clearly faster than rclpy's stock executors on the launched graph,
which also cannot run it as is: composed nodes need guard conditions, which
rclpy's EventsExecutor refuses, and an exception in a callback ends a stock
executor's spin (README, "Node graph").

No callback takes the executor down: an exception in any callback it runs,
on either path, is reported to ``errors`` (``meld_ros.runtime.callback_errors``:
counted, logged with the node's logger) and the spin goes on; only the
exceptions that mean the process is stopping leave ``spin``.
"""
from __future__ import annotations

import inspect
from contextlib import ExitStack

from rclpy.executors import (ConditionReachedException, ExternalShutdownException, ShutdownException,
                             SingleThreadedExecutor, TimeoutException, TimeoutObject)
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.exceptions import InvalidHandle

from meld_ros.runtime.callback_errors import CallbackErrors, describe, is_stopping
from rclpy.subscription import Subscription
from rclpy.waitable import NumberOfEntities
from rclpy.utilities import timeout_sec_to_nsec


#: the rclpy (package.xml version) whose private members LeanExecutor was checked against
CHECKED_RCLPY = "7.1.5"


def rclpy_version() -> str:
    """The installed rclpy's version, from its package.xml (the same on a Jazzy install and the PyPI wheels)."""
    import re

    from ament_index_python.packages import get_package_share_directory
    text = open(f"{get_package_share_directory('rclpy')}/package.xml").read()
    return re.search(r"<version>([^<]+)</version>", text).group(1)


def _plain(callback) -> bool:
    return not (inspect.iscoroutinefunction(callback)
                or inspect.iscoroutinefunction(getattr(callback, "__call__", None)))


class LeanExecutor(SingleThreadedExecutor):
    """SingleThreadedExecutor whose plain subscription and timer callbacks skip the Task machinery."""

    def __init__(self, *, after_callback=None, errors: CallbackErrors | None = None, **kwargs):
        super().__init__(**kwargs)
        self.errors = errors or CallbackErrors()
        after = after_callback or (lambda: None)
        self._after = lambda: self.errors.run(None, "intra-process delivery", after)

    def _spin_once_impl(self, timeout_sec=None, wait_condition=lambda: False) -> None:
        with self._tasks_lock:
            self._tasks = [t for t in self._tasks if not t[0].done()]
            pending = bool(self._tasks)
        reached = wait_condition()
        if pending or reached:                   # coroutines in flight: the base executor resumes them
            try:
                super()._spin_once_impl(0 if reached else timeout_sec, wait_condition)
            except Exception as exc:
                if is_stopping(exc):
                    raise
                self.errors.report(None, "a coroutine callback", exc)
            self._after()
            return
        subs, timers, clients, services, guards, waitables = [], [], [], [], [], []
        owner = {}
        for node in self.get_nodes():
            subs.extend(filter(self.can_execute, node.subscriptions))     # coroutine ones too: the wait
            timers.extend(filter(self.can_execute, node.timers))          # must wake for them

            owner.update((id(e), node) for e in (*node.subscriptions, *node.timers))
            clients.extend(filter(self.can_execute, node.clients))
            services.extend(filter(self.can_execute, node.services))
            guards.extend(filter(self.can_execute, node.guards))
            waitables.extend(filter(self.can_execute, node.waitables))
        guards += [self._guard, self._sigint_gc]
        with ExitStack() as stack:
            try:
                for entity in subs + timers + clients + services + guards:
                    stack.enter_context(entity.handle)
                for waitable in waitables:
                    stack.enter_context(waitable)
            except InvalidHandle:          # an entity destroyed meanwhile: let the base executor sort it out
                stack.close()
                return self._run_base(wait_condition)
            stack.enter_context(self._context.handle)
            count = NumberOfEntities(len(subs), len(guards), len(timers), len(clients), len(services))
            for waitable in waitables:
                count += waitable.get_num_entities()
            wait_set = _rclpy.WaitSet(count.num_subscriptions, count.num_guard_conditions, count.num_timers,
                                      count.num_clients, count.num_services, count.num_events,
                                      self._context.handle)
            wait_set.clear_entities()
            for sub in subs:
                wait_set.add_subscription(sub.handle)
            for tmr in timers:
                wait_set.add_timer(tmr.handle)
            for cli in clients:
                wait_set.add_client(cli.handle)
            for srv in services:
                wait_set.add_service(srv.handle)
            for gc in guards:
                wait_set.add_guard_condition(gc.handle)
            for waitable in waitables:
                waitable.add_to_wait_set(wait_set)
            if isinstance(timeout_sec, TimeoutObject):
                timeout_sec = timeout_sec.timeout
            wait_set.wait(timeout_sec_to_nsec(timeout_sec))
            if self._is_shutdown:
                return
            if not self._context.ok():
                raise ExternalShutdownException()
            ready_subs = set(wait_set.get_ready_entities("subscription"))
            ready_timers = set(wait_set.get_ready_entities("timer"))
            ready_guards = set(wait_set.get_ready_entities("guard_condition"))
            for gc in guards[:-2]:           # node guards are auto-taken by the wait: hand them on
                if gc.handle.pointer in ready_guards:
                    gc._executor_triggered = True
            ready_slow = any(e.handle.pointer in ready for es, ready in ((subs, ready_subs), (timers, ready_timers))
                             for e in es if not _plain(e.callback))
            rest = bool(ready_slow or wait_set.get_ready_entities("client") or wait_set.get_ready_entities("service")
                        or any(gc._executor_triggered for gc in guards[:-2])
                        or any(w.is_ready(wait_set) for w in waitables))
        for sub in subs:
            if sub.handle.pointer in ready_subs and _plain(sub.callback):
                self.errors.run(owner.get(id(sub)), describe(sub), self._run_subscription, sub)
                self._after()
        for tmr in timers:
            if tmr.handle.pointer in ready_timers and _plain(tmr.callback) and tmr.handle.is_timer_ready():
                tmr.handle.call_timer()
                self.errors.run(owner.get(id(tmr)), describe(tmr), tmr.callback)
                self._after()
        if rest:
            self._run_base(wait_condition)

    @staticmethod
    def _run_subscription(sub) -> None:
        with sub.handle:
            msg_info = sub.handle.take_message(sub.msg_type, sub.raw)
        if msg_info is None:
            return
        if sub._callback_type is Subscription.CallbackType.MessageOnly:
            sub.callback(msg_info[0])
        else:
            sub.callback(*msg_info)

    def _run_base(self, wait_condition) -> None:
        """Everything the short path does not own, through rclpy's own machinery, without blocking."""
        while True:
            try:
                handler, entity, node = self.wait_for_ready_callbacks(0, None, wait_condition)
            except (TimeoutException, ShutdownException, ConditionReachedException):
                return
            handler()
            self._after()
            exc = handler.exception()
            if exc is not None:
                if is_stopping(exc):
                    raise exc
                self.errors.report(node, describe(entity), exc)
