"""``./meld demo`` as a user runs it in a terminal: Ctrl-C stops it (exit status 130), and the
meta-test of a half-trained model never starts. The demo's own graph arguments are overridden with
the tiny profile (later arguments win), so the run is short."""
import os
import signal
import subprocess
import time
from pathlib import Path

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
