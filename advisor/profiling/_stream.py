"""Reading a table too big for memory: Arrow record batches, exact counts, a uniform row sample.

A file of tens of GB cannot become one DataFrame, and the profile does not need it to: rows,
missing values and the counts of each value (classes) are *counted* exactly while the batches
stream past, and everything that needs the values themselves (quantiles, skew, outlier rates,
the feature kinds, the search's training rows) is computed on a uniform random sample of rows.

The sample is a seeded *bottom-k* sample: each row draws a uniform key and the ``k`` rows with
the smallest keys are kept, in file order. Every subset of ``k`` rows is equally likely, the
same seed gives the same rows, and the kept table never holds more than ``k`` rows plus one
batch (it is cut back to ``k`` whenever it passes ``2k``, so the cut is rare), so peak memory
is bounded by ``k`` and the batch size, not by the file. A column's
distinct values are counted exactly up to :data:`DISTINCT_CAP`; past it the column is only
known to have more (so the counts of a class target are exact, and a float column stops being
counted after its first batch).

Type inference is pyarrow's, from the first block. A later value that does not fit (a decimal
in a column of whole numbers, text after empty cells) names its column in pyarrow's error; the
stream is restarted with that column read as float or text. The counts go to
``frame.attrs[STREAM_NOTES]`` for the profile to patch in.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from advisor.errors import InputFileError

__all__ = [
    "BLOCK_BYTES",
    "DISTINCT_CAP",
    "SAMPLE_ROWS",
    "STREAM_BYTES",
    "STREAM_NOTES",
    "BottomK",
    "StreamCounts",
    "rank_error",
    "stream_csv",
    "stream_parquet",
]

#: Files at least this large (bytes on disk) are streamed; smaller ones are read whole.
STREAM_BYTES = 256 * 2**20
#: Bytes of CSV text per Arrow record batch.
BLOCK_BYTES = 16 * 2**20
#: Rows kept in the uniform sample when ``--sample`` does not say.
SAMPLE_ROWS = 200_000
#: Distinct values counted exactly per column; past this a column only "has more".
DISTINCT_CAP = 1_000
#: ``DataFrame.attrs`` key holding the stream's exact counts.
STREAM_NOTES = "lossadvisor.stream"

try:  # pandas' own missing-value words, so the stream counts what read_csv calls missing
    from pandas._libs.parsers import STR_NA_VALUES as _PANDAS_NA
except ImportError:  # pragma: no cover - a pandas without it
    _PANDAS_NA = set(pcsv.ConvertOptions().null_values) | {"<NA>", "None"}
NULL_VALUES = sorted(_PANDAS_NA)
_MAX_RESTARTS = 64
_PROBE_FACTOR = 4  # rows looked at first, per distinct value allowed
_PARQUET_BATCH_ROWS = 131_072
_BAD_COLUMN = re.compile(r"In CSV column #(\d+):.*?CSV conversion error to (\w+)")


def rank_error(n_sample: int, confidence: float = 0.95) -> float:
    """Bound on a sample quantile's error in rank (Dvoretzky-Kiefer-Wolfowitz), as a share.

    With probability ``confidence`` every empirical quantile of a uniform sample of
    ``n_sample`` rows lies within this share of ranks of the true one.

    Example:
        >>> round(rank_error(200_000), 4)
        0.003
    """
    return math.sqrt(math.log(2 / (1 - confidence)) / (2 * max(n_sample, 1)))


class BottomK:
    """A seeded uniform sample of ``k`` rows kept across record batches (bottom-k keys).

    Example:
        >>> import pyarrow as pa
        >>> keep = BottomK(3, seed=0)
        >>> for start in range(0, 100, 10):
        ...     keep.add(pa.record_batch({"x": list(range(start, start + 10))}))
        >>> keep.table().num_rows, keep.rows_seen
        (3, 100)
    """

    def __init__(self, k: int, *, seed: int) -> None:
        self.k = int(k)
        self.rows_seen = 0
        self.rng = np.random.default_rng(seed)
        self._parts: list[pa.Table] = []
        self._keys = np.empty(0)
        self._threshold = np.inf  # a row with a key at or above it can never enter

    def add(self, batch: pa.RecordBatch) -> None:
        keys = self.rng.random(batch.num_rows)
        self.rows_seen += batch.num_rows
        entering = keys < self._threshold
        if not entering.any():
            return
        part = pa.Table.from_batches([batch])
        if not entering.all():
            part = part.filter(pa.array(entering))
        self._parts.append(part)
        self._keys = np.concatenate([self._keys, keys[entering]])
        if self._keys.size > 2 * self.k:  # compact now and then, not after every batch
            self._compact()
        elif self._keys.size >= self.k and self._threshold == np.inf:
            self._threshold = float(np.partition(self._keys, self.k - 1)[self.k - 1])

    def _compact(self) -> None:
        if self._keys.size > self.k:
            keep = np.sort(np.argpartition(self._keys, self.k - 1)[: self.k])  # file order
            table = pa.concat_tables(self._parts).take(pa.array(keep))
            self._parts = [table.combine_chunks()]
            self._keys = self._keys[keep]
        if self._keys.size >= self.k:
            self._threshold = float(self._keys.max())

    @property
    def size(self) -> int:
        """Rows held now: never more than ``2k`` (compacted to ``k`` when it would be)."""
        return int(self._keys.size)

    def table(self) -> pa.Table:
        """The sample: the ``k`` rows (or all rows, when fewer were seen) in file order."""
        if not self._parts:
            raise ValueError("no batch was added")
        self._compact()
        return pa.concat_tables(self._parts)


@dataclasses.dataclass
class StreamCounts:
    """Exact counts over every row of the file, gathered batch by batch."""

    n_rows: int = 0
    batches: int = 0
    missing: dict[str, int] = dataclasses.field(default_factory=dict)
    # per column: the count of each value, or None once it has more than DISTINCT_CAP
    values: dict[str, Counter | None] = dataclasses.field(default_factory=dict)

    def add(self, batch: pa.RecordBatch) -> None:
        self.n_rows += batch.num_rows
        self.batches += 1
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            missing = column.null_count
            if pa.types.is_floating(column.type):
                missing += pc.sum(pc.is_nan(column)).as_py() or 0
            self.missing[name] = self.missing.get(name, 0) + missing
            counts = self.values.setdefault(name, Counter())
            if counts is None:
                continue
            present = column.drop_null()
            # a continuous column shows more than the cap in its first rows already: counting
            # those is cheap, counting a whole batch of distinct floats is not
            head = present.slice(0, _PROBE_FACTOR * DISTINCT_CAP)
            if len(head) < len(present) and len(pc.value_counts(head)) > DISTINCT_CAP:
                self.values[name] = None
                continue
            tally = pc.value_counts(present)
            if len(tally) > DISTINCT_CAP:  # a continuous column: no need to look further
                self.values[name] = None
                continue
            for value, count in zip(
                tally.field("values").to_pylist(), tally.field("counts").to_pylist(), strict=True
            ):
                if isinstance(value, float) and value != value:
                    continue  # NaN is counted as missing
                counts[value] += count
            if len(counts) > DISTINCT_CAP:
                self.values[name] = None

    def to_notes(self, *, sample_rows: int, seed: int) -> dict[str, Any]:
        return {
            "rows": self.n_rows,
            "sample_rows": sample_rows,
            "seed": seed,
            "batches": self.batches,
            "missing": dict(self.missing),
            "values": {
                name: (dict(counts) if counts is not None else None)
                for name, counts in self.values.items()
            },
            "distinct_cap": DISTINCT_CAP,
        }


def stream_csv(
    where: str,
    opener: Callable[[], IO[bytes]],
    *,
    encoding: str,
    delimiter: str,
    decimal: str,
    sample: int | None,
    seed: int,
    header: list[str],
    block_bytes: int | None = None,
) -> pd.DataFrame:
    """Stream a CSV once: exact counts of every row, and a uniform sample of rows as a frame.

    Args:
        where: the path, for messages.
        opener: returns a fresh binary stream of the CSV's (decompressed) bytes.
        encoding, delimiter, decimal: as sniffed from the file's head.
        header: the column names, as sniffed (to name a column pyarrow's error numbers).
        sample: rows to keep (default :data:`SAMPLE_ROWS`).
        seed: seed of the sample.
        block_bytes: bytes per batch (default :data:`BLOCK_BYTES`).

    Returns:
        The sample in file order; ``attrs[STREAM_NOTES]`` holds the exact counts.

    Raises:
        InputFileError: the file cannot be parsed as CSV, or has no data rows.

    Example:
        >>> import io
        >>> text = "x,y 1,a 2,b ,a 4,a".replace(" ", chr(10)).encode()
        >>> frame = stream_csv("t.csv", lambda: io.BytesIO(text), encoding="utf-8",
        ...                    delimiter=",", decimal=".", sample=2, seed=0, header=["x", "y"])
        >>> notes = frame.attrs[STREAM_NOTES]
        >>> len(frame), notes["rows"], notes["missing"]["x"], notes["values"]["y"]
        (2, 4, 1, {'a': 3, 'b': 1})
    """
    k = int(sample) if sample is not None else SAMPLE_ROWS
    types: dict[str, pa.DataType] = {}
    for _ in range(_MAX_RESTARTS):
        counts, keep = StreamCounts(), BottomK(k, seed=seed)
        try:
            for batch in _batches(
                opener, encoding, delimiter, decimal, types, block_bytes or BLOCK_BYTES
            ):
                counts.add(batch)
                keep.add(batch)
            break
        except pa.ArrowInvalid as exc:
            if encoding != "latin-1" and "utf8" in str(exc).lower().replace("-", ""):
                encoding = "latin-1"  # invalid UTF-8 past the sniffed head
                continue
            retyped = _retype(str(exc), types, header)
            if retyped is None:
                first = str(exc).strip().splitlines()[0]
                raise InputFileError(f"{where}: cannot be parsed as CSV ({first})") from exc
            types = retyped
    else:  # pragma: no cover - every restart fixes one column
        raise InputFileError(f"{where}: cannot be parsed as CSV (column types keep changing)")
    if counts.n_rows == 0:
        raise InputFileError(f"{where}: has a header but no data rows")
    frame = keep.table().to_pandas()
    frame.attrs[STREAM_NOTES] = counts.to_notes(sample_rows=len(frame), seed=seed)
    return frame


def stream_parquet(where: str, path: Any, *, sample: int | None, seed: int) -> pd.DataFrame:
    """Stream a Parquet file's row groups as :func:`stream_csv` streams a CSV.

    Raises:
        InputFileError: the file cannot be read as Parquet, or has no columns or no rows.
    """
    import pyarrow.parquet as pq

    counts, keep = StreamCounts(), BottomK(int(sample or SAMPLE_ROWS), seed=seed)
    try:
        parquet = pq.ParquetFile(path)
        for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH_ROWS):
            if batch.num_rows:
                counts.add(batch)
                keep.add(batch)
    except (pa.ArrowException, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputFileError(f"{where}: cannot be read as Parquet ({first})") from exc
    if not parquet.schema_arrow.names:
        raise InputFileError(f"{where}: the Parquet file has no columns")
    if counts.n_rows == 0:
        raise InputFileError(f"{where}: the Parquet file has no rows")
    frame = keep.table().to_pandas()
    frame.attrs[STREAM_NOTES] = counts.to_notes(sample_rows=len(frame), seed=seed)
    return frame


def _batches(
    opener: Callable[[], IO[bytes]],
    encoding: str,
    delimiter: str,
    decimal: str,
    types: dict[str, pa.DataType],
    block_bytes: int,
) -> Iterator[pa.RecordBatch]:
    # pyarrow strips a UTF-8 byte-order mark itself; naming "utf-8-sig" would make it transcode
    arrow_encoding = "utf-8" if encoding.startswith("utf-8") else encoding
    with opener() as stream:
        reader = pcsv.open_csv(
            stream,
            read_options=pcsv.ReadOptions(block_size=block_bytes, encoding=arrow_encoding),
            parse_options=pcsv.ParseOptions(delimiter=delimiter),
            convert_options=pcsv.ConvertOptions(
                null_values=NULL_VALUES,
                strings_can_be_null=True,
                decimal_point=decimal,
                column_types=types,
            ),
        )
        for batch in reader:
            if batch.num_rows:
                yield batch


def _retype(message: str, types: dict[str, pa.DataType], header: list[str]):
    """Widen the column pyarrow's conversion error names: whole numbers -> float -> text."""
    found = _BAD_COLUMN.search(message)
    if found is None or int(found.group(1)) >= len(header):
        return None
    name = header[int(found.group(1))]
    number = found.group(2).startswith(("int", "uint", "null", "bool"))
    value = re.search(r"invalid value '(.*)'", message)
    widened = pa.string()
    if number and types.get(name) != pa.float64() and value and _is_number(value.group(1)):
        widened = pa.float64()
    if types.get(name) == widened:
        return None
    return {**types, name: widened}


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True
