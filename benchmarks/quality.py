"""Is the advice right? lossadvisor against exhaustive search and against what users do today.

For every dataset folder (``train.csv``, ``test.csv``, described by ``manifest.json``):

1. **exhaustive**: every catalog loss applicable to the task, full-length training with early
   stopping, the learning rate tuned on a validation split of train, 5 seeds; the reference.
2. **lossadvisor**: ``recommend`` on train.csv with its budget, told the target and the metric
   the dataset is judged by (``--metric``, as plain AutoML is); the task is detected.
3. **rules only**: ``recommend --no-search``.
4. **task default**: mse / bce / ce (multilabel_bce; ce for ordinal), lr tuned like the others.
5. **plain AutoML**: an Optuna TPE study over all applicable losses as one categorical
   parameter, plus the learning rate, one run per trial, in lossadvisor's wall time.

The loss that 2-5 choose is scored by the exhaustive runs of that loss (same training, same
seeds), on test.csv, on the dataset's primary metric: so the methods differ only in their pick.
test.csv is read only for scoring. Results are cached per dataset and method in
``--out`` (resumable); the summary is printed as Markdown.

Run: ``.venv/bin/python benchmarks/quality.py`` (about 15 minutes on 2 cores), or ``--quick``;
``--advisor-seeds 3`` also runs lossadvisor with seeds 1 and 2 and prints how its pick varies.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import optuna
import pandas as pd
from scipy import stats
from sklearn.model_selection import train_test_split

from advisor._recommend import recommend
from advisor.losses import load_catalog
from advisor.profiling import profile_frame, read_table, split_xy
from advisor.records import LossId, MetricId, Task
from advisor.search import fit_settings_for
from advisor.training import (
    FeatureEncoder,
    FitSettings,
    MemberSpec,
    TrainingData,
    fit_short,
    metric_direction,
    score_metric,
)

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"
DEFAULTS = {
    Task.REGRESSION: LossId.MSE,
    Task.REGRESSION_COUNT: LossId.MSE,
    Task.REGRESSION_POSITIVE: LossId.MSE,
    Task.BINARY: LossId.BCE,
    Task.MULTICLASS: LossId.CE,
    Task.ORDINAL: LossId.CE,
    Task.MULTILABEL: LossId.MULTILABEL_BCE,
}
LEARNING_RATES = (1e-3, 3e-3, 1e-2)
# Five seeds give the paired W/T/L tests their power; the time ratio is taken against the
# first three only (the fewest the issue allows), so extra seeds never flatter it.
SEEDS = (0, 1, 2, 3, 4)
TIMED_SEEDS = 3
TIE_P = 0.05


# --------------------------------------------------------------------------- data


class Dataset:
    """One manifest entry: train features/target, test features/target, task, metric."""

    def __init__(self, folder: Path, entry: dict[str, Any]) -> None:
        self.name = entry["name"]
        self.target = list(entry["target"])
        self.task = Task(entry["task"])
        self.metric = MetricId(entry["primary_metric"])
        self.train_path = folder / entry["files"]["train"]
        self.test_path = folder / entry["files"]["test"]
        train = read_table(self.train_path)
        self.profile = profile_frame(train, target=self.target, task=self.task)
        self.x_train, self.y_train = split_xy(train, self.profile)
        self.n_classes = self.profile.n_classes

    def test_arrays(self) -> tuple[pd.DataFrame, np.ndarray]:
        """Read only when scoring."""
        return split_xy(read_table(self.test_path), self.profile)


def applicable_losses(dataset: Dataset) -> list[LossId]:
    minimum = float(np.min(dataset.y_train)) if dataset.task.is_regression else 0.0
    losses = [
        spec.id
        for spec in load_catalog().values()
        if dataset.task in spec.tasks and spec.accepts_minimum(minimum)
    ]
    soft = dataset.profile.label_encoding.value in ("probability", "one_hot_columns")
    return [loss for loss in losses if loss is not LossId.SOFT_CE or soft]


# --------------------------------------------------------------------------- exhaustive


class ExhaustivePlan(NamedTuple):
    """The exhaustive protocol for one dataset: its split, step budget and the runs to make."""

    data: TrainingData
    settings: FitSettings
    losses: list[LossId]
    seeds: tuple[int, ...]
    rates: tuple[float, ...]
    x_test: np.ndarray  # encoded like the split's features
    y_test: np.ndarray

    def members(self, seed: int) -> list[MemberSpec]:
        return [
            MemberSpec(loss=loss, params={}, lr=lr, seed=seed)
            for loss in self.losses
            for lr in self.rates
        ]


def exhaustive_plan(dataset: Dataset, *, quick: bool) -> ExhaustivePlan:
    """One validation split of train (seed 0), a step budget from its size, every loss."""
    strata = (
        dataset.y_train if dataset.task in (Task.BINARY, Task.MULTICLASS, Task.ORDINAL) else None
    )
    index = np.arange(len(dataset.y_train))
    train_idx, val_idx = train_test_split(index, test_size=0.2, random_state=0, stratify=strata)
    encoder = FeatureEncoder.from_profile(dataset.profile)
    x_train = encoder.fit_transform(dataset.x_train.iloc[train_idx])
    x_val = encoder.transform(dataset.x_train.iloc[val_idx])
    x_test_frame, y_test = dataset.test_arrays()
    x_test = encoder.transform(x_test_frame)
    data = TrainingData(
        x_train=x_train,
        y_train=dataset.y_train[train_idx],
        x_val=x_val,
        y_val=dataset.y_train[val_idx],
        task=dataset.task,
        n_classes=dataset.n_classes,
        metric=dataset.metric,
    )
    n_train = len(train_idx)
    batch = int(np.clip(n_train // 8, 32, 512))
    steps = 60 if quick else int(np.clip(200 * n_train / batch, 500, 4000))
    settings = FitSettings(
        max_steps=steps, batch_size=batch, eval_every=max(5, steps // 60), patience=12
    )
    return ExhaustivePlan(
        data=data,
        settings=settings,
        losses=applicable_losses(dataset),
        seeds=SEEDS[:2] if quick else SEEDS,
        rates=LEARNING_RATES[1:2] if quick else LEARNING_RATES,
        x_test=x_test,
        y_test=y_test,
    )


class HeldOutPredictions:
    """``on_best`` for ``fit_short``/``fit_splits``: each member's prediction on the test rows
    at its best validation step (None for a member that never scored)."""

    def __init__(self, x_test: np.ndarray) -> None:
        self.x_test = x_test
        self.by_member: dict[int, np.ndarray] = {}

    def __call__(self, member: int, predict: Callable[[np.ndarray], np.ndarray]) -> None:
        self.by_member[member] = predict(self.x_test)

    def get(self, member: int) -> np.ndarray | None:
        return self.by_member.get(member)


def exhaustive(dataset: Dataset, *, quick: bool) -> dict[str, Any]:
    """Every loss x learning rate x seed; lr chosen on validation; test scores per seed."""
    plan = exhaustive_plan(dataset, quick=quick)
    maximize = metric_direction(dataset.metric) == "maximize"
    table: dict[str, dict[str, Any]] = {}
    per_seed = []
    for seed in plan.seeds:
        started = time.monotonic()
        members = plan.members(seed)
        tested = HeldOutPredictions(plan.x_test)
        results = fit_short(
            members, plan.data, settings=plan.settings, data_seed=seed, on_best=tested
        )
        for index, (member, result) in enumerate(zip(members, results, strict=True)):
            test = math.nan
            if (prediction := tested.get(index)) is not None:
                test = score_metric(
                    dataset.metric,
                    plan.y_test,
                    prediction,
                    task=dataset.task,
                    n_classes=dataset.n_classes,
                )
            row = table.setdefault(member.loss.value, {}).setdefault(
                f"{member.lr:g}", {"val": [], "test": []}
            )
            row["val"].append(result.score)
            row["test"].append(test)
        per_seed.append(time.monotonic() - started)
    per_loss = {}
    for loss, by_lr in table.items():
        sign = 1 if maximize else -1
        best_lr = max(
            by_lr,
            key=lambda lr: (
                sign * np.nanmean(by_lr[lr]["val"])
                if np.isfinite(by_lr[lr]["val"]).any()
                else -math.inf
            ),
        )
        per_loss[loss] = {
            "lr": float(best_lr),
            "test": by_lr[best_lr]["test"],
            "test_mean": float(np.nanmean(by_lr[best_lr]["test"])),
            "val_mean": float(np.nanmean(by_lr[best_lr]["val"])),
        }
    finite = {k: v for k, v in per_loss.items() if math.isfinite(v["test_mean"])}
    best = max(finite, key=lambda k: (1 if maximize else -1) * finite[k]["test_mean"])
    return {
        "losses": per_loss,
        "best": best,
        "seconds": sum(per_seed[:TIMED_SEEDS]),
        "seconds_all_seeds": sum(per_seed),
        "seeds": len(plan.seeds),
    }


# --------------------------------------------------------------------------- methods


def run_lossadvisor(
    dataset: Dataset, *, budget: float, search: bool, seed: int = 0
) -> dict[str, Any]:
    started = time.monotonic()
    advice = recommend(
        dataset.train_path,
        target=dataset.target,
        metric=dataset.metric,
        search=search,
        budget_s=budget,
        seed=seed,
    )
    record = {
        "loss": advice.recommendation.loss.value,
        "seconds": time.monotonic() - started,
        "detected_task": advice.profile.task.value,
        "shortlist": [c.loss.value for c in advice.shortlist.candidates],
    }
    if advice.search is not None:
        # the paired validation scores behind the pick, so that a decision rule can be
        # studied on the cached runs without training again
        record["search"] = {
            "trials": advice.search.trials,
            "scores": {r.loss.value: list(r.scores) for r in advice.search.results},
        }
    return record


def run_plain_automl(dataset: Dataset, *, seconds: float, seed: int = 0) -> dict[str, Any]:
    """Optuna TPE over (loss as a categorical, lr), one short run per trial, fixed wall time."""
    started = time.monotonic()
    strata = (
        dataset.y_train if dataset.task in (Task.BINARY, Task.MULTICLASS, Task.ORDINAL) else None
    )
    index = np.arange(len(dataset.y_train))
    train_idx, val_idx = train_test_split(index, test_size=0.2, random_state=seed, stratify=strata)
    encoder = FeatureEncoder.from_profile(dataset.profile)
    data = TrainingData(
        x_train=encoder.fit_transform(dataset.x_train.iloc[train_idx]),
        y_train=dataset.y_train[train_idx],
        x_val=encoder.transform(dataset.x_train.iloc[val_idx]),
        y_val=dataset.y_train[val_idx],
        task=dataset.task,
        n_classes=dataset.n_classes,
        metric=dataset.metric,
    )
    settings = fit_settings_for(len(train_idx))
    losses = [loss.value for loss in applicable_losses(dataset)]
    study = optuna.create_study(
        direction=metric_direction(dataset.metric), sampler=optuna.samplers.TPESampler(seed=seed)
    )
    deadline = started + seconds
    while time.monotonic() < deadline:
        trial = study.ask()
        loss = LossId(trial.suggest_categorical("loss", losses))
        lr = trial.suggest_float("lr", 3e-4, 3e-2, log=True)
        result = fit_short(
            [MemberSpec(loss=loss, params={}, lr=lr, seed=trial.number)],
            data,
            settings=settings,
            data_seed=seed,
            deadline=deadline,
        )[0]
        if math.isfinite(result.score):
            study.tell(trial, result.score)
        else:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
    try:
        loss = study.best_trial.params["loss"]
    except ValueError:
        loss = DEFAULTS[dataset.task].value
    return {"loss": loss, "seconds": time.monotonic() - started, "trials": len(study.trials)}


# --------------------------------------------------------------------------- scoring


def regret(score: float, best: float, maximize: bool) -> float:
    """Relative regret vs the exhaustive best: 0 is as good, 0.05 is 5% worse."""
    gap = (best - score) if maximize else (score - best)
    return max(0.0, gap) / max(abs(best), 1e-12)


def pick_regret(ex: dict[str, Any], loss: str, maximize: bool) -> tuple[list[float], float, float]:
    """A pick's test scores (the exhaustive runs of that loss), their mean and its regret."""
    scores = ex["losses"].get(loss, {}).get("test", [math.nan])
    mean = float(np.nanmean(scores))
    return scores, mean, regret(mean, ex["losses"][ex["best"]]["test_mean"], maximize)


def paired(method: list[float], other: list[float], maximize: bool) -> str:
    """win / tie / loss of ``method`` vs ``other`` by a paired t-test over seeds."""
    a, b = np.asarray(method), np.asarray(other)
    if np.allclose(a, b):
        return "tie"
    p = stats.ttest_rel(a, b).pvalue if len(a) > 1 else 1.0
    better = (a.mean() > b.mean()) == maximize
    if not np.isfinite(p) or p >= TIE_P:
        return "tie"
    return "win" if better else "loss"


def evaluate(
    folder: Path,
    out: Path,
    *,
    quick: bool,
    budget: float,
    only: list[str],
    advisor_seeds: int = 1,
) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    entries = [e for e in manifest["datasets"] if not only or e["name"] in only]
    if quick:
        entries = sorted(entries, key=lambda e: e.get("n_rows_train", 10**9))[:1]
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for number, entry in enumerate(entries, 1):
        cache = out / f"{entry['name']}{'-quick' if quick else ''}.json"
        done = json.loads(cache.read_text()) if cache.exists() else {}
        if done.get("exhaustive", {}).get("seeds", 2 if quick else len(SEEDS)) != (
            2 if quick else len(SEEDS)
        ):
            done = {}  # made with another seed count: the W/T/L pairs would not match
        print(f"[{number}/{len(entries)}] {entry['name']}", file=sys.stderr, flush=True)
        dataset = Dataset(folder, entry)
        steps = {
            "exhaustive": lambda d=dataset: exhaustive(d, quick=quick),
            "lossadvisor": lambda d=dataset: run_lossadvisor(d, budget=budget, search=True),
            "rules_only": lambda d=dataset: run_lossadvisor(d, budget=budget, search=False),
        }
        for method, step in steps.items():
            if method not in done:
                print(f"    {method} ...", file=sys.stderr, flush=True)
                done[method] = step()
                cache.write_text(json.dumps(done, indent=1))
        if "plain_automl" not in done:
            print("    plain_automl ...", file=sys.stderr, flush=True)
            done["plain_automl"] = run_plain_automl(dataset, seconds=done["lossadvisor"]["seconds"])
            cache.write_text(json.dumps(done, indent=1))
        for seed in range(1, advisor_seeds):
            others = done.setdefault("lossadvisor_seeds", {})
            if str(seed) not in others:
                print(f"    lossadvisor seed {seed} ...", file=sys.stderr, flush=True)
                others[str(seed)] = run_lossadvisor(dataset, budget=budget, search=True, seed=seed)
                cache.write_text(json.dumps(done, indent=1))
        rows.append((entry, dataset, done))
    report(rows, quick=quick, budget=budget)
    if advisor_seeds > 1:
        report_seeds(rows, seeds=advisor_seeds)


def report(rows, *, quick: bool, budget: float) -> None:
    print(f"\n## Quality benchmark{' (quick)' if quick else ''}\n")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores; lossadvisor budget "
        f"{budget:g} s; exhaustive: all applicable losses x {len(LEARNING_RATES)} lr x "
        f"{len(SEEDS)} seeds (times: the first {TIMED_SEEDS} seeds)\n"
    )
    print(
        "| dataset | metric | exhaustive best | lossadvisor | rules only | task default | "
        "plain AutoML |"
    )
    print("|---|---|---|---|---|---|---|")
    summary: dict[str, dict[str, list]] = {
        m: {"regret": [], "vs_default": [], "vs_automl": [], "time": []}
        for m in ("lossadvisor", "rules_only", "plain_automl", "task_default")
    }
    for entry, dataset, done in rows:
        ex = done["exhaustive"]
        maximize = metric_direction(dataset.metric) == "maximize"
        best = ex["losses"][ex["best"]]["test_mean"]
        picks = {
            "lossadvisor": done["lossadvisor"]["loss"],
            "rules_only": done["rules_only"]["loss"],
            "task_default": DEFAULTS[dataset.task].value,
            "plain_automl": done["plain_automl"]["loss"],
        }
        cells = []
        for method in ("lossadvisor", "rules_only", "task_default", "plain_automl"):
            loss = picks[method]
            scores, mean, r = pick_regret(ex, loss, maximize)
            seconds = done.get(method, {}).get("seconds", 0.0)
            summary[method]["regret"].append(r)
            summary[method]["time"].append(seconds / max(ex["seconds"], 1e-9))
            default_scores = ex["losses"][picks["task_default"]]["test"]
            summary[method]["vs_default"].append(paired(scores, default_scores, maximize))
            automl_scores = ex["losses"].get(picks["plain_automl"], {}).get("test", scores)
            summary[method]["vs_automl"].append(paired(scores, automl_scores, maximize))
            timing = f", {seconds:.0f}s" if seconds else ""
            cells.append(f"{loss} {mean:.4g} (regret {r:.1%}{timing})")
        print(
            f"| {entry['name']} | {dataset.metric.value} | {ex['best']} {best:.4g} "
            f"({ex['seconds']:.0f}s) | " + " | ".join(cells) + " |"
        )
        if (chosen := validation_pick(ex, maximize)) is not None:
            scores, _, r = pick_regret(ex, chosen, maximize)
            floor = summary.setdefault(
                "exhaustive_on_validation",
                {"regret": [], "vs_default": [], "vs_automl": [], "time": [], "picks": []},
            )
            floor["regret"].append(r)
            floor["time"].append(1.0)
            floor["picks"].append(f"{entry['name']} {chosen} ({r:.1%})")
            default_scores = ex["losses"][picks["task_default"]]["test"]
            floor["vs_default"].append(paired(scores, default_scores, maximize))
            automl_scores = ex["losses"].get(picks["plain_automl"], {}).get("test", scores)
            floor["vs_automl"].append(paired(scores, automl_scores, maximize))
    print(
        "\n| method | median regret | worst regret | vs task default (W/T/L) | "
        "vs plain AutoML (W/T/L) | time / exhaustive |"
    )
    print("|---|---|---|---|---|---|")
    if len(summary.get("exhaustive_on_validation", {}).get("regret", [])) != len(rows):
        summary.pop("exhaustive_on_validation", None)  # older caches lack validation means
    for method, data in summary.items():

        def wtl(results: list[str]) -> str:
            return "/".join(str(results.count(x)) for x in ("win", "tie", "loss"))

        print(
            f"| {method} | {np.median(data['regret']):.2%} | {max(data['regret']):.2%} | "
            f"{wtl(data['vs_default'])} | {wtl(data['vs_automl'])} | "
            f"{np.median(data['time']):.2f} |"
        )

    if "exhaustive_on_validation" in summary:
        print(
            "\nexhaustive_on_validation: the exhaustive search's own pick, the loss with the best "
            "validation mean (what every loss trained in full would choose): "
            + "; ".join(summary["exhaustive_on_validation"]["picks"])
        )


def validation_pick(ex: dict[str, Any], maximize: bool) -> str | None:
    """The loss with the best validation mean at its chosen rate; None for a cache made before
    validation means were kept."""
    means = {loss: v.get("val_mean") for loss, v in ex["losses"].items()}
    if any(m is None for m in means.values()):
        return None
    finite = {loss: m for loss, m in means.items() if math.isfinite(m)}
    if not finite:
        return None
    return max(sorted(finite), key=lambda loss: finite[loss] if maximize else -finite[loss])


def report_seeds(rows, *, seeds: int) -> None:
    """lossadvisor's pick under each of its own seeds: one seed's table is one draw."""
    print(f"\n## lossadvisor over {seeds} seeds of its own\n")
    print("| dataset | " + " | ".join(f"seed {s}" for s in range(seeds)) + " | mean regret |")
    print("|---|" + "---|" * (seeds + 1))
    means, singles, agreed = [], [], 0
    for entry, dataset, done in rows:
        ex = done["exhaustive"]
        maximize = metric_direction(dataset.metric) == "maximize"
        picks = [done["lossadvisor"]["loss"]] + [
            done["lossadvisor_seeds"][str(s)]["loss"] for s in range(1, seeds)
        ]
        regrets = [pick_regret(ex, p, maximize)[2] for p in picks]
        means.append(float(np.mean(regrets)))
        singles += regrets
        agreed += len(set(picks)) == 1
        cells = " | ".join(f"{p} ({r:.1%})" for p, r in zip(picks, regrets, strict=True))
        print(f"| {entry['name']} | {cells} | {means[-1]:.2%} |")
    print(
        f"\nmedian of the per-dataset mean regret {np.median(means):.2%}; worst single pick "
        f"{max(singles):.2%}; all seeds agree on {agreed} of {len(rows)} datasets"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="folder with manifest.json and one folder per dataset",
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--budget", type=float, default=60.0, help="lossadvisor's budget")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the smallest dataset, tiny budgets: checks the harness runs",
    )
    parser.add_argument("--only", nargs="*", default=[], help="dataset names to run")
    parser.add_argument(
        "--advisor-seeds",
        type=int,
        default=1,
        help="also run lossadvisor with seeds 1..N-1 and print how its pick varies",
    )
    args = parser.parse_args(argv)
    if not (args.data / "manifest.json").exists():
        sys.exit(f"quality.py: no manifest.json in {args.data}; pass --data FOLDER")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    budget = min(args.budget, 6.0) if args.quick else args.budget
    if args.advisor_seeds < 1:
        parser.error(f"--advisor-seeds must be at least 1, got {args.advisor_seeds}")
    evaluate(
        args.data,
        args.out,
        quick=args.quick,
        budget=budget,
        only=args.only,
        advisor_seeds=args.advisor_seeds,
    )


if __name__ == "__main__":
    main()
