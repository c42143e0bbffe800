"""Local calendar days from UTC times: a workout at 23:30 local time counts for that local day.

Times are stored as UTC ISO-8601 text; each workout and set also stores ``utc_offset_min``, the
offset of the local time zone (minutes east of UTC) at the moment it started. Days, weeks, streaks
and "today" use ``started_at + utc_offset_min``; SQL gets the same through ``LOCAL_DAY``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

MAX_OFFSET = timedelta(hours=14)  # the widest UTC offset in use (UTC+14, Kiribati)


def local_day_sql(alias: str = "") -> str:
    """SQL for the local day (``YYYY-MM-DD``) of a row with ``started_at`` and ``utc_offset_min``."""
    p = f"{alias}." if alias else ""
    return f"date({p}started_at, COALESCE({p}utc_offset_min, 0) || ' minutes')"


def offset_min(stamp: str | datetime, tz: tzinfo | None = None) -> int:
    """The UTC offset, in minutes, of ``tz`` (default: this machine's time zone) at ``stamp``."""
    at = datetime.fromisoformat(stamp) if isinstance(stamp, str) else stamp
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    offset = at.astimezone(tz).utcoffset() if tz is not None else at.astimezone().utcoffset()
    return 0 if offset is None else int(offset.total_seconds() // 60)


def local_datetime(stamp: str, offset: int | None) -> datetime:
    """``stamp`` (UTC ISO-8601) as a naive local date and time, given its stored offset."""
    at = datetime.fromisoformat(stamp)
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at + timedelta(minutes=offset or 0)


def local_day(stamp: str, offset: int | None) -> date:
    return local_datetime(stamp, offset).date()


def utc_bounds(since: str, until: str) -> tuple[str, str]:
    """UTC text bounds certain to include every row whose local day is in ``[since, until)``.

    ``since`` and ``until`` are local days (``YYYY-MM-DD``), ``""`` and ``"9999"`` meaning open;
    the bounds are widened by the widest offset so an index on ``started_at`` still narrows the scan.
    """
    lo = "" if not since else (_midnight(since) - MAX_OFFSET).isoformat()
    hi = "9999" if until >= "9999" else (_midnight(until) + MAX_OFFSET).isoformat()
    return lo, hi


def _midnight(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day[:10]), time(), tzinfo=UTC)
