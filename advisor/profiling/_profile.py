"""Assemble the ``DataProfile``: target, task, target statistics, outliers, balance, features.

Warnings from every stage are collected in order, recorded in ``DataProfile.warnings`` and also
emitted once each as :class:`~advisor.errors.AdvisorWarning`.

A table streamed from a big file (``_stream``) is a uniform sample of its rows carrying the
file's exact counts in ``frame.attrs``: the sample is profiled like any table, then the counts
are laid over it (rows, missing values, distinct values, class counts and balance), and the
warnings say which statistics came from how large a sample, with their error.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from advisor.errors import DataError, warn
from advisor.records import (
    DataProfile,
    FeatureKind,
    ImbalanceStats,
    LabelEncoding,
    OutlierStats,
    TargetStats,
    Task,
)

from ._features import summarise_features
from ._histogram import target_histogram
from ._imbalance import measure_imbalance, multilabel_imbalance
from ._read import READ_NOTES, read_table
from ._stream import STREAM_NOTES, rank_error
from ._tails import describe_target, measure_outliers
from ._target import choose_target
from ._task import TaskDecision, infer_task
from ._values import MISSING_TOKENS, ValueKind, label_of_number

__all__ = ["profile", "profile_frame"]


def profile(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    target: str | Sequence[str] | None = None,
    task: Task | str | None = None,
    sample: int | None = None,
    seed: int = 0,
    decimal: str | None = None,
) -> DataProfile:
    """Read a CSV file (or take a DataFrame) and profile it.

    Args:
        source: path to a CSV or Parquet file, or a DataFrame.
        target: target column(s); detected when omitted.
        task: a task id that overrides detection (``"ordinal"``, ``Task.REGRESSION``, ...).
        sample: profile this many randomly drawn rows only.
        seed: seed of the row sample and of the subsampled statistics.
        decimal: the file's decimal mark (``"."`` or ``","``); detected when None.

    Returns:
        The profile.

    Raises:
        InputFileError: the file cannot be read as a table.
        DataError: the data cannot support a recommendation (see ``profile_frame``).
        UsageError: an unknown target column, or a task impossible for this target.

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"x": range(8), "y": [1, -1, 1, 1, -1, 1, -1, 1]})
        >>> p = profile(frame)
        >>> p.task.value, p.label_encoding.value, p.classes
        ('binary', 'plus_minus_one', ('-1', '1'))
    """
    frame = read_table(source, sample=sample, seed=seed, decimal=decimal)
    path_hint = None if isinstance(source, pd.DataFrame) else os.fspath(source)
    return profile_frame(frame, target=target, task=task, path_hint=path_hint, seed=seed)


def profile_frame(
    frame: pd.DataFrame,
    *,
    target: str | Sequence[str] | None = None,
    task: Task | str | None = None,
    path_hint: str | None = None,
    seed: int = 0,
) -> DataProfile:
    """Profile a DataFrame already in memory.

    Args:
        frame: the table; it is not modified.
        target: target column(s); detected when omitted.
        task: a task id that overrides detection.
        path_hint: where the table came from; prefixed to data error messages.
        seed: seed of the subsampled statistics (residual fit, feature uniques).

    Raises:
        DataError: no rows; target all missing, constant, ID-like, mixing numbers and strings,
            or several columns that are neither indicators nor probabilities.
        UsageError: an unknown target column, or a task impossible for this target.

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"rating": [1, 2, 3, 4, 5] * 20, "x": range(100)})
        >>> p = profile_frame(frame, target="rating", task="ordinal")
        >>> p.task.value, p.classes, p.confidence
        ('ordinal', ('1', '2', '3', '4', '5'), 1.0)
    """
    try:
        return _profile(frame, target=target, task=task, seed=seed)
    except DataError as exc:
        if path_hint is None or type(exc) is not DataError:
            raise
        raise DataError(f"{path_hint}: {exc}") from exc


def _profile(
    frame: pd.DataFrame,
    *,
    target: str | Sequence[str] | None,
    task: Task | str | None,
    seed: int,
) -> DataProfile:
    if not all(isinstance(c, str) for c in frame.columns):
        frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
    if len(frame) == 0:
        raise DataError("the table has no rows")
    if len(frame) == 1:
        raise DataError(
            "the table has only 1 data row; a loss cannot be chosen from one value, add rows"
        )
    columns, detection, notes = choose_target(frame, target)
    read_evidence = _read_notes(frame, notes)
    decision = infer_task(frame, columns, task=task)
    if task is not None:
        detection += f"; task {decision.task.value} set by --task"
    notes.extend(decision.warnings)

    feature_names = [c for c in frame.columns if c not in columns]
    features, sampled = summarise_features(frame, feature_names, seed=seed)
    evidence: dict[str, Any] = dict(decision.evidence)
    evidence.update(read_evidence)
    if sampled:
        evidence["feature_n_unique_sampled"] = True

    stats, outliers = _target_stats(decision, frame, features, evidence, seed=seed)
    histogram = None
    if decision.task.is_regression and decision.values.kind is ValueKind.NUMBER:  # for the report
        log = decision.task is Task.REGRESSION_POSITIVE  # outliers are measured on log(y)
        histogram = target_histogram(decision.values.sorted_numbers(), log=log)
    imbalance = _imbalance(decision, notes) if decision.task.is_classification else None

    result = DataProfile(
        target=tuple(columns),
        target_detection=detection,
        task=decision.task,
        label_encoding=decision.encoding,
        confidence=round(float(decision.confidence), 3),
        n_rows=len(frame),
        n_columns=len(frame.columns),
        target_stats=stats,
        outliers=outliers,
        features=features,
        classes=decision.classes,
        imbalance=imbalance,
        alternatives=tuple(decision.alternatives[:2]),
        warnings=tuple(notes),
        evidence=evidence,
        histogram=histogram,
    )
    stream = frame.attrs.get(STREAM_NOTES)
    if isinstance(stream, dict):
        result = _with_exact_counts(result, stream, notes, decision)
    for note in notes:
        warn(note)
    return result


def _with_exact_counts(
    profile: DataProfile, stream: dict[str, Any], notes: list[str], decision: TaskDecision
) -> DataProfile:
    """Lay a streamed file's exact counts over the profile of its uniform sample."""
    n_rows, n_sample = int(stream["rows"]), int(stream["sample_rows"])
    missing: dict[str, int] = stream["missing"]
    values: dict[str, dict[Any, int] | None] = stream["values"]
    cap = int(stream["distinct_cap"])
    error = rank_error(n_sample)
    evidence = dict(profile.evidence)
    evidence["stream"] = {
        "rows": n_rows,
        "sample_rows": n_sample,
        "seed": stream["seed"],
        "batches": stream["batches"],
        "quantile_rank_error": round(error, 5),
        "distinct_cap": cap,
    }
    if n_sample < n_rows:
        notes.append(
            f"statistics from a uniform sample of {n_sample:,} of {n_rows:,} rows "
            f"(seed {stream['seed']}): quantiles, skew and outlier rates within about "
            f"±{100 * error:.2f} percentile points of rank (95%); rows, missing values, "
            "distinct values and classes are counted over all rows"
        )

    def distinct(name: str, sampled: int) -> int:
        counted = values.get(name)
        return len(counted) if counted is not None else max(sampled, cap + 1)

    columns = tuple(
        dataclasses.replace(
            c,
            missing_rate=round(missing.get(c.name, 0) / n_rows, 6),
            n_unique=distinct(c.name, c.n_unique),
        )
        for c in profile.features.columns
    )
    cells = n_rows * len(columns)
    features = dataclasses.replace(
        profile.features,
        columns=columns,
        missing_rate=round(sum(missing.get(c.name, 0) for c in columns) / cells, 6)
        if cells
        else 0.0,
    )
    changes: dict[str, Any] = {"n_rows": n_rows, "features": features, "evidence": evidence}
    one_column = (ValueKind.NUMBER, ValueKind.BOOL, ValueKind.STRING)
    if len(profile.target) == 1 and decision.values.kind in one_column:
        name = profile.target[0]
        counted = values.get(name)
        labels = _labels(counted, decision.values.kind) if counted is not None else None
        n_missing = missing.get(name, 0) + (labels.pop(None, 0) if labels else 0)
        changes["target_stats"] = dataclasses.replace(
            profile.target_stats,
            n=n_rows - n_missing,
            n_missing=n_missing,
            n_unique=len(labels) if labels is not None else profile.target_stats.n_unique,
        )
        soft = decision.encoding is LabelEncoding.PROBABILITY
        if profile.imbalance is not None and labels and profile.classes and not soft:
            changes["imbalance"] = _exact_imbalance(profile, labels, notes)
    changes["warnings"] = tuple(notes)
    return dataclasses.replace(profile, **changes)


def _labels(counted: dict[Any, int], kind: ValueKind) -> dict[str | None, int]:
    """The stream's value counts under the profile's class labels (None: a missing token)."""
    labels: dict[str | None, int] = {}
    for value, count in counted.items():
        if isinstance(value, bool):
            label: str | None = "true" if value else "false"
        elif isinstance(value, int | float) and kind is not ValueKind.STRING:
            label = label_of_number(float(value))
        elif kind is ValueKind.NUMBER and _is_float(str(value)):
            label = label_of_number(float(str(value)))
        else:
            label = str(value).strip()
            if label.lower() in MISSING_TOKENS:
                label = None
        labels[label] = labels.get(label, 0) + int(count)
    return labels


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _exact_imbalance(
    profile: DataProfile, labels: dict[str | None, int], notes: list[str]
) -> ImbalanceStats | None:
    classes = profile.classes or ()
    if not all(c in labels for c in classes):
        return profile.imbalance  # labels the stream spells otherwise: keep the sample's
    unseen = sorted(str(label) for label in labels if label is not None and label not in classes)
    if unseen:
        shown = ", ".join(unseen[:5]) + (" ..." if len(unseen) > 5 else "")
        notes.append(
            f"classes {shown} occur in the file but not in its sample; the search does not "
            "see them (pass a larger --sample)"
        )
    return measure_imbalance({c: int(labels[c]) for c in classes})


def _read_notes(frame: pd.DataFrame, notes: list[str]) -> dict[str, Any]:
    """What reading changed (``_read``): warnings for the user, evidence for the JSON."""
    read = frame.attrs.get(READ_NOTES)
    if not isinstance(read, dict):
        return {}
    evidence: dict[str, Any] = {}
    if read.get("decimal") == ",":
        evidence["decimal_mark"] = ","
        if read.get("decimal_detected"):
            notes.append(
                f"read numbers with a decimal comma ({read.get('decimal_why')}); "
                "pass --decimal . if the comma separates thousands"
            )
    converted = dict(read.get("converted") or {})
    if converted:
        evidence["read_as_numbers"] = converted
        listed = "; ".join(f"{name!r} ({how})" for name, how in converted.items())
        notes.append(f"read text columns as numbers: {listed}")
    return evidence


def _target_stats(
    decision: TaskDecision,
    frame: pd.DataFrame,
    features: Any,
    evidence: dict[str, Any],
    *,
    seed: int,
) -> tuple[TargetStats, OutlierStats]:
    values = decision.values
    if values.kind not in (ValueKind.NUMBER, ValueKind.BOOL):
        n_unique = len(decision.classes) if decision.classes else len(values.levels()[0])
        stats = TargetStats(n=values.n, n_unique=n_unique, n_missing=values.n_missing)
        return stats, OutlierStats()
    levels, _ = values.levels()
    ordered = values.sorted_numbers()
    stats = describe_target(
        ordered, n_missing=values.n_missing, n_unique=len(levels), presorted=True
    )
    if not decision.task.is_regression:
        return stats, OutlierStats()
    numeric = [
        c.name
        for c in features.columns
        if c.kind in (FeatureKind.NUMERIC, FeatureKind.BOOLEAN)
        and (is_numeric_dtype(frame[c.name].dtype) or is_bool_dtype(frame[c.name].dtype))
    ]
    positions = np.flatnonzero(values.keep) if values.n_missing else None
    if decision.task is Task.REGRESSION_POSITIVE:
        # A positive, right-skewed target is roughly symmetric on the log scale; its long
        # upper tail is its shape, not gross error, so outliers are measured on log(y).
        outliers, fit = measure_outliers(
            np.log(values.numbers),
            frame,
            numeric_columns=numeric,
            positions=positions,
            sorted_y=np.log(ordered),
            seed=seed,
        )
        outliers = dataclasses.replace(outliers, method="on log(y): " + outliers.method)
        if "residual_fit_scale" in fit:
            # a spread s on the log scale is about s x y in the target's units, at its median
            noise = fit["residual_fit_scale"] * float(stats.median)
            fit = {**fit, "residual_fit_scale": float(f"{noise:.6g}")}
    else:
        outliers, fit = measure_outliers(
            values.numbers,
            frame,
            numeric_columns=numeric,
            positions=positions,
            sorted_y=ordered,
            mad=stats.mad,
            seed=seed,
        )
    evidence.update(fit)
    return stats, outliers


def _imbalance(decision: TaskDecision, notes: list[str]) -> ImbalanceStats | None:
    values = decision.values
    classes = decision.classes or ()
    if values.kind is ValueKind.MULTI:
        matrix = values.matrix
        if decision.encoding is LabelEncoding.MULTILABEL_INDICATOR_COLUMNS:
            positives = dict(zip(classes, matrix.sum(axis=0).astype(int).tolist(), strict=True))
            return _multilabel(positives, values.n, notes)
        winners = np.bincount(matrix.argmax(axis=1), minlength=len(classes))
        return measure_imbalance(dict(zip(classes, winners.tolist(), strict=True)))
    if values.kind is ValueKind.MULTILABEL_STRINGS:
        positives = dict.fromkeys(classes, 0)
        for text, count in zip(*values.levels(), strict=True):
            for token in {t.strip() for t in str(text).split("|") if t.strip()}:
                positives[token] += int(count)
        return _multilabel(positives, values.n, notes)
    if decision.encoding is LabelEncoding.PROBABILITY and values.kind is ValueKind.NUMBER:
        # soft binary labels: the balance a hard-label sample of them would have, in
        # expectation (at least one row each, so a rare event keeps a finite ratio)
        positive = float(np.sum(values.numbers))
        ones = min(max(1, round(positive)), values.n - 1)
        return measure_imbalance({classes[0]: values.n - ones, classes[1]: ones})
    levels, counts = values.levels()
    if values.kind is ValueKind.BOOL:
        labels = ["true" if level else "false" for level in levels]
    elif values.kind is ValueKind.NUMBER:
        labels = [label_of_number(float(level)) for level in levels]
    else:
        labels = [str(level) for level in levels]
    by_label = dict(zip(labels, counts.tolist(), strict=True))
    return measure_imbalance({c: int(by_label.get(c, 0)) for c in classes})


def _multilabel(positives: dict[str, int], n: int, notes: list[str]) -> ImbalanceStats:
    never = [name for name, p in positives.items() if p == 0]
    always = [name for name, p in positives.items() if p == n]
    if never:
        notes.append(f"labels never positive: {', '.join(never)}; they cannot be learned")
    if always:
        notes.append(f"labels always positive: {', '.join(always)}; they carry no information")
    return multilabel_imbalance(positives, n)
