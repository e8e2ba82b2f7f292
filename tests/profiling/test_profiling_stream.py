"""Streaming a big file: exact counts equal the in-memory profile's, sampled statistics are
close, the sample is bounded by construction, and the reading conversions still apply.

The threshold and batch size are made tiny here so that files of a few hundred KB stream in
many batches; the code path is the one a file of tens of GB takes.
"""

from __future__ import annotations

import gzip
import json
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from advisor.errors import InputFileError
from advisor.profiling import _stream, profile, read_table
from advisor.profiling._stream import BottomK, StreamCounts, rank_error


@pytest.fixture
def streaming(monkeypatch):
    """Every file streams, in batches of 16 KB."""
    monkeypatch.setattr(_stream, "STREAM_BYTES", 0)
    monkeypatch.setattr(_stream, "BLOCK_BYTES", 16 * 1024)


def _quiet_profile(path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return profile(path, **kwargs)


def _classes_csv(tmp_path, n=6_000):
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "income": rng.lognormal(3, 1, n).round(3),
            "age": rng.integers(18, 90, n),
            "city": rng.choice(["Oslo", "Lima", "Pune", None], n, p=[0.5, 0.3, 0.15, 0.05]),
            "label": rng.choice(["churn", "stay", "pause"], n, p=[0.07, 0.9, 0.03]),
        }
    )
    frame.loc[rng.random(n) < 0.1, "income"] = np.nan
    frame.loc[rng.random(n) < 0.02, "label"] = None
    path = tmp_path / "classes.csv"
    frame.to_csv(path, index=False)
    return path


def test_exact_counts_equal_the_in_memory_profile(tmp_path, monkeypatch):
    path = _classes_csv(tmp_path)
    whole = _quiet_profile(path, target="label")
    monkeypatch.setattr(_stream, "STREAM_BYTES", 0)
    monkeypatch.setattr(_stream, "BLOCK_BYTES", 16 * 1024)
    streamed = _quiet_profile(path, target="label", sample=1_000)

    assert streamed.evidence["stream"]["rows"] == 6_000
    assert streamed.evidence["stream"]["sample_rows"] == 1_000
    assert streamed.evidence["stream"]["batches"] > 5
    assert streamed.n_rows == whole.n_rows == 6_000
    assert streamed.task == whole.task and streamed.classes == whole.classes
    assert dict(streamed.imbalance.class_counts) == dict(whole.imbalance.class_counts)
    assert streamed.imbalance.ratio == whole.imbalance.ratio
    assert streamed.target_stats.n_missing == whole.target_stats.n_missing > 0
    assert streamed.target_stats.n == whole.target_stats.n
    by_name = {c.name: c for c in whole.features.columns}
    for column in streamed.features.columns:
        assert column.missing_rate == by_name[column.name].missing_rate, column.name
        if column.name in ("age", "city"):  # under the distinct cap: counted exactly
            assert column.n_unique == by_name[column.name].n_unique, column.name
    assert streamed.features.missing_rate == whole.features.missing_rate
    assert any("uniform sample of 1,000 of 6,000 rows" in w for w in streamed.warnings)


def test_sampled_statistics_are_close_and_their_error_is_stated(tmp_path, monkeypatch):
    rng = np.random.default_rng(5)
    n = 20_000
    x = rng.normal(size=n)
    frame = pd.DataFrame({"x": x.round(4), "y": (3 * x + rng.normal(size=n)).round(4)})
    path = tmp_path / "reg.csv"
    frame.to_csv(path, index=False)
    whole = _quiet_profile(path, target="y")
    monkeypatch.setattr(_stream, "STREAM_BYTES", 0)
    monkeypatch.setattr(_stream, "BLOCK_BYTES", 32 * 1024)
    streamed = _quiet_profile(path, target="y", sample=4_000)

    assert streamed.n_rows == n and streamed.task == whole.task
    spread = whole.target_stats.std
    assert abs(streamed.target_stats.median - whole.target_stats.median) < 0.1 * spread
    assert abs(streamed.target_stats.mean - whole.target_stats.mean) < 0.1 * spread
    assert abs(streamed.target_stats.std - spread) < 0.05 * spread
    assert abs(streamed.target_stats.skewness - whole.target_stats.skewness) < 0.2
    error = streamed.evidence["stream"]["quantile_rank_error"]
    assert error == pytest.approx(rank_error(4_000), abs=1e-5)
    assert any(f"±{100 * error:.2f} percentile points" in w for w in streamed.warnings)


def test_bottom_k_never_holds_more_than_k_rows_and_is_uniform():
    k, n, batch = 500, 50_000, 1_000
    keep = BottomK(k, seed=7)
    for start in range(0, n, batch):
        keep.add(pa.record_batch({"i": np.arange(start, start + batch)}))
        assert keep.size <= 2 * k  # bounded by construction, after every batch
    rows = keep.table().column("i").to_numpy()
    assert rows.size == k and keep.rows_seen == n
    assert np.all(np.diff(rows) > 0)  # file order, no repeats
    # uniform over the file: each tenth of the rows holds about a tenth of the sample
    tenths = np.bincount(rows * 10 // n, minlength=10)
    assert tenths.min() > 25 and tenths.max() < 80
    again = BottomK(k, seed=7)
    other = BottomK(k, seed=8)
    for start in range(0, n, 5_000):  # other batch sizes, same seed: the same rows
        piece = pa.record_batch({"i": np.arange(start, start + 5_000)})
        again.add(piece)
        other.add(piece)
    assert np.array_equal(again.table().column("i").to_numpy(), rows)
    assert not np.array_equal(other.table().column("i").to_numpy(), rows)


def test_distinct_values_are_counted_up_to_the_cap(monkeypatch):
    monkeypatch.setattr(_stream, "DISTINCT_CAP", 10)
    counts = StreamCounts()
    counts.add(pa.record_batch({"few": [1, 2, 2, None], "many": [0.5, 1.5, 2.5, float("nan")]}))
    counts.add(pa.record_batch({"few": [3, 1, 1, 1], "many": [float(i) for i in range(4, 8)]}))
    assert counts.n_rows == 8 and counts.missing == {"few": 1, "many": 1}
    assert counts.values["few"] == {1: 4, 2: 2, 3: 1}
    counts.add(pa.record_batch({"few": [1] * 20, "many": [float(i) for i in range(100, 120)]}))
    assert counts.values["many"] is None and counts.values["few"][1] == 24


def test_a_column_is_given_up_on_from_its_first_rows_or_its_whole_batch(monkeypatch):
    # the first 4 x cap rows decide cheaply when they already hold too many values; when they
    # do not, the whole batch is counted: the counts are the same either way
    monkeypatch.setattr(_stream, "DISTINCT_CAP", 10)
    rng = np.random.default_rng(0)
    late = np.concatenate([np.zeros(40), np.arange(60.0)])  # many values only after row 40
    few = rng.integers(0, 5, size=100)
    counts = StreamCounts()
    counts.add(pa.record_batch({"early": np.arange(100.0), "late": late, "few": few}))
    assert counts.values["early"] is None and counts.values["late"] is None
    assert counts.values["few"] == {int(v): int((few == v).sum()) for v in np.unique(few)}
    assert counts.missing == {"early": 0, "late": 0, "few": 0}


def test_decimal_comma_and_currency_files_stream_like_they_read(tmp_path, streaming):
    rng = np.random.default_rng(11)
    n = 3_000
    price = rng.lognormal(5, 1, n)
    rate = rng.normal(size=n)
    lines = ["price;rate;y"] + [
        f"€ {p:,.2f};{r:.4f};{int(r > 0)}".replace(",", "_").replace(".", ",").replace("_", ".")
        for p, r in zip(price, rate, strict=True)
    ]
    path = tmp_path / "eu.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    streamed = read_table(path, sample=n)  # a sample of all rows: the whole file, streamed
    assert _stream.STREAM_NOTES in streamed.attrs
    np.testing.assert_allclose(streamed["rate"], rate.round(4))
    np.testing.assert_allclose(streamed["price"], price.round(2))
    result = _quiet_profile(path, target="y", sample=1_000)
    assert result.n_rows == n and result.evidence["decimal_mark"] == ","
    assert "price" in result.evidence["read_as_numbers"]


def test_columns_whose_type_changes_after_the_first_batch_are_widened(tmp_path, streaming):
    n = 4_000
    whole_then_decimal = [str(i % 7) for i in range(n - 1)] + ["2.5"]
    empty_then_text = [""] * (n - 1) + ["late"]
    frame = pd.DataFrame(
        {"a": whole_then_decimal, "b": empty_then_text, "y": [i % 2 for i in range(n)]}
    )
    path = tmp_path / "late.csv"
    frame.to_csv(path, index=False)
    streamed = read_table(path, sample=n)
    assert len(streamed) == n and streamed["a"].dtype == np.float64
    assert streamed["a"].iloc[-1] == 2.5 and streamed["b"].iloc[-1] == "late"
    assert streamed.attrs[_stream.STREAM_NOTES]["missing"]["b"] == n - 1


def test_gzip_and_parquet_stream(tmp_path, streaming):
    path = _classes_csv(tmp_path, n=3_000)
    whole = pd.read_csv(path)
    packed = tmp_path / "classes.csv.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    parquet = tmp_path / "classes.parquet"
    whole.to_parquet(parquet)
    for source in (packed, parquet):
        result = _quiet_profile(source, target="label", sample=500)
        assert result.n_rows == 3_000, source
        assert sum(result.imbalance.class_counts.values()) == whole["label"].notna().sum()


def test_a_ragged_row_past_the_first_batch_is_a_clean_error(tmp_path, streaming):
    lines = ["a,b,y"] + [f"{i},{i * 2},{i % 2}" for i in range(3_000)]
    lines[2_500] = "1,2,3,4"
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputFileError, match="ragged.csv"):
        read_table(path)


def test_cli_profiles_a_streamed_file(tmp_path, streaming):
    from click.testing import CliRunner

    from advisor.cli import cli

    path = _classes_csv(tmp_path, n=3_000)
    result = CliRunner().invoke(
        cli, ["profile", str(path), "--target", "label", "--sample", "800", "--json"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["n_rows"] == 3_000
    assert document["evidence"]["stream"]["sample_rows"] == 800
    assert sum(document["imbalance"]["class_counts"].values()) == document["target_stats"]["n"]


def test_latin1_past_the_sniffed_head_streams(tmp_path, streaming):
    lines = ["city,y"] + [f"Oslo,{i % 2}" for i in range(12_000)] + ["Bogot\xe1,1"]
    path = tmp_path / "latin.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    streamed = read_table(path, sample=20_000)
    assert len(streamed) == 12_001 and streamed["city"].iloc[-1] == "Bogot\xe1"
