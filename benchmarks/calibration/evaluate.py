"""How good is a shortlist order on the calibration corpus? Out of fold, from stored runs only.

Reads the reference runs (``reference/<table>.json``, see ``reference_runs.py``) and scores
ranking policies, leave-one-table-out: a policy is fitted on every table but one and judged
on the one left out, so no table scores the weights it helped to set. Per table, each loss
is scored as the quality benchmark scores a pick: its test mean on the table's primary
metric at the learning rate chosen on validation, and its regret is the relative gap to the
best loss's (``quality.regret``).

A loss is scored as the advisor trains it: with the parameters the table's rules set (focal's
``alpha``, Huber's ``delta``), i.e. by its rule variant (``reference_runs.py
--add-variants``) where the rules set parameters other than the catalog defaults and the
variant was trained, by its default run otherwise. "Best" is the best of everything trained
on the table, defaults and variants alike. ``scored_runs``, ``rule_params`` and ``match`` are
the one scoring function that ``fit_priors.py`` and ``evaluate_search.py`` use too.

Policies:
- ``rules``: the shipped rules as they are (hand weights): the stored rules-only shortlist,
  made with the table's primary metric given (as the quality benchmark gives ``--metric``).
  Nothing is fitted, so out of fold is the same as in sample: these are the "before" figures.
- ``task_default``: mse / bce / ce / multilabel_bce (``quality.DEFAULTS``), a shortlist of one.
- ``task_best``: a naive calibration, for scale: per task, losses ordered by their mean
  regret on the other tables, shortlist as long as the rules' shortlist for the table.

Printed per policy: top-1 regret (median / mean / worst, share within 1%), shortlist recall
(the best loss or one within 1% of it is on the shortlist), the regret of the shortlist's best
member (what a perfect search could reach), and W/T/L of the top-1 against the task default
(paired t-test over the seeds, ``quality.paired``).

Run: ``.venv/bin/python benchmarks/calibration/evaluate.py`` (seconds).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REFERENCE = ROOT / "benchmarks" / "calibration" / "reference"
NEAR = 0.01  # "within 1% of the best"

DEFAULTS = {
    "regression": "mse",
    "regression_count": "mse",
    "regression_positive": "mse",
    "binary": "bce",
    "multiclass": "ce",
    "ordinal": "ce",
    "multilabel": "multilabel_bce",
}
MAXIMIZE = {
    "r2",
    "accuracy",
    "balanced_accuracy",
    "f1_macro",
    "f1_micro",
    "roc_auc",
    "pr_auc",
    "qwk",
}


def _quality():
    """``benchmarks/quality.py`` (its paired test); loaded only when W/T/L is asked (torch)."""
    spec = importlib.util.spec_from_file_location("quality", ROOT / "benchmarks" / "quality.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- scoring runs

PARAM_RTOL = 1e-3  # rule parameters are stored to 4 significant digits


class Run(NamedTuple):
    """One trained (loss, parameters) of a table, at the learning rate chosen on validation.

    (A NamedTuple, not a dataclass: the sibling scripts are loaded from their paths, outside
    ``sys.modules``, where a dataclass cannot be built.)
    """

    loss: str
    params: dict[str, Any]  # only the parameters that differ from the catalog defaults
    lr: str
    test: list[float]  # per seed; NaN where a seed gave no score
    mean: float

    @property
    def label(self) -> str:
        shown = ", ".join(f"{k}={v:.4g}" for k, v in self.params.items())
        return f"{self.loss}({shown})" if shown else self.loss


# Parameters the loss derives from the data when left unset by the very recipe the pick that
# records them uses (a weighted BCE's pos_weight: negatives over positives of the rows it
# trains on, which a search pick records): a run that differs only there is the default loss
# retrained on a slightly different subset, i.e. run-to-run noise, not another setting
# (benchmarks/README.md, "Scored as the advisor trains it").
DERIVED_AS_DEFAULT = frozenset({("bce_weighted", "pos_weight")})

# Huber's default delta is 1.345 x the target's robust scale (the training code's recipe): a
# delta equal to that on the table is the default loss too. The rules set 1.345 x the noise's
# scale instead (rule huber-delta-from-scale), which differs wherever the features explain
# part of the target; the delta the hand rules set before that change was the default recipe
# on the whole train.csv, so those stored variants read as the default run, as before.
HUBER_K = 1.345


def derived_defaults(record: dict[str, Any]) -> dict[tuple[str, str], float]:
    """The values the table's default runs derived for parameters left unset."""
    scale = (record.get("fields") or {}).get("target.robust_scale")
    return {("huber", "delta"): HUBER_K * float(scale)} if scale else {}


def non_default(
    loss: str,
    params: dict[str, Any] | None,
    derived: dict[tuple[str, str], float] | None = None,
) -> dict[str, Any]:
    """The parameters of ``params`` that differ from the loss's catalog defaults (sorted);
    ``derived``: what the default runs derived on this table (``derived_defaults``)."""
    if not params:
        return {}
    from advisor.losses import get_loss

    defaults = get_loss(loss).defaults()
    recipes = derived or {}
    return {
        k: v
        for k, v in sorted(params.items())
        if k in defaults
        and not _same(v, defaults[k])
        and (loss, k) not in DERIVED_AS_DEFAULT
        and not ((loss, k) in recipes and _same(v, recipes[(loss, k)]))
    }


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(float(a), float(b), rel_tol=PARAM_RTOL, abs_tol=1e-12)


def same_params(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two non-default parameter sets alike (to the 4 digits the rules store)."""
    return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)


def rule_params(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per loss, the non-default parameters the table's rules set (empty: none).

    Read from the stored rules-only shortlists (the primary metric given first); the
    parameters come from ``set`` rules on the profile, which the loss weights never change, so
    they are those of any shortlist the rules make on the table, fitted weights included.
    """
    found: dict[str, dict[str, Any]] = {}
    derived = derived_defaults(record)
    for key in ("shortlist", "shortlist_auto_metric"):
        listed = record.get(key) or {}
        for candidate in listed.get("candidates", []) + listed.get("excluded", []):
            params = non_default(candidate["loss"], candidate.get("params"), derived)
            if params:
                found.setdefault(candidate["loss"], params)
    return found


def _chosen(loss: str, params: dict[str, Any], by_lr: dict[str, Any], metric: str, sign: int):
    lrs = [lr for lr in by_lr if _finite(by_lr[lr]["val"][metric])]
    if not lrs:
        return None
    best_lr = max(lrs, key=lambda lr: sign * _mean(by_lr[lr]["val"][metric]))
    scores = by_lr[best_lr]["test"][metric]
    if not _finite(scores):
        return None
    test = [math.nan if s is None else float(s) for s in scores]
    return Run(loss, params, best_lr, test, float(np.nanmean(test)))


def scored_runs(record: dict[str, Any]) -> list[Run]:
    """Every (loss, parameters) trained on the table that gave a finite test score: the
    defaults (``runs``), then the variants (``variants``)."""
    metric = record["primary_metric"]
    sign = 1 if metric in MAXIMIZE else -1
    out = []
    derived = derived_defaults(record)
    for loss, by_lr in record["runs"].items():
        run = _chosen(loss, {}, by_lr, metric, sign)
        if run is not None:
            out.append(run)
    for loss, variants in record.get("variants", {}).items():
        for variant in variants:
            params = non_default(loss, variant["params"], derived)
            if not params:
                continue  # the default retrained (derived by its recipe): noise, not a setting
            run = _chosen(loss, params, variant["runs"], metric, sign)
            if run is not None:
                out.append(run)
    return out


def match(
    runs: list[Run],
    loss: str,
    params: dict[str, Any] | None,
    derived: dict[tuple[str, str], float] | None = None,
) -> Run | None:
    """The run trained with ``loss`` and ``params`` (compared on their non-default values);
    None where no such run was trained."""
    wanted = non_default(loss, params, derived)
    for run in runs:
        if run.loss == loss and same_params(run.params, wanted):
            return run
    return None


def as_configured(record: dict[str, Any], runs: list[Run] | None = None) -> dict[str, Run]:
    """Per loss, the run the advisor would train: the rules' parameters where that variant was
    trained, the default run otherwise (a variant not yet trained falls back to it)."""
    runs = scored_runs(record) if runs is None else runs
    configured = rule_params(record)
    derive = derived_defaults(record)
    out = {}
    for run in runs:
        if not run.params:
            out.setdefault(run.loss, run)
    for loss, params in configured.items():
        variant = match(runs, loss, params, derive)
        if variant is not None:
            out[loss] = variant
    return out


def best_run(runs: list[Run], maximize: bool) -> Run:
    """The best of everything trained on the table: what regret is measured against."""
    return max(runs, key=lambda r: r.mean if maximize else -r.mean)


# --------------------------------------------------------------------------- per table


class Table:
    """One stored reference run, reduced to what a ranking is judged by."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.name = record["name"]
        self.task = record["task"]
        self.metric = record["primary_metric"]
        self.contaminated = record.get("corruption") is not None
        self.maximize = self.metric in MAXIMIZE
        self.shortlist = [c["loss"] for c in record["shortlist"]["candidates"]]
        runs = scored_runs(record)
        configured = as_configured(record, runs)
        # per loss: test scores per seed at the chosen lr, as the rules configure the loss
        self.test: dict[str, list[float]] = {loss: r.test for loss, r in configured.items()}
        self.params = {loss: r.params for loss, r in configured.items()}
        top = best_run(runs, self.maximize)
        self.best = top.label
        self.regret = {
            loss: regret(r.mean, top.mean, self.maximize) for loss, r in configured.items()
        }

    def regret_of(self, loss: str) -> float:
        """A loss that never gave a finite score has an infinite regret."""
        return self.regret.get(loss, math.inf)


def _finite(values: list[float | None]) -> bool:
    return any(v is not None and math.isfinite(v) for v in values)


def _mean(values: list[float | None]) -> float:
    return float(np.mean([v for v in values if v is not None and math.isfinite(v)]))


def regret(score: float, best: float, maximize: bool) -> float:
    """Relative regret vs the best, as ``benchmarks/quality.py`` measures it."""
    gap = (best - score) if maximize else (score - best)
    return max(0.0, gap) / max(abs(best), 1e-12)


def load_tables(folder: Path) -> list[Table]:
    return [Table(json.loads(p.read_text())) for p in sorted(folder.glob("[!_]*.json"))]


# --------------------------------------------------------------------------- policies

Ranker = Callable[[Table], list[str]]
Policy = Callable[[list[Table]], Ranker]  # fitted on the other tables


def rules_policy(_train: list[Table]) -> Ranker:
    return lambda table: table.shortlist


def default_policy(_train: list[Table]) -> Ranker:
    return lambda table: [DEFAULTS[table.task]]


def task_best_policy(train: list[Table]) -> Ranker:
    def rank(table: Table) -> list[str]:
        peers = [t for t in train if t.task == table.task]
        losses = sorted(table.test)
        capped = {
            loss: float(np.mean([min(t.regret_of(loss), 1.0) for t in peers])) if peers else 0.0
            for loss in losses
        }
        order = sorted(losses, key=lambda loss: (capped[loss], loss))
        return order[: max(len(table.shortlist), 1)]

    return rank


POLICIES: dict[str, Policy] = {
    "rules": rules_policy,
    "task_default": default_policy,
    "task_best": task_best_policy,
}


def out_of_fold(tables: list[Table], policy: Policy) -> dict[str, list[str]]:
    """Leave one table out: each table ranked by the policy fitted on all the others."""
    return {t.name: policy([o for o in tables if o.name != t.name])(t) for t in tables}


# --------------------------------------------------------------------------- scoring


def score(tables: list[Table], ranked: dict[str, list[str]], *, paired=None) -> dict[str, Any]:
    top, recall, reach, wtl = [], [], [], []
    for t in tables:
        order = ranked[t.name]
        top.append(t.regret_of(order[0]))
        reach.append(min(t.regret_of(loss) for loss in order))
        recall.append(reach[-1] <= NEAR)
        if paired is not None:
            default = t.test.get(DEFAULTS[t.task])
            pick = t.test.get(order[0])
            if default is None or pick is None:
                wtl.append("loss" if default is not None else "win")
            else:
                wtl.append(paired(pick, default, t.maximize))
    top_arr = np.asarray(top)
    return {
        "n": len(tables),
        "top1_median": float(np.median(top_arr)),
        "top1_mean": float(np.mean(np.minimum(top_arr, 1.0))),
        "top1_worst": float(np.max(top_arr)),
        "top1_within_1pct": float(np.mean(top_arr <= NEAR)),
        "recall": float(np.mean(recall)),
        "shortlist_best_median": float(np.median(reach)),
        "shortlist_best_worst": float(np.max(reach)),
        "wtl_vs_default": "/".join(str(wtl.count(x)) for x in ("win", "tie", "loss"))
        if paired is not None
        else "",
    }


def _pct(x: float) -> str:
    return "inf" if not math.isfinite(x) else f"{x:.2%}"


def report(tables: list[Table], *, paired=None, per_task: bool = True) -> dict[str, Any]:
    results = {}
    print(f"\n## Shortlist order out of fold (leave one table out), {len(tables)} tables\n")
    print(
        "| policy | group | n | top-1 regret median | mean (capped at 100%) | worst | "
        "top-1 within 1% | shortlist recall | shortlist best: median / worst | "
        "top-1 vs task default (W/T/L) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    groups: dict[str, list[Table]] = {"all": tables}
    if per_task:
        for t in tables:
            groups.setdefault(t.task, []).append(t)
        contaminated = [t for t in tables if t.contaminated]
        if contaminated:
            groups["contaminated"] = contaminated
    for name, policy in POLICIES.items():
        ranked = out_of_fold(tables, policy)
        for group, members in groups.items():
            s = score(members, ranked, paired=paired)
            results[(name, group)] = s
            print(
                f"| {name} | {group} | {s['n']} | {_pct(s['top1_median'])} | "
                f"{_pct(s['top1_mean'])} | {_pct(s['top1_worst'])} | "
                f"{s['top1_within_1pct']:.0%} | {s['recall']:.0%} | "
                f"{_pct(s['shortlist_best_median'])} / {_pct(s['shortlist_best_worst'])} | "
                f"{s['wtl_vs_default']} |"
            )
    worst = sorted(tables, key=lambda t: -t.regret_of(t.shortlist[0]))[:10]
    print("\nrules-only worst top-1 picks:\n")
    print("| table | task | metric | rules top-1 | regret | best | shortlist |")
    print("|---|---|---|---|---|---|---|")
    for t in worst:
        print(
            f"| {t.name} | {t.task} | {t.metric} | {t.shortlist[0]} | "
            f"{_pct(t.regret_of(t.shortlist[0]))} | {t.best} | {', '.join(t.shortlist)} |"
        )
    return results


def loss_table(tables: list[Table]) -> list[dict[str, Any]]:
    """Per task and loss: how often it was best or within 1%, its regret, its gain on the default.

    The raw material of a fitted weight's provenance (how many tables, how often right, the
    median gain); in sample, since it describes the corpus rather than judging a policy.
    """
    rows = []
    for task in sorted({t.task for t in tables}):
        members = [t for t in tables if t.task == task]
        default = DEFAULTS[task]
        for loss in sorted({loss for t in members for loss in t.test}):
            scored = [t for t in members if loss in t.test]
            gains = [t.regret_of(default) - t.regret_of(loss) for t in scored if default in t.test]
            rows.append(
                {
                    "task": task,
                    "loss": loss,
                    "tables": len(scored),
                    "best": sum(t.best == loss for t in scored),
                    "within_1pct": sum(t.regret_of(loss) <= NEAR for t in scored),
                    "regret_median": float(np.median([t.regret_of(loss) for t in scored])),
                    "gain_vs_default_median": float(np.median(gains)) if gains else math.nan,
                    "on_rules_shortlist": sum(loss in t.shortlist for t in scored),
                    "rules_top1": sum(t.shortlist[0] == loss for t in scored),
                }
            )
    print("\n## Per task and loss, in sample\n")
    print(
        "| task | loss | tables | best | within 1% | median regret | median gain vs default | "
        "on rules shortlist | rules top-1 |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['task']} | {r['loss']} | {r['tables']} | {r['best']} | {r['within_1pct']} | "
            f"{_pct(r['regret_median'])} | {r['gain_vs_default_median']:+.2%} | "
            f"{r['on_rules_shortlist']} | {r['rules_top1']} |"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument(
        "--no-wtl", action="store_true", help="skip the paired tests (no torch import)"
    )
    parser.add_argument(
        "--losses", action="store_true", help="also print the per task and loss table"
    )
    args = parser.parse_args(argv)
    tables = load_tables(args.reference) if args.reference.is_dir() else []
    if not tables:
        print(
            f"evaluate.py: no reference runs in {args.reference}; run reference_runs.py first",
            file=sys.stderr,
        )
        return 2
    paired = None
    if not args.no_wtl:
        paired = _quality().paired
    report(tables, paired=paired)
    if args.losses:
        loss_table(tables)
    return 0


if __name__ == "__main__":
    sys.exit(main())
