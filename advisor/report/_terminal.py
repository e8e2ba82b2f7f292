"""Records -> rich renderables for the terminal. Rendering only: no decisions are made here.

Everything that comes from the user's data or files (column names, class labels, rule texts
that quote them, study names, a custom loss's summary) passes through :func:`printable` and
``rich.markup.escape`` before rich sees it: a column named ``[red]y`` is shown as ``[red]y``,
``y[/]`` cannot break the markup, and an escape sequence in a CSV header cannot repaint the
user's terminal. Identifiers that users copy (loss ids, task names) never wrap or get cut.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence

from rich import box
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from advisor.records import Advice, DataProfile, EffectKind, SearchResult, Shortlist
from advisor.report._wording import params_text, race_note, reason_text

__all__ = [
    "printable",
    "profile_line",
    "recommendation_line",
    "render_advice",
    "render_catalog",
    "render_profile",
    "render_rules",
    "render_search",
    "render_shortlist",
    "render_trace",
    "shortlist_line",
]


# bidirectional controls reorder what the terminal shows ("Trojan Source"); they are made
# visible, while right-to-left letters themselves are printed as they are
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def printable(value: object, *, keep_newlines: bool = False) -> str:
    r"""Text with control and bidi-override characters shown as escapes, safe for a terminal.

    Args:
        value: any value; it is converted with ``str``.
        keep_newlines: leave ``\n`` as a line break (multi-line prose), else escape it too.

    Returns:
        The text, with every C0/C1 control character (ESC, BEL, carriage return...) and every
        bidirectional control written as a Python escape such as ``\x1b``.

    Example:
        >>> printable("y\x1b[31m")
        'y\\x1b[31m'
        >>> printable("a\nb"), printable("a\nb", keep_newlines=True)
        ('a\\nb', 'a\nb')
    """
    text = str(value)
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char == "\n" and keep_newlines:
            out.append(char)
        elif char in _BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            out.append(ascii(char)[1:-1])
        else:
            out.append(char)
    return "".join(out)


def _m(value: object) -> str:
    """Data for a markup string: printable and with rich's markup escaped."""
    return escape(printable(value))


def _t(value: object, style: str = "") -> Text:
    """Data as a Text (never parsed as markup)."""
    return Text(printable(value, keep_newlines=True), style=style)


def _num(value: object, spec: str = ".4g") -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return format(value, spec)
    return str(value)


def _params(
    loss: object, params: Mapping[str, object], spec: str | None = ".4g", *, markup: bool = True
) -> str:
    """``k=v`` pairs as every view writes them (``param_text``: None reads ``from data`` or
    ``none``, as the loss builds it); ``spec=None`` for the recommended values, exactly.
    ``markup=False`` for the plain lines (``--quiet``), which rich does not parse."""
    return params_text(str(loss), params, spec, key=_m if markup else printable)


def _names(values: Iterable[object]) -> str:
    return ", ".join(_m(v) for v in values)


def render_profile(profile: DataProfile) -> RenderableType:
    """A two-column table of what was measured, then warnings and alternatives."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row("target", f"{_names(profile.target)}  [dim]({_m(profile.target_detection)})[/]")
    table.add_row("task", f"{profile.task.value}  [dim](confidence {profile.confidence:.2f})[/]")
    table.add_row("label encoding", profile.label_encoding.value)
    table.add_row("rows x columns", f"{profile.n_rows} x {profile.n_columns}")
    stats = profile.target_stats
    if profile.task.is_regression or profile.task.value == "ordinal":
        table.add_row(
            "target",
            f"min {_num(stats.min)}  median {_num(stats.median)}  max {_num(stats.max)}  "
            f"skew {_num(stats.skewness, '.2f')}  zeros {_num(stats.zero_fraction, '.1%')}",
        )
        outliers = profile.outliers
        residual = _num(outliers.residual_rate, ".1%")
        table.add_row(
            "outliers",
            f"{outliers.rate:.1%}  [dim](MAD z>3.5 {outliers.mad_rate:.1%}, IQR fences "
            f"{outliers.iqr_rate:.1%}, robust-fit residuals {residual})[/]",
        )
    if profile.imbalance is not None:
        imbalance = profile.imbalance
        counts = ", ".join(f"{_m(k)}: {v}" for k, v in list(imbalance.class_counts.items())[:8])
        table.add_row("classes", counts + (" ..." if len(imbalance.class_counts) > 8 else ""))
        table.add_row(
            "imbalance",
            f"{imbalance.level.value} (ratio {imbalance.ratio:.2f}:1, minority "
            f"{imbalance.minority_share:.1%})",
        )
    features = profile.features
    kinds = ", ".join(f"{v} {k}" for k, v in features.counts.items() if v)
    table.add_row(
        "features", f"{features.n_features} ({kinds}); missing {features.missing_rate:.1%}"
    )
    parts: list[RenderableType] = [table]
    for hypothesis in profile.alternatives:
        if any(hypothesis.evidence in warning for warning in profile.warnings):
            continue  # the warning below already says it, with the flag that settles it
        line = Text.assemble(
            ("alternative: ", "yellow"),
            f"{hypothesis.task.value} ({hypothesis.confidence:.2f}) - ",
            _t(hypothesis.evidence),
        )
        if hypothesis.flag:
            line.append_text(Text.assemble(" ", _t(hypothesis.flag, "dim")))
        parts.append(line)
    for warning in profile.warnings:
        parts.append(_t(f"warning: {warning}", "yellow"))
    return Panel(Group(*parts), title="profile", title_align="left")


def render_shortlist(listed: Shortlist) -> RenderableType:
    table = Table(title=None, expand=False)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("loss", style="bold", no_wrap=True, min_width=_widest(listed.losses))
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("params", overflow="fold")
    table.add_column("why", overflow="fold", ratio=1)
    for rank, candidate in enumerate(listed.candidates, 1):
        params = _params(candidate.loss, candidate.params) or "-"
        why = "\n".join(
            f"[dim]{r.factor.value}:[/] {_m(reason_text(r))}"
            for r in candidate.reasons
            if r.effect.kind is not EffectKind.NOTE
        )
        table.add_row(str(rank), _m(candidate.loss), f"{candidate.score:g}", params, why)
    caption = _t(f"validation metric: {listed.metric.value} ({listed.metric_reason})", "dim")
    return Panel(Group(table, caption), title="shortlist", title_align="left")


def render_trace(listed: Shortlist, *, all_rules: bool = True) -> RenderableType:
    """Every rule evaluated, the fired ones first: its id (whole), whether it fired, and why."""
    table = Table(expand=False)
    shown = [f for f in listed.trace if f.fired or all_rules]
    table.add_column("rule / factor", no_wrap=True, min_width=_widest(f.rule for f in shown))
    table.add_column("fired", no_wrap=True)
    table.add_column("effect / why not", overflow="fold", min_width=20)
    for firing in sorted(shown, key=lambda f: not f.fired):
        mark = "[green]yes[/]" if firing.fired else "[dim]no[/]"
        detail = (
            f"{_m(firing.effect)}\n[dim]{_m(firing.detail)}[/]"
            if firing.fired
            else f"[dim]{_m(firing.detail)}[/]"
        )
        table.add_row(f"{_m(firing.rule)}\n[dim]{firing.factor.value}[/]", mark, detail)
    return Panel(table, title="rule trace", title_align="left")


def render_search(search: SearchResult) -> RenderableType:
    table = Table(expand=False)
    losses = [r.loss for r in search.results]
    table.add_column("loss", style="bold", no_wrap=True, min_width=_widest(losses))
    table.add_column(f"{search.metric.value} mean", justify="right", no_wrap=True)
    table.add_column("std", justify="right", no_wrap=True)
    table.add_column("n", justify="right", no_wrap=True)
    table.add_column("best params", overflow="fold")
    arrow = "higher is better" if search.direction == "maximize" else "lower is better"
    ordered = sorted(
        search.results,
        key=lambda r: (r.mean != r.mean, -r.mean if search.direction == "maximize" else r.mean),
    )
    for result in ordered:
        params = _params(result.loss, result.params)
        table.add_row(
            _m(result.loss), _num(result.mean), _num(result.std, ".2g"), str(result.n), params
        )
    caption = (
        f"{search.trials} trials ({search.pruned} pruned) in {search.elapsed_s:.1f}s of "
        f"{search.budget_s:g}s; {arrow}; study {search.study_name} ({search.storage})"
    )
    note = race_note(search)
    if note:
        caption += f"\n{note}"
    return Panel(Group(table, _t(caption, "dim")), title="confirmation", title_align="left")


def recommendation_line(advice: Advice) -> str:
    """The answer in one plain line: the loss, its parameters and the confidence.

    What ``--quiet`` prints, so a script can read it: ``LOSS [k=v, ...] confidence C (label)``.

    Example:
        >>> import pandas as pd
        >>> from advisor._recommend import recommend
        >>> frame = pd.DataFrame({"x": range(40), "y": [0.5 * i for i in range(40)]})
        >>> recommendation_line(recommend(frame, target="y", search=False)).split()[0]
        'mse'
    """
    rec = advice.recommendation
    params = _params(rec.loss, rec.params, None, markup=False)
    return printable(
        f"{rec.loss}"
        + (f" ({params})" if params else "")
        + f"  confidence {rec.confidence:.2f} ({rec.confidence_label})"
    )


def profile_line(profile: DataProfile) -> str:
    """What the profile found, in one plain line (``profile --quiet``).

    Example:
        >>> import pandas as pd
        >>> from advisor.profiling import profile
        >>> frame = pd.DataFrame({"x": range(40), "label": ["a", "b"] * 20})
        >>> profile_line(profile(frame, target="label")).split("  ")[0]
        'binary (string) target label'
    """
    return printable(
        f"{profile.task} ({profile.label_encoding}) target {', '.join(profile.target)}"
        f"  confidence {profile.confidence:.2f}"
    )


def shortlist_line(listed: Shortlist) -> str:
    """The head of the shortlist in one plain line (``explain --quiet``): the rules' pick.

    Example:
        >>> import pandas as pd
        >>> from advisor.profiling import profile
        >>> from advisor.selection import shortlist
        >>> frame = pd.DataFrame({"x": range(40), "y": [0.5 * i for i in range(40)]})
        >>> shortlist_line(shortlist(profile(frame, target="y"))).split()[0]
        'mse'
    """
    best = listed.candidates[0]
    params = _params(best.loss, best.params, markup=False)
    return printable(
        f"{best.loss}" + (f" ({params})" if params else "") + f"  rule score {best.score:g}"
        f"  (rules only; lossadvisor recommend confirms it)"
    )


def render_advice(advice: Advice) -> RenderableType:
    rec = advice.recommendation
    params = _params(rec.loss, rec.params, None)
    head = Text.from_markup(
        f"[bold green]{_m(rec.loss)}[/]"
        + (f" ({params})" if params else "")
        + f"   confidence [bold]{rec.confidence:.2f}[/] ({_m(rec.confidence_label)})"
    )
    reasons = _t("\n".join(f"- {line}" for line in rec.rationale))
    code = Syntax(
        printable(rec.pytorch, keep_newlines=True),
        "python",
        theme="ansi_dark",
        background_color="default",
        word_wrap=True,
    )
    parts: list[RenderableType] = [
        render_profile(advice.profile),
        render_shortlist(advice.shortlist),
    ]
    if advice.search is not None:
        parts.append(render_search(advice.search))
    parts.append(
        Panel(
            Group(head, Text(""), reasons, Text(""), code),
            title="recommendation",
            title_align="left",
            border_style="green",
        )
    )
    return Group(*parts)


def _widest(values: Iterable[object]) -> int:
    return max((len(printable(v)) for v in values), default=1)


def render_catalog(specs: Iterable) -> RenderableType:
    """The loss catalog: ids and task names are never wrapped or cut, the prose takes the rest.

    Loss ids and task names are what users copy into flags and rule files, so their columns
    do not wrap and are as wide as the widest entry (tasks stand one per line); the summary,
    the head, the torch class and the parameters fold into whatever width is left.
    """
    specs = list(specs)
    tasks = [t for spec in specs for t in spec.tasks]
    table = Table(expand=False, box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("loss", style="bold", no_wrap=True, min_width=_widest(s.id for s in specs))
    table.add_column("tasks", no_wrap=True, min_width=_widest(tasks))
    table.add_column("summary", overflow="fold", min_width=20)
    for spec in specs:
        details = [f"head {_m(spec.head)}", f"torch {_m(spec.torch or '(hand-written)')}"]
        if spec.params:
            details.append("params " + _params(spec.id, {p.name: p.default for p in spec.params}))
        table.add_row(
            _m(spec.id),
            "\n".join(_m(t) for t in spec.tasks),
            f"{_m(spec.summary)}\n[dim]{'; '.join(details)}[/]",
        )
    return table


def render_rules(rules: Sequence) -> RenderableType:
    """The loaded rules: rule ids never wrap (users copy them); conditions and effects fold.

    Each rule's factor stands under its id; the conditions, the effect and the file it came
    from share the prose column, which takes whatever width is left.
    """
    table = Table(expand=False, box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column(
        "rule / factor", no_wrap=True, min_width=_widest(r.id for r in rules) if rules else 4
    )
    table.add_column("when -> effect", overflow="fold", min_width=20)
    for rule in rules:
        when = "\n".join(_m(c) for c in rule.when) or "always"
        if rule.losses:
            effect = f"{rule.effect.value} " + ", ".join(
                f"{_m(k)}:{v:g}" for k, v in rule.losses.items()
            )
        elif rule.metric:
            effect = f"metric {rule.metric.value}"
        elif rule.params:
            effect = "set " + ", ".join(
                f"{_m(k)}.{_m(p)}" for k, ps in rule.params.items() for p in ps
            )
        else:
            effect = f"{rule.effect.value} " + ", ".join(
                f"{_m(k)}={_m(v)}" for k, v in rule.settings.items()
            )
        source = _m(rule.source.rsplit("/", 1)[-1])
        fitted = ""
        if rule.provenance is not None:
            hand = ", ".join(f"{_m(k)}:{v:g}" for k, v in rule.provenance.hand.items())
            status = rule.provenance.status(rule.losses)
            evidence = _m(rule.provenance.sentence())
            moved = f"; hand: {hand}" if dict(rule.losses) != dict(rule.provenance.hand) else ""
            fitted = f"\n[dim]{_m(status)} ({evidence}){moved}[/]"
        table.add_row(
            f"{_m(rule.id)}\n[dim]{rule.factor.value}[/]",
            f"{when}\n[bold]-> {effect}[/]  [dim]({source})[/]{fitted}",
        )
    return table
