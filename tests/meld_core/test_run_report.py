"""Run reports: a run draws its plots at each evaluation and at the end; they show what TensorBoard holds;
``meld report`` draws several runs together."""
import json

import numpy as np
import pytest

from meld_core.config import load_config
from meld_core.meta_train import MetaTrainer
from meld_core.run_report import ReportError, main, read_run, write_report


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    runs = []
    for name, extra in (("meld", {}), ("no_reward", {"model.reward_input": "none"})):
        run = tmp_path_factory.mktemp("runs") / name
        MetaTrainer(load_config("tiny", {"train.iterations": 2, **extra}), run, resume=False).run()
        runs.append(run)
    return runs


def _png(path):
    import matplotlib.image
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 50 and image.shape[1] > 50
    return image


def test_a_run_draws_its_report(two_runs):
    run = two_runs[0]
    for name in ("success.png", "returns.png", "losses.png", "reconstruction.png"):
        _png(run / "report" / name)
    strip = _png(run / "report" / "reconstruction.png")
    assert strip.shape[0] == 2 * 64                                   # observations above reconstructions
    evals = [json.loads(line) for line in (run / "evals.jsonl").read_text().splitlines()]
    assert len(evals) == 2 and len(evals[0]["success_per_task_episode"]) == 10          # point2d's held-out tasks
    assert np.allclose(np.mean(evals[0]["success_per_task_episode"], 0), evals[0]["success_per_episode"])


def test_the_plotted_numbers_are_tensorboards(two_runs):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    run = two_runs[0]
    tb = EventAccumulator(str(run / "tb"))
    tb.Reload()
    plotted = read_run(run)["scalars"]
    for key in ("model/loss", "sac/critic_loss", "pretrain/model/loss"):
        ours = [(s["env_steps"], s[key]) for s in plotted if key in s]
        theirs = [(e.step, e.value) for e in tb.Scalars(key)]
        assert ours and [s for s, _ in ours] == [s for s, _ in theirs]
        np.testing.assert_allclose([v for _, v in ours], [v for _, v in theirs], rtol=1e-6)
    evals = read_run(run)["evals"]
    theirs = [e.value for e in tb.Scalars("eval/success_episode_2")]
    np.testing.assert_allclose([e["success_per_episode"][1] for e in evals], theirs, rtol=1e-6)


def test_meld_report_draws_runs_together(two_runs, tmp_path, capsys):
    out = tmp_path / "compare"
    assert main([str(r) for r in two_runs] + ["--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["losses.png", "reconstruction_meld.png", "reconstruction_no_reward.png", "returns.png",
                     "success.png"]
    assert main([str(tmp_path / "nothing")]) == 2 and "no evals.jsonl" in capsys.readouterr().err
    with pytest.raises(ReportError):
        write_report([tmp_path / "nothing"])
