"""Rule files are a trust boundary: every problem is reported at once as `file:rule-id:field: msg`.

Also: user rule files change the shortlist (append, or replace a bundled rule by its id).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from selection_profiles import make_profile

from advisor._paths import rules_dir
from advisor.errors import RuleError
from advisor.records import Factor, LossId
from advisor.selection import Effect, Op, load_rules, parse_rules, shortlist

LINE = re.compile(r"^(?P<file>[^:]+):(?P<rule>[^:]+):(?P<field>[^:]+): (?P<message>.+)$")


def rule(**overrides):
    base = {
        "id": "my-rule",
        "factor": "outliers",
        "when": [{"field": "outliers.rate", "op": "gt", "value": 0.1}],
        "effect": "raise",
        "losses": {"huber": 1.0},
        "why": "outlier rate {outliers.rate:.1%}",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def write(tmp_path: Path, *rules, name: str = "team.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"version": 1, "rules": list(rules)}), encoding="utf-8")
    return path


def problems(exc: pytest.ExceptionInfo[RuleError]) -> list[str]:
    return str(exc.value).splitlines()


# --------------------------------------------------------------------------- bundled rules


def test_bundled_rules_load_and_are_well_formed():
    rules = load_rules()
    ids = [r.id for r in rules]
    assert len(ids) == len(set(ids)) > 40
    assert all(r.source.endswith("selection.yaml") for r in rules)
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", r.id) for r in rules)
    assert all(isinstance(r.factor, Factor) and isinstance(r.effect, Effect) for r in rules)


def test_bundled_file_is_valid_through_parse_rules():
    document = yaml.safe_load((rules_dir() / "selection.yaml").read_text(encoding="utf-8"))
    assert [r.id for r in parse_rules(document, source="selection.yaml")] == [
        r.id for r in load_rules()
    ]


def test_a_valid_user_rule_parses_to_typed_values():
    (parsed,) = parse_rules(
        {
            "version": 1,
            "rules": [
                rule(when=[{"field": "outliers.rate", "op": "between", "value": [0.01, 0.2]}])
            ],
        },
        source="team.yaml",
    )
    assert parsed.when[0].op is Op.BETWEEN and parsed.when[0].value == (0.01, 0.2)
    assert parsed.losses == {LossId.HUBER: 1.0}
    assert parsed.source == "team.yaml"


# --------------------------------------------------------------------------- bad rule files


@pytest.mark.parametrize(
    ("bad", "field", "message"),
    [
        (
            rule(when=[{"field": "outliers.rat", "op": "gt", "value": 0.1}]),
            "when[0]",
            "unknown field 'outliers.rat'; did you mean 'outliers.rate'?",
        ),
        (rule(losses={"hubber": 1.0}), "losses", "unknown loss id 'hubber'; did you mean 'huber'?"),
        (
            rule(effect="exclude", losses=["hubber"]),
            "losses",
            "unknown loss id 'hubber'; did you mean 'huber'?",
        ),
        (
            rule(effect="set", losses=None, params={"hubber": {"delta": 1.0}}),
            "params",
            "unknown loss id 'hubber'; did you mean 'huber'?",
        ),
        (
            rule(
                effect="set",
                losses=None,
                params={"huber": {"delta": {"field": "target.robust_scal", "times": 1.345}}},
            ),
            "params.huber.delta",
            "unknown field 'target.robust_scal'; did you mean 'target.robust_scale'?",
        ),
        (
            rule(when=[{"field": "outliers.rate", "op": "greater", "value": 0.1}]),
            "when.0.op",
            "Input should be 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'in' or 'between'",
        ),
        (rule(factor="outlier"), "factor", "unknown factor 'outlier'; did you mean 'outliers'?"),
        (rule(effect="rise"), "effect", "unknown effect 'rise'; did you mean 'raise'?"),
        (
            rule(when=[{"field": "outliers.rate", "op": "between", "value": [0.01, 0.05, 0.1]}]),
            "when[0]",
            "'between' takes [low, high], got [0.01, 0.05, 0.1]",
        ),
        (
            rule(when=[{"field": "outliers.rate", "op": "between", "value": [0.05, 0.01]}]),
            "when[0]",
            "'between' needs low <= high, got [0.05, 0.01]; swap them",
        ),
        (
            rule(when=[{"field": "outliers.rate", "op": "gt", "value": "high"}]),
            "when[0]",
            "outliers.rate is a number, got 'high'",
        ),
        (
            rule(when=[{"field": "outliers.rate", "op": "gt", "value": True}]),
            "when[0]",
            "outliers.rate is a number, got True",
        ),
        (
            rule(when=[{"field": "task", "op": "gt", "value": "binary"}]),
            "when[0]",
            "operator 'gt' needs a number field, not 'task'",
        ),
        (
            rule(when=[{"field": "task", "op": "eq", "value": "binay"}]),
            "when[0]",
            "unknown value for task 'binay'; did you mean 'binary'?",
        ),
        (
            rule(when=[{"field": "task", "op": "in", "value": []}]),
            "when[0]",
            "'in' takes a non-empty list, got []",
        ),
        (
            rule(when=[{"field": "target.is_integer", "op": "eq", "value": "yes"}]),
            "when[0]",
            "target.is_integer is true/false, got 'yes'",
        ),
        (rule(effect="raise", losses=None), "losses", "effect 'raise' needs a non-empty 'losses'"),
        (
            rule(effect="exclude", losses=[]),
            "losses",
            "effect 'exclude' needs a non-empty 'losses'",
        ),
        (rule(effect="metric", losses=None), "metric", "effect 'metric' needs 'metric'"),
        (rule(effect="set", losses=None), "params", "effect 'set' needs 'params'"),
        (rule(effect="configure", losses=None), "settings", "effect 'configure' needs 'settings'"),
        (
            rule(effect="metric", losses=None, metric="rsme"),
            "metric",
            "unknown metric 'rsme'; did you mean 'rmse'?",
        ),
        (
            rule(effect="configure", losses=None, settings={"max_candidate": 3}),
            "settings.max_candidate",
            "unknown setting 'max_candidate'; did you mean 'max_candidates'?",
        ),
        (rule(losses={"huber": -1.0}), "losses", "weight for 'huber' must be >= 0 (use 'lower')"),
        (rule(efect="raise"), "efect", "unknown key 'efect'; did you mean 'effect'?"),
        (rule(why=None), "why", "Field required"),
        (rule(id="My Rule"), "id", "String should match pattern"),
    ],
    ids=lambda v: v if isinstance(v, str) and " " not in v else None,
)
def test_bad_rule_is_reported_with_file_rule_and_field(tmp_path, bad, field, message):
    path = write(tmp_path, bad)
    with pytest.raises(RuleError, match=re.escape(f":{field}: {message}")) as exc:
        load_rules([path])
    (line,) = problems(exc)
    parts = LINE.match(line)
    assert parts, line
    assert parts["file"] == str(path)
    assert parts["rule"] == bad.get("id", "#1")
    assert parts["field"] == field


def test_duplicate_ids_in_one_file(tmp_path):
    path = write(tmp_path, rule(), rule(losses={"mae": 1.0}))
    with pytest.raises(RuleError, match=r"team\.yaml:my-rule:id: duplicate rule id in this file"):
        load_rules([path])


def test_not_yaml_at_all(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("rules: [ {id: a, factor: outliers\n  - oops: : :\n", encoding="utf-8")
    with pytest.raises(RuleError, match=r"broken\.yaml:-:yaml: not valid YAML line \d+"):
        load_rules([path])


def test_missing_file(tmp_path):
    with pytest.raises(RuleError, match=r"nowhere\.yaml: rule file not found"):
        load_rules([tmp_path / "nowhere.yaml"])


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"version: 1\nrules: []\nwhy: \xe9t\xe9\n")
    with pytest.raises(
        RuleError, match=r"latin1\.yaml: cannot read rule file \(UnicodeDecodeError\)"
    ):
        load_rules([path])


def test_top_level_list_instead_of_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text(yaml.safe_dump([rule()]), encoding="utf-8")
    with pytest.raises(
        RuleError, match=r"list\.yaml: a rule file is a mapping with 'version' and 'rules'"
    ):
        load_rules([path])


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"version": 1}, ":-:rules: Field required"),
        ({"version": 2, "rules": []}, ":-:version: Input should be 1"),
        (
            {"version": 1, "rules": [], "rule": []},
            ":-:rule: unknown key 'rule'; did you mean 'rules'?",
        ),
        ({"version": 1, "rules": {"id": "x"}}, ":-:rules: Input should be a valid list"),
    ],
)
def test_bad_file_shape(document, expected):
    with pytest.raises(RuleError, match=re.escape("team.yaml" + expected)):
        parse_rules(document, source="team.yaml")


def test_an_empty_rule_file_is_an_error(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing yet\n", encoding="utf-8")
    with pytest.raises(RuleError, match=r"empty\.yaml: a rule file is a mapping"):
        load_rules([path])


def test_every_problem_in_a_file_is_reported_at_once(tmp_path):
    path = write(
        tmp_path,
        rule(id="a", when=[{"field": "outliers.rat", "op": "gt", "value": 0.1}]),
        rule(id="b", losses={"hubber": 1.0}),
        # three problems in one rule: unknown effect, bad field, bad factor
        rule(
            id="c",
            factor="outlier",
            effect="rise",
            when=[{"field": "n_row", "op": "lt", "value": 10}],
        ),
        rule(id="d"),  # fine
        rule(id="e", when=[{"field": "outliers.rate", "op": "between", "value": [1, 2, 3]}]),
    )
    with pytest.raises(RuleError) as exc:
        load_rules([path])
    lines = problems(exc)
    assert len(lines) == 6, lines
    assert [LINE.match(line)["rule"] for line in lines] == ["a", "b", "c", "c", "c", "e"]
    assert all(LINE.match(line)["file"] == str(path) for line in lines)
    assert f"{path}:c:when[0]: unknown field 'n_row'; did you mean 'n_rows'?" in lines


def test_an_unknown_effect_does_not_hide_the_rule_s_other_problems():
    doc = {"version": 1, "rules": [rule(effect="boost", losses={"hubber": 1.0})]}
    with pytest.raises(RuleError) as exc:
        parse_rules(doc, source="t.yaml")
    assert problems(exc) == [
        "t.yaml:my-rule:effect: unknown effect 'boost'",
        "t.yaml:my-rule:losses: unknown loss id 'hubber'; did you mean 'huber'?",
    ]


def test_a_bad_extra_file_leaves_the_bundled_rules_alone(tmp_path):
    before = load_rules()
    with pytest.raises(RuleError):
        load_rules([write(tmp_path, rule(losses={"hubber": 1.0}))])
    assert load_rules() == before


# --------------------------------------------------------------------------- user rule files


NEVER_HINGE = rule(
    id="team-never-hinge",
    factor="margin",
    when=[],
    effect="exclude",
    losses=["hinge", "squared_hinge"],
    why="our team never uses hinge",
)


def test_user_rule_file_changes_the_shortlist(tmp_path):
    margin = make_profile("binary", encoding="plus_minus_one", ratio=1.1)
    bundled = shortlist(margin, objective="margin")
    assert bundled.losses[:2] == (LossId.HINGE, LossId.SQUARED_HINGE)

    rules = load_rules([write(tmp_path, NEVER_HINGE)])
    assert rules[-1].id == "team-never-hinge" and len(rules) == len(load_rules()) + 1
    team = shortlist(margin, objective="margin", rules=rules)
    assert team.losses == (LossId.BCE, LossId.FOCAL)
    assert {c.loss for c in team.excluded} == {LossId.HINGE, LossId.SQUARED_HINGE}
    hinge = next(c for c in team.excluded if c.loss is LossId.HINGE)
    never = [r for r in hinge.reasons if r.rule == "team-never-hinge"]
    assert never and all(r.effect.kind is Effect.EXCLUDE for r in never)
    line = next(f for f in team.trace if f.rule == "team-never-hinge")
    assert line.fired and line.effect == "exclude hinge, squared_hinge"


def test_user_rule_with_a_bundled_id_replaces_it_in_place(tmp_path):
    ids = [r.id for r in load_rules()]
    override = rule(
        id="metric-classes",
        factor="overfitting",
        effect="metric",
        losses=None,
        when=[{"field": "task", "op": "in", "value": ["binary", "multiclass"]}],
        metric="f1_macro",
        why="our dashboards report macro F1",
    )
    path = write(tmp_path, override)
    rules = load_rules([path])
    assert [r.id for r in rules] == ids  # same ids, same order: replaced, not appended
    replaced = rules[ids.index("metric-classes")]
    assert replaced.source == str(path) and replaced.metric.value == "f1_macro"
    balanced = make_profile("binary", ratio=1.05)
    assert shortlist(balanced).metric.value == "accuracy"
    result = shortlist(balanced, rules=rules)
    assert result.metric.value == "f1_macro"
    assert result.metric_reason == "our dashboards report macro F1"
    # the later, more specific metric rule still wins where it fires
    assert shortlist(make_profile("binary", ratio=5.0), rules=rules).metric.value == (
        "balanced_accuracy"
    )


def test_later_user_files_win_over_earlier_ones(tmp_path):
    first = write(tmp_path, rule(id="team-weight", losses={"mae": 1.0}), name="a.yaml")
    second = write(tmp_path, rule(id="team-weight", losses={"mae": 9.0}), name="b.yaml")
    rules = load_rules([first, second])
    (team,) = [r for r in rules if r.id == "team-weight"]
    assert team.losses == {LossId.MAE: 9.0} and team.source == str(second)


def test_examples_team_rules_file_changes_the_shortlist():
    path = Path(__file__).resolve().parents[2] / "examples" / "team_rules.yaml"
    if not path.exists():
        pytest.skip("examples/team_rules.yaml not shipped")
    rules = load_rules([path])
    margin = make_profile("binary", encoding="plus_minus_one", ratio=1.1)
    bundled = shortlist(margin, objective="margin").losses
    team = shortlist(margin, objective="margin", rules=rules).losses
    assert LossId.HINGE in bundled and LossId.HINGE not in team
    assert team != bundled
