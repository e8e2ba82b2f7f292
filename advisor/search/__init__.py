"""Confirmation: an Optuna study of short batched runs, shared by every process that joins it."""

from advisor.search._confirm import SearchProgress, check_limits, confirm, fit_settings_for
from advisor.search._decide import Decision, decide, paired_p_value, settled
from advisor.search._explore import suggest_loss
from advisor.search._prepare import Job, Prepared, prepare, profile_for_metric
from advisor.search._storage import redact
from advisor.search._worker import join_study

__all__ = [
    "Decision",
    "Job",
    "Prepared",
    "SearchProgress",
    "check_limits",
    "confirm",
    "decide",
    "fit_settings_for",
    "join_study",
    "suggest_loss",
    "paired_p_value",
    "prepare",
    "profile_for_metric",
    "redact",
    "settled",
]
