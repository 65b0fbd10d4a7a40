"""benchmarks/learning.py's merge of result files measured in parts (unit: no training, plain JSON)."""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _learning():
    spec = importlib.util.spec_from_file_location("learning_benchmark", ROOT / "benchmarks" / "learning.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(variant, seed, success):
    return {"variant": variant, "seed": seed, "final": {"success_per_episode": [success, success],
                                                       "return_per_episode": [-5.0, -4.0]},
            "curve": [], "env_steps": 1000 * (seed + 1), "model_steps": 100, "train_time_s": 60.0}


def _record(path, runs, budget_s=1800.0, command="python benchmarks/learning.py part"):
    variants = {r["variant"]: {"overrides": {}, "stage2_of": None} for r in runs}
    path.write_text(json.dumps({
        "name": path.stem, "env": "point2d", "profile": "cpu", "budget_s": budget_s, "test_trials_per_task": 5,
        "seeds": sorted({r["seed"] for r in runs}), "variants": variants, "common_overrides": {}, "runs": runs,
        "cores": 2, "parallel_jobs": 2, "threads_per_job": 1, "machine": "x86_64", "date": "2026-12-01 08:00 UTC",
        "command": command}))
    return path


def test_merge_keeps_every_run_and_recomputes_the_summary(tmp_path):
    learning = _learning()
    a = _record(tmp_path / "a.json", [_run("h1", 0, 0.6), _run("h1", 1, 0.2), _run("meld", 0, 0.4)])
    b = _record(tmp_path / "b.json", [_run("h1", 2, 0.4)], command="python benchmarks/learning.py b")
    record, variants = learning.merge("whole", [a, b], keep=["h1"])
    assert variants == ["h1"]
    assert [(r["variant"], r["seed"]) for r in record["runs"]] == [("h1", 0), ("h1", 1), ("h1", 2)]
    assert record["seeds"] == [0, 1, 2]
    assert [m["jobs"] for m in record["merged_from"]] == [[["h1", 0], ["h1", 1]], [["h1", 2]]]
    assert record["merged_from"][1]["command"] == "python benchmarks/learning.py b"
    summary = learning.summarize(record["runs"], variants)["h1"]["success_per_episode"][0]
    assert summary["mean"] == pytest.approx(0.4) and summary["min"] == 0.2 and summary["max"] == 0.6


def test_merge_refuses_a_run_found_twice(tmp_path):
    learning = _learning()
    a = _record(tmp_path / "a.json", [_run("h1", 0, 0.6)])
    b = _record(tmp_path / "b.json", [_run("h1", 0, 0.5)])
    with pytest.raises(SystemExit, match="h1 seed 0 is in more than one source"):
        learning.merge("whole", [a, b])


def test_merge_refuses_parts_that_measured_different_things(tmp_path):
    learning = _learning()
    a = _record(tmp_path / "a.json", [_run("h1", 0, 0.6)], budget_s=1800.0)
    b = _record(tmp_path / "b.json", [_run("h1", 1, 0.5)], budget_s=7200.0)
    with pytest.raises(SystemExit, match="differ in budget_s"):
        learning.merge("whole", [a, b])
