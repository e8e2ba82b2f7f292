"""Fitted weights laid over the hand rules (advisor/selection/_calibration.py)."""

from __future__ import annotations

import pytest
import yaml
from selection_profiles import make_profile

from advisor._paths import rules_dir
from advisor.errors import RuleError
from advisor.losses import load_catalog
from advisor.records import LossId
from advisor.selection import load_rules, shortlist
from advisor.selection._calibration import apply_calibration
from advisor.selection._loader import RULE_FILES, _read_rule_file

LOSS_IDS = [str(loss) for loss in load_catalog()]


def _hand_rules():
    return tuple(rule for name in RULE_FILES for rule in _read_rule_file(rules_dir() / name))


def _document(**rules):
    return {"version": 1, "tables": 10, "commit": "abc1234", "rules": rules}


def _entry(losses, tables=4, favourite="mae", right=0.75, gain=0.02):
    return {
        "losses": losses,
        "hand": {"mse": 3.0, "huber": 2.5, "log_cosh": 2.0, "mae": 2.0},
        "provenance": {
            "tables": tables,
            "favourite": favourite,
            "right": right,
            "median_gain": gain,
        },
    }


def _calibrated(losses):
    """The hand rules with ``regression-family``'s weights fitted to ``losses``."""
    document = _document(**{"regression-family": _entry(losses)})
    return apply_calibration(_hand_rules(), document, source="calibration.yaml", loss_ids=LOSS_IDS)


def test_fitted_weights_replace_the_hand_weights_and_carry_their_provenance():
    fitted = _calibrated({"mse": 2.0, "mae": 3.0})
    rule = next(r for r in fitted if r.id == "regression-family")
    assert dict(rule.losses) == {LossId.MSE: 2.0, LossId.MAE: 3.0}
    assert rule.provenance.tables == 4 and rule.provenance.corpus == 10
    assert rule.provenance.favourite is LossId.MAE
    assert rule.provenance.hand[LossId.MSE] == 3.0
    others = {r.id: r for r in _hand_rules()}
    assert all(r == others[r.id] for r in fitted if r.id != "regression-family")


def test_a_loss_left_out_of_the_fitted_weights_is_no_longer_included():
    fitted = _calibrated({"mse": 3.0, "mae": 2.0})
    listed = shortlist(make_profile("regression"), rules=fitted)
    assert "huber" not in [c.loss.value for c in listed.candidates]


def test_the_rationale_cites_the_evidence_for_the_rules_favourite():
    fitted = _calibrated({"mse": 2.0, "mae": 3.0})
    listed = shortlist(make_profile("regression"), rules=fitted)
    by_loss = {c.loss.value: c for c in listed.candidates}
    assert listed.candidates[0].loss is LossId.MAE
    cited = [r.text for r in by_loss["mae"].reasons if r.rule == "regression-family"]
    assert (
        "on 4 of 10 corpus tables where this rule fired, mae was within 1% of the best" in cited[0]
    )
    plain = [r.text for r in by_loss["mse"].reasons if r.rule == "regression-family"]
    assert "corpus" not in plain[0]


def test_every_problem_is_reported_at_once_with_suggestions():
    document = _document(
        **{
            "regresion-family": _entry({"mse": 1.0}),
            "regression-family": _entry({"hubber": 1.0, "mse": -1.0}),
            "automl-shortlist": _entry({"mse": 1.0}),
        }
    )
    with pytest.raises(RuleError) as raised:
        apply_calibration(_hand_rules(), document, source="calibration.yaml", loss_ids=LOSS_IDS)
    lines = str(raised.value).splitlines()
    assert (
        "calibration.yaml:regresion-family:id: unknown rule 'regresion-family'; "
        "did you mean 'regression-family'?"
    ) in lines
    assert (
        "calibration.yaml:regression-family:losses.hubber: unknown loss id 'hubber'; "
        "did you mean 'huber'?"
    ) in lines
    assert "calibration.yaml:regression-family:losses.mse: weight -1.0 is negative" in lines
    assert "calibration.yaml:automl-shortlist:losses: effect 'configure' weighs no losses" in lines


def test_a_malformed_document_names_the_field():
    with pytest.raises(RuleError, match="calibration.yaml:-:rules"):
        apply_calibration(
            _hand_rules(), {"version": 1, "tables": 3}, source="calibration.yaml", loss_ids=LOSS_IDS
        )


def test_the_bundled_calibration_file_is_valid_and_applied():
    path = rules_dir() / "calibration.yaml"
    if not path.exists():
        pytest.skip("no rules/calibration.yaml: the rules carry their hand weights")
    document = yaml.safe_load(path.read_text())
    rules = {rule.id: rule for rule in load_rules()}
    for rule_id, entry in document["rules"].items():
        assert {str(k): v for k, v in rules[rule_id].losses.items()} == entry["losses"]
        assert rules[rule_id].provenance.tables == entry["provenance"]["tables"]


@pytest.fixture
def calibrated_rules_dir(tmp_path, monkeypatch):
    """A rules folder with the bundled files and a calibration that moves one weight."""
    import shutil

    from advisor.selection import _loader

    for name in ("selection.yaml", "losses.yaml"):
        shutil.copy(rules_dir() / name, tmp_path / name)
    document = _document(**{"regression-family": _entry({"mse": 2.0, "mae": 3.0}, tables=7)})
    (tmp_path / "calibration.yaml").write_text(yaml.safe_dump(document))
    monkeypatch.setattr(_loader, "rules_dir", lambda: tmp_path)
    _loader._bundled_rules.cache_clear()
    yield tmp_path
    _loader._bundled_rules.cache_clear()


def test_lossadvisor_rules_shows_the_fitted_weights_and_their_evidence(calibrated_rules_dir):
    import json

    from click.testing import CliRunner

    from advisor.cli import cli

    shown = CliRunner().invoke(cli, ["rules"], env={"COLUMNS": "160"})
    assert shown.exit_code == 0, shown.output
    assert "weights fitted (on 7 of 10 corpus tables where this rule fired" in shown.output
    listed = CliRunner().invoke(cli, ["rules", "--json"])
    rule = next(r for r in json.loads(listed.output) if r["id"] == "regression-family")
    assert rule["losses"] == {"mse": 2.0, "mae": 3.0}
    assert rule["provenance"]["tables"] == 7
    assert rule["provenance"]["hand"]["mse"] == 3.0
    hand = next(r for r in json.loads(listed.output) if r["id"] == "binary-family")
    assert hand["provenance"] is None


def test_a_rule_too_thin_to_fit_says_it_keeps_its_hand_weights(tmp_path, monkeypatch):
    """A rule that fired on fewer corpus tables than a fit needs is shown with its evidence,
    never as "fitted"; one the fit judged and left alone says so."""
    import json
    import shutil

    from click.testing import CliRunner

    from advisor.cli import cli
    from advisor.selection import _loader

    for name in ("selection.yaml", "losses.yaml"):
        shutil.copy(rules_dir() / name, tmp_path / name)
    hand = {"mse": 3.0, "huber": 2.5, "log_cosh": 2.0, "mae": 2.0}
    thin = _entry(dict(hand), tables=4)
    thin["provenance"]["fitted"] = False
    kept = _entry({"bce": 3.0, "focal": 2.0, "squared_hinge": 1.0}, tables=30, favourite="bce")
    kept["hand"] = {"bce": 3.0, "focal": 2.0, "squared_hinge": 1.0}
    document = _document(**{"regression-family": thin, "binary-family": kept})
    document["min_tables"], document["tables"] = 20, 40
    (tmp_path / "calibration.yaml").write_text(yaml.safe_dump(document))
    monkeypatch.setattr(_loader, "rules_dir", lambda: tmp_path)
    _loader._bundled_rules.cache_clear()
    try:
        shown = CliRunner().invoke(cli, ["rules"], env={"COLUMNS": "200"})
        listed = CliRunner().invoke(cli, ["rules", "--json"])
    finally:
        _loader._bundled_rules.cache_clear()
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())
    assert "hand weights kept: fewer than the 20 corpus tables a fit needs (on 4 of 40" in text
    assert "weights fitted, the hand values kept (on 30 of 40 corpus tables" in text
    rules = {r["id"]: r for r in json.loads(listed.output)}
    assert rules["regression-family"]["provenance"]["fitted"] is False
    assert rules["regression-family"]["provenance"]["min_tables"] == 20
    assert rules["binary-family"]["provenance"]["fitted"] is True


def test_an_older_calibration_file_without_the_fitted_flag_reads_as_fitted():
    fitted = _calibrated({"mse": 2.0, "mae": 3.0})
    rule = next(r for r in fitted if r.id == "regression-family")
    assert rule.provenance.fitted is True and rule.provenance.min_tables is None
    assert rule.provenance.status(rule.losses) == "weights fitted"
