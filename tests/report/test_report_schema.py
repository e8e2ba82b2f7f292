"""The JSON Schema of the --json documents: valid 2020-12, and real outputs of every task pass it.

Each document is produced by the command line itself (``main``), on tables built here, so the
schema is checked against what a pipeline actually receives, warnings included.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest

from advisor.cli import main
from advisor.losses._catalog import BUILTIN_IDS
from advisor.records import MetricId, Task
from advisor.report import json_schema
from advisor.report._schema import DOCUMENTS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _validator(document: str | None = None) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json_schema(document))


def _run(capsys, *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _tables() -> dict[str, tuple[pd.DataFrame, list[str]]]:
    """One small table per task, with the flags that make the task unambiguous."""
    rng = np.random.default_rng(0)
    n = 120
    x = rng.normal(size=(n, 2))
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1]})
    regression = frame.assign(y=2 * x[:, 0] + rng.normal(scale=0.5, size=n))
    counts = frame.assign(y=rng.poisson(np.exp(0.5 + 0.5 * x[:, 0])))
    positive = frame.assign(y=np.exp(1 + x[:, 0] + rng.normal(scale=0.7, size=n)).round(3))
    binary = frame.assign(y=(x[:, 0] + rng.normal(scale=0.5, size=n) > 0.8).astype(int))
    multiclass = frame.assign(
        y=np.array(["red", "green", "blue"])[np.digitize(x[:, 0], [-0.4, 0.4])]
    )
    labels = (x[:, :1] + rng.normal(size=(n, 3)) > 0).astype(int)
    multilabel = frame.assign(l1=labels[:, 0], l2=labels[:, 1], l3=labels[:, 2])
    ordinal = frame.assign(y=np.digitize(x[:, 0], [-1, -0.3, 0.3, 1]) + 1)
    return {
        "regression": (regression, ["--target", "y"]),
        "regression_count": (counts, ["--target", "y", "--task", "regression_count"]),
        "regression_positive": (positive, ["--target", "y", "--task", "regression_positive"]),
        "binary": (binary, ["--target", "y"]),
        "multiclass": (multiclass, ["--target", "y"]),
        "multilabel": (multilabel, ["--target", "l1,l2,l3", "--task", "multilabel"]),
        "ordinal": (ordinal, ["--target", "y", "--task", "ordinal"]),
    }


TABLES = _tables()


@pytest.fixture(scope="module")
def csv_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tasks")
    for task, (frame, _) in TABLES.items():
        frame.to_csv(folder / f"{task}.csv", index=False)
    return folder


def test_the_schema_is_valid_draft_2020_12() -> None:
    for document in (None, *DOCUMENTS):
        jsonschema.Draft202012Validator.check_schema(json_schema(document))
    json.dumps(json_schema())  # JSON-serialisable as printed


def test_the_schema_command_prints_it(capsys) -> None:
    code, out, err = _run(capsys, "schema")
    assert code == 0 and err == ""
    assert json.loads(out) == json_schema()
    code, out, _ = _run(capsys, "schema", "--document", "profile")
    assert code == 0 and json.loads(out)["$ref"] == "#/$defs/profile"


def test_the_schema_names_the_closed_vocabularies() -> None:
    defs = json_schema()["$defs"]
    assert defs["task"]["enum"] == [t.value for t in Task]
    assert defs["metric_id"]["enum"] == [m.value for m in MetricId]
    assert defs["loss_id"]["anyOf"][0]["enum"] == [loss.value for loss in BUILTIN_IDS]
    assert {"mse", "soft_ce", "ordinal_coral"} <= set(defs["loss_id"]["anyOf"][0]["enum"])
    loss = jsonschema.Draft202012Validator({"$defs": defs, "$ref": "#/$defs/loss_id"})
    assert loss.is_valid("team_smooth_l1")  # the form of a registered custom loss
    for bad in ("no spaces please", "", "Upper", "1st", "a" * 64):
        assert not loss.is_valid(bad), bad


@pytest.mark.parametrize("task", sorted(TABLES))
def test_profile_explain_and_rules_only_recommend_validate(capsys, csv_dir, task) -> None:
    path = csv_dir / f"{task}.csv"
    flags = TABLES[task][1]
    outputs = {}
    for command, extra in (("profile", []), ("explain", []), ("recommend", ["--no-search"])):
        code, out, err = _run(capsys, command, path, "--json", *flags, *extra)
        assert code == 0, err
        outputs[command] = json.loads(out)
        _validator(command).validate(outputs[command])
        _validator().validate(outputs[command])  # the schema that accepts any document
        _assert_every_key_declared(outputs[command], json_schema(command))
    assert outputs["profile"]["task"] == task
    assert outputs["recommend"]["profile"] == outputs["profile"]
    assert outputs["recommend"]["search"] is None


def test_a_document_with_warnings_validates(capsys, tmp_path) -> None:
    rng = np.random.default_rng(3)
    # whole numbers far from zero: read as regression, counts kept as the alternative
    frame = pd.DataFrame({"x": rng.normal(size=150), "target": rng.integers(25, 350, size=150)})
    path = tmp_path / "warn.csv"
    frame.to_csv(path, index=False)
    code, out, err = _run(capsys, "recommend", path, "--no-search", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["profile"]["warnings"], "the table was meant to raise a warning"
    _validator("recommend").validate(document)
    for warning in document["profile"]["warnings"]:
        assert f"lossadvisor: warning: {warning}" in err.splitlines()


def test_every_bundled_example_validates(capsys) -> None:
    for example in sorted(EXAMPLES.glob("*.csv")):
        code, out, err = _run(capsys, "recommend", example, "--no-search", "--json")
        assert code == 0, (example, err)
        _validator("recommend").validate(json.loads(out))


@pytest.mark.slow
def test_a_real_search_validates(capsys, csv_dir) -> None:
    code, out, err = _run(
        capsys,
        "recommend",
        csv_dir / "binary.csv",
        "--target",
        "y",
        "--json",
        "--budget",
        "6",
        "--trials",
        "3",
    )
    assert code == 0, err
    document = json.loads(out)
    assert document["search"] is not None and document["search"]["results"]
    _validator("recommend").validate(document)
    _assert_every_key_declared(document, json_schema("recommend"))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("profile", "task"), "regresion"),
        (("recommendation", "loss"), "two words"),
        (("recommendation", "metric"), "f2"),
        (("recommendation", "confidence"), 1.5),
        (("schema_version",), 2),
        (("input", "rows"), -1),
        (("shortlist",), []),
        (("search",), {"metric": "rmse"}),
    ],
)
def test_a_broken_document_fails(capsys, csv_dir, path, value) -> None:
    code, out, _ = _run(capsys, "recommend", csv_dir / "regression.csv", "--no-search", "--json")
    assert code == 0
    document = json.loads(out)
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert not _validator("recommend").is_valid(document)


def test_a_missing_key_fails(capsys, csv_dir) -> None:
    code, out, _ = _run(capsys, "profile", csv_dir / "binary.csv", "--json", "--target", "y")
    assert code == 0
    document = json.loads(out)
    del document["label_encoding"]
    assert not _validator("profile").is_valid(document)


# --------------------------------------------------------------------------- completeness


def _assert_every_key_declared(instance: object, schema: dict, where: str = "$") -> None:
    """Fail on a key the output carries but the schema does not declare (its type unchecked).

    Maps (``additionalProperties`` with a schema: params, evidence, class counts) may hold any
    key; every other object must list each of its keys under ``properties``.
    """
    defs = schema["$defs"]

    def resolve(node: dict) -> dict:
        while "$ref" in node:
            node = defs[node["$ref"].rsplit("/", 1)[-1]]
        return node

    def walk(value: object, node: dict, path: str) -> None:
        node = resolve(node)
        if "anyOf" in node:
            branches = [
                b
                for b in node["anyOf"]
                if jsonschema.Draft202012Validator({"$defs": defs, **b}).is_valid(value)
            ]
            assert branches, f"{path}: no branch accepts the value"
            walk(value, branches[0], path)
            return
        if isinstance(value, dict):
            properties = node.get("properties")
            if properties is None:  # a map, or a free-form value (evidence)
                if not isinstance(node.get("additionalProperties"), dict):
                    return
                for key, item in value.items():
                    walk(item, node["additionalProperties"], f"{path}.{key}")
                return
            undeclared = set(value) - set(properties)
            assert not undeclared, f"{path}: keys not in the schema: {sorted(undeclared)}"
            for key, item in value.items():
                walk(item, properties[key], f"{path}.{key}")
        elif isinstance(value, list) and "items" in node and isinstance(node["items"], dict):
            for i, item in enumerate(value):
                walk(item, node["items"], f"{path}[{i}]")

    walk(instance, schema, where)


def test_a_registered_custom_loss_validates(capsys, csv_dir, tmp_path) -> None:
    from torch import nn

    from advisor.losses import register, unregister

    class Doubled(nn.Module):
        def forward(self, output, target):
            return 2 * ((output.squeeze(-1) - target) ** 2).mean()

    rules = tmp_path / "team.yaml"
    rules.write_text(
        "version: 1\nrules:\n  - {id: team-doubled, factor: model_objective, when: [],\n"
        "     effect: include, losses: {team_doubled: 9.0}, why: our own loss}\n",
        encoding="utf-8",
    )
    loss = register(
        "team_doubled",
        Doubled,
        tasks=["regression"],
        head="score",
        target="standardize",
        summary="Twice the squared error.",
        simplicity=2,
        params=[],
    )
    try:
        code, out, err = _run(
            capsys,
            "recommend",
            csv_dir / "regression.csv",
            "--target",
            "y",
            "--no-search",
            "--json",
            "--rules",
            rules,
        )
    finally:
        unregister(loss)
    assert code == 0, err
    document = json.loads(out)
    assert document["recommendation"]["loss"] == "team_doubled"
    _validator("recommend").validate(document)
