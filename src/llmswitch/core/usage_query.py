"""The ledger's two queries, their parameters checked: usage summed by group (`GET /admin/api/usage`,
`llmswitch usage`) and the records page by page (`GET /admin/api/requests`).

A usage query sums roll-ups in the database, daily ones for the whole days in its range (unless it
groups by hour), hourly ones for the whole hours left, and counts the raw rows of the partial hours
at its edges (at most an hour's worth in all) with the same `core.rollup.count`: fast over any number
of rows (30 days of them are 30 daily roll-ups per key, model, provider and operation), and exact,
percentiles apart (read from the roll-ups' latency buckets, `core.histogram`). Times are a request's
start, in [from, to); days are UTC days.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from llmswitch.core.rollup import DAY, FIELDS, HOUR, Tally, add, count, measures_of, summary, tally
from llmswitch.errors import GatewayError, invalid

if TYPE_CHECKING:
    from llmswitch.store.usage import UsageRepository

GROUP_BY = ("hour", "day", "model", "key", "provider")
FILTERS = {"key": "key_id", "model": "model", "provider": "provider", "operation": "operation"}
USAGE_PARAMS = frozenset({"from", "to", "group_by", "fields", *FILTERS})
REQUEST_PARAMS = frozenset({"from", "to", "status", "limit", "cursor", *FILTERS})
DEFAULT_RANGE_S = 86400.0
DEFAULT_GROUP = "day"
DEFAULT_LIMIT, MAX_LIMIT = 50, 1000
LATEST_TIME = 1e11  # unix seconds (year 5138): any later `from` or `to` is a mistake


@dataclass(frozen=True, slots=True)
class Scope:
    """The requests a query covers: started in [since, until), matching every filter (column: value)."""

    since: float
    until: float
    filters: dict[str, str]


def scope(query: Mapping[str, str], allowed: frozenset[str], now: float) -> Scope:
    """The scope QUERY asks for (ALLOWED: the parameters its route takes), or the 400 naming the
    parameter that is wrong."""
    for name in query:
        if name not in allowed:
            raise invalid(f"Unknown query parameter {name!r}; this route takes {', '.join(sorted(allowed))}.",
                          param=name)
    until = _time(query, "to", now)
    since = _time(query, "from", until - DEFAULT_RANGE_S)
    if since > until:
        raise invalid("from must not be later than to.", param="from")
    return Scope(since, until, {column: query[name] for name, column in FILTERS.items() if query.get(name)})


async def usage(ledger: UsageRepository, query: Mapping[str, str], now: float) -> dict[str, Any]:
    """`{"totals": {...}, "groups": [{"key": ..., ...}]}` for QUERY (`from`, `to`, the FILTERS,
    `group_by`, `fields`): time groups keyed by their start in ISO 8601 (UTC), oldest first; the others
    by their value (a key's id; null for requests without a key), most requests first. `fields` (some
    of FIELDS, comma-separated) has only those shown and summed: a dashboard's top ten by requests and
    cost sums two columns of each roll-up rather than all 86."""
    where = scope(query, USAGE_PARAMS, now)
    group = query.get("group_by", DEFAULT_GROUP)
    if group not in GROUP_BY:
        raise invalid(f"group_by must be one of {', '.join(GROUP_BY)}.", param="group_by")
    fields = _fields(query.get("fields"))
    needed = None if fields is None else measures_of(("requests", *fields))  # groups are ordered by requests
    groups: dict[Any, Tally] = {}
    for period, since, until in plan(where.since, where.until, (HOUR,) if group == "hour" else (DAY, HOUR)):
        if period:
            for value, sums in await ledger.rolled_up(period, group, int(since), int(until), where.filters, needed):
                add(groups.setdefault(value, tally()), sums)
        else:
            for value, counted in await ledger.counted(group, since, until, where.filters):
                count(groups.setdefault(value, tally()), *counted)
    totals = tally()
    for counts in groups.values():
        add(totals, counts)

    def shown(counts: Tally) -> dict[str, Any]:
        whole = summary(counts)
        return whole if fields is None else {name: whole[name] for name in fields}

    if group in ("hour", "day"):
        rows = [{"key": _iso(value), **shown(counts)} for value, counts in sorted(groups.items())]
    else:
        ordered = sorted(groups.items(), key=lambda item: (-item[1][0], str(item[0])))  # a tally's first: requests
        rows = [{"key": value, **shown(counts)} for value, counts in ordered]
    return {"totals": shown(totals), "groups": rows}


def plan(since: float, until: float, periods: tuple[int, ...]) -> list[tuple[int, float, float]]:
    """[SINCE, UNTIL) cut into spans each read one way: (period, start, end) for the whole periods of the
    longest of PERIODS inside it (their roll-ups), then the same for what is left at either end with
    the shorter periods, and (0, start, end) for what no whole period covers (the rows)."""
    if since >= until:
        return []
    if not periods:
        return [(0, since, until)]
    period, shorter = periods[0], periods[1:]
    first, end = math.ceil(since / period) * period, math.floor(until / period) * period
    if first >= end:
        return plan(since, until, shorter)
    return [*plan(since, first, shorter), (period, first, end), *plan(end, until, shorter)]


async def requests(ledger: UsageRepository, query: Mapping[str, str], now: float) -> dict[str, Any]:
    """A page of records, newest first: `{"object": "list", "data", "has_more", "next_cursor"}` for
    QUERY (`from`, `to`, the FILTERS, `status`, `limit`, `cursor`: a page's `next_cursor`)."""
    where = scope(query, REQUEST_PARAMS, now)
    limit = _limit(query.get("limit"))
    after = _cursor(query["cursor"]) if query.get("cursor") else None
    rows = await ledger.page(where.since, where.until, where.filters, _status(query.get("status")), after, limit + 1)
    has_more = len(rows) > limit
    return {"object": "list", "data": [record for record, _ in rows[:limit]], "has_more": has_more,
            "next_cursor": _encode_cursor(rows[limit - 1][1]) if has_more else None}


async def request(ledger: UsageRepository, request_id: str) -> dict[str, Any]:
    record = await ledger.record(request_id)
    if record is None:
        raise GatewayError(404, f"No request with id {request_id[:100]!r} in the ledger.", type="not_found_error",
                           code="request_not_found")
    return record


def _time(query: Mapping[str, str], name: str, default: float) -> float:
    """A time parameter: unix seconds, or an ISO 8601 time (UTC unless it says otherwise)."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            raise invalid(f"{name} must be unix seconds or an ISO 8601 time, got {raw[:40]!r}.", param=name) from None
        value = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    if not 0 <= value <= LATEST_TIME:  # NaN too
        raise invalid(f"{name} is out of range.", param=name)
    return value


def _fields(raw: str | None) -> tuple[str, ...] | None:
    if raw is None or raw == "":
        return None
    names = tuple(dict.fromkeys(name.strip() for name in raw.split(",")))
    for name in names:
        if name not in FIELDS:
            raise invalid(f"fields takes some of {', '.join(FIELDS)}, separated by commas; got {name[:40]!r}.",
                          param="fields")
    return names


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise invalid(f"limit must be a whole number from 1 to {MAX_LIMIT}.", param="limit")
    return int(raw)


def _status(raw: str | None) -> tuple[int, int] | None:
    """A status filter as a range [low, high): a status (429), a class (4xx), success (< 400), error."""
    if raw is None or raw == "":
        return None
    if raw == "success":
        return (0, 400)
    if raw == "error":
        return (400, 1000)
    if len(raw) == 3 and raw[0] in "12345" and raw[1:] == "xx":
        return (int(raw[0]) * 100, int(raw[0]) * 100 + 100)
    if len(raw) == 3 and raw.isdigit() and 100 <= int(raw) <= 599:
        return (int(raw), int(raw) + 1)
    raise invalid("status must be a status code (429), a class (4xx), success or error.", param="status")


def _encode_cursor(place: tuple[float, int]) -> str:
    return base64.urlsafe_b64encode(f"{place[0]!r},{place[1]}".encode()).decode().rstrip("=")


def _cursor(raw: str) -> tuple[float, int]:
    try:
        at, _, row = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode().partition(",")
        place = (float(at), int(row))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid("cursor is not a next_cursor this route gave.", param="cursor") from None
    if not math.isfinite(place[0]):
        raise invalid("cursor is not a next_cursor this route gave.", param="cursor")
    return place
