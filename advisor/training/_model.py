"""K independent networks trained as one: parameters stacked on a leading axis.

Short runs of small MLPs on CPU are dominated by per-call overhead, not arithmetic; stacking
K trials into one vectorised model (``torch.func.stack_module_state``) pays that overhead once
per step instead of K times. Members never share parameters, so each one's gradients are
exactly those it would get alone. A ``Sequential`` of ``Linear`` and element-wise layers (the
default MLP) runs on batched matmuls with a hand-written backward (``_StackedLinear``) that
computes every member with the same kernels whatever K is, so a member's numbers do not depend
on which stack it was trained in. Any other user-supplied module runs through ``vmap``, as long
as it is functional (no in-place buffer updates such as BatchNorm's running statistics).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

__all__ = ["ModelFactory", "StackedModel", "default_mlp"]

ModelFactory = Callable[[int, int], nn.Module]


def default_mlp(n_inputs: int, n_outputs: int, *, hidden: int = 64, depth: int = 2) -> nn.Module:
    """A plain tabular MLP: ``depth`` hidden layers of ``hidden`` units with ReLU activations.

    ReLU is the usual activation of tabular MLPs (the MLP baseline of Gorishniy et al.'s RTDL,
    fastai's tabular model), and on CPU it is far cheaper than SiLU or GELU, whose
    transcendental functions a short run pays twice per hidden layer and step (about ten times
    the time; figures in benchmarks/README.md).

    Example:
        >>> default_mlp(3, 2)(torch.zeros(5, 3)).shape
        torch.Size([5, 2])
    """
    layers: list[nn.Module] = []
    width = n_inputs
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    layers.append(nn.Linear(width, n_outputs))
    return nn.Sequential(*layers)


_ELEMENTWISE = (nn.ReLU, nn.SiLU, nn.GELU, nn.Tanh, nn.Sigmoid, nn.LeakyReLU, nn.ELU, nn.Identity)


def _plain_layers(base: nn.Module) -> list[tuple[str | None, nn.Module]] | None:
    """(param prefix or None, module) for a Sequential of Linear and element-wise layers."""
    if not isinstance(base, nn.Sequential):
        return None
    layers: list[tuple[str | None, nn.Module]] = []
    for name, module in base.named_children():
        if isinstance(module, nn.Linear):
            layers.append((name, module))
        elif isinstance(module, _ELEMENTWISE):
            layers.append((None, copy.deepcopy(module).to("cpu")))
        else:
            return None
    return layers


class _StackedLinear(torch.autograd.Function):
    """``x[k] @ weight[k].T + bias[k]`` for every member k, forward and backward by hand.

    Every product is one ``bmm`` over the members (an outer product, one element-wise
    multiply), so member k's numbers come from the same kernel on the same shapes whether it
    is trained in a stack of 8 or alone: batched and one-after-another runs agree bit for bit
    (tests check it). Without that, the last-bit differences of other summation orders grow
    over a run, and ReLU's kink makes them visible in the scores. The hand-written backward
    also takes ``grad.T @ x`` for the weight gradient where autograd takes ``x.T @ grad``,
    which is a slow batched GEMV when a layer has one output (figures: benchmarks/README.md).
    """

    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
    ) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        rows = x.expand(weight.shape[0], *x.shape) if x.dim() == 2 else x
        if weight.shape[1] == 1:
            # (W @ x.T).T: a one-column x @ W.T sums in another order for K == 1 than inside
            # a batch (MKL takes another path), W @ x.T does not (measured, N from 1 to 2000)
            out = torch.bmm(weight, rows.transpose(1, 2)).transpose(1, 2)
            return out.add_(bias.unsqueeze(1)) if bias is not None else out
        if bias is None:
            return torch.bmm(rows, weight.transpose(1, 2))
        return torch.baddbmm(bias.unsqueeze(1), rows, weight.transpose(1, 2))

    @staticmethod
    def backward(
        ctx: Any, grad: torch.Tensor
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        x, weight = ctx.saved_tensors
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            # a one-output layer's input gradient is an outer product: a broadcast multiply is
            # bit for bit the same (one product per element, nothing summed) and faster than bmm
            grad_x = grad * weight if weight.shape[1] == 1 else torch.bmm(grad, weight)
            grad_x = grad_x.sum(0) if x.dim() == 2 else grad_x
        if ctx.needs_input_grad[1]:
            rows = x.expand(weight.shape[0], *x.shape) if x.dim() == 2 else x
            grad_weight = torch.bmm(grad.transpose(1, 2), rows)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = grad.sum(1)
        return grad_x, grad_weight, grad_bias


def _widened(module: nn.Module, n_outputs: int) -> nn.Module | None:
    """``module`` with its last Linear zero-padded to ``n_outputs`` outputs, or None if it is
    not a Sequential ending in a Linear. The padded rows get no gradient (the member's loss
    reads only its own columns), so they stay zero and the member trains as it would alone."""
    if not (isinstance(module, nn.Sequential) and isinstance(module[-1], nn.Linear)):
        return None
    last: nn.Linear = module[-1]
    wide = nn.Linear(last.in_features, n_outputs, bias=last.bias is not None)
    with torch.no_grad():
        wide.weight.zero_()
        wide.weight[: last.out_features] = last.weight
        if last.bias is not None:
            wide.bias.zero_()
            wide.bias[: last.out_features] = last.bias
    module[-1] = wide.to(last.weight.device)
    return module


def _seeded(build: ModelFactory, seed: int, n_inputs: int, n_outputs: int) -> nn.Module:
    """Build one member from its own seed without touching the caller's global RNG state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return build(n_inputs, n_outputs)


class StackedModel:
    """K members built by one factory, each from its own seed, evaluated together.

    Every member gets ``n_outputs`` outputs (the largest any member's loss needs); a member whose
    head is narrower uses the first columns. Because the seed and the member's own width alone
    decide its initial weights (a narrower head is built at its width, then zero-padded), a
    member trained inside a stack starts exactly where it would start alone. A user factory
    that is not a Sequential ending in a Linear is built at the full width instead.
    """

    def __init__(
        self,
        seeds: Sequence[int],
        *,
        n_inputs: int,
        n_outputs: int,
        widths: Sequence[int] | None = None,
        factory: ModelFactory | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        build = factory or default_mlp
        members = []
        for index, seed in enumerate(seeds):
            width = n_outputs if widths is None else widths[index]
            member = _seeded(build, seed, n_inputs, width)
            if width < n_outputs:
                widened = _widened(member, n_outputs)
                if widened is None:
                    widened = _seeded(build, seed, n_inputs, n_outputs)
                member = widened
            members.append(member.to(device))
        params, buffers = stack_module_state(members)
        self.params = {name: value.detach().requires_grad_(True) for name, value in params.items()}
        self.buffers = buffers
        self.base = copy.deepcopy(members[0]).to("meta")
        self.n_members = len(members)

        self._layers = _plain_layers(self.base)

    def _call_one(self, params: dict, buffers: dict, x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.base, (params, buffers), (x,))

    @contextlib.contextmanager
    def evaluating(self) -> Iterator[None]:
        """Inference mode for validation: dropout off, batch norm on its running statistics.

        A user network's BatchNorm updates its running statistics (batched buffers, one per
        member) while training; scoring validation rows in training mode would normalise them
        by their own batch statistics and add them to the running ones.
        """
        modules = [self.base] + [layer for _, layer in self._layers or ()]
        modes = [module.training for module in modules]
        for module in modules:
            module.eval()
        try:
            yield
        finally:
            for module, mode in zip(modules, modes, strict=True):
                module.train(mode)

    def parameters(self) -> list[torch.Tensor]:
        return list(self.params.values())

    def __call__(self, x: torch.Tensor, positions: Sequence[int] | None = None) -> torch.Tensor:
        """Outputs of every member on the same rows: shape (K, N, n_outputs).

        ``x`` is (N, n_inputs) for rows shared by all members, or (K, N, n_inputs) for rows
        of each member's own. ``positions`` runs only those members (on shared rows; for
        evaluation, without gradients to the rest).
        """
        params, buffers = self.params, self.buffers
        if positions is not None:
            index = torch.tensor(list(positions), dtype=torch.long, device=x.device)
            params = {name: value.index_select(0, index) for name, value in params.items()}
            buffers = {name: value.index_select(0, index) for name, value in buffers.items()}
        if self._layers is None:
            in_dims = (0, 0, 0 if x.dim() == 3 else None)
            # "different": a user network's dropout draws its own mask for every member
            return vmap(self._call_one, in_dims=in_dims, randomness="different")(params, buffers, x)
        # Fast path for Sequential(Linear, activation, ...): batched matmuls, no vmap
        # dispatch, whose per-call overhead dominates a small MLP's step.
        out, fresh = x, False
        for name, layer in self._layers:
            if name is not None:
                weight, bias = params[f"{name}.weight"], params.get(f"{name}.bias")
                out, fresh = _StackedLinear.apply(out, weight, bias), True
            elif fresh and type(layer) is nn.ReLU:
                # in place on a linear output, which nothing else holds (its backward keeps
                # only the input): one pass and one K x N x width buffer less per layer
                out, fresh = torch.relu_(out), False
            else:
                out, fresh = layer(out), False
        return out

    def keep(self, positions: Sequence[int]) -> None:
        """Drop every member but those at ``positions`` (in that order), values unchanged.

        A member that has stopped would otherwise still cost its share of every matmul until
        the last one stops; a member's numbers do not depend on its stack (see above).
        """
        first = next(iter(self.params.values()))
        index = torch.tensor(list(positions), dtype=torch.long, device=first.device)
        with torch.no_grad():
            self.params = {
                name: value.detach().index_select(0, index).requires_grad_(True)
                for name, value in self.params.items()
            }
            self.buffers = {
                name: value.index_select(0, index) for name, value in self.buffers.items()
            }
        self.n_members = len(positions)

    def member_state(self, index: int) -> dict[str, torch.Tensor]:
        """A detached copy of one member's parameters (to keep its best checkpoint)."""
        return {name: value[index].detach().clone() for name, value in self.params.items()}

    def load_member_state(self, index: int, state: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            for name, value in state.items():
                self.params[name][index].copy_(value)
