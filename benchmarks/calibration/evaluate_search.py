"""The full search on the calibration corpus, before and after calibration, out of fold.

``fit_priors.py`` judges the rules-only prior from stored runs; this script runs
``lossadvisor recommend`` itself on each corpus table (train.csv, the table's primary metric
given, its task given as the reference runs had it), once with the hand weights and once with
the weights fitted on the other folds (grouped k-fold, as ``fit_priors.py``), and scores each
pick by the reference runs' test scores. A table whose fold shortlist is the same as the hand
one (same losses, same order, same parameters) is not run twice: the search is seeded, so it
would make the same pick.

Each variant's weights reach ``recommend`` as a rule file that replaces the weighted rules by
id (``--rules``), so nothing in the package changes for the benchmark.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/calibration/evaluate_search.py``
(``--tables a,b`` for some tables, ``--budget`` seconds per run). Results are cached in
``benchmarks/results/calibration_search.json`` (resumable; ``--cache PATH`` for another file,
e.g. to keep an earlier commit's picks beside a new one's). Each pick keeps the verdict
sentence and every finalist's validation score per split, so a change of ``decide`` can be
replayed on the same runs, and the parameters it was trained with (``params``; each
finalist's under ``params_by_loss``).

A pick is scored as it was trained: by the reference run of its loss with its parameters (a
rule variant, ``reference_runs.py --add-variants``), against the best of every run on the
table (``evaluate.py``'s scoring). A pick cached before its parameters were kept is taken to
have the parameters the table's rules set; a pick whose parameters no reference run has (the
exploration tuned them) is scored by the run with the rules' parameters, and counted.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import evaluate  # noqa: E402  (sibling scripts)
import fit_priors  # noqa: E402

ROOT = fit_priors.ROOT
CORPUS = ROOT / "benchmarks" / "results" / "calibration"
CACHE = ROOT / "benchmarks" / "results" / "calibration_search.json"


def rule_file(space: fit_priors.Space, weights: np.ndarray, folder: Path, name: str) -> Path:
    """The weighted bundled rules with ``weights``, as a rule file that replaces them by id."""
    from advisor._paths import rules_dir

    document = yaml.safe_load((rules_dir() / "selection.yaml").read_text(encoding="utf-8"))
    column = {loss: c for c, loss in enumerate(space.losses)}
    index = {rule.id: r for r, rule in enumerate(space.rules)}
    replaced = []
    for entry in document["rules"]:
        r = index.get(entry["id"])
        if r is None or not space.sign[r]:
            continue
        entry = dict(entry)
        losses = {
            loss: float(weights[r, column[loss]])
            for loss in space.losses
            if weights[r, column[loss]] > 0
        }
        if losses:
            entry["losses"] = losses
        else:  # every weight went to zero: the rule still fires, but weighs nothing
            entry["effect"] = "note"
        replaced.append(entry)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "rules": replaced}, sort_keys=False))
    return path


def pick(entry: dict[str, Any], rules: Path, *, budget: float, seed: int) -> dict[str, Any]:
    import advisor

    folder = CORPUS / entry["name"]
    started = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        advice = advisor.recommend(
            folder / "train.csv",
            target=entry["target"],
            task=entry["task"],
            metric=entry["primary_metric"],
            rules=[rules],
            budget_s=budget,
            seed=seed,
        )
    search = advice.search
    return {
        "loss": advice.recommendation.loss.value,
        "params": dict(advice.recommendation.params),
        "params_by_loss": {r.loss.value: dict(r.params) for r in search.results} if search else {},
        "shortlist": [c.loss.value for c in advice.shortlist.candidates],
        "seconds": round(time.monotonic() - started, 2),
        "verdict": advice.recommendation.verdict,
        "scores": {r.loss.value: list(r.scores) for r in search.results} if search else {},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=fit_priors.DEFAULT_REFERENCE)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tables", default="", help="comma-separated names (default: all)")
    parser.add_argument(
        "--cache", type=Path, default=CACHE, help=f"results file (default: {CACHE.name})"
    )
    parser.add_argument(
        "--before", type=Path, help="an earlier results file: list the picks that changed"
    )
    parser.add_argument(
        "--score-only",
        action="store_true",
        help="run no search: score the cached picks as they are (e.g. after the reference "
        "runs gained variants)",
    )
    args = parser.parse_args(argv)
    if args.score_only:
        return score_only(args)

    manifest = json.loads((CORPUS / "manifest.json").read_text())
    entries = {e["name"]: e for e in manifest["datasets"]}
    tables = fit_priors.load_tables(args.reference)
    space = fit_priors.build_space(tables)
    wanted = set(filter(None, args.tables.split(","))) or {t.name for t in tables}
    cache = json.loads(args.cache.read_text()) if args.cache.exists() else {}
    n = len(tables)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        hand_rules = rule_file(space, space.hand, folder, "hand")
        for f, held in enumerate(fit_priors.folds(tables, args.folds)):
            todo = [t for t in held if tables[t].name in wanted]
            if not todo:
                continue
            weights = fit_priors.fit(space, np.setdiff1d(np.arange(n), held))
            fitted_rules = rule_file(space, weights, folder, f"fold{f}")
            hand_lists = fit_priors.shortlists(space, space.hand, np.array(todo))
            fold_lists = fit_priors.shortlists(space, weights, np.array(todo))
            for t, before, after in zip(todo, hand_lists, fold_lists, strict=True):
                table = tables[t]
                key = f"{table.name}:{args.seed}:{args.budget:g}"
                done = cache.get(key, {})
                if "hand" not in done:
                    done["hand"] = pick(
                        entries[table.name], hand_rules, budget=args.budget, seed=args.seed
                    )
                listed = [space.losses[c] for c in after]
                if before == after:
                    done["fitted"] = done["hand"]
                elif done.get("fitted", {}).get("for") != listed:  # run for other weights
                    done["fitted"] = pick(
                        entries[table.name], fitted_rules, budget=args.budget, seed=args.seed
                    )
                    done["fitted"]["for"] = listed
                cache[key] = done
                args.cache.parent.mkdir(parents=True, exist_ok=True)
                args.cache.write_text(json.dumps(cache, indent=1))
                print(
                    f"{table.name}: hand {done['hand']['loss']}, fitted {done['fitted']['loss']}",
                    flush=True,
                )
    report(tables, space, cache, wanted, args)
    if args.before is not None:
        changes(tables, json.loads(args.before.read_text()), cache, wanted, args)
    return 0


def score_only(args) -> int:
    """The report on the cached picks alone: no search runs, no fold fitted."""
    if not args.cache.exists():
        print(f"evaluate_search.py: no cache {args.cache}", file=sys.stderr)
        return 2
    cache = json.loads(args.cache.read_text())
    tables = fit_priors.load_tables(args.reference)
    wanted = set(filter(None, args.tables.split(","))) or {t.name for t in tables}
    missing = sorted(
        t.name
        for t in tables
        if t.name in wanted and f"{t.name}:{args.seed}:{args.budget:g}" not in cache
    )
    if missing:
        print(f"not in the cache, left out: {', '.join(missing)}", file=sys.stderr)
    wanted -= set(missing)
    report(tables, None, cache, wanted, args)
    if args.before is not None:
        changes(tables, json.loads(args.before.read_text()), cache, wanted, args)
    return 0


def changes(tables, before, after, wanted, args) -> None:
    """Each table and variant whose pick differs between two results files, with regrets."""
    print(f"\npicks that changed ({args.before.name} -> {args.cache.name})")
    print("| table | weights | before | after |")
    print("|---|---|---|---|")

    def shown(table, done: dict[str, Any]) -> str:
        scored = pick_regret(table, done, args.reference)
        label = scored.run.label if scored.run is not None else done["loss"]
        return f"{label} ({scored.regret:.2%})"

    for table in tables:
        key = f"{table.name}:{args.seed}:{args.budget:g}"
        if table.name not in wanted or key not in before or key not in after:
            continue
        for variant in ("hand", "fitted"):
            old, new = before[key][variant], after[key][variant]
            if old["loss"] != new["loss"]:
                print(f"| {table.name} | {variant} | {shown(table, old)} | {shown(table, new)} |")


def report(tables, space, cache, wanted, args) -> None:
    rows = [t for t in tables if t.name in wanted]
    print(f"\nfull search, {len(rows)} corpus tables, budget {args.budget:g} s, seed {args.seed}")
    print(
        "| full search | median regret | mean | worst | shortlist recall (1%) | "
        "vs task default W/T/L (paired, seeds) |"
    )
    print("|---|---|---|---|---|---|")
    unmatched = []
    for variant in ("hand", "fitted"):
        top, listed, wtl, missed = search_outcome(
            rows, cache, variant, reference=args.reference, seed=args.seed, budget=args.budget
        )
        unmatched += missed
        label = "hand weights" if variant == "hand" else "fitted, out of fold"
        print(fit_priors.summarise(label, top, listed, wtl))
    floor = [exhaustive_regret(table, args.reference) for table in rows]
    wtl = "/".join(str(sum(f.versus_default == v for f in floor)) for v in ("win", "tie", "loss"))
    regrets = np.array([min(f.regret, fit_priors.REGRET_CAP) for f in floor])
    print(
        fit_priors.summarise(
            "exhaustive search, picked on validation (every loss, 3 rates x 5 seeds)",
            regrets,
            np.ones(len(floor)),
            wtl,
        )
    )
    print(
        f"\nThe last row is what choosing on validation alone reaches with every loss trained in "
        f"full: it misses the test's best by more than 5% on {int((regrets > 0.05).sum())} of "
        f"{len(floor)} tables, so a regret above a few percent is partly the noise of small test "
        "sets, not a wrong pick."
    )
    for variant in ("hand", "fitted"):
        gaps = [
            pick_regret(
                table, cache[f"{table.name}:{args.seed}:{args.budget:g}"][variant], args.reference
            ).regret
            - f.regret
            for table, f in zip(rows, floor, strict=True)
        ]
        print(
            f"{variant} picks against the exhaustive search's: better by more than 1% on "
            f"{sum(g < -evaluate.NEAR for g in gaps)} tables, within 1% on "
            f"{sum(abs(g) <= evaluate.NEAR for g in gaps)}, worse by more than 1% on "
            f"{sum(g > evaluate.NEAR for g in gaps)}."
        )
    if unmatched:
        print(
            f"\n{len(unmatched)} picks trained with parameters no reference run has, scored by "
            "the rules' parameters: " + "; ".join(unmatched)
        )


def search_outcome(
    rows, cache, variant: str, *, reference: Path, seed: int, budget: float
) -> tuple[np.ndarray, np.ndarray, str, list[str]]:
    """The cached picks of one weighting, per table: regret (capped), whether the shortlist
    held the best loss or one within 1% of it; their W/T/L against the task default; and the
    picks whose parameters matched no reference run."""
    top, listed, verdicts, unmatched = [], [], [], []
    for table in rows:
        done = cache[f"{table.name}:{seed}:{budget:g}"][variant]
        scored = pick_regret(table, done, reference)
        if scored.unmatched:
            unmatched.append(f"{table.name} ({variant}): {done['loss']} {done['params']}")
        top.append(min(scored.regret, fit_priors.REGRET_CAP))
        listed.append(
            any(table.regrets.get(loss, 1.0) <= fit_priors.NEAR for loss in done["shortlist"])
        )
        verdicts.append(scored.versus_default)
    wtl = "/".join(str(verdicts.count(v)) for v in ("win", "tie", "loss"))
    return np.array(top), np.array(listed), wtl, unmatched


class PickScore(NamedTuple):
    regret: float  # uncapped; inf where the pick's loss has no finite reference result
    versus_default: str  # win / tie / loss against the task default, paired over the seeds
    run: Any  # the reference run that scored it (evaluate.Run), None where none did
    unmatched: bool  # its params matched no run: scored by the rules' parameters


def pick_regret(table, done: dict[str, Any], reference: Path) -> PickScore:
    """A cached pick's regret and W/T/L: the reference run of its loss with the parameters it
    was trained with (the rules' where the cache predates ``params``)."""
    record = _record(reference, table.name)
    runs = evaluate.scored_runs(record)
    configured = evaluate.as_configured(record, runs)
    loss = done["loss"]
    unmatched = False
    if "params" in done:
        run = evaluate.match(runs, loss, done["params"], evaluate.derived_defaults(record))
        if run is None:
            unmatched, run = True, configured.get(loss)
    else:
        run = configured.get(loss)
    if run is None:
        return PickScore(math.inf, "loss", None, unmatched)
    best = evaluate.best_run(runs, table.maximize)
    default = configured.get(fit_priors.DEFAULTS[table.task])
    if default is None:
        verdict = "win"
    else:
        verdict = fit_priors.paired_scores(run.test, default.test, table.maximize)
    return PickScore(evaluate.regret(run.mean, best.mean, table.maximize), verdict, run, unmatched)


def exhaustive_regret(table, reference: Path) -> PickScore:
    """The exhaustive search's own pick on a table, scored like a search pick: of the losses
    trained with their catalog defaults, the one whose validation mean (at the rate chosen on
    validation) is best. What every loss trained in full, 15 runs each, would choose: the test
    noise the corpus puts under any pick."""
    record = _record(reference, table.name)
    metric = record["primary_metric"]
    sign = 1 if table.maximize else -1
    validation: dict[str, float] = {}
    for loss, by_lr in record["runs"].items():
        means = [
            evaluate._mean(scores["val"][metric])
            for scores in by_lr.values()
            if evaluate._finite(scores["val"][metric])
        ]
        if means:
            validation[loss] = max(sign * m for m in means)
    chosen = max(sorted(validation), key=validation.__getitem__)
    return pick_regret(table, {"loss": chosen, "params": {}}, reference)


@functools.cache
def _record_cached(path: str) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def _record(reference: Path, name: str) -> dict[str, Any]:
    return _record_cached(str(reference / f"{name}.json"))


if __name__ == "__main__":
    raise SystemExit(main())
