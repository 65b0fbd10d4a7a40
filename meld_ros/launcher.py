"""``meld launch <graph> key:=value ...``: the graph of meld_ros/graph.py as processes, without ``launch``.

Each node runs as ``python -m meld_ros.<module> --ros-args -r __node:=<name>
[--params-file F] -p key:=value ...`` in its own process group, with its
output prefixed by its name; composed nodes (``compose:=true``, the default)
run as ``python -m meld_ros.container <module> ... --ros-args [--params-file
F] --params-file <their overrides>``, one process for them all. Ctrl-C (SIGINT) or SIGTERM is forwarded to every
node; if a node dies the whole graph is stopped (exit status 1); when the
graph's main node (the learner) exits, the others are stopped and its status
is returned; interrupted (SIGINT, SIGTERM), it returns 130, so that a script
such as ``./meld demo`` stops instead of going on with a half-trained model. Nodes that do not exit within ``STOP_TIMEOUT_S`` of SIGINT get
SIGTERM, then SIGKILL: no stray processes are left behind, not even when the
runner itself is killed (each node is asked by the kernel to take SIGTERM when
its runner dies: ``prctl(PR_SET_PDEATHSIG)``).

A graph has a ROS domain of its own: ``ROS_DOMAIN_ID`` if it is set (told),
otherwise the first free one from ``AUTO_DOMAINS``, printed at the start. A
domain is held by a lock file for as long as the graph runs, so a second graph
never joins a domain in use by another (two graphs on one domain answer each
other's services and topics); told a domain in use, ``meld launch`` refuses.
"""
from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from meld_core.lock_file import LockHeld, hold
from meld_core.progress_report import LIVE_ENV, PREFIX, StatusBoard
from meld_ros.graph import GraphError, NodeSpec, build_graph, resolve_arguments, write_member_parameters
from meld_ros.runtime.runner_watch import RUNNER_ENV

STOP_TIMEOUT_S = 30.0          # the learner saves a checkpoint (and its replay) on SIGINT

#: where a graph looks for a ROS domain of its own when ROS_DOMAIN_ID is not set (0 is every ROS
#: user's default; Linux allows 0-101)
AUTO_DOMAINS = (*range(42, 102), *range(1, 42))


_PR_SET_PDEATHSIG = 1
try:                                  # resolved before any fork: the child only calls it
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):     # not Linux
    _prctl = None


def _die_with_runner() -> None:
    """In the node's process, before it runs: SIGTERM when the runner that started it dies."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _domain_lock(domain: int) -> Path:
    return Path(tempfile.gettempdir()) / f"meld-ros-domain-{domain}.lock"


def claim_domain(told: str | None) -> tuple[int, object]:
    """A ROS domain for one graph and the open lock file that holds it (closed when the process ends)."""
    if told:
        if not told.strip().isdigit() or not (0 <= int(told) <= 101 or 215 <= int(told) <= 232):
            raise GraphError(f"ROS_DOMAIN_ID must be a number in 0-101 (or 215-232), got {told!r}")
        candidates = (int(told),)
    else:
        candidates = AUTO_DOMAINS
    for domain in candidates:
        try:
            return domain, hold(_domain_lock(domain))
        except LockHeld as held:
            if told:
                raise GraphError(f"ROS domain {domain} (ROS_DOMAIN_ID) is used by another meld graph (pid "
                                 f"{held.holder}); two graphs on one domain break each other: set another "
                                 f"ROS_DOMAIN_ID, or unset it to get a free one") from None
    raise GraphError(f"no free ROS domain among {len(candidates)}: set ROS_DOMAIN_ID")


def _value(v) -> str:
    """A ROS 2 command-line parameter value (YAML)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, dict, str)):
        return json.dumps(v)          # strings quoted: "[train.iterations=2]" stays a string
    return str(v)


def node_command(spec: NodeSpec, params_file: str = "", scratch: Path | None = None) -> list[str]:
    """The command that runs ``spec``; a container's overrides go to a parameter file in ``scratch``."""
    if spec.members:
        if scratch is None:
            raise ValueError(f"{spec.name} composes nodes: node_command needs a scratch directory for their parameters")
        overrides = write_member_parameters(spec, scratch)
        cmd = [sys.executable, "-m", "meld_ros.container", *(m.module for m in spec.members), "--ros-args"]
        return cmd + (["--params-file", params_file] if params_file else []) + ["--params-file", str(overrides)]
    if spec.package != "meld_ros":
        cmd = [external_executable(spec), *spec.arguments, "--ros-args", "-r", f"__node:={spec.name}"]
    else:
        cmd = [sys.executable, "-m", f"meld_ros.{spec.module}", "--ros-args", "-r", f"__node:={spec.name}"]
    if spec.namespace:
        cmd += ["-r", f"__ns:={spec.namespace if spec.namespace.startswith('/') else '/' + spec.namespace}"]
    if params_file:
        cmd += ["--params-file", params_file]
    for k, v in spec.parameters.items():
        cmd += ["-p", f"{k}:={_value(v)}"]
    return cmd


def external_executable(spec: NodeSpec) -> str:
    """Another package's node executable, where ``ros2 run`` finds it (``<prefix>/lib/<package>/<executable>``)."""
    from ament_index_python.packages import PackageNotFoundError, get_package_prefix
    try:
        path = Path(get_package_prefix(spec.package)) / "lib" / spec.package / (spec.executable or spec.name)
    except PackageNotFoundError:
        raise GraphError(f"{spec.name} needs the ROS package {spec.package}, which is not installed (or its workspace "
                         f"is not sourced)") from None
    if not os.access(path, os.X_OK):
        raise GraphError(f"{spec.name}: no executable {path}")
    return str(path)


class Supervisor:
    """Starts and watches the graph's processes (one per NodeSpec). Their output goes to ``out`` line by line, each prefixed with its node's
    name; on a terminal, progress lines (``progress_report.PREFIX``) are shown in place on one status
    line at the bottom instead, and the processes are told so (``MELD_PROGRESS_LIVE=1``: they report
    often; elsewhere, every half minute)."""

    def __init__(self, specs: list[NodeSpec], params_file: str = "", out=sys.stdout, env: dict | None = None):
        self.specs, self.params_file = specs, params_file
        self.console = StatusBoard(out)
        self.live = bool(getattr(out, "isatty", lambda: False)())
        self.env = dict(os.environ if env is None else env)
        if self.live:
            self.env[LIVE_ENV] = "1"
        self.env[RUNNER_ENV] = str(os.getpid())           # a node stops when this process is gone
        self.procs: dict[str, subprocess.Popen] = {}
        self.stopping = False
        self.scratch = Path(tempfile.mkdtemp(prefix="meld_launch_"))     # containers' parameter files

    def start(self) -> None:
        commands = [node_command(spec, self.params_file, self.scratch) for spec in self.specs]   # all found first
        for spec, command in zip(self.specs, commands):
            p = subprocess.Popen(command, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, start_new_session=True, env=self.env,
                                 preexec_fn=_die_with_runner)
            self.procs[spec.name] = p
            threading.Thread(target=self._pump, args=(spec.name, p.stdout), daemon=True).start()

    def _pump(self, name: str, stream) -> None:
        for line in iter(stream.readline, ""):
            if self.live and line.startswith(PREFIX):
                self.console.status(name, line[len(PREFIX):].rstrip("\n"))
            else:
                self.console.line(f"[{name}] {line}")

    def stop(self) -> None:
        self.stopping = True
        try:
            self._signal_until_gone()
        finally:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.console.close()

    def _signal_until_gone(self) -> None:
        for sig, wait in ((signal.SIGINT, STOP_TIMEOUT_S), (signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
            alive = [p for p in self.procs.values() if p.poll() is None]
            if not alive:
                return
            for p in alive:
                try:
                    os.killpg(p.pid, sig)
                except ProcessLookupError:
                    pass
            end = time.monotonic() + wait
            while time.monotonic() < end and any(p.poll() is None for p in alive):
                time.sleep(0.05)

    def wait(self) -> int:
        """Until the main node exits (its status) or another node dies (1)."""
        main = next((s.name for s in self.specs if s.main), None)
        one_shot = {s.name for s in self.specs if s.one_shot}
        while True:
            for name, p in self.procs.items():
                code = p.poll()
                if code is None or (code == 0 and name in one_shot):
                    continue
                if self.stopping:
                    return 0
                if name == main:
                    self.console.line(f"[meld launch] {name} finished ({code}); stopping the graph")
                    return code
                self.console.line(f"[meld launch] {name} died ({code}); stopping the graph")
                return 1
            time.sleep(0.1)


def parse_arguments(argv: list[str]) -> dict[str, str]:
    args = {}
    for a in argv:
        if ":=" not in a:
            raise GraphError(f"arguments look like key:=value, got {a!r}")
        k, v = a.split(":=", 1)
        args[k] = v
    return args


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        from meld_ros.graph import ARGUMENTS
        print("usage: meld launch <graph> [key:=value ...]\ngraphs and their arguments (defaults):")
        for g, a in ARGUMENTS.items():
            print(f"  {g}: " + " ".join(f"{k}:={v}" for k, v in a.items()))
        return 0 if argv else 2
    try:
        given = parse_arguments(argv[1:])
        specs = build_graph(argv[0], given)
        params_file = resolve_arguments(argv[0], given).get("params_file", "")
        told = os.environ.get("ROS_DOMAIN_ID", "").strip()
        domain, _held = claim_domain(told)
    except GraphError as exc:
        print(f"meld launch: {exc}", file=sys.stderr)
        return 2
    print(f"[meld launch] ROS_DOMAIN_ID={domain}" + ("" if told else
          " (a free domain of its own; to watch this graph from rviz2 or rqt, use the same ROS_DOMAIN_ID; set it "
          "to choose one)"), flush=True)
    graph = Supervisor(specs, params_file, env={**os.environ, "ROS_DOMAIN_ID": str(domain)})
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        graph.start()
    except GraphError as exc:
        print(f"meld launch: {exc}", file=sys.stderr)
        graph.stop()
        return 2
    graph.console.line(f"[meld launch] {argv[0]}: " + ", ".join(
        s.name + (f" ({', '.join(m.name for m in s.members)})" if s.members else "") for s in specs))
    result = {}
    waiter = threading.Thread(target=lambda: result.setdefault("code", graph.wait()), daemon=True)
    waiter.start()
    while not stop.is_set() and waiter.is_alive():
        time.sleep(0.1)
    interrupted = stop.is_set()        # decided before stopping: the waiter then sees the nodes go, status 0
    graph.stop()
    if interrupted:
        print(f"[meld launch] interrupted: {argv[0]} stopped", flush=True)
        return 130                     # as a shell reports Ctrl-C: a script running the graph stops too
    return result.get("code", 0)


if __name__ == "__main__":
    raise SystemExit(main())
