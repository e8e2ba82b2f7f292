"""The command line end to end: exit codes, one-line errors, the SPEC's JSON, the examples."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from advisor.cli import main
from advisor.records import LossId, MetricId
from advisor.report import json_schema

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SPEC_KEYS = {"schema_version", "input", "profile", "shortlist", "search", "recommendation"}
PROFILE_KEYS = {
    "task",
    "label_encoding",
    "target_stats",
    "outliers",
    "features",
    "warnings",
    "evidence",
}
TINY = ["--budget", "8", "--trials", "4", "--seed", "1"]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_help_and_version(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("recommend", "profile", "explain", "losses", "rules", "worker"):
        assert command in out
    code, out, _ = run(capsys, "--version")
    assert code == 0 and "lossadvisor" in out


def test_losses_lists_every_spec_loss(capsys):
    code, out, _ = run(capsys, "losses", "--json")
    assert code == 0
    assert {entry["id"] for entry in json.loads(out)} == {loss.value for loss in LossId}


def test_rules_lists_bundled_rules(capsys):
    code, out, _ = run(capsys, "rules", "--json")
    assert code == 0
    rules = json.loads(out)
    assert len(rules) >= 12
    assert len({rule["factor"] for rule in rules}) == 12


def test_profile_json_is_the_profile_object(capsys):
    code, out, _ = run(capsys, "profile", EXAMPLES / "wine.csv", "--json")
    assert code == 0
    profile = json.loads(out)
    assert set(profile) >= PROFILE_KEYS
    assert profile["task"] == "multiclass"
    assert profile["label_encoding"] == "string"
    assert profile["classes"] == ["cultivar_0", "cultivar_1", "cultivar_2"]


def test_explain_prints_trace_without_training(capsys):
    code, out, _ = run(capsys, "explain", EXAMPLES / "breast_cancer.csv", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["profile"]["task"] == "binary"
    assert any(firing["fired"] for firing in data["trace"])
    assert any(not firing["fired"] for firing in data["trace"])
    assert data["shortlist"][0]["reasons"]


def test_no_search_gives_rules_only_recommendation(capsys):
    code, out, _ = run(capsys, "recommend", EXAMPLES / "breast_cancer.csv", "--no-search", "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) >= SPEC_KEYS
    assert data["search"] is None
    assert data["recommendation"]["loss"] in {c["loss"] for c in data["shortlist"]}
    assert data["recommendation"]["confidence_label"] == "prior only"
    compile(data["recommendation"]["pytorch"], "<snippet>", "exec")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("example", "task"),
    [("diabetes.csv", None), ("breast_cancer.csv", "binary"), ("wine.csv", "multiclass")],
)
def test_recommend_json_on_each_example(capsys, example, task):
    code, out, err = run(capsys, "recommend", EXAMPLES / example, "--json", *TINY)
    assert code == 0, err
    data = json.loads(out)
    jsonschema.validate(data, json_schema("recommend"), cls=jsonschema.Draft202012Validator)
    assert set(data) >= SPEC_KEYS
    assert data["schema_version"] == 1
    if task:
        assert data["profile"]["task"] == task
    assert data["input"]["rows"] > 100
    rec = data["recommendation"]
    assert rec["loss"] in {loss.value for loss in LossId}
    assert rec["metric"] in {metric.value for metric in MetricId}
    assert 0.0 <= rec["confidence"] <= 1.0
    search = data["search"]
    assert {"metric", "direction", "budget_s", "elapsed_s", "trials", "storage", "results"} <= set(
        search
    )
    confirmed = {row["loss"] for row in search["results"]}
    assert confirmed == {candidate["loss"] for candidate in data["shortlist"]}
    for row in search["results"]:
        assert {"loss", "params", "mean", "std", "n"} <= set(row)
        assert row["n"] >= 2
    namespace: dict = {}
    exec(rec["pytorch"], namespace)
    assert callable(namespace["loss_fn"])


@pytest.mark.slow
def test_recommend_terminal_report_and_html(capsys, tmp_path):
    report = tmp_path / "report.html"
    code, out, err = run(capsys, "recommend", EXAMPLES / "wine.csv", "--report", report, *TINY)
    assert code == 0, err
    assert "recommendation" in out and "shortlist" in out
    page = report.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "Rule trace" in page


BAD_INPUTS = {
    "missing file": (None, [], "no such file"),
    "empty file": ("", [], "empty"),
    "header only": ("a,b,y\n", [], "no data rows"),
    "constant target": ("a,y\n1,5\n2,5\n3,5\n4,5\n", [], "constant"),
    "binary garbage": (bytes(range(256)) * 8, [], "binary"),
    "ragged rows": ("a,b,y\n1,2,3\n4,5\n6,7,8\n", [], "line 3"),
    "missing target column": ("a,y\n1,2\n3,4\n5,6\n", ["--target", "price"], "'price' not found"),
    "unknown objective": ("a,y\n1,2\n3,4\n5,7\n", ["--objective", "fast"], "unknown objective"),
    "unknown metric": ("a,y\n1,2\n3,4\n5,7\n", ["--metric", "f2"], "unknown metric"),
    "bad budget": ("a,y\n1,2\n3,4\n5,7\n", ["--budget", "0"], "--budget"),
    "missing rule file": ("a,y\n1,2\n3,4\n5,7\n", ["--rules", "nope.yaml"], "rule file not found"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_exits_2_with_one_line(capsys, tmp_path, case):
    content, extra, expected = BAD_INPUTS[case]
    path = tmp_path / "data.csv"
    if content is not None:
        write(tmp_path, "data.csv", content)
    code, out, err = run(capsys, "recommend", path, "--no-search", *extra)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("lossadvisor: error:")
    assert expected in lines[0]
    assert "Traceback" not in err


def test_bad_rule_file_lists_every_problem(capsys, tmp_path):
    rules = write(
        tmp_path,
        "team.yaml",
        (
            "version: 1\nrules:\n"
            "  - {id: a, factor: margin, effect: exclude, losses: [hubber], why: x}\n"
            "  - {id: b, factor: outlier, effect: raise, losses: {mae: 1}, why: y,\n"
            "     when: [{field: outliers.rat, op: gt, value: 0.1}]}\n"
        ),
    )
    code, _, err = run(capsys, "rules", "--rules", rules)
    assert code == 2
    assert "team.yaml:a:losses: unknown loss id 'hubber'; did you mean 'huber'?" in err
    assert "team.yaml:b:factor" in err
    assert "did you mean 'outliers.rate'?" in err


def test_bad_input_never_touches_an_existing_report(capsys, tmp_path):
    report = write(tmp_path, "report.html", "keep me")
    data = write(tmp_path, "data.csv", "a,y\n1,5\n2,5\n")
    code, _, _ = run(capsys, "recommend", data, "--report", report, "--no-search")
    assert code == 2
    assert report.read_text() == "keep me"


def test_report_into_missing_folder_fails_before_work(capsys, tmp_path):
    code, _, err = run(
        capsys,
        "recommend",
        EXAMPLES / "wine.csv",
        "--no-search",
        "--report",
        tmp_path / "nowhere" / "r.html",
    )
    assert code == 2 and "does not exist" in err


def test_metric_must_suit_the_task(capsys):
    code, _, err = run(
        capsys, "recommend", EXAMPLES / "wine.csv", "--metric", "rmse", "--no-search"
    )
    assert code == 2 and "does not apply to task 'multiclass'" in err


def test_user_rule_file_changes_the_shortlist(capsys):
    code, out, _ = run(capsys, "explain", EXAMPLES / "wine.csv", "--json")
    assert code == 0
    before = [c["loss"] for c in json.loads(out)["shortlist"]]
    assert "multi_margin" in before
    code, out, _ = run(
        capsys, "explain", EXAMPLES / "wine.csv", "--json", "--rules", EXAMPLES / "team_rules.yaml"
    )
    assert code == 0
    after = [c["loss"] for c in json.loads(out)["shortlist"]]
    assert "multi_margin" not in after
    assert "multi_margin" in {c["loss"] for c in json.loads(out)["excluded"]}


def test_console_script_exit_code_in_a_real_process(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "advisor", "recommend", str(tmp_path / "absent.csv")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_recommend_on_soft_label_columns(capsys, tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    x = rng.normal(size=(240, 3))
    logits = np.column_stack([x[:, 0], x[:, 1], -x[:, 0]])
    soft = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    for i, name in enumerate(["p_red", "p_green", "p_blue"]):
        frame[name] = soft[:, i].round(6)
    frame[["p_red", "p_green", "p_blue"]] = frame[["p_red", "p_green", "p_blue"]].div(
        frame[["p_red", "p_green", "p_blue"]].sum(axis=1), axis=0
    )
    path = tmp_path / "soft.csv"
    frame.to_csv(path, index=False)
    code, out, err = run(
        capsys, "recommend", path, "--target", "p_red,p_green,p_blue", "--json", *TINY
    )
    assert code == 0, err
    data = json.loads(out)
    jsonschema.validate(data, json_schema("recommend"), cls=jsonschema.Draft202012Validator)
    assert data["profile"]["label_encoding"] == "probability"
    assert data["shortlist"][0]["loss"] == "soft_ce"
    assert {row["loss"] for row in data["search"]["results"]} >= {"soft_ce", "ce"}


def test_a_directory_and_an_unusable_device_exit_2(capsys, tmp_path):
    code, out, err = run(capsys, "recommend", tmp_path, "--no-search")
    assert code == 2 and out == "" and "directory" in err
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the unusable-device case cannot be shown here")
    code, out, err = run(capsys, "recommend", EXAMPLES / "wine.csv", "--device", "cuda")
    assert code == 2 and out == ""
    assert "device 'cuda' is not usable here" in err and err.count("\n") == 1


@pytest.mark.parametrize(("omp", "expected"), [(None, 1), ("2", 2)])
def test_a_worker_trains_on_one_thread_unless_told(capsys, monkeypatch, omp, expected):
    import torch

    import advisor.search

    seen = []
    monkeypatch.setattr(
        advisor.search, "join_study", lambda **kwargs: seen.append(torch.get_num_threads()) or 0
    )
    if omp is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", omp)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        code, out, _ = run(capsys, "worker", "--storage", "sqlite://", "--study-name", "s")
    finally:
        torch.set_num_threads(threads)
    assert code == 0 and "worker finished 0 trials" in out
    assert seen == [expected]


# --------------------------------------------------------------------------- what users see

HOSTILE_NAMES = {
    "closing tag": "y[/]",
    "style tag": "[red]y",
    "link": "[link=http://x]y",
    "control characters": "y\x1b[31mred\x07",
    "right-to-left": "\u05e9\u05dc\u05d5\u05dd\u202eevil",
    "500 characters": "y" * 500,
    "html": "<!--<script>",
}


def _hostile_csv(tmp_path: Path, name: str) -> Path:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"[bold]x": rng.normal(size=60), name: rng.normal(size=60)})
    path = tmp_path / "hostile.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("case", sorted(HOSTILE_NAMES))
def test_hostile_names_in_terminal_json_and_html(capsys, tmp_path, case):
    from advisor.report import printable, render_html
    from advisor.report._terminal import _t

    name = HOSTILE_NAMES[case]
    path = _hostile_csv(tmp_path, name)
    shown = printable(name)  # what a terminal may show: controls written as escapes
    for command in (["profile"], ["recommend", "--no-search"], ["explain"]):
        code, out, err = run(capsys, *command, path, "--target", name)
        assert code == 0, err
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
        flat = "".join(line.strip("│ ") for line in out.splitlines())  # undo the folding
        assert shown in flat, (command, shown)
    for command in (["profile", "--json"], ["recommend", "--no-search", "--json"]):
        code, out, err = run(capsys, *command, path, "--target", name)
        assert code == 0, err
        assert "\u202e" not in out and "\x1b" not in out  # escaped inside the JSON strings
        data = json.loads(out)
        assert (data.get("profile") or data)["target"] == [name]  # round-trips exactly
    assert _t(name).plain == shown
    from advisor._recommend import recommend

    page = render_html(recommend(path, target=name, search=False))
    assert "<!--<script>" not in page and "\x1b" not in page


@pytest.mark.parametrize("columns", ["80", "120", None])
def test_losses_never_cuts_an_id_or_a_task(columns):
    from click.testing import CliRunner

    from advisor.cli import cli
    from advisor.records import Task

    env = {"COLUMNS": columns} if columns else {"COLUMNS": ""}  # None: a pipe (120 columns)
    result = CliRunner().invoke(cli, ["losses"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "…" not in result.stdout and "..." not in result.stdout
    assert max(len(line.rstrip()) for line in lines) <= int(columns or 120)
    words = {word.strip(",;") for line in lines for word in line.split()}
    assert {loss.value for loss in LossId} <= words
    assert {task.value for task in Task} <= words


def test_quiet_prints_only_the_answer(capsys, tmp_path):
    code, out, err = run(capsys, "recommend", EXAMPLES / "diabetes.csv", "--no-search", "-q")
    assert code == 0 and err == ""  # diabetes raises a warning: --quiet keeps it off stderr
    assert len(out.splitlines()) == 1
    assert out.split()[0] in {loss.value for loss in LossId}
    assert "confidence" in out
    code, out, err = run(
        capsys, "recommend", EXAMPLES / "diabetes.csv", "--no-search", "--quiet", "--json"
    )
    assert code == 0 and err == ""
    assert json.loads(out)["schema_version"] == 1
    code, out, err = run(capsys, "profile", EXAMPLES / "wine.csv", "--quiet")
    assert code == 0 and out.startswith("multiclass (string) target cultivar")
    assert len(out.splitlines()) == 1
    code, out, _ = run(capsys, "explain", EXAMPLES / "wine.csv", "--quiet")
    assert code == 0 and len(out.splitlines()) == 1 and "rule score" in out


def test_warnings_go_to_stderr_one_line_each_and_into_the_json(capsys):
    for extra in ([], ["--json"]):
        code, out, err = run(capsys, "recommend", EXAMPLES / "diabetes.csv", "--no-search", *extra)
        assert code == 0
        lines = err.splitlines()
        assert lines and all(line.startswith("lossadvisor: warning: ") for line in lines)
        if extra:
            warnings = json.loads(out)["profile"]["warnings"]
            assert [f"lossadvisor: warning: {w}" for w in warnings] == lines


def test_colour_follows_no_color_and_the_terminal():
    import re

    from click.testing import CliRunner

    from advisor.cli import cli

    colour = re.compile(r"\x1b\[[0-9;]*(3[0-9]|9[0-7])m")  # foreground colours
    runner = CliRunner()
    piped = runner.invoke(cli, ["profile", str(EXAMPLES / "wine.csv")], env={"FORCE_COLOR": ""})
    assert piped.exit_code == 0 and "\x1b[" not in piped.stdout  # not a terminal: no codes
    forced = runner.invoke(
        cli, ["profile", str(EXAMPLES / "wine.csv")], env={"FORCE_COLOR": "1", "NO_COLOR": ""}
    )
    assert colour.search(forced.stdout)  # the check can fail: colour shows when forced
    no_color = runner.invoke(
        cli, ["profile", str(EXAMPLES / "wine.csv")], env={"FORCE_COLOR": "1", "NO_COLOR": "1"}
    )
    assert no_color.exit_code == 0 and not colour.search(no_color.stdout)


@pytest.mark.parametrize("columns", ["80", "120"])
def test_rules_never_cuts_a_rule_id(columns):
    from click.testing import CliRunner

    from advisor.cli import cli

    result = CliRunner().invoke(cli, ["rules"], env={"COLUMNS": columns})
    assert result.exit_code == 0, result.output
    ids = {rule["id"] for rule in json.loads(CliRunner().invoke(cli, ["rules", "--json"]).stdout)}
    lines = result.stdout.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= int(columns)
    assert ids <= {line.split()[0] for line in lines if line.strip()}
