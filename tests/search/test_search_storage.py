"""open_study / join_study: any Optuna storage, resume only when asked, never mix studies."""

from __future__ import annotations

import sys

import optuna
import pytest
from optuna.trial import TrialState

from advisor.errors import StudyMismatchError, UsageError
from advisor.search import join_study
from advisor.search._storage import (
    build_storage,
    describe_storage,
    enqueue_together,
    open_study,
)

FINGERPRINT = {
    "target": ["y"],
    "rows": 300,
    "losses": ["mse", "huber"],
    "metric": "rmse",
    "seed": 0,
}


def _open(
    storage: str | None, *, name: str = "s", resume: bool = False, fingerprint: dict | None = None
) -> optuna.Study:
    return open_study(
        storage=storage,
        study_name=name,
        direction="minimize",
        resume=resume,
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=optuna.pruners.NopPruner(),
        fingerprint=fingerprint or FINGERPRINT,
    )


def test_in_memory_study() -> None:
    study = _open(None)
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    assert study.user_attrs["fingerprint"] == FINGERPRINT
    assert describe_storage(None) == "in-memory"


def test_sqlite_file_is_created_and_resumed(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    study = _open(url)
    study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=1.0))
    assert (tmp_path / "studies.db").is_file()
    again = _open(url, resume=True)
    assert [t.value for t in again.trials] == [1.0]
    assert describe_storage(url) == url


def test_journal_file_storage(tmp_path) -> None:
    path = tmp_path / "journal.log"
    _open(f"journal:{path}").add_trial(
        optuna.trial.create_trial(params={}, distributions={}, value=2.0)
    )
    assert path.is_file()
    assert [t.value for t in _open(f"journal:{path}", resume=True).trials] == [2.0]


def test_existing_study_without_resume_is_refused(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    _open(url)
    with pytest.raises(UsageError, match="`resume=True`"):
        _open(url)


def test_resume_with_another_fingerprint_is_refused(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    _open(url)
    with pytest.raises(UsageError, match="other data or settings"):
        _open(url, resume=True, fingerprint={**FINGERPRINT, "rows": 301})


def test_resume_of_a_missing_study_creates_it(tmp_path) -> None:
    study = _open(f"sqlite:///{tmp_path / 'new.db'}", name="fresh", resume=True)
    assert study.study_name == "fresh" and not study.trials


@pytest.mark.parametrize(
    "url",
    [
        "nosuchdialect://user@host/db",
        "sqlite:////no/such/folder/anywhere/x.db",
        "not a url at all",
    ],
)
def test_bad_storage_url_is_a_usage_error(url: str) -> None:
    with pytest.raises(UsageError, match="cannot open Optuna storage"):
        _open(url)


def test_join_study_of_a_missing_study(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("advisor.search._worker.JOIN_WAIT_S", 0.0)
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    _open(url, name="other")
    with pytest.raises(UsageError, match="no study 'absent'"):
        join_study(storage=url, study_name="absent", budget_s=1)


def test_join_study_needs_a_study_started_by_recommend(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("advisor.search._worker.JOIN_WAIT_S", 0.0)
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    _open(url, name="manual")
    with pytest.raises(UsageError, match="was not started by recommend on a file with `storage`"):
        join_study(storage=url, study_name="manual", budget_s=1)


# --------------------------------------------------------------------------- secrets, drivers

SECRET = "s3cr3t-pw"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            f"postgresql://ann:{SECRET}@db.example:5432/studies",
            "postgresql://ann:***@db.example:5432/studies",
        ),
        (
            f"postgresql+psycopg2://ann:{SECRET}@localhost/s",
            "postgresql+psycopg2://ann:***@localhost/s",
        ),
        (f"mysql://root:{SECRET}@h/db?charset=utf8", "mysql://root:***@h/db?charset=utf8"),
        ("sqlite:///studies.db", "sqlite:///studies.db"),
        ("journal:/tmp/a:b@c.log", "journal:/tmp/a:b@c.log"),
        (f"weird://ann:{SECRET}@host", "weird://ann:***@host"),
    ],
)
def test_a_password_is_shown_as_stars(url: str, shown: str) -> None:
    assert describe_storage(url) == shown and SECRET not in describe_storage(url)


def test_an_unreachable_server_is_named_without_its_password() -> None:
    url = f"postgresql://u:{SECRET}@127.0.0.1:1/db"
    with pytest.raises(UsageError, match="cannot open Optuna storage") as caught:
        _open(url)
    message = str(caught.value)
    assert SECRET not in message and "postgresql://u:***@127.0.0.1:1/db" in message
    with pytest.raises(UsageError) as caught:
        join_study(storage=url, study_name="s", budget_s=1)
    assert SECRET not in str(caught.value)


def test_a_missing_driver_names_the_extra_that_installs_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg -> ModuleNotFoundError
    url = f"postgresql://u:{SECRET}@127.0.0.1:1/db"
    with pytest.raises(UsageError, match=r"pip install 'lossadvisor\[postgres\]'") as caught:
        _open(url)
    assert SECRET not in str(caught.value) and caught.value.exit_code == 2


def test_a_mismatch_says_what_differs(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    _open(url)
    with pytest.raises(StudyMismatchError, match="rows 300 here 301"):
        _open(url, resume=True, fingerprint={**FINGERPRINT, "rows": 301})


def test_relational_storages_have_heartbeats_and_retry_failed_trials(tmp_path) -> None:
    storage = build_storage(f"sqlite:///{tmp_path / 's.db'}")
    from optuna.storages._heartbeat import is_heartbeat_enabled

    assert is_heartbeat_enabled(storage)
    assert storage.get_heartbeat_interval() < storage.grace_period
    assert isinstance(
        storage.get_heartbeat_stale_trial_callback(),
        (
            optuna.storages.RetryFailedTrialCallback,
            getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", type(None)),
        ),
    )


def test_sqlite_commits_without_waiting_for_the_disk_and_claims_under_a_write_lock(
    tmp_path,
) -> None:
    import sqlalchemy

    storage = build_storage(f"sqlite:///{tmp_path / 'studies.db'}")
    with storage.engine.connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar()
    assert (mode, synchronous) == ("wal", 1)  # 1: NORMAL, synced at checkpoints
    statements: list[str] = []
    sqlalchemy.event.listen(
        storage.engine, "before_cursor_execute", lambda *args: statements.append(args[2])
    )
    optuna.create_study(storage=storage, study_name="locked")
    assert "BEGIN IMMEDIATE" in statements


def test_sqlite_reads_take_no_lock_and_writes_take_it_first(tmp_path) -> None:
    """A read starts a plain BEGIN (a snapshot in WAL mode), a write BEGIN IMMEDIATE; a read
    made while another connection holds the write lock neither waits nor fails."""
    import sqlite3
    import time

    import sqlalchemy

    path = tmp_path / "studies.db"
    storage = build_storage(f"sqlite:///{path}")
    study = optuna.create_study(storage=storage, study_name="reads")
    study.enqueue_trial({}, user_attrs={"phase": "confirm"})
    begins: list[str] = []
    sqlalchemy.event.listen(
        storage.engine,
        "before_cursor_execute",
        lambda *args: begins.append(args[2]) if args[2].startswith("BEGIN") else None,
    )
    storage.get_all_trials(study._study_id, deepcopy=False)
    storage.get_study_user_attrs(study._study_id)
    assert begins == ["BEGIN", "BEGIN"]
    begins.clear()
    storage.set_study_user_attr(study._study_id, "k", 1)
    assert begins == ["BEGIN IMMEDIATE"]
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process is writing
        begun = time.monotonic()
        trials = storage.get_all_trials(study._study_id, deepcopy=False)
        assert time.monotonic() - begun < 1.0 and len(trials) == 1
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_read_inside_a_write_keeps_the_writes_lock(tmp_path) -> None:
    """``create_new_study`` reads the id it made inside its own call: one kind per call."""
    import sqlalchemy

    storage = build_storage(f"sqlite:///{tmp_path / 'studies.db'}")
    begins: list[str] = []
    sqlalchemy.event.listen(
        storage.engine,
        "before_cursor_execute",
        lambda *args: begins.append(args[2]) if args[2].startswith("BEGIN") else None,
    )
    storage.create_new_study([optuna.study.StudyDirection.MINIMIZE], "nested")
    assert begins and set(begins) == {"BEGIN IMMEDIATE"}


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_enqueue_together_queues_what_enqueue_trial_would(tmp_path, kind) -> None:
    """Waiting trials with the same attributes, numbers and state as one ``enqueue_trial``
    each; on SQLite in a single transaction (one commit), in a journal one by one."""
    import sqlalchemy

    url = f"sqlite:///{tmp_path / 's.db'}" if kind == "sqlite" else f"journal:{tmp_path / 'j'}"
    attrs = [
        {"phase": "confirm", "key": f"k{i}", "split": i, "params": {"q": 0.5}} for i in (1, 2, 3)
    ]
    alone = optuna.create_study(storage=build_storage(url), study_name="alone")
    together = optuna.create_study(storage=build_storage(url), study_name="together")
    for study in (alone, together):
        study.enqueue_trial({"loss": "mse"})  # a trial before: numbers count on from it
    for one in attrs:
        alone.enqueue_trial({}, user_attrs=one)
    commits: list[int] = []
    if kind == "sqlite":
        engine = together._storage._backend.engine
        sqlalchemy.event.listen(engine, "commit", lambda *args: commits.append(1))
    enqueue_together(together, attrs)
    if kind == "sqlite":
        assert len(commits) == 1

    def shape(study):
        return [
            (t.number, t.state, t.user_attrs, t.system_attrs, t.params)
            for t in study.get_trials(deepcopy=False)
        ]

    assert shape(together) == shape(alone)
    assert [t.number for t in together.get_trials(states=(TrialState.WAITING,))] == [0, 1, 2, 3]
