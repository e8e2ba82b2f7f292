"""Records -> JSON documents, terminal renderables and an HTML report."""

from advisor.report._html import render_html, write_html
from advisor.report._schema import json_schema
from advisor.report._terminal import (
    printable,
    profile_line,
    recommendation_line,
    render_advice,
    render_catalog,
    render_profile,
    render_rules,
    render_search,
    render_shortlist,
    render_trace,
    shortlist_line,
)

__all__ = [
    "json_schema",
    "printable",
    "profile_line",
    "recommendation_line",
    "render_advice",
    "render_catalog",
    "render_html",
    "render_profile",
    "render_rules",
    "render_search",
    "render_shortlist",
    "render_trace",
    "shortlist_line",
    "write_html",
]
