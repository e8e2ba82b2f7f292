"""Records: JSON-safe to_dict (NaN/inf -> null), read-only mappings, the SPEC's JSON shape."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest

from advisor._recommend import recommend
from advisor.records import (
    Advice,
    Candidate,
    CandidateResult,
    Comparison,
    DataProfile,
    EffectKind,
    Factor,
    FeatureColumn,
    FeatureKind,
    FeatureSummary,
    ImbalanceLevel,
    ImbalanceStats,
    InputInfo,
    LabelEncoding,
    LossEffect,
    LossId,
    MetricId,
    Objective,
    ObjectiveKind,
    OutlierStats,
    Reason,
    Recommendation,
    RuleFiring,
    SearchResult,
    Shortlist,
    TargetStats,
    Task,
    TaskHypothesis,
    TrialOutcome,
)

NAN, INF = float("nan"), float("inf")

REASON = Reason(rule="outliers-robust", factor=Factor.OUTLIERS, text="10% outliers",
                effect=LossEffect(kind=EffectKind.RAISE, loss=LossId.HUBER, value=1.5),
                evidence={"rate": 0.1, "bad": NAN, "nested": {"x": -INF}})
CANDIDATE = Candidate(loss=LossId.HUBER, params={"delta": 1.5}, score=3.0, reasons=(REASON,))
TARGET = TargetStats(n=10, n_unique=9, mean=1.0, std=NAN, skewness=INF, is_integer=False)
FEATURES = FeatureSummary(
    n_features=1, counts={"numeric": 1}, missing_rate=0.0,
    columns=(FeatureColumn(name="a", kind=FeatureKind.NUMERIC, missing_rate=0.0, n_unique=10),),
)
PROFILE = DataProfile(
    target=("y",), target_detection="named", task=Task.REGRESSION,
    label_encoding=LabelEncoding.CONTINUOUS, confidence=0.9, n_rows=10, n_columns=2,
    target_stats=TARGET, outliers=OutlierStats(rate=0.1, residual_rate=None), features=FEATURES,
    alternatives=(TaskHypothesis(task=Task.ORDINAL, label_encoding=LabelEncoding.INTEGER_INDEX,
                                 confidence=0.2, evidence="few values"),),
    evidence={"numbers": np.float64(2.5), "counts": np.int64(3)},
)
IMBALANCE = ImbalanceStats(ratio=4.0, minority_share=0.2, level=ImbalanceLevel.STRONG,
                           class_counts={"a": 8, "b": 2}, effective_numbers={"a": 7.5, "b": 2.0})
SHORTLIST = Shortlist(
    task=Task.REGRESSION, objective=Objective(), metric=MetricId.MAE, metric_reason="outliers",
    candidates=(CANDIDATE,),
    excluded=(Candidate(loss=LossId.MSE, params={}, score=-1.0),),
    trace=(RuleFiring(rule="r", factor=Factor.OUTLIERS, fired=True, effect="boost", detail="d"),),
    settings={"repeats": 3},
)
RESULT = CandidateResult(loss=LossId.HUBER, params={"delta": 1.5, "lr": 0.003}, mean=NAN,
                         std=0.0, n=0, scores=(NAN, 1.0))
SEARCH = SearchResult(
    metric=MetricId.MAE, direction="minimize", budget_s=8.0, elapsed_s=3.0, trials=1,
    storage="in-memory", study_name="s", results=(RESULT,),
    comparison=Comparison(best=LossId.HUBER, other=LossId.MSE, difference=INF,
                          difference_std=NAN, p_value=1.0, significant=False, statement="tie"),
    outcomes=(TrialOutcome(number=0, loss=LossId.HUBER, params={}, score=None,
                           state="failed", steps=1, seed=0),),
)
RECOMMENDATION = Recommendation(loss=LossId.HUBER, params={"delta": 1.5}, metric=MetricId.MAE,
                                confidence=0.5, confidence_label="low", verdict="tie",
                                rationale=("why",), pytorch="criterion = ...")
ADVICE = Advice(input=InputInfo(path=None, target=("y",), rows=10, columns=2), profile=PROFILE,
                shortlist=SHORTLIST, search=SEARCH, recommendation=RECOMMENDATION)

RECORDS = {
    "objective": Objective(kind=ObjectiveKind.QUANTILE, quantile=0.9),
    "target_stats": TARGET,
    "outliers": OutlierStats(),
    "imbalance": IMBALANCE,
    "features": FEATURES,
    "profile": PROFILE,
    "profile_classes": dataclasses.replace(PROFILE, task=Task.BINARY, classes=("a", "b"),
                                           imbalance=IMBALANCE),
    "reason": REASON,
    "candidate": CANDIDATE,
    "rule_firing": SHORTLIST.trace[0],
    "shortlist": SHORTLIST,
    "trial_outcome": SEARCH.outcomes[0],
    "candidate_result": RESULT,
    "comparison": SEARCH.comparison,
    "search": SEARCH,
    "recommendation": RECOMMENDATION,
    "input": ADVICE.input,
    "advice": ADVICE,
}


def _walk(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)
    else:
        yield value


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_to_dict_round_trips_through_strict_json(name: str) -> None:
    data = RECORDS[name].to_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text) == data
    for leaf in _walk(data):
        assert leaf is None or isinstance(leaf, (str, int, float, bool))
        assert not (isinstance(leaf, float) and not math.isfinite(leaf))


def test_non_finite_numbers_become_null() -> None:
    assert TARGET.to_dict()["std"] is None and TARGET.to_dict()["skewness"] is None
    assert REASON.to_dict()["evidence"] == {"rate": 0.1, "bad": None, "nested": {"x": None}}
    assert RESULT.to_dict()["mean"] is None and RESULT.to_dict()["scores"] == [None, 1.0]
    comparison = SEARCH.comparison.to_dict()
    assert comparison["difference"] is None and comparison["difference_std"] is None


def test_numpy_scalars_become_plain_numbers() -> None:
    evidence = PROFILE.to_dict()["evidence"]
    assert evidence == {"numbers": 2.5, "counts": 3}
    assert type(evidence["numbers"]) is float
    # numpy integers come out as floats (3.0): equal in JSON terms; profiles store plain ints


@pytest.mark.parametrize("record,field", [
    (REASON, "evidence"),
    (CANDIDATE, "params"),
    (IMBALANCE, "class_counts"),
    (IMBALANCE, "effective_numbers"),
    (PROFILE, "evidence"),
    (SHORTLIST, "settings"),
    (RESULT, "params"),
    (RECOMMENDATION, "params"),
    (FEATURES, "counts"),
])
def test_mapping_fields_are_read_only(record, field: str) -> None:
    mapping = getattr(record, field)
    with pytest.raises(TypeError):
        mapping["new"] = 1  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(record, field, {})


def test_construction_copies_the_callers_dict() -> None:
    params = {"delta": 1.0}
    candidate = Candidate(loss=LossId.HUBER, params=params, score=1.0)
    params["delta"] = 99.0
    assert candidate.params["delta"] == 1.0


def test_lists_become_tuples() -> None:
    reason = Reason(rule="r", factor=Factor.OUTLIERS, text="t",
                    effect=LossEffect(kind=EffectKind.NOTE, loss=LossId.MAE))
    candidate = Candidate(loss=LossId.MAE, params={}, score=1.0, reasons=[reason])
    assert candidate.reasons == (reason,)


def test_advice_has_the_spec_top_level_keys() -> None:
    data = ADVICE.to_dict()
    spec = {"schema_version", "input", "profile", "shortlist", "search", "recommendation"}
    assert spec <= set(data)
    assert set(data) - spec == {"objective", "excluded"}
    assert data["schema_version"] == 1
    assert set(data["input"]) == {"path", "target", "rows", "columns"}
    assert isinstance(data["shortlist"], list)
    assert set(data["shortlist"][0]) >= {"loss", "params", "score", "reasons"}
    assert set(data["shortlist"][0]["reasons"][0]) >= {"rule", "factor", "text", "evidence"}
    assert set(data["search"]) >= {"metric", "direction", "budget_s", "elapsed_s", "trials",
                                   "storage", "results"}
    assert "outcomes" not in data["search"]
    assert set(data["search"]["results"][0]) >= {"loss", "params", "mean", "std", "n"}
    assert set(data["recommendation"]) >= {"loss", "params", "metric", "confidence",
                                           "rationale", "pytorch"}
    assert set(data["profile"]) >= {"task", "label_encoding", "target_stats", "outliers",
                                    "features", "warnings", "evidence"}
    assert dataclasses.replace(ADVICE, search=None).to_dict()["search"] is None


def test_profile_drops_classes_and_imbalance_when_absent() -> None:
    data = PROFILE.to_dict()
    assert "classes" not in data and "imbalance" not in data
    with_classes = RECORDS["profile_classes"].to_dict()
    assert with_classes["classes"] == ["a", "b"]
    assert with_classes["imbalance"]["level"] == "strong"
    assert with_classes["imbalance"]["class_counts"] == {"a": 8, "b": 2}


def test_objective_text() -> None:
    assert str(Objective()) == "auto"
    assert Objective(kind=ObjectiveKind.QUANTILE, quantile=0.9).to_dict() == {
        "kind": "quantile", "quantile": 0.9, "text": "quantile:0.9"}


def test_real_advice_is_json_safe() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=120), "c": rng.choice(["x", "y"], 120),
                          "y": rng.choice(["p", "q", "r"], 120, p=[0.7, 0.2, 0.1])})
    data = recommend(frame, target="y", search=False).to_dict()
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert data["profile"]["classes"] == ["p", "q", "r"]
    assert data["search"] is None


# --------------------------------------------------------------------------- typed reason effects

EFFECT_TEXTS = {
    "set q=0.9": LossEffect(kind=EffectKind.SET, loss=LossId.QUANTILE, param="q", value=0.9),
    "set delta=3.988": LossEffect(kind=EffectKind.SET, loss=LossId.QUANTILE, param="delta",
                                  value=3.988),
    "raise 2": LossEffect(kind=EffectKind.RAISE, loss=LossId.QUANTILE, value=2.0),
    "lower 0.75": LossEffect(kind=EffectKind.LOWER, loss=LossId.QUANTILE, value=0.75),
    "include 3": LossEffect(kind=EffectKind.INCLUDE, loss=LossId.QUANTILE, value=3.0),
    "exclude": LossEffect(kind=EffectKind.EXCLUDE, loss=LossId.QUANTILE),
    "note": LossEffect(kind=EffectKind.NOTE, loss=LossId.QUANTILE),
}


@pytest.mark.parametrize("text", sorted(EFFECT_TEXTS))
def test_loss_effect_renders_and_parses_the_json_text(text: str) -> None:
    effect = EFFECT_TEXTS[text]
    assert str(effect) == text
    assert LossEffect.parse(text, loss="quantile") == effect


def test_reason_json_shows_the_effect_text_and_round_trips() -> None:
    data = REASON.to_dict()
    assert data["effect"] == "raise 1.5"
    assert list(data) == ["rule", "factor", "text", "effect", "evidence"]
    assert Reason.from_dict(json.loads(json.dumps(data)), loss="huber").effect == REASON.effect
    assert Candidate.from_dict(json.loads(json.dumps(CANDIDATE.to_dict()))).to_dict() == (
        CANDIDATE.to_dict()
    )


def test_candidate_from_dict_rebuilds_the_typed_record() -> None:
    reason = dataclasses.replace(REASON, evidence={"rate": 0.1})
    candidate = dataclasses.replace(CANDIDATE, reasons=(reason,))
    assert Candidate.from_dict(candidate.to_dict()) == candidate


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": EffectKind.SET}, "names a parameter only for 'set'"),
        ({"kind": EffectKind.RAISE, "param": "q", "value": 1.0}, "only for 'set'"),
        ({"kind": EffectKind.METRIC}, "does not act on a loss"),
    ],
)
def test_loss_effect_rejects_inconsistent_fields(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LossEffect(loss=LossId.MAE, **kwargs)


def test_loss_effect_parse_rejects_unknown_words() -> None:
    with pytest.raises(ValueError, match="boost"):
        LossEffect.parse("boost 2", loss="mae")
