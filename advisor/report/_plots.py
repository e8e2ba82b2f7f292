"""The report's pictures as inline SVG strings, drawn with matplotlib's SVG backend.

Each figure is drawn from record data alone (the profile's histogram and class counts, the
search's per-split scores and split-1 learning curves), so a report can be rebuilt from an
``Advice`` without the table. Text is drawn as paths (no font is needed to read the page)
and names from the data never reach matplotlib's math parser: they are cleaned of control
characters, shortened, and drawn with ``parse_math=False``; the full names are in the page.
Matplotlib is imported only when a report is drawn (it costs about half a second).
"""

from __future__ import annotations

import contextlib
import io
import math
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from advisor.records import (
    CandidateResult,
    DataProfile,
    LossId,
    SearchResult,
    TargetHistogram,
)

__all__ = [
    "bars_figure",
    "class_balance_svg",
    "curves_figure",
    "curves_svg",
    "histogram_figure",
    "house_style",
    "paired_figure",
    "paired_scores_svg",
    "target_svg",
]

CHOSEN = "#1a7f37"
BULK = "#4c72b0"
OUTLIER = "#c62828"
MUTED = "#8c96a3"
PALETTE = ("#4c72b0", "#dd8452", "#8172b3", "#937860", "#da8bc3", "#64b5cd", "#ccb974")
SHADE = 0.09  # opacity of the chosen loss's column in the paired figure
MAX_BARS = 30
MAX_LABEL = 24

_RC = {
    "svg.fonttype": "path",
    "svg.hashsalt": "lossadvisor",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.edgecolor": "#b0b7c0",
    "axes.labelcolor": "#333333",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#e6e9ed",
    "grid.linewidth": 0.8,
    "xtick.color": "#555555",
    "ytick.color": "#555555",
    "legend.frameon": False,
}


def _label(name: str) -> str:
    """A data name made safe and short for a tick label (the page shows it in full)."""
    clean = "".join(c if c.isprintable() else "?" for c in str(name))
    return clean if len(clean) <= MAX_LABEL else clean[: MAX_LABEL - 1] + "…"


def _figure(width: float, height: float, **kwargs: Any):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained", **kwargs)


_ID = re.compile(r'(\bid="|href="#|url\(#)')


def _svg(figure, name: str, description: str) -> str:
    """The figure as an ``<svg>`` element for inline use: no XML prolog, ids made unique."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    # several figures share one page: give each one's ids (glyphs, clip paths) its own prefix
    text = _ID.sub(lambda m: m.group(1) + f"{name}-", text)
    label = description.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return text.replace("<svg ", f'<svg role="img" aria-label="{label}" class="figure" ', 1)


@contextlib.contextmanager
def house_style() -> Iterator[None]:
    """The report's matplotlib settings, for drawing and saving alike (nothing global)."""
    import matplotlib

    with matplotlib.rc_context(_RC), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # missing glyphs for exotic names are not the user's
        yield


def _draw(build, name: str, description: str, *args: Any, **kwargs: Any) -> str:
    with house_style():
        return _svg(build(*args, **kwargs), name, description)


# --------------------------------------------------------------------------- target


def target_svg(profile: DataProfile) -> str | None:
    """The target's distribution: a histogram with its outliers, or the class balance.

    Example:
        >>> from advisor.records import TargetHistogram
        >>> h = TargetHistogram(scale="linear", edges=(0.0, 1.0, 2.0), counts=(3, 4),
        ...                     outliers=(9.0,), n_outliers=1, rule="modified z > 3.5")
        >>> _draw(histogram_figure, "t", "target", h).startswith("<svg")
        True
    """
    if profile.histogram is not None:
        return _draw(
            histogram_figure,
            "target",
            "histogram of the target with its outliers marked",
            profile.histogram,
        )
    return class_balance_svg(profile)


def histogram_figure(histogram: TargetHistogram):
    """The bulk's histogram; below it, where the outliers lie (a strip over their range)."""
    import numpy as np

    edges = np.asarray(histogram.edges)
    counts = np.asarray(histogram.counts)
    outliers = np.asarray(histogram.outliers)
    log = histogram.scale == "log"
    with_strip = outliers.size > 0
    figure = _figure(7.5, 3.4 if with_strip else 2.8)
    if with_strip:
        top, strip = figure.subplots(2, 1, height_ratios=(4, 1))
    else:
        top, strip = figure.subplots(1, 1), None
    top.stairs(counts, edges, fill=True, color=BULK, label="values")
    top.stairs(counts, edges, color="#2f4f7f", linewidth=0.8)
    top.set_ylabel("rows")
    top.grid(axis="x", visible=False)
    if log:
        top.set_xscale("log")
    if strip is None:
        top.set_xlabel("target value" + (" (log scale)" if log else ""))
    else:
        low, high = float(edges[0]), float(edges[-1])
        strip.axvspan(low, high, color=BULK, alpha=0.15, linewidth=0, label="range of the bulk")
        jitter = np.random.default_rng(0).uniform(-0.3, 0.3, size=outliers.size)
        strip.scatter(
            outliers,
            jitter,
            s=22,
            color=OUTLIER,
            linewidths=0,
            label=f"{histogram.n_outliers} outliers ({histogram.rule})",
        )
        strip.set_ylim(-1, 1)
        strip.set_yticks([])
        strip.grid(False)
        strip.spines["left"].set_visible(False)
        if log:
            strip.set_xscale("log")
        strip.set_xlabel("target value" + (" (log scale)" if log else ""))
        strip.legend(loc="upper center", bbox_to_anchor=(0.5, -0.9), ncols=2, fontsize=8)
        top.set_title("the bulk (outliers set apart below)", fontsize=9, color="#555555")
    return figure


def class_balance_svg(profile: DataProfile) -> str | None:
    """Class counts (binary, multiclass, ordinal) or positive rates per label (multilabel).

    Example:
        >>> import pandas as pd
        >>> from advisor.profiling import profile_frame
        >>> frame = pd.DataFrame({"y": ["a"] * 30 + ["b"] * 10, "x": range(40)})
        >>> class_balance_svg(profile_frame(frame, target="y")).startswith("<svg")
        True
    """
    imbalance = profile.imbalance
    if imbalance is None:
        return None
    if imbalance.positive_rates:
        names = list(imbalance.positive_rates)
        values = [float(imbalance.positive_rates[n]) for n in names]
        return _draw(
            bars_figure, "balance", "positive rate of each label", names, values, rates=True
        )
    names = list(profile.classes or imbalance.class_counts)
    values = [float(imbalance.class_counts.get(n, 0)) for n in names]
    return _draw(bars_figure, "balance", "number of rows in each class", names, values, rates=False)


def bars_figure(names: list[str], values: list[float], *, rates: bool):
    """Horizontal bars, first name on top: counts with shares, or rates (multilabel)."""
    shown = len(names)
    if shown > MAX_BARS:  # keep the largest, in their own order; the page says how many
        keep = sorted(sorted(range(shown), key=lambda i: -values[i])[:MAX_BARS])
        names, values = [names[i] for i in keep], [values[i] for i in keep]
    total = sum(values) if not rates else None
    height = 0.9 + 0.28 * len(names)
    figure = _figure(7.5, min(max(height, 1.6), 9.5))
    axes = figure.subplots()
    positions = list(range(len(names)))[::-1]  # first class at the top
    largest = max(values) if values else 0.0
    colors = [BULK if v < largest else "#2f4f7f" for v in values]
    axes.barh(positions, values, color=colors, height=0.7)
    axes.set_yticks(positions, [_label(n) for n in names], parse_math=False)
    axes.set_xlabel("share of rows with the label" if rates else "rows")
    axes.grid(axis="y", visible=False)
    axes.set_xlim(0, (1.0 if rates else largest) * 1.18 or 1.0)
    for position, value in zip(positions, values, strict=True):
        text = f"{value:.1%}" if rates else f"{value:,.0f} ({value / total:.1%})"
        axes.text(value, position, " " + text, va="center", fontsize=8, color="#333333")
    return figure


# --------------------------------------------------------------------------- search


def _finalists_svg(
    build: Callable[..., Any],
    name: str,
    description: str,
    search: SearchResult,
    chosen: LossId,
    results: Sequence[CandidateResult],
) -> str | None:
    """A figure of the finalists that have what it shows; None when none has (no figure)."""
    if not results:
        return None
    return _draw(build, name, description, search, chosen, results)


def paired_scores_svg(search: SearchResult, chosen: LossId) -> str | None:
    """Each finalist's validation score per split, one line per split across the finalists.

    Lines join a split's scores, so a loss that is better on every split shows as lines that
    all fall (or all rise) the same way; the chosen loss's column is shaded and its mean drawn.

    Example:
        >>> from advisor.records import CandidateResult, MetricId, LossId
        >>> r = [CandidateResult(loss=l, params={}, mean=m, std=0.1, n=3, scores=(m, m + .1, m))
        ...      for l, m in ((LossId.MSE, 1.0), (LossId.MAE, 1.2))]
        >>> s = SearchResult(metric=MetricId.RMSE, direction="minimize", budget_s=1,
        ...                  elapsed_s=1, trials=2, storage="", study_name="", results=tuple(r))
        >>> paired_scores_svg(s, LossId.MSE).startswith("<svg")
        True
    """
    results = [r for r in search.results if r.scores]
    caption = "validation score of each finalist on each paired split"
    return _finalists_svg(paired_figure, "paired", caption, search, chosen, results)


def paired_figure(search: SearchResult, chosen: LossId, results: Sequence[CandidateResult]):
    """One grey line per split across the finalists; points, means, the chosen column."""
    figure = _figure(7.5, 3.6)
    axes = figure.subplots()
    positions = range(len(results))
    splits = max(len(r.scores) for r in results)
    for split in range(splits):
        points = [
            (x, r.scores[split])
            for x, r in zip(positions, results, strict=True)
            if split < len(r.scores) and math.isfinite(r.scores[split])
        ]
        if points:
            xs, ys = zip(*points, strict=True)
            axes.plot(xs, ys, color=MUTED, linewidth=0.9, alpha=0.7, zorder=2)
    for x, result in zip(positions, results, strict=True):
        finite = [v for v in result.scores if math.isfinite(v)]
        is_chosen = result.loss is chosen
        color = CHOSEN if is_chosen else BULK
        axes.scatter(
            [x] * len(finite),
            finite,
            s=26 if is_chosen else 18,
            color=color,
            zorder=3,
            edgecolors="white",
            linewidths=0.6,
        )
        if finite:
            mean = sum(finite) / len(finite)
            axes.hlines(mean, x - 0.22, x + 0.22, color=color, linewidth=2.4, zorder=4)
        if is_chosen:
            axes.axvspan(x - 0.4, x + 0.4, color=CHOSEN, alpha=SHADE, linewidth=0, zorder=1)
    labels = [
        f"{r.loss.value}\n{'chosen · ' if r.loss is chosen else ''}{len(r.scores)} splits"
        for r in results
    ]
    axes.set_xticks(list(positions), labels)
    for tick, result in zip(axes.get_xticklabels(), results, strict=True):
        if result.loss is chosen:
            tick.set_color(CHOSEN)
            tick.set_fontweight("bold")
    axes.set_xlim(-0.6, len(results) - 0.4)
    better = "lower" if search.direction == "minimize" else "higher"
    axes.set_ylabel(f"validation {search.metric.value} ({better} is better)")
    axes.grid(axis="x", visible=False)
    return figure


def curves_svg(search: SearchResult, chosen: LossId) -> str | None:
    """Validation score over training steps of each finalist's best setting (split 1).

    Example:
        >>> from advisor.records import CandidateResult, MetricId, LossId
        >>> r = CandidateResult(loss=LossId.MSE, params={}, mean=1.0, std=0.0, n=1,
        ...                     scores=(1.0,), history=((10, 2.0), (20, 1.0)))
        >>> s = SearchResult(metric=MetricId.RMSE, direction="minimize", budget_s=1,
        ...                  elapsed_s=1, trials=1, storage="", study_name="", results=(r,))
        >>> curves_svg(s, LossId.MSE).startswith("<svg")
        True
    """
    results = [r for r in search.results if len(r.history) > 0]
    caption = "validation score over training steps for each finalist"
    return _finalists_svg(curves_figure, "curves", caption, search, chosen, results)


def curves_figure(search: SearchResult, chosen: LossId, results: Sequence[CandidateResult]):
    """Each finalist's split-1 validation history; the chosen loss drawn thick, on top."""
    figure = _figure(7.5, 3.4)
    axes = figure.subplots()
    others = iter(PALETTE[1:] + PALETTE[:1])
    for result in sorted(results, key=lambda r: r.loss is chosen):  # the chosen one on top
        steps = [s for s, _ in result.history]
        scores = [v if math.isfinite(v) else math.nan for _, v in result.history]
        is_chosen = result.loss is chosen
        axes.plot(
            steps,
            scores,
            color=CHOSEN if is_chosen else next(others),
            linewidth=2.4 if is_chosen else 1.3,
            marker="o",
            markersize=2.5,
            label=result.loss.value + (" (chosen)" if is_chosen else ""),
            zorder=3 if is_chosen else 2,
        )
    better = "lower" if search.direction == "minimize" else "higher"
    axes.set_xlabel("training step")
    axes.set_ylabel(f"validation {search.metric.value} ({better} is better)")
    axes.legend(loc="best", fontsize=8)
    return figure
