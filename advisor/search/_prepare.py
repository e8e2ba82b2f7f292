"""One road from the user's request to what every process of a search needs.

``recommend`` and ``lossadvisor worker`` both call :func:`prepare`: read (and sample) the
table, profile it (with the metric-driven ordinal reading), shortlist by the rules. The
request itself (:class:`Job`: path, content hash, sample, seed, target, task, objective,
metric, rule files) is stored in the study, so a worker replays exactly the starting process's
steps, and :func:`fingerprint` of the result is stored with it, so a worker whose data or
rules drifted is refused with what differs instead of mixing other scores into the study.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from advisor.errors import StudyMismatchError
from advisor.profiling import profile_frame, read_table
from advisor.records import DataProfile, LabelEncoding, MetricId, Shortlist, Task
from advisor.selection import load_rules, shortlist

__all__ = [
    "Job",
    "Prepared",
    "check_same_data",
    "data_digest",
    "fingerprint",
    "prepare",
    "profile_for_metric",
]

_CHUNK = 1 << 20

# metrics that score the distance between class indices: they presume the classes are ordered
ORDINAL_METRICS = (MetricId.MAE_INDEX, MetricId.QWK)
# levels that carry their own order (string names are only sorted alphabetically)
NUMBERED_LEVELS = (LabelEncoding.INTEGER_INDEX, LabelEncoding.FLOAT_CODED_INTEGER)


def profile_for_metric(
    frame: pd.DataFrame,
    *,
    target: str | Sequence[str] | None,
    task: Task | str | None,
    metric: MetricId | str | None,
    path: str | None = None,
) -> DataProfile:
    """Profile the table; an ordinal metric settles an ordered-or-not reading the data left open.

    Integer levels 1..3 may be categories or an ordered scale, and the profiler keeps ordinal
    as an alternative when it reads them as classes. Judging by ``mae_index`` or ``qwk``
    (distances between class indices) says the classes are ordered, so the task becomes
    ordinal. Nothing changes when ``--task`` was given, or ordinal was not an alternative for
    numbered levels (names like "red", "blue" carry no order of their own).
    """
    profile = profile_frame(frame, target=target, task=task, path_hint=path)
    if task is not None or metric is None or str(metric) not in ORDINAL_METRICS:
        return profile
    ordinal = next(
        (
            a
            for a in profile.alternatives
            if a.task is Task.ORDINAL and a.label_encoding in NUMBERED_LEVELS
        ),
        None,
    )
    if profile.task is Task.ORDINAL or ordinal is None:
        return profile
    imposed = profile_frame(frame, target=target, task=Task.ORDINAL, path_hint=path)
    return dataclasses.replace(
        imposed,
        target_detection=f"{profile.target_detection}; task ordinal because --metric {metric} "
        f"scores ordered classes ({ordinal.evidence})",
        alternatives=(),
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """The request a study was started with: enough for another process to replay it."""

    path: str | None
    digest: str
    sample: int | None
    seed: int
    target: tuple[str, ...] | None
    task: str | None
    objective: str | None
    metric: str | None
    rules: tuple[str, ...] = ()
    decimal: str | None = None  # --decimal, when the user named the decimal mark

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["target"] = list(self.target) if self.target is not None else None
        data["rules"] = list(self.rules)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Job:
        target = data.get("target")
        return cls(
            path=data.get("path"),
            digest=str(data.get("digest", "")),
            sample=data.get("sample"),
            seed=int(data.get("seed", 0)),
            target=tuple(target) if target is not None else None,
            task=data.get("task"),
            objective=data.get("objective"),
            metric=data.get("metric"),
            rules=tuple(data.get("rules", ())),
            decimal=data.get("decimal"),
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Prepared:
    """What every process of a search works on: the (sampled) table, its profile, shortlist."""

    job: Job
    frame: pd.DataFrame
    profile: DataProfile
    listed: Shortlist


def data_digest(source: str | os.PathLike[str] | pd.DataFrame) -> str:
    """``sha256:<hex>`` of a file's bytes (streamed, 1 MiB at a time) or of a frame's values.

    Example:
        >>> data_digest(pd.DataFrame({"a": [1, 2]})) == data_digest(pd.DataFrame({"a": [1, 2]}))
        True
    """
    digest = hashlib.sha256()
    if isinstance(source, pd.DataFrame):
        digest.update(",".join(map(str, source.columns)).encode())
        digest.update(pd.util.hash_pandas_object(source, index=False).to_numpy().tobytes())
        return f"sha256:{digest.hexdigest()}"
    try:
        with open(source, "rb") as handle:
            while block := handle.read(_CHUNK):
                digest.update(block)
    except OSError:
        return ""  # read_table names the problem in its own words
    return f"sha256:{digest.hexdigest()}"


def prepare(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    target: str | Sequence[str] | None = None,
    task: Task | str | None = None,
    objective: str | None = None,
    metric: MetricId | str | None = None,
    rules: Sequence[str | os.PathLike[str]] = (),
    sample: int | None = None,
    seed: int = 0,
    decimal: str | None = None,
    content_hash: bool = True,
) -> Prepared:
    """Read, sample, profile and shortlist the table: the steps every search process shares.

    ``content_hash=False`` leaves ``Job.digest`` empty: hashing a large file costs about a
    second per GB, and only a stored study, which other processes join, needs to know its data
    by its content.

    Raises:
        InputFileError, DataError, UsageError, RuleError: as the stages they come from.
    """
    path = None if isinstance(source, pd.DataFrame) else os.path.abspath(os.fspath(source))
    digest = data_digest(source) if content_hash else ""
    frame = read_table(source, sample=sample, seed=seed, decimal=decimal)
    profile = profile_for_metric(frame, target=target, task=task, metric=metric, path=path)
    listed = shortlist(profile, objective=objective, rules=load_rules(rules), metric=metric)
    names = [target] if isinstance(target, str) else target
    job = Job(
        path=path,
        digest=digest,
        sample=sample,
        decimal=decimal,
        seed=seed,
        target=tuple(names) if names is not None else None,
        task=None if task is None else str(task),
        objective=objective,
        metric=None if metric is None else str(metric),
        rules=tuple(os.path.abspath(os.fspath(r)) for r in rules),
    )
    return Prepared(job=job, frame=frame, profile=profile, listed=listed)


def fingerprint(
    profile: DataProfile, listed: Shortlist, *, seed: int, digest: str = "", sample=None
) -> dict[str, Any]:
    """What must be equal for two processes to share a study: data, sample, outcome of rules."""
    return {
        "data": digest,
        "sample": sample,
        "target": list(profile.target),
        "task": profile.task.value,
        "rows": profile.n_rows,
        "losses": [c.value for c in listed.losses],
        "metric": listed.metric.value,
        "seed": seed,
    }


def check_same_data(job: Job, path: str, study_name: str) -> None:
    """Refuse a file whose bytes differ from the study's data, saying which differs.

    Raises:
        StudyMismatchError: the file's content hash is not the one the study recorded.
    """
    here = data_digest(path)
    if here == job.digest:
        return
    where = os.path.abspath(path)
    what = (
        f"{where!r} has other contents than when the study started"
        if job.path == where
        else f"{where!r} is another file than the study's data {job.path!r}"
    )
    raise StudyMismatchError(
        f"study {study_name!r}: {what} ({here[:19] or 'unreadable'}... here, "
        f"{job.digest[:19]}... stored); give the worker the same data with `data`"
    )
