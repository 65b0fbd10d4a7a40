import numpy as np
import pytest

from meld_core.replay import MultiTaskReplay, Trial, TrialReplay


def make_trial(task, marker, L=6, H=8, W=8, A=2):
    """A trial whose every array carries ``marker``, so mixing would show."""
    return Trial(task_index=task,
                 images=np.full((L + 1, H, W, 3), marker % 256, np.uint8),
                 actions=np.full((L, A), marker, np.float32),
                 dense=np.full(L + 1, marker, np.float32),
                 sparse=np.zeros(L + 1, np.float32),
                 success=np.zeros(L + 1, bool))


def test_batches_are_whole_trials_of_one_task():
    replay = MultiTaskReplay(n_tasks=3, capacity_transitions=60, trial_length=6)
    for m in range(12):
        replay.add(make_trial(m % 3, 100 + m))
    batch = replay.sample(32, np.random.default_rng(0))
    assert batch["images"].shape == (32, 7, 8, 8, 3) and batch["actions"].shape == (32, 6, 2)
    for i in range(32):
        marker = batch["actions"][i, 0, 0]
        assert np.all(batch["actions"][i] == marker) and np.all(batch["dense"][i] == marker)
        assert np.all(batch["images"][i] == int(marker) % 256)
        assert (int(marker) - 100) % 3 == batch["task_index"][i]


def test_capacity_drops_oldest_trials_per_task():
    replay = MultiTaskReplay(n_tasks=2, capacity_transitions=18, trial_length=6)  # 3 trials per task
    for m in range(5):
        replay.add(make_trial(0, m))
    replay.add(make_trial(1, 50))
    assert len(replay.tasks[0]) == 3 and len(replay.tasks[1]) == 1
    kept = sorted(int(v) for v in replay.tasks[0].stored()[0]["actions"][:, 0, 0])
    assert kept == [2, 3, 4]


def test_uint8_images_round_trip_through_save_and_load(tmp_path):
    rng = np.random.default_rng(1)
    replay = MultiTaskReplay(n_tasks=2, capacity_transitions=12, trial_length=6)
    for m in range(3):
        t = make_trial(m % 2, m)
        t.images = rng.integers(0, 256, t.images.shape, dtype=np.uint8)
        replay.add(t)
    replay.save(tmp_path / "r.npz", stamp="x")
    loaded = MultiTaskReplay.load(tmp_path / "r.npz")
    assert loaded.stamp == "x"
    for a, b in zip(replay.tasks, loaded.tasks):
        da, na = a.stored()
        db, nb = b.stored()
        assert na == nb
        for k in da:
            assert db[k].dtype == da[k].dtype and np.array_equal(da[k], db[k])
    assert loaded.tasks[0].stored()[0]["images"].dtype == np.uint8
    # same generator state, same batch
    b1 = replay.sample(4, np.random.default_rng(7))
    b2 = loaded.sample(4, np.random.default_rng(7))
    assert all(np.array_equal(b1[k], b2[k]) for k in b1)


def test_bad_trials_rejected_with_clear_message():
    replay = MultiTaskReplay(n_tasks=1, capacity_transitions=12, trial_length=6)
    t = make_trial(0, 1)
    t.dense[3] = np.nan
    with pytest.raises(ValueError, match="dense contains NaN"):
        replay.add(t)
    t = make_trial(0, 1)
    t.images = t.images.astype(np.float32)
    with pytest.raises(ValueError, match="uint8"):
        replay.add(t)
    with pytest.raises(ValueError, match="stores 6"):
        replay.add(make_trial(0, 1, L=5))
    with pytest.raises(ValueError, match="task index"):
        replay.add(make_trial(3, 1))
    assert replay.num_trials() == 0


def test_sampling_empty_replay_is_an_error():
    with pytest.raises(RuntimeError, match="empty"):
        MultiTaskReplay(1, 12, 6).sample(2, np.random.default_rng(0))


def test_episode_success_reads_last_step_of_each_episode():
    t = make_trial(0, 1, L=6)
    t.success[3] = True   # end of episode 1 (3 steps per episode)
    assert t.episode_success(3) == [True, False]
    assert TrialReplay(1).capacity == 1
