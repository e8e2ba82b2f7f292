"""stacked_loss: each member's value and gradient are its build_loss module's, whatever G."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from loss_targets import canonical_target

from advisor.errors import UsageError
from advisor.losses import (
    LossContext,
    build_context,
    build_loss,
    fit_target,
    get_loss,
    output_size,
    padded_rows,
    stacked_loss,
)
from advisor.losses._stacked import ROW_BLOCK
from advisor.records import LossId, Task

FOCAL = [{"gamma": 0.0}, {"gamma": 2.0, "alpha": 0.25}, {"gamma": 0.5, "alpha": 0.9}]
# three members with different hyper-parameters; losses without any get three defaults
MEMBER_PARAMS: dict[LossId, list[dict[str, float]]] = {
    LossId.HUBER: [{"delta": 0.5}, {}, {"delta": 3.0}],
    LossId.QUANTILE: [{"q": 0.1}, {"q": 0.5}, {"q": 0.9}],
    LossId.TWEEDIE: [{"power": 1.1}, {"power": 1.5}, {"power": 1.9}],
    LossId.BCE_WEIGHTED: [{}, {"pos_weight": 0.5}, {"pos_weight": 10.0}],
    LossId.FOCAL: FOCAL,
    LossId.MULTILABEL_FOCAL: FOCAL,
    LossId.CE_CLASS_BALANCED: [{"beta": 0.0}, {"beta": 0.9}, {"beta": 0.9999}],
    LossId.CE_LABEL_SMOOTHING: [{"epsilon": 0.0}, {"epsilon": 0.1}, {"epsilon": 0.3}],
    LossId.LOGIT_ADJUSTED: [{"tau": 0.0}, {"tau": 1.0}, {"tau": 2.0}],
    LossId.MULTI_MARGIN: [{"margin": 0.1}, {"margin": 1.0}, {"margin": 2.0}],
}

# a mean over 100 rows summed in another order: a few float32 ulps apart
TIGHT = {"rtol": 2e-6, "atol": 1e-8}
CASES = [(spec.id, task) for spec in map(get_loss, LossId) for task in spec.tasks]
IDS = [f"{loss}-{task}" for loss, task in CASES]


def member_params(loss_id: LossId, task: Task) -> list[dict[str, float]]:
    params = MEMBER_PARAMS.get(loss_id, [{}, {}, {}])
    if loss_id is LossId.FOCAL and task is not Task.BINARY:  # alpha is binary only
        return [{"gamma": p["gamma"]} for p in params]
    return params


def make_case(
    loss_id: LossId, task: Task, rows: int
) -> tuple[LossContext, torch.Tensor, torch.Tensor]:
    """Context, stacked outputs (3, rows, width) and the target fit_target encodes."""
    y = canonical_target(task, loss_id, rows, np.random.default_rng(0), shuffle=True)
    context = build_context(y, task=task)
    target = fit_target(loss_id, y, context=context).encode(y)
    width = output_size(loss_id, context.n_outputs_classes)
    output = 2.0 * torch.randn(3, rows, width, generator=torch.Generator().manual_seed(1))
    return context, output, target


def stacked_value_and_grad(
    loss_id: LossId,
    params: list[dict[str, float]],
    output: torch.Tensor,
    target: torch.Tensor,
    context: LossContext,
) -> tuple[torch.Tensor, torch.Tensor]:
    output = output.detach().clone().requires_grad_()
    value = stacked_loss(loss_id, params, context=context)(output, target)
    value.sum().backward()
    return value.detach(), output.grad


@pytest.mark.parametrize(("loss_id", "task"), CASES, ids=IDS)
def test_each_member_is_its_build_loss_module(loss_id: LossId, task: Task) -> None:
    context, output, target = make_case(loss_id, task, rows=100)
    params = member_params(loss_id, task)
    value, grad = stacked_value_and_grad(loss_id, params, output, target, context)
    assert value.shape == (3,)
    for k, member in enumerate(params):
        alone = output[k].clone().requires_grad_()
        expected = build_loss(loss_id, member, context=context)(alone, target)
        expected.backward()
        torch.testing.assert_close(value[k], expected.detach(), **TIGHT)
        torch.testing.assert_close(grad[k], alone.grad, **TIGHT)


@pytest.mark.parametrize(("loss_id", "task"), CASES, ids=IDS)
@pytest.mark.parametrize("rows", [37, ROW_BLOCK, 100, 512])
def test_a_member_does_not_depend_on_its_stack(loss_id: LossId, task: Task, rows: int) -> None:
    """Bit for bit, or batched and one-after-another training would drift apart."""
    context, output, target = make_case(loss_id, task, rows=rows)
    params = member_params(loss_id, task)
    value, grad = stacked_value_and_grad(loss_id, params, output, target, context)
    for k, member in enumerate(params):
        one, one_grad = stacked_value_and_grad(
            loss_id, [member], output[k : k + 1], target, context
        )
        assert torch.equal(one[0], value[k])
        assert torch.equal(one_grad[0], grad[k])


@pytest.mark.parametrize(("loss_id", "task"), CASES, ids=IDS)
def test_rows_a_caller_padded_are_ignored(loss_id: LossId, task: Task) -> None:
    """The trainer pads once per step and passes ``rows``: the numbers of unpadded rows."""
    context, output, target = make_case(loss_id, task, rows=100)
    params = member_params(loss_id, task)
    value, grad = stacked_value_and_grad(loss_id, params, output, target, context)
    extra = padded_rows(100) - 100
    padded = torch.nn.functional.pad(output, (0, 0, 0, extra)).requires_grad_()
    got = stacked_loss(loss_id, params, context=context)(
        padded, torch.cat([target, target[:extra]]), 100
    )
    got.sum().backward()
    assert torch.equal(got, value)
    assert torch.equal(padded.grad[:, :100], grad)
    assert not padded.grad[:, 100:].any()


def test_rows_are_padded_to_whole_blocks() -> None:
    assert [padded_rows(n) for n in (1, 63, 64, 65, 512)] == [64, 64, 64, 128, 512]


def test_buffers_follow_the_module() -> None:
    loss = stacked_loss("huber", [{"delta": 1.0}, {"delta": 2.0}], context=LossContext())
    assert dict(loss.named_buffers())["delta"].shape == (2, 1)
    assert loss.to(torch.float64).delta.dtype == torch.float64


def test_no_members_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"stacked_loss\('mse'\) needs at least one member"):
        stacked_loss("mse", [], context=LossContext())


@pytest.mark.parametrize(
    ("loss_id", "params", "context", "message"),
    [
        ("huber", [{"delta": 1.0}, {"delta": 0.0}], LossContext(), r"delta=0.0 is outside"),
        ("focal", [{"alpha": 0.25}], LossContext(n_outputs_classes=3), r"binary targets only"),
        ("ce_weighted", [{}], LossContext(n_outputs_classes=3), r"needs class_counts"),
        ("fokal", [{}], LossContext(), r"did you mean 'focal'"),
    ],
)
def test_errors_are_those_of_build_loss(
    loss_id: str, params: list[dict], context: LossContext, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        stacked_loss(loss_id, params, context=context)
