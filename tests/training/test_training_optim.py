"""StackedAdamW is K independent torch.optim.AdamW optimisers, step for step."""

from __future__ import annotations

import pytest
import torch

from advisor.training import StackedAdamW, StackedModel, default_mlp

STEPS = 25


def _grads(shape: tuple[int, ...], steps: int, seed: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=generator) for _ in range(steps)]


def _reference(start: torch.Tensor, grads: list[torch.Tensor], lr: float, wd: float):
    param = torch.nn.Parameter(start.clone())
    optimizer = torch.optim.AdamW([param], lr=lr, weight_decay=wd, betas=(0.9, 0.999), eps=1e-8)
    path = []
    for grad in grads:
        optimizer.zero_grad()
        param.grad = grad.clone()
        optimizer.step()
        path.append(param.detach().clone())
    return path


@pytest.mark.parametrize("wd", [0.0, 1e-2])
def test_single_member_matches_torch_adamw_step_for_step(wd: float) -> None:
    torch.manual_seed(0)
    start = torch.randn(1, 4, 3)
    grads = _grads((1, 4, 3), STEPS, seed=1)
    expected = _reference(start[0], [g[0] for g in grads], lr=1e-2, wd=wd)
    stacked = start.clone().requires_grad_(True)
    optimizer = StackedAdamW([stacked], [1e-2], weight_decay=wd)
    for grad, want in zip(grads, expected, strict=True):
        optimizer.zero_grad()
        stacked.grad = grad.clone()
        optimizer.step()
        torch.testing.assert_close(stacked.detach()[0], want, atol=1e-6, rtol=0)


def test_three_members_with_their_own_rates_match_three_torch_optimisers() -> None:
    lrs = [1e-3, 3e-2, 0.2]
    torch.manual_seed(0)
    weight, bias = torch.randn(3, 5, 2), torch.randn(3, 5)
    weight_grads, bias_grads = _grads((3, 5, 2), STEPS, seed=2), _grads((3, 5), STEPS, seed=3)
    stacked = [weight.clone().requires_grad_(True), bias.clone().requires_grad_(True)]
    optimizer = StackedAdamW(stacked, lrs, weight_decay=1e-2)
    for grad_w, grad_b in zip(weight_grads, bias_grads, strict=True):
        optimizer.zero_grad()
        stacked[0].grad, stacked[1].grad = grad_w.clone(), grad_b.clone()
        optimizer.step()
    for member, lr in enumerate(lrs):
        want_w = _reference(weight[member], [g[member] for g in weight_grads], lr, 1e-2)[-1]
        want_b = _reference(bias[member], [g[member] for g in bias_grads], lr, 1e-2)[-1]
        torch.testing.assert_close(stacked[0].detach()[member], want_w, atol=1e-6, rtol=0)
        torch.testing.assert_close(stacked[1].detach()[member], want_b, atol=1e-6, rtol=0)


def test_frozen_member_does_not_move_while_the_others_do() -> None:
    torch.manual_seed(0)
    start = torch.randn(3, 4)
    param = start.clone().requires_grad_(True)
    optimizer = StackedAdamW([param], [1e-2, 1e-2, 1e-2], weight_decay=0.1)
    optimizer.freeze(1)
    for grad in _grads((3, 4), 10, seed=4):
        optimizer.zero_grad()
        param.grad = grad
        optimizer.step()
    assert torch.equal(param.detach()[1], start[1])
    assert not torch.allclose(param.detach()[0], start[0])
    assert not torch.allclose(param.detach()[2], start[2])


def test_zero_rate_from_the_start_also_freezes_and_missing_grads_are_skipped() -> None:
    param, untouched = torch.ones(2, 3, requires_grad=True), torch.ones(2, 3, requires_grad=True)
    optimizer = StackedAdamW([param, untouched], [0.0, 0.5])
    param.grad = torch.ones(2, 3)
    optimizer.step()
    assert torch.equal(param.detach()[0], torch.ones(3))
    assert torch.all(param.detach()[1] < 1.0)
    assert torch.equal(untouched.detach(), torch.ones(2, 3))
    optimizer.zero_grad()
    assert param.grad is None


def test_parameters_move_into_one_flat_buffer_and_keep_their_values() -> None:
    stack = StackedModel([0, 1], n_inputs=3, n_outputs=2)
    before = {name: value.detach().clone() for name, value in stack.params.items()}
    params = stack.parameters()
    optimizer = StackedAdamW(params, [1e-2, 1e-2])
    assert [id(p) for p in stack.parameters()] == [id(p) for p in params]
    assert sum(p.numel() for p in params) == optimizer.flat.numel()
    for name, value in stack.params.items():
        assert value.untyped_storage().data_ptr() == optimizer.flat.untyped_storage().data_ptr()
        assert value.is_leaf and value.requires_grad
        assert torch.equal(value.detach(), before[name])


def test_a_stacked_model_trains_like_torch_adamw_on_each_member_alone() -> None:
    """Gradients from autograd (not assigned by hand) through the flat buffer."""
    seeds, lrs = [0, 1, 2], [1e-3, 1e-2, 5e-2]
    generator = torch.Generator().manual_seed(0)
    batches = [(torch.randn(16, 3, generator=generator), torch.randn(16, 2, generator=generator))
               for _ in range(STEPS)]
    stack = StackedModel(seeds, n_inputs=3, n_outputs=2)
    optimizer = StackedAdamW(stack.parameters(), lrs, weight_decay=1e-2)
    for x, y in batches:
        optimizer.zero_grad()
        ((stack(x) - y) ** 2).mean(dim=(1, 2)).sum().backward()
        optimizer.step()
    for index, (seed, lr) in enumerate(zip(seeds, lrs, strict=True)):
        torch.manual_seed(seed)
        alone = default_mlp(3, 2)
        reference = torch.optim.AdamW(alone.parameters(), lr=lr, weight_decay=1e-2)
        for x, y in batches:
            reference.zero_grad()
            ((alone(x) - y) ** 2).mean().backward()
            reference.step()
        for name, param in alone.named_parameters():
            torch.testing.assert_close(
                stack.params[name].detach()[index], param.detach(), atol=1e-5, rtol=1e-4
            )


def test_parameters_that_do_not_stack_the_members_are_rejected() -> None:
    with pytest.raises(ValueError, match="got no parameters"):
        StackedAdamW([], [1e-3])
    with pytest.raises(ValueError, match=r"shape \(2, 3\) does not stack.*\(3 given\)"):
        StackedAdamW([torch.zeros(2, 3, requires_grad=True)], [1e-3] * 3)
    with pytest.raises(ValueError, match=r"shape \(\) does not stack.*\(1 given\)"):
        StackedAdamW([torch.zeros((), requires_grad=True)], [1e-3])


def test_kept_optimiser_continues_the_kept_members_exactly() -> None:
    """Dropping members mid-run: the others' moments, step count and rates carry over."""
    lrs = [1e-3, 3e-2, 0.2]
    torch.manual_seed(0)
    weight, bias = torch.randn(3, 5, 2), torch.randn(3, 5)
    weight_grads, bias_grads = _grads((3, 5, 2), STEPS, seed=2), _grads((3, 5), STEPS, seed=3)
    full = [weight.clone().requires_grad_(True), bias.clone().requires_grad_(True)]
    reference = StackedAdamW(full, lrs, weight_decay=1e-2)
    part = [weight.clone().requires_grad_(True), bias.clone().requires_grad_(True)]
    optimizer = StackedAdamW(part, lrs, weight_decay=1e-2)
    keep = [2, 0]
    for step, (grad_w, grad_b) in enumerate(zip(weight_grads, bias_grads, strict=True)):
        if step == 10:
            part = [p.detach()[keep].clone().requires_grad_(True) for p in part]
            optimizer = optimizer.kept(keep, part)
        rows = keep if step >= 10 else slice(None)
        for params, opt, own in ((full, reference, slice(None)), (part, optimizer, rows)):
            opt.zero_grad()
            params[0].grad, params[1].grad = grad_w[own].clone(), grad_b[own].clone()
            opt.step()
    assert optimizer.step_count == STEPS
    assert torch.equal(part[0].detach(), full[0].detach()[keep])
    assert torch.equal(part[1].detach(), full[1].detach()[keep])
