"""``lossadvisor worker``: join a running study from another process or machine.

The study remembers how it was started (data path, target, task, objective, metric, extra
rules, seed, trial limit) in its user attributes; a worker rebuilds the same profile, shortlist
and exploration split from them and asks/tells trials until the study has its trials or the
worker's budget ends. Finished trials are shared through the storage, never repeated.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import optuna

from advisor.errors import UsageError
from advisor.losses import robust_center_scale
from advisor.search._explore import explore
from advisor.search._splits import make_splits
from advisor.search._storage import _storage

__all__ = ["join_study", "JOB_KEY"]

JOB_KEY = "job"


def job_attributes(
    *,
    path: str | None,
    target: tuple[str, ...],
    task: str,
    objective: str,
    metric: str,
    rules: list[str],
    seed: int,
    max_trials: int,
) -> dict[str, Any]:
    return {
        "path": path,
        "target": list(target),
        "task": task,
        "objective": objective,
        "metric": metric,
        "rules": rules,
        "seed": seed,
        "max_trials": max_trials,
    }


def join_study(
    *, storage: str, study_name: str, budget_s: float = 60.0, device: str = "cpu"
) -> int:
    """Run exploration trials for an existing study; return how many this worker finished.

    Raises:
        UsageError: no such study, or it was not started by ``recommend`` from a file.
    """
    from advisor.profiling import profile_frame, read_table
    from advisor.search._confirm import fit_settings_for
    from advisor.selection import load_rules, shortlist

    try:
        study = optuna.load_study(study_name=study_name, storage=_storage(storage))
    except KeyError:
        raise UsageError(f"no study {study_name!r} in {storage}") from None
    except Exception as exc:
        raise UsageError(
            f"cannot open Optuna storage {storage!r}: {exc.__class__.__name__}"
        ) from None
    job: Mapping[str, Any] | None = study.user_attrs.get(JOB_KEY)
    if not job or not job.get("path"):
        raise UsageError(
            f"study {study_name!r} was not started by 'lossadvisor recommend FILE' "
            "with --storage; a worker needs the data path it recorded"
        )
    frame = read_table(job["path"], seed=job["seed"])
    profile = profile_frame(frame, target=job["target"], task=job["task"], path_hint=job["path"])
    listed = shortlist(
        profile, objective=job["objective"], rules=load_rules(job["rules"]), metric=job["metric"]
    )
    splits = make_splits(frame, profile, listed, seed=int(job["seed"]))
    data = splits.get(0)
    scale = robust_center_scale(data.y_train)[1] if profile.task.is_regression else 1.0
    outcomes = explore(
        study,
        {c.loss: c for c in listed.candidates},
        data,
        settings=fit_settings_for(len(data.y_train), device=device),
        max_trials=int(job["max_trials"]),
        deadline=time.monotonic() + budget_s,
        scale=scale,
        seed=int(job["seed"]),
    )
    return len(outcomes)
