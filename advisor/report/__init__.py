"""Records -> JSON documents, terminal renderables and an HTML report."""

from advisor.report._html import render_html, write_html
from advisor.report._terminal import (
    render_advice,
    render_catalog,
    render_profile,
    render_rules,
    render_search,
    render_shortlist,
    render_trace,
)

__all__ = [
    "render_advice",
    "render_catalog",
    "render_html",
    "render_profile",
    "render_rules",
    "render_search",
    "render_shortlist",
    "render_trace",
    "write_html",
]
