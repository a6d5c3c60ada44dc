"""Queries over the read models: plain functions taking a cursor, returning plain data (no Flask)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AlertRules:
    """Alert thresholds (configuration: PANTAU_ALERT_NO_VISIT_DAYS, PANTAU_ALERT_CORRECTION_WAIT_DAYS)."""

    no_visit_days: int = 7
    correction_wait_days: int = 3


@dataclass(frozen=True)
class Page:
    """One page of a keyset-paginated list; `next` is the `after` of the following page, None at the end."""

    items: list[dict[str, Any]]
    next: Any


def in_scope(scope: str | None, code_column: str = "committee", parent_column: str = "parent") -> tuple[str, list[Any]]:
    """SQL condition for "the caller may see this committee": everything (None), or a code and what is under it."""
    if scope is None:
        return "1 = 1", []
    return f"({code_column} = ? OR {parent_column} = ?)", [scope, scope]


def placeholders(values: Sequence[Any]) -> str:
    """'?, ?, ?' for an IN list."""
    return ", ".join("?" * len(values))
