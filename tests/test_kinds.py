"""The model-kind registry: a new VAE variant is one entry. A toy kind registered inside this
test trains through the Trainer, a one-trial sweep, the analysis summary and a figure, with no
other file of the project knowing about it."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from disentangle import kinds
from disentangle.errors import UserError
from disentangle.kinds import Hyperparameter, ModelKind

TOY = ModelKind(
    key="toy_vae", name="ToyVAE", reference="this test",
    loss=lambda terms, alpha: terms.reconstruction + alpha * terms.kl + 0.5 * terms.kl_dims.max(),
    hyperparameter=Hyperparameter("alpha", "α", default=2.0, paper_grid=(1, 3)),
    description="reconstruction + α·KL + half the largest KL of one dimension")


@pytest.fixture
def toy_kind():
    """TOY registered for this test only; Ray pickles this module's functions by value, so
    the workers receive its loss with the kind."""
    import ray.cloudpickle

    kinds.register(TOY)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield TOY
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    kinds.KINDS.unregister(TOY.key)


def test_the_registry_names_each_kind_and_its_hyperparameter():
    assert list(kinds.KINDS)[:3] == ["vae", "beta_vae", "factor_vae"]
    assert kinds.get_kind("beta_vae").label(4.0) == "β-VAE β=4"
    assert kinds.get_kind("factor_vae").slug(40.0) == "factor_vae_gamma=40"
    assert kinds.get_kind("vae").hyperparameter is None
    assert kinds.get_kind("factor_vae").discriminator
    assert kinds.hyperparameter_keys()[:2] == ["beta", "gamma"]
    with pytest.raises(UserError, match="unknown model 'gan'"):
        kinds.get_kind("gan")
    with pytest.raises(ValueError, match="already registered"):
        kinds.register(ModelKind(key="vae", name="other", reference="", loss=lambda t, w: t.kl))


def test_the_vae_is_the_baseline_each_kind_reaches_at_its_neutral_value():
    assert kinds.baseline_kind().key == "vae"
    assert kinds.is_baseline("vae")
    assert kinds.is_baseline("beta_vae", 1.0) and kinds.is_baseline("factor_vae", 0)
    assert not kinds.is_baseline("beta_vae", 4.0) and not kinds.is_baseline("annealed_vae", 0.0)
    assert kinds.neutral_value("dip_vae_ii") == 0.0 and kinds.neutral_value("vae") is None


def test_a_toy_kind_trains_sweeps_and_is_analysed(toy_kind, ray_cluster, tmp_path, tiny):
    from analysis.figures import metrics_vs_hyperparameter
    from analysis.plotting import swept_kinds
    from analysis.results import load_results
    from disentangle.data import get_dataset
    from disentangle.training import Trainer
    from study.config import load_study
    from study.sweep import run_sweep

    # the Trainer: the kind's loss is what it optimises
    dataset = get_dataset("dsprites")
    trainer = Trainer({"model": "toy_vae", "alpha": 3.0, "batch_size": 8, "latent_dim": 4,
                       "precision": "fp32"}, dataset, "cpu")
    loss, discriminator_term, metrics = trainer.losses(trainer.streams.step_inputs(0))
    assert discriminator_term is None
    values = dict(zip(trainer.metric_names, metrics[0].tolist()))
    kl_dims = torch.tensor([values[f"kl_dim_{d}"] for d in range(4)])
    expected = values["reconstruction"] + 3.0 * kl_dims.sum() + 0.5 * kl_dims.max()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert values["reconstruction"] > 0
    assert np.isfinite(list(trainer.train_steps(2).values())).all()

    # a one-trial sweep, in Ray workers that learn the kind from the driver
    study = load_study("quick", tiny(epochs=1) + ['variants=[{"model": "toy_vae", "alpha": 3}]'])
    outcome = run_sweep(study, tmp_path, "toy")
    assert list(outcome.table["setting"]) == ["ToyVAE α=3"]
    assert outcome.table["models"].item() == "1/1"

    # the analysis: its summary and a figure
    results = load_results(tmp_path / "toy")
    summary = results.summary()
    row = summary[summary["metric"] == "reconstruction"]
    assert row["setting"].item() == "ToyVAE α=3" and row["alpha"].item() == 3.0
    assert row["hyperparameter"].item() == "alpha" and row["count"].item() == 1
    assert swept_kinds(results.final) == ["toy_vae"]
    figure = metrics_vs_hyperparameter(results.final, tmp_path / "figures")
    assert figure is not None and figure.png.stat().st_size > 10_000


def fixed_terms(step: int = 0):
    """Terms of one model on a fixed batch of 6 codes in 3 dimensions."""
    from disentangle.objectives import Terms, kl_per_dimension

    generator = torch.Generator().manual_seed(4)
    mean = torch.randn(1, 6, 3, generator=generator, dtype=torch.float64)
    mean[0, :, 1] += 0.8 * mean[0, :, 0]        # correlated means
    log_var = 0.3 * torch.randn(1, 6, 3, generator=generator, dtype=torch.float64) - 1
    z = mean + torch.exp(0.5 * log_var) * torch.randn(1, 6, 3, generator=generator,
                                                      dtype=torch.float64)
    kl_dims = kl_per_dimension(mean, log_var)
    return Terms(reconstruction=torch.tensor([50.0], dtype=torch.float64), kl=kl_dims.sum(-1),
                 kl_dims=kl_dims, mean=mean, log_var=log_var, z=z, step=step)


def numpy_covariance(x):
    """E[x x^T] - E[x] E[x]^T over the rows, as disentanglement_lib's compute_covariance_z_mean."""
    x = np.asarray(x)
    return (x.T @ x) / len(x) - np.outer(x.mean(0), x.mean(0))


def numpy_dip(matrix, lambda_od, lambda_d):
    diagonal = np.diag(matrix)
    off = matrix - np.diag(diagonal)
    return lambda_od * (off ** 2).sum() + lambda_d * ((diagonal - 1) ** 2).sum()


def test_beta_tcvae_loss_is_the_elbo_plus_beta_minus_one_times_the_mws_tc():
    terms = fixed_terms()
    z, mean, log_var = (t[0].numpy() for t in (terms.z, terms.mean, terms.log_var))
    batch, dims = z.shape
    # disentanglement_lib's total_correlation, written out: log q(z_i) and log prod_d q(z_id)
    log_density = np.array([[[-0.5 * (np.log(2 * np.pi) + log_var[j, d]
                                      + (z[i, d] - mean[j, d]) ** 2 / np.exp(log_var[j, d]))
                              for d in range(dims)] for j in range(batch)] for i in range(batch)])
    joint = np.log(np.exp(log_density.sum(2)).sum(1))
    product = np.log(np.exp(log_density).sum(1)).sum(1)
    # ours normalises each log-density by the batch, a constant (D - 1) log M above theirs
    tc = (joint - product).mean() + (dims - 1) * np.log(batch)
    expected = 50.0 + terms.kl.item() + (6.0 - 1) * tc
    loss = kinds.get_kind("beta_tcvae").loss(terms, torch.tensor([6.0], dtype=torch.float64))
    assert loss.item() == pytest.approx(expected, rel=1e-10)
    assert terms.reported["tc_penalised"][0][0].item() == pytest.approx(tc, rel=1e-10)


@pytest.mark.parametrize("kind, factor", [("dip_vae_i", 10.0), ("dip_vae_ii", 1.0)])
def test_dip_vae_losses_penalise_the_covariance_as_kumar_et_al(kind, factor):
    terms = fixed_terms()
    mean, log_var = terms.mean[0].numpy(), terms.log_var[0].numpy()
    matrix = numpy_covariance(mean)
    if kind == "dip_vae_ii":
        matrix = matrix + np.diag(np.exp(log_var).mean(0))
    expected = 50.0 + terms.kl.item() + numpy_dip(matrix, 5.0, factor * 5.0)
    loss = kinds.get_kind(kind).loss(terms, torch.tensor([5.0], dtype=torch.float64))
    assert loss.item() == pytest.approx(expected, rel=1e-10)


def test_annealed_vae_loss_pulls_the_kl_towards_a_rising_capacity():
    for step, capacity in ((25_000, 10.0), (100_000, 40.0), (300_000, 40.0)):
        terms = fixed_terms(step)
        expected = 50.0 + 1000.0 * abs(terms.kl.item() - capacity)
        loss = kinds.get_kind("annealed_vae").loss(terms, torch.tensor([40.0],
                                                                       dtype=torch.float64))
        assert loss.item() == pytest.approx(expected, rel=1e-10), step
        assert terms.reported["capacity"][0][0].item() == pytest.approx(capacity)


def test_disentanglement_libs_models_are_registered_with_its_grids():
    grids = {key: kind.hyperparameter.paper_grid for key, kind in kinds.KINDS.items()
             if kind.hyperparameter}
    assert grids["beta_tcvae"] == (1, 2, 4, 6, 8, 10)
    assert grids["dip_vae_i"] == grids["dip_vae_ii"] == (1, 2, 5, 10, 20, 50)
    assert grids["annealed_vae"] == (5, 10, 25, 50, 75, 100)
    assert kinds.get_kind("beta_tcvae").label(6.0) == "β-TCVAE β=6"
