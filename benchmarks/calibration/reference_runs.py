"""Reference runs on the calibration corpus: every applicable loss, trained the exhaustive way.

For each table of the corpus (``build_corpus.py``'s ``manifest.json``) this trains every
catalog loss applicable to the task with the quality benchmark's exhaustive protocol
(``benchmarks/quality.py``: one validation split of train, 3 learning rates, 5 seeds, a step
budget from the table's size, early stopping on the primary metric), the seeds stacked in one
batched run (``fit_splits``). It keeps, per loss, per learning rate and per seed, the
validation and test scores on every metric that applies to the task (from the stored
predictions at the best validation step), the steps trained, and the table's profile and
rules-only shortlists, so that the priors can be fitted from these files without training.

One JSON per table in ``benchmarks/calibration/reference/`` (committed); a table whose JSON
exists with the same protocol is skipped, so the run resumes where it stopped. Tables run
from the cheapest to the dearest. ``_summary.json`` there totals the compute.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/calibration/reference_runs.py``
(build the corpus first); ``--quick`` checks the harness (2 seeds, 1 rate, 60 steps);
``--refresh`` redoes the stored tables' profiles, rule fields and shortlists without training
(after a new profile measurement or rule).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import advisor
from advisor.records import MetricId
from advisor.selection import parse_objective, profile_fields
from advisor.training import fit_short, fit_splits, metric_applies, metric_direction, score_metric

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = ROOT / "benchmarks" / "results" / "calibration"
DEFAULT_OUT = ROOT / "benchmarks" / "calibration" / "reference"
SCHEMA_VERSION = 1
DIGITS = 6


def load_quality():
    """``benchmarks/quality.py`` as a module: its Dataset and exhaustive protocol are reused."""
    spec = importlib.util.spec_from_file_location("quality", ROOT / "benchmarks" / "quality.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


quality = load_quality()


def _round(value: float | None) -> float | None:
    """Six significant digits; NaN and infinities as null (JSON has neither)."""
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.{DIGITS}g}")


def task_metrics(task) -> list[MetricId]:
    return [m for m in MetricId if metric_applies(m, task)]


def _score(metric, y, prediction, *, task, n_classes) -> float | None:
    """One metric; None where it is undefined (e.g. Poisson deviance of negative labels)."""
    try:
        return _round(score_metric(metric, y, prediction, task=task, n_classes=n_classes))
    except ValueError:
        return None


def _scores(metrics, y, prediction, *, task, n_classes) -> dict[str, float | None]:
    if prediction is None:
        return {m.value: None for m in metrics}
    return {m.value: _score(m, y, prediction, task=task, n_classes=n_classes) for m in metrics}


def _fit(plan, *, batch_seeds: bool):
    """``results[seed index][member]`` and the test predictions at each member's best step,
    alike indexed: the seeds stacked in one run, or one after another."""
    members = [plan.members(seed) for seed in plan.seeds]
    if batch_seeds:
        tested = quality.HeldOutPredictions(plan.x_test)
        results = fit_splits(
            members,
            [plan.data] * len(plan.seeds),
            settings=plan.settings,
            data_seeds=list(plan.seeds),
            on_best=tested,
        )
        flat = iter(range(sum(len(group) for group in members)))
        tests = [[tested.get(next(flat)) for _ in group] for group in members]
    else:
        results, tests = [], []
        for group, seed in zip(members, plan.seeds, strict=True):
            tested = quality.HeldOutPredictions(plan.x_test)
            results.append(
                fit_short(group, plan.data, settings=plan.settings, data_seed=seed, on_best=tested)
            )
            tests.append([tested.get(index) for index in range(len(group))])
    return members, results, tests


def _shortlist(profile, metric: MetricId | None) -> dict[str, Any]:
    """The rules-only shortlist with the hand weights: the "before" that a calibration of
    those weights (``fit_priors.py``) is judged against, whatever ``rules/calibration.yaml``
    holds when the table is run."""
    from advisor.selection import load_rules

    listed = advisor.shortlist(profile, metric=metric, rules=load_rules(calibrated=False))

    def candidate(c) -> dict[str, Any]:
        return {
            "loss": c.loss.value,
            "score": c.score,
            "params": dict(c.params),
            "rules": [r.rule for r in c.reasons],
        }

    return {
        "metric_given": None if metric is None else metric.value,
        "metric": listed.metric.value,
        "candidates": [candidate(c) for c in listed.candidates],
        "excluded": [candidate(c) for c in listed.excluded],
        "fired": [f.rule for f in listed.trace if f.fired],
    }


def _summary(runs: dict[str, Any], metric: MetricId) -> dict[str, Any]:
    """Per loss: the rate with the best mean validation score, and its test scores (as quality)."""
    sign = 1 if metric_direction(metric) == "maximize" else -1
    per_loss = {}
    for loss, by_lr in runs.items():

        def key(lr: str, by_lr=by_lr) -> float:
            val = [v for v in by_lr[lr]["val"][metric.value] if v is not None]
            return sign * float(np.mean(val)) if val else -math.inf

        best_lr = max(by_lr, key=key)
        test = [v for v in by_lr[best_lr]["test"][metric.value] if v is not None]
        per_loss[loss] = {
            "lr": float(best_lr),
            "test_mean": _round(float(np.mean(test))) if test else None,
        }
    finite = {k: v for k, v in per_loss.items() if v["test_mean"] is not None}
    best = max(finite, key=lambda k: sign * finite[k]["test_mean"]) if finite else None
    return {"losses": per_loss, "best": best}


def reference_table(
    folder: Path, entry: dict[str, Any], *, quick: bool, batch_seeds: bool = True
) -> dict[str, Any]:
    """Train every applicable loss on one table; return its JSON record."""
    dataset = quality.Dataset(folder, entry)
    plan = quality.exhaustive_plan(dataset, quick=quick)
    metrics = task_metrics(dataset.task)
    wall, cpu = time.monotonic(), time.process_time()
    members, results, tests = _fit(plan, batch_seeds=batch_seeds)
    seconds, cpu_seconds = time.monotonic() - wall, time.process_time() - cpu
    runs: dict[str, dict[str, Any]] = {}
    for group, group_results, group_tests in zip(members, results, tests, strict=True):
        for member, result, tested in zip(group, group_results, group_tests, strict=True):
            cell = runs.setdefault(member.loss.value, {}).setdefault(
                f"{member.lr:g}",
                {
                    "val": {m.value: [] for m in metrics},
                    "test": {m.value: [] for m in metrics},
                    "best_step": [],
                    "steps": [],
                },
            )
            kwargs = {"task": dataset.task, "n_classes": dataset.n_classes}
            val = _scores(metrics, plan.data.y_val, result.prediction, **kwargs)
            test = _scores(metrics, plan.y_test, tested, **kwargs)
            for m in metrics:
                cell["val"][m.value].append(val[m.value])
                cell["test"][m.value].append(test[m.value])
            cell["best_step"].append(result.best_step)
            cell["steps"].append(result.steps)
    profile = advisor.profile(dataset.train_path, target=dataset.target, task=dataset.task)
    fields = profile_fields(profile, parse_objective(None), dataset.metric)
    return {
        "schema_version": SCHEMA_VERSION,
        "name": dataset.name,
        "task": dataset.task.value,
        "target": dataset.target,
        "primary_metric": dataset.metric.value,
        "corruption": entry.get("corruption"),
        "n_rows_train": int(len(dataset.y_train)),
        "protocol": {
            "quick": quick,
            "seeds": list(plan.seeds),
            "learning_rates": list(plan.rates),
            "max_steps": plan.settings.max_steps,
            "batch_size": plan.settings.batch_size,
            "eval_every": plan.settings.eval_every,
            "patience": plan.settings.patience,
            "validation": "train_test_split(test_size=0.2, random_state=0) of train.csv",
            "best_step_by": dataset.metric.value,
            "seeds_batched": batch_seeds,
        },
        "metrics": [m.value for m in metrics],
        "losses": [loss.value for loss in plan.losses],
        "runs": runs,
        "summary": _summary(runs, dataset.metric),
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_seconds, 2),
        "profile": profile.to_dict(),
        "fields": {k: v for k, v in fields.items() if _jsonable(v)},
        "shortlist": _shortlist(profile, dataset.metric),
        "shortlist_auto_metric": _shortlist(profile, None),
    }


def refresh(corpus: Path, out: Path, *, only: list[str] | None = None) -> list[str]:
    """Re-profile every stored table and redo its rule fields and shortlists, keeping its runs.

    A new profile measurement or a new rule changes what the rules see, not what the losses
    scored, so the stored training results stand and only the rules' view is redone (seconds
    per table, no training). Returns the names refreshed.
    """
    manifest = {
        e["name"]: e for e in json.loads((corpus / "manifest.json").read_text())["datasets"]
    }
    done = []
    for path in sorted(out.glob("[!_]*.json")):
        record = json.loads(path.read_text())
        entry = manifest.get(record["name"])
        if entry is None or (only and record["name"] not in only):
            continue
        metric = MetricId(record["primary_metric"])
        profile = advisor.profile(
            corpus / entry["files"]["train"], target=record["target"], task=record["task"]
        )
        fields = profile_fields(profile, parse_objective(None), metric)
        record["profile"] = profile.to_dict()
        record["fields"] = {k: v for k, v in fields.items() if _jsonable(v)}
        record["shortlist"] = _shortlist(profile, metric)
        record["shortlist_auto_metric"] = _shortlist(profile, None)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, separators=(",", ":")) + "\n")
        tmp.replace(path)
        done.append(record["name"])
    return done


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except TypeError:
        return False
    return True


def cost(entry: dict[str, Any]) -> float:
    """Rough training cost, to run the cheap tables first (the step budget grows with rows)."""
    return float(entry.get("n_rows_train") or 0) * (len(entry["target"]) + 1)


def _done(path: Path, quick: bool) -> bool:
    if not path.exists():
        return False
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError:
        return False
    return (
        record.get("schema_version") == SCHEMA_VERSION
        and record.get("protocol", {}).get("quick") == quick
    )


def _commit() -> str:
    """The commit trained with (a snapshot outside git names it in REFERENCE_COMMIT)."""
    if os.environ.get("REFERENCE_COMMIT"):
        return os.environ["REFERENCE_COMMIT"]
    try:
        return subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_summary(out: Path) -> dict[str, Any]:
    """Totals over every stored table: how many, and the compute they took."""
    records = [json.loads(p.read_text()) for p in sorted(out.glob("[!_]*.json"))]
    summary = {
        "tables": len(records),
        "by_task": {},
        "train_seconds": round(sum(r["seconds"] for r in records), 1),
        "train_cpu_seconds": round(sum(r["cpu_seconds"] for r in records), 1),
        "runs": sum(
            len(seeds)
            for r in records
            for by_lr in r["runs"].values()
            for cell in by_lr.values()
            for seeds in [cell["steps"]]
        ),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared), OMP_NUM_THREADS="
        f"{os.environ.get('OMP_NUM_THREADS', 'unset')}",
        "commit": _commit(),
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
    }
    for r in records:
        summary["by_task"][r["task"]] = summary["by_task"].get(r["task"], 0) + 1
    (out / "_summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def run(
    corpus: Path,
    out: Path,
    *,
    quick: bool = False,
    only: list[str] | None = None,
    batch_seeds: bool = True,
) -> dict[str, Any]:
    manifest = json.loads((corpus / "manifest.json").read_text())
    entries = [e for e in manifest["datasets"] if not only or e["name"] in only]
    entries.sort(key=cost)
    out.mkdir(parents=True, exist_ok=True)
    wall, cpu = time.monotonic(), time.process_time()
    failed: list[str] = []
    for number, entry in enumerate(entries, 1):
        path = out / f"{entry['name']}.json"
        if _done(path, quick):
            continue
        print(f"[{number}/{len(entries)}] {entry['name']} ...", file=sys.stderr, flush=True)
        try:
            record = reference_table(corpus, entry, quick=quick, batch_seeds=batch_seeds)
        except Exception as error:  # one table's failure must not stop a run of hours
            failed.append(entry["name"])
            print(f"    FAILED: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
            continue
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, separators=(",", ":")) + "\n")
        tmp.replace(path)  # a killed run never leaves a half-written table behind
        print(
            f"    {record['seconds']:.0f} s, best {record['summary']['best']}",
            file=sys.stderr,
            flush=True,
        )
    summary = write_summary(out)
    summary["this_invocation"] = {
        "wall_seconds": round(time.monotonic() - wall, 1),
        "cpu_seconds": round(time.process_time() - cpu, 1),
        "failed": failed,
    }
    print(json.dumps(summary, indent=1))
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus", type=Path, default=DEFAULT_CORPUS, help="build_corpus.py's output folder"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--only", nargs="*", default=[], help="table names to run")
    parser.add_argument("--quick", action="store_true", help="2 seeds, 1 rate, 60 steps")
    parser.add_argument("--no-batch", action="store_true", help="train the seeds one after another")
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="re-profile the stored tables and redo their rule fields and shortlists (no training)",
    )
    args = parser.parse_args(argv)
    if not (args.corpus / "manifest.json").exists():
        print(
            f"reference_runs.py: no manifest.json in {args.corpus}; run build_corpus.py first "
            "or pass --corpus FOLDER",
            file=sys.stderr,
        )
        return 2
    if args.refresh:
        names = refresh(args.corpus, args.out, only=args.only)
        print(f"refreshed the profile, fields and shortlists of {len(names)} tables")
        return 0
    run(args.corpus, args.out, quick=args.quick, only=args.only, batch_seeds=not args.no_batch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
