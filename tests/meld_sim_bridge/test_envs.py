import numpy as np
import pytest

from meld_sim_bridge.registry import ENVIRONMENTS, env_class, make_env


@pytest.fixture(scope="module", params=sorted(ENVIRONMENTS))
def env(request):
    e = make_env(request.param, n_train=6, n_eval=3)
    yield e
    e.close()


def _rollout(env, seed, steps=6):
    env.set_task(env.train_tasks[1])
    obs, _ = env.reset(seed=seed)
    frames, rewards = [obs], []
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        obs, r, term, trunc, info = env.step(rng.uniform(-1, 1, env.action_space.shape))
        frames.append(obs)
        rewards.append((r, info["sparse_reward"], info["success"]))
    return np.stack(frames), rewards


def test_observation_contract(env):
    obs, info = env.reset(seed=0)
    assert obs.dtype == np.uint8 and obs.shape == env.observation_space.shape
    assert obs.shape in {(64, 64, 3), (64, 128, 3)}   # one camera, or scene and wrist side by side
    assert {"dense_reward", "sparse_reward", "success"} <= set(info)


def test_same_seed_same_pixels(env):
    f1, r1 = _rollout(env, seed=3)
    f2, r2 = _rollout(env, seed=3)
    assert np.array_equal(f1, f2) and r1 == r2
    f3, _ = _rollout(env, seed=4)
    assert not np.array_equal(f1, f3)
    assert f1.std() > 0  # something is drawn


def test_task_sets_fixed_and_disjoint(env):
    assert len(env.train_tasks) == 6 and len(env.held_out_tasks) == 3
    assert not set(env.train_tasks) & set(env.held_out_tasks)
    again = make_env(env.name, n_train=6, n_eval=3)
    assert again.train_tasks == env.train_tasks and again.held_out_tasks == env.held_out_tasks
    other_seed = make_env(env.name, n_train=6, n_eval=3, task_seed=1)
    assert other_seed.train_tasks != env.train_tasks


@pytest.mark.parametrize("bad, match", [([0.0] * 9, "length"), ([np.nan] * 9, "NaN")])
def test_bad_actions_rejected(env, bad, match):
    env.reset(seed=0)
    n = env.action_space.shape[0]
    action = bad if match == "length" else bad[:n]
    with pytest.raises(ValueError, match=match):
        env.step(action)


def test_episode_truncates(env):
    env.reset(seed=0)
    for k in range(env.episode_length):
        *_, trunc, info = env.step(np.zeros(env.action_space.shape))
    assert trunc and info["step"] == env.episode_length


def test_unknown_env():
    with pytest.raises(ValueError, match="known"):
        make_env("sawyer-teleport")


def test_gymnasium_conventions(env):
    """render_fps is the control rate, and gymnasium.make builds the same environment (with Gymnasium's
    own checks of the API wrapped around it) under the id meld/<name>-v0."""
    import gymnasium
    from gymnasium.utils.env_checker import check_env

    import meld_sim_bridge  # noqa: F401  (registers the ids)
    from meld_sim_bridge.registry import gymnasium_id

    assert env.metadata["render_fps"] == pytest.approx(1.0 / env.control_period)
    made = gymnasium.make(gymnasium_id(env.name), n_train=6, n_eval=3)
    try:
        assert made.unwrapped.name == env.name and type(made.unwrapped) is type(env)
        obs, _ = made.reset(seed=0)
        assert obs.shape == env.observation_space.shape
        check_env(made.unwrapped, skip_render_check=True)
    finally:
        made.close()


def test_no_deprecated_mujoco_features():
    """MuJoCo prints a warning when a model uses a feature it will drop (half_cheetah.xml's settotalmass)."""
    import subprocess
    import sys
    code = ("from meld_sim_bridge.registry import ENVIRONMENTS, make_env\n"
            "for name in ENVIRONMENTS: make_env(name, n_train=2, n_eval=1).reset(seed=0)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "deprecated" not in (out.stdout + out.stderr).lower(), out.stdout + out.stderr


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_the_observation_is_the_named_cameras_side_by_side(name):
    """What the graph reads from the class without building it (``env_class(name).cameras``) is what the
    built environment observes: one square image per camera, left to right."""
    cameras = env_class(name).cameras
    env = make_env(name)
    try:
        h, w, c = env.observation_space.shape
        assert cameras and w == h * len(cameras) and c == 3
        assert env.reset(seed=0)[0].shape == (h, w, 3)
    finally:
        env.close()
