"""An Advice carries everything needed to train: loss, activation, target encoding, decoding."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from advisor._advice import target_coding
from advisor._recommend import recommend
from advisor.errors import DataError, UsageError
from advisor.losses import HeadKind, TargetKind, build_context, build_loss, losses_for, output_size
from advisor.profiling import split_xy
from advisor.records import OutputActivation, Task

N = 120


def _frame(task: Task) -> tuple[pd.DataFrame, list[str]]:
    """A tiny table of each task; the target column(s) come last."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(N, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    if task is Task.REGRESSION:
        frame["y"] = 3.0 * x[:, 0] + rng.normal(size=N) + 10.0
    elif task is Task.REGRESSION_COUNT:
        frame["y"] = rng.poisson(np.exp(0.8 * x[:, 0] + 1.0))
    elif task is Task.REGRESSION_POSITIVE:
        frame["y"] = np.exp(x[:, 0] + 0.5 * rng.normal(size=N)) * 100.0
    elif task is Task.BINARY:
        frame["y"] = np.where(x[:, 0] + 0.5 * rng.normal(size=N) > 0.3, "churn", "stay")
    elif task is Task.MULTICLASS:
        frame["y"] = np.array(["red", "green", "blue"])[np.argmax(x, axis=1)]
    elif task is Task.ORDINAL:
        frame["y"] = np.clip(np.rint(x[:, 0] * 1.2 + 3), 1, 5).astype(int)
    else:
        frame["l1"] = (x[:, 0] > 0).astype(int)
        frame["l2"] = (x[:, 1] > 0.5).astype(int)
        return frame, ["l1", "l2"]
    return frame, ["y"]


TASKS = list(Task)


@pytest.fixture(scope="module", params=TASKS, ids=[t.value for t in TASKS])
def advised(request):
    task = request.param
    frame, target = _frame(task)
    advice = recommend(frame, target=target, task=task, search=False)
    assert advice.profile.task is task
    return frame, target, advice


def _y(frame: pd.DataFrame, target: list[str]):
    return frame[target[0]].to_numpy() if len(target) == 1 else frame[target].to_numpy()


def _with_loss(advice, frame, loss):
    """The same advice recommending another loss of the task (every head gets tested)."""
    recommendation = dataclasses.replace(advice.recommendation, loss=loss, params={})
    return dataclasses.replace(
        advice,
        recommendation=recommendation,
        coding=target_coding(frame, advice.profile, loss),
    )


def _perfect_output(advice, y) -> torch.Tensor:
    """Raw outputs that decode exactly to ``y``, built from the head and the encoded target."""
    coding = advice.coding
    target = advice.encode_target(y).to(torch.float64)
    head, kind = HeadKind(coding.head), TargetKind(coding.kind)
    big = 30.0
    if head is HeadKind.SCORE:
        return (big * target if kind is TargetKind.PLUS_MINUS_ONE else target).reshape(-1, 1)
    if head is HeadKind.LOG_MEAN:
        return torch.log(target).reshape(-1, 1)
    if head is HeadKind.MEAN_VAR:
        return torch.stack([target, torch.zeros_like(target)], dim=1)
    if head in (HeadKind.LOGIT, HeadKind.LABEL_LOGITS):
        return (big * (2 * target - 1)).reshape(len(target), -1)
    codes = target.argmax(dim=1) if target.ndim == 2 else target.to(torch.long)  # soft_ce
    if head is HeadKind.LOGITS:
        return big * (2 * torch.nn.functional.one_hot(codes, coding.n_outputs) - 1)
    thresholds = torch.arange(coding.n_outputs - 1)
    return big * (2 * (codes.reshape(-1, 1) > thresholds).to(torch.float64) - 1)


def _check_trains_and_decodes(advice, frame, target):
    y = _y(frame, target)
    loss_id = advice.recommendation.loss
    width = output_size(loss_id, advice.coding.n_outputs)
    output = torch.randn(len(y), width, generator=torch.Generator().manual_seed(0))
    output.requires_grad_(True)
    value = advice.build_loss()(output, advice.encode_target(y))
    assert value.ndim == 0 and torch.isfinite(value), loss_id
    value.backward()
    assert torch.isfinite(output.grad).all() and output.grad.abs().sum() > 0, loss_id
    decoded = advice.decode_output(_perfect_output(advice, y))
    if advice.profile.task.is_regression:
        np.testing.assert_allclose(decoded, y.astype(float), rtol=1e-4, atol=1e-4)
    else:
        np.testing.assert_array_equal(decoded, y)


def test_recommended_loss_trains_and_a_perfect_output_decodes_to_y(advised):
    frame, target, advice = advised
    _check_trains_and_decodes(advice, frame, target)


def test_every_loss_of_the_task_trains_and_decodes(advised):
    frame, target, advice = advised
    for spec in losses_for(advice.profile.task):
        _check_trains_and_decodes(_with_loss(advice, frame, spec.id), frame, target)


def test_build_loss_is_build_loss_of_the_training_target(advised):
    frame, target, advice = advised
    profile = advice.profile
    _, canonical = split_xy(frame, profile)
    context = build_context(canonical, task=profile.task, n_classes=profile.n_classes or None)
    rec = advice.recommendation
    expected = build_loss(rec.loss, dict(rec.params), context=context)
    y = _y(frame, target)
    output = torch.randn(len(y), output_size(rec.loss, advice.coding.n_outputs))
    encoded = advice.encode_target(y)
    assert torch.equal(advice.build_loss()(output, encoded), expected(output, encoded))
    assert {k: str(v) for k, v in advice.build_loss().state_dict().items()} == {
        k: str(v) for k, v in expected.state_dict().items()
    }


def test_output_activation_follows_the_head():
    expected = {
        Task.REGRESSION: {
            "mse": "identity",
            "huber": "identity",
            "gaussian_nll": "mean_and_log_variance",
        },
        Task.REGRESSION_COUNT: {"poisson": "exp", "tweedie": "exp"},
        Task.BINARY: {"bce": "sigmoid", "hinge": "sign", "ce": "softmax", "focal": "sigmoid"},
        Task.MULTICLASS: {"ce": "softmax", "focal": "softmax"},
        Task.MULTILABEL: {"multilabel_bce": "sigmoid"},
        Task.ORDINAL: {"ordinal_coral": "cumulative_sigmoid", "mse": "identity"},
    }
    for task, by_loss in expected.items():
        frame, target = _frame(task)
        advice = recommend(frame, target=target, task=task, search=False)
        for loss, activation in by_loss.items():
            shown = _with_loss(advice, frame, loss).output_activation
            assert isinstance(shown, OutputActivation)
            assert shown.value == activation, (task, loss)


def test_class_labels_keep_their_type():
    frame, target = _frame(Task.ORDINAL)
    advice = recommend(frame, target=target, task=Task.ORDINAL, search=False)
    y = frame["y"].to_numpy()
    decoded = advice.decode_output(_perfect_output(advice, y))
    assert decoded.dtype.kind == "i" and set(decoded) <= {1, 2, 3, 4, 5}
    assert advice.coding.labels == (1, 2, 3, 4, 5)


def test_encode_target_refuses_unknown_labels_missing_values_and_wrong_width():
    frame, target = _frame(Task.BINARY)
    advice = recommend(frame, target=target, search=False)
    with pytest.raises(DataError, match="not one of the profiled classes"):
        advice.encode_target(["churn", "maybe"])
    with pytest.raises(DataError, match="1 missing value"):
        advice.encode_target(["churn", None])
    with pytest.raises(DataError, match="expected 1 target column"):
        advice.encode_target(np.zeros((3, 2)))


def test_advice_without_coding_says_how_to_get_one():
    frame, target = _frame(Task.REGRESSION)
    advice = dataclasses.replace(recommend(frame, target=target, search=False), coding=None)
    with pytest.raises(UsageError, match="call advisor.recommend"):
        advice.build_loss()


def test_explain_names_the_loss_reasons_evidence_and_confidence():
    frame, target = _frame(Task.BINARY)
    advice = recommend(frame, target=target, search=False)
    text = advice.explain()
    rec = advice.recommendation
    assert text.startswith(f"Recommended loss: {rec.loss.value}")
    assert f"Confidence: {rec.confidence:.2f} ({rec.confidence_label})" in text
    for line in rec.rationale:
        assert line in text
    assert "Search: none (rules only)" in text
    assert "predictions apply sigmoid" in text
    assert rec.pytorch.splitlines()[0] in text


def test_advice_pickles_and_to_dict_is_unchanged():
    frame, target = _frame(Task.MULTICLASS)
    advice = recommend(frame, target=target, search=False)
    copy = pickle.loads(pickle.dumps(advice))
    assert copy == advice
    assert copy.to_dict() == advice.to_dict()
    assert "coding" not in advice.to_dict()
    with pytest.raises(TypeError):
        copy.shortlist.candidates[0].params["x"] = 1  # still frozen after the round trip


def test_records_with_nested_frozen_mappings_pickle():
    from advisor.records import CandidateResult, LossId, MetricId, SearchResult

    result = CandidateResult(
        loss=LossId.HUBER, params={"delta": 1.5, "nested": {"a": 1}}, mean=0.1, std=0.0, n=1
    )
    search = SearchResult(
        metric=MetricId.MAE,
        direction="minimize",
        budget_s=1.0,
        elapsed_s=1.0,
        trials=1,
        storage="in-memory",
        study_name="s",
        results=(result,),
    )
    copy = pickle.loads(pickle.dumps(search))
    assert copy == search and copy.to_dict() == search.to_dict()
    with pytest.raises(TypeError):
        copy.results[0].params["delta"] = 2.0


@pytest.mark.slow
def test_explain_after_a_search_shows_every_candidate_and_the_verdict():
    frame, target = _frame(Task.REGRESSION)
    advice = recommend(frame, target=target, budget_s=4.0, trials=4)
    text = advice.explain()
    assert advice.search is not None
    assert f"Search: {advice.search.trials} trials ({advice.search.pruned} pruned)" in text
    for result in advice.search.results:
        assert result.loss.value in text
    assert advice.recommendation.verdict in text


def test_explain_counts_the_search_as_the_reports_do():
    from advisor.records import CandidateResult, SearchResult

    frame, target = _frame(Task.REGRESSION)
    advice = recommend(frame, target=target, search=False)
    results = tuple(
        CandidateResult(loss=loss, params={"lr": 0.003}, mean=1.0, std=0.1, n=5)
        for loss in advice.shortlist.losses
    )
    search = SearchResult(
        metric=advice.shortlist.metric,
        direction="minimize",
        budget_s=8.0,
        elapsed_s=5.2,
        trials=4,
        storage="in-memory",
        study_name="s",
        results=results,
        pruned=1,
    )
    text = dataclasses.replace(advice, search=search).explain()
    # 4 trials explored, then every finalist on 5 splits: not "4 short runs"
    assert "Search: 4 trials (1 pruned), then the finalists on paired validation splits" in text
    assert "short runs" not in text
