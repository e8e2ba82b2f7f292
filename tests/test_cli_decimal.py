"""``--decimal`` on ``profile``, ``explain`` and ``recommend``: the decimal mark the user names."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from advisor.cli import cli


@pytest.fixture
def undecided_csv(tmp_path):
    """Comma-separated, quoted values such as "14,704": thousands unless told otherwise."""
    rng = np.random.default_rng(0)
    values = rng.uniform(1, 20, 80)
    rows = [
        f'{x:.2f},"{v:.3f}"'.replace(".", ",").replace(",", ".", 1)
        for x, v in zip(rng.normal(size=80), values, strict=True)
    ]
    path = tmp_path / "undecided.csv"
    path.write_text("x,y\n" + "\n".join(rows) + "\n")
    return path, values


def _invoke(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args], obj={})


def test_profile_reads_commas_as_thousands_by_default(undecided_csv):
    path, values = undecided_csv
    result = _invoke("profile", path, "--json")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)["target_stats"]
    assert stats["max"] == pytest.approx(round(values.max(), 3) * 1000)


def test_profile_decimal_comma(undecided_csv):
    path, values = undecided_csv
    result = _invoke("profile", path, "--decimal", ",", "--json")
    assert result.exit_code == 0, result.output
    profile = json.loads(result.stdout)
    assert profile["target_stats"]["max"] == pytest.approx(round(values.max(), 3))
    assert profile["evidence"]["decimal_mark"] == ","


def test_explain_and_recommend_take_decimal(undecided_csv):
    path, values = undecided_csv
    explained = _invoke("explain", path, "--decimal", ",", "--json")
    assert explained.exit_code == 0, explained.output
    assert json.loads(explained.stdout)["profile"]["evidence"]["decimal_mark"] == ","
    advised = _invoke("recommend", path, "--decimal", ",", "--no-search", "--json")
    assert advised.exit_code == 0, advised.output
    document = json.loads(advised.stdout)
    assert document["profile"]["target_stats"]["max"] == pytest.approx(round(values.max(), 3))


def test_decimal_must_be_comma_or_point(undecided_csv):
    path, _ = undecided_csv
    result = _invoke("profile", path, "--decimal", ";")
    assert result.exit_code == 2
    assert "Invalid value for '--decimal'" in result.output
    assert "Traceback" not in result.output
