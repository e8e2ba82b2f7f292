"""The JSON Schema (draft 2020-12) of the ``--json`` documents, schema_version 1.

Pipelines validate ``recommend --json``, ``profile --json`` and ``explain --json`` against it
before they trust the advice; ``lossadvisor schema`` prints it. It is built here from the
records' own vocabularies (``Task``, ``LossId``, ``MetricId``...), so an id added to an enum
is in the schema at once, and the tests validate real outputs of every task against it.

Objects do not forbid extra keys: the SPEC lets keys be added within a schema_version, and a
pipeline should not break when they are. Every key the documents carry today is declared with
its type (a test walks real outputs and fails on an undeclared key), so a validator still
catches a changed type or a missing key.
"""

from __future__ import annotations

import enum
from typing import Any

from advisor.losses._catalog import BUILTIN_IDS
from advisor.records import (
    Factor,
    FeatureKind,
    ImbalanceLevel,
    LabelEncoding,
    MetricId,
    ObjectiveKind,
    Task,
)

__all__ = ["DOCUMENTS", "SCHEMA_ID", "SCHEMA_VERSION", "json_schema"]

SCHEMA_VERSION = 1
SCHEMA_ID = "urn:lossadvisor:schema:1"
DOCUMENTS = ("recommend", "profile", "explain")
# a custom loss registered by a team (advisor.losses.register / entry points) has its own id,
# of the form the registry accepts
CUSTOM_LOSS_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def _enum(values: type[enum.Enum], description: str) -> dict[str, Any]:
    return {"type": "string", "enum": [v.value for v in values], "description": description}


def _object(
    properties: dict[str, Any], *, required: list[str] | None = None, description: str = ""
) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    schema["required"] = list(properties) if required is None else required
    if description:
        schema["description"] = description
    return schema


def _array(items: dict[str, Any], description: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array", "items": items}
    if description:
        schema["description"] = description
    return schema


def _map(values: dict[str, Any], description: str) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": values, "description": description}


NUMBER = {"type": "number"}
NUMBER_OR_NULL = {"type": ["number", "null"], "description": "null where not finite or not known"}
INTEGER = {"type": "integer"}
COUNT = {"type": "integer", "minimum": 0}
STRING = {"type": "string"}
BOOLEAN = {"type": "boolean"}
SHARE = {"type": "number", "minimum": 0, "maximum": 1}
ANY = {
    "type": ["number", "string", "boolean", "null", "array", "object"],
    "description": "any JSON value",
}


def _defs() -> dict[str, Any]:
    loss_id = {
        "description": "a loss id: one of the SPEC's built-in ids, or a registered custom loss",
        "anyOf": [
            {"type": "string", "enum": [v.value for v in BUILTIN_IDS]},
            {"type": "string", "pattern": CUSTOM_LOSS_PATTERN},
        ],
    }
    param_value = {
        "type": ["number", "string", "boolean", "null"],
        "description": "null: derived from the training data when the loss is built",
    }
    target_stats = _object(
        {
            "n": COUNT,
            "n_unique": COUNT,
            "n_missing": COUNT,
            **{
                k: NUMBER_OR_NULL
                for k in (
                    "mean",
                    "std",
                    "min",
                    "max",
                    "median",
                    "mad",
                    "iqr",
                    "skewness",
                    "kurtosis",
                    "tail_index",
                    "zero_fraction",
                    "dispersion",
                )
            },
            "is_integer": BOOLEAN,
            "is_positive": BOOLEAN,
            "is_non_negative": BOOLEAN,
            "in_unit_interval": BOOLEAN,
        },
        required=["n", "n_unique", "n_missing", "is_integer", "is_positive"],
        description="distribution of the target (of the class codes for classes)",
    )
    outliers = _object(
        {
            "mad_rate": SHARE,
            "iqr_rate": SHARE,
            "residual_rate": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
            "rate": SHARE,
            "method": STRING,
        },
        required=["mad_rate", "iqr_rate", "rate"],
        description="share of gross outliers in the target, by three measures",
    )
    imbalance = _object(
        {
            "ratio": {"type": "number", "minimum": 1},
            "minority_share": SHARE,
            "level": _ref("imbalance_level"),
            "class_counts": _map(COUNT, "rows per class label (per label for multilabel)"),
            "effective_numbers": _map(NUMBER, "effective number of samples per class"),
            "positive_rates": {
                "type": ["object", "null"],
                "additionalProperties": SHARE,
                "description": "multilabel: share of positive rows per label",
            },
        },
        required=["ratio", "minority_share", "level", "class_counts"],
    )
    feature_column = _object(
        {
            "name": STRING,
            "kind": _ref("feature_kind"),
            "missing_rate": SHARE,
            "n_unique": COUNT,
        }
    )
    features = _object(
        {
            "n_features": COUNT,
            "counts": {
                "type": "object",
                "propertyNames": _ref("feature_kind"),
                "additionalProperties": COUNT,
                "description": "number of feature columns of each kind",
            },
            "missing_rate": SHARE,
            "columns": _array(_ref("feature_column")),
            "constant": _array(STRING),
            "high_cardinality": _array(STRING),
            "id_like": _array(STRING),
        },
        required=["n_features", "counts", "missing_rate"],
    )
    hypothesis = _object(
        {
            "task": _ref("task"),
            "label_encoding": _ref("label_encoding"),
            "confidence": SHARE,
            "evidence": STRING,
            "flag": {"type": "string", "description": "the flag that settles it, or ''"},
        },
        required=["task", "label_encoding", "confidence", "evidence"],
        description="another reading of the target the data leaves open",
    )
    histogram = _object(
        {
            "scale": {"type": "string", "enum": ["linear", "log"]},
            "edges": _array(NUMBER),
            "counts": _array(COUNT),
            "outliers": _array(NUMBER),
            "n_outliers": COUNT,
            "rule": STRING,
        },
        required=["scale", "edges", "counts"],
        description="a numeric target's distribution, binned without its outliers",
    )
    profile = _object(
        {
            "target": _array(STRING, "the target column(s)") | {"minItems": 1},
            "target_detection": STRING,
            "task": _ref("task"),
            "label_encoding": _ref("label_encoding"),
            "confidence": SHARE,
            "n_rows": COUNT,
            "n_columns": COUNT,
            "target_stats": target_stats,
            "outliers": outliers,
            "features": features,
            "classes": _array(STRING, "class labels (label columns for multilabel)"),
            "imbalance": imbalance,
            "alternatives": _array(hypothesis),
            "warnings": _array(STRING, "doubtful readings, each also printed on stderr"),
            "evidence": _map(ANY, "the measures the task detection used, by name"),
            "histogram": histogram,
        },
        required=[
            "target",
            "target_detection",
            "task",
            "label_encoding",
            "confidence",
            "n_rows",
            "n_columns",
            "target_stats",
            "outliers",
            "features",
            "alternatives",
            "warnings",
            "evidence",
        ],
        description="what was measured about the table (profile --json prints it alone)",
    )
    reason = _object(
        {
            "rule": STRING,
            "factor": _ref("factor"),
            "text": STRING,
            "effect": STRING,
            "evidence": _map(ANY, "the profile values the rule quoted"),
        },
        description="one fired rule's contribution to a candidate",
    )
    candidate = _object(
        {
            "loss": _ref("loss_id"),
            "params": _ref("params"),
            "score": NUMBER,
            "reasons": _array(_ref("reason")),
        }
    )
    result = _object(
        {
            "loss": _ref("loss_id"),
            "params": _ref("params"),
            "mean": NUMBER_OR_NULL,
            "std": NUMBER_OR_NULL,
            "n": COUNT,
            "scores": _array(NUMBER_OR_NULL, "validation score on each paired split"),
            "history": _array(
                {"type": "array", "prefixItems": [COUNT, NUMBER_OR_NULL], "items": False},
                "(step, validation score) of the best setting's first split",
            ),
        },
        required=["loss", "params", "mean", "std", "n"],
    )
    comparison = _object(
        {
            "best": _ref("loss_id"),
            "other": _ref("loss_id"),
            "difference": NUMBER_OR_NULL,
            "difference_std": NUMBER_OR_NULL,
            "p_value": NUMBER_OR_NULL,
            "significant": BOOLEAN,
            "statement": STRING,
        },
        description="the paired comparison of the best loss against the runner-up",
    )
    search = _object(
        {
            "metric": _ref("metric_id"),
            "direction": {"type": "string", "enum": ["minimize", "maximize"]},
            "budget_s": {"type": "number", "exclusiveMinimum": 0},
            "elapsed_s": {"type": "number", "minimum": 0},
            "trials": COUNT,
            "storage": {"type": "string", "description": "the storage URL, or 'in-memory'"},
            "study_name": STRING,
            "results": _array(result),
            "comparison": {"anyOf": [comparison, {"type": "null"}]},
            "pruned": COUNT,
        },
        required=["metric", "direction", "budget_s", "elapsed_s", "trials", "storage", "results"],
        description="the confirmation search; null with --no-search",
    )
    recommendation = _object(
        {
            "loss": _ref("loss_id"),
            "params": _ref("params"),
            "metric": _ref("metric_id"),
            "confidence": SHARE,
            "confidence_label": {
                "type": "string",
                "enum": ["high", "medium", "low", "prior only"],
                "description": "'prior only' when no search ran (--no-search)",
            },
            "verdict": STRING,
            "rationale": _array(STRING),
            "pytorch": {"type": "string", "description": "Python code that builds the loss"},
        },
        required=["loss", "params", "metric", "confidence", "rationale", "pytorch"],
    )
    objective = _object(
        {
            "kind": _enum(ObjectiveKind, "the stated objective (--objective)"),
            "quantile": {"type": ["number", "null"], "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "text": STRING,
        }
    )
    firing = _object(
        {
            "rule": STRING,
            "factor": _ref("factor"),
            "fired": BOOLEAN,
            "effect": {
                "type": "string",
                "description": "the rule's effect (include, exclude, raise, lower, set, metric, "
                "configure, note), with what it did when it fired",
            },
            "detail": STRING,
        },
        description="one rule of the trace: whether it fired and why (not)",
    )
    version = {"const": SCHEMA_VERSION, "description": "bumped when a key changes meaning"}
    recommend = _object(
        {
            "schema_version": version,
            "input": _object(
                {
                    "path": {"type": ["string", "null"], "description": "null for a DataFrame"},
                    "target": _array(STRING) | {"minItems": 1},
                    "rows": COUNT,
                    "columns": COUNT,
                }
            ),
            "profile": _ref("profile"),
            "shortlist": _array(_ref("candidate")) | {"minItems": 1},
            "search": {"anyOf": [search, {"type": "null"}]},
            "recommendation": recommendation,
            "objective": objective,
            "excluded": _array(_ref("candidate"), "losses a rule excluded"),
        },
        required=["schema_version", "input", "profile", "shortlist", "search", "recommendation"],
        description="lossadvisor recommend --json",
    )
    explain = _object(
        {
            "schema_version": version,
            "profile": _ref("profile"),
            "shortlist": _array(_ref("candidate")) | {"minItems": 1},
            "excluded": _array(_ref("candidate")),
            "metric": _ref("metric_id"),
            "objective": objective,
            "trace": _array(firing),
        },
        required=["schema_version", "profile", "shortlist", "excluded", "metric", "trace"],
        description="lossadvisor explain --json",
    )
    return {
        "task": _enum(Task, "the learning task"),
        "label_encoding": _enum(LabelEncoding, "how the target's labels are written"),
        "loss_id": loss_id,
        "metric_id": _enum(MetricId, "a loss-independent validation metric"),
        "factor": _enum(Factor, "the selection factor a rule encodes (the SPEC's list)"),
        "imbalance_level": _enum(ImbalanceLevel, "majority/minority ratio band"),
        "feature_kind": _enum(FeatureKind, "what a feature column holds"),
        "params": _map(param_value, "a loss's parameters by name"),
        "feature_column": feature_column,
        "reason": reason,
        "candidate": candidate,
        "profile": profile,
        "recommend": recommend,
        "explain": explain,
    }


def json_schema(document: str | None = None) -> dict[str, Any]:
    """The JSON Schema of the ``--json`` documents, or of one of them.

    Args:
        document: ``"recommend"``, ``"profile"`` or ``"explain"`` for that document alone;
            None for the schema that accepts any of the three.

    Returns:
        A JSON-serialisable dict (JSON Schema draft 2020-12).

    Raises:
        ValueError: ``document`` is not one of :data:`DOCUMENTS`.

    Example:
        >>> schema = json_schema()
        >>> schema["$schema"]
        'https://json-schema.org/draft/2020-12/schema'
        >>> sorted(schema["$defs"]["task"]["enum"])[:2]
        ['binary', 'multiclass']
        >>> json_schema("profile")["$ref"]
        '#/$defs/profile'
    """
    if document is not None and document not in DOCUMENTS:
        raise ValueError(f"unknown document {document!r}; expected one of {', '.join(DOCUMENTS)}")
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID if document is None else f"{SCHEMA_ID}:{document}",
        "title": "lossadvisor --json documents, schema_version 1"
        if document is None
        else f"lossadvisor {document} --json, schema_version 1",
    }
    if document is None:
        schema["description"] = (
            "recommend --json and explain --json carry schema_version; profile --json is the "
            "profile object alone. Keys may be added without bumping schema_version."
        )
        schema["anyOf"] = [_ref(name) for name in DOCUMENTS]
    else:
        schema["$ref"] = f"#/$defs/{document}"
    schema["$defs"] = _defs()
    return schema
