"""The HTML report: hostile names stay text (checked with an HTML5 parser), every figure is
drawn from the records, the rule trace folds what did not fire, the file gets the umask."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import stat

import html5lib
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from advisor._recommend import recommend
from advisor.records import Advice, CandidateResult, Comparison, LossId, SearchResult
from advisor.report import render_html, write_html
from advisor.report._html import embed_json
from advisor.report._plots import CHOSEN, curves_figure, house_style, paired_figure

HOSTILE = [
    "<!--<script>",
    "</script>",
    "a&b\"'<x>",
    "]]><![CDATA[",
    "\u202eevil",
    "y[/]",
    "[red]y",
    "[link=https://example.com]x",
    "ctl\x1b[31m\x07",
    "n" * 500,
]
TARGET = "</script><!--\x1b[2Jtarget\u202e"  # ends the script block, clears a terminal
XHTML = "{http://www.w3.org/1999/xhtml}"
SVG = "{http://www.w3.org/2000/svg}"
PAGE_TAGS = {
    "html", "head", "meta", "title", "style", "script", "body", "header", "footer", "p", "h1",
    "h2", "h3", "code", "span", "div", "b", "ul", "li", "pre", "figure", "figcaption", "table",
    "thead", "tbody", "tr", "th", "td", "br", "wbr", "details", "summary",
}  # fmt: skip


def _search(losses: tuple[LossId, ...], metric, *, splits=(10, 10, 3)) -> SearchResult:
    rng = np.random.default_rng(0)
    results = tuple(
        CandidateResult(
            loss=loss,
            params={"lr": 0.003},
            mean=1.0 + 0.1 * i,
            std=0.05,
            n=n,
            scores=tuple(1.0 + 0.1 * i + rng.normal(scale=0.05, size=n)),
            history=tuple((step, 2.0 - step / 500 + 0.1 * i) for step in range(10, 400, 30)),
        )
        for i, (loss, n) in enumerate(zip(losses, splits, strict=False))
    )
    return SearchResult(
        metric=metric,
        direction="minimize",
        budget_s=8.0,
        elapsed_s=7.0,
        trials=12,
        storage="in-memory",
        study_name="s",
        results=results,
        comparison=Comparison(
            best=losses[0],
            other=losses[1],
            difference=-0.1,
            difference_std=0.02,
            p_value=0.01,
            significant=True,
            statement=f"{losses[0].value} beats {losses[1].value}",
        ),
    )


@pytest.fixture(scope="module")
def hostile() -> Advice:
    """Regression whose feature and target names try to break the page, with a search."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, len(HOSTILE)))
    y = 2 * x[:, 0] + rng.normal(scale=0.3, size=300)
    y[:10] += 30.0
    frame = pd.DataFrame(x, columns=HOSTILE)
    frame[TARGET] = y
    plain = recommend(frame, target=TARGET, search=False)
    search = _search(plain.shortlist.losses, plain.shortlist.metric)
    recommendation = dataclasses.replace(plain.recommendation, loss=search.results[0].loss)
    return dataclasses.replace(plain, search=search, recommendation=recommendation)


def _parse(page: str):
    return html5lib.parse(page, treebuilder="etree", namespaceHTMLElements=True)


def test_embedded_json_escapes_what_could_end_the_script_block() -> None:
    data = {name: name for name in HOSTILE} | {"line": "\u2028"}
    text = embed_json(data)
    assert not set("<>&\u2028") & set(text)
    assert json.loads(text) == data


def test_hostile_names_stay_text_and_the_json_round_trips(hostile: Advice) -> None:
    page = render_html(hostile)
    root = _parse(page)
    scripts = list(root.iter(XHTML + "script"))
    assert [s.get("type") for s in scripts] == [None, "application/json"]  # check, advice
    assert json.loads(scripts[1].text) == json.loads(json.dumps(hostile.to_dict()))
    tags = {e.tag for e in root.iter() if isinstance(e.tag, str)}
    html_tags = {t.removeprefix(XHTML) for t in tags if t.startswith(XHTML)}
    assert html_tags <= PAGE_TAGS, html_tags - PAGE_TAGS
    assert all(t.startswith((XHTML, SVG)) for t in tags), tags  # no foreign namespace opened
    text = "".join(root.itertext())
    # shown as the name it is; ESC and the bidi override as escapes, as in the terminal
    assert "</script><!--\\x1b[2Jtarget\\u202e" in text
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f]", page)  # controls shown as escapes
    columns = json.loads(scripts[1].text)["profile"]["features"]["columns"]
    assert {c["name"] for c in columns} == set(HOSTILE)


def test_regression_with_a_search_has_three_figures(hostile: Advice) -> None:
    root = _parse(render_html(hostile))
    figures = [e for e in root.iter(SVG + "svg") if "figure" in e.get("class", "")]
    labels = [f.get("aria-label") for f in figures]
    assert labels == [
        "histogram of the target with its outliers marked",
        "validation score of each finalist on each paired split",
        "validation score over training steps for each finalist",
    ]
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids))  # figures' glyph and clip ids do not collide


def test_without_a_search_only_the_target_is_drawn(hostile: Advice) -> None:
    page = render_html(dataclasses.replace(hostile, search=None))
    assert page.count("<svg") == 1 and "No search was run" in page


@pytest.mark.parametrize(
    ("frame", "target", "label"),
    [
        (pd.DataFrame({"y": ["<b>a</b>"] * 60 + ["b"] * 15, "x": range(75)}), "y", "class"),
        (pd.DataFrame({"y": [0, 1, 2, 2] * 20, "x": range(80)}), "y", "class"),
        (
            pd.DataFrame(
                {"l1": [0, 1] * 40, "<l2>": [1, 0, 0, 0] * 20, "l3": [1] * 60 + [0] * 20}
            ).assign(x=range(80)),
            "l1,<l2>,l3",
            "label",
        ),
    ],
)
@pytest.mark.filterwarnings("ignore:the target reads as multiclass")
def test_classification_draws_its_balance(frame: pd.DataFrame, target: str, label: str) -> None:
    advice = recommend(frame, target=target.split(","), search=False)
    root = _parse(render_html(advice))
    labels = [e.get("aria-label") for e in root.iter(SVG + "svg")]
    expected = "positive rate of each label" if label == "label" else "number of rows in each class"
    assert labels == [expected]


def test_a_card_breaks_an_id_at_its_underscores_not_mid_word() -> None:
    """A narrow card wrapped "balanced_accuracy" anywhere ("balanced_accur / acy"); a <wbr>
    after each underscore gives the line its place to break."""
    frame = pd.DataFrame({"y": ["a"] * 60 + ["b"] * 15, "x": range(75)})
    advice = recommend(frame, target="y", search=False)
    assert advice.recommendation.metric.value == "balanced_accuracy"
    root = _parse(render_html(advice))
    card = next(
        e for e in root.iter(XHTML + "div")
        if e.get("class") == "card" and e.findtext(XHTML + "b") == "validation metric"
    )  # fmt: skip
    value = card.find(XHTML + "span")
    assert value.get("title") == "balanced_accuracy"
    assert value.text == "balanced_" and [c.tag for c in value] == [XHTML + "wbr"]
    assert "".join(value.itertext()) == "balanced_accuracy"


def test_the_paired_figure_joins_each_split_across_the_finalists(hostile: Advice) -> None:
    search, chosen = hostile.search, hostile.recommendation.loss
    with house_style():
        figure = paired_figure(search, chosen, search.results)
    axes = figure.axes[0]
    joins = [line for line in axes.get_lines() if len(line.get_xdata()) > 1]
    # 10 splits; the third loss left after 3, so 3 lines span all three and 7 only two
    assert len(joins) == 10
    assert sorted(len(line.get_xdata()) for line in joins) == [2] * 7 + [3] * 3
    ticks = {t.get_text().split("\n")[0]: t for t in axes.get_xticklabels()}
    assert to_hex(ticks[chosen.value].get_color()) == CHOSEN
    assert "lower is better" in axes.get_ylabel()


def test_the_curves_figure_draws_every_history(hostile: Advice) -> None:
    search, chosen = hostile.search, hostile.recommendation.loss
    with house_style():
        figure = curves_figure(search, chosen, search.results)
    lines = figure.axes[0].get_lines()
    assert len(lines) == len(search.results)
    top = lines[-1]  # the chosen loss is drawn last, on top
    assert top.get_label() == f"{chosen.value} (chosen)" and to_hex(top.get_color()) == CHOSEN
    assert list(top.get_xdata()) == [s for s, _ in search.results[0].history]


def test_fired_rules_come_first_and_the_rest_fold_away(hostile: Advice) -> None:
    root = _parse(render_html(hostile))
    trace = hostile.shortlist.trace
    details = list(root.iter(XHTML + "details"))
    assert len(details) == 1
    folded = details[0].findall(f".//{XHTML}tbody/{XHTML}tr")
    assert len(folded) == sum(not f.fired for f in trace) > 0
    summary = details[0].find(XHTML + "summary").text
    assert summary == f"{len(folded)} rules did not fire"


def test_code_blocks_wrap_instead_of_being_cut(hostile: Advice) -> None:
    page = render_html(hostile)
    style = next(_parse(page).iter(XHTML + "style")).text
    rule = style[style.index("\npre{") :].split("}")[0]
    assert "white-space:pre-wrap" in rule and "overflow-x:auto" in rule


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_the_report_gets_the_users_umask(hostile, tmp_path, umask: int, mode: int) -> None:
    old = os.umask(umask)
    try:
        path = write_html(hostile, tmp_path / "report.html")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_the_cli_writes_a_report_others_can_read(tmp_path) -> None:
    from click.testing import CliRunner

    from advisor.cli import cli

    rng = np.random.default_rng(3)
    data = tmp_path / "data.csv"
    pd.DataFrame({"x": rng.normal(size=80), "y": rng.normal(size=80)}).to_csv(data, index=False)
    report = tmp_path / "out.html"
    old = os.umask(0o022)
    try:
        result = CliRunner().invoke(
            cli, ["recommend", str(data), "--target", "y", "--no-search", "--report", str(report)]
        )
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(report.stat().st_mode) == 0o644
    assert "histogram of the target" in report.read_text(encoding="utf-8")
