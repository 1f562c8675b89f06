"""TensorBoard image panels of a model in training: reconstructions and latent traversals,
drawn for a fixed set of images each epoch (``trainables.tensorboard.ModelLog`` writes them
into the model's run).
"""

from __future__ import annotations

import torch
from torchvision.utils import make_grid

from disentangle.traversal import traversal_codes


@torch.no_grad()
def reconstruction_panel(model, images: torch.Tensor) -> torch.Tensor:
    """Two rows: the images, then the model's reconstructions of their encoder means.
    Returns a (3, H, W) grid in [0, 1]."""
    mean, _ = model.encode(images)
    reconstructions = model.decode(mean).float().clamp(0, 1)
    return _grid(torch.cat([images.float(), reconstructions]), nrow=len(images))


@torch.no_grad()
def traversal_panel(model, image: torch.Tensor, limit: float, steps: int) -> torch.Tensor:
    """One row per latent dimension: the image's encoder mean with that one coordinate swept
    over ``[-limit, limit]`` in ``steps`` steps, decoded. Returns a (3, H, W) grid in [0, 1]."""
    mean, _ = model.encode(image[None])
    codes = traversal_codes(mean[0], range(mean.shape[1]), torch.linspace(-limit, limit, steps))
    return _grid(model.decode(codes).float().clamp(0, 1), nrow=steps)


def _grid(images: torch.Tensor, nrow: int) -> torch.Tensor:
    return make_grid(images.cpu(), nrow=nrow, padding=2, pad_value=1.0)


def model_panels(model, images: torch.Tensor, limit: float, steps: int) -> dict:
    """Both panels of ``model`` for ``images`` (the first one traversed), in eval mode."""
    was_training = model.training
    model.eval()
    try:
        return {"reconstructions": reconstruction_panel(model, images),
                "traversals": traversal_panel(model, images[0], limit, steps)}
    finally:
        model.train(was_training)
