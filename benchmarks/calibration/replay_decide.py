"""How the search's decision rule fares on the corpus with other tie thresholds, no training.

``advisor.search._decide`` calls a loss tied with the best mean when the paired test cannot
tell them apart (two-sided p >= ``TIE``) and gives ties to the rule prior. That threshold
trades the prior's stability against what the splits measure: a looser one lets the prior
keep more picks, a stricter one lets small validation leads decide. This script replays
``decide`` on the finalists' stored validation scores per split (``stored/search_corpus.json``,
``evaluate_search.py``'s cache) with other thresholds, and with "the best validation mean
always" for contrast, and scores each pick by the reference runs as ``evaluate_search.py``
does. It replays the decision only: the race that chose which losses stayed to the last
split ran with the threshold of its day, so a loss it let go early stays gone.

Run: ``.venv/bin/python benchmarks/calibration/replay_decide.py`` (seconds).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import evaluate_search  # noqa: E402  (sibling scripts)
import fit_priors  # noqa: E402

STORED = Path(__file__).resolve().parent / "stored" / "search_corpus.json"
THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.5)


def replay(table, done: dict[str, Any], tie: float | None) -> dict[str, Any]:
    """The pick ``decide`` makes on ``done``'s stored scores with threshold ``tie`` (None:
    the best validation mean among the losses that ran every split)."""
    from advisor.records import LossId, MetricId
    from advisor.search import _decide
    from advisor.search._results import candidate_result

    scores = done.get("scores") or {}
    if len(scores) < 2:
        return done
    width = max(len(v) for v in scores.values())
    contenders = {loss for loss, v in scores.items() if len(v) == width}  # still in the race
    by_loss = done.get("params_by_loss", {})
    results = [candidate_result(LossId(loss), ({}, 0.0), list(v)) for loss, v in scores.items()]
    if tie is None:
        ranked = [r for r in results if r.loss.value in contenders and math.isfinite(r.mean)]
        sign = 1.0 if table.maximize else -1.0
        chosen = max(ranked, key=lambda r: sign * r.mean).loss.value
    else:
        with mock.patch.object(_decide, "TIE", tie):
            chosen = _decide.decide(
                results,
                prior=[LossId(loss) for loss in done["shortlist"]],
                metric=MetricId(table.metric),
                maximize=table.maximize,
                contenders={LossId(loss) for loss in contenders},
            ).chosen.value
    if chosen == done["loss"]:
        return done
    params = {k: v for k, v in by_loss.get(chosen, {}).items() if k != "lr"}
    return {"loss": chosen, "params": params, "shortlist": done["shortlist"]}


def row(tables, cache, variant: str, tie: float | None, reference: Path) -> str:
    top, verdicts, same = [], [], 0
    for table in tables:
        done = cache[f"{table.name}:0:60"][variant]
        picked = replay(table, done, tie)
        same += picked["loss"] == done["loss"]
        scored = evaluate_search.pick_regret(table, picked, reference)
        top.append(min(scored.regret, fit_priors.REGRET_CAP))
        verdicts.append(scored.versus_default)
    top = np.array(top)
    wtl = "/".join(str(verdicts.count(v)) for v in ("win", "tie", "loss"))
    label = "best validation mean" if tie is None else f"p >= {tie:g} ties"
    return (
        f"| {variant} | {label} | {np.median(top):.2%} | {top.mean():.2%} | {top.max():.2%} | "
        f"{wtl} | {same} of {len(tables)} |"
    )


def main(argv: list[str] | None = None) -> int:
    from advisor.search import _decide

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=fit_priors.DEFAULT_REFERENCE)
    parser.add_argument("--cache", type=Path, default=STORED)
    args = parser.parse_args(argv)
    if not args.cache.exists():
        print(f"replay_decide.py: {args.cache} is missing", file=sys.stderr)
        return 2
    cache = json.loads(args.cache.read_text())
    tables = fit_priors.load_tables(args.reference)
    print(f"the shipped threshold: p >= {_decide.TIE:g} is a tie\n")
    print(
        "| weights | decision | median regret | mean | worst | vs task default W/T/L | "
        "picks as stored |\n|---|---|---|---|---|---|---|"
    )
    for variant in ("hand", "fitted"):
        for tie in (*THRESHOLDS, None):
            print(row(tables, cache, variant, tie, args.reference))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
