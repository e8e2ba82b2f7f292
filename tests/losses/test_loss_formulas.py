"""One formula per hand-written loss: the module and the stacked kernel compute ``_formulas``;
the snippet, which must stay self-contained code text, is checked against the module."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from loss_targets import canonical_target

from advisor.losses import _formulas as formula
from advisor.losses import (
    build_context,
    build_loss,
    fit_target,
    output_size,
    pytorch_snippet,
    stacked_loss,
)
from advisor.records import LossId, Task

# (loss, task, parameters, the formulas it computes)
HAND_WRITTEN = [
    (LossId.LOG_COSH, Task.REGRESSION, {}, ["log_cosh"]),
    (LossId.QUANTILE, Task.REGRESSION, {"q": 0.1}, ["pinball"]),
    (LossId.QUANTILE, Task.REGRESSION, {"q": 0.73}, ["pinball"]),
    (LossId.GAMMA, Task.REGRESSION_POSITIVE, {}, ["gamma_deviance"]),
    (LossId.TWEEDIE, Task.REGRESSION_POSITIVE, {"power": 1.2}, ["tweedie_deviance"]),
    (LossId.TWEEDIE, Task.REGRESSION_POSITIVE, {"power": 1.8}, ["tweedie_deviance"]),
    (LossId.GAUSSIAN_NLL, Task.REGRESSION, {}, ["gaussian_variance"]),
    (LossId.HINGE, Task.BINARY, {}, ["hinge"]),
    (LossId.SQUARED_HINGE, Task.BINARY, {}, ["squared_hinge"]),
    (LossId.FOCAL, Task.BINARY, {"gamma": 2.0, "alpha": 0.25}, ["sigmoid_focal", "class_weighted"]),
    (LossId.FOCAL, Task.BINARY, {"gamma": 0.5}, ["sigmoid_focal"]),
    (LossId.FOCAL, Task.MULTICLASS, {"gamma": 1.5}, ["softmax_focal"]),
    (LossId.MULTILABEL_FOCAL, Task.MULTILABEL, {"gamma": 2.0, "alpha": 0.7},
     ["sigmoid_focal", "class_weighted"]),
    (LossId.ORDINAL_CORAL, Task.ORDINAL, {}, ["coral_levels"]),
    (LossId.LOGIT_ADJUSTED, Task.MULTICLASS, {"tau": 0.5}, ["logit_offset"]),
    (LossId.LOGIT_ADJUSTED, Task.MULTICLASS, {"tau": 2.0}, ["logit_offset"]),
]
IDS = [f"{loss.value}-{task.value}-{params}" for loss, task, params, _ in HAND_WRITTEN]


def make_case(loss_id: LossId, task: Task, seed: int):
    rng = np.random.default_rng(seed)
    y = canonical_target(task, loss_id, 90, rng, shuffle=True)
    context = build_context(y, task=task)
    target = fit_target(loss_id, y, context=context).encode(y)
    width = output_size(loss_id, context.n_outputs_classes)
    output = 1.5 * torch.randn(90, width, generator=torch.Generator().manual_seed(seed))
    return context, output, target


def value_and_grad(loss_fn, output: torch.Tensor, target: torch.Tensor):
    output = output.clone().requires_grad_()
    value = loss_fn(output, target)
    value.backward()
    return value.detach(), output.grad


@pytest.mark.parametrize(("loss_id", "task", "params", "names"), HAND_WRITTEN, ids=IDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_snippet_computes_the_module_value_and_gradient(
    loss_id: LossId, task: Task, params: dict, names: list[str], seed: int
) -> None:
    context, output, target = make_case(loss_id, task, seed)
    namespace: dict = {}
    exec(compile(pytorch_snippet(loss_id, params, context=context), "<snippet>", "exec"),
         namespace)
    snippet = value_and_grad(namespace["loss_fn"], output, target)
    module = value_and_grad(build_loss(loss_id, params, context=context), output, target)
    assert torch.any(module[1] != 0)
    torch.testing.assert_close(snippet[0], module[0], rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(snippet[1], module[1], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(("loss_id", "task", "params", "names"), HAND_WRITTEN, ids=IDS)
def test_the_module_and_the_stacked_kernel_call_the_shared_formula(
    monkeypatch, loss_id: LossId, task: Task, params: dict, names: list[str]
) -> None:
    """A change to a formula reaches both: neither keeps a copy of its own."""
    context, output, target = make_case(loss_id, task, 0)
    calls: list[str] = []
    for name in names:
        original = getattr(formula, name)

        def counted(*args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(formula, name, counted)
    build_loss(loss_id, params, context=context)(output, target)
    assert set(calls) == set(names)
    calls.clear()
    stacked_loss(loss_id, [params, params], context=context)(torch.stack([output, output]), target)
    assert set(calls) == set(names)
