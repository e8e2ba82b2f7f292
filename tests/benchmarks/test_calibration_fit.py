"""fit_priors.py: the weight fit on the stored reference runs (no training; seconds)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from calibration_scripts import load as _load


@pytest.fixture(scope="module")
def fp():
    return _load("fit_priors")


@pytest.fixture(scope="module")
def corpus(fp):
    tables = fp.load_tables(fp.DEFAULT_REFERENCE)
    if len(tables) < 40:
        pytest.skip("the reference runs are not in this checkout")
    return tables


def _naive_fit(fp, space, rows):
    """The coordinate descent re-scoring every table at each try (the definition)."""
    weights = space.hand.copy()
    active = [(r, c) for r, c in space.free if space.fired[rows, r].sum() >= space.min_tables]
    best = fp.objective(space, weights, rows)
    for _ in range(3):
        improved = False
        for r, c in active:
            start = weights[r, c]
            kept = space.includes[r] and (r, c) not in space.new
            for value in fp.GRID:
                if value == start or (kept and value == 0.0):
                    continue
                weights[r, c] = value
                score = fp.objective(space, weights, rows)
                if score < best - 1e-12:
                    best, start, improved = score, value, True
            weights[r, c] = start
        if not improved:
            break
    return weights


def test_incremental_fit_equals_rescoring_every_table(fp, corpus):
    space = fp.build_space(corpus)
    space.min_tables = 8
    rows = np.arange(0, len(corpus), 2)  # half the corpus keeps the naive fit quick
    fitted = fp.fit(space, rows)
    np.testing.assert_array_equal(fitted, _naive_fit(fp, space, rows))
    assert fp.objective(space, fitted, rows) <= fp.objective(space, space.hand, rows)


def test_a_weight_moves_only_where_its_rule_fired_on_enough_tables(fp, corpus):
    space = fp.build_space(corpus)
    rows = np.arange(len(corpus))
    space.min_tables = 20
    moved = np.argwhere(fp.fit(space, rows) != space.hand)
    assert len(moved)  # the corpus does pay for some change
    assert all(space.fired[:, r].sum() >= 20 for r, _ in moved)
    space.min_tables = len(corpus) + 1
    np.testing.assert_array_equal(fp.fit(space, rows), space.hand)


def test_folds_keep_a_table_and_its_contaminated_copy_together(fp, corpus):
    for seed in (0, 1):
        parts = fp.folds(corpus, 5, seed)
        assert sorted(np.concatenate(parts).tolist()) == list(range(len(corpus)))
        fold_of = {int(t): f for f, part in enumerate(parts) for t in part}
        for t, table in enumerate(corpus):
            if table.name.endswith("_contaminated"):
                clean = next(i for i, o in enumerate(corpus) if o.name == table.group)
                assert fold_of[t] == fold_of[clean]


def test_bagged_weights_are_quarter_units_and_keep_hand_includes(fp, corpus):
    space = fp.build_space(corpus)
    rows = np.arange(len(corpus))
    assert np.array_equal(fp.fit_bagged(space, corpus, rows, bags=1), fp.fit(space, rows))
    bagged = fp.fit_bagged(space, corpus, rows, bags=3, seed=0)
    np.testing.assert_array_equal(bagged * 4, np.round(bagged * 4))
    for r, c in zip(*np.nonzero(space.hand), strict=True):
        if space.includes[r]:
            assert bagged[r, c] > 0  # a loss the hand rules include stays included


def test_the_hand_entries_added_for_recall_earn_their_slot_in_every_fold(fp, corpus):
    space = fp.build_space(corpus)
    for entry in ("ordinal-family:ce_label_smoothing", "binary-imbalance:ce_weighted"):
        rows = fp.slot_support(space, corpus, entry, k=5, seeds=(0, 1))
        assert len(rows) == 10
        rule = next(r for r, rule in enumerate(space.rules) if rule.id == entry.split(":")[0])
        for row, held in zip(rows, fp.folds(corpus, 5, 0) + fp.folds(corpus, 5, 1), strict=True):
            training = np.setdiff1d(np.arange(len(corpus)), held)
            assert row["tables"] == int(space.fired[training, rule].sum())
            assert row["earns"], row


def test_an_entry_whose_loss_is_never_near_the_best_does_not_earn_its_slot(fp, corpus):
    space = fp.build_space(corpus)
    weighted, hinge = space.losses.index("ce_weighted"), space.losses.index("squared_hinge")
    space.regrets = space.regrets.copy()
    space.regrets[:, weighted] = 0.5  # never within 1% of the best
    space.regrets[:, hinge] = 0.0  # the loss it pushes off always is
    rows = fp.slot_support(space, corpus, "binary-imbalance:ce_weighted", k=5, seeds=(0,))
    assert all(r["added_near"] == 0 and r["displaced_near"] > 0 for r in rows)
    assert not any(r["earns"] for r in rows)
    with pytest.raises(SystemExit, match="no weight"):
        fp.slot_support(space, corpus, "binary-imbalance:squared_hinge", k=5, seeds=(0,))
    with pytest.raises(SystemExit, match="no such rule"):
        fp.slot_support(space, corpus, "binary-imbalanse:ce_weighted", k=5, seeds=(0,))


def test_fitted_shortlists_hold_a_near_best_loss_on_95_percent_out_of_fold(fp, corpus):
    """Issue 17's recall target, out of fold (grouped 5-fold, fold seed 0)."""
    space = fp.build_space(corpus)
    oof = fp.out_of_fold(space, corpus, 5, seed=0)
    assert oof["listed"].mean() >= 0.95


def test_zero_inflated_tables_are_built_as_the_task_their_zeros_allow():
    build = _load("build_corpus")
    counts = pd.Series([0, 0, 0, 12, 40, 250])
    amounts = pd.Series([0.0, 0.0, 15.5, 3210.25])
    assert build.zero_inflated_task(counts, "regression_positive") == "regression_count"
    assert build.zero_inflated_task(amounts, "regression_positive") == "regression"
    assert build.zero_inflated_task(amounts + 1, "regression_positive") == "regression_positive"
    assert build.zero_inflated_task(amounts, "regression") == "regression"
