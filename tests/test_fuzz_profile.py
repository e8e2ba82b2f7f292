"""Random tables thrown at ``advisor.profile`` + ``advisor.shortlist`` (no training).

Every table must end in a profile and a shortlist whose ``to_dict()`` is strict JSON, or in a
clean ``AdvisorError``; any other exception is a bug. Tables mix dtypes, NaN and infinities,
huge and tiny numbers, unicode, empty and duplicate names, one row, one class, all-missing
columns, numbers written for people (``1,5``, ``$3``); the same tables also go through CSV text
and ``read_table``.

CI (``CI`` set) runs 2,000 tables in memory and 1,000 through CSV text; elsewhere a tenth of
that, so a local run stays quick.
``derandomize=True`` makes every run draw the same examples, so a failure in CI reproduces.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import advisor
from advisor.errors import AdvisorError
from advisor.profiling import read_table
from advisor.records import MetricId, Task

EXAMPLES = 2000 if os.environ.get("CI") else 200


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


NAMES = st.one_of(
    st.sampled_from(["y", "target", "label", "x", "ctr", "p_click", "rating", "class", "n_visits"]),
    st.sampled_from(["", " ", "y_a", "y_b", "y[/]", "[red]y", "<!--<script>", "é\u202e", "0"]),
    st.text(min_size=0, max_size=6),
)
FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1.0, -1.0, 0.5, 1e308, -1e308, 5e-324, 1e-300, np.nan]),
    st.floats(min_value=0, max_value=1),
)
INTS = st.one_of(
    st.integers(min_value=-3, max_value=12),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
)
WORDS = st.one_of(
    st.sampled_from(["yes", "no", "a", "b", "a|b", "?", "NA", "", " ", "True", "1", "2.5"]),
    st.sampled_from(["1,5", "2,1487", "$1,584.05", "(1,234.00)", "1 234,5 €", "€1.234,50"]),
    st.text(max_size=5),
)


@st.composite
def columns(draw, n: int) -> list:
    kind = draw(st.sampled_from(["float", "int", "bool", "str", "mixed", "missing", "constant"]))
    if kind == "float":
        return draw(st.lists(FLOATS, min_size=n, max_size=n))
    if kind == "int":
        return draw(st.lists(INTS, min_size=n, max_size=n))
    if kind == "bool":
        return draw(st.lists(st.booleans(), min_size=n, max_size=n))
    if kind == "str":
        pool = draw(st.lists(WORDS, min_size=1, max_size=4))
        return draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
    if kind == "mixed":
        return draw(st.lists(st.one_of(FLOATS, INTS, WORDS, st.none()), min_size=n, max_size=n))
    if kind == "missing":
        return [None] * n
    value = draw(st.one_of(FLOATS, INTS, WORDS))
    return [value] * n


@st.composite
def tables(draw) -> tuple[pd.DataFrame, object, str | None]:
    n_rows = draw(st.one_of(st.integers(0, 3), st.integers(4, 40)))
    n_columns = draw(st.integers(1, 5))
    names = [draw(NAMES) for _ in range(n_columns)]
    data = [draw(columns(n_rows)) for _ in range(n_columns)]
    frame = pd.DataFrame(dict(enumerate(data)), index=range(n_rows))
    frame.columns = names  # duplicates and blanks allowed: the reader must refuse them cleanly
    target = draw(
        st.one_of(
            st.none(),
            st.sampled_from(names),
            st.lists(st.sampled_from(names), min_size=2, max_size=3),
            st.just("missing_column"),
        )
    )
    task = draw(st.one_of(st.none(), st.sampled_from([t.value for t in Task])))
    return frame, target, task


OBJECTIVES = st.sampled_from(
    [None, "auto", "robust", "median", "quantile:0.9", "quantile:1.5", "penalize-large-errors"]
    + ["calibrated-probabilities", "margin", "minority-recall", "bogus"]
)
METRICS = st.one_of(st.none(), st.sampled_from([m.value for m in MetricId] + ["bogus"]))


def _advise(source, target, task, objective=None, metric=None) -> None:
    """Profile and shortlist; only an AdvisorError may stop it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            profile = advisor.profile(source, target=target, task=task)
            listed = advisor.shortlist(profile, objective=objective, metric=metric)
        except AdvisorError as exc:
            message = str(exc)
            assert message and "\n" not in message.strip(), message
            return
    json.dumps(profile.to_dict(), allow_nan=False)
    json.dumps([c.to_dict() for c in listed.candidates], allow_nan=False)
    assert listed.candidates


@_settings(EXAMPLES)
@given(tables(), OBJECTIVES, METRICS)
def test_random_tables_profile_or_fail_cleanly(table, objective, metric):
    frame, target, task = table
    _advise(frame, target, task, objective, metric)


@_settings(EXAMPLES // 2)
@given(tables(), st.sampled_from([",", ";", "\t", "; decimal comma"]))
def test_random_tables_through_csv_text(table, dialect):
    frame, target, task = table
    separator, _, comma = dialect.partition(" ")
    text = frame.to_csv(index=False, sep=separator, decimal="," if comma else ".")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.csv"
        path.write_text(text, encoding="utf-8")
        try:
            read_table(path)
        except AdvisorError:
            return
        _advise(path, target, task)
