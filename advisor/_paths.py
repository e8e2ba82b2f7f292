"""Where the shipped data files live, in a wheel and in a source checkout alike."""

from __future__ import annotations

from pathlib import Path

import advisor

__all__ = ["rules_dir"]


def rules_dir() -> Path:
    """Return the folder holding the shipped rule and catalog YAML files.

    The wheel maps the repository's ``rules/`` to ``advisor/_rules`` (see pyproject's
    ``force-include``); an editable install or a checkout keeps it beside the package.

    Returns:
        ``advisor/_rules`` when it exists, else ``<repo>/rules``.
    """
    package = Path(advisor.__file__).parent
    installed = package / "_rules"
    if installed.is_dir():
        return installed
    return package.parent / "rules"
