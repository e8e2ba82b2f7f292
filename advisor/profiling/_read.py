"""Reading a CSV (or accepting a DataFrame) into a ``pandas.DataFrame``, with readable failures.

A CSV may be compressed (``.gz``, ``.bz2``, ``.xz``, or a ``.zip`` holding one CSV); a Parquet
file (``.parquet``, or any file starting with Parquet's magic bytes) is read with pyarrow.

The fast path is ``pandas.read_csv(engine="pyarrow")``. Before it runs, the first 64 KB of the
file are sniffed once for the things pyarrow does not guess: the encoding (UTF-8, UTF-8 with a
byte-order mark, or Latin-1 as the fallback), the delimiter (``,`` ``;`` tab ``|``), binary
garbage, and a sane header line (no blank or duplicate names). If pyarrow cannot parse the file,
the rows are scanned to name the first ragged line, and only then does the slower python engine
get a try. Every failure is an :class:`~advisor.errors.InputFileError` whose message is one line
that names the path.

Numbers written for people (``2,1487``, ``$1,584.05``, ``1 234,5 €``) are read as numbers by
``_numbers``: the decimal mark is decided from the sniffed text (or given as ``decimal=``), and
what was converted is kept in ``frame.attrs[READ_NOTES]`` for the profile to report.

A file of at least ``_stream.STREAM_BYTES`` on disk (256 MB) is not read whole: after the same
sniffing, ``_stream`` reads it in Arrow record batches, counts rows, missing values and values
exactly, and keeps a uniform sample of rows (``sample`` rows, 200,000 by default) as the frame;
the same number conversions then apply to the sample. Smaller files take the path above.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import lzma
import os
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pandas as pd

from advisor.errors import InputFileError, UsageError

from . import _stream
from ._numbers import DecimalGuess, convert_number_columns, guess_decimal

__all__ = ["READ_NOTES", "read_table"]

#: ``DataFrame.attrs`` key holding what reading changed: decimal mark and converted columns.
READ_NOTES = "lossadvisor.read"

_SNIFF_BYTES = 64 * 1024
_DELIMITERS = ",;\t|"
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_CONTROL_SHARE_LIMIT = 0.05
_DECIMAL_ROWS = 500  # rows of the sniffed head whose text decides the decimal mark
_PARQUET_MAGIC = b"PAR1"
_STREAMS: dict[str, Callable[..., IO[bytes]]] = {
    "gzip": gzip.open,
    "bz2": bz2.open,
    "xz": lzma.open,
}
_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # an empty archive
)


def read_table(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    sample: int | None = None,
    seed: int = 0,
    decimal: str | None = None,
) -> pd.DataFrame:
    """Read a CSV (plain, compressed or zipped) or Parquet file, or pass a DataFrame through.

    Args:
        source: a path to a CSV or Parquet file, or a DataFrame (returned as is unless
            ``sample`` cuts it or a string column holds numbers written for people).
        sample: keep this many rows drawn at random (seeded), in their original order.
        seed: seed of the row sample.
        decimal: the decimal mark, ``"."`` or ``","``; detected from the values when None.

    Returns:
        The table. A DataFrame input is copied only when sampling or number reading changes
        it. Columns read as numbers and a detected decimal comma are described in
        ``frame.attrs[READ_NOTES]``.

    Raises:
        InputFileError: the file is missing, a directory, unreadable, empty, header-only, binary,
            has ragged rows, or blank / duplicate header names; a zip without exactly one CSV.
        UsageError: ``sample`` is not a positive integer, or ``decimal`` is not "." or ",".

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"x": range(10), "y": [0, 1] * 5})
        >>> read_table(frame, sample=3, seed=1).shape
        (3, 2)
    """
    if sample is not None and (isinstance(sample, bool) or int(sample) != sample or sample < 1):
        raise UsageError(f"`sample` must be a positive number of rows, got {sample!r}")
    if decimal is not None and decimal not in (".", ","):
        raise UsageError(f"`decimal` must be '.' or ',', got {decimal!r}")
    if isinstance(source, pd.DataFrame):
        frame = source
        _check_names([str(c) for c in frame.columns], "the DataFrame")
        frame = _read_numbers(frame, _guess_from_frame(frame, decimal))
    else:
        frame = _read_file(Path(source), decimal, sample=sample, seed=seed)
    if sample is not None and len(frame) > sample:
        frame = frame.sample(n=int(sample), random_state=seed).sort_index()
        frame = frame.reset_index(drop=True)
    return frame


# --------------------------------------------------------------------------- numbers


def _guess_from_frame(frame: pd.DataFrame, decimal: str | None) -> DecimalGuess:
    texts = {
        str(name): frame.iloc[:_DECIMAL_ROWS, i].dropna().astype(str).tolist()
        for i, name in enumerate(frame.columns)
        if pd.api.types.is_string_dtype(frame.dtypes.iloc[i])
    }
    return guess_decimal(texts, decimal=decimal)


def _read_numbers(frame: pd.DataFrame, guess: DecimalGuess) -> pd.DataFrame:
    """Convert human-written number columns; note what changed in ``frame.attrs``."""
    out, converted = convert_number_columns(frame, decimal=guess.mark, either_mark=guess.detected)
    if not converted and guess.mark != ",":
        return out
    if out is frame:
        out = frame.copy(deep=False)
    out.attrs[READ_NOTES] = {
        "decimal": guess.mark,
        "decimal_detected": guess.detected,
        "decimal_why": guess.why,
        "converted": converted,
    }
    return out


# --------------------------------------------------------------------------- file reading


def _compression(head: bytes) -> str | None:
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return None  # the bytes decide, not the name: a mislabelled plain CSV still reads


def _zip_member(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = [i.filename for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputFileError(f"{path}: is not a readable zip archive ({exc})") from exc
    names = [n for n in names if not n.startswith("__MACOSX/") and not n.endswith(".DS_Store")]
    if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
        raise InputFileError(f"{path}: is an Excel workbook, not a CSV; save the sheet as CSV")
    tables = [n for n in names if n.lower().endswith((".csv", ".tsv", ".txt"))] or names
    if len(tables) != 1:
        shown = ", ".join(tables[:5]) if tables else "nothing"
        raise InputFileError(
            f"{path}: a zip archive must hold exactly one CSV file, found {shown}; "
            "unzip it and pass the CSV"
        )
    return tables[0]


def _opener(path: Path, kind: str | None) -> Callable[[], IO[bytes]] | None:
    """A function giving a fresh binary stream of the CSV's bytes; None for a plain file."""
    if kind is None:
        return None
    if kind == "zip":
        member = _zip_member(path)

        def open_member() -> IO[bytes]:
            archive = zipfile.ZipFile(path)
            return archive.open(member)

        return open_member
    return lambda: _STREAMS[kind](path, "rb")


def _read_file(path: Path, decimal: str | None, *, sample: int | None, seed: int) -> pd.DataFrame:
    where = str(path)
    if not path.exists():
        raise InputFileError(f"{where}: no such file; check the path")
    if path.is_dir():
        raise InputFileError(f"{where}: is a directory, expected a CSV file")
    try:
        with path.open("rb") as handle:
            magic = handle.read(8)
    except OSError as exc:
        raise InputFileError(f"{where}: cannot be read ({exc.strerror or exc})") from exc
    big = _is_big(path)
    if magic.startswith(_PARQUET_MAGIC) or path.suffix.lower() in (".parquet", ".pq"):
        if big:
            frame = _stream.stream_parquet(where, path, sample=sample, seed=seed)
            _check_names([str(c) for c in frame.columns], where)
        else:
            frame = _read_parquet(path)
        return _keep_stream_notes(frame, _read_numbers(frame, _guess_from_frame(frame, decimal)))
    return _read_csv(
        path, _opener(path, _compression(magic)), decimal, stream=big, sample=sample, seed=seed
    )


def _is_big(path: Path) -> bool:
    try:
        return path.stat().st_size >= _stream.STREAM_BYTES
    except OSError:
        return False


def _keep_stream_notes(source: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    notes = source.attrs.get(_stream.STREAM_NOTES)
    if notes is not None and frame.attrs.get(_stream.STREAM_NOTES) is not notes:
        frame.attrs[_stream.STREAM_NOTES] = notes
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path, engine="pyarrow")
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ValueError... for bad files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputFileError(f"{path}: cannot be read as Parquet ({first})") from exc
    if len(frame.columns) == 0:
        raise InputFileError(f"{path}: the Parquet file has no columns")
    _check_names([str(c) for c in frame.columns], str(path))
    if len(frame) == 0:
        raise InputFileError(f"{path}: the Parquet file has no rows")
    return frame


def _read_csv(
    path: Path,
    opener: Callable[[], IO[bytes]] | None,
    decimal: str | None,
    *,
    stream: bool = False,
    sample: int | None = None,
    seed: int = 0,
):
    where = str(path)
    try:
        with opener() if opener else path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
            complete = len(head) < _SNIFF_BYTES or not handle.read(1)
    except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError, zlib.error) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise InputFileError(f"{where}: cannot be read ({reason})") from exc
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

    guess = guess_decimal(
        _head_columns(lines, header, delimiter), delimiter=delimiter, decimal=decimal
    )
    if stream:
        frame = _stream.stream_csv(
            where,
            opener or (lambda: path.open("rb")),
            encoding=encoding,
            delimiter=delimiter,
            decimal=guess.mark,
            sample=sample,
            seed=seed,
            header=header,
        )
        return _keep_stream_notes(frame, _read_numbers(frame, guess))
    source = _Source(path, opener)
    frame = _parse(source, encoding=encoding, delimiter=delimiter, decimal=guess.mark)
    if len(frame) == 0:
        raise InputFileError(f"{where}: has a header but no data rows")
    return _read_numbers(frame, guess)


def _head_columns(lines: list[str], header: list[str], delimiter: str) -> dict[str, list[str]]:
    """The sniffed rows' text per column (the last line may be cut by the sniff boundary)."""
    columns: dict[str, list[str]] = {name: [] for name in header}
    names = list(columns)
    try:
        for row in csv.reader(lines[1 : _DECIMAL_ROWS + 1], delimiter=delimiter):
            for name, field in zip(names, row, strict=False):
                columns[name].append(field)
    except csv.Error:
        pass
    return columns


class _Source:
    """A path, or a function opening a decompressed stream, handed to pandas either way."""

    def __init__(self, path: Path, opener: Callable[[], IO[bytes]] | None) -> None:
        self.path, self.opener = path, opener

    def __str__(self) -> str:
        return str(self.path)

    def read_csv(self, **kwargs: Any) -> pd.DataFrame:
        if self.opener is None:
            return pd.read_csv(self.path, **kwargs)
        with self.opener() as stream:
            return pd.read_csv(stream, **kwargs)

    def text(self, encoding: str) -> IO[str]:
        raw = self.opener() if self.opener else self.path.open("rb")
        return io.TextIOWrapper(raw, encoding=encoding, newline="")


def _parse(source: _Source, *, encoding: str, delimiter: str, decimal: str) -> pd.DataFrame:
    # pyarrow strips a UTF-8 byte-order mark itself; naming "utf-8-sig" would make it transcode
    arrow_encoding = "utf-8" if encoding.startswith("utf-8") else encoding
    try:
        frame = source.read_csv(
            engine="pyarrow", sep=delimiter, encoding=arrow_encoding, decimal=decimal
        )
    except (ValueError, UnicodeDecodeError, OSError, EOFError) as exc:
        return _parse_slowly(
            source, encoding=encoding, delimiter=delimiter, decimal=decimal, cause=exc
        )
    if encoding != "latin-1" and _has_undecoded_bytes(frame):
        # pyarrow hands invalid UTF-8 back as bytes objects instead of failing: the file is
        # Latin-1 (or cp1252) past the sniffed head.
        return _parse(source, encoding="latin-1", delimiter=delimiter, decimal=decimal)
    first = str(frame.columns[0]) if len(frame.columns) else ""
    if first.startswith("\ufeff"):
        frame = frame.rename(columns={frame.columns[0]: first.lstrip("\ufeff")})
    return frame


def _parse_slowly(
    source: _Source, *, encoding: str, delimiter: str, decimal: str, cause: Exception
) -> pd.DataFrame:
    """Name the first ragged line if there is one, else try pandas' python engine."""
    path = source
    _raise_if_ragged(source, encoding=encoding, delimiter=delimiter)
    try:
        return source.read_csv(engine="python", sep=delimiter, encoding=encoding, decimal=decimal)
    except UnicodeDecodeError:
        if encoding == "latin-1":
            raise InputFileError(f"{path}: cannot be decoded as text") from cause
        return _parse_slowly(
            source, encoding="latin-1", delimiter=delimiter, decimal=decimal, cause=cause
        )
    except (ValueError, csv.Error, OSError, EOFError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputFileError(f"{path}: cannot be parsed as CSV ({first_line})") from exc


def _raise_if_ragged(source: _Source, *, encoding: str, delimiter: str) -> None:
    path = source
    try:
        with source.text(encoding) as handle:
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
    except InputFileError:
        raise  # an OSError too, but the one this function is for
    except (UnicodeDecodeError, csv.Error, OSError, EOFError):
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
