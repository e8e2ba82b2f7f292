"""Terminal and HTML reports: render without error, say the answer, escape, write atomically."""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from advisor._recommend import recommend
from advisor.errors import UsageError
from advisor.records import (
    Advice,
    CandidateResult,
    Comparison,
    LossId,
    SearchResult,
    TrialOutcome,
)
from advisor.report import (
    render_advice,
    render_html,
    render_profile,
    render_search,
    render_shortlist,
    render_trace,
    write_html,
)

EVIL = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def advice() -> Advice:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = 2 * x[:, 0] + rng.normal(scale=0.3, size=200)
    y[:20] += 30.0
    frame = pd.DataFrame({EVIL: x[:, 0], "b": x[:, 1], "y": y})
    plain = recommend(frame, target="y", search=False)
    losses = plain.shortlist.losses
    results = tuple(
        CandidateResult(
            loss=loss,
            params={"lr": 0.003},
            mean=1.0 + i,
            std=0.1,
            n=3,
            scores=(1.0 + i, 1.1 + i, 0.9 + i),
        )
        for i, loss in enumerate(losses)
    )
    search = SearchResult(
        metric=plain.shortlist.metric,
        direction="minimize",
        budget_s=8.0,
        elapsed_s=5.2,
        trials=4,
        storage="in-memory",
        study_name="s",
        results=results,
        comparison=Comparison(
            best=losses[0],
            other=losses[1],
            difference=1.0,
            difference_std=0.0,
            p_value=0.0,
            significant=True,
            statement=f"{losses[0].value} beats {losses[1].value}",
        ),
        outcomes=(
            TrialOutcome(
                number=0, loss=losses[0], params={}, score=1.0, state="complete", steps=60, seed=0
            ),
        ),
        pruned=0,
    )
    return dataclasses.replace(plain, search=search)


def _text(renderable) -> str:
    console = Console(record=True, width=120, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_render_advice_names_the_loss_and_the_metric(advice: Advice) -> None:
    text = _text(render_advice(advice))
    rec = advice.recommendation
    assert rec.loss.value in text and rec.metric.value in text
    assert "recommendation" in text and "confirmation" in text
    assert "import torch" in text and "torch.nn." in text  # the pytorch snippet


def test_render_advice_without_search(advice: Advice) -> None:
    text = _text(render_advice(dataclasses.replace(advice, search=None)))
    assert advice.recommendation.loss.value in text
    assert "confirmation" not in text


def test_render_profile(advice: Advice) -> None:
    text = _text(render_profile(advice.profile))
    assert "regression" in text and "outliers" in text and "y" in text


def test_render_shortlist_and_trace(advice: Advice) -> None:
    listed = advice.shortlist
    text = _text(render_shortlist(listed))
    assert all(loss.value in text for loss in listed.losses)
    assert f"validation metric: {listed.metric.value}" in text
    full = _text(render_trace(listed))
    fired = _text(render_trace(listed, all_rules=False))
    assert all(f.rule[:20] in full for f in listed.trace)
    assert len(fired) <= len(full)


def test_render_search(advice: Advice) -> None:
    text = _text(render_search(advice.search))
    assert f"{advice.search.metric.value} mean" in text
    assert "4 trials (0 pruned)" in text and "lower is better" in text
    assert all(r.loss.value in text for r in advice.search.results)


def test_render_search_says_why_a_loss_has_fewer_splits(advice: Advice) -> None:
    assert "left the race" not in _text(render_search(advice.search))
    first = advice.search.results[0]
    left = dataclasses.replace(first, scores=first.scores[:2], n=2)
    search = dataclasses.replace(advice.search, results=(left, *advice.search.results[1:]))
    assert "left the race once it was settled" in _text(render_search(search))
    assert "left the race" not in render_html(advice)
    assert "left the race once it was settled" in render_html(
        dataclasses.replace(advice, search=search)
    )


def test_render_search_with_a_nan_mean(advice: Advice) -> None:
    nan = dataclasses.replace(advice.search.results[0], mean=float("nan"), n=0)
    search = dataclasses.replace(advice.search, results=(nan, *advice.search.results[1:]))
    assert "nan" in _text(render_search(search))


def test_html_escapes_column_names_and_embeds_the_json(advice: Advice) -> None:
    page = render_html(advice)
    assert EVIL not in page
    assert page.count("</script>") == 2  # only the check script's and the JSON block's
    assert advice.recommendation.loss.value in page
    assert advice.recommendation.metric.value in page
    data = page.split("<script type=application/json id=advice>")[1].split("</script>")[0]
    assert json.loads(data) == json.loads(json.dumps(advice.to_dict()))


def test_html_escapes_the_target_name() -> None:
    frame = pd.DataFrame({"x": np.arange(60.0), EVIL: np.random.default_rng(1).normal(size=60)})
    page = render_html(recommend(frame, target=EVIL, search=False))
    assert EVIL not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_write_html_writes_the_page(advice: Advice, tmp_path) -> None:
    path = write_html(advice, tmp_path / "report.html")
    assert path.read_text(encoding="utf-8") == render_html(advice)
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temp file left


def test_write_html_into_a_missing_folder_creates_nothing(advice: Advice, tmp_path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        write_html(advice, tmp_path / "missing" / "report.html")
    assert not (tmp_path / "missing").exists()


def test_failed_write_leaves_the_existing_report_untouched(advice, tmp_path, monkeypatch):
    target = tmp_path / "report.html"
    target.write_text("old report", encoding="utf-8")

    def broken(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("advisor.report._html.os.replace", broken)
    with pytest.raises(UsageError, match="No space left on device"):
        write_html(advice, target)
    assert target.read_text(encoding="utf-8") == "old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_unwritable_folder_is_a_usage_error(advice, tmp_path) -> None:
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(UsageError, match="cannot write report"):
            write_html(advice, tmp_path / "report.html")
    finally:
        tmp_path.chmod(0o700)


def test_losses_in_the_fixture_are_distinct(advice: Advice) -> None:
    assert len(set(advice.shortlist.losses)) == len(advice.shortlist.losses) >= 2
    assert isinstance(advice.shortlist.losses[0], LossId)


def test_render_search_names_a_parameter_derived_from_the_data(advice: Advice) -> None:
    derived = dataclasses.replace(  # the loss whose pos_weight is computed from the data
        advice.search.results[0], loss=LossId.BCE_WEIGHTED, params={"pos_weight": None, "lr": 0.003}
    )
    search = dataclasses.replace(advice.search, results=(derived, *advice.search.results[1:]))
    assert "pos_weight=from data" in _text(render_search(search))


# ------------------------------------------------- one fact, one reading in every view


def _visible(page: str) -> str:
    """The text a reader of the HTML page sees (the embedded JSON and the markup left out)."""
    import html
    import re

    page = page.split("<script type=application/json")[0]
    return html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<svg.*?</svg>", "", page, flags=re.S)))


@pytest.fixture(scope="module")
def imbalanced() -> Advice:
    """61 positives of 600: bce_weighted's pos_weight is 539/61 = 8.8361 (5 digits)."""
    rng = np.random.default_rng(1)
    y = (np.arange(600) < 61).astype(int)
    frame = pd.DataFrame({"a": rng.normal(size=600) + y, "b": rng.normal(size=600), "label": y})
    advice = recommend(frame, target="label", search=False)
    assert advice.recommendation.loss is LossId.BCE_WEIGHTED
    return advice


def test_a_parameter_left_to_the_loss_reads_the_same_in_terminal_and_html(
    imbalanced: Advice,
) -> None:
    from advisor.records import Candidate

    candidates = (
        Candidate(loss=LossId.BCE_WEIGHTED, params={"pos_weight": None}, score=3.5),
        Candidate(loss=LossId.FOCAL, params={"gamma": 2.0, "alpha": None}, score=2.0),
    )
    listed = dataclasses.replace(imbalanced.shortlist, candidates=candidates)
    results = tuple(
        CandidateResult(loss=c.loss, params={**c.params, "lr": 0.003}, mean=0.8, std=0.01, n=3)
        for c in candidates
    )
    search = SearchResult(
        metric=listed.metric,
        direction="maximize",
        budget_s=5.0,
        elapsed_s=1.0,
        trials=2,
        storage="in-memory",
        study_name="s",
        results=results,
    )
    advice = dataclasses.replace(imbalanced, shortlist=listed, search=search)
    terminal = _text(render_shortlist(listed)) + _text(render_search(search))
    page = _visible(render_html(advice))
    for text in (terminal, page):
        # the weight is computed from the class counts when the loss is built...
        assert text.count("pos_weight=from data") == 2
        # ...while an alpha left None is no alpha weighting at all
        assert text.count("alpha=none") == 2 and "alpha=from data" not in text
        assert "None" not in text


def test_the_recommended_values_read_as_the_json_carries_them(imbalanced: Advice) -> None:
    from advisor.report import recommendation_line

    rec = imbalanced.recommendation
    assert rec.params == {"pos_weight": 8.8361}
    shown = "pos_weight=8.8361"
    assert shown in recommendation_line(imbalanced)
    assert shown in _text(render_advice(imbalanced))
    assert shown in _visible(render_html(imbalanced))
    assert shown in imbalanced.explain()
    assert "torch.tensor([8.8361])" in rec.pytorch


def test_the_search_tables_show_the_same_digits(advice: Advice) -> None:
    tuned = dataclasses.replace(
        advice.search.results[0], loss=LossId.HUBER, params={"delta": 118.6123, "lr": 0.00448}
    )
    search = dataclasses.replace(advice.search, results=(tuned, *advice.search.results[1:]))
    terminal = _text(render_search(search))
    page = _visible(render_html(dataclasses.replace(advice, search=search)))
    for text in (terminal, page):
        assert "delta=118.6" in text and "lr=0.00448" in text


def test_the_catalog_says_which_defaults_come_from_the_data() -> None:
    from advisor.losses import load_catalog
    from advisor.report import render_catalog

    text = " ".join(_text(render_catalog(load_catalog().values())).split())
    assert "pos_weight=from data" in text and "delta=from data" in text
    assert "alpha=none" in text and "alpha=from data" not in text


def test_the_html_badge_says_the_confidence_label_the_terminal_says(imbalanced: Advice) -> None:
    rec = imbalanced.recommendation
    assert rec.confidence_label == "prior only"  # rules only: no search measured it
    expected = f"confidence {rec.confidence:.2f} · prior only"
    assert expected in _visible(render_html(imbalanced))
    assert f"confidence {rec.confidence:.2f} (prior only)" in _text(render_advice(imbalanced))


def test_a_rule_that_lowered_a_loss_reads_as_counting_against_it() -> None:
    from advisor.records import EffectKind

    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    frame = pd.DataFrame({"x": x, "amount": np.exp(1.5 * x + rng.normal(size=300)) * 10})
    advice = recommend(frame, target="amount", search=False)
    lowered = [
        (c.loss, r.text)
        for c in advice.shortlist.candidates
        for r in c.reasons
        if r.effect.kind is EffectKind.LOWER
    ]
    assert lowered
    terminal = " ".join(_text(render_shortlist(advice.shortlist)).replace("│", " ").split())
    page = " ".join(_visible(render_html(advice)).split())
    for loss, text in lowered:
        assert f"counts against {loss.value}: {text}" in page
        assert f"counts against {loss.value}: {text}" in terminal


def test_the_html_names_the_other_readings_of_the_target_as_the_terminal_does() -> None:
    frame = pd.DataFrame(
        {"x": np.arange(90.0), "cultivar": [f"cultivar_{i % 3}" for i in range(90)]}
    )
    advice = recommend(frame, target="cultivar", search=False)
    shown = [
        h
        for h in advice.profile.alternatives
        if not any(h.evidence in warning for warning in advice.profile.warnings)
    ]
    assert shown, "three string levels may be ordinal: an alternative the warnings do not say"
    terminal = " ".join(_text(render_profile(advice.profile)).replace("│", " ").split())
    page = " ".join(_visible(render_html(advice)).split())
    for h in shown:
        line = f"alternative: {h.task.value} ({h.confidence:.2f}) - {h.evidence} {h.flag}"
        assert line in terminal
        assert line in page
