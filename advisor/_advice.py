"""What an ``Advice`` needs to train with: its loss module, target encoding and decoded outputs.

``records.py`` imports no other advisor module, so the ``Advice`` methods delegate here. All
of it is derived from the ``TargetCoding`` that ``recommend`` measured on the training target,
through the functions the search itself trains and scores with (``build_loss``,
``TargetTransform``, the validation metrics' rule from probabilities to labels): one
definition of each, so what a user trains with is what the advisor measured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from advisor.errors import DataError, UsageError
from advisor.losses import (
    HeadKind,
    LossContext,
    TargetKind,
    TargetTransform,
    build_context,
    build_loss,
    fit_target,
    output_size,
)
from advisor.profiling import split_xy
from advisor.profiling._values import read_target_values
from advisor.records import (
    Advice,
    DataProfile,
    LabelEncoding,
    LossId,
    MetricId,
    OutputActivation,
    TargetCoding,
    Task,
)
from advisor.training._metrics import _labels, _probabilities

__all__ = [
    "activation_of",
    "build_advised_loss",
    "canonical_target",
    "class_probabilities",
    "decode_levels",
    "coding_context",
    "coding_of",
    "coding_transform",
    "decode_output",
    "encode_target",
    "explain",
    "labels_in_order",
    "output_activation",
    "target_coding",
]

_ACTIVATIONS = {
    HeadKind.SCORE: OutputActivation.IDENTITY,
    HeadKind.LOG_MEAN: OutputActivation.EXP,
    HeadKind.MEAN_VAR: OutputActivation.MEAN_AND_LOG_VARIANCE,
    HeadKind.LOGIT: OutputActivation.SIGMOID,
    HeadKind.LOGITS: OutputActivation.SOFTMAX,
    HeadKind.CUMULATIVE_LOGITS: OutputActivation.CUMULATIVE_SIGMOID,
    HeadKind.LABEL_LOGITS: OutputActivation.SIGMOID,
}


def activation_of(head: HeadKind | str, kind: TargetKind | str) -> OutputActivation:
    """The prediction-time activation of a loss head (a ±1 score head predicts by its sign).

    Example:
        >>> activation_of("logits", "class_index").value, activation_of("score", "plus_minus_one")
        ('softmax', <OutputActivation.SIGN: 'sign'>)
    """
    if HeadKind(head) is HeadKind.SCORE and TargetKind(kind) is TargetKind.PLUS_MINUS_ONE:
        return OutputActivation.SIGN
    return _ACTIVATIONS[HeadKind(head)]


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (labels must be plain record data)."""
    return value.item() if isinstance(value, np.generic) else value


def labels_in_order(
    frame: pd.DataFrame, profile: DataProfile, codes: np.ndarray
) -> tuple[Any, ...] | None:
    """The original class labels in code order: the first value seen with each code.

    Strings take the profile's spelling (stripped); numbers and booleans keep their type, so
    decoded predictions compare equal to the user's ``y``. ``codes`` is ``split_xy``'s target
    of ``frame``. None for regression; class or label names for several target columns.
    """
    if profile.task.is_regression or not profile.classes:
        return None
    if codes.ndim == 2 or len(profile.target) > 1:
        return tuple(profile.classes)
    column = profile.target[0]
    keep = read_target_values(frame, profile.target, check=False).keep
    original = frame[column].to_numpy()[keep]
    labels: list[Any] = []
    for code, name in enumerate(profile.classes):
        seen = np.flatnonzero(codes == code)
        value = _plain(original[seen[0]]) if seen.size else name
        labels.append(name if isinstance(value, str) or not seen.size else value)
    return tuple(labels)


def coding_of(
    y: np.ndarray, *, profile: DataProfile, loss: LossId | str, labels: tuple[Any, ...] | None
) -> TargetCoding:
    """The ``TargetCoding`` of ``loss`` on a canonical training target ``y``.

    It holds what ``fit_short`` derives from the same rows (``build_context``, ``fit_target``),
    so a network trained there is decoded here exactly as the search scored it.

    Raises:
        DataError: the target does not fit the loss (e.g. gamma on values that are not > 0).
    """
    context = build_context(y, task=profile.task, n_classes=profile.n_classes or None)
    transform = fit_target(loss, y, context=context)
    return TargetCoding(
        loss=transform.loss,
        head=transform.head.value,
        kind=transform.kind.value,
        n_outputs=context.n_outputs_classes,
        class_counts=context.class_counts,
        n_rows=context.n_rows,
        context_scale=float(context.target_scale),
        center=float(transform.center),
        scale=float(transform.scale),
        labels=labels,
    )


def target_coding(frame: pd.DataFrame, profile: DataProfile, loss: LossId | str) -> TargetCoding:
    """Measure the ``TargetCoding`` of ``loss`` on the whole target of ``frame``.

    Raises:
        DataError: the target does not fit the loss (e.g. gamma on values that are not > 0).
    """
    _, y = split_xy(frame, profile)
    return coding_of(y, profile=profile, loss=loss, labels=labels_in_order(frame, profile, y))


def coding_context(coding: TargetCoding) -> LossContext:
    """The ``LossContext`` the coding was measured with (what ``build_loss`` needs)."""
    return LossContext(
        n_outputs_classes=coding.n_outputs,
        class_counts=coding.class_counts,
        n_rows=coding.n_rows,
        target_scale=coding.context_scale,
    )


def coding_transform(coding: TargetCoding) -> TargetTransform:
    """The fitted ``TargetTransform`` the coding was measured with."""
    return TargetTransform(
        loss=coding.loss,
        head=HeadKind(coding.head),
        kind=TargetKind(coding.kind),
        n_classes=coding.n_outputs,
        center=coding.center,
        scale=coding.scale,
    )


def _coding(advice: Advice) -> TargetCoding:
    if advice.coding is None:
        raise UsageError(
            "this Advice carries no target coding (it was not made by advisor.recommend); "
            "call advisor.recommend to get one that can build its loss"
        )
    return advice.coding


def _target_frame(profile: DataProfile, y: Any) -> pd.DataFrame:
    """``y`` as the profile's target column(s), so ``split_xy`` reads it as it read the data."""
    columns = list(profile.target)
    if isinstance(y, pd.DataFrame):
        if set(columns) <= set(map(str, y.columns)):
            return y.set_axis([str(c) for c in y.columns], axis=1)[columns].reset_index(drop=True)
        values = y.to_numpy()
    elif isinstance(y, pd.Series):
        values = y.to_numpy()
    else:
        values = np.asarray(y)
    if values.ndim == 2 and values.shape[1] == 1 and len(columns) == 1:
        values = values[:, 0]
    width = 1 if values.ndim == 1 else values.shape[1]
    if values.ndim not in (1, 2) or width != len(columns):
        raise DataError(
            f"y has shape {values.shape}; expected {len(columns)} target column(s) "
            f"({', '.join(columns)}) as in the profiled data"
        )
    return pd.DataFrame(values.reshape(len(values), -1), columns=columns)


def canonical_target(profile: DataProfile, y: Any) -> np.ndarray:
    """``y`` (values or labels as the user holds them) as the canonical training array.

    Raises:
        DataError: a missing value, a label the profile did not see, or the wrong width.
    """
    frame = _target_frame(profile, y)
    _, canonical = split_xy(frame, profile)
    if len(canonical) != len(frame):
        raise DataError(
            f"y has {len(frame) - len(canonical)} missing value(s) of {len(frame)}; "
            "drop or impute those rows before encoding"
        )
    return canonical


def build_advised_loss(advice: Advice) -> torch.nn.Module:
    """``Advice.build_loss``: ``build_loss`` of the recommendation, with the measured context."""
    coding = _coding(advice)
    rec = advice.recommendation
    return build_loss(rec.loss, dict(rec.params), context=coding_context(coding))


def output_activation(advice: Advice) -> OutputActivation:
    """``Advice.output_activation``: the activation of the recommended loss's head."""
    coding = _coding(advice)
    return activation_of(coding.head, coding.kind)


def encode_target(advice: Advice, y: Any) -> torch.Tensor:
    """``Advice.encode_target``: labels or values -> the tensor the loss trains on."""
    coding = _coding(advice)
    return coding_transform(coding).encode(canonical_target(advice.profile, y))


def class_probabilities(coding: TargetCoding, output: Any) -> np.ndarray:
    """Raw outputs -> (N, C) class or label probabilities; (N,) values for regression.

    ``TargetTransform.predict`` (what the search scored) gives the loss's own form: P(class
    1), C probabilities, or for an ordinal target trained with a regression loss the level
    code, which becomes a one-hot row at the nearest level, as the validation metrics read it.
    """
    output = torch.as_tensor(output)
    width = output_size(coding.loss, coding.n_outputs)
    if output.ndim == 2 and output.shape[1] > width:
        output = output[:, :width]  # a stacked network is as wide as its widest member
    prediction = coding_transform(coding).predict(output)
    if coding.labels is None:
        return prediction
    return _probabilities(prediction, max(coding.n_outputs, 2))


def decode_levels(coding: TargetCoding, output: Any, *, task: Task, metric: MetricId) -> np.ndarray:
    """Raw outputs -> the class codes the validation metrics read (the level for ordinal)."""
    proba = class_probabilities(coding, output)
    if task is Task.MULTILABEL:
        return (proba >= 0.5).astype(np.int64)
    return _labels(proba, metric)


def decode_output(advice: Advice, output: Any) -> np.ndarray:
    """``Advice.decode_output``: raw outputs -> values in the target's units, or its labels."""
    coding = _coding(advice)
    profile = advice.profile
    if profile.task.is_regression:
        return class_probabilities(coding, output)
    if profile.label_encoding is LabelEncoding.PROBABILITY:
        return class_probabilities(coding, output)
    levels = decode_levels(coding, output, task=profile.task, metric=advice.recommendation.metric)
    if profile.task is Task.MULTILABEL:
        return levels
    if profile.label_encoding is LabelEncoding.ONE_HOT_COLUMNS:
        return np.eye(coding.n_outputs, dtype=np.int64)[levels]
    labels = np.asarray(coding.labels)
    return labels[levels]


def _shown(loss: LossId, params: Mapping[str, Any]) -> str:
    """The recommended parameters exactly as the JSON, the reports and the snippet show them."""
    from advisor.report._wording import params_text

    return params_text(loss, params)


def _evidence(evidence: Mapping[str, Any]) -> str:
    parts = []
    for key, value in evidence.items():
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        parts.append(f"{key}={shown}")
    return ", ".join(parts)


def _search_lines(advice: Advice) -> Sequence[str]:
    search = advice.search
    if search is None:
        return ["Search: none (rules only); the confidence is the rules' prior."]
    lines = [
        f"Search: {search.trials} trials ({search.pruned} pruned), then the finalists on "
        f"paired validation splits, in {search.elapsed_s:.1f} s, judged on "
        f"{search.metric.value} ({search.direction}):"
    ]
    for result in search.results:
        lines.append(
            f"  {result.loss.value:<22} {result.mean:.4g} ± {result.std:.2g}  (n={result.n})"
        )
    if search.comparison is not None:
        lines.append(f"  {search.comparison.statement}")
    return lines


def explain(advice: Advice) -> str:
    """``Advice.explain``: the recommendation, its reasons and evidence, search and confidence."""
    rec = advice.recommendation
    profile = advice.profile
    params = _shown(rec.loss, rec.params)
    lines = [
        f"Recommended loss: {rec.loss.value}" + (f" ({params})" if params else ""),
        f"Confidence: {rec.confidence:.2f} ({rec.confidence_label})",
        f"Data: {profile.n_rows} rows, task {profile.task.value}, target "
        f"{', '.join(profile.target)} ({profile.label_encoding.value})",
        "",
        "Why:",
        *(f"- {line}" for line in rec.rationale),
    ]
    chosen = next((c for c in advice.shortlist.candidates if c.loss == rec.loss), None)
    if chosen is not None and chosen.reasons:
        lines += ["", "Evidence (rules that fired for it):"]
        for reason in chosen.reasons:
            evidence = _evidence(reason.evidence)
            lines.append(
                f"- {reason.rule} [{reason.factor.value}, {reason.effect}]"
                + (f": {evidence}" if evidence else "")
            )
    others = [c.loss.value for c in advice.shortlist.candidates if c.loss != rec.loss]
    if others:
        lines += ["", f"Also shortlisted: {', '.join(others)}"]
    lines += ["", *_search_lines(advice)]
    if advice.coding is not None:
        lines += [
            "",
            f"Network output: a linear last layer; the loss takes its raw output, and "
            f"predictions apply {output_activation(advice).value}.",
        ]
    lines += ["", "PyTorch:", *(f"    {line}" for line in rec.pytorch.splitlines())]
    return "\n".join(lines)
