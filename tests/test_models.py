"""The architectures, their interface, and checkpoint files with their error messages."""

import numpy as np
import pytest
import torch

from disentangle.errors import UserError
from disentangle.models import (
    ARCHITECTURES,
    build_model,
    load_model,
    make_checkpoint,
    write_checkpoint,
)

torch.set_num_threads(2)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("channels", [1, 3])
def test_every_architecture_maps_images_to_latents_and_back(architecture, channels):
    torch.manual_seed(0)
    model = build_model(architecture, num_channels=channels, latent_dim=7)
    images = torch.rand(5, channels, 64, 64)
    mean, log_var = model.encode(images)
    assert mean.shape == log_var.shape == (5, 7)
    logits = model.decode_logits(mean)
    assert logits.shape == images.shape
    decoded = model.decode(mean)
    assert torch.equal(decoded, torch.sigmoid(logits))
    assert decoded.min() >= 0 and decoded.max() <= 1
    assert model.latent_dim == 7 and model.num_channels == channels


def test_standard_is_the_papers_4x4_network_and_standard_dl_uses_2x2_last_convs():
    standard, variant = build_model("standard"), build_model("standard_dl")
    kernels = [m.weight.shape for m in standard.encoder_convs if isinstance(m, torch.nn.Conv2d)]
    assert [tuple(k) for k in kernels] == [(32, 1, 4, 4), (32, 32, 4, 4), (64, 32, 4, 4),
                                           (64, 64, 4, 4)]
    dl = [m.weight.shape[-1] for m in variant.encoder_convs if isinstance(m, torch.nn.Conv2d)]
    assert dl == [4, 4, 2, 2]
    assert standard.encoder_fc[0].out_features == 256
    assert build_model("standard", hidden_dim=128).encoder_fc[0].out_features == 128


def test_standard_takes_other_image_sizes():
    model = build_model("standard", image_size=32)
    assert model.decode_logits(model.encode(torch.rand(2, 1, 32, 32))[0]).shape == (2, 1, 32, 32)
    with pytest.raises(ValueError):
        build_model("standard", image_size=40)


def test_burgess_interleaves_mean_and_log_variance():
    model = build_model("burgess", latent_dim=3)
    layer = model.encoder.mu_logvar_gen
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.copy_(torch.arange(6.0))
    mean, log_var = model.encode(torch.rand(2, 1, 64, 64))
    assert mean[0].tolist() == [0, 2, 4] and log_var[0].tolist() == [1, 3, 5]


def test_unknown_architecture_is_a_user_error():
    with pytest.raises(UserError, match="unknown architecture"):
        build_model("resnet")


def _saved(tmp_path, model, info_extra=None, state=None):
    info = {"architecture": model.architecture, "build": model.build_options(), "model": "vae",
            **(info_extra or {})}
    return write_checkpoint(make_checkpoint(info, state or model.state_dict()),
                            tmp_path / "model.pt")


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_checkpoint_round_trip_gives_the_same_network(tmp_path, architecture):
    model = build_model(architecture, num_channels=3, latent_dim=4)
    path = _saved(tmp_path, model)
    loaded = load_model(path)
    assert not loaded.training and loaded.info["model"] == "vae"
    images = torch.rand(3, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded.encode(images)[0], model.encode(images)[0])
    assert not list(tmp_path.glob(".*")), "no temporary file is left behind"


def test_not_a_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="no checkpoint file"):
        load_model(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(np.random.RandomState(0).bytes(1000))
    with pytest.raises(UserError, match="not a checkpoint"):
        load_model(junk)
    bare = tmp_path / "bare.pt"
    torch.save(build_model().state_dict(), bare)
    with pytest.raises(UserError, match="bare state dict"):
        load_model(bare)


def test_unknown_architecture_in_a_checkpoint_is_a_clear_error(tmp_path):
    model = build_model()
    path = write_checkpoint(make_checkpoint(
        {"build": {**model.build_options(), "architecture": "transformer"}}, model.state_dict()),
        tmp_path / "x.pt")
    with pytest.raises(UserError, match="unknown architecture 'transformer'"):
        load_model(path)


def test_mismatched_state_dict_is_a_clear_error(tmp_path):
    model = build_model()
    state = dict(model.state_dict())
    state.pop("encoder_fc.0.bias")
    state["decoder_fc.0.weight"] = torch.zeros(3, 3)
    with pytest.raises(UserError, match="missing: encoder_fc.0.bias.*wrong shape: "
                                        "decoder_fc.0.weight"):
        load_model(_saved(tmp_path, model, state=state))
