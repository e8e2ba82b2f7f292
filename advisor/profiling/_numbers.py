"""Numbers written for people: decimal commas, thousands separators, currency, (negatives).

A spreadsheet saved in Germany writes ``2,1487`` and ``1.234,50``; an invoice export writes
``$1,584.05`` and ``(1,234.00)``. pyarrow reads all of these as strings, and a string target is
profiled as classes. This module decides the file's decimal mark from the text itself and turns
string columns whose every value is such a number into floats, saying what it did.

The decimal mark is decided per file, from shapes no other reading explains:

* ``2,1487``, ``3,5``, ``0,704`` or ``1.234,5`` can only have a decimal comma (a thousands group
  has exactly three digits and never follows a lone ``0``);
* ``3.14``, ``0.250`` or ``1,234.5`` can only have a decimal point;
* ``14,704`` alone is either; it counts only when nothing decides, and then reads as a decimal
  comma in a ``;``-separated file (the European convention, chosen because the comma is
  taken) and as a thousands separator otherwise.

A column votes for the mark most of its decided values show; the file takes the comma when at
least one column votes for it and none for the point. ``decimal=`` (``--decimal``) overrides.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

__all__ = ["DecimalGuess", "convert_number_columns", "guess_decimal"]

#: Currency symbols stripped from a number (before or after it, with or without a space).
CURRENCY = "$€£¥₹₽₩¢"
#: Spaces people group thousands with: space, no-break space, narrow no-break space.
_SPACES = " \u00a0\u202f"
_MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-", "missing", "#n/a"})
_SAMPLE = 200  # values looked at before committing to convert a column

_CUR = f"[{re.escape(CURRENCY)}]"
_NUMBERISH = re.compile(rf"^[+\-(]?\s*{_CUR}?\s*[+\-]?\d[\d.,'{_SPACES}]*\s*{_CUR}?\s*\)?$")
_COMMA_DECIMAL = re.compile(
    r"^[+-]?(\d+,(\d{1,2}|\d{4,})|(0|\d{4,}),\d+|\d{1,3}([.'\s]\d{3})+,\d+)$"
)
_POINT_DECIMAL = re.compile(
    r"^[+-]?(\d+\.(\d{1,2}|\d{4,})|(0|\d{4,})\.\d+|\d{1,3}([,'\s]\d{3})+\.\d+)$"
)
_COMMA_GROUPS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+$")


@dataclasses.dataclass(frozen=True, slots=True)
class DecimalGuess:
    """The decimal mark of a file and the words that say why (internal)."""

    mark: str  # "." or ","
    why: str
    detected: bool  # False when the caller named the mark


def _strip_currency(text: str) -> str:
    body = text.strip()
    if body.startswith("(") and body.endswith(")"):
        body = body[1:-1].strip()
    return body.strip(CURRENCY + _SPACES).strip()


def _vote(values: Iterable[str]) -> tuple[int, int, int]:
    """Counts of values that only a decimal comma, only a point, or either would explain."""
    comma = point = either = 0
    for raw in values:
        body = _strip_currency(raw)
        if _COMMA_DECIMAL.match(body):
            comma += 1
        elif _POINT_DECIMAL.match(body):
            point += 1
        elif _COMMA_GROUPS.match(body):
            either += 1
    return comma, point, either


def guess_decimal(
    columns: Mapping[str, Iterable[str]], *, delimiter: str = ",", decimal: str | None = None
) -> DecimalGuess:
    """Decide the decimal mark from the text of each column (see the module docstring).

    Args:
        columns: column name -> some of its values as written in the file.
        delimiter: the file's field delimiter.
        decimal: the mark the user named (``"."`` or ``","``); returned as is.

    Example:
        >>> guess_decimal({"y": ["14,704", "2,1487"], "x": ["3", "4"]}, delimiter=";").mark
        ','
        >>> guess_decimal({"price": ["1,584.05", "12.50"]}).mark
        '.'
    """
    if decimal is not None:
        return DecimalGuess(decimal, f"decimal mark {decimal!r} given", detected=False)
    comma_columns: list[str] = []
    point_columns: list[str] = []
    either_columns: list[str] = []
    examples: dict[str, str] = {}
    for name, values in columns.items():
        kept = [str(v) for v in values if isinstance(v, str) and v.strip()][:_SAMPLE]
        comma, point, either = _vote(kept)
        if comma > point:
            comma_columns.append(name)
            examples[name] = next(v for v in kept if _COMMA_DECIMAL.match(_strip_currency(v)))
        elif point > comma:
            point_columns.append(name)
        elif either:
            either_columns.append(name)
    if comma_columns and not point_columns:
        first = comma_columns[0]
        why = f"values such as {examples[first]!r} in column {first!r} have a decimal comma"
        return DecimalGuess(",", why, detected=True)
    if either_columns and not comma_columns and not point_columns and delimiter == ";":
        why = (
            f"column {either_columns[0]!r} has values such as '1,234' and the file is "
            "';'-separated, the convention where the comma is the decimal mark"
        )
        return DecimalGuess(",", why, detected=True)
    return DecimalGuess(".", "decimal point (the default)", detected=True)


# --------------------------------------------------------------------------- conversion


def _number_pattern(decimal: str) -> re.Pattern[str]:
    groups = "[,'" + _SPACES + "]" if decimal == "." else "[.'" + _SPACES + "]"
    point = re.escape(decimal)
    return re.compile(
        rf"^(?P<sign>[+-])?(?P<int>\d+|[1-9]\d{{0,2}}(?:{groups}\d{{3}})+)"
        rf"(?:{point}(?P<frac>\d+))?(?:[eE](?P<exp>[+-]?\d+))?$"
    )


@dataclasses.dataclass(slots=True)
class _Seen:
    currency: set[str] = dataclasses.field(default_factory=set)
    grouped: set[str] = dataclasses.field(default_factory=set)
    parentheses: bool = False
    decimal_comma: bool = False
    fraction: bool = False


def _parse_one(text: str, pattern: re.Pattern[str], decimal: str, seen: _Seen) -> float | None:
    body = text.strip()
    negative = False
    if body.startswith("(") and body.endswith(")"):
        body, negative = body[1:-1].strip(), True
    symbols = {c for c in body if c in CURRENCY}
    if symbols:
        body = body.strip(CURRENCY + _SPACES)
        # a sign may sit before the symbol: -$12.50
        if body[:1] in "+-" and body[1:2] in CURRENCY + _SPACES:
            body = body[0] + body[1:].lstrip(CURRENCY + _SPACES)
    if any(c in CURRENCY for c in body):
        return None
    match = pattern.match(body)
    if match is None:
        return None
    if negative and match["sign"]:
        return None
    whole = match["int"]
    grouping = {c for c in whole if not c.isdigit()}
    digits = whole.translate({ord(c): None for c in grouping})
    number = float(f"{match['sign'] or ''}{digits}.{match['frac'] or '0'}e{match['exp'] or '0'}")
    seen.currency |= symbols
    seen.grouped |= grouping
    seen.parentheses |= negative
    if match["frac"] is not None:
        seen.fraction = True
        seen.decimal_comma |= decimal == ","
    return -number if negative else number


def _describe(seen: _Seen) -> str:
    parts = []
    if seen.decimal_comma:
        parts.append("decimal comma")
    names = {" ": "spaces", "\u00a0": "spaces", "\u202f": "spaces", "'": "apostrophes"}
    for mark in sorted({names.get(c, repr(c)) for c in seen.grouped}):
        parts.append(f"thousands separator {mark}")
    if seen.currency:
        parts.append("currency symbol " + " ".join(sorted(seen.currency)))
    if seen.parentheses:
        parts.append("(parenthesised) negatives")
    return ", ".join(parts)


def _convert(column: pd.Series, decimal: str) -> tuple[pd.Series, str] | None:
    """The column as numbers and how it was written, or None if some value is no number."""
    present = column.notna().to_numpy()
    if not present.any():
        return None
    text = column[present].astype(str)
    lowered = text.str.strip().str.lower()
    missing = lowered.isin(_MISSING).to_numpy()
    values = text[~missing]
    if values.empty:
        return None
    head = values.iloc[:_SAMPLE]
    if not head.str.match(_NUMBERISH).all():
        return None  # cheap refusal before parsing every row of a text column
    pattern = _number_pattern(decimal)
    seen = _Seen()
    unique = pd.unique(values.to_numpy(dtype=object))
    parsed: dict[str, float] = {}
    for item in unique:
        number = _parse_one(str(item), pattern, decimal, seen)
        if number is None:
            return None
        parsed[item] = number
    how = _describe(seen)
    if not how:
        return None  # plain numbers stored as strings: the target reader handles those
    out = np.full(len(column), np.nan)
    rows = np.flatnonzero(present)[~missing]
    out[rows] = values.map(parsed).to_numpy(dtype=np.float64)
    if not seen.fraction and np.all(np.isfinite(out)) and np.all(np.abs(out) < 2**53):
        return pd.Series(out.astype(np.int64), index=column.index, name=column.name), how
    return pd.Series(out, index=column.index, name=column.name), how


def convert_number_columns(
    frame: pd.DataFrame, *, decimal: str = ".", either_mark: bool = True
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Turn string columns written as human numbers into numbers.

    A column converts only when every non-missing value parses and at least one needed the
    help (a currency symbol, a thousands separator, a decimal comma, parentheses); plain digit
    strings are left alone. A column whose own values show the other decimal mark than the
    file's (``1,234.50`` among decimal commas) is read with that mark.

    Args:
        frame: the table; not modified.
        decimal: the decimal mark, ``"."`` or ``","``.
        either_mark: a column may use the other mark when its values show it (False when
            the user named the mark).

    Returns:
        ``(frame, converted)``: the table (a copy when a column changed) and, per converted
        column, how it was written.

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"price": ["$1,584.05", "$12.00"], "x": ["a", "b"]})
        >>> out, how = convert_number_columns(frame)
        >>> out["price"].tolist(), how
        ([1584.05, 12.0], {'price': "thousands separator ',', currency symbol $"})
    """
    converted: dict[str, str] = {}
    replaced: dict[object, pd.Series] = {}
    for position, name in enumerate(frame.columns):
        column = frame.iloc[:, position]
        if not (pd.api.types.is_string_dtype(column.dtype) or column.dtype == object):
            continue
        if frame.columns.tolist().count(name) > 1:
            continue
        result = _convert(column, decimal)
        if result is None and either_mark:
            # a column may still be written the other way (a US price in a European file)
            other = "," if decimal == "." else "."
            comma, point, _ = _vote(column.dropna().astype(str).iloc[:_SAMPLE])
            if (comma > point) if other == "," else (point > comma):
                result = _convert(column, other)
        if result is not None:
            replaced[name], converted[str(name)] = result
    if not replaced:
        return frame, converted
    out = frame.copy()
    for name, series in replaced.items():
        out[name] = series
    return out, converted
