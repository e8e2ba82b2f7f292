"""The loss catalog file: completeness, schema and the messages of a bad file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from advisor._paths import rules_dir
from advisor.errors import RuleError, UsageError
from advisor.losses import HeadKind, LossSpec, TargetKind, get_loss, load_catalog, losses_for
from advisor.records import LossId, Task


@pytest.fixture
def raw() -> dict:
    return yaml.safe_load((rules_dir() / "losses.yaml").read_text())


def write(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "losses.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def entry(document: dict, loss_id: str) -> dict:
    return next(e for e in document["losses"] if e["id"] == loss_id)


def test_rules_dir_points_at_the_repository_rules() -> None:
    assert (rules_dir() / "losses.yaml").is_file()


def test_every_loss_id_has_an_entry_in_spec_order() -> None:
    catalog = load_catalog()
    assert list(catalog) == list(LossId)
    assert all(isinstance(spec, LossSpec) for spec in catalog.values())


def test_default_catalog_is_cached() -> None:
    assert load_catalog() is load_catalog()


def test_every_task_has_losses_simplest_first() -> None:
    for task in Task:
        specs = losses_for(task)
        assert specs, task
        assert [s.simplicity for s in specs] == sorted(s.simplicity for s in specs)
    assert losses_for(Task.REGRESSION)[0].id is LossId.MSE
    assert losses_for(Task.MULTICLASS)[0].id is LossId.CE
    assert LossId.ORDINAL_CORAL in [s.id for s in losses_for(Task.ORDINAL)]


def test_spec_fields_and_defaults() -> None:
    huber = get_loss("huber")
    assert huber.head is HeadKind.SCORE and huber.target is TargetKind.STANDARDIZE
    assert huber.torch == "HuberLoss"
    assert huber.defaults() == {"delta": None}
    assert huber.params[0].relative
    assert get_loss(LossId.FOCAL).defaults() == {"gamma": 2.0, "alpha": None}
    assert get_loss("tweedie").defaults() == {"power": 1.5}
    assert get_loss("ce_class_balanced").defaults() == {"beta": 0.999}


def test_focal_switches_to_one_logit_on_two_classes() -> None:
    focal = get_loss("focal")
    assert focal.form(2) == (HeadKind.LOGIT, TargetKind.BINARY01)
    assert focal.form(3) == (HeadKind.LOGITS, TargetKind.CLASS_INDEX)
    assert get_loss("ce").form(2) == (HeadKind.LOGITS, TargetKind.CLASS_INDEX)


def test_get_loss_unknown_id_suggests() -> None:
    with pytest.raises(UsageError, match=r"unknown loss id 'hubber'; did you mean 'huber'\?"):
        get_loss("hubber")


def test_explicit_path_reads_the_same_catalog(raw: dict, tmp_path: Path) -> None:
    assert load_catalog(write(tmp_path, raw)) == load_catalog()


def test_bad_file_lists_every_problem_with_suggestions(raw: dict, tmp_path: Path) -> None:
    entry(raw, "huber")["id"] = "hubber"
    entry(raw, "bce")["head"] = "logitt"
    entry(raw, "mse")["colour"] = "red"
    entry(raw, "mae")["tasks"] = ["regresion"]
    entry(raw, "ce")["torch"] = "CrossEntropyLos"
    with pytest.raises(RuleError) as info:
        load_catalog(write(tmp_path, raw))
    message = str(info.value)
    assert "losses.yaml:hubber:id: unknown loss id 'hubber'; did you mean 'huber'?" in message
    assert "losses.yaml:bce:head: unknown head kind 'logitt'; did you mean 'logit'?" in message
    assert "losses.yaml:mse:colour: unknown field" in message
    assert "losses.yaml:mae:tasks: unknown task 'regresion'; did you mean 'regression'?" in message
    assert "did you mean 'CrossEntropyLoss'?" in message
    assert "losses.yaml:<file>:losses: no entry for huber" in message
    assert "(6 problems)" in message


def test_bad_file_match_hubber(raw: dict, tmp_path: Path) -> None:
    entry(raw, "huber")["id"] = "hubber"
    with pytest.raises(RuleError, match=r"hubber.*did you mean 'huber'"):
        load_catalog(write(tmp_path, raw))


def test_unknown_field_suggests_the_field(raw: dict, tmp_path: Path) -> None:
    entry(raw, "mse")["summmary"] = entry(raw, "mse").pop("summary")
    entry(raw, "huber")["params"][0]["dfault"] = 1.0
    with pytest.raises(RuleError) as info:
        load_catalog(write(tmp_path, raw))
    assert "mse:summmary: unknown field; did you mean 'summary'?" in str(info.value)
    assert "huber:params.0.dfault: unknown field; did you mean 'default'?" in str(info.value)


def test_parameter_ranges_are_checked(raw: dict, tmp_path: Path) -> None:
    quantile = entry(raw, "quantile")["params"][0]
    quantile.update(low=0.9, high=0.1)
    tweedie = entry(raw, "tweedie")["params"][0]
    tweedie.update(default=2.5)
    margin = entry(raw, "multi_margin")["params"][0]
    margin.update(low=0.0)
    entry(raw, "focal")["params"].append(dict(entry(raw, "focal")["params"][0]))
    with pytest.raises(RuleError) as info:
        load_catalog(write(tmp_path, raw))
    message = str(info.value)
    assert "quantile:params.q: low 0.9 must be below high 0.1" in message
    assert "tweedie:params.power: default 2.5 outside [1.1, 1.9]" in message
    assert "multi_margin:params.margin: a log-scale range needs low > 0" in message
    assert "focal:params.gamma: duplicate parameter" in message


def test_binary_form_target_is_checked(raw: dict, tmp_path: Path) -> None:
    entry(raw, "focal")["binary_form"]["target"] = "binary_01"
    with pytest.raises(RuleError, match=r"focal:binary_form.target: .*did you mean 'binary01'"):
        load_catalog(write(tmp_path, raw))


def test_missing_and_duplicate_entries(raw: dict, tmp_path: Path) -> None:
    raw["losses"] = [e for e in raw["losses"] if e["id"] != "gamma"]
    with pytest.raises(RuleError, match=r"losses.yaml:<file>:losses: no entry for gamma"):
        load_catalog(write(tmp_path, raw))
    raw["losses"].append(dict(entry(raw, "mse")))
    with pytest.raises(RuleError, match=r"losses.yaml:mse:id: duplicate entry") as info:
        load_catalog(write(tmp_path, raw))
    assert "no entry for gamma" in str(info.value)


def test_entry_without_id_is_named_by_position(raw: dict, tmp_path: Path) -> None:
    del raw["losses"][0]["id"]
    with pytest.raises(RuleError, match=r"losses.yaml:#0:id: Field required"):
        load_catalog(write(tmp_path, raw))


def test_file_level_schema(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match=r"<file>:schema_version"):
        load_catalog(write(tmp_path, {"losses": []}))
    with pytest.raises(RuleError, match=r"<file>:lossess: unknown field; did you mean 'losses'"):
        load_catalog(write(tmp_path, {"schema_version": 1, "losses": [], "lossess": []}))


def test_unreadable_and_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match=r"cannot read the loss catalog"):
        load_catalog(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("losses: [unclosed\n")
    with pytest.raises(RuleError, match=r"bad.yaml: not valid YAML"):
        load_catalog(bad)
