"""Every bundled rule fires on a profile that should fire it and is silent on one that should not.

The table below is the contract of ``rules/selection.yaml`` (scikit-learn's EXAMPLES-dict habit):
a new rule without a row fails ``test_table_covers_every_rule``. Thresholds are then tested just
below and just above, so a silently edited number in the YAML fails a test.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import pytest
from selection_profiles import make_profile

from advisor.records import DataProfile, Factor
from advisor.selection import load_rules, shortlist


class Case(NamedTuple):
    profile: DataProfile
    objective: str | None = None
    metric: str | None = None


def case(
    task: str = "regression", objective: str | None = None, metric: str | None = None, **measured
) -> Case:
    return Case(make_profile(task, **measured), objective, metric)


_FIRED: dict[str, dict[str, bool]] = {}


def fired(c: Case) -> dict[str, bool]:
    """rule id -> fired, from the shortlist trace (memoised: each case is shortlisted once)."""
    key = repr(c)
    if key not in _FIRED:
        trace = shortlist(c.profile, objective=c.objective, metric=c.metric).trace
        _FIRED[key] = {line.rule: line.fired for line in trace}
    return _FIRED[key]


REG = case("regression")
REG_NOISY = case("regression", outlier_rate=0.10)
COUNTS = case("regression_count")
PRICES = case("regression_positive", skewness=3.4)
BINARY = case("binary", ratio=1.05)
MULTI = case("multiclass", classes=4, ratio=1.2)
ORDINAL = case("ordinal", classes=5, ratio=1.8)
MULTILABEL = case("multilabel", classes=4, ratio=1.5)
SOFT_BINARY = case("binary", encoding="probability", ratio=4.0)  # a click-through rate
# medical spending, gifts: non-negative amounts, a mass of exact zeros and a long right tail
AMOUNTS = dict(min=0.0, median=30.0, mean=170.0, std=870.0, is_non_negative=True, skewness=27.0)
ZERO_AMOUNTS = case("regression", zero_fraction=0.23, **AMOUNTS)


def far_features(task: str, z: float) -> Case:
    """A profile whose farthest numeric feature value lies ``z`` SDs from its mean."""
    return Case(dataclasses.replace(make_profile(task), evidence={"feature_max_abs_z": z}))


# rule id -> (a case that fires it, a case that does not). ``None``: the rule has no condition.
RULE_CASES: dict[str, tuple[Case, Case | None]] = {
    # problem_type
    "regression-family": (PRICES, BINARY),
    "binary-family": (BINARY, MULTI),
    "multiclass-family": (MULTI, BINARY),
    "ordinal-family": (ORDINAL, MULTI),
    "multilabel-family": (MULTILABEL, BINARY),
    # output_distribution
    "counts-poisson": (COUNTS, REG),
    "counts-overdispersed": (case("regression_count", dispersion=5.0), COUNTS),
    "positive-skewed": (PRICES, REG),
    "positive-skewed-mse-lower": (PRICES, case("regression_positive", skewness=1.2)),
    "zero-inflated-amounts": (ZERO_AMOUNTS, case("regression", zero_fraction=0.01, **AMOUNTS)),
    "log-link-non-negative": (REG, ZERO_AMOUNTS),
    "extreme-features-log-link-lower": (far_features("regression_count", 30.0), COUNTS),
    "probabilistic-output": (
        case("regression", objective="calibrated-probabilities"),
        case("binary", objective="calibrated-probabilities"),
    ),
    # outliers
    "outliers-robust": (REG_NOISY, REG),
    # counts' long right tail is their nature, not label noise: no outlier rule fires on them
    "outliers-mse-lower": (
        case("ordinal", outlier_rate=0.08),
        case("regression_count", outlier_rate=0.08),
    ),
    "outliers-some": (case("regression", outlier_rate=0.03), REG_NOISY),
    "huber-delta-from-scale": (REG, REG_NOISY),
    "huber-delta-from-noise": (REG_NOISY, REG),
    "huber-delta-counts": (case("regression_count", mad=1.0), REG),
    # activation_pairing
    "sigmoid-bce-pairing": (BINARY, MULTILABEL),
    "softmax-ce-pairing": (ORDINAL, BINARY),
    "raw-score-hinge-pairing": (BINARY, MULTI),
    # label_encoding
    "plus-minus-one-targets": (case("binary", encoding="plus_minus_one"), BINARY),
    "probability-targets": (case("multiclass", encoding="probability"), MULTI),
    "binary-probability-targets": (SOFT_BINARY, case("multiclass", encoding="probability")),
    "binary-probability-hard-losses": (SOFT_BINARY, BINARY),
    "binary-probability-reweighting-lower": (SOFT_BINARY, case("binary", ratio=4.0)),
    "metric-soft-labels": (SOFT_BINARY, case("binary", ratio=4.0)),
    "one-hot-targets": (case("multiclass", encoding="one_hot_columns"), MULTI),
    "float-coded-classes": (case("multiclass", encoding="float_coded_integer"), MULTI),
    # imbalance
    "binary-imbalance-mild": (case("binary", ratio=2.0), case("binary", ratio=5.0)),
    "binary-imbalance": (case("binary", ratio=5.0), case("binary", ratio=2.0)),
    "focal-alpha-from-prior": (case("binary", ratio=2.0), BINARY),
    "multiclass-imbalance": (case("multiclass", ratio=4.0), case("ordinal", ratio=4.0)),
    "ordinal-imbalance-recall": (
        case("ordinal", ratio=4.0, metric="balanced_accuracy"),
        case("ordinal", ratio=4.0),
    ),
    "imbalance-extreme": (case("multilabel", ratio=25.0), case("multiclass", ratio=6.0)),
    "imbalance-smoothing-lower": (case("multiclass", ratio=6.0), MULTI),
    "multilabel-imbalance": (case("multilabel", ratio=6.0), MULTILABEL),
    # interpretability
    "units-readable": (PRICES, case("regression", objective="robust")),
    # convergence
    "mae-slow-convergence": (COUNTS, case("regression", objective="median")),
    # overfitting / automl
    "small-data-smoothing": (case("multiclass", n_rows=600), MULTI),
    "automl-shortlist": (REG, None),
    "small-data-repeats": (case("binary", n_rows=500), BINARY),
    # validation metric
    "metric-regression": (PRICES, COUNTS),
    "metric-counts": (COUNTS, PRICES),
    "metric-outliers": (
        case("regression", outlier_rate=0.2),
        case("regression_count", outlier_rate=0.2),
    ),
    "robust-validation": (
        case("regression", outlier_rate=0.1, residual_rate=0.1),
        case("regression_positive", outlier_rate=0.1, residual_rate=0.1),
    ),
    "metric-classes": (MULTI, ORDINAL),
    "metric-imbalanced": (case("binary", ratio=4.0), case("multilabel", ratio=4.0)),
    "metric-ordinal": (ORDINAL, MULTI),
    "metric-multilabel": (MULTILABEL, MULTI),
    # the user's objective
    "objective-large-errors": (
        case("ordinal", objective="penalize-large-errors"),
        case("binary", objective="penalize-large-errors"),
    ),
    "objective-large-errors-metric": (
        case("regression_count", objective="penalize-large-errors"),
        case("ordinal", objective="penalize-large-errors"),
    ),
    "objective-robust": (case("regression", objective="robust"), REG),
    "objective-robust-lower": (
        case("binary", objective="robust"),
        case("regression", objective="median"),
    ),
    "objective-robust-metric": (
        case("regression_positive", objective="median"),
        case("ordinal", objective="robust"),
    ),
    "objective-median": (
        case("ordinal", objective="median"),
        case("regression", objective="robust"),
    ),
    "objective-median-lower": (case("regression", objective="median"), REG),
    "objective-quantile": (
        case("regression_count", objective="quantile:0.9"),
        case("ordinal", objective="quantile:0.9"),
    ),
    "objective-quantile-level": (
        case("regression_count", objective="quantile:0.1"),
        # the pinball loss is not for ordinal targets: there is no q to set
        case("ordinal", objective="quantile:0.1"),
    ),
    "objective-quantile-metric": (
        case("regression", objective="quantile:0.5"),
        case("multiclass", objective="quantile:0.5"),
    ),
    "objective-calibrated": (
        case("multilabel", objective="calibrated-probabilities"),
        case("regression", objective="calibrated-probabilities"),
    ),
    "objective-calibrated-lower": (case("binary", objective="calibrated-probabilities"), BINARY),
    "objective-calibrated-metric": (
        case("multiclass", objective="calibrated-probabilities"),
        case("multilabel", objective="calibrated-probabilities"),
    ),
    "objective-margin": (
        case("multiclass", objective="margin"),
        case("ordinal", objective="margin"),
    ),
    "objective-minority-recall": (
        case("binary", objective="minority-recall"),
        case("multiclass", objective="minority-recall"),
    ),
    "objective-minority-recall-multiclass": (
        case("multiclass", objective="minority-recall"),
        case("binary", objective="minority-recall"),
    ),
    "objective-minority-recall-multilabel": (
        case("multilabel", objective="minority-recall"),
        case("multiclass", objective="minority-recall"),
    ),
    # the metric the user is judged by
    "metric-given-squared-error": (
        case("regression_count", metric="rmse"),
        case("regression_count", metric="mae"),
    ),
    "metric-given-absolute-error": (
        case("regression", metric="median_ae"),
        case("ordinal", classes=5, metric="mae"),
    ),
    "metric-given-deviance": (
        case("regression_positive", metric="gamma_deviance"),
        case("regression_positive", metric="rmse"),
    ),
    "metric-given-accuracy": (
        case("binary", ratio=2.0, metric="accuracy"),
        case("binary", ratio=2.0, metric="balanced_accuracy"),
    ),
    "metric-given-probabilities": (
        case("multilabel", classes=3, metric="log_loss"),
        case("multilabel", classes=3),
    ),
    "objective-minority-recall-metric": (
        case("multiclass", objective="minority-recall"),
        case("multilabel", objective="minority-recall"),
    ),
}


def test_table_covers_every_rule():
    # A rule added to rules/selection.yaml without a firing and a silent fixture fails here.
    assert set(RULE_CASES) == {rule.id for rule in load_rules()}


def test_every_factor_is_encoded():
    factors = {rule.factor for rule in load_rules()}
    assert factors == set(Factor), f"no rule encodes {sorted(set(Factor) - factors)}"
    assert len(Factor) == 12


@pytest.mark.parametrize("rule_id", sorted(RULE_CASES))
def test_rule_fires(rule_id):
    firing, _ = RULE_CASES[rule_id]
    assert fired(firing)[rule_id] is True


@pytest.mark.parametrize("rule_id", sorted(r for r, (_, silent) in RULE_CASES.items() if silent))
def test_rule_stays_silent(rule_id):
    _, silent = RULE_CASES[rule_id]
    assert fired(silent)[rule_id] is False


def test_unconditional_rule_fires_for_every_task():
    # automl-shortlist has no condition: it must hold for every profile in the table.
    assert not next(r for r in load_rules() if r.id == "automl-shortlist").when
    for firing, silent in RULE_CASES.values():
        for c in (firing, silent):
            if c is not None:
                assert fired(c)["automl-shortlist"] is True


def test_silent_rule_trace_names_the_failing_condition():
    line = next(f for f in shortlist(REG.profile).trace if f.rule == "outliers-robust")
    assert not line.fired
    assert line.detail == "outliers.rate gt 0.05 is false (outliers.rate = 0)"


def test_fired_rule_trace_quotes_the_evidence():
    hand = load_rules(calibrated=False)  # the weights as written; calibration may move them
    trace = shortlist(REG_NOISY.profile, rules=hand).trace
    line = next(f for f in trace if f.rule == "outliers-robust")
    assert line.fired
    assert "outlier rate 10.0%" in line.detail
    assert line.effect == "raise huber +2.5, mae +2, log_cosh +1"


# --------------------------------------------------------------------------- thresholds

# (rule id, task, objective, measurement keyword, value, expected to fire)
THRESHOLDS = [
    # outliers.rate > 0.05
    *[
        ("outliers-robust", "regression", None, "outlier_rate", v, f)
        for v, f in [(0.049, False), (0.05, False), (0.051, True)]
    ],
    *[
        ("outliers-mse-lower", "regression_positive", None, "outlier_rate", v, f)
        for v, f in [(0.049, False), (0.051, True)]
    ],
    *[
        ("metric-outliers", "regression_positive", None, "outlier_rate", v, f)
        for v, f in [(0.049, False), (0.051, True)]
    ],
    # 0.01 <= outliers.rate <= 0.05
    *[
        ("outliers-some", "regression", None, "outlier_rate", v, f)
        for v, f in [(0.009, False), (0.011, True), (0.049, True), (0.05, True), (0.051, False)]
    ],
    # the robust-fit residual rate counts as an outlier rate too
    *[
        ("outliers-robust", "regression", None, "residual_rate", v, f)
        for v, f in [(0.049, False), (0.051, True)]
    ],
    # outliers.residual_rate > 0.05: validation without the labels a robust fit flags
    *[
        ("robust-validation", "regression", None, "residual_rate", v, f)
        for v, f in [(0.049, False), (0.05, False), (0.051, True)]
    ],
    # 1.5 <= imbalance.ratio < 3 (the 'mild' band of ImbalanceLevel)
    *[
        ("binary-imbalance-mild", "binary", None, "ratio", v, f)
        for v, f in [
            (1.49, False),
            (1.5, True),
            (1.51, True),
            (2.99, True),
            (3.0, False),
            (3.01, False),
        ]
    ],
    *[
        ("focal-alpha-from-prior", "binary", None, "ratio", v, f)
        for v, f in [(1.49, False), (1.5, True), (1.51, True)]
    ],
    # imbalance.ratio >= 3 (the 'strong' band starts at 3)
    *[
        ("binary-imbalance", "binary", None, "ratio", v, f)
        for v, f in [(2.99, False), (3.0, True), (3.01, True)]
    ],
    *[
        ("multiclass-imbalance", "multiclass", None, "ratio", v, f)
        for v, f in [(2.99, False), (3.0, True), (3.01, True)]
    ],
    *[
        ("imbalance-smoothing-lower", "multiclass", None, "ratio", v, f)
        for v, f in [(2.99, False), (3.01, True)]
    ],
    *[
        ("multilabel-imbalance", "multilabel", None, "ratio", v, f)
        for v, f in [(2.99, False), (3.01, True)]
    ],
    *[
        ("metric-imbalanced", "binary", None, "ratio", v, f)
        for v, f in [(2.99, False), (3.0, True), (3.01, True)]
    ],
    # imbalance.ratio >= 10 (extreme)
    *[
        ("imbalance-extreme", "binary", None, "ratio", v, f)
        for v, f in [(9.99, False), (10.0, True), (10.01, True)]
    ],
    # target.dispersion > 2
    *[
        ("counts-overdispersed", "regression_count", None, "dispersion", v, f)
        for v, f in [(1.99, False), (2.0, False), (2.01, True)]
    ],
    # target.skewness > 2
    *[
        ("positive-skewed-mse-lower", "regression_positive", None, "skewness", v, f)
        for v, f in [(1.99, False), (2.01, True)]
    ],
    # a mass at zero: the long tail is the amounts, not label errors (judged as usual)
    *[
        ("metric-outliers", "regression", None, "zero_fraction", v, f)
        for v, f in [(0.049, True), (0.05, False)]
    ],
    *[
        ("robust-validation", "regression", None, "zero_fraction", v, f)
        for v, f in [(0.049, True), (0.05, False)]
    ],
    # target.zero_fraction >= 0.05 and target.skewness > 1 on non-negative amounts
    *[
        ("zero-inflated-amounts", "regression", None, "zero_fraction", v, f)
        for v, f in [(0.049, False), (0.05, True), (0.051, True)]
    ],
    # n_rows < 2000 / < 1000
    *[
        ("small-data-smoothing", "multiclass", None, "n_rows", v, f)
        for v, f in [(1999, True), (2000, False)]
    ],
    *[
        ("small-data-repeats", "regression", None, "n_rows", v, f)
        for v, f in [(999, True), (1000, False)]
    ],
    # Huber's delta: from the noise's scale past 5% gross errors, else the target's robust scale
    *[
        ("huber-delta-from-noise", "regression", None, "outlier_rate", v, f)
        for v, f in [(0.05, False), (0.051, True)]
    ],
    *[
        ("huber-delta-from-scale", "regression", None, "outlier_rate", v, f)
        for v, f in [(0.05, True), (0.051, False)]
    ],
    *[
        ("huber-delta-from-scale", "regression", None, "mad", v, f)
        for v, f in [(0.0, False), (1e-6, True)]
    ],
    *[
        ("huber-delta-counts", "regression_count", None, "mad", v, f)
        for v, f in [(0.0, False), (1e-6, True)]
    ],
]


@pytest.mark.parametrize(
    ("rule_id", "task", "objective", "key", "value", "expected"),
    THRESHOLDS,
    ids=[f"{r}-{k}={v}" for r, _, _, k, v, _ in THRESHOLDS],
)
def test_threshold(rule_id, task, objective, key, value, expected):
    extra = {"std": 0.0} if key == "mad" else {}  # robust scale falls back to std when MAD is 0
    if key == "zero_fraction":
        extra = dict(AMOUNTS, outlier_rate=0.1, residual_rate=0.1)
    c = case(task, objective=objective, **{key: value}, **extra)
    assert fired(c)[rule_id] is expected


@pytest.mark.parametrize("ratio", [1.49, 1.5, 2.99, 3.0, 9.99, 10.0])
def test_imbalance_rules_agree_with_the_profile_level_bands(ratio):
    # The profile reports a level (balanced < 1.5 <= mild < 3 <= strong < 10 <= extreme); the
    # binary rules must switch at the same ratios, or a 75/25 target is 'strong' in the profile
    # and 'mild' in the shortlist.
    profile = make_profile("binary", ratio=ratio)
    trace = fired(Case(profile))
    level = profile.imbalance.level.value
    assert trace["binary-imbalance-mild"] is (level == "mild")
    assert trace["binary-imbalance"] is (level in ("strong", "extreme"))
    assert trace["imbalance-extreme"] is (level == "extreme")


@pytest.mark.parametrize("ratio, expected", [(1.49, False), (1.5, True), (1.51, True)])
def test_metric_given_accuracy_threshold(ratio, expected):
    c = case("binary", metric="accuracy", ratio=ratio)
    assert fired(c)["metric-given-accuracy"] is expected


def test_the_metric_judged_by_reorders_an_imbalanced_binary_shortlist():
    # 4:1 classes: judged by balanced accuracy the weighted loss leads; judged by accuracy,
    # which a threshold moved towards the minority costs, plain BCE leads.
    profile = make_profile("binary", ratio=4.0)
    recall = shortlist(profile, metric="balanced_accuracy")
    accuracy = shortlist(profile, metric="accuracy")
    assert recall.losses[0].value == "bce_weighted"
    assert accuracy.losses[0].value == "bce"
    assert accuracy.metric.value == "accuracy"
    assert accuracy.metric_reason == "chosen with --metric"


def test_no_metric_means_auto_and_no_metric_rule_fires():
    trace = {line.rule: line.fired for line in shortlist(make_profile("binary", ratio=4.0)).trace}
    assert not any(fired for rule, fired in trace.items() if rule.startswith("metric-given-"))


@pytest.mark.parametrize("skewness, expected", [(0.99, False), (1.01, True)])
def test_zero_inflated_amounts_need_a_right_skew(skewness, expected):
    c = case("regression", zero_fraction=0.3, **{**AMOUNTS, "skewness": skewness})
    assert fired(c)["zero-inflated-amounts"] is expected


def test_zero_inflated_amounts_shortlist_a_log_link_deviance():
    # a mass at zero plus a skewed positive part: Tweedie (1 < p < 2) is the deviance made for
    # it, and nothing but a rule puts it on a plain regression shortlist
    listed = shortlist(ZERO_AMOUNTS.profile, rules=load_rules(calibrated=False)).losses
    assert "tweedie" in {loss.value for loss in listed}


def test_log_link_losses_never_reach_a_target_with_negative_values():
    # the catalog lets poisson and tweedie apply to plain regression (for non-negative amounts);
    # with negative values their log link cannot fit the mean, even when a rule would name them
    for metric in (None, "poisson_deviance"):
        result = shortlist(REG.profile, metric=metric)
        named = {c.loss.value for c in (*result.candidates, *result.excluded)}
        assert not {"poisson", "tweedie"} & {loss.value for loss in result.losses}
        if metric:
            assert {"poisson", "tweedie"} <= named  # metric-given-deviance named them


@pytest.mark.parametrize("z, expected", [(15.0, False), (15.01, True)])
def test_extreme_features_threshold(z, expected):
    assert fired(far_features("regression_positive", z))["extreme-features-log-link-lower"] is (
        expected
    )


def test_extreme_features_take_the_log_link_off_the_top_of_a_count_shortlist():
    # a log-link head extrapolates to exp(large) on a feature value far beyond the bulk: the
    # count rules' Poisson lead gives way to the task's reference loss
    hand = load_rules(calibrated=False)
    assert shortlist(COUNTS.profile, rules=hand).losses[0].value == "poisson"
    far = far_features("regression_count", 40.0).profile
    assert shortlist(far, rules=hand).losses[0].value == "mse"
