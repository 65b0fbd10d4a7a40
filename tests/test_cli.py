"""Smoke runs of the ``./meld`` command as a user types it (set-up included), with the tiny profile
(real training, tiny budget)."""
import json
import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent


def meld(*args, check=True):
    env = {**os.environ, "MUJOCO_GL": "egl"}
    proc = subprocess.run([str(ROOT / "meld"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"meld {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def test_train_resume_and_meta_test(tmp_path):
    run = tmp_path / "run"
    out = meld("train", "--profile", "tiny", "--run-dir", str(run), "--no-progress")
    assert "episode 1: success" in out.stdout and "episode 2: success" in out.stdout
    assert (run / "checkpoint.pt").exists() and len(list(run.glob("replay-*.npz"))) == 1
    assert list((run / "tb").glob("events.out.tfevents.*"))
    evals = [json.loads(line) for line in (run / "evals.jsonl").read_text().splitlines()]
    assert [e["iteration"] for e in evals] == [1, 2]
    assert all(len(e["success_per_episode"]) == 2 for e in evals)

    again = meld("train", "--profile", "tiny", "--run-dir", str(run), "--no-progress",
                 "--set", "train.iterations=3")
    assert "resuming" in again.stdout and "iteration 2" in again.stdout

    files = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(run.rglob("*")) if p.is_file()}
    test = meld("meta-test", "--run-dir", str(run), "--trials-per-task", "1", "--json", str(tmp_path / "r.json"))
    assert "meta-test point2d on 10 held-out tasks" in test.stdout
    assert len(json.loads((tmp_path / "r.json").read_text())["success_per_episode"]) == 2
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(run.rglob("*")) if p.is_file()} == files


def test_bad_parameter_and_missing_run_give_clear_errors(tmp_path):
    bad = meld("train", "--profile", "tiny", "--run-dir", str(tmp_path / "x"), "--set", "train.iterations=-1", check=False)
    assert bad.returncode == 2 and "train.iterations must be >= 1" in bad.stderr
    missing = meld("meta-test", "--run-dir", str(tmp_path / "nothing"), check=False)
    assert missing.returncode == 2 and "no checkpoint" in missing.stderr
    assert not (tmp_path / "x").exists()


def test_fresh_refuses_existing_run(tmp_path):
    run = tmp_path / "run"
    meld("train", "--profile", "tiny", "--run-dir", str(run), "--no-progress", "--set", "train.iterations=1")
    before = (run / "checkpoint.pt").read_bytes()
    out = meld("train", "--profile", "tiny", "--run-dir", str(run), "--fresh", check=False)
    assert out.returncode == 2 and "already holds a run" in out.stderr
    assert (run / "checkpoint.pt").read_bytes() == before


def test_train_on_a_two_camera_environment(tmp_path):
    """The suite's 64x128 environments train through the same command (--env NAME)."""
    run = tmp_path / "run"
    out = meld("train", "--profile", "tiny", "--env", "widowx-cable", "--run-dir", str(run), "--no-progress",
               "--set", "train.iterations=1", "--set", "train.env_kwargs={n_train: 3, n_eval: 2}")
    assert "episode 1: success" in out.stdout and "episode 2: success" in out.stdout
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["env"] == "widowx-cable"


def test_progress_and_ctrl_c(tmp_path):
    """meld train reports its progress (phase, units, time, held-out success) on stderr; Ctrl-C stops it
    at the next unit of work with a checkpoint the run continues from (exit status 130)."""
    import signal
    import time
    run = tmp_path / "run"
    env = {**os.environ, "MUJOCO_GL": "egl"}
    p = subprocess.Popen([str(ROOT / "meld"), "train", "--profile", "tiny", "--run-dir", str(run),
                          "--set", "train.iterations=100000"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (run / "evals.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 130, out + err
    assert "saved where it stopped" in err
    progress = [line for line in err.splitlines() if line.startswith("progress: ")]
    assert progress and progress[0].startswith("progress: meta-train point2d (tiny) | iteration 0/100000 | pre-training")
    assert any("held-out success" in line for line in progress), err
    again = meld("train", "--profile", "tiny", "--run-dir", str(run), "--no-progress", "--set", "train.iterations=100000",
                 "--set", "train.time_budget_s=1")
    assert "resuming" in again.stdout and "episode 1: success" in again.stdout
