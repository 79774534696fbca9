"""What of a client's query string may be forwarded upstream (`core.auth.without_credentials`)."""

from __future__ import annotations

import pytest

from llmswitch.core.auth import without_credentials


@pytest.mark.parametrize("query", ["key=sk-1", "KEY=sk-1", "%6Bey=sk-1", "api_key=sk-1", "api-key=sk-1",
                                   "x-goog-api-key=sk-1", "access_token=sk-1", "key"])
def test_a_credential_parameter_is_never_forwarded(query: str) -> None:
    assert without_credentials(f"beta=true&{query}") == "beta=true"


def test_other_parameters_are_forwarded_byte_for_byte_in_their_order() -> None:
    assert without_credentials("z=1&beta=true&key=sk-1&a=%2F+x") == "z=1&beta=true&a=%2F+x"


def test_an_empty_query_stays_empty() -> None:
    assert without_credentials("") == ""
    assert without_credentials("key=sk-1") == ""
