"""Conversion of user-supplied times (datetime, ISO string, epoch seconds) to epoch seconds."""

from __future__ import annotations

from datetime import UTC, datetime

from mled.errors import InvalidInput


def to_epoch(value: object, what: str) -> float | None:
    """Epoch seconds for ``value``; naive datetimes and ISO strings are taken as UTC.

    Example:
        >>> to_epoch("2026-01-01T00:00:00Z", "started_at")
        1767225600.0
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{what} must be a datetime, an ISO 8601 string or epoch seconds")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(
                f"{what}={value!r} is not an ISO 8601 date or datetime",
                hint="Use e.g. 2026-01-31 or 2026-01-31T14:05:00Z.",
            ) from None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    raise InvalidInput(f"{what} must be a datetime, an ISO 8601 string or epoch seconds")
