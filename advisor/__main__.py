"""``python -m advisor`` runs the CLI."""

from advisor.cli import _entry

_entry()
