"""A request's failure is named in a small fixed vocabulary, the same for the ledger and the metrics."""

from __future__ import annotations

import pytest

from llmswitch.core.records import error_category


@pytest.mark.parametrize(("status", "code", "category"), [
    (200, None, ""),
    (499, None, "client_closed"),
    (429, "rate_limit_exceeded", "rate_limited"),
    (404, "model_not_found", "not_found"),
    (422, "whatever_the_upstream_said", "invalid_request"),
    (504, "first_byte_timeout", "upstream_timeout"),
    (502, "reset", "upstream_reset"),
    (503, "upstreams_unavailable", "unavailable"),
    (502, "upstreams_failed", "upstream_error"),
    (500, None, "internal"),
])
def test_a_failure_is_named_by_its_code_else_by_its_status(status: int, code: str | None, category: str) -> None:
    assert error_category(status, code) == category
