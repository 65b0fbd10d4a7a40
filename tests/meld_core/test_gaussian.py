import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence as torch_kl

from meld_core.gaussian import Gaussian, gaussian_log_prob, kl_divergence, standard_normal_like


def test_kl_known_values():
    zero, one = torch.zeros(1), torch.ones(1)
    assert kl_divergence(Gaussian(zero, one), Gaussian(zero, one)).item() == pytest.approx(0.0, abs=1e-7)
    # KL(N(1,1) || N(0,1)) = 1/2
    assert kl_divergence(Gaussian(one, one), Gaussian(zero, one)).item() == pytest.approx(0.5)
    # KL(N(0,2^2) || N(0,1)) = (4 - 1 - ln 4) / 2
    assert kl_divergence(Gaussian(zero, 2 * one), Gaussian(zero, one)).item() == pytest.approx((3 - math.log(4)) / 2)


def test_kl_matches_torch_and_sums_over_last_dim():
    g = torch.Generator().manual_seed(0)
    mq, mp = torch.randn(5, 7, generator=g), torch.randn(5, 7, generator=g)
    sq, sp = torch.rand(5, 7, generator=g) + 0.1, torch.rand(5, 7, generator=g) + 0.1
    ours = kl_divergence(Gaussian(mq, sq), Gaussian(mp, sp))
    ref = torch_kl(Normal(mq, sq), Normal(mp, sp)).sum(-1)
    assert ours.shape == (5,)
    torch.testing.assert_close(ours, ref)


def test_log_prob_matches_torch():
    x, m, s = torch.randn(4, 3), torch.randn(4, 3), torch.rand(4, 3) + 0.2
    torch.testing.assert_close(gaussian_log_prob(x, m, s), Normal(m, s).log_prob(x))
    torch.testing.assert_close(Gaussian(m, s).log_prob(x), Normal(m, s).log_prob(x).sum(-1))
    # a scalar (fixed) std, as the image decoder uses
    torch.testing.assert_close(gaussian_log_prob(x, m, 0.3), Normal(m, 0.3).log_prob(x))


def test_standard_normal_like():
    p = standard_normal_like(torch.zeros(2, 3, 9), 4)
    assert p.mean.shape == (2, 3, 4) and torch.all(p.std == 1) and torch.all(p.mean == 0)
