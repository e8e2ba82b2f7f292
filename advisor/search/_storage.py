"""Open or create the Optuna study behind a recommendation, in any storage Optuna supports.

Relational storages (SQLite, PostgreSQL, MySQL) are opened with Optuna's heartbeats and a
``RetryFailedTrialCallback``: a process that dies mid-trial stops beating, and after the grace
period its trials are failed and queued again for any process to take. Journal files have no
heartbeats in Optuna; ``search/_liveness.py`` sweeps their stale trials instead.

A storage URL may carry a password (``postgresql://user:secret@host/db``). It is never shown:
every message and record built here uses :func:`redact`, which prints it as ``***``.
"""

from __future__ import annotations

import functools
import inspect
import os
import re
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import optuna

from advisor.errors import StudyMismatchError, UsageError

__all__ = [
    "GRACE_S",
    "HEARTBEAT_S",
    "build_storage",
    "describe_storage",
    "enqueue_together",
    "load_study",
    "open_study",
    "redact",
    "stamp_together",
]

# A trial beats every HEARTBEAT_S; one silent for GRACE_S belongs to a dead process. The
# environment variable exists for tests and clusters that want faster or slower recovery.
HEARTBEAT_S = float(os.environ.get("LOSSADVISOR_HEARTBEAT_S", "5"))
GRACE_S = 4 * HEARTBEAT_S
MAX_RETRY = 2
_DRIVERS = {
    "postgresql": "the PostgreSQL driver (pip install 'lossadvisor[postgres]')",
    "mysql": "a MySQL driver (pip install pymysql, and use mysql+pymysql://...)",
}
_SECRET_IN_URL = re.compile(r"(?P<head>[a-z][a-z0-9+.\-]*://[^:/@\s]*:)(?P<secret>[^@\s]*)@", re.I)


def redact(url: str) -> str:
    """The URL with its password shown as ``***`` (journal paths and SQLite files unchanged).

    Example:
        >>> redact("postgresql://ann:s3cret@db.example:5432/studies")
        'postgresql://ann:***@db.example:5432/studies'
        >>> redact("journal:/tmp/study.log")
        'journal:/tmp/study.log'
    """
    if url.startswith("journal:"):
        return url
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
    except Exception:  # not a SQLAlchemy URL: hide whatever sits where a password would
        return _SECRET_IN_URL.sub(r"\g<head>***@", url)
    if parsed.password is None:
        return _SECRET_IN_URL.sub(r"\g<head>***@", url)
    return parsed.render_as_string(hide_password=True)


def _scrub(text: str, url: str) -> str:
    """``text`` with the URL's password (raw or decoded) replaced by ``***``."""
    text = text.replace(url, redact(url))
    try:
        from sqlalchemy.engine import make_url

        password = make_url(url).password
    except Exception:
        password = None
    match = _SECRET_IN_URL.search(url)
    for secret in {password, match and match.group("secret")}:
        if secret:
            text = text.replace(str(secret), "***")
    return text


def describe_storage(url: str | None) -> str:
    """How a storage is shown in reports and messages: redacted, or ``in-memory``."""
    return redact(url) if url else "in-memory"


_STORAGE_FORMS = (
    "expected sqlite:///PATH (in a folder that exists), postgresql://USER@HOST/DB or journal:PATH"
)


def is_relational(url: str | None) -> bool:
    return bool(url) and not url.startswith("journal:")


def _rdb_keywords() -> set[str]:
    import inspect

    return set(inspect.signature(optuna.storages.RDBStorage.__init__).parameters)


# RDBStorage's methods that only read; any other method may write (and takes the lock)
_READS = frozenset(
    {
        "get_all_studies",
        "get_all_trials",
        "get_best_trial",
        "get_study_directions",
        "get_study_id_from_name",
        "get_study_name_from_id",
        "get_study_system_attrs",
        "get_study_user_attrs",
        "get_trial",
        "get_trial_id_from_study_id_trial_number",
        "get_trial_param",
        "get_trial_system_attrs",
        "get_trial_user_attrs",
        "_get_best_trial_id",
        "_get_stale_trial_ids",
        "_get_trials",
    }
)


def _mark_reads(storage: optuna.storages.RDBStorage) -> Callable[[], bool]:
    """Track, per thread, whether the outermost storage call now running only reads.

    Every method of ``storage`` is wrapped on the instance (Optuna's cached storage calls
    the private ones too); the outermost call on a thread decides, so a read nested inside
    a write (``create_new_study`` reads the id it made) stays in the write's transaction
    kind. Returns the function the ``begin`` listener asks.
    """
    local = threading.local()

    def wrap(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        reads = name in _READS

        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            depth = getattr(local, "depth", 0)
            if depth == 0:
                local.reads = reads
            local.depth = depth + 1
            try:
                return method(*args, **kwargs)
            finally:
                local.depth = depth

        return call

    for name in dir(type(storage)):
        if name.startswith("__"):
            continue
        method = getattr(storage, name, None)
        if inspect.ismethod(method):
            setattr(storage, name, wrap(name, method))
    return lambda: getattr(local, "depth", 0) > 0 and getattr(local, "reads", False)


def _sqlite_for_processes(storage: optuna.storages.RDBStorage) -> None:
    """SQLite set up for several processes on one study, on every connection of ``storage``.

    - Claims are atomic: Optuna takes a queued trial by reading that it waits, then marking
      it running, in one transaction (``SELECT ... FOR UPDATE`` on PostgreSQL and MySQL).
      SQLite has no row locks, and Python's driver only opens a transaction at the first
      write, so two processes could both read "waiting" and both take the trial, and train
      it twice. Every transaction here starts with ``BEGIN IMMEDIATE`` (SQLAlchemy's recipe
      for pysqlite), which takes the write lock first: one process at a time, each for a few
      milliseconds.
    - Reads take no lock: a storage call that only reads (``get_trial``, the trials of a
      study, its attributes: about half of a process's calls) starts a plain ``BEGIN``,
      which in write-ahead-log mode reads a consistent snapshot without waiting for a
      writer or making one wait. With ``BEGIN IMMEDIATE`` on every call, two processes
      queued behind each other's reads too, and a call cost about three times as much with
      two processes as with one. Which kind a transaction is follows the outermost storage
      call that opens it (:func:`_mark_reads`), so a read made inside a write keeps the lock.
    - Commits do not wait for the disk: in SQLite's default mode every commit waits for an
      ``fsync``, and a study commits for each suggested parameter, report, attribute and
      tell, so a process spent about as long committing as training. In write-ahead-log
      mode with ``synchronous=NORMAL`` the disk is synced at checkpoints only: a killed
      process loses no committed trial (only a power cut can take back the last commits,
      never corrupting the file), and readers do not wait for the writer. All processes
      must see the file on one machine (not over NFS), as SQLite's locking needs anyway.
    """
    from sqlalchemy import event

    reading = _mark_reads(storage)

    def on_connect(connection: Any, record: Any) -> None:
        connection.isolation_level = None  # the driver opens no transaction of its own
        cursor = connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN" if reading() else "BEGIN IMMEDIATE")

    engine = storage.engine
    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", on_begin)
    engine.dispose()  # the connections Optuna opened to create the tables predate the listener


def build_storage(url: str | None) -> optuna.storages.BaseStorage | None:
    """The Optuna storage of a URL: journal file, relational with heartbeats, or None (memory).

    Raises:
        UsageError: the URL cannot be used (bad syntax, missing driver, unreachable server);
            the message shows the URL without its password.
    """
    if not url:
        return None
    try:
        if url.startswith("journal:"):
            from optuna.storages.journal import JournalFileBackend

            from advisor.search._journal_lock import journal_lock

            path = url.removeprefix("journal:").removeprefix("//")
            return optuna.storages.JournalStorage(
                JournalFileBackend(path, lock_obj=journal_lock(path))
            )
        engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else None
        if url.startswith(("postgresql://", "postgres://")):
            # the driver lossadvisor[postgres] installs (psycopg 3), whatever SQLAlchemy's
            # default for a bare postgresql:// is in the installed version (psycopg2 before 2.1)
            url_for_engine = "postgresql+psycopg://" + url.split("://", 1)[1]
        else:
            url_for_engine = url
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            retry = getattr(  # renamed in Optuna 4.9
                optuna.storages,
                "RetryHeartbeatStaleTrialCallback",
                optuna.storages.RetryFailedTrialCallback,
            )(max_retry=MAX_RETRY)
        # Optuna 4.9 renamed failed_trial_callback (deprecated since) to this keyword
        stale = "heartbeat_stale_trial_callback"
        callback = {stale if stale in _rdb_keywords() else "failed_trial_callback": retry}
        for attempt in range(3):
            try:
                with warnings.catch_warnings():  # heartbeats are "experimental" (Optuna 2.9)
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                    storage = optuna.storages.RDBStorage(
                        url_for_engine,
                        engine_kwargs=engine_kwargs,
                        heartbeat_interval=max(1, round(HEARTBEAT_S)),
                        grace_period=max(2, round(GRACE_S)),
                        **callback,
                    )
                break
            except Exception as exc:
                # processes started together on a new database race to create its tables
                # and version row; the loser fails on a unique constraint (or on a table
                # made meanwhile), and finds them made when it tries again
                raced = "IntegrityError" in repr(exc) or "already exists" in str(exc)
                if attempt == 2 or not raced:
                    raise
                time.sleep(0.2)
        if url.startswith("sqlite"):
            _sqlite_for_processes(storage)
        return storage
    except ImportError:  # SQLAlchemy could not import the dialect's driver (Optuna rewraps it)
        dialect = url.split(":", 1)[0].split("+", 1)[0]
        driver = _DRIVERS.get(dialect, f"the Python driver of {dialect!r}")
        raise UsageError(
            f"cannot open Optuna storage {redact(url)!r}: {driver} is not installed"
        ) from None
    except Exception as exc:  # SQLAlchemy errors (bad URL, unreachable server, ...)
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise UsageError(
            f"cannot open Optuna storage {redact(url)!r}: "
            f"{_scrub(f'{exc.__class__.__name__}: {first}', url)}; {_STORAGE_FORMS}"
        ) from None


def enqueue_together(study: optuna.Study, user_attrs: Sequence[Mapping[str, Any]]) -> None:
    """Queue waiting trials, one per mapping of user attributes, as ``Study.enqueue_trial({},
    user_attrs=...)`` would, but in one transaction on a relational storage.

    A round of the race queues a dozen runs at once; one by one, each is a transaction that
    takes the database's write lock (on SQLite, the whole file's), so the other processes'
    claims and tells queue behind a dozen of them. Optuna has no public call that adds
    several trials in one transaction; its relational storage builds each trial inside a
    session it is given (``_get_prepared_new_trial``), so this opens one session, locks the
    study row as Optuna's own trial creation does (trial numbers count the rows before), and
    builds them all. The cached storage reads the new trials at its next read (their ids
    are above every finished one). Where those internals are missing (another Optuna
    version, a journal or in-memory storage) or the transaction fails, the trials are
    queued one by one.
    """
    templates = [
        optuna.trial.create_trial(
            state=optuna.trial.TrialState.WAITING,
            system_attrs={"fixed_params": {}},
            user_attrs=dict(attrs),
        )
        for attrs in user_attrs
    ]
    backend = getattr(study._storage, "_backend", None)
    if len(templates) > 1 and isinstance(backend, optuna.storages.RDBStorage):
        try:
            from optuna.storages._rdb import models
            from optuna.storages._rdb.storage import _create_scoped_session

            prepare = backend._get_prepared_new_trial
            with _create_scoped_session(backend.scoped_session) as session:
                models.StudyModel.find_or_raise_by_id(study._study_id, session, for_update=True)
                for template in templates:
                    prepare(study._study_id, template, session)
            return
        except (ImportError, AttributeError, optuna.exceptions.StorageInternalError):
            pass  # rolled back: nothing of it was queued
    for template in templates:
        study.add_trial(template)


def stamp_together(
    storage: optuna.storages.BaseStorage, trial_ids: Sequence[int], key: str, value: Any
) -> bool:
    """Set one system attribute on running trials and record their first heartbeat, in one
    transaction on a relational storage with heartbeats. Returns False where it cannot (no
    such storage, other Optuna internals, or the transaction failed and was rolled back):
    the caller then does it call by call.

    A process that takes a batch of eight trials stamps each with its owner and beats for
    each at once (a trial with no heartbeat is never failed by Optuna's stale-trial sweep);
    call by call, that is sixteen transactions holding the write lock, where one will do.
    Each attribute goes through the storage's own writer (which refuses a finished trial).
    """
    backend = getattr(storage, "_backend", None)
    if len(trial_ids) < 2 or not isinstance(backend, optuna.storages.RDBStorage):
        return False
    if backend.heartbeat_interval is None:
        return False
    try:
        import sqlalchemy
        from optuna.storages._rdb import models
        from optuna.storages._rdb.storage import _create_scoped_session

        write = backend._set_trial_attr_without_commit
        with _create_scoped_session(backend.scoped_session) as session:
            for trial_id in trial_ids:
                write(session, models.TrialSystemAttributeModel, trial_id, key, value)
                beat = models.TrialHeartbeatModel.where_trial_id(trial_id, session, True)
                if beat is None:
                    session.add(models.TrialHeartbeatModel(trial_id=trial_id))
                else:
                    beat.heartbeat = session.execute(sqlalchemy.func.now()).scalar_one()
        return True
    except (ImportError, AttributeError, TypeError, optuna.exceptions.StorageInternalError):
        return False  # rolled back: nothing of it was written
    except Exception as exc:  # an integrity race on a heartbeat row: call by call instead
        if "IntegrityError" in repr(exc):
            return False
        raise


def open_study(
    *,
    storage: str | None,
    study_name: str,
    direction: str,
    resume: bool,
    fingerprint: dict[str, object],
    sampler: optuna.samplers.BaseSampler | None = None,
    pruner: optuna.pruners.BasePruner | None = None,
    options: tuple[optuna.samplers.BaseSampler, optuna.pruners.BasePruner] | None = None,
) -> optuna.Study:
    """Create the study, or load it with ``resume``; refuse to mix different data in one study.

    Raises:
        UsageError: the storage URL is unusable, the study exists without ``resume``, or a
            resumed study was made for other data or another metric.
    """
    if options is not None:
        sampler, pruner = options
    backend = build_storage(storage)
    try:
        study = optuna.create_study(
            storage=backend,
            study_name=study_name,
            direction=direction,
            sampler=sampler,
            pruner=pruner,
            load_if_exists=resume,
        )
    except optuna.exceptions.DuplicatedStudyError:
        raise UsageError(
            f"study {study_name!r} already exists in {describe_storage(storage)}; "
            "pass `resume=True` to continue it or choose another `study_name`"
        ) from None
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise UsageError(
            f"cannot open Optuna storage {describe_storage(storage)!r}: "
            f"{_scrub(f'{exc.__class__.__name__}: {first}', storage or '')}"
        ) from None
    known = study.user_attrs.get("fingerprint")
    if known is None:
        study.set_user_attr("fingerprint", fingerprint)
    elif known != fingerprint:
        differs = ", ".join(
            f"{key} {known.get(key)!r} here {fingerprint.get(key)!r}"
            for key in sorted(set(known) | set(fingerprint))
            if known.get(key) != fingerprint.get(key)
        )
        raise StudyMismatchError(
            f"study {study_name!r} was made for other data or settings (stored {differs}); "
            "use another `study_name`"
        )
    return study


def load_study(
    *,
    storage: str,
    study_name: str,
    sampler: optuna.samplers.BaseSampler | None = None,
    wait_s: float = 0.0,
) -> optuna.Study:
    """Load an existing study (a worker joining it), waiting ``wait_s`` for it to appear.

    Raises:
        UsageError: the storage is unusable or holds no such study.
    """
    import time

    backend = build_storage(storage)
    patience = time.monotonic() + wait_s
    try:
        while True:
            try:
                return optuna.load_study(study_name=study_name, storage=backend, sampler=sampler)
            except KeyError:
                if time.monotonic() >= patience:
                    raise
                time.sleep(0.1)  # a worker started beside recommend: the study comes soon
    except KeyError:
        raise UsageError(
            f"no study {study_name!r} in {describe_storage(storage)}; start it with "
            "recommend on a file, giving the same `storage` and `study_name`"
        ) from None
    except Exception as exc:
        raise UsageError(
            f"cannot open Optuna storage {describe_storage(storage)!r}: "
            f"{_scrub(exc.__class__.__name__, storage)}"
        ) from None
