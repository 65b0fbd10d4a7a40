import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence as torch_kl

from meld_core.config import load_config
from meld_core.conv_nets import Decoder, Encoder, check_image_shape, image_to_tensor
from meld_core.latent_model import LatentModel


def _batch(B, T, H, W, A, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (B, T, H, W, 3), generator=g, dtype=torch.uint8)
    rewards = torch.randn(B, T, generator=g)
    actions = torch.rand(B, T - 1, A, generator=g) * 2 - 1
    return images, rewards, actions


@pytest.mark.parametrize("width", [64, 128])
def test_paper_conv_shapes(width):
    channels = (32, 64, 128, 256, 256)
    enc = Encoder(channels, (64, width))
    x = torch.zeros(3, 3, 64, width)
    assert enc(x).shape == (3, 256)
    dec = Decoder(40, channels, (64, width))
    assert dec(torch.zeros(3, 40)).shape == (3, 3, 64, width)
    # kernels 5/3/3/3/4 (rectangular 4x8 for two cameras side by side)
    kernels = [m.kernel_size for m in enc.net if isinstance(m, torch.nn.Conv2d)]
    assert kernels == [(5, 5), (3, 3), (3, 3), (3, 3), (4, 4 * (width // 64))]
    assert [m.out_channels for m in enc.net if isinstance(m, torch.nn.Conv2d)] == list(channels)


@pytest.mark.parametrize("width", [32, 64])
def test_32_pixel_cameras_reach_a_1x1_feature_and_back(width):
    """32x32 cameras (a cpu-profile option): the fourth layer keeps the 4x4 map, so the encoder's feature
    is 1x1 and the decoder's mean image has the input's shape; the same weights' shapes as for 64."""
    channels = (8, 16, 32, 64, 64)
    enc, dec = Encoder(channels, (32, width)), Decoder(40, channels, (32, width))
    assert enc(torch.zeros(3, 3, 32, width)).shape == (3, 64)
    assert dec(torch.zeros(3, 40)).shape == (3, 3, 32, width)
    strides = [m.stride for m in enc.net if isinstance(m, torch.nn.Conv2d)]
    assert strides == [(2, 2), (2, 2), (2, 2), (1, 1), (1, 1)]
    big = Encoder(channels, (64, 2 * width))
    assert [p.shape for p in enc.parameters()] == [p.shape for p in big.parameters()]


@pytest.mark.parametrize("shape", [(48, 64), (32, 128), (64, 32)])
def test_unsupported_image_shape_rejected(shape):
    with pytest.raises(ValueError, match="64x64 or 32x32"):
        check_image_shape(shape)


@pytest.mark.parametrize("width", [64, 128])
def test_posterior_and_elbo_shapes(tiny_cfg, width):
    torch.manual_seed(0)
    model = LatentModel(tiny_cfg.model, (64, width), action_dim=3)
    images, rewards, actions = _batch(2, 5, 64, width, 3)
    loss, stats, seq = model.elbo_loss(images, rewards, rewards, actions)
    D = tiny_cfg.model.z1_dim + tiny_cfg.model.z2_dim
    assert loss.shape == () and torch.isfinite(loss)
    assert seq.latent.shape == (2, 5, D)
    assert seq.z1_dist.mean.shape == (2, 5, tiny_cfg.model.z1_dim)
    # p(z1_1) is the unit Gaussian
    assert torch.all(seq.z1_prior.mean[:, 0] == 0) and torch.all(seq.z1_prior.std[:, 0] == 1)
    assert set(stats) >= {"model/kl", "model/image_nll", "model/reward_nll"}


def test_elbo_equals_its_terms():
    """-ELBO = mean_t [KL(q||p) - log N(x; dec(z), s^2) - w log N(r~; mu_r(z), s_r(z)^2)]."""
    tiny_cfg = load_config("tiny", {"model.decode_fraction": 1.0})
    torch.manual_seed(1)
    model = LatentModel(tiny_cfg.model, (64, 64), action_dim=2)
    images, rewards, actions = _batch(3, 4, 64, 64, 2, seed=3)
    targets = rewards * 2.0
    loss, _, seq = model.elbo_loss(images, rewards, targets, actions)
    with torch.no_grad():
        recon = model.decode_image(seq.latent)
        image_ll = Normal(recon, tiny_cfg.model.image_std).log_prob(image_to_tensor(images)).sum((-3, -2, -1))
        r = model.decode_reward(seq.latent)
        reward_ll = Normal(r.mean, r.std).log_prob(targets)
        kl = torch_kl(Normal(seq.z1_dist.mean, seq.z1_dist.std),
                      Normal(seq.z1_prior.mean, seq.z1_prior.std)).sum(-1)
        expected = (kl - image_ll - tiny_cfg.model.reward_weight * reward_ll).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def _model_and_batch(overrides: dict, steps: int):
    """A tiny model (every frame decoded) with ``overrides``, and a batch of 2 trials of ``steps`` frames; the
    torch generator is left seeded for the ELBO's sampling."""
    cfg = load_config("tiny", {"model.decode_fraction": 1.0, **overrides})
    torch.manual_seed(4)
    model = LatentModel(cfg.model, (64, 64), action_dim=2)
    batch = _batch(2, steps, 64, 64, 2, seed=5)
    torch.manual_seed(6)
    return model, batch


def test_trial_wide_reward_decoder():
    """task_decoder_weight w_d adds -w_d mean_{t, t' >= 1} log N(r~_t'; mu_d(z_t, enc(x_t')), sigma_d^2): each belief
    decodes every reward of its trial (past and future), and the gradient reaches the encoder and the filter."""
    model, (images, rewards, actions) = _model_and_batch({"model.task_decoder_weight": 3.0,
                                                          "model.task_decoder_std": 0.5}, steps=5)
    loss, stats, seq = model.elbo_loss(images, rewards, rewards, actions)
    feats = model.features(images, rewards)[..., :model.encoder.out_dim]
    ll = model._task_reward_log_prob(seq.latent, feats, rewards)
    assert ll.shape == (2, 5, 4)
    # entry (b, t, k) decodes r_{k+1} from z_t and enc(x_{k+1})
    z, f = seq.latent[1, 3], feats[1, 2]
    mean = model.task_decoder(torch.cat([z, f])).squeeze()
    expected = -0.5 * ((rewards[1, 2] - mean) / 0.5) ** 2 - math.log(0.5) - 0.5 * math.log(2 * math.pi)
    assert ll[1, 3, 1].item() == pytest.approx(expected.item(), rel=1e-5)
    assert stats["model/task_reward_nll"] == pytest.approx(-ll.mean().item(), rel=1e-5)
    model.zero_grad()
    ll.mean().backward()
    assert model.encoder.net[0].weight.grad.abs().sum() > 0 and model.z1_post.net[0].weight.grad.abs().sum() > 0
    assert LatentModel(load_config("tiny").model, (64, 64), 2).task_decoder is None     # off: no such net


def test_decoding_a_fraction_of_frames_is_an_unbiased_image_term():
    """With decode_fraction f, the image term is the mean log N(x; dec(z), s^2) over a
    random f of the frames: each draw is a subset mean, and draws average to the full mean."""
    cfg = load_config("tiny", {"model.decode_fraction": 0.25})
    torch.manual_seed(0)
    model = LatentModel(cfg.model, (64, 64), action_dim=2)
    images, _, _ = _batch(2, 4, 64, 64, 2)
    latent = torch.randn(2, 4, cfg.model.z1_dim + cfg.model.z2_dim)
    target = image_to_tensor(images)
    with torch.no_grad():
        per_frame = Normal(model.decode_image(latent), cfg.model.image_std).log_prob(target).sum((-3, -2, -1)).flatten()
        draws = [model._image_log_prob(latent, target) for _ in range(400)]
    assert all(d.shape == (2,) for d in draws)        # a quarter of the 8 frames
    for d in draws[:20]:
        assert any(torch.allclose(d[0], v, rtol=1e-5) for v in per_frame)
    estimate = torch.stack([d.mean() for d in draws]).mean()
    spread = per_frame.std() / math.sqrt(2 * 400)
    assert abs(estimate - per_frame.mean()) < 4 * spread


def test_reward_input_changes_the_posterior(tiny_cfg):
    torch.manual_seed(2)
    model = LatentModel(tiny_cfg.model, (64, 64), action_dim=2)
    images, rewards, actions = _batch(1, 3, 64, 64, 2)
    f1 = model.features(images, rewards)
    f2 = model.features(images, rewards + 1.0)
    # the reward is tiled reward_tile times after the image feature
    assert f1.shape[-1] == model.encoder.out_dim + tiny_cfg.model.reward_tile
    torch.testing.assert_close(f2[..., -tiny_cfg.model.reward_tile:] - f1[..., -tiny_cfg.model.reward_tile:],
                               torch.ones(1, 3, tiny_cfg.model.reward_tile))


def _train(model, images, rewards, actions, steps=30):
    """Adam steps on one batch's negative ELBO: (first loss, last loss, last stats)."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    first = None
    for _ in range(steps):
        torch.manual_seed(0)
        loss, stats, _ = model.elbo_loss(images, rewards, rewards, actions)
        first = loss.item() if first is None else first
        opt.zero_grad(); loss.backward(); opt.step()
    return first, loss.item(), stats


def test_model_gradient_step_lowers_loss(tiny_cfg):
    torch.manual_seed(0)
    model = LatentModel(tiny_cfg.model, (64, 64), action_dim=2)
    first, last, _ = _train(model, *_batch(2, 4, 64, 64, 2))
    assert last < first


def test_trial_wide_reward_decoder_leaves_out_reset_frames():
    """A new episode's first frame carries the previous episode's last reward, which no feature of that image
    predicts: the trial-wide decoder's term averages over the other frames only."""
    model, (images, rewards, actions) = _model_and_batch({"model.task_decoder_weight": 3.0}, steps=5)
    _, full, seq = model.elbo_loss(images, rewards, rewards, actions)
    torch.manual_seed(6)
    _, kept, _ = model.elbo_loss(images, rewards, rewards, actions, reset_frames=(2,))
    feats = model.features(images, rewards)[..., :model.encoder.out_dim]
    ll = model._task_reward_log_prob(seq.latent, feats, rewards)
    assert full["model/task_reward_nll"] == pytest.approx(-ll.mean().item(), rel=1e-5)
    assert kept["model/task_reward_nll"] == pytest.approx(-ll[..., [0, 2, 3]].mean().item(), rel=1e-5)


def test_deterministic_z2_is_a_gru_memory_and_trains():
    """z2_transition: deterministic: z2_t = GRU(z2_{t-1}, [z1_t, a_{t-1}]) from z2_0 = 0, a_0 = 0, std 0;
    the KL stays z1's; the ELBO still trains."""
    cfg = load_config("tiny", {"model.z2_transition": "deterministic"}).model
    torch.manual_seed(0)
    model = LatentModel(cfg, (64, 64), action_dim=2)
    images, rewards, actions = _batch(2, 5, 64, 64, 2)
    seq = model.posterior(model.features(images, rewards), actions)
    assert torch.all(seq.z2_dist.std == 0) and torch.equal(seq.z2, seq.z2_dist.mean)
    cell = model.z2_next.cell
    z2 = cell(torch.cat([seq.z1[:, 0], torch.zeros(2, 2)], -1), torch.zeros(2, cfg.z2_dim))
    torch.testing.assert_close(seq.z2[:, 0], z2)
    for t in range(1, 5):
        z2 = cell(torch.cat([seq.z1[:, t], actions[:, t - 1]], -1), seq.z2[:, t - 1])
        torch.testing.assert_close(seq.z2[:, t], z2)
    assert not any(isinstance(m, torch.nn.GRUCell) for m in LatentModel(load_config("tiny").model, (64, 64), 2).modules())
    first, last, stats = _train(model, images, rewards, actions)
    assert last < first and math.isfinite(stats["model/kl"])


@pytest.mark.parametrize("z2_transition", ["stochastic", "deterministic"])
def test_predict_step_is_the_priors_mean_and_ignores_the_next_frame(tiny_cfg, z2_transition):
    """predict_step(z2_{t-1}, a_{t-1}) = the means of p(z1_t | z2_{t-1}, a_{t-1}) and of z2_t's conditional
    given that z1_t: the same as the posterior sequence's prior at step t, whatever x_t and r_t are."""
    import dataclasses
    torch.manual_seed(0)
    cfg = dataclasses.replace(tiny_cfg.model, z2_transition=z2_transition)
    model = LatentModel(cfg, (64, 64), action_dim=3)
    images, rewards, actions = _batch(2, 4, 64, 64, 3)
    with torch.no_grad():
        seq = model.posterior(model.features(images, rewards), actions)
        pred = model.predict_step(seq.z2[:, 1], actions[:, 1])
        torch.testing.assert_close(pred.z1, seq.z1_prior.mean[:, 2])
        torch.testing.assert_close(pred.z2, model.z2_next(pred.z1, seq.z2[:, 1], actions[:, 1]).mean)
        assert pred.latent.shape == (2, cfg.z1_dim + cfg.z2_dim)
        assert model.decode_reward(pred.latent).mean.shape == (2,)
