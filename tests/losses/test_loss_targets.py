"""Target transforms: encodings, round trips to original units, prediction shapes, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from advisor.errors import DataError
from advisor.losses import (
    LossContext,
    TargetKind,
    build_context,
    fit_target,
    output_size,
    robust_center_scale,
)
from advisor.records import LossId, Task

REGRESSION = LossContext()
Y = np.array([1.0, 2.0, 2.5, 4.0, 7.0, 300.0])


def test_robust_center_scale_ignores_outliers_and_falls_back() -> None:
    assert robust_center_scale(Y) == pytest.approx((3.25, 1.4826 * 1.75))
    mostly_one = np.array([5.0] * 9 + [6.0])
    assert robust_center_scale(mostly_one) == pytest.approx((5.0, 0.3))  # MAD 0 -> std
    assert robust_center_scale(np.array([2.0, 2.0])) == (2.0, 1.0)  # std 0 -> 1
    assert robust_center_scale(np.array([])) == (0.0, 1.0)


@pytest.mark.parametrize("loss_id", ["mse", "huber", "quantile", "log_cosh", "gaussian_nll"])
def test_standardize_round_trip(loss_id: str) -> None:
    transform = fit_target(loss_id, Y, context=REGRESSION)
    assert transform.kind is TargetKind.STANDARDIZE
    encoded = transform.encode(Y)
    assert encoded.dtype == torch.float32 and encoded.shape == (6,)
    width = output_size(loss_id, 1)
    output = torch.zeros(6, width, dtype=torch.float64)
    output[:, 0] = encoded.double()
    assert transform.predict(output) == pytest.approx(Y, rel=1e-6)


@pytest.mark.parametrize("loss_id", ["poisson", "gamma", "tweedie"])
def test_log_mean_round_trip(loss_id: str) -> None:
    transform = fit_target(loss_id, Y, context=REGRESSION)
    assert transform.scale == pytest.approx(Y.mean())
    assert transform.encode(Y).numpy() == pytest.approx(Y / Y.mean(), rel=1e-6)
    output = torch.tensor(np.log(Y / Y.mean()))[:, None]
    assert transform.predict(output) == pytest.approx(Y)


def test_msle_round_trip_and_clip() -> None:
    y = np.array([0.0, 1.0, 3.0, 10.0, 100.0])
    transform = fit_target("msle", y, context=REGRESSION)
    encoded = transform.encode(y).double()
    assert transform.predict(encoded[:, None]) == pytest.approx(y, rel=1e-5, abs=1e-5)
    assert transform.predict(torch.full((1, 1), -50.0))[0] == 0.0


def test_ordinal_codes_with_a_regression_loss_predict_codes() -> None:
    codes = np.array([0, 1, 1, 2, 3, 3])
    transform = fit_target("mae", codes, context=build_context(codes, task=Task.ORDINAL))
    assert transform.predict(transform.encode(codes).double()) == pytest.approx(codes, abs=1e-6)


def test_binary_encodings_and_probabilities() -> None:
    y = np.array([0, 1, 1, 0])
    binary = LossContext(n_outputs_classes=2)
    bce = fit_target("bce", y, context=binary)
    assert bce.encode(y).tolist() == [0.0, 1.0, 1.0, 0.0]
    assert fit_target("hinge", y, context=binary).encode(y).tolist() == [-1.0, 1.0, 1.0, -1.0]
    assert fit_target("focal", y, context=binary).encode(y).dtype == torch.float32
    logit = torch.tensor([[0.0], [2.0], [-2.0], [0.0]])
    assert bce.predict(logit) == pytest.approx([0.5, 0.8808, 0.1192, 0.5], abs=1e-4)
    hinge = fit_target("squared_hinge", y, context=binary)
    assert hinge.predict(logit).shape == (4,)
    ce = fit_target("ce", y, context=binary)
    assert ce.encode(y).dtype == torch.int64
    two_logits = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 0.0]])
    assert ce.predict(two_logits) == pytest.approx([0.5, 0.7311, 0.2689, 0.5], abs=1e-4)


def test_multiclass_multilabel_soft_predict_shapes() -> None:
    codes = np.array([0, 1, 2, 2])
    context = LossContext(n_outputs_classes=3)
    for loss_id in ("ce", "focal", "multi_margin", "logit_adjusted"):
        probs = fit_target(loss_id, codes, context=context).predict(torch.randn(4, 3))
        assert probs.shape == (4, 3) and probs.sum(axis=1) == pytest.approx(np.ones(4))
    soft = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    transform = fit_target("soft_ce", soft, context=context)
    assert transform.encode(soft).shape == (2, 3)
    assert transform.predict(torch.randn(2, 3)).shape == (2, 3)
    labels = np.array([[1.0, 0.0], [0.0, 0.0]])
    multilabel = fit_target("multilabel_bce", labels, context=LossContext(n_outputs_classes=2))
    assert multilabel.predict(torch.zeros(2, 2)) == pytest.approx(np.full((2, 2), 0.5))


def test_coral_probabilities_are_clipped_to_be_ordered() -> None:
    codes = np.array([0, 1, 2, 3])
    context = LossContext(n_outputs_classes=4)
    assert output_size(LossId.ORDINAL_CORAL, 4) == 3
    transform = fit_target("ordinal_coral", codes, context=context)
    assert transform.encode(codes).tolist() == [0, 1, 2, 3]
    # P(y>0)=0.5, P(y>1)=0.9 breaks rank consistency: clipped to 0.5
    logits = torch.logit(torch.tensor([[0.5, 0.9, 0.1]], dtype=torch.float64))
    assert transform.predict(logits)[0] == pytest.approx([0.5, 0.0, 0.4, 0.1])
    two = fit_target("ordinal_coral", np.array([0, 1]), context=LossContext(n_outputs_classes=2))
    assert two.predict(torch.zeros(3, 1)) == pytest.approx([0.5, 0.5, 0.5])


def test_output_sizes() -> None:
    assert [output_size(loss, 3) for loss in ("mse", "gaussian_nll", "ce", "multilabel_bce")] == [
        1,
        2,
        3,
        3,
    ]
    assert output_size("focal", 2) == 1 and output_size("focal", 3) == 3
    assert output_size("ce", 2) == 2 and output_size("bce", 2) == 1


@pytest.mark.parametrize(
    ("loss_id", "y", "n_classes", "message"),
    [
        ("mse", np.ones((3, 2)), 1, r"expected shape \(N,\) with N > 0, got \(3, 2\)"),
        ("mse", np.array([]), 1, r"expected shape \(N,\) with N > 0"),
        ("multilabel_bce", np.ones(3), 2, r"expected shape \(N, C\)"),
        ("mse", np.array([1.0, np.nan]), 1, r"NaN or infinite"),
        ("gamma", np.array([0.0, 1.0]), 1, r"'gamma': needs strictly positive values, got min 0.0"),
        ("poisson", np.array([-1.0, 1.0]), 1, r"needs non-negative values, got min -1.0"),
        ("msle", np.array([-1.0, 1.0]), 1, r"needs values > -1 for log1p"),
        ("ce", np.array([0, 3]), 3, r"expected class indices in 0..2"),
        ("bce", np.array([0.0, 2.0]), 2, r"expected class indices in 0..1"),
        ("bce", np.array([0.0, 1.5]), 2, r"expected 0/1 labels or probabilities in \[0, 1\]"),
        ("soft_ce", np.array([[0.5, 0.6]]), 2, r"non-negative rows summing to 1"),
        ("multilabel_bce", np.array([[0.5, 1.0]]), 2, r"0/1 label indicators"),
        ("tweedie", np.zeros(4), 1, r"all values are zero"),
    ],
)
def test_bad_targets_raise_data_error(
    loss_id: str, y: np.ndarray, n_classes: int, message: str
) -> None:
    with pytest.raises(DataError, match=message):
        fit_target(loss_id, y, context=LossContext(n_outputs_classes=n_classes))


def test_encode_checks_new_data_too() -> None:
    transform = fit_target("gamma", Y, context=REGRESSION)
    with pytest.raises(DataError, match=r"strictly positive"):
        transform.encode(np.array([0.0]))


def test_soft_rows_train_hard_label_losses_on_their_most_likely_class() -> None:
    from advisor.losses import build_context, fit_target
    from advisor.records import Task

    soft = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3]])
    context = build_context(soft, task=Task.MULTICLASS)
    assert fit_target("ce", soft, context=context).encode(soft).tolist() == [0, 2, 1]


def test_class_indices_train_soft_ce_as_one_hot_rows() -> None:
    from advisor.losses import build_context, fit_target
    from advisor.records import Task

    codes = np.array([0, 2, 1])
    context = build_context(codes, task=Task.MULTICLASS)
    encoded = fit_target("soft_ce", codes, context=context).encode(codes)
    assert encoded.tolist() == [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
