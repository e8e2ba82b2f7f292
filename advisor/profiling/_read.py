"""Reading a CSV (or accepting a DataFrame) into a ``pandas.DataFrame``, with readable failures.

The fast path is ``pandas.read_csv(engine="pyarrow")``. Before it runs, the first 64 KB of the
file are sniffed once for the things pyarrow does not guess: the encoding (UTF-8, UTF-8 with a
byte-order mark, or Latin-1 as the fallback), the delimiter (``,`` ``;`` tab ``|``), binary
garbage, and a sane header line (no blank or duplicate names). If pyarrow cannot parse the file,
the rows are scanned to name the first ragged line, and only then does the slower python engine
get a try. Every failure is an :class:`~advisor.errors.InputFileError` whose message is one line
that names the path.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections import Counter
from pathlib import Path

import pandas as pd

from advisor.errors import InputFileError, UsageError

__all__ = ["read_table"]

_SNIFF_BYTES = 64 * 1024
_DELIMITERS = ",;\t|"
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_CONTROL_SHARE_LIMIT = 0.05


def read_table(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    sample: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Read a CSV file into a DataFrame, or pass a DataFrame through.

    Args:
        source: a path to a CSV file, or a DataFrame (returned as is unless ``sample`` cuts it).
        sample: keep this many rows drawn at random (seeded), in their original order.
        seed: seed of the row sample.

    Returns:
        The table. A DataFrame input is copied only when sampling changes it.

    Raises:
        InputFileError: the file is missing, a directory, unreadable, empty, header-only, binary,
            has ragged rows, or blank / duplicate header names.
        UsageError: ``sample`` is not a positive integer.

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"x": range(10), "y": [0, 1] * 5})
        >>> read_table(frame, sample=3, seed=1).shape
        (3, 2)
    """
    if sample is not None and (isinstance(sample, bool) or int(sample) != sample or sample < 1):
        raise UsageError(f"sample must be a positive number of rows, got {sample!r}")
    if isinstance(source, pd.DataFrame):
        frame = source
        _check_names([str(c) for c in frame.columns], "the DataFrame")
    else:
        frame = _read_csv(Path(source))
    if sample is not None and len(frame) > sample:
        frame = frame.sample(n=int(sample), random_state=seed).sort_index()
        frame = frame.reset_index(drop=True)
    return frame


# --------------------------------------------------------------------------- file reading


def _read_csv(path: Path) -> pd.DataFrame:
    where = str(path)
    if not path.exists():
        raise InputFileError(f"{where}: no such file; check the path")
    if path.is_dir():
        raise InputFileError(f"{where}: is a directory, expected a CSV file")
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
            complete = len(head) < _SNIFF_BYTES or not handle.read(1)
    except OSError as exc:
        raise InputFileError(f"{where}: cannot be read ({exc.strerror or exc})") from exc
    if not head.strip():
        raise InputFileError(f"{where}: the file is empty; expected a CSV with a header row")
    if b"\x00" in head:
        raise InputFileError(
            f"{where}: contains NUL bytes, so it is binary (or UTF-16), not a CSV; "
            "save it as UTF-8 CSV"
        )
    encoding, text = _sniff_encoding(head, complete=complete)
    if _control_share(text) > _CONTROL_SHARE_LIMIT:
        raise InputFileError(f"{where}: looks like binary data, not a CSV text file")
    delimiter = _sniff_delimiter(text)
    lines = [line for line in text.splitlines() if line.strip()]
    header = next(csv.reader([lines[0]], delimiter=delimiter))
    _check_names(header, where)
    if len(lines) < 2 and complete:
        raise InputFileError(f"{where}: has a header but no data rows")

    frame = _parse(path, encoding=encoding, delimiter=delimiter)
    if len(frame) == 0:
        raise InputFileError(f"{where}: has a header but no data rows")
    return frame


def _parse(path: Path, *, encoding: str, delimiter: str) -> pd.DataFrame:
    # pyarrow strips a UTF-8 byte-order mark itself; naming "utf-8-sig" would make it transcode
    arrow_encoding = "utf-8" if encoding.startswith("utf-8") else encoding
    try:
        frame = pd.read_csv(path, engine="pyarrow", sep=delimiter, encoding=arrow_encoding)
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        return _parse_slowly(path, encoding=encoding, delimiter=delimiter, cause=exc)
    if encoding != "latin-1" and _has_undecoded_bytes(frame):
        # pyarrow hands invalid UTF-8 back as bytes objects instead of failing: the file is
        # Latin-1 (or cp1252) past the sniffed head.
        return _parse(path, encoding="latin-1", delimiter=delimiter)
    first = str(frame.columns[0]) if len(frame.columns) else ""
    if first.startswith("\ufeff"):
        frame = frame.rename(columns={frame.columns[0]: first.lstrip("\ufeff")})
    return frame


def _parse_slowly(path: Path, *, encoding: str, delimiter: str, cause: Exception) -> pd.DataFrame:
    """Name the first ragged line if there is one, else try pandas' python engine."""
    _raise_if_ragged(path, encoding=encoding, delimiter=delimiter)
    try:
        return pd.read_csv(path, engine="python", sep=delimiter, encoding=encoding)
    except UnicodeDecodeError:
        if encoding == "latin-1":
            raise InputFileError(f"{path}: cannot be decoded as text") from cause
        return _parse_slowly(path, encoding="latin-1", delimiter=delimiter, cause=cause)
    except (ValueError, csv.Error) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputFileError(f"{path}: cannot be parsed as CSV ({first_line})") from exc


def _raise_if_ragged(path: Path, *, encoding: str, delimiter: str) -> None:
    try:
        with path.open("r", encoding=encoding, newline="") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            expected: int | None = None
            for row in reader:
                if not row or not any(field.strip() for field in row):
                    continue
                if expected is None:
                    expected = len(row)
                elif len(row) != expected:
                    name = _DELIMITER_NAMES[delimiter]
                    raise InputFileError(
                        f"{path}: line {reader.line_num} has {len(row)} fields, expected "
                        f"{expected} like the header (ragged rows; {name}-separated); "
                        "fix that row or quote fields that contain the delimiter"
                    )
    except (UnicodeDecodeError, csv.Error):
        return  # the python engine below reports these in its own words


def _has_undecoded_bytes(frame: pd.DataFrame) -> bool:
    for name in frame.columns:
        column = frame[name]
        if column.dtype == object:
            first = column.first_valid_index()
            if first is not None and isinstance(column.loc[first], bytes):
                return True
            if column.map(type).eq(bytes).any():
                return True
    return False


# --------------------------------------------------------------------------- sniffing


def _sniff_encoding(head: bytes, *, complete: bool) -> tuple[str, str]:
    """Return the encoding name and the decoded head: UTF-8 (BOM or not), else Latin-1."""
    encoding = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        # final=False lets a multi-byte character cut by the 64 KB boundary pass
        return encoding, decoder.decode(head, final=complete)
    except UnicodeDecodeError:
        return "latin-1", head.decode("latin-1")


def _control_share(text: str) -> float:
    if not text:
        return 0.0
    controls = sum(
        1 for ch in text if (ord(ch) < 32 and ch not in "\t\r\n") or 127 <= ord(ch) < 160
    )
    return controls / len(text)


def _sniff_delimiter(text: str) -> str:
    """Pick the delimiter with csv.Sniffer, falling back to the most consistent count per line."""
    lines = [line for line in text.splitlines() if line.strip()][:50]
    if len(lines) > 1 and not text.endswith("\n"):
        lines = lines[:-1]  # the last line of a truncated head may be cut short
    sample = "\n".join(lines)
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS)
        # the sniffer may pick a delimiter absent from the header (e.g. with one column)
        in_header = dialect.delimiter in lines[0] or not any(d in lines[0] for d in _DELIMITERS)
        if dialect.delimiter in _DELIMITERS and in_header:
            return dialect.delimiter
    except csv.Error:
        pass
    return _count_delimiter(lines)


def _count_delimiter(lines: list[str]) -> str:
    best, best_key = ",", (False, 0)
    for delimiter in _DELIMITERS:
        counts = [_count_outside_quotes(line, delimiter) for line in lines]
        if not counts or counts[0] == 0:
            continue
        consistent = Counter(counts).most_common(1)[0][0] == counts[0]
        key = (consistent, counts[0])
        if key > best_key:
            best, best_key = delimiter, key
    return best


def _count_outside_quotes(line: str, delimiter: str) -> int:
    try:
        return len(next(csv.reader(io.StringIO(line), delimiter=delimiter))) - 1
    except (csv.Error, StopIteration):
        return line.count(delimiter)


def _check_names(names: list[str], where: str) -> None:
    blanks = [i + 1 for i, name in enumerate(names) if not name.strip()]
    if blanks:
        position = ", ".join(str(i) for i in blanks)
        raise InputFileError(
            f"{where}: column {position} has a blank header name; every column needs a name"
        )
    duplicated = sorted(
        name for name, count in Counter(n.strip() for n in names).items() if count > 1
    )
    if duplicated:
        shown = ", ".join(repr(n) for n in duplicated)
        raise InputFileError(f"{where}: duplicate header names {shown}; rename the columns")
