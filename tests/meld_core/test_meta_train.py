"""Trainer: checkpoint round trip resumes bit-identically; bad checkpoints are refused."""
import numpy as np
import pytest
import torch

from meld_core.checkpoint import CHECKPOINT_FILE, CheckpointError, replay_path_of
from meld_core.config import load_config
from meld_core.meta_train import MetaTrainer


def _params(trainer):
    return {**{f"model.{k}": v for k, v in trainer.algo.model.state_dict().items()},
            **{f"sac.{k}": v for k, v in trainer.algo.sac.state_dict().items()}}


@pytest.mark.parametrize("extra", [{}, {"sac.policy_input": "belief"}])
def test_checkpoint_round_trip_continues_bit_identically(tmp_path, extra):
    cfg2 = load_config("tiny", {"train.iterations": 2, **extra})
    straight = MetaTrainer(cfg2, tmp_path / "straight", resume=False)
    straight.run()

    cfg1 = load_config("tiny", {"train.iterations": 1, **extra})
    MetaTrainer(cfg1, tmp_path / "split", resume=False).run()
    assert not straight.resumed
    resumed = MetaTrainer(cfg2, tmp_path / "split", resume=True)
    assert resumed.progress.iteration == 1 and resumed.resumed
    resumed.run()

    a, b = _params(straight), _params(resumed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert straight.replay.num_trials() == resumed.replay.num_trials()
    for ta, tb in zip(straight.replay.tasks, resumed.replay.tasks):
        da, db = ta.stored()[0], tb.stored()[0]
        assert all(np.array_equal(da[k], db[k]) for k in da)
    assert straight.progress.evals[-1]["success_per_episode"] == resumed.progress.evals[-1]["success_per_episode"]
    assert straight.algo.sac.log_alpha.item() == resumed.algo.sac.log_alpha.item()


@pytest.fixture
def trained_run(tmp_path):
    cfg = load_config("tiny", {"train.iterations": 1})
    MetaTrainer(cfg, tmp_path / "run", resume=False).run()
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
    b = stage2.algo.tensors(stage2.replay.sample(2, np.random.default_rng(0)))
    assert torch.equal(b["reward_in"], torch.from_numpy(stage2.replay.sample(2, np.random.default_rng(0))["sparse"]))
    assert torch.equal(b["reward_target"], b["critic_reward"])
    result = stage2.run()
    assert len(result["success_per_episode"]) == 2


def test_belief_as_policy_input(tmp_path):
    """With sac.policy_input=belief the actor-critic sees the posterior's mean and std."""
    cfg = load_config("tiny", {"train.iterations": 1, "sac.policy_input": "belief"})
    trainer = MetaTrainer(cfg, tmp_path / "run", resume=False)
    D = cfg.model.z1_dim + cfg.model.z2_dim
    assert trainer.algo.sac.actor.net[0].in_features == 2 * D
    result = trainer.run()
    assert len(result["success_per_episode"]) == 2
    with pytest.raises(CheckpointError, match="sac.policy_input"):
        MetaTrainer(load_config("tiny", {"train.iterations": 1}), tmp_path / "run", resume=True)


PHASE_CASES = [("pretrain_collect", 1), ("pretrain_train", 2), ("collect", 1), ("train", 2), ("evaluate", 3)]


@pytest.mark.parametrize("phase,after", PHASE_CASES, ids=[p for p, _ in PHASE_CASES])
def test_a_run_stopped_in_any_phase_resumes_bit_identically(tmp_path, phase, after):
    """A stop (Ctrl-C) is taken at the next unit of work, saved there, and the resumed run ends with
    the weights, replay, generators, counters and evaluations of a run that never stopped. (Before,
    a stop during pre-training saved 'not pre-trained, 0 s spent' and the resumed run did all of
    pre-training again.)"""
    from meld_core.checkpoint import load_checkpoint
    from meld_core.interruption import Interrupted, StopRequest
    from meld_core.meta_train import PHASE_NAMES

    cfg = load_config("tiny", {"train.iterations": 2, "train.trials_per_iteration": 2,
                               "train.pretrain_model_steps": 3, "train.eval_every": 1})
    straight = MetaTrainer(cfg, tmp_path / "straight", resume=False)
    straight.run(log=lambda m: None)

    stop, seen = StopRequest(), []

    def on_progress(status):
        seen.append((status.phase, status.done))
        if status.phase == PHASE_NAMES[phase] and status.done == after and status.iteration in (None, 0, 1):
            stop.request("test")

    first = MetaTrainer(cfg, tmp_path / "split", resume=False, stop=stop, on_progress=on_progress)
    with pytest.raises(Interrupted):
        first.run(log=lambda m: None)
    saved = load_checkpoint(tmp_path / "split" / CHECKPOINT_FILE)["progress"]
    assert saved["phase"] == phase
    assert saved["phase_done"] == (0 if phase == "evaluate" else after)     # an evaluation is run again whole
    assert saved["train_time_s"] > 0
    assert saved["pretrained"] == (phase not in ("pretrain_collect", "pretrain_train"))

    resumed = MetaTrainer(cfg, tmp_path / "split", resume=True)
    assert resumed.progress.phase == phase and resumed.progress.train_time_s == saved["train_time_s"]
    resumed.run(log=lambda m: None)
    a, b = _params(straight), _params(resumed)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    for ta, tb in zip(straight.replay.tasks, resumed.replay.tasks):
        da, db = ta.stored()[0], tb.stored()[0]
        assert da.keys() == db.keys() and all(np.array_equal(da[k], db[k]) for k in da)
    pa, pb = straight.progress, resumed.progress
    assert (pa.iteration, pa.env_steps, pa.model_steps, pa.ac_steps) == (pb.iteration, pb.env_steps, pb.model_steps,
                                                                        pb.ac_steps)
    assert [e["success_per_episode"] for e in pa.evals] == [e["success_per_episode"] for e in pb.evals]
    assert straight.rng.bit_generator.state == resumed.rng.bit_generator.state
    assert straight.algo.sac.log_alpha.item() == resumed.algo.sac.log_alpha.item()


def test_a_run_saved_before_a_key_existed_still_loads(trained_run):
    """A checkpoint from an older meld lacks the configuration keys added since; each takes its paper value
    (what meld did before it existed), so the run meta-tests and resumes instead of being refused."""
    from meld_core.checkpoint import load_agent, load_checkpoint, save_checkpoint
    cfg, run = trained_run
    payload = load_checkpoint(run / CHECKPOINT_FILE)
    del payload["format_version"]
    for key in ("task_decoder_weight", "task_decoder_std"):
        del payload["config"]["model"][key]
    payload["config"]["train"]["init_explore_trials"] = 0    # an option retired since, saved as off
    spec = payload.pop("spec")                   # checkpoints before task specs: rebuilt from the environment
    save_checkpoint(run / CHECKPOINT_FILE, payload)
    _, saved_spec, saved_cfg = load_agent(run)
    assert saved_cfg.model.task_decoder_weight == 0.0
    assert saved_spec.to_dict() == spec
    assert MetaTrainer(cfg, run, resume=True).resumed


def test_a_meta_test_reports_its_own_time_and_success(trained_run):
    """A meta-test on its own reports its trials, its own running time and the success of the trials
    so far (not the training run's time and last evaluation)."""
    from meld_core.checkpoint import load_agent
    from meld_core.evaluation import meta_test

    _, run = trained_run
    seen = []
    agent, spec, cfg = load_agent(run)
    result = meta_test(agent, spec, cfg, trials_per_task=1, on_progress=seen.append)
    assert [s.done for s in seen] == list(range(1, result["trials"] + 1))
    assert all(s.success_of == "success so far" and s.success_at is None for s in seen)
    assert seen[-1].success == result["success_per_episode"]
    times = [s.elapsed_s for s in seen]
    assert 0 < times[0] <= times[-1]
    assert "success so far" in seen[-1].text() and "env steps" not in seen[-1].text()


def test_meta_testing_reads_the_agent_only_and_matches_the_trainers_evaluation(trained_run):
    """``load_agent`` + ``meta_test`` give what the trainer restored from the same run measures, and leave
    the run directory as it was."""
    from meld_core.checkpoint import load_agent
    from meld_core.evaluation import meta_test

    cfg, run = trained_run
    before = {p.name: p.stat().st_mtime_ns for p in run.iterdir()}
    agent, spec, saved = load_agent(run)
    result = meta_test(agent, spec, saved, trials_per_task=1, seed_offset=7)
    trainer = MetaTrainer(cfg, run, resume=True)
    assert spec == trainer.spec and spec.image_shape == (64, 64)
    assert trainer.evaluate(trials_per_task=1, seed_offset=7) == result
    assert {p.name: p.stat().st_mtime_ns for p in run.iterdir()} == before
