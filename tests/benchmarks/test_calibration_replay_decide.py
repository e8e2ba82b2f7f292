"""The decision rule replayed on the stored search scores (calibration/replay_decide.py)."""

from __future__ import annotations

import json

from calibration_scripts import load as _load


def _stored(replay, fp, count: int):
    tables = fp.load_tables(fp.DEFAULT_REFERENCE)[:count]
    return tables, json.loads(replay.STORED.read_text())


def test_the_shipped_threshold_reproduces_the_stored_picks():
    """The stored picks are what today's ``decide`` makes of the stored scores: a change to the
    decision rule without a rerun of the corpus shows up here."""
    from advisor.search import _decide

    replay, fp = _load("replay_decide"), _load("fit_priors")
    tables, cache = _stored(replay, fp, 40)
    for table in tables:
        for variant in ("hand", "fitted"):
            done = cache[f"{table.name}:0:60"][variant]
            assert replay.replay(table, done, _decide.TIE)["loss"] == done["loss"], table.name


def test_the_best_mean_and_a_strict_threshold_can_overturn_the_prior():
    replay, fp = _load("replay_decide"), _load("fit_priors")
    tables, cache = _stored(replay, fp, 115)
    changed = {
        tie: sum(
            replay.replay(t, cache[f"{t.name}:0:60"]["hand"], tie)["loss"]
            != cache[f"{t.name}:0:60"]["hand"]["loss"]
            for t in tables
        )
        for tie in (0.5, None)
    }
    # ties go to the prior less often as the threshold rises, never with the best mean
    assert 0 < changed[0.5] < changed[None]


def test_the_table_has_a_row_per_threshold_and_weights(capsys):
    replay = _load("replay_decide")
    assert replay.main([]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| hand")]
    assert len(rows) == len(replay.THRESHOLDS) + 1
    assert "| p >= 0.1 ties |" in rows[1] and rows[1].endswith("| 115 of 115 |")
