"""Records -> rich renderables for the terminal. Rendering only: no decisions are made here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from advisor.records import Advice, DataProfile, SearchResult, Shortlist
from advisor.report._wording import race_note

__all__ = [
    "render_advice",
    "render_catalog",
    "render_profile",
    "render_rules",
    "render_search",
    "render_shortlist",
    "render_trace",
]


def _num(value: object, spec: str = ".4g") -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return format(value, spec)
    return str(value)


def _param(value: object, spec: str = ".4g") -> str:
    """A parameter left None is derived from the training data when the loss is built."""
    return "from data" if value is None else _num(value, spec)


def render_profile(profile: DataProfile) -> RenderableType:
    """A two-column table of what was measured, then warnings and alternatives."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("target", ", ".join(profile.target) + f"  [dim]({profile.target_detection})[/]")
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
        counts = ", ".join(f"{k}: {v}" for k, v in list(imbalance.class_counts.items())[:8])
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
        parts.append(
            Text.from_markup(
                f"[yellow]alternative:[/] {hypothesis.task.value} ({hypothesis.confidence:.2f}) "
                f"- {hypothesis.evidence}"
                + (f" [dim]{hypothesis.flag}[/]" if hypothesis.flag else "")
            )
        )
    for warning in profile.warnings:
        parts.append(Text(f"warning: {warning}", style="yellow"))
    return Panel(Group(*parts), title="profile", title_align="left")


def render_shortlist(listed: Shortlist) -> RenderableType:
    table = Table(title=None, expand=False)
    table.add_column("#", justify="right")
    table.add_column("loss", style="bold")
    table.add_column("score", justify="right")
    table.add_column("params")
    table.add_column("why")
    for rank, candidate in enumerate(listed.candidates, 1):
        params = ", ".join(f"{k}={_param(v)}" for k, v in candidate.params.items()) or "-"
        why = "\n".join(
            f"[dim]{r.factor.value}:[/] {r.text}" for r in candidate.reasons if r.effect != "note"
        )
        table.add_row(str(rank), candidate.loss.value, f"{candidate.score:g}", params, why)
    caption = f"validation metric: {listed.metric.value} ({listed.metric_reason})"
    return Panel(Group(table, Text(caption, style="dim")), title="shortlist", title_align="left")


def render_trace(listed: Shortlist, *, all_rules: bool = True) -> RenderableType:
    table = Table(expand=False)
    table.add_column("rule")
    table.add_column("factor")
    table.add_column("fired")
    table.add_column("effect / why not")
    for firing in listed.trace:
        if not firing.fired and not all_rules:
            continue
        mark = "[green]yes[/]" if firing.fired else "[dim]no[/]"
        detail = (
            f"{firing.effect}\n[dim]{firing.detail}[/]"
            if firing.fired
            else f"[dim]{firing.detail}[/]"
        )
        table.add_row(firing.rule, firing.factor.value, mark, detail)
    return Panel(table, title="rule trace", title_align="left")


def render_search(search: SearchResult) -> RenderableType:
    table = Table(expand=False)
    table.add_column("loss", style="bold")
    table.add_column(f"{search.metric.value} mean", justify="right")
    table.add_column("std", justify="right")
    table.add_column("n", justify="right")
    table.add_column("best params")
    arrow = "higher is better" if search.direction == "maximize" else "lower is better"
    ordered = sorted(
        search.results,
        key=lambda r: (r.mean != r.mean, -r.mean if search.direction == "maximize" else r.mean),
    )
    for result in ordered:
        params = ", ".join(f"{k}={_param(v, '.3g')}" for k, v in result.params.items())
        table.add_row(
            result.loss.value, _num(result.mean), _num(result.std, ".2g"), str(result.n), params
        )
    caption = (
        f"{search.trials} trials ({search.pruned} pruned) in {search.elapsed_s:.1f}s of "
        f"{search.budget_s:g}s; {arrow}; study {search.study_name} ({search.storage})"
    )
    note = race_note(search)
    if note:
        caption += f"\n{note}"
    return Panel(Group(table, Text(caption, style="dim")), title="confirmation", title_align="left")


def render_advice(advice: Advice) -> RenderableType:
    rec = advice.recommendation
    params = ", ".join(f"{k}={_num(v)}" for k, v in rec.params.items())
    head = Text.from_markup(
        f"[bold green]{rec.loss.value}[/]"
        + (f" ({params})" if params else "")
        + f"   confidence [bold]{rec.confidence:.2f}[/] ({rec.confidence_label})"
    )
    reasons = Text("\n".join(f"- {line}" for line in rec.rationale))
    code = Syntax(
        rec.pytorch, "python", theme="ansi_dark", background_color="default", word_wrap=True
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


def render_catalog(specs: Iterable) -> RenderableType:
    table = Table(expand=False)
    for name in ("loss", "tasks", "head", "torch", "params", "summary"):
        table.add_column(name)
    for spec in specs:
        params = ", ".join(f"{p.name}={_num(p.default)}" for p in spec.params) or "-"
        table.add_row(
            spec.id.value,
            ", ".join(t.value for t in spec.tasks),
            spec.head.value,
            spec.torch or "(hand-written)",
            params,
            spec.summary,
        )
    return table


def render_rules(rules: Sequence) -> RenderableType:
    table = Table(expand=False)
    for name in ("rule", "factor", "when", "effect", "source"):
        table.add_column(name)
    for rule in rules:
        when = "\n".join(str(c) for c in rule.when) or "always"
        if rule.losses:
            effect = f"{rule.effect.value} " + ", ".join(
                f"{k.value}:{v:g}" for k, v in rule.losses.items()
            )
        elif rule.metric:
            effect = f"metric {rule.metric.value}"
        elif rule.params:
            effect = "set " + ", ".join(
                f"{k.value}.{p}" for k, ps in rule.params.items() for p in ps
            )
        else:
            effect = f"{rule.effect.value} " + ", ".join(
                f"{k}={v}" for k, v in rule.settings.items()
            )
        table.add_row(rule.id, rule.factor.value, when, effect, rule.source.rsplit("/", 1)[-1])
    return table
