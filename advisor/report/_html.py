"""Advice -> one self-contained HTML page: the answer, its evidence and pictures of both.

The page works offline and alone: styles inline, figures inline SVG (``_plots``), no fonts,
scripts or images fetched from anywhere. Every name and value from the data goes through
``html.escape``; the advice is embedded as JSON (``<script type=application/json>``) with
``<``, ``>`` and ``&`` written as ``\\u003c``-style escapes, so no column name can end that
block or open a comment in it. One small inline script parses that JSON once the page has
loaded and records the outcome (and any script error) in ``data-report`` on ``<html>``: a
browser test reads it back.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from advisor.errors import UsageError
from advisor.records import Advice, Candidate, RuleFiring
from advisor.report._plots import curves_svg, paired_scores_svg, target_svg
from advisor.report._terminal import printable
from advisor.report._wording import param_text, params_text, race_note, reason_text

__all__ = ["embed_json", "render_html", "write_html"]

_STYLE = """
:root{--ink:#1f2328;--dim:#59636e;--line:#d8dee4;--soft:#f6f8fa;--pick:#1a7f37;--warn:#9a6700}
*{box-sizing:border-box}
body{font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);
max-width:64rem;margin:0 auto;padding:2rem 1.25rem 4rem;background:#fff}
header{border-bottom:1px solid var(--line);padding-bottom:1.25rem;margin-bottom:1.5rem}
.kicker{text-transform:uppercase;letter-spacing:.08em;font-size:.75rem;color:var(--dim);margin:0}
h1{font-size:1.75rem;margin:.25rem 0 .5rem;line-height:1.25;overflow-wrap:anywhere}
h1 code{font-size:.95em;color:var(--pick);background:#dafbe1;border-radius:6px;padding:0 .3em}
p,li,figcaption{overflow-wrap:anywhere}
h2{font-size:1.2rem;margin:2.5rem 0 .75rem;padding-bottom:.3rem;border-bottom:1px solid var(--line)}
h3{font-size:1rem;margin:1.5rem 0 .5rem}
.badge{display:inline-block;border-radius:999px;padding:.1rem .6rem;font-size:.8rem;
font-weight:600;border:1px solid currentColor;vertical-align:middle}
.badge.high{color:var(--pick)}.badge.medium{color:#0969da}.badge.low{color:var(--warn)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(10rem,1fr));gap:.75rem;
margin:1.25rem 0}
.card{border:1px solid var(--line);border-radius:8px;padding:.6rem .8rem;min-width:0}
.card b{display:block;font-size:.72rem;text-transform:uppercase;letter-spacing:.06em;
color:var(--dim);font-weight:600}
.card span{font-size:1.02rem;overflow-wrap:anywhere;display:-webkit-box;-webkit-line-clamp:3;
-webkit-box-orient:vertical;overflow:hidden}
table{border-collapse:collapse;width:100%;margin:.5rem 0;font-size:.92rem}
td,th{border-bottom:1px solid var(--line);padding:.4rem .6rem;text-align:left;vertical-align:top;
overflow-wrap:break-word}
td:first-child{white-space:nowrap}td:last-child{overflow-wrap:anywhere;white-space:normal}
th{background:var(--soft);font-weight:600;white-space:nowrap}
td code,.id{white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.pick td{background:#f0fbf3}tr.pick td:first-child{box-shadow:inset 3px 0 var(--pick)}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.86rem}
pre{background:var(--soft);border:1px solid var(--line);border-radius:8px;padding:1rem;
white-space:pre-wrap;overflow-wrap:anywhere;overflow-x:auto;margin:.75rem 0}
figure{margin:1rem 0 1.5rem}
svg.figure{display:block;width:100%;height:auto}
figcaption{color:var(--dim);font-size:.88rem;margin-top:.4rem}
.verdict{font-weight:600;color:var(--ink)}
.note{border-left:3px solid var(--warn);background:#fff8c5;padding:.5rem .8rem;margin:.5rem 0;
border-radius:0 6px 6px 0;overflow-wrap:anywhere}
.dim{color:var(--dim)}
details{margin:.75rem 0}summary{cursor:pointer;color:#0969da}
footer{margin-top:3rem;color:var(--dim);font-size:.8rem;border-top:1px solid var(--line);
padding-top:.75rem}
"""

# Parses the embedded advice once the page has loaded and writes the outcome into
# <html data-report=...>; any script error on the page lands there too. data-figures counts
# the figures, data-overflow the text blocks whose content is wider than their box (cut off).
_CHECK = """
(function(){var d=document.documentElement;d.setAttribute("data-report","loading");
window.addEventListener("error",function(e){d.setAttribute("data-report","error: "+e.message)});
window.addEventListener("load",function(){try{
var a=JSON.parse(document.getElementById("advice").textContent);
d.setAttribute("data-figures",String(document.querySelectorAll("svg.figure").length));
var cut=0;document.querySelectorAll("p,li,pre,td,figcaption,h1").forEach(function(e){
if(e.scrollWidth>e.clientWidth+1)cut++});d.setAttribute("data-overflow",String(cut));
if(d.getAttribute("data-report")==="loading"){
d.setAttribute("data-report",a.schema_version===1?"ok":"error: unexpected document")}
}catch(x){d.setAttribute("data-report","error: "+x.message)}})})();
"""

_JSON_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def _e(value: object) -> str:
    # control characters are HTML parse errors; show them as the terminal does (\x1b)
    return html.escape(printable("-" if value is None else value, keep_newlines=True))


def embed_json(data: Any) -> str:
    """JSON that is safe inside ``<script type=application/json>``: no ``<``, ``>`` or ``&``.

    ``JSON.parse`` and ``json.loads`` read the escapes back as the original characters.

    Example:
        >>> embed_json({"name": "</script><!--"})
        '{"name": "\\\\u003c/script\\\\u003e\\\\u003c!--"}'
        >>> json.loads(embed_json({"name": "</script><!--"}))
        {'name': '</script><!--'}
    """
    return json.dumps(data, ensure_ascii=False, allow_nan=False).translate(_JSON_ESCAPES)


def _table(
    head: list[str],
    rows: list[list[str]],
    *,
    numeric: frozenset[int] = frozenset(),
    marked: frozenset[int] = frozenset(),
) -> str:
    """A table from already escaped cells; ``numeric`` columns align right, ``marked`` rows
    are highlighted (the chosen loss)."""

    def cells(tag: str, row: list[str]) -> str:
        return "".join(
            f"<{tag}{' class=num' if i in numeric else ''}>{cell}</{tag}>"
            for i, cell in enumerate(row)
        )

    body = "".join(
        f"<tr{' class=pick' if n in marked else ''}>{cells('td', row)}</tr>"
        for n, row in enumerate(rows)
    )
    return f"<table><thead><tr>{cells('th', head)}</tr></thead><tbody>{body}</tbody></table>"


def _params(loss: Any, params: Any) -> str:
    """The recommended ``k=v`` pairs, exactly as the JSON and the snippet carry them."""
    return params_text(str(loss), params)


def _params_cell(loss: Any, params: Any) -> str:
    """Escaped ``k=v`` pairs (floats to 4 digits, None as the terminal says it: ``from data``
    or ``none``) that wrap between pairs, never inside one."""
    return ", ".join(
        f"<span class=id>{_e(k)}={_e(param_text(str(loss), k, v))}</span>"
        for k, v in params.items()
    )


def _figure(svg: str | None, caption: str) -> str:
    if svg is None:
        return ""
    return f"<figure>{svg}<figcaption>{caption}</figcaption></figure>"


def _header(advice: Advice) -> list[str]:
    rec, profile = advice.recommendation, advice.profile
    params = _params(rec.loss, rec.params)
    # the badge's colour: a label other than these ("prior only") is drawn as a low one, but
    # it reads as the terminal and the JSON say it
    style = rec.confidence_label if rec.confidence_label in ("high", "medium", "low") else "low"
    cards = [
        ("task", f"{profile.task.value} ({profile.label_encoding.value})"),
        ("target", ", ".join(profile.target)),
        ("rows × columns", f"{profile.n_rows:,} × {profile.n_columns:,}"),
        ("validation metric", rec.metric.value),
        ("objective", str(advice.shortlist.objective)),
    ]
    return [
        "<header>",
        "<p class=kicker>lossadvisor report</p>",
        f"<h1>Train with <code>{_e(rec.loss.value)}</code>"
        + (f" <span class=dim>{_e(params)}</span>" if params else "")
        + "</h1>",
        f"<p><span class='badge {style}'>confidence {rec.confidence:.2f} · "
        f"{_e(rec.confidence_label)}</span> "
        f"<span class=verdict>{_e(rec.verdict)}</span></p>",
        "<div class=cards>"
        # a long value is cut to three lines here (the whole of it is in the tables below); a
        # narrow card breaks an id at its underscores ("balanced_ accuracy"), not mid-word
        + "".join(
            f"<div class=card><b>{_e(k)}</b><span title='{_e(v)}'>"
            f"{_e(v).replace('_', '_<wbr>')}</span></div>"
            for k, v in cards
        )
        + "</div>",
        "</header>",
    ]


def _recommendation(advice: Advice) -> list[str]:
    rec = advice.recommendation
    return [
        "<h2>Why</h2>",
        "<ul>" + "".join(f"<li>{_e(line)}</li>" for line in rec.rationale) + "</ul>",
        "<h3>PyTorch</h3>",
        f"<pre><code>{_e(rec.pytorch)}</code></pre>",
    ]


def _target(advice: Advice) -> list[str]:
    profile = advice.profile
    parts = ["<h2>The target</h2>"]
    name = ", ".join(profile.target)
    if profile.histogram is not None:
        h = profile.histogram
        caption = (
            f"Distribution of <code>{_e(name)}</code>"
            + (" on a log scale" if h.scale == "log" else "")
            + f": {sum(h.counts):,} values in the bulk"
        )
        if h.n_outliers:
            caption += f", {h.n_outliers:,} outliers ({_e(h.rule)}) drawn apart in red" + (
                f" ({len(h.outliers)} of them shown)" if len(h.outliers) < h.n_outliers else ""
            )
        caption += (
            f". Outlier rate {profile.outliers.rate:.2%} (largest of: MAD "
            f"{profile.outliers.mad_rate:.2%}, IQR {profile.outliers.iqr_rate:.2%}"
            + (
                f", robust-fit residuals {profile.outliers.residual_rate:.2%}"
                if profile.outliers.residual_rate is not None
                else ""
            )
            + ")."
        )
    elif profile.imbalance is not None:
        imbalance = profile.imbalance
        what = "Positive rate of each label" if imbalance.positive_rates else "Rows per class"
        caption = (
            f"{what} of <code>{_e(name)}</code>: imbalance {_e(imbalance.level.value)}, "
            f"majority/minority ratio {imbalance.ratio:.3g}, minority share "
            f"{imbalance.minority_share:.2%}."
        )
        shown = len(imbalance.positive_rates or profile.classes or imbalance.class_counts)
        if shown > 30:
            caption += f" The 30 largest of {shown} are drawn."
    else:
        caption = ""
    parts.append(_figure(target_svg(profile), caption))
    stats = profile.target_stats
    rows = [
        ["target", _e(name) + f" <span class=dim>({_e(profile.target_detection)})</span>"],
        ["task", _e(f"{profile.task.value} (confidence {profile.confidence:.2f})")],
        ["label encoding", _e(profile.label_encoding.value)],
        ["values", _e(f"{stats.n:,} ({stats.n_unique:,} distinct, {stats.n_missing:,} missing)")],
    ]
    if stats.mean is not None:
        rows.append(
            [
                "mean · median · std",
                _e(f"{stats.mean:.4g} · {stats.median:.4g} · {stats.std:.4g}"),
            ]
        )
    if stats.skewness is not None:
        rows.append(["skewness", _e(f"{stats.skewness:.3g}")])
    parts.append(_table(["measure", "value"], rows))
    for hypothesis in profile.alternatives:
        if any(hypothesis.evidence in warning for warning in profile.warnings):
            continue  # the warning below already says it, with the flag that settles it
        parts.append(
            f"<p class=dim>alternative: {_e(hypothesis.task.value)} "
            f"({hypothesis.confidence:.2f}) - {_e(hypothesis.evidence)}"
            + (f" <code>{_e(hypothesis.flag)}</code>" if hypothesis.flag else "")
            + "</p>"
        )
    parts += [f"<p class=note>warning: {_e(w)}</p>" for w in profile.warnings]
    return parts


def _shortlist(advice: Advice) -> list[str]:
    def row(candidate: Candidate) -> list[str]:
        reasons = "<br>".join(
            f"<span class=dim>[{_e(r.factor.value)}]</span> {_e(reason_text(r))}"
            for r in candidate.reasons
        )
        return [
            f"<code>{_e(candidate.loss.value)}</code>",
            _params_cell(candidate.loss, candidate.params),
            f"{candidate.score:g}",
            reasons,
        ]

    listed = advice.shortlist
    return [
        "<h2>Shortlist</h2>",
        f"<p class=dim>Ranked by the rules; the validation metric is "
        f"<code>{_e(listed.metric.value)}</code>: {_e(listed.metric_reason)}</p>",
        _table(
            ["loss", "params", "score", "reasons"],
            [row(c) for c in listed.candidates],
            numeric=frozenset({2}),
        ),
    ]


def _confirmation(advice: Advice) -> list[str]:
    search, rec = advice.search, advice.recommendation
    if search is None:
        return [
            "<h2>Confirmation</h2>",
            "<p class=dim>No search was run (<code>--no-search</code>, or "
            "<code>search=False</code> in Python): the advice is the rules' first choice.</p>",
        ]
    parts = [
        "<h2>Confirmation</h2>",
        f"<p class=dim>{search.trials} trials ({search.pruned} pruned), {search.elapsed_s:.1f} s "
        f"of a {search.budget_s:g} s budget; metric <code>{_e(search.metric.value)}</code> "
        f"({_e(search.direction)}), storage {_e(search.storage)}.</p>",
    ]
    rows = []
    for result in search.results:
        rows.append(
            [
                f"<code>{_e(result.loss.value)}</code>",
                _params_cell(result.loss, result.params),
                f"{result.mean:.4g}",
                f"{result.std:.2g}",
                str(result.n),
            ]
        )
    chosen = frozenset(i for i, r in enumerate(search.results) if r.loss is rec.loss)
    parts.append(
        _table(
            ["loss", "best setting", "mean", "std", "splits"],
            rows,
            numeric=frozenset({2, 3, 4}),
            marked=chosen,
        )
    )
    note = race_note(search)
    if note:
        parts.append(f"<p class=dim>{_e(note)}</p>")
    statement = search.comparison.statement if search.comparison else ""
    caption = (
        f"<span class=verdict>{_e(rec.verdict)}.</span> "
        + (f"{_e(statement)}. " if statement and statement != rec.verdict else "")
        + "Each grey line joins one split's scores across the losses (the same rows for "
        "every loss), so a consistent gap shows as parallel lines; bars are the means, the "
        f"shaded column is the chosen loss, <code>{_e(rec.loss.value)}</code>."
    )
    paired, curves = paired_scores_svg(search, rec.loss), curves_svg(search, rec.loss)
    if paired is not None:
        parts += ["<h3>Scores on the paired splits</h3>", _figure(paired, caption)]
    if curves is not None:
        parts += [
            "<h3>Learning curves</h3>",
            _figure(
                curves,
                "Validation score while training each finalist's best setting on the first "
                "confirmation split; the run stops early once the score stops improving.",
            ),
        ]
    return parts


def _trace(advice: Advice) -> list[str]:
    trace = advice.shortlist.trace

    def rows(firings: list[RuleFiring]) -> list[list[str]]:
        return [
            [
                f"<code>{_e(f.rule)}</code>",
                f"<span class=id>{_e(f.factor.value)}</span>",
                _e(f.effect),
                _e(f.detail),
            ]
            for f in firings
        ]

    fired = [f for f in trace if f.fired]
    quiet = [f for f in trace if not f.fired]
    head = ["rule", "factor", "effect", "detail"]
    parts = [
        "<h2>Rule trace</h2>",
        f"<p class=dim>{len(fired)} of {len(trace)} rules fired.</p>",
        _table(head, rows(fired)) if fired else "",
    ]
    if quiet:
        parts.append(
            f"<details><summary>{len(quiet)} rules did not fire</summary>"
            f"{_table(head, rows(quiet))}</details>"
        )
    return parts


def render_html(advice: Advice) -> str:
    """The report as an HTML string: the answer first, then the evidence and its pictures.

    Example:
        >>> import numpy as np, pandas as pd
        >>> from advisor._recommend import recommend
        >>> rng = np.random.default_rng(0)
        >>> frame = pd.DataFrame({"x": rng.normal(size=80), "y": rng.normal(size=80)})
        >>> page = render_html(recommend(frame, target="y", search=False))
        >>> page.startswith("<!doctype html>"), page.count("<svg")
        (True, 1)
    """
    parts = [
        *_header(advice),
        *_recommendation(advice),
        *_target(advice),
        *_shortlist(advice),
        *_confirmation(advice),
        *_trace(advice),
    ]
    excluded = advice.shortlist.excluded
    if excluded:
        parts.append(
            "<p class=dim>Ruled out: "
            + ", ".join(f"<code>{_e(c.loss.value)}</code>" for c in excluded)
            + "</p>"
        )
    source = advice.input.path or "a DataFrame"
    parts.append(
        f"<footer>Made by lossadvisor from {_e(source)}. The full advice (schema_version 1) "
        "is embedded in this page as JSON (<code>script#advice</code>).</footer>"
    )
    parts.append(f"<script type=application/json id=advice>{embed_json(advice.to_dict())}</script>")
    body = "\n".join(p for p in parts if p)
    title = f"lossadvisor: {advice.recommendation.loss.value}"
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_STYLE}</style><script>{_CHECK}</script>"
        f"</head><body>\n{body}\n</body></html>\n"
    )


def _umask() -> int:
    """The process's umask, read without changing it where Linux allows (threads may be
    creating files meanwhile); elsewhere set and restored at once."""
    with (
        contextlib.suppress(OSError, ValueError),
        open("/proc/self/status", encoding="ascii") as status,
    ):
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_html(advice: Advice, path: str | os.PathLike[str]) -> Path:
    """Write the report atomically, readable as any new file of the user's would be.

    The page goes to a temporary file in the same folder, then replaces the target in one
    step, so a failed run never leaves a half-written report. ``mkstemp`` creates files
    with mode 0600; the report is made to be shared, so it gets ``0666 & ~umask`` (0644
    under the usual umask 022), as ``open()`` would have given it.

    Raises:
        UsageError: the folder does not exist or is not writable.
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise UsageError(
            f"cannot write report {str(target)!r}: folder {str(target.parent)!r} does not exist"
        )
    page = render_html(advice)
    temp = None
    try:
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".lossadvisor-", suffix=".html")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(page)
        os.chmod(temp, 0o666 & ~_umask())
        os.replace(temp, target)
    except OSError as exc:
        if temp is not None:  # never leave the half-written temporary file behind
            with contextlib.suppress(OSError):
                os.unlink(temp)
        raise UsageError(f"cannot write report {str(target)!r}: {exc.strerror}") from None
    return target
