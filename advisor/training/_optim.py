"""AdamW over stacked parameters with a learning rate per member, on one flat buffer.

``torch.optim.AdamW`` takes one learning rate per parameter group, but a stacked model keeps
all K members in the same tensors, and each trial samples its own learning rate. AdamW's update
is element-wise, so applying it with a per-element learning rate is exactly K independent
AdamW optimisers; tests check it step for step against ``torch.optim.AdamW``.
The trainer drops members that stop (``kept``); ``freeze`` (a rate of 0) holds a member's
weights where they are instead, for a caller that keeps it in the stack.

The optimiser moves its parameters into one flat buffer (each stays the same tensor object, now
a view of it), so a step is ten element-wise kernels on one tensor instead of about ten per
parameter tensor, plus the small tensors a per-tensor rate needs: a small MLP's step is almost
all per-kernel overhead rather than arithmetic (figures: benchmarks/README.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

__all__ = ["StackedAdamW"]


class StackedAdamW:
    """AdamW (Loshchilov & Hutter) with decoupled weight decay, vectorised over members.

    Args:
        params: stacked parameters, each with the members on its first axis.
        lrs: one learning rate per member.
        weight_decay: decoupled weight decay, as in ``torch.optim.AdamW``.
        betas: running-average coefficients of the gradient and its square.
        eps: added to the denominator.

    Raises:
        ValueError: no parameters, or one whose first axis is not one entry per rate.
    """

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
        n_members = len(lrs)
        if not self.params:
            raise ValueError("StackedAdamW got no parameters; pass the stacked model's tensors")
        for param in self.params:
            if param.dim() == 0 or param.shape[0] != n_members:
                raise ValueError(
                    f"parameter of shape {tuple(param.shape)} does not stack the members: its"
                    f" first axis must have one entry per learning rate ({n_members} given)"
                )
        device = self.params[0].device
        self.weight_decay = weight_decay
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.step_count = 0
        with torch.no_grad():
            self.flat = torch.cat([p.detach().reshape(-1) for p in self.params])
            offset = 0
            for param in self.params:
                param.data = self.flat[offset : offset + param.numel()].view_as(param)
                offset += param.numel()
        self.exp_avg = torch.zeros_like(self.flat)
        self.exp_avg_sq = torch.zeros_like(self.flat)
        self._grad = torch.empty_like(self.flat)
        self._denom = torch.empty_like(self.flat)
        self._update = torch.empty_like(self.flat)
        self.lrs = torch.tensor(list(lrs), dtype=self.flat.dtype, device=device)
        self._per_member = [p.numel() // n_members for p in self.params]
        self._refresh_rates()

    def _refresh_rates(self) -> None:
        """Each element's rate and decay factor, laid out like the flat buffer."""
        self._rate = torch.cat([self.lrs.repeat_interleave(n) for n in self._per_member])
        self._decay = 1 - self._rate * self.weight_decay

    def freeze(self, index: int) -> None:
        self.lrs[index] = 0.0
        self._refresh_rates()

    def kept(self, positions: Sequence[int], params: Sequence[torch.Tensor]) -> StackedAdamW:
        """This optimiser for the members at ``positions`` only, moments and step carried over.

        ``params`` are those members' parameters (``StackedModel.keep``), in this optimiser's
        order; the new optimiser takes them into its own flat buffer.
        """
        index = torch.tensor(list(positions), dtype=torch.long, device=self.flat.device)
        new = StackedAdamW(
            params,
            self.lrs.index_select(0, index).tolist(),
            weight_decay=self.weight_decay,
            betas=(self.beta1, self.beta2),
            eps=self.eps,
        )
        n_members = len(self.lrs)
        for old, moved in ((self.exp_avg, new.exp_avg), (self.exp_avg_sq, new.exp_avg_sq)):
            parts = old.split([n * n_members for n in self._per_member])
            kept = [part.view(n_members, -1).index_select(0, index).reshape(-1) for part in parts]
            torch.cat(kept, out=moved)
        new.step_count = self.step_count
        return new

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One AdamW step for every member; parameters without a gradient are left alone."""
        self.step_count += 1
        bias1 = 1 - self.beta1**self.step_count
        bias2_sqrt = math.sqrt(1 - self.beta2**self.step_count)
        grads = [p.grad for p in self.params]
        if all(g is not None for g in grads):
            torch.cat([g.reshape(-1) for g in grads], out=self._grad)  # type: ignore[union-attr]
            self._adamw(slice(None), self._grad, bias1, bias2_sqrt)
            return
        offset = 0
        for param, grad in zip(self.params, grads, strict=True):
            part = slice(offset, offset + param.numel())
            offset += param.numel()
            if grad is not None:
                self._adamw(part, grad.reshape(-1), bias1, bias2_sqrt)

    def _adamw(self, part: slice, grad: torch.Tensor, bias1: float, bias2_sqrt: float) -> None:
        """torch.optim.AdamW's single-tensor update, on one range of the flat buffer."""
        param, m, v = self.flat[part], self.exp_avg[part], self.exp_avg_sq[part]
        denom, update = self._denom[part], self._update[part]
        param.mul_(self._decay[part])
        m.lerp_(grad, 1 - self.beta1)
        v.mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
        torch.sqrt(v, out=denom).div_(bias2_sqrt).add_(self.eps)
        torch.mul(m, self._rate[part], out=update)
        param.addcdiv_(update, denom, value=-1 / bias1)
