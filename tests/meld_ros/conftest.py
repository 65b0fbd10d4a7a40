"""Real processes over DDS: each test run gets its own ROS_DOMAIN_ID, discovery on localhost only."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

rclpy = pytest.importorskip("rclpy")

ROOT = Path(__file__).resolve().parents[2]
_DOMAIN = str(1 + os.getpid() % 100)          # ROS_DOMAIN_ID <= 101
os.environ["ROS_DOMAIN_ID"] = _DOMAIN
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"


class NodeProcess:
    """``python -m meld_ros.<module> [arguments] --ros-args -p k:=v ...`` in its own process group."""

    def __init__(self, module: str, params: dict | None = None, ros_args: list[str] | None = None,
                 arguments: list[str] | None = None):
        args = [sys.executable, "-m", f"meld_ros.{module}", *(arguments or []), "--ros-args"]
        for k, v in (params or {}).items():
            args += ["-p", f"{k}:={v}"]
        args += ros_args or []
        self.module = module
        self.proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, "MUJOCO_GL": "egl"},
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)

    def stop(self, timeout: float = 15.0) -> tuple[int, str]:
        """SIGINT, then wait: returns (exit code, output)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            out, _ = self.proc.communicate()
            return -9, out
        return self.proc.returncode, out


@pytest.fixture
def start_node():
    started = []

    def start(module, params=None, ros_args=None, arguments=None):
        p = NodeProcess(module, params, ros_args, arguments)
        started.append(p)
        return p

    yield start
    for p in started:          # their output shows in pytest's report when the test fails
        code, out = p.stop()
        print(f"----- {p.module} (exit {code}) -----\n{out}")


@pytest.fixture
def ros_node():
    """An rclpy node in the test process, spun with ``spin_until``."""
    rclpy.init()
    node = rclpy.create_node(f"test_{os.getpid()}")

    def spin_until(predicate, timeout=20.0):
        end = time.monotonic() + timeout
        while not predicate() and time.monotonic() < end:
            rclpy.spin_once(node, timeout_sec=0.05)
        return predicate()

    def wait_matched(topics, timeout=30.0):
        """Until every topic has a publisher (discovery done), so no message of a fast loop is missed."""
        return spin_until(lambda: all(node.count_publishers(t) > 0 for t in topics), timeout)

    node.spin_until = spin_until
    node.wait_matched = wait_matched
    yield node
    node.destroy_node()
    rclpy.shutdown()
