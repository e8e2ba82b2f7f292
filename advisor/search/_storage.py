"""Open or create the Optuna study behind a recommendation, in any storage Optuna supports."""

from __future__ import annotations

import optuna

from advisor.errors import UsageError

__all__ = ["describe_storage", "open_study"]


def _storage(url: str | None) -> optuna.storages.BaseStorage | str | None:
    if not url:
        return None
    if url.startswith("journal:"):
        from optuna.storages.journal import JournalFileBackend

        path = url.removeprefix("journal:").removeprefix("//")
        return optuna.storages.JournalStorage(JournalFileBackend(path))
    return url


def describe_storage(url: str | None) -> str:
    return url or "in-memory"


def open_study(
    *,
    storage: str | None,
    study_name: str,
    direction: str,
    resume: bool,
    sampler: optuna.samplers.BaseSampler,
    pruner: optuna.pruners.BasePruner,
    fingerprint: dict[str, object],
) -> optuna.Study:
    """Create the study, or load it with ``resume``; refuse to mix different data in one study.

    Raises:
        UsageError: the storage URL is unusable, the study exists without ``--resume``, or a
            resumed study was made for other data or another metric.
    """
    try:
        study = optuna.create_study(
            storage=_storage(storage),
            study_name=study_name,
            direction=direction,
            sampler=sampler,
            pruner=pruner,
            load_if_exists=resume,
        )
    except optuna.exceptions.DuplicatedStudyError:
        raise UsageError(
            f"study {study_name!r} already exists in {storage}; pass --resume to continue it "
            "or choose another --study-name"
        ) from None
    except (ValueError, ImportError, OSError) as exc:
        if isinstance(exc, UsageError):
            raise
        raise UsageError(f"cannot open Optuna storage {storage!r}: {exc}") from None
    except Exception as exc:  # SQLAlchemy errors (bad URL, unreachable server, ...)
        raise UsageError(
            f"cannot open Optuna storage {storage!r}: {exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}"
        ) from None
    known = study.user_attrs.get("fingerprint")
    if known is None:
        study.set_user_attr("fingerprint", fingerprint)
    elif known != fingerprint:
        raise UsageError(
            f"study {study_name!r} was made for other data or settings ({known}); "
            "use another --study-name"
        )
    return study
