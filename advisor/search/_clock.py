"""Where one process's time goes while it works on a study: training, storage, waiting.

Several processes share a study, and a second process only pays off if it trains most of the
time: an hour it spends waiting for another's batch, or for a round of the race to end, is
an hour the study gains nothing from it. :class:`Clock` adds up the seconds of each
(phase, activity) of :class:`~advisor.search._work.Work`'s loop, and the work loop stores the
sums in the study (``clock:HOST:PID``) when it stops, so ``benchmarks/workers.py`` can say why
two processes are not twice as fast as one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["ACTIVITIES", "CLOCK_PREFIX", "Clock"]

CLOCK_PREFIX = "clock:"
# train: a stacked fit (with its pruner reports and tells); wait: asleep, nothing to take;
# storage: all else (reading and replaying the study, queueing, claiming, sweeping)
ACTIVITIES = ("train", "storage", "wait")


@dataclasses.dataclass(slots=True)
class Clock:
    """Seconds per ``phase/activity`` (``explore/train``, ``confirm/wait``, ...) of one process.

    Example:
        >>> clock = Clock(now=lambda: 10.0)
        >>> clock.add("explore", "train", 2.0)
        >>> clock.add("explore", "wait", 0.5)
        >>> clock.busy_share(span=5.0)
        0.4
        >>> clock.to_dict()["seconds"]
        {'explore/train': 2.0, 'explore/wait': 0.5}
    """

    seconds: dict[str, float] = dataclasses.field(default_factory=dict)
    started: float = 0.0
    now: Any = time.time

    def __post_init__(self) -> None:
        self.started = self.now()

    def add(self, phase: str, activity: str, seconds: float) -> None:
        if activity not in ACTIVITIES:
            raise ValueError(f"activity {activity!r} is not one of {ACTIVITIES}")
        key = f"{phase}/{activity}"
        self.seconds[key] = self.seconds.get(key, 0.0) + max(0.0, seconds)

    @contextlib.contextmanager
    def timing(self, phase: str, activity: str) -> Iterator[None]:
        """Add the time the ``with`` block takes (also when it raises)."""
        begun = time.monotonic()
        try:
            yield
        finally:
            self.add(phase, activity, time.monotonic() - begun)

    def total(self, activity: str) -> float:
        return sum(s for key, s in self.seconds.items() if key.endswith(f"/{activity}"))

    def busy_share(self, *, span: float) -> float:
        """Training seconds over ``span`` (the process's time on the study)."""
        return self.total("train") / span if span > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "ended": self.now(),
            "seconds": {key: round(s, 4) for key, s in sorted(self.seconds.items())},
        }

    @staticmethod
    def summary(stored: Mapping[str, Any]) -> dict[str, float]:
        """A stored clock as ``span``, ``busy`` share and seconds per ``phase/activity``."""
        span = float(stored["ended"]) - float(stored["started"])
        seconds = {str(k): float(v) for k, v in stored["seconds"].items()}
        train = sum(s for key, s in seconds.items() if key.endswith("/train"))
        return {"span": span, "busy": train / span if span > 0 else 0.0, **seconds}
