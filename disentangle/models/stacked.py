"""Many copies of one network as one computation: parameters stacked along a leading model axis.

S models of one architecture (different seeds, different loss weights) train as one batched
computation: each convolution runs once as a grouped convolution (group ``s`` is model ``s``)
and each linear layer once as a batched matrix product. A GPU step then launches the kernels
of one model, each doing S models' work, instead of S times as many small kernels; on a CPU
it is about as fast as training the models in turn (``benchmarks/stacked_training.py``).

Layouts: images of S models, each with its own batch, are ``(N, S*C, H, W)`` (model ``s``'s
channels ``s*C .. s*C + C - 1``); the same images for every model are ``(N, C, H, W)`` and
go through the first convolution ungrouped. Latents and linear activations are ``(S, N, F)``.

Each stacked parameter is a leaf tensor ``(S, *shape)``. ``member(s)`` is an ordinary module of
the architecture whose parameters are views of slice ``s``: it always holds model ``s``'s
current weights, for evaluation, image panels or export, without a copy.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn


class StackedParameters:
    """The parameters of S copies of ``modules[0]``'s architecture, stacked, and one member
    module per copy whose parameters are views of its slice."""

    def __init__(self, modules: list[nn.Module], device):
        template = modules[0]
        self.size = len(modules)
        self.params = {
            name: torch.stack([module.get_parameter(name).detach() for module in modules])
            .to(device).contiguous().requires_grad_()
            for name, _ in template.named_parameters()}
        self.members = [self._member(module, index) for index, module in enumerate(modules)]
        self.template = template

    def _member(self, module: nn.Module, index: int) -> nn.Module:
        member = copy.deepcopy(module)
        for name, stacked in self.params.items():
            owner, _, leaf = name.rpartition(".")
            owner = member.get_submodule(owner) if owner else member
            owner._parameters[leaf] = nn.Parameter(stacked.detach()[index], requires_grad=False)
        return member.to(stacked.device)

    def weight(self, layer: str) -> tuple[torch.Tensor, torch.Tensor]:
        return self.params[f"{layer}.weight"], self.params[f"{layer}.bias"]

    def module(self, layer: str) -> nn.Module:
        return self.template.get_submodule(layer)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {name: tensor.detach().clone() for name, tensor in self.params.items()}

    @torch.no_grad()
    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Copy ``state`` (stacked tensors) in place, so the member views stay valid."""
        for name, tensor in self.params.items():
            tensor.copy_(state[name].to(tensor.device))

    def parameters(self) -> list[torch.Tensor]:
        return list(self.params.values())


def _linear_stack(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """(S, N, in) -> (S, N, out): each model's linear layer on its own rows."""
    return torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))


class StackedAutoencoder(StackedParameters):
    """S autoencoders of one architecture (``Autoencoder.layer_plan``) as one computation."""

    def __init__(self, modules: list[nn.Module], device, channels_last: bool = False):
        super().__init__(modules, device)
        self.plan = self.template.layer_plan()
        self.latent_dim = self.template.latent_dim
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def encode(self, images: torch.Tensor, shared: bool = False
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior (mean, log_var), each (S, N, D), of ``images``: (N, S*C, H, W), each model
        its own batch, or with ``shared`` (N, C, H, W), every model the same images."""
        size = self.size
        x = images.contiguous(memory_format=self.memory_format)
        for position, layer in enumerate(self.plan.encoder_convs):
            conv, (weight, bias) = self.module(layer), self.weight(layer)
            grouped = not (shared and position == 0)
            x = F.relu(F.conv2d(x, weight.flatten(0, 1), bias.flatten(), conv.stride,
                                conv.padding, conv.dilation, size if grouped else 1))
        batch, channels, height, width = x.shape
        x = x.view(batch, size, channels // size, height, width).transpose(0, 1)
        x = x.reshape(size, batch, -1)
        last = len(self.plan.encoder_linears) - 1
        for position, layer in enumerate(self.plan.encoder_linears):
            x = _linear_stack(x, *self.weight(layer))
            if position < last:
                x = F.relu(x)
        if self.plan.split == "halves":
            mean, log_var = x.chunk(2, dim=-1)
        else:
            mean, log_var = x.view(size, batch, -1, 2).unbind(-1)
        return mean, log_var

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel logits (N, S*C, H, W) of latents ``z`` (S, N, D)."""
        size, batch = z.shape[:2]
        x = z
        for layer in self.plan.decoder_linears:
            x = F.relu(_linear_stack(x, *self.weight(layer)))
        channels, height, width = self.plan.feature_shape
        x = x.view(size, batch, channels, height, width).transpose(0, 1)
        x = x.reshape(batch, size * channels, height, width)
        x = x.contiguous(memory_format=self.memory_format)
        last = len(self.plan.decoder_convs) - 1
        for position, layer in enumerate(self.plan.decoder_convs):
            conv, (weight, bias) = self.module(layer), self.weight(layer)
            x = F.conv_transpose2d(x, weight.flatten(0, 1), bias.flatten(), conv.stride,
                                   conv.padding, conv.output_padding, size, conv.dilation)
            if position < last:
                x = F.relu(x)
        return x


class StackedMLP(StackedParameters):
    """S copies of an MLP (linear layers with a leaky ReLU between them, the last without),
    such as FactorVAE's discriminator, as one computation on (S, N, in) inputs."""

    def __init__(self, modules: list[nn.Module], device, negative_slope: float = 0.2):
        super().__init__(modules, device)
        self.layers = [name for name, module in self.template.named_modules()
                       if isinstance(module, nn.Linear)]
        self.negative_slope = negative_slope

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.layers) - 1
        for position, layer in enumerate(self.layers):
            x = _linear_stack(x, *self.weight(layer))
            if position < last:
                x = F.leaky_relu(x, self.negative_slope)
        return x

    def detached(self) -> "StackedMLP":
        """The same network whose parameters do not receive gradients (shares the weights)."""
        view = copy.copy(self)
        view.params = {name: tensor.detach() for name, tensor in self.params.items()}
        return view
