"""The training core: config checks, determinism, exact resume, gradient isolation of the
FactorVAE discriminator, bf16, and that training on dSprites images lowers the loss."""

import numpy as np
import pytest
import torch

from disentangle.data.base import GroundTruthDataset
from disentangle.data.dsprites import render_sprite_block
from disentangle.errors import UserError
from disentangle.models import load_model
from disentangle.training import DEFAULTS, Trainer, fit, validate_config

torch.set_num_threads(2)


class SmallSprites(GroundTruthDataset):
    """Real dSprites images (the project's renderer) for 3 shapes x 2 scales x 32 x 32
    positions at orientation 0: 6,144 images, rendered in well under a second."""

    name = "small_sprites"
    factor_names = ("shape", "scale", "posX", "posY")

    def __init__(self):
        self.packed = np.concatenate([render_sprite_block(shape, scale, 0.0)
                                      for shape in range(3) for scale in (0.5, 1.0)])

    @property
    def factors_num_values(self):
        return (3, 2, 32, 32)

    @property
    def observation_shape(self):
        return (1, 64, 64)

    def images(self, indices):
        bits = np.unpackbits(self.packed[np.asarray(indices)], axis=1)
        return bits.reshape(-1, 1, 64, 64).astype(np.float32)


@pytest.fixture(scope="module")
def sprites():
    return SmallSprites()


FAST = {"batch_size": 16, "precision": "fp32", "latent_dim": 4, "hidden_dim": 64}


def weights(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_validate_config_fills_defaults_and_rejects_bad_settings():
    assert validate_config({}) == validate_config(None)
    assert validate_config({"beta": 8})["beta"] == 8.0
    assert set(validate_config({})) == set(DEFAULTS) | {"model", "seed", "beta"}
    assert validate_config({"model": "factor_vae"})["gamma"] == 40.0   # the registry's default
    for bad in ({"betaa": 4}, {"model": "gan"}, {"lr": 0}, {"batch_size": 1.5},
                {"batch_size": True}, {"beta": -1}, {"precision": "fp16"},
                {"discriminator_betas": [0.5]}, {"tc_permutation": "three"},
                {"architecture": "mlp"}, {"seed": 2 ** 40},
                {"model": "vae", "beta": 4}, {"model": "factor_vae", "beta": 4}):
        with pytest.raises(UserError):
            validate_config(bad)


def test_every_step_reports_the_shared_metric_names(sprites):
    trainer = Trainer({**FAST, "model": "factor_vae"}, sprites, "cpu")
    metrics = trainer.train_steps(2)
    expected = {"loss", "reconstruction", "kl", "active_dims", "tc_minibatch", "elbo",
                "tc_discriminator", "discriminator_accuracy", "discriminator_loss", "diverged",
                *(f"kl_dim_{d}" for d in range(4))}
    assert set(metrics) == expected and all(np.isfinite(list(metrics.values())))
    assert metrics["kl"] == pytest.approx(sum(metrics[f"kl_dim_{d}"] for d in range(4)), rel=1e-5)
    assert metrics["elbo"] == pytest.approx(-(metrics["reconstruction"] + metrics["kl"]))
    assert trainer.step == 2
    plain = Trainer({**FAST, "model": "beta_vae"}, sprites, "cpu").train_steps(1)
    assert "tc_discriminator" not in plain and "tc_minibatch" in plain


def test_same_seed_same_run_and_another_seed_another(sprites):
    runs = [Trainer({**FAST, "model": "factor_vae", "seed": seed}, sprites, "cpu")
            for seed in (3, 3, 4)]
    metrics = [run.train_steps(3) for run in runs]
    assert metrics[0] == metrics[1]
    assert same_weights(weights(runs[0].model), weights(runs[1].model))
    assert same_weights(weights(runs[0].discriminator), weights(runs[1].discriminator))
    assert metrics[0]["loss"] != metrics[2]["loss"]


@pytest.mark.parametrize("model", ["beta_vae", "factor_vae"])
def test_resumed_checkpoint_continues_bit_for_bit(sprites, tmp_path, model):
    config = {**FAST, "model": model, "seed": 7}
    uninterrupted = Trainer(config, sprites, "cpu")
    uninterrupted.train_steps(3)
    path = uninterrupted.save_checkpoint(tmp_path / "run" / "checkpoint.pt")
    expected = uninterrupted.train_steps(3)
    resumed = Trainer.from_checkpoint(path, sprites, "cpu")
    assert resumed.step == 3 and resumed.config == uninterrupted.config
    assert resumed.train_steps(3) == expected
    assert same_weights(weights(resumed.model), weights(uninterrupted.model))
    for name in ("exp_avg", "exp_avg_sq"):
        assert all(torch.equal(a, b) for a, b in zip(resumed.optimizer.state_dict()[name],
                                                     uninterrupted.optimizer.state_dict()[name]))
    if model == "factor_vae":
        assert same_weights(weights(resumed.discriminator), weights(uninterrupted.discriminator))


def test_objectives_reduce_to_the_vae_at_beta_1_and_gamma_0(sprites):
    def run(**settings):
        trainer = Trainer({**FAST, "seed": 5, **settings}, sprites, "cpu")
        losses = [trainer.train_steps(1)["loss"] for _ in range(3)]
        return losses, weights(trainer.model)

    vae_losses, vae_weights = run(model="vae")
    for settings in ({"model": "beta_vae", "beta": 1.0},
                     {"model": "factor_vae", "gamma": 0.0}):
        losses, model_weights = run(**settings)
        assert losses == vae_losses and same_weights(model_weights, vae_weights), settings
    beta_losses, _ = run(model="beta_vae", beta=4.0)
    assert beta_losses[0] > vae_losses[0]


@pytest.mark.parametrize("permutation", ["two_batch", "one_batch"])
def test_factor_vae_gradients_do_not_leak_between_vae_and_discriminator(sprites, permutation):
    trainer = Trainer({**FAST, "model": "factor_vae", "tc_permutation": permutation},
                      sprites, "cpu")
    vae_loss, discriminator_term, _ = trainer.losses(trainer.streams.step_inputs(0))
    vae_loss.sum().backward(retain_graph=True)
    assert all(p.grad is None for p in trainer.discriminator.parameters())
    assert all(p.grad is not None for p in trainer.network.parameters())
    trainer.optimizer.zero_grad()
    discriminator_term.sum().backward()
    assert all(p.grad is None for p in trainer.network.parameters())
    assert all(p.grad is not None for p in trainer.discriminator.parameters())


def test_a_few_hundred_steps_on_dsprites_lower_the_loss(sprites):
    reports = []
    fit({"model": "beta_vae", "beta": 4.0, "batch_size": 16, "precision": "fp32", "seed": 0},
        sprites, steps=200, report_every=50, on_report=lambda step, m: reports.append(m))
    assert len(reports) == 4
    first, last = reports[0], reports[-1]
    assert last["loss"] < 0.5 * first["loss"], (first["loss"], last["loss"])
    assert last["reconstruction"] < first["reconstruction"]
    assert last["active_dims"] >= 1


def test_bf16_run_matches_fp32_within_noise(sprites):
    config = {**FAST, "model": "beta_vae", "seed": 2}
    fp32 = Trainer({**config, "precision": "fp32"}, sprites, "cpu")
    bf16 = Trainer({**config, "precision": "bf16"}, sprites, "cpu")
    assert bf16.bf16 and bf16.channels_last and not fp32.bf16
    first = fp32.train_steps(1)["loss"], bf16.train_steps(1)["loss"]
    assert first[1] == pytest.approx(first[0], rel=0.01)  # same weights, batch and noise
    later = fp32.train_steps(10)["loss"], bf16.train_steps(10)["loss"]
    assert later[1] == pytest.approx(later[0], rel=0.03)
    assert later[0] < first[0] and later[1] < first[1]


def test_fit_checkpoint_loads_as_a_model_and_errors_are_clear(sprites, tmp_path):
    path = tmp_path / "final.pt"
    trainer = fit({**FAST, "model": "vae"}, sprites, steps=2, checkpoint=path)
    model = load_model(path)
    assert model.info["model"] == "vae" and model.info["step"] == 2
    assert model.info["data"]["name"] == "small_sprites"
    images = torch.from_numpy(sprites.images(np.arange(4)))
    with torch.no_grad():
        assert torch.equal(model.encode(images)[0], trainer.model.eval().encode(images)[0])

    class Colour(SmallSprites):
        observation_shape = (3, 64, 64)

    with pytest.raises(UserError, match="trained on images of shape"):
        Trainer.from_checkpoint(path, Colour.__new__(Colour))
    weights_only = tmp_path / "weights.pt"
    from disentangle.models import make_checkpoint, write_checkpoint
    write_checkpoint(make_checkpoint(model.info, model.state_dict()), weights_only)
    with pytest.raises(UserError, match="no resumable training state"):
        Trainer.from_checkpoint(weights_only, sprites)
