import torch

from meld_core.sac import SAC


def test_actor_actions_bounded_and_log_prob_finite(tiny_cfg):
    torch.manual_seed(0)
    sac = SAC(tiny_cfg.sac, latent_dim=6, action_dim=3)
    a, logp = sac.actor(torch.randn(100, 6) * 10)
    assert a.shape == (100, 3) and torch.all(a.abs() <= 1) and torch.all(torch.isfinite(logp))
    m1, _ = sac.actor(torch.ones(2, 6), deterministic=True)
    m2, _ = sac.actor(torch.ones(2, 6), deterministic=True)
    assert torch.equal(m1, m2)


def test_target_entropy_defaults_to_minus_action_dim(tiny_cfg):
    assert SAC(tiny_cfg.sac, 6, 5).target_entropy == -5.0


def test_update_lowers_td_error_on_fixed_batch(tiny_cfg):
    torch.manual_seed(0)
    sac = SAC(tiny_cfg.sac, latent_dim=6, action_dim=2)
    z, a = torch.randn(256, 6), torch.rand(256, 2) * 2 - 1
    r, nz, done = z[:, 0] - a[:, 1], torch.randn(256, 6), (torch.rand(256) < 0.1).float()

    def td_error():
        torch.manual_seed(1)
        y = sac.td_target(r, nz, done)
        q1, q2 = sac.critic(z, a)
        return (0.5 * ((q1 - y) ** 2 + (q2 - y) ** 2)).mean().item()

    before = td_error()
    for _ in range(300):
        stats = sac.update(z, a, r, nz, done)
    assert td_error() < 0.5 * before
    assert {"sac/critic_loss", "sac/actor_loss", "sac/alpha", "sac/entropy"} <= set(stats)


def test_update_does_not_touch_latent_gradients(tiny_cfg):
    sac = SAC(tiny_cfg.sac, latent_dim=4, action_dim=2)
    z = torch.randn(8, 4, requires_grad=True)
    sac.update(z, torch.zeros(8, 2), torch.zeros(8), z * 2, torch.zeros(8))
    assert z.grad is None


def test_target_critic_is_polyak_average(tiny_cfg):
    torch.manual_seed(0)
    sac = SAC(tiny_cfg.sac, 4, 2)
    before = [p.clone() for p in sac.critic_target.parameters()]
    sac.update(torch.randn(8, 4), torch.zeros(8, 2), torch.ones(8), torch.randn(8, 4), torch.zeros(8))
    tau = tiny_cfg.sac.tau
    for b, t, p in zip(before, sac.critic_target.parameters(), sac.critic.parameters()):
        torch.testing.assert_close(t, (1 - tau) * b + tau * p)
