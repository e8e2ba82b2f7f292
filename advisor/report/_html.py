"""Advice -> one self-contained HTML page for reports (no scripts, no external assets)."""

from __future__ import annotations

import contextlib
import html
import json
import os
import tempfile
from pathlib import Path

from advisor.errors import UsageError
from advisor.records import Advice
from advisor.report._wording import race_note

__all__ = ["render_html", "write_html"]

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.25rem .5rem;
text-align:left;vertical-align:top}th{background:#f5f5f5}pre{background:#f7f7f7;padding:1rem;
overflow:auto}.pick{color:#0a6b2f;font-weight:600}.dim{color:#777}
"""


def _e(value: object) -> str:
    return html.escape("-" if value is None else str(value))


def _rows(pairs: list[tuple[str, object]]) -> str:
    return "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in pairs)


def render_html(advice: Advice) -> str:
    """The report as an HTML string: recommendation first, then the evidence behind it."""
    rec, profile, listed = advice.recommendation, advice.profile, advice.shortlist
    params = ", ".join(f"{k}={v}" for k, v in rec.params.items())
    parts = [
        f"<h1>lossadvisor: <span class=pick>{_e(rec.loss.value)}</span> {_e(params)}</h1>",
        f"<p>confidence {rec.confidence:.2f} ({_e(rec.confidence_label)}) on "
        f"{_e(rec.metric.value)}. {_e(rec.verdict)}</p>",
        "<ul>" + "".join(f"<li>{_e(line)}</li>" for line in rec.rationale) + "</ul>",
        f"<pre>{_e(rec.pytorch)}</pre>",
        "<h2>Profile</h2><table>",
        _rows(
            [
                ("input", advice.input.path or "DataFrame"),
                ("target", ", ".join(profile.target) + f" ({profile.target_detection})"),
                ("task", f"{profile.task.value} (confidence {profile.confidence:.2f})"),
                ("label encoding", profile.label_encoding.value),
                ("rows", profile.n_rows),
                ("outlier rate", f"{profile.outliers.rate:.2%}"),
                ("imbalance", profile.imbalance.level.value if profile.imbalance else None),
            ]
        ),
        "</table>",
    ]
    parts += [f"<p class=dim>warning: {_e(w)}</p>" for w in profile.warnings]
    parts.append("<h2>Shortlist</h2><table><tr><th>loss</th><th>score</th><th>reasons</th></tr>")
    for candidate in listed.candidates:
        reasons = "<br>".join(f"[{_e(r.factor.value)}] {_e(r.text)}" for r in candidate.reasons)
        parts.append(
            f"<tr><td>{_e(candidate.loss.value)}</td><td>{candidate.score:g}</td>"
            f"<td>{reasons}</td></tr>"
        )
    parts.append("</table>")
    if advice.search is not None:
        search = advice.search
        parts.append(
            f"<h2>Confirmation</h2><p class=dim>{search.trials} trials, {search.elapsed_s:.1f}s "
            f"of {search.budget_s:g}s, metric {_e(search.metric.value)} ({search.direction})</p>"
            "<table><tr><th>loss</th><th>mean</th><th>std</th><th>n</th></tr>"
        )
        for result in search.results:
            parts.append(
                f"<tr><td>{_e(result.loss.value)}</td><td>{result.mean:.4g}</td>"
                f"<td>{result.std:.2g}</td><td>{result.n}</td></tr>"
            )
        parts.append("</table>")
        note = race_note(search)
        if note:
            parts.append(f"<p class=dim>{_e(note)}</p>")
    parts.append(
        "<h2>Rule trace</h2><table><tr><th>rule</th><th>factor</th><th>fired</th>"
        "<th>detail</th></tr>"
    )
    for firing in listed.trace:
        parts.append(
            f"<tr><td>{_e(firing.rule)}</td><td>{_e(firing.factor.value)}</td>"
            f"<td>{'yes' if firing.fired else 'no'}</td><td>{_e(firing.detail)}</td></tr>"
        )
    parts.append("</table>")
    data = json.dumps(advice.to_dict()).replace("</", "<\\/")
    parts.append(f"<script type=application/json id=advice>{data}</script>")
    body = "\n".join(parts)
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>lossadvisor "
        f"report</title><style>{_STYLE}</style></head><body>{body}</body></html>\n"
    )


def write_html(advice: Advice, path: str | os.PathLike[str]) -> Path:
    """Write the report atomically: a failed run never leaves a half-written file behind.

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
        os.replace(temp, target)
    except OSError as exc:
        if temp is not None:  # never leave the half-written temporary file behind
            with contextlib.suppress(OSError):
                os.unlink(temp)
        raise UsageError(f"cannot write report {str(target)!r}: {exc.strerror}") from None
    return target
