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
        size, device = params[0].shape[0], params[0].device
        # float64, as torch's Adam computes the bias corrections in Python floats
        self.steps = torch.zeros(size, dtype=torch.float64, device=device)
        self.exp_avg = [torch.zeros_like(p, memory_format=torch.preserve_format)
                        for p in params]
        self.exp_avg_sq = [torch.zeros_like(p, memory_format=torch.preserve_format)
                           for p in params]
        # Per-model flags and coefficients, refreshed in place each step, with a view shaped
        # to broadcast over each parameter.
        self._active = torch.zeros(size, dtype=torch.bool, device=device)
        self._coefficients = torch.zeros(4, size, dtype=params[0].dtype, device=device)
        shapes = [(-1,) + (1,) * (p.ndim - 1) for p in params]
        self._active_views = [self._active.view(shape) for shape in shapes]
        self._views = [[row.view(shape) for shape in shapes] for row in self._coefficients]

    @torch.no_grad()
    def step(self, active: torch.Tensor) -> None:
        """One update of every model whose ``active`` flag (S,) is true, from ``p.grad``.

        A frozen model's gradient is zeroed (it may be NaN) and its coefficients are the ones
        that leave everything as it is (momentum weight 0, second-moment decay 1, step size 0),
        so one set of in-place list operations (``torch._foreach_*``, as ``torch.optim.Adam``
        uses: a few fused kernels on a GPU) serves the whole stack without a device sync."""
        beta1, beta2 = self.betas
        self._active.copy_(active)
        self.steps += active.double()
        self._coefficients.copy_(torch.stack([
            torch.where(active, self.lr / (1 - beta1 ** self.steps), 0.0),
            torch.where(self.steps > 0, torch.sqrt(1 - beta2 ** self.steps), 1.0),
            torch.where(active, 1 - beta1, 0.0).double(),
            torch.where(active, beta2, 1.0).double()]))
        chosen = [index for index, param in enumerate(self.params) if param.grad is not None]
        params = [self.params[index] for index in chosen]
        exp_avgs = [self.exp_avg[index] for index in chosen]
        exp_avg_sqs = [self.exp_avg_sq[index] for index in chosen]
        step_sizes, root_corrections2, momentum_weights, decays = (
            [views[index] for index in chosen] for views in self._views)
        grads = [torch.where(self._active_views[index], self.params[index].grad, 0.0)
                 for index in chosen]
        torch._foreach_lerp_(exp_avgs, grads, momentum_weights)
        torch._foreach_mul_(exp_avg_sqs, decays)
        torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1 - beta2)
        denominators = torch._foreach_sqrt(exp_avg_sqs)
        torch._foreach_div_(denominators, root_corrections2)
        torch._foreach_add_(denominators, self.eps)
        updates = torch._foreach_mul(step_sizes, exp_avgs)
        torch._foreach_div_(updates, denominators)
        torch._foreach_sub_(params, updates)

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
