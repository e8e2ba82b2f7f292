"""``lossadvisor worker``: join a running study from another process or machine.

The study holds the request it was started with (``Job``: data path and content hash, sample,
seed, target, task, objective, metric, rule files) and the search's plan. A worker checks that
its copy of the data has the same bytes, replays the same ``prepare`` as ``recommend``, checks
that the outcome (profile, shortlist) has the same fingerprint, and then runs the same loop
(``_work.py``): exploration trials and confirmation runs alike, whichever is due. Finished
trials are shared through the storage, never repeated.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import optuna

from advisor.errors import SearchInterrupted, StudyMismatchError, UsageError
from advisor.search._confirm import JOB_KEY, fit_settings_for, start_work, study_options
from advisor.search._prepare import Job, Prepared, check_same_data, fingerprint, prepare
from advisor.search._quiet import quiet_optuna
from advisor.search._splits import make_splits
from advisor.search._storage import describe_storage, load_study
from advisor.search._work import PLAN_KEY, Interrupted, SearchPlan
from advisor.selection import load_rules

__all__ = ["join_study"]


JOIN_WAIT_S = 30.0  # a worker may start before recommend has made the study


def _started(attrs: dict) -> bool:
    return bool(attrs.get(JOB_KEY, {}).get("path")) and PLAN_KEY in attrs


def _differences(known: dict, here: dict) -> str:
    return ", ".join(
        f"{key} {known.get(key)!r} in the study, {here.get(key)!r} here"
        for key in sorted(set(known) | set(here))
        if known.get(key) != here.get(key)
    )


def _wait_for_request(study: optuna.Study, study_name: str) -> dict[str, Any]:
    """The study's user attributes once ``recommend`` has stored its request and plan.

    Raises:
        UsageError: none came within ``JOIN_WAIT_S``: the study was not made by ``recommend``.
    """
    attrs = study.user_attrs
    patience = time.monotonic() + JOIN_WAIT_S
    while not _started(attrs) and time.monotonic() < patience:
        time.sleep(0.1)  # a study just created: its request is stored a moment later
        attrs = study.user_attrs
    if not _started(attrs):
        raise UsageError(
            f"study {study_name!r} was not started by recommend on a file with `storage`; "
            "a worker needs the data path it recorded"
        )
    return attrs


def _prepare_same(attrs: dict[str, Any], study_name: str, data: str | None) -> Prepared:
    """Replay ``recommend``'s preparation on this machine's copy of the data, and check it.

    Raises:
        StudyMismatchError: the data (or what the rules make of it) differs from the study's.
    """
    job = Job.from_dict(attrs[JOB_KEY])
    path = data or job.path
    check_same_data(job, path, study_name)
    prepared = prepare(
        path,
        target=job.target,
        task=job.task,
        objective=job.objective,
        metric=job.metric,
        rules=job.rules,
        sample=job.sample,
        seed=job.seed,
        decimal=job.decimal,
    )
    here = fingerprint(
        prepared.profile, prepared.listed, seed=job.seed, digest=job.digest, sample=job.sample
    )
    known = attrs.get("fingerprint", {})
    if known != here:
        raise StudyMismatchError(
            f"study {study_name!r}: this worker's profile or shortlist differs from the "
            f"study's ({_differences(known, here)}); check the rule files and the version"
        )
    return prepared


def _warm_up() -> threading.Thread:
    """Load what preparing needs whatever the study (the bundled rules: YAML parsed in
    Python) beside the wait for ``recommend`` to make the study: a worker started with it
    then joins sooner. (A thread: opening the storage at once keeps its place in line.)"""
    thread = threading.Thread(target=load_rules, name="lossadvisor-warm-up", daemon=True)
    thread.start()
    return thread


def join_study(
    *,
    storage: str,
    study_name: str,
    budget_s: float = 60.0,
    device: str = "cpu",
    data: str | None = None,
) -> int:
    """Take trials of an existing study until it is decided or the budget ends.

    Args:
        storage, study_name: the study started by ``recommend FILE --storage URL``.
        budget_s: seconds this worker may run.
        device: ``cpu`` or ``cuda``.
        data: this machine's copy of the data, when not at the path the study recorded.

    Returns:
        How many trials (exploration and confirmation) this worker finished.

    Raises:
        UsageError: no such study, or it was not started by ``recommend`` from a file.
        StudyMismatchError: the data (or what the rules make of it) differs from the study's.
        SearchInterrupted: Ctrl-C; this worker's trials in flight were marked failed.
    """
    with quiet_optuna():
        warming = _warm_up()
        study = load_study(storage=storage, study_name=study_name, wait_s=JOIN_WAIT_S)
        attrs = _wait_for_request(study, study_name)
        warming.join()
        prepared = _prepare_same(attrs, study_name, data)
        plan = SearchPlan.from_dict(attrs[PLAN_KEY])
        splits = make_splits(prepared.frame, prepared.profile, prepared.listed, seed=plan.seed)
        settings = fit_settings_for(len(splits.get(0).y_train), device=device)
        study.sampler, study.pruner = study_options(
            prepared.listed, max_steps=settings.max_steps, seed=plan.seed
        )
        work = start_work(
            study,
            prepared.frame,
            prepared.profile,
            prepared.listed,
            plan=plan,
            device=device,
            splits=splits,
        )
        try:
            work.run(stop_at=time.monotonic() + budget_s)
        except Interrupted as exc:
            raise SearchInterrupted(
                f"interrupted; {exc.failed} trial(s) in flight marked failed, finished ones "
                f"kept; rejoin the worker with `storage={describe_storage(storage)!r}` "
                f"`study_name={study_name!r}`"
            ) from None
    return len(work.outcomes) + work.confirmed
