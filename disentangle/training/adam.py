"""Adam over parameters stacked along a leading model axis, with each model's training frozen
independently.

Adam (Kingma & Ba 2015) is elementwise, so one optimiser over stacked parameters gives every
model exactly its own Adam; the update is the one ``torch.optim.Adam`` makes (same formula and
order of operations, tested against it). What torch's optimiser cannot do is stop one model of
a stack: zeroing its gradient still moves it through its momentum. Here a model whose ``active``
flag is false keeps its parameters, both moment estimates and its step count unchanged, so a
diverged model stays exactly as it was when it diverged while the others go on.
"""

from __future__ import annotations

import torch


class StackedAdam:
    """Adam for a list of stacked parameters ``(S, ...)`` (see the module docstring)."""

    def __init__(self, params: list[torch.Tensor], lr: float, betas=(0.9, 0.999),
                 eps: float = 1e-8):
        self.params = params
        self.lr, self.betas, self.eps = lr, tuple(betas), eps
        size = params[0].shape[0]
        # float64, as torch's Adam computes the bias corrections in Python floats
        self.steps = torch.zeros(size, dtype=torch.float64, device=params[0].device)
        self.exp_avg = [torch.zeros_like(p, memory_format=torch.preserve_format)
                        for p in params]
        self.exp_avg_sq = [torch.zeros_like(p, memory_format=torch.preserve_format)
                           for p in params]

    @torch.no_grad()
    def step(self, active: torch.Tensor) -> None:
        """One update of every model whose ``active`` flag (S,) is true, from ``p.grad``."""
        beta1, beta2 = self.betas
        self.steps += active.double()
        step_sizes = (self.lr / (1 - beta1 ** self.steps)).float()
        root_corrections2 = torch.sqrt(1 - beta2 ** self.steps).float()
        for param, exp_avg, exp_avg_sq in zip(self.params, self.exp_avg, self.exp_avg_sq):
            if param.grad is None:
                continue
            shape = (-1,) + (1,) * (param.ndim - 1)
            live = active.view(shape)
            grad = torch.where(live, param.grad, 0.0)
            exp_avg.copy_(torch.where(live, exp_avg.lerp(grad, 1 - beta1), exp_avg))
            exp_avg_sq.copy_(torch.where(
                live, exp_avg_sq.mul(beta2).addcmul_(grad, grad, value=1 - beta2), exp_avg_sq))
            denominator = (exp_avg_sq.sqrt() / root_corrections2.view(shape)).add_(self.eps)
            update = param - step_sizes.view(shape) * exp_avg / denominator
            param.copy_(torch.where(live, update, param))

    def zero_grad(self) -> None:
        for param in self.params:
            param.grad = None

    def state_dict(self) -> dict:
        return {"steps": self.steps.clone(), "exp_avg": [t.clone() for t in self.exp_avg],
                "exp_avg_sq": [t.clone() for t in self.exp_avg_sq]}

    @torch.no_grad()
    def load_state_dict(self, state: dict) -> None:
        self.steps.copy_(state["steps"])
        for own, saved in zip(self.exp_avg + self.exp_avg_sq,
                              state["exp_avg"] + state["exp_avg_sq"]):
            own.copy_(saved)
