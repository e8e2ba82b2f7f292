"""StackedModel: member i of a stack computes exactly what the factory's model built alone does."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from advisor.training import StackedModel, default_mlp


def _alone(factory, seed: int, n_inputs: int, n_outputs: int) -> nn.Module:
    torch.manual_seed(seed)
    return factory(n_inputs, n_outputs)


def _narrow(n_inputs: int, n_outputs: int) -> nn.Module:
    return nn.Sequential(nn.Linear(n_inputs, 7), nn.Tanh(), nn.Linear(7, n_outputs))


@pytest.mark.parametrize("factory", [default_mlp, _narrow], ids=["default_mlp", "custom"])
def test_each_member_matches_the_model_built_alone_with_its_seed(factory) -> None:
    seeds = [3, 11, 0, 42]
    stack = StackedModel(seeds, n_inputs=5, n_outputs=3, factory=factory)
    x = torch.randn(17, 5, generator=torch.Generator().manual_seed(9))
    outputs = stack(x)
    assert outputs.shape == (len(seeds), 17, 3)
    for index, seed in enumerate(seeds):
        with torch.no_grad():
            want = _alone(factory, seed, 5, 3)(x)
        torch.testing.assert_close(outputs[index].detach(), want, atol=1e-6, rtol=1e-5)


def test_members_do_not_share_parameters_or_gradients() -> None:
    stack = StackedModel([0, 1], n_inputs=4, n_outputs=2)
    x = torch.randn(8, 4)
    stack(x)[0].sum().backward()
    for value in stack.parameters():
        assert value.grad is not None
        assert torch.count_nonzero(value.grad[1]) == 0
        assert torch.count_nonzero(value.grad[0]) > 0


def test_member_state_round_trips_a_checkpoint() -> None:
    stack = StackedModel([0, 1], n_inputs=4, n_outputs=2)
    x = torch.randn(6, 4)
    saved = stack.member_state(1)
    before = stack(x)[1].detach().clone()
    with torch.no_grad():
        for value in stack.parameters():
            value[1].add_(1.0)
    assert not torch.allclose(stack(x)[1], before)
    stack.load_member_state(1, saved)
    torch.testing.assert_close(stack(x)[1].detach(), before)
