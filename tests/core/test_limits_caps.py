"""Limits in range: the admin operations refuse numbers the counters or the storage cannot hold, and
admission works with whatever a stored key holds anyway (a row written before these bounds)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from llmswitch.config import Price, parse_config
from llmswitch.core.auth import Principal
from llmswitch.core.key_admin import in_range
from llmswitch.core.keys import KeyFields, new_record
from llmswitch.core.limits import CAPS, MICRO, Limiter
from llmswitch.dialects.usage import Usage
from llmswitch.errors import GatewayError
from tests.support.databases import redis_url  # noqa: F401  (fixture)

DOLLAR = Price(input=1_000_000, output=1_000_000)


def checked(body: dict[str, Any]) -> KeyFields:
    return in_range(msgspec.convert(body, KeyFields), body)


@pytest.mark.parametrize(("body", "field"), [
    ({"rpm": 2**64}, "rpm"), ({"rpm": 2**31}, "rpm"), ({"tpm": 2**40}, "tpm"),
    ({"max_concurrent": 2**31}, "max_concurrent"),
    ({"budget_usd": 1e303}, "budget_usd"), ({"budget_usd": float("inf")}, "budget_usd"),
    ({"budget_usd": float("nan")}, "budget_usd"), ({"budget_usd": -1}, "budget_usd"),
    ({"budget_tokens": 10**16}, "budget_tokens"), ({"expires_at": float("inf")}, "expires_at"),
    ({"expires_at": float("nan")}, "expires_at"),
])
def test_out_of_range_numbers_are_refused_naming_their_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=rf"at `\$\.{field}`"):
        checked(body)


def test_the_largest_values_the_counters_hold_are_accepted() -> None:
    fields = checked(dict(CAPS))
    assert (fields.rpm, fields.budget_usd, fields.budget_tokens) == (CAPS["rpm"], CAPS["budget_usd"],
                                                                      CAPS["budget_tokens"])


def test_only_the_fields_given_are_checked() -> None:
    stored = KeyFields(budget_usd=1e303)  # as a row written before the bounds holds it
    assert in_range(stored, ["name"]) is stored


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[Limiter]:
    text = ""
    if request.param == "redis":
        text = f"redis_url: {request.getfixturevalue('redis_url')}\nlimits: {{backend: redis}}\n"
    limiter = Limiter(parse_config(text))
    await limiter.start()
    yield limiter
    await limiter.stop()


def stored(**fields: Any) -> Principal:
    """A key whose record holds FIELDS unchecked, as the database may."""
    record, _ = new_record(msgspec.convert(fields, KeyFields), b"s", "sk-")
    return Principal(kind="key", key_id=record.id, key=record)


async def test_a_stored_budget_beyond_the_counters_is_read_as_the_largest_one(limiter: Limiter) -> None:
    who = stored(budget_usd=1e303, rpm=2**62, tpm=2**62, max_concurrent=2**62, budget_tokens=2**62)
    admission = await limiter.admit(who, 10, 10, price=lambda: DOLLAR)
    assert admission.headers["x-ratelimit-limit-requests"] == str(CAPS["rpm"])
    await admission.settle(Usage(prompt_tokens=10, completion_tokens=5), 15.0)
    snapshot = await limiter.usage_of(who.key)  # type: ignore[arg-type]
    assert (snapshot.spent_usd, snapshot.spent_tokens, snapshot.concurrent) == (15 * MICRO, 15, 0)


async def test_an_infinite_stored_budget_is_still_enforced_at_the_largest_one(limiter: Limiter) -> None:
    who = stored(budget_usd=float("inf"))
    with pytest.raises(GatewayError) as refused:
        await limiter.admit(who, 1, 2 * int(CAPS["budget_usd"]), price=lambda: Price(input=0, output=1_000_000))
    assert refused.value.code == "insufficient_quota"


async def test_absurd_token_counts_from_a_body_or_an_upstream_do_not_break_admission(limiter: Limiter) -> None:
    who = stored(tpm=1000, budget_tokens=10**15)
    admission = await limiter.admit(who, 10, 2**70, price=lambda: DOLLAR)
    await admission.settle(Usage(prompt_tokens=2**80, completion_tokens=1), float("nan"))
    assert (await limiter.usage_of(who.key)).concurrent == 0  # type: ignore[arg-type]
