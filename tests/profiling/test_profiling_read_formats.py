"""Reading what people actually have: decimal commas, currency and thousands separators,
compressed and zipped CSVs, Parquet. Every file is written in a temporary folder by the test."""

from __future__ import annotations

import bz2
import gzip
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest

from advisor.errors import AdvisorWarning, InputFileError, UsageError
from advisor.profiling import profile, read_table
from advisor.profiling._numbers import convert_number_columns, guess_decimal
from advisor.profiling._read import READ_NOTES


def _profile(source, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AdvisorWarning)
        return profile(source, **kwargs)


def _european(n: int = 120, seed: int = 0) -> str:
    """A ';'-separated file with decimal commas: 14,704 and 2,1487 in one column."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = np.round(rng.gamma(2.0, 5.0, n), 4)
    y[:2] = [14.704, 2.1487]
    lines = ["x;y"] + [
        f"{a:.3f};{b:.4f}".replace(".", ",").replace(",0000", "") for a, b in zip(x, y, strict=True)
    ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- decimal mark

DECIMAL_CASES = {
    ",": [
        ({"y": ["14,704", "2,1487"]}, ";"),  # a 4-digit group cannot be thousands
        ({"y": ["3,5", "12,25"]}, ","),  # 1-2 digits after the comma
        ({"y": ["0,704"]}, ","),  # thousands never follow a lone 0
        ({"y": ["1.234,50", "2,5"]}, ","),  # dot groups, comma decimals
        ({"y": ["1 234,5 €"]}, ","),
        ({"y": ["14,704", "1,250"]}, ";"),  # undecided values, ';' convention
    ],
    ".": [
        ({"y": ["3.14", "2.5"]}, ";"),
        ({"y": ["$1,584.05"]}, ","),
        ({"y": ["14,704", "1,250"]}, ","),  # undecided values, ',' file: thousands
        ({"y": ["2,5"], "z": ["2.5"]}, ";"),  # columns disagree: the default
        ({"y": ["a", "b"]}, ";"),
        ({}, ";"),
    ],
}


@pytest.mark.parametrize(
    ("mark", "columns", "delimiter"),
    [(mark, cols, sep) for mark, cases in DECIMAL_CASES.items() for cols, sep in cases],
)
def test_guess_decimal_table(mark, columns, delimiter):
    assert guess_decimal(columns, delimiter=delimiter).mark == mark


def test_column_vote_needs_more_comma_values_than_point_values():
    # one comma-only value against one point-only value: no vote; one more comma: a vote
    assert guess_decimal({"y": ["2,5", "3.25"]}, delimiter=";").mark == "."
    assert guess_decimal({"y": ["2,5", "3.25", "4,75"]}, delimiter=";").mark == ","


def test_given_decimal_wins_over_the_data():
    guess = guess_decimal({"y": ["2,1487"]}, decimal=".")
    assert (guess.mark, guess.detected) == (".", False)


def test_decimal_comma_csv_is_read_as_numbers(tmp_path):
    path = tmp_path / "european.csv"
    path.write_text(_european())
    frame = read_table(path)
    assert pd.api.types.is_float_dtype(frame["y"].dtype)
    assert frame["y"].iloc[:2].tolist() == [14.704, 2.1487]
    assert frame.attrs[READ_NOTES]["decimal"] == ","
    result = _profile(path)
    assert result.task.is_regression
    assert result.evidence["decimal_mark"] == ","
    assert any("decimal comma" in w and "--decimal ." in w for w in result.warnings)


def test_dots_in_a_decimal_comma_file_group_thousands(tmp_path):
    path = tmp_path / "eu.csv"
    path.write_text("a;b;y\n1,5;1.234;14,704\n2;2.500;2,1487\n3;7;0,5\n")
    frame = read_table(path)
    assert frame["b"].tolist() == [1234, 2500, 7]
    assert frame["a"].tolist() == [1.5, 2.0, 3.0]
    assert frame.attrs[READ_NOTES]["converted"] == {"b": "thousands separator '.'"}


def test_decimal_parameter_settles_an_undecided_file(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text('x,y\n1,"14,704"\n2,"1,250"\n3,"7,125"\n')
    assert read_table(path)["y"].tolist() == [14704, 1250, 7125]  # thousands by default
    assert read_table(path, decimal=",")["y"].tolist() == [14.704, 1.25, 7.125]


def test_decimal_point_given_keeps_comma_text(tmp_path):
    path = tmp_path / "european.csv"
    path.write_text(_european())
    frame = read_table(path, decimal=".")
    assert pd.api.types.is_string_dtype(frame["y"].dtype)
    assert READ_NOTES not in frame.attrs


def test_decimal_comma_is_detected_in_a_dataframe():
    frame = pd.DataFrame({"x": [1, 2, 3], "y": ["14,704", "2,1487", "0,5"]})
    out = read_table(frame)
    assert out["y"].tolist() == [14.704, 2.1487, 0.5]
    assert frame["y"].tolist() == ["14,704", "2,1487", "0,5"]  # the caller's frame is untouched


def test_bad_decimal_is_a_usage_error():
    with pytest.raises(UsageError, match=r"`decimal` must be '\.' or ',', got ';'"):
        read_table(pd.DataFrame({"y": [1, 2]}), decimal=";")


# --------------------------------------------------------------------------- currency, thousands

NUMBER_CASES = [
    (["$1,584.05", "$12.00"], ".", [1584.05, 12.0], "thousands separator ',', currency symbol $"),
    (["1 234,5 €", "12,0 €"], ",", [1234.5, 12.0], "decimal comma, thousands separator spaces"),
    (["€1.234,50", "€0,99"], ",", [1234.5, 0.99], "decimal comma, thousands separator '.'"),
    (["(1,234.00)", "56.10"], ".", [-1234.0, 56.1], "(parenthesised) negatives"),
    (["-$3.50", "$4.25"], ".", [-3.5, 4.25], "currency symbol $"),
    (["1'234.5", "10.0"], ".", [1234.5, 10.0], "thousands separator apostrophes"),
    (["£7", "£1,000", None, "n/a"], ".", [7, 1000, np.nan, np.nan], "currency symbol £"),
]


@pytest.mark.parametrize(("texts", "decimal", "numbers", "how"), NUMBER_CASES)
def test_human_numbers_are_read(texts, decimal, numbers, how):
    frame = pd.DataFrame({"v": pd.Series(texts, dtype=object)})
    out, converted = convert_number_columns(frame, decimal=decimal)
    np.testing.assert_array_equal(out["v"].to_numpy(dtype=float), np.array(numbers, dtype=float))
    assert how in converted["v"]


NOT_NUMBERS = [
    ["$1,584.05", "call us"],  # one word: the column stays text
    ["12", "13"],  # plain digit strings need no help: left to the target reader
    ["$$5", "$6"],
    ["1,23,4", "5"],  # not a grouping
    ["(-5)", "6"],  # a sign inside parentheses
    ["1.2.3", "4"],
]


@pytest.mark.parametrize("texts", NOT_NUMBERS)
def test_other_text_is_left_alone(texts):
    frame = pd.DataFrame({"v": pd.Series(texts, dtype=object)})
    out, converted = convert_number_columns(frame)
    assert converted == {}
    assert out is frame


def test_whole_amounts_become_integers():
    out, _ = convert_number_columns(pd.DataFrame({"v": ["$1,000", "$2,500"]}))
    assert out["v"].dtype == np.int64


def test_currency_target_is_profiled_as_numbers_with_a_note(tmp_path):
    rng = np.random.default_rng(3)
    prices = np.round(np.exp(rng.normal(7, 0.8, 200)), 2)
    path = tmp_path / "prices.csv"
    rows = [f'{x},"${p:,.2f}"' for x, p in zip(rng.normal(size=200).round(3), prices, strict=True)]
    path.write_text("x,price\n" + "\n".join(rows) + "\n")
    result = _profile(path, target="price")
    assert result.task.is_regression
    assert result.target_stats.max == pytest.approx(prices.max())
    assert "currency symbol $" in result.evidence["read_as_numbers"]["price"]
    assert any("read text columns as numbers: 'price'" in w for w in result.warnings)


def test_a_column_may_use_the_other_mark_than_the_file(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text(
        'x,price,eu\n1,"$1,584.05","1 234,5 €"\n2,$12.00,"12,0 €"\n3,"(1,234.00)","-3,25 €"\n'
    )
    frame = read_table(path)
    assert frame["price"].tolist() == [1584.05, 12.0, -1234.0]
    assert frame["eu"].tolist() == [1234.5, 12.0, -3.25]


# --------------------------------------------------------------------------- containers


def _table(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame({"x": rng.normal(size=n), "label": rng.choice(["a", "b"], n)})


def test_gzip_and_bz2_csv_are_read(tmp_path):
    frame = _table()
    text = frame.to_csv(index=False).encode()
    (tmp_path / "t.csv.gz").write_bytes(gzip.compress(text))
    (tmp_path / "t.csv.bz2").write_bytes(bz2.compress(text))
    for name in ("t.csv.gz", "t.csv.bz2"):
        read = read_table(tmp_path / name)
        pd.testing.assert_frame_equal(read, frame, check_dtype=False)
    assert _profile(tmp_path / "t.csv.gz").task.value == "binary"


def test_gzip_decimal_comma_file(tmp_path):
    path = tmp_path / "eu.csv.gz"
    path.write_bytes(gzip.compress(_european().encode()))
    assert read_table(path)["y"].iloc[:2].tolist() == [14.704, 2.1487]


def test_ragged_row_in_a_gzip_is_named(tmp_path):
    path = tmp_path / "ragged.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n1,2\n3,4,5\n"))
    with pytest.raises(InputFileError, match="line 3 has 3 fields, expected 2"):
        read_table(path)


def test_truncated_gzip_is_an_input_error(tmp_path):
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(gzip.compress(_table(2000).to_csv(index=False).encode())[:300])
    with pytest.raises(InputFileError, match="cut.csv.gz"):
        read_table(path)


def test_zip_with_one_csv_is_read(tmp_path):
    frame = _table()
    path = tmp_path / "t.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("folder/data.csv", frame.to_csv(index=False))
        archive.writestr("__MACOSX/folder/._data.csv", "junk")
    pd.testing.assert_frame_equal(read_table(path), frame, check_dtype=False)


@pytest.mark.parametrize(
    ("members", "message"),
    [
        (
            {"a.csv": "x,y\n1,2\n", "b.csv": "x,y\n1,2\n"},
            "exactly one CSV file, found a.csv, b.csv",
        ),
        ({}, "exactly one CSV file, found nothing"),
        ({"[Content_Types].xml": "<x/>", "xl/workbook.xml": "<x/>"}, "is an Excel workbook"),
    ],
)
def test_zip_without_exactly_one_csv(tmp_path, members, message):
    path = tmp_path / "t.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    with pytest.raises(InputFileError, match=message):
        read_table(path)


def test_parquet_is_read_with_pyarrow(tmp_path):
    frame = _table()
    frame.to_parquet(tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(read_table(tmp_path / "t.parquet"), frame)
    frame.to_parquet(tmp_path / "no_suffix.bin")  # the magic bytes say Parquet
    pd.testing.assert_frame_equal(read_table(tmp_path / "no_suffix.bin"), frame)
    result = _profile(tmp_path / "t.parquet", sample=40)
    assert (result.task.value, result.n_rows) == ("binary", 40)


def test_parquet_with_currency_strings_is_converted(tmp_path):
    pd.DataFrame({"x": [1, 2, 3], "price": ["$1,000.50", "$3.25", "$10"]}).to_parquet(
        tmp_path / "p.parquet"
    )
    assert read_table(tmp_path / "p.parquet")["price"].tolist() == [1000.5, 3.25, 10.0]


def test_broken_or_empty_parquet(tmp_path):
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 this is not a parquet file")
    with pytest.raises(InputFileError, match="cannot be read as Parquet"):
        read_table(tmp_path / "bad.parquet")
    pd.DataFrame({"x": pd.Series([], dtype=float)}).to_parquet(tmp_path / "empty.parquet")
    with pytest.raises(InputFileError, match="has no rows"):
        read_table(tmp_path / "empty.parquet")


def test_top_level_api_takes_decimal(tmp_path):
    import advisor

    path = tmp_path / "quoted.csv"
    values = np.random.default_rng(2).permutation(np.linspace(1, 9, 40))
    rows = [f'{i},"{v:.3f}"'.replace(".", ",") for i, v in enumerate(values)]
    path.write_text("x,y\n" + "\n".join(rows) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AdvisorWarning)
        assert advisor.profile(path, decimal=",").target_stats.max == pytest.approx(9.0)
        assert advisor.profile(path).target_stats.max == pytest.approx(9000.0)
