"""``./meld demo`` as a user runs it in a terminal: Ctrl-C stops it (exit status 130), and the
meta-test of a half-trained model never starts. The demo's own graph arguments are overridden with
the tiny profile (later arguments win), so the run is short."""
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.graph

ROOT = Path(__file__).resolve().parent.parent


def test_ctrl_c_stops_the_demo(tmp_path):
    run = tmp_path / "demo"
    log = open(tmp_path / "demo.log", "w+")
    env = {**os.environ, "MELD_DEMO_RUN_DIR": str(run), "MELD_SETUP_VERBOSE": "0"}
    demo = subprocess.Popen([str(ROOT / "meld"), "demo", "profile:=tiny", "overrides:=[train.iterations=1000]"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)     # its own process group, as a terminal's foreground job
    try:
        deadline = time.monotonic() + 180
        while not (run / "checkpoint.pt").exists() and time.monotonic() < deadline and demo.poll() is None:
            time.sleep(0.5)
        assert (run / "checkpoint.pt").exists(), (tmp_path / "demo.log").read_text()[-3000:]
        os.killpg(demo.pid, signal.SIGINT)                # what Ctrl-C sends: the whole foreground group
        code = demo.wait(timeout=120)
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
    out = (tmp_path / "demo.log").read_text()
    assert code == 130, out[-3000:]
    assert "sim_meta_test" not in out and "meta-test" not in out, out[-3000:]


def test_demo_report_puts_meld_next_to_the_task_blind_run():
    from meld_ros.demo import report
    table = report("point2d-2goal", {"MELD": {"trials": 50, "success_per_episode": [0.9, 0.96],
                                              "return_per_episode": [-5.1, -3.2]},
                                     "task-blind": {"trials": 50, "success_per_episode": [0.5, 0.5],
                                                    "return_per_episode": [-9.0, -9.1]}})
    assert "50 trials" in table and " 90.0% ( -5.10)" in table and " 50.0% ( -9.10)" in table


def test_the_demo_end_to_end_with_a_tiny_run(tmp_path):
    """The whole demo (tiny profile, one iteration): meta-train through the graph, meta-test twice (with the
    rewards, and with them hidden from the belief), the table; the run directory is left as training left it."""
    env = {**os.environ, "MELD_DEMO_RUN_DIR": str(tmp_path / "demo"), "MELD_SETUP_VERBOSE": "0"}
    out = subprocess.run([str(ROOT / "meld"), "demo", "profile:=tiny", "overrides:=[train.iterations=1]"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "meld demo: point2d-2goal, held-out tasks, 50 trials" in out.stdout
    assert "the belief's reward input: none" in out.stdout + out.stderr   # the learner's log line
    assert len(list((tmp_path / "demo_meta_test").glob("*-MELD/graph_meta_test.json"))) == 1
    assert len(list((tmp_path / "demo_meta_test").glob("*-task-blind/graph_meta_test.json"))) == 1
