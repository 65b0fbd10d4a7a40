"""A node started by ``node_runtime.run`` stops however it is asked, and cannot hang on the way out:
a SIGTERM whose KeyboardInterrupt is swallowed still stops it (the spin loop checks the stop request),
a node whose ``meld launch`` died stops without the kernel's SIGTERM (``runner_watch``), and a node stuck
in its last words is ended after ``STOP_DEADLINE_S`` with its stacks on stderr. Real processes, real rclpy."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from meld_ros.runtime.node_runtime import STOP_DEADLINE_S
from meld_ros.runtime.runner_watch import RUNNER_ENV
from support.processes import alive, until

pytestmark = pytest.mark.graph

ROOT = Path(__file__).resolve().parents[3]

PROBE = '''
import sys, time
from rclpy.node import Node
from meld_ros.runtime.node_runtime import run

MODE = sys.argv[1]


class Probe(Node):
    def __init__(self, topics):
        super().__init__("stop_probe")
        self.create_timer(0.05, self.tick)
        print("ready", flush=True)

    def tick(self):
        if MODE == "swallow":
            try:
                time.sleep(0.5)
            except BaseException:        # what a careless destructor or library does with an interrupt
                pass

    def on_shutdown(self):
        print("last words", flush=True)
        if MODE == "stuck":
            time.sleep(120)


raise SystemExit(run(Probe, args=[sys.argv[0]]))
'''


def _probe(tmp_path, mode):
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    return [sys.executable, str(script), mode]


def _wait_ready(log: Path, timeout_s=60):
    assert until(lambda: "ready" in log.read_text(), timeout_s, poll_s=0.1), log.read_text()


def test_a_swallowed_interrupt_still_stops_the_node(tmp_path):
    log = tmp_path / "out.txt"
    with open(log, "w") as out:
        p = subprocess.Popen(_probe(tmp_path, "swallow"), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    _wait_ready(log)
    time.sleep(1.0)
    p.send_signal(signal.SIGTERM)
    try:
        assert p.wait(timeout=5) == 0
    finally:
        p.kill()
    assert "last words" in log.read_text()


def test_a_node_stops_when_its_runner_is_gone_without_a_signal(tmp_path):
    """The runner here sets no PR_SET_PDEATHSIG: only the node's own watch can see it die."""
    log = tmp_path / "out.txt"
    runner = subprocess.Popen(
        [sys.executable, "-c", "import os, subprocess, sys, time\n"
         f"p = subprocess.Popen({_probe(tmp_path, 'plain')!r}, cwd={str(ROOT)!r}, stdout=open({str(log)!r}, 'w'),"
         f" stderr=subprocess.STDOUT, env={{**os.environ, {RUNNER_ENV!r}: str(os.getpid())}})\n"
         "print(p.pid, flush=True)\ntime.sleep(600)"], stdout=subprocess.PIPE, text=True)
    node = int(runner.stdout.readline())
    try:
        _wait_ready(log)
        runner.kill()
        runner.wait()
        assert until(lambda: not alive(node), 10, poll_s=0.1), "the node outlived its runner"
        assert "last words" in log.read_text()
    finally:
        runner.kill()
        if alive(node):
            os.kill(node, signal.SIGKILL)


def test_a_node_stuck_on_its_way_out_is_ended_with_its_stacks(tmp_path):
    p = subprocess.Popen(_probe(tmp_path, "stuck"), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        p.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        out, err = p.communicate(timeout=STOP_DEADLINE_S + 20)
        took = time.monotonic() - t0
    finally:
        p.kill()
    assert p.returncode == 1 and STOP_DEADLINE_S - 1 < took < STOP_DEADLINE_S + 15, (p.returncode, took, err)
    assert "last words" in out and "in on_shutdown" in err, err
