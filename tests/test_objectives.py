"""The maths of the objectives: each term against an independent computation."""

import math

import pytest
import torch
import torch.nn.functional as F

from disentangle.objectives import (
    ACTIVE_KL_THRESHOLD,
    Discriminator,
    beta_vae_loss,
    count_active_dimensions,
    discriminator_loss,
    discriminator_tc,
    factor_vae_loss,
    gaussian_log_density,
    kl_per_dimension,
    permute_dims,
    reconstruction_loss,
    reconstruction_per_image,
    sample_latent,
    total_correlation_mws,
)

torch.set_num_threads(2)


def generator(seed=0):
    return torch.Generator().manual_seed(seed)


def test_kl_matches_a_monte_carlo_estimate():
    mean = torch.tensor([[0.5, -1.0, 0.0], [1.5, 0.2, -0.3]])
    log_var = torch.tensor([[-1.0, 0.5, 0.0], [-2.0, 0.0, 1.0]])
    samples = 200_000
    z = sample_latent(mean.repeat(samples, 1), log_var.repeat(samples, 1), generator())
    log_q = gaussian_log_density(z, mean.repeat(samples, 1), log_var.repeat(samples, 1))
    log_p = gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z))
    monte_carlo = (log_q - log_p).view(samples, 2, 3).mean(0).mean(0)
    assert torch.allclose(kl_per_dimension(mean, log_var), monte_carlo, atol=0.01)
    assert kl_per_dimension(torch.zeros(4, 2), torch.zeros(4, 2)).abs().max() == 0


def test_active_dimensions_count_kl_above_the_threshold():
    kl = torch.tensor([0.0, ACTIVE_KL_THRESHOLD / 2, 2 * ACTIVE_KL_THRESHOLD, 3.0])
    assert count_active_dimensions(kl).item() == 2


def test_bernoulli_reconstruction_is_summed_over_pixels_and_averaged_over_images():
    logits = torch.randn(4, 1, 8, 8, generator=generator())
    images = (torch.rand(4, 1, 8, 8, generator=generator(1)) > 0.5).float()
    p = torch.sigmoid(logits)
    by_hand = -(images * p.log() + (1 - images) * (1 - p).log()).sum((1, 2, 3))
    assert torch.allclose(reconstruction_per_image(logits, images), by_hand, atol=1e-4)
    assert torch.allclose(reconstruction_loss(logits, images), by_hand.mean(), atol=1e-4)
    doubled = reconstruction_loss(logits.repeat(2, 1, 1, 1), images.repeat(2, 1, 1, 1))
    assert torch.allclose(doubled, by_hand.mean(), atol=1e-4), "batch size must not scale it"


def test_gaussian_reconstruction_is_the_squared_error_of_the_means():
    logits, images = torch.randn(3, 3, 4, 4), torch.rand(3, 3, 4, 4)
    expected = (torch.sigmoid(logits) - images).square().sum((1, 2, 3)).mean()
    assert torch.allclose(reconstruction_loss(logits, images, "gaussian"), expected)
    with pytest.raises(ValueError):
        reconstruction_loss(logits, images, "poisson")


def test_permuting_dimensions_keeps_marginals_and_breaks_dependence():
    a = torch.randn(4000, generator=generator())
    z = torch.stack([a, a, -a], dim=1)  # perfectly dependent dimensions
    permuted = permute_dims(z, generator(1))
    for d in range(3):  # each column holds exactly the same values
        assert torch.equal(permuted[:, d].sort().values, z[:, d].sort().values)
    correlation = torch.corrcoef(permuted.T)
    assert correlation[0, 1].abs() < 0.1 and correlation[0, 2].abs() < 0.1
    assert torch.equal(permute_dims(z, generator(1)), permuted), "seeded, hence reproducible"


def _gaussian_posteriors(correlation, size=2000):
    g = generator(3)
    a = torch.randn(size, generator=g)
    b = correlation * a + math.sqrt(1 - correlation ** 2) * torch.randn(size, generator=g)
    mean = torch.stack([a, b, torch.randn(size, generator=g)], dim=1)
    log_var = torch.full_like(mean, math.log(0.25))
    return sample_latent(mean, log_var, g), mean, log_var


def test_mws_total_correlation_is_zero_for_independent_and_positive_for_correlated_latents():
    independent = total_correlation_mws(*_gaussian_posteriors(0.0)).item()
    correlated = total_correlation_mws(*_gaussian_posteriors(0.9)).item()
    # The aggregate posterior is Gaussian with correlation 0.9 / 1.25 between two dimensions,
    # so its TC is -log(1 - 0.72^2) / 2 = 0.365 nats.
    assert abs(independent) < 0.05
    assert correlated == pytest.approx(-0.5 * math.log(1 - 0.72 ** 2), abs=0.08)


def test_chen_et_al_dataset_size_shifts_the_estimate_by_d_minus_1_log_n():
    z, mean, log_var = _gaussian_posteriors(0.5, size=256)
    shift = (total_correlation_mws(z, mean, log_var, dataset_size=1000)
             - total_correlation_mws(z, mean, log_var))
    assert shift.item() == pytest.approx(2 * math.log(1000), rel=1e-4)


def test_discriminator_is_six_layers_of_1000_leaky_relu_units_with_two_logits():
    discriminator = Discriminator(latent_dim=10)
    linears = [m for m in discriminator.net if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linears] == [1000] * 6 + [2]
    assert sum(isinstance(m, torch.nn.LeakyReLU) for m in discriminator.net) == 6
    assert discriminator(torch.randn(5, 10)).shape == (5, 2)


def test_discriminator_loss_accuracy_and_tc_estimate():
    confident_joint = torch.tensor([[3.0, -3.0]] * 4)
    confident_permuted = torch.tensor([[-3.0, 3.0]] * 4)
    loss, accuracy = discriminator_loss(confident_joint, confident_permuted)
    assert accuracy.item() == 1.0
    assert loss.item() == pytest.approx(F.softplus(torch.tensor(-6.0)).item(), rel=1e-4)
    loss, accuracy = discriminator_loss(torch.zeros(4, 2), torch.zeros(4, 2))
    assert loss.item() == pytest.approx(math.log(2))
    # log D/(1-D) with D = softmax class 0 is the logit difference
    assert discriminator_tc(confident_joint).item() == pytest.approx(6.0)


def test_each_objective_reduces_to_the_vae():
    reconstruction, kl, tc = torch.tensor(30.0), torch.tensor(12.0), torch.tensor(2.5)
    vae = reconstruction + kl
    assert beta_vae_loss(reconstruction, kl, beta=1.0) == vae
    assert factor_vae_loss(reconstruction, kl, tc, gamma=0.0) == vae
    assert beta_vae_loss(reconstruction, kl, beta=4.0) == reconstruction + 4 * kl
    assert factor_vae_loss(reconstruction, kl, tc, gamma=10.0) == vae + 25
