"""Every loss: the contract (finite, differentiable, snippet == module) and the maths."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from loss_targets import canonical_target
from sklearn.metrics import (
    mean_gamma_deviance,
    mean_pinball_loss,
    mean_poisson_deviance,
    mean_tweedie_deviance,
)

from advisor.errors import UsageError
from advisor.losses import (
    LossContext,
    build_context,
    build_loss,
    class_balanced_weights,
    fit_target,
    get_loss,
    inverse_frequency_weights,
    log_prior,
    output_size,
    pos_weights,
    pytorch_snippet,
    resolve_params,
)
from advisor.records import LossId, Task

N = 64


CASES = [(spec.id, task) for spec in map(get_loss, LossId) for task in spec.tasks]


def make_case(loss_id: LossId, task: Task, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = canonical_target(task, loss_id, N, rng)
    context = build_context(y, task=task)
    target = fit_target(loss_id, y, context=context).encode(y)
    width = output_size(loss_id, context.n_outputs_classes)
    output = torch.randn(N, width, generator=torch.Generator().manual_seed(seed))
    return context, output.requires_grad_(), target


@pytest.mark.parametrize(("loss_id", "task"), CASES, ids=[f"{lo}-{t}" for lo, t in CASES])
class TestLossContract:
    def test_finite_scalar_with_gradients(self, loss_id: LossId, task: Task) -> None:
        context, output, target = make_case(loss_id, task)
        value = build_loss(loss_id, {}, context=context)(output, target)
        assert value.ndim == 0 and torch.isfinite(value)
        value.backward()
        assert output.grad is not None and torch.any(output.grad != 0)

    def test_snippet_execs_and_matches_module(self, loss_id: LossId, task: Task) -> None:
        context, output, target = make_case(loss_id, task)
        code = pytorch_snippet(loss_id, {}, context=context)
        assert code.startswith("import torch\n") and "# model outputs" in code
        namespace: dict = {}
        exec(compile(code, f"<{loss_id}>", "exec"), namespace)
        expected = build_loss(loss_id, {}, context=context)(output, target)
        got = namespace["loss_fn"](output, target)
        assert got.item() == pytest.approx(expected.item(), rel=1e-5, abs=1e-6)

    def test_resolved_params_mean_the_same(self, loss_id: LossId, task: Task) -> None:
        context, _, _ = make_case(loss_id, task)
        resolved = resolve_params(loss_id, {}, context=context)
        assert resolve_params(loss_id, resolved, context=context) == resolved
        snippet = pytorch_snippet(loss_id, resolved, context=context)
        assert snippet == pytorch_snippet(loss_id, {}, context=context)


def test_snippet_with_non_default_params_matches() -> None:
    context = LossContext(n_outputs_classes=2, class_counts=(90, 10), n_rows=100)
    output = torch.randn(20, 1)
    target = (torch.arange(20) % 2).float()
    params = {"gamma": 1.5, "alpha": 0.25}
    namespace: dict = {}
    exec(pytorch_snippet("focal", params, context=context), namespace)
    expected = build_loss("focal", params, context=context)(output, target)
    assert float(namespace["loss_fn"](output, target)) == pytest.approx(float(expected))


def test_snippet_spells_out_weights_and_encoding() -> None:
    context = LossContext(n_outputs_classes=2, class_counts=(100, 10), n_rows=110)
    code = pytorch_snippet("ce_class_balanced", {"beta": 0.99}, context=context)
    assert "torch.tensor([0.2621, 1.7379])" in code
    assert "# model outputs raw logits (no softmax), shape (N, 2); target: class indices" in code
    assert "pos_weight=torch.tensor([10.0])" in pytorch_snippet("bce_weighted", context=context)


# --------------------------------------------------------------------------- against references


def binary_case(seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(N, 1, generator=gen) * 3, (torch.rand(N, generator=gen) < 0.3).float()


def test_focal_gamma_zero_is_bce_and_ce() -> None:
    output, target = binary_case()
    binary = LossContext(n_outputs_classes=2)
    focal = build_loss("focal", {"gamma": 0.0}, context=binary)(output, target)
    assert torch.equal(focal, torch.nn.BCEWithLogitsLoss()(output[:, 0], target))
    logits, classes = torch.randn(N, 4), torch.arange(N) % 4
    focal = build_loss("focal", {"gamma": 0.0}, context=LossContext(n_outputs_classes=4))
    assert torch.equal(focal(logits, classes), torch.nn.CrossEntropyLoss()(logits, classes))
    labels = (torch.rand(N, 4) < 0.3).float()
    multilabel = build_loss("multilabel_focal", {"gamma": 0.0}, context=LossContext())
    assert torch.equal(multilabel(logits, labels), torch.nn.BCEWithLogitsLoss()(logits, labels))


def test_focal_down_weights_easy_examples_and_alpha_weights_classes() -> None:
    output, target = binary_case()
    context = LossContext(n_outputs_classes=2)
    bce = build_loss("bce", context=context)(output, target)
    assert build_loss("focal", {"gamma": 2.0}, context=context)(output, target) < bce
    p = torch.sigmoid(output[:, 0])
    p_true = p * target + (1 - p) * (1 - target)
    ce = torch.nn.functional.binary_cross_entropy_with_logits(
        output[:, 0], target, reduction="none"
    )
    alpha_t = 0.25 * target + 0.75 * (1 - target)
    expected = (alpha_t * (1 - p_true) ** 2 * ce).mean()
    got = build_loss("focal", {"alpha": 0.25}, context=context)(output, target)
    assert float(got) == pytest.approx(float(expected), rel=1e-6)


def test_multiclass_focal_rejects_alpha() -> None:
    with pytest.raises(UsageError, match=r"focal alpha=0.25 is defined for binary targets only"):
        build_loss("focal", {"alpha": 0.25}, context=LossContext(n_outputs_classes=3))
    with pytest.raises(UsageError, match=r"binary targets only"):
        pytorch_snippet("focal", {"alpha": 0.25}, context=LossContext(n_outputs_classes=3))


@pytest.mark.parametrize("squared", [False, True])
def test_hinge_matches_numpy(squared: bool) -> None:
    output, target01 = binary_case()
    target = 2 * target01 - 1
    s, y = output[:, 0].numpy().astype(np.float64), target.numpy().astype(np.float64)
    violation = np.maximum(0.0, 1.0 - y * s)
    expected = np.mean(violation**2 if squared else violation)
    loss = build_loss("squared_hinge" if squared else "hinge", context=LossContext())
    assert float(loss(output, target)) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("q", [0.1, 0.5, 0.9])
def test_quantile_is_sklearn_pinball(q: float) -> None:
    rng = np.random.default_rng(2)
    y, pred = rng.normal(size=N), rng.normal(size=N)
    loss = build_loss("quantile", {"q": q}, context=LossContext())
    value = loss(torch.tensor(pred).reshape(-1, 1), torch.tensor(y))
    assert float(value) == pytest.approx(mean_pinball_loss(y, pred, alpha=q), rel=1e-9)


def test_gamma_is_half_sklearn_gamma_deviance() -> None:
    rng = np.random.default_rng(3)
    y, log_mu = rng.gamma(2.0, 1.0, N), rng.normal(0.0, 0.5, N)
    value = build_loss("gamma", context=LossContext())(
        torch.tensor(log_mu)[:, None], torch.tensor(y)
    )
    assert 2 * float(value) == pytest.approx(mean_gamma_deviance(y, np.exp(log_mu)), rel=1e-9)


@pytest.mark.parametrize("power", [1.1, 1.5, 1.9])
def test_tweedie_is_half_sklearn_tweedie_deviance(power: float) -> None:
    rng = np.random.default_rng(4)
    y = rng.poisson(1.0, N) * rng.gamma(2.0, 1.0, N)  # many exact zeros
    log_mu = rng.normal(0.0, 0.5, N)
    loss = build_loss("tweedie", {"power": power}, context=LossContext())
    value = loss(torch.tensor(log_mu)[:, None], torch.tensor(y))
    expected = mean_tweedie_deviance(y, np.exp(log_mu), power=power)
    assert 2 * float(value) == pytest.approx(expected, rel=1e-9)


def test_poisson_is_half_deviance_up_to_a_term_in_y() -> None:
    rng = np.random.default_rng(5)
    y, log_mu = rng.poisson(2.0, N).astype(np.float64), rng.normal(0.0, 0.5, N)
    value = build_loss("poisson", context=LossContext())(
        torch.tensor(log_mu)[:, None], torch.tensor(y)
    )
    y_log_y = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0)), 0.0)
    expected = 0.5 * mean_poisson_deviance(y, np.exp(log_mu)) - np.mean(y_log_y - y)
    assert float(value) == pytest.approx(expected, rel=1e-9)


def test_log_cosh_matches_numpy_and_stays_finite() -> None:
    x = np.array([-50.0, -3.0, -0.1, 0.0, 0.2, 4.0, 50.0])
    loss = build_loss("log_cosh", context=LossContext())
    for value in x:
        got = float(loss(torch.tensor([[value]]), torch.tensor([0.0])))
        assert got == pytest.approx(float(np.log(np.cosh(value))), rel=1e-9, abs=1e-12)
    assert math.isfinite(float(loss(torch.tensor([[1e4]]), torch.tensor([0.0]))))


def test_gaussian_nll_matches_hand_value() -> None:
    output = torch.tensor([[0.5, 0.0], [-1.0, math.log(4.0)]])
    target = torch.tensor([1.0, 1.0])
    expected = np.mean([0.5 * (0.0 + 0.25), 0.5 * (math.log(4.0) + 4.0 / 4.0)])
    value = build_loss("gaussian_nll", context=LossContext())(output, target)
    assert float(value) == pytest.approx(expected, rel=1e-6)


def test_huber_delta_is_given_in_original_units() -> None:
    context = LossContext(target_scale=2.5)
    assert resolve_params("huber", {"delta": 5.0}, context=context) == {"delta": 5.0}
    resolved = resolve_params("huber", {}, context=context)
    assert resolved == {"delta": pytest.approx(1.345 * 2.5)}
    assert resolve_params("huber", resolved, context=context) == resolved  # idempotent
    assert "torch.nn.HuberLoss(delta=2.0)" in pytorch_snippet(
        "huber", {"delta": 5.0}, context=context
    )
    loss = build_loss("huber", {"delta": 5.0}, context=context)
    output, target = torch.tensor([[3.0], [0.5]]), torch.tensor([0.0, 0.0])
    expected = torch.nn.HuberLoss(delta=2.0)(output[:, 0], target)
    assert torch.equal(loss(output, target), expected)


def test_class_balanced_weights_by_hand() -> None:
    context = LossContext(n_outputs_classes=2, class_counts=(100, 10), n_rows=110)
    effective = [(1 - 0.99**100) / 0.01, (1 - 0.99**10) / 0.01]
    raw = [1 / e for e in effective]
    expected = [2 * w / sum(raw) for w in raw]
    assert class_balanced_weights(context, beta=0.99) == pytest.approx(expected, abs=5e-5)
    assert class_balanced_weights(context, beta=0.99) == (0.2621, 1.7379)


def test_inverse_frequency_prior_and_pos_weights_by_hand() -> None:
    context = LossContext(n_outputs_classes=3, class_counts=(60, 30, 10), n_rows=100)
    assert inverse_frequency_weights(context) == (0.3333, 0.6667, 2.0)
    assert log_prior(context) == pytest.approx(np.log([0.6, 0.3, 0.1]), abs=1e-4)
    assert pos_weights(context, LossId.MULTILABEL_BCE_WEIGHTED) == (0.6667, 2.3333, 9.0)
    binary = LossContext(n_outputs_classes=2, class_counts=(80, 20), n_rows=100)
    assert pos_weights(binary, LossId.BCE_WEIGHTED) == (4.0,)
    assert resolve_params("bce_weighted", {}, context=binary) == {"pos_weight": 4.0}
    absent = LossContext(n_outputs_classes=2, class_counts=(10, 0), n_rows=10)
    assert all(math.isfinite(w) for w in inverse_frequency_weights(absent))


def test_weighted_ce_uses_the_weights() -> None:
    context = LossContext(n_outputs_classes=3, class_counts=(60, 30, 10), n_rows=100)
    logits, target = torch.randn(N, 3), torch.arange(N) % 3
    weight = torch.tensor(inverse_frequency_weights(context))
    expected = torch.nn.CrossEntropyLoss(weight=weight)(logits, target)
    assert torch.equal(build_loss("ce_weighted", context=context)(logits, target), expected)


def test_logit_adjusted_adds_scaled_log_prior() -> None:
    context = LossContext(n_outputs_classes=3, class_counts=(60, 30, 10), n_rows=100)
    logits, target = torch.randn(N, 3), torch.arange(N) % 3
    plain = torch.nn.CrossEntropyLoss()(logits, target)
    assert torch.equal(
        build_loss("logit_adjusted", {"tau": 0.0}, context=context)(logits, target), plain
    )
    offset = 2.0 * torch.tensor(log_prior(context))
    expected = torch.nn.CrossEntropyLoss()(logits + offset, target)
    got = build_loss("logit_adjusted", {"tau": 2.0}, context=context)(logits, target)
    assert float(got) == pytest.approx(float(expected), rel=1e-6)


def test_coral_is_mean_bce_against_cumulative_levels() -> None:
    output = torch.tensor([[2.0, 0.0, -2.0], [1.0, 1.0, 1.0]])
    target = torch.tensor([1, 3])
    levels = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    expected = torch.nn.functional.binary_cross_entropy_with_logits(output, levels)
    assert torch.equal(build_loss("ordinal_coral", context=LossContext())(output, target), expected)


def test_soft_ce_with_one_hot_rows_equals_ce() -> None:
    logits, target = torch.randn(N, 3), torch.arange(N) % 3
    one_hot = torch.nn.functional.one_hot(target, 3).float()
    soft = build_loss("soft_ce", context=LossContext(n_outputs_classes=3))(logits, one_hot)
    assert float(soft) == pytest.approx(float(torch.nn.CrossEntropyLoss()(logits, target)))


# --------------------------------------------------------------------------- usage errors


def test_unknown_parameter_suggests() -> None:
    with pytest.raises(UsageError, match=r"'huber' has no parameter 'dleta'; did you mean 'delta'"):
        build_loss("huber", {"dleta": 1.0}, context=LossContext())
    with pytest.raises(UsageError, match=r"'mse' has no parameter 'q' \(parameters: none\)"):
        build_loss("mse", {"q": 0.5}, context=LossContext())


@pytest.mark.parametrize(
    ("loss_id", "params", "message"),
    [
        ("quantile", {"q": 1.0}, r"quantile parameter q=1.0 is outside \(0, 1\)"),
        ("tweedie", {"power": 2.0}, r"power=2.0 is outside \(1, 2\)"),
        ("focal", {"gamma": -1.0}, r"gamma=-1.0 is outside \[0, inf\)"),
        ("focal", {"alpha": 1.5}, r"alpha=1.5 is outside \[0, 1\]"),
        ("huber", {"delta": 0.0}, r"delta=0.0 is outside \(0, inf\)"),
        ("ce_class_balanced", {"beta": 1.0}, r"beta=1.0 is outside \[0, 1\)"),
        ("multi_margin", {"margin": float("nan")}, r"margin=nan is outside"),
    ],
)
def test_parameter_outside_its_domain(loss_id: str, params: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        build_loss(loss_id, params, context=LossContext(n_outputs_classes=2))


def test_weighted_losses_need_class_counts() -> None:
    with pytest.raises(UsageError, match=r"'ce_weighted' needs class_counts in its LossContext"):
        build_loss("ce_weighted", context=LossContext(n_outputs_classes=3))
    three = LossContext(n_outputs_classes=3, class_counts=(1, 2, 3), n_rows=6)
    with pytest.raises(UsageError, match=r"bce_weighted needs class_counts of 2 classes"):
        build_loss("bce_weighted", context=three)


def test_unknown_loss_id_in_build() -> None:
    with pytest.raises(UsageError, match=r"did you mean 'focal'"):
        build_loss("fokal", context=LossContext())


def test_build_context_summaries() -> None:
    codes = np.array([0, 0, 0, 1, 2, 2])
    context = build_context(codes, task=Task.MULTICLASS, n_classes=4)
    assert context.class_counts == (3, 1, 2, 0) and context.n_outputs_classes == 4
    assert context.n_rows == 6
    labels = np.array([[1, 0], [1, 1], [0, 0]], dtype=float)
    assert build_context(labels, task=Task.MULTILABEL).class_counts == (2, 1)
    y = np.array([1.0, 2.0, 3.0, 4.0, 1000.0])
    assert build_context(y, task=Task.REGRESSION).target_scale == pytest.approx(1.4826)
