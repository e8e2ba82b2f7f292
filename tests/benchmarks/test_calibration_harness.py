"""The calibration harness: corpus building and --quick reference runs on tiny synthetic tables."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from calibration_scripts import load as _load


def _regression(n: int = 160) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3))
    y = 2.0 * x[:, 0] - x[:, 1] + rng.normal(scale=0.3, size=n) + 5.0
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    frame["colour"] = rng.choice(["red", "blue"], size=n)
    frame["y"] = y - 5.0  # centred: some labels below zero
    return frame


def test_build_splits_and_contaminates_train_only(tmp_path):
    build = _load("build_corpus")
    entry = {"name": "toy", "target": ["y"], "task": "regression"}
    how = build.Contamination("additive_gross_errors", 0.1)
    clean, dirty = build.build_table(_regression(), entry, tmp_path, contamination=how)
    assert (clean["name"], dirty["name"]) == ("toy", "toy_contaminated")
    assert (clean["primary_metric"], dirty["primary_metric"]) == ("rmse", "mae")
    assert clean["n_rows_train"] == 120 and clean["n_rows_test"] == 40
    train = pd.read_csv(tmp_path / "toy" / "train.csv")
    dirty_train = pd.read_csv(tmp_path / "toy_contaminated" / "train.csv")
    changed = ~np.isclose(train["y"], dirty_train["y"])
    assert changed.sum() == dirty["corruption"]["n_corrupted"] == 12
    # gross: every changed label moved by at least 4 standard deviations of the train labels
    assert (np.abs(train["y"] - dirty_train["y"])[changed] >= 4 * train["y"].std() - 1e-9).all()
    assert train.drop(columns="y").equals(dirty_train.drop(columns="y"))
    test = pd.read_csv(tmp_path / "toy" / "test.csv")
    assert test.equals(pd.read_csv(tmp_path / "toy_contaminated" / "test.csv"))


def test_ordinal_levels_become_ordered_codes_and_flips_change_the_class():
    build = _load("build_corpus")
    levels = ["low", "mid", "high"]
    frame = pd.DataFrame({"x": np.arange(90.0), "grade": [levels[i % 3] for i in range(90)]})
    entry = {"name": "ord", "target": ["grade"], "task": "ordinal", "class_order": levels}
    build.canonical_target(frame, ["grade"], entry)
    assert frame["grade"].tolist()[:4] == [0, 1, 2, 0]
    bad = {**entry, "class_order": ["low", "mid"]}
    with pytest.raises(ValueError, match="not in class_order"):
        build.canonical_target(pd.DataFrame({"grade": ["low", "high"]}), ["grade"], bad)
    flipped, record = build.contaminate(
        frame, "grade", "ordinal", build.Contamination("flipped_labels", 0.2), seed=1
    )
    assert (flipped["grade"] != frame["grade"]).sum() == record["n_corrupted"] == 18
    assert set(flipped["grade"]) <= {0, 1, 2}


def test_primary_metric_follows_the_rules_convention():
    build = _load("build_corpus")
    assert build.primary_metric("binary", 2.9, gross_errors=False)[0] == "accuracy"
    assert build.primary_metric("binary", 3.0, gross_errors=False)[0] == "balanced_accuracy"
    assert build.primary_metric("regression_count", None, gross_errors=False)[0] == (
        "poisson_deviance"
    )
    assert build.primary_metric("regression_positive", None, gross_errors=True)[0] == "mae"


@pytest.mark.slow
def test_quick_reference_run_stores_every_loss_seed_and_metric(tmp_path):
    build = _load("build_corpus")
    reference = _load("reference_runs")
    corpus, out = tmp_path / "corpus", tmp_path / "reference"
    entries = build.build_table(
        _regression(), {"name": "toy", "target": ["y"], "task": "regression"}, corpus
    )
    build.write_manifest(corpus, entries, origin="a test")
    assert reference.main(["--corpus", str(corpus), "--out", str(out), "--quick"]) == 0
    record = json.loads((out / "toy.json").read_text())
    assert record["task"] == "regression" and record["primary_metric"] == "rmse"
    assert set(record["runs"]) == set(record["losses"]) >= {"mse", "mae", "huber"}
    assert "rmse" in record["metrics"] and "poisson_deviance" in record["metrics"]
    # labels below zero: Poisson deviance is undefined there, stored as null, not a crash
    assert record["runs"]["mse"]["0.003"]["test"]["poisson_deviance"] == [None, None]
    for by_lr in record["runs"].values():
        assert set(by_lr) == {"0.003"}  # --quick: one learning rate
        for cell in by_lr.values():
            for part in ("val", "test"):
                assert set(cell[part]) == set(record["metrics"])
                assert all(len(v) == 2 for v in cell[part].values())  # --quick: 2 seeds
            assert all(isinstance(v, float) for v in cell["test"]["rmse"])
    assert record["summary"]["best"] in record["losses"]
    assert record["profile"]["task"] == "regression"
    listed = [c["loss"] for c in record["shortlist"]["candidates"]]
    assert listed and set(listed) <= set(record["losses"])
    assert record["shortlist"]["metric"] == "rmse"
    summary = json.loads((out / "_summary.json").read_text())
    assert summary["tables"] == 1 and summary["runs"] == 2 * len(record["losses"])
    # resumable: a second run trains nothing and leaves the stored table as it was
    before = (out / "toy.json").stat().st_mtime_ns
    assert reference.main(["--corpus", str(corpus), "--out", str(out), "--quick"]) == 0
    assert (out / "toy.json").stat().st_mtime_ns == before
    # --add-variants: the loss with the parameters the rules set, beside its default run
    # (a Huber delta by the recipe of its own default, 1.345 x the target's robust scale, is
    # the default retrained: no variant)
    assert "quantile" in record["losses"]
    recipe = 1.345 * record["fields"]["target.robust_scale"]
    record["shortlist"]["candidates"] = [
        {"loss": "quantile", "params": {"q": 0.9}},
        {"loss": "huber", "params": {"delta": float(f"{recipe:.4g}")}},
    ]
    record["shortlist_auto_metric"]["candidates"] = []
    (out / "toy.json").write_text(json.dumps(record))
    assert reference.main(["--corpus", str(corpus), "--out", str(out), "--add-variants"]) == 0
    added = json.loads((out / "toy.json").read_text())
    assert set(added["variants"]) == {"quantile"}
    (variant,) = added["variants"]["quantile"]
    assert variant["params"] == {"q": 0.9}
    assert set(variant["runs"]) == {"0.003"}  # the table's own protocol: --quick, one rate
    assert len(variant["runs"]["0.003"]["test"]["rmse"]) == 2
    assert variant["summary"]["test_mean"] is not None
    assert added["runs"] == record["runs"] and added["summary"] == record["summary"]
    summary = json.loads((out / "_summary.json").read_text())
    assert summary["variants"] == 1 and summary["variant_runs"] == 2
    before = (out / "toy.json").stat().st_mtime_ns
    assert reference.main(["--corpus", str(corpus), "--out", str(out), "--add-variants"]) == 0
    assert (out / "toy.json").stat().st_mtime_ns == before  # nothing missing: untouched
    # a delta from the noise's scale (rule huber-delta-from-noise) is another setting: trained
    noisy = json.loads((out / "toy.json").read_text())
    noisy["shortlist"]["candidates"][1]["params"] = {"delta": float(f"{recipe / 4:.4g}")}
    (out / "toy.json").write_text(json.dumps(noisy))
    assert reference.main(["--corpus", str(corpus), "--out", str(out), "--add-variants"]) == 0
    (huber,) = json.loads((out / "toy.json").read_text())["variants"]["huber"]
    assert huber["params"] == {"delta": float(f"{recipe / 4:.4g}")}


def test_missing_manifest_is_one_line_and_exit_2(tmp_path, capsys):
    reference = _load("reference_runs")
    assert reference.main(["--corpus", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no manifest.json" in err and err.count("\n") == 1
    build = _load("build_corpus")
    assert build.main(["--calibration", str(tmp_path)]) == 2
    assert "no datasets.json" in capsys.readouterr().err


def _record(name: str, task: str, tests: dict[str, float], shortlist: list[str]) -> dict:
    """A stored reference run reduced to what evaluate.py reads: one rate, two seeds."""
    runs = {
        loss: {"0.003": {"val": {"rmse": [v, v]}, "test": {"rmse": [v, v]}}}
        for loss, v in tests.items()
    }
    return {
        "name": name,
        "task": task,
        "primary_metric": "rmse",
        "corruption": None,
        "runs": runs,
        "shortlist": {"candidates": [{"loss": loss} for loss in shortlist]},
    }


def test_evaluate_scores_regret_and_recall_leaving_each_table_out(tmp_path, capsys):
    evaluate = _load("evaluate")
    records = [
        _record("a", "regression", {"mse": 1.0, "mae": 1.2, "huber": 1.005}, ["mae", "huber"]),
        _record("b", "regression", {"mse": 2.0, "mae": 2.5, "huber": 2.2}, ["mae"]),
        _record("c", "regression", {"mse": 3.0, "mae": 3.3, "huber": 3.03}, ["huber", "mse"]),
    ]
    for r in records:
        (tmp_path / f"{r['name']}.json").write_text(json.dumps(r))
    tables = evaluate.load_tables(tmp_path)
    ranked = evaluate.out_of_fold(tables, evaluate.rules_policy)
    s = evaluate.score(tables, ranked)
    assert s["top1_median"] == pytest.approx(0.2)  # a: mae 20%, b: mae 25%, c: huber 1%
    assert s["recall"] == pytest.approx(2 / 3)  # huber within 1% on a; b's list misses mse
    # task_best, fitted on the other two tables only: mse, then huber, then mae
    best = evaluate.out_of_fold(tables, evaluate.task_best_policy)
    assert best == {"a": ["mse", "huber"], "b": ["mse"], "c": ["mse", "huber"]}
    assert evaluate.main(["--reference", str(tmp_path), "--no-wtl", "--losses"]) == 0
    printed = capsys.readouterr().out
    assert "| rules | all | 3 | 20.00% |" in printed
    # mse: best on all three tables, the default itself, on one rules shortlist, never top-1
    assert "| regression | mse | 3 | 3 | 3 | 0.00% | +0.00% | 1 | 0 |" in printed
    assert evaluate.main(["--reference", str(tmp_path / "none")]) == 2


def test_a_failing_table_is_reported_and_the_run_goes_on(tmp_path, capsys):
    build = _load("build_corpus")
    reference = _load("reference_runs")
    entry = build.build_table(
        _regression(40), {"name": "toy", "target": ["y"], "task": "regression"}, tmp_path
    )[0]
    broken = {**entry, "name": "broken", "target": ["no_such_column"]}
    build.write_manifest(tmp_path, [broken], origin="a test")
    summary = reference.run(tmp_path, tmp_path / "reference", quick=True)
    assert summary["this_invocation"]["failed"] == ["broken"]
    assert summary["tables"] == 0
    assert "FAILED" in capsys.readouterr().err
