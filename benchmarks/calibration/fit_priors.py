"""Fit the rules' loss weights on the calibration corpus, judged out of fold.

The rule prior (the shortlist's order) decides most answers: a tie in the confirmation goes to
it, and ``--no-search`` is nothing else. This script fits the weights that the rules give
losses (``include`` / ``raise`` / ``lower`` entries) so that the prior's first choice has the
least regret and the shortlist holds the best loss, on the reference runs of
``reference_runs.py`` (every applicable loss trained the exhaustive way on each table). Nothing
is trained here: the rules are matched against each table's stored profile fields.

- The shortlist is simulated exactly as ``advisor.selection.shortlist`` builds it (included
  minus excluded, ranked by score then simplicity then id, at most ``max_candidates`` with a
  positive score); ``--check`` asserts the simulation equals the real function on every table.
- Weights move on a grid by coordinate descent, penalised towards the hand weights, so that a
  weight changes only where the corpus pays for it. Include rules may also gain a loss the
  task allows (a new entry), at a higher penalty.
- Evidence is judged out of fold: grouped k-fold over tables (a table and its contaminated
  variant share a fold), never on the tables a weight was fitted on.
- ``--write`` fits on every table and writes ``rules/calibration.yaml``: the fitted weights,
  each rule with its provenance (tables where it fired, how often its favourite loss was
  within 1% of the best, the median gain of that loss over the task default).
- ``--support RULE:LOSS`` checks a loss added to a rule by hand fold by fold: on each fold's
  training tables, whether the loss it brings to the shortlists is within 1% of the best more
  often than the losses it pushes off (``slot_support``).

Run: ``.venv/bin/python benchmarks/calibration/fit_priors.py [--write]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluate import (  # noqa: E402  (the sibling script: task defaults and the one scoring)
    DEFAULTS,
    as_configured,
    best_run,
    regret,
    scored_runs,
)

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REFERENCE = ROOT / "benchmarks" / "calibration" / "reference"
CALIBRATION_FILE = ROOT / "rules" / "calibration.yaml"

GRID = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0)
NEAR = 0.01  # "within 1% of the best" for shortlist recall
REGRET_CAP = 0.25  # one table cannot outweigh the corpus
PENALTY = 0.0005  # per unit of weight moved from the hand value (mean regret units)
NEW_ENTRY_PENALTY = 0.002  # a loss a rule did not name before costs more to add
MISS_WEIGHT = 0.1  # a shortlist without a near-best loss, in regret units
WORST = 0.10  # tables above this regret out of fold are listed
MIN_TABLES = 20  # a weight is fitted only where its rule fired on this many tables
PENALTIES = (0.0005, 0.001, 0.002, 0.004)  # the nested cross-validation's choices
INNER_FOLDS = 4


@dataclasses.dataclass(frozen=True)
class Table:
    """One corpus table's evidence: its profile fields and each loss's regret on test."""

    name: str
    task: str
    metric: str
    fields: dict[str, Any]
    # loss id -> regret of its test mean (lr chosen on validation), the loss trained with the
    # parameters the table's rules set (its variant) where they differ from the defaults,
    # against the best of every run on the table, variants included
    regrets: dict[str, float]
    group: str  # a table and its contaminated variant share a group
    listed: tuple[str, ...]  # the shortlist the real rule engine gave (for --check)
    seeds: dict[str, list[float]]  # loss id -> test scores per seed, at its validated rate
    maximize: bool


def load_tables(folder: Path) -> list[Table]:
    from advisor.training import metric_direction

    tables = []
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith("_"):
            continue
        record = json.loads(path.read_text())
        maximize = str(metric_direction(record["primary_metric"])) == "maximize"
        runs = scored_runs(record)
        configured = as_configured(record, runs)  # each loss as the rules set its parameters
        if len(configured) < 2:
            continue
        best = best_run(runs, maximize).mean  # the best of everything trained, variants too
        name = record["name"]
        tables.append(
            Table(
                name=name,
                task=record["task"],
                metric=record["primary_metric"],
                fields=record["fields"],
                regrets={loss: regret(r.mean, best, maximize) for loss, r in configured.items()},
                group=name.removesuffix("_contaminated"),
                listed=tuple(c["loss"] for c in record["shortlist"]["candidates"]),
                seeds={loss: r.test for loss, r in configured.items()},
                maximize=maximize,
            )
        )
    return tables


def paired(table: Table, loss: str, other: str) -> str:
    """win / tie / loss of ``loss`` against ``other`` by a paired t-test over the seeds."""
    return paired_scores(table.seeds.get(loss, []), table.seeds.get(other, []), table.maximize)


def paired_scores(first: Sequence[float], second: Sequence[float], maximize: bool) -> str:
    """win / tie / loss of the first runs' per-seed test scores against the second's."""
    from scipy import stats

    a = np.array(first, dtype=float)
    b = np.array(second, dtype=float)
    if a.size < 2 or a.size != b.size or not (np.isfinite(a).all() and np.isfinite(b).all()):
        return "tie"
    if np.allclose(a, b):
        return "tie"
    p = stats.ttest_rel(a, b).pvalue
    if not np.isfinite(p) or p >= 0.05:
        return "tie"
    return "win" if (a.mean() > b.mean()) == maximize else "loss"


# --------------------------------------------------------------------------- the rule space


@dataclasses.dataclass
class Space:
    """The rules as arrays: which rules fire on which table, and the weight entries."""

    rules: tuple[Any, ...]
    losses: list[str]  # column order of the weight matrix
    fired: np.ndarray  # (tables, rules) bool
    sign: np.ndarray  # (rules,) +1 include/raise, -1 lower, 0 other
    includes: np.ndarray  # (rules,) bool
    excludes: np.ndarray  # (rules, losses) bool
    applicable: np.ndarray  # (tables, losses) bool
    available: np.ndarray  # (tables, losses) bool: a reference result exists
    hand: np.ndarray  # (rules, losses) hand weights
    free: list[tuple[int, int]]  # entries the fit may move (rule, loss)
    new: set[tuple[int, int]]  # entries the hand rules do not name
    simplicity: np.ndarray  # (losses,)
    most: np.ndarray  # (tables,) max candidates
    least: np.ndarray  # (tables,) min candidates
    regrets: np.ndarray  # (tables, losses), capped; inf where unavailable
    penalty: float = PENALTY
    new_penalty: float = NEW_ENTRY_PENALTY
    miss_weight: float = MISS_WEIGHT
    min_tables: int = MIN_TABLES


def build_space(tables: Sequence[Table], *, allow_new: bool = True) -> Space:
    from advisor.losses import load_catalog
    from advisor.selection import load_rules, match_rules
    from advisor.selection._matcher import (
        DEFAULT_MAX_CANDIDATES,
        DEFAULT_MIN_CANDIDATES,
        MAX_SHORTLIST,
        MIN_SHORTLIST,
    )
    from advisor.selection._schema import Effect

    catalog = load_catalog()
    rules = load_rules(calibrated=False)  # the hand weights: the fit starts from them
    losses = sorted(str(loss) for loss in catalog)
    column = {loss: i for i, loss in enumerate(losses)}
    n_t, n_r, n_l = len(tables), len(rules), len(losses)
    fired = np.zeros((n_t, n_r), bool)
    most = np.full(n_t, DEFAULT_MAX_CANDIDATES)
    least = np.full(n_t, DEFAULT_MIN_CANDIDATES)
    for t, table in enumerate(tables):
        settings: dict[str, int] = {}
        for r, (rule, hit, _) in enumerate(match_rules(rules, table.fields)):
            fired[t, r] = hit
            if hit and rule.effect is Effect.CONFIGURE:
                settings.update(rule.settings)
        most[t] = max(MIN_SHORTLIST, min(MAX_SHORTLIST, settings.get("max_candidates", 5)))
        least[t] = max(MIN_SHORTLIST, min(most[t], settings.get("min_candidates", 2)))
    sign = np.array(
        [
            1
            if r.effect in (Effect.INCLUDE, Effect.RAISE)
            else -1
            if r.effect is Effect.LOWER
            else 0
            for r in rules
        ]
    )
    includes = np.array([r.effect is Effect.INCLUDE for r in rules])
    excludes = np.zeros((n_r, n_l), bool)
    hand = np.zeros((n_r, n_l))
    for r, rule in enumerate(rules):
        for loss, weight in rule.losses.items():
            if rule.effect is Effect.EXCLUDE:
                excludes[r, column[str(loss)]] = True
            elif sign[r]:
                hand[r, column[str(loss)]] = weight
    applicable = np.array(
        [
            [table.task in {str(t) for t in catalog[loss].tasks} for loss in losses]
            for table in tables
        ]
    )
    regrets = np.full((n_t, n_l), np.inf)
    for t, table in enumerate(tables):
        for loss, value in table.regrets.items():
            if loss in column:
                regrets[t, column[loss]] = min(value, REGRET_CAP)
    available = np.isfinite(regrets)
    free = [(r, c) for r in range(n_r) for c in range(n_l) if sign[r] and hand[r, c] > 0]
    new: set[tuple[int, int]] = set()
    if allow_new:
        for r in np.flatnonzero(includes):
            tasks_fired = applicable[fired[:, r]].any(axis=0)
            for c in np.flatnonzero(tasks_fired):
                if hand[r, c] == 0:
                    free.append((int(r), int(c)))
                    new.add((int(r), int(c)))
    simplicity = np.array([catalog[loss].simplicity for loss in losses])
    return Space(
        rules=rules,
        losses=losses,
        fired=fired,
        sign=sign,
        includes=includes,
        excludes=excludes,
        applicable=applicable,
        available=available,
        hand=hand,
        free=free,
        new=new,
        simplicity=simplicity,
        most=most,
        least=least,
        regrets=regrets,
    )


def shortlists(space: Space, weights: np.ndarray, rows: np.ndarray) -> list[list[int]]:
    """The shortlist (column indices, ranked) of each table in ``rows`` under ``weights``."""
    fired = space.fired[rows]
    scores = fired @ (space.sign[:, None] * weights)
    included = (fired[:, space.includes] @ (weights[space.includes] > 0)) > 0
    excluded = (fired @ space.excludes) > 0
    candidates = included & ~excluded & space.applicable[rows]
    out = []
    for i, t in enumerate(rows):
        idx = np.flatnonzero(candidates[i])
        order = sorted(idx, key=lambda c: (-scores[i, c], space.simplicity[c], space.losses[c]))
        kept = [c for c in order[: space.most[t]] if scores[i, c] > 0]
        out.append(kept if len(kept) >= space.least[t] else order[: space.least[t]])
    return out


def outcome(
    space: Space, weights: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """Per table: the regret of the prior's first choice, whether a near-best is listed, and
    the first choice itself."""
    top, listed, picks = [], [], []
    for t, kept in zip(rows, shortlists(space, weights, rows), strict=True):
        scored = [c for c in kept if space.available[t, c]]
        top.append(space.regrets[t, scored[0]] if scored else REGRET_CAP)
        listed.append(any(space.regrets[t, c] <= NEAR for c in scored))
        picks.append(space.losses[scored[0]] if scored else None)
    return np.array(top), np.array(listed), picks


def objective(space: Space, weights: np.ndarray, rows: np.ndarray) -> float:
    top, listed, _ = outcome(space, weights, rows)
    moved = np.abs(weights - space.hand)
    penalty = space.penalty * moved.sum() + sum(
        space.new_penalty for (r, c) in space.new if weights[r, c] > 0
    )
    return float(top.mean() + space.miss_weight * (1 - listed.mean()) + penalty)


def fit(space: Space, rows: np.ndarray, *, sweeps: int = 3) -> np.ndarray:
    """Coordinate descent over the grid from the hand weights; only the rows' tables count.

    Moving one rule's weight changes only the shortlists of the tables where that rule fires,
    so each try re-ranks those tables alone (the objective is a sum over tables): the same
    result as re-scoring every table, several times faster.
    """
    weights = space.hand.copy()
    # an entry is judged only where its rule fired on enough of these tables; elsewhere a table
    # or two would decide it (the fit moved with the table set), so it keeps its hand value
    active = [(r, c) for r, c in space.free if space.fired[rows, r].sum() >= space.min_tables]
    top, listed, _ = outcome(space, weights, rows)
    n = len(rows)
    moved = float(np.abs(weights - space.hand).sum())
    added = sum(1 for (r, c) in space.new if weights[r, c] > 0)

    def total(top_sum: float, listed_sum: float, moved: float, added: int) -> float:
        return float(
            top_sum / n
            + space.miss_weight * (1 - listed_sum / n)
            + space.penalty * moved
            + space.new_penalty * added
        )

    best = total(top.sum(), listed.sum(), moved, added)
    for _ in range(sweeps):
        improved = False
        for r, c in active:
            start = weights[r, c]
            # a loss the hand rules include stays included (its weight may fall, not vanish):
            # the corpus judges how much, the hand rules' reasons say whether
            kept = space.includes[r] and (r, c) not in space.new
            where = np.flatnonzero(space.fired[rows, r])
            rest_top = top.sum() - top[where].sum()
            rest_listed = listed.sum() - listed[where].sum()
            base_moved = moved - abs(start - space.hand[r, c])
            base_added = added - int((r, c) in space.new and start > 0)
            for value in GRID:
                if value == start or (kept and value == 0.0):
                    continue
                weights[r, c] = value
                sub_top, sub_listed, _ = outcome(space, weights, rows[where])
                try_moved = base_moved + abs(value - space.hand[r, c])
                try_added = base_added + int((r, c) in space.new and value > 0)
                score = total(
                    rest_top + sub_top.sum(), rest_listed + sub_listed.sum(), try_moved, try_added
                )
                if score < best - 1e-12:
                    best, start, improved = score, value, True
                    top[where], listed[where] = sub_top, sub_listed
                    moved, added = try_moved, try_added
            weights[r, c] = start
        if not improved:
            break
    return weights


def folds(
    tables: Sequence[Table], k: int, seed: int = 0, rows: np.ndarray | None = None
) -> list[np.ndarray]:
    """Grouped k-fold of ``rows`` (all tables by default): a table and its contaminated variant
    are never split apart."""
    rows = np.arange(len(tables)) if rows is None else rows
    groups = sorted({tables[t].group for t in rows})
    order = np.random.default_rng(seed).permutation(len(groups))
    fold_of = {groups[g]: i % k for i, g in enumerate(order)}
    return [np.array([t for t in rows if fold_of[tables[t].group] == f]) for f in range(k)]


def choose_penalty(
    space: Space, tables: Sequence[Table], rows: np.ndarray, *, k: int = INNER_FOLDS
) -> float:
    """The penalty (``PENALTIES``) whose fits do best on the rows' tables, by grouped k-fold
    within them: the inner loop of a nested cross-validation, so that how far the weights may
    move from the hand values is itself chosen out of fold. A tie goes to the larger penalty
    (the weights nearer the hand ones)."""
    scores = {}
    for penalty in PENALTIES:
        space.penalty = penalty
        total = 0.0
        for held in folds(tables, k, rows=rows):
            weights = fit(space, np.setdiff1d(rows, held))
            top, listed, _ = outcome(space, weights, held)
            total += float(top.sum() + space.miss_weight * (~listed).sum())
        scores[penalty] = total
    best = min(scores.values())
    space.penalty = max(p for p, v in scores.items() if v <= best + 1e-12)
    return space.penalty


def fit_bagged(
    space: Space, tables: Sequence[Table], rows: np.ndarray, *, bags: int, seed: int = 0
) -> np.ndarray:
    """The fit averaged over ``bags`` bootstrap resamples of the rows' table groups.

    One coordinate-descent fit jumps between grid values when a table or two come or go (the
    fit on 109 tables and on 113 disagreed): averaging fits on resampled corpora keeps what
    most resamples agree on. An entry that most fits leave at zero (a loss a rule did not name,
    or a raise the corpus does not pay for) stays at zero rather than becoming a small weight
    that a resample or two gave it. ``bags <= 1`` is the plain fit.
    """
    if bags <= 1:
        return fit(space, rows)
    by_group: dict[str, list[int]] = {}
    for t in rows:
        by_group.setdefault(tables[t].group, []).append(int(t))
    groups = sorted(by_group)
    rng = np.random.default_rng(seed)
    fits = []
    for _ in range(bags):
        drawn = rng.integers(len(groups), size=len(groups))
        sample = np.array([t for g in drawn for t in by_group[groups[g]]])
        fits.append(fit(space, sample))
    stacked = np.stack(fits)
    weights = stacked.mean(axis=0)
    weights[np.median(stacked, axis=0) == 0] = 0.0
    return np.round(weights * 4) / 4  # quarter units: readable, and ties stay ties


def out_of_fold(
    space: Space,
    tables: Sequence[Table],
    k: int,
    *,
    bags: int = 1,
    seed: int = 0,
    nested: bool = False,
) -> dict[str, Any]:
    """Each fold's tables scored with weights fitted on the other folds (and, ``nested``,
    with the penalty chosen by cross-validation inside those other folds)."""
    n = len(tables)
    top = np.zeros(n)
    listed = np.zeros(n, bool)
    picks: list[str | None] = [None] * n
    penalties = []
    for held in folds(tables, k, seed):
        train = np.setdiff1d(np.arange(n), held)
        if nested:
            penalties.append(choose_penalty(space, tables, train))
        weights = fit_bagged(space, tables, train, bags=bags, seed=seed)
        top[held], listed[held], held_picks = outcome(space, weights, held)
        for t, loss in zip(held, held_picks, strict=True):
            picks[t] = loss
    return {"top": top, "listed": listed, "picks": picks, "penalties": penalties}


def slot_support(
    space: Space, tables: Sequence[Table], entry: str, *, k: int, seeds: Sequence[int]
) -> list[dict[str, Any]]:
    """Whether a rule's loss entry earns its shortlist slot on each fold's training tables.

    A loss added to a rule by hand is chosen with the whole corpus in view, so the out-of-fold
    figures with it in place are out of fold for the weights, not for the choice. This redoes
    the choice on the training tables of every fold (the grouped folds of ``out_of_fold``):
    on the tables there where the rule fires, the hand shortlist with the entry and without it
    (its weight set to zero) are compared; the entry earns its slot where the loss it brings is
    within 1% of the best more often than the losses it pushes off. Where it does so on every
    fold's training tables, a procedure that keeps an entry only if it earns its slot keeps it
    in every fold, and the out-of-fold figures with the entry in place are that procedure's.

    ``entry`` is ``RULE:LOSS``. One dict per (fold seed, fold): tables where the rule fired,
    how often the added loss and the displaced losses were within 1%, and the verdict.
    """
    rule_id, _, loss = entry.partition(":")
    ids = [rule.id for rule in space.rules]
    if rule_id not in ids or loss not in space.losses:
        raise SystemExit(f"fit_priors: --support {entry!r}: no such rule or loss")
    r, c = ids.index(rule_id), space.losses.index(loss)
    if space.hand[r, c] <= 0:
        raise SystemExit(f"fit_priors: --support {entry!r}: the rule gives {loss} no weight")
    without = space.hand.copy()
    without[r, c] = 0.0
    rows_all = np.arange(len(tables))
    out = []
    for seed in seeds:
        for f, held in enumerate(folds(tables, k, seed)):
            rows = np.setdiff1d(rows_all, held)
            rows = rows[space.fired[rows, r]]
            added = displaced = 0
            for t, kept, before in zip(
                rows,
                shortlists(space, space.hand, rows),
                shortlists(space, without, rows),
                strict=True,
            ):
                near = {x for x in kept + before if space.regrets[t, x] <= NEAR}
                added += sum(1 for x in kept if x not in before and x in near)
                displaced += sum(1 for x in before if x not in kept and x in near)
            out.append(
                {
                    "seed": seed,
                    "fold": f,
                    "tables": int(len(rows)),
                    "added_near": added,
                    "displaced_near": displaced,
                    "earns": added > displaced,
                }
            )
    return out


def default_regret(space: Space, tables: Sequence[Table]) -> np.ndarray:
    out = []
    for table in tables:
        loss = DEFAULTS[table.task]
        value = table.regrets.get(loss)
        out.append(REGRET_CAP if value is None else min(value, REGRET_CAP))
    return np.array(out)


def versus_default(tables: Sequence[Table], picks: Sequence[str | None]) -> str:
    """W/T/L of each pick against the task's default loss, paired over the seeds (p < 0.05)."""
    verdicts = [
        paired(table, loss, DEFAULTS[table.task]) if loss else "loss"
        for table, loss in zip(tables, picks, strict=True)
    ]
    return "/".join(str(verdicts.count(v)) for v in ("win", "tie", "loss"))


def summarise(label: str, top: np.ndarray, listed: np.ndarray, wtl: str) -> str:
    return (
        f"| {label} | {np.median(top):.2%} | {np.mean(top):.2%} | {np.max(top):.2%} | "
        f"{listed.mean():.0%} | {wtl} |"
    )


# --------------------------------------------------------------------------- provenance


def provenance(space: Space, tables: Sequence[Table], weights: np.ndarray) -> dict[str, Any]:
    """Per rule that weighs losses: where it fired, and how its favourite loss fared there."""
    out: dict[str, Any] = {}
    for r, rule in enumerate(space.rules):
        if not space.sign[r] or not space.fired[:, r].any():
            continue
        entries = {space.losses[c]: float(weights[r, c]) for c in np.flatnonzero(weights[r] > 0)}
        favourite = max(entries, key=lambda loss: (entries[loss], loss)) if entries else None
        if space.sign[r] < 0:
            favourite = None
        rows = np.flatnonzero(space.fired[:, r])
        right, gains = [], []
        for t in rows:
            table = tables[t]
            if favourite is None or favourite not in table.regrets:
                continue
            right.append(table.regrets[favourite] <= NEAR)
            default = table.regrets.get(DEFAULTS[table.task])
            if default is not None:
                gains.append(default - table.regrets[favourite])
        out[rule.id] = {
            "losses": {k: round(v, 2) for k, v in entries.items()},
            "hand": {
                space.losses[c]: float(space.hand[r, c]) for c in np.flatnonzero(space.hand[r] > 0)
            },
            "provenance": {
                "tables": int(len(rows)),
                "favourite": favourite,
                "right": round(float(np.mean(right)), 3) if right else None,
                "median_gain": round(float(statistics.median(gains)), 4) if gains else None,
                # judged by the fit (``fit``'s ``active``); below the threshold: hand weights
                "fitted": bool(len(rows) >= space.min_tables),
            },
        }
    return out


def write_calibration(
    path: Path, fitted: dict[str, Any], *, n_tables: int, commit: str, min_tables: int
) -> None:
    import yaml

    header = (
        "# Generated by benchmarks/calibration/fit_priors.py --write from the reference runs in\n"
        "# benchmarks/calibration/reference/ (do not edit by hand: re-run the script).\n"
        "# Each rule's fitted loss weights replace the hand weights of rules/selection.yaml;\n"
        "# provenance: corpus tables where the rule fired, the share where its favourite loss\n"
        "# was within 1% of the best on test, its median regret gain over the task default, and\n"
        "# whether the fit judged its weights (fitted: false: it fired on fewer than min_tables\n"
        "# tables, so it keeps its hand weights).\n"
    )
    document = {
        "version": 1,
        "tables": n_tables,
        "commit": commit,
        "min_tables": min_tables,
        "rules": fitted,
    }
    path.write_text(header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--penalty", type=float, default=PENALTY)
    parser.add_argument("--new-entry-penalty", type=float, default=NEW_ENTRY_PENALTY)
    parser.add_argument("--miss-weight", type=float, default=MISS_WEIGHT)
    parser.add_argument(
        "--min-tables",
        type=int,
        default=MIN_TABLES,
        help="fit a weight only where its rule fired on this many (training) tables",
    )
    parser.add_argument(
        "--fold-seeds", type=int, nargs="+", default=[0, 1, 2], help="one out-of-fold row each"
    )
    parser.add_argument("--bags", type=int, default=1, help="average fits on N bootstrap corpora")
    parser.add_argument(
        "--nested", action="store_true", help="choose the penalty by inner cross-validation"
    )
    parser.add_argument("--write", action="store_true", help="fit on all tables, write the file")
    parser.add_argument("--out", type=Path, default=CALIBRATION_FILE)
    parser.add_argument(
        "--check", action="store_true", help="only compare the simulation with the rule engine"
    )
    parser.add_argument(
        "--support",
        action="append",
        default=[],
        metavar="RULE:LOSS",
        help="only check, fold by fold, that a hand entry earns its shortlist slot (repeatable)",
    )
    args = parser.parse_args(argv)

    tables = load_tables(args.reference)
    if len(tables) < args.folds:
        print(f"fit_priors: {len(tables)} tables; need at least {args.folds}", file=sys.stderr)
        return 2
    space = build_space(tables)
    space.penalty, space.new_penalty = args.penalty, args.new_entry_penalty
    space.miss_weight, space.min_tables = args.miss_weight, args.min_tables
    rows = np.arange(len(tables))
    simulated = shortlists(space, space.hand, rows)
    differ = [
        (table.name, table.listed, tuple(space.losses[c] for c in kept))
        for table, kept in zip(tables, simulated, strict=True)
        if tuple(space.losses[c] for c in kept) != table.listed
    ]
    for name, real, sim in differ:
        print(f"simulation differs on {name}: engine {real}, simulated {sim}", file=sys.stderr)
    if args.check:
        print(f"{len(tables) - len(differ)}/{len(tables)} shortlists simulated exactly")
        return 1 if differ else 0
    if args.support:
        print(
            "| entry | fold seed | fold | training tables where the rule fires | added loss "
            "within 1% | displaced losses within 1% | earns its slot |"
        )
        print("|---|---|---|---|---|---|---|")
        earned = True
        for entry in args.support:
            for row in slot_support(space, tables, entry, k=args.folds, seeds=args.fold_seeds):
                earned &= row["earns"]
                print(
                    f"| {entry} | {row['seed']} | {row['fold']} | {row['tables']} | "
                    f"{row['added_near']} | {row['displaced_near']} | "
                    f"{'yes' if row['earns'] else 'no'} |"
                )
        return 0 if earned else 1
    before_top, before_listed, before_picks = outcome(space, space.hand, rows)
    active = sum(1 for r, _ in space.free if space.fired[:, r].sum() >= space.min_tables)
    print(
        f"{len(tables)} tables, {active} of {len(space.free)} weights fitted (rule fired on "
        f">= {space.min_tables} tables; {len(space.new)} entries would be new), "
        f"{args.folds}-fold grouped out of fold, penalty "
        f"{'nested CV' if args.nested else space.penalty}, bags {args.bags}"
    )
    print(
        "| rules only | median regret | mean | worst | shortlist recall (1%) | "
        "vs task default W/T/L (paired, seeds) |"
    )
    print("|---|---|---|---|---|---|")
    print(
        summarise("hand weights", before_top, before_listed, versus_default(tables, before_picks))
    )
    penalty = space.penalty
    first = None
    for seed in args.fold_seeds:
        space.penalty = penalty
        oof = out_of_fold(space, tables, args.folds, bags=args.bags, seed=seed, nested=args.nested)
        first = first or oof
        label = f"fitted, out of fold (fold seed {seed})"
        print(summarise(label, oof["top"], oof["listed"], versus_default(tables, oof["picks"])))
    space.penalty = penalty
    worst = [t for t in np.argsort(-first["top"]) if first["top"][t] > WORST]
    print(f"\ntables above {WORST:.0%} regret out of fold (fold seed {args.fold_seeds[0]}):\n")
    print("| table | task | metric | fitted pick | regret | hand pick | regret | best |")
    print("|---|---|---|---|---|---|---|---|")
    for t in worst:
        table = tables[t]
        best = min(table.regrets, key=table.regrets.get)
        print(
            f"| {table.name} | {table.task} | {table.metric} | {first['picks'][t]} | "
            f"{table.regrets.get(first['picks'][t], math.inf):.1%} | {before_picks[t]} | "
            f"{table.regrets.get(before_picks[t], math.inf):.1%} | {best} |"
        )
    if args.write:
        if args.nested:
            print(f"penalty chosen on all tables: {choose_penalty(space, tables, rows)}")
        weights = fit_bagged(space, tables, rows, bags=args.bags)
        top, listed, picks = outcome(space, weights, rows)
        print(summarise("fitted, in sample", top, listed, versus_default(tables, picks)))
        import subprocess

        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip()
        write_calibration(
            args.out,
            provenance(space, tables, weights),
            n_tables=len(tables),
            commit=commit,
            min_tables=space.min_tables,
        )
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
