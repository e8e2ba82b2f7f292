"""AdamW over stacked parameters with a learning rate per member.

``torch.optim.AdamW`` takes one learning rate per parameter group, but a stacked model keeps
all K members in the same tensors, and each trial samples its own learning rate. AdamW's update
is element-wise, so applying it with a (K, 1, ...) learning-rate tensor is exactly K
independent AdamW optimisers; tests check it step for step against ``torch.optim.AdamW``.
A member's rate set to 0 freezes it (pruned or early-stopped).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

__all__ = ["StackedAdamW"]


class StackedAdamW:
    """AdamW (Loshchilov & Hutter) with decoupled weight decay, vectorised over members."""

    def __init__(
        self,
        params: Sequence[torch.Tensor],
        lrs: Sequence[float],
        *,
        weight_decay: float = 1e-4,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        self.params = list(params)
        device = self.params[0].device
        self.lrs = torch.tensor(list(lrs), dtype=torch.float32, device=device)
        self.weight_decay = weight_decay
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.step_count = 0
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]

    def freeze(self, index: int) -> None:
        self.lrs[index] = 0.0

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One AdamW step for every member, with multi-tensor (foreach) kernels."""
        self.step_count += 1
        bias1 = 1 - self.beta1**self.step_count
        bias2_sqrt = math.sqrt(1 - self.beta2**self.step_count)
        live = [i for i, p in enumerate(self.params) if p.grad is not None]
        if not live:
            return
        params = [self.params[i] for i in live]
        grads = [self.params[i].grad for i in live]
        m = [self.exp_avg[i] for i in live]
        v = [self.exp_avg_sq[i] for i in live]
        lrs = [self.lrs.view(-1, *([1] * (p.dim() - 1))) for p in params]
        torch._foreach_mul_(params, [1 - lr * self.weight_decay for lr in lrs])
        torch._foreach_lerp_(m, grads, 1 - self.beta1)
        torch._foreach_mul_(v, self.beta2)
        torch._foreach_addcmul_(v, grads, grads, value=1 - self.beta2)
        denom = torch._foreach_sqrt(v)
        torch._foreach_div_(denom, bias2_sqrt)
        torch._foreach_add_(denom, self.eps)
        steps = torch._foreach_mul(m, [lr / bias1 for lr in lrs])
        torch._foreach_div_(steps, denom)
        torch._foreach_sub_(params, steps)
