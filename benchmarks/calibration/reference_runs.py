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

Variants: the runs above train each loss with the catalog defaults, but the advisor trains a
shortlisted loss with the parameters the rules set on the table (focal's ``alpha`` from the
class prior, Huber's ``delta`` from the target's robust scale, a quantile's ``q``). A pick
must be scored as it is trained, so ``--add-variants`` also trains, on every stored table,
each loss of its rules-only shortlists whose rule parameters differ from the catalog defaults,
with the same protocol, and stores it under ``variants`` (``variants[loss]`` is a list of
``{"params", "runs", "summary", "seconds", "cpu_seconds"}``). It trains only the variants a
table lacks and leaves everything else in the file as it is.
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
from advisor.records import LossId, MetricId
from advisor.selection import parse_objective, profile_fields
from advisor.training import (
    MemberSpec,
    fit_short,
    fit_splits,
    metric_applies,
    metric_direction,
    score_metric,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluate import derived_defaults, non_default  # noqa: E402  (the sibling script)

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


def rule_variants(record: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per loss, the parameter sets the table's rules-only shortlists give it that differ from
    the catalog defaults: only the differing parameters, e.g. ``{"focal": [{"alpha": 0.97}]}``.

    Both stored shortlists (the primary metric given, and chosen by the rules) are read; the
    parameters come from ``set`` rules on the profile, so the weights never change them.
    """
    found: dict[str, list[dict[str, Any]]] = {}
    derived = derived_defaults(record)
    for key in ("shortlist", "shortlist_auto_metric"):
        for candidate in record.get(key, {}).get("candidates", []):
            params = non_default(candidate["loss"], candidate["params"], derived)
            if params and params not in found.setdefault(candidate["loss"], []):
                found[candidate["loss"]].append(params)
    return {loss: sets for loss, sets in found.items() if sets}


class _VariantPlan:
    """An exhaustive plan whose members are the given (loss, params) pairs, not every loss."""

    def __init__(self, plan, wanted: list[tuple[str, dict[str, Any]]]) -> None:
        self._plan = plan
        self.wanted = wanted

    def __getattr__(self, name: str):
        return getattr(self._plan, name)

    def members(self, seed: int) -> list[MemberSpec]:
        return [
            MemberSpec(loss=LossId(loss), params=dict(params), lr=lr, seed=seed)
            for loss, params in self.wanted
            for lr in self._plan.rates
        ]


def _cells(plan, members, results, tests, dataset, metrics) -> dict[tuple[int, str], Any]:
    """Per member index within a seed group: ``{lr: cell}`` (as ``runs[loss]``)."""
    cells: dict[int, dict[str, Any]] = {}
    kwargs = {"task": dataset.task, "n_classes": dataset.n_classes}
    for group, group_results, group_tests in zip(members, results, tests, strict=True):
        for index, (member, result, tested) in enumerate(
            zip(group, group_results, group_tests, strict=True)
        ):
            slot = index // len(plan.rates)
            cell = cells.setdefault(slot, {}).setdefault(
                f"{member.lr:g}",
                {
                    "val": {m.value: [] for m in metrics},
                    "test": {m.value: [] for m in metrics},
                    "best_step": [],
                    "steps": [],
                },
            )
            val = _scores(metrics, plan.data.y_val, result.prediction, **kwargs)
            test = _scores(metrics, plan.y_test, tested, **kwargs)
            for m in metrics:
                cell["val"][m.value].append(val[m.value])
                cell["test"][m.value].append(test[m.value])
            cell["best_step"].append(result.best_step)
            cell["steps"].append(result.steps)
    return cells


def missing_variants(record: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The rule variants of a stored table that it has not trained yet."""
    stored = record.get("variants", {})
    return [
        (loss, params)
        for loss, sets in rule_variants(record).items()
        if loss in record["runs"]  # a loss the table trains at all (applicable)
        for params in sets
        if params not in [v["params"] for v in stored.get(loss, [])]
    ]


def add_variants(
    folder: Path, entry: dict[str, Any], record: dict[str, Any], *, batch_seeds: bool = True
) -> dict[str, Any]:
    """Train the table's missing rule variants with its stored protocol; return the record
    with them added under ``variants`` (nothing else changes)."""
    wanted = missing_variants(record)
    if not wanted:
        return record
    quick = bool(record["protocol"]["quick"])
    dataset = quality.Dataset(folder, entry)
    plan = _VariantPlan(quality.exhaustive_plan(dataset, quick=quick), wanted)
    metrics = [MetricId(m) for m in record["metrics"]]
    wall, cpu = time.monotonic(), time.process_time()
    members, results, tests = _fit(plan, batch_seeds=batch_seeds)
    seconds, cpu_seconds = time.monotonic() - wall, time.process_time() - cpu
    cells = _cells(plan, members, results, tests, dataset, metrics)
    variants = record.setdefault("variants", {})
    for slot, (loss, params) in enumerate(wanted):
        runs = {loss: cells[slot]}
        variants.setdefault(loss, []).append(
            {
                "params": params,
                "runs": cells[slot],
                "summary": _summary(runs, dataset.metric)["losses"][loss],
                # the table's variants trained together: their time is shared equally
                "seconds": round(seconds / len(wanted), 2),
                "cpu_seconds": round(cpu_seconds / len(wanted), 2),
            }
        )
    return record


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
    cells = _cells(plan, members, results, tests, dataset, metrics)
    runs = {loss.value: cells[slot] for slot, loss in enumerate(plan.losses)}
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
        "variants": sum(len(sets) for r in records for sets in r.get("variants", {}).values()),
        "variant_train_seconds": round(
            sum(v["seconds"] for r in records for vs in r.get("variants", {}).values() for v in vs),
            1,
        ),
        "variant_train_cpu_seconds": round(
            sum(
                v["cpu_seconds"]
                for r in records
                for vs in r.get("variants", {}).values()
                for v in vs
            ),
            1,
        ),
        "variant_runs": sum(
            len(cell["steps"])
            for r in records
            for vs in r.get("variants", {}).values()
            for v in vs
            for cell in v["runs"].values()
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


def run_variants(
    corpus: Path, out: Path, *, only: list[str] | None = None, batch_seeds: bool = True
) -> dict[str, Any]:
    """``--add-variants``: train every stored table's missing rule variants, cheapest first."""
    manifest = {
        e["name"]: e for e in json.loads((corpus / "manifest.json").read_text())["datasets"]
    }
    paths = [
        p
        for p in sorted(out.glob("[!_]*.json"))
        if p.stem in manifest and (not only or p.stem in only)
    ]
    paths.sort(key=lambda p: cost(manifest[p.stem]))
    wall, cpu = time.monotonic(), time.process_time()
    failed: list[str] = []
    for number, path in enumerate(paths, 1):
        record = json.loads(path.read_text())
        wanted = missing_variants(record)
        if not wanted:
            continue
        shown = ", ".join(f"{loss} {params}" for loss, params in wanted)
        print(f"[{number}/{len(paths)}] {record['name']}: {shown} ...", file=sys.stderr, flush=True)
        try:
            record = add_variants(corpus, manifest[path.stem], record, batch_seeds=batch_seeds)
        except Exception as error:  # one table's failure must not stop the others
            failed.append(record["name"])
            print(f"    FAILED: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
            continue
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, separators=(",", ":")) + "\n")
        tmp.replace(path)
        added = [
            v for loss, params in wanted for v in record["variants"][loss] if v["params"] == params
        ]
        print(
            f"    {sum(v['seconds'] for v in added):.0f} s, "
            + ", ".join(f"{v['summary']['test_mean']}" for v in added),
            file=sys.stderr,
            flush=True,
        )
    before = out / "_summary.json"
    kept = json.loads(before.read_text()) if before.exists() else {}
    summary = write_summary(out)
    if kept.get("commit"):  # the default runs' provenance stays; the variants get their own
        summary["variants_commit"], summary["variants_date"] = summary["commit"], summary["date"]
        summary["variants_machine"] = summary["machine"]
        for key in ("commit", "date", "machine"):
            summary[key] = kept.get(key, summary[key])
        before.write_text(json.dumps(summary, indent=1) + "\n")
    return _reported(summary, wall=wall, cpu=cpu, failed=failed)


def _reported(summary: dict[str, Any], *, wall: float, cpu: float, failed: list[str]) -> dict:
    """Print the summary with what this invocation cost (from ``wall``/``cpu`` on) and return it."""
    summary["this_invocation"] = {
        "wall_seconds": round(time.monotonic() - wall, 1),
        "cpu_seconds": round(time.process_time() - cpu, 1),
        "failed": failed,
    }
    print(json.dumps(summary, indent=1))
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
    return _reported(summary, wall=wall, cpu=cpu, failed=failed)


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
    parser.add_argument(
        "--add-variants",
        action="store_true",
        help="train each stored table's losses with the parameters its rules set (only the "
        "variants it lacks; its other results stay as they are)",
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
    if args.add_variants:
        run_variants(args.corpus, args.out, only=args.only, batch_seeds=not args.no_batch)
        return 0
    run(args.corpus, args.out, quick=args.quick, only=args.only, batch_seeds=not args.no_batch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
