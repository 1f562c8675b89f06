"""Networks from names and checkpoints: build one, load weights into it with a one-line error
naming what does not fit, and rebuild a checkpoint's network (one model of a stack)."""

from __future__ import annotations

import torch

from disentangle.errors import UserError
from disentangle.models.architectures import ARCHITECTURES, DEFAULT_ARCHITECTURE, Autoencoder


def build_model(architecture: str = DEFAULT_ARCHITECTURE, num_channels: int = 1,
                latent_dim: int = 10, hidden_dim: int = 256, image_size: int = 64) -> Autoencoder:
    """A freshly initialised autoencoder: ``standard`` (the papers' 4x4 kernels, the default),
    ``standard_dl`` (disentanglement_lib's 2x2 last convs) or ``burgess`` (public weights)."""
    return ARCHITECTURES.lookup(architecture)(num_channels=num_channels, latent_dim=latent_dim,
                                              hidden_dim=hidden_dim, image_size=image_size)


def load_state(module: torch.nn.Module, state: dict, what: str) -> None:
    """``module.load_state_dict(state)`` with a one-line error naming the mismatched entries."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong_shape = sorted(k for k in set(own) & set(state)
                         if tuple(own[k].shape) != tuple(state[k].shape))
    if missing or unexpected or wrong_shape:
        parts = [f"{label}: {', '.join(keys[:4])}{' ...' if len(keys) > 4 else ''}"
                 for label, keys in (("missing", missing), ("unexpected", unexpected),
                                     ("wrong shape", wrong_shape)) if keys]
        raise UserError(f"the weights in {what} do not fit the network it names ("
                        f"{'; '.join(parts)}); the file is damaged or from another program")
    module.load_state_dict(state)


def model_from_checkpoint(checkpoint: dict, device="cpu", what: str = "the checkpoint",
                          member: int | None = None):
    """The network described by a checkpoint dictionary, with its weights, in eval mode. A
    checkpoint of a stack of models (``disentangle.training.StackTrainer``) holds several:
    ``member`` is the position of the one to load (optional when it holds one)."""
    info = checkpoint.get("info", {})
    state = checkpoint["model"]
    stack = info.get("stack")
    if stack:
        if member is None and len(stack) > 1:
            raise UserError(f"{what} holds a stack of {len(stack)} models: choose one with "
                            f"member=0..{len(stack) - 1} (or export it with StackTrainer.export)")
        index = member or 0
        if not 0 <= index < len(stack):
            raise UserError(f"{what} holds {len(stack)} models; member {index} does not exist")
        info, state = stack[index], {name: tensor[index] for name, tensor in state.items()}
    elif member not in (None, 0):
        raise UserError(f"{what} holds one model; member {member} does not exist")
    options = dict(info.get("build", {}))
    architecture = options.pop("architecture", None)
    if architecture not in ARCHITECTURES:
        raise UserError(f"{what} names an unknown architecture {architecture!r}; this version "
                        f"knows {', '.join(ARCHITECTURES)}")
    model = build_model(architecture, **options)
    load_state(model, state, what)
    model.info = info
    return model.to(device).eval()
