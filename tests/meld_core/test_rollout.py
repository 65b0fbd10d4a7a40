"""Trial layout: images, actions and rewards line up with a direct environment rollout."""
import numpy as np
import pytest
import torch

from meld_core.agent import MeldAgent
from meld_core.latent_model import LatentModel
from meld_core.rollout import run_trial
from meld_core.sac import SAC
from meld_sim_bridge.envs.point2d import Point2DEnv


def test_random_trial_matches_direct_rollout():
    env = Point2DEnv(n_train=3, n_eval=1, episode_length=4)
    task = env.train_tasks[2]
    trial = run_trial(env, 2, task, episodes=2, seed=11, rng=np.random.default_rng(5))
    assert trial.images.shape == (9, 64, 64, 3) and trial.actions.shape == (8, 2)
    assert trial.dense[0] == 0.0 and trial.task_index == 2

    direct = Point2DEnv(n_train=3, n_eval=1, episode_length=4)
    direct.set_task(task)
    obs, _ = direct.reset(seed=11)
    assert np.array_equal(obs, trial.images[0])
    for k in range(8):
        obs, r, _, trunc, info = direct.step(trial.actions[k])
        assert r == pytest.approx(trial.dense[k + 1]) and info["success"] == trial.success[k + 1]
        if k == 3:  # end of episode 1: the next frame is episode 2's reset frame
            assert trunc
            obs, _ = direct.reset(seed=12)
        assert np.array_equal(obs, trial.images[k + 1]), k


def test_on_step_sees_every_step_before_the_reset():
    """on_step(env) runs after each of the trial's steps, with the environment as that step left it (the last
    step of episode 1 before episode 2's reset): its positions are the ones that earned the rewards."""
    env = Point2DEnv(n_train=3, n_eval=1, episode_length=4)
    task = env.train_tasks[1]
    positions = []
    trial = run_trial(env, 1, task, episodes=2, seed=11, rng=np.random.default_rng(5),
                      on_step=lambda e: positions.append(e.position.copy()))
    assert len(positions) == 8
    goal = task.goal(env.goal_distance)
    np.testing.assert_allclose([-np.linalg.norm(p - goal) for p in positions], trial.dense[1:], rtol=1e-6)


def test_agent_trial_keeps_latent_across_episodes(tiny_cfg):
    torch.manual_seed(0)
    env = Point2DEnv(n_train=2, n_eval=1, episode_length=3)
    model = LatentModel(tiny_cfg.model, (64, 64), 2)
    agent = MeldAgent(model, SAC(tiny_cfg.sac, model.latent_dim, 2).actor, "dense")
    calls = []
    update = agent.update
    agent.update = lambda img, r, a=None: calls.append((r, a is None)) or update(img, r, a)
    trial = run_trial(env, 0, env.train_tasks[0], episodes=2, seed=0, agent=agent)
    # one update per frame but the last; only the very first is a trial start
    assert len(calls) == 6 and [first for _, first in calls] == [True] + [False] * 5
    assert [r for r, _ in calls][1:] == pytest.approx(trial.dense[1:6].tolist())
    assert agent._step == 6

