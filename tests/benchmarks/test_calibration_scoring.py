"""The calibration benchmarks score a loss as the advisor trains it: with the rules' parameters.

A stored reference table holds each loss's default run and, beside it, a variant trained with
the parameters the table's rules set (``reference_runs.py --add-variants``). A pick whose
parameters match a variant is scored by that variant, a pick with default parameters by the
default run, and regret is measured against the best of everything trained.
"""

from __future__ import annotations

import json

import pytest
from calibration_scripts import load as _load


@pytest.fixture(scope="module")
def evaluate():
    return _load("evaluate")


@pytest.fixture(scope="module")
def search():
    return _load("evaluate_search")


def _cell(scores: list[float]) -> dict:
    return {"0.003": {"val": {"balanced_accuracy": scores}, "test": {"balanced_accuracy": scores}}}


def _record(name: str = "imbalanced") -> dict:
    """A binary table judged by balanced accuracy: focal's default run is poor, its run with
    the rules' alpha good, weighted BCE best of the defaults, the task default (bce) worst."""
    return {
        "name": name,
        "task": "binary",
        "primary_metric": "balanced_accuracy",
        "corruption": None,
        "fields": {},
        "runs": {
            "bce": _cell([0.60, 0.61, 0.60]),
            "bce_weighted": _cell([0.80, 0.79, 0.80]),
            "focal": _cell([0.62, 0.60, 0.61]),
        },
        "variants": {
            "focal": [{"params": {"alpha": 0.97}, "runs": _cell([0.78, 0.77, 0.78])}],
        },
        "summary": {"losses": {}},
        "shortlist": {
            "candidates": [
                {"loss": "focal", "params": {"gamma": 2.0, "alpha": 0.97}},
                {"loss": "bce_weighted", "params": {"pos_weight": None}},
                {"loss": "bce", "params": {}},
            ],
            "excluded": [],
        },
    }


def test_a_pick_with_the_rules_params_is_scored_by_its_variant(evaluate, search, tmp_path):
    record = _record()
    (tmp_path / "imbalanced.json").write_text(json.dumps(record))
    runs = evaluate.scored_runs(record)
    assert evaluate.match(runs, "focal", {"gamma": 2.0, "alpha": 0.97}).mean == pytest.approx(
        0.7767, abs=1e-4
    )
    # the stored rule value has 4 digits: a pick's 0.96998 is the same alpha
    assert evaluate.match(runs, "focal", {"alpha": 0.96998}).params == {"alpha": 0.97}
    table = evaluate.Table(record)
    assert table.regret_of("focal") == pytest.approx(1 - 0.7767 / 0.7967, abs=1e-3)
    assert table.best == "bce_weighted"
    fp = _load("fit_priors")
    (fitted,) = fp.load_tables(tmp_path)
    assert fitted.regrets["focal"] == pytest.approx(table.regret_of("focal"))
    assert fitted.seeds["focal"] == [0.78, 0.77, 0.78]
    pick = {"loss": "focal", "params": {"gamma": 2.0, "alpha": 0.97}, "shortlist": []}
    scored = search.pick_regret(fitted, pick, tmp_path)
    assert scored.regret == pytest.approx(table.regret_of("focal"))
    assert scored.run.label == "focal(alpha=0.97)" and not scored.unmatched
    assert scored.versus_default == "win"  # 0.777 against bce's 0.603, paired over 3 seeds


def test_a_pick_with_default_params_is_scored_by_the_default_run(evaluate, search, tmp_path):
    record = _record()
    (tmp_path / "imbalanced.json").write_text(json.dumps(record))
    runs = evaluate.scored_runs(record)
    assert evaluate.match(runs, "focal", {"gamma": 2.0, "alpha": None}).params == {}
    assert evaluate.match(runs, "focal", {}).mean == pytest.approx(0.61)
    (table,) = _load("fit_priors").load_tables(tmp_path)
    scored = search.pick_regret(table, {"loss": "focal", "params": {"alpha": None}}, tmp_path)
    assert scored.regret == pytest.approx(1 - 0.61 / 0.7967, abs=1e-3)
    assert scored.run.params == {} and not scored.unmatched
    # params the exploration tuned, which no reference run has: the rules' run, and counted
    tuned = search.pick_regret(table, {"loss": "focal", "params": {"alpha": 0.5}}, tmp_path)
    assert tuned.unmatched and tuned.run.params == {"alpha": 0.97}
    # a pick cached before picks kept their params: taken as trained with the rules' params
    cached = search.pick_regret(table, {"loss": "focal"}, tmp_path)
    assert cached.run.params == {"alpha": 0.97} and not cached.unmatched


def test_best_is_the_best_of_every_run_variants_included(evaluate):
    record = _record()
    record["variants"]["focal"][0]["runs"] = _cell([0.90, 0.91, 0.90])
    table = evaluate.Table(record)
    assert table.best == "focal(alpha=0.97)" and table.regret_of("focal") == 0.0
    assert table.regret_of("bce_weighted") == pytest.approx(1 - 0.7967 / 0.9033, abs=1e-3)
    # without the rules setting alpha, focal is its default run, still judged against the
    # variant trained on the table
    record["shortlist"]["candidates"][0]["params"] = {"gamma": 2.0, "alpha": None}
    table = evaluate.Table(record)
    assert table.regret_of("focal") == pytest.approx(1 - 0.61 / 0.9033, abs=1e-3)


def test_variants_to_train_are_the_rules_non_default_params_not_yet_stored():
    reference = _load("reference_runs")
    record = _record()
    record["shortlist"]["candidates"].append({"loss": "hinge", "params": {}})
    record["runs"]["hinge"] = _cell([0.5, 0.5, 0.5])
    assert reference.rule_variants(record) == {"focal": [{"alpha": 0.97}]}
    assert reference.missing_variants(record) == []  # stored already
    record["shortlist"]["candidates"][0]["params"]["alpha"] = 0.9
    assert reference.missing_variants(record) == [("focal", {"alpha": 0.9})]


def test_the_exhaustive_pick_follows_validation_not_test(search, tmp_path):
    """The exhaustive search picks the default run with the best validation mean; its regret is
    that run's test regret, even where test crowns another loss."""
    record = _record()
    # bce leads on validation at one of its rates, but trails on test at that rate
    record["runs"]["bce"]["0.01"] = {
        "val": {"balanced_accuracy": [0.95, 0.94, 0.96]},
        "test": {"balanced_accuracy": [0.70, 0.69, 0.71]},
    }
    (tmp_path / "imbalanced.json").write_text(json.dumps(record))
    (table,) = _load("fit_priors").load_tables(tmp_path)
    scored = search.exhaustive_regret(table, tmp_path)
    assert scored.run.loss == "bce" and scored.run.lr == "0.01"
    assert scored.regret == pytest.approx(1 - 0.70 / 0.7967, abs=1e-3)
    # the variant (focal with the rules' alpha) is not the exhaustive search's to pick
    record["variants"]["focal"][0]["runs"] = _cell([0.99, 0.99, 0.99])
    (tmp_path / "imbalanced.json").write_text(json.dumps(record))
    search._record_cached.cache_clear()
    (table,) = _load("fit_priors").load_tables(tmp_path)
    assert search.exhaustive_regret(table, tmp_path).run.loss == "bce"


def test_a_huber_delta_is_a_variant_only_where_it_differs_from_the_default_s_recipe(evaluate):
    """Huber's default delta is 1.345 x the target's robust scale: the rules' delta equal to it
    (to the 4 digits stored) is the default run; a delta from the noise's scale is a variant."""
    record = {"fields": {"target.robust_scale": 16.75338}}
    derived = evaluate.derived_defaults(record)
    assert derived == {("huber", "delta"): pytest.approx(22.5333, rel=1e-5)}
    assert evaluate.non_default("huber", {"delta": 22.53}, derived) == {}
    assert evaluate.non_default("huber", {"delta": 2.66}, derived) == {"delta": 2.66}
    assert evaluate.derived_defaults({"fields": {"target.robust_scale": None}}) == {}


def test_a_pos_weight_the_pick_recorded_is_the_default_run(evaluate, search, tmp_path):
    """A weighted BCE pick records the pos_weight it computed from its rows: the same recipe as
    the default run's, so it is scored by that run and not counted as an untrained variant."""
    assert evaluate.non_default("bce_weighted", {"pos_weight": 3.217}) == {}
    record = _record()
    (tmp_path / "imbalanced.json").write_text(json.dumps(record))
    (table,) = _load("fit_priors").load_tables(tmp_path)
    pick = {"loss": "bce_weighted", "params": {"pos_weight": 3.217}}
    scored = search.pick_regret(table, pick, tmp_path)
    assert not scored.unmatched and scored.run.params == {}
    assert scored.regret == 0.0  # weighted BCE is the best run of this table
