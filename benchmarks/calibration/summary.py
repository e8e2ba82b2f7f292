"""Issue 17's benchmark in one table, from stored results only: no training, seconds.

Out of fold on the calibration corpus and on ``../shared/datasets``, before (hand weights) and
after calibration (fitted weights), side by side: rules-only and full-search median / mean /
worst regret, shortlist recall (the best loss or one within 1% of it listed) and W/T/L
against the task default (paired over the seeds), with the exhaustive search's own pick (the
best validation mean of every loss) for scale.

Where each row comes from (all in the repository):
- corpus, rules only: ``reference/`` through ``fit_priors.py`` (hand weights as written;
  fitted weights out of fold, 5 grouped folds, fold seed ``--fold-seed``);
- corpus, full search: ``stored/search_corpus.json``, the picks ``evaluate_search.py`` cached
  (each fold's fitted weights for the fitted picks), scored as ``evaluate_search.py`` does;
- ``../shared/datasets``: ``stored/shared/hand`` and ``stored/shared/fitted``, the caches of
  ``quality.py`` run with the hand and with the fitted weights (exhaustive runs, lossadvisor's
  and rules-only picks), and ``stored/shared/tables.json`` (each table's task and metric).

Run: ``.venv/bin/python benchmarks/calibration/summary.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import evaluate  # noqa: E402  (sibling scripts)
import evaluate_search  # noqa: E402
import fit_priors  # noqa: E402

HERE = Path(__file__).resolve().parent
STORED = HERE / "stored"
HEADER = (
    "| tables | advice | weights | median regret | mean | worst | shortlist recall (1%) | "
    "vs task default W/T/L |\n|---|---|---|---|---|---|---|---|"
)


def _row(where: str, advice: str, weights: str, top, listed, wtl: str) -> str:
    top = np.minimum(np.asarray(top, float), fit_priors.REGRET_CAP)
    recall = f"{np.mean(listed):.0%}" if listed is not None else "-"
    return (
        f"| {where} | {advice} | {weights} | {np.median(top):.2%} | {np.mean(top):.2%} | "
        f"{np.max(top):.2%} | {recall} | {wtl} |"
    )


def corpus_rows(reference: Path, search: Path, *, fold_seed: int, folds: int) -> list[str]:
    tables = fit_priors.load_tables(reference)
    space = fit_priors.build_space(tables)
    where = f"corpus, {len(tables)}, out of fold"
    rows = []
    top, listed, picks = fit_priors.outcome(space, space.hand, np.arange(len(tables)))
    wtl = fit_priors.versus_default(tables, picks)
    rows.append(_row(where, "rules only", "hand", top, listed, wtl))
    oof = fit_priors.out_of_fold(space, tables, folds, seed=fold_seed)
    wtl = fit_priors.versus_default(tables, oof["picks"])
    rows.append(_row(where, "rules only", "fitted", oof["top"], oof["listed"], wtl))
    cache = json.loads(search.read_text())
    for variant in ("hand", "fitted"):
        top, listed, wtl, _ = evaluate_search.search_outcome(
            tables, cache, variant, reference=reference, seed=0, budget=60.0
        )
        rows.append(_row(where, "full search", variant, top, listed, wtl))
    floor = [evaluate_search.exhaustive_regret(table, reference) for table in tables]
    wtl = "/".join(str(sum(f.versus_default == v for f in floor)) for v in ("win", "tie", "loss"))
    rows.append(_row(where, "exhaustive, on validation", "-", [f.regret for f in floor], None, wtl))
    return rows


def _shared_pick(ex: dict[str, Any], loss: str, maximize: bool) -> tuple[list[float], float]:
    scores = ex["losses"].get(loss, {}).get("test", [float("nan")])
    best = ex["losses"][ex["best"]]["test_mean"]
    return scores, evaluate.regret(float(np.nanmean(scores)), best, maximize)


def shared_rows(folder: Path) -> list[str]:
    """The shared datasets' rows; none where the stored caches are missing."""
    described = json.loads((folder / "tables.json").read_text())
    rows = []
    for weights in ("hand", "fitted"):
        done = {
            name: json.loads((folder / weights / f"{name}.json").read_text()) for name in described
        }
        where = f"../shared/datasets, {len(done)}"
        methods = [("rules only", "rules_only"), ("full search", "lossadvisor")]
        if weights == "fitted":
            methods.append(("exhaustive, on validation", None))
        for advice, key in methods:
            top, listed, verdicts = [], [], []
            for name, record in done.items():
                ex = record["exhaustive"]
                maximize = described[name]["metric"] in evaluate.MAXIMIZE
                if key is None:
                    means = {loss: v["val_mean"] for loss, v in ex["losses"].items()}
                    pick = max(sorted(means), key=lambda x: means[x] if maximize else -means[x])
                    shortlist = None
                else:
                    pick, shortlist = record[key]["loss"], record[key].get("shortlist")
                scores, regret = _shared_pick(ex, pick, maximize)
                top.append(regret)
                if shortlist is not None:
                    listed.append(
                        min(_shared_pick(ex, loss, maximize)[1] for loss in shortlist)
                        <= evaluate.NEAR
                    )
                default = ex["losses"][evaluate.DEFAULTS[described[name]["task"]]]["test"]
                verdicts.append(fit_priors.paired_scores(scores, default, maximize))
            wtl = "/".join(str(verdicts.count(v)) for v in ("win", "tie", "loss"))
            label = weights if key is not None else "-"
            rows.append(_row(where, advice, label, top, listed or None, wtl))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=fit_priors.DEFAULT_REFERENCE)
    parser.add_argument("--search", type=Path, default=STORED / "search_corpus.json")
    parser.add_argument("--shared", type=Path, default=STORED / "shared")
    parser.add_argument("--fold-seed", type=int, default=0)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    for path in (args.reference, args.search, args.shared / "tables.json"):
        if not path.exists():
            print(f"summary.py: {path} is missing", file=sys.stderr)
            return 2
    print(HEADER)
    for line in corpus_rows(
        args.reference, args.search, fold_seed=args.fold_seed, folds=args.folds
    ):
        print(line)
    for line in shared_rows(args.shared):
        print(line)
    print(
        "\nregret: against the test's best loss (an oracle), capped at "
        f"{fit_priors.REGRET_CAP:.0%}; the exhaustive rows pick on validation what every loss "
        "trained in full scored, for the scale of the test sets' noise"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
