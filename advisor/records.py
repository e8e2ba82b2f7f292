"""The typed, immutable records handed between stages, and the closed vocabularies they use.

profile -> ``DataProfile``; shortlist -> ``Shortlist`` of ``Candidate`` with ``Reason``;
confirm -> ``SearchResult``; recommend -> ``Recommendation`` inside an ``Advice``.
Records hold summaries and evidence, never arrays or tensors, and each has ``to_dict()``
returning JSON-safe values: the JSON output of the CLI is built from them.

This module imports no other advisor module, so every stage can depend on it.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import numbers
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

__all__ = [
    "Advice",
    "Candidate",
    "CandidateResult",
    "Comparison",
    "DataProfile",
    "Decision",
    "Direction",
    "DivergedRun",
    "EffectKind",
    "Factor",
    "FeatureColumn",
    "FeatureKind",
    "FeatureSummary",
    "ImbalanceLevel",
    "ImbalanceStats",
    "InputInfo",
    "LabelEncoding",
    "LossEffect",
    "LossId",
    "MetricId",
    "Objective",
    "ObjectiveKind",
    "OutlierStats",
    "OutputActivation",
    "Reason",
    "Recommendation",
    "RuleFiring",
    "SearchResult",
    "Shortlist",
    "TargetCoding",
    "TargetHistogram",
    "TargetStats",
    "Task",
    "TaskHypothesis",
    "TrialOutcome",
    "TrialState",
    "Verdict",
]


# --------------------------------------------------------------------------- vocabularies


class Task(enum.StrEnum):
    REGRESSION = "regression"
    REGRESSION_COUNT = "regression_count"
    REGRESSION_POSITIVE = "regression_positive"
    BINARY = "binary"
    MULTICLASS = "multiclass"
    MULTILABEL = "multilabel"
    ORDINAL = "ordinal"

    @property
    def is_regression(self) -> bool:
        return self in (Task.REGRESSION, Task.REGRESSION_COUNT, Task.REGRESSION_POSITIVE)

    @property
    def is_classification(self) -> bool:
        return self in (Task.BINARY, Task.MULTICLASS, Task.MULTILABEL, Task.ORDINAL)


class LabelEncoding(enum.StrEnum):
    CONTINUOUS = "continuous"
    INTEGER_INDEX = "integer_index"
    FLOAT_CODED_INTEGER = "float_coded_integer"
    STRING = "string"
    BOOLEAN = "boolean"
    PLUS_MINUS_ONE = "plus_minus_one"
    ONE_HOT_COLUMNS = "one_hot_columns"
    MULTILABEL_INDICATOR_COLUMNS = "multilabel_indicator_columns"
    PROBABILITY = "probability"


class LossId(enum.StrEnum):
    """A loss id: the SPEC's losses, and those a team registers (``advisor.losses.register``).

    The vocabulary is open: a registered loss becomes a member like the others
    (``LossId("asymmetric") is LossId.ASYMMETRIC``), so every use of the SPEC's ids keeps
    working unchanged: ``LossId.MSE``, ``LossId("mse")``, ``.value``, comparison with strings,
    JSON, dict keys, ``isinstance``, iteration (which includes registered ids, in the order
    they were registered, after the SPEC's).

    Why extend the enum rather than write a ``str`` subclass with a registry and a metaclass:
    such a class would have to rebuild what ``enum`` gives every one of those uses (names,
    values, ``repr``, ``__members__``, ``LossId["MSE"]``, pickling by value, the
    ``isinstance(value, enum.Enum)`` of ``to_dict``), and any gap would show up far from here.
    Extending the enum adds a member through ``enum._proto_member``, the very step the enum
    class runs for each member of its body (in CPython 3.11, 3.12 and 3.13 alike; 3.13 moved
    the bookkeeping into ``EnumType._add_member_``, which that step calls). The tests pin down
    lookup, iteration, ``in``, pickling and copying, so a Python release that changes the step
    fails loudly. Members are added and removed only by the loss registry, under its lock.

    An unknown string asks the registry (``_missing_``), which loads the installed entry points
    once, then raises ``UsageError`` with a "did you mean"; so unpickling a registered id in a
    fresh process works whenever its package declares the entry point.
    """

    # regression
    MSE = "mse"
    MAE = "mae"
    HUBER = "huber"
    LOG_COSH = "log_cosh"
    QUANTILE = "quantile"
    POISSON = "poisson"
    GAMMA = "gamma"
    TWEEDIE = "tweedie"
    MSLE = "msle"
    GAUSSIAN_NLL = "gaussian_nll"
    # binary
    BCE = "bce"
    BCE_WEIGHTED = "bce_weighted"
    FOCAL = "focal"
    HINGE = "hinge"
    SQUARED_HINGE = "squared_hinge"
    # multiclass
    CE = "ce"
    CE_WEIGHTED = "ce_weighted"
    CE_CLASS_BALANCED = "ce_class_balanced"
    CE_LABEL_SMOOTHING = "ce_label_smoothing"
    LOGIT_ADJUSTED = "logit_adjusted"
    MULTI_MARGIN = "multi_margin"
    # soft targets
    SOFT_CE = "soft_ce"
    # multilabel
    MULTILABEL_BCE = "multilabel_bce"
    MULTILABEL_BCE_WEIGHTED = "multilabel_bce_weighted"
    MULTILABEL_FOCAL = "multilabel_focal"
    # ordinal
    ORDINAL_CORAL = "ordinal_coral"

    @classmethod
    def _missing_(cls, value: object) -> LossId | None:
        if not isinstance(value, str):
            return None  # enum's own "... is not a valid LossId"
        # The only project import of this module, made at call time: a team's id may come from
        # an installed package's entry point, which only the loss registry can load.
        from advisor.losses._registry import resolve_unknown

        return resolve_unknown(value)  # the member, or UsageError with a suggestion

    @classmethod
    def _add_member(cls, value: str) -> LossId:
        """Add ``value`` as the member ``value.upper()`` (the loss registry's job)."""
        name = value.upper()
        if name in cls.__members__ or hasattr(cls, name):
            raise ValueError(f"LossId already has a member or attribute {name!r}")
        # what EnumType does for each member of the class body: set a placeholder, let it
        # replace itself with the member and record it in the member maps
        setattr(cls, name, enum._proto_member(value))  # type: ignore[attr-defined]
        cls.__dict__[name].__set_name__(cls, name)
        member = cls.__members__[name]
        if member.value != value or cls(value) is not member:
            raise RuntimeError(f"could not add {value!r} to LossId on this Python")
        return member

    @classmethod
    def _remove_member(cls, member: LossId) -> None:
        """Undo ``_add_member`` (the loss registry's ``unregister``)."""
        name, value = member.name, member.value
        cls._member_names_.remove(name)
        del cls._member_map_[name]
        cls._value2member_map_.pop(value, None)
        hashable = getattr(cls, "_hashable_values_", None)  # Python 3.13 keeps this list too
        if isinstance(hashable, list) and value in hashable:
            hashable.remove(value)
        if name in cls.__dict__:
            delattr(cls, name)  # allowed now that it is no longer in the member map


class MetricId(enum.StrEnum):
    MAE = "mae"
    RMSE = "rmse"
    MEDIAN_AE = "median_ae"
    R2 = "r2"
    POISSON_DEVIANCE = "poisson_deviance"
    GAMMA_DEVIANCE = "gamma_deviance"
    PINBALL = "pinball"
    ACCURACY = "accuracy"
    BALANCED_ACCURACY = "balanced_accuracy"
    F1_MACRO = "f1_macro"
    F1_MICRO = "f1_micro"
    ROC_AUC = "roc_auc"
    PR_AUC = "pr_auc"
    LOG_LOSS = "log_loss"
    BRIER = "brier"
    MAE_INDEX = "mae_index"
    QWK = "qwk"


class Factor(enum.StrEnum):
    """The selection factors of the SPEC; every rule names the one it encodes."""

    PROBLEM_TYPE = "problem_type"
    OUTPUT_DISTRIBUTION = "output_distribution"
    OUTLIERS = "outliers"
    ACTIVATION_PAIRING = "activation_pairing"
    LABEL_ENCODING = "label_encoding"
    MODEL_OBJECTIVE = "model_objective"
    IMBALANCE = "imbalance"
    INTERPRETABILITY = "interpretability"
    CONVERGENCE = "convergence"
    MARGIN = "margin"
    AUTOML = "automl"
    OVERFITTING = "overfitting"


class EffectKind(enum.StrEnum):
    """What a rule does when it fires (a rule file's ``effect``)."""

    INCLUDE = "include"
    EXCLUDE = "exclude"
    RAISE = "raise"
    LOWER = "lower"
    SET = "set"
    METRIC = "metric"
    CONFIGURE = "configure"
    NOTE = "note"


class Direction(enum.StrEnum):
    """Whether a metric's better scores are higher; the values are Optuna's direction names."""

    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"


class ObjectiveKind(enum.StrEnum):
    AUTO = "auto"
    PENALIZE_LARGE_ERRORS = "penalize-large-errors"
    ROBUST = "robust"
    MEDIAN = "median"
    QUANTILE = "quantile"
    CALIBRATED_PROBABILITIES = "calibrated-probabilities"
    MARGIN = "margin"
    MINORITY_RECALL = "minority-recall"


class ImbalanceLevel(enum.StrEnum):
    """Majority/minority count ratio bands: balanced < 1.5 <= mild < 3 <= strong < 10 <= extreme."""

    BALANCED = "balanced"
    MILD = "mild"
    STRONG = "strong"
    EXTREME = "extreme"


class OutputActivation(enum.StrEnum):
    """What to apply to the network's RAW output at prediction time, per loss head.

    Every loss trains on the raw output of a linear last layer (logits, scores, log-means):
    PyTorch's cross-entropy and BCE-with-logits apply the softmax/sigmoid themselves, and
    applying one in the network too would squash twice. This says what turns that raw output
    into a prediction afterwards (``Advice.decode_output`` does it, then undoes the target's
    scaling and maps codes back to labels).

    - ``identity``: a point in the encoded target's units (standardised; for msle, standardised
      log1p), i.e. a plain regression output.
    - ``exp``: the output is the log of the mean (log link: poisson, gamma, tweedie).
    - ``mean_and_log_variance``: two outputs, the mean and the log of the variance
      (gaussian_nll).
    - ``sign``: a raw margin score whose sign is the class (hinge losses, ±1 targets).
    - ``sigmoid``: one logit per output, independent (binary, each label of multilabel).
    - ``softmax``: C class logits.
    - ``cumulative_sigmoid``: C-1 logits of P(y > k) (ordinal CORAL).
    """

    IDENTITY = "identity"
    EXP = "exp"
    MEAN_AND_LOG_VARIANCE = "mean_and_log_variance"
    SIGN = "sign"
    SIGMOID = "sigmoid"
    SOFTMAX = "softmax"
    CUMULATIVE_SIGMOID = "cumulative_sigmoid"


class FeatureKind(enum.StrEnum):
    NUMERIC = "numeric"
    BOOLEAN = "boolean"
    CATEGORICAL = "categorical"
    DATETIME = "datetime"
    TEXT = "text"
    ID_LIKE = "id_like"
    CONSTANT = "constant"


# --------------------------------------------------------------------------- JSON helper


def _jsonable(value: Any) -> Any:
    """Convert records, enums, mappings and non-finite floats into plain JSON values."""
    if isinstance(value, _Record):
        return value.to_dict()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | bool):
        return value
    if type(value).__name__ in ("bool", "bool_"):  # numpy bool, without importing numpy
        return bool(value)
    if isinstance(value, numbers.Integral):  # numpy integers too
        return int(value)
    if isinstance(value, float) or hasattr(value, "__float__"):
        number = float(value)
        return number if math.isfinite(number) else None
    return str(value)


def _frozen_mapping(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


def _thawed(value: Any) -> Any:
    """``value`` with every frozen mapping (``MappingProxyType``, not picklable) a plain dict."""
    if isinstance(value, MappingProxyType | dict):
        return {key: _thawed(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return tuple(_thawed(item) for item in value)
    return value


def _rebuild(cls: type, values: dict[str, Any]) -> Any:
    """Unpickle a record: the constructor freezes the mappings again."""
    return cls(**values)


class _Record:
    """Mixin: ``to_dict`` for frozen dataclasses; mapping fields are frozen at construction."""

    __slots__ = ()

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            if isinstance(value, dict):
                object.__setattr__(self, field.name, _frozen_mapping(value))
            elif isinstance(value, list):
                object.__setattr__(self, field.name, tuple(value))

    def __reduce__(self) -> tuple[Any, ...]:
        # pickle (joblib, scikit-learn's clone of fitted state, multiprocessing) cannot copy a
        # MappingProxyType: hand over plain dicts and let the constructor freeze them again
        values = {
            field.name: _thawed(getattr(self, field.name))
            for field in dataclasses.fields(self)  # type: ignore[arg-type]
        }
        return (_rebuild, (type(self), values))

    def to_dict(self) -> dict[str, Any]:
        return {
            field.name: _jsonable(getattr(self, field.name))
            for field in dataclasses.fields(self)  # type: ignore[arg-type]
        }


_record = dataclasses.dataclass(frozen=True, slots=True, kw_only=True)


# --------------------------------------------------------------------------- objective


@_record
class Objective(_Record):
    """The user's stated preference; ``quantile`` is set only for ``quantile:Q``."""

    kind: ObjectiveKind = ObjectiveKind.AUTO
    quantile: float | None = None

    def __str__(self) -> str:
        if self.kind is ObjectiveKind.QUANTILE:
            return f"quantile:{self.quantile:g}"
        return self.kind.value

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "quantile": self.quantile, "text": str(self)}


# --------------------------------------------------------------------------- profile


@_record
class TargetStats(_Record):
    """Distribution of a numeric target (for classes: of the class codes, where meaningful)."""

    n: int
    n_unique: int
    n_missing: int = 0
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    max: float | None = None
    median: float | None = None
    mad: float | None = None
    iqr: float | None = None
    skewness: float | None = None
    kurtosis: float | None = None
    tail_index: float | None = None
    zero_fraction: float | None = None
    dispersion: float | None = None
    is_integer: bool = False
    is_positive: bool = False
    is_non_negative: bool = False
    in_unit_interval: bool = False


@_record
class OutlierStats(_Record):
    """Share of target values that are gross outliers, by three independent measures."""

    mad_rate: float = 0.0
    iqr_rate: float = 0.0
    residual_rate: float | None = None
    rate: float = 0.0
    method: str = "median/MAD modified z-score > 3.5; IQR fences 3.0; robust-fit residuals"


@_record
class TargetHistogram(_Record):
    """A numeric target's shape, small enough to plot in a report without the data.

    ``edges``/``counts`` bin the values that are not outliers (the bulk, so a few extreme
    values cannot squeeze it into one bar); ``outliers`` holds the flagged values themselves
    (all of them up to a cap, then an even spread that keeps both extremes). ``scale`` is
    ``log`` where the profile measures outliers on log(y): the bins are then log-spaced.
    """

    scale: str
    edges: tuple[float, ...]
    counts: tuple[int, ...]
    outliers: tuple[float, ...] = ()
    n_outliers: int = 0
    rule: str = ""


@_record
class ImbalanceStats(_Record):
    ratio: float
    minority_share: float
    level: ImbalanceLevel
    class_counts: Mapping[str, int]
    effective_numbers: Mapping[str, float] = dataclasses.field(default_factory=dict)
    positive_rates: Mapping[str, float] | None = None


@_record
class FeatureColumn(_Record):
    name: str
    kind: FeatureKind
    missing_rate: float
    n_unique: int


@_record
class FeatureSummary(_Record):
    n_features: int
    counts: Mapping[str, int]
    missing_rate: float
    columns: tuple[FeatureColumn, ...] = ()
    constant: tuple[str, ...] = ()
    high_cardinality: tuple[str, ...] = ()
    id_like: tuple[str, ...] = ()


@_record
class TaskHypothesis(_Record):
    """One reading of the target: a task and encoding, how sure, and what would flip it."""

    task: Task
    label_encoding: LabelEncoding
    confidence: float
    evidence: str
    flag: str = ""


@_record
class DataProfile(_Record):
    """Everything measured about a table that bears on the choice of loss."""

    target: tuple[str, ...]
    target_detection: str
    task: Task
    label_encoding: LabelEncoding
    confidence: float
    n_rows: int
    n_columns: int
    target_stats: TargetStats
    outliers: OutlierStats
    features: FeatureSummary
    classes: tuple[str, ...] | None = None
    imbalance: ImbalanceStats | None = None
    alternatives: tuple[TaskHypothesis, ...] = ()
    warnings: tuple[str, ...] = ()
    evidence: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    histogram: TargetHistogram | None = None

    @property
    def n_classes(self) -> int:
        return len(self.classes) if self.classes else 0

    def to_dict(self) -> dict[str, Any]:
        data = _Record.to_dict(self)
        for optional in ("classes", "imbalance", "histogram"):
            if data[optional] is None:
                del data[optional]
        return data


# --------------------------------------------------------------------------- shortlist


@_record
class LossEffect(_Record):
    """What one fired rule did to one loss: weighed it, excluded it, noted it, or set a parameter.

    ``value`` is the rule's weight for include, raise and lower, and the parameter's value for
    set (``param`` names the parameter); exclude and note carry neither. Stages read the fields
    (the search leaves alone the parameters an objective set); ``str`` gives the short text the
    JSON output shows (``raise 2``, ``set q=0.9``, ``exclude``) and ``parse`` reads it back.

    Example:
        >>> effect = LossEffect(kind=EffectKind.SET, loss=LossId.QUANTILE, param="q", value=0.9)
        >>> str(effect), LossEffect.parse("set q=0.9", loss="quantile") == effect
        ('set q=0.9', True)
    """

    kind: EffectKind
    loss: LossId
    param: str | None = None
    value: float | None = None

    def __post_init__(self) -> None:
        if (self.kind is EffectKind.SET) != (self.param is not None):
            raise ValueError(f"a {self.kind.value!r} effect names a parameter only for 'set'")
        if self.kind in (EffectKind.METRIC, EffectKind.CONFIGURE):
            raise ValueError(f"a {self.kind.value!r} effect does not act on a loss")

    def __str__(self) -> str:
        if self.kind is EffectKind.SET:
            return f"set {self.param}={self.value:.4g}"
        if self.value is None:
            return self.kind.value
        return f"{self.kind.value} {self.value:g}"

    @classmethod
    def parse(cls, text: str, *, loss: LossId | str) -> LossEffect:
        """Read back ``str(effect)``: the ``effect`` of a reason in the JSON output."""
        word, _, rest = text.partition(" ")
        kind = EffectKind(word)
        if kind is EffectKind.SET:
            param, _, value = rest.partition("=")
            return cls(kind=kind, loss=LossId(loss), param=param, value=float(value))
        return cls(kind=kind, loss=LossId(loss), value=float(rest) if rest else None)


@_record
class Reason(_Record):
    """One fired rule's contribution to a candidate, with the evidence it quoted."""

    rule: str
    factor: Factor
    text: str
    effect: LossEffect
    evidence: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = _Record.to_dict(self)
        data["effect"] = str(self.effect)  # the JSON output's short text, as it always was
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, loss: LossId | str) -> Reason:
        """Rebuild a reason of ``loss``'s candidate from its ``to_dict()``."""
        return cls(
            rule=data["rule"],
            factor=Factor(data["factor"]),
            text=data["text"],
            effect=LossEffect.parse(data["effect"], loss=loss),
            evidence=data.get("evidence", {}),
        )


@_record
class Candidate(_Record):
    loss: LossId
    params: Mapping[str, Any]
    score: float
    reasons: tuple[Reason, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Candidate:
        """Rebuild a candidate from its ``to_dict()`` (a shortlist entry of the JSON output)."""
        loss = LossId(data["loss"])
        return cls(
            loss=loss,
            params=data["params"],
            score=float(data["score"]),
            reasons=tuple(Reason.from_dict(r, loss=loss) for r in data.get("reasons", ())),
        )


@_record
class RuleFiring(_Record):
    """A trace line: every rule evaluated, whether it fired, and why it did or did not."""

    rule: str
    factor: Factor
    fired: bool
    effect: str
    detail: str


@_record
class Shortlist(_Record):
    task: Task
    objective: Objective
    metric: MetricId
    metric_reason: str
    candidates: tuple[Candidate, ...]
    excluded: tuple[Candidate, ...] = ()
    trace: tuple[RuleFiring, ...] = ()
    settings: Mapping[str, int] = dataclasses.field(default_factory=dict)

    @property
    def losses(self) -> tuple[LossId, ...]:
        return tuple(c.loss for c in self.candidates)


# --------------------------------------------------------------------------- search


class TrialState(enum.StrEnum):
    """How an exploration trial's training ended (Optuna's states, with why it stopped)."""

    COMPLETE = "complete"
    PRUNED = "pruned"  # stopped by the pruner
    CUT = "cut"  # stopped by the search's deadline: a partial run, never ranked
    FAILED = "failed"  # diverged: no usable score


@_record
class TrialOutcome(_Record):
    """One short training run as Optuna saw it."""

    number: int
    loss: LossId
    params: Mapping[str, Any]
    score: float | None
    state: TrialState
    steps: int
    seed: int


@_record
class CandidateResult(_Record):
    """A loss's repeated validation scores on shared splits (same splits for every loss)."""

    loss: LossId
    params: Mapping[str, Any]
    mean: float
    std: float
    n: int
    scores: tuple[float, ...] = ()
    # (step, validation score) of the first confirmation split: how the best setting learned
    history: tuple[tuple[int, float], ...] = ()


@_record
class Comparison(_Record):
    """Paired comparison of the best candidate against the runner-up on the same splits."""

    best: LossId
    other: LossId
    difference: float
    difference_std: float
    p_value: float
    significant: bool
    statement: str


class Verdict(enum.StrEnum):
    """How the confirmation reached its choice (``report`` words each one)."""

    UNSCORED = "unscored"  # no finalist could be scored: the rule prior's first loss
    SOLE = "sole"  # one finalist could be scored
    SIGNIFICANT = "significant"  # the best beats every other at p < 0.05
    OVERTURNED = "overturned"  # the best leads a loss the rule prior ranks above it
    BEST_IS_PRIOR = "best_is_prior"  # the best leads, not significantly; the prior agrees
    NEGLIGIBLE = "negligible"  # the best leads the prior's choice by less than matters
    TIE = "tie"  # no significant difference: the rule prior stands
    STEADY = "steady"  # the best mean blew up on some split: the one loss that did not


@_record
class DivergedRun(_Record):
    """A confirmation run kept from deciding: it blew up, or trained to no score at all."""

    loss: LossId
    split: int  # the paired split, from 1
    score: float | None  # None: training diverged to no usable score
    expected: float | None  # what the loss's other splits and the split's other runs predict


@_record
class Decision(_Record):
    """What the confirmation decided, as numbers and a verdict; ``report`` phrases it.

    ``comparison`` sets the confidence: the best against the loss it is least clearly better
    than (for a tie, against the chosen loss); ``prior`` is the best against the loss the
    rule prior ranked first among those it overturned. ``comparison.statement`` carries the
    sentence ``report`` made of the rest.
    """

    chosen: LossId
    verdict: Verdict
    confidence: float
    label: str
    metric: MetricId
    splits: int  # paired splits behind the comparison
    equivalence: float  # the share of the score below which a lead does not matter
    comparison: Comparison | None = None
    prior: Comparison | None = None
    diverged: tuple[DivergedRun, ...] = ()
    # times the race tested for a decision (1 up to 10 splits, one more per extra round): the
    # reported p-values are multiplied by it (Bonferroni), so a lead found by looking again
    # is not called significant more easily than one found at the first look
    looks: int = 1


@_record
class SearchResult(_Record):
    metric: MetricId
    direction: Direction
    budget_s: float
    elapsed_s: float
    trials: int
    storage: str
    study_name: str
    results: tuple[CandidateResult, ...]
    comparison: Comparison | None = None
    outcomes: tuple[TrialOutcome, ...] = ()
    pruned: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = _Record.to_dict(self)
        data.pop("outcomes")
        return data


# --------------------------------------------------------------------------- recommendation


@_record
class Recommendation(_Record):
    loss: LossId
    params: Mapping[str, Any]
    metric: MetricId
    confidence: float
    confidence_label: str
    verdict: str
    rationale: tuple[str, ...]
    pytorch: str


@_record
class InputInfo(_Record):
    path: str | None
    target: tuple[str, ...]
    rows: int
    columns: int


@_record
class TargetCoding(_Record):
    """How the recommended loss sees the target: the few numbers training and prediction need.

    Measured on the rows ``recommend`` profiled, so that an ``Advice`` can build its loss,
    encode a target and decode outputs without the data: the loss context (class or label
    counts, rows, and the robust scale Huber's delta is divided by), the fitted target
    encoding (``center``, ``scale``), and the original class labels in code order (None for
    regression; label or class names for targets spread over several columns). ``head`` and
    ``kind`` are the loss catalog's ``HeadKind`` and ``TargetKind`` ids.
    """

    loss: LossId
    head: str
    kind: str
    n_outputs: int = 1
    class_counts: tuple[int, ...] | None = None
    n_rows: int = 0
    context_scale: float = 1.0
    center: float = 0.0
    scale: float = 1.0
    labels: tuple[Any, ...] | None = None


@_record
class Advice(_Record):
    """The whole answer of ``recommend``: what the JSON output of the CLI serialises.

    Besides the record data, it carries what training with the advice needs: ``build_loss()``,
    ``output_activation``, ``encode_target(y)``, ``decode_output(output)`` and ``explain()``.
    These use ``coding`` (measured by ``recommend``) and delegate to ``advisor._advice``, with
    imports inside the methods because this module imports no other advisor module.

    Example:
        >>> import numpy as np, pandas as pd, torch, advisor
        >>> rng = np.random.default_rng(0)
        >>> frame = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
        >>> y = np.where(frame["a"] + 0.3 * rng.normal(size=200) > 0, "spam", "ham")
        >>> advice = advisor.recommend(frame.assign(label=y), target="label", search=False)
        >>> advice.recommendation.loss.value, advice.output_activation.value
        ('bce', 'sigmoid')
        >>> y[:4].tolist(), advice.coding.labels
        (['ham', 'ham', 'spam', 'ham'], ('ham', 'spam'))
        >>> target = advice.encode_target(y[:4])
        >>> target
        tensor([0., 0., 1., 0.])
        >>> loss = advice.build_loss()(torch.zeros(4, 1), target)
        >>> round(float(loss), 4)
        0.6931
        >>> advice.decode_output(torch.tensor([[3.0], [-2.0]])).tolist()
        ['spam', 'ham']
        >>> print(advice.explain().splitlines()[0])
        Recommended loss: bce
    """

    input: InputInfo
    profile: DataProfile
    shortlist: Shortlist
    search: SearchResult | None
    recommendation: Recommendation
    coding: TargetCoding | None = None

    def build_loss(self) -> Any:
        """The recommended loss as a ready ``torch.nn.Module``, data-derived numbers filled in.

        Its ``forward(output, target)`` takes the network's RAW output (logits, scores; see
        ``output_activation``) and ``encode_target(y)``, and returns the mean loss.
        """
        from advisor._advice import build_advised_loss  # records.py imports no advisor module

        return build_advised_loss(self)

    @property
    def output_activation(self) -> OutputActivation:
        """What turns the network's raw output into a prediction (the loss takes it raw)."""
        from advisor._advice import output_activation  # records.py imports no advisor module

        return output_activation(self)

    def encode_target(self, y: Any) -> Any:
        """The ``torch.Tensor`` the loss expects for ``y`` (labels or values as given)."""
        from advisor._advice import encode_target  # records.py imports no advisor module

        return encode_target(self, y)

    def decode_output(self, output: Any) -> Any:
        """Raw network outputs -> predictions: the target's units or its original labels.

        Returns a numpy array: values for regression, class labels for binary, multiclass
        and ordinal (the level), a 0/1 matrix for multilabel and one-hot targets, class
        probabilities for probability targets.
        """
        from advisor._advice import decode_output  # records.py imports no advisor module

        return decode_output(self, output)

    def explain(self) -> str:
        """The rationale as readable text for a report: reasons, evidence, search, confidence."""
        from advisor._advice import explain  # records.py imports no advisor module

        return explain(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "input": self.input.to_dict(),
            "profile": self.profile.to_dict(),
            "shortlist": [c.to_dict() for c in self.shortlist.candidates],
            "search": self.search.to_dict() if self.search else None,
            "recommendation": self.recommendation.to_dict(),
            "objective": self.shortlist.objective.to_dict(),
            "excluded": [c.to_dict() for c in self.shortlist.excluded],
        }
