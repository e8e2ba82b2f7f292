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


def test_default_mlp_is_linear_relu_layers() -> None:
    layers = [type(module) for module in default_mlp(3, 2)]
    assert layers == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]


def _relu_after_tanh(n_inputs: int, n_outputs: int) -> nn.Module:
    """ReLU after a non-linear layer must not run in place (Tanh's backward needs its output)."""
    return nn.Sequential(
        nn.Linear(n_inputs, 6), nn.Tanh(), nn.ReLU(), nn.Linear(6, n_outputs, bias=False)
    )


class _Residual(nn.Module):
    """Not a plain Sequential: runs through vmap."""

    def __init__(self, n_inputs: int, n_outputs: int) -> None:
        super().__init__()
        self.inner = nn.Linear(n_inputs, n_inputs)
        self.head = nn.Linear(n_inputs, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x + torch.relu(self.inner(x)))


FACTORIES = {"default_mlp": default_mlp, "relu_after_tanh": _relu_after_tanh, "vmap": _Residual}


@pytest.mark.parametrize("name", sorted(FACTORIES))
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_gradients_match_autograd_of_the_model_built_alone(name: str, n_outputs: int) -> None:
    factory, seeds = FACTORIES[name], [5, 1, 8]
    stack = StackedModel(seeds, n_inputs=4, n_outputs=n_outputs, factory=factory)
    x = torch.randn(11, 4, generator=torch.Generator().manual_seed(2))
    upstream = torch.randn(len(seeds), 11, n_outputs, generator=torch.Generator().manual_seed(3))
    stack(x).backward(upstream)
    for index, seed in enumerate(seeds):
        alone = _alone(factory, seed, 4, n_outputs)
        alone(x).backward(upstream[index])
        for param_name, param in alone.named_parameters():
            torch.testing.assert_close(
                stack.params[param_name].grad[index], param.grad, atol=1e-5, rtol=1e-5
            )


@pytest.mark.parametrize("n_rows", [1, 5, 100, 512])
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_a_member_computes_bit_for_bit_the_same_in_any_stack(n_rows: int, n_outputs: int) -> None:
    """Batched and one-after-another training agree exactly because of this (see _fit tests)."""
    seeds = [4, 9, 2, 7, 0]
    x = torch.randn(n_rows, 20, generator=torch.Generator().manual_seed(1))
    upstream = torch.randn(len(seeds), n_rows, n_outputs,
                           generator=torch.Generator().manual_seed(6))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)  # the stack may run on more threads than a member alone
        stack = StackedModel(seeds, n_inputs=20, n_outputs=n_outputs)
        together = stack(x)
        together.backward(upstream)
        torch.set_num_threads(1)
        for index, seed in enumerate(seeds):
            alone = StackedModel([seed], n_inputs=20, n_outputs=n_outputs)
            output = alone(x)
            output.backward(upstream[index : index + 1])
            assert torch.equal(output[0], together[index])
            for name, value in alone.params.items():
                assert torch.equal(value.grad[0], stack.params[name].grad[index]), name
    finally:
        torch.set_num_threads(threads)


def test_the_input_rows_are_never_changed_in_place() -> None:
    def relu_first(n_inputs: int, n_outputs: int) -> nn.Module:
        return nn.Sequential(nn.ReLU(), nn.Linear(n_inputs, n_outputs))

    x = torch.randn(6, 3, generator=torch.Generator().manual_seed(0))
    before = x.clone()
    StackedModel([0, 1], n_inputs=3, n_outputs=2, factory=relu_first)(x)
    assert torch.equal(x, before)


def test_a_narrower_member_starts_where_it_would_start_alone() -> None:
    """A one-output member stacked with a three-output one: same initial weights as alone."""
    stack = StackedModel([3, 5], n_inputs=4, n_outputs=3, widths=[1, 3])
    alone = StackedModel([3], n_inputs=4, n_outputs=1)
    for name, value in alone.params.items():
        stacked = stack.params[name][0]
        if stacked.shape == value[0].shape:
            assert torch.equal(stacked, value[0]), name
        else:  # the head: its own row first, zero rows for the columns it never reads
            assert torch.equal(stacked[:1], value[0]), name
            assert not stacked[1:].any(), name
    wide_alone = StackedModel([5], n_inputs=4, n_outputs=3)
    for name, value in wide_alone.params.items():
        assert torch.equal(stack.params[name][1], value[0]), name


def test_a_factory_without_a_final_linear_is_built_at_the_full_width() -> None:
    def scaled(n_inputs: int, n_outputs: int) -> nn.Module:
        return nn.Sequential(nn.Linear(n_inputs, n_outputs), nn.Tanh())

    stack = StackedModel([3, 5], n_inputs=4, n_outputs=3, widths=[1, 3], factory=scaled)
    wide_alone = StackedModel([3], n_inputs=4, n_outputs=3, factory=scaled)
    for name, value in wide_alone.params.items():
        assert torch.equal(stack.params[name][0], value[0]), name


@pytest.mark.parametrize("factory", [default_mlp, _narrow], ids=["default_mlp", "custom"])
def test_keep_drops_members_and_leaves_the_others_unchanged(factory) -> None:
    stack = StackedModel([3, 11, 0, 42], n_inputs=5, n_outputs=3, factory=factory)
    x = torch.randn(9, 5, generator=torch.Generator().manual_seed(2))
    before = stack(x).detach()
    stack.keep([3, 1])
    after = stack(x)
    assert after.shape == (2, 9, 3) and stack.n_members == 2
    assert torch.equal(after[0].detach(), before[3]) and torch.equal(after[1].detach(), before[1])
    for value in stack.parameters():
        assert value.is_leaf and value.requires_grad and value.shape[0] == 2
