"""Task and label encoding of the target, with a confidence, the runner-up readings, and evidence.

The decision is a short tree of explicit rules rather than one threshold, because the hard cases
are exactly where single thresholds fail (see the test corpus):

* two distinct values are binary, whatever their type (0/1 integers are not regression);
* whole numbers with few levels (at most 11, so 0-10 scales fit) are classes; 4-11 evenly
  spaced levels (1-5 ratings) are *ordinal* with multiclass and regression as alternatives;
  three levels lean multiclass; few levels starting at 0, right-skewed and peaking in the
  lowest quarter of the range are small counts;
* whole numbers with many levels are counts (non-negative) or regression (negatives), unless they
  look like class codes: consecutive from 0 or 1, every level seen at least 5 times, and flat
  level frequencies (1001 rows over 51 codes is 51 classes, not a regression);
* strictly positive right-skewed values (skewness > 1) are ``regression_positive``;
* several 0/1 columns are one-hot multiclass when every row sums to one, multilabel otherwise;
  fractional columns summing to one are soft labels (``probability``);
* one column of many distinct values in [0, 1] is a soft binary label (``binary`` /
  ``probability``, trained with BCE on the probabilities) when something beyond the range says
  so: a name such as ``ctr``, ``p_click``, ``conversion_rate``, ``share``; or mass piled at
  both ends (at least 10% of the values within 0.05 of 0 and 10% within 0.05 of 1), the shape
  of predicted or averaged probabilities of a binary event. The range alone does not: a
  fraction measured on a continuum (beta-shaped, nothing at the ends) is as likely a plain
  regression target, and stays one with the soft label as its alternative.

This module runs past 600 lines because the detection tree, the ``--task`` override that
must mirror it, and the hypotheses they share belong together; splitting them would scatter one
decision over files.

Column names nudge the ambiguous cases (``rating`` → ordinal, ``species`` → multiclass,
``visits`` → counts) and say so in the evidence.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from advisor.errors import DataError, UsageError
from advisor.records import LabelEncoding, Task, TaskHypothesis

from ._tails import skewness
from ._values import TargetValues, ValueKind, natural_key, read_target_values

__all__ = ["TaskDecision", "infer_task"]

#: Most classes a single column may be read as (above this it is not a classification target).
MAX_CLASSES = 1000
#: Whole-number targets with at most this many levels are read as classes (covers 0-10 scales).
FEW_LEVELS = 11
#: Below this confidence the decision is ambiguous: it warns and names the flag that settles it.
AMBIGUOUS_BELOW = 0.75

_ORDINAL_WORDS = re.compile(r"rating|score|stars?|grade|level|rank|quality|satisf|severity|likert")
_CLASS_WORDS = re.compile(r"class|species|type|category|kind|cluster|group|genre|digit")
_COUNT_WORDS = re.compile(r"count|visits|num|number|^n_|claims|calls|events|occurr|freq|defects")
_ENC_BY_DTYPE = {True: LabelEncoding.INTEGER_INDEX, False: LabelEncoding.FLOAT_CODED_INTEGER}
#: Name tokens that say a [0, 1] target is a probability or a rate of a binary event.
PROBABILITY_WORDS = frozenset(
    {"ctr", "cvr", "p", "prob", "proba", "probability", "likelihood", "propensity", "rate"}
    | {"share", "fraction", "frac", "proportion", "soft"}
)
#: A value within this distance of 0 or 1 sits at an end of the unit interval.
END_BAND = 0.05
#: Each end holding at least this share of the values reads as a probability of a binary event.
END_SHARE = 0.10
_TOKENS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


@dataclasses.dataclass(slots=True)
class TaskDecision:
    """What ``infer_task`` decided; internal, turned into a ``DataProfile`` by ``_profile``."""

    task: Task
    encoding: LabelEncoding
    confidence: float
    values: TargetValues
    classes: tuple[str, ...] | None = None
    alternatives: list[TaskHypothesis] = dataclasses.field(default_factory=list)
    evidence: dict[str, Any] = dataclasses.field(default_factory=dict)
    warnings: list[str] = dataclasses.field(default_factory=list)


def infer_task(
    frame: pd.DataFrame, target: Sequence[str], *, task: Task | str | None = None
) -> TaskDecision:
    """Read the target column(s) and decide task, label encoding, classes and confidence.

    Args:
        frame: the table.
        target: the target column name(s).
        task: a task the user imposed; it wins over detection when the data allow it.

    Returns:
        The decision with its evidence, warnings (missing rows dropped, ambiguity) and values.

    Raises:
        DataError: the target is all missing, constant, ID-like, mixes numbers and strings, or
            is several columns that are neither indicators nor probabilities.
        UsageError: ``task`` is not a task id, or impossible for this target.

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"x": range(6), "y": ["yes", "no", "no", "yes", "no", "no"]})
        >>> decision = infer_task(frame, ["y"])
        >>> decision.task.value, decision.encoding.value, decision.classes
        ('binary', 'boolean', ('no', 'yes'))
    """
    forced = _parse_task(task)
    values = read_target_values(frame, target)
    decision = _detect(values)
    if forced is not None and forced is not decision.task:
        decision = _impose(values, forced, detected=decision)
    elif forced is not None:
        decision.confidence = 1.0
        decision.alternatives = []
    decision.evidence.setdefault("n", values.n)
    decision.evidence.setdefault("n_missing", values.n_missing)
    if values.n_missing:
        decision.warnings.insert(0, values.missing_warning())
    if forced is None and decision.confidence < AMBIGUOUS_BELOW and decision.alternatives:
        best = decision.alternatives[0]
        decision.warnings.append(
            f"the target reads as {decision.task.value} ({decision.confidence:.0%} sure) but "
            f"could be {best.task.value}: {best.evidence}; pass {best.flag} if it is"
        )
    return decision


def _parse_task(task: Task | str | None) -> Task | None:
    if task is None or isinstance(task, Task):
        return task
    try:
        return Task(str(task).strip().lower())
    except ValueError:
        known = ", ".join(t.value for t in Task)
        raise UsageError(f"unknown task {task!r}; expected one of {known}") from None


def _hypothesis(task: Task, encoding: LabelEncoding, confidence: float, why: str) -> TaskHypothesis:
    return TaskHypothesis(
        task=task,
        label_encoding=encoding,
        confidence=round(confidence, 3),
        evidence=why,
        flag=f"--task {task.value}",
    )


# --------------------------------------------------------------------------- detection


def _detect(values: TargetValues) -> TaskDecision:
    if values.kind is ValueKind.MULTI:
        return _detect_columns(values)
    if values.kind is ValueKind.BOOL:
        return TaskDecision(
            Task.BINARY,
            LabelEncoding.BOOLEAN,
            0.99,
            values,
            classes=("false", "true"),
            evidence={"n_unique": 2, "dtype": "bool"},
        )
    if values.kind is ValueKind.MULTILABEL_STRINGS:
        return TaskDecision(
            Task.MULTILABEL,
            LabelEncoding.STRING,
            0.9,
            values,
            classes=values.label_names(),
            evidence={"n_labels": len(values.label_names()), "separator": "|"},
        )
    if values.kind is ValueKind.STRING:
        return _detect_strings(values)
    return _detect_numbers(values)


def _detect_strings(values: TargetValues) -> TaskDecision:
    levels, counts = values.levels()
    k, n = len(levels), values.n
    evidence: dict[str, Any] = {"n_unique": k, "distinct_ratio": round(k / n, 4), "dtype": "str"}
    _reject_id_like(values, k, evidence)
    boolean = values.boolean_order(levels)
    if boolean is not None:
        return TaskDecision(
            Task.BINARY, LabelEncoding.BOOLEAN, 0.99, values, classes=boolean, evidence=evidence
        )
    classes = tuple(sorted(levels))
    if k == 2:
        return TaskDecision(
            Task.BINARY, LabelEncoding.STRING, 0.97, values, classes=classes, evidence=evidence
        )
    decision = TaskDecision(
        Task.MULTICLASS, LabelEncoding.STRING, 0.9, values, classes=classes, evidence=evidence
    )
    decision.alternatives.append(
        _hypothesis(
            Task.ORDINAL,
            LabelEncoding.STRING,
            0.1,
            "string levels have no order unless you say so",
        )
    )
    if k > MAX_CLASSES or (k > 50 and k > 0.5 * n):
        decision.confidence = 0.4
        decision.warnings.append(
            f"target {values.name!r} has {k} distinct strings in {n} rows: free text or an "
            "identifier rather than classes? pass --target to choose another column"
        )
    return decision


def _detect_numbers(values: TargetValues) -> TaskDecision:
    v = values.numbers
    levels, counts = values.levels()
    k, n = len(levels), values.n
    whole = bool(np.all(np.floor(levels) == levels))
    integer_dtype = values.integer_dtype
    lo, hi = float(levels[0]), float(levels[-1])
    evidence: dict[str, Any] = {
        "n_unique": k,
        "distinct_ratio": round(k / n, 4),
        "share_integer": 1.0 if whole else round(float(np.mean(np.floor(v) == v)), 4),
        "min": lo,
        "max": hi,
        "range": hi - lo,
        "dtype": str(values.dtype),
    }
    if k == 2:
        return _two_values(values, levels, whole, evidence)
    if whole:
        return _whole_numbers(values, levels, counts, integer_dtype, evidence)
    return _continuous(values, levels, evidence)


def _two_values(
    values: TargetValues, levels: np.ndarray, whole: bool, evidence: dict[str, Any]
) -> TaskDecision:
    classes = values.class_names(levels)
    pair = (float(levels[0]), float(levels[1]))
    if pair == (-1.0, 1.0):
        return TaskDecision(
            Task.BINARY,
            LabelEncoding.PLUS_MINUS_ONE,
            0.97,
            values,
            classes=classes,
            evidence=evidence,
        )
    if whole:
        encoding = _ENC_BY_DTYPE[values.integer_dtype]
        confidence = 0.97 if pair == (0.0, 1.0) else 0.9
        return TaskDecision(
            Task.BINARY, encoding, confidence, values, classes=classes, evidence=evidence
        )
    decision = TaskDecision(
        Task.BINARY, LabelEncoding.CONTINUOUS, 0.6, values, classes=classes, evidence=evidence
    )
    decision.alternatives.append(
        _hypothesis(
            Task.REGRESSION,
            LabelEncoding.CONTINUOUS,
            0.4,
            f"the two values {pair[0]:g} and {pair[1]:g} are not whole numbers",
        )
    )
    return decision


def _even_steps(levels: np.ndarray) -> tuple[bool, float]:
    """Whether the levels sit on an evenly spaced scale (1,2,3 / 10,20,30), and its step.

    A scale may miss a few levels nobody chose (0, 2, 3, ..., 10): the levels must be multiples
    of the smallest step, fill at least 70% of the slots, and need at most ``FEW_LEVELS`` slots.
    """
    steps = np.diff(levels)
    step = float(np.min(steps))
    if step <= 0:
        return False, step
    with np.errstate(over="ignore"):
        multiples = steps / step
    if not (np.all(np.isfinite(multiples)) and np.allclose(multiples, np.round(multiples))):
        return False, step  # a step so small that the range overflows is no scale either
    slots = int(round((levels[-1] - levels[0]) / step)) + 1
    return bool(slots <= max(FEW_LEVELS, len(levels)) and len(levels) >= 0.7 * slots), step


@dataclasses.dataclass(frozen=True, slots=True)
class _Whole:
    """A whole-number target as its checks read it: measured once, shared by every check."""

    values: TargetValues
    levels: np.ndarray
    counts: np.ndarray
    encoding: LabelEncoding
    evenly: bool
    step: float
    skew: float
    mode: float
    hint: str | None
    flatness: float
    evidence: dict[str, Any]

    @property
    def k(self) -> int:
        return len(self.levels)

    @property
    def lo(self) -> float:
        return float(self.levels[0])

    @property
    def hi(self) -> float:
        return float(self.levels[-1])

    def median(self) -> float:
        return float(np.median(self.values.numbers))

    def dispersion(self) -> float:
        return _dispersion(self.values.numbers)

    def decided(
        self, task: Task, enc: LabelEncoding, confidence: float, *alts: TaskHypothesis
    ) -> TaskDecision:
        classes = self.values.class_names(self.levels) if task.is_classification else None
        return TaskDecision(
            task,
            enc,
            confidence,
            self.values,
            classes=classes,
            alternatives=list(alts),
            evidence=self.evidence,
        )


def _measure_whole(
    values: TargetValues,
    levels: np.ndarray,
    counts: np.ndarray,
    integer_dtype: bool,
    evidence: dict[str, Any],
) -> _Whole:
    """Measure what the checks read, and record it in the evidence."""
    lo = float(levels[0])
    evenly, step = _even_steps(levels)
    zero_fraction = float(counts[0] / values.n) if lo == 0 else 0.0
    whole = _Whole(
        values=values,
        levels=levels,
        counts=counts,
        encoding=_ENC_BY_DTYPE[integer_dtype],
        evenly=evenly,
        step=step,
        skew=_skew(values),
        mode=float(levels[int(np.argmax(counts))]),
        hint=_name_hint(values.name),
        flatness=float(counts.max() / counts.min()),
        evidence=evidence,
    )
    evidence.update(
        evenly_spaced=evenly,
        step=step,
        zero_fraction=round(zero_fraction, 4),
        skewness=round(whole.skew, 4),
        mode=whole.mode,
        level_count_ratio=round(whole.flatness, 3),
        min_level_count=int(counts.min()),
        name_hint=whole.hint or "none",
    )
    return whole


def _small_counts(w: _Whole) -> TaskDecision | None:
    """Few levels that start at zero, right-skewed, most mass in the lowest quarter: counts."""
    if w.k > FEW_LEVELS:
        return None
    if not (w.hint == "count" or (w.lo == 0 and w.skew > 0.5 and w.mode <= 0.25 * (w.hi - w.lo))):
        return None
    return w.decided(
        Task.REGRESSION_COUNT,
        LabelEncoding.CONTINUOUS,
        0.6,
        _hypothesis(
            Task.ORDINAL,
            w.encoding,
            0.3,
            f"only {w.k} levels, but they start at zero, peak at {w.mode:g} and are "
            f"right-skewed ({w.skew:.2f}), as counts are",
        ),
    )


def _rating_scale(w: _Whole) -> TaskDecision | None:
    """Four to ``FEW_LEVELS`` evenly spaced levels (1-5 ratings) not named as classes: ordinal."""
    if w.k > FEW_LEVELS or not (w.evenly and w.k >= 4 and w.hint != "class"):
        return None
    confidence = 0.8 if w.hint == "ordinal" else 0.6
    return w.decided(
        Task.ORDINAL,
        w.encoding,
        confidence,
        _hypothesis(
            Task.MULTICLASS,
            w.encoding,
            (1 - confidence) * 0.6,
            f"{w.k} evenly spaced whole levels {w.lo:g}..{w.hi:g}: ordered levels "
            "such as ratings, or unordered class codes",
        ),
        _hypothesis(
            Task.REGRESSION,
            LabelEncoding.CONTINUOUS,
            (1 - confidence) * 0.4,
            "a rating scored by RMSE/MAE is often trained as regression",
        ),
    )


def _few_classes(w: _Whole) -> TaskDecision | None:
    """Any other target of at most ``FEW_LEVELS`` levels: classes (three levels lean here)."""
    if w.k > FEW_LEVELS:
        return None
    confidence = 0.85 if w.hint == "class" else 0.65
    return w.decided(
        Task.MULTICLASS,
        w.encoding,
        confidence,
        _hypothesis(
            Task.ORDINAL,
            w.encoding,
            1 - confidence,
            f"{w.k} whole levels {w.lo:g}..{w.hi:g} could be ordered",
        ),
    )


def _class_codes(w: _Whole) -> TaskDecision | None:
    """Many consecutive codes from 0 or 1, each seen 5+ times, flat frequencies: class ids."""
    codes = (
        w.k <= 200
        and w.evenly
        and w.step == 1.0
        and w.lo in (0.0, 1.0)
        and w.counts.min() >= 5
        and w.flatness <= 5.0
        and w.hint != "count"
    )
    if not codes:
        return None
    return w.decided(
        Task.MULTICLASS,
        w.encoding,
        0.6,
        _hypothesis(
            Task.REGRESSION_COUNT if w.lo >= 0 else Task.REGRESSION,
            LabelEncoding.CONTINUOUS,
            0.4,
            f"{w.k} consecutive codes {w.lo:g}..{w.hi:g} with flat frequencies (max/min "
            f"count {w.flatness:.1f}) look like class ids, but could be counts",
        ),
    )


def _signed_values(w: _Whole) -> TaskDecision | None:
    """Many levels reaching below zero: no count can, so a plain regression."""
    if w.lo >= 0:
        return None
    return w.decided(Task.REGRESSION, LabelEncoding.CONTINUOUS, 0.85)


def _counts(w: _Whole) -> TaskDecision | None:
    """Many non-negative levels reaching down towards zero or varying like a Poisson law.

    Whole values far from zero with variance >> mean (a score of 25..346) behave like a
    measurement instead, and fall through to the checks after this one.
    """
    median, dispersion = w.median(), w.dispersion()
    count_like = w.lo <= 0.1 * median or dispersion <= 3.0
    if not (w.lo == 0 or w.hint == "count" or (median <= 1000 and count_like)):
        return None
    w.evidence["dispersion"] = round(dispersion, 4)
    return w.decided(
        Task.REGRESSION_COUNT,
        LabelEncoding.CONTINUOUS,
        0.85,
        _hypothesis(
            Task.REGRESSION,
            LabelEncoding.CONTINUOUS,
            0.15,
            f"{w.k} non-negative whole values {w.lo:g}..{w.hi:g}",
        ),
    )


def _positive_skewed(w: _Whole) -> TaskDecision | None:
    """Positive whole values far from zero and right-skewed (skewness > 1), like amounts."""
    if w.skew <= 1:
        return None
    return w.decided(
        Task.REGRESSION_POSITIVE,
        LabelEncoding.CONTINUOUS,
        0.8,
        _hypothesis(
            Task.REGRESSION_COUNT,
            LabelEncoding.CONTINUOUS,
            0.2,
            f"whole values {w.lo:g}..{w.hi:g} (median {w.median():g}) could be counts",
        ),
    )


def _measurement(w: _Whole) -> TaskDecision:
    """What no check claimed: whole values that behave like a measurement, a regression."""
    dispersion = w.dispersion()
    w.evidence["dispersion"] = round(dispersion, 4)
    return w.decided(
        Task.REGRESSION,
        LabelEncoding.CONTINUOUS,
        0.7,
        _hypothesis(
            Task.REGRESSION_COUNT,
            LabelEncoding.CONTINUOUS,
            0.3,
            f"whole values {w.lo:g}..{w.hi:g} could be counts, but they stay far from zero and "
            f"vary far more than counts do (variance/mean {dispersion:.1f})",
        ),
    )


#: The checks of a whole-number target, in order; the first verdict wins, ``_measurement``
#: takes what none claims. The first three read few levels, the others many.
_WHOLE_NUMBER_CHECKS: tuple[Callable[[_Whole], TaskDecision | None], ...] = (
    _small_counts,
    _rating_scale,
    _few_classes,
    _class_codes,
    _signed_values,
    _counts,
    _positive_skewed,
)


def _whole_numbers(
    values: TargetValues,
    levels: np.ndarray,
    counts: np.ndarray,
    integer_dtype: bool,
    evidence: dict[str, Any],
) -> TaskDecision:
    """Whole numbers of three or more levels: counts, ratings, class codes or a measurement."""
    _reject_id_like(values, len(levels), evidence)
    whole = _measure_whole(values, levels, counts, integer_dtype, evidence)
    for check in _WHOLE_NUMBER_CHECKS:
        decision = check(whole)
        if decision is not None:
            return decision
    return _measurement(whole)


def _continuous(values: TargetValues, levels: np.ndarray, evidence: dict[str, Any]) -> TaskDecision:
    k, n = len(levels), values.n
    lo, hi = float(levels[0]), float(levels[-1])
    skew = _skew(values)
    evidence.update(skewness=round(skew, 4), in_unit_interval=bool(lo >= 0 and hi <= 1))
    if lo >= 0 and hi <= 1 and k > FEW_LEVELS:
        decision = _unit_interval(values, evidence)
    elif lo >= 0 and hi <= 1:
        decision = TaskDecision(
            Task.REGRESSION, LabelEncoding.CONTINUOUS, 0.85, values, evidence=evidence
        )
    elif lo > 0 and skew > 1:
        decision = TaskDecision(
            Task.REGRESSION_POSITIVE, LabelEncoding.CONTINUOUS, 0.85, values, evidence=evidence
        )
        decision.alternatives.append(
            _hypothesis(
                Task.REGRESSION,
                LabelEncoding.CONTINUOUS,
                0.15,
                f"positive values can be regressed on the raw scale too, though these are "
                f"right-skewed (skewness {skew:.2f} > 1)",
            )
        )
    else:
        decision = TaskDecision(
            Task.REGRESSION, LabelEncoding.CONTINUOUS, 0.9, values, evidence=evidence
        )
    if k <= FEW_LEVELS and n >= 50:
        evenly, step = _even_steps(levels)
        decision.confidence = 0.6
        evidence.update(evenly_spaced=evenly, step=step)
        decision.alternatives.insert(
            0,
            _hypothesis(
                Task.ORDINAL if evenly else Task.MULTICLASS,
                LabelEncoding.CONTINUOUS,
                0.4,
                f"only {k} distinct values in {n} rows ({', '.join(f'{x:g}' for x in levels[:6])}"
                f"{', ...' if k > 6 else ''})",
            ),
        )
    return decision


def _unit_interval(values: TargetValues, evidence: dict[str, Any]) -> TaskDecision:
    """Many distinct values in [0, 1]: a soft binary label, or a fraction to regress on."""
    v = values.numbers
    low, high = float(np.mean(v <= END_BAND)), float(np.mean(v >= 1 - END_BAND))
    word = _probability_word(values.name)
    ends = low >= END_SHARE and high >= END_SHARE
    evidence.update(
        share_near_0=round(low, 4),
        share_near_1=round(high, 4),
        mean=round(float(np.mean(v)), 6),
        probability_name=word or "none",
    )
    as_number = "a fraction or rate scored as a number (MSE/RMSE on the values)"
    if word or ends:
        why = (
            f"the name {values.name!r} says probability or rate ({word!r})"
            if word
            else f"{low:.0%} of the values are within {END_BAND} of 0 and {high:.0%} within "
            f"{END_BAND} of 1, as probabilities of a binary event are"
        )
        evidence["soft_label_because"] = why
        return TaskDecision(
            Task.BINARY,
            LabelEncoding.PROBABILITY,
            0.6,
            values,
            classes=("0", "1"),
            alternatives=[_hypothesis(Task.REGRESSION, LabelEncoding.CONTINUOUS, 0.4, as_number)],
            evidence=evidence,
        )
    return TaskDecision(
        Task.REGRESSION,
        LabelEncoding.CONTINUOUS,
        0.85,
        values,
        alternatives=[
            _hypothesis(
                Task.BINARY,
                LabelEncoding.PROBABILITY,
                0.15,
                "values in [0, 1] could be probabilities of a binary event (soft labels, "
                "trained with BCE on the probabilities)",
            )
        ],
        evidence=evidence,
    )


def _probability_word(name: str) -> str | None:
    """The first token of the name that says probability: ``p_click`` -> ``p``, ``CTR``."""
    for token in _TOKENS.findall(name):
        if token.lower() in PROBABILITY_WORDS:
            return token.lower()
    return None


def _detect_columns(values: TargetValues) -> TaskDecision:
    matrix = values.matrix
    names = tuple(values.columns)
    sums = matrix.sum(axis=1)
    binary = bool(np.all((matrix == 0) | (matrix == 1)))
    evidence: dict[str, Any] = {
        "n_columns": len(names),
        "all_zero_one": binary,
        "row_sum_min": float(sums.min()),
        "row_sum_max": float(sums.max()),
    }
    if binary and np.all(sums == 1):
        return TaskDecision(
            Task.MULTICLASS,
            LabelEncoding.ONE_HOT_COLUMNS,
            0.97,
            values,
            classes=names,
            evidence=evidence,
        )
    if binary:
        evidence["mean_labels_per_row"] = round(float(sums.mean()), 4)
        return TaskDecision(
            Task.MULTILABEL,
            LabelEncoding.MULTILABEL_INDICATOR_COLUMNS,
            0.95,
            values,
            classes=names,
            evidence=evidence,
        )
    in_unit = bool(np.all((matrix >= 0) & (matrix <= 1)))
    if in_unit and np.allclose(sums, 1.0, atol=1e-3):
        return TaskDecision(
            Task.MULTICLASS,
            LabelEncoding.PROBABILITY,
            0.93,
            values,
            classes=names,
            evidence=evidence,
        )
    listed = ", ".join(repr(c) for c in names)
    raise DataError(
        f"target columns {listed} are neither 0/1 indicators nor probabilities summing to one "
        f"(row sums {sums.min():g}..{sums.max():g}); multi-output regression is not supported; "
        "pass a single `target`"
    )


# --------------------------------------------------------------------------- imposed task


def _impose(values: TargetValues, task: Task, *, detected: TaskDecision) -> TaskDecision:
    """Honour ``--task`` when the data allow it; the detected reading becomes the alternative."""
    evidence = dict(detected.evidence, detected_task=detected.task.value)
    why = f"detected as {detected.task.value} ({detected.encoding.value})"
    alternative = _hypothesis(detected.task, detected.encoding, detected.confidence, why)

    def imposed(encoding: LabelEncoding, classes: tuple[str, ...] | None) -> TaskDecision:
        return TaskDecision(
            task,
            encoding,
            1.0,
            values,
            classes=classes,
            alternatives=[alternative],
            evidence=evidence,
            warnings=list(detected.warnings),
        )

    def impossible(reason: str) -> UsageError:
        return UsageError(
            f"`task={task.value!r}` is impossible for target {values.name!r}: {reason}"
        )

    if values.kind is ValueKind.MULTI:
        if task is Task.MULTILABEL and detected.encoding is LabelEncoding.ONE_HOT_COLUMNS:
            return imposed(LabelEncoding.MULTILABEL_INDICATOR_COLUMNS, detected.classes)
        raise impossible(f"its columns read as {detected.task.value} ({detected.encoding.value})")
    if values.kind is ValueKind.MULTILABEL_STRINGS:
        raise impossible("it holds 'a|b|c' label sets, which only multilabel can use")
    if task is Task.MULTILABEL:
        raise impossible("multilabel needs several 0/1 columns or 'a|b|c' strings")

    levels, _ = values.levels()
    k = len(levels)
    if task.is_regression:
        if values.kind is not ValueKind.NUMBER:
            raise impossible("it holds strings or booleans, not numbers")
        lo = float(levels[0])
        if task is Task.REGRESSION_COUNT and lo < 0:
            raise impossible(f"counts cannot be negative (minimum {lo:g})")
        if task is Task.REGRESSION_POSITIVE and lo <= 0:
            raise impossible(f"values must be strictly positive (minimum {lo:g})")
        return imposed(LabelEncoding.CONTINUOUS, None)

    if task is Task.BINARY and k != 2:
        if values.kind is ValueKind.NUMBER and float(levels[0]) >= 0 and float(levels[-1]) <= 1:
            return imposed(LabelEncoding.PROBABILITY, ("0", "1"))  # soft labels
        raise impossible(
            f"binary needs exactly 2 classes or probabilities in [0, 1], found {k} values"
        )
    if k > MAX_CLASSES:
        raise impossible(f"{k} distinct values are too many classes (at most {MAX_CLASSES})")
    if detected.task.is_classification and detected.classes is not None:
        classes = detected.classes
        encoding = detected.encoding
    elif values.kind is ValueKind.NUMBER:
        classes = values.class_names(levels)
        whole = bool(np.all(np.floor(levels) == levels))
        encoding = _ENC_BY_DTYPE[values.integer_dtype] if whole else LabelEncoding.CONTINUOUS
    else:
        classes = tuple(sorted((str(x) for x in levels), key=natural_key))
        encoding = LabelEncoding.STRING
    if task is Task.ORDINAL and values.kind is ValueKind.STRING:
        classes = tuple(sorted(classes, key=natural_key))
    return imposed(encoding, classes)


# --------------------------------------------------------------------------- helpers


def _reject_id_like(values: TargetValues, k: int, evidence: dict[str, Any]) -> None:
    """Unique-per-row strings, or unique whole numbers forming a sequence, are identifiers.

    Unique whole numbers spread over a wide range (prices in whole dollars) are not.
    """
    n = values.n
    if k != n or n < 20:
        return
    if values.kind is ValueKind.NUMBER:
        v = values.numbers
        span = float(v.max() - v.min()) + 1
        monotone = bool(np.all(np.diff(v) > 0) or np.all(np.diff(v) < 0))
        if span > 2 * n and not monotone:
            return
    raise DataError(
        f"target {values.name!r} is ID-like: all {n} values are distinct"
        f"{' whole numbers in a sequence' if values.kind is ValueKind.NUMBER else ''}; "
        "an identifier cannot be learned; pass `target` with the real target column"
    )


def _name_hint(name: str) -> str | None:
    lowered = name.lower()
    if _COUNT_WORDS.search(lowered):
        return "count"
    if _ORDINAL_WORDS.search(lowered):
        return "ordinal"
    if _CLASS_WORDS.search(lowered):
        return "class"
    return None


def _skew(values: TargetValues) -> float:
    """The profile's one skewness (``_tails.skewness``, on the values ``target_stats`` reads)."""
    measured = skewness(values.sorted_numbers())
    return 0.0 if measured is None else measured


def _dispersion(v: np.ndarray) -> float:
    mean = float(v.mean())
    return float(v.var(ddof=1)) / mean if mean > 0 and v.size > 1 else math.nan
