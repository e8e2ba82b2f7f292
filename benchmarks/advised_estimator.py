"""Is the advice worth having end to end? The advised MLP against the default-loss MLP.

For every dataset folder of ``--data`` (``train.csv``, ``test.csv``, described by
``manifest.json``), and for paired seeds:

- **advised**: ``AdvisedMLPClassifier`` / ``AdvisedMLPRegressor`` with ``loss=None``: the
  advisor profiles train.csv, shortlists and confirms within ``--budget`` seconds, and the MLP
  then trains with the advised loss, parameters and learning rate;
- **default**: the same estimator with the task's default loss (mse for every regression task,
  bce for binary, ce for multiclass and ordinal, multilabel_bce) and the default rate.

Both are told the dataset's primary metric (``metric=``, which also picks the early-stopping
step) and share everything else: network, steps, validation share, and the seed (weights,
validation rows, minibatch order). Each is scored on test.csv, on the primary metric, in the
target's own units or labels. A paired t-test over the seeds says win / tie / loss per
dataset (p < 0.05). test.csv is read only for scoring. Run:

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/advised_estimator.py [--budget 20] [--seeds 3]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy import stats
from sklearn import metrics as skm

from advisor.sklearn import AdvisedMLPClassifier, AdvisedMLPRegressor

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"
DEFAULT_LOSS = {
    "regression": "mse",
    "regression_count": "mse",
    "regression_positive": "mse",
    "binary": "bce",
    "multiclass": "ce",
    "ordinal": "ce",
    "multilabel": "multilabel_bce",
}
LOWER_IS_BETTER = {"mae", "rmse", "median_ae", "poisson_deviance", "gamma_deviance", "mae_index"}
TIE_P = 0.05


def _read(folder: Path, entry: dict[str, Any], part: str) -> tuple[pd.DataFrame, Any]:
    """Features and target of train or test; one-hot targets become class names (sklearn's
    classifiers take one label per row; an indicator matrix would read as multilabel)."""
    frame = pd.read_csv(folder / entry["files"][part])
    target = entry["target"]
    X = frame.drop(columns=target)
    if len(target) == 1:
        return X, frame[target[0]].to_numpy()
    if entry["label_encoding"] == "one_hot_columns":
        return X, np.asarray(target, dtype=object)[frame[target].to_numpy().argmax(axis=1)]
    return X, frame[target].to_numpy()


def _score(metric: str, y: Any, estimator: Any, X: pd.DataFrame) -> float:
    """The primary metric on test rows, in the target's own units or labels."""
    prediction = estimator.predict(X)
    if metric == "rmse":
        return float(skm.root_mean_squared_error(y, prediction))
    if metric == "mae":
        return float(skm.mean_absolute_error(y, prediction))
    if metric == "poisson_deviance":
        return float(skm.mean_poisson_deviance(y, np.clip(prediction, 1e-9, None)))
    if metric == "accuracy":
        return float(skm.accuracy_score(y, prediction))
    if metric == "balanced_accuracy":
        return float(skm.balanced_accuracy_score(y, prediction))
    if metric == "f1_macro":
        return float(skm.f1_score(y, prediction, average="macro", zero_division=0))
    if metric == "mae_index":
        index = {label: i for i, label in enumerate(estimator.classes_.tolist())}
        truth = np.array([index[v] for v in np.asarray(y).tolist()])
        guess = np.array([index[v] for v in np.asarray(prediction).tolist()])
        return float(np.mean(np.abs(truth - guess)))
    raise ValueError(f"no scorer for metric {metric!r} in this benchmark")


def _estimator(entry: dict[str, Any], *, loss: str | None, seed: int, args) -> Any:
    kind = AdvisedMLPRegressor if entry["task"].startswith("regression") else AdvisedMLPClassifier
    return kind(
        loss=loss,
        metric=entry["primary_metric"],
        budget_s=args.budget,
        max_steps=args.max_steps,
        random_state=seed,
    )


def run_dataset(folder: Path, entry: dict[str, Any], args) -> dict[str, Any]:
    X_train, y_train = _read(folder, entry, "train")
    X_test, y_test = _read(folder, entry, "test")
    metric = entry["primary_metric"]
    runs: dict[str, list[dict[str, Any]]] = {"advised": [], "default": []}
    for seed in range(args.seeds):
        for arm, loss in (("advised", None), ("default", DEFAULT_LOSS[entry["task"]])):
            started = time.monotonic()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the profile's doubtful-reading warnings
                fitted = _estimator(entry, loss=loss, seed=seed, args=args).fit(X_train, y_train)
            elapsed = time.monotonic() - started
            runs[arm].append(
                {
                    "seed": seed,
                    "loss": fitted.loss_,
                    "params": fitted.loss_params_,
                    "lr": fitted.lr_,
                    "task": fitted.profile_.task.value,
                    "score": _score(metric, y_test, fitted, X_test),
                    "fit_s": round(elapsed, 2),
                }
            )
            print(
                f"  {entry['name']:<22} seed {seed} {arm:<8} {fitted.loss_:<22} "
                f"{metric} {runs[arm][-1]['score']:.4f} ({elapsed:.1f} s)",
                flush=True,
            )
    return {"name": entry["name"], "task": entry["task"], "metric": metric, "runs": runs}


def _verdict(result: dict[str, Any]) -> tuple[float, float, str]:
    """Mean advantage of the advised arm (positive = better), p of the paired t-test, W/T/L."""
    advised = np.array([r["score"] for r in result["runs"]["advised"]])
    default = np.array([r["score"] for r in result["runs"]["default"]])
    sign = -1.0 if result["metric"] in LOWER_IS_BETTER else 1.0
    gain = sign * (advised - default)
    if np.allclose(gain, 0.0):
        return 0.0, 1.0, "T"
    p = float(stats.ttest_rel(advised, default).pvalue) if len(gain) > 1 else 1.0
    if not np.isfinite(p):  # every seed the same difference: no spread to test against
        p = 0.0
    mark = "T" if p >= TIE_P else ("W" if gain.mean() > 0 else "L")
    return float(gain.mean()), p, mark


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], capture_output=True, text=True, cwd=Path(__file__).parent
        )
    except OSError:
        return "?"
    return done.stdout.strip()


def _commit() -> str:
    """The commit the code ran at, flagged when the working tree differs from it."""
    changed = _git("status", "--porcelain", "--untracked-files=no", "--", "advisor")
    return _git("rev-parse", "--short", "HEAD") + (" + local changes" if changed else "")


def _machine(commit: str) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{datetime.date.today().isoformat()}, commit {commit}, {cpu}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, {torch.get_num_threads()} torch thread(s), "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
    )


def report(results: list[dict[str, Any]], args, *, commit: str) -> None:
    print(
        f"\n## Advised MLP vs the task's default loss (budget {args.budget:g} s, "
        f"{args.seeds} paired seeds, max {args.max_steps} steps)\n"
    )
    print(f"machine: {_machine(commit)}\n")
    print(
        "| dataset | task | metric | advised loss (per seed) | advised | default loss | default "
        "| advantage | p | W/T/L |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    tally = {"W": 0, "T": 0, "L": 0}
    for result in results:
        advised = [r["score"] for r in result["runs"]["advised"]]
        default = [r["score"] for r in result["runs"]["default"]]
        gain, p, mark = _verdict(result)
        tally[mark] += 1
        picks = ", ".join(r["loss"] for r in result["runs"]["advised"])
        print(
            f"| {result['name']} | {result['task']} | {result['metric']} | {picks} | "
            f"{np.mean(advised):.4f} ± {np.std(advised):.4f} | "
            f"{result['runs']['default'][0]['loss']} | "
            f"{np.mean(default):.4f} ± {np.std(default):.4f} | {gain:+.4f} | {p:.3f} | {mark} |"
        )
    advised_s = sum(r["fit_s"] for res in results for r in res["runs"]["advised"])
    default_s = sum(r["fit_s"] for res in results for r in res["runs"]["default"])
    print(
        f"\nadvised wins {tally['W']}, ties {tally['T']}, loses {tally['L']} of {len(results)} "
        f"datasets (paired t-test over seeds, p < {TIE_P}; advantage: advised minus default, "
        f"sign flipped where lower is better). Fit time: advised {advised_s:.0f} s, default "
        f"{default_s:.0f} s in all."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="datasets folder")
    parser.add_argument("--budget", type=float, default=20.0, help="advisor seconds per fit")
    parser.add_argument("--seeds", type=int, default=3, help="paired seeds per dataset")
    parser.add_argument("--max-steps", type=int, default=600, help="training steps per fit")
    parser.add_argument("--only", nargs="*", default=None, help="dataset names to run")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    args = parser.parse_args()

    commit = _commit()  # at the start: the tree may change while it runs
    manifest = json.loads((args.data / "manifest.json").read_text())
    results = []
    for entry in manifest["datasets"]:
        if args.only and entry["name"] not in args.only:
            continue
        results.append(run_dataset(args.data, entry, args))
        if args.out:
            args.out.write_text(json.dumps(results, indent=1))
    report(results, args, commit=commit)


if __name__ == "__main__":
    main()
