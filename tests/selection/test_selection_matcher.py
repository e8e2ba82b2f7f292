"""The matcher: objectives, rationale rendering, determinism, metric choice, shortlist limits."""

from __future__ import annotations

import dataclasses
import math

import pytest
from selection_profiles import make_profile

from advisor.errors import RuleError, UsageError
from advisor.records import EffectKind, LossEffect, LossId, MetricId, Objective, ObjectiveKind
from advisor.selection import load_rules, parse_objective, parse_rules, render_why, shortlist
from advisor.selection._fields import FIELDS, profile_fields


def rules_from(*raw: dict, source: str = "test.yaml"):
    return parse_rules({"version": 1, "rules": list(raw)}, source=source)


def include(losses: dict, **extra) -> dict:
    return {
        "id": extra.pop("id", "inc"),
        "factor": "problem_type",
        "when": [],
        "effect": "include",
        "losses": losses,
        "why": "test",
        **extra,
    }


METRIC_RMSE = {
    "id": "m",
    "factor": "overfitting",
    "when": [],
    "effect": "metric",
    "metric": "rmse",
    "why": "rmse",
}


# --------------------------------------------------------------------------- parse_objective


@pytest.mark.parametrize("kind", [k for k in ObjectiveKind if k is not ObjectiveKind.QUANTILE])
def test_every_spec_objective_parses(kind):
    objective = parse_objective(kind.value)
    assert objective == Objective(kind=kind) and objective.quantile is None
    assert str(objective) == kind.value


@pytest.mark.parametrize("text", [None, ""])
def test_no_objective_means_auto(text):
    assert parse_objective(text) == Objective(kind=ObjectiveKind.AUTO)


@pytest.mark.parametrize(
    ("text", "q"), [("quantile:0.9", 0.9), ("quantile:0.05", 0.05), ("quantile:.5", 0.5)]
)
def test_quantile_objective(text, q):
    objective = parse_objective(text)
    assert objective.kind is ObjectiveKind.QUANTILE and objective.quantile == q
    assert parse_objective(objective) is objective  # an Objective passes through


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            "quantile:1.5",
            r"objective 'quantile:1.5': the quantile must lie strictly between 0 and 1",
        ),
        ("quantile:0", r"strictly between 0 and 1"),
        ("quantile:1", r"strictly between 0 and 1"),
        ("quantile:x", r"objective 'quantile:x' needs a number, e\.g\. quantile:0\.9"),
        ("quantile", r"objective 'quantile' needs a number"),
        ("fast", r"unknown objective 'fast'; expected one of auto, penalize-large-errors, robust"),
        ("Robust", r"unknown objective 'Robust'"),
        ("robust:1", r"objective 'robust' takes no argument, got 'robust:1'"),
    ],
)
def test_bad_objective(text, match):
    with pytest.raises(UsageError, match=match):
        parse_objective(text)


def test_bad_objective_through_shortlist():
    with pytest.raises(UsageError, match="unknown objective 'fast'"):
        shortlist(make_profile("regression"), objective="fast")


# --------------------------------------------------------------------------- render_why


@pytest.mark.parametrize(
    ("template", "fields", "expected"),
    [
        ("rate {outliers.rate:.1%} > 5%", {"outliers.rate": 0.084}, "rate 8.4% > 5%"),
        ("{n_rows} rows", {"n_rows": 812}, "812 rows"),
        ("ratio {imbalance.ratio:.2f}:1", {"imbalance.ratio": 49.5}, "ratio 49.50:1"),
        ("scale {target.robust_scale}", {"target.robust_scale": 1234.56789}, "scale 1235"),
        ("q = {objective.quantile:g}", {"objective.quantile": 0.9}, "q = 0.9"),
        ("missing {target.skewness:.2f}", {"target.skewness": None}, "missing n/a"),
        ("missing {target.skewness}", {"target.skewness": None}, "missing n/a"),
        ("unknown {no.such} stays", {}, "unknown {no.such} stays"),
        ("unknown {Upper} stays", {"Upper": 1}, "unknown {Upper} stays"),
        ("bad spec {task:.2f}", {"task": "binary"}, "bad spec binary"),
        ("flag {target.is_integer}", {"target.is_integer": True}, "flag True"),
        ("no placeholders", {"n_rows": 1}, "no placeholders"),
        ("{task}/{task}", {"task": "ordinal"}, "ordinal/ordinal"),
    ],
)
def test_render_why(template, fields, expected):
    assert render_why(template, fields) == expected


def test_render_why_evaluates_nothing():
    # Attribute access, indexing and calls are not placeholders: left as written.
    template = "{task.__class__} {task[0]} {__import__('os')}"
    assert render_why(template, {"task": "binary"}) == template


def test_every_bundled_why_renders_without_leftover_placeholders():
    profile = make_profile("binary", ratio=4.0)
    fields = profile_fields(profile, parse_objective("quantile:0.9"))
    for rule in load_rules():
        text = render_why(rule.why, fields)
        assert "{" not in text, (rule.id, text)


def test_profile_fields_fills_every_declared_field():
    fields = profile_fields(make_profile("multilabel", ratio=4.0), Objective())
    assert set(fields) == set(FIELDS)
    assert fields["imbalance.positive_rate"] is None  # binary only
    binary = profile_fields(make_profile("binary", class_counts={"0": 900, "1": 100}), Objective())
    assert binary["imbalance.positive_rate"] == pytest.approx(0.1)
    assert binary["imbalance.ratio"] == pytest.approx(9.0)


# --------------------------------------------------------------------------- determinism


@pytest.mark.parametrize(
    ("task", "objective", "measured"),
    [
        ("regression", None, {"outlier_rate": 0.08}),
        ("binary", "minority-recall", {"ratio": 12.0}),
        ("multiclass", None, {"ratio": 4.0, "n_rows": 900}),
    ],
)
def test_same_inputs_same_shortlist(task, objective, measured):
    first = shortlist(make_profile(task, **measured), objective=objective)
    second = shortlist(make_profile(task, **measured), objective=objective)
    assert first == second
    assert first.to_dict() == second.to_dict()


def test_ties_break_on_simplicity_then_id():
    profile = make_profile("regression")
    rules = rules_from(
        include({"log_cosh": 1.0, "mae": 1.0, "huber": 1.0, "mse": 1.0}), METRIC_RMSE
    )
    # mse simplicity 0; huber and mae 1 (then by id); log_cosh 2
    assert shortlist(profile, rules=rules).losses == (
        LossId.MSE,
        LossId.HUBER,
        LossId.MAE,
        LossId.LOG_COSH,
    )


def test_rule_order_does_not_change_the_ranking():
    profile = make_profile("regression", outlier_rate=0.1)
    rules = load_rules()
    metric_rules = [r for r in rules if r.effect.value == "metric"]
    others = [r for r in rules if r.effect.value != "metric"]
    # Scores add up, so reversing the non-metric rules keeps the ranking (metric order kept).
    reordered = tuple(reversed(others)) + tuple(metric_rules)
    assert shortlist(profile, rules=reordered).losses == shortlist(profile).losses


# --------------------------------------------------------------------------- metric


def test_metric_override():
    profile = make_profile("binary", ratio=5.0)
    assert shortlist(profile).metric is MetricId.BALANCED_ACCURACY
    result = shortlist(profile, metric="pr_auc")
    assert result.metric is MetricId.PR_AUC and result.metric_reason == "chosen with --metric"
    assert shortlist(profile, metric=MetricId.ROC_AUC).metric is MetricId.ROC_AUC


def test_unknown_metric():
    with pytest.raises(UsageError, match=r"unknown metric 'auc'; expected one of mae, rmse"):
        shortlist(make_profile("binary"), metric="auc")


def test_no_metric_rule():
    rules = rules_from(include({"mse": 1.0, "mae": 1.0}))
    with pytest.raises(RuleError, match=r"no rule chose a validation metric for task 'regression'"):
        shortlist(make_profile("regression"), rules=rules)
    # --metric fills the gap
    assert shortlist(make_profile("regression"), rules=rules, metric="mae").metric is MetricId.MAE


def test_the_last_metric_rule_that_fires_wins():
    profile = make_profile("regression")
    mae = {**METRIC_RMSE, "id": "m2", "metric": "mae", "why": "mae"}
    rules = rules_from(include({"mse": 1.0, "mae": 1.0}), METRIC_RMSE, mae)
    assert shortlist(profile, rules=rules).metric is MetricId.MAE
    assert shortlist(profile, rules=rules[:2]).metric is MetricId.RMSE


# --------------------------------------------------------------------------- exclusion


def test_every_loss_excluded():
    rules = load_rules() + rules_from(
        {
            "id": "nothing-left",
            "factor": "problem_type",
            "when": [],
            "effect": "exclude",
            "losses": ["bce", "bce_weighted", "focal", "hinge", "squared_hinge"],
            "why": "none",
        }
    )
    with pytest.raises(UsageError, match=r"every loss applicable to task 'binary' was excluded"):
        shortlist(make_profile("binary"), rules=rules)


def test_exclude_beats_include_whatever_the_order():
    exclude = {
        "id": "no-mse",
        "factor": "problem_type",
        "when": [],
        "effect": "exclude",
        "losses": ["mse"],
        "why": "no",
    }
    profile = make_profile("regression")
    for rules in (
        rules_from(exclude, include({"mse": 9, "mae": 1, "huber": 1}), METRIC_RMSE),
        rules_from(include({"mse": 9, "mae": 1, "huber": 1}), exclude, METRIC_RMSE),
    ):
        result = shortlist(profile, rules=rules)
        assert LossId.MSE not in result.losses
        assert LossId.MSE in {c.loss for c in result.excluded}


def test_losses_for_another_task_are_ignored():
    rules = rules_from(include({"bce": 5.0, "mse": 1.0, "mae": 1.0}), METRIC_RMSE)
    result = shortlist(make_profile("regression"), rules=rules)
    assert result.losses == (LossId.MSE, LossId.MAE)
    line = next(f for f in result.trace if f.rule == "inc")
    assert line.effect == "include bce (not for this task), mse +1, mae +1"


def test_raise_alone_does_not_shortlist_a_loss():
    rules = rules_from(
        include({"mse": 1.0, "mae": 1.0}),
        {**include({"gamma": 9.0}), "id": "r", "effect": "raise"},
        METRIC_RMSE,
    )
    result = shortlist(make_profile("regression_positive"), rules=rules)
    assert LossId.GAMMA not in result.losses


# --------------------------------------------------------------------------- shortlist size


SIX_LOSSES = {
    "mse": 6.0,
    "huber": 5.0,
    "mae": 4.0,
    "log_cosh": 3.0,
    "quantile": 2.0,
    "gaussian_nll": 1.0,
}


def configure(**settings) -> dict:
    return {
        "id": "size",
        "factor": "automl",
        "when": [],
        "effect": "configure",
        "settings": settings,
        "why": "size",
    }


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, 5),  # the default
        ({"max_candidates": 3}, 3),
        ({"max_candidates": 6}, 6),
        ({"max_candidates": 2}, 2),
        ({"max_candidates": 1}, 2),  # the SPEC's floor: a shortlist compares at least two
        ({"max_candidates": 0}, 2),
        ({"max_candidates": 9}, 6),  # and its ceiling
        ({"max_candidates": 3, "min_candidates": 5}, 3),  # min never exceeds max
    ],
)
def test_shortlist_size_stays_within_2_and_6(settings, expected):
    rules = rules_from(
        include(SIX_LOSSES), METRIC_RMSE, *([configure(**settings)] if settings else [])
    )
    result = shortlist(make_profile("regression"), rules=rules)
    assert len(result.candidates) == expected
    assert [c.loss.value for c in result.candidates] == list(SIX_LOSSES)[:expected]
    assert [c.loss.value for c in result.excluded] == list(SIX_LOSSES)[expected:]


@pytest.mark.parametrize(("min_candidates", "expected"), [(0, 2), (1, 2), (2, 2), (3, 3)])
def test_low_scores_are_dropped_down_to_the_minimum(min_candidates, expected):
    lower = {
        "id": "down",
        "factor": "convergence",
        "when": [],
        "effect": "lower",
        "losses": {"huber": 5.0, "mae": 5.0, "log_cosh": 5.0},
        "why": "down",
    }
    rules = rules_from(
        include({"mse": 1.0, "huber": 1.0, "mae": 1.0, "log_cosh": 1.0}),
        lower,
        METRIC_RMSE,
        configure(min_candidates=min_candidates),
    )
    result = shortlist(make_profile("regression"), rules=rules)
    # only mse has a positive score; the rest fill up to the minimum, best first
    assert len(result.candidates) == expected
    assert result.candidates[0].loss is LossId.MSE


def test_a_single_surviving_loss_is_returned_alone():
    exclude = {
        "id": "x",
        "factor": "problem_type",
        "when": [],
        "effect": "exclude",
        "losses": ["mae"],
        "why": "x",
    }
    rules = rules_from(include({"mse": 1.0, "mae": 1.0}), exclude, METRIC_RMSE)
    assert shortlist(make_profile("regression"), rules=rules).losses == (LossId.MSE,)


# --------------------------------------------------------------------------- parameters


def test_huber_delta_is_1_345_robust_scales():
    # no residual fit measured: the noise scale is the target's robust scale, 1.4826 x MAD
    profile = make_profile("regression", mad=2.0, std=3.5, outlier_rate=0.1)
    huber = next(c for c in shortlist(profile).candidates if c.loss is LossId.HUBER)
    assert huber.params["delta"] == pytest.approx(1.345 * 1.4826 * 2.0, rel=1e-3)
    setter = next(r for r in huber.reasons if r.rule == "huber-delta-from-noise")
    assert setter.effect == LossEffect(
        kind=EffectKind.SET, loss=LossId.HUBER, param="delta", value=3.988
    )
    assert setter.to_dict()["effect"] == "set delta=3.988"
    assert setter.evidence["target.noise_scale"] == pytest.approx(2.9652)


@pytest.mark.parametrize(
    ("measured", "noise"),
    [(0.5, 0.5), (10.0, 2.9652), (0.0, 0.29652), (1e-9, 0.29652)],
    ids=["measured", "at-most-the-target-s-scale", "exact-fit-floor", "near-exact-fit-floor"],
)
@pytest.mark.parametrize("task", ["regression", "regression_positive"])
def test_huber_delta_is_1_345_noise_scales(task, measured, noise):
    """The residual fit's scale, kept within 0.1-1 x the target's robust scale (2.9652)."""
    base = make_profile(task, mad=2.0, std=3.5, outlier_rate=0.1)
    profile = dataclasses.replace(base, evidence={"residual_fit_scale": measured})
    huber = next(c for c in shortlist(profile).candidates if c.loss is LossId.HUBER)
    assert huber.params["delta"] == pytest.approx(1.345 * noise, rel=1e-3)
    setter = next(r for r in huber.reasons if r.rule == "huber-delta-from-noise")
    assert setter.evidence["target.noise_scale"] == pytest.approx(noise, rel=1e-6)
    assert not any(r.rule == "huber-delta-from-scale" for r in huber.reasons)


def test_without_gross_errors_huber_s_delta_keeps_the_target_s_scale():
    """Below 5% outliers Huber is MSE on the bulk with the rare far error capped: the corpus
    found the noise-scale delta no better there (benchmarks/README.md)."""
    base = make_profile("regression", mad=2.0, std=3.5, outlier_rate=0.03)
    profile = dataclasses.replace(base, evidence={"residual_fit_scale": 0.5})
    huber = next(c for c in shortlist(profile).candidates if c.loss is LossId.HUBER)
    assert huber.params["delta"] == pytest.approx(1.345 * 2.9652, rel=1e-3)
    assert [r.rule for r in huber.reasons if r.effect.kind is EffectKind.SET] == [
        "huber-delta-from-scale"
    ]


def test_a_count_s_huber_delta_ignores_the_residual_fit():
    """A count's noise grows with its mean: the delta stays 1.345 x the target's robust scale
    however small the residual fit's spread."""
    base = make_profile("regression_count", mad=2.0, std=3.5, outlier_rate=0.1)
    profile = dataclasses.replace(base, evidence={"residual_fit_scale": 0.5})
    hand = load_rules(calibrated=False)  # fitted weights may drop huber from a count shortlist
    result = shortlist(profile, rules=hand)
    huber = next(c for c in result.candidates if c.loss is LossId.HUBER)
    assert huber.params["delta"] == pytest.approx(1.345 * 1.4826 * 2.0, rel=1e-3)
    assert [r.rule for r in huber.reasons if r.effect.kind is EffectKind.SET] == [
        "huber-delta-counts"
    ]
    noise_rule = next(f for f in result.trace if f.rule == "huber-delta-from-noise")
    assert not noise_rule.fired


def test_huber_delta_falls_back_to_std_when_mad_is_zero():
    profile = make_profile("regression_count", mad=0.0, std=1.1, zero_fraction=0.7)
    hand = load_rules(calibrated=False)  # fitted weights may drop huber from a count shortlist
    huber = next(c for c in shortlist(profile, rules=hand).candidates if c.loss is LossId.HUBER)
    assert huber.params["delta"] == pytest.approx(1.345 * 1.1, rel=1e-3)


def test_catalog_defaults_fill_the_rest():
    result = shortlist(make_profile("multiclass", ratio=8.0))
    params = {c.loss.value: dict(c.params) for c in result.candidates}
    assert params["ce_class_balanced"] == {"beta": 0.999}
    assert params["logit_adjusted"] == {"tau": 1.0}
    assert params["ce"] == {}
    # focal on several classes: alpha is not set by the binary prior rule -> catalog's None
    assert params["focal"] == {"gamma": 2.0, "alpha": None}


def test_a_param_without_a_measurement_keeps_the_default():
    profile = make_profile("regression", mad=None, std=None)
    result = shortlist(profile)
    huber = next(c for c in result.candidates if c.loss is LossId.HUBER)
    assert huber.params == {"delta": None}
    assert not any(f.fired for f in result.trace if f.rule.startswith("huber-delta-"))


def test_set_ignores_names_the_loss_does_not_have():
    setter = {
        "id": "s",
        "factor": "outliers",
        "when": [],
        "effect": "set",
        "params": {"huber": {"delta": 2.0, "not_a_param": 3.0}},
        "why": "s",
    }
    rules = rules_from(include({"huber": 1.0, "mse": 1.0}), setter, METRIC_RMSE)
    huber = next(
        c
        for c in shortlist(make_profile("regression"), rules=rules).candidates
        if c.loss is LossId.HUBER
    )
    assert dict(huber.params) == {"delta": 2.0}


def test_a_set_rule_for_a_loss_the_task_cannot_use_does_not_fire():
    # a binary table has a robust scale too, but a Huber delta means nothing to it
    trace = shortlist(make_profile("binary")).trace
    assert not any(f.fired for f in trace if f.rule.startswith("huber-delta-"))
    lone = {"id": "lone", "factor": "outliers", "when": [], "effect": "set", "why": "x"}
    lone["params"] = {"huber": {"delta": {"field": "target.robust_scale", "times": 1.345}}}
    rules = rules_from(include({"bce": 1.0}), lone, METRIC_RMSE)
    line = next(f for f in shortlist(make_profile("binary"), rules=rules).trace if f.rule == "lone")
    assert not line.fired
    assert line.detail == "huber is not for task binary: nothing to set"
    setter = {
        "id": "s",
        "factor": "outliers",
        "when": [],
        "effect": "set",
        "params": {"huber": {"delta": 2.0}, "bce_weighted": {"pos_weight": 3.0}},
        "why": "s",
    }
    rules = rules_from(include({"bce": 1.0, "bce_weighted": 1.0}), setter, METRIC_RMSE)
    result = shortlist(make_profile("binary"), rules=rules)
    line = next(f for f in result.trace if f.rule == "s")
    assert line.fired and line.effect == "set huber (not for this task), bce_weighted.pos_weight=3"
    setting = [r.effect.loss for c in result.candidates for r in c.reasons if r.rule == "s"]
    assert setting == [LossId.BCE_WEIGHTED]


def test_candidates_carry_reasons_with_factor_and_evidence():
    hand = load_rules(calibrated=False)  # the weights as written; calibration may move them
    result = shortlist(make_profile("multiclass", ratio=20.0), rules=hand)
    balanced = next(c for c in result.candidates if c.loss is LossId.CE_CLASS_BALANCED)
    rules = [r.rule for r in balanced.reasons]
    assert rules[0] == "softmax-ce-pairing"
    assert {"multiclass-imbalance", "imbalance-extreme"} <= set(rules)
    extreme = next(r for r in balanced.reasons if r.rule == "imbalance-extreme")
    assert extreme.factor.value == "imbalance" and str(extreme.effect) == "raise 1"
    assert extreme.evidence == {"imbalance.ratio": 20.0}
    assert extreme.text.startswith("class ratio 20.0:1 (>= 10, extreme)")
    assert balanced.score == pytest.approx(2.5 + 1.0)
    assert all(math.isfinite(c.score) for c in result.candidates)
    binary = shortlist(make_profile("binary", ratio=20.0), rules=hand)
    focal = next(c for c in binary.candidates if c.loss is LossId.FOCAL)
    assert "imbalance-extreme" not in [r.rule for r in focal.reasons]
    assert binary.candidates[0].loss is LossId.BCE_WEIGHTED


def test_trace_lists_every_rule_in_order():
    rules = load_rules()
    result = shortlist(make_profile("ordinal"))
    assert [f.rule for f in result.trace] == [r.id for r in rules]
    assert result.settings["max_candidates"] == 5
    small = shortlist(make_profile("ordinal", n_rows=300))
    assert small.settings["repeats"] == 5 and "repeats" not in result.settings
