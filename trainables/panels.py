"""TensorBoard image panels of a model in training: reconstructions and latent traversals.

Tune's TBX logger already writes every reported scalar and the trial's hyperparameters to the
trial directory; these panels go next to them (``<trial>/images``), one step per epoch.
"""

from __future__ import annotations

import numpy as np
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


class PanelWriter:
    """Writes both panels of a model for a fixed set of images, each epoch, with tensorboardX.

    Each epoch's panels go to their own event file, closed before ``write`` returns:
    tensorboardX writes events from a background queue that ``flush`` does not drain, and Tune
    copies the trial's artifacts to storage right after the epoch, so an open file could be
    copied with its last image missing. TensorBoard reads all files of a folder in order."""

    def __init__(self, logdir: str, images: np.ndarray, limit: float, steps: int):
        self.logdir = logdir
        self.images = images
        self.limit, self.steps = limit, steps

    def write(self, model, epoch: int, device) -> None:
        from tensorboardX import SummaryWriter

        images = torch.from_numpy(self.images).to(device)
        was_training = model.training
        model.eval()
        writer = SummaryWriter(self.logdir, filename_suffix=f".epoch{epoch:06d}")
        try:
            writer.add_image("reconstructions", reconstruction_panel(model, images), epoch)
            writer.add_image("traversals",
                             traversal_panel(model, images[0], self.limit, self.steps), epoch)
        finally:
            writer.close()
            model.train(was_training)
