"""Trainer: checkpoint round trip resumes bit-identically; bad checkpoints are refused."""
import numpy as np
import pytest
import torch

from meld_core.checkpoint import CHECKPOINT_FILE, CheckpointError, replay_path_of
from meld_core.config import load_config
from meld_core.meta_train import MetaTrainer


def _params(trainer):
    return {**{f"model.{k}": v for k, v in trainer.model.state_dict().items()},
            **{f"sac.{k}": v for k, v in trainer.sac.state_dict().items()}}


@pytest.mark.parametrize("extra", [{}, {"sac.cache_transitions": 100, "sac.policy_input": "belief"}])
def test_checkpoint_round_trip_continues_bit_identically(tmp_path, extra):
    cfg2 = load_config("tiny", {"train.iterations": 2, **extra})
    straight = MetaTrainer(cfg2, tmp_path / "straight", resume=False)
    straight.run(progress_bar=False)

    cfg1 = load_config("tiny", {"train.iterations": 1, **extra})
    MetaTrainer(cfg1, tmp_path / "split", resume=False).run(progress_bar=False)
    assert not straight.resumed
    resumed = MetaTrainer(cfg2, tmp_path / "split", resume=True)
    assert resumed.progress.iteration == 1 and resumed.resumed
    resumed.run(progress_bar=False)

    a, b = _params(straight), _params(resumed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert straight.replay.num_trials() == resumed.replay.num_trials()
    for ta, tb in zip(straight.replay.tasks, resumed.replay.tasks):
        da, db = ta.stored()[0], tb.stored()[0]
        assert all(np.array_equal(da[k], db[k]) for k in da)
    assert straight.progress.evals[-1]["success_per_episode"] == resumed.progress.evals[-1]["success_per_episode"]
    assert straight.sac.log_alpha.item() == resumed.sac.log_alpha.item()


@pytest.fixture
def trained_run(tmp_path):
    cfg = load_config("tiny", {"train.iterations": 1})
    MetaTrainer(cfg, tmp_path / "run", resume=False).run(progress_bar=False)
    return cfg, tmp_path / "run"


def _snapshot(run):
    return {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}


@pytest.mark.parametrize("damage", ["garbage", "truncate", "empty"])
def test_corrupt_checkpoint_gives_clear_error_and_overwrites_nothing(trained_run, damage):
    cfg, run = trained_run
    ckpt = run / CHECKPOINT_FILE
    data = ckpt.read_bytes()
    ckpt.write_bytes({"garbage": b"not a checkpoint" * 10, "truncate": data[: len(data) // 2], "empty": b""}[damage])
    before = _snapshot(run)
    with pytest.raises(CheckpointError, match="corrupt"):
        MetaTrainer(cfg, run, resume=True)
    assert _snapshot(run) == before


def test_corrupt_replay_refused(trained_run):
    cfg, run = trained_run
    replay_path_of(run).write_bytes(b"\x00" * 100)
    with pytest.raises(CheckpointError, match="replay"):
        MetaTrainer(cfg, run, resume=True)


def test_crash_between_replay_and_checkpoint_leaves_a_consistent_pair(trained_run):
    """A new replay written but the checkpoint not yet replaced: the old pair still resumes."""
    cfg, run = trained_run
    old = replay_path_of(run)
    (run / "replay-999999-0-0.npz").write_bytes(old.read_bytes())   # the half-finished save
    trainer = MetaTrainer(cfg, run, resume=True)
    assert trainer.progress.iteration == 1
    trainer.save()
    assert [p.name for p in run.glob("replay-*.npz")] == [replay_path_of(run).name]


def test_mismatched_config_refused(trained_run):
    _, run = trained_run
    other = load_config("tiny", {"model.z1_dim": 5})
    with pytest.raises(CheckpointError, match="model.z1_dim"):
        MetaTrainer(other, run, resume=True)


def test_foreign_pickle_is_not_executed(trained_run, tmp_path):
    """A pickle that would run code on load is refused by the weights-only loader."""
    import pickle

    cfg, run = trained_run
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (run / CHECKPOINT_FILE).write_bytes(pickle.dumps({"format_version": 1, "x": Evil()}))
    with pytest.raises(CheckpointError):
        MetaTrainer(cfg, run, resume=True)
    assert not marker.exists()


def test_two_stage_sparse_scheme_starts_from_stage1_data(trained_run, tmp_path):
    _, run1 = trained_run
    cfg = load_config("tiny", {"train.iterations": 1, "train.init_replay_from": str(run1),
                               "model.reward_input": "sparse", "model.reward_target": "dense",
                               "sac.critic_reward": "dense", "train.pretrain_trials": 0})
    stage2 = MetaTrainer(cfg, tmp_path / "stage2", resume=False)
    stage1 = MetaTrainer(load_config("tiny", {"train.iterations": 1}), run1, resume=True)
    assert stage2.replay.num_trials() == stage1.replay.num_trials() > 0
    b = stage2._tensors(stage2.replay.sample(2, np.random.default_rng(0)))
    assert torch.equal(b["reward_in"], torch.from_numpy(stage2.replay.sample(2, np.random.default_rng(0))["sparse"]))
    assert torch.equal(b["reward_target"], b["critic_reward"])
    result = stage2.run(progress_bar=False)
    assert len(result["success_per_episode"]) == 2


def test_belief_as_policy_input(tmp_path):
    """With sac.policy_input=belief the actor-critic sees the posterior's mean and std."""
    cfg = load_config("tiny", {"train.iterations": 1, "sac.policy_input": "belief"})
    trainer = MetaTrainer(cfg, tmp_path / "run", resume=False)
    D = cfg.model.z1_dim + cfg.model.z2_dim
    assert trainer.sac.actor.net[0].in_features == 2 * D
    result = trainer.run(progress_bar=False)
    assert len(result["success_per_episode"]) == 2
    with pytest.raises(CheckpointError, match="sac.policy_input"):
        MetaTrainer(load_config("tiny", {"train.iterations": 1}), tmp_path / "run", resume=True)
